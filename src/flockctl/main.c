/*
 * flockctl: the Flock command line: every libflock call and every admin
 * operation of flockd from the shell (flockctl(1)).
 *
 *   flockctl [global options] GROUP VERB [arguments] [options]
 *
 * The commands are data (the table below): parsing, --help, shell
 * completion and the man page's list all come from it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <flock.h>

#include "cmds.h"
#include "ctl.h"

/* ---- options ----------------------------------------------------------- */

static const ctl_opt global_opts[] = {
        {"profile", "NAME", "use this profile of the config file", 0},
        {"base-url", "URL", "the server (default http://127.0.0.1:8080)", 0},
        {"app", "ID", "application for admin commands", 0},
        {"access-key-file", "FILE",
         "read the service key from FILE (- for "
         "stdin)",
         0},
        {"admin-token-file", "FILE",
         "read the admin token from FILE (- for "
         "stdin)",
         0},
        {"json", NULL,
         "print JSON (the default when stdout is not a "
         "terminal)",
         0},
        {"table", NULL, "print tables (the default on a terminal)", 0},
        {"quiet", NULL, "print ids only, one a line (also -q)", 0},
        {"show-secrets", NULL,
         "print secrets (keys, tokens) where they "
         "appear",
         0},
        {"timeout", "SECONDS", "per request (default 30)", 0},
        {"help", NULL, "this help (also -h)", 0},
        {"version", NULL, "print the version", 0},
        {NULL, NULL, NULL, 0}};

const ctl_opt *ctl_global_opts(void)
{
	return global_opts;
}

#define O(n, m, h)                                                             \
	{                                                                      \
		n, m, h, 0                                                     \
	}
#define OR(n, m, h)                                                            \
	{                                                                      \
		n, m, h, 1                                                     \
	}
#define OEND                                                                   \
	{                                                                      \
		NULL, NULL, NULL, 0                                            \
	}
#define PAGE_OPTS                                                              \
	O("limit", "N", "items per page, 1 to 100 (default 20)"),              \
	        O("offset", "N", "skip this many"),                            \
	        O("all", NULL, "every page")

static const ctl_opt o_none[] = {OEND};
static const ctl_opt o_identify[] = {
        O("external-id", "ID", "the product's user id (required)"),
        O("email", "EMAIL", "email address"),
        O("name", "NAME", "name"),
        OR("property", "KEY=VALUE", "a custom property"),
        O("properties", "JSON", "custom properties as a JSON object"),
        O("environment", "ENV", "production or test"),
        O("idempotency-key", "KEY", "make a repeated call apply once"),
        OEND};
static const ctl_opt o_ingest[] = {
        O("external-id", "ID", "the customer's user id (required)"),
        O("environment", "ENV", "production (default) or test"),
        OR("property", "KEY=VALUE", "a property of the checkpoint"),
        O("properties", "JSON", "properties as a JSON object"),
        O("idempotency-key", "KEY", "make a repeated call apply once"),
        OEND};
static const ctl_opt o_live[] = {
        O("environment", "ENV", "production (default) or test"),
        O("customer-id", "ID", "Flock's customer id (cus_...)"), OEND};
static const ctl_opt o_campaigns_list[] = {
        O("admin", NULL, "the admin API's list (paged, --environment)"),
        O("environment", "ENV", "with --admin: only this environment"),
        PAGE_OPTS, OEND};
static const ctl_opt o_checkpoints[] = {
        O("campaign", "ID", "the campaign (required)"), OEND};
static const ctl_opt o_referral_create[] = {
        O("campaign", "ID", "the campaign (required)"),
        O("code", "CODE", "the referrer's referral code (required)"),
        O("referee-id", "ID", "the referee's Flock id"),
        O("referee-external-id", "ID", "or the referee's user id"),
        O("idempotency-key", "KEY", "make a repeated call apply once"),
        OEND};
static const ctl_opt o_referrals_list[] = {
        O("campaign", "ID", "only this campaign's"),
        O("status", "STATUS", "pending, flagged, accepted or rejected"),
        O("admin", NULL, "the admin API's list (--environment)"),
        O("environment", "ENV", "with --admin: only this environment"),
        PAGE_OPTS,
        OEND};
