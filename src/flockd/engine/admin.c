/*
 * flockd engine: the admin API operations (operator side), `flockd init`
 * and `flockd bench-seed`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "engine/internal.h"

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int bad(fd_ctx *x, const char *code, const char *field, const char *why)
{
	fd_error(x->res, 400, code, "%s %s", field, why);
	return -1;
}

int fd__not_found(fd_ctx *x, const char *what)
{
	char code[64];

	snprintf(code, sizeof(code), "%s_not_found", what);
	fd_error(x->res, 404, code, "%s not found", what);
	return -1;
}

int fd__admin_app(fd_ctx *x)
{
	const fd_principal *who = x->req->who;
	json_t *app = NULL;
	int rc, ok;

	if (!x->app || !*x->app ||
	    (who && who->app_id[0] && strcmp(who->app_id, x->app) != 0))
		return fd__not_found(x, "app");
	rc = fd_store_app_get(x->c, x->app, &app);
	if (rc == FD_ERR)
		return fd__internal(x);
	ok = rc == FD_OK &&
	     (!who || !who->org_id[0] ||
	      strcmp(jstr(app, "organizationId"), who->org_id) == 0);
	json_decref(app);
	return ok ? 0 : fd__not_found(x, "app");
}

#define READ_OP(op, fn)                                                        \
	void op(fd_engine *e, const fd_request *req, fd_response *res)         \
	{                                                                      \
		fd__run_read(e, req, res, fn);                                 \
	}
/* A write that changes campaigns, their rewards or checkpoints: the
 * writer's live-campaign cache is dropped first. */
#define CAMPAIGN_OP(op, fn)                                                    \
	static int op##_job(fd_ctx *x)                                         \
	{                                                                      \
		fd__live_forget(x->e);                                         \
		return fn(x);                                                  \
	}                                                                      \
	void op(fd_engine *e, const fd_request *req, fd_response *res)         \
	{                                                                      \
		fd__run_write(e, req, res, op##_job);                          \
	}
#define WRITE_OP(op, fn)                                                       \
	void op(fd_engine *e, const fd_request *req, fd_response *res)         \
	{                                                                      \
		fd__run_write(e, req, res, fn);                                \
	}

/* Answer with a fetched object: FD_OK -> status, FD_NOTFOUND -> 404. */
static int answer(fd_ctx *x, int rc, int status, json_t *const *obj,
                  const char *what)
{
	/* obj is read after the fetch that fills it has run. */
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, what);
	if (rc != FD_OK || !obj)
		return fd__internal(x);
	return fd__ok(x, status, *obj);
}

/* ---- applications and keys ------------------------------------------- */

