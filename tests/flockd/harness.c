/*
 * Integration test harness: the real flockd on loopback.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "common/ids.h"

/* ---- back-end ----------------------------------------------------------- */

int h_is_pg(void)
{
	const char *b = getenv("FLOCKD_TEST_BACKEND");

	return b && strcmp(b, "pg") == 0;
}

/* Before main: a PostgreSQL variant without a server is skipped. */
__attribute__((constructor)) static void h_backend_check(void)
{
	const char *url = getenv("FLOCK_TEST_PG");

	if (h_is_pg() && (!url || !*url)) {
		fprintf(stderr,
		        "SKIP: FLOCKD_TEST_BACKEND=pg but FLOCK_TEST_PG "
		        "is unset (start one: scripts/pg-cluster.sh "
		        "start)\n");
		exit(77);
	}
}

/* url with its database name replaced by name. */
static int url_with_db(char *out, size_t len, const char *url, const char *name)
{
	const char *host = strstr(url, "://"), *slash, *query;
	int n;

	if (!host)
		return -1;
	slash = strchr(host + 3, '/');
	query = strchr(host + 3, '?');
	if (!slash || (query && query < slash))
		slash = query ? query : url + strlen(url);
	n = snprintf(out, len, "%.*s/%s%s", (int)(slash - url), url, name,
	             query ? query : "");
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int pg_exec(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "harness: FLOCK_TEST_PG: %s",
		        PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	     PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static int admin_exec(const char *sql)
{
	return pg_exec(getenv("FLOCK_TEST_PG"), sql);
}

int h_db_exec(const char *db, const char *sql)
{
	sqlite3 *s = NULL;
	int rc;

	if (strncmp(db, "postgres", 8) == 0)
		return pg_exec(db, sql);
	if (sqlite3_open(db, &s) != SQLITE_OK) {
		sqlite3_close(s);
		return -1;
	}
	sqlite3_busy_timeout(s, 5000);
	rc = sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_close(s);
	return rc;
}

int h_pg_cluster(const char *verb, const char *dir, char *url, size_t len)
{
	char cmd[1024];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s/scripts/pg-cluster.sh %s %s",
	         FLOCK_SOURCE_DIR, verb, dir);
	if (!(p = popen(cmd, "r")))
		return -1;
	if (url && !fgets(url, (int)len, p))
		url[0] = '\0';
	st = pclose(p);
	if (url)
		url[strcspn(url, "\n")] = '\0';
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int h_db_long(const char *db, const char *sql, long *out)
{
	int rc = -1;

	if (strncmp(db, "postgres", 8) == 0) {
		PGconn *c = PQconnectdb(db);
		PGresult *r =
		        PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;

		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
		    !PQgetisnull(r, 0, 0)) {
			*out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
			rc = 0;
		} else {
			fprintf(stderr, "harness: %s: %s", sql,
			        PQerrorMessage(c));
		}
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *s = NULL;
		sqlite3_stmt *st = NULL;

		if (sqlite3_open(db, &s) == SQLITE_OK &&
		    sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			*out = (long)sqlite3_column_int64(st, 0);
			rc = 0;
		}
		sqlite3_finalize(st);
		sqlite3_close(s);
	}
	return rc;
}

int h_db_new(char *out, size_t len, const char *dir)
{
	static int counter;
	char name[64], sql[128];

	if (!h_is_pg()) {
		int n = snprintf(out, len, "%s/flockd.db", dir);
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	snprintf(name, sizeof(name), "flockd_test_%ld_%d_%ld", (long)getpid(),
	         ++counter, (long)time(NULL) % 100000);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (admin_exec(sql) < 0)
		return -1;
	return url_with_db(out, len, getenv("FLOCK_TEST_PG"), name);
}

void h_db_drop(const char *db)
{
	const char *name;
	char sql[160];
	size_t n;

	if (strncmp(db, "postgres", 8) != 0 || !(name = strrchr(db, '/')))
		return;
	name++;
	n = strcspn(name, "?");
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %.*s WITH (FORCE)",
	         (int)n, name);
	admin_exec(sql);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A port nobody listens on right now (the kernel's choice). */
static unsigned short free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned short port = 0;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Every flockd serving: a test that fails between h_serve and h_stop
 * must not leave one running (it would hold ctest's output pipe). */
#define MAX_SERVING 32
static pid_t serving[MAX_SERVING];

static void serving_kill_all(void)
{
	int i, st;

	for (i = 0; i < MAX_SERVING; i++)
		if (serving[i] > 0) {
			kill(serving[i], SIGKILL);
			waitpid(serving[i], &st, 0);
			serving[i] = 0;
		}
}

static void serving_set(pid_t old, pid_t pid)
{
	static int registered;
	int i;

	if (!registered && atexit(serving_kill_all) == 0)
		registered = 1;
	for (i = 0; i < MAX_SERVING; i++)
		if (serving[i] == old) {
			serving[i] = pid;
			return;
		}
}

static const char *flockd_bin(void)
{
	const char *bin = getenv("FLOCKD_BIN");
	return bin && *bin ? bin : "flockd";
}

/* fork+exec argv with stdout to out_path (NULL: inherit), stderr to
 * err_path (append). Returns the child's pid or -1. */
static pid_t spawn(char *const argv[], const char *out_path,
                   const char *err_path, const char *const *env)
{
	pid_t pid = fork();
	int i;

	if (pid != 0)
		return pid;
	for (i = 0; env && env[i]; i++)
		putenv((char *)env[i]);
	if (out_path) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
	}
	if (err_path) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Find the string under the first of several names, anywhere in v. */
static const char *find_str(json_t *v, const char *const *names)
{
	const char *k, *s;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		for (i = 0; names[i]; i++) {
			s = json_string_value(json_object_get(v, names[i]));
			if (s)
				return s;
		}
		json_object_foreach(v, k, x)
		{
			if ((s = find_str(x, names)))
				return s;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			if ((s = find_str(x, names)))
				return s;
		}
	}
	return NULL;
}

static int copy_found(char *dst, size_t len, json_t *v,
                      const char *const *names)
{
	const char *s = find_str(v, names);

	if (!s || strlen(s) >= len)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int parse_init(fd_harness *h)
{
	static const char *const app[] = {"applicationId", "appId", "app_id",
	                                  NULL};
	static const char *const sk[] = {"serviceKey", "service_key", NULL};
	static const char *const pk[] = {"publicKey", "public_key", NULL};
	static const char *const ak[] = {"adminToken", "admin_token",
	                                 "adminKey", NULL};
	char path[400];
	json_error_t err;

	snprintf(path, sizeof(path), "%s/init.json", h->dir);
	h->init = json_load_file(path, 0, &err);
	if (!h->init) {
		fprintf(stderr, "harness: init output: %s\n", err.text);
		return -1;
	}
	if (copy_found(h->app_id, sizeof(h->app_id), h->init, app) < 0 ||
	    copy_found(h->service_key, sizeof(h->service_key), h->init, sk) ||
	    copy_found(h->public_key, sizeof(h->public_key), h->init, pk) ||
	    copy_found(h->admin_token, sizeof(h->admin_token), h->init, ak)) {
		fprintf(stderr, "harness: init output lacks a key\n");
		return -1;
	}
	return 0;
}

static int run_init(fd_harness *h)
{
	char out[400];
	char *argv[] = {(char *)flockd_bin(), "init", "--database", h->db,
	                "--app-name",         "test", NULL};
	int st = 0;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/init.json", h->dir);
	pid = spawn(argv, out, h->log, NULL);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "harness: flockd init failed (%d)\n", st);
		return -1;
	}
	return parse_init(h);
}

int h_start(fd_harness *h)
{
	const char *tmp = getenv("TMPDIR");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(h->dir, sizeof(h->dir), "%s/flockd-test-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(h->dir))
		return -1;
	snprintf(h->log, sizeof(h->log), "%s/flockd.log", h->dir);
	if (h_db_new(h->db, sizeof(h->db), h->dir) < 0)
		return -1;
	if (run_init(h) < 0)
		return -1;
	return h_serve(h);
}

static int ready(fd_harness *h)
{
	h_resp r;
	int ok;

	if (h_call(h, &r, "GET", "/readyz", NULL, NULL, NULL) < 0)
		return 0;
	ok = r.status == 200;
	h_resp_free(&r);
	return ok;
}

static int has_test_clock(const fd_harness *h)
{
	const char *env = getenv("FLOCKD_TEST_CLOCK");
	int i;

	if (env && strcmp(env, "1") == 0)
		return 1;
	for (i = 0; h->extra_args[i]; i++)
		if (strcmp(h->extra_args[i], "--test-clock") == 0)
			return 1;
	return 0;
}

/* POST /admin/test/clock {"advanceMs": ms}: the clock's time, or -1. */
static int64_t clock_post(fd_harness *h, int64_t ms)
{
	char body[64];
	h_resp r;
	int64_t now = -1;

	snprintf(body, sizeof(body), "{\"advanceMs\":%lld}", (long long)ms);
	if (h_call(h, &r, "POST", "/admin/test/clock", h->admin_token, body,
	           NULL) == 0 &&
	    r.status == 200)
		now = (int64_t)json_integer_value(
		        json_object_get(r.json, "nowMs"));
	else
		fprintf(stderr, "harness: POST /admin/test/clock: %d %s\n",
		        r.status, r.text ? r.text : "");
	h_resp_free(&r);
	return now > 0 ? now : -1;
}

int64_t h_clock_advance(fd_harness *h, int64_t ms)
{
	int64_t now = clock_post(h, ms);

	if (now > 0)
		h->clock_offset_ms += ms;
	return now;
}

int64_t h_clock_now(const fd_harness *h)
{
	return flock__now_ms() + h->clock_offset_ms;
}

/* A restarted or second flockd goes on from the clock's last time. */
static int resume_clock(fd_harness *h)
{
	if (h->clock_offset_ms == 0)
		return 0;
	if (!has_test_clock(h)) {
		fprintf(stderr,
		        "harness: the clock was moved %lld ms, and "
		        "this flockd has no --test-clock\n",
		        (long long)h->clock_offset_ms);
		return -1;
	}
	return clock_post(h, h->clock_offset_ms) > 0 ? 0 : -1;
}

double h_metric(fd_harness *h, const char *sample)
{
	size_t n = strlen(sample);
	double v = -1;
	const char *p;
	h_resp r;

	if (h_call(h, &r, "GET", "/metrics", NULL, NULL, NULL) == 0 &&
	    r.status == 200 && r.text) {
		for (p = r.text; p; p = strchr(p, '\n')) {
			if (*p == '\n')
				p++;
			if (strncmp(p, sample, n) == 0 && p[n] == ' ') {
				v = strtod(p + n + 1, NULL);
				break;
			}
		}
	}
	h_resp_free(&r);
	return v;
}

/* Start serve and wait up to 10 s for /readyz; a port taken between
 * free_port() and bind is retried with another. */
int h_serve(fd_harness *h)
{
	int attempt, i;

	for (attempt = 0; attempt < 5; attempt++) {
		char listen[32];
		char *argv[24] = {
		        (char *)flockd_bin(), "serve", "--listen",    listen,
		        "--database",         h->db,   "--log-level", "warn"};
		int n = 8, st;

		h->port = h->want_port ? h->want_port : free_port();
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", h->port);
		snprintf(h->base_url, sizeof(h->base_url),
		         "http://127.0.0.1:%u", h->port);
		for (i = 0; h->extra_args[i] && n < 22; i++)
			argv[n++] = (char *)h->extra_args[i];
		argv[n] = NULL;
		h->pid = spawn(argv, NULL, h->log, h->extra_env);
		if (h->pid < 0)
			return -1;
		serving_set(0, h->pid);
		for (i = 0; i < 200; i++) {
			if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
				serving_set(h->pid, 0);
				h->pid = 0;
				break;
			}
			if (ready(h)) {
				if (resume_clock(h) == 0)
					return 0;
				h_kill(h, SIGKILL);
				return -1;
			}
			sleep_ms(50);
		}
		if (h->pid > 0)
			h_kill(h, SIGKILL);
	}
	fprintf(stderr, "harness: flockd did not become ready; see %s\n",
	        h->log);
	return -1;
}

int h_kill(fd_harness *h, int sig)
{
	int st = 0;

	if (h->pid <= 0)
		return -1;
	kill(h->pid, sig);
	waitpid(h->pid, &st, 0);
	serving_set(h->pid, 0);
	h->pid = 0;
	return st;
}

void h_stop(fd_harness *h)
{
	char path[400];

	if (h->pid > 0)
		h_kill(h, SIGTERM);
	if (h->shared) {
		unlink(h->log);
		curl_global_cleanup();
		return;
	}
	if (getenv("FLOCKD_TEST_KEEP")) {
		fprintf(stderr, "harness: kept %s\n", h->dir);
	} else if (h->dir[0]) {
		static const char *const files[] = {
		        "flockd.db",  "flockd.db-wal", "flockd.db-shm",
		        "flockd.log", "init.json",     NULL};
		int i;

		h_db_drop(h->db);
		for (i = 0; files[i]; i++) {
			snprintf(path, sizeof(path), "%s/%s", h->dir, files[i]);
			unlink(path);
		}
		rmdir(h->dir);
	}
	json_decref(h->init);
	h->init = NULL;
	curl_global_cleanup();
}

int h_attach(fd_harness *b, const fd_harness *a, const char *log_name)
{
	*b = *a;
	b->pid = 0;
	b->shared = 1;
	b->init = NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(b->log, sizeof(b->log), "%s/%s", a->dir, log_name);
	return h_serve(b);
}

/* --- HTTP ----------------------------------------------------------------- */

typedef struct {
	char *data;
	size_t len;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	sink *s = ud;
	char *grown = realloc(s->data, s->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + s->len, p, size * n);
	s->len += size * n;
	grown[s->len] = '\0';
	s->data = grown;
	return size * n;
}

static void header_value(char *dst, size_t cap, const char *line, size_t n,
                         const char *name)
{
	size_t nl = strlen(name), vlen;

	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	n -= nl + 1;
	while (n && *line == ' ') {
		line++;
		n--;
	}
	vlen = n;
	while (vlen && (line[vlen - 1] == '\r' || line[vlen - 1] == '\n'))
		vlen--;
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(dst, line, vlen);
	dst[vlen] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	h_resp *r = ud;
	char flag[16] = "";

	header_value(r->request_id, sizeof(r->request_id), p, size * n,
	             "X-Request-Id");
	header_value(r->allow, sizeof(r->allow), p, size * n, "Allow");
	header_value(r->retry_after, sizeof(r->retry_after), p, size * n,
	             "Retry-After");
	header_value(flag, sizeof(flag), p, size * n, "Idempotent-Replayed");
	if (strcmp(flag, "true") == 0)
		r->replayed = 1;
	return size * n;
}

/* A body over 1 MiB is announced with Expect: 100-continue and sent only
 * when flockd asks for it, so a refusal before the body (413) is read
 * rather than lost to the reset of a connection closed mid-upload;
 * smaller bodies go at once. */
static struct curl_slist *make_headers(const char *key, const char *idem,
                                       size_t body_len)
{
	struct curl_slist *hs = NULL;
	char line[512];

	hs = curl_slist_append(hs, "Content-Type: application/json");
	hs = curl_slist_append(hs, body_len > 1024 * 1024
	                                   ? "Expect: 100-continue"
	                                   : "Expect:");
	if (key) {
		snprintf(line, sizeof(line), "Authorization: %s", key);
		hs = curl_slist_append(hs, line);
	}
	if (idem) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
		hs = curl_slist_append(hs, line);
	}
	return hs;
}

int h_call(fd_harness *h, h_resp *out, const char *method, const char *path,
           const char *key, const char *body, const char *idem)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs =
	        make_headers(key, idem, body ? strlen(body) : 0);
	sink s = {NULL, 0};
	char url[2048];
	long status = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!c || !hs)
		goto done;
	snprintf(url, sizeof(url), "%s%s", h->base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	/* Wait for flockd's answer to Expect: 100-continue however slow it
	 * is (sanitizers): curl's default is to send the body after 1 s. */
	curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(c) != CURLE_OK)
		goto done;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	out->status = (int)status;
	out->text = s.data;
	s.data = NULL;
	if (out->text)
		out->json = json_loads(out->text, 0, NULL);
	rc = 0;
