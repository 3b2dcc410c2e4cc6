/*
 * flockd: engine outcomes as HTTP statuses and error bodies (errors.h).
 */
#include "http/errors.h"

#include <stdlib.h>
#include <string.h>

#include "base/jdump.h"

/* One status per outcome, and one outcome per status, so a stored status
 * gives back the outcome it was made from. */
static const struct {
	fd_outcome outcome;
	int status;
} statuses[] = {
        {FD_OUT_OK, 200},           {FD_OUT_CREATED, 201},
        {FD_OUT_INVALID, 400},      {FD_OUT_UNAUTHORIZED, 401},
        {FD_OUT_FORBIDDEN, 403},    {FD_OUT_NOT_FOUND, 404},
        {FD_OUT_CONFLICT, 409},     {FD_OUT_KEY_REUSED, 422},
        {FD_OUT_RATE_LIMITED, 429}, {FD_OUT_INTERNAL, 500},
        {FD_OUT_UNAVAILABLE, 503},
};

#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

int fd_http_status(fd_outcome o)
{
	size_t i;

	for (i = 0; i < NSTATUSES; i++)
		if (statuses[i].outcome == o)
			return statuses[i].status;
	return 500;
}

/* FD_OUT_NONE for a status no outcome has. */
static fd_outcome outcome_of(int status)
{
	size_t i;

	for (i = 0; i < NSTATUSES; i++)
		if (statuses[i].status == status)
			return statuses[i].outcome;
	return FD_OUT_NONE;
}

const char *fd_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

json_t *fd_http_error_body(int status, const char *code, const char *message)
{
	const char *reason = fd_http_reason(status);
	json_t *b;

	if (!code)
		code = "error";
	b = json_pack("{s:i, s:s, s:s, s:s}", "statusCode", status, "error",
	              reason, "message", message, "code", code);
	/* A message quoting bad UTF-8 from a request still gets a body. */
	if (!b)
		b = json_pack("{s:i, s:s, s:s, s:s}", "statusCode", status,
		              "error", reason, "message", reason, "code", code);
	return b;
}

json_t *fd_http_answer(fd_response *res, int *status)
{
	json_t *body = res->body;

	res->body = NULL;
	if (fd_outcome_ok(res->outcome) && body) {
		*status = fd_http_status(res->outcome);
		return body;
	}
	json_decref(body);
	if (fd_outcome_ok(res->outcome) || res->outcome == FD_OUT_NONE) {
		*status = 500;
		return fd_http_error_body(500, "internal", "internal error");
	}
	*status = fd_http_status(res->outcome);
	return fd_http_error_body(*status, res->code, res->message);
}

/* ---- Idempotency-Key records ----------------------------------------- */

/* The status and the body as sent, so that a record replays the same
 * bytes whichever flockd wrote it. */
static int keep(const fd_response *res, int *code, char **text)
{
	json_t *err;

	*code = fd_http_status(res->outcome);
	if (fd_outcome_ok(res->outcome)) {
		/* An answer the engine wrote as text is kept as it is. */
		*text = res->text   ? strdup(res->text)
		        : res->body ? fd_jdump(res->body, NULL)
		                    : NULL;
	} else {
		err = fd_http_error_body(*code, res->code, res->message);
		*text = err ? fd_jdump(err, NULL) : NULL;
		json_decref(err);
	}
	return *text ? 0 : -1;
}

static int restore(fd_response *res, int code, const char *text)
{
	fd_outcome o = outcome_of(code);
	json_t *b = json_loads(text, JSON_DECODE_ANY, NULL);
	const char *err_code = json_string_value(json_object_get(b, "code"));
	const char *msg = json_string_value(json_object_get(b, "message"));

	if (b && fd_outcome_ok(o)) {
		json_decref(res->body);
		res->outcome = o;
		res->body = b;
		return 0;
	}
	/* An error is rebuilt from its code and message: the same body. */
	if (b && o != FD_OUT_NONE && err_code && msg)
		fd_fail(res, o, err_code, "%s", msg);
	else
		o = FD_OUT_NONE;
	json_decref(b);
	return o == FD_OUT_NONE ? -1 : 0;
}

static const fd_answer_codec answers = {keep, restore};

const fd_answer_codec *fd_http_answers(void)
{
	return &answers;
}
