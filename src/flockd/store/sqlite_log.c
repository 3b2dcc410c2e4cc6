/*
 * flockd: SQLite's process-wide settings, made once before the first
 * database opens. SQLite's own error log (sqlite3_config(SQLITE_CONFIG_LOG))
 * goes into flockd's log, so a failure at run time (disk full, I/O error, a
 * read-only file, a lock held past the busy timeout) leaves a line. Its
 * messages name objects and quote statements, whose values are always
 * bound parameters: no secret or personal data reaches the log.
 */
#include "store/sqlite_log.h"

#include <pthread.h>

#include <sqlite3.h>

#include "base/log.h"

static void on_log(void *arg, int code, const char *msg)
{
	(void)arg;
	switch (code & 0xff) {
	case SQLITE_OK:
	case SQLITE_SCHEMA:     /* a statement prepared again: routine */
	case SQLITE_CONSTRAINT: /* a conflict the store answers itself */
	case SQLITE_NOTICE:     /* WAL recovered, and the like */
	case SQLITE_WARNING:
		return;
	default:
		fd_log(FD_LOG_WARN, "sqlite: %s (error %d)", msg ? msg : "?",
		       code);
	}
}

static void install(void)
{
	/* Refused (SQLITE_MISUSE) once SQLite is initialized, as in a test
	 * program that opened a database first: then nothing is logged. */
	sqlite3_config(SQLITE_CONFIG_LOG, on_log, NULL);
	/* No memory statistics: with them every sqlite3_malloc and
	 * sqlite3_free takes a process-wide mutex (about 140 of each per
	 * reward-granting ingest on the writer, bench/README.md), for
	 * sqlite3_memory_used() and a soft heap limit flockd does not use. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void fd_sqlite_log_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install);
}
