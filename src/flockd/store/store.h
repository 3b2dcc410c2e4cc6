/*
 * flockd storage interface: everything the engine needs from a database,
 * and nothing about SQL. Each operation is written once (store/ops_*.c)
 * over a small driver interface (store/driver.h) with a SQLite and a
 * PostgreSQL driver; docs/architecture.md tells how the parts fit.
 *
 * An fd_store owns one write connection (used only by the engine's writer
 * thread) and a pool of read connections. Functions taking an fd_conn run
 * on whichever connection they are given, inside whatever transaction is
 * open on it.
 *
 * Objects come back as JSON in their wire shape (api.md section 4),
 * including organizationId, applicationId and the ISO timestamps; every
 * function that takes app_id only ever sees that application's rows.
 *
 * Return codes: FD_OK (0), FD_NOTFOUND, FD_CONFLICT (a unique constraint
 * refused the row), FD_RETRY (a transient failure: a deadlock, a
 * serialization failure, a lost connection, or a row another node wrote
 * after this transaction looked for it; nothing of the job may be kept,
 * and running it again can succeed: only a shared database, PostgreSQL,
 * returns it), FD_ERR (-1, the database failed).
 */
#ifndef FLOCKD_STORE_H
#define FLOCKD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/clock.h"

enum { FD_OK = 0, FD_NOTFOUND = 1, FD_CONFLICT = 2, FD_RETRY = 3, FD_ERR = -1 };

typedef struct fd_store fd_store;
typedef struct fd_conn fd_conn;

/*
 * What a page of a list is filtered by (the admin API's query
 * parameters): NULL or "" matches any. Each list says which fields it
 * reads; it ignores the others.
 */
typedef struct {
	const char *environment, *campaign_id, *status, *customer_id;
	const char *name; /* an event's name */
	const char *q;    /* the dashboard's customer search */
} fd_filter;

/* The shape the lists share: a page {"total","limit","offset","data"}
 * of what the filter lets through. */
typedef int (*fd_store_list_fn)(fd_conn *c, const char *app_id,
                                const fd_filter *f, long limit, long offset,
                                json_t **out);

typedef enum {
	FD_KEY_SERVICE = 1,
	FD_KEY_PUBLIC = 2,
	FD_KEY_ADMIN = 4
} fd_key_kind;

/* An API key as authentication finds it (fd_store_key_auth): who is
 * calling. */
typedef struct {
	char app_id[40]; /* application of the key; "" for an operator-wide
	                    admin token */
	char org_id[40];
	fd_key_kind kind;
	char environment[16]; /* "" = any, else "production" or "test" */
	char key_id[40];
} fd_principal;

/* Open or create the database, migrate it to the current schema version,
 * open `readers` read connections. path is a SQLite file ("sqlite:PATH"
 * too) or a postgres:// / postgresql:// URL. clock (NULL: the real one)
 * is what the store's own time-based reads use (a reward's computed
 * status). 0, or -1 with a message in err (never the URL's password). */
int fd_store_open(fd_store **out, const char *path, int readers,
                  fd_clock *clock, char *err, size_t errlen);

/* How a store is opened beyond its path (fd_store_open_with). */
typedef struct {
	int readers;     /* read connections; < 1: 1 */
	fd_clock *clock; /* NULL: the real one */
	/* SQLite: once a commit leaves the WAL larger than this many bytes,
	 * the writer restarts it before its next batch (a RESTART checkpoint
	 * waiting for readers at most 200 ms) and cuts the file back to it
	 * (driver_sqlite.c); 0: FD_STORE_WAL_LIMIT_DEFAULT; < 0: no bound
	 * (the WAL grows while the writer commits without a pause).
	 * Ignored by PostgreSQL. */
	int64_t wal_limit;
	/* Write connections, each for a writer thread of its own
	 * (fd_store_writer_at); < 1: the database's default, 1 on SQLite and
	 * FD_STORE_SHARED_WRITERS on PostgreSQL. More than one only where
	 * several transactions may write at once; SQLite refuses it. */
	int writers;
} fd_store_options;

#define FD_STORE_SHARED_WRITERS 2

#define FD_STORE_WAL_LIMIT_DEFAULT (16LL * 1024 * 1024)

/* fd_store_open with options (NULL: the defaults, one reader). */
int fd_store_open_with(fd_store **out, const char *path,
                       const fd_store_options *opt, char *err, size_t errlen);

