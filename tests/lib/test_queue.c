/*
 * The queue in memory (include/flock/queue.h) against a fake Flock behind
 * the transport interface: what it sends, with which key, when it tries
 * again (read off a frozen test clock, so nothing here sleeps to show that
 * something did not happen), what it reports, per-customer order, full
 * queues under each policy, flush and free, and fork().
 */
#include "queue_fake.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static flock_client *C;

static int setup(void **state)
{
	(void)state;
	C = qf_client();
	return C ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	flock_client_free(C);
	qf_reset();
	return 0;
}

static int each(void **state)
{
	(void)state;
	qf_reset();
	return 0;
}

static flock_queue *new_queue(const flock_queue_options *o)
{
	flock_queue *q = NULL;

	assert_int_equal(flock_queue_new(&q, C, o), 0);
	return q;
}

static void test_arguments(void **state)
{
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_queue *q = (flock_queue *)&o;

	(void)state;
	assert_int_equal(flock_queue_options_init(&o, 99), FLOCK_EINVAL);
	assert_int_equal(flock_queue_options_init(&o,
	                                          FLOCK_QUEUE_OPTIONS_VERSION),
	                 0);
	assert_int_equal(flock_queue_new(&q, NULL, &o), FLOCK_EINVAL);
	assert_null(q);
	o.version = 7;
	assert_int_equal(flock_queue_new(&q, C, &o), FLOCK_EINVAL);
	o = qf_options();
	o.sender_threads = 65;
	assert_int_equal(flock_queue_new(&q, C, &o), FLOCK_EINVAL);
	o = qf_options();
	o.full_policy = (flock_queue_full_policy)5;
	assert_int_equal(flock_queue_new(&q, C, &o), FLOCK_EINVAL);
	o = qf_options();
	o.max_age_ms = -1;
	assert_int_equal(flock_queue_new(&q, C, &o), FLOCK_EINVAL);

	assert_int_equal(flock_queue_ingest(NULL, "x", &p), FLOCK_EINVAL);
	q = new_queue(NULL); /* NULL options: the defaults */
	p.environment = "production";
	assert_int_equal(flock_queue_ingest(q, "purchase", &p), FLOCK_EINVAL);
	assert_string_equal(flock_error_last()->message,
	                    "external_user_id is required");
	p.external_user_id = "u1";
	p.properties_json = "{\"nested\":{\"a\":1}}";
	assert_int_equal(flock_queue_ingest(q, "purchase", &p), FLOCK_EINVAL);
	p.properties_json = NULL;
	p.idempotency_key = "has space";
	assert_int_equal(flock_queue_ingest(q, "purchase", &p), FLOCK_EINVAL);
	st.version = 0;
	assert_int_equal(flock_queue_stats_get(&st, q), FLOCK_EINVAL);
	st.version = FLOCK_QUEUE_STATS_VERSION;
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.queued + st.in_flight, 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
	assert_int_equal(qf_count(), 0);
	assert_int_equal(flock_queue_free(NULL, 0), 0);
}

