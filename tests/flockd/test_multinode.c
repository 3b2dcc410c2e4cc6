/*
 * Two flockd nodes on one PostgreSQL database, no balancer: clients
 * alternate between them. Exactly-once across nodes (duplicate ingests,
 * racing creations of one customer, one Idempotency-Key at both nodes),
 * a campaign change made through one node seen by the other, and one node
 * killed with SIGKILL under load while the other keeps serving (every
 * acknowledged write present, every event delivered to a webhook receiver
 * on loopback: the dead node's leased deliveries are taken over).
 * PostgreSQL only: on SQLite this program is skipped.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "harness.h"
#include "support.h"

static fd_harness A, B;

/* Both nodes deliver webhooks to loopback, on test clocks (a dead
 * node's leases are run out by moving the other node's clock, not by
 * waiting: LEASE_S); the velocity rule is out of the way (no referral is
 * flagged). */
#define LEASE_S 7
static const char *const node_args[] = {"--test-clock",
                                        "--webhook-allow-private",
                                        "--webhook-timeout",
                                        "2",
                                        "--webhook-lease",
                                        "7",
                                        "--velocity-per-hour",
                                        "100000",
                                        NULL};

_Static_assert(sizeof(node_args) <= sizeof(A.extra_args),
               "node_args fits extra_args");

static int setup(void **state)
{
	(void)state;
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	memcpy(A.extra_args, node_args, sizeof(node_args));
	if (h_start(&A) < 0)
		return -1;
	return h_attach(&B, &A, "flockd-2.log");
}

static int teardown(void **state)
{
	(void)state;
	h_stop(&B);
	h_stop(&A);
	return 0;
}

