/*
 * flockd: deadlines for the slow parts of a connection that
 * libmicrohttpd's idle timeout does not bound (a trickle of one byte at a
 * time resets it).
 *
 * A new connection must finish its first request's headers within
 * header_s of being accepted; each later request on a kept-alive
 * connection must send its request line within idle_s of the last reply
 * and its headers within header_s of the request line. A connection past
 * its deadline is shut down (shutdown(2)); libmicrohttpd then closes it
 * as it would a client that hung up. Bodies are bounded elsewhere (the
 * idle timeout, --max-body and the buffered-bytes budget).
 *
 * Thread-safe: libmicrohttpd's threads call the hooks; one thread of the
 * guard's own enforces the deadlines.
 */
#ifndef FLOCKD_HTTP_GUARD_H
#define FLOCKD_HTTP_GUARD_H

#include <microhttpd.h>

typedef struct fd_guard fd_guard;

/* Start the guard's thread. header_s, idle_s > 0. 0 or -1. */
int fd_guard_new(fd_guard **out, int header_s, int idle_s);

/* Stop the thread and free (after the daemons using it are stopped).
 * NULL ok. */
void fd_guard_free(fd_guard *g);

/* For MHD_OPTION_NOTIFY_CONNECTION (cls: the guard). */
void fd_guard_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                     enum MHD_ConnectionNotificationCode toe);

/* For MHD_OPTION_URI_LOG_CALLBACK (cls: the guard): a request line is in.
 * Returns NULL (the request's context is made later). */
void *fd_guard_request_line(void *cls, const char *uri,
                            struct MHD_Connection *c);

/* The request's headers are in: no header deadline until the next. */
void fd_guard_headers_in(fd_guard *g, struct MHD_Connection *c);

/* The request is over: the next must begin within idle_s. */
void fd_guard_request_done(fd_guard *g, struct MHD_Connection *c);

/* Connections shut down for a missed deadline, since the start. */
long fd_guard_cut(fd_guard *g);

#endif
