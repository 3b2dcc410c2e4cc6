/*
 * flockd engine: the application's event stream (flockctl webhooks
 * listen): the outbox read in order after a cursor, a place in it.
 *
 * The server (http/stream.c) opens a stream with fd_op_admin_events_stream,
 * which checks the caller and the cursor, then reads on with
 * fd_engine_events_after whenever the engine says batches with events
 * committed (fd_engine_config.on_commit), and once a second.
 *
 * Order: on SQLite one writer commits batches whole, so the outbox's
 * places are committed in order and a reader never passes over one. On
 * PostgreSQL several writers (of one node, --writers, or of several
 * nodes) commit at once and a place taken early may commit late; the
 * stream holds each event back FD_STREAM_HOLD_MS after its write, so a
 * transaction still committing is not passed over (a batch commits in
 * milliseconds; one held open longer by a lock wait can be: see
 * docs/postgresql.md, "Limits").
 */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define FD_STREAM_HOLD_MS 2000

/* GET /admin/apps/{app}/events/stream: {"cursor": place} to start from
 * (and "environment", the one to stream, when one is):
 * that of query after (an event id: event_not_found if it is none of the
 * application's), else the latest (only events to come). */
static int stream_open(fd_ctx *x)
{
	const char *after = fd__qstr(x, "after");
	long seq = 0;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	if (after && *after)
		rc = fd_store_outbox_seq(x->c, x->app, after, &seq);
	else
		rc = fd_store_outbox_last(x->c, x->app, &seq);
	if (rc == FD_NOTFOUND)
		return fd__fail(x, FD_OUT_NOT_FOUND, "event_not_found",
		                "no event %s in this application's outbox",
		                after);
	if (rc != FD_OK)
		return fd__internal(x);
	/* environment: the one to stream (the query's, else the one the
	 * token is limited to; absent: both). */
	return fd__ok(x, FD_OUT_OK,
	              json_pack("{s:I, s:s?}", "cursor", (json_int_t)seq,
	                        "environment", fd__list_env(x)));
}

FD_READ_OP(fd_op_admin_events_stream, stream_open)

typedef struct {
	fd_engine *e;
	const char *app, *env, *names;
	long cursor;
	long limit;
	json_t *out;
} after_call;

/* Is name one of the comma-separated names (NULL or "": every name)? */
static int name_wanted(const char *names, const char *name)
{
	size_t n = strlen(name);
	const char *p = names;

	if (!names || !*names)
		return 1;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int after_read(fd_conn *c, int64_t now, void *arg)
{
	after_call *a = arg;
	int64_t upto = strcmp(fd_store_backend(a->e->store), "sqlite") == 0
	                       ? INT64_MAX
	                       : now - FD_STREAM_HOLD_MS;
	json_t *rows = NULL, *row;
	size_t i;
	int rc = fd_store_outbox_after(c, a->app, a->cursor, a->env, upto,
	                               a->limit, &rows);

	if (rc != FD_OK)
		return rc;
	json_array_foreach(rows, i, row)
	{
		const char *name = fd__jstr(row, "name");

		a->cursor =
		        (long)json_integer_value(json_object_get(row, "seq"));
		if (name && name_wanted(a->names, name))
			json_array_append(a->out, row);
	}
	json_decref(rows);
	return FD_OK;
}

int fd_engine_events_after(fd_engine *e, const char *app, long *cursor,
                           const char *env, const char *names, long limit,
                           json_t **out)
{
	after_call a = {e, app, env, names, *cursor, limit, json_array()};
	int rc;

	*out = NULL;
	if (!a.out)
		return -1;
	rc = fd_engine_read(e, after_read, &a);
	if (rc != FD_OK) {
		json_decref(a.out);
		return -1;
	}
	*cursor = a.cursor;
	*out = a.out;
	return 0;
}
