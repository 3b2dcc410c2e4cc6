/*
 * One logical call: build the request, send it through the transport,
 * retry what may be retried, and turn the outcome into a JSON body or an
 * error code with its detail.
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "error.h"
#include "json.h"

/*
 * Retry-After values are kept up to a day (the queue honours long ones);
 * the retry loop below still gives up beyond FLOCK_RETRY_AFTER_MAX_MS.
 */
#define RETRY_AFTER_CEIL_S 86400L

/* How one attempt ended. */
typedef struct {
	int code;            /* 0 or FLOCK_E* */
	int retryable;       /* may another attempt help? */
	long retry_after_ms; /* -1: the server did not say */
	int too_large;       /* the body passed max_response_bytes */
} outcome;

static int is_retryable_status(int status)
{
	return status == 409 || status == 429 ||
	       (status >= 500 && status <= 599);
}

static int status_code(int status)
{
	switch (status) {
	case 400:
	case 413:
		return FLOCK_EREQUEST;
	case 401:
		return FLOCK_EAUTH;
	case 403:
		return FLOCK_EPERM;
	case 404:
		return FLOCK_ENOTFOUND;
	case 409:
		return FLOCK_ECONFLICT;
	case 422:
		return FLOCK_EIDEMPOTENCY;
	case 429:
		return FLOCK_ERATELIMIT;
	default:
		break;
	}
	if (status >= 500 && status <= 599)
		return FLOCK_ESERVER;
	if (status >= 400 && status <= 499)
		return FLOCK_EREQUEST;
	return FLOCK_EBADRESPONSE;
}

/*
 * Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). -1 when
 * absent or unreadable; a date in the past means "now".
 */
static long parse_retry_after(const char *v)
{
	char *end;
	long s;
	time_t when;

	if (v == NULL || v[0] == '\0')
		return -1;
	if (v[0] >= '0' && v[0] <= '9') {
		errno = 0;
		s = strtol(v, &end, 10);
		if (*end != '\0')
			return -1;
		if (errno == ERANGE || s > RETRY_AFTER_CEIL_S)
			return RETRY_AFTER_CEIL_S * 1000;
		return s * 1000;
	}
	when = curl_getdate(v, NULL);
	if (when == (time_t)-1)
		return -1;
	s = (long)(when - (time_t)(flock__now_ms() / 1000));
	if (s <= 0)
		return 0;
	return (s > RETRY_AFTER_CEIL_S ? RETRY_AFTER_CEIL_S : s) * 1000;
}

/* Exponential back-off with "equal jitter": half fixed, half random. */
static long backoff_ms(const flock_client *c, int attempt)
{
	long d = c->retry_base_ms;
	uint32_t r = 0;
	int i;

	for (i = 0; i < attempt && d < c->retry_cap_ms; i++)
		d *= 2;
	if (d > c->retry_cap_ms)
		d = c->retry_cap_ms;
	if (d < 2)
		return d;
	if (flock__random_bytes(&r, sizeof(r)) != 0)
		r = (uint32_t)flock__mono_ms();
	return d - d / 2 + (long)(r % (uint32_t)(d / 2 + 1));
}

