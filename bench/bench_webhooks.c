/*
 * bench_webhooks: webhook verification against a Node verifier and the
 * raw HMAC, on the same three bodies, in one run.
 *
 *   bench_webhooks [SECONDS_PER_CASE]      default 2
 *
 * The bodies are real deliveries as flockd sends them: the 413-byte
 * worked example of docs/webhooks.md (invitee.accepted with ids only), an
 * 851-byte reward.created and a 1,940-byte invitee.accepted with full
 * customers (captured from flockd with scripts/quickstart.sh; ids and
 * e-mails shortened). For each body it times:
 *
 *   - OpenSSL HMAC() of the body: one raw HMAC-SHA256, the floor;
 *   - an EVP_MAC context reused for every call: the fastest OpenSSL
 *     HMAC-SHA256 of the same bytes (what libflock uses per thread);
 *   - flock_webhooks_construct_event() with X-Flock-Signature, with the
 *     Standard Webhooks headers, and with both, then flock_event_free();
 *   - flock_webhooks_verify_standard() on the body as any payload;
 *   - Node 20: bench/webhooks_node.js, the docs' Node verifiers
 *     (JSON.parse, createHmac, timingSafeEqual), when `node` is on PATH
 *     (or in $NODE), for X-Flock and Standard.
 *
 * Every case runs in 10 slices interleaved with the others (Node's too)
 * and the best slice counts, so load from other processes on a shared
 * machine disturbs the ratios as little as possible. The figures to reach
 * (issue 10) are checked on the 1,940-byte body and printed as met or not.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <flock.h>

extern char **environ;

#define SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SLICES 10
#define NBODIES 3

static const char BODY_SMALL[] =
        "{\"id\":\"evt_01JDQ8ZK3M4Q9T6V2W8X0Y1Z2A\",\"name\":\"invitee.acce"
        "pted\",\"timestamp\":1732630000000,\"environment\":\"production\","
        "\"data\":{\"invitee\":{\"id\":\"cus_01JDQ8ZJ0A1B2C3D4E5F6G7H8J\","
        "\"externalUserId\":\"user_456\"},\"referrer\":{\"id\":\"cus_01JDQ8"
        "YB9K8M7N6P5Q4R3S2T1V\",\"externalUserId\":\"user_123\"},\"referral"
        "\":{\"id\":\"ref_01JDQ8ZK3K0000000000000000\"},\"campaign\":{\"id"
        "\":\"cmp_01JDQ8A0000000000000000000\",\"name\":\"Give $10, get $10"
        "\"}}}";

static const char BODY_MEDIUM[] =
        "{\"id\":\"evt_01m8sqnzv1dsw3ty9ppht2tvd8\",\"name\":\"reward.creat"
        "ed\",\"timestamp\":1796160033538,\"environment\":\"production\",\""
        "data\":{\"id\":\"rwd_01m8sqnzv1g1wmk2jkm94qyapm\",\"organizationId"
        "\":\"org_01m8sqnz4xe08cy2v471y0mkkp\",\"applicationId\":\"app_01m8"
        "sqnz4yp7nqzgnjq2k1nj7j\",\"campaignId\":\"cmp_01m8sqnzh2gv902z1fnp"
        "mgvvr6\",\"campaignRewardId\":\"crw_01m8sqnzh20xffc01pp35348em\","
        "\"referralId\":\"ref_01m8sqnzv0a9bjenc6hkjba11m\",\"customerId\":"
        "\"cus_01m8sqnztsfzcyq2qwvrx0zxc1\",\"party\":\"referrer\",\"name\""
        ":\"$10 for the referrer\",\"description\":null,\"type\":\"payout\""
        ",\"method\":\"paypal\",\"payoutAmount\":10,\"discountAmount\":null"
        ",\"discountPercentage\":null,\"discountDurationInMonth\":null,\"cu"
        "rrency\":\"usd\",\"status\":\"approved\",\"availableAt\":\"2026-12"
        "-01T21:20:28.512Z\",\"environment\":\"production\",\"createdAt\":"
        "\"2026-12-01T21:20:28.512Z\",\"updatedAt\":\"2026-12-01T21:20:28.5"
        "12Z\",\"deletedAt\":null}}";

static const char BODY_LARGE[] =
        "{\"id\":\"evt_01m8sqnzv1x6f36zqnrq6br6ek\",\"name\":\"invitee.acce"
        "pted\",\"timestamp\":1796160033538,\"environment\":\"production\","
        "\"data\":{\"invitee\":{\"id\":\"cus_01m8sqnztwvcwc87bvm0ekt6dg\","
        "\"organizationId\":\"org_01m8sqnz4xe08cy2v471y0mkkp\",\"applicatio"
        "nId\":\"app_01m8sqnz4yp7nqzgnjq2k1nj7j\",\"externalUserId\":\"user"
        "_456\",\"email\":\"john.r@example.com\",\"name\":\"John Roe\",\"re"
        "ferralCode\":\"JOHN3J3\",\"referredBy\":{\"id\":\"cus_01m8sqnztsfz"
        "cyq2qwvrx0zxc1\",\"externalUserId\":\"user_123\",\"email\":\"janed"
        "@example.com\",\"name\":\"Jane Doe\"},\"referredById\":\"cus_01m8s"
        "qnztsfzcyq2qwvrx0zxc1\",\"referredByReferralId\":\"ref_01m8sqnzv0a"
        "9bjenc6hkjba11m\",\"referredInCampaignId\":\"cmp_01m8sqnzh2gv902z1"
        "fnpmgvvr6\",\"visitedReferralsCount\":0,\"convertedReferralsCount"
        "\":0,\"customProperties\":{\"plan\":\"premium\",\"country\":\"NL\""
        "},\"createdAt\":\"2026-12-01T21:20:28.508Z\",\"updatedAt\":\"2026-"
        "12-01T21:20:28.511Z\",\"deletedAt\":null},\"referrer\":{\"id\":\"c"
        "us_01m8sqnztsfzcyq2qwvrx0zxc1\",\"organizationId\":\"org_01m8sqnz4"
        "xe08cy2v471y0mkkp\",\"applicationId\":\"app_01m8sqnz4yp7nqzgnjq2k1"
        "nj7j\",\"externalUserId\":\"user_123\",\"email\":\"janed@example.c"
        "om\",\"name\":\"Jane Doe\",\"referralCode\":\"JANE28M\",\"referred"
        "By\":null,\"referredById\":null,\"referredByReferralId\":null,\"re"
        "ferredInCampaignId\":null,\"visitedReferralsCount\":1,\"convertedR"
        "eferralsCount\":1,\"customProperties\":{\"plan\":\"premium\",\"cou"
        "ntry\":\"NL\"},\"createdAt\":\"2026-12-01T21:20:28.505Z\",\"update"
        "dAt\":\"2026-12-01T21:20:28.512Z\",\"deletedAt\":null},\"referral"
        "\":{\"id\":\"ref_01m8sqnzv0a9bjenc6hkjba11m\",\"organizationId\":"
        "\"org_01m8sqnz4xe08cy2v471y0mkkp\",\"applicationId\":\"app_01m8sqn"
        "z4yp7nqzgnjq2k1nj7j\",\"campaignId\":\"cmp_01m8sqnzh2gv902z1fnpmgv"
        "vr6\",\"referrerId\":\"cus_01m8sqnztsfzcyq2qwvrx0zxc1\",\"refereeI"
        "d\":\"cus_01m8sqnztwvcwc87bvm0ekt6dg\",\"status\":\"accepted\",\"s"
        "uspectedFrauds\":null,\"environment\":\"production\",\"createdAt\""
        ":\"2026-12-01T21:20:28.511Z\",\"updatedAt\":\"2026-12-01T21:20:28."
        "512Z\",\"deletedAt\":null},\"campaign\":{\"id\":\"cmp_01m8sqnzh2gv"
        "902z1fnpmgvvr6\",\"name\":\"Give $10, get $10\"}}}";

enum {
	C_HMAC,     /* OpenSSL HMAC() */
	C_MAC,      /* EVP_MAC, context reused */
	C_FLOCK,    /* construct_event, X-Flock-Signature */
	C_STANDARD, /* construct_event, Standard Webhooks */
	C_BOTH,     /* construct_event, both */
	C_ANY,      /* verify_standard, any payload */
	C_NODE_FLOCK,
	C_NODE_STANDARD,
	C_N
};

