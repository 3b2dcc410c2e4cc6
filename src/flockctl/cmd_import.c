/*
 * flockctl import customers|referrals FILE.csv
 *
 * Streaming: the file is read a record at a time, rows go out in batches
 * (POST /admin/apps/APP/import/..., up to 1000 rows a request, several
 * requests in flight), or one call per row through libflock when only a
 * service key is configured (--via wire).
 *
 * Every row carries an idempotency key made from the file, its line and
 * its content (row_key), so sending a row twice applies it once: after a crash,
 * a SIGKILL or Ctrl-C, running the same command again resumes from the
 * progress kept in the state file (the byte offset after the last batch
 * whose every row has an answer, batches being settled in file order),
 * and the rows that were in flight are sent again and answered from
 * flockd's idempotency records: no duplicate, no row lost.
 *
 * Rows refused (by flockctl's own checks, or by flockd) go to the rejects
 * file with the line, the reason's code and message, after the row's own
 * columns; columns whose name starts with "_" are ignored on import, so
 * the rejects file, once fixed, imports as it is. On a resume the rejects
 * file is cut back to what it held at the last settled batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <flock.h>

#include "cmds.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "csv.h"

#define MAX_BATCH 1000
#define ROW_ROUNDS 5   /* re-sends of rows answered "retry" */
#define BATCH_TRIES 10 /* sends of a batch that got no answer */

enum {
	F_IGNORE = 0,
	F_PROP,
	F_EXT,
	F_EMAIL,
	F_NAME,
	F_ENV,
	F_PROPS,
	F_CAMPAIGN,
	F_CODE,
	F_REFEREE,
	F_REFEREE_EXT
};

typedef struct {
	int kind;         /* F_* */
	const char *name; /* the header's text (F_PROP: the property) */
} column;

/* One row's answer. */
typedef struct {
	const char *outcome; /* "created", "ok", "replayed", or NULL: refused */
	char code[64];
	char message[256];
	int settled;
} row_result;

typedef struct batch {
	long seq;
	size_t n;
	json_t *rows; /* the rows' bodies, with idempotencyKey (NULL for
	                 a row refused before sending) */
	long *lines;
	flock__buf orig; /* each row's fields, NUL-separated */
	size_t *orig_at, *orig_n;
	row_result *res;
	off_t end_offset;
	long end_line;
	int done;
	struct batch *next;
} batch;

typedef struct {
	ctl *c;
	int referrals;
	int via_wire;
	const char *app;
	const char *file;
	char file_id[24]; /* of the kind and the file's real path, for keys */
	char url[2048];   /* the bulk import's, made before the workers run */
	char auth[600];
	char state_path[4096], rejects_path[4096];
	column *cols;
	size_t ncols;
	char **header;
	size_t nheader;
	size_t batch_size;
	int concurrency;
	const char *env_default, *campaign_default;
	struct flock_client *wire;
	/* the queue */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	batch *todo_head, *todo_tail; /* to send */
	batch *done_list;             /* sent, waiting for their turn */
	long next_settle;             /* the next batch to settle */
	long queued;                  /* batches read, not settled */
	int reading_done;
	int fatal; /* an exit code: stop */
	/* settled progress */
	off_t offset;
	off_t start_offset; /* where this run began */
	long line;
	long counts[4]; /* created, updated, replayed, rejected */
	long rows_this_run;
	FILE *rejects;
	off_t rejects_size;
	off_t file_size;
	time_t file_mtime;
	long file_mtime_ns;
	int64_t t0;
	int64_t last_progress;
	int progress;
	long resumed_line;
} importer;

/* ---- columns ---------------------------------------------------------- */

static void squash(char *out, size_t len, const char *in)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++) {
		if (*in == '_' || *in == '-' || *in == ' ')
			continue;
		out[o++] = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	}
	out[o] = '\0';
}

static int column_kind(int referrals, const char *name)
{
	static const struct {
		const char *name;
		int kind, referrals;
	} known[] = {{"externaluserid", F_EXT, 0},
	             {"externalid", F_EXT, 0},
	             {"email", F_EMAIL, 0},
	             {"name", F_NAME, 0},
	             {"environment", F_ENV, 0},
	             {"customproperties", F_PROPS, 0},
	             {"campaignid", F_CAMPAIGN, 1},
	             {"campaign", F_CAMPAIGN, 1},
	             {"referralcode", F_CODE, 1},
	             {"code", F_CODE, 1},
	             {"refereeid", F_REFEREE, 1},
	             {"refereeexternaluserid", F_REFEREE_EXT, 1},
	             {"refereeexternalid", F_REFEREE_EXT, 1}};
	char s[128];
	size_t i;

	if (name[0] == '_')
		return F_IGNORE;
	squash(s, sizeof(s), name);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].referrals == referrals &&
		    strcmp(s, known[i].name) == 0)
			return known[i].kind;
	return referrals ? F_IGNORE : F_PROP;
}

