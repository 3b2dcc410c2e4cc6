/*
 * flockd: the webhook delivery worker (delivery.h).
 *
 * The loop, on one thread: collect finished transfers; if any finished,
 * or there is room for more and work may be waiting (kicked, poll due,
 * or the last claim was full), run one job on the engine's writer that
 * records the finished attempts, fans out new outbox events and claims
 * due deliveries; start the claimed transfers; wait on curl's multi
 * handle until a transfer progresses, a kick arrives or the poll is due.
 */
#include "delivery/delivery.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "flock.h"

#include "common/ids.h"
#include "store/store.h"
#include "base/log.h"
#include "delivery/urlcheck.h"

#define EXCERPT_MAX 256
#define FANOUT_BATCH 500
#define RETRY_AFTER_MAX_S 86400

static const int spec_schedule[] = {5, 300, 1800, 7200, 18000, 36000, 36000};

/* One attempt in flight. */
typedef struct attempt {
	fd_delivery *d;
	CURL *h;
	json_t *dl; /* the claimed delivery */
	char *body; /* the envelope as sent (timestamp of this attempt) */
	struct curl_slist *hdrs;
	char excerpt[EXCERPT_MAX + 1];
	size_t excerpt_len;
	int64_t at, t0;
	long retry_after_s;          /* -1: none */
	char refused[200];           /* why the address was refused, or "" */
	struct attempt *prev, *next; /* the worker's list in flight */
} attempt;

/* A finished attempt waiting to be recorded. */
typedef struct {
	fd_store_attempt a;
	char id[FLOCK__ID_MAX];
	char excerpt[EXCERPT_MAX + 1];
	char error[256];
	int has_excerpt, has_error;
} finished;

struct fd_delivery {
	fd_engine *e;
	fd_clock *clock; /* the engine's */
	fd_delivery_config cfg;
	char node[128];
	CURLM *multi;
	pthread_t thread;
	int started;
	int stop;   /* atomic */
	int kicked; /* atomic */
	int active; /* transfers in flight (written by the worker thread
	               only, atomically: /metrics reads it) */
	attempt *first;
	finished *done;
	size_t ndone, cap;
	long delivered, failed, retrying, dead; /* atomic counters */
	long passes; /* atomic: claim passes done (fan-out, claim, start) */
};

void fd_delivery_kick(void *arg)
{
	fd_delivery *d = arg;

	if (d && !__atomic_exchange_n(&d->kicked, 1, __ATOMIC_ACQ_REL))
		curl_multi_wakeup(d->multi);
}

int fd_delivery_parse_schedule(fd_delivery_config *cfg, const char *s)
{
	int n = 0;
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	while (*s) {
		if (n == FD_DELIVERY_MAX_SCHEDULE ||
		    !isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || v < 0 || v > 7 * 86400 || (*end && *end != ','))
			return -1;
		cfg->schedule_s[n++] = (int)v;
		s = *end ? end + 1 : end;
	}
	cfg->schedule_len = n;
	return 0;
}

/* ---- one attempt ----------------------------------------------------- */

/* The stored envelope with its "timestamp" set to this attempt's time
 * (docs/webhooks.md, "Timestamps"). flockd wrote the envelope, id first
 * and name second, so the first "timestamp": member is the envelope's. */
static char *restamp(const char *body, int64_t at)
{
	const char *key = strstr(body, ",\"timestamp\":");
	const char *digits, *rest;
	size_t n;
	char *out;

	if (!key)
		return strdup(body);
	digits = key + strlen(",\"timestamp\":");
	for (rest = digits; isdigit((unsigned char)*rest); rest++)
		;
	n = (size_t)(digits - body) + 24 + strlen(rest) + 1;
	if (!(out = malloc(n)))
		return NULL;
	snprintf(out, n, "%.*s%lld%s", (int)(digits - body), body,
	         (long long)at, rest);
	return out;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	attempt *a = ud;
	size_t n = size * nmemb, take = EXCERPT_MAX - a->excerpt_len;

	if (take > n)
		take = n;
	memcpy(a->excerpt + a->excerpt_len, ptr, take);
	a->excerpt_len += take;
	return n; /* read it all, so the connection stays reusable */
}

