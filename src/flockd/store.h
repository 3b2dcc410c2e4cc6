/*
 * flockd storage interface: everything the engine needs from a database,
 * and nothing about SQL. store_sqlite.c implements it on SQLite; a
 * PostgreSQL store implements the same functions.
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

#include "engine.h"

enum { FD_OK = 0, FD_NOTFOUND = 1, FD_CONFLICT = 2, FD_RETRY = 3, FD_ERR = -1 };

typedef struct fd_store fd_store;
typedef struct fd_conn fd_conn;

/* Open or create the database, migrate it to the current schema version,
 * open `readers` read connections. path is a SQLite file ("sqlite:PATH"
 * too) or a postgres:// / postgresql:// URL. 0, or -1 with a message in
 * err (never the URL's password). */
int fd_store_open(fd_store **out, const char *path, int readers, char *err,
                  size_t errlen);
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

/* The single write connection. */
fd_conn *fd_store_writer(fd_store *s);
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
int fd_store_release(fd_conn *c);
int fd_store_rollback_to(fd_conn *c);
int fd_store_ping(fd_conn *c);

/* ---- organizations, applications, keys ---- */
int fd_store_org_insert(fd_conn *c, const char *id, const char *name,
                        int64_t now);
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
int fd_store_key_list(fd_conn *c, const char *app_id, long limit, long offset,
                      json_t **out);
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
int fd_store_customer_list(fd_conn *c, const char *app_id, long limit,
                           long offset, json_t **out);

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
typedef struct {
	const char *campaign_id, *status, *environment;
} fd_referral_filter;
int fd_store_referral_list(fd_conn *c, const char *app_id,
                           const fd_referral_filter *f, long limit, long offset,
                           json_t **out);

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
typedef struct {
	const char *status, *environment, *customer_id;
} fd_reward_filter;
int fd_store_reward_list(fd_conn *c, const char *app_id,
                         const fd_reward_filter *f, long limit, long offset,
                         json_t **out);
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

int fd_store_outbox_insert(fd_conn *c, const char *app_id, const char *id,
                           const char *env, const char *name, int64_t ts,
                           const char *body);
int fd_store_outbox_list(fd_conn *c, const char *app_id, const char *env,
                         const char *name, long limit, long offset,
                         json_t **out);

int fd_store_webhook_insert(fd_conn *c, const char *app_id, const char *id,
                            const char *url, const char *events,
                            const char *env, const char *secret, int64_t now);
int fd_store_webhook_get(fd_conn *c, const char *app_id, const char *id,
                         json_t **out);
int fd_store_webhook_delete(fd_conn *c, const char *app_id, const char *id,
                            int64_t now);
int fd_store_webhook_list(fd_conn *c, const char *app_id, long limit,
                          long offset, json_t **out);
/* 1 if a live endpoint of the app lists event `name` explicitly. */
int fd_store_webhook_wants(fd_conn *c, const char *app_id, const char *name);

/* Stored response for (app, key): FD_OK with *status, *body (malloc'd
 * text, caller frees) and hash[32] filled, or FD_NOTFOUND. */
int fd_store_idem_get(fd_conn *c, const char *app_id, const char *key,
                      uint8_t hash[32], int *status, char **body);
int fd_store_idem_put(fd_conn *c, const char *app_id, const char *key,
                      const uint8_t hash[32], int status, const char *body,
                      int64_t now);
/* Forget records created before `before`. */
int fd_store_idem_purge(fd_conn *c, int64_t before);

/* The database string with any password replaced by "***", for logs. */
void fd_store_redact(char *out, size_t len, const char *database);

#endif
