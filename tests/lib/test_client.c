/*
 * Client creation and options, process-wide init, free functions, logging
 * (never the key) and the User-Agent.
 */
#include "support.h"
#include "scripted_transport.h"

#include <stdlib.h>
#include <string.h>

static flock_client_options base_options(flock_transport *t)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;

	o.access_key = "sk_live_secret_123";
	o.transport = t;
	return o;
}

static void options_init_matches_macro(void **state)
{
	flock_client_options a = FLOCK_CLIENT_OPTIONS_INIT, b;
	(void)state;

	memset(&b, 0xff, sizeof(b));
	assert_int_equal(
	        flock_client_options_init(&b, FLOCK_CLIENT_OPTIONS_VERSION), 0);
	/* Member by member: padding bytes are not part of the contract. */
	assert_int_equal(a.version, b.version);
	assert_null(b.access_key);
	assert_null(b.base_url);
	assert_int_equal(b.timeout_ms, a.timeout_ms);
	assert_int_equal(b.connect_timeout_ms, 0);
	assert_int_equal(b.retry_base_ms, 0);
	assert_int_equal(b.retry_cap_ms, 0);
	assert_null(b.user_agent_suffix);
	assert_null(b.ca_path);
	assert_null(b.transport);
	assert_null(b.log_cb);
	assert_null(b.log_userdata);
	assert_null(b.sleep_cb);
	assert_null(b.sleep_userdata);
	assert_int_equal(b.max_retries, 0);
	assert_true(b.max_response_bytes == 0);
	assert_int_equal(flock_client_options_init(&b, 99), FLOCK_EINVAL);
	assert_int_equal(flock_client_options_init(NULL, 1), FLOCK_EINVAL);
}

static void new_rejects_bad_options(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st), bad_t = t;
	flock_client_options o;
	flock_client *c = (flock_client *)1;
	(void)state;

	o = base_options(&t);
	o.access_key = NULL;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	assert_null(c);
	assert_non_null(strstr(flock_error_last()->message, "access_key"));
	o.access_key = "";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o.access_key = "sk_x\r\nX-Evil: 1";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	/* The key never shows up in a message. */
	assert_null(strstr(flock_error_last()->message, "sk_x"));

	o = base_options(&t);
	o.base_url = "api.withflock.com";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o.base_url = "ftp://example.com";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o.base_url = "http://example.com/?q=1";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o.base_url = "";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);

	o = base_options(&t);
	o.version = 7;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o = base_options(&t);
	o.timeout_ms = -5;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o = base_options(&t);
	o.max_retries = -2;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o = base_options(&t);
	o.user_agent_suffix = "app/1\n";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	o = base_options(&bad_t);
	bad_t.send = NULL;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	bad_t = t;
	bad_t.version = 2;
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	assert_int_equal(flock_client_new(NULL, &o), FLOCK_EINVAL);
	assert_int_equal(flock_client_new(&c, NULL), FLOCK_EINVAL);
	st_free(st);
}

static void base_url_default_env_and_slash(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client_options o = base_options(&t);
	flock_client *c = NULL;
	(void)state;

	unsetenv("FLOCK_BASE_URL");
	assert_int_equal(flock_client_new(&c, &o), 0);
	assert_string_equal(flock_client_base_url(c),
	                    "https://api.withflock.com");
	flock_client_free(c);

	setenv("FLOCK_BASE_URL", "http://127.0.0.1:8080/", 1);
	assert_int_equal(flock_client_new(&c, &o), 0);
	assert_string_equal(flock_client_base_url(c), "http://127.0.0.1:8080");
	flock_client_free(c);

	/* An explicit option wins over the environment. */
	o.base_url = "https://flock.internal/api//";
	assert_int_equal(flock_client_new(&c, &o), 0);
	assert_string_equal(flock_client_base_url(c),
	                    "https://flock.internal/api");
	st_push(st, 200, "[]", NULL);
	{
		flock_campaign_list *l = NULL;
		assert_int_equal(flock_campaigns_list(&l, c), 0);
		flock_campaign_list_free(l);
	}
	assert_string_equal(st_req(st, 0)->url,
	                    "https://flock.internal/api/campaigns");
	flock_client_free(c);
	unsetenv("FLOCK_BASE_URL");
	assert_null(flock_client_base_url(NULL));
	st_free(st);
}

static void user_agent_and_timeouts(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client_options o = base_options(&t);
	flock_campaign_list *l = NULL;
	flock_client *c = NULL;
	(void)state;

	o.base_url = "http://flock.test";
	o.user_agent_suffix = "shop-backend/2.3";
	o.timeout_ms = 1234;
	o.connect_timeout_ms = 567;
	assert_int_equal(flock_client_new(&c, &o), 0);
	st_push(st, 200, "[]", NULL);
	assert_int_equal(flock_campaigns_list(&l, c), 0);
	assert_string_equal(st_header(st_req(st, 0), "User-Agent"),
	                    "libflock/" FLOCK_VERSION " shop-backend/2.3");
	assert_string_equal(st_header(st_req(st, 0), "Authorization"),
	                    "sk_live_secret_123");
	assert_int_equal(st_req(st, 0)->timeout_ms, 1234);
	assert_int_equal(st_req(st, 0)->connect_timeout_ms, 567);
	flock_campaign_list_free(l);
	flock_client_free(c);
	st_free(st);
}

