/*
 * flockd engine: the wire API operations (api.md section 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "engine/internal.h"
#include "base/jdump.h"

static int bad_env(fd_ctx *x)
{
	return fd__invalid(x, "environment",
	                   "must be one of: production, test");
}

/* A lookup's store code as an answer: 0 found, -1 with not found
 * (code, message) or internal set. */
static int found(fd_ctx *x, int rc, const char *code, const char *message)
{
	if (rc == FD_OK)
		return 0;
	if (rc == FD_NOTFOUND)
		return fd__fail(x, FD_OUT_NOT_FOUND, code, "%s", message);
	return fd__internal(x);
}

/* customProperties as JSON text, NULL when absent. */
static int props_text(fd_ctx *x, const char *field, char **out)
{
	json_t *p = json_object_get(x->req->body, field);

	*out = NULL;
	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p))
		return fd__invalid(x, field, "must be an object");
	if (!(*out = fd_jdump(p, NULL)))
		return fd__internal(x);
	return 0;
}

/* ---- what a public key reads (docs/security.md) ---------------------- */

static int is_public(const fd_ctx *x)
{
	return x->req && x->req->who && x->req->who->kind == FD_KEY_PUBLIC;
}

/* A public key is in every copy of an app: it reads no customer's email,
 * external id elsewhere, or properties. cus (a Customer) in place. */
static void redact_customer(json_t *cus)
{
	json_t *by = json_object_get(cus, "referredBy");

	json_object_set_new(cus, "email", json_null());
	json_object_set_new(cus, "customProperties", json_object());
	if (json_is_object(by)) {
		json_object_set_new(by, "email", json_null());
		json_object_set_new(by, "externalUserId", json_null());
	}
}

/* ---- POST /customers/identify ---------------------------------------- */

static int identify(fd_ctx *x)
{
	const char *ext = fd__bstr(x, "externalUserId");
	const char *env = fd__env(x);
	json_t *cus = NULL;
	char *props = NULL, id[FLOCK__ID_MAX];
	fd_outcome o = FD_OUT_OK;
	int rc;

	if (!ext || !*ext)
		return fd__missing(x, "externalUserId");
	if (!env)
		return bad_env(x);
	if (props_text(x, "customProperties", &props) < 0)
		return -1;
	rc = fd_store_customer_get(x->c, x->app, FD_BY_EXTERNAL, ext, &cus);
	if (rc == FD_NOTFOUND) {
		o = FD_OUT_CREATED;
		rc = fd__customer_create(x, ext, fd__bstr(x, "email"),
		                         fd__bstr(x, "name"), props, env, &cus);
	} else if (rc == FD_OK && is_public(x)) {
		/* Anyone can send any externalUserId with a public key: an
		 * existing customer is neither changed nor shown whole (the
		 * service key updates it). */
		redact_customer(cus);
	} else if (rc == FD_OK) {
		snprintf(id, sizeof(id), "%s", fd__jstr(cus, "id"));
		json_decref(cus);
		cus = NULL;
		rc = fd_store_customer_update(
		        x->c, x->app, id, fd__bstr(x, "email"),
		        fd__bstr(x, "name"), props, x->now);
		if (rc == FD_OK)
			rc = fd_store_customer_get(x->c, x->app, FD_BY_ID, id,
			                           &cus);
	}
	free(props);
	if (rc != FD_OK) {
		json_decref(cus);
		return fd__internal(x);
	}
	return fd__ok(x, o, cus);
}

FD_WRITE_OP(fd_op_identify, identify)

/* ---- campaigns ------------------------------------------------------- */

static int campaigns_list(fd_ctx *x)
{
	json_t *list = NULL;

	if (fd_store_campaign_list(x->c, x->app, fd__scope_env(x), &list) !=
	    FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, list);
}

FD_READ_OP(fd_op_campaigns_list, campaigns_list)

