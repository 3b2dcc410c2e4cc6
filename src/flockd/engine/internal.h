/*
 * flockd engine internals shared by the engine room (names fd__*).
 */
#ifndef FLOCKD_ENGINE_INTERNAL_H
#define FLOCKD_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "engine/engine.h"
#include "engine/fraud.h"
#include "store/store.h"

#define FD_DAY_MS (86400000LL)

typedef struct fd_job fd_job;
typedef struct fd_inflight fd_inflight;
typedef struct fd_engine_writer fd_writer;

/* A writer thread and what only it touches (writer.c). */
struct fd_engine_writer {
	fd_engine *e;
	fd_conn *c; /* its write connection */
	pthread_t thread;
	int number; /* 1, 2 ...; number 1 also runs housekeeping */
	/* Writes the database refused (fd_engine_writable), atomic: the
	 * monotonic ms of its last failed batch with none committed since
	 * (0: none). */
	int64_t write_failed_ms;
	/* The order groups (fd_request.order_group) of the batch it runs,
	 * under fd_engine.mu: no other writer takes a job of one of them. */
#define FD_WRITER_GROUPS 8
	const void *groups[FD_WRITER_GROUPS];
	int ngroups;
	/* Batches still to run with a savepoint per job since one had a job
	 * that rolled back (writer.c, run_batch). */
	int safe_batches;
	/* Its cache of live campaigns with their checkpoints, per
	 * (application, environment). */
	struct fd_live {
		char app[40];
		char env[16];
		json_t *campaign;    /* NULL: none live */
		json_t *checkpoints; /* array */
		/* What a grant copies from the campaign's i-th reward:
		 * its terms text at i, made at its first grant (null
		 * until then). */
		json_t *terms;
	} live[8];
	int live_next;
	int64_t live_version; /* fd_store_campaigns_version the cache
	                         matches */
};

struct fd_engine {
	fd_store *store;
	fd_fraud *fraud;
	int velocity_per_hour;
	int group_max;
	long rate_limit;
	int rate_warned;
	long code_misses_per_key, code_misses_per_ip; /* 0: no limit */
	/* 1 while housekeeping's transaction fails (fd_engine_writable),
	 * atomic; each writer keeps its failed writes (fd_writer). */
	int housekeeping_failed;
	long queued; /* jobs not yet taken by a writer; under mu */

	pthread_mutex_t mu;     /* queue, stopping, inflight */
	pthread_cond_t work_cv; /* jobs queued or stopping */
	pthread_cond_t done_cv; /* a batch committed */
	fd_job *head, *tail;
	int stopping;
	/* The writer threads, one per write connection of the store
	 * (fd_store_writers): several where the database takes several
	 * writing transactions at once (PostgreSQL). */
	fd_writer *writers;
	int nwriters, writers_started;
	/* Idempotency keys being processed, hashed: an import queues a
	 * thousand keyed rows at once, and each is looked up. */
#define FD_INFLIGHT_BUCKETS 1024
	fd_inflight *inflight[FD_INFLIGHT_BUCKETS];

	/* Committed batches waiting for fd_store_sync before their callers
	 * are woken; the syncer thread syncs while the writer runs the next
	 * batch. */
	fd_job *sync_head, *sync_tail;
	pthread_cond_t sync_cv;
	pthread_t syncer;
	int syncer_started;
	int writers_exited;

	pthread_mutex_t stat_mu;
	long rewards_granted;
	long batches, batch_reruns; /* writer_stats; under stat_mu */
	/* Referral visits (valid codes checked) not yet written, under
	 * stat_mu: housekeeping writes them (analytics.c). */
	struct fd_visit {
		char app[40];
		char env[16];
		int64_t day;
		long n;
	} visits[32];
	int nvisits;

	const fd_answer_codec *answers; /* NULL: no Idempotency-Key */
	int (*url_check)(const char *url, int allow_private, char *why,
	                 size_t len);
	int webhook_allow_private;

	fd_clock *clock;
	void (*on_commit)(void *arg);
	void *on_commit_arg;
	int sweep_due; /* the clock moved: run housekeeping now (under mu) */
};

/* What a job or a read sees while it runs, on a read or the write
 * connection. */
