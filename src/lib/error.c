/*
 * The thread-local detail of the last failure, and flock_strerror().
 *
 * Each thread owns one fixed-size record, so reporting an error never
 * allocates (it must work when malloc has just failed) and nothing needs
 * freeing at thread exit.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	int set;
	flock_error pub;
	char message[FLOCK__ERROR_MSG_MAX];
	char server_code[FLOCK__ERROR_ID_MAX];
	char request_id[FLOCK__ERROR_ID_MAX];
} error_state;

static _Thread_local error_state tls_error;

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void flock__error_clear(void)
{
	tls_error.set = 0;
}

static void error_begin(int code)
{
	error_state *e = &tls_error;

	memset(&e->pub, 0, sizeof(e->pub));
	e->set = 1;
	e->pub.code = code;
	e->pub.message = e->message;
	e->message[0] = '\0';
}

int flock__error_set(int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	error_begin(code);
	va_start(ap, fmt);
	n = vsnprintf(tls_error.message, sizeof(tls_error.message), fmt, ap);
	va_end(ap);
	if (n < 0)
		copy_str(tls_error.message, sizeof(tls_error.message),
		         flock_strerror(code));
	return code;
}

int flock__error_set_detail(int code, const flock__error_detail *detail)
{
	error_state *e = &tls_error;
	const char *msg = detail->message;

	error_begin(code);
	if (msg == NULL || msg[0] == '\0')
		msg = flock_strerror(code);
	copy_str(e->message, sizeof(e->message), msg);
	e->pub.http_status = detail->http_status;
	e->pub.retries = detail->retries;
	if (detail->server_code) {
		copy_str(e->server_code, sizeof(e->server_code),
		         detail->server_code);
		e->pub.server_code = e->server_code;
	}
	if (detail->request_id) {
		copy_str(e->request_id, sizeof(e->request_id),
		         detail->request_id);
		e->pub.request_id = e->request_id;
	}
	return code;
}

void flock__error_annotate(int http_status, const char *request_id, int retries)
{
	error_state *e = &tls_error;

	if (!e->set)
		return;
	e->pub.http_status = http_status;
	e->pub.retries = retries;
	if (request_id) {
		copy_str(e->request_id, sizeof(e->request_id), request_id);
		e->pub.request_id = e->request_id;
	}
}

const flock_error *flock_error_last(void)
{
	return tls_error.set ? &tls_error.pub : NULL;
}

void flock_error_clear(void)
{
	flock__error_clear();
}

const char *flock_strerror(int code)
{
	switch (code) {
	case FLOCK_OK:
		return "success";
	case FLOCK_ERROR:
		return "error";
	case FLOCK_EINVAL:
		return "invalid argument";
	case FLOCK_ENOMEM:
		return "out of memory";
	case FLOCK_EAUTH:
		return "authentication failed";
	case FLOCK_EPERM:
		return "permission denied";
	case FLOCK_ENOTFOUND:
		return "not found";
	case FLOCK_ECONFLICT:
		return "conflict";
	case FLOCK_ERATELIMIT:
		return "rate limited";
	case FLOCK_ETIMEOUT:
		return "timed out";
	case FLOCK_ENETWORK:
		return "network error";
	case FLOCK_ESERVER:
		return "server error";
	case FLOCK_EBADRESPONSE:
		return "bad response from server";
	case FLOCK_EREQUEST:
		return "request refused by server";
	case FLOCK_EIDEMPOTENCY:
		return "idempotency key reused with another request";
	case FLOCK_ESIG_MISSING:
		return "webhook signature missing";
	case FLOCK_ESIG_MALFORMED:
		return "webhook signature malformed";
	case FLOCK_ESIG_MISMATCH:
		return "webhook signature mismatch";
	case FLOCK_ESIG_EXPIRED:
		return "webhook timestamp too old";
	case FLOCK_ESIG_FUTURE:
		return "webhook timestamp in the future";
	case FLOCK_EPAYLOAD:
		return "webhook payload is not an event";
	case FLOCK_ESECRET:
		return "webhook secret invalid";
	case FLOCK_ITEROVER:
		return "no more items";
	case FLOCK_EFULL:
		return "queue full";
	case FLOCK_ESPOOL:
		return "queue spool unusable";
	case FLOCK_EFORKED:
		return "queue belongs to the parent process";
	default:
		return "unknown error";
	}
}
