/*
 * flockd's clock: the wall time (ms since the epoch) every time-based
 * rule reads (reward hold periods, webhook retry schedules, secret grace,
 * delivery leases, rate-limit windows, idempotency record expiry).
 *
 * The engine, the store and the delivery worker are given one fd_clock
 * when they open, never a global: production passes the real clock, tests
 * (and `flockd serve --test-clock`) a manual one that they move forward,
 * so a rule about "five minutes later" is tested without waiting five
 * minutes. A manual clock reads real time plus an offset that only
 * fd_clock_advance changes, so time still passes between calls (ids and
 * orderings by creation time keep working) and never goes backwards.
 *
 * Thread-safe: any thread may read or advance a clock.
 */
#ifndef FLOCKD_BASE_CLOCK_H
#define FLOCKD_BASE_CLOCK_H

#include <stdint.h>

typedef struct fd_clock fd_clock;

/* The real clock (shared, never freed). */
fd_clock *fd_clock_real(void);

/* A manual clock, at real time until advanced. 0, or -1 (out of memory). */
int fd_clock_new_manual(fd_clock **out);

/* Free a manual clock (the real clock and NULL are ignored). */
void fd_clock_free(fd_clock *c);

/* Milliseconds since the epoch; NULL reads the real clock. */
int64_t fd_clock_now(const fd_clock *c);

/* 1 for a manual clock, 0 for the real one. */
int fd_clock_is_manual(const fd_clock *c);

/* Move a manual clock forward by ms (> 0) and call every listener; the
 * real clock refuses. 0 or -1. */
int fd_clock_advance(fd_clock *c, int64_t ms);

/*
 * Call fn(arg) after every advance, on the advancing thread (to wake a
 * thread that sleeps until a time-based rule is due). Up to 8 listeners;
 * remove with fd_clock_unlisten before arg goes away. On the real clock
 * both are no-ops. 0 or -1.
 */
int fd_clock_listen(fd_clock *c, void (*fn)(void *arg), void *arg);
void fd_clock_unlisten(fd_clock *c, void (*fn)(void *arg), void *arg);

#endif
