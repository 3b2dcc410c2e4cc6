/*
 * flockctl: webhook endpoints, their deliveries and attempts (admin API),
 * and verifying a saved delivery (libflock, offline).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <flock.h>

#include "cmds.h"

static const ctl_col cols_endpoint[] = {{"ID", "id"},
                                        {"URL", "url"},
                                        {"EVENTS", "events"},
                                        {"ENV", "environment"},
                                        {"ENABLED", "enabled"},
                                        {"DISABLED", "disabledReason"},
                                        COL_END};
static const ctl_col cols_delivery[] = {{"ID", "id"},
                                        {"EVENT", "eventName"},
                                        {"EVENT ID", "eventId"},
                                        {"STATE", "state"},
                                        {"ATTEMPTS", "attempts"},
                                        {"LAST STATUS", "lastStatus"},
                                        {"NEXT", "nextAttemptAt"},
                                        COL_END};
static const ctl_col cols_attempt[] = {{"AT", "at"},
                                       {"DELIVERY", "deliveryId"},
                                       {"ATTEMPT", "attempt"},
                                       {"STATUS", "status"},
                                       {"MS", "latencyMs"},
                                       {"ERROR", "error"},
                                       COL_END};

/* The endpoint's path "/webhook-endpoints/ID" + more. */
static const char *ep(char *buf, size_t len, const char *id, const char *more)
{
	snprintf(buf, len, "/webhook-endpoints/%s%s", url_part(id), more);
	return buf;
}

static json_t *events_of(const ctl_args *a)
{
	json_t *events = json_array();
	const char *e;
	size_t i;

	for (i = 0; events && (e = arg_nth(a, "event", i)); i++)
		json_array_append_new(events, json_string(e));
	return events;
}

CMD(cmd_webhooks_list)
{
	char path[1200];
	int rc;

	if (!app_path(c, &rc, path, sizeof(path), "/webhook-endpoints"))
		return rc;
	return admin_list(c, a, path, cols_endpoint);
}

static int create_like(ctl *c, const ctl_args *a, const char *method,
                       const char *suffix, json_t *body)
{
	char path[1200];
	json_t *out = NULL;
	int rc;

	if (!app_path(c, &rc, path, sizeof(path), "%s", suffix))
		return rc;
	rc = admin_call(c, method, path, body, NULL, &out);
	if (rc == CTL_OK)
		rc = out_with_secret(c, a, out);
	json_decref(out);
	return rc;
}

CMD(cmd_webhooks_create)
{
	json_t *body;
	int rc;

	if (!arg_get(a, "url"))
		return ctl_usage(c, "--url is required");
	if ((rc = need_secret_sink(c, a)))
		return rc;
	body = json_pack("{s:s}", "url", arg_get(a, "url"));
	if (arg_has(a, "event"))
		json_object_set_new(body, "events", events_of(a));
	if (arg_get(a, "environment"))
		json_object_set_new(body, "environment",
		                    json_string(arg_get(a, "environment")));
	if (arg_get(a, "description"))
		json_object_set_new(body, "description",
		                    json_string(arg_get(a, "description")));
	rc = create_like(c, a, "POST", "/webhook-endpoints", body);
	json_decref(body);
	return rc;
}

CMD(cmd_webhooks_get)
{
	char s[600];

	return admin_app_object(c, "GET", ep(s, sizeof(s), a->pos[0], ""),
	                        NULL);
}

CMD(cmd_webhooks_delete)
{
	char s[600];

	return admin_app_object(c, "DELETE", ep(s, sizeof(s), a->pos[0], ""),
	                        NULL);
}

CMD(cmd_webhooks_update)
{
	char s[600];
	json_t *body = json_object();
	int rc;

	if (arg_has(a, "enable") && arg_has(a, "disable"))
		rc = ctl_usage(c, "--enable or --disable, not both");
	else {
		if (arg_get(a, "url"))
			json_object_set_new(body, "url",
			                    json_string(arg_get(a, "url")));
		if (arg_has(a, "event"))
			json_object_set_new(body, "events", events_of(a));
		if (arg_has(a, "enable") || arg_has(a, "disable"))
			json_object_set_new(body, "enabled",
			                    json_boolean(arg_has(a, "enable")));
		rc = json_object_size(body) == 0
		             ? ctl_usage(c,
		                         "nothing to change (--url, --event, "
		                         "--enable, --disable)")
		             : admin_app_object(c, "PATCH",
		                                ep(s, sizeof(s), a->pos[0], ""),
		                                body);
	}
	json_decref(body);
	return rc;
}

CMD(cmd_webhooks_rotate)
{
	long grace = -1;
	char s[600];
	json_t *body;
	int rc;

	if ((rc = arg_long(c, a, "grace", 0, 604800, &grace)) ||
	    (rc = need_secret_sink(c, a)))
		return rc;
	body = grace >= 0
	               ? json_pack("{s:I}", "graceSeconds", (json_int_t)grace)
	               : json_object();
	rc = create_like(c, a, "POST",
	                 ep(s, sizeof(s), a->pos[0], "/rotate-secret"), body);
	json_decref(body);
	return rc;
}

