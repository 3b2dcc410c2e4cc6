/*
 * The dashboard's server side (docs/dashboard.md): the web machinery
 * (http/web.c), sessions and the login throttle (http/session.c), the
 * dashboard's port over HTTP (http/dashboard.c: pages, login, CSRF, admin
 * calls through the route table), and the admin operations it added
 * (analytics, customer search, editing campaigns) on both databases.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "harness.h"
#include "http/session.h"
#include "http/web.h"
#include "support.h"

/* ---- the web machinery and sessions, in process ------------------------- */

static void test_web_assets(void **state)
{
	const fd_web_asset *a = fd_web_find("dashboard", "index.html");
	flock__buf b = FLOCK__BUF_INIT;

	(void)state;
	assert_non_null(a);
	assert_true(a->len > 100);
	assert_non_null(strstr((const char *)a->data, "app.js"));
	assert_int_equal(a->etag[0], '"');
	assert_non_null(fd_web_find("dashboard", "vendor/uPlot.iife.min.js"));
	assert_non_null(fd_web_find("dashboard", "vendor/uPlot.LICENSE"));
	assert_null(fd_web_find("dashboard", "../dashboard/index.html"));
	assert_null(fd_web_find("dashboard", "/index.html"));
	assert_null(fd_web_find("dashboard", ""));
	assert_null(fd_web_find("dash", "index.html"));
	assert_string_equal(fd_web_type("a/b.js"), "text/javascript; charset=utf-8");
	assert_string_equal(fd_web_type("x.css"), "text/css; charset=utf-8");
	assert_string_equal(fd_web_type("x.html"), "text/html; charset=utf-8");
	assert_string_equal(fd_web_type("x"), "application/octet-stream");
	assert_int_equal(fd_web_escape_html(&b, "<a href=\"x\">'&'</a>"), 0);
	assert_int_equal(flock__buf_put(&b, "", 1), 0);
	assert_string_equal(b.ptr, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	flock__buf_free(&b);
}

static void test_sessions(void **state)
{
	fd_sessions *s = NULL;
	char id[FD_SESSION_ID_LEN + 1], csrf[FD_SESSION_ID_LEN + 1];
	char tok[FD_SESSION_TOKEN_MAX], c2[FD_SESSION_ID_LEN + 1];
	int lasts = 0, retry = 0, i;

	(void)state;
	assert_int_equal(fd_sessions_new(&s, 3600, 600), 0);
	assert_int_equal(fd_session_create(s, "fat_abc", id, csrf, &lasts), 0);
	assert_int_equal(strlen(id), FD_SESSION_ID_LEN);
	assert_int_equal(lasts, 3600);
	assert_string_not_equal(id, csrf);
	assert_int_equal(fd_session_get(s, id, tok, sizeof(tok), c2, &lasts), 0);
	assert_string_equal(tok, "fat_abc");
	assert_string_equal(c2, csrf);
	assert_true(fd_session_same(csrf, c2));
	assert_false(fd_session_same(csrf, "x"));
	/* A token too long for the buffer, malformed or unknown ids. */
	assert_int_equal(fd_session_get(s, id, tok, 4, c2, &lasts), -1);
	assert_int_equal(fd_session_get(s, "nothex", tok, sizeof(tok), c2, &lasts), -1);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	assert_int_equal(fd_session_get(s, id, tok, sizeof(tok), c2, &lasts), -1);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	fd_session_delete(s, id);
	assert_int_equal(fd_session_get(s, id, tok, sizeof(tok), c2, &lasts), -1);
	/* A full table drops the session closest to its end. */
	for (i = 0; i < 300; i++)
		assert_int_equal(fd_session_create(s, "fat_x", id, csrf, &lasts), 0);
	assert_int_equal(fd_session_get(s, id, tok, sizeof(tok), c2, &lasts), 0);
	/* The throttle: per address, and in all. */
	for (i = 0; i < 3; i++)
		assert_int_equal(fd_login_allow(s, "10.0.0.1", 3, 5, &retry), 0);
	assert_int_equal(fd_login_allow(s, "10.0.0.1", 3, 5, &retry), -1);
	assert_true(retry >= 1 && retry <= 61);
	assert_int_equal(fd_login_allow(s, "10.0.0.2", 3, 5, &retry), 0);
	assert_int_equal(fd_login_allow(s, "10.0.0.3", 3, 5, &retry), 0);
	assert_int_equal(fd_login_allow(s, "10.0.0.4", 3, 5, &retry), -1);
	fd_sessions_free(s);
}

/* ---- the dashboard's port over HTTP ------------------------------------- */

static fd_harness H;
static char dash[64]; /* http://127.0.0.1:port */

typedef struct {
	long status;
	flock__buf body;
	char cookie[160];  /* flock_session=... from Set-Cookie */
	char setcookie[320];
	char csp[512], etag[80], cache[80], location[80], retry[16];
	json_t *json;
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	flock__buf_put(&((resp *)arg)->body, p, size * n);
	return size * n;
}

static void take(char *dst, size_t len, const char *line, const char *name)
{
	size_t n = strlen(name), l;

	if (strncasecmp(line, name, n) || line[n] != ':')
		return;
	line += n + 1;
	while (*line == ' ')
		line++;
	l = strcspn(line, "\r\n");
	snprintf(dst, len, "%.*s", (int)l, line);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	resp *r = arg;
	char line[1024];

	snprintf(line, sizeof(line), "%.*s", (int)(size * n), p);
	take(r->setcookie, sizeof(r->setcookie), line, "Set-Cookie");
	take(r->csp, sizeof(r->csp), line, "Content-Security-Policy");
	take(r->etag, sizeof(r->etag), line, "ETag");
	take(r->cache, sizeof(r->cache), line, "Cache-Control");
	take(r->location, sizeof(r->location), line, "Location");
	take(r->retry, sizeof(r->retry), line, "Retry-After");
	if (r->setcookie[0] && !r->cookie[0])
		snprintf(r->cookie, sizeof(r->cookie), "%.*s",
		         (int)strcspn(r->setcookie, ";"), r->setcookie);
	return size * n;
}

/* One request to the dashboard's port; headers NULL-terminated. */
static long req(resp *r, const char *method, const char *path,
                const char *body, const char *const *headers)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	char url[512];

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", dash, path);
	for (; headers && *headers; headers++)
		hs = curl_slist_append(hs, *headers);
	if (body)
		hs = curl_slist_append(hs, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	if (r->body.len)
		r->json = json_loadb(r->body.ptr, r->body.len, 0, NULL);
	return r->status;
}

static void resp_free(resp *r)
{
	json_decref(r->json);
	flock__buf_free(&r->body);
}

/* The dashboard's address, from flockd's log line. */
static int find_dashboard(void)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		FILE *f = fopen(H.log, "r");
		char line[2048];

		while (f && fgets(line, sizeof(line), f)) {
			char *p = strstr(line, "dashboard at http://");

			if (p) {
				snprintf(dash, sizeof(dash), "%.*s",
				         (int)(strstr(p, "/dashboard/") - p - 13),
				         p + 13);
				fclose(f);
				return 0;
			}
		}
		if (f)
			fclose(f);
		{
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return -1;
}

static int setup_dash(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--dashboard-listen";
	H.extra_args[1] = "127.0.0.1:0";
	H.extra_args[2] = "--test-clock";
	/* The address is logged at info. */
	H.extra_args[3] = "--log-level";
	H.extra_args[4] = "info";
	return h_start(&H) == 0 ? find_dashboard() : -1;
}

static int teardown_dash(void **state)
{
	(void)state;
	h_stop(&H);
	return 0;
}

static void test_pages(void **state)
{
	resp r, again;
	char inm[128];
	const char *h304[] = {inm, NULL};

	(void)state;
	assert_int_equal(req(&r, "GET", "/dashboard/", NULL, NULL), 200);
	assert_non_null(strstr(r.csp, "script-src 'self'"));
	assert_null(strstr(r.csp, "unsafe-inline"));
	assert_string_equal(r.cache, "no-cache");
	assert_non_null(strstr(r.body.ptr, "<script type=\"module\""));
	snprintf(inm, sizeof(inm), "If-None-Match: %s", r.etag);
	assert_int_equal(req(&again, "GET", "/dashboard/", NULL, h304), 304);
	resp_free(&again);
	resp_free(&r);
	assert_int_equal(req(&r, "GET", "/dashboard/nothing.js", NULL, NULL), 404);
	resp_free(&r);
	assert_int_equal(req(&r, "GET", "/dashboard/..%2fCMakeLists.txt", NULL, NULL), 404);
	resp_free(&r);
	assert_int_equal(req(&r, "GET", "/", NULL, NULL), 302);
	assert_string_equal(r.location, "/dashboard/");
	resp_free(&r);
	/* The API's routes are not on this port, nor the test clock. */
	assert_int_equal(req(&r, "GET", "/campaigns", NULL, NULL), 404);
	resp_free(&r);
}

/* Log in with token: 0 with cookie ("flock_session=...") and csrf. */
static long login(const char *token, char *cookie, size_t clen, char *csrf,
                  size_t len)
{
	resp r;
	char body[256];
	long st;

	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", token);
	st = req(&r, "POST", "/dashboard/api/login", body, NULL);
	if (st == 200) {
		snprintf(cookie, clen, "Cookie: %s", r.cookie);
		snprintf(csrf, len, "X-CSRF-Token: %s",
		         json_string_value(json_object_get(r.json, "csrfToken")));
		assert_non_null(strstr(r.setcookie, "HttpOnly"));
		assert_non_null(strstr(r.setcookie, "SameSite=Strict"));
		assert_non_null(strstr(r.setcookie, "Path=/dashboard/"));
		assert_null(strstr(r.body.ptr, token));
	}
	resp_free(&r);
	return st;
}

static void test_login_csrf_logout(void **state)
{
	char cookie[200], csrf[120], path[256];
	const char *with[] = {NULL, NULL, NULL};
	const char *wrong[] = {NULL, "X-CSRF-Token: 00", NULL};
	const char *cross[] = {NULL, NULL, "Origin: https://evil.example", NULL};
	resp r;

	(void)state;
	assert_int_equal(login(H.service_key, cookie, sizeof(cookie), csrf,
	                       sizeof(csrf)),
	                 401);
	assert_int_equal(login("fat_nothing", cookie, sizeof(cookie), csrf,
	                       sizeof(csrf)),
	                 401);
	assert_int_equal(login(H.admin_token, cookie, sizeof(cookie), csrf,
	                       sizeof(csrf)),
	                 200);
	with[0] = wrong[0] = cross[0] = cookie;
	with[1] = cross[1] = csrf;
	assert_int_equal(req(&r, "GET", "/dashboard/api/admin/apps", NULL, NULL), 401);
	resp_free(&r);
	assert_int_equal(req(&r, "GET", "/dashboard/api/admin/apps", NULL, with), 200);
	assert_string_equal(r.cache, "no-store");
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
	resp_free(&r);
	assert_int_equal(req(&r, "GET", "/dashboard/api/session", NULL, with), 200);
	resp_free(&r);
	snprintf(path, sizeof(path), "/dashboard/api/admin/apps/%s/webhook-endpoints", H.app_id);
	assert_int_equal(req(&r, "POST", path, "{\"url\":\"https://example.com/x\"}", wrong), 403);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")), "csrf_failed");
	resp_free(&r);
	assert_int_equal(req(&r, "POST", path, "{\"url\":\"https://example.com/x\"}", cross), 403);
	resp_free(&r);
	/* The route's own validators run as on the API's port. */
	assert_int_equal(req(&r, "POST", path, "{}", with), 400);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")), "missing_field");
	resp_free(&r);
	assert_int_equal(req(&r, "POST", "/dashboard/api/admin/test/clock", "{\"advanceMs\":0}", with), 404);
	resp_free(&r);
	assert_int_equal(req(&r, "POST", "/dashboard/api/logout", "{}", wrong), 403);
	resp_free(&r);
	assert_int_equal(req(&r, "POST", "/dashboard/api/logout", "{}", with), 200);
	assert_non_null(strstr(r.setcookie, "Max-Age=0"));
	resp_free(&r);
	assert_int_equal(req(&r, "GET", "/dashboard/api/admin/apps", NULL, with), 401);
	resp_free(&r);
}

static void test_revoked_token_ends_session(void **state)
{
	char cookie[200], csrf[120], token[160], path[256];
	const char *with[] = {NULL, NULL, NULL};
	h_resp hr;
	resp r;

	(void)state;
	assert_int_equal(h_create_key(&H, H.app_id, "admin", NULL, token, sizeof(token)), 0);
	assert_int_equal(login(token, cookie, sizeof(cookie), csrf, sizeof(csrf)), 200);
	with[0] = cookie;
	with[1] = csrf;
	assert_int_equal(req(&r, "GET", "/dashboard/api/admin/apps", NULL, with), 200);
	resp_free(&r);
	/* Revoke it through the API: the session's next call is refused. */
	assert_int_equal(h_call(&H, &hr, "GET", h_admin_path(&H, path, sizeof(path), "/keys?limit=100"), H.admin_token, NULL, NULL), 0);
	{
		json_t *k;
		size_t i;
		json_array_foreach(json_object_get(hr.json, "data"), i, k)
		{
			const char *p = json_string_value(json_object_get(k, "prefix"));
			if (p && !strncmp(token, p, 10) && !json_is_string(json_object_get(k, "revokedAt"))) {
				char rp[320];
				h_resp rv;
				snprintf(rp, sizeof(rp), "/admin/apps/%s/keys/%s/revoke", H.app_id, json_string_value(json_object_get(k, "id")));
				assert_int_equal(h_call(&H, &rv, "POST", rp, H.admin_token, NULL, NULL), 0);
				assert_int_equal(rv.status, 200);
				h_resp_free(&rv);
			}
		}
	}
	h_resp_free(&hr);
	assert_int_equal(req(&r, "GET", "/dashboard/api/admin/apps", NULL, with), 401);
	resp_free(&r);
}

/* ---- the admin operations the dashboard added ---------------------------- */

static json_t *admin_get(const char *suffix)
{
	char path[512];
	h_resp r;
	json_t *out;

	assert_int_equal(h_call(&H, &r, "GET", h_admin_path(&H, path, sizeof(path), suffix), H.admin_token, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	out = json_incref(r.json);
	h_resp_free(&r);
	return out;
}

static json_t *wire(const char *method, const char *path, const char *fmt, ...)
{
	va_list ap;
	json_t *v;
	char *text;
	h_resp r;
	json_t *out;

	va_start(ap, fmt);
	v = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	text = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	assert_int_equal(h_call(&H, &r, method, path, H.service_key, text, NULL), 0);
	free(text);
	assert_true(r.status == 200 || r.status == 201);
	out = json_incref(r.json);
	h_resp_free(&r);
	return out;
}

static void test_analytics_and_search(void **state)
{
	char campaign[64], q[256];
	json_t *alice, *bob, *f = NULL, *days, *top, *found;
	int i;

	(void)state;
	assert_int_equal(h_live_campaign(&H, "production", 0, 0, campaign, sizeof(campaign)), 0);
	alice = wire("POST", "/customers/identify", "{s:s, s:s, s:s}", "externalUserId", "Alice-1", "email", "Alice.Smith@Example.com", "name", "Alice");
	bob = wire("POST", "/customers/identify", "{s:s, s:s}", "externalUserId", "bob-1", "email", "bob@example.org");
	json_decref(wire("POST", "/referrals/validate-code", "{s:s}", "referralCode", json_string_value(json_object_get(alice, "referralCode"))));
	json_decref(wire("POST", "/referrals", "{s:s, s:s, s:s}", "campaignId", campaign, "referralCode", json_string_value(json_object_get(alice, "referralCode")), "refereeId", json_string_value(json_object_get(bob, "id"))));
	json_decref(wire("POST", "/checkpoints/ingest", "{s:s, s:s, s:s}", "checkpointName", "purchase_completed", "externalUserId", "bob-1", "environment", "production"));
	/* Visits are written by the writer's housekeeping, once a second. */
	for (i = 0; i < 100; i++) {
		json_decref(f);
		f = admin_get("/analytics/funnel");
		if (json_integer_value(json_object_get(f, "visits")) == 1)
			break;
		{
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	assert_int_equal(json_integer_value(json_object_get(f, "visits")), 1);
	assert_int_equal(json_integer_value(json_object_get(f, "referrals")), 1);
	assert_int_equal(json_integer_value(json_object_get(f, "accepted")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "rewards"), "granted")), 2);
	{
		json_t *a = json_array_get(json_object_get(json_object_get(f, "rewards"), "amounts"), 0);
		assert_string_equal(json_string_value(json_object_get(a, "currency")), "usd");
		assert_true(json_number_value(json_object_get(a, "amount")) > 0);
	}
	json_decref(f);
	f = admin_get("/analytics/funnel?environment=test");
	assert_int_equal(json_integer_value(json_object_get(f, "referrals")), 0);
	json_decref(f);
	days = admin_get("/analytics/daily?from=2020-01-01&to=2020-01-03");
	assert_int_equal(json_array_size(json_object_get(days, "days")), 3);
	json_decref(days);
	days = admin_get("/analytics/daily");
	assert_int_equal(json_array_size(json_object_get(days, "days")), 30);
	{
		json_t *last = json_array_get(json_object_get(days, "days"), 29);
		assert_int_equal(json_integer_value(json_object_get(last, "referrals")), 1);
		assert_int_equal(json_integer_value(json_object_get(last, "rewards")), 2);
	}
	json_decref(days);
	top = admin_get("/analytics/top-referrers");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(top, "data"), 0), "externalUserId")), "Alice-1");
	json_decref(top);
	/* Search: email case-insensitively, code in any case, external id
	 * by prefix, id exactly. */
	found = admin_get("/customers?q=ALICE.SM");
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 1);
	json_decref(found);
	snprintf(q, sizeof(q), "/customers?q=%.4s", json_string_value(json_object_get(alice, "referralCode")));
	for (i = 5; q[i]; i++)
		if (q[i] >= 'A' && q[i] <= 'Z')
			q[i] = (char)(q[i] - 'A' + 'a');
	found = admin_get(q);
	assert_true(json_integer_value(json_object_get(found, "total")) >= 1);
	json_decref(found);
	found = admin_get("/customers?q=bob-");
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 1);
	json_decref(found);
	snprintf(q, sizeof(q), "/customers?q=%s", json_string_value(json_object_get(bob, "id")));
	found = admin_get(q);
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 1);
	json_decref(found);
	found = admin_get("/customers?q=nobody");
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 0);
	json_decref(found);
	/* Referrals of a customer, rewards of a campaign. */
	snprintf(q, sizeof(q), "/referrals?customerId=%s", json_string_value(json_object_get(bob, "id")));
	found = admin_get(q);
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 1);
	json_decref(found);
	snprintf(q, sizeof(q), "/rewards?campaignId=%s", campaign);
	found = admin_get(q);
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 2);
	json_decref(found);
	found = admin_get("/rewards?campaignId=cmp_none");
	assert_int_equal(json_integer_value(json_object_get(found, "total")), 0);
	json_decref(found);
	json_decref(alice);
	json_decref(bob);
}

