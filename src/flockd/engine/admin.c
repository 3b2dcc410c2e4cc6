/*
 * flockd engine: the admin API operations (operator side) and `flockd
 * init`. Webhook endpoints are webhooks.c; bench seeding is seed.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "engine/internal.h"

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
	      strcmp(fd__jstr(app, "organizationId"), who->org_id) == 0);
	json_decref(app);
	return ok ? 0 : fd__not_found(x, "app");
}

int fd__admin_get(fd_ctx *x, fd_get_fn get, const char *what, int live,
                  json_t **out)
{
	int rc;

	*out = NULL;
	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id ? get(x->c, x->app, x->req->id, out) : FD_NOTFOUND;
	if (rc == FD_OK && live &&
	    json_is_string(json_object_get(*out, "deletedAt")))
		rc = FD_NOTFOUND;
	if (rc == FD_OK)
		return 0;
	json_decref(*out);
	*out = NULL;
	return rc == FD_NOTFOUND ? fd__not_found(x, what) : fd__internal(x);
}

/* A write that changes campaigns, their rewards or checkpoints: the
 * writer's live-campaign cache is dropped first. */
#define CAMPAIGN_OP(op, fn)                                                    \
	static int op##_job(fd_ctx *x)                                         \
	{                                                                      \
		fd__live_forget(x->w);                                         \
		return fn(x);                                                  \
	}                                                                      \
	FD_OP(op)                                                              \
	{                                                                      \
		fd__run_write(e, req, res, op##_job);                          \
	}
/* Answer with a fetched object: FD_OK -> o, FD_NOTFOUND -> not found. */
static int answer(fd_ctx *x, int rc, fd_outcome o, json_t *const *obj,
                  const char *what)
{
	/* obj is read after the fetch that fills it has run. */
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, what);
	if (rc != FD_OK || !obj)
		return fd__internal(x);
	return fd__ok(x, o, *obj);
}

/* A list of the admin API, filtered by the query's environment (else the
 * key's), campaignId, status, customerId, name and q: fn reads those it
 * knows, and the route admits only those (http/router.c). */
static int admin_list(fd_ctx *x, fd_store_list_fn fn)
{
	if (fd__admin_app(x) < 0)
		return -1;
	return fd__list(x, fn,
	                (fd_filter){fd__list_env(x), fd__qstr(x, "campaignId"),
	                            fd__qstr(x, "status"),
	                            fd__qstr(x, "customerId"),
	                            fd__qstr(x, "name"), fd__qstr(x, "q")});
}

/* Answer a change of {id} whose store code is rc with the object as it
 * now is (FD_NOTFOUND: `what` not found). */
static int changed(fd_ctx *x, int rc, fd_get_fn get, const char *what)
{
	json_t *out = NULL;

	if (rc == FD_OK)
		rc = get(x->c, x->app, x->req->id, &out);
	return answer(x, rc, FD_OUT_OK, &out, what);
}

static int customer_by_id(fd_conn *c, const char *app_id, const char *id,
                          json_t **out)
{
	return fd_store_customer_get(c, app_id, FD_BY_ID, id, out);
}

/* ---- applications and keys ------------------------------------------- */

static int apps_list(fd_ctx *x)
{
	const fd_principal *who = x->req->who;
	json_t *out = NULL;
	long limit, offset;

	fd__page(x, &limit, &offset);
	if (!who)
		return fd__fail(x, FD_OUT_FORBIDDEN, "forbidden",
		                "an admin token is needed");
	if (fd_store_app_list(x->c, who->org_id,
	                      who->app_id[0] ? who->app_id : NULL, limit,
	                      offset, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, out);
}
FD_READ_OP(fd_op_admin_apps_list, apps_list)

/* A new application named name (NULL or "": "default"); its id into id.
 * FD_OK or FD_ERR. */
static int app_insert(fd_ctx *x, const char *org_id, const char *name,
                      char id[FLOCK__ID_MAX])
{
	if (!name || !*name)
		name = "default";
	if (flock__id_new(id, "app_") < 0)
		return FD_ERR;
	return fd_store_app_insert(x->c, id, org_id, name, x->now);
}

static int apps_create(fd_ctx *x)
{
	const fd_principal *who = x->req->who;
	char id[FLOCK__ID_MAX];
	json_t *app = NULL;

	if (!who || who->app_id[0])
		return fd__fail(x, FD_OUT_FORBIDDEN, "forbidden",
		                "only an operator-wide admin token creates "
		                "applications");
	if (app_insert(x, who->org_id, fd__bstr(x, "name"), id) != FD_OK)
		return fd__internal(x);
	return answer(x, fd_store_app_get(x->c, id, &app), FD_OUT_CREATED, &app,
	              "app");
}
FD_WRITE_OP(fd_op_admin_apps_create, apps_create)

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
	    flock__id_new(id, "key_") < 0)
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
	/* ?environment= (or the token's own) lists what is limited to
	 * it; what serves every environment is listed without a filter. */
	if (fd__admin_app(x) < 0)
		return -1;
	return fd__list(x, fd_store_key_list,
	                (fd_filter){.environment = fd__list_env(x)});
}
FD_READ_OP(fd_op_admin_keys_list, keys_list)