static const char *const case_names[C_N] = {
        "OpenSSL HMAC() of the body",
        "OpenSSL EVP_MAC, ctx reused",
        "construct_event X-Flock",
        "construct_event Standard",
        "construct_event both",
        "verify_standard (any payload)",
        "Node verifyFlock",
        "Node verifyStandard",
};

typedef struct {
	const char *name;
	const char *body;
	size_t len;
	flock_webhook_headers *h;
	flock_webhook_params p[3]; /* X-Flock, Standard, both */
	flock_standard_webhook_params any;
	double best[C_N];
} bench_body;

typedef struct {
	pid_t pid;
	FILE *in;  /* to node */
	FILE *out; /* from node */
} node_child;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long body_ts_ms(const char *body)
{
	const char *t = strstr(body, "\"timestamp\":");

	return t != NULL ? strtoll(t + 12, NULL, 10) : 0;
}

static int setup_body(bench_body *b, const char *name, const char *body)
{
	const char *secrets[] = {SECRET};
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_standard_webhook_params any = FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;
	long long ts_ms = body_ts_ms(body);
	int i;

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->body = body;
	b->len = strlen(body);
	sp.payload = body;
	sp.payload_len = b->len;
	sp.secrets = secrets;
	sp.secret_count = 1;
	sp.timestamp_s = ts_ms / 1000;
	if (flock_webhooks_sign(&b->h, &sp) != 0)
		return -1;
	for (i = 0; i < 3; i++) {
		flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;

		p.payload = body;
		p.payload_len = b->len;
		p.secret = SECRET;
		p.now_ms = ts_ms;
		if (i != 1)
			p.signature = b->h->flock_signature;
		if (i != 0) {
			p.webhook_id = b->h->webhook_id;
			p.webhook_timestamp = b->h->webhook_timestamp;
			p.webhook_signature = b->h->webhook_signature;
		}
		b->p[i] = p;
	}
	any.secret = SECRET;
	any.id = b->h->webhook_id;
	any.timestamp = b->h->webhook_timestamp;
	any.signature = b->h->webhook_signature;
	any.payload = body;
	any.payload_len = b->len;
	any.now_s = ts_ms / 1000;
	b->any = any;
	return 0;
}

