/*
 * The storage layer's inside (only the files of store/ include it): connections
 * and the pool, statements written once and prepared per connection, parameter
 * binding and the row-to-JSON mapping shared by every operation.
 *
 * A statement is declared where it is used, with FD_SQL:
 *
 *     FD_SQL(get_app, "SELECT ... WHERE a.id = ?1");
 *     return fd_db__one(c, out, &get_app, "s", id);
 *
 * and prepared on each connection the first time it runs there (store/db.c
 * expands {tokens} and placeholders for the connection's driver).
 *
 * Rows become wire objects by their column aliases: a plain alias is the
 * JSON field; "@x" is a millisecond timestamp shown as ISO 8601; "?x" an
 * integer shown as a boolean; "{x" JSON text parsed into field x; "*" JSON
 * object text whose members are merged into the object; "x.y" member y of
 * an object x, from consecutive columns (x is null when its first column
 * is NULL: a LEFT JOIN that found no row).
 *
 * Parameter formats (fd__run and friends): 's' text (NULL binds NULL), 'i'
 * int64_t, 'l' long, 'z' int64_t where 0 binds NULL, 'b' 32 bytes (a
 * SHA-256) as a blob.
 */
#ifndef FLOCKD_STORE_DB_H
#define FLOCKD_STORE_DB_H

#include <pthread.h>

#include "store/driver.h"

/* The timestamps of a wire object, in a select list whose FROM is its
 * table alone. */
#define STAMPS                                                                 \
	" created_at AS \"@createdAt\", updated_at AS \"@updatedAt\","         \
	" deleted_at AS \"@deletedAt\""

/* The first columns of a wire object an application owns (table alias
 * t): its id, its organization's and its application's. */
#define OWNED(t)                                                               \
	"SELECT " t ".id AS id, (SELECT org_id FROM apps WHERE id = " t        \
	".app_id) AS \"organizationId\", " t ".app_id AS \"applicationId\","

/* A Customer (alias c, its referrer r): WHERE follows. */
#define CUSTOMER_COLS                                                          \
	OWNED("c")                                                             \
	" c.external_id AS \"externalUserId\","                                \
	" c.email AS email, c.name AS name,"                                   \
	" c.referral_code AS \"referralCode\","                                \
	" r.id AS \"referredBy.id\","                                          \
	" r.external_id AS \"referredBy.externalUserId\","                     \
	" r.email AS \"referredBy.email\", r.name AS \"referredBy.name\","     \
	" c.referred_by_id AS \"referredById\","                               \
	" c.referred_by_referral_id AS \"referredByReferralId\","              \
	" c.referred_in_campaign_id AS \"referredInCampaignId\","              \
	" c.visited AS \"visitedReferralsCount\","                             \
	" c.converted AS \"convertedReferralsCount\","                         \
	" c.custom_properties AS \"{customProperties\","                       \
	" c.created_at AS \"@createdAt\", c.updated_at AS \"@updatedAt\","     \
	" c.deleted_at AS \"@deletedAt\" FROM customers c LEFT JOIN"           \
	" customers r ON r.id = c.referred_by_id "

typedef struct {
	const char *text;
	int id; /* its slot in every connection's cache; -1 until first use */
	int count_id; /* the same for the count of a page (fd_db__page) */
} fd_sql;

#define FD_SQL(name, text) static fd_sql name = {text, -1, -1}

struct fd_conn {
	fd_store *s;
	fd_dbconn *db;
	fd_role role;
	int in_tx;
	int retry;      /* a transient failure since the last begin/savepoint */
	int defer;      /* statements whose rows nobody reads are sent, not
	                   waited for (fd_store_defer) */
	fd_dbstmt **st; /* by fd_sql.id, prepared on first use */
	int nst;
	fd_conn *next_free;
};

struct fd_store {
	const fd_driver *drv;
	char *url;
	fd_clock *clock;
	int version;
	fd_conn writer;
	fd_conn *more_writers; /* write connections after the first */
	int nwriters;          /* all of them, the first included */
	fd_conn *readers;
	int nreaders;
	fd_conn *free_readers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* fd_store_rate_hit: its own autocommit connection */
	pthread_mutex_t rate_mu;
	fd_conn aux;
	int64_t rate_swept; /* window of the last sweep of old windows */
};

/* Open c on s's database for role (0, or -1 with the reason in err);
 * close it, its statements with it (store/store.c). */
int fd_db__conn_open(fd_store *s, fd_conn *c, fd_role role, char *err,
                     size_t errlen);
void fd_db__conn_close(fd_conn *c);

/* The store clock's now. */
int64_t fd_db__now(const fd_conn *c);