typedef struct {
	fd_engine *e;
	fd_conn *c;
	const fd_request *req; /* NULL for internal calls (fd__write) */
	fd_response *res;      /* NULL for internal calls */
	const char *app;       /* the tenant: every query is filtered by it */
	int64_t now;
	long granted;   /* rewards granted by this job */
	int idem_store; /* store the (error) response after rollback */
	fd_writer *w;   /* the writer thread running it (NULL: a read) */
	int emitted;    /* wrote outbox events or made deliveries due: the
	                   batch's commit calls on_commit */
	/* This request's code miss is counted (fd__code_misses): the counts
	 * live outside the transaction, so a job run again (a batch rerun
	 * with savepoints, an FD_RETRY) must not count it twice. Kept by
	 * job_reset. */
	int misses_counted;
	/* A referral visit of this environment, counted by the writer once
	 * the job has committed (fd__count_visit; "": none). */
	char visit_env[16];
	uint8_t idem_hash[32];
} fd_ctx;

/* An operation's body: 0 keeps the job's changes; -1 rolls them back
 * (x->res says why). */
typedef int (*fd_job_fn)(fd_ctx *x);

/* An internal call's body (x->req and x->res are NULL): FD_OK keeps its
 * changes, any other store code rolls them back. */
typedef int (*fd_call_fn)(fd_ctx *x, void *arg);

/* ---- running operations (reads: engine.c; writes: writer.c) ---------- */

/* The tenant of a request: its {app}, else its key's application. */
const char *fd__tenant(const fd_request *req);
/* Run fn on a read connection in one snapshot. */
void fd__run_read(fd_engine *e, const fd_request *req, fd_response *res,
                  fd_job_fn fn);
/* Run fn in the writer's group commit; returns once durable, or at once
 * when req->done is set (then req->done is called once durable; see
 * fd_request). Honours Idempotency-Key (stored with the change, replayed,
 * FD_OUT_CONFLICT in flight, FD_OUT_KEY_REUSED). */
void fd__run_write(fd_engine *e, const fd_request *req, fd_response *res,
                   fd_job_fn fn);
/* Run fn for tenant app in the writer's group commit and return once
 * durable: fn's code, FD_RETRY (every attempt met concurrent changes) or
 * FD_ERR (not committed, or the engine is stopping). */
int fd__write(fd_engine *e, const char *app, fd_call_fn fn, void *arg);
/* Start the writer and syncer threads; stop them after draining the
 * queue (writer.c). */
int fd__writer_start(fd_engine *e, char *errbuf, size_t errlen);
void fd__writer_stop(fd_engine *e);

/* An operation that is a read, or a write, of one job function. */
#define FD_READ_OP(op, fn)                                                     \
	FD_OP(op)                                                              \
	{                                                                      \
		fd__run_read(e, req, res, fn);                                 \
	}
#define FD_WRITE_OP(op, fn)                                                    \
	FD_OP(op)                                                              \
	{                                                                      \
		fd__run_write(e, req, res, fn);                                \
	}

/* ---- the environment boundary (scope.c) ------------------------------ */

/* 0 if the request's credential may reach every object the request names
 * (its {id}, and the id-like fields of its body and query), else -1 with
 * FD_OUT_FORBIDDEN. Run before every operation, in its snapshot or
 * transaction. */
int fd__scope(fd_ctx *x);
/* The environment the request's credential is limited to, or NULL. */
const char *fd__scope_env(const fd_ctx *x);
/* A list's environment filter: the query's environment, else the one the
 * credential is limited to, else NULL (both). */
const char *fd__list_env(const fd_ctx *x);
/* validate-code's miss limit for a public key and its client address
 * (wire.c): miss counts this request as a code not found, else it only
 * looks. 0, or -1 with FD_OUT_RATE_LIMITED (and retry_after) in x->res.
 * The boundary counts another environment's code as a miss, so its
 * FD_OUT_FORBIDDEN is no way around the limit. */
int fd__code_misses(fd_ctx *x, int miss);

/* ---- answers (engine.c); each error setter returns -1 ---------------- */

/* The error outcome o with code and a printf-style message. */
int fd__fail(fd_ctx *x, fd_outcome o, const char *code, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 4, 5)))
#endif
        ;
/* FD_OUT_INTERNAL, for a database or memory failure. */
int fd__internal(fd_ctx *x);
/* FD_OUT_NOT_FOUND, code "<what>_not_found". */
int fd__not_found(fd_ctx *x, const char *what);
/* FD_OUT_INVALID: missing_field "<field> is required". */
int fd__missing(fd_ctx *x, const char *field);
/* FD_OUT_INVALID: invalid_field "<field> <why>". */
int fd__invalid(fd_ctx *x, const char *field, const char *why);
/* The success o with body (stolen); 0, or -1 (internal) if body NULL. */
int fd__ok(fd_ctx *x, fd_outcome o, json_t *body);
/* The same with the answer as JSON text (steals it): kept as the bytes to
 * send when the request wants text (fd_request.want_text), else parsed
 * into the body. */