static int keys_create(fd_ctx *x)
{
	const char *kind = fd__bstr(x, "kind"),
	           *env = fd__bstr(x, "environment");
	char secret[80], id[FLOCK__ID_MAX];
	json_t *key = NULL, *app = NULL;
	fd_key_kind k;

	if (fd__admin_app(x) < 0)
		return -1;
	/* A token limited to an environment makes keys limited to it. */
	if (!env)
		env = fd__scope_env(x);
	if (!kind)
		return fd__missing(x, "kind");
	if (strcmp(kind, "service") == 0)
		k = FD_KEY_SERVICE;
	else if (strcmp(kind, "public") == 0)
		k = FD_KEY_PUBLIC;
	else if (strcmp(kind, "admin") == 0)
		k = FD_KEY_ADMIN;
	else
		return fd__invalid(x, "kind",
		                   "must be one of: service, public, admin");
	if (env && strcmp(env, "production") != 0 && strcmp(env, "test") != 0)
		return fd__invalid(x, "environment",
		                   "must be one of: production, test");
	if (fd_store_app_get(x->c, x->app, &app) != FD_OK ||
	    key_create(x, x->app, fd__jstr(app, "organizationId"), k, env,
	               secret, id) < 0 ||
	    fd_store_key_get(x->c, x->app, id, &key) != FD_OK) {
		json_decref(app);
		return fd__internal(x);
	}
	json_decref(app);
	json_object_set_new(key, "secret", json_string(secret));
	return fd__ok(x, FD_OUT_CREATED, key);
}
FD_WRITE_OP(fd_op_admin_keys_create, keys_create)

static int keys_revoke(fd_ctx *x)
{
	const fd_principal *who = x->req->who;
	json_t *key = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = fd_store_key_revoke(x->c, x->app, x->req->id, x->now);
	if (rc == FD_OK)
		rc = fd_store_key_get(x->c, x->app, x->req->id, &key);
	/* The operator's own tokens belong to no application: an
	 * operator-wide token revokes them through any of its apps. */
	if (rc == FD_NOTFOUND && who && !who->app_id[0] && x->req->id)
		rc = fd_store_operator_key_revoke(x->c, who->org_id, x->req->id,
		                                  x->now, &key);
	return answer(x, rc, FD_OUT_OK, &key, "key");
}
FD_WRITE_OP(fd_op_admin_keys_revoke, keys_revoke)

/* ---- campaigns ------------------------------------------------------- */

/* The answer of a list that is never paged: all of list (taken) as one
 * page. */
static int whole_list(fd_ctx *x, json_t *list)
{
	json_int_t n = (json_int_t)json_array_size(list);

	return fd__ok(x, FD_OUT_OK,
	              json_pack("{s:I, s:I, s:I, s:o}", "total", n, "limit", n,
	                        "offset", (json_int_t)0, "data", list));
}

static int campaigns_list(fd_ctx *x)
{
	json_t *list = NULL;
	const char *env = fd__list_env(x);

	if (fd__admin_app(x) < 0)
		return -1;
	if (fd_store_campaign_list(x->c, x->app, env, &list) != FD_OK)
		return fd__internal(x);
	return whole_list(x, list);
}
FD_READ_OP(fd_op_admin_campaigns_list, campaigns_list)

