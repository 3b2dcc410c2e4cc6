/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_ERRORS_H
#define FLOCK_ERRORS_H

/**
 * @file flock/errors.h
 * @brief Error codes and the detail of the last failed call.
 *
 * Every function that can fail returns an int: 0 on success or one of the
 * negative codes below. The detail of the failure (HTTP status, the
 * server's `code`, message, request id, retries) is kept per thread and
 * read with flock_error_last().
 */

#include "common.h"

FLOCK_BEGIN_DECL

/** Return codes. Values are stable ABI: new codes are only ever added. */
typedef enum {
	FLOCK_OK = 0,
	/** Unclassified failure. */
	FLOCK_ERROR = -1,
	/** An argument was NULL, empty, out of range or malformed. */
	FLOCK_EINVAL = -2,
	/** Memory could not be allocated. */
	FLOCK_ENOMEM = -3,
	/** 401: the access key is missing or unknown. */
	FLOCK_EAUTH = -4,
	/** 403: the key may not do this (public key, other environment). */
	FLOCK_EPERM = -5,
	/** 404: the resource (customer, campaign, referral code...) does not exist. */
	FLOCK_ENOTFOUND = -6,
	/** 409: conflict, e.g. the same Idempotency-Key is still in flight. */
	FLOCK_ECONFLICT = -7,
	/** 429: rate limited; retried, then returned. */
	FLOCK_ERATELIMIT = -8,
	/** No response within the timeout. */
	FLOCK_ETIMEOUT = -9,
	/** Could not connect, resolve, or the connection broke. */
	FLOCK_ENETWORK = -10,
	/** 5xx from the server (after retries). */
	FLOCK_ESERVER = -11,
	/** The server's answer was not what the API documents (bad JSON...). */
	FLOCK_EBADRESPONSE = -12,
	/** 400 or 413: the server refused the request's content. */
	FLOCK_EREQUEST = -13,
	/** 422: Idempotency-Key reused with another body. */
	FLOCK_EIDEMPOTENCY = -14,
	/** Webhook: no signature header was given. */
	FLOCK_ESIG_MISSING = -20,
	/** Webhook: a signature header is present but malformed. */
	FLOCK_ESIG_MALFORMED = -21,
	/** Webhook: no signature matches the payload and secret. */
	FLOCK_ESIG_MISMATCH = -22,
	/** Webhook: the timestamp is older than the allowed max age. */
	FLOCK_ESIG_EXPIRED = -23,
	/** Webhook: the timestamp is further in the future than max age. */
	FLOCK_ESIG_FUTURE = -24,
	/** Webhook: the payload is not the JSON event envelope. */
	FLOCK_EPAYLOAD = -25,
	/** Webhook: the secret is empty or not of the form it must have. */
	FLOCK_ESECRET = -26,
	/** An iterator has no more items (not an error). */
	FLOCK_ITEROVER = -31,
	/** Queue: full (FLOCK_QUEUE_FULL_REFUSE), or the event is larger than it. */
	FLOCK_EFULL = -40,
	/** Queue: the spool file cannot be used (not a spool, corrupt, newer, in use, I/O). */
	FLOCK_ESPOOL = -41,
	/** Queue: this handle was inherited through fork(); it is the parent's. */
	FLOCK_EFORKED = -42
} flock_error_code;

/** Detail of the last failed call on the calling thread. */
typedef struct {
	/** The flock_error_code that was returned. */
	int code;
	/** HTTP status of the last attempt, or 0 if there was no response. */
	int http_status;
	/** What went wrong, for a human; never NULL, never contains secrets. */
	const char *message;
	/** The server's machine-readable `code` (e.g. "missing_field"), or NULL. */
	const char *server_code;
	/** The server's request id (`X-Request-Id`), or NULL. */
	const char *request_id;
	/** How many retries were made before giving up. */
	int retries;
} flock_error;

/**
 * The last error raised on this thread, or NULL if the last call that
 * sets errors succeeded. The pointer and its strings stay valid until the
 * next libflock call on this thread. Do not free.
 */
FLOCK_EXTERN(const flock_error *) flock_error_last(void);

/** Forget the last error of this thread. */
FLOCK_EXTERN(void) flock_error_clear(void);

/**
 * A short English description of a code ("not found"). Static storage;
 * an unknown code gives "unknown error".
 */
FLOCK_EXTERN(const char *) flock_strerror(int code);

FLOCK_END_DECL

#endif
