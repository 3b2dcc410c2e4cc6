/*
 * Every API call: the exact wire request (method, URL and query escaping,
 * headers, JSON body field by field) and the parsing of realistic
 * responses into the typed structs, through the scripted transport.
 */
#include "support.h"
#include "scripted_transport.h"

#include <string.h>

#define UA "libflock/" FLOCK_VERSION

static const char CUSTOMER[] =
        "{\"id\":\"cus_01JDQ8ZK3M4N5P6Q7R8S9T0V1W\","
        "\"externalUserId\":\"user_123\",\"email\":\"jane@example.com\","
        "\"name\":\"Jane Doe\",\"referralCode\":\"JANE4K2\","
        "\"referredBy\":{\"id\":\"cus_bob\",\"externalUserId\":\"user_9\","
        "\"email\":\"bob@example.com\",\"name\":\"Bob\"},"
        "\"referredById\":\"cus_bob\",\"referredByReferralId\":\"ref_1\","
        "\"referredInCampaignId\":\"cmp_1\",\"visitedReferralsCount\":3,"
        "\"convertedReferralsCount\":1,"
        "\"customProperties\":{\"plan\":\"premium\",\"seats\":5},"
        "\"organizationId\":\"org_1\",\"applicationId\":\"app_1\","
        "\"createdAt\":\"2026-11-26T16:38:00.000Z\","
        "\"updatedAt\":\"2026-11-26T16:39:00.000Z\",\"deletedAt\":null}";

static const char BARE_CUSTOMER[] =
        "{\"id\":\"cus_2\",\"externalUserId\":\"u2\",\"email\":null,"
        "\"name\":null,\"referralCode\":\"U2AAAA\",\"referredBy\":null,"
        "\"referredById\":null,\"visitedReferralsCount\":0,"
        "\"convertedReferralsCount\":0,\"customProperties\":null}";

static const char CAMPAIGN[] =
        "{\"id\":\"cmp_1\",\"name\":\"Give 10 get 10\","
        "\"environment\":\"production\",\"isLive\":true,"
        "\"copiedFromCampaignId\":null,"
        "\"refereeLandingPageUrl\":\"https://example.com/r\","
        "\"termsUrl\":\"https://example.com/terms\","
        "\"inviteMessage\":\"Join me\",\"rewards\":["
        "{\"id\":\"crw_1\",\"campaignId\":\"cmp_1\",\"name\":\"$10\","
        "\"description\":\"Ten dollars\",\"type\":\"payout\","
        "\"party\":\"referrer\",\"method\":\"paypal\",\"payoutAmount\":10.5,"
        "\"discountAmount\":null,\"discountPercentage\":null,"
        "\"discountDurationInMonth\":null,\"currency\":\"usd\","
        "\"limit\":10,\"limitUnit\":\"reward\",\"limitInterval\":\"month\"},"
        "{\"id\":\"crw_2\",\"campaignId\":\"cmp_1\",\"type\":\"discount\","
        "\"party\":\"referee\",\"method\":\"custom\",\"discountAmount\":0,"
        "\"discountPercentage\":20,\"discountDurationInMonth\":3,"
        "\"currency\":\"cad\",\"limit\":null}],"
        "\"emails\":[],\"campaignPages\":[],\"faqs\":[],"
        "\"platforms\":[\"mobile\",\"web\"],"
        "\"lastPingAt\":\"2026-11-26T10:00:00.000Z\","
        "\"lastPingOrigin\":\"https://app.example.com\","
        "\"startsAt\":null,\"endsAt\":null,\"rewardHoldDays\":14,"
        "\"organizationId\":\"org_1\",\"applicationId\":\"app_1\","
        "\"createdAt\":\"2026-11-01T00:00:00.000Z\","
        "\"updatedAt\":\"2026-11-02T00:00:00.000Z\",\"deletedAt\":null}";

static const char REFERRAL[] =
        "{\"id\":\"ref_1\",\"campaignId\":\"cmp_1\",\"referrerId\":\"cus_bob\","
        "\"refereeId\":\"cus_jane\",\"status\":\"flagged\","
        "\"suspectedFrauds\":[{\"type\":\"self_referral\","
        "\"message\":\"same email\"},{\"type\":\"velocity\","
        "\"message\":\"too many\"}],\"environment\":\"test\","
        "\"organizationId\":\"org_1\",\"applicationId\":\"app_1\","
        "\"createdAt\":\"2026-11-26T16:38:00.000Z\","
        "\"updatedAt\":\"2026-11-26T16:38:00.000Z\",\"deletedAt\":null}";

