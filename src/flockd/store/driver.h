/*
 * What a database driver gives the storage layer: connections, prepared
 * statements with typed parameters, rows with typed columns, and the few
 * pieces of SQL that differ between databases. Every store operation is
 * written once (store/ops_*.c) over this table; driver_sqlite.c and
 * driver_pg.c fill it. Only the files of store/ include this file.
 *
 * SQL is written once, in SQLite's spelling of parameters (?1, ?2 ...)
 * and with {tokens} where the databases differ; store/db.c expands the
 * tokens from the driver's table and, for a driver whose placeholder is
 * '$', writes ?N as $N. Aliases are double-quoted ("createdAt"), which
 * both databases keep as written.
 *
 * Return codes of the int functions: FD_OK, FD_CONFLICT (a constraint
 * refused the row), FD_RETRY (transient: deadlock, serialization failure,
 * lock timeout, lost connection: the job may run again), FD_ERR; step
 * also returns FD_ROW (a row is there) and FD_DONE (no more rows).
 * Drivers log what the database said (never the values it was given).
 */
#ifndef FLOCKD_STORE_DRIVER_H
#define FLOCKD_STORE_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum { FD_ROW = 100, FD_DONE = 101 };

/* What fd_driver.send's caller wants of a statement's answer. */
enum { FD_SEND_ANY, FD_SEND_CHANGE, FD_SEND_ROWS };

/* Column and parameter types. As a parameter type, FD_T_NULL is a NULL
 * integer; a NULL text is FD_T_TEXT with no text. */
enum { FD_T_NULL = 0, FD_T_INT, FD_T_REAL, FD_T_TEXT, FD_T_BLOB };
/* Or'ed into a parameter type: the database infers the parameter's type
 * from where it is used (column-for-column copies of migrate-store). */
#define FD_T_INFER 0x10

/* What a connection is for. */
typedef enum {
	FD_ROLE_WRITER, /* the one write connection: the engine's writer */
	FD_ROLE_READER, /* a pooled read-only connection */
	FD_ROLE_AUX     /* read-write, autocommit (rate limiter) */
} fd_role;

typedef struct {
	const char *name, *text;
} fd_token;

typedef struct fd_dbconn fd_dbconn;
typedef struct fd_dbstmt fd_dbstmt;

/* A parameter or a column's value: only the fields of its type are set
 * (a NULL has s and b NULL). Text and blobs are not copied: a column's
 * stay valid until the next step or reset, a parameter's must live until
 * the statement is reset. */
typedef struct {
	int type;      /* FD_T_*; a parameter's may have FD_T_INFER */
	int64_t i;     /* FD_T_INT */
	double r;      /* FD_T_REAL */
	const char *s; /* FD_T_TEXT, NUL-terminated (NULL: a NULL text) */
	const void *b; /* FD_T_BLOB */
	size_t len;    /* bytes of s or b */
} fd_value;

