/*
 * flockd: the self-hostable Flock server.
 *
 *   flockd init --database PATH|URL  create the database and first keys
 *   flockd serve [options]           serve the wire and admin APIs
 *   flockd migrate-store --from PATH --to URL [--app ID]
 *                                    copy SQLite data into PostgreSQL
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#ifdef FLOCKD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif
#ifdef FLOCKD_JEMALLOC
#include <stdint.h>
#include <stdlib.h>

#include <jemalloc/jemalloc.h>
#endif

#include "flock/common.h"

#include "config.h"
#include "delivery/delivery.h"
#include "delivery/urlcheck.h"
#include "engine/engine.h"
#include "base/log.h"
#include "store/migrate.h"
#include "http/errors.h"
#include "http/server.h"
#include "store/store.h"

/*
 * The allocator serving malloc, for --version and the start line:
 * "jemalloc 5.3.0" when jemalloc is linked (src/flockd/CMakeLists.txt) and
 * its counter of this thread's bytes moves with a malloc (it serves
 * them, rather than libc behind it), else "libc malloc".
 */
static const char *allocator(char *buf, size_t len)
{
#ifdef FLOCKD_JEMALLOC
	const char *version = NULL;
	uint64_t before = 0, after = 0;
	size_t vlen = sizeof(version), n = sizeof(before);
	void *volatile probe; /* volatile: the compiler may not drop the
	                       * malloc and free of an unused block */

	if (mallctl("version", (void *)&version, &vlen, NULL, 0) == 0 &&
	    mallctl("thread.allocated", &before, &n, NULL, 0) == 0 &&
	    (probe = malloc(4096)) != NULL) {
		n = sizeof(after);
		after = before;
		mallctl("thread.allocated", &after, &n, NULL, 0);
		free(probe);
		if (after - before >= 4096) {
			snprintf(buf, len, "jemalloc %.*s",
			         (int)strcspn(version, "-"), version);
			return buf;
		}
	}
#endif
	snprintf(buf, len, "libc malloc");
	return buf;
}

/* How long a graceful stop waits for requests in flight. */
#define GRACE_MS 10000

/* Who hears of commits with events (the engine's on_commit, on its
 * syncer thread): the delivery worker, made before the engine, and the
 * server's event streams, once the server runs. mu keeps the server from
 * going while it is being told. */
typedef struct {
	fd_delivery *d;
	fd_server *s;
	pthread_mutex_t mu;
} commit_fanout;

static void on_commit(void *arg)
{
	commit_fanout *f = arg;

	if (f->d)
		fd_delivery_kick(f->d);
	pthread_mutex_lock(&f->mu);
	fd_server_notify(f->s);
	pthread_mutex_unlock(&f->mu);
}

static void fanout_server(commit_fanout *f, fd_server *s)
{
	pthread_mutex_lock(&f->mu);
	f->s = s;
	pthread_mutex_unlock(&f->mu);
}

/* fanout: who to tell after commits (NULL: none); clock: the engine's
 * (NULL: the real one). */
static int open_engine(fd_engine **e, const fd_config *cfg,
                       commit_fanout *fanout, fd_clock *clock)
{
	fd_engine_config ecfg;
	char err[256] = "", shown[512];

	memset(&ecfg, 0, sizeof(ecfg));
	ecfg.clock = clock;
	if (fanout) {
		ecfg.on_commit = on_commit;
		ecfg.on_commit_arg = fanout;
	}
	ecfg.db_path = cfg->database;
	ecfg.velocity_per_hour = cfg->velocity_per_hour;
	ecfg.rate_limit = cfg->rate_limit;
	ecfg.code_misses_per_key = cfg->code_misses_per_key;
	ecfg.code_misses_per_ip = cfg->code_misses_per_ip;
	ecfg.read_connections = cfg->db_pool;
	ecfg.writers = cfg->writers;
	ecfg.wal_limit = cfg->sqlite_wal_limit_mib > 0
	                         ? (int64_t)cfg->sqlite_wal_limit_mib << 20
	                         : -1;
	ecfg.webhook_allow_private = cfg->webhook_allow_private;
	/* The engine speaks no HTTP and resolves no names: both come from
	 * the rooms that do. */
	ecfg.answers = fd_http_answers();
	ecfg.url_check = fd_url_check;
	if (fd_engine_open(e, &ecfg, err, sizeof(err)) == 0)
		return 0;
	fd_store_redact(shown, sizeof(shown), cfg->database);
	fprintf(stderr, "flockd: cannot open database %s: %s\n", shown, err);
	return -1;
}

