/*
 * flockd as a service (packaging/flockd.service): sd_notify readiness
 * (READY=1 once it serves, RELOADING=1 then READY=1 on SIGHUP,
 * STOPPING=1 on SIGTERM) through a NOTIFY_SOCKET the test listens on;
 * SIGHUP reopening --log-file after it was moved away (logrotate); the
 * database and its WAL made 0600, and a database others can write
 * refused with a clear error; flockd init --keys-file (a new file, 0600)
 * and --if-new.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"

static fd_harness H;

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

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The next datagram on fd within 10 s into buf ("" if none). */
static const char *next_notice(int fd, char *buf, size_t len)
{
	int i;
	ssize_t n;

	buf[0] = '\0';
	for (i = 0; i < 1000; i++) {
		n = recv(fd, buf, len - 1, MSG_DONTWAIT);
		if (n > 0) {
			buf[n] = '\0';
			return buf;
		}
		msleep(10);
	}
	return buf;
}

static char *slurp(const char *path)
{
	return flock_test_read_file(path, NULL);
}

/* READY=1, RELOADING=1 + READY=1, STOPPING=1; logs reopened on SIGHUP. */
static void test_notify_and_sighup(void **state)
{
	struct sockaddr_un sa;
	char sock[300], log[320], moved[340], buf[512], env[400], *text;
	int fd, st;

	(void)state;
#ifndef FLOCKD_HAVE_SYSTEMD
	skip();
#endif
	snprintf(sock, sizeof(sock), "%s/notify", H.dir);
	snprintf(log, sizeof(log), "%s/service.log", H.dir);
	snprintf(moved, sizeof(moved), "%s/service.log.1", H.dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	h_kill(&H, SIGTERM);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", sock);
	putenv(env);
	H.extra_args[0] = "--log-file";
	H.extra_args[1] = log;
	H.extra_args[2] = "--log-level";
	H.extra_args[3] = "info";
	assert_int_equal(h_serve(&H), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_non_null(strstr(next_notice(fd, buf, sizeof(buf)), "READY=1"));
	/* logrotate moves the file, then tells flockd */
	assert_int_equal(rename(log, moved), 0);
	kill(H.pid, SIGHUP);
	assert_non_null(
	        strstr(next_notice(fd, buf, sizeof(buf)), "RELOADING=1"));
	assert_non_null(strstr(next_notice(fd, buf, sizeof(buf)), "READY=1"));
	text = slurp(log);
	assert_non_null(text); /* made again, by the reopen */
	assert_non_null(strstr(text, "log file reopened"));
	free(text);
	text = slurp(moved);
	assert_non_null(strstr(text, "listening on"));
	assert_null(strstr(text, "log file reopened"));
	free(text);
	/* still serving */
	assert_true(h_metric(&H, "flockd_http_requests_in_flight") >= 0);
	kill(H.pid, SIGTERM);
	assert_non_null(
	        strstr(next_notice(fd, buf, sizeof(buf)), "STOPPING=1"));
	st = h_kill(&H, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	unlink(sock);
	unlink(log);
	unlink(moved);
	memset(H.extra_args, 0, sizeof(H.extra_args));
	assert_int_equal(h_serve(&H), 0);
}

/* The SQLite files are 0600; a database others may write is refused. */
static void test_database_mode(void **state)
{
	char wal[340], *text;
	struct stat st;

	(void)state;
	if (h_is_pg())
		skip();
	assert_int_equal(stat(H.db, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	snprintf(wal, sizeof(wal), "%s-wal", H.db);
	if (stat(wal, &st) == 0)
		assert_int_equal(st.st_mode & 077, 0);
	h_kill(&H, SIGTERM);
	assert_int_equal(chmod(H.db, 0666), 0);
	/* h_serve waits for a flockd that exits at once: refused */
	H.extra_args[0] = NULL;
	assert_int_equal(h_serve(&H), -1);
	text = slurp(H.log);
	assert_non_null(strstr(text, "is writable by other users (mode 0666)"));
	free(text);
	assert_int_equal(chmod(H.db, 0600), 0);
	assert_int_equal(h_serve(&H), 0);
}

/* flockd init --keys-file: a new file, 0600; never over an old one;
 * --if-new does nothing on an initialised database. */
static void test_init_keys_file(void **state)
{
	char keys[320], db[320], dir[256];
	char *argv[10];
	struct stat st;
	json_t *k;
	long orgs = 0;
	pid_t pid;
	int status, i;
	const char *bin = getenv("FLOCKD_BIN");

	(void)state;
	snprintf(dir, sizeof(dir), "%s", H.dir);
	snprintf(keys, sizeof(keys), "%s/keys.json", dir);
	assert_int_equal(h_db_new(db, sizeof(db), dir), 0);
	if (!h_is_pg())
		snprintf(db, sizeof(db), "%s/second.db", dir);
	for (i = 0; i < 3; i++) {
		int n = 0;

		argv[n++] = (char *)bin;
		argv[n++] = "init";
		argv[n++] = "--database";
		argv[n++] = db;
		argv[n++] = "--keys-file";
		argv[n++] = keys;
		if (i == 2)
			argv[n++] = "--if-new";
		argv[n] = NULL;
		if (i == 2)
			unlink(keys);
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
			execv(bin, argv);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (i == 0) {
			assert_int_equal(WEXITSTATUS(status), 0);
			assert_int_equal(stat(keys, &st), 0);
			assert_int_equal(st.st_mode & 0777, 0600);
			k = json_load_file(keys, 0, NULL);
			assert_non_null(k);
			assert_true(strncmp(json_string_value(json_object_get(
			                            k, "adminToken")),
			                    "fat_", 4) == 0);
			json_decref(k);
		} else if (i == 1) {
			/* the keys file exists: refused, nothing made */
			assert_int_equal(WEXITSTATUS(status), 1);
		} else {
			assert_int_equal(WEXITSTATUS(status), 0);
			assert_int_equal(access(keys, F_OK), -1);
		}
	}
	assert_int_equal(h_db_long(db, "SELECT count(*) FROM orgs", &orgs), 0);
	assert_int_equal(orgs, 1);
	unlink(keys);
	if (h_is_pg()) {
		h_db_drop(db);
	} else {
		char f[340];

		unlink(db);
		snprintf(f, sizeof(f), "%s-wal", db);
		unlink(f);
		snprintf(f, sizeof(f), "%s-shm", db);
		unlink(f);
	}
}

/* flockd --version names the allocator serving malloc: the one the build
 * linked (FLOCKD_ALLOCATOR, from src/flockd/CMakeLists.txt), in use. */
static void test_version_allocator(void **state)
{
	const char *bin = getenv("FLOCKD_BIN");
	const char *want = strcmp(FLOCKD_ALLOCATOR, "jemalloc") == 0
	                           ? " (jemalloc "
	                           : " (libc malloc)";
	char cmd[400], line[200] = "";
	FILE *p;

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s' --version", bin);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	assert_true(strncmp(line, "flockd ", 7) == 0);
	if (!strstr(line, want))
		fail_msg("flockd --version: '%s' lacks '%s'", line, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_notify_and_sighup),
	        cmocka_unit_test(test_database_mode),
	        cmocka_unit_test(test_init_keys_file),
	        cmocka_unit_test(test_version_allocator),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
