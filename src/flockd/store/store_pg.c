/*
 * flockd storage on PostgreSQL (libpq): schema, migrations, per-connection
 * prepared statements and the row-to-JSON mapping, with the same meaning
 * as store_sqlite.c (read it first: the column aliases follow the same
 * conventions, quoted here because PostgreSQL folds unquoted names).
 *
 * Several flockd nodes may share one database, so two writers' batches run
 * concurrently. The rules that keep exactly-once across nodes
 * (docs/postgresql.md):
 *  - the writer runs at READ COMMITTED: every statement sees what other
 *    nodes committed before it started;
 *  - unique constraints decide: INSERTs use ON CONFLICT DO NOTHING, which
 *    waits for a concurrent insert of the same key to end and then reports
 *    the conflict without aborting the transaction (FD_CONFLICT);
 *  - an INSERT refused by a row the engine had looked for and not found
 *    (a customer's external id, a referral, an idempotency key) means
 *    another node won a race: FD_RETRY, and the engine runs the job again
 *    (it then finds the row);
 *  - reward limits, the velocity rule and idempotency keys take a
 *    transaction-scoped advisory lock before they read, so the count or
 *    lookup that follows sees the other node's committed row;
 *  - deadlocks, serialization failures, lock timeouts and lost connections
 *    return FD_RETRY; rollback_to then says FD_RETRY so the job runs again.
 * Readers run REPEATABLE READ READ ONLY (one snapshot per request).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/ids.h"
#include "base/log.h"
#include "store/store_impl.h"

typedef struct pg_conn pg_conn;
typedef struct pg_store pg_store;

static const fd_store_ops pg_ops;
static void pg_close(fd_store *base_);

/* ---- schema ---------------------------------------------------------- */

/* Each entry moves the schema from version i to i+1 (flockd_schema).
 * Never edit a released entry; append a new one. The tables and columns
 * are those of store_sqlite.c, so migrate-store copies column for
 * column. */
static const char *const migrations[] = {
        "CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " created_at BIGINT NOT NULL);"
        "CREATE TABLE apps(id TEXT PRIMARY KEY,"
        " org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT);"
        "CREATE TABLE api_keys(id TEXT PRIMARY KEY,"
        " app_id TEXT REFERENCES apps(id), org_id TEXT NOT NULL,"
        " kind INTEGER NOT NULL, environment TEXT NOT NULL DEFAULT '',"
        " hash BYTEA NOT NULL UNIQUE, prefix TEXT NOT NULL,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " revoked_at BIGINT);"
        "CREATE INDEX api_keys_app ON api_keys(app_id);"
        "CREATE TABLE customers(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL REFERENCES apps(id),"
        " external_id TEXT NOT NULL, email TEXT, name TEXT,"
        " referral_code TEXT NOT NULL, referred_by_id TEXT,"
        " referred_by_referral_id TEXT, referred_in_campaign_id TEXT,"
        " visited BIGINT NOT NULL DEFAULT 0,"
        " converted BIGINT NOT NULL DEFAULT 0,"
        " custom_properties TEXT NOT NULL DEFAULT '{}',"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT,"
        " UNIQUE(app_id, external_id), UNIQUE(app_id, referral_code));"
        "CREATE TABLE campaigns(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL REFERENCES apps(id),"
        " environment TEXT NOT NULL, name TEXT NOT NULL,"
        " is_live INTEGER NOT NULL DEFAULT 0,"
        " reward_hold_days INTEGER NOT NULL DEFAULT 0,"
        " starts_at BIGINT, ends_at BIGINT, last_ping_at BIGINT,"
        " last_ping_origin TEXT, extra TEXT NOT NULL DEFAULT '{}',"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT);"
        "CREATE INDEX campaigns_app ON campaigns(app_id, environment);"
        "CREATE UNIQUE INDEX campaigns_one_live ON campaigns(app_id,"
        " environment) WHERE is_live = 1;"
        "CREATE TABLE campaign_rewards(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
        " REFERENCES campaigns(id), party TEXT NOT NULL,"
        " lim BIGINT, limit_unit TEXT, limit_interval TEXT,"
        " terms TEXT NOT NULL DEFAULT '{}',"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT);"
        "CREATE INDEX campaign_rewards_campaign ON"
        " campaign_rewards(campaign_id);"
        "CREATE TABLE checkpoints(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
        " REFERENCES campaigns(id), name TEXT NOT NULL,"
        " trigger_kind TEXT NOT NULL, placement_id TEXT,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT, UNIQUE(campaign_id, name));"
        "CREATE INDEX checkpoints_app ON checkpoints(app_id);"
        "CREATE TABLE referrals(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
        " campaign_id TEXT NOT NULL REFERENCES campaigns(id),"
        " referrer_id TEXT NOT NULL REFERENCES customers(id),"
        " referee_id TEXT NOT NULL REFERENCES customers(id),"
        " status TEXT NOT NULL, suspected_frauds TEXT,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT, UNIQUE(campaign_id, referee_id));"
        "CREATE INDEX referrals_referrer ON referrals(app_id, referrer_id,"
        " created_at);"
        "CREATE INDEX referrals_app ON referrals(app_id, created_at);"
        "CREATE TABLE rewards(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
        " campaign_id TEXT NOT NULL, campaign_reward_id TEXT NOT NULL,"
        " referral_id TEXT NOT NULL REFERENCES referrals(id),"
        " customer_id TEXT NOT NULL, party TEXT NOT NULL,"
        " terms TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL,"
        " available_at BIGINT NOT NULL,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT,"
        " UNIQUE(referral_id, campaign_reward_id));"
        "CREATE INDEX rewards_limit ON rewards(app_id, campaign_reward_id,"
        " customer_id, created_at, status);"
        "CREATE INDEX rewards_app ON rewards(app_id, created_at);"
        "CREATE INDEX rewards_due ON rewards(available_at)"
        " WHERE status = 'pending';"
        "CREATE TABLE checkpoint_events(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
        " customer_id TEXT NOT NULL, name TEXT NOT NULL, properties TEXT,"
        " created_at BIGINT NOT NULL);"
        "CREATE INDEX checkpoint_events_customer ON"
        " checkpoint_events(customer_id, name, environment);"
        "CREATE TABLE outbox(seq BIGSERIAL PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE, app_id TEXT NOT NULL,"
        " environment TEXT NOT NULL, name TEXT NOT NULL,"
        " timestamp BIGINT NOT NULL, body TEXT NOT NULL);"
        "CREATE INDEX outbox_app ON outbox(app_id, seq);"
        "CREATE TABLE webhook_endpoints(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT,"
        " environment TEXT, secret TEXT NOT NULL,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " deleted_at BIGINT);"
        "CREATE INDEX webhook_endpoints_app ON webhook_endpoints(app_id);"
        "CREATE TABLE idempotency(app_id TEXT NOT NULL, key TEXT NOT NULL,"
        " body_hash BYTEA NOT NULL, status INTEGER NOT NULL,"
        " response TEXT NOT NULL, created_at BIGINT NOT NULL,"
        " PRIMARY KEY(app_id, key));"
        "CREATE INDEX idempotency_age ON idempotency(created_at);",
        /* 2: webhook deliveries (store.h "deliveries"), as on SQLite. */
        "ALTER TABLE outbox ADD COLUMN fanned_at BIGINT;"
        "CREATE INDEX outbox_unfanned ON outbox(seq) WHERE fanned_at IS"
        " NULL;"
        "ALTER TABLE webhook_endpoints ADD COLUMN enabled INTEGER NOT NULL"
        " DEFAULT 1;"
        "ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;"
        "ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT;"
        "ALTER TABLE webhook_endpoints ADD COLUMN previous_until BIGINT;"
        "CREATE TABLE deliveries(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,"
        " event_seq BIGINT NOT NULL, event_id TEXT NOT NULL,"
        " event_name TEXT NOT NULL, environment TEXT NOT NULL,"
        " event_ts BIGINT NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT,"
        " lease_owner TEXT, lease_until BIGINT, last_status INTEGER,"
        " last_error TEXT, delivered_at BIGINT,"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
        " UNIQUE(event_id, endpoint_id));"
        "CREATE INDEX deliveries_state ON deliveries(state,"
        " next_attempt_at);"
        "CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id,"
        " created_at);"
        "CREATE TABLE delivery_attempts(id BIGSERIAL PRIMARY KEY,"
        " delivery_id TEXT NOT NULL, app_id TEXT NOT NULL,"
        " endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL,"
        " attempt INTEGER NOT NULL, at BIGINT NOT NULL, status INTEGER,"
        " latency_ms BIGINT, excerpt TEXT, error TEXT);"
        "CREATE INDEX delivery_attempts_endpoint ON"
        " delivery_attempts(endpoint_id, id);"
        "CREATE INDEX delivery_attempts_delivery ON"
        " delivery_attempts(delivery_id, id);",
        /* 3: a version every node reads per batch to know that its cache
         * of live campaigns is stale (store.h fd_store_campaigns_version).
         * Triggers bump it on any change that is not a ping. */
        "CREATE TABLE flockd_meta(k TEXT PRIMARY KEY, v BIGINT NOT NULL);"
        "INSERT INTO flockd_meta VALUES('campaigns', 0);"
        "CREATE FUNCTION flockd_bump_campaigns() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN UPDATE flockd_meta SET v = v + 1"
        " WHERE k = 'campaigns'; RETURN NULL; END $$;"
        "CREATE TRIGGER campaigns_ins AFTER INSERT OR DELETE ON campaigns"
        " FOR EACH STATEMENT EXECUTE FUNCTION flockd_bump_campaigns();"
        "CREATE TRIGGER campaigns_upd AFTER UPDATE OF name, is_live,"
        " reward_hold_days, starts_at, ends_at, extra, deleted_at ON"
        " campaigns FOR EACH STATEMENT EXECUTE FUNCTION"
        " flockd_bump_campaigns();"
        "CREATE TRIGGER campaign_rewards_chg AFTER INSERT OR UPDATE OR"
        " DELETE ON campaign_rewards FOR EACH STATEMENT EXECUTE FUNCTION"
        " flockd_bump_campaigns();"
        "CREATE TRIGGER checkpoints_chg AFTER INSERT OR UPDATE OR DELETE"
        " ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION"
        " flockd_bump_campaigns();",
        /* 4: request rate limit windows (store.h fd_store_rate_hit),
         * shared by every node. PostgreSQL only: SQLite counts in
         * memory. */
        "CREATE TABLE rate_windows(key_id TEXT NOT NULL,"
        " window_start BIGINT NOT NULL, count BIGINT NOT NULL,"
        " PRIMARY KEY(key_id, window_start));",
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* Advisory lock key that serialises migrations of nodes starting at
 * once ("flockmig"). */
#define MIGRATION_LOCK "7380134885017315687"

/* ---- statements ------------------------------------------------------ */

#define ORG_OF(t) "(SELECT org_id FROM apps WHERE id = " t ".app_id)"
#define STAMPS(t)                                                              \
	t ".created_at AS \"@createdAt\", " t                                  \
	  ".updated_at AS \"@updatedAt\", " t ".deleted_at AS \"@deletedAt\""

#define CUSTOMER_COLS                                                          \
	"SELECT c.id AS id, " ORG_OF(                                          \
	        "c") " AS \"organizationId\","                                 \
	             " c.app_id AS \"applicationId\", c.external_id AS "       \
	             "\"externalUserId\","                                     \
	             " c.email AS email, c.name AS name,"                      \
	             " c.referral_code AS \"referralCode\","                   \
	             " (SELECT json_build_object('id', r.id, "                 \
	             "'externalUserId',"                                       \
	             " r.external_id, 'email', r.email, 'name', "              \
	             "r.name)::text FROM"                                      \
	             " customers r WHERE r.id = c.referred_by_id) AS "         \
	             "\"{referredBy\","                                        \
	             " c.referred_by_id AS \"referredById\","                  \
	             " c.referred_by_referral_id AS \"referredByReferralId\"," \
	             " c.referred_in_campaign_id AS \"referredInCampaignId\"," \
	             " c.visited AS \"visitedReferralsCount\","                \
	             " c.converted AS \"convertedReferralsCount\","            \
	             " c.custom_properties AS \"{customProperties\", " STAMPS( \
	                     "c") " FROM customers c "

