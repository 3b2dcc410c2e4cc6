/*
 * Store operations (store.h): webhook endpoints and their deliveries.
 *
 * Several nodes may share a database: fan-out and claims select rows with
 * {skip_locked} (PostgreSQL: FOR UPDATE ... SKIP LOCKED), so two nodes
 * never fan out one event or hold one delivery at once, and a node only
 * completes a delivery whose lease it still holds.
 */
#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "store/db.h"

/* ---- endpoints ------------------------------------------------------- */

#define WEBHOOK_COLS                                                           \
	OWNED("h")                                                             \
	" h.url AS url, h.events AS"                                           \
	" \"{events\", h.environment AS environment, h.enabled AS"             \
	" \"?enabled\", h.disabled_reason AS \"disabledReason\","              \
	" h.previous_until AS \"@previousSecretExpiresAt\", " STAMPS           \
	" FROM webhook_endpoints h "

int fd_store_webhook_insert(fd_conn *c, const char *app_id, const char *id,
                            const char *url, const char *events,
                            const char *env, const char *secret, int64_t now)
{
	FD_SQL(sql, "INSERT INTO webhook_endpoints(id, app_id, url, events,"
	            " environment, secret, created_at, updated_at) VALUES(?1,"
	            " ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "ssssssi", id, app_id, url, events, env,
	                     secret, now);
}

int fd_store_webhook_get(fd_conn *c, const char *app_id, const char *id,
                         json_t **out)
{
	FD_SQL(sql, WEBHOOK_COLS "WHERE h.app_id = ?1 AND h.id = ?2");

	return fd_db__one(c, out, &sql, "ss", app_id, id);
}

int fd_store_webhook_delete(fd_conn *c, const char *app_id, const char *id,
                            int64_t now)
{
	FD_SQL(sql, "UPDATE webhook_endpoints SET deleted_at = ?3, updated_at ="
	            " ?3 WHERE app_id = ?1 AND id = ?2 AND deleted_at IS NULL");

	return fd_db__change(c, &sql, "ssi", app_id, id, now);
}

int fd_store_webhook_list(fd_conn *c, const char *app_id, const fd_filter *f,
                          long limit, long offset, json_t **out)
{
	FD_SQL(page,
	       WEBHOOK_COLS "WHERE h.app_id = ?1 AND h.deleted_at IS NULL"
	                    " AND (?2 IS NULL OR coalesce(h.environment,"
	                    " '') = ?2) ORDER BY h.id LIMIT ?3 OFFSET ?4");

	return fd_db__page(c, out, &page, limit, offset, "ss", app_id,
	                   f->environment);
}

int fd_store_webhook_wants(fd_conn *c, const char *app_id, const char *name)
{
	FD_SQL(sql, "SELECT 1 FROM webhook_endpoints h, {each h.events} WHERE"
	            " h.app_id = ?1 AND h.deleted_at IS NULL AND j.value = ?2"
	            " LIMIT 1");
	int rc;

	/* A read would cost a round trip: the named insert decides. */
	if (fd_db__reads_ahead(c))
		return 1;
	rc = fd_db__count(c, NULL, &sql, "ss", app_id, name);
	return rc == FD_OK ? 1 : rc == FD_NOTFOUND ? 0 : rc;
}

int fd_store_webhook_update(fd_conn *c, const char *app_id, const char *id,
                            const char *url, int events_set, const char *events,
                            int enabled, int64_t now)
{
	FD_SQL(sql, "UPDATE webhook_endpoints SET url = coalesce(?3, url),"
	            " events = CASE WHEN ?4 <> 0 THEN ?5 ELSE events END,"
	            " enabled = CASE WHEN ?6 < 0 THEN enabled ELSE ?6 END,"
	            " disabled_reason = CASE WHEN ?6 < 0 THEN disabled_reason"
	            " WHEN ?6 = 0 THEN 'operator' END, updated_at = ?7 WHERE"
	            " app_id = ?1 AND id = ?2 AND deleted_at IS NULL");

	return fd_db__change(c, &sql, "sssisii", app_id, id, url,
	                     (int64_t)events_set, events, (int64_t)enabled,
	                     now);
}

