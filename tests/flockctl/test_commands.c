/*
 * flockctl against a real flockd: every command of the wire API (through
 * libflock) and of the admin API, in both output modes (JSON when stdout
 * is not a terminal, tables with --table or on a terminal, ids with
 * --quiet), the exit code of each class of error, and bad arguments
 * refused with a message naming the command.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_run.h"
#include "harness_webhooks.h"
#include "support.h"

static fd_harness H;

#define RUN(o, ...) ctl_run(&H, o, __VA_ARGS__, (const char *)NULL)

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--webhook-allow-private";
	H.extra_args[1] = "--velocity-per-hour";
	H.extra_args[2] = "1000";
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

/* The run succeeded: its JSON (owned by o). */
static json_t *ok(ctl_out *o)
{
	if (o->code != 0)
		fprintf(stderr, "flockctl failed (%d): %s\n%s\n", o->code,
		        o->err, o->out);
	assert_int_equal(o->code, 0);
	assert_non_null(o->json);
	return o->json;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A file in H's dir with text; its path (static ring). */
static const char *file_with(const char *name, const char *text)
{
	static char paths[4][400];
	static int next;
	char *p = paths[next++ % 4];

	ctl_path(&H, p, 400, name);
	assert_int_equal(ctl_write(p, text), 0);
	return p;
}

/* A live production campaign made with flockctl: $10 each side on
 * purchase_completed, hold days as given. Its id into out. */
static void make_campaign(const char *name, int hold, char *out, size_t len)
{
	char hold_s[16], *body;
	const char *file;
	ctl_out o;
	json_t *v;

	snprintf(hold_s, sizeof(hold_s), "%d", hold);
	body = "{\"rewards\":[{\"type\":\"payout\",\"party\":\"referrer\","
	       "\"method\":\"paypal\",\"payoutAmount\":10,\"currency\":"
	       "\"usd\"}],\"checkpoints\":[{\"checkpointName\":"
	       "\"purchase_completed\",\"trigger\":\"reward\"}]}";
	file = file_with("campaign.json", body);
	RUN(&o, "campaigns", "create", "--file", file, "--name", name,
	    "--environment", "production", "--hold-days", hold_s);
	v = ok(&o);
	assert_string_equal(str(v, "name"), name);
	assert_false(json_is_true(json_object_get(v, "isLive")));
	snprintf(out, len, "%s", str(v, "id"));
	ctl_out_free(&o);
	/* a second reward, for the referee */
	RUN(&o, "campaigns", "add-reward", out, "--type", "payout", "--party",
	    "referee", "--method", "paypal", "--amount", "10", "--currency",
	    "usd");
	assert_string_equal(str(ok(&o), "party"), "referee");
	ctl_out_free(&o);
	RUN(&o, "campaigns", "go-live", out);
	assert_true(json_is_true(json_object_get(ok(&o), "isLive")));
	ctl_out_free(&o);
}

/* identify, in the three output modes. */
static void test_identify_modes(void **state)
{
	ctl_out o;
	char id[64];

	(void)state;
	RUN(&o, "customers", "identify", "--external-id", "ann", "--email",
	    "ann@example.com", "--property", "plan=pro", "--properties",
	    "{\"seats\":3}");
	assert_string_equal(str(ok(&o), "externalUserId"), "ann");
	assert_string_equal(
	        str(json_object_get(o.json, "customProperties"), "plan"),
	        "pro");
	assert_int_equal(
	        json_integer_value(json_object_get(
	                json_object_get(o.json, "customProperties"), "seats")),
	        3);
	snprintf(id, sizeof(id), "%s", str(o.json, "id"));
	ctl_out_free(&o);
	/* --table: "field value" lines */
	RUN(&o, "--table", "customers", "identify", "--external-id", "ann",
	    "--name", "Ann");
	assert_int_equal(o.code, 0);
	assert_null(o.json);
	assert_non_null(strstr(o.out, "externalUserId"));
	assert_non_null(strstr(o.out, "Ann"));
	ctl_out_free(&o);
	/* --quiet: the id alone */
	RUN(&o, "-q", "customers", "identify", "--external-id", "ann");
	assert_int_equal(o.code, 0);
	assert_true(strncmp(o.out, id, strlen(id)) == 0);
	assert_string_equal(o.out + strlen(id), "\n");
	ctl_out_free(&o);
	/* the admin API sees the update */
	RUN(&o, "customers", "get", id);
	assert_string_equal(str(ok(&o), "name"), "Ann");
	ctl_out_free(&o);
}

/* The referral flow through the wire API: validate, create, list, ingest
 * grants rewards, trigger; the live campaign and its checkpoints. */
static void test_wire_flow(void **state)
{
	char campaign[64], code[32];
	ctl_out o;
	json_t *v;

	(void)state;
	make_campaign("Wire flow", 0, campaign, sizeof(campaign));
	RUN(&o, "campaigns", "live");
	assert_string_equal(str(ok(&o), "id"), campaign);
	ctl_out_free(&o);
	RUN(&o, "campaigns", "live", "--environment", "test");
	assert_int_equal(o.code, 4); /* no_live_campaign */
	assert_non_null(strstr(o.err, "no_live_campaign"));
	ctl_out_free(&o);
	RUN(&o, "campaigns", "list");
	assert_true(json_array_size(ok(&o)) >= 1);
	ctl_out_free(&o);
	RUN(&o, "campaigns", "checkpoints", "--campaign", campaign);
	v = ok(&o);
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(str(json_array_get(v, 0), "checkpointName"),
	                    "purchase_completed");
	ctl_out_free(&o);

	RUN(&o, "customers", "identify", "--external-id", "referrer-1");
	snprintf(code, sizeof(code), "%s", str(ok(&o), "referralCode"));
	ctl_out_free(&o);
	RUN(&o, "referrals", "validate", code);
	assert_true(json_is_true(json_object_get(ok(&o), "isValid")));
	ctl_out_free(&o);
	RUN(&o, "referrals", "validate", "NO-SUCH-CODE");
	assert_true(json_is_false(json_object_get(ok(&o), "isValid")));
	ctl_out_free(&o);
	RUN(&o, "--table", "referrals", "validate", code);
	assert_non_null(strstr(o.out, "VALID"));
	assert_non_null(strstr(o.out, "true"));
	ctl_out_free(&o);

	RUN(&o, "referrals", "create", "--campaign", campaign, "--code", code,
	    "--referee-external-id", "referee-1", "--idempotency-key", "ref-1");
	assert_string_equal(str(ok(&o), "status"), "pending");
	ctl_out_free(&o);
	RUN(&o, "referrals", "list", "--campaign", campaign);
	assert_int_equal(json_array_size(ok(&o)), 1);
	ctl_out_free(&o);
	RUN(&o, "referrals", "list", "--all", "--status", "pending");
	assert_int_equal(json_array_size(ok(&o)), 1);
	ctl_out_free(&o);

	RUN(&o, "checkpoints", "ingest", "purchase_completed", "--external-id",
	    "referee-1", "--property", "order=42");
	v = ok(&o);
	assert_true(json_is_true(json_object_get(v, "matched")));
	assert_int_equal(json_array_size(json_object_get(v, "rewards")), 2);
	ctl_out_free(&o);
	RUN(&o, "rewards", "trigger", "--external-id", "referee-1", "--for",
	    "self");
	assert_true(json_is_array(ok(&o)));
	ctl_out_free(&o);
	RUN(&o, "rewards", "trigger", "--external-id", "referee-1", "--for",
	    "everyone");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "--for"));
	ctl_out_free(&o);
}