#define CAMPAIGN_COLS                                                          \
	"SELECT k.id AS id, " ORG_OF(                                          \
	        "k") " AS \"organizationId\","                                 \
	             " k.app_id AS \"applicationId\", k.name AS name,"         \
	             " k.environment AS environment, k.is_live AS "            \
	             "\"?isLive\","                                            \
	             " k.extra AS \"*\", k.last_ping_at AS \"@lastPingAt\","   \
	             " k.last_ping_origin AS \"lastPingOrigin\","              \
	             " k.starts_at AS \"@startsAt\", k.ends_at AS "            \
	             "\"@endsAt\","                                            \
	             " k.reward_hold_days AS \"rewardHoldDays\", " STAMPS(     \
	                     "k") " FROM campaigns k "

#define CREWARD_COLS                                                           \
	"SELECT w.id AS id, " ORG_OF(                                          \
	        "w") " AS \"organizationId\","                                 \
	             " w.app_id AS \"applicationId\", w.campaign_id AS "       \
	             "\"campaignId\","                                         \
	             " w.terms AS \"*\", w.party AS party, w.lim AS "          \
	             "\"limit\","                                              \
	             " w.limit_unit AS \"limitUnit\","                         \
	             " w.limit_interval AS \"limitInterval\", " STAMPS(        \
	                     "w") " FROM campaign_rewards w "

#define CHECKPOINT_COLS                                                        \
	"SELECT p.id AS id, " ORG_OF(                                          \
	        "p") " AS \"organizationId\","                                 \
	             " p.app_id AS \"applicationId\", p.campaign_id AS "       \
	             "\"campaignId\","                                         \
	             " p.name AS \"checkpointName\", p.trigger_kind AS "       \
	             "\"trigger\","                                            \
	             " p.placement_id AS \"placementId\", " STAMPS(            \
	                     "p") " FROM checkpoints p "

#define REFERRAL_COLS                                                          \
	"SELECT f.id AS id, " ORG_OF(                                          \
	        "f") " AS \"organizationId\","                                 \
	             " f.app_id AS \"applicationId\", f.campaign_id AS "       \
	             "\"campaignId\","                                         \
	             " f.referrer_id AS \"referrerId\", f.referee_id AS "      \
	             "\"refereeId\","                                          \
	             " f.status AS status, f.suspected_frauds AS "             \
	             "\"{suspectedFrauds\","                                   \
	             " f.environment AS environment, " STAMPS(                 \
	                     "f") " FROM referrals f "

/* $1 is "now" in every statement that uses REWARD_COLS. */
#define REWARD_STATUS                                                          \
	"(CASE WHEN d.status = 'pending' AND d.available_at <= $1::bigint"     \
	" THEN 'approved' ELSE d.status END)"
#define REWARD_COLS                                                            \
	"SELECT d.id AS id, " ORG_OF(                                          \
	        "d") " AS \"organizationId\","                                 \
	             " d.app_id AS \"applicationId\", d.campaign_id AS "       \
	             "\"campaignId\","                                         \
	             " d.campaign_reward_id AS \"campaignRewardId\","          \
	             " d.referral_id AS \"referralId\", d.customer_id AS "     \
	             "\"customerId\","                                         \
	             " d.party AS party, d.terms AS \"*\", " REWARD_STATUS     \
	             " AS status,"                                             \
	             " d.available_at AS \"@availableAt\", d.environment AS "  \
	             "environment, " STAMPS("d") " FROM rewards d "

#define KEY_COLS                                                               \
	"SELECT y.id AS id, y.org_id AS \"organizationId\","                   \
	" y.app_id AS \"applicationId\", CASE y.kind WHEN 1 THEN 'service'"    \
	" WHEN 2 THEN 'public' ELSE 'admin' END AS kind,"                      \
	" NULLIF(y.environment, '') AS environment, y.prefix AS prefix,"       \
	" y.revoked_at AS \"@revokedAt\", y.created_at AS \"@createdAt\","     \
	" y.updated_at AS \"@updatedAt\", NULL AS \"deletedAt\""               \
	" FROM api_keys y "

#define APP_COLS                                                               \
	"SELECT a.id AS id, a.org_id AS \"organizationId\", a.id AS"           \
	" \"applicationId\", a.name AS name, " STAMPS("a") " FROM apps a "

#define WEBHOOK_COLS                                                           \
	"SELECT h.id AS id, " ORG_OF(                                          \
	        "h") " AS \"organizationId\","                                 \
	             " h.app_id AS \"applicationId\", h.url AS url,"           \
	             " h.events AS \"{events\", h.environment AS environment," \
	             " h.enabled AS \"?enabled\", h.disabled_reason AS "       \
	             "\"disabledReason\","                                     \
	             " h.previous_until AS "                                   \
	             "\"@previousSecretExpiresAt\", " STAMPS(                  \
	                     "h") " FROM webhook_endpoints h "

enum {
	S_ORG_INSERT,
	S_APP_INSERT,
	S_APP_GET,
	S_APP_LIST,
	S_APP_COUNT,
	S_KEY_INSERT,
	S_KEY_AUTH,
	S_KEY_GET,
	S_KEY_LIST,
	S_KEY_COUNT,
	S_KEY_REVOKE,
	S_CUS_BY_ID,
	S_CUS_BY_EXT,
	S_CUS_BY_CODE,
	S_CUS_INSERT,
	S_CUS_EXT_TAKEN,
	S_CUS_UPDATE,
	S_CUS_REFERRED,
	S_CUS_COUNT,
	S_CUS_ERASE,
	S_CUS_LIST,
	S_CUS_TOTAL,
	S_CMP_INSERT,
	S_CMP_UPDATE,
	S_CMP_GET,
	S_CMP_LIVE,
	S_CMP_LIST,
	S_CMP_UNLIVE_OTHERS,
	S_CMP_SET_LIVE,
	S_CMP_PING,
	S_CMP_VERSION,
	S_CRW_INSERT,
	S_CRW_GET,
	S_CRW_OF,
	S_CHK_INSERT,
	S_CHK_GET,
	S_CHK_FIND,
	S_CHK_LIST,
	S_REF_INSERT,
	S_REF_UPDATE,
	S_REF_GET,
	S_REF_FIND,
	S_REF_BY_REFERRER,
	S_REF_LOCK,
	S_REF_COUNT_SINCE,
	S_REF_LIST,
	S_REF_TOTAL,
	S_RWD_INSERT,
	S_RWD_GET,
	S_RWD_LOCK,
	S_RWD_COUNT_SINCE,
	S_RWD_TRANSITION,
	S_RWD_LIST,
	S_RWD_TOTAL,
	S_RWD_DUE,
	S_EVT_INSERT,
	S_EVT_SEEN,
	S_OUT_INSERT,
	S_OUT_LIST,
	S_OUT_TOTAL,
	S_WH_INSERT,
	S_WH_GET,
	S_WH_DELETE,
	S_WH_LIST,
	S_WH_TOTAL,
	S_WH_WANTS,
	S_IDEM_LOCK,
	S_IDEM_GET,
	S_IDEM_PUT,
	S_IDEM_PURGE,
	S_DLV_UNFANNED,
	S_DLV_TARGETS,
	S_DLV_INSERT,
	S_DLV_FANNED,
	S_DLV_CLAIM,
	S_DLV_COMPLETE,
	S_DLV_LOG,
	S_DLV_GONE,
	S_DLV_RELEASE,
	S_DLV_STATE,
	S_DLV_REPLAY_ONE,
	S_DLV_REPLAY_DEAD,
	S_DLV_LIST,
	S_DLV_TOTAL,
	S_ATT_LIST,
	S_ATT_TOTAL,
	S_DLV_STATS,
	S_DLV_UNFANNED_STATS,
	S_WH_UPDATE,
	S_WH_ROTATE,
	S_COUNT
};

/* Paged statements end with LIMIT $n OFFSET $n+1 (fetch_page binds
 * them). */
