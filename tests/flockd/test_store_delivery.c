/*
 * flockd store, deliveries section (store.h): the contract the delivery
 * worker relies on, through the storage interface only, so that it holds
 * for every back-end: fan-out (who receives what), leases (claim, a lost
 * lease writes nothing, an expired lease is claimable by another node,
 * release), outcomes, replay, logs and stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "store/store.h"
#include "support.h"

#define NOW 1790000000000LL
#define SEC 1000LL

typedef struct {
	char dir[64];
	char db[128];
	fd_store *s;
	fd_conn *w;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/flockd-dlv-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/db.sqlite", f->dir);
	assert_int_equal(fd_store_open(&f->s, f->db, 2, NULL, err, sizeof(err)), 0);
	f->w = fd_store_writer(f->s);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_org_insert(f->w, "org_1", "o", NOW), FD_OK);
	assert_int_equal(fd_store_app_insert(f->w, "app_a", "org_1", "A", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_app_insert(f->w, "app_b", "org_1", "B", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char path[160];

	fd_store_close(f->s);
	snprintf(path, sizeof(path), "%s/db.sqlite", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db.sqlite-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db.sqlite-shm", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void begin(fx *f)
{
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
}

static void commit(fx *f)
{
	assert_int_equal(fd_store_commit(f->w), FD_OK);
}

static void endpoint(fx *f, const char *app, const char *id, const char *events,
                     const char *env)
{
	assert_int_equal(fd_store_webhook_insert(f->w, app, id,
	                                         "http://127.0.0.1:9/h", events,
	                                         env, "whsec_old", NOW),
	                 FD_OK);
}

static void event(fx *f, const char *app, const char *id, const char *env,
                  const char *name, int64_t ts)
{
	char body[256];

	snprintf(body, sizeof(body),
	         "{\"id\":\"%s\",\"name\":\"%s\",\"timestamp\":%lld,"
	         "\"environment\":\"%s\",\"data\":{}}",
	         id, name, (long long)ts, env);
	assert_int_equal(
	        fd_store_outbox_insert(f->w, app, id, env, name, ts, body, 0),
	        FD_OK);
}

static long fanout(fx *f, int64_t now)
{
	long n = -1;

	begin(f);
	assert_int_equal(fd_store_delivery_fanout(f->w, now, 100, &n), FD_OK);
	commit(f);
	return n;
}

static json_t *claim(fx *f, const char *node, int64_t now, long limit)
{
	json_t *out = NULL;

	begin(f);
	assert_int_equal(fd_store_delivery_claim(f->w, node, now,
	                                         now + 60 * SEC, limit, &out),
	                 FD_OK);
	commit(f);
	assert_true(json_is_array(out));
	return out;
}

static int complete(fx *f, const char *id, const char *node,
                    fd_delivery_outcome o, int status, int64_t now,
                    int64_t next)
{
	fd_store_attempt a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.delivery_id = id;
	a.node = node;
	a.at = now;
	a.status = status;
	a.latency_ms = 12;
	a.excerpt = status ? "ok" : NULL;
	a.error = status ? NULL : "Couldn't connect to server";
	a.outcome = o;
	a.next_attempt_at = next;
	a.disable_endpoint = status == 410;
	begin(f);
	rc = fd_store_delivery_complete(f->w, &a, now);
	commit(f);
	return rc;
}

static long total(json_t *page)
{
	return (long)json_integer_value(json_object_get(page, "total"));
}

static json_t *deliveries(fx *f, const char *app, const char *ep,
                          const char *state)
{
	json_t *out = NULL;

	assert_int_equal(
	        fd_store_delivery_list(f->w, app, ep, state, 100, 0, &out),
	        FD_OK);
	return out;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Who receives what: all, a list, "*", opt-in checkpoint.ingested, the
 * environment, the application, deleted endpoints; each pair once. */
