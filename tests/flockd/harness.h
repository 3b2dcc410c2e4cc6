/*
 * Integration test harness: runs the real flockd binary (FLOCKD_BIN) on a
 * free loopback port with a fresh database, and talks to it over HTTP with
 * libcurl.
 *
 * Back-end: SQLite by default. With FLOCKD_TEST_BACKEND=pg (ctest's
 * flockd-pg/... tests set it) every database is a fresh PostgreSQL
 * database created through the admin URL in FLOCK_TEST_PG (e.g.
 * postgres://postgres@127.0.0.1:5432/postgres, see scripts/pg-cluster.sh)
 * and dropped at the end; without FLOCK_TEST_PG such a test program exits
 * 77 (ctest: skipped) before it starts.
 */
#ifndef FLOCKD_TEST_HARNESS_H
#define FLOCKD_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

typedef struct {
	pid_t pid;
	unsigned short port;
	char dir[256]; /* temp dir holding the database and the log */
	char db[320];  /* SQLite path or postgres:// URL */
	char log[320];
	char base_url[64];
	char app_id[64];
	char service_key[160];
	char public_key[160];
	char admin_token[160];
	json_t *init;               /* what `flockd init` printed */
	const char *extra_args[16]; /* more flags for serve, NULL-terminated */
	const char *extra_env[8];   /* "NAME=value" for serve's environment
	                               only, NULL-terminated */
	int shared; /* a second node (h_attach): h_stop keeps the database */
	/* With --test-clock among extra_args: how far h_clock_advance has
	 * moved this flockd's clock ahead of real time (h_clock_advance). */
	int64_t clock_offset_ms;
	/* Non-zero: h_serve binds this port, the same on every restart (a
	 * client that reconnects to one address, flockctl webhooks listen);
	 * 0: a free one each time. */
	unsigned short want_port;
} fd_harness;

/* 1 if the tests run on PostgreSQL (FLOCKD_TEST_BACKEND=pg). */
int h_is_pg(void);

/* A fresh database: a file in dir (SQLite) or a new PostgreSQL database's
 * URL. 0/-1. */
int h_db_new(char *out, size_t len, const char *dir);

/* Drop a database made by h_db_new (PostgreSQL; files are the caller's). */
void h_db_drop(const char *db);

/* Run one SQL statement on a database of h_db_new (either back-end),
 * outside flockd. 0/-1. */
int h_db_exec(const char *db, const char *sql);

/* Serve a second flockd node on a's database (its own port and log
 * file, log_name in a's dir). 0/-1. */
int h_attach(fd_harness *b, const fd_harness *a, const char *log_name);

/* `flockd init` into a new temp dir, then serve. 0 or -1. */
int h_start(fd_harness *h);

/* (Re)start `flockd serve` on h's database and wait for /readyz. 0/-1. */
int h_serve(fd_harness *h);

/* Send sig to flockd and reap it; returns its wait status. */
int h_kill(fd_harness *h, int sig);

/* SIGTERM, reap, remove the temp dir, free h->init. */
void h_stop(fd_harness *h);

/* One HTTP exchange: response status (0 if none) and body in *out. */
typedef struct {
	int status;
	json_t *json; /* parsed body, or NULL */
	char *text;   /* raw body (malloc'd) */
	char request_id[128];
	char allow[128];
	char retry_after[32];
	int replayed;
} h_resp;

/*
 * Send method path (with query) with key as Authorization (NULL: none),
 * body as raw text (NULL: none) and an optional Idempotency-Key.
 */
int h_call(fd_harness *h, h_resp *out, const char *method, const char *path,
           const char *key, const char *body, const char *idem);

/* Same, with a JSON body built by json_pack-style format. */
int h_callf(fd_harness *h, h_resp *out, const char *method, const char *path,
            const char *key, const char *fmt, ...);

void h_resp_free(h_resp *r);

/*
 * The test clock (flockd serve --test-clock, docs/flockd.md): move h's
 * flockd clock forward by ms (0: only read it) through POST
 * /admin/test/clock and return its time (ms since the epoch), or -1.
 * When it answers, the engine's housekeeping and the delivery worker have
 * been woken; they act on the new time shortly after.
 *
 * The harness keeps the offset: a flockd started again on h (h_serve
 * after h_kill) or beside it (h_attach, or a copy of h served) is moved
 * forward by the same offset once ready, so its clock goes on from where
 * the last one was (times written to the database, such as leases and
 * retries, stay behind it) as a real clock would. h_serve fails if the
 * offset is not 0 and the new flockd has no --test-clock.
 */
int64_t h_clock_advance(fd_harness *h, int64_t ms);

/* h's flockd clock now, from the offset (no request): what a receiver
 * whose clock agrees with flockd's reads. */
int64_t h_clock_now(const fd_harness *h);

/* The value of the sample named exactly `sample` in h's /metrics (name
 * and labels, e.g. "flockd_webhook_deliveries{state=\"dead\"}"), or -1
 * if absent or unreachable. */
double h_metric(fd_harness *h, const char *sample);

/* The first column of the first row of sql (an integer) on a database
 * of h_db_new (either back-end). 0/-1. */
int h_db_long(const char *db, const char *sql, long *out);

/*
 * scripts/pg-cluster.sh <verb> <dir>: a PostgreSQL cluster a test owns
 * (start, pause, resume, stop; never the shared FLOCK_TEST_PG one). When
 * url is given, the script's first line of output (start: the cluster's
 * URL) goes there, "" if none. 0 if the script succeeded, else -1.
 */
int h_pg_cluster(const char *verb, const char *dir, char *url, size_t len);


/* The admin path of h's application: "/admin/apps/<app>" + suffix. */
const char *h_admin_path(fd_harness *h, char *buf, size_t len,
                         const char *suffix);

/* How many items the admin list at suffix (e.g. "/keys", one page) shows
 * with ?environment=env; -1 if it fails or shows one of another
 * environment. */
long h_listed_in(fd_harness *h, const char *suffix, const char *env);

/* Create a key through the admin API; secret copied into out. 0/-1. */
int h_create_key(fd_harness *h, const char *app_id, const char *kind,
                 const char *env, char *out, size_t outlen);

/*
 * Create a campaign in env with a referrer and a referee reward and a
 * "purchase_completed" reward checkpoint, and make it live. hold_days
 * applies to both rewards; limit (0: none) to the referrer reward.
 * Campaign id into out. 0/-1.
 */
int h_live_campaign(fd_harness *h, const char *env, int hold_days, int limit,
                    char *out, size_t outlen);

#endif