static const ctl_opt o_trigger[] = {
        O("external-id", "ID", "the customer's user id (required)"),
        O("environment", "ENV", "production (default) or test"),
        O("for", "WHO", "self, referral_partner or both (default)"),
        O("idempotency-key", "KEY", "make a repeated call apply once"), OEND};
static const ctl_opt o_page[] = {PAGE_OPTS, OEND};
static const ctl_opt o_apps_create[] = {
        O("name", "NAME", "the application's name (required)"), OEND};
static const ctl_opt o_keys_create[] = {
        O("kind", "KIND", "service, public or admin (required)"),
        O("environment", "ENV", "limit it to production or test"),
        O("name", "NAME", "a name for it"),
        O("show-secret", NULL, "print the new secret (shown once)"),
        O("secret-file", "FILE", "write the new secret to FILE (0600)"),
        OEND};
static const ctl_opt o_campaign_create[] = {
        O("name", "NAME", "the campaign's name (required)"),
        O("environment", "ENV", "production or test (required)"),
        O("hold-days", "N", "days a reward waits before it is approved"),
        O("file", "FILE",
          "the campaign as JSON (rewards, checkpoints...); "
          "- for stdin"),
        OEND};
static const ctl_opt o_campaign_update[] = {
        O("name", "NAME", "a new name"),
        O("hold-days", "N", "days a reward waits"),
        O("offline", NULL, "take it offline (isLive false)"),
        O("file", "FILE", "fields to change as JSON; - for stdin"), OEND};
static const ctl_opt o_add_reward[] = {
        O("type", "TYPE", "payout or discount (required)"),
        O("party", "PARTY", "referrer or referee (required)"),
        O("method", "METHOD", "paypal, amazon_gift_card, ..., custom"),
        O("amount", "N", "payout amount"),
        O("discount-amount", "N", "discount amount"),
        O("discount-percentage", "N", "discount percentage"),
        O("currency", "CUR", "usd or cad"),
        O("name", "NAME", "a name"),
        O("file", "FILE", "the reward as JSON; - for stdin"),
        OEND};
static const ctl_opt o_add_checkpoint[] = {
        O("name", "NAME", "the checkpoint's name (required)"),
        O("trigger", "TRIGGER", "reward (default) or placement"),
        O("placement-id", "ID", "a placement's id"), OEND};
static const ctl_opt o_rewards_list[] = {
        O("status", "STATUS",
          "pending, approved, fulfilled, rejected or "
          "revoked"),
        O("campaign", "ID", "only this campaign's"),
        O("customer", "ID", "only this customer's"),
        O("environment", "ENV", "only this environment"),
        PAGE_OPTS,
        OEND};
static const ctl_opt o_events_list[] = {
        O("environment", "ENV", "only this environment"),
        O("name", "NAME", "only events of this name"), PAGE_OPTS, OEND};
static const ctl_opt o_analytics[] = {
        O("environment", "ENV", "production (default) or test"),
        O("from", "YYYY-MM-DD", "first day (UTC; default 30 days ago)"),
        O("to", "YYYY-MM-DD", "last day (UTC; default today)"),
        O("limit", "N", "top-referrers: how many (1-100, default 10)"),
        OR("param", "KEY=VALUE", "any other query parameter of the report"),
        OEND};
static const ctl_opt o_api[] = {
        O("data", "JSON", "the body: JSON text, @FILE, or @- for stdin"),
        O("wire", NULL,
          "with the access key (the wire API), not the admin "
          "token"),
        OEND};
static const ctl_opt o_webhook_create[] = {
        O("url", "URL", "where deliveries go (required)"),
        OR("event", "NAME", "an event to deliver (default: all)"),
        O("environment", "ENV", "only this environment's events"),
        O("description", "TEXT", "a description"),
        O("show-secret", NULL, "print the signing secret (shown once)"),
        O("secret-file", "FILE", "write the signing secret to FILE (0600)"),
        OEND};
static const ctl_opt o_webhook_update[] = {
        O("url", "URL", "a new URL"),
        OR("event", "NAME", "deliver these events ('*': all)"),
        O("enable", NULL, "deliver again"),
        O("disable", NULL, "hold deliveries"), OEND};
static const ctl_opt o_rotate[] = {
        O("grace", "SECONDS",
          "how long the old secret still signs (default "
          "86400)"),
        O("show-secret", NULL, "print the new secret (shown once)"),
        O("secret-file", "FILE", "write the new secret to FILE (0600)"), OEND};
