/*
 * Webhook retries end to end, on the spec's schedule (5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h): a failed attempt is retried with the same
 * webhook-id after its delay, Retry-After is honoured, 410 kills the
 * delivery and disables the endpoint, an exhausted schedule ends dead,
 * dead deliveries are replayed, and /metrics counts it all. flockd runs
 * with --test-clock: each test moves the clock past a delay instead of
 * waiting for it (harness_webhooks.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flock.h"

#include "harness_webhooks.h"
#include "support.h"

static fd_harness H;
static const char *const SERVE_ARGS[] = {"--test-clock",
                                         "--webhook-allow-private",
                                         "--webhook-timeout",
                                         "2",
                                         "--webhook-lease",
                                         "7",
                                         NULL};

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
	(void)state;
	h_stop(&H);
	return 0;
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
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-retry"));
	rx_wait(&rx, 1);
	/* Recorded, and the retry scheduled: then its 5 s go by. */
	wait_attempts(&H, ep, 1);
	wh_advance(&H, wh_schedule[0] * 1000);
	rx_wait(&rx, 2);
	assert_string_equal(rx.seen[0].id, rx.seen[1].id);
	assert_int_equal(rx_verify(&H, &rx.seen[0], wh_str(ep, "secret"), 1, 1),
	                 0);
	assert_int_equal(rx_verify(&H, &rx.seen[1], wh_str(ep, "secret"), 1, 1),
	                 0);
	/* The schedule says 5 s, on flockd's clock. */
	assert_true(rx_at(&rx.seen[1]) - rx_at(&rx.seen[0]) >=
	            wh_schedule[0] * 1000);
	/* Each attempt is stamped anew: webhook-timestamp and body. */
	assert_true(strtoll(rx.seen[1].ts, NULL, 10) >=
	            strtoll(rx.seen[0].ts, NULL, 10) + wh_schedule[0]);
	json_decref(wait_state(&H, ep, "delivered", 1));
	log = ep_call(&H, "GET", ep, "/attempts", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(log, "total")), 2);
	a0 = json_array_get(json_object_get(log, "data"), 1); /* oldest */
	a1 = json_array_get(json_object_get(log, "data"), 0);
	assert_int_equal(json_integer_value(json_object_get(a0, "status")),
	                 500);
	assert_int_equal(json_integer_value(json_object_get(a0, "attempt")), 1);
	assert_string_equal(wh_str(a0, "responseExcerpt"), "{\"a\":1}");
	assert_true(json_is_integer(json_object_get(a0, "latencyMs")));
	assert_non_null(wh_str(a0, "at"));
	assert_int_equal(json_integer_value(json_object_get(a1, "status")),
	                 200);
	assert_int_equal(json_integer_value(json_object_get(a1, "attempt")), 2);
	json_decref(log);
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* A Retry-After longer than the schedule's next delay is honoured: once
 * the schedule's 5 s have gone by the delivery still waits, and it goes
 * out when the two minutes asked for have. */
static void test_retry_after(void **state)
{
	receiver rx;
	json_t *ep, *page;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.script[0] = 503;
	rx.nscript = 1;
	rx.retry_after = "120";
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-retry-after"));
	rx_wait(&rx, 1);
	wait_attempts(&H, ep, 1);
	wh_advance(&H, wh_schedule[0] * 1000);
	wh_settle(&H);
	assert_int_equal(rx_arrived(&rx), 1);
	page = wait_state(&H, ep, "retrying", 1);
	json_decref(page);
	wh_advance(&H, 120 * 1000 - wh_schedule[0] * 1000);
	rx_wait(&rx, 2);
	assert_true(rx_at(&rx.seen[1]) - rx_at(&rx.seen[0]) >= 120 * 1000);
	assert_string_equal(rx.seen[0].id, rx.seen[1].id);
	ep_off(&H, ep);
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
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-gone-1"));
	rx_wait(&rx, 1);
	page = wait_state(&H, ep, "dead", 1);
	d = json_array_get(json_object_get(page, "data"), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "lastStatus")),
	                 410);
	snprintf(body, sizeof(body), "{\"deliveryId\":\"%s\"}",
	         wh_str(d, "id"));
	json_decref(page);
	got = ep_call(&H, "GET", ep, "", NULL, 200);
	assert_true(json_is_false(json_object_get(got, "enabled")));
	assert_string_equal(wh_str(got, "disabledReason"), "gone");
	assert_null(json_object_get(got, "secret"));
	json_decref(got);

	/* Disabled: a new event waits, undelivered, however many times the
	 * worker looks for due deliveries. */
	json_decref(wh_identify(&H, "wh-gone-2"));
	json_decref(wait_state(&H, ep, "pending", 1));
	wh_settle(&H);
	assert_int_equal(rx_arrived(&rx), 1);
	assert_int_equal(rx_count(&rx), 1);
	json_decref(wait_state(&H, ep, "pending", 1));

	/* Enabled again: the waiting one goes out. */
	got = ep_call(&H, "PATCH", ep, "", "{\"enabled\":true}", 200);
	assert_true(json_is_true(json_object_get(got, "enabled")));
	assert_true(json_is_null(json_object_get(got, "disabledReason")));
	json_decref(got);
	rx_wait(&rx, 2);
	json_decref(wait_state(&H, ep, "delivered", 1));

	/* Replay one, then in bulk (none left dead: 0). */
	res = ep_call(&H, "POST", ep, "/replay", body, 200);
	assert_int_equal(json_integer_value(json_object_get(res, "replayed")),
	                 1);
	json_decref(res);
	rx_wait(&rx, 3);
	assert_string_equal(rx.seen[2].id, rx.seen[0].id);
	json_decref(wait_state(&H, ep, "delivered", 2));
	res = ep_call(&H, "POST", ep, "/replay", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(res, "replayed")),
	                 0);
	json_decref(res);
	json_decref(ep_call(&H, "POST", ep, "/replay",
	                    "{\"deliveryId\":\"dlv_nope\"}", 404));
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Every retry of the schedule answered 500 (the first attempt and seven
 * retries, the clock moved past each delay in turn): dead; a bulk replay
 * sends it once more. */