static const char RESULT[] =
        "{\"id\":\"evt_1\",\"checkpointName\":\"purchase_completed\","
        "\"customerId\":\"cus_jane\",\"environment\":\"production\","
        "\"matched\":true,\"referral\":{\"id\":\"ref_1\","
        "\"campaignId\":\"cmp_1\",\"referrerId\":\"cus_bob\","
        "\"refereeId\":\"cus_jane\",\"status\":\"accepted\","
        "\"suspectedFrauds\":null,\"environment\":\"production\"},"
        "\"rewards\":[{\"id\":\"rwd_1\",\"campaignId\":\"cmp_1\","
        "\"campaignRewardId\":\"crw_1\",\"referralId\":\"ref_1\","
        "\"customerId\":\"cus_bob\",\"party\":\"referrer\","
        "\"type\":\"payout\",\"method\":\"paypal\",\"payoutAmount\":10,"
        "\"discountAmount\":0,\"discountPercentage\":0,"
        "\"currency\":\"usd\",\"status\":\"pending\","
        "\"availableAt\":\"2026-12-10T16:38:00.000Z\","
        "\"environment\":\"production\",\"organizationId\":\"org_1\","
        "\"applicationId\":\"app_1\","
        "\"createdAt\":\"2026-11-26T16:38:00.000Z\","
        "\"updatedAt\":\"2026-11-26T16:38:00.000Z\",\"deletedAt\":null}],"
        "\"blockedBy\":null}";

typedef struct {
	scripted *st;
	flock_client *client;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	f->st = st_new();
	f->client = st_client(f->st, FLOCK_NO_RETRIES);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	flock_client_free(f->client);
	st_free(f->st);
	free(f);
	return 0;
}

static int is_hex32(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 32)
		return 0;
	for (i = 0; i < 32; i++) {
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	}
	return 1;
}

/* Headers every request carries, and those only a POST carries. */
static void assert_headers(const st_request *r, int post)
{
	assert_string_equal(st_header(r, "Authorization"), "sk_test_key");
	assert_string_equal(st_header(r, "User-Agent"), UA);
	if (post) {
		assert_string_equal(st_header(r, "Content-Type"),
		                    "application/json");
		assert_non_null(st_header(r, "Idempotency-Key"));
	} else {
		assert_null(st_header(r, "Content-Type"));
		assert_null(st_header(r, "Idempotency-Key"));
		assert_null(r->body);
		assert_int_equal(r->body_len, 0);
	}
	assert_int_equal(r->timeout_ms, 30000);
	assert_int_equal(r->connect_timeout_ms, 10000);
}

static void assert_field(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("body field %s is not a string", key);
	assert_string_equal(json_string_value(v), want);
}

static void identify_sends_documented_body(void **state)
{
	fixture *f = *state;
	flock_identify_params p = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_customer *c = NULL;
	const st_request *r;
	json_t *body, *props;

	p.external_user_id = "user_123";
	p.email = "jane@example.com";
	p.name = "Jane Doe";
	p.custom_properties_json = "{\"plan\":\"premium\",\"seats\":5,"
	                           "\"beta\":true,\"ref\":null}";
	p.environment = "production";
	st_push(f->st, 201, CUSTOMER, "X-Request-Id", "req_1", NULL);
	assert_int_equal(flock_customers_identify(&c, f->client, &p), 0);
	assert_null(flock_error_last());

	assert_int_equal(st_count(f->st), 1);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, "http://flock.test/customers/identify");
	assert_headers(r, 1);
	assert_true(is_hex32(st_header(r, "Idempotency-Key")));
	body = st_json(r);
	assert_int_equal(json_object_size(body), 5);
	assert_field(body, "externalUserId", "user_123");
	assert_field(body, "email", "jane@example.com");
	assert_field(body, "name", "Jane Doe");
	assert_field(body, "environment", "production");
	props = json_object_get(body, "customProperties");
	assert_int_equal(json_object_size(props), 4);
	assert_field(props, "plan", "premium");
	assert_int_equal(json_integer_value(json_object_get(props, "seats")),
	                 5);
	assert_true(json_is_true(json_object_get(props, "beta")));
	assert_true(json_is_null(json_object_get(props, "ref")));
	json_decref(body);
	flock_customer_free(c);
}

