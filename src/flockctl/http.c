/*
 * flockctl: HTTP for the admin API, over libcurl.
 *
 * Why not libflock: libflock's transport contract (flock/client.h) is one
 * whole GET or POST answer per call, which is all the wire API needs. The
 * admin API also has PATCH and DELETE, and listen needs a streaming GET;
 * growing libflock's public transport contract for a tool would change
 * what every custom transport must do. So flockctl keeps this small
 * client of its own, with libflock's rules: an Idempotency-Key on every
 * call that changes something, the same key on each retry, retries after
 * no answer, 429 and 5xx only, errors by class.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/ids.h"
#include "ctl.h"

#define RETRIES 3

struct ctl_http {
	CURL *curl;
	long timeout_ms;
	char user_agent[64];
};

void resp_free(ctl_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

int ctl_status_code(int status)
{
	if (status >= 200 && status < 300)
		return CTL_OK;
	if (status == 401 || status == 403)
		return CTL_EAUTH;
	if (status == 404)
		return CTL_ENOTFOUND;
	if (status == 409 || status == 422)
		return CTL_ECONFLICT;
	if (status == 429 || status >= 500)
		return CTL_ESERVER;
	if (status >= 400)
		return CTL_EINVALID;
	return status == 0 ? CTL_ENETWORK : CTL_ESERVER;
}

ctl_http *http_new(const ctl *c)
{
	ctl_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (!(h->curl = curl_easy_init())) {
		free(h);
		return NULL;
	}
	h->timeout_ms = c->timeout_ms;
	snprintf(h->user_agent, sizeof(h->user_agent), "flockctl/%s",
	         FLOCKCTL_VERSION);
	return h;
}

void http_free(ctl_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	flock__buf *b = ud;

	return flock__buf_put(b, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	ctl_resp *r = ud;
	size_t len = size * n;
	const char name[] = "x-request-id:";

	if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t off = sizeof(name) - 1, end = len;

		while (off < len && p[off] == ' ')
			off++;
		while (end > off && (p[end - 1] == '\r' || p[end - 1] == '\n'))
			end--;
		snprintf(r->request_id, sizeof(r->request_id), "%.*s",
		         (int)(end - off), p + off);
	}
	return len;
}

int http_send(ctl_http *h, const char *method, const char *url,
              const char *const *headers, const char *body, size_t len,
              ctl_resp *out)
{
	struct curl_slist *hs = NULL;
	flock__buf b = FLOCK__BUF_INIT;
	CURL *c = h->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cc;

	memset(out, 0, sizeof(*out));
	for (; headers && *headers; headers++)
		hs = curl_slist_append(hs, *headers);
	hs = curl_slist_append(hs, "Expect:");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body || strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(body ? len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	}
	cc = curl_easy_perform(c);
	curl_slist_free_all(hs);
	if (cc != CURLE_OK) {
		snprintf(out->error, sizeof(out->error), "%s",
		         errbuf[0] ? errbuf : curl_easy_strerror(cc));
		flock__buf_free(&b);
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	out->status = (int)status;
	if (flock__buf_put(&b, "", 1) < 0) {
		flock__buf_free(&b);
		snprintf(out->error, sizeof(out->error), "out of memory");
		out->status = 0;
		return 0;
	}
	out->len = b.len - 1;
	out->body = flock__buf_detach(&b);
	out->json = json_loadb(out->body, out->len, JSON_DECODE_ANY, NULL);
	return 0;
}

int http_error(const ctl_resp *r, const char *what)
{
	const char *msg =
	        json_string_value(json_object_get(r->json, "message"));
	const char *code = json_string_value(json_object_get(r->json, "code"));
	int rc = ctl_status_code(r->status);

	if (r->status == 0)
		return ctl_fail(CTL_ENETWORK, "%s: no answer: %s", what,
		                r->error);
	if (rc == CTL_OK) /* a 2xx the caller could not read */
		return ctl_fail(CTL_ESERVER,
		                "%s: HTTP %d with a body that is "
		                "not JSON",
		                what, r->status);
	fprintf(stderr, "flockctl: %s: %s (HTTP %d%s%s%s%s)\n", what,
	        msg ? msg : "error", r->status, code ? ", " : "",
	        code ? code : "", r->request_id[0] ? ", request " : "",
	        r->request_id);
	return rc;
}

static int retryable(const ctl_resp *r)
{
	return r->status == 0 || r->status == 429 || r->status == 502 ||
	       r->status == 503 || r->status == 504 || r->status == 500;
}

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

const char *url_part(const char *s)
{
	static char ring[8][512];
	static int next;
	char *out = ring[next++ % 8], *esc;

	esc = curl_easy_escape(NULL, s ? s : "", 0);
	snprintf(out, 512, "%s", esc ? esc : "");
	curl_free(esc);
	return out;
}

int admin_call(ctl *c, const char *method, const char *path, json_t *body,
               const char *idem, json_t **out)
{
	char url[4096], auth[600], key[80], what[600], token[33];
	const char *hdr[5];
	char *text = NULL;
	ctl_resp r;
	int attempt, rc, n = 0;

	*out = NULL;
	if (!c->admin_token)
		return ctl_fail(
		        CTL_EAUTH,
		        "no admin token: set FLOCK_ADMIN_TOKEN, pass "
		        "--admin-token-file FILE, or add admin_token to "
		        "the profile (flockctl config set)");
	if (!c->http && !(c->http = http_new(c)))
		return ctl_fail(CTL_EFAIL, "out of memory");
	snprintf(url, sizeof(url), "%s%s", c->base_url, path);
	snprintf(auth, sizeof(auth), "Authorization: %s", c->admin_token);
	snprintf(what, sizeof(what), "%s %s", method, path);
	hdr[n++] = auth;
	hdr[n++] = "Content-Type: application/json";
	hdr[n++] = "Accept: application/json";
	if (strcmp(method, "GET") != 0) {
		if (!idem && flock__token_hex(token) == 0)
			idem = token;
		snprintf(key, sizeof(key), "Idempotency-Key: flockctl-%s",
		         idem ? idem : "");
		if (idem)
			hdr[n++] = key;
	}
	hdr[n] = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return ctl_fail(CTL_EFAIL, "out of memory");
	for (attempt = 0;; attempt++) {
		http_send(c->http, method, url, hdr, text,
		          text ? strlen(text) : 0, &r);
		if (!retryable(&r) || attempt >= RETRIES)
			break;
		resp_free(&r);
		nap(200L << attempt);
	}
	free(text);
	rc = ctl_status_code(r.status);
	if (rc == CTL_OK && r.json) {
		*out = json_incref(r.json);
	} else {
		rc = http_error(&r, what);
	}
	resp_free(&r);
	return rc;
}

int admin_callf(ctl *c, const char *method, json_t *body, json_t **out,
                const char *fmt, ...)
{
	char path[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return admin_call(c, method, path, body, NULL, out);
}
