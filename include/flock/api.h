/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_API_H
#define FLOCK_API_H

/**
 * @file flock/api.h
 * @brief One call for each thing the Node SDK does.
 *
 * Conventions, for every call below:
 * - The out parameter comes first. On success it receives an object that
 *   the caller frees with the free function named; on failure it is set to
 *   NULL (when out is not NULL) and nothing needs freeing.
 * - Returns 0, or a negative flock_error_code; flock_error_last() then
 *   has the HTTP status, server code, message and request id.
 * - Common codes: FLOCK_EINVAL (a required argument missing or a
 *   property object not flat, checked before anything is sent), FLOCK_EAUTH, FLOCK_EPERM, FLOCK_EREQUEST,
 *   FLOCK_ENOTFOUND, FLOCK_ECONFLICT, FLOCK_EIDEMPOTENCY,
 *   FLOCK_ERATELIMIT, FLOCK_ETIMEOUT, FLOCK_ENETWORK, FLOCK_ESERVER,
 *   FLOCK_EBADRESPONSE, FLOCK_ENOMEM.
 * - Every POST carries an Idempotency-Key: the params' idempotency_key if
 *   set, else one generated per call. It is reused across that call's
 *   retries, so a retried ingest never grants a second reward.
 * - Params structs start with a version; initialise them with their
 *   _INIT macro (or memset 0 and set the version).
 */

#include "client.h"
#include "types.h"

FLOCK_BEGIN_DECL

/** Type of a custom property value. */
typedef enum {
	FLOCK_PROP_STRING = 0,
	FLOCK_PROP_NUMBER = 1,
	FLOCK_PROP_BOOL = 2,
	FLOCK_PROP_NULL = 3
} flock_prop_type;

/** One key/value of a flat property object. */
typedef struct {
	const char *key;
	flock_prop_type type;
	const char *string_value; /* FLOCK_PROP_STRING */
	double number_value;      /* FLOCK_PROP_NUMBER */
	int bool_value;           /* FLOCK_PROP_BOOL */
} flock_property;

/* --- customers.identify ------------------------------------------------ */

#define FLOCK_IDENTIFY_PARAMS_VERSION 1
typedef struct {
	unsigned int version;
	const char *external_user_id; /* required */
	const char *email;            /* optional */
	const char *name;             /* optional */
	/**
	 * Custom properties, either as a JSON object text (flat: string,
	 * number, bool, null values) or as an array of pairs; not both.
	 */
	const char *custom_properties_json;
	const flock_property *custom_properties;
	size_t custom_property_count;
	const char *environment;     /* optional */
	const char *idempotency_key; /* optional; generated if NULL */
} flock_identify_params;
#define FLOCK_IDENTIFY_PARAMS_INIT {FLOCK_IDENTIFY_PARAMS_VERSION, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL}

/**
 * Create or update a customer by external user id (`sdk.customers.identify`).
 * @param out  receives the customer; free with flock_customer_free()
 */
FLOCK_EXTERN(int) flock_customers_identify(flock_customer **out,
                                          flock_client *client,
                                          const flock_identify_params *params);

/* --- checkpoints.ingest ------------------------------------------------ */

#define FLOCK_INGEST_PARAMS_VERSION 1
typedef struct {
	unsigned int version;
	const char *external_user_id; /* required */
	const char *environment;      /* required: "production" or "test" */
	/** Optional flat properties, as JSON object text or pairs; not both. */
	const char *properties_json;
	const flock_property *properties;
	size_t property_count;
	const char *idempotency_key; /* optional; generated if NULL */
} flock_ingest_params;
#define FLOCK_INGEST_PARAMS_INIT {FLOCK_INGEST_PARAMS_VERSION, NULL, NULL, NULL, NULL, 0, NULL}

/**
 * Record a checkpoint for a customer (`sdk.checkpoints.ingest`); if it is a
 * reward checkpoint of the live campaign, the server grants the rewards.
 * @param out  may be NULL if the result is not wanted; else receives it,
 *             free with flock_checkpoint_result_free(). The answer is
 *             checked either way: a 2xx that is not a CheckpointResult
 *             (say, a proxy's page) is FLOCK_EBADRESPONSE, as it does not
 *             show that the event was recorded.
 * @param checkpoint_name  e.g. "purchase_completed"; required
 */
FLOCK_EXTERN(int) flock_checkpoints_ingest(flock_checkpoint_result **out,
                                          flock_client *client,
                                          const char *checkpoint_name,
                                          const flock_ingest_params *params);

/* --- campaigns ---------------------------------------------------------- */

#define FLOCK_GET_LIVE_PARAMS_VERSION 1
typedef struct {
	unsigned int version;
	const char *environment; /* required: "production" or "test" */
	const char *customer_id; /* Flock's customer id ("cus_..."); optional */
} flock_get_live_params;
#define FLOCK_GET_LIVE_PARAMS_INIT {FLOCK_GET_LIVE_PARAMS_VERSION, NULL, NULL}

/**
 * The live campaign of an environment (`sdk.campaigns.getLive`).
 * FLOCK_ENOTFOUND (server code "no_live_campaign") when none is live.
 * @param out  free with flock_campaign_free()
 */
