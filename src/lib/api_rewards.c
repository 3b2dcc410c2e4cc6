/*
 * POST /rewards/trigger (`sdk.rewards.trigger`).
 */
#include <flock/api.h>

#include "bodies.h"
#include "error.h"
#include "internal.h"
#include "json.h"
#include "objects.h"

#define REWARD_FOR_ALL (FLOCK_REWARD_SELF | FLOCK_REWARD_REFERRAL_PARTNER)

/* rewardFor as the Node SDK sends it: ["self", "referral_partner"]. */
static json_t *reward_for(unsigned int flags)
{
	json_t *arr = json_array();

	if (flags == 0)
		flags = REWARD_FOR_ALL;
	if (arr == NULL)
		return NULL;
	if ((flags & FLOCK_REWARD_SELF) &&
	    json_array_append_new(arr, json_string("self")) != 0)
		goto fail;
	if ((flags & FLOCK_REWARD_REFERRAL_PARTNER) &&
	    json_array_append_new(arr, json_string("referral_partner")) != 0)
		goto fail;
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

static int trigger_body(json_t **out, const flock_trigger_params *p)
{
	json_t *body = json_object();
	int rc;

	if (body == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__json_set_str(body, "externalUserId", p->external_user_id);
	if (rc == 0)
		rc = flock__json_set_str(body, "environment", p->environment);
	if (rc == 0)
		rc = flock__json_set_new(body, "rewardFor",
		                         reward_for(p->reward_for));
	if (rc) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return 0;
}

int flock__trigger_body(json_t **out, const flock_trigger_params *params)
{
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	if (params->version != FLOCK_TRIGGER_PARAMS_VERSION)
		return flock__error_set(FLOCK_EINVAL, "unknown params version");
	if (flock__empty(params->external_user_id))
		return flock__error_set(FLOCK_EINVAL,
		                        "external_user_id is required");
	if (flock__empty(params->environment))
		return flock__error_set(FLOCK_EINVAL,
		                        "environment is required");
	if (params->reward_for & ~(unsigned int)REWARD_FOR_ALL)
		return flock__error_set(FLOCK_EINVAL,
		                        "reward_for has unknown "
		                        "flags 0x%x",
		                        params->reward_for);
	return trigger_body(out, params);
}

int flock_rewards_trigger(flock_reward_ids **out, flock_client *client,
                          const flock_trigger_params *params)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {"POST", "/rewards/trigger", NULL, NULL, NULL, 0, 0};
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL || params == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out, client or params is NULL");
	if ((rc = flock__trigger_body(&body, params)) != 0)
		return rc;
	call.body = body;
	call.idempotency_key = params->idempotency_key;
	rc = flock__request(client, &call, &reply);
	if (rc == 0)
		rc = flock__reward_ids_parse(out, &reply);
	flock__reply_free(&reply);
	json_decref(body);
	return rc;
}