int fd__ok_text(fd_ctx *x, fd_outcome o, char *text);
/* For answers and events written as text: k (the caller's literal, its
 * comma and quoted name and colon, `,"name":`) then v as a JSON string,
 * or null when v is NULL. Errors are sticky in b->oom. */
void fd__jput(flock__buf *b, const char *k, const char *v);
/* Admin routes: 0, or -1 (app_not_found) unless the {app} exists and the
 * admin token may reach it (admin.c). */
int fd__admin_app(fd_ctx *x);
/* The store's getters by id share a shape. */
typedef int (*fd_get_fn)(fd_conn *c, const char *app_id, const char *id,
                         json_t **out);
/* fd__admin_app, then the object {id} into *out (a new reference; a
 * deleted one counts as none where live). 0, or -1 with the answer set:
 * `what` not found, or internal. */
int fd__admin_get(fd_ctx *x, fd_get_fn get, const char *what, int live,
                  json_t **out);

/* ---- reading requests and objects (engine.c) ------------------------- */

/* A member of an object as a string (NULL if absent or not a string). */
static inline const char *fd__jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/*
 * Building the writer's objects (rewards, webhook events, the ingest's
 * answer) member by member, without json_pack's format parsing and
 * UTF-8 checks, which cost ~10% of a reward-granting ingest. Keys are
 * the engine's own ASCII literals; string values are the engine's own
 * ASCII (ids, timestamps) or strings jansson has checked already
 * (request bodies, store rows). 0, or -1 when o is NULL or a member
 * could not be made: callers OR the results and check once.
 */
static inline int fd__put(json_t *o, const char *k, json_t *v)
{
	if (!o) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new_nocheck(o, k, v);
}
/* v, or null when v is NULL (json_pack's "s?"). */
static inline int fd__put_s(json_t *o, const char *k, const char *v)
{
	return fd__put(o, k, v ? json_string_nocheck(v) : json_null());
}
/* v, which must be there (json_pack's "s"). */
static inline int fd__put_req(json_t *o, const char *k, const char *v)
{
	return v ? fd__put(o, k, json_string_nocheck(v)) : -1;
}
/* A new reference to v, or null (json_pack's "O?"). */
static inline int fd__put_ref(json_t *o, const char *k, json_t *v)
{
	return fd__put(o, k, v ? json_incref(v) : json_null());
}
/* A body field as a string. */
const char *fd__bstr(const fd_ctx *x, const char *name);
/* A query parameter as a string. */
const char *fd__qstr(const fd_ctx *x, const char *name);
/* The request's environment: body, then query, then the key's own, then
 * "production". NULL if it is none of production/test. */
const char *fd__env(const fd_ctx *x);
/* limit (default 20, 1..100) and offset (>= 0) from the query. */
void fd__page(const fd_ctx *x, long *limit, long *offset);
/* The answer of a list: the page (fd__page) of what fn lets f through
 * ("" in f: any). 0, or -1 with the answer set. */
int fd__list(fd_ctx *x, fd_store_list_fn fn, fd_filter f);

/* A fresh secret: prefix then 2*nbytes hex chars. 0 or -1. */
int fd__secret(char *out, size_t len, const char *prefix, size_t nbytes);

/* Write an outbox event (envelope {id,name,timestamp,environment,data}) in
 * the current transaction. Steals data. 0 or -1. */
int fd__emit(fd_ctx *x, const char *env, const char *name, json_t *data);
/* The same for an event only an endpoint naming it receives
 * (checkpoint.ingested): stored only if one does. */
int fd__emit_named(fd_ctx *x, const char *env, const char *name, json_t *data);
/* An event whose data the caller writes as text: fd__event_head gives
 * its id and the body up to the data (`{"id":...,"data":`) in b, the
 * caller appends the data, fd__emit_body closes and stores it (named as
 * fd__emit_named). 0 or -1. */
int fd__event_head(fd_ctx *x, flock__buf *b, char id[FLOCK__ID_MAX],
                   const char *env, const char *name);
int fd__emit_body(fd_ctx *x, const char *id, const char *env, const char *name,
                  flock__buf *body, int named);

/* Create a customer with a fresh referral code and emit customer.created;
 * *out gets the Customer. FD_OK or FD_ERR. */
int fd__customer_create(fd_ctx *x, const char *external_id, const char *email,
                        const char *name, const char *props, const char *env,
                        json_t **out);

/* ---- campaigns (admin.c, rules.c) ------------------------------------ */

/*
 * Insert a CampaignReward of campaign_id from src (party, limit,
 * limitUnit, limitInterval and the terms; the caller checked them); its
 * id into id. FD_OK or FD_ERR.
 */
