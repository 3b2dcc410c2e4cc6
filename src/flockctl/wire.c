/*
 * flockctl: the wire API through libflock (flock.h), with the service key.
 *
 * This is the one file that uses libflock's result structs, and it reads
 * nothing of them but raw_json (the answer's body, which the commands
 * print and look into) and, for the iterator, the item it hands out: so
 * a change of their shape (arrays of pointers, new members) touches this
 * file alone, and little of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flock.h>

#include "ctl.h"

flock_client *wire_client(ctl *c, int *rc)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	char suffix[48];

	*rc = CTL_OK;
	if (c->wire)
		return c->wire;
	if (!c->access_key) {
		*rc = ctl_fail(
		        CTL_EAUTH,
		        "no access key: set FLOCK_ACCESS_KEY, pass "
		        "--access-key-file FILE, or add access_key to the "
		        "profile (flockctl config set)");
		return NULL;
	}
	snprintf(suffix, sizeof(suffix), "flockctl/%s", FLOCKCTL_VERSION);
	o.access_key = c->access_key;
	o.base_url = c->base_url;
	o.timeout_ms = c->timeout_ms;
	o.user_agent_suffix = suffix;
	if (flock_client_new(&c->wire, &o) != 0) {
		*rc = wire_error(flock_error_last() ? flock_error_last()->code
		                                    : FLOCK_ERROR,
		                 "client");
		c->wire = NULL;
	}
	return c->wire;
}

void wire_free(ctl *c)
{
	flock_client_free(c->wire);
	c->wire = NULL;
}

int wire_code(int rc)
{
	switch (rc) {
	case 0:
		return CTL_OK;
	case FLOCK_EAUTH:
	case FLOCK_EPERM:
		return CTL_EAUTH;
	case FLOCK_ENOTFOUND:
		return CTL_ENOTFOUND;
	case FLOCK_ECONFLICT:
	case FLOCK_EIDEMPOTENCY:
		return CTL_ECONFLICT;
	case FLOCK_EINVAL:
	case FLOCK_EREQUEST:
		return CTL_EINVALID;
	case FLOCK_ESERVER:
	case FLOCK_ERATELIMIT:
	case FLOCK_EBADRESPONSE:
		return CTL_ESERVER;
	case FLOCK_ENETWORK:
	case FLOCK_ETIMEOUT:
		return CTL_ENETWORK;
	}
	return CTL_EFAIL;
}

int wire_error(int rc, const char *what)
{
	const flock_error *e = flock_error_last();

	if (!e)
		return ctl_fail(wire_code(rc), "%s: %s", what,
		                flock_strerror(rc));
	fprintf(stderr, "flockctl: %s: %s", what, e->message);
	if (e->http_status || e->server_code || e->request_id) {
		fprintf(stderr, " (");
		if (e->http_status)
			fprintf(stderr, "HTTP %d", e->http_status);
		if (e->server_code)
			fprintf(stderr, "%s%s", e->http_status ? ", " : "",
			        e->server_code);
		if (e->request_id)
			fprintf(stderr, ", request %s", e->request_id);
		fprintf(stderr, ")");
	}
	fprintf(stderr, "\n");
	return wire_code(rc);
}

/* The answer's JSON from its raw_json; an exit code. */
static int take(int rc, const char *raw, json_t **out, const char *what)
{
	*out = NULL;
	if (rc != 0)
		return wire_error(rc, what);
	if (!raw || !(*out = json_loads(raw, JSON_DECODE_ANY, NULL)))
		return ctl_fail(CTL_ESERVER, "%s: an answer that is not JSON",
		                what);
	return CTL_OK;
}

#define CLIENT_OR_RETURN(c, cl)                                                \
	int rc_;                                                               \
	flock_client *cl = wire_client(c, &rc_);                               \
	if (!cl)                                                               \
	return rc_

int wire_identify(ctl *c, const char *ext, const char *email, const char *name,
                  const char *props, const char *env, const char *idem,
                  json_t **out)
{
	flock_identify_params p = FLOCK_IDENTIFY_PARAMS_INIT;
	flock_customer *cus = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	p.external_user_id = ext;
	p.email = email;
	p.name = name;
	p.custom_properties_json = props;
	p.environment = env;
	p.idempotency_key = idem;
	rc = flock_customers_identify(&cus, cl, &p);
	rc = take(rc, cus ? cus->raw_json : NULL, out, "identify");
	flock_customer_free(cus);
	return rc;
}

int wire_ingest(ctl *c, const char *checkpoint, const char *ext,
                const char *env, const char *props, const char *idem,
                json_t **out)
{
	flock_ingest_params p = FLOCK_INGEST_PARAMS_INIT;
	flock_checkpoint_result *res = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	p.external_user_id = ext;
	p.environment = env;
	p.properties_json = props;
	p.idempotency_key = idem;
	rc = flock_checkpoints_ingest(&res, cl, checkpoint, &p);
	rc = take(rc, res ? res->raw_json : NULL, out, "ingest");
	flock_checkpoint_result_free(res);
	return rc;
}

int wire_live(ctl *c, const char *env, const char *customer_id, json_t **out)
{
	flock_get_live_params p = FLOCK_GET_LIVE_PARAMS_INIT;
	flock_campaign *k = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	p.environment = env;
	p.customer_id = customer_id;
	rc = flock_campaigns_get_live(&k, cl, &p);
	rc = take(rc, k ? k->raw_json : NULL, out, "live campaign");
	flock_campaign_free(k);
	return rc;
}

int wire_campaigns(ctl *c, json_t **out)
{
	flock_campaign_list *list = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	rc = flock_campaigns_list(&list, cl);
	rc = take(rc, list ? list->raw_json : NULL, out, "campaigns");
	flock_campaign_list_free(list);
	return rc;
}

