/*
 * flockd: the HTTP server.
 *
 * libmicrohttpd calls on_request() several times per request: once when
 * the headers are in, once per chunk of body, once at the end. At the
 * headers the framing is checked and, on the API's port, the request is
 * routed and authenticated, so a refused one is answered before its body
 * is read. The body is accumulated (bounded by max_body, and by
 * max_buffered for all requests together) and the rest is done at the
 * end: parse, validate, then the engine operation. guard.c bounds the
 * time a request's line and headers may take.
 * queue() counts the request in the metrics just before the reply goes
 * out; on_completed() writes its log line.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "base/jdump.h"
#include "base/log.h"
#include "http/dashboard.h"
#include "http/errors.h"
#include "http/guard.h"
#include "http/metrics.h"
#include "http/pages.h"
#include "http/router.h"
#include "http/stream.h"
#include "http/test_clock.h"

struct fd_server {
	struct MHD_Daemon *daemon;
	fd_engine *engine;
	fd_metrics_fn more_metrics; /* NULL: none */
	void *more_metrics_arg;
	fd_metrics *metrics;
	fd_streams *streams; /* event streams, woken by fd_server_notify */
	const fd_route *routes;
	size_t route_count;
	const char *route_names[FD_METRICS_MAX_ROUTES];
	const char *route_methods[FD_METRICS_MAX_ROUTES];
	size_t max_body;
	/* Bytes of request bodies held (or promised by a Content-Length)
	 * by every request in flight, and the most allowed (--max-buffered):
	 * so many bodies at once cannot take the memory. */
	size_t buffered, max_buffered;
	fd_guard *guard; /* header deadlines (guard.h) */
	int draining;
	int async; /* writes suspend the connection (pool mode) */
	long in_flight;
	long suspended; /* connections waiting for the writer */
	unsigned short port;
	/* The dashboard's port (dashboard.h), when --dashboard-listen. */
	struct MHD_Daemon *dash_daemon;
	fd_dashboard *dash;
	unsigned short dash_port;
};

/* One request, from its headers to its completion. */
typedef struct {
	flock__buf body;
	struct timespec start;
	int too_large;
	int busy;              /* over the buffered-bytes budget: 503 */
	size_t reserved;       /* of s->buffered, given back at completion */
	int authed;            /* authorized at the headers (early_route) */
	const fd_route *route; /* found at the headers (early_route) */
	int close;             /* answer with Connection: close */
	/* A refusal at the headers of a request whose small body is already
	 * on its way: the body is read and dropped, and the answer queued at
	 * its end (closing a socket with the body unread would reset the
	 * connection, and the client could lose the answer). */
	int discard;
	struct MHD_Response *deferred;
	unsigned int deferred_status;
	int responded;
	int replayed;
	int retry_after; /* the answer's Retry-After seconds; 0: 1 */
	char client_addr[64];
	int status;
	int metered;      /* counted in the metrics */
	size_t route_idx; /* route_count: unmatched */
	char method[8];
	char request_id[FLOCK__ID_MAX + 32];
	/* The operation's state, kept here (not on the stack) because a
	 * write answers later: its connection is suspended while the writer
	 * makes it durable, and the thread serves other connections. */
	fd_server *s;
	struct MHD_Connection *conn;
	int pending; /* suspended, waiting for op_done */
	fd_params params;
	fd_principal who;
	fd_request req;
	fd_response res;
	json_t *jbody, *query;
	unsigned char sha[FLOCK__SHA256_LEN];
	/* On the dashboard's port: an admin call made with the session's
	 * token (dashboard.h), or the dashboard's own answer. */
	int dash;
	fd_dash_call call;
	int page; /* one of Flock's hosted pages (pages.h) */
} req_ctx;

static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Take the caller's X-Request-Id when it is a short token, so a request
 * can be followed across services; else make one. */
static void set_request_id(req_ctx *rc, struct MHD_Connection *c)
{
	const char *in =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = in ? strlen(in) : 0, i;

	if (n > 0 && n <= 64) {
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)in[i];
			if (!(ch >= '0' && ch <= '9') &&
			    !((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') &&
			    !strchr("-_.:", ch))
				break;
		}
		if (i == n) {
			memcpy(rc->request_id, in, n + 1);
			return;
		}
	}
	if (flock__id_new(rc->request_id, "req_") < 0)
		memcpy(rc->request_id, "req_unknown", sizeof("req_unknown"));
}

