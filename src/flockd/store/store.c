/*
 * A store's life (store.h): the driver chosen from the database string,
 * the write connection and the pool of readers, transactions, durability,
 * and the request rate counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

static int is_postgres_url(const char *s)
{
	return strncmp(s, "postgres://", 11) == 0 ||
	       strncmp(s, "postgresql://", 13) == 0;
}

const fd_driver *fd_db__driver_for(const char *database, const char **url)
{
	*url = database;
	if (is_postgres_url(database))
		return &fd_driver_pg;
	if (strncmp(database, "sqlite:", 7) == 0)
		*url = database + 7;
	return &fd_driver_sqlite;
}

int fd_db__conn_open(fd_store *s, fd_conn *c, fd_role role, char *err,
                     size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->role = role;
	return s->drv->open(&c->db, s->url, role, err, errlen);
}

void fd_db__conn_close(fd_conn *c)
{
	int i;

	for (i = 0; i < c->nst; i++)
		if (c->st[i])
			c->s->drv->finalize(c->st[i]);
	free(c->st);
	c->st = NULL;
	c->nst = 0;
	if (c->db)
		c->s->drv->close(c->db);
	c->db = NULL;
}

int fd_store_open(fd_store **out, const char *path, int readers,
                  fd_clock *clock, char *err, size_t errlen)
{
	fd_store_options o = {readers, clock, 0, 1};

	return fd_store_open_with(out, path, &o, err, errlen);
}

/* The writer's WAL bound, before the migrations write anything. */
static int set_wal_limit(fd_store *s, int64_t limit, char *err, size_t errlen)
{
	if (limit == 0)
		limit = FD_STORE_WAL_LIMIT_DEFAULT;
	if (!s->drv->wal_limit ||
	    s->drv->wal_limit(s->writer.db, limit) == FD_OK)
		return 0;
	snprintf(err, errlen, "cannot bound the WAL: %s",
	         s->drv->errmsg(s->writer.db));
	return -1;
}

int fd_store_open_with(fd_store **out, const char *path,
                       const fd_store_options *opt, char *err, size_t errlen)
{
	static const fd_store_options dflt = {1, NULL, 0, 1};
	fd_store *s = calloc(1, sizeof(*s));
	const char *url;
	int readers, writers, i;

	opt = opt ? opt : &dflt;
	readers = opt->readers < 1 ? 1 : opt->readers;
	*out = NULL;
	if (!s || !(s->readers = calloc((size_t)readers, sizeof(fd_conn)))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return -1;
	}
	s->drv = fd_db__driver_for(path, &url);
	s->clock = opt->clock ? opt->clock : fd_clock_real();
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->rate_mu, NULL);
	writers = opt->writers > 0 ? opt->writers
	          : s->drv->shared ? FD_STORE_SHARED_WRITERS
	                           : 1;
	if (writers > 1 && !s->drv->shared) {
		snprintf(err, errlen,
		         "%s has one write connection; more than one writer "
		         "needs PostgreSQL",
		         s->drv->name);
		goto fail;
	}
	if (!(s->more_writers = calloc((size_t)writers, sizeof(fd_conn))) ||
	    !(s->url = strdup(url))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (fd_db__conn_open(s, &s->writer, FD_ROLE_WRITER, err, errlen) < 0 ||
	    set_wal_limit(s, opt->wal_limit, err, errlen) < 0 ||
	    fd_db__migrate(s, err, errlen) < 0)
		goto fail;
	s->nwriters = 1;
	for (i = 1; i < writers; i++) {
		s->nwriters = i + 1;
		if (fd_db__conn_open(s, &s->more_writers[i - 1], FD_ROLE_WRITER,
		                     err, errlen) < 0)
			goto fail;
	}
	for (i = 0; i < readers; i++) {
		s->nreaders = i + 1;
		if (fd_db__conn_open(s, &s->readers[i], FD_ROLE_READER, err,
		                     errlen) < 0)
			goto fail;
		s->readers[i].next_free = s->free_readers;
		s->free_readers = &s->readers[i];
	}
	*out = s;
	return 0;
fail:
	fd_store_close(s);
	return -1;
}

void fd_store_close(fd_store *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < s->nreaders; i++)
		fd_db__conn_close(&s->readers[i]);
	for (i = 1; i < s->nwriters; i++)
		fd_db__conn_close(&s->more_writers[i - 1]);
	fd_db__conn_close(&s->aux);
	fd_db__conn_close(&s->writer);
	pthread_mutex_destroy(&s->rate_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->readers);
	free(s->more_writers);
	free(s->url);
	free(s);
}

int fd_store_schema_version(fd_store *s)
{
	return s->version;
}

const char *fd_store_backend(fd_store *s)
{
	return s->drv->name;
}

int fd_store_sync(fd_store *s)
{
	return s->drv->sync(s->writer.db);
}

int fd_store_wal_stats_get(fd_store *s, fd_store_wal_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s->drv->wal_stats || !s->writer.db)
		return -1;
	s->drv->wal_stats(s->writer.db, out);
	return 0;
}