static int campaigns_get(fd_ctx *x)
{
	json_t *k = NULL;

	if (fd__admin_app(x) < 0)
		return -1;
	return answer(x, fd_store_campaign_get(x->c, x->app, x->req->id, &k),
	              FD_OUT_OK, &k, "campaign");
}
FD_READ_OP(fd_op_admin_campaigns_get, campaigns_get)

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
		return fd__invalid(x, field, "must be an ISO 8601 timestamp");
	return 0;
}

/* Fill k from the body over base (the current campaign, or NULL). */
static int campaign_fields(fd_ctx *x, const json_t *base, fd_store_campaign *k,
                           char **extra)
{
	json_t *doc = json_object(), *v, *hold, *pages = NULL;
	int i;

	*extra = NULL;
	if (!doc)
		return fd__internal(x);
	for (i = 0; extra_fields[i]; i++) {
		v = json_object_get(x->req->body, extra_fields[i]);
		/* Campaign pages are checked and given ids (pages.c). */
		if (v && strcmp(extra_fields[i], "campaignPages") == 0) {
			if (fd__campaign_pages(x, v, &pages) < 0) {
				json_decref(doc);
				return -1;
			}
			v = pages;
		}
		if (!v)
			v = json_object_get(base, extra_fields[i]);
		json_object_set_new(doc, extra_fields[i],
		                    v ? json_incref(v)
		                      : extra_default(extra_fields[i]));
	}
	json_decref(pages);
	*extra = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	k->name = fd__bstr(x, "name") ? fd__bstr(x, "name")
	                              : fd__jstr(base, "name");
	hold = json_object_get(x->req->body, "rewardHoldDays");
	if (!hold)
		hold = json_object_get(base, "rewardHoldDays");
	k->hold_days = (int)json_integer_value(hold);
	if (!*extra)
		return fd__internal(x);
	if (!k->name || !*k->name)
		return fd__missing(x, "name");
	if (hold &&
	    (!json_is_integer(hold) || k->hold_days < 0 || k->hold_days > 3650))
		return fd__invalid(x, "rewardHoldDays",
		                   "must be an integer from 0 to 3650");
	if (time_field(x, base, "startsAt", &k->starts_at) < 0 ||
	    time_field(x, base, "endsAt", &k->ends_at) < 0)
		return -1;
	if (k->starts_at && k->ends_at && k->ends_at <= k->starts_at)
		return fd__invalid(x, "endsAt", "must be after startsAt");
	return 0;
}

static int in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

int fd__reward_check(fd_ctx *x, const json_t *src)
{
	static const char *const parties[] = {"referrer", "referee", NULL};
	static const char *const intervals[] = {"day",  "week",     "month",
	                                        "year", "lifetime", NULL};
	const json_t *lim = json_object_get(src, "limit");
	const char *interval = fd__jstr(src, "limitInterval");

	if (!in_list(fd__jstr(src, "party"), parties))
		return fd__invalid(x, "party",
		                   "must be one of: referrer, referee");
	if ((lim && !json_is_null(lim) &&
	     (!json_is_integer(lim) || json_integer_value(lim) < 0)) ||
	    (interval && !in_list(interval, intervals)))
		return fd__invalid(x, "limit",
		                   "must be a count with limitInterval day, "
		                   "week, month, year or lifetime");
	return 0;
}

int fd__campaign_reward_insert(fd_ctx *x, const char *campaign_id,
                               const json_t *src, char id[FLOCK__ID_MAX])
{
	fd_store_campaign_reward r;
	char *terms = fd__reward_terms(src);
	int rc = FD_ERR;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.campaign_id = campaign_id;
	r.party = fd__jstr(src, "party");
	r.limit = (long)json_integer_value(json_object_get(src, "limit"));
	r.limit_unit = fd__jstr(src, "limitUnit");
	r.limit_interval = fd__jstr(src, "limitInterval");
	r.terms = terms;
	if (terms && flock__id_new(id, "crw_") == 0)
		rc = fd_store_campaign_reward_insert(x->c, x->app, &r, x->now);
	free(terms);
	return rc == FD_OK ? FD_OK : FD_ERR;
}

/* A CampaignReward from the JSON object src into campaign_id. */
static int reward_add(fd_ctx *x, const char *campaign_id, const json_t *src,
                      char id[FLOCK__ID_MAX])
{
	if (fd__reward_check(x, src) < 0)
		return -1;
	if (fd__campaign_reward_insert(x, campaign_id, src, id) != FD_OK)
		return fd__internal(x);
	return 0;
}

