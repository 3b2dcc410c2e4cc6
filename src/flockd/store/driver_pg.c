/*
 * The PostgreSQL driver (driver.h), on libpq.
 *
 * Several flockd nodes may share one database, so two writers' batches run
 * concurrently. What keeps exactly-once across nodes (docs/postgresql.md)
 * is in the operations (ON CONFLICT DO NOTHING, FD_RETRY when a row the
 * engine looked for appears, xact_lock before counts, skip_locked claims)
 * and here:
 *  - the writer runs at READ COMMITTED: every statement sees what other
 *    nodes committed before it started; readers run REPEATABLE READ READ
 *    ONLY (one snapshot per request);
 *  - deadlocks, serialization failures, lock timeouts and lost
 *    connections are FD_RETRY;
 *  - sessions have bounded waits, so a stuck peer turns into a retryable
 *    error rather than a hung writer.
 *
 * Statements are prepared on the server (one name per statement and
 * connection) the first time they run, with the types of the parameters
 * they were given, so SQL needs no casts; after a reconnection they are
 * prepared again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/log.h"
#include "store/db.h"

#define MAXP 24
/* Answers a pipeline may owe before the writer waits for them. */
#define MAXPEND 64

/* What an answer owed in pipeline mode is for (fd_dbconn.pend). */
enum { P_PREPARE, P_ANY, P_CHANGE, P_ROWS };

struct fd_dbconn {
	PGconn *db;
	char *url;
	fd_role role;
	int gen;       /* bumped on every (re)connection */
	int next_name; /* statement names on this connection */
	char err[256];
	/* Pipeline mode (pg_send): the answers owed, in the order sent. A
	 * P_PREPARE's statement is prepared once its answer is OK; a
	 * P_ROWS's result becomes its statement's rows. */
	int pipe, npend;
	int broken; /* replaced at the next pg_ensure (pipe_lost) */
	struct {
		int what;
		long seq; /* a P_ROWS's: its statement's ahead when sent */
		struct fd_dbstmt *st;
	} pend[MAXPEND];
	long seq;
};

struct fd_dbstmt {
	fd_dbconn *c;
	char *sql;
	char name[16];
	int prepared_gen; /* c->gen it was prepared for; -1: not yet */
	int n;            /* parameters */
	Oid types[MAXP];
	const char *vals[MAXP];
	int lens[MAXP], fmts[MAXP];
	char num[MAXP][24];
	PGresult *res;
	int row;    /* current row of res */
	long ahead; /* sent in pipeline mode, rows owed (a P_ROWS's seq) */
	uint8_t blob[64];
};

static const fd_token tokens[] = {
        {"begin_read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"},
        {"begin_write", "BEGIN ISOLATION LEVEL READ COMMITTED"},
        {"i64", "BIGINT"},
        {"blob", "BYTEA"},
        {"serial", "BIGSERIAL PRIMARY KEY"},
        {"without_rowid", ""},
        {"each", "jsonb_array_elements_text(CASE WHEN jsonb_typeof(%s::jsonb)"
                 " = 'array' THEN %s::jsonb ELSE '[]'::jsonb END) j(value)"},
        {"skip_locked", "FOR UPDATE OF %s SKIP LOCKED"},
        {"xact_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"},
        {"collate_c", " COLLATE \"C\""},
        {"lock_table", "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE"},
        {"rate_table", ""},
        {"version_setup", "CREATE TABLE IF NOT EXISTS flockd_schema("
                          "version INTEGER NOT NULL)"},
        {"version_get", "SELECT max(version) FROM flockd_schema"},
        {"version_set", "DELETE FROM flockd_schema; INSERT INTO"
                        " flockd_schema VALUES(%s)"},
        /* Serialises migrations of nodes starting at once ("flockmig"). */
        {"migrate_lock", "SELECT pg_advisory_lock(7380134885017315687)"},
        {"migrate_unlock", "SELECT pg_advisory_unlock(7380134885017315687)"},
        {NULL, NULL},
};

static const char session_setup[] =
        "SET statement_timeout = '30s'; SET lock_timeout = '10s';"
        " SET idle_in_transaction_session_timeout = '60s';"
        " SET synchronous_commit = on; SET client_min_messages = warning;"
        " SET client_encoding = 'UTF8'; SET bytea_output = 'hex'";
/* Read connections cannot write, even outside a transaction. */
static const char reader_setup[] = "SET default_transaction_read_only = on";

