/*
 * flockd engine: the analytics behind the dashboard's overview (admin
 * API, docs/admin-api.md "Analytics"): the funnel, the daily series and
 * the top referrers of one environment over a range of whole UTC days,
 * and the referral visits they start from.
 *
 * A visit is a valid referral code checked (POST /referrals/validate-
 * code): the first thing of a referral a server sees, since sharing
 * happens in the referrer's app. Validation is a read, so visits are
 * counted in memory and written once a second by the first writer's
 * housekeeping (fd__visits_flush); a crash loses at most that second.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "engine/internal.h"

/* The longest range a funnel or top list takes, and a series. */
#define MAX_RANGE_DAYS 3660
#define MAX_SERIES_DAYS 366
#define DEFAULT_DAYS 30

/* ---- visits ------------------------------------------------------------ */

void fd__count_visit(fd_ctx *x, const char *env)
{
	if (!x->w)
		fd__visit(x->e, x->app, env, x->now);
	else if (env && strlen(env) < sizeof(x->visit_env))
		memcpy(x->visit_env, env, strlen(env) + 1);
}

void fd__visit(fd_engine *e, const char *app, const char *env, int64_t now)
{
	int64_t day = now / FD_DAY_MS;
	int i;

	if (!app || !env || strlen(app) >= sizeof(e->visits[0].app) ||
	    strlen(env) >= sizeof(e->visits[0].env))
		return;
	pthread_mutex_lock(&e->stat_mu);
	for (i = 0; i < e->nvisits; i++)
		if (e->visits[i].day == day && !strcmp(e->visits[i].app, app) &&
		    !strcmp(e->visits[i].env, env))
			break;
	/* A full table (32 tenants' visits in one second) drops the rest:
	 * analytics, not accounting. */
	if (i == e->nvisits && i < (int)(sizeof(e->visits) /
	                                 sizeof(e->visits[0]))) {
		snprintf(e->visits[i].app, sizeof(e->visits[i].app), "%s", app);
		snprintf(e->visits[i].env, sizeof(e->visits[i].env), "%s", env);
		e->visits[i].day = day;
		e->visits[i].n = 0;
		e->nvisits++;
	}
	if (i < e->nvisits)
		e->visits[i].n++;
	pthread_mutex_unlock(&e->stat_mu);
}

int fd__visits_flush(fd_engine *e, fd_conn *c)
{
	struct fd_visit v[sizeof(e->visits) / sizeof(e->visits[0])];
	int i, n;

	pthread_mutex_lock(&e->stat_mu);
	n = e->nvisits;
	memcpy(v, e->visits, sizeof(v[0]) * (size_t)n);
	e->nvisits = 0;
	pthread_mutex_unlock(&e->stat_mu);
	for (i = 0; i < n; i++)
		if (fd_store_activity_add(c, v[i].app, v[i].env, "visit",
		                          v[i].day, v[i].n) != FD_OK)
			return -1;
	return 0;
}

/* ---- ranges ------------------------------------------------------------ */

typedef struct {
	const char *env;
	int64_t from, to; /* ms, [from, to), whole days */
	char from_s[16], to_s[16];
} range;

static void day_text(char out[16], int64_t day_ms)
{
	char iso[FLOCK__ISO8601_LEN];

	flock__iso8601(iso, day_ms);
	snprintf(out, 16, "%.10s", iso);
}

/* "YYYY-MM-DD" as the ms of its midnight (UTC). 0 or -1. */
static int parse_day(const char *s, int64_t *ms)
{
	char iso[32];

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	snprintf(iso, sizeof(iso), "%sT00:00:00.000Z", s);
	return flock__parse_iso8601(ms, iso);
}

/* The request's environment and days (query from, to: inclusive dates;
 * default the DEFAULT_DAYS days to today). 0, or -1 with the answer. */
