/*
 * flockd storage on SQLite: schema, migrations, cached prepared statements
 * and the row-to-JSON mapping. The only file that knows SQL.
 *
 * Rows become wire objects by their column aliases: a plain alias is the
 * JSON field; "@x" is a millisecond timestamp shown as ISO 8601; "?x" an
 * integer shown as a boolean; "{x" JSON text parsed into field x; "*" JSON
 * object text whose members are merged into the object.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/ids.h"
#include "store/store_impl.h"

typedef struct sq_conn sq_conn;
typedef struct sq_store sq_store;

static const fd_store_ops sq_ops;
static void sq_close(fd_store *base_);

/* ---- schema ---------------------------------------------------------- */

/* Each entry moves the schema from version i to i+1 (PRAGMA user_version).
 * Never edit a released entry; append a new one. */
static const char *const migrations[] = {
        "CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE apps(id TEXT PRIMARY KEY,"
        " org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER);"
        "CREATE TABLE api_keys(id TEXT PRIMARY KEY,"
        " app_id TEXT REFERENCES apps(id), org_id TEXT NOT NULL,"
        " kind INTEGER NOT NULL, environment TEXT NOT NULL DEFAULT '',"
        " hash BLOB NOT NULL UNIQUE, prefix TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " revoked_at INTEGER);"
        "CREATE INDEX api_keys_app ON api_keys(app_id);"
        "CREATE TABLE customers(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL REFERENCES apps(id),"
        " external_id TEXT NOT NULL, email TEXT, name TEXT,"
        " referral_code TEXT NOT NULL, referred_by_id TEXT,"
        " referred_by_referral_id TEXT, referred_in_campaign_id TEXT,"
        " visited INTEGER NOT NULL DEFAULT 0,"
        " converted INTEGER NOT NULL DEFAULT 0,"
        " custom_properties TEXT NOT NULL DEFAULT '{}',"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER,"
        " UNIQUE(app_id, external_id), UNIQUE(app_id, referral_code));"
        "CREATE TABLE campaigns(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL REFERENCES apps(id),"
        " environment TEXT NOT NULL, name TEXT NOT NULL,"
        " is_live INTEGER NOT NULL DEFAULT 0,"
        " reward_hold_days INTEGER NOT NULL DEFAULT 0,"
        " starts_at INTEGER, ends_at INTEGER, last_ping_at INTEGER,"
        " last_ping_origin TEXT, extra TEXT NOT NULL DEFAULT '{}',"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER);"
        "CREATE INDEX campaigns_app ON campaigns(app_id, environment);"
        /* At most one live campaign per application and environment. */
        "CREATE UNIQUE INDEX campaigns_one_live ON campaigns(app_id,"
        " environment) WHERE is_live = 1;"
        "CREATE TABLE campaign_rewards(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
        " REFERENCES campaigns(id), party TEXT NOT NULL,"
        " lim INTEGER, limit_unit TEXT, limit_interval TEXT,"
        " terms TEXT NOT NULL DEFAULT '{}',"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER);"
        "CREATE INDEX campaign_rewards_campaign ON"
        " campaign_rewards(campaign_id);"
        "CREATE TABLE checkpoints(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
        " REFERENCES campaigns(id), name TEXT NOT NULL,"
        " trigger_kind TEXT NOT NULL, placement_id TEXT,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER, UNIQUE(campaign_id, name));"
        "CREATE INDEX checkpoints_app ON checkpoints(app_id);"
        "CREATE TABLE referrals(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
        " campaign_id TEXT NOT NULL REFERENCES campaigns(id),"
        " referrer_id TEXT NOT NULL REFERENCES customers(id),"
        " referee_id TEXT NOT NULL REFERENCES customers(id),"
        " status TEXT NOT NULL, suspected_frauds TEXT,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER, UNIQUE(campaign_id, referee_id));"
        /* Covers the velocity count: no table lookups. */
        "CREATE INDEX referrals_referrer ON referrals(app_id, referrer_id,"
        " created_at);"
        "CREATE INDEX referrals_app ON referrals(app_id, created_at);"
        "CREATE TABLE rewards(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
        " campaign_id TEXT NOT NULL, campaign_reward_id TEXT NOT NULL,"
        " referral_id TEXT NOT NULL REFERENCES referrals(id),"
        " customer_id TEXT NOT NULL, party TEXT NOT NULL,"
        " terms TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL,"
        " available_at INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER,"
        /* Exactly once: the database, not a prior read, refuses a second
         * grant of one campaign reward for one referral. */
        " UNIQUE(referral_id, campaign_reward_id));"
        /* Covers the limit count. */
        "CREATE INDEX rewards_limit ON rewards(app_id, campaign_reward_id,"
        " customer_id, created_at, status);"
        "CREATE INDEX rewards_app ON rewards(app_id, created_at);"
        "CREATE INDEX rewards_due ON rewards(available_at)"
        " WHERE status = 'pending';"
        "CREATE TABLE checkpoint_events(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
        " customer_id TEXT NOT NULL, name TEXT NOT NULL, properties TEXT,"
        " created_at INTEGER NOT NULL);"
        "CREATE INDEX checkpoint_events_customer ON"
        " checkpoint_events(customer_id, name, environment);"
        "CREATE TABLE outbox(seq INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE, app_id TEXT NOT NULL,"
        " environment TEXT NOT NULL, name TEXT NOT NULL,"
        " timestamp INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE INDEX outbox_app ON outbox(app_id, seq);"
        "CREATE TABLE webhook_endpoints(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT,"
        " environment TEXT, secret TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " deleted_at INTEGER);"
        "CREATE INDEX webhook_endpoints_app ON webhook_endpoints(app_id);"
        "CREATE TABLE idempotency(app_id TEXT NOT NULL, key TEXT NOT NULL,"
        " body_hash BLOB NOT NULL, status INTEGER NOT NULL,"
        " response TEXT NOT NULL, created_at INTEGER NOT NULL,"
        " PRIMARY KEY(app_id, key)) WITHOUT ROWID;"
        "CREATE INDEX idempotency_age ON idempotency(created_at);",
        /* 2: webhook deliveries. Events already in the outbox count as
         * fanned out (they predate delivery). */
        "ALTER TABLE outbox ADD COLUMN fanned_at INTEGER;"
        "UPDATE outbox SET fanned_at = 0;"
        "CREATE INDEX outbox_unfanned ON outbox(seq) WHERE fanned_at IS NULL;"
        "ALTER TABLE webhook_endpoints ADD COLUMN enabled INTEGER NOT NULL"
        " DEFAULT 1;"
        "ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;"
        "ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT;"
        "ALTER TABLE webhook_endpoints ADD COLUMN previous_until INTEGER;"
        "CREATE TABLE deliveries(id TEXT PRIMARY KEY,"
        " app_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,"
        " event_seq INTEGER NOT NULL, event_id TEXT NOT NULL,"
        " event_name TEXT NOT NULL, environment TEXT NOT NULL,"
        " event_ts INTEGER NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,"
        " lease_owner TEXT, lease_until INTEGER, last_status INTEGER,"
        " last_error TEXT, delivered_at INTEGER,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " UNIQUE(event_id, endpoint_id));"
        "CREATE INDEX deliveries_state ON deliveries(state, next_attempt_at);"
        "CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id,"
        " created_at);"
        "CREATE TABLE delivery_attempts(id INTEGER PRIMARY KEY,"
        " delivery_id TEXT NOT NULL, app_id TEXT NOT NULL,"
        " endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL,"
        " attempt INTEGER NOT NULL, at INTEGER NOT NULL, status INTEGER,"
        " latency_ms INTEGER, excerpt TEXT, error TEXT);"
        "CREATE INDEX delivery_attempts_endpoint ON"
        " delivery_attempts(endpoint_id, id);"
        "CREATE INDEX delivery_attempts_delivery ON"
        " delivery_attempts(delivery_id, id);",
        /* 3: fd_store_campaigns_version, bumped by triggers on any change
         * to campaigns (not pings), their rewards and checkpoints; the
         * same on PostgreSQL, where several nodes share the database. */
        "CREATE TABLE flockd_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
        "INSERT INTO flockd_meta VALUES('campaigns', 0);"
        "CREATE TRIGGER campaigns_ins AFTER INSERT ON campaigns BEGIN"
        " UPDATE flockd_meta SET v = v + 1 WHERE k = 'campaigns'; END;"
        "CREATE TRIGGER campaigns_upd AFTER UPDATE OF name, is_live,"
        " reward_hold_days, starts_at, ends_at, extra, deleted_at ON"
        " campaigns BEGIN UPDATE flockd_meta SET v = v + 1 WHERE"
        " k = 'campaigns'; END;"
        "CREATE TRIGGER campaign_rewards_ins AFTER INSERT ON"
        " campaign_rewards BEGIN UPDATE flockd_meta SET v = v + 1 WHERE"
        " k = 'campaigns'; END;"
        "CREATE TRIGGER campaign_rewards_upd AFTER UPDATE ON"
        " campaign_rewards BEGIN UPDATE flockd_meta SET v = v + 1 WHERE"
        " k = 'campaigns'; END;"
        "CREATE TRIGGER checkpoints_ins AFTER INSERT ON checkpoints BEGIN"
        " UPDATE flockd_meta SET v = v + 1 WHERE k = 'campaigns'; END;"
        "CREATE TRIGGER checkpoints_upd AFTER UPDATE ON checkpoints BEGIN"
        " UPDATE flockd_meta SET v = v + 1 WHERE k = 'campaigns'; END;",
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* ---- statements ------------------------------------------------------ */

#define ORG_OF(t) "(SELECT org_id FROM apps WHERE id = " t ".app_id)"
#define STAMPS(t)                                                              \
	t ".created_at AS \"@createdAt\", " t                                  \
	  ".updated_at AS \"@updatedAt\", " t ".deleted_at AS \"@deletedAt\""

#define CUSTOMER_COLS                                                          \
	"SELECT c.id AS id, " ORG_OF(                                          \
	        "c") " AS organizationId,"                                     \
	             " c.app_id AS applicationId, c.external_id AS "           \
	             "externalUserId,"                                         \
	             " c.email AS email, c.name AS name, c.referral_code AS "  \
	             "referralCode,"                                           \
	             " (SELECT json_object('id', r.id, 'externalUserId', "     \
	             "r.external_id,"                                          \
	             " 'email', r.email, 'name', r.name) FROM customers r"     \
	             " WHERE r.id = c.referred_by_id) AS \"{referredBy\","     \
	             " c.referred_by_id AS referredById,"                      \
	             " c.referred_by_referral_id AS referredByReferralId,"     \
	             " c.referred_in_campaign_id AS referredInCampaignId,"     \
	             " c.visited AS visitedReferralsCount,"                    \
	             " c.converted AS convertedReferralsCount,"                \
	             " c.custom_properties AS \"{customProperties\", " STAMPS( \
	                     "c") " FROM customers c "

