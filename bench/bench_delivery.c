/*
 * Webhook delivery: events delivered per second to a local receiver that
 * answers at once, and the lag from commit to delivery.
 *
 *   bench_delivery [EVENTS] [CONCURRENCY] [CLIENTS]   default 5000 16 4
 *
 * In one process: flockd's engine on a fresh SQLite database in /tmp, its
 * delivery worker (delivery.c, the same code `flockd serve` runs) and a
 * libmicrohttpd receiver on loopback answering 200 at once (no signature
 * check: the receiver's cost is not what is measured). One endpoint takes
 * every event.
 *
 * Two phases:
 *   steady  CLIENTS threads create customers (one customer.created event
 *           each, committed and synced by the group-committing writer)
 *           while the worker delivers; lag = arrival at the receiver minus
 *           the moment the creating call returned (the event durable).
 *   backlog EVENTS events are written with the worker stopped, then it
 *           starts: the drain rate is delivery throughput alone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/ids.h"
#include "delivery/delivery.h"
#include "engine/engine.h"

typedef struct {
	long n;
	int64_t *commit_us, *arrive_us; /* per event index */
	long arrived;
	pthread_mutex_t mu;
	int phase; /* which externalUserId prefix counts */
} bench;

static bench B;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
	static const char key[] = "\"externalUserId\":\"b";
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *p;
	long i;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!*state) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_len) {
		/* Bodies are small: one chunk holds the id we look for. */
		if ((p = memmem(upload, *upload_len, key, sizeof(key) - 1))) {
			p += sizeof(key) - 1;
			if (*p - '0' == B.phase) {
				i = strtol(p + 2, NULL, 10);
				pthread_mutex_lock(&B.mu);
				if (i >= 0 && i < B.n && !B.arrive_us[i]) {
					B.arrive_us[i] = now_us();
					B.arrived++;
				}
				pthread_mutex_unlock(&B.mu);
			}
		}
		*upload_len = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(2, (void *)"{}",
	                                       MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

typedef struct {
	fd_engine *e;
	fd_principal *who;
	long from, to;
	int phase;
} client;

static int identify(fd_engine *e, fd_principal *who, int phase, long i)
{
	fd_request req;
	fd_response res;
	char ext[48];
	int ok;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	snprintf(ext, sizeof(ext), "b%d-%ld", phase, i);
	req.who = who;
	req.body = json_pack("{s:s}", "externalUserId", ext);
	fd_op_identify(e, &req, &res);
	ok = res.outcome == FD_OUT_CREATED;
	json_decref(req.body);
	json_decref(res.body);
	return ok ? 0 : -1;
}

static void *client_main(void *arg)
{
	client *c = arg;
	long i;

	for (i = c->from; i < c->to; i++) {
		if (identify(c->e, c->who, c->phase, i) < 0) {
			fprintf(stderr, "identify failed\n");
			exit(1);
		}
		if (c->phase == 1)
			B.commit_us[i] = now_us();
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void wait_arrived(long n, int64_t limit_us)
{
	int64_t end = now_us() + limit_us;
	long got;

	for (;;) {
		pthread_mutex_lock(&B.mu);
		got = B.arrived;
		pthread_mutex_unlock(&B.mu);
		if (got >= n || now_us() > end)
			break;
		usleep(1000);
	}
	if (got < n) {
		fprintf(stderr, "only %ld of %ld events arrived\n", got, n);
		exit(1);
	}
}

static void reset(int phase)
{
	pthread_mutex_lock(&B.mu);
	B.phase = phase;
	B.arrived = 0;
	memset(B.arrive_us, 0, (size_t)B.n * sizeof(int64_t));
	memset(B.commit_us, 0, (size_t)B.n * sizeof(int64_t));
	pthread_mutex_unlock(&B.mu);
}

/* The engine's on_commit wakes whichever worker runs now (each phase
 * starts its own, as flockd serve does once). */
static fd_delivery *running;

static void kick_running(void *arg)
{
	fd_delivery_kick(__atomic_load_n(&running, __ATOMIC_ACQUIRE));
}

static fd_delivery *worker(fd_engine *e, int conc)
{
	fd_delivery_config dc;
	fd_delivery *d = NULL;
	char err[256];

	memset(&dc, 0, sizeof(dc));
	dc.concurrency = conc;
	dc.allow_private = 1;
	if (fd_delivery_new(&d, &dc, err, sizeof(err)) < 0 ||
	    fd_delivery_start(d, e, err, sizeof(err)) < 0) {
		fprintf(stderr, "worker: %s\n", err);
		exit(1);
	}
	__atomic_store_n(&running, d, __ATOMIC_RELEASE);
	return d;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
	int conc = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 16;
	int nclients = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 4, i;
	char dir[] = "/tmp/bench-delivery-XXXXXX", db[300], err[256], url[96];
	fd_engine_config ec;
	fd_engine *e = NULL;
	fd_principal svc, adm;
	fd_request req;
	fd_response res;
	struct MHD_Daemon *mhd;
	struct sockaddr_in sa;
	json_t *init = NULL;
	pthread_t th[64];
	client cl[64];
	fd_delivery *d, *steady;
	int64_t t0, t1, *lag;
	long k;

	if (n < 1 || conc < 1 || nclients < 1 || nclients > 64) {
		fprintf(stderr, "usage: bench_delivery [EVENTS] [CONCURRENCY] "
		                "[CLIENTS<=64]\n");
		return 2;
	}
	B.n = n;
	B.commit_us = calloc((size_t)n, sizeof(int64_t));
	B.arrive_us = calloc((size_t)n, sizeof(int64_t));
	lag = calloc((size_t)n, sizeof(int64_t));
	pthread_mutex_init(&B.mu, NULL);
	if (!mkdtemp(dir) || !B.commit_us || !B.arrive_us || !lag)
		return 1;
	snprintf(db, sizeof(db), "%s/flockd.db", dir);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	mhd = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
	        on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	        MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT,
	        1000u, MHD_OPTION_END);
	if (!mhd)
		return 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook",
	         MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port);

	memset(&ec, 0, sizeof(ec));
	ec.db_path = db;
	ec.webhook_allow_private = 1;
	ec.on_commit = kick_running;
	if (fd_engine_open(&e, &ec, err, sizeof(err)) < 0 ||
	    fd_engine_init(e, "bench", &init) < 0 ||
	    fd_engine_authenticate(
	            e, json_string_value(json_object_get(init, "serviceKey")),
	            &svc) < 0 ||
	    fd_engine_authenticate(
	            e, json_string_value(json_object_get(init, "adminToken")),
	            &adm) < 0) {
		fprintf(stderr, "engine: %s\n", err);
		return 1;
	}
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.who = &adm;
	req.app_id = svc.app_id;
	req.body = json_pack("{s:s}", "url", url);
	fd_op_admin_webhooks_create(e, &req, &res);
	if (res.outcome != FD_OUT_CREATED) {
		fprintf(stderr, "endpoint: %s %s\n", res.code, res.message);
		return 1;
	}
	json_decref(req.body);
	json_decref(res.body);

	printf("bench_delivery: %ld events, worker concurrency %d, %d "
	       "clients\n",
	       n, conc, nclients);

	/* steady */
	reset(1);
	d = worker(e, conc);
	t0 = now_us();
	for (i = 0; i < nclients; i++) {
		cl[i].e = e;
		cl[i].who = &svc;
		cl[i].phase = 1;
		cl[i].from = n * i / nclients;
		cl[i].to = n * (i + 1) / nclients;
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	for (i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	t1 = now_us();
	wait_arrived(n, 120 * 1000000LL);
	for (k = 0; k < n; k++)
		lag[k] = B.arrive_us[k] - B.commit_us[k];
	qsort(lag, (size_t)n, sizeof(int64_t), cmp_i64);
	{
		int64_t last = 0;
		for (k = 0; k < n; k++)
			if (B.arrive_us[k] > last)
				last = B.arrive_us[k];
		printf("steady:  %.0f events/s committed, %.0f events/s "
		       "delivered; lag commit->delivery p50 %.1f ms, p99 %.1f "
		       "ms, max %.1f ms\n",
		       (double)n * 1e6 / (double)(t1 - t0),
		       (double)n * 1e6 / (double)(last - t0),
		       (double)lag[n / 2] / 1000.0,
		       (double)lag[(n * 99) / 100] / 1000.0,
		       (double)lag[n - 1] / 1000.0);
	}
	fd_delivery_stop(d); /* freed after the engine, which may kick it */
	steady = d;

	/* backlog */
	reset(2);
	for (k = 0; k < n; k++)
		if (identify(e, &svc, 2, k) < 0)
			return 1;
	t0 = now_us();
	d = worker(e, conc);
	wait_arrived(n, 300 * 1000000LL);
	t1 = now_us();
	printf("backlog: %.0f events/s delivered (%ld events drained in "
	       "%.2f s)\n",
	       (double)n * 1e6 / (double)(t1 - t0), n, (double)(t1 - t0) / 1e6);
	fd_delivery_stop(d);

	MHD_stop_daemon(mhd);
	fd_engine_close(e);
	fd_delivery_free(steady);
	fd_delivery_free(d);
	json_decref(init);
	free(B.commit_us);
	free(B.arrive_us);
	free(lag);
	snprintf(db, sizeof(db), "rm -rf '%s'", dir);
	return system(db) == 0 ? 0 : 1;
}
