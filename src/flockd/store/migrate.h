/*
 * flockd migrate-store: copy one application's data (or all) from a SQLite
 * database into PostgreSQL, in one PostgreSQL transaction, and verify it
 * row for row before committing. A tool of the stores, not of the engine.
 */
#ifndef FLOCKD_MIGRATE_H
#define FLOCKD_MIGRATE_H

#include <stdio.h>

/*
 * Copy from the SQLite file `from` into the PostgreSQL database `to`
 * (migrated to the current schema first). app_id NULL: every application.
 * Refuses (changes nothing) if an application being copied already exists
 * in the target. Prints per-table counts to out and errors to err (never
 * the URL's password). 0 when committed and verified, -1 otherwise.
 */
int fd_migrate_store(const char *from, const char *to, const char *app_id,
                     FILE *out, FILE *err);

#endif
