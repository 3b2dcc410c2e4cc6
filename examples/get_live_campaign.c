/*
 * Fetch the live campaign of an environment.
 *
 *   const campaign = await sdk.campaigns.getLive({
 *     environment: 'production', customerId: 'customer_123' });
 *
 * Usage: get_live_campaign [customer_id]   (Flock's id, from identify)
 */
#include "example.h"

int main(int argc, char **argv)
{
	flock_get_live_params params = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_campaign *campaign = NULL;
	flock_client *client = NULL;
	size_t i;
	int rc, status = 1;

	if (example_client_new(&client) != 0)
		return 1;
	params.environment = example_environment();
	params.customer_id = argc > 1 ? argv[1] : NULL;
	rc = flock_campaigns_get_live(&campaign, client, &params);
	if (rc == FLOCK_ENOTFOUND) {
		printf("no live campaign in %s\n", params.environment);
		status = 0;
		goto done;
	}
	if (rc != 0) {
		status = example_fail("flock_campaigns_get_live", rc);
		goto done;
	}
	printf("live campaign %s: %s\n", campaign->id, campaign->name);
	for (i = 0; i < campaign->reward_count; i++) {
		const flock_campaign_reward *r = campaign->rewards[i];

		printf("  %s reward: %s (%s)\n", r->party, r->name, r->type);
	}
	status = 0;
done:
	flock_campaign_free(campaign);
	flock_client_free(client);
	return status;
}
