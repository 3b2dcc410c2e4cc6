/*
 * Campaign pages and Flock's hosted pages (docs/mobile-sdks.md) over
 * HTTP: campaignPages checked on create and edit (a 400 naming the
 * field), normalised and given ids; GET /page-context and POST
 * /referrals/visit with the keys that may call them; the pages and their
 * files served on the API's port, and the API's own routes unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "support.h"

static fd_harness H;
static char cmp[64], code[32], cus_id[64], invitee_id[64];

static const char *s(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void campaigns_path(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "/admin/apps/%s/campaigns%s", H.app_id, suffix);
}

/* POST a campaign whose campaignPages is the JSON text pages. */
static void create(h_resp *r, const char *pages, const char *more)
{
	char path[256], *body = malloc(strlen(pages) + 512);

	assert_non_null(body);
	snprintf(body, strlen(pages) + 512,
	         "{\"name\":\"P\",\"environment\":\"production\"%s%s,"
	         "\"campaignPages\":%s}",
	         more ? "," : "", more ? more : "", pages);
	campaigns_path(path, sizeof(path), "");
	assert_int_equal(h_call(&H, r, "POST", path, H.admin_token, body, NULL),
	                 0);
	free(body);
}

static int setup(void **state)
{
	h_resp r;
	char path[256], go[400];

	memset(&H, 0, sizeof(H));
	if (h_start(&H) < 0)
		return -1;
	create(&r,
	       "[{\"path\":\"referrer\",\"placementId\":\"share\","
	       "\"screenProps\":{\"primaryColor\":\"#B45309\"}},"
	       "{\"path\":\"invitee\",\"placementId\":\"enter\","
	       "\"screenProps\":{\"backgroundColor\":\"#0F172A\"}}]",
	       "\"refereeLandingPageUrl\":\"https://example.com/join?utm=x"
	       "#top\",\"inviteMessage\":\"Join me\",\"rewards\":[{\"type\":"
	       "\"payout\",\"party\":\"referrer\",\"method\":\"paypal\","
	       "\"payoutAmount\":10,\"currency\":\"usd\"}]");
	if (r.status != 201)
		return -1;
	snprintf(cmp, sizeof(cmp), "%s", s(r.json, "id"));
	h_resp_free(&r);
	campaigns_path(path, sizeof(path), "");
	snprintf(go, sizeof(go), "%s/%s/go-live", path, cmp);
	h_call(&H, &r, "POST", go, H.admin_token, NULL, NULL);
	if (r.status != 200)
		return -1;
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/customers/identify", H.public_key,
	        "{s:s, s:s, s:s}", "externalUserId", "jane", "email",
	        "jane@example.com", "name", "Jane");
	snprintf(code, sizeof(code), "%s", s(r.json, "referralCode"));
	snprintf(cus_id, sizeof(cus_id), "%s", s(r.json, "id"));
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/customers/identify", H.public_key,
	        "{s:s, s:s}", "externalUserId", "sam", "email",
	        "sam@example.org");
	snprintf(invitee_id, sizeof(invitee_id), "%s", s(r.json, "id"));
	h_resp_free(&r);
	return 0;
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

/* ---- campaignPages checked ------------------------------------------- */

