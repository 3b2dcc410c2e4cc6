/*
 * Store operations (store.h): organizations, applications, API keys,
 * idempotency records and request rate counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

int fd_store_org_insert(fd_conn *c, const char *id, const char *name,
                        int64_t now)
{
	FD_SQL(sql, "INSERT INTO orgs(id, name, created_at) VALUES(?1, ?2, ?3)"
	            " ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "ssi", id, name, now);
}

int fd_store_org_count(fd_conn *c, long *n)
{
	FD_SQL(sql, "SELECT count(*) FROM orgs");

	return fd_db__count(c, n, &sql, "");
}

int fd_store_app_insert(fd_conn *c, const char *id, const char *org_id,
                        const char *name, int64_t now)
{
	FD_SQL(sql, "INSERT INTO apps(id, org_id, name, created_at, updated_at)"
	            " VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "sssi", id, org_id, name, now);
}

#define APP_COLS                                                               \
	"SELECT a.id AS id, a.org_id AS \"organizationId\", a.id AS"           \
	" \"applicationId\", a.name AS name, " STAMPS " FROM apps a "

int fd_store_app_get(fd_conn *c, const char *id, json_t **out)
{
	FD_SQL(sql, APP_COLS "WHERE a.id = ?1");

	return fd_db__one(c, out, &sql, "s", id);
}

int fd_store_app_list(fd_conn *c, const char *org_id, const char *only_app,
                      long limit, long offset, json_t **out)
{
	FD_SQL(page,
	       APP_COLS "WHERE (?1 IS NULL OR a.id = ?1) AND"
	                " a.org_id = ?2 ORDER BY a.id LIMIT ?3 OFFSET ?4");

	return fd_db__page(c, out, &page, limit, offset, "ss", only_app,
	                   org_id);
}

int fd_store_key_insert(fd_conn *c, const fd_store_key *k, int64_t now)
{
	FD_SQL(sql, "INSERT INTO api_keys(id, app_id, org_id, kind,"
	            " environment, hash, prefix, created_at, updated_at)"
	            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
	            " ON CONFLICT DO NOTHING");

	return fd_db__insert(c, &sql, "sssisbsi", k->id, k->app_id, k->org_id,
	                     (int64_t)k->kind,
	                     k->environment ? k->environment : "", k->hash,
	                     k->prefix, now);
}

static void copy_col(fd_conn *c, fd_dbstmt *st, int i, char *dst, size_t len)
{
	fd_value v;

	c->s->drv->col(st, i, &v);
	snprintf(dst, len, "%s", v.type == FD_T_TEXT ? v.s : "");
}

int fd_store_key_auth(fd_conn *c, const uint8_t hash[32], fd_principal *out)
{
	FD_SQL(sql, "SELECT id, coalesce(app_id, ''), org_id, kind,"
	            " environment FROM api_keys WHERE hash = ?1 AND"
	            " revoked_at IS NULL");
	fd_value kind;
	int rc;
	fd_dbstmt *st = fd_db__bind(c, &sql, &rc, "b", hash);

	if (!st)
		return rc;
	rc = fd_db__step(c, st);
	if (rc == FD_ROW) {
		copy_col(c, st, 0, out->key_id, sizeof(out->key_id));
		copy_col(c, st, 1, out->app_id, sizeof(out->app_id));
		copy_col(c, st, 2, out->org_id, sizeof(out->org_id));
		c->s->drv->col(st, 3, &kind);
		out->kind = (fd_key_kind)kind.i;
		copy_col(c, st, 4, out->environment, sizeof(out->environment));
		rc = FD_OK;
	} else if (rc == FD_DONE) {
		rc = FD_NOTFOUND;
	}
	c->s->drv->reset(st);
	return rc;
}

#define KEY_COLS                                                               \
	"SELECT y.id AS id, y.org_id AS \"organizationId\","                   \
	" y.app_id AS \"applicationId\", CASE y.kind WHEN 1 THEN 'service'"    \
	" WHEN 2 THEN 'public' ELSE 'admin' END AS kind,"                      \
	" NULLIF(y.environment, '') AS environment, y.prefix AS prefix,"       \
	" y.revoked_at AS \"@revokedAt\", y.created_at AS \"@createdAt\","     \
	" y.updated_at AS \"@updatedAt\", NULL AS \"deletedAt\""               \
	" FROM api_keys y "

int fd_store_key_get(fd_conn *c, const char *app_id, const char *id,
                     json_t **out)
{
	FD_SQL(sql, KEY_COLS "WHERE y.app_id = ?1 AND y.id = ?2");

	return fd_db__one(c, out, &sql, "ss", app_id, id);
}

int fd_store_key_list(fd_conn *c, const char *app_id, const fd_filter *f,
                      long limit, long offset, json_t **out)
{
	FD_SQL(page, KEY_COLS "WHERE y.app_id = ?1 AND (?2 IS NULL OR"
	                      " y.environment = ?2) ORDER BY y.id"
	                      " LIMIT ?3 OFFSET ?4");

	return fd_db__page(c, out, &page, limit, offset, "ss", app_id,
	                   f->environment);
}

int fd_store_key_revoke(fd_conn *c, const char *app_id, const char *id,
                        int64_t now)
{
	FD_SQL(sql, "UPDATE api_keys SET revoked_at = ?3, updated_at = ?3"
	            " WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "ssi", app_id, id, now);
}

/* ---- idempotency ----------------------------------------------------- */