/* Campaign administration: get, update, checkpoints, lists. */
static void test_admin_campaigns(void **state)
{
	char campaign[64];
	ctl_out o;
	json_t *v;

	(void)state;
	make_campaign("Admin", 14, campaign, sizeof(campaign));
	RUN(&o, "campaigns", "get", campaign);
	v = ok(&o);
	assert_int_equal(
	        json_integer_value(json_object_get(v, "rewardHoldDays")), 14);
	assert_int_equal(json_array_size(json_object_get(v, "rewards")), 2);
	ctl_out_free(&o);
	RUN(&o, "campaigns", "update", campaign, "--name", "Renamed");
	assert_string_equal(str(ok(&o), "name"), "Renamed");
	ctl_out_free(&o);
	RUN(&o, "campaigns", "add-checkpoint", campaign, "--name", "signup",
	    "--trigger", "placement");
	assert_string_equal(str(ok(&o), "trigger"), "placement");
	ctl_out_free(&o);
	RUN(&o, "campaigns", "add-checkpoint", campaign, "--name", "signup");
	assert_int_equal(o.code, 5); /* checkpoint_exists: conflict */
	ctl_out_free(&o);
	RUN(&o, "campaigns", "list", "--admin", "--environment", "production",
	    "--all");
	assert_true(json_array_size(ok(&o)) >= 1);
	ctl_out_free(&o);
	RUN(&o, "--table", "campaigns", "list", "--admin");
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "HOLD DAYS"));
	assert_non_null(strstr(o.out, "Renamed"));
	ctl_out_free(&o);
	RUN(&o, "campaigns", "update", campaign, "--offline");
	assert_true(json_is_false(json_object_get(ok(&o), "isLive")));
	ctl_out_free(&o);
	RUN(&o, "campaigns", "update", campaign);
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
	RUN(&o, "campaigns", "create", "--name", "x", "--environment",
	    "staging");
	assert_int_equal(o.code, 6); /* the server: invalid_field */
	assert_non_null(strstr(o.err, "environment"));
	ctl_out_free(&o);
}

