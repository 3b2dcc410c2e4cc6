/*
 * Webhook endpoint URLs: http(s) only; loopback and private addresses
 * refused when an endpoint is created and again whenever the worker
 * connects, unless the operator allows them (--webhook-allow-private).
 * Helpers: harness_webhooks.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "delivery/urlcheck.h"
#include "harness_webhooks.h"
#include "support.h"

static fd_harness H;

/* Private addresses allowed or not; the spec's retry schedule. */
static const char *const LAX[] = {"--test-clock",
                                  "--webhook-allow-private",
                                  "--webhook-timeout",
                                  "2",
                                  "--webhook-lease",
                                  "7",
                                  NULL};
static const char *const STRICT[] = {
        "--test-clock", "--webhook-timeout", "2", "--webhook-lease", "7", NULL};

/* Serve H with these flags (NULL-terminated, at most 7). */
static void serve_with(const char *const *args)
{
	int i;

	memset(H.extra_args, 0, sizeof(H.extra_args));
	for (i = 0; args[i] && i < 7; i++)
		H.extra_args[i] = args[i];
}

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	serve_with(LAX);
	return h_start(&H);
}

static int teardown(void **state)
{
	(void)state;
	h_stop(&H);
	return 0;
}

/* Serve H again with these flags. */
static void reserve(const char *const *args)
{
	h_kill(&H, SIGTERM);
	serve_with(args);
	assert_int_equal(h_serve(&H), 0);
}

/* Endpoint URLs: http(s) only; loopback and private refused unless the
 * operator allows them. */
static void test_url_checks(void **state)
{
	static const char *const refused[] = {"http://127.0.0.1:9/x",
	                                      "http://10.1.2.3/x",
	                                      "http://192.168.1.1/x",
	                                      "http://169.254.169.254/latest",
	                                      "http://[::1]:9/x",
	                                      "http://[fd00::1]/x",
	                                      "http://[::ffff:127.0.0.1]/x",
	                                      "http://0.0.0.0/x",
	                                      NULL};
	fd_harness strict;
	char path[256], body[256];
	h_resp r;
	int i;

	(void)state;
	memset(&strict, 0, sizeof(strict));
	assert_int_equal(h_start(&strict), 0);
	h_admin_path(&strict, path, sizeof(path), "/webhook-endpoints");
	for (i = 0; refused[i]; i++) {
		snprintf(body, sizeof(body), "{\"url\":\"%s\"}", refused[i]);
		h_call(&strict, &r, "POST", path, strict.admin_token, body,
		       NULL);
		if (r.status != 400)
			print_error("%s: %d\n", refused[i], r.status);
		assert_int_equal(r.status, 400);
		assert_string_equal(wh_str(r.json, "code"), "invalid_url");
		assert_non_null(strstr(wh_str(r.json, "message"), "private"));
		h_resp_free(&r);
	}
	h_call(&strict, &r, "POST", path, strict.admin_token,
	       "{\"url\":\"ftp://93.184.215.14/x\"}", NULL);
	assert_int_equal(r.status, 400);
	h_resp_free(&r);
	/* Credentials in the URL: refused, never stored or shown. */
	h_call(&strict, &r, "POST", path, strict.admin_token,
	       "{\"url\":\"https://me:secret@93.184.215.14/hooks\"}", NULL);
	assert_int_equal(r.status, 400);
	assert_string_equal(wh_str(r.json, "code"), "invalid_url");
	assert_non_null(strstr(wh_str(r.json, "message"), "password"));
	assert_null(strstr(r.text, "secret"));
	h_resp_free(&r);
	h_call(&strict, &r, "POST", path, strict.admin_token,
	       "{\"url\":\"https://93.184.215.14/hooks\"}", NULL);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_stop(&strict);
}

/* One address into ss (AF_INET or AF_INET6 by its form). */
static void addr_of(struct sockaddr_storage *ss, const char *a)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	}
}

