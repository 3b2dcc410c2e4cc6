/*
 * flockd engine: the admin API of webhook endpoints and their deliveries
 * (docs/admin-api.md, "Webhook endpoints"). The worker that sends them is
 * delivery.c.
 *
 * URLs are checked (urlcheck.h) on the server thread, before the write
 * job: resolving a name must never hold up the writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "engine/internal.h"
#include "delivery/urlcheck.h"

#define GRACE_DEFAULT_S 86400

static int bad(fd_ctx *x, const char *field, const char *why)
{
	fd_error(x->res, 400, "invalid_field", "%s %s", field, why);
	return -1;
}

/* The app, then the endpoint {id} (not deleted) into *out if not NULL. */
static int endpoint(fd_ctx *x, json_t **out)
{
	json_t *ep = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id ? fd_store_webhook_get(x->c, x->app, x->req->id, &ep)
	                : FD_NOTFOUND;
	if (rc == FD_ERR)
		return fd__internal(x);
	if (rc == FD_NOTFOUND ||
	    !json_is_null(json_object_get(ep, "deletedAt"))) {
		json_decref(ep);
		return fd__not_found(x, "webhook_endpoint");
	}
	if (out)
		*out = ep;
	else
		json_decref(ep);
	return 0;
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

/* Run the write job after the URL in the body (if any) passed. */
static void checked_write(fd_engine *e, const fd_request *req, fd_response *res,
                          fd_job_fn fn)
{
	const char *url = json_string_value(json_object_get(req->body, "url"));
	char why[300];

	if (url &&
	    fd_url_check(url, e->webhook_allow_private, why, sizeof(why)) < 0) {
		fd_error(res, 400, "invalid_url", "url: %s", why);
		return;
	}
	fd__run_write(e, req, res, fn);
}

#define READ_OP(op, fn)                                                        \
	void op(fd_engine *e, const fd_request *req, fd_response *res)         \
	{                                                                      \
		fd__run_read(e, req, res, fn);                                 \
	}
#define WRITE_OP(op, fn)                                                       \
	void op(fd_engine *e, const fd_request *req, fd_response *res)         \
	{                                                                      \
		checked_write(e, req, res, fn);                                \
	}

/* ---- endpoints ------------------------------------------------------- */

static int webhooks_list(fd_ctx *x)
{
	json_t *out = NULL;
	long limit, offset;

	if (fd__admin_app(x) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (fd_store_webhook_list(x->c, x->app, limit, offset, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_webhooks_list, webhooks_list)

static int webhooks_get(fd_ctx *x)
{
	json_t *out = NULL;

	if (endpoint(x, &out) < 0)
		return -1;
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_webhooks_get, webhooks_get)

/* events: absent or null = all; else an array (the router checks the
 * names). *text: NULL or the compact array. 0 or -1 (res set). */
static int events_text(fd_ctx *x, char **text)
{
	json_t *events = json_object_get(x->req->body, "events");

	*text = NULL;
	if (!events || json_is_null(events))
		return 0;
	if (!json_is_array(events))
		return bad(x, "events", "must be an array of event names");
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
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return bad(x, "url", "must be an http(s) URL");
	if (env && strcmp(env, "production") && strcmp(env, "test"))
		return bad(x, "environment",
		           "must be one of: production, test");
	if (events_text(x, &ev) < 0)
		return -1;
	rc = fd__new_id(id, "whe_") == 0 && new_secret(secret) == 0
	             ? fd_store_webhook_insert(x->c, x->app, id, url, ev, env,
	                                       secret, x->now)
	             : FD_ERR;
	free(ev);
	if (rc != FD_OK ||
	    fd_store_webhook_get(x->c, x->app, id, &out) != FD_OK)
		return fd__internal(x);
	/* Shown once: lists and gets never include it. */
	json_object_set_new(out, "secret", json_string(secret));
	return fd__ok(x, 201, out);
}
WRITE_OP(fd_op_admin_webhooks_create, webhooks_create)

static int webhooks_update(fd_ctx *x)
{
	const char *url = fd__bstr(x, "url");
	json_t *enabled = json_object_get(x->req->body, "enabled"), *out = NULL;
	int has_events = json_object_get(x->req->body, "events") != NULL;
	char *ev = NULL;
	int rc;

	if (endpoint(x, NULL) < 0)
		return -1;
	if (url && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return bad(x, "url", "must be an http(s) URL");
	if (enabled && !json_is_boolean(enabled))
		return bad(x, "enabled", "must be a boolean");
	if (events_text(x, &ev) < 0)
		return -1;
	rc = fd_store_webhook_update(x->c, x->app, x->req->id, url, has_events,
	                             ev, enabled ? json_is_true(enabled) : -1,
	                             x->now);
	free(ev);
	if (rc == FD_OK)
		rc = fd_store_webhook_get(x->c, x->app, x->req->id, &out);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "webhook_endpoint");
	if (rc != FD_OK)
		return fd__internal(x);
	if (json_is_true(enabled))
		x->emitted = 1; /* deliveries held while disabled */
	return fd__ok(x, 200, out);
}
WRITE_OP(fd_op_admin_webhooks_update, webhooks_update)

static int webhooks_rotate(fd_ctx *x)
{
	json_t *g = json_object_get(x->req->body, "graceSeconds"), *out = NULL;
	json_int_t grace = GRACE_DEFAULT_S;
	char secret[64];
	int rc;

	if (endpoint(x, NULL) < 0)
		return -1;
	if (g && !json_is_null(g)) {
		if (!json_is_integer(g) || json_integer_value(g) < 0 ||
		    json_integer_value(g) > 7 * 86400)
			return bad(x, "graceSeconds",
			           "must be an integer from 0 to 604800");
		grace = json_integer_value(g);
	}
	if (new_secret(secret) < 0)
		return fd__internal(x);
	rc = fd_store_webhook_rotate(x->c, x->app, x->req->id, secret,
	                             x->now + (int64_t)grace * 1000, x->now);
	if (rc == FD_OK)
		rc = fd_store_webhook_get(x->c, x->app, x->req->id, &out);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "webhook_endpoint");
	if (rc != FD_OK)
		return fd__internal(x);
	json_object_set_new(out, "secret", json_string(secret));
	return fd__ok(x, 200, out);
}
WRITE_OP(fd_op_admin_webhooks_rotate, webhooks_rotate)

static int webhooks_delete(fd_ctx *x)
{
	json_t *out = NULL;
	int rc;

	if (fd__admin_app(x) < 0)
		return -1;
	rc = x->req->id
	             ? fd_store_webhook_delete(x->c, x->app, x->req->id, x->now)
	             : FD_NOTFOUND;
	if (rc == FD_OK)
		rc = fd_store_webhook_get(x->c, x->app, x->req->id, &out);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "webhook_endpoint");
	if (rc != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
WRITE_OP(fd_op_admin_webhooks_delete, webhooks_delete)

/* ---- deliveries ------------------------------------------------------ */

static int deliveries_list(fd_ctx *x)
{
	json_t *out = NULL;
	long limit, offset;

	if (endpoint(x, NULL) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (fd_store_delivery_list(x->c, x->app, x->req->id,
	                           fd__qstr(x, "state"), limit, offset,
	                           &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_webhook_deliveries, deliveries_list)

static int attempts_list(fd_ctx *x)
{
	json_t *out = NULL;
	long limit, offset;

	if (endpoint(x, NULL) < 0)
		return -1;
	fd__page(x, &limit, &offset);
	if (fd_store_attempt_list(x->c, x->app, x->req->id,
	                          fd__qstr(x, "deliveryId"), limit, offset,
	                          &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, 200, out);
}
READ_OP(fd_op_admin_webhook_attempts, attempts_list)

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
		return fd__fail(x, 409, "delivery_in_flight",
		                "the delivery is being attempted; replay it "
		                "once the attempt is over");
	if (rc != FD_OK)
		return fd__internal(x);
	if (n)
		x->emitted = 1;
	return fd__ok(x, 200, json_pack("{s:I}", "replayed", (json_int_t)n));
}
WRITE_OP(fd_op_admin_webhook_replay, replay)