static const char *const sql[S_COUNT] = {
        [S_ORG_INSERT] = "INSERT INTO orgs(id, name, created_at)"
                         " VALUES($1, $2, $3) ON CONFLICT DO NOTHING",
        [S_APP_INSERT] = "INSERT INTO apps(id, org_id, name, created_at,"
                         " updated_at) VALUES($1, $2, $3, $4, $4)"
                         " ON CONFLICT DO NOTHING",
        [S_APP_GET] = APP_COLS "WHERE a.id = $1",
        [S_APP_LIST] = APP_COLS "WHERE ($1::text IS NULL OR a.id = $1) AND"
                                " a.org_id = $2 ORDER BY a.id"
                                " LIMIT $3 OFFSET $4",
        [S_APP_COUNT] = "SELECT count(*) FROM apps WHERE"
                        " ($1::text IS NULL OR id = $1) AND org_id = $2",

        [S_KEY_INSERT] = "INSERT INTO api_keys(id, app_id, org_id, kind,"
                         " environment, hash, prefix, created_at,"
                         " updated_at) VALUES($1, $2, $3, $4, $5, $6, $7,"
                         " $8, $8) ON CONFLICT DO NOTHING",
        [S_KEY_AUTH] = "SELECT id, coalesce(app_id, ''), org_id, kind,"
                       " environment FROM api_keys WHERE hash = $1"
                       " AND revoked_at IS NULL",
        [S_KEY_GET] = KEY_COLS "WHERE y.app_id = $1 AND y.id = $2",
        [S_KEY_LIST] = KEY_COLS "WHERE y.app_id = $1 ORDER BY y.id"
                                " LIMIT $2 OFFSET $3",
        [S_KEY_COUNT] = "SELECT count(*) FROM api_keys WHERE app_id = $1",
        [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = $3,"
                         " updated_at = $3 WHERE app_id = $1 AND id = $2",

        [S_CUS_BY_ID] = CUSTOMER_COLS "WHERE c.app_id = $1 AND c.id = $2",
        [S_CUS_BY_EXT] =
                CUSTOMER_COLS "WHERE c.app_id = $1 AND c.external_id = $2",
        [S_CUS_BY_CODE] =
                CUSTOMER_COLS "WHERE c.app_id = $1 AND c.referral_code = $2"
                              " AND c.deleted_at IS NULL",
        [S_CUS_INSERT] = "INSERT INTO customers(id, app_id, external_id,"
                         " email, name, referral_code, custom_properties,"
                         " created_at, updated_at) VALUES($1, $2, $3, $4,"
                         " $5, $6, coalesce($7, '{}'), $8, $8)"
                         " ON CONFLICT DO NOTHING",
        [S_CUS_EXT_TAKEN] = "SELECT 1 FROM customers WHERE app_id = $1 AND"
                            " external_id = $2",
        [S_CUS_UPDATE] = "UPDATE customers SET email = coalesce($3, email),"
                         " name = coalesce($4, name), custom_properties ="
                         " coalesce($5, custom_properties), updated_at = $6"
                         " WHERE app_id = $1 AND id = $2",
        [S_CUS_REFERRED] = "UPDATE customers SET referred_by_id = $3,"
                           " referred_by_referral_id = $4,"
                           " referred_in_campaign_id = $5, updated_at = $6"
                           " WHERE app_id = $1 AND id = $2",
        [S_CUS_COUNT] = "UPDATE customers SET visited = visited + $3,"
                        " converted = converted + $4, updated_at = $5"
                        " WHERE app_id = $1 AND id = $2",
        [S_CUS_ERASE] = "UPDATE customers SET email = NULL, name = NULL,"
                        " custom_properties = '{}', deleted_at = $3,"
                        " updated_at = $3 WHERE app_id = $1 AND id = $2",
        [S_CUS_LIST] = CUSTOMER_COLS "WHERE c.app_id = $1"
                                     " ORDER BY c.id DESC LIMIT $2 OFFSET $3",
        [S_CUS_TOTAL] = "SELECT count(*) FROM customers WHERE app_id = $1",

        [S_CMP_INSERT] = "INSERT INTO campaigns(id, app_id, environment,"
                         " name, reward_hold_days, starts_at, ends_at,"
                         " extra, created_at, updated_at) VALUES($1, $2,"
                         " $3, $4, $5, $6, $7, $8, $9, $9)"
                         " ON CONFLICT DO NOTHING",
        [S_CMP_UPDATE] = "UPDATE campaigns SET name = $3,"
                         " reward_hold_days = $4, starts_at = $5,"
                         " ends_at = $6, extra = $7, updated_at = $8"
                         " WHERE app_id = $2 AND id = $1",
        [S_CMP_GET] = CAMPAIGN_COLS "WHERE k.app_id = $1 AND k.id = $2"
                                    " AND k.deleted_at IS NULL",
        [S_CMP_LIVE] = CAMPAIGN_COLS "WHERE k.app_id = $1 AND"
                                     " k.environment = $2 AND k.is_live = 1",
        [S_CMP_LIST] = CAMPAIGN_COLS "WHERE k.app_id = $1 AND ($2::text IS"
                                     " NULL OR k.environment = $2) AND"
                                     " k.deleted_at IS NULL ORDER BY k.id",
        [S_CMP_UNLIVE_OTHERS] = "UPDATE campaigns SET is_live = 0,"
                                " updated_at = $3 WHERE app_id = $1 AND"
                                " is_live = 1 AND environment = (SELECT"
                                " environment FROM campaigns WHERE id = $2)"
                                " AND id <> $2",
        [S_CMP_SET_LIVE] = "UPDATE campaigns SET is_live = $3,"
                           " updated_at = $4 WHERE app_id = $1 AND id = $2",
        [S_CMP_PING] = "UPDATE campaigns SET last_ping_at = $3,"
                       " last_ping_origin = $4 WHERE app_id = $1 AND"
                       " id = $2 AND deleted_at IS NULL",
        [S_CMP_VERSION] = "SELECT v FROM flockd_meta WHERE k = 'campaigns'",

        [S_CRW_INSERT] = "INSERT INTO campaign_rewards(id, app_id,"
                         " campaign_id, party, lim, limit_unit,"
                         " limit_interval, terms, created_at, updated_at)"
                         " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
                         " ON CONFLICT DO NOTHING",
        [S_CRW_GET] = CREWARD_COLS "WHERE w.app_id = $1 AND w.id = $2",
        [S_CRW_OF] = CREWARD_COLS "WHERE w.campaign_id = $1 AND"
                                  " w.deleted_at IS NULL ORDER BY w.id",

        [S_CHK_INSERT] = "INSERT INTO checkpoints(id, app_id, campaign_id,"
                         " name, trigger_kind, placement_id, created_at,"
                         " updated_at) VALUES($1, $2, $3, $4, $5, $6, $7,"
                         " $7) ON CONFLICT DO NOTHING",
        [S_CHK_GET] = CHECKPOINT_COLS "WHERE p.app_id = $1 AND p.id = $2",
        [S_CHK_FIND] = CHECKPOINT_COLS "WHERE p.app_id = $1 AND"
                                       " p.campaign_id = $2 AND p.name = $3"
                                       " AND p.deleted_at IS NULL",
        [S_CHK_LIST] = CHECKPOINT_COLS "WHERE p.app_id = $1 AND ($2::text"
                                       " IS NULL OR p.campaign_id = $2) AND"
                                       " p.deleted_at IS NULL ORDER BY p.id",

        [S_REF_INSERT] = "INSERT INTO referrals(id, app_id, environment,"
                         " campaign_id, referrer_id, referee_id, status,"
                         " suspected_frauds, created_at, updated_at)"
                         " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
                         " ON CONFLICT DO NOTHING",
        [S_REF_UPDATE] = "UPDATE referrals SET referrer_id ="
                         " coalesce($3, referrer_id), status = $4,"
                         " suspected_frauds = $5, updated_at = $6"
                         " WHERE app_id = $1 AND id = $2",
        [S_REF_GET] = REFERRAL_COLS "WHERE f.app_id = $1 AND f.id = $2",
        [S_REF_FIND] = REFERRAL_COLS "WHERE f.app_id = $1 AND"
                                     " f.campaign_id = $2 AND"
                                     " f.referee_id = $3",
        [S_REF_BY_REFERRER] = REFERRAL_COLS "WHERE f.app_id = $1 AND"
                                            " f.campaign_id = $2 AND"
                                            " f.referrer_id = $3 ORDER BY"
                                            " f.id DESC LIMIT $4",
        /* The velocity rule's count, serialised per referrer across
         * nodes as the reward limits are. */
        [S_REF_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended("
                       "'ref' || $1 || chr(10) || $2, 0))",
        [S_REF_COUNT_SINCE] = "SELECT count(*) FROM (SELECT 1 FROM"
                              " referrals WHERE app_id = $1 AND"
                              " referrer_id = $2 AND created_at >= $3"
                              " LIMIT $4) t",
        [S_REF_LIST] = REFERRAL_COLS "WHERE f.app_id = $1 AND ($2::text IS"
                                     " NULL OR f.campaign_id = $2) AND"
                                     " ($3::text IS NULL OR f.status = $3)"
                                     " AND ($4::text IS NULL OR"
                                     " f.environment = $4) ORDER BY f.id"
                                     " DESC LIMIT $5 OFFSET $6",
        [S_REF_TOTAL] = "SELECT count(*) FROM referrals f WHERE"
                        " f.app_id = $1 AND ($2::text IS NULL OR"
                        " f.campaign_id = $2) AND ($3::text IS NULL OR"
                        " f.status = $3) AND ($4::text IS NULL OR"
                        " f.environment = $4)",

        [S_RWD_INSERT] = "INSERT INTO rewards(id, app_id, environment,"
                         " campaign_id, campaign_reward_id, referral_id,"
                         " customer_id, party, terms, status, available_at,"
                         " created_at, updated_at) VALUES($1, $2, $3, $4,"
                         " $5, $6, $7, $8, $9, $10, $11, $12, $12)"
                         " ON CONFLICT DO NOTHING",
        [S_RWD_GET] = REWARD_COLS "WHERE d.app_id = $2 AND d.id = $3",
        /* Serialises the limit check of one (campaign reward, customer)
         * across nodes until the transaction ends. */
        [S_RWD_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended("
                       "'rwd' || $1 || chr(10) || $2 || chr(10) || $3, 0))",
        [S_RWD_COUNT_SINCE] = "SELECT count(*) FROM (SELECT 1 FROM rewards"
                              " WHERE app_id = $1 AND campaign_reward_id ="
                              " $2 AND customer_id = $3 AND created_at >="
                              " $4 AND status NOT IN ('revoked',"
                              " 'rejected') LIMIT $5) t",
        [S_RWD_TRANSITION] = "UPDATE rewards d SET status = $5,"
                             " updated_at = $1 WHERE app_id = $2 AND"
                             " id = $3 AND position(',' || " REWARD_STATUS
                             " || ',' in ',' || $4 || ',') > 0",
        [S_RWD_LIST] = REWARD_COLS "WHERE d.app_id = $2 AND ($3::text IS"
                                   " NULL OR " REWARD_STATUS " = $3) AND"
                                   " ($4::text IS NULL OR d.environment ="
                                   " $4) AND ($5::text IS NULL OR"
                                   " d.customer_id = $5) ORDER BY d.id DESC"
                                   " LIMIT $6 OFFSET $7",
        [S_RWD_TOTAL] = "SELECT count(*) FROM rewards d WHERE d.app_id = $2"
                        " AND ($3::text IS NULL OR " REWARD_STATUS " = $3)"
                        " AND ($4::text IS NULL OR d.environment = $4) AND"
                        " ($5::text IS NULL OR d.customer_id = $5)",
        /* Each node promotes the rows no other node is promoting: a row
         * is approved (and reward.approved emitted) once. */
        [S_RWD_DUE] = REWARD_COLS "WHERE d.status = 'pending' AND"
                                  " d.available_at <= $1 ORDER BY"
                                  " d.available_at LIMIT $2"
                                  " FOR UPDATE OF d SKIP LOCKED",

        [S_EVT_INSERT] = "INSERT INTO checkpoint_events(id, app_id,"
                         " environment, customer_id, name, properties,"
                         " created_at) VALUES($1, $2, $3, $4, $5, $6, $7)"
                         " ON CONFLICT DO NOTHING",
        [S_EVT_SEEN] = "SELECT 1 FROM checkpoint_events WHERE"
                       " customer_id = $3 AND name = $4 AND environment = $2"
                       " AND app_id = $1 LIMIT 1",

        [S_OUT_INSERT] = "INSERT INTO outbox(id, app_id, environment, name,"
                         " timestamp, body) VALUES($1, $2, $3, $4, $5, $6)"
                         " ON CONFLICT DO NOTHING",
        [S_OUT_LIST] = "SELECT o.body AS \"*\" FROM outbox o WHERE"
                       " o.app_id = $1 AND ($2::text IS NULL OR"
                       " o.environment = $2) AND ($3::text IS NULL OR"
                       " o.name = $3) ORDER BY o.seq DESC LIMIT $4 OFFSET $5",
        [S_OUT_TOTAL] = "SELECT count(*) FROM outbox o WHERE o.app_id = $1"
                        " AND ($2::text IS NULL OR o.environment = $2) AND"
                        " ($3::text IS NULL OR o.name = $3)",

        [S_WH_INSERT] = "INSERT INTO webhook_endpoints(id, app_id, url,"
                        " events, environment, secret, created_at,"
                        " updated_at) VALUES($1, $2, $3, $4, $5, $6, $7,"
                        " $7) ON CONFLICT DO NOTHING",
        [S_WH_GET] = WEBHOOK_COLS "WHERE h.app_id = $1 AND h.id = $2",
        [S_WH_DELETE] = "UPDATE webhook_endpoints SET deleted_at = $3,"
                        " updated_at = $3 WHERE app_id = $1 AND id = $2"
                        " AND deleted_at IS NULL",
        [S_WH_LIST] = WEBHOOK_COLS "WHERE h.app_id = $1 AND"
                                   " h.deleted_at IS NULL ORDER BY h.id"
                                   " LIMIT $2 OFFSET $3",
        [S_WH_TOTAL] = "SELECT count(*) FROM webhook_endpoints WHERE"
                       " app_id = $1 AND deleted_at IS NULL",
        [S_WH_WANTS] = "SELECT 1 FROM webhook_endpoints WHERE app_id = $1"
                       " AND deleted_at IS NULL AND events IS NOT NULL AND"
                       " jsonb_typeof(events::jsonb) = 'array' AND"
                       " jsonb_exists(events::jsonb, $2) LIMIT 1",

        /* One execution of a key across nodes: the second node's lookup
         * waits here until the first one's batch ends, then finds its
         * stored response. */
        [S_IDEM_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended("
                        "'idem' || $1 || chr(10) || $2, 0))",
        [S_IDEM_GET] = "SELECT body_hash, status, response FROM idempotency"
                       " WHERE app_id = $1 AND key = $2",
        [S_IDEM_PUT] = "INSERT INTO idempotency(app_id, key, body_hash,"
                       " status, response, created_at) VALUES($1, $2, $3,"
                       " $4, $5, $6) ON CONFLICT DO NOTHING",
        [S_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < $1",

        /* Deliveries across nodes: fan-out and claims take only rows no
         * other transaction holds (SKIP LOCKED), so two nodes never fan
         * out one event or hold one delivery at once; completing checks
         * the lease is still ours. */
        [S_DLV_UNFANNED] = "SELECT seq, id, app_id AS app, environment AS"
                           " env, name, timestamp AS ts FROM outbox WHERE"
                           " fanned_at IS NULL ORDER BY seq LIMIT $1"
                           " FOR UPDATE SKIP LOCKED",
        [S_DLV_TARGETS] = "SELECT h.id AS id FROM webhook_endpoints h WHERE"
                          " h.app_id = $1 AND h.deleted_at IS NULL AND"
                          " (h.environment IS NULL OR h.environment = $2)"
                          " AND ((h.events IS NULL AND $3::text <>"
                          " 'checkpoint.ingested') OR EXISTS(SELECT 1 FROM"
                          " jsonb_array_elements_text(CASE WHEN"
                          " jsonb_typeof(h.events::jsonb) = 'array' THEN"
                          " h.events::jsonb ELSE '[]'::jsonb END) j(v)"
                          " WHERE j.v = $3 OR (j.v = '*' AND $3 <>"
                          " 'checkpoint.ingested')))",
        [S_DLV_INSERT] = "INSERT INTO deliveries(id, app_id, endpoint_id,"
                         " event_seq, event_id, event_name, environment,"
                         " event_ts, state, attempts, next_attempt_at,"
                         " created_at, updated_at) VALUES($1, $2, $3, $4,"
                         " $5, $6, $7, $8, 'pending', 0, $9, $9, $9)"
                         " ON CONFLICT DO NOTHING",
        [S_DLV_FANNED] = "UPDATE outbox SET fanned_at = $2 WHERE seq = $1",
        [S_DLV_CLAIM] =
                "WITH c AS (SELECT d.id, d.state = 'inflight' AS expired,"
                " d.next_attempt_at AS due FROM deliveries d JOIN"
                " webhook_endpoints h ON h.id = d.endpoint_id WHERE"
                " ((d.state = 'pending' AND d.next_attempt_at <= $1) OR"
                " (d.state = 'inflight' AND d.lease_until <= $1)) AND"
                " h.enabled = 1 AND h.deleted_at IS NULL ORDER BY"
                " d.state = 'inflight' DESC, d.next_attempt_at LIMIT $2"
                " FOR UPDATE OF d SKIP LOCKED),"
                " u AS (UPDATE deliveries d SET state = 'inflight',"
                " lease_owner = $3, lease_until = $4, updated_at = $1 FROM"
                " c WHERE d.id = c.id RETURNING d.*)"
                " SELECT u.id AS id, u.app_id AS \"applicationId\","
                " u.endpoint_id AS \"endpointId\", u.event_id AS"
                " \"eventId\", u.event_name AS \"eventName\", u.attempts + 1"
                " AS attempt, h.url AS url, h.secret AS secret, CASE WHEN"
                " h.previous_until > $1 THEN h.previous_secret END AS"
                " \"previousSecret\", o.body AS body FROM u JOIN"
                " webhook_endpoints h ON h.id = u.endpoint_id JOIN outbox o"
                " ON o.seq = u.event_seq JOIN c ON c.id = u.id"
                /* Expired leases first: they are the oldest work. */
                " ORDER BY c.expired DESC, c.due",
        [S_DLV_COMPLETE] = "UPDATE deliveries SET state = $3, attempts ="
                           " attempts + 1, next_attempt_at = $4,"
                           " lease_owner = NULL, lease_until = NULL,"
                           " last_status = $5, last_error = $6,"
                           " delivered_at = CASE WHEN $3 = 'delivered'"
                           " THEN $7 ELSE delivered_at END, updated_at = $7"
                           " WHERE id = $1 AND state = 'inflight' AND"
                           " lease_owner = $2",
        [S_DLV_LOG] = "INSERT INTO delivery_attempts(delivery_id, app_id,"
                      " endpoint_id, event_id, attempt, at, status,"
                      " latency_ms, excerpt, error) SELECT id, app_id,"
                      " endpoint_id, event_id, attempts, $2::bigint,"
                      " $3::int, $4::bigint, $5::text, $6::text FROM"
                      " deliveries WHERE id = $1",
        [S_DLV_GONE] = "UPDATE webhook_endpoints SET enabled = 0,"
                       " disabled_reason = 'gone', updated_at = $2 WHERE"
                       " id = (SELECT endpoint_id FROM deliveries WHERE id"
                       " = $1)",
        [S_DLV_RELEASE] = "UPDATE deliveries SET state = 'pending',"
                          " lease_owner = NULL, lease_until = NULL,"
                          " updated_at = $2 WHERE state = 'inflight' AND"
                          " lease_owner = $1",
        [S_DLV_STATE] = "SELECT state FROM deliveries WHERE id = $1 AND"
                        " endpoint_id = $2 AND app_id = $3",
        [S_DLV_REPLAY_ONE] = "UPDATE deliveries SET state = 'pending',"
                             " attempts = 0, next_attempt_at = $4,"
                             " updated_at = $4 WHERE id = $1 AND"
                             " endpoint_id = $2 AND app_id = $3 AND state"
                             " <> 'inflight'",
        [S_DLV_REPLAY_DEAD] = "UPDATE deliveries SET state = 'pending',"
                              " attempts = 0, next_attempt_at = $3,"
                              " updated_at = $3 WHERE state = 'dead' AND"
                              " endpoint_id = $1 AND app_id = $2",
        [S_DLV_LIST] =
                "SELECT d.id AS id, d.endpoint_id AS \"endpointId\","
                " d.event_id AS \"eventId\", d.event_name AS \"eventName\","
                " d.environment AS environment, CASE WHEN d.state ="
                " 'pending' AND d.attempts > 0 THEN 'retrying' ELSE d.state"
                " END AS state, d.attempts AS attempts, CASE WHEN d.state"
                " = 'pending' THEN d.next_attempt_at END AS"
                " \"@nextAttemptAt\", d.last_status AS \"lastStatus\","
                " d.last_error AS \"lastError\", d.created_at AS"
                " \"@createdAt\", d.updated_at AS \"@updatedAt\","
                " d.delivered_at AS \"@deliveredAt\" FROM deliveries d"
                " WHERE d.app_id = $1 AND d.endpoint_id = $2 AND ($3::text"
                " IS NULL OR (CASE WHEN d.state = 'pending' AND d.attempts"
                " > 0 THEN 'retrying' ELSE d.state END) = $3) ORDER BY"
                " d.created_at DESC, d.id DESC LIMIT $4 OFFSET $5",
        [S_DLV_TOTAL] = "SELECT count(*) FROM deliveries d WHERE d.app_id ="
                        " $1 AND d.endpoint_id = $2 AND ($3::text IS NULL OR"
                        " (CASE WHEN d.state = 'pending' AND d.attempts > 0"
                        " THEN 'retrying' ELSE d.state END) = $3)",
        [S_ATT_LIST] = "SELECT a.delivery_id AS \"deliveryId\", a.event_id"
                       " AS \"eventId\", a.attempt AS attempt, a.at AS"
                       " \"@at\", a.status AS status, a.latency_ms AS"
                       " \"latencyMs\", a.excerpt AS \"responseExcerpt\","
                       " a.error AS error FROM delivery_attempts a WHERE"
                       " a.app_id = $1 AND a.endpoint_id = $2 AND ($3::text"
                       " IS NULL OR a.delivery_id = $3) ORDER BY a.id DESC"
                       " LIMIT $4 OFFSET $5",
        [S_ATT_TOTAL] = "SELECT count(*) FROM delivery_attempts a WHERE"
                        " a.app_id = $1 AND a.endpoint_id = $2 AND ($3::text"
                        " IS NULL OR a.delivery_id = $3)",
        [S_DLV_STATS] = "SELECT count(*) FILTER (WHERE state = 'pending' AND"
                        " attempts = 0), count(*) FILTER (WHERE state ="
                        " 'pending' AND attempts > 0), count(*) FILTER"
                        " (WHERE state = 'inflight'), count(*) FILTER (WHERE"
                        " state = 'dead'), coalesce(min(event_ts) FILTER"
                        " (WHERE state <> 'dead'), 0) FROM deliveries WHERE"
                        " state IN ('pending', 'inflight', 'dead') AND"
                        " endpoint_id IN (SELECT id FROM webhook_endpoints"
                        " WHERE enabled = 1 AND deleted_at IS NULL)",
        [S_DLV_UNFANNED_STATS] = "SELECT count(*), coalesce(min(timestamp),"
                                 " 0) FROM outbox WHERE fanned_at IS NULL",
        [S_WH_UPDATE] = "UPDATE webhook_endpoints SET url = coalesce($3,"
                        " url), events = CASE WHEN $4::int <> 0 THEN"
                        " $5::text ELSE events END, enabled = CASE WHEN"
                        " $6::int < 0 THEN enabled ELSE $6::int END,"
                        " disabled_reason = CASE WHEN $6::int < 0 THEN"
                        " disabled_reason WHEN $6::int = 0 THEN 'operator'"
                        " END, updated_at = $7 WHERE app_id = $1 AND id = $2"
                        " AND deleted_at IS NULL",
        [S_WH_ROTATE] = "UPDATE webhook_endpoints SET previous_secret ="
                        " secret, previous_until = $4, secret = $3,"
                        " updated_at = $5 WHERE app_id = $1 AND id = $2 AND"
                        " deleted_at IS NULL",
};

/* ---- connections ----------------------------------------------------- */

struct pg_conn {
	fd_conn base; /* first: the interface's view */
	pg_store *s;
	PGconn *db;
	int writer;
	int in_tx;
	int retry; /* a transient failure since the last savepoint/begin */
	unsigned char prepared[S_COUNT];
	pg_conn *next_free;
};

struct pg_store {
	fd_store base; /* first: the interface's view */
	char *url;
	pg_conn writer;
	pg_conn *readers;
	int nreaders;
	pg_conn *free_readers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int version;
	/* fd_store_rate_hit: its own read-write connection in autocommit,
	 * opened on first use, so the limiter never joins a writer batch
	 * nor waits for a reader. */
	pthread_mutex_t rate_mu;
	pg_conn rate;
	int64_t rate_purged; /* window of the last delete of old windows */
};

/* Session settings: bounded waits, so a stuck peer turns into a
 * retryable error rather than a hung writer. */
static const char session_setup[] =
        "SET statement_timeout = '30s'; SET lock_timeout = '10s';"
        " SET idle_in_transaction_session_timeout = '60s';"
        " SET synchronous_commit = on; SET client_min_messages = warning;"
        " SET client_encoding = 'UTF8'; SET bytea_output = 'hex'";
/* Read connections cannot write, even outside a transaction. */
static const char reader_setup[] = "SET default_transaction_read_only = on";

static int setup_session(pg_conn *c)
{
	PGresult *r = PQexec(c->db, session_setup);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	if (ok && !c->writer) {
		r = PQexec(c->db, reader_setup);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	return ok ? 0 : -1;
}

static int conn_connect(pg_conn *c, char *err, size_t errlen)
{
	const char *const keys[] = {"connect_timeout", "application_name",
	                            "dbname", NULL};
	const char *vals[] = {"10", "flockd", c->s->url, NULL};

	if (c->db)
		PQfinish(c->db);
	memset(c->prepared, 0, sizeof(c->prepared));
	c->in_tx = 0;
	c->db = PQconnectdbParams(keys, vals, 1);
	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		snprintf(err, errlen, "PostgreSQL: %s",
		         c->db ? PQerrorMessage(c->db) : "out of memory");
		/* libpq's messages end with a newline. */
		err[strcspn(err, "\n")] = '\0';
		return -1;
	}
	if (setup_session(c) < 0) {
		snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(c->db));
		err[strcspn(err, "\n")] = '\0';
		return -1;
	}
	return 0;
}

/* Before a transaction: a connection the server dropped is replaced. */
static int conn_ensure(pg_conn *c)
{
	char err[256];

	if (c->db && PQstatus(c->db) == CONNECTION_OK)
		return 0;
	if (c->db)
		PQreset(c->db);
	if (c->db && PQstatus(c->db) == CONNECTION_OK) {
		memset(c->prepared, 0, sizeof(c->prepared));
		c->in_tx = 0;
		if (setup_session(c) == 0) {
			fd_log(FD_LOG_WARN, "postgresql: reconnected");
			return 0;
		}
	}
	if (conn_connect(c, err, sizeof(err)) < 0) {
		fd_log(FD_LOG_ERROR, "%s", err);
		return -1;
	}
	fd_log(FD_LOG_WARN, "postgresql: reconnected");
	return 0;
}

/* Class 40 (transaction rollback: serialization failure, deadlock),
 * lock_not_available and connection failures are worth running again. */
static int transient(const char *state)
{
	return state &&
	       (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0 ||
	        strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0);
}

/* FD_* code of a failed result (NULL: no result at all). */
static int fail_code(pg_conn *c, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg =
	        r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		c->retry = 1;
		fd_log(FD_LOG_WARN, "postgresql: connection lost");
		return FD_RETRY;
	}
	if (state && strncmp(state, "23", 2) == 0)
		return FD_CONFLICT;
	if (transient(state)) {
		c->retry = 1;
		fd_log(FD_LOG_INFO, "postgresql: %s (%s): will retry",
		       msg ? msg : "transient failure", state);
		return FD_RETRY;
	}
	/* Primary messages name objects, never values (those are in
	 * DETAIL, which is not logged). */
	fd_log(FD_LOG_WARN, "postgresql: %s (%s)", msg ? msg : "error",
	       state ? state : "-");
	return FD_ERR;
}

/* ---- statement helpers ----------------------------------------------- */

#define MAXP 16

typedef struct {
	const char *v[MAXP];
	int len[MAXP];
	int fmt[MAXP];
	char num[MAXP][24];
	int n;
} pq_args;

static void arg_text(pq_args *a, const char *s)
{
	a->v[a->n] = s;
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

static void arg_int(pq_args *a, int64_t v)
{
	snprintf(a->num[a->n], sizeof(a->num[0]), "%" PRId64, v);
	arg_text(a, a->num[a->n]);
}

static PGresult *exec_prepared(pg_conn *c, int id, const pq_args *a, int *rc)
{
	PGresult *r;
	char name[16];
	ExecStatusType st;

	if (!c->db) {
		*rc = fail_code(c, NULL);
		return NULL;
	}
	snprintf(name, sizeof(name), "f%d", id);
	if (!c->prepared[id]) {
		r = PQprepare(c->db, name, sql[id], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			*rc = fail_code(c, r);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		c->prepared[id] = 1;
	}
	r = PQexecPrepared(c->db, name, a->n, a->v, a->len, a->fmt, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		*rc = fail_code(c, r);
		PQclear(r);
		return NULL;
	}
	*rc = FD_OK;
	return r;
}

/*
 * Run statement id with parameters from fmt: 's' text (NULL binds NULL),
 * 'i' int64, 'z' int64 where 0 binds NULL, 'b' 32 bytes as bytea (binary
 * format: no escaping), 'l' long. Returns the result (PQclear it) with
 * *rc = FD_OK, or NULL with *rc the failure.
 */
static PGresult *vrun(pg_conn *c, int id, int *rc, const char *fmt, va_list ap)
{
	pq_args a;
	PGresult *r;
	int64_t v;

	memset(&a, 0, sizeof(a));
	for (; *fmt && a.n < MAXP; fmt++) {
		switch (*fmt) {
		case 's':
			arg_text(&a, va_arg(ap, const char *));
			break;
		case 'i':
			arg_int(&a, va_arg(ap, int64_t));
			break;
		case 'l':
			arg_int(&a, (int64_t)va_arg(ap, long));
			break;
		case 'z':
			v = va_arg(ap, int64_t);
			if (v)
				arg_int(&a, v);
			else
				arg_text(&a, NULL);
			break;
		case 'b':
			a.v[a.n] = (const char *)va_arg(ap, const void *);
			a.len[a.n] = 32;
			a.fmt[a.n] = 1;
			a.n++;
			break;
		default:
			break;
		}
	}
	r = exec_prepared(c, id, &a, rc);
	/* Outside a transaction (a reader's key lookup) a connection the
	 * server dropped while idle is replaced and the statement sent
	 * again: nothing of it ran. */
	if (!r && !c->in_tx && c->db && PQstatus(c->db) == CONNECTION_BAD &&
	    conn_ensure(c) == 0) {
		c->retry = 0;
		r = exec_prepared(c, id, &a, rc);
	}
	return r;
}

static PGresult *run(pg_conn *c, int id, int *rc, const char *fmt, ...)
{
	va_list ap;
	PGresult *r;

	va_start(ap, fmt);
	r = vrun(c, id, rc, fmt, ap);
	va_end(ap);
	return r;
}

static long changes(PGresult *r)
{
	const char *n = PQcmdTuples(r);
	return n && *n ? strtol(n, NULL, 10) : 0;
}

/* A statement that returns no rows: FD_OK, or the failure. With
 * `none` set, no changed row gives `none` (FD_NOTFOUND for UPDATEs,
 * FD_CONFLICT for INSERT ... ON CONFLICT DO NOTHING). */
static int vexec(pg_conn *c, int id, int none, const char *fmt, va_list ap)
{
	int rc;
	PGresult *r = vrun(c, id, &rc, fmt, ap);

	if (!r)
		return rc;
	if (none && changes(r) == 0)
		rc = none;
	PQclear(r);
	return rc;
}

static int exec_st(pg_conn *c, int id, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vexec(c, id, 0, fmt, ap);
	va_end(ap);
	return rc;
}

static int insert_st(pg_conn *c, int id, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vexec(c, id, FD_CONFLICT, fmt, ap);
	va_end(ap);
	return rc;
}

static int change_st(pg_conn *c, int id, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vexec(c, id, FD_NOTFOUND, fmt, ap);
	va_end(ap);
	return rc;
}

static json_t *cell(PGresult *r, int row, int i, const char **name)
{
	const char *t = PQgetvalue(r, row, i);
	char iso[FLOCK__ISO8601_LEN];
	Oid type = PQftype(r, i);

	*name = PQfname(r, i);
	if ((*name)[0] == '*' || (*name)[0] == '{')
		return PQgetisnull(r, row, i)
		               ? json_null()
		               : json_loads(t, JSON_DECODE_ANY, NULL);
	if (PQgetisnull(r, row, i))
		return json_null();
	if ((*name)[0] == '@') {
		flock__iso8601(iso, strtoll(t, NULL, 10));
		return json_string(iso);
	}
	if ((*name)[0] == '?')
		return json_boolean(strtoll(t, NULL, 10) != 0);
	switch (type) {
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
		return json_integer(strtoll(t, NULL, 10));
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 1700: /* numeric */
		return json_real(strtod(t, NULL));
	case 16: /* bool */
		return json_boolean(t[0] == 't');
	default:
		return json_string(t);
	}
}

static json_t *row_object(PGresult *r, int row)
{
	json_t *obj = json_object(), *v;
	const char *name;
	int i, n = PQnfields(r), rc;

	for (i = 0; obj && i < n; i++) {
		if (!(v = cell(r, row, i, &name)))
			goto fail;
		if (name[0] == '*') {
			rc = json_is_object(v) ? json_object_update(obj, v) : 0;
			json_decref(v);
		} else {
			if (name[0] == '@' || name[0] == '?' || name[0] == '{')
				name++;
			rc = json_object_set_new(obj, name, v);
		}
		if (rc)
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static int fetch_one_r(PGresult *r, int rc, json_t **out)
{
	*out = NULL;
	if (!r)
		return rc;
	if (PQntuples(r) == 0)
		rc = FD_NOTFOUND;
	else if (!(*out = row_object(r, 0)))
		rc = FD_ERR;
	PQclear(r);
	return rc;
}

static int fetch_all_r(PGresult *r, int rc, json_t **out)
{
	json_t *arr, *o;
	int i, n;

	*out = NULL;
	if (!r)
		return rc;
	arr = json_array();
	n = PQntuples(r);
	for (i = 0; arr && i < n; i++) {
		if (!(o = row_object(r, i)) || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(r);
	*out = arr;
	return arr ? FD_OK : FD_ERR;
}

static int fetch_count_r(PGresult *r, int rc, long *out)
{
	*out = 0;
	if (!r)
		return rc;
	if (PQntuples(r) == 0)
		rc = FD_NOTFOUND;
	else
		*out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return rc;
}

#define FETCH_ONE(c, out, id, ...)                                             \
	do {                                                                   \
		int rc_;                                                       \
		PGresult *r_ = run(c, id, &rc_, __VA_ARGS__);                  \
		return fetch_one_r(r_, rc_, out);                              \
	} while (0)
#define FETCH_ALL(c, out, id, ...)                                             \
	do {                                                                   \
		int rc_;                                                       \
		PGresult *r_ = run(c, id, &rc_, __VA_ARGS__);                  \
		return fetch_all_r(r_, rc_, out);                              \
	} while (0)

static int fetch_count(pg_conn *c, long *out, int id, const char *fmt, ...)
{
	va_list ap;
	PGresult *r;
	int rc;

	va_start(ap, fmt);
	r = vrun(c, id, &rc, fmt, ap);
	va_end(ap);
	return fetch_count_r(r, rc, out);
}

/* {"total","limit","offset","data"} from a count and a page result. */
static int page_of(PGresult *count, int crc, PGresult *page, int prc,
                   long limit, long offset, json_t **out)
{
	json_t *data = NULL;
	long total = 0;
	int rc;

	*out = NULL;
	rc = fetch_count_r(count, crc, &total);
	if (rc != FD_OK) {
		PQclear(page);
		return rc == FD_NOTFOUND ? FD_ERR : rc;
	}
	if ((rc = fetch_all_r(page, prc, &data)) != FD_OK)
		return rc;
	*out = json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total,
	                 "limit", (json_int_t)limit, "offset",
	                 (json_int_t)offset, "data", data);
	return *out ? FD_OK : FD_ERR;
}

/* ---- open, migrate, close ------------------------------------------- */

static int simple(pg_conn *c, const char *q)
{
	PGresult *r = PQexec(c->db, q);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ||
	                         PQresultStatus(r) == PGRES_TUPLES_OK
	                 ? FD_OK
	                 : fail_code(c, r);

	PQclear(r);
	return rc;
}

static int migrate(pg_store *s, char *err, size_t errlen)
{
	pg_conn *c = &s->writer;
	PGresult *r = NULL;
	char q[128];
	int v = 0, ok = 0;
	size_t i;

	/* Nodes starting together: one migrates, the others wait here and
	 * then find the schema current. */
	if (simple(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")") != FD_OK)
		goto fail;
	if (simple(c, "CREATE TABLE IF NOT EXISTS flockd_schema("
	              "version INTEGER NOT NULL)") != FD_OK)
		goto unlock;
	r = PQexec(c->db, "SELECT max(version) FROM flockd_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		goto unlock;
	v = PQgetisnull(r, 0, 0) ? 0
	                         : (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	r = NULL;
	if (v > (int)NMIGRATIONS) {
		snprintf(err, errlen,
		         "schema version %d is newer than this flockd (%d)", v,
		         (int)NMIGRATIONS);
		simple(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")");
		return -1;
	}
	for (i = (size_t)v; i < NMIGRATIONS; i++) {
		snprintf(q, sizeof(q),
		         "DELETE FROM flockd_schema; INSERT INTO "
		         "flockd_schema VALUES(%zu)",
		         i + 1);
		if (simple(c, "BEGIN") != FD_OK)
			goto unlock;
		if (simple(c, migrations[i]) != FD_OK ||
		    simple(c, q) != FD_OK || simple(c, "COMMIT") != FD_OK) {
			snprintf(err, errlen, "migration %zu: %s", i + 1,
			         PQerrorMessage(c->db));
			err[strcspn(err, "\n")] = '\0';
			simple(c, "ROLLBACK");
			simple(c,
			       "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")");
			return -1;
		}
	}
	s->version = (int)NMIGRATIONS;
	ok = 1;
unlock:
	PQclear(r);
	if (simple(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")") != FD_OK)
		ok = 0;
	if (ok)
		return 0;
fail:
	snprintf(err, errlen, "migration: %s", PQerrorMessage(c->db));
	err[strcspn(err, "\n")] = '\0';
	return -1;
}

int fd_pg_open(fd_store **out, const char *url, int readers, char *err,
               size_t errlen)
{
	pg_store *s;
	int i;

	*out = NULL;
	if (readers < 1)
		readers = 1;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->readers = calloc((size_t)readers, sizeof(pg_conn))) ||
	    !(s->url = strdup(url))) {
		snprintf(err, errlen, "out of memory");
		if (s)
			free(s->readers);
		free(s);
		return -1;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->rate_mu, NULL);
	s->rate.base.ops = &pg_ops;
	s->rate.s = s;
	s->rate.writer = 1; /* not read-only */
	s->base.ops = &pg_ops;
	s->writer.base.ops = &pg_ops;
	s->writer.s = s;
	s->writer.writer = 1;
	if (conn_connect(&s->writer, err, errlen) < 0 ||
	    migrate(s, err, errlen) < 0)
		goto fail;
	for (i = 0; i < readers; i++) {
		pg_conn *c = &s->readers[i];

		c->base.ops = &pg_ops;
		c->s = s;
		s->nreaders = i + 1;
		if (conn_connect(c, err, errlen) < 0)
			goto fail;
		c->next_free = s->free_readers;
		s->free_readers = c;
	}
	*out = &s->base;
	return 0;
fail:
	pg_close(&s->base);
	return -1;
}

static void pg_close(fd_store *base_)
{
	pg_store *s = (pg_store *)base_;
	int i;

	if (!s)
		return;
	for (i = 0; i < s->nreaders; i++)
		if (s->readers[i].db)
			PQfinish(s->readers[i].db);
	if (s->writer.db)
		PQfinish(s->writer.db);
	if (s->rate.db)
		PQfinish(s->rate.db);
	pthread_mutex_destroy(&s->rate_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->readers);
	free(s->url);
	free(s);
}

/* COMMIT with synchronous_commit on has already waited for the WAL
 * flush: nothing is left to sync. */
static int pg_sync(fd_store *base_)
{
	(void)base_;
	return FD_OK;
}

static int pg_schema_version(fd_store *base_)
{
	return ((pg_store *)base_)->version;
}

static fd_conn *pg_writer(fd_store *base_)
{
	return &((pg_store *)base_)->writer.base;
}

static fd_conn *pg_reader(fd_store *base_)
{
	pg_store *s = (pg_store *)base_;
	pg_conn *c;

	pthread_mutex_lock(&s->mu);
	while (!s->free_readers)
		pthread_cond_wait(&s->cv, &s->mu);
	c = s->free_readers;
	s->free_readers = c->next_free;
	pthread_mutex_unlock(&s->mu);
	/* A reader used outside a transaction (key lookups) still gets a
	 * live connection. */
	conn_ensure(c);
	return &c->base;
}

static void pg_reader_done(fd_store *base_, fd_conn *cbase)
{
	pg_store *s = (pg_store *)base_;
	pg_conn *c = (pg_conn *)cbase;

	pthread_mutex_lock(&s->mu);
	c->next_free = s->free_readers;
	s->free_readers = c;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- transactions ---------------------------------------------------- */

static int pg_begin(fd_conn *base_, int write)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;

	if (conn_ensure(c) < 0)
		return FD_ERR;
	c->retry = 0;
	/* Readers: one snapshot for the whole request, never a
	 * serialization failure (read only). Writer: READ COMMITTED, see
	 * the top of this file. */
	rc = simple(c, write ? "BEGIN ISOLATION LEVEL READ COMMITTED"
	                     : "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
	                       "ONLY");
	/* Dropped while idle (server restart, idle timeout, a proxy): this
	 * is where it shows; nothing was open, so reconnect and begin. */
	if (rc != FD_OK && PQstatus(c->db) == CONNECTION_BAD &&
	    conn_ensure(c) == 0) {
		c->retry = 0;
		rc = simple(c, write ? "BEGIN ISOLATION LEVEL READ COMMITTED"
		                     : "BEGIN ISOLATION LEVEL REPEATABLE READ "
		                       "READ ONLY");
	}
	c->in_tx = rc == FD_OK;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

static int pg_commit(fd_conn *base_)
{
	pg_conn *c = (pg_conn *)base_;
	int rc = simple(c, "COMMIT");

	c->in_tx = 0;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

static int pg_rollback(fd_conn *base_)
{
	pg_conn *c = (pg_conn *)base_;
	int rc = c->db && PQstatus(c->db) == CONNECTION_OK
	                 ? simple(c, "ROLLBACK")
	                 : FD_ERR;

	c->in_tx = 0;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

static int pg_savepoint(fd_conn *base_)
{
	pg_conn *c = (pg_conn *)base_;

	c->retry = 0;
	return simple(c, "SAVEPOINT job") == FD_OK ? FD_OK : FD_ERR;
}

static int pg_release(fd_conn *base_)
{
	pg_conn *c = (pg_conn *)base_;
	int rc = simple(c, "RELEASE job");

	if (rc == FD_OK && c->retry)
		return FD_RETRY;
	return rc == FD_OK ? FD_OK : FD_ERR;
}

/* FD_RETRY: the job met a transient failure and is rolled back alone;
 * run it again. FD_ERR: the transaction is lost. */
static int pg_rollback_to(fd_conn *base_)
{
	pg_conn *c = (pg_conn *)base_;
	int retry = c->retry;

	if (simple(c, "ROLLBACK TO job") != FD_OK ||
	    simple(c, "RELEASE job") != FD_OK)
		return FD_ERR;
	c->retry = 0;
	return retry ? FD_RETRY : FD_OK;
}

static int pg_ping(fd_conn *base_)
{
	pg_conn *c = (pg_conn *)base_;

	if (conn_ensure(c) < 0)
		return FD_ERR;
	return simple(c, "SELECT 1") == FD_OK ? FD_OK : FD_ERR;
}

/* ---- organizations, applications, keys ------------------------------- */

static int pg_org_insert(fd_conn *base_, const char *id, const char *name,
                         int64_t now)
{
	return insert_st((pg_conn *)base_, S_ORG_INSERT, "ssi", id, name, now);
}

static int pg_app_insert(fd_conn *base_, const char *id, const char *org_id,
                         const char *name, int64_t now)
{
	return insert_st((pg_conn *)base_, S_APP_INSERT, "sssi", id, org_id,
	                 name, now);
}

static int pg_app_get(fd_conn *base_, const char *id, json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_APP_GET, "s", id);
}

static int pg_app_list(fd_conn *base_, const char *org_id, const char *only_app,
                       long limit, long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_APP_COUNT, &crc, "ss", only_app, org_id);
	PGresult *p = run(c, S_APP_LIST, &prc, "ssll", only_app, org_id, limit,
	                  offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static int pg_key_insert(fd_conn *base_, const fd_store_key *k, int64_t now)
{
	return insert_st((pg_conn *)base_, S_KEY_INSERT, "sssisbsi", k->id,
	                 k->app_id, k->org_id, (int64_t)k->kind,
	                 k->environment ? k->environment : "", k->hash,
	                 k->prefix, now);
}

static void copy_val(char *dst, size_t len, PGresult *r, int i)
{
	snprintf(dst, len, "%s", PQgetvalue(r, 0, i));
}

static int pg_key_auth(fd_conn *base_, const uint8_t hash[32],
                       fd_principal *out)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;
	PGresult *r = run(c, S_KEY_AUTH, &rc, "b", hash);

	if (!r)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return FD_NOTFOUND;
	}
	copy_val(out->key_id, sizeof(out->key_id), r, 0);
	copy_val(out->app_id, sizeof(out->app_id), r, 1);
	copy_val(out->org_id, sizeof(out->org_id), r, 2);
	out->kind = (fd_key_kind)(int)strtol(PQgetvalue(r, 0, 3), NULL, 10);
	copy_val(out->environment, sizeof(out->environment), r, 4);
	PQclear(r);
	return FD_OK;
}

static int pg_key_get(fd_conn *base_, const char *app_id, const char *id,
                      json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_KEY_GET, "ss", app_id, id);
}

static int pg_key_list(fd_conn *base_, const char *app_id, long limit,
                       long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_KEY_COUNT, &crc, "s", app_id);
	PGresult *p = run(c, S_KEY_LIST, &prc, "sll", app_id, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static int pg_key_revoke(fd_conn *base_, const char *app_id, const char *id,
                         int64_t now)
{
	return change_st((pg_conn *)base_, S_KEY_REVOKE, "ssi", app_id, id,
	                 now);
}

/* ---- customers ------------------------------------------------------- */

static int pg_customer_get(fd_conn *base_, const char *app_id, fd_lookup by,
                           const char *key, json_t **out)
{
	int id = by == FD_BY_ID         ? S_CUS_BY_ID
	         : by == FD_BY_EXTERNAL ? S_CUS_BY_EXT
	                                : S_CUS_BY_CODE;

	if (!key) {
		*out = NULL;
		return FD_NOTFOUND;
	}
	FETCH_ONE((pg_conn *)base_, out, id, "ss", app_id, key);
}

static int pg_customer_insert(fd_conn *base_, const char *app_id,
                              const char *id, const char *external_id,
                              const char *email, const char *name,
                              const char *code, const char *props, int64_t now)
{
	pg_conn *c = (pg_conn *)base_;
	long one;
	int rc = insert_st(c, S_CUS_INSERT, "sssssssi", id, app_id, external_id,
	                   email, name, code, props, now);

	if (rc != FD_CONFLICT)
		return rc;
	/* The engine looked the external id up before inserting: if it is
	 * taken now, another node created the customer meanwhile. */
	rc = fetch_count(c, &one, S_CUS_EXT_TAKEN, "ss", app_id, external_id);
	if (rc == FD_OK) {
		c->retry = 1;
		return FD_RETRY;
	}
	return rc == FD_NOTFOUND ? FD_CONFLICT : rc;
}

static int pg_customer_update(fd_conn *base_, const char *app_id,
                              const char *id, const char *email,
                              const char *name, const char *props, int64_t now)
{
	return change_st((pg_conn *)base_, S_CUS_UPDATE, "sssssi", app_id, id,
	                 email, name, props, now);
}

static int pg_customer_set_referred(fd_conn *base_, const char *app_id,
                                    const char *id, const char *referrer_id,
                                    const char *referral_id,
                                    const char *campaign_id, int64_t now)
{
	return change_st((pg_conn *)base_, S_CUS_REFERRED, "sssssi", app_id, id,
	                 referrer_id, referral_id, campaign_id, now);
}

static int pg_customer_count(fd_conn *base_, const char *app_id, const char *id,
                             int visited, int converted, int64_t now)
{
	return change_st((pg_conn *)base_, S_CUS_COUNT, "ssiii", app_id, id,
	                 (int64_t)visited, (int64_t)converted, now);
}

static int pg_customer_erase(fd_conn *base_, const char *app_id, const char *id,
                             int64_t now)
{
	return change_st((pg_conn *)base_, S_CUS_ERASE, "ssi", app_id, id, now);
}

static int pg_customer_list(fd_conn *base_, const char *app_id, long limit,
                            long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_CUS_TOTAL, &crc, "s", app_id);
	PGresult *p = run(c, S_CUS_LIST, &prc, "sll", app_id, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

/* ---- campaigns ------------------------------------------------------- */

static int pg_campaign_insert(fd_conn *base_, const char *app_id,
                              const fd_store_campaign *k, int64_t now)
{
	return insert_st((pg_conn *)base_, S_CMP_INSERT, "ssssizzsi", k->id,
	                 app_id, k->environment, k->name, (int64_t)k->hold_days,
	                 k->starts_at, k->ends_at, k->extra ? k->extra : "{}",
	                 now);
}

static int pg_campaign_update(fd_conn *base_, const char *app_id,
                              const fd_store_campaign *k, int64_t now)
{
	return change_st((pg_conn *)base_, S_CMP_UPDATE, "sssizzsi", k->id,
	                 app_id, k->name, (int64_t)k->hold_days, k->starts_at,
	                 k->ends_at, k->extra ? k->extra : "{}", now);
}

/* Attach rewards[] to a campaign object. */
static int with_rewards(pg_conn *c, int rc, json_t **out)
{
	json_t *rw = NULL;
	PGresult *r;
	const char *id;

	if (rc != FD_OK)
		return rc;
	id = json_string_value(json_object_get(*out, "id"));
	r = run(c, S_CRW_OF, &rc, "s", id);
	if ((rc = fetch_all_r(r, rc, &rw)) != FD_OK ||
	    json_object_set_new(*out, "rewards", rw)) {
		json_decref(*out);
		*out = NULL;
		return rc != FD_OK ? rc : FD_ERR;
	}
	return FD_OK;
}

static int pg_campaign_get(fd_conn *base_, const char *app_id, const char *id,
                           json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	PGresult *r;
	int rc;

	*out = NULL;
	if (!id)
		return FD_NOTFOUND;
	r = run(c, S_CMP_GET, &rc, "ss", app_id, id);
	return with_rewards(c, fetch_one_r(r, rc, out), out);
}

static int pg_campaign_live(fd_conn *base_, const char *app_id, const char *env,
                            json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;
	PGresult *r = run(c, S_CMP_LIVE, &rc, "ss", app_id, env);

	return with_rewards(c, fetch_one_r(r, rc, out), out);
}

static int pg_campaign_list(fd_conn *base_, const char *app_id, const char *env,
                            json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	json_t *k, *one;
	PGresult *r;
	size_t i;
	int rc;

	r = run(c, S_CMP_LIST, &rc, "ss", app_id, env);
	if ((rc = fetch_all_r(r, rc, out)) != FD_OK)
		return rc;
	json_array_foreach(*out, i, k)
	{
		one = json_incref(k);
		if ((rc = with_rewards(c, FD_OK, &one)) != FD_OK) {
			json_decref(*out);
			*out = NULL;
			return rc;
		}
		json_decref(one);
	}
	return FD_OK;
}

static int pg_campaign_set_live(fd_conn *base_, const char *app_id,
                                const char *id, int live, int64_t now)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;

	if (live && (rc = exec_st(c, S_CMP_UNLIVE_OTHERS, "ssi", app_id, id,
	                          now)) != FD_OK)
		return rc == FD_CONFLICT ? FD_ERR : rc;
	return change_st(c, S_CMP_SET_LIVE, "ssii", app_id, id,
	                 (int64_t)(live != 0), now);
}

static int pg_campaign_ping(fd_conn *base_, const char *app_id, const char *id,
                            const char *origin, int64_t now)
{
	return change_st((pg_conn *)base_, S_CMP_PING, "ssis", app_id, id, now,
	                 origin);
}

static int pg_campaigns_version(fd_conn *base_, int64_t *out)
{
	long v = 0;
	int rc = fetch_count((pg_conn *)base_, &v, S_CMP_VERSION, "");

	*out = v;
	return rc == FD_NOTFOUND ? FD_OK : rc;
}

static int pg_campaign_reward_insert(fd_conn *base_, const char *app_id,
                                     const fd_store_campaign_reward *r,
                                     int64_t now)
{
	return insert_st((pg_conn *)base_, S_CRW_INSERT, "sssszsssi", r->id,
	                 app_id, r->campaign_id, r->party, (int64_t)r->limit,
	                 r->limit_unit, r->limit_interval,
	                 r->terms ? r->terms : "{}", now);
}

static int pg_campaign_reward_get(fd_conn *base_, const char *app_id,
                                  const char *id, json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_CRW_GET, "ss", app_id, id);
}

/* ---- checkpoints ----------------------------------------------------- */

static int pg_checkpoint_insert(fd_conn *base_, const char *app_id,
                                const char *id, const char *campaign_id,
                                const char *name, const char *trigger,
                                const char *placement_id, int64_t now)
{
	return insert_st((pg_conn *)base_, S_CHK_INSERT, "ssssssi", id, app_id,
	                 campaign_id, name, trigger, placement_id, now);
}

static int pg_checkpoint_get(fd_conn *base_, const char *app_id, const char *id,
                             json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_CHK_GET, "ss", app_id, id);
}

static int pg_checkpoint_find(fd_conn *base_, const char *app_id,
                              const char *campaign_id, const char *name,
                              json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_CHK_FIND, "sss", app_id, campaign_id,
	          name);
}

static int pg_checkpoint_list(fd_conn *base_, const char *app_id,
                              const char *campaign_id, json_t **out)
{
	FETCH_ALL((pg_conn *)base_, out, S_CHK_LIST, "ss", app_id, campaign_id);
}

/* ---- referrals ------------------------------------------------------- */

static int pg_referral_insert(fd_conn *base_, const char *app_id,
                              const char *id, const char *env,
                              const char *campaign_id, const char *referrer_id,
                              const char *referee_id, const char *status,
                              const char *frauds, int64_t now)
{
	pg_conn *c = (pg_conn *)base_;
	int rc = insert_st(c, S_REF_INSERT, "ssssssssi", id, app_id, env,
	                   campaign_id, referrer_id, referee_id, status, frauds,
	                   now);

	/* The engine looked for the referee's referral first: another node
	 * inserted it meanwhile. */
	if (rc == FD_CONFLICT) {
		c->retry = 1;
		return FD_RETRY;
	}
	return rc;
}

static int pg_referral_update(fd_conn *base_, const char *app_id,
                              const char *id, const char *referrer_id,
                              const char *status, const char *frauds,
                              int64_t now)
{
	return change_st((pg_conn *)base_, S_REF_UPDATE, "sssssi", app_id, id,
	                 referrer_id, status, frauds, now);
}

static int pg_referral_get(fd_conn *base_, const char *app_id, const char *id,
                           json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_REF_GET, "ss", app_id, id);
}

static int pg_referral_find(fd_conn *base_, const char *app_id,
                            const char *campaign_id, const char *referee_id,
                            json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_REF_FIND, "sss", app_id, campaign_id,
	          referee_id);
}

static int pg_referral_by_referrer(fd_conn *base_, const char *app_id,
                                   const char *campaign_id,
                                   const char *referrer_id, long limit,
                                   json_t **out)
{
	FETCH_ALL((pg_conn *)base_, out, S_REF_BY_REFERRER, "sssz", app_id,
	          campaign_id, referrer_id, (int64_t)(limit > 0 ? limit : 0));
}

static int pg_referral_count_since(fd_conn *base_, const char *app_id,
                                   const char *referrer_id, int64_t since,
                                   long cap, long *out)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;

	if (c->writer &&
	    (rc = exec_st(c, S_REF_LOCK, "ss", app_id, referrer_id)) != FD_OK) {
		*out = 0;
		return rc;
	}
	return fetch_count(c, out, S_REF_COUNT_SINCE, "ssil", app_id,
	                   referrer_id, since, cap);
}

static int pg_referral_list(fd_conn *base_, const char *app_id,
                            const fd_referral_filter *f, long limit,
                            long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_REF_TOTAL, &crc, "ssss", app_id, f->campaign_id,
	                  f->status, f->environment);
	PGresult *p = run(c, S_REF_LIST, &prc, "ssssll", app_id, f->campaign_id,
	                  f->status, f->environment, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

/* ---- rewards --------------------------------------------------------- */

static int pg_reward_insert(fd_conn *base_, const char *app_id,
                            const fd_store_reward *r, int64_t now)
{
	/* A concurrent grant of the same (referral, campaign reward) on
	 * another node: this waits for it, then reports FD_CONFLICT. */
	return insert_st((pg_conn *)base_, S_RWD_INSERT, "ssssssssssii", r->id,
	                 app_id, r->env, r->campaign_id, r->campaign_reward_id,
	                 r->referral_id, r->customer_id, r->party,
	                 r->terms ? r->terms : "{}", r->status, r->available_at,
	                 now);
}

static int pg_reward_get(fd_conn *base_, const char *app_id, const char *id,
                         json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_RWD_GET, "iss", flock__now_ms(),
	          app_id, id);
}

static int pg_reward_count_since(fd_conn *base_, const char *app_id,
                                 const char *campaign_reward_id,
                                 const char *customer_id, int64_t since,
                                 long cap, long *out)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;

	/* On the writer, the count is followed by the grant it allows: hold
	 * the (campaign reward, customer) lock until the batch ends. The
	 * count is a separate statement so its snapshot is taken after the
	 * lock is granted. */
	if (c->writer &&
	    (rc = exec_st(c, S_RWD_LOCK, "sss", app_id, campaign_reward_id,
	                  customer_id)) != FD_OK) {
		*out = 0;
		return rc;
	}
	return fetch_count(c, out, S_RWD_COUNT_SINCE, "sssil", app_id,
	                   campaign_reward_id, customer_id, since, cap);
}

static int pg_reward_transition(fd_conn *base_, const char *app_id,
                                const char *id, const char *from,
                                const char *to, int64_t now)
{
	return change_st((pg_conn *)base_, S_RWD_TRANSITION, "issss", now,
	                 app_id, id, from, to);
}

static int pg_reward_list(fd_conn *base_, const char *app_id,
                          const fd_reward_filter *f, long limit, long offset,
                          json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int64_t now = flock__now_ms();
	int crc, prc;
	PGresult *n = run(c, S_RWD_TOTAL, &crc, "issss", now, app_id, f->status,
	                  f->environment, f->customer_id);
	PGresult *p =
	        run(c, S_RWD_LIST, &prc, "issssll", now, app_id, f->status,
	            f->environment, f->customer_id, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static int pg_reward_due(fd_conn *base_, int64_t now, long limit, json_t **out)
{
	FETCH_ALL((pg_conn *)base_, out, S_RWD_DUE, "il", now, limit);
}

/* ---- checkpoint events, outbox, webhooks, idempotency ---------------- */

static int pg_event_insert(fd_conn *base_, const char *app_id, const char *id,
                           const char *env, const char *customer_id,
                           const char *name, const char *props, int64_t now)
{
	return insert_st((pg_conn *)base_, S_EVT_INSERT, "ssssssi", id, app_id,
	                 env, customer_id, name, props, now);
}

static int pg_event_seen(fd_conn *base_, const char *app_id, const char *env,
                         const char *customer_id, const char *name)
{
	long one;
	int rc = fetch_count((pg_conn *)base_, &one, S_EVT_SEEN, "ssss", app_id,
	                     env, customer_id, name);

	return rc == FD_OK ? 1 : rc == FD_NOTFOUND ? 0 : rc;
}

static int pg_outbox_insert(fd_conn *base_, const char *app_id, const char *id,
                            const char *env, const char *name, int64_t ts,
                            const char *body)
{
	return insert_st((pg_conn *)base_, S_OUT_INSERT, "ssssis", id, app_id,
	                 env, name, ts, body);
}

static int pg_outbox_list(fd_conn *base_, const char *app_id, const char *env,
                          const char *name, long limit, long offset,
                          json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_OUT_TOTAL, &crc, "sss", app_id, env, name);
	PGresult *p = run(c, S_OUT_LIST, &prc, "sssll", app_id, env, name,
	                  limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static int pg_webhook_insert(fd_conn *base_, const char *app_id, const char *id,
                             const char *url, const char *events,
                             const char *env, const char *secret, int64_t now)
{
	return insert_st((pg_conn *)base_, S_WH_INSERT, "ssssssi", id, app_id,
	                 url, events, env, secret, now);
}

static int pg_webhook_get(fd_conn *base_, const char *app_id, const char *id,
                          json_t **out)
{
	FETCH_ONE((pg_conn *)base_, out, S_WH_GET, "ss", app_id, id);
}

static int pg_webhook_delete(fd_conn *base_, const char *app_id, const char *id,
                             int64_t now)
{
	return change_st((pg_conn *)base_, S_WH_DELETE, "ssi", app_id, id, now);
}

static int pg_webhook_list(fd_conn *base_, const char *app_id, long limit,
                           long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_WH_TOTAL, &crc, "s", app_id);
	PGresult *p = run(c, S_WH_LIST, &prc, "sll", app_id, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static int pg_webhook_wants(fd_conn *base_, const char *app_id,
                            const char *name)
{
	long one;
	int rc = fetch_count((pg_conn *)base_, &one, S_WH_WANTS, "ss", app_id,
	                     name);

	return rc == FD_OK ? 1 : rc == FD_NOTFOUND ? 0 : rc;
}

static int unhex(const char *t, uint8_t out[32])
{
	size_t i;
	unsigned v;

	/* bytea in text format: "\x" then hex. */
	if (strncmp(t, "\\x", 2) != 0 || strlen(t) != 66)
		return -1;
	for (i = 0; i < 32; i++) {
		char pair[3] = {t[2 + 2 * i], t[3 + 2 * i], '\0'};
		char *end;

		v = (unsigned)strtoul(pair, &end, 16);
		if (*end)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int pg_idem_get(fd_conn *base_, const char *app_id, const char *key,
                       uint8_t hash[32], int *status, char **body)
{
	pg_conn *c = (pg_conn *)base_;
	PGresult *r;
	int rc;

	*body = NULL;
	if (c->writer &&
	    (rc = exec_st(c, S_IDEM_LOCK, "ss", app_id, key)) != FD_OK)
		return rc;
	if (!(r = run(c, S_IDEM_GET, &rc, "ss", app_id, key)))
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return FD_NOTFOUND;
	}
	if (unhex(PQgetvalue(r, 0, 0), hash) < 0)
		memset(hash, 0, 32);
	*status = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
	*body = strdup(PQgetvalue(r, 0, 2));
	PQclear(r);
	return *body ? FD_OK : FD_ERR;
}

static int pg_idem_put(fd_conn *base_, const char *app_id, const char *key,
                       const uint8_t hash[32], int status, const char *body,
                       int64_t now)
{
	pg_conn *c = (pg_conn *)base_;
	int rc = insert_st(c, S_IDEM_PUT, "ssbisi", app_id, key, hash,
	                   (int64_t)status, body, now);

	/* Stored by another node after our lookup: run the job again, it
	 * replays what was stored. */
	if (rc == FD_CONFLICT) {
		c->retry = 1;
		return FD_RETRY;
	}
	return rc;
}

static int pg_idem_purge(fd_conn *base_, int64_t before)
{
	return exec_st((pg_conn *)base_, S_IDEM_PURGE, "i", before);
}

/* ---- deliveries ------------------------------------------------------ */

static const char *jstr_of(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t jint_of(const json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

/* One delivery per receiving endpoint of one outbox event. */
static int fan_event(pg_conn *c, const json_t *ev, int64_t now)
{
	json_t *targets = NULL, *t;
	char id[FLOCK__ID_MAX];
	PGresult *r;
	size_t i;
	int rc;

	r = run(c, S_DLV_TARGETS, &rc, "sss", jstr_of(ev, "app"),
	        jstr_of(ev, "env"), jstr_of(ev, "name"));
	rc = fetch_all_r(r, rc, &targets);
	json_array_foreach(targets, i, t)
	{
		if (rc != FD_OK)
			break;
		if (flock__id_new(id, "dlv_") < 0) {
			rc = FD_ERR;
			break;
		}
		rc = exec_st(c, S_DLV_INSERT, "sssisssii", id,
		             jstr_of(ev, "app"), jstr_of(t, "id"),
		             jint_of(ev, "seq"), jstr_of(ev, "id"),
		             jstr_of(ev, "name"), jstr_of(ev, "env"),
		             jint_of(ev, "ts"), now);
	}
	json_decref(targets);
	if (rc == FD_OK)
		rc = exec_st(c, S_DLV_FANNED, "ii", jint_of(ev, "seq"), now);
	return rc;
}

static int pg_delivery_fanout(fd_conn *base_, int64_t now, long limit, long *n)
{
	pg_conn *c = (pg_conn *)base_;
	json_t *events = NULL, *ev;
	PGresult *r;
	size_t i;
	int rc;

	*n = 0;
	r = run(c, S_DLV_UNFANNED, &rc, "l", limit);
	rc = fetch_all_r(r, rc, &events);
	json_array_foreach(events, i, ev)
	{
		if (rc != FD_OK)
			break;
		rc = fan_event(c, ev, now);
		*n += rc == FD_OK;
	}
	json_decref(events);
	return rc;
}

static int pg_delivery_claim(fd_conn *base_, const char *node, int64_t now,
                             int64_t lease_until, long limit, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	json_t *d;
	PGresult *r;
	size_t i;
	int rc;

	r = run(c, S_DLV_CLAIM, &rc, "ilsi", now, limit, node, lease_until);
	if ((rc = fetch_all_r(r, rc, out)) != FD_OK)
		return rc;
	json_array_foreach(*out, i, d)
	{
		if (json_is_null(json_object_get(d, "previousSecret")))
			json_object_del(d, "previousSecret");
	}
	return FD_OK;
}

static const char *const outcome_state[] = {
        [FD_DELIVERY_DELIVERED] = "delivered",
        [FD_DELIVERY_RETRY] = "pending",
        [FD_DELIVERY_DEAD] = "dead",
};

static int pg_delivery_complete(fd_conn *base_, const fd_store_attempt *a,
                                int64_t now)
{
	pg_conn *c = (pg_conn *)base_;
	int rc;

	if (a->outcome < FD_DELIVERY_DELIVERED || a->outcome > FD_DELIVERY_DEAD)
		return FD_ERR;
	rc = change_st(c, S_DLV_COMPLETE, "ssszzsi", a->delivery_id, a->node,
	               outcome_state[a->outcome],
	               a->outcome == FD_DELIVERY_RETRY ? a->next_attempt_at
	                                               : (int64_t)0,
	               (int64_t)a->status, a->error, now);
	if (rc == FD_OK)
		rc = exec_st(c, S_DLV_LOG, "siziss", a->delivery_id, a->at,
		             (int64_t)a->status, (int64_t)a->latency_ms,
		             a->excerpt, a->error);
	if (rc == FD_OK && a->disable_endpoint)
		rc = exec_st(c, S_DLV_GONE, "si", a->delivery_id, now);
	return rc;
}

static int pg_delivery_release(fd_conn *base_, const char *node, int64_t now)
{
	return exec_st((pg_conn *)base_, S_DLV_RELEASE, "si", node, now);
}

static int pg_delivery_replay(fd_conn *base_, const char *app_id,
                              const char *endpoint_id, const char *delivery_id,
                              int64_t now, long *n)
{
	pg_conn *c = (pg_conn *)base_;
	PGresult *r;
	int rc;

	*n = 0;
	if (!delivery_id) {
		r = run(c, S_DLV_REPLAY_DEAD, &rc, "ssi", endpoint_id, app_id,
		        now);
		if (!r)
			return rc;
		*n = changes(r);
		PQclear(r);
		return FD_OK;
	}
	r = run(c, S_DLV_STATE, &rc, "sss", delivery_id, endpoint_id, app_id);
	if (!r)
		return rc;
	rc = PQntuples(r) == 0                              ? FD_NOTFOUND
	     : strcmp(PQgetvalue(r, 0, 0), "inflight") == 0 ? FD_CONFLICT
	                                                    : FD_OK;
	PQclear(r);
	if (rc != FD_OK)
		return rc;
	rc = change_st(c, S_DLV_REPLAY_ONE, "sssi", delivery_id, endpoint_id,
	               app_id, now);
	*n = rc == FD_OK;
	return rc;
}

static int pg_delivery_list(fd_conn *base_, const char *app_id,
                            const char *endpoint_id, const char *state,
                            long limit, long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n =
	        run(c, S_DLV_TOTAL, &crc, "sss", app_id, endpoint_id, state);
	PGresult *p = run(c, S_DLV_LIST, &prc, "sssll", app_id, endpoint_id,
	                  state, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static int pg_attempt_list(fd_conn *base_, const char *app_id,
                           const char *endpoint_id, const char *delivery_id,
                           long limit, long offset, json_t **out)
{
	pg_conn *c = (pg_conn *)base_;
	int crc, prc;
	PGresult *n = run(c, S_ATT_TOTAL, &crc, "sss", app_id, endpoint_id,
	                  delivery_id);
	PGresult *p = run(c, S_ATT_LIST, &prc, "sssll", app_id, endpoint_id,
	                  delivery_id, limit, offset);

	return page_of(n, crc, p, prc, limit, offset, out);
}

static long col_long(PGresult *r, int i)
{
	return strtol(PQgetvalue(r, 0, i), NULL, 10);
}

static int pg_delivery_stats(fd_conn *base_, fd_delivery_stats *out)
{
	pg_conn *c = (pg_conn *)base_;
	PGresult *r;
	int64_t oldest;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(r = run(c, S_DLV_STATS, &rc, "")))
		return rc;
	if (PQntuples(r) == 1) {
		out->pending = col_long(r, 0);
		out->retrying = col_long(r, 1);
		out->inflight = col_long(r, 2);
		out->dead = col_long(r, 3);
		out->oldest_ms = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	}
	PQclear(r);
	if (!(r = run(c, S_DLV_UNFANNED_STATS, &rc, "")))
		return rc;
	if (PQntuples(r) == 1) {
		out->unfanned = col_long(r, 0);
		oldest = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		if (oldest && (!out->oldest_ms || oldest < out->oldest_ms))
			out->oldest_ms = oldest;
	}
	PQclear(r);
	return FD_OK;
}

static int pg_webhook_update(fd_conn *base_, const char *app_id, const char *id,
                             const char *url, int events_set,
                             const char *events, int enabled, int64_t now)
{
	return change_st((pg_conn *)base_, S_WH_UPDATE, "sssisii", app_id, id,
	                 url, (int64_t)events_set, events, (int64_t)enabled,
	                 now);
}

static int pg_webhook_rotate(fd_conn *base_, const char *app_id, const char *id,
                             const char *secret, int64_t previous_until,
                             int64_t now)
{
	return change_st((pg_conn *)base_, S_WH_ROTATE, "sssii", app_id, id,
	                 secret, previous_until, now);
}

/* ---- request rate limit ---------------------------------------------- */

static int pg_rate_hit(fd_store *base_, const char *key_id, int64_t window,
                       long *count)
{
	pg_store *s = (pg_store *)base_;
	pg_conn *c = &s->rate;
	const char *v[2];
	char w[24];
	PGresult *r;
	int rc = FD_ERR;

	snprintf(w, sizeof(w), "%" PRId64, window);
	v[0] = key_id;
	v[1] = w;
	pthread_mutex_lock(&s->rate_mu);
	if (!c->db) {
		char err[256];

		if (conn_connect(c, err, sizeof(err)) < 0) {
			fd_log(FD_LOG_ERROR, "%s", err);
			goto out;
		}
	} else if (conn_ensure(c) < 0) {
		goto out;
	}
	r = PQexecParams(c->db,
	                 "INSERT INTO rate_windows(key_id, window_start, count)"
	                 " VALUES($1, $2, 1) ON CONFLICT (key_id, window_start)"
	                 " DO UPDATE SET count = rate_windows.count + 1"
	                 " RETURNING count",
	                 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		*count = strtol(PQgetvalue(r, 0, 0), NULL, 10);
		rc = FD_OK;
	} else {
		fail_code(c, r);
	}
	PQclear(r);
	/* Old windows are of no use: each node deletes them about once a
	 * minute (a failure here costs nothing but a larger table). */
	if (rc == FD_OK && window - s->rate_purged >= 60) {
		snprintf(w, sizeof(w), "%" PRId64, window - 60);
		v[0] = w;
		r = PQexecParams(
		        c->db,
		        "DELETE FROM rate_windows WHERE window_start < $1", 1,
		        NULL, v, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_code(c, r);
		PQclear(r);
		s->rate_purged = window;
	}
out:
	pthread_mutex_unlock(&s->rate_mu);
	return rc;
}

static const fd_store_ops pg_ops = {
        .name = "postgresql",
        .close = pg_close,
        .sync = pg_sync,
        .schema_version = pg_schema_version,
        .writer = pg_writer,
        .reader = pg_reader,
        .reader_done = pg_reader_done,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .savepoint = pg_savepoint,
        .release = pg_release,
        .rollback_to = pg_rollback_to,
        .ping = pg_ping,
        .org_insert = pg_org_insert,
        .app_insert = pg_app_insert,
        .app_get = pg_app_get,
        .app_list = pg_app_list,
        .key_insert = pg_key_insert,
        .key_auth = pg_key_auth,
        .key_get = pg_key_get,
        .key_list = pg_key_list,
        .key_revoke = pg_key_revoke,
        .customer_get = pg_customer_get,
        .customer_insert = pg_customer_insert,
        .customer_update = pg_customer_update,
        .customer_set_referred = pg_customer_set_referred,
        .customer_count = pg_customer_count,
        .customer_erase = pg_customer_erase,
        .customer_list = pg_customer_list,
        .campaign_insert = pg_campaign_insert,
        .campaign_update = pg_campaign_update,
        .campaign_get = pg_campaign_get,
        .campaign_live = pg_campaign_live,
        .campaign_list = pg_campaign_list,
        .campaign_set_live = pg_campaign_set_live,
        .campaign_ping = pg_campaign_ping,
        .campaigns_version = pg_campaigns_version,
        .campaign_reward_insert = pg_campaign_reward_insert,
        .campaign_reward_get = pg_campaign_reward_get,
        .checkpoint_insert = pg_checkpoint_insert,
        .checkpoint_get = pg_checkpoint_get,
        .checkpoint_find = pg_checkpoint_find,
        .checkpoint_list = pg_checkpoint_list,
        .referral_insert = pg_referral_insert,
        .referral_update = pg_referral_update,
        .referral_get = pg_referral_get,
        .referral_find = pg_referral_find,
        .referral_by_referrer = pg_referral_by_referrer,
        .referral_count_since = pg_referral_count_since,
        .referral_list = pg_referral_list,
        .reward_insert = pg_reward_insert,
        .reward_get = pg_reward_get,
        .reward_count_since = pg_reward_count_since,
        .reward_transition = pg_reward_transition,
        .reward_list = pg_reward_list,
        .reward_due = pg_reward_due,
        .event_insert = pg_event_insert,
        .event_seen = pg_event_seen,
        .outbox_insert = pg_outbox_insert,
        .outbox_list = pg_outbox_list,
        .webhook_insert = pg_webhook_insert,
        .webhook_get = pg_webhook_get,
        .webhook_delete = pg_webhook_delete,
        .webhook_list = pg_webhook_list,
        .webhook_wants = pg_webhook_wants,
        .idem_get = pg_idem_get,
        .idem_put = pg_idem_put,
        .idem_purge = pg_idem_purge,
        .rate_hit = pg_rate_hit,
        .delivery_fanout = pg_delivery_fanout,
        .delivery_claim = pg_delivery_claim,
        .delivery_complete = pg_delivery_complete,
        .delivery_release = pg_delivery_release,
        .delivery_replay = pg_delivery_replay,
        .delivery_list = pg_delivery_list,
        .attempt_list = pg_attempt_list,
        .delivery_stats = pg_delivery_stats,
        .webhook_update = pg_webhook_update,
        .webhook_rotate = pg_webhook_rotate,
};
