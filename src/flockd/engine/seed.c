/*
 * flockd engine: `flockd bench-seed`, benchmark fixtures written straight
 * through the writer (HTTP would take minutes for a million customers):
 * internal calls of the campaign and customer functions the operations
 * use, in chunks so that no transaction grows without bound.
 */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

#define SEED_CHUNK 5000

/* One chunk: customers bench-<from> to bench-<to - 1>. */
typedef struct {
	long from, to;
	char campaign[FLOCK__ID_MAX]; /* set by the first chunk */
} seed_chunk;

/* A CampaignReward paying party 5 usd. */
static int seed_reward(fd_ctx *x, const char *campaign, const char *party)
{
	char id[FLOCK__ID_MAX];
	json_t *src =
	        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "name", "bench",
	                  "party", party, "type", "payout", "method", "custom",
	                  "payoutAmount", 5, "currency", "usd");
	int rc =
	        src ? fd__campaign_reward_insert(x, campaign, src, id) : FD_ERR;

	json_decref(src);
	return rc;
}

/* A live production campaign paying both sides on checkpoint
 * "purchase". */
static int seed_campaign(fd_ctx *x, char id[FLOCK__ID_MAX])
{
	char child[FLOCK__ID_MAX];
	fd_store_campaign k;

	memset(&k, 0, sizeof(k));
	k.environment = "production";
	k.name = "bench";
	k.extra = "{\"campaignPages\":[]}";
	k.id = id;
	if (flock__id_new(id, "cmp_") < 0 ||
	    fd_store_campaign_insert(x->c, x->app, &k, x->now) != FD_OK ||
	    fd_store_campaign_set_live(x->c, x->app, id, 1, x->now) != FD_OK ||
	    seed_reward(x, id, "referee") != FD_OK ||
	    seed_reward(x, id, "referrer") != FD_OK ||
	    fd__checkpoint_insert(x, id, "purchase", "reward", NULL, child) !=
	            FD_OK)
		return FD_ERR;
	return FD_OK;
}

/* Customer bench-<i>, referred (pending) by referrer unless NULL. */
static int seed_one(fd_ctx *x, long i, const char *campaign,
                    const char *referrer)
{
	char id[FLOCK__ID_MAX], ext[32], code[24], ref[FLOCK__ID_MAX];

	snprintf(ext, sizeof(ext), "bench-%ld", i);
	snprintf(code, sizeof(code), "BENCH%lX", (unsigned long)i);
	if (flock__id_new(id, "cus_") < 0 ||
	    fd_store_customer_insert(x->c, x->app, id, ext, NULL, NULL, code,
	                             NULL, x->now) != FD_OK)
		return FD_ERR;
	if (!referrer)
		return FD_OK;
	if (flock__id_new(ref, "ref_") < 0 ||
	    fd_store_referral_insert(x->c, x->app, ref, "production", campaign,
	                             referrer, id, "pending", NULL,
	                             x->now) != FD_OK)
		return FD_ERR;
	return FD_OK;
}

static int seed_run(fd_ctx *x, void *arg)
{
	seed_chunk *s = arg;
	char referrer[FLOCK__ID_MAX];
	json_t *root = NULL;
	long i = s->from;

	fd__live_forget(x->w);
	/* The first chunk makes the campaign and bench-0, everyone's
	 * referrer. */
	if (i == 0) {
		if (seed_campaign(x, s->campaign) != FD_OK ||
		    seed_one(x, 0, s->campaign, NULL) != FD_OK)
			return FD_ERR;
		i = 1;
	}
	if (fd_store_customer_get(x->c, x->app, FD_BY_EXTERNAL, "bench-0",
	                          &root) != FD_OK)
		return FD_ERR;
	snprintf(referrer, sizeof(referrer), "%s", fd__jstr(root, "id"));
	json_decref(root);
	for (; i < s->to; i++)
		if (seed_one(x, i, s->campaign, referrer) != FD_OK)
			return FD_ERR;
	return FD_OK;
}

int fd_engine_bench_seed(fd_engine *e, const char *app_id, long n, json_t **out)
{
	seed_chunk s;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	for (s.from = 0; s.from < n || s.from == 0; s.from += SEED_CHUNK) {
		s.to = s.from + SEED_CHUNK < n ? s.from + SEED_CHUNK : n;
		if (fd__write(e, app_id, seed_run, &s) != FD_OK)
			return -1;
	}
	*out = json_pack("{s:s, s:s, s:s, s:I, s:s}", "applicationId", app_id,
	                 "campaignId", s.campaign, "checkpointName", "purchase",
	                 "customers", (json_int_t)n, "externalUserIdPrefix",
	                 "bench-");
	return *out ? 0 : -1;
}