static const ctl_opt o_deliveries[] = {
        O("state", "STATE",
          "pending, retrying, inflight, delivered or "
          "dead"),
        PAGE_OPTS, OEND};
static const ctl_opt o_attempts[] = {
        O("delivery", "ID", "only this delivery's attempts"), PAGE_OPTS, OEND};
static const ctl_opt o_replay[] = {
        O("delivery", "ID", "replay this delivery (default: every dead one)"),
        OEND};
static const ctl_opt o_listen[] = {
        O("forward-to", "URL", "POST each event here, signed"),
        OR("event", "NAME", "only events of this name"),
        O("environment", "ENV", "only this environment's events"),
        O("after", "EVENT_ID",
          "start after this event (default: new events "
          "only)"),
        O("secret-file", "FILE",
          "sign with the secret in FILE (default: a "
          "new one, printed)"),
        OEND};
static const ctl_opt o_verify[] = {
        O("secret-file", "FILE", "the endpoint's secret (required)"),
        O("payload", "FILE", "the body, byte for byte (required)"),
        O("headers", "FILE",
          "the request's headers, one 'Name: value' a "
          "line"),
        O("signature", "SIG", "X-Flock-Signature"),
        O("webhook-id", "ID", "webhook-id"),
        O("webhook-timestamp", "TS", "webhook-timestamp"),
        O("webhook-signature", "SIG", "webhook-signature"),
        O("max-age", "SECONDS",
          "oldest timestamp taken (default 300; 0: "
          "any)"),
        OEND};
static const ctl_opt o_import[] = {
        O("rejects", "FILE",
          "rows refused, with why (default FILE.rejects."
          "csv)"),
        O("state", "FILE", "where progress is kept for a resume"),
        O("restart", NULL, "ignore an interrupted import's progress"),
        O("batch-size", "N", "rows per request, 1 to 1000 (default 500)"),
        O("concurrency", "N", "requests in flight (default 4)"),
        O("environment", "ENV", "for rows without an environment column"),
        O("campaign", "ID", "referrals: for rows without a campaignId"),
        O("via", "API",
          "admin (bulk, the default with an admin token) or "
          "wire"),
        O("no-progress", NULL, "no progress bar"),
        OEND};
static const ctl_opt o_export[] = {
        O("format", "FORMAT", "csv (default) or jsonl"),
        O("output", "FILE", "write here (0600) instead of stdout"),
        O("environment", "ENV",
          "only this environment (referrals, "
          "rewards)"),
        OEND};
static const ctl_opt o_help[] = {
        O("man", NULL,
          "the command reference as man(7) text (flockctl(1) "
          "is built with it)"),
        OEND};
static const ctl_opt o_config_set[] = {
        O("from-init", "FILE",
          "take app and keys from flockd init's output "
          "(- for stdin)"),
        O("use", NULL, "make it the current profile"), OEND};

/* ---- the table --------------------------------------------------------- */

#define C(g, v, syn, lo, hi, sum, o, fn)                                       \
	{                                                                      \
		g, v, syn, lo, hi, sum, o, fn                                  \
	}

