/*
 * flockd engine: the environment boundary (docs/security.md).
 *
 * A service or public key, or an admin token, may be limited to one
 * environment (fd_principal.environment). Every operation run for a
 * request passes through fd__scope first, on the same connection and in
 * the same snapshot or transaction as the operation itself (engine.c's
 * read runner, writer.c's job wrapper): it reads the environment of every
 * object the request names (the {id} in the path, by its prefix, and the
 * id-like fields of the body and the query) and refuses the request when
 * one of them belongs to another environment than the credential's. An
 * object that does not exist is left to the operation (it answers not
 * found, or creates it in the credential's environment). Lists read
 * fd__scope_env to show the credential's environment only.
 */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

/* The path {id}'s kind, by the prefix flockd gives every id it makes. */
static const struct {
	const char *prefix;
	fd_object kind;
} id_kinds[] = {
        {"cmp_", FD_OBJ_CAMPAIGN},
        {"cus_", FD_OBJ_CUSTOMER},
        {"ref_", FD_OBJ_REFERRAL},
        {"rwd_", FD_OBJ_REWARD},
        {"key_", FD_OBJ_KEY},
        {"whe_", FD_OBJ_WEBHOOK},
        {"crw_", FD_OBJ_CAMPAIGN_REWARD},
        {"chk_", FD_OBJ_CHECKPOINT},
};

/* The body and query fields that name an object. */
static const struct {
	const char *field;
	fd_object kind;
	fd_lookup by;
} named_fields[] = {
        {"campaignId", FD_OBJ_CAMPAIGN, FD_BY_ID},
        {"customerId", FD_OBJ_CUSTOMER, FD_BY_ID},
        {"refereeId", FD_OBJ_CUSTOMER, FD_BY_ID},
        {"referrerId", FD_OBJ_CUSTOMER, FD_BY_ID},
        {"externalUserId", FD_OBJ_CUSTOMER, FD_BY_EXTERNAL},
        {"customerExternalId", FD_OBJ_CUSTOMER, FD_BY_EXTERNAL},
        {"refereeExternalUserId", FD_OBJ_CUSTOMER, FD_BY_EXTERNAL},
        {"referralCode", FD_OBJ_CUSTOMER, FD_BY_CODE},
        {"referralId", FD_OBJ_REFERRAL, FD_BY_ID},
        {"rewardId", FD_OBJ_REWARD, FD_BY_ID},
};

const char *fd__scope_env(const fd_ctx *x)
{
	const fd_principal *who = x->req ? x->req->who : NULL;

	return who && who->environment[0] ? who->environment : NULL;
}

const char *fd__list_env(const fd_ctx *x)
{
	const char *env = x->req ? fd__qstr(x, "environment") : NULL;

	return env && *env ? env : fd__scope_env(x);
}

static int refuse(fd_ctx *x, const char *limit, const char *what,
                  const char *env)
{
	return fd__fail(x, FD_OUT_FORBIDDEN, "forbidden",
	                "this key is limited to the %s environment; %s "
	                "belongs to %s",
	                limit, what, *env ? env : "every environment");
}

/* 0 if key (of kind, looked up by by) is absent or in limit, else -1. */
static int check_one(fd_ctx *x, const char *limit, fd_object kind, fd_lookup by,
                     const char *key, const char *what)
{
	char env[16];
	int rc;

	if (!key || !*key)
		return 0;
	rc = fd_store_env_of(x->c, x->app, kind, by, key, env);
	if (rc == FD_NOTFOUND)
		return 0;
	if (rc != FD_OK)
		return fd__internal(x);
	if (strcmp(env, limit) == 0)
		return 0;
	/* A code guessed with a public key: counted as validate-code's
	 * misses are, else the refusal would tell a guesser past the limit
	 * which codes exist. */
	if (by == FD_BY_CODE && fd__code_misses(x, 1) < 0)
		return -1;
	return refuse(x, limit, what, env);
}

/* Check the named fields of obj (a body, a query); NULL ok. */
static int check_fields(fd_ctx *x, const char *limit, const json_t *obj)
{
	const char *v;
	size_t i;

	if (!json_is_object(obj))
		return 0;
	v = fd__jstr(obj, "environment");
	if (v && strcmp(v, limit) != 0)
		return refuse(x, limit, "the environment asked for", v);
	for (i = 0; i < sizeof(named_fields) / sizeof(named_fields[0]); i++) {
		v = fd__jstr(obj, named_fields[i].field);
		if (check_one(x, limit, named_fields[i].kind,
		              named_fields[i].by, v, named_fields[i].field) < 0)
			return -1;
	}
	return 0;
}

int fd__scope(fd_ctx *x)
{
	const char *limit = fd__scope_env(x), *id;
	size_t i, n;

	if (!limit)
		return 0;
	id = x->req->id;
	for (i = 0; id && i < sizeof(id_kinds) / sizeof(id_kinds[0]); i++) {
		n = strlen(id_kinds[i].prefix);
		if (strncmp(id, id_kinds[i].prefix, n) == 0 &&
		    check_one(x, limit, id_kinds[i].kind, FD_BY_ID, id, id) < 0)
			return -1;
	}
	if (check_fields(x, limit, x->req->body) < 0 ||
	    check_fields(x, limit, x->req->query) < 0)
		return -1;
	return 0;
}