int fd__checkpoint_insert(fd_ctx *x, const char *campaign_id, const char *name,
                          const char *trigger, const char *placement_id,
                          char id[FLOCK__ID_MAX])
{
	if (flock__id_new(id, "chk_") < 0)
		return FD_ERR;
	return fd_store_checkpoint_insert(x->c, x->app, id, campaign_id, name,
	                                  trigger, placement_id, x->now);
}

/* A checkpoint from the JSON object src into campaign_id. */
static int checkpoint_add(fd_ctx *x, const char *campaign_id, const json_t *src,
                          char id[FLOCK__ID_MAX])
{
	static const char *const triggers[] = {"reward", "placement", NULL};
	const char *name = fd__jstr(src, "checkpointName");
	const char *trigger = fd__jstr(src, "trigger");
	int rc;

	if (!name)
		name = fd__jstr(src, "name");
	if (!trigger)
		trigger = "reward";
	if (!name || !*name)
		return fd__missing(x, "checkpointName");
	if (!in_list(trigger, triggers))
		return fd__invalid(x, "trigger",
		                   "must be one of: reward, placement");
	rc = fd__checkpoint_insert(x, campaign_id, name, trigger,
	                           fd__jstr(src, "placementId"), id);
	if (rc == FD_CONFLICT)
		return fd__fail(x, FD_OUT_CONFLICT, "checkpoint_exists",
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
		return fd__invalid(x, "environment",
		                   "must be one of: production, test");
	memset(&k, 0, sizeof(k));
	if (campaign_fields(x, NULL, &k, &extra) < 0)
		goto done;
	if (flock__id_new(id, "cmp_") < 0) {
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
	rc = answer(x, fd_store_campaign_get(x->c, x->app, id, &out),
	            FD_OUT_CREATED, &out, "campaign");
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

	if (fd__admin_get(x, fd_store_campaign_get, "campaign", 0, &cur) < 0)
		return -1;
	/* A campaign stays in its environment (its referrals and rewards
	 * are there); POST .../copy makes one in the other. */
	if (fd__bstr(x, "environment") && fd__jstr(cur, "environment") &&
	    strcmp(fd__bstr(x, "environment"), fd__jstr(cur, "environment"))) {
		json_decref(cur);
		return fd__invalid(
		        x, "environment",
		        "cannot be changed; copy the campaign to the "
		        "other environment instead");
	}
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
			        FD_OUT_OK, &out, "campaign");
	}
	free(extra);
	json_decref(cur);
	return rc;
}
CAMPAIGN_OP(fd_op_admin_campaigns_update, campaigns_update)

/* 0 if {id} is a campaign of the app, else -1 (not found). */
static int campaign_exists(fd_ctx *x)
{
	json_t *k;

	if (fd__admin_get(x, fd_store_campaign_get, "campaign", 0, &k) < 0)
		return -1;
	json_decref(k);
	return 0;
}

static int campaign_rewards_create(fd_ctx *x)
{
	char id[FLOCK__ID_MAX];
	json_t *out = NULL;

	json_t *k;
	size_t n;

	if (fd__admin_get(x, fd_store_campaign_get, "campaign", 0, &k) < 0)
		return -1;
	n = json_array_size(json_object_get(k, "rewards"));
	json_decref(k);
	if (n >= FD_LIMIT_CAMPAIGN_ITEMS)
		return fd__fail(x, FD_OUT_INVALID, "invalid_field",
		                "rewards: a campaign has at most %d rewards",
		                FD_LIMIT_CAMPAIGN_ITEMS);
	if (reward_add(x, x->req->id, x->req->body, id) < 0)
		return -1;
	return answer(x, fd_store_campaign_reward_get(x->c, x->app, id, &out),
	              FD_OUT_CREATED, &out, "campaign_reward");
}
CAMPAIGN_OP(fd_op_admin_campaign_rewards_create, campaign_rewards_create)

