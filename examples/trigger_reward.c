/*
 * Trigger rewards directly (checkpoints are the recommended way).
 *
 *   await sdk.rewards.trigger({ externalUserId: 'user_123',
 *     environment: 'production', rewardFor: ['self', 'referral_partner'] });
 *
 * Usage: trigger_reward [external_user_id]
 */
#include "example.h"

int main(int argc, char **argv)
{
	flock_trigger_params params = FLOCK_TRIGGER_PARAMS_INIT;
	flock_reward_ids *ids = NULL;
	flock_client *client = NULL;
	size_t i;
	int rc, status = 1;

	if (example_client_new(&client) != 0)
		return 1;
	params.external_user_id = argc > 1 ? argv[1] : "user_123";
	params.environment = example_environment();
	params.reward_for = FLOCK_REWARD_SELF | FLOCK_REWARD_REFERRAL_PARTNER;
	rc = flock_rewards_trigger(&ids, client, &params);
	if (rc != 0) {
		status = example_fail("flock_rewards_trigger", rc);
		goto done;
	}
	printf("%zu reward(s) created\n", ids->count);
	for (i = 0; i < ids->count; i++)
		printf("  %s\n", ids->ids[i]);
	status = 0;
done:
	flock_reward_ids_free(ids);
	flock_client_free(client);
	return status;
}
