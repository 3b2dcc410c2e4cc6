/*
 * Identify a customer.
 *
 *   const customer = await sdk.customers.identify({
 *     externalUserId: 'external_user_123', email: 'user@example.com',
 *     name: 'Jane Doe',
 *     customProperties: { plan: 'premium', signupDate: '2025-01-15' } });
 *
 * Usage: identify [external_user_id]
 */
#include "example.h"

int main(int argc, char **argv)
{
	/* Or as JSON text: custom_properties_json = "{\"plan\":\"premium\"}".
	 */
	const flock_property props[] = {
	        {"plan", FLOCK_PROP_STRING, "premium", 0, 0},
	        {"signupDate", FLOCK_PROP_STRING, "2025-01-15", 0, 0},
	};
	flock_identify_params params = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_customer *customer = NULL;
	flock_client *client = NULL;
	int rc, status = 1;

	if (example_client_new(&client) != 0)
		return 1;
	params.external_user_id = argc > 1 ? argv[1] : "external_user_123";
	params.email = "user@example.com";
	params.name = "Jane Doe";
	params.custom_properties = props;
	params.custom_property_count = sizeof(props) / sizeof(props[0]);
	rc = flock_customers_identify(&customer, client, &params);
	if (rc != 0) {
		status = example_fail("flock_customers_identify", rc);
		goto done;
	}
	/* customer->id is what campaigns and referrals call the customer id. */
	printf("customer %s (referral code %s), properties %s\n", customer->id,
	       customer->referral_code ? customer->referral_code : "none",
	       customer->custom_properties_json);
	status = 0;
done:
	flock_customer_free(customer);
	flock_client_free(client);
	return status;
}
