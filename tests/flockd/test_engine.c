/*
 * flockd engine: the rules of api.md section 5, called directly through
 * the fd_op_* operations on a real SQLite file in a temp directory. The
 * engine runs on a manual clock (base/clock.h) that a test moves forward
 * to make time pass.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/jdump.h"
#include "engine/engine.h"
#include "engine/internal.h"
#include "http/errors.h"
#include "harness.h"
#include "support.h"

typedef struct {
	fd_engine *e;
	fd_clock *clock; /* the engine's, manual */
	char dir[64];
	char db[128];
	char app[64];
	fd_principal svc, adm;
} fx;

static int velocity = 0;
static int writers = 0; /* 0: the database's default */

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	fd_engine_config cfg;
	json_t *init = NULL;
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/flockd-engine-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(h_db_new(f->db, sizeof(f->db), f->dir), 0);
	assert_int_equal(fd_clock_new_manual(&f->clock), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.clock = f->clock;
	cfg.db_path = f->db;
	cfg.velocity_per_hour = velocity;
	cfg.writers = writers;
	cfg.answers = fd_http_answers();
	assert_int_equal(fd_engine_open(&f->e, &cfg, err, sizeof(err)), 0);
	assert_int_equal(fd_engine_init(f->e, "test", &init), 0);
	snprintf(f->app, sizeof(f->app), "%s",
	         json_string_value(json_object_get(init, "applicationId")));
	assert_int_equal(
	        fd_engine_authenticate(
	                f->e,
	                json_string_value(json_object_get(init, "serviceKey")),
	                &f->svc),
	        0);
	assert_int_equal(
	        fd_engine_authenticate(
	                f->e,
	                json_string_value(json_object_get(init, "adminToken")),
	                &f->adm),
	        0);
	json_decref(init);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char path[160];

	fd_engine_close(f->e);
	fd_clock_free(f->clock);
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

/* ---- calling operations ---------------------------------------------- */

typedef struct {
	const fd_principal *who;
	const char *app; /* admin {app} */
	const char *id;
	const char *query; /* JSON object text */
	const char *idem;
} call_opts;

/* Run op with body (JSON text or NULL); returns the response body (caller
 * decrefs) and its status in *status. */
static json_t *callx(fx *f, fd_op op, const call_opts *o, const char *body,
                     int *status, int *replayed)
{
	fd_request req;
	fd_response res;
	json_t *answer;
	int st;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.who = o->who ? o->who : &f->svc;
	req.app_id = o->app ? o->app : req.who->app_id;
	req.id = o->id;
	req.body = body ? json_loads(body, 0, NULL) : NULL;
	req.query = o->query ? json_loads(o->query, 0, NULL) : NULL;
	req.idempotency_key = o->idem;
	if (body)
		assert_non_null(req.body);
	op(f->e, &req, &res);
	json_decref(req.body);
	json_decref(req.query);
	/* The answer as the server sends it. */
	answer = fd_http_answer(&res, &st);
	if (status)
		*status = st;
	if (replayed)
		*replayed = res.replayed;
	assert_non_null(answer);
	return answer;
}

/* A service call expecting `want`. */
static json_t *svc(fx *f, fd_op op, const char *body, int want)
{
	call_opts o = {0};
	int status;
	json_t *r = callx(f, op, &o, body, &status, NULL);

	if (status != want) {
		char *t = json_dumps(r, 0);
		fprintf(stderr, "status %d, want %d: %s\n", status, want, t);
		free(t);
	}
	assert_int_equal(status, want);
	return r;
}

/* An admin call on f's app expecting `want`. */
static json_t *adm(fx *f, fd_op op, const char *id, const char *query,
                   const char *body, int want)
{
	call_opts o = {0};
	int status;
	json_t *r;

	o.who = &f->adm;
	o.app = f->app;
	o.id = id;
	o.query = query;
	r = callx(f, op, &o, body, &status, NULL);
	if (status != want) {
		char *t = json_dumps(r, 0);
		fprintf(stderr, "status %d, want %d: %s\n", status, want, t);
		free(t);
	}
	assert_int_equal(status, want);
	return r;
}

static const char *s(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Copy a string field into a static-lifetime buffer the caller owns. */
static void cp(char *dst, size_t n, json_t *o, const char *k)
{
	assert_non_null(s(o, k));
	snprintf(dst, n, "%s", s(o, k));
}

static long count_events(fx *f, const char *name)
{
	char q[128];
	json_t *r;
	long n;

	snprintf(q, sizeof(q), "{\"name\":\"%s\"}", name);
	r = adm(f, fd_op_admin_events_list, NULL, q, NULL, 200);
	n = (long)json_integer_value(json_object_get(r, "total"));
	json_decref(r);
	return n;
}

static long count_rewards(fx *f, const char *query)
{
	json_t *r = adm(f, fd_op_admin_rewards_list, NULL, query, NULL, 200);
	long n = (long)json_integer_value(json_object_get(r, "total"));

	json_decref(r);
	return n;
}

/* A campaign from a body; returns its id in out. */
static void campaign(fx *f, const char *body, char out[64])
{
	json_t *k = adm(f, fd_op_admin_campaigns_create, NULL, NULL, body, 201);

	cp(out, 64, k, "id");
	json_decref(k);
}

/* The standard live campaign: both sides paid on "purchase". */
static void std_campaign(fx *f, const char *env, int hold, char out[64])
{
	char body[1024];

	snprintf(
	        body, sizeof(body),
	        "{\"name\":\"Spring\",\"environment\":\"%s\",\"isLive\":true,"
	        "\"rewardHoldDays\":%d,\"rewards\":["
	        "{\"name\":\"ten\",\"party\":\"referrer\",\"type\":\"payout\","
	        "\"method\":\"paypal\",\"payoutAmount\":10,\"currency\":"
	        "\"usd\"},"
	        "{\"name\":\"off\",\"party\":\"referee\",\"type\":\"discount\","
	        "\"method\":\"custom\",\"discountPercentage\":20}],"
	        "\"checkpoints\":[{\"checkpointName\":\"purchase\","
	        "\"trigger\":\"reward\"},{\"checkpointName\":\"signup\","
	        "\"trigger\":\"placement\",\"placementId\":\"p1\"}]}",
	        env, hold);
	campaign(f, body, out);
}

/* identify; returns the referral code in code (may be NULL). */
static void customer(fx *f, const char *ext, const char *email, char *code,
                     char *id)
{
	char body[512];
	json_t *c;

	snprintf(body, sizeof(body),
	         "{\"externalUserId\":\"%s\",\"email\":\"%s\",\"name\":\"%s\"}",
	         ext, email, ext);
	c = svc(f, fd_op_identify, body, 201);
	if (code)
		cp(code, 32, c, "referralCode");
	if (id)
		cp(id, 64, c, "id");
	json_decref(c);
}

static json_t *refer(fx *f, const char *cmp, const char *code,
                     const char *referee_ext, int want)
{
	char body[512];

	snprintf(body, sizeof(body),
	         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
	         "\"refereeExternalUserId\":\"%s\"}",
	         cmp, code, referee_ext);
	return svc(f, fd_op_referral_create, body, want);
}

static json_t *ingest(fx *f, const char *ext, const char *name, const char *env)
{
	char body[512];

	snprintf(body, sizeof(body),
	         "{\"checkpointName\":\"%s\",\"externalUserId\":\"%s\","
	         "\"environment\":\"%s\"}",
	         name, ext, env);
	return svc(f, fd_op_checkpoint_ingest, body, 201);
}

/* ---- tests ----------------------------------------------------------- */

static void test_identify(void **state)
{
	fx *f = *state;
	json_t *a, *b;

	a = svc(f, fd_op_identify,
	        "{\"externalUserId\":\"u1\",\"email\":\"Jane@x.com\",\"name\":"
	        "\"Jane Doe\",\"customProperties\":{\"plan\":\"pro\"}}",
	        201);
	assert_string_equal(s(a, "externalUserId"), "u1");
	assert_memory_equal(s(a, "referralCode"), "JANE", 4);
	assert_true(strncmp(s(a, "id"), "cus_", 4) == 0);
	assert_string_equal(s(json_object_get(a, "customProperties"), "plan"),
	                    "pro");
	assert_string_equal(s(a, "applicationId"), f->app);
	assert_non_null(s(a, "organizationId"));
	assert_int_equal(strlen(s(a, "createdAt")), 24);
	assert_true(json_is_null(json_object_get(a, "deletedAt")));
	b = svc(f, fd_op_identify,
	        "{\"externalUserId\":\"u1\",\"name\":\"Jane D\"}", 200);
	assert_string_equal(s(b, "id"), s(a, "id"));
	assert_string_equal(s(b, "referralCode"), s(a, "referralCode"));
	assert_string_equal(s(b, "name"), "Jane D");
	assert_string_equal(s(b, "email"), "Jane@x.com");
	assert_int_equal(count_events(f, "customer.created"), 1);
	json_decref(a);
	json_decref(b);
}

static void test_missing_fields_never_crash(void **state)
{
	fx *f = *state;
	static const fd_op ops[] = {fd_op_identify,
	                            fd_op_checkpoint_ingest,
	                            fd_op_referral_create,
	                            fd_op_referral_validate,
	                            fd_op_rewards_trigger,
	                            fd_op_campaign_ping,
	                            fd_op_admin_keys_create,
	                            fd_op_admin_campaigns_create,
	                            fd_op_admin_rewards_approve,
	                            fd_op_admin_referrals_approve,
	                            fd_op_admin_webhooks_create,
	                            fd_op_admin_customers_delete,
	                            fd_op_admin_campaigns_update};
	size_t i;
	int status;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		call_opts o = {0};
		json_t *r;

		o.who = &f->adm;
		o.app = f->app;
		r = callx(f, ops[i], &o, NULL, &status, NULL);
		assert_true(status == 400 || status == 404);
		assert_non_null(s(r, "code"));
		json_decref(r);
		r = callx(f, ops[i], &o, "{\"externalUserId\":7}", &status,
		          NULL);
		assert_true(status == 400 || status == 404);
		json_decref(r);
	}
}

/* a and b written the same: the same members in the same order. */
static void same_text(const json_t *a, const json_t *b)
{
	char *x = fd_jdump(a, NULL), *y = fd_jdump(b, NULL);

	assert_non_null(x);
	assert_non_null(y);
	assert_string_equal(x, y);
	free(x);
	free(y);
}

static void test_reward_flow(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], alice[64], bob[64];
	json_t *ref, *res, *ev, *data, *list, *granted, *rw;
	size_t i, j, seen = 0;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, alice);
	customer(f, "bob", "bob@example.com", NULL, bob);
	ref = refer(f, cmp, code, "bob", 201);
	assert_string_equal(s(ref, "status"), "pending");
	assert_true(json_is_null(json_object_get(ref, "suspectedFrauds")));
	assert_string_equal(s(ref, "referrerId"), alice);
	assert_string_equal(s(ref, "refereeId"), bob);
	json_decref(ref);

	/* A placement checkpoint changes nothing. */
	res = ingest(f, "bob", "signup", "production");
	assert_false(json_is_true(json_object_get(res, "matched")));
	assert_int_equal(json_array_size(json_object_get(res, "rewards")), 0);
	json_decref(res);

	res = ingest(f, "bob", "purchase", "production");
	assert_true(json_is_true(json_object_get(res, "matched")));
	assert_true(json_is_null(json_object_get(res, "blockedBy")));
	assert_int_equal(json_array_size(json_object_get(res, "rewards")), 2);
	assert_string_equal(s(json_object_get(res, "referral"), "status"),
	                    "accepted");
	assert_string_equal(
	        s(json_array_get(json_object_get(res, "rewards"), 0), "status"),
	        "approved");
	ref = json_incref(json_object_get(res, "referral"));
	granted = json_incref(json_object_get(res, "rewards"));
	json_decref(res);

	/* The same checkpoint again grants nothing more. */
	res = ingest(f, "bob", "purchase", "production");
	assert_int_equal(json_array_size(json_object_get(res, "rewards")), 0);
	assert_string_equal(s(res, "blockedBy"), "already_rewarded");
	json_decref(res);
	assert_int_equal(count_rewards(f, NULL), 2);
	assert_int_equal(count_events(f, "reward.created"), 2);
	assert_int_equal(count_events(f, "invitee.accepted"), 1);
	assert_int_equal(count_events(f, "referral.created"), 1);

	list = adm(f, fd_op_admin_events_list, NULL,
	           "{\"name\":\"invitee.accepted\"}", NULL, 200);
	ev = json_array_get(json_object_get(list, "data"), 0);
	data = json_object_get(ev, "data");
	assert_string_equal(s(json_object_get(data, "invitee"), "id"), bob);
	assert_string_equal(s(json_object_get(data, "referrer"), "id"), alice);
	assert_string_equal(s(json_object_get(data, "campaign"), "id"), cmp);
	assert_string_equal(s(json_object_get(data, "campaign"), "name"),
	                    "Spring");
	assert_string_equal(s(json_object_get(data, "referral"), "status"),
	                    "accepted");
	assert_string_equal(s(ev, "environment"), "production");
	assert_true(json_is_integer(json_object_get(ev, "timestamp")));

	/* The referrer's counters moved; the event's referrer is the stored
	 * row (read before the count on PostgreSQL, counted in place). */
	res = adm(f, fd_op_admin_customers_get, alice, NULL, NULL, 200);
	assert_int_equal(json_integer_value(
	                         json_object_get(res, "visitedReferralsCount")),
	                 1);
	assert_int_equal(json_integer_value(json_object_get(
	                         res, "convertedReferralsCount")),
	                 1);
	assert_true(json_equal(json_object_get(data, "referrer"), res));
	same_text(json_object_get(data, "referrer"), res);
	json_decref(res);
	/* The store writes the event's rows (fd_store_outbox_accepted): each
	 * is the object the API shows, member for member, in its order. */
	assert_true(json_equal(json_object_get(data, "referral"), ref));
	same_text(json_object_get(data, "referral"), ref);
	json_decref(ref);
	res = adm(f, fd_op_admin_customers_get, bob, NULL, NULL, 200);
	assert_true(json_equal(json_object_get(data, "invitee"), res));
	same_text(json_object_get(data, "invitee"), res);
	json_decref(res);
	json_decref(list);
	/* reward.created's data, written as text (rules.c reward_created), is
	 * the Reward the ingest answered with, byte for byte. */
	list = adm(f, fd_op_admin_events_list, NULL,
	           "{\"name\":\"reward.created\"}", NULL, 200);
	json_array_foreach(json_object_get(list, "data"), i, ev)
	{
		data = json_object_get(ev, "data");
		json_array_foreach(granted, j, rw)
		{
			if (strcmp(s(rw, "id"), s(data, "id")) == 0) {
				same_text(data, rw);
				seen++;
			}
		}
	}
	assert_int_equal(seen, 2);
	json_decref(granted);
	json_decref(list);
	res = adm(f, fd_op_admin_customers_get, bob, NULL, NULL, 200);
	assert_string_equal(s(json_object_get(res, "referredBy"), "id"), alice);
	assert_string_equal(s(res, "referredInCampaignId"), cmp);
	json_decref(res);
}

