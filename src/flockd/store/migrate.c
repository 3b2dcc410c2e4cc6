/*
 * flockd migrate-store (migrate.h). Both schemas have the same tables and
 * columns (store_sqlite.c, store_pg.c), so every table is copied column
 * for column: rows are read from SQLite ordered by primary key, inserted
 * into PostgreSQL in one transaction, read back in the same order and
 * compared cell by cell (text as bytes, integers as decimal, blobs as hex)
 * before the COMMIT. Surrogate keys the target assigns itself (the
 * outbox's seq, delivery_attempts' id) are not copied: rows are inserted in
 * their order, so the order is kept and compared, and deliveries' event_seq
 * is translated to the outbox rows' new seq.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/migrate.h"
#include "store/store.h"

typedef struct {
	const char *name;
	const char *order;    /* primary key, as ORDER BY (SQLite) */
	const char *pg_order; /* the same order on PostgreSQL */
	const char *filter;   /* WHERE with ?1 / $1 = the application */
} table_def;

/* In foreign-key order. */
static const table_def tables[] = {
        {"orgs", "id", "id COLLATE \"C\"",
         "id IN (SELECT org_id FROM apps WHERE $1 IS NULL OR id = $1)"},
        {"apps", "id", "id COLLATE \"C\"", "($1 IS NULL OR id = $1)"},
        {"api_keys", "id", "id COLLATE \"C\"",
         "($1 IS NULL OR app_id = $1 OR (app_id IS NULL AND org_id IN"
         " (SELECT org_id FROM apps WHERE id = $1)))"},
        {"customers", "id", "id COLLATE \"C\"", "($1 IS NULL OR app_id = $1)"},
        {"campaigns", "id", "id COLLATE \"C\"", "($1 IS NULL OR app_id = $1)"},
        {"campaign_rewards", "id", "id COLLATE \"C\"",
         "($1 IS NULL OR app_id = $1)"},
        {"checkpoints", "id", "id COLLATE \"C\"",
         "($1 IS NULL OR app_id = $1)"},
        {"referrals", "id", "id COLLATE \"C\"", "($1 IS NULL OR app_id = $1)"},
        {"rewards", "id", "id COLLATE \"C\"", "($1 IS NULL OR app_id = $1)"},
        {"checkpoint_events", "id", "id COLLATE \"C\"",
         "($1 IS NULL OR app_id = $1)"},
        {"outbox", "seq", "seq", "($1 IS NULL OR app_id = $1)"},
        {"webhook_endpoints", "id", "id COLLATE \"C\"",
         "($1 IS NULL OR app_id = $1)"},
        {"deliveries", "id", "id COLLATE \"C\"", "($1 IS NULL OR app_id = $1)"},
        {"delivery_attempts", "id", "id", "($1 IS NULL OR app_id = $1)"},
        {"idempotency", "app_id, key",
         "app_id COLLATE \"C\", key COLLATE \"C\"",
         "($1 IS NULL OR app_id = $1)"},
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))
#define MAXCOLS 24

typedef struct {
	sqlite3 *src;
	PGconn *dst;
	const char *app;
	FILE *out, *err;
	/* the current table */
	int ncols;
	char *cols[MAXCOLS];
	int blob[MAXCOLS];
	int seq_col; /* deliveries.event_seq's index, else -1 */
	/* outbox seq in the source -> in the target, by source seq */
	long long *old_seq, *new_seq;
	size_t nseq;
	char seq_text[32];
} mig;

/* A delivery's event_seq as the target numbers it (NULL: unknown). */
static const char *map_seq(mig *m, const char *old)
{
	long long v = strtoll(old, NULL, 10);
	size_t lo = 0, hi = m->nseq;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->old_seq[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->nseq || m->old_seq[lo] != v)
		return NULL;
	snprintf(m->seq_text, sizeof(m->seq_text), "%lld", m->new_seq[lo]);
	return m->seq_text;
}

static void cols_free(mig *m)
{
	int i;

	for (i = 0; i < m->ncols; i++)
		free(m->cols[i]);
	m->ncols = 0;
}

/* The table's columns in SQLite (all but the outbox's seq). */
static int load_cols(mig *m, const table_def *t)
{
	char q[128];
	sqlite3_stmt *st = NULL;

	cols_free(m);
	m->seq_col = -1;
	snprintf(q, sizeof(q), "PRAGMA table_info(%s)", t->name);
	if (sqlite3_prepare_v2(m->src, q, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW && m->ncols < MAXCOLS) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);

		if ((strcmp(t->name, "outbox") == 0 &&
		     strcmp(name, "seq") == 0) ||
		    (strcmp(t->name, "delivery_attempts") == 0 &&
		     strcmp(name, "id") == 0))
			continue;
		if (strcmp(t->name, "deliveries") == 0 &&
		    strcmp(name, "event_seq") == 0)
			m->seq_col = m->ncols;
		m->blob[m->ncols] = type && strcmp(type, "BLOB") == 0;
		m->cols[m->ncols++] = strdup(name);
	}
	sqlite3_finalize(st);
	return m->ncols > 0 ? 0 : -1;
}

