/*
 * flockd engine: lifecycle, the group-commit writer, read snapshots,
 * idempotency, authentication and helpers shared by the operations.
 *
 * Writes: every write operation becomes a job queued to one writer thread
 * that owns the write connection. It takes all queued jobs (up to
 * group_max), runs each in its own SAVEPOINT inside one transaction (a
 * failing job rolls back only itself) and commits once; the syncer thread
 * then fsyncs the WAL (one fsync for every batch committed so far) while
 * the writer runs the next batch, and completes the jobs: a synchronous
 * caller is woken, an asynchronous one (the HTTP server, whose connection
 * is suspended meanwhile) gets its done callback. Reads run on pooled
 * read connections, which WAL lets proceed beside the writer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "engine/internal.h"
#include "base/jdump.h"
#include "base/log.h"

/* One queued write, on the heap from fd__run_write to its completion. */
struct fd_job {
	fd_ctx ctx;
	fd_job_fn fn;
	int failed;              /* the batch did not commit */
	void (*done)(void *arg); /* called once res is final */
	void *done_arg;
	char key[320]; /* "app\nIdempotency-Key" held in flight, or "" */
	fd_job *next;
};

struct fd_inflight {
	char key[320];
	fd_inflight *next;
};

/* ---- errors ---------------------------------------------------------- */

const char *fd_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

void fd_error(fd_response *res, int status, const char *code, const char *fmt,
              ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(res->body);
	res->status = status;
	res->replayed = 0;
	res->body = json_pack("{s:i, s:s, s:s, s:s}", "statusCode", status,
	                      "error", fd_status_text(status), "message", msg,
	                      "code", code ? code : "error");
	/* A message quoting bad UTF-8 from a request still gets a body. */
	if (!res->body)
		res->body = json_pack("{s:i, s:s, s:s, s:s}", "statusCode",
		                      status, "error", fd_status_text(status),
		                      "message", fd_status_text(status), "code",
		                      code ? code : "error");
}

int fd__internal(fd_ctx *x)
{
	fd_error(x->res, 500, "internal", "internal error");
	return -1;
}

int fd__fail(fd_ctx *x, int status, const char *code, const char *msg)
{
	fd_error(x->res, status, code, "%s", msg);
	return -1;
}

int fd__ok(fd_ctx *x, int status, json_t *body)
{
	if (!body)
		return fd__internal(x);
	json_decref(x->res->body);
	x->res->status = status;
	x->res->body = body;
	return 0;
}

/* ---- request helpers ------------------------------------------------- */

const char *fd__bstr(const fd_ctx *x, const char *name)
{
	return json_string_value(json_object_get(x->req->body, name));
}

const char *fd__qstr(const fd_ctx *x, const char *name)
{
	return json_string_value(json_object_get(x->req->query, name));
}

const char *fd__env(const fd_ctx *x)
{
	const char *env = fd__bstr(x, "environment");

	if (!env)
		env = fd__qstr(x, "environment");
	if (!env && x->req->who && x->req->who->environment[0])
		env = x->req->who->environment;
	if (!env)
		return "production";
	if (strcmp(env, "production") == 0)
		return "production";
	if (strcmp(env, "test") == 0)
		return "test";
	return NULL;
}

static long qlong(const fd_ctx *x, const char *name, long def)
{
	json_t *v = json_object_get(x->req->query, name);
	const char *s = json_string_value(v);
	char *end;
	long n;

	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (!s || !*s)
		return def;
	n = strtol(s, &end, 10);
	return *end ? def : n;
}

void fd__page(const fd_ctx *x, long *limit, long *offset)
{
	*limit = qlong(x, "limit", 20);
	*offset = qlong(x, "offset", 0);
	if (*limit < 1)
		*limit = 1;
	if (*limit > 100)
		*limit = 100;
	if (*offset < 0)
		*offset = 0;
}