/* The writer's WAL, for /metrics: its file's size now, RESTART
 * checkpoints that completed and those that met readers still on old
 * frames after the bounded wait (tried again later). */
typedef struct {
	int64_t bytes;
	long restarts, restart_busy;
} fd_store_wal_stats;

/* Any thread: 0 and *out filled, or -1 (the database has no WAL of
 * flockd's: PostgreSQL). */
int fd_store_wal_stats_get(fd_store *s, fd_store_wal_stats *out);

/* Round trips to the database server so far, every connection of the
 * process (PostgreSQL); -1 where there is no server (SQLite). Any
 * thread. */
long fd_store_round_trips(fd_store *s);
void fd_store_close(fd_store *s);
int fd_store_schema_version(fd_store *s);
/* "sqlite" or "postgresql". */
const char *fd_store_backend(fd_store *s);

/*
 * Make every transaction the writer has committed durable (fdatasync of
 * the WAL). Commits on the write connection do not sync by themselves:
 * the caller acknowledges a write only after a sync that followed its
 * commit. Only one thread may call it at a time. FD_OK or FD_ERR.
 */
int fd_store_sync(fd_store *s);

/* The first write connection (migrations, migrate-store, SQLite's only
 * one). */
fd_conn *fd_store_writer(fd_store *s);
/* The store's write connections (fd_store_options.writers): how many,
 * and the i-th (0 is fd_store_writer's). */
int fd_store_writers(fd_store *s);
fd_conn *fd_store_writer_at(fd_store *s, int i);
/* Borrow a read connection (blocks while all are in use); give it back. */
fd_conn *fd_store_reader(fd_store *s);
void fd_store_reader_done(fd_store *s, fd_conn *c);

/* Transactions: begin (write: takes the write lock at once), commit,
 * rollback; savepoints nest inside. 0 or FD_ERR. release and
 * rollback_to may also return FD_RETRY: the job since the savepoint met
 * a transient failure (see FD_RETRY); after rollback_to it is rolled back
 * alone and the transaction goes on. */
int fd_store_begin(fd_conn *c, int write);
int fd_store_commit(fd_conn *c);
int fd_store_rollback(fd_conn *c);
int fd_store_savepoint(fd_conn *c);
/* 1 if a transient failure (a lost race, a deadlock, a lost connection:
 * what makes fd_store_release answer FD_RETRY) was met since the
 * transaction or the last savepoint began: its work must run again. */
int fd_store_retry_pending(fd_conn *c);
int fd_store_release(fd_conn *c);
int fd_store_rollback_to(fd_conn *c);
/*
 * on 1: from now on, statements whose rows nobody reads (writes, BEGIN)
 * are sent without waiting for their answers where the driver can
 * (PostgreSQL's pipeline mode), so a job's writes cost no round trip of
 * their own; their store calls answer FD_OK at once. What they failed, or
 * an UPDATE or INSERT that changed no row, shows later as FD_RETRY (and
 * fd_store_retry_pending): the work must run again without deferring,
 * where each call answers for itself. on 0: wait for every answer and
 * stop deferring: FD_OK or FD_RETRY. Commit and rollback stop it too.
 */
int fd_store_defer(fd_conn *c, int on);
int fd_store_ping(fd_conn *c);

/* ---- organizations, applications, keys ---- */
int fd_store_org_insert(fd_conn *c, const char *id, const char *name,
                        int64_t now);
/* Organizations in the database (flockd init --if-new). */
int fd_store_org_count(fd_conn *c, long *n);
int fd_store_app_insert(fd_conn *c, const char *id, const char *org_id,
                        const char *name, int64_t now);
/* app: Application object. */
int fd_store_app_get(fd_conn *c, const char *id, json_t **out);
/* Applications of an organization, all or only one (only_app). */
int fd_store_app_list(fd_conn *c, const char *org_id, const char *only_app,
                      long limit, long offset, json_t **out);

typedef struct {
	const char *id;
	const char *app_id; /* NULL: operator-wide admin token */
	const char *org_id;
	fd_key_kind kind;
	const char *environment; /* "" = any */
	const uint8_t *hash;     /* SHA-256 of the secret, 32 bytes */
	const char *prefix;      /* shown instead of the secret */
} fd_store_key;
int fd_store_key_insert(fd_conn *c, const fd_store_key *k, int64_t now);
/* Unrevoked key by hash into *out. FD_OK or FD_NOTFOUND. */
int fd_store_key_auth(fd_conn *c, const uint8_t hash[32], fd_principal *out);
int fd_store_key_get(fd_conn *c, const char *app_id, const char *id,
                     json_t **out);
