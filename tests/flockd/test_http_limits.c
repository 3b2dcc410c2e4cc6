/*
 * flockd at the HTTP level and when the database fails (issue 15, items
 * 4, 5, 6, 7 and HEAD of 11), against a real flockd on loopback:
 *
 * - a store failure during authentication (a wire key, an admin token, a
 *   dashboard login and session) answers 503 store_unavailable, never 401
 *   "unknown access key"; the fault is real: the keys' table is renamed
 *   away under the running flockd (then back), so every lookup fails in
 *   the database itself, on SQLite and on PostgreSQL;
 * - smuggling: two Content-Length headers, or Content-Length with
 *   Transfer-Encoding, get 400 and a closed connection before anything
 *   runs (raw sockets);
 * - HEAD is answered like GET, without a body;
 * - unauthenticated bodies are refused at the headers (401 before a byte
 *   of the body is read), the bytes buffered by bodies in flight are
 *   capped, connections per client address are limited, and a header
 *   trickle is cut at the header deadline (bounded counts and times);
 * - /readyz says not ready when the database cannot be written, and the
 *   failure is logged; flockd refuses to start on a read-only database
 *   file (SQLite).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"
#include "support.h"

static fd_harness H;

/* ---- raw HTTP ------------------------------------------------------------ */

static int connect_to(unsigned short port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read into buf until the peer closes or wait_ms pass without data.
 * Bytes read; *closed = 1 if the peer closed. */
static size_t read_until(int fd, char *buf, size_t cap, int wait_ms,
                         int *closed)
{
	size_t n = 0;

	*closed = 0;
	while (n + 1 < cap) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		if (poll(&p, 1, wait_ms) <= 0)
			break;
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0) {
			*closed = 1;
			break;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* Send req on a new connection to port; the answer into buf (status
 * returned, 0 if none); *closed as read_until. */
static int raw(unsigned short port, const char *req, char *buf, size_t cap,
               int *closed)
{
	int fd = connect_to(port), status = 0;

	*closed = 0;
	buf[0] = '\0';
	if (fd < 0)
		return 0;
	if (send_all(fd, req, strlen(req)) == 0)
		read_until(fd, buf, cap, 20000, closed);
	close(fd);
	if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
		status = (int)strtol(buf + 9, NULL, 10);
	return status;
}

/* Occurrences of needle in H's log. */
static int log_count(const char *needle)
{
	char *text = flock_test_read_file(H.log, NULL), *p;
	int n = 0;

	for (p = text; p && (p = strstr(p, needle)); p++)
		n++;
	free(text);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	return h_start(&H);
}

static int teardown(void **state)
{
	(void)state;
	h_stop(&H);
	return 0;
}

/* ---- 4: a database outage is not an unknown key ------------------------- */

static unsigned short dash_port;

/* The dashboard's port, from flockd's log line (--log-level info). */
static int find_dashboard(void)
{
	int tries;

	for (tries = 0; tries < 400; tries++) {
		char *text = flock_test_read_file(H.log, NULL), *p;

		p = text ? strstr(text, "dashboard at http://127.0.0.1:")
		         : NULL;
		if (p) {
			dash_port = (unsigned short)strtol(
			        p + strlen("dashboard at http://127.0.0.1:"),
			        NULL, 10);
			free(text);
			return dash_port ? 0 : -1;
		}
		free(text);
		sleep_ms(50);
	}
	return -1;
}

static int setup_dash(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--dashboard-listen";
	H.extra_args[1] = "127.0.0.1:0";
	H.extra_args[2] = "--log-level";
	H.extra_args[3] = "info";
	return h_start(&H) == 0 ? find_dashboard() : -1;
}

/* POST /dashboard/api/login with the admin token: the status; the
 * session's cookie ("flock_session=...") into cookie. */
static int dash_login(char *cookie, size_t len)
{
	char req[1024], buf[8192], *p;
	int closed, status;

	snprintf(req, sizeof(req),
	         "POST /dashboard/api/login HTTP/1.1\r\nHost: x\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n{\"token\":\"%s\"}",
	         strlen(H.admin_token) + 12, H.admin_token);
	status = raw(dash_port, req, buf, sizeof(buf), &closed);
	if (cookie && (p = strstr(buf, "flock_session=")))
		snprintf(cookie, len, "%.*s", (int)strcspn(p, ";\r\n"), p);
	return status;
}

static int dash_session(const char *cookie, char *buf, size_t cap)
{
	char req[512];
	int closed;

	snprintf(req, sizeof(req),
	         "GET /dashboard/api/session HTTP/1.1\r\nHost: x\r\n"
	         "Cookie: %s\r\nConnection: close\r\n\r\n",
	         cookie);
	return raw(dash_port, req, buf, cap, &closed);
}

static void assert_store_503(h_resp *r)
{
	assert_int_equal(r->status, 503);
	assert_non_null(r->json);
	assert_string_equal(json_string_value(json_object_get(r->json, "code")),
	                    "store_unavailable");
	assert_string_equal(r->retry_after, "1");
}

static void test_store_outage_is_503(void **state)
{
	char cookie[256] = "", buf[8192], admin_apps[128];
	h_resp r;

	(void)state;
	assert_int_equal(dash_login(cookie, sizeof(cookie)), 200);
	assert_true(cookie[0] != '\0');
	assert_int_equal(dash_session(cookie, buf, sizeof(buf)), 200);
	snprintf(admin_apps, sizeof(admin_apps), "/admin/apps/%s/keys",
	         H.app_id);

	/* The fault: every key lookup now fails in the database. */
	assert_int_equal(
	        h_db_exec(H.db, "ALTER TABLE api_keys RENAME TO api_keys_away"),
	        0);
	h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
	assert_store_503(&r);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/campaigns", H.public_key, NULL, NULL);
	assert_store_503(&r);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", "u1");
	assert_store_503(&r);
	h_resp_free(&r);
	h_call(&H, &r, "GET", admin_apps, H.admin_token, NULL, NULL);
	assert_store_503(&r);
	h_resp_free(&r);
	/* The dashboard: a login and a session's check. */
	assert_int_equal(dash_login(NULL, 0), 503);
	assert_int_equal(dash_session(cookie, buf, sizeof(buf)), 503);
	assert_non_null(strstr(buf, "store_unavailable"));
	assert_true(log_count("the database failed looking up a key") >= 1);

	/* The database is back: so are the keys, and the session. */
	assert_int_equal(
	        h_db_exec(H.db, "ALTER TABLE api_keys_away RENAME TO api_keys"),
	        0);
	h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/campaigns", "sk_unknown", NULL, NULL);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	assert_int_equal(dash_session(cookie, buf, sizeof(buf)), 200);
}

/*
 * PostgreSQL's server itself gone: the test starts a cluster of its own
 * (scripts/pg-cluster.sh; the shared one is never stopped), stops its
 * server mid-run and starts it again. Every answer while it is down is
 * 503, never 401; once it is back, the same keys work again.
 */
static void test_pg_server_down_is_503(void **state)
{
	char dir[] = "/tmp/flock-pg-outage-XXXXXX", url[256], path[128];
	const char *shared = getenv("FLOCK_TEST_PG");
	char *saved = shared ? strdup(shared) : NULL;
	h_resp r;
	int i, ok = 0;

	(void)state;
	if (!h_is_pg()) {
		print_message("skipped: PostgreSQL only\n");
		free(saved);
		return;
	}
	assert_non_null(mkdtemp(dir));
	if (h_pg_cluster("start", dir, url, sizeof(url)) < 0 || !url[0]) {
		print_message("skipped: cannot start a PostgreSQL cluster "
		              "(scripts/pg-cluster.sh)\n");
		rmdir(dir);
		free(saved);
		return;
	}
	setenv("FLOCK_TEST_PG", url, 1);
	memset(&H, 0, sizeof(H));
	assert_int_equal(h_start(&H), 0);
	snprintf(path, sizeof(path), "/admin/apps/%s/keys", H.app_id);
	h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);

	assert_int_equal(h_pg_cluster("pause", dir, NULL, 0), 0);
	for (i = 0; i < 10; i++) {
		h_call(&H, &r, "GET", "/campaigns",
		       i % 2 ? H.public_key : H.service_key, NULL, NULL);
		if (i % 2 == 0)
			assert_store_503(&r);
		else /* a public key may not list campaigns: 503 first */
			assert_int_equal(r.status, 503);
		h_resp_free(&r);
	}
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_store_503(&r);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/readyz", NULL, NULL, NULL);
	assert_int_equal(r.status, 503);
	h_resp_free(&r);

	assert_int_equal(h_pg_cluster("resume", dir, NULL, 0), 0);
	for (i = 0; i < 100 && !ok; i++) {
		h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
		assert_true(r.status == 200 || r.status == 503);
		ok = r.status == 200;
		h_resp_free(&r);
		if (!ok)
			sleep_ms(100);
	}
	assert_true(ok);
	h_stop(&H);
	h_pg_cluster("stop", dir, NULL, 0);
	if (saved)
		setenv("FLOCK_TEST_PG", saved, 1);
	free(saved);
}

/* ---- 7: failures that say what they are -------------------------------- */

/* /readyz's status and its error code (if any) into code. */
static int readyz(char *code, size_t len)
{
	h_resp r;
	int status;

	h_call(&H, &r, "GET", "/readyz", NULL, NULL, NULL);
	status = r.status;
	snprintf(code, len, "%s",
	         r.json && json_string_value(json_object_get(r.json, "code"))
	                 ? json_string_value(json_object_get(r.json, "code"))
	                 : "");
	h_resp_free(&r);
	return status;
}

/* Wait (60 s at most) until /readyz answers status. */
static int wait_readyz(int status, char *code, size_t len)
{
	int i;

	for (i = 0; i < 600; i++) {
		if (readyz(code, len) == status)
			return 0;
		sleep_ms(100);
	}
	return -1;
}

/*
 * The database refuses writes under a running flockd, for real: on
 * SQLite another process holds the write lock longer than the busy
 * timeout (10 s); on PostgreSQL the database is made read-only and
 * flockd's sessions are ended (they come back read-only). /readyz says
 * store_not_writable, the failure is logged, and once the database takes
 * writes again /readyz is 200.
 */
static void test_readyz_when_writes_fail(void **state)
{
	char code[64], sql[512], dbname[128];
	const char *slash = strrchr(H.db, '/');
	const char *admin = getenv("FLOCK_TEST_PG"); /* another database */
	sqlite3 *lock = NULL;

	(void)state;
	assert_int_equal(readyz(code, sizeof(code)), 200);
	snprintf(dbname, sizeof(dbname), "%s", slash ? slash + 1 : "");
	if (h_is_pg()) {
		snprintf(sql, sizeof(sql),
		         "ALTER DATABASE \"%s\" SET "
		         "default_transaction_read_only = on",
		         dbname);
		assert_int_equal(h_db_exec(admin, sql), 0);
		snprintf(sql, sizeof(sql),
		         "SELECT pg_terminate_backend(pid) FROM "
		         "pg_stat_activity WHERE datname = '%s' AND pid <> "
		         "pg_backend_pid()",
		         dbname);
		assert_int_equal(h_db_exec(admin, sql), 0);
	} else {
		assert_int_equal(sqlite3_open(H.db, &lock), SQLITE_OK);
		assert_int_equal(
		        sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		        SQLITE_OK);
	}
	assert_int_equal(wait_readyz(503, code, sizeof(code)), 0);
	assert_string_equal(code, "store_not_writable");
	assert_true(log_count(h_is_pg() ? "postgresql:" : "sqlite:") >= 1);

	if (h_is_pg()) {
		snprintf(sql, sizeof(sql),
		         "ALTER DATABASE \"%s\" SET "
		         "default_transaction_read_only = off",
		         dbname);
		/* This session began read-only: its own ALTER is allowed
		 * (not a write to a table). */
		assert_int_equal(h_db_exec(admin, sql), 0);
		snprintf(sql, sizeof(sql),
		         "SELECT pg_terminate_backend(pid) FROM "
		         "pg_stat_activity WHERE datname = '%s' AND pid <> "
		         "pg_backend_pid()",
		         dbname);
		assert_int_equal(h_db_exec(admin, sql), 0);
	} else {
		sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(lock);
	}
	assert_int_equal(wait_readyz(200, code, sizeof(code)), 0);
}

/* A read-only database file: flockd says so and exits non-zero. */
static void test_read_only_file_refused(void **state)
{
	char cmd[1024], out[4096] = "";
	const char *bin = getenv("FLOCKD_BIN");
	size_t n;
	FILE *p;
	int st;

	(void)state;
	if (h_is_pg()) {
		print_message("skipped: SQLite only\n");
		return;
	}
	h_kill(&H, SIGTERM);
	assert_int_equal(chmod(H.db, 0400), 0);
	snprintf(cmd, sizeof(cmd),
	         "timeout 60 %s serve --database %s --listen 127.0.0.1:0 2>&1",
	         bin, H.db);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	assert_int_not_equal(WEXITSTATUS(st), 124); /* not the timeout */
	assert_non_null(strstr(out, "read-only"));
	chmod(H.db, 0600);
}

/* ---- 6: request smuggling ------------------------------------------------ */

static void assert_refused(const char *req)
{
	char buf[8192];
	int closed = 0;
	int status = raw(H.port, req, buf, sizeof(buf), &closed);

	assert_int_equal(status, 400);
	assert_non_null(strstr(buf, "bad_request"));
	assert_true(closed);
	/* Only one answer: what followed was never run as a request. */
	assert_null(strstr(buf + 9, "HTTP/1.1 "));
}

static void test_smuggling_refused(void **state)
{
	char req[1024];
	h_resp r;
	long before, after;

	(void)state;
	/* Two different lengths: the second "request" hides in the body. */
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Type: application/json\r\n"
	         "Content-Length: 29\r\nContent-Length: 0\r\n\r\n"
	         "{\"externalUserId\":\"smuggled\"}",
	         H.service_key);
	assert_refused(req);
	/* The same length twice is refused too (no proxy sends it). */
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Length: 2\r\n"
	         "Content-Length: 2\r\n\r\n{}",
	         H.service_key);
	assert_refused(req);
	/* Content-Length with chunked. */
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Type: application/json\r\n"
	         "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "1d\r\n{\"externalUserId\":\"smuggled\"}\r\n0\r\n\r\n",
	         H.service_key);
	assert_refused(req);
	/* Transfer-Encodings flockd cannot frame: refused, not waited on. */
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nTransfer-Encoding: identity\r\n\r\n"
	         "{\"externalUserId\":\"smuggled\"}",
	         H.service_key);
	assert_refused(req);
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nTransfer-Encoding: gzip, chunked\r\n"
	         "\r\n1d\r\n{\"externalUserId\":\"smuggled\"}\r\n0\r\n\r\n",
	         H.service_key);
	assert_refused(req);
	/* Nothing ran: no customer "smuggled". */
	assert_int_equal(h_db_long(H.db,
	                           "SELECT count(*) FROM customers WHERE "
	                           "external_id = 'smuggled'",
	                           &before),
	                 0);
	assert_int_equal(before, 0);
	/* A plain chunked body still works. */
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Type: application/json\r\n"
	         "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	         "1a\r\n{\"externalUserId\":\"plain\"}\r\n0\r\n\r\n",
	         H.service_key);
	{
		char buf[8192];
		int closed;

		assert_int_equal(raw(H.port, req, buf, sizeof(buf), &closed),
		                 201);
	}
	assert_int_equal(h_db_long(H.db,
	                           "SELECT count(*) FROM customers WHERE "
	                           "external_id = 'plain'",
	                           &after),
	                 0);
	assert_int_equal(after, 1);
	h_call(&H, &r, "GET", "/healthz", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
}