static void test_fanout(void **state)
{
	fx *f = *state;
	json_t *p;

	begin(f);
	endpoint(f, "app_a", "whe_all", NULL, NULL);
	endpoint(f, "app_a", "whe_list", "[\"reward.created\"]", NULL);
	endpoint(f, "app_a", "whe_star", "[\"*\"]", "test");
	endpoint(f, "app_a", "whe_ckpt", "[\"checkpoint.ingested\"]", NULL);
	endpoint(f, "app_a", "whe_gone", NULL, NULL);
	endpoint(f, "app_b", "whe_b", NULL, NULL);
	assert_int_equal(
	        fd_store_webhook_delete(f->w, "app_a", "whe_gone", NOW), FD_OK);
	event(f, "app_a", "evt_1", "production", "reward.created", NOW);
	event(f, "app_a", "evt_2", "test", "customer.created", NOW);
	event(f, "app_a", "evt_3", "production", "checkpoint.ingested", NOW);
	commit(f);

	assert_int_equal(fanout(f, NOW), 3);
	assert_int_equal(fanout(f, NOW), 0); /* nothing left */

	p = deliveries(f, "app_a", "whe_all", NULL);
	assert_int_equal(total(p), 2); /* evt_1, evt_2: not the opt-in one */
	json_decref(p);
	p = deliveries(f, "app_a", "whe_list", NULL);
	assert_int_equal(total(p), 1);
	assert_string_equal(
	        str(json_array_get(json_object_get(p, "data"), 0), "eventId"),
	        "evt_1");
	assert_string_equal(
	        str(json_array_get(json_object_get(p, "data"), 0), "state"),
	        "pending");
	json_decref(p);
	p = deliveries(f, "app_a", "whe_star", NULL);
	assert_int_equal(total(p), 1); /* test environment only */
	json_decref(p);
	p = deliveries(f, "app_a", "whe_ckpt", NULL);
	assert_int_equal(total(p), 1);
	json_decref(p);
	p = deliveries(f, "app_a", "whe_gone", NULL);
	assert_int_equal(total(p), 0);
	json_decref(p);
	p = deliveries(f, "app_b", "whe_b", NULL);
	assert_int_equal(total(p), 0);
	json_decref(p);
	/* Tenancy: app_b does not see app_a's endpoint's deliveries. */
	p = deliveries(f, "app_b", "whe_all", NULL);
	assert_int_equal(total(p), 0);
	json_decref(p);
}

/* An event no endpoint receives is stored fanned out already: the
 * fan-out pass has nothing to read or mark; one an endpoint receives
 * waits for it as before. */
static void test_fanout_skips_unwanted_events(void **state)
{
	fx *f = *state;
	json_t *p;

	begin(f);
	event(f, "app_a", "evt_1", "production", "reward.created", NOW);
	endpoint(f, "app_a", "whe_t", "[\"reward.created\"]", "test");
	event(f, "app_a", "evt_2", "production", "reward.created", NOW);
	event(f, "app_a", "evt_3", "test", "customer.created", NOW);
	event(f, "app_b", "evt_4", "test", "reward.created", NOW);
	event(f, "app_a", "evt_5", "test", "reward.created", NOW);
	commit(f);
	assert_int_equal(fanout(f, NOW), 1);
	p = deliveries(f, "app_a", "whe_t", NULL);
	assert_int_equal(total(p), 1);
	assert_string_equal(
	        str(json_array_get(json_object_get(p, "data"), 0), "eventId"),
	        "evt_5");
	json_decref(p);
}

/* Claim takes a lease; a second claim gets nothing; only the holder
 * completes; an expired lease goes to another node, and the first node's
 * late completion writes nothing. */
