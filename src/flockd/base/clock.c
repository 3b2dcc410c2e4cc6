#include <pthread.h>
#include <stdlib.h>

#include "base/clock.h"
#include "common/ids.h"

#define MAX_LISTENERS 8

struct fd_clock {
	int manual;
	int64_t offset; /* atomic */
	pthread_mutex_t mu; /* listeners */
	struct {
		void (*fn)(void *arg);
		void *arg;
	} listeners[MAX_LISTENERS];
};

static fd_clock real_clock;

fd_clock *fd_clock_real(void)
{
	return &real_clock;
}

int fd_clock_new_manual(fd_clock **out)
{
	fd_clock *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -1;
	c->manual = 1;
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

void fd_clock_free(fd_clock *c)
{
	if (!c || !c->manual)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int64_t fd_clock_now(const fd_clock *c)
{
	int64_t now = flock__now_ms();

	if (c && c->manual)
		now += __atomic_load_n(&c->offset, __ATOMIC_ACQUIRE);
	return now;
}

int fd_clock_is_manual(const fd_clock *c)
{
	return c && c->manual;
}

int fd_clock_advance(fd_clock *c, int64_t ms)
{
	int i;

	if (!c || !c->manual || ms <= 0)
		return -1;
	__atomic_add_fetch(&c->offset, ms, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < MAX_LISTENERS; i++)
		if (c->listeners[i].fn)
			c->listeners[i].fn(c->listeners[i].arg);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

int fd_clock_listen(fd_clock *c, void (*fn)(void *arg), void *arg)
{
	int i, rc = -1;

	if (!c || !c->manual)
		return 0;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < MAX_LISTENERS && rc < 0; i++) {
		if (!c->listeners[i].fn) {
			c->listeners[i].fn = fn;
			c->listeners[i].arg = arg;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void fd_clock_unlisten(fd_clock *c, void (*fn)(void *arg), void *arg)
{
	int i;

	if (!c || !c->manual)
		return;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < MAX_LISTENERS; i++) {
		if (c->listeners[i].fn == fn && c->listeners[i].arg == arg) {
			c->listeners[i].fn = NULL;
			c->listeners[i].arg = NULL;
		}
	}
	pthread_mutex_unlock(&c->mu);
}
