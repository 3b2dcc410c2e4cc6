/*
 * flockd under concurrency and crashes: concurrent duplicate ingests grant
 * each reward once; after SIGKILL under load and a restart on the same
 * database, every acknowledged checkpoint's rewards exist, exactly once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>

#include "harness.h"
#include "support.h"

#define DUP_THREADS 32
#define CRASH_THREADS 4
#define CRASH_REFEREES 240 /* per run; bounded so the test stays short */

static fd_harness H;
static char campaign[64];
static char referrer_code[64];

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int setup(void **state)
{
	h_resp r;
	int rc;

	memset(&H, 0, sizeof(H));
	/* Many referrals per referrer here are load, not fraud. */
	H.extra_args[0] = "--velocity-per-hour";
	H.extra_args[1] = "1000000";
	if (h_start(&H) < 0 || h_live_campaign(&H, "production", 0, 0, campaign,
	                                       sizeof(campaign)) < 0)
		return -1;
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", "crash-referrer");
	rc = r.status == 201 && str(r.json, "referralCode") ? 0 : -1;
	if (rc == 0)
		snprintf(referrer_code, sizeof(referrer_code), "%s",
		         str(r.json, "referralCode"));
	h_resp_free(&r);
	return rc;
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

/* Identify a referee and refer it; returns the referral id in out. */
static void make_referral(const char *ext, char *out, size_t len)
{
	h_resp r;

	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", ext);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode", referrer_code,
	        "refereeExternalUserId", ext);
	assert_int_equal(r.status, 201);
	assert_string_equal(str(r.json, "status"), "pending");
	snprintf(out, len, "%s", str(r.json, "id"));
	h_resp_free(&r);
}

static char *ingest_body(const char *ext)
{
	json_t *b = json_pack("{s:s,s:s,s:s}", "checkpointName",
	                      "purchase_completed", "externalUserId", ext,
	                      "environment", "production");
	char *text = json_dumps(b, JSON_COMPACT);

	json_decref(b);
	return text;
}

/* Every reward of the application: referralId -> count, and checks that
 * no (referral, campaign reward) pair appears twice. */
static json_t *rewards_by_referral(void)
{
	json_t *counts = json_object(), *seen = json_object(), *v;
	char path[256], pair[160];
	long offset = 0, total = 1;
	size_t i;

	while (offset < total) {
		h_resp r;
		char suffix[64];

		snprintf(suffix, sizeof(suffix),
		         "/rewards?limit=100&offset=%ld", offset);
		h_admin_path(&H, path, sizeof(path), suffix);
		h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
		assert_int_equal(r.status, 200);
		total = (long)json_integer_value(
		        json_object_get(r.json, "total"));
		json_array_foreach(json_object_get(r.json, "data"), i, v)
		{
			const char *ref = str(v, "referralId");
			json_int_t n = json_integer_value(
			        json_object_get(counts, ref));

			snprintf(pair, sizeof(pair), "%s/%s", ref,
			         str(v, "campaignRewardId"));
			assert_null(json_object_get(seen, pair));
			json_object_set_new(seen, pair, json_true());
			json_object_set_new(counts, ref, json_integer(n + 1));
			offset++;
		}
		if (json_array_size(json_object_get(r.json, "data")) == 0)
			offset = total;
		h_resp_free(&r);
	}
	json_decref(seen);
	return counts;
}

/* --- 32 concurrent duplicates ------------------------------------------- */

typedef struct {
	const char *ext;
	int index;
	int status;
	size_t granted;
} dup_job;

static void *dup_worker(void *arg)
{
	dup_job *j = arg;
	char *body = ingest_body(j->ext), key[32];
	h_resp r;

	/* Half send no Idempotency-Key, half each their own: the unique
	 * constraint alone must hold. */
	snprintf(key, sizeof(key), "dup-%d", j->index);
	h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key, body,
	       j->index % 2 ? key : NULL);
	j->status = r.status;
	j->granted = json_array_size(json_object_get(r.json, "rewards"));
	h_resp_free(&r);
	free(body);
	return NULL;
}