static int campaign_checkpoints_create(fd_ctx *x)
{
	char id[FLOCK__ID_MAX];
	json_t *out = NULL, *list = NULL;
	size_t n;

	if (campaign_exists(x) < 0)
		return -1;
	/* The cap a campaign body has (router.c), one at a time too. */
	if (fd_store_checkpoint_list(x->c, x->app, x->req->id, &list) != FD_OK)
		return fd__internal(x);
	n = json_array_size(list);
	json_decref(list);
	if (n >= FD_LIMIT_CAMPAIGN_ITEMS)
		return fd__fail(x, FD_OUT_INVALID, "invalid_field",
		                "checkpoints: a campaign has at most %d "
		                "checkpoints",
		                FD_LIMIT_CAMPAIGN_ITEMS);
	if (checkpoint_add(x, x->req->id, x->req->body, id) < 0)
		return -1;
	return answer(x, fd_store_checkpoint_get(x->c, x->app, id, &out),
	              FD_OUT_CREATED, &out, "checkpoint");
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
	              FD_OUT_OK, &out, "campaign");
}
CAMPAIGN_OP(fd_op_admin_campaigns_go_live, campaigns_go_live)

/* ---- customers ------------------------------------------------------- */

static int customers_list(fd_ctx *x)
{
	return admin_list(x, fd_store_customer_list);
}
FD_READ_OP(fd_op_admin_customers_list, customers_list)

static int customers_get(fd_ctx *x)
{
	json_t *out;

	if (fd__admin_get(x, customer_by_id, "customer", 0, &out) < 0)
		return -1;
	return fd__ok(x, FD_OUT_OK, out);
}
FD_READ_OP(fd_op_admin_customers_get, customers_get)

static int customers_delete(fd_ctx *x)
{
	if (fd__admin_app(x) < 0)
		return -1;
	return changed(x,
	               x->req->id ? fd_store_customer_erase(x->c, x->app,
	                                                    x->req->id, x->now)
	                          : FD_NOTFOUND,
	               customer_by_id, "customer");
}
FD_WRITE_OP(fd_op_admin_customers_delete, customers_delete)

/* ---- referrals ------------------------------------------------------- */

static int referrals_list(fd_ctx *x)
{
	return admin_list(x, fd_store_referral_list);
}
FD_READ_OP(fd_op_admin_referrals_list, referrals_list)

/*
 * Grant what a reward checkpoint the referee already sent would have
 * granted, had the referral been pending then: the first reward
 * checkpoint of the campaign the referee has an event for accepts ref
 * (updated in place) and pays both sides. 0 or -1 (a store failure).
 */
static int replay_checkpoints(fd_ctx *x, json_t *ref)
{
	json_t *k = NULL, *chks = NULL, *granted = json_array(), *chk;
	fd_grants g = {granted, NULL};
	const char *blocked;
	size_t i;
	int seen = 0, rc = -1;

	if (!granted ||
	    fd_store_campaign_get(x->c, x->app, fd__jstr(ref, "campaignId"),
	                          &k) != FD_OK ||
	    fd_store_checkpoint_list(x->c, x->app, fd__jstr(k, "id"), &chks) !=
	            FD_OK)
		goto done;
	json_array_foreach(chks, i, chk)
	{
		if (strcmp(fd__jstr(chk, "trigger"), "reward") != 0)
			continue;
		seen = fd_store_event_seen(x->c, x->app,
		                           fd__jstr(ref, "environment"),
		                           fd__jstr(ref, "refereeId"),
		                           fd__jstr(chk, "checkpointName"));
		if (seen != 0)
			break;
	}
	if (seen < 0 ||
	    (seen > 0 &&
	     (fd__accept(x, ref, k) < 0 ||
	      fd__grant(x, ref, k, FD_PARTY_REFERRER | FD_PARTY_REFEREE, &g,
	                &blocked) < 0)))
		goto done;
	rc = 0;
done:
	json_decref(granted);
	json_decref(chks);
	json_decref(k);
	return rc;
}

/*
 * Move the referral {id} from pending or flagged to `to` and emit event
 * (NULL: none); *out gets the referral as it now is. 0, or -1 with the
 * answer set (not found, invalid_transition, internal).
 */
