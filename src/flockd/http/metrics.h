/*
 * flockd: Prometheus metrics, kept in lock-free counters.
 *
 * Routes are identified by their index in the router's table, so the hot
 * path is a few atomic increments; the text form is built only when
 * /metrics is scraped.
 */
#ifndef FLOCKD_METRICS_H
#define FLOCKD_METRICS_H

#include <stddef.h>

#include "common/buf.h"

/* Enough for every route of router.c plus the "unmatched" slot. */
#define FD_METRICS_MAX_ROUTES 96

typedef struct fd_metrics fd_metrics;

/* route_names[i] is the label of route i; the array must outlive m. */
int fd_metrics_new(fd_metrics **out, const char *const *route_names,
                   const char *const *route_methods, size_t route_count);
void fd_metrics_free(fd_metrics *m);

void fd_metrics_begin(fd_metrics *m);
/* One finished request: route index (route_count = unmatched), status. */
void fd_metrics_end(fd_metrics *m, size_t route, int status, double ms);

/* Append the Prometheus text exposition; 0 or -1. */
int fd_metrics_render(fd_metrics *m, flock__buf *out);

#endif