static void identify_parses_customer(void **state)
{
	fixture *f = *state;
	flock_identify_params p = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_customer *c = NULL;

	p.external_user_id = "user_123";
	st_push(f->st, 200, CUSTOMER, NULL);
	assert_int_equal(flock_customers_identify(&c, f->client, &p), 0);
	assert_string_equal(c->id, "cus_01JDQ8ZK3M4N5P6Q7R8S9T0V1W");
	assert_string_equal(c->external_user_id, "user_123");
	assert_string_equal(c->email, "jane@example.com");
	assert_string_equal(c->name, "Jane Doe");
	assert_string_equal(c->referral_code, "JANE4K2");
	assert_non_null(c->referred_by);
	assert_string_equal(c->referred_by->id, "cus_bob");
	assert_string_equal(c->referred_by->external_user_id, "user_9");
	assert_string_equal(c->referred_by->email, "bob@example.com");
	assert_string_equal(c->referred_by->name, "Bob");
	assert_string_equal(c->referred_by_id, "cus_bob");
	assert_string_equal(c->referred_by_referral_id, "ref_1");
	assert_string_equal(c->referred_in_campaign_id, "cmp_1");
	assert_int_equal(c->visited_referrals_count, 3);
	assert_int_equal(c->converted_referrals_count, 1);
	assert_string_equal(c->custom_properties_json,
	                    "{\"plan\":\"premium\",\"seats\":5}");
	assert_string_equal(c->meta->organization_id, "org_1");
	assert_string_equal(c->meta->application_id, "app_1");
	assert_string_equal(c->meta->created_at, "2026-11-26T16:38:00.000Z");
	assert_string_equal(c->meta->updated_at, "2026-11-26T16:39:00.000Z");
	assert_null(c->meta->deleted_at);
	/* The top-level raw_json is the body byte for byte. */
	assert_string_equal(c->raw_json, CUSTOMER);
	flock_customer_free(c);
}

static void identify_nulls_and_pairs(void **state)
{
	fixture *f = *state;
	flock_identify_params p = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_property props[] = {
	        {"plan", FLOCK_PROP_STRING, "free", 0, 0},
	        {"score", FLOCK_PROP_NUMBER, NULL, 2.5, 0},
	        {"seats", FLOCK_PROP_NUMBER, NULL, 3, 0},
	        {"vip", FLOCK_PROP_BOOL, NULL, 0, 0},
	        {"gone", FLOCK_PROP_NULL, NULL, 0, 0},
	};
	flock_customer *c = NULL;
	json_t *body, *o;

	p.external_user_id = "u2";
	p.name = "Zo\xc3\xab \xf0\x9f\x90\xa6"; /* valid 2- and 4-byte UTF-8 */
	p.custom_properties = props;
	p.custom_property_count = 5;
	p.idempotency_key = "my-key-1";
	st_push(f->st, 201, BARE_CUSTOMER, NULL);
	assert_int_equal(flock_customers_identify(&c, f->client, &p), 0);
	assert_string_equal(st_header(st_req(f->st, 0), "Idempotency-Key"),
	                    "my-key-1");
	body = st_json(st_req(f->st, 0));
	/* Optional fields not given are not sent at all. */
	assert_int_equal(json_object_size(body), 3);
	assert_field(body, "externalUserId", "u2");
	assert_field(body, "name", "Zo\xc3\xab \xf0\x9f\x90\xa6");
	o = json_object_get(body, "customProperties");
	assert_int_equal(json_object_size(o), 5);
	assert_field(o, "plan", "free");
	assert_true(json_is_real(json_object_get(o, "score")));
	assert_true(json_real_value(json_object_get(o, "score")) == 2.5);
	assert_true(json_is_integer(json_object_get(o, "seats")));
	assert_true(json_is_false(json_object_get(o, "vip")));
	assert_true(json_is_null(json_object_get(o, "gone")));
	json_decref(body);

	assert_null(c->email);
	assert_null(c->name);
	assert_null(c->referred_by);
	assert_null(c->referred_by_id);
	assert_null(c->referred_by_referral_id);
	assert_null(c->meta->organization_id);
	assert_string_equal(c->custom_properties_json, "{}");
	flock_customer_free(c);
}

static void ingest_sends_documented_body(void **state)
{
	fixture *f = *state;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	const st_request *r;
	json_t *body;

	p.external_user_id = "user_123";
	p.environment = "production";
	p.properties_json = "{\"amount\":42.5,\"sku\":\"A-1\"}";
	st_push(f->st, 201, RESULT, NULL);
	/* out may be NULL when the result is not wanted. */
	assert_int_equal(flock_checkpoints_ingest(NULL, f->client,
	                                          "purchase_completed", &p),
	                 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, "http://flock.test/checkpoints/ingest");
	assert_headers(r, 1);
	body = st_json(r);
	assert_int_equal(json_object_size(body), 4);
	assert_field(body, "checkpointName", "purchase_completed");
	assert_field(body, "externalUserId", "user_123");
	assert_field(body, "environment", "production");
	assert_true(json_number_value(json_object_get(
	                    json_object_get(body, "properties"), "amount")) ==
	            42.5);
	assert_field(json_object_get(body, "properties"), "sku", "A-1");
	json_decref(body);
}

