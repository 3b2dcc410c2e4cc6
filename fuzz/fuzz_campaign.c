/*
 * libFuzzer target: the campaign admin bodies through flockd's
 * validators (flockd_body.h; fuzz/run.sh runs it). The first byte picks
 * the route: create, PATCH, add a reward, add a checkpoint, copy; the
 * rest is the body.
 */
#include "flockd_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *method, *path;
	} routes[] = {
	        {"POST", "/admin/apps/app_f/campaigns"},
	        {"PATCH", "/admin/apps/app_f/campaigns/cmp_f"},
	        {"POST", "/admin/apps/app_f/campaigns/cmp_f/rewards"},
	        {"POST", "/admin/apps/app_f/campaigns/cmp_f/checkpoints"},
	        {"POST", "/admin/apps/app_f/campaigns/cmp_f/copy"},
	};
	size_t i;

	if (size < 1)
		return 0;
	i = data[0] % (sizeof(routes) / sizeof(routes[0]));
	fuzz_body(routes[i].method, routes[i].path, data + 1, size - 1);
	return 0;
}
