/*
 * flockd SQLite store: migrations, constraints the engine relies on
 * (exactly-once rewards, one live campaign), savepoints and tenancy.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "harness.h"
#include "store/store.h"
#include "store/db.h"
#include "support.h"

#define NOW 1790000000000LL

/* Schema version, the same on both databases (rate_windows is only used
 * on PostgreSQL). */
#define SCHEMA 9

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
	snprintf(f->dir, sizeof(f->dir), "/tmp/flockd-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(h_db_new(f->db, sizeof(f->db), f->dir), 0);
	assert_int_equal(fd_store_open(&f->s, f->db, 2, NULL, err, sizeof(err)), 0);
	f->w = fd_store_writer(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char path[160];

	fd_store_close(f->s);
	h_db_drop(f->db);
	snprintf(path, sizeof(path), "%s/flockd.db", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/flockd.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/flockd.db-shm", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* org, app A and B, a campaign in A, customers r and e, a referral. */
static void seed(fx *f)
{
	fd_store_campaign k = {"cmp_1", "production", "K", 0, 0, 0, "{}"};
	fd_store_campaign_reward cr = {"crw_1", "cmp_1", "referee",         0,
	                               NULL,    NULL,    "{\"name\":\"x\"}"};

	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_org_insert(f->w, "org_1", "o", NOW), FD_OK);
	assert_int_equal(fd_store_app_insert(f->w, "app_a", "org_1", "A", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_app_insert(f->w, "app_b", "org_1", "B", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_campaign_insert(f->w, "app_a", &k, NOW),
	                 FD_OK);
	assert_int_equal(
	        fd_store_campaign_reward_insert(f->w, "app_a", &cr, NOW),
	        FD_OK);
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_r", "r",
	                                          "r@x.com", "R", "RRR1", NULL,
	                                          NOW),
	                 FD_OK);
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_e", "e",
	                                          NULL, NULL, "EEE1", NULL,
	                                          NOW),
	                 FD_OK);
	assert_int_equal(fd_store_referral_insert(
	                         f->w, "app_a", "ref_1", "production", "cmp_1",
	                         "cus_r", "cus_e", "pending", NULL, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
}

static fd_store_reward reward(const char *id, const char *status,
                              int64_t available_at)
{
	fd_store_reward r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.env = "production";
	r.campaign_id = "cmp_1";
	r.campaign_reward_id = "crw_1";
	r.referral_id = "ref_1";
	r.customer_id = "cus_e";
	r.party = "referee";
	r.terms = "{\"name\":\"x\",\"payoutAmount\":5}";
	r.status = status;
	r.available_at = available_at;
	return r;
}

/* A database string with a password is shown with *** instead, however
 * the password is spelled. */
static void test_redact(void **state)
{
	static const char *const cases[][2] = {
	        {"postgres://u:pw@db:5432/f", "postgres://u:***@db:5432/f"},
	        {"postgresql://u:p@ss@db/f", "postgresql://u:***@db/f"},
	        {"postgres://u:a/b?c@db/f", "postgres://u:***@db/f"},
	        {"postgres://u@db/f?password=x&sslmode=require",
	         "postgres://u@db/f?***"},
	        {"postgres://u:s@db/f?password=x", "postgres://u:***@db/f?***"},
	        {"postgres://db/f", "postgres://db/f"},
	        {"/var/lib/flockd/flockd.db", "/var/lib/flockd/flockd.db"},
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd_store_redact(out, sizeof(out), cases[i][0]);
		assert_string_equal(out, cases[i][1]);
	}
}

static void test_migrated_and_reopened(void **state)
{
	fx *f = *state;
	char err[256];
	json_t *app = NULL;

	assert_int_equal(fd_store_schema_version(f->s), SCHEMA);
	seed(f);
	fd_store_close(f->s);
	assert_int_equal(fd_store_open(&f->s, f->db, 1, NULL, err, sizeof(err)), 0);
	f->w = fd_store_writer(f->s);
	assert_int_equal(fd_store_schema_version(f->s), SCHEMA);
	assert_int_equal(fd_store_app_get(f->w, "app_a", &app), FD_OK);
	assert_string_equal(json_string_value(json_object_get(app, "name")),
	                    "A");
	json_decref(app);
}

/* Step 9 puts new idempotency records in a table with rowids: a record
 * stored before it, in step 1's table, still replays and is purged. */
static void test_idempotency_records_kept_by_step_9(void **state)
{
	fx *f = *state;
	uint8_t hash[32], got[32];
	char *body = NULL;
	int status = 0;

	memset(hash, 9, sizeof(hash));
	seed(f);
	assert_int_equal(h_db_exec(f->db, "INSERT INTO idempotency VALUES("
	                                  "'app_a', 'k-1', '', 201,"
	                                  " '{\"id\":\"evt_1\"}', 1000)"),
	                 0);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(
	        fd_store_idem_put(f->w, "app_a", "k-2", hash, 200, "{}", NOW),
	        FD_OK);
	assert_int_equal(
	        fd_store_idem_get(f->w, "app_a", "k-1", got, &status, &body),
	        FD_OK);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"id\":\"evt_1\"}");
	free(body);
	assert_int_equal(
	        fd_store_idem_get(f->w, "app_a", "k-2", got, &status, &body),
	        FD_OK);
	assert_int_equal(status, 200);
	assert_memory_equal(got, hash, sizeof(hash));
	free(body);
	assert_int_equal(fd_store_idem_purge(f->w, NOW), FD_OK);
	assert_int_equal(
	        fd_store_idem_get(f->w, "app_a", "k-1", got, &status, &body),
	        FD_NOTFOUND);
	assert_int_equal(
	        fd_store_idem_get(f->w, "app_a", "k-2", got, &status, &body),
	        FD_OK);
	free(body);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
}

static void test_reward_exactly_once(void **state)
{
	fx *f = *state;
	fd_store_reward a = reward("rwd_1", "approved", NOW);
	fd_store_reward b = reward("rwd_2", "approved", NOW);
	long n = -1;

	seed(f);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_reward_insert(f->w, "app_a", &a, NOW), FD_OK);
	/* Another id, same (referral, campaign reward): refused. */
	assert_int_equal(fd_store_reward_insert(f->w, "app_a", &b, NOW),
	                 FD_CONFLICT);
	assert_int_equal(fd_store_reward_count_since(f->w, "app_a", "crw_1",
	                                             "cus_e", 0, 10, &n),
	                 FD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
}

static void test_pending_reads_approved_after_hold(void **state)
{
	fx *f = *state;
	fd_store_reward a = reward("rwd_1", "pending", 1000);
	fd_filter flt = {.status = "approved"};
	json_t *r = NULL, *list = NULL, *due = NULL;

	seed(f);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_reward_insert(f->w, "app_a", &a, NOW), FD_OK);
	assert_int_equal(fd_store_reward_get(f->w, "app_a", "rwd_1", &r),
	                 FD_OK);
	assert_string_equal(json_string_value(json_object_get(r, "status")),
	                    "approved");
	assert_int_equal(json_integer_value(json_object_get(r, "payoutAmount")),
	                 5);
	assert_int_equal(
	        fd_store_reward_list(f->w, "app_a", &flt, 20, 0, &list), FD_OK);
	assert_int_equal(json_integer_value(json_object_get(list, "total")), 1);
	assert_int_equal(fd_store_reward_due(f->w, NOW, 10, &due), FD_OK);
	assert_int_equal(json_array_size(due), 1);
	/* Revocable from its computed status. */
	assert_int_equal(fd_store_reward_transition(f->w, "app_a", "rwd_1",
	                                            "pending,approved",
	                                            "revoked", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_reward_transition(f->w, "app_a", "rwd_1",
	                                            "approved", "fulfilled",
	                                            NOW),
	                 FD_NOTFOUND);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	json_decref(r);
	json_decref(list);
	json_decref(due);
}

static void test_one_live_campaign_per_environment(void **state)
{
	fx *f = *state;
	fd_store_campaign k2 = {"cmp_2", "production", "K2", 0, 0, 0, NULL};
	fd_store_campaign k3 = {"cmp_3", "test", "K3", 0, 0, 0, NULL};
	json_t *live = NULL;

	seed(f);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_campaign_insert(f->w, "app_a", &k2, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_campaign_insert(f->w, "app_a", &k3, NOW),
	                 FD_OK);
	assert_int_equal(
	        fd_store_campaign_set_live(f->w, "app_a", "cmp_1", 1, NOW),
	        FD_OK);
	assert_int_equal(
	        fd_store_campaign_set_live(f->w, "app_a", "cmp_3", 1, NOW),
	        FD_OK);
	assert_int_equal(
	        fd_store_campaign_set_live(f->w, "app_a", "cmp_2", 1, NOW),
	        FD_OK);
	assert_int_equal(
	        fd_store_campaign_live(f->w, "app_a", "production", &live),
	        FD_OK);
	assert_string_equal(json_string_value(json_object_get(live, "id")),
	                    "cmp_2");
	json_decref(live);
	assert_int_equal(fd_store_campaign_live(f->w, "app_a", "test", &live),
	                 FD_OK);
	assert_string_equal(json_string_value(json_object_get(live, "id")),
	                    "cmp_3");
	json_decref(live);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
}

static void test_savepoint_rolls_back_one_job(void **state)
{
	fx *f = *state;
	json_t *c = NULL;

	seed(f);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_savepoint(f->w), FD_OK);
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_x", "x",
	                                          NULL, NULL, "XXX1", NULL,
	                                          NOW),
	                 FD_OK);
	assert_int_equal(fd_store_rollback_to(f->w), FD_OK);
	assert_int_equal(fd_store_savepoint(f->w), FD_OK);
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_y", "y",
	                                          NULL, NULL, "YYY1", NULL,
	                                          NOW),
	                 FD_OK);
	/* A taken referral code is a conflict, not an error. */
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_z", "z",
	                                          NULL, NULL, "YYY1", NULL,
	                                          NOW),
	                 FD_CONFLICT);
	assert_int_equal(fd_store_release(f->w), FD_OK);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_x", &c),
	        FD_NOTFOUND);
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_y", &c),
	        FD_OK);
	json_decref(c);
}

