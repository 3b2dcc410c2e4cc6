/*
 * What every example shares: the client from the environment, and one way
 * to report a failed call. Real programs would do the same.
 */
#ifndef FLOCK_EXAMPLE_H
#define FLOCK_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>

#include <flock.h>

/* The value of an environment variable, or `fallback` if unset or empty. */
static inline const char *example_getenv(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? v : fallback;
}

/* "production" unless FLOCK_ENVIRONMENT says "test". */
static inline const char *example_environment(void)
{
	return example_getenv("FLOCK_ENVIRONMENT", "production");
}

/*
 * Print why a call failed, with everything flock_error_last() knows, and
 * return the exit status to use (1).
 */
static inline int example_fail(const char *what, int rc)
{
	const flock_error *e = flock_error_last();

	fprintf(stderr, "%s failed: %s (%d)", what, flock_strerror(rc), rc);
	if (e != NULL) {
		fprintf(stderr, ": %s", e->message);
		if (e->http_status != 0)
			fprintf(stderr, " [HTTP %d]", e->http_status);
		if (e->server_code != NULL)
			fprintf(stderr, " [code %s]", e->server_code);
		if (e->request_id != NULL)
			fprintf(stderr, " [request %s]", e->request_id);
		if (e->retries > 0)
			fprintf(stderr, " [%d retries]", e->retries);
	}
	fputc('\n', stderr);
	return 1;
}

/*
 * A client for the service access key in FLOCK_ACCESS_KEY, talking to
 * FLOCK_BASE_URL (libflock reads it when base_url is NULL) or, without it,
 * to https://api.withflock.com.
 */
static inline int example_client_new(flock_client **out)
{
	flock_client_options opts = FLOCK_CLIENT_OPTIONS_INIT;
	int rc;

	opts.access_key = getenv("FLOCK_ACCESS_KEY");
	if (opts.access_key == NULL || *opts.access_key == '\0') {
		fprintf(stderr,
		        "set FLOCK_ACCESS_KEY to a service key (sk_...)\n");
		return 1;
	}
	opts.user_agent_suffix = "flock-c-examples";
	rc = flock_client_new(out, &opts);
	if (rc != 0)
		return example_fail("flock_client_new", rc);
	return 0;
}

#endif
