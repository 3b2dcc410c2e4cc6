/*
 * Webhook test helpers (harness_webhooks.h).
 */
#include "harness_webhooks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "flock.h"

#include "common/ids.h"
#include "support.h"

const int wh_schedule[WH_SCHEDULE_LEN] = {5,     300,   1800, 7200,
                                          18000, 36000, 36000};

void wh_msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

const char *wh_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- the scripted receiver ------------------------------------------- */

typedef struct {
	char *data;
	size_t len;
} rbody;

/* The first request of a hold_first receiver waits for rx_release. */
static void rx_hold(receiver *r)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WH_WAIT_MS / 1000;
	pthread_mutex_lock(&r->mu);
	while (!r->released &&
	       pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->mu);
}

static enum MHD_Result rx_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
	receiver *r = cls;
	rbody *b = *state;
	struct MHD_Response *resp;
	const char *h;
	int status = 200, idx;
	enum MHD_Result ret;
	rx_seen *s;

	(void)url;
	(void)method;
	(void)version;
	if (!b) {
		*state = b = calloc(1, sizeof(*b));
		return b ? MHD_YES : MHD_NO;
	}
	if (*upload_len) {
		char *p = realloc(b->data, b->len + *upload_len + 1);
		if (!p)
			return MHD_NO;
		memcpy(p + b->len, upload, *upload_len);
		b->len += *upload_len;
		p[b->len] = '\0';
		b->data = p;
		*upload_len = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&r->mu);
	idx = r->next++;
	if (idx < RX_MAX_SEEN) {
		s = &r->seen[idx];
		memset(s, 0, sizeof(*s));
		s->body = strdup(b->data ? b->data : "");
#define COPY(field, name)                                                      \
	if ((h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name)))    \
	snprintf(s->field, sizeof(s->field), "%s", h)
		COPY(id, "webhook-id");
		COPY(ts, "webhook-timestamp");
		COPY(sig, "webhook-signature");
		COPY(flock_sig, "X-Flock-Signature");
#undef COPY
		if (idx < r->nscript)
			status = r->script[idx];
		s->answered = status;
	}
	pthread_mutex_unlock(&r->mu);
	if (idx == 0 && r->hold_first)
		rx_hold(r);
	resp = MHD_create_response_from_buffer(7, (void *)"{\"a\":1}",
	                                       MHD_RESPMEM_PERSISTENT);
	if (idx == 0 && r->retry_after)
		MHD_add_response_header(resp, "Retry-After", r->retry_after);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	/* Counted only once answered: a test waiting for n requests then
	 * sees them complete. */
	pthread_mutex_lock(&r->mu);
	r->n++;
	pthread_mutex_unlock(&r->mu);
	return ret;
}

static void rx_done(void *cls, struct MHD_Connection *conn, void **state,
                    enum MHD_RequestTerminationCode toe)
{
	rbody *b = *state;

	(void)cls;
	(void)conn;
	(void)toe;
	if (b) {
		free(b->data);
		free(b);
	}
	*state = NULL;
}

void rx_start(receiver *r)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->d = MHD_start_daemon(
	        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
	        0, NULL, NULL, rx_request, r, MHD_OPTION_SOCK_ADDR, &sa,
	        MHD_OPTION_NOTIFY_COMPLETED, rx_done, r, MHD_OPTION_END);
	assert_non_null(r->d);
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	r->port = info->port;
}

