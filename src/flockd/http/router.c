/*
 * flockd: routes and validators as data (api.md sections 3 and 5, and the
 * admin API of docs/admin-api.md).
 */
#include "http/router.h"
#include "base/jdump.h"
#include "http/test_clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S FD_KEY_SERVICE
#define P FD_KEY_PUBLIC
#define A FD_KEY_ADMIN

/* --- enumerations ------------------------------------------------------ */

static const char *const env_values[] = {"production", "test", NULL};
static const char *const reward_for_values[] = {"self", "referral_partner",
                                                "referralPartner", NULL};
static const char *const mode_values[] = {"latest", "all", NULL};
static const char *const referral_status_values[] = {
        "pending", "flagged", "accepted", "rejected", NULL};
static const char *const reward_status_values[] = {
        "pending", "approved", "fulfilled", "rejected", "revoked", NULL};
static const char *const key_kind_values[] = {"service", "public", "admin",
                                              NULL};
static const char *const trigger_values[] = {"reward", "placement", NULL};
static const char *const reward_type_values[] = {"payout", "discount", NULL};
static const char *const party_values[] = {"referrer", "referee", NULL};
static const char *const method_values[] = {"paypal",
                                            "amazon_gift_card",
                                            "visa_gift_card",
                                            "mobile_coupon",
                                            "venmo",
                                            "custom",
                                            NULL};
static const char *const currency_values[] = {"usd", "cad", NULL};
static const char *const platform_values[] = {"mobile", "web", NULL};
static const char *const event_values[] = {"*",
                                           "referral.created",
                                           "referral.flagged",
                                           "invitee.accepted",
                                           "referral.rejected",
                                           "reward.created",
                                           "reward.approved",
                                           "reward.fulfilled",
                                           "reward.revoked",
                                           "customer.created",
                                           "checkpoint.ingested",
                                           NULL};

/* --- field lists (a NULL name ends each) -------------------------------- */

#define END                                                                    \
	{                                                                      \
		NULL, 0, 0, NULL, NULL, NULL, 0, 0                             \
	}
#define F(n, t, r)                                                             \
	{                                                                      \
		n, t, r, NULL, NULL, NULL, 0, 0                                \
	}
#define FE(n, r, v)                                                            \
	{                                                                      \
		n, FD_T_STRING, r, v, NULL, NULL, 0, 0                         \
	}
#define FA(n, r, v, it)                                                        \
	{                                                                      \
		n, FD_T_ARRAY, r, v, it, NULL, 0, 0                            \
	}
#define FI(n, r, lo, hi)                                                       \
	{                                                                      \
		n, FD_T_INTEGER, r, NULL, NULL, NULL, lo, hi                   \
	}
/* A string of at most max characters. */
#define FS(n, t, r, max)                                                       \
	{                                                                      \
		n, t, r, NULL, NULL, NULL, 0, max                              \
	}
/* A number from lo to hi. */
#define FN(n, r, lo, hi)                                                       \
	{                                                                      \
		n, FD_T_NUMBER, r, NULL, NULL, NULL, lo, hi                    \
	}
/* An array of at most max items; a flat object of at most max members. */
#define FAM(n, r, v, it, max)                                                  \
	{                                                                      \
		n, FD_T_ARRAY, r, v, it, NULL, 0, max                          \
	}
#define FFLAT(n, r)                                                            \
	{                                                                      \
		n, FD_T_FLAT, r, NULL, NULL, NULL, 0, FD_LIMIT_PROPS           \
	}

static const fd_field identify_body[] = {
        FS("externalUserId", FD_T_STRING, 1, FD_LIMIT_ID),
        FS("email", FD_T_NSTRING, 0, FD_LIMIT_EMAIL),
        FS("name", FD_T_NSTRING, 0, FD_LIMIT_NAME),
        FFLAT("customProperties", 0),
        FE("environment", 0, env_values),
        END};

static const fd_field ingest_body[] = {
        {"checkpointName", FD_T_STRING, 1, NULL, NULL, "name", 0,
         FD_LIMIT_CHECKPOINT_NAME},
        FS("externalUserId", FD_T_STRING, 1, FD_LIMIT_ID),
        FE("environment", 1, env_values),
        FFLAT("properties", 0),
        END};

static const fd_field referral_body[] = {
        FS("campaignId", FD_T_STRING, 1, FD_LIMIT_ID),
        FS("referralCode", FD_T_STRING, 1, FD_LIMIT_ID),
        FS("refereeId", FD_T_STRING, 0, FD_LIMIT_ID),
        FS("refereeExternalUserId", FD_T_STRING, 0, FD_LIMIT_ID), END};

