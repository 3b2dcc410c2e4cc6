/*
 * The schema, written once for both databases, and migrating to it.
 *
 * Each entry moves the schema from version i to i+1. Never edit a
 * released entry's meaning; append a new one. {i64}, {blob}, {serial} and
 * {without_rowid} are the drivers' spellings of types (driver.h), so both
 * databases have the same tables and columns and migrate-store copies
 * column for column. Where the databases cannot share the text (trigger
 * syntax), an entry has a PostgreSQL text of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

typedef struct {
	const char *sql;
	const char *pg; /* NULL: sql */
} migration;

/* Step 3's triggers: the body of SQLite's, the tail of PostgreSQL's, and
 * the columns of campaigns whose change bumps the version (not pings). */
#define SQ_BUMP                                                                \
	" BEGIN UPDATE flockd_meta SET v = v + 1 WHERE k = 'campaigns'; END;"
#define PG_BUMP " FOR EACH STATEMENT EXECUTE FUNCTION flockd_bump_campaigns();"
#define CAMPAIGN_SHOWN                                                         \
	"name, is_live, reward_hold_days, starts_at, ends_at, extra,"          \
	" deleted_at"

/* Step 5's tables and indexes, the same text for both databases. */
#define DASHBOARD_INDEXES                                                      \
	"CREATE INDEX customers_newest ON customers(app_id, id);"             \
	"CREATE INDEX customers_ext_c ON customers(app_id,"                    \
	" external_id{collate_c});"                                            \
	"CREATE INDEX customers_code_c ON customers(app_id,"                   \
	" referral_code{collate_c});"                                          \
	"CREATE INDEX customers_email_c ON customers(app_id,"                  \
	" (lower(email)){collate_c});"                                         \
	"CREATE INDEX referrals_referee ON referrals(app_id, referee_id);"     \
	"CREATE INDEX referrals_status ON referrals(app_id, status,"           \
	" updated_at);"                                                        \
	"CREATE INDEX rewards_customer ON rewards(app_id, customer_id);"       \
	"CREATE TABLE activity_daily(app_id TEXT NOT NULL,"                    \
	" environment TEXT NOT NULL, name TEXT NOT NULL, day {i64} NOT NULL,"  \
	" count {i64} NOT NULL, PRIMARY KEY(app_id, environment, name,"        \
	" day)){without_rowid};"

/*
 * Step 6's campaign pages (docs/mobile-sdks.md, "Campaign pages"): every
 * stored campaignPages becomes an array of objects in the shape Flock's
 * mobile SDKs decode, whatever an earlier flockd stored there unchecked:
 * not an object: dropped; id: kept if a non-empty string, else
 * "cpg_<campaign id's suffix>_<index>"; path: path, or the dashboard's
 * old "page", else ""; placementId: kept if a non-empty string, else the
 * id; isEmpty: true only if true; screenProps: from screenProps, or the
 * dashboard's old "theme", its five props as strings or null; title,
 * body, buttonText: kept if strings. A campaign without campaignPages
 * gets []. Written once for each database's JSON functions.
 */
/* SQLite: p is a json_each row of one page. */
#define SQ_TEXT(path)                                                          \
	"CASE WHEN json_type(p.value, '" path "') = 'text' THEN"               \
	" json_extract(p.value, '" path "') END"
#define SQ_PROPS(o)                                                            \
	"json_object('backgroundColor', " SQ_TEXT(o ".backgroundColor")        \
	", 'primaryColor', " SQ_TEXT(o ".primaryColor")                        \
	", 'secondaryColor', " SQ_TEXT(o ".secondaryColor")                    \
	", 'textColor', " SQ_TEXT(o ".textColor")                              \
	", 'fontFamily', " SQ_TEXT(o ".fontFamily") ")"
