/*
 * flockd engine: the referral and reward rules behind the wire and admin
 * APIs (docs: /work/shared/spec/api.md sections 3-6).
 *
 * The engine knows no HTTP and no SQL. The server authenticates the caller
 * (fd_engine_authenticate), checks everything declarative (key kind for the
 * route, environment-limited keys, JSON shape, required fields, enums) and
 * then calls one fd_op_* with an fd_request. The op checks everything that
 * needs data (tenancy, missing objects, idempotency, the rules of section
 * 5) and fills an fd_response with an outcome (fd_outcome: what happened,
 * in the engine's words) and a result or an error code and message; the
 * server alone (http/errors.c) turns outcomes into HTTP statuses and error
 * bodies. Ops never rely on the server's validation for memory safety: a
 * missing or mistyped field gives FD_OUT_INVALID, never a crash.
 *
 * Threads: one fd_engine is shared by all server threads; every function
 * here is thread-safe. Writes are queued to the writer threads (one on
 * SQLite, several on PostgreSQL), each of which group-commits them (one
 * fsync for many requests); an op returns only after
 * its write is durable, unless the request asks for an asynchronous answer
 * (fd_request.done). Reads use per-thread read connections.
 */
#ifndef FLOCKD_ENGINE_H
#define FLOCKD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/clock.h"
#include "store/store.h" /* fd_principal, fd_conn */

typedef struct fd_engine fd_engine;

/* At most this many rewards in a campaign (refused when a body lists
 * more, or a reward is added to a full campaign), and items in a
 * campaign body's checkpoints, faqs, emails, campaignPages
 * (docs/security.md "Limits"). */
#define FD_LIMIT_CAMPAIGN_ITEMS 100
/* validate-code's miss limit counts in fixed windows of this many seconds
 * of the engine's clock (at most 60: fd_store_rate_hit keeps a minute). */
#define FD_CODE_MISS_WINDOW 60

/*
 * What an operation's answer means. Each error outcome comes with a code
 * naming the precise reason (fd_response.code), so an outcome is a class
 * of answers a caller handles alike, not a reason.
 */
typedef enum {
	FD_OUT_NONE = 0,     /* nothing answered yet (sent as internal) */
	FD_OUT_OK,           /* done; body is the result */
	FD_OUT_CREATED,      /* done, and it made something new; body */
	FD_OUT_INVALID,      /* a field is missing, mistyped or refused
	                        (missing_field, invalid_field, invalid_json,
	                        invalid_url) */
	FD_OUT_UNAUTHORIZED, /* no key, or no key flockd knows */
	FD_OUT_FORBIDDEN,    /* the key may not do this */
	FD_OUT_NOT_FOUND,    /* what the request names does not exist for
	                        the tenant (campaign_not_found, ...) */
	FD_OUT_CONFLICT,     /* the data's state refuses it (invalid_transition,
	                        already_referred, ...) or the Idempotency-Key is
	                        in flight */
	FD_OUT_KEY_REUSED,   /* the Idempotency-Key came with another body */
	FD_OUT_RATE_LIMITED, /* over the key's request rate; retry soon */
	FD_OUT_UNAVAILABLE,  /* nothing was changed and a retry can succeed
	                        (the change could not be stored, stopping) */
	FD_OUT_INTERNAL      /* flockd failed (the database, memory) */
} fd_outcome;

/* 1 for FD_OUT_OK and FD_OUT_CREATED, else 0. */
int fd_outcome_ok(fd_outcome o);

/* The outcome in a word, as bulk answers name it per row: "ok",
 * "created", "invalid", "not_found", "conflict", "key_reused",
 * "unavailable", "internal"... (static storage). */
const char *fd_outcome_name(fd_outcome o);

/*
 * 1 if o is flockd's failure rather than an answer (FD_OUT_NONE,
 * FD_OUT_INTERNAL, FD_OUT_UNAVAILABLE): such answers are never kept for
 * Idempotency-Key replays, so a retry runs the operation again.
 */
int fd_outcome_fault(fd_outcome o);