/* Filters environment: the keys limited to it. */
int fd_store_key_list(fd_conn *c, const char *app_id, const fd_filter *f,
                      long limit, long offset, json_t **out);
int fd_store_key_revoke(fd_conn *c, const char *app_id, const char *id,
                        int64_t now);

/* ---- customers ---- */
typedef enum { FD_BY_ID, FD_BY_EXTERNAL, FD_BY_CODE } fd_lookup;
int fd_store_customer_get(fd_conn *c, const char *app_id, fd_lookup by,
                          const char *key, json_t **out);
/* New customer; FD_CONFLICT if the referral code (or external id) is
 * taken. props: JSON object text or NULL. */
int fd_store_customer_insert(fd_conn *c, const char *app_id, const char *id,
                             const char *external_id, const char *email,
                             const char *name, const char *code,
                             const char *props, int64_t now);
/* Update the fields that are not NULL. */
int fd_store_customer_update(fd_conn *c, const char *app_id, const char *id,
                             const char *email, const char *name,
                             const char *props, int64_t now);
int fd_store_customer_set_referred(fd_conn *c, const char *app_id,
                                   const char *id, const char *referrer_id,
                                   const char *referral_id,
                                   const char *campaign_id, int64_t now);
/* Add to visitedReferralsCount / convertedReferralsCount. */
int fd_store_customer_count(fd_conn *c, const char *app_id, const char *id,
                            int visited, int converted, int64_t now);
/* Erase personal data (email, name, properties) and set deletedAt. */
int fd_store_customer_erase(fd_conn *c, const char *app_id, const char *id,
                            int64_t now);
/* Filters environment and q, the dashboard's search: the customers whose
 * id is q, or whose external id, referral code (q uppercased) or email
 * (both lowercased) begins with q, each walked on an index (schema step
 * 5); the total then counts at most FD_SEARCH_CAP matches of each kind. */
#define FD_SEARCH_CAP 1000
int fd_store_customer_list(fd_conn *c, const char *app_id, const fd_filter *f,
                           long limit, long offset, json_t **out);

/*
 * Exports (flockctl export): up to `limit` objects of the application
 * whose id sorts after `after` (NULL or "": from the first), in id order,
 * which is creation order (ids are time-sortable); a bare array. The
 * caller pages on with the last id: no OFFSET, no count, so a page costs
 * the same at row 10^6 as at row 0. env (NULL: both) filters referrals
 * and rewards.
 */
int fd_store_customer_export(fd_conn *c, const char *app_id, const char *env,
                             const char *after, long limit, json_t **out);
int fd_store_referral_export(fd_conn *c, const char *app_id, const char *env,
                             const char *after, long limit, json_t **out);
int fd_store_reward_export(fd_conn *c, const char *app_id, const char *env,
                           const char *after, long limit, json_t **out);

/* ---- campaigns, their rewards and checkpoints ---- */
typedef struct {
	const char *id;
	const char *environment;
	const char *name;
	int hold_days;
	int64_t starts_at, ends_at; /* 0 = none */
	const char *extra;          /* JSON object text of the other fields */
} fd_store_campaign;
int fd_store_campaign_insert(fd_conn *c, const char *app_id,
                             const fd_store_campaign *k, int64_t now);
/* Replace name/hold/starts/ends/extra (all given). */
int fd_store_campaign_update(fd_conn *c, const char *app_id,
                             const fd_store_campaign *k, int64_t now);
/* Campaign with its rewards[]. */
int fd_store_campaign_get(fd_conn *c, const char *app_id, const char *id,
                          json_t **out);
int fd_store_campaign_live(fd_conn *c, const char *app_id, const char *env,
                           json_t **out);
/* Bare array of campaigns (env NULL: both). */
int fd_store_campaign_list(fd_conn *c, const char *app_id, const char *env,
                           json_t **out);
/* A number that changes whenever any campaign, campaign reward or
 * checkpoint changes (not on pings), on any node sharing the database:
 * the writer's live-campaign cache is dropped when it moves. */