static enum MHD_Result queue(fd_server *s, struct MHD_Connection *c,
                             req_ctx *rc, int status, char *body, size_t len,
                             const char *type, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "X-Request-Id", rc->request_id);
	if (rc->dash)
		fd_dashboard_api_headers(r);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (rc->replayed)
		MHD_add_response_header(r, "Idempotent-Replayed", "true");
	if (status == 429 || status == 503) {
		char after[16];

		snprintf(after, sizeof(after), "%d",
		         rc->retry_after > 0 ? rc->retry_after : 1);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
	}
	if (rc->close || __atomic_load_n(&s->draining, __ATOMIC_RELAXED))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	rc->status = status;
	rc->responded = 1;
	/* Counted before the reply leaves: a client that has its reply sees
	 * it in /metrics. */
	rc->metered = 1;
	fd_metrics_end(s->metrics, rc->route_idx, status,
	               elapsed_ms(&rc->start));
	if (rc->discard) {
		rc->deferred = r;
		rc->deferred_status = (unsigned int)status;
		return MHD_YES;
	}
	ret = MHD_queue_response(c, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *str_or(json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Serialise body (stealing it), with the request id in an error body,
 * and queue it. */
static enum MHD_Result send_body(fd_server *s, struct MHD_Connection *c,
                                 req_ctx *rc, int status, json_t *body,
                                 const char *allow)
{
	char *text;
	size_t len = 0;

	if (!body)
		return MHD_NO;
	if (status >= 400 && json_is_object(body))
		json_object_set_new(body, "requestId",
		                    json_string(rc->request_id));
	/* The access line says only the status: a server-side failure
	 * also says why (codes and messages never hold secrets). */
	if (status >= 500)
		fd_log(FD_LOG_WARN, "http: %s %s %s answered %d %s: %s",
		       rc->request_id, rc->method,
		       rc->route_idx < s->route_count
		               ? s->routes[rc->route_idx].pattern
		               : "unmatched",
		       status, str_or(json_object_get(body, "code"), "-"),
		       str_or(json_object_get(body, "message"), "-"));
	text = fd_jdump(body, &len);
	json_decref(body);
	if (!text)
		return MHD_NO;
	return queue(s, c, rc, status, text, len, "application/json", allow);
}

/* An HTTP thread's stack. jansson parses recursively, so a body nested
 * deeper than FD_JSON_TEXT_MAX_DEPTH is refused before it is parsed
 * (parse_body): nothing on these threads recurses deeper than that, in
 * any build, sanitizers included. */
#define FD_HTTP_STACK (256 * 1024)

/* The client's address as text ("" if unknown), for validate-code's miss
 * limit per address: an IPv6 address by its /64, which one client
 * usually holds whole. */
static void client_addr(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	struct in6_addr a6;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		          out, (socklen_t)len);
	} else if (sa && sa->sa_family == AF_INET6) {
		a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (!IN6_IS_ADDR_V4MAPPED(&a6))
			memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, out, (socklen_t)len);
	}
}

/* Send the engine's (or a check's) answer in res, taking its body. */
static enum MHD_Result send_json(fd_server *s, struct MHD_Connection *c,
                                 req_ctx *rc, fd_response *res,
                                 const char *allow)
{
	int status;
	json_t *body;
	char *text = res->text;

	rc->replayed = res->replayed;
	rc->retry_after = res->retry_after;
	res->text = NULL;
	/* A success written as text by the operation, or dumped by the
	 * writer to store it for its Idempotency-Key: those bytes. */
	if (text && fd_outcome_ok(res->outcome)) {
		json_decref(res->body);
		res->body = NULL;
		return queue(s, c, rc, fd_http_status(res->outcome), text,
		             strlen(text), "application/json", allow);
	}
	free(text);
	body = fd_http_answer(res, &status);
	return send_body(s, c, rc, status, body, allow);
}

/* An error only HTTP has (no route, method, body too large). */
static enum MHD_Result send_error(fd_server *s, struct MHD_Connection *c,
                                  req_ctx *rc, int status, const char *code,
                                  const char *msg, const char *allow)
{
	return send_body(s, c, rc, status,
	                 fd_http_error_body(status, code, msg), allow);
}

/* --- the steps of one request ------------------------------------------ */

/* The key from "Authorization: <key>" or "Authorization: Bearer <key>". */
static const char *access_key(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                            "Authorization");

	if (!v)
		return NULL;
	while (*v == ' ')
		v++;
	if (strncasecmp(v, "Bearer ", 7) == 0)
		v += 7;
	while (*v == ' ')
		v++;
	return *v ? v : NULL;
}

static const char *kind_name(fd_key_kind k)
{
	switch (k) {
	case FD_KEY_SERVICE:
		return "a service key";
	case FD_KEY_PUBLIC:
		return "a public key";
	case FD_KEY_ADMIN:
		return "an admin token";
	}
	return "this key";
}

/* The key checks of section 1: 0, or -1 with res filled. On the
 * dashboard's port the key is the session's, never a header. */
static int authorize(fd_server *s, struct MHD_Connection *c, req_ctx *rc,
                     const fd_route *route, const fd_params *params,
                     fd_principal *who, fd_response *res)
{
	const char *key = rc->dash ? rc->call.token : access_key(c);

	if (!key) {
		fd_fail(res, FD_OUT_UNAUTHORIZED, "unauthorized",
		        "an access key is required in the Authorization "
		        "header");
		return -1;
	}
	switch (fd_engine_authenticate(s->engine, key, who)) {
	case FD_AUTH_OK:
		break;
	case FD_AUTH_STORE:
		/* Not 401: a client told "unknown key" concludes its key was
		 * revoked; this one may be fine. */
		fd_fail(res, FD_OUT_UNAVAILABLE, "store_unavailable",
		        "the database is unavailable; try again");
		return -1;
	default:
		fd_fail(res, FD_OUT_UNAUTHORIZED, "unauthorized",
		        "unknown access key");
		return -1;
	}
	if (!(route->kinds & (unsigned)who->kind)) {
		fd_fail(res, FD_OUT_FORBIDDEN, "forbidden",
		        "%s may not call %s %s", kind_name(who->kind),
		        route->method, route->pattern);
		return -1;
	}
	/* An admin token of one application never reaches another's; it
	 * gets the engine's answer for an application that does not exist,
	 * so it cannot tell which other applications exist. */
	if (params->app[0] && who->app_id[0] &&
	    strcmp(params->app, who->app_id) != 0) {
		fd_fail(res, FD_OUT_NOT_FOUND, "app_not_found",
		        "app not found");
		return -1;
	}
	return fd_engine_rate_check(s->engine, who, res);
}

