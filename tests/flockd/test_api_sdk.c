/*
 * libflock against flockd: every call of include/flock/api.h through the
 * public API, over loopback, and its errors mapped from flockd's answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flock.h>

#include "harness.h"
#include "support.h"

static fd_harness H;
static flock_client *C;
static char campaign[64];

static int setup(void **state)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;

	memset(&H, 0, sizeof(H));
	if (h_start(&H) < 0 || h_live_campaign(&H, "production", 0, 0, campaign,
	                                       sizeof(campaign)) < 0)
		return -1;
	o.access_key = H.service_key;
	o.base_url = H.base_url;
	o.max_retries = FLOCK_NO_RETRIES;
	return flock_client_new(&C, &o) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	flock_client_free(C);
	h_stop(&H);
	return 0;
}

static flock_customer *identify(const char *ext, const char *email)
{
	flock_identify_params p = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_customer *c = NULL;

	p.external_user_id = ext;
	p.email = email;
	p.custom_properties_json = "{\"plan\":\"pro\"}";
	assert_int_equal(flock_customers_identify(&c, C, &p), 0);
	assert_non_null(c->referral_code);
	return c;
}

static void test_sdk_full_flow(void **state)
{
	flock_customer *referrer = identify("sdk-referrer", "r@example.com");
	flock_customer *invitee = identify("sdk-invitee", "i@example.org");
	flock_validation *v = NULL;
	flock_campaign *live = NULL;
	flock_get_live_params lp = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_referral_create_params rp = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_referral *ref = NULL;
	flock_ingest_params ip = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;
	flock_trigger_params tp = FLOCK_TRIGGER_PARAMS_INIT;
	flock_reward_ids *ids = NULL;

	assert_int_equal(
	        flock_referrals_validate(&v, C, referrer->referral_code), 0);
	assert_true(v->is_valid);
	assert_string_equal(v->referred_by->external_user_id, "sdk-referrer");
	lp.environment = "production";
	assert_int_equal(flock_campaigns_get_live(&live, C, &lp), 0);
	assert_string_equal(live->id, campaign);
	assert_int_equal(live->reward_count, 2);
	rp.campaign_id = live->id;
	rp.referral_code = referrer->referral_code;
	rp.referee_external_user_id = "sdk-invitee";
	assert_int_equal(flock_referrals_create(&ref, C, &rp), 0);
	assert_string_equal(ref->status, "pending");
	ip.external_user_id = "sdk-invitee";
	ip.environment = "production";
	assert_int_equal(
	        flock_checkpoints_ingest(&res, C, "purchase_completed", &ip),
	        0);
	assert_int_equal(res->reward_count, 2);
	assert_true(res->matched);
	tp.external_user_id = "sdk-invitee";
	tp.environment = "production";
	assert_int_equal(flock_rewards_trigger(&ids, C, &tp), 0);
	assert_int_equal(ids->count, 0);
	flock_reward_ids_free(ids);
	flock_checkpoint_result_free(res);
	flock_referral_free(ref);
	flock_campaign_free(live);
	flock_validation_free(v);
	flock_customer_free(invitee);
	flock_customer_free(referrer);
}

static void test_sdk_lists(void **state)
{
	flock_campaign_list *cl = NULL;
	flock_checkpoint_list *kl = NULL;
	flock_referral_page *page = NULL;
	flock_referral_list_params p = FLOCK_REFERRAL_LIST_PARAMS_INIT;

	assert_int_equal(flock_campaigns_list(&cl, C), 0);
	assert_int_equal(cl->count, 1);
	assert_int_equal(flock_campaign_checkpoints_list(&kl, C, campaign), 0);
	assert_int_equal(kl->count, 1);
	assert_string_equal(kl->items[0]->checkpoint_name, "purchase_completed");
	p.campaign_id = campaign;
	p.limit = 10;
	assert_int_equal(flock_referrals_list(&page, C, &p), 0);
	flock_referral_page_free(page);
	flock_checkpoint_list_free(kl);
	flock_campaign_list_free(cl);
}

static void test_sdk_errors(void **state)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *bad = NULL;
	flock_campaign_list *cl = NULL;
	flock_referral_create_params rp = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_referral *ref = NULL;
	const flock_error *err;

	o.access_key = "sk_not_a_key";
	o.base_url = H.base_url;
	o.max_retries = FLOCK_NO_RETRIES;
	assert_int_equal(flock_client_new(&bad, &o), 0);
	assert_int_equal(flock_campaigns_list(&cl, bad), FLOCK_EAUTH);
	err = flock_error_last();
	assert_int_equal(err->http_status, 401);
	assert_non_null(err->request_id);
	flock_client_free(bad);
	rp.campaign_id = campaign;
	rp.referral_code = "NOSUCHCODE";
	rp.referee_external_user_id = "sdk-invitee";
	assert_int_equal(flock_referrals_create(&ref, C, &rp), FLOCK_ENOTFOUND);
	assert_string_equal(flock_error_last()->server_code,
	                    "invalid_referral_code");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sdk_full_flow),
	        cmocka_unit_test(test_sdk_lists),
	        cmocka_unit_test(test_sdk_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