int fd_store_campaigns_version(fd_conn *c, int64_t *out);
/* Make id the only live campaign of its environment, or take it offline. */
int fd_store_campaign_set_live(fd_conn *c, const char *app_id, const char *id,
                               int live, int64_t now);
int fd_store_campaign_ping(fd_conn *c, const char *app_id, const char *id,
                           const char *origin, int64_t now);

typedef struct {
	const char *id;
	const char *campaign_id;
	const char *party; /* referrer | referee */
	long limit;        /* 0 = none */
	const char *limit_unit;
	const char *limit_interval;
	const char *terms; /* JSON object text: name, type, amounts... */
} fd_store_campaign_reward;
int fd_store_campaign_reward_insert(fd_conn *c, const char *app_id,
                                    const fd_store_campaign_reward *r,
                                    int64_t now);
int fd_store_campaign_reward_get(fd_conn *c, const char *app_id, const char *id,
                                 json_t **out);

int fd_store_checkpoint_insert(fd_conn *c, const char *app_id, const char *id,
                               const char *campaign_id, const char *name,
                               const char *trigger, const char *placement_id,
                               int64_t now);
int fd_store_checkpoint_get(fd_conn *c, const char *app_id, const char *id,
                            json_t **out);
/* The checkpoint named `name` of a campaign. */
int fd_store_checkpoint_find(fd_conn *c, const char *app_id,
                             const char *campaign_id, const char *name,
                             json_t **out);
/* Array of checkpoints (campaign_id NULL: all of the application). */
int fd_store_checkpoint_list(fd_conn *c, const char *app_id,
                             const char *campaign_id, json_t **out);

/* ---- referrals ---- */
/*
 * The customer of an external id (FD_NOTFOUND: none) and, with
 * campaign_id, its referral as referee in that campaign and the
 * referral's referrer (both NULL: no referral): what a checkpoint needs,
 * in one round trip where the writer defers (fd_store_defer).
 */
int fd_store_referee_get(fd_conn *c, const char *app_id, const char *ext,
                         const char *campaign_id, json_t **customer,
                         json_t **referral, json_t **referrer);
int fd_store_referral_insert(fd_conn *c, const char *app_id, const char *id,
                             const char *env, const char *campaign_id,
                             const char *referrer_id, const char *referee_id,
                             const char *status, const char *frauds,
                             int64_t now);
/* Set referrer (if not NULL), status and suspectedFrauds (JSON text or
 * NULL). */
int fd_store_referral_update(fd_conn *c, const char *app_id, const char *id,
                             const char *referrer_id, const char *status,
                             const char *frauds, int64_t now);
int fd_store_referral_get(fd_conn *c, const char *app_id, const char *id,
                          json_t **out);
int fd_store_referral_find(fd_conn *c, const char *app_id,
                           const char *campaign_id, const char *referee_id,
                           json_t **out);
/* Referrals of a referrer in a campaign, newest first (limit 0: all). */
int fd_store_referral_by_referrer(fd_conn *c, const char *app_id,
                                  const char *campaign_id,
                                  const char *referrer_id, long limit,
                                  json_t **out);
/* Referrals made by referrer_id since `since` (for velocity), counted up
 * to cap. */
int fd_store_referral_count_since(fd_conn *c, const char *app_id,
                                  const char *referrer_id, int64_t since,
                                  long cap, long *out);
/* Filters environment, campaign_id, status and customer_id (as referrer
 * or referee). */
int fd_store_referral_list(fd_conn *c, const char *app_id, const fd_filter *f,
                           long limit, long offset, json_t **out);

/* ---- environments (engine/scope.c) ---- */
/* What an id names, for fd_store_env_of. */
typedef enum {
	FD_OBJ_CAMPAIGN,
	FD_OBJ_CUSTOMER, /* by id, external id or referral code (by) */
	FD_OBJ_REFERRAL,
	FD_OBJ_REWARD,
	FD_OBJ_KEY,             /* "" = a key of every environment */
	FD_OBJ_WEBHOOK,         /* "" = an endpoint of every environment */
	FD_OBJ_CAMPAIGN_REWARD, /* its campaign's */
	FD_OBJ_CHECKPOINT       /* its campaign's */
} fd_object;
/* The environment of the object key names in app_id into env ("production",
 * "test", or "" as above). FD_OK, FD_NOTFOUND or FD_ERR. by is used for
 * customers only. */
