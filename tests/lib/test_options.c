/*
 * Client options as the ABI promises them (docs/libflock.md, "ABI"):
 * zeroed options are the defaults; a program built against version 1 of
 * the struct (libflock 0.1's layout, shorter, with its own meaning of
 * max_retries) keeps working, and libflock never reads or writes past the
 * struct that version describes (heap-allocated at exactly that size, so
 * ASan and valgrind would see it); and the response size cap.
 */
#include "support.h"
#include "scripted_transport.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/*
 * flock_client_options as libflock 0.1's header declared it (version 1),
 * what a program built against that header holds.
 */
typedef struct {
	unsigned int version;
	const char *access_key;
	const char *base_url;
	long timeout_ms;
	long connect_timeout_ms;
	int max_retries; /* version 1: -1 the default, 0 none */
	long retry_base_ms;
	long retry_cap_ms;
	const char *user_agent_suffix;
	const char *ca_path;
	const flock_transport *transport;
	flock_log_cb log_cb;
	void *log_userdata;
	flock_sleep_cb sleep_cb;
	void *sleep_userdata;
} options_v1;

/* The current struct only appends to version 1. */
_Static_assert(offsetof(flock_client_options, sleep_userdata) ==
                       offsetof(options_v1, sleep_userdata),
               "version 2 must keep version 1's layout");
_Static_assert(sizeof(options_v1) < sizeof(flock_client_options),
               "version 2 appends");

typedef struct {
	int calls;
	long timeout_ms;
	size_t max_response_bytes;
	int status;
	size_t body_len; /* 0: a small JSON body */
	int ignore_refusal; /* a transport that ignores append's answer */
} seen;

static int handler(const flock_http_request *req, flock_http_response *resp,
                   void *userdata)
{
	seen *s = userdata;
	static const char chunk[] = "{\"id\":\"cmp_0000000000000000\"}";
	size_t sent = 0;
	int rc;

	s->calls++;
	s->timeout_ms = req->timeout_ms;
	s->max_response_bytes = req->max_response_bytes;
	flock_http_response_set_status(resp, s->status);
	if (s->body_len == 0)
		return flock_http_response_append_body(resp, "[]", 2);
	/* campaigns until body_len, appended as they "arrive" */
	if ((rc = flock_http_response_append_body(resp, "[", 1)) != 0)
		return rc;
	while (sent < s->body_len) {
		rc = flock_http_response_append_body(resp, chunk,
		                                     sizeof(chunk) - 1);
		if (rc == FLOCK_EBADRESPONSE && s->ignore_refusal)
			return 0;
		if (rc != 0)
			return rc;
		sent += sizeof(chunk);
		if (sent < s->body_len &&
		    (rc = flock_http_response_append_body(resp, ",", 1)) != 0)
			return s->ignore_refusal ? 0 : rc;
	}
	return flock_http_response_append_body(resp, "]", 1);
}

static int list(flock_client *c)
{
	flock_campaign_list *l = NULL;
	int rc = flock_campaigns_list(&l, c);

	flock_campaign_list_free(l);
	return rc;
}

static void no_sleep(long ms, void *userdata)
{
	(void)ms;
	(void)userdata;
}

/* memset to 0, version set, access key and transport: nothing else. */
static void zeroed_options_are_the_defaults(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client_options o;
	flock_client *c = NULL;
	seen s = {0, 0, 0, 503, 0, 0};

	(void)state;
	memset(&o, 0, sizeof(o));
	o.version = FLOCK_CLIENT_OPTIONS_VERSION;
	o.access_key = "sk_test";
	o.base_url = "http://flock.test";
	o.transport = &t;
	o.sleep_cb = no_sleep;
	st_set_handler(st, handler, &s);
	assert_int_equal(flock_client_new(&c, &o), 0);
	assert_int_equal(list(c), FLOCK_ESERVER);
	assert_int_equal(s.calls, 3); /* two retries, the default */
	assert_int_equal(s.timeout_ms, 30000);
	assert_true(s.max_response_bytes == FLOCK_DEFAULT_MAX_RESPONSE_BYTES);
	flock_client_free(c);
	/* and FLOCK_NO_RETRIES is what turns retries off */
	o.max_retries = FLOCK_NO_RETRIES;
	s.calls = 0;
	assert_int_equal(flock_client_new(&c, &o), 0);
	assert_int_equal(list(c), FLOCK_ESERVER);
	assert_int_equal(s.calls, 1);
	flock_client_free(c);
	st_free(st);
}

