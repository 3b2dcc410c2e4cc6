/*
 * One client shared by 8 threads, 200 calls each: every call gets its own
 * result and every thread its own error detail, with retries interleaved.
 * The network is the scripted transport in handler mode, answering from
 * the request itself.
 */
#include "support.h"
#include "scripted_transport.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define CALLS 200

typedef struct {
	pthread_mutex_t lock;
	char seen[THREADS * CALLS][33]; /* keys that already got their 503 */
	size_t seen_count;
	long requests;
} server_state;

typedef struct {
	flock_client *client;
	int index;
	int failures; /* assertion failures, counted: cmocka is not thread-safe
	               */
} worker;

static int first_time(server_state *s, const char *key)
{
	size_t i;
	int first = 1;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->seen_count && first; i++)
		first = strcmp(s->seen[i], key) != 0;
	if (first && s->seen_count < THREADS * CALLS)
		snprintf(s->seen[s->seen_count++], 33, "%s", key);
	pthread_mutex_unlock(&s->lock);
	return first;
}

static const char *header(const flock_http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->header_count; i++) {
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	}
	return "";
}

/* "t<thread>-<n>" into its two numbers; 0 or -1. */
static int parse_user(const char *user, int *t, int *n)
{
	char *end;

	if (user[0] != 't')
		return -1;
	*t = (int)strtol(user + 1, &end, 10);
	if (*end != '-')
		return -1;
	*n = (int)strtol(end + 1, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/*
 * Users "t<thread>-<n>": n % 3 == 1 is unknown (404 naming the user);
 * n % 5 == 0 first gets a 503, then succeeds on the retry.
 */
static int handle(const flock_http_request *req, flock_http_response *resp,
                  void *userdata)
{
	server_state *s = userdata;
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	const char *user =
	        json_string_value(json_object_get(body, "externalUserId"));
	char out[256];
	int n = 0, t = 0, rc = 0;

	pthread_mutex_lock(&s->lock);
	s->requests++;
	pthread_mutex_unlock(&s->lock);
	if (user == NULL || parse_user(user, &t, &n) != 0) {
		rc = FLOCK_ENETWORK;
		goto done;
	}
	if (n % 5 == 0 && first_time(s, header(req, "Idempotency-Key"))) {
		flock_http_response_set_status(resp, 503);
		flock_http_response_set_header(resp, "Retry-After", "0");
		goto done;
	}
	if (n % 3 == 1) {
		snprintf(out, sizeof(out),
		         "{\"message\":\"no customer %s\","
		         "\"code\":\"customer_not_found\"}",
		         user);
		flock_http_response_set_status(resp, 404);
		snprintf(out + 200, 56, "req_%s", user);
		flock_http_response_set_header(resp, "X-Request-Id", out + 200);
		flock_http_response_append_body(resp, out, strlen(out));
		goto done;
	}
	snprintf(out, sizeof(out),
	         "{\"id\":\"evt_%s\",\"customerId\":\"%s\","
	         "\"matched\":true}",
	         user, user);
	flock_http_response_set_status(resp, 201);
	flock_http_response_append_body(resp, out, strlen(out));
done:
	json_decref(body);
	return rc;
}

#define CHECK(w, cond)                                                         \
	do {                                                                   \
		if (!(cond))                                                   \
			(w)->failures++;                                       \
	} while (0)

static void one_call(worker *w, int n)
{
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;
	const flock_error *e;
	char user[32], want[80];
	int rc;

	snprintf(user, sizeof(user), "t%d-%d", w->index, n);
	p.external_user_id = user;
	p.environment = "test";
	rc = flock_checkpoints_ingest(&res, w->client, "signup", &p);
	e = flock_error_last();
	if (n % 3 == 1) {
		snprintf(want, sizeof(want), "no customer %s", user);
		CHECK(w, rc == FLOCK_ENOTFOUND && res == NULL && e != NULL);
		if (e == NULL)
			return;
		CHECK(w, strcmp(e->message, want) == 0);
		CHECK(w, strcmp(e->server_code, "customer_not_found") == 0);
		snprintf(want, sizeof(want), "req_%s", user);
		CHECK(w, strcmp(e->request_id, want) == 0);
		CHECK(w, e->retries == (n % 5 == 0 ? 1 : 0));
		return;
	}
	CHECK(w, rc == 0 && e == NULL && res != NULL);
	if (res == NULL)
		return;
	CHECK(w, strcmp(res->customer_id, user) == 0);
	snprintf(want, sizeof(want), "evt_%s", user);
	CHECK(w, strcmp(res->id, want) == 0);
	flock_checkpoint_result_free(res);
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	int n;

	for (n = 0; n < CALLS; n++)
		one_call(w, n);
	return NULL;
}

static void no_sleep(long ms, void *userdata)
{
	(void)ms;
	(void)userdata;
}

static void shared_client_across_threads(void **state)
{
	static server_state server;
	scripted *st = st_new();
	flock_transport t;
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *c = NULL;
	pthread_t tid[THREADS];
	worker w[THREADS];
	int i, failures = 0;
	(void)state;

	pthread_mutex_init(&server.lock, NULL);
	st_set_handler(st, handle, &server);
	t = st_transport(st);
	o.access_key = "sk_threads";
	o.base_url = "http://flock.test";
	o.transport = &t;
	o.sleep_cb = no_sleep;
	assert_int_equal(flock_client_new(&c, &o), 0);
	for (i = 0; i < THREADS; i++) {
		w[i].client = c;
		w[i].index = i;
		w[i].failures = 0;
		assert_int_equal(
		        pthread_create(&tid[i], NULL, run_worker, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	assert_int_equal(failures, 0);
	/* Every call once, plus one retry for each n % 5 == 0 (40 per thread).
	 */
	assert_int_equal(server.requests,
	                 THREADS * CALLS + THREADS * (CALLS / 5));
	flock_client_free(c);
	st_free(st);
	pthread_mutex_destroy(&server.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(shared_client_across_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
