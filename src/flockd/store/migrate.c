/*
 * flockd migrate-store (migrate.h), over the storage layer's drivers.
 *
 * Both databases have the same tables and columns (store/schema.c), so
 * every table is copied column for column: rows are read from the source
 * ordered by primary key, inserted into the target in one transaction,
 * read back in the same order and compared cell by cell (integers as
 * integers, text and blobs as bytes) before the COMMIT. Surrogate keys
 * the target assigns itself (the outbox's seq, delivery_attempts' id) are
 * not copied: rows are inserted in their order, so the order is kept and
 * compared, and deliveries' event_seq is translated to the outbox rows'
 * new seq.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/migrate.h"

typedef struct {
	const char *name;
	const char *order;  /* primary key, bytewise ({collate_c}) */
	const char *filter; /* ?1 = the application, or NULL for all */
	const char *skip;   /* a key the target assigns, not copied */
} table_def;

#define APP_FILTER "(?1 IS NULL OR app_id = ?1)"

/* In foreign-key order. */
static const table_def tables[] = {
        {"orgs", "id{collate_c}",
         "id IN (SELECT org_id FROM apps WHERE ?1 IS NULL OR id = ?1)", NULL},
        {"apps", "id{collate_c}", "(?1 IS NULL OR id = ?1)", NULL},
        {"api_keys", "id{collate_c}",
         "(?1 IS NULL OR app_id = ?1 OR (app_id IS NULL AND org_id IN"
         " (SELECT org_id FROM apps WHERE id = ?1)))",
         NULL},
        {"customers", "id{collate_c}", APP_FILTER, NULL},
        {"campaigns", "id{collate_c}", APP_FILTER, NULL},
        {"campaign_rewards", "id{collate_c}", APP_FILTER, NULL},
        {"checkpoints", "id{collate_c}", APP_FILTER, NULL},
        {"referrals", "id{collate_c}", APP_FILTER, NULL},
        {"rewards", "id{collate_c}", APP_FILTER, NULL},
        {"checkpoint_events", "id{collate_c}", APP_FILTER, NULL},
        {"outbox", "seq", APP_FILTER, "seq"},
        {"webhook_endpoints", "id{collate_c}", APP_FILTER, NULL},
        {"deliveries", "id{collate_c}", APP_FILTER, NULL},
        {"delivery_attempts", "id", APP_FILTER, "id"},
        {"idempotency", "app_id{collate_c}, key{collate_c}", APP_FILTER, NULL},
        {"idempotency_v2", "app_id{collate_c}, key{collate_c}", APP_FILTER,
         NULL},
        {"activity_daily",
         "app_id{collate_c}, environment{collate_c}, name{collate_c}, day",
         APP_FILTER, NULL},
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))
#define MAXCOLS 24

typedef struct {
	fd_conn *src, *dst;
	const char *app;
	FILE *out, *err;
	/* the current table */
	int ncols;
	char *cols[MAXCOLS];
	int seq_col; /* deliveries.event_seq's index, else -1 */
	/* outbox seq in the source -> in the target, by source seq */
	int64_t *old_seq, *new_seq;
	size_t nseq;
} mig;

static const fd_driver *drv(fd_conn *c)
{
	return c->s->drv;
}

/* A statement of dynamic SQL (expanded for c's driver) bound to the
 * application; NULL after an error was printed. */