static const ctl_cmd commands[] = {
        /* the wire API (libflock, service key) */
        C("customers", "identify", NULL, 0, 0,
          "Create or update a customer by external id (wire API).", o_identify,
          cmd_customers_identify),
        C("checkpoints", "ingest", "NAME", 1, 1,
          "Record a checkpoint for a customer; grants rewards it earns "
          "(wire API).",
          o_ingest, cmd_checkpoints_ingest),
        C("campaigns", "live", NULL, 0, 0,
          "The live campaign of an environment (wire API).", o_live,
          cmd_campaigns_live),
        C("campaigns", "list", NULL, 0, 0,
          "Every campaign (wire API; --admin: the admin API's list).",
          o_campaigns_list, cmd_campaigns_list),
        C("campaigns", "checkpoints", NULL, 0, 0,
          "The checkpoints of campaigns (wire API).", o_checkpoints,
          cmd_campaigns_checkpoints),
        C("referrals", "validate", "CODE", 1, 1,
          "Is CODE a referral code, and whose (wire API)?", o_none,
          cmd_referrals_validate),
        C("referrals", "create", NULL, 0, 0,
          "Link a referee to a referrer's code in a campaign (wire API).",
          o_referral_create, cmd_referrals_create),
        C("referrals", "list", NULL, 0, 0,
          "Referrals (wire API; --admin: the admin API's list).",
          o_referrals_list, cmd_referrals_list),
        C("rewards", "trigger", NULL, 0, 0,
          "Grant rewards directly (wire API).", o_trigger, cmd_rewards_trigger),
        /* the admin API (admin token) */
        C("apps", "list", NULL, 0, 0, "Applications the token reaches.", o_page,
          cmd_apps_list),
        C("apps", "create", NULL, 0, 0, "A new application.", o_apps_create,
          cmd_apps_create),
        C("keys", "list", NULL, 0, 0, "The application's keys (no secrets).",
          o_page, cmd_keys_list),
        C("keys", "create", NULL, 0, 0,
          "A new key; its secret is shown once (--show-secret or "
          "--secret-file).",
          o_keys_create, cmd_keys_create),
        C("keys", "revoke", "ID", 1, 1, "Revoke a key: it stops working.",
          o_none, cmd_keys_revoke),
        C("campaigns", "get", "ID", 1, 1, "A campaign.", o_none,
          cmd_campaigns_get),
        C("campaigns", "create", NULL, 0, 0, "A new campaign (not live yet).",
          o_campaign_create, cmd_campaigns_create),
        C("campaigns", "update", "ID", 1, 1, "Change a campaign.",
          o_campaign_update, cmd_campaigns_update),
        C("campaigns", "add-reward", "ID", 1, 1, "Add a reward to a campaign.",
          o_add_reward, cmd_campaigns_add_reward),
        C("campaigns", "add-checkpoint", "ID", 1, 1,
          "Add a checkpoint to a campaign.", o_add_checkpoint,
          cmd_campaigns_add_checkpoint),
        C("campaigns", "go-live", "ID", 1, 1,
          "Make a campaign the live one of its environment.", o_none,
          cmd_campaigns_go_live),
        C("customers", "list", NULL, 0, 0, "Customers.", o_page,
          cmd_customers_list),
        C("customers", "get", "ID", 1, 1, "A customer.", o_none,
          cmd_customers_get),
        C("customers", "delete", "ID", 1, 1,
          "Erase a customer's personal data.", o_none, cmd_customers_delete),
        C("referrals", "approve", "ID", 1, 1, "Approve a flagged referral.",
          o_none, cmd_referrals_approve),
        C("referrals", "reject", "ID", 1, 1, "Reject a referral.", o_none,
          cmd_referrals_reject),
        C("rewards", "list", NULL, 0, 0, "Rewards.", o_rewards_list,
          cmd_rewards_list),
        C("rewards", "approve", "ID", 1, 1,
          "A pending reward becomes approved.", o_none, cmd_rewards_approve),
        C("rewards", "fulfil", "ID", 1, 1,
          "An approved reward was paid: fulfilled.", o_none,
          cmd_rewards_fulfil),
        C("rewards", "revoke", "ID", 1, 1,
          "Revoke a pending or approved reward.", o_none, cmd_rewards_revoke),
        C("webhooks", "list", NULL, 0, 0, "Webhook endpoints.", o_page,
          cmd_webhooks_list),
        C("webhooks", "create", NULL, 0, 0,
          "A new webhook endpoint; its secret is shown once.", o_webhook_create,
          cmd_webhooks_create),
        C("webhooks", "get", "ID", 1, 1, "A webhook endpoint.", o_none,
          cmd_webhooks_get),
        C("webhooks", "update", "ID", 1, 1, "Change a webhook endpoint.",
          o_webhook_update, cmd_webhooks_update),
        C("webhooks", "delete", "ID", 1, 1, "Delete a webhook endpoint.",
          o_none, cmd_webhooks_delete),
        C("webhooks", "rotate-secret", "ID", 1, 1,
          "A new signing secret; the old one signs during a grace.", o_rotate,
          cmd_webhooks_rotate),
        C("webhooks", "deliveries", "ID", 1, 1,
          "An endpoint's deliveries, newest first.", o_deliveries,
          cmd_webhooks_deliveries),
        C("webhooks", "attempts", "ID", 1, 1,
          "An endpoint's attempt log, newest first.", o_attempts,
          cmd_webhooks_attempts),
        C("webhooks", "replay", "ID", 1, 1,
          "Send a delivery (or every dead one) again.", o_replay,
          cmd_webhooks_replay),
        C("webhooks", "listen", NULL, 0, 0,
          "Stream the application's events as they are committed; "
          "--forward-to POSTs each, signed.",
          o_listen, cmd_webhooks_listen),
        C("webhooks", "verify", NULL, 0, 0,
          "Verify a saved delivery (body and headers) with a secret.", o_verify,
          cmd_webhooks_verify),
        C("events", "list", NULL, 0, 0, "The event outbox, newest first.",
          o_events_list, cmd_events_list),
        C("analytics", NULL, "[funnel|daily|top-referrers]", 0, 1,
          "flockd's analytics, the dashboard's numbers (default: funnel).",
          o_analytics, cmd_analytics),
        C("import", "customers", "FILE", 1, 1,
          "Import customers from a CSV file; resumable.", o_import,
          cmd_import_customers),
        C("import", "referrals", "FILE", 1, 1,
          "Import referrals from a CSV file; resumable.", o_import,
          cmd_import_referrals),
        C("export", "customers", NULL, 0, 0,
          "Every customer, as CSV or JSON lines.", o_export,
          cmd_export_customers),
        C("export", "referrals", NULL, 0, 0,
          "Every referral, as CSV or JSON lines.", o_export,
          cmd_export_referrals),
        C("export", "rewards", NULL, 0, 0,
          "Every reward, as CSV or JSON lines.", o_export, cmd_export_rewards),
        C("api", NULL, "METHOD PATH", 2, 2,
          "Any call: prints the answer (admin token; --wire: access key).",
          o_api, cmd_api),
        C("config", "set", NULL, 0, 0,
          "Create or change a profile from the global options "
          "(--profile, --base-url, --app, --access-key-file, "
          "--admin-token-file).",
          o_config_set, cmd_config_set),
        C("config", "use", "NAME", 1, 1, "Make NAME the current profile.",
          o_none, cmd_config_use),
        C("config", "list", NULL, 0, 0, "The profiles.", o_none,
          cmd_config_list),
        C("config", "show", "[NAME]", 0, 1,
          "A profile's settings (secrets masked).", o_none, cmd_config_show),
        C("config", "delete", "NAME", 1, 1, "Delete a profile.", o_none,
          cmd_config_delete),
        C("config", "path", NULL, 0, 0, "Where the config file is.", o_none,
          cmd_config_path),
        C("completion", NULL, "SHELL", 1, 1,
          "A completion script for bash, zsh or fish.", o_none, cmd_completion),
        C("version", NULL, NULL, 0, 0, "flockctl's and libflock's versions.",
          o_none, cmd_version),
        C("help", NULL, "[COMMAND...]", 0, 2,
          "Help on a command (--man: every command as man(7) text).", o_help,
          cmd_help),
};