int fd_store_env_of(fd_conn *c, const char *app_id, fd_object kind,
                    fd_lookup by, const char *key, char env[16]);
/* The environment a customer belongs to (schema step 7; set once, when it
 * is created). */
int fd_store_customer_set_env(fd_conn *c, const char *app_id, const char *id,
                              const char *env);

/* Revoke the operator-wide admin token id (no application) of org_id
 * and read it back into *out (a Key). FD_OK, FD_NOTFOUND or FD_ERR. */
int fd_store_operator_key_revoke(fd_conn *c, const char *org_id, const char *id,
                                 int64_t now, json_t **out);

/* ---- rewards ---- */
typedef struct {
	const char *id;
	const char *env;
	const char *campaign_id;
	const char *campaign_reward_id;
	const char *referral_id;
	const char *customer_id;
	const char *party;
	const char *terms; /* JSON object text copied from the CampaignReward */
	const char *status; /* pending | approved */
	int64_t available_at;
} fd_store_reward;
/* FD_OK, or FD_CONFLICT when (referral, campaign reward) already has one:
 * the database's unique constraint decides, never a prior read. */
int fd_store_reward_insert(fd_conn *c, const char *app_id,
                           const fd_store_reward *r, int64_t now);
/* Status is computed: a pending reward whose availableAt passed reads as
 * approved. */
int fd_store_reward_get(fd_conn *c, const char *app_id, const char *id,
                        json_t **out);
/* Rewards of (campaign reward, customer) not revoked/rejected created at or
 * after `since`, counted up to cap. */
int fd_store_reward_count_since(fd_conn *c, const char *app_id,
                                const char *campaign_reward_id,
                                const char *customer_id, int64_t since,
                                long cap, long *out);
/* Move to `to` only from one of the statuses in `from` ("pending,approved"
 * style list); FD_NOTFOUND if no row moved. */
int fd_store_reward_transition(fd_conn *c, const char *app_id, const char *id,
                               const char *from, const char *to, int64_t now);
/* Filters environment, campaign_id, status (as it reads now) and
 * customer_id. */
int fd_store_reward_list(fd_conn *c, const char *app_id, const fd_filter *f,
                         long limit, long offset, json_t **out);
/* Up to `limit` stored-pending rewards now due, all applications: array of
 * Reward objects (with applicationId). */
int fd_store_reward_due(fd_conn *c, int64_t now, long limit, json_t **out);

/* ---- checkpoint events, outbox, webhooks, idempotency ---- */
int fd_store_event_insert(fd_conn *c, const char *app_id, const char *id,
                          const char *env, const char *customer_id,
                          const char *name, const char *props, int64_t now);
/* 1 if the customer has sent checkpoint `name` in env, else 0; FD_ERR. */
int fd_store_event_seen(fd_conn *c, const char *app_id, const char *env,
                        const char *customer_id, const char *name);

/* named: stored only if a live endpoint of the app lists the event by
 * name (FD_OK either way). */
int fd_store_outbox_insert(fd_conn *c, const char *app_id, const char *id,
                           const char *env, const char *name, int64_t ts,
                           const char *body, int named);
/* Events newest first; filters environment and name. */
int fd_store_outbox_list(fd_conn *c, const char *app_id, const fd_filter *f,
                         long limit, long offset, json_t **out);

/*
 * The event stream (GET /admin/apps/{app}/events/stream): events by their
 * place in the outbox (seq, which grows with every event written). seq:
 * the place of event id (FD_OK, FD_NOTFOUND). last: the application's
 * latest place (0: none yet). after: up to `limit` events of the
 * application placed after `after`, of environment env (NULL: both),
 * written at or before `upto` (ms, the event's timestamp), oldest first:
 * array of {"seq","id","name","environment","body"} (body: the envelope
 * text as webhooks deliver it).
 */
int fd_store_outbox_seq(fd_conn *c, const char *app_id, const char *id,
                        long *seq);
int fd_store_outbox_last(fd_conn *c, const char *app_id, long *seq);
int fd_store_outbox_after(fd_conn *c, const char *app_id, long after,
                          const char *env, int64_t upto, long limit,
                          json_t **out);

int fd_store_webhook_insert(fd_conn *c, const char *app_id, const char *id,
                            const char *url, const char *events,
                            const char *env, const char *secret, int64_t now);
