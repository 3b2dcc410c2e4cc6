/*
 * bench_queue: what the queue costs the caller and how fast it drains,
 * beside the synchronous call, in one run against one local flockd.
 *
 * Starts `flockd init` + `flockd serve` (SQLite, in a temp dir) on
 * loopback, then, each phase with its own customers (one per event, so
 * nothing waits on per-customer order):
 *
 *   sync        N x flock_checkpoints_ingest() from one thread
 *   memory      N x flock_queue_ingest(), no spool, senders draining meanwhile
 *   spool-normal  the same with a spool, FLOCK_QUEUE_SYNC_NORMAL
 *   spool-full  the same with a spool, FLOCK_QUEUE_SYNC_FULL (fsync)
 *   spool-full x P  P producer threads at once (group commit)
 *   backlog     N events spooled while flockd is unreachable (the spool's
 *               size per event), then a queue on that spool drains them
 *
 * For each: the caller's latency per call (p50, p99, in µs) and the rate
 * at which events reached flockd (enqueue of the first to flush done).
 *
 * Usage: bench_queue [--events N] [--senders S] [--producers P]
 *        (defaults 5000, 4, 8). FLOCKD_BIN names flockd (default
 *        build/src/flockd/flockd). Prints figures only.
 */
#include <flock.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	const char *flockd;
	char dir[256];
	char db[320];
	char base[64];
	char service_key[160];
	pid_t pid;
	long events;
	unsigned int senders;
	int producers;
} bench;

static bench B;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "bench_queue: %s\n", what);
	if (B.pid > 0)
		kill(B.pid, SIGTERM);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1));

	return v[i < 0 ? 0 : i];
}

/* --- flockd ------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static int readyz(void)
{
	CURL *h = curl_easy_init();
	char url[128];
	long st = 0;

	snprintf(url, sizeof(url), "%s/readyz", B.base);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(h);
	return st == 200;
}

/* A port nobody listens on right now (the kernel's choice). */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

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

static void start_flockd(void)
{
	char out[400], listen[32], logp[400];
	const char *init[] = {B.flockd, "init", "--database", B.db, NULL};
	const char *serve[] = {B.flockd,  "serve",       "--listen",
	                       listen,    "--database",  B.db,
	                       "--log-level", "warn",    NULL};
	int port, st, i, attempt;
	const char *k;
	json_t *j;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/init.json", B.dir);
	if ((pid = fork()) == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execv(init[0], (char *const *)init);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || !(j = json_load_file(out, 0, NULL)))
		die("flockd init failed (set FLOCKD_BIN)");
	k = json_string_value(json_object_get(j, "serviceKey"));
	if (!k)
		die("flockd init printed no serviceKey");
	snprintf(B.service_key, sizeof(B.service_key), "%s", k);
	json_decref(j);
	snprintf(logp, sizeof(logp), "%s/flockd.log", B.dir);
	/* A port taken between free_port() and flockd's bind: another. */
	for (attempt = 0; attempt < 5; attempt++) {
		port = free_port();
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
		snprintf(B.base, sizeof(B.base), "http://127.0.0.1:%d", port);
		if ((B.pid = fork()) == 0) {
			int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd >= 0)
				dup2(fd, STDERR_FILENO);
			execv(serve[0], (char *const *)serve);
			_exit(127);
		}
		for (i = 0; i < 400 && !readyz(); i++) {
			if (waitpid(B.pid, &st, WNOHANG) == B.pid)
				break;
			usleep(25000);
		}
		if (readyz())
			return;
		kill(B.pid, SIGKILL);
		waitpid(B.pid, &st, 0);
	}
	B.pid = 0;
	die("flockd did not become ready");
}

/* --- the calls ---------------------------------------------------------- */

static flock_client *client_to(const char *base)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *c = NULL;

	o.access_key = B.service_key;
	o.base_url = base;
	o.max_retries = 0;
	o.timeout_ms = 10000;
	o.connect_timeout_ms = 2000;
	if (flock_client_new(&c, &o) != 0)
		die("flock_client_new");
	return c;
}

static void params_for(flock_ingest_params *p, char *who, size_t len,
                       const char *phase, long i)
{
	flock_ingest_params init = FLOCK_INGEST_PARAMS_INIT;

	*p = init;
	snprintf(who, len, "bq-%s-%ld", phase, i);
	p->external_user_id = who;
	p->environment = "production";
}

typedef struct {
	const char *name;
	double p50_us, p99_us, max_us;
	double drain; /* events/s reaching flockd; 0: not measured */
	double enq;   /* events/s the callers got through their calls */
	long n;
} result;

