/*
 * The retry policy: what is retried, how often, how long it waits
 * (recorded through sleep_cb, so nothing here really sleeps), and the one
 * Idempotency-Key every attempt of a call carries.
 */
#include "support.h"
#include "scripted_transport.h"

#include <string.h>
#include <time.h>

static int64_t flock_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define RESULT "{\"id\":\"evt_1\",\"matched\":false}"

/* A client with its own back-off settings (st_client uses defaults). */
static flock_client *client_with(scripted *st, int retries, long base, long cap,
                                 flock_sleep_cb cb, void *ud)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_transport t = st_transport(st);
	flock_client *c = NULL;

	o.access_key = "sk_test_key";
	o.base_url = "http://flock.test";
	o.transport = &t;
	o.max_retries = retries;
	o.retry_base_ms = base;
	o.retry_cap_ms = cap;
	o.sleep_cb = cb;
	o.sleep_userdata = ud;
	assert_int_equal(flock_client_new(&c, &o), 0);
	return c;
}

static int ingest(flock_client *c)
{
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;

	p.external_user_id = "user_123";
	p.environment = "production";
	return flock_checkpoints_ingest(NULL, c, "purchase", &p);
}

static void same_key_on_every_attempt(scripted *st, size_t n)
{
	const char *key = st_header(st_req(st, 0), "Idempotency-Key");
	size_t i;

	assert_non_null(key);
	for (i = 1; i < n; i++)
		assert_string_equal(st_header(st_req(st, i), "Idempotency-Key"),
		                    key);
}

static void retries_5xx_then_succeeds_with_same_key(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 0); /* the default: 2 retries */
	(void)state;

	st_push(st, 503, "{\"statusCode\":503}", NULL);
	st_push(st, 503, "{\"statusCode\":503}", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_null(flock_error_last());
	assert_int_equal(st_count(st), 3);
	same_key_on_every_attempt(st, 3);
	/* Identical bodies too: the server replays by (key, body). */
	assert_string_equal(st_req(st, 0)->body, st_req(st, 2)->body);
	assert_int_equal(st_sleep_count(st), 2);
	flock_client_free(c);
	st_free(st);
}

static void exhaustion_returns_last_error(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 0);
	const flock_error *e;
	(void)state;

	st_push(st, 503, "{\"message\":\"overloaded\"}", NULL);
	st_push(st, 500, "{\"message\":\"boom\"}", NULL);
	st_push(st, 503,
	        "{\"message\":\"still overloaded\","
	        "\"code\":\"overloaded\"}",
	        "X-Request-Id", "req_3", NULL);
	assert_int_equal(ingest(c), FLOCK_ESERVER);
	e = flock_error_last();
	assert_int_equal(e->retries, 2);
	assert_int_equal(e->http_status, 503);
	assert_string_equal(e->message, "still overloaded");
	assert_string_equal(e->server_code, "overloaded");
	assert_string_equal(e->request_id, "req_3");
	assert_int_equal(st_count(st), 3);
	flock_client_free(c);
	st_free(st);
}

static void other_4xx_not_retried(void **state)
{
	static const int statuses[] = {400, 401, 403, 404, 413, 422};
	scripted *st = st_new();
	flock_client *c = st_client(st, 5);
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		st_push(st, statuses[i], "{}", NULL);
		assert_true(ingest(c) < 0);
		assert_int_equal(flock_error_last()->retries, 0);
		assert_int_equal(st_count(st), i + 1);
	}
	assert_int_equal(st_sleep_count(st), 0);
	flock_client_free(c);
	st_free(st);
}

static void conflict_and_rate_limit_retried(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	(void)state;

	st_push(st, 409, "{\"message\":\"in flight\"}", NULL);
	st_push(st, 429, "{}", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_count(st), 3);
	same_key_on_every_attempt(st, 3);

	st_push(st, 409, "{}", NULL);
	st_push(st, 409, "{}", NULL);
	st_push(st, 409, "{\"message\":\"in flight\"}", NULL);
	assert_int_equal(ingest(c), FLOCK_ECONFLICT);
	assert_int_equal(flock_error_last()->retries, 2);
	flock_client_free(c);
	st_free(st);
}

