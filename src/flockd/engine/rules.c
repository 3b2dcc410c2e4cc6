/*
 * flockd engine: the referral and reward rules of api.md section 5 that
 * several operations share (accepting a referral, granting rewards within
 * limits, fraud checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "engine/internal.h"
#include "base/jdump.h"

int fd__campaign_running(const fd_ctx *x, const json_t *campaign)
{
	int64_t at;

	if (fd__jstr(campaign, "startsAt") &&
	    flock__parse_iso8601(&at, fd__jstr(campaign, "startsAt")) == 0 &&
	    x->now < at)
		return 0;
	if (fd__jstr(campaign, "endsAt") &&
	    flock__parse_iso8601(&at, fd__jstr(campaign, "endsAt")) == 0 &&
	    x->now >= at)
		return 0;
	return 1;
}

int fd__accept(fd_ctx *x, json_t *referral, const json_t *campaign)
{
	return fd__accept_referee(x, referral, campaign, NULL, NULL);
}

/* 1 if cus is the customer the referral names in member role. */
static int is_party(const json_t *referral, const char *role, const json_t *cus)
{
	const char *a = fd__jstr(cus, "id"), *b = fd__jstr(referral, role);

	return a && b && strcmp(a, b) == 0;
}

/* The referrer read before this job's count: now as stored. 0 or -1. */
static int counted(json_t *referrer, const char *iso)
{
	json_t *n = json_object_get(referrer, "convertedReferralsCount");

	return json_integer_set(n, json_integer_value(n) + 1) ||
	       json_object_set_new(referrer, "updatedAt", json_string(iso));
}

int fd__accept_referee(fd_ctx *x, json_t *referral, const json_t *campaign,
                       json_t *referee, json_t *referrer)
{
	const char *id = fd__jstr(referral, "id");
	const char *env = fd__jstr(referral, "environment");
	json_t *invitee = NULL, *data, *cmp;
	char iso[FLOCK__ISO8601_LEN];
	int bad, known;

	if (!fd__jstr(referral, "status") ||
	    strcmp(fd__jstr(referral, "status"), "pending") != 0) {
		json_decref(referrer);
		return 0;
	}
	/* Accepting changes the referral and the referrer's counts, not the
	 * referee: a Customer the caller read in this job is current; the
	 * referrer it read gets the count below. */
	if (referee && is_party(referral, "refereeId", referee))
		invitee = json_incref(referee);
	known = referrer && is_party(referral, "referrerId", referrer);
	if (referrer && !known) {
		json_decref(referrer);
		referrer = NULL;
	}
	if (fd_store_referral_update(x->c, x->app, id, NULL, "accepted", NULL,
	                             x->now) != FD_OK ||
	    fd_store_customer_count(x->c, x->app,
	                            fd__jstr(referral, "referrerId"), 0, 1,
	                            x->now) != FD_OK ||
	    (!invitee && fd_store_customer_get(x->c, x->app, FD_BY_ID,
	                                       fd__jstr(referral, "refereeId"),
	                                       &invitee) != FD_OK) ||
	    (!known && fd_store_customer_get(x->c, x->app, FD_BY_ID,
	                                     fd__jstr(referral, "referrerId"),
	                                     &referrer) != FD_OK))
		goto fail;
	/* The caller's objects become the stored rows: no read back. */
	flock__iso8601(iso, x->now);
	if (known && counted(referrer, iso))
		goto fail;
	json_object_set_new(referral, "status", json_string("accepted"));
	json_object_set_new(referral, "updatedAt", json_string(iso));
	cmp = json_object();
	bad = fd__put_s(cmp, "id", fd__jstr(campaign, "id")) ||
	      fd__put_s(cmp, "name", fd__jstr(campaign, "name"));
	/* One statement each: every fd__put takes its value, in order. */
	data = json_object();
	bad |= fd__put(data, "invitee", invitee);
	bad |= fd__put(data, "referrer", referrer);
	bad |= fd__put_ref(data, "referral", referral);
	bad |= fd__put(data, "campaign", cmp);
	if (bad) {
		json_decref(data);
		return -1;
	}
	return fd__emit(x, env, "invitee.accepted", data);
fail:
	json_decref(invitee);
	json_decref(referrer);
	return -1;
}

