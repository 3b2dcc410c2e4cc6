/*
 * flockctl: the admin API's operations (docs/admin-api.md), with the admin
 * token, on one application (--app, FLOCK_APP, the profile's app, or the
 * only one the token reaches).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "common/ids.h"

const ctl_col cols_customer[] = {{"ID", "id"},
                                 {"EXTERNAL ID", "externalUserId"},
                                 {"EMAIL", "email"},
                                 {"NAME", "name"},
                                 {"CODE", "referralCode"},
                                 {"REFERRED BY", "referredById"},
                                 {"CREATED", "createdAt"},
                                 COL_END};
const ctl_col cols_campaign[] = {{"ID", "id"},
                                 {"NAME", "name"},
                                 {"ENV", "environment"},
                                 {"LIVE", "isLive"},
                                 {"REWARDS", "#rewards"},
                                 {"HOLD DAYS", "rewardHoldDays"},
                                 {"CREATED", "createdAt"},
                                 COL_END};
const ctl_col cols_referral[] = {{"ID", "id"},
                                 {"CAMPAIGN", "campaignId"},
                                 {"REFERRER", "referrerId"},
                                 {"REFEREE", "refereeId"},
                                 {"STATUS", "status"},
                                 {"ENV", "environment"},
                                 {"CREATED", "createdAt"},
                                 COL_END};
const ctl_col cols_reward[] = {{"ID", "id"},
                               {"CUSTOMER", "customerId"},
                               {"PARTY", "party"},
                               {"TYPE", "type"},
                               {"AMOUNT", "payoutAmount"},
                               {"CURRENCY", "currency"},
                               {"STATUS", "status"},
                               {"AVAILABLE", "availableAt"},
                               COL_END};
const ctl_col cols_checkpoint[] = {{"ID", "id"},
                                   {"NAME", "checkpointName"},
                                   {"TRIGGER", "trigger"},
                                   {"CAMPAIGN", "campaignId"},
                                   COL_END};
static const ctl_col cols_app[] = {
        {"ID", "id"}, {"NAME", "name"}, {"CREATED", "createdAt"}, COL_END};
static const ctl_col cols_key[] = {{"ID", "id"},
                                   {"KIND", "kind"},
                                   {"ENV", "environment"},
                                   {"PREFIX", "prefix"},
                                   {"REVOKED", "revokedAt"},
                                   {"CREATED", "createdAt"},
                                   COL_END};
static const ctl_col cols_event[] = {{"ID", "id"},
                                     {"NAME", "name"},
                                     {"ENV", "environment"},
                                     {"TIMESTAMP", "timestamp"},
                                     COL_END};

/* ---- helpers ----------------------------------------------------------- */

int arg_long(const ctl *c, const ctl_args *a, const char *name, long min,
             long max, long *out)
{
	const char *s = arg_get(a, name);
	char *end;
	long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return ctl_usage(c,
		                 "--%s: expected a number from %ld to %ld, "
		                 "got '%s'",
		                 name, min, max, s);
	*out = v;
	return 0;
}

const char *app_path(ctl *c, int *rc, char *buf, size_t len, const char *fmt,
                     ...)
{
	const char *app = config_app(c, rc);
	char suffix[1024];
	va_list ap;

	if (!app)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(suffix, sizeof(suffix), fmt, ap);
	va_end(ap);
	snprintf(buf, len, "/admin/apps/%s%s", url_part(app), suffix);
	return buf;
}

int admin_app_object(ctl *c, const char *method, const char *suffix,
                     json_t *body)
{
	char path[1200];
	json_t *out = NULL;
	int rc;

	if (!app_path(c, &rc, path, sizeof(path), "%s", suffix))
		return rc;
	rc = admin_call(c, method, path, body, NULL, &out);
	if (rc == CTL_OK)
		rc = out_object(c, out);
	json_decref(out);
	return rc;
}

int admin_list(ctl *c, const ctl_args *a, const char *path, const ctl_col *cols)
{
	long limit = 20, offset = 0, total;
	const char *sep = strchr(path, '?') ? "&" : "?";
	json_t *page = NULL, *all = NULL;
	int rc, every = arg_has(a, "all");

	if ((rc = arg_long(c, a, "limit", 1, 100, &limit)) ||
	    (rc = arg_long(c, a, "offset", 0, 1000000000, &offset)))
		return rc;
	if (every)
		limit = 100;
	if (!(all = json_array()))
		return ctl_fail(CTL_EFAIL, "out of memory");
	do {
		rc = admin_callf(c, "GET", NULL, &page,
		                 "%s%slimit=%ld&offset=%ld", path, sep, limit,
		                 offset);
		if (rc != CTL_OK)
			break;
		json_array_extend(all, json_object_get(page, "data"));
		total = (long)json_integer_value(
		        json_object_get(page, "total"));
		offset += limit;
		if (json_array_size(json_object_get(page, "data")) == 0)
			every = 0;
		json_decref(page);
		page = NULL;
	} while (every && offset < total);
	if (rc == CTL_OK)
		rc = out_list(c, all, cols);
	json_decref(all);
	return rc;
}