/* Applications and keys; a new key's secret only where asked. */
static void test_apps_and_keys(void **state)
{
	char path[400], *secret, key_id[64];
	ctl_out o;
	struct stat st;
	json_t *v;

	(void)state;
	RUN(&o, "apps", "list");
	assert_int_equal(json_array_size(ok(&o)), 1);
	ctl_out_free(&o);
	RUN(&o, "apps", "create", "--name", "second");
	assert_string_equal(str(ok(&o), "name"), "second");
	ctl_out_free(&o);
	/* no sink for the secret: refused before anything is made */
	RUN(&o, "keys", "create", "--kind", "service");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "--secret-file"));
	ctl_out_free(&o);
	ctl_path(&H, path, sizeof(path), "new-key.txt");
	RUN(&o, "keys", "create", "--kind", "service", "--environment", "test",
	    "--secret-file", path);
	v = ok(&o);
	assert_null(json_object_get(v, "secret")); /* not printed */
	snprintf(key_id, sizeof(key_id), "%s", str(v, "id"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	secret = ctl_slurp(path);
	assert_true(strncmp(secret, "sk_", 3) == 0);
	assert_null(strstr(o.out, secret));
	ctl_out_free(&o);
	RUN(&o, "keys", "create", "--kind", "public", "--show-secret");
	assert_true(strncmp(str(ok(&o), "secret"), "pk_", 3) == 0);
	ctl_out_free(&o);
	RUN(&o, "keys", "list");
	v = ok(&o);
	assert_true(json_array_size(v) >= 4);
	assert_null(strstr(o.out, secret));
	ctl_out_free(&o);
	free(secret);
	RUN(&o, "-q", "keys", "list");
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, key_id));
	ctl_out_free(&o);
	RUN(&o, "keys", "revoke", key_id);
	assert_non_null(str(ok(&o), "revokedAt"));
	ctl_out_free(&o);
}