int fd_store_webhook_rotate(fd_conn *c, const char *app_id, const char *id,
                            const char *secret, int64_t previous_until,
                            int64_t now)
{
	FD_SQL(sql, "UPDATE webhook_endpoints SET previous_secret = secret,"
	            " previous_until = ?4, secret = ?3, updated_at = ?5 WHERE"
	            " app_id = ?1 AND id = ?2 AND deleted_at IS NULL");

	return fd_db__change(c, &sql, "sssii", app_id, id, secret,
	                     previous_until, now);
}

/* ---- fan-out --------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t jint(const json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

/* The endpoints receiving (app, env, name), looked up once per fan-out
 * call: a batch holds many events of few kinds. Borrowed reference. */
static json_t *targets_of(fd_conn *c, json_t *cache, const json_t *ev)
{
	FD_SQL(sql, "SELECT h.id AS id FROM webhook_endpoints h WHERE"
	            " h.app_id = ?1 AND h.deleted_at IS NULL AND"
	            " (h.environment IS NULL OR h.environment = ?2) AND"
	            " ((h.events IS NULL AND ?3 <> 'checkpoint.ingested') OR"
	            " EXISTS(SELECT 1 FROM {each h.events} WHERE j.value = ?3"
	            " OR (j.value = '*' AND ?3 <> 'checkpoint.ingested')))");
	char key[256];
	json_t *t;

	snprintf(key, sizeof(key), "%s\n%s\n%s", jstr(ev, "app"),
	         jstr(ev, "env"), jstr(ev, "name"));
	if ((t = json_object_get(cache, key)))
		return t;
	if (fd_db__all(c, &t, &sql, "sss", jstr(ev, "app"), jstr(ev, "env"),
	               jstr(ev, "name")) != FD_OK ||
	    json_object_set_new(cache, key, t) < 0)
		return NULL;
	return t;
}

/* One delivery per receiving endpoint of one outbox event. */
static int fan_event(fd_conn *c, json_t *cache, const json_t *ev, int64_t now)
{
	FD_SQL(sql, "INSERT INTO deliveries(id, app_id, endpoint_id, event_seq,"
	            " event_id, event_name, environment, event_ts, state,"
	            " attempts, next_attempt_at, created_at, updated_at)"
	            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9,"
	            " ?9, ?9) ON CONFLICT DO NOTHING");
	json_t *targets = targets_of(c, cache, ev), *t;
	char id[FLOCK__ID_MAX];
	size_t i;
	int rc = targets ? FD_OK : FD_ERR;

	json_array_foreach(targets, i, t)
	{
		if (rc != FD_OK)
			break;
		if (flock__id_new(id, "dlv_") < 0)
			return FD_ERR;
		rc = fd_db__exec(c, &sql, "sssisssii", id, jstr(ev, "app"),
		                 jstr(t, "id"), jint(ev, "seq"), jstr(ev, "id"),
		                 jstr(ev, "name"), jstr(ev, "env"),
		                 jint(ev, "ts"), now);
	}
	return rc;
}

int fd_store_delivery_fanout(fd_conn *c, int64_t now, long limit, long *n)
{
	FD_SQL(unfanned, "SELECT seq, id, app_id AS app, environment AS env,"
	                 " name, timestamp AS ts FROM outbox WHERE fanned_at IS"
	                 " NULL ORDER BY seq LIMIT ?1 {skip_locked outbox}");
	/* One writer: every event up to the batch's last is in the batch.
	 * Several: rows between may be another node's, marked by it. */
	FD_SQL(upto, "UPDATE outbox SET fanned_at = ?2 WHERE seq <= ?1 AND"
	             " fanned_at IS NULL");
	FD_SQL(one, "UPDATE outbox SET fanned_at = ?2 WHERE seq = ?1");
	json_t *events = NULL, *ev, *cache = json_object();
	size_t i, count;
	int rc = cache ? fd_db__all(c, &events, &unfanned, "l", limit) : FD_ERR;

	*n = 0;
	json_array_foreach(events, i, ev)
	{
		if (rc == FD_OK)
			rc = fan_event(c, cache, ev, now);
		if (rc == FD_OK && c->s->drv->shared)
			rc = fd_db__exec(c, &one, "ii", jint(ev, "seq"), now);
	}
	count = json_array_size(events);
	if (rc == FD_OK && count > 0 && !c->s->drv->shared)
		rc = fd_db__exec(c, &upto, "ii",
		                 jint(json_array_get(events, count - 1), "seq"),
		                 now);
	if (rc == FD_OK)
		*n = (long)count;
	json_decref(cache);
	json_decref(events);
	return rc;
}

