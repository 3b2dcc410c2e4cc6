/*
 * flockd's options (config.c): flags and FLOCKD_* variables, the flag
 * winning; every bad value refused with a message that names the option,
 * what it expects and what it got; commands; nothing left half-applied
 * that main.c would act on (it exits 2 on any error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define MAXARGS 16

/* fd_config_parse over "flockd" and the NULL-terminated words; the
 * message in err. */
static int parse(fd_config *cfg, char *err, size_t len, ...)
{
	char *argv[MAXARGS + 1];
	int argc = 0;
	const char *w;
	va_list ap;

	argv[argc++] = "flockd";
	va_start(ap, len);
	while ((w = va_arg(ap, const char *)) && argc < MAXARGS)
		argv[argc++] = (char *)w;
	va_end(ap);
	argv[argc] = NULL;
	fd_config_defaults(cfg);
	err[0] = '\0';
	return fd_config_parse(cfg, argc, argv, err, len);
}

#define PARSE(cfg, err, ...) parse(cfg, err, sizeof(err), __VA_ARGS__, NULL)

/* flockd serve WORD [VAL] is refused with the message want. */
static void refused(const char *want, const char *word, const char *val)
{
	char *argv[] = {"flockd", "serve", (char *)word, (char *)val, NULL};
	fd_config cfg;
	char err[256] = "";

	fd_config_defaults(&cfg);
	if (fd_config_parse(&cfg, val ? 4 : 3, argv, err, sizeof(err)) != -1)
		fail_msg("%s '%s': accepted", word, val ? val : "");
	if (strcmp(err, want) != 0)
		fail_msg("%s %s: got '%s', want '%s'", word, val ? val : "",
		         err, want);
}

static void test_defaults_and_flags(void **state)
{
	fd_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "serve"), 0);
	assert_int_equal(cfg.command, FD_CMD_SERVE);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(PARSE(&cfg, err, "serve", "--listen", "[::1]:9001",
	                       "--threads", "8", "--max-body", "4096",
	                       "--writers", "0", "--webhook-timeout", "300",
	                       "--max-buffered", "1099511627776"),
	                 0);
	assert_string_equal(cfg.listen_host, "::1");
	assert_int_equal(cfg.port, 9001);
	assert_int_equal(cfg.threads, 8);
	assert_int_equal(cfg.max_body, 4096);
	assert_int_equal(cfg.writers, 0);
	assert_int_equal(cfg.webhook_timeout_s, 300);
	assert_true(cfg.max_buffered == (size_t)1 << 40);
	assert_int_equal(PARSE(&cfg, err, "serve", "--rate-limit", "0",
	                       "--code-misses-per-ip", "1000000000",
	                       "--max-connections-per-ip", "0", "--customers",
	                       "7"),
	                 0);
	assert_int_equal(cfg.rate_limit, 0);
	assert_int_equal(cfg.code_misses_per_ip, 1000000000L);
	assert_int_equal(cfg.max_per_ip, 0);
	assert_int_equal(cfg.seed_customers, 7);
	assert_int_equal(PARSE(&cfg, err, "serve", "--db-pool", "4",
	                       "--writers", "3", "--sqlite-wal-limit", "65536",
	                       "--dashboard-session-ttl", "604800"),
	                 0);
	assert_int_equal(cfg.db_pool, 4);
	assert_int_equal(cfg.writers, 3);
	assert_int_equal(cfg.sqlite_wal_limit_mib, 65536);
	assert_int_equal(cfg.dashboard_session_s, 604800);
	assert_int_equal(PARSE(&cfg, err, "serve", "-t", "3", "-d", "x.db"), 0);
	assert_int_equal(cfg.threads, 3);
	assert_string_equal(cfg.database, "x.db");
}

static void test_environment_then_flag(void **state)
{
	fd_config cfg;
	char err[256];

	(void)state;
	setenv("FLOCKD_THREADS", "6", 1);
	setenv("FLOCKD_WEBHOOK_ALLOW_PRIVATE", "yes", 1);
	assert_int_equal(PARSE(&cfg, err, "serve"), 0);
	assert_int_equal(cfg.threads, 6);
	assert_int_equal(cfg.webhook_allow_private, 1);
	assert_int_equal(PARSE(&cfg, err, "serve", "--threads", "2"), 0);
	assert_int_equal(cfg.threads, 2); /* the flag wins */
	setenv("FLOCKD_THREADS", "many", 1);
	assert_int_equal(PARSE(&cfg, err, "serve"), -1);
	assert_string_equal(err, "FLOCKD_THREADS: threads: expected 1 to 1024 "
	                         "threads, got 'many'");
	unsetenv("FLOCKD_THREADS");
	setenv("FLOCKD_WEBHOOK_ALLOW_PRIVATE", "maybe", 1);
	assert_int_equal(PARSE(&cfg, err, "serve"), -1);
	assert_string_equal(err, "FLOCKD_WEBHOOK_ALLOW_PRIVATE: "
	                         "webhook-allow-private: expected 1 or 0, got "
	                         "'maybe'");
	unsetenv("FLOCKD_WEBHOOK_ALLOW_PRIVATE");
	/* An empty variable is as if unset. */
	setenv("FLOCKD_MAX_BODY", "", 1);
	assert_int_equal(PARSE(&cfg, err, "serve"), 0);
	unsetenv("FLOCKD_MAX_BODY");
}