/* The request's environment, from the body or the query. */
static const char *request_env(json_t *body, json_t *query)
{
	const char *env =
	        json_string_value(json_object_get(body, "environment"));

	if (!env)
		env = json_string_value(json_object_get(query, "environment"));
	return env;
}

static int check_env(const fd_principal *who, json_t *body, json_t *query,
                     fd_response *res)
{
	const char *env = request_env(body, query);

	if (!who->environment[0] || !env || strcmp(env, who->environment) == 0)
		return 0;
	fd_fail(res, FD_OUT_FORBIDDEN, "forbidden",
	        "this key is limited to the %s environment", who->environment);
	return -1;
}

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
	json_t *q = cls;

	/* First value wins, as with most frameworks' req.query. */
	if (key && !json_object_get(q, key))
		json_object_set_new(q, key, json_string(value ? value : ""));
	return MHD_YES;
}

/* Parse the accumulated body. 0 and *out (new reference), or -1 with
 * res filled. */
static int parse_body(req_ctx *rc, json_t **out, fd_response *res)
{
	char field[128];
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (rc->body.len == 0) {
		if ((*out = json_object()))
			return 0;
		fd_fail(res, FD_OUT_INTERNAL, "internal", "internal error");
		return -1;
	}
	if (fd_json_text_too_deep(rc->body.ptr, rc->body.len,
	                          FD_JSON_TEXT_MAX_DEPTH, field,
	                          sizeof(field))) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "%s nests deeper than %d levels",
		        *field ? field : "body", FD_JSON_MAX_DEPTH);
		return -1;
	}
	v = json_loadb(rc->body.ptr, rc->body.len, 0, &jerr);
	if (!v) {
		fd_fail(res, FD_OUT_INVALID, "invalid_json",
		        "body is not valid JSON: %s at position %d", jerr.text,
		        jerr.position);
		return -1;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		fd_fail(res, FD_OUT_INVALID, "invalid_json",
		        "body must be a JSON object");
		return -1;
	}
	*out = v;
	return 0;
}

/* Everything declarative before the operation: body, query, environment.
 * 0, or -1 with res filled. */
static int prepare(req_ctx *rc, const fd_route *route, const fd_principal *who,
                   json_t **body, json_t *query, fd_response *res)
{
	if ((route->has_body && parse_body(rc, body, res)) ||
	    fd_validate_query(route->query, query, res) ||
	    (route->has_body && fd_validate_body(route->body, *body, res)) ||
	    (route->check && route->check(*body, query, res)))
		return -1;
	return check_env(who, *body, query, res);
}

/* The engine queued a write: stop reading this connection until done. */
static void op_suspend(void *arg)
{
	req_ctx *rc = arg;

	rc->pending = 1;
	__atomic_add_fetch(&rc->s->suspended, 1, __ATOMIC_RELAXED);
	MHD_suspend_connection(rc->conn);
}

/* On an engine thread: rc->res is final; on_request answers it. */
static void op_done(void *arg)
{
	req_ctx *rc = arg;

	MHD_resume_connection(rc->conn);
}

static enum MHD_Result finish_op(fd_server *s, struct MHD_Connection *c,
                                 req_ctx *rc)
{
	enum MHD_Result ret = send_json(s, c, rc, &rc->res, NULL);

	json_decref(rc->jbody);
	json_decref(rc->query);
	rc->jbody = rc->query = NULL;
	return ret;
}

/* The stream route's operation said yes: answer with the stream, from
 * the cursor it found. */
static enum MHD_Result start_stream(fd_server *s, struct MHD_Connection *c,
                                    req_ctx *rc)
{
	long cursor = (long)json_integer_value(
	        json_object_get(rc->res.body, "cursor"));
	enum MHD_Result ret;

	rc->status = 200;
	rc->responded = 1;
	rc->metered = 1;
	fd_metrics_end(s->metrics, rc->route_idx, 200, elapsed_ms(&rc->start));
	ret = fd_stream_start(
	        s->streams, s->engine, c, rc->req.app_id, cursor,
	        json_string_value(json_object_get(rc->res.body, "environment")),
	        json_string_value(json_object_get(rc->query, "name")),
	        rc->request_id);
	json_decref(rc->jbody);
	json_decref(rc->query);
	rc->jbody = rc->query = NULL;
	return ret;
}

