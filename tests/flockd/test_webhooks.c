/*
 * Webhook delivery end to end: the real flockd (harness) delivers to
 * receivers on loopback.
 *
 * Two receivers: examples/webhook_receiver (WEBHOOK_RECEIVER_BIN), the
 * Express route in C, for what a product sees (events arrive and verify;
 * forged ones are refused); and a small receiver inside this test, also
 * verifying with libflock, where a test must script the answers (500 then
 * 200, Retry-After, 410, a slow answer) and look at raw headers.
 *
 * flockd runs with --webhook-allow-private (the receivers are on
 * loopback) and a retry schedule of seconds.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "flock.h"

#include "common/ids.h"
#include "harness.h"
#include "support.h"
#include "delivery/urlcheck.h"

#define WAIT_MS 30000

static fd_harness H;
static const char *const SERVE_ARGS[] = {"--webhook-allow-private",
                                         "--webhook-retry-schedule",
                                         "1,1,1,2,3",
                                         "--webhook-timeout",
                                         "2",
                                         "--webhook-lease",
                                         "7",
                                         NULL};

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- the scripted receiver ------------------------------------------- */

#define MAX_SEEN 64

typedef struct {
	char *body;
	char id[64], ts[32], sig[512], flock_sig[80];
	int64_t at_ms; /* when it arrived */
	int answered;  /* status sent */
} seen;

typedef struct {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t mu;
	int script[16]; /* statuses for the first requests, then 200 */
	int nscript;
	const char *retry_after; /* with the first scripted answer */
	int delay_first_ms;      /* sleep before answering the first */
	seen seen[MAX_SEEN];
	int next; /* requests arrived */
	int n;    /* requests answered */
} receiver;

typedef struct {
	char *data;
	size_t len;
} rbody;

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
	seen *s;

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
	if (idx < MAX_SEEN) {
		s = &r->seen[idx];
		memset(s, 0, sizeof(*s));
		s->body = strdup(b->data ? b->data : "");
		s->at_ms = flock__now_ms();
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
	if (idx == 0 && r->delay_first_ms)
		msleep(r->delay_first_ms);
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

static void rx_start(receiver *r)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&r->mu, NULL);
	r->d = MHD_start_daemon(
	        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
	        0, NULL, NULL, rx_request, r, MHD_OPTION_SOCK_ADDR, &sa,
	        MHD_OPTION_NOTIFY_COMPLETED, rx_done, r, MHD_OPTION_END);
	assert_non_null(r->d);
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	r->port = info->port;
}

static void rx_stop(receiver *r)
{
	int i;

	MHD_stop_daemon(r->d);
	for (i = 0; i < r->next && i < MAX_SEEN; i++)
		free(r->seen[i].body);
	pthread_mutex_destroy(&r->mu);
}

static int rx_count(receiver *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Wait until n requests have arrived (answered or not). */
static void rx_wait_arrived(receiver *r, int n)
{
	int64_t end = flock__mono_ms() + WAIT_MS;
	int got;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		got = r->next;
		pthread_mutex_unlock(&r->mu);
		if (got >= n || flock__mono_ms() > end)
			break;
		msleep(10);
	}
	assert_true(got >= n);
}

/* Wait until the receiver has answered n requests. */
static void rx_wait(receiver *r, int n)
{
	int64_t end = flock__mono_ms() + WAIT_MS;

	while (rx_count(r) < n && flock__mono_ms() < end)
		msleep(20);
	if (rx_count(r) < n)
		print_error("receiver: %d requests, want %d\n", rx_count(r), n);
	assert_true(rx_count(r) >= n);
}

/* Verify a received delivery with libflock: flock_sig and/or standard. */
static int rx_verify(const seen *s, const char *secret, int flock, int std)
{
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_event *ev = NULL;
	int rc;

	p.payload = s->body;
	p.payload_len = strlen(s->body);
	p.secret = secret;
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

/* ---- the example receiver (examples/webhook_receiver) ----------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

typedef struct {
	pid_t pid;
	unsigned short port;
	char out[400]; /* its -o file */
} example_rx;