#define SQ_PAGES                                                               \
	"UPDATE campaigns SET extra = json_set(extra, '$.campaignPages',"      \
	" json((SELECT json_group_array(json(page)) FROM (SELECT"              \
	" json_patch(json_object('id', q.id, 'path', q.path, 'placementId',"   \
	" coalesce(q.pl, q.id), 'isEmpty', json(q.empty), 'screenProps',"      \
	" json(q.sp)), json_object('title', q.title, 'body', q.body,"          \
	" 'buttonText', q.button)) AS page FROM (SELECT p.key AS n,"           \
	" CASE WHEN json_type(p.value, '$.id') = 'text' AND"                   \
	" json_extract(p.value, '$.id') <> '' THEN json_extract(p.value,"      \
	" '$.id') ELSE 'cpg_' || substr(campaigns.id, 5) || '_' || p.key END"  \
	" AS id, coalesce(" SQ_TEXT("$.path") ", " SQ_TEXT("$.page")           \
	", '') AS path, CASE WHEN json_type(p.value, '$.placementId') ="       \
	" 'text' AND json_extract(p.value, '$.placementId') <> '' THEN"        \
	" json_extract(p.value, '$.placementId') END AS pl, CASE WHEN"         \
	" json_type(p.value, '$.isEmpty') = 'true' THEN 'true' ELSE 'false'"   \
	" END AS empty, CASE WHEN json_type(p.value, '$.screenProps') ="       \
	" 'object' THEN " SQ_PROPS("$.screenProps") " WHEN json_type(p.value," \
	" '$.theme') = 'object' THEN " SQ_PROPS("$.theme") " END AS sp, "      \
	SQ_TEXT("$.title") " AS title, " SQ_TEXT("$.body") " AS body, "        \
	SQ_TEXT("$.buttonText") " AS button FROM json_each(campaigns.extra,"   \
	" '$.campaignPages') p WHERE p.type = 'object' AND"                    \
	" json_type(campaigns.extra, '$.campaignPages') = 'array') q ORDER BY" \
	" q.n)))) WHERE json_valid(extra);"
/* PostgreSQL's json (not jsonb: key order is kept); p is a page with
 * its ordinality n. */
#define PG_TEXT(e)                                                             \
	"CASE WHEN json_typeof(" e ") = 'string' THEN (" e ") #>> '{}' END"
#define PG_PROPS(o)                                                            \
	"json_build_object('backgroundColor', "                                \
	PG_TEXT(o " -> 'backgroundColor'")                                     \
	", 'primaryColor', " PG_TEXT(o " -> 'primaryColor'")                   \
	", 'secondaryColor', " PG_TEXT(o " -> 'secondaryColor'")               \
	", 'textColor', " PG_TEXT(o " -> 'textColor'")                         \
	", 'fontFamily', " PG_TEXT(o " -> 'fontFamily'") ")"
#define PG_PAGES                                                               \
	"UPDATE campaigns k SET extra = (SELECT json_object_agg(f.key,"        \
	" f.value ORDER BY f.n)::text FROM (SELECT e.key, CASE WHEN e.key ="   \
	" 'campaignPages' THEN (SELECT coalesce(json_agg(page ORDER BY n),"    \
	" '[]'::json) FROM (SELECT q.n, (SELECT json_object_agg(a.k, a.v"      \
	" ORDER BY a.i) FROM (VALUES (1, 'id', to_json(q.id)), (2, 'path',"    \
	" to_json(q.path)), (3, 'placementId', to_json(coalesce(q.pl,"         \
	" q.id))), (4, 'isEmpty', to_json(q.empty)), (5, 'screenProps',"       \
	" coalesce(q.sp, 'null'::json)), (6, 'title', to_json(q.title)), (7,"  \
	" 'body', to_json(q.body)), (8, 'buttonText', to_json(q.button)))"     \
	" a(i, k, v) WHERE a.i <= 5 OR a.v IS NOT NULL) AS page FROM (SELECT"  \
	" p.n, CASE WHEN json_typeof(p.value -> 'id') = 'string' AND"          \
	" p.value ->> 'id' <> '' THEN p.value ->> 'id' ELSE 'cpg_' ||"         \
	" substr(k.id, 5) || '_' || (p.n - 1) END AS id, coalesce("            \
	PG_TEXT("p.value -> 'path'") ", " PG_TEXT("p.value -> 'page'")         \
	", '') AS path, CASE WHEN json_typeof(p.value -> 'placementId') ="     \
	" 'string' AND p.value ->> 'placementId' <> '' THEN p.value ->>"       \
	" 'placementId' END AS pl, coalesce(json_typeof(p.value ->"            \
	" 'isEmpty') = 'boolean' AND (p.value ->> 'isEmpty') = 'true', false)" \
	" AS empty, CASE WHEN json_typeof(p.value -> 'screenProps') ="         \
	" 'object' THEN " PG_PROPS("(p.value -> 'screenProps')")               \
	" WHEN json_typeof(p.value -> 'theme') = 'object' THEN "               \
	PG_PROPS("(p.value -> 'theme')") " END AS sp, "                        \
	PG_TEXT("p.value -> 'title'") " AS title, "                            \
	PG_TEXT("p.value -> 'body'") " AS body, "                              \
	PG_TEXT("p.value -> 'buttonText'") " AS button FROM"                   \
	" json_array_elements(CASE WHEN json_typeof(k.extra::json ->"          \
	" 'campaignPages') = 'array' THEN k.extra::json -> 'campaignPages'"    \
	" ELSE '[]'::json END) WITH ORDINALITY AS p(value, n) WHERE"           \
	" json_typeof(p.value) = 'object') q) pages) ELSE e.value END AS"      \
	" value, e.n FROM json_each(k.extra::json) WITH ORDINALITY AS e(key,"  \
	" value, n) UNION ALL SELECT 'campaignPages', '[]'::json, 0 WHERE"     \
	" json_typeof(k.extra::json -> 'campaignPages') IS NULL) f);"

