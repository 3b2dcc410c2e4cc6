/*
 * The queue's spool (src/lib/queue_spool.c): events kept across queues on
 * one file with their keys and bodies, rows gone once sent or dropped, a
 * file that is not a libflock spool (text, another program's SQLite
 * database, a newer schema, a damaged page, a row that makes no sense)
 * refused with FLOCK_ESPOOL and left byte for byte as it was, and one
 * queue per file at a time.
 */
#include "queue_fake.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_MAX 20000 /* events the killed child would queue */

static flock_client *C;
static char dir[64];
static char path[128];

static void rm_spool(void)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/flock-spool-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/queue.spool", dir);
	C = qf_client();
	return C ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	flock_client_free(C);
	rm_spool();
	rmdir(dir);
	qf_reset();
	return 0;
}

static int each(void **state)
{
	(void)state;
	qf_reset();
	rm_spool();
	return 0;
}

static flock_queue_options spool_options(void)
{
	flock_queue_options o = qf_options();

	o.spool_path = path;
	return o;
}

static int open_queue(flock_queue **q, const flock_queue_options *o)
{
	*q = NULL;
	return flock_queue_new(q, C, o);
}

/* Queue n events while Flock is down and the clock frozen, then free. */
static void leave_events(int n, flock_queue_options *o)
{
	flock_queue *q;
	char key[32];
	int i;

	qf_set_answer(QF_DOWN);
	assert_int_equal(open_queue(&q, o), 0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "spool-key-%d", i);
		assert_int_equal(qf_ingest(q, i % 2 ? "u1" : "u2", i, key), 0);
	}
	assert_int_equal(flock_queue_free(q, 0), FLOCK_ETIMEOUT);
	assert_non_null(strstr(flock_error_last()->message, "spool"));
}

