/*
 * libflock's queue against a real flockd on loopback: flockd stopped for a
 * while and started again (every event arrives exactly once, its rewards
 * granted); the backend SIGKILLed mid-queue with answers it never read,
 * then a queue on its spool (resumes, nothing lost, nothing applied
 * twice: the server replays by Idempotency-Key); a full queue under each
 * policy; a permanent 400 reported once; 8 threads enqueueing, every
 * customer's events applied in order.
 *
 * "Exactly once" is counted on the server: flockd writes one
 * checkpoint.ingested outbox event per ingest it applies (an endpoint
 * subscribes to them), each carrying the event's properties, and a
 * duplicate would be a second one. Rewards are counted through the admin
 * API, and replays through /metrics.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <flock.h>

#include "harness.h"
#include "support.h"

static fd_harness H;
static flock_client *C;
static char campaign[64];
static char referrer_code[64];

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* --- flockd, stopped and started on the same port -------------------------- */

static int ready(void)
{
	h_resp r;
	int ok;

	if (h_call(&H, &r, "GET", "/readyz", NULL, NULL, NULL) < 0)
		return 0;
	ok = r.status == 200;
	h_resp_free(&r);
	return ok;
}

static void flockd_stop(void)
{
	assert_true(H.pid > 0);
	h_kill(&H, SIGTERM);
}

/* Serve again on H's database and port (the client keeps its URL). */
static void flockd_start(void)
{
	char listen[32], *argv[24];
	int n = 0, i, attempt;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", H.port);
	argv[n++] = getenv("FLOCKD_BIN");
	argv[n++] = "serve";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--database";
	argv[n++] = H.db;
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	for (i = 0; H.extra_args[i] && n < 22; i++)
		argv[n++] = (char *)H.extra_args[i];
	argv[n] = NULL;
	for (attempt = 0; attempt < 20; attempt++) {
		H.pid = fork();
		assert_true(H.pid >= 0);
		if (H.pid == 0) {
			int fd = open(H.log, O_WRONLY | O_APPEND | O_CREAT, 0600);

			if (fd >= 0)
				dup2(fd, STDERR_FILENO);
			execv(argv[0], argv);
			_exit(127);
		}
		for (i = 0; i < 200; i++) {
			int st;

			if (waitpid(H.pid, &st, WNOHANG) == H.pid) {
				H.pid = 0;
				break; /* the port not free yet: again */
			}
			if (ready())
				return;
			sleep_ms(25);
		}
		if (H.pid > 0)
			h_kill(&H, SIGKILL);
		sleep_ms(100);
	}
	fail_msg("flockd did not start again on port %u", H.port);
}

/* --- set-up ---------------------------------------------------------------- */

static int setup(void **state)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	char path[256];
	h_resp r;
	int rc;

	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--velocity-per-hour";
	H.extra_args[1] = "1000000";
	H.extra_args[2] = "--webhook-allow-private";
	if (h_start(&H) < 0 || h_live_campaign(&H, "production", 0, 0, campaign,
	                                       sizeof(campaign)) < 0)
		return -1;
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", "queue-referrer");
	rc = r.status == 201 && str(r.json, "referralCode") ? 0 : -1;
	if (rc == 0)
		snprintf(referrer_code, sizeof(referrer_code), "%s",
		         str(r.json, "referralCode"));
	h_resp_free(&r);
	/* So that every applied ingest leaves one outbox event to count. */
	h_admin_path(&H, path, sizeof(path), "/webhook-endpoints");
	h_callf(&H, &r, "POST", path, H.admin_token, "{s:s,s:[s]}", "url",
	        "http://127.0.0.1:9/flock-hook", "events",
	        "checkpoint.ingested");
	if (r.status != 201)
		rc = -1;
	h_resp_free(&r);
	o.access_key = H.service_key;
	o.base_url = H.base_url;
	o.max_retries = 0;
	o.timeout_ms = 10000;
	o.connect_timeout_ms = 2000;
	if (rc == 0 && flock_client_new(&C, &o) != 0)
		rc = -1;
	return rc;
}