static enum MHD_Result run_op(fd_server *s, struct MHD_Connection *c,
                              req_ctx *rc, const fd_route *route,
                              const fd_params *params)
{
	fd_response *res = &rc->res;
	const char *idem, *last_id;

	if (!(rc->query = json_object()))
		return MHD_NO;
	if (route->kinds && !rc->authed &&
	    authorize(s, c, rc, route, params, &rc->who, res))
		return finish_op(s, c, rc);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query_arg,
	                          rc->query);
	/* A reconnecting EventSource says where it was in a header. */
	last_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                      "Last-Event-ID");
	if (route->special == FD_SPECIAL_EVENT_STREAM && last_id && *last_id &&
	    !json_object_get(rc->query, "after"))
		json_object_set_new(rc->query, "after", json_string(last_id));
	if (prepare(rc, route, &rc->who, &rc->jbody, rc->query, res))
		return finish_op(s, c, rc);
	idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                   "Idempotency-Key");
	if (idem && (!*idem || strlen(idem) > 255)) {
		fd_fail(res, FD_OUT_INVALID, "invalid_field",
		        "Idempotency-Key must be 1 to 255 characters");
		return finish_op(s, c, rc);
	}
	flock__sha256(rc->sha, rc->body.ptr ? rc->body.ptr : "", rc->body.len);
	rc->req.who = &rc->who;
	rc->req.app_id = params->app[0] ? params->app : rc->who.app_id;
	rc->req.id = params->id[0] ? params->id : NULL;
	rc->req.query = rc->query;
	rc->req.body = rc->jbody;
	rc->req.idempotency_key = idem;
	rc->req.want_text = 1;
	rc->req.body_sha256 = rc->sha;
	rc->req.request_id = rc->request_id;
	rc->req.origin =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	client_addr(c, rc->client_addr, sizeof(rc->client_addr));
	rc->req.client_addr = rc->client_addr[0] ? rc->client_addr : NULL;
	if (s->async) {
		rc->s = s;
		rc->conn = c;
		rc->req.suspend = op_suspend;
		rc->req.done = op_done;
		rc->req.async_arg = rc;
	}
	route->op(s->engine, &rc->req, res);
	if (rc->pending)
		return MHD_YES; /* op_done resumes the connection */
	if (route->special == FD_SPECIAL_EVENT_STREAM &&
	    fd_outcome_ok(res->outcome))
		return start_stream(s, c, rc);
	return finish_op(s, c, rc);
}

static enum MHD_Result run_special(fd_server *s, struct MHD_Connection *c,
                                   req_ctx *rc, const fd_route *route)
{
	fd_response res;
	flock__buf text = FLOCK__BUF_INIT;
	fd_engine_writer_stats ws;
	size_t len;

	memset(&res, 0, sizeof(res));
	res.outcome = FD_OUT_OK;
	switch (route->special) {
	case FD_SPECIAL_HEALTHZ:
		res.body = json_pack("{s:s}", "status", "ok");
		break;
	case FD_SPECIAL_READYZ:
		if (__atomic_load_n(&s->draining, __ATOMIC_RELAXED) ||
		    !fd_engine_ready(s->engine))
			fd_fail(&res, FD_OUT_UNAVAILABLE, "not_ready",
			        "not ready");
		else if (!fd_engine_writable(s->engine))
			fd_fail(&res, FD_OUT_UNAVAILABLE, "store_not_writable",
			        "the database refuses writes");
		else
			res.body = json_pack("{s:s}", "status", "ready");
		break;
	case FD_SPECIAL_METRICS:
		fd_engine_writer_stats_get(s->engine, &ws);
		fd_metrics_render(s->metrics, &text);
		flock__buf_printf(
		        &text,
		        "# HELP flockd_rewards_granted_total Rewards "
		        "granted since start.\n"
		        "# TYPE flockd_rewards_granted_total counter\n"
		        "flockd_rewards_granted_total %ld\n"
		        "# HELP flockd_http_connections_cut_total Connections "
		        "shut down for a missed header or idle deadline.\n"
		        "# TYPE flockd_http_connections_cut_total counter\n"
		        "flockd_http_connections_cut_total %ld\n",
		        ws.rewards_granted, fd_guard_cut(s->guard));
		if (s->more_metrics)
			s->more_metrics(&text, s->more_metrics_arg);
		if (text.oom) {
			flock__buf_free(&text);
			return MHD_NO;
		}
		len = text.len;
		return queue(s, c, rc, 200, flock__buf_detach(&text), len,
		             "text/plain; version=0.0.4", NULL);
	case FD_SPECIAL_NONE:
	case FD_SPECIAL_EVENT_STREAM: /* run as an operation (run_op) */
		break;
	}
	return send_json(s, c, rc, &res, NULL);
}

/* The dashboard's port: its own answers, or an admin route's path to
 * run with the session's token. 1 answered (ret set), 0 go on with
 * *url. */
static int dashboard_request(fd_server *s, struct MHD_Connection *c,
                             req_ctx *rc, const char **url,
                             const char *method, enum MHD_Result *ret)
{
	fd_dash_result r;

	if (rc->too_large) {
		*ret = send_error(s, c, rc, 413, "payload_too_large",
		                  "request body is too large", NULL);
		return 1;
	}
	r = fd_dashboard_handle(s->dash, c, *url, method, rc->body.ptr,
	                        rc->body.len, rc->request_id, &rc->status,
	                        &rc->call);
	if (r == FD_DASH_ADMIN) {
		*url = rc->call.path;
		return 0;
	}
	/* Pages and logins are not API traffic: logged, not metered. */
	rc->responded = rc->metered = 1;
	*ret = r == FD_DASH_ANSWERED ? MHD_YES : MHD_NO;
	return 1;
}