/* Start of the window a limit counts in; rolling windows, so a limit never
 * resets all at once at a calendar boundary. -1: unknown interval. */
static int64_t window_start(const fd_ctx *x, const char *interval)
{
	if (!interval || strcmp(interval, "lifetime") == 0)
		return 0;
	if (strcmp(interval, "day") == 0)
		return x->now - FD_DAY_MS;
	if (strcmp(interval, "week") == 0)
		return x->now - 7 * FD_DAY_MS;
	if (strcmp(interval, "month") == 0)
		return x->now - 30 * FD_DAY_MS;
	if (strcmp(interval, "year") == 0)
		return x->now - 365 * FD_DAY_MS;
	return 0;
}

/* 1 if customer already has `limit` rewards of cr in its window. */
static int over_limit(fd_ctx *x, const json_t *cr, const char *customer)
{
	json_int_t limit = json_integer_value(json_object_get(cr, "limit"));
	long n = 0;

	if (limit <= 0)
		return 0;
	if (fd_store_reward_count_since(
	            x->c, x->app, fd__jstr(cr, "id"), customer,
	            window_start(x, fd__jstr(cr, "limitInterval")), (long)limit,
	            &n) != FD_OK)
		return -1;
	return n >= limit;
}

/* What a Reward copies from its CampaignReward when it is granted. */
const char *const fd__reward_term_fields[] = {"name",
                                              "description",
                                              "type",
                                              "method",
                                              "payoutAmount",
                                              "discountAmount",
                                              "discountPercentage",
                                              "discountDurationInMonth",
                                              "currency",
                                              NULL};

char *fd__reward_terms(const json_t *src)
{
	json_t *t = json_object();
	char *text;
	int i;

	if (!t)
		return NULL;
	for (i = 0; fd__reward_term_fields[i]; i++) {
		const char *f = fd__reward_term_fields[i];
		json_t *v = json_object_get(src, f);

		json_object_set_nocheck(t, f, v ? v : json_null());
	}
	text = fd_jdump(t, NULL);
	json_decref(t);
	return text;
}

/* The Reward as fd_store_reward_get would read it back right after the
 * insert (same members, same order), written as text from what was
 * inserted (its terms: the very text stored) into b. 0 or -1. */
static int reward_text(const fd_ctx *x, const fd_store_reward *r,
                       const json_t *campaign, flock__buf *b)
{
	char now[FLOCK__ISO8601_LEN], avail[FLOCK__ISO8601_LEN];
	size_t tl = strlen(r->terms);

	flock__iso8601(now, x->now);
	flock__iso8601(avail, r->available_at);
	fd__jput(b, "{\"id\":", r->id);
	fd__jput(b,
	         ",\"organizationId\":", fd__jstr(campaign, "organizationId"));
	fd__jput(b, ",\"applicationId\":", x->app);
	fd__jput(b, ",\"campaignId\":", r->campaign_id);
	fd__jput(b, ",\"campaignRewardId\":", r->campaign_reward_id);
	fd__jput(b, ",\"referralId\":", r->referral_id);
	fd__jput(b, ",\"customerId\":", r->customer_id);
	fd__jput(b, ",\"party\":", r->party);
	/* The terms object's members: its text without the braces. */
	if (tl > 2 && r->terms[0] == '{' && r->terms[tl - 1] == '}') {
		flock__buf_puts(b, ",");
		flock__buf_put(b, r->terms + 1, tl - 2);
	}
	fd__jput(b, ",\"status\":", r->status);
	fd__jput(b, ",\"availableAt\":", avail);
	fd__jput(b, ",\"environment\":", r->env);
	fd__jput(b, ",\"createdAt\":", now);
	fd__jput(b, ",\"updatedAt\":", now);
	return flock__buf_puts(b, ",\"deletedAt\":null}");
}

/* The granted Reward r: reward.created, whose data is the Reward's text,
 * and the same text to the caller, appended to g->text or parsed into
 * g->objects. 0 or -1. */
