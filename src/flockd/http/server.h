/*
 * flockd: the HTTP server (libmicrohttpd) in front of the engine.
 */
#ifndef FLOCKD_SERVER_H
#define FLOCKD_SERVER_H

#include <stddef.h>

#include "config.h"
#include "delivery/delivery.h"
#include "engine/engine.h"

typedef struct fd_server fd_server;

/*
 * Start listening and serving with cfg's address, threads and limits. The
 * engine and the delivery worker d (NULL: none; its counters go to
 * /metrics) must outlive the server. 0, or -1 with a message in err.
 */
int fd_server_start(fd_server **out, const fd_config *cfg, fd_engine *e,
                    fd_delivery *d, char *err, size_t errlen);

/* The port actually bound (differs from cfg's when that was 0). */
unsigned short fd_server_port(const fd_server *s);

/*
 * Graceful stop: stop accepting connections, let requests in flight
 * finish (at most grace_ms), close every connection and free s.
 */
void fd_server_stop(fd_server *s, int grace_ms);

#endif
