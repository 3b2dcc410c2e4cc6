/*
 * The durable event queue (include/flock/queue.h): events in memory, in
 * queue order, sent by sender threads one attempt at a time through the
 * request layer, so that the queue, not the call, decides when to try
 * again: per event after an answer that concerns that event (500, 409),
 * for the whole queue when the server is unreachable or says it is
 * overloaded (no answer, 429, 502, 503, 504, and any Retry-After there).
 *
 * Per-customer order: a sender scans from the oldest event and takes only
 * the first event of each customer it meets, and only if that one is
 * neither in flight nor waiting out a back-off; so a customer's next event
 * goes only once the one before it has left the queue.
 *
 * The spool (queue_spool.c), when there is one, holds a row per event;
 * an event becomes sendable once its row is committed, and its row is
 * deleted (lazily, in batches: a lost deletion only means sending again
 * with the same key) once it has left.
 */
#include "queue_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bodies.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "error.h"
#include "internal.h"
#include "json.h"

#define DEFAULT_MAX_EVENTS 10000
#define DEFAULT_MAX_BYTES ((size_t)16 << 20)
#define DEFAULT_THREADS 2
#define MAX_THREADS 64
#define DEFAULT_BATCH 32
#define MAX_BATCH 1024
#define DEFAULT_BACKOFF_BASE_MS 500
#define DEFAULT_BACKOFF_MAX_MS 30000
/* The longest Retry-After honoured; a longer one is cut to this. */
#define RETRY_AFTER_MAX_MS 3600000L
/* With a test clock, senders look at it again this often (real ms). */
#define TEST_CLOCK_TICK_MS 10
#define CUST_INITIAL 64
/* A sender's stack: libcurl, OpenSSL's handshake and SQLite fit in this. */
#define SENDER_STACK ((size_t)512 << 10)

enum { A_SEND, A_EXPIRE };
enum { R_NONE, R_SENT, R_FAILED, R_RETRY, R_EXPIRED };

/* One event taken by a sender, and what became of it. */
typedef struct {
	qevent *e;
	int action;
	int result;
	int global;      /* R_RETRY: the whole queue waits */
	long retry_after; /* R_RETRY: the server's Retry-After, -1: none */
} slot;

typedef struct {
	flock_queue *q;
	slot *slots;
} sender;

/* Set while a report callback runs on this thread (flush refuses then). */
static _Thread_local const flock_queue *tls_reporting;

/* --- clocks --------------------------------------------------------------- */

static int64_t q_now(const flock_queue *q)
{
	return q->clock_cb ? (int64_t)q->clock_cb(q->clock_ud)
	                   : flock__mono_ms();
}

int64_t flock__queue_wall(const flock_queue *q)
{
	return q->clock_cb ? (int64_t)q->clock_cb(q->clock_ud)
	                   : flock__now_ms();
}

