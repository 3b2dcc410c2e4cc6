/*
 * flockctl completion bash|zsh|fish: a completion script made from the
 * command table, so it never lags behind the commands. The packages
 * install each where its shell looks (bash-completion, zsh's
 * vendor-completions, fish's vendor_completions.d); or
 *
 *     source <(flockctl completion bash)     # ~/.bashrc
 *     source <(flockctl completion zsh)      # ~/.zshrc
 *     flockctl completion fish | source      # config.fish
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

/* Every group once, space-separated. */
static void groups(FILE *f)
{
	size_t i, j, n;
	const ctl_cmd *t = ctl_commands(&n);

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(t[j].group, t[i].group))
				break;
		if (j == i)
			fprintf(f, "%s%s", i ? " " : "", t[i].group);
	}
}

static void verbs(FILE *f, const char *group)
{
	size_t i, n;
	const ctl_cmd *t = ctl_commands(&n);
	int first = 1;

	for (i = 0; i < n; i++)
		if (!strcmp(t[i].group, group) && t[i].verb) {
			fprintf(f, "%s%s", first ? "" : " ", t[i].verb);
			first = 0;
		}
}

static void opts(FILE *f, const ctl_opt *o)
{
	for (; o && o->name; o++)
		fprintf(f, " --%s", o->name);
}

/* Each group with verbs, once (the one-word commands have none). */
static int first_of_group(const ctl_cmd *t, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(t[j].group, t[i].group))
			return 0;
	return t[i].verb != NULL;
}

static void bash(FILE *f)
{
	size_t i, n;
	const ctl_cmd *t = ctl_commands(&n);

	fprintf(f, "# bash completion for flockctl (flockctl completion bash)\n"
	           "_flockctl_opts() {\n\tcase \"$1 $2\" in\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "\t\"%s %s\") echo \"", t[i].group,
		        t[i].verb ? t[i].verb : "");
		opts(f, t[i].opts);
		fprintf(f, "\" ;;\n");
	}
	fprintf(f, "\tesac\n}\n\n_flockctl() {\n"
	           "\tlocal cur=${COMP_WORDS[COMP_CWORD]} group= verb= i w\n"
	           "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	           "\t\tw=${COMP_WORDS[i]}\n"
	           "\t\tcase $w in -*) continue ;; esac\n"
	           "\t\tif [ -z \"$group\" ]; then group=$w\n"
	           "\t\telif [ -z \"$verb\" ]; then verb=$w; fi\n"
	           "\tdone\n"
	           "\tcase $group in analytics|api|completion|version|help) "
	           "verb= ;; esac\n"
	           "\tif [[ $cur == -* ]]; then\n"
	           "\t\tCOMPREPLY=($(compgen -W \"$(_flockctl_opts \"$group\" "
	           "\"$verb\")");
	opts(f, ctl_global_opts());
	fprintf(f, "\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
	           "\tif [ -z \"$group\" ]; then\n"
	           "\t\tCOMPREPLY=($(compgen -W \"");
	groups(f);
	fprintf(f, "\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
	           "\tif [ -z \"$verb\" ]; then\n\t\tcase $group in\n");
	for (i = 0; i < n; i++) {
		if (!first_of_group(t, i))
			continue;
		fprintf(f, "\t\t%s) COMPREPLY=($(compgen -W \"", t[i].group);
		verbs(f, t[i].group);
		fprintf(f, "\" -- \"$cur\")); return ;;\n");
	}
	fprintf(f, "\t\tcompletion) COMPREPLY=($(compgen -W \"bash zsh fish\" "
	           "-- \"$cur\")); return ;;\n\t\tesac\n\tfi\n}\n"
	           "complete -o default -F _flockctl flockctl\n");
}

