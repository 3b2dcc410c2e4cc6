/*
 * flockd engine: the referral and reward rules behind the wire and admin
 * APIs (docs: /work/shared/spec/api.md sections 3-6).
 *
 * The engine knows no HTTP and no SQL. The server authenticates the caller
 * (fd_engine_authenticate), checks everything declarative (key kind for the
 * route, environment-limited keys, JSON shape, required fields, enums) and
 * then calls one fd_op_* with an fd_request. The op checks everything that
 * needs data (tenancy, 404s, idempotency, the rules of section 5) and fills
 * an fd_response. Ops never rely on the server's validation for memory
 * safety: a missing or mistyped field gives a 400, never a crash.
 *
 * Threads: one fd_engine is shared by all server threads; every function
 * here is thread-safe. Writes are queued to a single writer thread that
 * group-commits them (one fsync for many requests); an op returns only after
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
	const char *request_id; /* for logs and error bodies, or NULL */
	const char *origin;     /* Origin header (campaign ping), or NULL */
	/*
	 * Asynchronous writes (NULL: the operation returns with res final).
	 * With done set, a write operation that queues a job for the writer
	 * calls suspend(async_arg) first (on the calling thread) and returns
	 * at once; done(async_arg) is then called, on an engine thread, once
	 * res is final (the write durable, or failed). req, everything it
	 * points to, and res must stay valid until done. An operation that
	 * answers at once (a read, a 409 or 503 before queueing) calls
	 * neither.
	 */
	void (*suspend)(void *arg);
	void (*done)(void *arg);
	void *async_arg;
} fd_request;

typedef struct {
	int status;   /* HTTP status */
	json_t *body; /* new reference; the server serialises and decrefs it */
	int replayed; /* 1 if served from the idempotency store */
} fd_response;

/* Every operation has this one signature, so routes map to ops as data. */
typedef void (*fd_op)(fd_engine *e, const fd_request *req, fd_response *res);

/*
 * Fill res with the spec's error body {statusCode,error,message,code}
 * (the server adds requestId). Replaces (decrefs) any body already in res.
 * `error` is the HTTP reason phrase for status. Used by both sides.
 */
void fd_error(fd_response *res, int status, const char *code, const char *fmt,
              ...)
#ifdef __GNUC__
        __attribute__((format(printf, 4, 5)))
#endif
        ;

/* Reason phrase for an HTTP status ("Not Found"); never NULL. */
const char *fd_status_text(int status);

typedef struct {
	const char *db_path;   /* SQLite file (created if missing) or
	                          postgres:// URL (store.h) */
	int velocity_per_hour; /* fraud: max referrals per referrer per hour;
	                          0 = default (20) */
	const char *disposable_domains_path; /* optional file, one domain a
	                                        line, extends the built-in
	                                        list; NULL = built-in only */
	int read_connections;      /* read connection pool size; 0 = 8 */
	int group_commit_max;      /* max jobs per commit; 0 = 256 */
	int webhook_allow_private; /* webhook URLs may name loopback and
	                              private addresses */
	long rate_limit; /* requests per second per service or public key
	                    (fixed one-second windows); 0 = no limit */
	fd_clock *clock; /* every time-based rule reads it; NULL: real */
	/* Called on the engine's syncer thread once a batch that wrote
	 * outbox events or made deliveries due is durable (the delivery
	 * worker's wake-up); NULL: none. Must not block. */
	void (*on_commit)(void *arg);
	void *on_commit_arg;
} fd_engine_config;

/*
 * Open (creating and migrating if needed) the database and start the
 * writer thread. 0 and *out set, or -1 with a message in errbuf.
 */
int fd_engine_open(fd_engine **out, const fd_engine_config *cfg, char *errbuf,
                   size_t errlen);

/* Drain queued writes, stop the writer, close every connection. NULL ok. */
void fd_engine_close(fd_engine *e);

/*
 * Look up a raw key (service "sk_...", public "pk_...", admin "fat_...").
 * Keys are stored as SHA-256 hashes and compared in constant time. 0 and
 * *out filled, or -1 (unknown or revoked key).
 */