done:
	free(s.data);
	curl_slist_free_all(hs);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

int h_callf(fd_harness *h, h_resp *out, const char *method, const char *path,
            const char *key, const char *fmt, ...)
{
	va_list ap;
	json_t *v;
	char *text;
	int rc;

	va_start(ap, fmt);
	v = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (!text) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	rc = h_call(h, out, method, path, key, text, NULL);
	free(text);
	return rc;
}

void h_resp_free(h_resp *r)
{
	json_decref(r->json);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

const char *h_admin_path(fd_harness *h, char *buf, size_t len,
                         const char *suffix)
{
	snprintf(buf, len, "/admin/apps/%s%s", h->app_id, suffix);
	return buf;
}

long h_listed_in(fd_harness *h, const char *suffix, const char *env)
{
	char path[300];
	json_t *data, *item;
	const char *e;
	size_t i;
	h_resp r;
	long n = -1;

	snprintf(path, sizeof(path), "/admin/apps/%s%s?environment=%s",
	         h->app_id, suffix, env);
	if (h_call(h, &r, "GET", path, h->admin_token, NULL, NULL) != 0)
		return -1;
	data = json_object_get(r.json, "data");
	if (r.status == 200 &&
	    json_integer_value(json_object_get(r.json, "total")) ==
	            (json_int_t)json_array_size(data))
		n = (long)json_array_size(data);
	json_array_foreach(data, i, item)
	{
		e = json_string_value(json_object_get(item, "environment"));
		if (!e || strcmp(e, env) != 0)
			n = -1;
	}
	h_resp_free(&r);
	return n;
}

int h_create_key(fd_harness *h, const char *app_id, const char *kind,
                 const char *env, char *out, size_t outlen)
{
	static const char *const names[] = {"secret", "key", "token", NULL};
	char path[256];
	h_resp r;
	int rc = -1;

	snprintf(path, sizeof(path), "/admin/apps/%s/keys", app_id);
	if (env)
		h_callf(h, &r, "POST", path, h->admin_token, "{s:s,s:s}",
		        "kind", kind, "environment", env);
	else
		h_callf(h, &r, "POST", path, h->admin_token, "{s:s}", "kind",
		        kind);
	if (r.status == 201 && r.json)
		rc = copy_found(out, outlen, r.json, names);
	if (rc < 0)
		fprintf(stderr, "harness: create key: %d %s\n", r.status,
		        r.text ? r.text : "");
	h_resp_free(&r);
	return rc;
}

static json_t *campaign_body(const char *env, int hold_days, int limit)
{
	json_t *b = json_pack(
	        "{s:s,s:s,s:i,s:[{s:s,s:s,s:s,s:s,s:f,s:s},"
	        "{s:s,s:s,s:s,s:s,s:f,s:s}],s:[{s:s,s:s}]}",
	        "name", "Give 10 get 10", "environment", env, "rewardHoldDays",
	        hold_days, "rewards", "name", "Referrer $10", "type", "payout",
	        "party", "referrer", "method", "paypal", "payoutAmount", 10.0,
	        "currency", "usd", "name", "Referee $10", "type", "payout",
	        "party", "referee", "method", "paypal", "payoutAmount", 10.0,
	        "currency", "usd", "checkpoints", "checkpointName",
	        "purchase_completed", "trigger", "reward");

	if (b && limit > 0)
		json_object_set_new(
		        json_array_get(json_object_get(b, "rewards"), 0),
		        "limit", json_integer(limit));
	return b;
}

int h_live_campaign(fd_harness *h, const char *env, int hold_days, int limit,
                    char *out, size_t outlen)
{
	char path[256], golive[320];
	json_t *body = campaign_body(env, hold_days, limit);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	const char *id;
	h_resp r;
	int rc = -1;

	json_decref(body);
	memset(&r, 0, sizeof(r));
	if (!text)
		return -1;
	h_admin_path(h, path, sizeof(path), "/campaigns");
	h_call(h, &r, "POST", path, h->admin_token, text, NULL);
	free(text);
	id = json_string_value(json_object_get(r.json, "id"));
	if (r.status != 201 || !id || strlen(id) >= outlen) {
		fprintf(stderr, "harness: create campaign: %d %s\n", r.status,
		        r.text ? r.text : "");
		goto done;
	}
	memcpy(out, id, strlen(id) + 1);
	snprintf(golive, sizeof(golive), "%s/%s/go-live", path, out);
	h_resp_free(&r);
	h_call(h, &r, "POST", golive, h->admin_token, NULL, NULL);
	if (r.status == 200 || r.status == 201)
		rc = 0;
	else
		fprintf(stderr, "harness: go-live: %d %s\n", r.status,
		        r.text ? r.text : "");
done:
	h_resp_free(&r);
	return rc;
}