static void test_unknown_user_is_created(void **state)
{
	fx *f = *state;
	char cmp[64];
	json_t *res;

	std_campaign(f, "production", 0, cmp);
	res = ingest(f, "ghost", "purchase", "production");
	assert_true(json_is_true(json_object_get(res, "matched")));
	assert_string_equal(s(res, "blockedBy"), "no_referral");
	assert_true(strncmp(s(res, "customerId"), "cus_", 4) == 0);
	json_decref(res);
	res = svc(f, fd_op_identify, "{\"externalUserId\":\"ghost\"}", 200);
	json_decref(res);
}

typedef struct {
	fx *f;
	int ok;
} race_arg;

static void *race(void *p)
{
	race_arg *a = p;
	json_t *r = ingest(a->f, "bob", "purchase", "production");

	a->ok = (int)json_array_size(json_object_get(r, "rewards"));
	json_decref(r);
	return NULL;
}

static void test_exactly_once_concurrent(void **state)
{
	fx *f = *state;
	char cmp[64], code[32];
	pthread_t t[32];
	race_arg a[32];
	json_t *ref;
	fd_engine_writer_stats ws;
	int i, total = 0;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	customer(f, "bob", "bob@example.com", NULL, NULL);
	ref = refer(f, cmp, code, "bob", 201);
	json_decref(ref);
	for (i = 0; i < 32; i++) {
		a[i].f = f;
		a[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, race, &a[i]), 0);
	}
	for (i = 0; i < 32; i++) {
		pthread_join(t[i], NULL);
		total += a[i].ok;
	}
	assert_int_equal(total, 2);
	assert_int_equal(count_rewards(f, NULL), 2);
	assert_int_equal(count_events(f, "reward.created"), 2);
	fd_engine_writer_stats_get(f->e, &ws);
	assert_int_equal(ws.rewards_granted, 2);
}