/* Writes sent without waiting (fd_store_defer): what a later read sees,
 * what commits. On SQLite every call still answers for itself. */
static void test_deferred_writes(void **state)
{
	fx *f = *state;
	json_t *c = NULL;
	int i;

	seed(f);
	assert_int_equal(fd_store_defer(f->w, 1), FD_OK);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_d1", "d1",
	                                          NULL, NULL, "DDD1", NULL,
	                                          NOW),
	                 FD_OK);
	assert_int_equal(
	        fd_store_customer_count(f->w, "app_a", "cus_r", 1, 0, NOW),
	        FD_OK);
	/* A read waits for the writes before it, in order. */
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_d1", &c),
	        FD_OK);
	json_decref(c);
	/* More writes than a pipeline holds before it waits (64 answers),
	 * then a read. */
	for (i = 0; i < 150; i++)
		assert_int_equal(fd_store_customer_count(f->w, "app_a", "cus_r",
		                                         1, 0, NOW),
		                 FD_OK);
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_d1", &c),
	        FD_OK);
	json_decref(c);
	assert_int_equal(
	        fd_store_customer_count(f->w, "app_a", "cus_r", 1, 0, NOW),
	        FD_OK);
	assert_int_equal(fd_store_defer(f->w, 0), FD_OK);
	assert_int_equal(fd_store_retry_pending(f->w), 0);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_r", &c),
	        FD_OK);
	assert_int_equal(
	        json_integer_value(json_object_get(c, "visitedReferralsCount")),
	        152);
	json_decref(c);
}