/* Each call is sent once, to its path, with its key and its body. */
static void test_sends_each_call_with_its_key(void **state)
{
	flock_queue_options o = qf_options();
	flock_identify_params ip = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_trigger_params tp = FLOCK_TRIGGER_PARAMS_INIT;
	flock_queue *q;
	json_t *body;
	size_t i;

	(void)state;
	q = new_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 1, NULL), 0);
	ip.external_user_id = "u2";
	ip.email = "jane@example.com";
	ip.custom_properties_json = "{\"plan\":\"pro\"}";
	ip.idempotency_key = "identify-u2-1";
	assert_int_equal(flock_queue_identify(q, &ip), 0);
	tp.external_user_id = "u3";
	tp.environment = "test";
	tp.reward_for = FLOCK_REWARD_SELF;
	assert_int_equal(flock_queue_trigger(q, &tp), 0);
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	assert_int_equal(qf_count(), 3);
	assert_int_equal(qf_reports(), 3);
	for (i = 0; i < 3; i++) {
		const qf_req *r = &qf.req[i];

		body = json_loads(r->body, 0, NULL);
		assert_non_null(body);
		if (strcmp(r->customer, "u1") == 0) {
			assert_string_equal(r->path, "/checkpoints/ingest");
			assert_int_equal(strlen(r->key), 32);
			assert_string_equal(
			        json_string_value(json_object_get(
			                body, "checkpointName")),
			        "purchase_completed");
			assert_int_equal(qf_body_n(r), 1);
		} else if (strcmp(r->customer, "u2") == 0) {
			assert_string_equal(r->path, "/customers/identify");
			assert_string_equal(r->key, "identify-u2-1");
			assert_string_equal(json_string_value(json_object_get(
			                            body, "email")),
			                    "jane@example.com");
		} else {
			assert_string_equal(r->path, "/rewards/trigger");
			assert_string_equal(json_string_value(json_array_get(
			                            json_object_get(body,
			                                            "rewardFor"),
			                            0)),
			                    "self");
		}
		json_decref(body);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(qf.rep[i].outcome, FLOCK_QUEUE_SENT);
		assert_int_equal(qf.rep[i].code, 0);
		assert_int_equal(qf.rep[i].http_status, 201);
		assert_int_equal(qf.rep[i].attempts, 1);
		assert_true(qf.rep[i].has_response);
	}
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

/*
 * Unreachable, twice: the whole queue pauses for a back-off that doubles,
 * within [d/2, d] (read with the clock frozen), and every attempt carries
 * the same key and the same bytes.
 */
static void test_outage_backoff_same_key(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	unsigned long long k;
	flock_queue *q;
	long d = 100;
	size_t i;

	(void)state;
	qf_set_answer(QF_DOWN);
	q = new_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 7, NULL), 0);
	for (k = 1; k <= 4; k++, d *= 2) {
		assert_int_equal(qf_wait_stats(q, qf_retries_settled, &k), 0);
		assert_int_equal(flock_queue_stats_get(&st, q), 0);
		assert_int_equal(qf_count(), k); /* frozen clock: no more */
		assert_true(st.paused_ms >= d / 2 && st.paused_ms <= d);
		assert_int_equal(st.queued, 1);
		qf_advance(st.paused_ms);
	}
	qf_set_answer(QF_OK);
	assert_int_equal(qf_drive(q, 100, 200), 0);
	assert_int_equal(qf_count(), 5);
	for (i = 1; i < 5; i++) {
		assert_string_equal(qf.req[i].key, qf.req[0].key);
		assert_string_equal(qf.req[i].body, qf.req[0].body);
	}
	assert_int_equal(qf.rep[0].outcome, FLOCK_QUEUE_SENT);
	assert_int_equal(qf.rep[0].attempts, 5);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.retries, 4);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static void test_retry_after_pauses_queue(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	unsigned long long one = 1, two = 2;
	flock_queue *q;

	(void)state;
	qf.retry_after = "30"; /* beyond backoff_max_ms: still honoured */
	qf_set_answer(QF_503_AFTER);
	q = new_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 1, NULL), 0);
	assert_int_equal(qf_wait_stats(q, qf_retries_settled, &one), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.paused_ms, 30000);
	qf.retry_after = "7";
	qf_set_answer(QF_429_AFTER);
	/* Another customer's event waits too: the pause is queue-wide. */
	assert_int_equal(qf_ingest(q, "u2", 2, NULL), 0);
	assert_int_equal(flock_queue_flush(q, 0), FLOCK_ETIMEOUT);
	qf_advance(30000);
	assert_int_equal(qf_wait_stats(q, qf_retries_settled, &two), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.paused_ms, 7000);
	assert_int_equal(qf.req[1].t - qf.req[0].t, 30000);
	qf_set_answer(QF_OK);
	qf_advance(7000);
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	assert_int_equal(qf_reports(), 2);
	assert_int_equal(qf.rep[0].outcome, FLOCK_QUEUE_SENT);
	assert_int_equal(qf.rep[1].outcome, FLOCK_QUEUE_SENT);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