static void test_leases(void **state)
{
	fx *f = *state;
	json_t *c, *d, *log = NULL;
	char id[64];

	begin(f);
	endpoint(f, "app_a", "whe_1", NULL, NULL);
	event(f, "app_a", "evt_1", "production", "reward.created", NOW);
	commit(f);
	assert_int_equal(fanout(f, NOW), 1);
	c = claim(f, "node-a", NOW, 10);
	assert_int_equal(json_array_size(c), 1);
	d = json_array_get(c, 0);
	snprintf(id, sizeof(id), "%s", str(d, "id"));
	assert_string_equal(str(d, "endpointId"), "whe_1");
	assert_string_equal(str(d, "applicationId"), "app_a");
	assert_string_equal(str(d, "eventId"), "evt_1");
	assert_string_equal(str(d, "secret"), "whsec_old");
	assert_null(json_object_get(d, "previousSecret"));
	assert_int_equal(json_integer_value(json_object_get(d, "attempt")), 1);
	assert_non_null(strstr(str(d, "body"), "\"id\":\"evt_1\""));
	json_decref(c);

	c = claim(f, "node-b", NOW + SEC, 10);
	assert_int_equal(json_array_size(c), 0); /* leased */
	json_decref(c);
	assert_int_equal(
	        complete(f, id, "node-b", FD_DELIVERY_DELIVERED, 200, NOW, 0),
	        FD_NOTFOUND);

	/* The lease (60 s) runs out: node-b takes it over. */
	c = claim(f, "node-b", NOW + 61 * SEC, 10);
	assert_int_equal(json_array_size(c), 1);
	json_decref(c);
	assert_int_equal(complete(f, id, "node-a", FD_DELIVERY_DELIVERED, 200,
	                          NOW + 62 * SEC, 0),
	                 FD_NOTFOUND);
	assert_int_equal(complete(f, id, "node-b", FD_DELIVERY_RETRY, 500,
	                          NOW + 62 * SEC, NOW + 70 * SEC),
	                 FD_OK);
	d = deliveries(f, "app_a", "whe_1", "retrying");
	assert_int_equal(total(d), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(json_object_get(d, "data"), 0),
	                         "lastStatus")),
	                 500);
	json_decref(d);

	/* Not due before next_attempt_at. */
	c = claim(f, "node-a", NOW + 69 * SEC, 10);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
	c = claim(f, "node-a", NOW + 70 * SEC, 10);
	assert_int_equal(json_array_size(c), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(c, 0), "attempt")),
	                 2);
	json_decref(c);
	/* Graceful stop: the lease is given back, due at once. */
	begin(f);
	assert_int_equal(fd_store_delivery_release(f->w, "node-a", NOW), FD_OK);
	commit(f);
	c = claim(f, "node-b", NOW + 70 * SEC, 10);
	assert_int_equal(json_array_size(c), 1);
	json_decref(c);
	assert_int_equal(complete(f, id, "node-b", FD_DELIVERY_DELIVERED, 204,
	                          NOW + 71 * SEC, 0),
	                 FD_OK);
	d = deliveries(f, "app_a", "whe_1", "delivered");
	assert_int_equal(total(d), 1);
	json_decref(d);

	assert_int_equal(
	        fd_store_attempt_list(f->w, "app_a", "whe_1", id, 100, 0, &log),
	        FD_OK);
	assert_int_equal(total(log), 2); /* the lost ones wrote nothing */
	d = json_array_get(json_object_get(log, "data"), 0); /* newest */
	assert_int_equal(json_integer_value(json_object_get(d, "status")), 204);
	assert_int_equal(json_integer_value(json_object_get(d, "attempt")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "latencyMs")),
	                 12);
	assert_string_equal(str(d, "responseExcerpt"), "ok");
	d = json_array_get(json_object_get(log, "data"), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "status")), 500);
	json_decref(log);
}

/* 410: dead and the endpoint disabled (nothing claimed for it); enabled
 * again, it is; replay of one and of every dead delivery. */
