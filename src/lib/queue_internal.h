/*
 * Internal: the queue's state, shared by queue.c (memory, senders, the
 * public calls) and queue_spool.c (the SQLite spool). Nothing here is
 * exported.
 *
 * Locks: `lock` guards everything in memory; `spool_lock` serialises use of
 * the SQLite connection and is always taken before `lock`, never while
 * holding it. No lock is held while a report callback runs or while an
 * event is being sent.
 */
#ifndef FLOCK_LIB_QUEUE_INTERNAL_H
#define FLOCK_LIB_QUEUE_INTERNAL_H

#include <flock/queue.h>

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

struct sqlite3;
struct sqlite3_stmt;

/* One customer's place in the queue (for per-customer order). */
typedef struct qcust {
	struct qcust *hnext;
	uint32_t hash;
	size_t refs;          /* events of this customer held */
	unsigned long epoch;  /* == queue's scan epoch: seen in this scan */
	char name[];
} qcust;

/* One queued event. Its strings live in the same allocation. */
typedef struct qevent {
	struct qevent *prev, *next; /* queue order: ascending seq */
	struct qevent *wnext;       /* the spool's list of rows to insert */
	qcust *cust;
	int64_t seq;
	int op;          /* flock_queue_op */
	char *key;       /* Idempotency-Key */
	char *body;      /* the JSON body */
	char *name;      /* checkpoint name, or NULL */
	size_t bytes;    /* as max_bytes counts */
	int64_t enq_wall; /* when it was queued (ms, wall clock or test clock) */
	int64_t due;      /* not before (queue clock); 0: now */
	int attempts;
	int inflight;     /* taken by a sender (or being reported) */
	/*
	 * May be sent: set by its enqueuer once the row is written (or at
	 * once without a spool). Until then only the enqueuer may free it,
	 * so nothing else touches an event that is not durable.
	 */
	int durable;
	int written;      /* its spool row is committed (set by the committer) */
	int write_failed; /* its spool commit failed: the enqueuer removes it */
	/* The last failed attempt, for EXPIRED reports. */
	int last_code;
	int last_status;
	char *last_msg;
} qevent;

struct flock_queue {
	flock_client *client;
	pthread_mutex_t lock;
	pthread_cond_t work; /* senders: something may be ready, or stop */
	pthread_cond_t idle; /* flush: an event left the queue */

	/* Options, defaults applied. */
	size_t max_events, max_bytes;
	int full_policy, sync;
	unsigned int nthreads, batch_size;
	long flush_interval_ms, backoff_base_ms, backoff_max_ms;
	long long max_age_ms;
	flock_queue_report_cb report_cb;
	void *report_ud;
	flock_queue_clock_cb clock_cb;
	void *clock_ud;

	/* The events, oldest first. */
	qevent *head, *tail;
	size_t count, bytes, inflight;
	int64_t next_seq;

	/* Customers with events held: a chained hash table. */
	qcust **cust;
	size_t cust_size, cust_count;
	unsigned long epoch;

	/* The whole queue waits until pause_until (queue clock). */
	int64_t pause_until;
	int gfail; /* consecutive failures that paused it */
	uint64_t rng; /* back-off jitter */

	int stopping; /* flock_queue_free() began: enqueues refused */
	int stop_now; /* senders exit */
	int flushers; /* flush calls waiting: no lingering */
	unsigned int waiting; /* senders waiting for work */

	unsigned long long sent, failed, expired, dropped, refused, retries,
	        resumed;

	pthread_t *threads;
	unsigned int started;

	/* Fork awareness. */
	pid_t pid;
	int forked;
	struct flock_queue *reg_next;

	/* The spool (queue_spool.c); db is NULL without one. */
	char *spool_path;
	struct sqlite3 *db;
	struct sqlite3_stmt *st_insert, *st_delete;
	pthread_mutex_t spool_lock;
	qevent *wfirst, *wlast;  /* rows to insert, in seq order */
	int64_t *dels;           /* rows to delete */
	size_t ndels, dels_cap;
	int spool_failed;        /* the last commit failed */
	char spool_err[256];     /* its message, for the waiters it failed */
};

/* --- queue.c, for the spool --------------------------------------------- */

/* Wall-clock ms (or the test clock). */
int64_t flock__queue_wall(const flock_queue *q);

/*
 * Append a resumed event (a spool row) to the queue, durable, in seq
 * order. Called with no lock, before the senders start. 0 or FLOCK_ENOMEM.
 */
int flock__queue_resume_event(flock_queue *q, int64_t seq, int op,
                              const char *key, const char *customer,
                              const char *name, const char *body,
                              int64_t enq_wall);

/* --- queue_spool.c -------------------------------------------------------- */

/*
 * Open (or create) the spool at q->spool_path, check that it is a libflock
 * spool, take its lock, and resume its events into q. 0 or FLOCK_ESPOOL /
 * FLOCK_ENOMEM with the thread's error set; nothing is left open then.
 */
int flock__spool_open(flock_queue *q);

/*
 * Commit what is pending: the deletions in q->dels and the rows on the
 * write list, in one transaction (synced as q->sync says when it
 * inserts). Takes spool_lock, then lock inside. Marks the events
 * written, or write_failed with q->spool_err set; their enqueuers then
 * make them durable or drop them. 0 or FLOCK_ESPOOL.
 */
int flock__spool_sync(flock_queue *q);

/* Close the spool (after a last flock__spool_sync). */
void flock__spool_close(flock_queue *q);

/*
 * In a forked child: forget the connection without closing it (closing
 * could checkpoint or remove the parent's WAL).
 */
void flock__spool_abandon(flock_queue *q);

#endif