static void test_idempotency(void **state)
{
	fx *f = *state;
	call_opts o = {0};
	json_t *a, *b, *c;
	int status, replayed;

	o.idem = "key-1";
	a = callx(f, fd_op_identify, &o, "{\"externalUserId\":\"idem\"}",
	          &status, &replayed);
	assert_int_equal(status, 201);
	assert_int_equal(replayed, 0);
	b = callx(f, fd_op_identify, &o, "{\"externalUserId\":\"idem\"}",
	          &status, &replayed);
	/* The stored first response, not a fresh 200 "updated". */
	assert_int_equal(status, 201);
	assert_int_equal(replayed, 1);
	assert_true(json_equal(a, b));
	c = callx(f, fd_op_identify, &o, "{\"externalUserId\":\"other\"}",
	          &status, &replayed);
	assert_int_equal(status, 422);
	assert_string_equal(s(c, "code"), "idempotency_key_reused");
	assert_int_equal(count_events(f, "customer.created"), 1);
	json_decref(a);
	json_decref(b);
	json_decref(c);

	/* A completed 404 is the first response too: replayed, and what it
	 * would have created stays rolled back. */
	o.idem = "key-2";
	a = callx(f, fd_op_referral_create, &o,
	          "{\"campaignId\":\"cmp_x\",\"referralCode\":\"NOPE\","
	          "\"refereeExternalUserId\":\"z\"}",
	          &status, &replayed);
	assert_int_equal(status, 404);
	assert_int_equal(replayed, 0);
	b = callx(f, fd_op_referral_create, &o,
	          "{\"campaignId\":\"cmp_x\",\"referralCode\":\"NOPE\","
	          "\"refereeExternalUserId\":\"z\"}",
	          &status, &replayed);
	assert_int_equal(status, 404);
	assert_int_equal(replayed, 1);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	/* Keys are per application: the operator's (no application) same
	 * key is a fresh one. */
	o.idem = "key-1";
	o.who = &f->adm;
	o.app = "";
	a = callx(f, fd_op_admin_apps_create, &o, "{\"name\":\"X\"}", &status,
	          &replayed);
	assert_int_equal(status, 201);
	assert_int_equal(replayed, 0);
	json_decref(a);
}

typedef struct {
	fx *f;
	int status, replayed;
} idem_arg;

static void *idem_race(void *p)
{
	idem_arg *a = p;
	call_opts o = {0};
	json_t *r;

	o.idem = "same-key";
	r = callx(a->f, fd_op_identify, &o, "{\"externalUserId\":\"racer\"}",
	          &a->status, &a->replayed);
	json_decref(r);
	return NULL;
}

/* One key sent 16 times at once: one runs, the others are either told it
 * is in flight (409) or get its stored response. */
