/*
 * Store operations (store.h): referrals, rewards, checkpoint events and
 * the outbox.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"

/* ---- referrals ------------------------------------------------------- */

#define REFERRAL_COLS                                                          \
	OWNED("f")                                                             \
	" f.campaign_id AS \"campaignId\","                                    \
	" f.referrer_id AS \"referrerId\", f.referee_id AS \"refereeId\","     \
	" f.status AS status, f.suspected_frauds AS \"{suspectedFrauds\","     \
	" f.environment AS environment, " STAMPS " FROM referrals f "

#define REFERRAL_FILTER                                                        \
	"f.app_id = ?1 AND (?2 IS NULL OR f.campaign_id = ?2) AND (?3 IS NULL" \
	" OR f.status = ?3) AND (?4 IS NULL OR f.environment = ?4) AND (?5 IS" \
	" NULL OR f.referrer_id = ?5 OR f.referee_id = ?5)"

int fd_store_referral_insert(fd_conn *c, const char *app_id, const char *id,
                             const char *env, const char *campaign_id,
                             const char *referrer_id, const char *referee_id,
                             const char *status, const char *frauds,
                             int64_t now)
{
	FD_SQL(sql, "INSERT INTO referrals(id, app_id, environment,"
	            " campaign_id, referrer_id, referee_id, status,"
	            " suspected_frauds, created_at, updated_at) VALUES(?1, ?2,"
	            " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "ssssssssi", id, app_id, env, campaign_id,
	                     referrer_id, referee_id, status, frauds, now);
}

int fd_store_referral_update(fd_conn *c, const char *app_id, const char *id,
                             const char *referrer_id, const char *status,
                             const char *frauds, int64_t now)
{
	FD_SQL(sql, "UPDATE referrals SET referrer_id = ?3, status = ?4,"
	            " suspected_frauds = ?5, updated_at = ?6"
	            " WHERE app_id = ?1 AND id = ?2");
	/* A column in SET is an index's change even when its value is not:
	 * without a new referrer, referrals_referrer is left alone. */
	FD_SQL(status_only, "UPDATE referrals SET status = ?3,"
	                    " suspected_frauds = ?4, updated_at = ?5"
	                    " WHERE app_id = ?1 AND id = ?2");

	if (!referrer_id)
		return fd_db__change(c, &status_only, "ssssi", app_id, id,
		                     status, frauds, now);
	return fd_db__change(c, &sql, "sssssi", app_id, id, referrer_id, status,
	                     frauds, now);
}

int fd_store_referral_get(fd_conn *c, const char *app_id, const char *id,
                          json_t **out)
{
	FD_SQL(sql, REFERRAL_COLS "WHERE f.app_id = ?1 AND f.id = ?2");

	return fd_db__one(c, out, &sql, "ss", app_id, id);
}

int fd_store_referral_find(fd_conn *c, const char *app_id,
                           const char *campaign_id, const char *referee_id,
                           json_t **out)
{
	FD_SQL(sql, REFERRAL_COLS "WHERE f.app_id = ?1 AND f.campaign_id = ?2"
	                          " AND f.referee_id = ?3");

	return fd_db__one(c, out, &sql, "sss", app_id, campaign_id, referee_id);
}

/*
 * Where the reads go in one round trip (db.h fd_db__reads), the referral
 * and its referrer are found from the external id in SQL; else each read
 * takes the id the one before it found (cheaper on SQLite).
 */