/* Flock's hosted pages (pages.h), where no route of the API is, and
 * the landing page's ?ref= form of GET /referrals. 1 answered (ret
 * set), 0 go on. */
static int page_request(struct MHD_Connection *c, req_ctx *rc, const char *url,
                        const char *method, fd_match_result m,
                        enum MHD_Result *ret)
{
	fd_pages_result r = fd_pages_handle(
	        c, url, method, m != FD_MATCH_NOT_FOUND, &rc->status);

	if (r == FD_PAGES_NO)
		return 0;
	/* Pages are not API traffic: logged, not metered. */
	rc->page = rc->responded = rc->metered = 1;
	*ret = r == FD_PAGES_ANSWERED ? MHD_YES : MHD_NO;
	return 1;
}

/* 1 if route may be reached from the dashboard: the admin API of
 * applications (not the test clock, not the wire API). */
static int dashboard_route(const fd_route *route)
{
	return (route->kinds & FD_KEY_ADMIN) &&
	       strncmp(route->pattern, "/admin/apps", 11) == 0;
}

static size_t declared_length(struct MHD_Connection *c);

/* 1 if the request has a body to come. */
static int has_body(struct MHD_Connection *c)
{
	return declared_length(c) > 0 ||
	       MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/*
 * Route and authorize: 1 answered (*ret set: no route, a page, or a
 * refused key), 0 go on with rc->route. On the API's port this runs at
 * the headers, before a byte of the body is read or buffered (an
 * unauthenticated body is never held); on the dashboard's, at the end
 * (the session's token is known only then).
 */
static int route_request(fd_server *s, struct MHD_Connection *c, req_ctx *rc,
                         const char *url, const char *method,
                         enum MHD_Result *ret)
{
	const fd_route *route;
	char allow[64];
	fd_match_result m;

	/* The test clock's route exists only with --test-clock. */
	if (strcmp(url, FD_TEST_CLOCK_PATH) == 0 &&
	    !fd_test_clock_enabled(s->engine)) {
		*ret = send_error(s, c, rc, 404, "not_found", "no such route",
		                  NULL);
		return 1;
	}
	m = fd_route_match(&route, &rc->params, allow, sizeof(allow), method,
	                   url);
	if (!rc->dash && page_request(c, rc, url, method, m, ret))
		return 1;
	if (m == FD_MATCH_NOT_FOUND ||
	    (rc->dash && m == FD_MATCH_OK && !dashboard_route(route))) {
		*ret = send_error(s, c, rc, 404, "not_found", "no such route",
		                  NULL);
		return 1;
	}
	if (m == FD_MATCH_METHOD) {
		*ret = send_error(s, c, rc, 405, "method_not_allowed",
		                  "method not allowed on this path", allow);
		return 1;
	}
	rc->route_idx = (size_t)(route - s->routes);
	rc->route = route;
	if (!rc->dash && route->kinds) {
		if (authorize(s, c, rc, route, &rc->params, &rc->who,
		              &rc->res)) {
			/* A large body is never read: the connection
			 * cannot carry another request. */
			rc->close = has_body(c) && !rc->discard;
			*ret = send_json(s, c, rc, &rc->res, NULL);
			return 1;
		}
		rc->authed = 1;
	}
	return 0;
}

static enum MHD_Result dispatch(fd_server *s, struct MHD_Connection *c,
                                req_ctx *rc, const char *url,
                                const char *method)
{
	const fd_route *route = rc->route;
	enum MHD_Result ret;

	if (rc->dash && dashboard_request(s, c, rc, &url, method, &ret))
		return ret;
	if (rc->dash && route_request(s, c, rc, url, method, &ret))
		return ret;
	route = rc->route;
	if (rc->busy)
		return send_error(
		        s, c, rc, 503, "server_busy",
		        "too many request bodies in flight; try again", NULL);
	if (rc->too_large)
		return send_error(s, c, rc, 413, "payload_too_large",
		                  "request body is too large", NULL);
	if (route->special && route->special != FD_SPECIAL_EVENT_STREAM)
		return run_special(s, c, rc, route);
	return run_op(s, c, rc, route, &rc->params);
}

/* --- libmicrohttpd callbacks -------------------------------------------- */

static req_ctx *begin(fd_server *s, struct MHD_Connection *c,
                      const char *method)
{
	req_ctx *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &rc->start);
	rc->route_idx = s->route_count;
	snprintf(rc->method, sizeof(rc->method), "%s", method);
	set_request_id(rc, c);
	__atomic_add_fetch(&s->in_flight, 1, __ATOMIC_RELAXED);
	fd_metrics_begin(s->metrics);
	return rc;
}

typedef struct {
	int lengths;  /* Content-Length headers */
	int encoding; /* Transfer-Encoding headers */
	int other;    /* a Transfer-Encoding other than plain "chunked" */
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
	framing *f = cls;

	(void)kind;
	if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->lengths++;
	if (key && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->encoding++;
		f->other |= !value || strcasecmp(value, "chunked") != 0;
	}
	return MHD_YES;
}

