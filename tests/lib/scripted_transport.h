/*
 * A scripted transport for unit tests: a test double of the network,
 * which is the one thing a unit test cannot have for real. It records every
 * request libflock hands it and answers from a queue of canned responses
 * or faults (timeouts, connection failures), or from a handler function.
 * Real HTTP is covered by tests/lib/test_curl_transport.c.
 */
#ifndef FLOCK_TEST_SCRIPTED_TRANSPORT_H
#define FLOCK_TEST_SCRIPTED_TRANSPORT_H

#include <flock.h>
#include <jansson.h>
#include <stddef.h>

typedef struct scripted scripted;

/* One recorded request (copies of everything libflock sent). */
typedef struct {
	char *method;
	char *url;
	char *body; /* NUL-terminated copy, NULL when there was none */
	size_t body_len;
	flock_http_header *headers; /* names and values are copies */
	size_t header_count;
	long timeout_ms;
	long connect_timeout_ms;
} st_request;

/*
 * Computes a response for a request instead of the queue. Return 0 after
 * filling resp, or FLOCK_ETIMEOUT / FLOCK_ENETWORK for a fault.
 */
typedef int (*st_handler)(const flock_http_request *req,
                          flock_http_response *resp, void *userdata);

scripted *st_new(void);
/* Frees the script and its recordings; the client using it must be gone. */
void st_free(scripted *st);
/* The vtable to put in flock_client_options.transport (free is NULL). */
flock_transport st_transport(scripted *st);

/* Queue a response; the variadic part is header name/value pairs, NULL. */
void st_push(scripted *st, int status, const char *body, ...);
/* Queue a fault: FLOCK_ETIMEOUT or FLOCK_ENETWORK. */
void st_push_fault(scripted *st, int code);
/* Answer with `fn` when the queue is empty (thread-safe use). */
void st_set_handler(scripted *st, st_handler fn, void *userdata);

/* Requests recorded so far (not counted in handler mode). */
size_t st_count(scripted *st);
const st_request *st_req(scripted *st, size_t i);
/* A header of a recorded request (case-insensitive name), or NULL. */
const char *st_header(const st_request *r, const char *name);
/* The body parsed as JSON (caller decrefs), failing the test if invalid. */
json_t *st_json(const st_request *r);

/* A client on the script: key "sk_test_key", base http://flock.test. */
flock_client *st_client(scripted *st, int max_retries);

/* Delays the client asked to sleep (recorded by st_client's sleep_cb). */
size_t st_sleep_count(scripted *st);
long st_sleep(scripted *st, size_t i);

#endif