int fd_store_webhook_get(fd_conn *c, const char *app_id, const char *id,
                         json_t **out);
int fd_store_webhook_delete(fd_conn *c, const char *app_id, const char *id,
                            int64_t now);
/* 1 if a live endpoint of the app lists event `name` explicitly, or
 * if that is left to fd_store_outbox_insert's named insert (where the
 * writer defers: a read would cost a round trip); 0; FD_ERR. */
int fd_store_webhook_wants(fd_conn *c, const char *app_id, const char *name);
/* Filters environment: the endpoints limited to it. */
int fd_store_webhook_list(fd_conn *c, const char *app_id, const fd_filter *f,
                          long limit, long offset, json_t **out);

/*
 * ---- deliveries (the webhook worker, delivery.c) ----
 *
 * Webhook endpoints carry, besides what webhook_insert stores: enabled
 * (new endpoints are enabled), disabledReason ("gone" after a 410,
 * "operator" after an update), and a previous secret with the time until
 * which it stays valid (rotation). Endpoint objects (webhook_get/list)
 * show "enabled", "disabledReason" and "previousSecretExpiresAt" (ISO or
 * null), never a secret.
 *
 * A delivery is one (outbox event, endpoint) pair, unique in the
 * database. States: "pending" (waiting for next_attempt_at; attempts = 0
 * for a first attempt, > 0 for a retry), "inflight" (claimed: a lease
 * owned by one node until lease_until), "delivered", "dead" (retries
 * exhausted, or the endpoint answered 410). Every attempt is logged.
 *
 * Several flockd nodes may share one database: claiming and fan-out take
 * rows no other transaction holds (PostgreSQL: SELECT ... FOR UPDATE SKIP
 * LOCKED, then UPDATE); a node only completes a delivery it still holds.
 * All functions below except the *_list/stats ones write and run inside a
 * write transaction on the writer connection; times are ms since the epoch.
 */

/* An endpoint receives event `name` of environment env if it is not
 * deleted, its environment is NULL or env, and its events are NULL (all)
 * or a list holding `name` or "*". "checkpoint.ingested" is opt-in: only
 * an explicit listing takes it. Fan-out ignores `enabled` (a disabled
 * endpoint's deliveries wait, and go out when it is enabled again).
 *
 * Fan out up to `limit` outbox events not yet fanned out, oldest first:
 * create one delivery per receiving endpoint (state pending, attempts 0,
 * next_attempt_at = now) and mark the events fanned out, all in the
 * caller's transaction. An (event, endpoint) pair that already has a
 * delivery is left alone. Events written before this schema version count
 * as fanned out. *n: events fanned out (0: none were waiting). FD_OK or
 * FD_ERR. */
int fd_store_delivery_fanout(fd_conn *c, int64_t now, long limit, long *n);

/*
 * Claim up to `limit` deliveries that are due: state pending with
 * next_attempt_at <= now, or state inflight whose lease expired
 * (lease_until <= now: its node died or hung), of enabled, not deleted
 * endpoints, oldest next_attempt_at first. Each becomes inflight with
 * lease_owner = node and lease_until = lease_until. *out (new reference):
 * array of {"id","applicationId","endpointId","eventId","eventName",
 * "attempt" (the number of this attempt, 1 = first), "url", "secret"
 * (current), "previousSecret" (present only while the rotation grace
 * runs: its expiry > now), "body" (the stored envelope text, byte for
 * byte)}.
 * FD_OK (possibly empty) or FD_ERR.
 */
int fd_store_delivery_claim(fd_conn *c, const char *node, int64_t now,
                            int64_t lease_until, long limit, json_t **out);

typedef enum {
	FD_DELIVERY_DELIVERED = 1, /* 2xx */
	FD_DELIVERY_RETRY = 2,     /* pending again at next_attempt_at */
	FD_DELIVERY_DEAD = 3       /* no more retries (replayable) */
} fd_delivery_outcome;

typedef struct {
	const char *delivery_id;
	const char *node;    /* who claimed it */
	int64_t at;          /* when the attempt started */
	int status;          /* HTTP status; 0: no response */
	long latency_ms;     /* start to response (or error) */
	const char *excerpt; /* first bytes of the response body, or NULL */
	const char *error;   /* transport error text, or NULL */
	fd_delivery_outcome outcome;
	int64_t next_attempt_at; /* FD_DELIVERY_RETRY only */
	int disable_endpoint;    /* 410: also disable the endpoint ("gone") */
} fd_store_attempt;

