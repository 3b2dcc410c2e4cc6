/*
 * flockd: POST /admin/test/clock (test_clock.h).
 */
#include "http/test_clock.h"

#include "common/ids.h"

int fd_test_clock_enabled(fd_engine *e)
{
	return fd_clock_is_manual(fd_engine_clock(e));
}

void fd_op_test_clock(fd_engine *e, const fd_request *req, fd_response *res)
{
	fd_clock *c = fd_engine_clock(e);
	json_int_t ms =
	        json_integer_value(json_object_get(req->body, "advanceMs"));
	char iso[FLOCK__ISO8601_LEN];
	int64_t now;

	/* The server already answers 404 without --test-clock. */
	if (!fd_clock_is_manual(c)) {
		fd_fail(res, FD_OUT_NOT_FOUND, "not_found", "no such route");
		return;
	}
	if (ms > 0 && fd_clock_advance(c, (int64_t)ms) < 0) {
		fd_fail(res, FD_OUT_INTERNAL, "internal",
		        "the clock did not move");
		return;
	}
	now = fd_clock_now(c);
	flock__iso8601(iso, now);
	res->outcome = FD_OUT_OK;
	res->body =
	        json_pack("{s:s,s:I}", "now", iso, "nowMs", (json_int_t)now);
	if (!res->body)
		fd_fail(res, FD_OUT_INTERNAL, "internal", "out of memory");
}
