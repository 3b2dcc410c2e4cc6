/*
 * Referrals: validate a code, create, list a page, iterate over pages.
 */
#include <flock/api.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal.h"
#include "json.h"
#include "objects.h"

/* The server's page size cap (api.md section 2). */
#define LIST_LIMIT_MAX 100

int flock_referrals_validate(flock_validation **out, flock_client *client,
                             const char *referral_code)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {
	        "POST", "/referrals/validate-code", NULL, NULL, NULL, 0, 0};
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL)
		return flock__error_set(FLOCK_EINVAL, "out or client is NULL");
	if (flock__empty(referral_code))
		return flock__error_set(FLOCK_EINVAL,
		                        "referral_code is required");
	if ((body = json_object()) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__json_set_str(body, "referralCode", referral_code);
	call.body = body;
	if (rc == 0)
		rc = flock__request(client, &call, &reply);
	if (rc == 0)
		rc = flock__validation_parse(out, &reply);
	flock__reply_free(&reply);
	json_decref(body);
	return rc;
}

static int check_create(const flock_referral_create_params *p)
{
	if (p->version != FLOCK_REFERRAL_CREATE_PARAMS_VERSION)
		return flock__error_set(FLOCK_EINVAL, "unknown params version");
	if (flock__empty(p->campaign_id))
		return flock__error_set(FLOCK_EINVAL,
		                        "campaign_id is required");
	if (flock__empty(p->referral_code))
		return flock__error_set(FLOCK_EINVAL,
		                        "referral_code is required");
	if (flock__empty(p->referee_id) ==
	    flock__empty(p->referee_external_user_id))
		return flock__error_set(FLOCK_EINVAL,
		                        "give exactly one of referee_id and "
		                        "referee_external_user_id");
	return 0;
}

static int create_body(json_t **out, const flock_referral_create_params *p)
{
	json_t *body = json_object();
	int rc;

	if (body == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__json_set_str(body, "campaignId", p->campaign_id);
	if (rc == 0)
		rc = flock__json_set_str(body, "referralCode",
		                         p->referral_code);
	if (rc == 0 && !flock__empty(p->referee_id))
		rc = flock__json_set_str(body, "refereeId", p->referee_id);
	if (rc == 0 && !flock__empty(p->referee_external_user_id))
		rc = flock__json_set_str(body, "refereeExternalUserId",
		                         p->referee_external_user_id);
	if (rc) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return 0;
}

int flock_referrals_create(flock_referral **out, flock_client *client,
                           const flock_referral_create_params *params)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__call call = {"POST", "/referrals", NULL, NULL, NULL, 0, 0};
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL || params == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out, client or params is NULL");
	if ((rc = check_create(params)) != 0 ||
	    (rc = create_body(&body, params)) != 0)
		return rc;
	call.body = body;
	call.idempotency_key = params->idempotency_key;
	rc = flock__request(client, &call, &reply);
	if (rc == 0)
		rc = flock__referral_parse(out, &reply);
	flock__reply_free(&reply);
	json_decref(body);
	return rc;
}

static int check_list(const flock_referral_list_params *p)
{
	if (p->version != FLOCK_REFERRAL_LIST_PARAMS_VERSION)
		return flock__error_set(FLOCK_EINVAL, "unknown params version");
	if (p->limit < 0 || p->limit > LIST_LIMIT_MAX)
		return flock__error_set(FLOCK_EINVAL,
		                        "limit must be 0 (server "
		                        "default) to %d",
		                        LIST_LIMIT_MAX);
	if (p->offset < 0)
		return flock__error_set(FLOCK_EINVAL, "offset is negative");
	return 0;
}

