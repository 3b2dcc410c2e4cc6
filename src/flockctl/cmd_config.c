/*
 * flockctl config: profiles in the config file (config.c has the format).
 *
 *   flockctl config set --profile local --base-url http://127.0.0.1:8080 \
 *       --from-init keys.json          # flockd init's output
 *   flockctl config set --admin-token-file token.txt
 *   flockctl config use local
 *
 * Secrets come from files or stdin, never from argv; "show" masks them
 * unless --show-secrets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "config.h"

static int load(cfg_file *f, char **path)
{
	if (!(*path = config_path()))
		return ctl_fail(CTL_EUSAGE, "no HOME, XDG_CONFIG_HOME or "
		                            "FLOCKCTL_CONFIG: where would the "
		                            "config file be?");
	if (cfg_load(f, *path) < 0) {
		int rc = ctl_fail(CTL_EFAIL, "cannot read %s: %s", *path,
		                  strerror(errno));

		free(*path);
		return rc;
	}
	return 0;
}

static int save(cfg_file *f, char *path)
{
	int rc = cfg_save(f, path) == 0
	                 ? 0
	                 : ctl_fail(CTL_EFAIL, "cannot write %s: %s", path,
	                            strerror(errno));

	cfg_free(f);
	free(path);
	return rc;
}

/* flockd init's JSON: applicationId, serviceKey, adminToken. */
static int from_init(cfg_profile *p, const char *file)
{
	json_error_t err;
	json_t *v = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &err)
	                                   : json_load_file(file, 0, &err);
	const char *app =
	        json_string_value(json_object_get(v, "applicationId"));
	const char *sk = json_string_value(json_object_get(v, "serviceKey"));
	const char *at = json_string_value(json_object_get(v, "adminToken"));
	int rc = 0;

	if (!app || !sk || !at)
		rc = ctl_fail(
		        CTL_EUSAGE,
		        "--from-init %s: not flockd init's output (it has "
		        "applicationId, serviceKey and adminToken)",
		        file);
	else if (cfg_set(p, "app", app) || cfg_set(p, "access_key", sk) ||
	         cfg_set(p, "admin_token", at))
		rc = ctl_fail(CTL_EFAIL, "out of memory");
	json_decref(v);
	return rc;
}

static int set_secret(cfg_profile *p, const char *key, const char *file,
                      const char *what)
{
	char *s;
	int rc;

	if (!file)
		return 0;
	if (!(s = config_read_secret(file, what)))
		return CTL_EFAIL;
	rc = cfg_set(p, key, s) == 0 ? 0 : ctl_fail(CTL_EFAIL, "out of memory");
	free(s);
	return rc;
}

CMD(cmd_config_set)
{
	cfg_file f;
	cfg_profile *p;
	char *path;
	const char *name;
	int rc;

	if ((rc = load(&f, &path)))
		return rc;
	name = c->opt_profile ? c->opt_profile
	       : getenv("FLOCK_PROFILE") && *getenv("FLOCK_PROFILE")
	               ? getenv("FLOCK_PROFILE")
	       : f.current ? f.current
	                   : "default";
	if (!(p = cfg_profile_get(&f, name))) {
		cfg_free(&f);
		free(path);
		return ctl_fail(CTL_EFAIL, "out of memory");
	}
	if ((c->opt_base_url && cfg_set(p, "base_url", c->opt_base_url)) ||
	    (c->opt_app && cfg_set(p, "app", c->opt_app)))
		rc = ctl_fail(CTL_EFAIL, "out of memory");
	if (!rc && arg_get(a, "from-init"))
		rc = from_init(p, arg_get(a, "from-init"));
	if (!rc)
		rc = set_secret(p, "access_key", c->opt_access_key_file,
		                "access key");
	if (!rc)
		rc = set_secret(p, "admin_token", c->opt_admin_token_file,
		                "admin token");
	if (rc) {
		cfg_free(&f);
		free(path);
		return rc;
	}
	if (arg_has(a, "use") || !f.current) {
		free(f.current);
		f.current = strdup(name);
	}
	if (!c->quiet)
		fprintf(stderr, "flockctl: profile '%s' saved in %s%s\n", name,
		        path,
		        f.current && !strcmp(f.current, name) ? " (current)"
		                                              : "");
	return save(&f, path);
}