static void ingest_parses_result(void **state)
{
	fixture *f = *state;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;
	const flock_reward *rw;

	p.external_user_id = "user_123";
	p.environment = "production";
	st_push(f->st, 201, RESULT, NULL);
	assert_int_equal(flock_checkpoints_ingest(&res, f->client,
	                                          "purchase_completed", &p),
	                 0);
	assert_string_equal(res->id, "evt_1");
	assert_string_equal(res->checkpoint_name, "purchase_completed");
	assert_string_equal(res->customer_id, "cus_jane");
	assert_string_equal(res->environment, "production");
	assert_true(res->matched);
	assert_null(res->blocked_by);
	assert_non_null(res->referral);
	assert_string_equal(res->referral->id, "ref_1");
	assert_string_equal(res->referral->status, "accepted");
	assert_int_equal(res->referral->suspected_fraud_count, 0);
	assert_null(res->referral->suspected_frauds);
	assert_non_null(strstr(res->referral->raw_json, "\"ref_1\""));
	assert_int_equal(res->reward_count, 1);
	rw = res->rewards[0];
	assert_string_equal(rw->id, "rwd_1");
	assert_string_equal(rw->campaign_id, "cmp_1");
	assert_string_equal(rw->campaign_reward_id, "crw_1");
	assert_string_equal(rw->referral_id, "ref_1");
	assert_string_equal(rw->customer_id, "cus_bob");
	assert_string_equal(rw->party, "referrer");
	assert_string_equal(rw->type, "payout");
	assert_string_equal(rw->method, "paypal");
	assert_true(rw->payout_amount == 10.0);
	assert_true(rw->discount_amount == 0.0);
	assert_true(rw->discount_percentage == 0.0);
	assert_string_equal(rw->currency, "usd");
	assert_string_equal(rw->status, "pending");
	assert_string_equal(rw->available_at, "2026-12-10T16:38:00.000Z");
	assert_string_equal(rw->environment, "production");
	assert_string_equal(rw->meta->created_at, "2026-11-26T16:38:00.000Z");
	assert_non_null(strstr(rw->raw_json, "\"rwd_1\""));
	assert_string_equal(res->raw_json, RESULT);
	flock_checkpoint_result_free(res);
}

static void ingest_blocked_result(void **state)
{
	fixture *f = *state;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;

	p.external_user_id = "u";
	p.environment = "test";
	st_push(f->st, 201,
	        "{\"id\":\"evt_2\",\"checkpointName\":\"x\",\"matched\":false,"
	        "\"referral\":null,\"rewards\":[],"
	        "\"blockedBy\":\"flagged_referral\"}",
	        NULL);
	assert_int_equal(flock_checkpoints_ingest(&res, f->client, "x", &p), 0);
	assert_false(res->matched);
	assert_null(res->referral);
	assert_int_equal(res->reward_count, 0);
	assert_string_equal(res->blocked_by, "flagged_referral");
	flock_checkpoint_result_free(res);
}

static void get_live_escapes_query(void **state)
{
	fixture *f = *state;
	flock_get_live_params p = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_campaign *c = NULL;
	const st_request *r;

	p.environment = "production";
	p.customer_id = "cus_a b&c=d/é";
	st_push(f->st, 200, CAMPAIGN, NULL);
	assert_int_equal(flock_campaigns_get_live(&c, f->client, &p), 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->url, "http://flock.test/campaigns/live"
	                            "?environment=production"
	                            "&customerId=cus_a%20b%26c%3Dd%2F%C3%A9");
	assert_headers(r, 0);
	flock_campaign_free(c);

	p.customer_id = NULL;
	st_push(f->st, 200, CAMPAIGN, NULL);
	assert_int_equal(flock_campaigns_get_live(&c, f->client, &p), 0);
	assert_string_equal(st_req(f->st, 1)->url,
	                    "http://flock.test/campaigns/live"
	                    "?environment=production");
	flock_campaign_free(c);
}

