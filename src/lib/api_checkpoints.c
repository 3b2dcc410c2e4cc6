/*
 * POST /checkpoints/ingest (`sdk.checkpoints.ingest`).
 */
#include <flock/api.h>

#include "bodies.h"
#include "error.h"
#include "internal.h"
#include "json.h"
#include "objects.h"

static int ingest_body(json_t **out, const char *name,
                       const flock_ingest_params *p)
{
	json_t *body = json_object(), *props = NULL;
	int rc;

	if (body == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__props_build(&props, "properties", p->properties_json,
	                        p->properties, p->property_count);
	if (rc == 0)
		rc = flock__json_set_str(body, "checkpointName", name);
	if (rc == 0)
		rc = flock__json_set_str(body, "externalUserId",
		                         p->external_user_id);
	if (rc == 0)
		rc = flock__json_set_str(body, "environment", p->environment);
	if (rc == 0 && props) {
		rc = flock__json_set_new(body, "properties", props);
		props = NULL;
	}
	json_decref(props);
	if (rc) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return 0;
}

static int check_ingest(const char *name, const flock_ingest_params *params)
{
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	if (params->version != FLOCK_INGEST_PARAMS_VERSION)
		return flock__error_set(FLOCK_EINVAL, "unknown params version");
	if (flock__empty(name))
		return flock__error_set(FLOCK_EINVAL,
		                        "checkpoint_name is required");
	if (flock__empty(params->external_user_id))
		return flock__error_set(FLOCK_EINVAL,
		                        "external_user_id is required");
	if (flock__empty(params->environment))
		return flock__error_set(FLOCK_EINVAL,
		                        "environment is required");
	return 0;
}

int flock__ingest_body(json_t **out, const char *checkpoint_name,
                       const flock_ingest_params *params)
{
	int rc = check_ingest(checkpoint_name, params);

	return rc ? rc : ingest_body(out, checkpoint_name, params);
}

int flock_checkpoints_ingest(flock_checkpoint_result **out,
                             flock_client *client, const char *checkpoint_name,
                             const flock_ingest_params *params)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {"POST", "/checkpoints/ingest", NULL, NULL};
	flock_checkpoint_result *result = NULL;
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (client == NULL)
		return flock__error_set(FLOCK_EINVAL, "client is NULL");
	if ((rc = flock__ingest_body(&body, checkpoint_name, params)) != 0)
		return rc;
	call.body = body;
	call.idempotency_key = params->idempotency_key;
	rc = flock__request(client, &call, &reply);
	/*
	 * Parsed even when unwanted: a 2xx that is not a CheckpointResult
	 * (say, a proxy's HTML page) does not prove the event was recorded.
	 */
	if (rc == 0)
		rc = flock__checkpoint_result_parse(&result, &reply);
	if (rc == 0 && out)
		*out = result;
	else
		flock_checkpoint_result_free(result);
	flock__reply_free(&reply);
	json_decref(body);
	return rc;
}
