/*
 * flockctl: CSV as RFC 4180 has it (quoted fields with "" inside, CR LF
 * or LF), read a record at a time from a stream, with the byte offset
 * after each record so that an import can resume there.
 */
#ifndef FLOCKCTL_CSV_H
#define FLOCKCTL_CSV_H

#include <stdio.h>
#include <sys/types.h>

#include "common/buf.h"

typedef struct {
	FILE *f;
	off_t offset; /* bytes consumed: where the next record starts */
	long line;    /* the line the last record started on (1-based) */
	long next_line;
	flock__buf text; /* the record's fields, NUL-separated */
	size_t *starts;  /* field i at text.ptr + starts[i] */
	size_t nfields, cap;
	char error[128];
} csv_reader;

/* Read f from its current position, which is byte offset (for the
 * offsets), on line `line`. */
void csv_init(csv_reader *r, FILE *f, off_t offset, long line);
void csv_free(csv_reader *r);
/* The next record: 1 (fields in r: csv_field), 0 at the end, -1 on a
 * malformed record (r->error says why; reading may go on). */
int csv_next(csv_reader *r);
const char *csv_field(const csv_reader *r, size_t i);

/* Write one field (quoted when it must be), then sep (',' or '\n'). */
void csv_put(FILE *f, const char *s, int sep);

#endif
