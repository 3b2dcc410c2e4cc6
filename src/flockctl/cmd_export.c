/*
 * flockctl export customers|referrals|rewards: every object of the
 * application, oldest first, as CSV (a header, then one row each) or JSON
 * lines (each object as the API has it), read in pages after a cursor
 * (GET /admin/apps/APP/export/...), so the millionth row costs what the
 * first did. A file given with --output is made 0600: it holds personal
 * data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "common/ids.h"
#include "csv.h"

static const ctl_col x_customers[] = {
        {"id", "id"},
        {"externalUserId", "externalUserId"},
        {"email", "email"},
        {"name", "name"},
        {"referralCode", "referralCode"},
        {"referredById", "referredById"},
        {"referredInCampaignId", "referredInCampaignId"},
        {"visitedReferralsCount", "visitedReferralsCount"},
        {"convertedReferralsCount", "convertedReferralsCount"},
        {"customProperties", "customProperties"},
        {"createdAt", "createdAt"},
        {"updatedAt", "updatedAt"},
        {"deletedAt", "deletedAt"},
        COL_END};
static const ctl_col x_referrals[] = {{"id", "id"},
                                      {"campaignId", "campaignId"},
                                      {"referrerId", "referrerId"},
                                      {"refereeId", "refereeId"},
                                      {"status", "status"},
                                      {"environment", "environment"},
                                      {"suspectedFrauds", "suspectedFrauds"},
                                      {"createdAt", "createdAt"},
                                      {"updatedAt", "updatedAt"},
                                      COL_END};
static const ctl_col x_rewards[] = {
        {"id", "id"},
        {"campaignId", "campaignId"},
        {"campaignRewardId", "campaignRewardId"},
        {"referralId", "referralId"},
        {"customerId", "customerId"},
        {"party", "party"},
        {"type", "type"},
        {"method", "method"},
        {"payoutAmount", "payoutAmount"},
        {"discountAmount", "discountAmount"},
        {"discountPercentage", "discountPercentage"},
        {"currency", "currency"},
        {"status", "status"},
        {"availableAt", "availableAt"},
        {"environment", "environment"},
        {"createdAt", "createdAt"},
        {"updatedAt", "updatedAt"},
        COL_END};

static void put_row(FILE *f, const json_t *o, const ctl_col *cols)
{
	char buf[8192];
	const json_t *v;
	size_t i;

	for (i = 0; cols[i].title; i++) {
		v = json_object_get(o, cols[i].path);
		if (!v || json_is_null(v))
			buf[0] = '\0';
		else
			out_cell(o, cols[i].path, buf, sizeof(buf));
		csv_put(f, buf, cols[i + 1].title ? ',' : '\n');
	}
}

static FILE *open_output(const ctl_args *a, int *rc)
{
	const char *path = arg_get(a, "output");
	int fd;
	FILE *f;

	*rc = 0;
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		*rc = ctl_fail(CTL_EFAIL, "cannot write %s: %s", path,
		               strerror(errno));
		return NULL;
	}
	return f;
}

static int run_export(ctl *c, const ctl_args *a, const char *kind,
                      const ctl_col *cols)
{
	const char *format = arg_get(a, "format"),
	           *env = arg_get(a, "environment");
	char path[1200], after[256] = "";
	json_t *page = NULL, *item;
	int jsonl, rc, progress = c->stderr_tty && !c->quiet;
	long rows = 0;
	size_t i;
	FILE *out;

	if (format && strcmp(format, "csv") && strcmp(format, "jsonl"))
		return ctl_usage(c, "--format must be csv or jsonl");
	if (env && !strcmp(kind, "customers"))
		return ctl_usage(c,
		                 "--environment is for referrals and rewards");
	jsonl = format && !strcmp(format, "jsonl");
	if (!app_path(c, &rc, path, sizeof(path), "/export/%s?limit=1000%s%s",
	              kind, env ? "&environment=" : "",
	              env ? url_part(env) : ""))
		return rc;
	if (!(out = open_output(a, &rc)))
		return rc;
	if (!jsonl)
		for (i = 0; cols[i].title; i++)
			csv_put(out, cols[i].title,
			        cols[i + 1].title ? ',' : '\n');
	for (;;) {
		rc = admin_callf(c, "GET", NULL, &page, "%s%s%s", path,
		                 after[0] ? "&after=" : "",
		                 after[0] ? url_part(after) : "");
		if (rc != CTL_OK)
			break;
		json_array_foreach(json_object_get(page, "data"), i, item)
		{
			if (jsonl) {
				json_dumpf(item, out,
				           JSON_COMPACT | JSON_PRESERVE_ORDER);
				fputc('\n', out);
			} else {
				put_row(out, item, cols);
			}
			rows++;
		}
		if (!json_is_string(json_object_get(page, "next"))) {
			json_decref(page);
			break;
		}
		snprintf(after, sizeof(after), "%s",
		         json_string_value(json_object_get(page, "next")));
		json_decref(page);
		if (progress)
			fprintf(stderr, "\r%ld %s", rows, kind);
	}
	if (progress)
		fprintf(stderr, "\r%ld %s\n", rows, kind);
	if (fflush(out) != 0 && rc == CTL_OK)
		rc = ctl_fail(CTL_EFAIL, "cannot write: %s", strerror(errno));
	if (out != stdout && fclose(out) != 0 && rc == CTL_OK)
		rc = ctl_fail(CTL_EFAIL, "cannot write: %s", strerror(errno));
	return rc;
}

CMD(cmd_export_customers)
{
	return run_export(c, a, "customers", x_customers);
}

CMD(cmd_export_referrals)
{
	return run_export(c, a, "referrals", x_referrals);
}

CMD(cmd_export_rewards)
{
	return run_export(c, a, "rewards", x_rewards);
}