static void test_resume_same_keys_and_bodies(void **state)
{
	flock_queue_options o = spool_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	flock_queue *q;
	char first_body[4][512], first_key[4][32];
	struct stat sb;
	size_t i;
	int n;

	(void)state;
	leave_events(4, &o);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600); /* customers' data */
	memset(first_key, 0, sizeof(first_key));
	for (i = 0; i < qf_count() && i < 4; i++) {
		snprintf(first_body[i], sizeof(first_body[i]), "%s",
		         qf.req[i].body);
		snprintf(first_key[i], sizeof(first_key[i]), "%s",
		         qf.req[i].key);
	}
	qf_reset();
	qf_advance(5000);
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.resumed, 4);
	assert_int_equal(st.sent, 4);
	assert_int_equal(qf_count(), 4);
	for (i = 0; i < 4; i++) {
		char key[32];

		n = qf_body_n(&qf.req[i]);
		snprintf(key, sizeof(key), "spool-key-%d", n);
		assert_string_equal(qf.req[i].key, key);
	}
	/* An event attempted before the restart: the very same bytes, under
	 * the same key (the senders may have taken any customer's first;
	 * with none attempted, first_key[0] is empty and matches none). */
	for (i = 0; i < 4; i++) {
		if (strcmp(qf.req[i].key, first_key[0]) == 0)
			assert_string_equal(qf.req[i].body, first_body[0]);
	}
	/* Ages go on from when they were queued, across the restart. */
	assert_true(qf.rep[0].age_ms >= 5000);
	assert_int_equal(flock_queue_free(q, 1000), 0);
	/* Sent events are gone from the spool. */
	qf_reset();
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.resumed, 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static void test_drop_oldest_removes_rows(void **state)
{
	flock_queue_options o = spool_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	unsigned long long one = 1;
	flock_queue *q;

	(void)state;
	o.max_events = 2;
	o.full_policy = FLOCK_QUEUE_FULL_DROP_OLDEST;
	o.sync = FLOCK_QUEUE_SYNC_NORMAL;
	qf_set_answer(QF_DOWN);
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(qf_ingest(q, "u1", 0, "k0"), 0);
	assert_int_equal(qf_wait_stats(q, qf_retries_settled, &one), 0);
	assert_int_equal(qf_ingest(q, "u1", 1, "k1"), 0);
	assert_int_equal(qf_ingest(q, "u1", 2, "k2"), 0);
	assert_int_equal(qf_ingest(q, "u1", 3, "k3"), 0);
	assert_int_equal(flock_queue_free(q, 0), FLOCK_ETIMEOUT);
	assert_int_equal(qf_reports(), 2);
	qf_reset();
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(flock_queue_flush(q, 10000), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.resumed, 2);
	assert_int_equal(qf_count(), 2);
	assert_string_equal(qf.req[0].key, "k2");
	assert_string_equal(qf.req[1].key, "k3");
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

static void test_one_queue_per_file(void **state)
{
	flock_queue_options o = spool_options();
	flock_queue *a, *b;

	(void)state;
	assert_int_equal(open_queue(&a, &o), 0);
	assert_int_equal(open_queue(&b, &o), FLOCK_ESPOOL);
	assert_null(b);
	assert_non_null(strstr(flock_error_last()->message, "in use"));
	assert_int_equal(flock_queue_free(a, 1000), 0);
	assert_int_equal(open_queue(&b, &o), 0);
	assert_int_equal(flock_queue_free(b, 1000), 0);
}

/* The n of a "kill-<n>" key. 0, or -1 if it is not one. */
static int key_number(const char *key, int *n)
{
	char *end;
	long v;

	if (strncmp(key, "kill-", 5) != 0)
		return -1;
	v = strtol(key + 5, &end, 10);
	if (*end != '\0' || v < 0 || v >= KILL_MAX)
		return -1;
	*n = (int)v;
	return 0;
}

/* --- files that are not ours ---------------------------------------------- */

static char *slurp(size_t *len)
{
	return flock_test_read_file(path, len);
}

/* Opening must fail with FLOCK_ESPOOL naming `why`, the file untouched. */
static void refused(const char *why)
{
	flock_queue_options o = spool_options();
	size_t before_len = 0, after_len = 0;
	char *before = slurp(&before_len), *after;
	size_t requests = qf_count();
	flock_queue *q;

	assert_non_null(before);
	assert_int_equal(open_queue(&q, &o), FLOCK_ESPOOL);
	assert_null(q);
	if (!strstr(flock_error_last()->message, why))
		fail_msg("message \"%s\" does not say \"%s\"",
		         flock_error_last()->message, why);
	after = slurp(&after_len);
	assert_non_null(after);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
	assert_int_equal(qf_count(), requests);
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void sql(const char *stmt)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, stmt, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", stmt, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void test_refuses_text_file(void **state)
{
	static const char text[] = "order-1,purchase_completed\norder-2\n";

	(void)state;
	write_file(text, sizeof(text) - 1);
	refused("not a libflock spool (not an SQLite database)");
}

static void test_refuses_other_database(void **state)
{
	(void)state;
	sql("CREATE TABLE orders(id INTEGER PRIMARY KEY, total REAL);"
	    "INSERT INTO orders VALUES(1, 9.5);");
	refused("SQLite database of another program");
	sql("PRAGMA application_id=1234");
	refused("application_id 0x000004d2");
}

static void test_refuses_newer_schema(void **state)
{
	flock_queue_options o = spool_options();

	(void)state;
	leave_events(1, &o);
	sql("PRAGMA user_version=99");
	refused("newer libflock (spool schema 99");
}

static void test_refuses_bad_row(void **state)
{
	flock_queue_options o = spool_options();

	(void)state;
	leave_events(1, &o);
	sql("INSERT INTO flock_queue_events VALUES(77, 9, 'k', 'u', NULL, "
	    "'{}', 0)");
	refused("corrupt (event 77");
	sql("UPDATE flock_queue_events SET op = 1, body = 'not json' "
	    "WHERE seq = 77");
	refused("corrupt (event 77");
}

/* A damaged page: garbage over page 3 of a spool with many rows. */
static void test_refuses_damaged_file(void **state)
{
	flock_queue_options o = spool_options();
	char junk[4096];
	struct stat sb;
	int fd;

	(void)state;
	o.max_events = 200;
	leave_events(120, &o);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size >= 4 * 4096);
	memset(junk, 0x5a, sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 2 * 4096),
	                 (ssize_t)sizeof(junk));
	close(fd);
	refused("corrupt");
}

static void test_refuses_directory_and_bad_path(void **state)
{
	flock_queue_options o = spool_options();
	flock_queue *q;
	char p[160];

	(void)state;
	o.spool_path = dir;
	assert_int_equal(open_queue(&q, &o), FLOCK_ESPOOL);
	snprintf(p, sizeof(p), "%s/no/such/dir/spool", dir);
	o.spool_path = p;
	assert_int_equal(open_queue(&q, &o), FLOCK_ESPOOL);
	assert_non_null(strstr(flock_error_last()->message, "cannot create"));
	o.spool_path = "";
	assert_int_equal(open_queue(&q, &o), FLOCK_EINVAL);
}

/* An empty file (touch) is a new spool, not a refusal. */
static void test_empty_file_is_new(void **state)
{
	flock_queue_options o = spool_options();
	flock_queue *q;

	(void)state;
	write_file("", 0);
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(qf_ingest(q, "u1", 1, NULL), 0);
	assert_int_equal(flock_queue_free(q, 10000), 0);
	assert_int_equal(qf_count(), 1);
}

/*
 * 8 threads enqueueing into a spooled queue while it sends: commits are
 * shared (group commit) and senders take events the moment they are
 * durable; every event is sent once and the spool ends empty.
 */
#define MT_THREADS 8
#define MT_EVENTS 30

static void *mt_enqueue(void *arg)
{
	flock_queue *q = ((void **)arg)[0];
	int t = (int)(long)((void **)arg)[1], i, rc = 0;
	char cust[16];

	for (i = 0; i < MT_EVENTS && rc == 0; i++) {
		snprintf(cust, sizeof(cust), "t%d-%d", t, i % 2);
		rc = qf_ingest(q, cust, t * 1000 + i, NULL);
	}
	return (void *)(long)rc;
}