/* environment (ours): where the dashboard counts the visit. */
static const fd_field validate_body[] = {
        FS("referralCode", FD_T_STRING, 1, FD_LIMIT_ID),
        FE("environment", 0, env_values), END};

static const fd_field trigger_body[] = {
        FS("externalUserId", FD_T_STRING, 0, FD_LIMIT_ID),
        FS("customerExternalId", FD_T_STRING, 0, FD_LIMIT_ID),
        FE("environment", 0, env_values),
        FS("campaignId", FD_T_STRING, 0, FD_LIMIT_ID),
        FA("rewardFor", 0, reward_for_values, NULL),
        FE("mode", 0, mode_values),
        END};

/* environment defaults to production in the engine, as Flock does. */
static const fd_field live_query[] = {FE("environment", 0, env_values),
                                      F("customerId", FD_T_STRING, 0), END};

static const fd_field checkpoints_query[] = {F("campaignId", FD_T_STRING, 0),
                                             END};

static const fd_field page_query[] = {FI("limit", 0, 1, 100),
                                      FI("offset", 0, 0, 1000000000),
                                      FE("environment", 0, env_values), END};

static const fd_field referrals_query[] = {
        F("campaignId", FD_T_STRING, 0),
        FE("status", 0, referral_status_values),
        FE("environment", 0, env_values),
        FI("limit", 0, 1, 100),
        FI("offset", 0, 0, 1000000000),
        END};

static const fd_field rewards_query[] = {F("campaignId", FD_T_STRING, 0),
                                         F("customerId", FD_T_STRING, 0),
                                         FE("status", 0, reward_status_values),
                                         FE("environment", 0, env_values),
                                         FI("limit", 0, 1, 100),
                                         FI("offset", 0, 0, 1000000000),
                                         END};

static const fd_field app_body[] = {F("name", FD_T_STRING, 1), END};

static const fd_field key_body[] = {FE("kind", 1, key_kind_values),
                                    FE("environment", 0, env_values),
                                    F("name", FD_T_STRING, 0), END};

#define REWARD_FIELDS(req)                                                     \
	FS("name", FD_T_STRING, 0, FD_LIMIT_NAME),                             \
	        FS("description", FD_T_NSTRING, 0, FD_LIMIT_TEXT),             \
	        FE("type", req, reward_type_values),                           \
	        FE("party", req, party_values),                                \
	        FE("method", 0, method_values),                                \
	        FN("payoutAmount", 0, 0, FD_LIMIT_AMOUNT),                     \
	        FN("discountAmount", 0, 0, FD_LIMIT_AMOUNT),                   \
	        FN("discountPercentage", 0, 0, 100),                           \
	        FI("discountDurationInMonth", 0, 0, 1200),                     \
	        FE("currency", 0, currency_values), FI("limit", 0, 0, 0),      \
	        F("limitUnit", FD_T_STRING, 0),                                \
	        F("limitInterval", FD_T_STRING, 0)

static const fd_field reward_item[] = {REWARD_FIELDS(1), END};

#define CHECKPOINT_FIELDS                                                      \
	{"checkpointName",        FD_T_STRING, 1, NULL, NULL, "name", 0,       \
	 FD_LIMIT_CHECKPOINT_NAME},                                            \
	        FE("trigger", 1, trigger_values),                              \
	        F("placementId", FD_T_NSTRING, 0)

static const fd_field checkpoint_item[] = {CHECKPOINT_FIELDS, END};

#define CAMPAIGN_FIELDS(req)                                                   \
	FS("name", FD_T_STRING, req, FD_LIMIT_NAME),                           \
	        FE("environment", req, env_values),                            \
	        FS("refereeLandingPageUrl", FD_T_NSTRING, 0, FD_LIMIT_TEXT),   \
	        FS("termsUrl", FD_T_NSTRING, 0, FD_LIMIT_TEXT),                \
	        FS("inviteMessage", FD_T_NSTRING, 0, FD_LIMIT_TEXT),           \
	        F("startsAt", FD_T_NSTRING, 0), F("endsAt", FD_T_NSTRING, 0),  \
	        FI("rewardHoldDays", 0, 0, 3650),                              \
	        FA("platforms", 0, platform_values, NULL),                     \
	        FAM("emails", 0, NULL, NULL, FD_LIMIT_CAMPAIGN_ITEMS),         \
	        FAM("campaignPages", 0, NULL, NULL, FD_LIMIT_CAMPAIGN_ITEMS),  \
	        FAM("faqs", 0, NULL, NULL, FD_LIMIT_CAMPAIGN_ITEMS)