/* A 500 concerns one event: it backs off alone, others go on. */
static qf_answer first_two_of_u1_fail(size_t n, const qf_req *r, void *ud)
{
	int *seen = ud;

	(void)n;
	if (strcmp(r->customer, "u1") == 0 && (*seen)++ < 2)
		return QF_500;
	return QF_OK;
}

static int sent_one(const flock_queue_stats *st, void *ud)
{
	(void)ud;
	return st->sent >= 1;
}

static void test_server_error_backs_off_one_event(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	unsigned long long one = 1;
	flock_queue *q;
	int seen = 0;

	(void)state;
	qf.decide = first_two_of_u1_fail;
	qf.ud = &seen;
	q = new_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 1, NULL), 0);
	assert_int_equal(qf_wait_stats(q, qf_retries_settled, &one), 0);
	assert_int_equal(qf_ingest(q, "u1", 2, NULL), 0);
	assert_int_equal(qf_ingest(q, "u2", 3, NULL), 0);
	/* u2 goes with the clock frozen; u1's second waits behind its first. */
	assert_int_equal(qf_wait_stats(q, sent_one, NULL), 0);
	assert_int_equal(flock_queue_flush(q, 0), FLOCK_ETIMEOUT);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.paused_ms, 0);
	assert_int_equal(st.sent, 1);
	assert_int_equal(qf_count(), 2);
	assert_string_equal(qf.req[1].customer, "u2");
	assert_int_equal(qf_drive(q, 50, 400), 0);
	assert_int_equal(qf_count(), 5);
	assert_int_equal(qf_body_n(&qf.req[2]), 1);
	assert_int_equal(qf_body_n(&qf.req[3]), 1);
	assert_int_equal(qf_body_n(&qf.req[4]), 2);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

/* A 400 is reported once, with its detail, and never sent again. */
static qf_answer refuse_n_is_1(size_t n, const qf_req *r, void *ud)
{
	(void)n;
	(void)ud;
	return strstr(r->body ? r->body : "", "\"n\":1}") ? QF_400 : QF_OK;
}

static void test_permanent_error_reported_once(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;
	size_t i, failed = 0, tries = 0;

	(void)state;
	qf.decide = refuse_n_is_1;
	q = new_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 1, "bad-1"), 0);
	assert_int_equal(qf_ingest(q, "u1", 2, "good-2"), 0);
	/* The queue is empty once flushed: nothing is left to retry. */
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	for (i = 0; i < qf_count(); i++)
		tries += strcmp(qf.req[i].key, "bad-1") == 0;
	for (i = 0; i < qf_reports(); i++) {
		if (qf.rep[i].outcome != FLOCK_QUEUE_FAILED)
			continue;
		failed++;
		assert_string_equal(qf.rep[i].key, "bad-1");
		assert_int_equal(qf.rep[i].code, FLOCK_EREQUEST);
		assert_int_equal(qf.rep[i].http_status, 400);
		assert_string_equal(qf.rep[i].server_code, "missing_field");
	}
	assert_int_equal(tries, 1);
	assert_int_equal(failed, 1);
	assert_int_equal(qf_reports(), 2);
	assert_string_equal(qf.rep[1].key, "good-2"); /* in order, after */
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.retries, 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

/*
 * Order per customer with 4 senders and random failures (real time, tiny
 * back-off): each customer's events succeed in the order queued, each
 * once, and never two of one customer at once.
 */
#define ORDER_CUSTOMERS 5
#define ORDER_EVENTS 20

typedef struct {
	pthread_mutex_t mu;
	int inflight[ORDER_CUSTOMERS];
	unsigned int seed;
} order_state;

static order_state ORD = {PTHREAD_MUTEX_INITIALIZER, {0}, 12345};

