/*
 * flockctl webhooks listen against a real flockd: a burst of events
 * forwarded to a local receiver in commit order, each signed with the
 * local secret (verified with libflock, both schemes); flockd restarted
 * under it, with events committed while it was away: listen comes back
 * with Last-Event-ID and forwards each event once. Also --after, the
 * printed secret, the errors that end it, and webhooks verify on a saved
 * delivery.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_run.h"
#include "harness_webhooks.h"
#include "support.h"

static fd_harness H;

#define RUN(o, ...) ctl_run(&H, o, __VA_ARGS__, (const char *)NULL)

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	/* the same port after a restart: listen reconnects to one URL */
	H.want_port = wh_free_port();
	return h_start(&H);
}

static int teardown(void **state)
{
	(void)state;
	h_kill(&H, SIGTERM);
	ctl_clean(&H);
	h_stop(&H);
	return 0;
}

/* Wait until file holds needle; its text (malloc'd). */
static char *wait_for(const char *file, const char *needle)
{
	int i;

	for (i = 0; i < WH_WAIT_MS / 10; i++) {
		char *text = ctl_slurp(file);

		if (text && strstr(text, needle))
			return text;
		free(text);
		ctl_msleep(10);
	}
	fail_msg("no '%s' in %s", needle, file);
	return NULL;
}

/* n customers identified in one import request: n customer.created
 * events committed at once. */
static void burst(const char *prefix, int n)
{
	json_t *rows = json_array(), *body;
	char path[256], ext[64], *text;
	h_resp r;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(ext, sizeof(ext), "%s-%d", prefix, i);
		json_array_append_new(
		        rows, json_pack("{s:s}", "externalUserId", ext));
	}
	body = json_pack("{s:o}", "rows", rows);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	h_admin_path(&H, path, sizeof(path), "/import/customers");
	assert_int_equal(
	        h_call(&H, &r, "POST", path, H.admin_token, text, NULL), 0);
	free(text);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "created")),
	                 n);
	h_resp_free(&r);
}

/* The application's customer.created event ids in commit order. */
static json_t *outbox_ids(void)
{
	ctl_out o;
	json_t *ids = json_array(), *v;
	size_t i;

	RUN(&o, "events", "list", "--name", "customer.created", "--all");
	assert_int_equal(o.code, 0);
	/* newest first: reversed */
	for (i = json_array_size(o.json); i > 0; i--) {
		v = json_array_get(o.json, i - 1);
		json_array_append(ids, json_object_get(v, "id"));
	}
	ctl_out_free(&o);
	return ids;
}

/* A burst, forwarded in order; flockd restarted with events committed in
 * between; each event once. */