/* Step 8 (both databases). */
#define CUSTOMER_ENV                                                           \
	"ALTER TABLE customers ADD COLUMN environment TEXT NOT NULL"           \
	" DEFAULT 'production';"                                               \
	"UPDATE customers SET environment = 'test' WHERE (EXISTS (SELECT 1"    \
	" FROM referrals r WHERE (r.referee_id = customers.id OR"              \
	" r.referrer_id = customers.id) AND r.environment = 'test') OR"        \
	" EXISTS (SELECT 1 FROM checkpoint_events v WHERE v.customer_id ="     \
	" customers.id AND v.environment = 'test')) AND NOT EXISTS (SELECT 1"  \
	" FROM referrals r WHERE (r.referee_id = customers.id OR"              \
	" r.referrer_id = customers.id) AND r.environment = 'production')"     \
	" AND NOT EXISTS (SELECT 1 FROM checkpoint_events v WHERE"             \
	" v.customer_id = customers.id AND v.environment = 'production');"

/* Step 8's reward index, the same text for both databases. */
#define REWARDS_LIMIT                                                          \
	"DROP INDEX IF EXISTS rewards_customer;"                               \
	"DROP INDEX IF EXISTS rewards_limit;"                                  \
	"CREATE INDEX rewards_limit ON rewards(app_id, customer_id,"           \
	" campaign_reward_id, created_at, status);"