static int campaigns_live(fd_ctx *x)
{
	const char *env = fd__env(x), *cid = fd__qstr(x, "customerId");
	json_t *k = NULL, *cus = NULL;
	int rc;

	if (!env)
		return bad_env(x);
	if (cid) {
		rc = fd_store_customer_get(x->c, x->app, FD_BY_ID, cid, &cus);
		json_decref(cus);
		if (found(x, rc, "customer_not_found", "customer not found") <
		    0)
			return -1;
	}
	rc = fd_store_campaign_live(x->c, x->app, env, &k);
	if (rc == FD_NOTFOUND || (rc == FD_OK && !fd__campaign_running(x, k))) {
		json_decref(k);
		fd__fail(x, FD_OUT_NOT_FOUND, "no_live_campaign",
		         "no live campaign in %s", env);
		return -1;
	}
	if (rc != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, k);
}

FD_READ_OP(fd_op_campaigns_live, campaigns_live)

static int campaign_ping(fd_ctx *x)
{
	int rc = fd_store_campaign_ping(x->c, x->app, x->req->id,
	                                x->req->origin, x->now);

	if (rc == FD_NOTFOUND || !x->req->id)
		return fd__fail(x, FD_OUT_NOT_FOUND, "campaign_not_found",
		                "campaign not found");
	if (rc != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, json_pack("{s:s}", "id", x->req->id));
}

FD_WRITE_OP(fd_op_campaign_ping, campaign_ping)

static int campaign_checkpoints(fd_ctx *x)
{
	json_t *list = NULL;

	if (fd_store_checkpoint_list(x->c, x->app, fd__qstr(x, "campaignId"),
	                             &list) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, json_pack("{s:o}", "data", list));
}

FD_READ_OP(fd_op_campaign_checkpoints, campaign_checkpoints)

/* ---- POST /checkpoints/ingest ---------------------------------------- */

typedef struct {
	json_t *customer, *campaign, *referral, *referrer;
	flock__buf rewards; /* the granted Rewards' texts, comma-separated */
	const char *blocked;
	int matched, running;
} ingest_state;

static void ingest_free(ingest_state *s)
{
	json_decref(s->customer);
	json_decref(s->campaign);
	json_decref(s->referral);
	json_decref(s->referrer);
	flock__buf_free(&s->rewards);
}

/* Does the live campaign of env have a reward checkpoint called name?
 * s->campaign gets the campaign (NULL: none live). 0 or -1. */
static int ingest_match(fd_ctx *x, ingest_state *s, const char *env,
                        const char *name)
{
	json_t *chks = NULL, *chk;
	size_t i;
	int rc = fd__live(x, env, &s->campaign, &chks);

	if (rc == FD_NOTFOUND) {
		s->blocked = "campaign_not_live";
		return 0;
	}
	if (rc != FD_OK)
		return -1;
	json_array_foreach(chks, i, chk)
	{
		if (fd__jstr(chk, "checkpointName") &&
		    strcmp(fd__jstr(chk, "checkpointName"), name) == 0 &&
		    fd__jstr(chk, "trigger") &&
		    strcmp(fd__jstr(chk, "trigger"), "reward") == 0)
			s->matched = 1;
	}
	json_decref(chks);
	return 0;
}

/* The customer's referral in the matched campaign: accept it and grant
 * both sides, or say in s->blocked why not. 0 or -1. */
static int ingest_grant(fd_ctx *x, ingest_state *s)
{
	const char *status;
	json_t *referrer = s->referrer;
	fd_grants g = {NULL, &s->rewards};

	if (!s->referral) {
		s->blocked = "no_referral";
		return 0;
	}
	status = fd__jstr(s->referral, "status");
	if (strcmp(status, "flagged") == 0) {
		s->blocked = "flagged_referral";
		return 0;
	}
	if (strcmp(status, "rejected") == 0) {
		s->blocked = "referral_rejected";
		return 0;
	}
	s->referrer = NULL;
	if (fd__accept_referee(x, s->referral, s->campaign, s->customer,
	                       referrer) < 0 ||
	    fd__grant(x, s->referral, s->campaign,
	              FD_PARTY_REFERRER | FD_PARTY_REFEREE, &g,
	              &s->blocked) < 0)
		return -1;
	return 0;
}

/* The rules once the event is stored (the match made before the
 * customer was read): referral, grant. */