/*
 * flock__id_new's format (prefix, 10 characters of milliseconds, 16 of
 * randomness, lowercase Crockford base32), with the random bytes taken
 * from a per-thread buffer filled 1 KiB at a time: one RAND_bytes call
 * (locks, fork check) per ~100 ids instead of one per id. The writer makes
 * several ids per write.
 */
int fd__new_id(char out[40], const char *prefix)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
	static __thread uint8_t pool[1000];
	static __thread size_t left;
	uint64_t t = (uint64_t)flock__now_ms(), bits = 0;
	size_t plen = strlen(prefix), i;
	uint8_t *rnd;
	int nbits = 0;
	char *p;

	if (plen + 26 + 1 > 40 || plen + 26 + 1 > FLOCK__ID_MAX)
		return -1;
	if (left < 10) {
		if (flock__random_bytes(pool, sizeof(pool)) < 0)
			return -1;
		left = sizeof(pool);
	}
	rnd = pool + sizeof(pool) - left;
	memcpy(out, prefix, plen);
	p = out + plen;
	for (i = 0; i < 10; i++)
		p[i] = b32[(t >> (5 * (9 - i))) & 31];
	p += 10;
	for (i = 0; i < 10; i++) {
		bits = (bits << 8) | rnd[i];
		nbits += 8;
		while (nbits >= 5) {
			*p++ = b32[(bits >> (nbits - 5)) & 31];
			nbits -= 5;
		}
	}
	*p = '\0';
	/* Used bytes are wiped: they never serve twice. */
	memset(rnd, 0, 10);
	left -= 10;
	return 0;
}

int fd__secret(char *out, size_t len, const char *prefix, size_t nbytes)
{
	uint8_t raw[32];
	size_t plen = strlen(prefix);

	if (nbytes > sizeof(raw) || plen + 2 * nbytes + 1 > len ||
	    flock__random_bytes(raw, nbytes) < 0)
		return -1;
	memcpy(out, prefix, plen);
	flock__hex_encode(out + plen, raw, nbytes);
	return 0;
}

/* ---- outbox ---------------------------------------------------------- */

int fd__emit(fd_ctx *x, const char *env, const char *name, json_t *data)
{
	char id[FLOCK__ID_MAX];
	json_t *env_obj = NULL;
	char *body = NULL;
	int rc = -1;

	if (!data || fd__new_id(id, "evt_") < 0)
		goto done;
	/* Fixed key order, compact: the bytes of "data" in the stored body
	 * are what a webhook verifier slices out and signs. */
	env_obj = json_pack("{s:s, s:s, s:I, s:s, s:O}", "id", id, "name", name,
	                    "timestamp", (json_int_t)x->now, "environment", env,
	                    "data", data);
	if (!env_obj)
		goto done;
	body = fd_jdump(env_obj, NULL);
	if (body && fd_store_outbox_insert(x->c, x->app, id, env, name, x->now,
	                                   body) == FD_OK)
		rc = 0;
	/* Once the batch is durable, on_commit wakes the worker. */
	if (rc == 0)
		x->emitted = 1;
done:
	free(body);
	json_decref(env_obj);
	json_decref(data);
	return rc;
}

/* ---- customers and referral codes ------------------------------------ */

/* Crockford-style alphabet without 0/1/I/L/O/U: readable aloud. */
static const char code_alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

static size_t code_letters(char *out, const char *src, size_t max)
{
	size_t n = 0;

	for (; src && *src && n < max; src++) {
		char ch = *src;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch >= 'A' && ch <= 'Z')
			out[n++] = ch;
		else if (ch == '@')
			break;
	}
	return n;
}

/* "JANE" + random characters; more randomness after conflicts. */
static int make_code(char out[16], const char *name, const char *email,
                     int attempt)
{
	uint8_t rnd[8];
	size_t n = code_letters(out, name, 4), i, nrand;

	if (n == 0)
		n = code_letters(out, email, 4);
	if (n == 0) {
		memcpy(out, "FLK", 3);
		n = 3;
	}
	nrand = attempt < 4 ? 3 : 6;
	if (flock__random_bytes(rnd, nrand) < 0)
		return -1;
	for (i = 0; i < nrand; i++)
		out[n++] = code_alphabet[rnd[i] % (sizeof(code_alphabet) - 1)];
	out[n] = '\0';
	return 0;
}

