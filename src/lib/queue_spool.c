/*
 * The queue's spool: one SQLite database in WAL mode, one row per event
 * held, inserted before the enqueue returns and deleted once the event has
 * left the queue. Rows are never updated, so a crash at any point leaves
 * each event either absent (its enqueue had not returned) or present
 * (sent again, with its key, by the next queue on the file).
 *
 * The file is ours only if it says so: application_id "FLKQ" and a schema
 * version we know. Anything else (another program's database, a newer
 * schema, a damaged file) is refused with FLOCK_ESPOOL before anything is
 * written to it. The connection runs in EXCLUSIVE locking mode: the lock
 * taken at open is held until close, so a second queue or process on the
 * same file is refused instead of sending the same events twice.
 */
#include "queue_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"

#define SPOOL_APP_ID 0x464C4B51 /* "FLKQ" */
#define SPOOL_SCHEMA 1
/* Give freed pages back to the file system once this many are free. */
#define SPOOL_VACUUM_PAGES 256

static const char SCHEMA[] =
        "CREATE TABLE flock_queue_events("
        " seq INTEGER PRIMARY KEY,"
        " op INTEGER NOT NULL,"
        " idempotency_key TEXT NOT NULL,"
        " customer TEXT NOT NULL,"
        " name TEXT,"
        " body TEXT NOT NULL,"
        " enqueued_at INTEGER NOT NULL);"
        "CREATE TABLE flock_queue_meta(name TEXT PRIMARY KEY,"
        " value TEXT NOT NULL);"
        "INSERT INTO flock_queue_meta VALUES('created_by',"
        " 'libflock " FLOCK_VERSION "');";

/* FLOCK_ESPOOL naming the file, what failed and SQLite's reason. */
static int spool_fail(const flock_queue *q, sqlite3 *db, const char *what)
{
	int ec = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
	const char *why = db ? sqlite3_errmsg(db) : "cannot open";

	if ((ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED)
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is in use by another queue "
		                        "or process",
		                        q->spool_path);
	if ((ec & 0xff) == SQLITE_NOTADB)
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is not a libflock spool "
		                        "(not an SQLite database)",
		                        q->spool_path);
	if ((ec & 0xff) == SQLITE_CORRUPT)
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is corrupt (%s: %s)",
		                        q->spool_path, what, why);
	return flock__error_set(FLOCK_ESPOOL, "spool %s: %s: %s",
	                        q->spool_path, what, why);
}

static int exec(flock_queue *q, sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return spool_fail(q, db, sql);
	return 0;
}

/* The integer a one-value statement (a PRAGMA) answers. */
static int query_int(flock_queue *q, sqlite3 *db, const char *sql,
                     long long *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return spool_fail(q, db, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else
		rc = spool_fail(q, db, sql);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc;
}

/*
 * Before SQLite sees the file: create it (mode 0600: events carry
 * customers' emails) when absent, and refuse one that is not SQLite at
 * all, with a message that says so. *fresh: absent or empty.
 */
static int check_file(flock_queue *q, int *fresh)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat sb;
	ssize_t n;
	int fd;

	*fresh = 0;
	fd = open(q->spool_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(q->spool_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		          0600);
		if (fd < 0)
			return flock__error_set(FLOCK_ESPOOL,
			                        "spool %s: cannot create: %s",
			                        q->spool_path, strerror(errno));
		close(fd);
		*fresh = 1;
		return 0;
	}
	if (fd < 0)
		return flock__error_set(FLOCK_ESPOOL, "spool %s: cannot open: %s",
		                        q->spool_path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is not a regular file",
		                        q->spool_path);
	}
	n = sb.st_size == 0 ? 0 : read(fd, head, sizeof(head));
	close(fd);
	if (sb.st_size == 0) {
		*fresh = 1;
		return 0;
	}
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)))
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is not a libflock spool "
		                        "(not an SQLite database)",
		                        q->spool_path);
	return 0;
}

/* Is this SQLite database a spool we can read? *fresh if it is empty. */
static int check_identity(flock_queue *q, sqlite3 *db, int *fresh)
{
	long long app = 0, ver = 0, tables = 0;
	int rc;

	if ((rc = query_int(q, db, "PRAGMA application_id", &app)) != 0 ||
	    (rc = query_int(q, db, "PRAGMA user_version", &ver)) != 0 ||
	    (rc = query_int(q, db, "SELECT count(*) FROM sqlite_master",
	                    &tables)) != 0)
		return rc;
	if (app == 0 && ver == 0 && tables == 0) {
		*fresh = 1;
		return 0;
	}
	if (app != SPOOL_APP_ID)
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is not a libflock spool (an "
		                        "SQLite database of another program, "
		                        "application_id 0x%08llx)",
		                        q->spool_path, (unsigned long long)app);
	if (ver > SPOOL_SCHEMA)
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s was written by a newer libflock "
		                        "(spool schema %lld; this one reads %d)",
		                        q->spool_path, ver, SPOOL_SCHEMA);
	if (ver < 1)
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is corrupt (schema version %lld)",
		                        q->spool_path, ver);
	return 0;
}

