/*
 * libFuzzer target: POST /referrals bodies through flockd's validators
 * (flockd_body.h; fuzz/run.sh runs it).
 */
#include "flockd_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_body("POST", "/referrals", data, size);
	return 0;
}
