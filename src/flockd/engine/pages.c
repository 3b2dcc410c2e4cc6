/*
 * flockd engine: campaign pages and Flock's hosted pages
 * (docs/mobile-sdks.md).
 *
 * A campaign's campaignPages are what Flock's iOS and Android SDKs decode
 * (CampaignPage: id, path, placementId, isEmpty, screenProps) and what
 * the hosted placement pages render. fd__campaign_pages checks and
 * normalises them on every create and edit, so a stored page always
 * decodes; schema step 6 (store/schema.c) brought older pages to the
 * same shape. The two operations here serve the hosted pages, with the
 * public key the page was opened with: what a page shows
 * (fd_op_page_context) and a referral landing page's visit
 * (fd_op_referral_visit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/ids.h"
#include "engine/internal.h"

/* More pages than any campaign has screens, but bounded. */
#define MAX_PAGES 64
/* Text a page shows beside the campaign's own (title, body, button). */
#define MAX_TEXT 2000

/* The screens the hosted pages render (a page's path). */
static const char *const screens[] = {"referrer", "invitee", "success", NULL};
static const char *const page_keys[] = {"id",      "path",        "placementId",
                                        "isEmpty", "screenProps", "title",
                                        "body",    "buttonText",  NULL};
static const char *const colour_keys[] = {"backgroundColor", "primaryColor",
                                          "secondaryColor", "textColor", NULL};

static int listed(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* An id or placement id: it goes into a URL path, as the SDKs build it
 * without encoding (FlockSDK.kt:319, Flock.swift buildWebPageURL). */
static int token_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

/* "#RRGGBB": the one form iOS's UIColor(hex:) (6 or 8 digits, RGBA),
 * Android's toColorInt (#RRGGBB or #AARRGGBB) and CSS all read alike. */
static int colour_ok(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 7 || s[0] != '#')
		return 0;
	for (i = 1; i < 7; i++) {
		char c = s[i];
		if (!(c >= '0' && c <= '9') &&
		    !((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
			return 0;
	}
	return 1;
}

/* A CSS font-family list of installed fonts: names, commas, quotes. */
static int font_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && !strchr(" ,'\"-_.", c))
			return 0;
	}
	return 1;
}

/* The field name "campaignPages[i].key" (key NULL: the item). */
static void page_field(char *out, size_t len, size_t i, const char *key)
{
	if (key)
		snprintf(out, len, "campaignPages[%zu].%.80s", i, key);
	else
		snprintf(out, len, "campaignPages[%zu]", i);
}

static int page_invalid(fd_ctx *x, size_t i, const char *key, const char *why)
{
	char name[128];

	page_field(name, sizeof(name), i, key);
	return fd__invalid(x, name, why);
}

/* screenProps of page i into *out (new reference: an object with the
 * five keys, null where not given, or JSON null). 0 or -1. */
static int screen_props(fd_ctx *x, size_t i, const json_t *v, json_t **out)
{
	const char *k, *s;
	json_t *m;
	char name[96];
	int j;

	*out = NULL;
	if (!v || json_is_null(v))
		return (*out = json_null()) ? 0 : fd__internal(x);
	if (!json_is_object(v))
		return page_invalid(x, i, "screenProps",
		                    "must be an object or null");
	json_object_foreach((json_t *)v, k, m)
	{
		if (!listed(k, colour_keys) && strcmp(k, "fontFamily") != 0) {
			snprintf(name, sizeof(name), "screenProps.%s", k);
			return page_invalid(
			        x, i, name,
			        "is not a screen prop (backgroundColor, "
			        "primaryColor, secondaryColor, textColor, "
			        "fontFamily)");
		}
	}
	if (!(*out = json_object()))
		return fd__internal(x);
	for (j = 0; colour_keys[j]; j++) {
		m = json_object_get(v, colour_keys[j]);
		s = json_string_value(m);
		snprintf(name, sizeof(name), "screenProps.%s", colour_keys[j]);
		if (m && !json_is_null(m) && !colour_ok(s))
			goto bad_colour;
		json_object_set_new(*out, colour_keys[j],
		                    s ? json_string(s) : json_null());
	}
	m = json_object_get(v, "fontFamily");
	s = json_string_value(m);
	if (m && !json_is_null(m) && !font_ok(s)) {
		json_decref(*out);
		*out = NULL;
		return page_invalid(x, i, "screenProps.fontFamily",
		                    "must be a font-family list of up to 128 "
		                    "letters, digits, spaces, commas, quotes, "
		                    "'.', '-' and '_', or null");
	}
	json_object_set_new(*out, "fontFamily",
	                    s ? json_string(s) : json_null());
	return 0;
bad_colour:
	json_decref(*out);
	*out = NULL;
	return page_invalid(x, i, name, "must be a colour #RRGGBB, or null");
}