static int referral_move(fd_ctx *x, const char *to, const char *event,
                         json_t **out)
{
	json_t *ref = NULL, *frauds;
	const char *status;
	char *text;
	int rc;

	if (fd__admin_get(x, fd_store_referral_get, "referral", 0, &ref) < 0)
		return -1;
	status = fd__jstr(ref, "status");
	if (strcmp(status, "pending") != 0 && strcmp(status, "flagged") != 0) {
		fd__fail(x, FD_OUT_CONFLICT, "invalid_transition",
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
	    fd_store_referral_get(x->c, x->app, x->req->id, out) != FD_OK ||
	    (event && fd__emit(x, fd__jstr(*out, "environment"), event,
	                       json_incref(*out)) < 0))
		return fd__internal(x);
	return 0;
}

static int referrals_approve(fd_ctx *x)
{
	json_t *ref = NULL, *out = NULL;
	int rc;

	if (referral_move(x, "pending", NULL, &ref) < 0) {
		json_decref(ref);
		return -1;
	}
	rc = replay_checkpoints(x, ref);
	json_decref(ref);
	if (rc < 0 ||
	    fd_store_referral_get(x->c, x->app, x->req->id, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, out);
}
FD_WRITE_OP(fd_op_admin_referrals_approve, referrals_approve)

static int referrals_reject(fd_ctx *x)
{
	json_t *out = NULL;

	if (referral_move(x, "rejected", "referral.rejected", &out) < 0) {
		json_decref(out);
		return -1;
	}
	return fd__ok(x, FD_OUT_OK, out);
}
FD_WRITE_OP(fd_op_admin_referrals_reject, referrals_reject)

/* ---- rewards --------------------------------------------------------- */

static int rewards_list(fd_ctx *x)
{
	return admin_list(x, fd_store_reward_list);
}
FD_READ_OP(fd_op_admin_rewards_list, rewards_list)

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
			return answer(x, rc, FD_OUT_OK, NULL, "reward");
		fd__fail(x, FD_OUT_CONFLICT, "invalid_transition",
		         "a reward that is %s cannot become %s",
		         fd__jstr(out, "status"), to);
		json_decref(out);
		return -1;
	}
	if (rc != FD_OK ||
	    fd_store_reward_get(x->c, x->app, x->req->id, &out) != FD_OK ||
	    fd__emit(x, fd__jstr(out, "environment"), event, json_incref(out)) <
	            0) {
		json_decref(out);
		return fd__internal(x);
	}
	return fd__ok(x, FD_OUT_OK, out);
}

static int rewards_approve(fd_ctx *x)
{
	return reward_move(x, "pending", "approved", "reward.approved");
}
FD_WRITE_OP(fd_op_admin_rewards_approve, rewards_approve)

static int rewards_fulfil(fd_ctx *x)
{
	return reward_move(x, "approved", "fulfilled", "reward.fulfilled");
}
FD_WRITE_OP(fd_op_admin_rewards_fulfil, rewards_fulfil)

static int rewards_revoke(fd_ctx *x)
{
	return reward_move(x, "pending,approved", "revoked", "reward.revoked");
}
FD_WRITE_OP(fd_op_admin_rewards_revoke, rewards_revoke)

/* ---- events (webhook endpoints: webhooks.c) ------------------------- */

static int events_list(fd_ctx *x)
{
	return admin_list(x, fd_store_outbox_list);
}
FD_READ_OP(fd_op_admin_events_list, events_list)

/* ---- flockd init ----------------------------------------------------- */

typedef struct {
	const char *app_name;
	int only_if_new; /* do nothing if an organization exists */
	json_t *out;     /* the secrets, once committed */
} init_call;

static int init_run(fd_ctx *x, void *arg)
{
	init_call *a = arg;
	char org[FLOCK__ID_MAX], app[FLOCK__ID_MAX], id[FLOCK__ID_MAX];
	char sk[80], pk[80], at[80];

	long orgs = 0;

	/* A batch may run again: an earlier attempt's answer is void. */
	json_decref(a->out);
	a->out = NULL;
	if (a->only_if_new) {
		if (fd_store_org_count(x->c, &orgs) != FD_OK)
			return FD_ERR;
		if (orgs > 0)
			return FD_OK;
	}
	if (flock__id_new(org, "org_") < 0 ||
	    fd_store_org_insert(x->c, org, "default", x->now) != FD_OK ||
	    app_insert(x, org, a->app_name, app) != FD_OK ||
	    key_create(x, app, org, FD_KEY_SERVICE, NULL, sk, id) < 0 ||
	    key_create(x, app, org, FD_KEY_PUBLIC, NULL, pk, id) < 0 ||
	    key_create(x, NULL, org, FD_KEY_ADMIN, NULL, at, id) < 0)
		return FD_ERR;
	a->out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "organizationId",
	                   org, "applicationId", app, "serviceKey", sk,
	                   "publicKey", pk, "adminToken", at, "adminTokenId",
	                   id);
	return a->out ? FD_OK : FD_ERR;
}