/*
 * 1 if the body's framing is ambiguous: more than one Content-Length, or
 * Content-Length with Transfer-Encoding (RFC 9112 section 6.3). A proxy
 * in front may read such a request's length differently from
 * libmicrohttpd (which takes the first Content-Length, or chunked), and
 * the bytes one of them counts as body the other runs as a second
 * request: it is refused before anything runs, and the connection
 * closed. So is a Transfer-Encoding other than "chunked" alone
 * (identity, gzip, a list): libmicrohttpd would wait for a body whose
 * end it cannot tell.
 */
static int ambiguous_framing(struct MHD_Connection *c)
{
	framing f = {0, 0, 0};

	MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
	return f.lengths > 1 || f.encoding > 1 || f.other ||
	       (f.lengths && f.encoding);
}

/* A declared Content-Length over the limit is refused before reading. */
static int declared_too_large(fd_server *s, struct MHD_Connection *c)
{
	return declared_length(c) > s->max_body;
}

/* The declared Content-Length (at most max_body here), or 0. */
static size_t declared_length(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(
	        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (!cl)
		return 0;
	n = strtoull(cl, &end, 10);
	return *end == '\0' ? (size_t)n : 0;
}

/*
 * 1 if a body of at most FD_DISCARD_MAX bytes is coming without waiting
 * for a 100 Continue: a refusal at the headers then reads and drops it
 * before answering, as a server must for the client to see the answer.
 * A larger or chunked body is answered at once and the connection closed
 * (a client that sends one should ask Expect: 100-continue).
 */
#define FD_DISCARD_MAX (64 * 1024)
static int small_body_coming(struct MHD_Connection *c)
{
	const char *expect = MHD_lookup_connection_value(
	        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	size_t n = declared_length(c);

	if (expect && strcasecmp(expect, "100-continue") == 0)
		return 0;
	return n > 0 && n <= FD_DISCARD_MAX;
}

/* Take n bytes of the budget of bodies held at once. 0, or -1 (over). */
static int reserve(fd_server *s, req_ctx *rc, size_t n)
{
	size_t now = __atomic_add_fetch(&s->buffered, n, __ATOMIC_RELAXED);

	if (now > s->max_buffered) {
		__atomic_sub_fetch(&s->buffered, n, __ATOMIC_RELAXED);
		return -1;
	}
	rc->reserved += n;
	return 0;
}

static void accumulate(fd_server *s, req_ctx *rc, const char *data, size_t len)
{
	if (rc->too_large || rc->busy)
		return;
	/* A declared length was reserved at the headers; a chunked body
	 * takes its budget as it comes. */
	if (rc->body.len + len > rc->reserved && reserve(s, rc, len) < 0) {
		rc->busy = 1;
		flock__buf_free(&rc->body);
		return;
	}
	if (rc->body.len + len > s->max_body ||
	    flock__buf_put(&rc->body, data, len) < 0) {
		/* Over the limit (or out of memory): drop what we have and
		 * keep reading, then answer 413. */
		rc->too_large = 1;
		flock__buf_free(&rc->body);
	}
}

static enum MHD_Result request(fd_server *s, int dash, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
	req_ctx *rc = *con_cls;
	enum MHD_Result ret;

	if (!rc) {
		rc = begin(s, c, method);
		if (!rc)
			return MHD_NO;
		rc->dash = dash;
		*con_cls = rc;
		if (ambiguous_framing(c)) {
			rc->close = 1;
			return send_error(
			        s, c, rc, 400, "bad_request",
			        "ambiguous body framing: more than one "
			        "Content-Length, Content-Length with "
			        "Transfer-Encoding, or a Transfer-Encoding "
			        "other than chunked",
			        NULL);
		}
		if (declared_too_large(s, c)) {
			rc->too_large = 1;
			return send_error(s, c, rc, 413, "payload_too_large",
			                  "request body is too large", NULL);
		}
		fd_guard_headers_in(s->guard, c);
		rc->discard = !dash && small_body_coming(c);
		if (!dash && route_request(s, c, rc, url, method, &ret))
			return ret;
		rc->discard = 0;
		if (declared_length(c) > 0 &&
		    reserve(s, rc, declared_length(c)) < 0) {
			rc->busy = rc->close = 1;
			return send_error(s, c, rc, 503, "server_busy",
			                  "too many request bodies in flight; "
			                  "try again",
			                  NULL);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rc->responded)
			accumulate(s, rc, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rc->deferred) { /* the refused request's body is in */
		ret = MHD_queue_response(c, rc->deferred_status, rc->deferred);
		MHD_destroy_response(rc->deferred);
		rc->deferred = NULL;
		return ret;
	}
	if (rc->pending) { /* resumed: the engine has answered */
		rc->pending = 0;
		__atomic_sub_fetch(&s->suspended, 1, __ATOMIC_RELAXED);
		return finish_op(s, c, rc);
	}
	if (rc->responded)
		return MHD_YES;
	return dispatch(s, c, rc, url, method);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	return request(cls, 0, c, url, method, upload_data, upload_data_size,
	               con_cls);
}

/* The dashboard's port: the same requests, marked as its own. */
static enum MHD_Result on_dash_request(void *cls, struct MHD_Connection *c,
                                       const char *url, const char *method,
                                       const char *version,
                                       const char *upload_data,
                                       size_t *upload_data_size,
                                       void **con_cls)
{
	return request(cls, 1, c, url, method, upload_data, upload_data_size,
	               con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	fd_server *s = cls;
	req_ctx *rc = *con_cls;
	double ms;
	const char *route = "unmatched";

	if (!rc)
		return;
	/* A client that hung up while its write was waiting: libmicrohttpd
	 * closes the resumed connection without calling on_request again. */
	if (rc->pending)
		__atomic_sub_fetch(&s->suspended, 1, __ATOMIC_RELAXED);
	ms = elapsed_ms(&rc->start);
	if (!rc->metered) /* ended without a reply */
		fd_metrics_end(s->metrics, rc->route_idx, rc->status, ms);
	if (rc->route_idx < s->route_count)
		route = s->routes[rc->route_idx].pattern;
	else if (rc->dash)
		route = "dashboard";
	else if (rc->page)
		route = "pages";
	fd_log_request(rc->request_id, rc->method, route, rc->status, ms);
	/* A login body holds a token; a dashboard call, the session's. */
	if (rc->dash) {
		if (rc->body.ptr)
			memset(rc->body.ptr, 0, rc->body.len);
		memset(&rc->call, 0, sizeof(rc->call));
	}
	if (rc->deferred) /* the client hung up before its body was in */
		MHD_destroy_response(rc->deferred);
	json_decref(rc->jbody);
	json_decref(rc->query);
	json_decref(rc->res.body);
	free(rc->res.text);
	flock__buf_free(&rc->body);
	if (rc->reserved)
		__atomic_sub_fetch(&s->buffered, rc->reserved,
		                   __ATOMIC_RELAXED);
	free(rc);
	*con_cls = NULL;
	fd_guard_request_done(s->guard, c);
	__atomic_sub_fetch(&s->in_flight, 1, __ATOMIC_RELAXED);
}

/* --- lifecycle ----------------------------------------------------------- */

static int make_addr(struct sockaddr_storage *ss, const char *host,
                     unsigned short port, unsigned int *flags)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*flags |= MHD_USE_IPv6;
		return 0;
	}
	return -1;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 0)))