#define CAMPAIGN_COLS                                                          \
	"SELECT k.id AS id, " ORG_OF(                                          \
	        "k") " AS organizationId,"                                     \
	             " k.app_id AS applicationId, k.name AS name,"             \
	             " k.environment AS environment, k.is_live AS "            \
	             "\"?isLive\","                                            \
	             " k.extra AS \"*\", k.last_ping_at AS \"@lastPingAt\","   \
	             " k.last_ping_origin AS lastPingOrigin,"                  \
	             " k.starts_at AS \"@startsAt\", k.ends_at AS "            \
	             "\"@endsAt\","                                            \
	             " k.reward_hold_days AS rewardHoldDays, " STAMPS(         \
	                     "k") " FROM campaigns k "

#define CREWARD_COLS                                                           \
	"SELECT w.id AS id, " ORG_OF(                                          \
	        "w") " AS organizationId,"                                     \
	             " w.app_id AS applicationId, w.campaign_id AS "           \
	             "campaignId,"                                             \
	             " w.terms AS \"*\", w.party AS party, w.lim AS "          \
	             "\"limit\","                                              \
	             " w.limit_unit AS limitUnit, w.limit_interval AS "        \
	             "limitInterval, " STAMPS("w") " FROM campaign_rewards w "

#define CHECKPOINT_COLS                                                        \
	"SELECT p.id AS id, " ORG_OF(                                          \
	        "p") " AS organizationId,"                                     \
	             " p.app_id AS applicationId, p.campaign_id AS "           \
	             "campaignId,"                                             \
	             " p.name AS checkpointName, p.trigger_kind AS "           \
	             "\"trigger\","                                            \
	             " p.placement_id AS placementId, " STAMPS(                \
	                     "p") " FROM checkpoints p "

#define REFERRAL_COLS                                                          \
	"SELECT f.id AS id, " ORG_OF(                                          \
	        "f") " AS organizationId,"                                     \
	             " f.app_id AS applicationId, f.campaign_id AS "           \
	             "campaignId,"                                             \
	             " f.referrer_id AS referrerId, f.referee_id AS "          \
	             "refereeId,"                                              \
	             " f.status AS status, f.suspected_frauds AS "             \
	             "\"{suspectedFrauds\","                                   \
	             " f.environment AS environment, " STAMPS(                 \
	                     "f") " FROM referrals f "

/* ?9 is "now": the status of a pending reward past its hold reads as
 * approved even before the writer promotes it. */
#define REWARD_COLS                                                            \
	"SELECT d.id AS id, " ORG_OF(                                          \
	        "d") " AS organizationId,"                                     \
	             " d.app_id AS applicationId, d.campaign_id AS "           \
	             "campaignId,"                                             \
	             " d.campaign_reward_id AS campaignRewardId,"              \
	             " d.referral_id AS referralId, d.customer_id AS "         \
	             "customerId,"                                             \
	             " d.party AS party, d.terms AS \"*\","                    \
	             " CASE WHEN d.status = 'pending' AND d.available_at <= "  \
	             "?9"                                                      \
	             " THEN 'approved' ELSE d.status END AS status,"           \
	             " d.available_at AS \"@availableAt\", d.environment AS "  \
	             "environment, " STAMPS("d") " FROM rewards d "

#define KEY_COLS                                                               \
	"SELECT y.id AS id, y.org_id AS organizationId,"                       \
	" y.app_id AS applicationId, CASE y.kind WHEN 1 THEN 'service'"        \
	" WHEN 2 THEN 'public' ELSE 'admin' END AS kind,"                      \
	" NULLIF(y.environment, '') AS environment, y.prefix AS prefix,"       \
	" y.revoked_at AS \"@revokedAt\", y.created_at AS \"@createdAt\","     \
	" y.updated_at AS \"@updatedAt\", NULL AS deletedAt FROM api_keys y "

#define APP_COLS                                                               \
	"SELECT a.id AS id, a.org_id AS organizationId, a.id AS"               \
	" applicationId, a.name AS name, " STAMPS("a") " FROM apps a "

#define WEBHOOK_COLS                                                           \
	"SELECT h.id AS id, " ORG_OF(                                          \
	        "h") " AS organizationId,"                                     \
	             " h.app_id AS applicationId, h.url AS url, h.events AS "  \
	             "\"{events\","                                            \
	             " h.environment AS environment,"                          \
	             " h.enabled AS \"?enabled\","                             \
	             " h.disabled_reason AS disabledReason,"                   \
	             " h.previous_until AS "                                   \
	             "\"@previousSecretExpiresAt\", " STAMPS(                  \
	                     "h") " FROM webhook_endpoints h "

#define PAGE " LIMIT ?7 OFFSET ?8"

/* A delivery as the worker claims it; ?1 is now. */
#define DUE_COLS                                                               \
	"SELECT d.id AS id, d.app_id AS applicationId,"                        \
	" d.endpoint_id AS endpointId, d.event_id AS eventId,"                 \
	" d.event_name AS eventName, d.attempts + 1 AS attempt, h.url AS url," \
	" h.secret AS secret, CASE WHEN h.previous_until > ?1 THEN"            \
	" h.previous_secret END AS previousSecret, o.body AS body FROM"        \
	" deliveries d JOIN webhook_endpoints h ON h.id = d.endpoint_id JOIN"  \
	" outbox o ON o.seq = d.event_seq "

enum {
	S_BEGIN_R,
	S_BEGIN_W,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_PING,
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
	S_REF_COUNT_SINCE,
	S_REF_LIST,
	S_REF_TOTAL,
	S_RWD_INSERT,
	S_RWD_GET,
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
	S_IDEM_GET,
	S_IDEM_PUT,
	S_IDEM_PURGE,
	S_DLV_UNFANNED,
	S_DLV_TARGETS,
	S_DLV_INSERT,
	S_DLV_FANNED,
	S_DLV_DUE,
	S_DLV_EXPIRED,
	S_DLV_LEASE,
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

static const char *const sql[S_COUNT] = {
        [S_BEGIN_R] = "BEGIN",
        [S_BEGIN_W] = "BEGIN IMMEDIATE",
        [S_COMMIT] = "COMMIT",
        [S_ROLLBACK] = "ROLLBACK",
        [S_SAVEPOINT] = "SAVEPOINT job",
        [S_RELEASE] = "RELEASE job",
        [S_ROLLBACK_TO] = "ROLLBACK TO job",
        [S_PING] = "SELECT 1",

        [S_ORG_INSERT] = "INSERT INTO orgs(id, name, created_at)"
                         " VALUES(?1, ?2, ?3)",
        [S_APP_INSERT] = "INSERT INTO apps(id, org_id, name, created_at,"
                         " updated_at) VALUES(?1, ?2, ?3, ?4, ?4)",
        [S_APP_GET] = APP_COLS "WHERE a.id = ?1",
        [S_APP_LIST] = APP_COLS "WHERE (?1 IS NULL OR a.id = ?1) AND"
                                " a.org_id = ?2 ORDER BY a.id" PAGE,
        [S_APP_COUNT] = "SELECT count(*) FROM apps WHERE"
                        " (?1 IS NULL OR id = ?1) AND org_id = ?2",

        [S_KEY_INSERT] = "INSERT INTO api_keys(id, app_id, org_id, kind,"
                         " environment, hash, prefix, created_at,"
                         " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                         " ?8, ?8)",
        [S_KEY_AUTH] = "SELECT id, ifnull(app_id, ''), org_id, kind,"
                       " environment, hash FROM api_keys WHERE hash = ?1"
                       " AND revoked_at IS NULL",
        [S_KEY_GET] = KEY_COLS "WHERE y.app_id = ?1 AND y.id = ?2",
        [S_KEY_LIST] = KEY_COLS "WHERE y.app_id = ?1 ORDER BY y.id" PAGE,
        [S_KEY_COUNT] = "SELECT count(*) FROM api_keys WHERE app_id = ?1",
        [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?3,"
                         " updated_at = ?3 WHERE app_id = ?1 AND id = ?2",

        [S_CUS_BY_ID] = CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.id = ?2",
        [S_CUS_BY_EXT] =
                CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.external_id = ?2",
        [S_CUS_BY_CODE] =
                CUSTOMER_COLS "WHERE c.app_id = ?1 AND c.referral_code = ?2"
                              " AND c.deleted_at IS NULL",
        [S_CUS_INSERT] = "INSERT INTO customers(id, app_id, external_id,"
                         " email, name, referral_code, custom_properties,"
                         " created_at, updated_at) VALUES(?1, ?2, ?3, ?4,"
                         " ?5, ?6, ifnull(?7, '{}'), ?8, ?8)",
        [S_CUS_UPDATE] = "UPDATE customers SET email = ifnull(?3, email),"
                         " name = ifnull(?4, name), custom_properties ="
                         " ifnull(?5, custom_properties), updated_at = ?6"
                         " WHERE app_id = ?1 AND id = ?2",
        [S_CUS_REFERRED] = "UPDATE customers SET referred_by_id = ?3,"
                           " referred_by_referral_id = ?4,"
                           " referred_in_campaign_id = ?5, updated_at = ?6"
                           " WHERE app_id = ?1 AND id = ?2",
        [S_CUS_COUNT] = "UPDATE customers SET visited = visited + ?3,"
                        " converted = converted + ?4, updated_at = ?5"
                        " WHERE app_id = ?1 AND id = ?2",
        [S_CUS_ERASE] = "UPDATE customers SET email = NULL, name = NULL,"
                        " custom_properties = '{}', deleted_at = ?3,"
                        " updated_at = ?3 WHERE app_id = ?1 AND id = ?2",
        [S_CUS_LIST] = CUSTOMER_COLS "WHERE c.app_id = ?1"
                                     " ORDER BY c.id DESC" PAGE,
        [S_CUS_TOTAL] = "SELECT count(*) FROM customers WHERE app_id = ?1",

        [S_CMP_INSERT] = "INSERT INTO campaigns(id, app_id, environment,"
                         " name, reward_hold_days, starts_at, ends_at,"
                         " extra, created_at, updated_at) VALUES(?1, ?2,"
                         " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        [S_CMP_UPDATE] = "UPDATE campaigns SET name = ?4,"
                         " reward_hold_days = ?5, starts_at = ?6,"
                         " ends_at = ?7, extra = ?8, updated_at = ?9"
                         " WHERE app_id = ?2 AND id = ?1",
        [S_CMP_GET] = CAMPAIGN_COLS "WHERE k.app_id = ?1 AND k.id = ?2"
                                    " AND k.deleted_at IS NULL",
        [S_CMP_LIVE] = CAMPAIGN_COLS "WHERE k.app_id = ?1 AND"
                                     " k.environment = ?2 AND k.is_live = 1",
        [S_CMP_LIST] = CAMPAIGN_COLS "WHERE k.app_id = ?1 AND (?2 IS NULL"
                                     " OR k.environment = ?2) AND"
                                     " k.deleted_at IS NULL ORDER BY k.id",
        [S_CMP_UNLIVE_OTHERS] = "UPDATE campaigns SET is_live = 0,"
                                " updated_at = ?3 WHERE app_id = ?1 AND"
                                " is_live = 1 AND environment = (SELECT"
                                " environment FROM campaigns WHERE id = ?2)"
                                " AND id <> ?2",
        [S_CMP_SET_LIVE] = "UPDATE campaigns SET is_live = ?3,"
                           " updated_at = ?4 WHERE app_id = ?1 AND id = ?2",
        [S_CMP_PING] = "UPDATE campaigns SET last_ping_at = ?3,"
                       " last_ping_origin = ?4 WHERE app_id = ?1 AND"
                       " id = ?2 AND deleted_at IS NULL",

        [S_CMP_VERSION] = "SELECT v FROM flockd_meta WHERE k = 'campaigns'",

        [S_CRW_INSERT] = "INSERT INTO campaign_rewards(id, app_id,"
                         " campaign_id, party, lim, limit_unit,"
                         " limit_interval, terms, created_at, updated_at)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        [S_CRW_GET] = CREWARD_COLS "WHERE w.app_id = ?1 AND w.id = ?2",
        [S_CRW_OF] = CREWARD_COLS "WHERE w.campaign_id = ?1 AND"
                                  " w.deleted_at IS NULL ORDER BY w.id",

        [S_CHK_INSERT] = "INSERT INTO checkpoints(id, app_id, campaign_id,"
                         " name, trigger_kind, placement_id, created_at,"
                         " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                         " ?7)",
        [S_CHK_GET] = CHECKPOINT_COLS "WHERE p.app_id = ?1 AND p.id = ?2",
        [S_CHK_FIND] = CHECKPOINT_COLS "WHERE p.app_id = ?1 AND"
                                       " p.campaign_id = ?2 AND p.name = ?3"
                                       " AND p.deleted_at IS NULL",
        [S_CHK_LIST] = CHECKPOINT_COLS "WHERE p.app_id = ?1 AND (?2 IS NULL"
                                       " OR p.campaign_id = ?2) AND"
                                       " p.deleted_at IS NULL ORDER BY p.id",

