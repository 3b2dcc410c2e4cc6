/*
 * flockd engine: the group-commit writer, its syncer, the jobs they run
 * and the idempotency of requests.
 *
 * Every write becomes a job queued to the writer threads, each of which
 * owns a write connection: a request's operation (fd__run_write), which
 * answers in its fd_response, or an internal call (fd__write,
 * fd_engine_write), which answers with a store code. A writer takes all
 * queued jobs (up to group_max), runs them in one transaction and commits
 * once. SQLite has one writer; on PostgreSQL several writers of one
 * process run their batches at once, as the writers of several nodes do
 * (the database's locks and constraints keep them apart: store/), and
 * the first of them also runs housekeeping. A job
 * that fails must roll back only itself, which costs a SAVEPOINT around
 * every job; most batches have no failing job, so a batch runs first
 * without savepoints, and only when one of its jobs fails is the batch
 * rolled back and run again with a savepoint per job (as are the next
 * SAFE_BATCHES batches: where jobs fail, they fail often); the syncer thread
 * then fsyncs the WAL (one fsync for every batch committed so far) while
 * the writer runs the next batch, and completes the jobs: a synchronous
 * caller is woken, an asynchronous one (the HTTP server, whose connection
 * is suspended meanwhile) gets its done callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "engine/internal.h"
#include "base/log.h"

/* How often a job, then a batch, is run again after FD_RETRY (another
 * node won a race, a deadlock, a lost connection). */
#define JOB_RETRIES 5
#define BATCH_RETRIES 3
/* Batches run with a savepoint per job after one whose job failed. */
#define SAFE_BATCHES 16
/* Rewards moved past their hold per housekeeping pass; the rest wait for
 * the next pass, a second later. */
#define PROMOTE_MAX 256

/* One queued write, on the heap from queueing to its completion: either a
 * request's operation (fn; ctx.req and ctx.res set) or an internal call
 * (call; its code goes to *call_rc). */
struct fd_job {
	fd_ctx ctx;
	fd_job_fn fn;
	fd_call_fn call;
	void *call_arg;
	int *call_rc;
	int failed;              /* the batch did not commit */
	void (*done)(void *arg); /* called once the answer is final */
	void *done_arg;
	char key[320]; /* "app\nIdempotency-Key" held in flight, or "" */
	const void *group; /* fd_request.order_group, or NULL */
	fd_job *next;
};

struct fd_inflight {
	char key[320];
	fd_inflight *next;
};

/* ---- in-flight idempotency keys -------------------------------------- */

/* FNV-1a: the key's bucket. */
static fd_inflight **inflight_bucket(fd_engine *e, const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return &e->inflight[h % FD_INFLIGHT_BUCKETS];
}