/* PostgreSQL's pipeline: a deferred UPDATE that changed no row, and a
 * deferred INSERT the server refused (the statements after it skipped,
 * one of them never prepared), show as FD_RETRY later; after the
 * rollback the connection and every statement work again. */
static void test_deferred_failures_show_later(void **state)
{
	fx *f = *state;
	json_t *c = NULL;

	if (!h_is_pg())
		skip();
	seed(f);
	assert_int_equal(fd_store_defer(f->w, 1), FD_OK);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(
	        fd_store_customer_count(f->w, "app_a", "cus_none", 1, 0, NOW),
	        FD_OK);
	assert_int_equal(fd_store_defer(f->w, 0), FD_RETRY);
	assert_int_equal(fd_store_retry_pending(f->w), 1);
	assert_int_equal(fd_store_rollback(f->w), FD_OK);

	assert_int_equal(fd_store_defer(f->w, 1), FD_OK);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	/* No such campaign: the foreign key refuses the row. */
	assert_int_equal(fd_store_referral_insert(
	                         f->w, "app_a", "ref_2", "production", "cmp_x",
	                         "cus_r", "cus_e", "pending", NULL, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_customer_set_referred(f->w, "app_a", "cus_e",
	                                                "cus_r", "ref_1",
	                                                "cmp_1", NOW),
	                 FD_OK);
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_e", &c),
	        FD_RETRY);
	assert_null(c);
	assert_int_equal(fd_store_retry_pending(f->w), 1);
	assert_int_equal(fd_store_rollback(f->w), FD_OK);

	/* Run again without deferring: each call answers for itself. */
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_referral_insert(
	                         f->w, "app_a", "ref_2", "production", "cmp_x",
	                         "cus_r", "cus_e", "pending", NULL, NOW),
	                 FD_CONFLICT);
	assert_int_equal(fd_store_rollback(f->w), FD_OK);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_customer_set_referred(f->w, "app_a", "cus_e",
	                                                "cus_r", "ref_1",
	                                                "cmp_1", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	assert_int_equal(
	        fd_store_customer_get(f->w, "app_a", FD_BY_ID, "cus_e", &c),
	        FD_OK);
	assert_string_equal(
	        json_string_value(json_object_get(c, "referredById")), "cus_r");
	json_decref(c);
}

