/*
 * Webhook verification throughput: flock_webhooks_construct_event() on a
 * realistic ~1 KB invitee.accepted delivery, per scheme, against a bare
 * OpenSSL HMAC() of the same bytes in the same run.
 *
 *   bench_webhooks [SECONDS_PER_CASE]      default 2
 *
 * Each case runs in 10 slices interleaved with the others and the best
 * slice is reported, so that load from other processes on a shared machine
 * disturbs the ratio as little as possible.
 *
 * The gap between the two is the price of parsing and checking the JSON
 * envelope (jansson) and of the header checks; HMAC alone is the floor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <flock.h>

#define SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define TS_S 1732630000LL
#define SLICES 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void customer(char *out, size_t cap, const char *id, const char *ext,
                     const char *local, const char *name, const char *code)
{
	snprintf(out, cap,
	         "{\"id\":\"%s\",\"externalUserId\":\"%s\",\"email\":"
	         "\"%s@example.com\",\"name\":\"%s\",\"referralCode\":\"%s\","
	         "\"customProperties\":{\"plan\":\"pro\",\"country\":\"NL\"},"
	         "\"createdAt\":\"2026-11-26T16:38:00.000Z\"}",
	         id, ext, local, name, code);
}

/* An invitee.accepted envelope as flockd writes it: compact, ~1 KB. */
static int make_body(char *out, size_t cap)
{
	char inv[400], ref[400];
	int n;

	customer(inv, sizeof(inv), "cus_01JDQ8ZJ0A1B2C3D4E5F6G7H8J", "user_456",
	         "jane.doe", "Jane Doe", "JANE456");
	customer(ref, sizeof(ref), "cus_01JDQ8YB9K8M7N6P5Q4R3S2T1V", "user_123",
	         "john.roe", "John Roe", "JOHN123");
	n = snprintf(out, cap,
	             "{\"id\":\"evt_01JDQ8ZK3M4Q9T6V2W8X0Y1Z2A\",\"name\":"
	             "\"invitee.accepted\",\"timestamp\":%lld000,"
	             "\"environment\":\"production\",\"data\":{\"invitee\":%s,"
	             "\"referrer\":%s,\"referral\":{\"id\":"
	             "\"ref_01JDQ8ZK3K0000000000000000\",\"campaignId\":"
	             "\"cmp_01JDQ8A0000000000000000000\",\"referralCode\":"
	             "\"JOHN123\",\"status\":\"accepted\",\"createdAt\":"
	             "\"2026-11-26T16:38:00.000Z\"},\"campaign\":{\"id\":"
	             "\"cmp_01JDQ8A0000000000000000000\",\"name\":"
	             "\"Give $10, get $10\",\"description\":\"Invite a friend: "
	             "when they make their first purchase you both get $10 "
	             "credit, up to 10 friends a year.\"}}}",
	             TS_S, inv, ref);
	return n > 0 && (size_t)n < cap ? n : -1;
}

typedef struct {
	const char *name;
	flock_webhook_params params;
} bench_case;

static double run_verify(const flock_webhook_params *p, double seconds)
{
	double start = now_s(), elapsed;
	long ops = 0;

	do {
		int i;
		for (i = 0; i < 100; i++) {
			flock_event *ev = NULL;
			if (flock_webhooks_construct_event(&ev, p) != 0) {
				fprintf(stderr, "verify failed: %s\n",
				        flock_error_last()->message);
				exit(1);
			}
			flock_event_free(ev);
		}
		ops += 100;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

static double run_hmac(const char *body, size_t len, double seconds)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len;
	double start = now_s(), elapsed;
	long ops = 0;

	do {
		int i;
		for (i = 0; i < 1000; i++) {
			if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
			         (const unsigned char *)body, len, mac,
			         &mac_len) == NULL)
				exit(1);
		}
		ops += 1000;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	double best[4] = {0, 0, 0, 0};
	const char *secrets[] = {SECRET};
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_headers *h = NULL;
	bench_case cases[3];
	char body[4096];
	int len = make_body(body, sizeof(body)), i, r;

	if (len < 0 || seconds <= 0)
		return 1;
	sp.payload = body;
	sp.payload_len = (size_t)len;
	sp.secrets = secrets;
	sp.secret_count = 1;
	sp.timestamp_s = TS_S;
	if (flock_webhooks_sign(&h, &sp) != 0)
		return 1;
	for (i = 0; i < 3; i++) {
		flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
		p.payload = body;
		p.payload_len = (size_t)len;
		p.secret = SECRET;
		p.now_ms = TS_S * 1000;
		if (i != 1)
			p.signature = h->flock_signature;
		if (i != 0) {
			p.webhook_id = h->webhook_id;
			p.webhook_timestamp = h->webhook_timestamp;
			p.webhook_signature = h->webhook_signature;
		}
		cases[i].params = p;
	}
	cases[0].name = "construct_event X-Flock";
	cases[1].name = "construct_event Standard";
	cases[2].name = "construct_event both";

	printf("body: %d bytes, %.1f s per case, best of %d slices\n", len,
	       seconds, SLICES);
	for (r = 0; r < SLICES; r++) {
		double ops = run_hmac(body, (size_t)len, seconds / SLICES);
		if (ops > best[3])
			best[3] = ops;
		for (i = 0; i < 3; i++) {
			ops = run_verify(&cases[i].params, seconds / SLICES);
			if (ops > best[i])
				best[i] = ops;
		}
	}
	printf("%-28s %10.0f ops/s\n", "OpenSSL HMAC() of the body", best[3]);
	for (i = 0; i < 3; i++)
		printf("%-28s %10.0f ops/s  (%.2fx the time of one HMAC)\n",
		       cases[i].name, best[i], best[3] / best[i]);
	flock_webhook_headers_free(h);
	return 0;
}