/*
 * Record one attempt of a delivery node holds (state inflight,
 * lease_owner = node): append it to the attempt log, add one to attempts,
 * set the state from the outcome, clear the lease, and disable the
 * endpoint if asked. FD_OK; FD_NOTFOUND when node no longer holds the
 * lease (another node took the expired lease over, or an operator
 * replayed it): nothing is written; FD_ERR.
 */
int fd_store_delivery_complete(fd_conn *c, const fd_store_attempt *a,
                               int64_t now);

/* Give back every delivery node holds (graceful shutdown): state pending,
 * lease cleared, attempts and next_attempt_at unchanged. FD_OK/FD_ERR. */
int fd_store_delivery_release(fd_conn *c, const char *node, int64_t now);

/*
 * Replay: delivery_id given: that delivery of the endpoint, in any state
 * but inflight; NULL: every dead delivery of the endpoint. Each becomes
 * pending with attempts 0 and next_attempt_at = now (its log stays).
 * *n: deliveries replayed. FD_OK (bulk: also when none was dead);
 * FD_NOTFOUND (no such delivery of that endpoint and application);
 * FD_CONFLICT (the delivery is in flight); FD_ERR. The caller checks
 * that the endpoint exists.
 */
int fd_store_delivery_replay(fd_conn *c, const char *app_id,
                             const char *endpoint_id, const char *delivery_id,
                             int64_t now, long *n);

/* Deliveries of an endpoint, newest first, state filter optional (NULL:
 * all): page {"total","limit","offset","data":[{"id","endpointId",
 * "eventId","eventName","environment","state","attempts","nextAttemptAt",
 * "lastStatus","lastError","createdAt","updatedAt","deliveredAt"}]}
 * (times ISO, absent ones null). */
int fd_store_delivery_list(fd_conn *c, const char *app_id,
                           const char *endpoint_id, const char *state,
                           long limit, long offset, json_t **out);

/* The attempt log of an endpoint (or of one of its deliveries), newest
 * first: page of {"deliveryId","eventId","attempt","at" (ISO),"status"
 * (number or null),"latencyMs","responseExcerpt","error"}. */
int fd_store_attempt_list(fd_conn *c, const char *app_id,
                          const char *endpoint_id, const char *delivery_id,
                          long limit, long offset, json_t **out);

typedef struct {
	long pending;      /* waiting for a first attempt */
	long retrying;     /* waiting for a retry */
	long inflight;     /* claimed */
	long dead;         /* dead (replayable) */
	long unfanned;     /* outbox events not fanned out yet */
	int64_t oldest_ms; /* envelope timestamp of the oldest event still to
	                      deliver (pending, retrying, in flight, or not
	                      fanned out); 0: none */
} fd_delivery_stats;
/* All applications (for /metrics). Deliveries count only for endpoints
 * that are enabled and not deleted (the others' wait is the operator's
 * choice, not lag); unfanned events count always. FD_OK or FD_ERR. */
int fd_store_delivery_stats(fd_conn *c, fd_delivery_stats *out);

/* Change an endpoint: url if not NULL; events if events_set (events: JSON
 * array text, or NULL for all); enabled if >= 0 (0: disabledReason
 * "operator"; 1: reason cleared). FD_OK or FD_NOTFOUND (none, or
 * deleted). */
int fd_store_webhook_update(fd_conn *c, const char *app_id, const char *id,
                            const char *url, int events_set, const char *events,
                            int enabled, int64_t now);
/* Rotate: the current secret becomes the previous one, valid until
 * previous_until; `secret` becomes current. FD_OK or FD_NOTFOUND. */
int fd_store_webhook_rotate(fd_conn *c, const char *app_id, const char *id,
                            const char *secret, int64_t previous_until,
                            int64_t now);

/* Stored response for (app, key): FD_OK with *status, *body (malloc'd
 * text, caller frees) and hash[32] filled, or FD_NOTFOUND. */
int fd_store_idem_get(fd_conn *c, const char *app_id, const char *key,
                      uint8_t hash[32], int *status, char **body);
int fd_store_idem_put(fd_conn *c, const char *app_id, const char *key,
                      const uint8_t hash[32], int status, const char *body,
                      int64_t now);