static const fd_field campaign_create_body[] = {
        CAMPAIGN_FIELDS(1),
        FAM("rewards", 0, NULL, reward_item, FD_LIMIT_CAMPAIGN_ITEMS),
        FAM("checkpoints", 0, NULL, checkpoint_item, FD_LIMIT_CAMPAIGN_ITEMS),
        END};

static const fd_field campaign_update_body[] = {CAMPAIGN_FIELDS(0), END};

static const fd_field campaign_reward_body[] = {REWARD_FIELDS(1), END};

static const fd_field campaign_checkpoint_body[] = {CHECKPOINT_FIELDS, END};

static const fd_field webhook_body[] = {F("url", FD_T_STRING, 1),
                                        FA("events", 0, event_values, NULL),
                                        FE("environment", 0, env_values),
                                        F("description", FD_T_NSTRING, 0), END};

static const fd_field webhook_update_body[] = {
        F("url", FD_T_STRING, 0), FA("events", 0, event_values, NULL),
        F("enabled", FD_T_BOOLEAN, 0), END};

static const fd_field webhook_rotate_body[] = {FI("graceSeconds", 0, 0, 604800),
                                               END};

static const fd_field webhook_replay_body[] = {F("deliveryId", FD_T_STRING, 0),
                                               END};

static const char *const delivery_state_values[] = {
        "pending", "retrying", "inflight", "delivered", "dead", NULL};

static const fd_field deliveries_query[] = {
        FE("state", 0, delivery_state_values), FI("limit", 0, 1, 100),
        FI("offset", 0, 0, 1000000000), END};

static const fd_field attempts_query[] = {F("deliveryId", FD_T_STRING, 0),
                                          FI("limit", 0, 1, 100),
                                          FI("offset", 0, 0, 1000000000), END};

/* The dashboard's admin routes (docs/dashboard.md). */
static const fd_field admin_referrals_query[] = {
        F("campaignId", FD_T_STRING, 0),
        F("customerId", FD_T_STRING, 0),
        FE("status", 0, referral_status_values),
        FE("environment", 0, env_values),
        FI("limit", 0, 1, 100),
        FI("offset", 0, 0, 1000000000),
        END};

static const fd_field customers_query[] = {
        F("q", FD_T_STRING, 0), FI("limit", 0, 1, 100),
        FI("offset", 0, 0, 1000000000), END};

static const fd_field analytics_query[] = {
        FE("environment", 0, env_values), F("from", FD_T_STRING, 0),
        F("to", FD_T_STRING, 0), FI("limit", 0, 1, 100), END};

static const fd_field campaign_copy_body[] = {FE("environment", 1, env_values),
                                              F("name", FD_T_STRING, 0), END};

static const fd_field campaign_reward_update_body[] = {REWARD_FIELDS(0), END};

static const fd_field checkpoint_update_body[] = {
        {"checkpointName", FD_T_STRING, 0, NULL, NULL, "name", 0, 0},
        FE("trigger", 0, trigger_values), F("placementId", FD_T_NSTRING, 0),
        END};

/* Flock's hosted pages (docs/mobile-sdks.md): what a page shows, and a
 * referral landing page's visit. */
static const fd_field page_context_query[] = {
        F("placementId", FD_T_STRING, 0), F("path", FD_T_STRING, 0),
        F("campaignId", FD_T_STRING, 0),  F("customerId", FD_T_STRING, 0),
        FE("environment", 0, env_values), END};

static const fd_field referral_visit_body[] = {
        F("referralCode", FD_T_STRING, 1), F("campaignId", FD_T_STRING, 0),
        FE("environment", 0, env_values), END};

/* Ten years: more than any rule of flockd waits. */
static const fd_field test_clock_body[] = {
        FI("advanceMs", 1, 0, 10L * 366 * 86400 * 1000), END};

/* Bulk import (engine/bulk.c): rows are checked one by one below, so a
 * bad row is refused alone and the others still run. */
static const fd_field import_customers_body[] = {
        FA("rows", 1, NULL, NULL), FE("environment", 0, env_values), END};
static const fd_field import_referrals_body[] = {
        FA("rows", 1, NULL, NULL), F("campaignId", FD_T_STRING, 0), END};

static const fd_field export_query[] = {F("after", FD_T_STRING, 0),
                                        FI("limit", 0, 1, FD_EXPORT_MAX),
                                        FE("environment", 0, env_values), END};

/* The event stream: after an event id (else from now); Last-Event-ID
 * (server.c copies it here when the query has none). */
static const fd_field stream_query[] = {F("after", FD_T_STRING, 0),
                                        FE("environment", 0, env_values),
                                        F("name", FD_T_STRING, 0), END};

/* --- checks that a field list cannot express ---------------------------- */