static int ingest_rules(fd_ctx *x, ingest_state *s)
{
	if (!s->matched)
		return 0;
	if (!s->running) {
		s->blocked = "campaign_not_live";
		return 0;
	}
	return ingest_grant(x, s);
}

/* The customer, and where the checkpoint can grant, its referral and
 * their referrer, read together; an unknown user is created bare (the
 * event is never dropped). FD_OK or the failure. */
static int ingest_read(fd_ctx *x, ingest_state *s, const char *env,
                       const char *ext)
{
	int rc;

	s->running = s->matched && fd__campaign_running(x, s->campaign);
	rc = fd_store_referee_get(x->c, x->app, ext,
	                          s->running ? fd__jstr(s->campaign, "id")
	                                     : NULL,
	                          &s->customer, &s->referral, &s->referrer);
	if (rc == FD_NOTFOUND)
		rc = fd__customer_create(x, ext, NULL, NULL, NULL, env,
		                         &s->customer);
	return rc;
}

/* The answer, a CheckpointEvent, written as text once (the server sends
 * these bytes and an Idempotency-Key keeps them): its referral dumped,
 * its rewards the texts fd__grant wrote. NULL: out of memory. */
static char *ingest_text(fd_ctx *x, ingest_state *s, const char *id,
                         const char *env, const char *name)
{
	const char *cus = fd__jstr(s->customer, "id");
	char iso[FLOCK__ISO8601_LEN];
	flock__buf b = FLOCK__BUF_INIT;

	if (!cus || s->rewards.oom)
		return NULL;
	flock__iso8601(iso, x->now);
	fd__jput(&b, "{\"id\":", id);
	fd__jput(&b, ",\"organizationId\":",
	         fd__jstr(s->customer, "organizationId"));
	fd__jput(&b, ",\"applicationId\":", x->app);
	fd__jput(&b, ",\"checkpointName\":", name);
	fd__jput(&b, ",\"customerId\":", cus);
	fd__jput(&b, ",\"environment\":", env);
	flock__buf_puts(&b, s->matched ? ",\"matched\":true"
	                               : ",\"matched\":false");
	flock__buf_puts(&b, ",\"referral\":");
	if (!s->referral)
		flock__buf_puts(&b, "null");
	else if (fd_jdump_append(&b, s->referral) < 0)
		goto fail;
	flock__buf_puts(&b, ",\"rewards\":[");
	flock__buf_put(&b, s->rewards.ptr ? s->rewards.ptr : "",
	               s->rewards.len);
	flock__buf_puts(&b, "]");
	fd__jput(&b, ",\"blockedBy\":", s->blocked);
	fd__jput(&b, ",\"createdAt\":", iso);
	fd__jput(&b, ",\"updatedAt\":", iso);
	if (flock__buf_puts(&b, ",\"deletedAt\":null}") < 0)
		goto fail;
	return flock__buf_detach(&b);
fail:
	flock__buf_free(&b);
	return NULL;
}

static int ingest_event(fd_ctx *x, const char *id, const char *env,
                        const char *name, const char *cus_id)
{
	json_t *props = json_object_get(x->req->body, "properties");
	char *text = json_is_object(props) ? fd_jdump(props, NULL) : NULL;
	int rc = fd_store_event_insert(x->c, x->app, id, env, cus_id, name,
	                               text, x->now);
	int wants = rc == FD_OK ? fd_store_webhook_wants(x->c, x->app,
	                                                 "checkpoint.ingested")
	                        : 0;

	free(text);
	if (rc != FD_OK || wants < 0)
		return -1;
	if (!wants)
		return 0;
	return fd__emit_named(x, env, "checkpoint.ingested",
	                      json_pack("{s:s, s:s, s:s, s:O?}", "id", id,
	                                "checkpointName", name, "customerId",
	                                cus_id, "properties", props));
}

