/*
 * flockd: the HTTP server (libmicrohttpd) in front of the engine.
 */
#ifndef FLOCKD_SERVER_H
#define FLOCKD_SERVER_H

#include <stddef.h>

#include "common/buf.h"
#include "config.h"
#include "engine/engine.h"

typedef struct fd_server fd_server;

/* More Prometheus text for /metrics (the delivery worker's), appended to
 * out, on a server thread. 0 or -1. */
typedef int (*fd_metrics_fn)(flock__buf *out, void *arg);

/*
 * Start listening and serving with cfg's address, threads and limits.
 * more_metrics (NULL: none) is called with arg for every /metrics. The
 * engine and arg must outlive the server. 0, or -1 with a message in err.
 */
int fd_server_start(fd_server **out, const fd_config *cfg, fd_engine *e,
                    fd_metrics_fn more_metrics, void *arg, char *err,
                    size_t errlen);

/* Events may have been committed: wake the event streams
 * (GET /admin/apps/{app}/events/stream). Any thread; never blocks for
 * long; NULL ok. */
void fd_server_notify(fd_server *s);

/* The port actually bound (differs from cfg's when that was 0). */
unsigned short fd_server_port(const fd_server *s);

/* The dashboard's port (cfg->dashboard: docs/dashboard.md), 0 if off. */
unsigned short fd_server_dashboard_port(const fd_server *s);

/*
 * Graceful stop: stop accepting connections, let requests in flight
 * finish (at most grace_ms), close every connection and free s.
 */
void fd_server_stop(fd_server *s, int grace_ms);

#endif