static void test_idempotency_in_flight(void **state)
{
	fx *f = *state;
	pthread_t t[16];
	idem_arg a[16];
	int i, fresh = 0;

	for (i = 0; i < 16; i++) {
		a[i].f = f;
		assert_int_equal(pthread_create(&t[i], NULL, idem_race, &a[i]),
		                 0);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_true(a[i].status == 201 || a[i].status == 409);
		if (a[i].status == 201 && !a[i].replayed)
			fresh++;
	}
	assert_int_equal(fresh, 1);
	assert_int_equal(count_events(f, "customer.created"), 1);
}

static void test_tenancy(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], other_app[64], bob[64];
	call_opts o = {0};
	fd_principal other;
	json_t *app, *key, *r;
	int status;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	customer(f, "bob", "bob@example.com", NULL, bob);
	o.who = &f->adm;
	app = callx(f, fd_op_admin_apps_create, &o, "{\"name\":\"B\"}", &status,
	            NULL);
	assert_int_equal(status, 201);
	cp(other_app, sizeof(other_app), app, "id");
	r = callx(f, fd_op_admin_apps_list, &o, NULL, &status, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
	json_decref(r);
	o.app = other_app;
	key = callx(f, fd_op_admin_keys_create, &o, "{\"kind\":\"service\"}",
	            &status, NULL);
	assert_int_equal(status, 201);
	assert_true(strncmp(s(key, "secret"), "sk_", 3) == 0);
	assert_int_equal(fd_engine_authenticate(f->e, s(key, "secret"), &other),
	                 0);
	assert_string_equal(other.app_id, other_app);

	/* App B can see none of app A's campaign, code or customers. */
	memset(&o, 0, sizeof(o));
	o.who = &other;
	{
		char body[256];
		snprintf(body, sizeof(body),
		         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
		         "\"refereeId\":\"%s\"}",
		         cmp, code, bob);
		r = callx(f, fd_op_referral_create, &o, body, &status, NULL);
		assert_int_equal(status, 404);
		json_decref(r);
	}
	{
		char body[128];
		snprintf(body, sizeof(body), "{\"referralCode\":\"%s\"}", code);
		r = callx(f, fd_op_referral_validate, &o, body, &status, NULL);
		assert_int_equal(status, 200);
		assert_false(json_is_true(json_object_get(r, "isValid")));
		json_decref(r);
	}
	r = callx(f, fd_op_campaigns_list, &o, NULL, &status, NULL);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	/* An admin token bound to app B does not reach app A. */
	o.who = &f->adm;
	o.app = other_app;
	json_decref(key);
	key = callx(f, fd_op_admin_keys_create, &o, "{\"kind\":\"admin\"}",
	            &status, NULL);
	assert_int_equal(fd_engine_authenticate(f->e, s(key, "secret"), &other),
	                 0);
	o.who = &other;
	o.app = f->app;
	o.id = bob;
	r = callx(f, fd_op_admin_customers_get, &o, NULL, &status, NULL);
	assert_int_equal(status, 404);
	json_decref(r);
	/* Revoked keys stop working. */
	o.who = &f->adm;
	o.app = other_app;
	o.id = s(key, "id");
	r = callx(f, fd_op_admin_keys_revoke, &o, NULL, &status, NULL);
	assert_int_equal(status, 200);
	assert_int_equal(fd_engine_authenticate(f->e, s(key, "secret"), &other),
	                 -1);
	json_decref(r);
	json_decref(key);
	json_decref(app);
}

static void test_environments_apart(void **state)
{
	fx *f = *state;
	char prod[64], test[64], code[32];
	json_t *r;
	int status;
	call_opts o = {0};

	std_campaign(f, "test", 0, test);
	r = callx(f, fd_op_campaigns_live, &o, NULL, &status, NULL);
	assert_int_equal(status, 404);
	assert_string_equal(s(r, "code"), "no_live_campaign");
	json_decref(r);
	std_campaign(f, "production", 0, prod);
	o.query = "{\"environment\":\"test\"}";
	r = callx(f, fd_op_campaigns_live, &o, NULL, &status, NULL);
	assert_int_equal(status, 200);
	assert_string_equal(s(r, "id"), test);
	json_decref(r);

	customer(f, "alice", "alice@example.com", code, NULL);
	customer(f, "bob", "bob@example.com", NULL, NULL);
	r = refer(f, test, code, "bob", 201);
	assert_string_equal(s(r, "environment"), "test");
	json_decref(r);
	/* A production checkpoint does not pay a test referral. */
	r = ingest(f, "bob", "purchase", "production");
	assert_string_equal(s(r, "blockedBy"), "no_referral");
	json_decref(r);
	r = ingest(f, "bob", "purchase", "test");
	assert_int_equal(json_array_size(json_object_get(r, "rewards")), 2);
	assert_string_equal(s(json_array_get(json_object_get(r, "rewards"), 0),
	                      "environment"),
	                    "test");
	json_decref(r);
	assert_int_equal(count_rewards(f, "{\"environment\":\"production\"}"),
	                 0);
	assert_int_equal(count_rewards(f, "{\"environment\":\"test\"}"), 2);
	/* A second live campaign replaces the first in its environment. */
	r = adm(f, fd_op_admin_campaigns_go_live, prod, NULL, NULL, 200);
	json_decref(r);
	std_campaign(f, "production", 0, prod);
	r = adm(f, fd_op_admin_campaigns_list, NULL,
	        "{\"environment\":\"production\"}", NULL, 200);
	{
		size_t i, live = 0;
		json_t *k;
		json_array_foreach(json_object_get(r, "data"), i, k)
		{
			live += json_is_true(json_object_get(k, "isLive"));
		}
		assert_int_equal(live, 1);
	}
	json_decref(r);
}

