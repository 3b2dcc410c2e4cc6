/*
 * Chaos: 20 SIGKILL/restart cycles of flockd under mixed load (identify,
 * referrals, checkpoint ingests that grant rewards) with a webhook
 * receiver, on SQLite (flockd/test_chaos) and PostgreSQL
 * (flockd-pg/test_chaos, with FLOCK_TEST_PG). After the last restart an
 * invariant checker looks at the database and at what the receiver got:
 *
 * - no acknowledged write lost: every customer, referral and ingest
 *   answered 201 is there;
 * - no reward twice: no (referral, campaign reward) pair has two rewards,
 *   and every acknowledged ingest's referral has exactly its two;
 * - every event delivered: each event of the outbox has one delivery,
 *   delivered, and the receiver saw each event id at least once (and no
 *   id flockd never made).
 *
 * On PostgreSQL the test runs on a cluster of its own
 * (scripts/pg-cluster.sh; the shared one in FLOCK_TEST_PG is never
 * stopped), and halfway through the cycles stops that cluster's server
 * under load and starts it again: every answer to a request made while
 * it is down is 503 (or no answer), never 401 or 403 (nor anything else),
 * and requests made after it is back get their 201s again; the
 * invariants above are checked over all of it.
 *
 * Bounded: each cycle's load stops after a few acknowledged ingests or
 * 3 s; the outage lasts until 20 answers or 5 s; leases and retries are
 * passed with the test clock, not waited for.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "harness.h"
#include "support.h"

#define CYCLES 20
#define WORKERS 3
#define ACKS_PER_CYCLE 5
#define MAX_ITEMS 4096

static fd_harness H;
static char campaign[64], referrer_code[64];

/* PostgreSQL: the cluster this test owns (pg-cluster.sh), and the shared
 * FLOCK_TEST_PG to give back. */
static char pg_dir[] = "/tmp/flock-pg-chaos-XXXXXX";
static int pg_owned;
static char *pg_shared;

/* Start a cluster of the test's own and point the harness at it. */
static void pg_own(void)
{
	const char *shared = getenv("FLOCK_TEST_PG");
	char url[256];

	if (!h_is_pg() || !mkdtemp(pg_dir))
		return;
	if (h_pg_cluster("start", pg_dir, url, sizeof(url)) < 0 || !url[0]) {
		print_message("no cluster of its own (scripts/pg-cluster.sh): "
		              "no PostgreSQL outage in this run\n");
		rmdir(pg_dir);
		return;
	}
	pg_shared = shared ? strdup(shared) : NULL;
	setenv("FLOCK_TEST_PG", url, 1);
	pg_owned = 1;
}

static void pg_disown(void)
{
	if (!pg_owned)
		return;
	h_pg_cluster("stop", pg_dir, NULL, 0);
	if (pg_shared)
		setenv("FLOCK_TEST_PG", pg_shared, 1);
	free(pg_shared);
	pg_shared = NULL;
	pg_owned = 0;
}

/* ---- what was acknowledged ---------------------------------------------- */

typedef struct {
	char ext[48];
	char referral[64];
	int customer_acked, referral_acked, ingest_acked;
} item;

static item items[MAX_ITEMS];
static int n_items, cycle_acks, stop_load;
static pthread_mutex_t items_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- the webhook receiver: event ids seen ------------------------------- */

static struct MHD_Daemon *rx;
static unsigned short rx_port;
static json_t *rx_ids; /* event id -> times received */
static pthread_mutex_t rx_mu = PTHREAD_MUTEX_INITIALIZER;