static const migration migrations[] = {
        {"CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
         " created_at {i64} NOT NULL);"
         "CREATE TABLE apps(id TEXT PRIMARY KEY,"
         " org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64});"
         "CREATE TABLE api_keys(id TEXT PRIMARY KEY,"
         " app_id TEXT REFERENCES apps(id), org_id TEXT NOT NULL,"
         " kind INTEGER NOT NULL, environment TEXT NOT NULL DEFAULT '',"
         " hash {blob} NOT NULL UNIQUE, prefix TEXT NOT NULL,"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " revoked_at {i64});"
         "CREATE INDEX api_keys_app ON api_keys(app_id);"
         "CREATE TABLE customers(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL REFERENCES apps(id),"
         " external_id TEXT NOT NULL, email TEXT, name TEXT,"
         " referral_code TEXT NOT NULL, referred_by_id TEXT,"
         " referred_by_referral_id TEXT, referred_in_campaign_id TEXT,"
         " visited {i64} NOT NULL DEFAULT 0,"
         " converted {i64} NOT NULL DEFAULT 0,"
         " custom_properties TEXT NOT NULL DEFAULT '{}',"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64},"
         " UNIQUE(app_id, external_id), UNIQUE(app_id, referral_code));"
         "CREATE TABLE campaigns(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL REFERENCES apps(id),"
         " environment TEXT NOT NULL, name TEXT NOT NULL,"
         " is_live INTEGER NOT NULL DEFAULT 0,"
         " reward_hold_days INTEGER NOT NULL DEFAULT 0,"
         " starts_at {i64}, ends_at {i64}, last_ping_at {i64},"
         " last_ping_origin TEXT, extra TEXT NOT NULL DEFAULT '{}',"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64});"
         "CREATE INDEX campaigns_app ON campaigns(app_id, environment);"
         /* At most one live campaign per application and environment. */
         "CREATE UNIQUE INDEX campaigns_one_live ON campaigns(app_id,"
         " environment) WHERE is_live = 1;"
         "CREATE TABLE campaign_rewards(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
         " REFERENCES campaigns(id), party TEXT NOT NULL,"
         " lim {i64}, limit_unit TEXT, limit_interval TEXT,"
         " terms TEXT NOT NULL DEFAULT '{}',"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64});"
         "CREATE INDEX campaign_rewards_campaign ON"
         " campaign_rewards(campaign_id);"
         "CREATE TABLE checkpoints(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
         " REFERENCES campaigns(id), name TEXT NOT NULL,"
         " trigger_kind TEXT NOT NULL, placement_id TEXT,"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64}, UNIQUE(campaign_id, name));"
         "CREATE INDEX checkpoints_app ON checkpoints(app_id);"
         "CREATE TABLE referrals(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL, environment TEXT NOT NULL,"
         " campaign_id TEXT NOT NULL REFERENCES campaigns(id),"
         " referrer_id TEXT NOT NULL REFERENCES customers(id),"
         " referee_id TEXT NOT NULL REFERENCES customers(id),"
         " status TEXT NOT NULL, suspected_frauds TEXT,"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64}, UNIQUE(campaign_id, referee_id));"
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
         " available_at {i64} NOT NULL,"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64},"
         /* Exactly once: the database, not a prior read, refuses a
          * second grant of one campaign reward for one referral. */
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
         " created_at {i64} NOT NULL);"
         "CREATE INDEX checkpoint_events_customer ON"
         " checkpoint_events(customer_id, name, environment);"
         "CREATE TABLE outbox(seq {serial},"
         " id TEXT NOT NULL UNIQUE, app_id TEXT NOT NULL,"
         " environment TEXT NOT NULL, name TEXT NOT NULL,"
         " timestamp {i64} NOT NULL, body TEXT NOT NULL);"
         "CREATE INDEX outbox_app ON outbox(app_id, seq);"
         "CREATE TABLE webhook_endpoints(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT,"
         " environment TEXT, secret TEXT NOT NULL,"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " deleted_at {i64});"
         "CREATE INDEX webhook_endpoints_app ON webhook_endpoints(app_id);"
         "CREATE TABLE idempotency(app_id TEXT NOT NULL, key TEXT NOT NULL,"
         " body_hash {blob} NOT NULL, status INTEGER NOT NULL,"
         " response TEXT NOT NULL, created_at {i64} NOT NULL,"
         " PRIMARY KEY(app_id, key)){without_rowid};"
         "CREATE INDEX idempotency_age ON idempotency(created_at);",
         NULL},
        /* 2: webhook deliveries (store.h "deliveries"). Events already in
         * the outbox count as fanned out (they predate delivery). */
        {"ALTER TABLE outbox ADD COLUMN fanned_at {i64};"
         "UPDATE outbox SET fanned_at = 0;"
         "CREATE INDEX outbox_unfanned ON outbox(seq) WHERE fanned_at IS"
         " NULL;"
         "ALTER TABLE webhook_endpoints ADD COLUMN enabled INTEGER NOT NULL"
         " DEFAULT 1;"
         "ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;"
         "ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT;"
         "ALTER TABLE webhook_endpoints ADD COLUMN previous_until {i64};"
         "CREATE TABLE deliveries(id TEXT PRIMARY KEY,"
         " app_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,"
         " event_seq {i64} NOT NULL, event_id TEXT NOT NULL,"
         " event_name TEXT NOT NULL, environment TEXT NOT NULL,"
         " event_ts {i64} NOT NULL, state TEXT NOT NULL,"
         " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at {i64},"
         " lease_owner TEXT, lease_until {i64}, last_status INTEGER,"
         " last_error TEXT, delivered_at {i64},"
         " created_at {i64} NOT NULL, updated_at {i64} NOT NULL,"
         " UNIQUE(event_id, endpoint_id));"
         "CREATE INDEX deliveries_state ON deliveries(state,"
         " next_attempt_at);"
         "CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id,"
         " created_at);"
         "CREATE TABLE delivery_attempts(id {serial},"
         " delivery_id TEXT NOT NULL, app_id TEXT NOT NULL,"
         " endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL,"
         " attempt INTEGER NOT NULL, at {i64} NOT NULL, status INTEGER,"
         " latency_ms {i64}, excerpt TEXT, error TEXT);"
         "CREATE INDEX delivery_attempts_endpoint ON"
         " delivery_attempts(endpoint_id, id);"
         "CREATE INDEX delivery_attempts_delivery ON"
         " delivery_attempts(delivery_id, id);",
         NULL},
        /* 3: fd_store_campaigns_version, bumped by triggers on any change
         * to campaigns (not pings), their rewards and checkpoints: every
         * node sharing the database sees its live-campaign cache go
         * stale. */
        {"CREATE TABLE flockd_meta(k TEXT PRIMARY KEY, v {i64} NOT NULL);"
         "INSERT INTO flockd_meta VALUES('campaigns', 0);"
         "CREATE TRIGGER campaigns_ins AFTER INSERT ON campaigns" SQ_BUMP
         "CREATE TRIGGER campaigns_upd AFTER UPDATE OF " CAMPAIGN_SHOWN
         " ON campaigns" SQ_BUMP
         "CREATE TRIGGER campaign_rewards_ins AFTER INSERT ON"
         " campaign_rewards" SQ_BUMP
         "CREATE TRIGGER campaign_rewards_upd AFTER UPDATE ON"
         " campaign_rewards" SQ_BUMP
         "CREATE TRIGGER checkpoints_ins AFTER INSERT ON checkpoints" SQ_BUMP
         "CREATE TRIGGER checkpoints_upd AFTER UPDATE ON checkpoints" SQ_BUMP,
         "CREATE TABLE flockd_meta(k TEXT PRIMARY KEY, v BIGINT NOT NULL);"
         "INSERT INTO flockd_meta VALUES('campaigns', 0);"
         "CREATE FUNCTION flockd_bump_campaigns() RETURNS trigger"
         " LANGUAGE plpgsql AS $$ BEGIN UPDATE flockd_meta SET v = v + 1"
         " WHERE k = 'campaigns'; RETURN NULL; END $$;"
         "CREATE TRIGGER campaigns_ins AFTER INSERT OR DELETE ON"
         " campaigns" PG_BUMP
         "CREATE TRIGGER campaigns_upd AFTER UPDATE OF " CAMPAIGN_SHOWN
         " ON campaigns" PG_BUMP
         "CREATE TRIGGER campaign_rewards_chg AFTER INSERT OR UPDATE OR"
         " DELETE ON campaign_rewards" PG_BUMP
         "CREATE TRIGGER checkpoints_chg AFTER INSERT OR UPDATE OR DELETE"
         " ON checkpoints" PG_BUMP},
        /* 4: request rate limit windows (store.h fd_store_rate_hit),
         * shared by every node. Only shared databases use it: where one
         * process owns the database the counts live in its memory. */
        {"CREATE TABLE rate_windows(key_id TEXT NOT NULL,"
         " window_start {i64} NOT NULL, count {i64} NOT NULL,"
         " PRIMARY KEY(key_id, window_start));",
         NULL},
        /* 5: the dashboard (docs/dashboard.md). Customer search by a
         * prefix of the external id, the referral code or the email
         * (lowercased) in byte order, so both databases walk an index
         * at any size; the newest customers first; a customer's
         * referrals (as referee) and rewards; the review queue and the
         * funnel's "accepted" by status and time; referral visits
         * counted per day. SQLite's triggers of step 3 miss a deleted
         * checkpoint (a checkpoint can now be deleted); PostgreSQL's
         * cover DELETE already. */
        {DASHBOARD_INDEXES
         "CREATE TRIGGER checkpoints_del AFTER DELETE ON checkpoints" SQ_BUMP,
         DASHBOARD_INDEXES},
        /* 6: campaign pages in the shape Flock's mobile SDKs decode,
         * each with an id (SQ_PAGES above); the engine checks every
         * page written from now on (engine/pages.c). */
        {SQ_PAGES, PG_PAGES},
        /* 7: the environment a customer belongs to, so a key or token
         * limited to one environment never reaches the other's customers
         * (engine/scope.c, docs/security.md). Customers written before
         * are test customers if only test referrals and test checkpoint
         * events name them, else production. */
        {CUSTOMER_ENV, NULL},
        /* 8: only the indexes a query uses (each is written by every
         * insert). The reward limit's count and a customer's rewards
         * share one index (app, customer, campaign reward, time,
         * status) in place of two. On SQLite, where {collate_c} is the
         * default byte order, customers_ext_c and customers_code_c
         * repeated the indexes of the UNIQUE constraints; PostgreSQL
         * keeps them (its default collation is not byte order). It can
         * run again (a test sets an older version). */
        {REWARDS_LIMIT "DROP INDEX IF EXISTS customers_ext_c;"
                       "DROP INDEX IF EXISTS customers_code_c;",
         REWARDS_LIMIT},
        /* 9: idempotency records in a table with rowids (SQLite; on
         * PostgreSQL, where {without_rowid} is nothing, the same table
         * again): a record (its whole reply, ~2.3 KB for an ingest) is
         * appended and found through the small (app_id, key) index,
         * where step 1's WITHOUT ROWID table keeps the replies in its
         * key's B-tree, in random key order, spilling to overflow pages.
         * New records go here; the old table is still read and purged
         * (store/ops_accounts.c), so nothing is copied at the upgrade
         * and the old records last their 48 hours. It can run again. */
        {"CREATE TABLE IF NOT EXISTS idempotency_v2(app_id TEXT NOT NULL,"
         " key TEXT NOT NULL, body_hash {blob} NOT NULL, status INTEGER NOT"
         " NULL, response TEXT NOT NULL, created_at {i64} NOT NULL,"
         " PRIMARY KEY(app_id, key));"
         "CREATE INDEX IF NOT EXISTS idempotency_v2_age ON"
         " idempotency_v2(created_at);",
         NULL},
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Run the driver's {token} (or {token arg}) on s's writer; an empty text
 * runs nothing. 0 or -1. */
