/*
 * The SQLite driver (driver.h): one file, WAL, one writer.
 *
 * The writer's commits only write the WAL (synchronous=NORMAL); sync
 * fdatasyncs it, so the engine can sync one batch while it runs the next.
 * A checkpointer thread with its own connection copies the WAL into the
 * database (PASSIVE: never blocking the writer or the readers), woken by
 * the writer's WAL hook every CKPT_PAGES pages; it keeps synchronous=FULL,
 * so the WAL is synced before any of it is copied.
 *
 * A PASSIVE checkpoint never restarts the WAL while the writer commits
 * without a pause (the WAL only starts again from its beginning once
 * every frame is copied and no reader needs one), so under sustained load
 * it grows without bound. The bound (wal_limit, fd_store_options): once
 * a commit leaves the WAL past it, the writer itself, in its WAL hook,
 * right after that commit and before the next batch begins, runs a
 * RESTART checkpoint: it copies what the checkpointer has not (usually
 * little), waits at most RESTART_WAIT_MS for readers still on old frames,
 * and the next commit writes the WAL from its start again, cut back to
 * wal_limit (journal_size_limit). The writer and the checkpointer never
 * checkpoint at once (run_mu): a checkpoint that finds another running
 * fails at once, without waiting. If readers outlast the wait, the
 * writer goes on and tries again once the WAL has grown by another
 * eighth of the limit.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "store/db.h"
#include "store/sqlite_log.h"

/* WAL pages after which the checkpointer is woken. */
#define CKPT_PAGES 1000
/* Every connection's busy timeout; the writer's RESTART checkpoint waits
 * for readers at most RESTART_WAIT_MS. */
#define BUSY_MS 10000
#define RESTART_WAIT_MS 200

struct fd_dbconn {
	sqlite3 *db;
	int wal_fd; /* the writer's WAL, for sync; -1 until first used */
	/* The writer's checkpointer. */
	sqlite3 *ckpt;
	pthread_t ckpt_thread;
	int ckpt_started, ckpt_quit, ckpt_due;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	/* Held by whoever checkpoints: the checkpointer or the writer. */
	pthread_mutex_t run_mu;
	/* The bound (writer thread only, after wal_limit): WAL frames past
	 * which the writer restarts the WAL (0: no bound), and the frame
	 * count before which it does not try again after a failed try. */
	int limit_frames, retry_frames;
	char *wal_path; /* the writer's WAL file, for its size and sync */
	/* Atomic counters for fd_store_wal_stats. */
	long restarts, restart_busy;
};

struct fd_dbstmt {
	sqlite3_stmt *st;
	sqlite3 *db;
};

static const fd_token tokens[] = {
        {"begin_read", "BEGIN"},
        {"begin_write", "BEGIN IMMEDIATE"},
        {"i64", "INTEGER"},
        {"blob", "BLOB"},
        {"serial", "INTEGER PRIMARY KEY"},
        {"without_rowid", " WITHOUT ROWID"},
        {"each", "json_each(%s) j"},
        {"skip_locked", ""},
        {"collate_c", ""},
        {"lock_table", "SELECT 1"},
        {"rate_table", "CREATE TEMP TABLE rate_windows(key_id TEXT NOT NULL,"
                       " window_start INTEGER NOT NULL, count INTEGER NOT"
                       " NULL, PRIMARY KEY(key_id, window_start))"},
        {"version_setup", ""},
        {"version_get", "PRAGMA user_version"},
        {"version_set", "PRAGMA user_version=%s"},
        {"migrate_lock", ""},
        {"migrate_unlock", ""},
        {NULL, NULL},
};

static int code_of(int rc)
{
	if (rc == SQLITE_ROW)
		return FD_ROW;
	if (rc == SQLITE_DONE || rc == SQLITE_OK)
		return FD_DONE;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return FD_CONFLICT;
	return FD_ERR;
}

/* Savepoint journals stay in memory (temp_store), and the writer's cache
 * holds a whole group commit so nothing spills before it. Readers cannot
 * change the journal mode; the writer sets it once and it is persistent
 * in the file. */