static int order_send(void *ud, const flock_http_request *req,
                      flock_http_response *resp)
{
	json_t *j = json_loadb(req->body, req->body_len, 0, NULL);
	const char *cust =
	        json_string_value(json_object_get(j, "externalUserId"));
	int c = cust ? cust[1] - '0' : 0, r, over;

	pthread_mutex_lock(&ORD.mu);
	over = ++ORD.inflight[c] > 1;
	r = (int)(rand_r(&ORD.seed) % 10);
	pthread_mutex_unlock(&ORD.mu);
	json_decref(j);
	qf_sleep_ms(1);
	pthread_mutex_lock(&ORD.mu);
	ORD.inflight[c]--;
	if (over)
		qf.overlap = 1;
	pthread_mutex_unlock(&ORD.mu);
	if (r < 2)
		return FLOCK_ENETWORK;
	if (r < 3) {
		flock_http_response_set_status(resp, 500);
		return 0;
	}
	return qf_send(ud, req, resp);
}

static void test_order_per_customer(void **state)
{
	flock_client_options co = FLOCK_CLIENT_OPTIONS_INIT;
	flock_transport t = {FLOCK_TRANSPORT_VERSION, NULL, order_send, NULL};
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;
	flock_client *c = NULL;
	flock_queue *q = NULL;
	int next[ORDER_CUSTOMERS] = {0}, i, k;
	char cust[8];
	size_t r;

	(void)state;
	co.access_key = "sk_test_key";
	co.base_url = "http://flock.test";
	co.transport = &t;
	assert_int_equal(flock_client_new(&c, &co), 0);
	o.sender_threads = 4;
	o.batch_size = 3;
	o.backoff_base_ms = 1;
	o.backoff_max_ms = 4;
	o.report_cb = qf_report;
	assert_int_equal(flock_queue_new(&q, c, &o), 0);
	for (i = 0; i < ORDER_EVENTS; i++) {
		for (k = 0; k < ORDER_CUSTOMERS; k++) {
			snprintf(cust, sizeof(cust), "c%d", k);
			assert_int_equal(qf_ingest(q, cust, i, NULL), 0);
		}
	}
	assert_int_equal(flock_queue_flush(q, 60000), 0);
	/* qf recorded only the attempts that got their 201. */
	assert_int_equal(qf_count(), ORDER_CUSTOMERS * ORDER_EVENTS);
	for (r = 0; r < qf_count(); r++) {
		k = qf.req[r].customer[1] - '0';
		assert_int_equal(qf_body_n(&qf.req[r]), next[k]);
		next[k]++;
	}
	assert_false(qf.overlap);
	assert_int_equal(qf_reports(), ORDER_CUSTOMERS * ORDER_EVENTS);
	assert_int_equal(flock_queue_free(q, 1000), 0);
	flock_client_free(c);
}

/* Down, paused, the first attempt over: nothing is in flight after. */
static flock_queue *paused_queue(flock_queue_options *o)
{
	unsigned long long one = 1;
	flock_queue *q;

	qf_set_answer(QF_DOWN);
	q = new_queue(o);
	assert_int_equal(qf_ingest(q, "u0", 0, "key-0"), 0);
	assert_int_equal(qf_wait_stats(q, qf_retries_settled, &one), 0);
	return q;
}