static void get_live_parses_campaign(void **state)
{
	fixture *f = *state;
	flock_get_live_params p = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_campaign *c = NULL;
	const flock_campaign_reward *r;

	p.environment = "production";
	st_push(f->st, 200, CAMPAIGN, NULL);
	assert_int_equal(flock_campaigns_get_live(&c, f->client, &p), 0);
	assert_string_equal(c->id, "cmp_1");
	assert_string_equal(c->name, "Give 10 get 10");
	assert_string_equal(c->environment, "production");
	assert_true(c->is_live);
	assert_null(c->copied_from_campaign_id);
	assert_string_equal(c->referee_landing_page_url,
	                    "https://example.com/r");
	assert_string_equal(c->terms_url, "https://example.com/terms");
	assert_string_equal(c->invite_message, "Join me");
	assert_string_equal(c->last_ping_at, "2026-11-26T10:00:00.000Z");
	assert_string_equal(c->last_ping_origin, "https://app.example.com");
	assert_null(c->starts_at);
	assert_null(c->ends_at);
	assert_int_equal(c->reward_hold_days, 14);
	assert_string_equal(c->meta->application_id, "app_1");
	assert_int_equal(c->reward_count, 2);
	r = c->rewards[0];
	assert_string_equal(r->id, "crw_1");
	assert_string_equal(r->campaign_id, "cmp_1");
	assert_string_equal(r->name, "$10");
	assert_string_equal(r->description, "Ten dollars");
	assert_string_equal(r->type, "payout");
	assert_string_equal(r->party, "referrer");
	assert_string_equal(r->method, "paypal");
	assert_true(r->payout_amount == 10.5);
	assert_true(r->discount_amount == 0.0);
	assert_int_equal(r->discount_duration_in_month, 0);
	assert_string_equal(r->currency, "usd");
	assert_int_equal(r->limit, 10);
	assert_string_equal(r->limit_unit, "reward");
	assert_string_equal(r->limit_interval, "month");
	r = c->rewards[1];
	assert_true(r->discount_percentage == 20.0);
	assert_int_equal(r->discount_duration_in_month, 3);
	assert_int_equal(r->limit, -1);
	assert_null(r->name);
	assert_null(r->limit_unit);
	assert_string_equal(r->raw_json,
	                    "{\"id\":\"crw_2\",\"campaignId\":\"cmp_1\","
	                    "\"type\":\"discount\",\"party\":\"referee\","
	                    "\"method\":\"custom\",\"discountAmount\":0,"
	                    "\"discountPercentage\":20,"
	                    "\"discountDurationInMonth\":3,"
	                    "\"currency\":\"cad\",\"limit\":null}");
	/* Undocumented members stay reachable through raw_json. */
	assert_non_null(strstr(c->raw_json, "\"platforms\":[\"mobile\""));
	flock_campaign_free(c);
}

static void campaigns_list_bare_array(void **state)
{
	fixture *f = *state;
	flock_campaign_list *l = NULL;
	char body[sizeof(CAMPAIGN) * 2 + 8];
	const st_request *r;

	snprintf(body, sizeof(body), "[%s,%s]", CAMPAIGN, CAMPAIGN);
	st_push(f->st, 200, body, NULL);
	assert_int_equal(flock_campaigns_list(&l, f->client), 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->url, "http://flock.test/campaigns");
	assert_headers(r, 0);
	assert_int_equal(l->count, 2);
	assert_string_equal(l->items[1]->id, "cmp_1");
	assert_int_equal(l->items[1]->reward_count, 2);
	assert_string_equal(l->raw_json, body);
	flock_campaign_list_free(l);

	st_push(f->st, 200, "[]", NULL);
	assert_int_equal(flock_campaigns_list(&l, f->client), 0);
	assert_int_equal(l->count, 0);
	assert_null(l->items);
	flock_campaign_list_free(l);
}

static void campaign_checkpoints_list(void **state)
{
	fixture *f = *state;
	flock_checkpoint_list *l = NULL;
	const st_request *r;

	st_push(f->st, 200,
	        "{\"data\":[{\"id\":\"chk_1\",\"campaignId\":\"cmp 1\","
	        "\"checkpointName\":\"purchase_completed\","
	        "\"trigger\":\"reward\",\"placementId\":null},"
	        "{\"id\":\"chk_2\",\"campaignId\":\"cmp 1\","
	        "\"checkpointName\":\"signup\",\"trigger\":\"placement\","
	        "\"placementId\":\"plc_1\"}]}",
	        NULL);
	assert_int_equal(
	        flock_campaign_checkpoints_list(&l, f->client, "cmp 1"), 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->url, "http://flock.test/campaign-checkpoints"
	                            "?campaignId=cmp%201");
	assert_headers(r, 0);
	assert_int_equal(l->count, 2);
	assert_string_equal(l->items[0]->id, "chk_1");
	assert_string_equal(l->items[0]->campaign_id, "cmp 1");
	assert_string_equal(l->items[0]->checkpoint_name, "purchase_completed");
	assert_string_equal(l->items[0]->trigger, "reward");
	assert_null(l->items[0]->placement_id);
	assert_string_equal(l->items[1]->placement_id, "plc_1");
	assert_string_equal(l->items[1]->trigger, "placement");
	assert_non_null(strstr(l->items[1]->raw_json, "\"plc_1\""));
	flock_checkpoint_list_free(l);
}

