/*
 * A CheckpointResult read both ways must come out the same: objects.c's
 * scan of the text (flock__checkpoint_result_parse(), which reads a flat
 * result without a JSON tree and hands anything else to jansson) against
 * the tree path alone (json_loadb, then the tree reader), as every result
 * was read before the scan. Same return code, same error message, same
 * struct member by member; any difference aborts. Used by
 * fuzz/fuzz_result.c and tests/lib/test_result_scan.c.
 */
#ifndef FLOCK_FUZZ_RESULT_SAME_H
#define FLOCK_FUZZ_RESULT_SAME_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flock.h>

#include "lib/objects.h"

static int result_str_same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void result_same_structs(const flock_checkpoint_result *a,
                                const flock_checkpoint_result *b)
{
	size_t i;

	if (!result_str_same(a->id, b->id) ||
	    !result_str_same(a->checkpoint_name, b->checkpoint_name) ||
	    !result_str_same(a->customer_id, b->customer_id) ||
	    !result_str_same(a->environment, b->environment) ||
	    a->matched != b->matched ||
	    !result_str_same(a->blocked_by, b->blocked_by) ||
	    !result_str_same(a->raw_json, b->raw_json) ||
	    (a->referral == NULL) != (b->referral == NULL) ||
	    a->reward_count != b->reward_count ||
	    (a->rewards == NULL) != (b->rewards == NULL))
		abort();
	if (a->referral &&
	    (!result_str_same(a->referral->id, b->referral->id) ||
	     !result_str_same(a->referral->raw_json, b->referral->raw_json)))
		abort();
	for (i = 0; i < a->reward_count; i++) {
		if (!result_str_same(a->rewards[i]->id, b->rewards[i]->id) ||
		    !result_str_same(a->rewards[i]->raw_json,
		                     b->rewards[i]->raw_json))
			abort();
	}
}

/* A reply holding a copy of body, as flock__request() leaves it. */
static int result_reply(flock__reply *r, const char *body, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->http_status = 201;
	r->raw_len = len;
	if ((r->raw = malloc(len + 1)) == NULL)
		return -1;
	memcpy(r->raw, body, len);
	r->raw[len] = '\0';
	return 0;
}

/*
 * Read body both ways; abort if they differ. Returns the code (0 when it
 * is a CheckpointResult), or -1 when there was no memory to try.
 */
static int result_read_both(const char *body, size_t len)
{
	flock__call call = {"POST", "/checkpoints/ingest", NULL, NULL, NULL, 0,
	                    1};
	flock__reply fast, tree;
	flock_checkpoint_result *a = NULL, *b = NULL;
	char msg[1024];
	int ra, rb;

	if (result_reply(&fast, body, len) != 0)
		return -1;
	if (result_reply(&tree, body, len) != 0) {
		flock__reply_free(&fast);
		return -1;
	}
	ra = flock__checkpoint_result_parse(&a, &fast, &call);
	snprintf(msg, sizeof(msg), "%s", ra ? flock_error_last()->message : "");
	rb = flock__reply_json(&tree, &call);
	if (rb == 0)
		rb = flock__checkpoint_result_parse_tree(&b, &tree);
	if (ra == FLOCK_ENOMEM || rb == FLOCK_ENOMEM) {
		ra = -1;
	} else if (ra != rb) {
		abort();
	} else if (ra != 0) {
		if (strcmp(msg, flock_error_last()->message) != 0)
			abort();
	} else {
		result_same_structs(a, b);
	}
	flock_checkpoint_result_free(a);
	flock_checkpoint_result_free(b);
	flock__reply_free(&fast);
	flock__reply_free(&tree);
	return ra;
}

#endif