static void summarise(result *r, double *lat, long n)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	r->p50_us = pct(lat, n, 0.50) * 1e6;
	r->p99_us = pct(lat, n, 0.99) * 1e6;
	r->max_us = lat[n - 1] * 1e6;
	r->n = n;
}

static void run_sync(flock_client *c, result *r)
{
	double *lat = malloc(sizeof(double) * (size_t)B.events), t0, t;
	flock_ingest_params p;
	char who[64];
	long i;

	if (!lat)
		die("out of memory");
	t0 = now_s();
	for (i = 0; i < B.events; i++) {
		params_for(&p, who, sizeof(who), "sync", i);
		t = now_s();
		if (flock_checkpoints_ingest(NULL, c, "purchase_completed",
		                             &p) != 0)
			die(flock_error_last()->message);
		lat[i] = now_s() - t;
	}
	r->drain = (double)B.events / (now_s() - t0);
	r->enq = r->drain;
	summarise(r, lat, B.events);
	free(lat);
}

static flock_queue *open_queue(flock_client *c, const char *spool,
                               flock_queue_sync sync)
{
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;
	flock_queue *q = NULL;

	o.spool_path = spool;
	o.sync = sync;
	o.sender_threads = B.senders;
	o.max_events = (size_t)B.events + 16;
	o.max_bytes = (size_t)B.events * 512 + (1u << 20);
	o.backoff_base_ms = 100;
	o.backoff_max_ms = 1000;
	if (flock_queue_new(&q, c, &o) != 0)
		die(flock_error_last()->message);
	return q;
}

typedef struct {
	flock_queue *q;
	const char *phase;
	long first, count;
	double *lat;
} producer;

static void *produce(void *arg)
{
	producer *pr = arg;
	flock_ingest_params p;
	char who[64];
	double t;
	long i;

	for (i = 0; i < pr->count; i++) {
		params_for(&p, who, sizeof(who), pr->phase, pr->first + i);
		t = now_s();
		if (flock_queue_ingest(pr->q, "purchase_completed", &p) != 0)
			die(flock_error_last()->message);
		pr->lat[pr->first + i] = now_s() - t;
	}
	return NULL;
}

/* N events from `producers` threads into q; then flush; drain measured. */
static void run_queue(flock_queue *q, const char *phase, int producers,
                      result *r)
{
	double *lat = malloc(sizeof(double) * (size_t)B.events), t0;
	producer pr[64];
	pthread_t th[64];
	long per = B.events / producers;
	int k;

	if (!lat || producers > 64)
		die("out of memory");
	t0 = now_s();
	for (k = 0; k < producers; k++) {
		pr[k].q = q;
		pr[k].phase = phase;
		pr[k].first = k * per;
		pr[k].count = k == producers - 1 ? B.events - k * per : per;
		pr[k].lat = lat;
		if (pthread_create(&th[k], NULL, produce, &pr[k]) != 0)
			die("pthread_create");
	}
	for (k = 0; k < producers; k++)
		pthread_join(th[k], NULL);
	r->enq = (double)B.events / (now_s() - t0);
	if (flock_queue_flush(q, 600000) != 0)
		die("flush did not finish");
	r->drain = (double)B.events / (now_s() - t0);
	summarise(r, lat, B.events);
	free(lat);
}

static long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

static void rm_spool(const char *spool)
{
	char p[512];

	unlink(spool);
	snprintf(p, sizeof(p), "%s-wal", spool);
	unlink(p);
}

/* Spool N events with flockd unreachable; then drain them. */
static void run_backlog(flock_client *live, result *r, long *bytes)
{
	flock_client *dead = client_to("http://127.0.0.1:1");
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	char spool[400], wal[420];
	flock_queue *q;
	result ignored;
	double t0;
	long max_wal;

	snprintf(spool, sizeof(spool), "%s/backlog.spool", B.dir);
	snprintf(wal, sizeof(wal), "%s-wal", spool);
	q = open_queue(dead, spool, FLOCK_QUEUE_SYNC_NORMAL);
	{
		double *lat = malloc(sizeof(double) * (size_t)B.events);
		producer pr = {q, "backlog", 0, B.events, lat};

		if (!lat)
			die("out of memory");
		produce(&pr);
		summarise(&ignored, lat, B.events);
		free(lat);
	}
	max_wal = file_size(wal);
	if (flock_queue_free(q, 0) != FLOCK_ETIMEOUT)
		die("the backlog was sent to a dead port?");
	*bytes = file_size(spool) + file_size(wal);
	printf("spool    %ld events held: %ld bytes on disk after close "
	       "(%.0f bytes/event), WAL %ld bytes while open\n",
	       B.events, *bytes, (double)*bytes / (double)B.events, max_wal);
	t0 = now_s();
	q = open_queue(live, spool, FLOCK_QUEUE_SYNC_NORMAL);
	if (flock_queue_flush(q, 600000) != 0)
		die("backlog flush did not finish");
	r->drain = (double)B.events / (now_s() - t0);
	flock_queue_stats_get(&st, q);
	if ((long)st.resumed != B.events || (long)st.sent != B.events)
		die("backlog: not every event resumed and sent");
	flock_queue_free(q, 10000);
	printf("spool    after draining: %ld bytes\n",
	       file_size(spool) + file_size(wal));
	rm_spool(spool);
	flock_client_free(dead);
	r->name = "backlog (resume + drain)";
	r->n = B.events;
	r->p50_us = r->p99_us = r->max_us = -1;
}

