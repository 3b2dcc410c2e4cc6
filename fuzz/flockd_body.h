/*
 * What the flockd body targets share (fuzz_identify.c, fuzz_ingest.c,
 * fuzz_referrals.c, fuzz_trigger.c, fuzz_campaign.c): the input is a
 * request body, checked as flockd's server checks it (http/server.c):
 * parsed by jansson, then the route's fields (fd_validate_body, which
 * also refuses nesting deeper than FD_JSON_MAX_DEPTH) and the route's
 * own check. A refusal must be FD_OUT_INVALID with a code and a message;
 * a body taken must be one flockd can write back: fd_jdump gives text
 * that jansson reads as the same value.
 */
#ifndef FLOCK_FUZZ_FLOCKD_BODY_H
#define FLOCK_FUZZ_FLOCKD_BODY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_same.h"

#include "base/jdump.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_body(const char *method, const char *path, const uint8_t *data,
                      size_t size)
{
	const fd_route *route = NULL;
	fd_params params;
	fd_response res;
	char allow[128], *text;
	json_t *body, *query, *back;
	int refused;

	if (fd_route_match(&route, &params, allow, sizeof(allow), method,
	                   path) != FD_MATCH_OK ||
	    !route->has_body)
		abort(); /* the target names a route that takes a body */
	body = json_loadb((const char *)data, size, 0, NULL);
	if (!body)
		return;
	if (!json_is_object(body)) {
		json_decref(body);
		return;
	}
	query = json_object();
	memset(&res, 0, sizeof(res));
	refused = fd_validate_body(route->body, body, &res) ||
	          (route->check && route->check(body, query, &res));
	if (refused) {
		if (res.outcome != FD_OUT_INVALID || !res.code[0] ||
		    !res.message[0])
			abort();
	} else {
		char field[128];

		if (fd_json_too_deep(body, FD_JSON_MAX_DEPTH, field,
		                     sizeof(field)))
			abort();
		text = fd_jdump(body, NULL);
		if (!text)
			abort();
		back = json_loads(text, 0, NULL);
		if (!back || !json_same(back, body))
			abort();
		json_decref(back);
		free(text);
	}
	json_decref(res.body);
	json_decref(query);
	json_decref(body);
}

#endif