static int setup(sqlite3 *db, fd_role role, char **msg)
{
	const char *sql =
	        role == FD_ROLE_READER
	                ? "PRAGMA query_only=1; PRAGMA busy_timeout=10000;"
	                : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                  " PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;"
	                  " PRAGMA temp_store=MEMORY; PRAGMA "
	                  "cache_size=-16384;";

	return sqlite3_exec(db, sql, NULL, NULL, msg);
}

/* The database holds keys' hashes, webhook secrets and personal data: a
 * file other users may write is refused (they could change keys, or
 * read what it holds), one they may read is reported. New files are made
 * 0600 (main.c's umask). flockd writes its database: a read-only file
 * (by its mode, which root would otherwise ignore, or as SQLite opened
 * it) is refused at start rather than found at the first write. Checked
 * before the writer's set-up writes anything: 0, or -1 with the reason
 * in err. */
static int check_file(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int found = stat(path, &st) == 0;

	if (found && (st.st_mode & S_IWOTH)) {
		snprintf(err, errlen,
		         "%s is writable by other users (mode %04o): flockd "
		         "will not use it; run chmod o-w (better: chmod 600) "
		         "on it",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (found && (st.st_mode & S_IROTH))
		fd_log(FD_LOG_WARN,
		       "%s is readable by other users (mode %04o); chmod 600 "
		       "it",
		       path, (unsigned)(st.st_mode & 07777));
	if ((found && !(st.st_mode & S_IWUSR)) ||
	    sqlite3_db_readonly(db, "main") == 1) {
		snprintf(err, errlen,
		         "%s is read-only: flockd must write its database "
		         "(check the file's mode and the file system)",
		         path);
		return -1;
	}
	return 0;
}

static int open_db(sqlite3 **db, const char *path, fd_role role, char *err,
                   size_t errlen)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, opened;
	char *msg = NULL;

	fd_sqlite_log_install();
	if (role == FD_ROLE_WRITER)
		flags |= SQLITE_OPEN_CREATE;
	opened = sqlite3_open_v2(path, db, flags, NULL) == SQLITE_OK;
	if (opened && role == FD_ROLE_WRITER &&
	    check_file(*db, path, err, errlen) < 0) {
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	if (opened && setup(*db, role, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", path,
	         msg   ? msg
	         : *db ? sqlite3_errmsg(*db)
	               : "out of memory");
	sqlite3_free(msg);
	sqlite3_close(*db);
	*db = NULL;
	return -1;
}

/* On the writer thread, between its commits (from its WAL hook): copy
 * the rest of the WAL and restart it, waiting for readers at most
 * RESTART_WAIT_MS. */
static void restart_wal(fd_dbconn *c, int frames)
{
	int rc;

	pthread_mutex_lock(&c->run_mu);
	sqlite3_busy_timeout(c->db, RESTART_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART,
	                               NULL, NULL);
	sqlite3_busy_timeout(c->db, BUSY_MS);
	pthread_mutex_unlock(&c->run_mu);
	if (rc == SQLITE_OK) {
		c->retry_frames = 0;
		__atomic_add_fetch(&c->restarts, 1, __ATOMIC_RELAXED);
		return;
	}
	c->retry_frames = frames + c->limit_frames / 8 + 1;
	__atomic_add_fetch(&c->restart_busy, 1, __ATOMIC_RELAXED);
	fd_log(FD_LOG_DEBUG, "WAL restart postponed: %s", sqlite3_errstr(rc));
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	fd_dbconn *c = arg;

	(void)db;
	(void)name;
	if (c->limit_frames > 0 && pages >= c->limit_frames &&
	    pages >= c->retry_frames) {
		restart_wal(c, pages);
		return SQLITE_OK;
	}
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&c->ckpt_mu);
		c->ckpt_due = 1;
		pthread_cond_signal(&c->ckpt_cv);
		pthread_mutex_unlock(&c->ckpt_mu);
	}
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	fd_dbconn *c = arg;

	pthread_mutex_lock(&c->ckpt_mu);
	while (!c->ckpt_quit) {
		if (!c->ckpt_due) {
			pthread_cond_wait(&c->ckpt_cv, &c->ckpt_mu);
			continue;
		}
		c->ckpt_due = 0;
		pthread_mutex_unlock(&c->ckpt_mu);
		pthread_mutex_lock(&c->run_mu);
		sqlite3_wal_checkpoint_v2(
		        c->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_unlock(&c->run_mu);
		pthread_mutex_lock(&c->ckpt_mu);
	}
	pthread_mutex_unlock(&c->ckpt_mu);
	return NULL;
}

/* The writer's own: commits write the WAL only, the checkpointer runs. */
static int writer_setup(fd_dbconn *c, const char *path, char *err,
                        size_t errlen)
{
	const char *wal;

	if (sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
		return -1;
	}
	if (open_db(&c->ckpt, path, FD_ROLE_AUX, err, errlen) < 0)
		return -1;
	wal = sqlite3_filename_wal(sqlite3_db_filename(c->db, "main"));
	if (!wal || !(c->wal_path = strdup(wal))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pthread_create(&c->ckpt_thread, NULL, ckpt_main, c) != 0) {
		snprintf(err, errlen, "cannot start the checkpointer");
		return -1;
	}
	c->ckpt_started = 1;
	sqlite3_wal_autocheckpoint(c->db, 0);
	sqlite3_wal_hook(c->db, wal_hook, c);
	return 0;
}

static void sq_close(fd_dbconn *c)
{
	if (!c)
		return;
	if (c->ckpt_started) {
		pthread_mutex_lock(&c->ckpt_mu);
		c->ckpt_quit = 1;
		pthread_cond_signal(&c->ckpt_cv);
		pthread_mutex_unlock(&c->ckpt_mu);
		pthread_join(c->ckpt_thread, NULL);
		/* Fold the WAL back into the database on a clean stop. */
		sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
		             NULL, NULL);
	}
	sqlite3_close(c->ckpt);
	if (c->wal_fd >= 0)
		close(c->wal_fd);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->ckpt_mu);
	pthread_mutex_destroy(&c->run_mu);
	pthread_cond_destroy(&c->ckpt_cv);
	free(c->wal_path);
	free(c);
}