/* The app's list at suffix with query filters from options (pairs of
 * option name, query name; NULL ends). */
static int app_list(ctl *c, const ctl_args *a, const char *suffix,
                    const char *const *filters, const ctl_col *cols)
{
	char path[1600], query[1024] = "";
	size_t used = 0;
	int rc;

	for (; filters && *filters; filters += 2) {
		const char *v = arg_get(a, filters[0]);

		if (v && used < sizeof(query))
			used += (size_t)snprintf(
			        query + used, sizeof(query) - used, "%s%s=%s",
			        used ? "&" : "?", filters[1], url_part(v));
	}
	if (!app_path(c, &rc, path, sizeof(path), "%s%s", suffix, query))
		return rc;
	return admin_list(c, a, path, cols);
}

json_t *body_from_file(const ctl_args *a, const char *opt)
{
	const char *path = arg_get(a, opt);
	json_error_t err;
	json_t *v;

	if (!path)
		return json_object();
	v = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &err)
	                           : json_load_file(path, 0, &err);
	if (!v) {
		ctl_fail(CTL_EUSAGE, "--%s %s: %s (line %d)", opt, path,
		         err.text, err.line);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		ctl_fail(CTL_EUSAGE, "--%s %s: not a JSON object", opt, path);
		return NULL;
	}
	return v;
}

char *props_from_args(const ctl *c, const ctl_args *a, const char *opt,
                      const char *json_opt, int *rc)
{
	const char *kv, *text = arg_get(a, json_opt), *eq;
	json_t *props = NULL;
	char *out, key[256];
	size_t i;

	*rc = 0;
	if (!text && !arg_has(a, opt))
		return NULL;
	if (text) {
		props = json_loads(text, 0, NULL);
		if (!json_is_object(props)) {
			json_decref(props);
			*rc = ctl_usage(c, "--%s must be a JSON object",
			                json_opt);
			return NULL;
		}
	} else {
		props = json_object();
	}
	for (i = 0; (kv = arg_nth(a, opt, i)); i++) {
		if (!(eq = strchr(kv, '=')) || eq == kv) {
			json_decref(props);
			*rc = ctl_usage(c, "--%s: expected KEY=VALUE, got '%s'",
			                opt, kv);
			return NULL;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		json_object_set_new(props, key, json_string(eq + 1));
	}
	out = json_dumps(props, JSON_COMPACT);
	json_decref(props);
	return out;
}

int need_secret_sink(const ctl *c, const ctl_args *a)
{
	if (arg_has(a, "show-secret") || arg_has(a, "secret-file") ||
	    c->show_secrets)
		return 0;
	return ctl_usage(c, "the new secret is shown once: pass --show-secret "
	                    "to print it, or --secret-file FILE to keep it");
}

int out_with_secret(ctl *c, const ctl_args *a, json_t *obj)
{
	const char *file = arg_get(a, "secret-file");
	const char *secret = json_string_value(json_object_get(obj, "secret"));
	int show = arg_has(a, "show-secret") || c->show_secrets;
	int fd, rc = CTL_OK;
	FILE *f;

	if (file && secret) {
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			if (fd >= 0)
				close(fd);
			rc = ctl_fail(CTL_EFAIL,
			              "cannot create %s (%s): the secret is "
			              "printed instead, once",
			              file, strerror(errno));
			show = 1;
		} else {
			fprintf(f, "%s\n", secret);
			if (fclose(f) != 0) {
				rc = ctl_fail(CTL_EFAIL,
				              "cannot write %s: the "
				              "secret is printed "
				              "instead, once",
				              file);
				show = 1;
			} else if (!c->quiet) {
				fprintf(stderr,
				        "flockctl: secret written to %s\n",
				        file);
			}
		}
	}
	if (show) {
		int saved = c->show_secrets;

		c->show_secrets = 1;
		out_object(c, obj);
		c->show_secrets = saved;
	} else {
		out_object(c, obj);
	}
	return rc;
}