static void test_limits(void **state)
{
	fx *f = *state;
	char cmp[64], code[32];
	json_t *r;

	campaign(
	        f,
	        "{\"name\":\"L\",\"isLive\":true,\"rewards\":[{\"name\":\"r\","
	        "\"party\":\"referrer\",\"type\":\"payout\",\"limit\":1,"
	        "\"limitUnit\":\"reward\",\"limitInterval\":\"month\"},"
	        "{\"name\":\"e\",\"party\":\"referee\",\"type\":\"discount\"}],"
	        "\"checkpoints\":[{\"checkpointName\":\"purchase\"}]}",
	        cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	customer(f, "bob", "bob@example.com", NULL, NULL);
	customer(f, "carol", "carol@example.com", NULL, NULL);
	json_decref(refer(f, cmp, code, "bob", 201));
	json_decref(refer(f, cmp, code, "carol", 201));
	r = ingest(f, "bob", "purchase", "production");
	assert_int_equal(json_array_size(json_object_get(r, "rewards")), 2);
	json_decref(r);
	/* Alice's monthly referrer reward is used up; Carol's is not. */
	r = ingest(f, "carol", "purchase", "production");
	assert_int_equal(json_array_size(json_object_get(r, "rewards")), 1);
	assert_string_equal(
	        s(json_array_get(json_object_get(r, "rewards"), 0), "party"),
	        "referee");
	json_decref(r);
	assert_int_equal(count_rewards(f, NULL), 3);
}

static void test_limit_reached(void **state)
{
	fx *f = *state;
	char cmp[64], code[32];
	json_t *r;

	campaign(f,
	         "{\"name\":\"L\",\"isLive\":true,\"rewards\":[{\"name\":\"r\","
	         "\"party\":\"referrer\",\"limit\":1,\"limitInterval\":"
	         "\"lifetime\"}],\"checkpoints\":[{\"checkpointName\":\"buy\"}]"
	         "}",
	         cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	json_decref(refer(f, cmp, code, "bob", 201));
	json_decref(refer(f, cmp, code, "carol", 201));
	json_decref(ingest(f, "bob", "buy", "production"));
	r = ingest(f, "carol", "buy", "production");
	assert_string_equal(s(r, "blockedBy"), "limit_reached");
	json_decref(r);
}

#define DAY_MS (86400LL * 1000)

/* Wait (bounded) until n events named name exist. */
static void wait_events(fx *f, const char *name, long n)
{
	int i;

	for (i = 0; i < 3000 && count_events(f, name) < n; i++)
		usleep(10 * 1000);
}

static void test_hold_days(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], rid[64], rid2[64];
	json_t *r, *rw;
	std_campaign(f, "production", 14, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	json_decref(refer(f, cmp, code, "bob", 201));
	r = ingest(f, "bob", "purchase", "production");
	rw = json_array_get(json_object_get(r, "rewards"), 0);
	assert_string_equal(s(rw, "status"), "pending");
	assert_string_not_equal(s(rw, "availableAt"), s(rw, "createdAt"));
	cp(rid, sizeof(rid), rw, "id");
	cp(rid2, sizeof(rid2), json_array_get(json_object_get(r, "rewards"), 1),
	   "id");
	json_decref(r);
	assert_int_equal(count_rewards(f, "{\"status\":\"pending\"}"), 2);

	/* Fulfilling needs approved first. */
	json_decref(adm(f, fd_op_admin_rewards_fulfil, rid, NULL, NULL, 409));
	r = adm(f, fd_op_admin_rewards_approve, rid, NULL, NULL, 200);
	assert_string_equal(s(r, "status"), "approved");
	json_decref(r);
	r = adm(f, fd_op_admin_rewards_fulfil, rid, NULL, NULL, 200);
	assert_string_equal(s(r, "status"), "fulfilled");
	json_decref(r);
	json_decref(adm(f, fd_op_admin_rewards_revoke, rid, NULL, NULL, 409));
	assert_int_equal(count_events(f, "reward.fulfilled"), 1);

	/* A minute before the hold ends the other one is still pending. */
	assert_int_equal(fd_clock_advance(f->clock, 14 * DAY_MS - 60000), 0);
	assert_int_equal(count_rewards(f, "{\"status\":\"pending\"}"), 1);
	assert_int_equal(count_events(f, "reward.approved"), 1);
	/* After the hold the writer promotes it with a reward.approved
	 * event (the clock's move wakes its housekeeping), and it reads as
	 * approved. */
	assert_int_equal(fd_clock_advance(f->clock, 61000), 0);
	wait_events(f, "reward.approved", 2);
	assert_int_equal(count_events(f, "reward.approved"), 2);
	assert_int_equal(count_rewards(f, "{\"status\":\"approved\"}"), 1);
	r = adm(f, fd_op_admin_rewards_revoke, rid2, NULL, NULL, 200);
	assert_string_equal(s(r, "status"), "revoked");
	json_decref(r);
}

/* WAITS FOR THE STORE'S CLOCK. Once the clock is past the hold, both
 * rewards read approved at once, before the writer's housekeeping has
 * promoted them: the store computes the status from its "now", which must
 * be the engine's clock (today it reads the real clock, so the read says
 * pending until the promotion lands, or approved if it already has). */
static void test_hold_days_read_by_clock(void **state)
{
	fx *f = *state;
	char cmp[64], code[32];

	std_campaign(f, "production", 14, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	json_decref(refer(f, cmp, code, "bob", 201));
	json_decref(ingest(f, "bob", "purchase", "production"));
	assert_int_equal(count_rewards(f, "{\"status\":\"pending\"}"), 2);
	assert_int_equal(fd_clock_advance(f->clock, 14 * DAY_MS + 1000), 0);
	assert_int_equal(count_rewards(f, "{\"status\":\"approved\"}"), 2);
	assert_int_equal(count_rewards(f, "{\"status\":\"pending\"}"), 0);
}

static const char *first_fraud(json_t *ref)
{
	return s(json_array_get(json_object_get(ref, "suspectedFrauds"), 0),
	         "type");
}

static void test_fraud_self(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], code2[32];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	customer(f, "jane", "Jane.Doe+promo@googlemail.com", code, NULL);
	customer(f, "jane2", "janedoe@gmail.com", NULL, NULL);
	r = refer(f, cmp, code, "jane", 201);
	assert_string_equal(s(r, "status"), "flagged");
	assert_string_equal(first_fraud(r), "self_referral");
	json_decref(r);
	r = refer(f, cmp, code, "jane2", 201);
	assert_string_equal(s(r, "status"), "flagged");
	assert_string_equal(first_fraud(r), "self_referral");
	json_decref(r);
	customer(f, "x", "x@example.com", code2, NULL);
	customer(f, "y", "y@mailinator.com", NULL, NULL);
	r = refer(f, cmp, code2, "y", 201);
	assert_string_equal(first_fraud(r), "disposable_email");
	json_decref(r);
	assert_int_equal(count_events(f, "referral.flagged"), 3);
}

static void test_fraud_already_referred(void **state)
{
	fx *f = *state;
	char cmp[64], a[32], b[32];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", a, NULL);
	customer(f, "bea", "bea@example.com", b, NULL);
	json_decref(refer(f, cmp, a, "carl", 201));
	/* The same referrer again: the same referral, unchanged. */
	r = refer(f, cmp, a, "carl", 201);
	assert_string_equal(s(r, "status"), "pending");
	json_decref(r);
	r = refer(f, cmp, b, "carl", 201);
	assert_string_equal(s(r, "status"), "flagged");
	assert_string_equal(first_fraud(r), "already_referred");
	json_decref(r);
}

static void test_fraud_velocity(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], ext[16];
	json_t *r;
	int i;

	/* setup_velocity opened the engine with velocity_per_hour = 3. */
	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	for (i = 0; i < 3; i++) {
		snprintf(ext, sizeof(ext), "v%d", i);
		r = refer(f, cmp, code, ext, 201);
		assert_string_equal(s(r, "status"), "pending");
		json_decref(r);
	}
	r = refer(f, cmp, code, "v3", 201);
	assert_string_equal(s(r, "status"), "flagged");
	assert_string_equal(first_fraud(r), "velocity");
	json_decref(r);
}

static void test_flagged_then_approved_replays(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], ref[64];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	customer(f, "bob", "bob@mailinator.com", NULL, NULL);
	r = refer(f, cmp, code, "bob", 201);
	cp(ref, sizeof(ref), r, "id");
	json_decref(r);
	r = ingest(f, "bob", "purchase", "production");
	assert_string_equal(s(r, "blockedBy"), "flagged_referral");
	assert_int_equal(json_array_size(json_object_get(r, "rewards")), 0);
	json_decref(r);
	assert_int_equal(count_rewards(f, NULL), 0);
	r = adm(f, fd_op_admin_referrals_approve, ref, NULL, NULL, 200);
	assert_string_equal(s(r, "status"), "accepted");
	json_decref(r);
	assert_int_equal(count_rewards(f, NULL), 2);
	assert_int_equal(count_events(f, "invitee.accepted"), 1);
	/* Approving again is not a transition. */
	json_decref(
	        adm(f, fd_op_admin_referrals_approve, ref, NULL, NULL, 409));
}