/* ---- 11: HEAD ------------------------------------------------------------ */

static void test_head_like_get(void **state)
{
	char req[512], buf[8192];
	int closed;

	(void)state;
	snprintf(req, sizeof(req),
	         "HEAD /campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
	         "Connection: close\r\n\r\n",
	         H.service_key);
	assert_int_equal(raw(H.port, req, buf, sizeof(buf), &closed), 200);
	assert_non_null(strstr(buf, "application/json"));
	/* No body after the headers. */
	assert_non_null(strstr(buf, "\r\n\r\n"));
	assert_string_equal(strstr(buf, "\r\n\r\n"), "\r\n\r\n");
	assert_int_equal(raw(H.port,
	                     "HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
	                     "Connection: close\r\n\r\n",
	                     buf, sizeof(buf), &closed),
	                 200);
	/* Still authenticated like GET. */
	assert_int_equal(raw(H.port,
	                     "HEAD /campaigns HTTP/1.1\r\nHost: x\r\n"
	                     "Connection: close\r\n\r\n",
	                     buf, sizeof(buf), &closed),
	                 401);
	/* A path with no GET has no HEAD either. */
	assert_int_equal(raw(H.port,
	                     "HEAD /customers/identify HTTP/1.1\r\nHost: x\r\n"
	                     "Connection: close\r\n\r\n",
	                     buf, sizeof(buf), &closed),
	                 405);
}