static void test_concurrent_duplicate_ingests(void **state)
{
	pthread_t t[DUP_THREADS];
	dup_job jobs[DUP_THREADS];
	char referral[64];
	size_t total = 0;
	json_t *counts;
	int i;

	make_referral("dup-referee", referral, sizeof(referral));
	for (i = 0; i < DUP_THREADS; i++) {
		jobs[i] = (dup_job){"dup-referee", i, 0, 0};
		assert_int_equal(
		        pthread_create(&t[i], NULL, dup_worker, &jobs[i]), 0);
	}
	for (i = 0; i < DUP_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(jobs[i].status, 201);
		total += jobs[i].granted;
	}
	assert_int_equal(total, 2);
	counts = rewards_by_referral();
	assert_int_equal(json_integer_value(json_object_get(counts, referral)),
	                 2);
	json_decref(counts);
}

/* --- SIGKILL under load ----------------------------------------------------
 */

typedef struct {
	char ext[32];
	char referral[64];
	int acked;
} crash_item;

static crash_item items[CRASH_REFEREES];
static int acked_count;
static int stop_workers;

static void *crash_worker(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = (int)t; i < CRASH_REFEREES; i += CRASH_THREADS) {
		char *body = ingest_body(items[i].ext);
		h_resp r;
		int status;

		if (__atomic_load_n(&stop_workers, __ATOMIC_RELAXED)) {
			free(body);
			break;
		}
		h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
		       body, NULL);
		free(body);
		status = r.status;
		h_resp_free(&r);
		if (status == 201) {
			items[i].acked = 1;
			__atomic_add_fetch(&acked_count, 1, __ATOMIC_RELAXED);
		}
		if (status == 0)
			break; /* the server is gone */
	}
	return NULL;
}

/* Send sig after a third of the ingests were acknowledged (or 10 s);
 * returns h_kill's wait status. */
static int kill_under_load_sig(int sig)
{
	pthread_t t[CRASH_THREADS];
	struct timespec ms10 = {0, 10 * 1000 * 1000};
	long i;
	int waited, st;

	for (i = 0; i < CRASH_THREADS; i++)
		assert_int_equal(
		        pthread_create(&t[i], NULL, crash_worker, (void *)i),
		        0);
	/* Kill mid-run: after a third of the ingests were acknowledged, or
	 * after 10 s whatever happened. */
	for (waited = 0; waited < 1000; waited++) {
		if (__atomic_load_n(&acked_count, __ATOMIC_RELAXED) >=
		    CRASH_REFEREES / 3)
			break;
		nanosleep(&ms10, NULL);
	}
	st = h_kill(&H, sig);
	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELAXED);
	for (i = 0; i < CRASH_THREADS; i++)
		pthread_join(t[i], NULL);
	return st;
}

static void kill_under_load(void)
{
	kill_under_load_sig(SIGKILL);
}

static void test_sigkill_under_load(void **state)
{
	json_t *counts;
	int i, acked = 0;

	for (i = 0; i < CRASH_REFEREES; i++) {
		snprintf(items[i].ext, sizeof(items[i].ext), "crash-%d", i);
		make_referral(items[i].ext, items[i].referral,
		              sizeof(items[i].referral));
	}
	kill_under_load();
	assert_int_equal(h_serve(&H), 0);
	counts = rewards_by_referral();
	for (i = 0; i < CRASH_REFEREES; i++) {
		json_int_t n = json_integer_value(
		        json_object_get(counts, items[i].referral));

		/* Acknowledged means durable; the rest all or nothing. */
		if (items[i].acked) {
			acked++;
			assert_int_equal(n, 2);
		} else {
			assert_true(n == 0 || n == 2);
		}
	}
	print_message("acknowledged before SIGKILL: %d of %d\n", acked,
	              CRASH_REFEREES);
	assert_true(acked > 0 && acked < CRASH_REFEREES);
	json_decref(counts);
	/* Replaying every ingest after the restart grants nothing twice. */
	stop_workers = 0;
	for (i = 0; i < CRASH_REFEREES; i++) {
		char *body = ingest_body(items[i].ext);
		h_resp r;

		h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
		       body, NULL);
		assert_int_equal(r.status, 201);
		h_resp_free(&r);
		free(body);
	}
	counts = rewards_by_referral();
	for (i = 0; i < CRASH_REFEREES; i++)
		assert_int_equal(json_integer_value(json_object_get(
		                         counts, items[i].referral)),
		                 2);
	json_decref(counts);
}