static void test_tenancy_and_readers(void **state)
{
	fx *f = *state;
	fd_conn *r;
	json_t *c = NULL;

	seed(f);
	r = fd_store_reader(f->s);
	assert_int_equal(
	        fd_store_customer_get(r, "app_a", FD_BY_CODE, "RRR1", &c),
	        FD_OK);
	assert_string_equal(
	        json_string_value(json_object_get(c, "organizationId")),
	        "org_1");
	json_decref(c);
	assert_int_equal(
	        fd_store_customer_get(r, "app_b", FD_BY_CODE, "RRR1", &c),
	        FD_NOTFOUND);
	assert_int_equal(
	        fd_store_customer_get(r, "app_b", FD_BY_ID, "cus_r", &c),
	        FD_NOTFOUND);
	/* Read connections cannot write. */
	assert_int_equal(fd_store_org_insert(r, "org_2", "o", NOW), FD_ERR);
	fd_store_reader_done(f->s, r);
}

/* Every function of the driver's table is there, and every token the
 * shared SQL uses: a missing one would crash, or fail, the first call
 * that needs it. */
static void test_every_driver_function(void **state)
{
	fx *f = *state;
	const fd_driver *d = f->s->drv;
	static const char *const needed[] = {
	        "begin_read", "begin_write", "i64",        "blob",
	        "serial",     "without_rowid", "each",
	        "skip_locked", "collate_c",  "lock_table", "version_setup",
	        "version_get", "version_set", "migrate_lock", "migrate_unlock",
	        NULL};
	const void *const fns[] = {
	        (const void *)d->open,     (const void *)d->close,
	        (const void *)d->ensure,   (const void *)d->exec,
	        (const void *)d->errmsg,   (const void *)d->prepare,
	        (const void *)d->finalize, (const void *)d->bind,
	        (const void *)d->step,     (const void *)d->reset,
	        (const void *)d->changes,  (const void *)d->ncols,
	        (const void *)d->col_name, (const void *)d->col,
	        (const void *)d->sync};
	const fd_token *t;
	size_t i;
	int found;

	assert_non_null(d->name);
	assert_string_equal(d->name, fd_store_backend(f->s));
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (!fns[i])
			fail_msg("%s: function %zu of fd_driver is NULL",
			         d->name, i);
	for (i = 0; needed[i]; i++) {
		for (found = 0, t = d->tokens; t->name; t++)
			found |= strcmp(t->name, needed[i]) == 0;
		if (!found)
			fail_msg("%s: no token {%s}", d->name, needed[i]);
	}
}

/* Three events fanned out to one endpoint; two stores (two nodes) on one
 * database: a delivery is held by one node at a time, its lease can be
 * taken over once expired, and only the holder can complete it. */