/* ---- 5: unauthenticated bodies, the body budget, per-IP, slowloris ----- */

/* Headers only (the body is never sent): the answer must come at once. */
static int headers_only(const char *req, char *buf, size_t cap)
{
	return raw(H.port, req, buf, cap, &(int){0});
}

static void test_refused_at_headers(void **state)
{
	char req[1024], buf[8192];

	(void)state;
	/* No key, a 1 MiB body declared and never sent: 401 now. */
	assert_int_equal(headers_only("POST /customers/identify HTTP/1.1\r\n"
	                              "Host: x\r\nContent-Type: "
	                              "application/json\r\n"
	                              "Content-Length: 1048576\r\n\r\n",
	                              buf, sizeof(buf)),
	                 401);
	assert_non_null(strstr(buf, "Connection: close"));
	/* An unknown key, and chunked. */
	assert_int_equal(headers_only("POST /customers/identify HTTP/1.1\r\n"
	                              "Host: x\r\nAuthorization: sk_nope\r\n"
	                              "Transfer-Encoding: chunked\r\n\r\n",
	                              buf, sizeof(buf)),
	                 401);
	/* A key of the wrong kind; no route, no method: bodies over the
	 * 64 KiB flockd reads and drops are not waited for either. */
	snprintf(req, sizeof(req),
	         "POST /checkpoints/ingest HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Length: 100000\r\n\r\n",
	         H.public_key);
	assert_int_equal(headers_only(req, buf, sizeof(buf)), 403);
	assert_int_equal(headers_only("POST /nowhere HTTP/1.1\r\nHost: x\r\n"
	                              "Content-Length: 100000\r\n\r\n",
	                              buf, sizeof(buf)),
	                 404);
	assert_int_equal(headers_only("PUT /customers/identify HTTP/1.1\r\n"
	                              "Host: x\r\n"
	                              "Content-Length: 100000\r\n\r\n",
	                              buf, sizeof(buf)),
	                 405);
}