static void validate_code(void **state)
{
	fixture *f = *state;
	flock_validation *v = NULL;
	const st_request *r;
	json_t *body;

	st_push(f->st, 200,
	        "{\"isValid\":true,\"referredBy\":{\"id\":\"cus_bob\","
	        "\"externalUserId\":\"user_9\",\"email\":\"bob@example.com\","
	        "\"name\":\"Bob\"}}",
	        NULL);
	assert_int_equal(flock_referrals_validate(&v, f->client, "JANE123"), 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url,
	                    "http://flock.test/referrals/validate-code");
	assert_headers(r, 1);
	body = st_json(r);
	assert_int_equal(json_object_size(body), 1);
	assert_field(body, "referralCode", "JANE123");
	json_decref(body);
	assert_true(v->is_valid);
	assert_string_equal(v->referred_by->id, "cus_bob");
	assert_string_equal(v->referred_by->external_user_id, "user_9");
	assert_string_equal(v->referred_by->email, "bob@example.com");
	assert_string_equal(v->referred_by->name, "Bob");
	flock_validation_free(v);

	st_push(f->st, 200, "{\"isValid\":false,\"referredBy\":null}", NULL);
	assert_int_equal(flock_referrals_validate(&v, f->client, "NOPE"), 0);
	assert_false(v->is_valid);
	assert_null(v->referred_by);
	assert_string_equal(v->raw_json,
	                    "{\"isValid\":false,\"referredBy\":null}");
	flock_validation_free(v);
}

static void create_referral(void **state)
{
	fixture *f = *state;
	flock_referral_create_params p = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_referral *ref = NULL;
	const st_request *r;
	json_t *body;

	p.campaign_id = "cmp_1";
	p.referral_code = "BOB123";
	p.referee_id = "cus_jane";
	st_push(f->st, 201, REFERRAL, NULL);
	assert_int_equal(flock_referrals_create(&ref, f->client, &p), 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, "http://flock.test/referrals");
	assert_headers(r, 1);
	body = st_json(r);
	assert_int_equal(json_object_size(body), 3);
	assert_field(body, "campaignId", "cmp_1");
	assert_field(body, "referralCode", "BOB123");
	assert_field(body, "refereeId", "cus_jane");
	json_decref(body);
	assert_string_equal(ref->id, "ref_1");
	assert_string_equal(ref->campaign_id, "cmp_1");
	assert_string_equal(ref->referrer_id, "cus_bob");
	assert_string_equal(ref->referee_id, "cus_jane");
	assert_string_equal(ref->status, "flagged");
	assert_string_equal(ref->environment, "test");
	assert_int_equal(ref->suspected_fraud_count, 2);
	assert_string_equal(ref->suspected_frauds[0]->type, "self_referral");
	assert_string_equal(ref->suspected_frauds[0]->message, "same email");
	assert_string_equal(ref->suspected_frauds[1]->type, "velocity");
	assert_string_equal(ref->meta->created_at, "2026-11-26T16:38:00.000Z");
	assert_string_equal(ref->raw_json, REFERRAL);
	flock_referral_free(ref);

	p.referee_id = NULL;
	p.referee_external_user_id = "user_jane";
	st_push(f->st, 201, REFERRAL, NULL);
	assert_int_equal(flock_referrals_create(&ref, f->client, &p), 0);
	body = st_json(st_req(f->st, 1));
	assert_int_equal(json_object_size(body), 3);
	assert_field(body, "refereeExternalUserId", "user_jane");
	assert_null(json_object_get(body, "refereeId"));
	json_decref(body);
	flock_referral_free(ref);
}