long fd_store_round_trips(fd_store *s)
{
	return s->drv->round_trips ? s->drv->round_trips() : -1;
}

fd_conn *fd_store_writer(fd_store *s)
{
	return &s->writer;
}

int fd_store_writers(fd_store *s)
{
	return s->nwriters;
}

fd_conn *fd_store_writer_at(fd_store *s, int i)
{
	return i == 0 ? &s->writer : &s->more_writers[i - 1];
}

fd_conn *fd_store_reader(fd_store *s)
{
	fd_conn *c;

	pthread_mutex_lock(&s->mu);
	while (!s->free_readers)
		pthread_cond_wait(&s->cv, &s->mu);
	c = s->free_readers;
	s->free_readers = c->next_free;
	pthread_mutex_unlock(&s->mu);
	/* A reader used outside a transaction (key lookups) still gets a
	 * live connection. */
	s->drv->ensure(c->db);
	return c;
}

void fd_store_reader_done(fd_store *s, fd_conn *c)
{
	pthread_mutex_lock(&s->mu);
	c->next_free = s->free_readers;
	s->free_readers = c;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- transactions ---------------------------------------------------- */

FD_SQL(begin_read, "{begin_read}");
FD_SQL(begin_write, "{begin_write}");
FD_SQL(commit, "COMMIT");
FD_SQL(rollback, "ROLLBACK");
FD_SQL(savepoint, "SAVEPOINT job");
FD_SQL(release, "RELEASE job");
FD_SQL(rollback_to, "ROLLBACK TO job");
FD_SQL(ping, "SELECT 1");

int fd_store_begin(fd_conn *c, int write)
{
	fd_sql *sql = write ? &begin_write : &begin_read;
	int rc;

	if (c->s->drv->ensure(c->db) < 0)
		return FD_ERR;
	c->retry = 0;
	c->in_tx = 0;
	/* Dropped while idle (a server restart, an idle timeout): this is
	 * where it shows; nothing was open, so fd_db__step reconnects and
	 * begins again. */
	rc = fd_db__exec(c, sql, "");
	c->retry = 0;
	c->in_tx = rc == FD_OK;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

int fd_store_defer(fd_conn *c, int on)
{
	const fd_driver *d = c->s->drv;
	int rc = FD_OK;

	if (!on && c->defer && d->flush)
		rc = d->flush(c->db);
	c->defer = on;
	if (rc == FD_RETRY)
		c->retry = 1;
	return rc;
}

int fd_store_commit(fd_conn *c)
{
	int rc;

	/* Never COMMIT behind writes not yet known to have done their part. */
	if (fd_store_defer(c, 0) != FD_OK)
		return FD_ERR;
	rc = fd_db__exec(c, &commit, "");

	c->in_tx = 0;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

int fd_store_rollback(fd_conn *c)
{
	int rc;

	fd_store_defer(c, 0);
	rc = fd_db__exec(c, &rollback, "");

	c->in_tx = 0;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

int fd_store_retry_pending(fd_conn *c)
{
	return c->retry;
}

int fd_store_savepoint(fd_conn *c)
{
	c->retry = 0;
	return fd_db__exec(c, &savepoint, "") == FD_OK ? FD_OK : FD_ERR;
}

int fd_store_release(fd_conn *c)
{
	int rc = fd_db__exec(c, &release, "");

	if (rc == FD_OK && c->retry)
		return FD_RETRY;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

/* FD_RETRY: the job met a transient failure and is rolled back alone;
 * run it again. FD_ERR: the transaction is lost. */
int fd_store_rollback_to(fd_conn *c)
{
	int retry = c->retry;

	/* ROLLBACK TO keeps the savepoint open; release it too. */
	if (fd_db__exec(c, &rollback_to, "") != FD_OK ||
	    fd_db__exec(c, &release, "") != FD_OK)
		return FD_ERR;
	c->retry = 0;
	return retry ? FD_RETRY : FD_OK;
}

int fd_store_ping(fd_conn *c)
{
	if (c->s->drv->ensure(c->db) < 0)
		return FD_ERR;
	return fd_db__count(c, NULL, &ping, "") == FD_OK ? FD_OK : FD_ERR;
}

/* ---- the database string --------------------------------------------- */

void fd_store_redact(char *out, size_t len, const char *database)
{
	const char *rest, *at, *colon, *q;

	snprintf(out, len, "%s", database);
	if (!is_postgres_url(database))
		return;
	rest = strstr(database, "://") + 3;
	/* The user information ends at the last '@': a password may hold
	 * '@', '/' or '?' of its own (over-redacting a database name with an
	 * '@' is the safe mistake). */
	at = strrchr(rest, '@');
	colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	q = strchr(at ? at : rest, '?');
	/* postgres://user:password@host/db: the password goes. */
	if (at && colon)
		snprintf(out, len, "%.*s:***%s", (int)(colon - database),
		         database, at);
	/* ...?password=...: the whole query goes. */
	if (q && strstr(q, "password=") && strchr(out, '?')) {
		size_t keep = strlen(out) - strlen(strchr(out, '?'));
		snprintf(out + keep, len - keep, "?***");
	}
}