static void real_sleep(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* NestJS sends "message" as a string, or an array of them (validation). */
static void join_messages(flock__buf *out, const json_t *m)
{
	size_t i;
	const json_t *v;

	if (json_is_string(m)) {
		flock__buf_puts(out, json_string_value(m));
		return;
	}
	json_array_foreach(m, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (out->len)
			flock__buf_puts(out, "; ");
		flock__buf_puts(out, json_string_value(v));
	}
}

/*
 * A server that echoes the key back ("unknown key sk_...") must not get it
 * into an error message that ends up in a log. Keys shorter than the mark
 * are left alone: replacing them would mangle ordinary words.
 */
static void redact_key(char *msg, const char *key)
{
	static const char mark[] = "[redacted]";
	size_t klen = strlen(key), mlen = sizeof(mark) - 1;
	char *p;

	if (klen < mlen)
		return;
	while ((p = strstr(msg, key)) != NULL) {
		memcpy(p, mark, mlen);
		memmove(p + mlen, p + klen, strlen(p + klen) + 1);
	}
}

/* Set the error for an HTTP response that is not a success. */
static int http_error(const flock_client *c, const flock__call *call,
                      const flock_http_response *resp, int code, int retries)
{
	flock__error_detail d = {0};
	flock__buf msg = FLOCK__BUF_INIT;
	json_t *body = NULL;
	const char *server_code = NULL, *body_req_id = NULL;

	if (resp->body.len)
		body = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
	if (json_is_object(body)) {
		join_messages(&msg, json_object_get(body, "message"));
		if (msg.len == 0)
			join_messages(&msg, json_object_get(body, "error"));
		server_code = json_string_value(json_object_get(body, "code"));
		body_req_id =
		        json_string_value(json_object_get(body, "requestId"));
	}
	if (msg.len == 0)
		flock__buf_printf(&msg, "%s %s: HTTP %d", call->method,
		                  call->path, resp->status);
	if (!msg.oom)
		redact_key(msg.ptr, c->access_key);
	d.http_status = resp->status;
	d.message = msg.oom ? NULL : msg.ptr;
	d.server_code = server_code;
	d.request_id = flock__response_header(resp, "X-Request-Id");
	if (d.request_id == NULL)
		d.request_id = body_req_id;
	d.retries = retries;
	flock__error_set_detail(code, &d);
	flock__buf_free(&msg);
	json_decref(body);
	return code;
}

/* The transport failed: keep its message if it left one for this code. */
static int transport_error(const flock__call *call, int code, int retries)
{
	const flock_error *e = flock_error_last();
	char msg[FLOCK__ERROR_MSG_MAX];
	flock__error_detail d = {0};

	if (code != FLOCK_ETIMEOUT && code != FLOCK_ENETWORK &&
	    code != FLOCK_ENOMEM)
		code = FLOCK_ENETWORK;
	if (e && e->code == code && e->message[0])
		snprintf(msg, sizeof(msg), "%s", e->message);
	else
		snprintf(msg, sizeof(msg), "%s %s: %s", call->method,
		         call->path, flock_strerror(code));
	d.message = msg;
	d.retries = retries;
	return flock__error_set_detail(code, &d);
}

static int take_success(const flock__call *call, flock_http_response *resp,
                        flock__reply *reply)
{
	const char *rid = flock__response_header(resp, "X-Request-Id");

	reply->http_status = resp->status;
	if (rid && (reply->request_id = strdup(rid)) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	reply->raw_len = resp->body.len;
	reply->raw = flock__buf_detach(&resp->body);
	if (reply->raw == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	return call->text_reply ? 0 : flock__reply_json(reply, call);
}

int flock__reply_json(flock__reply *reply, const flock__call *call)
{
	json_error_t jerr;

	if (reply->json != NULL)
		return 0;
	reply->json =
	        json_loadb(reply->raw, reply->raw_len, JSON_DECODE_ANY, &jerr);
	if (reply->json == NULL && flock__json_oom(&jerr))
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	if (reply->json == NULL)
		return flock__reply_bad(reply,
		                        "%s %s: HTTP %d with a body "
		                        "that is not JSON: %s",
		                        call->method, call->path,
		                        reply->http_status, jerr.text);
	return 0;
}

/* Perform one attempt and classify it. */
static outcome attempt(flock_client *c, const flock__call *call,
                       const flock_http_request *req, flock_http_response *resp,
                       int n)
{
	outcome o = {0, 0, -1, 0};
	int64_t t0 = flock__mono_ms();
	int rc;

	flock__response_reset(resp);
	flock__error_clear();
	rc = c->transport.send(c->transport.userdata, req, resp);
	if (resp->too_large || rc == FLOCK_EBADRESPONSE) {
		/* refused as too large: the same answer would come again */
		o.code = FLOCK_EBADRESPONSE;
		o.too_large = 1;
		return o;
	}
	if (rc == 0 && resp->oom)
		rc = FLOCK_ENOMEM;
	if (rc != 0) {
		flock__log(c, FLOCK_LOG_DEBUG,
		           "%s %s: %s after %lld ms "
		           "(attempt %d)",
		           call->method, call->path, flock_strerror(rc),
		           (long long)(flock__mono_ms() - t0), n + 1);
		o.code = rc == FLOCK_ETIMEOUT ? FLOCK_ETIMEOUT
		         : rc == FLOCK_ENOMEM ? FLOCK_ENOMEM
		                              : FLOCK_ENETWORK;
		o.retryable = o.code != FLOCK_ENOMEM;
		return o;
	}
	flock__log(c, FLOCK_LOG_DEBUG, "%s %s: HTTP %d in %lld ms (attempt %d)",
	           call->method, call->path, resp->status,
	           (long long)(flock__mono_ms() - t0), n + 1);
	if (resp->status >= 200 && resp->status <= 299)
		return o;
	if (resp->status < 100 || resp->status > 599) {
		/* A transport that returned 0 but recorded no real status. */
		o.code = FLOCK_EBADRESPONSE;
		return o;
	}
	o.code = status_code(resp->status);
	o.retryable = is_retryable_status(resp->status);
	o.retry_after_ms =
	        parse_retry_after(flock__response_header(resp, "Retry-After"));
	return o;
}

/* How long to wait before attempt n+1, or -1 to stop retrying. */
static long retry_delay(flock_client *c, const outcome *o, int n,
                        int max_retries)
{
	if (!o->retryable || n >= max_retries)
		return -1;
	if (o->retry_after_ms > FLOCK_RETRY_AFTER_MAX_MS) {
		flock__log(c, FLOCK_LOG_WARN,
		           "Retry-After beyond %d s: "
		           "not retrying",
		           FLOCK_RETRY_AFTER_MAX_MS / 1000);
		return -1;
	}
	if (o->retry_after_ms >= 0)
		return o->retry_after_ms;
	return backoff_ms(c, n);
}

static int finish_error(const flock_client *c, const flock__call *call,
                        const flock_http_response *resp, const outcome *o,
                        int retries)
{
	flock__error_detail d = {0};
	char msg[256];

	if (o->too_large) {
		snprintf(msg, sizeof(msg),
		         "%s %s: response body larger than max_response_bytes "
		         "(%zu bytes)",
		         call->method, call->path, c->max_response_bytes);
		d.message = msg;
		d.http_status = resp->status;
		d.retries = retries;
		return flock__error_set_detail(o->code, &d);
	}
	if (o->code == FLOCK_EBADRESPONSE && resp->status < 100) {
		snprintf(msg, sizeof(msg),
		         "%s %s: the transport reported "
		         "no HTTP status (%d)",
		         call->method, call->path, resp->status);
		d.message = msg;
		d.http_status = resp->status;
		d.retries = retries;
		return flock__error_set_detail(o->code, &d);
	}
	if (resp->status > 0 && o->code != FLOCK_ENOMEM)
		return http_error(c, call, resp, o->code, retries);
	return transport_error(call, o->code, retries);
}

static int run(flock_client *c, const flock__call *call,
               const flock_http_request *req, flock__reply *reply,
               flock__call_ctl *ctl)
{
	flock_http_response resp;
	outcome o;
	long delay;
	int n, rc;
	int max_retries = ctl && ctl->max_retries >= 0 ? ctl->max_retries
	                                              : c->max_retries;

	flock__response_init(&resp, c->max_response_bytes);
	for (n = 0;; n++) {
		o = attempt(c, call, req, &resp, n);
		if (o.code == 0) {
			reply->retries = n;
			rc = take_success(call, &resp, reply);
			break;
		}
		delay = retry_delay(c, &o, n, max_retries);
		if (delay < 0) {
			if (ctl) {
				ctl->retryable = o.retryable;
				ctl->retry_after_ms = o.retry_after_ms;
			}
			rc = finish_error(c, call, &resp, &o, n);
			break;
		}
		flock__log(c, FLOCK_LOG_INFO, "%s %s: %s, retry %d in %ld ms",
		           call->method, call->path, flock_strerror(o.code),
		           n + 1, delay);
		if (c->sleep_cb)
			c->sleep_cb(delay, c->sleep_userdata);
		else
			real_sleep(delay);
	}
	flock__response_free(&resp);
	return rc;
}

/*
 * Idempotency-Keys from a per-thread buffer of random bytes, refilled by
 * one RAND_bytes() call per 32 keys: OpenSSL's DRBG costs about as much
 * per call as all of libflock's own work on a request. The keys only
 * need to be unique, and they are (128 random bits each). A fork would
 * hand the child the parent's unused bytes, and two processes would send
 * the same keys: the child's buffer is emptied at fork.
 */
#define TOKEN_BYTES 16
#define TOKEN_POOL (32 * TOKEN_BYTES)

static _Thread_local unsigned char token_pool[TOKEN_POOL];
static _Thread_local size_t token_left; /* unused bytes at the pool's end */
static pthread_once_t token_once = PTHREAD_ONCE_INIT;

static void token_forget(void)
{
	/* in the child, the one thread left is the one that forked */
	token_left = 0;
}

static void token_setup(void)
{
	pthread_atfork(NULL, NULL, token_forget);
}

static int new_token(char out[2 * TOKEN_BYTES + 1])
{
	pthread_once(&token_once, token_setup);
	if (token_left < TOKEN_BYTES) {
		if (flock__random_bytes(token_pool, sizeof(token_pool)) != 0)
			return -1;
		token_left = sizeof(token_pool);
	}
	flock__hex_encode(out, token_pool + sizeof(token_pool) - token_left,
	                  TOKEN_BYTES);
	/* used bytes are not kept: no later key can be derived from them */
	memset(token_pool + sizeof(token_pool) - token_left, 0, TOKEN_BYTES);
	token_left -= TOKEN_BYTES;
	return 0;
}

static int check_idempotency_key(const char *key)
{
	const char *p;

	if (key[0] == '\0' || strlen(key) > FLOCK__IDEMPOTENCY_KEY_MAX)
		return flock__error_set(FLOCK_EINVAL, "idempotency_key must be "
		                                      "1 to 255 characters");
	for (p = key; *p; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return flock__error_set(FLOCK_EINVAL,
			                        "idempotency_key must be "
			                        "printable ASCII without "
			                        "spaces");
	}
	return 0;
}

int flock__request(flock_client *c, const flock__call *call,
                   flock__reply *reply)
{
	return flock__request_ctl(c, call, reply, NULL);
}

int flock__request_ctl(flock_client *c, const flock__call *call,
                       flock__reply *reply, flock__call_ctl *ctl)
{
	flock_http_header h[6];
	flock_http_request req = {0};
	char token[33], url_buf[256], *url = NULL, *heap_url = NULL;
	char *body = NULL;
	const char *key = call->idempotency_key;
	size_t n = 0, body_len = 0, base_len, path_len;
	int rc, post = strcmp(call->method, "POST") == 0;

	if (key && (rc = check_idempotency_key(key)) != 0)
		return rc;
	if (post && key == NULL) {
		if (new_token(token) != 0)
			return flock__error_set(FLOCK_ERROR, "no randomness "
			                                     "for an "
			                                     "Idempotency-Key");
		key = token;
	}
	if (call->body_text == NULL && call->body &&
	    (rc = flock__json_body(&body, &body_len, call->body)))
		return rc;
	base_len = strlen(c->base_url);
	path_len = strlen(call->path);
	url = base_len + path_len < sizeof(url_buf)
	              ? url_buf
	              : (heap_url = malloc(base_len + path_len + 1));
	if (url == NULL) {
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(url, c->base_url, base_len);
	memcpy(url + base_len, call->path, path_len + 1);
	h[n++] = (flock_http_header){"Authorization", c->access_key};
	h[n++] = (flock_http_header){"User-Agent", c->user_agent};
	h[n++] = (flock_http_header){"Accept", "application/json"};
	if (post) {
		h[n++] =
		        (flock_http_header){"Content-Type", "application/json"};
		h[n++] = (flock_http_header){"Idempotency-Key", key};
	}
	req.method = call->method;
	req.url = url;
	req.headers = h;
	req.header_count = n;
	req.body = call->body_text ? call->body_text : body;
	req.body_len = call->body_text ? call->body_len : body ? body_len : 0;
	req.timeout_ms = c->timeout_ms;
	req.connect_timeout_ms = c->connect_timeout_ms;
	req.max_response_bytes = c->max_response_bytes;
	if (ctl) {
		ctl->retryable = 0;
		ctl->retry_after_ms = -1;
	}
	rc = run(c, call, &req, reply, ctl);
done:
	free(heap_url);
	free(body);
	return rc;
}

void flock__reply_free(flock__reply *reply)
{
	json_decref(reply->json);
	free(reply->raw);
	free(reply->request_id);
	memset(reply, 0, sizeof(*reply));
}

int flock__reply_bad(const flock__reply *reply, const char *fmt, ...)
{
	char msg[FLOCK__ERROR_MSG_MAX];
	flock__error_detail d = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d.http_status = reply->http_status;
	d.message = msg;
	d.request_id = reply->request_id;
	d.retries = reply->retries;
	return flock__error_set_detail(FLOCK_EBADRESPONSE, &d);
}
