/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_QUEUE_H
#define FLOCK_QUEUE_H

/**
 * @file flock/queue.h
 * @brief A durable queue of ingests, identifies and triggers, sent in the
 *        background.
 *
 * flock_checkpoints_ingest() waits for Flock and gives up when Flock is
 * down longer than its retries last. A flock_queue returns as soon as the
 * event is held (in memory, or with a spool file, committed to disk) and
 * sends it from its own threads, for as long as it takes:
 *
 * - Every event gets its Idempotency-Key when it is queued (the params'
 *   idempotency_key, else a random one) and keeps it for every attempt,
 *   across restarts of the program, so the server applies it at most once.
 * - Connection failures, timeouts, 409, 429 and 5xx are retried with
 *   exponential back-off and jitter; a Retry-After (429, 503) is honoured
 *   and pauses the whole queue, as do 502, 503, 504 and unreachable
 *   servers. Any other 4xx is permanent: the event is reported once
 *   (FLOCK_QUEUE_FAILED) and never sent again.
 * - Events of one customer (external_user_id) are sent one at a time, in
 *   the order they were queued; different customers go in parallel.
 * - With a spool, events survive a crash of the program: a queue opened on
 *   the spool again sends what was not yet acknowledged by the server.
 *   An event whose answer was lost in the crash is sent again with its key,
 *   and the server replays its first answer instead of applying it twice
 *   (for as long as it keeps keys: at least 24 hours).
 *
 * Threading: every function may be called from any thread at once, except
 * flock_queue_free(), which must be the last call. The client must outlive
 * the queue. After fork() the child's copy of a queue refuses every call
 * with FLOCK_EFORKED (only flock_queue_free() works there, and it frees
 * memory without touching the spool): the parent's events are sent by
 * the parent only. A child that wants a queue creates its own, on another
 * spool file.
 */

#include "common.h"
#include "errors.h"
#include "client.h"
#include "api.h"

FLOCK_BEGIN_DECL

/** Opaque queue handle. */
typedef struct flock_queue flock_queue;

/** What flock_queue_ingest() and the others do when the queue is full. */
typedef enum {
	/** Refuse the new event: the call returns FLOCK_EFULL. */
	FLOCK_QUEUE_FULL_REFUSE = 0,
	/**
	 * Make room by dropping the oldest events not in flight, each
	 * reported as FLOCK_QUEUE_DROPPED and counted in `dropped`.
	 */
	FLOCK_QUEUE_FULL_DROP_OLDEST = 1
} flock_queue_full_policy;

/** How hard the spool holds on to a queued event. */
typedef enum {
	/**
	 * Every enqueue waits for its commit to reach the disk (fsync); the
	 * event survives a power failure. Concurrent enqueues share one
	 * commit.
	 */
	FLOCK_QUEUE_SYNC_FULL = 0,
	/**
	 * The commit is written to the operating system, not flushed: the
	 * event survives a crash or SIGKILL of the program, not of the
	 * machine. Much faster on slow disks.
	 */
	FLOCK_QUEUE_SYNC_NORMAL = 1
} flock_queue_sync;

/** What a queued event is. */
typedef enum {
	FLOCK_QUEUE_OP_INGEST = 1,   /**< POST /checkpoints/ingest */
	FLOCK_QUEUE_OP_IDENTIFY = 2, /**< POST /customers/identify */
	FLOCK_QUEUE_OP_TRIGGER = 3   /**< POST /rewards/trigger */
} flock_queue_op;

/** How an event left the queue. */
typedef enum {
	/** The server accepted it (2xx); response_json has its answer. */
	FLOCK_QUEUE_SENT = 0,
	/** The server refused it for good (4xx other than 409 and 429). */
	FLOCK_QUEUE_FAILED = 1,
	/** It was still not sent after max_age_ms. */
	FLOCK_QUEUE_EXPIRED = 2,
	/** Dropped to make room for a newer one (FULL_DROP_OLDEST). */
	FLOCK_QUEUE_DROPPED = 3,
	/** A queue without a spool was freed before it could be sent. */
	FLOCK_QUEUE_UNSENT = 4
} flock_queue_outcome;

/**
 * One event's outcome, handed to the report callback. Owned by libflock
 * and valid only during the callback: copy what you keep. Members may be
 * added at the end in later versions (libflock allocates this struct,
 * never the caller).
 */
