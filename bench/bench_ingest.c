/*
 * bench_ingest: flockd's reward-granting ingest against its /noop baseline.
 *
 * Starts a real flockd on a fresh database (init, optionally bench-seed
 * with N background customers), sets up one referral per referee to be
 * ingested, then drives C keep-alive connections (libcurl multi, one
 * thread) for D seconds at GET /noop and then at POST /checkpoints/ingest,
 * each ingest for a referee not seen before, so every request grants the
 * campaign's two rewards durably. Prints req/s, p50/p99/max latency, the
 * ratio to noop, and flockd's peak RSS (VmHWM); on SQLite also the
 * largest size of flockd.db-wal seen (sampled every 50 ms while requests
 * run, setup included).
 *
 * With --database URL (an empty PostgreSQL database) flockd runs on it
 * instead of a SQLite file in a temp dir; with --nodes 2, two flockd
 * processes serve that one database and the connections alternate
 * between them (connection i goes to node i % 2).
 *
 *   bench_ingest [--flockd PATH] [--customers N] [--duration S]
 *                [--connections C] [--server-threads T] [--referees M]
 *                [--database URL] [--nodes 1|2] [--idempotency-key 0|1]
 *
 * With --idempotency-key 1 every ingest carries an Idempotency-Key of its
 * own (as libflock sends). It also prints flockd's CPU time per ingest
 * (user + system of every thread, /proc/PID/stat, across the ingest
 * phase) and the database round trips per ingest
 * (flockd_db_round_trips_total of /metrics: PostgreSQL's PQexec* calls
 * and pipeline waits; SQLite has none).
 *
 * BENCH_INGEST_HOOK (bench/callgrind_ingest.sh sets it): a command run
 * as `HOOK ingest-start PID` right before the ingest phase and `HOOK
 * ingest-end PID` right after it, PID node 1's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#define MAX_CONNS 512
#define MAX_NODES 2
#define HIST_US 10                 /* histogram resolution */
#define HIST_N (2000000 / HIST_US) /* up to 2 s */

typedef struct {
	const char *flockd;
	const char *database; /* NULL: a SQLite file in dir */
	long customers;
	int duration;
	int conns;
	int server_threads;
	long referees;
	char dir[256];
	char db[300];
	int nodes;
	char base[64]; /* node 0: setup goes there */
	char bases[MAX_NODES][64];
	pid_t pids[MAX_NODES];
	char app[64];
	char service_key[160];
	char admin_token[160];
	char campaign[64];
	char **codes; /* referral codes of the referrers */
	int referrers;
	pid_t pid;
	char wal[320];      /* SQLite: flockd.db-wal, sampled during phases */
	long long wal_peak; /* the largest size seen, bytes */
	int idem;           /* an Idempotency-Key on every ingest */
	double wal_next;    /* when to sample next */
} bench;

typedef struct {
	long done, ok, failed, rewards;
	double seconds;
	unsigned *hist;
	double max_ms;
} stats;

typedef enum { REQ_NOOP, REQ_INGEST, REQ_IDENTIFY, REQ_REFER } req_kind;

typedef struct {
	CURL *h;
	struct curl_slist *hdrs, *idem_hdrs;
	char auth[200];
	char body[512];
	char resp[4096];
	size_t resp_len;
	struct timespec t0;
	int node;
} slot;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "bench_ingest: %s\n", what);
	exit(1);
}

static long arg_long(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		die("bad number");
	return v;
}

/* Every 50 ms: the WAL's size now, kept if it is the largest seen. */
static void sample_wal(bench *b)
{
	struct stat st;
	double t = now_s();

	if (!b->wal[0] || t < b->wal_next)
		return;
	b->wal_next = t + 0.05;
	if (stat(b->wal, &st) == 0 && (long long)st.st_size > b->wal_peak)
		b->wal_peak = (long long)st.st_size;
}

static size_t on_resp(char *p, size_t size, size_t n, void *ud)
{
	slot *s = ud;
	size_t len = size * n, room = sizeof(s->resp) - 1 - s->resp_len;

	memcpy(s->resp + s->resp_len, p, len < room ? len : room);
	s->resp_len += len < room ? len : room;
	s->resp[s->resp_len] = '\0';
	return len;
}