static int checkpoint_ingest(fd_ctx *x)
{
	const char *name = fd__bstr(x, "checkpointName");
	const char *ext = fd__bstr(x, "externalUserId");
	const char *env = fd__env(x);
	char id[FLOCK__ID_MAX];
	ingest_state s;
	int rc;

	memset(&s, 0, sizeof(s));
	if (!name)
		name = fd__bstr(x, "name");
	if (!name || !*name)
		return fd__missing(x, "checkpointName");
	if (!ext || !*ext)
		return fd__missing(x, "externalUserId");
	if (!env)
		return bad_env(x);
	if (flock__id_new(id, "evt_") < 0)
		goto fail;
	if (ingest_match(x, &s, env, name) < 0 ||
	    ingest_read(x, &s, env, ext) != FD_OK ||
	    ingest_event(x, id, env, name, fd__jstr(s.customer, "id")) < 0 ||
	    ingest_rules(x, &s) < 0)
		goto fail;
	rc = fd__ok_text(x, FD_OUT_CREATED, ingest_text(x, &s, id, env, name));
	ingest_free(&s);
	return rc;
fail:
	ingest_free(&s);
	return fd__internal(x);
}

FD_WRITE_OP(fd_op_checkpoint_ingest, checkpoint_ingest)

/* ---- POST /referrals ------------------------------------------------- */

static int find_referee(fd_ctx *x, const char *env, json_t **out)
{
	const char *id = fd__bstr(x, "refereeId");
	const char *ext = fd__bstr(x, "refereeExternalUserId");
	int rc;

	if (id) {
		rc = fd_store_customer_get(x->c, x->app, FD_BY_ID, id, out);
	} else if (ext && *ext) {
		rc = fd_store_customer_get(x->c, x->app, FD_BY_EXTERNAL, ext,
		                           out);
		if (rc == FD_NOTFOUND)
			rc = fd__customer_create(x, ext, NULL, NULL, NULL, env,
			                         out);
	} else {
		return fd__missing(x, "refereeId");
	}
	return found(x, rc, "customer_not_found", "referee not found");
}

/* A second referrer for a referee already referred in the campaign: the
 * referral moves to the new referrer but is flagged for an admin. */
static int referral_rereferred(fd_ctx *x, json_t *old, const json_t *referrer,
                               json_t *frauds, json_t **out)
{
	const char *status = fd__jstr(old, "status");
	char *text = NULL;
	int rc = -1;

	if (strcmp(fd__jstr(old, "referrerId"), fd__jstr(referrer, "id")) ==
	    0) {
		*out = json_incref(old);
		return 0;
	}
	if (strcmp(status, "accepted") == 0 || strcmp(status, "rejected") == 0)
		return fd__fail(x, FD_OUT_CONFLICT, "already_referred",
		                "the referee was already referred in this "
		                "campaign");
	if (!frauds)
		frauds = json_array();
	json_array_append_new(frauds, json_pack("{s:s, s:s}", "type",
	                                        "already_referred", "message",
	                                        "the referee was already "
	                                        "referred in this campaign "
	                                        "by someone else"));
	text = fd_jdump(frauds, NULL);
	if (text &&
	    fd_store_referral_update(x->c, x->app, fd__jstr(old, "id"),
	                             fd__jstr(referrer, "id"), "flagged", text,
	                             x->now) == FD_OK &&
	    fd_store_customer_count(x->c, x->app, fd__jstr(referrer, "id"), 1,
	                            0, x->now) == FD_OK &&
	    fd_store_referral_get(x->c, x->app, fd__jstr(old, "id"), out) ==
	            FD_OK &&
	    fd__emit(x, fd__jstr(*out, "environment"), "referral.flagged",
	             json_incref(*out)) == 0)
		rc = 0;
	free(text);
	json_decref(frauds);
	return rc < 0 ? fd__internal(x) : 0;
}