int fd_store_idem_get(fd_conn *c, const char *app_id, const char *key,
                      uint8_t hash[32], int *status, char **body)
{
	/* Records written before schema step 9 are in idempotency. */
	FD_SQL(sql, "SELECT body_hash, status, response FROM idempotency_v2"
	            " WHERE app_id = ?1 AND key = ?2 UNION ALL SELECT"
	            " body_hash, status, response FROM idempotency WHERE"
	            " app_id = ?1 AND key = ?2 LIMIT 1");
	const fd_driver *d = c->s->drv;
	char name[320];
	fd_value h, st_, body_;
	fd_dbstmt *st;
	int rc;

	*body = NULL;
	/* One execution of a key across nodes: a second node's lookup waits
	 * here until the first one's batch ends, then finds its response. */
	snprintf(name, sizeof(name), "idem%s\n%s", app_id, key);
	if ((rc = fd_db__lock(c, name)) != FD_OK ||
	    !(st = fd_db__bind(c, &sql, &rc, "ss", app_id, key)))
		return rc;
	rc = fd_db__step(c, st);
	if (rc == FD_ROW) {
		d->col(st, 0, &h);
		d->col(st, 1, &st_);
		d->col(st, 2, &body_);
		if (h.type == FD_T_BLOB && h.len == 32)
			memcpy(hash, h.b, 32);
		else
			memset(hash, 0, 32);
		*status = (int)st_.i;
		*body = strdup(body_.type == FD_T_TEXT ? body_.s : "null");
		rc = *body ? FD_OK : FD_ERR;
	} else if (rc == FD_DONE) {
		rc = FD_NOTFOUND;
	}
	d->reset(st);
	return rc;
}

int fd_store_idem_put(fd_conn *c, const char *app_id, const char *key,
                      const uint8_t hash[32], int status, const char *body,
                      int64_t now)
{
	FD_SQL(sql, "INSERT INTO idempotency_v2(app_id, key, body_hash, status,"
	            " response, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
	            " ON CONFLICT DO NOTHING");
	int rc = fd_db__insert(c, &sql, "ssbisi", app_id, key, hash,
	                       (int64_t)status, body, now);

	/* Stored by another node after our lookup: run the job again, it
	 * replays what was stored. */
	if (rc == FD_CONFLICT) {
		c->retry = 1;
		return FD_RETRY;
	}
	return rc;
}

int fd_store_idem_purge(fd_conn *c, int64_t before)
{
	FD_SQL(sql, "DELETE FROM idempotency_v2 WHERE created_at < ?1");
	FD_SQL(old, "DELETE FROM idempotency WHERE created_at < ?1");
	int rc = fd_db__exec(c, &sql, "i", before);

	return rc == FD_OK ? fd_db__exec(c, &old, "i", before) : rc;
}

/* ---- request rate limit ---------------------------------------------- */

/*
 * One upsert in autocommit on the store's own connection, so the limiter
 * never joins a writer batch nor waits for one (under rate_mu). Where one
 * process owns the database the counts are its own: {rate_table} makes
 * the connection a private table in memory of that name.
 */
int fd_store_rate_hit(fd_store *s, const char *key_id, int64_t window,
                      long *count)
{
	FD_SQL(hit,
	       "INSERT INTO rate_windows(key_id, window_start, count)"
	       " VALUES(?1, ?2, 1) ON CONFLICT(key_id, window_start) DO"
	       " UPDATE SET count = rate_windows.count + 1 RETURNING count");
	FD_SQL(purge, "DELETE FROM rate_windows WHERE window_start < ?1");
	char err[256], *setup = NULL;
	int rc = FD_OK;

	*count = 0;
	pthread_mutex_lock(&s->rate_mu);
	if (!s->aux.db) {
		if (fd_db__conn_open(s, &s->aux, FD_ROLE_AUX, err,
		                     sizeof(err)) < 0 ||
		    !(setup = fd_db__expand(s->drv, "{rate_table}")) ||
		    (*setup && s->drv->exec(s->aux.db, setup) != FD_OK)) {
			fd_db__conn_close(&s->aux);
			rc = FD_ERR;
		}
		free(setup);
	}
	if (rc == FD_OK)
		rc = fd_db__count(&s->aux, count, &hit, "si", key_id, window);
	/* Windows older than a minute, about once a minute. */
	if (rc == FD_OK && window - s->rate_swept >= 60) {
		fd_db__exec(&s->aux, &purge, "i", window - 60);
		s->rate_swept = window;
	}
	pthread_mutex_unlock(&s->rate_mu);
	return rc == FD_OK ? FD_OK : FD_ERR;
}

int fd_store_rate_peek(fd_store *s, const char *key_id, int64_t window,
                       long *count)
{
	FD_SQL(peek, "SELECT count FROM rate_windows WHERE key_id = ?1 AND"
	             " window_start = ?2");
	int rc = FD_OK;

	*count = 0;
	pthread_mutex_lock(&s->rate_mu);
	/* Not open yet: nothing was counted through this store. */
	if (s->aux.db)
		rc = fd_db__count(&s->aux, count, &peek, "si", key_id, window);
	pthread_mutex_unlock(&s->rate_mu);
	return rc == FD_OK || rc == FD_NOTFOUND ? FD_OK : FD_ERR;
}
