/*
 * flockd: the dashboard's sessions and its login throttle (docs/
 * dashboard.md, "Security").
 *
 * Logging in exchanges an admin token for a session: a random id (the
 * cookie) and a random CSRF token (returned to the page, sent back in the
 * X-CSRF-Token header of every state-changing call). The session keeps
 * the token in this process's memory only, so every call of the
 * dashboard is made, and authorised, with it: a revoked token ends its
 * sessions at their next call. Sessions end at logout, after ttl_s, or
 * idle_s without a call, whichever comes first; they live in memory, so
 * a restarted flockd asks for the token again. Times are CLOCK_MONOTONIC:
 * --test-clock moves flockd's rules, never a session.
 *
 * Thread-safe: one mutex.
 */
#ifndef FLOCKD_SESSION_H
#define FLOCKD_SESSION_H

#include <stddef.h>
#include <stdint.h>

typedef struct fd_sessions fd_sessions;

#define FD_SESSION_ID_LEN 64   /* hex characters */
#define FD_SESSION_TOKEN_MAX 160

/* Sessions of at most ttl_s seconds, idle_s idle. 0 or -1. */
int fd_sessions_new(fd_sessions **out, int ttl_s, int idle_s);
void fd_sessions_free(fd_sessions *s);

/*
 * A new session for token (an admin token the caller authenticated):
 * its id and CSRF token (hex, NUL-terminated) and how many seconds it
 * lasts. When the table is full the session closest to its end goes.
 * 0, or -1 (no randomness, or token too long).
 */
int fd_session_create(fd_sessions *s, const char *token,
                      char id[FD_SESSION_ID_LEN + 1],
                      char csrf[FD_SESSION_ID_LEN + 1], int *lasts_s);

/*
 * The live session of cookie id: its token (copied into token, len
 * bytes) and CSRF token, and its remaining seconds; touches it (idle
 * time starts again). 0, or -1 (none, expired, or malformed id).
 */
int fd_session_get(fd_sessions *s, const char *id, char *token, size_t len,
                   char csrf[FD_SESSION_ID_LEN + 1], int *lasts_s);

/* End the session of cookie id (no-op if none). */
void fd_session_delete(fd_sessions *s, const char *id);

/* 1 if a and b are the same NUL-terminated strings, in time that does not
 * depend on where they differ. */
int fd_session_same(const char *a, const char *b);

/*
 * The login throttle: at most per_addr attempts a minute from one client
 * address and total from all (fixed one-minute windows). 0 to go on
 * (the attempt is counted), or -1 with *retry_s (seconds to the next
 * window).
 */
int fd_login_allow(fd_sessions *s, const char *addr, int per_addr, int total,
                   int *retry_s);

#endif
