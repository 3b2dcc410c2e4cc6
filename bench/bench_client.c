/*
 * bench_client: the cost libflock adds to an HTTP call.
 *
 * Starts libmicrohttpd on 127.0.0.1 (kernel-chosen port) answering every
 * request with a fixed 201 CheckpointResult, then times N calls of
 * flock_checkpoints_ingest() through libflock against N bare libcurl POSTs
 * of the same request (body and headers byte for byte, a fixed
 * Idempotency-Key) on one reused easy handle, in the same run: in 20
 * alternating rounds, after a warm-up of N/20 calls each. Both keep one
 * connection alive and the server does the same work for both, so the
 * difference is libflock's own: JSON building and parsing, headers, a
 * fresh Idempotency-Key, the handle pool, error and retry bookkeeping.
 *
 * The machine may be shared: load that changes during the run moves both
 * loops of a round alike, so besides the totals it prints the median of
 * the 20 per-round ratios, the figure to quote.
 *
 * Usage: bench_client [N]   (default 20000). Prints figures only.
 */
#include <flock.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 20

static const char RESULT[] =
        "{\"id\":\"evt_01JDQ8ZK3M4N5P6Q7R8S9T0V1W\","
        "\"checkpointName\":\"purchase_completed\",\"customerId\":\"cus_1\","
        "\"environment\":\"production\",\"matched\":false,"
        "\"referral\":null,\"rewards\":[],\"blockedBy\":null}";

/* The body libflock sends for the same call, for the bare curl loop. */
static const char BODY[] =
        "{\"checkpointName\":\"purchase_completed\","
        "\"externalUserId\":\"user_123\",\"environment\":\"production\"}";

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *data_size, void **req_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (*req_cls == NULL) {
		*req_cls = &marker;
		return MHD_YES;
	}
	if (*data_size > 0) {
		*data_size = 0; /* the body is not needed */
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(RESULT) - 1, (void *)RESULT,
	                                    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "X-Request-Id", "req_bench");
	ret = MHD_queue_response(conn, 201, r);
	MHD_destroy_response(r);
	return ret;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
	(void)p;
	(void)userdata;
	return size * n;
}

static int run_curl(const char *url, long n, double *secs)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long i, status = 0;
	double t0;
	int rc = 0;

	if (h == NULL)
		return -1;
	/* what libflock sends, in its order (request.c, transport_curl.c) */
	hdr = curl_slist_append(hdr, "Expect:");
	hdr = curl_slist_append(hdr, "Authorization: sk_bench");
	hdr = curl_slist_append(hdr, "User-Agent: libflock/" FLOCK_VERSION);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr,
	                        "Idempotency-Key: 0123456789abcdef0123456789abcdef");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, BODY);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(sizeof(BODY) - 1));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	t0 = now_s();
	for (i = 0; i < n && rc == 0; i++) {
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) !=
		            CURLE_OK ||
		    status != 201)
			rc = -1;
	}
	*secs = now_s() - t0;
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return rc;
}

static int run_flock(const char *base, long n, double *secs)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res;
	flock_client *c = NULL;
	long i;
	double t0;
	int rc;

	o.access_key = "sk_bench";
	o.base_url = base;
	o.max_retries = FLOCK_NO_RETRIES;
	if ((rc = flock_client_new(&c, &o)) != 0)
		return rc;
	p.external_user_id = "user_123";
	p.environment = "production";
	t0 = now_s();
	for (i = 0; i < n && rc == 0; i++) {
		rc = flock_checkpoints_ingest(&res, c, "purchase_completed",
		                              &p);
		if (rc == 0)
			flock_checkpoint_result_free(res);
	}
	*secs = now_s() - t0;
	if (rc != 0)
		fprintf(stderr, "libflock: %s\n", flock_error_last()->message);
	flock_client_free(c);
	return rc;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	long n = 20000, warm, chunk, r;
	double t_curl = 0, t_flock = 0, t = 0, us_curl, us_flock;
	double ratios[ROUNDS];
	int rounds = 0;
	char base[64], url[96];
	char *end;

	if (argc > 1) {
		n = strtol(argv[1], &end, 10);
		if (*end != '\0' || n <= 0) {
			fprintf(stderr, "usage: %s [N > 0]\n", argv[0]);
			return 2;
		}
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD, 0,
	                     NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
	                     &addr, MHD_OPTION_END);
	info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (info == NULL) {
		fprintf(stderr, "could not start the HTTP server\n");
		return 1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", info->port);
	snprintf(url, sizeof(url), "%s/checkpoints/ingest", base);
	flock_global_init();

	/*
	 * Warm both paths (connections, caches), then alternate rounds of
	 * each so that a load change on the machine hits both alike.
	 */
	warm = n / 20 > 0 ? n / 20 : 1;
	if (run_curl(url, warm, &t) || run_flock(base, warm, &t))
		goto fail;
	for (r = 0; r < ROUNDS; r++) {
		double tc = 0, tf = 0;

		chunk = n / ROUNDS + (r < n % ROUNDS ? 1 : 0);
		if (chunk == 0)
			continue;
		/* who goes first alternates, so neither is always warmer */
		if (r % 2 == 0 && run_curl(url, chunk, &tc))
			goto fail;
		if (run_flock(base, chunk, &tf))
			goto fail;
		if (r % 2 == 1 && run_curl(url, chunk, &tc))
			goto fail;
		t_curl += tc;
		t_flock += tf;
		ratios[rounds++] = tf / tc;
	}
	us_curl = t_curl * 1e6 / (double)n;
	us_flock = t_flock * 1e6 / (double)n;
	printf("calls:              %ld (POST /checkpoints/ingest, loopback, "
	       "kept alive)\n",
	       n);
	printf("bare libcurl:       %9.0f calls/s  %7.1f us/call\n",
	       (double)n / t_curl, us_curl);
	printf("libflock:           %9.0f calls/s  %7.1f us/call\n",
	       (double)n / t_flock, us_flock);
	printf("libflock overhead:  %7.1f us/call\n", us_flock - us_curl);
	printf("ratio libflock/curl time: %.2f (totals)\n", t_flock / t_curl);
	qsort(ratios, (size_t)rounds, sizeof(ratios[0]), by_value);
	printf("ratio libflock/curl time: %.2f (median of %d rounds; "
	       "min %.2f, max %.2f)\n",
	       rounds % 2 ? ratios[rounds / 2]
	                  : (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2,
	       rounds, ratios[0], ratios[rounds - 1]);
	flock_global_cleanup();
	MHD_stop_daemon(d);
	return 0;
fail:
	fprintf(stderr, "a call failed\n");
	flock_global_cleanup();
	MHD_stop_daemon(d);
	return 1;
}