static int referral_check(json_t *body, json_t *query, fd_response *res)
{
	if (json_is_string(json_object_get(body, "refereeId")) ||
	    json_is_string(json_object_get(body, "refereeExternalUserId")))
		return 0;
	fd_fail(res, FD_OUT_INVALID, "missing_field",
	        "refereeId or refereeExternalUserId is required");
	return 400;
}

/* Accepts the current body and Flock's older one (customerExternalId,
 * mode, campaignId); rewardFor items are normalised to snake case. */
static int trigger_check(json_t *body, json_t *query, fd_response *res)
{
	json_t *items = json_object_get(body, "rewardFor"), *v;
	size_t i;

	if (!json_is_string(json_object_get(body, "externalUserId")) &&
	    !json_is_string(json_object_get(body, "customerExternalId"))) {
		fd_fail(res, FD_OUT_INVALID, "missing_field",
		        "externalUserId is required");
		return 400;
	}
	if (!json_is_string(json_object_get(body, "environment")) &&
	    !json_is_string(json_object_get(body, "campaignId"))) {
		fd_fail(res, FD_OUT_INVALID, "missing_field",
		        "environment is required");
		return 400;
	}
	json_array_foreach(items, i, v)
	{
		if (strcmp(json_string_value(v), "referralPartner") == 0)
			json_array_set_new(items, i,
			                   json_string("referral_partner"));
	}
	return 0;
}

/* A row's Idempotency-Key, as the header's rule (server.c): 1-255
 * characters. */
static int row_key_ok(json_t *row)
{
	json_t *k = json_object_get(row, "idempotencyKey");

	return !k || (json_is_string(k) && json_string_length(k) >= 1 &&
	              json_string_length(k) <= 255);
}

/*
 * Check each row of an import with the fields of the operation it stands
 * for (and its check, if any), after copying the import's defaults
 * (defaults) into rows without them. A refused row gets its answer in
 * body["$errors"][i] ({"code","message"}; null for rows that pass), which
 * the engine answers without running the row: one bad row never refuses
 * the others. A client's own $errors is dropped first.
 */
static int import_check(json_t *body, const fd_field *fields,
                        fd_route_check check, const char *const *defaults)
{
	json_t *rows = json_object_get(body, "rows"), *errors, *row;
	size_t i, n = json_array_size(rows);
	fd_response res;
	const char *const *d;
	int bad;

	json_object_del(body, "$errors");
	if (n == 0 || n > FD_IMPORT_MAX)
		return -1;
	if (!(errors = json_array()))
		return -1;
	json_array_foreach(rows, i, row)
	{
		memset(&res, 0, sizeof(res));
		bad = 0;
		if (!json_is_object(row)) {
			fd_fail(&res, FD_OUT_INVALID, "invalid_field",
			        "rows[%zu] must be an object", i);
			bad = 1;
		} else {
			for (d = defaults; *d; d++)
				if (!json_object_get(row, *d) &&
				    json_object_get(body, *d))
					json_object_set(
					        row, *d,
					        json_object_get(body, *d));
			if (!row_key_ok(row)) {
				fd_fail(&res, FD_OUT_INVALID, "invalid_field",
				        "idempotencyKey must be 1 to 255 "
				        "characters");
				bad = 1;
			} else {
				bad = fd_validate_body(fields, row, &res) ||
				      (check && check(row, NULL, &res));
			}
		}
		json_array_append_new(
		        errors, bad ? json_pack("{s:s, s:s}", "code", res.code,
		                                "message", res.message)
		                    : json_null());
		json_decref(res.body);
	}
	json_object_set_new(body, "$errors", errors);
	return 0;
}

static const char *const import_customer_defaults[] = {"environment", NULL};
static const char *const import_referral_defaults[] = {"campaignId", NULL};

static int import_customers_check(json_t *body, json_t *query, fd_response *res)
{
	if (import_check(body, identify_body, NULL, import_customer_defaults) ==
	    0)
		return 0;
	fd_fail(res, FD_OUT_INVALID, "invalid_field",
	        "rows must be an array of 1 to %d objects", FD_IMPORT_MAX);
	return 400;
}

static int import_referrals_check(json_t *body, json_t *query, fd_response *res)
{
	if (import_check(body, referral_body, referral_check,
	                 import_referral_defaults) == 0)
		return 0;
	fd_fail(res, FD_OUT_INVALID, "invalid_field",
	        "rows must be an array of 1 to %d objects", FD_IMPORT_MAX);
	return 400;
}

/* --- the table ---------------------------------------------------------- */

#define OPS(m, p, sp)                                                          \
	{                                                                      \
		m, p, 0, 0, NULL, NULL, NULL, NULL, sp                         \
	}