const ctl_cmd *ctl_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

/* ---- messages ----------------------------------------------------------- */

int ctl_fail(int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "flockctl: %s\n", msg);
	return code;
}

int ctl_usage(const ctl *c, const char *fmt, ...)
{
	char msg[1024], name[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->cmd)
		cmd_name(name, sizeof(name), c->cmd);
	else
		snprintf(name, sizeof(name), "flockctl");
	fprintf(stderr, "%s: %s (see %s --help)\n", name, msg, name);
	return CTL_EUSAGE;
}

static void usage_all(FILE *f)
{
	size_t i, n = sizeof(commands) / sizeof(commands[0]);
	char left[64];

	fprintf(f, "usage: flockctl [global options] COMMAND [arguments] "
	           "[options]\n\ncommands:\n");
	for (i = 0; i < n; i++) {
		snprintf(left, sizeof(left), "%s%s%s%s%s", commands[i].group,
		         commands[i].verb ? " " : "",
		         commands[i].verb ? commands[i].verb : "",
		         commands[i].synopsis ? " " : "",
		         commands[i].synopsis ? commands[i].synopsis : "");
		fprintf(f, "  %-32s %s\n", left, commands[i].summary);
	}
	fprintf(f, "\n'flockctl COMMAND --help' tells more; flockctl(1) tells "
	           "all (configuration, output, exit codes).\n");
}

/* ---- finding the command ---------------------------------------------- */

