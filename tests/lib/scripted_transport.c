#include "support.h"
#include "scripted_transport.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_QUEUE 64
#define MAX_HEADERS 8
#define MAX_RECORDS 64
#define MAX_SLEEPS 64

typedef struct {
	int fault;
	int status;
	char *body;
	char *headers[MAX_HEADERS][2];
} canned;

struct scripted {
	pthread_mutex_t lock;
	canned queue[MAX_QUEUE];
	size_t head, tail;
	st_request records[MAX_RECORDS];
	size_t record_count;
	long sleeps[MAX_SLEEPS];
	size_t sleep_count;
	st_handler handler;
	void *handler_ud;
};

static char *dup_or_null(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s)
		assert_non_null(d);
	return d;
}

scripted *st_new(void)
{
	scripted *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	pthread_mutex_init(&st->lock, NULL);
	return st;
}

static void free_canned(canned *c)
{
	size_t i;

	free(c->body);
	for (i = 0; i < MAX_HEADERS; i++) {
		free(c->headers[i][0]);
		free(c->headers[i][1]);
	}
	memset(c, 0, sizeof(*c));
}

static void free_record(st_request *r)
{
	size_t i;

	free(r->method);
	free(r->url);
	free(r->body);
	for (i = 0; i < r->header_count; i++) {
		free((char *)r->headers[i].name);
		free((char *)r->headers[i].value);
	}
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

void st_free(scripted *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < MAX_QUEUE; i++)
		free_canned(&st->queue[i]);
	for (i = 0; i < st->record_count; i++)
		free_record(&st->records[i]);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void st_push(scripted *st, int status, const char *body, ...)
{
	canned *c;
	va_list ap;
	const char *name;
	size_t n = 0;

	assert_true(st->tail < MAX_QUEUE);
	c = &st->queue[st->tail++];
	c->status = status;
	c->body = dup_or_null(body);
	va_start(ap, body);
	while ((name = va_arg(ap, const char *)) != NULL) {
		assert_true(n < MAX_HEADERS);
		c->headers[n][0] = dup_or_null(name);
		c->headers[n][1] = dup_or_null(va_arg(ap, const char *));
		n++;
	}
	va_end(ap);
}

void st_push_fault(scripted *st, int code)
{
	assert_true(st->tail < MAX_QUEUE);
	st->queue[st->tail++].fault = code;
}

void st_set_handler(scripted *st, st_handler fn, void *userdata)
{
	st->handler = fn;
	st->handler_ud = userdata;
}

static void record(scripted *st, const flock_http_request *req)
{
	st_request *r;
	size_t i;

	assert_true(st->record_count < MAX_RECORDS);
	r = &st->records[st->record_count++];
	r->method = dup_or_null(req->method);
	r->url = dup_or_null(req->url);
	if (req->body) {
		r->body = calloc(1, req->body_len + 1);
		assert_non_null(r->body);
		memcpy(r->body, req->body, req->body_len);
	}
	r->body_len = req->body_len;
	r->headers = calloc(req->header_count + 1, sizeof(*r->headers));
	assert_non_null(r->headers);
	for (i = 0; i < req->header_count; i++) {
		r->headers[i].name = dup_or_null(req->headers[i].name);
		r->headers[i].value = dup_or_null(req->headers[i].value);
	}
	r->header_count = req->header_count;
	r->timeout_ms = req->timeout_ms;
	r->connect_timeout_ms = req->connect_timeout_ms;
}

static int answer(const canned *c, flock_http_response *resp)
{
	size_t i;

	if (c->fault)
		return c->fault;
	flock_http_response_set_status(resp, c->status);
	if (c->body)
		assert_int_equal(flock_http_response_append_body(
		                         resp, c->body, strlen(c->body)),
		                 0);
	for (i = 0; i < MAX_HEADERS && c->headers[i][0]; i++)
		assert_int_equal(
		        flock_http_response_set_header(resp, c->headers[i][0],
		                                       c->headers[i][1]),
		        0);
	return 0;
}

static int st_send(void *userdata, const flock_http_request *req,
                   flock_http_response *resp)
{
	scripted *st = userdata;
	canned c;
	int rc;

	if (st->handler)
		return st->handler(req, resp, st->handler_ud);
	pthread_mutex_lock(&st->lock);
	record(st, req);
	if (st->head == st->tail) {
		pthread_mutex_unlock(&st->lock);
		fail_msg("scripted transport: no response queued for %s %s",
		         req->method, req->url);
		return FLOCK_ENETWORK;
	}
	c = st->queue[st->head++];
	pthread_mutex_unlock(&st->lock);
	rc = answer(&c, resp);
	return rc;
}

flock_transport st_transport(scripted *st)
{
	flock_transport t = {FLOCK_TRANSPORT_VERSION, st, st_send, NULL};
	return t;
}

size_t st_count(scripted *st)
{
	return st->record_count;
}

const st_request *st_req(scripted *st, size_t i)
{
	assert_true(i < st->record_count);
	return &st->records[i];
}

const char *st_header(const st_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->header_count; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

json_t *st_json(const st_request *r)
{
	json_error_t err;
	json_t *j;

	assert_non_null(r->body);
	j = json_loadb(r->body, r->body_len, 0, &err);
	if (j == NULL)
		fail_msg("request body is not JSON: %s (%s)", err.text,
		         r->body);
	return j;
}

static void record_sleep(long ms, void *userdata)
{
	scripted *st = userdata;

	pthread_mutex_lock(&st->lock);
	if (st->sleep_count < MAX_SLEEPS)
		st->sleeps[st->sleep_count++] = ms;
	pthread_mutex_unlock(&st->lock);
}

flock_client *st_client(scripted *st, int max_retries)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_transport t = st_transport(st);
	flock_client *c = NULL;

	o.access_key = "sk_test_key";
	o.base_url = "http://flock.test";
	o.transport = &t;
	o.max_retries = max_retries;
	o.sleep_cb = record_sleep;
	o.sleep_userdata = st;
	assert_int_equal(flock_client_new(&c, &o), 0);
	return c;
}

size_t st_sleep_count(scripted *st)
{
	return st->sleep_count;
}

long st_sleep(scripted *st, size_t i)
{
	assert_true(i < st->sleep_count);
	return st->sleeps[i];
}