static enum MHD_Result rx_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
	struct MHD_Response *r;
	const char *id;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (!*state) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;
		return MHD_YES;
	}
	id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
	if (id) {
		pthread_mutex_lock(&rx_mu);
		json_object_set_new(
		        rx_ids, id,
		        json_integer(json_integer_value(
		                             json_object_get(rx_ids, id)) +
		                     1));
		pthread_mutex_unlock(&rx_mu);
	}
	r = MHD_create_response_from_buffer(2, (void *)"{}",
	                                    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void rx_start(void)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx_ids = json_object();
	rx = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	                              MHD_USE_INTERNAL_POLLING_THREAD,
	                      0, NULL, NULL, rx_request, NULL,
	                      MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	assert_non_null(rx);
	info = MHD_get_daemon_info(rx, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	rx_port = info->port;
}

static size_t rx_distinct(void)
{
	size_t n;

	pthread_mutex_lock(&rx_mu);
	n = json_object_size(rx_ids);
	pthread_mutex_unlock(&rx_mu);
	return n;
}

/* ---- setup --------------------------------------------------------------- */

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int setup(void **state)
{
	char path[256], body[256];
	h_resp r;
	int rc;

	(void)state;
	memset(&H, 0, sizeof(H));
	pg_own();
	H.extra_args[0] = "--velocity-per-hour";
	H.extra_args[1] = "1000000";
	H.extra_args[2] = "--test-clock";
	H.extra_args[3] = "--webhook-allow-private";
	H.extra_args[4] = "--webhook-timeout";
	H.extra_args[5] = "2";
	H.extra_args[6] = "--webhook-lease";
	H.extra_args[7] = "7";
	if (h_start(&H) < 0)
		return -1;
	rx_start();
	/* The endpoint first: every event after it is delivered to it. */
	snprintf(body, sizeof(body),
	         "{\"url\":\"http://127.0.0.1:%u/webhooks/flock\"}", rx_port);
	h_call(&H, &r, "POST",
	       h_admin_path(&H, path, sizeof(path), "/webhook-endpoints"),
	       H.admin_token, body, NULL);
	rc = r.status == 201 ? 0 : -1;
	h_resp_free(&r);
	if (rc < 0 || h_live_campaign(&H, "production", 0, 0, campaign,
	                              sizeof(campaign)) < 0)
		return -1;
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", "chaos-referrer");
	rc = r.status == 201 && str(r.json, "referralCode") ? 0 : -1;
	if (rc == 0)
		snprintf(referrer_code, sizeof(referrer_code), "%s",
		         str(r.json, "referralCode"));
	h_resp_free(&r);
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	h_stop(&H);
	pg_disown();
	if (rx)
		MHD_stop_daemon(rx);
	json_decref(rx_ids);
	return 0;
}

/* ---- the load ------------------------------------------------------------ */

static item *new_item(int cycle, long worker, int i)
{
	item *it = NULL;

	pthread_mutex_lock(&items_mu);
	if (n_items < MAX_ITEMS) {
		it = &items[n_items++];
		snprintf(it->ext, sizeof(it->ext), "chaos-%d-%ld-%d", cycle,
		         worker, i);
	}
	pthread_mutex_unlock(&items_mu);
	return it;
}

static int cycle_no;

/* identify, refer, ingest (two rewards): each answer 201 is recorded as
 * acknowledged; any other answer (the server killed) ends the worker. */
static void *load_worker(void *arg)
{
	long w = (long)arg;
	int i;

	for (i = 0; !__atomic_load_n(&stop_load, __ATOMIC_RELAXED); i++) {
		item *it = new_item(cycle_no, w, i);
		h_resp r;
		char body[256];

		if (!it)
			break;
		h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
		        "{s:s}", "externalUserId", it->ext);
		it->customer_acked = r.status == 201;
		h_resp_free(&r);
		if (!it->customer_acked)
			break;
		h_callf(&H, &r, "POST", "/referrals", H.service_key,
		        "{s:s,s:s,s:s}", "campaignId", campaign, "referralCode",
		        referrer_code, "refereeExternalUserId", it->ext);
		if (r.status == 201 && str(r.json, "id")) {
			snprintf(it->referral, sizeof(it->referral), "%s",
			         str(r.json, "id"));
			it->referral_acked = 1;
		}
		h_resp_free(&r);
		if (!it->referral_acked)
			break;
		snprintf(body, sizeof(body),
		         "{\"checkpointName\":\"purchase_completed\","
		         "\"externalUserId\":\"%s\","
		         "\"environment\":\"production\"}",
		         it->ext);
		h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
		       body, NULL);
		it->ingest_acked = r.status == 201;
		h_resp_free(&r);
		if (!it->ingest_acked)
			break;
		__atomic_add_fetch(&cycle_acks, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One cycle: load, SIGKILL mid-load, restart. */
static void cycle(int n)
{
	pthread_t t[WORKERS];
	long w;
	int waited;

	cycle_no = n;
	__atomic_store_n(&cycle_acks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stop_load, 0, __ATOMIC_RELAXED);
	for (w = 0; w < WORKERS; w++)
		assert_int_equal(
		        pthread_create(&t[w], NULL, load_worker, (void *)w), 0);
	for (waited = 0; waited < 300; waited++) {
		if (__atomic_load_n(&cycle_acks, __ATOMIC_RELAXED) >=
		    ACKS_PER_CYCLE)
			break;
		sleep_ms(10);
	}
	h_kill(&H, SIGKILL);
	__atomic_store_n(&stop_load, 1, __ATOMIC_RELAXED);
	for (w = 0; w < WORKERS; w++)
		pthread_join(t[w], NULL);
	assert_int_equal(h_serve(&H), 0);
}

/* ---- PostgreSQL restarted mid-load -------------------------------------- */

/* The outage's phases: requests are judged by the phase they began and
 * ended in. */
enum { UP_BEFORE, DOWN, RESUMING, UP_AFTER };
static int phase;
static long during_down, down_503, down_none, after_2xx, bad_status;
static int bad_example;

/* One request of the outage load: the status, judged. */
static int judged(h_resp *r, const char *method, const char *path,
                  const char *body)
{
	int began = __atomic_load_n(&phase, __ATOMIC_SEQ_CST), ended, st;

	h_call(&H, r, method, path, H.service_key, body, NULL);
	ended = __atomic_load_n(&phase, __ATOMIC_SEQ_CST);
	st = r->status;
	pthread_mutex_lock(&items_mu);
	if (st == 401 || st == 403 ||
	    (st != 0 && st != 503 && (st < 200 || st > 299))) {
		bad_status++;
		bad_example = st;
	}
	if (began == DOWN && ended == DOWN) {
		during_down++;
		if (st == 503)
			down_503++;
		else if (st == 0)
			down_none++;
		else {
			bad_status++;
			bad_example = st;
		}
	}
	if (began == UP_AFTER && st >= 200 && st <= 299)
		after_2xx++;
	pthread_mutex_unlock(&items_mu);
	return st;
}

/* Like load_worker, but a refused request moves on to the next item
 * instead of ending the worker; each answer is judged. */
static void *outage_worker(void *arg)
{
	long w = (long)arg;
	int i;

	for (i = 0; !__atomic_load_n(&stop_load, __ATOMIC_RELAXED); i++) {
		item *it = new_item(1000 + cycle_no, w, i);
		char body[320];
		h_resp r;

		if (!it)
			break;
		snprintf(body, sizeof(body), "{\"externalUserId\":\"%s\"}",
		         it->ext);
		it->customer_acked =
		        judged(&r, "POST", "/customers/identify", body) == 201;
		h_resp_free(&r);
		if (!it->customer_acked) {
			sleep_ms(20);
			continue;
		}
		snprintf(body, sizeof(body),
		         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
		         "\"refereeExternalUserId\":\"%s\"}",
		         campaign, referrer_code, it->ext);
		if (judged(&r, "POST", "/referrals", body) == 201 &&
		    str(r.json, "id")) {
			snprintf(it->referral, sizeof(it->referral), "%s",
			         str(r.json, "id"));
			it->referral_acked = 1;
		}
		h_resp_free(&r);
		if (!it->referral_acked)
			continue;
		snprintf(body, sizeof(body),
		         "{\"checkpointName\":\"purchase_completed\","
		         "\"externalUserId\":\"%s\","
		         "\"environment\":\"production\"}",
		         it->ext);
		it->ingest_acked =
		        judged(&r, "POST", "/checkpoints/ingest", body) == 201;
		h_resp_free(&r);
	}
	return NULL;
}

/* Stop the owned cluster's server under load, start it again. */
static void pg_outage(void)
{
	pthread_t t[WORKERS];
	long w, seen;
	int waited;

	__atomic_store_n(&stop_load, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&phase, UP_BEFORE, __ATOMIC_SEQ_CST);
	for (w = 0; w < WORKERS; w++)
		assert_int_equal(
		        pthread_create(&t[w], NULL, outage_worker, (void *)w),
		        0);
	sleep_ms(200);
	assert_int_equal(h_pg_cluster("pause", pg_dir, NULL, 0), 0);
	__atomic_store_n(&phase, DOWN, __ATOMIC_SEQ_CST);
	for (waited = 0; waited < 500; waited++) {
		pthread_mutex_lock(&items_mu);
		seen = during_down;
		pthread_mutex_unlock(&items_mu);
		if (seen >= 20)
			break;
		sleep_ms(10);
	}
	__atomic_store_n(&phase, RESUMING, __ATOMIC_SEQ_CST);
	assert_int_equal(h_pg_cluster("resume", pg_dir, NULL, 0), 0);
	__atomic_store_n(&phase, UP_AFTER, __ATOMIC_SEQ_CST);
	/* Back: 2xx again (60 s at most; flockd reconnects on its own). */
	for (waited = 0; waited < 6000; waited++) {
		pthread_mutex_lock(&items_mu);
		seen = after_2xx;
		pthread_mutex_unlock(&items_mu);
		if (seen >= 3 * WORKERS)
			break;
		sleep_ms(10);
	}
	__atomic_store_n(&stop_load, 1, __ATOMIC_RELAXED);
	for (w = 0; w < WORKERS; w++)
		pthread_join(t[w], NULL);
	print_message("PostgreSQL outage: %ld answers while down (%ld 503, "
	              "%ld none), %ld 2xx after, %ld others (e.g. %d)\n",
	              during_down, down_503, down_none, after_2xx, bad_status,
	              bad_example);
	assert_int_equal(bad_status, 0);
	assert_true(during_down > 0);
	assert_int_equal(down_503 + down_none, during_down);
	assert_true(down_503 > 0);
	assert_true(after_2xx >= 3 * WORKERS);
}

/* ---- the invariants ------------------------------------------------------ */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
static long
db_long(const char *fmt, ...)
{
	va_list ap;
	char sql[512];
	long n = -1;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(h_db_long(H.db, sql, &n), 0);
	return n;
}

static void check_writes(void)
{
	int i, customers = 0, referrals = 0, ingests = 0;

	for (i = 0; i < n_items; i++) {
		item *it = &items[i];

		if (it->customer_acked) {
			customers++;
			assert_int_equal(
			        db_long("SELECT count(*) FROM customers"
			                " WHERE external_id = '%s'",
			                it->ext),
			        1);
		}
		if (it->referral_acked) {
			referrals++;
			assert_int_equal(
			        db_long("SELECT count(*) FROM referrals"
			                " WHERE id = '%s'",
			                it->referral),
			        1);
		}
		if (it->ingest_acked) {
			ingests++;
			assert_int_equal(db_long("SELECT count(*) FROM rewards"
			                         " WHERE referral_id = '%s'",
			                         it->referral),
			                 2);
		}
	}
	/* No reward twice, acknowledged or not. */
	assert_int_equal(db_long("SELECT count(*) FROM (SELECT referral_id,"
	                         " campaign_reward_id FROM rewards GROUP BY"
	                         " referral_id, campaign_reward_id HAVING"
	                         " count(*) > 1) AS twice"),
	                 0);
	print_message("acknowledged: %d customers, %d referrals, %d ingests "
	              "over %d SIGKILLs\n",
	              customers, referrals, ingests, CYCLES);
	assert_true(ingests >= CYCLES);
}

static void check_events(void)
{
	long events = -1, delivered = -1, deliveries = -1;
	const char *id;
	json_t *v, *ids;
	int i;

	/* Leases of deliveries cut by a SIGKILL and retries of failed
	 * attempts are passed on the test clock; wait (60 s at most). */
	for (i = 0; i < 600; i++) {
		events = db_long("SELECT count(*) FROM outbox");
		deliveries = db_long("SELECT count(*) FROM deliveries");
		delivered = db_long("SELECT count(*) FROM deliveries WHERE "
		                    "state = 'delivered'");
		if (events > 0 && deliveries == events && delivered == events &&
		    (long)rx_distinct() >= events)
			break;
		if (i % 20 == 19)
			h_clock_advance(&H, 10 * 60 * 1000);
		sleep_ms(100);
	}
	print_message("events %ld, deliveries %ld (delivered %ld), distinct "
	              "ids received %zu\n",
	              events, deliveries, delivered, rx_distinct());
	assert_true(events > 0);
	assert_int_equal(deliveries, events);
	assert_int_equal(delivered, events);
	assert_int_equal((long)rx_distinct(), events);
	/* Every id received is an event flockd made. */
	pthread_mutex_lock(&rx_mu);
	ids = json_deep_copy(rx_ids);
	pthread_mutex_unlock(&rx_mu);
	json_object_foreach(ids, id, v)
	{
		assert_int_equal(
		        db_long("SELECT count(*) FROM outbox WHERE id = "
		                "'%s'",
		                id),
		        1);
	}
	json_decref(ids);
}

static void test_chaos(void **state)
{
	int n;

	(void)state;
	for (n = 0; n < CYCLES; n++) {
		cycle(n);
		if (n == CYCLES / 2 && pg_owned)
			pg_outage();
	}
	check_writes();
	check_events();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_chaos, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
