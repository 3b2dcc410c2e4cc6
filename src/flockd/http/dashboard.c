/*
 * flockd: the dashboard's port: pages, login, sessions, and admin calls
 * handed back to the server (dashboard.h).
 */
#include "http/dashboard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <jansson.h>

#include "base/jdump.h"
#include "base/log.h"
#include "http/errors.h"
#include "http/web.h"

#define COOKIE "flock_session"
#define API "/dashboard/api"

struct fd_dashboard {
	fd_dashboard_config cfg;
	fd_engine *engine;
	fd_sessions *sessions;
};

int fd_dashboard_new(fd_dashboard **out, const fd_dashboard_config *cfg,
                     fd_engine *e)
{
	fd_dashboard *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -1;
	d->cfg = *cfg;
	if (d->cfg.login_per_minute <= 0)
		d->cfg.login_per_minute = 10;
	if (d->cfg.login_total <= 0)
		d->cfg.login_total = 100;
	d->engine = e;
	if (fd_sessions_new(&d->sessions, cfg->session_ttl_s,
	                    cfg->session_idle_s) < 0) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void fd_dashboard_free(fd_dashboard *d)
{
	if (!d)
		return;
	fd_sessions_free(d->sessions);
	free(d);
}

int fd_dashboard_api_headers(struct MHD_Response *r)
{
	if (MHD_add_response_header(r, "Cache-Control", "no-store") != MHD_YES)
		return -1;
	return fd_web_secure_headers(r);
}

/* ---- answers ------------------------------------------------------------ */

static fd_dash_result answer(struct MHD_Connection *c, struct MHD_Response *r,
                           int code, int *status)
{
	enum MHD_Result ok;

	if (!r)
		return FD_DASH_FAILED;
	*status = code;
	ok = MHD_queue_response(c, (unsigned int)code, r);
	MHD_destroy_response(r);
	return ok == MHD_YES ? FD_DASH_ANSWERED : FD_DASH_FAILED;
}

/* A JSON answer (body stolen) with the API headers and, when hname is
 * not NULL, one more header (Set-Cookie, Retry-After). */
static fd_dash_result send_json(struct MHD_Connection *c, int code,
                                json_t *body, const char *hname,
                                const char *hvalue, int *status)
{
	struct MHD_Response *r = NULL;
	size_t len = 0;
	char *text = body ? fd_jdump(body, &len) : NULL;

	json_decref(body);
	if (text)
		r = MHD_create_response_from_buffer(len, text,
		                                    MHD_RESPMEM_MUST_FREE);
	if (!r)
		free(text);
	if (r && (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                                  "application/json") != MHD_YES ||
	          fd_dashboard_api_headers(r) < 0 ||
	          (hname &&
	           MHD_add_response_header(r, hname, hvalue) != MHD_YES))) {
		MHD_destroy_response(r);
		r = NULL;
	}
	return answer(c, r, code, status);
}

static json_t *error_body(int code, const char *ecode, const char *msg,
                          const char *request_id)
{
	json_t *body = fd_http_error_body(code, ecode, msg);

	if (body)
		json_object_set_new(body, "requestId", json_string(request_id));
	return body;
}

static fd_dash_result send_error(struct MHD_Connection *c, int code,
                                 const char *ecode, const char *msg,
                                 const char *request_id, int *status)
{
	return send_json(c, code, error_body(code, ecode, msg, request_id),
	                 NULL, NULL, status);
}

static fd_dash_result redirect(struct MHD_Connection *c, const char *to,
                               int *status)
{
	struct MHD_Response *r = fd_web_text_response("see /dashboard/\n");

	if (r && MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, to) !=
	                 MHD_YES) {
		MHD_destroy_response(r);
		r = NULL;
	}
	return answer(c, r, MHD_HTTP_FOUND, status);
}

/* ---- the request's facts ------------------------------------------------ */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* 1 if the request came to us through TLS (a proxy says so), or the
 * operator said cookies are Secure anyway. */
static int secure(const fd_dashboard *d, struct MHD_Connection *c)
{
	const char *proto = header(c, "X-Forwarded-Proto");

	return d->cfg.secure_cookie || (proto && !strcasecmp(proto, "https"));
}

/*
 * 1 if the request is from a page of this origin: Sec-Fetch-Site, when
 * the browser sends it, is same-origin (or none: typed by the person);
 * Origin, when sent, names this Host. A browser sends at least one of
 * them on every state-changing request.
 */
