/*
 * flockctl import and export against a real flockd: counts and the
 * rejects file, a second run answered from the idempotency records, an
 * import killed with SIGKILL in the middle and run again (no row twice,
 * none lost: every customer and referral once, each created event once),
 * the file changed under a stopped import, the wire API's path, and
 * exports as CSV and JSON lines.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_run.h"
#include "support.h"

static fd_harness H;

#define RUN(o, ...) ctl_run(&H, o, __VA_ARGS__, (const char *)NULL)

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	/* referrals by one referrer: beyond the velocity rule's default */
	H.extra_args[0] = "--velocity-per-hour";
	H.extra_args[1] = "100000000";
	return h_start(&H);
}

static int teardown(void **state)
{
	(void)state;
	h_kill(&H, SIGTERM);
	ctl_clean(&H);
	h_stop(&H);
	return 0;
}

static long db_long(const char *sql)
{
	long v = -1;

	assert_int_equal(h_db_long(H.db, sql, &v), 0);
	return v;
}

/* customers.csv with n rows "<prefix><i>", and a header with a property
 * column and an ignored one; its path. */
static const char *customers_csv(const char *name, const char *prefix, long n)
{
	static char path[400];
	FILE *f;
	long i;

	ctl_path(&H, path, sizeof(path), name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "external_user_id,email,name,plan,_note\r\n");
	for (i = 0; i < n; i++)
		fprintf(f, "%s%ld,%s%ld@example.com,\"Doe, %ld\",%s,x\r\n",
		        prefix, i, prefix, i, i, i % 2 ? "pro" : "free");
	fclose(f);
	return path;
}

static long summary_long(const ctl_out *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o->json, k));
}

/* Counts, rejects with their reasons, properties; a second run replays. */
static void test_counts_and_rejects(void **state)
{
	const char *path;
	char rejects[420], *text;
	ctl_out o;
	struct stat st;
	FILE *f;

	(void)state;
	path = customers_csv("small.csv", "s", 300);
	f = fopen(path, "a");
	fprintf(f, ",nobody@example.com,No Id,free,x\n");
	fprintf(f, "short\n");
	fprintf(f, "s1,changed@example.com,\"Doe, 1\",pro,x\n");
	fclose(f);
	/* one batch at a time: the file names s1 twice, and the later row
	 * must win (batches in flight at once may land in any order) */
	RUN(&o, "import", "customers", path, "--batch-size", "64",
	    "--concurrency", "1", "--environment", "test");
	assert_int_equal(o.code, 1); /* rows were rejected */
	assert_int_equal(summary_long(&o, "rows"), 303);
	assert_int_equal(summary_long(&o, "created"), 300);
	assert_int_equal(summary_long(&o, "updated"), 1);
	assert_int_equal(summary_long(&o, "rejected"), 2);
	snprintf(rejects, sizeof(rejects), "%s.rejects.csv", path);
	assert_string_equal(
	        json_string_value(json_object_get(o.json, "rejects")), rejects);
	ctl_out_free(&o);
	assert_int_equal(stat(rejects, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = ctl_slurp(rejects);
	assert_non_null(strstr(text, "external_user_id,email,name,plan,_note,"
	                             "_line,_error,_message\n"));
	assert_non_null(strstr(text, ",302,invalid_row,externalUserId is "
	                             "empty"));
	assert_non_null(strstr(text, "short,303,invalid_row,"));
	free(text);
	assert_int_equal(db_long("SELECT count(*) FROM customers WHERE "
	                         "external_id LIKE 's%'"),
	                 300);
	assert_int_equal(db_long("SELECT count(*) FROM customers WHERE "
	                         "external_id = 's1' AND email = "
	                         "'changed@example.com'"),
	                 1);
	assert_int_equal(db_long("SELECT count(*) FROM customers WHERE "
	                         "external_id = 's3' AND custom_properties "
	                         "LIKE '%\"plan\":\"pro\"%' AND name = "
	                         "'Doe, 3'"),
	                 1);
	/* again: every row answered from its idempotency record */
	RUN(&o, "import", "customers", path, "--environment", "test");
	assert_int_equal(o.code, 1);
	assert_int_equal(summary_long(&o, "replayed"), 301);
	assert_int_equal(summary_long(&o, "created"), 0);
	ctl_out_free(&o);
	assert_int_equal(db_long("SELECT count(*) FROM outbox WHERE name = "
	                         "'customer.created' AND body LIKE "
	                         "'%\"externalUserId\":\"s%'"),
	                 300);
	/* a table on a terminal-less run with --table: the summary line */
	RUN(&o, "--table", "import", "customers", path, "--environment",
	    "test");
	assert_non_null(strstr(o.out, "301 already imported, 2 rejected"));
	ctl_out_free(&o);
	RUN(&o, "import", "customers", "/nonexistent.csv");
	assert_int_equal(o.code, 1);
	ctl_out_free(&o);
	RUN(&o, "import", "customers", path, "--batch-size", "5000");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
}

/* Wait until the import's state file says it is past `offset` bytes. */
static void wait_progress(const char *state_path, long offset)
{
	int i;

	for (i = 0; i < 6000; i++) {
		json_t *s = json_load_file(state_path, 0, NULL);
		long at =
		        (long)json_integer_value(json_object_get(s, "offset"));

		json_decref(s);
		if (at > offset)
			return;
		ctl_msleep(5);
	}
	fail_msg("the import made no progress");
}

/* SIGKILL in the middle, then the same command: every row once. */
static void test_resume_after_sigkill_customers(void **state)
{
	const long n = 30000;
	const char *path = customers_csv("big.csv", "k", n);
	char state_path[400];
	const char *argv[] = {
	        "import",        "customers", path,      "--batch-size", "200",
	        "--concurrency", "2",         "--state", state_path,     NULL};
	char out[400], err[400], *log;
	ctl_out o;
	pid_t pid;
	long done;
	int st;

	(void)state;
	ctl_path(&H, state_path, sizeof(state_path), "big.state");
	ctl_path(&H, out, sizeof(out), "import.out");
	ctl_path(&H, err, sizeof(err), "import.err");
	pid = ctl_spawn(&H, NULL, argv, out, err);
	assert_true(pid > 0);
	wait_progress(state_path, 200000); /* some batches settled */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	done = db_long("SELECT count(*) FROM customers WHERE external_id "
	               "LIKE 'k%'");
	assert_true(done > 0);
	assert_true(done < n); /* killed in the middle */
	log = ctl_slurp(err);
	free(log);
	/* the same command again: resumes */
	ctl_runv(&H, &o, NULL, NULL, argv);
	if (o.code != 0)
		fprintf(stderr, "%s\n%s\n", o.err, o.out);
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.err, "resuming"));
	assert_true(json_integer_value(
	                    json_object_get(o.json, "resumedAtLine")) > 1);
	/* every row counted once over both runs */
	assert_int_equal(summary_long(&o, "rows"), n);
	assert_int_equal(summary_long(&o, "rejected"), 0);
	assert_int_equal(summary_long(&o, "created") +
	                         summary_long(&o, "replayed") +
	                         summary_long(&o, "updated"),
	                 n);
	ctl_out_free(&o);
	/* no row lost, none twice */
	assert_int_equal(db_long("SELECT count(*) FROM customers WHERE "
	                         "external_id LIKE 'k%'"),
	                 n);
	assert_int_equal(db_long("SELECT count(DISTINCT external_id) FROM "
	                         "customers WHERE external_id LIKE 'k%'"),
	                 n);
	assert_int_equal(db_long("SELECT count(*) FROM outbox WHERE name = "
	                         "'customer.created' AND body LIKE "
	                         "'%\"externalUserId\":\"k%'"),
	                 n);
	/* the state is gone once done */
	assert_int_equal(access(state_path, F_OK), -1);
}

