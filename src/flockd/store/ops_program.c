/*
 * Store operations (store.h) of a referral program: customers, campaigns
 * with their rewards and checkpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

/* ---- customers ------------------------------------------------------- */

int fd_store_customer_get(fd_conn *c, const char *app_id, fd_lookup by,
                          const char *key, json_t **out)
{
	FD_SQL(by_id, CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.id = ?2");
	FD_SQL(by_ext, CUSTOMER_COLS "WHERE c.app_id = ?1 AND"
	                             " c.external_id = ?2");
	FD_SQL(by_code, CUSTOMER_COLS "WHERE c.app_id = ?1 AND"
	                              " c.referral_code = ?2 AND"
	                              " c.deleted_at IS NULL");
	fd_sql *sql = by == FD_BY_ID         ? &by_id
	              : by == FD_BY_EXTERNAL ? &by_ext
	                                     : &by_code;

	*out = NULL;
	if (!key)
		return FD_NOTFOUND;
	return fd_db__one(c, out, sql, "ss", app_id, key);
}

int fd_store_customer_insert(fd_conn *c, const char *app_id, const char *id,
                             const char *external_id, const char *email,
                             const char *name, const char *code,
                             const char *props, int64_t now)
{
	FD_SQL(sql, "INSERT INTO customers(id, app_id, external_id, email,"
	            " name, referral_code, custom_properties, created_at,"
	            " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
	            " coalesce(?7, '{}'), ?8, ?8) ON CONFLICT DO NOTHING");
	FD_SQL(taken, "SELECT 1 FROM customers WHERE app_id = ?1 AND"
	              " external_id = ?2");
	int rc = fd_db__insert(c, &sql, "sssssssi", id, app_id, external_id,
	                       email, name, code, props, now);

	if (rc != FD_CONFLICT)
		return rc;
	/* The engine looked the external id up before inserting: if it is
	 * taken now, another node created the customer meanwhile. Else the
	 * referral code is taken: the engine tries another. */
	rc = fd_db__count(c, NULL, &taken, "ss", app_id, external_id);
	if (rc == FD_OK) {
		c->retry = 1;
		return FD_RETRY;
	}
	return rc == FD_NOTFOUND ? FD_CONFLICT : rc;
}

int fd_store_customer_update(fd_conn *c, const char *app_id, const char *id,
                             const char *email, const char *name,
                             const char *props, int64_t now)
{
	FD_SQL(sql, "UPDATE customers SET email = coalesce(?3, email),"
	            " name = coalesce(?4, name), custom_properties ="
	            " coalesce(?5, custom_properties), updated_at = ?6"
	            " WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "sssssi", app_id, id, email, name, props,
	                     now);
}

int fd_store_customer_set_referred(fd_conn *c, const char *app_id,
                                   const char *id, const char *referrer_id,
                                   const char *referral_id,
                                   const char *campaign_id, int64_t now)
{
	FD_SQL(sql, "UPDATE customers SET referred_by_id = ?3,"
	            " referred_by_referral_id = ?4, referred_in_campaign_id ="
	            " ?5, updated_at = ?6 WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "sssssi", app_id, id, referrer_id,
	                     referral_id, campaign_id, now);
}

int fd_store_customer_count(fd_conn *c, const char *app_id, const char *id,
                            int visited, int converted, int64_t now)
{
	FD_SQL(sql, "UPDATE customers SET visited = visited + ?3,"
	            " converted = converted + ?4, updated_at = ?5"
	            " WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "ssiii", app_id, id, (int64_t)visited,
	                     (int64_t)converted, now);
}

int fd_store_customer_erase(fd_conn *c, const char *app_id, const char *id,
                            int64_t now)
{
	FD_SQL(sql, "UPDATE customers SET email = NULL, name = NULL,"
	            " custom_properties = '{}', deleted_at = ?3,"
	            " updated_at = ?3 WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "ssi", app_id, id, now);
}

/* The ids of one kind of match: a range of byte order over an index of
 * schema step 5, at most FD_SEARCH_CAP ("1000") of them. */
#define SEARCH_RANGE(col, lo, hi)                                              \
	"SELECT id FROM (SELECT id FROM customers WHERE app_id = ?1 AND " col   \
	"{collate_c} >= " lo " AND " col "{collate_c} < " hi " LIMIT 1000) "
#define SEARCH_IDS                                                             \
	"SELECT id FROM customers WHERE app_id = ?1 AND id = ?2 UNION "        \
	SEARCH_RANGE("external_id", "?2", "?3") "a UNION "                     \
	SEARCH_RANGE("referral_code", "?4", "?5") "b UNION "                   \
	SEARCH_RANGE("lower(email)", "?6", "?7") "e"

/* q with the largest code point after it: every string that begins with
 * q sorts (bytewise) from q to there. NULL: out of memory. */
static char *prefix_end(const char *q)
{
	size_t n = strlen(q);
	char *hi = malloc(n + 5);

	if (hi) {
		memcpy(hi, q, n);
		memcpy(hi + n, "\xf4\x8f\xbf\xbf", 5);
	}
	return hi;
}

/* A copy of q in ASCII upper (upper != 0) or lower case. */
static char *ascii_case(const char *q, int upper)
{
	char *s = strdup(q), *p;

	for (p = s; p && *p; p++)
		if (upper && *p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (!upper && *p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* The dashboard's search, q not empty. */
static int customer_search(fd_conn *c, const char *app_id, const char *env,
                           const char *q, long limit, long offset, json_t **out)
{
	/* Only the ids' own filter by app: with c.app_id here too, SQLite
	 * would rather walk the app's customers than look the ids up. */
	FD_SQL(page, CUSTOMER_COLS "WHERE c.id IN (" SEARCH_IDS ") AND (?8 IS"
	                           " NULL OR c.environment = ?8)"
	                           " ORDER BY c.id DESC LIMIT ?9 OFFSET ?10");
	char *hi = prefix_end(q), *code = ascii_case(q, 1),
	     *mail = ascii_case(q, 0), *code_hi = NULL, *mail_hi = NULL;
	int rc = FD_ERR;

	*out = NULL;
	if (hi && code && mail && (code_hi = prefix_end(code)) &&
	    (mail_hi = prefix_end(mail)))
		rc = fd_db__page(c, out, &page, limit, offset, "ssssssss",
		                 app_id, q, hi, code, code_hi, mail, mail_hi,
		                 env);
	free(hi);
	free(code);
	free(mail);
	free(code_hi);
	free(mail_hi);
	return rc;
}

int fd_store_customer_list(fd_conn *c, const char *app_id, const fd_filter *f,
                           long limit, long offset, json_t **out)
{
	FD_SQL(page, CUSTOMER_COLS "WHERE c.app_id = ?1 ORDER BY c.id DESC"
	                           " LIMIT ?2 OFFSET ?3");
	FD_SQL(page_env, CUSTOMER_COLS "WHERE c.app_id = ?1 AND"
	                               " c.environment = ?2 ORDER BY c.id"
	                               " DESC LIMIT ?3 OFFSET ?4");

	if (f->q && *f->q)
		return customer_search(c, app_id, f->environment, f->q, limit,
		                       offset, out);
	if (f->environment)
		return fd_db__page(c, out, &page_env, limit, offset, "ss",
		                   app_id, f->environment);
	return fd_db__page(c, out, &page, limit, offset, "s", app_id);
}

int fd_store_customer_export(fd_conn *c, const char *app_id, const char *env,
                             const char *after, long limit, json_t **out)
{
	FD_SQL(sql, CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.id > ?2 AND (?4"
	                          " IS NULL OR c.environment = ?4) ORDER BY"
	                          " c.id LIMIT ?3");

	return fd_db__all(c, out, &sql, "ssls", app_id, after ? after : "",
	                  limit, env);
}

/* ---- campaigns ------------------------------------------------------- */

int fd_store_campaign_insert(fd_conn *c, const char *app_id,
                             const fd_store_campaign *k, int64_t now)
{
	FD_SQL(sql, "INSERT INTO campaigns(id, app_id, environment, name,"
	            " reward_hold_days, starts_at, ends_at, extra, created_at,"
	            " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	            " ?9) ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "ssssizzsi", k->id, app_id,
	                     k->environment, k->name, (int64_t)k->hold_days,
	                     k->starts_at, k->ends_at,
	                     k->extra ? k->extra : "{}", now);
}

int fd_store_campaign_update(fd_conn *c, const char *app_id,
                             const fd_store_campaign *k, int64_t now)
{
	FD_SQL(sql, "UPDATE campaigns SET name = ?3, reward_hold_days = ?4,"
	            " starts_at = ?5, ends_at = ?6, extra = ?7, updated_at = ?8"
	            " WHERE app_id = ?2 AND id = ?1");

	return fd_db__change(c, &sql, "sssizzsi", k->id, app_id, k->name,
	                     (int64_t)k->hold_days, k->starts_at, k->ends_at,
	                     k->extra ? k->extra : "{}", now);
}

#define CAMPAIGN_COLS                                                          \
	OWNED("k")                                                             \
	" k.name AS name,"                                                     \
	" k.environment AS environment, k.is_live AS \"?isLive\","             \
	" k.extra AS \"*\", k.last_ping_at AS \"@lastPingAt\","                \
	" k.last_ping_origin AS \"lastPingOrigin\","                           \
	" k.starts_at AS \"@startsAt\", k.ends_at AS \"@endsAt\","             \
	" k.reward_hold_days AS \"rewardHoldDays\", " STAMPS                   \
	" FROM campaigns k "

#define CREWARD_COLS                                                           \
	OWNED("w")                                                             \
	" w.campaign_id AS \"campaignId\", w.terms AS \"*\","                  \
	" w.party AS party,"                                                   \
	" w.lim AS \"limit\", w.limit_unit AS \"limitUnit\","                  \
	" w.limit_interval AS \"limitInterval\", " STAMPS                      \
	" FROM campaign_rewards w "

/* Attach rewards[] to the campaign object k (borrowed). */
static int with_rewards(fd_conn *c, json_t *k)
{
	FD_SQL(sql, CREWARD_COLS "WHERE w.campaign_id = ?1 AND w.deleted_at IS"
	                         " NULL ORDER BY w.id");
	json_t *rw = NULL;
	int rc = fd_db__all(c, &rw, &sql, "s",
	                    json_string_value(json_object_get(k, "id")));

	if (rc == FD_OK && json_object_set_new(k, "rewards", rw))
		rc = FD_ERR;
	return rc;
}

/* A campaign found by sql with its rewards[]. */
static int campaign_one(fd_conn *c, fd_sql *sql, const char *app_id,
                        const char *key, json_t **out)
{
	int rc = fd_db__one(c, out, sql, "ss", app_id, key);

	if (rc == FD_OK && (rc = with_rewards(c, *out)) != FD_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int fd_store_campaign_get(fd_conn *c, const char *app_id, const char *id,
                          json_t **out)
{
	FD_SQL(sql, CAMPAIGN_COLS "WHERE k.app_id = ?1 AND k.id = ?2 AND"
	                          " k.deleted_at IS NULL");

	*out = NULL;
	if (!id)
		return FD_NOTFOUND;
	return campaign_one(c, &sql, app_id, id, out);
}

int fd_store_campaign_live(fd_conn *c, const char *app_id, const char *env,
                           json_t **out)
{
	FD_SQL(sql, CAMPAIGN_COLS "WHERE k.app_id = ?1 AND k.environment = ?2"
	                          " AND k.is_live = 1");

	return campaign_one(c, &sql, app_id, env, out);
}

int fd_store_campaign_list(fd_conn *c, const char *app_id, const char *env,
                           json_t **out)
{
	FD_SQL(sql, CAMPAIGN_COLS "WHERE k.app_id = ?1 AND (?2 IS NULL OR"
	                          " k.environment = ?2) AND k.deleted_at IS"
	                          " NULL ORDER BY k.id");
	json_t *k;
	size_t i;
	int rc = fd_db__all(c, out, &sql, "ss", app_id, env);

	json_array_foreach(*out, i, k)
	{
		if (rc == FD_OK)
			rc = with_rewards(c, k);
	}
	if (rc != FD_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int fd_store_campaigns_version(fd_conn *c, int64_t *out)
{
	FD_SQL(sql, "SELECT v FROM flockd_meta WHERE k = 'campaigns'");
	long v = 0;
	int rc = fd_db__count(c, &v, &sql, "");

	*out = v;
	return rc == FD_NOTFOUND ? FD_OK : rc;
}

int fd_store_campaign_set_live(fd_conn *c, const char *app_id, const char *id,
                               int live, int64_t now)
{
	FD_SQL(others, "UPDATE campaigns SET is_live = 0, updated_at = ?3"
	               " WHERE app_id = ?1 AND is_live = 1 AND environment ="
	               " (SELECT environment FROM campaigns WHERE id = ?2) AND"
	               " id <> ?2");
	FD_SQL(sql, "UPDATE campaigns SET is_live = ?3, updated_at = ?4"
	            " WHERE app_id = ?1 AND id = ?2");
	int rc;

	if (live &&
	    (rc = fd_db__exec(c, &others, "ssi", app_id, id, now)) != FD_OK)
		return rc;
	return fd_db__change(c, &sql, "ssii", app_id, id, (int64_t)(live != 0),
	                     now);
}

int fd_store_campaign_ping(fd_conn *c, const char *app_id, const char *id,
                           const char *origin, int64_t now)
{
	FD_SQL(sql, "UPDATE campaigns SET last_ping_at = ?3,"
	            " last_ping_origin = ?4 WHERE app_id = ?1 AND id = ?2 AND"
	            " deleted_at IS NULL");

	return fd_db__change(c, &sql, "ssis", app_id, id, now, origin);
}

int fd_store_campaign_reward_insert(fd_conn *c, const char *app_id,
                                    const fd_store_campaign_reward *r,
                                    int64_t now)
{
	FD_SQL(sql, "INSERT INTO campaign_rewards(id, app_id, campaign_id,"
	            " party, lim, limit_unit, limit_interval, terms,"
	            " created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
	            " ?7, ?8, ?9, ?9) ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "sssszsssi", r->id, app_id,
	                     r->campaign_id, r->party, (int64_t)r->limit,
	                     r->limit_unit, r->limit_interval,
	                     r->terms ? r->terms : "{}", now);
}

int fd_store_campaign_reward_get(fd_conn *c, const char *app_id, const char *id,
                                 json_t **out)
{
	FD_SQL(sql, CREWARD_COLS "WHERE w.app_id = ?1 AND w.id = ?2");

	return fd_db__one(c, out, &sql, "ss", app_id, id);
}

/* ---- checkpoints ----------------------------------------------------- */

#define CHECKPOINT_COLS                                                        \
	OWNED("p")                                                             \
	" p.campaign_id AS \"campaignId\","                                    \
	" p.name AS \"checkpointName\", p.trigger_kind AS \"trigger\","        \
	" p.placement_id AS \"placementId\", " STAMPS " FROM checkpoints p "

int fd_store_checkpoint_insert(fd_conn *c, const char *app_id, const char *id,
                               const char *campaign_id, const char *name,
                               const char *trigger, const char *placement_id,
                               int64_t now)
{
	FD_SQL(sql, "INSERT INTO checkpoints(id, app_id, campaign_id, name,"
	            " trigger_kind, placement_id, created_at, updated_at)"
	            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
	            " ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "ssssssi", id, app_id, campaign_id, name,
	                     trigger, placement_id, now);
}

int fd_store_checkpoint_get(fd_conn *c, const char *app_id, const char *id,
                            json_t **out)
{
	FD_SQL(sql, CHECKPOINT_COLS "WHERE p.app_id = ?1 AND p.id = ?2");

	return fd_db__one(c, out, &sql, "ss", app_id, id);
}

int fd_store_checkpoint_find(fd_conn *c, const char *app_id,
                             const char *campaign_id, const char *name,
                             json_t **out)
{
	FD_SQL(sql,
	       CHECKPOINT_COLS "WHERE p.app_id = ?1 AND p.campaign_id = ?2"
	                       " AND p.name = ?3 AND p.deleted_at IS NULL");

	return fd_db__one(c, out, &sql, "sss", app_id, campaign_id, name);
}

int fd_store_checkpoint_list(fd_conn *c, const char *app_id,
                             const char *campaign_id, json_t **out)
{
	FD_SQL(sql, CHECKPOINT_COLS "WHERE p.app_id = ?1 AND (?2 IS NULL OR"
	                            " p.campaign_id = ?2) AND p.deleted_at IS"
	                            " NULL ORDER BY p.id");

	return fd_db__all(c, out, &sql, "ss", app_id, campaign_id);
}

/* ---- editing a campaign's rewards and checkpoints (the dashboard) ---- */

int fd_store_campaign_reward_update(fd_conn *c, const char *app_id,
                                    const fd_store_campaign_reward *r,
                                    int64_t now)
{
	FD_SQL(sql, "UPDATE campaign_rewards SET party = ?3, lim = ?4,"
	            " limit_unit = ?5, limit_interval = ?6, terms = ?7,"
	            " updated_at = ?8 WHERE app_id = ?1 AND id = ?2 AND"
	            " deleted_at IS NULL");

	return fd_db__change(c, &sql, "ssszsssi", app_id, r->id, r->party,
	                     (int64_t)r->limit, r->limit_unit,
	                     r->limit_interval, r->terms ? r->terms : "{}",
	                     now);
}

int fd_store_campaign_reward_delete(fd_conn *c, const char *app_id,
                                    const char *id, int64_t now)
{
	FD_SQL(sql, "UPDATE campaign_rewards SET deleted_at = ?3,"
	            " updated_at = ?3 WHERE app_id = ?1 AND id = ?2 AND"
	            " deleted_at IS NULL");

	return fd_db__change(c, &sql, "ssi", app_id, id, now);
}

int fd_store_checkpoint_update(fd_conn *c, const char *app_id, const char *id,
                               const char *name, const char *trigger,
                               const char *placement_id, int64_t now)
{
	/* UNIQUE(campaign_id, name) refuses a name the campaign has. */
	FD_SQL(taken, "SELECT 1 FROM checkpoints p WHERE p.campaign_id ="
	              " (SELECT campaign_id FROM checkpoints WHERE app_id = ?1"
	              " AND id = ?2) AND p.name = ?3 AND p.id <> ?2");
	FD_SQL(sql, "UPDATE checkpoints SET name = ?3, trigger_kind = ?4,"
	            " placement_id = ?5, updated_at = ?6 WHERE app_id = ?1 AND"
	            " id = ?2 AND deleted_at IS NULL");
	int rc = fd_db__count(c, NULL, &taken, "sss", app_id, id, name);

	if (rc == FD_OK)
		return FD_CONFLICT;
	if (rc != FD_NOTFOUND)
		return rc;
	return fd_db__change(c, &sql, "sssssi", app_id, id, name, trigger,
	                     placement_id, now);
}

int fd_store_checkpoint_delete(fd_conn *c, const char *app_id, const char *id)
{
	/* Nothing refers to a checkpoint by id: events keep its name. */
	FD_SQL(sql, "DELETE FROM checkpoints WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "ss", app_id, id);
}
