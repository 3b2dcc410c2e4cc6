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
	const fd_token *t;

	for (t = drv->tokens; t->name; t++)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t->text;
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

/* A slot of sql (its id or count_id, *slot) in every connection's cache. */
static int sql_slot(int *slot)
{
	int id = __atomic_load_n(slot, __ATOMIC_ACQUIRE), fresh;

	if (id >= 0)
		return id;
	fresh = __atomic_fetch_add(&next_sql_id, 1, __ATOMIC_ACQ_REL);
	/* Two threads racing: the first one's slot wins, the other is never
	 * used. */
	if (!__atomic_compare_exchange_n(slot, &id, fresh, 0, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE))
		return id;
	return fresh;
}

/* The count of a page's rows (fd_db__page): the page's text up to its
 * last ORDER BY, counted; expanded for drv. */
static char *count_text(const fd_driver *drv, const char *page)
{
	const char *end = page + strlen(page), *p;
	flock__buf b = FLOCK__BUF_INIT;
	char *text;

	for (p = strstr(page, " ORDER BY "); p; p = strstr(p + 1, " ORDER BY "))
		end = p;
	flock__buf_printf(&b, "SELECT count(*) FROM (%.*s) t",
	                  (int)(end - page), page);
	text = b.oom ? NULL : fd_db__expand(drv, b.ptr);
	flock__buf_free(&b);
	return text;
}