static fd_dbstmt *query(mig *m, fd_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static fd_dbstmt *query(mig *m, fd_conn *c, const char *fmt, ...)
{
	fd_value app = {FD_T_TEXT, 0,    0,
	                m->app,    NULL, m->app ? strlen(m->app) : 0};
	char sql[2048], *text;
	fd_dbstmt *st = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	text = fd_db__expand(drv(c), sql);
	if (!text || drv(c)->prepare(c->db, text, &st) != FD_OK ||
	    (strstr(sql, "?1") && drv(c)->bind(st, 1, &app) != FD_OK)) {
		fprintf(m->err, "migrate-store: %s\n", drv(c)->errmsg(c->db));
		if (st)
			drv(c)->finalize(st);
		st = NULL;
	}
	free(text);
	return st;
}

static void cols_free(mig *m)
{
	int i;

	for (i = 0; i < m->ncols; i++)
		free(m->cols[i]);
	m->ncols = 0;
}

/* The table's columns in the source (all but a key the target
 * assigns). */
static int load_cols(mig *m, const table_def *t)
{
	fd_dbstmt *st = query(m, m->src, "SELECT * FROM %s LIMIT 0", t->name);
	int i, n, rc;

	cols_free(m);
	m->seq_col = -1;
	if (!st)
		return -1;
	rc = drv(m->src)->step(st);
	n = drv(m->src)->ncols(st);
	for (i = 0; rc == FD_DONE && i < n && m->ncols < MAXCOLS; i++) {
		const char *name = drv(m->src)->col_name(st, i);

		if (t->skip && strcmp(name, t->skip) == 0)
			continue;
		if (strcmp(t->name, "deliveries") == 0 &&
		    strcmp(name, "event_seq") == 0)
			m->seq_col = m->ncols;
		m->cols[m->ncols++] = strdup(name);
	}
	drv(m->src)->finalize(st);
	return rc == FD_DONE && m->ncols > 0 ? 0 : -1;
}

/* "a, b, c" or "?1, ?2, ?3" into buf. */
static void col_list(const mig *m, char *buf, size_t len, int params)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < m->ncols && n < len; i++) {
		if (params)
			n += (size_t)snprintf(buf + n, len - n, "%s?%d",
			                      i ? ", " : "", i + 1);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			                      i ? ", " : "", m->cols[i]);
	}
}

static fd_dbstmt *rows_of(mig *m, fd_conn *c, const table_def *t)
{
	char cols[1024];

	col_list(m, cols, sizeof(cols), 0);
	return query(m, c, "SELECT %s FROM %s WHERE %s ORDER BY %s", cols,
	             t->name, t->filter, t->order);
}