typedef struct {
	const fd_principal *who;
	const char *app_id; /* {app} path param on /admin/apps/{app}/...,
	                       else who->app_id */
	const char *id;     /* the {id} path parameter, or NULL */
	json_t *query;      /* object of query params (string values),
	                       or NULL */
	json_t *body;       /* parsed JSON body (object), or NULL */
	const char *idempotency_key;      /* header value, or NULL */
	const unsigned char *body_sha256; /* 32 bytes, hash of the raw body, or
	                                     NULL (then idempotency hashes the
	                                     canonical dump of body) */
	const char *request_id;           /* for logs, or NULL */
	const char *origin; /* Origin header (campaign ping), or NULL */
	/* The client's address as text ("127.0.0.1", "::1"), or NULL:
	 * validate-code's miss limit per address. */
	const char *client_addr;
	/* 1: a success stored for the Idempotency-Key may also come back
	 * as its bytes, fd_response.text (the caller sends those and frees
	 * them); 0: never (res->text stays NULL). */
	int want_text;
	/*
	 * Asynchronous writes (NULL: the operation returns with res final).
	 * With done set, a write operation that queues a job for the writer
	 * calls suspend(async_arg) first (on the calling thread) and returns
	 * at once; done(async_arg) is then called, on an engine thread, once
	 * res is final (the write durable, or failed). req, everything it
	 * points to, and res must stay valid until done. An operation that
	 * answers at once (a read, a conflict or a refusal before queueing)
	 * calls neither.
	 */
	void (*suspend)(void *arg);
	void (*done)(void *arg);
	void *async_arg;
	/* Writes of one group (an import's rows) run in the order they were
	 * queued, never in two writers' batches at once (PostgreSQL runs
	 * several writers); NULL: none. */
	const void *order_group;
} fd_request;

typedef struct {
	fd_outcome outcome; /* FD_OUT_NONE until the operation answers */
	json_t *body;       /* successes: the result (new reference; whoever
	                       sends it decrefs it); errors: NULL */
	char code[64];      /* errors: "campaign_not_found", "missing_field" */
	char message[512];  /* errors: for a person ("name is required") */
	int replayed;       /* 1 if served from the idempotency store */
	int retry_after;    /* FD_OUT_RATE_LIMITED, FD_OUT_UNAVAILABLE: seconds
	                       to wait before retrying; 0: 1 */
	/* With fd_request.want_text, for a success: body as the wire sends
	 * it (answers->keep's text, made once to store it for the key),
	 * malloc'd, the caller's to free whatever the outcome; else NULL. */
	char *text;
} fd_response;

/* Every operation has this one signature, so routes map to ops as data. */
typedef void (*fd_op)(fd_engine *e, const fd_request *req, fd_response *res);
#define FD_OP(name)                                                            \
	void name(fd_engine *e, const fd_request *req, fd_response *res)

/*
 * Make res the error outcome o with code (NULL: "error") and a printf-style
 * message; drops (decrefs) any body in res. Used by the engine and by the
 * server's own checks alike.
 */
void fd_fail(fd_response *res, fd_outcome o, const char *code, const char *fmt,
             ...)
#ifdef __GNUC__
        __attribute__((format(printf, 4, 5)))
#endif
        ;

/*
 * How an answer is kept for Idempotency-Key replays. Records outlive the
 * process and every node on the database replays them, so they hold the
 * answer as the wire sends it, and the layer that speaks the wire gives
 * the engine the two directions (main.c passes http/errors.c's).
 */
typedef struct {
	/* res (final) as an int and a text (malloc'd) to store. 0 or -1. */
	int (*keep)(const fd_response *res, int *code, char **text);
	/* The reverse, into res (outcome and body, or error). 0, or -1 if
	 * the pair is none that keep makes. */
	int (*restore)(fd_response *res, int code, const char *text);
} fd_answer_codec;

