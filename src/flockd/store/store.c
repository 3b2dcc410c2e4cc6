/*
 * The storage interface's dispatch: fd_store_open picks a back-end from
 * the database string, and every other call goes through the back-end's
 * function table (store_impl.h).
 */
#include <stdio.h>
#include <string.h>

#include "store/store_impl.h"

static int is_postgres_url(const char *s)
{
	return strncmp(s, "postgres://", 11) == 0 ||
	       strncmp(s, "postgresql://", 13) == 0;
}

int fd_store_open(fd_store **out, const char *path, int readers, char *err,
                  size_t errlen)
{
	*out = NULL;
	if (is_postgres_url(path))
		return fd_pg_open(out, path, readers, err, errlen);
	if (strncmp(path, "sqlite:", 7) == 0)
		path += 7;
	return fd_sqlite_open(out, path, readers, err, errlen);
}

void fd_store_redact(char *out, size_t len, const char *database)
{
	const char *rest, *at, *colon, *q;

	snprintf(out, len, "%s", database);
	if (!is_postgres_url(database))
		return;
	rest = strstr(database, "://") + 3;
	at = strchr(rest, '@');
	colon = strchr(rest, ':');
	q = strchr(database, '?');
	/* postgres://user:password@host/db: the password goes. */
	if (at && colon && colon < at)
		snprintf(out, len, "%.*s:***%s", (int)(colon - database),
		         database, at);
	/* ...?password=...: the whole query goes. */
	if (q && strstr(q, "password=")) {
		size_t keep = strlen(out) - strlen(strchr(out, '?'));
		snprintf(out + keep, len - keep, "?***");
	}
}

const char *fd_store_backend(fd_store *s)
{
	return s->ops->name;
}

void fd_store_close(fd_store *s)
{
	if (s)
		s->ops->close(s);
}

int fd_store_schema_version(fd_store *s)
{
	return s->ops->schema_version(s);
}

int fd_store_sync(fd_store *s)
{
	return s->ops->sync(s);
}

fd_conn *fd_store_writer(fd_store *s)
{
	return s->ops->writer(s);
}

fd_conn *fd_store_reader(fd_store *s)
{
	return s->ops->reader(s);
}

void fd_store_reader_done(fd_store *s, fd_conn *c)
{
	s->ops->reader_done(s, c);
}

int fd_store_begin(fd_conn *c, int write)
{
	return c->ops->begin(c, write);
}

int fd_store_commit(fd_conn *c)
{
	return c->ops->commit(c);
}

int fd_store_rollback(fd_conn *c)
{
	return c->ops->rollback(c);
}

int fd_store_savepoint(fd_conn *c)
{
	return c->ops->savepoint(c);
}

int fd_store_release(fd_conn *c)
{
	return c->ops->release(c);
}

int fd_store_rollback_to(fd_conn *c)
{
	return c->ops->rollback_to(c);
}

int fd_store_ping(fd_conn *c)
{
	return c->ops->ping(c);
}

int fd_store_org_insert(fd_conn *c, const char *id, const char *name,
                        int64_t now)
{
	return c->ops->org_insert(c, id, name, now);
}

int fd_store_app_insert(fd_conn *c, const char *id, const char *org_id,
                        const char *name, int64_t now)
{
	return c->ops->app_insert(c, id, org_id, name, now);
}

int fd_store_app_get(fd_conn *c, const char *id, json_t **out)
{
	return c->ops->app_get(c, id, out);
}

int fd_store_app_list(fd_conn *c, const char *org_id, const char *only_app,
                      long limit, long offset, json_t **out)
{
	return c->ops->app_list(c, org_id, only_app, limit, offset, out);
}

int fd_store_key_insert(fd_conn *c, const fd_store_key *k, int64_t now)
{
	return c->ops->key_insert(c, k, now);
}

int fd_store_key_auth(fd_conn *c, const uint8_t hash[32], fd_principal *out)
{
	return c->ops->key_auth(c, hash, out);
}

int fd_store_key_get(fd_conn *c, const char *app_id, const char *id,
                     json_t **out)
{
	return c->ops->key_get(c, app_id, id, out);
}

int fd_store_key_list(fd_conn *c, const char *app_id, long limit, long offset,
                      json_t **out)
{
	return c->ops->key_list(c, app_id, limit, offset, out);
}