/* ---- claims and attempts --------------------------------------------- */

/* A delivery as the worker claims it; ?1 is now. */
#define DUE_COLS                                                               \
	"SELECT d.id AS id, d.app_id AS \"applicationId\", d.endpoint_id AS"   \
	" \"endpointId\", d.event_id AS \"eventId\", d.event_name AS"          \
	" \"eventName\", d.attempts + 1 AS attempt, h.url AS url, h.secret AS" \
	" secret, CASE WHEN h.previous_until > ?1 THEN h.previous_secret END"  \
	" AS \"previousSecret\", o.body AS body FROM deliveries d JOIN"        \
	" webhook_endpoints h ON h.id = d.endpoint_id JOIN outbox o ON"        \
	" o.seq = d.event_seq "

/* Lease every delivery of due (an array) to node. */
static int lease_all(fd_conn *c, json_t *due, const char *node, int64_t now,
                     int64_t lease_until)
{
	FD_SQL(sql, "UPDATE deliveries SET state = 'inflight', lease_owner ="
	            " ?2, lease_until = ?3, updated_at = ?4 WHERE id = ?1");
	json_t *d;
	size_t i;
	int rc = FD_OK;

	json_array_foreach(due, i, d)
	{
		if (rc == FD_OK)
			rc = fd_db__exec(c, &sql, "ssii", jstr(d, "id"), node,
			                 lease_until, now);
		if (json_is_null(json_object_get(d, "previousSecret")))
			json_object_del(d, "previousSecret");
	}
	return rc;
}

