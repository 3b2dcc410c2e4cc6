/*
 * The ABI of libflock as data: every public struct's size, alignment and
 * members (offset, size), what kind of struct it is, and the values of the
 * public constants. tests/headers/check_abi.cmake compares this program's
 * output with the layout recorded for the current FLOCK_ABI_VERSION
 * (tests/headers/abi/), so that a change which would break a program
 * built against the recorded headers fails the build's tests instead of
 * its users.
 *
 * Kinds (docs/libflock.md, "ABI and SONAME"):
 *   lib     libflock allocates it, programs only read it: may grow at the
 *           end, nothing else;
 *   params  the program allocates it and says its version: may grow at
 *           the end together with a higher version number;
 *   frozen  arrays of it cross the boundary: may never change.
 *
 * Each struct's members must tile it exactly (checked here): a member
 * added to a header but not listed below fails the test, and so does a
 * public struct missing from this list (check_abi.cmake reads the
 * headers for them).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flock.h>

static const char *cur_name;
static size_t cur_size, cur_align, cur_end;
static int failures;

static void finish_struct(void)
{
	size_t end;

	if (cur_name == NULL)
		return;
	end = (cur_end + cur_align - 1) / cur_align * cur_align;
	if (end != cur_size) {
		fprintf(stderr,
		        "abi_layout.c: %s is %zu bytes but its listed members "
		        "end at %zu: list every member\n",
		        cur_name, cur_size, cur_end);
		failures++;
	}
	cur_name = NULL;
}

static void begin_struct(const char *name, size_t size, size_t align,
                         const char *kind, const char *version_macro,
                         long version)
{
	finish_struct();
	cur_name = name;
	cur_size = size;
	cur_align = align;
	cur_end = 0;
	printf("struct %s %zu %zu %s %s %ld\n", name, size, align, kind,
	       version_macro, version);
}

static void member(const char *name, size_t offset, size_t size, size_t align)
{
	size_t expect = (cur_end + align - 1) / align * align;

	if (offset != expect) {
		fprintf(stderr,
		        "abi_layout.c: %s.%s at offset %zu, expected %zu: "
		        "list the members in order, all of them\n",
		        cur_name, name, offset, expect);
		failures++;
	}
	cur_end = offset + size;
	printf("member %s.%s %zu %zu\n", cur_name, name, offset, size);
}

#define LIB(T) begin_struct(#T, sizeof(T), _Alignof(T), "lib", "-", 0)
#define FROZEN(T) begin_struct(#T, sizeof(T), _Alignof(T), "frozen", "-", 0)
#define PARAMS(T, V) begin_struct(#T, sizeof(T), _Alignof(T), "params", #V, V)
#define M(T, m)                                                                \
	member(#m, offsetof(T, m), sizeof(((T *)0)->m),                        \
	       _Alignof(__typeof__(((T *)0)->m)))
#define C(name) printf("const %s %lld\n", #name, (long long)(name))

static void errors_h(void)
{
	LIB(flock_error);
	M(flock_error, code);
	M(flock_error, http_status);
	M(flock_error, message);
	M(flock_error, server_code);
	M(flock_error, request_id);
	M(flock_error, retries);
}

static void client_h(void)
{
	FROZEN(flock_http_header);
	M(flock_http_header, name);
	M(flock_http_header, value);
	LIB(flock_http_request);
	M(flock_http_request, method);
	M(flock_http_request, url);
	M(flock_http_request, headers);
	M(flock_http_request, header_count);
	M(flock_http_request, body);
	M(flock_http_request, body_len);
	M(flock_http_request, timeout_ms);
	M(flock_http_request, connect_timeout_ms);
	M(flock_http_request, max_response_bytes);
	PARAMS(flock_transport, FLOCK_TRANSPORT_VERSION);
	M(flock_transport, version);
	M(flock_transport, userdata);
	M(flock_transport, send);
	M(flock_transport, free);
	PARAMS(flock_client_options, FLOCK_CLIENT_OPTIONS_VERSION);
	M(flock_client_options, version);
	M(flock_client_options, access_key);
	M(flock_client_options, base_url);
	M(flock_client_options, timeout_ms);
	M(flock_client_options, connect_timeout_ms);
	M(flock_client_options, max_retries);
	M(flock_client_options, retry_base_ms);
	M(flock_client_options, retry_cap_ms);
	M(flock_client_options, user_agent_suffix);
	M(flock_client_options, ca_path);
	M(flock_client_options, transport);
	M(flock_client_options, log_cb);
	M(flock_client_options, log_userdata);
	M(flock_client_options, sleep_cb);
	M(flock_client_options, sleep_userdata);
	M(flock_client_options, max_response_bytes);
}

static void types_h_people(void)
{
	LIB(flock_customer_ref);
	M(flock_customer_ref, id);
	M(flock_customer_ref, external_user_id);
	M(flock_customer_ref, email);
	M(flock_customer_ref, name);
	LIB(flock_meta);
	M(flock_meta, organization_id);
	M(flock_meta, application_id);
	M(flock_meta, created_at);
	M(flock_meta, updated_at);
	M(flock_meta, deleted_at);
	LIB(flock_customer);
	M(flock_customer, id);
	M(flock_customer, external_user_id);
	M(flock_customer, email);
	M(flock_customer, name);
	M(flock_customer, referral_code);
	M(flock_customer, referred_by);
	M(flock_customer, referred_by_id);
	M(flock_customer, referred_by_referral_id);
	M(flock_customer, referred_in_campaign_id);
	M(flock_customer, visited_referrals_count);
	M(flock_customer, converted_referrals_count);
	M(flock_customer, custom_properties_json);
	M(flock_customer, meta);
	M(flock_customer, raw_json);
}

static void types_h_campaigns(void)
{
	LIB(flock_campaign_reward);
	M(flock_campaign_reward, id);
	M(flock_campaign_reward, campaign_id);
	M(flock_campaign_reward, name);
	M(flock_campaign_reward, description);
	M(flock_campaign_reward, type);
	M(flock_campaign_reward, party);
	M(flock_campaign_reward, method);
	M(flock_campaign_reward, payout_amount);
	M(flock_campaign_reward, discount_amount);
	M(flock_campaign_reward, discount_percentage);
	M(flock_campaign_reward, discount_duration_in_month);
	M(flock_campaign_reward, currency);
	M(flock_campaign_reward, limit);
	M(flock_campaign_reward, limit_unit);
	M(flock_campaign_reward, limit_interval);
	M(flock_campaign_reward, raw_json);
	LIB(flock_campaign);
	M(flock_campaign, id);
	M(flock_campaign, name);
	M(flock_campaign, environment);
	M(flock_campaign, is_live);
	M(flock_campaign, copied_from_campaign_id);
	M(flock_campaign, referee_landing_page_url);
	M(flock_campaign, terms_url);
	M(flock_campaign, invite_message);
	M(flock_campaign, rewards);
	M(flock_campaign, reward_count);
	M(flock_campaign, last_ping_at);
	M(flock_campaign, last_ping_origin);
	M(flock_campaign, starts_at);
	M(flock_campaign, ends_at);
	M(flock_campaign, reward_hold_days);
	M(flock_campaign, meta);
	M(flock_campaign, raw_json);
	LIB(flock_campaign_checkpoint);
	M(flock_campaign_checkpoint, id);
	M(flock_campaign_checkpoint, campaign_id);
	M(flock_campaign_checkpoint, checkpoint_name);
	M(flock_campaign_checkpoint, trigger);
	M(flock_campaign_checkpoint, placement_id);
	M(flock_campaign_checkpoint, raw_json);
}

static void types_h_referrals(void)
{
	LIB(flock_suspected_fraud);
	M(flock_suspected_fraud, type);
	M(flock_suspected_fraud, message);
	LIB(flock_referral);
	M(flock_referral, id);
	M(flock_referral, campaign_id);
	M(flock_referral, referrer_id);
	M(flock_referral, referee_id);
	M(flock_referral, status);
	M(flock_referral, suspected_frauds);
	M(flock_referral, suspected_fraud_count);
	M(flock_referral, environment);
	M(flock_referral, meta);
	M(flock_referral, raw_json);
	LIB(flock_reward);
	M(flock_reward, id);
	M(flock_reward, campaign_id);
	M(flock_reward, campaign_reward_id);
	M(flock_reward, referral_id);
	M(flock_reward, customer_id);
	M(flock_reward, party);
	M(flock_reward, type);
	M(flock_reward, method);
	M(flock_reward, payout_amount);
	M(flock_reward, discount_amount);
	M(flock_reward, discount_percentage);
	M(flock_reward, currency);
	M(flock_reward, status);
	M(flock_reward, available_at);
	M(flock_reward, environment);
	M(flock_reward, meta);
	M(flock_reward, raw_json);
	LIB(flock_checkpoint_result);
	M(flock_checkpoint_result, id);
	M(flock_checkpoint_result, checkpoint_name);
	M(flock_checkpoint_result, customer_id);
	M(flock_checkpoint_result, environment);
	M(flock_checkpoint_result, matched);
	M(flock_checkpoint_result, referral);
	M(flock_checkpoint_result, rewards);
	M(flock_checkpoint_result, reward_count);
	M(flock_checkpoint_result, blocked_by);
	M(flock_checkpoint_result, raw_json);
}

static void types_h_lists(void)
{
	LIB(flock_validation);
	M(flock_validation, is_valid);
	M(flock_validation, referred_by);
	M(flock_validation, raw_json);
	LIB(flock_reward_ids);
	M(flock_reward_ids, ids);
	M(flock_reward_ids, count);
	M(flock_reward_ids, raw_json);
	LIB(flock_campaign_list);
	M(flock_campaign_list, items);
	M(flock_campaign_list, count);
	M(flock_campaign_list, raw_json);
	LIB(flock_checkpoint_list);
	M(flock_checkpoint_list, items);
	M(flock_checkpoint_list, count);
	M(flock_checkpoint_list, raw_json);
	LIB(flock_referral_page);
	M(flock_referral_page, items);
	M(flock_referral_page, count);
	M(flock_referral_page, total);
	M(flock_referral_page, limit);
	M(flock_referral_page, offset);
	M(flock_referral_page, raw_json);
}

static void api_h(void)
{
	FROZEN(flock_property);
	M(flock_property, key);
	M(flock_property, type);
	M(flock_property, string_value);
	M(flock_property, number_value);
	M(flock_property, bool_value);
	PARAMS(flock_identify_params, FLOCK_IDENTIFY_PARAMS_VERSION);
	M(flock_identify_params, version);
	M(flock_identify_params, external_user_id);
	M(flock_identify_params, email);
	M(flock_identify_params, name);
	M(flock_identify_params, custom_properties_json);
	M(flock_identify_params, custom_properties);
	M(flock_identify_params, custom_property_count);
	M(flock_identify_params, environment);
	M(flock_identify_params, idempotency_key);
	PARAMS(flock_ingest_params, FLOCK_INGEST_PARAMS_VERSION);
	M(flock_ingest_params, version);
	M(flock_ingest_params, external_user_id);
	M(flock_ingest_params, environment);
	M(flock_ingest_params, properties_json);
	M(flock_ingest_params, properties);
	M(flock_ingest_params, property_count);
	M(flock_ingest_params, idempotency_key);
	PARAMS(flock_get_live_params, FLOCK_GET_LIVE_PARAMS_VERSION);
	M(flock_get_live_params, version);
	M(flock_get_live_params, environment);
	M(flock_get_live_params, customer_id);
	PARAMS(flock_referral_create_params,
	       FLOCK_REFERRAL_CREATE_PARAMS_VERSION);
	M(flock_referral_create_params, version);
	M(flock_referral_create_params, campaign_id);
	M(flock_referral_create_params, referral_code);
	M(flock_referral_create_params, referee_id);
	M(flock_referral_create_params, referee_external_user_id);
	M(flock_referral_create_params, idempotency_key);
	PARAMS(flock_referral_list_params, FLOCK_REFERRAL_LIST_PARAMS_VERSION);
	M(flock_referral_list_params, version);
	M(flock_referral_list_params, campaign_id);
	M(flock_referral_list_params, status);
	M(flock_referral_list_params, limit);
	M(flock_referral_list_params, offset);
	PARAMS(flock_trigger_params, FLOCK_TRIGGER_PARAMS_VERSION);
	M(flock_trigger_params, version);
	M(flock_trigger_params, external_user_id);
	M(flock_trigger_params, environment);
	M(flock_trigger_params, reward_for);
	M(flock_trigger_params, idempotency_key);
}

static void webhooks_h(void)
{
	PARAMS(flock_webhook_params, FLOCK_WEBHOOK_PARAMS_VERSION);
	M(flock_webhook_params, version);
	M(flock_webhook_params, max_age_ms);
	M(flock_webhook_params, payload);
	M(flock_webhook_params, payload_len);
	M(flock_webhook_params, secret);
	M(flock_webhook_params, signature);
	M(flock_webhook_params, webhook_id);
	M(flock_webhook_params, webhook_timestamp);
	M(flock_webhook_params, webhook_signature);
	M(flock_webhook_params, now_ms);
	PARAMS(flock_webhook_sign_params, FLOCK_WEBHOOK_SIGN_PARAMS_VERSION);
	M(flock_webhook_sign_params, version);
	M(flock_webhook_sign_params, payload);
	M(flock_webhook_sign_params, payload_len);
	M(flock_webhook_sign_params, secrets);
	M(flock_webhook_sign_params, secret_count);
	M(flock_webhook_sign_params, timestamp_s);
	LIB(flock_webhook_headers);
	M(flock_webhook_headers, flock_signature);
	M(flock_webhook_headers, webhook_id);
	M(flock_webhook_headers, webhook_timestamp);
	M(flock_webhook_headers, webhook_signature);
	PARAMS(flock_standard_webhook_params,
	       FLOCK_STANDARD_WEBHOOK_PARAMS_VERSION);
	M(flock_standard_webhook_params, version);
	M(flock_standard_webhook_params, secret);
	M(flock_standard_webhook_params, id);
	M(flock_standard_webhook_params, timestamp);
	M(flock_standard_webhook_params, signature);
	M(flock_standard_webhook_params, payload);
	M(flock_standard_webhook_params, payload_len);
	M(flock_standard_webhook_params, tolerance_s);
	M(flock_standard_webhook_params, now_s);
}

static void queue_h(void)
{
	LIB(flock_queue_report);
	M(flock_queue_report, outcome);
	M(flock_queue_report, op);
	M(flock_queue_report, idempotency_key);
	M(flock_queue_report, external_user_id);
	M(flock_queue_report, checkpoint_name);
	M(flock_queue_report, request_json);
	M(flock_queue_report, response_json);
	M(flock_queue_report, code);
	M(flock_queue_report, http_status);
	M(flock_queue_report, server_code);
	M(flock_queue_report, message);
	M(flock_queue_report, request_id);
	M(flock_queue_report, attempts);
	M(flock_queue_report, age_ms);
	PARAMS(flock_queue_options, FLOCK_QUEUE_OPTIONS_VERSION);
	M(flock_queue_options, version);
	M(flock_queue_options, spool_path);
	M(flock_queue_options, max_events);
	M(flock_queue_options, max_bytes);
	M(flock_queue_options, full_policy);
	M(flock_queue_options, sender_threads);
	M(flock_queue_options, batch_size);
	M(flock_queue_options, flush_interval_ms);
	M(flock_queue_options, max_age_ms);
	M(flock_queue_options, backoff_base_ms);
	M(flock_queue_options, backoff_max_ms);
	M(flock_queue_options, sync);
	M(flock_queue_options, report_cb);
	M(flock_queue_options, report_userdata);
	M(flock_queue_options, clock_cb);
	M(flock_queue_options, clock_userdata);
	/* Filled by libflock up to the version the caller says it has. */
	PARAMS(flock_queue_stats, FLOCK_QUEUE_STATS_VERSION);
	M(flock_queue_stats, version);
	M(flock_queue_stats, queued);
	M(flock_queue_stats, in_flight);
	M(flock_queue_stats, bytes);
	M(flock_queue_stats, sent);
	M(flock_queue_stats, failed);
	M(flock_queue_stats, expired);
	M(flock_queue_stats, dropped);
	M(flock_queue_stats, refused);
	M(flock_queue_stats, retries);
	M(flock_queue_stats, resumed);
	M(flock_queue_stats, oldest_age_ms);
	M(flock_queue_stats, paused_ms);
}