/* Forget records created before `before`. */
int fd_store_idem_purge(fd_conn *c, int64_t before);

/*
 * Request rate limit (fd_engine_rate_check): count one request of API key
 * key_id in fixed window `window` (Unix seconds) and set *count to the
 * window's count so far, this request included, atomically across every
 * process sharing the database. FD_OK or FD_ERR. Thread-safe; it uses no
 * fd_conn and commits on its own, outside any writer batch.
 *  - SQLite: one process owns the database, so the counts live in memory
 *    (a mutex and a small table holding each key's current window only);
 *    they are lost on restart, which only forgets at most one second.
 *  - PostgreSQL: table rate_windows(key_id, window, count) (schema version
 *    4), one INSERT ... ON CONFLICT DO UPDATE ... RETURNING count in
 *    autocommit on a dedicated read-write connection opened on first use;
 *    windows older than a minute are deleted about once a minute.
 */
int fd_store_rate_hit(fd_store *s, const char *key_id, int64_t window,
                      long *count);
/* The count fd_store_rate_hit has for (key_id, window), without counting
 * (0 if none). FD_OK or FD_ERR. */
int fd_store_rate_peek(fd_store *s, const char *key_id, int64_t window,
                       long *count);

/*
 * ---- the dashboard's reads and edits (docs/dashboard.md) ----
 */

/* Change a campaign reward: party, limits and terms, all given (terms:
 * JSON object text). FD_OK or FD_NOTFOUND (none, or deleted). */
int fd_store_campaign_reward_update(fd_conn *c, const char *app_id,
                                    const fd_store_campaign_reward *r,
                                    int64_t now);
/* Soft-delete a campaign reward (rewards granted from it stay; it grants
 * no more). FD_OK or FD_NOTFOUND. */
int fd_store_campaign_reward_delete(fd_conn *c, const char *app_id,
                                    const char *id, int64_t now);
/* Change a checkpoint's name, trigger and placement id (all given):
 * FD_OK, FD_NOTFOUND, or FD_CONFLICT (its campaign has that name). */
int fd_store_checkpoint_update(fd_conn *c, const char *app_id, const char *id,
                               const char *name, const char *trigger,
                               const char *placement_id, int64_t now);
/* Delete a checkpoint (events keep their name). FD_OK or FD_NOTFOUND. */
int fd_store_checkpoint_delete(fd_conn *c, const char *app_id, const char *id);

/* Add n to the day's count of `name` ("visit": a valid referral code
 * checked) of (app, environment); day is days since the epoch (UTC).
 * FD_OK or FD_ERR. */
int fd_store_activity_add(fd_conn *c, const char *app_id, const char *env,
                          const char *name, int64_t day, long n);

/*
 * Analytics of one environment over [from, to) (ms; days: from / day to
 * to / day, whole UTC days). Rewards' status is computed at now.
 *
 * fd_store_analytics_counts: one object {"visits","referrals" (created
 * in the range),"flagged" (of those, flagged now),"accepted" (referrals
 * accepted in the range)}. fd_store_analytics_rewards: the rewards
 * granted in the range grouped by what they pay: array of {"terms"
 * (JSON text of the reward's terms),"status","count"}, and with
 * by_day also "day". fd_store_analytics_days: array of {"day","name"
 * ("visits", "referrals", "accepted"),"count"}, days without any left
 * out. fd_store_analytics_referrers: the `limit` referrers with the most
 * referrals created in the range: {"customerId","externalUserId",
 * "email","name","referralCode","referrals","accepted","rewards" (their
 * referrer rewards granted in the range)}. FD_OK or FD_ERR.
 */
int fd_store_analytics_counts(fd_conn *c, const char *app_id, const char *env,
                              int64_t from, int64_t to, json_t **out);
int fd_store_analytics_rewards(fd_conn *c, const char *app_id, const char *env,
                               int64_t from, int64_t to, int by_day,
                               json_t **out);
int fd_store_analytics_days(fd_conn *c, const char *app_id, const char *env,
                            int64_t from, int64_t to, json_t **out);
int fd_store_analytics_referrers(fd_conn *c, const char *app_id,
                                 const char *env, int64_t from, int64_t to,
                                 long limit, json_t **out);

/* The database string with any password replaced by "***", for logs. */
void fd_store_redact(char *out, size_t len, const char *database);

#endif