static void test_edit_campaign(void **state)
{
	char campaign[64], path[512], sub[320];
	json_t *k, *chks;
	const char *rid, *cid;
	h_resp r;

	(void)state;
	assert_int_equal(h_live_campaign(&H, "test", 0, 0, campaign, sizeof(campaign)), 0);
	snprintf(sub, sizeof(sub), "/campaigns/%s", campaign);
	k = admin_get(sub);
	rid = json_string_value(json_object_get(json_array_get(json_object_get(k, "rewards"), 0), "id"));
	snprintf(sub, sizeof(sub), "/campaign-rewards/%s", rid);
	assert_int_equal(h_callf(&H, &r, "PATCH", h_admin_path(&H, path, sizeof(path), sub), H.admin_token, "{s:f, s:i, s:s}", "payoutAmount", 25.0, "limit", 3, "limitInterval", "week"), 0);
	assert_int_equal(r.status, 200);
	assert_true(json_number_value(json_object_get(r.json, "payoutAmount")) == 25.0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "limit")), 3);
	h_resp_free(&r);
	assert_int_equal(h_callf(&H, &r, "PATCH", path, H.admin_token, "{s:s}", "party", "nobody"), 0);
	assert_int_equal(r.status, 400);
	h_resp_free(&r);
	assert_int_equal(h_call(&H, &r, "DELETE", path, H.admin_token, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	assert_int_equal(h_call(&H, &r, "DELETE", path, H.admin_token, NULL, NULL), 0);
	assert_int_equal(r.status, 404);
	h_resp_free(&r);
	json_decref(k);
	snprintf(sub, sizeof(sub), "/campaigns/%s", campaign);
	k = admin_get(sub);
	assert_int_equal(json_array_size(json_object_get(k, "rewards")), 1);
	json_decref(k);
	/* Checkpoints: list, rename, a taken name, delete. */
	snprintf(sub, sizeof(sub), "/campaigns/%s/checkpoints", campaign);
	chks = admin_get(sub);
	assert_int_equal(json_integer_value(json_object_get(chks, "total")), 1);
	cid = json_string_value(json_object_get(json_array_get(json_object_get(chks, "data"), 0), "id"));
	assert_int_equal(h_callf(&H, &r, "POST", h_admin_path(&H, path, sizeof(path), sub), H.admin_token, "{s:s, s:s}", "checkpointName", "signup", "trigger", "placement"), 0);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	snprintf(sub, sizeof(sub), "/checkpoints/%s", cid);
	assert_int_equal(h_callf(&H, &r, "PATCH", h_admin_path(&H, path, sizeof(path), sub), H.admin_token, "{s:s}", "checkpointName", "signup"), 0);
	assert_int_equal(r.status, 409);
	h_resp_free(&r);
	assert_int_equal(h_callf(&H, &r, "PATCH", path, H.admin_token, "{s:s}", "checkpointName", "order_paid"), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "checkpointName")), "order_paid");
	h_resp_free(&r);
	/* Copy to production: not live, the rewards and checkpoints along. */
	snprintf(sub, sizeof(sub), "/campaigns/%s/copy", campaign);
	assert_int_equal(h_callf(&H, &r, "POST", h_admin_path(&H, path, sizeof(path), sub), H.admin_token, "{s:s}", "environment", "production"), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "environment")), "production");
	assert_false(json_is_true(json_object_get(r.json, "isLive")));
	assert_string_equal(json_string_value(json_object_get(r.json, "copiedFromCampaignId")), campaign);
	assert_int_equal(json_array_size(json_object_get(r.json, "rewards")), 1);
	{
		char copy[80], s2[320];
		json_t *c2;
		snprintf(copy, sizeof(copy), "%s", json_string_value(json_object_get(r.json, "id")));
		snprintf(s2, sizeof(s2), "/campaigns/%s/checkpoints", copy);
		c2 = admin_get(s2);
		assert_int_equal(json_integer_value(json_object_get(c2, "total")), 2);
		json_decref(c2);
	}
	h_resp_free(&r);
	snprintf(sub, sizeof(sub), "/checkpoints/%s", cid);
	assert_int_equal(h_call(&H, &r, "DELETE", h_admin_path(&H, path, sizeof(path), sub), H.admin_token, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	json_decref(chks);
	snprintf(sub, sizeof(sub), "/campaigns/%s/checkpoints", campaign);
	chks = admin_get(sub);
	assert_int_equal(json_integer_value(json_object_get(chks, "total")), 1);
	json_decref(chks);
}

/* Last: it leaves 127.0.0.1 throttled for a minute. */
static void test_login_throttle(void **state)
{
	char cookie[200], csrf[120];
	long st = 0;
	int i;

	(void)state;
	for (i = 0; i < 20 && st != 429; i++)
		st = login("fat_guess", cookie, sizeof(cookie), csrf, sizeof(csrf));
	assert_int_equal(st, 429);
	assert_true(i <= 11);
	assert_int_equal(login(H.admin_token, cookie, sizeof(cookie), csrf, sizeof(csrf)), 429);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
	        cmocka_unit_test(test_web_assets),
	        cmocka_unit_test(test_sessions),
	};
	const struct CMUnitTest http[] = {
	        cmocka_unit_test(test_pages),
	        cmocka_unit_test(test_login_csrf_logout),
	        cmocka_unit_test(test_revoked_token_ends_session),
	        cmocka_unit_test(test_analytics_and_search),
	        cmocka_unit_test(test_edit_campaign),
	        cmocka_unit_test(test_login_throttle),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(unit, NULL, NULL);
	rc |= cmocka_run_group_tests(http, setup_dash, teardown_dash);
	curl_global_cleanup();
	return rc;
}