static void test_forward_burst_and_restart(void **state)
{
	char secret_file[400], out[400], err[400], url[128], *text;
	receiver rx;
	const char *argv[] = {"webhooks", "listen",           "--forward-to",
	                      url,        "--secret-file",    secret_file,
	                      "--event",  "customer.created", NULL};
	ctl_out o;
	pid_t pid;
	int st, lines;
	char *p;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks", rx.port);
	ctl_path(&H, secret_file, sizeof(secret_file), "listen-secret");
	ctl_path(&H, out, sizeof(out), "listen.out");
	ctl_path(&H, err, sizeof(err), "listen.err");
	assert_int_equal(ctl_write(secret_file, SECRET "\n"), 0);
	/* an event before listen started is not sent (from now on) */
	RUN(&o, "customers", "identify", "--external-id", "before");
	ctl_out_free(&o);
	pid = ctl_spawn(&H, NULL, argv, out, err);
	free(wait_for(err, "Ready!"));
	burst("first", 30);
	rx_wait(&rx, 30);
	/* flockd goes and comes back, and events are committed, while
	 * listen is away (stopped, so it cannot come back first) */
	kill(pid, SIGSTOP);
	assert_true(WIFEXITED(h_kill(&H, SIGTERM)));
	assert_int_equal(h_serve(&H), 0);
	burst("second", 15);
	kill(pid, SIGCONT);
	free(wait_for(err, "the event stream ended"));
	free(wait_for(err, "reconnected"));
	burst("third", 5);
	rx_wait(&rx, 50);
	/* nothing more is coming: the before-event and none twice */
	ctl_msleep(300);
	assert_int_equal(rx_arrived(&rx), 50);
	/* the outbox holds "before" too, first: compare the rest */
	{
		json_t *ids = outbox_ids();
		int i;

		assert_int_equal(json_array_size(ids), 51);
		for (i = 0; i < 50; i++) {
			json_t *body = json_loads(rx.seen[i].body, 0, NULL);

			assert_string_equal(
			        json_string_value(json_object_get(body, "id")),
			        json_string_value(json_array_get(ids, i + 1)));
			assert_int_equal(
			        rx_verify(&H, &rx.seen[i], SECRET, 1, 1), 0);
			json_decref(body);
		}
		json_decref(ids);
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* stdout: one JSON line per delivery, 200 each */
	text = ctl_slurp(out);
	for (lines = 0, p = text; (p = strstr(p, "\"status\":200")); p++)
		lines++;
	assert_int_equal(lines, 50);
	free(text);
	text = ctl_slurp(err);
	assert_null(strstr(text, SECRET)); /* a file's secret is not shown */
	assert_non_null(strstr(text, "50 events forwarded"));
	free(text);
	rx_stop(&rx);
}

/* --after: from an event on; without --forward-to, each envelope is
 * printed, one JSON line each. A new secret is printed, ready to paste. */
static void test_after_and_print(void **state)
{
	char out[400], err[400], after[64], *text, *p;
	const char *argv[] = {"webhooks", "listen",           "--after", after,
	                      "--event",  "customer.created", NULL};
	json_t *ids;
	pid_t pid;
	int n = 0;

	(void)state;
	ids = outbox_ids();
	assert_true(json_array_size(ids) >= 3);
	snprintf(after, sizeof(after), "%s",
	         json_string_value(
	                 json_array_get(ids, json_array_size(ids) - 3)));
	ctl_path(&H, out, sizeof(out), "print.out");
	ctl_path(&H, err, sizeof(err), "print.err");
	pid = ctl_spawn(&H, NULL, argv, out, err);
	text = wait_for(out, json_string_value(json_array_get(
	                             ids, json_array_size(ids) - 1)));
	for (p = text; (p = strstr(p, "\"name\":\"customer.created\"")); p++)
		n++;
	assert_int_equal(n, 2); /* the last two */
	assert_null(strstr(text, after));
	free(text);
	kill(pid, SIGINT);
	waitpid(pid, NULL, 0);
	json_decref(ids);
	/* forwarding with a new secret: it is printed */
	{
		const char *fwd[] = {"webhooks", "listen", "--forward-to",
		                     "http://127.0.0.1:1/x", NULL};

		pid = ctl_spawn(&H, NULL, fwd, out, err);
		text = wait_for(err, "Your webhook signing secret is whsec_");
		free(text);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* Errors that end listen, and their codes. */
static void test_listen_errors(void **state)
{
	const char *no_token[] = {"FLOCK_ADMIN_TOKEN=", NULL};
	const char *other_app[] = {"FLOCK_APP=app_nope", NULL};
	const char *argv[] = {"webhooks", "listen", NULL};
	const char *after[] = {"webhooks", "listen", "--after", "evt_nope",
	                       NULL};
	ctl_out o;

	(void)state;
	ctl_runv(&H, &o, NULL, no_token, argv);
	assert_int_equal(o.code, 3);
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, other_app, argv);
	assert_int_equal(o.code, 4);
	assert_non_null(strstr(o.err, "app_not_found"));
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, NULL, after);
	assert_int_equal(o.code, 4);
	assert_non_null(strstr(o.err, "event_not_found"));
	ctl_out_free(&o);
}

/* webhooks verify on a delivery saved from a real endpoint. */
static void test_verify(void **state)
{
	receiver rx;
	json_t *ep;
	char body[400], headers[400], secret[400], hdr[2048], bad[400];
	const char *ok_argv[] = {"webhooks",  "verify",    "--secret-file",
	                         secret,      "--payload", body,
	                         "--headers", headers,     NULL};
	const char *bad_argv[] = {"webhooks",  "verify",    "--secret-file",
	                          secret,      "--payload", bad,
	                          "--headers", headers,     NULL};
	const char *flock_only[] = {"webhooks",    "verify",    "--secret-file",
	                            secret,        "--payload", body,
	                            "--signature", hdr,         NULL};
	ctl_out o;
	char *tampered;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	h_kill(&H, SIGTERM);
	H.extra_args[0] = "--webhook-allow-private";
	assert_int_equal(h_serve(&H), 0);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	json_decref(wh_identify(&H, "verify-me"));
	rx_wait(&rx, 1);
	ctl_path(&H, body, sizeof(body), "delivery.json");
	ctl_path(&H, bad, sizeof(bad), "tampered.json");
	ctl_path(&H, headers, sizeof(headers), "delivery.headers");
	ctl_path(&H, secret, sizeof(secret), "endpoint.secret");
	assert_int_equal(ctl_write(body, rx.seen[0].body), 0);
	snprintf(hdr, sizeof(hdr),
	         "content-type: application/json\r\nX-Flock-Signature: %s\r\n"
	         "webhook-id: %s\r\nwebhook-timestamp: %s\r\n"
	         "webhook-signature: %s\r\n",
	         rx.seen[0].flock_sig, rx.seen[0].id, rx.seen[0].ts,
	         rx.seen[0].sig);
	assert_int_equal(ctl_write(headers, hdr), 0);
	assert_int_equal(ctl_write(secret, wh_str(ep, "secret")), 0);
	ctl_runv(&H, &o, NULL, NULL, ok_argv);
	assert_int_equal(o.code, 0);
	assert_true(json_is_true(json_object_get(o.json, "valid")));
	assert_string_equal(json_string_value(json_object_get(o.json, "name")),
	                    "customer.created");
	ctl_out_free(&o);
	tampered = strdup(rx.seen[0].body);
	tampered[strlen(tampered) - 2] =
	        tampered[strlen(tampered) - 2] == '1' ? '2' : '1';
	assert_int_equal(ctl_write(bad, tampered), 0);
	free(tampered);
	ctl_runv(&H, &o, NULL, NULL, bad_argv);
	assert_int_equal(o.code, 6);
	assert_non_null(strstr(o.err, "does not verify"));
	ctl_out_free(&o);
	snprintf(hdr, sizeof(hdr), "%s", rx.seen[0].flock_sig);
	ctl_runv(&H, &o, NULL, NULL, flock_only);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	RUN(&o, "webhooks", "verify", "--payload", body);
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
	ep_off(&H, ep);
	json_decref(ep);
	rx_stop(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_forward_burst_and_restart),
	        cmocka_unit_test(test_after_and_print),
	        cmocka_unit_test(test_listen_errors),
	        cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