/* A version 1 struct on the heap, exactly as long as version 1 was. */
static options_v1 *v1_options(flock_transport *t)
{
	options_v1 *o = malloc(sizeof(*o));

	assert_non_null(o);
	/* writes the version 1 members only: an overrun would show here */
	assert_int_equal(
	        flock_client_options_init((flock_client_options *)(void *)o, 1),
	        0);
	assert_int_equal(o->version, 1);
	assert_int_equal(o->max_retries, -1);
	o->access_key = "sk_test";
	o->base_url = "http://flock.test";
	o->transport = t;
	o->sleep_cb = no_sleep;
	return o;
}

static void version_1_options_keep_their_meaning(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	options_v1 *o = v1_options(&t);
	const flock_client_options *as = (const flock_client_options *)(void *)o;
	flock_client *c = NULL;
	seen s = {0, 0, 0, 503, 0, 0};

	(void)state;
	st_set_handler(st, handler, &s);
	/* -1: version 1's default, two retries */
	assert_int_equal(flock_client_new(&c, as), 0);
	assert_int_equal(list(c), FLOCK_ESERVER);
	assert_int_equal(s.calls, 3);
	/* no max_response_bytes member: the default cap */
	assert_true(s.max_response_bytes == FLOCK_DEFAULT_MAX_RESPONSE_BYTES);
	flock_client_free(c);
	/* 0: none, as it was */
	o->max_retries = 0;
	s.calls = 0;
	assert_int_equal(flock_client_new(&c, as), 0);
	assert_int_equal(list(c), FLOCK_ESERVER);
	assert_int_equal(s.calls, 1);
	flock_client_free(c);
	free(o);
	st_free(st);
}

static void unknown_versions_refused(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *c = NULL;

	(void)state;
	o.access_key = "sk_test";
	o.transport = &t;
	o.version = 0;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o.version = FLOCK_CLIENT_OPTIONS_VERSION + 1;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	assert_int_equal(flock_client_options_init(&o, 0), FLOCK_EINVAL);
	assert_int_equal(
	        flock_client_options_init(&o, FLOCK_CLIENT_OPTIONS_VERSION + 1),
	        FLOCK_EINVAL);
	st_free(st);
}

static flock_client *capped_client(scripted *st, flock_transport *t,
                                   size_t cap)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *c = NULL;

	o.access_key = "sk_test";
	o.base_url = "http://flock.test";
	o.transport = t;
	o.max_response_bytes = cap;
	o.sleep_cb = no_sleep;
	(void)st;
	assert_int_equal(flock_client_new(&c, &o), 0);
	return c;
}

static void response_cap(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client *c = capped_client(st, &t, 1000);
	seen s = {0, 0, 0, 200, 5000, 0};

	(void)state;
	st_set_handler(st, handler, &s);
	assert_int_equal(list(c), FLOCK_EBADRESPONSE);
	assert_int_equal(s.calls, 1); /* not retried: it would come again */
	assert_true(s.max_response_bytes == 1000);
	assert_non_null(strstr(flock_error_last()->message,
	                       "max_response_bytes"));
	/* also when the transport ignores append's refusal and returns 0 */
	s.ignore_refusal = 1;
	s.calls = 0;
	assert_int_equal(list(c), FLOCK_EBADRESPONSE);
	assert_int_equal(s.calls, 1);
	/* an error body too */
	s.status = 500;
	s.calls = 0;
	assert_int_equal(list(c), FLOCK_EBADRESPONSE);
	assert_int_equal(s.calls, 1);
	/* under the cap it is read whole */
	s.status = 200;
	s.body_len = 900;
	assert_int_equal(list(c), 0);
	flock_client_free(c);
	st_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(zeroed_options_are_the_defaults),
	        cmocka_unit_test(version_1_options_keep_their_meaning),
	        cmocka_unit_test(unknown_versions_refused),
	        cmocka_unit_test(response_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