/* Point a slot's handle at request i of a kind. */
static void prepare(bench *b, slot *s, req_kind kind, long i)
{
	char url[256];
	const char *path = "/noop";

	s->resp_len = 0;
	s->resp[0] = '\0';
	switch (kind) {
	case REQ_NOOP:
		s->body[0] = '\0';
		break;
	case REQ_INGEST:
		path = "/checkpoints/ingest";
		snprintf(s->body, sizeof(s->body),
		         "{\"checkpointName\":\"purchase_completed\","
		         "\"externalUserId\":\"referee-%ld\","
		         "\"environment\":\"production\"}",
		         i);
		break;
	case REQ_IDENTIFY:
		path = "/customers/identify";
		snprintf(s->body, sizeof(s->body),
		         "{\"externalUserId\":\"referee-%ld\"}", i);
		break;
	case REQ_REFER:
		path = "/referrals";
		snprintf(s->body, sizeof(s->body),
		         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
		         "\"refereeExternalUserId\":\"referee-%ld\"}",
		         b->campaign, b->codes[i % b->referrers], i);
		break;
	}
	snprintf(url, sizeof(url), "%s%s", b->bases[s->node], path);
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	if (kind == REQ_INGEST && b->idem) {
		char key[80];

		snprintf(key, sizeof(key), "Idempotency-Key: bench-%d-%ld",
		         (int)getpid(), i);
		curl_slist_free_all(s->idem_hdrs);
		s->idem_hdrs = curl_slist_append(
		        NULL, "Content-Type: application/json");
		s->idem_hdrs = curl_slist_append(s->idem_hdrs, s->auth);
		s->idem_hdrs = curl_slist_append(s->idem_hdrs, "Expect:");
		s->idem_hdrs = curl_slist_append(s->idem_hdrs, key);
		curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->idem_hdrs);
	}
	if (kind == REQ_NOOP) {
		curl_easy_setopt(s->h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE,
		                 (long)strlen(s->body));
	}
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
}

static void slot_init(bench *b, slot *s)
{
	memset(s, 0, sizeof(*s));
	s->h = curl_easy_init();
	if (!s->h)
		die("curl_easy_init");
	snprintf(s->auth, sizeof(s->auth), "Authorization: %s", b->service_key);
	s->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	s->hdrs = curl_slist_append(s->hdrs, s->auth);
	s->hdrs = curl_slist_append(s->hdrs, "Expect:");
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_resp);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
}

static void record(stats *st, slot *s, req_kind kind, long status)
{
	struct timespec t;
	double us;
	long b;
	const char *p;

	clock_gettime(CLOCK_MONOTONIC, &t);
	us = (double)(t.tv_sec - s->t0.tv_sec) * 1e6 +
	     (double)(t.tv_nsec - s->t0.tv_nsec) / 1e3;
	b = (long)(us / HIST_US);
	st->hist[b < HIST_N ? b : HIST_N - 1]++;
	if (us / 1000 > st->max_ms)
		st->max_ms = us / 1000;
	st->done++;
	if (status < 200 || status > 299) {
		st->failed++;
		if (st->failed <= 3)
			fprintf(stderr, "bench_ingest: HTTP %ld: %.200s\n",
			        status, s->resp);
		return;
	}
	st->ok++;
	if (kind != REQ_INGEST)
		return;
	for (p = s->resp; (p = strstr(p, "\"rwd_")); p++)
		st->rewards++;
}

/*
 * Run requests of one kind over b->conns connections until `count` are
 * done (count > 0) or `seconds` have passed (seconds > 0).
 */