/* Customers, referrals and rewards under the admin API. */
static void test_admin_lifecycle(void **state)
{
	char campaign[64], code[32], id[64], rwd[2][64];
	ctl_out o;
	json_t *v;
	size_t i;

	(void)state;
	make_campaign("Lifecycle", 14, campaign, sizeof(campaign));
	RUN(&o, "customers", "identify", "--external-id", "lc-referrer");
	snprintf(code, sizeof(code), "%s", str(ok(&o), "referralCode"));
	ctl_out_free(&o);
	RUN(&o, "referrals", "create", "--campaign", campaign, "--code", code,
	    "--referee-external-id", "lc-referee");
	snprintf(id, sizeof(id), "%s", str(ok(&o), "id"));
	ctl_out_free(&o);
	RUN(&o, "referrals", "list", "--admin", "--campaign", campaign,
	    "--environment", "production");
	assert_int_equal(json_array_size(ok(&o)), 1);
	ctl_out_free(&o);
	RUN(&o, "checkpoints", "ingest", "purchase_completed", "--external-id",
	    "lc-referee");
	v = json_object_get(ok(&o), "rewards");
	assert_int_equal(json_array_size(v), 2);
	for (i = 0; i < 2; i++)
		snprintf(rwd[i], sizeof(rwd[i]), "%s",
		         str(json_array_get(v, i), "id"));
	ctl_out_free(&o);
	RUN(&o, "rewards", "list", "--campaign", campaign, "--status",
	    "pending");
	assert_int_equal(json_array_size(ok(&o)), 2);
	ctl_out_free(&o);
	RUN(&o, "rewards", "approve", rwd[0]);
	assert_string_equal(str(ok(&o), "status"), "approved");
	ctl_out_free(&o);
	RUN(&o, "rewards", "approve", rwd[0]);
	assert_int_equal(o.code, 5); /* invalid_transition */
	assert_non_null(strstr(o.err, "invalid_transition"));
	ctl_out_free(&o);
	RUN(&o, "rewards", "fulfil", rwd[0]);
	assert_string_equal(str(ok(&o), "status"), "fulfilled");
	ctl_out_free(&o);
	RUN(&o, "rewards", "revoke", rwd[1]);
	assert_string_equal(str(ok(&o), "status"), "revoked");
	ctl_out_free(&o);
	RUN(&o, "--table", "rewards", "list", "--all");
	assert_non_null(strstr(o.out, "fulfilled"));
	assert_non_null(strstr(o.out, "STATUS"));
	ctl_out_free(&o);
	RUN(&o, "referrals", "reject", id);
	assert_int_equal(o.code, 5); /* accepted already */
	ctl_out_free(&o);
	/* another referral: approved (stays pending), then rejected */
	RUN(&o, "customers", "identify", "--external-id", "lc-other");
	snprintf(code, sizeof(code), "%s", str(ok(&o), "referralCode"));
	ctl_out_free(&o);
	RUN(&o, "customers", "identify", "--external-id", "lc-referee-2");
	ctl_out_free(&o);
	RUN(&o, "referrals", "create", "--campaign", campaign, "--code", code,
	    "--referee-external-id", "lc-referee-2");
	snprintf(id, sizeof(id), "%s", str(ok(&o), "id"));
	ctl_out_free(&o);
	RUN(&o, "referrals", "approve", id);
	assert_string_equal(str(ok(&o), "status"), "pending");
	ctl_out_free(&o);
	RUN(&o, "referrals", "reject", id);
	assert_string_equal(str(ok(&o), "status"), "rejected");
	ctl_out_free(&o);
	RUN(&o, "customers", "list", "--limit", "2");
	assert_int_equal(json_array_size(ok(&o)), 2);
	ctl_out_free(&o);
	RUN(&o, "-q", "customers", "list", "--all");
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "cus_"));
	ctl_out_free(&o);
	RUN(&o, "customers", "identify", "--external-id", "to-erase", "--email",
	    "gone@example.com");
	snprintf(id, sizeof(id), "%s", str(ok(&o), "id"));
	ctl_out_free(&o);
	RUN(&o, "customers", "delete", id);
	v = ok(&o);
	assert_true(json_is_null(json_object_get(v, "email")));
	assert_non_null(str(v, "deletedAt"));
	ctl_out_free(&o);
	RUN(&o, "events", "list", "--name", "reward.created", "--all");
	assert_true(json_array_size(ok(&o)) >= 2);
	ctl_out_free(&o);
}