static int granted(fd_ctx *x, const fd_store_reward *r, const json_t *campaign,
                   fd_grants *g)
{
	char id[FLOCK__ID_MAX];
	flock__buf b = FLOCK__BUF_INIT;
	size_t at;
	json_t *o;
	int rc = -1;

	if (fd__event_head(x, &b, id, r->env, "reward.created") < 0)
		goto done;
	at = b.len;
	if (reward_text(x, r, campaign, &b) < 0)
		goto done;
	if (g->text) {
		if ((g->text->len && flock__buf_puts(g->text, ",") < 0) ||
		    flock__buf_put(g->text, b.ptr + at, b.len - at) < 0)
			goto done;
	} else {
		o = json_loadb(b.ptr + at, b.len - at, 0, NULL);
		if (!o || json_array_append_new(g->objects, o) < 0)
			goto done;
	}
	rc = fd__emit_body(x, id, r->env, "reward.created", &b, 0);
done:
	flock__buf_free(&b);
	return rc;
}

/* The terms of cr, the campaign's reward at index i, as text: once per
 * live campaign on the writer (its cache, struct fd_live; the text lives
 * as long as the cache), else made now into *own (free it). NULL: out of
 * memory. */
static const char *terms_of(fd_ctx *x, const json_t *campaign, size_t i,
                            const json_t *cr, char **own)
{
	size_t n = json_array_size(json_object_get(campaign, "rewards")), k;
	struct fd_live *l = NULL;
	json_t *cached;

	*own = NULL;
	for (k = 0; x->w && k < sizeof(x->w->live) / sizeof(x->w->live[0]); k++)
		if (x->w->live[k].campaign == campaign)
			l = &x->w->live[k];
	if (!l || i >= n)
		return *own = fd__reward_terms(cr);
	if (!l->terms)
		l->terms = json_array();
	while (l->terms && json_array_size(l->terms) < n)
		if (json_array_append_new(l->terms, json_null()) < 0)
			break;
	cached = json_array_get(l->terms, i);
	if (json_is_string(cached))
		return json_string_value(cached);
	if (!(*own = fd__reward_terms(cr)))
		return NULL;
	/* Cached when it can be; the grant goes on either way. */
	json_array_set_new(l->terms, i, json_string(*own));
	return *own;
}

/* FD_OK granted (appended), FD_CONFLICT already granted, FD_ERR. */
static int grant_one(fd_ctx *x, const json_t *referral, const json_t *campaign,
                     size_t i, const json_t *cr, const char *customer,
                     fd_grants *g)
{
	json_int_t hold =
	        json_integer_value(json_object_get(campaign, "rewardHoldDays"));
	char id[FLOCK__ID_MAX];
	fd_store_reward r;
	char *own;
	const char *terms = terms_of(x, campaign, i, cr, &own);
	int rc = FD_ERR;

	if (!terms || flock__id_new(id, "rwd_") < 0)
		goto done;
	memset(&r, 0, sizeof(r));
	r.id = id;
	r.env = fd__jstr(referral, "environment");
	r.campaign_id = fd__jstr(campaign, "id");
	r.campaign_reward_id = fd__jstr(cr, "id");
	r.referral_id = fd__jstr(referral, "id");
	r.customer_id = customer;
	r.party = fd__jstr(cr, "party");
	r.terms = terms;
	r.status = hold > 0 ? "pending" : "approved";
	r.available_at = x->now + (hold > 0 ? hold : 0) * FD_DAY_MS;
	rc = fd_store_reward_insert(x->c, x->app, &r, x->now);
	if (rc != FD_OK)
		goto done;
	rc = FD_ERR;
	/* Not read back: the Reward is written from what was inserted. */
	if (granted(x, &r, campaign, g) < 0)
		goto done;
	x->granted++;
	rc = FD_OK;
done:
	free(own);
	return rc;
}

int fd__grant(fd_ctx *x, const json_t *referral, const json_t *campaign,
              int mask, fd_grants *g, const char **blocked)
{
	json_t *cr;
	size_t i;
	int limited = 0, dup = 0, given = 0, rc;

	*blocked = NULL;
	json_array_foreach(json_object_get(campaign, "rewards"), i, cr)
	{
		const char *party = fd__jstr(cr, "party");
		int bit = party && strcmp(party, "referrer") == 0
		                  ? FD_PARTY_REFERRER
		                  : FD_PARTY_REFEREE;
		const char *customer = fd__jstr(
		        referral,
		        bit == FD_PARTY_REFERRER ? "referrerId" : "refereeId");

		if (!(mask & bit) || !customer)
			continue;
		if ((rc = over_limit(x, cr, customer)) != 0) {
			if (rc < 0)
				return -1;
			limited++;
			continue;
		}
		rc = grant_one(x, referral, campaign, i, cr, customer, g);
		if (rc == FD_ERR)
			return -1;
		if (rc == FD_CONFLICT)
			dup++;
		else
			given++;
	}
	if (!given && limited)
		*blocked = "limit_reached";
	else if (!given && dup)
		*blocked = "already_rewarded";
	return 0;
}

