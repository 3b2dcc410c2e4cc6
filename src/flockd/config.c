/*
 * flockd: configuration.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "delivery/delivery.h"

void fd_config_defaults(fd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = FD_CMD_SERVE;
	memcpy(cfg->listen_host, "127.0.0.1", sizeof("127.0.0.1"));
	cfg->port = 8080;
	cfg->database = "flockd.db";
	cfg->threads = 4;
	cfg->max_body = 1024 * 1024;
	cfg->conn_timeout_s = 60;
	cfg->max_connections = 1024;
	cfg->max_per_ip = 256;
	cfg->header_timeout_s = 10;
	cfg->max_buffered = 64 * 1024 * 1024;
	cfg->log_level = FD_LOG_INFO;
	cfg->velocity_per_hour = 10;
	cfg->code_misses_per_key = 600;
	cfg->code_misses_per_ip = 60;
	cfg->app_name = "default";
	cfg->seed_customers = 1000;
	cfg->db_pool = 8;
	cfg->sqlite_wal_limit_mib = 16;
	cfg->webhook_concurrency = 16;
	cfg->webhook_lease_s = 60;
	cfg->webhook_timeout_s = 15;
	memcpy(cfg->dashboard_host, "127.0.0.1", sizeof("127.0.0.1"));
	cfg->dashboard_port = 8081;
	cfg->dashboard_session_s = 8 * 3600;
}

/* --dashboard-listen HOST:PORT, or "off". 0 or -1. */
static int parse_dashboard(fd_config *cfg, const char *s)
{
	fd_config tmp;

	if (strcmp(s, "off") == 0) {
		cfg->dashboard = 0;
		return 0;
	}
	memset(&tmp, 0, sizeof(tmp));
	if (fd_config_parse_listen(&tmp, s) < 0)
		return -1;
	memcpy(cfg->dashboard_host, tmp.listen_host,
	       sizeof(cfg->dashboard_host));
	cfg->dashboard_port = tmp.port;
	cfg->dashboard = 1;
	return 0;
}

static int parse_long(long *out, const char *s, long min, long max)
{
	char *end;
	long v;

	/* Digits, with a minus at most: strtol alone would take " 5" and
	 * "+5", which an operator did not mean as a count. */
	if (!s || !(isdigit((unsigned char)s[0]) ||
	            (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int fd_config_parse_listen(fd_config *cfg, const char *s)
{
	const char *colon, *host = s;
	size_t hlen;
	long port;

	colon = strrchr(s, ':');
	if (!colon || parse_long(&port, colon + 1, 0, 65535) < 0)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		host = s + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(cfg->listen_host))
		return -1;
	memcpy(cfg->listen_host, host, hlen);
	cfg->listen_host[hlen] = '\0';
	cfg->port = (unsigned short)port;
	return 0;
}

enum {
	OPT_LISTEN = 'l',
	OPT_DATABASE = 'd',
	OPT_THREADS = 't',
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_MAX_BODY = 256,
	OPT_LOG_LEVEL,
	OPT_VELOCITY,
	OPT_TIMEOUT,
	OPT_MAX_CONN,
	OPT_MAX_PER_IP,
	OPT_HEADER_TIMEOUT,
	OPT_MAX_BUFFERED,
	OPT_APP_NAME,
	OPT_CUSTOMERS,
	OPT_APP,
	OPT_PER_CONN,
	OPT_DB_POOL,
	OPT_WRITERS,
	OPT_FROM,
	OPT_TO,
	OPT_WH_PRIVATE,
	OPT_WH_CONCURRENCY,
	OPT_WH_SCHEDULE,
	OPT_WH_LEASE,
	OPT_WH_TIMEOUT,
	OPT_RATE_LIMIT,
	OPT_TEST_CLOCK,
	OPT_DASHBOARD,
	OPT_DASHBOARD_SECURE,
	OPT_DASHBOARD_SESSION,
	OPT_LOG_FILE,
	OPT_KEYS_FILE,
	OPT_IF_NEW,
	OPT_WAL_LIMIT,
	OPT_CODE_MISSES_KEY,
	OPT_CODE_MISSES_IP
};

static const struct option long_opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"database", required_argument, NULL, OPT_DATABASE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"velocity-per-hour", required_argument, NULL, OPT_VELOCITY},
        {"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
        {"code-misses-per-key", required_argument, NULL, OPT_CODE_MISSES_KEY},
        {"code-misses-per-ip", required_argument, NULL, OPT_CODE_MISSES_IP},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"max-connections-per-ip", required_argument, NULL, OPT_MAX_PER_IP},
        {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
        {"max-buffered", required_argument, NULL, OPT_MAX_BUFFERED},
        {"app-name", required_argument, NULL, OPT_APP_NAME},
        {"customers", required_argument, NULL, OPT_CUSTOMERS},
        {"app", required_argument, NULL, OPT_APP},
        {"thread-per-connection", no_argument, NULL, OPT_PER_CONN},
        {"db-pool", required_argument, NULL, OPT_DB_POOL},
        {"writers", required_argument, NULL, OPT_WRITERS},
        {"sqlite-wal-limit", required_argument, NULL, OPT_WAL_LIMIT},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"webhook-allow-private", no_argument, NULL, OPT_WH_PRIVATE},
        {"webhook-concurrency", required_argument, NULL, OPT_WH_CONCURRENCY},
        {"webhook-retry-schedule", required_argument, NULL, OPT_WH_SCHEDULE},
        {"webhook-lease", required_argument, NULL, OPT_WH_LEASE},
        {"webhook-timeout", required_argument, NULL, OPT_WH_TIMEOUT},
        {"test-clock", no_argument, NULL, OPT_TEST_CLOCK},
        {"dashboard-listen", required_argument, NULL, OPT_DASHBOARD},
        {"dashboard-secure-cookies", no_argument, NULL, OPT_DASHBOARD_SECURE},
        {"dashboard-session-ttl", required_argument, NULL,
         OPT_DASHBOARD_SESSION},
        {"log-file", required_argument, NULL, OPT_LOG_FILE},
        {"keys-file", required_argument, NULL, OPT_KEYS_FILE},
        {"if-new", no_argument, NULL, OPT_IF_NEW},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}};