static void test_bad_pages_are_refused_naming_the_field(void **state)
{
	static const struct {
		const char *pages, *message;
	} bad[] = {
	        {"[42]", "campaignPages[0] must be an object"},
	        {"[{\"path\":\"referrer\"},\"x\"]",
	         "campaignPages[1] must be an object"},
	        {"[{}]", "campaignPages[0].path is required"},
	        {"[{\"path\":7}]", "campaignPages[0].path must be one of: "
	                           "referrer, invitee, success"},
	        {"[{\"path\":\"home\"}]",
	         "campaignPages[0].path must be one of"},
	        {"[{\"path\":\"referrer\",\"isEmpty\":\"yes\"}]",
	         "campaignPages[0].isEmpty must be a boolean"},
	        {"[{\"path\":\"referrer\",\"screenProps\":\"red\"}]",
	         "campaignPages[0].screenProps must be an object or null"},
	        {"[{\"path\":\"referrer\",\"screenProps\":{\"primaryColor\":"
	         "\"blue\"}}]",
	         "campaignPages[0].screenProps.primaryColor must be a colour "
	         "#RRGGBB, or null"},
	        /* Eight digits: iOS reads RRGGBBAA, Android AARRGGBB. */
	        {"[{\"path\":\"referrer\",\"screenProps\":{\"backgroundColor\":"
	         "\"#11223344\"}}]",
	         "campaignPages[0].screenProps.backgroundColor must be a "
	         "colour"},
	        {"[{\"path\":\"referrer\",\"screenProps\":{\"textColor\":7}}]",
	         "campaignPages[0].screenProps.textColor must be a colour"},
	        {"[{\"path\":\"referrer\",\"screenProps\":{\"fontFamily\":"
	         "\"x;}body{color:red\"}}]",
	         "campaignPages[0].screenProps.fontFamily must be a "
	         "font-family list"},
	        {"[{\"path\":\"referrer\",\"screenProps\":{\"accent\":"
	         "\"#000000\"}}]",
	         "campaignPages[0].screenProps.accent is not a screen prop"},
	        {"[{\"path\":\"referrer\",\"placementId\":\"a/b\"}]",
	         "campaignPages[0].placementId must be 1 to 64 letters"},
	        {"[{\"path\":\"referrer\",\"placementId\":7}]",
	         "campaignPages[0].placementId must be 1 to 64 letters"},
	        {"[{\"path\":\"referrer\",\"id\":\"\"}]",
	         "campaignPages[0].id must be 1 to 64 letters"},
	        {"[{\"path\":\"referrer\",\"colour\":\"#000000\"}]",
	         "campaignPages[0].colour is not a field of a campaign page"},
	        {"[{\"path\":\"referrer\",\"title\":[]}]",
	         "campaignPages[0].title must be a string"},
	        {"[{\"path\":\"referrer\",\"placementId\":\"a\"},"
	         "{\"path\":\"invitee\",\"placementId\":\"a\"}]",
	         "campaignPages[1].placementId is the placement id or id of "
	         "another page"},
	        {"[{\"path\":\"referrer\",\"id\":\"a\"},"
	         "{\"path\":\"invitee\",\"placementId\":\"a\"}]",
	         "campaignPages[1].placementId is the placement id or id of "
	         "another page"},
	        {"[{\"path\":\"referrer\",\"id\":\"x\"},"
	         "{\"path\":\"invitee\",\"id\":\"x\"}]",
	         "campaignPages[1].id is the id of another page"},
	        {"{\"path\":\"referrer\"}", "campaignPages must be an array"},
	};
	char path[320];
	h_resp r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		create(&r, bad[i].pages, NULL);
		if (r.status != 400 ||
		    !strstr(s(r.json, "message"), bad[i].message))
			fprintf(stderr, "%s -> %d %s\n", bad[i].pages, r.status,
			        r.text);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(s(r.json, "message"), bad[i].message));
		assert_string_equal(s(r.json, "code"), "invalid_field");
		h_resp_free(&r);
		/* The same on an edit, which leaves the campaign as it was. */
		campaigns_path(path, sizeof(path), "/");
		strncat(path, cmp, sizeof(path) - strlen(path) - 1);
		{
			char body[1024];
			snprintf(body, sizeof(body), "{\"campaignPages\":%s}",
			         bad[i].pages);
			h_call(&H, &r, "PATCH", path, H.admin_token, body,
			       NULL);
		}
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(s(r.json, "message"), bad[i].message));
		h_resp_free(&r);
	}
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_int_equal(
	        json_array_size(json_object_get(r.json, "campaignPages")), 2);
	h_resp_free(&r);
}