static void phase(bench *b, req_kind kind, long first, long count,
                  double seconds, stats *st)
{
	CURLM *m = curl_multi_init();
	slot *slots = calloc((size_t)b->conns, sizeof(slot));
	double start = now_s(), end = start + seconds;
	long next = first, limit = count > 0 ? first + count : -1;
	int i, running = 0, active = 0;

	memset(st, 0, sizeof(*st));
	st->hist = calloc(HIST_N, sizeof(unsigned));
	if (!m || !slots || !st->hist)
		die("out of memory");
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)b->conns);
	for (i = 0; i < b->conns && (limit < 0 || next < limit); i++) {
		slot_init(b, &slots[i]);
		slots[i].node = i % b->nodes;
		prepare(b, &slots[i], kind, next++);
		curl_multi_add_handle(m, slots[i].h);
		active++;
	}
	while (active > 0) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			slot *s;
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			                  (char **)&s);
			if (msg->data.result == CURLE_OK)
				curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE,
				                  &status);
			record(st, s, kind, status);
			curl_multi_remove_handle(m, s->h);
			if ((limit >= 0 && next >= limit) ||
			    (seconds > 0 && now_s() >= end)) {
				active--;
				continue;
			}
			prepare(b, s, kind, next++);
			curl_multi_add_handle(m, s->h);
		}
		sample_wal(b);
		if (active > 0)
			curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	st->seconds = now_s() - start;
	for (i = 0; i < b->conns; i++) {
		if (!slots[i].h)
			continue;
		curl_easy_cleanup(slots[i].h);
		curl_slist_free_all(slots[i].hdrs);
		curl_slist_free_all(slots[i].idem_hdrs);
	}
	free(slots);
	curl_multi_cleanup(m);
}

static double percentile(const stats *st, double p)
{
	long want = (long)((double)st->done * p), seen = 0, i;

	for (i = 0; i < HIST_N; i++) {
		seen += st->hist[i];
		if (seen > want)
			return (double)(i + 1) * HIST_US / 1000;
	}
	return st->max_ms;
}

static void report(const char *name, const stats *st)
{
	printf("%-8s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  max %8.2f ms"
	       "  (%ld ok, %ld failed, %.1f s)\n",
	       name, (double)st->ok / st->seconds, percentile(st, 0.50),
	       percentile(st, 0.99), st->max_ms, st->ok, st->failed,
	       st->seconds);
	fflush(stdout);
}

/* --- the flockd process and fixtures ------------------------------------ */

typedef struct {
	char *data;
	size_t len;
} sink;

static size_t on_sink(char *p, size_t size, size_t n, void *ud)
{
	sink *s = ud;
	char *g = realloc(s->data, s->len + size * n + 1);

	if (!g)
		return 0;
	memcpy(g + s->len, p, size * n);
	s->len += size * n;
	g[s->len] = '\0';
	s->data = g;
	return size * n;
}

/* One blocking exchange; the parsed body (or NULL) and *status. */
static json_t *call(bench *b, const char *method, const char *path,
                    const char *key, const char *body, long *status)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hs = NULL;
	sink s = {NULL, 0};
	char url[512], auth[200];
	json_t *out = NULL;

	*status = 0;
	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", b->base, path);
	snprintf(auth, sizeof(auth), "Authorization: %s", key);
	hs = curl_slist_append(hs, "Content-Type: application/json");
	hs = curl_slist_append(hs, auth);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (s.data)
			out = json_loads(s.data, 0, NULL);
	}
	free(s.data);
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	return out;
}

/* Run flockd with args, stdout to out_path; exit status or -1. */
static int run(const char *const *args, const char *out_path)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void copy_str(char *dst, size_t len, json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	if (!v || strlen(v) >= len) {
		fprintf(stderr, "bench_ingest: no '%s' in output\n", k);
		exit(1);
	}
	memcpy(dst, v, strlen(v) + 1);
}

static void init_db(bench *b)
{
	char out[400], n[32];
	const char *init[] = {b->flockd, "init", "--database", b->db, NULL};
	const char *seed[] = {b->flockd, "bench-seed", "--database",  b->db,
	                      "--app",   b->app,       "--customers", n,
	                      NULL};
	json_t *j = NULL;
	double t0;

	snprintf(out, sizeof(out), "%s/init.json", b->dir);
	if (run(init, out) != 0 || !(j = json_load_file(out, 0, NULL)))
		die("flockd init failed");
	copy_str(b->app, sizeof(b->app), j, "applicationId");
	copy_str(b->service_key, sizeof(b->service_key), j, "serviceKey");
	copy_str(b->admin_token, sizeof(b->admin_token), j, "adminToken");
	json_decref(j);
	if (b->customers <= 0)
		return;
	snprintf(n, sizeof(n), "%ld", b->customers);
	snprintf(out, sizeof(out), "%s/seed.json", b->dir);
	t0 = now_s();
	if (run(seed, out) != 0)
		die("flockd bench-seed failed");
	printf("seeded   %ld customers in %.1f s\n", b->customers,
	       now_s() - t0);
}