int fd_store_referee_get(fd_conn *c, const char *app_id, const char *ext,
                         const char *campaign_id, json_t **customer,
                         json_t **referral, json_t **referrer)
{
	FD_SQL(cus, CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.external_id = ?2");
#define REFEREE_ID                                                             \
	"(SELECT x.id FROM customers x WHERE x.app_id = ?1 AND"                \
	" x.external_id = ?3)"
	FD_SQL(ref, REFERRAL_COLS "WHERE f.app_id = ?1 AND f.campaign_id = ?2"
	                          " AND f.referee_id = " REFEREE_ID);
	FD_SQL(rer, CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.id = (SELECT"
	                          " y.referrer_id FROM referrals y WHERE"
	                          " y.app_id = ?1 AND y.campaign_id = ?2 AND"
	                          " y.referee_id = " REFEREE_ID ")");
#undef REFEREE_ID
	fd_db_read r[3] = {
	        {&cus, "ss", {app_id, ext}, customer, 0},
	        {&ref, "sss", {app_id, campaign_id, ext}, referral, 0},
	        {&rer, "sss", {app_id, campaign_id, ext}, referrer, 0}};
	int rc;

	*referral = *referrer = NULL;
	if (campaign_id && fd_db__reads_ahead(c)) {
		rc = fd_db__reads(c, r, 3);
		return rc == FD_OK ? r[0].rc : rc;
	}
	rc = fd_db__reads(c, r, 1);
	if (rc != FD_OK || r[0].rc != FD_OK || !campaign_id)
		return rc == FD_OK ? r[0].rc : rc;
	rc = fd_store_referral_find(
	        c, app_id, campaign_id,
	        json_string_value(json_object_get(*customer, "id")), referral);
	if (rc != FD_OK)
		return rc == FD_NOTFOUND ? FD_OK : rc;
	return fd_store_customer_get(
	        c, app_id, FD_BY_ID,
	        json_string_value(json_object_get(*referral, "referrerId")),
	        referrer);
}

int fd_store_referral_by_referrer(fd_conn *c, const char *app_id,
                                  const char *campaign_id,
                                  const char *referrer_id, long limit,
                                  json_t **out)
{
	FD_SQL(sql, REFERRAL_COLS "WHERE f.app_id = ?1 AND f.campaign_id = ?2"
	                          " AND f.referrer_id = ?3 ORDER BY f.id DESC"
	                          " LIMIT ?4");

	return fd_db__all(c, out, &sql, "sssl", app_id, campaign_id,
	                  referrer_id, limit > 0 ? limit : LONG_MAX);
}

int fd_store_referral_count_since(fd_conn *c, const char *app_id,
                                  const char *referrer_id, int64_t since,
                                  long cap, long *out)
{
	/* Counting stops at the cap: the rules only ask whether a threshold
	 * is reached. */
	FD_SQL(sql, "SELECT count(*) FROM (SELECT 1 FROM referrals WHERE"
	            " app_id = ?1 AND referrer_id = ?2 AND created_at >= ?3"
	            " LIMIT ?4) t");
	char name[128];
	int rc;

	*out = 0;
	/* The velocity rule's count, serialised per referrer across nodes
	 * as the reward limits are. */
	snprintf(name, sizeof(name), "ref%s\n%s", app_id, referrer_id);
	if ((rc = fd_db__lock(c, name)) != FD_OK)
		return rc;
	return fd_db__count(c, out, &sql, "ssil", app_id, referrer_id, since,
	                    cap);
}

int fd_store_referral_list(fd_conn *c, const char *app_id, const fd_filter *f,
                           long limit, long offset, json_t **out)
{
	FD_SQL(page, REFERRAL_COLS "WHERE " REFERRAL_FILTER
	                           " ORDER BY f.id DESC LIMIT ?6 OFFSET ?7");

	return fd_db__page(c, out, &page, limit, offset, "sssss", app_id,
	                   f->campaign_id, f->status, f->environment,
	                   f->customer_id);
}

int fd_store_referral_export(fd_conn *c, const char *app_id, const char *env,
                             const char *after, long limit, json_t **out)
{
	FD_SQL(sql, REFERRAL_COLS "WHERE f.app_id = ?1 AND f.id > ?3 AND (?2"
	                          " IS NULL OR f.environment = ?2) ORDER BY"
	                          " f.id LIMIT ?4");

	return fd_db__all(c, out, &sql, "sssl", app_id, env, after ? after : "",
	                  limit);
}

/* ---- rewards --------------------------------------------------------- */

/* ?1 is now: a pending reward past its hold reads as approved even before
 * the writer promotes it. */
#define REWARD_STATUS                                                          \
	"(CASE WHEN d.status = 'pending' AND d.available_at <= ?1 THEN"        \
	" 'approved' ELSE d.status END)"
#define REWARD_COLS                                                            \
	OWNED("d")                                                             \
	" d.campaign_id AS \"campaignId\","                                    \
	" d.campaign_reward_id AS \"campaignRewardId\","                       \
	" d.referral_id AS \"referralId\", d.customer_id AS \"customerId\","   \
	" d.party AS party, d.terms AS \"*\", " REWARD_STATUS " AS status,"    \
	" d.available_at AS \"@availableAt\", d.environment AS "               \
	"environment, " STAMPS " FROM rewards d "
#define REWARD_FILTER                                                          \
	"d.app_id = ?2 AND (?3 IS NULL OR " REWARD_STATUS " = ?3) AND (?4 IS"  \
	" NULL OR d.environment = ?4) AND (?5 IS NULL OR d.customer_id = ?5)"  \
	" AND (?6 IS NULL OR d.campaign_id = ?6)"

int fd_store_reward_insert(fd_conn *c, const char *app_id,
                           const fd_store_reward *r, int64_t now)
{
	/* A concurrent grant of the same (referral, campaign reward) on
	 * another node: this waits for it, then reports FD_CONFLICT. */
	FD_SQL(sql, "INSERT INTO rewards(id, app_id, environment, campaign_id,"
	            " campaign_reward_id, referral_id, customer_id, party,"
	            " terms, status, available_at, created_at, updated_at)"
	            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	            " ?12, ?12) ON CONFLICT DO NOTHING");

	return fd_db__insert(
	        c, &sql, "ssssssssssii", r->id, app_id, r->env, r->campaign_id,
	        r->campaign_reward_id, r->referral_id, r->customer_id, r->party,
	        r->terms ? r->terms : "{}", r->status, r->available_at, now);
}

int fd_store_reward_get(fd_conn *c, const char *app_id, const char *id,
                        json_t **out)
{
	FD_SQL(sql, REWARD_COLS "WHERE d.app_id = ?2 AND d.id = ?3");

	return fd_db__one(c, out, &sql, "iss", fd_db__now(c), app_id, id);
}

int fd_store_reward_count_since(fd_conn *c, const char *app_id,
                                const char *campaign_reward_id,
                                const char *customer_id, int64_t since,
                                long cap, long *out)
{
	FD_SQL(sql, "SELECT count(*) FROM (SELECT 1 FROM rewards WHERE"
	            " app_id = ?1 AND campaign_reward_id = ?2 AND customer_id ="
	            " ?3 AND created_at >= ?4 AND status NOT IN ('revoked',"
	            " 'rejected') LIMIT ?5) t");
	char name[160];
	int rc;

	*out = 0;
	/* On the writer, the count is followed by the grant it allows: the
	 * (campaign reward, customer) lock is held until the batch ends, and
	 * the count, a statement of its own, sees what committed before. */
	snprintf(name, sizeof(name), "rwd%s\n%s\n%s", app_id,
	         campaign_reward_id, customer_id);
	if ((rc = fd_db__lock(c, name)) != FD_OK)
		return rc;
	return fd_db__count(c, out, &sql, "sssil", app_id, campaign_reward_id,
	                    customer_id, since, cap);
}

int fd_store_reward_transition(fd_conn *c, const char *app_id, const char *id,
                               const char *from, const char *to, int64_t now)
{
	/* ?4 is a comma-separated list of the statuses moved from. */
	FD_SQL(sql, "UPDATE rewards SET status = ?5, updated_at = ?1 WHERE"
	            " app_id = ?2 AND id = ?3 AND ',' || ?4 || ',' LIKE '%,' ||"
	            " (CASE WHEN status = 'pending' AND available_at <= ?1 THEN"
	            " 'approved' ELSE status END) || ',%'");

	return fd_db__change(c, &sql, "issss", now, app_id, id, from, to);
}

int fd_store_reward_list(fd_conn *c, const char *app_id, const fd_filter *f,
                         long limit, long offset, json_t **out)
{
	FD_SQL(page, REWARD_COLS "WHERE " REWARD_FILTER
	                         " ORDER BY d.id DESC LIMIT ?7 OFFSET ?8");

	return fd_db__page(c, out, &page, limit, offset, "isssss",
	                   fd_db__now(c), app_id, f->status, f->environment,
	                   f->customer_id, f->campaign_id);
}

int fd_store_reward_export(fd_conn *c, const char *app_id, const char *env,
                           const char *after, long limit, json_t **out)
{
	FD_SQL(sql, REWARD_COLS "WHERE d.app_id = ?2 AND d.id > ?4 AND (?3 IS"
	                        " NULL OR d.environment = ?3) ORDER BY d.id"
	                        " LIMIT ?5");

	return fd_db__all(c, out, &sql, "isssl", fd_db__now(c), app_id, env,
	                  after ? after : "", limit);
}

int fd_store_reward_due(fd_conn *c, int64_t now, long limit, json_t **out)
{
	/* Each node promotes the rows no other node is promoting: a reward
	 * is approved (and reward.approved emitted) once. */
	FD_SQL(sql, REWARD_COLS "WHERE d.status = 'pending' AND"
	                        " d.available_at <= ?1 ORDER BY d.available_at"
	                        " LIMIT ?2 {skip_locked d}");

	return fd_db__all(c, out, &sql, "il", now, limit);
}

/* ---- checkpoint events and the outbox -------------------------------- */

int fd_store_event_insert(fd_conn *c, const char *app_id, const char *id,
                          const char *env, const char *customer_id,
                          const char *name, const char *props, int64_t now)
{
	FD_SQL(sql, "INSERT INTO checkpoint_events(id, app_id, environment,"
	            " customer_id, name, properties, created_at) VALUES(?1, ?2,"
	            " ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "ssssssi", id, app_id, env, customer_id,
	                     name, props, now);
}

int fd_store_event_seen(fd_conn *c, const char *app_id, const char *env,
                        const char *customer_id, const char *name)
{
	FD_SQL(sql, "SELECT 1 FROM checkpoint_events WHERE customer_id = ?3"
	            " AND name = ?4 AND environment = ?2 AND app_id = ?1"
	            " LIMIT 1");
	int rc = fd_db__count(c, NULL, &sql, "ssss", app_id, env, customer_id,
	                      name);

	return rc == FD_OK ? 1 : rc == FD_NOTFOUND ? 0 : rc;
}

/* An outbox row's values. An event no endpoint receives is stored
 * already fanned out: no fan-out pass reads it, marks it or makes
 * deliveries of it (the test is the fan-out's own, ops_webhooks.c
 * targets_of). An endpoint made later receives the events after it. */
#define OUTBOX_INTO                                                            \
	"INSERT INTO outbox(id, app_id, environment, name, timestamp, body,"   \
	" fanned_at) "
#define OUTBOX_ROW                                                             \
	"?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN EXISTS(SELECT 1 FROM"               \
	" webhook_endpoints h WHERE h.app_id = ?2 AND h.deleted_at IS NULL"    \
	" AND (h.environment IS NULL OR h.environment = ?3) AND"               \
	" ((h.events IS NULL AND ?4 <> 'checkpoint.ingested') OR"              \
	" EXISTS(SELECT 1 FROM {each h.events} WHERE j.value = ?4 OR"          \
	" (j.value = '*' AND ?4 <> 'checkpoint.ingested'))))"                  \
	" THEN NULL ELSE ?5 END"

int fd_store_outbox_insert(fd_conn *c, const char *app_id, const char *id,
                           const char *env, const char *name, int64_t ts,
                           const char *body, int named)
{
	FD_SQL(sql,
	       OUTBOX_INTO "VALUES(" OUTBOX_ROW ") ON CONFLICT DO NOTHING");
	/* Nothing is stored when no endpoint names the event: one statement,
	 * not a read before it (the row may be sent without waiting). */
	FD_SQL(named_sql,
	       OUTBOX_INTO "SELECT " OUTBOX_ROW " WHERE EXISTS(SELECT 1 FROM"
	                   " webhook_endpoints h, {each h.events} WHERE"
	                   " h.app_id = ?2 AND h.deleted_at IS NULL AND"
	                   " j.value = ?4) ON CONFLICT DO NOTHING");

	if (named)
		return fd_db__exec(c, &named_sql, "ssssis", id, app_id, env,
		                   name, ts, body);
	return fd_db__insert(c, &sql, "ssssis", id, app_id, env, name, ts,
	                     body);
}

int fd_store_outbox_list(fd_conn *c, const char *app_id, const fd_filter *f,
                         long limit, long offset, json_t **out)
{
	FD_SQL(page, "SELECT o.body AS \"*\" FROM outbox o WHERE"
	             " o.app_id = ?1 AND (?2 IS NULL OR o.environment = ?2) AND"
	             " (?3 IS NULL OR o.name = ?3) ORDER BY o.seq DESC"
	             " LIMIT ?4 OFFSET ?5");

	return fd_db__page(c, out, &page, limit, offset, "sss", app_id,
	                   f->environment, f->name);
}

/* ---- the event stream (engine/stream.c) ------------------------------ */

int fd_store_outbox_seq(fd_conn *c, const char *app_id, const char *id,
                        long *seq)
{
	FD_SQL(sql, "SELECT seq FROM outbox WHERE id = ?2 AND app_id = ?1");

	return fd_db__count(c, seq, &sql, "ss", app_id, id);
}

int fd_store_outbox_last(fd_conn *c, const char *app_id, long *seq)
{
	FD_SQL(sql, "SELECT coalesce(max(seq), 0) FROM outbox WHERE app_id ="
	            " ?1");

	return fd_db__count(c, seq, &sql, "s", app_id);
}

int fd_store_outbox_after(fd_conn *c, const char *app_id, long after,
                          const char *env, int64_t upto, long limit,
                          json_t **out)
{
	FD_SQL(sql, "SELECT seq AS seq, id AS id, name AS name, environment AS"
	            " environment, body AS body FROM outbox WHERE app_id = ?1"
	            " AND seq > ?2 AND (?3 IS NULL OR environment = ?3) AND"
	            " timestamp <= ?4 ORDER BY seq LIMIT ?5");

	return fd_db__all(c, out, &sql, "slsil", app_id, after, env, upto,
	                  limit);
}