#define R(m, p, k, b, q, op)                                                   \
	{                                                                      \
		m, p, k, b != NULL, b, q, NULL, op, 0                          \
	}
#define RC(m, p, k, b, q, c, op)                                               \
	{                                                                      \
		m, p, k, 1, b, q, c, op, 0                                     \
	}
#define AP "/admin/apps/{app}"

static const fd_route routes[] = {
        OPS("GET", "/healthz", FD_SPECIAL_HEALTHZ),
        OPS("GET", "/readyz", FD_SPECIAL_READYZ),
        OPS("GET", "/metrics", FD_SPECIAL_METRICS),
        {"GET", "/noop", 0, 0, NULL, NULL, NULL, fd_op_noop, 0},

        R("POST", "/customers/identify", S | P, identify_body, NULL,
          fd_op_identify),
        R("GET", "/campaigns", S, NULL, NULL, fd_op_campaigns_list),
        R("GET", "/campaigns/live", S | P, NULL, live_query,
          fd_op_campaigns_live),
        R("POST", "/campaigns/{id}/ping", P, NULL, NULL, fd_op_campaign_ping),
        R("GET", "/campaign-checkpoints", S | P, NULL, checkpoints_query,
          fd_op_campaign_checkpoints),
        R("POST", "/checkpoints/ingest", S, ingest_body, NULL,
          fd_op_checkpoint_ingest),
        RC("POST", "/referrals", S | P, referral_body, NULL, referral_check,
           fd_op_referral_create),
        R("GET", "/referrals", S, NULL, referrals_query, fd_op_referrals_list),
        R("POST", "/referrals/validate-code", S | P, validate_body, NULL,
          fd_op_referral_validate),
        RC("POST", "/rewards/trigger", S, trigger_body, NULL, trigger_check,
           fd_op_rewards_trigger),

        R("GET", "/admin/apps", A, NULL, page_query, fd_op_admin_apps_list),
        R("POST", "/admin/apps", A, app_body, NULL, fd_op_admin_apps_create),
        R("GET", AP "/keys", A, NULL, page_query, fd_op_admin_keys_list),
        R("POST", AP "/keys", A, key_body, NULL, fd_op_admin_keys_create),
        R("POST", AP "/keys/{id}/revoke", A, NULL, NULL,
          fd_op_admin_keys_revoke),
        R("GET", AP "/campaigns", A, NULL, page_query,
          fd_op_admin_campaigns_list),
        R("POST", AP "/campaigns", A, campaign_create_body, NULL,
          fd_op_admin_campaigns_create),
        R("GET", AP "/campaigns/{id}", A, NULL, NULL,
          fd_op_admin_campaigns_get),
        R("PATCH", AP "/campaigns/{id}", A, campaign_update_body, NULL,
          fd_op_admin_campaigns_update),
        R("POST", AP "/campaigns/{id}/rewards", A, campaign_reward_body, NULL,
          fd_op_admin_campaign_rewards_create),
        R("POST", AP "/campaigns/{id}/checkpoints", A, campaign_checkpoint_body,
          NULL, fd_op_admin_campaign_checkpoints_create),
        R("POST", AP "/campaigns/{id}/go-live", A, NULL, NULL,
          fd_op_admin_campaigns_go_live),
        R("GET", AP "/customers", A, NULL, customers_query,
          fd_op_admin_customers_list),
        R("GET", AP "/customers/{id}", A, NULL, NULL,
          fd_op_admin_customers_get),
        R("DELETE", AP "/customers/{id}", A, NULL, NULL,
          fd_op_admin_customers_delete),
        R("GET", AP "/referrals", A, NULL, admin_referrals_query,
          fd_op_admin_referrals_list),
        R("POST", AP "/referrals/{id}/approve", A, NULL, NULL,
          fd_op_admin_referrals_approve),
        R("POST", AP "/referrals/{id}/reject", A, NULL, NULL,
          fd_op_admin_referrals_reject),
        R("GET", AP "/rewards", A, NULL, rewards_query,
          fd_op_admin_rewards_list),
        R("POST", AP "/rewards/{id}/approve", A, NULL, NULL,
          fd_op_admin_rewards_approve),
        R("POST", AP "/rewards/{id}/fulfil", A, NULL, NULL,
          fd_op_admin_rewards_fulfil),
        R("POST", AP "/rewards/{id}/revoke", A, NULL, NULL,
          fd_op_admin_rewards_revoke),
        R("GET", AP "/webhook-endpoints", A, NULL, page_query,
          fd_op_admin_webhooks_list),
        R("POST", AP "/webhook-endpoints", A, webhook_body, NULL,
          fd_op_admin_webhooks_create),
        R("DELETE", AP "/webhook-endpoints/{id}", A, NULL, NULL,
          fd_op_admin_webhooks_delete),
        R("GET", AP "/webhook-endpoints/{id}", A, NULL, NULL,
          fd_op_admin_webhooks_get),
        R("PATCH", AP "/webhook-endpoints/{id}", A, webhook_update_body, NULL,
          fd_op_admin_webhooks_update),
        R("POST", AP "/webhook-endpoints/{id}/rotate-secret", A,
          webhook_rotate_body, NULL, fd_op_admin_webhooks_rotate),
        R("GET", AP "/webhook-endpoints/{id}/deliveries", A, NULL,
          deliveries_query, fd_op_admin_webhook_deliveries),
        R("GET", AP "/webhook-endpoints/{id}/attempts", A, NULL, attempts_query,
          fd_op_admin_webhook_attempts),
        R("POST", AP "/webhook-endpoints/{id}/replay", A, webhook_replay_body,
          NULL, fd_op_admin_webhook_replay),
        R("GET", AP "/events", A, NULL, page_query, fd_op_admin_events_list),
        /* The dashboard's (docs/dashboard.md): editing campaigns,
         * analytics. */
        R("GET", AP "/campaigns/{id}/checkpoints", A, NULL, NULL,
          fd_op_admin_campaign_checkpoints_list),
        R("POST", AP "/campaigns/{id}/copy", A, campaign_copy_body, NULL,
          fd_op_admin_campaigns_copy),
        R("PATCH", AP "/campaign-rewards/{id}", A,
          campaign_reward_update_body, NULL,
          fd_op_admin_campaign_rewards_update),
        R("DELETE", AP "/campaign-rewards/{id}", A, NULL, NULL,
          fd_op_admin_campaign_rewards_delete),
        R("PATCH", AP "/checkpoints/{id}", A, checkpoint_update_body, NULL,
          fd_op_admin_checkpoints_update),
        R("DELETE", AP "/checkpoints/{id}", A, NULL, NULL,
          fd_op_admin_checkpoints_delete),
        R("GET", AP "/analytics/funnel", A, NULL, analytics_query,
          fd_op_admin_analytics_funnel),
        R("GET", AP "/analytics/daily", A, NULL, analytics_query,
          fd_op_admin_analytics_daily),
        R("GET", AP "/analytics/top-referrers", A, NULL, analytics_query,
          fd_op_admin_analytics_top_referrers),
        /* Flock's hosted pages call these with their public key
         * (http/pages.c serves the pages themselves). */
        R("GET", "/page-context", S | P, NULL, page_context_query,
          fd_op_page_context),
        R("POST", "/referrals/visit", S | P, referral_visit_body, NULL,
          fd_op_referral_visit),
        /* An authenticated operation that opens a stream (server.c,
         * http/stream.c) instead of answering JSON. */
        {"GET", AP "/events/stream", A, 0, NULL, stream_query, NULL,
         fd_op_admin_events_stream, FD_SPECIAL_EVENT_STREAM},
        RC("POST", AP "/import/customers", A, import_customers_body, NULL,
           import_customers_check, fd_op_admin_customers_import),
        RC("POST", AP "/import/referrals", A, import_referrals_body, NULL,
           import_referrals_check, fd_op_admin_referrals_import),
        R("GET", AP "/export/customers", A, NULL, export_query,
          fd_op_admin_customers_export),
        R("GET", AP "/export/referrals", A, NULL, export_query,
          fd_op_admin_referrals_export),
        R("GET", AP "/export/rewards", A, NULL, export_query,
          fd_op_admin_rewards_export),
        /* Only with --test-clock (server.c answers 404 without). */
        R("POST", FD_TEST_CLOCK_PATH, A, test_clock_body, NULL,
          fd_op_test_clock),
};