/* A refused request whose small body is already on its way is answered
 * after the body, read and dropped (never buffered), on a connection
 * that stays usable: closing it with the body unread would reset it, and
 * the client could lose the answer. */
static void test_refused_small_body_read(void **state)
{
	char buf[8192], *second;
	int closed;

	(void)state;
	assert_int_equal(raw(H.port,
	                     "POST /customers/identify HTTP/1.1\r\n"
	                     "Host: x\r\nAuthorization: sk_nope\r\n"
	                     "Content-Type: application/json\r\n"
	                     "Content-Length: 24\r\n\r\n"
	                     "{\"externalUserId\":\"u_1\"}"
	                     "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	                     "Connection: close\r\n\r\n",
	                     buf, sizeof(buf), &closed),
	                 401);
	second = strstr(buf + 9, "HTTP/1.1 ");
	assert_non_null(second);
	assert_int_equal(strtol(second + 9, NULL, 10), 200);
}

static int setup_budget(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--max-buffered";
	H.extra_args[1] = "100000";
	return h_start(&H);
}

/* Send headers declaring len bytes with Expect: 100-continue; wait for
 * flockd's answer to the headers: 100 (go on) or the final status. */
static int open_upload(int *fd, size_t len, char *buf, size_t cap)
{
	char req[1024];
	int closed;

	*fd = connect_to(H.port);
	if (*fd < 0)
		return -1;
	snprintf(req, sizeof(req),
	         "POST /customers/identify HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Type: application/json\r\n"
	         "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
	         H.service_key, len);
	if (send_all(*fd, req, strlen(req)) < 0)
		return -1;
	read_until(*fd, buf, cap, 3000, &closed);
	return strncmp(buf, "HTTP/1.1 ", 9) == 0
	               ? (int)strtol(buf + 9, NULL, 10)
	               : 0;
}

