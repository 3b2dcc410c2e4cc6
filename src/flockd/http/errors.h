/*
 * flockd: engine outcomes as HTTP, the one place that knows both.
 *
 * The engine answers with an fd_outcome and, for errors, a code and a
 * message (engine/engine.h); the server sends the outcome's status and,
 * for errors, the spec's body {statusCode, error, message, code} (plus
 * requestId, added by the server). The same mapping keeps and restores
 * the answers stored for Idempotency-Key replays (fd_http_answers).
 */
#ifndef FLOCKD_HTTP_ERRORS_H
#define FLOCKD_HTTP_ERRORS_H

#include <jansson.h>

#include "engine/engine.h"

/* The HTTP status of an outcome (FD_OUT_NONE: 500). */
int fd_http_status(fd_outcome o);

/* The reason phrase of a status ("Not Found"); never NULL. */
const char *fd_http_reason(int status);

/* The spec's error body (new reference, NULL only out of memory); code
 * NULL is "error". A message that is not valid UTF-8 becomes the reason
 * phrase, so the body can still be sent. */
json_t *fd_http_error_body(int status, const char *code, const char *message);

/*
 * What to send for res: *status, and the body (new reference): res's own
 * (taken: res->body becomes NULL) for a success, the error body for an
 * error. A success without a body, or no outcome, is sent as 500
 * internal. NULL only out of memory.
 */
json_t *fd_http_answer(fd_response *res, int *status);

/* The engine's Idempotency-Key records as status and body text
 * (fd_engine_config.answers). */
const fd_answer_codec *fd_http_answers(void);

#endif