/* "a, b, c" into buf. */
static void col_list(const mig *m, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < m->ncols && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
		                      m->cols[i]);
}

static sqlite3_stmt *src_rows(mig *m, const table_def *t)
{
	char cols[1024], q[2048], filter[512];
	sqlite3_stmt *st = NULL;
	const char *p;
	size_t n = 0;

	/* The filter is written for PostgreSQL ($1); SQLite takes ?1. */
	for (p = t->filter; *p && n + 2 < sizeof(filter); p++) {
		if (*p == '$') {
			filter[n++] = '?';
			continue;
		}
		filter[n++] = *p;
	}
	filter[n] = '\0';
	col_list(m, cols, sizeof(cols));
	snprintf(q, sizeof(q), "SELECT %s FROM %s WHERE %s ORDER BY %s", cols,
	         t->name, filter, t->order);
	if (sqlite3_prepare_v2(m->src, q, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, m->app, -1, SQLITE_STATIC) != SQLITE_OK) {
		fprintf(m->err, "migrate-store: %s: %s\n", t->name,
		        sqlite3_errmsg(m->src));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int pg_ok(mig *m, PGresult *r, const char *what)
{
	ExecStatusType s = PQresultStatus(r);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return 0;
	fprintf(m->err, "migrate-store: %s: %s", what,
	        PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
	                ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
	                : PQerrorMessage(m->dst));
	fputc('\n', m->err);
	return -1;
}

/* The outbox's seq values, in the order src_rows reads the rows. */
static sqlite3_stmt *seq_rows(mig *m, const table_def *t)
{
	sqlite3_stmt *st = NULL;
	char q[512];

	snprintf(q, sizeof(q),
	         "SELECT seq FROM outbox WHERE ?1 IS NULL OR app_id = ?1"
	         " ORDER BY seq");
	(void)t;
	if (sqlite3_prepare_v2(m->src, q, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, m->app, -1, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Pair the next source seq with the one the target returned. */
static int record_seq(mig *m, sqlite3_stmt *st_seq, PGresult *r)
{
	long long *o, *n;

	if (sqlite3_step(st_seq) != SQLITE_ROW || PQntuples(r) != 1)
		return -1;
	o = realloc(m->old_seq, (m->nseq + 1) * sizeof(*o));
	if (o)
		m->old_seq = o;
	n = realloc(m->new_seq, (m->nseq + 1) * sizeof(*n));
	if (n)
		m->new_seq = n;
	if (!o || !n)
		return -1;
	m->old_seq[m->nseq] = sqlite3_column_int64(st_seq, 0);
	m->new_seq[m->nseq] = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	m->nseq++;
	return 0;
}

/* Copy every row of t; *count gets how many. */
static int copy_table(mig *m, const table_def *t, long *count)
{
	char cols[1024], q[2048], params[256];
	const char *vals[MAXCOLS];
	int lens[MAXCOLS], fmts[MAXCOLS], i, rc = -1, step;
	size_t n = 0;
	sqlite3_stmt *st = src_rows(m, t), *st_seq = NULL;
	PGresult *r = NULL;

	*count = 0;
	if (!st)
		return -1;
	if (strcmp(t->name, "outbox") == 0 && !(st_seq = seq_rows(m, t))) {
		sqlite3_finalize(st);
		return -1;
	}
	for (i = 0; i < m->ncols; i++)
		n += (size_t)snprintf(params + n, sizeof(params) - n, "%s$%d",
		                      i ? ", " : "", i + 1);
	col_list(m, cols, sizeof(cols));
	/* Shared rows (an organization, its operator-wide keys) may be
	 * there from an earlier application: kept as they are. */
	snprintf(q, sizeof(q), "INSERT INTO %s(%s) VALUES(%s)%s%s", t->name,
	         cols, params,
	         strcmp(t->name, "orgs") == 0 ||
	                         strcmp(t->name, "api_keys") == 0
	                 ? " ON CONFLICT DO NOTHING"
	                 : "",
	         strcmp(t->name, "outbox") == 0 ? " RETURNING seq" : "");
	r = PQprepare(m->dst, "", q, m->ncols, NULL);
	if (pg_ok(m, r, t->name) < 0)
		goto done;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < m->ncols; i++) {
			int type = sqlite3_column_type(st, i);

			fmts[i] = type == SQLITE_BLOB;
			vals[i] = type == SQLITE_NULL ? NULL
			          : type == SQLITE_BLOB
			                  ? sqlite3_column_blob(st, i)
			                  : (const char *)sqlite3_column_text(
			                            st, i);
			lens[i] = sqlite3_column_bytes(st, i);
		}
		if (m->seq_col >= 0 &&
		    !(vals[m->seq_col] = map_seq(m, vals[m->seq_col]))) {
			fprintf(m->err, "migrate-store: deliveries: a "
			                "delivery's event is "
			                "not in the outbox\n");
			goto done;
		}
		PQclear(r);
		r = PQexecPrepared(m->dst, "", m->ncols, vals, lens, fmts, 0);
		if (pg_ok(m, r, t->name) < 0)
			goto done;
		if (strcmp(t->name, "outbox") == 0 &&
		    record_seq(m, st_seq, r) < 0)
			goto done;
		(*count)++;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
done:
	PQclear(r);
	sqlite3_finalize(st);
	sqlite3_finalize(st_seq);
	return rc;
}

/* One SQLite cell as PostgreSQL shows it in text format. */
static char *src_text(sqlite3_stmt *st, int i)
{
	int type = sqlite3_column_type(st, i), n, k;
	const unsigned char *b;
	char *s;

	if (type == SQLITE_NULL)
		return NULL;
	if (type != SQLITE_BLOB)
		return strdup((const char *)sqlite3_column_text(st, i));
	b = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	if (!(s = malloc((size_t)n * 2 + 3)))
		return NULL;
	memcpy(s, "\\x", 2);
	for (k = 0; k < n; k++)
		snprintf(s + 2 + 2 * k, 3, "%02x", b[k]);
	s[2 + 2 * n] = '\0';
	return s;
}

static int differ(mig *m, const table_def *t, int row, int col, const char *why)
{
	fprintf(m->err,
	        "migrate-store: %s: row %d%s%s differs after the copy (%s)\n",
	        t->name, row + 1, col >= 0 ? ", column " : "",
	        col >= 0 ? m->cols[col] : "", why);
	return -1;
}

/* Read t back from both sides in key order and compare every cell. */
static int verify_table(mig *m, const table_def *t, long copied, long *checked)
{
	static const Oid text_oid[1] = {25};
	char cols[1024], q[2048], *a;
	const char *param[1] = {m->app};
	sqlite3_stmt *st = src_rows(m, t);
	PGresult *r = NULL;
	int row = 0, i, rc = -1, step, n;

	*checked = 0;
	if (!st)
		return -1;
	col_list(m, cols, sizeof(cols));
	snprintf(q, sizeof(q), "SELECT %s FROM %s WHERE %s ORDER BY %s", cols,
	         t->name, t->filter, t->pg_order);
	r = PQexecParams(m->dst, q, 1, text_oid, param, NULL, NULL, 0);
	if (pg_ok(m, r, t->name) < 0)
		goto done;
	n = PQntuples(r);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (row >= n) {
			differ(m, t, row, -1, "missing in PostgreSQL");
			goto done;
		}
		for (i = 0; i < m->ncols; i++) {
			int same;

			a = src_text(st, i);
			if (!a && sqlite3_column_type(st, i) != SQLITE_NULL)
				goto done;
			if (a && i == m->seq_col) {
				const char *mapped = map_seq(m, a);

				free(a);
				if (!mapped || !(a = strdup(mapped)))
					goto done;
			}
			same = a ? !PQgetisnull(r, row, i) &&
			                       strcmp(a, PQgetvalue(r, row,
			                                            i)) == 0
			         : PQgetisnull(r, row, i);
			free(a);
			if (!same) {
				differ(m, t, row, i, "value");
				goto done;
			}
		}
		row++;
	}
	if (step != SQLITE_DONE)
		goto done;
	if (row != n || row != copied) {
		differ(m, t, row, -1, "row count");
		goto done;
	}
	*checked = row;
	rc = 0;
done:
	PQclear(r);
	sqlite3_finalize(st);
	return rc;
}

/* Applications being copied that the target already has. */
static int refuse_existing(mig *m)
{
	sqlite3_stmt *st = NULL;
	PGresult *r = NULL;
	const char *id;
	int rc = 0;

	if (sqlite3_prepare_v2(
	            m->src, "SELECT id FROM apps WHERE ?1 IS NULL OR id = ?1",
	            -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, m->app, -1, SQLITE_STATIC) != SQLITE_OK)
		rc = -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(st, 0);
		r = PQexecParams(m->dst, "SELECT 1 FROM apps WHERE id = $1", 1,
		                 NULL, &id, NULL, NULL, 0);
		if (pg_ok(m, r, "apps") < 0)
			rc = -1;
		else if (PQntuples(r) > 0) {
			fprintf(m->err,
			        "migrate-store: application %s already exists "
			        "in "
			        "the target; nothing copied\n",
			        id);
			rc = -1;
		}
		PQclear(r);
		r = NULL;
	}
	sqlite3_finalize(st);
	return rc;
}

static int exec_pg(mig *m, const char *q)
{
	PGresult *r = PQexec(m->dst, q);
	int rc = pg_ok(m, r, q);

	PQclear(r);
	return rc;
}

static int copy_all(mig *m)
{
	long copied[NTABLES], checked, total = 0;
	size_t i;

	if (exec_pg(m, "BEGIN") < 0)
		return -1;
	/* Other writers of these applications would race the check. */
	if (exec_pg(m, "LOCK TABLE apps IN SHARE ROW EXCLUSIVE MODE") < 0 ||
	    refuse_existing(m) < 0)
		goto fail;
	/* Copy everything, then read everything back: a table's filter may
	 * need a later table (orgs are found through apps). */
	for (i = 0; i < NTABLES; i++) {
		if (load_cols(m, &tables[i]) < 0) {
			fprintf(m->err,
			        "migrate-store: %s: no such table in %s\n",
			        tables[i].name, "the source");
			goto fail;
		}
		if (copy_table(m, &tables[i], &copied[i]) < 0)
			goto fail;
	}
	for (i = 0; i < NTABLES; i++) {
		if (load_cols(m, &tables[i]) < 0 ||
		    verify_table(m, &tables[i], copied[i], &checked) < 0)
			goto fail;
		fprintf(m->out, "%-18s %8ld rows copied, %8ld verified\n",
		        tables[i].name, copied[i], checked);
		total += copied[i];
	}
	if (exec_pg(m, "COMMIT") < 0)
		return -1;
	fprintf(m->out, "%-18s %8ld rows, committed\n", "total", total);
	return 0;
fail:
	exec_pg(m, "ROLLBACK");
	fprintf(m->err,
	        "migrate-store: rolled back; the target is unchanged\n");
	return -1;
}

int fd_migrate_store(const char *from, const char *to, const char *app_id,
                     FILE *out, FILE *err)
{
	mig m;
	fd_store *s = NULL;
	char msg[256], shown[512];
	int rc = -1;

	memset(&m, 0, sizeof(m));
	m.app = app_id;
	m.out = out;
	m.err = err;
	fd_store_redact(shown, sizeof(shown), to);
	if (strncmp(to, "postgres://", 11) != 0 &&
	    strncmp(to, "postgresql://", 13) != 0) {
		fprintf(err, "migrate-store: --to must be a postgres:// URL\n");
		return -1;
	}
	if (strncmp(from, "sqlite:", 7) == 0)
		from += 7;
	if (sqlite3_open_v2(from, &m.src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(err, "migrate-store: cannot open %s: %s\n", from,
		        m.src ? sqlite3_errmsg(m.src) : "out of memory");
		goto done;
	}
	/* Bring both schemas to the current version first. */
	if (fd_store_open(&s, from, 1, msg, sizeof(msg)) < 0) {
		fprintf(err, "migrate-store: %s: %s\n", from, msg);
		goto done;
	}
	fd_store_close(s);
	if (fd_store_open(&s, to, 1, msg, sizeof(msg)) < 0) {
		fprintf(err, "migrate-store: %s: %s\n", shown, msg);
		goto done;
	}
	fd_store_close(s);
	m.dst = PQconnectdb(to);
	if (!m.dst || PQstatus(m.dst) != CONNECTION_OK) {
		fprintf(err, "migrate-store: %s: %s", shown,
		        m.dst ? PQerrorMessage(m.dst) : "out of memory\n");
		goto done;
	}
	/* Text as UTF-8, bytea as hex: what verify_table compares. */
	if (exec_pg(&m, "SET client_encoding = 'UTF8'") < 0 ||
	    exec_pg(&m, "SET bytea_output = 'hex'") < 0)
		goto done;
	rc = copy_all(&m);
done:
	cols_free(&m);
	free(m.old_seq);
	free(m.new_seq);
	if (m.dst)
		PQfinish(m.dst);
	sqlite3_close(m.src);
	return rc;
}