/* A body of len bytes: {"externalUserId":"<id>"   ...   } (padded with
 * white space: every field has a length limit). */
static char *body_of(const char *id, size_t len)
{
	char *b = malloc(len + 1);
	int n = snprintf(b, len + 1, "{\"externalUserId\":\"%s\"", id);

	memset(b + n, ' ', len - (size_t)n - 1);
	b[len - 1] = '}';
	b[len] = '\0';
	return b;
}

static void test_body_budget(void **state)
{
	char buf[8192];
	char *b1 = body_of("budget1", 60000), *b3 = body_of("budget3", 60000);
	int fd1, fd2, fd3, closed, i;

	(void)state;
	/* The first body takes 60,000 of the 100,000 bytes. */
	assert_int_equal(open_upload(&fd1, 60000, buf, sizeof(buf)), 100);
	/* A second would go over: 503 at its headers, body unread. */
	assert_int_equal(open_upload(&fd2, 60000, buf, sizeof(buf)), 503);
	assert_non_null(strstr(buf, "server_busy"));
	assert_non_null(strstr(buf, "Retry-After: 1"));
	close(fd2);
	/* The first completes, and gives its bytes back. */
	assert_int_equal(send_all(fd1, b1, 60000), 0);
	read_until(fd1, buf, sizeof(buf), 20000, &closed);
	assert_int_equal(strncmp(buf, "HTTP/1.1 201", 12), 0);
	close(fd1);
	/* flockd gives the bytes back at the request's completion, just
	 * after its answer left: try again until it has. */
	for (i = 0; i < 200; i++) {
		if (open_upload(&fd3, 60000, buf, sizeof(buf)) == 100)
			break;
		close(fd3);
		sleep_ms(50);
	}
	assert_true(i < 200);
	assert_int_equal(send_all(fd3, b3, 60000), 0);
	read_until(fd3, buf, sizeof(buf), 20000, &closed);
	assert_int_equal(strncmp(buf, "HTTP/1.1 201", 12), 0);
	close(fd3);
	free(b1);
	free(b3);
}

