/*
 * flockd engine: bulk operations for tools (flockctl import and export).
 *
 * Import: one admin request carries up to FD_IMPORT_MAX rows; each row is
 * the wire operation it stands for (identify, referral create), run as a
 * job of its own in the writer's group commit, with its own
 * Idempotency-Key (the row's idempotencyKey), so a row of an import and
 * the same call made alone are one thing: a re-sent row replays its first
 * answer, never a second change. The request answers once every row has
 * one, with each row's outcome in order. The rows share the writers'
 * batches with every other write, so a large import neither blocks nor is
 * blocked for long; they are one order group (fd_request.order_group), so
 * they apply in order even where several writers run at once.
 *
 * Export: pages in id order after a cursor (store.h, "Exports").
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

/* ---- export ---------------------------------------------------------- */

typedef int (*export_fn)(fd_conn *c, const char *app, const char *env,
                         const char *after, long limit, json_t **out);

static int customers_export(fd_conn *c, const char *app, const char *env,
                            const char *after, long limit, json_t **out)
{
	return fd_store_customer_export(c, app, env, after, limit, out);
}

/* ?after=ID&limit=N (1..FD_EXPORT_MAX, default 1000)&environment=: a
 * page {"data":[...],"next":last id or null (no more)}. */
static int export_page(fd_ctx *x, export_fn fn)
{
	const char *s = fd__qstr(x, "limit"), *env = fd__list_env(x);
	long limit = s ? strtol(s, NULL, 10) : FD_EXPORT_MAX;
	json_t *data = NULL, *last;
	size_t n;

	if (fd__admin_app(x) < 0)
		return -1;
	if (limit < 1 || limit > FD_EXPORT_MAX)
		limit = FD_EXPORT_MAX;
	if (fn(x->c, x->app, env, fd__qstr(x, "after"), limit, &data) != FD_OK)
		return fd__internal(x);
	n = json_array_size(data);
	last = n == (size_t)limit ? json_array_get(data, n - 1) : NULL;
	return fd__ok(
	        x, FD_OUT_OK,
	        json_pack("{s:o, s:O}", "data", data, "next",
	                  last ? json_object_get(last, "id") : json_null()));
}

static int customers_page(fd_ctx *x)
{
	return export_page(x, customers_export);
}
static int referrals_page(fd_ctx *x)
{
	return export_page(x, fd_store_referral_export);
}
static int rewards_page(fd_ctx *x)
{
	return export_page(x, fd_store_reward_export);
}

FD_READ_OP(fd_op_admin_customers_export, customers_page)
FD_READ_OP(fd_op_admin_referrals_export, referrals_page)
FD_READ_OP(fd_op_admin_rewards_export, rewards_page)

/* ---- import ---------------------------------------------------------- */

typedef struct import_batch import_batch;

/* One row: its own request and answer, as if it had come alone. */
typedef struct {
	fd_request req;
	fd_response res;
	json_t *body; /* the row without idempotencyKey, defaults merged */
	int queued;   /* its job went to the writer (else answered at once) */
	import_batch *b;
} import_row;

struct import_batch {
	const fd_request *req; /* the import request */
	fd_response *res;
	import_row *rows;
	size_t n;
	long pending;  /* rows not answered yet, plus one for the queueing */
	int suspended; /* the import request waits asynchronously */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished;
};

const char *fd_outcome_name(fd_outcome o)
{
	switch (o) {
	case FD_OUT_OK:
		return "ok";
	case FD_OUT_CREATED:
		return "created";
	case FD_OUT_INVALID:
		return "invalid";
	case FD_OUT_UNAUTHORIZED:
		return "unauthorized";
	case FD_OUT_FORBIDDEN:
		return "forbidden";
	case FD_OUT_NOT_FOUND:
		return "not_found";
	case FD_OUT_CONFLICT:
		return "conflict";
	case FD_OUT_KEY_REUSED:
		return "key_reused";
	case FD_OUT_RATE_LIMITED:
		return "rate_limited";
	case FD_OUT_UNAVAILABLE:
		return "unavailable";
	case FD_OUT_NONE:
	case FD_OUT_INTERNAL:
		break;
	}
	return "internal";
}