/* Webhook endpoints, their deliveries, attempts and replays. */
static void test_webhooks_admin(void **state)
{
	receiver rx;
	char url[128], ep[64], path[400];
	ctl_out o;
	json_t *v;

	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.script[0] = 500;
	rx.nscript = 1;
	rx_start(&rx);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", rx.port);
	ctl_path(&H, path, sizeof(path), "whsec.txt");
	RUN(&o, "webhooks", "create", "--url", url, "--event",
	    "customer.created", "--secret-file", path);
	v = ok(&o);
	assert_null(json_object_get(v, "secret"));
	snprintf(ep, sizeof(ep), "%s", str(v, "id"));
	ctl_out_free(&o);
	RUN(&o, "webhooks", "list");
	assert_int_equal(json_array_size(ok(&o)), 1);
	ctl_out_free(&o);
	RUN(&o, "customers", "identify", "--external-id", "wh-1");
	ctl_out_free(&o);
	rx_wait(&rx, 1); /* the first attempt, answered 500 */
	RUN(&o, "webhooks", "deliveries", ep);
	assert_int_equal(json_array_size(ok(&o)), 1);
	ctl_out_free(&o);
	RUN(&o, "webhooks", "attempts", ep);
	v = ok(&o);
	assert_true(json_array_size(v) >= 1);
	assert_int_equal(
	        json_integer_value(json_object_get(
	                json_array_get(v, json_array_size(v) - 1), "status")),
	        500);
	ctl_out_free(&o);
	RUN(&o, "webhooks", "update", ep, "--disable");
	assert_true(json_is_false(json_object_get(ok(&o), "enabled")));
	ctl_out_free(&o);
	RUN(&o, "webhooks", "update", ep, "--enable", "--event", "*");
	assert_true(json_is_true(json_object_get(ok(&o), "enabled")));
	ctl_out_free(&o);
	RUN(&o, "webhooks", "replay", ep);
	assert_non_null(json_object_get(ok(&o), "replayed"));
	ctl_out_free(&o);
	RUN(&o, "webhooks", "rotate-secret", ep, "--grace", "60");
	assert_int_equal(o.code, 2); /* where would the secret go? */
	ctl_out_free(&o);
	RUN(&o, "webhooks", "rotate-secret", ep, "--grace", "60",
	    "--show-secret");
	assert_true(strncmp(str(ok(&o), "secret"), "whsec_", 6) == 0);
	ctl_out_free(&o);
	RUN(&o, "webhooks", "get", ep);
	assert_null(json_object_get(ok(&o), "secret"));
	ctl_out_free(&o);
	RUN(&o, "webhooks", "delete", ep);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	RUN(&o, "webhooks", "get", ep);
	assert_int_equal(o.code, 4);
	ctl_out_free(&o);
	rx_stop(&rx);
}

/* An exit code per class of error, each with a message. */
static void test_exit_codes(void **state)
{
	const char *no_token[] = {"FLOCK_ADMIN_TOKEN=", NULL};
	const char *bad_token[] = {"FLOCK_ADMIN_TOKEN=fat_nosuchtoken", NULL};
	const char *closed[] = {"FLOCK_BASE_URL=http://127.0.0.1:1", NULL};
	const char *argv_apps[] = {"apps", "list", NULL};
	const char *argv_identify[] = {"customers", "identify", "--external-id",
	                               "x", NULL};
	receiver rx;
	char base[128];
	const char *server[2] = {base, NULL};
	ctl_out o;
	int i;

	(void)state;
	RUN(&o, "frobnicate");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "unknown command 'frobnicate'"));
	ctl_out_free(&o);
	RUN(&o, "customers");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "identify"));
	ctl_out_free(&o);
	RUN(&o, "customers", "identify", "--nope");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "flockctl customers identify: unknown "
	                              "option '--nope'"));
	ctl_out_free(&o);
	RUN(&o, "customers", "get");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "missing argument"));
	ctl_out_free(&o);
	RUN(&o, "customers", "get", "a", "b");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
	RUN(&o, "customers", "list", "--limit", "500");
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "--limit"));
	ctl_out_free(&o);
	/* secrets never on the command line: there is no such flag */
	RUN(&o, "--admin-token", "fat_x", "apps", "list");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
	RUN(&o, "customers", "get", "cus_nope");
	assert_int_equal(o.code, 4);
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, no_token, argv_apps);
	assert_int_equal(o.code, 3);
	assert_non_null(strstr(o.err, "no admin token"));
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, bad_token, argv_apps);
	assert_int_equal(o.code, 3);
	assert_non_null(strstr(o.err, "HTTP 401"));
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, closed, argv_identify);
	assert_int_equal(o.code, 8);
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, closed, argv_apps);
	assert_int_equal(o.code, 8);
	assert_non_null(strstr(o.err, "no answer"));
	ctl_out_free(&o);
	/* a server that answers 503 every time: retried, then 7 */
	memset(&rx, 0, sizeof(rx));
	for (i = 0; i < 16; i++)
		rx.script[i] = 503;
	rx.nscript = 16;
	rx_start(&rx);
	snprintf(base, sizeof(base), "FLOCK_BASE_URL=http://127.0.0.1:%u",
	         rx.port);
	ctl_runv(&H, &o, NULL, server, argv_apps);
	assert_int_equal(o.code, 7);
	assert_int_equal(rx_arrived(&rx), 4); /* the first and 3 retries */
	ctl_out_free(&o);
	ctl_runv(&H, &o, NULL, server, argv_identify);
	assert_int_equal(o.code, 7);
	ctl_out_free(&o);
	rx_stop(&rx);
}

