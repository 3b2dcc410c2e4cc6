/*
 * The storage layer's core (db.h): opening a store on the right driver,
 * the connection pool, transactions, statements prepared per connection,
 * parameter binding and the one row-to-JSON mapping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ids.h"
#include "store/db.h"

static int next_sql_id; /* slots handed out so far */

int64_t fd_db__now(const fd_conn *c)
{
	return fd_clock_now(c->s->clock);
}

/* ---- SQL for a driver ------------------------------------------------ */

/* The text of token name (len bytes) with its argument, or NULL. */
static const char *token_text(const fd_driver *drv, const char *name,
                              size_t len)
{
	const char *const *t;

	for (t = drv->tokens; t && t[0]; t += 2)
		if (strlen(t[0]) == len && memcmp(t[0], name, len) == 0)
			return t[1];
	return NULL;
}

/* One {token} or {token arg} at p (after the brace): appended; returns
 * the length consumed, or 0 if it is not a known token. */
static size_t put_token(flock__buf *b, const fd_driver *drv, const char *p)
{
	const char *end = strchr(p, '}'), *sp, *text;
	size_t name_len;
	char arg[64] = "";

	if (!end)
		return 0;
	sp = memchr(p, ' ', (size_t)(end - p));
	name_len = (size_t)((sp ? sp : end) - p);
	if (!(text = token_text(drv, p, name_len)))
		return 0;
	if (sp)
		snprintf(arg, sizeof(arg), "%.*s", (int)(end - sp - 1), sp + 1);
	/* The tokens' texts are the drivers' own, with at most one %s. */
	while (*text) {
		if (text[0] == '%' && text[1] == 's') {
			flock__buf_puts(b, arg);
			text += 2;
		} else {
			flock__buf_put(b, text++, 1);
		}
	}
	return (size_t)(end - p) + 1;
}

char *fd_db__expand(const fd_driver *drv, const char *sql)
{
	flock__buf b = FLOCK__BUF_INIT;
	const char *p = sql;
	char quote = 0;
	size_t used;

	flock__buf_puts(&b, "");
	for (; *p; p++) {
		/* Nothing inside a string literal or a quoted name changes. */
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '{' && (used = put_token(&b, drv, p + 1))) {
			p += used;
			continue;
		} else if (*p == '?' && drv->placeholder != '?') {
			flock__buf_put(&b, &drv->placeholder, 1);
			continue;
		}
		flock__buf_put(&b, p, 1);
	}
	if (b.oom) {
		flock__buf_free(&b);
		return NULL;
	}
	return flock__buf_detach(&b);
}

/* ---- statements ------------------------------------------------------ */

