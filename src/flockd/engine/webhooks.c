/*
 * flockd engine: the admin API of webhook endpoints and their deliveries
 * (docs/admin-api.md, "Webhook endpoints"). The worker that sends them is
 * delivery/delivery.c.
 *
 * A URL is checked by the checker the engine was opened with
 * (fd_engine_config.url_check) on the request's thread, before the write
 * job: the check may resolve a name, which must never hold up the writer,
 * and the engine itself resolves nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "engine/internal.h"

#define GRACE_DEFAULT_S 86400

/* The app, then the endpoint {id} (not deleted) into *out if not NULL. */
static int endpoint(fd_ctx *x, json_t **out)
{
	json_t *ep;

	if (fd__admin_get(x, fd_store_webhook_get, "webhook_endpoint", 1, &ep) <
	    0)
		return -1;
	if (out)
		*out = ep;
	else
		json_decref(ep);
	return 0;
}

/* Answer with the endpoint {id} after a change whose store code is rc;
 * with secret (not NULL), the answer shows it, once. */
static int endpoint_answer(fd_ctx *x, int rc, const char *secret)
{
	json_t *out = NULL;

	if (rc == FD_OK)
		rc = fd_store_webhook_get(x->c, x->app, x->req->id, &out);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "webhook_endpoint");
	if (rc != FD_OK)
		return fd__internal(x);
	if (secret)
		json_object_set_new(out, "secret", json_string(secret));
	return fd__ok(x, FD_OUT_OK, out);
}