/*
 * SIGTERM under load: writes in flight (their connections suspended while
 * the writer makes them durable) are answered before flockd exits 0, and
 * every acknowledged one is durable.
 */
static void test_sigterm_under_load(void **state)
{
	json_t *counts;
	int i, st, acked = 0;

	memset(items, 0, sizeof(items));
	acked_count = 0;
	stop_workers = 0;
	for (i = 0; i < CRASH_REFEREES; i++) {
		snprintf(items[i].ext, sizeof(items[i].ext), "term-%d", i);
		make_referral(items[i].ext, items[i].referral,
		              sizeof(items[i].referral));
	}
	st = kill_under_load_sig(SIGTERM);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(h_serve(&H), 0);
	counts = rewards_by_referral();
	for (i = 0; i < CRASH_REFEREES; i++) {
		json_int_t n = json_integer_value(
		        json_object_get(counts, items[i].referral));

		if (items[i].acked) {
			acked++;
			assert_int_equal(n, 2);
		} else {
			assert_true(n == 0 || n == 2);
		}
	}
	print_message("acknowledged before SIGTERM: %d of %d\n", acked,
	              CRASH_REFEREES);
	assert_true(acked > 0);
	json_decref(counts);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/*
 * Clients that give up while their write waits for the writer: the write
 * still completes (all or nothing), the server keeps serving, and a retry
 * grants nothing twice.
 */
static void test_client_gives_up(void **state)
{
	enum { N = 24 };
	char exts[N][32], refs[N][64], url[512];
	CURLM *m = curl_multi_init();
	CURL *e[N];
	struct curl_slist *hs = NULL;
	char auth[256], *bodies[N];
	json_t *counts;
	int i, st, running = 0;

	assert_non_null(m);
	snprintf(auth, sizeof(auth), "Authorization: %s", H.service_key);
	hs = curl_slist_append(hs, "Content-Type: application/json");
	hs = curl_slist_append(hs, auth);
	snprintf(url, sizeof(url), "%s/checkpoints/ingest", H.base_url);
	for (i = 0; i < N; i++) {
		snprintf(exts[i], sizeof(exts[i]), "gone-%d", i);
		make_referral(exts[i], refs[i], sizeof(refs[i]));
		bodies[i] = ingest_body(exts[i]);
		e[i] = curl_easy_init();
		assert_non_null(e[i]);
		curl_easy_setopt(e[i], CURLOPT_URL, url);
		curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, hs);
		curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, bodies[i]);
		curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
		/* Long enough to send the request, too short for an fsync
		 * on most machines: the client hangs up while it waits. */
		curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 2L);
		curl_easy_setopt(e[i], CURLOPT_NOSIGNAL, 1L);
		curl_multi_add_handle(m, e[i]);
	}
	do {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (running);
	for (i = 0; i < N; i++) {
		curl_multi_remove_handle(m, e[i]);
		curl_easy_cleanup(e[i]);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hs);
	/* Retries (the usual client reaction) complete each exactly once. */
	for (i = 0; i < N; i++) {
		h_resp r;

		h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
		       bodies[i], NULL);
		assert_int_equal(r.status, 201);
		h_resp_free(&r);
		free(bodies[i]);
	}
	counts = rewards_by_referral();
	for (i = 0; i < N; i++)
		assert_int_equal(
		        json_integer_value(json_object_get(counts, refs[i])),
		        2);
	json_decref(counts);
	/* And the abandoned connections do not hold up a clean stop. */
	st = h_kill(&H, SIGTERM);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(h_serve(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_concurrent_duplicate_ingests),
	        cmocka_unit_test(test_sigkill_under_load),
	        cmocka_unit_test(test_sigterm_under_load),
	        cmocka_unit_test(test_client_gives_up),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