int fd_store_delivery_claim(fd_conn *c, const char *node, int64_t now,
                            int64_t lease_until, long limit, json_t **out)
{
	/* Two statements, not one with OR: each walks deliveries_state in
	 * order and stops at the limit, without sorting a backlog. Expired
	 * leases first: they are the oldest work. */
	FD_SQL(expired, DUE_COLS "WHERE d.state = 'inflight' AND"
	                         " d.lease_until <= ?1 AND h.enabled = 1 AND"
	                         " h.deleted_at IS NULL LIMIT ?2"
	                         " {skip_locked d}");
	FD_SQL(due, DUE_COLS "WHERE d.state = 'pending' AND d.next_attempt_at"
	                     " <= ?1 AND h.enabled = 1 AND h.deleted_at IS NULL"
	                     " ORDER BY d.next_attempt_at LIMIT ?2"
	                     " {skip_locked d}");
	json_t *more = NULL;
	long left;
	int rc = fd_db__all(c, out, &expired, "il", now, limit);

	left = rc == FD_OK ? limit - (long)json_array_size(*out) : 0;
	if (left > 0 &&
	    (rc = fd_db__all(c, &more, &due, "il", now, left)) == FD_OK &&
	    json_array_extend(*out, more) < 0)
		rc = FD_ERR;
	json_decref(more);
	if (rc == FD_OK)
		rc = lease_all(c, *out, node, now, lease_until);
	if (rc != FD_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

static const char *const outcome_state[] = {
        [FD_DELIVERY_DELIVERED] = "delivered",
        [FD_DELIVERY_RETRY] = "pending",
        [FD_DELIVERY_DEAD] = "dead",
};

int fd_store_delivery_complete(fd_conn *c, const fd_store_attempt *a,
                               int64_t now)
{
	FD_SQL(done,
	       "UPDATE deliveries SET state = ?3, attempts = attempts +"
	       " 1, next_attempt_at = ?4, lease_owner = NULL, lease_until"
	       " = NULL, last_status = ?5, last_error = ?6, delivered_at ="
	       " CASE WHEN ?3 = 'delivered' THEN ?7 ELSE delivered_at END,"
	       " updated_at = ?7 WHERE id = ?1 AND state = 'inflight' AND"
	       " lease_owner = ?2");
	FD_SQL(log, "INSERT INTO delivery_attempts(delivery_id, app_id,"
	            " endpoint_id, event_id, attempt, at, status, latency_ms,"
	            " excerpt, error) SELECT id, app_id, endpoint_id, event_id,"
	            " attempts, ?2, ?3, ?4, ?5, ?6 FROM deliveries WHERE id ="
	            " ?1");
	FD_SQL(gone, "UPDATE webhook_endpoints SET enabled = 0, disabled_reason"
	             " = 'gone', updated_at = ?2 WHERE id = (SELECT endpoint_id"
	             " FROM deliveries WHERE id = ?1)");
	int rc;

	if (a->outcome < FD_DELIVERY_DELIVERED || a->outcome > FD_DELIVERY_DEAD)
		return FD_ERR;
	rc = fd_db__change(c, &done, "ssszzsi", a->delivery_id, a->node,
	                   outcome_state[a->outcome],
	                   a->outcome == FD_DELIVERY_RETRY ? a->next_attempt_at
	                                                   : (int64_t)0,
	                   (int64_t)a->status, a->error, now);
	if (rc == FD_OK)
		rc = fd_db__exec(c, &log, "siziss", a->delivery_id, a->at,
		                 (int64_t)a->status, (int64_t)a->latency_ms,
		                 a->excerpt, a->error);
	if (rc == FD_OK && a->disable_endpoint)
		rc = fd_db__exec(c, &gone, "si", a->delivery_id, now);
	return rc;
}

int fd_store_delivery_release(fd_conn *c, const char *node, int64_t now)
{
	FD_SQL(sql, "UPDATE deliveries SET state = 'pending', lease_owner ="
	            " NULL, lease_until = NULL, updated_at = ?2 WHERE state ="
	            " 'inflight' AND lease_owner = ?1");

	return fd_db__exec(c, &sql, "si", node, now);
}

int fd_store_delivery_replay(fd_conn *c, const char *app_id,
                             const char *endpoint_id, const char *delivery_id,
                             int64_t now, long *n)
{
	FD_SQL(dead, "UPDATE deliveries SET state = 'pending', attempts = 0,"
	             " next_attempt_at = ?3, updated_at = ?3 WHERE state ="
	             " 'dead' AND endpoint_id = ?1 AND app_id = ?2");
	FD_SQL(state, "SELECT state FROM deliveries WHERE id = ?1 AND"
	              " endpoint_id = ?2 AND app_id = ?3");
	FD_SQL(one,
	       "UPDATE deliveries SET state = 'pending', attempts = 0,"
	       " next_attempt_at = ?4, updated_at = ?4 WHERE id = ?1 AND"
	       " endpoint_id = ?2 AND app_id = ?3 AND state <> 'inflight'");
	json_t *row = NULL;
	int rc;

	*n = 0;
	if (!delivery_id)
		return fd_db__changes(c, n, &dead, "ssi", endpoint_id, app_id,
		                      now);
	rc = fd_db__one(c, &row, &state, "sss", delivery_id, endpoint_id,
	                app_id);
	if (rc == FD_OK && strcmp(jstr(row, "state"), "inflight") == 0)
		rc = FD_CONFLICT;
	json_decref(row);
	if (rc != FD_OK)
		return rc;
	rc = fd_db__change(c, &one, "sssi", delivery_id, endpoint_id, app_id,
	                   now);
	*n = rc == FD_OK;
	return rc;
}

/* A delivery's state as shown: pending with attempts behind it is
 * retrying. */
#define SHOWN_STATE                                                            \
	"(CASE WHEN d.state = 'pending' AND d.attempts > 0 THEN 'retrying'"    \
	" ELSE d.state END)"

int fd_store_delivery_list(fd_conn *c, const char *app_id,
                           const char *endpoint_id, const char *state,
                           long limit, long offset, json_t **out)
{
	FD_SQL(page,
	       "SELECT d.id AS id, d.endpoint_id AS \"endpointId\","
	       " d.event_id AS \"eventId\", d.event_name AS \"eventName\","
	       " d.environment AS environment, " SHOWN_STATE " AS state,"
	       " d.attempts AS attempts, CASE WHEN d.state = 'pending' THEN"
	       " d.next_attempt_at END AS \"@nextAttemptAt\","
	       " d.last_status AS \"lastStatus\", d.last_error AS"
	       " \"lastError\", d.created_at AS \"@createdAt\","
	       " d.updated_at AS \"@updatedAt\", d.delivered_at AS"
	       " \"@deliveredAt\" FROM deliveries d WHERE d.app_id = ?1 AND"
	       " d.endpoint_id = ?2 AND (?3 IS NULL OR " SHOWN_STATE
	       " = ?3) ORDER BY d.created_at DESC, d.id DESC LIMIT ?4"
	       " OFFSET ?5");

	return fd_db__page(c, out, &page, limit, offset, "sss", app_id,
	                   endpoint_id, state);
}

int fd_store_attempt_list(fd_conn *c, const char *app_id,
                          const char *endpoint_id, const char *delivery_id,
                          long limit, long offset, json_t **out)
{
	FD_SQL(page,
	       "SELECT a.delivery_id AS \"deliveryId\", a.event_id AS"
	       " \"eventId\", a.attempt AS attempt, a.at AS \"@at\","
	       " a.status AS status, a.latency_ms AS \"latencyMs\","
	       " a.excerpt AS \"responseExcerpt\", a.error AS error FROM"
	       " delivery_attempts a WHERE a.app_id = ?1 AND"
	       " a.endpoint_id = ?2 AND (?3 IS NULL OR a.delivery_id = ?3)"
	       " ORDER BY a.id DESC LIMIT ?4 OFFSET ?5");

	return fd_db__page(c, out, &page, limit, offset, "sss", app_id,
	                   endpoint_id, delivery_id);
}

int fd_store_delivery_stats(fd_conn *c, fd_delivery_stats *out)
{
	FD_SQL(sql,
	       "SELECT"
	       " coalesce(sum(CASE WHEN state = 'pending' AND attempts = 0"
	       " THEN 1 ELSE 0 END), 0) AS pending,"
	       " coalesce(sum(CASE WHEN state = 'pending' AND attempts > 0"
	       " THEN 1 ELSE 0 END), 0) AS retrying,"
	       " coalesce(sum(CASE WHEN state = 'inflight' THEN 1 ELSE 0"
	       " END), 0) AS inflight,"
	       " coalesce(sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END),"
	       " 0) AS dead,"
	       " coalesce(min(CASE WHEN state <> 'dead' THEN event_ts END),"
	       " 0) AS oldest,"
	       " (SELECT count(*) FROM outbox WHERE fanned_at IS NULL) AS"
	       " unfanned, (SELECT coalesce(min(timestamp), 0) FROM outbox"
	       " WHERE fanned_at IS NULL) AS unfanned_oldest"
	       " FROM deliveries WHERE state IN ('pending', 'inflight',"
	       " 'dead') AND endpoint_id IN (SELECT id FROM"
	       " webhook_endpoints WHERE enabled = 1 AND deleted_at IS"
	       " NULL)");
	json_t *row = NULL;
	int64_t oldest;
	int rc = fd_db__one(c, &row, &sql, "");

	memset(out, 0, sizeof(*out));
	if (rc == FD_OK) {
		out->pending = (long)jint(row, "pending");
		out->retrying = (long)jint(row, "retrying");
		out->inflight = (long)jint(row, "inflight");
		out->dead = (long)jint(row, "dead");
		out->unfanned = (long)jint(row, "unfanned");
		out->oldest_ms = jint(row, "oldest");
		oldest = jint(row, "unfanned_oldest");
		if (oldest && (!out->oldest_ms || oldest < out->oldest_ms))
			out->oldest_ms = oldest;
	}
	json_decref(row);
	return rc == FD_NOTFOUND ? FD_ERR : rc;
}