static int sq_open(fd_dbconn **out, const char *path, fd_role role, char *err,
                   size_t errlen)
{
	fd_dbconn *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->wal_fd = -1;
	pthread_mutex_init(&c->ckpt_mu, NULL);
	pthread_mutex_init(&c->run_mu, NULL);
	pthread_cond_init(&c->ckpt_cv, NULL);
	if (open_db(&c->db, path, role, err, errlen) < 0 ||
	    (role == FD_ROLE_WRITER &&
	     writer_setup(c, path, err, errlen) < 0)) {
		sq_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

static int sq_ensure(fd_dbconn *c)
{
	return c ? 0 : -1;
}

static int sq_exec(fd_dbconn *c, const char *sql)
{
	return code_of(sqlite3_exec(c->db, sql, NULL, NULL, NULL)) == FD_DONE
	               ? FD_OK
	               : FD_ERR;
}

static const char *sq_errmsg(fd_dbconn *c)
{
	return sqlite3_errmsg(c->db);
}

static int sq_prepare(fd_dbconn *c, const char *sql, fd_dbstmt **out)
{
	fd_dbstmt *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return FD_ERR;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	                       &st->st, NULL) != SQLITE_OK) {
		free(st);
		return FD_ERR;
	}
	st->db = c->db;
	*out = st;
	return FD_OK;
}

static void sq_finalize(fd_dbstmt *st)
{
	if (st) {
		sqlite3_finalize(st->st);
		free(st);
	}
}

static int sq_bind(fd_dbstmt *st, int i, const fd_value *v)
{
	int type = v->type & ~FD_T_INFER, rc;

	if (type == FD_T_NULL || (type == FD_T_TEXT && !v->s))
		rc = sqlite3_bind_null(st->st, i);
	else if (type == FD_T_TEXT)
		rc = sqlite3_bind_text(st->st, i, v->s, (int)v->len,
		                       SQLITE_STATIC);
	else if (type == FD_T_BLOB)
		rc = sqlite3_bind_blob(st->st, i, v->b, (int)v->len,
		                       SQLITE_STATIC);
	else
		rc = sqlite3_bind_int64(st->st, i, v->i);
	return rc == SQLITE_OK ? FD_OK : FD_ERR;
}

