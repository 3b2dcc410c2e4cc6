/*
 * flockctl's configuration: profiles written 0600 in a 0700 directory,
 * made from flockd init's output; secrets read from files or stdin (never
 * argv) and masked unless asked; flag over environment over profile; and
 * the completion scripts for bash (run), zsh and fish (checked by the
 * shells themselves when they are installed).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_run.h"
#include "support.h"

static fd_harness H;

#define RUN(o, ...) ctl_run(&H, o, __VA_ARGS__, (const char *)NULL)

/* No FLOCK_* at all: only the profile speaks. */
static const char *const NO_ENV[] = {"FLOCK_BASE_URL=", "FLOCK_ACCESS_KEY=",
                                     "FLOCK_ADMIN_TOKEN=", "FLOCK_APP=", NULL};

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	return h_start(&H);
}

static int teardown(void **state)
{
	(void)state;
	h_kill(&H, SIGTERM);
	ctl_clean(&H);
	h_stop(&H);
	return 0;
}

static int run_env(ctl_out *o, const char *in, const char *const *env,
                   const char *const *argv)
{
	return ctl_runv(&H, o, in, env, argv);
}

static void test_profiles(void **state)
{
	char init[400], conf[400], cfgdir[400], env_conf[440];
	const char *set[] = {"config",      "set",        "--profile",
	                     "local",       "--base-url", H.base_url,
	                     "--from-init", init,         NULL};
	const char *apps[] = {"apps", "list", NULL};
	const char *list[] = {"config", "list", NULL};
	const char *show[] = {"--show-secrets", "config", "show", "local",
	                      NULL};
	struct stat st;
	ctl_out o;
	char *text;

	(void)state;
	ctl_path(&H, init, sizeof(init), "init.json");
	ctl_path(&H, conf, sizeof(conf), "flockctl.conf");
	/* nothing configured: a clear refusal */
	run_env(&o, NULL, NO_ENV, apps);
	assert_int_equal(o.code, 3);
	assert_non_null(strstr(o.err, "no admin token"));
	ctl_out_free(&o);
	run_env(&o, NULL, NO_ENV, set);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = ctl_slurp(conf);
	assert_non_null(strstr(text, "[local]"));
	assert_non_null(strstr(text, H.admin_token));
	free(text);
	/* the profile alone is enough */
	run_env(&o, NULL, NO_ENV, apps);
	assert_int_equal(o.code, 0);
	assert_int_equal(json_array_size(o.json), 1);
	ctl_out_free(&o);
	/* listed with secrets masked */
	run_env(&o, NULL, NO_ENV, list);
	assert_int_equal(o.code, 0);
	assert_null(strstr(o.out, H.admin_token));
	assert_null(strstr(o.out, H.service_key));
	assert_non_null(strstr(o.out, "****"));
	assert_true(json_is_true(
	        json_object_get(json_array_get(o.json, 0), "current")));
	ctl_out_free(&o);
	run_env(&o, NULL, NO_ENV, show);
	assert_int_equal(o.code, 0);
	assert_string_equal(
	        json_string_value(json_object_get(o.json, "adminToken")),
	        H.admin_token);
	ctl_out_free(&o);
	/* XDG_CONFIG_HOME: the directory is made 0700 */
	snprintf(cfgdir, sizeof(cfgdir), "%s/xdg", H.dir);
	snprintf(env_conf, sizeof(env_conf), "XDG_CONFIG_HOME=%s", cfgdir);
	{
		const char *env2[] = {"FLOCKCTL_CONFIG=", env_conf, NULL};
		const char *set2[] = {"config",
		                      "set",
		                      "--profile",
		                      "p2",
		                      "--admin-token-file",
		                      "-",
		                      "--use",
		                      NULL};
		char path[460];

		run_env(&o, "fat_from_stdin\n", env2, set2);
		assert_int_equal(o.code, 0);
		ctl_out_free(&o);
		snprintf(path, sizeof(path), "%s/flockctl", cfgdir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
		snprintf(path, sizeof(path), "%s/flockctl/config", cfgdir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		text = ctl_slurp(path);
		assert_non_null(strstr(text, "admin_token = fat_from_stdin"));
		assert_non_null(strstr(text, "profile = p2"));
		free(text);
	}
}

/* Flag over environment over profile; --profile picks one; an unknown
 * profile is named. */
static void test_precedence(void **state)
{
	char token_file[400];
	const char *bad_env[] = {"FLOCK_ADMIN_TOKEN=fat_wrong", NULL};
	const char *apps[] = {"apps", "list", NULL};
	const char *with_file[] = {"--admin-token-file", token_file, "apps",
	                           "list", NULL};
	const char *unknown[] = {"--profile", "nope", "apps", "list", NULL};
	const char *bad_url[] = {"FLOCK_BASE_URL=http://127.0.0.1:1",
	                         "FLOCK_ADMIN_TOKEN=", NULL};
	const char *flag_url[] = {"--base-url", H.base_url, "apps", "list",
	                          NULL};
	ctl_out o;

	(void)state;
	ctl_path(&H, token_file, sizeof(token_file), "token.txt");
	assert_int_equal(ctl_write(token_file, H.admin_token), 0);
	/* the environment's wrong token beats the profile's right one */
	run_env(&o, NULL, bad_env, apps);
	assert_int_equal(o.code, 3);
	ctl_out_free(&o);
	/* the flag's file beats the environment */
	run_env(&o, NULL, bad_env, with_file);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	run_env(&o, NULL, NULL, unknown);
	assert_int_equal(o.code, 2);
	assert_non_null(strstr(o.err, "no profile 'nope'"));
	ctl_out_free(&o);
	/* --base-url beats FLOCK_BASE_URL; the token from the profile */
	run_env(&o, NULL, bad_url, flag_url);
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	RUN(&o, "config", "use", "nope");
	assert_int_equal(o.code, 4);
	ctl_out_free(&o);
	RUN(&o, "config", "delete", "local");
	assert_int_equal(o.code, 0);
	ctl_out_free(&o);
	RUN(&o, "-q", "config", "list");
	assert_null(strstr(o.out, "local"));
	ctl_out_free(&o);
	RUN(&o, "config", "path");
	assert_non_null(strstr(o.out, "flockctl.conf"));
	ctl_out_free(&o);
}

/* A shell command's output, or NULL if the shell is not there. */
static char *shell(const char *sh, const char *script)
{
	char cmd[8192], path[400];
	FILE *p;
	char *out = NULL, buf[4096];
	size_t len = 0, n;

	snprintf(path, sizeof(path), "%s/script.sh", H.dir);
	if (ctl_write(path, script) < 0)
		return NULL;
	snprintf(cmd, sizeof(cmd),
	         "command -v %s >/dev/null 2>&1 && %s %s "
	         "2>&1",
	         sh, sh, path);
	if (!(p = popen(cmd, "r")))
		return NULL;
	out = calloc(1, 1);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		char *g = realloc(out, len + n + 1);

		memcpy(g + len, buf, n);
		len += n;
		g[len] = '\0';
		out = g;
	}
	if (pclose(p) != 0 && len == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void test_completion(void **state)
{
	const char *bin = getenv("FLOCKCTL_BIN");
	char script[2048], *out;
	ctl_out o;

	(void)state;
	/* bash: run the function as readline would */
	snprintf(script, sizeof(script),
	         "source <('%s' completion bash) || exit 9\n"
	         "COMP_WORDS=(flockctl cust); COMP_CWORD=1; _flockctl\n"
	         "echo \"1:${COMPREPLY[*]}\"\n"
	         "COMP_WORDS=(flockctl webhooks l); COMP_CWORD=2; _flockctl\n"
	         "echo \"2:${COMPREPLY[*]}\"\n"
	         "COMP_WORDS=(flockctl import customers --re); COMP_CWORD=3; "
	         "_flockctl\n"
	         "echo \"3:${COMPREPLY[*]}\"\n"
	         "COMP_WORDS=(flockctl --pro); COMP_CWORD=1; _flockctl\n"
	         "echo \"4:${COMPREPLY[*]}\"\n",
	         bin);
	out = shell("bash", script);
	assert_non_null(out);
	assert_non_null(strstr(out, "1:customers\n"));
	assert_non_null(strstr(out, "2:list listen\n"));
	assert_non_null(strstr(out, "3:--rejects --restart\n"));
	assert_non_null(strstr(out, "4:--profile\n"));
	free(out);
	/* zsh and fish: their own syntax check; fish's completions too */
	snprintf(script, sizeof(script),
	         "'%s' completion zsh > %s/_flockctl && zsh -n %s/_flockctl "
	         "&& echo zsh-ok\n",
	         bin, H.dir, H.dir);
	if ((out = shell("zsh", script))) {
		assert_non_null(strstr(out, "zsh-ok"));
		free(out);
	}
	snprintf(script, sizeof(script),
	         "'%s' completion fish | source\n"
	         "complete -C 'flockctl webhooks li'\n"
	         "complete -C 'flockctl import customers --re'\n",
	         bin);
	if ((out = shell("fish", script))) {
		assert_non_null(strstr(out, "listen"));
		assert_non_null(strstr(out, "--rejects"));
		free(out);
	}
	RUN(&o, "completion", "tcsh");
	assert_int_equal(o.code, 2);
	ctl_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_profiles),
	        cmocka_unit_test(test_precedence),
	        cmocka_unit_test(test_completion),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