/* The statement bound from fmt, or NULL (*rc the failure). The caller
 * resets it (drv->reset) when done, on every path: the next use binds
 * without resetting first. */
fd_dbstmt *fd_db__bind(fd_conn *c, fd_sql *sql, int *rc, const char *fmt, ...);
/* One step of st (FD_ROW, FD_DONE or a failure; a transient failure marks
 * the connection for FD_RETRY). */
int fd_db__step(fd_conn *c, fd_dbstmt *st);

/* What a query gives back: FD_Q_EXEC FD_OK, or the failure; FD_Q_CHANGE
 * the same, FD_NOTFOUND when no row changed (UPDATE); FD_Q_INSERT the
 * same, FD_CONFLICT when no row was inserted (INSERT ... ON CONFLICT DO
 * NOTHING: a concurrent insert of the key waited for, then refused);
 * FD_Q_CHANGES rows changed into *n; FD_Q_ONE the first row as an object
 * (FD_NOTFOUND: none); FD_Q_ALL every row into a new array; FD_Q_COUNT the
 * first column of the first row as an integer (FD_NOTFOUND: no row). */
typedef enum {
	FD_Q_EXEC,
	FD_Q_CHANGE,
	FD_Q_INSERT,
	FD_Q_CHANGES,
	FD_Q_ONE,
	FD_Q_ALL,
	FD_Q_COUNT
} fd_qkind;

/* Run sql with the parameters of fmt; n and obj may be NULL where kind
 * does not fill them. */
int fd_db__query(fd_conn *c, fd_qkind kind, long *n, json_t **obj, fd_sql *sql,
                 const char *fmt, ...);

#define fd_db__exec(c, ...) fd_db__query(c, FD_Q_EXEC, NULL, NULL, __VA_ARGS__)
#define fd_db__change(c, ...)                                                  \
	fd_db__query(c, FD_Q_CHANGE, NULL, NULL, __VA_ARGS__)
#define fd_db__insert(c, ...)                                                  \
	fd_db__query(c, FD_Q_INSERT, NULL, NULL, __VA_ARGS__)
#define fd_db__changes(c, n, ...)                                              \
	fd_db__query(c, FD_Q_CHANGES, n, NULL, __VA_ARGS__)
#define fd_db__one(c, out, ...)                                                \
	fd_db__query(c, FD_Q_ONE, NULL, out, __VA_ARGS__)
#define fd_db__all(c, out, ...)                                                \
	fd_db__query(c, FD_Q_ALL, NULL, out, __VA_ARGS__)
#define fd_db__count(c, n, ...)                                                \
	fd_db__query(c, FD_Q_COUNT, n, NULL, __VA_ARGS__)

/*
 * Reads sent together: each r[i] is fd_db__one of sql with the text
 * parameters p (fmt of 's' only). Where the writer defers (store.h
 * fd_store_defer) on a driver that sends (PostgreSQL), all of them go in
 * one round trip, so a read may not depend on another's answer in C, only
 * in SQL. *r[i].out gets the row (NULL: none), r[i].rc its code; the
 * first failure other than FD_NOTFOUND is returned, else FD_OK. Each sql
 * appears once.
 */
typedef struct {
	fd_sql *sql;
	const char *fmt;
	const char *p[3];
	json_t **out;
	int rc;
} fd_db_read;

#define FD_READS_MAX 4

int fd_db__reads(fd_conn *c, fd_db_read *r, int n);
/* 1 if fd_db__reads sends its reads together on c now. */
int fd_db__reads_ahead(const fd_conn *c);

/*
 * {"total","limit","offset","data"}: page runs with the parameters of fmt
 * followed by limit and offset; the total counts the rows of page's text
 * up to its last " ORDER BY " (run with those of fmt alone).
 */
int fd_db__page(fd_conn *c, json_t **out, fd_sql *page, long limit, long offset,
                const char *fmt, ...);

/* Take the transaction-scoped lock named by key (see fd_driver.xact_lock)
 * on the writer; nothing where one writer owns the database. */
int fd_db__lock(fd_conn *c, const char *key);

/* The current row as an object (NULL: out of memory or bad JSON text). */
json_t *fd_db__row(fd_conn *c, fd_dbstmt *st);

/* Migrate s's writer connection to the current schema (store/schema.c).
 * 0, or -1 with a message in err. */
int fd_db__migrate(fd_store *s, char *err, size_t errlen);

/* Expand sql's {tokens} and placeholders for drv into a new string. */
char *fd_db__expand(const fd_driver *drv, const char *sql);

/* The driver for a database string, and the string it connects to. */
const fd_driver *fd_db__driver_for(const char *database, const char **url);

#endif