static void test_private_addresses(void **state)
{
	static const char *const priv[] = {
	        "127.0.0.1",       "10.0.0.1",    "172.16.0.1",
	        "172.31.255.255",  "192.168.0.1", "169.254.1.1",
	        "100.64.0.1",      "0.0.0.0",     "224.0.0.1",
	        "255.255.255.255", "::1",         "::",
	        "fe80::1",         "fc00::1",     "fd12:3456::1",
	        "::ffff:10.0.0.1", "ff02::1",
	        /* IPv4-translated, Teredo, discard-only, NAT64, 6to4,
	         * documentation, benchmarking, ORCHIDv2 */
	        "::ffff:0:127.0.0.1", "::ffff:0:10.0.0.1", "2001::1",
	        "2001:0:4136:e378:8000:63bf:3fff:fdd2", "100::1",
	        "64:ff9b::8.8.8.8", "2002:c000:204::1", "2001:db8::1",
	        "2001:2::1", "2001:20::1", "fec0::1", NULL};
	static const char *const pub[] = {"93.184.215.14",  "8.8.8.8",
	                                  "172.32.0.1",     "2606:4700::1111",
	                                  "::ffff:8.8.8.8", "2001:4860::8888",
	                                  "::ffff:0:8.8.8.8", "101::1", NULL};
	struct sockaddr_storage ss;
	int i;

	(void)state;
	for (i = 0; priv[i]; i++) {
		addr_of(&ss, priv[i]);
		if (!fd_addr_is_private((struct sockaddr *)&ss))
			print_error("%s should be private\n", priv[i]);
		assert_true(fd_addr_is_private((struct sockaddr *)&ss));
	}
	for (i = 0; pub[i]; i++) {
		addr_of(&ss, pub[i]);
		if (fd_addr_is_private((struct sockaddr *)&ss))
			print_error("%s should be public\n", pub[i]);
		assert_false(fd_addr_is_private((struct sockaddr *)&ss));
	}
}

/* The address is checked again when the worker connects: an endpoint
 * created while private addresses were allowed is refused once they are
 * not, and delivered when they are again (its retry's delay moved past on
 * the clock). */
static void test_private_refused_at_delivery(void **state)
{
	receiver rx;
	json_t *ep, *log, *a;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	reserve(STRICT);
	json_decref(wh_identify(&H, "wh-private"));
	wait_attempts(&H, ep, 1);
	log = ep_call(&H, "GET", ep, "/attempts", NULL, 200);
	a = json_array_get(json_object_get(log, "data"), 0);
	assert_non_null(a);
	assert_true(json_is_null(json_object_get(a, "status")));
	assert_non_null(strstr(wh_str(a, "error"), "private or loopback"));
	json_decref(log);
	assert_int_equal(rx_count(&rx), 0);
	reserve(LAX);
	wh_advance_to_retries(&H, ep);
	rx_wait(&rx, 1);
	assert_int_equal(rx_verify(&H, &rx.seen[0], wh_str(ep, "secret"), 1, 1),
	                 0);
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Proxy variables in flockd's environment do not route deliveries:
 * a proxy would connect to the target itself, after the address check.
 * flockd is started with every proxy variable naming a closed port, and
 * the event still arrives, directly. */
static void test_proxy_variables_ignored(void **state)
{
	static const char *const vars[] = {
	        "http_proxy=http://127.0.0.1:9",  "HTTP_PROXY=http://127.0.0.1:9",
	        "https_proxy=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
	        "all_proxy=http://127.0.0.1:9",   "ALL_PROXY=http://127.0.0.1:9",
	        NULL};
	receiver rx;
	json_t *ep;
	int i;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	for (i = 0; vars[i]; i++)
		H.extra_env[i] = vars[i];
	reserve(LAX);
	memset(H.extra_env, 0, sizeof(H.extra_env));
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "wh-proxy"));
	rx_wait(&rx, 1);
	assert_int_equal(rx_verify(&H, &rx.seen[0], wh_str(ep, "secret"), 1, 1),
	                 0);
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* ?environment= on the endpoints list keeps the endpoints limited to
 * that environment (it was accepted and ignored); one for every
 * environment is listed without the filter. */
static void test_list_environment_filter(void **state)
{
	long test = h_listed_in(&H, "/webhook-endpoints", "test");
	long prod = h_listed_in(&H, "/webhook-endpoints", "production");
	char path[256];
	h_resp r;

	(void)state;
	assert_true(test >= 0 && prod >= 0);
	h_admin_path(&H, path, sizeof(path), "/webhook-endpoints");
	assert_int_equal(h_callf(&H, &r, "POST", path, H.admin_token,
	                         "{s:s, s:s}", "url", "http://127.0.0.1:9/t",
	                         "environment", "test"),
	                 0);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	assert_int_equal(h_callf(&H, &r, "POST", path, H.admin_token, "{s:s}",
	                         "url", "http://127.0.0.1:9/all"),
	                 0);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	assert_int_equal(h_listed_in(&H, "/webhook-endpoints", "test"),
	                 test + 1);
	assert_int_equal(h_listed_in(&H, "/webhook-endpoints", "production"),
	                 prod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_private_addresses),
	        cmocka_unit_test(test_url_checks),
	        cmocka_unit_test(test_private_refused_at_delivery),
	        cmocka_unit_test(test_proxy_variables_ignored),
	        cmocka_unit_test(test_list_environment_filter),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("WEBHOOK_TEST"))
		cmocka_set_test_filter(getenv("WEBHOOK_TEST"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
