/*
 * Error mapping: every HTTP status the API documents to its code, the
 * detail in flock_error_last() (status, server code, message, request id,
 * retries), bad success bodies, and FLOCK_EINVAL before any request.
 */
#include "support.h"
#include "scripted_transport.h"

#include <string.h>

typedef struct {
	scripted *st;
	flock_client *client;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	f->st = st_new();
	/* no retries: one response each */
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

static int ingest(fixture *f)
{
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;
	int rc;

	p.external_user_id = "user_123";
	p.environment = "production";
	rc = flock_checkpoints_ingest(&res, f->client, "purchase", &p);
	if (rc != 0)
		assert_null(res);
	flock_checkpoint_result_free(res);
	return rc;
}

static void status_mapping(void **state)
{
	static const struct {
		int status;
		int code;
	} map[] = {
	        {400, FLOCK_EREQUEST},   {401, FLOCK_EAUTH},
	        {403, FLOCK_EPERM},      {404, FLOCK_ENOTFOUND},
	        {405, FLOCK_EREQUEST},   {409, FLOCK_ECONFLICT},
	        {413, FLOCK_EREQUEST},   {422, FLOCK_EIDEMPOTENCY},
	        {429, FLOCK_ERATELIMIT}, {500, FLOCK_ESERVER},
	        {502, FLOCK_ESERVER},    {503, FLOCK_ESERVER},
	        {504, FLOCK_ESERVER},    {302, FLOCK_EBADRESPONSE},
	};
	fixture *f = *state;
	const flock_error *e;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		st_push(f->st, map[i].status, "{}", NULL);
		assert_int_equal(ingest(f), map[i].code);
		e = flock_error_last();
		assert_non_null(e);
		assert_int_equal(e->code, map[i].code);
		assert_int_equal(e->http_status, map[i].status);
		assert_int_equal(e->retries, 0);
		assert_non_null(e->message);
		assert_true(strlen(e->message) > 0);
		assert_null(e->server_code);
		assert_null(e->request_id);
	}
	assert_int_equal(st_count(f->st), i);
}

static void nest_error_detail(void **state)
{
	fixture *f = *state;
	const flock_error *e;

	st_push(f->st, 400,
	        "{\"statusCode\":400,\"error\":\"Bad Request\","
	        "\"message\":\"externalUserId is required\","
	        "\"code\":\"missing_field\",\"requestId\":\"req_body\"}",
	        "X-Request-Id", "req_header", NULL);
	assert_int_equal(ingest(f), FLOCK_EREQUEST);
	e = flock_error_last();
	assert_int_equal(e->http_status, 400);
	assert_string_equal(e->message, "externalUserId is required");
	assert_string_equal(e->server_code, "missing_field");
	/* The header wins; the body's requestId is the fallback. */
	assert_string_equal(e->request_id, "req_header");

	st_push(f->st, 404,
	        "{\"statusCode\":404,\"error\":\"Not Found\","
	        "\"message\":\"no live "
	        "campaign\",\"code\":\"no_live_campaign\","
	        "\"requestId\":\"req_body\"}",
	        NULL);
	assert_int_equal(ingest(f), FLOCK_ENOTFOUND);
	e = flock_error_last();
	assert_string_equal(e->server_code, "no_live_campaign");
	assert_string_equal(e->request_id, "req_body");
}

static void nest_message_array_joined(void **state)
{
	fixture *f = *state;

	st_push(f->st, 400,
	        "{\"statusCode\":400,\"error\":\"Bad Request\",\"message\":"
	        "[\"email must be an email\",\"name must be a string\"]}",
	        "x-request-id", "req_9", NULL);
	assert_int_equal(ingest(f), FLOCK_EREQUEST);
	assert_string_equal(flock_error_last()->message,
	                    "email must be an email; name must be a string");
	/* Header names are case-insensitive. */
	assert_string_equal(flock_error_last()->request_id, "req_9");

	/* No message: the NestJS "error" text stands in. */
	st_push(f->st, 401, "{\"statusCode\":401,\"error\":\"Unauthorized\"}",
	        NULL);
	assert_int_equal(ingest(f), FLOCK_EAUTH);
	assert_string_equal(flock_error_last()->message, "Unauthorized");
}

