/*
 * The default libcurl transport against a real HTTP server: libmicrohttpd
 * in this process on 127.0.0.1, port chosen by the kernel. Checks what
 * only a real network shows: kept-alive connections, timeouts, refused
 * connections, Retry-After with a real wait, and the bytes on the wire.
 */
#include "support.h"

#include <flock.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESULT                                                                 \
	"{\"id\":\"evt_1\",\"checkpointName\":\"signup\",\"matched\":false}"

typedef struct {
	pthread_mutex_t lock;
	struct MHD_Daemon *daemon;
	unsigned short port;
	int connections; /* connections accepted so far */
	int requests;
	int flaky_calls;
	char keys[4][300];   /* Idempotency-Key of each /flaky attempt */
	char last_body[512]; /* the last POST body received */
	char last_auth[128];
	char last_ua[128];
	char last_ctype[64];
	char last_method[16];
	int saw_expect;
} server;

typedef struct {
	char *body;
	size_t len;
} upload;

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	server *s = cls;

	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->lock);
		s->connections++;
		pthread_mutex_unlock(&s->lock);
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	upload *u = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (u) {
		free(u->body);
		free(u);
		*req_cls = NULL;
	}
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
                             const char *body, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "X-Request-Id", "req_mhd");
	if (retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void copy_header(struct MHD_Connection *conn, const char *name,
                        char *out, size_t size)
{
	const char *v =
	        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	snprintf(out, size, "%s", v ? v : "");
}

/* Record what a complete request carried; the body is in `u`. */
static void record(server *s, struct MHD_Connection *conn, const char *method,
                   const upload *u)
{
	pthread_mutex_lock(&s->lock);
	s->requests++;
	snprintf(s->last_body, sizeof(s->last_body), "%.*s", (int)u->len,
	         u->body ? u->body : "");
	snprintf(s->last_method, sizeof(s->last_method), "%s", method);
	copy_header(conn, "Authorization", s->last_auth, sizeof(s->last_auth));
	copy_header(conn, "User-Agent", s->last_ua, sizeof(s->last_ua));
	copy_header(conn, "Content-Type", s->last_ctype, sizeof(s->last_ctype));
	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect"))
		s->saw_expect = 1;
	pthread_mutex_unlock(&s->lock);
}

/* A campaign list of about 200 KB, as one buffer or in chunks. */
#define BIG_ITEMS 8000
#define BIG_ITEM "{\"id\":\"cmp_0000000000000\"}"

static char *big_list(size_t *len)
{
	size_t item = sizeof(BIG_ITEM) - 1, n = 2 + BIG_ITEMS * (item + 1), i;
	char *b = malloc(n), *p = b;

	if (b == NULL)
		return NULL;
	*p++ = '[';
	for (i = 0; i < BIG_ITEMS; i++, p += item) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, BIG_ITEM, item);
	}
	*p++ = ']';
	*len = (size_t)(p - b);
	return b;
}

static ssize_t big_chunk(void *cls, uint64_t pos, char *buf, size_t max)
{
	const char *body = cls;
	size_t len = strlen(body), n;

	if (pos >= len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = len - (size_t)pos < max ? len - (size_t)pos : max;
	if (n > 4096)
		n = 4096;
	memcpy(buf, body + pos, n);
	return (ssize_t)n;
}

/* "/big": with Content-Length; "/chunked": without (chunked encoding). */
static enum MHD_Result reply_big(struct MHD_Connection *conn, int chunked)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *body = big_list(&len);

	if (body == NULL)
		return MHD_NO;
	if (chunked) {
		body[len] = '\0';
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
		                                      big_chunk, body, free);
	} else {
		r = MHD_create_response_from_buffer(len, body,
		                                    MHD_RESPMEM_MUST_FREE);
	}
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result route(server *s, struct MHD_Connection *conn,
                             const char *url)
{
	int n;

	if (strcmp(url, "/big/campaigns") == 0)
		return reply_big(conn, 0);
	if (strcmp(url, "/chunked/campaigns") == 0)
		return reply_big(conn, 1);

	if (strncmp(url, "/slow/", 6) == 0) {
		usleep(800 * 1000);
		return reply(conn, 200, "[]", NULL);
	}
	if (strcmp(url, "/flaky/checkpoints/ingest") == 0) {
		pthread_mutex_lock(&s->lock);
		n = s->flaky_calls++;
		if (n < 4)
			copy_header(conn, "Idempotency-Key", s->keys[n],
			            sizeof(s->keys[n]));
		pthread_mutex_unlock(&s->lock);
		if (n == 0)
			return reply(conn, 503,
			             "{\"statusCode\":503,"
			             "\"message\":\"overloaded\"}",
			             "1");
		return reply(conn, 201, RESULT, NULL);
	}
	if (strcmp(url, "/missing/campaigns") == 0)
		return reply(conn, 404,
		             "{\"statusCode\":404,\"error\":\"Not "
		             "Found\",\"message\":\"no such thing\","
		             "\"code\":\"not_found\"}",
		             NULL);
	if (strcmp(url, "/campaigns") == 0)
		return reply(conn, 200, "[]", NULL);
	if (strcmp(url, "/checkpoints/ingest") == 0)
		return reply(conn, 201, RESULT, NULL);
	return reply(conn, 404, "{}", NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *data_size, void **req_cls)
{
	server *s = cls;
	upload *u = *req_cls;
	char *grown;

	(void)version;
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return MHD_NO;
		*req_cls = u;
		return MHD_YES;
	}
	if (*data_size > 0) {
		grown = realloc(u->body, u->len + *data_size);
		if (grown == NULL)
			return MHD_NO;
		memcpy(grown + u->len, data, *data_size);
		u->body = grown;
		u->len += *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	record(s, conn, method, u);
	return route(s, conn, url);
}

static int start(server *s)
{
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	s->daemon = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
	        0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &addr,
	        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	        MHD_OPTION_END);
	if (s->daemon == NULL)
		return -1;
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	return s->port ? 0 : -1;
}

