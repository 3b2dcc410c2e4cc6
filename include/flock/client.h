/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_CLIENT_H
#define FLOCK_CLIENT_H

/**
 * @file flock/client.h
 * @brief The client handle, its options and the pluggable transport.
 *
 * A flock_client holds the access key, the base URL, the retry policy and
 * a pool of kept-alive connections. One client may be shared by any number
 * of threads; create it once at start-up and free it at shutdown.
 */

#include "common.h"
#include "errors.h"

FLOCK_BEGIN_DECL

/** Opaque client handle. */
typedef struct flock_client flock_client;

/** One HTTP header, for the transport. */
typedef struct {
	const char *name;
	const char *value;
} flock_http_header;

/** One HTTP request, as handed to a transport. Valid during send() only. */
typedef struct {
	/** "GET" or "POST". */
	const char *method;
	/** Absolute URL: base URL plus path and query. */
	const char *url;
	/** Headers to send (Authorization, Content-Type, Idempotency-Key...). */
	const flock_http_header *headers;
	size_t header_count;
	/** Body bytes (may be NULL when body_len is 0); not NUL-terminated. */
	const char *body;
	size_t body_len;
	/** Time allowed for the whole exchange, and for connecting. */
	long timeout_ms;
	long connect_timeout_ms;
	/**
	 * The client's max_response_bytes (never 0): a body longer than this
	 * is refused anyway (flock_http_response_append_body() says
	 * FLOCK_EBADRESPONSE); a transport may refuse it sooner, e.g. from
	 * Content-Length, by returning FLOCK_EBADRESPONSE. Added in 0.2.
	 */
	size_t max_response_bytes;
} flock_http_request;

/** Opaque response under construction; fill it with the setters below. */
typedef struct flock_http_response flock_http_response;

/** Set the status code (e.g. 201). */
FLOCK_EXTERN(void) flock_http_response_set_status(flock_http_response *resp,
                                                 int status);
/**
 * Append body bytes (copied). Call as often as data arrives.
 * @return 0, FLOCK_ENOMEM, or FLOCK_EBADRESPONSE once the body would
 *         exceed the request's max_response_bytes (stop reading then: the
 *         call fails with FLOCK_EBADRESPONSE whatever send() returns)
 */
FLOCK_EXTERN(int) flock_http_response_append_body(flock_http_response *resp,
                                                 const char *data, size_t len);
/**
 * Record a response header (copied). Names compare case-insensitively;
 * libflock reads Retry-After and X-Request-Id.
 * @return 0 or FLOCK_ENOMEM
 */
FLOCK_EXTERN(int) flock_http_response_set_header(flock_http_response *resp,
                                                const char *name,
                                                const char *value);

#define FLOCK_TRANSPORT_VERSION 1

/**
 * A transport performs single HTTP exchanges; libflock does everything
 * else (retries, idempotency keys, JSON, errors) above it. The default is
 * libcurl. Plug your own in to route through another HTTP stack, or to
 * script responses and faults in unit tests.
 */
typedef struct {
	/** FLOCK_TRANSPORT_VERSION */
	unsigned int version;
	/** Passed back to every callback. */
	void *userdata;
	/**
	 * Perform one exchange. Return 0 once any HTTP response (whatever its
	 * status) has been recorded in `resp`; FLOCK_ETIMEOUT if none came in
	 * time; FLOCK_ENETWORK if none could be had at all;
	 * FLOCK_EBADRESPONSE if the response was refused as larger than
	 * req->max_response_bytes (not retried). Called from every thread that
	 * uses the client, concurrently: it must be thread-safe.
	 */
	int (*send)(void *userdata, const flock_http_request *req,
	            flock_http_response *resp);
	/** Called once by flock_client_free(); may be NULL. */
	void (*free)(void *userdata);
} flock_transport;

/**
 * Retry policy. A call is retried when the connection failed or timed out,
 * or the server answered 409, 429 or 5xx; never on another 4xx. Before
 * retry n (0-based) it waits a random delay between d/2 and d, where
 * d = min(retry_cap_ms, retry_base_ms * 2^n). When the response carries
 * `Retry-After` (delay-seconds or an HTTP-date), it waits exactly that
 * instead, even beyond retry_cap_ms, up to FLOCK_RETRY_AFTER_MAX_MS; a
 * longer Retry-After ends the retries and the call returns the error.
 * So one call can take up to (max_retries + 1) * timeout_ms plus the waits.
 */
#define FLOCK_RETRY_AFTER_MAX_MS 60000