typedef struct {
	const char *db_path;   /* SQLite file (created if missing) or
	                          postgres:// URL (store.h) */
	int velocity_per_hour; /* fraud: max referrals per referrer per hour;
	                          0 = default (20) */
	const char *disposable_domains_path; /* optional file, one domain a
	                                        line, extends the built-in
	                                        list; NULL = built-in only */
	int read_connections; /* read connection pool size; 0 = 8 */
	int group_commit_max; /* max jobs per commit; 0 = 256 */
	/* Writer threads, each with a write connection of its own; 0 = the
	 * database's default: 1 on SQLite (which has one writer: more is an
	 * error), 2 on PostgreSQL (fd_store_options.writers). */
	int writers;
	/* SQLite: the WAL's bound in bytes (fd_store_options.wal_limit):
	 * 0 = FD_STORE_WAL_LIMIT_DEFAULT, < 0 = none */
	int64_t wal_limit;
	int webhook_allow_private; /* passed to url_check */
	long rate_limit; /* requests per second per service or public key
	                    (fixed one-second windows); 0 = no limit */
	/* validate-code with a public key: codes not found per
	 * FD_CODE_MISS_WINDOW seconds per key, and per client address
	 * (fd_request.client_addr); beyond, FD_OUT_RATE_LIMITED. 0 = no limit
	 * (the config's defaults: docs/flockd.md). */
	long code_misses_per_key;
	long code_misses_per_ip;
	fd_clock *clock; /* every time-based rule reads it; NULL: real */
	/* Called on the engine's syncer thread once a batch that wrote
	 * outbox events or made deliveries due is durable (the delivery
	 * worker's wake-up); NULL: none. Must not block. */
	void (*on_commit)(void *arg);
	void *on_commit_arg;
	/* Idempotency-Key records; NULL: a request carrying a key answers
	 * FD_OUT_INTERNAL. Must outlive the engine. */
	const fd_answer_codec *answers;
	/* Checks a webhook URL when an endpoint is created or its URL is
	 * changed: 0, or -1 with the reason in why (then FD_OUT_INVALID,
	 * code invalid_url). Runs on the request's thread before the write
	 * is queued, because it may resolve a name (main.c passes the
	 * delivery room's checker); NULL: every http(s) URL is taken. */
	int (*url_check)(const char *url, int allow_private, char *why,
	                 size_t len);
} fd_engine_config;

/*
 * Open (creating and migrating if needed) the database and start the
 * writer threads. 0 and *out set, or -1 with a message in errbuf.
 */
int fd_engine_open(fd_engine **out, const fd_engine_config *cfg, char *errbuf,
                   size_t errlen);

/* Drain queued writes, stop the writers, close every connection. NULL ok. */
void fd_engine_close(fd_engine *e);

/* What fd_engine_authenticate found. */
enum {
	FD_AUTH_OK = 0,
	FD_AUTH_UNKNOWN = -1, /* no such key, or revoked */
	FD_AUTH_STORE = -2    /* the database failed: nothing is known */
};

/*
 * Look up a raw key (service "sk_...", public "pk_...", admin "fat_...").
 * Keys are stored as SHA-256 hashes and compared in constant time.
 * FD_AUTH_OK and *out filled; FD_AUTH_UNKNOWN (unknown or revoked key);
 * FD_AUTH_STORE when the database could not answer (logged), which a
 * caller must not report as an unknown key: the key may well be valid.
 */
int fd_engine_authenticate(fd_engine *e, const char *key, fd_principal *out);

/*
 * The request rate limit (fd_engine_config.rate_limit): count this request
 * of who's key in the current one-second window, shared by every node on
 * the database. 0 to go on, or -1 with res set to FD_OUT_RATE_LIMITED
 * (code rate_limited). Admin tokens are exempt. If the store cannot count,
 * the request goes on (logged once at warn).
 */
int fd_engine_rate_check(fd_engine *e, const fd_principal *who,
                         fd_response *res);

/* 1 if the database answers (for /readyz), else 0. */
int fd_engine_ready(fd_engine *e);

/*
 * 1 unless writes are known to fail (for /readyz): 0 while the writer's
 * periodic housekeeping transaction fails (a read-only database), or
 * for FD_WRITE_FAILED_MS after a write the database refused (disk full,
 * I/O error) with none stored since.
 */
#define FD_WRITE_FAILED_MS 30000
int fd_engine_writable(fd_engine *e);

/*
 * `flockd init`: create an organization, an application named app_name
 * (NULL or "" = "default"), a service key, a public key and an
 * operator-wide admin token. *out (new reference) is
 * {"organizationId","applicationId","serviceKey","publicKey","adminToken"}
 * with the secrets in clear: they are shown once and never again. 0 or -1.
 */
