/*
 * flockd engine: lifecycle, authentication and the shared error helper.
 * STUB: every operation answers 501 until it is implemented.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct fd_engine {
	int unused;
};

const char *fd_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void fd_error(fd_response *res, int status, const char *code,
              const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(res->body);
	res->status = status;
	res->replayed = 0;
	res->body = json_pack("{s:i, s:s, s:s, s:s}", "statusCode", status,
	                      "error", fd_status_text(status), "message", msg,
	                      "code", code ? code : "error");
}

int fd_engine_open(fd_engine **out, const fd_engine_config *cfg, char *errbuf,
                   size_t errlen)
{
	*out = calloc(1, sizeof(**out));
	if (!*out) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void fd_engine_close(fd_engine *e)
{
	free(e);
}

int fd_engine_authenticate(fd_engine *e, const char *key, fd_principal *out)
{
	return -1;
}

int fd_engine_ready(fd_engine *e)
{
	return e != NULL;
}

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

long fd_engine_rewards_granted(fd_engine *e)
{
	return 0;
}

void fd_op_noop(fd_engine *e, const fd_request *req, fd_response *res)
{
	res->status = 200;
	res->body = json_pack("{s:b}", "ok", 1);
}

#define STUB(name)                                                            \
	void name(fd_engine *e, const fd_request *req, fd_response *res)      \
	{                                                                     \
		fd_error(res, 501, "not_implemented", "%s", #name);           \
	}

STUB(fd_op_identify)
STUB(fd_op_campaigns_list)
STUB(fd_op_campaigns_live)
STUB(fd_op_campaign_ping)
STUB(fd_op_campaign_checkpoints)
STUB(fd_op_checkpoint_ingest)
STUB(fd_op_referral_create)
STUB(fd_op_referrals_list)
STUB(fd_op_referral_validate)
STUB(fd_op_rewards_trigger)
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