/* Receivers still running when a test fails are stopped by teardown:
 * they hold ctest's output pipe. */
static pid_t ex_pids[16];

static unsigned short free_port(void)
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

/* Start the example receiver with secret on port (0: a free one). */
static void ex_start(example_rx *x, const char *secret, unsigned short port)
{
	const char *bin = getenv("WEBHOOK_RECEIVER_BIN");
	char portbuf[16];
	int64_t end;
	int i;

	assert_non_null(bin);
	x->port = port ? port : free_port();
	snprintf(x->out, sizeof(x->out), "%s/events-%u.jsonl", H.dir, x->port);
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
		msleep(20);
	assert_true(port_open(x->port));
}

static void ex_stop(example_rx *x)
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

/* The events the example receiver verified and recorded. */
static json_t *ex_events(example_rx *x)
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

static size_t count_named(json_t *events, const char *name)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(events, i, e) n += strcmp(str(e, "name"), name) == 0;
	return n;
}

/* Wait until the example receiver recorded `want` events named name. */
static json_t *ex_wait(example_rx *x, const char *name, size_t want)
{
	int64_t end = flock__mono_ms() + WAIT_MS;
	json_t *ev = ex_events(x);

	while (count_named(ev, name) < want && flock__mono_ms() < end) {
		json_decref(ev);
		msleep(50);
		ev = ex_events(x);
	}
	if (count_named(ev, name) < want)
		print_error("%s: %zu recorded, want %zu\n", name,
		            count_named(ev, name), want);
	assert_true(count_named(ev, name) >= want);
	return ev;
}

/* POST a raw delivery to the example receiver: the status. */
static int ex_post(example_rx *x, const char *body, const char *const *hdrs)
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

static int setup(void **state)
{
	int i;

	(void)state;
	memset(&H, 0, sizeof(H));
	for (i = 0; SERVE_ARGS[i]; i++)
		H.extra_args[i] = SERVE_ARGS[i];
	return h_start(&H);
}

static int teardown(void **state)
{
	int i, st;

	(void)state;
	for (i = 0; i < 16; i++)
		if (ex_pids[i] > 0) {
			kill(ex_pids[i], SIGTERM);
			waitpid(ex_pids[i], &st, 0);
		}
	h_stop(&H);
	return 0;
}

/* Create an endpoint; its JSON (with "secret") is returned. */
static json_t *endpoint(unsigned short port, const char *events)
{
	char path[256], body[512];
	h_resp r;
	json_t *ep;

	snprintf(body, sizeof(body),
	         "{\"url\":\"http://127.0.0.1:%u/webhooks/flock\"%s%s}", port,
	         events ? ",\"events\":" : "", events ? events : "");
	h_call(&H, &r, "POST",
	       h_admin_path(&H, path, sizeof(path), "/webhook-endpoints"),
	       H.admin_token, body, NULL);
	if (r.status != 201)
		print_error("endpoint: %d %s\n", r.status, r.text);
	assert_int_equal(r.status, 201);
	ep = json_incref(r.json);
	h_resp_free(&r);
	assert_true(strncmp(str(ep, "secret"), "whsec_", 6) == 0);
	return ep;
}

/* Admin call on an endpoint sub-path: the response JSON (new ref). */
static json_t *ep_call(const char *method, const json_t *ep, const char *suffix,
                       const char *body, int want)
{
	char sub[256], path[384];
	h_resp r;
	json_t *out;

	snprintf(sub, sizeof(sub), "/webhook-endpoints/%s%s", str(ep, "id"),
	         suffix);
	h_call(&H, &r, method, h_admin_path(&H, path, sizeof(path), sub),
	       H.admin_token, body, NULL);
	if (r.status != want)
		print_error("%s %s: %d %s\n", method, sub, r.status, r.text);
	assert_int_equal(r.status, want);
	out = json_incref(r.json);
	h_resp_free(&r);
	return out;
}

/* Disable an endpoint so that later tests' events do not reach it. */
static void ep_off(const json_t *ep)
{
	json_decref(ep_call("PATCH", ep, "", "{\"enabled\":false}", 200));
}

