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

/*
 * Without properties the body is three strings, written straight to text:
 * building a json_t and then encoding it cost as much as the rest of the
 * call's own work.
 */
static int ingest_text(flock__buf *b, const char *name,
                       const flock_ingest_params *p)
{
	static const char *const names[] = {"checkpointName", "externalUserId",
	                                    "environment"};
	const char *values[3];

	values[0] = name;
	values[1] = p->external_user_id;
	values[2] = p->environment;
	return flock__json_flat_body(b, names, values, 3);
}

int flock_checkpoints_ingest(flock_checkpoint_result **out,
                             flock_client *client, const char *checkpoint_name,
                             const flock_ingest_params *params)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {"POST", "/checkpoints/ingest", NULL, NULL, NULL, 0,
	                    0};
	flock_checkpoint_result *result = NULL;
	flock__buf text = FLOCK__BUF_INIT;
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (client == NULL)
		return flock__error_set(FLOCK_EINVAL, "client is NULL");
	if ((rc = check_ingest(checkpoint_name, params)) != 0)
		return rc;
	if (params->properties_json == NULL && params->property_count == 0) {
		if ((rc = ingest_text(&text, checkpoint_name, params)) != 0)
			goto done;
		call.body_text = text.ptr;
		call.body_len = text.len;
	} else {
		if ((rc = ingest_body(&body, checkpoint_name, params)) != 0)
			goto done;
		call.body = body;
	}
	call.idempotency_key = params->idempotency_key;
	call.text_reply = 1;
	rc = flock__request(client, &call, &reply);
	/*
	 * Parsed even when unwanted: a 2xx that is not a CheckpointResult
	 * (say, a proxy's HTML page) does not prove the event was recorded.
	 */
	if (rc == 0)
		rc = flock__checkpoint_result_parse(&result, &reply, &call);
	if (rc == 0 && out)
		*out = result;
	else
		flock_checkpoint_result_free(result);
done:
	flock__reply_free(&reply);
	flock__buf_free(&text);
	json_decref(body);
	return rc;
}
