/*
 * flockd: the dashboard's own port (docs/dashboard.md).
 *
 * `flockd serve --dashboard-listen HOST:PORT` serves, on that port only:
 *
 *   /dashboard/...               the pages (web.h: embedded, CSP)
 *   POST /dashboard/api/login    {"token": admin token}: a session cookie
 *                                and {"csrfToken", "expiresIn", "scope"}
 *   GET  /dashboard/api/session  the same for a live session (a reload)
 *   POST /dashboard/api/logout   ends the session
 *   /dashboard/api/admin/...     the admin API (/admin/...), called with
 *                                the session's token
 *
 * Every admin call goes through the server's own route table, validators
 * and engine operations (server.c) with the session's token in place of
 * an Authorization header, so the dashboard can do nothing its admin
 * token cannot. A call without a live session is 401; a state-changing
 * one (any method but GET and HEAD) without the session's CSRF token in
 * X-CSRF-Token, or from another origin (Origin, Sec-Fetch-Site), is 403
 * before anything runs. Login attempts are throttled per client address
 * and in all (429 with Retry-After). The token is only ever in a login
 * body and in this process's memory: never in a URL, a log line, a
 * cookie or the page's storage.
 */
#ifndef FLOCKD_DASHBOARD_H
#define FLOCKD_DASHBOARD_H

#include <stddef.h>

#include <microhttpd.h>

#include "engine/engine.h"
#include "http/session.h"

typedef struct fd_dashboard fd_dashboard;

typedef struct {
	int secure_cookie;    /* Secure cookies even without X-Forwarded-
	                         Proto: https */
	int session_ttl_s;    /* a session's longest life */
	int session_idle_s;   /* ... and without a call */
	int login_per_minute; /* attempts per client address */
	int login_total;      /* attempts from all addresses */
} fd_dashboard_config;

/* e must outlive the dashboard. 0 or -1. */
int fd_dashboard_new(fd_dashboard **out, const fd_dashboard_config *cfg,
                     fd_engine *e);
void fd_dashboard_free(fd_dashboard *d);

typedef enum {
	FD_DASH_ANSWERED = 0, /* the answer is queued; *status is set */
	FD_DASH_ADMIN,        /* the server runs call->path with call->token */
	FD_DASH_FAILED        /* nothing could be queued (out of memory) */
} fd_dash_result;

typedef struct {
	char path[1024]; /* "/admin/apps/..." */
	char token[FD_SESSION_TOKEN_MAX];
} fd_dash_call;

/*
 * One request of the dashboard's port, once its body (len bytes) is in.
 * request_id goes into error bodies.
 */
fd_dash_result fd_dashboard_handle(fd_dashboard *d, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   const char *body, size_t len,
                                   const char *request_id, int *status,
                                   fd_dash_call *call);

/* The headers of an admin call's JSON answer on the dashboard's port
 * (never cached, and web.h's secure headers). 0 or -1. */
int fd_dashboard_api_headers(struct MHD_Response *r);

#endif