static int read_header(importer *im, csv_reader *r)
{
	size_t i;
	int rc = csv_next(r);

	if (rc <= 0)
		return ctl_fail(CTL_EUSAGE, "%s: %s", im->file,
		                rc == 0 ? "empty: no header row" : r->error);
	im->nheader = r->nfields;
	im->header = calloc(r->nfields, sizeof(char *));
	im->cols = calloc(r->nfields, sizeof(column));
	if (!im->header || !im->cols)
		return ctl_fail(CTL_EFAIL, "out of memory");
	for (i = 0; i < r->nfields; i++) {
		im->header[i] = strdup(csv_field(r, i));
		im->cols[i].name = im->header[i];
		im->cols[i].kind = column_kind(im->referrals, im->header[i]);
	}
	im->ncols = r->nfields;
	return 0;
}

/* ---- rows --------------------------------------------------------------- */

/* The row's body from its fields, or NULL with why in res. */
static json_t *row_body(importer *im, const csv_reader *r, row_result *res)
{
	json_t *row = json_object(), *props = NULL, *v;
	size_t i;
	int has_ext = 0, has_id = 0, has_code = 0, has_campaign = 0;

#define REFUSE(...)                                                            \
	do {                                                                   \
		snprintf(res->code, sizeof(res->code), "invalid_row");         \
		snprintf(res->message, sizeof(res->message), __VA_ARGS__);     \
		json_decref(props);                                            \
		json_decref(row);                                              \
		return NULL;                                                   \
	} while (0)

	if (r->nfields != im->ncols)
		REFUSE("the row has %zu fields, the header %zu", r->nfields,
		       im->ncols);
	for (i = 0; i < im->ncols; i++) {
		const char *f = csv_field(r, i);
		const char *field = NULL;

		if (!*f)
			continue;
		switch (im->cols[i].kind) {
		case F_EXT:
			field = "externalUserId";
			has_ext = 1;
			break;
		case F_EMAIL:
			field = "email";
			break;
		case F_NAME:
			field = "name";
			break;
		case F_ENV:
			if (strcmp(f, "production") && strcmp(f, "test"))
				REFUSE("environment must be production or "
				       "test, "
				       "not '%s'",
				       f);
			field = "environment";
			break;
		case F_CAMPAIGN:
			field = "campaignId";
			has_campaign = 1;
			break;
		case F_CODE:
			field = "referralCode";
			has_code = 1;
			break;
		case F_REFEREE:
			field = "refereeId";
			has_id++;
			break;
		case F_REFEREE_EXT:
			field = "refereeExternalUserId";
			has_id++;
			break;
		case F_PROPS: {
			const char *k;
			json_t *x, *parsed = json_loads(f, 0, NULL);

			if (!json_is_object(parsed)) {
				json_decref(parsed);
				REFUSE("customProperties must be a JSON "
				       "object");
			}
			json_object_foreach(parsed, k, x)
			{
				if (json_is_object(x) || json_is_array(x)) {
					json_decref(parsed);
					REFUSE("customProperties must be flat "
					       "(no objects or arrays)");
				}
			}
			if (!props)
				props = json_object();
			json_object_update(props, parsed);
			json_decref(parsed);
			continue;
		}
		case F_PROP:
			if (!props)
				props = json_object();
			json_object_set_new(props, im->cols[i].name,
			                    json_string(f));
			continue;
		default:
			continue;
		}
		if (!(v = json_string(f)))
			REFUSE("a field is not UTF-8");
		json_object_set_new(row, field, v);
	}
	if (!im->referrals) {
		if (!has_ext)
			REFUSE("externalUserId is empty");
		if (props)
			json_object_set_new(row, "customProperties", props);
		props = NULL;
		if (im->env_default && !json_object_get(row, "environment"))
			json_object_set_new(row, "environment",
			                    json_string(im->env_default));
	} else {
		if (!has_campaign && im->campaign_default)
			json_object_set_new(row, "campaignId",
			                    json_string(im->campaign_default));
		else if (!has_campaign)
			REFUSE("campaignId is empty (and no --campaign)");
		if (!has_code)
			REFUSE("referralCode is empty");
		if (has_id != 1)
			REFUSE("give one of refereeId and "
			       "refereeExternalUserId");
	}
#undef REFUSE
	return row;
}