typedef struct {
	const char *name; /* "sqlite", "postgresql" */
	/* Several processes may write the database at once (PostgreSQL
	 * nodes): rows another transaction holds are skipped, and counts that
	 * must be exact across nodes live in the database. */
	int shared;
	char placeholder; /* '?' or '$' */
	/*
	 * {name} in SQL becomes text. A token with an
	 * argument, {name arg}, has %s where arg goes. A token's text is used
	 * as it is (its parameters already in the driver's spelling). Every
	 * driver defines: begin_read, begin_write (BEGIN of a read snapshot
	 * and of the writer's transaction), i64, blob, serial (an integer
	 * key the database assigns), without_rowid (table option),
	 * each X (a FROM item: the elements of JSON
	 * array text X as rows j with column value), skip_locked T (after
	 * LIMIT: lock the selected rows of alias T, skipping rows another
	 * transaction holds; "" with one writer), xact_lock (hold a lock named
	 * by parameter 1 until the transaction ends; run on shared drivers
	 * only, so that a count and the insert it allows are not raced),
	 * collate_c (after a column in ORDER BY: byte order), lock_table T
	 * (keep other writers out of table T until the transaction ends;
	 * nothing more than begin_write where that already does), rate_table
	 * (run on the rate limiter's connection: where one process owns the
	 * database, a private rate_windows for its counts; "" to use the
	 * shared table). The schema version: version_get returns one row,
	 * one integer (no row or NULL: 0), version_set N sets it; migrations
	 * run between migrate_lock and migrate_unlock (may be ""), each in a
	 * transaction begun with begin_write; version_setup (may be "") runs
	 * first.
	 */
	const fd_token *tokens; /* ends with {NULL, NULL} */

	/* Open a connection to url ("sqlite" a path). 0, or -1 with the
	 * reason in err (never a password). */
	int (*open)(fd_dbconn **out, const char *url, fd_role role, char *err,
	            size_t errlen);
	void (*close)(fd_dbconn *c);
	/* The connection is usable, reconnecting if it was dropped (only
	 * called outside a transaction): 0, or -1. */
	int (*ensure)(fd_dbconn *c);
	/* Run SQL with no parameters and no rows (several statements may be
	 * separated by ';'). */
	int (*exec)(fd_dbconn *c, const char *sql);
	/* What the database said about the last failure on c (for start-up
	 * errors: names objects, never values). */
	const char *(*errmsg)(fd_dbconn *c);
	/* A statement for sql (already expanded) on c; it stays valid across
	 * reconnections of c. */
	int (*prepare)(fd_dbconn *c, const char *sql, fd_dbstmt **out);
	void (*finalize)(fd_dbstmt *st);
	/* Parameter i (1-based). */
	int (*bind)(fd_dbstmt *st, int i, const fd_value *v);
	int (*step)(fd_dbstmt *st);
	/* Ready for new parameters; rows of the last run are gone. */
	void (*reset)(fd_dbstmt *st);
	/* Rows changed by the last run (after FD_DONE). */
	long (*changes)(fd_dbstmt *st);
	/* The current row's columns (0-based) and their names (valid after
	 * a step). */
	int (*ncols)(fd_dbstmt *st);
	const char *(*col_name)(fd_dbstmt *st, int i);
	void (*col)(fd_dbstmt *st, int i, fd_value *out);
	/* Make everything the writer committed durable (store.h
	 * fd_store_sync): FD_OK or FD_ERR. */
	int (*sync)(fd_dbconn *writer);
	/* Optional (NULL: the database has no WAL of ours to bound). Keep
	 * the writer's WAL near bytes (fd_store_options.wal_limit; <= 0:
	 * no bound), set before the writer's first write: FD_OK or FD_ERR.
	 * wal_stats may be called from any thread while the writer runs. */
	int (*wal_limit)(fd_dbconn *writer, int64_t bytes);
	void (*wal_stats)(fd_dbconn *writer, fd_store_wal_stats *out);
	/* Optional (NULL: every statement runs when it is stepped). Send
	 * st's run on its connection, in a transaction, without waiting for
	 * the answer. FD_SEND_ANY and FD_SEND_CHANGE: rows nobody reads (st
	 * may be reset and bound again at once); what it failed, or that it
	 * changed no row (FD_SEND_CHANGE), shows as FD_RETRY at the next step
	 * of a statement on the connection or at flush. FD_SEND_ROWS: its
	 * rows are read by stepping st (not reset before), which waits for
	 * everything sent before it in the same round trip. flush waits for
	 * every answer sent: FD_OK or FD_RETRY. */
	int (*send)(fd_dbstmt *st, int want);
	int (*flush)(fd_dbconn *c);
	/* Optional: the process's round trips to the database so far (each
	 * exchange that waits for the server's answer), any thread. */
	long (*round_trips)(void);
} fd_driver;

extern const fd_driver fd_driver_sqlite;
extern const fd_driver fd_driver_pg;

#endif