static void test_delivery_claimed_once_across_nodes(void **state)
{
	fx *f = *state;
	fd_store *s2 = NULL;
	fd_conn *w2;
	json_t *got = NULL, *got2 = NULL;
	fd_store_attempt a;
	char err[256];
	long n = 0;
	int i;

	seed(f);
	assert_int_equal(fd_store_open(&s2, f->db, 1, NULL, err, sizeof(err)), 0);
	w2 = fd_store_writer(s2);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_webhook_insert(f->w, "app_a", "whe_1",
	                                         "http://127.0.0.1:9/h", NULL,
	                                         NULL, "whsec_x", NOW),
	                 FD_OK);
	for (i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "evt_%d", i);
		assert_int_equal(fd_store_outbox_insert(
		                         f->w, "app_a", id, "production",
		                         "referral.created", NOW, "{}", 0),
		                 FD_OK);
	}
	assert_int_equal(fd_store_delivery_fanout(f->w, NOW, 100, &n), FD_OK);
	assert_int_equal(n, 3);
	assert_int_equal(fd_store_commit(f->w), FD_OK);

	/* Node 1 claims everything; while its transaction is open, node 2
	 * (PostgreSQL: SKIP LOCKED) gets nothing. */
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(
	        fd_store_delivery_claim(f->w, "n1", NOW, NOW + 1000, 10, &got),
	        FD_OK);
	assert_int_equal(json_array_size(got), 3);
	if (h_is_pg()) {
		assert_int_equal(fd_store_begin(w2, 1), FD_OK);
		assert_int_equal(fd_store_delivery_claim(w2, "n2", NOW,
		                                         NOW + 1000, 10, &got2),
		                 FD_OK);
		assert_int_equal(json_array_size(got2), 0);
		json_decref(got2);
		assert_int_equal(fd_store_commit(w2), FD_OK);
	}
	assert_int_equal(fd_store_commit(f->w), FD_OK);

	/* Committed leases: node 2 gets nothing before they expire... */
	assert_int_equal(fd_store_begin(w2, 1), FD_OK);
	assert_int_equal(fd_store_delivery_claim(w2, "n2", NOW + 500,
	                                         NOW + 1500, 10, &got2),
	                 FD_OK);
	assert_int_equal(json_array_size(got2), 0);
	json_decref(got2);
	/* ...and all of them after. */
	assert_int_equal(fd_store_delivery_claim(w2, "n2", NOW + 1000,
	                                         NOW + 2000, 10, &got2),
	                 FD_OK);
	assert_int_equal(json_array_size(got2), 3);
	assert_int_equal(fd_store_commit(w2), FD_OK);

	/* Node 1 lost its lease: it cannot complete; node 2 can. */
	memset(&a, 0, sizeof(a));
	a.delivery_id = json_string_value(
	        json_object_get(json_array_get(got, 0), "id"));
	a.node = "n1";
	a.at = NOW + 1100;
	a.status = 200;
	a.outcome = FD_DELIVERY_DELIVERED;
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_delivery_complete(f->w, &a, NOW + 1100),
	                 FD_NOTFOUND);
	a.node = "n2";
	assert_int_equal(fd_store_delivery_complete(f->w, &a, NOW + 1100),
	                 FD_OK);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	json_decref(got);
	json_decref(got2);
	fd_store_close(s2);
}

typedef struct {
	fd_conn *w;
	int rc;
} insert_arg;

static void *insert_bob(void *p)
{
	insert_arg *a = p;

	a->rc = fd_store_customer_insert(a->w, "app_a", "cus_b2", "bob", NULL,
	                                 NULL, "BOB2", NULL, NOW);
	return NULL;
}

/* Wait (bounded) until a session of db waits for a lock. */
static void wait_for_lock_waiter(const char *db)
{
	long n = 0;
	int i;

	for (i = 0; i < 2000; i++) {
		assert_int_equal(
		        h_db_long(db,
		                  "SELECT count(*) FROM pg_stat_activity"
		                  " WHERE datname = current_database()"
		                  " AND wait_event_type = 'Lock'",
		                  &n),
		        0);
		if (n > 0)
			return;
		usleep(5000);
	}
	assert_true(n > 0);
}

/* Two writers (two nodes) insert the same external id: the second waits
 * for the first, then gets FD_RETRY (the row it looked for and did not
 * find now exists), its job is rolled back alone (FD_RETRY again from
 * rollback_to) and the transaction goes on. PostgreSQL only: SQLite has
 * one writer. */