/* Referrals: killed, resumed; each referral once, each
 * referral.created once. */
static void test_resume_after_sigkill_referrals(void **state)
{
	const long n = 6000;
	char campaign[64], code[32], path[400], state_path[400], out[400],
	        err[400];
	const char *argv[] = {
	        "import",       "referrals", path,      "--campaign", campaign,
	        "--batch-size", "100",       "--state", state_path,   NULL};
	ctl_out o;
	FILE *f;
	pid_t pid;
	long i, done;

	(void)state;
	assert_int_equal(h_live_campaign(&H, "production", 0, 0, campaign,
	                                 sizeof(campaign)),
	                 0);
	RUN(&o, "customers", "identify", "--external-id", "the-referrer");
	snprintf(code, sizeof(code), "%s",
	         json_string_value(json_object_get(o.json, "referralCode")));
	ctl_out_free(&o);
	ctl_path(&H, path, sizeof(path), "referrals.csv");
	ctl_path(&H, state_path, sizeof(state_path), "referrals.state");
	ctl_path(&H, out, sizeof(out), "ref.out");
	ctl_path(&H, err, sizeof(err), "ref.err");
	f = fopen(path, "w");
	fprintf(f, "referralCode,refereeExternalUserId\n");
	for (i = 0; i < n; i++)
		fprintf(f, "%s,referee-%ld\n", code, i);
	fprintf(f, "NO-SUCH-CODE,referee-x\n");
	fclose(f);
	pid = ctl_spawn(&H, NULL, argv, out, err);
	wait_progress(state_path, 20000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	done = db_long("SELECT count(*) FROM referrals");
	assert_true(done > 0 && done < n);
	ctl_runv(&H, &o, NULL, NULL, argv);
	assert_int_equal(o.code, 1); /* the unknown code */
	assert_int_equal(summary_long(&o, "rows"), n + 1);
	assert_int_equal(summary_long(&o, "rejected"), 1);
	ctl_out_free(&o);
	assert_int_equal(db_long("SELECT count(*) FROM referrals"), n);
	assert_int_equal(db_long("SELECT count(DISTINCT referee_id) FROM "
	                         "referrals"),
	                 n);
	assert_int_equal(db_long("SELECT count(*) FROM outbox WHERE name = "
	                         "'referral.created'"),
	                 n);
	{
		char rejects[420], *text;

		snprintf(rejects, sizeof(rejects), "%s.rejects.csv", path);
		text = ctl_slurp(rejects);
		assert_non_null(text);
		/* the refused row, once */
		assert_non_null(strstr(text, "invalid_referral_code"));
		assert_null(strstr(strstr(text, "invalid_referral_code") + 1,
		                   "invalid_referral_code"));
		free(text);
	}
}

/* A file that changed since the import stopped is not resumed blindly. */
static void test_changed_file(void **state)
{
	const char *path = customers_csv("changed.csv", "ch", 50);
	char state_path[400];
	const char *argv[] = {"import",  "customers", path,
	                      "--state", state_path,  NULL};
	const char *restart[] = {"import",   "customers", path, "--state",
	                         state_path, "--restart", NULL};
	ctl_out o;

	(void)state;
	ctl_path(&H, state_path, sizeof(state_path), "changed.state");
	/* a stopped import's state, as a killed one leaves it */
	assert_int_equal(ctl_write(state_path,
	                           "{\"version\":1,\"size\":1,\"mtime\":1,"
	                           "\"mtimeNs\":0,\"offset\":10,\"line\":2,"
	                           "\"rejectsSize\":0,\"counts\":[0,0,0,0]}"),
	                 0);
	ctl_runv(&H, &o, NULL, NULL, argv);
	assert_int_equal(o.code, 1);
	assert_non_null(strstr(o.err, "--restart"));
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, NULL, restart);
	assert_int_equal(o.code, 0);
	assert_int_equal(summary_long(&o, "created"), 50);
	ctl_out_free(&o);
}