int fd_engine_authenticate(fd_engine *e, const char *key, fd_principal *out);

/*
 * The request rate limit (fd_engine_config.rate_limit): count this request
 * of who's key in the current one-second window, shared by every node on
 * the database. 0 to go on, or 429 with res filled (code rate_limited).
 * Admin tokens are exempt. If the store cannot count, the request goes on
 * (logged once at warn).
 */
int fd_engine_rate_check(fd_engine *e, const fd_principal *who,
                         fd_response *res);

/* 1 if the database answers (for /readyz), else 0. */
int fd_engine_ready(fd_engine *e);

/*
 * `flockd init`: create an organization, an application named app_name
 * (NULL = "default"), a service key, a public key and an operator-wide
 * admin token. *out (new reference) is
 * {"organizationId","applicationId","serviceKey","publicKey","adminToken"}
 * with the secrets in clear: they are shown once and never again. 0 or -1.
 */
int fd_engine_init(fd_engine *e, const char *app_name, json_t **out);

/*
 * `flockd bench-seed`: add n customers with external ids "bench-<i>" to
 * the application, and a live production campaign "bench" paying both
 * sides on the reward checkpoint "purchase" in which bench-0 referred
 * every other customer (pending), so each first ingest for bench-<i>
 * grants two rewards. Written directly, in chunks of 5000, without outbox
 * events. *out (new reference) holds {"applicationId","campaignId",
 * "checkpointName","customers","externalUserIdPrefix"}. 0 or -1.
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

/* Rewards granted since open (for metrics). */
long fd_engine_rewards_granted(fd_engine *e);

/*
 * ---- Wire API (api.md section 3) ----
 * Unless stated otherwise: req->who->app_id is the tenant; body fields are
 * read leniently (wrong type = absent = 400 missing_field/invalid_field);
 * errors use fd_error; POSTs honour req->idempotency_key.
 */

/* POST /customers/identify. body: externalUserId, email, name,
 * customProperties, environment. 201 Customer (new) or 200 (updated). */
void fd_op_identify(fd_engine *e, const fd_request *req, fd_response *res);

/* GET /campaigns. 200 bare array of Campaign (both environments). */
void fd_op_campaigns_list(fd_engine *e, const fd_request *req,
                          fd_response *res);

/* GET /campaigns/live. query: environment (default production),
 * customerId (optional, must exist: 404 customer_not_found).
 * 200 Campaign, or 404 no_live_campaign. */
void fd_op_campaigns_live(fd_engine *e, const fd_request *req,
                          fd_response *res);

/* POST /campaigns/{id}/ping. req->id, req->origin. 200 {"id"}; sets
 * lastPingAt/lastPingOrigin. 404 campaign_not_found. */
void fd_op_campaign_ping(fd_engine *e, const fd_request *req, fd_response *res);

/* GET /campaign-checkpoints. query: campaignId (optional: all of the app).
 * 200 {"data":[CampaignCheckpoint]}. */
void fd_op_campaign_checkpoints(fd_engine *e, const fd_request *req,
                                fd_response *res);

/* POST /checkpoints/ingest. body: checkpointName (or name),
 * externalUserId, environment, properties. 201 CheckpointResult. */
void fd_op_checkpoint_ingest(fd_engine *e, const fd_request *req,
                             fd_response *res);

/* POST /referrals. body: campaignId, referralCode, refereeId or
 * refereeExternalUserId. 201 Referral (pending or flagged). 404
 * invalid_referral_code, campaign_not_found, customer_not_found. */
void fd_op_referral_create(fd_engine *e, const fd_request *req,
                           fd_response *res);

/* GET /referrals. query: campaignId, status, environment, limit, offset.
 * 200 list of Referral. */
void fd_op_referrals_list(fd_engine *e, const fd_request *req,
                          fd_response *res);

/* POST /referrals/validate-code. body: referralCode. 200
 * {"isValid","referredBy"}. */
void fd_op_referral_validate(fd_engine *e, const fd_request *req,
                             fd_response *res);