static long parse_retry_after(const char *v, size_t n)
{
	char buf[64];
	char *end;
	long s;
	time_t t;

	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && *v == ' ') {
		v++;
		n--;
	}
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		errno = 0;
		s = strtol(buf, &end, 10);
		return errno || *end ? -1 : s;
	}
	t = curl_getdate(buf, NULL);
	if (t < 0)
		return -1;
	s = (long)(t - (time_t)(flock__now_ms() / 1000));
	return s < 0 ? 0 : s;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	attempt *a = ud;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 &&
	    strncasecmp(ptr, name, sizeof(name) - 1) == 0)
		a->retry_after_s = parse_retry_after(ptr + sizeof(name) - 1,
		                                     n - (sizeof(name) - 1));
	return n;
}

/* Every connection the worker opens is checked here, after DNS: a name
 * that resolved to a public address at creation may not point at a
 * private one now. */
static curl_socket_t on_open(void *ud, curlsocktype purpose,
                             struct curl_sockaddr *addr)
{
	attempt *a = ud;
	char host[64] = "";

	(void)purpose;
	if (!a->d->cfg.allow_private && fd_addr_is_private(&addr->addr)) {
		getnameinfo(&addr->addr, addr->addrlen, host, sizeof(host),
		            NULL, 0, NI_NUMERICHOST);
		snprintf(a->refused, sizeof(a->refused),
		         "refused to connect to %s: a private or loopback "
		         "address (flockd --webhook-allow-private permits it)",
		         host);
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype, addr->protocol);
}

static void attempt_free(attempt *a)
{
	if (!a)
		return;
	if (a->h)
		curl_easy_cleanup(a->h);
	curl_slist_free_all(a->hdrs);
	json_decref(a->dl);
	free(a->body);
	free(a);
}

static const char *dstr(const json_t *dl, const char *k)
{
	const char *s = json_string_value(json_object_get(dl, k));
	return s ? s : "";
}

static int add_header(struct curl_slist **l, const char *name,
                      const char *value)
{
	char line[1024];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	if (!(n = curl_slist_append(*l, line)))
		return -1;
	*l = n;
	return 0;
}

/* Sign and prepare the request. 0, or -1 with why in err. */
static int attempt_prepare(attempt *a, char *err, size_t errlen)
{
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_headers *sh = NULL;
	const char *secrets[2];
	const char *prev =
	        json_string_value(json_object_get(a->dl, "previousSecret"));
	int rc = -1;

	secrets[0] = dstr(a->dl, "secret");
	secrets[1] = prev;
	if (!(a->body = restamp(dstr(a->dl, "body"), a->at))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp.payload = a->body;
	sp.payload_len = strlen(a->body);
	sp.secrets = secrets;
	sp.secret_count = prev ? 2 : 1;
	sp.timestamp_s = a->at / 1000;
	if (flock_webhooks_sign(&sh, &sp) != 0) {
		/* Never the secret itself: only what was wrong. */
		snprintf(err, errlen, "cannot sign the delivery: %s",
		         flock_error_last()->message);
		return -1;
	}
	if (add_header(&a->hdrs, "Content-Type", "application/json") < 0 ||
	    add_header(&a->hdrs, "User-Agent", "flockd/" FLOCK_VERSION) < 0 ||
	    add_header(&a->hdrs, "X-Flock-Signature", sh->flock_signature) <
	            0 ||
	    add_header(&a->hdrs, "webhook-id", sh->webhook_id) < 0 ||
	    add_header(&a->hdrs, "webhook-timestamp", sh->webhook_timestamp) <
	            0 ||
	    add_header(&a->hdrs, "webhook-signature", sh->webhook_signature) <
	            0 ||
	    !(a->hdrs = curl_slist_append(a->hdrs, "Expect:"))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	flock_webhook_headers_free(sh);
	return rc;
}

static int attempt_easy(attempt *a)
{
	CURL *h = curl_easy_init();

	if (!h)
		return -1;
	a->h = h;
	if (curl_easy_setopt(h, CURLOPT_URL, dstr(a->dl, "url")) ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    /* Never a proxy from the environment (http_proxy ...): it would
	     * connect to the target itself, past on_open's address check. */
	    curl_easy_setopt(h, CURLOPT_PROXY, "") ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, a->body) ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(a->body)) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->hdrs) ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	                     (long)a->d->cfg.timeout_s * 1000L) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, a) ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, a) ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open) ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, a) ||
	    curl_easy_setopt(h, CURLOPT_PRIVATE, a))
		return -1;
	return 0;
}