        [S_REF_INSERT] = "INSERT INTO referrals(id, app_id, environment,"
                         " campaign_id, referrer_id, referee_id, status,"
                         " suspected_frauds, created_at, updated_at)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        [S_REF_UPDATE] = "UPDATE referrals SET referrer_id ="
                         " ifnull(?3, referrer_id), status = ?4,"
                         " suspected_frauds = ?5, updated_at = ?6"
                         " WHERE app_id = ?1 AND id = ?2",
        [S_REF_GET] = REFERRAL_COLS "WHERE f.app_id = ?1 AND f.id = ?2",
        [S_REF_FIND] = REFERRAL_COLS "WHERE f.app_id = ?1 AND"
                                     " f.campaign_id = ?2 AND"
                                     " f.referee_id = ?3",
        [S_REF_BY_REFERRER] = REFERRAL_COLS "WHERE f.app_id = ?1 AND"
                                            " f.campaign_id = ?2 AND"
                                            " f.referrer_id = ?3 ORDER BY"
                                            " f.id DESC LIMIT ?7",
        /* Counting stops at the cap (?4): the rules only ask whether
         * a threshold is reached. */
        [S_REF_COUNT_SINCE] = "SELECT count(*) FROM (SELECT 1 FROM"
                              " referrals WHERE app_id = ?1 AND"
                              " referrer_id = ?2 AND created_at >= ?3"
                              " LIMIT ?4)",
        [S_REF_LIST] = REFERRAL_COLS "WHERE f.app_id = ?1 AND (?2 IS NULL"
                                     " OR f.campaign_id = ?2) AND (?3 IS"
                                     " NULL OR f.status = ?3) AND (?4 IS"
                                     " NULL OR f.environment = ?4)"
                                     " ORDER BY f.id DESC" PAGE,
        [S_REF_TOTAL] = "SELECT count(*) FROM referrals f WHERE"
                        " f.app_id = ?1 AND (?2 IS NULL OR f.campaign_id ="
                        " ?2) AND (?3 IS NULL OR f.status = ?3) AND (?4 IS"
                        " NULL OR f.environment = ?4)",

        [S_RWD_INSERT] = "INSERT INTO rewards(id, app_id, environment,"
                         " campaign_id, campaign_reward_id, referral_id,"
                         " customer_id, party, terms, status, available_at,"
                         " created_at, updated_at) VALUES(?1, ?2, ?3, ?4,"
                         " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)"
                         " ON CONFLICT(referral_id, campaign_reward_id)"
                         " DO NOTHING",
        [S_RWD_GET] = REWARD_COLS "WHERE d.app_id = ?1 AND d.id = ?2",
        [S_RWD_COUNT_SINCE] = "SELECT count(*) FROM (SELECT 1 FROM rewards"
                              " WHERE app_id = ?1 AND campaign_reward_id ="
                              " ?2 AND customer_id = ?3 AND created_at >="
                              " ?4 AND status NOT IN ('revoked',"
                              " 'rejected') LIMIT ?5)",
        /* ?4 is a comma-separated list of the statuses moved from. */
        [S_RWD_TRANSITION] = "UPDATE rewards SET status = ?5,"
                             " updated_at = ?3 WHERE app_id = ?1 AND"
                             " id = ?2 AND instr(',' || ?4 || ',', ','"
                             " || CASE WHEN status = 'pending' AND"
                             " available_at <= ?3 THEN 'approved' ELSE"
                             " status END || ',') > 0",
        [S_RWD_LIST] = REWARD_COLS "WHERE d.app_id = ?1 AND (?2 IS NULL OR"
                                   " (CASE WHEN d.status = 'pending' AND"
                                   " d.available_at <= ?9 THEN 'approved'"
                                   " ELSE d.status END) = ?2) AND (?3 IS"
                                   " NULL OR d.environment = ?3) AND (?4"
                                   " IS NULL OR d.customer_id = ?4)"
                                   " ORDER BY d.id DESC" PAGE,
        [S_RWD_TOTAL] = "SELECT count(*) FROM rewards d WHERE d.app_id = ?1"
                        " AND (?2 IS NULL OR (CASE WHEN d.status ="
                        " 'pending' AND d.available_at <= ?9 THEN"
                        " 'approved' ELSE d.status END) = ?2) AND (?3 IS"
                        " NULL OR d.environment = ?3) AND (?4 IS NULL OR"
                        " d.customer_id = ?4)",
        [S_RWD_DUE] = REWARD_COLS "WHERE d.status = 'pending' AND"
                                  " d.available_at <= ?9 ORDER BY"
                                  " d.available_at LIMIT ?7",

        [S_EVT_INSERT] = "INSERT INTO checkpoint_events(id, app_id,"
                         " environment, customer_id, name, properties,"
                         " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [S_EVT_SEEN] = "SELECT 1 FROM checkpoint_events WHERE"
                       " customer_id = ?3 AND name = ?4 AND environment = ?2"
                       " AND app_id = ?1 LIMIT 1",

        [S_OUT_INSERT] = "INSERT INTO outbox(id, app_id, environment, name,"
                         " timestamp, body) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
        [S_OUT_LIST] = "SELECT o.body AS \"*\" FROM outbox o WHERE"
                       " o.app_id = ?1 AND (?2 IS NULL OR o.environment ="
                       " ?2) AND (?3 IS NULL OR o.name = ?3) ORDER BY"
                       " o.seq DESC" PAGE,
        [S_OUT_TOTAL] = "SELECT count(*) FROM outbox o WHERE o.app_id = ?1"
                        " AND (?2 IS NULL OR o.environment = ?2) AND (?3 IS"
                        " NULL OR o.name = ?3)",

