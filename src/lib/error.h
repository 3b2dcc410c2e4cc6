/*
 * Internal: setting the thread-local error detail that flock_error_last()
 * returns. Every public entry point that can fail either calls
 * flock__error_clear() on entry and one of the setters on failure, or
 * returns a code straight from a setter:
 *
 *	if (params == NULL)
 *		return flock__error_set(FLOCK_EINVAL, "params is NULL");
 *
 * Messages are copied (and truncated to FLOCK__ERROR_MSG_MAX bytes), so
 * callers may pass stack buffers. Never put an access key or a webhook
 * secret in a message.
 */
#ifndef FLOCK_LIB_ERROR_H
#define FLOCK_LIB_ERROR_H

#include <flock/errors.h>

#define FLOCK__ERROR_MSG_MAX 1024
#define FLOCK__ERROR_ID_MAX 256

/* Forget the last error of this thread (flock_error_last() gives NULL). */
void flock__error_clear(void);

/*
 * Record an error without HTTP detail: status 0, no server code, no
 * request id, no retries. Returns `code`, so it can end a function.
 */
int flock__error_set(int code, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;

/* What an HTTP exchange told us about a failure; any member may be 0/NULL. */
typedef struct {
	int http_status;
	const char *message;     /* NULL: flock_strerror(code) */
	const char *server_code; /* the body's "code" */
	const char *request_id;  /* X-Request-Id, or the body's "requestId" */
	int retries;
} flock__error_detail;

/* Record an error with its HTTP detail. Returns `code`. */
int flock__error_set_detail(int code, const flock__error_detail *detail);

/*
 * Add what is known about the HTTP exchange to the current error, if there
 * is one (e.g. after a success body failed to parse). request_id may be
 * NULL.
 */
void flock__error_annotate(int http_status, const char *request_id,
                           int retries);

#endif