/* POST /rewards/trigger. body: externalUserId, environment, rewardFor; or
 * the older customerExternalId, mode, environment|campaignId.
 * 201 [{"id"}] of the rewards created (empty when nothing is due). */
void fd_op_rewards_trigger(fd_engine *e, const fd_request *req,
                           fd_response *res);

/* GET /noop (benchmark baseline): 200 {"ok":true}, no database. */
void fd_op_noop(fd_engine *e, const fd_request *req, fd_response *res);

/*
 * ---- Admin API (operator; req->who->kind == FD_KEY_ADMIN) ----
 * req->app_id is the {app} path parameter; an admin token bound to an
 * application (who->app_id != "") only reaches that application (else
 * 404 app_not_found). Lists take query limit/offset (and environment,
 * status where it makes sense) and answer {"total","limit","offset","data"}.
 */

/* GET /admin/apps: the applications this token sees. */
void fd_op_admin_apps_list(fd_engine *e, const fd_request *req,
                           fd_response *res);
/* POST /admin/apps. body: name. 201 Application. */
void fd_op_admin_apps_create(fd_engine *e, const fd_request *req,
                             fd_response *res);
/* GET /admin/apps/{app}/keys: keys without secrets (prefix only). */
void fd_op_admin_keys_list(fd_engine *e, const fd_request *req,
                           fd_response *res);
/* POST /admin/apps/{app}/keys. body: kind (service|public|admin),
 * environment (optional). 201 Key with "secret" shown once. */
void fd_op_admin_keys_create(fd_engine *e, const fd_request *req,
                             fd_response *res);
/* POST /admin/apps/{app}/keys/{id}/revoke. 200 Key. */
void fd_op_admin_keys_revoke(fd_engine *e, const fd_request *req,
                             fd_response *res);
/* GET /admin/apps/{app}/campaigns. query: environment. */
void fd_op_admin_campaigns_list(fd_engine *e, const fd_request *req,
                                fd_response *res);
/* POST /admin/apps/{app}/campaigns. body: name, environment, and the
 * Campaign's optional fields, rewards[], checkpoints[]. 201 Campaign. */
void fd_op_admin_campaigns_create(fd_engine *e, const fd_request *req,
                                  fd_response *res);
/* GET /admin/apps/{app}/campaigns/{id}. 200 Campaign. */
void fd_op_admin_campaigns_get(fd_engine *e, const fd_request *req,
                               fd_response *res);
/* PATCH /admin/apps/{app}/campaigns/{id}. body: fields to change
 * (isLive: false takes it offline). 200 Campaign. */
void fd_op_admin_campaigns_update(fd_engine *e, const fd_request *req,
                                  fd_response *res);
/* POST .../campaigns/{id}/rewards. body: a CampaignReward. 201. */
void fd_op_admin_campaign_rewards_create(fd_engine *e, const fd_request *req,
                                         fd_response *res);
/* POST .../campaigns/{id}/checkpoints. body: checkpointName, trigger,
 * placementId. 201 CampaignCheckpoint. */
void fd_op_admin_campaign_checkpoints_create(fd_engine *e,
                                             const fd_request *req,
                                             fd_response *res);
/* POST .../campaigns/{id}/go-live: makes it the live campaign of its
 * environment (the previous one goes offline). 200 Campaign. */
void fd_op_admin_campaigns_go_live(fd_engine *e, const fd_request *req,
                                   fd_response *res);
/* GET /admin/apps/{app}/customers. query: limit, offset. */
void fd_op_admin_customers_list(fd_engine *e, const fd_request *req,
                                fd_response *res);
/* GET /admin/apps/{app}/customers/{id}. 200 Customer. */
void fd_op_admin_customers_get(fd_engine *e, const fd_request *req,
                               fd_response *res);
/* DELETE /admin/apps/{app}/customers/{id}: erase email, name and custom
 * properties, set deletedAt; referrals and rewards stay. 200 Customer. */
void fd_op_admin_customers_delete(fd_engine *e, const fd_request *req,
                                  fd_response *res);
/* GET /admin/apps/{app}/referrals. query: status, environment, campaignId. */
void fd_op_admin_referrals_list(fd_engine *e, const fd_request *req,
                                fd_response *res);