/*
 * The row's idempotency key: the file's id (its kind and path), the row's
 * line and the hash of its content (the row's JSON, canonical). The same
 * row of the same file sent again (a resume, a second run) has the same
 * key and is applied once; a row changed in between has another key (a
 * key reused with another body would be refused). Keys of one import
 * sort in file order, so flockd's idempotency index grows at its end
 * rather than at random places: at 10^6 rows that is most of the import's
 * cost on SQLite.
 */
static int row_key(importer *im, json_t *row, long line)
{
	unsigned char sha[FLOCK__SHA256_LEN];
	char hex[2 * FLOCK__SHA256_LEN + 1], key[96];
	char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text)
		return -1;
	flock__sha256(sha, text, strlen(text));
	free(text);
	flock__hex_encode(hex, sha, sizeof(sha));
	snprintf(key, sizeof(key), "flockctl-import-%s-%010ld-%.16s",
	         im->file_id, line, hex);
	return json_object_set_new(row, "idempotencyKey", json_string(key));
}

static batch *batch_new(long seq, size_t cap)
{
	batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->seq = seq;
	b->rows = json_array();
	b->lines = calloc(cap, sizeof(long));
	b->orig_at = calloc(cap, sizeof(size_t));
	b->orig_n = calloc(cap, sizeof(size_t));
	b->res = calloc(cap, sizeof(row_result));
	if (!b->rows || !b->lines || !b->orig_at || !b->orig_n || !b->res) {
		json_decref(b->rows);
		free(b->lines);
		free(b->orig_at);
		free(b->orig_n);
		free(b->res);
		free(b);
		return NULL;
	}
	return b;
}

static void batch_free(batch *b)
{
	json_decref(b->rows);
	free(b->lines);
	free(b->orig_at);
	free(b->orig_n);
	free(b->res);
	flock__buf_free(&b->orig);
	free(b);
}

/* Add the current record to b. */
static int batch_add(importer *im, batch *b, const csv_reader *r)
{
	size_t i = b->n;
	row_result *res = &b->res[i];
	json_t *row = row_body(im, r, res);
	size_t f;

	b->lines[i] = r->line;
	b->orig_at[i] = b->orig.len;
	b->orig_n[i] = r->nfields;
	for (f = 0; f < r->nfields; f++)
		flock__buf_put(&b->orig, csv_field(r, f),
		               strlen(csv_field(r, f)) + 1);
	if (row && row_key(im, row, r->line) < 0) {
		json_decref(row);
		return -1;
	}
	if (!row)
		res->settled = 1; /* refused here: res says why */
	json_array_append_new(b->rows, row ? row : json_null());
	b->n++;
	return b->orig.oom ? -1 : 0;
}

/* ---- sending ---------------------------------------------------------- */

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Rows of b not settled yet (and not the same key as an earlier one:
 * sent once, answered for both). idx maps the request's rows to b's. */
static json_t *pending_rows(batch *b, size_t *idx, size_t *n)
{
	json_t *rows = json_array();
	size_t i, j;

	*n = 0;
	for (i = 0; rows && i < b->n; i++) {
		const char *key;
		int dup = 0;

		if (b->res[i].settled)
			continue;
		key = json_string_value(json_object_get(
		        json_array_get(b->rows, i), "idempotencyKey"));
		for (j = 0; j < *n && !dup; j++)
			dup = strcmp(key, json_string_value(json_object_get(
			                          json_array_get(rows, j),
			                          "idempotencyKey"))) == 0;
		if (dup)
			continue;
		idx[(*n)++] = i;
		json_array_append(rows, json_array_get(b->rows, i));
	}
	return rows;
}

/* The answer of row i of b from the server's; 1 if it is to be sent
 * again (a transient refusal). */
static int take_result(batch *b, size_t i, const json_t *r)
{
	const char *outcome = json_string_value(json_object_get(r, "outcome"));
	const char *code = json_string_value(json_object_get(r, "code"));
	const char *msg = json_string_value(json_object_get(r, "message"));
	row_result *res = &b->res[i];

	if (!outcome)
		outcome = "internal";
	if (!strcmp(outcome, "unavailable") || !strcmp(outcome, "internal") ||
	    (code && !strcmp(code, "idempotency_key_in_flight")))
		return 1;
	res->settled = 1;
	if (!strcmp(outcome, "created") || !strcmp(outcome, "ok")) {
		res->outcome = json_is_true(json_object_get(r, "replayed"))
		                       ? "replayed"
		               : !strcmp(outcome, "created") ? "created"
		                                             : "updated";
		return 0;
	}
	snprintf(res->code, sizeof(res->code), "%s", code ? code : outcome);
	snprintf(res->message, sizeof(res->message), "%s", msg ? msg : "");
	return 0;
}

