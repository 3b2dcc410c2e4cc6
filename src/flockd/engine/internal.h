/*
 * flockd engine internals shared by engine*.c (names fd__*).
 */
#ifndef FLOCKD_ENGINE_INTERNAL_H
#define FLOCKD_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/fraud.h"
#include "store/store.h"

#define FD_DAY_MS (86400000LL)

typedef struct fd_job fd_job;
typedef struct fd_inflight fd_inflight;

struct fd_engine {
	fd_store *store;
	fd_fraud *fraud;
	int velocity_per_hour;
	int group_max;
	long rate_limit;
	int rate_warned;

	pthread_mutex_t mu;     /* queue, stopping, inflight */
	pthread_cond_t work_cv; /* jobs queued or stopping */
	pthread_cond_t done_cv; /* a batch committed */
	fd_job *head, *tail;
	int stopping;
	int writer_started;
	pthread_t writer;
	fd_inflight *inflight; /* idempotency keys being processed */

	/* Committed batches waiting for fd_store_sync before their callers
	 * are woken; the syncer thread syncs while the writer runs the next
	 * batch. */
	fd_job *sync_head, *sync_tail;
	pthread_cond_t sync_cv;
	pthread_t syncer;
	int syncer_started;
	int writer_exited;

	pthread_mutex_t stat_mu;
	long rewards_granted;

	/* The writer's cache of live campaigns with their checkpoints, per
	 * (application, environment); only the writer thread touches it. */
	struct fd_live {
		char app[40];
		char env[16];
		json_t *campaign;    /* NULL: none live */
		json_t *checkpoints; /* array */
	} live[8];
	int live_next;
	int64_t live_version; /* fd_store_campaigns_version the cache
	                         matches */

	int webhook_allow_private; /* URL checks of webhook endpoints */

	fd_clock *clock;
	void (*on_commit)(void *arg);
	void *on_commit_arg;
	int sweep_due; /* the clock moved: run housekeeping now (under mu) */
};

/* What an operation sees while it runs, on a read or the write
 * connection. */
typedef struct {
	fd_engine *e;
	fd_conn *c;
	const fd_request *req;
	fd_response *res;
	const char *app; /* the tenant: every query is filtered by it */
	int64_t now;
	long granted;   /* rewards granted by this job */
	int idem_store; /* store the (error) response after rollback */
	int writer;     /* running on the writer thread */
	int emitted;    /* wrote outbox events or made deliveries due: the
	                   batch's commit calls on_commit */
	uint8_t idem_hash[32];
} fd_ctx;

/* 0: keep the job's changes; -1: roll them back (res says why). */
typedef int (*fd_job_fn)(fd_ctx *x);

/* Run fn on a read connection in one snapshot. */
void fd__run_read(fd_engine *e, const fd_request *req, fd_response *res,
                  fd_job_fn fn);
/* Run fn in the writer's group commit; returns once durable, or at once
 * when req->done is set (then req->done is called once durable; see
 * fd_request). Honours Idempotency-Key (stored with the change, replayed,
 * 409, 422). */
void fd__run_write(fd_engine *e, const fd_request *req, fd_response *res,
                   fd_job_fn fn);

/* Set res to a 500 for a database failure; returns -1. */
int fd__internal(fd_ctx *x);
/* 404 "<what>_not_found"; returns -1. */
int fd__not_found(fd_ctx *x, const char *what);
/* Admin routes: 0, or -1 with a 404 unless the {app} exists and the
 * admin token may reach it (engine_admin.c). */
int fd__admin_app(fd_ctx *x);
/* Set res to status/code/message; returns -1 (for `return fd__fail(...)`)*/
int fd__fail(fd_ctx *x, int status, const char *code, const char *msg);
/* Set res to status with body (stolen); returns 0, or -1 if body NULL. */
int fd__ok(fd_ctx *x, int status, json_t *body);

/* A body field as a string (NULL if absent or not a string). */
const char *fd__bstr(const fd_ctx *x, const char *name);
/* A query parameter as a string. */
const char *fd__qstr(const fd_ctx *x, const char *name);
/* The request's environment: body, then query, then the key's own, then
 * "production". NULL if it is none of production/test. */
const char *fd__env(const fd_ctx *x);
/* limit (default 20, 1..100) and offset (>= 0) from the query. */
void fd__page(const fd_ctx *x, long *limit, long *offset);

int fd__new_id(char out[40], const char *prefix);
/* A fresh secret: prefix then 2*nbytes hex chars. */
int fd__secret(char *out, size_t len, const char *prefix, size_t nbytes);

/* Write an outbox event (envelope {id,name,timestamp,environment,data}) in
 * the current transaction. Steals data. 0 or -1. */
int fd__emit(fd_ctx *x, const char *env, const char *name, json_t *data);

/* Create a customer with a fresh referral code and emit customer.created;
 * *out gets the Customer. FD_OK or FD_ERR. */
int fd__customer_create(fd_ctx *x, const char *external_id, const char *email,
                        const char *name, const char *props, const char *env,
                        json_t **out);

/*
 * The live campaign of env and its checkpoints (new references). On the
 * writer they come from a cache that fd__live_forget clears. FD_OK,
 * FD_NOTFOUND or FD_ERR.
 */
int fd__live(fd_ctx *x, const char *env, json_t **campaign,
             json_t **checkpoints);
/* Any change to campaigns, their rewards or checkpoints calls this. */
void fd__live_forget(fd_engine *e);

/* Rules (engine_rules.c). */
enum { FD_PARTY_REFERRER = 1, FD_PARTY_REFEREE = 2 };
/* Accept a pending referral (invitee.accepted); referral is updated in
 * place. 0 or -1. */
int fd__accept(fd_ctx *x, json_t *referral, const json_t *campaign);
/* The same, with the referee's Customer as read earlier in this job (used
 * if it is the referral's referee; NULL: read it). */
int fd__accept_referee(fd_ctx *x, json_t *referral, const json_t *campaign,
                       json_t *referee);
/*
 * Grant the campaign's rewards for the parties in mask. Appends Reward
 * objects to granted; *blocked gets NULL or why nothing was granted
 * ("limit_reached", "already_rewarded"). 0 or -1.
 */
int fd__grant(fd_ctx *x, const json_t *referral, const json_t *campaign,
              int mask, json_t *granted, const char **blocked);
/* Whether the campaign runs at x->now (startsAt/endsAt). */
int fd__campaign_running(const fd_ctx *x, const json_t *campaign);
/* suspectedFrauds for a new referral, or NULL (new reference). */
json_t *fd__fraud_check(fd_ctx *x, const json_t *referrer,
                        const json_t *referee);

#endif
