/*
 * flockd's injectable clock (base/clock.h) and the route that moves it in
 * tests, POST /admin/test/clock (flockd serve --test-clock; docs/flockd.md,
 * "Testing with a moved clock"): the manual clock itself, the route's
 * answers with and without the flag, and a reward's hold period run out
 * over HTTP without waiting for it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "common/ids.h"
#include "harness.h"
#include "support.h"

#define DAY_MS (86400LL * 1000)

/* ---- the clock ---------------------------------------------------------- */

static void count_call(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

static void test_real_clock_does_not_move(void **state)
{
	fd_clock *real = fd_clock_real();
	int64_t t0 = flock__now_ms();
	int calls = 0;

	(void)state;
	assert_false(fd_clock_is_manual(real));
	assert_int_equal(fd_clock_advance(real, 1000), -1);
	assert_true(fd_clock_now(real) >= t0);
	assert_true(fd_clock_now(real) < t0 + 60000);
	assert_true(fd_clock_now(NULL) >= t0);
	/* Listening on the real clock is a no-op that succeeds. */
	assert_int_equal(fd_clock_listen(real, count_call, &calls), 0);
	fd_clock_unlisten(real, count_call, &calls);
	fd_clock_free(real); /* ignored */
	fd_clock_free(NULL);
}

static void test_manual_clock(void **state)
{
	fd_clock *c = NULL;
	int64_t t0, t1;
	int calls = 0, other = 0, i;

	(void)state;
	assert_int_equal(fd_clock_new_manual(&c), 0);
	assert_true(fd_clock_is_manual(c));
	/* At real time until moved, and real time still passes. */
	t0 = fd_clock_now(c);
	assert_true(t0 >= flock__now_ms() - 1000 && t0 <= flock__now_ms());
	assert_int_equal(fd_clock_listen(c, count_call, &calls), 0);
	assert_int_equal(fd_clock_advance(c, 14 * DAY_MS), 0);
	t1 = fd_clock_now(c);
	assert_true(t1 >= t0 + 14 * DAY_MS);
	assert_true(t1 < flock__now_ms() + 14 * DAY_MS + 1000);
	assert_int_equal(calls, 1);
	/* Forward only. */
	assert_int_equal(fd_clock_advance(c, 0), -1);
	assert_int_equal(fd_clock_advance(c, -1), -1);
	assert_true(fd_clock_now(c) >= t1);
	assert_int_equal(calls, 1);
	/* Every listener is called; an unlistened one no more. */
	assert_int_equal(fd_clock_listen(c, count_call, &other), 0);
	assert_int_equal(fd_clock_advance(c, 1), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(other, 1);
	fd_clock_unlisten(c, count_call, &calls);
	assert_int_equal(fd_clock_advance(c, 1), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(other, 2);
	/* Eight listeners at most. */
	for (i = 0; i < 7; i++)
		assert_int_equal(fd_clock_listen(c, count_call, &calls), 0);
	assert_int_equal(fd_clock_listen(c, count_call, &calls), -1);
	fd_clock_free(c);
}

/* ---- the route ---------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int post_clock(fd_harness *h, const char *key, const char *body,
                      h_resp *r)
{
	return h_call(h, r, "POST", "/admin/test/clock", key, body, NULL);
}

/* Without --test-clock the route does not exist, whoever asks. */
static void test_route_absent_without_flag(void **state)
{
	fd_harness h;
	h_resp r;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(h_start(&h), 0);
	post_clock(&h, h.admin_token, "{\"advanceMs\":1000}", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(str(r.json, "code"), "not_found");
	h_resp_free(&r);
	post_clock(&h, NULL, "{\"advanceMs\":1000}", &r);
	assert_int_equal(r.status, 404);
	h_resp_free(&r);
	h_call(&h, &r, "GET", "/admin/test/clock", h.admin_token, NULL, NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(str(r.json, "code"), "not_found");
	h_resp_free(&r);
	/* The harness refuses to move a clock that cannot move. */
	assert_int_equal(h_clock_advance(&h, 1000), -1);
	assert_int_equal(h.clock_offset_ms, 0);
	h_stop(&h);
}

/* With it: an admin route like the others (401, 403, 400, 405), and it
 * moves the clock. FLOCKD_TEST_CLOCK=1 does the same as the flag. */
static void test_route_moves_the_clock(void **state)
{
	fd_harness h;
	h_resp r;
	int64_t before, now, iso;

	(void)state;
	memset(&h, 0, sizeof(h));
	setenv("FLOCKD_TEST_CLOCK", "1", 1);
	assert_int_equal(h_start(&h), 0);
	unsetenv("FLOCKD_TEST_CLOCK");
	post_clock(&h, NULL, "{\"advanceMs\":1000}", &r);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	post_clock(&h, h.service_key, "{\"advanceMs\":1000}", &r);
	assert_int_equal(r.status, 403);
	h_resp_free(&r);
	post_clock(&h, h.public_key, "{\"advanceMs\":1000}", &r);
	assert_int_equal(r.status, 403);
	h_resp_free(&r);
	post_clock(&h, h.admin_token, "{\"advanceMs\":-1}", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(str(r.json, "code"), "invalid_field");
	h_resp_free(&r);
	post_clock(&h, h.admin_token, "{\"advanceMs\":\"5\"}", &r);
	assert_int_equal(r.status, 400);
	h_resp_free(&r);
	post_clock(&h, h.admin_token, "{}", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(str(r.json, "code"), "missing_field");
	h_resp_free(&r);
	h_call(&h, &r, "GET", "/admin/test/clock", h.admin_token, NULL, NULL);
	assert_int_equal(r.status, 405);
	h_resp_free(&r);

	/* 0 reads it: real time. */
	before = flock__now_ms();
	post_clock(&h, h.admin_token, "{\"advanceMs\":0}", &r);
	assert_int_equal(r.status, 200);
	now = (int64_t)json_integer_value(json_object_get(r.json, "nowMs"));
	assert_true(now >= before - 1000 && now <= flock__now_ms() + 1000);
	h_resp_free(&r);
	/* An hour later, at once; "now" is the same time in ISO 8601. */
	post_clock(&h, h.admin_token, "{\"advanceMs\":3600000}", &r);
	assert_int_equal(r.status, 200);
	now = (int64_t)json_integer_value(json_object_get(r.json, "nowMs"));
	assert_true(now >= before + 3600000);
	assert_true(now <= flock__now_ms() + 3600000 + 1000);
	assert_int_equal(flock__parse_iso8601(&iso, str(r.json, "now")), 0);
	assert_true(iso == now);
	h_resp_free(&r);
	/* The harness keeps the offset, and a restarted flockd goes on from
	 * there instead of going back to real time. */
	h.clock_offset_ms = 3600000;
	now = h_clock_advance(&h, 1000);
	assert_true(now >= before + 3601000);
	assert_int_equal(h.clock_offset_ms, 3601000);
	h_kill(&h, SIGTERM);
	setenv("FLOCKD_TEST_CLOCK", "1", 1);
	assert_int_equal(h_serve(&h), 0);
	unsetenv("FLOCKD_TEST_CLOCK");
	assert_true(h_clock_advance(&h, 0) >= flock__now_ms() + 3600000);
	h_stop(&h);
}

/* ---- a time-based rule over HTTP ---------------------------------------- */

static fd_harness H;

static int setup_clock(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--test-clock";
	return h_start(&H);
}

static int teardown_clock(void **state)
{
	(void)state;
	h_stop(&H);
	return 0;
}

/* alice refers bob in a live campaign holding rewards `hold` days; bob's
 * purchase grants both rewards, pending. */
static void grant_held(int hold)
{
	char campaign[64];
	h_resp c, r;
	json_t *rw;
	size_t i;

	assert_int_equal(h_live_campaign(&H, "production", hold, 0, campaign,
	                                 sizeof(campaign)),
	                 0);
	h_callf(&H, &c, "POST", "/customers/identify", H.service_key,
	        "{s:s,s:s}", "externalUserId", "alice", "email",
	        "alice@example.com");
	assert_int_equal(c.status, 201);
	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode",
	        str(c.json, "referralCode"), "refereeExternalUserId", "bob");
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_resp_free(&c);
	h_callf(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
	        "{s:s,s:s,s:s}", "checkpointName", "purchase_completed",
	        "externalUserId", "bob", "environment", "production");
	assert_int_equal(r.status, 201);
	assert_int_equal(json_array_size(json_object_get(r.json, "rewards")),
	                 2);
	json_array_foreach(json_object_get(r.json, "rewards"), i, rw)
	        assert_string_equal(str(rw, "status"), "pending");
	h_resp_free(&r);
}

/* The admin list's total for a query ("/rewards?status=approved"). */
static long admin_total(const char *suffix)
{
	char path[256];
	h_resp r;
	long n;

	h_call(&H, &r, "GET", h_admin_path(&H, path, sizeof(path), suffix),
	       H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	n = (long)json_integer_value(json_object_get(r.json, "total"));
	h_resp_free(&r);
	return n;
}

/* Seven days' hold: still pending a minute before they end; once the
 * clock is past them the writer promotes both rewards (reward.approved
 * each) and they read approved. */
static void test_hold_period_runs_out(void **state)
{
	int64_t end;

	(void)state;
	grant_held(7);
	assert_true(h_clock_advance(&H, 7 * DAY_MS - 60000) > 0);
	assert_int_equal(admin_total("/rewards?status=pending"), 2);
	assert_int_equal(admin_total("/events?name=reward.approved"), 0);
	assert_true(h_clock_advance(&H, 61000) > 0);
	end = flock__mono_ms() + 30000;
	while (admin_total("/events?name=reward.approved") < 2 &&
	       flock__mono_ms() < end) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(admin_total("/events?name=reward.approved"), 2);
	assert_int_equal(admin_total("/rewards?status=approved"), 2);
	assert_int_equal(admin_total("/rewards?status=pending"), 0);
	/* An empty filter is no filter (a form's blank field). */
	assert_int_equal(admin_total("/rewards?status="), 2);
	assert_int_equal(admin_total("/events?name="), admin_total("/events"));
}

/* WAITS FOR THE STORE'S CLOCK. Once the hold has run out a reward reads
 * approved at once, before the writer's housekeeping has promoted it:
 * the status is computed from the store's "now", which must be the
 * clock's. Today the store reads the real clock, so this read is
 * "pending" until the promotion lands. */
static void test_hold_read_approved_before_promotion(void **state)
{
	(void)state;
	grant_held(7);
	assert_true(h_clock_advance(&H, 7 * DAY_MS + 1000) > 0);
	assert_int_equal(admin_total("/rewards?status=approved"), 2);
	assert_int_equal(admin_total("/rewards?status=pending"), 0);
}

#define T(name)                                                                \
	cmocka_unit_test_setup_teardown(name, setup_clock, teardown_clock)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_real_clock_does_not_move),
	        cmocka_unit_test(test_manual_clock),
	        cmocka_unit_test(test_route_absent_without_flag),
	        cmocka_unit_test(test_route_moves_the_clock),
	        T(test_hold_period_runs_out),
	        T(test_hold_read_approved_before_promotion),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