static void test_concurrent_insert_is_retry(void **state)
{
	fx *f = *state;
	fd_store *s2 = NULL;
	fd_conn *w2;
	insert_arg a;
	pthread_t t;
	json_t *c = NULL;
	char err[256];

	if (!h_is_pg())
		skip();
	seed(f);
	assert_int_equal(fd_store_open(&s2, f->db, 1, NULL, err, sizeof(err)), 0);
	w2 = fd_store_writer(s2);
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_customer_insert(f->w, "app_a", "cus_b1",
	                                          "bob", NULL, NULL, "BOB1",
	                                          NULL, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_begin(w2, 1), FD_OK);
	assert_int_equal(fd_store_savepoint(w2), FD_OK);
	a.w = w2;
	a.rc = -100;
	assert_int_equal(pthread_create(&t, NULL, insert_bob, &a), 0);
	/* The second insert waits on the unique index until this commits:
	 * commit once PostgreSQL shows it waiting for the lock. */
	wait_for_lock_waiter(f->db);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, FD_RETRY);
	assert_int_equal(fd_store_rollback_to(w2), FD_RETRY);
	/* The run again finds the customer, and the transaction commits. */
	assert_int_equal(fd_store_savepoint(w2), FD_OK);
	assert_int_equal(
	        fd_store_customer_get(w2, "app_a", FD_BY_EXTERNAL, "bob", &c),
	        FD_OK);
	assert_string_equal(json_string_value(json_object_get(c, "id")),
	                    "cus_b1");
	json_decref(c);
	assert_int_equal(fd_store_release(w2), FD_OK);
	assert_int_equal(fd_store_commit(w2), FD_OK);
	fd_store_close(s2);
}

/* The server drops every connection of this database (a restart, an idle
 * timeout): the writer and the readers reconnect on their next use,
 * which succeeds. PostgreSQL only. */
static void test_lost_connections_reconnect(void **state)
{
	fx *f = *state;
	fd_conn *r;
	json_t *app = NULL;
	fd_principal who;
	uint8_t hash[32];
	char sql[400];
	const char *dbname;

	if (!h_is_pg())
		skip();
	seed(f);
	dbname = strrchr(f->db, '/') + 1;
	snprintf(sql, sizeof(sql),
	         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	         " WHERE datname = '%s' AND pid <> pg_backend_pid()",
	         dbname);
	assert_int_equal(h_db_exec(f->db, sql), 0);
	/* A reader outside a transaction (key lookups), then in one. */
	memset(hash, 7, sizeof(hash));
	r = fd_store_reader(f->s);
	assert_int_equal(fd_store_key_auth(r, hash, &who), FD_NOTFOUND);
	fd_store_reader_done(f->s, r);
	assert_int_equal(h_db_exec(f->db, sql), 0);
	r = fd_store_reader(f->s);
	assert_int_equal(fd_store_begin(r, 0), FD_OK);
	assert_int_equal(fd_store_app_get(r, "app_a", &app), FD_OK);
	json_decref(app);
	assert_int_equal(fd_store_rollback(r), FD_OK);
	fd_store_reader_done(f->s, r);
	/* The writer. */
	assert_int_equal(fd_store_begin(f->w, 1), FD_OK);
	assert_int_equal(fd_store_org_insert(f->w, "org_2", "o2", NOW), FD_OK);
	assert_int_equal(fd_store_commit(f->w), FD_OK);
}

typedef struct {
	const char *db;
	fd_store *s;
	int rc;
	char err[256];
} open_arg;

static void *open_main(void *p)
{
	open_arg *a = p;

	a->rc = fd_store_open(&a->s, a->db, 1, NULL, a->err, sizeof(a->err));
	return NULL;
}

/* Four nodes open one fresh database at once: one migrates, the others
 * wait for it (advisory lock) and find the schema current. */