/* Rows that share a key with a settled row get its answer. */
static void copy_duplicates(batch *b)
{
	size_t i, j;

	for (i = 0; i < b->n; i++) {
		json_t *ri = json_array_get(b->rows, i);

		if (b->res[i].settled || json_is_null(ri))
			continue;
		for (j = 0; j < b->n; j++) {
			json_t *rj = json_array_get(b->rows, j);

			if (j != i && b->res[j].settled && !json_is_null(rj) &&
			    json_equal(json_object_get(ri, "idempotencyKey"),
			               json_object_get(rj, "idempotencyKey"))) {
				b->res[i] = b->res[j];
				if (b->res[i].outcome)
					b->res[i].outcome = "replayed";
				break;
			}
		}
	}
}

/* Send b through the admin import until every row has an answer. 0, or
 * an exit code (the import stops; its progress is kept). */
static int send_admin(importer *im, ctl_http *h, batch *b)
{
	const char *hdr[3] = {im->auth, "Content-Type: application/json",
	                      NULL};
	const char *url = im->url;
	size_t idx[MAX_BATCH], n, i;
	int round, tries, again;

	for (round = 0; round < ROW_ROUNDS; round++) {
		json_t *rows = pending_rows(b, idx, &n), *body, *results;
		char *text;
		ctl_resp r;

		if (!rows)
			return CTL_EFAIL;
		if (n == 0) {
			json_decref(rows);
			break;
		}
		body = json_pack("{s:o}", "rows", rows);
		text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (!text)
			return CTL_EFAIL;
		for (tries = 0;; tries++) {
			http_send(h, "POST", url, hdr, text, strlen(text), &r);
			if (r.status >= 200 && r.status < 300 && r.json)
				break;
			if (r.status != 0 && r.status != 429 &&
			    r.status < 500) {
				free(text);
				tries = http_error(&r, "import");
				resp_free(&r);
				return tries;
			}
			if (tries + 1 >= BATCH_TRIES) {
				free(text);
				tries = http_error(&r, "import");
				resp_free(&r);
				return tries;
			}
			resp_free(&r);
			nap(250L << (tries < 5 ? tries : 5));
		}
		free(text);
		results = json_object_get(r.json, "results");
		again = 0;
		for (i = 0; i < n; i++)
			again |= take_result(b, idx[i],
			                     json_array_get(results, i));
		resp_free(&r);
		copy_duplicates(b);
		if (!again)
			break;
		nap(200L << round);
	}
	for (i = 0; i < b->n; i++)
		if (!b->res[i].settled) {
			b->res[i].settled = 1;
			snprintf(b->res[i].code, sizeof(b->res[i].code),
			         "unavailable");
			snprintf(b->res[i].message, sizeof(b->res[i].message),
			         "flockd could not apply the row; run the "
			         "import again");
		}
	return 0;
}

/* Send b row by row through libflock (its own retries). */
static int send_wire(importer *im, batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		json_t *row = json_array_get(b->rows, i);
		row_result *res = &b->res[i];
		int rc;

		if (res->settled)
			continue;
		rc = wire_import_row(im->wire, im->referrals, row,
		                     json_string_value(json_object_get(
		                             row, "idempotencyKey")),
		                     res->code, sizeof(res->code), res->message,
		                     sizeof(res->message));
		if (rc == FLOCK_ENETWORK || rc == FLOCK_ETIMEOUT ||
		    rc == FLOCK_ESERVER || rc == FLOCK_ERATELIMIT ||
		    rc == FLOCK_EAUTH || rc == FLOCK_ENOMEM) {
			ctl_fail(wire_code(rc), "import, line %ld: %s",
			         b->lines[i], res->message);
			return wire_code(rc);
		}
		res->settled = 1;
		res->outcome = rc == 0 ? "updated" : NULL;
	}
	return 0;
}

/* ---- settling, in file order ----------------------------------------- */