static int same_origin(struct MHD_Connection *c)
{
	const char *site = header(c, "Sec-Fetch-Site");
	const char *origin = header(c, "Origin");
	const char *host = header(c, MHD_HTTP_HEADER_HOST);
	const char *rest;

	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return 0;
	if (!origin)
		return 1;
	if (!host)
		return 0;
	if (!strncmp(origin, "http://", 7))
		rest = origin + 7;
	else if (!strncmp(origin, "https://", 8))
		rest = origin + 8;
	else
		return 0;
	return strcmp(rest, host) == 0;
}

/* The client's address as text, for the login throttle. */
static void client_addr(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	        c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		          out, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		          (socklen_t)len);
}

static void set_cookie(const fd_dashboard *d, struct MHD_Connection *c,
                       char *out, size_t len, const char *id, int max_age)
{
	snprintf(out, len,
	         COOKIE "=%s; Path=/dashboard/; Max-Age=%d; HttpOnly; "
	                "SameSite=Strict%s",
	         id, max_age, secure(d, c) ? "; Secure" : "");
}

/* The session of the request's cookie: 0 with token and csrf filled. */
static int session_of(fd_dashboard *d, struct MHD_Connection *c,
                      char token[FD_SESSION_TOKEN_MAX],
                      char csrf[FD_SESSION_ID_LEN + 1], int *lasts)
{
	const char *id = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
	                                             COOKIE);

	return id ? fd_session_get(d->sessions, id, token,
	                           FD_SESSION_TOKEN_MAX, csrf, lasts)
	          : -1;
}

/* What the page knows of its session: never the token. */
static json_t *session_body(const fd_principal *who, const char *csrf,
                            int lasts)
{
	return json_pack("{s:s, s:i, s:{s:s?, s:s}}", "csrfToken", csrf,
	                 "expiresIn", lasts, "scope", "applicationId",
	                 who->app_id[0] ? who->app_id : NULL, "organizationId",
	                 who->org_id);
}

/* ---- login, session, logout --------------------------------------------- */

static fd_dash_result login(fd_dashboard *d, struct MHD_Connection *c,
                            const char *body, size_t len, const char *rid,
                            int *status)
{
	char addr[64], id[FD_SESSION_ID_LEN + 1], csrf[FD_SESSION_ID_LEN + 1];
	char cookie[256];
	const char *token;
	fd_principal who;
	json_t *j;
	int retry, lasts, ok, auth = FD_AUTH_UNKNOWN;

	client_addr(c, addr, sizeof(addr));
	if (fd_login_allow(d->sessions, addr, d->cfg.login_per_minute,
	                   d->cfg.login_total, &retry) < 0) {
		char text[16];

		fd_log(FD_LOG_WARN, "dashboard: login attempts from %s over "
		                    "the limit", addr);
		snprintf(text, sizeof(text), "%d", retry);
		return send_json(c, 429,
		                 error_body(429, "rate_limited",
		                            "too many login attempts; try again "
		                            "in a minute",
		                            rid),
		                 MHD_HTTP_HEADER_RETRY_AFTER, text, status);
	}
	j = body && fd_json_text_too_deep(body, len, FD_JSON_TEXT_MAX_DEPTH,
	                                  NULL, 0)
	            ? NULL
	            : json_loadb(body ? body : "", len, 0, NULL);
	token = json_string_value(json_object_get(j, "token"));
	if (token && *token && strlen(token) < FD_SESSION_TOKEN_MAX)
		auth = fd_engine_authenticate(d->engine, token, &who);
	ok = auth == FD_AUTH_OK && who.kind == FD_KEY_ADMIN;
	if (auth == FD_AUTH_STORE) {
		json_decref(j);
		return send_error(c, 503, "store_unavailable",
		                  "the database is unavailable; try again", rid,
		                  status);
	}
	if (!ok) {
		json_decref(j);
		fd_log(FD_LOG_INFO, "dashboard: login refused from %s", addr);
		return send_error(c, 401, "unauthorized",
		                  "this is not an admin token flockd knows", rid,
		                  status);
	}
	if (fd_session_create(d->sessions, token, id, csrf, &lasts) < 0) {
		json_decref(j);
		return send_error(c, 500, "internal", "internal error", rid,
		                  status);
	}
	json_decref(j); /* the token's last copy outside the session */
	set_cookie(d, c, cookie, sizeof(cookie), id, lasts);
	fd_log(FD_LOG_INFO, "dashboard: login from %s (key %s)", addr,
	       who.key_id);
	return send_json(c, 200, session_body(&who, csrf, lasts), "Set-Cookie",
	                 cookie, status);
}