static int inflight_add(fd_engine *e, const char *key)
{
	fd_inflight *f, **bucket;
	int rc = -1;

	pthread_mutex_lock(&e->mu);
	bucket = inflight_bucket(e, key);
	for (f = *bucket; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			goto done;
	if (!(f = malloc(sizeof(*f))))
		goto done;
	snprintf(f->key, sizeof(f->key), "%s", key);
	f->next = *bucket;
	*bucket = f;
	rc = 0;
done:
	pthread_mutex_unlock(&e->mu);
	return rc;
}

static void inflight_remove(fd_engine *e, const char *key)
{
	fd_inflight **pp, *f;

	pthread_mutex_lock(&e->mu);
	for (pp = inflight_bucket(e, key); (f = *pp); pp = &f->next) {
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

static int replay(fd_ctx *x, int code, const char *text)
{
	if (x->e->answers->restore(x->res, code, text) < 0)
		return fd__internal(x);
	x->res->replayed = 1;
	return 0;
}

/* Store the answer for (app, key) in the current transaction; a
 * success's text is also the reply's when the caller wants it (made
 * once: the stored bytes are the sent ones). */
static int idem_put(fd_ctx *x)
{
	char *text = NULL;
	int code = 0, rc = FD_ERR;

	if (x->e->answers->keep(x->res, &code, &text) == 0)
		rc = fd_store_idem_put(x->c, x->app, x->req->idempotency_key,
		                       x->idem_hash, code, text, x->now);
	if (rc == FD_OK && x->req->want_text &&
	    fd_outcome_ok(x->res->outcome) && x->res->body && !x->res->text) {
		x->res->text = text;
		text = NULL;
	}
	free(text);
	return rc == FD_OK ? 0 : -1;
}

/*
 * The job wrapper: look up the key, run the operation, store its answer
 * with the change so a retry after the commit replays it. An operation
 * refused by the rules is stored too (after its changes are rolled back,
 * see run_job_once): it is the first completed answer. flockd's own
 * failures (fd_outcome_fault) are not: a retry should run again.
 */
static int run_idempotent(fd_ctx *x, fd_job_fn fn)
{
	const char *key = x->req->idempotency_key;
	uint8_t stored[32];
	char *text = NULL;
	int code = 0, rc;

	if (fd__scope(x) < 0)
		return -1;
	if (!key || !*key)
		return fn(x);
	if (!x->e->answers || body_hash(x->req, x->idem_hash) < 0)
		return fd__internal(x);
	rc = fd_store_idem_get(x->c, x->app, key, stored, &code, &text);
	if (rc == FD_OK) {
		if (flock__ct_equal(x->idem_hash, stored, 32))
			rc = replay(x, code, text);
		else
			rc = fd__fail(x, FD_OUT_KEY_REUSED,
			              "idempotency_key_reused",
			              "Idempotency-Key was used with another "
			              "body");
		free(text);
		return rc;
	}
	if (rc != FD_NOTFOUND)
		return fd__internal(x);
	if ((rc = fn(x)) < 0) {
		x->idem_store = !fd_outcome_fault(x->res->outcome);
		return rc;
	}
	if (!fd_outcome_fault(x->res->outcome) && idem_put(x) < 0)
		return fd__internal(x);
	return 0;
}

/* ---- one job --------------------------------------------------------- */

/* The job's change was not stored (the batch failed, or concurrent
 * changes won every attempt): rc for an internal call, FD_OUT_UNAVAILABLE
 * (retry) for a request. */
static void job_lost(fd_job *j, int rc, const char *why)
{
	if (j->call)
		*j->call_rc = rc;
	else
		fd_fail(j->ctx.res, FD_OUT_UNAVAILABLE, "unavailable", "%s",
		        why);
}

/* Forget what a failed attempt of the job answered. */
static void job_reset(fd_job *j)
{
	if (j->call) {
		*j->call_rc = FD_ERR;
	} else {
		json_decref(j->ctx.res->body);
		free(j->ctx.res->text);
		memset(j->ctx.res, 0, sizeof(*j->ctx.res));
	}
	j->ctx.granted = 0;
	j->ctx.idem_store = 0;
	j->ctx.emitted = 0;
	j->ctx.visit_env[0] = 0;
}

/* The job's own work: 0 keeps its changes, -1 rolls them back. */
static int job_body(fd_job *j)
{
	if (!j->call)
		return run_idempotent(&j->ctx, j->fn);
	*j->call_rc = j->call(&j->ctx, j->call_arg);
	return *j->call_rc == FD_OK ? 0 : -1;
}

/*
 * One attempt of a job in its savepoint. 1: run it again (FD_RETRY: it
 * is rolled back alone); 0: done (kept, or rolled back with its error
 * answer); j->failed: the transaction is lost.
 */
static int run_job_once(fd_conn *c, fd_job *j)
{
	int rc;

	if (fd_store_savepoint(c) != FD_OK) {
		j->failed = 1;
		return 0;
	}
	if (job_body(j) == 0) {
		if (fd_store_release(c) == FD_OK)
			return 0;
		if (j->call)
			*j->call_rc = FD_ERR;
		else
			fd__internal(&j->ctx);
	}
	j->ctx.granted = 0;
	j->ctx.emitted = 0;
	j->ctx.visit_env[0] = 0;
	/* Jobs fail here: the next batches keep their savepoints. */
	j->ctx.w->safe_batches = SAFE_BATCHES;
	rc = fd_store_rollback_to(c);
	if (rc == FD_RETRY)
		return 1;
	if (rc != FD_OK)
		j->failed = 1;
	else if (j->ctx.idem_store && idem_put(&j->ctx) < 0)
		fd__internal(&j->ctx);
	return 0;
}

/* The job without a savepoint: 0 kept; -1 it failed or met a transient
 * failure, and the batch must be run again with savepoints. */
static int run_job_bare(fd_writer *w, fd_job *j)
{
	j->ctx.c = w->c;
	j->ctx.w = w;
	j->ctx.now = fd_clock_now(w->e->clock);
	return job_body(j) == 0 && !fd_store_retry_pending(w->c) ? 0 : -1;
}

static void run_job(fd_writer *w, fd_job *j)
{
	int attempt;

	j->ctx.c = w->c;
	j->ctx.w = w;
	for (attempt = 0;; attempt++) {
		j->ctx.now = fd_clock_now(w->e->clock);
		if (!run_job_once(w->c, j))
			return;
		/* The cache may hold what the rolled-back attempt read. */
		fd__live_forget(w);
		job_reset(j);
		if (attempt + 1 >= JOB_RETRIES) {
			job_lost(j, FD_RETRY,
			         "the change met concurrent changes; retry");
			return;
		}
	}
}

/* Keep the outcome of a batch for /readyz, and say when writes start
 * and stop failing (the database's own error is logged by its driver). */
static void note_write(fd_writer *w, int failed)
{
	int64_t was = __atomic_load_n(&w->write_failed_ms, __ATOMIC_RELAXED);

	if (failed) {
		__atomic_store_n(&w->write_failed_ms, flock__mono_ms() | 1,
		                 __ATOMIC_RELAXED);
		if (!was)
			fd_log(FD_LOG_ERROR,
			       "store: the database refused a write of writer "
			       "%d (its jobs fail: retry)",
			       w->number);
	} else if (was) {
		__atomic_store_n(&w->write_failed_ms, 0, __ATOMIC_RELAXED);
		fd_log(FD_LOG_WARN, "store: writes of writer %d succeed again",
		       w->number);
	}
}

/* The jobs' answers are final: release their keys, tell their callers,
 * free them. Called without e->mu; w: the writer of jobs that never ran
 * (the syncer's lists may hold several writers' batches: NULL). */
static void finish_jobs(fd_engine *e, fd_job *list, int failed, fd_writer *w)
{
	fd_job *j, *next;
	fd_writer *last = NULL, *jw;
	void (*done)(void *);
	void *arg;
	int emitted = 0;

	for (j = list; j; j = j->next)
		if ((jw = j->ctx.w ? j->ctx.w : w) && jw != last)
			note_write(last = jw, failed);

	for (j = list; j && !failed; j = j->next)
		emitted |= !j->failed && j->ctx.emitted;
	if (emitted && e->on_commit)
		e->on_commit(e->on_commit_arg);
	for (j = list; j; j = next) {
		next = j->next;
		if (failed || j->failed)
			job_lost(j, FD_ERR,
			         "the change could not be stored; retry");
		if (j->key[0])
			inflight_remove(e, j->key);
		done = j->done;
		arg = j->done_arg;
		free(j);
		done(arg);
	}
}

/* ---- housekeeping ---------------------------------------------------- */

/* Rewards past their hold become approved (reward.approved). An internal
 * change of many tenants: x.app follows each reward. */
static int promote_due(fd_engine *e, fd_conn *c)
{
	fd_ctx x;
	json_t *due = NULL, *r;
	size_t i;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.e = e;
	x.c = c;
	x.now = fd_clock_now(e->clock);
	if (fd_store_reward_due(c, x.now, PROMOTE_MAX, &due) != FD_OK)
		return -1;
	json_array_foreach(due, i, r)
	{
		x.app = fd__jstr(r, "applicationId");
		/* The computed status is already "approved": make it so. */
		if (fd_store_reward_transition(c, x.app, fd__jstr(r, "id"),
		                               "approved", "approved",
		                               x.now) != FD_OK ||
		    fd__emit(&x, fd__jstr(r, "environment"), "reward.approved",
		             json_incref(r)) < 0) {
			rc = -1;
			break;
		}
	}
	json_decref(due);
	if (rc == 0 && x.emitted && e->on_commit)
		e->on_commit(e->on_commit_arg);
	return rc;
}

static void housekeeping(fd_writer *w)
{
	fd_engine *e = w->e;
	fd_conn *c = w->c;
	int ok = 0;

	if (fd_store_begin(c, 1) != FD_OK)
		goto out;
	/* Idempotency records live at least 24 h (api.md); keep 48. */
	if (promote_due(e, c) < 0 || fd__visits_flush(e, c) < 0 ||
	    fd_store_idem_purge(c, fd_clock_now(e->clock) - 2 * FD_DAY_MS) !=
	            FD_OK) {
		fd_store_rollback(c);
		goto out;
	}
	ok = fd_store_commit(c) == FD_OK;
	if (!ok)
		fd_store_rollback(c);
out:
	/* A read-only database fails here every second: /readyz says so. */
	__atomic_store_n(&e->housekeeping_failed, !ok, __ATOMIC_RELAXED);
}

/* ---- batches --------------------------------------------------------- */

/* Drop the live-campaign cache if any node changed campaigns since it was
 * filled. FD_OK or the store's failure. */
static int check_campaigns(fd_writer *w)
{
	int64_t v;
	int rc = fd_store_campaigns_version(w->c, &v);

	if (rc == FD_OK && v != w->live_version) {
		fd__live_forget(w);
		w->live_version = v;
	}
	return rc;
}

/*
 * Run the batch in one transaction and commit it. A failure before the
 * commit rolls back everything and runs the batch again (nothing of it is
 * visible: a lost connection or a deadlock must not become a failure); a
 * failed commit is not retried (its outcome is unknown): its jobs fail.
 * Without savepoints (safe 0), a job that fails rolls back the batch too.
 * 0 committed, 1 run it again, 2 run it again with savepoints, -1 failed.
 */
static int run_batch_once(fd_writer *w, fd_job *batch, int rerun, int safe)
{
	fd_conn *c = w->c;
	fd_job *j;
	int failed;

	/* Without savepoints, writes are sent without waiting for their
	 * answers (fd_store_defer): one that did not do its part fails the
	 * batch, which runs again with savepoints, where it answers itself. */
	fd_store_defer(c, !safe);
	failed = fd_store_begin(c, 1) != FD_OK || check_campaigns(w) != FD_OK;

	for (j = batch; j && !failed; j = j->next) {
		if (rerun)
			job_reset(j);
		j->failed = 0;
		if (!safe) {
			if (run_job_bare(w, j) < 0)
				failed = 2;
			continue;
		}
		run_job(w, j);
		failed = j->failed;
	}
	if (!failed && !safe && fd_store_defer(c, 0) != FD_OK)
		failed = 2;
	if (!failed) {
		if (fd_store_commit(c) == FD_OK)
			return 0;
		fd_store_rollback(c);
		fd__live_forget(w);
		return -1;
	}
	fd_store_rollback(c);
	/* The cache may hold rows that were never committed. */
	fd__live_forget(w);
	return failed == 2 ? 2 : 1;
}

/* Append the chain first..last to the queue (*head, *tail); under e->mu. */
static void append(fd_job **head, fd_job **tail, fd_job *first, fd_job *last)
{
	if (*tail)
		(*tail)->next = first;
	else
		*head = first;
	*tail = last;
}

/* Committed, not yet durable: the syncer answers the batch. */
static void hand_to_syncer(fd_engine *e, fd_job *batch)
{
	fd_job *last;

	for (last = batch; last->next; last = last->next)
		;
	pthread_mutex_lock(&e->mu);
	append(&e->sync_head, &e->sync_tail, batch, last);
	pthread_cond_signal(&e->sync_cv);
	pthread_mutex_unlock(&e->mu);
}

static void run_batch(fd_writer *w, fd_job *batch)
{
	fd_engine *e = w->e;
	fd_job *j;
	int failed = 1, attempt = 0, rerun = 0, safe = w->safe_batches > 0;
	long granted = 0, reruns = 0;

	if (safe)
		w->safe_batches--;
	while (attempt < BATCH_RETRIES && failed == 1) {
		failed = run_batch_once(w, batch, rerun, safe);
		rerun = 1;
		/* A job failed: once more, with savepoints. */
		if (failed == 2) {
			safe = 1;
			failed = 1;
			w->safe_batches = SAFE_BATCHES;
			reruns = 1;
			continue;
		}
		attempt++;
	}
	for (j = batch; j && !failed; j = j->next) {
		granted += j->ctx.granted;
		if (j->ctx.visit_env[0])
			fd__visit(e, j->ctx.app, j->ctx.visit_env, j->ctx.now);
	}
	pthread_mutex_lock(&e->stat_mu);
	e->rewards_granted += granted;
	e->batches++;
	e->batch_reruns += reruns;
	pthread_mutex_unlock(&e->stat_mu);
	if (failed)
		finish_jobs(e, batch, 1, w);
	else
		hand_to_syncer(e, batch);
}

/* ---- threads --------------------------------------------------------- */

/* One fdatasync covers every batch committed before it. */
static void *syncer_main(void *arg)
{
	fd_engine *e = arg;
	fd_job *list;
	int failed;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		while (!e->sync_head && !e->writers_exited)
			pthread_cond_wait(&e->sync_cv, &e->mu);
		if (!e->sync_head)
			break;
		list = e->sync_head;
		e->sync_head = e->sync_tail = NULL;
		pthread_mutex_unlock(&e->mu);
		failed = fd_store_sync(e->store) != FD_OK;
		finish_jobs(e, list, failed, NULL);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Whether j may join w's batch: a job of an order group that another
 * writer runs waits for it, and a batch holds at most FD_WRITER_GROUPS
 * groups. Under e->mu; notes j's group as w's. */
static int may_take(fd_engine *e, fd_writer *w, const fd_job *j)
{
	int i, k;

	if (!j->group)
		return 1;
	for (i = 0; i < e->nwriters; i++) {
		if (&e->writers[i] == w)
			continue;
		for (k = 0; k < e->writers[i].ngroups; k++)
			if (e->writers[i].groups[k] == j->group)
				return 0;
	}
	for (k = 0; k < w->ngroups; k++)
		if (w->groups[k] == j->group)
			return 1;
	if (w->ngroups == FD_WRITER_GROUPS)
		return 0;
	w->groups[w->ngroups++] = j->group;
	return 1;
}

/* Up to group_max queued jobs that w may take, in queue order, or NULL;
 * the jobs of a group another writer runs stay queued, in their order.
 * Under e->mu. */
static fd_job *take_batch(fd_engine *e, fd_writer *w)
{
	fd_job *batch = NULL, **end = &batch, **p = &e->head, *kept = NULL, *j;
	int n = 0;

	while ((j = *p) && n < e->group_max) {
		if (!may_take(e, w, j)) {
			kept = j;
			p = &j->next;
			continue;
		}
		*p = j->next;
		j->next = NULL;
		*end = j;
		end = &j->next;
		n++;
	}
	/* Walked to the end: the queue now ends at the last job kept. */
	if (!*p)
		e->tail = kept;
	e->queued -= n;
	return batch;
}

/* w's batch is over: its groups' next jobs may go to any writer. */
static void release_groups(fd_engine *e, fd_writer *w)
{
	if (!w->ngroups)
		return;
	w->ngroups = 0;
	pthread_cond_broadcast(&e->work_cv);
}

static void *writer_main(void *arg)
{
	fd_writer *w = arg;
	fd_engine *e = w->e;
	struct timespec ts;
	fd_job *batch;
	int64_t last_sweep = 0;
	const int housekeeper = w->number == 1;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		if (!e->head && !e->stopping && !(housekeeper && e->sweep_due)) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&e->work_cv, &e->mu, &ts);
		}
		if (!e->head && e->stopping)
			break;
		if (housekeeper &&
		    (e->sweep_due || flock__mono_ms() - last_sweep >= 1000)) {
			e->sweep_due = 0;
			/* Another writer takes what is queued meanwhile. */
			if (e->head && e->nwriters > 1)
				pthread_cond_signal(&e->work_cv);
			pthread_mutex_unlock(&e->mu);
			housekeeping(w);
			last_sweep = flock__mono_ms();
			pthread_mutex_lock(&e->mu);
		}
		if (!e->head)
			continue;
		/* NULL: every queued job's group runs on another writer,
		 * which wakes the writers when its batch is over. */
		if (!(batch = take_batch(e, w))) {
			pthread_cond_wait(&e->work_cv, &e->mu);
			continue;
		}
		pthread_mutex_unlock(&e->mu);
		run_batch(w, batch);
		pthread_mutex_lock(&e->mu);
		release_groups(e, w);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* The clock moved: rewards may be due now (the housekeeper may not be
 * the writer a signal would wake). */
static void clock_moved(void *arg)
{
	fd_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	e->sweep_due = 1;
	pthread_cond_broadcast(&e->work_cv);
	pthread_mutex_unlock(&e->mu);
}

static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg,
                        const char *name, char *errbuf, size_t errlen)
{
	if (pthread_create(t, NULL, fn, arg) != 0) {
		snprintf(errbuf, errlen, "cannot start the %s thread", name);
		return -1;
	}
	pthread_setname_np(*t, name);
	return 0;
}

int fd__writer_start(fd_engine *e, char *errbuf, size_t errlen)
{
	int i, n = fd_store_writers(e->store);

	if (!(e->writers = calloc((size_t)n, sizeof(*e->writers)))) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	e->nwriters = n;
	if (start_thread(&e->syncer, syncer_main, e, "fd-syncer", errbuf,
	                 errlen) < 0)
		return -1;
	e->syncer_started = 1;
	for (i = 0; i < n; i++) {
		fd_writer *w = &e->writers[i];
		char name[16];

		w->e = e;
		w->c = fd_store_writer_at(e->store, i);
		w->number = i + 1;
		/* The first is "fd-writer" (bench/callgrind_ingest.sh looks
		 * for its writer_main), the others "fd-writer-2" on. */
		if (i == 0)
			snprintf(name, sizeof(name), "fd-writer");
		else
			snprintf(name, sizeof(name), "fd-writer-%d",
			         (i + 1) % 1000);
		if (start_thread(&w->thread, writer_main, w, name, errbuf,
		                 errlen) < 0)
			return -1;
		e->writers_started = i + 1;
	}
	if (fd_clock_listen(e->clock, clock_moved, e) < 0) {
		snprintf(errbuf, errlen, "too many clock listeners");
		return -1;
	}
	return 0;
}

/* Set a flag under e->mu, signal cv and join t. */
static void stop_thread(fd_engine *e, int *flag, pthread_cond_t *cv,
                        pthread_t t)
{
	pthread_mutex_lock(&e->mu);
	*flag = 1;
	pthread_cond_signal(cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(t, NULL);
}

void fd__writer_stop(fd_engine *e)
{
	fd_inflight *f;
	int i;

	fd_clock_unlisten(e->clock, clock_moved, e);
	/* The writers drain the queue before they exit; the syncer then
	 * answers the last batches. */
	pthread_mutex_lock(&e->mu);
	e->stopping = 1;
	pthread_cond_broadcast(&e->work_cv);
	pthread_mutex_unlock(&e->mu);
	for (i = 0; i < e->writers_started; i++)
		pthread_join(e->writers[i].thread, NULL);
	if (e->syncer_started)
		stop_thread(e, &e->writers_exited, &e->sync_cv, e->syncer);
	e->writers_started = e->syncer_started = 0;
	for (i = 0; i < e->nwriters; i++)
		fd__live_forget(&e->writers[i]);
	free(e->writers);
	e->writers = NULL;
	e->nwriters = 0;
	for (i = 0; i < FD_INFLIGHT_BUCKETS; i++)
		while ((f = e->inflight[i])) {
			e->inflight[i] = f->next;
			free(f);
		}
}

/* ---- queueing -------------------------------------------------------- */

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

/*
 * Queue j; unless req asks for an asynchronous answer, wait until it is
 * final. 0, or -1 when the engine is stopping (j is the caller's again).
 */
static int enqueue(fd_engine *e, fd_job *j, const fd_request *req)
{
	sync_wait w = {e, 0};
	int async = req && req->done;

	j->done = async ? req->done : sync_done;
	j->done_arg = async ? req->async_arg : &w;
	pthread_mutex_lock(&e->mu);
	if (e->stopping) {
		pthread_mutex_unlock(&e->mu);
		return -1;
	}
	/* Suspended before the job can finish, so done always follows. */
	if (async && req->suspend)
		req->suspend(req->async_arg);
	append(&e->head, &e->tail, j, j);
	e->queued++;
	pthread_cond_signal(&e->work_cv);
	while (!async && !w.done)
		pthread_cond_wait(&e->done_cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

/* Hold the request's Idempotency-Key while its job runs: 0, or -1 if
 * another request holds it. */
static int hold_key(fd_engine *e, fd_job *j, const fd_request *req)
{
	if (!req->idempotency_key || !*req->idempotency_key)
		return 0;
	snprintf(j->key, sizeof(j->key), "%s\n%s", j->ctx.app,
	         req->idempotency_key);
	if (inflight_add(e, j->key) == 0)
		return 0;
	j->key[0] = '\0';
	return -1;
}

void fd__run_write(fd_engine *e, const fd_request *req, fd_response *res,
                   fd_job_fn fn)
{
	fd_job *j = calloc(1, sizeof(*j));

	if (!j) {
		fd_fail(res, FD_OUT_UNAVAILABLE, "unavailable",
		        "out of memory; retry");
		return;
	}
	j->fn = fn;
	j->group = req->order_group;
	j->ctx.e = e;
	j->ctx.req = req;
	j->ctx.res = res;
	j->ctx.app = fd__tenant(req);
	if (hold_key(e, j, req) < 0) {
		free(j);
		fd_fail(res, FD_OUT_CONFLICT, "idempotency_key_in_flight",
		        "a request with this Idempotency-Key is in progress");
		return;
	}
	if (enqueue(e, j, req) == 0)
		return; /* the writer answers */
	if (j->key[0])
		inflight_remove(e, j->key);
	free(j);
	fd_fail(res, FD_OUT_UNAVAILABLE, "shutting_down", "flockd is stopping");
}

int fd__write(fd_engine *e, const char *app, fd_call_fn fn, void *arg)
{
	fd_job *j = calloc(1, sizeof(*j));
	int rc = FD_ERR;

	if (!j)
		return FD_ERR;
	j->call = fn;
	j->call_arg = arg;
	j->call_rc = &rc;
	j->ctx.e = e;
	j->ctx.app = app;
	if (enqueue(e, j, NULL) < 0) {
		free(j);
		return FD_ERR;
	}
	return rc;
}

/* ---- the delivery worker's entry point ------------------------------- */

typedef struct {
	fd_engine_write_fn fn;
	void *arg;
} outside_call;

static int outside_run(fd_ctx *x, void *arg)
{
	outside_call *o = arg;

	return o->fn(x->c, x->now, o->arg);
}

int fd_engine_write(fd_engine *e, fd_engine_write_fn fn, void *arg)
{
	outside_call o = {fn, arg};

	return fd__write(e, "", outside_run, &o);
}