FLOCK_EXTERN(int) flock_campaigns_get_live(flock_campaign **out,
                                          flock_client *client,
                                          const flock_get_live_params *params);

/**
 * Every campaign of the application.
 * @param out  free with flock_campaign_list_free()
 */
FLOCK_EXTERN(int) flock_campaigns_list(flock_campaign_list **out,
                                      flock_client *client);

/**
 * The checkpoints linked to a campaign.
 * @param out  free with flock_checkpoint_list_free()
 */
FLOCK_EXTERN(int) flock_campaign_checkpoints_list(flock_checkpoint_list **out,
                                                 flock_client *client,
                                                 const char *campaign_id);

/* --- referrals ---------------------------------------------------------- */

/**
 * Is this a referral code, and whose (`sdk.referrals.validate`)? An
 * unknown code is a success with is_valid == 0.
 * @param out  free with flock_validation_free()
 */
FLOCK_EXTERN(int) flock_referrals_validate(flock_validation **out,
                                          flock_client *client,
                                          const char *referral_code);

#define FLOCK_REFERRAL_CREATE_PARAMS_VERSION 1
typedef struct {
	unsigned int version;
	const char *campaign_id;   /* required */
	const char *referral_code; /* required: the referrer's code */
	/** Exactly one of: Flock's customer id, or the product's user id. */
	const char *referee_id;
	const char *referee_external_user_id;
	const char *idempotency_key; /* optional; generated if NULL */
} flock_referral_create_params;
#define FLOCK_REFERRAL_CREATE_PARAMS_INIT {FLOCK_REFERRAL_CREATE_PARAMS_VERSION, NULL, NULL, NULL, NULL, NULL}

/**
 * Link a referee to the owner of a code in a campaign
 * (`sdk.referrals.create`). An unknown code: FLOCK_ENOTFOUND with server
 * code "invalid_referral_code".
 * @param out  free with flock_referral_free()
 */
FLOCK_EXTERN(int) flock_referrals_create(flock_referral **out,
                                        flock_client *client,
                                        const flock_referral_create_params *params);

#define FLOCK_REFERRAL_LIST_PARAMS_VERSION 1
typedef struct {
	unsigned int version;
	const char *campaign_id; /* optional filter */
	const char *status;      /* optional: pending, flagged, accepted, rejected */
	long limit;              /* 0: server default (20); at most 100 */
	long offset;
} flock_referral_list_params;
#define FLOCK_REFERRAL_LIST_PARAMS_INIT {FLOCK_REFERRAL_LIST_PARAMS_VERSION, NULL, NULL, 0, 0}

/**
 * One page of referrals. FLOCK_EINVAL if limit is outside 0..100 or
 * offset is negative.
 * @param out  free with flock_referral_page_free()
 */
FLOCK_EXTERN(int) flock_referrals_list(flock_referral_page **out,
                                      flock_client *client,
                                      const flock_referral_list_params *params);

/** Iterator over every referral matching a filter, page by page. */
typedef struct flock_referral_iterator flock_referral_iterator;

/**
 * Start iterating; no request is made until the first _next().
 * params->limit is the page size, params->offset where to start. The
 * params and their strings are copied. The client must outlive the
 * iterator. Free with flock_referral_iterator_free().
 */
FLOCK_EXTERN(int) flock_referral_iterator_new(flock_referral_iterator **out,
                                             flock_client *client,
                                             const flock_referral_list_params *params);

/**
 * The next referral. `*out` is owned by the iterator and valid until the
 * next call to _next() or _free(). Pages are fetched as needed, each at
 * the offset after the previous one, until the page's `total` is reached
 * or a page comes back empty.
 * @return 0, FLOCK_ITEROVER when done (not an error: flock_error_last()
 *         is NULL), or an error code; after an error the same page is
 *         asked for again by the next call
 */
FLOCK_EXTERN(int) flock_referral_iterator_next(const flock_referral **out,
                                              flock_referral_iterator *it);

/** Free an iterator. Accepts NULL. */
FLOCK_EXTERN(void) flock_referral_iterator_free(flock_referral_iterator *it);

/* --- rewards.trigger ----------------------------------------------------- */

/** Who a direct trigger rewards (`rewardFor`). */
#define FLOCK_REWARD_SELF 0x1u
#define FLOCK_REWARD_REFERRAL_PARTNER 0x2u

#define FLOCK_TRIGGER_PARAMS_VERSION 1
typedef struct {
	unsigned int version;
	const char *external_user_id; /* required */
	const char *environment;      /* required */
	/** FLOCK_REWARD_SELF | FLOCK_REWARD_REFERRAL_PARTNER; 0: both. */
	unsigned int reward_for;
	const char *idempotency_key; /* optional; generated if NULL */
} flock_trigger_params;
#define FLOCK_TRIGGER_PARAMS_INIT {FLOCK_TRIGGER_PARAMS_VERSION, NULL, NULL, 0, NULL}

/**
 * Grant rewards directly (`sdk.rewards.trigger`; checkpoints are the
 * recommended way). Nothing due is a success with count == 0.
 * @param out  free with flock_reward_ids_free()
 */
FLOCK_EXTERN(int) flock_rewards_trigger(flock_reward_ids **out,
                                       flock_client *client,
                                       const flock_trigger_params *params);

FLOCK_END_DECL

#endif
