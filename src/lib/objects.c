/*
 * JSON -> typed structs. Every top-level object is a holder: the public
 * struct first (so its free function can cast back), then an owner that
 * keeps the JSON tree (string members point into it), the body text and
 * every array or nested struct allocated for it. Lists are arrays of
 * pointers (types.h, "ABI") to boxes: a box is a public struct followed
 * by the private storage its pointers lead to (its `meta`), and a whole
 * list, pointers and boxes, is one allocation (p_list).
 *
 * Readers are lenient about absence (a missing or null member reads as
 * NULL, 0, or -1 for `limit`) and strict about type: a member of the
 * wrong type is FLOCK_EBADRESPONSE, naming it, rather than a silent NULL.
 */
#include "objects.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "error.h"

typedef struct {
	json_t *root;
	char *raw;
	void **allocs;
	size_t count;
	size_t cap;
} owner;

typedef struct {
	const flock__reply *reply;
	owner *own;
	int rc; /* the first failure; later reads are no-ops */
} pctx;

/* --- boxes: a public struct with the private storage it points to ------ */

typedef struct {
	flock_campaign c;
	flock_meta meta;
} campaign_box;

typedef struct {
	flock_referral r;
	flock_meta meta;
} referral_box;

typedef struct {
	flock_reward r;
	flock_meta meta;
} reward_box;

/* A path for messages: "campaign.rewards[1]". */
#define PATH_MAX_LEN 96

static void owner_release(owner *o)
{
	size_t i;

	for (i = 0; i < o->count; i++)
		free(o->allocs[i]);
	free(o->allocs);
	free(o->raw);
	json_decref(o->root);
}

static void fail_nomem(pctx *p)
{
	if (p->rc == 0)
		p->rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
}

/* Hand `m` to the owner; on failure `m` is freed. */
static void *track(pctx *p, void *m)
{
	owner *o = p->own;
	void **a;
	size_t cap;

	if (m == NULL || p->rc) {
		free(m);
		if (m == NULL)
			fail_nomem(p);
		return NULL;
	}
	if (o->count == o->cap) {
		cap = o->cap ? o->cap * 2 : 8;
		a = realloc(o->allocs, cap * sizeof(*a));
		if (a == NULL) {
			free(m);
			fail_nomem(p);
			return NULL;
		}
		o->allocs = a;
		o->cap = cap;
	}
	o->allocs[o->count++] = m;
	return m;
}

/* n zeroed elements, or NULL when n is 0 (an empty array). */
static void *p_calloc(pctx *p, size_t n, size_t size)
{
	if (n == 0 || p->rc)
		return NULL;
	return track(p, calloc(n, size));
}

/*
 * Room for a public list in one allocation: n pointers (returned; the
 * caller fills them with its element type) then n zeroed boxes of
 * box_size bytes (*boxes). NULL when n is 0. The pointer array is the ABI
 * (types.h); the boxes' layout is ours.
 */
static void *p_list(pctx *p, size_t n, size_t box_size, void **boxes)
{
	char *block;

	*boxes = NULL;
	if (n == 0 || p->rc)
		return NULL;
	if (n > ((size_t)-1) / 2 / (box_size + sizeof(void *))) {
		fail_nomem(p);
		return NULL;
	}
	block = track(p, calloc(1, n * (sizeof(void *) + box_size)));
	if (block != NULL)
		*boxes = block + n * sizeof(void *);
	return block;
}

static void bad(pctx *p, const char *path, const char *key, const char *why)
{
	if (p->rc == 0)
		p->rc = flock__reply_bad(p->reply, "bad response: %s%s%s %s",
		                         path, key ? "." : "", key ? key : "",
		                         why);
}

/* The member, or NULL when absent or null. */
static const json_t *member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static const char *p_str(pctx *p, const json_t *obj, const char *path,
                         const char *key)
{
	const json_t *v = member(obj, key);

	if (v && !json_is_string(v)) {
		bad(p, path, key, "is not a string");
		return NULL;
	}
	return json_string_value(v);
}

static const char *p_id(pctx *p, const json_t *obj, const char *path)
{
	const char *s = p_str(p, obj, path, "id");

	if (s == NULL)
		bad(p, path, "id", "is missing");
	return s;
}