#endif
static void
log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	fd_log(FD_LOG_WARN, "http: %s", msg);
}

static int start_daemon(fd_server *s, const fd_config *cfg,
                        struct sockaddr_storage *addr, unsigned int flags)
{
	struct MHD_OptionItem opts[] = {
	        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, NULL},
	        {MHD_OPTION_SOCK_ADDR, 0, addr},
	        {MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s, NULL},
	        {MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL},
	        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip, NULL},
	        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)fd_guard_notify,
	         s->guard},
	        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)fd_guard_request_line,
	         s->guard},
	        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
	        {MHD_OPTION_THREAD_STACK_SIZE, FD_HTTP_STACK, NULL},
	        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
	        /* Per-connection buffer for headers and body chunks (bodies
	         * are copied out as they arrive). libmicrohttpd zeroes it for
	         * every request on a kept-alive connection: the default 32 KiB
	         * cost a quarter of an HTTP thread's instructions. */
	        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, NULL},
	        /* Last, so per-connection mode can drop it. */
	        {MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL},
	        {MHD_OPTION_END, 0, NULL}};

	/* The pool by default; see docs/flockd.md, "Threads". */
	flags |= MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	if (cfg->per_connection) {
		flags |= MHD_USE_INTERNAL_POLLING_THREAD |
		         MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
		opts[sizeof(opts) / sizeof(opts[0]) - 2].option =
		        MHD_OPTION_END;
	} else {
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD |
		         MHD_ALLOW_SUSPEND_RESUME;
		s->async = 1;
	}
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	                             MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	return s->daemon ? 0 : -1;
}

/*
 * The dashboard's port: its own daemon with its own limits (a person's
 * browser, not an API client: few connections, two threads), the same
 * requests as the API's but marked as the dashboard's (on_dash_request).
 */
static int start_dashboard(fd_server *s, const fd_config *cfg, char *err,
                           size_t errlen)
{
	struct sockaddr_storage addr;
	unsigned int flags = MHD_USE_ITC | MHD_USE_ERROR_LOG |
	                     MHD_USE_EPOLL_INTERNAL_THREAD |
	                     MHD_ALLOW_SUSPEND_RESUME;
	fd_dashboard_config dc;
	const union MHD_DaemonInfo *info;

	if (!s->async) {
		snprintf(err, errlen, "the dashboard needs the thread pool "
		                      "(not --thread-per-connection)");
		return -1;
	}
	if (make_addr(&addr, cfg->dashboard_host, cfg->dashboard_port,
	              &flags) < 0) {
		snprintf(err, errlen,
		         "dashboard-listen: '%s' is not a numeric address",
		         cfg->dashboard_host);
		return -1;
	}
	memset(&dc, 0, sizeof(dc));
	dc.secure_cookie = cfg->dashboard_secure;
	dc.session_ttl_s = cfg->dashboard_session_s;
	dc.session_idle_s = 1800;
	if (fd_dashboard_new(&s->dash, &dc, s->engine) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->dash_daemon = MHD_start_daemon(
	        flags, 0, NULL, NULL, on_dash_request, s,
	        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR,
	        &addr, MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned int)cfg->conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned int)128, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	        (unsigned int)32, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	        (size_t)(32 * 1024), MHD_OPTION_THREAD_STACK_SIZE,
	        (size_t)FD_HTTP_STACK, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	        s, MHD_OPTION_NOTIFY_CONNECTION, fd_guard_notify, s->guard,
	        MHD_OPTION_URI_LOG_CALLBACK, fd_guard_request_line, s->guard,
	        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2, MHD_OPTION_END);
	if (!s->dash_daemon) {
		snprintf(err, errlen, "cannot listen on %s:%u (dashboard)",
		         cfg->dashboard_host, cfg->dashboard_port);
		return -1;
	}
	info = MHD_get_daemon_info(s->dash_daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->dash_port = info ? info->port : cfg->dashboard_port;
	return 0;
}