/** Sleep hook for retry back-off (tests record delays instead of waiting). */
typedef void (*flock_sleep_cb)(long ms, void *userdata);

/** max_retries: no retries at all (0 means the default, 2). */
#define FLOCK_NO_RETRIES (-1)
/** max_response_bytes when 0: 4 MiB. */
#define FLOCK_DEFAULT_MAX_RESPONSE_BYTES ((size_t)4 * 1024 * 1024)

/*
 * Version 2 (libflock 0.2): max_response_bytes added; max_retries 0 means
 * the default. Version 1 is still accepted, with its own meaning of
 * max_retries (-1 the default, 0 none) and no response cap member.
 */
#define FLOCK_CLIENT_OPTIONS_VERSION 2

/**
 * Client options. Initialise with FLOCK_CLIENT_OPTIONS_INIT, or memset to
 * 0 and set `version`: every member's 0 (or NULL) means its default.
 */
typedef struct {
	/** FLOCK_CLIENT_OPTIONS_VERSION */
	unsigned int version;
	/** Service access key (`sk_...`). Required. Copied. */
	const char *access_key;
	/**
	 * Base URL, without trailing slash. NULL: the environment variable
	 * FLOCK_BASE_URL if set, else https://api.withflock.com. Copied.
	 */
	const char *base_url;
	/** Timeout of one attempt in ms; 0: 30000. */
	long timeout_ms;
	/** Connect timeout in ms; 0: 10000. */
	long connect_timeout_ms;
	/** Retries after the first attempt; 0: the default (2); FLOCK_NO_RETRIES: none. */
	int max_retries;
	/** First back-off delay in ms; 0: 500. Doubled each retry, with jitter. */
	long retry_base_ms;
	/**
	 * Longest computed back-off delay in ms; 0: 5000. A server's
	 * Retry-After is honoured up to FLOCK_RETRY_AFTER_MAX_MS instead.
	 */
	long retry_cap_ms;
	/** Appended to the User-Agent ("libflock/0.2.0 <suffix>"); may be NULL. */
	const char *user_agent_suffix;
	/** CA bundle file for TLS; NULL: the system's. */
	const char *ca_path;
	/**
	 * Transport; NULL: libcurl. The struct is copied; its free() is
	 * called by flock_client_free(). If flock_client_new() fails, free()
	 * is not called and the userdata stays the caller's.
	 */
	const flock_transport *transport;
	/** Log callback; NULL: silent. */
	flock_log_cb log_cb;
	void *log_userdata;
	/** Sleep used between retries; NULL: the real one. */
	flock_sleep_cb sleep_cb;
	void *sleep_userdata;
	/* --- version 2 --- */
	/**
	 * Largest response body read, in bytes; 0: FLOCK_DEFAULT_MAX_RESPONSE_BYTES.
	 * A longer one (or a Content-Length announcing one) ends the call
	 * with FLOCK_EBADRESPONSE, without retrying, before it is all read.
	 */
	size_t max_response_bytes;
} flock_client_options;

#define FLOCK_CLIENT_OPTIONS_INIT {FLOCK_CLIENT_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0}

/**
 * Initialise options to their defaults: the same as
 * FLOCK_CLIENT_OPTIONS_INIT for the current version. For version 1, only
 * the members version 1 has are written (max_retries -1, its default).
 * @return 0, or FLOCK_EINVAL if opts is NULL or version unknown
 */
FLOCK_EXTERN(int) flock_client_options_init(flock_client_options *opts,
                                           unsigned int version);

/**
 * Create a client.
 *
 * @param out   receives the client; free it with flock_client_free()
 * @param opts  options; everything is copied, so they may go after the call
 * @return 0, FLOCK_EINVAL (no access key, a key or suffix with control
 *         characters, a base URL that is not absolute http(s), a negative
 *         timeout, max_retries below FLOCK_NO_RETRIES, an unknown options
 *         or transport version), FLOCK_ENOMEM, or FLOCK_ERROR if libcurl
 *         could not be set up
 */
FLOCK_EXTERN(int) flock_client_new(flock_client **out,
                                  const flock_client_options *opts);

/**
 * Free a client and close its connections. No call may be running on it.
 * Accepts NULL.
 */
FLOCK_EXTERN(void) flock_client_free(flock_client *client);

/** The base URL the client talks to. Owned by the client. */
FLOCK_EXTERN(const char *) flock_client_base_url(const flock_client *client);

FLOCK_END_DECL

#endif