int fd__campaign_reward_insert(fd_ctx *x, const char *campaign_id,
                               const json_t *src, char id[FLOCK__ID_MAX]);
/* 0 if src is a CampaignReward the rules can apply, else -1 (invalid). */
int fd__reward_check(fd_ctx *x, const json_t *src);
/* Insert a checkpoint of campaign_id; its id into id. FD_OK, FD_CONFLICT
 * (the campaign has a checkpoint of that name) or FD_ERR. */
int fd__checkpoint_insert(fd_ctx *x, const char *campaign_id, const char *name,
                          const char *trigger, const char *placement_id,
                          char id[FLOCK__ID_MAX]);
/* The members of a CampaignReward a Reward copies when it is granted
 * (rules.c), NULL-terminated; hosted pages show the same. */
extern const char *const fd__reward_term_fields[];
/* The terms of a CampaignReward (or Reward) src, as a Reward copies them
 * at grant time: compact JSON text (malloc'd). NULL: out of memory. */
char *fd__reward_terms(const json_t *src);

/*
 * The live campaign of env and its checkpoints (new references). On the
 * writer they come from a cache that fd__live_forget clears. FD_OK,
 * FD_NOTFOUND or FD_ERR.
 */
int fd__live(fd_ctx *x, const char *env, json_t **campaign,
             json_t **checkpoints);
/* Any change to campaigns, their rewards or checkpoints calls this on
 * its writer (the others see the change in fd_store_campaigns_version
 * when their next batch begins). NULL: nothing. */
void fd__live_forget(fd_writer *w);

/*
 * A campaign's campaignPages from a request (v: the body's value; NULL
 * or null: none) checked and in the shape Flock's mobile SDKs decode
 * (pages.c): *out a new array of {id, path, placementId, isEmpty,
 * screenProps, and title, body, buttonText when given}, with a fresh
 * "cpg_" id for a page given none. 0, or -1 with FD_OUT_INVALID naming
 * the field ("campaignPages[1].screenProps.primaryColor ...").
 */
int fd__campaign_pages(fd_ctx *x, const json_t *v, json_t **out);
/* ---- wire operations as jobs (wire.c), for bulk.c's imports ---------- */

/* POST /customers/identify's job, on x->req's body. */
int fd__job_identify(fd_ctx *x);
/* POST /referrals's job, on x->req's body. */
int fd__job_referral_create(fd_ctx *x);

/* ---- rules (rules.c) ------------------------------------------------- */

enum { FD_PARTY_REFERRER = 1, FD_PARTY_REFEREE = 2 };
/* Accept a pending referral (invitee.accepted); referral is updated in
 * place. 0 or -1. */
int fd__accept(fd_ctx *x, json_t *referral, const json_t *campaign);
/* The same, with the referee's and the referrer's Customers as read
 * earlier in this job (each used if it is the referral's; NULL: read it).
 * Steals referrer. */
int fd__accept_referee(fd_ctx *x, json_t *referral, const json_t *campaign,
                       json_t *referee, json_t *referrer);
/* Where fd__grant puts the Rewards it grants: as JSON text, comma-
 * separated, appended to text (an answer written as text, fd__ok_text),
 * or, when text is NULL, as objects appended to the array objects. */
typedef struct {
	json_t *objects;
	flock__buf *text;
} fd_grants;
/*
 * Grant the campaign's rewards for the parties in mask, into g; *blocked
 * gets NULL or why nothing was granted ("limit_reached",
 * "already_rewarded"). 0 or -1.
 */
int fd__grant(fd_ctx *x, const json_t *referral, const json_t *campaign,
              int mask, fd_grants *g, const char **blocked);
/* Whether the campaign runs at x->now (startsAt/endsAt). */
int fd__campaign_running(const fd_ctx *x, const json_t *campaign);
/* ---- analytics (analytics.c) ----------------------------------------- */

/* Count a referral visit of app in env now (any thread; no database). */
void fd__visit(fd_engine *e, const char *app, const char *env, int64_t now);
/* A referral visit of x's app in env: counted now by a read, and by a
 * job only once it commits (the counts live outside the transaction: a
 * job rolled back and run again must count once). */
void fd__count_visit(fd_ctx *x, const char *env);
/* Write the visits counted so far on c, in the writer's open
 * transaction (housekeeping). 0 or -1. */
int fd__visits_flush(fd_engine *e, fd_conn *c);

/* suspectedFrauds for a new referral, or NULL (new reference). */
json_t *fd__fraud_check(fd_ctx *x, const json_t *referrer,
                        const json_t *referee);

#endif