static void write_reject(importer *im, batch *b, size_t i)
{
	const char *f = b->orig.ptr + b->orig_at[i];
	char line[32];
	size_t k;

	if (!im->rejects) {
		int fd = open(im->rejects_path, O_WRONLY | O_CREAT | O_CLOEXEC,
		              0600);

		if (fd < 0 || !(im->rejects = fdopen(fd, "w"))) {
			if (fd >= 0)
				close(fd);
			ctl_fail(CTL_EFAIL, "cannot write %s: %s",
			         im->rejects_path, strerror(errno));
			im->fatal = CTL_EFAIL;
			return;
		}
		if (ftruncate(fd, im->rejects_size) < 0 ||
		    fseeko(im->rejects, im->rejects_size, SEEK_SET) < 0) {
			im->fatal = CTL_EFAIL;
			return;
		}
		if (im->rejects_size == 0) {
			for (k = 0; k < im->nheader; k++)
				csv_put(im->rejects, im->header[k], ',');
			csv_put(im->rejects, "_line", ',');
			csv_put(im->rejects, "_error", ',');
			csv_put(im->rejects, "_message", '\n');
		}
	}
	for (k = 0; k < b->orig_n[i]; k++) {
		csv_put(im->rejects, f, ',');
		f += strlen(f) + 1;
	}
	snprintf(line, sizeof(line), "%ld", b->lines[i]);
	csv_put(im->rejects, line, ',');
	csv_put(im->rejects, b->res[i].code, ',');
	csv_put(im->rejects, b->res[i].message, '\n');
}

static int save_state(importer *im)
{
	char tmp[4200];
	json_t *s = json_pack(
	        "{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:[I,I,I,I]}",
	        "version", 1, "kind", im->referrals ? "referrals" : "customers",
	        "file", im->file, "size", (json_int_t)im->file_size, "mtime",
	        (json_int_t)im->file_mtime, "mtimeNs",
	        (json_int_t)im->file_mtime_ns, "offset", (json_int_t)im->offset,
	        "line", (json_int_t)im->line, "rejectsSize",
	        (json_int_t)im->rejects_size, "counts",
	        (json_int_t)im->counts[0], (json_int_t)im->counts[1],
	        (json_int_t)im->counts[2], (json_int_t)im->counts[3]);
	int fd, rc = -1;
	char *text = s ? json_dumps(s, JSON_COMPACT) : NULL;

	json_decref(s);
	snprintf(tmp, sizeof(tmp), "%s.new", im->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && text &&
	    write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
	    close(fd) == 0) {
		fd = -1;
		rc = rename(tmp, im->state_path);
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

static void progress(importer *im, int last)
{
	int64_t now = flock__mono_ms();
	double secs = (double)(now - im->t0) / 1000.0, rate, pct, bps;
	long eta = 0;

	if (!im->progress || (!last && now - im->last_progress < 250))
		return;
	im->last_progress = now;
	rate = secs > 0 ? (double)im->rows_this_run / secs : 0;
	bps = secs > 0 ? (double)(im->offset - im->start_offset) / secs : 0;
	pct = im->file_size ? 100.0 * (double)im->offset / (double)im->file_size
	                    : 100.0;
	if (bps > 0)
		eta = (long)((double)(im->file_size - im->offset) / bps + 0.5);
	fprintf(stderr, "\r%5.1f%%  %ld rows  %.0f rows/s  ETA %ldm%02lds   ",
	        pct,
	        im->counts[0] + im->counts[1] + im->counts[2] + im->counts[3],
	        rate, eta / 60, eta % 60);
	if (last)
		fprintf(stderr, "\n");
}

/* Settle every batch whose turn it is (under im->mu). */
static void settle_ready(importer *im)
{
	batch **pp, *b;
	size_t i;
	int found;

	do {
		found = 0;
		for (pp = &im->done_list; (b = *pp); pp = &b->next) {
			if (b->seq != im->next_settle)
				continue;
			*pp = b->next;
			found = 1;
			for (i = 0; i < b->n; i++) {
				const char *o = b->res[i].outcome;

				if (!o)
					write_reject(im, b, i);
				im->counts[!o                      ? 3
				           : !strcmp(o, "created") ? 0
				           : !strcmp(o, "updated") ? 1
				                                   : 2]++;
			}
			im->rows_this_run += (long)b->n;
			if (im->rejects) {
				fflush(im->rejects);
				im->rejects_size = ftello(im->rejects);
			}
			im->offset = b->end_offset;
			im->line = b->end_line;
			if (!im->fatal && save_state(im) < 0) {
				ctl_fail(CTL_EFAIL, "cannot write %s: %s",
				         im->state_path, strerror(errno));
				im->fatal = CTL_EFAIL;
			}
			im->next_settle++;
			im->queued--;
			batch_free(b);
			progress(im, 0);
			break;
		}
	} while (found && !im->fatal);
	pthread_cond_broadcast(&im->cv);
}

static void *worker(void *arg)
{
	importer *im = arg;
	ctl_http *h = im->via_wire ? NULL : http_new(im->c);
	batch *b;
	int rc;

	for (;;) {
		pthread_mutex_lock(&im->mu);
		while (!im->todo_head && !im->reading_done && !im->fatal)
			pthread_cond_wait(&im->cv, &im->mu);
		if (!im->todo_head || im->fatal) {
			pthread_mutex_unlock(&im->mu);
			break;
		}
		b = im->todo_head;
		im->todo_head = b->next;
		if (!im->todo_head)
			im->todo_tail = NULL;
		pthread_mutex_unlock(&im->mu);
		rc = !im->via_wire && !h ? CTL_EFAIL
		     : im->via_wire      ? send_wire(im, b)
		                         : send_admin(im, h, b);
		pthread_mutex_lock(&im->mu);
		if (rc && !im->fatal)
			im->fatal = rc;
		b->next = im->done_list;
		im->done_list = b;
		if (!im->fatal)
			settle_ready(im);
		pthread_cond_broadcast(&im->cv);
		pthread_mutex_unlock(&im->mu);
	}
	http_free(h);
	return NULL;
}

/* ---- the state file ----------------------------------------------------- */

static int default_state_path(importer *im, const char *real)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	unsigned char sha[FLOCK__SHA256_LEN];
	char hex[2 * FLOCK__SHA256_LEN + 1], id[8200], dir[3900];

	snprintf(id, sizeof(id), "%s\n%s\n%s", im->referrals ? "r" : "c", real,
	         im->c->base_url);
	flock__sha256(sha, id, strlen(id));
	flock__hex_encode(hex, sha, sizeof(sha));
	if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%s/flockctl", xdg);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.local/state/flockctl", home);
	else
		return -1;
	/* mkdir -p, 0700 */
	{
		char *p;

		for (p = dir + 1; *p; p++)
			if (*p == '/') {
				*p = '\0';
				mkdir(dir, 0700);
				*p = '/';
			}
		mkdir(dir, 0700);
	}
	snprintf(im->state_path, sizeof(im->state_path), "%s/import-%.16s.json",
	         dir, hex);
	return 0;
}

