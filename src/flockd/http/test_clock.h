/*
 * flockd: the test clock's route, POST /admin/test/clock (tests only).
 *
 * `flockd serve --test-clock` (FLOCKD_TEST_CLOCK=1) runs the engine, and
 * through it the delivery worker, on a manual fd_clock (base/clock.h);
 * this route moves it forward, so an integration test sees a retry
 * schedule, a secret's grace, a lease or a reward's hold run out without
 * waiting. Without the flag the route does not exist (404 not_found, as
 * any unknown path); with it, it is an admin route like the others.
 */
#ifndef FLOCKD_HTTP_TEST_CLOCK_H
#define FLOCKD_HTTP_TEST_CLOCK_H

#include "engine/engine.h"

#define FD_TEST_CLOCK_PATH "/admin/test/clock"

/* 1 if e runs on a manual clock (the route exists), else 0. */
int fd_test_clock_enabled(fd_engine *e);

/* POST /admin/test/clock. body: advanceMs (0 to ten years; 0 only reads
 * the time). 200 {"now": ISO 8601, "nowMs"}: the clock after the move,
 * once every listener (the writer's housekeeping, the delivery worker)
 * has been woken. */
void fd_op_test_clock(fd_engine *e, const fd_request *req, fd_response *res);

#endif