/* Every number option, just out of its range and not a number at all. */
static void test_numbers_refused(void **state)
{
	(void)state;
	refused("threads: expected 1 to 1024 threads, got '0'", "--threads",
	        "0");
	refused("threads: expected 1 to 1024 threads, got '1025'", "--threads",
	        "1025");
	refused("max-body: expected 1 to 1073741824 bytes, got '12k'",
	        "--max-body", "12k");
	refused("velocity-per-hour: expected 0 to 2147483647 referrals per "
	        "referrer an hour (0: off), got '-1'",
	        "--velocity-per-hour", "-1");
	refused("rate-limit: expected 0 to 1000000000 requests a second per "
	        "key "
	        "(0: off), got '1000000001'",
	        "--rate-limit", "1000000001");
	refused("code-misses-per-key: expected 0 to 1000000000 misses a minute "
	        "(0: off), got ''",
	        "--code-misses-per-key", "");
	refused("timeout: expected 1 to 86400 seconds, got '0'", "--timeout",
	        "0");
	refused("max-connections: expected 1 to 1000000 connections, got '0'",
	        "--max-connections", "0");
	refused("max-connections-per-ip: expected 0 to 1000000 connections (0: "
	        "any), got '1e3'",
	        "--max-connections-per-ip", "1e3");
	refused("header-timeout: expected 1 to 86400 seconds, got '86401'",
	        "--header-timeout", "86401");
	refused("max-buffered: expected 1 to 1099511627776 bytes, got "
	        "'99999999999999999999'",
	        "--max-buffered", "99999999999999999999");
	refused("customers: expected 1 to 100000000 customers, got '0'",
	        "--customers", "0");
	refused("webhook-concurrency: expected 0 to 1024 attempts at once (0: "
	        "no "
	        "delivery worker), got '2000'",
	        "--webhook-concurrency", "2000");
	refused("webhook-lease: expected 1 to 86400 seconds, got ' 5'",
	        "--webhook-lease", " 5");
	refused("webhook-timeout: expected 1 to 300 seconds, got '301'",
	        "--webhook-timeout", "301");
	refused("db-pool: expected 1 to 256 connections, got '0'", "--db-pool",
	        "0");
	refused("writers: expected 0 to 64 writer connections (0: the "
	        "database's default), got '65'",
	        "--writers", "65");
	refused("sqlite-wal-limit: expected 0 to 65536 MiB (0: no bound), got "
	        "'-5'",
	        "--sqlite-wal-limit", "-5");
	refused("dashboard-session-ttl: expected 60 to 604800 seconds, got "
	        "'59'",
	        "--dashboard-session-ttl", "59");
}

static void test_other_values_refused(void **state)
{
	(void)state;
	refused("listen: expected HOST:PORT, got 'localhost'", "--listen",
	        "localhost");
	refused("log-level: one of debug, info, warn, error, off",
	        "--log-level", "loud");
	refused("dashboard-listen: expected HOST:PORT or off, got 'on'",
	        "--dashboard-listen", "on");
	refused("webhook-retry-schedule: expected seconds separated by commas "
	        "(at most 16, each at most 604800), got '5,,10'",
	        "--webhook-retry-schedule", "5,,10");
	refused("unknown or incomplete option '--no-such' (try --help)",
	        "--no-such", NULL);
	refused("unknown or incomplete option '--threads' (try --help)",
	        "--threads", NULL);
	refused("unexpected argument 'extra'", "extra", NULL);
}

static void test_commands(void **state)
{
	fd_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(
	        PARSE(&cfg, err, "init", "--if-new", "--keys-file", "k.json"),
	        0);
	assert_int_equal(cfg.command, FD_CMD_INIT);
	assert_int_equal(cfg.init_if_new, 1);
	assert_string_equal(cfg.keys_file, "k.json");
	assert_int_equal(PARSE(&cfg, err, "migrate-store", "--from", "a.db",
	                       "--to", "postgres://h/d"),
	                 0);
	assert_int_equal(cfg.command, FD_CMD_MIGRATE_STORE);
	assert_string_equal(cfg.to, "postgres://h/d");
	assert_int_equal(PARSE(&cfg, err, "serve", "--version"), 0);
	assert_int_equal(cfg.command, FD_CMD_VERSION);
	assert_int_equal(PARSE(&cfg, err, "-h"), 0);
	assert_int_equal(cfg.command, FD_CMD_HELP);
	assert_int_equal(PARSE(&cfg, err, "start"), -1);
	assert_string_equal(err, "unknown command 'start' (try --help)");
	assert_non_null(strstr(fd_config_usage(), "--writers"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults_and_flags),
	        cmocka_unit_test(test_environment_then_flag),
	        cmocka_unit_test(test_numbers_refused),
	        cmocka_unit_test(test_other_values_refused),
	        cmocka_unit_test(test_commands),
	};
	const char *be = getenv("FLOCKD_TEST_BACKEND");

	/* No database here: the SQLite registration runs it. */
	if (be && strcmp(be, "pg") == 0)
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