/* ---- finished attempts ----------------------------------------------- */

static finished *finished_new(fd_delivery *d, const json_t *dl, int64_t at)
{
	finished *f;

	if (d->ndone == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		finished *n = realloc(d->done, cap * sizeof(*n));
		if (!n)
			return NULL;
		d->done = n;
		d->cap = cap;
	}
	f = &d->done[d->ndone++];
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "%s", dstr(dl, "id"));
	f->a.node = d->node;
	f->a.at = at;
	return f;
}

/* Keep the excerpt printable ASCII: it is shown in JSON and logs. */
static void set_excerpt(finished *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < EXCERPT_MAX; i++)
		f->excerpt[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	f->excerpt[i] = '\0';
	f->has_excerpt = 1;
}

/* Decide what happens after an attempt with this status (0: none). */
static void decide(fd_delivery *d, finished *f, int attempt_no, int status,
                   long retry_after_s)
{
	int64_t now = fd_clock_now(d->clock);
	long delay;

	if (status >= 200 && status < 300) {
		f->a.outcome = FD_DELIVERY_DELIVERED;
		__atomic_add_fetch(&d->delivered, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&d->failed, 1, __ATOMIC_RELAXED);
	if (status == 410) {
		f->a.outcome = FD_DELIVERY_DEAD;
		f->a.disable_endpoint = 1;
		__atomic_add_fetch(&d->dead, 1, __ATOMIC_RELAXED);
		return;
	}
	if (attempt_no < 1 || attempt_no > d->cfg.schedule_len) {
		f->a.outcome = FD_DELIVERY_DEAD;
		__atomic_add_fetch(&d->dead, 1, __ATOMIC_RELAXED);
		return;
	}
	delay = d->cfg.schedule_s[attempt_no - 1];
	if (retry_after_s >= 0)
		delay = retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
		                                          : retry_after_s;
	f->a.outcome = FD_DELIVERY_RETRY;
	f->a.next_attempt_at = now + (int64_t)delay * 1000;
	__atomic_add_fetch(&d->retrying, 1, __ATOMIC_RELAXED);
}

static int attempt_no(const json_t *dl)
{
	return (int)json_integer_value(json_object_get(dl, "attempt"));
}

/* An attempt that could not even start (bad secret, no memory). */
static void fail_early(fd_delivery *d, const json_t *dl, const char *why)
{
	finished *f = finished_new(d, dl, fd_clock_now(d->clock));

	if (!f)
		return; /* the lease runs out and it is claimed again */
	snprintf(f->error, sizeof(f->error), "%s", why);
	f->has_error = 1;
	decide(d, f, attempt_no(dl), 0, -1);
	fd_log(FD_LOG_WARN, "webhook delivery %s: %s", f->id, why);
}

static void start(fd_delivery *d, json_t *dl)
{
	attempt *a = calloc(1, sizeof(*a));
	char err[256] = "out of memory";

	if (!a) {
		fail_early(d, dl, err);
		return;
	}
	a->d = d;
	a->dl = json_incref(dl);
	a->at = fd_clock_now(d->clock);
	a->t0 = flock__mono_ms();
	a->retry_after_s = -1;
	if (attempt_prepare(a, err, sizeof(err)) < 0 || attempt_easy(a) < 0 ||
	    curl_multi_add_handle(d->multi, a->h) != CURLM_OK) {
		fail_early(d, dl, err);
		attempt_free(a);
		return;
	}
	a->next = d->first;
	if (d->first)
		d->first->prev = a;
	d->first = a;
	__atomic_add_fetch(&d->active, 1, __ATOMIC_RELAXED);
}

static void unlink_attempt(fd_delivery *d, attempt *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		d->first = a->next;
	if (a->next)
		a->next->prev = a->prev;
	curl_multi_remove_handle(d->multi, a->h);
	attempt_free(a);
	__atomic_sub_fetch(&d->active, 1, __ATOMIC_RELAXED);
}

/* Shutdown: not recorded, the lease is given back. */
static void finish_aborted(fd_delivery *d, attempt *a)
{
	unlink_attempt(d, a);
}

static void finish(fd_delivery *d, attempt *a, CURLcode result)
{
	finished *f = finished_new(d, a->dl, a->at);
	long status = 0;

	if (f) {
		if (result == CURLE_OK)
			curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE,
			                  &status);
		f->a.status = (int)status;
		f->a.latency_ms = (long)(flock__mono_ms() - a->t0);
		if (a->excerpt_len)
			set_excerpt(f, a->excerpt, a->excerpt_len);
		if (result != CURLE_OK) {
			snprintf(f->error, sizeof(f->error), "%s",
			         a->refused[0] ? a->refused
			                       : curl_easy_strerror(result));
			f->has_error = 1;
		}
		decide(d, f, attempt_no(a->dl), (int)status, a->retry_after_s);
		fd_log(FD_LOG_DEBUG, "webhook %s attempt %d: %ld%s%s", f->id,
		       attempt_no(a->dl), status, f->has_error ? " " : "",
		       f->has_error ? f->error : "");
	}
	unlink_attempt(d, a);
}

