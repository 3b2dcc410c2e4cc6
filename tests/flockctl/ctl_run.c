/*
 * flockctl tests: running flockctl (ctl_run.h).
 */
#include "ctl_run.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ENV 512

static const char *ctl_bin(void)
{
	const char *b = getenv("FLOCKCTL_BIN");

	return b && *b ? b : "flockctl";
}

const char *ctl_path(const fd_harness *h, char *buf, size_t len,
                     const char *name)
{
	snprintf(buf, len, "%s/%s", h->dir, name);
	return buf;
}

void ctl_msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* envp for flockctl (static storage: used in the child right away). */
static char **make_env(const fd_harness *h, const char *const *extra)
{
	static char *envp[MAX_ENV];
	static char vars[8][700];
	size_t n = 0, i, k;
	char **e;

	for (e = environ; *e && n < MAX_ENV - 32; e++)
		if (strncmp(*e, "FLOCK_", 6) != 0 &&
		    strncmp(*e, "FLOCKCTL_", 9) != 0 &&
		    strncmp(*e, "XDG_STATE_HOME=", 15) != 0)
			envp[n++] = *e;
	snprintf(vars[0], sizeof(vars[0]), "FLOCK_BASE_URL=%s", h->base_url);
	snprintf(vars[1], sizeof(vars[1]), "FLOCK_ACCESS_KEY=%s",
	         h->service_key);
	snprintf(vars[2], sizeof(vars[2]), "FLOCK_ADMIN_TOKEN=%s",
	         h->admin_token);
	snprintf(vars[3], sizeof(vars[3]), "FLOCK_APP=%s", h->app_id);
	snprintf(vars[4], sizeof(vars[4]), "FLOCKCTL_CONFIG=%s/flockctl.conf",
	         h->dir);
	snprintf(vars[5], sizeof(vars[5]), "XDG_STATE_HOME=%s", h->dir);
	for (i = 0; i < 6; i++)
		envp[n++] = vars[i];
	for (i = 0; extra && extra[i] && n < MAX_ENV - 1; i++) {
		size_t len = strcspn(extra[i], "=") + 1;

		for (k = 0; k < n; k++)
			if (strncmp(envp[k], extra[i], len) == 0)
				break;
		if (extra[i][len] == '\0') { /* NAME=: remove */
			if (k < n)
				envp[k] = envp[--n];
			continue;
		}
		envp[k < n ? k : n++] = (char *)extra[i];
	}
	envp[n] = NULL;
	return envp;
}

static char **make_argv(const char *const *argv)
{
	static char *args[128];
	size_t i;

	args[0] = (char *)ctl_bin();
	for (i = 0; argv[i] && i < 126; i++)
		args[i + 1] = (char *)argv[i];
	args[i + 1] = NULL;
	return args;
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
	char *grown = realloc(*buf, *len + n + 1);

	if (!grown)
		return;
	memcpy(grown + *len, p, n);
	*len += n;
	grown[*len] = '\0';
	*buf = grown;
}

static int wait_code(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int ctl_runv(fd_harness *h, ctl_out *o, const char *in, const char *const *env,
             const char *const *argv)
{
	int po[2], pe[2], pi[2];
	size_t lo = 0, le = 0, inlen = in ? strlen(in) : 0, sent = 0;
	struct pollfd fds[3];
	time_t t0 = time(NULL);
	char buf[8192];
	pid_t pid;
	ssize_t n;
	int open_fds = 2, k;

	memset(o, 0, sizeof(*o));
	if (pipe(po) < 0 || pipe(pe) < 0 || pipe(pi) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(pi[0], 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(pi[1]);
		close(po[0]);
		close(pe[0]);
		execve(ctl_bin(), make_argv(argv), make_env(h, env));
		_exit(127);
	}
	close(pi[0]);
	close(po[1]);
	close(pe[1]);
	if (inlen == 0) {
		close(pi[1]);
		pi[1] = -1;
	}
	fcntl(pi[1], F_SETFL, O_NONBLOCK);
	o->out = calloc(1, 1);
	o->err = calloc(1, 1);
	while (open_fds > 0 && time(NULL) - t0 < 120) {
		fds[0] = (struct pollfd){po[0], POLLIN, 0};
		fds[1] = (struct pollfd){pe[0], POLLIN, 0};
		fds[2] = (struct pollfd){pi[1], POLLOUT, 0};
		if (poll(fds, pi[1] >= 0 ? 3 : 2, 1000) < 0 && errno != EINTR)
			break;
		if (pi[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR))) {
			ssize_t w = write(pi[1], in + sent, inlen - sent);

			if (w > 0)
				sent += (size_t)w;
			if (w < 0 || sent == inlen) {
				close(pi[1]);
				pi[1] = -1;
			}
		}
		for (k = 0; k < 2; k++) {
			if (!(fds[k].revents & (POLLIN | POLLHUP)) ||
			    fds[k].fd < 0)
				continue;
			n = read(fds[k].fd, buf, sizeof(buf));

			if (n > 0) {
				if (k == 0)
					append(&o->out, &lo, buf, (size_t)n);
				else
					append(&o->err, &le, buf, (size_t)n);
			} else {
				close(fds[k].fd);
				if (k == 0)
					po[0] = -1;
				else
					pe[0] = -1;
				open_fds--;
			}
		}
		if (po[0] < 0 && pe[0] < 0)
			break;
	}
	if (open_fds > 0) {
		kill(pid, SIGKILL);
		if (po[0] >= 0)
			close(po[0]);
		if (pe[0] >= 0)
			close(pe[0]);
	}
	if (pi[1] >= 0)
		close(pi[1]);
	o->code = wait_code(pid);
	o->json = json_loads(o->out, JSON_DECODE_ANY, NULL);
	return o->code;
}

int ctl_run(fd_harness *h, ctl_out *o, ...)
{
	const char *argv[64];
	va_list ap;
	size_t n = 0;

	va_start(ap, o);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return ctl_runv(h, o, NULL, NULL, argv);
}

int ctl_run_pty(fd_harness *h, ctl_out *o, const char *const *argv)
{
	char buf[8192];
	size_t len = 0;
	int master;
	pid_t pid;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	fflush(NULL);
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execve(ctl_bin(), make_argv(argv), make_env(h, NULL));
		_exit(127);
	}
	o->out = calloc(1, 1);
	o->err = calloc(1, 1);
	/* EIO once the child has gone and its side is closed. */
	while ((n = read(master, buf, sizeof(buf))) > 0)
		append(&o->out, &len, buf, (size_t)n);
	close(master);
	o->code = wait_code(pid);
	return o->code;
}

void ctl_out_free(ctl_out *o)
{
	free(o->out);
	free(o->err);
	json_decref(o->json);
	memset(o, 0, sizeof(*o));
}

pid_t ctl_spawn(fd_harness *h, const char *const *env, const char *const *argv,
                const char *out_path, const char *err_path)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fo = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int fe = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int fi = open("/dev/null", O_RDONLY);

		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execve(ctl_bin(), make_argv(argv), make_env(h, env));
		_exit(127);
	}
	return pid;
}

char *ctl_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[8192];

	if (!f)
		return NULL;
	buf = calloc(1, 1);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		append(&buf, &len, chunk, n);
	fclose(f);
	return buf;
}

int ctl_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(text);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return remove(path) == 0 ? 0 : 0;
}

void ctl_clean(const fd_harness *h)
{
	if (h->dir[0] && !getenv("FLOCKD_TEST_KEEP"))
		nftw(h->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