/* Resume from the state file if there is one for this file. 0, or an
 * exit code. */
static int load_state(importer *im, int restart)
{
	json_t *s, *counts;
	size_t i;

	if (restart) {
		unlink(im->state_path);
		return 0;
	}
	if (!(s = json_load_file(im->state_path, 0, NULL)))
		return 0;
	if ((off_t)json_integer_value(json_object_get(s, "size")) !=
	            im->file_size ||
	    (time_t)json_integer_value(json_object_get(s, "mtime")) !=
	            im->file_mtime ||
	    (long)json_integer_value(json_object_get(s, "mtimeNs")) !=
	            im->file_mtime_ns) {
		json_decref(s);
		return ctl_fail(CTL_EFAIL,
		                "%s changed since the import that was stopped "
		                "(%s): pass --restart to import it from the "
		                "start",
		                im->file, im->state_path);
	}
	im->offset = (off_t)json_integer_value(json_object_get(s, "offset"));
	im->line = (long)json_integer_value(json_object_get(s, "line"));
	im->rejects_size =
	        (off_t)json_integer_value(json_object_get(s, "rejectsSize"));
	counts = json_object_get(s, "counts");
	for (i = 0; i < 4; i++)
		im->counts[i] =
		        (long)json_integer_value(json_array_get(counts, i));
	im->resumed_line = im->line;
	json_decref(s);
	return 0;
}

/* ---- the command ------------------------------------------------------ */

static int summary(importer *im)
{
	double secs = (double)(flock__mono_ms() - im->t0) / 1000.0;
	long rows =
	        im->counts[0] + im->counts[1] + im->counts[2] + im->counts[3];
	json_t *o;

	if (im->c->mode == OUT_JSON || im->c->quiet) {
		if (im->c->quiet)
			return 0;
		o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, "
		              "s:s?, s:I}",
		              "file", im->file, "rows", (json_int_t)rows,
		              "created", (json_int_t)im->counts[0], "updated",
		              (json_int_t)im->counts[1], "replayed",
		              (json_int_t)im->counts[2], "rejected",
		              (json_int_t)im->counts[3], "rowsThisRun",
		              (json_int_t)im->rows_this_run, "seconds", secs,
		              "rowsPerSecond",
		              secs > 0 ? (double)im->rows_this_run / secs : 0.0,
		              "rejects",
		              im->counts[3] ? im->rejects_path : NULL,
		              "resumedAtLine", (json_int_t)im->resumed_line);
		if (!im->resumed_line)
			json_object_del(o, "resumedAtLine");
		out_value(im->c, o);
		json_decref(o);
		return 0;
	}
	printf("%s: %ld rows (%ld this run, in %.1f s, %.0f rows/s): %ld "
	       "created, %ld updated, %ld already imported, %ld "
	       "rejected%s%s%s\n",
	       im->file, rows, im->rows_this_run, secs,
	       secs > 0 ? (double)im->rows_this_run / secs : 0.0, im->counts[0],
	       im->counts[1], im->counts[2], im->counts[3],
	       im->counts[3] ? " (see " : "",
	       im->counts[3] ? im->rejects_path : "", im->counts[3] ? ")" : "");
	return 0;
}