static void collect(fd_delivery *d)
{
	CURLMsg *m;
	int left;
	attempt *a;

	while ((m = curl_multi_info_read(d->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		a = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&a);
		if (a)
			finish(d, a, m->data.result);
	}
}

/* ---- the writer job -------------------------------------------------- */

typedef struct {
	fd_delivery *d;
	long claim;      /* deliveries to claim; 0: none */
	int release;     /* give back every lease of this node */
	json_t *claimed; /* out */
	long fanned;     /* out */
} wjob;

static int wjob_run(fd_conn *c, int64_t now, void *arg)
{
	wjob *j = arg;
	fd_delivery *d = j->d;
	size_t i;
	int rc;

	for (i = 0; i < d->ndone; i++) {
		finished *f = &d->done[i];
		f->a.delivery_id = f->id;
		f->a.excerpt = f->has_excerpt ? f->excerpt : NULL;
		f->a.error = f->has_error ? f->error : NULL;
		rc = fd_store_delivery_complete(c, &f->a, now);
		/* FD_NOTFOUND: the lease was lost (taken over or replayed);
		 * that node's record stands. */
		if (rc != FD_OK && rc != FD_NOTFOUND)
			return rc;
	}
	if (j->release && (rc = fd_store_delivery_release(c, d->node, now)) !=
	                          FD_OK)
		return rc;
	json_decref(j->claimed); /* an earlier attempt of this job */
	j->claimed = NULL;
	j->fanned = 0;
	if (j->claim > 0 &&
	    ((rc = fd_store_delivery_fanout(c, now, FANOUT_BATCH,
	                                    &j->fanned)) != FD_OK ||
	     (rc = fd_store_delivery_claim(c, d->node, now,
	                                   now + (int64_t)d->cfg.lease_s * 1000,
	                                   j->claim, &j->claimed)) != FD_OK))
		return rc;
	return FD_OK;
}

/* Record finished attempts, then (claim > 0) fan out and claim. Returns
 * the claimed deliveries (new reference, maybe empty) or NULL. */
static json_t *write_step(fd_delivery *d, long claim, int release, long *fanned)
{
	wjob j;

	memset(&j, 0, sizeof(j));
	j.d = d;
	j.claim = claim;
	j.release = release;
	*fanned = 0;
	if (fd_engine_write(d->e, wjob_run, &j) != FD_OK) {
		json_decref(j.claimed);
		return NULL; /* finished attempts are kept for the next try */
	}
	*fanned = j.fanned;
	d->ndone = 0;
	return j.claimed ? j.claimed : json_array();
}

/* ---- the loop -------------------------------------------------------- */

static void worker_step(fd_delivery *d, int64_t *next_poll, int *full)
{
	int64_t now = flock__mono_ms();
	int kicked = __atomic_exchange_n(&d->kicked, 0, __ATOMIC_ACQ_REL);
	long free_slots = d->cfg.concurrency - d->active, fanned = 0;
	json_t *claimed, *dl;
	size_t i;

	if (free_slots > 0 && (kicked || *full || now >= *next_poll)) {
		claimed = write_step(d, free_slots, 0, &fanned);
		*next_poll = now + d->cfg.poll_ms;
		/* A full claim or fan-out batch: more may be waiting. */
		*full = claimed &&
		        ((long)json_array_size(claimed) == free_slots ||
		         fanned == FANOUT_BATCH);
		json_array_foreach(claimed, i, dl) start(d, dl);
		/* Counted once what it claimed is under way: a test that
		 * sees two more passes after moving the clock knows every
		 * delivery then due was claimed and started. */
		if (claimed)
			__atomic_add_fetch(&d->passes, 1, __ATOMIC_RELEASE);
		json_decref(claimed);
	} else if (d->ndone) {
		json_decref(write_step(d, 0, 0, &fanned));
	}
}

static void *worker_main(void *arg)
{
	fd_delivery *d = arg;
	int64_t next_poll = 0;
	int full = 0, running = 0, timeout;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		curl_multi_perform(d->multi, &running);
		collect(d);
		worker_step(d, &next_poll, &full);
		curl_multi_perform(d->multi, &running);
		collect(d);
		if (d->ndone || (full && d->active < d->cfg.concurrency))
			timeout = d->ndone ? 1 : 0;
		else
			timeout = d->cfg.poll_ms;
		if (timeout > 0)
			curl_multi_poll(d->multi, NULL, 0, timeout, NULL);
	}
	return NULL;
}