static void stop(server *s)
{
	MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
}

static int setup(void **state)
{
	server *s = malloc(sizeof(*s));

	if (s == NULL || start(s) != 0)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	stop(*state);
	free(*state);
	return 0;
}

static flock_client *client_for(server *s, const char *prefix, long timeout,
                                int retries)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *c = NULL;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, prefix);
	o.access_key = "sk_test_wire";
	o.base_url = url;
	o.timeout_ms = timeout;
	o.connect_timeout_ms = 2000;
	o.max_retries = retries;
	o.user_agent_suffix = "curl-test";
	assert_int_equal(flock_client_new(&c, &o), 0);
	return c;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void connection_reused(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "", 5000, FLOCK_NO_RETRIES);
	flock_campaign_list *l = NULL;
	int i;

	for (i = 0; i < 20; i++) {
		assert_int_equal(flock_campaigns_list(&l, c), 0);
		assert_int_equal(l->count, 0);
		flock_campaign_list_free(l);
	}
	assert_int_equal(s->requests, 20);
	assert_int_equal(s->connections, 1);
	flock_client_free(c);
}

static void post_on_the_wire(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "", 5000, FLOCK_NO_RETRIES);
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;

	p.external_user_id = "user_123";
	p.environment = "test";
	assert_int_equal(flock_checkpoints_ingest(&res, c, "signup", &p), 0);
	assert_string_equal(res->id, "evt_1");
	assert_string_equal(s->last_body, "{\"checkpointName\":\"signup\","
	                                  "\"externalUserId\":\"user_123\","
	                                  "\"environment\":\"test\"}");
	assert_string_equal(s->last_auth, "sk_test_wire");
	assert_string_equal(s->last_ua, "libflock/" FLOCK_VERSION " curl-test");
	assert_string_equal(s->last_ctype, "application/json");
	assert_false(s->saw_expect);
	flock_checkpoint_result_free(res);
	flock_client_free(c);
}

/* One pooled handle serves POST, GET, POST: no body leaks into the GET. */
static void methods_alternate_on_one_handle(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "", 5000, FLOCK_NO_RETRIES);
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_campaign_list *l = NULL;

	p.external_user_id = "user_123";
	p.environment = "test";
	assert_int_equal(flock_checkpoints_ingest(NULL, c, "signup", &p), 0);
	assert_string_equal(s->last_method, "POST");
	assert_int_equal(flock_campaigns_list(&l, c), 0);
	flock_campaign_list_free(l);
	assert_string_equal(s->last_method, "GET");
	assert_string_equal(s->last_body, "");
	assert_string_equal(s->last_ctype, "");
	assert_int_equal(flock_checkpoints_ingest(NULL, c, "signup", &p), 0);
	assert_string_equal(s->last_method, "POST");
	assert_non_null(strstr(s->last_body, "\"signup\""));
	assert_int_equal(s->connections, 1);
	flock_client_free(c);
}

static void http_error_detail_from_wire(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "/missing", 5000, 2);
	flock_campaign_list *l = NULL;
	const flock_error *e;

	assert_int_equal(flock_campaigns_list(&l, c), FLOCK_ENOTFOUND);
	e = flock_error_last();
	assert_int_equal(e->http_status, 404);
	assert_string_equal(e->message, "no such thing");
	assert_string_equal(e->server_code, "not_found");
	assert_string_equal(e->request_id, "req_mhd");
	assert_int_equal(s->requests, 1);
	flock_client_free(c);
}