/* A delivery's event_seq as the target numbers it (-1: unknown). */
static int64_t map_seq(const mig *m, int64_t v)
{
	size_t lo = 0, hi = m->nseq;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->old_seq[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nseq && m->old_seq[lo] == v ? m->new_seq[lo] : -1;
}

/* Bind the source row's cell i to the insert's parameter i + 1: column
 * for column, so the target's column says the type. */
static int bind_cell(mig *m, fd_dbstmt *from, fd_dbstmt *to, int i)
{
	fd_value v;

	drv(m->src)->col(from, i, &v);
	if (v.type == FD_T_INT && i == m->seq_col &&
	    (v.i = map_seq(m, v.i)) < 0)
		return FD_ERR;
	if (v.type == FD_T_NULL) {
		v.type = FD_T_TEXT;
		v.s = NULL;
	}
	v.type |= FD_T_INFER;
	return drv(m->dst)->bind(to, i + 1, &v);
}

/* Pair the source seq of the outbox row just copied with the target's. */
static int record_seq(mig *m, fd_dbstmt *from, fd_dbstmt *ins)
{
	int64_t *o, *n;
	fd_value a, b;

	if (drv(m->dst)->step(ins) != FD_ROW)
		return -1;
	o = realloc(m->old_seq, (m->nseq + 1) * sizeof(*o));
	if (o)
		m->old_seq = o;
	n = realloc(m->new_seq, (m->nseq + 1) * sizeof(*n));
	if (n)
		m->new_seq = n;
	if (!o || !n)
		return -1;
	/* The outbox rows are read with seq last (see copy_table). */
	drv(m->src)->col(from, m->ncols, &a);
	drv(m->dst)->col(ins, 0, &b);
	m->old_seq[m->nseq] = a.i;
	m->new_seq[m->nseq] = b.i;
	m->nseq++;
	return 0;
}

/* Copy every row of t; *count gets how many. */
static int copy_table(mig *m, const table_def *t, long *count)
{
	const fd_driver *d = drv(m->dst);
	int outbox = strcmp(t->name, "outbox") == 0, i, rc = -1, step;
	char cols[1024], params[256];
	fd_dbstmt *from, *ins = NULL;

	*count = 0;
	col_list(m, cols, sizeof(cols), 0);
	col_list(m, params, sizeof(params), 1);
	from = query(m, m->src, "SELECT %s%s FROM %s WHERE %s ORDER BY %s",
	             cols, outbox ? ", seq" : "", t->name, t->filter, t->order);
	/* Shared rows (an organization, its operator-wide keys) may be
	 * there from an earlier application: kept as they are. */
	if (from)
		ins = query(m, m->dst, "INSERT INTO %s(%s) VALUES(%s)%s%s",
		            t->name, cols, params,
		            strcmp(t->name, "orgs") == 0 ||
		                            strcmp(t->name, "api_keys") == 0
		                    ? " ON CONFLICT DO NOTHING"
		                    : "",
		            outbox ? " RETURNING seq" : "");
	while (ins && (step = drv(m->src)->step(from)) == FD_ROW) {
		d->reset(ins);
		for (i = 0; i < m->ncols; i++)
			if (bind_cell(m, from, ins, i) != FD_OK)
				goto done;
		if (outbox ? record_seq(m, from, ins) < 0
		           : d->step(ins) != FD_DONE)
			goto done;
		(*count)++;
	}
	rc = ins && step == FD_DONE ? 0 : -1;
done:
	if (rc < 0)
		fprintf(m->err, "migrate-store: %s: %s\n", t->name,
		        d->errmsg(m->dst->db));
	if (ins)
		d->finalize(ins);
	if (from)
		drv(m->src)->finalize(from);
	return rc;
}

/* 1 if cell i holds the same value on both sides. */
static int same_cell(mig *m, fd_dbstmt *a, fd_dbstmt *b, int i)
{
	fd_value va, vb;

	drv(m->src)->col(a, i, &va);
	drv(m->dst)->col(b, i, &vb);
	if (va.type == FD_T_INT && i == m->seq_col)
		va.i = map_seq(m, va.i);
	if (va.type != vb.type)
		return 0;
	switch (va.type) {
	case FD_T_NULL:
		return 1;
	case FD_T_INT:
		return va.i == vb.i;
	case FD_T_REAL:
		return va.r == vb.r;
	default: /* text and blobs: the same bytes */
		return va.len == vb.len &&
		       memcmp(va.type == FD_T_TEXT ? (const void *)va.s : va.b,
		              vb.type == FD_T_TEXT ? (const void *)vb.s : vb.b,
		              va.len) == 0;
	}
}

static int differ(mig *m, const table_def *t, long row, int col,
                  const char *why)
{
	fprintf(m->err,
	        "migrate-store: %s: row %ld%s%s differs after the copy (%s)\n",
	        t->name, row + 1, col >= 0 ? ", column " : "",
	        col >= 0 ? m->cols[col] : "", why);
	return -1;
}

/* Read t back from both sides in key order and compare every cell. */
static int verify_table(mig *m, const table_def *t, long copied, long *checked)
{
	fd_dbstmt *a = rows_of(m, m->src, t),
	          *b = a ? rows_of(m, m->dst, t) : NULL;
	int sa = FD_ERR, sb = FD_ERR, i, rc = -1;
	long row = 0;

	*checked = 0;
	while (b && (sa = drv(m->src)->step(a)) == FD_ROW) {
		if ((sb = drv(m->dst)->step(b)) != FD_ROW) {
			differ(m, t, row, -1, "missing in the target");
			goto done;
		}
		for (i = 0; i < m->ncols; i++) {
			if (!same_cell(m, a, b, i)) {
				differ(m, t, row, i, "value");
				goto done;
			}
		}
		row++;
	}
	if (b && sa == FD_DONE)
		sb = drv(m->dst)->step(b);
	if (sa != FD_DONE || sb != FD_DONE || row != copied) {
		differ(m, t, row, -1, "row count");
		goto done;
	}
	*checked = row;
	rc = 0;
done:
	if (a)
		drv(m->src)->finalize(a);
	if (b)
		drv(m->dst)->finalize(b);
	return rc;
}

/* Applications being copied that the target already has. */
static int refuse_existing(mig *m)
{
	fd_dbstmt *st = query(m, m->src,
	                      "SELECT a.id AS id FROM apps a WHERE"
	                      " ?1 IS NULL OR a.id = ?1");
	json_t *row, *found = NULL;
	int rc = st ? 0 : -1;
	FD_SQL(there, "SELECT 1 AS one FROM apps WHERE id = ?1");

	while (rc == 0 && drv(m->src)->step(st) == FD_ROW) {
		row = fd_db__row(m->src, st);
		rc = row ? fd_db__one(m->dst, &found, &there, "s",
		                      json_string_value(
		                              json_object_get(row, "id")))
		         : FD_ERR;
		if (rc == FD_OK) {
			fprintf(m->err,
			        "migrate-store: application %s already exists "
			        "in the target; nothing copied\n",
			        json_string_value(json_object_get(row, "id")));
			rc = -1;
		} else {
			rc = rc == FD_NOTFOUND ? 0 : -1;
		}
		json_decref(found);
		json_decref(row);
		found = NULL;
	}
	if (st)
		drv(m->src)->finalize(st);
	return rc;
}

static int exec_dst(mig *m, const char *sql)
{
	char *text = fd_db__expand(drv(m->dst), sql);
	int rc = text ? drv(m->dst)->exec(m->dst->db, text) : FD_ERR;

	free(text);
	if (rc != FD_OK)
		fprintf(m->err, "migrate-store: %s: %s\n", sql,
		        drv(m->dst)->errmsg(m->dst->db));
	return rc == FD_OK ? 0 : -1;
}

static int copy_all(mig *m)
{
	long copied[NTABLES], checked, total = 0;
	size_t i;

	if (exec_dst(m, "{begin_write}") < 0)
		return -1;
	/* Other writers of these applications would race the check. */
	if (exec_dst(m, "{lock_table apps}") < 0 || refuse_existing(m) < 0)
		goto fail;
	/* Copy everything, then read everything back: a table's filter may
	 * need a later table (orgs are found through apps). */
	for (i = 0; i < NTABLES; i++) {
		if (load_cols(m, &tables[i]) < 0) {
			fprintf(m->err,
			        "migrate-store: %s: no such table in the "
			        "source\n",
			        tables[i].name);
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
	if (exec_dst(m, "COMMIT") < 0)
		return -1;
	fprintf(m->out, "%-18s %8ld rows, committed\n", "total", total);
	return 0;
fail:
	exec_dst(m, "ROLLBACK");
	fprintf(m->err,
	        "migrate-store: rolled back; the target is unchanged\n");
	return -1;
}

int fd_migrate_store(const char *from, const char *to, const char *app_id,
                     FILE *out, FILE *err)
{
	fd_store *src = NULL, *dst = NULL;
	const char *url;
	char msg[256], shown[512];
	mig m;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	m.app = app_id;
	m.out = out;
	m.err = err;
	fd_store_redact(shown, sizeof(shown), to);
	if (fd_db__driver_for(to, &url) != &fd_driver_pg) {
		fprintf(err, "migrate-store: --to must be a postgres:// URL\n");
		return -1;
	}
	if (fd_db__driver_for(from, &url) != &fd_driver_sqlite) {
		fprintf(err, "migrate-store: --from must be a SQLite file\n");
		return -1;
	}
	/* The source must be there: opening a store would create it. */
	if (access(url, R_OK | W_OK) < 0) {
		fprintf(err, "migrate-store: cannot open %s: %s\n", url,
		        strerror(errno));
		return -1;
	}
	/* Both schemas at the current version first. */
	if (fd_store_open(&src, from, 1, NULL, msg, sizeof(msg)) < 0) {
		fprintf(err, "migrate-store: %s: %s\n", from, msg);
		goto done;
	}
	if (fd_store_open(&dst, to, 1, NULL, msg, sizeof(msg)) < 0) {
		fprintf(err, "migrate-store: %s: %s\n", shown, msg);
		goto done;
	}
	m.src = fd_store_writer(src);
	m.dst = fd_store_writer(dst);
	rc = copy_all(&m);
done:
	cols_free(&m);
	free(m.old_seq);
	free(m.new_seq);
	fd_store_close(dst);
	fd_store_close(src);
	return rc;
}