static void test_rejected_never_pays(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], ref[64];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	r = refer(f, cmp, code, "bob", 201);
	cp(ref, sizeof(ref), r, "id");
	json_decref(r);
	r = adm(f, fd_op_admin_referrals_reject, ref, NULL, NULL, 200);
	assert_string_equal(s(r, "status"), "rejected");
	json_decref(r);
	r = ingest(f, "bob", "purchase", "production");
	assert_string_equal(s(r, "blockedBy"), "referral_rejected");
	json_decref(r);
	r = svc(f, fd_op_rewards_trigger,
	        "{\"externalUserId\":\"bob\",\"environment\":\"production\"}",
	        201);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	assert_int_equal(count_events(f, "referral.rejected"), 1);
}

static void test_failed_op_leaves_no_outbox_row(void **state)
{
	fx *f = *state;
	char cmp[64];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	/* This would create the referee "newbie" (customer.created) before
	 * finding that the code is unknown: all of it rolls back. */
	r = refer(f, cmp, "NOPE999", "newbie", 404);
	assert_string_equal(s(r, "code"), "invalid_referral_code");
	json_decref(r);
	assert_int_equal(count_events(f, "customer.created"), 0);
	r = adm(f, fd_op_admin_customers_list, NULL, NULL, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 0);
	json_decref(r);
}

static void test_trigger(void **state)
{
	fx *f = *state;
	char cmp[64], code[32];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	json_decref(refer(f, cmp, code, "bob", 201));
	r = svc(f, fd_op_rewards_trigger,
	        "{\"externalUserId\":\"bob\",\"environment\":\"production\","
	        "\"rewardFor\":[\"self\"]}",
	        201);
	assert_int_equal(json_array_size(r), 1);
	assert_true(strncmp(s(json_array_get(r, 0), "id"), "rwd_", 4) == 0);
	json_decref(r);
	assert_int_equal(count_rewards(f, "{\"status\":\"approved\"}"), 1);
	/* The older body, from the referrer's side: the partner is paid. */
	r = svc(f, fd_op_rewards_trigger,
	        "{\"customerExternalId\":\"alice\",\"mode\":\"latest\","
	        "\"campaignId\":\"_\"}",
	        404);
	json_decref(r);
	{
		char body[256];
		snprintf(body, sizeof(body),
		         "{\"customerExternalId\":\"alice\",\"mode\":\"all\","
		         "\"campaignId\":\"%s\"}",
		         cmp);
		r = svc(f, fd_op_rewards_trigger, body, 201);
		assert_int_equal(json_array_size(r), 1);
		json_decref(r);
		r = svc(f, fd_op_rewards_trigger, body, 201);
		assert_int_equal(json_array_size(r), 0);
		json_decref(r);
	}
	assert_int_equal(count_rewards(f, NULL), 2);
	r = svc(f, fd_op_rewards_trigger,
	        "{\"externalUserId\":\"nobody\",\"environment\":"
	        "\"production\"}",
	        404);
	json_decref(r);
}

static void test_reads(void **state)
{
	fx *f = *state;
	char cmp[64], code[32], body[128];
	call_opts o = {0};
	json_t *r;
	int status;

	std_campaign(f, "production", 0, cmp);
	customer(f, "alice", "alice@example.com", code, NULL);
	snprintf(body, sizeof(body), "{\"referralCode\":\"%s\"}", code);
	r = svc(f, fd_op_referral_validate, body, 200);
	assert_true(json_is_true(json_object_get(r, "isValid")));
	assert_string_equal(
	        s(json_object_get(r, "referredBy"), "externalUserId"), "alice");
	json_decref(r);
	r = svc(f, fd_op_referral_validate, "{\"referralCode\":\"ZZZ\"}", 200);
	assert_true(json_is_null(json_object_get(r, "referredBy")));
	json_decref(r);
	r = svc(f, fd_op_campaigns_list, NULL, 200);
	assert_int_equal(json_array_size(r), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 0),
	                                                 "rewards")),
	                 2);
	json_decref(r);
	r = svc(f, fd_op_campaign_checkpoints, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(r, "data")), 2);
	json_decref(r);
	o.id = cmp;
	r = callx(f, fd_op_campaign_ping, &o, NULL, &status, NULL);
	assert_int_equal(status, 200);
	json_decref(r);
	r = svc(f, fd_op_campaigns_live, NULL, 200);
	assert_non_null(s(r, "lastPingAt"));
	json_decref(r);
	json_decref(refer(f, cmp, code, "bob", 201));
	o.id = NULL;
	o.query = "{\"status\":\"pending\",\"limit\":\"1\"}";
	r = callx(f, fd_op_referrals_list, &o, NULL, &status, NULL);
	assert_int_equal(status, 200);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "limit")), 1);
	json_decref(r);
	r = svc(f, fd_op_noop, NULL, 200);
	json_decref(r);
}

static void test_customer_erase(void **state)
{
	fx *f = *state;
	char id[64];
	json_t *r;

	customer(f, "alice", "alice@example.com", NULL, id);
	r = adm(f, fd_op_admin_customers_delete, id, NULL, NULL, 200);
	assert_true(json_is_null(json_object_get(r, "email")));
	assert_true(json_is_null(json_object_get(r, "name")));
	assert_non_null(s(r, "deletedAt"));
	json_decref(r);
	json_decref(adm(f, fd_op_admin_customers_delete, "cus_nope", NULL, NULL,
	                404));
}

