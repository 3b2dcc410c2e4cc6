/*
 * flockctl: the wire API's calls (libflock, with the service key).
 */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"

static const ctl_col cols_validation[] = {
        {"VALID", "isValid"},
        {"REFERRER", "referredBy.id"},
        {"EXTERNAL ID", "referredBy.externalUserId"},
        COL_END};
static const ctl_col cols_reward_id[] = {{"ID", "id"}, COL_END};

static int need(const ctl *c, const ctl_args *a, const char *opt)
{
	if (arg_get(a, opt) && *arg_get(a, opt))
		return 0;
	return ctl_usage(c, "--%s is required", opt);
}

/* An environment option: production, test or absent. */
static int env_ok(const ctl *c, const ctl_args *a)
{
	const char *e = arg_get(a, "environment");

	if (!e || !strcmp(e, "production") || !strcmp(e, "test"))
		return 0;
	return ctl_usage(c,
	                 "--environment must be production or test, not "
	                 "'%s'",
	                 e);
}

static int show(ctl *c, int rc, json_t *v)
{
	if (rc == CTL_OK)
		rc = out_object(c, v);
	json_decref(v);
	return rc;
}

static int show_list(ctl *c, int rc, json_t *v, const ctl_col *cols)
{
	if (rc == CTL_OK)
		rc = out_list(c, v, cols);
	json_decref(v);
	return rc;
}

CMD(cmd_customers_identify)
{
	json_t *out = NULL;
	char *props;
	int rc;

	if ((rc = need(c, a, "external-id")) || (rc = env_ok(c, a)))
		return rc;
	props = props_from_args(c, a, "property", "properties", &rc);
	if (rc)
		return rc;
	rc = wire_identify(c, arg_get(a, "external-id"), arg_get(a, "email"),
	                   arg_get(a, "name"), props, arg_get(a, "environment"),
	                   arg_get(a, "idempotency-key"), &out);
	free(props);
	return show(c, rc, out);
}

CMD(cmd_checkpoints_ingest)
{
	const char *env = arg_get(a, "environment");
	json_t *out = NULL;
	char *props;
	int rc;

	if ((rc = need(c, a, "external-id")) || (rc = env_ok(c, a)))
		return rc;
	props = props_from_args(c, a, "property", "properties", &rc);
	if (rc)
		return rc;
	rc = wire_ingest(c, a->pos[0], arg_get(a, "external-id"),
	                 env ? env : "production", props,
	                 arg_get(a, "idempotency-key"), &out);
	free(props);
	return show(c, rc, out);
}

CMD(cmd_campaigns_live)
{
	const char *env = arg_get(a, "environment");
	json_t *out = NULL;
	int rc;

	if ((rc = env_ok(c, a)))
		return rc;
	rc = wire_live(c, env ? env : "production", arg_get(a, "customer-id"),
	               &out);
	return show(c, rc, out);
}

CMD(cmd_campaigns_list)
{
	json_t *out = NULL;
	int rc;

	if (arg_has(a, "admin"))
		return admin_campaigns_list(c, a);
	if (arg_has(a, "environment"))
		return ctl_usage(c, "--environment needs --admin (the wire "
		                    "API's list has both environments)");
	rc = wire_campaigns(c, &out);
	return show_list(c, rc, out, cols_campaign);
}

CMD(cmd_campaigns_checkpoints)
{
	json_t *out = NULL;
	int rc;

	if ((rc = need(c, a, "campaign")))
		return rc;
	rc = wire_checkpoints(c, arg_get(a, "campaign"), &out);
	return show_list(c, rc, out, cols_checkpoint);
}

CMD(cmd_referrals_validate)
{
	json_t *out = NULL;
	int rc = wire_validate(c, a->pos[0], &out);

	if (rc == CTL_OK && c->mode == OUT_TABLE && !c->quiet) {
		json_t *one = json_pack("[O]", out);

		rc = out_list(c, one, cols_validation);
		json_decref(one);
		json_decref(out);
		return rc;
	}
	return show(c, rc, out);
}

CMD(cmd_referrals_create)
{
	json_t *out = NULL;
	int rc;

	if ((rc = need(c, a, "campaign")) || (rc = need(c, a, "code")))
		return rc;
	if (!arg_has(a, "referee-id") == !arg_has(a, "referee-external-id"))
		return ctl_usage(c, "give one of --referee-id and "
		                    "--referee-external-id");
	rc = wire_referral_create(c, arg_get(a, "campaign"), arg_get(a, "code"),
	                          arg_get(a, "referee-id"),
	                          arg_get(a, "referee-external-id"),
	                          arg_get(a, "idempotency-key"), &out);
	return show(c, rc, out);
}

CMD(cmd_referrals_list)
{
	long limit = 0, offset = 0;
	json_t *out = NULL;
	int rc;

	if (arg_has(a, "admin"))
		return admin_referrals_list(c, a);
	if (arg_has(a, "environment"))
		return ctl_usage(c, "--environment needs --admin");
	if ((rc = arg_long(c, a, "limit", 1, 100, &limit)) ||
	    (rc = arg_long(c, a, "offset", 0, 1000000000, &offset)))
		return rc;
	rc = wire_referrals(c, arg_get(a, "campaign"), arg_get(a, "status"),
	                    limit, offset, arg_has(a, "all"), &out);
	return show_list(c, rc, out, cols_referral);
}

CMD(cmd_rewards_trigger)
{
	const char *who = arg_get(a, "for"), *env = arg_get(a, "environment");
	unsigned mask = 0;
	json_t *out = NULL;
	int rc;

	if ((rc = need(c, a, "external-id")) || (rc = env_ok(c, a)))
		return rc;
	if (who && !strcmp(who, "self"))
		mask = 1;
	else if (who && (!strcmp(who, "referral_partner") ||
	                 !strcmp(who, "referral-partner")))
		mask = 2;
	else if (who && strcmp(who, "both") != 0)
		return ctl_usage(c, "--for must be self, referral_partner or "
		                    "both");
	rc = wire_trigger(c, arg_get(a, "external-id"),
	                  env ? env : "production", mask,
	                  arg_get(a, "idempotency-key"), &out);
	return show_list(c, rc, out, cols_reward_id);
}