static int add_fraud(json_t *list, const char *type, const char *message)
{
	return json_array_append_new(list, json_pack("{s:s, s:s}", "type", type,
	                                             "message", message));
}

json_t *fd__fraud_check(fd_ctx *x, const json_t *referrer,
                        const json_t *referee)
{
	const char *a = fd__jstr(referrer, "email"),
	           *b = fd__jstr(referee, "email");
	char na[320], nb[320];
	json_t *list = json_array();
	long recent = 0;

	if (!list)
		return NULL;
	if (strcmp(fd__jstr(referrer, "id"), fd__jstr(referee, "id")) == 0)
		add_fraud(list, "self_referral", "the referee is the referrer");
	else if (a && b && fd_email_normalize(na, sizeof(na), a) == 0 &&
	         fd_email_normalize(nb, sizeof(nb), b) == 0 &&
	         strcmp(na, nb) == 0)
		add_fraud(list, "self_referral",
		          "the referee's email is the referrer's");
	if (fd_fraud_disposable(x->e->fraud, b))
		add_fraud(list, "disposable_email",
		          "the referee's email domain is disposable");
	if (fd_store_referral_count_since(
	            x->c, x->app, fd__jstr(referrer, "id"), x->now - 3600000,
	            x->e->velocity_per_hour, &recent) == FD_OK &&
	    recent >= x->e->velocity_per_hour)
		add_fraud(
		        list, "velocity",
		        "too many referrals by this referrer in the last hour");
	if (json_array_size(list) == 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* ---- the writer's live-campaign cache -------------------------------- */

static void live_clear(struct fd_live *l)
{
	json_decref(l->campaign);
	json_decref(l->checkpoints);
	json_decref(l->terms);
	memset(l, 0, sizeof(*l));
}

void fd__live_forget(fd_writer *w)
{
	size_t i;

	for (i = 0; w && i < sizeof(w->live) / sizeof(w->live[0]); i++)
		live_clear(&w->live[i]);
}

static int live_load(fd_ctx *x, const char *env, json_t **campaign,
                     json_t **checkpoints)
{
	int rc = fd_store_campaign_live(x->c, x->app, env, campaign);

	*checkpoints = NULL;
	if (rc == FD_OK &&
	    fd_store_checkpoint_list(x->c, x->app, fd__jstr(*campaign, "id"),
	                             checkpoints) != FD_OK) {
		json_decref(*campaign);
		*campaign = NULL;
		return FD_ERR;
	}
	return rc;
}

/* The cache slot of (x->app, env), filled from the store on a miss (the
 * oldest slot makes room). NULL: the store failed. */
static struct fd_live *live_slot(fd_ctx *x, const char *env)
{
	fd_writer *w = x->w;
	size_t i, n = sizeof(w->live) / sizeof(w->live[0]);
	struct fd_live *l;

	for (i = 0; i < n; i++) {
		l = &w->live[i];
		if (strcmp(l->app, x->app) == 0 && strcmp(l->env, env) == 0)
			return l;
	}
	l = &w->live[w->live_next];
	w->live_next = (w->live_next + 1) % (int)n;
	live_clear(l);
	if (live_load(x, env, &l->campaign, &l->checkpoints) == FD_ERR)
		return NULL;
	snprintf(l->app, sizeof(l->app), "%s", x->app);
	snprintf(l->env, sizeof(l->env), "%s", env);
	return l;
}

int fd__live(fd_ctx *x, const char *env, json_t **campaign,
             json_t **checkpoints)
{
	struct fd_live *l;

	if (!x->w)
		return live_load(x, env, campaign, checkpoints);
	if (!(l = live_slot(x, env)))
		return FD_ERR;
	*campaign = json_incref(l->campaign);
	*checkpoints = json_incref(l->checkpoints);
	return l->campaign ? FD_OK : FD_NOTFOUND;
}
