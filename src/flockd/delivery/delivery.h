/*
 * flockd: the webhook delivery worker (api.md section 6; design in
 * docs/flockd.md, "Webhook delivery").
 *
 * One thread per flockd process. It fans outbox events out into
 * deliveries, claims due deliveries under a lease, POSTs them with
 * libcurl's multi interface (kept-alive connections, at most
 * `concurrency` at once, 15 s timeout), and records each attempt. All its
 * writes go through the engine's writer (fd_engine_write), so they are
 * group-committed and durable like any other change, and it only sends an
 * event after the event's commit is durable. The engine tells it of
 * commits through the on_commit callback it is opened with
 * (fd_delivery_kick); times come from the engine's clock.
 */
#ifndef FLOCKD_DELIVERY_H
#define FLOCKD_DELIVERY_H

#include <stddef.h>

#include "common/buf.h"
#include "engine/engine.h"

typedef struct fd_delivery fd_delivery;

#define FD_DELIVERY_MAX_SCHEDULE 16

typedef struct {
	int concurrency;  /* attempts in flight at most; 0: 16 */
	int schedule_len; /* 0: the spec's 5s,5m,30m,2h,5h,10h,10h */
	int schedule_s[FD_DELIVERY_MAX_SCHEDULE]; /* delay before retry i+1 */
	int lease_s;       /* lease on a claimed delivery; 0: 60 */
	int timeout_s;     /* per attempt; 0: 15 */
	int allow_private; /* deliver to loopback/private addresses */
	int poll_ms;       /* look for due deliveries at least this often
	                      when idle; 0: 200 */
} fd_delivery_config;

/* A worker, not running yet: made before the engine opens, so the
 * engine can be given fd_delivery_kick and d as its on_commit callback.
 * 0, or -1 with a message in err. */
int fd_delivery_new(fd_delivery **out, const fd_delivery_config *cfg,
                    char *err, size_t errlen);

/* Start the worker on e (which must outlive the worker's run, up to
 * fd_delivery_stop). 0, or -1 with a message in err. */
int fd_delivery_start(fd_delivery *d, fd_engine *e, char *err, size_t errlen);

/* Stop: abort the attempts in flight and give their leases back (they
 * are pending again, for this or another node), then join. A kick after
 * this is harmless. NULL or not started: nothing. */
void fd_delivery_stop(fd_delivery *d);

/* Free d (stopping it first if it runs): after the engine that calls
 * fd_delivery_kick on its commits is closed. NULL ok. */
void fd_delivery_free(fd_delivery *d);

/* Something was committed that may give the worker work (the engine's
 * on_commit, the clock moving): wake it. arg is the fd_delivery (NULL:
 * nothing). Thread-safe, never blocks. */
void fd_delivery_kick(void *arg);

/* Append the Prometheus text of the webhook counters and gauges:
 * counters of worker d (NULL: none running) and, from the database, the
 * deliveries waiting and the lag of the oldest. 0 or -1. */
int fd_delivery_metrics(fd_delivery *d, fd_engine *e, flock__buf *out);

/* Parse "5,300,1800" (seconds) into cfg's schedule. 0 or -1. */
int fd_delivery_parse_schedule(fd_delivery_config *cfg, const char *s);

#endif