        [S_WH_INSERT] = "INSERT INTO webhook_endpoints(id, app_id, url,"
                        " events, environment, secret, created_at,"
                        " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                        " ?7)",
        [S_WH_GET] = WEBHOOK_COLS "WHERE h.app_id = ?1 AND h.id = ?2",
        [S_WH_DELETE] = "UPDATE webhook_endpoints SET deleted_at = ?3,"
                        " updated_at = ?3 WHERE app_id = ?1 AND id = ?2"
                        " AND deleted_at IS NULL",
        [S_WH_LIST] = WEBHOOK_COLS "WHERE h.app_id = ?1 AND"
                                   " h.deleted_at IS NULL ORDER BY h.id" PAGE,
        [S_WH_TOTAL] = "SELECT count(*) FROM webhook_endpoints WHERE"
                       " app_id = ?1 AND deleted_at IS NULL",
        [S_WH_WANTS] = "SELECT 1 FROM webhook_endpoints, json_each(events)"
                       " j WHERE app_id = ?1 AND deleted_at IS NULL AND"
                       " j.value = ?2 LIMIT 1",

        [S_IDEM_GET] = "SELECT body_hash, status, response FROM idempotency"
                       " WHERE app_id = ?1 AND key = ?2",
        [S_IDEM_PUT] = "INSERT INTO idempotency(app_id, key, body_hash,"
                       " status, response, created_at) VALUES(?1, ?2, ?3,"
                       " ?4, ?5, ?6)",
        [S_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < ?1",

        [S_DLV_UNFANNED] = "SELECT seq, id, app_id AS app, environment AS"
                           " env, name, timestamp AS ts FROM outbox WHERE"
                           " fanned_at IS NULL ORDER BY seq LIMIT ?1",
        [S_DLV_TARGETS] = "SELECT h.id AS id FROM webhook_endpoints h WHERE"
                          " h.app_id = ?1 AND h.deleted_at IS NULL AND"
                          " (h.environment IS NULL OR h.environment = ?2)"
                          " AND ((h.events IS NULL AND ?3 <>"
                          " 'checkpoint.ingested') OR EXISTS(SELECT 1 FROM"
                          " json_each(h.events) j WHERE j.value = ?3 OR"
                          " (j.value = '*' AND ?3 <> 'checkpoint.ingested')))",
        [S_DLV_INSERT] = "INSERT OR IGNORE INTO deliveries(id, app_id,"
                         " endpoint_id, event_seq, event_id, event_name,"
                         " environment, event_ts, state, attempts,"
                         " next_attempt_at, created_at, updated_at)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending',"
                         " 0, ?9, ?9, ?9)",
        [S_DLV_FANNED] = "UPDATE outbox SET fanned_at = ?2 WHERE seq <= ?1"
                         " AND fanned_at IS NULL",
        /* Two statements, not one with OR: each walks deliveries_state
         * in order and stops at the limit, without sorting a backlog. */
        [S_DLV_DUE] = DUE_COLS "WHERE d.state = 'pending' AND"
                               " d.next_attempt_at <= ?1 AND h.enabled = 1"
                               " AND h.deleted_at IS NULL ORDER BY"
                               " d.next_attempt_at LIMIT ?2",
        [S_DLV_EXPIRED] = DUE_COLS "WHERE d.state = 'inflight' AND"
                                   " d.lease_until <= ?1 AND h.enabled = 1"
                                   " AND h.deleted_at IS NULL LIMIT ?2",
        [S_DLV_LEASE] = "UPDATE deliveries SET state = 'inflight',"
                        " lease_owner = ?2, lease_until = ?3, updated_at ="
                        " ?4 WHERE id = ?1",
        [S_DLV_COMPLETE] = "UPDATE deliveries SET state = ?3, attempts ="
                           " attempts + 1, next_attempt_at = ?4,"
                           " lease_owner = NULL, lease_until = NULL,"
                           " last_status = ?5, last_error = ?6,"
                           " delivered_at = CASE WHEN ?3 = 'delivered'"
                           " THEN ?7 ELSE delivered_at END, updated_at = ?7"
                           " WHERE id = ?1 AND state = 'inflight' AND"
                           " lease_owner = ?2",
        [S_DLV_LOG] = "INSERT INTO delivery_attempts(delivery_id, app_id,"
                      " endpoint_id, event_id, attempt, at, status,"
                      " latency_ms, excerpt, error) SELECT id, app_id,"
                      " endpoint_id, event_id, attempts, ?2, ?3, ?4, ?5, ?6"
                      " FROM deliveries WHERE id = ?1",
        [S_DLV_GONE] = "UPDATE webhook_endpoints SET enabled = 0,"
                       " disabled_reason = 'gone', updated_at = ?2 WHERE"
                       " id = (SELECT endpoint_id FROM deliveries WHERE id"
                       " = ?1)",
        [S_DLV_RELEASE] = "UPDATE deliveries SET state = 'pending',"
                          " lease_owner = NULL, lease_until = NULL,"
                          " updated_at = ?2 WHERE state = 'inflight' AND"
                          " lease_owner = ?1",
        [S_DLV_STATE] = "SELECT state FROM deliveries WHERE id = ?1 AND"
                        " endpoint_id = ?2 AND app_id = ?3",
        [S_DLV_REPLAY_ONE] = "UPDATE deliveries SET state = 'pending',"
                             " attempts = 0, next_attempt_at = ?4,"
                             " updated_at = ?4 WHERE id = ?1 AND"
                             " endpoint_id = ?2 AND app_id = ?3 AND state"
                             " <> 'inflight'",
        [S_DLV_REPLAY_DEAD] = "UPDATE deliveries SET state = 'pending',"
                              " attempts = 0, next_attempt_at = ?3,"
                              " updated_at = ?3 WHERE state = 'dead' AND"
                              " endpoint_id = ?1 AND app_id = ?2",
        [S_DLV_LIST] =
                "SELECT d.id AS id, d.endpoint_id AS endpointId, d.event_id"
                " AS eventId, d.event_name AS eventName, d.environment AS"
                " environment, CASE WHEN d.state = 'pending' AND d.attempts"
                " > 0 THEN 'retrying' ELSE d.state END AS state, d.attempts"
                " AS attempts, CASE WHEN d.state = 'pending' THEN"
                " d.next_attempt_at END AS \"@nextAttemptAt\", d.last_status"
                " AS lastStatus, d.last_error AS lastError, d.created_at AS"
                " \"@createdAt\", d.updated_at AS \"@updatedAt\","
                " d.delivered_at AS \"@deliveredAt\" FROM deliveries d"
                " WHERE d.app_id = ?1 AND d.endpoint_id = ?2 AND (?3 IS NULL"
                " OR (CASE WHEN d.state = 'pending' AND d.attempts > 0 THEN"
                " 'retrying' ELSE d.state END) = ?3) ORDER BY d.created_at"
                " DESC, d.id DESC" PAGE,
        [S_DLV_TOTAL] = "SELECT count(*) FROM deliveries d WHERE d.app_id ="
                        " ?1 AND d.endpoint_id = ?2 AND (?3 IS NULL OR (CASE"
                        " WHEN d.state = 'pending' AND d.attempts > 0 THEN"
                        " 'retrying' ELSE d.state END) = ?3)",
        [S_ATT_LIST] = "SELECT a.delivery_id AS deliveryId, a.event_id AS"
                       " eventId, a.attempt AS attempt, a.at AS \"@at\","
                       " a.status AS status, a.latency_ms AS latencyMs,"
                       " a.excerpt AS responseExcerpt, a.error AS error"
                       " FROM delivery_attempts a WHERE a.app_id = ?1 AND"
                       " a.endpoint_id = ?2 AND (?3 IS NULL OR"
                       " a.delivery_id = ?3) ORDER BY a.id DESC" PAGE,
        [S_ATT_TOTAL] = "SELECT count(*) FROM delivery_attempts a WHERE"
                        " a.app_id = ?1 AND a.endpoint_id = ?2 AND (?3 IS"
                        " NULL OR a.delivery_id = ?3)",
        [S_DLV_STATS] = "SELECT coalesce(sum(state = 'pending' AND attempts"
                        " = 0), 0), coalesce(sum(state = 'pending' AND"
                        " attempts > 0), 0), coalesce(sum(state ="
                        " 'inflight'), 0), coalesce(sum(state = 'dead'),"
                        " 0), min(CASE WHEN state <> 'dead' THEN event_ts"
                        " END) FROM deliveries WHERE state IN ('pending',"
                        " 'inflight', 'dead') AND endpoint_id IN (SELECT id"
                        " FROM webhook_endpoints WHERE enabled = 1 AND"
                        " deleted_at IS NULL)",
        [S_DLV_UNFANNED_STATS] = "SELECT count(*), min(timestamp) FROM"
                                 " outbox WHERE fanned_at IS NULL",
        [S_WH_UPDATE] = "UPDATE webhook_endpoints SET url = coalesce(?3,"
                        " url), events = CASE WHEN ?4 THEN ?5 ELSE events"
                        " END, enabled = CASE WHEN ?6 < 0 THEN enabled ELSE"
                        " ?6 END, disabled_reason = CASE WHEN ?6 < 0 THEN"
                        " disabled_reason WHEN ?6 = 0 THEN 'operator' END,"
                        " updated_at = ?7 WHERE app_id = ?1 AND id = ?2 AND"
                        " deleted_at IS NULL",
        [S_WH_ROTATE] = "UPDATE webhook_endpoints SET previous_secret ="
                        " secret, previous_until = ?4, secret = ?3,"
                        " updated_at = ?5 WHERE app_id = ?1 AND id = ?2 AND"
                        " deleted_at IS NULL",
};

/* ---- connections ----------------------------------------------------- */

struct sq_conn {
	fd_conn base; /* first: the interface's view */
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	sq_conn *next_free;
};

struct sq_store {
	fd_store base; /* first: the interface's view */
	sq_conn writer;
	sq_conn *readers;
	int nreaders;
	sq_conn *free_readers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int version;

	/* The checkpointer copies the WAL into the database on its own
	 * connection and thread, so commits never wait for it. */
	sq_conn ckpt;
	pthread_t ckpt_thread;
	int ckpt_started;
	int ckpt_quit;
	int ckpt_due;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;

	int wal_fd; /* the WAL, for fd_store_sync; -1 until first used */

	/* Request rate limit (fd_store_rate_hit): this process owns the
	 * database, so the counts live here, each key's current window only. */
	pthread_mutex_t rate_mu;
	struct sq_rate **rate; /* RATE_BUCKETS chains */
	int64_t rate_swept;    /* window of the last full sweep */
};

struct sq_rate {
	struct sq_rate *next;
	int64_t window;
	long count;
	char key[]; /* NUL-terminated */
};

#define RATE_BUCKETS 256

/* WAL pages after which the checkpointer is woken. */
#define CKPT_PAGES 1000

static int conn_open(sq_conn *c, const char *path, int write, char *err,
                     size_t errlen)
{
	int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
	                  : SQLITE_OPEN_READWRITE;
	/* Savepoint journals stay in memory (temp_store), and the writer's
	 * cache holds a whole group commit so nothing spills before it. */
	const char *setup =
	        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	        " PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;"
	        " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384;";
	char *msg = NULL;

	memset(c, 0, sizeof(*c));
	c->base.ops = &sq_ops;
	flags |= SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK)
		goto fail;
	/* Read connections cannot change the journal mode; the writer sets
	 * it once and it is persistent in the file. */
	if (!write)
		setup = "PRAGMA query_only=1; PRAGMA busy_timeout=10000;";
	if (sqlite3_exec(c->db, setup, NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path,
	         msg     ? msg
	         : c->db ? sqlite3_errmsg(c->db)
	                 : "out of memory");
	sqlite3_free(msg);
	sqlite3_close(c->db);
	c->db = NULL;
	return -1;
}

static void conn_close(sq_conn *c)
{
	int i;

	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	c->db = NULL;
}

static int migrate(sq_store *s, char *err, size_t errlen)
{
	sqlite3 *db = s->writer.db;
	sqlite3_stmt *st = NULL;
	char *msg = NULL, pragma[64];
	int v = 0;
	size_t i;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (v > (int)NMIGRATIONS) {
		snprintf(err, errlen,
		         "schema version %d is newer than this"
		         " flockd (%d)",
		         v, (int)NMIGRATIONS);
		return -1;
	}
	for (i = (size_t)v; i < NMIGRATIONS; i++) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%zu;",
		         i + 1);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) ||
		    sqlite3_exec(db, migrations[i], NULL, NULL, &msg) ||
		    sqlite3_exec(db, pragma, NULL, NULL, &msg) ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg)) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	s->version = (int)NMIGRATIONS;
	return 0;
fail:
	snprintf(err, errlen, "migration: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_finalize(st);
	return -1;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	sq_store *s = arg;

	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_due = 1;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
	}
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	sq_store *s = arg;

	pthread_mutex_lock(&s->ckpt_mu);
	while (!s->ckpt_quit) {
		if (!s->ckpt_due) {
			pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
			continue;
		}
		s->ckpt_due = 0;
		pthread_mutex_unlock(&s->ckpt_mu);
		/* PASSIVE: never blocks the writer or the readers. */
		sqlite3_wal_checkpoint_v2(s->ckpt.db, NULL,
		                          SQLITE_CHECKPOINT_PASSIVE, NULL,
		                          NULL);
		pthread_mutex_lock(&s->ckpt_mu);
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	return NULL;
}