static void batch_free(import_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		json_decref(b->rows[i].body);
		json_decref(b->rows[i].res.body);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b->rows);
	free(b);
}

/* One row's answer: {"outcome", "id"?, "replayed"?, "code"?, "message"?}. */
static json_t *row_answer(const import_row *r)
{
	const fd_response *res = &r->res;
	json_t *o =
	        json_pack("{s:s}", "outcome", fd_outcome_name(res->outcome));
	const char *id = fd__jstr(res->body, "id");

	if (!o)
		return NULL;
	if (fd_outcome_ok(res->outcome)) {
		if (id)
			json_object_set_new(o, "id", json_string(id));
		if (res->replayed)
			json_object_set_new(o, "replayed", json_true());
	} else {
		json_object_set_new(o, "code", json_string(res->code));
		json_object_set_new(o, "message", json_string(res->message));
	}
	return o;
}

/* Every row has its answer: the import's, in b->res. */
static void batch_answer(import_batch *b)
{
	json_t *results = json_array(), *a;
	long counts[4] = {0, 0, 0, 0}; /* created, ok, replayed, refused */
	size_t i;

	for (i = 0; results && i < b->n; i++) {
		const fd_response *res = &b->rows[i].res;

		if (!(a = row_answer(&b->rows[i])) ||
		    json_array_append_new(results, a) < 0) {
			json_decref(results);
			results = NULL;
			break;
		}
		counts[!fd_outcome_ok(res->outcome)     ? 3
		       : res->replayed                  ? 2
		       : res->outcome == FD_OUT_CREATED ? 0
		                                        : 1]++;
	}
	json_decref(b->res->body);
	b->res->body = NULL;
	if (!results) {
		fd_fail(b->res, FD_OUT_INTERNAL, "internal", "out of memory");
		return;
	}
	b->res->outcome = FD_OUT_OK;
	b->res->body = json_pack(
	        "{s:o, s:i, s:i, s:i, s:i}", "results", results, "created",
	        (json_int_t)counts[0], "ok", (json_int_t)counts[1], "replayed",
	        (json_int_t)counts[2], "refused", (json_int_t)counts[3]);
	if (!b->res->body)
		fd_fail(b->res, FD_OUT_INTERNAL, "internal", "out of memory");
}