/* A server echoing the key back never gets it into the message. */
static void key_redacted_from_server_message(void **state)
{
	fixture *f = *state;

	st_push(f->st, 401,
	        "{\"message\":\"unknown key sk_test_key (sk_test_key)\"}",
	        NULL);
	assert_int_equal(ingest(f), FLOCK_EAUTH);
	assert_string_equal(flock_error_last()->message,
	                    "unknown key [redacted] ([redacted])");
}

static void non_json_error_body(void **state)
{
	fixture *f = *state;
	const flock_error *e;

	st_push(f->st, 502, "<html>Bad Gateway</html>", NULL);
	assert_int_equal(ingest(f), FLOCK_ESERVER);
	e = flock_error_last();
	assert_int_equal(e->http_status, 502);
	assert_string_equal(e->message, "POST /checkpoints/ingest: HTTP 502");
	assert_null(e->server_code);
}

static void bad_success_bodies(void **state)
{
	fixture *f = *state;
	flock_validation *v = (flock_validation *)1;
	flock_campaign_list *l = (flock_campaign_list *)1;
	const flock_error *e;

	st_push(f->st, 201, "<html>welcome to the hotel wifi</html>",
	        "X-Request-Id", "req_x", NULL);
	assert_int_equal(ingest(f), FLOCK_EBADRESPONSE);
	e = flock_error_last();
	assert_int_equal(e->http_status, 201);
	assert_string_equal(e->request_id, "req_x");
	assert_non_null(strstr(e->message, "not JSON"));

	st_push(f->st, 201, "", NULL);
	assert_int_equal(ingest(f), FLOCK_EBADRESPONSE);

	/* JSON, but not the documented shape: the message names the field. */
	st_push(f->st, 201, "{\"id\":\"evt_1\",\"matched\":\"yes\"}", NULL);
	assert_int_equal(ingest(f), FLOCK_EBADRESPONSE);
	assert_string_equal(flock_error_last()->message,
	                    "bad response: checkpointResult.matched is not a "
	                    "boolean");

	st_push(f->st, 201, "{\"matched\":true}", NULL);
	assert_int_equal(ingest(f), FLOCK_EBADRESPONSE);
	assert_non_null(strstr(flock_error_last()->message, "id is missing"));

	st_push(f->st, 200, "{\"referredBy\":null}", NULL);
	assert_int_equal(flock_referrals_validate(&v, f->client, "X"),
	                 FLOCK_EBADRESPONSE);
	assert_null(v);

	st_push(f->st, 200, "{\"data\":[]}", NULL);
	assert_int_equal(flock_campaigns_list(&l, f->client),
	                 FLOCK_EBADRESPONSE);
	assert_null(l);

	st_push(f->st, 200, "[{\"id\":\"cmp_1\",\"rewards\":[{\"id\":7}]}]",
	        NULL);
	assert_int_equal(flock_campaigns_list(&l, f->client),
	                 FLOCK_EBADRESPONSE);
	assert_string_equal(flock_error_last()->message,
	                    "bad response: campaigns[0].rewards[0].id is not "
	                    "a string");
}

/* A custom transport that returns 0 without a real status. */
static void transport_without_status(void **state)
{
	fixture *f = *state;

	st_push(f->st, 0, NULL, NULL);
	assert_int_equal(ingest(f), FLOCK_EBADRESPONSE);
	assert_non_null(strstr(flock_error_last()->message, "no HTTP status"));
	st_push(f->st, 700, "{}", NULL);
	assert_int_equal(ingest(f), FLOCK_EBADRESPONSE);
	assert_int_equal(flock_error_last()->http_status, 700);
}

