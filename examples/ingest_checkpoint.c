/*
 * Ingest a checkpoint.
 *
 *   await sdk.checkpoints.ingest('purchase_completed', {
 *     externalUserId: 'user_123', environment: 'production' });
 *
 * Usage: ingest_checkpoint [external_user_id [checkpoint_name]]
 */
#include "example.h"

int main(int argc, char **argv)
{
	flock_ingest_params params = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *result = NULL;
	flock_client *client = NULL;
	const char *name = argc > 2 ? argv[2] : "purchase_completed";
	int rc, status = 1;

	if (example_client_new(&client) != 0)
		return 1;
	params.external_user_id = argc > 1 ? argv[1] : "user_123";
	params.environment = example_environment();
	rc = flock_checkpoints_ingest(&result, client, name, &params);
	if (rc != 0) {
		status = example_fail("flock_checkpoints_ingest", rc);
		goto done;
	}
	printf("checkpoint %s recorded (%s), %zu reward(s) granted\n",
	       result->checkpoint_name, result->id, result->reward_count);
	status = 0;
done:
	flock_checkpoint_result_free(result);
	flock_client_free(client);
	return status;
}