static fd_harness *node(int i)
{
	return i % 2 ? &B : &A;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_t *identify(fd_harness *h, const char *ext)
{
	h_resp r;
	json_t *c;

	h_callf(h, &r, "POST", "/customers/identify", h->service_key, "{s:s}",
	        "externalUserId", ext);
	assert_true(r.status == 200 || r.status == 201);
	c = json_incref(r.json);
	h_resp_free(&r);
	return c;
}

static void refer(fd_harness *h, const char *campaign, const char *code,
                  const char *referee)
{
	h_resp r;

	h_callf(h, &r, "POST", "/referrals", h->service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode", code,
	        "refereeExternalUserId", referee);
	if (r.status != 201)
		print_error("referral: %d %s\n", r.status, r.text);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
}

/* Total of an admin list (e.g. "/rewards"). */
static long admin_total(const char *suffix)
{
	char path[256];
	h_resp r;
	long n;

	h_admin_path(&A, path, sizeof(path), suffix);
	h_call(&B, &r, "GET", path, A.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	n = (long)json_integer_value(json_object_get(r.json, "total"));
	h_resp_free(&r);
	return n;
}

/* A live campaign made through A, and a referral of referee through B. */
static void campaign_and_referral(char *cmp, size_t len, const char *referrer,
                                  const char *referee)
{
	json_t *alice;

	assert_int_equal(h_live_campaign(&A, "production", 0, 0, cmp, len), 0);
	alice = identify(&A, referrer);
	refer(&B, cmp, str(alice, "referralCode"), referee);
	json_decref(alice);
}

/* ---- concurrent requests ---------------------------------------------- */

typedef struct {
	int i;
	const char *path;
	const char *body;
	const char *idem;
	int status;
	int replayed;
	size_t granted;
} call_arg;

static void *call_main(void *p)
{
	call_arg *a = p;
	fd_harness *h = node(a->i);
	h_resp r;

	h_call(h, &r, "POST", a->path, h->service_key, a->body, a->idem);
	a->status = r.status;
	a->replayed = r.replayed;
	a->granted = json_array_size(json_object_get(r.json, "rewards"));
	if (r.status >= 500)
		print_error("node %c: %d %s\n", a->i % 2 ? 'B' : 'A', r.status,
		            r.text ? r.text : "");
	h_resp_free(&r);
	return NULL;
}

/* n copies of one request at once, split across the nodes. */
static void burst(call_arg *args, int n, const char *path, const char *body,
                  const char *idem)
{
	pthread_t t[64];
	int i;

	for (i = 0; i < n; i++) {
		args[i].i = i;
		args[i].path = path;
		args[i].body = body;
		args[i].idem = idem;
		assert_int_equal(
		        pthread_create(&t[i], NULL, call_main, &args[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ---- tests ------------------------------------------------------------- */

/* B caches "no live campaign"; a campaign made live through A must still
 * reward on B. */
static void test_campaign_change_seen_by_other_node(void **state)
{
	char cmp[64];
	h_resp r;

	(void)state;
	h_callf(&B, &r, "POST", "/checkpoints/ingest", B.service_key,
	        "{s:s,s:s,s:s}", "environment", "production", "checkpointName",
	        "purchase_completed", "externalUserId", "early");
	if (r.status != 201)
		print_error("ingest: %d %s\n", r.status, r.text);
	assert_int_equal(r.status, 201);
	assert_int_equal(json_array_size(json_object_get(r.json, "rewards")),
	                 0);
	h_resp_free(&r);

	campaign_and_referral(cmp, sizeof(cmp), "mn-alice", "mn-bob");
	h_callf(&B, &r, "POST", "/checkpoints/ingest", B.service_key,
	        "{s:s,s:s,s:s}", "environment", "production", "checkpointName",
	        "purchase_completed", "externalUserId", "mn-bob");
	assert_int_equal(r.status, 201);
	assert_int_equal(json_array_size(json_object_get(r.json, "rewards")),
	                 2);
	h_resp_free(&r);
}

/* 32 duplicate ingests at once, half on each node: one grant per party,
 * every request answered 201. */
static void test_duplicate_ingests_grant_once(void **state)
{
	call_arg args[32];
	char cmp[64];
	size_t granted = 0;
	int i;

	(void)state;
	memset(args, 0, sizeof(args));
	campaign_and_referral(cmp, sizeof(cmp), "dup-alice", "dup-bob");
	burst(args, 32, "/checkpoints/ingest",
	      "{\"environment\":\"production\",\"checkpointName\":\"purchase_"
	      "completed\","
	      "\"externalUserId\":\"dup-bob\"}",
	      NULL);
	for (i = 0; i < 32; i++) {
		assert_int_equal(args[i].status, 201);
		granted += args[i].granted;
	}
	assert_int_equal(granted, 2);
	assert_int_equal(admin_total("/rewards"), 2);
}

/* A referrer reward limited to 1: 16 referees' purchases at once, split
 * across the nodes, grant the referrer one reward (and each referee its
 * own). */
static void test_reward_limit_across_nodes(void **state)
{
	call_arg args[16];
	char cmp[64], body[16][160], path[256], ext[32];
	json_t *alice;
	pthread_t t[16];
	h_resp r;
	int i;

	(void)state;
	memset(args, 0, sizeof(args));
	assert_int_equal(
	        h_live_campaign(&A, "production", 0, 1, cmp, sizeof(cmp)), 0);
	alice = identify(&A, "lim-alice");
	for (i = 0; i < 16; i++) {
		snprintf(ext, sizeof(ext), "lim-%d", i);
		refer(node(i), cmp, str(alice, "referralCode"), ext);
		snprintf(body[i], sizeof(body[i]),
		         "{\"environment\":\"production\",\"checkpointName\":"
		         "\"purchase_completed\",\"externalUserId\":\"%s\"}",
		         ext);
	}
	for (i = 0; i < 16; i++) {
		args[i].i = i;
		args[i].path = "/checkpoints/ingest";
		args[i].body = body[i];
		assert_int_equal(
		        pthread_create(&t[i], NULL, call_main, &args[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].status, 201);
	}
	h_admin_path(&A, path, sizeof(path), "/rewards?customerId=");
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s",
	         str(alice, "id"));
	h_call(&B, &r, "GET", path, A.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")),
	                 1);
	h_resp_free(&r);
	assert_int_equal(admin_total("/rewards"), 17);
	json_decref(alice);
}

/* 32 ingests of one unknown user at once: the nodes race to create the
 * customer; the loser retries its job (FD_RETRY) and finds it. */
static void test_racing_customer_creation(void **state)
{
	call_arg args[32];
	long before = admin_total("/customers");
	int i;

	(void)state;
	memset(args, 0, sizeof(args));
	burst(args, 32, "/checkpoints/ingest",
	      "{\"environment\":\"production\",\"checkpointName\":\"signup\","
	      "\"externalUserId\":\"race-new\"}",
	      NULL);
	for (i = 0; i < 32; i++)
		assert_int_equal(args[i].status, 201);
	assert_int_equal(admin_total("/customers"), before + 1);
}

/* One Idempotency-Key sent 16 times at once to both nodes: it runs once;
 * the others replay it or are told it is in flight. */
static void test_idempotency_key_across_nodes(void **state)
{
	call_arg args[16];
	long before = admin_total("/customers");
	int i, fresh = 0;

	(void)state;
	memset(args, 0, sizeof(args));
	burst(args, 16, "/customers/identify",
	      "{\"externalUserId\":\"idem-carol\"}", "mn-key-1");
	for (i = 0; i < 16; i++) {
		assert_true(args[i].status == 201 || args[i].status == 409);
		if (args[i].status == 201 && !args[i].replayed)
			fresh++;
	}
	assert_int_equal(fresh, 1);
	assert_int_equal(admin_total("/customers"), before + 1);
}

/* ---- a webhook receiver ------------------------------------------------- */

#define MAX_SEEN 4096

static struct {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t mu;
	char *seen[MAX_SEEN]; /* event ids received (with repeats) */
	int nseen;
} rx = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct {
	char *data;
	size_t len;
} rx_body;

static enum MHD_Result rx_handler(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	rx_body *b = *con_cls;
	struct MHD_Response *res;
	enum MHD_Result ret;
	json_t *env;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!b) {
		*con_cls = calloc(1, sizeof(rx_body));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		char *grown = realloc(b->data, b->len + *upload_size + 1);

		if (!grown)
			return MHD_NO;
		memcpy(grown + b->len, upload, *upload_size);
		b->len += *upload_size;
		grown[b->len] = '\0';
		b->data = grown;
		*upload_size = 0;
		return MHD_YES;
	}
	env = b->data ? json_loads(b->data, 0, NULL) : NULL;
	pthread_mutex_lock(&rx.mu);
	if (str(env, "id") && rx.nseen < MAX_SEEN)
		rx.seen[rx.nseen++] = strdup(str(env, "id"));
	pthread_mutex_unlock(&rx.mu);
	json_decref(env);
	res = MHD_create_response_from_buffer(2, (void *)"ok",
	                                      MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, 200, res);
	MHD_destroy_response(res);
	return ret;
}

static void rx_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
	rx_body *b = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (b) {
		free(b->data);
		free(b);
		*con_cls = NULL;
	}
}

static void rx_start(void)
{
	const union MHD_DaemonInfo *info;

	rx.d = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
	        0, NULL, NULL, rx_handler, NULL, MHD_OPTION_NOTIFY_COMPLETED,
	        rx_done, NULL, MHD_OPTION_END);
	assert_non_null(rx.d);
	info = MHD_get_daemon_info(rx.d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	rx.port = info->port;
}

static void rx_stop(void)
{
	int i;

	MHD_stop_daemon(rx.d);
	for (i = 0; i < rx.nseen; i++)
		free(rx.seen[i]);
	rx.nseen = 0;
}

static int rx_has(const char *id)
{
	int i, found = 0;

	pthread_mutex_lock(&rx.mu);
	for (i = 0; i < rx.nseen && !found; i++)
		found = strcmp(rx.seen[i], id) == 0;
	pthread_mutex_unlock(&rx.mu);
	return found;
}

/* Ids of the customer.created events of the load ("kill-..." users). */
static json_t *load_events(void)
{
	json_t *ids = json_array(), *e;
	char path[320], base[256];
	long offset = 0, total = 1;
	size_t i;
	h_resp r;

	h_admin_path(&A, base, sizeof(base), "/events");
	while (offset < total) {
		snprintf(path, sizeof(path),
		         "%s?name=customer.created&limit=100&offset=%ld", base,
		         offset);
		h_call(&B, &r, "GET", path, A.admin_token, NULL, NULL);
		assert_int_equal(r.status, 200);
		total = (long)json_integer_value(
		        json_object_get(r.json, "total"));
		json_array_foreach(json_object_get(r.json, "data"), i, e)
		{
			const char *ext = str(json_object_get(e, "data"),
			                      "externalUserId");

			if (ext && strncmp(ext, "kill-", 5) == 0)
				json_array_append_new(
				        ids, json_string(str(e, "id")));
		}
		offset += 100;
		h_resp_free(&r);
	}
	return ids;
}

/* ---- SIGKILL under load -------------------------------------------------- */

#define LOADERS 4
#define PER_LOADER 30

typedef struct {
	int id;
	int acked[PER_LOADER];
	pthread_mutex_t *mu;
	int *total;
} loader;

/* Set by the test thread, read by the loaders. */
static int a_dead;

static int a_is_dead(void)
{
	return __atomic_load_n(&a_dead, __ATOMIC_ACQUIRE);
}

static void *load_main(void *p)
{
	loader *l = p;
	char body[160];
	int i, tries;

	for (i = 0; i < PER_LOADER; i++) {
		snprintf(body, sizeof(body),
		         "{\"environment\":\"production\",\"checkpointName\":"
		         "\"visit\",\"externalUserId\":"
		         "\"kill-%d-%d\"}",
		         l->id, i);
		/* A client that loses its node goes to the other one. */
		for (tries = 0; tries < 4 && !l->acked[i]; tries++) {
			fd_harness *h =
			        (i + tries) % 2 && !a_is_dead() ? &A : &B;
			h_resp r;

			h_call(h, &r, "POST", "/checkpoints/ingest",
			       h->service_key, body, NULL);
			l->acked[i] = r.status == 201;
			h_resp_free(&r);
		}
		pthread_mutex_lock(l->mu);
		*l->total += l->acked[i];
		pthread_mutex_unlock(l->mu);
	}
	return NULL;
}

static void test_sigkill_one_node_under_load(void **state)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	loader ls[LOADERS];
	pthread_t t[LOADERS];
	int total = 0, i, j, seen, waited;
	char ext[64];

	(void)state;
	memset(ls, 0, sizeof(ls));
	__atomic_store_n(&a_dead, 0, __ATOMIC_RELEASE);
	rx_start();
	{
		char path[256], url[64];
		h_resp r;

		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", rx.port);
		h_admin_path(&A, path, sizeof(path), "/webhook-endpoints");
		h_callf(&A, &r, "POST", path, A.admin_token, "{s:s}", "url",
		        url);
		if (r.status != 201)
			print_error("endpoint: %d %s\n", r.status, r.text);
		assert_int_equal(r.status, 201);
		h_resp_free(&r);
	}
	for (i = 0; i < LOADERS; i++) {
		ls[i].id = i;
		ls[i].mu = &mu;
		ls[i].total = &total;
		assert_int_equal(pthread_create(&t[i], NULL, load_main, &ls[i]),
		                 0);
	}
	/* Kill A once the load is under way (bounded wait). */
	for (waited = 0; waited < 3000; waited++) {
		pthread_mutex_lock(&mu);
		seen = total;
		pthread_mutex_unlock(&mu);
		if (seen >= LOADERS * PER_LOADER / 4)
			break;
		nanosleep(&(struct timespec){0, 10000000L}, NULL);
	}
	h_kill(&A, SIGKILL);
	__atomic_store_n(&a_dead, 1, __ATOMIC_RELEASE);
	for (i = 0; i < LOADERS; i++)
		pthread_join(t[i], NULL);
	/* B kept serving: every request was acknowledged by one node... */
	assert_int_equal(total, LOADERS * PER_LOADER);
	/* ...and everything acknowledged is in the database. */
	for (i = 0; i < LOADERS; i++)
		for (j = 0; j < PER_LOADER; j++) {
			h_resp r;

			snprintf(ext, sizeof(ext), "kill-%d-%d", i, j);
			h_callf(&B, &r, "POST", "/customers/identify",
			        B.service_key, "{s:s}", "externalUserId", ext);
			assert_int_equal(r.status, 200);
			h_resp_free(&r);
		}
	/* Every event of the load reaches the receiver, the dead node's
	 * leased deliveries included: B's clock is moved past their lease
	 * (once B sends nothing, so that it does not take over its own). */
	{
		json_t *ids = load_events(), *id;
		size_t k, missing = 1;

		assert_int_equal(json_array_size(ids), LOADERS * PER_LOADER);
		for (waited = 0;
		     waited < 300 &&
		     h_metric(&B, "flockd_webhook_attempts_in_flight") != 0;
		     waited++)
			nanosleep(&(struct timespec){0, 10000000L}, NULL);
		assert_true(h_clock_advance(&B, (LEASE_S + 1) * 1000) > 0);
		for (waited = 0; waited < 600 && missing; waited++) {
			missing = 0;
			json_array_foreach(ids, k, id)
			{
				missing += !rx_has(json_string_value(id));
			}
			if (missing)
				nanosleep(&(struct timespec){0, 100000000L},
				          NULL);
		}
		if (missing)
			print_error("%zu events not delivered\n", missing);
		assert_int_equal(missing, 0);
		json_decref(ids);
	}
	rx_stop();
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_campaign_change_seen_by_other_node),
	        T(test_duplicate_ingests_grant_once),
	        T(test_racing_customer_creation),
	        T(test_reward_limit_across_nodes),
	        T(test_idempotency_key_across_nodes),
	        T(test_sigkill_one_node_under_load),
	};

	if (!h_is_pg()) {
		fprintf(stderr, "SKIP: several nodes need a shared database: "
		                "runs as flockd-pg/test_multinode\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
