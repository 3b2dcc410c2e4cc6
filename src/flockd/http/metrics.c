/*
 * flockd: Prometheus metrics.
 */
#include "http/metrics.h"

#include <stdio.h>
#include <stdlib.h>

/* The statuses flockd answers with are counted exactly; anything else
 * falls in one "other" slot, so a request never allocates. */
static const int tracked_status[] = {200, 201, 400, 401, 403, 404, 405,
                                     409, 413, 422, 429, 500, 503};
#define N_STATUS (sizeof(tracked_status) / sizeof(tracked_status[0]) + 1)

/* Latency buckets in milliseconds (upper bounds; +Inf implied). */
static const double buckets_ms[] = {0.5, 1,   2,   5,   10,   20,
                                    50,  100, 250, 500, 1000, 5000};
#define N_BUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

struct fd_metrics {
	const char *const *names;
	const char *const *methods;
	size_t route_count;
	long in_flight;
	unsigned long requests[FD_METRICS_MAX_ROUTES + 1][N_STATUS];
	unsigned long hist[N_BUCKETS + 1];
	unsigned long hist_count;
	unsigned long sum_us; /* whole microseconds, so atomic adds work */
};

int fd_metrics_new(fd_metrics **out, const char *const *route_names,
                   const char *const *route_methods, size_t route_count)
{
	fd_metrics *m;

	*out = NULL;
	if (route_count > FD_METRICS_MAX_ROUTES)
		return -1;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	m->names = route_names;
	m->methods = route_methods;
	m->route_count = route_count;
	*out = m;
	return 0;
}

void fd_metrics_free(fd_metrics *m)
{
	free(m);
}

void fd_metrics_begin(fd_metrics *m)
{
	__atomic_add_fetch(&m->in_flight, 1, __ATOMIC_RELAXED);
}

static size_t status_slot(int status)
{
	size_t i;

	for (i = 0; i < N_STATUS - 1; i++)
		if (tracked_status[i] == status)
			return i;
	return N_STATUS - 1;
}

void fd_metrics_end(fd_metrics *m, size_t route, int status, double ms)
{
	size_t b = 0;
	unsigned long us = ms > 0 ? (unsigned long)(ms * 1000) : 0;

	if (route > m->route_count)
		route = m->route_count;
	__atomic_sub_fetch(&m->in_flight, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->requests[route][status_slot(status)], 1,
	                   __ATOMIC_RELAXED);
	while (b < N_BUCKETS && ms > buckets_ms[b])
		b++;
	__atomic_add_fetch(&m->hist[b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->hist_count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->sum_us, us, __ATOMIC_RELAXED);
}

static unsigned long load(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void render_requests(fd_metrics *m, flock__buf *out)
{
	size_t r, s;

	flock__buf_puts(out, "# HELP flockd_http_requests_total Requests "
	                     "answered, by route and status.\n"
	                     "# TYPE flockd_http_requests_total counter\n");
	for (r = 0; r <= m->route_count; r++) {
		for (s = 0; s < N_STATUS; s++) {
			unsigned long v = load(&m->requests[r][s]);
			char code[8];

			if (v == 0)
				continue;
			if (s < N_STATUS - 1)
				snprintf(code, sizeof(code), "%d",
				         tracked_status[s]);
			else
				snprintf(code, sizeof(code), "other");
			flock__buf_printf(
			        out,
			        "flockd_http_requests_total{method=\"%s\","
			        "route=\"%s\",status=\"%s\"} %lu\n",
			        r < m->route_count ? m->methods[r] : "",
			        r < m->route_count ? m->names[r] : "unmatched",
			        code, v);
		}
	}
}

static void render_latency(fd_metrics *m, flock__buf *out)
{
	unsigned long cum = 0;
	size_t b;

	flock__buf_puts(out, "# HELP flockd_http_request_duration_seconds "
	                     "Time from request to response.\n"
	                     "# TYPE flockd_http_request_duration_seconds "
	                     "histogram\n");
	for (b = 0; b < N_BUCKETS; b++) {
		cum += load(&m->hist[b]);
		flock__buf_printf(out,
		                  "flockd_http_request_duration_seconds_bucket"
		                  "{le=\"%g\"} %lu\n",
		                  buckets_ms[b] / 1000, cum);
	}
	cum += load(&m->hist[N_BUCKETS]);
	flock__buf_printf(out,
	                  "flockd_http_request_duration_seconds_bucket"
	                  "{le=\"+Inf\"} %lu\n"
	                  "flockd_http_request_duration_seconds_sum %.6f\n"
	                  "flockd_http_request_duration_seconds_count %lu\n",
	                  cum, (double)load(&m->sum_us) / 1e6,
	                  load(&m->hist_count));
}

int fd_metrics_render(fd_metrics *m, flock__buf *out)
{
	render_requests(m, out);
	render_latency(m, out);
	flock__buf_printf(out,
	                  "# HELP flockd_http_requests_in_flight Requests "
	                  "being served.\n"
	                  "# TYPE flockd_http_requests_in_flight gauge\n"
	                  "flockd_http_requests_in_flight %ld\n",
	                  __atomic_load_n(&m->in_flight, __ATOMIC_RELAXED));
	return out->oom ? -1 : 0;
}