static void test_full_refuse(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;
	char big[600];

	(void)state;
	o.max_events = 3;
	o.max_bytes = 500;
	q = paused_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 1, "key-1"), 0);
	assert_int_equal(qf_ingest(q, "u2", 2, "key-2"), 0);
	assert_int_equal(qf_ingest(q, "u3", 3, "key-3"), FLOCK_EFULL);
	assert_non_null(strstr(flock_error_last()->message, "queue full"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(qf_ingest(q, big, 4, "key-4"), FLOCK_EFULL);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.dropped, 0);
	qf_set_answer(QF_OK);
	assert_int_equal(qf_drive(q, 200, 100), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.sent, 3);
	assert_int_equal(qf_reports(), 3);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static void test_full_drop_oldest(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;
	char key[16];
	int i;

	(void)state;
	o.max_events = 3;
	o.full_policy = FLOCK_QUEUE_FULL_DROP_OLDEST;
	q = paused_queue(&o);
	for (i = 1; i <= 4; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		assert_int_equal(qf_ingest(q, "u1", i, key), 0);
	}
	/* key-0 and key-1 made room, reported on this thread already. */
	assert_int_equal(qf_reports(), 2);
	assert_string_equal(qf.rep[0].key, "key-0");
	assert_int_equal(qf.rep[0].outcome, FLOCK_QUEUE_DROPPED);
	assert_int_equal(qf.rep[0].code, FLOCK_EFULL);
	assert_int_equal(qf.rep[0].attempts, 1);
	assert_string_equal(qf.rep[1].key, "key-1");
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.queued, 3);
	qf_set_answer(QF_OK);
	assert_int_equal(qf_drive(q, 200, 100), 0);
	assert_int_equal(qf_reports(), 5);
	for (i = 2; i <= 4; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		assert_string_equal(qf.rep[i].key, key);
		assert_int_equal(qf.rep[i].outcome, FLOCK_QUEUE_SENT);
	}
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static void test_max_age_expires(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;

	(void)state;
	o.max_age_ms = 60000;
	q = paused_queue(&o);
	qf_advance(30000);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.oldest_age_ms, 30000);
	qf_advance(30000);
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	assert_int_equal(qf_reports(), 1);
	assert_int_equal(qf.rep[0].outcome, FLOCK_QUEUE_EXPIRED);
	assert_int_equal(qf.rep[0].code, FLOCK_ENETWORK);
	assert_true(qf.rep[0].age_ms >= 60000);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.oldest_age_ms, 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static int wait_reports(size_t n)
{
	int i;

	for (i = 0; i < 2000 && qf_reports() < n; i++)
		qf_sleep_ms(5);
	return qf_reports() >= n ? 0 : -1;
}

/*
 * flush_interval_ms: a full batch goes at once (the clock frozen), a lone
 * event only once it has waited the interval (its age when sent).
 */
static void test_flush_interval(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue *q;
	char cust[8];
	int i;

	(void)state;
	o.flush_interval_ms = 1000;
	o.batch_size = 4;
	o.sender_threads = 1;
	q = new_queue(&o);
	for (i = 0; i < 4; i++) {
		snprintf(cust, sizeof(cust), "u%d", i);
		assert_int_equal(qf_ingest(q, cust, i, NULL), 0);
	}
	assert_int_equal(wait_reports(4), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(qf.rep[i].age_ms, 0);
	assert_int_equal(qf_ingest(q, "u9", 9, NULL), 0);
	for (i = 0; i < 2000 && qf_reports() < 5; i++) {
		qf_advance(50);
		qf_sleep_ms(5);
	}
	assert_int_equal(qf_reports(), 5);
	assert_true(qf.rep[4].age_ms >= 1000);
	/* flush() does not wait for the interval. */
	assert_int_equal(qf_ingest(q, "u3", 10, NULL), 0);
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	assert_int_equal(qf.rep[5].age_ms, 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static void test_flush_timeout_and_free_unsent(void **state)
{
	flock_queue_options o = qf_options();
	flock_queue *q;

	(void)state;
	q = paused_queue(&o);
	assert_int_equal(qf_ingest(q, "u1", 1, "key-1"), 0);
	assert_int_equal(flock_queue_flush(q, 0), FLOCK_ETIMEOUT);
	assert_int_equal(flock_queue_flush(q, 30), FLOCK_ETIMEOUT);
	assert_int_equal(flock_queue_free(q, 0), FLOCK_ETIMEOUT);
	assert_int_equal(qf_reports(), 2);
	assert_int_equal(qf.rep[0].outcome, FLOCK_QUEUE_UNSENT);
	assert_int_equal(qf.rep[0].code, FLOCK_ENETWORK);
	assert_int_equal(qf.rep[1].outcome, FLOCK_QUEUE_UNSENT);
	assert_int_equal(qf.rep[1].code, FLOCK_ETIMEOUT);
}

/* The callback may enqueue and read stats, but not flush. */
static flock_queue *CB_Q;
static int cb_flush_rc = 1, cb_stats_rc = 1, cb_enqueue_rc = 1;

static void reentrant_report(const flock_queue_report *r, void *ud)
{
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;

	qf_report(r, ud);
	if (strcmp(r->idempotency_key, "first") != 0)
		return;
	cb_flush_rc = flock_queue_flush(CB_Q, 100);
	cb_stats_rc = flock_queue_stats_get(&st, CB_Q);
	cb_enqueue_rc = qf_ingest(CB_Q, "u1", 2, "second");
}

static void test_callback_reentry(void **state)
{
	flock_queue_options o = qf_options();

	(void)state;
	o.report_cb = reentrant_report;
	CB_Q = new_queue(&o);
	assert_int_equal(qf_ingest(CB_Q, "u1", 1, "first"), 0);
	assert_int_equal(qf_wait_requests(2), 0);
	assert_int_equal(flock_queue_flush(CB_Q, 10000), 0);
	assert_int_equal(cb_flush_rc, FLOCK_EINVAL);
	assert_int_equal(cb_stats_rc, 0);
	assert_int_equal(cb_enqueue_rc, 0);
	assert_int_equal(qf_reports(), 2);
	assert_int_equal(flock_queue_free(CB_Q, 1000), 0);
}

/*
 * fork(): the child's copy refuses every call and sends nothing (its
 * transport would write "X" to the pipe); the parent's events go on as
 * before. It all runs in a throwaway process (the "parent" here), which
 * reports a verdict letter through a pipe. Both processes end by exec:
 * valgrind would otherwise check the leaks of a process whose threads
 * fork() left behind (their thread-local memory, lost by design).
 */
static void vanish(void)
{
	execl("/bin/true", "true", (char *)NULL);
	_exit(0);
}

static int fork_pipe[2] = {-1, -1};
static pid_t fork_parent;

static int fork_send(void *ud, const flock_http_request *req,
                     flock_http_response *resp)
{
	if (getpid() != fork_parent) {
		ssize_t n = write(fork_pipe[1], "X", 1);
		(void)n;
	}
	return qf_send(ud, req, resp);
}

/* In the grandchild: every call on the inherited queue is refused. */
static char fork_child_calls(flock_queue *q)
{
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;

	qf_set_answer(QF_OK);
	qf_advance(3600000);
	if (qf_ingest(q, "u2", 2, "child-2") != FLOCK_EFORKED)
		return 'i';
	if (flock_queue_flush(q, 50) != FLOCK_EFORKED)
		return 'f';
	if (flock_queue_stats_get(&st, q) != FLOCK_EFORKED)
		return 's';
	return flock_queue_free(q, 100) == 0 ? 'K' : 'r';
}

static char fork_scenario(void)
{
	flock_client_options co = FLOCK_CLIENT_OPTIONS_INIT;
	flock_transport t = {FLOCK_TRANSPORT_VERSION, NULL, fork_send, NULL};
	flock_queue_options o = qf_options();
	unsigned long long one = 1;
	flock_client *c = NULL;
	flock_queue *q = NULL;
	char v = '?', buf[8];
	int status;
	pid_t pid;

	fork_parent = getpid();
	co.access_key = "sk_test_key";
	co.base_url = "http://flock.test";
	co.transport = &t;
	qf_set_answer(QF_DOWN);
	if (pipe(fork_pipe) != 0 || flock_client_new(&c, &co) != 0 ||
	    flock_queue_new(&q, c, &o) != 0 ||
	    qf_ingest(q, "u1", 1, "parent-1") != 0 ||
	    qf_wait_stats(q, qf_retries_settled, &one) != 0)
		return 'a';
	if ((pid = fork()) < 0)
		return 'b';
	if (pid == 0) {
		ssize_t n;

		buf[0] = fork_child_calls(q);
		n = write(fork_pipe[1], buf, 1);
		(void)n;
		vanish();
	}
	if (waitpid(pid, &status, 0) != pid)
		return 'c';
	close(fork_pipe[1]);
	/* "K" from the child, and no "X": it sent nothing. */
	if (read(fork_pipe[0], buf, sizeof(buf)) != 1)
		return 'd';
	if (buf[0] != 'K')
		return buf[0];
	qf_set_answer(QF_OK);
	if (qf_drive(q, 200, 100) != 0 || qf_reports() != 1 ||
	    strcmp(qf.rep[0].key, "parent-1") != 0 ||
	    qf.rep[0].outcome != FLOCK_QUEUE_SENT)
		return 'e';
	v = flock_queue_free(q, 1000) == 0 ? 'K' : 'g';
	flock_client_free(c);
	return v;
}

static void test_fork_child_does_not_send(void **state)
{
	int verdict[2], status;
	char v = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(verdict), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ssize_t n;

		v = fork_scenario();
		n = write(verdict[1], &v, 1);
		(void)n;
		vanish();
	}
	close(verdict[1]);
	assert_int_equal(read(verdict[0], &v, 1), 1);
	close(verdict[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (v != 'K')
		fail_msg("fork scenario failed at step '%c'", v);
}

/* 8 threads enqueueing at once; every event is sent exactly once. */
#define MT_THREADS 8
#define MT_EVENTS 40

static void *mt_enqueue(void *arg)
{
	flock_queue *q = ((void **)arg)[0];
	int t = (int)(long)((void **)arg)[1], i, rc = 0;
	char cust[16];

	for (i = 0; i < MT_EVENTS && rc == 0; i++) {
		snprintf(cust, sizeof(cust), "t%d-c%d", t, i % 3);
		rc = qf_ingest(q, cust, t * 1000 + i, NULL);
	}
	return (void *)(long)rc;
}

static void test_threads_enqueue(void **state)
{
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	pthread_t th[MT_THREADS];
	void *args[MT_THREADS][2], *ret;
	static char seen[MT_THREADS][MT_EVENTS];
	flock_queue *q;
	size_t i;
	int t, n;

	(void)state;
	o.sender_threads = 4;
	o.report_cb = qf_report;
	q = new_queue(&o);
	for (t = 0; t < MT_THREADS; t++) {
		args[t][0] = q;
		args[t][1] = (void *)(long)t;
		assert_int_equal(pthread_create(&th[t], NULL, mt_enqueue,
		                                args[t]),
		                 0);
	}
	for (t = 0; t < MT_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(flock_queue_flush(q, 60000), 0);
	assert_int_equal(qf_count(), MT_THREADS * MT_EVENTS);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < qf_count(); i++) {
		n = qf_body_n(&qf.req[i]);
		assert_false(seen[n / 1000][n % 1000]);
		seen[n / 1000][n % 1000] = 1;
	}
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.sent, MT_THREADS * MT_EVENTS);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_arguments, each),
	        cmocka_unit_test_setup(test_sends_each_call_with_its_key, each),
	        cmocka_unit_test_setup(test_outage_backoff_same_key, each),
	        cmocka_unit_test_setup(test_retry_after_pauses_queue, each),
	        cmocka_unit_test_setup(test_server_error_backs_off_one_event,
	                               each),
	        cmocka_unit_test_setup(test_permanent_error_reported_once,
	                               each),
	        cmocka_unit_test_setup(test_order_per_customer, each),
	        cmocka_unit_test_setup(test_full_refuse, each),
	        cmocka_unit_test_setup(test_full_drop_oldest, each),
	        cmocka_unit_test_setup(test_max_age_expires, each),
	        cmocka_unit_test_setup(test_flush_interval, each),
	        cmocka_unit_test_setup(test_flush_timeout_and_free_unsent, each),
	        cmocka_unit_test_setup(test_callback_reentry, each),
	        cmocka_unit_test_setup(test_fork_child_does_not_send, each),
	        cmocka_unit_test_setup(test_threads_enqueue, each),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