typedef struct {
	flock_queue_outcome outcome;
	flock_queue_op op;
	/** The event's Idempotency-Key. */
	const char *idempotency_key;
	const char *external_user_id;
	/** The checkpoint name (FLOCK_QUEUE_OP_INGEST), else NULL. */
	const char *checkpoint_name;
	/** The JSON body that was (or would have been) sent. */
	const char *request_json;
	/** SENT: the server's answer, the response body byte for byte; else NULL. */
	const char *response_json;
	/**
	 * 0 when SENT; else the code of the last failed attempt (FLOCK_EREQUEST,
	 * FLOCK_ENETWORK...), FLOCK_EFULL when DROPPED, or FLOCK_ETIMEOUT when
	 * EXPIRED or UNSENT without any attempt.
	 */
	int code;
	/** HTTP status of the last attempt; 0 if there was no answer. */
	int http_status;
	/** Of the last attempt: the server's `code`, message, request id. */
	const char *server_code;
	const char *message;
	const char *request_id;
	/** Attempts made by this process (not counting before a restart). */
	int attempts;
	/** How long the event was queued, in ms (across restarts). */
	long long age_ms;
} flock_queue_report;

/**
 * Report callback: called once per event that leaves the queue. SENT,
 * FAILED and EXPIRED come on a sender thread, DROPPED on the thread whose
 * enqueue pushed the event out (before that call returns), UNSENT on the
 * thread in flock_queue_free(). Never called with a lock held: it may
 * enqueue and read statistics, but must not call flock_queue_flush() or
 * flock_queue_free(). While it runs, that customer's next event waits, so
 * keep it short. Reports of one customer's SENT, FAILED and EXPIRED events
 * come in queue order. After a crash, an event whose report ran but
 * whose removal from the spool was not yet committed is sent (and
 * reported) again: reports are at least once.
 */
typedef void (*flock_queue_report_cb)(const flock_queue_report *report,
                                      void *userdata);

/**
 * A clock for tests: milliseconds, monotonic enough to schedule with.
 * Event ages, max age, back-off, Retry-After and flush_interval_ms all
 * read it; senders read it again at least every 10 ms, so a test can move
 * it forward instead of sleeping. It must be thread-safe.
 */
typedef long long (*flock_queue_clock_cb)(void *userdata);

#define FLOCK_QUEUE_OPTIONS_VERSION 1

/**
 * Queue options. Initialise with FLOCK_QUEUE_OPTIONS_INIT (or memset 0 and
 * set version): every zero member means its default.
 */
typedef struct {
	/** FLOCK_QUEUE_OPTIONS_VERSION */
	unsigned int version;
	/**
	 * Spool file (SQLite, WAL), created if absent, resumed if it holds
	 * events; NULL: memory only. Copied. One queue at a time per file.
	 */
	const char *spool_path;
	/** Most events held (queued and in flight); 0: 10000. */
	size_t max_events;
	/**
	 * Most bytes held, counting each event's JSON body, key and customer
	 * id; 0: 16 MiB. An event larger than this is refused (FLOCK_EFULL).
	 */
	size_t max_bytes;
	/** What a full queue does; 0: FLOCK_QUEUE_FULL_REFUSE. */
	flock_queue_full_policy full_policy;
	/** Threads sending (each holds one kept-alive connection); 0: 2, at most 64. */
	unsigned int sender_threads;
	/** Most events a sender takes at a time; 0: 32, at most 1024. */
	unsigned int batch_size;
	/**
	 * How long a sender waits for a batch to fill before sending a
	 * smaller one; 0: it sends at once. flock_queue_flush() never waits.
	 */
	long flush_interval_ms;
	/** Give up on an event (FLOCK_QUEUE_EXPIRED) this old; 0: never. */
	long long max_age_ms;
	/** First back-off delay; 0: 500 ms. Doubled per failure, with jitter. */
	long backoff_base_ms;
	/** Longest back-off delay; 0: 30000 ms. Retry-After may exceed it (up to an hour). */
	long backoff_max_ms;
	/** Spool durability; 0: FLOCK_QUEUE_SYNC_FULL. */
	flock_queue_sync sync;
	/** Called once per event leaving the queue; NULL: none. */
	flock_queue_report_cb report_cb;
	void *report_userdata;
	/** The queue's clock; NULL: the real ones. */
	flock_queue_clock_cb clock_cb;
	void *clock_userdata;
} flock_queue_options;

#define FLOCK_QUEUE_OPTIONS_INIT {FLOCK_QUEUE_OPTIONS_VERSION, NULL, 0, 0, FLOCK_QUEUE_FULL_REFUSE, 0, 0, 0, 0, 0, 0, FLOCK_QUEUE_SYNC_FULL, NULL, NULL, NULL, NULL}

/**
 * Initialise options to their defaults (same as FLOCK_QUEUE_OPTIONS_INIT).
 * @return 0, or FLOCK_EINVAL if opts is NULL or version unknown
 */
FLOCK_EXTERN(int) flock_queue_options_init(flock_queue_options *opts,
                                          unsigned int version);

