/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_TYPES_H
#define FLOCK_TYPES_H

/**
 * @file flock/types.h
 * @brief The API's objects as C structs.
 *
 * Each struct carries the documented fields, typed, and `raw_json`, so
 * that a field added later is never out of reach: for the object a call
 * returns, the response body byte for byte; for an object nested in it
 * (a list item, a campaign's rewards, a result's referral), that object
 * as compact JSON, members in the order the server sent them.
 *
 * String members are NUL-terminated UTF-8, or NULL when the server sent
 * null or nothing. Numbers the server left out or sent as null read as 0
 * (`limit` of a campaign reward: -1). A member of the wrong JSON type
 * makes the call fail with FLOCK_EBADRESPONSE, naming the member, rather
 * than reading as NULL. All members are owned by the top-level object
 * returned by a call and live until it is freed with its own free
 * function; never free a member.
 *
 * ABI: libflock allocates every struct here; a program only reads them.
 * So a later libflock may add members at the end of any of them without
 * breaking a program built against this header (docs/libflock.md, "ABI").
 * That is why lists are arrays of pointers (`items[i]->id`, never an
 * array of structs, whose element size a new member would change) and
 * why `meta` is a pointer (never NULL) rather than a struct inside.
 * Never copy these structs by value and never allocate them yourself.
 */

#include "common.h"

FLOCK_BEGIN_DECL

/** A short reference to a customer (`referredBy`). */
typedef struct {
	const char *id;
	const char *external_user_id;
	const char *email;
	const char *name;
} flock_customer_ref;

/** Fields every object carries; reached through `meta`, never NULL. */
typedef struct {
	const char *organization_id;
	const char *application_id;
	const char *created_at; /* ISO 8601 UTC with ms */
	const char *updated_at;
	const char *deleted_at; /* NULL unless soft-deleted */
} flock_meta;

/** A customer of the product, as Flock knows it. */
typedef struct {
	const char *id;               /* "cus_..." */
	const char *external_user_id; /* the product's own user id */
	const char *email;
	const char *name;
	const char *referral_code; /* the customer's own shareable code */
	/** Who referred this customer, or NULL. */
	const flock_customer_ref *referred_by;
	const char *referred_by_id;
	const char *referred_by_referral_id;
	const char *referred_in_campaign_id;
	long visited_referrals_count;
	long converted_referrals_count;
	/** customProperties as a compact JSON object text ("{}" if none). */
	const char *custom_properties_json;
	const flock_meta *meta;
	const char *raw_json;
} flock_customer;

/** What a campaign pays (a reward definition, not a reward issued). */
typedef struct {
	const char *id; /* "crw_..." */
	const char *campaign_id;
	const char *name;
	const char *description;
	const char *type;   /* "payout" or "discount" */
	const char *party;  /* "referrer" or "referee" */
	const char *method; /* "paypal", "custom", ... */
	double payout_amount;
	double discount_amount;
	double discount_percentage;
	long discount_duration_in_month;
	const char *currency; /* "usd", "cad" */
	long limit;           /* -1 when none */
	const char *limit_unit;
	const char *limit_interval;
	const char *raw_json;
} flock_campaign_reward;

/** A referral campaign. */
typedef struct {
	const char *id; /* "cmp_..." */
	const char *name;
	const char *environment; /* "production" or "test" */
	int is_live;
	const char *copied_from_campaign_id;
	const char *referee_landing_page_url;
	const char *terms_url;
	const char *invite_message;
	/** rewards[0] .. rewards[reward_count - 1]; NULL when none. */
	const flock_campaign_reward *const *rewards;
	size_t reward_count;
	const char *last_ping_at;
	const char *last_ping_origin;
	const char *starts_at;
	const char *ends_at;
	long reward_hold_days;
	const flock_meta *meta;
	/** emails, campaignPages, faqs, platforms...: read them here. */
	const char *raw_json;
} flock_campaign;

