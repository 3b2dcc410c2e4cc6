#include <flock/common.h>

const char *flock_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = FLOCK_VERSION_MAJOR;
	if (minor)
		*minor = FLOCK_VERSION_MINOR;
	if (patch)
		*patch = FLOCK_VERSION_PATCH;
	return FLOCK_VERSION;
}