static fd_dash_result session(fd_dashboard *d, struct MHD_Connection *c,
                              const char *rid, int *status)
{
	char token[FD_SESSION_TOKEN_MAX], csrf[FD_SESSION_ID_LEN + 1];
	fd_principal who;
	int lasts, auth = FD_AUTH_UNKNOWN;

	if (session_of(d, c, token, csrf, &lasts) == 0)
		auth = fd_engine_authenticate(d->engine, token, &who);
	memset(token, 0, sizeof(token));
	if (auth == FD_AUTH_STORE)
		return send_error(c, 503, "store_unavailable",
		                  "the database is unavailable; try again", rid,
		                  status);
	if (auth != FD_AUTH_OK || who.kind != FD_KEY_ADMIN)
		return send_error(c, 401, "unauthorized",
		                  "no session: log in with an admin token", rid,
		                  status);
	return send_json(c, 200, session_body(&who, csrf, lasts), NULL, NULL,
	                 status);
}

/* A live session ends only with its CSRF token; a dead one's cookie is
 * cleared all the same. */
static fd_dash_result logout(fd_dashboard *d, struct MHD_Connection *c,
                             const char *rid, int *status)
{
	const char *id = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
	                                             COOKIE);
	const char *sent = header(c, "X-CSRF-Token");
	char token[FD_SESSION_TOKEN_MAX], csrf[FD_SESSION_ID_LEN + 1];
	char cookie[256];
	int lasts;

	if (session_of(d, c, token, csrf, &lasts) == 0) {
		memset(token, 0, sizeof(token));
		if (!sent || !fd_session_same(sent, csrf))
			return send_error(c, 403, "csrf_failed",
			                  "missing or wrong X-CSRF-Token", rid,
			                  status);
		fd_session_delete(d->sessions, id);
	}
	set_cookie(d, c, cookie, sizeof(cookie), "", 0);
	return send_json(c, 200, json_pack("{s:b}", "loggedOut", 1),
	                 "Set-Cookie", cookie, status);
}

/* ---- admin calls -------------------------------------------------------- */

static int changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static fd_dash_result admin(fd_dashboard *d, struct MHD_Connection *c,
                            const char *url, const char *method,
                            const char *rid, int *status, fd_dash_call *call)
{
	char csrf[FD_SESSION_ID_LEN + 1];
	const char *sent = header(c, "X-CSRF-Token");
	int lasts;

	if (session_of(d, c, call->token, csrf, &lasts) < 0)
		return send_error(c, 401, "unauthorized",
		                  "no session: log in with an admin token", rid,
		                  status);
	if (changes_state(method) &&
	    (!same_origin(c) || !sent || !fd_session_same(sent, csrf))) {
		memset(call->token, 0, sizeof(call->token));
		return send_error(c, 403, "csrf_failed",
		                  "missing or wrong X-CSRF-Token, or another "
		                  "origin",
		                  rid, status);
	}
	if ((size_t)snprintf(call->path, sizeof(call->path), "%s",
	                     url + strlen(API)) >= sizeof(call->path)) {
		memset(call->token, 0, sizeof(call->token));
		return send_error(c, 404, "not_found", "no such route", rid,
		                  status);
	}
	return FD_DASH_ADMIN;
}

fd_dash_result fd_dashboard_handle(fd_dashboard *d, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   const char *body, size_t len,
                                   const char *request_id, int *status,
                                   fd_dash_call *call)
{
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	int post = !strcmp(method, "POST");

	if (!strcmp(url, "/") || !strcmp(url, "/dashboard"))
		return redirect(c, "/dashboard/", status);
	if (!strncmp(url, API "/admin/", strlen(API "/admin/")))
		return admin(d, c, url, method, request_id, status, call);
	if (!strcmp(url, API "/login") && post) {
		if (!same_origin(c))
			return send_error(c, 403, "csrf_failed",
			                  "login from another origin", request_id,
			                  status);
		return login(d, c, body, len, request_id, status);
	}
	if (!strcmp(url, API "/logout") && post)
		return same_origin(c) ? logout(d, c, request_id, status)
		                      : send_error(c, 403, "csrf_failed",
		                                   "logout from another origin",
		                                   request_id, status);
	if (!strcmp(url, API "/session") && get)
		return session(d, c, request_id, status);
	if (!strncmp(url, API "/", strlen(API "/")))
		return send_error(c, 404, "not_found", "no such route",
		                  request_id, status);
	if (!strncmp(url, "/dashboard/", 11) && get) {
		int code = 0;
		struct MHD_Response *r = fd_web_asset_response(
		        fd_web_find("dashboard",
		                    url[11] ? url + 11 : "index.html"),
		        header(c, "If-None-Match"), &code);

		return answer(c, r, code, status);
	}
	return answer(c, fd_web_text_response("not found\n"), MHD_HTTP_NOT_FOUND,
	            status);
}
