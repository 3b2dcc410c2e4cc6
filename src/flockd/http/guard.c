/*
 * flockd: connection deadlines (guard.h).
 */
#include "http/guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"

typedef struct entry {
	struct entry *prev, *next;
	MHD_socket fd;
	long long deadline_ms; /* 0: none (a body, or an answer, under way) */
	int cut;
} entry;

struct fd_guard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int stop;
	long header_ms, idle_ms;
	long cut;
	entry *head;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static entry *entry_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void set_deadline(fd_guard *g, entry *e, long after_ms)
{
	if (!e)
		return;
	pthread_mutex_lock(&g->mu);
	e->deadline_ms = after_ms ? now_ms() + after_ms : 0;
	pthread_mutex_unlock(&g->mu);
}

void fd_guard_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                     enum MHD_ConnectionNotificationCode toe)
{
	fd_guard *g = cls;
	entry *e = *socket_ctx;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		                             MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(e = calloc(1, sizeof(*e))))
			return; /* unguarded: the idle timeout still holds */
		e->fd = ci->connect_fd;
		pthread_mutex_lock(&g->mu);
		e->deadline_ms = now_ms() + g->header_ms;
		e->next = g->head;
		if (g->head)
			g->head->prev = e;
		g->head = e;
		pthread_mutex_unlock(&g->mu);
		*socket_ctx = e;
		return;
	}
	if (!e)
		return;
	/* Before libmicrohttpd closes the socket: once out of the list, its
	 * number (soon another connection's) is never shut down here. */
	pthread_mutex_lock(&g->mu);
	if (e->prev)
		e->prev->next = e->next;
	else
		g->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	pthread_mutex_unlock(&g->mu);
	free(e);
	*socket_ctx = NULL;
}

void *fd_guard_request_line(void *cls, const char *uri,
                            struct MHD_Connection *c)
{
	fd_guard *g = cls;

	(void)uri;
	set_deadline(g, entry_of(c), g->header_ms);
	return NULL;
}

void fd_guard_headers_in(fd_guard *g, struct MHD_Connection *c)
{
	if (g)
		set_deadline(g, entry_of(c), 0);
}

void fd_guard_request_done(fd_guard *g, struct MHD_Connection *c)
{
	if (g)
		set_deadline(g, entry_of(c), g->idle_ms);
}

long fd_guard_cut(fd_guard *g)
{
	long n;

	pthread_mutex_lock(&g->mu);
	n = g->cut;
	pthread_mutex_unlock(&g->mu);
	return n;
}

/* Shut down every connection past its deadline; g->mu held. */
static void enforce(fd_guard *g)
{
	long long now = now_ms();
	long n = 0;
	entry *e;

	for (e = g->head; e; e = e->next) {
		if (e->cut || !e->deadline_ms || e->deadline_ms > now)
			continue;
		shutdown(e->fd, SHUT_RDWR);
		e->cut = 1;
		n++;
	}
	if (n) {
		g->cut += n;
		fd_log(FD_LOG_WARN,
		       "http: %ld connection(s) closed: request not in by the "
		       "header deadline",
		       n);
	}
}

static void *run(void *arg)
{
	fd_guard *g = arg;
	struct timespec until;

	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		enforce(g);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 200 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &until);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int fd_guard_new(fd_guard **out, int header_s, int idle_s)
{
	fd_guard *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	*out = NULL;
	if (!g)
		return -1;
	g->header_ms = header_s * 1000L;
	g->idle_ms = idle_s * 1000L;
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, run, g) != 0) {
		pthread_cond_destroy(&g->cv);
		pthread_mutex_destroy(&g->mu);
		free(g);
		return -1;
	}
	*out = g;
	return 0;
}

void fd_guard_free(fd_guard *g)
{
	entry *e, *next;

	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	for (e = g->head; e; e = next) {
		next = e->next;
		free(e);
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