static void test_threads_enqueue_spooled(void **state)
{
	flock_queue_options o = FLOCK_QUEUE_OPTIONS_INIT;
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	static char seen[MT_THREADS][MT_EVENTS];
	void *args[MT_THREADS][2], *ret;
	pthread_t th[MT_THREADS];
	flock_queue *q;
	size_t i;
	int t, n;

	(void)state;
	o.spool_path = path;
	o.sync = FLOCK_QUEUE_SYNC_NORMAL;
	o.sender_threads = 3;
	o.report_cb = qf_report;
	assert_int_equal(open_queue(&q, &o), 0);
	for (t = 0; t < MT_THREADS; t++) {
		args[t][0] = q;
		args[t][1] = (void *)(long)t;
		assert_int_equal(
		        pthread_create(&th[t], NULL, mt_enqueue, args[t]), 0);
	}
	for (t = 0; t < MT_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(flock_queue_flush(q, 60000), 0);
	assert_int_equal(qf_count(), MT_THREADS * MT_EVENTS);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < qf_count(); i++) {
		n = qf_body_n(&qf.req[i]);
		assert_false(seen[n / 1000][n % 1000]);
		seen[n / 1000][n % 1000] = 1;
	}
	assert_int_equal(flock_queue_free(q, 1000), 0);
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_int_equal(st.resumed, 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
}

/*
 * SIGKILL in the middle of enqueueing (commits under way, senders
 * trying): the spool opens again, and every event whose enqueue had
 * returned is there and is sent, once.
 */
#define KILL_AFTER 150

static void kill_child(int ack_fd)
{
	flock_queue_options o = spool_options();
	flock_queue *q = NULL;
	char key[32];
	int i;

	o.clock_cb = NULL; /* real time: the senders really try */
	o.sync = FLOCK_QUEUE_SYNC_NORMAL;
	qf_set_answer(QF_DOWN);
	if (open_queue(&q, &o) != 0)
		_exit(2);
	for (i = 0; i < KILL_MAX; i++) {
		ssize_t n;

		snprintf(key, sizeof(key), "kill-%d", i);
		if (qf_ingest(q, i % 3 ? "u1" : "u2", i, key) != 0)
			_exit(3);
		n = write(ack_fd, &i, sizeof(i)); /* acknowledged */
		(void)n;
	}
	for (;;)
		pause();
}

static void test_sigkill_mid_enqueue(void **state)
{
	flock_queue_options o = spool_options();
	flock_queue_stats st = FLOCK_QUEUE_STATS_INIT;
	static char sent[KILL_MAX];
	int fds[2], acked = -1, v, status, k = 0;
	flock_queue *q;
	size_t i;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		kill_child(fds[1]);
	}
	close(fds[1]);
	while (acked < KILL_AFTER && read(fds[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		acked = v; /* acks written before the kill */
	close(fds[0]);
	assert_true(acked >= KILL_AFTER);
	assert_true(acked < KILL_MAX - 1); /* killed mid-queue */
	if (getenv("QUEUE_TEST_VERBOSE"))
		fprintf(stderr, "killed after %d acknowledged\n", acked + 1);

	qf_reset();
	assert_int_equal(open_queue(&q, &o), 0);
	assert_int_equal(flock_queue_stats_get(&st, q), 0);
	assert_true(st.resumed >= (unsigned long long)acked + 1);
	assert_int_equal(qf_drive(q, 1000, 100), 0);
	assert_int_equal(flock_queue_free(q, 1000), 0);
	memset(sent, 0, sizeof(sent));
	for (i = 0; i < qf_count(); i++) {
		assert_int_equal(key_number(qf.req[i].key, &k), 0);
		assert_false(sent[k]);
		sent[k] = 1;
	}
	for (k = 0; k <= acked; k++)
		if (!sent[k])
			fail_msg("acknowledged event %d lost", k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_resume_same_keys_and_bodies, each),
	        cmocka_unit_test_setup(test_drop_oldest_removes_rows, each),
	        cmocka_unit_test_setup(test_one_queue_per_file, each),
	        cmocka_unit_test_setup(test_refuses_text_file, each),
	        cmocka_unit_test_setup(test_refuses_other_database, each),
	        cmocka_unit_test_setup(test_refuses_newer_schema, each),
	        cmocka_unit_test_setup(test_refuses_bad_row, each),
	        cmocka_unit_test_setup(test_refuses_damaged_file, each),
	        cmocka_unit_test_setup(test_refuses_directory_and_bad_path,
	                               each),
	        cmocka_unit_test_setup(test_empty_file_is_new, each),
	        cmocka_unit_test_setup(test_threads_enqueue_spooled, each),
	        cmocka_unit_test_setup(test_sigkill_mid_enqueue, each),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