/* On a terminal: tables by default; --json still gives JSON. */
static void test_terminal(void **state)
{
	const char *list[] = {"customers", "list", NULL};
	const char *json[] = {"--json", "customers", "list", NULL};
	const char *version[] = {"--version", NULL};
	ctl_out o;
	json_t *v;

	(void)state;
	RUN(&o, "customers", "identify", "--external-id", "tty-1");
	ctl_out_free(&o);
	ctl_run_pty(&H, &o, list);
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "EXTERNAL ID"));
	assert_non_null(strstr(o.out, "tty-1"));
	ctl_out_free(&o);
	ctl_run_pty(&H, &o, json);
	assert_int_equal(o.code, 0);
	v = json_loads(o.out, JSON_DECODE_ANY, NULL);
	assert_true(json_is_array(v));
	json_decref(v);
	ctl_out_free(&o);
	ctl_run_pty(&H, &o, version);
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "flockctl "));
	ctl_out_free(&o);
	RUN(&o, "version");
	assert_non_null(str(ok(&o), "libflock"));
	ctl_out_free(&o);
	RUN(&o, "customers", "identify", "--help");
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "--external-id"));
	ctl_out_free(&o);
	RUN(&o, "help");
	assert_int_equal(o.code, 0);
	assert_non_null(strstr(o.out, "webhooks listen"));
	ctl_out_free(&o);
}

/* Any call with api; the analytics reports where flockd has them. */
static void test_api_and_analytics(void **state)
{
	const char *argv_body[] = {"api",    "POST",   "/customers/identify",
	                           "--wire", "--data", "@-",
	                           NULL};
	ctl_out o;

	(void)state;
	RUN(&o, "api", "GET", "/admin/apps");
	assert_true(json_array_size(json_object_get(ok(&o), "data")) >= 1);
	ctl_out_free(&o);
	RUN(&o, "api", "GET", "/campaigns", "--wire");
	assert_true(json_is_array(ok(&o)));
	ctl_out_free(&o);
	ctl_runv(&H, &o, "{\"externalUserId\":\"via-api\"}", NULL, argv_body);
	assert_string_equal(str(ok(&o), "externalUserId"), "via-api");
	ctl_out_free(&o);
	RUN(&o, "api", "GET", "/admin/apps/nope/customers");
	assert_int_equal(o.code, 4);
	assert_non_null(o.json); /* the error body is printed */
	ctl_out_free(&o);
	RUN(&o, "api", "GET", "admin/apps");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
	/* The dashboard's numbers: funnel by default, each report by name,
	 * an unknown one refused before any call. */
	RUN(&o, "analytics", "--environment", "production");
	assert_int_equal(o.code, 0);
	assert_true(json_is_integer(json_object_get(o.json, "visits")));
	ctl_out_free(&o);
	RUN(&o, "analytics", "top-referrers", "--limit", "5");
	assert_int_equal(o.code, 0);
	assert_true(json_is_array(json_object_get(o.json, "data")));
	ctl_out_free(&o);
	RUN(&o, "analytics", "daily", "--param", "from=2026-01-01",
	    "--param", "to=2026-01-07");
	assert_int_equal(o.code, 0);
	assert_int_equal(json_array_size(json_object_get(o.json, "days")), 7);
	ctl_out_free(&o);
	RUN(&o, "analytics", "summary");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
	RUN(&o, "analytics", "--param", "days");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_identify_modes),
	        cmocka_unit_test(test_wire_flow),
	        cmocka_unit_test(test_admin_campaigns),
	        cmocka_unit_test(test_apps_and_keys),
	        cmocka_unit_test(test_admin_lifecycle),
	        cmocka_unit_test(test_webhooks_admin),
	        cmocka_unit_test(test_exit_codes),
	        cmocka_unit_test(test_terminal),
	        cmocka_unit_test(test_api_and_analytics),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