static int sql_slot(fd_sql *sql)
{
	int id = __atomic_load_n(&sql->id, __ATOMIC_ACQUIRE), fresh;

	if (id >= 0)
		return id;
	fresh = __atomic_fetch_add(&next_sql_id, 1, __ATOMIC_ACQ_REL);
	if (fresh >= FD_SQL_MAX)
		return -1;
	/* Two threads racing: the first one's slot wins, the other is never
	 * used. */
	if (!__atomic_compare_exchange_n(&sql->id, &id, fresh, 0,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return id;
	return fresh;
}

static fd_dbstmt *stmt(fd_conn *c, fd_sql *sql, int *rc)
{
	int id = sql_slot(sql);
	char *text;

	*rc = FD_ERR;
	if (id < 0 || !c->db)
		return NULL;
	if (!c->st[id]) {
		if (!(text = fd_db__expand(c->s->drv, sql->text)))
			return NULL;
		*rc = c->s->drv->prepare(c->db, text, &c->st[id]);
		free(text);
		if (*rc != FD_OK) {
			c->st[id] = NULL;
			return NULL;
		}
	}
	*rc = FD_OK;
	return c->st[id];
}

static fd_dbstmt *vbind(fd_conn *c, fd_sql *sql, int *rc, const char *fmt,
                        va_list ap)
{
	const fd_driver *d = c->s->drv;
	fd_dbstmt *st = stmt(c, sql, rc);
	const char *s;
	int64_t v;
	int i;

	if (!st)
		return NULL;
	d->reset(st);
	for (i = 1; *fmt && *rc == FD_OK; fmt++, i++) {
		switch (*fmt) {
		case 's':
			s = va_arg(ap, const char *);
			*rc = d->bind(st, i, FD_T_TEXT, s, 0, NULL,
			              s ? strlen(s) : 0);
			break;
		case 'i':
			*rc = d->bind(st, i, FD_T_INT, NULL,
			              va_arg(ap, int64_t), NULL, 0);
			break;
		case 'l':
			*rc = d->bind(st, i, FD_T_INT, NULL,
			              (int64_t)va_arg(ap, long), NULL, 0);
			break;
		case 'z':
			v = va_arg(ap, int64_t);
			*rc = d->bind(st, i, v ? FD_T_INT : FD_T_NULL, NULL, v,
			              NULL, 0);
			break;
		case 'b':
			*rc = d->bind(st, i, FD_T_BLOB, NULL, 0,
			              va_arg(ap, const void *), 32);
			break;
		default:
			*rc = FD_ERR;
		}
	}
	return *rc == FD_OK ? st : NULL;
}

fd_dbstmt *fd_db__bind(fd_conn *c, fd_sql *sql, int *rc, const char *fmt, ...)
{
	va_list ap;
	fd_dbstmt *st;

	va_start(ap, fmt);
	st = vbind(c, sql, rc, fmt, ap);
	va_end(ap);
	return st;
}

int fd_db__step(fd_conn *c, fd_dbstmt *st)
{
	int rc = c->s->drv->step(st);

	/* Outside a transaction (a key lookup) a connection dropped while
	 * idle is replaced and the statement sent again: nothing of it ran. */
	if (rc == FD_RETRY && !c->in_tx && c->s->drv->ensure(c->db) == 0)
		rc = c->s->drv->step(st);
	if (rc == FD_RETRY)
		c->retry = 1;
	return rc;
}

/* Run a statement that returns no rows; *n: rows changed. */
static int vrun(fd_conn *c, long *n, fd_sql *sql, const char *fmt,
                va_list ap)
{
	int rc;
	fd_dbstmt *st = vbind(c, sql, &rc, fmt, ap);

	*n = 0;
	if (!st)
		return rc;
	rc = fd_db__step(c, st);
	if (rc == FD_DONE || rc == FD_ROW) {
		*n = c->s->drv->changes(st);
		rc = FD_OK;
	}
	c->s->drv->reset(st);
	return rc;
}

#define RUN(c, n, sql, fmt, rc)                                                \
	do {                                                                   \
		va_list ap_;                                                   \
		va_start(ap_, fmt);                                            \
		rc = vrun(c, n, sql, fmt, ap_);                                \
		va_end(ap_);                                                   \
	} while (0)

int fd_db__exec(fd_conn *c, fd_sql *sql, const char *fmt, ...)
{
	long n;
	int rc;

	RUN(c, &n, sql, fmt, rc);
	return rc;
}

int fd_db__change(fd_conn *c, fd_sql *sql, const char *fmt, ...)
{
	long n;
	int rc;

	RUN(c, &n, sql, fmt, rc);
	return rc == FD_OK && n == 0 ? FD_NOTFOUND : rc;
}

int fd_db__insert(fd_conn *c, fd_sql *sql, const char *fmt, ...)
{
	long n;
	int rc;

	RUN(c, &n, sql, fmt, rc);
	return rc == FD_OK && n == 0 ? FD_CONFLICT : rc;
}

int fd_db__changes(fd_conn *c, long *n, fd_sql *sql, const char *fmt, ...)
{
	int rc;

	RUN(c, n, sql, fmt, rc);
	return rc;
}

/* ---- rows ------------------------------------------------------------ */

static json_t *cell(fd_conn *c, fd_dbstmt *st, int i, const char *name)
{
	const fd_driver *d = c->s->drv;
	int type = d->col_type(st, i);
	char iso[FLOCK__ISO8601_LEN];
	const char *t;

	if (type == FD_T_NULL)
		return json_null();
	if (name[0] == '*' || name[0] == '{') {
		t = d->col_text(st, i);
		/* The common empty object without the parser. */
		return strcmp(t, "{}") == 0 ? json_object()
		                            : json_loads(t, JSON_DECODE_ANY, NULL);
	}
	if (name[0] == '@') {
		flock__iso8601(iso, d->col_int(st, i));
		return json_string(iso);
	}
	if (name[0] == '?')
		return json_boolean(d->col_int(st, i) != 0);
	if (type == FD_T_INT)
		return json_integer(d->col_int(st, i));
	if (type == FD_T_REAL)
		return json_real(d->col_real(st, i));
	return json_string(d->col_text(st, i));
}

json_t *fd_db__row(fd_conn *c, fd_dbstmt *st)
{
	const fd_driver *d = c->s->drv;
	json_t *obj = json_object(), *v;
	int i, n = d->ncols(st), rc = 0;

	for (i = 0; obj && i < n && rc == 0; i++) {
		const char *name = d->col_name(st, i);

		if (!name || !(v = cell(c, st, i, name))) {
			rc = -1;
			break;
		}
		if (name[0] == '*') {
			rc = json_is_object(v) ? json_object_update(obj, v) : 0;
			json_decref(v);
			continue;
		}
		if (name[0] == '@' || name[0] == '?' || name[0] == '{')
			name++;
		rc = json_object_set_new(obj, name, v);
	}
	if (rc != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int vone(fd_conn *c, json_t **out, fd_sql *sql, const char *fmt,
                va_list ap)
{
	int rc;
	fd_dbstmt *st = vbind(c, sql, &rc, fmt, ap);

	*out = NULL;
	if (!st)
		return rc;
	rc = fd_db__step(c, st);
	if (rc == FD_ROW)
		rc = (*out = fd_db__row(c, st)) ? FD_OK : FD_ERR;
	else if (rc == FD_DONE)
		rc = FD_NOTFOUND;
	c->s->drv->reset(st);
	return rc;
}

int fd_db__one(fd_conn *c, json_t **out, fd_sql *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vone(c, out, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* Every row of st (bound) into a new array. */
static int collect(fd_conn *c, fd_dbstmt *st, json_t **out)
{
	json_t *arr = json_array(), *o;
	int rc = FD_ERR;

	*out = NULL;
	while (arr && (rc = fd_db__step(c, st)) == FD_ROW) {
		if (!(o = fd_db__row(c, st)) || json_array_append_new(arr, o)) {
			rc = FD_ERR;
			break;
		}
	}
	c->s->drv->reset(st);
	if (rc != FD_DONE) {
		json_decref(arr);
		return rc == FD_ROW ? FD_ERR : rc;
	}
	*out = arr;
	return FD_OK;
}

static int vall(fd_conn *c, json_t **out, fd_sql *sql, const char *fmt,
                va_list ap)
{
	int rc;
	fd_dbstmt *st = vbind(c, sql, &rc, fmt, ap);

	*out = NULL;
	return st ? collect(c, st, out) : rc;
}

int fd_db__all(fd_conn *c, json_t **out, fd_sql *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vall(c, out, sql, fmt, ap);
	va_end(ap);
	return rc;
}

static int vcount(fd_conn *c, long *out, fd_sql *sql, const char *fmt,
                  va_list ap)
{
	int rc;
	fd_dbstmt *st = vbind(c, sql, &rc, fmt, ap);

	*out = 0;
	if (!st)
		return rc;
	rc = fd_db__step(c, st);
	if (rc == FD_ROW) {
		*out = (long)c->s->drv->col_int(st, 0);
		rc = FD_OK;
	} else if (rc == FD_DONE) {
		rc = FD_NOTFOUND;
	}
	c->s->drv->reset(st);
	return rc;
}

int fd_db__count(fd_conn *c, long *out, fd_sql *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vcount(c, out, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int fd_db__page(fd_conn *c, json_t **out, fd_sql *count, fd_sql *page,
             long limit, long offset, const char *fmt, ...)
{
	const fd_driver *d = c->s->drv;
	int n = (int)strlen(fmt), rc;
	json_t *data = NULL;
	fd_dbstmt *st;
	long total = 0;
	va_list ap, ap2;

	*out = NULL;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	rc = vcount(c, &total, count, fmt, ap);
	/* The page takes the count's parameters, then limit and offset. */
	st = rc == FD_OK ? vbind(c, page, &rc, fmt, ap2) : NULL;
	va_end(ap2);
	va_end(ap);
	if (st && (rc = d->bind(st, n + 1, FD_T_INT, NULL, limit, NULL, 0)) ==
	                  FD_OK &&
	    (rc = d->bind(st, n + 2, FD_T_INT, NULL, offset, NULL, 0)) == FD_OK)
		rc = collect(c, st, &data);
	if (rc != FD_OK)
		return rc == FD_NOTFOUND ? FD_ERR : rc;
	*out = json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total,
	                 "limit", (json_int_t)limit, "offset",
	                 (json_int_t)offset, "data", data);
	return *out ? FD_OK : FD_ERR;
}

int fd_db__lock(fd_conn *c, const char *key)
{
	FD_SQL(lock, "{xact_lock}");

	if (!c->s->drv->shared || c->role != FD_ROLE_WRITER)
		return FD_OK;
	return fd_db__exec(c, &lock, "s", key);
}
