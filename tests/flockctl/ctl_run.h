/*
 * flockctl tests: run the real flockctl binary (FLOCKCTL_BIN) against a
 * real flockd on loopback (tests/flockd/harness.h), and look at what it
 * printed and how it exited.
 *
 * The environment flockctl gets: the caller's, without any FLOCK_* or
 * FLOCKCTL_* variable, then FLOCK_BASE_URL, FLOCK_ACCESS_KEY (h's service
 * key), FLOCK_ADMIN_TOKEN and FLOCK_APP of h, FLOCKCTL_CONFIG (a file in
 * h's directory, none at first), XDG_STATE_HOME (h's directory), then
 * `env` (NAME=VALUE; "NAME=" removes NAME).
 */
#ifndef FLOCKCTL_TEST_RUN_H
#define FLOCKCTL_TEST_RUN_H

#include <sys/types.h>

#include <jansson.h>

#include "harness.h"

typedef struct {
	int code;     /* exit status; 128 + signal if killed */
	char *out;    /* stdout */
	char *err;    /* stderr */
	json_t *json; /* stdout parsed, or NULL */
} ctl_out;

/*
 * Run flockctl with argv (NULL-terminated, without "flockctl"), stdin
 * from `in` (NULL: empty), extra environment env (NULL-terminated, may be
 * NULL). o->code. At most 120 s.
 */
int ctl_runv(fd_harness *h, ctl_out *o, const char *in, const char *const *env,
             const char *const *argv);
/* The same with the arguments listed, NULL-terminated. */
int ctl_run(fd_harness *h, ctl_out *o, ...);
/* Under a pseudo-terminal (stdout and stderr are a terminal); o->out
 * holds both. */
int ctl_run_pty(fd_harness *h, ctl_out *o, const char *const *argv);
void ctl_out_free(ctl_out *o);

/* Start flockctl in the background, stdout and stderr appended to files;
 * its pid. */
pid_t ctl_spawn(fd_harness *h, const char *const *env, const char *const *argv,
                const char *out_path, const char *err_path);

/* A file's whole text (malloc'd), or NULL. */
char *ctl_slurp(const char *path);
/* Write text to a file (0600). 0/-1. */
int ctl_write(const char *path, const char *text);

/* h's directory + name into buf. */
const char *ctl_path(const fd_harness *h, char *buf, size_t len,
                     const char *name);

/* Remove everything in h's directory but what h_stop removes itself
 * (a test's files: the config, CSV files, state files). */
void ctl_clean(const fd_harness *h);

/* Sleep ms (polling only: never to show that something did not
 * happen). */
void ctl_msleep(int ms);

#endif