static int list_path(flock__buf *path, const flock_referral_list_params *p,
                     long offset)
{
	char num[32];
	int rc;

	flock__buf_puts(path, "/referrals");
	rc = flock__query_add(path, "campaignId",
	                      flock__empty(p->campaign_id) ? NULL
	                                                   : p->campaign_id);
	if (rc == 0)
		rc = flock__query_add(path, "status",
		                      flock__empty(p->status) ? NULL
		                                              : p->status);
	if (rc == 0 && p->limit > 0) {
		snprintf(num, sizeof(num), "%ld", p->limit);
		rc = flock__query_add(path, "limit", num);
	}
	if (rc == 0 && offset > 0) {
		snprintf(num, sizeof(num), "%ld", offset);
		rc = flock__query_add(path, "offset", num);
	}
	if (rc == 0 && path->oom)
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
	return rc;
}

/* One page at `offset`; params already checked. */
static int list_page(flock_referral_page **out, flock_client *client,
                     const flock_referral_list_params *params, long offset)
{
	flock__reply reply = FLOCK__REPLY_INIT;
	flock__buf path = FLOCK__BUF_INIT;
	flock__call call = {"GET", NULL, NULL, NULL, NULL, 0, 0};
	int rc;

	rc = list_path(&path, params, offset);
	call.path = path.ptr;
	if (rc == 0)
		rc = flock__request(client, &call, &reply);
	if (rc == 0)
		rc = flock__referral_page_parse(out, &reply);
	flock__reply_free(&reply);
	flock__buf_free(&path);
	return rc;
}

int flock_referrals_list(flock_referral_page **out, flock_client *client,
                         const flock_referral_list_params *params)
{
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL || params == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out, client or params is NULL");
	if ((rc = check_list(params)) != 0)
		return rc;
	return list_page(out, client, params, params->offset);
}

/* --- iterator ------------------------------------------------------------ */

struct flock_referral_iterator {
	flock_client *client;
	flock_referral_list_params params; /* strings below are copies */
	char *campaign_id;
	char *status;
	flock_referral_page *page;
	size_t index;  /* next item of page */
	long offset;   /* offset of the next page to fetch */
	int last_page; /* the current page is the last one */
};

static int dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (s && (*out = strdup(s)) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	return 0;
}

int flock_referral_iterator_new(flock_referral_iterator **out,
                                flock_client *client,
                                const flock_referral_list_params *params)
{
	flock_referral_iterator *it;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || client == NULL || params == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out, client or params is NULL");
	if ((rc = check_list(params)) != 0)
		return rc;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	it->client = client;
	it->params = *params;
	it->offset = params->offset;
	if ((rc = dup_opt(&it->campaign_id, params->campaign_id)) != 0 ||
	    (rc = dup_opt(&it->status, params->status)) != 0) {
		flock_referral_iterator_free(it);
		return rc;
	}
	it->params.campaign_id = it->campaign_id;
	it->params.status = it->status;
	*out = it;
	return 0;
}

/* Replace the page with the next one; FLOCK_ITEROVER when none is left. */
static int next_page(flock_referral_iterator *it)
{
	flock_referral_page *page = NULL;
	int rc;

	if (it->last_page)
		return FLOCK_ITEROVER;
	rc = list_page(&page, it->client, &it->params, it->offset);
	if (rc != 0)
		return rc; /* the same page is fetched again on the next call */
	flock_referral_page_free(it->page);
	it->page = page;
	it->index = 0;
	it->offset += (long)page->count;
	if (page->count == 0 || (page->total >= 0 && it->offset >= page->total))
		it->last_page = 1;
	return page->count ? 0 : FLOCK_ITEROVER;
}

int flock_referral_iterator_next(const flock_referral **out,
                                 flock_referral_iterator *it)
{
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || it == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "out or iterator is NULL");
	while (it->page == NULL || it->index >= it->page->count) {
		if ((rc = next_page(it)) != 0)
			return rc;
	}
	*out = it->page->items[it->index++];
	return 0;
}

void flock_referral_iterator_free(flock_referral_iterator *it)
{
	if (it == NULL)
		return;
	flock_referral_page_free(it->page);
	free(it->campaign_id);
	free(it->status);
	free(it);
}