static int referral_new(fd_ctx *x, const json_t *k, const json_t *referrer,
                        const json_t *referee, json_t *frauds, json_t **out)
{
	char id[FLOCK__ID_MAX], *text = NULL;
	const char *env = fd__jstr(k, "environment");
	const char *status = frauds ? "flagged" : "pending";
	int rc = -1;

	if (frauds && !(text = fd_jdump(frauds, NULL)))
		goto done;
	if (flock__id_new(id, "ref_") < 0 ||
	    fd_store_referral_insert(x->c, x->app, id, env, fd__jstr(k, "id"),
	                             fd__jstr(referrer, "id"),
	                             fd__jstr(referee, "id"), status, text,
	                             x->now) != FD_OK ||
	    fd_store_customer_set_referred(
	            x->c, x->app, fd__jstr(referee, "id"),
	            fd__jstr(referrer, "id"), id, fd__jstr(k, "id"),
	            x->now) != FD_OK ||
	    fd_store_customer_count(x->c, x->app, fd__jstr(referrer, "id"), 1,
	                            0, x->now) != FD_OK ||
	    fd_store_referral_get(x->c, x->app, id, out) != FD_OK ||
	    fd__emit(x, env, "referral.created", json_incref(*out)) < 0)
		goto done;
	if (frauds &&
	    fd__emit(x, env, "referral.flagged", json_incref(*out)) < 0)
		goto done;
	rc = 0;
done:
	free(text);
	json_decref(frauds);
	return rc < 0 ? fd__internal(x) : 0;
}

/* The campaign, the referrer (by its code) and the referee of a new
 * referral (new references, NULL until found). 0, or -1 with res set. */
static int referral_parties(fd_ctx *x, json_t **k, json_t **referrer,
                            json_t **referee)
{
	const char *cid = fd__bstr(x, "campaignId");
	const char *code = fd__bstr(x, "referralCode");
	int rc;

	if (!cid)
		return fd__missing(x, "campaignId");
	if (!code)
		return fd__missing(x, "referralCode");
	if (found(x, fd_store_campaign_get(x->c, x->app, cid, k),
	          "campaign_not_found", "campaign not found") < 0)
		return -1;
	/* A public key creating referrals could test codes as validate-code
	 * does: the same miss limit. */
	if (fd__code_misses(x, 0) < 0)
		return -1;
	rc = fd_store_customer_get(x->c, x->app, FD_BY_CODE, code, referrer);
	if (rc == FD_NOTFOUND && fd__code_misses(x, 1) < 0)
		return -1;
	if (found(x, rc, "invalid_referral_code", "unknown referral code") < 0)
		return -1;
	return find_referee(x, fd__jstr(*k, "environment"), referee);
}

static int referral_create(fd_ctx *x)
{
	json_t *k = NULL, *referrer = NULL, *referee = NULL, *old = NULL;
	json_t *out = NULL;
	int rc = referral_parties(x, &k, &referrer, &referee);

	if (rc < 0)
		goto done;
	rc = fd_store_referral_find(x->c, x->app, fd__jstr(k, "id"),
	                            fd__jstr(referee, "id"), &old);
	if (rc == FD_OK)
		rc = referral_rereferred(x, old, referrer,
		                         fd__fraud_check(x, referrer, referee),
		                         &out);
	else if (rc == FD_NOTFOUND)
		rc = referral_new(x, k, referrer, referee,
		                  fd__fraud_check(x, referrer, referee), &out);
	else
		rc = fd__internal(x);
	if (rc == 0)
		rc = fd__ok(x, FD_OUT_CREATED, out);
done:
	json_decref(k);
	json_decref(referrer);
	json_decref(referee);
	json_decref(old);
	return rc;
}

FD_WRITE_OP(fd_op_referral_create, referral_create)

static int referrals_list(fd_ctx *x)
{
	/* The wire API's filters (api.md): no customerId. */
	return fd__list(x, fd_store_referral_list,
	                (fd_filter){fd__list_env(x), fd__qstr(x, "campaignId"),
	                            fd__qstr(x, "status"), NULL, NULL, NULL});
}

FD_READ_OP(fd_op_referrals_list, referrals_list)

/*
 * validate-code's miss limit (docs/security.md "Referral codes"): a public
 * key, or a client address, with more codes not found than its limit in
 * the current FD_CODE_MISS_WINDOW gets FD_OUT_RATE_LIMITED for the rest of
 * the window, codes that exist included, so a guesser learns nothing
 * more. miss: count this request as a miss (else only look). 0, or -1
 * with the refusal in x->res. The counts are the --rate-limit ones
 * (fd_store_rate_hit): in memory on SQLite, shared by the nodes on
 * PostgreSQL. If they cannot be counted, the request goes on.
 */
