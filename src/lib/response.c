/*
 * The response a transport fills in. Setters copy everything, so a
 * transport may hand over its own short-lived buffers.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void flock__response_init(flock_http_response *resp, size_t max_body)
{
	memset(resp, 0, sizeof(*resp));
	resp->max_body = max_body;
}

/* Name and value are both in small_text, or both allocated. */
static int in_small_text(const flock_http_response *resp, const char *p)
{
	return p >= resp->small_text &&
	       p < resp->small_text + sizeof(resp->small_text);
}

void flock__response_clear_headers(flock_http_response *resp)
{
	size_t i;

	for (i = 0; i < resp->header_count; i++) {
		if (in_small_text(resp, resp->headers[i].name))
			continue;
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	resp->header_count = 0;
	resp->small_used = 0;
}

void flock__response_reset(flock_http_response *resp)
{
	flock__response_clear_headers(resp);
	flock__buf_clear(&resp->body);
	resp->status = 0;
	resp->oom = 0;
	resp->too_large = 0;
}

void flock__response_free(flock_http_response *resp)
{
	if (resp == NULL)
		return;
	flock__response_clear_headers(resp);
	if (resp->headers != resp->small)
		free(resp->headers);
	flock__buf_free(&resp->body);
	memset(resp, 0, sizeof(*resp));
}

const char *flock__response_header(const flock_http_response *resp,
                                   const char *name)
{
	size_t i = resp->header_count;

	while (i-- > 0) {
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	}
	return NULL;
}

void flock_http_response_set_status(flock_http_response *resp, int status)
{
	if (resp)
		resp->status = status;
}

int flock_http_response_append_body(flock_http_response *resp, const char *data,
                                    size_t len)
{
	if (resp == NULL || (data == NULL && len > 0))
		return FLOCK_EINVAL;
	if (resp->too_large || len > resp->max_body - resp->body.len) {
		resp->too_large = 1;
		return FLOCK_EBADRESPONSE;
	}
	if (flock__buf_put(&resp->body, data, len)) {
		resp->oom = 1;
		return FLOCK_ENOMEM;
	}
	return 0;
}

static int grow_headers(flock_http_response *resp)
{
	size_t cap;
	flock__header *h;

	if (resp->header_count < resp->header_cap)
		return 0;
	if (resp->header_cap == 0) {
		resp->headers = resp->small;
		resp->header_cap = sizeof(resp->small) / sizeof(resp->small[0]);
		return 0;
	}
	cap = resp->header_cap * 2;
	if (resp->headers == resp->small) {
		if ((h = malloc(cap * sizeof(*h))) != NULL)
			memcpy(h, resp->small, sizeof(resp->small));
	} else {
		h = realloc(resp->headers, cap * sizeof(*h));
	}
	if (h == NULL)
		return -1;
	resp->headers = h;
	resp->header_cap = cap;
	return 0;
}

int flock_http_response_set_header(flock_http_response *resp, const char *name,
                                   const char *value)
{
	char *n = NULL, *v = NULL;
	size_t nl, vl;

	if (resp == NULL || name == NULL || value == NULL)
		return FLOCK_EINVAL;
	if (grow_headers(resp)) {
		resp->oom = 1;
		return FLOCK_ENOMEM;
	}
	nl = strlen(name) + 1;
	vl = strlen(value) + 1;
	if (nl + vl <= sizeof(resp->small_text) - resp->small_used) {
		n = resp->small_text + resp->small_used;
		v = n + nl;
		memcpy(n, name, nl);
		memcpy(v, value, vl);
		resp->small_used += nl + vl;
	} else if ((n = strdup(name)) == NULL || (v = strdup(value)) == NULL) {
		free(n);
		resp->oom = 1;
		return FLOCK_ENOMEM;
	}
	resp->headers[resp->header_count].name = n;
	resp->headers[resp->header_count].value = v;
	resp->header_count++;
	return 0;
}