static int endpoint_list(ctl *c, const ctl_args *a, const char *more,
                         const char *opt, const char *field,
                         const ctl_col *cols)
{
	char s[600], path[1800], q[600] = "";
	int rc;

	if (arg_get(a, opt))
		snprintf(q, sizeof(q), "?%s=%s", field,
		         url_part(arg_get(a, opt)));
	if (!app_path(c, &rc, path, sizeof(path), "%s%s",
	              ep(s, sizeof(s), a->pos[0], more), q))
		return rc;
	return admin_list(c, a, path, cols);
}

CMD(cmd_webhooks_deliveries)
{
	return endpoint_list(c, a, "/deliveries", "state", "state",
	                     cols_delivery);
}

CMD(cmd_webhooks_attempts)
{
	return endpoint_list(c, a, "/attempts", "delivery", "deliveryId",
	                     cols_attempt);
}

CMD(cmd_webhooks_replay)
{
	char s[600], path[1200];
	json_t *body, *out = NULL;
	int rc;

	if (!app_path(c, &rc, path, sizeof(path), "%s",
	              ep(s, sizeof(s), a->pos[0], "/replay")))
		return rc;
	body = arg_get(a, "delivery") ? json_pack("{s:s}", "deliveryId",
	                                          arg_get(a, "delivery"))
	                              : json_object();
	rc = admin_call(c, "POST", path, body, NULL, &out);
	json_decref(body);
	if (rc == CTL_OK)
		rc = out_value(c, out);
	json_decref(out);
	return rc;
}

/* ---- verify ----------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *grown;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (*len + 4096 >= cap) {
			cap = cap ? cap * 2 : 8192;
			if (!(grown = realloc(buf, cap))) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

typedef struct {
	char flock[256], id[256], ts[64], sig[2048];
} saved_headers;

/* "Name: value" lines (curl -D, or a proxy's log): the four we read. */
static int read_headers(const char *path, saved_headers *h)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	static const struct {
		const char *name;
		size_t off, len;
	} want[] = {{"x-flock-signature", offsetof(saved_headers, flock), 256},
	            {"webhook-id", offsetof(saved_headers, id), 256},
	            {"webhook-timestamp", offsetof(saved_headers, ts), 64},
	            {"webhook-signature", offsetof(saved_headers, sig), 2048}};
	size_t i;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *v;
		size_t n;

		if (!colon)
			continue;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		n = strcspn(v, "\r\n");
		v[n] = '\0';
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strcasecmp(line, want[i].name) == 0)
				snprintf((char *)h + want[i].off, want[i].len,
				         "%s", v);
	}
	fclose(f);
	return 0;
}

static const char *given(const ctl_args *a, const char *opt, const char *saved)
{
	const char *v = arg_get(a, opt);

	return v ? v : saved[0] ? saved : NULL;
}

CMD(cmd_webhooks_verify)
{
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	saved_headers h;
	flock_event *ev = NULL;
	char *secret = NULL, *body = NULL;
	long max_age = 300;
	size_t len;
	json_t *out;
	int rc;

	memset(&h, 0, sizeof(h));
	if (!arg_get(a, "secret-file") || !arg_get(a, "payload"))
		return ctl_usage(c, "--secret-file and --payload are required");
	if ((rc = arg_long(c, a, "max-age", 0, 100L * 365 * 86400, &max_age)))
		return rc;
	if (arg_get(a, "headers") &&
	    read_headers(arg_get(a, "headers"), &h) < 0)
		return ctl_fail(CTL_EFAIL, "cannot read %s: %s",
		                arg_get(a, "headers"), strerror(errno));
	if (!(secret = config_read_secret(arg_get(a, "secret-file"), "secret")))
		return CTL_EFAIL;
	if (!(body = slurp(arg_get(a, "payload"), &len))) {
		free(secret);
		return ctl_fail(CTL_EFAIL, "cannot read %s: %s",
		                arg_get(a, "payload"), strerror(errno));
	}
	p.secret = secret;
	p.payload = body;
	p.payload_len = len;
	p.max_age_ms = (long long)max_age * 1000;
	p.signature = given(a, "signature", h.flock);
	p.webhook_id = given(a, "webhook-id", h.id);
	p.webhook_timestamp = given(a, "webhook-timestamp", h.ts);
	p.webhook_signature = given(a, "webhook-signature", h.sig);
	rc = flock_webhooks_construct_event(&ev, &p);
	if (rc != 0) {
		rc = ctl_fail(CTL_EINVALID, "does not verify: %s",
		              flock_error_last() ? flock_error_last()->message
		                                 : flock_strerror(rc));
	} else {
		out = json_pack("{s:b, s:s, s:s, s:s?, s:I}", "valid", 1, "id",
		                flock_event_id(ev), "name",
		                flock_event_name(ev), "environment",
		                flock_event_environment(ev), "timestamp",
		                (json_int_t)flock_event_timestamp_ms(ev));
		if (c->quiet)
			printf("%s\n", flock_event_id(ev));
		else
			rc = out_value(c, out);
		json_decref(out);
	}
	flock_event_free(ev);
	free(body);
	free(secret);
	return rc;
}
