/*
 * What the queue tests share: a fake Flock behind the public transport
 * interface (it records every request and answers as the test says, from
 * any sender thread), a test clock the tests move instead of sleeping, and
 * a report callback that records every outcome. Header-only, so each test
 * program stays one file.
 */
#ifndef FLOCK_TEST_QUEUE_FAKE_H
#define FLOCK_TEST_QUEUE_FAKE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <flock.h>
#include <jansson.h>

#include "support.h"

#define QF_MAX 2048

/* How the fake answers request number n (from 0). */
typedef enum {
	QF_OK = 0,        /* 201 with the call's answer */
	QF_DOWN,          /* no answer: FLOCK_ENETWORK */
	QF_500,           /* 500 */
	QF_503_AFTER,     /* 503 with Retry-After: qf.retry_after */
	QF_429_AFTER,     /* 429 with Retry-After: qf.retry_after */
	QF_400,           /* 400 missing_field */
	QF_401            /* 401 */
} qf_answer;

typedef struct {
	char path[64];
	char key[260];
	char *body;
	char customer[64];
	long long t; /* test clock at the request */
	int answer;
} qf_req;

typedef qf_answer (*qf_decide)(size_t n, const qf_req *r, void *ud);

typedef struct {
	pthread_mutex_t mu;
	qf_decide decide;
	void *ud;
	qf_answer fixed; /* when decide is NULL */
	const char *retry_after;
	size_t n;
	qf_req req[QF_MAX];
	/* Reports. */
	size_t nrep;
	struct {
		int outcome, code, http_status, attempts, op;
		long long age_ms;
		char key[260];
		char customer[64];
		char server_code[64];
		int has_response;
	} rep[QF_MAX];
	/* In flight per customer, to catch two at once. */
	int overlap;
} qf_state;

static qf_state qf = {.mu = PTHREAD_MUTEX_INITIALIZER};
static long long qf_clock;
static pthread_mutex_t qf_clock_mu = PTHREAD_MUTEX_INITIALIZER;

static inline long long qf_now(void *ud)
{
	long long t;

	(void)ud;
	pthread_mutex_lock(&qf_clock_mu);
	t = qf_clock;
	pthread_mutex_unlock(&qf_clock_mu);
	return t;
}

static inline void qf_advance(long long ms)
{
	pthread_mutex_lock(&qf_clock_mu);
	qf_clock += ms;
	pthread_mutex_unlock(&qf_clock_mu);
}

static inline void qf_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static inline void qf_reset(void)
{
	size_t i;

	pthread_mutex_lock(&qf.mu);
	for (i = 0; i < qf.n; i++)
		free(qf.req[i].body);
	qf.n = 0;
	qf.nrep = 0;
	qf.decide = NULL;
	qf.ud = NULL;
	qf.fixed = QF_OK;
	qf.retry_after = "1";
	qf.overlap = 0;
	pthread_mutex_unlock(&qf.mu);
	pthread_mutex_lock(&qf_clock_mu);
	qf_clock = 1000000;
	pthread_mutex_unlock(&qf_clock_mu);
}

static inline const char *qf_header(const flock_http_request *req,
                                    const char *name)
{
	size_t i;

	for (i = 0; i < req->header_count; i++) {
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	}
	return NULL;
}

static inline void qf_set_answer(qf_answer a)
{
	pthread_mutex_lock(&qf.mu);
	qf.fixed = a;
	pthread_mutex_unlock(&qf.mu);
}

static inline int qf_respond(qf_answer a, const qf_req *r,
                             flock_http_response *resp)
{
	static const char ingest[] = "{\"id\":\"evt_1\",\"matched\":false}";
	static const char trigger[] = "[{\"id\":\"rwd_1\"}]";
	static const char bad[] =
	        "{\"statusCode\":400,\"message\":\"externalUserId is "
	        "required\",\"code\":\"missing_field\"}";
	const char *body = strstr(r->path, "/rewards/") ? trigger : ingest;

	switch (a) {
	case QF_DOWN:
		return FLOCK_ENETWORK;
	case QF_500:
		flock_http_response_set_status(resp, 500);
		return 0;
	case QF_503_AFTER:
	case QF_429_AFTER:
		flock_http_response_set_status(resp,
		                               a == QF_503_AFTER ? 503 : 429);
		return flock_http_response_set_header(resp, "Retry-After",
		                                      qf.retry_after);
	case QF_400:
		flock_http_response_set_status(resp, 400);
		return flock_http_response_append_body(resp, bad, strlen(bad));
	case QF_401:
		flock_http_response_set_status(resp, 401);
		return 0;
	default:
		flock_http_response_set_status(resp, 201);
		flock_http_response_set_header(resp, "X-Request-Id", "req_q");
		return flock_http_response_append_body(resp, body,
		                                       strlen(body));
	}
}