static int setup_per_ip(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--max-connections-per-ip";
	H.extra_args[1] = "4";
	return h_start(&H);
}

/* A kept-alive GET /healthz on fd: 1 if answered 200. */
static int healthz_on(int fd)
{
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	int closed;

	if (send_all(fd, req, strlen(req)) < 0)
		return 0;
	read_until(fd, buf, sizeof(buf), 2000, &closed);
	return strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

static void test_per_ip_limit(void **state)
{
	int fds[4], extra, i, ok = 0;
	char buf[4096];

	(void)state;
	/* Four kept-alive connections, each known to flockd. */
	for (i = 0; i < 4; i++) {
		fds[i] = connect_to(H.port);
		assert_true(fds[i] >= 0);
		assert_true(healthz_on(fds[i]));
	}
	/* A fifth from the same address is closed unanswered. */
	extra = connect_to(H.port);
	if (extra >= 0) {
		assert_false(healthz_on(extra));
		close(extra);
	}
	/* One leaves: another may come (once flockd has seen it go). */
	close(fds[0]);
	for (i = 0; i < 200 && !ok; i++) {
		extra = connect_to(H.port);
		ok = extra >= 0 && healthz_on(extra);
		if (extra >= 0)
			close(extra);
		if (!ok)
			sleep_ms(50);
	}
	assert_true(ok);
	for (i = 1; i < 4; i++)
		close(fds[i]);
	(void)buf;
}

static int setup_slow(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--header-timeout";
	H.extra_args[1] = "2";
	return h_start(&H);
}

#define TRICKLERS 20

/* Slowloris: connections trickling a header line every 100 ms, which
 * resets the idle timeout, are cut at the header deadline (2 s here),
 * while a normal client is served all along. Bounded: 60 s at most. */
static void test_header_deadline(void **state)
{
	int fds[TRICKLERS], open_n = TRICKLERS, i, rounds;
	int cut[TRICKLERS] = {0};
	struct timespec t0, t1;
	h_resp r;

	(void)state;
	for (i = 0; i < TRICKLERS; i++) {
		fds[i] = connect_to(H.port);
		assert_true(fds[i] >= 0);
		assert_int_equal(
		        send_all(fds[i], "GET /healthz HTTP/1.1\r\n", 23), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (rounds = 0; rounds < 600 && open_n > 0; rounds++) {
		for (i = 0; i < TRICKLERS; i++) {
			char b[64];
			struct pollfd p = {fds[i], POLLIN, 0};

			if (cut[i])
				continue;
			if ((poll(&p, 1, 0) > 0 &&
			     recv(fds[i], b, sizeof(b), MSG_DONTWAIT) <= 0) ||
			    send_all(fds[i], "X-a: b\r\n", 8) < 0) {
				if (getenv("DEBUG_TRICKLE"))
					print_message(
					        "cut %d round %d errno %d\n", i,
					        rounds, errno);
				cut[i] = 1;
				open_n--;
			}
		}
		if (rounds % 10 == 0) {
			h_call(&H, &r, "GET", "/healthz", NULL, NULL, NULL);
			assert_int_equal(r.status, 200);
			h_resp_free(&r);
		}
		sleep_ms(100);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(open_n, 0);
	/* Not before the deadline (the trickle went on that long). */
	assert_true(t1.tv_sec - t0.tv_sec >= 1);
	for (i = 0; i < TRICKLERS; i++)
		close(fds[i]);
	/* The guard logs just after it cuts (the client may see it first). */
	for (i = 0; i < 200 && log_count("header deadline") < 1; i++)
		sleep_ms(50);
	assert_true(log_count("header deadline") >= 1);
	/* And counts every connection it cut. */
	assert_true(h_metric(&H, "flockd_http_connections_cut_total") >=
	            TRICKLERS);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_store_outage_is_503,
	                                        setup_dash, teardown),
	        cmocka_unit_test(test_pg_server_down_is_503),
	        T(test_smuggling_refused),
	        T(test_head_like_get),
	        T(test_refused_at_headers),
	        T(test_refused_small_body_read),
	        T(test_readyz_when_writes_fail),
	        T(test_read_only_file_refused),
	        cmocka_unit_test_setup_teardown(test_body_budget, setup_budget,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_per_ip_limit, setup_per_ip,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_header_deadline,
	                                        setup_slow, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