/* ---- the C cases --------------------------------------------------------- */

static _Noreturn void die(const char *what)
{
	const flock_error *e = flock_error_last();

	fprintf(stderr, "%s failed: %s\n", what, e ? e->message : "?");
	exit(1);
}

static int run_once(const bench_body *b, int c, EVP_MAC_CTX *mac)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int out_len;
	size_t mac_len;
	flock_event *ev = NULL;

	switch (c) {
	case C_HMAC:
		return HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
		            (const unsigned char *)b->body, b->len, out,
		            &out_len) != NULL ? 0 : -1;
	case C_MAC:
		return EVP_MAC_init(mac, (const unsigned char *)SECRET,
		                    strlen(SECRET), NULL) == 1 &&
		                       EVP_MAC_update(mac, (const unsigned char *)b->body,
		                                      b->len) == 1 &&
		                       EVP_MAC_final(mac, out, &mac_len, sizeof(out)) == 1
		               ? 0
		               : -1;
	case C_FLOCK:
	case C_STANDARD:
	case C_BOTH:
		if (flock_webhooks_construct_event(&ev, &b->p[c - C_FLOCK]) != 0)
			return -1;
		flock_event_free(ev);
		return 0;
	case C_ANY:
		return flock_webhooks_verify_standard(&b->any);
	default:
		return -1;
	}
}