static double p_double(pctx *p, const json_t *obj, const char *path,
                       const char *key, double dflt)
{
	const json_t *v = member(obj, key);

	if (v == NULL)
		return dflt;
	if (!json_is_number(v)) {
		bad(p, path, key, "is not a number");
		return dflt;
	}
	return json_number_value(v);
}

static long p_long(pctx *p, const json_t *obj, const char *path,
                   const char *key, long dflt)
{
	double d = p_double(p, obj, path, key, (double)dflt);

	if (!(d >= (double)LONG_MIN && d <= (double)LONG_MAX)) {
		bad(p, path, key, "is out of range");
		return dflt;
	}
	return (long)d;
}

static int p_bool(pctx *p, const json_t *obj, const char *path, const char *key)
{
	const json_t *v = member(obj, key);

	if (v && !json_is_boolean(v)) {
		bad(p, path, key, "is not a boolean");
		return 0;
	}
	return json_is_true(v);
}

/* Compact JSON text of a value, owned by the object. */
static const char *p_dump(pctx *p, const json_t *v)
{
	if (p->rc)
		return NULL;
	return track(p, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

/* The array member (NULL and size 0 when absent or null). */
static const json_t *p_array(pctx *p, const json_t *obj, const char *path,
                             const char *key, size_t *n)
{
	const json_t *v = member(obj, key);

	*n = 0;
	if (v && !json_is_array(v)) {
		bad(p, path, key, "is not an array");
		return NULL;
	}
	*n = json_array_size(v);
	return v;
}

static int p_object(pctx *p, const json_t *v, const char *path)
{
	if (!json_is_object(v)) {
		bad(p, path, NULL, "is not a JSON object");
		return 0;
	}
	return 1;
}

/* Into m, which the caller's box holds; returns m for the `meta` member. */
static const flock_meta *parse_meta(pctx *p, const json_t *o, const char *path,
                                    flock_meta *m)
{
	m->organization_id = p_str(p, o, path, "organizationId");
	m->application_id = p_str(p, o, path, "applicationId");
	m->created_at = p_str(p, o, path, "createdAt");
	m->updated_at = p_str(p, o, path, "updatedAt");
	m->deleted_at = p_str(p, o, path, "deletedAt");
	return m;
}

static const flock_customer_ref *parse_ref(pctx *p, const json_t *o,
                                           const char *path, const char *key)
{
	const json_t *v = member(o, key);
	flock_customer_ref *r;
	char sub[PATH_MAX_LEN];

	if (v == NULL)
		return NULL;
	snprintf(sub, sizeof(sub), "%s.%s", path, key);
	if (!p_object(p, v, sub) || (r = p_calloc(p, 1, sizeof(*r))) == NULL)
		return NULL;
	r->id = p_str(p, v, sub, "id");
	r->external_user_id = p_str(p, v, sub, "externalUserId");
	r->email = p_str(p, v, sub, "email");
	r->name = p_str(p, v, sub, "name");
	return r;
}

static void parse_customer(pctx *p, const json_t *o, const char *path,
                           flock_customer *c, flock_meta *meta, const char *raw)
{
	const json_t *props = member(o, "customProperties");

	c->id = p_id(p, o, path);
	c->external_user_id = p_str(p, o, path, "externalUserId");
	c->email = p_str(p, o, path, "email");
	c->name = p_str(p, o, path, "name");
	c->referral_code = p_str(p, o, path, "referralCode");
	c->referred_by = parse_ref(p, o, path, "referredBy");
	c->referred_by_id = p_str(p, o, path, "referredById");
	c->referred_by_referral_id = p_str(p, o, path, "referredByReferralId");
	c->referred_in_campaign_id = p_str(p, o, path, "referredInCampaignId");
	c->visited_referrals_count =
	        p_long(p, o, path, "visitedReferralsCount", 0);
	c->converted_referrals_count =
	        p_long(p, o, path, "convertedReferralsCount", 0);
	if (props && !json_is_object(props))
		bad(p, path, "customProperties", "is not an object");
	c->custom_properties_json = props ? p_dump(p, props) : "{}";
	c->meta = parse_meta(p, o, path, meta);
	c->raw_json = raw ? raw : p_dump(p, o);
}

static void parse_campaign_reward(pctx *p, const json_t *o, const char *path,
                                  flock_campaign_reward *r)
{
	if (!p_object(p, o, path))
		return;
	r->id = p_id(p, o, path);
	r->campaign_id = p_str(p, o, path, "campaignId");
	r->name = p_str(p, o, path, "name");
	r->description = p_str(p, o, path, "description");
	r->type = p_str(p, o, path, "type");
	r->party = p_str(p, o, path, "party");
	r->method = p_str(p, o, path, "method");
	r->payout_amount = p_double(p, o, path, "payoutAmount", 0);
	r->discount_amount = p_double(p, o, path, "discountAmount", 0);
	r->discount_percentage = p_double(p, o, path, "discountPercentage", 0);
	r->discount_duration_in_month =
	        p_long(p, o, path, "discountDurationInMonth", 0);
	r->currency = p_str(p, o, path, "currency");
	r->limit = p_long(p, o, path, "limit", -1);
	r->limit_unit = p_str(p, o, path, "limitUnit");
	r->limit_interval = p_str(p, o, path, "limitInterval");
	r->raw_json = p_dump(p, o);
}

static void parse_campaign(pctx *p, const json_t *o, const char *path,
                           flock_campaign *c, flock_meta *meta, const char *raw)
{
	const json_t *arr;
	const flock_campaign_reward **rw;
	flock_campaign_reward *box;
	char sub[PATH_MAX_LEN];
	size_t i, n;

	if (!p_object(p, o, path))
		return;
	c->id = p_id(p, o, path);
	c->name = p_str(p, o, path, "name");
	c->environment = p_str(p, o, path, "environment");
	c->is_live = p_bool(p, o, path, "isLive");
	c->copied_from_campaign_id = p_str(p, o, path, "copiedFromCampaignId");
	c->referee_landing_page_url =
	        p_str(p, o, path, "refereeLandingPageUrl");
	c->terms_url = p_str(p, o, path, "termsUrl");
	c->invite_message = p_str(p, o, path, "inviteMessage");
	c->last_ping_at = p_str(p, o, path, "lastPingAt");
	c->last_ping_origin = p_str(p, o, path, "lastPingOrigin");
	c->starts_at = p_str(p, o, path, "startsAt");
	c->ends_at = p_str(p, o, path, "endsAt");
	c->reward_hold_days = p_long(p, o, path, "rewardHoldDays", 0);
	c->meta = parse_meta(p, o, path, meta);
	arr = p_array(p, o, path, "rewards", &n);
	rw = p_list(p, n, sizeof(*box), (void **)&box);
	for (i = 0; rw && i < n; i++) {
		snprintf(sub, sizeof(sub), "%s.rewards[%zu]", path, i);
		parse_campaign_reward(p, json_array_get(arr, i), sub, &box[i]);
		rw[i] = &box[i];
	}
	c->rewards = rw;
	c->reward_count = rw ? n : 0;
	c->raw_json = raw ? raw : p_dump(p, o);
}

static void parse_checkpoint(pctx *p, const json_t *o, const char *path,
                             flock_campaign_checkpoint *k)
{
	if (!p_object(p, o, path))
		return;
	k->id = p_id(p, o, path);
	k->campaign_id = p_str(p, o, path, "campaignId");
	k->checkpoint_name = p_str(p, o, path, "checkpointName");
	k->trigger = p_str(p, o, path, "trigger");
	k->placement_id = p_str(p, o, path, "placementId");
	k->raw_json = p_dump(p, o);
}

static void parse_frauds(pctx *p, const json_t *o, const char *path,
                         flock_referral *r)
{
	const json_t *arr, *f;
	const flock_suspected_fraud **fr;
	flock_suspected_fraud *box;
	char sub[PATH_MAX_LEN];
	size_t i, n;

	arr = p_array(p, o, path, "suspectedFrauds", &n);
	fr = p_list(p, n, sizeof(*box), (void **)&box);
	for (i = 0; fr && i < n; i++) {
		snprintf(sub, sizeof(sub), "%s.suspectedFrauds[%zu]", path, i);
		fr[i] = &box[i];
		f = json_array_get(arr, i);
		if (!p_object(p, f, sub))
			break;
		box[i].type = p_str(p, f, sub, "type");
		box[i].message = p_str(p, f, sub, "message");
	}
	r->suspected_frauds = fr;
	r->suspected_fraud_count = fr ? n : 0;
}

static void parse_referral(pctx *p, const json_t *o, const char *path,
                           flock_referral *r, flock_meta *meta, const char *raw)
{
	if (!p_object(p, o, path))
		return;
	r->id = p_id(p, o, path);
	r->campaign_id = p_str(p, o, path, "campaignId");
	r->referrer_id = p_str(p, o, path, "referrerId");
	r->referee_id = p_str(p, o, path, "refereeId");
	r->status = p_str(p, o, path, "status");
	r->environment = p_str(p, o, path, "environment");
	parse_frauds(p, o, path, r);
	r->meta = parse_meta(p, o, path, meta);
	r->raw_json = raw ? raw : p_dump(p, o);
}

static void parse_reward(pctx *p, const json_t *o, const char *path,
                         flock_reward *r, flock_meta *meta)
{
	if (!p_object(p, o, path))
		return;
	r->id = p_id(p, o, path);
	r->campaign_id = p_str(p, o, path, "campaignId");
	r->campaign_reward_id = p_str(p, o, path, "campaignRewardId");
	r->referral_id = p_str(p, o, path, "referralId");
	r->customer_id = p_str(p, o, path, "customerId");
	r->party = p_str(p, o, path, "party");
	r->type = p_str(p, o, path, "type");
	r->method = p_str(p, o, path, "method");
	r->payout_amount = p_double(p, o, path, "payoutAmount", 0);
	r->discount_amount = p_double(p, o, path, "discountAmount", 0);
	r->discount_percentage = p_double(p, o, path, "discountPercentage", 0);
	r->currency = p_str(p, o, path, "currency");
	r->status = p_str(p, o, path, "status");
	r->available_at = p_str(p, o, path, "availableAt");
	r->environment = p_str(p, o, path, "environment");
	r->meta = parse_meta(p, o, path, meta);
	r->raw_json = p_dump(p, o);
}

static void parse_checkpoint_result(pctx *p, const json_t *o,
                                    flock_checkpoint_result *r)
{
	const char *path = "checkpointResult";
	const json_t *arr, *ref;
	referral_box *referral = NULL;
	const flock_reward **rw;
	reward_box *box;
	char sub[PATH_MAX_LEN];
	size_t i, n;

	r->id = p_id(p, o, path);
	r->checkpoint_name = p_str(p, o, path, "checkpointName");
	r->customer_id = p_str(p, o, path, "customerId");
	r->environment = p_str(p, o, path, "environment");
	r->matched = p_bool(p, o, path, "matched");
	r->blocked_by = p_str(p, o, path, "blockedBy");
	ref = member(o, "referral");
	if (ref && (referral = p_calloc(p, 1, sizeof(*referral))) != NULL)
		parse_referral(p, ref, "checkpointResult.referral",
		               &referral->r, &referral->meta, NULL);
	r->referral = referral ? &referral->r : NULL;
	arr = p_array(p, o, path, "rewards", &n);
	rw = p_list(p, n, sizeof(*box), (void **)&box);
	for (i = 0; rw && i < n; i++) {
		snprintf(sub, sizeof(sub), "%s.rewards[%zu]", path, i);
		parse_reward(p, json_array_get(arr, i), sub, &box[i].r,
		             &box[i].meta);
		rw[i] = &box[i].r;
	}
	r->rewards = rw;
	r->reward_count = rw ? n : 0;
}

/* --- top-level holders ------------------------------------------------- */

#define HOLDER(name, type)                                                     \
	typedef struct {                                                       \
		type pub; /* first: the free functions cast back */            \
		owner own;                                                     \
		flock_meta meta; /* pub.meta, for the types that have one */  \
	} name

HOLDER(customer_holder, flock_customer);
HOLDER(campaign_holder, flock_campaign);
HOLDER(campaign_list_holder, flock_campaign_list);
HOLDER(checkpoint_list_holder, flock_checkpoint_list);
HOLDER(referral_holder, flock_referral);
HOLDER(referral_page_holder, flock_referral_page);
HOLDER(result_holder, flock_checkpoint_result);
HOLDER(validation_holder, flock_validation);
HOLDER(reward_ids_holder, flock_reward_ids);

/* Take the reply's JSON and text into `own`; 0 or FLOCK_ENOMEM. */
static int begin(pctx *p, void *holder, owner *own, flock__reply *reply)
{
	p->reply = reply;
	p->own = own;
	p->rc = 0;
	if (holder == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	own->root = reply->json;
	own->raw = reply->raw;
	reply->json = NULL;
	reply->raw = NULL;
	return 0;
}

/* Publish the holder, or release it if parsing failed. */
#define FINISH(p, h, out)                                                      \
	do {                                                                   \
		if ((p).rc) {                                                  \
			owner_release(&(h)->own);                              \
			free(h);                                               \
			return (p).rc;                                         \
		}                                                              \
		*(out) = &(h)->pub;                                            \
		return 0;                                                      \
	} while (0)

int flock__customer_parse(flock_customer **out, flock__reply *reply)
{
	customer_holder *h = calloc(1, sizeof(*h));
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	if (p_object(&p, h->own.root, "customer"))
		parse_customer(&p, h->own.root, "customer", &h->pub, &h->meta,
		               h->own.raw);
	FINISH(p, h, out);
}

int flock__campaign_parse(flock_campaign **out, flock__reply *reply)
{
	campaign_holder *h = calloc(1, sizeof(*h));
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	parse_campaign(&p, h->own.root, "campaign", &h->pub, &h->meta,
	               h->own.raw);
	FINISH(p, h, out);
}

/* GET /campaigns answers a bare array. */
int flock__campaign_list_parse(flock_campaign_list **out, flock__reply *reply)
{
	campaign_list_holder *h = calloc(1, sizeof(*h));
	const flock_campaign **items;
	campaign_box *box;
	char sub[PATH_MAX_LEN];
	size_t i, n;
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	if (!json_is_array(h->own.root))
		bad(&p, "campaigns", NULL, "is not a JSON array");
	n = json_array_size(h->own.root);
	items = p_list(&p, n, sizeof(*box), (void **)&box);
	for (i = 0; items && i < n; i++) {
		snprintf(sub, sizeof(sub), "campaigns[%zu]", i);
		parse_campaign(&p, json_array_get(h->own.root, i), sub,
		               &box[i].c, &box[i].meta, NULL);
		items[i] = &box[i].c;
	}
	h->pub.items = items;
	h->pub.count = items ? n : 0;
	h->pub.raw_json = h->own.raw;
	FINISH(p, h, out);
}

/* GET /campaign-checkpoints answers {"data":[...]}. */
int flock__checkpoint_list_parse(flock_checkpoint_list **out,
                                 flock__reply *reply)
{
	checkpoint_list_holder *h = calloc(1, sizeof(*h));
	const flock_campaign_checkpoint **items = NULL;
	flock_campaign_checkpoint *box;
	const json_t *arr = NULL;
	char sub[PATH_MAX_LEN];
	size_t i, n = 0;
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	if (p_object(&p, h->own.root, "checkpoints"))
		arr = p_array(&p, h->own.root, "checkpoints", "data", &n);
	items = p_list(&p, n, sizeof(*box), (void **)&box);
	for (i = 0; items && i < n; i++) {
		snprintf(sub, sizeof(sub), "checkpoints.data[%zu]", i);
		parse_checkpoint(&p, json_array_get(arr, i), sub, &box[i]);
		items[i] = &box[i];
	}
	h->pub.items = items;
	h->pub.count = items ? n : 0;
	h->pub.raw_json = h->own.raw;
	FINISH(p, h, out);
}

int flock__referral_parse(flock_referral **out, flock__reply *reply)
{
	referral_holder *h = calloc(1, sizeof(*h));
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	parse_referral(&p, h->own.root, "referral", &h->pub, &h->meta,
	               h->own.raw);
	FINISH(p, h, out);
}

/* {"total":n,"limit":l,"offset":o,"data":[...]} */
int flock__referral_page_parse(flock_referral_page **out, flock__reply *reply)
{
	referral_page_holder *h = calloc(1, sizeof(*h));
	const flock_referral **items = NULL;
	referral_box *box;
	const json_t *arr = NULL, *root;
	char sub[PATH_MAX_LEN];
	size_t i, n = 0;
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	root = h->own.root;
	if (p_object(&p, root, "referrals")) {
		arr = p_array(&p, root, "referrals", "data", &n);
		if (arr == NULL)
			bad(&p, "referrals", "data", "is missing");
	}
	/* -1 when absent: the iterator then reads until an empty page. */
	h->pub.total = p_long(&p, root, "referrals", "total", -1);
	h->pub.limit = p_long(&p, root, "referrals", "limit", 0);
	h->pub.offset = p_long(&p, root, "referrals", "offset", 0);
	items = p_list(&p, n, sizeof(*box), (void **)&box);
	for (i = 0; items && i < n; i++) {
		snprintf(sub, sizeof(sub), "referrals.data[%zu]", i);
		parse_referral(&p, json_array_get(arr, i), sub, &box[i].r,
		               &box[i].meta, NULL);
		items[i] = &box[i].r;
	}
	h->pub.items = items;
	h->pub.count = items ? n : 0;
	h->pub.raw_json = h->own.raw;
	FINISH(p, h, out);
}

int flock__checkpoint_result_parse_tree(flock_checkpoint_result **out,
                                        flock__reply *reply)
{
	result_holder *h = calloc(1, sizeof(*h));
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	if (p_object(&p, h->own.root, "checkpointResult"))
		parse_checkpoint_result(&p, h->own.root, &h->pub);
	h->pub.raw_json = h->own.raw;
	FINISH(p, h, out);
}

/* --- the flat CheckpointResult, from one scan of the text --------------- */

enum {
	R_ID,
	R_NAME,
	R_CUSTOMER,
	R_ENV,
	R_MATCHED,
	R_BLOCKED,
	R_REFERRAL,
	R_REWARDS,
	R_N
};

static const flock__jname result_names[R_N] = {
        {"id", 2},           {"checkpointName", 14}, {"customerId", 10},
        {"environment", 11}, {"matched", 7},         {"blockedBy", 9},
        {"referral", 8},     {"rewards", 7}};

static int absent(const flock__jvalue *v)
{
	return v->kind == 0 || v->kind == 'n';
}

/* "[]", maybe with whitespace inside (the scan has validated it). */
static int empty_array(const flock__jvalue *v)
{
	size_t i;

	if (v->kind != '[')
		return 0;
	for (i = 1; i + 1 < v->len; i++) {
		if (v->p[i] != ' ' && v->p[i] != '\t' && v->p[i] != '\n' &&
		    v->p[i] != '\r')
			return 0;
	}
	return 1;
}

/*
 * Whether the scanned members are what parse_checkpoint_result() would
 * accept with no referral and no rewards, the answer to every ingest that
 * granted nothing. Anything else (a referral, rewards, a member of the
 * wrong type, no id) is left to the tree, which reads it or says what is
 * wrong.
 */
static int flat_result(const flock__jvalue *v)
{
	static const int strings[] = {R_NAME, R_CUSTOMER, R_ENV, R_BLOCKED};
	size_t i;

	if (v[R_ID].kind != '"')
		return 0;
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (!absent(&v[strings[i]]) && v[strings[i]].kind != '"')
			return 0;
	}
	if (!absent(&v[R_MATCHED]) && v[R_MATCHED].kind != 't')
		return 0;
	return absent(&v[R_REFERRAL]) &&
	       (absent(&v[R_REWARDS]) || empty_array(&v[R_REWARDS]));
}

/* A scanned string member decoded into *at, or NULL when absent/null. */
static const char *take_string(char **at, const flock__jvalue *v)
{
	flock__jstr j;
	char *start = *at;

	if (v->kind != '"')
		return NULL;
	j.p = v->p + 1;
	j.len = v->len - 2;
	j.escaped = v->escaped;
	*at += flock__jstr_decode(start, &j) + 1;
	return start;
}

/*
 * The result without a JSON tree: the strings decoded into the holder's
 * own allocation, everything else from the scan. 1 when done, 0 when the
 * body needs the tree, -1 with FLOCK_ENOMEM set.
 */
static int result_from_scan(flock_checkpoint_result **out, flock__reply *reply)
{
	flock__jvalue v[R_N];
	result_holder *h;
	size_t room = 0, i;
	char *at;

	if (reply->raw == NULL ||
	    flock__json_scan(v, reply->raw, reply->raw_len, result_names,
	                     R_N) != 0 ||
	    !flat_result(v))
		return 0;
	for (i = 0; i < R_N; i++)
		room += v[i].kind == '"' ? v[i].len - 1 : 0;
	if ((h = calloc(1, sizeof(*h) + room)) == NULL) {
		flock__error_set(FLOCK_ENOMEM, "out of memory");
		return -1;
	}
	at = (char *)(h + 1);
	h->pub.id = take_string(&at, &v[R_ID]);
	h->pub.checkpoint_name = take_string(&at, &v[R_NAME]);
	h->pub.customer_id = take_string(&at, &v[R_CUSTOMER]);
	h->pub.environment = take_string(&at, &v[R_ENV]);
	h->pub.matched = v[R_MATCHED].kind == 't' && v[R_MATCHED].p[0] == 't';
	h->pub.blocked_by = take_string(&at, &v[R_BLOCKED]);
	h->own.raw = reply->raw;
	reply->raw = NULL;
	h->pub.raw_json = h->own.raw;
	*out = &h->pub;
	return 1;
}

int flock__checkpoint_result_parse(flock_checkpoint_result **out,
                                   flock__reply *reply, const flock__call *call)
{
	int rc = reply->json ? 0 : result_from_scan(out, reply);

	if (rc != 0)
		return rc > 0 ? 0 : FLOCK_ENOMEM;
	if ((rc = flock__reply_json(reply, call)) != 0)
		return rc;
	return flock__checkpoint_result_parse_tree(out, reply);
}

int flock__validation_parse(flock_validation **out, flock__reply *reply)
{
	validation_holder *h = calloc(1, sizeof(*h));
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	if (p_object(&p, h->own.root, "validation")) {
		if (!json_is_boolean(json_object_get(h->own.root, "isValid")))
			bad(&p, "validation", "isValid",
			    "is missing or not a boolean");
		h->pub.is_valid =
		        p_bool(&p, h->own.root, "validation", "isValid");
		h->pub.referred_by =
		        parse_ref(&p, h->own.root, "validation", "referredBy");
	}
	h->pub.raw_json = h->own.raw;
	FINISH(p, h, out);
}

/* POST /rewards/trigger answers [{"id":"rwd_..."}, ...]. */
int flock__reward_ids_parse(flock_reward_ids **out, flock__reply *reply)
{
	reward_ids_holder *h = calloc(1, sizeof(*h));
	const char **ids;
	char sub[PATH_MAX_LEN];
	size_t i, n;
	pctx p;

	if (begin(&p, h, h ? &h->own : NULL, reply))
		return FLOCK_ENOMEM;
	if (!json_is_array(h->own.root))
		bad(&p, "rewards", NULL, "is not a JSON array");
	n = json_array_size(h->own.root);
	ids = p_calloc(&p, n, sizeof(*ids));
	for (i = 0; ids && i < n; i++) {
		snprintf(sub, sizeof(sub), "rewards[%zu]", i);
		if (p_object(&p, json_array_get(h->own.root, i), sub))
			ids[i] = p_id(&p, json_array_get(h->own.root, i), sub);
	}
	h->pub.ids = ids;
	h->pub.count = ids ? n : 0;
	h->pub.raw_json = h->own.raw;
	FINISH(p, h, out);
}

/* --- free functions ---------------------------------------------------- */

#define DEFINE_FREE(fn, type, holder)                                          \
	void fn(type *obj)                                                     \
	{                                                                      \
		holder *h = (holder *)obj;                                     \
		if (h == NULL)                                                 \
			return;                                                \
		owner_release(&h->own);                                        \
		free(h);                                                       \
	}

DEFINE_FREE(flock_customer_free, flock_customer, customer_holder)
DEFINE_FREE(flock_campaign_free, flock_campaign, campaign_holder)
DEFINE_FREE(flock_campaign_list_free, flock_campaign_list, campaign_list_holder)
DEFINE_FREE(flock_checkpoint_list_free, flock_checkpoint_list,
            checkpoint_list_holder)
DEFINE_FREE(flock_referral_free, flock_referral, referral_holder)
DEFINE_FREE(flock_referral_page_free, flock_referral_page, referral_page_holder)
DEFINE_FREE(flock_checkpoint_result_free, flock_checkpoint_result,
            result_holder)
DEFINE_FREE(flock_validation_free, flock_validation, validation_holder)
DEFINE_FREE(flock_reward_ids_free, flock_reward_ids, reward_ids_holder)