int fd__code_misses(fd_ctx *x, int miss)
{
	const char *addr = x->req->client_addr;
	int64_t now_s = x->now / 1000;
	int64_t window = now_s - now_s % FD_CODE_MISS_WINDOW;
	char names[2][192];
	long limits[2], n;
	int i, over = -1, hit = miss && !x->misses_counted;

	if (!is_public(x))
		return 0;
	limits[0] = x->e->code_misses_per_key;
	snprintf(names[0], sizeof(names[0]), "code-miss key %s",
	         x->req->who->key_id);
	limits[1] = addr && *addr ? x->e->code_misses_per_ip : 0;
	snprintf(names[1], sizeof(names[1]), "code-miss addr %s",
	         addr ? addr : "");
	for (i = 0; i < 2; i++) {
		int rc;

		if (limits[i] <= 0)
			continue;
		n = 0;
		rc = hit ? fd_store_rate_hit(x->e->store, names[i], window, &n)
		         : fd_store_rate_peek(x->e->store, names[i], window,
		                              &n);
		/* Once this request's miss is in n, the limit is passed
		 * only above it (a job run again peeks at its own miss). */
		if (rc == FD_OK && over < 0 &&
		    (miss || x->misses_counted ? n > limits[i]
		                               : n >= limits[i]))
			over = i;
	}
	x->misses_counted |= hit;
	if (over < 0)
		return 0;
	fd__fail(x, FD_OUT_RATE_LIMITED, "rate_limited",
	         "more than %ld referral codes not found in %d seconds for "
	         "this %s; try again later",
	         limits[over], FD_CODE_MISS_WINDOW,
	         over == 0 ? "key" : "client address");
	x->res->retry_after = (int)(window + FD_CODE_MISS_WINDOW - now_s);
	return -1;
}

static int referral_validate(fd_ctx *x)
{
	const char *code = fd__bstr(x, "referralCode");
	json_t *cus = NULL;
	int rc;

	if (!code)
		return fd__missing(x, "referralCode");
	if (fd__code_misses(x, 0) < 0)
		return -1;
	rc = fd_store_customer_get(x->c, x->app, FD_BY_CODE, code, &cus);
	if (rc == FD_NOTFOUND && fd__code_misses(x, 1) < 0)
		return -1;
	if (rc == FD_NOTFOUND)
		return fd__ok(
		        x, FD_OUT_OK,
		        json_pack("{s:b, s:n}", "isValid", 0, "referredBy"));
	if (rc != FD_OK)
		return fd__internal(x);
	/* The dashboard's funnel starts here: a referral visit. */
	if (fd__env(x))
		fd__count_visit(x, fd__env(x));
	/* To a public key, the referrer's id and name only: the name is
	 * what the invitee's screen shows ("Jane invited you"). */
	if (is_public(x)) {
		json_object_set_new(cus, "externalUserId", json_null());
		json_object_set_new(cus, "email", json_null());
	}
	rc = fd__ok(x, FD_OUT_OK,
	            json_pack("{s:b, s:{s:O, s:O, s:O, s:O}}", "isValid", 1,
	                      "referredBy", "id", json_object_get(cus, "id"),
	                      "externalUserId",
	                      json_object_get(cus, "externalUserId"), "email",
	                      json_object_get(cus, "email"), "name",
	                      json_object_get(cus, "name")));
	json_decref(cus);
	return rc;
}

FD_READ_OP(fd_op_referral_validate, referral_validate)

/* ---- POST /rewards/trigger ------------------------------------------- */

/* Which sides rewardFor asks for, relative to the caller's role. */
static int trigger_mask(fd_ctx *x, int role)
{
	json_t *rf = json_object_get(x->req->body, "rewardFor"), *v;
	int other = role == FD_PARTY_REFERRER ? FD_PARTY_REFEREE
	                                      : FD_PARTY_REFERRER;
	int mask = 0;
	size_t i;

	if (!json_is_array(rf))
		return role | other;
	json_array_foreach(rf, i, v)
	{
		const char *s = json_string_value(v);
		if (s && strcmp(s, "self") == 0)
			mask |= role;
		else if (s && (strcmp(s, "referral_partner") == 0 ||
		               strcmp(s, "referralPartner") == 0))
			mask |= other;
	}
	return mask;
}