/* 1 if the delivery worker takes s as its retry schedule: its own parser
 * decides (main.c parses s again when it makes the worker). */
static int schedule_ok(const char *s)
{
	fd_delivery_config dc;

	return fd_delivery_parse_schedule(&dc, s) == 0;
}

/* A switch: a flag (val NULL), or from the environment 1/true/yes or
 * 0/false/no. 0 or -1. */
static int parse_switch(int *out, const char *val)
{
	if (!val || !strcmp(val, "1") || !strcmp(val, "true") ||
	    !strcmp(val, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* The options that take a plain number: where it goes, its range, and
 * what it counts (for the message when it is out of range). */
typedef enum { NUM_INT, NUM_LONG, NUM_SIZE } num_type;

static const struct {
	int opt;
	size_t off;
	num_type type;
	long min, max;
	const char *unit;
} numbers[] = {
        {OPT_THREADS, offsetof(fd_config, threads), NUM_INT, 1, 1024,
         "threads"},
        {OPT_MAX_BODY, offsetof(fd_config, max_body), NUM_SIZE, 1, 1L << 30,
         "bytes"},
        {OPT_VELOCITY, offsetof(fd_config, velocity_per_hour), NUM_INT, 0,
         INT_MAX, "referrals per referrer an hour (0: off)"},
        {OPT_RATE_LIMIT, offsetof(fd_config, rate_limit), NUM_LONG, 0,
         1000000000, "requests a second per key (0: off)"},
        {OPT_CODE_MISSES_KEY, offsetof(fd_config, code_misses_per_key),
         NUM_LONG, 0, 1000000000, "misses a minute (0: off)"},
        {OPT_CODE_MISSES_IP, offsetof(fd_config, code_misses_per_ip), NUM_LONG,
         0, 1000000000, "misses a minute (0: off)"},
        {OPT_TIMEOUT, offsetof(fd_config, conn_timeout_s), NUM_INT, 1, 86400,
         "seconds"},
        {OPT_MAX_CONN, offsetof(fd_config, max_connections), NUM_INT, 1,
         1000000, "connections"},
        {OPT_MAX_PER_IP, offsetof(fd_config, max_per_ip), NUM_INT, 0, 1000000,
         "connections (0: any)"},
        {OPT_HEADER_TIMEOUT, offsetof(fd_config, header_timeout_s), NUM_INT, 1,
         86400, "seconds"},
        {OPT_MAX_BUFFERED, offsetof(fd_config, max_buffered), NUM_SIZE, 1,
         1L << 40, "bytes"},
        {OPT_CUSTOMERS, offsetof(fd_config, seed_customers), NUM_LONG, 1,
         100000000, "customers"},
        {OPT_WH_CONCURRENCY, offsetof(fd_config, webhook_concurrency), NUM_INT,
         0, 1024, "attempts at once (0: no delivery worker)"},
        {OPT_WH_LEASE, offsetof(fd_config, webhook_lease_s), NUM_INT, 1, 86400,
         "seconds"},
        {OPT_WH_TIMEOUT, offsetof(fd_config, webhook_timeout_s), NUM_INT, 1,
         300, "seconds"},
        {OPT_DB_POOL, offsetof(fd_config, db_pool), NUM_INT, 1, 256,
         "connections"},
        {OPT_WRITERS, offsetof(fd_config, writers), NUM_INT, 0, 64,
         "writer connections (0: the database's default)"},
        {OPT_WAL_LIMIT, offsetof(fd_config, sqlite_wal_limit_mib), NUM_LONG, 0,
         65536, "MiB (0: no bound)"},
        {OPT_DASHBOARD_SESSION, offsetof(fd_config, dashboard_session_s),
         NUM_INT, 60, 7 * 86400, "seconds"},
};

static const char *opt_name(int opt)
{
	size_t i;

	for (i = 0; long_opts[i].name; i++)
		if (long_opts[i].val == opt)
			return long_opts[i].name;
	return "option";
}

/* A number option from the table above; -1 with the option, its range
 * and the value in err. */
static int apply_number(fd_config *cfg, int opt, const char *val, char *err,
                        size_t errlen)
{
	size_t i;
	long v;
	char *field;

	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (numbers[i].opt != opt)
			continue;
		if (parse_long(&v, val, numbers[i].min, numbers[i].max) < 0) {
			snprintf(err, errlen,
			         "%s: expected %ld to %ld %s, got '%s'",
			         opt_name(opt), numbers[i].min, numbers[i].max,
			         numbers[i].unit, val ? val : "");
			return -1;
		}
		field = (char *)cfg + numbers[i].off;
		if (numbers[i].type == NUM_INT)
			*(int *)(void *)field = (int)v;
		else if (numbers[i].type == NUM_LONG)
			*(long *)(void *)field = v;
		else
			*(size_t *)(void *)field = (size_t)v;
		return 0;
	}
	snprintf(err, errlen, "%s: not an option flockd knows", opt_name(opt));
	return -1;
}

/* Apply one option; the same code serves flags and environment. */
static int apply(fd_config *cfg, int opt, const char *val, char *err,
                 size_t errlen)
{
	switch (opt) {
	case OPT_LISTEN:
		if (fd_config_parse_listen(cfg, val) == 0)
			return 0;
		snprintf(err, errlen, "listen: expected HOST:PORT, got '%s'",
		         val);
		return -1;
	case OPT_DATABASE:
		cfg->database = val;
		return 0;
	case OPT_LOG_LEVEL:
		cfg->log_level = fd_log_parse_level(val);
		if (cfg->log_level >= 0)
			return 0;
		snprintf(err, errlen,
		         "log-level: one of debug, info, warn, "
		         "error, off");
		return -1;
	case OPT_APP_NAME:
		cfg->app_name = val;
		return 0;
	case OPT_LOG_FILE:
		cfg->log_file = val;
		return 0;
	case OPT_KEYS_FILE:
		cfg->keys_file = val;
		return 0;
	case OPT_IF_NEW:
		cfg->init_if_new = 1;
		return 0;
	case OPT_APP:
		cfg->app_id = val;
		return 0;
	case OPT_PER_CONN:
		cfg->per_connection = 1;
		return 0;
	case OPT_FROM:
		cfg->from = val;
		return 0;
	case OPT_TO:
		cfg->to = val;
		return 0;
	case OPT_WH_PRIVATE:
		if (parse_switch(&cfg->webhook_allow_private, val) == 0)
			return 0;
		snprintf(err, errlen,
		         "webhook-allow-private: expected 1 or 0, got '%s'",
		         val);
		return -1;
	case OPT_TEST_CLOCK:
		if (parse_switch(&cfg->test_clock, val) == 0)
			return 0;
		snprintf(err, errlen, "test-clock: expected 1 or 0, got '%s'",
		         val);
		return -1;
	case OPT_DASHBOARD:
		if (parse_dashboard(cfg, val) == 0)
			return 0;
		snprintf(
		        err, errlen,
		        "dashboard-listen: expected HOST:PORT or off, got '%s'",
		        val);
		return -1;
	case OPT_DASHBOARD_SECURE:
		if (parse_switch(&cfg->dashboard_secure, val) == 0)
			return 0;
		snprintf(err, errlen,
		         "dashboard-secure-cookies: expected 1 or 0, got '%s'",
		         val);
		return -1;
	case OPT_WH_SCHEDULE:
		if (schedule_ok(val)) {
			cfg->webhook_schedule = val;
			return 0;
		}
		snprintf(
		        err, errlen,
		        "webhook-retry-schedule: expected seconds separated "
		        "by commas (at most 16, each at most 604800), got '%s'",
		        val);
		return -1;
	}
	return apply_number(cfg, opt, val, err, errlen);
}

static const struct {
	const char *env;
	int opt;
} env_opts[] = {{"FLOCKD_LISTEN", OPT_LISTEN},
                {"FLOCKD_DATABASE", OPT_DATABASE},
                {"FLOCKD_DB_POOL", OPT_DB_POOL},
                {"FLOCKD_WRITERS", OPT_WRITERS},
                {"FLOCKD_SQLITE_WAL_LIMIT", OPT_WAL_LIMIT},
                {"FLOCKD_THREADS", OPT_THREADS},
                {"FLOCKD_MAX_BODY", OPT_MAX_BODY},
                {"FLOCKD_LOG_LEVEL", OPT_LOG_LEVEL},
                {"FLOCKD_VELOCITY_PER_HOUR", OPT_VELOCITY},
                {"FLOCKD_RATE_LIMIT", OPT_RATE_LIMIT},
                {"FLOCKD_CODE_MISSES_PER_KEY", OPT_CODE_MISSES_KEY},
                {"FLOCKD_CODE_MISSES_PER_IP", OPT_CODE_MISSES_IP},
                {"FLOCKD_TIMEOUT", OPT_TIMEOUT},
                {"FLOCKD_MAX_CONNECTIONS", OPT_MAX_CONN},
                {"FLOCKD_MAX_CONNECTIONS_PER_IP", OPT_MAX_PER_IP},
                {"FLOCKD_HEADER_TIMEOUT", OPT_HEADER_TIMEOUT},
                {"FLOCKD_MAX_BUFFERED", OPT_MAX_BUFFERED},
                {"FLOCKD_WEBHOOK_ALLOW_PRIVATE", OPT_WH_PRIVATE},
                {"FLOCKD_WEBHOOK_CONCURRENCY", OPT_WH_CONCURRENCY},
                {"FLOCKD_WEBHOOK_RETRY_SCHEDULE", OPT_WH_SCHEDULE},
                {"FLOCKD_WEBHOOK_LEASE", OPT_WH_LEASE},
                {"FLOCKD_WEBHOOK_TIMEOUT", OPT_WH_TIMEOUT},
                {"FLOCKD_TEST_CLOCK", OPT_TEST_CLOCK},
                {"FLOCKD_DASHBOARD_LISTEN", OPT_DASHBOARD},
                {"FLOCKD_DASHBOARD_SECURE_COOKIES", OPT_DASHBOARD_SECURE},
                {"FLOCKD_DASHBOARD_SESSION_TTL", OPT_DASHBOARD_SESSION},
                {"FLOCKD_LOG_FILE", OPT_LOG_FILE}};

static int parse_env(fd_config *cfg, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(env_opts) / sizeof(env_opts[0]); i++) {
		const char *v = getenv(env_opts[i].env);
		char sub[200];

		if (!v || !*v)
			continue;
		if (apply(cfg, env_opts[i].opt, v, sub, sizeof(sub)) < 0) {
			snprintf(err, errlen, "%s: %s", env_opts[i].env, sub);
			return -1;
		}
	}
	return 0;
}

static int parse_command(fd_config *cfg, const char *word, char *err,
                         size_t errlen)
{
	if (strcmp(word, "serve") == 0)
		cfg->command = FD_CMD_SERVE;
	else if (strcmp(word, "init") == 0)
		cfg->command = FD_CMD_INIT;
	else if (strcmp(word, "bench-seed") == 0)
		cfg->command = FD_CMD_BENCH_SEED;
	else if (strcmp(word, "migrate-store") == 0)
		cfg->command = FD_CMD_MIGRATE_STORE;
	else if (strcmp(word, "help") == 0)
		cfg->command = FD_CMD_HELP;
	else if (strcmp(word, "version") == 0)
		cfg->command = FD_CMD_VERSION;
	else {
		snprintf(err, errlen, "unknown command '%s' (try --help)",
		         word);
		return -1;
	}
	return 0;
}

int fd_config_parse(fd_config *cfg, int argc, char **argv, char *err,
                    size_t errlen)
{
	int opt, first = 1;

	if (parse_env(cfg, err, errlen) < 0)
		return -1;
	if (argc > 1 && argv[1][0] != '-') {
		if (parse_command(cfg, argv[1], err, errlen) < 0)
			return -1;
		first = 2;
	}
	optind = first;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+l:d:t:hV", long_opts, NULL)) !=
	       -1) {
		if (opt == OPT_HELP || opt == OPT_VERSION) {
			cfg->command =
			        opt == OPT_HELP ? FD_CMD_HELP : FD_CMD_VERSION;
			return 0;
		}
		if (opt == '?' || opt == ':') {
			snprintf(err, errlen,
			         "unknown or incomplete option "
			         "'%s' (try --help)",
			         argv[optind - 1]);
			return -1;
		}
		if (apply(cfg, opt, optarg, err, errlen) < 0)
			return -1;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

const char *fd_config_usage(void)
{
	return "usage: flockd [serve] [options]\n"
	       "       flockd init --database PATH|URL [--app-name NAME] "
	       "[--keys-file FILE] [--if-new]\n"
	       "       flockd bench-seed --database PATH|URL --app ID "
	       "--customers N\n"
	       "       flockd migrate-store --from SQLITE_PATH --to "
	       "postgres://URL [--app ID]\n"
	       "       flockd --help | --version\n"
	       "\n"
	       "options (environment variable in brackets):\n"
	       "  -l, --listen HOST:PORT     address to listen on "
	       "[FLOCKD_LISTEN] (127.0.0.1:8080)\n"
	       "  -d, --database PATH|URL    SQLite database file, or "
	       "postgres://user@host:port/db [FLOCKD_DATABASE] (flockd.db)\n"
	       "      --db-pool N            read connections to the "
	       "database [FLOCKD_DB_POOL] (8)\n"
	       "      --writers N            write connections, each with a "
	       "writer thread; more than 1 needs PostgreSQL [FLOCKD_WRITERS] "
	       "(0: 1 on SQLite, 2 on PostgreSQL)\n"
	       "      --sqlite-wal-limit MIB SQLite: restart the WAL past this "
	       "size; 0: no bound [FLOCKD_SQLITE_WAL_LIMIT] (16)\n"
	       "  -t, --threads N            HTTP worker threads "
	       "[FLOCKD_THREADS] (4)\n"
	       "      --thread-per-connection  a thread per connection "
	       "instead of the pool\n"
	       "      --max-body BYTES       largest request body "
	       "[FLOCKD_MAX_BODY] (1048576)\n"
	       "      --timeout SECONDS      idle connection timeout "
	       "[FLOCKD_TIMEOUT] (60)\n"
	       "      --max-connections N    concurrent connections "
	       "[FLOCKD_MAX_CONNECTIONS] (1024)\n"
	       "      --max-connections-per-ip N  connections from one "
	       "client address,\n"
	       "                             0: any "
	       "[FLOCKD_MAX_CONNECTIONS_PER_IP] (256)\n"
	       "      --header-timeout SECONDS  a request's line and "
	       "headers must be in\n"
	       "                             within this "
	       "[FLOCKD_HEADER_TIMEOUT] (10)\n"
	       "      --max-buffered BYTES   request bodies held in memory "
	       "at once\n"
	       "                             [FLOCKD_MAX_BUFFERED] "
	       "(67108864)\n"
	       "      --log-level LEVEL      debug, info, warn, error, off "
	       "[FLOCKD_LOG_LEVEL] (info)\n"
	       "      --log-file FILE        append logs to FILE instead of "
	       "stderr; SIGHUP reopens it\n"
	       "                             [FLOCKD_LOG_FILE]\n"
	       "      --velocity-per-hour N  fraud rule: referrals per "
	       "referrer per hour [FLOCKD_VELOCITY_PER_HOUR] (10)\n"
	       "      --rate-limit N         requests per second per service "
	       "or public key,\n"
	       "                             0: no limit [FLOCKD_RATE_LIMIT] "
	       "(0)\n"
	       "      --code-misses-per-key N  validate-code: codes not found "
	       "per minute per public\n"
	       "                             key, 0: no limit "
	       "[FLOCKD_CODE_MISSES_PER_KEY] (600)\n"
	       "      --code-misses-per-ip N   validate-code: codes not found "
	       "per minute per client\n"
	       "                             address (public keys), 0: no "
	       "limit [FLOCKD_CODE_MISSES_PER_IP] (60)\n"
	       "      --app-name NAME        init: first application's "
	       "name (default)\n"
	       "      --keys-file FILE       init: write the keys to FILE (a "
	       "new file, mode 0600)\n"
	       "                             instead of stdout\n"
	       "      --if-new               init: do nothing if the database "
	       "is already initialised\n"
	       "      --app ID               bench-seed: application to "
	       "fill; migrate-store: the only application to copy\n"
	       "      --from PATH, --to URL  migrate-store: SQLite source, "
	       "PostgreSQL target\n"
	       "      --customers N          bench-seed: customers to add "
	       "(1000)\n"
	       "      --webhook-allow-private  deliver webhooks to loopback "
	       "and private\n"
	       "                             addresses (off) "
	       "[FLOCKD_WEBHOOK_ALLOW_PRIVATE=1]\n"
	       "      --webhook-concurrency N  webhook attempts in flight, 0: "
	       "no delivery\n"
	       "                             worker (16) "
	       "[FLOCKD_WEBHOOK_CONCURRENCY]\n"
	       "      --webhook-retry-schedule S,S,...  seconds before each "
	       "retry\n"
	       "                             (5,300,1800,7200,18000,36000,"
	       "36000)\n"
	       "                             [FLOCKD_WEBHOOK_RETRY_SCHEDULE]\n"
	       "      --webhook-lease SECONDS  lease on a delivery being "
	       "attempted (60)\n"
	       "                             [FLOCKD_WEBHOOK_LEASE]\n"
	       "      --webhook-timeout SECONDS  per attempt (15) "
	       "[FLOCKD_WEBHOOK_TIMEOUT]\n"
	       "      --test-clock           tests only: time moves when "
	       "POST /admin/test/clock\n"
	       "                             says so (off) "
	       "[FLOCKD_TEST_CLOCK=1]\n"
	       "      --dashboard-listen HOST:PORT|off  serve the dashboard "
	       "on this address\n"
	       "                             (off; e.g. 127.0.0.1:8081) "
	       "[FLOCKD_DASHBOARD_LISTEN]\n"
	       "      --dashboard-secure-cookies  Secure session cookies "
	       "without a proxy's\n"
	       "                             X-Forwarded-Proto: https (off) "
	       "[FLOCKD_DASHBOARD_SECURE_COOKIES=1]\n"
	       "      --dashboard-session-ttl SECONDS  a dashboard session's "
	       "longest life\n"
	       "                             (28800) "
	       "[FLOCKD_DASHBOARD_SESSION_TTL]\n"
	       "  -h, --help                 this text\n"
	       "  -V, --version              print the version\n";
}