/* One reference of the batch is done; the last answers the import. */
static void batch_release(import_batch *b)
{
	void (*done)(void *);
	void *arg;

	if (__atomic_sub_fetch(&b->pending, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	batch_answer(b);
	if (b->suspended && b->req->done) {
		done = b->req->done;
		arg = b->req->async_arg;
		batch_free(b);
		done(arg);
		return;
	}
	pthread_mutex_lock(&b->mu);
	b->finished = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Under the engine's queue lock, before the row's job can run: the first
 * row queued suspends the import request (fd_request.suspend), so its
 * done always follows. */
static void row_queued(void *arg)
{
	import_row *r = arg;
	import_batch *b = r->b;

	r->queued = 1;
	if (!b->suspended && b->req->done) {
		b->suspended = 1;
		if (b->req->suspend)
			b->req->suspend(b->req->async_arg);
	}
}

static void row_done(void *arg)
{
	import_row *r = arg;

	batch_release(r->b);
}

/* Row i's body: a copy without idempotencyKey, with the import's
 * defaults (its environment, campaignId) where the row has none. */
static json_t *row_body(const json_t *row, const json_t *body,
                        const char *const *defaults)
{
	json_t *copy = json_copy((json_t *)row);

	if (!copy)
		return NULL;
	json_object_del(copy, "idempotencyKey");
	for (; *defaults; defaults++) {
		json_t *v = json_object_get(body, *defaults);

		if (v && !json_object_get(copy, *defaults))
			json_object_set(copy, *defaults, v);
	}
	return copy;
}

static int app_ok(fd_ctx *x)
{
	if (fd__admin_app(x) < 0)
		return -1;
	return fd__ok(x, FD_OUT_OK, json_true());
}

/* Set up row i; 0, or -1 when out of memory. A row the server's checks
 * refused ($errors[i], see router.c) is answered here and not run. */
static int row_setup(import_batch *b, size_t i, const char *const *defaults)
{
	import_row *r = &b->rows[i];
	const fd_request *req = b->req;
	json_t *row = json_array_get(json_object_get(req->body, "rows"), i);
	json_t *err = json_array_get(json_object_get(req->body, "$errors"), i);

	r->b = b;
	r->req = *req;
	r->req.id = NULL;
	r->req.query = NULL;
	r->req.body = NULL; /* set once the row is good to run */
	r->req.idempotency_key = NULL;
	r->req.want_text = 0;      /* rows answer as objects */
	r->req.body_sha256 = NULL; /* hash of the row's canonical JSON */
	r->req.suspend = row_queued;
	r->req.done = row_done;
	r->req.async_arg = r;
	r->req.order_group = b; /* the rows apply in order */
	if (json_is_object(err)) {
		fd_fail(&r->res, FD_OUT_INVALID, fd__jstr(err, "code"), "%s",
		        fd__jstr(err, "message") ? fd__jstr(err, "message")
		                                 : "invalid row");
		return 0;
	}
	if (!json_is_object(row)) {
		fd_fail(&r->res, FD_OUT_INVALID, "invalid_field",
		        "rows[%zu] must be an object", i);
		return 0;
	}
	r->req.idempotency_key = fd__jstr(row, "idempotencyKey");
	if (!(r->body = row_body(row, req->body, defaults)))
		return -1;
	r->req.body = r->body;
	return 0;
}

static void import_rows(fd_engine *e, const fd_request *req, fd_response *res,
                        fd_job_fn fn, const char *const *defaults)
{
	json_t *rows = json_object_get(req->body, "rows");
	import_batch *b;
	fd_response check;
	size_t i, n = json_array_size(rows);
	int async;

	memset(&check, 0, sizeof(check));
	fd__run_read(e, req, &check, app_ok);
	json_decref(check.body);
	if (!fd_outcome_ok(check.outcome)) {
		*res = check;
		res->body = NULL;
		return;
	}
	if (n == 0 || n > FD_IMPORT_MAX) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "rows must hold 1 to %d rows", FD_IMPORT_MAX);
		return;
	}
	if (!(b = calloc(1, sizeof(*b))) ||
	    !(b->rows = calloc(n, sizeof(*b->rows)))) {
		free(b);
		fd_fail(res, FD_OUT_UNAVAILABLE, "unavailable",
		        "out of memory; retry");
		return;
	}
	b->req = req;
	b->res = res;
	b->n = n;
	b->pending = (long)n + 1;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	for (i = 0; i < n; i++) {
		import_row *r = &b->rows[i];

		if (row_setup(b, i, defaults) < 0)
			fd_fail(&r->res, FD_OUT_UNAVAILABLE, "unavailable",
			        "out of memory; retry");
		else if (r->req.body)
			fd__run_write(e, &r->req, &r->res, fn);
		/* Answered at once (refused, in flight, stopping): no done. */
		if (!r->queued)
			batch_release(b);
	}
	/* Final now: only this thread queues. */
	async = b->suspended && req->done;
	batch_release(b);
	if (async)
		return; /* the last row's done answers the import */
	pthread_mutex_lock(&b->mu);
	while (!b->finished)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	batch_free(b);
}

static const char *const customer_defaults[] = {"environment", NULL};
static const char *const referral_defaults[] = {"campaignId", NULL};

FD_OP(fd_op_admin_customers_import)
{
	import_rows(e, req, res, fd__job_identify, customer_defaults);
}

FD_OP(fd_op_admin_referrals_import)
{
	import_rows(e, req, res, fd__job_referral_create, referral_defaults);
}