/* Wait on cond for at most ms real milliseconds (-1: no limit). */
static void timed_wait(flock_queue *q, pthread_cond_t *cond, long ms)
{
	struct timespec ts;

	if (q->clock_cb && (ms < 0 || ms > TEST_CLOCK_TICK_MS))
		ms = TEST_CLOCK_TICK_MS;
	if (ms < 0) {
		pthread_cond_wait(cond, &q->lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, &q->lock, &ts);
}

/*
 * Jitter needs no cryptographic randomness: a xorshift generator seeded
 * once, under the queue's lock (senders never touch OpenSSL's per-thread
 * generators for it).
 */
static uint32_t jitter_rand(flock_queue *q)
{
	uint64_t x = q->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	q->rng = x;
	return (uint32_t)(x >> 32);
}

/* Under lock: exponential back-off with equal jitter, as request.c's. */
static long backoff(flock_queue *q, int n)
{
	long d = q->backoff_base_ms;
	uint32_t r;
	int i;

	for (i = 0; i < n && d < q->backoff_max_ms; i++)
		d *= 2;
	if (d > q->backoff_max_ms)
		d = q->backoff_max_ms;
	if (d < 2)
		return d;
	r = jitter_rand(q);
	return d - d / 2 + (long)(r % (uint32_t)(d / 2 + 1));
}

/* --- customers ------------------------------------------------------------ */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int cust_grow(flock_queue *q)
{
	size_t size = q->cust_size * 2, i;
	qcust **b = calloc(size, sizeof(*b)), *c, *next;

	if (b == NULL)
		return -1;
	for (i = 0; i < q->cust_size; i++) {
		for (c = q->cust[i]; c; c = next) {
			next = c->hnext;
			c->hnext = b[c->hash & (size - 1)];
			b[c->hash & (size - 1)] = c;
		}
	}
	free(q->cust);
	q->cust = b;
	q->cust_size = size;
	return 0;
}

/* The customer's entry, created if needed, with one more reference. */
static qcust *cust_ref(flock_queue *q, const char *name)
{
	uint32_t h = hash_str(name);
	qcust *c;
	size_t len;

	for (c = q->cust[h & (q->cust_size - 1)]; c; c = c->hnext) {
		if (c->hash == h && strcmp(c->name, name) == 0) {
			c->refs++;
			return c;
		}
	}
	if (q->cust_count >= q->cust_size && cust_grow(q) != 0)
		return NULL;
	len = strlen(name);
	if ((c = malloc(sizeof(*c) + len + 1)) == NULL)
		return NULL;
	memcpy(c->name, name, len + 1);
	c->hash = h;
	c->refs = 1;
	c->epoch = 0;
	c->hnext = q->cust[h & (q->cust_size - 1)];
	q->cust[h & (q->cust_size - 1)] = c;
	q->cust_count++;
	return c;
}

static void cust_unref(flock_queue *q, qcust *c)
{
	qcust **p;

	if (--c->refs > 0)
		return;
	for (p = &q->cust[c->hash & (q->cust_size - 1)]; *p; p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	}
	q->cust_count--;
	free(c);
}

/* --- events --------------------------------------------------------------- */

static void put_str(char **dst, char **p, const char *s)
{
	size_t n = strlen(s) + 1;

	memcpy(*p, s, n);
	*dst = *p;
	*p += n;
}

/* An event with copies of its strings, not yet in the queue. */
static qevent *event_new(int op, const char *key, const char *name,
                         const char *body, const char *customer)
{
	size_t n = sizeof(qevent) + strlen(key) + strlen(body) + 2 +
	           (name ? strlen(name) + 1 : 0);
	qevent *e = calloc(1, n);
	char *p;

	if (e == NULL)
		return NULL;
	p = (char *)(e + 1);
	put_str(&e->key, &p, key);
	put_str(&e->body, &p, body);
	if (name)
		put_str(&e->name, &p, name);
	e->op = op;
	e->bytes = strlen(body) + strlen(key) + strlen(customer);
	return e;
}

static void event_free(qevent *e)
{
	if (e) {
		free(e->last_msg);
		free(e);
	}
}

static void link_tail(flock_queue *q, qevent *e)
{
	e->prev = q->tail;
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->count++;
	q->bytes += e->bytes;
}

static void unlink_ev(flock_queue *q, qevent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		q->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		q->tail = e->prev;
	e->prev = e->next = NULL;
	q->count--;
	q->bytes -= e->bytes;
}

/* Remember that e's spool row must go. A failure only means resending. */
static void dels_push(flock_queue *q, int64_t seq)
{
	int64_t *grown;
	size_t cap;

	if (q->db == NULL)
		return;
	if (q->ndels == q->dels_cap) {
		cap = q->dels_cap ? q->dels_cap * 2 : 64;
		if ((grown = realloc(q->dels, cap * sizeof(*grown))) == NULL)
			return;
		q->dels = grown;
		q->dels_cap = cap;
	}
	q->dels[q->ndels++] = seq;
}

/* e has left the queue (it was unlinked): drop its row and free it. */
static void release(flock_queue *q, qevent *e)
{
	dels_push(q, e->seq);
	cust_unref(q, e->cust);
	event_free(e);
}

int flock__queue_resume_event(flock_queue *q, int64_t seq, int op,
                              const char *key, const char *customer,
                              const char *name, const char *body,
                              int64_t enq_wall)
{
	qevent *e = event_new(op, key, name, body, customer);

	if (e == NULL || (e->cust = cust_ref(q, customer)) == NULL) {
		event_free(e);
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	e->seq = seq;
	e->enq_wall = enq_wall;
	e->durable = 1;
	link_tail(q, e);
	q->resumed++;
	return 0;
}

/* --- reports -------------------------------------------------------------- */

typedef struct {
	int code, http_status;
	const char *server_code, *message, *request_id, *response;
} outcome_info;

static void copy_err(char *dst, size_t len, const char *src)
{
	if (src)
		snprintf(dst, len, "%s", src);
}

static void report(flock_queue *q, const qevent *e, int outcome,
                   const outcome_info *o)
{
	char msg[FLOCK__ERROR_MSG_MAX] = "", scode[FLOCK__ERROR_ID_MAX] = "",
	     rid[FLOCK__ERROR_ID_MAX] = "";
	const flock_queue *saved = tls_reporting;
	flock_queue_report r;
	int64_t age = flock__queue_wall(q) - e->enq_wall;

	if (q->report_cb == NULL)
		return;
	memset(&r, 0, sizeof(r));
	/* Copies: the callback may call libflock, which reuses the error. */
	copy_err(msg, sizeof(msg), o->message);
	copy_err(scode, sizeof(scode), o->server_code);
	copy_err(rid, sizeof(rid), o->request_id);
	r.outcome = (flock_queue_outcome)outcome;
	r.op = (flock_queue_op)e->op;
	r.idempotency_key = e->key;
	r.external_user_id = e->cust->name;
	r.checkpoint_name = e->name;
	r.request_json = e->body;
	r.response_json = o->response;
	r.code = o->code;
	r.http_status = o->http_status;
	r.message = msg[0] ? msg : NULL;
	r.server_code = scode[0] ? scode : NULL;
	r.request_id = rid[0] ? rid : NULL;
	r.attempts = e->attempts;
	r.age_ms = age > 0 ? age : 0;
	tls_reporting = q;
	q->report_cb(&r, q->report_ud);
	tls_reporting = saved;
}

/* Report an event that is given up without a fresh answer. */
static void report_plain(flock_queue *q, const qevent *e, int outcome,
                         int code)
{
	outcome_info o;

	memset(&o, 0, sizeof(o));
	o.code = code;
	if (outcome == FLOCK_QUEUE_EXPIRED && e->attempts > 0) {
		o.code = e->last_code;
		o.http_status = e->last_status;
		o.message = e->last_msg;
	}
	report(q, e, outcome, &o);
}

static void report_error(flock_queue *q, const qevent *e, int outcome, int rc)
{
	const flock_error *err = flock_error_last();
	outcome_info o;

	memset(&o, 0, sizeof(o));
	o.code = rc;
	if (err) {
		o.http_status = err->http_status;
		o.server_code = err->server_code;
		o.message = err->message;
		o.request_id = err->request_id;
	}
	report(q, e, outcome, &o);
}

/* --- enqueue -------------------------------------------------------------- */

static int check_key(const char *key)
{
	const char *p;

	if (key[0] == '\0' || strlen(key) > FLOCK__IDEMPOTENCY_KEY_MAX)
		return flock__error_set(FLOCK_EINVAL, "idempotency_key must be "
		                                      "1 to 255 characters");
	for (p = key; *p; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return flock__error_set(FLOCK_EINVAL,
			                        "idempotency_key must be "
			                        "printable ASCII without "
			                        "spaces");
	}
	return 0;
}

static int refuse(flock_queue *q, const char *why, size_t n, size_t bytes)
{
	q->refused++;
	return flock__error_set(FLOCK_EFULL, "queue full: %s (%zu events, %zu "
	                                     "bytes held)",
	                        why, n, bytes);
}

/* Can dropping old events not in flight make room for `bytes` more? */
static int room_by_dropping(const flock_queue *q, size_t bytes)
{
	size_t n = q->count, b = q->bytes;
	const qevent *x;

	for (x = q->head; x && (n + 1 > q->max_events ||
	                        b + bytes > q->max_bytes);
	     x = x->next) {
		if (x->durable && !x->inflight) {
			n--;
			b -= x->bytes;
		}
	}
	return n + 1 <= q->max_events && b + bytes <= q->max_bytes;
}

/* Drop the oldest events until e fits; they are chained on *drops. */
static void drop_oldest(flock_queue *q, size_t bytes, qevent **drops)
{
	qevent *x = q->head, *next;

	while (x && (q->count + 1 > q->max_events ||
	             q->bytes + bytes > q->max_bytes)) {
		next = x->next;
		if (x->durable && !x->inflight) {
			unlink_ev(q, x);
			dels_push(q, x->seq);
			x->wnext = *drops;
			*drops = x;
			q->dropped++;
		}
		x = next;
	}
}

/* Under lock: take e into the queue, or say why not. */
static int admit(flock_queue *q, qevent *e, const char *customer,
                 qevent **drops)
{
	if (q->stopping)
		return flock__error_set(FLOCK_EINVAL,
		                        "the queue is being freed");
	if (e->bytes > q->max_bytes)
		return refuse(q, "the event is larger than max_bytes",
		              q->count, q->bytes);
	if (q->count + 1 > q->max_events || q->bytes + e->bytes > q->max_bytes) {
		if (q->full_policy == FLOCK_QUEUE_FULL_REFUSE)
			return refuse(q, "at max_events or max_bytes",
			              q->count, q->bytes);
		if (!room_by_dropping(q, e->bytes))
			return refuse(q, "every event is in flight", q->count,
			              q->bytes);
	}
	if ((e->cust = cust_ref(q, customer)) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	drop_oldest(q, e->bytes, drops);
	e->seq = q->next_seq++;
	e->enq_wall = flock__queue_wall(q);
	e->due = 0;
	link_tail(q, e);
	if (q->db == NULL) {
		e->durable = 1;
		pthread_cond_signal(&q->work);
	} else {
		if (q->wlast)
			q->wlast->wnext = e;
		else
			q->wfirst = e;
		q->wlast = e;
	}
	return 0;
}

/* Report the dropped events, then let them go. */
static void finish_drops(flock_queue *q, qevent *drops)
{
	qevent *x, *next;

	for (x = drops; x; x = x->wnext)
		report_plain(q, x, FLOCK_QUEUE_DROPPED, FLOCK_EFULL);
	pthread_mutex_lock(&q->lock);
	for (x = drops; x; x = next) {
		next = x->wnext;
		cust_unref(q, x->cust);
		event_free(x);
	}
	pthread_mutex_unlock(&q->lock);
}

/*
 * With a spool: commit e (or see it committed by another enqueuer's or a
 * sender's transaction: group commit), then let the senders have it. e is
 * ours until it is durable, so reading it here is safe.
 */
static int make_durable(flock_queue *q, qevent *e)
{
	int rc = 0, failed;

	for (;;) {
		pthread_mutex_lock(&q->lock);
		if (e->written) {
			e->durable = 1;
			pthread_cond_signal(&q->work);
			pthread_mutex_unlock(&q->lock);
			return 0;
		}
		failed = e->write_failed;
		pthread_mutex_unlock(&q->lock);
		if (failed)
			break;
		flock__spool_sync(q);
	}
	pthread_mutex_lock(&q->lock);
	unlink_ev(q, e);
	cust_unref(q, e->cust);
	rc = flock__error_set(FLOCK_ESPOOL, "%s", q->spool_err);
	pthread_mutex_unlock(&q->lock);
	event_free(e);
	return rc;
}

static int enqueue(flock_queue *q, int op, const char *customer,
                   const char *name, const char *key, const json_t *body)
{
	char token[33], *text;
	qevent *e, *drops = NULL;
	int rc;

	if (key && (rc = check_key(key)) != 0)
		return rc;
	if (key == NULL) {
		if (flock__token_hex(token) != 0)
			return flock__error_set(FLOCK_ERROR, "no randomness for "
			                                     "an Idempotency-Key");
		key = token;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	e = event_new(op, key, name, text, customer);
	free(text);
	if (e == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	pthread_mutex_lock(&q->lock);
	rc = admit(q, e, customer, &drops);
	pthread_mutex_unlock(&q->lock);
	if (rc != 0) {
		event_free(e);
		return rc;
	}
	if (q->db)
		rc = make_durable(q, e);
	if (drops)
		finish_drops(q, drops);
	return rc;
}

static int check_queue(const flock_queue *q)
{
	if (q == NULL)
		return flock__error_set(FLOCK_EINVAL, "queue is NULL");
	if (q->forked)
		return flock__error_set(FLOCK_EFORKED,
		                        "this queue belongs to process %ld; "
		                        "create a new one in the child",
		                        (long)q->pid);
	return 0;
}

int flock_queue_ingest(flock_queue *queue, const char *checkpoint_name,
                       const flock_ingest_params *params)
{
	json_t *body = NULL;
	int rc;

	flock__error_clear();
	if ((rc = check_queue(queue)) != 0 ||
	    (rc = flock__ingest_body(&body, checkpoint_name, params)) != 0)
		return rc;
	rc = enqueue(queue, FLOCK_QUEUE_OP_INGEST, params->external_user_id,
	             checkpoint_name, params->idempotency_key, body);
	json_decref(body);
	return rc;
}

int flock_queue_identify(flock_queue *queue,
                         const flock_identify_params *params)
{
	json_t *body = NULL;
	int rc;

	flock__error_clear();
	if ((rc = check_queue(queue)) != 0 ||
	    (rc = flock__identify_body(&body, params)) != 0)
		return rc;
	rc = enqueue(queue, FLOCK_QUEUE_OP_IDENTIFY, params->external_user_id,
	             NULL, params->idempotency_key, body);
	json_decref(body);
	return rc;
}

int flock_queue_trigger(flock_queue *queue, const flock_trigger_params *params)
{
	json_t *body = NULL;
	int rc;

	flock__error_clear();
	if ((rc = check_queue(queue)) != 0 ||
	    (rc = flock__trigger_body(&body, params)) != 0)
		return rc;
	rc = enqueue(queue, FLOCK_QUEUE_OP_TRIGGER, params->external_user_id,
	             NULL, params->idempotency_key, body);
	json_decref(body);
	return rc;
}

/* --- the senders ---------------------------------------------------------- */

/* Keep the send slots of a batch to at most `keep`; the rest stay queued. */
static size_t trim_sends(slot *s, size_t n, size_t keep)
{
	size_t i, out = 0, sends = 0;

	for (i = 0; i < n; i++) {
		if (s[i].action == A_SEND && sends++ >= keep)
			continue;
		s[out++] = s[i];
	}
	return out;
}

/* Should the batch wait (flush_interval_ms) for more events? */
static long linger_ms(const flock_queue *q, const slot *s, size_t n,
                      size_t nsend)
{
	int64_t waited;
	size_t i;

	if (nsend == 0 || q->flush_interval_ms <= 0 || q->flushers ||
	    q->stopping || nsend >= q->batch_size)
		return 0;
	for (i = 0; i < n && s[i].action != A_SEND; i++)
		;
	waited = flock__queue_wall(q) - s[i].e->enq_wall;
	return waited >= q->flush_interval_ms
	               ? 0
	               : (long)(q->flush_interval_ms - waited);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * Under lock: take a batch (events to send, events to expire), marked in
 * flight. 0 when there is nothing to do; *wait_ms then says for how long
 * (-1: until woken).
 */
static size_t pick(flock_queue *q, slot *s, long *wait_ms)
{
	int64_t now = q_now(q), wall = flock__queue_wall(q);
	int64_t next = INT64_MAX, left;
	int paused = q->pause_until > now;
	size_t n = 0, nsend = 0, i;
	long linger;
	qevent *e;

	if (paused)
		next = q->pause_until - now;
	if (!paused || q->max_age_ms) {
		q->epoch++;
		for (e = q->head; e && n < q->batch_size; e = e->next) {
			if (e->cust->epoch == q->epoch)
				continue; /* not its customer's first */
			e->cust->epoch = q->epoch;
			if (e->inflight || !e->durable)
				continue;
			if (q->max_age_ms) {
				left = e->enq_wall + q->max_age_ms - wall;
				if (left <= 0) {
					s[n].e = e;
					s[n++].action = A_EXPIRE;
					continue;
				}
				next = min64(next, left);
			}
			if (paused)
				continue;
			if (e->due > now) {
				next = min64(next, e->due - now);
				continue;
			}
			s[n].e = e;
			s[n++].action = A_SEND;
			nsend++;
		}
	}
	if ((linger = linger_ms(q, s, n, nsend)) > 0) {
		next = min64(next, linger);
		n = trim_sends(s, n, 0);
		nsend = 0;
	}
	if (nsend > 1 && q->waiting > 0) {
		/* Share with the idle senders rather than send it all alone. */
		n = trim_sends(s, n, (nsend + q->waiting) / (q->waiting + 1));
		pthread_cond_signal(&q->work);
	}
	for (i = 0; i < n; i++) {
		s[i].e->inflight = 1;
		s[i].result = R_NONE;
		s[i].global = 0;
		s[i].retry_after = -1;
	}
	q->inflight += n;
	*wait_ms = next == INT64_MAX ? -1 : (long)min64(next, 86400000);
	return n;
}

static const char *op_path(int op)
{
	switch (op) {
	case FLOCK_QUEUE_OP_IDENTIFY:
		return "/customers/identify";
	case FLOCK_QUEUE_OP_TRIGGER:
		return "/rewards/trigger";
	default:
		return "/checkpoints/ingest";
	}
}

/* A 2xx is only a success if it is what the API answers for that call. */
static int reply_check(int op, const flock__reply *reply)
{
	const json_t *j = reply->json;

	if (op == FLOCK_QUEUE_OP_TRIGGER ? json_is_array(j)
	                                 : json_is_string(json_object_get(
	                                           j, "id")))
		return 0;
	return flock__reply_bad(reply, "POST %s: HTTP %d with a body that is "
	                               "not the call's answer",
	                        op_path(op), reply->http_status);
}

/* Is the server as a whole unreachable or overloaded? */
static int whole_queue_waits(int rc, int status)
{
	if (status == 0)
		return rc == FLOCK_ETIMEOUT || rc == FLOCK_ENETWORK;
	return status == 429 || status == 502 || status == 503 ||
	       status == 504;
}

/* Remember the failure on the event (its owner, the sender, writes it). */
static void note_failure(qevent *e, int rc)
{
	const flock_error *err = flock_error_last();

	e->last_code = rc;
	e->last_status = err ? err->http_status : 0;
	free(e->last_msg);
	e->last_msg = err ? strdup(err->message) : NULL;
}

/* One attempt for one event; permanent outcomes are reported here. */
static void send_one(flock_queue *q, slot *s)
{
	qevent *e = s->e;
	flock__call call = {"POST", op_path(e->op), NULL, e->key, NULL, 0, 0};
	flock__call_ctl ctl = {0, 0, -1};
	flock__reply reply = FLOCK__REPLY_INIT;
	json_t *body = json_loads(e->body, 0, NULL);
	outcome_info o;
	int rc, status;

	flock__error_clear();
	call.body = body;
	e->attempts++;
	rc = body ? flock__request_ctl(q->client, &call, &reply, &ctl)
	          : flock__error_set(FLOCK_ENOMEM, "out of memory");
	if (rc == 0 && (rc = reply_check(e->op, &reply)) == 0) {
		memset(&o, 0, sizeof(o));
		o.http_status = reply.http_status;
		o.request_id = reply.request_id;
		o.response = reply.raw;
		report(q, e, FLOCK_QUEUE_SENT, &o);
		s->result = R_SENT;
		goto done;
	}
	status = flock_error_last() ? flock_error_last()->http_status : 0;
	if (rc != FLOCK_EBADRESPONSE && !ctl.retryable && status >= 400 &&
	    status <= 499) {
		flock__log(q->client, FLOCK_LOG_WARN,
		           "queue: POST %s refused for good (HTTP %d): "
		           "reported, not retried",
		           op_path(e->op), status);
		report_error(q, e, FLOCK_QUEUE_FAILED, rc);
		s->result = R_FAILED;
		goto done;
	}
	note_failure(e, rc);
	s->result = R_RETRY;
	s->global = whole_queue_waits(rc, status);
	s->retry_after = ctl.retry_after_ms;
done:
	flock__reply_free(&reply);
	json_decref(body);
}

/* Under lock: the whole queue waits (once per outage, not per sender). */
static void pause_queue(flock_queue *q, long retry_after)
{
	int64_t now = q_now(q);
	long d;

	if (q->pause_until > now && retry_after < 0)
		return;
	d = retry_after >= 0 ? retry_after : backoff(q, q->gfail++);
	if (d > RETRY_AFTER_MAX_MS)
		d = RETRY_AFTER_MAX_MS;
	if (now + d > q->pause_until)
		q->pause_until = now + d;
	flock__log(q->client, FLOCK_LOG_INFO,
	           "queue: server unreachable or busy, pausing %ld ms", d);
}

static int stop_requested(flock_queue *q)
{
	return __atomic_load_n(&q->stop_now, __ATOMIC_ACQUIRE);
}

static void process(flock_queue *q, slot *s, size_t n)
{
	int halt = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i].action == A_EXPIRE) {
			report_plain(q, s[i].e, FLOCK_QUEUE_EXPIRED,
			             FLOCK_ETIMEOUT);
			s[i].result = R_EXPIRED;
			continue;
		}
		if (halt || stop_requested(q))
			continue; /* R_NONE: back in the queue, untouched */
		send_one(q, &s[i]);
		if (s[i].result == R_RETRY && s[i].global) {
			pthread_mutex_lock(&q->lock);
			pause_queue(q, s[i].retry_after);
			pthread_mutex_unlock(&q->lock);
			halt = 1;
		}
	}
}

/* Under lock: account for a processed batch. */
static void finish(flock_queue *q, slot *s, size_t n)
{
	int64_t now = q_now(q);
	long d;
	size_t i;

	for (i = 0; i < n; i++) {
		qevent *e = s[i].e;

		e->inflight = 0;
		q->inflight--;
		switch (s[i].result) {
		case R_SENT:
			q->sent++;
			q->gfail = 0;
			break;
		case R_FAILED:
			q->failed++;
			break;
		case R_EXPIRED:
			q->expired++;
			break;
		case R_RETRY:
			q->retries++;
			if (!s[i].global) {
				d = s[i].retry_after >= 0
				            ? s[i].retry_after
				            : backoff(q, e->attempts - 1);
				if (d > RETRY_AFTER_MAX_MS)
					d = RETRY_AFTER_MAX_MS;
				e->due = now + d;
			}
			continue;
		default:
			continue;
		}
		unlink_ev(q, e);
		release(q, e);
	}
}

static void *sender_main(void *arg)
{
	sender *sd = arg;
	flock_queue *q = sd->q;
	long wait_ms;
	size_t n;

	pthread_mutex_lock(&q->lock);
	while (!q->stop_now) {
		n = pick(q, sd->slots, &wait_ms);
		if (n == 0) {
			q->waiting++;
			timed_wait(q, &q->work, wait_ms);
			q->waiting--;
			continue;
		}
		pthread_mutex_unlock(&q->lock);
		process(q, sd->slots, n);
		pthread_mutex_lock(&q->lock);
		finish(q, sd->slots, n);
		if (q->ndels) {
			pthread_mutex_unlock(&q->lock);
			flock__spool_sync(q);
			pthread_mutex_lock(&q->lock);
		}
		pthread_cond_broadcast(&q->idle);
		if (q->waiting)
			pthread_cond_broadcast(&q->work);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* --- flush, stats ---------------------------------------------------------- */

/* Under lock: wait until nothing up to seq `upto` is held. */
static int wait_flushed(flock_queue *q, int64_t upto, long timeout_ms)
{
	int64_t deadline = flock__mono_ms() + timeout_ms, left;
	int rc = 0;

	q->flushers++;
	pthread_cond_broadcast(&q->work); /* lingering senders: send now */
	while ((q->head && q->head->seq <= upto) || q->ndels) {
		left = deadline - flock__mono_ms();
		if (timeout_ms == 0 || (timeout_ms > 0 && left <= 0)) {
			rc = flock__error_set(FLOCK_ETIMEOUT,
			                      "%zu events still queued",
			                      q->count);
			break;
		}
		timed_wait(q, &q->idle, timeout_ms < 0 ? -1 : (long)left);
	}
	q->flushers--;
	return rc;
}

int flock_queue_flush(flock_queue *queue, long timeout_ms)
{
	int rc;

	flock__error_clear();
	if ((rc = check_queue(queue)) != 0)
		return rc;
	if (tls_reporting != NULL)
		return flock__error_set(FLOCK_EINVAL, "flock_queue_flush() "
		                                      "called from a report "
		                                      "callback");
	pthread_mutex_lock(&queue->lock);
	rc = wait_flushed(queue, queue->next_seq - 1, timeout_ms);
	pthread_mutex_unlock(&queue->lock);
	return rc;
}

int flock_queue_stats_get(flock_queue_stats *out, flock_queue *queue)
{
	int64_t now, wall;
	int rc;

	flock__error_clear();
	if (out == NULL)
		return flock__error_set(FLOCK_EINVAL, "out is NULL");
	if (out->version != FLOCK_QUEUE_STATS_VERSION)
		return flock__error_set(FLOCK_EINVAL,
		                        "unknown stats version %u", out->version);
	if ((rc = check_queue(queue)) != 0)
		return rc;
	pthread_mutex_lock(&queue->lock);
	now = q_now(queue);
	wall = flock__queue_wall(queue);
	out->queued = queue->count - queue->inflight;
	out->in_flight = queue->inflight;
	out->bytes = queue->bytes;
	out->sent = queue->sent;
	out->failed = queue->failed;
	out->expired = queue->expired;
	out->dropped = queue->dropped;
	out->refused = queue->refused;
	out->retries = queue->retries;
	out->resumed = queue->resumed;
	out->oldest_age_ms = queue->head && wall > queue->head->enq_wall
	                             ? wall - queue->head->enq_wall
	                             : 0;
	out->paused_ms =
	        queue->pause_until > now ? queue->pause_until - now : 0;
	pthread_mutex_unlock(&queue->lock);
	return 0;
}

/* --- fork awareness -------------------------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static flock_queue *reg_head;

/* Hold every queue's locks across fork(), so the child's copy is whole. */
static void atfork_prepare(void)
{
	flock_queue *q;

	pthread_mutex_lock(&reg_lock);
	for (q = reg_head; q; q = q->reg_next) {
		pthread_mutex_lock(&q->spool_lock);
		pthread_mutex_lock(&q->lock);
	}
}

static void atfork_parent(void)
{
	flock_queue *q;

	for (q = reg_head; q; q = q->reg_next) {
		pthread_mutex_unlock(&q->lock);
		pthread_mutex_unlock(&q->spool_lock);
	}
	pthread_mutex_unlock(&reg_lock);
}

static void atfork_child(void)
{
	flock_queue *q;

	for (q = reg_head; q; q = q->reg_next) {
		q->forked = 1;
		pthread_mutex_unlock(&q->lock);
		pthread_mutex_unlock(&q->spool_lock);
	}
	pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void reg_add(flock_queue *q)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg_lock);
	q->reg_next = reg_head;
	reg_head = q;
	pthread_mutex_unlock(&reg_lock);
}

static void reg_remove(flock_queue *q)
{
	flock_queue **p;

	pthread_mutex_lock(&reg_lock);
	for (p = &reg_head; *p; p = &(*p)->reg_next) {
		if (*p == q) {
			*p = q->reg_next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* --- life cycle ------------------------------------------------------------ */

int flock_queue_options_init(flock_queue_options *opts, unsigned int version)
{
	flock_queue_options init = FLOCK_QUEUE_OPTIONS_INIT;

	if (opts == NULL)
		return flock__error_set(FLOCK_EINVAL, "opts is NULL");
	if (version != FLOCK_QUEUE_OPTIONS_VERSION)
		return flock__error_set(FLOCK_EINVAL,
		                        "unknown options version %u", version);
	*opts = init;
	return 0;
}

static int check_options(const flock_queue_options *o)
{
	if (o->version != FLOCK_QUEUE_OPTIONS_VERSION)
		return flock__error_set(
		        FLOCK_EINVAL, "unknown options version %u", o->version);
	if (o->spool_path && o->spool_path[0] == '\0')
		return flock__error_set(FLOCK_EINVAL, "spool_path is empty");
	if ((unsigned int)o->full_policy > FLOCK_QUEUE_FULL_DROP_OLDEST)
		return flock__error_set(FLOCK_EINVAL, "unknown full_policy");
	if ((unsigned int)o->sync > FLOCK_QUEUE_SYNC_NORMAL)
		return flock__error_set(FLOCK_EINVAL, "unknown sync");
	if (o->sender_threads > MAX_THREADS || o->batch_size > MAX_BATCH)
		return flock__error_set(FLOCK_EINVAL,
		                        "sender_threads above %d or batch_size "
		                        "above %d",
		                        MAX_THREADS, MAX_BATCH);
	if (o->flush_interval_ms < 0 || o->max_age_ms < 0 ||
	    o->backoff_base_ms < 0 || o->backoff_max_ms < 0)
		return flock__error_set(FLOCK_EINVAL,
		                        "negative interval, age or delay");
	return 0;
}

static void copy_options(flock_queue *q, const flock_queue_options *o)
{
	q->max_events = o->max_events ? o->max_events : DEFAULT_MAX_EVENTS;
	q->max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
	q->full_policy = o->full_policy;
	q->sync = o->sync;
	q->nthreads = o->sender_threads ? o->sender_threads : DEFAULT_THREADS;
	q->batch_size = o->batch_size ? o->batch_size : DEFAULT_BATCH;
	q->flush_interval_ms = o->flush_interval_ms;
	q->max_age_ms = o->max_age_ms;
	q->backoff_base_ms = o->backoff_base_ms ? o->backoff_base_ms
	                                        : DEFAULT_BACKOFF_BASE_MS;
	q->backoff_max_ms =
	        o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
	if (q->backoff_max_ms < q->backoff_base_ms)
		q->backoff_max_ms = q->backoff_base_ms;
	q->report_cb = o->report_cb;
	q->report_ud = o->report_userdata;
	q->clock_cb = o->clock_cb;
	q->clock_ud = o->clock_userdata;
}

static int init_sync(flock_queue *q)
{
	pthread_condattr_t ca;
	int rc = 0;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		rc = -1;
	else if (pthread_mutex_init(&q->spool_lock, NULL) != 0) {
		pthread_mutex_destroy(&q->lock);
		rc = -1;
	} else if (pthread_cond_init(&q->work, &ca) != 0) {
		pthread_mutex_destroy(&q->spool_lock);
		pthread_mutex_destroy(&q->lock);
		rc = -1;
	} else if (pthread_cond_init(&q->idle, &ca) != 0) {
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->spool_lock);
		pthread_mutex_destroy(&q->lock);
		rc = -1;
	}
	pthread_condattr_destroy(&ca);
	return rc;
}

/* Free the memory of a queue whose threads are gone (or never were). */
static void free_memory(flock_queue *q)
{
	qevent *e, *next;
	qcust *c, *cn;
	size_t i;

	for (e = q->head; e; e = next) {
		next = e->next;
		event_free(e);
	}
	for (i = 0; q->cust && i < q->cust_size; i++) {
		for (c = q->cust[i]; c; c = cn) {
			cn = c->hnext;
			free(c);
		}
	}
	if (q->threads) {
		sender *sd = (sender *)(q->threads + q->nthreads);

		for (i = 0; i < q->nthreads; i++)
			free(sd[i].slots);
	}
	free(q->cust);
	free(q->dels);
	free(q->threads);
	free(q->spool_path);
	free(q);
}

static void destroy(flock_queue *q)
{
	pthread_cond_destroy(&q->idle);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->spool_lock);
	pthread_mutex_destroy(&q->lock);
	free_memory(q);
}

/* Stop and join the senders started so far. */
static void stop_senders(flock_queue *q)
{
	unsigned int i;

	pthread_mutex_lock(&q->lock);
	__atomic_store_n(&q->stop_now, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->started; i++)
		pthread_join(q->threads[i], NULL);
	q->started = 0;
}

/*
 * Start the senders with every signal blocked, so that the program's
 * handlers run on its own threads (and SIGPIPE never reaches ours).
 */
static int start_senders(flock_queue *q)
{
	sender *sd = (sender *)(q->threads + q->nthreads);
	pthread_attr_t attr;
	sigset_t all, old;
	unsigned int i;
	int rc = 0;

	for (i = 0; i < q->nthreads; i++) {
		sd[i].q = q;
		sd[i].slots = calloc(q->batch_size, sizeof(slot));
		if (sd[i].slots == NULL)
			return flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	if (pthread_attr_init(&attr) != 0)
		return flock__error_set(FLOCK_ERROR, "pthread_attr_init failed");
	pthread_attr_setstacksize(&attr, SENDER_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < q->nthreads && rc == 0; i++) {
		if (pthread_create(&q->threads[i], &attr, sender_main, &sd[i]) !=
		    0)
			rc = flock__error_set(FLOCK_ERROR,
			                      "cannot start a sender thread");
		else
			q->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

static int queue_alloc(flock_queue **out, flock_client *client,
                       const flock_queue_options *o)
{
	flock_queue *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (q == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	q->client = client;
	copy_options(q, o);
	q->pid = getpid();
	q->next_seq = 1;
	if (flock__random_bytes(&q->rng, sizeof(q->rng)) != 0 || q->rng == 0)
		q->rng = (uint64_t)flock__now_ms() | 1;
	q->cust_size = CUST_INITIAL;
	q->cust = calloc(q->cust_size, sizeof(*q->cust));
	/* The pthread_t array, then the senders' contexts, in one block. */
	q->threads = calloc(q->nthreads, sizeof(pthread_t) + sizeof(sender));
	if (o->spool_path)
		q->spool_path = strdup(o->spool_path);
	if (q->cust == NULL || q->threads == NULL ||
	    (o->spool_path && q->spool_path == NULL)) {
		free_memory(q);
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	if (init_sync(q) != 0) {
		free_memory(q);
		return flock__error_set(FLOCK_ERROR, "cannot create a mutex");
	}
	*out = q;
	return 0;
}

int flock_queue_new(flock_queue **out, flock_client *client,
                    const flock_queue_options *opts)
{
	flock_queue_options defaults = FLOCK_QUEUE_OPTIONS_INIT;
	flock_queue *q;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL)
		return flock__error_set(FLOCK_EINVAL, "out or client is NULL");
	if (opts == NULL)
		opts = &defaults;
	if ((rc = check_options(opts)) != 0 ||
	    (rc = queue_alloc(&q, client, opts)) != 0)
		return rc;
	if (q->spool_path && (rc = flock__spool_open(q)) != 0) {
		destroy(q);
		return rc;
	}
	if (q->resumed)
		flock__log(client, FLOCK_LOG_INFO,
		           "queue: %llu events resumed from %s", q->resumed,
		           q->spool_path);
	reg_add(q);
	if ((rc = start_senders(q)) != 0) {
		stop_senders(q);
		reg_remove(q);
		flock__spool_close(q);
		destroy(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* What is left when the senders are gone: the spool keeps it, or lost. */
static size_t leave_rest(flock_queue *q)
{
	size_t left = q->count;
	qevent *e;

	if (q->db == NULL) {
		for (e = q->head; e; e = e->next)
			report_plain(q, e, FLOCK_QUEUE_UNSENT,
			             e->attempts ? e->last_code : FLOCK_ETIMEOUT);
	}
	return left;
}

int flock_queue_free(flock_queue *queue, long timeout_ms)
{
	size_t left;
	int rc = 0, spooled;

	if (queue == NULL)
		return 0;
	flock__error_clear();
	if (queue->forked) {
		/* The child's copy: memory only; the spool is the parent's. */
		reg_remove(queue);
		flock__spool_abandon(queue);
		free_memory(queue);
		return 0;
	}
	pthread_mutex_lock(&queue->lock);
	queue->stopping = 1;
	wait_flushed(queue, INT64_MAX, timeout_ms);
	pthread_mutex_unlock(&queue->lock);
	stop_senders(queue);
	reg_remove(queue);
	if (queue->db && (queue->ndels || queue->wfirst))
		rc = flock__spool_sync(queue);
	left = leave_rest(queue);
	spooled = queue->db != NULL;
	flock__spool_close(queue);
	destroy(queue);
	if (rc == 0 && left)
		rc = flock__error_set(FLOCK_ETIMEOUT, "%zu events %s", left,
		                      spooled ? "kept in the spool"
		                              : "lost (no spool)");
	return rc;
}