static json_t *identify(const char *ext)
{
	char email[96];
	h_resp r;
	json_t *c;

	/* Distinct addresses: one shared by referrer and referee is fraud. */
	snprintf(email, sizeof(email), "%s@example.com", ext);
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
	        "{s:s,s:s}", "externalUserId", ext, "email", email);
	assert_true(r.status == 201 || r.status == 200);
	c = json_incref(r.json);
	h_resp_free(&r);
	return c;
}

static long total_of(const json_t *page)
{
	return (long)json_integer_value(json_object_get(page, "total"));
}

/* Wait until the endpoint's delivery of event_id has `state`. */
static json_t *wait_state(const json_t *ep, const char *state, size_t want)
{
	int64_t end = flock__mono_ms() + WAIT_MS;
	char q[64];
	json_t *page;

	snprintf(q, sizeof(q), "/deliveries?state=%s", state);
	for (;;) {
		page = ep_call("GET", ep, q, NULL, 200);
		if (json_integer_value(json_object_get(page, "total")) >=
		            (json_int_t)want ||
		    flock__mono_ms() > end)
			break;
		json_decref(page);
		msleep(50);
	}
	assert_true(json_integer_value(json_object_get(page, "total")) >=
	            (json_int_t)want);
	return page;
}

/* ---- the tests ------------------------------------------------------- */

/* The seed's Express route: invitee.accepted and reward.created arrive
 * at examples/webhook_receiver and verify there. */
static void test_invitee_accepted_arrives(void **state)
{
	example_rx x;
	json_t *ep, *ev, *alice, *bob, *e, *data;
	char campaign[64];
	h_resp r;
	size_t i;
	int found = 0;

	(void)state;
	x.port = free_port();
	ep = endpoint(x.port, "[\"invitee.accepted\",\"reward.created\"]");
	ex_start(&x, str(ep, "secret"), x.port);
	assert_int_equal(h_live_campaign(&H, "production", 0, 0, campaign,
	                                 sizeof(campaign)),
	                 0);
	alice = identify("wh-alice");
	bob = identify("wh-bob");
	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode",
	        str(alice, "referralCode"), "refereeExternalUserId", "wh-bob");
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
	        "{s:s,s:s,s:s}", "checkpointName", "purchase_completed",
	        "externalUserId", "wh-bob", "environment", "production");
	assert_int_equal(r.status, 201);
	h_resp_free(&r);

	json_decref(ex_wait(&x, "reward.created", 2));
	ev = ex_wait(&x, "invitee.accepted", 1);
	json_array_foreach(ev, i, e)
	{
		if (strcmp(str(e, "name"), "invitee.accepted"))
			continue;
		data = json_object_get(e, "data");
		assert_string_equal(str(json_object_get(data, "invitee"), "id"),
		                    str(bob, "id"));
		assert_string_equal(
		        str(json_object_get(data, "referrer"), "id"),
		        str(alice, "id"));
		assert_string_equal(
		        str(json_object_get(data, "campaign"), "id"), campaign);
		assert_string_equal(str(e, "environment"), "production");
		found++;
	}
	assert_int_equal(found, 1);
	/* Subscribed to two events only: the customers' own did not come. */
	assert_int_equal(count_named(ev, "customer.created"), 0);
	json_decref(ev);
	ev = wait_state(ep, "delivered", 3);
	json_decref(ev);
	ex_stop(&x);
	ep_off(ep);
	json_decref(alice);
	json_decref(bob);
	json_decref(ep);
}