const fd_route *fd_routes(size_t *count)
{
	*count = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

/* --- matching ----------------------------------------------------------- */

/* Copy one segment into a capture; path ids are opaque, so only refuse
 * what no id ever contains. */
static int capture(char *dst, size_t cap, const char *seg, size_t len)
{
	size_t i;

	if (len == 0 || len >= cap)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)seg[i] < 0x21 || seg[i] == '%')
			return -1;
	memcpy(dst, seg, len);
	dst[len] = '\0';
	return 0;
}

/* Does path fit pattern? Segment by segment; captures into params. */
static int path_matches(const char *pattern, const char *path,
                        fd_params *params)
{
	const char *p = pattern, *s = path;

	while (*p && *s) {
		size_t plen, slen;

		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		plen = strcspn(p, "/");
		slen = strcspn(s, "/");
		if (plen == 5 && memcmp(p, "{app}", 5) == 0) {
			if (capture(params->app, sizeof(params->app), s, slen))
				return 0;
		} else if (plen == 4 && memcmp(p, "{id}", 4) == 0) {
			if (capture(params->id, sizeof(params->id), s, slen))
				return 0;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return 0;
		}
		p += plen;
		s += slen;
	}
	return *p == '\0' && *s == '\0';
}

fd_match_result fd_route_match(const fd_route **out, fd_params *params,
                               char *allow, size_t allow_len,
                               const char *method, const char *path)
{
	size_t i, n = sizeof(routes) / sizeof(routes[0]), used = 0;
	int path_known = 0;

	/* HEAD is GET without the body (libmicrohttpd drops it). */
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	*out = NULL;
	if (allow_len)
		allow[0] = '\0';
	for (i = 0; i < n; i++) {
		fd_params tmp = {{0}, {0}};

		if (!path_matches(routes[i].pattern, path, &tmp))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*out = &routes[i];
			*params = tmp;
			return FD_MATCH_OK;
		}
		if (used < allow_len) {
			/* HEAD is allowed wherever GET is (RFC 9110 9.3.2). */
			int get = strcmp(routes[i].method, "GET") == 0;
			int w = snprintf(allow + used, allow_len - used,
			                 "%s%s%s", path_known ? ", " : "",
			                 routes[i].method, get ? ", HEAD" : "");
			if (w > 0)
				used += (size_t)w;
		}
		path_known = 1;
	}
	return path_known ? FD_MATCH_METHOD : FD_MATCH_NOT_FOUND;
}

