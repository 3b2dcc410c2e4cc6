/*
 * GET /campaigns/live, GET /campaigns, GET /campaign-checkpoints.
 */
#include <flock/api.h>

#include "error.h"
#include "internal.h"
#include "json.h"
#include "objects.h"

/* Perform a GET of `path` (query included); reply filled on success. */
static int get(flock_client *client, flock__buf *path, flock__reply *reply)
{
	flock__call call = {"GET", NULL, NULL, NULL, NULL, 0, 0};

	if (path->oom || path->ptr == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	call.path = path->ptr;
	return flock__request(client, &call, reply);
}

int flock_campaigns_get_live(flock_campaign **out, flock_client *client,
                             const flock_get_live_params *params)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__buf path = FLOCK__BUF_INIT;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL || params == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out, client or params is NULL");
	if (params->version != FLOCK_GET_LIVE_PARAMS_VERSION)
		return flock__error_set(FLOCK_EINVAL, "unknown params version");
	if (flock__empty(params->environment))
		return flock__error_set(FLOCK_EINVAL,
		                        "environment is required");
	flock__buf_puts(&path, "/campaigns/live");
	rc = flock__query_add(&path, "environment", params->environment);
	if (rc == 0 && !flock__empty(params->customer_id))
		rc = flock__query_add(&path, "customerId", params->customer_id);
	if (rc == 0)
		rc = get(client, &path, &reply);
	if (rc == 0)
		rc = flock__campaign_parse(out, &reply);
	flock__reply_free(&reply);
	flock__buf_free(&path);
	return rc;
}

int flock_campaigns_list(flock_campaign_list **out, flock_client *client)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {"GET", "/campaigns", NULL, NULL, NULL, 0, 0};
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL)
		return flock__error_set(FLOCK_EINVAL, "out or client is NULL");
	rc = flock__request(client, &call, &reply);
	if (rc == 0)
		rc = flock__campaign_list_parse(out, &reply);
	flock__reply_free(&reply);
	return rc;
}

int flock_campaign_checkpoints_list(flock_checkpoint_list **out,
                                    flock_client *client,
                                    const char *campaign_id)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__buf path = FLOCK__BUF_INIT;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL)
		return flock__error_set(FLOCK_EINVAL, "out or client is NULL");
	if (flock__empty(campaign_id))
		return flock__error_set(FLOCK_EINVAL,
		                        "campaign_id is required");
	flock__buf_puts(&path, "/campaign-checkpoints");
	rc = flock__query_add(&path, "campaignId", campaign_id);
	if (rc == 0)
		rc = get(client, &path, &reply);
	if (rc == 0)
		rc = flock__checkpoint_list_parse(out, &reply);
	flock__reply_free(&reply);
	flock__buf_free(&path);
	return rc;
}