void rx_release(receiver *r)
{
	pthread_mutex_lock(&r->mu);
	r->released = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void rx_stop(receiver *r)
{
	int i;

	rx_release(r); /* a held request must not hold the daemon's stop */
	MHD_stop_daemon(r->d);
	for (i = 0; i < r->next && i < RX_MAX_SEEN; i++)
		free(r->seen[i].body);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

int rx_count(receiver *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

int rx_arrived(receiver *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->next;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void rx_wait_arrived(receiver *r, int n)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;

	while (rx_arrived(r) < n && flock__mono_ms() < end)
		wh_msleep(10);
	assert_true(rx_arrived(r) >= n);
}

void rx_wait(receiver *r, int n)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;

	while (rx_count(r) < n && flock__mono_ms() < end)
		wh_msleep(10);
	if (rx_count(r) < n)
		print_error("receiver: %d requests, want %d\n", rx_count(r), n);
	assert_true(rx_count(r) >= n);
}

int rx_verify(const fd_harness *h, const rx_seen *s, const char *secret,
              int flock, int std)
{
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_event *ev = NULL;
	int rc;

	p.payload = s->body;
	p.payload_len = strlen(s->body);
	p.secret = secret;
	p.now_ms = h_clock_now(h);
	if (flock)
		p.signature = s->flock_sig;
	if (std) {
		p.webhook_id = s->id;
		p.webhook_timestamp = s->ts;
		p.webhook_signature = s->sig;
	}
	rc = flock_webhooks_construct_event(&ev, &p);
	flock_event_free(ev);
	return rc;
}

int64_t rx_at(const rx_seen *s)
{
	/* flockd writes the envelope id first, name second: the first
	 * "timestamp" member is the envelope's. */
	const char *p = strstr(s->body, ",\"timestamp\":");

	assert_non_null(p);
	return strtoll(p + strlen(",\"timestamp\":"), NULL, 10);
}

/* ---- the example receiver -------------------------------------------- */

static pid_t ex_pids[16];

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

unsigned short wh_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int port_open(unsigned short port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

void ex_start(const fd_harness *h, example_rx *x, const char *secret,
              unsigned short port)
{
	const char *bin = getenv("WEBHOOK_RECEIVER_BIN");
	char portbuf[16];
	int64_t end;
	int i;

	assert_non_null(bin);
	x->port = port ? port : wh_free_port();
	snprintf(x->out, sizeof(x->out), "%s/events-%u.jsonl", h->dir, x->port);
	snprintf(portbuf, sizeof(portbuf), "%u", x->port);
	x->pid = fork();
	assert_true(x->pid >= 0);
	if (x->pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		setenv("FLOCK_WEBHOOK_SECRET", secret, 1);
		execl(bin, bin, "-p", portbuf, "-o", x->out, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 16; i++)
		if (!ex_pids[i]) {
			ex_pids[i] = x->pid;
			break;
		}
	end = flock__mono_ms() + 10000;
	while (!port_open(x->port) && flock__mono_ms() < end)
		wh_msleep(20);
	assert_true(port_open(x->port));
}

void ex_stop(example_rx *x)
{
	int st, i;

	if (x->pid <= 0)
		return;
	kill(x->pid, SIGTERM);
	waitpid(x->pid, &st, 0);
	for (i = 0; i < 16; i++)
		if (ex_pids[i] == x->pid)
			ex_pids[i] = 0;
	x->pid = 0;
}

void ex_stop_all(void)
{
	int i, st;

	for (i = 0; i < 16; i++)
		if (ex_pids[i] > 0) {
			kill(ex_pids[i], SIGTERM);
			waitpid(ex_pids[i], &st, 0);
			ex_pids[i] = 0;
		}
}

json_t *ex_events(example_rx *x)
{
	json_t *all = json_array();
	char line[65536];
	FILE *f = fopen(x->out, "r");

	while (f && fgets(line, sizeof(line), f))
		json_array_append_new(all, json_loads(line, 0, NULL));
	if (f)
		fclose(f);
	return all;
}

size_t wh_count_named(json_t *events, const char *name)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(events, i, e) n +=
	        strcmp(wh_str(e, "name"), name) == 0;
	return n;
}

json_t *ex_wait(example_rx *x, const char *name, size_t want)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;
	json_t *ev = ex_events(x);

	while (wh_count_named(ev, name) < want && flock__mono_ms() < end) {
		json_decref(ev);
		wh_msleep(50);
		ev = ex_events(x);
	}
	if (wh_count_named(ev, name) < want)
		print_error("%s: %zu recorded, want %zu\n", name,
		            wh_count_named(ev, name), want);
	assert_true(wh_count_named(ev, name) >= want);
	return ev;
}

int ex_post(example_rx *x, const char *body, const char *const *hdrs)
{
	CURL *c = curl_easy_init();
	struct curl_slist *l = NULL;
	char url[64];
	long status = 0;
	int i;

	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks/flock",
	         x->port);
	for (i = 0; hdrs[i]; i++)
		l = curl_slist_append(l, hdrs[i]);
	l = curl_slist_append(l, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(l);
	curl_easy_cleanup(c);
	return (int)status;
}

/* ---- flockd side ----------------------------------------------------- */

json_t *wh_endpoint(fd_harness *h, unsigned short port, const char *events)
{
	char path[256], body[512];
	h_resp r;
	json_t *ep;

	snprintf(body, sizeof(body),
	         "{\"url\":\"http://127.0.0.1:%u/webhooks/flock\"%s%s}", port,
	         events ? ",\"events\":" : "", events ? events : "");
	h_call(h, &r, "POST",
	       h_admin_path(h, path, sizeof(path), "/webhook-endpoints"),
	       h->admin_token, body, NULL);
	if (r.status != 201)
		print_error("endpoint: %d %s\n", r.status, r.text);
	assert_int_equal(r.status, 201);
	ep = json_incref(r.json);
	h_resp_free(&r);
	assert_true(strncmp(wh_str(ep, "secret"), "whsec_", 6) == 0);
	return ep;
}

json_t *ep_call(fd_harness *h, const char *method, const json_t *ep,
                const char *suffix, const char *body, int want)
{
	char sub[256], path[384];
	h_resp r;
	json_t *out;

	snprintf(sub, sizeof(sub), "/webhook-endpoints/%s%s", wh_str(ep, "id"),
	         suffix);
	h_call(h, &r, method, h_admin_path(h, path, sizeof(path), sub),
	       h->admin_token, body, NULL);
	if (r.status != want)
		print_error("%s %s: %d %s\n", method, sub, r.status, r.text);
	assert_int_equal(r.status, want);
	out = json_incref(r.json);
	h_resp_free(&r);
	return out;
}

void ep_off(fd_harness *h, const json_t *ep)
{
	json_decref(ep_call(h, "PATCH", ep, "", "{\"enabled\":false}", 200));
}

json_t *wh_identify(fd_harness *h, const char *ext)
{
	char email[96];
	h_resp r;
	json_t *c;

	/* Distinct addresses: one shared by referrer and referee is fraud. */
	snprintf(email, sizeof(email), "%s@example.com", ext);
	h_callf(h, &r, "POST", "/customers/identify", h->service_key,
	        "{s:s,s:s}", "externalUserId", ext, "email", email);
	assert_true(r.status == 201 || r.status == 200);
	c = json_incref(r.json);
	h_resp_free(&r);
	return c;
}

long wh_total(const json_t *page)
{
	return (long)json_integer_value(json_object_get(page, "total"));
}

json_t *wait_state(fd_harness *h, const json_t *ep, const char *state,
                   size_t want)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;
	char q[64];
	json_t *page;

	snprintf(q, sizeof(q), "/deliveries?state=%s", state);
	for (;;) {
		page = ep_call(h, "GET", ep, q, NULL, 200);
		if (wh_total(page) >= (long)want || flock__mono_ms() > end)
			break;
		json_decref(page);
		wh_msleep(20);
	}
	if (wh_total(page) < (long)want)
		print_error("deliveries %s: %ld, want %zu\n", state,
		            wh_total(page), want);
	assert_true(wh_total(page) >= (long)want);
	return page;
}

void wait_attempts(fd_harness *h, const json_t *ep, long n)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;
	json_t *log;
	long got;

	for (;;) {
		log = ep_call(h, "GET", ep, "/attempts", NULL, 200);
		got = wh_total(log);
		json_decref(log);
		if (got >= n || flock__mono_ms() > end)
			break;
		wh_msleep(20);
	}
	if (got < n)
		print_error("attempts: %ld, want %ld\n", got, n);
	assert_true(got >= n);
}