static int ckpt_start(sq_store *s, const char *path, char *err, size_t errlen)
{
	if (conn_open(&s->ckpt, path, 1, err, errlen) < 0)
		return -1;
	if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
		snprintf(err, errlen, "cannot start the checkpointer");
		return -1;
	}
	s->ckpt_started = 1;
	sqlite3_wal_autocheckpoint(s->writer.db, 0);
	sqlite3_wal_hook(s->writer.db, wal_hook, s);
	return 0;
}

static void ckpt_stop(sq_store *s)
{
	if (s->ckpt_started) {
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_quit = 1;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
		pthread_join(s->ckpt_thread, NULL);
		s->ckpt_started = 0;
	}
	if (s->ckpt.db)
		conn_close(&s->ckpt);
}

int fd_sqlite_open(fd_store **out, const char *path, int readers, char *err,
                   size_t errlen)
{
	sq_store *s;
	int i;

	*out = NULL;
	if (readers < 1)
		readers = 1;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->readers = calloc((size_t)readers, sizeof(sq_conn)))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return -1;
	}
	s->wal_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->ckpt_mu, NULL);
	pthread_cond_init(&s->ckpt_cv, NULL);
	pthread_mutex_init(&s->rate_mu, NULL);
	if (conn_open(&s->writer, path, 1, err, errlen) < 0 ||
	    migrate(s, err, errlen) < 0 || ckpt_start(s, path, err, errlen) < 0)
		goto fail;
	/* Commits only write the WAL; fd_store_sync makes them durable, so
	 * the engine can sync one batch while it runs the next. The
	 * checkpointer keeps synchronous=FULL: the WAL is synced before any
	 * of it is copied into the database. */
	if (sqlite3_exec(s->writer.db, "PRAGMA synchronous=NORMAL", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->writer.db));
		goto fail;
	}
	for (i = 0; i < readers; i++) {
		if (conn_open(&s->readers[i], path, 0, err, errlen) < 0)
			goto fail;
		s->nreaders = i + 1;
		s->readers[i].next_free = s->free_readers;
		s->free_readers = &s->readers[i];
	}
	s->base.ops = &sq_ops;
	*out = &s->base;
	return 0;
fail:
	sq_close(&s->base);
	return -1;
}

static void sq_close(fd_store *base_)
{
	sq_store *s = (sq_store *)base_;
	int i;

	if (!s)
		return;
	ckpt_stop(s);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	for (i = 0; i < s->nreaders; i++)
		conn_close(&s->readers[i]);
	if (s->writer.db) {
		/* Fold the WAL back into the database on a clean stop. */
		sqlite3_exec(s->writer.db, "PRAGMA wal_checkpoint(TRUNCATE)",
		             NULL, NULL, NULL);
		conn_close(&s->writer);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->ckpt_mu);
	pthread_cond_destroy(&s->ckpt_cv);
	if (s->rate) {
		for (i = 0; i < RATE_BUCKETS; i++) {
			struct sq_rate *r = s->rate[i], *n;

			for (; r; r = n) {
				n = r->next;
				free(r);
			}
		}
		free(s->rate);
	}
	pthread_mutex_destroy(&s->rate_mu);
	free(s->readers);
	free(s);
}

static int sq_sync(fd_store *base_)
{
	sq_store *s = (sq_store *)base_;
	const char *wal;

	/* fdatasync flushes the file, whichever descriptor names it, so
	 * our own descriptor of SQLite's WAL is enough. */
	if (s->wal_fd < 0) {
		wal = sqlite3_filename_wal(
		        sqlite3_db_filename(s->writer.db, "main"));
		if (!wal || (s->wal_fd = open(wal, O_RDWR | O_CLOEXEC)) < 0)
			return FD_ERR;
	}
	return fdatasync(s->wal_fd) == 0 ? FD_OK : FD_ERR;
}

static int sq_schema_version(fd_store *base_)
{
	sq_store *s = (sq_store *)base_;
	return s->version;
}

static fd_conn *sq_writer(fd_store *base_)
{
	sq_store *s = (sq_store *)base_;

	return &s->writer.base;
}

static fd_conn *sq_reader(fd_store *base_)
{
	sq_store *s = (sq_store *)base_;
	sq_conn *c;

	pthread_mutex_lock(&s->mu);
	while (!s->free_readers)
		pthread_cond_wait(&s->cv, &s->mu);
	c = s->free_readers;
	s->free_readers = c->next_free;
	pthread_mutex_unlock(&s->mu);
	return &c->base;
}

static void sq_reader_done(fd_store *base_, fd_conn *cbase)
{
	sq_store *s = (sq_store *)base_;
	sq_conn *c = (sq_conn *)cbase;

	pthread_mutex_lock(&s->mu);
	c->next_free = s->free_readers;
	s->free_readers = c;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- statement helpers ----------------------------------------------- */

static sqlite3_stmt *stmt(sq_conn *c, int id)
{
	if (!c->st[id] &&
	    sqlite3_prepare_v3(c->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	                       &c->st[id], NULL) != SQLITE_OK)
		return NULL;
	return c->st[id];
}

/*
 * Bind parameters ?1, ?2... from fmt: 's' text (NULL binds NULL), 'i'
 * int64, 'z' int64 where 0 binds NULL, 'b' 32-byte blob, '-' skip one
 * position. Returns the statement, reset and bound, or NULL.
 */
static sqlite3_stmt *prep(sq_conn *c, int id, const char *fmt, ...)
{
	sqlite3_stmt *st = stmt(c, id);
	va_list ap;
	int i, rc = SQLITE_OK;
	int64_t v;

	if (!st)
		return NULL;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	va_start(ap, fmt);
	for (i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 's':
			rc = sqlite3_bind_text(st, i, va_arg(ap, const char *),
			                       -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'z':
			v = va_arg(ap, int64_t);
			rc = v ? sqlite3_bind_int64(st, i, v)
			       : sqlite3_bind_null(st, i);
			break;
		case 'b':
			rc = sqlite3_bind_blob(st, i, va_arg(ap, const void *),
			                       32, SQLITE_STATIC);
			break;
		default:
			break;
		}
	}
	va_end(ap);
	return rc == SQLITE_OK ? st : NULL;
}

/* Bind ?7 (limit), ?8 (offset), ?9 (now) where the statement has them. */
static int bind_tail(sqlite3_stmt *st, long limit, long offset)
{
	int n;

	if (!st)
		return -1;
	n = sqlite3_bind_parameter_count(st);
	if ((n >= 7 && sqlite3_bind_int64(st, 7, limit)) ||
	    (n >= 8 && sqlite3_bind_int64(st, 8, offset)) ||
	    (n >= 9 && sqlite3_bind_int64(st, 9, flock__now_ms())))
		return -1;
	return 0;
}

/* Run a statement that returns no rows; FD_CONFLICT on a unique refusal. */
static int exec_st(sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return FD_ERR;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return FD_OK;
	if (rc == SQLITE_CONSTRAINT)
		return FD_CONFLICT;
	return FD_ERR;
}

/* Like exec_st, but FD_NOTFOUND when no row changed. */
static int change_st(sq_conn *c, sqlite3_stmt *st)
{
	int rc = exec_st(st);

	if (rc == FD_OK && sqlite3_changes(c->db) == 0)
		return FD_NOTFOUND;
	return rc;
}

static int set_column(json_t *obj, sqlite3_stmt *st, int i)
{
	const char *name = sqlite3_column_name(st, i);
	int type = sqlite3_column_type(st, i);
	char iso[FLOCK__ISO8601_LEN];
	json_t *v = NULL;

	if (!name)
		return -1;
	if (name[0] == '*' || name[0] == '{') {
		const char *t = (const char *)sqlite3_column_text(st, i);
		/* The common empty object without the parser. */
		v = !t ? json_null()
		    : strcmp(t, "{}") == 0
		            ? json_object()
		            : json_loads(t, JSON_DECODE_ANY, NULL);
		if (!v)
			return -1;
		if (name[0] == '*') {
			int rc = json_is_object(v) ? json_object_update(obj, v)
			                           : 0;
			json_decref(v);
			return rc;
		}
		return json_object_set_new(obj, name + 1, v);
	}
	if (type == SQLITE_NULL)
		v = json_null();
	else if (name[0] == '@') {
		flock__iso8601(iso, sqlite3_column_int64(st, i));
		v = json_string(iso);
	} else if (name[0] == '?')
		v = json_boolean(sqlite3_column_int64(st, i) != 0);
	else if (type == SQLITE_INTEGER)
		v = json_integer(sqlite3_column_int64(st, i));
	else if (type == SQLITE_FLOAT)
		v = json_real(sqlite3_column_double(st, i));
	else
		v = json_string((const char *)sqlite3_column_text(st, i));
	if (name[0] == '@' || name[0] == '?')
		name++;
	return json_object_set_new(obj, name, v);
}

static json_t *row_object(sqlite3_stmt *st)
{
	json_t *obj = json_object();
	int i, n = sqlite3_column_count(st);

	for (i = 0; obj && i < n; i++) {
		if (set_column(obj, st, i) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* One row as an object into *out: FD_OK, FD_NOTFOUND or FD_ERR. */
static int fetch_one(sqlite3_stmt *st, json_t **out)
{
	int rc;

	*out = NULL;
	if (!st)
		return FD_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = row_object(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return FD_NOTFOUND;
	return *out ? FD_OK : FD_ERR;
}

/* Every row into a new array *out. */
static int fetch_all(sqlite3_stmt *st, json_t **out)
{
	json_t *arr = json_array(), *o;
	int rc = SQLITE_ERROR;

	*out = NULL;
	if (!st || !arr)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(o = row_object(st)) || json_array_append_new(arr, o))
			goto fail;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_reset(st);
	*out = arr;
	return FD_OK;
fail:
	if (st)
		sqlite3_reset(st);
	json_decref(arr);
	return FD_ERR;
}

static int fetch_count(sqlite3_stmt *st, long *out)
{
	int rc;

	*out = 0;
	if (!st)
		return FD_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW    ? FD_OK
	       : rc == SQLITE_DONE ? FD_NOTFOUND
	                           : FD_ERR;
}

/* {"total","limit","offset","data"} from a count and a page statement. */
static int fetch_page(sqlite3_stmt *count, sqlite3_stmt *page, long limit,
                      long offset, json_t **out)
{
	json_t *data = NULL;
	long total;

	*out = NULL;
	if (bind_tail(count, limit, offset) < 0 ||
	    bind_tail(page, limit, offset) < 0)
		return FD_ERR;
	if (fetch_count(count, &total) != FD_OK ||
	    fetch_all(page, &data) != FD_OK)
		return FD_ERR;
	*out = json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total,
	                 "limit", (json_int_t)limit, "offset",
	                 (json_int_t)offset, "data", data);
	return *out ? FD_OK : FD_ERR;
}

/* ---- transactions ---------------------------------------------------- */

static int sq_begin(fd_conn *base_, int write)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, write ? S_BEGIN_W : S_BEGIN_R, ""));
}