static int run_init(fd_engine *e, const char *app_name, int only_if_new,
                    json_t **out)
{
	init_call a = {app_name, only_if_new, NULL};

	*out = NULL;
	if (fd__write(e, "", init_run, &a) != FD_OK) {
		json_decref(a.out);
		return -1;
	}
	*out = a.out;
	return 0;
}

/* ---- editing campaigns (the dashboard; docs/admin-api.md) ------------ */

static int campaign_checkpoints_list(fd_ctx *x)
{
	json_t *list = NULL;

	if (campaign_exists(x) < 0)
		return -1;
	if (fd_store_checkpoint_list(x->c, x->app, x->req->id, &list) != FD_OK)
		return fd__internal(x);
	return whole_list(x, list);
}
FD_READ_OP(fd_op_admin_campaign_checkpoints_list, campaign_checkpoints_list)

/* The stored Campaign fields of k (a Campaign object) for a copy of it. */
static int copy_fields(fd_ctx *x, const json_t *k, fd_store_campaign *out,
                       char **extra)
{
	json_t *doc = json_object(), *v;
	const char *t;
	int i;

	*extra = NULL;
	if (!doc)
		return -1;
	for (i = 0; extra_fields[i]; i++) {
		v = json_object_get(k, extra_fields[i]);
		json_object_set_new(doc, extra_fields[i],
		                    v ? json_incref(v)
		                      : extra_default(extra_fields[i]));
	}
	json_object_set_new(doc, "copiedFromCampaignId",
	                    json_string(fd__jstr(k, "id")));
	*extra = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	out->name = fd__bstr(x, "name") ? fd__bstr(x, "name")
	                                : fd__jstr(k, "name");
	out->hold_days = (int)json_integer_value(
	        json_object_get(k, "rewardHoldDays"));
	if ((t = fd__jstr(k, "startsAt")))
		flock__parse_iso8601(&out->starts_at, t);
	if ((t = fd__jstr(k, "endsAt")))
		flock__parse_iso8601(&out->ends_at, t);
	return *extra ? 0 : -1;
}

/* The rewards and checkpoints of campaign `from` into campaign `to`. */
static int copy_children(fd_ctx *x, const json_t *from, const char *to)
{
	char id[FLOCK__ID_MAX];
	json_t *chks = NULL, *v;
	size_t i;
	int rc = FD_OK;

	json_array_foreach(json_object_get(from, "rewards"), i, v)
	{
		if (rc == FD_OK)
			rc = fd__campaign_reward_insert(x, to, v, id);
	}
	if (rc == FD_OK)
		rc = fd_store_checkpoint_list(x->c, x->app, fd__jstr(from, "id"),
		                              &chks);
	json_array_foreach(chks, i, v)
	{
		if (rc == FD_OK)
			rc = fd__checkpoint_insert(
			        x, to, fd__jstr(v, "checkpointName"),
			        fd__jstr(v, "trigger"), fd__jstr(v, "placementId"),
			        id);
	}
	json_decref(chks);
	return rc;
}

static int campaigns_copy(fd_ctx *x)
{
	const char *env = fd__bstr(x, "environment");
	json_t *src = NULL, *out = NULL;
	char id[FLOCK__ID_MAX], *extra = NULL;
	fd_store_campaign k;
	int rc = FD_OK;

	if (!env)
		return fd__missing(x, "environment");
	if (fd__admin_get(x, fd_store_campaign_get, "campaign", 0, &src) < 0)
		return -1;
	memset(&k, 0, sizeof(k));
	k.id = id;
	k.environment = env;
	if (copy_fields(x, src, &k, &extra) < 0 ||
	    flock__id_new(id, "cmp_") < 0)
		rc = FD_ERR;
	k.extra = extra;
	if (rc == FD_OK)
		rc = fd_store_campaign_insert(x->c, x->app, &k, x->now);
	if (rc == FD_OK)
		rc = copy_children(x, src, id);
	free(extra);
	json_decref(src);
	if (rc != FD_OK)
		return fd__internal(x);
	return answer(x, fd_store_campaign_get(x->c, x->app, id, &out),
	              FD_OUT_CREATED, &out, "campaign");
}
CAMPAIGN_OP(fd_op_admin_campaigns_copy, campaigns_copy)

