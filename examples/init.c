/*
 * Initialize the SDK.
 *
 *   const sdk = new FlockSDK({ accessKey: 'your-service-access-key' });
 *
 * The service access key is a secret: keep it on the server, read it from
 * the environment or a secrets store, never from source code.
 */
#include <stdio.h>
#include <stdlib.h>

#include <flock.h>

int main(void)
{
	flock_client_options opts = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *client = NULL;
	int rc;

	opts.access_key = getenv("FLOCK_ACCESS_KEY");
	if (opts.access_key == NULL) {
		fprintf(stderr, "set FLOCK_ACCESS_KEY\n");
		return 1;
	}
	/* base_url NULL: FLOCK_BASE_URL, else https://api.withflock.com. */
	rc = flock_client_new(&client, &opts);
	if (rc != 0) {
		fprintf(stderr, "flock_client_new: %s\n",
		        flock_error_last() ? flock_error_last()->message
		                           : flock_strerror(rc));
		return 1;
	}
	printf("libflock %s, talking to %s\n", flock_version(NULL, NULL, NULL),
	       flock_client_base_url(client));
	/* One client for the whole program, shared by all threads. */
	flock_client_free(client);
	return 0;
}