/* sql prepared on c (count: its count_text) on first use. */
static fd_dbstmt *stmt(fd_conn *c, fd_sql *sql, int count, int *rc)
{
	int id = sql_slot(count ? &sql->count_id : &sql->id);
	char *text;

	*rc = FD_ERR;
	if (!c->db)
		return NULL;
	if (id >= c->nst) {
		int n = id + 32;
		fd_dbstmt **st = realloc(c->st, (size_t)n * sizeof(*st));

		if (!st)
			return NULL;
		memset(st + c->nst, 0, (size_t)(n - c->nst) * sizeof(*st));
		c->st = st;
		c->nst = n;
	}
	if (!c->st[id]) {
		text = count ? count_text(c->s->drv, sql->text)
		             : fd_db__expand(c->s->drv, sql->text);
		if (!text)
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

static fd_dbstmt *vbind(fd_conn *c, fd_sql *sql, int count, int *rc,
                        const char *fmt, va_list ap)
{
	const fd_driver *d = c->s->drv;
	fd_dbstmt *st = stmt(c, sql, count, rc);
	fd_value v;
	int i;

	/* No reset first: every use of a statement ends with one (vquery,
	 * collect, and the callers of fd_db__bind, db.h). */
	if (!st)
		return NULL;
	for (i = 1; *fmt && *rc == FD_OK; fmt++, i++) {
		v.len = 0;
		switch (*fmt) {
		case 's':
			v.type = FD_T_TEXT;
			v.s = va_arg(ap, const char *);
			v.len = v.s ? strlen(v.s) : 0;
			break;
		case 'i':
			v.type = FD_T_INT;
			v.i = va_arg(ap, int64_t);
			break;
		case 'l':
			v.type = FD_T_INT;
			v.i = va_arg(ap, long);
			break;
		case 'z':
			v.i = va_arg(ap, int64_t);
			v.type = v.i ? FD_T_INT : FD_T_NULL;
			break;
		case 'b':
			v.type = FD_T_BLOB;
			v.b = va_arg(ap, const void *);
			v.len = 32;
			break;
		default:
			*rc = FD_ERR;
			break;
		}
		if (*rc == FD_OK)
			*rc = d->bind(st, i, &v);
	}
	if (*rc != FD_OK)
		d->reset(st);
	return *rc == FD_OK ? st : NULL;
}

fd_dbstmt *fd_db__bind(fd_conn *c, fd_sql *sql, int *rc, const char *fmt, ...)
{
	va_list ap;
	fd_dbstmt *st;

	va_start(ap, fmt);
	st = vbind(c, sql, 0, rc, fmt, ap);
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

static int collect(fd_conn *c, fd_dbstmt *st, json_t **out);

/*
 * Bind sql's parameters from fmt (then page[0], page[1] as limit and
 * offset if page is set; FD_Q_COUNT with page set counts the page's rows,
 * count_text), run it and read what kind asks for (db.h): rows changed or
 * the first column of the first row into *n, the first row or every row
 * into *obj.
 */
static int vquery(fd_conn *c, fd_qkind kind, long *n, json_t **obj,
                  const long *page, fd_sql *sql, const char *fmt, va_list ap)
{
	const fd_driver *d = c->s->drv;
	int rc, i, first = (int)strlen(fmt) + 1,
	           count = page && kind == FD_Q_COUNT;
	fd_value v = {FD_T_INT, 0, 0, NULL, NULL, 0};
	fd_dbstmt *st = vbind(c, sql, count, &rc, fmt, ap);

	*n = 0;
	*obj = NULL;
	for (i = 0; st && page && !count && i < 2 && rc == FD_OK; i++) {
		v.i = page[i];
		rc = d->bind(st, first + i, &v);
	}
	if (st && rc != FD_OK)
		d->reset(st);
	if (!st || rc != FD_OK)
		return rc;
	if (kind == FD_Q_ALL)
		return collect(c, st, obj);
	/* Sent, not waited for: the writer finds out at the next read or at
	 * fd_store_defer's flush, and runs the batch again on a failure. */
	if (c->defer && kind <= FD_Q_INSERT && d->send) {
		rc = d->send(st,
		             kind == FD_Q_EXEC ? FD_SEND_ANY : FD_SEND_CHANGE);
		d->reset(st);
		if (rc == FD_RETRY)
			c->retry = 1;
		*n = rc == FD_OK;
		return rc;
	}
	rc = fd_db__step(c, st);
	if (kind <= FD_Q_CHANGES && (rc == FD_DONE || rc == FD_ROW)) {
		*n = d->changes(st);
		rc = kind == FD_Q_CHANGE && !*n   ? FD_NOTFOUND
		     : kind == FD_Q_INSERT && !*n ? FD_CONFLICT
		                                  : FD_OK;
	} else if (rc == FD_ROW && kind == FD_Q_COUNT) {
		d->col(st, 0, &v);
		*n = (long)v.i;
		rc = FD_OK;
	} else if (rc == FD_ROW) {
		rc = (*obj = fd_db__row(c, st)) ? FD_OK : FD_ERR;
	} else if (rc == FD_DONE) {
		rc = FD_NOTFOUND;
	}
	d->reset(st);
	return rc;
}

int fd_db__query(fd_conn *c, fd_qkind kind, long *n, json_t **obj, fd_sql *sql,
                 const char *fmt, ...)
{
	long n_;
	json_t *obj_;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vquery(c, kind, n ? n : &n_, obj ? obj : &obj_, NULL, sql, fmt,
	            ap);
	va_end(ap);
	return rc;
}

int fd_db__reads_ahead(const fd_conn *c)
{
	return c->defer && c->s->drv->send;
}

/* The row of a statement sent ahead, as fd_db__one reads it. */
static int read_sent(fd_conn *c, fd_dbstmt *st, json_t **out)
{
	int rc = fd_db__step(c, st);

	if (rc == FD_ROW)
		rc = (*out = fd_db__row(c, st)) ? FD_OK : FD_ERR;
	else if (rc == FD_DONE)
		rc = FD_NOTFOUND;
	c->s->drv->reset(st);
	return rc;
}

int fd_db__reads(fd_conn *c, fd_db_read *r, int n)
{
	fd_dbstmt *st[FD_READS_MAX] = {NULL};
	int i, rc = FD_OK, ahead = fd_db__reads_ahead(c);

	for (i = 0; i < n && i < FD_READS_MAX; i++) {
		*r[i].out = NULL;
		if (!ahead)
			continue;
		st[i] = fd_db__bind(c, r[i].sql, &r[i].rc, r[i].fmt, r[i].p[0],
		                    r[i].p[1], r[i].p[2]);
		if (st[i] && c->s->drv->send(st[i], FD_SEND_ROWS) != FD_OK) {
			c->s->drv->reset(st[i]);
			st[i] = NULL;
		}
	}
	for (i = 0; i < n; i++) {
		if (i >= FD_READS_MAX)
			r[i].rc = FD_ERR;
		else if (st[i])
			r[i].rc = read_sent(c, st[i], r[i].out);
		else
			r[i].rc = fd_db__one(c, r[i].out, r[i].sql, r[i].fmt,
			                     r[i].p[0], r[i].p[1], r[i].p[2]);
		if (rc == FD_OK && r[i].rc != FD_OK && r[i].rc != FD_NOTFOUND)
			rc = r[i].rc;
	}
	return rc;
}

/* ---- rows ------------------------------------------------------------ */

static json_t *cell(fd_conn *c, fd_dbstmt *st, int i, const char *name)
{
	char iso[FLOCK__ISO8601_LEN];
	fd_value v;

	c->s->drv->col(st, i, &v);
	if (v.type == FD_T_NULL)
		return json_null();
	if (name[0] == '*' || name[0] == '{') {
		if (v.type != FD_T_TEXT)
			return NULL;
		/* The common empty object without the parser. */
		return strcmp(v.s, "{}") == 0
		               ? json_object()
		               : json_loadb(v.s, v.len, JSON_DECODE_ANY, NULL);
	}
	if (name[0] == '@' || name[0] == '?' || v.type == FD_T_INT) {
		if (v.type != FD_T_INT)
			return NULL;
		if (name[0] == '?')
			return json_boolean(v.i != 0);
		if (name[0] != '@')
			return json_integer(v.i);
		flock__iso8601(iso, v.i);
		return json_string(iso);
	}
	if (v.type == FD_T_REAL)
		return json_real(v.r);
	/* Blobs never leave the store as JSON. */
	return v.type == FD_T_TEXT ? json_stringn(v.s, v.len) : NULL;
}

json_t *fd_db__row(fd_conn *c, fd_dbstmt *st)
{
	const fd_driver *d = c->s->drv;
	json_t *obj = json_object(), *v, *group = NULL;
	int i, n = d->ncols(st), rc = 0, skip = 0, same;
	const char *gname = NULL, *dot;
	size_t glen = 0;

	for (i = 0; obj && i < n && rc == 0; i++) {
		const char *name = d->col_name(st, i);

		if (!name) {
			rc = -1;
			break;
		}
		/* "x.y": member y of object x; x is null when its first
		 * member is (a LEFT JOIN that found no row). */
		dot = name[0] != '*' ? strchr(name, '.') : NULL;
		same = dot && gname && (size_t)(dot - name) == glen &&
		       memcmp(name, gname, glen) == 0;
		if (same && skip)
			continue;
		if (!(v = cell(c, st, i, name))) {
			rc = -1;
			break;
		}
		if (dot) {
			if (!same) {
				gname = name;
				glen = (size_t)(dot - name);
				skip = json_is_null(v);
				group = skip ? json_null() : json_object();
				rc = json_object_setn_new_nocheck(obj, name,
				                                  glen, group);
				if (rc != 0 || skip) {
					json_decref(v);
					continue;
				}
			}
			rc = json_object_set_new_nocheck(group, dot + 1, v);
			continue;
		}
		if (name[0] == '*') {
			rc = json_is_object(v) ? json_object_update(obj, v) : 0;
			json_decref(v);
			continue;
		}
		if (name[0] == '@' || name[0] == '?' || name[0] == '{')
			name++;
		/* Aliases are the store's own ASCII. */
		rc = json_object_set_new_nocheck(obj, name, v);
	}
	if (rc != 0 || !obj) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Every row of st (bound) into a new array; st is reset. */
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

/* The count runs with the parameters of fmt, the page with the same and
 * then limit and offset. */
int fd_db__page(fd_conn *c, json_t **out, fd_sql *page, long limit, long offset,
                const char *fmt, ...)
{
	const long tail[2] = {limit, offset};
	json_t *data = NULL, *o;
	long total = 0, n;
	va_list ap, ap2;
	int rc;

	*out = NULL;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	rc = vquery(c, FD_Q_COUNT, &total, &o, tail, page, fmt, ap);
	if (rc == FD_OK)
		rc = vquery(c, FD_Q_ALL, &n, &data, tail, page, fmt, ap2);
	va_end(ap2);
	va_end(ap);
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