int fd_engine_init(fd_engine *e, const char *app_name, json_t **out);
/* The same only if the database has no organization yet: 0 with *out
 * NULL when it has one (nothing is created), else as fd_engine_init. */
int fd_engine_init_if_new(fd_engine *e, const char *app_name, json_t **out);
/* 1 if the database has an organization (flockd init ran), 0 if not,
 * -1 if it cannot tell. */
int fd_engine_initialised(fd_engine *e);

/*
 * `flockd bench-seed` (engine/seed.c): add n customers with external ids
 * "bench-<i>" to the application, and a live production campaign "bench"
 * paying both sides on the reward checkpoint "purchase" in which bench-0
 * referred every other customer (pending), so each first ingest for
 * bench-<i> grants two rewards. Written directly, in chunks of 5000,
 * without outbox events. *out (new reference) holds {"applicationId",
 * "campaignId","checkpointName","customers","externalUserIdPrefix"}.
 * 0 or -1.
 */
int fd_engine_bench_seed(fd_engine *e, const char *app_id, long n,
                         json_t **out);

/*
 * Internal callers (the delivery worker, tools): run fn on the write
 * connection inside the writer's group commit, in its own savepoint, and
 * return once the change is durable. fn returns FD_OK to keep its changes
 * or any other store code to roll them back; now is the engine clock's
 * time for the job. Returns fn's code, FD_RETRY after concurrent changes
 * made every attempt fail, or FD_ERR (the batch did not commit, or the
 * engine is stopping).
 */
typedef int (*fd_engine_write_fn)(fd_conn *c, int64_t now, void *arg);
int fd_engine_write(fd_engine *e, fd_engine_write_fn fn, void *arg);

/* Run fn on a read connection in one snapshot; fn's code, or FD_ERR. */
int fd_engine_read(fd_engine *e, fd_engine_write_fn fn, void *arg);

/* The engine's clock (never NULL). */
fd_clock *fd_engine_clock(fd_engine *e);

/* The writer, for metrics (any thread): jobs queued and not yet taken;
 * batches run, and of them those run a second time with a savepoint per
 * job because one of their jobs failed (writer.c). */
typedef struct {
	long queued;
	long batches;
	long reruns;
	long rewards_granted; /* since open */
} fd_engine_writer_stats;
void fd_engine_writer_stats_get(fd_engine *e, fd_engine_writer_stats *out);
/* The store's WAL (fd_store_wal_stats_get): 0, or -1 (PostgreSQL). Any
 * thread. */
int fd_engine_wal_stats(fd_engine *e, fd_store_wal_stats *out);
/* fd_store_round_trips of the engine's store. */
long fd_engine_db_round_trips(fd_engine *e);

/*
 * ---- Wire API (api.md section 3) ----
 * Unless stated otherwise: req->who->app_id is the tenant; body fields are
 * read leniently (wrong type = absent = FD_OUT_INVALID, missing_field or
 * invalid_field); POSTs honour req->idempotency_key (a replay, or
 * FD_OUT_KEY_REUSED with another body, FD_OUT_CONFLICT while in flight).
 * Each comment names the route, then the body or query, then the answer.
 */

/* POST /customers/identify. body: externalUserId, email, name,
 * customProperties, environment. Created: the new Customer; ok: the
 * updated one. */
FD_OP(fd_op_identify);
/* GET /campaigns: a bare array of Campaign (both environments). */
FD_OP(fd_op_campaigns_list);
/* GET /campaigns/live. query: environment (default production),
 * customerId (optional, must exist: customer_not_found). The Campaign,
 * or not found: no_live_campaign. */
FD_OP(fd_op_campaigns_live);
/* POST /campaigns/{id}/ping. req->id, req->origin: {"id"}; sets
 * lastPingAt/lastPingOrigin. Not found: campaign_not_found. */
FD_OP(fd_op_campaign_ping);
/* GET /campaign-checkpoints. query: campaignId (optional: all of the
 * app). {"data":[CampaignCheckpoint]}. */
FD_OP(fd_op_campaign_checkpoints);
/* POST /checkpoints/ingest. body: checkpointName (or name),
 * externalUserId, environment, properties. Created: CheckpointResult. */