static int sq_commit(fd_conn *base_)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_COMMIT, ""));
}

static int sq_rollback(fd_conn *base_)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_ROLLBACK, ""));
}

static int sq_savepoint(fd_conn *base_)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_SAVEPOINT, ""));
}

static int sq_release(fd_conn *base_)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_RELEASE, ""));
}

static int sq_rollback_to(fd_conn *base_)
{
	sq_conn *c = (sq_conn *)base_;
	/* ROLLBACK TO keeps the savepoint open; release it too. */
	if (exec_st(prep(c, S_ROLLBACK_TO, "")) != FD_OK)
		return FD_ERR;
	return exec_st(prep(c, S_RELEASE, ""));
}

static int sq_ping(fd_conn *base_)
{
	sq_conn *c = (sq_conn *)base_;
	long one;

	return fetch_count(prep(c, S_PING, ""), &one) == FD_OK ? FD_OK : FD_ERR;
}

/* ---- organizations, applications, keys ------------------------------- */

static int sq_org_insert(fd_conn *base_, const char *id, const char *name,
                         int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_ORG_INSERT, "ssi", id, name, now));
}

static int sq_app_insert(fd_conn *base_, const char *id, const char *org_id,
                         const char *name, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_APP_INSERT, "sssi", id, org_id, name, now));
}

static int sq_app_get(fd_conn *base_, const char *id, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_APP_GET, "s", id), out);
}

static int sq_app_list(fd_conn *base_, const char *org_id, const char *only_app,
                       long limit, long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_APP_COUNT, "ss", only_app, org_id),
	                  prep(c, S_APP_LIST, "ss", only_app, org_id), limit,
	                  offset, out);
}

static int sq_key_insert(fd_conn *base_, const fd_store_key *k, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_KEY_INSERT, "sssisbsi", k->id, k->app_id,
	                    k->org_id, (int64_t)k->kind,
	                    k->environment ? k->environment : "", k->hash,
	                    k->prefix, now));
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", s ? s : "");
}

static int sq_key_auth(fd_conn *base_, const uint8_t hash[32],
                       fd_principal *out)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st = prep(c, S_KEY_AUTH, "b", hash);
	int rc;

	if (!st)
		return FD_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_col(out->key_id, sizeof(out->key_id), st, 0);
		copy_col(out->app_id, sizeof(out->app_id), st, 1);
		copy_col(out->org_id, sizeof(out->org_id), st, 2);
		out->kind = (fd_key_kind)sqlite3_column_int(st, 3);
		copy_col(out->environment, sizeof(out->environment), st, 4);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW    ? FD_OK
	       : rc == SQLITE_DONE ? FD_NOTFOUND
	                           : FD_ERR;
}

static int sq_key_get(fd_conn *base_, const char *app_id, const char *id,
                      json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_KEY_GET, "ss", app_id, id), out);
}

static int sq_key_list(fd_conn *base_, const char *app_id, long limit,
                       long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_KEY_COUNT, "s", app_id),
	                  prep(c, S_KEY_LIST, "s", app_id), limit, offset, out);
}

static int sq_key_revoke(fd_conn *base_, const char *app_id, const char *id,
                         int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_KEY_REVOKE, "ssi", app_id, id, now));
}

/* ---- customers ------------------------------------------------------- */

static int sq_customer_get(fd_conn *base_, const char *app_id, fd_lookup by,
                           const char *key, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	int id = by == FD_BY_ID         ? S_CUS_BY_ID
	         : by == FD_BY_EXTERNAL ? S_CUS_BY_EXT
	                                : S_CUS_BY_CODE;

	if (!key) {
		*out = NULL;
		return FD_NOTFOUND;
	}
	return fetch_one(prep(c, id, "ss", app_id, key), out);
}

static int sq_customer_insert(fd_conn *base_, const char *app_id,
                              const char *id, const char *external_id,
                              const char *email, const char *name,
                              const char *code, const char *props, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_CUS_INSERT, "sssssssi", id, app_id,
	                    external_id, email, name, code, props, now));
}

static int sq_customer_update(fd_conn *base_, const char *app_id,
                              const char *id, const char *email,
                              const char *name, const char *props, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_CUS_UPDATE, "sssssi", app_id, id, email,
	                         name, props, now));
}

static int sq_customer_set_referred(fd_conn *base_, const char *app_id,
                                    const char *id, const char *referrer_id,
                                    const char *referral_id,
                                    const char *campaign_id, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_CUS_REFERRED, "sssssi", app_id, id,
	                         referrer_id, referral_id, campaign_id, now));
}

static int sq_customer_count(fd_conn *base_, const char *app_id, const char *id,
                             int visited, int converted, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_CUS_COUNT, "ssiii", app_id, id,
	                         (int64_t)visited, (int64_t)converted, now));
}

static int sq_customer_erase(fd_conn *base_, const char *app_id, const char *id,
                             int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_CUS_ERASE, "ssi", app_id, id, now));
}

static int sq_customer_list(fd_conn *base_, const char *app_id, long limit,
                            long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_CUS_TOTAL, "s", app_id),
	                  prep(c, S_CUS_LIST, "s", app_id), limit, offset, out);
}

/* ---- campaigns ------------------------------------------------------- */

static int sq_campaign_insert(fd_conn *base_, const char *app_id,
                              const fd_store_campaign *k, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_CMP_INSERT, "ssssizzsi", k->id, app_id,
	                    k->environment, k->name, (int64_t)k->hold_days,
	                    k->starts_at, k->ends_at,
	                    k->extra ? k->extra : "{}", now));
}

static int sq_campaign_update(fd_conn *base_, const char *app_id,
                              const fd_store_campaign *k, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_CMP_UPDATE, "ss-sizzsi", k->id, app_id,
	                         k->name, (int64_t)k->hold_days, k->starts_at,
	                         k->ends_at, k->extra ? k->extra : "{}", now));
}

/* Attach rewards[] to a campaign object. */
static int with_rewards(sq_conn *c, int rc, json_t **out)
{
	json_t *rw = NULL;
	const char *id;

	if (rc != FD_OK)
		return rc;
	id = json_string_value(json_object_get(*out, "id"));
	if (fetch_all(prep(c, S_CRW_OF, "s", id), &rw) != FD_OK ||
	    json_object_set_new(*out, "rewards", rw)) {
		json_decref(*out);
		*out = NULL;
		return FD_ERR;
	}
	return FD_OK;
}

static int sq_campaign_get(fd_conn *base_, const char *app_id, const char *id,
                           json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	if (!id) {
		*out = NULL;
		return FD_NOTFOUND;
	}
	return with_rewards(
	        c, fetch_one(prep(c, S_CMP_GET, "ss", app_id, id), out), out);
}

static int sq_campaign_live(fd_conn *base_, const char *app_id, const char *env,
                            json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return with_rewards(
	        c, fetch_one(prep(c, S_CMP_LIVE, "ss", app_id, env), out), out);
}

static int sq_campaign_list(fd_conn *base_, const char *app_id, const char *env,
                            json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	size_t i;
	json_t *k, *one;

	if (fetch_all(prep(c, S_CMP_LIST, "ss", app_id, env), out) != FD_OK)
		return FD_ERR;
	json_array_foreach(*out, i, k)
	{
		one = json_incref(k);
		if (with_rewards(c, FD_OK, &one) != FD_OK) {
			json_decref(*out);
			*out = NULL;
			return FD_ERR;
		}
		json_decref(one);
	}
	return FD_OK;
}

static int sq_campaign_set_live(fd_conn *base_, const char *app_id,
                                const char *id, int live, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	if (live && exec_st(prep(c, S_CMP_UNLIVE_OTHERS, "ssi", app_id, id,
	                         now)) != FD_OK)
		return FD_ERR;
	return change_st(c, prep(c, S_CMP_SET_LIVE, "ssii", app_id, id,
	                         (int64_t)(live != 0), now));
}

static int sq_campaign_ping(fd_conn *base_, const char *app_id, const char *id,
                            const char *origin, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c,
	                 prep(c, S_CMP_PING, "ssis", app_id, id, now, origin));
}

static int sq_campaigns_version(fd_conn *base_, int64_t *out)
{
	sq_conn *c = (sq_conn *)base_;
	long v = 0;
	int rc = fetch_count(prep(c, S_CMP_VERSION, ""), &v);

	*out = v;
	return rc == FD_ERR ? FD_ERR : FD_OK;
}

static int sq_campaign_reward_insert(fd_conn *base_, const char *app_id,
                                     const fd_store_campaign_reward *r,
                                     int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_CRW_INSERT, "sssszsssi", r->id, app_id,
	                    r->campaign_id, r->party, (int64_t)r->limit,
	                    r->limit_unit, r->limit_interval,
	                    r->terms ? r->terms : "{}", now));
}

static int sq_campaign_reward_get(fd_conn *base_, const char *app_id,
                                  const char *id, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_CRW_GET, "ss", app_id, id), out);
}

/* ---- checkpoints ----------------------------------------------------- */

static int sq_checkpoint_insert(fd_conn *base_, const char *app_id,
                                const char *id, const char *campaign_id,
                                const char *name, const char *trigger,
                                const char *placement_id, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_CHK_INSERT, "ssssssi", id, app_id, campaign_id,
	                    name, trigger, placement_id, now));
}

static int sq_checkpoint_get(fd_conn *base_, const char *app_id, const char *id,
                             json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_CHK_GET, "ss", app_id, id), out);
}

static int sq_checkpoint_find(fd_conn *base_, const char *app_id,
                              const char *campaign_id, const char *name,
                              json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_CHK_FIND, "sss", app_id, campaign_id, name),
	                 out);
}

static int sq_checkpoint_list(fd_conn *base_, const char *app_id,
                              const char *campaign_id, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_all(prep(c, S_CHK_LIST, "ss", app_id, campaign_id), out);
}

/* ---- referrals ------------------------------------------------------- */

static int sq_referral_insert(fd_conn *base_, const char *app_id,
                              const char *id, const char *env,
                              const char *campaign_id, const char *referrer_id,
                              const char *referee_id, const char *status,
                              const char *frauds, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_REF_INSERT, "ssssssssi", id, app_id, env,
	                    campaign_id, referrer_id, referee_id, status,
	                    frauds, now));
}

static int sq_referral_update(fd_conn *base_, const char *app_id,
                              const char *id, const char *referrer_id,
                              const char *status, const char *frauds,
                              int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_REF_UPDATE, "sssssi", app_id, id,
	                         referrer_id, status, frauds, now));
}

static int sq_referral_get(fd_conn *base_, const char *app_id, const char *id,
                           json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_REF_GET, "ss", app_id, id), out);
}