static void start_node(bench *b, int k)
{
	char listen[32], threads[16], logp[400];
	const char *args[] = {b->flockd,
	                      "serve",
	                      "--listen",
	                      listen,
	                      "--database",
	                      b->db,
	                      "--threads",
	                      threads,
	                      "--log-level",
	                      "warn",
	                      "--velocity-per-hour",
	                      "1000000000",
	                      NULL};
	int port = 20000 + (int)(getpid() % 20000) + k, i;
	long st;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(threads, sizeof(threads), "%d", b->server_threads);
	snprintf(b->bases[k], sizeof(b->bases[k]), "http://127.0.0.1:%d", port);
	snprintf(logp, sizeof(logp), "%s/flockd.log", b->dir);
	b->pids[k] = fork();
	if (b->pids[k] == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	memcpy(b->base, b->bases[k], sizeof(b->base));
	for (i = 0; i < 1200; i++) {
		json_decref(call(b, "GET", "/readyz", "", NULL, &st));
		if (st == 200)
			break;
		usleep(50000);
	}
	memcpy(b->base, b->bases[0], sizeof(b->base));
	if (st != 200)
		die("flockd did not become ready");
}

static void start_flockd(bench *b)
{
	int k;

	for (k = 0; k < b->nodes; k++)
		start_node(b, k);
	b->pid = b->pids[0];
}

/* A live production campaign paying both sides on purchase_completed. */
static void make_campaign(bench *b)
{
	const char *body =
	        "{\"name\":\"bench\",\"environment\":\"production\","
	        "\"rewards\":[{\"name\":\"r\",\"type\":\"payout\","
	        "\"party\":\"referrer\",\"method\":\"paypal\","
	        "\"payoutAmount\":5,\"currency\":\"usd\"},"
	        "{\"name\":\"e\",\"type\":\"payout\",\"party\":\"referee\","
	        "\"method\":\"paypal\",\"payoutAmount\":5,\"currency\":"
	        "\"usd\"}],\"checkpoints\":[{\"checkpointName\":"
	        "\"purchase_completed\",\"trigger\":\"reward\"}]}";
	char path[256];
	long st;
	json_t *j;

	snprintf(path, sizeof(path), "/admin/apps/%s/campaigns", b->app);
	j = call(b, "POST", path, b->admin_token, body, &st);
	if (st != 201)
		die("campaign create failed");
	copy_str(b->campaign, sizeof(b->campaign), j, "id");
	json_decref(j);
	snprintf(path, sizeof(path), "/admin/apps/%s/campaigns/%s/go-live",
	         b->app, b->campaign);
	json_decref(call(b, "POST", path, b->admin_token, "", &st));
	if (st != 200)
		die("go-live failed");
}

static void make_referrers(bench *b)
{
	char body[128];
	long st;
	int i;

	b->codes = calloc((size_t)b->referrers, sizeof(char *));
	if (!b->codes)
		die("out of memory");
	for (i = 0; i < b->referrers; i++) {
		json_t *j;
		const char *code;

		snprintf(body, sizeof(body),
		         "{\"externalUserId\":\"referrer-%d\"}", i);
		j = call(b, "POST", "/customers/identify", b->service_key, body,
		         &st);
		code = json_string_value(json_object_get(j, "referralCode"));
		if (!code || !(b->codes[i] = strdup(code)))
			die("identify referrer failed");
		json_decref(j);
	}
}

static void setup_referrals(bench *b)
{
	stats st;
	double t0 = now_s();

	make_campaign(b);
	make_referrers(b);
	phase(b, REQ_IDENTIFY, 0, b->referees, 0, &st);
	if (st.failed)
		die("identify referees failed");
	free(st.hist);
	phase(b, REQ_REFER, 0, b->referees, 0, &st);
	if (st.failed)
		die("referrals failed");
	free(st.hist);
	printf("setup    %ld referrals in %.1f s\n", b->referees, now_s() - t0);
}

/* flockd's user + system CPU seconds so far (every thread); *sys_s gets
 * the system part. */
static double cpu_s(pid_t pid, double *sys_s)
{
	char path[64], line[1024], *p;
	unsigned long long ut = 0, st = 0;
	int field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* Fields after the command's ")": state is 3, utime 14, stime 15. */
	for (field = 2; p && *p; p++) {
		if (*p != ' ')
			continue;
		field++;
		if (field == 14)
			ut = strtoull(p + 1, NULL, 10);
		else if (field == 15)
			st = strtoull(p + 1, NULL, 10);
	}
	*sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A counter of node k's /metrics, or -1 if it has none. */
static double metric(bench *b, int k, const char *name)
{
	CURL *h = curl_easy_init();
	sink s = {NULL, 0};
	char url[128];
	double v = -1;
	size_t n = strlen(name);
	const char *p;

	if (!h)
		return -1;
	snprintf(url, sizeof(url), "%s/metrics", b->bases[k]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	if (curl_easy_perform(h) == CURLE_OK && s.data)
		for (p = s.data; (p = strstr(p, name)); p += n)
			if ((p == s.data || p[-1] == '\n') && p[n] == ' ') {
				v = strtod(p + n + 1, NULL);
				break;
			}
	free(s.data);
	curl_easy_cleanup(h);
	return v;
}

/* Run BENCH_INGEST_HOOK, if set, with what and node 1's pid. */
static void hook(bench *b, const char *what)
{
	const char *cmd = getenv("BENCH_INGEST_HOOK");
	char line[1024];

	if (!cmd || !*cmd)
		return;
	snprintf(line, sizeof(line), "%s %s %d", cmd, what, (int)b->pids[0]);
	if (system(line) != 0)
		fprintf(stderr, "bench_ingest: %s failed\n", line);
}

/* What the nodes did so far, summed over them. */
typedef struct {
	double cpu, sys; /* CPU seconds, and their system part */
	double trips;    /* database round trips (-1: none counted) */
	double batches, reruns; /* writer batches, those run again with
	                           savepoints */
} totals_t;

static void totals(bench *b, totals_t *t)
{
	int k;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < b->nodes; k++) {
		double n = metric(b, k, "flockd_db_round_trips_total"), st = 0;

		t->cpu += cpu_s(b->pids[k], &st);
		t->sys += st;
		t->trips = n < 0 || t->trips < 0 ? -1 : t->trips + n;
		t->batches += metric(b, k,
		                     "flockd_writer_batches_total{rerun=\"no\"}");
		n = metric(b, k, "flockd_writer_batches_total{rerun=\"yes\"}");
		t->batches += n;
		t->reruns += n;
	}
}

static long peak_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static void cleanup(bench *b)
{
	static const char *const files[] = {
	        "flockd.db", "flockd.db-wal", "flockd.db-shm",
	        "init.json", "seed.json",     "flockd.log",
	        NULL};
	char path[400];
	int i, st;

	for (i = 0; i < b->nodes; i++) {
		if (b->pids[i] > 0) {
			kill(b->pids[i], SIGTERM);
			waitpid(b->pids[i], &st, 0);
		}
	}
	for (i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, files[i]);
		unlink(path);
	}
	rmdir(b->dir);
	for (i = 0; b->codes && i < b->referrers; i++)
		free(b->codes[i]);
	free(b->codes);
}

static void parse_args(bench *b, int argc, char **argv)
{
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--flockd") == 0)
			b->flockd = argv[i + 1];
		else if (strcmp(argv[i], "--customers") == 0)
			b->customers = arg_long(argv[i + 1]);
		else if (strcmp(argv[i], "--duration") == 0)
			b->duration = (int)arg_long(argv[i + 1]);
		else if (strcmp(argv[i], "--connections") == 0)
			b->conns = (int)arg_long(argv[i + 1]);
		else if (strcmp(argv[i], "--server-threads") == 0)
			b->server_threads = (int)arg_long(argv[i + 1]);
		else if (strcmp(argv[i], "--referees") == 0)
			b->referees = arg_long(argv[i + 1]);
		else if (strcmp(argv[i], "--database") == 0)
			b->database = argv[i + 1];
		else if (strcmp(argv[i], "--nodes") == 0)
			b->nodes = (int)arg_long(argv[i + 1]);
		else if (strcmp(argv[i], "--idempotency-key") == 0)
			b->idem = arg_long(argv[i + 1]) != 0;
		else
			die("unknown option (see the comment at the top)");
	}
	if (i < argc)
		die("option without a value");
	if (b->conns < 1 || b->conns > MAX_CONNS || b->duration < 1)
		die("connections 1..512, duration >= 1");
	if (b->nodes < 1 || b->nodes > MAX_NODES ||
	    (b->nodes > 1 && !b->database))
		die("--nodes: 1, or 2 with --database postgres://...");
	if (b->referees == 0)
		b->referees = 20000L * b->duration;
}