static int trigger_campaign(fd_ctx *x, json_t **k)
{
	const char *cid = fd__bstr(x, "campaignId");
	const char *env = fd__env(x);
	int rc;

	if (cid)
		rc = fd_store_campaign_get(x->c, x->app, cid, k);
	else if (!env)
		return bad_env(x);
	else {
		json_t *chks = NULL;
		rc = fd__live(x, env, k, &chks);
		json_decref(chks);
	}
	return cid ? found(x, rc, "campaign_not_found", "campaign not found")
	           : found(x, rc, "no_live_campaign", "no live campaign");
}

/* The caller's referrals in k: as referee, else those it made. */
static int trigger_referrals(fd_ctx *x, const json_t *k, const json_t *cus,
                             json_t **refs, int *role)
{
	const char *mode = fd__bstr(x, "mode");
	json_t *one = NULL;
	int rc = fd_store_referral_find(x->c, x->app, fd__jstr(k, "id"),
	                                fd__jstr(cus, "id"), &one);

	*refs = NULL;
	if (rc == FD_OK) {
		*role = FD_PARTY_REFEREE;
		*refs = json_pack("[o]", one);
		return *refs ? 0 : -1;
	}
	if (rc != FD_NOTFOUND)
		return -1;
	*role = FD_PARTY_REFERRER;
	return fd_store_referral_by_referrer(
	               x->c, x->app, fd__jstr(k, "id"), fd__jstr(cus, "id"),
	               mode && strcmp(mode, "all") == 0 ? 0 : 1, refs) == FD_OK
	               ? 0
	               : -1;
}

static int trigger_grant(fd_ctx *x, const json_t *k, json_t *refs, int role,
                         json_t *ids)
{
	json_t *ref, *granted = json_array(), *r;
	fd_grants g = {granted, NULL};
	const char *blocked, *status;
	size_t i, j;
	int rc = -1;

	if (!granted)
		return -1;
	json_array_foreach(refs, i, ref)
	{
		status = fd__jstr(ref, "status");
		if (strcmp(status, "pending") != 0 &&
		    strcmp(status, "accepted") != 0)
			continue;
		if (fd__accept(x, ref, k) < 0 ||
		    fd__grant(x, ref, k, trigger_mask(x, role), &g, &blocked) <
		            0)
			goto done;
	}
	json_array_foreach(granted, j, r)
	{
		json_array_append_new(ids, json_pack("{s:O}", "id",
		                                     json_object_get(r, "id")));
	}
	rc = 0;
done:
	json_decref(granted);
	return rc;
}

static int rewards_trigger(fd_ctx *x)
{
	const char *ext = fd__bstr(x, "externalUserId");
	json_t *cus = NULL, *k = NULL, *refs = NULL, *ids = NULL;
	int rc = -1, role = 0;

	if (!ext)
		ext = fd__bstr(x, "customerExternalId");
	if (!ext)
		return fd__missing(x, "externalUserId");
	rc = fd_store_customer_get(x->c, x->app, FD_BY_EXTERNAL, ext, &cus);
	if (found(x, rc, "customer_not_found", "customer not found") < 0)
		return -1;
	if ((rc = trigger_campaign(x, &k)) < 0)
		goto done;
	if (!(ids = json_array()) ||
	    trigger_referrals(x, k, cus, &refs, &role) < 0 ||
	    trigger_grant(x, k, refs, role, ids) < 0) {
		rc = fd__internal(x);
		goto done;
	}
	rc = fd__ok(x, FD_OUT_CREATED, ids);
	ids = NULL;
done:
	json_decref(ids);
	json_decref(refs);
	json_decref(k);
	json_decref(cus);
	return rc;
}

FD_WRITE_OP(fd_op_rewards_trigger, rewards_trigger)

/* ---- the same jobs, for bulk callers (bulk.c) ------------------------- */

int fd__job_identify(fd_ctx *x)
{
	return identify(x);
}

int fd__job_referral_create(fd_ctx *x)
{
	return referral_create(x);
}