static int create_schema(flock_queue *q, sqlite3 *db)
{
	char sql[160];
	int rc;

	/* auto_vacuum must be chosen before the first table exists. */
	if ((rc = exec(q, db, "PRAGMA auto_vacuum=INCREMENTAL")) != 0 ||
	    (rc = exec(q, db, "PRAGMA journal_mode=WAL")) != 0 ||
	    (rc = exec(q, db, "BEGIN IMMEDIATE")) != 0)
		return rc;
	snprintf(sql, sizeof(sql),
	         "PRAGMA application_id=%d; PRAGMA user_version=%d;",
	         SPOOL_APP_ID, SPOOL_SCHEMA);
	if ((rc = exec(q, db, SCHEMA)) != 0 || (rc = exec(q, db, sql)) != 0 ||
	    (rc = exec(q, db, "COMMIT")) != 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

static int integrity(flock_queue *q, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	int rc = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
	    SQLITE_OK)
		return spool_fail(q, db, "quick_check");
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = spool_fail(q, db, "quick_check");
	else if ((res = (const char *)sqlite3_column_text(st, 0)) == NULL ||
	         strcmp(res, "ok") != 0)
		rc = flock__error_set(FLOCK_ESPOOL, "spool %s is corrupt (%s)",
		                      q->spool_path, res ? res : "?");
	sqlite3_finalize(st);
	return rc;
}

/* Write once at open, so the exclusive lock is ours from now on. */
static int take_lock(flock_queue *q, sqlite3 *db)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
	         "BEGIN IMMEDIATE; INSERT OR REPLACE INTO flock_queue_meta "
	         "VALUES('opened_at', '%lld'); COMMIT;",
	         (long long)flock__queue_wall(q));
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		int rc = spool_fail(q, db, "lock");

		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

static int valid_key(const char *k)
{
	size_t n = 0;

	for (; k[n]; n++) {
		if ((unsigned char)k[n] < 0x21 || (unsigned char)k[n] > 0x7e)
			return 0;
	}
	return n > 0 && n <= 255;
}

/* One row back into the queue, refusing a row that makes no sense. */
static int load_row(flock_queue *q, sqlite3_stmt *st)
{
	int64_t seq = sqlite3_column_int64(st, 0);
	int op = sqlite3_column_int(st, 1);
	const char *key = (const char *)sqlite3_column_text(st, 2);
	const char *cust = (const char *)sqlite3_column_text(st, 3);
	const char *name = (const char *)sqlite3_column_text(st, 4);
	const char *body = (const char *)sqlite3_column_text(st, 5);
	json_t *j = NULL;

	if (body)
		j = json_loads(body, 0, NULL);
	if (op < FLOCK_QUEUE_OP_INGEST || op > FLOCK_QUEUE_OP_TRIGGER ||
	    key == NULL || !valid_key(key) || cust == NULL || !cust[0] ||
	    !json_is_object(j) || (op == FLOCK_QUEUE_OP_INGEST && !name)) {
		json_decref(j);
		return flock__error_set(FLOCK_ESPOOL,
		                        "spool %s is corrupt (event %lld is not "
		                        "a queued call)",
		                        q->spool_path, (long long)seq);
	}
	json_decref(j);
	if (seq >= q->next_seq)
		q->next_seq = seq + 1;
	return flock__queue_resume_event(q, seq, op, key, cust, name, body,
	                                 sqlite3_column_int64(st, 6));
}

static int load(flock_queue *q, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
	                       "SELECT seq, op, idempotency_key, customer, "
	                       "name, body, enqueued_at FROM "
	                       "flock_queue_events ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return spool_fail(q, db, "read events");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = load_row(q, st)) != 0)
			break;
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = spool_fail(q, db, "read events");
	sqlite3_finalize(st);
	return rc;
}

static int prepare(flock_queue *q, sqlite3 *db)
{
	if (sqlite3_prepare_v3(db,
	                       "INSERT INTO flock_queue_events(seq, op, "
	                       "idempotency_key, customer, name, body, "
	                       "enqueued_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &q->st_insert,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db,
	                       "DELETE FROM flock_queue_events WHERE seq = ?1",
	                       -1, SQLITE_PREPARE_PERSISTENT, &q->st_delete,
	                       NULL) != SQLITE_OK)
		return spool_fail(q, db, "prepare");
	return 0;
}

static int open_checked(flock_queue *q, sqlite3 *db, int fresh)
{
	int rc;

	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 0);
	if ((rc = exec(q, db, "PRAGMA locking_mode=EXCLUSIVE")) != 0)
		return rc;
	if (!fresh && (rc = check_identity(q, db, &fresh)) != 0)
		return rc;
	if (fresh) {
		if ((rc = create_schema(q, db)) != 0)
			return rc;
	} else if ((rc = exec(q, db, "PRAGMA journal_mode=WAL")) != 0 ||
	           (rc = integrity(q, db)) != 0) {
		return rc;
	}
	/* Every check reads only: a refused file is left as it was. */
	if ((rc = prepare(q, db)) != 0 || (rc = load(q, db)) != 0)
		return rc;
	if ((rc = take_lock(q, db)) != 0)
		return rc;
	return exec(q, db, "PRAGMA journal_size_limit=4194304");
}