/* Tell the service manager (systemd, Type=notify) how we are; nothing
 * without NOTIFY_SOCKET or without libsystemd. */
static void notify(const char *state)
{
#ifdef FLOCKD_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* --log-file: every log line goes to fd 2, so put the file there (again
 * on SIGHUP, after logrotate moved it). 0, or -1 with errno. */
static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Where init's secrets go: stdout, or --keys-file, created now (before
 * anything is made, so that a file that cannot be written loses no key)
 * with O_EXCL and mode 0600. NULL on failure (said on stderr). */
static FILE *keys_out(const fd_config *cfg)
{
	int fd;
	FILE *f;

	if (!cfg->keys_file)
		return stdout;
	fd = open(cfg->keys_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	          0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "flockd: cannot create %s: %s\n",
		        cfg->keys_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

static int write_keys(FILE *f, const fd_config *cfg, json_t *out)
{
	int ok =
	        json_dumpf(out, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
	        fputc('\n', f) != EOF && fflush(f) == 0 &&
	        (f == stdout || fsync(fileno(f)) == 0);

	if (!ok)
		fprintf(stderr, "flockd: cannot write the keys to %s: %s\n",
		        cfg->keys_file ? cfg->keys_file : "stdout",
		        strerror(errno));
	return ok ? 0 : -1;
}

static int cmd_init(const fd_config *cfg)
{
	fd_engine *e = NULL;
	json_t *out = NULL;
	FILE *f = NULL;
	char shown[512];
	int rc = 1, made = 0;

	fd_store_redact(shown, sizeof(shown), cfg->database);
	if (open_engine(&e, cfg, NULL, NULL) < 0)
		return 1;
	/* --if-new on an initialised database: nothing to do, and an old
	 * keys file (the first start's) is left alone. */
	if (cfg->init_if_new && fd_engine_initialised(e) == 1)
		goto already;
	if (!(f = keys_out(cfg)))
		goto done;
	if ((cfg->init_if_new ? fd_engine_init_if_new(e, cfg->app_name, &out)
	                      : fd_engine_init(e, cfg->app_name, &out)) != 0 ||
	    (!out && !cfg->init_if_new)) {
		fprintf(stderr, "flockd: init failed for %s\n", shown);
		goto done;
	}
	if (!out) /* another node initialised it meanwhile */
		goto already;
	/* The only place secrets are ever shown: stdout or the keys file,
	 * once. */
	made = 1;
	if (write_keys(f, cfg, out) < 0)
		goto done;
	fprintf(stderr,
	        "flockd: initialised %s. Store the keys %s now: they are not "
	        "shown again.\n",
	        shown, cfg->keys_file ? "of the keys file" : "above");
	rc = 0;
	goto done;
already:
	fprintf(stderr, "flockd: %s is already initialised: nothing done\n",
	        shown);
	rc = 0;
done:
	if (f && f != stdout) {
		fclose(f);
		/* An empty keys file would say nothing was made. */
		if (!made)
			unlink(cfg->keys_file);
	}
	json_decref(out);
	fd_engine_close(e);
	return rc;
}

/* Benchmark fixtures: many customers and a live campaign, written
 * straight through the engine (HTTP would take minutes for 10^6). */
static int cmd_bench_seed(const fd_config *cfg)
{
	fd_engine *e = NULL;
	json_t *out = NULL;
	int rc = 1;

	if (!cfg->app_id) {
		fprintf(stderr, "flockd: bench-seed needs --app ID\n");
		return 2;
	}
	if (open_engine(&e, cfg, NULL, NULL) < 0)
		return 1;
	if (fd_engine_bench_seed(e, cfg->app_id, cfg->seed_customers, &out) !=
	            0 ||
	    !out) {
		fprintf(stderr, "flockd: bench-seed failed\n");
		goto done;
	}
	if (json_dumpf(out, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
		rc = 0;
	fputc('\n', stdout);
done:
	json_decref(out);
	fd_engine_close(e);
	return rc;
}

/* The worker, made before the engine so that the engine can wake it
 * after commits; started once the engine is open. */
static int new_delivery(fd_delivery **out, const fd_config *cfg)
{
	fd_delivery_config dc;
	char err[256] = "";

	*out = NULL;
	if (cfg->webhook_concurrency == 0)
		return 0;
	memset(&dc, 0, sizeof(dc));
	dc.concurrency = cfg->webhook_concurrency;
	dc.allow_private = cfg->webhook_allow_private;
	dc.lease_s = cfg->webhook_lease_s;
	dc.timeout_s = cfg->webhook_timeout_s;
	if (cfg->webhook_schedule &&
	    fd_delivery_parse_schedule(&dc, cfg->webhook_schedule) < 0) {
		fd_log(FD_LOG_ERROR, "invalid webhook retry schedule");
		return -1;
	}
	if (fd_delivery_new(out, &dc, err, sizeof(err)) < 0) {
		fd_log(FD_LOG_ERROR, "%s", err);
		return -1;
	}
	return 0;
}

typedef struct {
	fd_delivery *d;
	fd_engine *e;
} serving;

/* The writer's, then the database's: PostgreSQL's round trips, or
 * SQLite's WAL. */
static int db_metrics(fd_engine *e, flock__buf *out)
{
	long trips = fd_engine_db_round_trips(e);
	fd_store_wal_stats w;
	fd_engine_writer_stats ws;

	fd_engine_writer_stats_get(e, &ws);
	if (flock__buf_printf(
	            out,
	            "# HELP flockd_writer_queue_jobs Writes waiting for a "
	            "writer thread.\n"
	            "# TYPE flockd_writer_queue_jobs gauge\n"
	            "flockd_writer_queue_jobs %ld\n"
	            "# HELP flockd_writer_batches_total Transactions the "
	            "writers ran (group commits), by whether a failing job "
	            "made it run the batch again with a savepoint per job.\n"
	            "# TYPE flockd_writer_batches_total counter\n"
	            "flockd_writer_batches_total{rerun=\"no\"} %ld\n"
	            "flockd_writer_batches_total{rerun=\"yes\"} %ld\n",
	            ws.queued, ws.batches - ws.reruns, ws.reruns) < 0)
		return -1;
	if (trips >= 0)
		return flock__buf_printf(
		        out,
		        "# HELP flockd_db_round_trips_total Exchanges with the "
		        "database server that waited for its answer.\n"
		        "# TYPE flockd_db_round_trips_total counter\n"
		        "flockd_db_round_trips_total %ld\n",
		        trips);
	if (fd_engine_wal_stats(e, &w) < 0)
		return 0;
	return flock__buf_printf(
	        out,
	        "# HELP flockd_sqlite_wal_bytes Size of the SQLite WAL file "
	        "(bounded by --sqlite-wal-limit).\n"
	        "# TYPE flockd_sqlite_wal_bytes gauge\n"
	        "flockd_sqlite_wal_bytes %lld\n"
	        "# HELP flockd_sqlite_wal_restarts_total WAL restarts by the "
	        "writer at the limit, by result (busy: readers outlasted the "
	        "wait, tried again later).\n"
	        "# TYPE flockd_sqlite_wal_restarts_total counter\n"
	        "flockd_sqlite_wal_restarts_total{result=\"done\"} %ld\n"
	        "flockd_sqlite_wal_restarts_total{result=\"busy\"} %ld\n",
	        (long long)w.bytes, w.restarts, w.restart_busy);
}

/* What /metrics adds from the delivery room and the store (http/ knows
 * neither). */
static int delivery_metrics(flock__buf *out, void *arg)
{
	serving *sv = arg;

	if (fd_delivery_metrics(sv->d, sv->e, out) < 0)
		return -1;
	return db_metrics(sv->e, out);
}

/* SIGHUP: what can change without a restart. Logs are reopened (a
 * rotated --log-file starts afresh); everything else needs a restart. */
static void reload(const fd_config *cfg)
{
	notify("RELOADING=1\nSTATUS=reopening logs");
	if (cfg->log_file && open_log(cfg->log_file) < 0)
		fd_log(FD_LOG_ERROR, "SIGHUP: cannot reopen %s: %s",
		       cfg->log_file, strerror(errno));
	else
		fd_log(FD_LOG_INFO, "SIGHUP: %s",
		       cfg->log_file ? "log file reopened"
		                     : "nothing to reopen");
	notify("READY=1\nSTATUS=serving");
}

/* Block the stop signals in every thread (MHD's threads inherit the mask)
 * and wait for one in the main thread. */
static int cmd_serve(const fd_config *cfg)
{
	fd_engine *e = NULL;
	fd_server *s = NULL;
	fd_delivery *d = NULL;
	fd_clock *clock = NULL; /* --test-clock's; NULL: the real one */
	commit_fanout fanout = {NULL, NULL, PTHREAD_MUTEX_INITIALIZER};
	serving sv;
	sigset_t set;
	char err[256] = "", shown[512], alloc[64];
	int sig = 0, rc = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cfg->test_clock) {
		if (fd_clock_new_manual(&clock) < 0)
			goto done;
		fd_log(FD_LOG_WARN, "test clock: time moves forward when POST "
		                    "/admin/test/clock says so; never use "
		                    "--test-clock in production");
	}
	if (new_delivery(&d, cfg) < 0)
		goto done;
	fanout.d = d;
	if (open_engine(&e, cfg, &fanout, clock) < 0)
		goto done;
	if (d && fd_delivery_start(d, e, err, sizeof(err)) < 0) {
		fd_log(FD_LOG_ERROR, "%s", err);
		goto done;
	}
	sv.d = d;
	sv.e = e;
	if (fd_server_start(&s, cfg, e, delivery_metrics, &sv, err,
	                    sizeof(err)) < 0) {
		fd_log(FD_LOG_ERROR, "%s", err);
		goto done;
	}
	fanout_server(&fanout, s);
	fd_store_redact(shown, sizeof(shown), cfg->database);
	fd_log(FD_LOG_INFO, "flockd %s listening on %s:%u (database %s, %s)",
	       FLOCK_VERSION, cfg->listen_host, fd_server_port(s), shown,
	       allocator(alloc, sizeof(alloc)));
	if (cfg->dashboard)
		fd_log(FD_LOG_INFO, "dashboard at http://%s%s%s:%u/dashboard/",
		       strchr(cfg->dashboard_host, ':') ? "[" : "",
		       cfg->dashboard_host,
		       strchr(cfg->dashboard_host, ':') ? "]" : "",
		       fd_server_dashboard_port(s));
	else
		fd_log(FD_LOG_INFO, "dashboard off (--dashboard-listen "
		                    "127.0.0.1:8081 serves it)");
	notify("READY=1\nSTATUS=serving");
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		reload(cfg);
	fd_log(FD_LOG_INFO, "signal %d: stopping", sig);
	notify("STOPPING=1\nSTATUS=stopping");
	rc = 0;
done:
	fanout_server(&fanout, NULL);
	fd_server_stop(s, GRACE_MS);
	/* Before the engine: the worker's last job gives its leases back. */
	fd_delivery_stop(d);
	fd_engine_close(e);
	fd_delivery_free(d);
	fd_clock_free(clock);
	if (rc == 0)
		fd_log(FD_LOG_INFO, "stopped");
	return rc;
}

int main(int argc, char **argv)
{
	fd_config cfg;
	char err[256] = "", alloc[64];

	/* Every file flockd makes (the database and its -wal and -shm, a log
	 * file, a keys file) holds secrets or personal data: only its owner
	 * may read it. */
	umask(077);
	fd_config_defaults(&cfg);
	if (fd_config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "flockd: %s\n", err);
		return 2;
	}
	fd_log_set_level((fd_log_level)cfg.log_level);
	if (cfg.log_file && open_log(cfg.log_file) < 0) {
		fprintf(stderr, "flockd: cannot open log file %s: %s\n",
		        cfg.log_file, strerror(errno));
		return 1;
	}
	switch (cfg.command) {
	case FD_CMD_HELP:
		fputs(fd_config_usage(), stdout);
		return 0;
	case FD_CMD_VERSION:
		printf("flockd %s (%s)\n", FLOCK_VERSION,
		       allocator(alloc, sizeof(alloc)));
		return 0;
	case FD_CMD_INIT:
		return cmd_init(&cfg);
	case FD_CMD_BENCH_SEED:
		return cmd_bench_seed(&cfg);
	case FD_CMD_MIGRATE_STORE:
		if (!cfg.from || !cfg.to) {
			fprintf(stderr,
			        "flockd: migrate-store needs --from "
			        "SQLITE_PATH and --to postgres://URL\n");
			return 2;
		}
		return fd_migrate_store(cfg.from, cfg.to, cfg.app_id, stdout,
		                        stderr) == 0
		               ? 0
		               : 1;
	case FD_CMD_SERVE:
		break;
	}
	return cmd_serve(&cfg);
}