static int take_range(fd_ctx *x, range *r, long max_days)
{
	const char *from = fd__qstr(x, "from"), *to = fd__qstr(x, "to");
	int64_t today = x->now / FD_DAY_MS * FD_DAY_MS;

	memset(r, 0, sizeof(*r));
	if (!(r->env = fd__env(x)))
		return fd__invalid(x, "environment",
		                   "must be one of: production, test");
	if (to && parse_day(to, &r->to) < 0)
		return fd__invalid(x, "to", "must be a date (YYYY-MM-DD)");
	if (!to)
		r->to = today;
	if (from && parse_day(from, &r->from) < 0)
		return fd__invalid(x, "from", "must be a date (YYYY-MM-DD)");
	if (!from)
		r->from = r->to - (DEFAULT_DAYS - 1) * FD_DAY_MS;
	if (r->from > r->to)
		return fd__invalid(x, "from", "must not be after to");
	if ((r->to - r->from) / FD_DAY_MS + 1 > max_days)
		return fd__fail(x, FD_OUT_INVALID, "invalid_field",
		                "from to to spans more than %ld days",
		                max_days);
	day_text(r->from_s, r->from);
	day_text(r->to_s, r->to);
	r->to += FD_DAY_MS; /* exclusive */
	return 0;
}

static json_t *range_object(const range *r)
{
	return json_pack("{s:s, s:s, s:s}", "environment", r->env, "from",
	                 r->from_s, "to", r->to_s);
}

/* ---- rewards' amounts -------------------------------------------------- */

/* What a reward of these terms pays in its currency (payoutAmount, or a
 * fixed discountAmount); 0 and no currency for a percentage. */
static double terms_amount(const json_t *terms, const char **currency)
{
	const char *type = fd__jstr(terms, "type");
	json_t *v = json_object_get(terms, type && !strcmp(type, "discount")
	                                           ? "discountAmount"
	                                           : "payoutAmount");

	*currency = fd__jstr(terms, "currency");
	if (!json_is_number(v) || !*currency)
		return (*currency = NULL), 0;
	return json_number_value(v);
}

/* Add one group of rewards (row: terms, status, count) into amounts
 * ({"usd": 20}) unless revoked or rejected, and its count by status. */
static void add_rewards(json_t *amounts, json_t *by_status, const json_t *row)
{
	const char *status = fd__jstr(row, "status"), *cur;
	json_int_t n = json_integer_value(json_object_get(row, "count"));
	json_t *terms = json_loads(fd__jstr(row, "terms") ? fd__jstr(row, "terms")
	                                                  : "{}",
	                           0, NULL);
	double amount = terms_amount(terms, &cur);

	if (status && by_status)
		json_object_set_new(
		        by_status, status,
		        json_integer(json_integer_value(
		                             json_object_get(by_status, status)) +
		                     n));
	if (cur && strcmp(status, "revoked") && strcmp(status, "rejected"))
		json_object_set_new(
		        amounts, cur,
		        json_real(json_number_value(json_object_get(amounts, cur)) +
		                  amount * (double)n));
	json_decref(terms);
}

/* {"usd": 20.0} as [{"currency","amount"}], amounts to the cent. */
static json_t *amount_list(json_t *amounts)
{
	json_t *out = json_array(), *v;
	const char *k;

	json_object_foreach(amounts, k, v)
	{
		json_array_append_new(
		        out, json_pack("{s:s, s:f}", "currency", k, "amount",
		                       round(json_number_value(v) * 100) / 100));
	}
	return out;
}

/* ---- the funnel -------------------------------------------------------- */

static int funnel(fd_ctx *x)
{
	json_t *counts = NULL, *groups = NULL, *row, *out;
	json_t *amounts = json_object(), *by_status = json_object();
	json_int_t granted = 0;
	range r;
	size_t i;

	if (fd__admin_app(x) < 0 || take_range(x, &r, MAX_RANGE_DAYS) < 0)
		goto fail;
	if (!amounts || !by_status ||
	    fd_store_analytics_counts(x->c, x->app, r.env, r.from, r.to,
	                              &counts) != FD_OK ||
	    fd_store_analytics_rewards(x->c, x->app, r.env, r.from, r.to, 0,
	                               &groups) != FD_OK) {
		fd__internal(x);
		goto fail;
	}
	json_array_foreach(groups, i, row)
	{
		add_rewards(amounts, by_status, row);
		granted += json_integer_value(json_object_get(row, "count"));
	}
	out = range_object(&r);
	json_object_update(out, counts);
	json_object_set_new(out, "rewards",
	                    json_pack("{s:I, s:o, s:o}", "granted", granted,
	                              "byStatus", by_status, "amounts",
	                              amount_list(amounts)));
	json_decref(amounts);
	json_decref(counts);
	json_decref(groups);
	return fd__ok(x, FD_OUT_OK, out);
fail:
	json_decref(amounts);
	json_decref(by_status);
	json_decref(counts);
	json_decref(groups);
	return -1;
}
FD_READ_OP(fd_op_admin_analytics_funnel, funnel)

