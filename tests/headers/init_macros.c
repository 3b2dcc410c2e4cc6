/*
 * Every _INIT macro must initialise every member of its struct: compiled
 * with -Wextra (-Wmissing-field-initializers) -Werror as C99 and as C++11,
 * a macro that falls behind its struct fails this test.
 */
#include <flock.h>

int flock_header_test_init_macros(void);

int flock_header_test_init_macros(void)
{
	flock_client_options client = FLOCK_CLIENT_OPTIONS_INIT;
	flock_identify_params identify = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_ingest_params ingest = FLOCK_INGEST_PARAMS_INIT;
	flock_get_live_params live = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_referral_create_params create = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_referral_list_params list = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_trigger_params trigger = FLOCK_TRIGGER_PARAMS_INIT;
	flock_webhook_params webhook = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_webhook_sign_params sign = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_queue_options queue = FLOCK_QUEUE_OPTIONS_INIT;
	flock_queue_stats stats = FLOCK_QUEUE_STATS_INIT;
	flock_standard_webhook_params standard =
	        FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;

	return (int)(client.version + identify.version + ingest.version +
	             live.version + create.version + list.version +
	             trigger.version + webhook.version + sign.version +
	             queue.version + stats.version + standard.version);
}