/* --- validation --------------------------------------------------------- */

static int in_values(const char *s, const char *const *values)
{
	for (; *values; values++)
		if (strcmp(s, *values) == 0)
			return 1;
	return 0;
}

/* "a, b, c" into buf, for messages. */
static void list_values(char *buf, size_t len, const char *const *values)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *values && used < len; values++) {
		int w = snprintf(buf + used, len - used, "%s%s",
		                 used ? ", " : "", *values);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static int bad_value(fd_response *res, const char *name,
                     const char *const *values)
{
	char list[512];

	list_values(list, sizeof(list), values);
	fd_fail(res, FD_OUT_INVALID, "invalid_field", "%s must be one of: %s",
	        name, list);
	return 400;
}

static int is_flat(json_t *obj)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach(obj, k, v)
	{
		if (json_is_object(v) || json_is_array(v))
			return 0;
	}
	return 1;
}

static const char *type_words(fd_field_type t)
{
	switch (t) {
	case FD_T_STRING:
		return "a non-empty string";
	case FD_T_NSTRING:
		return "a string or null";
	case FD_T_INTEGER:
		return "an integer";
	case FD_T_NUMBER:
		return "a number";
	case FD_T_BOOLEAN:
		return "a boolean";
	case FD_T_OBJECT:
		return "an object";
	case FD_T_FLAT:
		return "an object of strings, numbers, booleans and nulls";
	case FD_T_ARRAY:
		return "an array";
	}
	return "valid";
}

static int type_ok(const fd_field *f, json_t *v)
{
	switch (f->type) {
	case FD_T_STRING:
		return json_is_string(v) && json_string_length(v) > 0;
	case FD_T_NSTRING:
		return json_is_string(v) || json_is_null(v);
	case FD_T_INTEGER:
		return json_is_integer(v) &&
		       (f->min >= f->max || (json_integer_value(v) >= f->min &&
		                             json_integer_value(v) <= f->max));
	case FD_T_NUMBER:
		return json_is_number(v) &&
		       (f->min >= f->max || (json_number_value(v) >= f->min &&
		                             json_number_value(v) <= f->max));
	case FD_T_BOOLEAN:
		return json_is_boolean(v);
	case FD_T_OBJECT:
		return json_is_object(v);
	case FD_T_FLAT:
		return is_flat(v);
	case FD_T_ARRAY:
		return json_is_array(v);
	}
	return 0;
}

static int validate_fields(const fd_field *fields, json_t *obj,
                           const char *prefix, fd_response *res);

static int validate_array(const fd_field *f, json_t *arr, const char *name,
                          fd_response *res)
{
	char item_name[256];
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		snprintf(item_name, sizeof(item_name), "%s[%zu]", name, i);
		if (f->values && (!json_is_string(v) ||
		                  !in_values(json_string_value(v), f->values)))
			return bad_value(res, item_name, f->values);
		if (f->items && !json_is_object(v)) {
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s must be an object", item_name);
			return 400;
		}
		if (f->items && validate_fields(f->items, v, item_name, res))
			return 400;
	}
	return 0;
}

