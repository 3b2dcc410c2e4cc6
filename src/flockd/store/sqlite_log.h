/*
 * flockd: SQLite's error log into flockd's (sqlite_log.c).
 */
#ifndef FLOCKD_STORE_SQLITE_LOG_H
#define FLOCKD_STORE_SQLITE_LOG_H

/* Install once, before the first database is opened. Thread-safe. */
void fd_sqlite_log_install(void);

#endif
