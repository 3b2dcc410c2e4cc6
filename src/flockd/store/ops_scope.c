/*
 * Store operations (store.h) behind the engine's environment check
 * (engine/scope.c): the environment an object belongs to, read by its id
 * (or a customer by its external id or referral code).
 */
#include <stdio.h>
#include <string.h>

#include "store/db.h"

int fd_store_env_of(fd_conn *c, const char *app_id, fd_object kind,
                    fd_lookup by, const char *key, char env[16])
{
	FD_SQL(campaign, "SELECT environment AS e FROM campaigns"
	                 " WHERE app_id = ?1 AND id = ?2");
	FD_SQL(cus_id, "SELECT environment AS e FROM customers"
	               " WHERE app_id = ?1 AND id = ?2");
	FD_SQL(cus_ext, "SELECT environment AS e FROM customers"
	                " WHERE app_id = ?1 AND external_id = ?2");
	FD_SQL(cus_code, "SELECT environment AS e FROM customers"
	                 " WHERE app_id = ?1 AND referral_code = ?2 AND"
	                 " deleted_at IS NULL");
	FD_SQL(referral, "SELECT environment AS e FROM referrals"
	                 " WHERE app_id = ?1 AND id = ?2");
	FD_SQL(reward, "SELECT environment AS e FROM rewards"
	               " WHERE app_id = ?1 AND id = ?2");
	FD_SQL(apikey, "SELECT environment AS e FROM api_keys"
	               " WHERE app_id = ?1 AND id = ?2");
	FD_SQL(webhook, "SELECT coalesce(environment, '') AS e FROM"
	                " webhook_endpoints WHERE app_id = ?1 AND id = ?2");
	FD_SQL(creward, "SELECT k.environment AS e FROM campaign_rewards r"
	                " JOIN campaigns k ON k.id = r.campaign_id"
	                " WHERE r.app_id = ?1 AND r.id = ?2");
	FD_SQL(checkpoint, "SELECT k.environment AS e FROM checkpoints h"
	                   " JOIN campaigns k ON k.id = h.campaign_id"
	                   " WHERE h.app_id = ?1 AND h.id = ?2");
	fd_sql *sql;
	json_t *row = NULL;
	int rc;

	env[0] = '\0';
	switch (kind) {
	case FD_OBJ_CAMPAIGN:
		sql = &campaign;
		break;
	case FD_OBJ_CUSTOMER:
		sql = by == FD_BY_ID         ? &cus_id
		      : by == FD_BY_EXTERNAL ? &cus_ext
		                             : &cus_code;
		break;
	case FD_OBJ_REFERRAL:
		sql = &referral;
		break;
	case FD_OBJ_REWARD:
		sql = &reward;
		break;
	case FD_OBJ_KEY:
		sql = &apikey;
		break;
	case FD_OBJ_WEBHOOK:
		sql = &webhook;
		break;
	case FD_OBJ_CAMPAIGN_REWARD:
		sql = &creward;
		break;
	case FD_OBJ_CHECKPOINT:
		sql = &checkpoint;
		break;
	default:
		return FD_ERR;
	}
	if (!key || !app_id)
		return FD_NOTFOUND;
	rc = fd_db__one(c, &row, sql, "ss", app_id, key);
	if (rc == FD_OK) {
		const char *e = json_string_value(json_object_get(row, "e"));
		snprintf(env, 16, "%s", e ? e : "");
	}
	json_decref(row);
	return rc;
}

int fd_store_customer_set_env(fd_conn *c, const char *app_id, const char *id,
                              const char *env)
{
	FD_SQL(sql, "UPDATE customers SET environment = ?3"
	            " WHERE app_id = ?1 AND id = ?2");

	return fd_db__change(c, &sql, "sss", app_id, id, env);
}

/* ---- operator-wide admin tokens (no application) --------------------- */

int fd_store_operator_key_revoke(fd_conn *c, const char *org_id, const char *id,
                                 int64_t now, json_t **out)
{
	FD_SQL(revoke, "UPDATE api_keys SET revoked_at = coalesce(revoked_at,"
	               " ?3), updated_at = ?3 WHERE org_id = ?1 AND id = ?2"
	               " AND app_id IS NULL");
	FD_SQL(get, "SELECT y.id AS id, y.org_id AS \"organizationId\","
	            " y.app_id AS \"applicationId\", 'admin' AS kind,"
	            " NULLIF(y.environment, '') AS environment, y.prefix AS"
	            " prefix, y.revoked_at AS \"@revokedAt\", y.created_at AS"
	            " \"@createdAt\", y.updated_at AS \"@updatedAt\", NULL AS"
	            " \"deletedAt\" FROM api_keys y WHERE y.org_id = ?1 AND"
	            " y.id = ?2 AND y.app_id IS NULL");
	int rc = fd_db__change(c, &revoke, "ssi", org_id, id, now);

	*out = NULL;
	if (rc != FD_OK)
		return rc;
	return fd_db__one(c, out, &get, "ss", org_id, id);
}