/* Class 40 (transaction rollback: serialization failure, deadlock),
 * lock_not_available and connection failures are worth running again. */
static int transient(const char *state)
{
	return state &&
	       (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0 ||
	        strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0);
}

/* The FD_* code of a failed result (NULL: no result at all). */
static int fail_code(fd_dbconn *c, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg =
	        r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(c->err, sizeof(c->err), "%s",
	         msg ? msg : PQerrorMessage(c->db));
	c->err[strcspn(c->err, "\n")] = '\0';
	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		fd_log(FD_LOG_WARN, "postgresql: connection lost");
		return FD_RETRY;
	}
	if (state && strncmp(state, "23", 2) == 0)
		return FD_CONFLICT;
	if (transient(state)) {
		fd_log(FD_LOG_INFO, "postgresql: %s (%s): will retry",
		       msg ? msg : "transient failure", state);
		return FD_RETRY;
	}
	/* Primary messages name objects, never values (those are in
	 * DETAIL, which is not logged). */
	fd_log(FD_LOG_WARN, "postgresql: %s (%s)", msg ? msg : "error",
	       state ? state : "-");
	return FD_ERR;
}

/* Exchanges with the server that wait for its answer (PQexec,
 * PQprepare, PQexecPrepared), every connection of the process: for
 * /metrics and bench_ingest's round trips per ingest. */
static long round_trips;

static void trip(void)
{
	__atomic_add_fetch(&round_trips, 1, __ATOMIC_RELAXED);
}

static long pg_round_trips(void)
{
	return __atomic_load_n(&round_trips, __ATOMIC_RELAXED);
}

/* r if the server ran its command, else NULL (r cleared) with *rc the
 * failure. */
static PGresult *checked(fd_dbconn *c, PGresult *r, int *rc)
{
	ExecStatusType st = PQresultStatus(r);

	*rc = FD_OK;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	*rc = fail_code(c, r);
	PQclear(r);
	return NULL;
}

static int pg_exec(fd_dbconn *c, const char *sql)
{
	int rc;

	trip();
	PQclear(checked(c, PQexec(c->db, sql), &rc));
	return rc;
}

static int connect_db(fd_dbconn *c, char *err, size_t errlen)
{
	const char *const keys[] = {"connect_timeout", "application_name",
	                            "dbname", NULL};
	const char *vals[] = {"10", "flockd", c->url, NULL};

	if (c->db)
		PQfinish(c->db);
	c->gen++;
	c->pipe = c->npend = c->broken = 0;
	c->db = PQconnectdbParams(keys, vals, 1);
	if (c->db && PQstatus(c->db) == CONNECTION_OK &&
	    pg_exec(c, session_setup) == FD_OK &&
	    (c->role != FD_ROLE_READER || pg_exec(c, reader_setup) == FD_OK))
		return 0;
	/* libpq's messages end with a newline. */
	snprintf(err, errlen, "PostgreSQL: %s",
	         c->db ? PQerrorMessage(c->db) : "out of memory");
	err[strcspn(err, "\n")] = '\0';
	return -1;
}

static void pg_close(fd_dbconn *c)
{
	if (!c)
		return;
	if (c->db)
		PQfinish(c->db);
	free(c->url);
	free(c);
}