static void transport_faults(void **state)
{
	fixture *f = *state;
	const flock_error *e;

	st_push_fault(f->st, FLOCK_ETIMEOUT);
	assert_int_equal(ingest(f), FLOCK_ETIMEOUT);
	e = flock_error_last();
	assert_int_equal(e->http_status, 0);
	assert_non_null(strstr(e->message, "/checkpoints/ingest"));
	st_push_fault(f->st, FLOCK_ENETWORK);
	assert_int_equal(ingest(f), FLOCK_ENETWORK);
	assert_int_equal(flock_error_last()->code, FLOCK_ENETWORK);
}

/* A later success forgets the error; every thread has its own. */
static void success_clears_error(void **state)
{
	fixture *f = *state;

	st_push(f->st, 500, "{}", NULL);
	assert_int_equal(ingest(f), FLOCK_ESERVER);
	assert_non_null(flock_error_last());
	st_push(f->st, 201, "{\"id\":\"evt_1\"}", NULL);
	assert_int_equal(ingest(f), 0);
	assert_null(flock_error_last());
	st_push(f->st, 500, "{}", NULL);
	assert_int_equal(ingest(f), FLOCK_ESERVER);
	flock_error_clear();
	assert_null(flock_error_last());
}

static void expect_einval(fixture *f, int rc, const char *needle)
{
	const flock_error *e = flock_error_last();

	assert_int_equal(rc, FLOCK_EINVAL);
	assert_non_null(e);
	assert_int_equal(e->code, FLOCK_EINVAL);
	assert_int_equal(e->http_status, 0);
	if (strstr(e->message, needle) == NULL)
		fail_msg("message \"%s\" does not mention \"%s\"", e->message,
		         needle);
	assert_int_equal(st_count(f->st), 0);
}

static void einval_identify_and_ingest(void **state)
{
	fixture *f = *state;
	flock_identify_params ip = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_ingest_params gp = FLOCK_INGEST_PARAMS_INIT;
	flock_property pairs[] = {{"a", FLOCK_PROP_STRING, "x", 0, 0},
	                          {"a", FLOCK_PROP_BOOL, NULL, 0, 1}};
	flock_customer *c = (flock_customer *)1;

	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "external_user_id");
	assert_null(c);
	expect_einval(f, flock_customers_identify(&c, NULL, &ip), "NULL");
	expect_einval(f, flock_customers_identify(NULL, f->client, &ip),
	              "NULL");
	expect_einval(f, flock_customers_identify(&c, f->client, NULL), "NULL");
	ip.external_user_id = "";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "external_user_id");
	ip.external_user_id = "u";
	ip.custom_properties_json = "{\"plan\":{\"tier\":1}}";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "the value of \"plan\" is an object");
	ip.custom_properties_json = "{\"tags\":[1,2]}";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "is an array");
	ip.custom_properties_json = "[1]";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "must be a JSON object");
	ip.custom_properties_json = "{not json";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "not valid JSON");
	ip.custom_properties_json = "{\"a\":1,\"a\":2}";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "custom_properties");
	ip.custom_properties_json = "{}";
	ip.custom_properties = pairs;
	ip.custom_property_count = 1;
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "not both");
	ip.custom_properties_json = NULL;
	ip.custom_property_count = 2;
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "duplicate key \"a\"");
	pairs[1].key = "b";
	pairs[1].type = FLOCK_PROP_STRING; /* with a NULL string_value */
	expect_einval(f, flock_customers_identify(&c, f->client, &ip), "\"b\"");
	pairs[1].string_value = "caf\xc3";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "\"b\" is not valid UTF-8");
	pairs[1].string_value = "ok";
	pairs[1].key = "\xed\xa0\x80"; /* a UTF-16 surrogate, encoded */
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "key of [1] is not valid UTF-8");
	ip.custom_property_count = 0;
	ip.email = "\xc0\xaf@x.com"; /* overlong "/" */
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "email is not valid UTF-8");
	ip.email = NULL;
	ip.idempotency_key = "has space";
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "idempotency_key");
	ip.version = 99;
	expect_einval(f, flock_customers_identify(&c, f->client, &ip),
	              "version");

	expect_einval(f, flock_checkpoints_ingest(NULL, f->client, "x", &gp),
	              "external_user_id");
	gp.external_user_id = "u";
	expect_einval(f, flock_checkpoints_ingest(NULL, f->client, "x", &gp),
	              "environment");
	gp.environment = "test";
	expect_einval(f, flock_checkpoints_ingest(NULL, f->client, NULL, &gp),
	              "checkpoint_name");
	expect_einval(f, flock_checkpoints_ingest(NULL, f->client, "", &gp),
	              "checkpoint_name");
	gp.properties_json = "{\"nested\":{}}";
	expect_einval(f, flock_checkpoints_ingest(NULL, f->client, "x", &gp),
	              "properties must be flat");
}