/* The body's fields over the campaign reward cur, checked. */
static int reward_update(fd_ctx *x)
{
	json_t *cur = NULL, *merged = NULL;
	fd_store_campaign_reward r;
	char *terms = NULL;
	int rc;

	if (fd__admin_get(x, fd_store_campaign_reward_get, "campaign_reward", 1,
	                  &cur) < 0)
		return -1;
	merged = json_deep_copy(cur);
	json_object_update(merged, x->req->body);
	json_decref(cur);
	if (fd__reward_check(x, merged) < 0) {
		json_decref(merged);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.id = x->req->id;
	r.party = fd__jstr(merged, "party");
	r.limit = (long)json_integer_value(json_object_get(merged, "limit"));
	r.limit_unit = fd__jstr(merged, "limitUnit");
	r.limit_interval = fd__jstr(merged, "limitInterval");
	r.terms = terms = fd__reward_terms(merged);
	rc = terms ? fd_store_campaign_reward_update(x->c, x->app, &r, x->now)
	           : FD_ERR;
	free(terms);
	json_decref(merged);
	return changed(x, rc, fd_store_campaign_reward_get, "campaign_reward");
}
CAMPAIGN_OP(fd_op_admin_campaign_rewards_update, reward_update)

static int reward_delete(fd_ctx *x)
{
	if (fd__admin_app(x) < 0)
		return -1;
	return changed(x,
	               fd_store_campaign_reward_delete(x->c, x->app, x->req->id,
	                                               x->now),
	               fd_store_campaign_reward_get, "campaign_reward");
}
CAMPAIGN_OP(fd_op_admin_campaign_rewards_delete, reward_delete)

static int checkpoint_update(fd_ctx *x)
{
	static const char *const triggers[] = {"reward", "placement", NULL};
	json_t *cur = NULL;
	const char *name, *trigger;
	json_t *placement;
	int rc;

	if (fd__admin_get(x, fd_store_checkpoint_get, "checkpoint", 0, &cur) <
	    0)
		return -1;
	name = fd__bstr(x, "checkpointName") ? fd__bstr(x, "checkpointName")
	                                     : fd__jstr(cur, "checkpointName");
	trigger = fd__bstr(x, "trigger") ? fd__bstr(x, "trigger")
	                                 : fd__jstr(cur, "trigger");
	placement = json_object_get(x->req->body, "placementId");
	if (!placement)
		placement = json_object_get(cur, "placementId");
	if (!name || !*name || !in_list(trigger, triggers)) {
		json_decref(cur);
		return fd__invalid(x, "trigger",
		                   "must be one of: reward, placement");
	}
	rc = fd_store_checkpoint_update(x->c, x->app, x->req->id, name, trigger,
	                                json_string_value(placement), x->now);
	json_decref(cur);
	if (rc == FD_CONFLICT)
		return fd__fail(x, FD_OUT_CONFLICT, "checkpoint_exists",
		                "the campaign already has this checkpoint");
	return changed(x, rc, fd_store_checkpoint_get, "checkpoint");
}
CAMPAIGN_OP(fd_op_admin_checkpoints_update, checkpoint_update)

static int checkpoint_delete(fd_ctx *x)
{
	json_t *out;

	if (fd__admin_get(x, fd_store_checkpoint_get, "checkpoint", 0, &out) <
	    0)
		return -1;
	if (fd_store_checkpoint_delete(x->c, x->app, x->req->id) != FD_OK) {
		json_decref(out);
		return fd__internal(x);
	}
	return fd__ok(x, FD_OUT_OK, out);
}
CAMPAIGN_OP(fd_op_admin_checkpoints_delete, checkpoint_delete)
int fd_engine_init(fd_engine *e, const char *app_name, json_t **out)
{
	return run_init(e, app_name, 0, out);
}

int fd_engine_init_if_new(fd_engine *e, const char *app_name, json_t **out)
{
	return run_init(e, app_name, 1, out);
}

static int count_orgs(fd_conn *c, int64_t now, void *arg)
{
	return fd_store_org_count(c, arg);
}

int fd_engine_initialised(fd_engine *e)
{
	long orgs = 0;

	if (fd_engine_read(e, count_orgs, &orgs) != FD_OK)
		return -1;
	return orgs > 0;
}
