/*
 * flockd engine: the admin API operations and `flockd init`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

int fd_engine_init(fd_engine *e, const char *app_name, json_t **out)
{
	*out = NULL;
	return -1;
}

int fd_engine_bench_seed(fd_engine *e, const char *app_id, long n,
                         json_t **out)
{
	*out = NULL;
	return -1;
}

#define STUB(name)                                                            \
	void name(fd_engine *e, const fd_request *req, fd_response *res)      \
	{                                                                     \
		fd_error(res, 501, "not_implemented", "%s", #name);           \
	}

STUB(fd_op_admin_apps_list)
STUB(fd_op_admin_apps_create)
STUB(fd_op_admin_keys_list)
STUB(fd_op_admin_keys_create)
STUB(fd_op_admin_keys_revoke)
STUB(fd_op_admin_campaigns_list)
STUB(fd_op_admin_campaigns_create)
STUB(fd_op_admin_campaigns_get)
STUB(fd_op_admin_campaigns_update)
STUB(fd_op_admin_campaign_rewards_create)
STUB(fd_op_admin_campaign_checkpoints_create)
STUB(fd_op_admin_campaigns_go_live)
STUB(fd_op_admin_customers_list)
STUB(fd_op_admin_customers_get)
STUB(fd_op_admin_customers_delete)
STUB(fd_op_admin_referrals_list)
STUB(fd_op_admin_referrals_approve)
STUB(fd_op_admin_referrals_reject)
STUB(fd_op_admin_rewards_list)
STUB(fd_op_admin_rewards_approve)
STUB(fd_op_admin_rewards_fulfil)
STUB(fd_op_admin_rewards_revoke)
STUB(fd_op_admin_webhooks_list)
STUB(fd_op_admin_webhooks_create)
STUB(fd_op_admin_webhooks_delete)
STUB(fd_op_admin_events_list)