static int sq_step(fd_dbstmt *st)
{
	return code_of(sqlite3_step(st->st));
}

static void sq_reset(fd_dbstmt *st)
{
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
}

static long sq_changes(fd_dbstmt *st)
{
	return (long)sqlite3_changes(st->db);
}

static int sq_ncols(fd_dbstmt *st)
{
	return sqlite3_column_count(st->st);
}

static const char *sq_col_name(fd_dbstmt *st, int i)
{
	return sqlite3_column_name(st->st, i);
}

static void sq_col(fd_dbstmt *st, int i, fd_value *out)
{
	memset(out, 0, sizeof(*out));
	switch (sqlite3_column_type(st->st, i)) {
	case SQLITE_NULL:
		return;
	case SQLITE_INTEGER:
		out->type = FD_T_INT;
		out->i = sqlite3_column_int64(st->st, i);
		return;
	case SQLITE_FLOAT:
		out->type = FD_T_REAL;
		out->r = sqlite3_column_double(st->st, i);
		return;
	case SQLITE_BLOB:
		out->type = FD_T_BLOB;
		out->b = sqlite3_column_blob(st->st, i);
		break;
	default:
		out->type = FD_T_TEXT;
		out->s = (const char *)sqlite3_column_text(st->st, i);
	}
	out->len = (size_t)sqlite3_column_bytes(st->st, i);
}

static int sq_sync(fd_dbconn *c)
{
	/* fdatasync flushes the file, whichever descriptor names it, so
	 * our own descriptor of SQLite's WAL (the writer's wal_path) is
	 * enough. */
	if (c->wal_fd < 0 && c->wal_path)
		c->wal_fd = open(c->wal_path, O_RDWR | O_CLOEXEC);
	if (c->wal_fd < 0)
		return FD_ERR;
	return fdatasync(c->wal_fd) == 0 ? FD_OK : FD_ERR;
}

/* The writer's bound (before its first write transaction): frames of
 * the page size, and the file cut back to the bound when it restarts. */
static int sq_wal_limit(fd_dbconn *c, int64_t bytes)
{
	sqlite3_stmt *st = NULL;
	int64_t page = 4096;
	char sql[64];

	if (!c->ckpt_started || bytes <= 0)
		return FD_OK;
	if (sqlite3_prepare_v2(c->db, "PRAGMA page_size", -1, &st, NULL) ==
	            SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	/* A frame is a page and its 24-byte header. */
	c->limit_frames =
	        (int)(bytes / (page + 24) > 1 ? bytes / (page + 24) : 1);
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld",
	         (long long)bytes);
	return sq_exec(c, sql);
}

static void sq_wal_stats(fd_dbconn *c, fd_store_wal_stats *out)
{
	struct stat st;

	out->bytes = c->wal_path && stat(c->wal_path, &st) == 0
	                     ? (int64_t)st.st_size
	                     : 0;
	out->restarts = __atomic_load_n(&c->restarts, __ATOMIC_RELAXED);
	out->restart_busy = __atomic_load_n(&c->restart_busy, __ATOMIC_RELAXED);
}

const fd_driver fd_driver_sqlite = {
        .name = "sqlite",
        .shared = 0,
        .placeholder = '?',
        .tokens = tokens,
        .open = sq_open,
        .close = sq_close,
        .ensure = sq_ensure,
        .exec = sq_exec,
        .errmsg = sq_errmsg,
        .prepare = sq_prepare,
        .finalize = sq_finalize,
        .bind = sq_bind,
        .step = sq_step,
        .reset = sq_reset,
        .changes = sq_changes,
        .ncols = sq_ncols,
        .col_name = sq_col_name,
        .col = sq_col,
        .sync = sq_sync,
        .wal_limit = sq_wal_limit,
        .wal_stats = sq_wal_stats,
};