static void list_referrals(void **state)
{
	fixture *f = *state;
	flock_referral_list_params p = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_referral_page *page = NULL;
	char body[sizeof(REFERRAL) + 64];

	snprintf(body, sizeof(body),
	         "{\"total\":41,\"limit\":20,\"offset\":20,\"data\":[%s]}",
	         REFERRAL);
	p.campaign_id = "cmp_1";
	p.status = "flagged";
	p.limit = 20;
	p.offset = 20;
	st_push(f->st, 200, body, NULL);
	assert_int_equal(flock_referrals_list(&page, f->client, &p), 0);
	assert_string_equal(st_req(f->st, 0)->method, "GET");
	assert_string_equal(st_req(f->st, 0)->url,
	                    "http://flock.test/referrals?campaignId=cmp_1"
	                    "&status=flagged&limit=20&offset=20");
	assert_headers(st_req(f->st, 0), 0);
	assert_int_equal(page->total, 41);
	assert_int_equal(page->limit, 20);
	assert_int_equal(page->offset, 20);
	assert_int_equal(page->count, 1);
	assert_string_equal(page->items[0]->id, "ref_1");
	assert_int_equal(page->items[0]->suspected_fraud_count, 2);
	assert_string_equal(page->raw_json, body);
	flock_referral_page_free(page);

	/* No filter, server default page: no query at all. */
	p = (flock_referral_list_params)FLOCK_REFERRAL_LIST_PARAMS_INIT;
	st_push(f->st, 200,
	        "{\"total\":0,\"limit\":20,\"offset\":0,"
	        "\"data\":[]}",
	        NULL);
	assert_int_equal(flock_referrals_list(&page, f->client, &p), 0);
	assert_string_equal(st_req(f->st, 1)->url,
	                    "http://flock.test/referrals");
	assert_int_equal(page->count, 0);
	flock_referral_page_free(page);
}

static void page_body(char *out, size_t size, long total, long offset, int n)
{
	int i, len;

	len = snprintf(out, size,
	               "{\"total\":%ld,\"limit\":2,\"offset\":%ld,"
	               "\"data\":[",
	               total, offset);
	for (i = 0; i < n; i++)
		len += snprintf(out + len, size - (size_t)len,
		                "%s{\"id\":\"ref_%ld\",\"status\":\"pending\"}",
		                i ? "," : "", offset + i);
	snprintf(out + len, size - (size_t)len, "]}");
}

static void iterator_walks_pages_to_total(void **state)
{
	fixture *f = *state;
	flock_referral_list_params p = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_referral_iterator *it = NULL;
	const flock_referral *r;
	char body[512], want[16];
	int n = 0;

	p.limit = 2;
	p.status = "pending";
	page_body(body, sizeof(body), 5, 0, 2);
	st_push(f->st, 200, body, NULL);
	page_body(body, sizeof(body), 5, 2, 2);
	st_push(f->st, 200, body, NULL);
	page_body(body, sizeof(body), 5, 4, 1);
	st_push(f->st, 200, body, NULL);
	assert_int_equal(flock_referral_iterator_new(&it, f->client, &p), 0);
	assert_int_equal(st_count(f->st), 0); /* nothing sent before next() */
	while (flock_referral_iterator_next(&r, it) == 0) {
		snprintf(want, sizeof(want), "ref_%d", n++);
		assert_string_equal(r->id, want);
	}
	assert_int_equal(n, 5);
	/* Stopped at total: no fourth request. */
	assert_int_equal(st_count(f->st), 3);
	assert_int_equal(flock_referral_iterator_next(&r, it), FLOCK_ITEROVER);
	assert_null(r);
	assert_string_equal(
	        st_req(f->st, 0)->url,
	        "http://flock.test/referrals?status=pending&limit=2");
	assert_string_equal(st_req(f->st, 1)->url,
	                    "http://flock.test/referrals?status=pending&limit=2"
	                    "&offset=2");
	assert_string_equal(st_req(f->st, 2)->url,
	                    "http://flock.test/referrals?status=pending&limit=2"
	                    "&offset=4");
	flock_referral_iterator_free(it);
}

static void iterator_stops_on_empty_page_and_resumes_after_error(void **state)
{
	fixture *f = *state;
	flock_referral_list_params p = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_referral_iterator *it = NULL;
	const flock_referral *r;
	char body[512];

	p.limit = 2;
	/* The server claims 10 but runs dry after 2 (rows deleted meanwhile).
	 */
	page_body(body, sizeof(body), 10, 0, 2);
	st_push(f->st, 200, body, NULL);
	st_push(f->st, 404, "{\"statusCode\":404,\"message\":\"gone\"}", NULL);
	page_body(body, sizeof(body), 10, 2, 0);
	st_push(f->st, 200, body, NULL);
	assert_int_equal(flock_referral_iterator_new(&it, f->client, &p), 0);
	assert_int_equal(flock_referral_iterator_next(&r, it), 0);
	assert_int_equal(flock_referral_iterator_next(&r, it), 0);
	assert_string_equal(r->id, "ref_1");
	assert_int_equal(flock_referral_iterator_next(&r, it), FLOCK_ENOTFOUND);
	assert_string_equal(flock_error_last()->message, "gone");
	/* The failed page is asked for again, at the same offset. */
	assert_int_equal(flock_referral_iterator_next(&r, it), FLOCK_ITEROVER);
	assert_null(flock_error_last());
	assert_int_equal(st_count(f->st), 3);
	assert_string_equal(st_req(f->st, 2)->url,
	                    "http://flock.test/referrals?limit=2&offset=2");
	flock_referral_iterator_free(it);
}