/* A change on an object of the app: METHOD /admin/apps/APP/<what>/ID/<verb>. */
static int app_action(ctl *c, const char *what, const char *id,
                      const char *verb)
{
	char suffix[800];

	snprintf(suffix, sizeof(suffix), "/%s/%s%s%s", what, url_part(id),
	         verb ? "/" : "", verb ? verb : "");
	return admin_app_object(c, "POST", suffix, NULL);
}

/* ---- applications and keys ------------------------------------------- */

CMD(cmd_apps_list)
{
	return admin_list(c, a, "/admin/apps", cols_app);
}

CMD(cmd_apps_create)
{
	json_t *out = NULL, *body;
	int rc;

	if (!arg_get(a, "name") || !*arg_get(a, "name"))
		return ctl_usage(c, "--name is required");
	body = json_pack("{s:s}", "name", arg_get(a, "name"));
	rc = admin_call(c, "POST", "/admin/apps", body, NULL, &out);
	json_decref(body);
	if (rc == CTL_OK)
		rc = out_object(c, out);
	json_decref(out);
	return rc;
}

CMD(cmd_keys_list)
{
	return app_list(c, a, "/keys", NULL, cols_key);
}

CMD(cmd_keys_create)
{
	const char *kind = arg_get(a, "kind");
	char path[1200];
	json_t *body, *out = NULL;
	int rc;

	if (!kind)
		return ctl_usage(c, "--kind is required (service, public or "
		                    "admin)");
	if ((rc = need_secret_sink(c, a)))
		return rc;
	if (!app_path(c, &rc, path, sizeof(path), "/keys"))
		return rc;
	body = json_pack("{s:s}", "kind", kind);
	if (arg_get(a, "environment"))
		json_object_set_new(body, "environment",
		                    json_string(arg_get(a, "environment")));
	if (arg_get(a, "name"))
		json_object_set_new(body, "name",
		                    json_string(arg_get(a, "name")));
	rc = admin_call(c, "POST", path, body, NULL, &out);
	json_decref(body);
	if (rc == CTL_OK)
		rc = out_with_secret(c, a, out);
	json_decref(out);
	return rc;
}

CMD(cmd_keys_revoke)
{
	return app_action(c, "keys", a->pos[0], "revoke");
}

/* ---- campaigns -------------------------------------------------------- */

int admin_campaigns_list(ctl *c, const ctl_args *a)
{
	static const char *const f[] = {"environment", "environment", NULL};

	return app_list(c, a, "/campaigns", f, cols_campaign);
}

CMD(cmd_campaigns_get)
{
	char suffix[600];

	snprintf(suffix, sizeof(suffix), "/campaigns/%s", url_part(a->pos[0]));
	return admin_app_object(c, "GET", suffix, NULL);
}

static int set_hold_days(const ctl *c, const ctl_args *a, json_t *body)
{
	long days = -1;
	int rc = arg_long(c, a, "hold-days", 0, 3650, &days);

	if (rc == 0 && days >= 0)
		json_object_set_new(body, "rewardHoldDays", json_integer(days));
	return rc;
}

CMD(cmd_campaigns_create)
{
	json_t *body = body_from_file(a, "file");
	int rc;

	if (!body)
		return CTL_EUSAGE;
	if (arg_get(a, "name"))
		json_object_set_new(body, "name",
		                    json_string(arg_get(a, "name")));
	if (arg_get(a, "environment"))
		json_object_set_new(body, "environment",
		                    json_string(arg_get(a, "environment")));
	if ((rc = set_hold_days(c, a, body)) == 0) {
		if (!json_object_get(body, "name") ||
		    !json_object_get(body, "environment"))
			rc = ctl_usage(c, "--name and --environment are "
			                  "required (or name and environment "
			                  "in --file)");
		else
			rc = admin_app_object(c, "POST", "/campaigns", body);
	}
	json_decref(body);
	return rc;
}

CMD(cmd_campaigns_update)
{
	json_t *body = body_from_file(a, "file");
	char suffix[600];
	int rc;

	if (!body)
		return CTL_EUSAGE;
	if (arg_get(a, "name"))
		json_object_set_new(body, "name",
		                    json_string(arg_get(a, "name")));
	if (arg_has(a, "offline"))
		json_object_set_new(body, "isLive", json_false());
	if ((rc = set_hold_days(c, a, body)) == 0) {
		if (json_object_size(body) == 0)
			rc = ctl_usage(c, "nothing to change (--name, "
			                  "--hold-days, --offline, --file)");
		else {
			snprintf(suffix, sizeof(suffix), "/campaigns/%s",
			         url_part(a->pos[0]));
			rc = admin_app_object(c, "PATCH", suffix, body);
		}
	}
	json_decref(body);
	return rc;
}

