/*
 * POST /customers/identify (`sdk.customers.identify`).
 */
#include <flock/api.h>

#include "bodies.h"
#include "error.h"
#include "internal.h"
#include "json.h"
#include "objects.h"

static int identify_body(json_t **out, const flock_identify_params *p)
{
	json_t *body = json_object(), *props = NULL;
	int rc;

	if (body == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__props_build(&props, "custom_properties",
	                        p->custom_properties_json, p->custom_properties,
	                        p->custom_property_count);
	if (rc == 0)
		rc = flock__json_set_str(body, "externalUserId",
		                         p->external_user_id);
	if (rc == 0)
		rc = flock__json_set_str(body, "email", p->email);
	if (rc == 0)
		rc = flock__json_set_str(body, "name", p->name);
	if (rc == 0 && props) {
		rc = flock__json_set_new(body, "customProperties", props);
		props = NULL;
	}
	if (rc == 0)
		rc = flock__json_set_str(body, "environment", p->environment);
	json_decref(props);
	if (rc) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return 0;
}

int flock__identify_body(json_t **out, const flock_identify_params *params)
{
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	if (params->version != FLOCK_IDENTIFY_PARAMS_VERSION)
		return flock__error_set(FLOCK_EINVAL, "unknown params version");
	if (flock__empty(params->external_user_id))
		return flock__error_set(FLOCK_EINVAL,
		                        "external_user_id is required");
	return identify_body(out, params);
}

int flock_customers_identify(flock_customer **out, flock_client *client,
                             const flock_identify_params *params)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {"POST", "/customers/identify", NULL, NULL, NULL, 0,
	                    0};
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL || params == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out, client or params is NULL");
	if ((rc = flock__identify_body(&body, params)) != 0)
		return rc;
	call.body = body;
	call.idempotency_key = params->idempotency_key;
	rc = flock__request(client, &call, &reply);
	if (rc == 0)
		rc = flock__customer_parse(out, &reply);
	flock__reply_free(&reply);
	json_decref(body);
	return rc;
}
