/*
 * Webhook delivery end to end, what a product sees: events arrive at
 * examples/webhook_receiver and verify there, forgeries are refused, a
 * rotated secret signs beside the new one until its grace ends, and
 * /metrics counts it all. Helpers and receivers: harness_webhooks.h.
 *
 * flockd runs with --test-clock, --webhook-allow-private (the receivers
 * are on loopback) and the spec's retry schedule. The tests that use the
 * example receiver (which checks timestamps against the real clock) run
 * first, before test_rotation moves the clock an hour ahead.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flock.h"

#include "common/ids.h"
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
	ex_stop_all();
	h_stop(&H);
	return 0;
}

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
	x.port = wh_free_port();
	ep = wh_endpoint(&H, x.port,
	                 "[\"invitee.accepted\",\"reward.created\"]");
	ex_start(&H, &x, wh_str(ep, "secret"), x.port);
	assert_int_equal(h_live_campaign(&H, "production", 0, 0, campaign,
	                                 sizeof(campaign)),
	                 0);
	alice = wh_identify(&H, "wh-alice");
	bob = wh_identify(&H, "wh-bob");
	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode",
	        wh_str(alice, "referralCode"), "refereeExternalUserId",
	        "wh-bob");
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
		if (strcmp(wh_str(e, "name"), "invitee.accepted"))
			continue;
		data = json_object_get(e, "data");
		assert_string_equal(
		        wh_str(json_object_get(data, "invitee"), "id"),
		        wh_str(bob, "id"));
		assert_string_equal(
		        wh_str(json_object_get(data, "referrer"), "id"),
		        wh_str(alice, "id"));
		assert_string_equal(
		        wh_str(json_object_get(data, "campaign"), "id"),
		        campaign);
		assert_string_equal(wh_str(e, "environment"), "production");
		found++;
	}
	assert_int_equal(found, 1);
	/* Subscribed to two events only: the customers' own did not come. */
	assert_int_equal(wh_count_named(ev, "customer.created"), 0);
	json_decref(ev);
	ev = wait_state(&H, ep, "delivered", 3);
	json_decref(ev);
	ex_stop(&x);
	ep_off(&H, ep);
	json_decref(alice);
	json_decref(bob);
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
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-forge"));
	rx_wait(&rx, 1);
	ex_start(&H, &x, wh_str(ep, "secret"), 0);
	ex_start(&H, &wrong,
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
	secrets[0] = wh_str(ep, "secret");
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
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Rotation: during the grace the old secret still verifies (Standard
 * Webhooks carries both signatures; X-Flock-Signature the new one); after
 * it, only the new one does. The grace is an hour: the clock is moved to
 * just before its end, then past it. */
static void test_rotation(void **state)
{
	receiver rx;
	json_t *ep, *rot;
	char old[64], new_[64];
	int64_t rotated, expires;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	snprintf(old, sizeof(old), "%s", wh_str(ep, "secret"));
	rotated = h_clock_advance(&H, 0);
	rot = ep_call(&H, "POST", ep, "/rotate-secret",
	              "{\"graceSeconds\":3600}", 200);
	snprintf(new_, sizeof(new_), "%s", wh_str(rot, "secret"));
	assert_string_not_equal(old, new_);
	assert_non_null(wh_str(rot, "previousSecretExpiresAt"));
	/* An hour from the rotation, on flockd's clock. */
	assert_int_equal(
	        flock__parse_iso8601(&expires,
	                             wh_str(rot, "previousSecretExpiresAt")),
	        0);
	assert_true(expires >= rotated + 3600 * 1000);
	assert_true(expires < h_clock_now(&H) + 3600 * 1000 + 1000);
	json_decref(rot);

	json_decref(wh_identify(&H, "wh-rot-1"));
	rx_wait(&rx, 1);
	assert_non_null(strchr(rx.seen[0].sig, ' ')); /* two v1 items */
	assert_int_equal(rx_verify(&H, &rx.seen[0], new_, 1, 1), 0);
	assert_int_equal(rx_verify(&H, &rx.seen[0], old, 0, 1), 0);
	assert_int_equal(rx_verify(&H, &rx.seen[0], old, 1, 0),
	                 FLOCK_ESIG_MISMATCH);
	json_decref(wait_state(&H, ep, "delivered", 1));

	/* A minute before the grace ends: still both. */
	wh_advance(&H, expires - 60 * 1000 - h_clock_advance(&H, 0));
	json_decref(wh_identify(&H, "wh-rot-late"));
	rx_wait(&rx, 2);
	assert_non_null(strchr(rx.seen[1].sig, ' '));
	assert_int_equal(rx_verify(&H, &rx.seen[1], old, 0, 1), 0);
	json_decref(wait_state(&H, ep, "delivered", 2));

	/* The grace ends. */
	wh_advance(&H, 61 * 1000);
	json_decref(wh_identify(&H, "wh-rot-2"));
	rx_wait(&rx, 3);
	assert_null(strchr(rx.seen[2].sig, ' '));
	assert_int_equal(rx_verify(&H, &rx.seen[2], new_, 1, 1), 0);
	assert_int_equal(rx_verify(&H, &rx.seen[2], old, 0, 1),
	                 FLOCK_ESIG_MISMATCH);
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

int main(void)
{
	/* In this order: the example receiver's tests before the clock
	 * moves (see the top). */
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_invitee_accepted_arrives),
	        cmocka_unit_test(test_receiver_refuses_forgeries),
	        cmocka_unit_test(test_rotation),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("WEBHOOK_TEST"))
		cmocka_set_test_filter(getenv("WEBHOOK_TEST"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