FD_OP(fd_op_checkpoint_ingest);
/* POST /referrals. body: campaignId, referralCode, refereeId or
 * refereeExternalUserId. Created: Referral (pending or flagged). Not
 * found: invalid_referral_code, campaign_not_found, customer_not_found. */
FD_OP(fd_op_referral_create);
/* GET /referrals. query: campaignId, status, environment, limit, offset.
 * A list of Referral. */
FD_OP(fd_op_referrals_list);
/* POST /referrals/validate-code. body: referralCode.
 * {"isValid","referredBy"}. */
FD_OP(fd_op_referral_validate);
/* POST /rewards/trigger. body: externalUserId, environment, rewardFor; or
 * the older customerExternalId, mode, environment|campaignId. Created:
 * [{"id"}] of the rewards created (empty when nothing is due). */
FD_OP(fd_op_rewards_trigger);
/* GET /noop (benchmark baseline): {"ok":true}, no database. */
FD_OP(fd_op_noop);

/*
 * ---- Flock's hosted pages (pages.c; docs/mobile-sdks.md) ----
 * What the pages flockd serves for the mobile SDKs' web views call, with
 * the public key they were opened with.
 */
/* GET /page-context. query: placementId (a page's placementId or id, as
 * the SDKs look it up) or path (referrer, invitee, success), campaignId
 * (absent or unknown: the live campaign of environment), customerId
 * (optional), environment. {"screen","page","campaign":{id, name,
 * environment, inviteMessage, termsUrl, rewards},"customer":{id, name,
 * referralCode, referredBy:{name}} or null}. Not found: page_not_found,
 * no_live_campaign, customer_not_found; a key of the other environment:
 * forbidden. */
FD_OP(fd_op_page_context);
/* POST /referrals/visit. body: referralCode, campaignId (optional, as
 * above), environment. A referral landing page was opened: a valid
 * code's owner gets visitedReferralsCount + 1 and the funnel a referral
 * visit. {"isValid","referralCode","referrer":{name},"campaign",
 * "landingUrl","screenProps"}: landingUrl is refereeLandingPageUrl with
 * ref=CODE added, or null; screenProps the campaign's invitee page's.
 * An unknown code: isValid false, nothing counted. */
FD_OP(fd_op_referral_visit);

/*
 * ---- Admin API (operator; req->who->kind == FD_KEY_ADMIN) ----
 * req->app_id is the {app} path parameter; an admin token bound to an
 * application (who->app_id != "") only reaches that application (else
 * not found: app_not_found). Lists take query limit/offset (and
 * environment, status where it makes sense) and answer
 * {"total","limit","offset","data"}. Changes answer ok with the changed
 * object, creations created with the new one.
 */

/* GET /admin/apps: the applications this token sees. */
FD_OP(fd_op_admin_apps_list);
/* POST /admin/apps. body: name. Application. */
FD_OP(fd_op_admin_apps_create);
/* GET /admin/apps/{app}/keys: keys without secrets (prefix only). */
FD_OP(fd_op_admin_keys_list);
/* POST /admin/apps/{app}/keys. body: kind (service|public|admin),
 * environment (optional). Key with "secret" shown once. */
FD_OP(fd_op_admin_keys_create);
/* POST /admin/apps/{app}/keys/{id}/revoke. Key. */
FD_OP(fd_op_admin_keys_revoke);
/* GET /admin/apps/{app}/campaigns. query: environment. */
FD_OP(fd_op_admin_campaigns_list);
/* POST /admin/apps/{app}/campaigns. body: name, environment, and the
 * Campaign's optional fields, rewards[], checkpoints[]. Campaign. */
FD_OP(fd_op_admin_campaigns_create);
/* GET /admin/apps/{app}/campaigns/{id}. Campaign. */
FD_OP(fd_op_admin_campaigns_get);
/* PATCH /admin/apps/{app}/campaigns/{id}. body: fields to change
 * (isLive: false takes it offline). Campaign. */
FD_OP(fd_op_admin_campaigns_update);
/* POST .../campaigns/{id}/rewards. body: a CampaignReward. */
FD_OP(fd_op_admin_campaign_rewards_create);
/* POST .../campaigns/{id}/checkpoints. body: checkpointName, trigger,
 * placementId. CampaignCheckpoint; conflict: checkpoint_exists. */