CMD(cmd_config_use)
{
	cfg_file f;
	char *path;
	int rc;

	if ((rc = load(&f, &path)))
		return rc;
	if (!cfg_find(&f, a->pos[0])) {
		cfg_free(&f);
		free(path);
		return ctl_fail(CTL_ENOTFOUND,
		                "no profile '%s' (flockctl config "
		                "list)",
		                a->pos[0]);
	}
	free(f.current);
	f.current = strdup(a->pos[0]);
	return save(&f, path);
}

static json_t *profile_json(const ctl *c, const cfg_profile *p, int current)
{
	char m1[64], m2[64];

	return json_pack(
	        "{s:s, s:b, s:s?, s:s?, s:s?, s:s?}", "name", p->name,
	        "current", current, "baseUrl", p->base_url, "app", p->app,
	        "accessKey",
	        c->show_secrets ? p->access_key
	        : p->access_key ? config_mask(p->access_key, m1, sizeof(m1))
	                        : NULL,
	        "adminToken",
	        c->show_secrets  ? p->admin_token
	        : p->admin_token ? config_mask(p->admin_token, m2, sizeof(m2))
	                         : NULL);
}

CMD(cmd_config_list)
{
	static const ctl_col cols[] = {{"NAME", "name"},
	                               {"CURRENT", "current"},
	                               {"BASE URL", "baseUrl"},
	                               {"APP", "app"},
	                               {"ACCESS KEY", "accessKey"},
	                               {"ADMIN TOKEN", "adminToken"},
	                               COL_END};
	cfg_file f;
	json_t *list = json_array();
	char *path;
	size_t i;
	int rc;

	if ((rc = load(&f, &path))) {
		json_decref(list);
		return rc;
	}
	for (i = 0; i < f.n; i++)
		json_array_append_new(
		        list,
		        profile_json(c, &f.profiles[i],
		                     f.current && !strcmp(f.current,
		                                          f.profiles[i].name)));
	/* --quiet lists names: the rows have no id. */
	if (c->quiet) {
		for (i = 0; i < f.n; i++)
			printf("%s\n", f.profiles[i].name);
	} else {
		rc = out_list(c, list, cols);
	}
	json_decref(list);
	cfg_free(&f);
	free(path);
	return rc;
}

CMD(cmd_config_show)
{
	const char *name = a->npos ? a->pos[0] : c->opt_profile;
	cfg_file f;
	cfg_profile *p;
	json_t *o;
	char *path;
	int rc;

	if ((rc = load(&f, &path)))
		return rc;
	if (!name)
		name = f.current;
	if (!name || !(p = cfg_find(&f, name))) {
		rc = ctl_fail(CTL_ENOTFOUND,
		              "no profile %s%s%s (flockctl config "
		              "list)",
		              name ? "'" : "", name ? name : "is current",
		              name ? "'" : "");
	} else {
		o = profile_json(c, p, f.current && !strcmp(f.current, name));
		rc = out_object(c, o);
		json_decref(o);
	}
	cfg_free(&f);
	free(path);
	return rc;
}

CMD(cmd_config_delete)
{
	cfg_file f;
	char *path;
	int rc;

	if ((rc = load(&f, &path)))
		return rc;
	if (cfg_remove(&f, a->pos[0]) < 0) {
		cfg_free(&f);
		free(path);
		return ctl_fail(CTL_ENOTFOUND, "no profile '%s'", a->pos[0]);
	}
	return save(&f, path);
}

CMD(cmd_config_path)
{
	char *path = config_path();

	if (!path)
		return ctl_fail(CTL_EUSAGE, "no HOME, XDG_CONFIG_HOME or "
		                            "FLOCKCTL_CONFIG");
	printf("%s\n", path);
	free(path);
	return CTL_OK;
}