static void test_limits(void **state)
{
	static const char one[] = ",{\"path\":\"referrer\"}";
	static const char head[] = "[{\"path\":\"referrer\",\"title\":\"";
	char *big = malloc(65 * sizeof(one) + 8), title[2100 + 64];
	size_t used = 0;
	h_resp r;
	int i;

	assert_non_null(big);
	for (i = 0; i < 65; i++) {
		memcpy(big + used, one, sizeof(one) - 1);
		used += sizeof(one) - 1;
	}
	big[0] = '[';
	memcpy(big + used, "]", 2);
	create(&r, big, NULL);
	assert_int_equal(r.status, 400);
	assert_string_equal(s(r.json, "message"),
	                    "campaignPages must have at most 64 pages");
	h_resp_free(&r);
	free(big);
	memset(title, 'a', sizeof(title));
	memcpy(title, head, sizeof(head) - 1);
	memcpy(title + sizeof(head) - 1 + 2001, "\"}]", 4);
	create(&r, title, NULL);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(s(r.json, "message"),
	                       "campaignPages[0].title must be a string of at "
	                       "most 2000 bytes"));
	h_resp_free(&r);
}

static void test_pages_normalised_with_ids(void **state)
{
	const json_t *p0, *p1, *sp;
	char path[320], body[1024], id0[64], id1[64];
	h_resp r;

	create(&r,
	       "[{\"path\":\"referrer\",\"screenProps\":{\"primaryColor\":"
	       "\"#1d4ed8\",\"fontFamily\":\"Georgia, 'Times New Roman', "
	       "serif\"},\"title\":\"Give\",\"body\":null},"
	       "{\"path\":\"invitee\",\"id\":\"my-page_1\",\"placementId\":"
	       "\"enter\",\"isEmpty\":true,\"screenProps\":null}]",
	       NULL);
	assert_int_equal(r.status, 201);
	p0 = json_array_get(json_object_get(r.json, "campaignPages"), 0);
	p1 = json_array_get(json_object_get(r.json, "campaignPages"), 1);
	/* A new id, and the id as placementId (Android opens
	 * /placements/{placementId}). */
	assert_int_equal(strncmp(s(p0, "id"), "cpg_", 4), 0);
	assert_string_equal(s(p0, "placementId"), s(p0, "id"));
	assert_true(json_is_false(json_object_get(p0, "isEmpty")));
	sp = json_object_get(p0, "screenProps");
	assert_string_equal(s(sp, "primaryColor"), "#1d4ed8");
	assert_true(json_is_null(json_object_get(sp, "backgroundColor")));
	assert_true(json_is_null(json_object_get(sp, "secondaryColor")));
	assert_string_equal(s(sp, "fontFamily"),
	                    "Georgia, 'Times New Roman', serif");
	assert_string_equal(s(p0, "title"), "Give");
	assert_null(json_object_get(p0, "body"));
	assert_string_equal(s(p1, "id"), "my-page_1");
	assert_string_equal(s(p1, "placementId"), "enter");
	assert_true(json_is_true(json_object_get(p1, "isEmpty")));
	assert_true(json_is_null(json_object_get(p1, "screenProps")));
	snprintf(id0, sizeof(id0), "%s", s(p0, "id"));
	snprintf(id1, sizeof(id1), "%s", s(p1, "id"));
	campaigns_path(path, sizeof(path), "/");
	strncat(path, s(r.json, "id"), sizeof(path) - strlen(path) - 1);
	h_resp_free(&r);
	/* An edit of other fields keeps the pages and their ids. */
	h_call(&H, &r, "PATCH", path, H.admin_token, "{\"name\":\"Q\"}", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(
	        s(json_array_get(json_object_get(r.json, "campaignPages"), 0),
	          "id"),
	        id0);
	h_resp_free(&r);
	/* Pages sent back with their ids keep them; null is none. */
	snprintf(body, sizeof(body),
	         "{\"campaignPages\":[{\"id\":\"%s\",\"path\":\"success\"}]}",
	         id1);
	h_call(&H, &r, "PATCH", path, H.admin_token, body, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(
	        json_array_size(json_object_get(r.json, "campaignPages")), 1);
	assert_string_equal(
	        s(json_array_get(json_object_get(r.json, "campaignPages"), 0),
	          "id"),
	        id1);
	h_resp_free(&r);
	h_call(&H, &r, "PATCH", path, H.admin_token, "{\"campaignPages\":null}",
	       NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_array(json_object_get(r.json, "campaignPages")));
	assert_int_equal(
	        json_array_size(json_object_get(r.json, "campaignPages")), 0);
	h_resp_free(&r);
}

/* ---- what a page shows ----------------------------------------------- */

static void context(h_resp *r, const char *key, const char *query)
{
	char path[600];

	assert_true(strlen(query) < sizeof(path) - sizeof("/page-context?"));
	snprintf(path, sizeof(path), "/page-context?%s", query);
	assert_int_equal(h_call(&H, r, "GET", path, key, NULL, NULL), 0);
}

static void test_page_context(void **state)
{
	char q[512], test_pk[160];
	const json_t *c;
	h_resp r;

	snprintf(q, sizeof(q), "placementId=share&campaignId=%s&customerId=%s",
	         cmp, cus_id);
	context(&r, H.public_key, q);
	assert_int_equal(r.status, 200);
	assert_string_equal(s(r.json, "screen"), "referrer");
	assert_string_equal(s(json_object_get(r.json, "page"), "placementId"),
	                    "share");
	c = json_object_get(r.json, "campaign");
	assert_string_equal(s(c, "id"), cmp);
	assert_string_equal(s(c, "inviteMessage"), "Join me");
	assert_int_equal(json_array_size(json_object_get(c, "rewards")), 1);
	/* What the page shows of a customer: never the email. */
	c = json_object_get(r.json, "customer");
	assert_string_equal(s(c, "referralCode"), code);
	assert_string_equal(s(c, "name"), "Jane");
	assert_null(json_object_get(c, "email"));
	assert_null(json_object_get(c, "externalUserId"));
	h_resp_free(&r);
	/* By the page's id, as the SDKs also look pages up; no campaignId:
	 * the live campaign; the older path form; the service key. */
	context(&r, H.public_key, "placementId=enter");
	assert_int_equal(r.status, 200);
	assert_string_equal(s(r.json, "screen"), "invitee");
	assert_true(json_is_null(json_object_get(r.json, "customer")));
	snprintf(q, sizeof(q), "placementId=%s",
	         s(json_object_get(r.json, "page"), "id"));
	h_resp_free(&r);
	context(&r, H.public_key, q);
	assert_string_equal(s(r.json, "screen"), "invitee");
	h_resp_free(&r);
	context(&r, H.service_key, "path=invitee&campaignId=cmp_gone");
	assert_int_equal(r.status, 200);
	assert_string_equal(s(json_object_get(r.json, "page"), "placementId"),
	                    "enter");
	h_resp_free(&r);
	context(&r, H.public_key, "path=success");
	assert_int_equal(r.status, 200);
	assert_string_equal(s(r.json, "screen"), "success");
	assert_true(json_is_null(json_object_get(r.json, "page")));
	h_resp_free(&r);
	/* What is not there. */
	context(&r, H.public_key, "path=home");
	assert_int_equal(r.status, 404);
	assert_string_equal(s(r.json, "code"), "page_not_found");
	h_resp_free(&r);
	context(&r, H.public_key, "placementId=nosuch");
	assert_int_equal(r.status, 404);
	assert_string_equal(s(r.json, "code"), "page_not_found");
	h_resp_free(&r);
	context(&r, H.public_key, "placementId=share&customerId=cus_nosuch");
	assert_int_equal(r.status, 404);
	assert_string_equal(s(r.json, "code"), "customer_not_found");
	h_resp_free(&r);
	context(&r, H.public_key, "placementId=share&environment=test");
	assert_int_equal(r.status, 404);
	assert_string_equal(s(r.json, "code"), "no_live_campaign");
	h_resp_free(&r);
	context(&r, H.public_key, "campaignId=x");
	assert_int_equal(r.status, 400);
	assert_string_equal(s(r.json, "code"), "missing_field");
	h_resp_free(&r);
	/* Who may ask: public and service keys; a key of the other
	 * environment not for this campaign. */
	context(&r, H.admin_token, "placementId=share");
	assert_int_equal(r.status, 403);
	h_resp_free(&r);
	context(&r, NULL, "placementId=share");
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	assert_int_equal(h_create_key(&H, H.app_id, "public", "test", test_pk,
	                              sizeof(test_pk)),
	                 0);
	snprintf(q, sizeof(q), "placementId=share&campaignId=%s", cmp);
	context(&r, test_pk, q);
	assert_int_equal(r.status, 403);
	assert_string_equal(s(r.json, "code"), "forbidden");
	h_resp_free(&r);
}

/* ---- a landing page's visit ------------------------------------------ */

static long visited(void)
{
	char path[256];
	h_resp r;
	long n;

	snprintf(path, sizeof(path), "/admin/apps/%s/customers/%s", H.app_id,
	         cus_id);
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	n = (long)json_integer_value(
	        json_object_get(r.json, "visitedReferralsCount"));
	h_resp_free(&r);
	return n;
}

static void test_referral_visit(void **state)
{
	char want[256], path[256];
	long before = visited();
	h_resp r;

	h_callf(&H, &r, "POST", "/referrals/visit", H.public_key, "{s:s}",
	        "referralCode", code);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "isValid")));
	assert_string_equal(s(r.json, "referralCode"), code);
	assert_string_equal(s(json_object_get(r.json, "referrer"), "name"),
	                    "Jane");
	assert_null(
	        json_object_get(json_object_get(r.json, "referrer"), "email"));
	/* ref= goes into the query, before the fragment. */
	snprintf(want, sizeof(want),
	         "https://example.com/join?utm=x&ref=%s#top", code);
	assert_string_equal(s(r.json, "landingUrl"), want);
	assert_string_equal(
	        s(json_object_get(r.json, "screenProps"), "backgroundColor"),
	        "#0F172A");
	h_resp_free(&r);
	assert_int_equal(visited(), before + 1);
	/* An unknown code counts nothing. */
	h_callf(&H, &r, "POST", "/referrals/visit", H.public_key, "{s:s}",
	        "referralCode", "NOSUCH1");
	assert_int_equal(r.status, 200);
	assert_true(json_is_false(json_object_get(r.json, "isValid")));
	assert_true(json_is_null(json_object_get(r.json, "landingUrl")));
	h_resp_free(&r);
	assert_int_equal(visited(), before + 1);
	/* A campaign whose sign-up URL is no http(s) URL hands nothing on. */
	create(&r, "[]", "\"refereeLandingPageUrl\":\"javascript:alert(1)\"");
	assert_int_equal(r.status, 201);
	snprintf(path, sizeof(path), "%s", s(r.json, "id"));
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals/visit", H.service_key, "{s:s, s:s}",
	        "referralCode", code, "campaignId", path);
	assert_int_equal(r.status, 200);
	assert_true(json_is_null(json_object_get(r.json, "landingUrl")));
	assert_string_equal(s(json_object_get(r.json, "campaign"), "id"), path);
	h_resp_free(&r);
	assert_int_equal(visited(), before + 2);
	h_callf(&H, &r, "POST", "/referrals/visit", H.public_key, "{}");
	assert_int_equal(r.status, 400);
	assert_string_equal(s(r.json, "message"), "referralCode is required");
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals/visit", H.admin_token, "{s:s}",
	        "referralCode", code);
	assert_int_equal(r.status, 403);
	h_resp_free(&r);
}