int main(int argc, char **argv)
{
	bench b;
	stats noop, ingest;
	totals_t t0, t1;
	const char *tmp = getenv("TMPDIR");
	int k;

	memset(&b, 0, sizeof(b));
	b.flockd = getenv("FLOCKD_BIN") ? getenv("FLOCKD_BIN")
	                                : "build/src/flockd/flockd";
	b.customers = 1000;
	b.duration = 10;
	b.conns = 64;
	b.server_threads = 4;
	b.referrers = 1000;
	b.nodes = 1;
	parse_args(&b, argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(b.dir, sizeof(b.dir), "%s/bench-ingest-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(b.dir))
		die("mkdtemp");
	if (b.database)
		snprintf(b.db, sizeof(b.db), "%s", b.database);
	else
		snprintf(b.db, sizeof(b.db), "%s/flockd.db", b.dir);
	if (!b.database)
		snprintf(b.wal, sizeof(b.wal), "%s-wal", b.db);
	printf("database %s, %d node%s\n", b.database ? "postgresql" : "sqlite",
	       b.nodes, b.nodes > 1 ? "s" : "");
	init_db(&b);
	start_flockd(&b);
	setup_referrals(&b);
	phase(&b, REQ_NOOP, 0, 0, b.duration, &noop);
	report("noop", &noop);
	totals(&b, &t0);
	hook(&b, "ingest-start");
	phase(&b, REQ_INGEST, 0, b.referees, b.duration, &ingest);
	hook(&b, "ingest-end");
	totals(&b, &t1);
	report("ingest", &ingest);
	if (ingest.ok > 0) {
		printf("cpu      flockd %.1f us per ingest (user+system, %.1f"
		       " system, %sIdempotency-Key)\n",
		       (t1.cpu - t0.cpu) * 1e6 / (double)ingest.ok,
		       (t1.sys - t0.sys) * 1e6 / (double)ingest.ok,
		       b.idem ? "with " : "no ");
		if (t0.trips >= 0 && t1.trips >= 0)
			printf("trips    %.2f database round trips per "
			       "ingest\n",
			       (t1.trips - t0.trips) / (double)ingest.ok);
		printf("batches  %.0f writer batches, %.0f of them run again "
		       "with a savepoint per job\n",
		       t1.batches - t0.batches, t1.reruns - t0.reruns);
	}
	printf("rewards  %ld granted by %ld ingests%s\n", ingest.rewards,
	       ingest.ok,
	       ingest.done >= b.referees ? " (ran out of referees: raise "
	                                   "--referees)"
	                                 : "");
	printf("ratio    ingest/noop = %.2f\n",
	       (double)ingest.ok / ingest.seconds /
	               ((double)noop.ok / noop.seconds));
	if (b.wal[0])
		printf("wal      peak %.1f MiB (flockd.db-wal)\n",
		       (double)b.wal_peak / (1024.0 * 1024.0));
	for (k = 0; k < b.nodes; k++)
		printf("rss      flockd node %d peak %ld KiB\n", k + 1,
		       peak_rss_kib(b.pids[k]));
	free(noop.hist);
	free(ingest.hist);
	cleanup(&b);
	curl_global_cleanup();
	return ingest.failed || noop.failed ? 1 : 0;
}