static int set_number(const ctl *c, const ctl_args *a, json_t *body,
                      const char *opt, const char *field)
{
	const char *s = arg_get(a, opt);
	char *end;
	double v;

	if (!s)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || v < 0)
		return ctl_usage(c, "--%s: expected a number, got '%s'", opt,
		                 s);
	json_object_set_new(body, field, json_real(v));
	return 0;
}

CMD(cmd_campaigns_add_reward)
{
	static const char *const strs[] = {
	        "type",     "type",     "party", "party", "method", "method",
	        "currency", "currency", "name",  "name",  NULL};
	json_t *body = body_from_file(a, "file");
	char suffix[600];
	size_t i;
	int rc;

	if (!body)
		return CTL_EUSAGE;
	for (i = 0; strs[i]; i += 2)
		if (arg_get(a, strs[i]))
			json_object_set_new(body, strs[i + 1],
			                    json_string(arg_get(a, strs[i])));
	if ((rc = set_number(c, a, body, "amount", "payoutAmount")) ||
	    (rc = set_number(c, a, body, "discount-amount",
	                     "discountAmount")) ||
	    (rc = set_number(c, a, body, "discount-percentage",
	                     "discountPercentage"))) {
		json_decref(body);
		return rc;
	}
	if (!json_object_get(body, "type") || !json_object_get(body, "party"))
		rc = ctl_usage(c, "--type and --party are required");
	else {
		snprintf(suffix, sizeof(suffix), "/campaigns/%s/rewards",
		         url_part(a->pos[0]));
		rc = admin_app_object(c, "POST", suffix, body);
	}
	json_decref(body);
	return rc;
}

CMD(cmd_campaigns_add_checkpoint)
{
	const char *trigger = arg_get(a, "trigger");
	char suffix[600];
	json_t *body;
	int rc;

	if (!arg_get(a, "name"))
		return ctl_usage(c, "--name is required");
	body = json_pack("{s:s, s:s}", "checkpointName", arg_get(a, "name"),
	                 "trigger", trigger ? trigger : "reward");
	if (arg_get(a, "placement-id"))
		json_object_set_new(body, "placementId",
		                    json_string(arg_get(a, "placement-id")));
	snprintf(suffix, sizeof(suffix), "/campaigns/%s/checkpoints",
	         url_part(a->pos[0]));
	rc = admin_app_object(c, "POST", suffix, body);
	json_decref(body);
	return rc;
}

CMD(cmd_campaigns_go_live)
{
	return app_action(c, "campaigns", a->pos[0], "go-live");
}

/* ---- customers, referrals, rewards, events ----------------------------- */

CMD(cmd_customers_list)
{
	return app_list(c, a, "/customers", NULL, cols_customer);
}

CMD(cmd_customers_get)
{
	char suffix[600];

	snprintf(suffix, sizeof(suffix), "/customers/%s", url_part(a->pos[0]));
	return admin_app_object(c, "GET", suffix, NULL);
}

CMD(cmd_customers_delete)
{
	char suffix[600];

	snprintf(suffix, sizeof(suffix), "/customers/%s", url_part(a->pos[0]));
	return admin_app_object(c, "DELETE", suffix, NULL);
}

int admin_referrals_list(ctl *c, const ctl_args *a)
{
	static const char *const f[] = {
	        "status",      "status",      "campaign", "campaignId",
	        "environment", "environment", NULL};

	return app_list(c, a, "/referrals", f, cols_referral);
}

CMD(cmd_referrals_approve)
{
	return app_action(c, "referrals", a->pos[0], "approve");
}

CMD(cmd_referrals_reject)
{
	return app_action(c, "referrals", a->pos[0], "reject");
}

CMD(cmd_rewards_list)
{
	static const char *const f[] = {
	        "status",      "status",      "campaign",
	        "campaignId",  "customer",    "customerId",
	        "environment", "environment", NULL};

	return app_list(c, a, "/rewards", f, cols_reward);
}

CMD(cmd_rewards_approve)
{
	return app_action(c, "rewards", a->pos[0], "approve");
}

CMD(cmd_rewards_fulfil)
{
	return app_action(c, "rewards", a->pos[0], "fulfil");
}

CMD(cmd_rewards_revoke)
{
	return app_action(c, "rewards", a->pos[0], "revoke");
}