/* Characters (code points) of a UTF-8 string. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* The size limits of f (max, FD_LIMIT_PROP_*) on v, which has f's type:
 * 0, or 400 with res set. */
static int check_size(const fd_field *f, json_t *v, const char *name,
                      fd_response *res)
{
	const char *k;
	json_t *m;

	if (f->max <= 0)
		return 0;
	if ((f->type == FD_T_STRING || f->type == FD_T_NSTRING) &&
	    json_is_string(v) &&
	    utf8_chars(json_string_value(v), json_string_length(v)) >
	            (size_t)f->max) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "%s must be at most %ld characters", name, f->max);
		return 400;
	}
	if (f->type == FD_T_ARRAY && json_array_size(v) > (size_t)f->max) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "%s must have at most %ld items", name, f->max);
		return 400;
	}
	if (f->type != FD_T_FLAT)
		return 0;
	if (json_object_size(v) > (size_t)f->max) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "%s must have at most %ld members", name, f->max);
		return 400;
	}
	json_object_foreach(v, k, m)
	{
		if (strlen(k) > FD_LIMIT_PROP_KEY) {
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s: member names must be at most %d bytes",
			        name, FD_LIMIT_PROP_KEY);
			return 400;
		}
		if (json_is_string(m) &&
		    utf8_chars(json_string_value(m), json_string_length(m)) >
		            FD_LIMIT_PROP_VALUE) {
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s.%s must be at most %d characters", name, k,
			        FD_LIMIT_PROP_VALUE);
			return 400;
		}
	}
	return 0;
}

static int validate_one(const fd_field *f, json_t *obj, const char *name,
                        fd_response *res)
{
	json_t *v = json_object_get(obj, f->name);

	if (!v && f->alias) {
		v = json_object_get(obj, f->alias);
		if (v)
			json_object_set(obj, f->name, v);
	}
	if (!v || (json_is_null(v) && f->type != FD_T_NSTRING)) {
		if (!f->required)
			return 0;
		fd_fail(res, FD_OUT_INVALID, "missing_field", "%s is required",
		        name);
		return 400;
	}
	if (!type_ok(f, v)) {
		if (f->type == FD_T_INTEGER && f->min < f->max)
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s must be an integer from %ld to %ld", name,
			        f->min, f->max);
		else if (f->type == FD_T_NUMBER && f->min < f->max)
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s must be a number from %ld to %ld", name,
			        f->min, f->max);
		else
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s must be %s", name, type_words(f->type));
		return 400;
	}
	if (f->type == FD_T_STRING && f->values &&
	    !in_values(json_string_value(v), f->values))
		return bad_value(res, name, f->values);
	if (check_size(f, v, name, res))
		return 400;
	if (f->type == FD_T_ARRAY)
		return validate_array(f, v, name, res);
	return 0;
}

static int validate_fields(const fd_field *fields, json_t *obj,
                           const char *prefix, fd_response *res)
{
	char name[320];

	for (; fields && fields->name; fields++) {
		if (prefix)
			snprintf(name, sizeof(name), "%s.%s", prefix,
			         fields->name);
		else
			snprintf(name, sizeof(name), "%s", fields->name);
		if (validate_one(fields, obj, name, res))
			return 400;
	}
	return 0;
}

int fd_validate_body(const fd_field *fields, json_t *body, fd_response *res)
{
	char field[128];

	/* Nothing deeper than flockd can write back is ever stored. */
	if (fd_json_too_deep(body, FD_JSON_MAX_DEPTH, field, sizeof(field))) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "%s nests deeper than %d levels",
		        *field ? field : "body", FD_JSON_MAX_DEPTH);
		return 400;
	}
	return validate_fields(fields, body, NULL, res);
}

static int query_integer_ok(const fd_field *f, const char *s)
{
	char *end;
	long v;

	if (!*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return 0;
	return f->min >= f->max || (v >= f->min && v <= f->max);
}

int fd_validate_query(const fd_field *fields, json_t *query, fd_response *res)
{
	for (; fields && fields->name; fields++) {
		const char *s =
		        json_string_value(json_object_get(query, fields->name));

		if (!s || !*s) {
			if (!fields->required)
				continue;
			fd_fail(res, FD_OUT_INVALID, "missing_field",
			        "%s is required", fields->name);
			return 400;
		}
		if (fields->type == FD_T_INTEGER &&
		    !query_integer_ok(fields, s)) {
			fd_fail(res, FD_OUT_INVALID, "invalid_field",
			        "%s must be an integer from %ld to %ld",
			        fields->name, fields->min, fields->max);
			return 400;
		}
		if (fields->values && !in_values(s, fields->values))
			return bad_value(res, fields->name, fields->values);
	}
	return 0;
}
