/*
 * What a storage back-end implements (store_sqlite.c, store_pg.c): one
 * table of functions, one per fd_store_* call of store.h, with the same
 * meaning. store.c picks the back-end from the database URL and forwards
 * each call through the table. Only store*.c include this file.
 *
 * A back-end's store and connection structs begin with the fd_store and
 * fd_conn below, so the interface's pointers are the back-end's own.
 */
#ifndef FLOCKD_STORE_IMPL_H
#define FLOCKD_STORE_IMPL_H

#include "store/store.h"

typedef struct fd_store_ops fd_store_ops;

struct fd_store {
	const fd_store_ops *ops;
};

struct fd_conn {
	const fd_store_ops *ops;
};

struct fd_store_ops {
	const char *name; /* "sqlite", "postgresql" */
	void (*close)(fd_store *s);
	int (*schema_version)(fd_store *s);
	int (*sync)(fd_store *s);
	fd_conn *(*writer)(fd_store *s);
	fd_conn *(*reader)(fd_store *s);
	void (*reader_done)(fd_store *s, fd_conn *c);
	int (*begin)(fd_conn *c, int write);
	int (*commit)(fd_conn *c);
	int (*rollback)(fd_conn *c);
	int (*savepoint)(fd_conn *c);
	int (*release)(fd_conn *c);
	int (*rollback_to)(fd_conn *c);
	int (*ping)(fd_conn *c);
	int (*org_insert)(fd_conn *c, const char *id, const char *name,
	                  int64_t now);
	int (*app_insert)(fd_conn *c, const char *id, const char *org_id,
	                  const char *name, int64_t now);
	int (*app_get)(fd_conn *c, const char *id, json_t **out);
	int (*app_list)(fd_conn *c, const char *org_id, const char *only_app,
	                long limit, long offset, json_t **out);
	int (*key_insert)(fd_conn *c, const fd_store_key *k, int64_t now);
	int (*key_auth)(fd_conn *c, const uint8_t hash[32], fd_principal *out);
	int (*key_get)(fd_conn *c, const char *app_id, const char *id,
	               json_t **out);
	int (*key_list)(fd_conn *c, const char *app_id, long limit, long offset,
	                json_t **out);
	int (*key_revoke)(fd_conn *c, const char *app_id, const char *id,
	                  int64_t now);
	int (*customer_get)(fd_conn *c, const char *app_id, fd_lookup by,
	                    const char *key, json_t **out);
	int (*customer_insert)(fd_conn *c, const char *app_id, const char *id,
	                       const char *external_id, const char *email,
	                       const char *name, const char *code,
	                       const char *props, int64_t now);
	int (*customer_update)(fd_conn *c, const char *app_id, const char *id,
	                       const char *email, const char *name,
	                       const char *props, int64_t now);
	int (*customer_set_referred)(fd_conn *c, const char *app_id,
	                             const char *id, const char *referrer_id,
	                             const char *referral_id,
	                             const char *campaign_id, int64_t now);
	int (*customer_count)(fd_conn *c, const char *app_id, const char *id,
	                      int visited, int converted, int64_t now);
	int (*customer_erase)(fd_conn *c, const char *app_id, const char *id,
	                      int64_t now);
	int (*customer_list)(fd_conn *c, const char *app_id, long limit,
	                     long offset, json_t **out);
	int (*campaign_insert)(fd_conn *c, const char *app_id,
	                       const fd_store_campaign *k, int64_t now);
	int (*campaign_update)(fd_conn *c, const char *app_id,
	                       const fd_store_campaign *k, int64_t now);
	int (*campaign_get)(fd_conn *c, const char *app_id, const char *id,
	                    json_t **out);
	int (*campaign_live)(fd_conn *c, const char *app_id, const char *env,
	                     json_t **out);
	int (*campaign_list)(fd_conn *c, const char *app_id, const char *env,
	                     json_t **out);
	int (*campaign_set_live)(fd_conn *c, const char *app_id, const char *id,
	                         int live, int64_t now);
	int (*campaign_ping)(fd_conn *c, const char *app_id, const char *id,
	                     const char *origin, int64_t now);
	int (*campaigns_version)(fd_conn *c, int64_t *out);
	int (*campaign_reward_insert)(fd_conn *c, const char *app_id,
	                              const fd_store_campaign_reward *r,
	                              int64_t now);
	int (*campaign_reward_get)(fd_conn *c, const char *app_id,
	                           const char *id, json_t **out);
	int (*checkpoint_insert)(fd_conn *c, const char *app_id, const char *id,
	                         const char *campaign_id, const char *name,
	                         const char *trigger, const char *placement_id,
	                         int64_t now);
	int (*checkpoint_get)(fd_conn *c, const char *app_id, const char *id,
	                      json_t **out);
	int (*checkpoint_find)(fd_conn *c, const char *app_id,
	                       const char *campaign_id, const char *name,
	                       json_t **out);
	int (*checkpoint_list)(fd_conn *c, const char *app_id,
	                       const char *campaign_id, json_t **out);
	int (*referral_insert)(fd_conn *c, const char *app_id, const char *id,
	                       const char *env, const char *campaign_id,
	                       const char *referrer_id, const char *referee_id,
	                       const char *status, const char *frauds,
	                       int64_t now);
	int (*referral_update)(fd_conn *c, const char *app_id, const char *id,
	                       const char *referrer_id, const char *status,
	                       const char *frauds, int64_t now);
	int (*referral_get)(fd_conn *c, const char *app_id, const char *id,
	                    json_t **out);
	int (*referral_find)(fd_conn *c, const char *app_id,
	                     const char *campaign_id, const char *referee_id,
	                     json_t **out);
	int (*referral_by_referrer)(fd_conn *c, const char *app_id,
	                            const char *campaign_id,
	                            const char *referrer_id, long limit,
	                            json_t **out);
	int (*referral_count_since)(fd_conn *c, const char *app_id,
	                            const char *referrer_id, int64_t since,
	                            long cap, long *out);
	int (*referral_list)(fd_conn *c, const char *app_id,
	                     const fd_referral_filter *f, long limit,
	                     long offset, json_t **out);
	int (*reward_insert)(fd_conn *c, const char *app_id,
	                     const fd_store_reward *r, int64_t now);
	int (*reward_get)(fd_conn *c, const char *app_id, const char *id,
	                  json_t **out);
	int (*reward_count_since)(fd_conn *c, const char *app_id,
	                          const char *campaign_reward_id,
	                          const char *customer_id, int64_t since,
	                          long cap, long *out);
	int (*reward_transition)(fd_conn *c, const char *app_id, const char *id,
	                         const char *from, const char *to, int64_t now);
	int (*reward_list)(fd_conn *c, const char *app_id,
	                   const fd_reward_filter *f, long limit, long offset,
	                   json_t **out);
	int (*reward_due)(fd_conn *c, int64_t now, long limit, json_t **out);
	int (*event_insert)(fd_conn *c, const char *app_id, const char *id,
	                    const char *env, const char *customer_id,
	                    const char *name, const char *props, int64_t now);
	int (*event_seen)(fd_conn *c, const char *app_id, const char *env,
	                  const char *customer_id, const char *name);
	int (*outbox_insert)(fd_conn *c, const char *app_id, const char *id,
	                     const char *env, const char *name, int64_t ts,
	                     const char *body);
	int (*outbox_list)(fd_conn *c, const char *app_id, const char *env,
	                   const char *name, long limit, long offset,
	                   json_t **out);
	int (*webhook_insert)(fd_conn *c, const char *app_id, const char *id,
	                      const char *url, const char *events,
	                      const char *env, const char *secret, int64_t now);
	int (*webhook_get)(fd_conn *c, const char *app_id, const char *id,
	                   json_t **out);
	int (*webhook_delete)(fd_conn *c, const char *app_id, const char *id,
	                      int64_t now);
	int (*webhook_list)(fd_conn *c, const char *app_id, long limit,
	                    long offset, json_t **out);
	int (*webhook_wants)(fd_conn *c, const char *app_id, const char *name);
	/* deliveries */
	int (*delivery_fanout)(fd_conn *c, int64_t now, long limit, long *n);
	int (*delivery_claim)(fd_conn *c, const char *node, int64_t now,
	                      int64_t lease_until, long limit, json_t **out);
	int (*delivery_complete)(fd_conn *c, const fd_store_attempt *a,
	                         int64_t now);
	int (*delivery_release)(fd_conn *c, const char *node, int64_t now);
	int (*delivery_replay)(fd_conn *c, const char *app_id,
	                       const char *endpoint_id, const char *delivery_id,
	                       int64_t now, long *n);
	int (*delivery_list)(fd_conn *c, const char *app_id,
	                     const char *endpoint_id, const char *state,
	                     long limit, long offset, json_t **out);
	int (*attempt_list)(fd_conn *c, const char *app_id,
	                    const char *endpoint_id, const char *delivery_id,
	                    long limit, long offset, json_t **out);
	int (*delivery_stats)(fd_conn *c, fd_delivery_stats *out);
	int (*webhook_update)(fd_conn *c, const char *app_id, const char *id,
	                      const char *url, int events_set,
	                      const char *events, int enabled, int64_t now);
	int (*webhook_rotate)(fd_conn *c, const char *app_id, const char *id,
	                      const char *secret, int64_t previous_until,
	                      int64_t now);
	int (*idem_get)(fd_conn *c, const char *app_id, const char *key,
	                uint8_t hash[32], int *status, char **body);
	int (*idem_put)(fd_conn *c, const char *app_id, const char *key,
	                const uint8_t hash[32], int status, const char *body,
	                int64_t now);
	int (*idem_purge)(fd_conn *c, int64_t before);
	int (*rate_hit)(fd_store *s, const char *key_id, int64_t window,
	                long *count);
};

/* Back-ends' open functions, as fd_store_open. */
int fd_sqlite_open(fd_store **out, const char *path, int readers, char *err,
                   size_t errlen);
int fd_pg_open(fd_store **out, const char *url, int readers, char *err,
               size_t errlen);

#endif
