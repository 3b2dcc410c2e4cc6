/*
 * flockd: server-sent events of an application's committed outbox
 * (GET /admin/apps/{app}/events/stream; flockctl webhooks listen).
 *
 * A stream is a libmicrohttpd callback response: its reader sends the
 * events the engine has after the stream's cursor, and when there are
 * none it suspends its connection until the hub wakes it: on a commit
 * with events (fd_streams_notify, from the engine's on_commit through
 * main.c), once a second (events other nodes committed; a heartbeat is
 * due), or when the server stops (every stream ends).
 *
 * Each event goes out as
 *
 *     id: evt_...
 *     event: invitee.accepted
 *     data: {the envelope, byte for byte as a webhook delivers it}
 *
 * so a client reconnecting with Last-Event-ID: <the last id> resumes
 * right after it. A comment line (": keep-alive") is sent when nothing
 * else was for a while, so a gone client is noticed and idle timeouts do
 * not fire.
 */
#ifndef FLOCKD_HTTP_STREAM_H
#define FLOCKD_HTTP_STREAM_H

#include <stdint.h>

#include <microhttpd.h>

#include "engine/engine.h"

typedef struct fd_streams fd_streams;

/* The hub; heartbeat_ms: the longest a stream stays silent. 0 or -1. */
int fd_streams_new(fd_streams **out, long heartbeat_ms);

/* Wake every waiting stream: events may have been committed. Any thread;
 * never blocks for long. */
void fd_streams_notify(fd_streams *h);

/* End every stream (each sends what it has, then ends) and refuse new
 * ones: the server is stopping. */
void fd_streams_close(fd_streams *h);

/* After the daemon stopped. NULL ok. */
void fd_streams_free(fd_streams *h);

/*
 * Answer c with a stream of app's events after cursor (env NULL: both;
 * names: comma-separated, NULL: all), with the request id header. What
 * MHD_queue_response returns; MHD_NO if it could not be made.
 */
enum MHD_Result fd_stream_start(fd_streams *h, fd_engine *e,
                                struct MHD_Connection *c, const char *app,
                                long cursor, const char *env, const char *names,
                                const char *request_id);

#endif