static void constants(void)
{
	C(FLOCK_OK); C(FLOCK_ERROR); C(FLOCK_EINVAL); C(FLOCK_ENOMEM);
	C(FLOCK_EAUTH); C(FLOCK_EPERM); C(FLOCK_ENOTFOUND); C(FLOCK_ECONFLICT);
	C(FLOCK_ERATELIMIT); C(FLOCK_ETIMEOUT); C(FLOCK_ENETWORK);
	C(FLOCK_ESERVER); C(FLOCK_EBADRESPONSE); C(FLOCK_EREQUEST);
	C(FLOCK_EIDEMPOTENCY); C(FLOCK_ESIG_MISSING); C(FLOCK_ESIG_MALFORMED);
	C(FLOCK_ESIG_MISMATCH); C(FLOCK_ESIG_EXPIRED); C(FLOCK_ESIG_FUTURE);
	C(FLOCK_EPAYLOAD); C(FLOCK_ESECRET); C(FLOCK_ITEROVER);
	C(FLOCK_EFULL); C(FLOCK_ESPOOL); C(FLOCK_EFORKED);
	C(FLOCK_QUEUE_FULL_REFUSE); C(FLOCK_QUEUE_FULL_DROP_OLDEST);
	C(FLOCK_QUEUE_SYNC_FULL); C(FLOCK_QUEUE_SYNC_NORMAL);
	C(FLOCK_QUEUE_OP_INGEST); C(FLOCK_QUEUE_OP_IDENTIFY);
	C(FLOCK_QUEUE_OP_TRIGGER);
	C(FLOCK_QUEUE_SENT); C(FLOCK_QUEUE_FAILED); C(FLOCK_QUEUE_EXPIRED);
	C(FLOCK_QUEUE_DROPPED); C(FLOCK_QUEUE_UNSENT);
	C(FLOCK_LOG_DEBUG); C(FLOCK_LOG_INFO); C(FLOCK_LOG_WARN);
	C(FLOCK_LOG_ERROR);
	C(FLOCK_PROP_STRING); C(FLOCK_PROP_NUMBER); C(FLOCK_PROP_BOOL);
	C(FLOCK_PROP_NULL);
	C(FLOCK_REWARD_SELF); C(FLOCK_REWARD_REFERRAL_PARTNER);
	C(FLOCK_RETRY_AFTER_MAX_MS); C(FLOCK_NO_RETRIES);
	C(FLOCK_DEFAULT_MAX_RESPONSE_BYTES);
	C(FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS);
	C(FLOCK_STANDARD_WEBHOOK_DEFAULT_TOLERANCE_S);
	C(FLOCK_STANDARD_SIGNATURE_SIZE);
}

int main(void)
{
	printf("abi %d\n", FLOCK_ABI_VERSION);
	errors_h();
	client_h();
	types_h_people();
	types_h_campaigns();
	types_h_referrals();
	types_h_lists();
	api_h();
	webhooks_h();
	queue_h();
	finish_struct();
	constants();
	return failures == 0 ? 0 : 1;
}