static void test_gone_replay_and_stats(void **state)
{
	fx *f = *state;
	json_t *c, *ep = NULL;
	fd_delivery_stats st;
	char id[64];
	long n = -1;

	begin(f);
	endpoint(f, "app_a", "whe_1", NULL, NULL);
	event(f, "app_a", "evt_1", "production", "reward.created", NOW);
	event(f, "app_a", "evt_2", "production", "reward.created", NOW + SEC);
	commit(f);
	assert_int_equal(fd_store_delivery_stats(f->w, &st), FD_OK);
	assert_int_equal(st.unfanned, 2);
	assert_int_equal(st.oldest_ms, NOW);
	assert_int_equal(fanout(f, NOW), 2);
	c = claim(f, "node-a", NOW, 1);
	snprintf(id, sizeof(id), "%s", str(json_array_get(c, 0), "id"));
	json_decref(c);
	assert_int_equal(fd_store_delivery_stats(f->w, &st), FD_OK);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.inflight, 1);
	assert_int_equal(st.unfanned, 0);
	assert_int_equal(
	        complete(f, id, "node-a", FD_DELIVERY_DEAD, 410, NOW, 0),
	        FD_OK);
	assert_int_equal(fd_store_webhook_get(f->w, "app_a", "whe_1", &ep),
	                 FD_OK);
	assert_true(json_is_false(json_object_get(ep, "enabled")));
	assert_string_equal(str(ep, "disabledReason"), "gone");
	json_decref(ep);
	c = claim(f, "node-a", NOW + SEC, 10);
	assert_int_equal(json_array_size(c), 0); /* disabled */
	json_decref(c);
	/* A disabled endpoint's backlog is not lag. */
	assert_int_equal(fd_store_delivery_stats(f->w, &st), FD_OK);
	assert_int_equal(st.pending + st.dead, 0);
	assert_int_equal(st.oldest_ms, 0);

	begin(f);
	assert_int_equal(fd_store_webhook_update(f->w, "app_a", "whe_1", NULL,
	                                         0, NULL, 1, NOW),
	                 FD_OK);
	commit(f);
	c = claim(f, "node-a", NOW + SEC, 10);
	assert_int_equal(json_array_size(c), 1); /* evt_2, not the dead one */
	assert_string_equal(str(json_array_get(c, 0), "eventId"), "evt_2");
	json_decref(c);

	begin(f);
	assert_int_equal(
	        fd_store_delivery_replay(f->w, "app_b", "whe_1", id, NOW, &n),
	        FD_NOTFOUND); /* another application */
	assert_int_equal(
	        fd_store_delivery_replay(f->w, "app_a", "whe_1", NULL, NOW, &n),
	        FD_OK);
	assert_int_equal(n, 1);
	commit(f);
	c = claim(f, "node-a", NOW + 2 * SEC, 10);
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(str(json_array_get(c, 0), "id"), id);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(c, 0), "attempt")),
	                 1); /* a fresh schedule */
	json_decref(c);
	begin(f);
	assert_int_equal(
	        fd_store_delivery_replay(f->w, "app_a", "whe_1", id, NOW, &n),
	        FD_CONFLICT); /* in flight */
	assert_int_equal(fd_store_delivery_replay(f->w, "app_a", "whe_1",
	                                          "dlv_nope", NOW, &n),
	                 FD_NOTFOUND);
	commit(f);
}

/* Rotation: the previous secret comes with a claim only during the
 * grace. */
static void test_rotation(void **state)
{
	fx *f = *state;
	json_t *c;

	begin(f);
	endpoint(f, "app_a", "whe_1", NULL, NULL);
	assert_int_equal(fd_store_webhook_rotate(f->w, "app_a", "whe_1",
	                                         "whsec_new", NOW + 10 * SEC,
	                                         NOW),
	                 FD_OK);
	assert_int_equal(fd_store_webhook_rotate(f->w, "app_b", "whe_1",
	                                         "whsec_x", NOW, NOW),
	                 FD_NOTFOUND);
	event(f, "app_a", "evt_1", "production", "reward.created", NOW);
	event(f, "app_a", "evt_2", "production", "reward.created", NOW);
	commit(f);
	assert_int_equal(fanout(f, NOW), 2);
	c = claim(f, "n", NOW + 5 * SEC, 1);
	assert_string_equal(str(json_array_get(c, 0), "secret"), "whsec_new");
	assert_string_equal(str(json_array_get(c, 0), "previousSecret"),
	                    "whsec_old");
	json_decref(c);
	c = claim(f, "n", NOW + 11 * SEC, 1);
	assert_string_equal(str(json_array_get(c, 0), "secret"), "whsec_new");
	assert_null(json_object_get(json_array_get(c, 0), "previousSecret"));
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_fanout, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_fanout_skips_unwanted_events, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gone_replay_and_stats,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
