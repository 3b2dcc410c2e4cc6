/*
 * flockd: server-sent event streams (stream.h).
 */
#include "http/stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/ids.h"
#include "base/log.h"

/* Events read from the engine per turn of a stream's reader. */
#define READ_BATCH 200
/* How often the hub wakes every stream anyway. */
#define POLL_MS 1000

typedef struct stream stream;

struct fd_streams {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	stream *waiting;   /* suspended streams */
	unsigned long gen; /* moves on every notify */
	int closing;
	int quit;
	long heartbeat_ms;
	pthread_t poller;
	int poller_started;
};

struct stream {
	fd_streams *hub;
	fd_engine *e;
	struct MHD_Connection *conn;
	char app[128];
	char env[16];
	char *names;
	long cursor;
	flock__buf out;      /* bytes to send */
	size_t sent;         /* of out */
	int64_t quiet_since; /* monotonic ms of the last bytes queued */
	int failed;
	stream *next;
};

static void wake_all(fd_streams *h)
{
	stream *s, *next;

	for (s = h->waiting; s; s = next) {
		next = s->next;
		s->next = NULL;
		MHD_resume_connection(s->conn);
	}
	h->waiting = NULL;
}

void fd_streams_notify(fd_streams *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->gen++;
	wake_all(h);
	pthread_mutex_unlock(&h->mu);
}

/* Once a second: other nodes' commits, heartbeats. */
static void *poll_main(void *arg)
{
	fd_streams *h = arg;
	struct timespec ts;

	pthread_mutex_lock(&h->mu);
	while (!h->quit) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += POLL_MS / 1000;
		pthread_cond_timedwait(&h->cv, &h->mu, &ts);
		h->gen++;
		wake_all(h);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int fd_streams_new(fd_streams **out, long heartbeat_ms)
{
	fd_streams *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 15000;
	if (pthread_create(&h->poller, NULL, poll_main, h) != 0) {
		fd_streams_free(h);
		return -1;
	}
	pthread_setname_np(h->poller, "fd-streams");
	h->poller_started = 1;
	*out = h;
	return 0;
}

void fd_streams_close(fd_streams *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->closing = 1;
	wake_all(h);
	pthread_mutex_unlock(&h->mu);
}

void fd_streams_free(fd_streams *h)
{
	if (!h)
		return;
	if (h->poller_started) {
		pthread_mutex_lock(&h->mu);
		h->quit = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->poller, NULL);
	}
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

/* ---- one stream -------------------------------------------------------- */

/* Queue the events after the cursor as SSE frames. 0 or -1. */
static int fill(stream *s)
{
	json_t *events = NULL, *ev;
	size_t i;

	if (fd_engine_events_after(s->e, s->app, &s->cursor,
	                           s->env[0] ? s->env : NULL, s->names,
	                           READ_BATCH, &events) < 0)
		return -1;
	json_array_foreach(events, i, ev)
	{
		const char *id = json_string_value(json_object_get(ev, "id"));
		const char *name =
		        json_string_value(json_object_get(ev, "name"));
		const char *body =
		        json_string_value(json_object_get(ev, "body"));

		if (id && name && body)
			flock__buf_printf(&s->out,
			                  "id: %s\nevent: %s\ndata: %s\n\n", id,
			                  name, body);
	}
	json_decref(events);
	return s->out.oom ? -1 : 0;
}

/* Nothing to send: wait for the hub unless something moved since gen
 * was read (then 1: look again). 0 once suspended. */
static int wait_for_more(stream *s, unsigned long gen)
{
	fd_streams *h = s->hub;
	int again;

	pthread_mutex_lock(&h->mu);
	again = h->gen != gen || h->closing;
	if (!again) {
		s->next = h->waiting;
		h->waiting = s;
		MHD_suspend_connection(s->conn);
	}
	pthread_mutex_unlock(&h->mu);
	return again;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream *s = cls;
	fd_streams *h = s->hub;
	unsigned long gen;
	int closing;

	for (;;) {
		if (s->sent < s->out.len) {
			size_t n = s->out.len - s->sent;

			if (n > max)
				n = max;
			memcpy(buf, s->out.ptr + s->sent, n);
			s->sent += n;
			return (ssize_t)n;
		}
		s->out.len = 0;
		s->sent = 0;
		if (s->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		pthread_mutex_lock(&h->mu);
		gen = h->gen;
		closing = h->closing;
		pthread_mutex_unlock(&h->mu);
		if (closing)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (fill(s) < 0) {
			/* Said on the stream before it ends (the client
			 * reconnects with its last id). */
			fd_log(FD_LOG_WARN, "event stream: cannot read the "
			                    "outbox; ending the stream");
			s->out.len = 0;
			s->out.oom = 0;
			flock__buf_printf(&s->out, ": error\n\n");
			s->failed = 1;
			continue;
		}
		if (s->out.len == 0 &&
		    flock__mono_ms() - s->quiet_since >= h->heartbeat_ms)
			flock__buf_printf(&s->out, ": keep-alive\n\n");
		if (s->out.len) {
			s->quiet_since = flock__mono_ms();
			continue;
		}
		if (!wait_for_more(s, gen))
			return 0; /* suspended: the hub resumes it */
	}
}

static void stream_free(void *cls)
{
	stream *s = cls;

	flock__buf_free(&s->out);
	free(s->names);
	free(s);
}

enum MHD_Result fd_stream_start(fd_streams *h, fd_engine *e,
                                struct MHD_Connection *c, const char *app,
                                long cursor, const char *env, const char *names,
                                const char *request_id)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	stream *s = calloc(1, sizeof(*s));

	if (!s)
		return MHD_NO;
	s->hub = h;
	s->e = e;
	s->conn = c;
	s->cursor = cursor;
	s->quiet_since = flock__mono_ms();
	snprintf(s->app, sizeof(s->app), "%s", app);
	snprintf(s->env, sizeof(s->env), "%s", env ? env : "");
	if (names && !(s->names = strdup(names))) {
		free(s);
		return MHD_NO;
	}
	/* The first bytes tell the client the stream is open and how soon
	 * to come back after a drop. */
	flock__buf_printf(&s->out, "retry: 1000\n: flockd event stream\n\n");
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
	                                      reader, s, stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	/* nginx and friends: pass each event on at once. */
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	MHD_add_response_header(r, "X-Request-Id", request_id);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}