static double run_c(const bench_body *b, int c, EVP_MAC_CTX *mac,
                    double seconds)
{
	double start = now_s(), elapsed;
	long ops = 0;

	do {
		int i;
		for (i = 0; i < 100; i++) {
			if (run_once(b, c, mac) != 0)
				die(case_names[c]);
		}
		ops += 100;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

/* ---- the Node child ------------------------------------------------------- */

static const char *node_script(void)
{
	static char path[4096];
	const char *file = __FILE__, *slash = strrchr(file, '/');

	snprintf(path, sizeof(path), "%.*swebhooks_node.js",
	         slash != NULL ? (int)(slash - file) + 1 : 0, file);
	return path;
}

static void b64(FILE *f, const char *s, size_t len)
{
	char *out = malloc(len / 3 * 4 + 8);

	if (out == NULL)
		exit(1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
	                (int)len);
	fputs(out, f);
	free(out);
}

static int node_start(node_child *n, const bench_body *bodies)
{
	const char *node = getenv("NODE") ? getenv("NODE") : "node";
	char *argv[3];
	char line[64];
	int to[2], from[2], i;
	posix_spawn_file_actions_t fa;

	memset(n, 0, sizeof(*n));
	if (access(node_script(), R_OK) != 0 || pipe(to) != 0 || pipe(from) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	posix_spawn_file_actions_addclose(&fa, to[1]);
	posix_spawn_file_actions_addclose(&fa, from[0]);
	argv[0] = (char *)node;
	argv[1] = (char *)node_script();
	argv[2] = NULL;
	i = posix_spawnp(&n->pid, node, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	if (i != 0) {
		close(to[1]);
		close(from[0]);
		return -1;
	}
	n->in = fdopen(to[1], "w");
	n->out = fdopen(from[0], "r");
	fprintf(n->in, "{\"secret\":\"%s\",\"now_ms\":0,\"bodies\":[", SECRET);
	for (i = 0; i < NBODIES; i++) {
		const flock_webhook_headers *h = bodies[i].h;

		fprintf(n->in, "%s{\"body\":\"", i ? "," : "");
		b64(n->in, bodies[i].body, bodies[i].len);
		fprintf(n->in,
		        "\",\"flock_signature\":\"%s\",\"webhook_id\":\"%s\","
		        "\"webhook_timestamp\":\"%s\",\"webhook_signature\":"
		        "\"%s\",\"now_ms\":%lld}",
		        h->flock_signature, h->webhook_id, h->webhook_timestamp,
		        h->webhook_signature, bodies[i].p[0].now_ms);
	}
	fprintf(n->in, "]}\n");
	fflush(n->in);
	if (fgets(line, sizeof(line), n->out) == NULL ||
	    strncmp(line, "ready", 5) != 0) {
		fprintf(stderr, "node: no \"ready\" (its verifiers failed?)\n");
		return -1;
	}
	return 0;
}

static double run_node(node_child *n, int c, int body, double seconds)
{
	char line[64];

	fprintf(n->in, "%s %d %.3f\n", c == C_NODE_FLOCK ? "flock" : "standard",
	        body, seconds);
	fflush(n->in);
	if (fgets(line, sizeof(line), n->out) == NULL) {
		fprintf(stderr, "node stopped answering\n");
		exit(1);
	}
	return strtod(line, NULL);
}

static void node_stop(node_child *n)
{
	if (n->in)
		fclose(n->in);
	if (n->out)
		fclose(n->out);
	if (n->pid > 0)
		waitpid(n->pid, NULL, 0);
}

/* ---- report -------------------------------------------------------------- */

static void report_body(const bench_body *b, int have_node)
{
	int c;

	printf("\n%s, %zu bytes\n", b->name, b->len);
	printf("  %-31s %10s %9s %9s\n", "", "ops/s", "x HMAC()",
	       have_node ? "x Node" : "");
	for (c = 0; c < C_N; c++) {
		const double *r = b->best;
		double node = c == C_FLOCK || c == C_BOTH ? r[C_NODE_FLOCK]
		              : c == C_STANDARD || c == C_ANY ? r[C_NODE_STANDARD]
		                                              : 0;

		if (c >= C_NODE_FLOCK && !have_node)
			continue;
		printf("  %-31s %10.0f %9.2f", case_names[c], r[c],
		       r[c] / r[C_HMAC]);
		if (have_node && node > 0)
			printf(" %9.2f", r[c] / node);
		printf("\n");
	}
}

static void target(const char *what, double got, double want)
{
	printf("  %-48s %6.2fx  (goal >= %.1fx): %s\n", what, got, want,
	       got >= want ? "met" : "NOT met");
}

static void report_targets(const bench_body *b, int have_node)
{
	const double *r = b->best;

	printf("\nissue 10 figures, on the %zu-byte body:\n", b->len);
	if (have_node) {
		target("X-Flock: construct_event vs Node", r[C_FLOCK] / r[C_NODE_FLOCK],
		       4.0);
		target("Standard: construct_event vs Node",
		       r[C_STANDARD] / r[C_NODE_STANDARD], 4.0);
	}
	target("X-Flock: construct_event vs one HMAC()", r[C_FLOCK] / r[C_HMAC],
	       0.5);
	target("Standard: construct_event vs one HMAC()",
	       r[C_STANDARD] / r[C_HMAC], 0.5);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0, slice;
	static const char *const names[NBODIES] = {
	        "docs worked example (invitee.accepted, ids only)",
	        "reward.created", "invitee.accepted, full customers"};
	const char *texts[NBODIES] = {BODY_SMALL, BODY_MEDIUM, BODY_LARGE};
	bench_body bodies[NBODIES];
	EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mac = alg ? EVP_MAC_CTX_new(alg) : NULL;
	OSSL_PARAM params[2];
	node_child node;
	int have_node, i, c, r;

	if (seconds <= 0 || mac == NULL)
		return 1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(mac, params) != 1)
		return 1;
	for (i = 0; i < NBODIES; i++) {
		if (setup_body(&bodies[i], names[i], texts[i]) != 0)
			die("flock_webhooks_sign");
	}
	signal(SIGPIPE, SIG_IGN);
	have_node = node_start(&node, bodies) == 0;
	if (!have_node)
		printf("node not found or not working (set NODE=/path/to/node): "
		       "Node columns left out\n");
	slice = seconds / SLICES;
	printf("%.1f s per case and body, best of %d interleaved slices\n",
	       seconds, SLICES);
	for (r = 0; r < SLICES; r++) {
		for (i = 0; i < NBODIES; i++) {
			for (c = 0; c < C_N; c++) {
				double ops;

				if (c >= C_NODE_FLOCK && !have_node)
					continue;
				ops = c >= C_NODE_FLOCK
				              ? run_node(&node, c, i, slice)
				              : run_c(&bodies[i], c, mac, slice);
				if (ops > bodies[i].best[c])
					bodies[i].best[c] = ops;
			}
		}
	}
	for (i = 0; i < NBODIES; i++)
		report_body(&bodies[i], have_node);
	report_targets(&bodies[NBODIES - 1], have_node);
	if (have_node)
		node_stop(&node);
	for (i = 0; i < NBODIES; i++)
		flock_webhook_headers_free(bodies[i].h);
	EVP_MAC_CTX_free(mac);
	EVP_MAC_free(alg);
	return 0;
}