typedef struct {
	int lines;
	int leaked_key;
	int saw_status;
} log_seen;

static void on_log(flock_log_level level, const char *msg, void *userdata)
{
	log_seen *s = userdata;

	(void)level;
	s->lines++;
	if (strstr(msg, "sk_live_secret_123"))
		s->leaked_key = 1;
	if (strstr(msg, "GET /campaigns") && strstr(msg, "503"))
		s->saw_status = 1;
}

static void no_sleep(long ms, void *userdata)
{
	(void)ms;
	(void)userdata;
}

static void log_lines_never_carry_the_key(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client_options o = base_options(&t);
	flock_campaign_list *l = NULL;
	flock_client *c = NULL;
	log_seen seen = {0, 0, 0};
	(void)state;

	o.base_url = "http://flock.test";
	o.log_cb = on_log;
	o.log_userdata = &seen;
	o.sleep_cb = no_sleep;
	assert_int_equal(flock_client_new(&c, &o), 0);
	st_push(st, 503, "{}", NULL);
	st_push(st, 200, "[]", NULL);
	assert_int_equal(flock_campaigns_list(&l, c), 0);
	/* One debug line per attempt, one for the retry. */
	assert_int_equal(seen.lines, 3);
	assert_true(seen.saw_status);
	assert_false(seen.leaked_key);
	flock_campaign_list_free(l);
	flock_client_free(c);
	st_free(st);
}

static int transport_freed;

static void count_free(void *userdata)
{
	(void)userdata;
	transport_freed++;
}

static void custom_transport_freed_once(void **state)
{
	scripted *st = st_new();
	flock_transport t = st_transport(st);
	flock_client_options o = base_options(&t);
	flock_client *c = NULL;
	(void)state;

	t.free = count_free;
	transport_freed = 0;
	/* A failed new() leaves the transport to the caller. */
	o.base_url = "nope";
	assert_int_equal(flock_client_new(&c, &o), FLOCK_EINVAL);
	assert_int_equal(transport_freed, 0);
	o.base_url = NULL;
	assert_int_equal(flock_client_new(&c, &o), 0);
	flock_client_free(c);
	assert_int_equal(transport_freed, 1);
	st_free(st);
}

static void default_transport_lifecycle(void **state)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_client *c = NULL;
	(void)state;

	o.access_key = "sk_x";
	o.ca_path = "/etc/ssl/certs/ca-certificates.crt";
	assert_int_equal(flock_client_new(&c, &o), 0);
	flock_client_free(c);
}

static void global_init_refcounted(void **state)
{
	(void)state;
	assert_int_equal(flock_global_init(), 0);
	assert_int_equal(flock_global_init(), 0);
	flock_global_cleanup();
	/* Still initialised: a client works. */
	default_transport_lifecycle(NULL);
	flock_global_cleanup();
	/* Extra cleanups are ignored, and init works again after. */
	flock_global_cleanup();
	flock_global_cleanup();
	assert_int_equal(flock_global_init(), 0);
	flock_global_cleanup();
}

static void free_functions_accept_null(void **state)
{
	(void)state;
	flock_client_free(NULL);
	flock_customer_free(NULL);
	flock_campaign_free(NULL);
	flock_campaign_list_free(NULL);
	flock_checkpoint_list_free(NULL);
	flock_referral_free(NULL);
	flock_referral_page_free(NULL);
	flock_checkpoint_result_free(NULL);
	flock_validation_free(NULL);
	flock_reward_ids_free(NULL);
	flock_referral_iterator_free(NULL);
}

static void version_reported(void **state)
{
	int major = -1, minor = -1, patch = -1;
	(void)state;

	assert_string_equal(flock_version(&major, &minor, &patch),
	                    FLOCK_VERSION);
	assert_int_equal(major, FLOCK_VERSION_MAJOR);
	assert_int_equal(minor, FLOCK_VERSION_MINOR);
	assert_int_equal(patch, FLOCK_VERSION_PATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(options_init_matches_macro),
	        cmocka_unit_test(new_rejects_bad_options),
	        cmocka_unit_test(base_url_default_env_and_slash),
	        cmocka_unit_test(user_agent_and_timeouts),
	        cmocka_unit_test(log_lines_never_carry_the_key),
	        cmocka_unit_test(custom_transport_freed_once),
	        cmocka_unit_test(default_transport_lifecycle),
	        cmocka_unit_test(global_init_refcounted),
	        cmocka_unit_test(free_functions_accept_null),
	        cmocka_unit_test(version_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