static int apps_list(fd_ctx *x)
{
	const fd_principal *who = x->req->who;
	json_t *out = NULL;
	long limit, offset;

	fd__page(x, &limit, &offset);
	if (!who)
		return fd__fail(x, 403, "forbidden",
		                "an admin token is needed");
	if (fd_store_app_list(x->c, who->org_id,
	                      who->app_id[0] ? who->app_id : NULL, limit,
	                      offset, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_apps_list, apps_list)

static int app_create(fd_ctx *x, const char *org_id, char id[40])
{
	const char *name = fd__bstr(x, "name");

	if (!name || !*name)
		name = "default";
	if (fd__new_id(id, "app_") < 0 ||
	    fd_store_app_insert(x->c, id, org_id, name, x->now) != FD_OK)
		return fd__internal(x);
	return 0;
}

static int apps_create(fd_ctx *x)
{
	const fd_principal *who = x->req->who;
	char id[FLOCK__ID_MAX];
	json_t *app = NULL;

	if (!who || who->app_id[0])
		return fd__fail(x, 403, "forbidden",
		                "only an operator-wide admin token creates "
		                "applications");
	if (app_create(x, who->org_id, id) < 0)
		return -1;
	return answer(x, fd_store_app_get(x->c, id, &app), 201, &app, "app");
}
WRITE_OP(fd_op_admin_apps_create, apps_create)

static const char *key_prefix(fd_key_kind kind)
{
	return kind == FD_KEY_SERVICE  ? "sk_"
	       : kind == FD_KEY_PUBLIC ? "pk_"
	                               : "fat_";
}

/* New key: secret in clear into secret[], id into id[]. */
static int key_create(fd_ctx *x, const char *app_id, const char *org_id,
                      fd_key_kind kind, const char *env, char secret[80],
                      char id[40])
{
	char shown[24];
	uint8_t hash[32];
	fd_store_key k;

	/* Public keys are pk_ + 32 hex like Flock's; others carry more. */
	if (fd__secret(secret, 80, key_prefix(kind),
	               kind == FD_KEY_PUBLIC ? 16 : 24) < 0 ||
	    flock__sha256(hash, secret, strlen(secret)) < 0 ||
	    fd__new_id(id, "key_") < 0)
		return -1;
	snprintf(shown, sizeof(shown), "%.10s...", secret);
	memset(&k, 0, sizeof(k));
	k.id = id;
	k.app_id = app_id;
	k.org_id = org_id;
	k.kind = kind;
	k.environment = env ? env : "";
	k.hash = hash;
	k.prefix = shown;
	return fd_store_key_insert(x->c, &k, x->now) == FD_OK ? 0 : -1;
}

static int keys_list(fd_ctx *x)
{
	json_t *out = NULL;
	long limit, offset;

	if (fd__admin_app(x) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (fd_store_key_list(x->c, x->app, limit, offset, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_keys_list, keys_list)

static int keys_create(fd_ctx *x)
{
	const char *kind = fd__bstr(x, "kind"),
	           *env = fd__bstr(x, "environment");
	char secret[80], id[FLOCK__ID_MAX];
	json_t *key = NULL, *app = NULL;
	fd_key_kind k;

	if (fd__admin_app(x) < 0)
		return -1;
	if (!kind)
		return bad(x, "missing_field", "kind", "is required");
	if (strcmp(kind, "service") == 0)
		k = FD_KEY_SERVICE;
	else if (strcmp(kind, "public") == 0)
		k = FD_KEY_PUBLIC;
	else if (strcmp(kind, "admin") == 0)
		k = FD_KEY_ADMIN;
	else
		return bad(x, "invalid_field", "kind",
		           "must be one of: service, public, admin");
	if (env && strcmp(env, "production") != 0 && strcmp(env, "test") != 0)
		return bad(x, "invalid_field", "environment",
		           "must be one of: production, test");
	if (fd_store_app_get(x->c, x->app, &app) != FD_OK ||
	    key_create(x, x->app, jstr(app, "organizationId"), k, env, secret,
	               id) < 0 ||
	    fd_store_key_get(x->c, x->app, id, &key) != FD_OK) {
		json_decref(app);
		return fd__internal(x);
	}
	json_decref(app);
	json_object_set_new(key, "secret", json_string(secret));
	return fd__ok(x, 201, key);
}
WRITE_OP(fd_op_admin_keys_create, keys_create)

static int keys_revoke(fd_ctx *x)
{
	json_t *key = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = fd_store_key_revoke(x->c, x->app, x->req->id, x->now);
	if (rc == FD_OK)
		rc = fd_store_key_get(x->c, x->app, x->req->id, &key);
	return answer(x, rc, 200, &key, "key");
}
WRITE_OP(fd_op_admin_keys_revoke, keys_revoke)

/* ---- campaigns ------------------------------------------------------- */

static int campaigns_list(fd_ctx *x)
{
	json_t *list = NULL;
	const char *env = fd__qstr(x, "environment");

	if (fd__admin_app(x) < 0)
		return -1;
	if (fd_store_campaign_list(x->c, x->app, env, &list) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200,
	              json_pack("{s:I, s:I, s:I, s:o}", "total",
	                        (json_int_t)json_array_size(list), "limit",
	                        (json_int_t)json_array_size(list), "offset",
	                        (json_int_t)0, "data", list));
}
READ_OP(fd_op_admin_campaigns_list, campaigns_list)

static int campaigns_get(fd_ctx *x)
{
	json_t *k = NULL;

	if (fd__admin_app(x) < 0)
		return -1;
	return answer(x, fd_store_campaign_get(x->c, x->app, x->req->id, &k),
	              200, &k, "campaign");
}
READ_OP(fd_op_admin_campaigns_get, campaigns_get)

/* The Campaign fields stored as one JSON document, with their defaults. */
static const char *const extra_fields[] = {"copiedFromCampaignId",
                                           "refereeLandingPageUrl",
                                           "termsUrl",
                                           "inviteMessage",
                                           "emails",
                                           "campaignPages",
                                           "faqs",
                                           "platforms",
                                           NULL};

static json_t *extra_default(const char *field)
{
	if (strcmp(field, "platforms") == 0)
		return json_pack("[s, s]", "mobile", "web");
	if (strcmp(field, "emails") == 0 ||
	    strcmp(field, "campaignPages") == 0 || strcmp(field, "faqs") == 0)
		return json_array();
	return json_null();
}

static int time_field(fd_ctx *x, const json_t *base, const char *field,
                      int64_t *out)
{
	json_t *v = json_object_get(x->req->body, field);

	*out = 0;
	if (!v)
		v = json_object_get(base, field);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    flock__parse_iso8601(out, json_string_value(v)) < 0)
		return bad(x, "invalid_field", field,
		           "must be an ISO 8601 timestamp");
	return 0;
}

/* Fill k from the body over base (the current campaign, or NULL). */
static int campaign_fields(fd_ctx *x, const json_t *base, fd_store_campaign *k,
                           char **extra)
{
	json_t *doc = json_object(), *v, *hold;
	int i;

	*extra = NULL;
	if (!doc)
		return fd__internal(x);
	for (i = 0; extra_fields[i]; i++) {
		v = json_object_get(x->req->body, extra_fields[i]);
		if (!v)
			v = json_object_get(base, extra_fields[i]);
		json_object_set_new(doc, extra_fields[i],
		                    v ? json_incref(v)
		                      : extra_default(extra_fields[i]));
	}
	*extra = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	k->name =
	        fd__bstr(x, "name") ? fd__bstr(x, "name") : jstr(base, "name");
	hold = json_object_get(x->req->body, "rewardHoldDays");
	if (!hold)
		hold = json_object_get(base, "rewardHoldDays");
	k->hold_days = (int)json_integer_value(hold);
	if (!*extra)
		return fd__internal(x);
	if (!k->name || !*k->name)
		return bad(x, "missing_field", "name", "is required");
	if (hold &&
	    (!json_is_integer(hold) || k->hold_days < 0 || k->hold_days > 3650))
		return bad(x, "invalid_field", "rewardHoldDays",
		           "must be an integer from 0 to 3650");
	if (time_field(x, base, "startsAt", &k->starts_at) < 0 ||
	    time_field(x, base, "endsAt", &k->ends_at) < 0)
		return -1;
	return 0;
}

static const char *const term_fields[] = {"name",
                                          "description",
                                          "type",
                                          "method",
                                          "payoutAmount",
                                          "discountAmount",
                                          "discountPercentage",
                                          "discountDurationInMonth",
                                          "currency",
                                          NULL};

static int in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* A CampaignReward from the JSON object src into campaign_id. */
static int reward_add(fd_ctx *x, const char *campaign_id, const json_t *src,
                      char id[40])
{
	static const char *const parties[] = {"referrer", "referee", NULL};
	static const char *const intervals[] = {"day",  "week",     "month",
	                                        "year", "lifetime", NULL};
	fd_store_campaign_reward r;
	json_t *terms = json_object(), *lim = json_object_get(src, "limit");
	char *text = NULL;
	int i, rc = -1;

	memset(&r, 0, sizeof(r));
	r.campaign_id = campaign_id;
	r.party = jstr(src, "party");
	r.limit = (long)json_integer_value(lim);
	r.limit_unit = jstr(src, "limitUnit");
	r.limit_interval = jstr(src, "limitInterval");
	if (!in_list(r.party, parties)) {
		rc = bad(x, "invalid_field", "party",
		         "must be one of: referrer, referee");
		goto done;
	}
	if ((lim && !json_is_null(lim) &&
	     (!json_is_integer(lim) || r.limit < 0)) ||
	    (r.limit_interval && !in_list(r.limit_interval, intervals))) {
		rc = bad(x, "invalid_field", "limit",
		         "must be a count with limitInterval day, week, month, "
		         "year or lifetime");
		goto done;
	}
	for (i = 0; terms && term_fields[i]; i++) {
		json_t *v = json_object_get(src, term_fields[i]);
		json_object_set(terms, term_fields[i], v ? v : json_null());
	}
	if (!terms ||
	    !(text = json_dumps(terms, JSON_COMPACT | JSON_PRESERVE_ORDER)) ||
	    fd__new_id(id, "crw_") < 0) {
		rc = fd__internal(x);
		goto done;
	}
	r.id = id;
	r.terms = text;
	rc = fd_store_campaign_reward_insert(x->c, x->app, &r, x->now) == FD_OK
	             ? 0
	             : fd__internal(x);
done:
	free(text);
	json_decref(terms);
	return rc;
}

static int checkpoint_add(fd_ctx *x, const char *campaign_id, const json_t *src,
                          char id[40])
{
	static const char *const triggers[] = {"reward", "placement", NULL};
	const char *name = jstr(src, "checkpointName");
	const char *trigger = jstr(src, "trigger");
	int rc;

	if (!name)
		name = jstr(src, "name");
	if (!trigger)
		trigger = "reward";
	if (!name || !*name)
		return bad(x, "missing_field", "checkpointName", "is required");
	if (!in_list(trigger, triggers))
		return bad(x, "invalid_field", "trigger",
		           "must be one of: reward, placement");
	if (fd__new_id(id, "chk_") < 0)
		return fd__internal(x);
	rc = fd_store_checkpoint_insert(x->c, x->app, id, campaign_id, name,
	                                trigger, jstr(src, "placementId"),
	                                x->now);
	if (rc == FD_CONFLICT)
		return fd__fail(x, 409, "checkpoint_exists",
		                "the campaign already has this checkpoint");
	return rc == FD_OK ? 0 : fd__internal(x);
}

static int campaign_children(fd_ctx *x, const char *id)
{
	char child[FLOCK__ID_MAX];
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(x->req->body, "rewards"), i, v)
	{
		if (reward_add(x, id, v, child) < 0)
			return -1;
	}
	json_array_foreach(json_object_get(x->req->body, "checkpoints"), i, v)
	{
		if (checkpoint_add(x, id, v, child) < 0)
			return -1;
	}
	return 0;
}

static int campaigns_create(fd_ctx *x)
{
	const char *env = fd__env(x);
	char id[FLOCK__ID_MAX], *extra = NULL;
	fd_store_campaign k;
	json_t *out = NULL, *live = json_object_get(x->req->body, "isLive");
	int rc = -1;

	if (fd__admin_app(x) < 0)
		return -1;
	if (!env)
		return bad(x, "invalid_field", "environment",
		           "must be one of: production, test");
	memset(&k, 0, sizeof(k));
	if (campaign_fields(x, NULL, &k, &extra) < 0)
		goto done;
	if (fd__new_id(id, "cmp_") < 0) {
		rc = fd__internal(x);
		goto done;
	}
	k.id = id;
	k.environment = env;
	k.extra = extra;
	if (fd_store_campaign_insert(x->c, x->app, &k, x->now) != FD_OK ||
	    (json_is_true(live) &&
	     fd_store_campaign_set_live(x->c, x->app, id, 1, x->now) !=
	             FD_OK)) {
		rc = fd__internal(x);
		goto done;
	}
	if (campaign_children(x, id) < 0)
		goto done;
	rc = answer(x, fd_store_campaign_get(x->c, x->app, id, &out), 201, &out,
	            "campaign");
done:
	free(extra);
	return rc;
}
CAMPAIGN_OP(fd_op_admin_campaigns_create, campaigns_create)

static int campaigns_update(fd_ctx *x)
{
	json_t *cur = NULL, *out = NULL;
	json_t *live = json_object_get(x->req->body, "isLive");
	fd_store_campaign k;
	char *extra = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = fd_store_campaign_get(x->c, x->app, x->req->id, &cur);
	if (rc != FD_OK)
		return answer(x, rc, 200, NULL, "campaign");
	memset(&k, 0, sizeof(k));
	k.id = x->req->id;
	rc = campaign_fields(x, cur, &k, &extra);
	if (rc == 0) {
		k.extra = extra;
		if (fd_store_campaign_update(x->c, x->app, &k, x->now) !=
		            FD_OK ||
		    (json_is_boolean(live) &&
		     fd_store_campaign_set_live(x->c, x->app, k.id,
		                                json_is_true(live),
		                                x->now) != FD_OK))
			rc = fd__internal(x);
		else
			rc = answer(
			        x,
			        fd_store_campaign_get(x->c, x->app, k.id, &out),
			        200, &out, "campaign");
	}
	free(extra);
	json_decref(cur);
	return rc;
}
CAMPAIGN_OP(fd_op_admin_campaigns_update, campaigns_update)

/* 0 if {id} is a campaign of the app, else a 404 in res. */
static int campaign_exists(fd_ctx *x)
{
	json_t *k = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = fd_store_campaign_get(x->c, x->app, x->req->id, &k);
	json_decref(k);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "campaign");
	return rc == FD_OK ? 0 : fd__internal(x);
}

static int campaign_rewards_create(fd_ctx *x)
{
	char id[FLOCK__ID_MAX];
	json_t *out = NULL;

	if (campaign_exists(x) < 0 ||
	    reward_add(x, x->req->id, x->req->body, id) < 0)
		return -1;
	return answer(x, fd_store_campaign_reward_get(x->c, x->app, id, &out),
	              201, &out, "campaign_reward");
}
CAMPAIGN_OP(fd_op_admin_campaign_rewards_create, campaign_rewards_create)

static int campaign_checkpoints_create(fd_ctx *x)
{
	char id[FLOCK__ID_MAX];
	json_t *out = NULL;

	if (campaign_exists(x) < 0 ||
	    checkpoint_add(x, x->req->id, x->req->body, id) < 0)
		return -1;
	return answer(x, fd_store_checkpoint_get(x->c, x->app, id, &out), 201,
	              &out, "checkpoint");
}
CAMPAIGN_OP(fd_op_admin_campaign_checkpoints_create,
            campaign_checkpoints_create)

static int campaigns_go_live(fd_ctx *x)
{
	json_t *out = NULL;

	if (campaign_exists(x) < 0)
		return -1;
	if (fd_store_campaign_set_live(x->c, x->app, x->req->id, 1, x->now) !=
	    FD_OK)
		return fd__internal(x);
	return answer(x, fd_store_campaign_get(x->c, x->app, x->req->id, &out),
	              200, &out, "campaign");
}
CAMPAIGN_OP(fd_op_admin_campaigns_go_live, campaigns_go_live)

/* ---- customers ------------------------------------------------------- */

static int customers_list(fd_ctx *x)
{
	json_t *out = NULL;
	long limit, offset;

	if (fd__admin_app(x) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (fd_store_customer_list(x->c, x->app, limit, offset, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_customers_list, customers_list)

static int customers_get(fd_ctx *x)
{
	json_t *out = NULL;

	if (fd__admin_app(x) < 0)
		return -1;
	return answer(
	        x,
	        fd_store_customer_get(x->c, x->app, FD_BY_ID, x->req->id, &out),
	        200, &out, "customer");
}
READ_OP(fd_op_admin_customers_get, customers_get)

static int customers_delete(fd_ctx *x)
{
	json_t *out = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id
	             ? fd_store_customer_erase(x->c, x->app, x->req->id, x->now)
	             : FD_NOTFOUND;
	if (rc == FD_OK)
		rc = fd_store_customer_get(x->c, x->app, FD_BY_ID, x->req->id,
		                           &out);
	return answer(x, rc, 200, &out, "customer");
}
WRITE_OP(fd_op_admin_customers_delete, customers_delete)

/* ---- referrals ------------------------------------------------------- */

static int referrals_list(fd_ctx *x)
{
	fd_referral_filter f;
	json_t *out = NULL;
	long limit, offset;

	if (fd__admin_app(x) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	f.campaign_id = fd__qstr(x, "campaignId");
	f.status = fd__qstr(x, "status");
	f.environment = fd__qstr(x, "environment");
	if (fd_store_referral_list(x->c, x->app, &f, limit, offset, &out) !=
	    FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_referrals_list, referrals_list)

/* Grant what a reward checkpoint that already came would have. */
static int replay_checkpoints(fd_ctx *x, const json_t *ref)
{
	json_t *k = NULL, *chks = NULL, *granted = json_array(), *chk,
	       *cur = NULL;
	const char *blocked;
	size_t i;
	int seen, rc = -1;

	if (!granted ||
	    fd_store_campaign_get(x->c, x->app, jstr(ref, "campaignId"), &k) !=
	            FD_OK ||
	    fd_store_checkpoint_list(x->c, x->app, jstr(k, "id"), &chks) !=
	            FD_OK)
		goto done;
	json_array_foreach(chks, i, chk)
	{
		if (strcmp(jstr(chk, "trigger"), "reward") != 0)
			continue;
		seen = fd_store_event_seen(
		        x->c, x->app, jstr(ref, "environment"),
		        jstr(ref, "refereeId"), jstr(chk, "checkpointName"));
		if (seen < 0)
			goto done;
		if (!seen)
			continue;
		if (fd_store_referral_get(x->c, x->app, jstr(ref, "id"),
		                          &cur) != FD_OK ||
		    fd__accept(x, cur, k) < 0 ||
		    fd__grant(x, cur, k, FD_PARTY_REFERRER | FD_PARTY_REFEREE,
		              granted, &blocked) < 0)
			goto done;
		break;
	}
	rc = 0;
done:
	json_decref(cur);
	json_decref(granted);
	json_decref(chks);
	json_decref(k);
	return rc;
}

static int referral_move(fd_ctx *x, const char *to, const char *event)
{
	json_t *ref = NULL, *out = NULL, *frauds;
	const char *status;
	char *text;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id ? fd_store_referral_get(x->c, x->app, x->req->id, &ref)
	                : FD_NOTFOUND;
	if (rc != FD_OK)
		return answer(x, rc, 200, NULL, "referral");
	status = jstr(ref, "status");
	if (strcmp(status, "pending") != 0 && strcmp(status, "flagged") != 0) {
		fd_error(x->res, 409, "invalid_transition",
		         "a referral that is %s cannot be changed", status);
		json_decref(ref);
		return -1;
	}
	frauds = json_object_get(ref, "suspectedFrauds");
	text = json_is_array(frauds) ? json_dumps(frauds, JSON_COMPACT) : NULL;
	rc = fd_store_referral_update(x->c, x->app, x->req->id, NULL, to, text,
	                              x->now);
	free(text);
	json_decref(ref);
	if (rc != FD_OK ||
	    fd_store_referral_get(x->c, x->app, x->req->id, &out) != FD_OK)
		return fd__internal(x);
	if (event && fd__emit(x, jstr(out, "environment"), event,
	                      json_incref(out)) < 0) {
		json_decref(out);
		return fd__internal(x);
	}
	return fd__ok(x, 200, out);
}

static int referrals_approve(fd_ctx *x)
{
	json_t *out = NULL;

	if (referral_move(x, "pending", NULL) < 0)
		return -1;
	if (replay_checkpoints(x, x->res->body) < 0 ||
	    fd_store_referral_get(x->c, x->app, x->req->id, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
WRITE_OP(fd_op_admin_referrals_approve, referrals_approve)

static int referrals_reject(fd_ctx *x)
{
	return referral_move(x, "rejected", "referral.rejected");
}
WRITE_OP(fd_op_admin_referrals_reject, referrals_reject)

/* ---- rewards --------------------------------------------------------- */

static int rewards_list(fd_ctx *x)
{
	fd_reward_filter f;
	json_t *out = NULL;
	long limit, offset;

	if (fd__admin_app(x) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	f.status = fd__qstr(x, "status");
	f.environment = fd__qstr(x, "environment");
	f.customer_id = fd__qstr(x, "customerId");
	if (fd_store_reward_list(x->c, x->app, &f, limit, offset, &out) !=
	    FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_rewards_list, rewards_list)

static int reward_move(fd_ctx *x, const char *from, const char *to,
                       const char *event)
{
	json_t *out = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id ? fd_store_reward_transition(x->c, x->app, x->req->id,
	                                             from, to, x->now)
	                : FD_NOTFOUND;
	if (rc == FD_NOTFOUND) {
		rc = x->req->id ? fd_store_reward_get(x->c, x->app, x->req->id,
		                                      &out)
		                : FD_NOTFOUND;
		if (rc != FD_OK)
			return answer(x, rc, 200, NULL, "reward");
		fd_error(x->res, 409, "invalid_transition",
		         "a reward that is %s cannot become %s",
		         jstr(out, "status"), to);
		json_decref(out);
		return -1;
	}
	if (rc != FD_OK ||
	    fd_store_reward_get(x->c, x->app, x->req->id, &out) != FD_OK ||
	    fd__emit(x, jstr(out, "environment"), event, json_incref(out)) <
	            0) {
		json_decref(out);
		return fd__internal(x);
	}
	return fd__ok(x, 200, out);
}

static int rewards_approve(fd_ctx *x)
{
	return reward_move(x, "pending", "approved", "reward.approved");
}
WRITE_OP(fd_op_admin_rewards_approve, rewards_approve)

static int rewards_fulfil(fd_ctx *x)
{
	return reward_move(x, "approved", "fulfilled", "reward.fulfilled");
}
WRITE_OP(fd_op_admin_rewards_fulfil, rewards_fulfil)

static int rewards_revoke(fd_ctx *x)
{
	return reward_move(x, "pending,approved", "revoked", "reward.revoked");
}
WRITE_OP(fd_op_admin_rewards_revoke, rewards_revoke)

/* ---- events (webhook endpoints: engine_webhooks.c) ------------------ */

static int events_list(fd_ctx *x)
{
	json_t *out = NULL;
	long limit, offset;

	if (fd__admin_app(x) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (fd_store_outbox_list(x->c, x->app, fd__qstr(x, "environment"),
	                         fd__qstr(x, "name"), limit, offset,
	                         &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_events_list, events_list)

/* ---- flockd init ----------------------------------------------------- */

static int init_job(fd_ctx *x)
{
	char org[FLOCK__ID_MAX], app[FLOCK__ID_MAX], id[FLOCK__ID_MAX];
	char sk[80], pk[80], at[80];

	if (fd__new_id(org, "org_") < 0 ||
	    fd_store_org_insert(x->c, org, "default", x->now) != FD_OK ||
	    app_create(x, org, app) < 0 ||
	    key_create(x, app, org, FD_KEY_SERVICE, NULL, sk, id) < 0 ||
	    key_create(x, app, org, FD_KEY_PUBLIC, NULL, pk, id) < 0 ||
	    key_create(x, NULL, org, FD_KEY_ADMIN, NULL, at, id) < 0)
		return fd__internal(x);
	return fd__ok(x, 201,
	              json_pack("{s:s, s:s, s:s, s:s, s:s}", "organizationId",
	                        org, "applicationId", app, "serviceKey", sk,
	                        "publicKey", pk, "adminToken", at));
}

int fd_engine_init(fd_engine *e, const char *app_name, json_t **out)
{
	fd_request req;
	fd_response res;

	*out = NULL;
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.app_id = "";
	req.body = json_pack("{s:s}", "name", app_name ? app_name : "default");
	if (!req.body)
		return -1;
	fd__run_write(e, &req, &res, init_job);
	json_decref(req.body);
	if (res.status != 201) {
		json_decref(res.body);
		return -1;
	}
	*out = res.body;
	return 0;
}

/* ---- flockd bench-seed ----------------------------------------------- */

#define SEED_CHUNK 5000

/* A live production campaign paying both sides on checkpoint "purchase",
 * and bench-0 as everyone's referrer. */
static int seed_campaign(fd_ctx *x, char id[40])
{
	char child[FLOCK__ID_MAX];
	json_t *rw =
	        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "name", "bench",
	                  "party", "referee", "type", "payout", "method",
	                  "custom", "payoutAmount", 5, "currency", "usd");
	json_t *rr =
	        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "name", "bench",
	                  "party", "referrer", "type", "payout", "method",
	                  "custom", "payoutAmount", 5, "currency", "usd");
	json_t *chk = json_pack("{s:s, s:s}", "checkpointName", "purchase",
	                        "trigger", "reward");
	fd_store_campaign k;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	k.environment = "production";
	k.name = "bench";
	k.extra = "{}";
	if (!rw || !rr || !chk || fd__new_id(id, "cmp_") < 0)
		goto done;
	k.id = id;
	if (fd_store_campaign_insert(x->c, x->app, &k, x->now) != FD_OK ||
	    fd_store_campaign_set_live(x->c, x->app, id, 1, x->now) != FD_OK ||
	    reward_add(x, id, rw, child) < 0 ||
	    reward_add(x, id, rr, child) < 0 ||
	    checkpoint_add(x, id, chk, child) < 0)
		goto done;
	rc = 0;
done:
	json_decref(rw);
	json_decref(rr);
	json_decref(chk);
	return rc;
}

static int seed_one(fd_ctx *x, long i, const char *campaign,
                    const char *referrer)
{
	char id[FLOCK__ID_MAX], ext[32], code[24], ref[FLOCK__ID_MAX];

	snprintf(ext, sizeof(ext), "bench-%ld", i);
	snprintf(code, sizeof(code), "BENCH%lX", (unsigned long)i);
	if (fd__new_id(id, "cus_") < 0 ||
	    fd_store_customer_insert(x->c, x->app, id, ext, NULL, NULL, code,
	                             NULL, x->now) != FD_OK)
		return -1;
	if (!referrer)
		return 0;
	if (fd__new_id(ref, "ref_") < 0 ||
	    fd_store_referral_insert(x->c, x->app, ref, "production", campaign,
	                             referrer, id, "pending", NULL,
	                             x->now) != FD_OK)
		return -1;
	return 0;
}

static int seed_job(fd_ctx *x)
{
	json_t *b = x->req->body, *root = NULL;
	long from = (long)json_integer_value(json_object_get(b, "from"));
	long to = (long)json_integer_value(json_object_get(b, "to"));
	char cmp[FLOCK__ID_MAX], referrer[FLOCK__ID_MAX];
	long i;

	fd__live_forget(x->e);
	snprintf(cmp, sizeof(cmp), "%s",
	         jstr(b, "campaignId") ? jstr(b, "campaignId") : "");
	if (from == 0) {
		fd__live_forget(x->e);
		if (seed_campaign(x, cmp) < 0 || seed_one(x, 0, cmp, NULL) < 0)
			return fd__internal(x);
		from = 1;
	}
	if (fd_store_customer_get(x->c, x->app, FD_BY_EXTERNAL, "bench-0",
	                          &root) != FD_OK)
		return fd__internal(x);
	snprintf(referrer, sizeof(referrer), "%s", jstr(root, "id"));
	json_decref(root);
	for (i = from; i < to; i++)
		if (seed_one(x, i, cmp, referrer) < 0)
			return fd__internal(x);
	return fd__ok(x, 201, json_pack("{s:s}", "campaignId", cmp));
}

int fd_engine_bench_seed(fd_engine *e, const char *app_id, long n, json_t **out)
{
	fd_request req;
	fd_response res;
	char cmp[FLOCK__ID_MAX] = "";
	long from;

	*out = NULL;
	memset(&req, 0, sizeof(req));
	req.app_id = app_id;
	for (from = 0; from < n || from == 0; from += SEED_CHUNK) {
		memset(&res, 0, sizeof(res));
		req.body = json_pack(
		        "{s:I, s:I, s:s}", "from", (json_int_t)from, "to",
		        (json_int_t)(from + SEED_CHUNK < n ? from + SEED_CHUNK
		                                           : n),
		        "campaignId", cmp);
		if (!req.body)
			return -1;
		fd__run_write(e, &req, &res, seed_job);
		json_decref(req.body);
		if (res.status != 201) {
			json_decref(res.body);
			return -1;
		}
		snprintf(cmp, sizeof(cmp), "%s", jstr(res.body, "campaignId"));
		json_decref(res.body);
	}
	*out = json_pack("{s:s, s:s, s:s, s:I, s:s}", "applicationId", app_id,
	                 "campaignId", cmp, "checkpointName", "purchase",
	                 "customers", (json_int_t)n, "externalUserIdPrefix",
	                 "bench-");
	return *out ? 0 : -1;
}