/* Abort what is still in flight and give every lease of this node back:
 * those deliveries are pending again, for the next flockd. */
static void worker_drain(fd_delivery *d)
{
	long fanned;
	int i;
	json_t *c;

	collect(d);
	while (d->first)
		finish_aborted(d, d->first);
	for (i = 0; i < 3; i++) {
		if ((c = write_step(d, 0, 1, &fanned))) {
			json_decref(c);
			return;
		}
	}
	fd_log(FD_LOG_WARN,
	       "webhook worker: could not give its leases back; "
	       "they expire in %d s",
	       d->cfg.lease_s);
}

static void *worker_thread(void *arg)
{
	fd_delivery *d = arg;

	worker_main(d);
	worker_drain(d);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------- */

static void config_defaults(fd_delivery_config *c)
{
	if (c->concurrency <= 0)
		c->concurrency = 16;
	if (c->schedule_len <= 0) {
		c->schedule_len =
		        (int)(sizeof(spec_schedule) / sizeof(spec_schedule[0]));
		memcpy(c->schedule_s, spec_schedule, sizeof(spec_schedule));
	}
	if (c->lease_s <= 0)
		c->lease_s = 60;
	if (c->timeout_s <= 0)
		c->timeout_s = 15;
	if (c->poll_ms <= 0)
		c->poll_ms = 200;
	/* A lease shorter than an attempt would let a second node send
	 * while the first still waits for an answer. */
	if (c->lease_s < c->timeout_s + 5)
		c->lease_s = c->timeout_s + 5;
}

int fd_delivery_new(fd_delivery **out, const fd_delivery_config *cfg,
                    char *err, size_t errlen)
{
	fd_delivery *d = calloc(1, sizeof(*d));
	char host[64] = "flockd", tok[33];

	*out = NULL;
	if (!d || flock__token_hex(tok) < 0) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->cfg = *cfg;
	config_defaults(&d->cfg);
	gethostname(host, sizeof(host) - 1);
	snprintf(d->node, sizeof(d->node), "%.63s/%ld/%.8s", host,
	         (long)getpid(), tok);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(d->multi = curl_multi_init())) {
		snprintf(err, errlen, "webhook worker: cannot start libcurl");
		free(d);
		return -1;
	}
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS,
	                  (long)d->cfg.concurrency * 2);
	*out = d;
	return 0;
}

int fd_delivery_start(fd_delivery *d, fd_engine *e, char *err, size_t errlen)
{
	d->e = e;
	d->clock = fd_engine_clock(e);
	/* A moved clock may have made retries due. */
	if (fd_clock_listen(d->clock, fd_delivery_kick, d) < 0) {
		snprintf(err, errlen, "too many clock listeners");
		return -1;
	}
	if (pthread_create(&d->thread, NULL, worker_thread, d) != 0) {
		snprintf(err, errlen, "cannot start the webhook worker thread");
		fd_clock_unlisten(d->clock, fd_delivery_kick, d);
		return -1;
	}
	d->started = 1;
	return 0;
}