static void test_webhooks_and_checkpoint_event(void **state)
{
	fx *f = *state;
	char id[64];
	json_t *r;

	json_decref(ingest(f, "u", "opened", "production"));
	assert_int_equal(count_events(f, "checkpoint.ingested"), 0);
	r = adm(f, fd_op_admin_webhooks_create, NULL, NULL,
	        "{\"url\":\"https://93.184.215.14/h\",\"events\":"
	        "[\"checkpoint.ingested\"]}",
	        201);
	assert_true(strncmp(s(r, "secret"), "whsec_", 6) == 0);
	cp(id, sizeof(id), r, "id");
	json_decref(r);
	json_decref(ingest(f, "u", "opened", "production"));
	assert_int_equal(count_events(f, "checkpoint.ingested"), 1);
	r = adm(f, fd_op_admin_webhooks_list, NULL, NULL, NULL, 200);
	assert_null(json_object_get(
	        json_array_get(json_object_get(r, "data"), 0), "secret"));
	json_decref(r);
	json_decref(adm(f, fd_op_admin_webhooks_delete, id, NULL, NULL, 200));
	json_decref(adm(f, fd_op_admin_webhooks_delete, id, NULL, NULL, 404));
}

static void test_campaign_update(void **state)
{
	fx *f = *state;
	char cmp[64];
	json_t *r;

	std_campaign(f, "production", 0, cmp);
	r = adm(f, fd_op_admin_campaigns_update, cmp, NULL,
	        "{\"name\":\"Summer\",\"isLive\":false,\"endsAt\":"
	        "\"2020-01-01T00:00:00.000Z\"}",
	        200);
	assert_string_equal(s(r, "name"), "Summer");
	assert_false(json_is_true(json_object_get(r, "isLive")));
	assert_string_equal(s(r, "endsAt"), "2020-01-01T00:00:00.000Z");
	assert_int_equal(json_array_size(json_object_get(r, "rewards")), 2);
	json_decref(r);
	json_decref(
	        adm(f, fd_op_admin_campaigns_go_live, cmp, NULL, NULL, 200));
	/* Live but ended: no live campaign, and checkpoints pay nothing. */
	json_decref(svc(f, fd_op_campaigns_live, NULL, 404));
	r = ingest(f, "bob", "purchase", "production");
	assert_string_equal(s(r, "blockedBy"), "campaign_not_live");
	json_decref(r);
	json_decref(
	        adm(f, fd_op_admin_campaigns_get, "cmp_nope", NULL, NULL, 404));
}

static int setup_velocity(void **state)
{
	int rc;

	velocity = 3;
	rc = setup(state);
	velocity = 0;
	return rc;
}

/* One writer thread, as on SQLite, also on PostgreSQL (2 by default). */
static int setup_one_writer(void **state)
{
	int rc;

	writers = 1;
	rc = setup(state);
	writers = 0;
	return rc;
}

/* ---- the writer's batches ---------------------------------------------
 * A batch runs without savepoints; a job that fails in it sends the whole
 * batch round again with a savepoint per job, so that only the failing
 * job's writes are undone. Eight writes are held in one batch behind a
 * job that waits on the writer thread until they are all queued. */

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int in, go;
} gate;

static int gate_job(fd_conn *c, int64_t now, void *arg)
{
	gate *g = arg;

	(void)c;
	(void)now;
	pthread_mutex_lock(&g->mu);
	g->in = 1;
	pthread_cond_broadcast(&g->cv);
	while (!g->go)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return FD_OK;
}

typedef struct {
	fd_engine *e;
	int k;    /* the organization's number */
	int fail; /* insert it, then fail: its insert must be undone */
	int rc;
	gate *g;
} org_write;

static int org_job(fd_conn *c, int64_t now, void *arg)
{
	org_write *w = arg;
	char id[32];

	snprintf(id, sizeof(id), "org_batch_%d", w->k);
	if (fd_store_org_insert(c, id, "batch", now) != FD_OK)
		return FD_ERR;
	return w->fail ? FD_CONFLICT : FD_OK;
}

static void *org_thread(void *arg)
{
	org_write *w = arg;

	w->rc = fd_engine_write(w->e, w->g ? gate_job : org_job,
	                        w->g ? (void *)w->g : w);
	return NULL;
}

static int count_orgs(fd_conn *c, int64_t now, void *arg)
{
	(void)now;
	return fd_store_org_count(c, arg);
}

/* Eight writes in one batch, failing where fail[k]; their codes checked.
 * The engine has one writer (setup_one_writer): with more, another
 * writer would take them. */
static void held_batch(fx *f, int base, const int fail[8])
{
	gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	org_write hold = {f->e, 0, 0, -1, &g}, w[8];
	pthread_t th[9];
	fd_engine_writer_stats st;
	int k, spins;

	assert_int_equal(pthread_create(&th[8], NULL, org_thread, &hold), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.in)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	for (k = 0; k < 8; k++) {
		w[k] = (org_write){f->e, base + k, fail[k], -1, NULL};
		assert_int_equal(
		        pthread_create(&th[k], NULL, org_thread, &w[k]), 0);
	}
	/* Until all eight wait in the writer's queue (bounded). */
	for (spins = 0;; spins++) {
		fd_engine_writer_stats_get(f->e, &st);
		if (st.queued == 8)
			break;
		assert_true(spins < 100000);
		sched_yield();
		usleep(100);
	}
	pthread_mutex_lock(&g.mu);
	g.go = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	for (k = 0; k < 9; k++)
		pthread_join(th[k], NULL);
	assert_int_equal(hold.rc, FD_OK);
	for (k = 0; k < 8; k++)
		assert_int_equal(w[k].rc, fail[k] ? FD_CONFLICT : FD_OK);
}

static void test_writer_batch_rolls_back_one_job(void **state)
{
	fx *f = *state;
	static const int some[8] = {0, 1, 0, 0, 1, 0, 0, 0};
	static const int none[8] = {0};
	fd_engine_writer_stats a, b, c;
	long before = 0, mid = 0, after = 0;
	org_write one;
	int k;

	assert_int_equal(fd_engine_read(f->e, count_orgs, &before), FD_OK);
	fd_engine_writer_stats_get(f->e, &a);
	held_batch(f, 0, some);
	fd_engine_writer_stats_get(f->e, &b);
	assert_int_equal(fd_engine_read(f->e, count_orgs, &mid), FD_OK);
	/* The six good writes kept, the two failed ones undone; their batch
	 * ran a second time, with savepoints. */
	assert_int_equal(mid - before, 6);
	assert_true(b.reruns - a.reruns == 1);

	/* Past the batches that stay on savepoints after a failure, a batch
	 * whose jobs all succeed commits in one go, without a rerun. */
	for (k = 0; k < 20; k++) {
		one = (org_write){f->e, 100 + k, 0, -1, NULL};
		org_thread(&one);
		assert_int_equal(one.rc, FD_OK);
	}
	fd_engine_writer_stats_get(f->e, &b);
	held_batch(f, 200, none);
	fd_engine_writer_stats_get(f->e, &c);
	assert_int_equal(fd_engine_read(f->e, count_orgs, &after), FD_OK);
	assert_int_equal(after - mid, 28);
	assert_int_equal(c.reruns, b.reruns);
	assert_true(c.batches > b.batches);
	assert_int_equal(c.queued, 0);
}