static void retry_after_seconds_honoured(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	(void)state;

	st_push(st, 429, "{}", "Retry-After", "2", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_sleep_count(st), 1);
	assert_int_equal(st_sleep(st, 0), 2000);

	/* Beyond retry_cap_ms (5 s) but within the 60 s bound: as sent. */
	st_push(st, 503, "{}", "Retry-After", "7", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_sleep(st, 1), 7000);

	st_push(st, 503, "{}", "Retry-After", "0", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_sleep(st, 2), 0);
	flock_client_free(c);
	st_free(st);
}

static void retry_after_http_date(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	time_t when = time(NULL) + 3;
	struct tm tm;
	char date[64];
	(void)state;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	st_push(st, 503, "{}", "Retry-After", date, NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_sleep_count(st), 1);
	/* Whole seconds, and a second may tick between the two clocks. */
	assert_true(st_sleep(st, 0) >= 2000 && st_sleep(st, 0) <= 3000);

	/* A date in the past: retry at once. */
	st_push(st, 503, "{}", "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT",
	        NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_sleep(st, 1), 0);
	flock_client_free(c);
	st_free(st);
}

static void retry_after_beyond_bound_stops(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	(void)state;

	st_push(st, 429, "{\"message\":\"slow down\"}", "Retry-After", "120",
	        NULL);
	assert_int_equal(ingest(c), FLOCK_ERATELIMIT);
	assert_int_equal(flock_error_last()->retries, 0);
	assert_string_equal(flock_error_last()->message, "slow down");
	assert_int_equal(st_count(st), 1);
	assert_int_equal(st_sleep_count(st), 0);

	st_push(st, 503, "{}", "Retry-After", "99999999999999999999", NULL);
	assert_int_equal(ingest(c), FLOCK_ESERVER);
	assert_int_equal(st_count(st), 2);
	flock_client_free(c);
	st_free(st);
}

static void garbage_retry_after_falls_back_to_backoff(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 1);
	(void)state;

	st_push(st, 503, "{}", "Retry-After", "soon", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_true(st_sleep(st, 0) >= 250 && st_sleep(st, 0) <= 500);
	flock_client_free(c);
	st_free(st);
}

static void backoff_grows_within_cap(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 6);
	long d = 500, s;
	size_t i;
	(void)state;

	for (i = 0; i < 7; i++)
		st_push(st, 503, "{}", NULL);
	assert_int_equal(ingest(c), FLOCK_ESERVER);
	assert_int_equal(flock_error_last()->retries, 6);
	assert_int_equal(st_sleep_count(st), 6);
	for (i = 0; i < 6; i++) {
		s = st_sleep(st, i);
		/* Equal jitter: between half and all of min(cap, base*2^i). */
		if (s < d / 2 || s > d)
			fail_msg("delay %zu is %ld ms, not in [%ld, %ld]", i, s,
			         d / 2, d);
		assert_true(s <= 5000);
		d = d * 2 > 5000 ? 5000 : d * 2;
	}
	/* Growth: the last delays are at least the cap's half. */
	assert_true(st_sleep(st, 5) >= 2500);
	assert_true(st_sleep(st, 0) <= 500);
	flock_client_free(c);
	st_free(st);
}

static void custom_base_and_cap(void **state)
{
	scripted *st = st_new();
	flock_client *c;
	int64_t t0;
	(void)state;

	/* With sleep_cb NULL the client really sleeps: keep it short. */
	c = client_with(st, 3, 10, 15, NULL, NULL);
	t0 = flock_test_now_ms();
	st_push(st, 503, "{}", NULL);
	st_push(st, 503, "{}", NULL);
	st_push(st, 503, "{}", NULL);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_count(st), 4);
	/* 5-10, 7-15, 7-15 ms: about 20 to 40 ms in all, never seconds. */
	assert_true(flock_test_now_ms() - t0 >= 19);
	assert_true(flock_test_now_ms() - t0 < 1000);
	flock_client_free(c);
	st_free(st);
}