void fd_delivery_stop(fd_delivery *d)
{
	if (!d || !d->started)
		return;
	fd_clock_unlisten(d->clock, fd_delivery_kick, d);
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	curl_multi_wakeup(d->multi);
	pthread_join(d->thread, NULL);
	d->started = 0;
}

void fd_delivery_free(fd_delivery *d)
{
	if (!d)
		return;
	fd_delivery_stop(d);
	curl_multi_cleanup(d->multi);
	free(d->done);
	free(d);
}

/* ---- metrics --------------------------------------------------------- */

static int read_stats(fd_conn *c, int64_t now, void *arg)
{
	return fd_store_delivery_stats(c, arg);
}

int fd_delivery_metrics(fd_delivery *d, fd_engine *e, flock__buf *out)
{
	long c[6] = {0, 0, 0, 0, 0, 0};
	fd_delivery_stats st;
	double lag = 0;
	int64_t now = fd_clock_now(fd_engine_clock(e));

	if (d) {
		c[0] = __atomic_load_n(&d->delivered, __ATOMIC_RELAXED);
		c[1] = __atomic_load_n(&d->failed, __ATOMIC_RELAXED);
		c[2] = __atomic_load_n(&d->retrying, __ATOMIC_RELAXED);
		c[3] = __atomic_load_n(&d->dead, __ATOMIC_RELAXED);
		c[4] = __atomic_load_n(&d->passes, __ATOMIC_ACQUIRE);
		c[5] = __atomic_load_n(&d->active, __ATOMIC_RELAXED);
	}
	if (fd_engine_read(e, read_stats, &st) != FD_OK)
		memset(&st, 0, sizeof(st));
	if (st.oldest_ms > 0 && now > st.oldest_ms)
		lag = (double)(now - st.oldest_ms) / 1000.0;
	return flock__buf_printf(
	        out,
	        "# HELP flockd_webhook_attempts_total Webhook attempts since "
	        "start, by result (failed: any non-2xx or no answer).\n"
	        "# TYPE flockd_webhook_attempts_total counter\n"
	        "flockd_webhook_attempts_total{result=\"delivered\"} %ld\n"
	        "flockd_webhook_attempts_total{result=\"failed\"} %ld\n"
	        "# HELP flockd_webhook_deliveries_total Deliveries since start "
	        "that were delivered, scheduled for a retry, or went dead.\n"
	        "# TYPE flockd_webhook_deliveries_total counter\n"
	        "flockd_webhook_deliveries_total{result=\"delivered\"} %ld\n"
	        "flockd_webhook_deliveries_total{result=\"retrying\"} %ld\n"
	        "flockd_webhook_deliveries_total{result=\"dead\"} %ld\n"
	        "# HELP flockd_webhook_worker_passes_total Passes of the "
	        "delivery worker that fanned out events and claimed due "
	        "deliveries (about 5 a second when idle).\n"
	        "# TYPE flockd_webhook_worker_passes_total counter\n"
	        "flockd_webhook_worker_passes_total %ld\n"
	        "# HELP flockd_webhook_attempts_in_flight Attempts this "
	        "process is sending now.\n"
	        "# TYPE flockd_webhook_attempts_in_flight gauge\n"
	        "flockd_webhook_attempts_in_flight %ld\n"
	        "# HELP flockd_webhook_deliveries Deliveries in the database "
	        "by state.\n"
	        "# TYPE flockd_webhook_deliveries gauge\n"
	        "flockd_webhook_deliveries{state=\"pending\"} %ld\n"
	        "flockd_webhook_deliveries{state=\"retrying\"} %ld\n"
	        "flockd_webhook_deliveries{state=\"inflight\"} %ld\n"
	        "flockd_webhook_deliveries{state=\"dead\"} %ld\n"
	        "flockd_webhook_deliveries{state=\"unfanned\"} %ld\n"
	        "# HELP flockd_webhook_lag_seconds Age of the oldest event not "
	        "yet delivered (0: none waiting).\n"
	        "# TYPE flockd_webhook_lag_seconds gauge\n"
	        "flockd_webhook_lag_seconds %.3f\n",
	        c[0], c[1], c[0], c[2], c[3], c[4], c[5], st.pending,
	        st.retrying, st.inflight, st.dead, st.unfanned, lag);
}