static void test_nodes_start_together(void **state)
{
	fx *f = *state;
	char db[320];
	open_arg a[4];
	pthread_t t[4];
	int i;

	assert_int_equal(h_db_new(db, sizeof(db), f->dir), 0);
	if (!h_is_pg()) {
		/* SQLite: one file, one node; the fixture's is enough. */
		skip();
	}
	for (i = 0; i < 4; i++) {
		a[i].db = db;
		a[i].s = NULL;
		assert_int_equal(pthread_create(&t[i], NULL, open_main, &a[i]),
		                 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (a[i].rc != 0)
			fail_msg("open %d: %s", i, a[i].err);
		assert_int_equal(fd_store_schema_version(a[i].s), SCHEMA);
	}
	for (i = 0; i < 4; i++)
		fd_store_close(a[i].s);
	h_db_drop(db);
}

/* fd_store_rate_hit counts per (key, window); a new window starts at 1;
 * on PostgreSQL a second store (another node) shares the counts. */
static void test_rate_hit(void **state)
{
	fx *f = *state;
	fd_store *s2 = NULL;
	char err[256];
	long n = 0;
	int i;

	for (i = 1; i <= 3; i++) {
		assert_int_equal(fd_store_rate_hit(f->s, "key_a", 1000, &n),
		                 FD_OK);
		assert_int_equal(n, i);
	}
	assert_int_equal(fd_store_rate_hit(f->s, "key_b", 1000, &n), FD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fd_store_rate_hit(f->s, "key_a", 1001, &n), FD_OK);
	assert_int_equal(n, 1);
	/* Many keys, then a window a minute later sweeps them. */
	for (i = 0; i < 600; i++) {
		char k[32];

		snprintf(k, sizeof(k), "key_%d", i);
		assert_int_equal(fd_store_rate_hit(f->s, k, 1001, &n), FD_OK);
	}
	assert_int_equal(fd_store_rate_hit(f->s, "key_a", 1100, &n), FD_OK);
	assert_int_equal(n, 1);
	if (!h_is_pg())
		return;
	assert_int_equal(fd_store_open(&s2, f->db, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(fd_store_rate_hit(s2, "key_a", 1100, &n), FD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fd_store_rate_hit(f->s, "key_a", 1100, &n), FD_OK);
	assert_int_equal(n, 3);
	fd_store_close(s2);
}

/* ---- the SQLite WAL's bound ---------------------------------------- */

#define WAL_LIMIT (256 * 1024)

FD_SQL(wal_table, "CREATE TABLE IF NOT EXISTS wal_fill(x {blob})");
FD_SQL(wal_insert, "INSERT INTO wal_fill(x) VALUES (randomblob(50000))");
FD_SQL(wal_count, "SELECT count(*) FROM wal_fill");

/* A second store on its own file, its WAL bounded at WAL_LIMIT. */
static fd_store *wal_store(fx *f, char *db, size_t len)
{
	fd_store_options o = {1, NULL, WAL_LIMIT, 1};
	fd_store *s = NULL;
	char err[256];

	snprintf(db, len, "%s/wal.db", f->dir);
	assert_int_equal(fd_store_open_with(&s, db, &o, err, sizeof(err)), 0);
	assert_int_equal(fd_db__exec(fd_store_writer(s), &wal_table, ""),
	                 FD_OK);
	return s;
}

/* One write transaction of ~50 KB (13 pages). */
static void wal_write(fd_store *s)
{
	fd_conn *w = fd_store_writer(s);

	assert_int_equal(fd_store_begin(w, 1), FD_OK);
	assert_int_equal(fd_db__exec(w, &wal_insert, ""), FD_OK);
	assert_int_equal(fd_store_commit(w), FD_OK);
}

static void wal_unlink(const char *db)
{
	char path[400];

	unlink(db);
	snprintf(path, sizeof(path), "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db);
	unlink(path);
}

/* Commits back to back (no pause for a PASSIVE checkpoint to finish)
 * never leave the WAL much past its bound: the writer restarts it. */
static void test_wal_bounded(void **state)
{
	fx *f = *state;
	fd_store_wal_stats w;
	fd_store *s;
	char db[200];
	int i;

	if (h_is_pg()) {
		assert_int_equal(fd_store_wal_stats_get(f->s, &w), -1);
		skip();
	}
	s = wal_store(f, db, sizeof(db));
	/* 10 MB written, 40 times the bound. */
	for (i = 0; i < 200; i++) {
		wal_write(s);
		assert_int_equal(fd_store_wal_stats_get(s, &w), 0);
		/* At most the bound and the commit that crossed it. */
		if (w.bytes > WAL_LIMIT + 64 * 1024)
			fail_msg("WAL at %lld bytes after commit %d",
			         (long long)w.bytes, i);
	}
	assert_true(w.restarts >= 10);
	assert_int_equal(w.restart_busy, 0);
	fd_store_close(s);
	wal_unlink(db);
}

/* A reader holding an old snapshot makes the writer's restart give up
 * after its bounded wait (the commit goes on, the WAL grows past the
 * bound); once the reader is done, the next try restarts it. */
static void test_wal_restart_waits_for_readers_bounded(void **state)
{
	fx *f = *state;
	fd_store_wal_stats w, before;
	fd_store *s;
	fd_conn *r;
	char db[200];
	long n = 0;
	int i;

	if (h_is_pg())
		skip();
	s = wal_store(f, db, sizeof(db));
	wal_write(s);
	/* (Creating the schema may have restarted it already.) */
	assert_int_equal(fd_store_wal_stats_get(s, &before), 0);
	r = fd_store_reader(s);
	assert_int_equal(fd_store_begin(r, 0), FD_OK);
	assert_int_equal(fd_db__count(r, &n, &wal_count, ""), FD_OK);
	assert_int_equal(n, 1);
	for (i = 0; i < 8; i++)
		wal_write(s);
	assert_int_equal(fd_store_wal_stats_get(s, &w), 0);
	assert_true(w.restart_busy >= 1);
	assert_int_equal(w.restarts, before.restarts);
	assert_true(w.bytes > WAL_LIMIT);
	fd_store_rollback(r);
	fd_store_reader_done(s, r);
	for (i = 0; i < 8; i++)
		wal_write(s);
	assert_int_equal(fd_store_wal_stats_get(s, &w), 0);
	assert_true(w.restarts > before.restarts);
	/* Cut back to the bound at the restart, then at most a commit
	 * past it. */
	assert_true(w.bytes <= WAL_LIMIT + 64 * 1024);
	fd_store_close(s);
	wal_unlink(db);
}

/* Several write connections where the database takes several writers
 * (PostgreSQL), each its own; SQLite refuses more than one, by name. */
static void test_writers(void **state)
{
	fx *f = *state;
	fd_store_options o = {1, NULL, 0, 3};
	fd_store *s = NULL;
	char err[256] = "", db[200];

	if (strncmp(f->db, "postgres", 8) == 0) {
		assert_int_equal(
		        fd_store_open_with(&s, f->db, &o, err, sizeof(err)), 0);
		assert_int_equal(fd_store_writers(s), 3);
		assert_ptr_equal(fd_store_writer_at(s, 0), fd_store_writer(s));
		assert_ptr_not_equal(fd_store_writer_at(s, 1),
		                     fd_store_writer_at(s, 2));
		/* Each begins a write transaction of its own at once. */
		assert_int_equal(fd_store_begin(fd_store_writer_at(s, 1), 1),
		                 FD_OK);
		assert_int_equal(fd_store_begin(fd_store_writer_at(s, 2), 1),
		                 FD_OK);
		assert_int_equal(fd_store_rollback(fd_store_writer_at(s, 1)),
		                 FD_OK);
		assert_int_equal(fd_store_rollback(fd_store_writer_at(s, 2)),
		                 FD_OK);
		fd_store_close(s);
		o.writers = 0; /* the default: FD_STORE_SHARED_WRITERS */
		assert_int_equal(
		        fd_store_open_with(&s, f->db, &o, err, sizeof(err)), 0);
		assert_int_equal(fd_store_writers(s), FD_STORE_SHARED_WRITERS);
		fd_store_close(s);
		return;
	}
	snprintf(db, sizeof(db), "%s/writers.db", f->dir);
	assert_int_equal(fd_store_open_with(&s, db, &o, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, "sqlite has one write connection"));
	o.writers = 0;
	assert_int_equal(fd_store_open_with(&s, db, &o, err, sizeof(err)), 0);
	assert_int_equal(fd_store_writers(s), 1);
	fd_store_close(s);
}

/* SQLite keeps no memory statistics in flockd (store/sqlite_log.c): they
 * would cost a process-wide mutex per allocation. With them off, SQLite
 * counts no memory in use, however much its connections hold. */
static void test_sqlite_memory_statistics_off(void **state)
{
	fx *f = *state;

	if (strncmp(f->db, "postgres", 8) == 0)
		skip();
	assert_int_equal(sqlite3_memory_used(), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_redact),
	        T(test_migrated_and_reopened),
	        T(test_idempotency_records_kept_by_step_9),
	        T(test_reward_exactly_once),
	        T(test_pending_reads_approved_after_hold),
	        T(test_one_live_campaign_per_environment),
	        T(test_savepoint_rolls_back_one_job),
	        T(test_deferred_writes),
	        T(test_deferred_failures_show_later),
	        T(test_tenancy_and_readers),
	        T(test_every_driver_function),
	        T(test_delivery_claimed_once_across_nodes),
	        T(test_concurrent_insert_is_retry),
	        T(test_lost_connections_reconnect),
	        T(test_nodes_start_together),
	        T(test_rate_hit),
	        T(test_wal_bounded),
	        T(test_wal_restart_waits_for_readers_bounded),
	        T(test_writers),
	        T(test_sqlite_memory_statistics_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