/* 500 then 200: the retry carries the same webhook-id, and both verify. */
static void test_retry_same_id(void **state)
{
	receiver rx;
	json_t *ep, *log, *a0, *a1;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.script[0] = 500;
	rx.nscript = 1;
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	json_decref(identify("wh-retry"));
	rx_wait(&rx, 2);
	assert_string_equal(rx.seen[0].id, rx.seen[1].id);
	assert_int_equal(rx_verify(&rx.seen[0], str(ep, "secret"), 1, 1), 0);
	assert_int_equal(rx_verify(&rx.seen[1], str(ep, "secret"), 1, 1), 0);
	/* The schedule here says 1 s. */
	assert_true(rx.seen[1].at_ms - rx.seen[0].at_ms >= 900);
	/* Each attempt is stamped anew: webhook-timestamp and body. */
	assert_true(strtoll(rx.seen[1].ts, NULL, 10) >=
	            strtoll(rx.seen[0].ts, NULL, 10));
	json_decref(wait_state(ep, "delivered", 1));
	log = ep_call("GET", ep, "/attempts", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(log, "total")), 2);
	a0 = json_array_get(json_object_get(log, "data"), 1); /* oldest */
	a1 = json_array_get(json_object_get(log, "data"), 0);
	assert_int_equal(json_integer_value(json_object_get(a0, "status")),
	                 500);
	assert_int_equal(json_integer_value(json_object_get(a0, "attempt")), 1);
	assert_string_equal(str(a0, "responseExcerpt"), "{\"a\":1}");
	assert_true(json_is_integer(json_object_get(a0, "latencyMs")));
	assert_non_null(str(a0, "at"));
	assert_int_equal(json_integer_value(json_object_get(a1, "status")),
	                 200);
	assert_int_equal(json_integer_value(json_object_get(a1, "attempt")), 2);
	json_decref(log);
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* A Retry-After longer than the schedule's next delay is honoured. */
static void test_retry_after(void **state)
{
	receiver rx;
	json_t *ep;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.script[0] = 503;
	rx.nscript = 1;
	rx.retry_after = "3";
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	json_decref(identify("wh-retry-after"));
	rx_wait(&rx, 2);
	assert_true(rx.seen[1].at_ms - rx.seen[0].at_ms >= 2900);
	assert_string_equal(rx.seen[0].id, rx.seen[1].id);
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* 410 disables the endpoint and kills the delivery; enabling it again
 * sends what waited, and a replay sends the dead one. */
static void test_gone_disables_and_replay(void **state)
{
	receiver rx;
	json_t *ep, *got, *page, *d, *res;
	char body[128];

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.script[0] = 410;
	rx.nscript = 1;
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	json_decref(identify("wh-gone-1"));
	rx_wait(&rx, 1);
	page = wait_state(ep, "dead", 1);
	d = json_array_get(json_object_get(page, "data"), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "lastStatus")),
	                 410);
	snprintf(body, sizeof(body), "{\"deliveryId\":\"%s\"}", str(d, "id"));
	json_decref(page);
	got = ep_call("GET", ep, "", NULL, 200);
	assert_true(json_is_false(json_object_get(got, "enabled")));
	assert_string_equal(str(got, "disabledReason"), "gone");
	assert_null(json_object_get(got, "secret"));
	json_decref(got);

	/* Disabled: a new event waits, undelivered. */
	json_decref(identify("wh-gone-2"));
	json_decref(wait_state(ep, "pending", 1));
	msleep(1500);
	assert_int_equal(rx_count(&rx), 1);

	/* Enabled again: the waiting one goes out. */
	got = ep_call("PATCH", ep, "", "{\"enabled\":true}", 200);
	assert_true(json_is_true(json_object_get(got, "enabled")));
	assert_true(json_is_null(json_object_get(got, "disabledReason")));
	json_decref(got);
	rx_wait(&rx, 2);
	json_decref(wait_state(ep, "delivered", 1));

	/* Replay one, then in bulk (none left dead: 0). */
	res = ep_call("POST", ep, "/replay", body, 200);
	assert_int_equal(json_integer_value(json_object_get(res, "replayed")),
	                 1);
	json_decref(res);
	rx_wait(&rx, 3);
	assert_string_equal(rx.seen[2].id, rx.seen[0].id);
	json_decref(wait_state(ep, "delivered", 2));
	res = ep_call("POST", ep, "/replay", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(res, "replayed")),
	                 0);
	json_decref(res);
	json_decref(ep_call("POST", ep, "/replay",
	                    "{\"deliveryId\":\"dlv_nope\"}", 404));
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Five retries (the schedule here), all 500: dead; a bulk replay sends
 * it once more. */