static int sq_referral_find(fd_conn *base_, const char *app_id,
                            const char *campaign_id, const char *referee_id,
                            json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(
	        prep(c, S_REF_FIND, "sss", app_id, campaign_id, referee_id),
	        out);
}

static int sq_referral_by_referrer(fd_conn *base_, const char *app_id,
                                   const char *campaign_id,
                                   const char *referrer_id, long limit,
                                   json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st = prep(c, S_REF_BY_REFERRER, "sss", app_id,
	                        campaign_id, referrer_id);

	if (!st || sqlite3_bind_int64(st, 7, limit > 0 ? limit : -1))
		return FD_ERR;
	return fetch_all(st, out);
}

static int sq_referral_count_since(fd_conn *base_, const char *app_id,
                                   const char *referrer_id, int64_t since,
                                   long cap, long *out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_count(prep(c, S_REF_COUNT_SINCE, "ssii", app_id,
	                        referrer_id, since, (int64_t)cap),
	                   out);
}

static int sq_referral_list(fd_conn *base_, const char *app_id,
                            const fd_referral_filter *f, long limit,
                            long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_REF_TOTAL, "ssss", app_id, f->campaign_id,
	                       f->status, f->environment),
	                  prep(c, S_REF_LIST, "ssss", app_id, f->campaign_id,
	                       f->status, f->environment),
	                  limit, offset, out);
}

/* ---- rewards --------------------------------------------------------- */

static int sq_reward_insert(fd_conn *base_, const char *app_id,
                            const fd_store_reward *r, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	int rc = exec_st(prep(c, S_RWD_INSERT, "ssssssssssii", r->id, app_id,
	                      r->env, r->campaign_id, r->campaign_reward_id,
	                      r->referral_id, r->customer_id, r->party,
	                      r->terms ? r->terms : "{}", r->status,
	                      r->available_at, now));

	/* DO NOTHING reports success; the change count tells. */
	if (rc == FD_OK && sqlite3_changes(c->db) == 0)
		return FD_CONFLICT;
	return rc;
}

static int sq_reward_get(fd_conn *base_, const char *app_id, const char *id,
                         json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st = prep(c, S_RWD_GET, "ss", app_id, id);

	if (!st || sqlite3_bind_int64(st, 9, flock__now_ms()))
		return FD_ERR;
	return fetch_one(st, out);
}

static int sq_reward_count_since(fd_conn *base_, const char *app_id,
                                 const char *campaign_reward_id,
                                 const char *customer_id, int64_t since,
                                 long cap, long *out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_count(prep(c, S_RWD_COUNT_SINCE, "sssii", app_id,
	                        campaign_reward_id, customer_id, since,
	                        (int64_t)cap),
	                   out);
}

static int sq_reward_transition(fd_conn *base_, const char *app_id,
                                const char *id, const char *from,
                                const char *to, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_RWD_TRANSITION, "ssiss", app_id, id, now,
	                         from, to));
}

static int sq_reward_list(fd_conn *base_, const char *app_id,
                          const fd_reward_filter *f, long limit, long offset,
                          json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_RWD_TOTAL, "ssss", app_id, f->status,
	                       f->environment, f->customer_id),
	                  prep(c, S_RWD_LIST, "ssss", app_id, f->status,
	                       f->environment, f->customer_id),
	                  limit, offset, out);
}

static int sq_reward_due(fd_conn *base_, int64_t now, long limit, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st = prep(c, S_RWD_DUE, "");

	if (!st || sqlite3_bind_int64(st, 7, limit) ||
	    sqlite3_bind_int64(st, 9, now))
		return FD_ERR;
	return fetch_all(st, out);
}

/* ---- checkpoint events, outbox, webhooks, idempotency ---------------- */

static int sq_event_insert(fd_conn *base_, const char *app_id, const char *id,
                           const char *env, const char *customer_id,
                           const char *name, const char *props, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_EVT_INSERT, "ssssssi", id, app_id, env,
	                    customer_id, name, props, now));
}

static int sq_event_seen(fd_conn *base_, const char *app_id, const char *env,
                         const char *customer_id, const char *name)
{
	sq_conn *c = (sq_conn *)base_;
	long one;
	int rc = fetch_count(
	        prep(c, S_EVT_SEEN, "ssss", app_id, env, customer_id, name),
	        &one);

	return rc == FD_OK ? 1 : rc == FD_NOTFOUND ? 0 : FD_ERR;
}

static int sq_outbox_insert(fd_conn *base_, const char *app_id, const char *id,
                            const char *env, const char *name, int64_t ts,
                            const char *body)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_OUT_INSERT, "ssssis", id, app_id, env, name,
	                    ts, body));
}

static int sq_outbox_list(fd_conn *base_, const char *app_id, const char *env,
                          const char *name, long limit, long offset,
                          json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_OUT_TOTAL, "sss", app_id, env, name),
	                  prep(c, S_OUT_LIST, "sss", app_id, env, name), limit,
	                  offset, out);
}

static int sq_webhook_insert(fd_conn *base_, const char *app_id, const char *id,
                             const char *url, const char *events,
                             const char *env, const char *secret, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_WH_INSERT, "ssssssi", id, app_id, url, events,
	                    env, secret, now));
}

static int sq_webhook_get(fd_conn *base_, const char *app_id, const char *id,
                          json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_one(prep(c, S_WH_GET, "ss", app_id, id), out);
}

static int sq_webhook_delete(fd_conn *base_, const char *app_id, const char *id,
                             int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_WH_DELETE, "ssi", app_id, id, now));
}

static int sq_webhook_list(fd_conn *base_, const char *app_id, long limit,
                           long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(prep(c, S_WH_TOTAL, "s", app_id),
	                  prep(c, S_WH_LIST, "s", app_id), limit, offset, out);
}

static int sq_webhook_wants(fd_conn *base_, const char *app_id,
                            const char *name)
{
	sq_conn *c = (sq_conn *)base_;
	long one;
	int rc = fetch_count(prep(c, S_WH_WANTS, "ss", app_id, name), &one);

	return rc == FD_OK ? 1 : rc == FD_NOTFOUND ? 0 : FD_ERR;
}

static int sq_idem_get(fd_conn *base_, const char *app_id, const char *key,
                       uint8_t hash[32], int *status, char **body)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st = prep(c, S_IDEM_GET, "ss", app_id, key);
	int rc;

	*body = NULL;
	if (!st)
		return FD_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 0);
		const char *t = (const char *)sqlite3_column_text(st, 2);

		if (h && sqlite3_column_bytes(st, 0) == 32)
			memcpy(hash, h, 32);
		else
			memset(hash, 0, 32);
		*status = sqlite3_column_int(st, 1);
		*body = strdup(t ? t : "null");
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return *body ? FD_OK : FD_ERR;
	return rc == SQLITE_DONE ? FD_NOTFOUND : FD_ERR;
}

static int sq_idem_put(fd_conn *base_, const char *app_id, const char *key,
                       const uint8_t hash[32], int status, const char *body,
                       int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_IDEM_PUT, "ssbisi", app_id, key, hash,
	                    (int64_t)status, body, now));
}

static int sq_idem_purge(fd_conn *base_, int64_t before)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_IDEM_PURGE, "i", before));
}

/* ---- request rate limit ---------------------------------------------- */

/* Drop the entries of chain *pp older than window. */
static void rate_prune(struct sq_rate **pp, int64_t window)
{
	while (*pp) {
		struct sq_rate *r = *pp;

		if (r->window < window) {
			*pp = r->next;
			free(r);
		} else {
			pp = &r->next;
		}
	}
}