/* Without a total, pages are read until one comes back empty. */
static void iterator_without_total(void **state)
{
	fixture *f = *state;
	flock_referral_list_params p = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_referral_iterator *it = NULL;
	const flock_referral *r;
	int n = 0;

	p.limit = 2;
	p.offset = 10;
	p.campaign_id = "cmp_1";
	st_push(f->st, 200,
	        "{\"data\":[{\"id\":\"ref_a\"},{\"id\":\"ref_b\"}]}", NULL);
	st_push(f->st, 200, "{\"data\":[{\"id\":\"ref_c\"}]}", NULL);
	st_push(f->st, 200, "{\"data\":[]}", NULL);
	assert_int_equal(flock_referral_iterator_new(&it, f->client, &p), 0);
	while (flock_referral_iterator_next(&r, it) == 0)
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(st_count(f->st), 3);
	assert_string_equal(st_req(f->st, 0)->url,
	                    "http://flock.test/referrals?campaignId=cmp_1"
	                    "&limit=2&offset=10");
	assert_string_equal(st_req(f->st, 2)->url,
	                    "http://flock.test/referrals?campaignId=cmp_1"
	                    "&limit=2&offset=13");
	flock_referral_iterator_free(it);
}

static void trigger_reward_for(void **state)
{
	fixture *f = *state;
	flock_trigger_params p = FLOCK_TRIGGER_PARAMS_INIT;
	flock_reward_ids *ids = NULL;
	const st_request *r;
	json_t *body, *arr;

	p.external_user_id = "user_123";
	p.environment = "production";
	st_push(f->st, 201, "[{\"id\":\"rwd_1\"},{\"id\":\"rwd_2\"}]", NULL);
	assert_int_equal(flock_rewards_trigger(&ids, f->client, &p), 0);
	r = st_req(f->st, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, "http://flock.test/rewards/trigger");
	assert_headers(r, 1);
	body = st_json(r);
	assert_int_equal(json_object_size(body), 3);
	assert_field(body, "externalUserId", "user_123");
	assert_field(body, "environment", "production");
	arr = json_object_get(body, "rewardFor");
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_array_get(arr, 0)), "self");
	assert_string_equal(json_string_value(json_array_get(arr, 1)),
	                    "referral_partner");
	json_decref(body);
	assert_int_equal(ids->count, 2);
	assert_string_equal(ids->ids[0], "rwd_1");
	assert_string_equal(ids->ids[1], "rwd_2");
	flock_reward_ids_free(ids);

	p.reward_for = FLOCK_REWARD_REFERRAL_PARTNER;
	st_push(f->st, 201, "[]", NULL);
	assert_int_equal(flock_rewards_trigger(&ids, f->client, &p), 0);
	body = st_json(st_req(f->st, 1));
	arr = json_object_get(body, "rewardFor");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_array_get(arr, 0)),
	                    "referral_partner");
	json_decref(body);
	assert_int_equal(ids->count, 0);
	flock_reward_ids_free(ids);
}

/* Each logical POST gets its own generated key. */
static void generated_keys_differ_per_call(void **state)
{
	fixture *f = *state;
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;

	p.external_user_id = "u";
	p.environment = "test";
	st_push(f->st, 201, RESULT, NULL);
	st_push(f->st, 201, RESULT, NULL);
	assert_int_equal(flock_checkpoints_ingest(NULL, f->client, "a", &p), 0);
	assert_int_equal(flock_checkpoints_ingest(NULL, f->client, "a", &p), 0);
	assert_true(is_hex32(st_header(st_req(f->st, 0), "Idempotency-Key")));
	assert_string_not_equal(st_header(st_req(f->st, 0), "Idempotency-Key"),
	                        st_header(st_req(f->st, 1), "Idempotency-Key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	        T(identify_sends_documented_body),
	        T(identify_parses_customer),
	        T(identify_nulls_and_pairs),
	        T(ingest_sends_documented_body),
	        T(ingest_parses_result),
	        T(ingest_blocked_result),
	        T(get_live_escapes_query),
	        T(get_live_parses_campaign),
	        T(campaigns_list_bare_array),
	        T(campaign_checkpoints_list),
	        T(validate_code),
	        T(create_referral),
	        T(list_referrals),
	        T(iterator_walks_pages_to_total),
	        T(iterator_stops_on_empty_page_and_resumes_after_error),
	        T(iterator_without_total),
	        T(trigger_reward_for),
	        T(generated_keys_differ_per_call),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