static int teardown(void **state)
{
	char p[400];

	static const char *const spools[] = {"queue", "crash", "threads",
	                                     "drop", NULL};
	int i;

	(void)state;
	flock_client_free(C);
	for (i = 0; spools[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s.spool", H.dir, spools[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%s.spool-wal", H.dir, spools[i]);
		unlink(p);
	}
	h_stop(&H);
	return 0;
}

/* A referee with a pending referral: its purchase grants two rewards. */
static void make_referee(const char *ext)
{
	h_resp r;

	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", ext);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode", referrer_code,
	        "refereeExternalUserId", ext);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
}

static long rewards_total(void)
{
	char path[256];
	h_resp r;
	long n;

	h_admin_path(&H, path, sizeof(path), "/rewards?limit=1");
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	n = (long)json_integer_value(json_object_get(r.json, "total"));
	h_resp_free(&r);
	return n;
}

/*
 * The properties of every applied ingest of run `tag`, oldest first:
 * an array of {"tag","who","n"} objects (caller decrefs).
 */
static json_t *applied(const char *tag)
{
	json_t *all = json_array(), *v, *p;
	char path[256], suffix[128];
	long offset = 0, total = 1;
	size_t i;

	while (offset < total) {
		h_resp r;

		snprintf(suffix, sizeof(suffix),
		         "/events?name=checkpoint.ingested&limit=100&offset=%ld",
		         offset);
		h_admin_path(&H, path, sizeof(path), suffix);
		h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
		assert_int_equal(r.status, 200);
		total = (long)json_integer_value(
		        json_object_get(r.json, "total"));
		json_array_foreach(json_object_get(r.json, "data"), i, v)
		{
			p = json_object_get(json_object_get(v, "data"),
			                    "properties");
			if (str(p, "tag") && strcmp(str(p, "tag"), tag) == 0)
				json_array_insert(all, 0, p); /* newest first */
			offset++;
		}
		if (json_array_size(json_object_get(r.json, "data")) == 0)
			offset = total;
		h_resp_free(&r);
	}
	return all;
}

/* Every n in [0, count) applied exactly once (each listed by `who`). */
static void assert_each_once(json_t *events, int count)
{
	char *seen = calloc((size_t)count, 1);
	json_t *v;
	size_t i;
	int n;

	assert_non_null(seen);
	json_array_foreach(events, i, v)
	{
		n = (int)json_integer_value(json_object_get(v, "n"));
		assert_true(n >= 0 && n < count);
		if (seen[n])
			fail_msg("event %d applied twice", n);
		seen[n] = 1;
	}
	assert_int_equal(json_array_size(events), (size_t)count);
	free(seen);
}

/* POST /checkpoints/ingest answers with `status` so far, from /metrics. */
static long ingest_answers(int status)
{
	char needle[160];
	const char *p;
	h_resp r;
	long n = 0;

	snprintf(needle, sizeof(needle),
	         "flockd_http_requests_total{method=\"POST\","
	         "route=\"/checkpoints/ingest\",status=\"%d\"} ",
	         status);
	h_call(&H, &r, "GET", "/metrics", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	if (r.text && (p = strstr(r.text, needle)) != NULL)
		n = strtol(p + strlen(needle), NULL, 10);
	h_resp_free(&r);
	return n;
}

static int queue_ingest(flock_queue *q, const char *tag, const char *who,
                        int n, const char *env)
{
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	char props[160];

	snprintf(props, sizeof(props),
	         "{\"tag\":\"%s\",\"who\":\"%s\",\"n\":%d}", tag, who, n);
	p.external_user_id = who;
	p.environment = env ? env : "production";
	p.properties_json = props;
	return flock_queue_ingest(q, "purchase_completed", &p);
}

/* Reports, counted by outcome. */
typedef struct {
	pthread_mutex_t mu;
	int by[5];
	int http_status, code;
	char server_code[64];
} tally;

static tally T = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, ""};