int fd__customer_create(fd_ctx *x, const char *external_id, const char *email,
                        const char *name, const char *props, const char *env,
                        json_t **out)
{
	char id[FLOCK__ID_MAX], code[16];
	int attempt, rc = FD_CONFLICT;

	*out = NULL;
	if (fd__new_id(id, "cus_") < 0)
		return FD_ERR;
	/* The unique index decides whether a code is free. */
	for (attempt = 0; attempt < 8 && rc == FD_CONFLICT; attempt++) {
		if (make_code(code, name, email, attempt) < 0)
			return FD_ERR;
		rc = fd_store_customer_insert(x->c, x->app, id, external_id,
		                              email, name, code, props, x->now);
	}
	if (rc != FD_OK ||
	    fd_store_customer_get(x->c, x->app, FD_BY_ID, id, out) != FD_OK)
		return FD_ERR;
	if (fd__emit(x, env, "customer.created", json_incref(*out)) < 0) {
		json_decref(*out);
		*out = NULL;
		return FD_ERR;
	}
	return FD_OK;
}

/* ---- in-flight idempotency keys -------------------------------------- */

static int inflight_add(fd_engine *e, const char *key)
{
	fd_inflight *f;
	int rc = -1;

	pthread_mutex_lock(&e->mu);
	for (f = e->inflight; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			goto done;
	if (!(f = malloc(sizeof(*f))))
		goto done;
	snprintf(f->key, sizeof(f->key), "%s", key);
	f->next = e->inflight;
	e->inflight = f;
	rc = 0;
done:
	pthread_mutex_unlock(&e->mu);
	return rc;
}

static void inflight_remove(fd_engine *e, const char *key)
{
	fd_inflight **pp, *f;

	pthread_mutex_lock(&e->mu);
	for (pp = &e->inflight; (f = *pp); pp = &f->next) {
		if (strcmp(f->key, key) == 0) {
			*pp = f->next;
			free(f);
			break;
		}
	}
	pthread_mutex_unlock(&e->mu);
}

/* ---- idempotency ----------------------------------------------------- */

static int body_hash(const fd_request *req, uint8_t out[32])
{
	char *text;
	int rc;

	if (req->body_sha256) {
		memcpy(out, req->body_sha256, 32);
		return 0;
	}
	text = req->body ? json_dumps(req->body, JSON_COMPACT | JSON_SORT_KEYS)
	                 : NULL;
	rc = flock__sha256(out, text ? text : "", text ? strlen(text) : 0);
	free(text);
	return rc;
}

static int replay(fd_ctx *x, int status, const char *body)
{
	json_t *b = json_loads(body, JSON_DECODE_ANY, NULL);

	if (fd__ok(x, status, b) < 0)
		return -1;
	x->res->replayed = 1;
	return 0;
}

/* Store the response for (app, key) in the current transaction. */
static int idem_put(fd_ctx *x, const uint8_t hash[32])
{
	char *body = fd_jdump(x->res->body, NULL);
	int rc = body ? fd_store_idem_put(x->c, x->app, x->req->idempotency_key,
	                                  hash, x->res->status, body, x->now)
	              : FD_ERR;

	free(body);
	return rc == FD_OK ? 0 : -1;
}

/*
 * The job wrapper: look up the key, run the operation, store its response
 * with the change so a retry after the commit replays it. An operation
 * that failed with a 4xx is stored too (after its changes are rolled back,
 * see run_job): it is the first completed response. 5xx are not stored:
 * a retry should run again.
 */
static int run_idempotent(fd_ctx *x, fd_job_fn fn)
{
	const char *key = x->req->idempotency_key;
	uint8_t stored[32];
	char *body = NULL;
	int status = 0, rc;

	if (!key || !*key)
		return fn(x);
	if (body_hash(x->req, x->idem_hash) < 0)
		return fd__internal(x);
	rc = fd_store_idem_get(x->c, x->app, key, stored, &status, &body);
	if (rc == FD_OK) {
		if (flock__ct_equal(x->idem_hash, stored, 32))
			rc = replay(x, status, body);
		else
			rc = fd__fail(x, 422, "idempotency_key_reused",
			              "Idempotency-Key was used with another "
			              "body");
		free(body);
		return rc;
	}
	if (rc != FD_NOTFOUND)
		return fd__internal(x);
	if ((rc = fn(x)) < 0) {
		x->idem_store = x->res->status >= 400 && x->res->status < 500;
		return rc;
	}
	if (x->res->status < 500 && idem_put(x, x->idem_hash) < 0)
		return fd__internal(x);
	return 0;
}

/* ---- the writer ------------------------------------------------------ */

/* How often a job, then a batch, is run again after FD_RETRY (another
 * node won a race, a deadlock, a lost connection). */
#define JOB_RETRIES 5
#define BATCH_RETRIES 3

/* Forget what a failed attempt of the job answered. */
static void job_reset(fd_job *j)
{
	json_decref(j->ctx.res->body);
	j->ctx.res->body = NULL;
	j->ctx.res->status = 0;
	j->ctx.res->replayed = 0;
	j->ctx.granted = 0;
	j->ctx.idem_store = 0;
	j->ctx.emitted = 0;
}

/*
 * One attempt of a job in its savepoint. 1: run it again (FD_RETRY: it
 * is rolled back alone); 0: done (kept, or rolled back with its error
 * response); j->failed: the transaction is lost.
 */
static int run_job_once(fd_conn *c, fd_job *j)
{
	int rc;

	if (fd_store_savepoint(c) != FD_OK) {
		j->failed = 1;
		return 0;
	}
	if (run_idempotent(&j->ctx, j->fn) == 0) {
		rc = fd_store_release(c);
		if (rc == FD_OK)
			return 0;
		fd__internal(&j->ctx);
	}
	j->ctx.granted = 0;
	j->ctx.emitted = 0;
	rc = fd_store_rollback_to(c);
	if (rc == FD_RETRY)
		return 1;
	if (rc != FD_OK)
		j->failed = 1;
	else if (j->ctx.idem_store && idem_put(&j->ctx, j->ctx.idem_hash) < 0)
		fd__internal(&j->ctx);
	return 0;
}

/* The job's answer is final: release its key, tell its caller, free it.
 * Called without e->mu. */
static void finish_jobs(fd_engine *e, fd_job *list, int failed)
{
	fd_job *j, *next;
	void (*done)(void *);
	void *arg;
	int emitted = 0;

	for (j = list; j && !failed; j = j->next)
		emitted |= !j->failed && j->ctx.emitted;
	if (emitted && e->on_commit)
		e->on_commit(e->on_commit_arg);
	for (j = list; j; j = next) {
		next = j->next;
		if (failed || j->failed)
			fd_error(j->ctx.res, 503, "unavailable",
			         "the change could not be stored; retry");
		if (j->key[0])
			inflight_remove(e, j->key);
		done = j->done;
		arg = j->done_arg;
		free(j);
		done(arg);
	}
}

static void run_job(fd_engine *e, fd_conn *c, fd_job *j)
{
	int attempt;

	j->ctx.c = c;
	j->ctx.writer = 1;
	for (attempt = 0;; attempt++) {
		j->ctx.now = fd_clock_now(e->clock);
		if (!run_job_once(c, j))
			return;
		/* The cache may hold what the rolled-back attempt read. */
		fd__live_forget(e);
		job_reset(j);
		if (attempt + 1 >= JOB_RETRIES) {
			fd_error(j->ctx.res, 503, "unavailable",
			         "the change met concurrent changes; retry");
			return;
		}
	}
}

/* Rewards past their hold become approved (reward.approved). */
static int promote_due(fd_engine *e, fd_conn *c)
{
	fd_request req;
	fd_response res;
	fd_ctx x;
	json_t *due = NULL, *r;
	size_t i;
	int rc = 0;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	memset(&x, 0, sizeof(x));
	x.e = e;
	x.c = c;
	x.req = &req;
	x.res = &res;
	x.now = fd_clock_now(e->clock);
	if (fd_store_reward_due(c, x.now, 200, &due) != FD_OK)
		return -1;
	json_array_foreach(due, i, r)
	{
		x.app = json_string_value(json_object_get(r, "applicationId"));
		/* The computed status is already "approved": make it so. */
		if (fd_store_reward_transition(
		            c, x.app,
		            json_string_value(json_object_get(r, "id")),
		            "approved", "approved", x.now) != FD_OK ||
		    fd__emit(&x,
		             json_string_value(
		                     json_object_get(r, "environment")),
		             "reward.approved", json_incref(r)) < 0) {
			rc = -1;
			break;
		}
	}
	json_decref(due);
	json_decref(res.body);
	if (rc == 0 && x.emitted && e->on_commit)
		e->on_commit(e->on_commit_arg);
	return rc;
}

static void housekeeping(fd_engine *e)
{
	fd_conn *c = fd_store_writer(e->store);

	if (fd_store_begin(c, 1) != FD_OK)
		return;
	/* Idempotency records live at least 24 h (api.md); keep 48. */
	if (promote_due(e, c) < 0 ||
	    fd_store_idem_purge(c, fd_clock_now(e->clock) - 2 * FD_DAY_MS) !=
	            FD_OK) {
		fd_store_rollback(c);
		return;
	}
	if (fd_store_commit(c) != FD_OK)
		fd_store_rollback(c);
}

/* Drop the live-campaign cache if any node changed campaigns since it was
 * filled. FD_OK or the store's failure. */
static int check_campaigns(fd_engine *e, fd_conn *c)
{
	int64_t v;
	int rc = fd_store_campaigns_version(c, &v);

	if (rc == FD_OK && v != e->live_version) {
		fd__live_forget(e);
		e->live_version = v;
	}
	return rc;
}

/*
 * Run the batch in one transaction and commit it. A failure before the
 * commit rolls back everything and runs the batch again (nothing of it is
 * visible: a lost connection or a deadlock must not become a 5xx); a
 * failed commit is not retried (its outcome is unknown): its jobs fail.
 */
static int run_batch_once(fd_engine *e, fd_conn *c, fd_job *batch, int attempt)
{
	fd_job *j;
	int failed =
	        fd_store_begin(c, 1) != FD_OK || check_campaigns(e, c) != FD_OK;

	for (j = batch; j && !failed; j = j->next) {
		if (attempt > 0)
			job_reset(j);
		j->failed = 0;
		run_job(e, c, j);
		failed = j->failed;
	}
	if (!failed) {
		if (fd_store_commit(c) == FD_OK)
			return 0;
		fd_store_rollback(c);
		fd__live_forget(e);
		return -1;
	}
	fd_store_rollback(c);
	/* The cache may hold rows that were never committed. */
	fd__live_forget(e);
	return 1;
}

static void run_batch(fd_engine *e, fd_job *batch)
{
	fd_conn *c = fd_store_writer(e->store);
	fd_job *j;
	int failed = 1, attempt;
	long granted = 0;

	for (attempt = 0; attempt < BATCH_RETRIES && failed == 1; attempt++)
		failed = run_batch_once(e, c, batch, attempt);
	for (j = batch; j; j = j->next)
		granted += failed ? 0 : j->ctx.granted;
	pthread_mutex_lock(&e->stat_mu);
	e->rewards_granted += granted;
	pthread_mutex_unlock(&e->stat_mu);
	if (failed) {
		finish_jobs(e, batch, 1);
		return;
	}
	/* Committed, not yet durable: the syncer answers them. */
	pthread_mutex_lock(&e->mu);
	for (j = batch; j->next; j = j->next)
		;
	if (e->sync_tail)
		e->sync_tail->next = batch;
	else
		e->sync_head = batch;
	e->sync_tail = j;
	pthread_cond_signal(&e->sync_cv);
	pthread_mutex_unlock(&e->mu);
}

/* One fdatasync covers every batch committed before it. */
static void *syncer_main(void *arg)
{
	fd_engine *e = arg;
	fd_job *list;
	int failed;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		while (!e->sync_head && !e->writer_exited)
			pthread_cond_wait(&e->sync_cv, &e->mu);
		if (!e->sync_head)
			break;
		list = e->sync_head;
		e->sync_head = e->sync_tail = NULL;
		pthread_mutex_unlock(&e->mu);
		failed = fd_store_sync(e->store) != FD_OK;
		finish_jobs(e, list, failed);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static fd_job *take_batch(fd_engine *e)
{
	fd_job *batch = e->head, *last = e->head;
	int n = 1;

	while (last->next && n < e->group_max) {
		last = last->next;
		n++;
	}
	e->head = last->next;
	if (!e->head)
		e->tail = NULL;
	last->next = NULL;
	return batch;
}

static void *writer_main(void *arg)
{
	fd_engine *e = arg;
	struct timespec ts;
	fd_job *batch;
	int64_t last_sweep = 0;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		if (!e->head && !e->stopping && !e->sweep_due) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&e->work_cv, &e->mu, &ts);
		}
		if (!e->head && e->stopping)
			break;
		if (e->sweep_due || flock__mono_ms() - last_sweep >= 1000) {
			e->sweep_due = 0;
			pthread_mutex_unlock(&e->mu);
			housekeeping(e);
			last_sweep = flock__mono_ms();
			pthread_mutex_lock(&e->mu);
		}
		if (!e->head)
			continue;
		batch = take_batch(e);
		pthread_mutex_unlock(&e->mu);
		run_batch(e, batch);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* A synchronous caller's wait for its job. */
typedef struct {
	fd_engine *e;
	int done;
} sync_wait;

static void sync_done(void *arg)
{
	sync_wait *w = arg;
	fd_engine *e = w->e;

	pthread_mutex_lock(&e->mu);
	w->done = 1; /* w may be gone once e->mu is released */
	pthread_cond_broadcast(&e->done_cv);
	pthread_mutex_unlock(&e->mu);
}

void fd__run_write(fd_engine *e, const fd_request *req, fd_response *res,
                   fd_job_fn fn)
{
	sync_wait w = {e, 0};
	fd_job *job = calloc(1, sizeof(*job));

	if (!job) {
		fd_error(res, 503, "unavailable", "out of memory; retry");
		return;
	}
	job->fn = fn;
	job->ctx.e = e;
	job->ctx.req = req;
	job->ctx.res = res;
	job->ctx.app = req->app_id ? req->app_id
	               : req->who  ? req->who->app_id
	                           : "";
	if (req->done) {
		job->done = req->done;
		job->done_arg = req->async_arg;
	} else {
		job->done = sync_done;
		job->done_arg = &w;
	}
	if (req->idempotency_key && *req->idempotency_key) {
		snprintf(job->key, sizeof(job->key), "%s\n%s", job->ctx.app,
		         req->idempotency_key);
		if (inflight_add(e, job->key) < 0) {
			free(job);
			fd_error(res, 409, "idempotency_key_in_flight",
			         "a request with this Idempotency-Key is in "
			         "progress");
			return;
		}
	}
	pthread_mutex_lock(&e->mu);
	if (e->stopping) {
		pthread_mutex_unlock(&e->mu);
		if (job->key[0])
			inflight_remove(e, job->key);
		free(job);
		fd_error(res, 503, "shutting_down", "flockd is stopping");
		return;
	}
	/* Suspended before the job can finish, so done always follows. */
	if (req->done && req->suspend)
		req->suspend(req->async_arg);
	if (e->tail)
		e->tail->next = job;
	else
		e->head = job;
	e->tail = job;
	pthread_cond_signal(&e->work_cv);
	if (!req->done)
		while (!w.done)
			pthread_cond_wait(&e->done_cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

void fd__run_read(fd_engine *e, const fd_request *req, fd_response *res,
                  fd_job_fn fn)
{
	fd_ctx x;

	memset(&x, 0, sizeof(x));
	x.e = e;
	x.req = req;
	x.res = res;
	x.app = req->app_id ? req->app_id : req->who ? req->who->app_id : "";
	x.now = fd_clock_now(e->clock);
	x.c = fd_store_reader(e->store);
	if (fd_store_begin(x.c, 0) != FD_OK) {
		fd__internal(&x);
	} else {
		fn(&x);
		fd_store_rollback(x.c);
	}
	fd_store_reader_done(e->store, x.c);
}

/* ---- internal callers ------------------------------------------------ */

/* What fd_engine_write runs as its job. */
typedef struct {
	fd_request req;
	fd_engine_write_fn fn;
	void *arg;
	int rc;
} call_job;

static int call_run(fd_ctx *x)
{
	call_job *j = (call_job *)(void *)x->req;

	j->rc = j->fn(x->c, x->now, j->arg);
	if (j->rc != FD_OK)
		return -1;
	x->res->status = 200;
	return 0;
}

int fd_engine_write(fd_engine *e, fd_engine_write_fn fn, void *arg)
{
	call_job j;
	fd_response res;

	memset(&j, 0, sizeof(j));
	memset(&res, 0, sizeof(res));
	j.req.app_id = "";
	j.fn = fn;
	j.arg = arg;
	j.rc = FD_ERR;
	fd__run_write(e, &j.req, &res, call_run);
	json_decref(res.body);
	if (res.status == 200)
		return FD_OK;
	return j.rc != FD_OK ? j.rc : FD_ERR;
}

int fd_engine_read(fd_engine *e, fd_engine_write_fn fn, void *arg)
{
	int64_t now = fd_clock_now(e->clock);
	fd_conn *c = fd_store_reader(e->store);
	int rc = fd_store_begin(c, 0);

	if (rc == FD_OK) {
		rc = fn(c, now, arg);
		fd_store_rollback(c);
	}
	fd_store_reader_done(e->store, c);
	return rc;
}

fd_clock *fd_engine_clock(fd_engine *e)
{
	return e->clock;
}

/* The clock moved: rewards may be due now. */
static void clock_moved(void *arg)
{
	fd_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	e->sweep_due = 1;
	pthread_cond_signal(&e->work_cv);
	pthread_mutex_unlock(&e->mu);
}

/* ---- lifecycle ------------------------------------------------------- */

int fd_engine_open(fd_engine **out, const fd_engine_config *cfg, char *errbuf,
                   size_t errlen)
{
	fd_engine *e = calloc(1, sizeof(*e));
	int readers = cfg->read_connections > 0 ? cfg->read_connections : 8;

	*out = NULL;
	if (!e) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->stat_mu, NULL);
	pthread_cond_init(&e->work_cv, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	pthread_cond_init(&e->sync_cv, NULL);
	e->velocity_per_hour =
	        cfg->velocity_per_hour > 0 ? cfg->velocity_per_hour : 20;
	e->group_max = cfg->group_commit_max > 0 ? cfg->group_commit_max : 256;
	e->rate_limit = cfg->rate_limit > 0 ? cfg->rate_limit : 0;
	e->webhook_allow_private = cfg->webhook_allow_private;
	e->clock = cfg->clock ? cfg->clock : fd_clock_real();
	e->on_commit = cfg->on_commit;
	e->on_commit_arg = cfg->on_commit_arg;
	if (!cfg->db_path) {
		snprintf(errbuf, errlen, "no database path");
		goto fail;
	}
	if (fd_fraud_new(&e->fraud, cfg->disposable_domains_path, errbuf,
	                 errlen) < 0 ||
	    fd_store_open(&e->store, cfg->db_path, readers, e->clock, errbuf,
	                  errlen) < 0)
		goto fail;
	if (pthread_create(&e->syncer, NULL, syncer_main, e) != 0) {
		snprintf(errbuf, errlen, "cannot start the syncer thread");
		goto fail;
	}
	e->syncer_started = 1;
	pthread_setname_np(e->syncer, "fd-syncer");
	if (pthread_create(&e->writer, NULL, writer_main, e) != 0) {
		snprintf(errbuf, errlen, "cannot start the writer thread");
		goto fail;
	}
	e->writer_started = 1;
	pthread_setname_np(e->writer, "fd-writer");
	if (fd_clock_listen(e->clock, clock_moved, e) < 0) {
		snprintf(errbuf, errlen, "too many clock listeners");
		goto fail;
	}
	*out = e;
	return 0;
fail:
	fd_engine_close(e);
	return -1;
}

void fd_engine_close(fd_engine *e)
{
	fd_inflight *f;

	if (!e)
		return;
	if (e->clock)
		fd_clock_unlisten(e->clock, clock_moved, e);
	if (e->writer_started) {
		pthread_mutex_lock(&e->mu);
		e->stopping = 1;
		pthread_cond_signal(&e->work_cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->writer, NULL);
	}
	if (e->syncer_started) {
		pthread_mutex_lock(&e->mu);
		e->writer_exited = 1;
		pthread_cond_signal(&e->sync_cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->syncer, NULL);
	}
	fd__live_forget(e);
	fd_store_close(e->store);
	fd_fraud_free(e->fraud);
	while ((f = e->inflight)) {
		e->inflight = f->next;
		free(f);
	}
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->stat_mu);
	pthread_cond_destroy(&e->work_cv);
	pthread_cond_destroy(&e->done_cv);
	pthread_cond_destroy(&e->sync_cv);
	free(e);
}

int fd_engine_authenticate(fd_engine *e, const char *key, fd_principal *out)
{
	uint8_t hash[32];
	fd_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!key)
		return -1;
	if (strncmp(key, "Bearer ", 7) == 0)
		key += 7;
	if (!*key || flock__sha256(hash, key, strlen(key)) < 0)
		return -1;
	/* Only hashes are stored, so a lookup by hash reveals nothing about
	 * the secret through timing. */
	c = fd_store_reader(e->store);
	rc = fd_store_key_auth(c, hash, out);
	fd_store_reader_done(e->store, c);
	return rc == FD_OK ? 0 : -1;
}

int fd_engine_rate_check(fd_engine *e, const fd_principal *who,
                         fd_response *res)
{
	long count = 0;

	if (e->rate_limit <= 0 || who->kind == FD_KEY_ADMIN || !who->key_id[0])
		return 0;
	/* Wall-clock seconds: every node sharing the database agrees on
	 * the window as far as their clocks agree. */
	if (fd_store_rate_hit(e->store, who->key_id,
	                      fd_clock_now(e->clock) / 1000, &count) != FD_OK) {
		if (!__atomic_exchange_n(&e->rate_warned, 1, __ATOMIC_RELAXED))
			fd_log(FD_LOG_WARN,
			       "rate limit: cannot count requests in the "
			       "database; letting requests through");
		return 0;
	}
	if (count <= e->rate_limit)
		return 0;
	fd_error(res, 429, "rate_limited",
	         "more than %ld requests per second for this key",
	         e->rate_limit);
	return 429;
}

int fd_engine_ready(fd_engine *e)
{
	fd_conn *c;
	int ok;

	if (!e)
		return 0;
	c = fd_store_reader(e->store);
	ok = fd_store_ping(c) == FD_OK;
	fd_store_reader_done(e->store, c);
	return ok;
}

long fd_engine_rewards_granted(fd_engine *e)
{
	long n;

	pthread_mutex_lock(&e->stat_mu);
	n = e->rewards_granted;
	pthread_mutex_unlock(&e->stat_mu);
	return n;
}

void fd_op_noop(fd_engine *e, const fd_request *req, fd_response *res)
{
	res->status = 200;
	res->body = json_pack("{s:b}", "ok", 1);
}
