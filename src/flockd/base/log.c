/*
 * flockd: structured logs.
 *
 * Each line is written with a single write(2) so that lines from
 * concurrent threads never interleave (stderr writes of up to PIPE_BUF
 * bytes are atomic on pipes; on files O_APPEND is the operator's choice).
 * A message is cut at MSG_MAX bytes (on a UTF-8 boundary, "truncated": true
 * on the line) and bytes that are not UTF-8 become '?', so no line is
 * ever lost for its length or its bytes.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Bytes of a message, at most: with the rest of a line, under PIPE_BUF. */
#define MSG_MAX 3072

static void emit(json_t *line)
{
	const size_t flags =
	        JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6);
	char buf[4096], *out = buf;
	size_t n = json_dumpb(line, buf, sizeof(buf) - 1, flags);

	/* Longer than the stack buffer (escapes can grow a message): on the
	 * heap, still one write. */
	if (n >= sizeof(buf) - 1 && (out = malloc(n + 2)))
		n = json_dumpb(line, out, n + 1, flags);
	if (out && n > 0) {
		out[n++] = '\n';
		/* A failed log write has nowhere to be reported. */
		if (write(STDERR_FILENO, out, n) < 0)
			n = 0;
	}
	if (out != buf)
		free(out);
}

/* The length of the longest valid UTF-8 prefix of s that fits max bytes;
 * invalid bytes are replaced by '?' in place. */
static size_t utf8_fit(char *s, size_t len, size_t max)
{
	size_t i = 0, k, need;
	unsigned char c;

	while (i < len) {
		c = (unsigned char)s[i];
		need = c < 0x80           ? 1
		       : (c & 0xE0) == 0xC0 ? 2
		       : (c & 0xF0) == 0xE0 ? 3
		       : (c & 0xF8) == 0xF0 ? 4
		                            : 0;
		for (k = 1; need && k < need; k++)
			if (i + k >= len ||
			    ((unsigned char)s[i + k] & 0xC0) != 0x80)
				need = 0;
		if (!need) {
			s[i] = '?';
			need = 1;
		}
		if (i + need > max)
			break;
		i += need;
	}
	return i;
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
	char msg[MSG_MAX + 8];
	json_t *line;
	size_t len, fit;
	va_list ap;
	int n;

	if (!fd_log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	fit = utf8_fit(msg, len, MSG_MAX);
	line = line_new(level);
	if (!line)
		return;
	json_object_set_new(line, "msg", json_stringn(msg, fit));
	if (fit < (size_t)n)
		json_object_set_new(line, "truncated", json_true());
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
