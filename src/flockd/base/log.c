/*
 * flockd: structured logs.
 *
 * Each line is built in a stack buffer and written with a single write(2)
 * so that lines from concurrent threads never interleave (stderr writes of
 * up to PIPE_BUF bytes are atomic on pipes; on files O_APPEND is the
 * operator's choice).
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/ids.h"

static volatile int log_level = FD_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error",
                                          "off"};

int fd_log_parse_level(const char *name)
{
	int i;

	for (i = 0; i <= FD_LOG_OFF; i++)
		if (name && strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void fd_log_set_level(fd_log_level level)
{
	log_level = level;
}

int fd_log_enabled(fd_log_level level)
{
	return (int)level >= log_level && level < FD_LOG_OFF;
}

static void emit(json_t *line)
{
	char buf[2048];
	size_t n;

	n = json_dumpb(line, buf, sizeof(buf) - 1,
	               JSON_COMPACT | JSON_PRESERVE_ORDER |
	                       JSON_REAL_PRECISION(6));
	if (n == 0 || n >= sizeof(buf) - 1)
		return;
	buf[n++] = '\n';
	/* A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

static json_t *line_new(fd_log_level level)
{
	char when[FLOCK__ISO8601_LEN];
	json_t *line = json_object();

	if (!line)
		return NULL;
	flock__iso8601(when, flock__now_ms());
	json_object_set_new(line, "time", json_string(when));
	json_object_set_new(line, "level", json_string(level_names[level]));
	return line;
}

void fd_log(fd_log_level level, const char *fmt, ...)
{
	char msg[1024];
	json_t *line;
	va_list ap;

	if (!fd_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = line_new(level);
	if (!line)
		return;
	json_object_set_new(line, "msg", json_string(msg));
	emit(line);
	json_decref(line);
}

void fd_log_request(const char *request_id, const char *method,
                    const char *route, int status, double latency_ms)
{
	json_t *line;

	if (!fd_log_enabled(FD_LOG_INFO))
		return;
	line = line_new(FD_LOG_INFO);
	if (!line)
		return;
	json_object_set_new(line, "msg", json_string("request"));
	json_object_set_new(line, "requestId", json_string(request_id));
	json_object_set_new(line, "method", json_string(method));
	json_object_set_new(line, "route", json_string(route));
	json_object_set_new(line, "status", json_integer(status));
	json_object_set_new(line, "latencyMs", json_real(latency_ms));
	emit(line);
	json_decref(line);
}