/* On PostgreSQL, a write is committed by another writer while one
 * writer's job waits (SQLite has one writer: skipped). */
static void test_writers_run_at_once(void **state)
{
	fx *f = *state;
	gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	org_write hold = {f->e, 0, 0, -1, &g}, one = {f->e, 300, 0, -1, NULL};
	pthread_t th[2];
	struct timespec until;
	long before = 0, n = 0;
	int joined;

	if (strncmp(f->db, "postgres", 8) != 0)
		skip();
	assert_int_equal(fd_engine_read(f->e, count_orgs, &before), FD_OK);
	assert_int_equal(pthread_create(&th[0], NULL, org_thread, &hold), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.in)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	/* The first writer is held in gate_job; the write must not wait for
	 * it (bounded: 10 s, then the gate opens and the test fails). */
	assert_int_equal(pthread_create(&th[1], NULL, org_thread, &one), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	joined = pthread_timedjoin_np(th[1], NULL, &until) == 0;
	assert_int_equal(fd_engine_read(f->e, count_orgs, &n), FD_OK);
	pthread_mutex_lock(&g.mu);
	g.go = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	pthread_join(th[0], NULL);
	if (!joined)
		pthread_join(th[1], NULL);
	assert_true(joined);
	assert_int_equal(one.rc, FD_OK);
	assert_int_equal(hold.rc, FD_OK);
	/* org_batch_300 committed while the gate was still shut. */
	assert_int_equal(n - before, 1);
}

/* Two writes of one order group (an import's rows), the first held in
 * its job: the second waits for it, and a write of no group queued
 * after it goes first, on the other writer (PostgreSQL). */
static gate *group_gate;
static int group_order, group_first_at, group_second_at;
static pthread_mutex_t group_mu = PTHREAD_MUTEX_INITIALIZER;

static int group_first_job(fd_ctx *x)
{
	gate_job(x->c, x->now, group_gate);
	pthread_mutex_lock(&group_mu);
	group_first_at = ++group_order;
	pthread_mutex_unlock(&group_mu);
	return fd__ok(x, FD_OUT_OK, json_object());
}

static int group_second_job(fd_ctx *x)
{
	pthread_mutex_lock(&group_mu);
	group_second_at = ++group_order;
	pthread_mutex_unlock(&group_mu);
	return fd__ok(x, FD_OUT_OK, json_object());
}

typedef struct {
	fx *f;
	fd_job_fn fn;
	fd_response res;
} group_write;

static void *group_thread(void *arg)
{
	static const int group = 1;
	group_write *g = arg;
	fd_request req;

	memset(&req, 0, sizeof(req));
	req.who = &g->f->svc;
	req.app_id = g->f->svc.app_id;
	req.order_group = &group;
	fd__run_write(g->f->e, &req, &g->res, g->fn);
	return NULL;
}

static void test_order_group_waits(void **state)
{
	fx *f = *state;
	gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	group_write first = {f, group_first_job, {0}},
	            second = {f, group_second_job, {0}};
	org_write other = {f->e, 400, 0, -1, NULL};
	fd_engine_writer_stats st;
	pthread_t th[3];
	struct timespec until;
	int spins, joined, early;

	if (strncmp(f->db, "postgres", 8) != 0)
		skip();
	group_gate = &g;
	group_order = group_first_at = group_second_at = 0;
	assert_int_equal(pthread_create(&th[0], NULL, group_thread, &first), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.in)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	assert_int_equal(pthread_create(&th[1], NULL, group_thread, &second),
	                 0);
	for (spins = 0; spins < 100000; spins++) { /* until it is queued */
		fd_engine_writer_stats_get(f->e, &st);
		if (st.queued == 1)
			break;
		usleep(100);
	}
	/* Queued after the second, run before it by the other writer. */
	assert_int_equal(pthread_create(&th[2], NULL, org_thread, &other), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	joined = pthread_timedjoin_np(th[2], NULL, &until) == 0;
	pthread_mutex_lock(&group_mu);
	early = group_second_at;
	pthread_mutex_unlock(&group_mu);
	fd_engine_writer_stats_get(f->e, &st);
	/* The gate opens before any assertion, so a failure never leaves a
	 * writer held. */
	pthread_mutex_lock(&g.mu);
	g.go = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	if (!joined)
		pthread_join(th[2], NULL);
	assert_true(joined);
	assert_int_equal(early, 0); /* the second had not run */
	assert_int_equal(other.rc, FD_OK);
	assert_int_equal(st.queued, 1); /* the second, still waiting */
	assert_int_equal(first.res.outcome, FD_OUT_OK);
	assert_int_equal(second.res.outcome, FD_OUT_OK);
	assert_int_equal(group_first_at, 1);
	assert_int_equal(group_second_at, 2);
	json_decref(first.res.body);
	json_decref(second.res.body);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_identify),
	        T(test_missing_fields_never_crash),
	        T(test_reward_flow),
	        T(test_unknown_user_is_created),
	        T(test_exactly_once_concurrent),
	        T(test_idempotency),
	        T(test_idempotency_in_flight),
	        T(test_tenancy),
	        T(test_environments_apart),
	        T(test_limits),
	        T(test_limit_reached),
	        T(test_hold_days),
	        T(test_hold_days_read_by_clock),
	        T(test_fraud_self),
	        T(test_fraud_already_referred),
	        cmocka_unit_test_setup_teardown(test_fraud_velocity,
	                                        setup_velocity, teardown),
	        T(test_flagged_then_approved_replays),
	        T(test_rejected_never_pays),
	        T(test_failed_op_leaves_no_outbox_row),
	        T(test_trigger),
	        T(test_reads),
	        T(test_customer_erase),
	        T(test_webhooks_and_checkpoint_event),
	        T(test_campaign_update),
	        cmocka_unit_test_setup_teardown(
	                test_writer_batch_rolls_back_one_job, setup_one_writer,
	                teardown),
	        T(test_writers_run_at_once),
	        T(test_order_group_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