static int setup(importer *im, ctl *c, const ctl_args *a, FILE **in)
{
	const char *via = arg_get(a, "via");
	char real[PATH_MAX];
	struct stat st;
	long bs = 500, conc = 4;
	int rc;

	im->c = c;
	im->file = a->pos[0];
	im->env_default = arg_get(a, "environment");
	im->campaign_default = arg_get(a, "campaign");
	if ((rc = arg_long(c, a, "batch-size", 1, MAX_BATCH, &bs)) ||
	    (rc = arg_long(c, a, "concurrency", 1, 64, &conc)))
		return rc;
	im->batch_size = (size_t)bs;
	im->concurrency = (int)conc;
	if (im->env_default && strcmp(im->env_default, "production") &&
	    strcmp(im->env_default, "test"))
		return ctl_usage(c, "--environment must be production or test");
	if (via && strcmp(via, "admin") && strcmp(via, "wire"))
		return ctl_usage(c, "--via must be admin or wire");
	im->via_wire =
	        via ? !strcmp(via, "wire") : !c->admin_token && c->access_key;
	if (im->via_wire) {
		if (!(im->wire = wire_client(c, &rc)))
			return rc;
	} else if (!(im->app = config_app(c, &rc))) {
		return rc;
	} else {
		/* url_part's buffers are not for threads: made here once. */
		snprintf(im->url, sizeof(im->url), "%s/admin/apps/%s/import/%s",
		         c->base_url, url_part(im->app),
		         im->referrals ? "referrals" : "customers");
		snprintf(im->auth, sizeof(im->auth), "Authorization: %s",
		         c->admin_token);
	}
	if (!(*in = fopen(im->file, "rb")))
		return ctl_fail(CTL_EFAIL, "cannot read %s: %s", im->file,
		                strerror(errno));
	if (fstat(fileno(*in), &st) < 0 || !realpath(im->file, real))
		return ctl_fail(CTL_EFAIL, "%s: %s", im->file, strerror(errno));
	{
		unsigned char sha[FLOCK__SHA256_LEN];
		char id[PATH_MAX + 8], hex[2 * FLOCK__SHA256_LEN + 1];

		snprintf(id, sizeof(id), "%c\n%s", im->referrals ? 'r' : 'c',
		         real);
		flock__sha256(sha, id, strlen(id));
		flock__hex_encode(hex, sha, sizeof(sha));
		snprintf(im->file_id, sizeof(im->file_id), "%.12s", hex);
	}
	im->file_size = st.st_size;
	im->file_mtime = st.st_mtim.tv_sec;
	im->file_mtime_ns = st.st_mtim.tv_nsec;
	if (arg_get(a, "state"))
		snprintf(im->state_path, sizeof(im->state_path), "%s",
		         arg_get(a, "state"));
	else if (default_state_path(im, real) < 0)
		return ctl_usage(c, "no HOME or XDG_STATE_HOME: pass --state "
		                    "FILE");
	snprintf(im->rejects_path, sizeof(im->rejects_path), "%s",
	         arg_get(a, "rejects") ? arg_get(a, "rejects") : "");
	if (!im->rejects_path[0])
		snprintf(im->rejects_path, sizeof(im->rejects_path),
		         "%s.rejects.csv", im->file);
	im->progress = c->stderr_tty && !c->quiet && !arg_has(a, "no-progress");
	return load_state(im, arg_has(a, "restart"));
}

/* Read the file into batches for the workers, at most 2 per worker
 * ahead. */
