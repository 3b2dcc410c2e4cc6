/*
 * flockctl: CSV (csv.h).
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void csv_init(csv_reader *r, FILE *f, off_t offset, long line)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->offset = offset;
	r->next_line = line;
}

void csv_free(csv_reader *r)
{
	flock__buf_free(&r->text);
	free(r->starts);
	memset(r, 0, sizeof(*r));
}

static int new_field(csv_reader *r)
{
	size_t *grown;

	if (r->nfields == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		if (!(grown = realloc(r->starts, r->cap * sizeof(*grown))))
			return -1;
		r->starts = grown;
	}
	r->starts[r->nfields++] = r->text.len;
	return 0;
}

int csv_next(csv_reader *r)
{
	int ch, quoted = 0, after_quote = 0, any = 0, bad = 0;

	r->text.len = 0;
	r->nfields = 0;
	r->line = r->next_line;
	if (new_field(r) < 0)
		return -1;
	for (;;) {
		ch = getc_unlocked(r->f);
		if (ch == EOF)
			break;
		r->offset++;
		any = 1;
		if (quoted) {
			if (ch == '"') {
				quoted = 0;
				after_quote = 1;
				continue;
			}
			if (ch == '\n')
				r->next_line++;
			flock__buf_put(&r->text, (char *)&(char){(char)ch}, 1);
			continue;
		}
		if (ch == '"') {
			if (after_quote) { /* "" inside quotes */
				flock__buf_put(&r->text, "\"", 1);
				quoted = 1;
				after_quote = 0;
				continue;
			}
			quoted = 1;
			continue;
		}
		after_quote = 0;
		if (ch == ',') {
			if (flock__buf_put(&r->text, "", 1) < 0 ||
			    new_field(r) < 0)
				return -1;
			continue;
		}
		if (ch == '\r')
			continue;
		if (ch == '\n') {
			r->next_line++;
			break;
		}
		flock__buf_put(&r->text, (char *)&(char){(char)ch}, 1);
	}
	if (!any)
		return 0;
	if (flock__buf_put(&r->text, "", 1) < 0 || r->text.oom)
		return -1;
	if (quoted) {
		snprintf(r->error, sizeof(r->error),
		         "a quoted field is not closed");
		bad = 1;
	}
	return bad ? -1 : 1;
}

const char *csv_field(const csv_reader *r, size_t i)
{
	return i < r->nfields ? r->text.ptr + r->starts[i] : NULL;
}

void csv_put(FILE *f, const char *s, int sep)
{
	const char *p;

	s = s ? s : "";
	if (strpbrk(s, ",\"\r\n") ||
	    (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '))) {
		fputc('"', f);
		for (p = s; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(sep, f);
}