static void einval_other_calls(void **state)
{
	fixture *f = *state;
	flock_get_live_params lp = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_referral_create_params cp = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_referral_list_params rp = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_trigger_params tp = FLOCK_TRIGGER_PARAMS_INIT;
	flock_campaign *camp;
	flock_checkpoint_list *cl;
	flock_validation *v;
	flock_referral *ref;
	flock_referral_page *page;
	flock_referral_iterator *it;
	flock_reward_ids *ids;

	expect_einval(f, flock_campaigns_get_live(&camp, f->client, &lp),
	              "environment");
	expect_einval(f, flock_campaigns_list(NULL, f->client), "NULL");
	expect_einval(f, flock_campaign_checkpoints_list(&cl, f->client, ""),
	              "campaign_id");
	expect_einval(f, flock_referrals_validate(&v, f->client, NULL),
	              "referral_code");
	expect_einval(f, flock_referrals_create(&ref, f->client, &cp),
	              "campaign_id");
	cp.campaign_id = "cmp_1";
	expect_einval(f, flock_referrals_create(&ref, f->client, &cp),
	              "referral_code");
	cp.referral_code = "BOB";
	expect_einval(f, flock_referrals_create(&ref, f->client, &cp),
	              "exactly one");
	cp.referee_id = "cus_1";
	cp.referee_external_user_id = "u1";
	expect_einval(f, flock_referrals_create(&ref, f->client, &cp),
	              "exactly one");
	rp.limit = 101;
	expect_einval(f, flock_referrals_list(&page, f->client, &rp), "limit");
	expect_einval(f, flock_referral_iterator_new(&it, f->client, &rp),
	              "limit");
	rp.limit = 10;
	rp.offset = -1;
	expect_einval(f, flock_referrals_list(&page, f->client, &rp), "offset");
	expect_einval(f, flock_referral_iterator_next(NULL, NULL), "NULL");
	expect_einval(f, flock_rewards_trigger(&ids, f->client, &tp),
	              "external_user_id");
	tp.external_user_id = "u";
	expect_einval(f, flock_rewards_trigger(&ids, f->client, &tp),
	              "environment");
	tp.environment = "test";
	tp.reward_for = 0x4;
	expect_einval(f, flock_rewards_trigger(&ids, f->client, &tp),
	              "reward_for");
}

static void strerror_covers_codes(void **state)
{
	(void)state;
	assert_string_equal(flock_strerror(FLOCK_ENOTFOUND), "not found");
	assert_string_equal(flock_strerror(FLOCK_ETIMEOUT), "timed out");
	assert_string_equal(flock_strerror(12345), "unknown error");
	assert_string_not_equal(flock_strerror(FLOCK_ESIG_MISMATCH),
	                        "unknown error");
	assert_string_not_equal(flock_strerror(FLOCK_ITEROVER),
	                        "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	        T(status_mapping),
	        T(nest_error_detail),
	        T(nest_message_array_joined),
	        T(key_redacted_from_server_message),
	        T(non_json_error_body),
	        T(bad_success_bodies),
	        T(transport_without_status),
	        T(transport_faults),
	        T(success_clears_error),
	        T(einval_identify_and_ingest),
	        T(einval_other_calls),
	        T(strerror_covers_codes),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
