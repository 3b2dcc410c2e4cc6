/*
 * Webhook delivery across crashes and nodes: flockd SIGKILLed while the
 * receiver is down, or while an attempt waits for its answer (its lease
 * runs out and the restarted flockd sends it again), and two flockd
 * processes on one database sending each event once. Helpers:
 * harness_webhooks.h.
 *
 * flockd runs with --test-clock. A restarted flockd starts at real time
 * again; the harness moves it forward to where the last one's clock was
 * (h_clock_advance), and each test then moves it past the lease or the
 * retry delay it waits for. The retry delays and the lease here are a
 * minute, so none runs out by real time alone while a test looks, however
 * slow the machine; the example receiver checks timestamps against the
 * real clock (five minutes either way), which bounds how far the clock
 * may move in this program.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flock.h"

#include "harness_webhooks.h"
#include "support.h"

/* A minute each: neither runs out by real time alone before a test
 * moves the clock past it. */
#define RETRY_S 60
#define LEASE_S 60

static fd_harness H;
static const char *const SERVE_ARGS[] = {
        "--test-clock",
        "--webhook-allow-private",
        "--webhook-retry-schedule",
        "60,60,60,60,60,60,60,60,60,60,60,60,60,60,60,60",
        "--webhook-timeout",
        "2",
        "--webhook-lease",
        "60",
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

/* The receiver is down while flockd is SIGKILLed and restarted: every
 * event still arrives once it is up (the clock moved past the retry
 * delay and the lease of any attempt the kill cut short). */
static void test_kill_restart(void **state)
{
	example_rx x;
	json_t *ep, *ev;
	char ext[32];
	int i;

	(void)state;
	x.port = wh_free_port();
	ep = wh_endpoint(&H, x.port, "[\"customer.created\"]");
	for (i = 0; i < 5; i++) {
		snprintf(ext, sizeof(ext), "wh-kill-%d", i);
		json_decref(wh_identify(&H, ext));
	}
	/* At least one attempt failed against the closed port. */
	json_decref(wait_state(&H, ep, "retrying", 1));
	h_kill(&H, SIGKILL);
	assert_int_equal(h_serve(&H), 0);
	ex_start(&H, &x, wh_str(ep, "secret"), x.port);
	wh_advance(&H, ((RETRY_S > LEASE_S ? RETRY_S : LEASE_S) + 1) * 1000);
	ev = ex_wait(&x, "customer.created", 5);
	json_decref(ev);
	json_decref(wait_state(&H, ep, "delivered", 5));
	ex_stop(&x);
	ep_off(&H, ep);
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
	rx.hold_first = 1;
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-lease"));
	/* The attempt is at the receiver, which holds its answer. */
	rx_wait_arrived(&rx, 1);
	h_kill(&H, SIGKILL);
	assert_int_equal(h_serve(&H), 0);
	/* Still leased to the dead process: not sent again yet. */
	wh_settle(&H);
	assert_int_equal(rx_arrived(&rx), 1);
	wh_advance(&H, (LEASE_S + 1) * 1000);
	rx_wait_arrived(&rx, 2);
	rx_release(&rx);
	rx_wait(&rx, 2);
	assert_string_equal(rx.seen[0].id, rx.seen[1].id);
	assert_int_equal(rx_verify(&H, &rx.seen[1], wh_str(ep, "secret"), 1, 1),
	                 0);
	json_decref(wait_state(&H, ep, "delivered", 1));
	ep_off(&H, ep);
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
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	second = H; /* same database, keys and clock, its own port */
	second.init = NULL;
	assert_int_equal(h_serve(&second), 0);
	for (i = 0; i < 40; i++) {
		snprintf(ext, sizeof(ext), "wh-node-%d", i);
		json_decref(wh_identify(&H, ext));
	}
	rx_wait(&rx, 40);
	json_decref(wait_state(&H, ep, "delivered", 40));
	/* A duplicate would have been sent by now: both workers looked for
	 * due deliveries twice more and have nothing in flight. */
	wh_settle(&H);
	wh_settle(&second);
	assert_int_equal(rx_arrived(&rx), 40);
	assert_int_equal(rx_count(&rx), 40);
	for (i = 0; i < 40; i++)
		for (j = i + 1; j < 40; j++)
			dup += strcmp(rx.seen[i].id, rx.seen[j].id) == 0;
	assert_int_equal(dup, 0);
	h_kill(&second, SIGTERM);
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kill_restart),
	        cmocka_unit_test(test_lease_taken_over),
	        cmocka_unit_test(test_two_nodes),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("WEBHOOK_TEST"))
		cmocka_set_test_filter(getenv("WEBHOOK_TEST"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