FD_OP(fd_op_admin_campaign_checkpoints_create);
/* POST .../campaigns/{id}/go-live: makes it the live campaign of its
 * environment (the previous one goes offline). Campaign. */
FD_OP(fd_op_admin_campaigns_go_live);
/* GET /admin/apps/{app}/customers. query: limit, offset. */
FD_OP(fd_op_admin_customers_list);
/* GET /admin/apps/{app}/customers/{id}. Customer. */
FD_OP(fd_op_admin_customers_get);
/* DELETE /admin/apps/{app}/customers/{id}: erase email, name and custom
 * properties, set deletedAt; referrals and rewards stay. Customer. */
FD_OP(fd_op_admin_customers_delete);
/* GET /admin/apps/{app}/referrals. query: status, environment,
 * campaignId. */
FD_OP(fd_op_admin_referrals_list);
/* POST .../referrals/{id}/approve: flagged|pending -> pending, then
 * replays a reward checkpoint the referee already sent. Referral;
 * conflict: invalid_transition. */
FD_OP(fd_op_admin_referrals_approve);
/* POST .../referrals/{id}/reject. Referral. */
FD_OP(fd_op_admin_referrals_reject);
/* GET /admin/apps/{app}/rewards. query: status, environment,
 * customerId. */
FD_OP(fd_op_admin_rewards_list);
/* POST .../rewards/{id}/approve: pending -> approved. Reward; conflict:
 * invalid_transition otherwise. */
FD_OP(fd_op_admin_rewards_approve);
/* POST .../rewards/{id}/fulfil: approved -> fulfilled. Reward. */
FD_OP(fd_op_admin_rewards_fulfil);
/* POST .../rewards/{id}/revoke: pending|approved -> revoked. Reward. */
FD_OP(fd_op_admin_rewards_revoke);
/* GET /admin/apps/{app}/events: the outbox, newest first. query:
 * environment, name, limit, offset. */
FD_OP(fd_op_admin_events_list);

/*
 * The dashboard's admin operations (docs/admin-api.md; admin.c,
 * analytics.c). GET .../customers also takes query q: a search by id, or
 * a prefix of the external id, referral code or email.
 */
/* GET .../campaigns/{id}/checkpoints: the campaign's checkpoints. */
FD_OP(fd_op_admin_campaign_checkpoints_list);
/* POST .../campaigns/{id}/copy. body: environment, name (optional). The
 * new Campaign (not live, copiedFromCampaignId) with copies of the
 * rewards and checkpoints. */
FD_OP(fd_op_admin_campaigns_copy);
/* PATCH /admin/apps/{app}/campaign-rewards/{id}. body: CampaignReward
 * fields to change. The CampaignReward. */
FD_OP(fd_op_admin_campaign_rewards_update);
/* DELETE /admin/apps/{app}/campaign-rewards/{id}: grants no more (those
 * granted stay). The CampaignReward with deletedAt. */
FD_OP(fd_op_admin_campaign_rewards_delete);
/* PATCH /admin/apps/{app}/checkpoints/{id}. body: checkpointName,
 * trigger, placementId. Conflict: checkpoint_exists. */
FD_OP(fd_op_admin_checkpoints_update);
/* DELETE /admin/apps/{app}/checkpoints/{id}. The checkpoint. */
FD_OP(fd_op_admin_checkpoints_delete);
/* GET .../analytics/funnel, .../analytics/daily,
 * .../analytics/top-referrers. query: environment (default production),
 * from, to (inclusive dates, YYYY-MM-DD; default the last 30 days),
 * limit (top referrers, 1..100, default 10). */
FD_OP(fd_op_admin_analytics_funnel);
FD_OP(fd_op_admin_analytics_daily);
FD_OP(fd_op_admin_analytics_top_referrers);

/*
 * Webhook endpoints (engine/webhooks.c). A url in a body must be http(s)
 * and pass fd_engine_config.url_check (FD_OUT_INVALID, invalid_url);
 * webhook_endpoint_not_found for an unknown or deleted {id}.
 */
/* GET /admin/apps/{app}/webhook-endpoints (no secrets). */
FD_OP(fd_op_admin_webhooks_list);
/* POST /admin/apps/{app}/webhook-endpoints. body: url, events (array,
 * absent = all), environment. The endpoint with "secret" (whsec_...)
 * shown once. */