static double passes(fd_harness *h)
{
	return h_metric(h, "flockd_webhook_worker_passes_total");
}

void wh_passes(fd_harness *h, int n)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;
	double start = passes(h), now = start;

	assert_true(start >= 0);
	while (now < start + n && flock__mono_ms() < end) {
		wh_msleep(20);
		now = passes(h);
	}
	if (now < start + n)
		print_error("worker passes: %.0f, want %.0f\n", now, start + n);
	assert_true(now >= start + n);
}

void wh_settle(fd_harness *h)
{
	int64_t end = flock__mono_ms() + WH_WAIT_MS;
	double busy;

	wh_passes(h, 2);
	while ((busy = h_metric(h, "flockd_webhook_attempts_in_flight")) != 0 &&
	       flock__mono_ms() < end)
		wh_msleep(20);
	assert_true(busy == 0);
}

void wh_advance(fd_harness *h, int64_t ms)
{
	assert_true(h_clock_advance(h, ms) > 0);
}

void wh_advance_to_retries(fd_harness *h, const json_t *ep)
{
	json_t *page = ep_call(h, "GET", ep, "/deliveries?state=retrying", NULL,
	                       200),
	       *d;
	int64_t latest = 0, at, now;
	size_t i;

	json_array_foreach(json_object_get(page, "data"), i, d)
	{
		assert_int_equal(
		        flock__parse_iso8601(&at, wh_str(d, "nextAttemptAt")),
		        0);
		if (at > latest)
			latest = at;
	}
	json_decref(page);
	now = h_clock_advance(h, 0);
	assert_true(now > 0);
	if (latest >= now)
		wh_advance(h, latest - now + 1);
}
