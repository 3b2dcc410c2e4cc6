/*
 * The default transport: libcurl easy handles.
 *
 * Each call borrows an easy handle from a small pool (a LIFO stack under a
 * mutex) and returns it afterwards, so concurrent calls never share a
 * handle while sequential calls reuse the same one. Each handle keeps its
 * own kept-alive connection, and the next call, from whichever thread,
 * borrows the handle returned last, with its connection. All handles are
 * tied to one CURLSH that shares the DNS cache and TLS sessions, not the
 * connection cache: libcurl does not support sharing connections between
 * concurrent threads (CURLSHOPT_SHARE(3), CURL_LOCK_DATA_CONNECT), and its
 * locking cost about 2,000 instructions a call.
 */
#include "internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

/* Idle handles kept for reuse; more may exist while calls run. */
#define POOL_MAX 16

typedef struct {
	pthread_mutex_t pool_lock;
	CURL *idle[POOL_MAX];
	size_t idle_count;
	CURLSH *share;
	/* One lock per curl_lock_data, for the share's callbacks. */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	char *ca_path;
} curl_transport;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *userp)
{
	curl_transport *t = userp;

	(void)h;
	(void)a;
	pthread_mutex_lock(&t->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	curl_transport *t = userp;

	(void)h;
	pthread_mutex_unlock(&t->share_locks[data]);
}

static CURL *new_handle(curl_transport *t);

static CURL *pool_get(curl_transport *t)
{
	CURL *h = NULL;

	pthread_mutex_lock(&t->pool_lock);
	if (t->idle_count > 0)
		h = t->idle[--t->idle_count];
	pthread_mutex_unlock(&t->pool_lock);
	return h ? h : new_handle(t);
}

static void pool_put(curl_transport *t, CURL *h)
{
	pthread_mutex_lock(&t->pool_lock);
	if (t->idle_count < POOL_MAX) {
		t->idle[t->idle_count++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&t->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	/* Too large or no memory: the response records which. */
	if (flock_http_response_append_body(userp, data, size * n) != 0)
		return 0; /* makes curl fail the transfer with WRITE_ERROR */
	return size * n;
}

/* The response headers libflock reads (internal.h); others are not kept. */
static int wanted_header(const char *name, size_t len)
{
	return (len == 11 && strncasecmp(name, "Retry-After", 11) == 0) ||
	       (len == 12 && strncasecmp(name, "X-Request-Id", 12) == 0);
}

/* One header line, "Name: value\r\n"; status lines start a new block. */
static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
	flock_http_response *resp = userp;
	size_t len = size * n, name_len, v;
	char *colon = memchr(data, ':', len);
	char name[128], value[1024];

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		flock__response_clear_headers(resp);
		return len;
	}
	if (colon == NULL)
		return len;
	name_len = (size_t)(colon - data);
	if (!wanted_header(data, name_len))
		return len;
	v = name_len + 1;
	while (v < len && (data[v] == ' ' || data[v] == '\t'))
		v++;
	while (len > v && (data[len - 1] == '\r' || data[len - 1] == '\n' ||
	                   data[len - 1] == ' '))
		len--;
	/* Only short values matter (Retry-After, X-Request-Id). */
	if (len - v >= sizeof(value))
		return size * n;
	memcpy(name, data, name_len);
	name[name_len] = '\0';
	memcpy(value, data + v, len - v);
	value[len - v] = '\0';
	if (flock_http_response_set_header(resp, name, value) != 0)
		return 0;
	return size * n;
}

static struct curl_slist *make_headers(const flock_http_request *req)
{
	struct curl_slist *list = NULL, *next;
	flock__buf line = FLOCK__BUF_INIT;
	size_t i;

	/* curl adds "Expect: 100-continue" to large POSTs: one more RTT. */
	list = curl_slist_append(NULL, "Expect:");
	for (i = 0; list && i < req->header_count; i++) {
		flock__buf_clear(&line);
		flock__buf_puts(&line, req->headers[i].name);
		flock__buf_put(&line, ": ", 2);
		if (flock__buf_puts(&line, req->headers[i].value)) {
			curl_slist_free_all(list);
			list = NULL;
			break;
		}
		next = curl_slist_append(list, line.ptr);
		if (next == NULL) {
			curl_slist_free_all(list);
			list = NULL;
		}
		list = next;
	}
	flock__buf_free(&line);
	return list;
}

/*
 * The header list of one call on the stack: curl reads a CURLOPT_HTTPHEADER
 * list (public struct curl_slist nodes) during the transfer and never frees
 * or keeps it, so nodes and lines need not come from curl_slist_append(),
 * whose malloc per line, and free per line after, cost more than the rest
 * of the call's setup. Requests with more or longer headers than this holds
 * get a heap list (make_headers).
 */
#define STACK_HEADERS 8
#define STACK_HEADER_BYTES 1024

typedef struct {
	struct curl_slist nodes[STACK_HEADERS];
	char text[STACK_HEADER_BYTES];
} stack_headers;

/* The list in sh, or NULL when the request's headers do not fit. */
static struct curl_slist *stack_list(stack_headers *sh,
                                     const flock_http_request *req)
{
	static const char expect[] = "Expect:";
	size_t i, used = sizeof(expect), n, v;
	char *at = sh->text;

	if (req->header_count + 1 > STACK_HEADERS)
		return NULL;
	memcpy(at, expect, sizeof(expect));
	sh->nodes[0].data = at;
	at += sizeof(expect);
	for (i = 0; i < req->header_count; i++) {
		n = strlen(req->headers[i].name);
		v = strlen(req->headers[i].value);
		if (n + v + 3 > sizeof(sh->text) - used)
			return NULL;
		sh->nodes[i + 1].data = at;
		memcpy(at, req->headers[i].name, n);
		at[n] = ':';
		at[n + 1] = ' ';
		memcpy(at + n + 2, req->headers[i].value, v + 1);
		at += n + v + 3;
		used += n + v + 3;
		sh->nodes[i].next = &sh->nodes[i + 1];
	}
	sh->nodes[req->header_count].next = NULL;
	return sh->nodes;
}

#define SET(h, opt, val)                                                       \
	do {                                                                   \
		if (cc == CURLE_OK)                                            \
			cc = curl_easy_setopt(h, opt, val);                    \
	} while (0)

static size_t on_body(char *data, size_t size, size_t n, void *userp);
static size_t on_header(char *data, size_t size, size_t n, void *userp);

/*
 * A handle with the options that never change, set once: handles are
 * reused without curl_easy_reset(), which would drop and rebuild all of
 * them (and re-attach the share) on every call.
 */
static CURL *new_handle(curl_transport *t)
{
	CURL *h = curl_easy_init();
	CURLcode cc = CURLE_OK;

	if (h == NULL)
		return NULL;
	SET(h, CURLOPT_SHARE, t->share);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	SET(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(h, CURLOPT_NOSIGNAL, 1L);
	SET(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SET(h, CURLOPT_TCP_NODELAY, 1L);
	SET(h, CURLOPT_WRITEFUNCTION, on_body);
	SET(h, CURLOPT_HEADERFUNCTION, on_header);
	if (t->ca_path)
		SET(h, CURLOPT_CAINFO, t->ca_path);
	if (cc != CURLE_OK) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

/* The options of this call; every one of them is set on every call. */
static CURLcode setup(CURL *h, const flock_http_request *req,
                      struct curl_slist *headers, flock_http_response *resp,
                      char *errbuf)
{
	CURLcode cc = CURLE_OK;
	int post = strcmp(req->method, "POST") == 0;

	SET(h, CURLOPT_URL, req->url);
	SET(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	SET(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	SET(h, CURLOPT_HTTPHEADER, headers);
	SET(h, CURLOPT_WRITEDATA, resp);
	SET(h, CURLOPT_HEADERDATA, resp);
	SET(h, CURLOPT_ERRORBUFFER, errbuf);
	/* refuses a Content-Length over the cap before the body comes */
	SET(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_response_bytes);
	if (post) {
		SET(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(h, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
	} else {
		SET(h, CURLOPT_HTTPGET, 1L);
	}
	SET(h, CURLOPT_CUSTOMREQUEST,
	    post || strcmp(req->method, "GET") == 0 ? NULL : req->method);
	return cc;
}

/* Drop the pointers into this call's memory before the handle idles. */
static void forget_call(CURL *h)
{
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
}

#undef SET

static int map_curl_error(CURLcode cc, const char *errbuf,
                          const flock_http_request *req)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	int code = FLOCK_ENETWORK;

	if (cc == CURLE_OPERATION_TIMEDOUT)
		code = FLOCK_ETIMEOUT;
	else if (cc == CURLE_FILESIZE_EXCEEDED)
		code = FLOCK_EBADRESPONSE;
	else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR)
		code = FLOCK_ENOMEM;
	/* The URL carries no secret: the key only travels in a header. */
	return flock__error_set(code, "%s %.300s: %s", req->method, req->url,
	                        why);
}

static int curl_send(void *userdata, const flock_http_request *req,
                     flock_http_response *resp)
{
	curl_transport *t = userdata;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *heap = NULL;
	stack_headers sh;
	CURL *h = pool_get(t);
	long status = 0;
	CURLcode cc;
	int rc = 0;

	if (h != NULL && (headers = stack_list(&sh, req)) == NULL)
		headers = heap = make_headers(req);
	if (h == NULL || headers == NULL) {
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
		goto done;
	}
	cc = setup(h, req, headers, resp, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = map_curl_error(cc, errbuf, req);
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	flock_http_response_set_status(resp, (int)status);
done:
	curl_slist_free_all(heap);
	if (h) {
		forget_call(h);
		pool_put(t, h);
	}
	return rc;
}

static void curl_free_transport(void *userdata)
{
	curl_transport *t = userdata;
	size_t i;

	while (t->idle_count > 0)
		curl_easy_cleanup(t->idle[--t->idle_count]);
	if (t->share)
		curl_share_cleanup(t->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&t->share_locks[i]);
	pthread_mutex_destroy(&t->pool_lock);
	free(t->ca_path);
	free(t);
}

static int make_share(curl_transport *t)
{
	CURLSH *s = curl_share_init();
	CURLSHcode sc = CURLSHE_OK;

	if (s == NULL)
		return -1;
	t->share = s;
#define SSET(opt, val)                                                         \
	do {                                                                   \
		if (sc == CURLSHE_OK)                                          \
			sc = curl_share_setopt(s, opt, val);                   \
	} while (0)
	SSET(CURLSHOPT_LOCKFUNC, share_lock);
	SSET(CURLSHOPT_UNLOCKFUNC, share_unlock);
	SSET(CURLSHOPT_USERDATA, t);
	SSET(CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	SSET(CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
#undef SSET
	return sc == CURLSHE_OK ? 0 : -1;
}

int flock__transport_curl_new(flock_transport *out, const char *ca_path)
{
	curl_transport *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	pthread_mutex_init(&t->pool_lock, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&t->share_locks[i], NULL);
	if (ca_path && (t->ca_path = strdup(ca_path)) == NULL) {
		curl_free_transport(t);
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	if (make_share(t) != 0) {
		curl_free_transport(t);
		return flock__error_set(FLOCK_ERROR, "could not set up a "
		                                     "libcurl share");
	}
	memset(out, 0, sizeof(*out));
	out->version = FLOCK_TRANSPORT_VERSION;
	out->userdata = t;
	out->send = curl_send;
	out->free = curl_free_transport;
	return 0;
}