/* ---- the pages themselves -------------------------------------------- */

typedef struct {
	long status;
	char headers[4096];
	size_t hlen;
	char *body;
	size_t len;
} page_resp;

static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
	page_resp *r = ud;
	size_t k = size * n;

	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = '\0';
	}
	return k;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	page_resp *r = ud;
	char *grown = realloc(r->body, r->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + r->len, p, size * n);
	r->len += size * n;
	grown[r->len] = '\0';
	r->body = grown;
	return size * n;
}

/* A browser's request: no Authorization unless auth. */
static void fetch(page_resp *r, const char *method, const char *path,
                  const char *auth, const char *inm)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	char url[1024], line[256];

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", H.base_url, path);
	if (auth) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		hs = curl_slist_append(hs, line);
	}
	if (inm) {
		snprintf(line, sizeof(line), "If-None-Match: %s", inm);
		hs = curl_slist_append(hs, line);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
}

static int has_header(const page_resp *r, const char *line)
{
	return strcasestr(r->headers, line) != NULL;
}

static void expect_page(const char *path)
{
	page_resp r;

	fetch(&r, "GET", path, NULL, NULL);
	if (r.status != 200)
		fprintf(stderr, "%s -> %ld\n", path, r.status);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Type: text/html; charset=utf-8"));
	assert_true(has_header(&r, "Content-Security-Policy: default-src "
	                           "'none'; script-src 'self';"));
	assert_true(has_header(&r, "X-Frame-Options: DENY"));
	assert_non_null(strstr(r.body, "src=\"/hosted/pages.js\""));
	free(r.body);
}

