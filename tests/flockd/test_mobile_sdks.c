/*
 * Flock's official mobile SDKs against flockd: every request the iOS and
 * Android SDKs send, byte for byte as they send it (request line,
 * headers, body), replayed over a plain socket, and every answer checked
 * against the fields and types the SDKs' response models require.
 *
 * Written from the SDKs' sources (docs/mobile-sdks.md has the table):
 *   FlockSDK-iOS      github.com/Flock-Solutions/FlockSDK-iOS at dda934e
 *   FlockSDK-Android  github.com/Flock-Solutions/FlockSDK-Android at 657c1a6
 * Paths below are theirs: Sources/FlockSDK/... and
 * flocksdk/src/main/java/com/withflock/flocksdk/... .
 *
 * Then the same replay against a campaign whose pages an earlier flockd
 * stored unchecked (schema step 5: no ids, the dashboard's old shape,
 * junk), upgraded by schema step 6 when flockd opens the database.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "support.h"

/* ---- the models, as the SDKs declare them ------------------------------ */

typedef enum { M_STRING, M_INT, M_BOOL, M_ENUM, M_OBJECT, M_ARRAY } mtype;

typedef struct model model;

typedef struct {
	const char *name;
	mtype type;
	int optional;              /* Swift T? / Kotlin T?: absent or null */
	const model *of;           /* M_OBJECT, M_ARRAY (items) */
	const char *const *values; /* M_ENUM: what the decoder takes */
} mfield;

struct model {
	const char *name; /* "iOS Customer (Response/Customer.swift:1-10)" */
	const mfield *fields;
};

static const char *const environments[] = {"test", "production", NULL};
static const char *const triggers[] = {"placement", "reward", NULL};

