/*
 * Webhook test helpers, shared by the test_webhooks_*.c programs: flockd
 * (harness.h) delivers to receivers on loopback.
 *
 * Two receivers: examples/webhook_receiver (WEBHOOK_RECEIVER_BIN), the
 * Express route in C, for what a product sees (events arrive and verify;
 * forged ones are refused); and a small receiver inside the test (rx_*),
 * also verifying with libflock, where a test must script the answers (500
 * then 200, Retry-After, 410, an answer held back) and look at raw
 * headers.
 *
 * Time: flockd runs with --test-clock and the tests move its clock
 * (h_clock_advance) past each delay of a rule instead of waiting for it.
 * A test that must show that something did NOT happen waits for the
 * delivery worker to make more claim passes (wh_passes), after which
 * anything due would have been claimed and sent, then looks.
 *
 * The example receiver checks timestamps against the real clock (five
 * minutes either way): a program that uses it runs those tests before any
 * that move the clock further.
 */
#ifndef FLOCKD_TEST_HARNESS_WEBHOOKS_H
#define FLOCKD_TEST_HARNESS_WEBHOOKS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "harness.h"

/* The longest wait for something that will happen. */
#define WH_WAIT_MS 30000

/* The spec's retry schedule (api.md: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h), flockd's default: seconds before retry i+1; then dead. */
#define WH_SCHEDULE_LEN 7
extern const int wh_schedule[WH_SCHEDULE_LEN];

/* A poll interval while waiting for an event. */
void wh_msleep(int ms);

/* o[k] as a string, or NULL. */
const char *wh_str(const json_t *o, const char *k);

/* ---- the scripted receiver --------------------------------------------- */

#define RX_MAX_SEEN 64

typedef struct {
	char *body;
	char id[64], ts[32], sig[512], flock_sig[80];
	int answered; /* status sent */
} rx_seen;

typedef struct {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int script[16]; /* statuses for the first requests, then 200 */
	int nscript;
	const char *retry_after; /* with the first scripted answer */
	int hold_first;          /* the first request is answered only after
	                            rx_release (or WH_WAIT_MS) */
	int released;
	rx_seen seen[RX_MAX_SEEN];
	int next; /* requests arrived */
	int n;    /* requests answered */
} receiver;

/* Start r (zeroed, with its script set) on a free loopback port. */
void rx_start(receiver *r);
void rx_stop(receiver *r);
/* Requests answered so far; requests arrived so far. */
int rx_count(receiver *r);
int rx_arrived(receiver *r);
/* Wait until n requests have arrived (answered or not). */
void rx_wait_arrived(receiver *r, int n);
/* Wait until the receiver has answered n requests. */
void rx_wait(receiver *r, int n);
/* Answer the held first request. */
void rx_release(receiver *r);

/* Verify a received delivery with libflock: X-Flock-Signature (flock)
 * and/or Standard Webhooks (std), at h's clock (a receiver whose clock
 * agrees with flockd's). 0 or the flock error. */
int rx_verify(const fd_harness *h, const rx_seen *s, const char *secret,
              int flock, int std);

/* The envelope's "timestamp" (ms): the attempt's time on flockd's clock. */
int64_t rx_at(const rx_seen *s);

/* ---- the example receiver (examples/webhook_receiver) ------------------ */

typedef struct {
	pid_t pid;
	unsigned short port;
	char out[400]; /* its -o file */
} example_rx;

/* A loopback port free right now. */
unsigned short wh_free_port(void);

/* Start the example receiver with secret on port (0: a free one); its
 * events file goes in h's directory. */
void ex_start(const fd_harness *h, example_rx *x, const char *secret,
              unsigned short port);
void ex_stop(example_rx *x);
/* Stop every example receiver still running (teardown: they hold
 * ctest's output pipe). */
void ex_stop_all(void);
/* The events the example receiver verified and recorded (new ref). */
json_t *ex_events(example_rx *x);
size_t wh_count_named(json_t *events, const char *name);
/* Wait until the example receiver recorded `want` events named name. */
json_t *ex_wait(example_rx *x, const char *name, size_t want);
/* POST a raw delivery (NULL-terminated header lines): the status. */
int ex_post(example_rx *x, const char *body, const char *const *hdrs);

/* ---- flockd side -------------------------------------------------------- */

/* Create an endpoint at 127.0.0.1:port; its JSON (with "secret"). */
json_t *wh_endpoint(fd_harness *h, unsigned short port, const char *events);
/* Admin call on an endpoint sub-path expecting `want`: the response. */
json_t *ep_call(fd_harness *h, const char *method, const json_t *ep,
                const char *suffix, const char *body, int want);
/* Disable an endpoint so that later tests' events do not reach it. */
void ep_off(fd_harness *h, const json_t *ep);
/* Identify a customer (a customer.created event): the Customer. */
json_t *wh_identify(fd_harness *h, const char *ext);
long wh_total(const json_t *page);
/* Wait until at least `want` of the endpoint's deliveries are in state. */
json_t *wait_state(fd_harness *h, const json_t *ep, const char *state,
                   size_t want);
/* Wait until the endpoint's attempt log has n attempts: the nth is
 * recorded and its next attempt (if any) scheduled, so the clock can be
 * moved past it. */
void wait_attempts(fd_harness *h, const json_t *ep, long n);
/* Wait until h's delivery worker has made n more claim passes (n >= 2:
 * the last began after this call, so whatever was due then has been
 * claimed and its attempt started). */
void wh_passes(fd_harness *h, int n);
/* Wait until h's worker sends nothing (flockd_webhook_attempts_in_flight
 * 0), then wh_passes(h, 2): after it a delivery due now has been sent
 * and answered, or was not due. */
void wh_settle(fd_harness *h);
/* Move h's clock (asserting it moved). */
void wh_advance(fd_harness *h, int64_t ms);
/* Move h's clock to the endpoint's latest nextAttemptAt (if ahead). */
void wh_advance_to_retries(fd_harness *h, const json_t *ep);

#endif