unsigned short fd_server_dashboard_port(const fd_server *s)
{
	return s->dash_port;
}

int fd_server_start(fd_server **out, const fd_config *cfg, fd_engine *e,
                    fd_metrics_fn more_metrics, void *arg, char *err,
                    size_t errlen)
{
	struct sockaddr_storage addr;
	unsigned int flags = 0;
	const union MHD_DaemonInfo *info;
	fd_server *s;
	size_t i;

	*out = NULL;
	if (make_addr(&addr, cfg->listen_host, cfg->port, &flags) < 0) {
		snprintf(err, errlen, "listen: '%s' is not a numeric address",
		         cfg->listen_host);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->engine = e;
	s->more_metrics = more_metrics;
	s->more_metrics_arg = arg;
	s->max_body = cfg->max_body;
	s->max_buffered = cfg->max_buffered;
	s->routes = fd_routes(&s->route_count);
	for (i = 0; i < s->route_count && i < FD_METRICS_MAX_ROUTES; i++) {
		s->route_names[i] = s->routes[i].pattern;
		s->route_methods[i] = s->routes[i].method;
	}
	if (fd_guard_new(&s->guard, cfg->header_timeout_s,
	                 cfg->conn_timeout_s) < 0 ||
	    fd_metrics_new(&s->metrics, s->route_names, s->route_methods,
	                   s->route_count) < 0 ||
	    /* Streams speak at least three times per idle timeout. */
	    fd_streams_new(&s->streams,
	                   cfg->conn_timeout_s * 1000L / 3 < 15000
	                           ? cfg->conn_timeout_s * 1000L / 3
	                           : 15000) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (start_daemon(s, cfg, &addr, flags) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%u",
		         cfg->listen_host, cfg->port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	if (cfg->dashboard && start_dashboard(s, cfg, err, errlen) < 0) {
		MHD_stop_daemon(s->daemon);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	fd_guard_free(s->guard);
	fd_dashboard_free(s->dash);
	fd_streams_free(s->streams);
	fd_metrics_free(s->metrics);
	free(s);
	return -1;
}

void fd_server_notify(fd_server *s)
{
	if (s)
		fd_streams_notify(s->streams);
}

unsigned short fd_server_port(const fd_server *s)
{
	return s->port;
}

void fd_server_stop(fd_server *s, int grace_ms)
{
	struct timespec start;
	MHD_socket ls, dash_ls = MHD_INVALID_SOCKET;

	if (!s)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	__atomic_store_n(&s->draining, 1, __ATOMIC_RELAXED);
	/* Quiesced: no new connection is accepted. The socket is ours now,
	 * but libmicrohttpd's workers may still have it in their epoll sets
	 * until they stop, so it is closed after MHD_stop_daemon. */
	ls = MHD_quiesce_daemon(s->daemon);
	if (s->dash_daemon)
		dash_ls = MHD_quiesce_daemon(s->dash_daemon);
	/* Event streams never finish by themselves: end them. */
	fd_streams_close(s->streams);
	while (__atomic_load_n(&s->in_flight, __ATOMIC_RELAXED) > 0 &&
	       elapsed_ms(&start) < grace_ms) {
		struct timespec ten_ms = {0, 10 * 1000 * 1000};
		nanosleep(&ten_ms, NULL);
	}
	/* libmicrohttpd must not be stopped with a connection suspended; the
	 * engine answers every queued write (durable or 503), so wait (30 s
	 * more at most: a write stuck that long is a stuck disk). */
	while (__atomic_load_n(&s->suspended, __ATOMIC_RELAXED) > 0 &&
	       elapsed_ms(&start) < grace_ms + 30000.0) {
		struct timespec ten_ms = {0, 10 * 1000 * 1000};
		nanosleep(&ten_ms, NULL);
	}
	if (__atomic_load_n(&s->suspended, __ATOMIC_RELAXED) > 0)
		fd_log(FD_LOG_ERROR, "http: %ld writes still waiting at stop",
		       __atomic_load_n(&s->suspended, __ATOMIC_RELAXED));
	MHD_stop_daemon(s->daemon);
	if (s->dash_daemon)
		MHD_stop_daemon(s->dash_daemon);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	if (dash_ls != MHD_INVALID_SOCKET)
		close(dash_ls);
	fd_guard_free(s->guard);
	fd_dashboard_free(s->dash);
	fd_streams_free(s->streams);
	fd_metrics_free(s->metrics);
	free(s);
}