static int read_rows(importer *im, FILE *in)
{
	csv_reader r;
	batch *b = NULL;
	long seq = 0;
	int rc = 0, got;

	csv_init(&r, in, 0, 1);
	if ((rc = read_header(im, &r)) != 0)
		goto done;
	if (im->offset > r.offset) {
		if (fseeko(in, im->offset, SEEK_SET) < 0) {
			rc = ctl_fail(CTL_EFAIL, "%s: %s", im->file,
			              strerror(errno));
			goto done;
		}
		r.offset = im->offset;
		r.next_line = im->line;
		if (!im->c->quiet)
			fprintf(stderr, "flockctl: resuming %s at line %ld\n",
			        im->file, im->line);
	} else {
		im->offset = r.offset;
		im->line = r.next_line;
		/* A new import: an old rejects file is not its. */
		unlink(im->rejects_path);
	}
	im->start_offset = im->offset;
	for (;;) {
		got = csv_next(&r);
		if (got == 0 || (got < 0 && r.text.oom))
			break;
		if (!b && !(b = batch_new(seq, im->batch_size))) {
			rc = ctl_fail(CTL_EFAIL, "out of memory");
			break;
		}
		if (got < 0) { /* malformed: the rest of the file */
			rc = ctl_fail(CTL_EINVALID, "%s:%ld: %s", im->file,
			              r.line, r.error);
			batch_free(b);
			b = NULL;
			break;
		}
		if (batch_add(im, b, &r) < 0) {
			rc = ctl_fail(CTL_EFAIL, "out of memory");
			break;
		}
		if (b->n < im->batch_size)
			continue;
		b->end_offset = r.offset;
		b->end_line = r.next_line;
		pthread_mutex_lock(&im->mu);
		while (im->queued >= 2L * im->concurrency && !im->fatal)
			pthread_cond_wait(&im->cv, &im->mu);
		if (im->fatal) {
			pthread_mutex_unlock(&im->mu);
			batch_free(b);
			b = NULL;
			break;
		}
		if (im->todo_tail)
			im->todo_tail->next = b;
		else
			im->todo_head = b;
		im->todo_tail = b;
		im->queued++;
		pthread_cond_broadcast(&im->cv);
		pthread_mutex_unlock(&im->mu);
		b = NULL;
		seq++;
	}
	if (b && b->n && !rc) {
		b->end_offset = r.offset;
		b->end_line = r.next_line;
		pthread_mutex_lock(&im->mu);
		if (im->todo_tail)
			im->todo_tail->next = b;
		else
			im->todo_head = b;
		im->todo_tail = b;
		im->queued++;
		pthread_mutex_unlock(&im->mu);
		b = NULL;
	}
	if (b)
		batch_free(b);
done:
	pthread_mutex_lock(&im->mu);
	im->reading_done = 1;
	if (rc && !im->fatal)
		im->fatal = rc;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	csv_free(&r);
	return rc;
}

static int run_import(ctl *c, const ctl_args *a, int referrals)
{
	importer im;
	pthread_t threads[64];
	FILE *in = NULL;
	batch *b;
	size_t i;
	int rc, n = 0;

	memset(&im, 0, sizeof(im));
	im.referrals = referrals;
	pthread_mutex_init(&im.mu, NULL);
	pthread_cond_init(&im.cv, NULL);
	if ((rc = setup(&im, c, a, &in)) != 0)
		goto done;
	im.t0 = flock__mono_ms();
	for (n = 0; n < im.concurrency; n++)
		if (pthread_create(&threads[n], NULL, worker, &im) != 0)
			break;
	read_rows(&im, in);
	for (i = 0; i < (size_t)n; i++)
		pthread_join(threads[i], NULL);
	rc = im.fatal;
	progress(&im, 1);
	if (rc == 0) {
		unlink(im.state_path);
		summary(&im);
		rc = im.counts[3] ? CTL_EFAIL : CTL_OK;
	} else if (!c->quiet) {
		fprintf(stderr,
		        "flockctl: the import stopped at line %ld; run "
		        "the same command again to resume\n",
		        im.line);
	}
done:
	while ((b = im.todo_head)) {
		im.todo_head = b->next;
		batch_free(b);
	}
	while ((b = im.done_list)) {
		im.done_list = b->next;
		batch_free(b);
	}
	if (im.rejects)
		fclose(im.rejects);
	if (in)
		fclose(in);
	for (i = 0; i < im.nheader; i++)
		free(im.header[i]);
	free(im.header);
	free(im.cols);
	pthread_mutex_destroy(&im.mu);
	pthread_cond_destroy(&im.cv);
	return rc;
}

CMD(cmd_import_customers)
{
	if (arg_get(a, "campaign"))
		return ctl_usage(c, "--campaign is for referrals");
	return run_import(c, a, 0);
}

CMD(cmd_import_referrals)
{
	if (arg_get(a, "environment"))
		return ctl_usage(c, "--environment is for customers (a "
		                    "referral's is its campaign's)");
	return run_import(c, a, 1);
}