int fd_store_key_revoke(fd_conn *c, const char *app_id, const char *id,
                        int64_t now)
{
	return c->ops->key_revoke(c, app_id, id, now);
}

int fd_store_customer_get(fd_conn *c, const char *app_id, fd_lookup by,
                          const char *key, json_t **out)
{
	return c->ops->customer_get(c, app_id, by, key, out);
}

int fd_store_customer_insert(fd_conn *c, const char *app_id, const char *id,
                             const char *external_id, const char *email,
                             const char *name, const char *code,
                             const char *props, int64_t now)
{
	return c->ops->customer_insert(c, app_id, id, external_id, email, name,
	                               code, props, now);
}

int fd_store_customer_update(fd_conn *c, const char *app_id, const char *id,
                             const char *email, const char *name,
                             const char *props, int64_t now)
{
	return c->ops->customer_update(c, app_id, id, email, name, props, now);
}

int fd_store_customer_set_referred(fd_conn *c, const char *app_id,
                                   const char *id, const char *referrer_id,
                                   const char *referral_id,
                                   const char *campaign_id, int64_t now)
{
	return c->ops->customer_set_referred(c, app_id, id, referrer_id,
	                                     referral_id, campaign_id, now);
}

int fd_store_customer_count(fd_conn *c, const char *app_id, const char *id,
                            int visited, int converted, int64_t now)
{
	return c->ops->customer_count(c, app_id, id, visited, converted, now);
}

int fd_store_customer_erase(fd_conn *c, const char *app_id, const char *id,
                            int64_t now)
{
	return c->ops->customer_erase(c, app_id, id, now);
}

int fd_store_customer_list(fd_conn *c, const char *app_id, long limit,
                           long offset, json_t **out)
{
	return c->ops->customer_list(c, app_id, limit, offset, out);
}

int fd_store_campaign_insert(fd_conn *c, const char *app_id,
                             const fd_store_campaign *k, int64_t now)
{
	return c->ops->campaign_insert(c, app_id, k, now);
}

int fd_store_campaign_update(fd_conn *c, const char *app_id,
                             const fd_store_campaign *k, int64_t now)
{
	return c->ops->campaign_update(c, app_id, k, now);
}

int fd_store_campaign_get(fd_conn *c, const char *app_id, const char *id,
                          json_t **out)
{
	return c->ops->campaign_get(c, app_id, id, out);
}

int fd_store_campaign_live(fd_conn *c, const char *app_id, const char *env,
                           json_t **out)
{
	return c->ops->campaign_live(c, app_id, env, out);
}

int fd_store_campaign_list(fd_conn *c, const char *app_id, const char *env,
                           json_t **out)
{
	return c->ops->campaign_list(c, app_id, env, out);
}

int fd_store_campaign_set_live(fd_conn *c, const char *app_id, const char *id,
                               int live, int64_t now)
{
	return c->ops->campaign_set_live(c, app_id, id, live, now);
}

int fd_store_campaign_ping(fd_conn *c, const char *app_id, const char *id,
                           const char *origin, int64_t now)
{
	return c->ops->campaign_ping(c, app_id, id, origin, now);
}

int fd_store_campaigns_version(fd_conn *c, int64_t *out)
{
	return c->ops->campaigns_version(c, out);
}

int fd_store_campaign_reward_insert(fd_conn *c, const char *app_id,
                                    const fd_store_campaign_reward *r,
                                    int64_t now)
{
	return c->ops->campaign_reward_insert(c, app_id, r, now);
}

int fd_store_campaign_reward_get(fd_conn *c, const char *app_id, const char *id,
                                 json_t **out)
{
	return c->ops->campaign_reward_get(c, app_id, id, out);
}

int fd_store_checkpoint_insert(fd_conn *c, const char *app_id, const char *id,
                               const char *campaign_id, const char *name,
                               const char *trigger, const char *placement_id,
                               int64_t now)
{
	return c->ops->checkpoint_insert(c, app_id, id, campaign_id, name,
	                                 trigger, placement_id, now);
}

int fd_store_checkpoint_get(fd_conn *c, const char *app_id, const char *id,
                            json_t **out)
{
	return c->ops->checkpoint_get(c, app_id, id, out);
}

