/*
 * Reference-counted process-wide set-up. libcurl's global init is not
 * thread-safe in older releases, so the count and the call sit under one
 * mutex: two threads creating their first clients at once init once.
 */
#include <flock/common.h>
#include <flock/errors.h>

#include <curl/curl.h>
#include <pthread.h>

#include "error.h"

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long global_refs;

int flock_global_init(void)
{
	int rc = 0;
	CURLcode cc;

	pthread_mutex_lock(&global_lock);
	if (global_refs == 0) {
		cc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (cc != CURLE_OK) {
			rc = flock__error_set(cc == CURLE_OUT_OF_MEMORY
			                              ? FLOCK_ENOMEM
			                              : FLOCK_ERROR,
			                      "curl_global_init failed: %s",
			                      curl_easy_strerror(cc));
			goto done;
		}
	}
	global_refs++;
done:
	pthread_mutex_unlock(&global_lock);
	return rc;
}

void flock_global_cleanup(void)
{
	pthread_mutex_lock(&global_lock);
	if (global_refs > 0 && --global_refs == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&global_lock);
}
