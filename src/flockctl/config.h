/*
 * flockctl: the config file's profiles (config.c has the format).
 */
#ifndef FLOCKCTL_CONFIG_H
#define FLOCKCTL_CONFIG_H

#include <stddef.h>

typedef struct {
	char *name;
	char *base_url, *app, *access_key, *admin_token;
} cfg_profile;

typedef struct {
	char *current; /* "profile = NAME", or NULL */
	cfg_profile *profiles;
	size_t n;
} cfg_file;

/* Read path (a missing file is an empty one). 0, or -1 with errno. */
int cfg_load(cfg_file *f, const char *path);
/* Write it (0600, through a new file renamed over the old). 0 or -1. */
int cfg_save(const cfg_file *f, const char *path);
void cfg_free(cfg_file *f);
cfg_profile *cfg_find(cfg_file *f, const char *name);
/* The profile, added if missing; NULL when out of memory. */
cfg_profile *cfg_profile_get(cfg_file *f, const char *name);
/* Set base_url, app, access_key or admin_token (value NULL: unset). 0,
 * or -1 for another key. */
int cfg_set(cfg_profile *p, const char *key, const char *value);
/* Drop a profile (and "profile =" if it named it). 0, or -1 if none. */
int cfg_remove(cfg_file *f, const char *name);

#endif