int fd_store_checkpoint_find(fd_conn *c, const char *app_id,
                             const char *campaign_id, const char *name,
                             json_t **out)
{
	return c->ops->checkpoint_find(c, app_id, campaign_id, name, out);
}

int fd_store_checkpoint_list(fd_conn *c, const char *app_id,
                             const char *campaign_id, json_t **out)
{
	return c->ops->checkpoint_list(c, app_id, campaign_id, out);
}

int fd_store_referral_insert(fd_conn *c, const char *app_id, const char *id,
                             const char *env, const char *campaign_id,
                             const char *referrer_id, const char *referee_id,
                             const char *status, const char *frauds,
                             int64_t now)
{
	return c->ops->referral_insert(c, app_id, id, env, campaign_id,
	                               referrer_id, referee_id, status, frauds,
	                               now);
}

int fd_store_referral_update(fd_conn *c, const char *app_id, const char *id,
                             const char *referrer_id, const char *status,
                             const char *frauds, int64_t now)
{
	return c->ops->referral_update(c, app_id, id, referrer_id, status,
	                               frauds, now);
}

int fd_store_referral_get(fd_conn *c, const char *app_id, const char *id,
                          json_t **out)
{
	return c->ops->referral_get(c, app_id, id, out);
}

int fd_store_referral_find(fd_conn *c, const char *app_id,
                           const char *campaign_id, const char *referee_id,
                           json_t **out)
{
	return c->ops->referral_find(c, app_id, campaign_id, referee_id, out);
}

int fd_store_referral_by_referrer(fd_conn *c, const char *app_id,
                                  const char *campaign_id,
                                  const char *referrer_id, long limit,
                                  json_t **out)
{
	return c->ops->referral_by_referrer(c, app_id, campaign_id, referrer_id,
	                                    limit, out);
}

int fd_store_referral_count_since(fd_conn *c, const char *app_id,
                                  const char *referrer_id, int64_t since,
                                  long cap, long *out)
{
	return c->ops->referral_count_since(c, app_id, referrer_id, since, cap,
	                                    out);
}

int fd_store_referral_list(fd_conn *c, const char *app_id,
                           const fd_referral_filter *f, long limit, long offset,
                           json_t **out)
{
	return c->ops->referral_list(c, app_id, f, limit, offset, out);
}

int fd_store_reward_insert(fd_conn *c, const char *app_id,
                           const fd_store_reward *r, int64_t now)
{
	return c->ops->reward_insert(c, app_id, r, now);
}

int fd_store_reward_get(fd_conn *c, const char *app_id, const char *id,
                        json_t **out)
{
	return c->ops->reward_get(c, app_id, id, out);
}

int fd_store_reward_count_since(fd_conn *c, const char *app_id,
                                const char *campaign_reward_id,
                                const char *customer_id, int64_t since,
                                long cap, long *out)
{
	return c->ops->reward_count_since(c, app_id, campaign_reward_id,
	                                  customer_id, since, cap, out);
}

int fd_store_reward_transition(fd_conn *c, const char *app_id, const char *id,
                               const char *from, const char *to, int64_t now)
{
	return c->ops->reward_transition(c, app_id, id, from, to, now);
}

int fd_store_reward_list(fd_conn *c, const char *app_id,
                         const fd_reward_filter *f, long limit, long offset,
                         json_t **out)
{
	return c->ops->reward_list(c, app_id, f, limit, offset, out);
}

int fd_store_reward_due(fd_conn *c, int64_t now, long limit, json_t **out)
{
	return c->ops->reward_due(c, now, limit, out);
}

int fd_store_event_insert(fd_conn *c, const char *app_id, const char *id,
                          const char *env, const char *customer_id,
                          const char *name, const char *props, int64_t now)
{
	return c->ops->event_insert(c, app_id, id, env, customer_id, name,
	                            props, now);
}

int fd_store_event_seen(fd_conn *c, const char *app_id, const char *env,
                        const char *customer_id, const char *name)
{
	return c->ops->event_seen(c, app_id, env, customer_id, name);
}

int fd_store_outbox_insert(fd_conn *c, const char *app_id, const char *id,
                           const char *env, const char *name, int64_t ts,
                           const char *body)
{
	return c->ops->outbox_insert(c, app_id, id, env, name, ts, body);
}