static void expect_status(const char *method, const char *path,
                          const char *auth, long status, const char *type)
{
	page_resp r;
	char want[128];

	fetch(&r, method, path, auth, NULL);
	if (r.status != status)
		fprintf(stderr, "%s %s -> %ld %s\n", method, path, r.status,
		        r.body ? r.body : "");
	assert_int_equal(r.status, status);
	snprintf(want, sizeof(want), "Content-Type: %s", type);
	assert_true(has_header(&r, want));
	free(r.body);
}

static void test_pages_served(void **state)
{
	char path[512], etag[128] = "";
	page_resp r;
	const char *e;

	snprintf(path, sizeof(path),
	         "/placements/share?key=%s&campaign_id=%s&customer_id=%s&bg="
	         "%%23FEF3C7",
	         H.public_key, cmp, cus_id);
	expect_page(path);
	expect_page("/placements/anything");
	expect_page("/pages/invitee?state=success");
	snprintf(path, sizeof(path), "/referrals/%s?key=%s", code,
	         H.public_key);
	expect_page(path);
	/* The ?ref= form: a browser's GET /referrals. */
	snprintf(path, sizeof(path), "/referrals?ref=%s&key=%s", code,
	         H.public_key);
	expect_page(path);
	/* With a key it is the API's list, as it was. */
	expect_status("GET", path, H.service_key, 200, "application/json");
	expect_status("GET", "/referrals", NULL, 401, "application/json");
	/* The pages' files; nothing else. */
	expect_status("GET", "/hosted/pages.js", NULL, 200,
	              "text/javascript; charset=utf-8");
	expect_status("GET", "/hosted/bridge.js", NULL, 200,
	              "text/javascript; charset=utf-8");
	expect_status("GET", "/hosted/pages.css", NULL, 200,
	              "text/css; charset=utf-8");
	expect_status("GET", "/hosted/nosuch.js", NULL, 404,
	              "text/plain; charset=utf-8");
	expect_status("GET", "/hosted/..%2fdashboard/app.js", NULL, 404,
	              "text/plain; charset=utf-8");
	expect_status("GET", "/hosted/", NULL, 404,
	              "text/plain; charset=utf-8");
	/* Not pages: the API answers as before. */
	expect_status("GET", "/placements/a/b", NULL, 404, "application/json");
	expect_status("GET", "/placements/", NULL, 404, "application/json");
	expect_status("POST", "/placements/share", NULL, 404,
	              "application/json");
	expect_status("GET", "/referrals/validate-code", NULL, 405,
	              "application/json");
	expect_status("GET", "/referrals/visit", NULL, 405, "application/json");
	/* HEAD, and the ETag. */
	fetch(&r, "HEAD", "/placements/share", NULL, NULL);
	assert_int_equal(r.status, 200);
	free(r.body);
	fetch(&r, "GET", "/placements/share", NULL, NULL);
	e = strcasestr(r.headers, "ETag: ");
	assert_non_null(e);
	snprintf(etag, sizeof(etag), "%.*s", (int)strcspn(e + 6, "\r\n"),
	         e + 6);
	free(r.body);
	fetch(&r, "GET", "/pages/referrer", NULL, etag);
	assert_int_equal(r.status, 304);
	free(r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_pages_are_refused_naming_the_field),
	        cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_pages_normalised_with_ids),
	        cmocka_unit_test(test_page_context),
	        cmocka_unit_test(test_referral_visit),
	        cmocka_unit_test(test_pages_served),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
