/*
 * Validate a referral code, then create the referral.
 *
 *   const validation = await sdk.referrals.validate('JANE123');
 *   if (validation.isValid) {
 *     const referral = await sdk.referrals.create({
 *       campaignId: 'campaign_123', referralCode: 'JANE123',
 *       refereeId: 'customer_123' });
 *   }
 *
 * Usage: referrals <referral_code> <referee_customer_id> <campaign_id>
 */
#include "example.h"

int main(int argc, char **argv)
{
	flock_referral_create_params params = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_validation *validation = NULL;
	flock_referral *referral = NULL;
	flock_client *client = NULL;
	int rc, status = 1;

	if (argc != 4) {
		fprintf(stderr,
		        "usage: %s <referral_code> <referee_customer_id> "
		        "<campaign_id>\n",
		        argv[0]);
		return 2;
	}
	if (example_client_new(&client) != 0)
		return 1;
	rc = flock_referrals_validate(&validation, client, argv[1]);
	if (rc != 0) {
		status = example_fail("flock_referrals_validate", rc);
		goto done;
	}
	if (!validation->is_valid) {
		printf("%s is not a referral code\n", argv[1]);
		goto done;
	}
	printf("valid referral code from: %s\n", validation->referred_by->id);

	params.referral_code = argv[1];
	params.referee_id = argv[2];
	params.campaign_id = argv[3];
	rc = flock_referrals_create(&referral, client, &params);
	if (rc != 0) {
		status = example_fail("flock_referrals_create", rc);
		goto done;
	}
	printf("referral %s is %s\n", referral->id, referral->status);
	status = 0;
done:
	flock_referral_free(referral);
	flock_validation_free(validation);
	flock_client_free(client);
	return status;
}