static int pg_open(fd_dbconn **out, const char *url, fd_role role, char *err,
                   size_t errlen)
{
	fd_dbconn *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c || !(c->url = strdup(url))) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return -1;
	}
	c->role = role;
	if (connect_db(c, err, errlen) < 0) {
		pg_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* A connection the server dropped is replaced (its statements are
 * prepared again: the generation moves). */
static int pg_ensure(fd_dbconn *c)
{
	char err[256];

	if (c->db && !c->broken && PQstatus(c->db) == CONNECTION_OK)
		return 0;
	if (connect_db(c, err, sizeof(err)) < 0) {
		fd_log(FD_LOG_ERROR, "%s", err);
		return -1;
	}
	fd_log(FD_LOG_WARN, "postgresql: reconnected");
	return 0;
}

static const char *pg_errmsg(fd_dbconn *c)
{
	return c->err[0] ? c->err : "error";
}

static int pg_prepare(fd_dbconn *c, const char *sql, fd_dbstmt **out)
{
	fd_dbstmt *st = calloc(1, sizeof(*st));
	const char *p;

	*out = NULL;
	if (!st || !(st->sql = strdup(sql))) {
		free(st);
		return FD_ERR;
	}
	/* $N placeholders: as many parameters as the highest N. */
	for (p = strchr(sql, '$'); p; p = strchr(p + 1, '$')) {
		long n = strtol(p + 1, NULL, 10);

		if (n > st->n && n <= MAXP)
			st->n = (int)n;
	}
	st->c = c;
	st->prepared_gen = -1;
	snprintf(st->name, sizeof(st->name), "f%d", c->next_name++);
	*out = st;
	return FD_OK;
}

static void pg_reset(fd_dbstmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->ahead = 0;
	st->row = -1;
}

static void pg_finalize(fd_dbstmt *st)
{
	if (!st)
		return;
	pg_reset(st);
	free(st->sql);
	free(st);
}

static int pg_bind(fd_dbstmt *st, int i, const fd_value *v)
{
	static const Oid oid[] = {[FD_T_NULL] = 20,
	                          [FD_T_INT] = 20,
	                          [FD_T_TEXT] = 25,
	                          [FD_T_BLOB] = 17};
	int k = i - 1, type = v->type & ~FD_T_INFER;

	if (k < 0 || k >= MAXP || type == FD_T_REAL)
		return FD_ERR;
	st->types[k] = v->type & FD_T_INFER ? 0 : oid[type];
	st->fmts[k] = type == FD_T_BLOB;
	st->lens[k] = (int)v->len;
	st->vals[k] = type == FD_T_BLOB   ? (const char *)v->b
	              : type == FD_T_TEXT ? v->s
	                                  : NULL;
	if (type == FD_T_INT) {
		snprintf(st->num[k], sizeof(st->num[k]), "%" PRId64, v->i);
		st->vals[k] = st->num[k];
	}
	return FD_OK;
}

static int run_piped(fd_dbstmt *st);

static int run(fd_dbstmt *st)
{
	fd_dbconn *c = st->c;
	PGresult *r;
	int rc;

	if (!c->db)
		return fail_code(c, NULL);
	if (c->pipe)
		return run_piped(st);
	if (st->prepared_gen != c->gen) {
		trip();
		r = PQprepare(c->db, st->name, st->sql, st->n, st->types);
		PQclear(checked(c, r, &rc));
		if (rc != FD_OK)
			return rc;
		st->prepared_gen = c->gen;
	}
	trip();
	r = PQexecPrepared(c->db, st->name, st->n, st->vals, st->lens, st->fmts,
	                   0);
	st->res = checked(c, r, &rc);
	st->row = -1;
	/* PostgreSQL answers COMMIT of a transaction a failed statement
	 * aborted with "ROLLBACK" and no error: nothing was committed. */
	if (rc == FD_OK && !strncmp(st->sql, "COMMIT", 6) &&
	    !strcmp(PQcmdStatus(st->res), "ROLLBACK")) {
		fd_log(FD_LOG_ERROR, "postgresql: COMMIT rolled back: a "
		                     "statement of the transaction failed");
		PQclear(st->res);
		st->res = NULL;
		return FD_ERR;
	}
	return rc;
}

/* ---- pipeline mode ----------------------------------------------------
 *
 * The writer's batches without savepoints (engine/writer.c) send the
 * statements whose rows nobody reads (BEGIN, INSERT, UPDATE: fd_db__query
 * kinds EXEC, CHANGE and INSERT) without waiting for their answers; the
 * next statement whose rows are read, or pg_flush before COMMIT, waits
 * for all of them in one round trip. A failure among them, or an UPDATE
 * or INSERT that changed no row, is FD_RETRY there: the writer runs the
 * batch again with savepoints and without the pipeline, where each
 * statement answers for itself.
 */

static void queue(fd_dbconn *c, int what, fd_dbstmt *st)
{
	c->pend[c->npend].what = what;
	c->pend[c->npend].st = st;
	c->pend[c->npend].seq = 0;
	if (what == P_ROWS)
		c->pend[c->npend].seq = st->ahead = ++c->seq;
	c->npend++;
}

/* Owed answer i will not be read: its statement is not prepared, or no
 * longer owed rows (unless it was sent again since). */
static void forget(fd_dbconn *c, int i)
{
	fd_dbstmt *st = c->pend[i].st;

	if (c->pend[i].what == P_PREPARE)
		st->prepared_gen = -1;
	else if (c->pend[i].what == P_ROWS && st->ahead == c->pend[i].seq)
		st->ahead = 0;
}

/* Send st (prepared first if it is not on this connection yet). */
static int send_one(fd_dbstmt *st, int what)
{
	fd_dbconn *c = st->c;

	if (!c->pipe) {
		if (!PQenterPipelineMode(c->db))
			return fail_code(c, NULL);
		c->pipe = 1;
	}
	if (st->prepared_gen != c->gen) {
		if (!PQsendPrepare(c->db, st->name, st->sql, st->n, st->types))
			return fail_code(c, NULL);
		st->prepared_gen = c->gen;
		queue(c, P_PREPARE, st);
	}
	if (!PQsendQueryPrepared(c->db, st->name, st->n, st->vals, st->lens,
	                         st->fmts, 0))
		return fail_code(c, NULL);
	queue(c, what, st);
	return FD_OK;
}

/* After an error the server skips everything up to a sync: read up to
 * it. */
static void skip_to_sync(fd_dbconn *c)
{
	PGresult *r;
	int n = 0;

	if (!PQpipelineSync(c->db))
		return;
	while (n < 4 * MAXPEND && PQstatus(c->db) == CONNECTION_OK) {
		r = PQgetResult(c->db);
		if (r && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			return;
		}
		PQclear(r);
		n++;
	}
}

/* One owed answer: its result, then the NULL that ends it. 0: the
 * server ran it (*r its result, kept for a P_ROWS); -1: an error or
 * skipped after one. */
static int answer(fd_dbconn *c, PGresult **r)
{
	ExecStatusType st;

	*r = PQgetResult(c->db);
	st = *r ? PQresultStatus(*r) : PGRES_FATAL_ERROR;
	if (*r)
		PQclear(PQgetResult(c->db));
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
}

/* libpq refused to send: the connection's state is unknown, so it is
 * replaced at the next pg_ensure (outside the transaction, which the
 * server rolls back). What was owed is forgotten. */
static int pipe_lost(fd_dbconn *c)
{
	int i;

	for (i = 0; i < c->npend; i++)
		forget(c, i);
	c->npend = 0;
	c->pipe = 0;
	c->broken = 1;
	return FD_RETRY;
}

/*
 * Wait for every owed answer (one round trip) and leave pipeline mode
 * unless keep. FD_OK; FD_RETRY when one of the unread statements failed
 * or changed no row where it had to; the failure of the P_ROWS statement
 * itself as its code.
 */
static int collect_all(fd_dbconn *c, int keep)
{
	int i, rc = FD_OK, server_error = 0;
	PGresult *r;

	trip();
	if (!PQsendFlushRequest(c->db) || PQflush(c->db) != 0) {
		fail_code(c, NULL);
		return pipe_lost(c);
	}
	for (i = 0; i < c->npend; i++) {
		int what = c->pend[i].what;
		fd_dbstmt *st = c->pend[i].st;
		int bad = answer(c, &r) < 0;

		if (bad) {
			server_error |= r && PQresultStatus(r) !=
			                             PGRES_PIPELINE_ABORTED;
			if (rc == FD_OK)
				rc = what == P_ROWS && r &&
				                     PQresultStatus(r) !=
				                             PGRES_PIPELINE_ABORTED
				             ? fail_code(c, r)
				             : FD_RETRY;
			forget(c, i);
		} else if (what == P_CHANGE && !strcmp(PQcmdTuples(r), "0")) {
			if (rc == FD_OK)
				rc = FD_RETRY;
		} else if (what == P_ROWS && rc == FD_OK &&
		           st->ahead == c->pend[i].seq) {
			/* (A statement reset since has no use for it.) */
			st->res = r;
			st->row = -1;
			r = NULL;
		}
		if (what == P_ROWS && st->ahead == c->pend[i].seq)
			st->ahead = 0;
		PQclear(r);
		if (PQstatus(c->db) != CONNECTION_OK) {
			rc = fail_code(c, NULL);
			break;
		}
	}
	/* Statements the loop did not reach were never prepared or run. */
	for (; i < c->npend; i++)
		forget(c, i);
	c->npend = 0;
	if (server_error && PQstatus(c->db) == CONNECTION_OK)
		skip_to_sync(c);
	if (!keep || rc != FD_OK) {
		if (PQstatus(c->db) == CONNECTION_OK)
			PQexitPipelineMode(c->db);
		c->pipe = 0;
	}
	return rc;
}

/* A statement whose rows are read, in pipeline mode: sent after what is
 * owed, and waited for with it. */
static int run_piped(fd_dbstmt *st)
{
	fd_dbconn *c = st->c;
	int rc;

	if (c->npend + 2 > MAXPEND && (rc = collect_all(c, 1)) != FD_OK)
		return rc;
	return send_one(st, P_ROWS) == FD_OK ? collect_all(c, 1)
	                                     : pipe_lost(c);
}

/* Send st without waiting for its answer (driver.h send). */
static int pg_send(fd_dbstmt *st, int want)
{
	fd_dbconn *c = st->c;
	int rc;

	if (!c->db)
		return fail_code(c, NULL);
	if (c->npend + 2 > MAXPEND && (rc = collect_all(c, 1)) != FD_OK)
		return rc;
	rc = send_one(st, want == FD_SEND_ROWS     ? P_ROWS
	                  : want == FD_SEND_CHANGE ? P_CHANGE
	                                           : P_ANY);
	return rc == FD_OK ? rc : pipe_lost(c);
}

/* Wait for what pg_send sent; leave pipeline mode (driver.h flush). */
static int pg_flush(fd_dbconn *c)
{
	if (!c->pipe)
		return FD_OK;
	return collect_all(c, 0);
}

static int pg_step(fd_dbstmt *st)
{
	int rc;

	/* Sent ahead (FD_SEND_ROWS): its rows come with what is owed. */
	if (st->ahead && (rc = collect_all(st->c, 1)) != FD_OK)
		return rc;
	if (!st->res && (rc = run(st)) != FD_OK)
		return rc;
	st->row++;
	return st->row < PQntuples(st->res) ? FD_ROW : FD_DONE;
}

static long pg_changes(fd_dbstmt *st)
{
	const char *n = st->res ? PQcmdTuples(st->res) : NULL;

	return n && *n ? strtol(n, NULL, 10) : 0;
}

static int pg_ncols(fd_dbstmt *st)
{
	return st->res ? PQnfields(st->res) : 0;
}

static const char *pg_col_name(fd_dbstmt *st, int i)
{
	return PQfname(st->res, i);
}

/* bytea in text format is "\\x" then hex: decoded into st->blob. */
static void unhex(fd_dbstmt *st, const char *t, fd_value *out)
{
	size_t n = strlen(t), k;

	if (n < 2 || n % 2 || (n - 2) / 2 > sizeof(st->blob))
		return;
	for (k = 0; k < (n - 2) / 2; k++) {
		char pair[3] = {t[2 + 2 * k], t[3 + 2 * k], '\0'}, *end;

		st->blob[k] = (uint8_t)strtoul(pair, &end, 16);
		if (*end)
			return;
	}
	out->type = FD_T_BLOB;
	out->b = st->blob;
	out->len = k;
}

static void pg_col(fd_dbstmt *st, int i, fd_value *out)
{
	const char *t = PQgetvalue(st->res, st->row, i);

	memset(out, 0, sizeof(*out));
	if (PQgetisnull(st->res, st->row, i))
		return;
	switch (PQftype(st->res, i)) {
	case 16: /* bool */
		out->type = FD_T_INT;
		out->i = t[0] == 't';
		return;
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
		out->type = FD_T_INT;
		out->i = strtoll(t, NULL, 10);
		return;
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 1700: /* numeric */
		out->type = FD_T_REAL;
		out->r = strtod(t, NULL);
		return;
	case 17: /* bytea */
		unhex(st, t, out);
		return;
	default:
		out->type = FD_T_TEXT;
		out->s = t;
		out->len = (size_t)PQgetlength(st->res, st->row, i);
	}
}

/* COMMIT with synchronous_commit on has already waited for the WAL
 * flush: nothing is left to sync. */
static int pg_sync(fd_dbconn *c)
{
	(void)c;
	return FD_OK;
}

const fd_driver fd_driver_pg = {
        .name = "postgresql",
        .shared = 1,
        .placeholder = '$',
        .tokens = tokens,
        .round_trips = pg_round_trips,
        .send = pg_send,
        .flush = pg_flush,
        .open = pg_open,
        .close = pg_close,
        .ensure = pg_ensure,
        .exec = pg_exec,
        .errmsg = pg_errmsg,
        .prepare = pg_prepare,
        .finalize = pg_finalize,
        .bind = pg_bind,
        .step = pg_step,
        .reset = pg_reset,
        .changes = pg_changes,
        .ncols = pg_ncols,
        .col_name = pg_col_name,
        .col = pg_col,
        .sync = pg_sync,
};