static const ctl_cmd *find(const char *group, const char *verb, int *words)
{
	size_t i, n = sizeof(commands) / sizeof(commands[0]);

	for (i = 0; group && i < n; i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		if (!commands[i].verb) {
			*words = 1;
			return &commands[i];
		}
		if (verb && strcmp(commands[i].verb, verb) == 0) {
			*words = 2;
			return &commands[i];
		}
	}
	return NULL;
}

static int known_group(const char *group)
{
	size_t i, n = sizeof(commands) / sizeof(commands[0]);

	for (i = 0; group && i < n; i++)
		if (strcmp(commands[i].group, group) == 0)
			return 1;
	return 0;
}

static int unknown(const char *group, const char *verb)
{
	size_t i, n = sizeof(commands) / sizeof(commands[0]);

	if (!group)
		fprintf(stderr, "flockctl: no command given\n");
	else if (group[0] == '-')
		fprintf(stderr, "flockctl: unknown option '%s'\n", group);
	else if (!known_group(group))
		fprintf(stderr, "flockctl: unknown command '%s'\n", group);
	else {
		fprintf(stderr, "flockctl %s: %s '%s'; one of:", group,
		        verb ? "unknown command" : "needs a command",
		        verb ? verb : "");
		for (i = 0; i < n; i++)
			if (strcmp(commands[i].group, group) == 0)
				fprintf(stderr, " %s", commands[i].verb);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "(see flockctl --help)\n");
	return CTL_EUSAGE;
}

/* roff text: "-" as "\-", a leading "." or "'" escaped. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
	}
}

static void man_opts(FILE *f, const ctl_opt *o)
{
	for (; o && o->name; o++) {
		fputs(".TP\n.B \\-\\-", f);
		roff(f, o->name);
		if (o->metavar) {
			fputs(" \\fI", f);
			roff(f, o->metavar);
			fputs("\\fR", f);
		}
		fputs("\n", f);
		roff(f, o->help);
		fputs(o->repeat ? " (may be repeated)\n" : "\n", f);
	}
}

static void man_command(FILE *f, const ctl_cmd *k)
{
	fputs(".TP\n.B flockctl ", f);
	roff(f, k->group);
	if (k->verb) {
		fputs(" ", f);
		roff(f, k->verb);
	}
	if (k->synopsis) {
		fputs(" \\fI", f);
		roff(f, k->synopsis);
		fputs("\\fR", f);
	}
	fputs("\n", f);
	roff(f, k->summary);
	fputs("\n", f);
	if (k->opts && k->opts->name) {
		fputs(".RS\n", f);
		man_opts(f, k->opts);
		fputs(".RE\n", f);
	}
}

/* The COMMANDS section of flockctl(1), from the table: a subsection per
 * group, in the order groups first appear. */
static void man_commands(FILE *f)
{
	size_t i, j, n = sizeof(commands) / sizeof(commands[0]);

	for (i = 0; i < n; i++) {
		int seen = 0;

		for (j = 0; j < i; j++)
			seen |= !strcmp(commands[j].group, commands[i].group);
		if (seen)
			continue;
		fputs(".SS ", f);
		roff(f, commands[i].group);
		fputs("\n", f);
		for (j = i; j < n; j++)
			if (!strcmp(commands[j].group, commands[i].group))
				man_command(f, &commands[j]);
	}
}

CMD(cmd_help)
{
	int words = 0;
	const ctl_cmd *cmd;

	if (arg_has(a, "man")) {
		man_commands(stdout);
		return fflush(stdout) == 0 ? CTL_OK : CTL_EFAIL;
	}
	if (a->npos == 0) {
		usage_all(stdout);
		return CTL_OK;
	}
	cmd = find(a->pos[0], a->npos > 1 ? a->pos[1] : NULL, &words);
	if (!cmd)
		return unknown(a->pos[0], a->npos > 1 ? a->pos[1] : NULL);
	args_help(stdout, cmd);
	return CTL_OK;
}

CMD(cmd_version)
{
	json_t *v;
	int rc;

	if (c->mode == OUT_JSON) {
		v = json_pack("{s:s, s:s}", "flockctl", FLOCKCTL_VERSION,
		              "libflock", flock_version(NULL, NULL, NULL));
		rc = out_value(c, v);
		json_decref(v);
		return rc;
	}
	printf("flockctl %s (libflock %s)\n", FLOCKCTL_VERSION,
	       flock_version(NULL, NULL, NULL));
	return CTL_OK;
}