/* POST .../referrals/{id}/approve: flagged|pending -> pending, then
 * replays a reward checkpoint the referee already sent. 200 Referral. */
void fd_op_admin_referrals_approve(fd_engine *e, const fd_request *req,
                                   fd_response *res);
/* POST .../referrals/{id}/reject. 200 Referral. */
void fd_op_admin_referrals_reject(fd_engine *e, const fd_request *req,
                                  fd_response *res);
/* GET /admin/apps/{app}/rewards. query: status, environment, customerId. */
void fd_op_admin_rewards_list(fd_engine *e, const fd_request *req,
                              fd_response *res);
/* POST .../rewards/{id}/approve: pending -> approved. 200 Reward; 409
 * invalid_transition otherwise. */
void fd_op_admin_rewards_approve(fd_engine *e, const fd_request *req,
                                 fd_response *res);
/* POST .../rewards/{id}/fulfil: approved -> fulfilled. 200 Reward. */
void fd_op_admin_rewards_fulfil(fd_engine *e, const fd_request *req,
                                fd_response *res);
/* POST .../rewards/{id}/revoke: pending|approved -> revoked. 200 Reward. */
void fd_op_admin_rewards_revoke(fd_engine *e, const fd_request *req,
                                fd_response *res);
/* GET /admin/apps/{app}/webhook-endpoints (no secrets). */
void fd_op_admin_webhooks_list(fd_engine *e, const fd_request *req,
                               fd_response *res);
/* POST /admin/apps/{app}/webhook-endpoints. body: url, events (array,
 * absent = all), environment. 201 with "secret" (whsec_...) shown once. */
void fd_op_admin_webhooks_create(fd_engine *e, const fd_request *req,
                                 fd_response *res);
/* DELETE /admin/apps/{app}/webhook-endpoints/{id}. 200 the endpoint. */
void fd_op_admin_webhooks_delete(fd_engine *e, const fd_request *req,
                                 fd_response *res);
/*
 * Webhook endpoints (engine_webhooks.c). A url in a body must pass
 * fd_url_check (400 invalid_url); 404 webhook_endpoint_not_found for an
 * unknown or deleted {id}.
 */
/* GET .../webhook-endpoints/{id}: the endpoint, no secret. */
void fd_op_admin_webhooks_get(fd_engine *e, const fd_request *req,
                              fd_response *res);
/* PATCH .../webhook-endpoints/{id}. body: url, events (array, null =
 * all), enabled (boolean). 200 the endpoint. */
void fd_op_admin_webhooks_update(fd_engine *e, const fd_request *req,
                                 fd_response *res);
/* POST .../webhook-endpoints/{id}/rotate-secret. body: graceSeconds
 * (0..604800, default 86400): how long the old secret still signs. 200
 * the endpoint with the new "secret", shown once. */
void fd_op_admin_webhooks_rotate(fd_engine *e, const fd_request *req,
                                 fd_response *res);
/* GET .../webhook-endpoints/{id}/deliveries. query: state (pending,
 * retrying, inflight, delivered, dead), limit, offset. Newest first. */
void fd_op_admin_webhook_deliveries(fd_engine *e, const fd_request *req,
                                    fd_response *res);
/* GET .../webhook-endpoints/{id}/attempts: the attempt log (time, status,
 * latency, response excerpt, error), newest first. query: deliveryId,
 * limit, offset. */
void fd_op_admin_webhook_attempts(fd_engine *e, const fd_request *req,
                                  fd_response *res);
/* POST .../webhook-endpoints/{id}/replay. body: deliveryId (replay that
 * one, any state but in flight: 409 delivery_in_flight), or none (replay
 * every dead delivery of the endpoint). 200 {"replayed": n}. */
void fd_op_admin_webhook_replay(fd_engine *e, const fd_request *req,
                                fd_response *res);
/* GET /admin/apps/{app}/events: the outbox, newest first. query:
 * environment, name, limit, offset. */
void fd_op_admin_events_list(fd_engine *e, const fd_request *req,
                             fd_response *res);

#endif
