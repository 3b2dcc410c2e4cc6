/*
 * Internal: the client, responses and the request layer shared by the
 * files of libflock. Nothing here is exported.
 */
#ifndef FLOCK_LIB_INTERNAL_H
#define FLOCK_LIB_INTERNAL_H

#include <flock/client.h>
#include <jansson.h>

#include "common/buf.h"

/* Defaults documented in include/flock/client.h. */
#define FLOCK__DEFAULT_BASE_URL "https://api.withflock.com"
#define FLOCK__DEFAULT_TIMEOUT_MS 30000L
#define FLOCK__DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define FLOCK__DEFAULT_MAX_RETRIES 2
#define FLOCK__DEFAULT_RETRY_BASE_MS 500L
#define FLOCK__DEFAULT_RETRY_CAP_MS 5000L
/* The server caps Idempotency-Key at 255 characters. */
#define FLOCK__IDEMPOTENCY_KEY_MAX 255

struct flock_client {
	char *access_key;
	char *base_url;
	char *user_agent;
	long timeout_ms;
	long connect_timeout_ms;
	int max_retries;
	long retry_base_ms;
	long retry_cap_ms;
	flock_transport transport;
	flock_log_cb log_cb;
	void *log_userdata;
	flock_sleep_cb sleep_cb;
	void *sleep_userdata;
	size_t max_response_bytes;
};

/* --- responses (response.c) -------------------------------------------- */

typedef struct {
	char *name;
	char *value;
} flock__header;

struct flock_http_response {
	int status;
	flock__buf body;
	size_t max_body; /* the client's max_response_bytes */
	int too_large;   /* the body went past max_body */
	flock__header *headers; /* `small`, or allocated past it */
	size_t header_count;
	size_t header_cap;
	int oom; /* a setter failed to allocate */
	/*
	 * Room for the few headers a call keeps (X-Request-Id, Retry-After)
	 * without an allocation per name and value; longer ones go to the
	 * heap.
	 */
	flock__header small[4];
	char small_text[256];
	size_t small_used;
};

void flock__response_init(flock_http_response *resp, size_t max_body);
/* Forget status, body and headers, keeping allocations for reuse. */
void flock__response_reset(flock_http_response *resp);
/* Drop the headers only (a new header block began, e.g. after a 100). */
void flock__response_clear_headers(flock_http_response *resp);
void flock__response_free(flock_http_response *resp);
/* The value of the last header of that name (any case), or NULL. */
const char *flock__response_header(const flock_http_response *resp,
                                   const char *name);

/* --- the libcurl transport (transport_curl.c) --------------------------- */

/* Fill `out` with a new libcurl transport. 0 or FLOCK_ENOMEM / ERROR. */
int flock__transport_curl_new(flock_transport *out, const char *ca_path);

/* --- one logical call (request.c) ---------------------------------------- */

typedef struct {
	const char *method;          /* "GET" or "POST" */
	const char *path;            /* with query, already escaped */
	const json_t *body;          /* POST body, or NULL */
	const char *idempotency_key; /* POST only; NULL: generated */
	/* The POST body as JSON text instead of `body`: body_len bytes. */
	const char *body_text;
	size_t body_len;
	/*
	 * The caller reads the body text itself and leaves reply->json NULL
	 * until it calls flock__reply_json() (objects.c scans flat replies).
	 */
	int text_reply;
} flock__call;

/* What a successful call brought back. */
typedef struct {
	int http_status;
	json_t *json;     /* the parsed body (owned) */
	char *raw;        /* the body text, NUL-terminated (owned) */
	char *request_id; /* X-Request-Id, or NULL (owned) */
	int retries;
	size_t raw_len; /* the body's length (it may hold NUL bytes) */
} flock__reply;

#define FLOCK__REPLY_INIT                                                      \
	{                                                                      \
		0, NULL, NULL, NULL, 0, 0                                      \
	}

/*
 * Perform a call: headers, Idempotency-Key, retries, error mapping. On
 * success `reply` holds a JSON body; on failure the thread-local error is
 * set and the code returned.
 */
int flock__request(flock_client *client, const flock__call *call,
                   flock__reply *reply);
void flock__reply_free(flock__reply *reply);

/*
 * For a text_reply call: parse reply->raw into reply->json, as
 * flock__request() does for other calls. 0, or FLOCK_ENOMEM, or
 * FLOCK_EBADRESPONSE for a body that is not JSON (the error says so).
 */
int flock__reply_json(flock__reply *reply, const flock__call *call);

/*
 * For callers that schedule their own retries (queue.c): the retries to
 * make inside the call, and what the last failed attempt said.
 */
typedef struct {
	int max_retries;     /* in: after the first attempt; -1: the client's */
	int retryable;       /* out: might another attempt succeed? */
	long retry_after_ms; /* out: the last answer's Retry-After, -1: none */
} flock__call_ctl;

/* flock__request() with ctl (which may be NULL: the same as it). */
int flock__request_ctl(flock_client *client, const flock__call *call,
                       flock__reply *reply, flock__call_ctl *ctl);

/*
 * Set FLOCK_EBADRESPONSE with the exchange's status and request id, for a
 * success body that is not what the API documents. Returns the code.
 */
int flock__reply_bad(const flock__reply *reply, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;

/* Log through the client's callback, if any. Never pass secrets. */
void flock__log(const flock_client *client, flock_log_level level,
                const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 3, 4)))
#endif
        ;

#endif