static inline int qf_send(void *ud, const flock_http_request *req,
                          flock_http_response *resp)
{
	const char *path = strstr(req->url, "://");
	const char *key = qf_header(req, "Idempotency-Key");
	json_t *j = json_loadb(req->body, req->body_len, 0, NULL);
	const char *cust = json_string_value(json_object_get(j, "externalUserId"));
	qf_req r, *slot = NULL;
	qf_answer a;

	(void)ud;
	memset(&r, 0, sizeof(r));
	path = path ? strchr(path + 3, '/') : req->url;
	snprintf(r.path, sizeof(r.path), "%s", path ? path : "");
	snprintf(r.key, sizeof(r.key), "%s", key ? key : "");
	snprintf(r.customer, sizeof(r.customer), "%s", cust ? cust : "");
	r.t = qf_now(NULL);
	r.body = strndup(req->body ? req->body : "", req->body_len);
	json_decref(j);
	pthread_mutex_lock(&qf.mu);
	a = qf.decide ? qf.decide(qf.n, &r, qf.ud) : qf.fixed;
	r.answer = a;
	if (qf.n < QF_MAX) {
		slot = &qf.req[qf.n++];
		*slot = r;
		r.body = NULL;
	}
	pthread_mutex_unlock(&qf.mu);
	free(r.body);
	return qf_respond(a, &r, resp);
}

static inline void qf_report(const flock_queue_report *rep, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&qf.mu);
	if (qf.nrep < QF_MAX) {
		qf.rep[qf.nrep].outcome = rep->outcome;
		qf.rep[qf.nrep].code = rep->code;
		qf.rep[qf.nrep].http_status = rep->http_status;
		qf.rep[qf.nrep].attempts = rep->attempts;
		qf.rep[qf.nrep].op = rep->op;
		qf.rep[qf.nrep].age_ms = rep->age_ms;
		qf.rep[qf.nrep].has_response = rep->response_json != NULL;
		snprintf(qf.rep[qf.nrep].key, sizeof(qf.rep[0].key), "%s",
		         rep->idempotency_key);
		snprintf(qf.rep[qf.nrep].customer, sizeof(qf.rep[0].customer),
		         "%s", rep->external_user_id);
		snprintf(qf.rep[qf.nrep].server_code,
		         sizeof(qf.rep[0].server_code), "%s",
		         rep->server_code ? rep->server_code : "");
		qf.nrep++;
	}
	pthread_mutex_unlock(&qf.mu);
}

static inline size_t qf_count(void)
{
	size_t n;

	pthread_mutex_lock(&qf.mu);
	n = qf.n;
	pthread_mutex_unlock(&qf.mu);
	return n;
}

static inline size_t qf_reports(void)
{
	size_t n;

	pthread_mutex_lock(&qf.mu);
	n = qf.nrep;
	pthread_mutex_unlock(&qf.mu);
	return n;
}

/* Wait (real time, bounded) until the fake has seen n requests. */
static inline int qf_wait_requests(size_t n)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (qf_count() >= n)
			return 0;
		qf_sleep_ms(5);
	}
	return -1;
}

/* Wait until the queue's stats satisfy pred (bounded: 10 s). */
typedef int (*qf_pred)(const flock_queue_stats *st, void *ud);

static inline int qf_wait_stats(flock_queue *q, qf_pred pred, void *ud)
{
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	int i;

	for (i = 0; i < 2000; i++) {
		if (flock_queue_stats_get(&st, q) == 0 && pred(&st, ud))
			return 0;
		qf_sleep_ms(5);
	}
	return -1;
}

/* Attempts that failed are all back in the queue (none in flight). */
static inline int qf_retries_settled(const flock_queue_stats *st, void *ud)
{
	return st->retries >= *(const unsigned long long *)ud &&
	       st->in_flight == 0;
}

/* Move the test clock in steps until the queue is flushed (bounded). */
static inline int qf_drive(flock_queue *q, long long step_ms, int max_steps)
{
	int i;

	for (i = 0; i < max_steps; i++) {
		if (flock_queue_flush(q, 5) == 0)
			return 0;
		qf_advance(step_ms);
	}
	return flock_queue_flush(q, 1000);
}

static inline flock_client *qf_client(void)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_transport t = {FLOCK_TRANSPORT_VERSION, NULL, qf_send, NULL};
	flock_client *c = NULL;

	o.access_key = "sk_test_key";
	o.base_url = "http://flock.test";
	o.transport = &t;
	o.max_retries = 0;
	if (flock_client_new(&c, &o) != 0)
		return NULL;
	return c;
}

/* Options on the fake: test clock, reports recorded. */
static inline flock_queue_options qf_options(void)
{
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;

	o.report_cb = qf_report;
	o.clock_cb = qf_now;
	o.backoff_base_ms = 100;
	o.backoff_max_ms = 800;
	return o;
}

static inline int qf_ingest(flock_queue *q, const char *customer, int n,
                            const char *key)
{
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	char props[32];

	snprintf(props, sizeof(props), "{\"n\":%d}", n);
	p.external_user_id = customer;
	p.environment = "production";
	p.properties_json = props;
	p.idempotency_key = key;
	return flock_queue_ingest(q, "purchase_completed", &p);
}

/* The "n" property of a recorded request's body, or -1. */
static inline int qf_body_n(const qf_req *r)
{
	json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
	json_t *n = json_object_get(json_object_get(j, "properties"), "n");
	int v = json_is_integer(n) ? (int)json_integer_value(n) : -1;

	json_decref(j);
	return v;
}

#endif