static void test_dead_bulk_replay(void **state)
{
	receiver rx;
	json_t *ep, *res, *page;
	int i;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	for (i = 0; i <= WH_SCHEDULE_LEN; i++)
		rx.script[i] = 500;
	rx.nscript = WH_SCHEDULE_LEN + 1;
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-dead"));
	for (i = 0; i < WH_SCHEDULE_LEN; i++) {
		wait_attempts(&H, ep, i + 1);
		wh_advance(&H, (int64_t)wh_schedule[i] * 1000);
		rx_wait(&rx, i + 2);
		/* Each retry after its delay, on flockd's clock. */
		assert_true(rx_at(&rx.seen[i + 1]) - rx_at(&rx.seen[i]) >=
		            (int64_t)wh_schedule[i] * 1000);
	}
	page = wait_state(&H, ep, "dead", 1);
	assert_int_equal(
	        json_integer_value(json_object_get(
	                json_array_get(json_object_get(page, "data"), 0),
	                "attempts")),
	        WH_SCHEDULE_LEN + 1);
	json_decref(page);
	assert_int_equal(rx_count(&rx), WH_SCHEDULE_LEN + 1);
	res = ep_call(&H, "POST", ep, "/replay", "{}", 200);
	assert_int_equal(json_integer_value(json_object_get(res, "replayed")),
	                 1);
	json_decref(res);
	rx_wait(&rx, WH_SCHEDULE_LEN + 2);
	assert_string_equal(rx.seen[WH_SCHEDULE_LEN + 1].id, rx.seen[0].id);
	/* Signed for flockd's clock, a day ahead of the real one now. */
	assert_int_equal(rx_verify(&H, &rx.seen[WH_SCHEDULE_LEN + 1],
	                           wh_str(ep, "secret"), 1, 1),
	                 0);
	json_decref(wait_state(&H, ep, "delivered", 1));
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* /metrics shows the delivery counters and the lag gauge; after the tests
 * above, retries and a dead delivery among them. */
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
	assert_non_null(strstr(r.text, "flockd_webhook_worker_passes_total "));
	assert_non_null(strstr(r.text, "flockd_webhook_attempts_in_flight "));
	h_resp_free(&r);
	if (getenv("WEBHOOK_TEST"))
		return; /* run alone: nothing above happened */
	assert_true(h_metric(&H, "flockd_webhook_deliveries_total{result="
	                         "\"dead\"}") >= 2);
	assert_true(h_metric(&H, "flockd_webhook_deliveries_total{result="
	                         "\"retrying\"}") >= 9);
	assert_true(h_metric(&H, "flockd_webhook_worker_passes_total") > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_retry_same_id),
	        cmocka_unit_test(test_retry_after),
	        cmocka_unit_test(test_gone_disables_and_replay),
	        cmocka_unit_test(test_dead_bulk_replay),
	        cmocka_unit_test(test_metrics),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("WEBHOOK_TEST"))
		cmocka_set_test_filter(getenv("WEBHOOK_TEST"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