/* The "data" array of a page, in place of the page. */
static int data_of(int rc, json_t **out)
{
	json_t *data;

	if (rc != CTL_OK)
		return rc;
	data = json_incref(json_object_get(*out, "data"));
	json_decref(*out);
	*out = data ? data : json_array();
	return CTL_OK;
}

int wire_checkpoints(ctl *c, const char *campaign_id, json_t **out)
{
	flock_checkpoint_list *list = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	rc = flock_campaign_checkpoints_list(&list, cl, campaign_id);
	rc = take(rc, list ? list->raw_json : NULL, out, "checkpoints");
	flock_checkpoint_list_free(list);
	return data_of(rc, out);
}

int wire_validate(ctl *c, const char *code, json_t **out)
{
	flock_validation *v = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	rc = flock_referrals_validate(&v, cl, code);
	rc = take(rc, v ? v->raw_json : NULL, out, "validate");
	flock_validation_free(v);
	return rc;
}

int wire_referral_create(ctl *c, const char *campaign, const char *code,
                         const char *referee_id, const char *referee_ext,
                         const char *idem, json_t **out)
{
	flock_referral_create_params p = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	flock_referral *r = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	p.campaign_id = campaign;
	p.referral_code = code;
	p.referee_id = referee_id;
	p.referee_external_user_id = referee_ext;
	p.idempotency_key = idem;
	rc = flock_referrals_create(&r, cl, &p);
	rc = take(rc, r ? r->raw_json : NULL, out, "referral");
	flock_referral_free(r);
	return rc;
}

static int referrals_all(flock_client *cl, flock_referral_list_params *p,
                         json_t **out)
{
	flock_referral_iterator *it = NULL;
	const flock_referral *r;
	json_t *all = json_array(), *one;
	int rc = flock_referral_iterator_new(&it, cl, p);

	while (rc == 0 && (rc = flock_referral_iterator_next(&r, it)) == 0) {
		if (!(one = json_loads(r->raw_json, 0, NULL)) ||
		    json_array_append_new(all, one) < 0) {
			rc = FLOCK_ENOMEM;
			break;
		}
	}
	flock_referral_iterator_free(it);
	if (rc != FLOCK_ITEROVER) {
		json_decref(all);
		*out = NULL;
		return wire_error(rc, "referrals");
	}
	*out = all;
	return CTL_OK;
}

int wire_referrals(ctl *c, const char *campaign, const char *status, long limit,
                   long offset, int all, json_t **out)
{
	flock_referral_list_params p = FLOCK_REFERRAL_LIST_PARAMS_INIT;
	flock_referral_page *page = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	p.campaign_id = campaign;
	p.status = status;
	p.limit = all ? 100 : limit;
	p.offset = offset;
	if (all)
		return referrals_all(cl, &p, out);
	rc = flock_referrals_list(&page, cl, &p);
	rc = take(rc, page ? page->raw_json : NULL, out, "referrals");
	flock_referral_page_free(page);
	return data_of(rc, out);
}

int wire_trigger(ctl *c, const char *ext, const char *env, unsigned for_mask,
                 const char *idem, json_t **out)
{
	flock_trigger_params p = FLOCK_TRIGGER_PARAMS_INIT;
	flock_reward_ids *ids = NULL;
	int rc;
	CLIENT_OR_RETURN(c, cl);

	p.external_user_id = ext;
	p.environment = env;
	p.reward_for = (for_mask & 1 ? FLOCK_REWARD_SELF : 0) |
	               (for_mask & 2 ? FLOCK_REWARD_REFERRAL_PARTNER : 0);
	p.idempotency_key = idem;
	rc = flock_rewards_trigger(&ids, cl, &p);
	rc = take(rc, ids ? ids->raw_json : NULL, out, "trigger");
	flock_reward_ids_free(ids);
	return rc;
}

static void failure(int rc, char *code, size_t codelen, char *msg,
                    size_t msglen)
{
	const flock_error *e = flock_error_last();

	snprintf(code, codelen, "%s",
	         e && e->server_code ? e->server_code : flock_strerror(rc));
	snprintf(msg, msglen, "%s", e ? e->message : flock_strerror(rc));
}

int wire_import_row(flock_client *cl, int referrals, const json_t *row,
                    const char *key, char *code, size_t codelen, char *msg,
                    size_t msglen)
{
	char *props = NULL;
	int rc;

#define S(k) json_string_value(json_object_get(row, k))
	if (!referrals) {
		flock_identify_params p = FLOCK_IDENTIFY_PARAMS_INIT;
		json_t *cp = json_object_get(row, "customProperties");
		flock_customer *cus = NULL;

		if (cp && !(props = json_dumps(cp, JSON_COMPACT)))
			return FLOCK_ENOMEM;
		p.external_user_id = S("externalUserId");
		p.email = S("email");
		p.name = S("name");
		p.environment = S("environment");
		p.custom_properties_json = props;
		p.idempotency_key = key;
		rc = flock_customers_identify(&cus, cl, &p);
		flock_customer_free(cus);
	} else {
		flock_referral_create_params p =
		        FLOCK_REFERRAL_CREATE_PARAMS_INIT;
		flock_referral *r = NULL;

		p.campaign_id = S("campaignId");
		p.referral_code = S("referralCode");
		p.referee_id = S("refereeId");
		p.referee_external_user_id = S("refereeExternalUserId");
		p.idempotency_key = key;
		rc = flock_referrals_create(&r, cl, &p);
		flock_referral_free(r);
	}
#undef S
	free(props);
	if (rc != 0)
		failure(rc, code, codelen, msg, msglen);
	return rc;
}