/** A checkpoint linked to a campaign. */
typedef struct {
	const char *id; /* "chk_..." */
	const char *campaign_id;
	const char *checkpoint_name;
	const char *trigger; /* "reward" or "placement" */
	const char *placement_id;
	const char *raw_json;
} flock_campaign_checkpoint;

/** One fraud rule that fired on a referral. */
typedef struct {
	const char *type;
	const char *message;
} flock_suspected_fraud;

/** A referral: a referee linked to a referrer in a campaign. */
typedef struct {
	const char *id; /* "ref_..." */
	const char *campaign_id;
	const char *referrer_id;
	const char *referee_id;
	const char *status; /* "pending", "flagged", "accepted", "rejected" */
	/** suspected_frauds[0 .. suspected_fraud_count - 1]; NULL when none. */
	const flock_suspected_fraud *const *suspected_frauds;
	size_t suspected_fraud_count;
	const char *environment;
	const flock_meta *meta;
	const char *raw_json;
} flock_referral;

/** A reward issued to a customer. */
typedef struct {
	const char *id; /* "rwd_..." */
	const char *campaign_id;
	const char *campaign_reward_id;
	const char *referral_id;
	const char *customer_id;
	const char *party;
	const char *type;
	const char *method;
	double payout_amount;
	double discount_amount;
	double discount_percentage;
	const char *currency;
	const char *status; /* "pending", "approved", "fulfilled", ... */
	const char *available_at;
	const char *environment;
	const flock_meta *meta;
	const char *raw_json;
} flock_reward;

/** What an ingested checkpoint did. */
typedef struct {
	const char *id; /* the stored event */
	const char *checkpoint_name;
	const char *customer_id;
	const char *environment;
	int matched; /* a reward checkpoint of the live campaign? */
	const flock_referral *referral; /* the referral advanced, or NULL */
	/** rewards[0 .. reward_count - 1], granted by this call; NULL: none. */
	const flock_reward *const *rewards;
	size_t reward_count;
	const char *blocked_by; /* NULL, or "flagged_referral", "limit_reached"... */
	const char *raw_json;
} flock_checkpoint_result;

/** The answer to flock_referrals_validate(). */
typedef struct {
	int is_valid;
	const flock_customer_ref *referred_by; /* NULL when not valid */
	const char *raw_json;
} flock_validation;

/** Ids of the rewards a direct trigger created (may be none). */
typedef struct {
	const char *const *ids;
	size_t count;
	const char *raw_json;
} flock_reward_ids;

/** A list of campaigns: items[0 .. count - 1] (NULL when empty). */
typedef struct {
	const flock_campaign *const *items;
	size_t count;
	const char *raw_json;
} flock_campaign_list;

/** A list of campaign checkpoints: items[0 .. count - 1] (NULL: empty). */
typedef struct {
	const flock_campaign_checkpoint *const *items;
	size_t count;
	const char *raw_json;
} flock_checkpoint_list;

/** One page of referrals: items[0 .. count - 1] (NULL when empty). */
typedef struct {
	const flock_referral *const *items;
	size_t count;
	long total; /* matching referrals in all pages; -1 if not sent */
	long limit;
	long offset;
	const char *raw_json;
} flock_referral_page;

/* Free functions: each accepts NULL. */
FLOCK_EXTERN(void) flock_customer_free(flock_customer *customer);
FLOCK_EXTERN(void) flock_campaign_free(flock_campaign *campaign);
FLOCK_EXTERN(void) flock_campaign_list_free(flock_campaign_list *list);
FLOCK_EXTERN(void) flock_checkpoint_list_free(flock_checkpoint_list *list);
FLOCK_EXTERN(void) flock_referral_free(flock_referral *referral);
FLOCK_EXTERN(void) flock_referral_page_free(flock_referral_page *page);
FLOCK_EXTERN(void) flock_checkpoint_result_free(flock_checkpoint_result *result);
FLOCK_EXTERN(void) flock_validation_free(flock_validation *validation);
FLOCK_EXTERN(void) flock_reward_ids_free(flock_reward_ids *ids);

FLOCK_END_DECL

#endif
