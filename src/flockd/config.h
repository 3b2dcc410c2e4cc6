/*
 * flockd: configuration from command-line flags and environment variables.
 *
 * Precedence: built-in default, then FLOCKD_* environment variable, then
 * flag. The configuration holds no secrets.
 */
#ifndef FLOCKD_CONFIG_H
#define FLOCKD_CONFIG_H

#include <stddef.h>

typedef enum {
	FD_CMD_SERVE = 0,
	FD_CMD_INIT,
	FD_CMD_BENCH_SEED,
	FD_CMD_MIGRATE_STORE,
	FD_CMD_HELP,
	FD_CMD_VERSION
} fd_command;

typedef struct {
	fd_command command;
	char listen_host[64]; /* numeric IPv4/IPv6 address */
	unsigned short port;
	const char *database; /* SQLite file or postgres:// URL */
	int db_pool;          /* read connections to the database */
	int writers;          /* write connections and writer threads; 0: the
	                         database's default (engine.h) */
	int threads;          /* HTTP worker threads (pool size) */
	int per_connection;   /* 1: a thread per connection, no pool */
	size_t max_body;      /* bytes; larger bodies get 413 */
	int conn_timeout_s;   /* idle connection timeout */
	int max_connections;
	int max_per_ip;        /* connections per client address; 0: any */
	int header_timeout_s;  /* a request's line and headers, in all */
	size_t max_buffered;   /* bytes of request bodies held at once */
	int log_level;         /* fd_log_level */
	int velocity_per_hour; /* fraud rule: referrals per referrer per hour */
	long rate_limit;       /* requests per second per key; 0: off */
	long code_misses_per_key; /* validate-code misses a minute; 0: off */
	long code_misses_per_ip;  /* the same per client address */
	const char *app_name;  /* init: name of the first application */
	const char *app_id;    /* bench-seed: application to fill */
	long seed_customers;   /* bench-seed: how many customers */
	const char *from;      /* migrate-store: SQLite file */
	const char *to;        /* migrate-store: postgres:// URL */
	/* webhook delivery worker (delivery.h) */
	int webhook_allow_private;    /* loopback/private URLs allowed */
	int webhook_concurrency;      /* attempts in flight; 0: no worker */
	const char *webhook_schedule; /* retry delays "5,300,..." (seconds);
	                                 NULL: the spec's */
	int webhook_lease_s;          /* lease on a claimed delivery */
	int webhook_timeout_s;        /* per attempt */
	int test_clock;               /* tests only: a manual clock moved by
	                                 POST /admin/test/clock */
	/* the dashboard's port (docs/dashboard.md); off by default */
	int dashboard;                /* 1: serve it */
	char dashboard_host[64];      /* numeric IPv4/IPv6 address */
	unsigned short dashboard_port;
	int dashboard_secure;         /* Secure cookies without a proxy's
	                                 X-Forwarded-Proto: https */
	int dashboard_session_s;      /* a session's longest life */
	const char *log_file;         /* logs appended here instead of stderr,
	                                 reopened on SIGHUP; NULL: stderr */
	const char *keys_file; /* init: write the secrets here (a new file,
	                          0600) instead of stdout */
	int init_if_new;       /* init: nothing to do if the database already
	                          has an organization */
	/* SQLite: the WAL is restarted past this many MiB; 0: no bound */
	long sqlite_wal_limit_mib;
} fd_config;

void fd_config_defaults(fd_config *cfg);

/*
 * Fill cfg from the environment, then argv. 0, or -1 with a message for
 * the operator in err.
 */
int fd_config_parse(fd_config *cfg, int argc, char **argv, char *err,
                    size_t errlen);

/* Parse "host:port" ("[v6]:port" for IPv6). 0 or -1. */
int fd_config_parse_listen(fd_config *cfg, const char *s);

/* The --help text. */
const char *fd_config_usage(void);

#endif
