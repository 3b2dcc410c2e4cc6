/*
 * flockctl: output, as gh and kubectl do it. On a terminal: aligned
 * tables for lists and "field  value" lines for an object. Otherwise (or
 * with --json): the API's JSON, indented, one document per command. With
 * --quiet: ids only, one a line. Members named "secret" (a new key, a
 * webhook endpoint's signing secret) are dropped unless --show-secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define CELL_MAX 48

static const json_t *member(const json_t *obj, const char *path)
{
	char part[128];
	const char *dot;

	while (obj && *path) {
		dot = strchr(path, '.');
		snprintf(part, sizeof(part), "%.*s",
		         (int)(dot ? (size_t)(dot - path) : strlen(path)),
		         path);
		obj = json_is_array(obj)
		              ? json_array_get(obj, strtoul(part, NULL, 10))
		              : json_object_get(obj, part);
		path = dot ? dot + 1 : "";
	}
	return obj;
}

/* A value as text: strings as they are, numbers plainly, null "-",
 * arrays of strings joined with ",", anything else compact JSON. */
static const char *text_of(const json_t *v, char *buf, size_t len)
{
	char *dump;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, len, "true");
		break;
	case JSON_FALSE:
		snprintf(buf, len, "false");
		break;
	case JSON_ARRAY:
		buf[0] = '\0';
		for (i = 0; i < json_array_size(v); i++) {
			const json_t *x = json_array_get(v, i);

			if (!json_is_string(x))
				goto dump;
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
			         i ? "," : "", json_string_value(x));
		}
		if (!buf[0])
			snprintf(buf, len, "-");
		break;
	case JSON_OBJECT:
	dump:
		dump = json_dumps(v, JSON_COMPACT);
		snprintf(buf, len, "%s", dump ? dump : "?");
		free(dump);
		break;
	default:
		snprintf(buf, len, "-");
	}
	return buf;
}

const char *out_cell(const json_t *obj, const char *path, char *buf, size_t len)
{
	const json_t *v;

	if (path[0] == '#') {
		v = member(obj, path + 1);
		snprintf(buf, len, "%zu", json_array_size(v));
		return buf;
	}
	v = member(obj, path);
	return text_of(v, buf, len);
}

int out_hide_secrets(const ctl *c, json_t *obj)
{
	if (c->show_secrets || !json_object_get(obj, "secret"))
		return 0;
	json_object_del(obj, "secret");
	return 1;
}

static int print_json(json_t *v)
{
	if (json_dumpf(v, stdout,
	               JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) <
	    0)
		return CTL_EFAIL;
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? CTL_OK : CTL_EFAIL;
}

static void print_id(const json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "id"));

	if (id)
		printf("%s\n", id);
}

/* Cut a cell for a table: at most CELL_MAX characters (bytes), with
 * "..." for the rest. */
static void cut(char *s)
{
	if (strlen(s) > CELL_MAX)
		memcpy(s + CELL_MAX - 3, "...", 4);
}

int out_object(ctl *c, json_t *obj)
{
	const char *k;
	json_t *v;
	char buf[512];
	int w = 0;

	out_hide_secrets(c, obj);
	if (c->quiet) {
		print_id(obj);
		return CTL_OK;
	}
	if (c->mode == OUT_JSON || !json_is_object(obj))
		return print_json(obj);
	json_object_foreach(obj, k, v)
	{
		if ((int)strlen(k) > w)
			w = (int)strlen(k);
	}
	json_object_foreach(obj, k, v)
	{
		text_of(v, buf, sizeof(buf));
		if (strlen(buf) > 100)
			memcpy(buf + 97, "...", 4);
		printf("%-*s  %s\n", w, k, buf);
	}
	return fflush(stdout) == 0 ? CTL_OK : CTL_EFAIL;
}

int out_list(ctl *c, json_t *items, const ctl_col *cols)
{
	int width[16] = {0}, ncols = 0, i;
	char buf[CELL_MAX + 64];
	size_t r;
	json_t *item;

	json_array_foreach(items, r, item)
	{
		out_hide_secrets(c, item);
	}
	if (c->quiet) {
		json_array_foreach(items, r, item)
		{
			print_id(item);
		}
		return CTL_OK;
	}
	if (c->mode == OUT_JSON)
		return print_json(items);
	for (ncols = 0; cols[ncols].title && ncols < 16; ncols++)
		width[ncols] = (int)strlen(cols[ncols].title);
	json_array_foreach(items, r, item)
	{
		for (i = 0; i < ncols; i++) {
			out_cell(item, cols[i].path, buf, sizeof(buf));
			cut(buf);
			if ((int)strlen(buf) > width[i])
				width[i] = (int)strlen(buf);
		}
	}
	if (json_array_size(items) == 0) {
		fprintf(stderr, "(none)\n");
		return CTL_OK;
	}
	for (i = 0; i < ncols; i++) {
		if (i + 1 < ncols)
			printf("%-*s  ", width[i], cols[i].title);
		else
			printf("%s\n", cols[i].title);
	}
	json_array_foreach(items, r, item)
	{
		for (i = 0; i < ncols; i++) {
			out_cell(item, cols[i].path, buf, sizeof(buf));
			cut(buf);
			if (i + 1 < ncols)
				printf("%-*s  ", width[i], buf);
			else
				printf("%s\n", buf);
		}
	}
	return fflush(stdout) == 0 ? CTL_OK : CTL_EFAIL;
}

int out_value(ctl *c, json_t *v)
{
	char buf[512];

	if (c->mode == OUT_JSON)
		return print_json(v);
	if (json_is_object(v))
		return out_object(c, v);
	printf("%s\n", text_of(v, buf, sizeof(buf)));
	return CTL_OK;
}
