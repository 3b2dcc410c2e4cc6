/*
 * flockd: structured logs, one JSON object per line on stderr.
 *
 * Never pass keys, secrets or request bodies to these functions: a log line
 * is read by people who must not learn them.
 */
#ifndef FLOCKD_LOG_H
#define FLOCKD_LOG_H

typedef enum {
	FD_LOG_DEBUG = 0,
	FD_LOG_INFO = 1,
	FD_LOG_WARN = 2,
	FD_LOG_ERROR = 3,
	FD_LOG_OFF = 4
} fd_log_level;

/* "debug", "info", "warn", "error", "off" -> level; -1 if unknown. */
int fd_log_parse_level(const char *name);
void fd_log_set_level(fd_log_level level);
int fd_log_enabled(fd_log_level level);

/* A free-form event: {"time":..,"level":..,"msg":..}. */
void fd_log(fd_log_level level, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;

/* The access log line of one finished request (level info). */
void fd_log_request(const char *request_id, const char *method,
                    const char *route, int status, double latency_ms);

#endif