/* The page's own text (title, body, buttonText): strings or null. */
static int page_text(fd_ctx *x, size_t i, const json_t *v, json_t *out)
{
	static const char *const keys[] = {"title", "body", "buttonText", NULL};
	json_t *m;
	int j;

	for (j = 0; keys[j]; j++) {
		m = json_object_get(v, keys[j]);
		if (!m || json_is_null(m))
			continue;
		if (!json_is_string(m) || json_string_length(m) > MAX_TEXT)
			return page_invalid(x, i, keys[j],
			                    "must be a string of at most 2000 "
			                    "bytes, or null");
		json_object_set(out, keys[j], m);
	}
	return 0;
}

/* id and placementId of page i, checked, into id and pl (a new id when
 * none is given). 0 or -1. */
static int page_ids(fd_ctx *x, size_t i, const json_t *v, char *id, char *pl,
                    size_t len)
{
	const json_t *jid = json_object_get(v, "id");
	const json_t *jpl = json_object_get(v, "placementId");

	if (!jid || json_is_null(jid)) {
		if (flock__id_new(id, "cpg_") < 0)
			return fd__internal(x);
	} else if (!token_ok(json_string_value(jid))) {
		return page_invalid(x, i, "id",
		                    "must be 1 to 64 letters, digits, '-' or "
		                    "'_'");
	} else {
		snprintf(id, len, "%s", json_string_value(jid));
	}
	/* Android opens /placements/{page.placementId} even for a page it
	 * found by its id (FlockSDK.kt:247, :319): a page without one is
	 * given its id, so it never opens /placements/null. */
	if (!jpl || json_is_null(jpl))
		snprintf(pl, len, "%s", id);
	else if (!token_ok(json_string_value(jpl)))
		return page_invalid(x, i, "placementId",
		                    "must be 1 to 64 letters, digits, '-' or "
		                    "'_', or null");
	else
		snprintf(pl, len, "%s", json_string_value(jpl));
	return 0;
}

/* Only the fields a campaign page has (page_keys). 0 or -1. */
static int page_known_keys(fd_ctx *x, size_t i, const json_t *v)
{
	const char *k;
	json_t *m;
	char name[96];

	json_object_foreach((json_t *)v, k, m)
	{
		if (listed(k, page_keys))
			continue;
		snprintf(name, sizeof(name), "%.64s", k);
		return page_invalid(x, i, name,
		                    "is not a field of a campaign page (id, "
		                    "path, placementId, isEmpty, screenProps, "
		                    "title, body, buttonText)");
	}
	return 0;
}

/* Page i of v into a new object in the SDKs' shape (their models' key
 * order): 0 and *out, or -1. */