/* "whsec_" + base64 of 32 random bytes (api.md section 6). */
static int new_secret(char out[64])
{
	uint8_t raw[32];

	if (flock__random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	memcpy(out, "whsec_", 6);
	flock__base64_encode(out + 6, raw, sizeof(raw));
	return 0;
}

/* Run the write job once the URL in the body, if any, passed the check. */
static void checked_write(fd_engine *e, const fd_request *req, fd_response *res,
                          fd_job_fn fn)
{
	const char *url = json_string_value(json_object_get(req->body, "url"));
	char why[300];

	if (url && e->url_check &&
	    e->url_check(url, e->webhook_allow_private, why, sizeof(why)) < 0) {
		fd_fail(res, FD_OUT_INVALID, "invalid_url", "url: %s", why);
		return;
	}
	fd__run_write(e, req, res, fn);
}

#define CHECKED_OP(op, fn)                                                     \
	FD_OP(op)                                                              \
	{                                                                      \
		checked_write(e, req, res, fn);                                \
	}

static int is_http_url(const char *url)
{
	return strncmp(url, "http://", 7) == 0 ||
	       strncmp(url, "https://", 8) == 0;
}

/* ---- endpoints ------------------------------------------------------- */

static int webhooks_list(fd_ctx *x)
{
	/* ?environment= (or the token's own) lists what is limited to
	 * it; what serves every environment is listed without a filter. */
	if (fd__admin_app(x) < 0)
		return -1;
	return fd__list(x, fd_store_webhook_list,
	                (fd_filter){.environment = fd__list_env(x)});
}
FD_READ_OP(fd_op_admin_webhooks_list, webhooks_list)

static int webhooks_get(fd_ctx *x)
{
	json_t *out = NULL;

	if (endpoint(x, &out) < 0)
		return -1;
	return fd__ok(x, FD_OUT_OK, out);
}
FD_READ_OP(fd_op_admin_webhooks_get, webhooks_get)

/* events: absent or null = all; else an array (the router checks the
 * names). *text: NULL or the compact array. 0 or -1 (res set). */
static int events_text(fd_ctx *x, char **text)
{
	json_t *events = json_object_get(x->req->body, "events");

	*text = NULL;
	if (!events || json_is_null(events))
		return 0;
	if (!json_is_array(events))
		return fd__invalid(x, "events",
		                   "must be an array of event names");
	if (!(*text = json_dumps(events, JSON_COMPACT)))
		return fd__internal(x);
	return 0;
}

static int webhooks_create(fd_ctx *x)
{
	const char *url = fd__bstr(x, "url"), *env = fd__bstr(x, "environment");
	json_t *out = NULL;
	char id[FLOCK__ID_MAX], secret[64], *ev = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	if (!env)
		env = fd__scope_env(x);
	if (!url || !is_http_url(url))
		return fd__invalid(x, "url", "must be an http(s) URL");
	if (env && strcmp(env, "production") && strcmp(env, "test"))
		return fd__invalid(x, "environment",
		                   "must be one of: production, test");
	if (events_text(x, &ev) < 0)
		return -1;
	rc = flock__id_new(id, "whe_") == 0 && new_secret(secret) == 0
	             ? fd_store_webhook_insert(x->c, x->app, id, url, ev, env,
	                                       secret, x->now)
	             : FD_ERR;
	free(ev);
	if (rc != FD_OK ||
	    fd_store_webhook_get(x->c, x->app, id, &out) != FD_OK)
		return fd__internal(x);
	/* Shown once: lists and gets never include it. */
	json_object_set_new(out, "secret", json_string(secret));
	return fd__ok(x, FD_OUT_CREATED, out);
}
CHECKED_OP(fd_op_admin_webhooks_create, webhooks_create)

static int webhooks_update(fd_ctx *x)
{
	const char *url = fd__bstr(x, "url");
	json_t *enabled = json_object_get(x->req->body, "enabled");
	int has_events = json_object_get(x->req->body, "events") != NULL;
	char *ev = NULL;
	int rc;

	if (endpoint(x, NULL) < 0)
		return -1;
	if (url && !is_http_url(url))
		return fd__invalid(x, "url", "must be an http(s) URL");
	if (enabled && !json_is_boolean(enabled))
		return fd__invalid(x, "enabled", "must be a boolean");
	if (events_text(x, &ev) < 0)
		return -1;
	rc = fd_store_webhook_update(x->c, x->app, x->req->id, url, has_events,
	                             ev, enabled ? json_is_true(enabled) : -1,
	                             x->now);
	free(ev);
	if (rc == FD_OK && json_is_true(enabled))
		x->emitted = 1; /* deliveries held while disabled */
	return endpoint_answer(x, rc, NULL);
}
CHECKED_OP(fd_op_admin_webhooks_update, webhooks_update)

static int webhooks_rotate(fd_ctx *x)
{
	json_t *g = json_object_get(x->req->body, "graceSeconds"), *ep = NULL;
	json_int_t grace = GRACE_DEFAULT_S;
	int64_t until_ms = 0;
	char secret[64], until[FLOCK__ISO8601_LEN];
	int rc;

	if (endpoint(x, &ep) < 0)
		return -1;
	snprintf(until, sizeof(until), "%s",
	         fd__jstr(ep, "previousSecretExpiresAt")
	                 ? fd__jstr(ep, "previousSecretExpiresAt")
	                 : "");
	if (!*until || flock__parse_iso8601(&until_ms, until) < 0)
		until_ms = 0;
	json_decref(ep);
	if (g && !json_is_null(g)) {
		if (!json_is_integer(g) || json_integer_value(g) < 0 ||
		    json_integer_value(g) > 7 * 86400)
			return fd__invalid(
			        x, "graceSeconds",
			        "must be an integer from 0 to 604800");
		grace = json_integer_value(g);
	}
	/* Only one previous secret is kept: a second rotation with a grace
	 * would end the first one's grace at once, under receivers that
	 * still verify with the first secret. graceSeconds 0 (the old
	 * secret is compromised: switch now) is always taken. */
	if (grace > 0 && until_ms > x->now)
		return fd__fail(x, FD_OUT_CONFLICT, "rotation_in_grace",
		                "the previous rotation's grace lasts until %s; "
		                "rotate again after it, or with graceSeconds 0 "
		                "to switch at once",
		                until);
	if (new_secret(secret) < 0)
		return fd__internal(x);
	rc = fd_store_webhook_rotate(x->c, x->app, x->req->id, secret,
	                             x->now + (int64_t)grace * 1000, x->now);
	return endpoint_answer(x, rc, secret);
}
CHECKED_OP(fd_op_admin_webhooks_rotate, webhooks_rotate)

static int webhooks_delete(fd_ctx *x)
{
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id
	             ? fd_store_webhook_delete(x->c, x->app, x->req->id, x->now)
	             : FD_NOTFOUND;
	return endpoint_answer(x, rc, NULL);
}
CHECKED_OP(fd_op_admin_webhooks_delete, webhooks_delete)

/* ---- deliveries ------------------------------------------------------ */

/* A page of what the store lists for the endpoint {id}, filtered by the
 * query parameter `filter` (the store's list functions share a shape). */
typedef int (*endpoint_list_fn)(fd_conn *c, const char *app_id,
                                const char *endpoint_id, const char *filter,
                                long limit, long offset, json_t **out);

static int endpoint_list(fd_ctx *x, endpoint_list_fn list, const char *filter)
{
	json_t *out = NULL;
	long limit, offset;

	if (endpoint(x, NULL) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (list(x->c, x->app, x->req->id, fd__qstr(x, filter), limit, offset,
	         &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, out);
}

static int deliveries_list(fd_ctx *x)
{
	return endpoint_list(x, fd_store_delivery_list, "state");
}
FD_READ_OP(fd_op_admin_webhook_deliveries, deliveries_list)

static int attempts_list(fd_ctx *x)
{
	return endpoint_list(x, fd_store_attempt_list, "deliveryId");
}
FD_READ_OP(fd_op_admin_webhook_attempts, attempts_list)

static int replay(fd_ctx *x)
{
	const char *one = fd__bstr(x, "deliveryId");
	long n = 0;
	int rc;

	if (endpoint(x, NULL) < 0)
		return -1;
	rc = fd_store_delivery_replay(x->c, x->app, x->req->id, one, x->now,
	                              &n);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "delivery");
	if (rc == FD_CONFLICT)
		return fd__fail(x, FD_OUT_CONFLICT, "delivery_in_flight",
		                "the delivery is being attempted; replay it "
		                "once the attempt is over");
	if (rc != FD_OK)
		return fd__internal(x);
	if (n)
		x->emitted = 1;
	return fd__ok(x, FD_OUT_OK,
	              json_pack("{s:I}", "replayed", (json_int_t)n));
}
CHECKED_OP(fd_op_admin_webhook_replay, replay)