static void print(const result *r)
{
	if (r->p50_us >= 0)
		printf("%-26s %7ld  %9.1f  %9.1f  %9.1f  %9.0f  %9.0f\n",
		       r->name, r->n, r->p50_us, r->p99_us, r->max_us, r->enq,
		       r->drain);
	else
		printf("%-26s %7ld  %9s  %9s  %9s  %9s  %9.0f\n", r->name,
		       r->n, "-", "-", "-", "-", r->drain);
}

static void parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		long v = strtol(argv[i + 1], NULL, 10);

		if (strcmp(argv[i], "--events") == 0 && v > 0)
			B.events = v;
		else if (strcmp(argv[i], "--senders") == 0 && v > 0 && v <= 64)
			B.senders = (unsigned int)v;
		else if (strcmp(argv[i], "--producers") == 0 && v > 0 &&
		         v <= 64)
			B.producers = (int)v;
		else
			die("usage: bench_queue [--events N] [--senders S] "
			    "[--producers P]");
	}
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	result r[6];
	flock_client *c;
	flock_queue *q;
	char spool[400];
	long bytes = 0;
	int i;

	memset(r, 0, sizeof(r));
	B.flockd = getenv("FLOCKD_BIN") ? getenv("FLOCKD_BIN")
	                                : "build/src/flockd/flockd";
	B.events = 5000;
	B.senders = 4;
	B.producers = 8;
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(B.dir, sizeof(B.dir), "%s/bench-queue-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(B.dir))
		die("mkdtemp");
	snprintf(B.db, sizeof(B.db), "%s/flockd.db", B.dir);
	start_flockd();
	c = client_to(B.base);
	printf("events   %ld per phase, %u sender threads, spool in %s\n",
	       B.events, B.senders, B.dir);

	r[0].name = "sync ingest";
	run_sync(c, &r[0]);
	r[1].name = "queue, memory";
	q = open_queue(c, NULL, FLOCK_QUEUE_SYNC_FULL);
	run_queue(q, "mem", 1, &r[1]);
	flock_queue_free(q, 10000);
	snprintf(spool, sizeof(spool), "%s/queue.spool", B.dir);
	r[2].name = "queue, spool NORMAL";
	q = open_queue(c, spool, FLOCK_QUEUE_SYNC_NORMAL);
	run_queue(q, "normal", 1, &r[2]);
	flock_queue_free(q, 10000);
	rm_spool(spool);
	r[3].name = "queue, spool FULL";
	q = open_queue(c, spool, FLOCK_QUEUE_SYNC_FULL);
	run_queue(q, "full", 1, &r[3]);
	flock_queue_free(q, 10000);
	rm_spool(spool);
	r[4].name = "queue, spool FULL, P thr";
	q = open_queue(c, spool, FLOCK_QUEUE_SYNC_FULL);
	run_queue(q, "fullp", B.producers, &r[4]);
	flock_queue_free(q, 10000);
	rm_spool(spool);
	run_backlog(c, &r[5], &bytes);

	printf("\n%-26s %7s  %9s  %9s  %9s  %9s  %9s\n", "phase", "events",
	       "p50 us", "p99 us", "max us", "calls/s", "drain/s");
	for (i = 0; i < 6; i++)
		print(&r[i]);
	printf("(latency: the caller's, per call; calls/s: events through "
	       "the callers' calls; drain/s: events reaching flockd, first "
	       "call to flush done; P = %d)\n",
	       B.producers);

	flock_client_free(c);
	kill(B.pid, SIGTERM);
	waitpid(B.pid, NULL, 0);
	{
		char p[512];
		const char *names[] = {"flockd.db", "flockd.db-wal",
		                       "flockd.db-shm", "flockd.log",
		                       "init.json", NULL};

		for (i = 0; names[i]; i++) {
			snprintf(p, sizeof(p), "%s/%s", B.dir, names[i]);
			unlink(p);
		}
		rmdir(B.dir);
	}
	curl_global_cleanup();
	return 0;
}