/* ---- global options ---------------------------------------------------- */

/* Take the global options out of argv wherever they are (in place);
 * argc after. -1 after a usage error. help: --help or -h was there. */
static int take_globals(ctl *c, int argc, char **argv, int *help, int *version)
{
	int i, out = 0, after_dashes = 0;

	for (i = 0; i < argc; i++) {
		const char *s = argv[i], *v = NULL;
		const char *names[] = {
		        "profile",         "base-url",         "app",
		        "access-key-file", "admin-token-file", "timeout"};
		const char **slots[] = {&c->opt_profile,
		                        &c->opt_base_url,
		                        &c->opt_app,
		                        &c->opt_access_key_file,
		                        &c->opt_admin_token_file,
		                        NULL};
		static const char *timeout;
		size_t k, len;
		int taken = 0;

		slots[5] = &timeout;
		if (after_dashes || s[0] != '-') {
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(s, "--") == 0) {
			after_dashes = 1;
			argv[out++] = argv[i];
			continue;
		}
		if (!strcmp(s, "--json") || !strcmp(s, "--table")) {
			c->mode = s[2] == 'j' ? OUT_JSON : OUT_TABLE;
			continue;
		}
		if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) {
			c->quiet = 1;
			continue;
		}
		if (!strcmp(s, "--show-secrets")) {
			c->show_secrets = 1;
			continue;
		}
		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			*help = 1;
			continue;
		}
		if (!strcmp(s, "--version")) {
			*version = 1;
			continue;
		}
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			len = strlen(names[k]);
			if (strncmp(s + 2, names[k], len) != 0 ||
			    strncmp(s, "--", 2) != 0)
				continue;
			if (s[2 + len] == '=')
				v = s + 3 + len;
			else if (s[2 + len] == '\0' && i + 1 < argc)
				v = argv[++i];
			else if (s[2 + len] == '\0') {
				fprintf(stderr,
				        "flockctl: option '--%s' needs a "
				        "value\n",
				        names[k]);
				return -1;
			} else
				continue;
			*slots[k] = v;
			taken = 1;
			break;
		}
		if (taken) {
			if (slots[k] == &timeout) {
				char *end;
				long t = strtol(timeout, &end, 10);

				if (*end || t < 1 || t > 3600) {
					fprintf(stderr,
					        "flockctl: --timeout: expected "
					        "1 to 3600 seconds, got '%s'\n",
					        timeout);
					return -1;
				}
				c->timeout_ms = t * 1000;
			}
			continue;
		}
		argv[out++] = argv[i];
	}
	return out;
}

/* Commands that need no server configuration. */
static int local_only(const ctl_cmd *cmd)
{
	return strcmp(cmd->group, "config") == 0 ||
	       strcmp(cmd->group, "completion") == 0 ||
	       strcmp(cmd->group, "version") == 0 ||
	       strcmp(cmd->group, "help") == 0;
}

int main(int argc, char **argv)
{
	ctl c;
	ctl_args a;
	const ctl_cmd *cmd;
	int help = 0, version = 0, words = 0, rc;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = 30000;
	argc = take_globals(&c, argc - 1, argv + 1, &help, &version);
	argv++;
	if (argc < 0)
		return CTL_EUSAGE;
	if (!c.mode)
		c.mode = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_JSON;
	c.stderr_tty = isatty(STDERR_FILENO);
	if (version && argc == 0)
		return cmd_version(&c, &a);
	if (argc == 0) {
		usage_all(help ? stdout : stderr);
		return help ? CTL_OK : CTL_EUSAGE;
	}
	cmd = find(argv[0], argc > 1 ? argv[1] : NULL, &words);
	if (!cmd)
		return unknown(argv[0], argc > 1 ? argv[1] : NULL);
	c.cmd = cmd;
	if (help) {
		args_help(stdout, cmd);
		return CTL_OK;
	}
	if ((rc = args_parse(&a, cmd, argc - words, argv + words)) != 0)
		return rc;
	if (flock_global_init() != 0)
		return ctl_fail(CTL_EFAIL, "cannot set up libcurl");
	if (local_only(cmd) || (rc = config_resolve(&c)) == 0)
		rc = cmd->run(&c, &a);
	http_free(c.http);
	wire_free(&c);
	config_free(&c);
	flock_global_cleanup();
	return rc;
}