int flock__spool_open(flock_queue *q)
{
	sqlite3 *db = NULL;
	int fresh, rc;

	if ((rc = check_file(q, &fresh)) != 0)
		return rc;
	if (sqlite3_open_v2(q->spool_path, &db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		rc = db ? spool_fail(q, db, "open")
		        : flock__error_set(FLOCK_ENOMEM, "out of memory");
		sqlite3_close(db);
		return rc;
	}
	q->db = db;
	if ((rc = open_checked(q, db, fresh)) != 0) {
		flock__spool_close(q);
		return rc;
	}
	return 0;
}

static int step_reset(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_row(flock_queue *q, const qevent *e)
{
	sqlite3_stmt *st = q->st_insert;

	sqlite3_bind_int64(st, 1, e->seq);
	sqlite3_bind_int(st, 2, e->op);
	sqlite3_bind_text(st, 3, e->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->cust->name, -1, SQLITE_STATIC);
	if (e->name)
		sqlite3_bind_text(st, 5, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, e->enq_wall);
	return step_reset(st);
}

/* One transaction: deletions first (a drop makes room), then inserts. */
static int write_txn(flock_queue *q, const int64_t *dels, size_t ndels,
                     const qevent *writes)
{
	const char *sync = writes && q->sync == FLOCK_QUEUE_SYNC_FULL
	                           ? "PRAGMA synchronous=FULL"
	                           : "PRAGMA synchronous=NORMAL";
	size_t i;

	if (sqlite3_exec(q->db, sync, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	            SQLITE_OK)
		return -1;
	for (i = 0; i < ndels; i++) {
		sqlite3_bind_int64(q->st_delete, 1, dels[i]);
		if (step_reset(q->st_delete) != 0)
			goto fail;
	}
	for (; writes; writes = writes->wnext) {
		if (insert_row(q, writes) != 0)
			goto fail;
	}
	if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
fail:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Put deletions that did not commit back in front of newer ones. */
static void restore_dels(flock_queue *q, int64_t *dels, size_t n)
{
	int64_t *all = malloc((n + q->ndels) * sizeof(*all));

	if (all == NULL) {
		free(dels); /* those rows are sent again, with their keys */
		return;
	}
	memcpy(all, dels, n * sizeof(*all));
	if (q->ndels)
		memcpy(all + n, q->dels, q->ndels * sizeof(*all));
	free(q->dels);
	free(dels);
	q->dels = all;
	q->ndels += n;
	q->dels_cap = q->ndels;
}

static void maybe_vacuum(flock_queue *q)
{
	long long free_pages = 0;

	if (query_int(q, q->db, "PRAGMA freelist_count", &free_pages) == 0 &&
	    free_pages >= SPOOL_VACUUM_PAGES)
		sqlite3_exec(q->db, "PRAGMA incremental_vacuum", NULL, NULL,
		             NULL);
}

int flock__spool_sync(flock_queue *q)
{
	qevent *writes, *e;
	int64_t *dels;
	size_t ndels;
	int rc = 0, empty;

	pthread_mutex_lock(&q->spool_lock);
	pthread_mutex_lock(&q->lock);
	writes = q->wfirst;
	q->wfirst = q->wlast = NULL;
	dels = q->dels;
	ndels = q->ndels;
	q->dels = NULL;
	q->ndels = q->dels_cap = 0;
	pthread_mutex_unlock(&q->lock);
	if (writes || ndels)
		rc = q->db ? write_txn(q, dels, ndels, writes) : -1;
	pthread_mutex_lock(&q->lock);
	if (rc == 0) {
		for (e = writes; e; e = e->wnext)
			e->written = 1;
		free(dels);
		q->spool_failed = 0;
	} else {
		for (e = writes; e; e = e->wnext)
			e->write_failed = 1;
		restore_dels(q, dels, ndels);
		q->spool_failed = 1;
		snprintf(q->spool_err, sizeof(q->spool_err),
		         "spool %s: commit failed: %s", q->spool_path,
		         q->db ? sqlite3_errmsg(q->db) : "closed");
		rc = flock__error_set(FLOCK_ESPOOL, "%s", q->spool_err);
	}
	empty = q->count == 0;
	pthread_mutex_unlock(&q->lock);
	if (rc == 0 && empty && ndels && !writes)
		maybe_vacuum(q);
	pthread_mutex_unlock(&q->spool_lock);
	return rc;
}

void flock__spool_close(flock_queue *q)
{
	sqlite3_finalize(q->st_insert);
	sqlite3_finalize(q->st_delete);
	q->st_insert = q->st_delete = NULL;
	sqlite3_close(q->db);
	q->db = NULL;
}

void flock__spool_abandon(flock_queue *q)
{
	q->st_insert = q->st_delete = NULL;
	q->db = NULL;
}
