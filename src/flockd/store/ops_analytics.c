/*
 * Store operations (store.h) of the dashboard's analytics: referral
 * visits counted per day, and the funnel, daily series and top referrers
 * of one environment over a range of days, read from the tables the
 * engine writes anyway (referrals, rewards) and walked on their
 * (app_id, created_at) indexes.
 */
#include <stdio.h>

#include "store/db.h"

#define DAY_MS "86400000"

int fd_store_activity_add(fd_conn *c, const char *app_id, const char *env,
                          const char *name, int64_t day, long n)
{
	FD_SQL(sql, "INSERT INTO activity_daily(app_id, environment, name, day,"
	            " count) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(app_id,"
	            " environment, name, day) DO UPDATE SET count ="
	            " activity_daily.count + excluded.count");

	return fd_db__exec(c, &sql, "sssil", app_id, env, name, day, n);
}

int fd_store_analytics_counts(fd_conn *c, const char *app_id, const char *env,
                              int64_t from, int64_t to, json_t **out)
{
	FD_SQL(sql,
	       "SELECT (SELECT CAST(coalesce(sum(count), 0) AS {i64}) FROM"
	       " activity_daily WHERE app_id = ?1 AND environment = ?2 AND"
	       " name = 'visit' AND day >= ?3 / " DAY_MS " AND day < ?4 / " DAY_MS
	       ") AS visits,"
	       " (SELECT count(*) FROM referrals WHERE app_id = ?1 AND"
	       " created_at >= ?3 AND created_at < ?4 AND environment = ?2)"
	       " AS referrals,"
	       " (SELECT count(*) FROM referrals WHERE app_id = ?1 AND"
	       " created_at >= ?3 AND created_at < ?4 AND environment = ?2 AND"
	       " status = 'flagged') AS flagged,"
	       " (SELECT count(*) FROM referrals WHERE app_id = ?1 AND"
	       " status = 'accepted' AND updated_at >= ?3 AND updated_at < ?4"
	       " AND environment = ?2) AS accepted");

	return fd_db__one(c, out, &sql, "ssii", app_id, env, from, to);
}

/* ?1 now: the status a reward reads as (ops_referrals.c). */
#define STATUS_AT_NOW                                                          \
	"(CASE WHEN status = 'pending' AND available_at <= ?1 THEN"            \
	" 'approved' ELSE status END)"

int fd_store_analytics_rewards(fd_conn *c, const char *app_id, const char *env,
                               int64_t from, int64_t to, int by_day,
                               json_t **out)
{
	/* Terms are copied from a campaign reward at grant time: there are
	 * as many groups as campaign rewards, however many rewards. */
	FD_SQL(total, "SELECT terms AS terms, " STATUS_AT_NOW " AS status,"
	              " count(*) AS count FROM rewards WHERE app_id = ?2 AND"
	              " created_at >= ?4 AND created_at < ?5 AND"
	              " environment = ?3 GROUP BY terms, " STATUS_AT_NOW);
	FD_SQL(daily, "SELECT created_at / " DAY_MS " AS day, terms AS terms,"
	              " " STATUS_AT_NOW " AS status, count(*) AS count FROM"
	              " rewards WHERE app_id = ?2 AND created_at >= ?4 AND"
	              " created_at < ?5 AND environment = ?3 GROUP BY"
	              " created_at / " DAY_MS ", terms, " STATUS_AT_NOW
	              " ORDER BY 1");

	return fd_db__all(c, out, by_day ? &daily : &total, "issii",
	                  fd_db__now(c), app_id, env, from, to);
}

int fd_store_analytics_days(fd_conn *c, const char *app_id, const char *env,
                            int64_t from, int64_t to, json_t **out)
{
	FD_SQL(sql,
	       "SELECT day AS day, 'visits' AS name, count AS count FROM"
	       " activity_daily WHERE app_id = ?1 AND environment = ?2 AND"
	       " name = 'visit' AND day >= ?3 / " DAY_MS " AND day < ?4 / " DAY_MS
	       " UNION ALL SELECT created_at / " DAY_MS ", 'referrals',"
	       " count(*) FROM referrals WHERE app_id = ?1 AND created_at >= ?3"
	       " AND created_at < ?4 AND environment = ?2 GROUP BY created_at / "
	       DAY_MS " UNION ALL SELECT updated_at / " DAY_MS ", 'accepted',"
	       " count(*) FROM referrals WHERE app_id = ?1 AND status ="
	       " 'accepted' AND updated_at >= ?3 AND updated_at < ?4 AND"
	       " environment = ?2 GROUP BY updated_at / " DAY_MS " ORDER BY 1");

	return fd_db__all(c, out, &sql, "ssii", app_id, env, from, to);
}

int fd_store_analytics_referrers(fd_conn *c, const char *app_id,
                                 const char *env, int64_t from, int64_t to,
                                 long limit, json_t **out)
{
	FD_SQL(sql,
	       "SELECT t.referrer_id AS \"customerId\", r.external_id AS"
	       " \"externalUserId\", r.email AS email, r.name AS name,"
	       " r.referral_code AS \"referralCode\", t.n AS referrals,"
	       " t.accepted AS accepted, (SELECT count(*) FROM rewards d WHERE"
	       " d.app_id = ?1 AND d.customer_id = t.referrer_id AND d.party ="
	       " 'referrer' AND d.environment = ?2 AND d.created_at >= ?3 AND"
	       " d.created_at < ?4) AS rewards FROM (SELECT referrer_id,"
	       " count(*) AS n, sum(CASE WHEN status = 'accepted' THEN 1 ELSE 0"
	       " END) AS accepted FROM referrals WHERE app_id = ?1 AND"
	       " created_at >= ?3 AND created_at < ?4 AND environment = ?2"
	       " GROUP BY referrer_id ORDER BY count(*) DESC, referrer_id"
	       "{collate_c} LIMIT ?5) t JOIN customers r ON r.id ="
	       " t.referrer_id ORDER BY t.n DESC, t.referrer_id{collate_c}");

	return fd_db__all(c, out, &sql, "ssiil", app_id, env, from, to, limit);
}