/* ---- the daily series -------------------------------------------------- */

/* One zeroed day of the series per day of r. */
static json_t *empty_days(const range *r)
{
	json_t *days = json_array();
	int64_t d;
	char date[16];

	for (d = r->from; days && d < r->to; d += FD_DAY_MS) {
		day_text(date, d);
		json_array_append_new(
		        days, json_pack("{s:s, s:i, s:i, s:i, s:i, s:{}}", "date",
		                        date, "visits", 0, "referrals", 0,
		                        "accepted", 0, "rewards", 0, "amounts"));
	}
	return days;
}

/* The day of the series a row of day number `day` falls on, or NULL. */
static json_t *day_of(json_t *days, const range *r, const json_t *row)
{
	json_int_t day = json_integer_value(json_object_get(row, "day"));
	json_int_t i = day - r->from / FD_DAY_MS;

	return i >= 0 ? json_array_get(days, (size_t)i) : NULL;
}

static void bump(json_t *day, const char *name, json_int_t n)
{
	json_object_set_new(
	        day, name,
	        json_integer(json_integer_value(json_object_get(day, name)) + n));
}

static int daily(fd_ctx *x)
{
	json_t *counts = NULL, *groups = NULL, *days = NULL, *row, *day, *out;
	range r;
	size_t i;

	if (fd__admin_app(x) < 0 || take_range(x, &r, MAX_SERIES_DAYS) < 0)
		return -1;
	if (!(days = empty_days(&r)) ||
	    fd_store_analytics_days(x->c, x->app, r.env, r.from, r.to,
	                            &counts) != FD_OK ||
	    fd_store_analytics_rewards(x->c, x->app, r.env, r.from, r.to, 1,
	                               &groups) != FD_OK) {
		json_decref(days);
		json_decref(counts);
		return fd__internal(x);
	}
	json_array_foreach(counts, i, row)
	{
		if ((day = day_of(days, &r, row)))
			bump(day, fd__jstr(row, "name"),
			     json_integer_value(json_object_get(row, "count")));
	}
	json_array_foreach(groups, i, row)
	{
		if (!(day = day_of(days, &r, row)))
			continue;
		bump(day, "rewards",
		     json_integer_value(json_object_get(row, "count")));
		add_rewards(json_object_get(day, "amounts"), NULL, row);
	}
	json_decref(counts);
	json_decref(groups);
	out = range_object(&r);
	json_object_set_new(out, "days", days);
	return fd__ok(x, FD_OUT_OK, out);
}
FD_READ_OP(fd_op_admin_analytics_daily, daily)

/* ---- top referrers ----------------------------------------------------- */

static int top_referrers(fd_ctx *x)
{
	const char *lim = fd__qstr(x, "limit");
	json_t *list = NULL, *out;
	long limit = lim ? strtol(lim, NULL, 10) : 10;
	range r;

	if (fd__admin_app(x) < 0 || take_range(x, &r, MAX_RANGE_DAYS) < 0)
		return -1;
	if (limit < 1 || limit > 100)
		limit = 10;
	if (fd_store_analytics_referrers(x->c, x->app, r.env, r.from, r.to,
	                                 limit, &list) != FD_OK)
		return fd__internal(x);
	out = range_object(&r);
	json_object_set_new(out, "data", list);
	return fd__ok(x, FD_OUT_OK, out);
}
FD_READ_OP(fd_op_admin_analytics_top_referrers, top_referrers)
