/*
 * flockctl: command options, declared as data (ctl_cmd.opts) and parsed
 * here: --name VALUE, --name=VALUE, flags, positional arguments, and "--"
 * ending the options. Every mistake is said with the command's name and
 * a pointer to its --help.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

const char *cmd_name(char *buf, size_t len, const ctl_cmd *cmd)
{
	snprintf(buf, len, "flockctl %s%s%s", cmd->group, cmd->verb ? " " : "",
	         cmd->verb ? cmd->verb : "");
	return buf;
}

static const ctl_opt *find_opt(const ctl_cmd *cmd, const char *name, size_t len)
{
	const ctl_opt *o;

	for (o = cmd->opts; o && o->name; o++)
		if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static int seen(const ctl_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0)
			return 1;
	return 0;
}

#ifdef __GNUC__
__attribute__((format(printf, 2, 3)))
#endif
static int
usage(const ctl_cmd *cmd, const char *fmt, ...)
{
	char name[96], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cmd_name(name, sizeof(name), cmd);
	fprintf(stderr, "%s: %s (see %s --help)\n", name, msg, name);
	return CTL_EUSAGE;
}

int args_parse(ctl_args *a, const ctl_cmd *cmd, int argc, char **argv)
{
	int i, options = 1;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		const char *s = argv[i], *eq, *val = NULL;
		const ctl_opt *o;
		size_t len;

		if (options && strcmp(s, "--") == 0) {
			options = 0;
			continue;
		}
		if (!options || s[0] != '-' || s[1] == '\0') {
			if (a->npos >= CTL_POS_MAX ||
			    (int)a->npos >= cmd->max_pos)
				return usage(cmd, "unexpected argument '%s'",
				             s);
			a->pos[a->npos++] = s;
			continue;
		}
		if (s[1] != '-')
			return usage(cmd, "unknown option '%s'", s);
		s += 2;
		eq = strchr(s, '=');
		len = eq ? (size_t)(eq - s) : strlen(s);
		if (!(o = find_opt(cmd, s, len)))
			return usage(cmd, "unknown option '%s'", argv[i]);
		if (o->metavar) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return usage(cmd, "option '--%s' needs a value",
				             o->name);
		} else if (eq) {
			return usage(cmd, "option '--%s' takes no value",
			             o->name);
		}
		if (!o->repeat && seen(a, o->name))
			return usage(cmd, "option '--%s' given twice", o->name);
		if (a->n >= sizeof(a->name) / sizeof(a->name[0]))
			return usage(cmd, "too many options");
		a->name[a->n] = o->name;
		a->value[a->n++] = val ? val : "";
	}
	if ((int)a->npos < cmd->min_pos)
		return usage(cmd, "missing argument: %s",
		             cmd->synopsis ? cmd->synopsis : "");
	return 0;
}

const char *arg_get(const ctl_args *a, const char *name)
{
	size_t i;
	const char *v = NULL;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0)
			v = a->value[i];
	return v;
}

int arg_has(const ctl_args *a, const char *name)
{
	return arg_get(a, name) != NULL;
}

const char *arg_nth(const ctl_args *a, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0 && n-- == 0)
			return a->value[i];
	return NULL;
}

static void opt_lines(FILE *f, const ctl_opt *o)
{
	char left[64];

	for (; o && o->name; o++) {
		snprintf(left, sizeof(left), "--%s%s%s", o->name,
		         o->metavar ? " " : "", o->metavar ? o->metavar : "");
		fprintf(f, "  %-28s %s%s\n", left, o->help,
		        o->repeat ? " (repeatable)" : "");
	}
}

void args_help(FILE *f, const ctl_cmd *cmd)
{
	char name[96];

	cmd_name(name, sizeof(name), cmd);
	fprintf(f, "usage: %s%s%s [options]\n\n%s\n", name,
	        cmd->synopsis ? " " : "", cmd->synopsis ? cmd->synopsis : "",
	        cmd->summary);
	if (cmd->opts && cmd->opts->name) {
		fprintf(f, "\noptions:\n");
		opt_lines(f, cmd->opts);
	}
	fprintf(f, "\nglobal options:\n");
	opt_lines(f, ctl_global_opts());
	fprintf(f, "\nSee flockctl(1) for configuration and exit codes.\n");
}