/* Swift: Sources/FlockSDK/Response/ */
static const mfield ios_screen_props_f[] = {
        {"backgroundColor", M_STRING, 1, NULL, NULL},
        {"primaryColor", M_STRING, 1, NULL, NULL},
        {"secondaryColor", M_STRING, 1, NULL, NULL},
        {"textColor", M_STRING, 1, NULL, NULL},
        {"fontFamily", M_STRING, 1, NULL, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model ios_screen_props = {"iOS ScreenProps (Campaign.swift:19-25)",
                                       ios_screen_props_f};
static const mfield ios_page_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"path", M_STRING, 0, NULL, NULL},
        {"placementId", M_STRING, 1, NULL, NULL},
        {"isEmpty", M_BOOL, 0, NULL, NULL},
        {"screenProps", M_OBJECT, 1, &ios_screen_props, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model ios_page = {"iOS CampaignPage (Campaign.swift:11-17)",
                               ios_page_f};
static const mfield ios_campaign_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"name", M_STRING, 0, NULL, NULL},
        {"createdAt", M_STRING, 0, NULL, NULL},
        {"updatedAt", M_STRING, 0, NULL, NULL},
        {"environment", M_ENUM, 0, NULL, environments},
        {"isLive", M_BOOL, 0, NULL, NULL},
        {"campaignPages", M_ARRAY, 0, &ios_page, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model ios_campaign = {"iOS Campaign (Campaign.swift:1-9)",
                                   ios_campaign_f};
static const mfield ios_customer_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"externalUserId", M_STRING, 0, NULL, NULL},
        {"email", M_STRING, 0, NULL, NULL},
        {"name", M_STRING, 1, NULL, NULL},
        {"referralCode", M_STRING, 0, NULL, NULL},
        {"visitedReferralsCount", M_INT, 0, NULL, NULL},
        {"convertedReferralsCount", M_INT, 0, NULL, NULL},
        {"referredById", M_STRING, 1, NULL, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model ios_customer = {"iOS Customer (Customer.swift:1-10)",
                                   ios_customer_f};
static const mfield ios_checkpoint_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"campaignId", M_STRING, 0, NULL, NULL},
        {"checkpointName", M_STRING, 0, NULL, NULL},
        {"trigger", M_ENUM, 0, NULL, triggers},
        {"placementId", M_STRING, 1, NULL, NULL},
        {"createdAt", M_STRING, 0, NULL, NULL},
        {"updatedAt", M_STRING, 0, NULL, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model ios_checkpoint = {
        "iOS CampaignCheckpoint (CampaignCheckpoint.swift:6-14)",
        ios_checkpoint_f};
static const mfield ios_checkpoints_f[] = {
        {"data", M_ARRAY, 0, &ios_checkpoint, NULL}, {NULL, 0, 0, NULL, NULL}};
static const model ios_checkpoints = {
        "iOS CampaignCheckpointsResponse (CampaignCheckpoint.swift:16-18)",
        ios_checkpoints_f};
static const mfield ios_ping_f[] = {{"id", M_STRING, 0, NULL, NULL},
                                    {NULL, 0, 0, NULL, NULL}};
static const model ios_ping = {"iOS PingResponse (PingResponse.swift:2-4)",
                               ios_ping_f};

/* Kotlin + Gson: model/. A non-null Kotlin type Gson would fill with null
 * (or false) is required here: the SDK would fail on it later. */
static const mfield and_screen_props_f[] = {
        {"backgroundColor", M_STRING, 1, NULL, NULL},
        {"primaryColor", M_STRING, 1, NULL, NULL},
        {"secondaryColor", M_STRING, 1, NULL, NULL},
        {"textColor", M_STRING, 1, NULL, NULL},
        {"fontFamily", M_STRING, 1, NULL, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model and_screen_props = {
        "Android ScreenProps (ScreenProps.kt:3-9)", and_screen_props_f};
static const mfield and_page_f[] = {
        {"path", M_STRING, 0, NULL, NULL},
        {"id", M_STRING, 0, NULL, NULL},
        {"placementId", M_STRING, 1, NULL, NULL},
        {"isEmpty", M_BOOL, 0, NULL, NULL},
        {"screenProps", M_OBJECT, 1, &and_screen_props, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model and_page = {"Android CampaignPage (CampaignPage.kt:3-9)",
                               and_page_f};
static const mfield and_campaign_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"name", M_STRING, 0, NULL, NULL},
        {"createdAt", M_STRING, 0, NULL, NULL},
        {"updatedAt", M_STRING, 0, NULL, NULL},
        /* @SerializedName("test"), ("production"): FlockEnvironment.kt:5-10 */
        {"environment", M_ENUM, 0, NULL, environments},
        {"isLive", M_BOOL, 0, NULL, NULL},
        {"campaignPages", M_ARRAY, 0, &and_page, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model and_campaign = {"Android Campaign (Campaign.kt:5-13)",
                                   and_campaign_f};
static const mfield and_customer_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"name", M_STRING, 0, NULL, NULL},
        {"email", M_STRING, 0, NULL, NULL},
        {"externalUserId", M_STRING, 0, NULL, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model and_customer = {"Android Customer (Customer.kt:3-8)",
                                   and_customer_f};
static const mfield and_checkpoint_f[] = {
        {"id", M_STRING, 0, NULL, NULL},
        {"campaignId", M_STRING, 0, NULL, NULL},
        {"checkpointName", M_STRING, 0, NULL, NULL},
        /* CheckpointTrigger, CampaignCheckpoint.kt:8-14 */
        {"trigger", M_ENUM, 0, NULL, triggers},
        {"placementId", M_STRING, 1, NULL, NULL},
        {"createdAt", M_STRING, 0, NULL, NULL},
        {"updatedAt", M_STRING, 0, NULL, NULL},
        {NULL, 0, 0, NULL, NULL}};
static const model and_checkpoint = {
        "Android CampaignCheckpoint (CampaignCheckpoint.kt:19-27)",
        and_checkpoint_f};
static const mfield and_checkpoints_f[] = {
        {"data", M_ARRAY, 0, &and_checkpoint, NULL}, {NULL, 0, 0, NULL, NULL}};
static const model and_checkpoints = {
        "Android CampaignCheckpointsResponse (CampaignCheckpoint.kt:32-34)",
        and_checkpoints_f};

static int check_model(const model *m, json_t *v, const char *at, char *why,
                       size_t len);

static int check_field(const mfield *f, json_t *v, const char *at, char *why,
                       size_t len)
{
	char sub[256];
	size_t i;
	json_t *it;

	if (!v || json_is_null(v)) {
		if (f->optional)
			return 0;
		snprintf(why, len, "%s.%s is %s (required)", at, f->name,
		         v ? "null" : "missing");
		return -1;
	}
	switch (f->type) {
	case M_STRING:
		if (json_is_string(v))
			return 0;
		break;
	case M_INT:
		if (json_is_integer(v))
			return 0;
		break;
	case M_BOOL:
		if (json_is_boolean(v))
			return 0;
		break;
	case M_ENUM:
		for (i = 0; json_is_string(v) && f->values[i]; i++)
			if (!strcmp(json_string_value(v), f->values[i]))
				return 0;
		break;
	case M_OBJECT:
		if (json_is_object(v)) {
			snprintf(sub, sizeof(sub), "%s.%s", at, f->name);
			return check_model(f->of, v, sub, why, len);
		}
		break;
	case M_ARRAY:
		if (!json_is_array(v))
			break;
		json_array_foreach(v, i, it)
		{
			snprintf(sub, sizeof(sub), "%s.%s[%zu]", at, f->name,
			         i);
			if (!json_is_object(it)) {
				snprintf(why, len, "%s is no object", sub);
				return -1;
			}
			if (check_model(f->of, it, sub, why, len) < 0)
				return -1;
		}
		return 0;
	}
	snprintf(why, len, "%s.%s has the wrong type", at, f->name);
	return -1;
}

static int check_model(const model *m, json_t *v, const char *at, char *why,
                       size_t len)
{
	const mfield *f;

	for (f = m->fields; f->name; f++)
		if (check_field(f, json_object_get(v, f->name), at, why, len) <
		    0)
			return -1;
	return 0;
}

/* The answer decodes as every model given (NULL-terminated). */
static void assert_decodes(json_t *v, const model *const *models)
{
	char why[512];

	assert_non_null(v);
	for (; *models; models++) {
		if (check_model(*models, v, "$", why, sizeof(why)) < 0) {
			char *text = json_dumps(v, JSON_COMPACT);

			fprintf(stderr, "%s does not decode: %s\n%s\n",
			        (*models)->name, why, text ? text : "");
			free(text);
			fail();
		}
	}
}

/* ---- raw HTTP, exactly as written -------------------------------------- */

/* A printf-style string, malloc'd (NULL: out of memory). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0 || !(out = malloc((size_t)n + 1)))
		return NULL;
	va_start(ap, f);
	vsnprintf(out, (size_t)n + 1, f, ap);
	va_end(ap);
	return out;
}

typedef struct {
	int status;
	char headers[4096];
	char *body;
	size_t len;
	json_t *json;
} raw_resp;

static void raw_free(raw_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* The value of header name in r (case-insensitive), into out. */
static int raw_header(const raw_resp *r, const char *name, char *out,
                      size_t len)
{
	const char *p = r->headers;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s",
			         (int)(e ? e - v : (long)strlen(v)), v);
			return 0;
		}
	}
	return -1;
}

/* Send req (the whole request, CRLFs and body) to the flockd of h and
 * read its answer. 0 or -1. */
static int raw_send(fd_harness *h, const char *req, raw_resp *out)
{
	struct sockaddr_in a;
	struct timeval tv = {30, 0};
	char buf[65536], cl[32];
	size_t got = 0, want = 0, hlen;
	const char *end;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(h->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto fail;
	for (;;) {
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			goto fail;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		hlen = (size_t)(end - buf) + 4;
		snprintf(out->headers, sizeof(out->headers), "%.*s", (int)hlen,
		         buf);
		want = raw_header(out, "Content-Length", cl, sizeof(cl)) == 0
		               ? strtoul(cl, NULL, 10)
		               : 0;
		if (got >= hlen + want)
			break;
	}
	close(fd);
	if (!strncmp(buf, "HTTP/1.1 ", 9))
		out->status = (int)strtol(buf + 9, NULL, 10);
	out->body = strndup(buf + hlen, want);
	out->len = want;
	out->json = json_loadb(out->body, want, 0, NULL);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- the requests, as each SDK builds them ---------------------------- */

static fd_harness H;
static char cmp_prod[64], cmp_test[64];

/* URLSession's own headers (CFNetwork), around the SDK's: Authorization
 * and Content-Type: application/json on every request
 * (Request/RequestBuilder.swift:23-30). */
#define IOS_UA "FlockDemo/1 CFNetwork/1498.700.2 Darwin/23.6.0"

static char *ios_get(const char *target)
{
	return fmt("GET %s HTTP/1.1\r\n"
	           "Host: 127.0.0.1:%u\r\n"
	           "Content-Type: application/json\r\n"
	           "Authorization: %s\r\n"
	           "Accept: */*\r\n"
	           "Accept-Language: en-GB,en;q=0.9\r\n"
	           "Accept-Encoding: gzip, deflate, br\r\n"
	           "User-Agent: " IOS_UA "\r\n"
	           "Connection: keep-alive\r\n"
	           "\r\n",
	           target, H.port, H.public_key);
}

/* The same, with Content-Length for a POST (URLSession sends 0 for a
 * POST without httpBody). */
static char *ios_post(const char *target, const char *body)
{
	return fmt("POST %s HTTP/1.1\r\n"
	           "Host: 127.0.0.1:%u\r\n"
	           "Content-Type: application/json\r\n"
	           "Authorization: %s\r\n"
	           "Accept: */*\r\n"
	           "Accept-Language: en-GB,en;q=0.9\r\n"
	           "Accept-Encoding: gzip, deflate, br\r\n"
	           "User-Agent: " IOS_UA "\r\n"
	           "Content-Length: %zu\r\n"
	           "Connection: keep-alive\r\n"
	           "\r\n%s",
	           target, H.port, H.public_key, body ? strlen(body) : 0,
	           body ? body : "");
}

/*
 * OkHttp 4.12's: the SDK's Authorization first, then its
 * BridgeInterceptor's Content-Type (the body's: "application/json;
 * charset=utf-8" replaces the SDK's "application/json",
 * network/CustomerService.kt:18-24), Content-Length, Host, Connection,
 * Accept-Encoding, User-Agent.
 */
static char *android_request(const char *method, const char *target,
                             const char *type, const char *body)
{
	char ctype[96] = "", clen[48] = "";

	if (type)
		snprintf(ctype, sizeof(ctype), "Content-Type: %s\r\n", type);
	if (body)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n",
		         strlen(body));
	return fmt("%s %s HTTP/1.1\r\n"
	           "Authorization: %s\r\n"
	           "%s%s"
	           "Host: 127.0.0.1:%u\r\n"
	           "Connection: Keep-Alive\r\n"
	           "Accept-Encoding: gzip\r\n"
	           "User-Agent: okhttp/4.12.0\r\n"
	           "\r\n%s",
	           method, target, H.public_key, ctype, clen, H.port,
	           body ? body : "");
}

/* One exchange: 2xx (both SDKs check 200...299: CustomerService.swift:34,
 * CustomerService.kt:29), no compression either would have to undo, and
 * the body decodes as every model. */
static json_t *exchange(char *req, const model *const *models)
{
	raw_resp r;
	char enc[64];
	json_t *out;

	assert_non_null(req);
	assert_int_equal(raw_send(&H, req, &r), 0);
	if (r.status < 200 || r.status > 299)
		fprintf(stderr, "%s\n-> %d %s\n", req, r.status, r.body);
	free(req);
	assert_true(r.status >= 200 && r.status <= 299);
	assert_true(raw_header(&r, "Content-Encoding", enc, sizeof(enc)) < 0);
	if (models)
		assert_decodes(r.json, models);
	out = json_incref(r.json);
	raw_free(&r);
	return out;
}

/* A campaign with every kind of page the SDKs read, live in env. */
static void live_campaign(const char *env, char *out, size_t len)
{
	char path[256], go[320];
	h_resp r;

	h_admin_path(&H, path, sizeof(path), "/campaigns");
	assert_int_equal(
	        h_callf(&H, &r, "POST", path, H.admin_token,
	                "{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:f, s:s}],"
	                " s:[{s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s, s:n}],"
	                " s:[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}},"
	                " {s:s, s:s, s:b}, {s:s, s:n}]}",
	                "name", "Mobile", "environment", env, "inviteMessage",
	                "Join me", "rewards", "type", "payout", "party",
	                "referrer", "method", "paypal", "payoutAmount", 10.0,
	                "currency", "usd", "checkpoints", "checkpointName",
	                "refer_button_clicked", "trigger", "placement",
	                "placementId", "share", "checkpointName",
	                "purchase_completed", "trigger", "reward",
	                "checkpointName", "menu_opened", "trigger", "placement",
	                "placementId", "campaignPages", "path", "referrer",
	                "placementId", "share", "screenProps",
	                "backgroundColor", "#FFFFFF", "primaryColor", "#1D4ED8",
	                "secondaryColor", "#93C5FD", "textColor", "#111827",
	                "fontFamily", "Helvetica Neue", "path", "invitee",
	                "placementId", "enter", "isEmpty", 0, "path", "success",
	                "screenProps"),
	        0);
	assert_int_equal(r.status, 201);
	snprintf(out, len, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	h_resp_free(&r);
	snprintf(go, sizeof(go), "%s/%s/go-live", path, out);
	assert_int_equal(h_call(&H, &r, "POST", go, H.admin_token, NULL, NULL),
	                 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
}

static int setup(void **state)
{
	memset(&H, 0, sizeof(H));
	if (h_start(&H) < 0)
		return -1;
	live_campaign("production", cmp_prod, sizeof(cmp_prod));
	live_campaign("test", cmp_test, sizeof(cmp_test));
	return 0;
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

static const model *const ios_customer_m[] = {&ios_customer, NULL};
static const model *const ios_campaign_m[] = {&ios_campaign, NULL};
static const model *const ios_checkpoints_m[] = {&ios_checkpoints, NULL};
static const model *const ios_ping_m[] = {&ios_ping, NULL};
static const model *const and_customer_m[] = {&and_customer, NULL};
static const model *const and_campaign_m[] = {&and_campaign, NULL};
static const model *const and_checkpoints_m[] = {&and_checkpoints, NULL};

/*
 * iOS: Flock.identify (Flock.swift:70-100) sends identify, then the live
 * campaign for the customer, then the campaign's checkpoints; ping
 * (CampaignService.swift:49-63) is there for the app to call.
 */
static json_t *ios_flow(const char *env, const char *ext, const char *body,
                        json_t **campaign)
{
	char target[512];
	json_t *cus, *k, *chk, *ping;

	/* Request/IdentifyRequest.swift:8-14 through JSONEncoder
	 * (API/CustomerService.swift:26-30): customProperties left out when
	 * nil, "/" written "\/". */
	cus = exchange(ios_post("/customers/identify", body), ios_customer_m);
	/* API/CampaignService.swift:26-37 (URLComponents' query items). */
	snprintf(target, sizeof(target),
	         "/campaigns/live?environment=%s&customerId=%s", env,
	         json_string_value(json_object_get(cus, "id")));
	k = exchange(ios_get(target), ios_campaign_m);
	/* API/CampaignCheckpointService.swift:26-38 */
	snprintf(target, sizeof(target), "/campaign-checkpoints?campaignId=%s",
	         json_string_value(json_object_get(k, "id")));
	chk = exchange(ios_get(target), ios_checkpoints_m);
	assert_true(json_array_size(json_object_get(chk, "data")) > 0);
	/* API/CampaignService.swift:50-53: a POST without a body. */
	snprintf(target, sizeof(target), "/campaigns/%s/ping",
	         json_string_value(json_object_get(k, "id")));
	ping = exchange(ios_post(target, NULL), ios_ping_m);
	assert_string_equal(json_string_value(json_object_get(ping, "id")),
	                    json_string_value(json_object_get(k, "id")));
	assert_string_equal(
	        json_string_value(json_object_get(cus, "externalUserId")), ext);
	json_decref(chk);
	json_decref(ping);
	*campaign = k;
	return cus;
}

/*
 * Android: FlockSDK.identify (FlockSDK.kt:121-182): identify, the live
 * campaign, the checkpoints; ping (network/CampaignService.kt:40-51).
 */
static json_t *android_flow(const char *env, const char *ext, const char *body,
                            json_t **campaign)
{
	char target[512];
	json_t *cus, *k, *chk;

	/* model/IdentifyRequest.kt:5-14 through Gson (CustomerService.kt:
	 * 15-25): nulls left out, "<", ">", "&", "=", "'" written \u00XX. */
	cus = exchange(android_request("POST", "/customers/identify",
	                               "application/json; charset=utf-8", body),
	               and_customer_m);
	/* network/CampaignService.kt:16-27: environment.name.lowercase(). */
	snprintf(target, sizeof(target),
	         "/campaigns/live?environment=%s&customerId=%s", env,
	         json_string_value(json_object_get(cus, "id")));
	k = exchange(android_request("GET", target, NULL, NULL),
	             and_campaign_m);
	/* network/CampaignCheckpointService.kt:29-39 */
	snprintf(target, sizeof(target), "/campaign-checkpoints?campaignId=%s",
	         json_string_value(json_object_get(k, "id")));
	chk = exchange(android_request("GET", target, NULL, NULL),
	               and_checkpoints_m);
	assert_true(json_array_size(json_object_get(chk, "data")) > 0);
	/* CampaignService.kt:40-47: RequestBody.create(null, ByteArray(0)):
	 * no Content-Type, Content-Length: 0. The SDK reads no body. */
	snprintf(target, sizeof(target), "/campaigns/%s/ping",
	         json_string_value(json_object_get(k, "id")));
	json_decref(exchange(android_request("POST", target, NULL, ""), NULL));
	assert_string_equal(
	        json_string_value(json_object_get(cus, "externalUserId")), ext);
	json_decref(chk);
	*campaign = k;
	return cus;
}

/* The web view's request for a placement (Flock.swift:199-226,
 * FlockSDK.kt:315-323): the page, with its CSP. */
static void placement_page(const char *path_and_query, int android)
{
	char *req, v[512];
	raw_resp r;

	req = fmt("GET %s HTTP/1.1\r\n"
	          "Host: 127.0.0.1:%u\r\n"
	          "Accept: text/html,application/xhtml+xml,"
	          "application/xml;q=0.9,*/*;q=0.8\r\n"
	          "User-Agent: %s\r\n"
	          "%s"
	          "Accept-Encoding: gzip, deflate\r\n"
	          "\r\n",
	          path_and_query, H.port,
	          android ? "Mozilla/5.0 (Linux; Android 14; "
	                    "Pixel 8; wv) AppleWebKit/537.36 "
	                    "(KHTML, like Gecko) Version/4.0 "
	                    "Chrome/120.0 Mobile Safari/537.36"
	                  : "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 "
	                    "like Mac OS X) AppleWebKit/605.1.15 "
	                    "(KHTML, like Gecko) Mobile/15E148",
	          android ? "X-Requested-With: com.example.app\r\n" : "");
	assert_non_null(req);
	assert_int_equal(raw_send(&H, req, &r), 0);
	free(req);
	assert_int_equal(r.status, 200);
	assert_int_equal(raw_header(&r, "Content-Type", v, sizeof(v)), 0);
	assert_string_equal(v, "text/html; charset=utf-8");
	assert_int_equal(
	        raw_header(&r, "Content-Security-Policy", v, sizeof(v)), 0);
	assert_non_null(strstr(v, "script-src 'self';"));
	assert_null(strstr(v, "unsafe-inline"));
	assert_non_null(strstr(r.body, "<script type=\"module\" "
	                               "src=\"/hosted/pages.js\"></script>"));
	raw_free(&r);
}

/* What the SDKs do with the campaign: find the placement's page by
 * placementId or id (Flock.swift:147-149, FlockSDK.kt:247) and open its
 * URL with bg, encoded (Flock.swift:220, FlockSDK.kt:321). */
static void open_placement(const json_t *k, const json_t *cus,
                           const char *placement, int android)
{
	char target[1024], bg[32] = "";
	const json_t *p, *found = NULL;
	const char *colour;
	size_t i;

	json_array_foreach(json_object_get(k, "campaignPages"), i, p)
	{
		const char *pl =
		        json_string_value(json_object_get(p, "placementId"));
		const char *id = json_string_value(json_object_get(p, "id"));

		if (!found && ((pl && !strcmp(pl, placement)) ||
		               (id && !strcmp(id, placement))))
			found = p;
	}
	assert_non_null(found);
	/* Android builds the URL from the page's placementId, whichever
	 * matched (FlockSDK.kt:319): it must be there. */
	assert_non_null(
	        json_string_value(json_object_get(found, "placementId")));
	colour = json_string_value(json_object_get(
	        json_object_get(found, "screenProps"), "backgroundColor"));
	if (colour)
		snprintf(bg, sizeof(bg), "&bg=%%23%s", colour + 1);
	snprintf(target, sizeof(target),
	         "/placements/%s?key=%s&campaign_id=%s&customer_id=%s%s",
	         android ? json_string_value(
	                           json_object_get(found, "placementId"))
	                 : placement,
	         H.public_key, json_string_value(json_object_get(k, "id")),
	         json_string_value(json_object_get(cus, "id")), bg);
	placement_page(target, android);
}

static void test_ios(void **state)
{
	json_t *k, *cus;
	const char *envs[] = {"production", "test"};
	int i;

	for (i = 0; i < 2; i++) {
		char ext[32], body[1024];

		snprintf(ext, sizeof(ext), "ios-user-%d", i);
		/* CustomPropertyValue (IdentifyRequest.swift:19-57): string,
		 * int, double, bool, null. */
		snprintf(body, sizeof(body),
		         "{\"externalUserId\":\"%s\",\"email\":\"ana%d@example."
		         "com\",\"name\":\"Ana\",\"environment\":\"%s\","
		         "\"customProperties\":{\"plan\":\"pro\",\"age\":29,"
		         "\"lifetimeValue\":1234.56,\"notificationsEnabled\":"
		         "true,\"nickname\":null,\"site\":\"https:\\/\\/"
		         "example.com\\/a\"}}",
		         ext, i, envs[i]);
		cus = ios_flow(envs[i], ext, body, &k);
		assert_string_equal(json_string_value(json_object_get(k, "id")),
		                    i ? cmp_test : cmp_prod);
		assert_int_equal(
		        json_array_size(json_object_get(k, "campaignPages")),
		        3);
		open_placement(k, cus, "share", 0);
		open_placement(k, cus, "enter", 0);
		json_decref(k);
		json_decref(cus);
	}
	/* customProperties nil: left out of the body. */
	cus = ios_flow("production", "ios-bare",
	               "{\"externalUserId\":\"ios-bare\",\"email\":\"bare@"
	               "example.com\",\"name\":\"\",\"environment\":"
	               "\"production\"}",
	               &k);
	json_decref(k);
	json_decref(cus);
}

static void test_android(void **state)
{
	json_t *k, *cus, *p;
	h_resp r;
	char path[256];

	cus = android_flow(
	        "production", "android-user-1",
	        "{\"externalUserId\":\"android-user-1\",\"email\":\"ben@example"
	        ".org\",\"name\":\"Ben \\u003cAndroid\\u003e \\u0026 \\u0027co"
	        "\\u0027 \\u003d 1\",\"environment\":\"production\","
	        "\"customProperties\":{\"plan\":\"pro\",\"age\":29,\"ltv\":"
	        "1234.56,\"beta\":true}}",
	        &k);
	assert_string_equal(json_string_value(json_object_get(cus, "name")),
	                    "Ben <Android> & 'co' = 1");
	/* The page of the success placement has no placementId of its own
	 * given: flockd gave it its id, so Android's URL names it. */
	p = json_array_get(json_object_get(k, "campaignPages"), 2);
	assert_string_equal(
	        json_string_value(json_object_get(p, "placementId")),
	        json_string_value(json_object_get(p, "id")));
	open_placement(k, cus, json_string_value(json_object_get(p, "id")), 1);
	open_placement(k, cus, "share", 1);
	json_decref(k);
	json_decref(cus);
	cus = android_flow("test", "android-user-2",
	                   "{\"externalUserId\":\"android-user-2\",\"email\":"
	                   "\"kim@example.org\",\"name\":\"Kim\","
	                   "\"environment\":\"test\"}",
	                   &k);
	assert_string_equal(
	        json_string_value(json_object_get(k, "environment")), "test");
	json_decref(k);
	json_decref(cus);
	/* The identify with customProperties kept them. */
	snprintf(path, sizeof(path),
	         "/admin/apps/%s/customers?q=android-user-1", H.app_id);
	assert_int_equal(h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL),
	                 0);
	assert_int_equal(
	        json_integer_value(json_object_get(
	                json_object_get(
	                        json_array_get(json_object_get(r.json, "data"),
	                                       0),
	                        "customProperties"),
	                "age")),
	        29);
	h_resp_free(&r);
}

/* The older SDKs' page form and bg written without encoding. */
static void test_older_urls(void **state)
{
	char target[1024];

	/* FlockSDK-Android <= 1.1.1 openPage (FlockSDK.kt at 3d26e71:
	 * 184-199), with "null" for a missing colour (at 521ac02^:126). */
	snprintf(target, sizeof(target),
	         "/pages/invitee?key=%s&campaign_id=%s&customer_id=null&bg="
	         "null&state=success",
	         H.public_key, cmp_prod);
	placement_page(target, 1);
	/* FlockSDK-iOS in June 2025 (Flock.swift at 90e6858:273-289): bg
	 * unencoded, so "#ffffff" is a fragment the web view never sends. */
	snprintf(target, sizeof(target),
	         "/pages/referrer?key=%s&campaign_id=%s&bg=", H.public_key,
	         cmp_prod);
	placement_page(target, 0);
}

/*
 * Pages an earlier flockd stored unchecked keep decoding: the campaign's
 * campaignPages written as schema step 5 left them, the database set
 * back to step 5, flockd started again (step 6 runs), and the replay
 * repeated.
 */
static void test_pages_from_an_older_flockd(void **state)
{
	static const char old[] =
	        "{\"campaignPages\":[42,\"x\",{\"path\":7},{\"page\":"
	        "\"referrer\",\"title\":\"Give\",\"theme\":{\"primaryColor\":"
	        "\"#1d4ed8\",\"backgroundColor\":\"#ffffff\",\"textColor\":"
	        "\"#111827\"}},{\"page\":\"invitee\",\"body\":\"b\","
	        "\"theme\":7}],\"inviteMessage\":\"old\"}";
	char sql[1024];
	json_t *k, *cus, *p;

	assert_int_equal(h_kill(&H, SIGTERM), 0);
	snprintf(sql, sizeof(sql),
	         "UPDATE campaigns SET extra = '%s' WHERE id = '%s'", old,
	         cmp_prod);
	assert_int_equal(h_db_exec(H.db, sql), 0);
	/* Step 7 runs again too: undo it (customers' environment). */
	assert_int_equal(h_db_exec(H.db, "ALTER TABLE customers DROP COLUMN "
	                                 "environment"),
	                 0);
	assert_int_equal(h_db_exec(H.db, h_is_pg() ? "UPDATE flockd_schema SET "
	                                             "version = 5"
	                                           : "PRAGMA user_version = 5"),
	                 0);
	assert_int_equal(h_serve(&H), 0);
	cus = ios_flow("production", "ios-after",
	               "{\"externalUserId\":\"ios-after\",\"email\":\"after@"
	               "example.com\",\"name\":\"After\",\"environment\":"
	               "\"production\"}",
	               &k);
	assert_int_equal(json_array_size(json_object_get(k, "campaignPages")),
	                 3);
	p = json_array_get(json_object_get(k, "campaignPages"), 1);
	assert_string_equal(json_string_value(json_object_get(p, "path")),
	                    "referrer");
	assert_string_equal(json_string_value(json_object_get(p, "title")),
	                    "Give");
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(p, "screenProps"), "primaryColor")),
	        "#1d4ed8");
	open_placement(k, cus, json_string_value(json_object_get(p, "id")), 0);
	json_decref(k);
	json_decref(cus);
	cus = android_flow("production", "android-after",
	                   "{\"externalUserId\":\"android-after\",\"email\":"
	                   "\"a@example.org\",\"name\":\"A\",\"environment\":"
	                   "\"production\"}",
	                   &k);
	p = json_array_get(json_object_get(k, "campaignPages"), 2);
	assert_string_equal(json_string_value(json_object_get(p, "path")),
	                    "invitee");
	assert_true(json_is_null(json_object_get(p, "screenProps")));
	open_placement(k, cus, json_string_value(json_object_get(p, "id")), 1);
	json_decref(k);
	json_decref(cus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ios),
	        cmocka_unit_test(test_android),
	        cmocka_unit_test(test_older_urls),
	        cmocka_unit_test(test_pages_from_an_older_flockd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