CMD(cmd_events_list)
{
	static const char *const f[] = {"environment", "environment", "name",
	                                "name", NULL};

	return app_list(c, a, "/events", f, cols_event);
}

/* GET /admin/apps/APP/analytics/REPORT (docs/admin-api.md, "Analytics"). */
CMD(cmd_analytics)
{
	static const char *const reports[] = {"funnel", "daily",
	                                      "top-referrers", NULL};
	static const char *const named[] = {"environment", "from", "to",
	                                    "limit", NULL};
	const char *report = a->npos ? a->pos[0] : "funnel", *kv, *eq, *v;
	char suffix[1600], *q = suffix;
	size_t i, used, n = 0;

	for (i = 0; reports[i] && strcmp(reports[i], report) != 0; i++)
		;
	if (!reports[i])
		return ctl_usage(c,
		                 "analytics: no report '%s' (funnel, daily, "
		                 "top-referrers)",
		                 report);
	used = (size_t)snprintf(suffix, sizeof(suffix), "/analytics/%s",
	                        report);
	for (i = 0; named[i] && used < sizeof(suffix); i++)
		if ((v = arg_get(a, named[i])))
			used += (size_t)snprintf(
			        q + used, sizeof(suffix) - used, "%s%s=%s",
			        n++ ? "&" : "?", named[i], url_part(v));
	for (i = 0; (kv = arg_nth(a, "param", i)) && used < sizeof(suffix);
	     i++) {
		if (!(eq = strchr(kv, '=')) || eq == kv)
			return ctl_usage(c,
			                 "--param: expected KEY=VALUE, got "
			                 "'%s'",
			                 kv);
		used += (size_t)snprintf(q + used, sizeof(suffix) - used,
		                         "%s%.*s=%s", n++ ? "&" : "?",
		                         (int)(eq - kv), kv, url_part(eq + 1));
	}
	return admin_app_object(c, "GET", suffix, NULL);
}

/* ---- any call --------------------------------------------------------- */

static char *read_all(FILE *f)
{
	char *buf = NULL, *grown;
	size_t len = 0, cap = 0, n;

	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (!(grown = realloc(buf, cap))) {
				free(buf);
				return NULL;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	return buf;
}

static char *api_body(const ctl_args *a, int *rc)
{
	const char *d = arg_get(a, "data");
	FILE *f;
	char *text;

	*rc = 0;
	if (!d)
		return NULL;
	if (d[0] != '@')
		return strdup(d);
	f = strcmp(d, "@-") == 0 ? stdin : fopen(d + 1, "r");
	if (!f) {
		*rc = ctl_fail(CTL_EFAIL, "--data %s: %s", d, strerror(errno));
		return NULL;
	}
	text = read_all(f);
	if (f != stdin)
		fclose(f);
	return text;
}

CMD(cmd_api)
{
	const char *method = a->pos[0], *path = a->pos[1];
	const char *key = arg_has(a, "wire") ? c->access_key : c->admin_token;
	char url[4096], auth[600], idem[80], token[33];
	const char *hdr[5];
	char *body;
	ctl_resp r;
	int rc, n = 0;

	if (path[0] != '/')
		return ctl_usage(c, "PATH must start with '/'");
	if (!key)
		return ctl_fail(CTL_EAUTH,
		                "no %s configured (flockctl(1), "
		                "CONFIGURATION)",
		                arg_has(a, "wire") ? "access key"
		                                   : "admin token");
	body = api_body(a, &rc);
	if (rc)
		return rc;
	if (!c->http && !(c->http = http_new(c))) {
		free(body);
		return ctl_fail(CTL_EFAIL, "out of memory");
	}
	snprintf(url, sizeof(url), "%s%s", c->base_url, path);
	snprintf(auth, sizeof(auth), "Authorization: %s", key);
	hdr[n++] = auth;
	hdr[n++] = "Content-Type: application/json";
	if (strcmp(method, "GET") != 0 && flock__token_hex(token) == 0) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: flockctl-%s",
		         token);
		hdr[n++] = idem;
	}
	hdr[n] = NULL;
	http_send(c->http, method, url, hdr, body, body ? strlen(body) : 0, &r);
	free(body);
	rc = ctl_status_code(r.status);
	if (r.json)
		out_value(c, r.json);
	else if (r.body && r.len)
		fwrite(r.body, 1, r.len, stdout);
	if (rc != CTL_OK)
		http_error(&r, method);
	resp_free(&r);
	return rc;
}