int fd_store_outbox_list(fd_conn *c, const char *app_id, const char *env,
                         const char *name, long limit, long offset,
                         json_t **out)
{
	return c->ops->outbox_list(c, app_id, env, name, limit, offset, out);
}

int fd_store_webhook_insert(fd_conn *c, const char *app_id, const char *id,
                            const char *url, const char *events,
                            const char *env, const char *secret, int64_t now)
{
	return c->ops->webhook_insert(c, app_id, id, url, events, env, secret,
	                              now);
}

int fd_store_webhook_get(fd_conn *c, const char *app_id, const char *id,
                         json_t **out)
{
	return c->ops->webhook_get(c, app_id, id, out);
}

int fd_store_webhook_delete(fd_conn *c, const char *app_id, const char *id,
                            int64_t now)
{
	return c->ops->webhook_delete(c, app_id, id, now);
}

int fd_store_webhook_list(fd_conn *c, const char *app_id, long limit,
                          long offset, json_t **out)
{
	return c->ops->webhook_list(c, app_id, limit, offset, out);
}

int fd_store_webhook_wants(fd_conn *c, const char *app_id, const char *name)
{
	return c->ops->webhook_wants(c, app_id, name);
}

int fd_store_idem_get(fd_conn *c, const char *app_id, const char *key,
                      uint8_t hash[32], int *status, char **body)
{
	return c->ops->idem_get(c, app_id, key, hash, status, body);
}

int fd_store_idem_put(fd_conn *c, const char *app_id, const char *key,
                      const uint8_t hash[32], int status, const char *body,
                      int64_t now)
{
	return c->ops->idem_put(c, app_id, key, hash, status, body, now);
}

int fd_store_idem_purge(fd_conn *c, int64_t before)
{
	return c->ops->idem_purge(c, before);
}

int fd_store_rate_hit(fd_store *s, const char *key_id, int64_t window,
                      long *count)
{
	return s->ops->rate_hit(s, key_id, window, count);
}

/* ---- deliveries ---- */

int fd_store_delivery_fanout(fd_conn *c, int64_t now, long limit, long *n)
{
	return c->ops->delivery_fanout(c, now, limit, n);
}

int fd_store_delivery_claim(fd_conn *c, const char *node, int64_t now,
                            int64_t lease_until, long limit, json_t **out)
{
	return c->ops->delivery_claim(c, node, now, lease_until, limit, out);
}

int fd_store_delivery_complete(fd_conn *c, const fd_store_attempt *a,
                               int64_t now)
{
	return c->ops->delivery_complete(c, a, now);
}

int fd_store_delivery_release(fd_conn *c, const char *node, int64_t now)
{
	return c->ops->delivery_release(c, node, now);
}

int fd_store_delivery_replay(fd_conn *c, const char *app_id,
                             const char *endpoint_id, const char *delivery_id,
                             int64_t now, long *n)
{
	return c->ops->delivery_replay(c, app_id, endpoint_id, delivery_id, now,
	                               n);
}

int fd_store_delivery_list(fd_conn *c, const char *app_id,
                           const char *endpoint_id, const char *state,
                           long limit, long offset, json_t **out)
{
	return c->ops->delivery_list(c, app_id, endpoint_id, state, limit,
	                             offset, out);
}

int fd_store_attempt_list(fd_conn *c, const char *app_id,
                          const char *endpoint_id, const char *delivery_id,
                          long limit, long offset, json_t **out)
{
	return c->ops->attempt_list(c, app_id, endpoint_id, delivery_id, limit,
	                            offset, out);
}

int fd_store_delivery_stats(fd_conn *c, fd_delivery_stats *out)
{
	return c->ops->delivery_stats(c, out);
}

int fd_store_webhook_update(fd_conn *c, const char *app_id, const char *id,
                            const char *url, int events_set, const char *events,
                            int enabled, int64_t now)
{
	return c->ops->webhook_update(c, app_id, id, url, events_set, events,
	                              enabled, now);
}

int fd_store_webhook_rotate(fd_conn *c, const char *app_id, const char *id,
                            const char *secret, int64_t previous_until,
                            int64_t now)
{
	return c->ops->webhook_rotate(c, app_id, id, secret, previous_until,
	                              now);
}