static void count_report(const flock_queue_report *r, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&T.mu);
	T.by[r->outcome]++;
	if (r->outcome == FLOCK_QUEUE_FAILED) {
		T.http_status = r->http_status;
		T.code = r->code;
		snprintf(T.server_code, sizeof(T.server_code), "%s",
		         r->server_code ? r->server_code : "");
	}
	pthread_mutex_unlock(&T.mu);
}

static void tally_reset(void)
{
	pthread_mutex_lock(&T.mu);
	memset(T.by, 0, sizeof(T.by));
	T.http_status = T.code = 0;
	T.server_code[0] = '\0';
	pthread_mutex_unlock(&T.mu);
}

static int tally_get(int outcome)
{
	int n;

	pthread_mutex_lock(&T.mu);
	n = T.by[outcome];
	pthread_mutex_unlock(&T.mu);
	return n;
}

static flock_queue_options queue_options(const char *spool_name,
                                         char *buf, size_t len)
{
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;

	if (spool_name) {
		snprintf(buf, len, "%s/%s", H.dir, spool_name);
		o.spool_path = buf;
	}
	o.backoff_base_ms = 50;
	o.backoff_max_ms = 400;
	o.report_cb = count_report;
	return o;
}

static int retried(flock_queue *q, unsigned long long n)
{
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	int i;

	for (i = 0; i < 1000; i++) {
		if (flock_queue_stats_get(&st, q) == 0 && st.retries >= n &&
		    st.in_flight == 0)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/* --- flockd down for a while ----------------------------------------------- */

#define OUTAGE_EVENTS 30

static void test_outage_every_event_once(void **state)
{
	flock_queue_options o;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q = NULL;
	char spool[400], ext[64];
	long rewards_before;
	json_t *events;
	int i;

	(void)state;
	tally_reset();
	for (i = 0; i < OUTAGE_EVENTS; i++) {
		snprintf(ext, sizeof(ext), "outage-%d", i);
		make_referee(ext);
	}
	rewards_before = rewards_total();
	o = queue_options("queue.spool", spool, sizeof(spool));
	assert_int_equal(flock_queue_new(&q, C, &o), 0);
	flockd_stop();
	for (i = 0; i < OUTAGE_EVENTS; i++) {
		snprintf(ext, sizeof(ext), "outage-%d", i);
		assert_int_equal(queue_ingest(q, "outage", ext, i, NULL), 0);
	}
	/* It really tried while flockd was down. */
	assert_int_equal(retried(q, 3), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, OUTAGE_EVENTS);
	flockd_start();
	assert_int_equal(flock_queue_flush(q, 60000), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.sent, OUTAGE_EVENTS);
	assert_int_equal(st.failed, 0);
	assert_int_equal(tally_get(FLOCK_QUEUE_SENT), OUTAGE_EVENTS);
	assert_int_equal(flock_queue_free(q, 10000), 0);
	events = applied("outage");
	assert_each_once(events, OUTAGE_EVENTS);
	json_decref(events);
	assert_int_equal(rewards_total() - rewards_before, 2 * OUTAGE_EVENTS);
}

/* --- the backend SIGKILLed mid-queue ---------------------------------------- */

#define CRASH_EVENTS 40
#define CRASH_AFTER 10 /* answers the crashing process reads, then hangs */

static int crash_pipe[2];
static int crash_answers;
static pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
	flock_http_response *resp;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	sink *s = ud;

	if (flock_http_response_append_body(s->resp, p, size * n) != 0)
		return 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	sink *s = ud;
	char line[512], *colon, *v;
	size_t len = size * n < sizeof(line) - 1 ? size * n : sizeof(line) - 1;

	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if ((colon = strchr(line, ':')) != NULL) {
		*colon = '\0';
		for (v = colon + 1; *v == ' '; v++)
			;
		flock_http_response_set_header(s->resp, line, v);
	}
	return size * n;
}

/*
 * The crashing backend's transport: a plain libcurl exchange with flockd;
 * after CRASH_AFTER answers every sender hangs holding the answer it got
 * (the server applied the event; the queue never learns), and the parent
 * is told to kill us.
 */
static int crash_send(void *ud, const flock_http_request *req,
                      flock_http_response *resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	char line[600];
	sink s = {resp};
	long status = 0;
	size_t i;
	int n;

	(void)ud;
	for (i = 0; i < req->header_count; i++) {
		snprintf(line, sizeof(line), "%s: %s", req->headers[i].name,
		         req->headers[i].value);
		hs = curl_slist_append(hs, line);
	}
	hs = curl_slist_append(hs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
	n = curl_easy_perform(c) == CURLE_OK ? 0 : FLOCK_ENETWORK;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	if (n != 0)
		return n;
	flock_http_response_set_status(resp, (int)status);
	pthread_mutex_lock(&crash_mu);
	n = ++crash_answers;
	pthread_mutex_unlock(&crash_mu);
	if (n >= CRASH_AFTER) {
		if (n == CRASH_AFTER) {
			ssize_t w = write(crash_pipe[1], "b", 1);
			(void)w;
		}
		for (;;)
			pause(); /* until SIGKILL */
	}
	return 0;
}

static void crash_child(const char *spool)
{
	flock_client_options co = FLOCK_CLIENT_OPTIONS_INIT;
	flock_transport t = {FLOCK_TRANSPORT_VERSION, NULL, crash_send, NULL};
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;
	flock_client *c = NULL;
	flock_queue *q = NULL;
	char ext[64];
	int i;

	co.access_key = H.service_key;
	co.base_url = H.base_url;
	co.transport = &t;
	o.spool_path = spool;
	if (flock_client_new(&c, &co) != 0 || flock_queue_new(&q, c, &o) != 0)
		_exit(2);
	for (i = 0; i < CRASH_EVENTS; i++) {
		ssize_t w;

		snprintf(ext, sizeof(ext), "crash-%d", i);
		if (queue_ingest(q, "crash", ext, i, NULL) != 0)
			_exit(3);
		w = write(crash_pipe[1], "a", 1); /* acknowledged */
		(void)w;
	}
	for (;;)
		pause();
}

/* Read the child's acks and its "hanging" mark (bounded: 60 s). */
static void wait_crash_marks(int *acks, int *hung)
{
	struct pollfd pfd = {crash_pipe[0], POLLIN, 0};
	char buf[64];
	ssize_t n, i;
	int rounds;

	for (rounds = 0; rounds < 600 && (*acks < CRASH_EVENTS || !*hung);
	     rounds++) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(crash_pipe[0], buf, sizeof(buf));
		for (i = 0; i < n; i++) {
			*acks += buf[i] == 'a';
			*hung |= buf[i] == 'b';
		}
	}
}

static void test_sigkill_resumes_from_spool(void **state)
{
	flock_queue_options o;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q = NULL;
	char spool[400], ext[64];
	long rewards_before, answers_before;
	int i, acks = 0, hung = 0, status;
	json_t *events;
	pid_t pid;

	(void)state;
	tally_reset();
	for (i = 0; i < CRASH_EVENTS; i++) {
		snprintf(ext, sizeof(ext), "crash-%d", i);
		make_referee(ext);
	}
	rewards_before = rewards_total();
	answers_before = ingest_answers(201);
	o = queue_options("crash.spool", spool, sizeof(spool));
	assert_int_equal(pipe(crash_pipe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(crash_pipe[0]);
		crash_child(spool);
	}
	close(crash_pipe[1]);
	wait_crash_marks(&acks, &hung);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(crash_pipe[0]);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(acks, CRASH_EVENTS);
	assert_true(hung);
	/* flockd applied the first answers the child never read. */
	assert_true(ingest_answers(201) - answers_before >= CRASH_AFTER);

	assert_int_equal(flock_queue_new(&q, C, &o), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	/* At least the unanswered ones; the hung ones were never deleted. */
	assert_true(st.resumed >= CRASH_EVENTS - CRASH_AFTER);
	assert_int_equal(flock_queue_flush(q, 60000), 0);
	assert_int_equal(flock_queue_free(q, 10000), 0);
	assert_int_equal(tally_get(FLOCK_QUEUE_SENT), (int)st.resumed);
	/* Sent again: answered twice (replayed), applied once. */
	assert_true(ingest_answers(201) - answers_before >
	            (long)CRASH_EVENTS);
	events = applied("crash");
	assert_each_once(events, CRASH_EVENTS);
	json_decref(events);
	assert_int_equal(rewards_total() - rewards_before, 2 * CRASH_EVENTS);
}

/* --- full queues -------------------------------------------------------------- */

static long long fake_now = 1000000;
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;

static long long fake_clock(void *ud)
{
	long long t;

	(void)ud;
	pthread_mutex_lock(&fake_mu);
	t = fake_now;
	pthread_mutex_unlock(&fake_mu);
	return t;
}

static void fake_advance(long long ms)
{
	pthread_mutex_lock(&fake_mu);
	fake_now += ms;
	pthread_mutex_unlock(&fake_mu);
}

/*
 * flockd down and the clock frozen after a first failed attempt: nothing
 * is in flight, nothing will be until the clock moves.
 */
static flock_queue *stalled_queue(flock_queue_options *o, const char *tag)
{
	flock_queue *q = NULL;

	o->clock_cb = fake_clock;
	o->max_events = 3;
	assert_int_equal(flock_queue_new(&q, C, o), 0);
	flockd_stop();
	assert_int_equal(queue_ingest(q, tag, "full-0", 0, NULL), 0);
	assert_int_equal(retried(q, 1), 0);
	return q;
}

static void resume_and_flush(flock_queue *q)
{
	flockd_start();
	fake_advance(3600000);
	assert_int_equal(flock_queue_flush(q, 60000), 0);
}

static void test_full_refuse(void **state)
{
	flock_queue_options o = queue_options(NULL, NULL, 0);
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;
	json_t *events;

	(void)state;
	tally_reset();
	q = stalled_queue(&o, "refuse");
	assert_int_equal(queue_ingest(q, "refuse", "full-1", 1, NULL), 0);
	assert_int_equal(queue_ingest(q, "refuse", "full-2", 2, NULL), 0);
	assert_int_equal(queue_ingest(q, "refuse", "full-3", 3, NULL),
	                 FLOCK_EFULL);
	resume_and_flush(q);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.sent, 3);
	assert_int_equal(flock_queue_free(q, 10000), 0);
	events = applied("refuse");
	assert_each_once(events, 3);
	json_decref(events);
}

static void test_full_drop_oldest(void **state)
{
	flock_queue_options o;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;
	char spool[400];
	json_t *events, *v;
	size_t i;
	int n;

	(void)state;
	tally_reset();
	o = queue_options("drop.spool", spool, sizeof(spool));
	o.full_policy = FLOCK_QUEUE_FULL_DROP_OLDEST;
	q = stalled_queue(&o, "drop");
	for (n = 1; n <= 4; n++)
		assert_int_equal(queue_ingest(q, "drop", "full-x", n, NULL), 0);
	assert_int_equal(tally_get(FLOCK_QUEUE_DROPPED), 2);
	resume_and_flush(q);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.sent, 3);
	assert_int_equal(flock_queue_free(q, 10000), 0);
	/* The oldest two (0 and 1) never reached flockd; 2, 3, 4 did. */
	events = applied("drop");
	assert_int_equal(json_array_size(events), 3);
	json_array_foreach(events, i, v)
	{
		assert_int_equal(json_integer_value(json_object_get(v, "n")),
		                 (json_int_t)i + 2);
	}
	json_decref(events);
}

/* --- a permanent 4xx ------------------------------------------------------------ */

static void test_permanent_4xx_reported_once(void **state)
{
	flock_queue_options o = queue_options(NULL, NULL, 0);
	flock_identify_params ip = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_trigger_params tp = FLOCK_TRIGGER_PARAMS_INIT;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q = NULL;
	long refused_before = ingest_answers(400);
	json_t *events;

	(void)state;
	tally_reset();
	assert_int_equal(flock_queue_new(&q, C, &o), 0);
	/* flockd refuses an unknown environment: 400, for good. */
	assert_int_equal(queue_ingest(q, "perm", "perm-1", 0, "staging"), 0);
	assert_int_equal(queue_ingest(q, "perm", "perm-1", 1, NULL), 0);
	ip.external_user_id = "perm-1";
	ip.email = "perm@example.com";
	assert_int_equal(flock_queue_identify(q, &ip), 0);
	tp.external_user_id = "perm-1";
	tp.environment = "production";
	assert_int_equal(flock_queue_trigger(q, &tp), 0);
	assert_int_equal(flock_queue_flush(q, 30000), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.retries, 0);
	assert_int_equal(tally_get(FLOCK_QUEUE_FAILED), 1);
	assert_int_equal(T.http_status, 400);
	assert_int_equal(T.code, FLOCK_EREQUEST);
	assert_true(T.server_code[0] != '\0');
	/* flockd saw it once: the queue is empty, so never again. */
	assert_int_equal(ingest_answers(400) - refused_before, 1);
	assert_int_equal(flock_queue_free(q, 10000), 0);
	events = applied("perm");
	assert_int_equal(json_array_size(events), 1);
	json_decref(events);
}

/* --- 8 threads, order per customer ------------------------------------------------- */

#define MT_THREADS 8
#define MT_EVENTS 25
#define MT_CUSTOMERS 3

static void *mt_enqueue(void *arg)
{
	flock_queue *q = ((void **)arg)[0];
	int t = (int)(long)((void **)arg)[1], i, rc = 0;
	char who[32];

	for (i = 0; i < MT_EVENTS && rc == 0; i++) {
		snprintf(who, sizeof(who), "mt-%d-%d", t, i % MT_CUSTOMERS);
		rc = queue_ingest(q, "mt", who, t * MT_EVENTS + i, NULL);
	}
	return (void *)(long)rc;
}

static void test_threads_order_per_customer(void **state)
{
	flock_queue_options o;
	flock_queue *q = NULL;
	pthread_t th[MT_THREADS];
	void *args[MT_THREADS][2], *ret;
	json_t *events, *last, *v;
	char spool[400];
	size_t i;
	int t;

	(void)state;
	tally_reset();
	o = queue_options("threads.spool", spool, sizeof(spool));
	o.sender_threads = 4;
	o.sync = FLOCK_QUEUE_SYNC_NORMAL;
	assert_int_equal(flock_queue_new(&q, C, &o), 0);
	for (t = 0; t < MT_THREADS; t++) {
		args[t][0] = q;
		args[t][1] = (void *)(long)t;
		assert_int_equal(
		        pthread_create(&th[t], NULL, mt_enqueue, args[t]), 0);
	}
	for (t = 0; t < MT_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(flock_queue_free(q, 60000), 0);
	assert_int_equal(tally_get(FLOCK_QUEUE_SENT), MT_THREADS * MT_EVENTS);
	events = applied("mt");
	assert_each_once(events, MT_THREADS * MT_EVENTS);
	/* Applied in commit order; a customer's n only ever grows. */
	last = json_object();
	json_array_foreach(events, i, v)
	{
		const char *who = str(v, "who");
		json_int_t n = json_integer_value(json_object_get(v, "n"));
		json_t *prev = json_object_get(last, who);

		if (prev && json_integer_value(prev) >= n)
			fail_msg("%s: event %lld applied after %lld", who,
			         (long long)n,
			         (long long)json_integer_value(prev));
		json_object_set_new(last, who, json_integer(n));
	}
	json_decref(last);
	json_decref(events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_outage_every_event_once),
	        cmocka_unit_test(test_sigkill_resumes_from_spool),
	        cmocka_unit_test(test_full_refuse),
	        cmocka_unit_test(test_full_drop_oldest),
	        cmocka_unit_test(test_permanent_4xx_reported_once),
	        cmocka_unit_test(test_threads_order_per_customer),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