/**
 * Create a queue sending through `client`, and start its sender threads.
 * With a spool that holds events (a previous run, a crash), they are
 * queued again first, in their order, and sent.
 *
 * @param out     receives the queue; free it with flock_queue_free()
 * @param client  the client to send with; it must outlive the queue
 * @param opts    options, copied; NULL: all defaults
 * @return 0, FLOCK_EINVAL (bad option or version), FLOCK_ENOMEM,
 *         FLOCK_ESPOOL (the spool cannot be used: not a libflock spool,
 *         corrupt, written by a newer libflock, in use by another queue
 *         or process, or an I/O error; flock_error_last() says which, and
 *         the file is left as it was), or FLOCK_ERROR (no thread could
 *         be started)
 */
FLOCK_EXTERN(int) flock_queue_new(flock_queue **out, flock_client *client,
                                 const flock_queue_options *opts);

/**
 * Queue a checkpoint ingest (what flock_checkpoints_ingest() would send).
 * Returns once the event is held: in memory, or with a spool, committed.
 * The params and strings are copied; the Idempotency-Key is
 * params->idempotency_key or a new random one.
 *
 * @return 0, FLOCK_EINVAL (what flock_checkpoints_ingest() checks, before
 *         anything is queued, or flock_queue_free() has begun),
 *         FLOCK_EFULL (the queue is full under FLOCK_QUEUE_FULL_REFUSE,
 *         or every event is in flight, or the event is larger than
 *         max_bytes), FLOCK_ESPOOL (the commit failed: the event is not
 *         queued), FLOCK_EFORKED, FLOCK_ENOMEM
 */
FLOCK_EXTERN(int) flock_queue_ingest(flock_queue *queue,
                                    const char *checkpoint_name,
                                    const flock_ingest_params *params);

/** Queue a customers.identify; as flock_queue_ingest(). */
FLOCK_EXTERN(int) flock_queue_identify(flock_queue *queue,
                                      const flock_identify_params *params);

/** Queue a rewards.trigger; as flock_queue_ingest(). */
FLOCK_EXTERN(int) flock_queue_trigger(flock_queue *queue,
                                     const flock_trigger_params *params);

/**
 * Wait until every event queued before this call has left the queue (and
 * its report callback has returned), or until timeout_ms has passed. It
 * does not shorten a pause the server asked for.
 *
 * @param timeout_ms  0: do not wait, just tell; -1: no limit
 * @return 0, FLOCK_ETIMEOUT (events remain), FLOCK_EINVAL (called from a
 *         report callback, or a NULL queue), FLOCK_EFORKED
 */
FLOCK_EXTERN(int) flock_queue_flush(flock_queue *queue, long timeout_ms);

#define FLOCK_QUEUE_STATS_VERSION 1

/**
 * Statistics of a queue. Set `version` (FLOCK_QUEUE_STATS_INIT) before
 * calling flock_queue_stats_get(): it fills the members that version has.
 */
typedef struct {
	/** FLOCK_QUEUE_STATS_VERSION */
	unsigned int version;
	/** Events waiting (including those waiting out a back-off). */
	size_t queued;
	/** Events being sent or reported right now. */
	size_t in_flight;
	/** Bytes held by queued and in-flight events (as max_bytes counts). */
	size_t bytes;
	/** Counters since flock_queue_new(). */
	unsigned long long sent;
	unsigned long long failed;
	unsigned long long expired;
	unsigned long long dropped;
	/** Enqueues refused with FLOCK_EFULL. */
	unsigned long long refused;
	/** Attempts that failed and will be (or were) tried again. */
	unsigned long long retries;
	/** Events found in the spool by flock_queue_new(). */
	unsigned long long resumed;
	/** Age of the oldest event held, in ms; 0 when empty. */
	long long oldest_age_ms;
	/** How long the whole queue still waits (back-off, Retry-After), ms. */
	long long paused_ms;
} flock_queue_stats;

#define FLOCK_QUEUE_STATS_INIT {FLOCK_QUEUE_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * Read a consistent snapshot of the statistics.
 * @param out  its version must be set; the other members are filled
 * @return 0, FLOCK_EINVAL (NULL, unknown version), FLOCK_EFORKED
 */
FLOCK_EXTERN(int) flock_queue_stats_get(flock_queue_stats *out,
                                       flock_queue *queue);

/**
 * Flush for up to timeout_ms (as flock_queue_flush()), then stop the
 * senders (an attempt under way is finished first, so this can take up
 * to the client's timeout_ms longer), commit and close the spool, and free
 * the queue. Events still queued stay in the spool for the next queue on
 * it; without a spool they are reported FLOCK_QUEUE_UNSENT and lost.
 * Nothing else may run on the queue during or after this call. Accepts
 * NULL (returns 0).
 *
 * @param timeout_ms  0: do not wait; -1: until everything is sent
 * @return 0 if nothing was left, FLOCK_ETIMEOUT if events were left (in
 *         the spool, or lost without one), FLOCK_ESPOOL if the final
 *         commit failed (what was sent may be sent again, with its key)
 */
FLOCK_EXTERN(int) flock_queue_free(flock_queue *queue, long timeout_ms);

FLOCK_END_DECL

#endif