static int page_one(fd_ctx *x, size_t i, const json_t *v, json_t **out)
{
	const json_t *empty, *jpath;
	char id[80], pl[80];
	json_t *p, *sp = NULL;

	*out = NULL;
	if (!json_is_object(v))
		return page_invalid(x, i, NULL, "must be an object");
	empty = json_object_get(v, "isEmpty");
	jpath = json_object_get(v, "path");
	if (page_known_keys(x, i, v) < 0)
		return -1;
	if (!jpath || json_is_null(jpath))
		return page_invalid(x, i, "path", "is required");
	if (!listed(json_string_value(jpath), screens))
		return page_invalid(
		        x, i, "path",
		        "must be one of: referrer, invitee, success");
	if (empty && !json_is_null(empty) && !json_is_boolean(empty))
		return page_invalid(x, i, "isEmpty", "must be a boolean");
	if (page_ids(x, i, v, id, pl, sizeof(id)) < 0 ||
	    screen_props(x, i, json_object_get(v, "screenProps"), &sp) < 0)
		return -1;
	p = json_pack("{s:s, s:O, s:s, s:b, s:o}", "id", id, "path", jpath,
	              "placementId", pl, "isEmpty", json_is_true(empty),
	              "screenProps", sp);
	if (!p)
		return fd__internal(x);
	if (page_text(x, i, v, p) < 0) {
		json_decref(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* No two pages share an id or a placement id, or one's placement id is
 * another's id: the SDKs take the first page whose placementId or id is
 * the one asked for (Flock.swift:147, FlockSDK.kt:247). */
static int pages_distinct(fd_ctx *x, const json_t *pages)
{
	const json_t *a, *b;
	size_t i, j;

	json_array_foreach(pages, i, a)
	{
		const char *ai = fd__jstr(a, "id"),
		           *ap = fd__jstr(a, "placementId");

		json_array_foreach(pages, j, b)
		{
			const char *bi = fd__jstr(b, "id"),
			           *bp = fd__jstr(b, "placementId");

			if (j >= i)
				break;
			if (!strcmp(ai, bi))
				return page_invalid(
				        x, i, "id",
				        "is the id of another page");
			if (!strcmp(ap, bp) || !strcmp(ap, bi) ||
			    !strcmp(ai, bp))
				return page_invalid(
				        x, i, "placementId",
				        "is the placement id or id of another "
				        "page");
		}
	}
	return 0;
}

int fd__campaign_pages(fd_ctx *x, const json_t *v, json_t **out)
{
	json_t *pages, *p, *item;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return (*out = json_array()) ? 0 : fd__internal(x);
	if (!json_is_array(v))
		return fd__invalid(x, "campaignPages", "must be an array");
	if (json_array_size(v) > MAX_PAGES)
		return fd__invalid(x, "campaignPages",
		                   "must have at most 64 pages");
	if (!(pages = json_array()))
		return fd__internal(x);
	json_array_foreach(v, i, item)
	{
		if (page_one(x, i, item, &p) < 0 ||
		    json_array_append_new(pages, p) < 0)
			goto fail;
	}
	if (pages_distinct(x, pages) < 0)
		goto fail;
	*out = pages;
	return 0;
fail:
	json_decref(pages);
	return -1;
}

/* ---- what a hosted page shows ---------------------------------------- */

/* The campaign of the page: campaignId, else the live one of the
 * environment. FD_OK, FD_NOTFOUND or FD_ERR. */
static int page_campaign(fd_ctx *x, const char *cid, const char *env,
                         json_t **k)
{
	int rc;

	if (cid) {
		rc = fd_store_campaign_get(x->c, x->app, cid, k);
		if (rc != FD_NOTFOUND)
			return rc;
	}
	rc = fd_store_campaign_live(x->c, x->app, env, k);
	if (rc == FD_OK && !fd__campaign_running(x, *k)) {
		json_decref(*k);
		*k = NULL;
		rc = FD_NOTFOUND;
	}
	return rc;
}

/* The page of k that placement (a placementId or a page id, as the SDKs
 * look it up) or path names; NULL if none (borrowed). */
static json_t *find_page(const json_t *k, const char *placement,
                         const char *path)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(k, "campaignPages"), i, p)
	{
		const char *pl = fd__jstr(p, "placementId"),
		           *id = fd__jstr(p, "id"), *pa = fd__jstr(p, "path");

		if (placement && ((pl && !strcmp(pl, placement)) ||
		                  (id && !strcmp(id, placement))))
			return p;
		if (!placement && path && pa && !strcmp(pa, path))
			return p;
	}
	return NULL;
}

/* The campaign as a page shows it: its words and what it pays. */
static json_t *page_campaign_view(const json_t *k)
{
	json_t *rewards = json_array(), *r, *one;
	size_t i;
	int j;

	json_array_foreach(json_object_get(k, "rewards"), i, r)
	{
		const char *f;

		if (!(one = json_object()))
			break;
		if (json_object_get(r, "party"))
			json_object_set(one, "party",
			                json_object_get(r, "party"));
		for (j = 0; (f = fd__reward_term_fields[j]); j++)
			if (json_object_get(r, f))
				json_object_set(one, f, json_object_get(r, f));
		json_array_append_new(rewards, one);
	}
	return json_pack("{s:O, s:O, s:O, s:O?, s:O?, s:o}", "id",
	                 json_object_get(k, "id"), "name",
	                 json_object_get(k, "name"), "environment",
	                 json_object_get(k, "environment"), "inviteMessage",
	                 json_object_get(k, "inviteMessage"), "termsUrl",
	                 json_object_get(k, "termsUrl"), "rewards", rewards);
}

/* The customer as a page shows it: never the email or external id. */
static json_t *page_customer_view(const json_t *c)
{
	const json_t *by = json_object_get(c, "referredBy");

	return json_pack(
	        "{s:O, s:O?, s:O, s:o}", "id", json_object_get(c, "id"), "name",
	        json_object_get(c, "name"), "referralCode",
	        json_object_get(c, "referralCode"), "referredBy",
	        json_is_object(by) ? json_pack("{s:O?}", "name",
	                                       json_object_get(by, "name"))
	                           : json_null());
}

/* A key limited to one environment sees only that environment's
 * campaigns. */
static int env_allowed(fd_ctx *x, const json_t *k)
{
	const fd_principal *who = x->req->who;
	const char *env = fd__jstr(k, "environment");

	if (!who || !who->environment[0] ||
	    (env && !strcmp(env, who->environment)))
		return 0;
	return fd__fail(x, FD_OUT_FORBIDDEN, "forbidden",
	                "this key is limited to the %s environment",
	                who->environment);
}

/* The page's customer (customerId, optional) into *view. 0 or -1. */
static int page_customer(fd_ctx *x, json_t **view)
{
	const char *id = fd__qstr(x, "customerId");
	json_t *c = NULL;
	int rc;

	*view = NULL;
	if (!id)
		return (*view = json_null()) ? 0 : fd__internal(x);
	rc = fd_store_customer_get(x->c, x->app, FD_BY_ID, id, &c);
	if (rc == FD_NOTFOUND)
		return fd__not_found(x, "customer");
	if (rc != FD_OK)
		return fd__internal(x);
	*view = page_customer_view(c);
	json_decref(c);
	return *view ? 0 : fd__internal(x);
}

static int page_context(fd_ctx *x)
{
	const char *placement = fd__qstr(x, "placementId");
	const char *path = fd__qstr(x, "path"), *env = fd__env(x);
	json_t *k = NULL, *page, *cus = NULL;
	int rc;

	if (!placement && !path)
		return fd__missing(x, "placementId");
	if (path && !placement && !listed(path, screens))
		return fd__fail(x, FD_OUT_NOT_FOUND, "page_not_found",
		                "no page %s", path);
	if (!env)
		return fd__invalid(x, "environment",
		                   "must be one of: production, test");
	rc = page_campaign(x, fd__qstr(x, "campaignId"), env, &k);
	if (rc == FD_NOTFOUND)
		return fd__fail(x, FD_OUT_NOT_FOUND, "no_live_campaign",
		                "no live campaign in %s", env);
	if (rc != FD_OK)
		return fd__internal(x);
	page = find_page(k, placement, path);
	rc = -1;
	if (placement && !page)
		fd__fail(x, FD_OUT_NOT_FOUND, "page_not_found",
		         "the campaign has no page %s", placement);
	else if (env_allowed(x, k) == 0 && page_customer(x, &cus) == 0)
		rc = fd__ok(x, FD_OUT_OK,
		            json_pack("{s:s, s:O?, s:o, s:o}", "screen",
		                      page ? fd__jstr(page, "path") : path,
		                      "page", page, "campaign",
		                      page_campaign_view(k), "customer", cus));
	json_decref(k);
	return rc;
}

FD_READ_OP(fd_op_page_context, page_context)

/* ---- a referral landing page's visit --------------------------------- */

/* The product's sign-up URL with the code: refereeLandingPageUrl (http
 * or https only) and "ref=CODE" added to its query. NULL: none (or out
 * of memory). */
static json_t *landing_url(const json_t *k, const char *code)
{
	const char *u = fd__jstr(k, "refereeLandingPageUrl");
	size_t n, frag;
	flock__buf b = FLOCK__BUF_INIT;
	const char *hex = "0123456789ABCDEF";
	json_t *out;

	if (!u ||
	    (strncasecmp(u, "https://", 8) && strncasecmp(u, "http://", 7)))
		return json_null();
	n = strlen(u);
	frag = strcspn(u, "#");
	flock__buf_put(&b, u, frag);
	flock__buf_puts(&b, memchr(u, '?', frag) ? "&ref=" : "?ref=");
	for (; *code; code++) {
		unsigned char c = (unsigned char)*code;
		if ((c >= '0' && c <= '9') ||
		    ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			flock__buf_put(&b, (const char *)&c, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			flock__buf_put(&b, e, 3);
		}
	}
	flock__buf_put(&b, u + frag, n - frag);
	out = b.oom ? NULL : json_stringn(b.ptr ? b.ptr : "", b.len);
	flock__buf_free(&b);
	return out;
}

static json_t *visit_answer(const char *code, const json_t *referrer,
                            const json_t *k)
{
	/* The landing page is the invitee's: themed as the campaign's
	 * invitee page. */
	const json_t *page = k ? find_page(k, NULL, "invitee") : NULL;

	if (!referrer)
		return json_pack("{s:b, s:s, s:n, s:n, s:n, s:n}", "isValid", 0,
		                 "referralCode", code, "referrer", "campaign",
		                 "landingUrl", "screenProps");
	return json_pack("{s:b, s:O, s:{s:O?}, s:o, s:o, s:O?}", "isValid", 1,
	                 "referralCode",
	                 json_object_get(referrer, "referralCode"), "referrer",
	                 "name", json_object_get(referrer, "name"), "campaign",
	                 k ? page_campaign_view(k) : json_null(), "landingUrl",
	                 k ? landing_url(k, code) : json_null(), "screenProps",
	                 json_object_get(page, "screenProps"));
}

static int referral_visit(fd_ctx *x)
{
	const char *code = fd__bstr(x, "referralCode"), *env = fd__env(x);
	json_t *referrer = NULL, *k = NULL;
	int rc;

	if (!code || !*code)
		return fd__missing(x, "referralCode");
	if (!env)
		return fd__invalid(x, "environment",
		                   "must be one of: production, test");
	rc = fd_store_customer_get(x->c, x->app, FD_BY_CODE, code, &referrer);
	if (rc == FD_NOTFOUND)
		return fd__ok(x, FD_OUT_OK, visit_answer(code, NULL, NULL));
	if (rc != FD_OK)
		return fd__internal(x);
	rc = page_campaign(x, fd__bstr(x, "campaignId"), env, &k);
	if (rc == FD_OK && env_allowed(x, k) < 0) {
		rc = -1;
		goto done;
	}
	if (rc == FD_OK)
		env = fd__jstr(k, "environment");
	else if (rc != FD_NOTFOUND)
		goto internal;
	/* A visit: the referrer's visitedReferralsCount and the funnel's
	 * referral visits of the campaign's environment. */
	if (fd_store_customer_count(x->c, x->app, fd__jstr(referrer, "id"), 1,
	                            0, x->now) != FD_OK)
		goto internal;
	fd__count_visit(x, env);
	rc = fd__ok(x, FD_OUT_OK, visit_answer(code, referrer, k));
	goto done;
internal:
	rc = fd__internal(x);
done:
	json_decref(referrer);
	json_decref(k);
	return rc;
}

FD_WRITE_OP(fd_op_referral_visit, referral_visit)
