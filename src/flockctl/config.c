/*
 * flockctl: configuration. Each setting comes from, in order: a flag, the
 * environment, the profile, a default.
 *
 *   base URL     --base-url          FLOCK_BASE_URL     base_url
 *   application  --app               FLOCK_APP          app
 *   service key  --access-key-file   FLOCK_ACCESS_KEY   access_key
 *   admin token  --admin-token-file  FLOCK_ADMIN_TOKEN  admin_token
 *   profile      --profile           FLOCK_PROFILE      the file's "profile"
 *
 * Secrets never come from argv (a shell's history and ps would show
 * them): a flag names a file, or "-" for stdin.
 *
 * The file ($FLOCKCTL_CONFIG, else $XDG_CONFIG_HOME/flockctl/config, else
 * ~/.config/flockctl/config) holds profiles:
 *
 *     profile = local
 *
 *     [local]
 *     base_url = http://127.0.0.1:8080
 *     app = app_...
 *     access_key = sk_...
 *     admin_token = fat_...
 *
 * It holds secrets, so it is written 0600 in a 0700 directory, through a
 * new file renamed over the old one; reading one that others may read is
 * warned about. cmd_config.c changes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"

#define DEFAULT_BASE_URL "http://127.0.0.1:8080"

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

char *config_path(void)
{
	const char *env = getenv("FLOCKCTL_CONFIG"), *xdg, *home;
	char buf[4096];

	if (env && *env)
		return strdup(env);
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/flockctl/config", xdg);
	else if (home && *home)
		snprintf(buf, sizeof(buf), "%s/.config/flockctl/config", home);
	else
		return NULL;
	return strdup(buf);
}

/* ---- the file ---------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	                 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

cfg_profile *cfg_profile_get(cfg_file *f, const char *name)
{
	cfg_profile *p = cfg_find(f, name), *grown;

	if (p)
		return p;
	grown = realloc(f->profiles, (f->n + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	f->profiles = grown;
	p = &f->profiles[f->n++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	return p->name ? p : NULL;
}

cfg_profile *cfg_find(cfg_file *f, const char *name)
{
	size_t i;

	for (i = 0; name && i < f->n; i++)
		if (strcmp(f->profiles[i].name, name) == 0)
			return &f->profiles[i];
	return NULL;
}

static char **field(cfg_profile *p, const char *key)
{
	if (strcmp(key, "base_url") == 0)
		return &p->base_url;
	if (strcmp(key, "app") == 0)
		return &p->app;
	if (strcmp(key, "access_key") == 0)
		return &p->access_key;
	if (strcmp(key, "admin_token") == 0)
		return &p->admin_token;
	return NULL;
}

int cfg_set(cfg_profile *p, const char *key, const char *value)
{
	char **slot = field(p, key), *copy = NULL;

	if (!slot)
		return -1;
	if (value && !(copy = strdup(value)))
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

static void warn_mode(const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr,
		        "flockctl: warning: %s holds secrets and others may "
		        "read it (mode %04o); chmod 600 it\n",
		        path, (unsigned)(st.st_mode & 07777));
}

int cfg_load(cfg_file *f, const char *path)
{
	char line[4096], *s, *eq;
	cfg_profile *cur = NULL;
	FILE *in;
	int n = 0;

	memset(f, 0, sizeof(*f));
	if (!path)
		return 0;
	if (!(in = fopen(path, "r")))
		return errno == ENOENT ? 0 : -1;
	warn_mode(path, fileno(in));
	while (fgets(line, sizeof(line), in)) {
		n++;
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end) {
				fprintf(stderr, "flockctl: %s:%d: no ']'\n",
				        path, n);
				continue;
			}
			*end = '\0';
			cur = cfg_profile_get(f, trim(s + 1));
			continue;
		}
		if (!(eq = strchr(s, '='))) {
			fprintf(stderr,
			        "flockctl: %s:%d: expected key = value\n", path,
			        n);
			continue;
		}
		*eq = '\0';
		if (!cur && strcmp(trim(s), "profile") == 0) {
			free(f->current);
			f->current = dup_or_null(trim(eq + 1));
		} else if (!cur || cfg_set(cur, trim(s), trim(eq + 1)) < 0) {
			fprintf(stderr,
			        "flockctl: %s:%d: unknown setting '%s'\n", path,
			        n, trim(s));
		}
	}
	fclose(in);
	return 0;
}

static void put(FILE *out, const char *key, const char *value)
{
	if (value)
		fprintf(out, "%s = %s\n", key, value);
}

/* mkdir -p of path's directory, each new one 0700. */
static int make_dirs(const char *path)
{
	char dir[4096], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(p = strrchr(dir, '/')) || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int cfg_save(const cfg_file *f, const char *path)
{
	char tmp[4200];
	FILE *out;
	size_t i;
	int fd, ok;

	if (make_dirs(path) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.new-%ld", path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !(out = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(out, "# flockctl profiles: see flockctl(1), FILES. This file "
	             "holds secrets: keep it 0600.\n");
	put(out, "profile", f->current);
	for (i = 0; i < f->n; i++) {
		const cfg_profile *p = &f->profiles[i];

		fprintf(out, "\n[%s]\n", p->name);
		put(out, "base_url", p->base_url);
		put(out, "app", p->app);
		put(out, "access_key", p->access_key);
		put(out, "admin_token", p->admin_token);
	}
	ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
	ok = fclose(out) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void cfg_free(cfg_file *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		cfg_profile *p = &f->profiles[i];

		free(p->name);
		free(p->base_url);
		free(p->app);
		free(p->access_key);
		free(p->admin_token);
	}
	free(f->profiles);
	free(f->current);
	memset(f, 0, sizeof(*f));
}

int cfg_remove(cfg_file *f, const char *name)
{
	cfg_profile *p = cfg_find(f, name);
	size_t i;

	if (!p)
		return -1;
	i = (size_t)(p - f->profiles);
	free(p->name);
	free(p->base_url);
	free(p->app);
	free(p->access_key);
	free(p->admin_token);
	memmove(p, p + 1, (f->n - i - 1) * sizeof(*p));
	f->n--;
	if (f->current && strcmp(f->current, name) == 0) {
		free(f->current);
		f->current = NULL;
	}
	return 0;
}

/* ---- secrets ----------------------------------------------------------- */

char *config_read_secret(const char *path, const char *what)
{
	char line[1024], *s;
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");

	if (!in) {
		ctl_fail(CTL_EFAIL, "cannot read the %s from %s: %s", what,
		         path, strerror(errno));
		return NULL;
	}
	s = fgets(line, sizeof(line), in);
	if (in != stdin)
		fclose(in);
	if (!s || !*(s = trim(line))) {
		ctl_fail(CTL_EFAIL, "no %s in %s", what,
		         strcmp(path, "-") == 0 ? "stdin" : path);
		return NULL;
	}
	return strdup(s);
}

const char *config_mask(const char *secret, char *buf, size_t len)
{
	const char *us;
	size_t n;

	if (!secret || !*secret)
		return "-";
	n = strlen(secret);
	us = strchr(secret, '_');
	if (n < 12)
		snprintf(buf, len, "****");
	else
		snprintf(buf, len, "%.*s****%s",
		         us && us - secret < 8 ? (int)(us - secret + 1) : 0,
		         secret, secret + n - 4);
	return buf;
}

/* ---- resolving ---------------------------------------------------------- */

static int pick(char **dst, const char *flag, const char *env_name,
                const char *profile_value)
{
	const char *env = getenv(env_name);
	const char *v = flag && *flag                     ? flag
	                : env && *env                     ? env
	                : profile_value && *profile_value ? profile_value
	                                                  : NULL;

	free(*dst);
	*dst = dup_or_null(v);
	return 0;
}

static int pick_secret(char **dst, const char *file, const char *env_name,
                       const char *profile_value, const char *what)
{
	if (file) {
		free(*dst);
		*dst = config_read_secret(file, what);
		return *dst ? 0 : CTL_EFAIL;
	}
	return pick(dst, NULL, env_name, profile_value);
}

int config_resolve(ctl *c)
{
	char *path = config_path();
	cfg_file f;
	cfg_profile *p = NULL;
	const char *name;
	int rc;

	if (cfg_load(&f, path) < 0) {
		rc = ctl_fail(CTL_EFAIL, "cannot read %s: %s", path,
		              strerror(errno));
		free(path);
		return rc;
	}
	name = c->opt_profile ? c->opt_profile : getenv("FLOCK_PROFILE");
	if (!name || !*name)
		name = f.current;
	if (name && *name && !(p = cfg_find(&f, name)) &&
	    (c->opt_profile || getenv("FLOCK_PROFILE"))) {
		rc = ctl_fail(CTL_EUSAGE,
		              "no profile '%s' in %s (flockctl config list)",
		              name, path ? path : "the config file");
		cfg_free(&f);
		free(path);
		return rc;
	}
	free(path);
	c->profile = p ? strdup(p->name) : NULL;
	pick(&c->base_url, c->opt_base_url, "FLOCK_BASE_URL",
	     p ? p->base_url : NULL);
	if (!c->base_url)
		c->base_url = strdup(DEFAULT_BASE_URL);
	while (c->base_url && *c->base_url &&
	       c->base_url[strlen(c->base_url) - 1] == '/')
		c->base_url[strlen(c->base_url) - 1] = '\0';
	pick(&c->app, c->opt_app, "FLOCK_APP", p ? p->app : NULL);
	rc = pick_secret(&c->access_key, c->opt_access_key_file,
	                 "FLOCK_ACCESS_KEY", p ? p->access_key : NULL,
	                 "access key");
	if (rc == 0)
		rc = pick_secret(&c->admin_token, c->opt_admin_token_file,
		                 "FLOCK_ADMIN_TOKEN", p ? p->admin_token : NULL,
		                 "admin token");
	cfg_free(&f);
	return rc;
}

void config_free(ctl *c)
{
	free(c->profile);
	free(c->base_url);
	free(c->app);
	free(c->access_key);
	free(c->admin_token);
	c->profile = c->base_url = c->app = c->access_key = c->admin_token =
	        NULL;
}

const char *config_app(ctl *c, int *rc)
{
	json_t *apps = NULL, *data;

	*rc = 0;
	if (c->app)
		return c->app;
	if ((*rc = admin_call(c, "GET", "/admin/apps?limit=2", NULL, NULL,
	                      &apps)) != 0)
		return NULL;
	data = json_object_get(apps, "data");
	if (json_array_size(data) == 1)
		c->app = dup_or_null(json_string_value(
		        json_object_get(json_array_get(data, 0), "id")));
	json_decref(apps);
	if (!c->app)
		*rc = ctl_fail(CTL_EUSAGE,
		               "which application? the admin token reaches "
		               "%s: pass --app ID (or set FLOCK_APP, or app in "
		               "the profile)",
		               json_array_size(data) ? "several" : "none");
	return c->app;
}