static void network_and_timeout_retried(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	(void)state;

	st_push_fault(st, FLOCK_ENETWORK);
	st_push_fault(st, FLOCK_ETIMEOUT);
	st_push(st, 201, RESULT, NULL);
	assert_int_equal(ingest(c), 0);
	assert_int_equal(st_count(st), 3);
	same_key_on_every_attempt(st, 3);
	assert_int_equal(st_sleep_count(st), 2);

	st_push_fault(st, FLOCK_ENETWORK);
	st_push_fault(st, FLOCK_ENETWORK);
	st_push_fault(st, FLOCK_ETIMEOUT);
	assert_int_equal(ingest(c), FLOCK_ETIMEOUT);
	assert_int_equal(flock_error_last()->retries, 2);
	assert_int_equal(flock_error_last()->http_status, 0);
	flock_client_free(c);
	st_free(st);
}

static void zero_retries_one_attempt(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, FLOCK_NO_RETRIES);
	(void)state;

	st_push(st, 503, "{}", NULL);
	assert_int_equal(ingest(c), FLOCK_ESERVER);
	assert_int_equal(flock_error_last()->retries, 0);
	st_push_fault(st, FLOCK_ETIMEOUT);
	assert_int_equal(ingest(c), FLOCK_ETIMEOUT);
	assert_int_equal(st_count(st), 2);
	assert_int_equal(st_sleep_count(st), 0);
	flock_client_free(c);
	st_free(st);
}

static void get_retried_without_key(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	flock_campaign_list *l = NULL;
	(void)state;

	st_push(st, 502, "bad gateway", NULL);
	st_push(st, 200, "[]", NULL);
	assert_int_equal(flock_campaigns_list(&l, c), 0);
	assert_int_equal(st_count(st), 2);
	assert_null(st_header(st_req(st, 1), "Idempotency-Key"));
	flock_campaign_list_free(l);
	flock_client_free(c);
	st_free(st);
}

/* The caller's own key is used as is, on every attempt. */
static void caller_key_reused(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	flock_trigger_params p = FLOCK_TRIGGER_PARAMS_INIT;
	flock_reward_ids *ids = NULL;
	(void)state;

	p.external_user_id = "u";
	p.environment = "test";
	p.idempotency_key = "order-42-reward";
	st_push(st, 500, "{}", NULL);
	st_push(st, 201, "[{\"id\":\"rwd_1\"}]", NULL);
	assert_int_equal(flock_rewards_trigger(&ids, c, &p), 0);
	assert_string_equal(st_header(st_req(st, 0), "Idempotency-Key"),
	                    "order-42-reward");
	assert_string_equal(st_header(st_req(st, 1), "Idempotency-Key"),
	                    "order-42-reward");
	flock_reward_ids_free(ids);
	flock_client_free(c);
	st_free(st);
}

/* A bad 2xx body is a fact about the server, not a transient: no retry. */
static void bad_response_not_retried(void **state)
{
	scripted *st = st_new();
	flock_client *c = st_client(st, 2);
	(void)state;

	st_push(st, 201, "not json", NULL);
	assert_int_equal(ingest(c), FLOCK_EBADRESPONSE);
	assert_int_equal(st_count(st), 1);
	flock_client_free(c);
	st_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(retries_5xx_then_succeeds_with_same_key),
	        cmocka_unit_test(exhaustion_returns_last_error),
	        cmocka_unit_test(other_4xx_not_retried),
	        cmocka_unit_test(conflict_and_rate_limit_retried),
	        cmocka_unit_test(retry_after_seconds_honoured),
	        cmocka_unit_test(retry_after_http_date),
	        cmocka_unit_test(retry_after_beyond_bound_stops),
	        cmocka_unit_test(garbage_retry_after_falls_back_to_backoff),
	        cmocka_unit_test(backoff_grows_within_cap),
	        cmocka_unit_test(custom_base_and_cap),
	        cmocka_unit_test(network_and_timeout_retried),
	        cmocka_unit_test(zero_retries_one_attempt),
	        cmocka_unit_test(get_retried_without_key),
	        cmocka_unit_test(caller_key_reused),
	        cmocka_unit_test(bad_response_not_retried),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