static void test_dead_bulk_replay(void **state)
{
	receiver rx;
	json_t *ep, *res, *page;
	int i;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	for (i = 0; i < 6; i++)
		rx.script[i] = 500;
	rx.nscript = 6;
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	json_decref(identify("wh-dead"));
	page = wait_state(ep, "dead", 1);
	assert_int_equal(
	        json_integer_value(json_object_get(
	                json_array_get(json_object_get(page, "data"), 0),
	                "attempts")),
	        6);
	json_decref(page);
	assert_int_equal(rx_count(&rx), 6);
	res = ep_call("POST", ep, "/replay", "{}", 200);
	assert_int_equal(json_integer_value(json_object_get(res, "replayed")),
	                 1);
	json_decref(res);
	rx_wait(&rx, 7);
	assert_string_equal(rx.seen[6].id, rx.seen[0].id);
	json_decref(wait_state(ep, "delivered", 1));
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Rotation: during the grace the old secret still verifies (Standard
 * Webhooks carries both signatures; X-Flock-Signature the new one); after
 * it, only the new one does. */
static void test_rotation(void **state)
{
	receiver rx;
	json_t *ep, *rot;
	char old[64], new_[64];
	int64_t rotated;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	snprintf(old, sizeof(old), "%s", str(ep, "secret"));
	rotated = flock__mono_ms();
	rot = ep_call("POST", ep, "/rotate-secret", "{\"graceSeconds\":6}",
	              200);
	snprintf(new_, sizeof(new_), "%s", str(rot, "secret"));
	assert_string_not_equal(old, new_);
	assert_non_null(str(rot, "previousSecretExpiresAt"));
	json_decref(rot);

	json_decref(identify("wh-rot-1"));
	rx_wait(&rx, 1);
	assert_non_null(strchr(rx.seen[0].sig, ' ')); /* two v1 items */
	assert_int_equal(rx_verify(&rx.seen[0], new_, 1, 1), 0);
	assert_int_equal(rx_verify(&rx.seen[0], old, 0, 1), 0);
	assert_int_equal(rx_verify(&rx.seen[0], old, 1, 0),
	                 FLOCK_ESIG_MISMATCH);

	/* The grace ends. */
	while (flock__mono_ms() < rotated + 6500)
		msleep(50);
	json_decref(identify("wh-rot-2"));
	rx_wait(&rx, 2);
	assert_null(strchr(rx.seen[1].sig, ' '));
	assert_int_equal(rx_verify(&rx.seen[1], new_, 1, 1), 0);
	assert_int_equal(rx_verify(&rx.seen[1], old, 0, 1),
	                 FLOCK_ESIG_MISMATCH);
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* The receiver is down while flockd is SIGKILLed and restarted: every
 * event still arrives once it is up. */
static void test_kill_restart(void **state)
{
	example_rx x;
	json_t *ep, *ev;
	char ext[32];
	int i;

	(void)state;
	x.port = free_port();
	ep = endpoint(x.port, "[\"customer.created\"]");
	for (i = 0; i < 5; i++) {
		snprintf(ext, sizeof(ext), "wh-kill-%d", i);
		json_decref(identify(ext));
	}
	/* At least one attempt failed against the closed port. */
	json_decref(wait_state(ep, "retrying", 1));
	h_kill(&H, SIGKILL);
	/* Restarted with a longer schedule: however slow the machine, the
	 * receiver comes up before the retries run out. */
	H.extra_args[2] = "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1";
	assert_int_equal(h_serve(&H), 0);
	ex_start(&x, str(ep, "secret"), x.port);
	ev = ex_wait(&x, "customer.created", 5);
	json_decref(ev);
	json_decref(wait_state(ep, "delivered", 5));
	ex_stop(&x);
	ep_off(ep);
	json_decref(ep);
}

/* flockd is SIGKILLed while an attempt waits for its answer: the lease
 * runs out and the restarted flockd sends it again, same webhook-id. */
static void test_lease_taken_over(void **state)
{
	receiver rx;
	json_t *ep;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.delay_first_ms = 1500;
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	json_decref(identify("wh-lease"));
	/* The attempt is at the receiver, which answers in 1.5 s. */
	rx_wait_arrived(&rx, 1);
	h_kill(&H, SIGKILL);
	assert_int_equal(h_serve(&H), 0);
	rx_wait(&rx, 2);
	assert_string_equal(rx.seen[0].id, rx.seen[1].id);
	assert_int_equal(rx_verify(&rx.seen[1], str(ep, "secret"), 1, 1), 0);
	json_decref(wait_state(ep, "delivered", 1));
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* examples/webhook_receiver accepts flockd's own delivery and refuses a
 * tampered body, an old timestamp and a wrong secret. */
static void test_receiver_refuses_forgeries(void **state)
{
	receiver rx;
	example_rx x, wrong;
	json_t *ep;
	char *body, *p, ts[32], fsig[128], id[96], sig[640];
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_headers *sh = NULL;
	const char *secrets[1];
	const char *hdrs[5];
	char h0[128], h1[128], h2[128], h3[640];

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	json_decref(identify("wh-forge"));
	rx_wait(&rx, 1);
	ex_start(&x, str(ep, "secret"), 0);
	ex_start(&wrong,
	         "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0);

	/* flockd's delivery, forwarded as is. */
	snprintf(h0, sizeof(h0), "X-Flock-Signature: %s", rx.seen[0].flock_sig);
	snprintf(h1, sizeof(h1), "webhook-id: %s", rx.seen[0].id);
	snprintf(h2, sizeof(h2), "webhook-timestamp: %s", rx.seen[0].ts);
	snprintf(h3, sizeof(h3), "webhook-signature: %s", rx.seen[0].sig);
	hdrs[0] = h0;
	hdrs[1] = h1;
	hdrs[2] = h2;
	hdrs[3] = h3;
	hdrs[4] = NULL;
	assert_int_equal(ex_post(&x, rx.seen[0].body, hdrs), 200);
	/* Wrong secret. */
	assert_int_equal(ex_post(&wrong, rx.seen[0].body, hdrs), 400);
	/* Tampered body: one letter of the data changed. */
	body = strdup(rx.seen[0].body);
	p = strstr(body, "wh-forge");
	assert_non_null(p);
	p[3] = 'F';
	assert_int_equal(ex_post(&x, body, hdrs), 400);
	free(body);
	/* Old: the same event signed correctly ten minutes ago. */
	body = strdup(rx.seen[0].body);
	p = strstr(body, "\"timestamp\":");
	assert_non_null(p);
	snprintf(ts, sizeof(ts), "%lld", (long long)(flock__now_ms() - 600000));
	memcpy(p + 12, ts, strlen(ts)); /* same digit count */
	secrets[0] = str(ep, "secret");
	sp.payload = body;
	sp.payload_len = strlen(body);
	sp.secrets = secrets;
	sp.secret_count = 1;
	sp.timestamp_s = flock__now_ms() / 1000 - 600;
	assert_int_equal(flock_webhooks_sign(&sh, &sp), 0);
	snprintf(fsig, sizeof(fsig), "X-Flock-Signature: %s",
	         sh->flock_signature);
	snprintf(id, sizeof(id), "webhook-id: %s", sh->webhook_id);
	snprintf(h2, sizeof(h2), "webhook-timestamp: %s",
	         sh->webhook_timestamp);
	snprintf(sig, sizeof(sig), "webhook-signature: %s",
	         sh->webhook_signature);
	hdrs[0] = fsig;
	hdrs[1] = id;
	hdrs[3] = sig;
	assert_int_equal(ex_post(&x, body, hdrs), 400);
	flock_webhook_headers_free(sh);
	free(body);
	ex_stop(&x);
	ex_stop(&wrong);
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Endpoint URLs: http(s) only; loopback and private refused unless the
 * operator allows them. */
static void test_url_checks(void **state)
{
	static const char *const refused[] = {"http://127.0.0.1:9/x",
	                                      "http://10.1.2.3/x",
	                                      "http://192.168.1.1/x",
	                                      "http://169.254.169.254/latest",
	                                      "http://[::1]:9/x",
	                                      "http://[fd00::1]/x",
	                                      "http://[::ffff:127.0.0.1]/x",
	                                      "http://0.0.0.0/x",
	                                      NULL};
	fd_harness strict;
	char path[256], body[256];
	h_resp r;
	int i;

	(void)state;
	memset(&strict, 0, sizeof(strict));
	assert_int_equal(h_start(&strict), 0);
	h_admin_path(&strict, path, sizeof(path), "/webhook-endpoints");
	for (i = 0; refused[i]; i++) {
		snprintf(body, sizeof(body), "{\"url\":\"%s\"}", refused[i]);
		h_call(&strict, &r, "POST", path, strict.admin_token, body,
		       NULL);
		if (r.status != 400)
			print_error("%s: %d\n", refused[i], r.status);
		assert_int_equal(r.status, 400);
		assert_string_equal(str(r.json, "code"), "invalid_url");
		assert_non_null(strstr(str(r.json, "message"), "private"));
		h_resp_free(&r);
	}
	h_call(&strict, &r, "POST", path, strict.admin_token,
	       "{\"url\":\"ftp://93.184.215.14/x\"}", NULL);
	assert_int_equal(r.status, 400);
	h_resp_free(&r);
	h_call(&strict, &r, "POST", path, strict.admin_token,
	       "{\"url\":\"https://93.184.215.14/hooks\"}", NULL);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_stop(&strict);
}

static void test_private_addresses(void **state)
{
	static const char *const priv[] = {
	        "127.0.0.1",       "10.0.0.1",    "172.16.0.1",
	        "172.31.255.255",  "192.168.0.1", "169.254.1.1",
	        "100.64.0.1",      "0.0.0.0",     "224.0.0.1",
	        "255.255.255.255", "::1",         "::",
	        "fe80::1",         "fc00::1",     "fd12:3456::1",
	        "::ffff:10.0.0.1", "ff02::1",     NULL};
	static const char *const pub[] = {"93.184.215.14",  "8.8.8.8",
	                                  "172.32.0.1",     "2606:4700::1111",
	                                  "::ffff:8.8.8.8", NULL};
	struct sockaddr_storage ss;
	int i;

	(void)state;
	for (i = 0; priv[i]; i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(priv[i], ':')) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			assert_int_equal(
			        inet_pton(AF_INET6, priv[i], &s6->sin6_addr),
			        1);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			assert_int_equal(
			        inet_pton(AF_INET, priv[i], &s4->sin_addr), 1);
		}
		if (!fd_addr_is_private((struct sockaddr *)&ss))
			print_error("%s should be private\n", priv[i]);
		assert_true(fd_addr_is_private((struct sockaddr *)&ss));
	}
	for (i = 0; pub[i]; i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(pub[i], ':')) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			assert_int_equal(
			        inet_pton(AF_INET6, pub[i], &s6->sin6_addr), 1);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			assert_int_equal(
			        inet_pton(AF_INET, pub[i], &s4->sin_addr), 1);
		}
		if (fd_addr_is_private((struct sockaddr *)&ss))
			print_error("%s should be public\n", pub[i]);
		assert_false(fd_addr_is_private((struct sockaddr *)&ss));
	}
}

/* Serve H with these flags (NULL-terminated, at most 7). */
static void reserve(const char *const *args)
{
	int i;

	h_kill(&H, SIGTERM);
	memset(H.extra_args, 0, sizeof(H.extra_args));
	for (i = 0; args[i] && i < 7; i++)
		H.extra_args[i] = args[i];
	assert_int_equal(h_serve(&H), 0);
}

/* The address is checked again when the worker connects: an endpoint
 * created while private addresses were allowed is refused once they are
 * not, and delivered when they are again. */
static void test_private_refused_at_delivery(void **state)
{
	static const char *const strict[] = {"--webhook-retry-schedule",
	                                     "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
	                                     "--webhook-timeout",
	                                     "2",
	                                     "--webhook-lease",
	                                     "7",
	                                     NULL};
	static const char *const lax[] = {"--webhook-allow-private",
	                                  "--webhook-retry-schedule",
	                                  "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
	                                  "--webhook-timeout",
	                                  "2",
	                                  "--webhook-lease",
	                                  "7",
	                                  NULL};
	receiver rx;
	json_t *ep, *log, *a;
	int64_t end;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	reserve(strict);
	json_decref(identify("wh-private"));
	end = flock__mono_ms() + WAIT_MS;
	for (;;) {
		log = ep_call("GET", ep, "/attempts", NULL, 200);
		if (total_of(log) >= 1 || flock__mono_ms() > end)
			break;
		json_decref(log);
		msleep(50);
	}
	a = json_array_get(json_object_get(log, "data"), 0);
	assert_non_null(a);
	assert_true(json_is_null(json_object_get(a, "status")));
	assert_non_null(strstr(str(a, "error"), "private or loopback"));
	json_decref(log);
	assert_int_equal(rx_count(&rx), 0);
	reserve(lax);
	rx_wait(&rx, 1);
	assert_int_equal(rx_verify(&rx.seen[0], str(ep, "secret"), 1, 1), 0);
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Two flockd processes on one database (two nodes): each event goes out
 * once, whichever node claims it; leases keep them from sending the same
 * delivery at the same time. */
static void test_two_nodes(void **state)
{
	fd_harness second;
	receiver rx;
	json_t *ep;
	char ext[32];
	int i, j, dup = 0;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = endpoint(rx.port, "[\"customer.created\"]");
	second = H; /* same database and keys, its own port */
	second.init = NULL;
	assert_int_equal(h_serve(&second), 0);
	for (i = 0; i < 40; i++) {
		snprintf(ext, sizeof(ext), "wh-node-%d", i);
		json_decref(identify(ext));
	}
	rx_wait(&rx, 40);
	json_decref(wait_state(ep, "delivered", 40));
	msleep(300); /* a duplicate would arrive now */
	assert_int_equal(rx_count(&rx), 40);
	for (i = 0; i < 40; i++)
		for (j = i + 1; j < 40; j++)
			dup += strcmp(rx.seen[i].id, rx.seen[j].id) == 0;
	assert_int_equal(dup, 0);
	h_kill(&second, SIGTERM);
	ep_off(ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* /metrics shows the delivery counters and the lag gauge. */
static void test_metrics(void **state)
{
	h_resp r;

	(void)state;
	h_call(&H, &r, "GET", "/metrics", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.text, "flockd_webhook_deliveries_total{"
	                               "result=\"delivered\"}"));
	assert_non_null(strstr(r.text, "flockd_webhook_deliveries_total{"
	                               "result=\"dead\"}"));
	assert_non_null(strstr(r.text, "flockd_webhook_attempts_total{"
	                               "result=\"failed\"}"));
	assert_non_null(strstr(r.text, "flockd_webhook_lag_seconds "));
	assert_non_null(strstr(r.text, "flockd_webhook_deliveries{state="
	                               "\"retrying\"}"));
	h_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_private_addresses),
	        cmocka_unit_test(test_url_checks),
	        cmocka_unit_test(test_invitee_accepted_arrives),
	        cmocka_unit_test(test_retry_same_id),
	        cmocka_unit_test(test_retry_after),
	        cmocka_unit_test(test_gone_disables_and_replay),
	        cmocka_unit_test(test_dead_bulk_replay),
	        cmocka_unit_test(test_rotation),
	        cmocka_unit_test(test_receiver_refuses_forgeries),
	        cmocka_unit_test(test_kill_restart),
	        cmocka_unit_test(test_lease_taken_over),
	        cmocka_unit_test(test_private_refused_at_delivery),
	        cmocka_unit_test(test_two_nodes),
	        cmocka_unit_test(test_metrics),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("WEBHOOK_TEST"))
		cmocka_set_test_filter(getenv("WEBHOOK_TEST"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