static void slow_server_times_out(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "/slow", 200, FLOCK_NO_RETRIES);
	flock_campaign_list *l = NULL;
	int64_t t0 = now_ms();

	assert_int_equal(flock_campaigns_list(&l, c), FLOCK_ETIMEOUT);
	assert_true(now_ms() - t0 < 700);
	assert_int_equal(flock_error_last()->http_status, 0);
	assert_null(strstr(flock_error_last()->message, "sk_test_wire"));
	flock_client_free(c);
}

static void retry_after_then_success_same_key(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "/flaky", 5000, 2);
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	int64_t t0 = now_ms(), dt;

	p.external_user_id = "user_123";
	p.environment = "test";
	assert_int_equal(flock_checkpoints_ingest(NULL, c, "signup", &p), 0);
	dt = now_ms() - t0;
	assert_int_equal(s->flaky_calls, 2);
	assert_int_equal(strlen(s->keys[0]), 32);
	assert_string_equal(s->keys[0], s->keys[1]);
	/* Retry-After: 1 was waited for, for real. */
	assert_true(dt >= 990 && dt < 3000);
	flock_client_free(c);
}

static void refused_connection(void **state)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_campaign_list *l = NULL;
	flock_client *c = NULL;
	char url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	(void)state;

	/* A port that was just free on loopback, closed again: refused. */
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(addr.sin_port));
	o.access_key = "sk_x";
	o.base_url = url;
	o.max_retries = FLOCK_NO_RETRIES;
	assert_int_equal(flock_client_new(&c, &o), 0);
	assert_int_equal(flock_campaigns_list(&l, c), FLOCK_ENETWORK);
	assert_int_equal(flock_error_last()->http_status, 0);
	assert_non_null(strstr(flock_error_last()->message, "127.0.0.1"));
	flock_client_free(c);
}

/* The cap holds on the wire: from Content-Length, or as the body comes. */
static void response_cap_on_the_wire(void **state)
{
	static const char *const prefixes[] = {"/big", "/chunked"};
	server *s = *state;
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_campaign_list *l = NULL;
	flock_client *c = NULL;
	char url[128];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port,
		         prefixes[i]);
		o.access_key = "sk_test_wire";
		o.base_url = url;
		o.max_retries = 2;
		o.max_response_bytes = 16 * 1024;
		s->requests = 0;
		assert_int_equal(flock_client_new(&c, &o), 0);
		assert_int_equal(flock_campaigns_list(&l, c),
		                 FLOCK_EBADRESPONSE);
		assert_null(l);
		assert_non_null(strstr(flock_error_last()->message,
		                       "max_response_bytes"));
		assert_int_equal(s->requests, 1); /* not retried */
		flock_client_free(c);
		/* the default cap (4 MiB) takes the same 200 KB */
		o.max_response_bytes = 0;
		assert_int_equal(flock_client_new(&c, &o), 0);
		assert_int_equal(flock_campaigns_list(&l, c), 0);
		assert_int_equal(l->count, BIG_ITEMS);
		flock_campaign_list_free(l);
		l = NULL;
		flock_client_free(c);
	}
}

typedef struct {
	flock_client *client;
	int failures;
} worker;

static void *run_worker(void *arg)
{
	worker *w = arg;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;
	int i;

	p.external_user_id = "u";
	p.environment = "test";
	for (i = 0; i < 25; i++) {
		if (flock_checkpoints_ingest(&res, w->client, "x", &p) != 0 ||
		    strcmp(res->id, "evt_1") != 0)
			w->failures++;
		flock_checkpoint_result_free(res);
		res = NULL;
	}
	return NULL;
}

/* The handle pool under concurrency: each handle keeps its connection. */
static void threads_share_the_pool(void **state)
{
	server *s = *state;
	flock_client *c = client_for(s, "", 5000, FLOCK_NO_RETRIES);
	pthread_t tid[4];
	worker w[4];
	int i, failures = 0;

	for (i = 0; i < 4; i++) {
		w[i].client = c;
		w[i].failures = 0;
		assert_int_equal(
		        pthread_create(&tid[i], NULL, run_worker, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	assert_int_equal(failures, 0);
	assert_int_equal(s->requests, 100);
	/* At most one connection per concurrent call, all kept alive. */
	assert_true(s->connections <= 4);
	flock_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	        T(connection_reused),
	        T(post_on_the_wire),
	        T(methods_alternate_on_one_handle),
	        T(http_error_detail_from_wire),
	        T(slow_server_times_out),
	        T(retry_after_then_success_same_key),
	        cmocka_unit_test(refused_connection),
	        T(response_cap_on_the_wire),
	        T(threads_share_the_pool),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