static void zsh(FILE *f)
{
	size_t i, n;
	const ctl_cmd *t = ctl_commands(&n);

	fprintf(f, "#compdef flockctl\n# zsh completion for flockctl "
	           "(flockctl completion zsh)\n\n"
	           "__flockctl_opts() {\n\tcase \"$1 $2\" in\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "\t\"%s %s\") print -- \"", t[i].group,
		        t[i].verb ? t[i].verb : "");
		opts(f, t[i].opts);
		fprintf(f, "\" ;;\n");
	}
	fprintf(f,
	        "\tesac\n}\n\n_flockctl() {\n"
	        "\tlocal group= verb= w\n"
	        "\tfor w in ${words[2,CURRENT-1]}; do\n"
	        "\t\t[[ $w == -* ]] && continue\n"
	        "\t\tif [[ -z $group ]]; then group=$w\n"
	        "\t\telif [[ -z $verb ]]; then verb=$w; fi\n"
	        "\tdone\n"
	        "\tcase $group in analytics|api|completion|version|help) "
	        "verb= ;; esac\n"
	        "\tif [[ ${words[CURRENT]} == -* ]]; then\n"
	        "\t\tcompadd -- ${=$(__flockctl_opts \"$group\" \"$verb\")}");
	opts(f, ctl_global_opts());
	fprintf(f, "\n\t\treturn\n\tfi\n"
	           "\tif [[ -z $group ]]; then\n\t\tcompadd -- ");
	groups(f);
	fprintf(f, "\n\t\treturn\n\tfi\n\tif [[ -z $verb ]]; then\n"
	           "\t\tcase $group in\n");
	for (i = 0; i < n; i++) {
		if (!first_of_group(t, i))
			continue;
		fprintf(f, "\t\t%s) compadd -- ", t[i].group);
		verbs(f, t[i].group);
		fprintf(f, "; return ;;\n");
	}
	fprintf(f, "\t\tcompletion) compadd -- bash zsh fish; return ;;\n"
	           "\t\tesac\n\tfi\n\t_files\n}\n\n"
	           "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
	           "\t_flockctl \"$@\"\nelse\n\tcompdef _flockctl flockctl\n"
	           "fi\n");
}

static void fish_opts(FILE *f, const char *cond, const ctl_opt *o)
{
	const char *p;

	for (; o && o->name; o++) {
		fprintf(f, "complete -c flockctl");
		if (cond)
			fprintf(f, " -n \"%s\"", cond);
		fprintf(f, " -l %s%s -d '", o->name, o->metavar ? " -r" : "");
		for (p = o->help; *p; p++) {
			if (*p == '\'')
				fputs("\\'", f);
			else
				fputc(*p, f);
		}
		fprintf(f, "'\n");
	}
}

static void fish(FILE *f)
{
	size_t i, n;
	const ctl_cmd *t = ctl_commands(&n);
	char cond[512];

	fprintf(f, "# fish completion for flockctl (flockctl completion "
	           "fish)\n"
	           "# __flockctl_is GROUP [VERB]: the words so far are those "
	           "(GROUP alone: nothing after it)\n"
	           "function __flockctl_is\n"
	           "    set -l w (commandline -opc | string match -v -- '-*')\n"
	           "    test (count $w) -ge 2; or return 1\n"
	           "    test \"$w[2]\" = \"$argv[1]\"; or return 1\n"
	           "    if test (count $argv) -eq 1\n"
	           "        test (count $w) -eq 2\n"
	           "    else if test \"$argv[2]\" = '*'\n"
	           "        true\n"
	           "    else\n"
	           "        test (count $w) -ge 3; and test \"$w[3]\" = "
	           "\"$argv[2]\"\n"
	           "    end\n"
	           "end\n"
	           "complete -c flockctl -f\n");
	fish_opts(f, NULL, ctl_global_opts());
	fprintf(f, "complete -c flockctl -n __fish_use_subcommand -a '");
	groups(f);
	fprintf(f, "'\n");
	for (i = 0; i < n; i++) {
		if (!first_of_group(t, i))
			continue;
		fprintf(f, "complete -c flockctl -n '__flockctl_is %s' -a '",
		        t[i].group);
		verbs(f, t[i].group);
		fprintf(f, "'\n");
	}
	fprintf(f, "complete -c flockctl -n '__flockctl_is completion' -a "
	           "'bash zsh fish'\n"
	           "complete -c flockctl -n '__flockctl_is import *' -F\n");
	for (i = 0; i < n; i++) {
		snprintf(cond, sizeof(cond), "__flockctl_is %s %s", t[i].group,
		         t[i].verb ? t[i].verb : "'*'");
		fish_opts(f, cond, t[i].opts);
	}
}

CMD(cmd_completion)
{
	const char *sh = a->pos[0];

	if (!strcmp(sh, "bash"))
		bash(stdout);
	else if (!strcmp(sh, "zsh"))
		zsh(stdout);
	else if (!strcmp(sh, "fish"))
		fish(stdout);
	else
		return ctl_usage(c, "SHELL must be bash, zsh or fish, not '%s'",
		                 sh);
	return fflush(stdout) == 0 ? CTL_OK : CTL_EFAIL;
}
