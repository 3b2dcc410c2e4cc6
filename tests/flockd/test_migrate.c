/*
 * flockd migrate-store: a SQLite database with every kind of row is copied
 * into PostgreSQL; the copy reads back as the same wire objects, a second
 * copy is refused without changing anything, and --app copies one
 * application only. PostgreSQL only (skipped on SQLite).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "store/migrate.h"
#include "store/store.h"
#include "support.h"

#define NOW 1790000000000LL

typedef struct {
	char dir[64];
	char src[128]; /* SQLite file */
	char dst[320]; /* PostgreSQL URL */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/flockd-migrate-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->src, sizeof(f->src), "%s/src.db", f->dir);
	assert_int_equal(h_db_new(f->dst, sizeof(f->dst), f->dir), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char path[160];

	h_db_drop(f->dst);
	snprintf(path, sizeof(path), "%s/src.db", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/src.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/src.db-shm", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Every table of application `app` gets rows (two of the outbox). */
static void seed_app(fd_conn *w, const char *app, const char *sfx)
{
	char cmp[32], crw[32], cus_r[32], cus_e[32], ref[32], rwd[32], evt[32],
	        code_r[16], code_e[16], key[32], wh[32], ext[32];
	fd_store_campaign k = {cmp, "production", "K", 3, NOW, 0, "{\"a\":1}"};
	fd_store_campaign_reward cr = {crw,     cmp,     "referrer",        2,
	                               "count", "month", "{\"name\":\"r\"}"};
	fd_store_reward r;
	fd_store_key sk;
	uint8_t hash[32];
	long n;

	snprintf(cmp, sizeof(cmp), "cmp_%s", sfx);
	snprintf(crw, sizeof(crw), "crw_%s", sfx);
	snprintf(cus_r, sizeof(cus_r), "cus_r%s", sfx);
	snprintf(cus_e, sizeof(cus_e), "cus_e%s", sfx);
	snprintf(ref, sizeof(ref), "ref_%s", sfx);
	snprintf(rwd, sizeof(rwd), "rwd_%s", sfx);
	snprintf(code_r, sizeof(code_r), "R%s", sfx);
	snprintf(code_e, sizeof(code_e), "E%s", sfx);
	snprintf(key, sizeof(key), "key_%s", sfx);
	snprintf(wh, sizeof(wh), "whe_%s", sfx);
	memset(hash, sfx[0], sizeof(hash));
	memset(&sk, 0, sizeof(sk));
	sk.id = key;
	sk.app_id = app;
	sk.org_id = "org_1";
	sk.kind = FD_KEY_SERVICE;
	sk.hash = hash;
	sk.prefix = "sk_x";
	memset(&r, 0, sizeof(r));
	r.id = rwd;
	r.env = "production";
	r.campaign_id = cmp;
	r.campaign_reward_id = crw;
	r.referral_id = ref;
	r.customer_id = cus_r;
	r.party = "referrer";
	r.terms = "{\"payoutAmount\":10.5,\"name\":\"caf\\u00e9\"}";
	r.status = "pending";
	r.available_at = NOW + 1000;

	assert_int_equal(fd_store_key_insert(w, &sk, NOW), FD_OK);
	assert_int_equal(fd_store_campaign_insert(w, app, &k, NOW), FD_OK);
	assert_int_equal(fd_store_campaign_reward_insert(w, app, &cr, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_checkpoint_insert(w, app, "chk_1" /* */, cmp,
	                                            "buy", "reward", NULL, NOW),
	                 sfx[0] == 'a' ? FD_OK : FD_CONFLICT);
	snprintf(ext, sizeof(ext), "r-%s", sfx);
	assert_int_equal(fd_store_customer_insert(w, app, cus_r, ext, "r@x.com",
	                                          "Zoë", code_r,
	                                          "{\"plan\":\"pro\"}", NOW),
	                 FD_OK);
	snprintf(ext, sizeof(ext), "e-%s", sfx);
	assert_int_equal(fd_store_customer_insert(w, app, cus_e, ext, NULL,
	                                          NULL, code_e, NULL, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_referral_insert(w, app, ref, "production",
	                                          cmp, cus_r, cus_e, "accepted",
	                                          NULL, NOW),
	                 FD_OK);
	assert_int_equal(fd_store_reward_insert(w, app, &r, NOW), FD_OK);
	assert_int_equal(fd_store_event_insert(w, app, rwd, "production", cus_e,
	                                       "buy", "{}", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_webhook_insert(w, app, wh,
	                                         "https://example.com/h", NULL,
	                                         NULL, "whsec_1", NOW),
	                 FD_OK);
	snprintf(evt, sizeof(evt), "evt_1%s", sfx);
	assert_int_equal(fd_store_outbox_insert(w, app, evt, "production",
	                                        "reward.created", NOW,
	                                        "{\"id\":\"x\"}", 0),
	                 FD_OK);
	snprintf(evt, sizeof(evt), "evt_2%s", sfx);
	assert_int_equal(fd_store_outbox_insert(w, app, evt, "production",
	                                        "referral.created", NOW + 1,
	                                        "{\"id\":\"y\"}", 0),
	                 FD_OK);
	assert_int_equal(fd_store_delivery_fanout(w, NOW, 100, &n), FD_OK);
	/* One attempt logged (a 503, to be retried). */
	{
		json_t *got = NULL;
		fd_store_attempt a;

		assert_int_equal(fd_store_delivery_claim(w, "n1", NOW + 5,
		                                         NOW + 60000, 1, &got),
		                 FD_OK);
		assert_int_equal(json_array_size(got), 1);
		memset(&a, 0, sizeof(a));
		a.delivery_id = json_string_value(
		        json_object_get(json_array_get(got, 0), "id"));
		a.node = "n1";
		a.at = NOW + 5;
		a.status = 503;
		a.latency_ms = 12;
		a.excerpt = "busy";
		a.outcome = FD_DELIVERY_RETRY;
		a.next_attempt_at = NOW + 10;
		assert_int_equal(fd_store_delivery_complete(w, &a, NOW + 6),
		                 FD_OK);
		json_decref(got);
	}
	assert_int_equal(fd_store_idem_put(w, app, "idem-1", hash, 201,
	                                   "{\"ok\":true}", NOW),
	                 FD_OK);
}

/* A SQLite flockd database with applications app_a and app_b. */
static void make_source(fx *f)
{
	fd_store *s;
	fd_conn *w;
	char err[256];

	assert_int_equal(fd_store_open(&s, f->src, 1, NULL, err, sizeof(err)), 0);
	w = fd_store_writer(s);
	assert_int_equal(fd_store_begin(w, 1), FD_OK);
	assert_int_equal(fd_store_org_insert(w, "org_1", "o", NOW), FD_OK);
	assert_int_equal(fd_store_app_insert(w, "app_a", "org_1", "A", NOW),
	                 FD_OK);
	assert_int_equal(fd_store_app_insert(w, "app_b", "org_1", "B", NOW),
	                 FD_OK);
	seed_app(w, "app_a", "a");
	seed_app(w, "app_b", "b");
	assert_int_equal(fd_store_commit(w), FD_OK);
	fd_store_close(s);
	/* A record from before schema step 9, in step 1's table. */
	assert_int_equal(h_db_exec(f->src, "INSERT INTO idempotency VALUES("
	                                   "'app_a', 'idem-old', x'00', 200,"
	                                   " '{\"old\":true}', 1000)"),
	                 0);
}

/* Both idempotency tables were copied: each record replays. */
static void same_records(fx *f)
{
	fd_store *b;
	fd_conn *w;
	uint8_t hash[32];
	char err[256], *body = NULL;
	int status = 0;

	assert_int_equal(fd_store_open(&b, f->dst, 1, NULL, err, sizeof(err)), 0);
	w = fd_store_writer(b);
	assert_int_equal(fd_store_begin(w, 1), FD_OK);
	assert_int_equal(fd_store_idem_get(w, "app_a", "idem-old", hash,
	                                   &status, &body),
	                 FD_OK);
	assert_int_equal(status, 200);
	assert_string_equal(body, "{\"old\":true}");
	free(body);
	assert_int_equal(fd_store_idem_get(w, "app_a", "idem-1", hash, &status,
	                                   &body),
	                 FD_OK);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"ok\":true}");
	free(body);
	assert_int_equal(fd_store_rollback(w), FD_OK);
	fd_store_close(b);
}

/* The wire objects of app read through both stores are equal. */
static void same_objects(fx *f, const char *app, const char *sfx)
{
	fd_store *a, *b;
	fd_conn *ra, *rb;
	json_t *x = NULL, *y = NULL;
	char err[256], id[32];
	fd_filter rf = {0};

	assert_int_equal(fd_store_open(&a, f->src, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(fd_store_open(&b, f->dst, 1, NULL, err, sizeof(err)), 0);
	ra = fd_store_reader(a);
	rb = fd_store_reader(b);
	snprintf(id, sizeof(id), "cus_r%s", sfx);
	assert_int_equal(fd_store_customer_get(ra, app, FD_BY_ID, id, &x),
	                 FD_OK);
	assert_int_equal(fd_store_customer_get(rb, app, FD_BY_ID, id, &y),
	                 FD_OK);
	assert_true(json_equal(x, y));
	json_decref(x);
	json_decref(y);
	snprintf(id, sizeof(id), "cmp_%s", sfx);
	assert_int_equal(fd_store_campaign_get(ra, app, id, &x), FD_OK);
	assert_int_equal(fd_store_campaign_get(rb, app, id, &y), FD_OK);
	assert_true(json_equal(x, y));
	json_decref(x);
	json_decref(y);
	assert_int_equal(fd_store_reward_list(ra, app, &rf, 10, 0, &x), FD_OK);
	assert_int_equal(fd_store_reward_list(rb, app, &rf, 10, 0, &y), FD_OK);
	assert_true(json_equal(x, y));
	json_decref(x);
	json_decref(y);
	assert_int_equal(fd_store_outbox_list(ra, app, &rf, 10, 0, &x), FD_OK);
	assert_int_equal(fd_store_outbox_list(rb, app, &rf, 10, 0, &y), FD_OK);
	assert_true(json_equal(x, y));
	json_decref(x);
	json_decref(y);
	fd_store_reader_done(a, ra);
	fd_store_reader_done(b, rb);
	fd_store_close(a);
	fd_store_close(b);
}

static int run_migrate(fx *f, const char *app, char *out, size_t len)
{
	FILE *o = tmpfile(), *e = tmpfile();
	size_t n;
	int rc;

	assert_non_null(o);
	assert_non_null(e);
	rc = fd_migrate_store(f->src, f->dst, app, o, e);
	rewind(o);
	n = fread(out, 1, len - 1, o);
	out[n] = '\0';
	rewind(e);
	n = strlen(out);
	n += fread(out + n, 1, len - 1 - n, e);
	out[n] = '\0';
	fclose(o);
	fclose(e);
	return rc;
}

static void test_copy_everything_then_refuse_again(void **state)
{
	fx *f = *state;
	char out[8192];

	make_source(f);
	if (run_migrate(f, NULL, out, sizeof(out)) != 0)
		fail_msg("migrate-store: %s", out);
	assert_non_null(strstr(out, "customers                 4 rows copied"));
	assert_non_null(strstr(out, "outbox                    4 rows copied"));
	if (!strstr(out, "deliveries                4 rows copied") ||
	    !strstr(out, "delivery_attempts         2 rows copied"))
		fail_msg("%s", out);
	assert_non_null(strstr(out, "committed"));
	same_objects(f, "app_a", "a");
	same_objects(f, "app_b", "b");
	same_records(f);

	/* Again: the applications exist; nothing is written. */
	assert_int_equal(run_migrate(f, "app_a", out, sizeof(out)), -1);
	assert_non_null(strstr(out, "app_a already exists"));
	assert_non_null(strstr(out, "unchanged"));
}

static void test_one_application(void **state)
{
	fx *f = *state;
	fd_store *b;
	fd_conn *rb;
	json_t *x = NULL;
	char out[8192], err[256];

	make_source(f);
	if (run_migrate(f, "app_b", out, sizeof(out)) != 0)
		fail_msg("migrate-store: %s", out);
	assert_non_null(strstr(out, "customers                 2 rows copied"));
	same_objects(f, "app_b", "b");
	assert_int_equal(fd_store_open(&b, f->dst, 1, NULL, err, sizeof(err)), 0);
	rb = fd_store_reader(b);
	assert_int_equal(fd_store_app_get(rb, "app_a", &x), FD_NOTFOUND);
	fd_store_reader_done(b, rb);
	fd_store_close(b);
	/* The other application can follow later. */
	assert_int_equal(run_migrate(f, "app_a", out, sizeof(out)), 0);
	same_objects(f, "app_a", "a");
}

static void test_bad_arguments(void **state)
{
	fx *f = *state;
	char out[2048];

	(void)f;
	assert_int_equal(fd_migrate_store(f->src, "/tmp/not-a-url", NULL,
	                                  stdout, stderr),
	                 -1);
	snprintf(f->src, sizeof(f->src), "%s/missing.db", f->dir);
	assert_int_equal(run_migrate(f, NULL, out, sizeof(out)), -1);
	assert_non_null(strstr(out, "cannot open"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_copy_everything_then_refuse_again),
	        T(test_one_application),
	        T(test_bad_arguments),
	};

	if (!h_is_pg()) {
		fprintf(stderr, "SKIP: migrate-store needs PostgreSQL: runs as "
		                "flockd-pg/test_migrate\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