FD_OP(fd_op_admin_webhooks_create);
/* DELETE /admin/apps/{app}/webhook-endpoints/{id}. The endpoint. */
FD_OP(fd_op_admin_webhooks_delete);
/* GET .../webhook-endpoints/{id}: the endpoint, no secret. */
FD_OP(fd_op_admin_webhooks_get);
/* PATCH .../webhook-endpoints/{id}. body: url, events (array, null =
 * all), enabled (boolean). The endpoint. */
FD_OP(fd_op_admin_webhooks_update);
/* POST .../webhook-endpoints/{id}/rotate-secret. body: graceSeconds
 * (0..604800, default 86400): how long the old secret still signs. The
 * endpoint with the new "secret", shown once. */
FD_OP(fd_op_admin_webhooks_rotate);
/* GET .../webhook-endpoints/{id}/deliveries. query: state (pending,
 * retrying, inflight, delivered, dead), limit, offset. Newest first. */
FD_OP(fd_op_admin_webhook_deliveries);
/* GET .../webhook-endpoints/{id}/attempts: the attempt log (time, status,
 * latency, response excerpt, error), newest first. query: deliveryId,
 * limit, offset. */
FD_OP(fd_op_admin_webhook_attempts);
/* POST .../webhook-endpoints/{id}/replay. body: deliveryId (replay that
 * one, any state but in flight: conflict delivery_in_flight), or none
 * (replay every dead delivery of the endpoint). {"replayed": n}. */
FD_OP(fd_op_admin_webhook_replay);

/*
 * ---- Tools: bulk import and export, the event stream (flockctl) ----
 * (engine/bulk.c, engine/stream.c; docs/admin-api.md "Bulk and stream")
 */

/* Rows in one import request, and objects in one export page, at most. */
#define FD_IMPORT_MAX 1000
#define FD_EXPORT_MAX 1000

/* POST /admin/apps/{app}/import/customers. body: rows (1..FD_IMPORT_MAX
 * identify bodies, each with an optional idempotencyKey), environment (a
 * default for rows without one); $errors (set by the server's checks,
 * never by a client: the row-by-row refusals of router.c, an object or
 * null per row). Each row runs as POST /customers/identify would with
 * its idempotencyKey as Idempotency-Key. ok: {"results":[{"outcome",
 * "id","replayed","code","message"}] in row order, "created","ok",
 * "replayed","refused"}. */
FD_OP(fd_op_admin_customers_import);
/* POST /admin/apps/{app}/import/referrals. The same with POST /referrals
 * bodies; body campaignId is a default for rows without one. */
FD_OP(fd_op_admin_referrals_import);
/* GET /admin/apps/{app}/export/{customers,referrals,rewards}. query:
 * after (an id), limit (1..FD_EXPORT_MAX, default FD_EXPORT_MAX),
 * environment (referrals, rewards). {"data":[...] in id order, "next":
 * the id to ask after for the next page, or null}. */
FD_OP(fd_op_admin_customers_export);
FD_OP(fd_op_admin_referrals_export);
FD_OP(fd_op_admin_rewards_export);

/* GET /admin/apps/{app}/events/stream, its opening: query after (an
 * event id; else: from now), environment, name. ok: {"cursor": the
 * outbox place to read after, "environment": the one to stream (the
 * query's, else the token's own; absent: both)}; not found: app_not_found,
 * event_not_found. The server then streams (fd_engine_events_after). */
FD_OP(fd_op_admin_events_stream);

/*
 * The application's events after *cursor (a place from the op above or
 * an earlier call), oldest first, at most limit read: *out (new array) of
 * {"seq","id","name","environment","body"} of environment env (NULL:
 * both) named in names (comma-separated; NULL: all), and *cursor moved
 * past every event read (also those names filtered out). On PostgreSQL
 * events younger than two seconds wait (engine/stream.c says why). 0 or
 * -1. Thread-safe; runs on a read connection.
 */
int fd_engine_events_after(fd_engine *e, const char *app, long *cursor,
                           const char *env, const char *names, long limit,
                           json_t **out);

#endif