static int sq_rate_hit(fd_store *base_, const char *key_id, int64_t window,
                       long *count)
{
	sq_store *s = (sq_store *)base_;
	struct sq_rate *r;
	size_t h = 5381, len = strlen(key_id), i;
	int rc = FD_OK;

	for (i = 0; i < len; i++)
		h = h * 33 + (unsigned char)key_id[i];
	h %= RATE_BUCKETS;
	pthread_mutex_lock(&s->rate_mu);
	if (!s->rate && !(s->rate = calloc(RATE_BUCKETS, sizeof(*s->rate)))) {
		rc = FD_ERR;
		goto out;
	}
	/* Keys that went quiet are forgotten about once a minute. */
	if (window - s->rate_swept >= 60) {
		for (i = 0; i < RATE_BUCKETS; i++)
			rate_prune(&s->rate[i], window);
		s->rate_swept = window;
	}
	for (r = s->rate[h]; r; r = r->next)
		if (strcmp(r->key, key_id) == 0)
			break;
	if (!r) {
		if (!(r = malloc(sizeof(*r) + len + 1))) {
			rc = FD_ERR;
			goto out;
		}
		memcpy(r->key, key_id, len + 1);
		r->window = window;
		r->count = 0;
		r->next = s->rate[h];
		s->rate[h] = r;
	}
	if (r->window < window) {
		r->window = window;
		r->count = 0;
	}
	/* A clock stepped back counts in the newer window it already has. */
	*count = ++r->count;
out:
	pthread_mutex_unlock(&s->rate_mu);
	return rc;
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

/* The endpoints receiving (app, env, name), looked up once per fan-out
 * call: a batch holds many events of few kinds. Borrowed reference. */
static json_t *targets_of(sq_conn *c, json_t *cache, const json_t *ev)
{
	char key[256];
	json_t *t;

	snprintf(key, sizeof(key), "%s\n%s\n%s", jstr_of(ev, "app"),
	         jstr_of(ev, "env"), jstr_of(ev, "name"));
	if ((t = json_object_get(cache, key)))
		return t;
	if (fetch_all(prep(c, S_DLV_TARGETS, "sss", jstr_of(ev, "app"),
	                   jstr_of(ev, "env"), jstr_of(ev, "name")),
	              &t) != FD_OK ||
	    json_object_set_new(cache, key, t) < 0)
		return NULL;
	return t;
}

/* One delivery per receiving endpoint of one outbox event. */
static int fan_event(sq_conn *c, json_t *cache, const json_t *ev, int64_t now)
{
	json_t *targets = targets_of(c, cache, ev), *t;
	char id[FLOCK__ID_MAX];
	size_t i;
	int rc = targets ? FD_OK : FD_ERR;

	json_array_foreach(targets, i, t)
	{
		if (rc != FD_OK)
			break;
		if (flock__id_new(id, "dlv_") < 0) {
			rc = FD_ERR;
			break;
		}
		rc = exec_st(prep(c, S_DLV_INSERT, "sssisssii", id,
		                  jstr_of(ev, "app"), jstr_of(t, "id"),
		                  jint_of(ev, "seq"), jstr_of(ev, "id"),
		                  jstr_of(ev, "name"), jstr_of(ev, "env"),
		                  jint_of(ev, "ts"), now));
	}
	return rc;
}

static int sq_delivery_fanout(fd_conn *base_, int64_t now, long limit, long *n)
{
	sq_conn *c = (sq_conn *)base_;
	json_t *events = NULL, *ev, *cache = json_object();
	size_t i;
	int rc = fetch_all(prep(c, S_DLV_UNFANNED, "i", (int64_t)limit),
	                   &events);

	*n = 0;
	if (!cache)
		rc = FD_ERR;
	json_array_foreach(events, i, ev)
	{
		if (rc != FD_OK)
			break;
		rc = fan_event(c, cache, ev, now);
	}
	/* The batch is the oldest unfanned events: all up to the last. */
	if (rc == FD_OK && json_array_size(events) > 0) {
		ev = json_array_get(events, json_array_size(events) - 1);
		rc = exec_st(
		        prep(c, S_DLV_FANNED, "ii", jint_of(ev, "seq"), now));
		*n = (long)json_array_size(events);
	}
	json_decref(cache);
	json_decref(events);
	return rc;
}

/* Lease every delivery of due (an array) to node; FD_OK or FD_ERR. */
static int lease_all(sq_conn *c, json_t *due, const char *node, int64_t now,
                     int64_t lease_until)
{
	json_t *d;
	size_t i;
	int rc = FD_OK;

	json_array_foreach(due, i, d)
	{
		if (rc != FD_OK)
			break;
		rc = exec_st(prep(c, S_DLV_LEASE, "ssii", jstr_of(d, "id"),
		                  node, lease_until, now));
		if (json_is_null(json_object_get(d, "previousSecret")))
			json_object_del(d, "previousSecret");
	}
	return rc;
}

static int sq_delivery_claim(fd_conn *base_, const char *node, int64_t now,
                             int64_t lease_until, long limit, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	json_t *due = NULL, *more = NULL;
	int rc;

	*out = NULL;
	/* Expired leases first: they are the oldest work. */
	rc = fetch_all(prep(c, S_DLV_EXPIRED, "ii", now, (int64_t)limit), &due);
	if (rc == FD_OK && (long)json_array_size(due) < limit) {
		rc = fetch_all(
		        prep(c, S_DLV_DUE, "ii", now,
		             (int64_t)(limit - (long)json_array_size(due))),
		        &more);
		if (rc == FD_OK && json_array_extend(due, more) < 0)
			rc = FD_ERR;
	}
	json_decref(more);
	if (rc == FD_OK)
		rc = lease_all(c, due, node, now, lease_until);
	if (rc != FD_OK) {
		json_decref(due);
		return rc;
	}
	*out = due;
	return FD_OK;
}

static const char *const outcome_state[] = {
        [FD_DELIVERY_DELIVERED] = "delivered",
        [FD_DELIVERY_RETRY] = "pending",
        [FD_DELIVERY_DEAD] = "dead",
};

static int sq_delivery_complete(fd_conn *base_, const fd_store_attempt *a,
                                int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	int rc;

	if (a->outcome < FD_DELIVERY_DELIVERED || a->outcome > FD_DELIVERY_DEAD)
		return FD_ERR;
	rc = change_st(c,
	               prep(c, S_DLV_COMPLETE, "ssszzsi", a->delivery_id,
	                    a->node, outcome_state[a->outcome],
	                    a->outcome == FD_DELIVERY_RETRY ? a->next_attempt_at
	                                                    : (int64_t)0,
	                    (int64_t)a->status, a->error, now));
	if (rc == FD_OK)
		rc = exec_st(prep(c, S_DLV_LOG, "siziss", a->delivery_id, a->at,
		                  (int64_t)a->status, (int64_t)a->latency_ms,
		                  a->excerpt, a->error));
	if (rc == FD_OK && a->disable_endpoint)
		rc = exec_st(prep(c, S_DLV_GONE, "si", a->delivery_id, now));
	return rc;
}

static int sq_delivery_release(fd_conn *base_, const char *node, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return exec_st(prep(c, S_DLV_RELEASE, "si", node, now));
}

static int sq_delivery_replay(fd_conn *base_, const char *app_id,
                              const char *endpoint_id, const char *delivery_id,
                              int64_t now, long *n)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (!delivery_id) {
		rc = exec_st(prep(c, S_DLV_REPLAY_DEAD, "ssi", endpoint_id,
		                  app_id, now));
		*n = rc == FD_OK ? (long)sqlite3_changes(c->db) : 0;
		return rc;
	}
	st = prep(c, S_DLV_STATE, "sss", delivery_id, endpoint_id, app_id);
	if (!st)
		return FD_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		rc = state && strcmp(state, "inflight") == 0 ? FD_CONFLICT
		                                             : FD_OK;
	} else
		rc = rc == SQLITE_DONE ? FD_NOTFOUND : FD_ERR;
	sqlite3_reset(st);
	if (rc != FD_OK)
		return rc;
	rc = change_st(c, prep(c, S_DLV_REPLAY_ONE, "sssi", delivery_id,
	                       endpoint_id, app_id, now));
	*n = rc == FD_OK;
	return rc;
}

static int sq_delivery_list(fd_conn *base_, const char *app_id,
                            const char *endpoint_id, const char *state,
                            long limit, long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(
	        prep(c, S_DLV_TOTAL, "sss", app_id, endpoint_id, state),
	        prep(c, S_DLV_LIST, "sss", app_id, endpoint_id, state), limit,
	        offset, out);
}

static int sq_attempt_list(fd_conn *base_, const char *app_id,
                           const char *endpoint_id, const char *delivery_id,
                           long limit, long offset, json_t **out)
{
	sq_conn *c = (sq_conn *)base_;
	return fetch_page(
	        prep(c, S_ATT_TOTAL, "sss", app_id, endpoint_id, delivery_id),
	        prep(c, S_ATT_LIST, "sss", app_id, endpoint_id, delivery_id),
	        limit, offset, out);
}

static int sq_delivery_stats(fd_conn *base_, fd_delivery_stats *out)
{
	sq_conn *c = (sq_conn *)base_;
	sqlite3_stmt *st = prep(c, S_DLV_STATS, "");
	int64_t oldest;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return FD_ERR;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->pending = (long)sqlite3_column_int64(st, 0);
		out->retrying = (long)sqlite3_column_int64(st, 1);
		out->inflight = (long)sqlite3_column_int64(st, 2);
		out->dead = (long)sqlite3_column_int64(st, 3);
		out->oldest_ms = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || !(st = prep(c, S_DLV_UNFANNED_STATS, "")))
		return FD_ERR;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->unfanned = (long)sqlite3_column_int64(st, 0);
		oldest = sqlite3_column_int64(st, 1);
		if (oldest && (!out->oldest_ms || oldest < out->oldest_ms))
			out->oldest_ms = oldest;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? FD_OK : FD_ERR;
}

static int sq_webhook_update(fd_conn *base_, const char *app_id, const char *id,
                             const char *url, int events_set,
                             const char *events, int enabled, int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_WH_UPDATE, "sssisii", app_id, id, url,
	                         (int64_t)events_set, events, (int64_t)enabled,
	                         now));
}

static int sq_webhook_rotate(fd_conn *base_, const char *app_id, const char *id,
                             const char *secret, int64_t previous_until,
                             int64_t now)
{
	sq_conn *c = (sq_conn *)base_;
	return change_st(c, prep(c, S_WH_ROTATE, "sssii", app_id, id, secret,
	                         previous_until, now));
}

static const fd_store_ops sq_ops = {
        .name = "sqlite",
        .close = sq_close,
        .sync = sq_sync,
        .schema_version = sq_schema_version,
        .writer = sq_writer,
        .reader = sq_reader,
        .reader_done = sq_reader_done,
        .begin = sq_begin,
        .commit = sq_commit,
        .rollback = sq_rollback,
        .savepoint = sq_savepoint,
        .release = sq_release,
        .rollback_to = sq_rollback_to,
        .ping = sq_ping,
        .org_insert = sq_org_insert,
        .app_insert = sq_app_insert,
        .app_get = sq_app_get,
        .app_list = sq_app_list,
        .key_insert = sq_key_insert,
        .key_auth = sq_key_auth,
        .key_get = sq_key_get,
        .key_list = sq_key_list,
        .key_revoke = sq_key_revoke,
        .customer_get = sq_customer_get,
        .customer_insert = sq_customer_insert,
        .customer_update = sq_customer_update,
        .customer_set_referred = sq_customer_set_referred,
        .customer_count = sq_customer_count,
        .customer_erase = sq_customer_erase,
        .customer_list = sq_customer_list,
        .campaign_insert = sq_campaign_insert,
        .campaign_update = sq_campaign_update,
        .campaign_get = sq_campaign_get,
        .campaign_live = sq_campaign_live,
        .campaign_list = sq_campaign_list,
        .campaign_set_live = sq_campaign_set_live,
        .campaign_ping = sq_campaign_ping,
        .campaigns_version = sq_campaigns_version,
        .campaign_reward_insert = sq_campaign_reward_insert,
        .campaign_reward_get = sq_campaign_reward_get,
        .checkpoint_insert = sq_checkpoint_insert,
        .checkpoint_get = sq_checkpoint_get,
        .checkpoint_find = sq_checkpoint_find,
        .checkpoint_list = sq_checkpoint_list,
        .referral_insert = sq_referral_insert,
        .referral_update = sq_referral_update,
        .referral_get = sq_referral_get,
        .referral_find = sq_referral_find,
        .referral_by_referrer = sq_referral_by_referrer,
        .referral_count_since = sq_referral_count_since,
        .referral_list = sq_referral_list,
        .reward_insert = sq_reward_insert,
        .reward_get = sq_reward_get,
        .reward_count_since = sq_reward_count_since,
        .reward_transition = sq_reward_transition,
        .reward_list = sq_reward_list,
        .reward_due = sq_reward_due,
        .event_insert = sq_event_insert,
        .event_seen = sq_event_seen,
        .outbox_insert = sq_outbox_insert,
        .outbox_list = sq_outbox_list,
        .webhook_insert = sq_webhook_insert,
        .webhook_get = sq_webhook_get,
        .webhook_delete = sq_webhook_delete,
        .webhook_list = sq_webhook_list,
        .webhook_wants = sq_webhook_wants,
        .idem_get = sq_idem_get,
        .idem_put = sq_idem_put,
        .idem_purge = sq_idem_purge,
        .rate_hit = sq_rate_hit,
        .delivery_fanout = sq_delivery_fanout,
        .delivery_claim = sq_delivery_claim,
        .delivery_complete = sq_delivery_complete,
        .delivery_release = sq_delivery_release,
        .delivery_replay = sq_delivery_replay,
        .delivery_list = sq_delivery_list,
        .attempt_list = sq_attempt_list,
        .delivery_stats = sq_delivery_stats,
        .webhook_update = sq_webhook_update,
        .webhook_rotate = sq_webhook_rotate,
};