static int run_token(fd_store *s, const char *token)
{
	char *sql = fd_db__expand(s->drv, token);
	int rc = sql && (!*sql || s->drv->exec(s->writer.db, sql) == FD_OK);

	free(sql);
	return rc ? 0 : -1;
}

/* The schema version of s's database (0: none yet): 0 or -1. */
static int version_of(fd_store *s, int *out)
{
	FD_SQL(get, "{version_get}");
	long v = 0;
	int rc = run_token(s, "{version_setup}") < 0
	                 ? FD_ERR
	                 : fd_db__count(&s->writer, &v, &get, "");

	*out = (int)v;
	return rc == FD_OK || rc == FD_NOTFOUND ? 0 : -1;
}

static int run_step(fd_store *s, int i, char *err, size_t errlen)
{
	const fd_driver *d = s->drv;
	const char *sql = d->shared && migrations[i].pg ? migrations[i].pg
	                                                : migrations[i].sql;
	char *text = fd_db__expand(d, sql), set[64];
	int ok;

	snprintf(set, sizeof(set), "{version_set %d}", i + 1);
	ok = text && run_token(s, "{begin_write}") == 0 &&
	     d->exec(s->writer.db, text) == FD_OK && run_token(s, set) == 0 &&
	     d->exec(s->writer.db, "COMMIT") == FD_OK;
	if (!ok) {
		snprintf(err, errlen, "migration %d: %s", i + 1,
		         d->errmsg(s->writer.db));
		d->exec(s->writer.db, "ROLLBACK");
	}
	free(text);
	return ok ? 0 : -1;
}

int fd_db__migrate(fd_store *s, char *err, size_t errlen)
{
	const fd_driver *d = s->drv;
	int v = 0, i, rc = -1, locked;

	/* Nodes starting together: one migrates, the others wait here and
	 * then find the schema current. */
	locked = run_token(s, "{migrate_lock}") == 0;
	if (!locked || version_of(s, &v) < 0) {
		snprintf(err, errlen, "migration: %s", d->errmsg(s->writer.db));
		goto done;
	}
	if (v > NMIGRATIONS) {
		snprintf(err, errlen,
		         "schema version %d is newer than this flockd (%d)", v,
		         NMIGRATIONS);
		goto done;
	}
	for (i = v; i < NMIGRATIONS; i++)
		if (run_step(s, i, err, errlen) < 0)
			goto done;
	/* A migration is durable before anything is built on it. */
	s->version = NMIGRATIONS;
	rc = d->sync(s->writer.db) == FD_OK ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "migration: cannot sync the database");
done:
	if (locked && run_token(s, "{migrate_unlock}") < 0)
		rc = -1;
	return rc;
}