/* With a service key only: row by row through libflock. */
static void test_wire_import(void **state)
{
	const char *path = customers_csv("wire.csv", "w", 40);
	const char *env[] = {"FLOCK_ADMIN_TOKEN=", NULL};
	const char *argv[] = {"import", "customers", path, NULL};
	const char *bad[] = {"import", "customers", path,
	                     "--via",  "carrier",   NULL};
	ctl_out o;

	(void)state;
	ctl_runv(&H, &o, NULL, env, argv);
	assert_int_equal(o.code, 0);
	assert_int_equal(summary_long(&o, "rows"), 40);
	ctl_out_free(&o);
	assert_int_equal(db_long("SELECT count(*) FROM customers WHERE "
	                         "external_id LIKE 'w%'"),
	                 40);
	/* again: the same keys, no second customer.created */
	ctl_runv(&H, &o, NULL, env, argv);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	assert_int_equal(db_long("SELECT count(*) FROM outbox WHERE name = "
	                         "'customer.created' AND body LIKE "
	                         "'%\"externalUserId\":\"w%'"),
	                 40);
	ctl_runv(&H, &o, NULL, env, bad);
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
}

/* A quoted field never closed: the import says where. */
static void test_malformed(void **state)
{
	char path[400];
	ctl_out o;

	(void)state;
	ctl_path(&H, path, sizeof(path), "bad.csv");
	assert_int_equal(ctl_write(path, "externalUserId,email\nm1,\"open\n"),
	                 0);
	RUN(&o, "import", "customers", path);
	assert_int_equal(o.code, 6);
	assert_non_null(strstr(o.err, ":2: a quoted field is not closed"));
	ctl_out_free(&o);
}

/* Exports: every object once, in creation order; CSV and JSON lines. */
static void test_export(void **state)
{
	char path[400], *text, *p;
	ctl_out o;
	struct stat st;
	long lines = 0, customers;

	(void)state;
	customers = db_long("SELECT count(*) FROM customers");
	ctl_path(&H, path, sizeof(path), "customers.csv");
	RUN(&o, "export", "customers", "--output", path);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = ctl_slurp(path);
	assert_true(strncmp(text, "id,externalUserId,email,name,", 29) == 0);
	for (p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, customers + 1);
	assert_non_null(strstr(text, ",\"Doe, 7\","));
	free(text);
	RUN(&o, "export", "referrals", "--format", "jsonl");
	assert_int_equal(o.code, 0);
	for (lines = 0, p = o.out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, db_long("SELECT count(*) FROM referrals"));
	ctl_out_free(&o);
	RUN(&o, "export", "rewards", "--environment", "production");
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "id,campaignId,campaignRewardId"));
	ctl_out_free(&o);
	RUN(&o, "export", "customers", "--format", "xml");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_counts_and_rejects),
	        cmocka_unit_test(test_resume_after_sigkill_customers),
	        cmocka_unit_test(test_resume_after_sigkill_referrals),
	        cmocka_unit_test(test_changed_file),
	        cmocka_unit_test(test_wire_import),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_export),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
