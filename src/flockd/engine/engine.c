/*
 * flockd engine: lifecycle, authentication, the rate limit, read
 * snapshots, and the helpers the operations share (answers, request
 * fields, outbox events, customers). The writer is writer.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "engine/internal.h"
#include "base/jdump.h"
#include "base/log.h"

/* ---- outcomes and answers -------------------------------------------- */

int fd_outcome_ok(fd_outcome o)
{
	return o == FD_OUT_OK || o == FD_OUT_CREATED;
}

int fd_outcome_fault(fd_outcome o)
{
	return o == FD_OUT_NONE || o == FD_OUT_INTERNAL ||
	       o == FD_OUT_UNAVAILABLE;
}

#ifdef __GNUC__
__attribute__((format(printf, 4, 0)))
#endif
static void
vfail(fd_response *res, fd_outcome o, const char *code, const char *fmt,
      va_list ap)
{
	json_decref(res->body);
	res->body = NULL;
	free(res->text); /* a success's bytes */
	res->text = NULL;
	res->outcome = o;
	res->replayed = 0;
	snprintf(res->code, sizeof(res->code), "%s", code ? code : "error");
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
}

void fd_fail(fd_response *res, fd_outcome o, const char *code, const char *fmt,
             ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(res, o, code, fmt, ap);
	va_end(ap);
}

int fd__fail(fd_ctx *x, fd_outcome o, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(x->res, o, code, fmt, ap);
	va_end(ap);
	return -1;
}

int fd__internal(fd_ctx *x)
{
	return fd__fail(x, FD_OUT_INTERNAL, "internal", "internal error");
}

int fd__not_found(fd_ctx *x, const char *what)
{
	char code[64];

	snprintf(code, sizeof(code), "%s_not_found", what);
	return fd__fail(x, FD_OUT_NOT_FOUND, code, "%s not found", what);
}

int fd__missing(fd_ctx *x, const char *field)
{
	return fd__fail(x, FD_OUT_INVALID, "missing_field", "%s is required",
	                field);
}

int fd__invalid(fd_ctx *x, const char *field, const char *why)
{
	return fd__fail(x, FD_OUT_INVALID, "invalid_field", "%s %s", field,
	                why);
}

int fd__ok(fd_ctx *x, fd_outcome o, json_t *body)
{
	if (!body)
		return fd__internal(x);
	json_decref(x->res->body);
	x->res->outcome = o;
	x->res->body = body;
	return 0;
}

void fd__jput(flock__buf *b, const char *k, const char *v)
{
	flock__buf_puts(b, k);
	if (v)
		fd_jdump_str(b, v, strlen(v));
	else
		flock__buf_puts(b, "null");
}

int fd__ok_text(fd_ctx *x, fd_outcome o, char *text)
{
	json_t *body;

	if (!text)
		return fd__internal(x);
	if (!x->req->want_text) {
		body = json_loads(text, 0, NULL);
		free(text);
		return fd__ok(x, o, body);
	}
	json_decref(x->res->body);
	free(x->res->text);
	x->res->outcome = o;
	x->res->body = NULL;
	x->res->text = text;
	return 0;
}

/* ---- request helpers ------------------------------------------------- */

const char *fd__bstr(const fd_ctx *x, const char *name)
{
	return json_string_value(json_object_get(x->req->body, name));
}

const char *fd__qstr(const fd_ctx *x, const char *name)
{
	return json_string_value(json_object_get(x->req->query, name));
}

const char *fd__env(const fd_ctx *x)
{
	const char *env = fd__bstr(x, "environment");

	if (!env)
		env = fd__qstr(x, "environment");
	if (!env && x->req->who && x->req->who->environment[0])
		env = x->req->who->environment;
	if (!env)
		return "production";
	if (strcmp(env, "production") == 0)
		return "production";
	if (strcmp(env, "test") == 0)
		return "test";
	return NULL;
}

static long qlong(const fd_ctx *x, const char *name, long def)
{
	json_t *v = json_object_get(x->req->query, name);
	const char *s = json_string_value(v);
	char *end;
	long n;

	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (!s || !*s)
		return def;
	n = strtol(s, &end, 10);
	return *end ? def : n;
}

void fd__page(const fd_ctx *x, long *limit, long *offset)
{
	*limit = qlong(x, "limit", 20);
	*offset = qlong(x, "offset", 0);
	if (*limit < 1)
		*limit = 1;
	if (*limit > 100)
		*limit = 100;
	if (*offset < 0)
		*offset = 0;
}

static const char *any_if_empty(const char *s)
{
	return s && *s ? s : NULL;
}

int fd__list(fd_ctx *x, fd_store_list_fn fn, fd_filter f)
{
	json_t *out = NULL;
	long limit, offset;

	fd__page(x, &limit, &offset);
	f.environment = any_if_empty(f.environment);
	f.campaign_id = any_if_empty(f.campaign_id);
	f.status = any_if_empty(f.status);
	f.customer_id = any_if_empty(f.customer_id);
	f.name = any_if_empty(f.name);
	f.q = any_if_empty(f.q);
	if (fn(x->c, x->app, &f, limit, offset, &out) != FD_OK)
		return fd__internal(x);
	return fd__ok(x, FD_OUT_OK, out);
}

int fd__secret(char *out, size_t len, const char *prefix, size_t nbytes)
{
	uint8_t raw[32];
	size_t plen = strlen(prefix);

	if (nbytes > sizeof(raw) || plen + 2 * nbytes + 1 > len ||
	    flock__random_bytes(raw, nbytes) < 0)
		return -1;
	memcpy(out, prefix, plen);
	flock__hex_encode(out + plen, raw, nbytes);
	return 0;
}

/* ---- outbox ---------------------------------------------------------- */

int fd__event_head(fd_ctx *x, flock__buf *b, char id[FLOCK__ID_MAX],
                   const char *env, const char *name)
{
	char ts[24];

	if (!env || !name || flock__id_new(id, "evt_") < 0)
		return -1;
	/* Fixed key order, compact, written as text around the data (no
	 * envelope object): the bytes of "data" in the stored body are what
	 * a webhook verifier slices out and signs. */
	flock__buf_puts(b, "{\"id\":");
	fd_jdump_str(b, id, strlen(id));
	flock__buf_puts(b, ",\"name\":");
	fd_jdump_str(b, name, strlen(name));
	flock__buf_puts(b, ",\"timestamp\":");
	flock__buf_put(b, ts, (size_t)fd_jdump_int(ts, x->now));
	flock__buf_puts(b, ",\"environment\":");
	fd_jdump_str(b, env, strlen(env));
	return flock__buf_puts(b, ",\"data\":");
}

int fd__emit_body(fd_ctx *x, const char *id, const char *env, const char *name,
                  flock__buf *body, int named)
{
	if (flock__buf_puts(body, "}") < 0 ||
	    fd_store_outbox_insert(x->c, x->app, id, env, name, x->now,
	                           body->ptr, named) != FD_OK)
		return -1;
	/* Once the batch is durable, on_commit wakes the worker. */
	x->emitted = 1;
	return 0;
}

static int emit(fd_ctx *x, const char *env, const char *name, json_t *data,
                int named)
{
	char id[FLOCK__ID_MAX];
	flock__buf body = FLOCK__BUF_INIT;
	int rc = -1;

	if (data && fd__event_head(x, &body, id, env, name) == 0 &&
	    fd_jdump_append(&body, data) == 0)
		rc = fd__emit_body(x, id, env, name, &body, named);
	flock__buf_free(&body);
	json_decref(data);
	return rc;
}

int fd__emit(fd_ctx *x, const char *env, const char *name, json_t *data)
{
	return emit(x, env, name, data, 0);
}

int fd__emit_named(fd_ctx *x, const char *env, const char *name, json_t *data)
{
	return emit(x, env, name, data, 1);
}

/* ---- customers and referral codes ------------------------------------ */

/* Crockford-style alphabet without 0/1/I/L/O/U: readable aloud. */
static const char code_alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

static size_t code_letters(char *out, const char *src, size_t max)
{
	size_t n = 0;

	for (; src && *src && n < max; src++) {
		char ch = *src;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch >= 'A' && ch <= 'Z')
			out[n++] = ch;
		else if (ch == '@')
			break;
	}
	return n;
}

/*
 * "JANE" + FD_CODE_RANDOM characters of the 30-letter alphabet from the
 * CSPRNG (30^8, about 6.6e11 codes per prefix: guessing a valid one is
 * hopeless at any request rate), more after conflicts. Each character is
 * drawn by rejection (bytes of 240 and above are drawn again), so every
 * letter is equally likely.
 */
#define FD_CODE_RANDOM 8
static int make_code(char out[24], const char *name, const char *email,
                     int attempt)
{
	uint8_t rnd[32];
	size_t n = code_letters(out, name, 4), i, nrand, used = sizeof(rnd);

	if (n == 0)
		n = code_letters(out, email, 4);
	if (n == 0) {
		memcpy(out, "FLK", 3);
		n = 3;
	}
	nrand = attempt < 4 ? FD_CODE_RANDOM : FD_CODE_RANDOM + 4;
	for (i = 0; i < nrand;) {
		if (used == sizeof(rnd)) {
			if (flock__random_bytes(rnd, sizeof(rnd)) < 0)
				return -1;
			used = 0;
		}
		if (rnd[used] < 240) /* 240 = 8 * 30 */
			out[n + i++] = code_alphabet[rnd[used] % 30];
		used++;
	}
	out[n + nrand] = '\0';
	return 0;
}

int fd__customer_create(fd_ctx *x, const char *external_id, const char *email,
                        const char *name, const char *props, const char *env,
                        json_t **out)
{
	char id[FLOCK__ID_MAX], code[24];
	int attempt, rc = FD_CONFLICT;

	*out = NULL;
	if (flock__id_new(id, "cus_") < 0)
		return FD_ERR;
	/* The unique index decides whether a code is free. */
	for (attempt = 0; attempt < 8 && rc == FD_CONFLICT; attempt++) {
		if (make_code(code, name, email, attempt) < 0)
			return FD_ERR;
		rc = fd_store_customer_insert(x->c, x->app, id, external_id,
		                              email, name, code, props, x->now);
	}
	if (rc != FD_OK ||
	    fd_store_customer_set_env(x->c, x->app, id, env) != FD_OK ||
	    fd_store_customer_get(x->c, x->app, FD_BY_ID, id, out) != FD_OK)
		return FD_ERR;
	if (fd__emit(x, env, "customer.created", json_incref(*out)) < 0) {
		json_decref(*out);
		*out = NULL;
		return FD_ERR;
	}
	return FD_OK;
}

/* ---- reads ----------------------------------------------------------- */

const char *fd__tenant(const fd_request *req)
{
	return req->app_id ? req->app_id : req->who ? req->who->app_id : "";
}

void fd__run_read(fd_engine *e, const fd_request *req, fd_response *res,
                  fd_job_fn fn)
{
	fd_ctx x;

	memset(&x, 0, sizeof(x));
	x.e = e;
	x.req = req;
	x.res = res;
	x.app = fd__tenant(req);
	x.now = fd_clock_now(e->clock);
	x.c = fd_store_reader(e->store);
	if (fd_store_begin(x.c, 0) != FD_OK) {
		fd__internal(&x);
	} else {
		if (fd__scope(&x) == 0)
			fn(&x);
		fd_store_rollback(x.c);
	}
	fd_store_reader_done(e->store, x.c);
}

int fd_engine_read(fd_engine *e, fd_engine_write_fn fn, void *arg)
{
	int64_t now = fd_clock_now(e->clock);
	fd_conn *c = fd_store_reader(e->store);
	int rc = fd_store_begin(c, 0);

	if (rc == FD_OK) {
		rc = fn(c, now, arg);
		fd_store_rollback(c);
	}
	fd_store_reader_done(e->store, c);
	return rc;
}

/* ---- lifecycle ------------------------------------------------------- */

static void take_config(fd_engine *e, const fd_engine_config *cfg)
{
	e->velocity_per_hour =
	        cfg->velocity_per_hour > 0 ? cfg->velocity_per_hour : 20;
	e->group_max = cfg->group_commit_max > 0 ? cfg->group_commit_max : 256;
	e->rate_limit = cfg->rate_limit > 0 ? cfg->rate_limit : 0;
	e->code_misses_per_key =
	        cfg->code_misses_per_key > 0 ? cfg->code_misses_per_key : 0;
	e->code_misses_per_ip =
	        cfg->code_misses_per_ip > 0 ? cfg->code_misses_per_ip : 0;
	e->webhook_allow_private = cfg->webhook_allow_private;
	e->url_check = cfg->url_check;
	e->answers = cfg->answers;
	e->clock = cfg->clock ? cfg->clock : fd_clock_real();
	e->on_commit = cfg->on_commit;
	e->on_commit_arg = cfg->on_commit_arg;
}

int fd_engine_open(fd_engine **out, const fd_engine_config *cfg, char *errbuf,
                   size_t errlen)
{
	fd_engine *e = calloc(1, sizeof(*e));
	int readers = cfg->read_connections > 0 ? cfg->read_connections : 8;
	fd_store_options sopt;

	*out = NULL;
	if (!e) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->stat_mu, NULL);
	pthread_cond_init(&e->work_cv, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	pthread_cond_init(&e->sync_cv, NULL);
	take_config(e, cfg);
	sopt.readers = readers;
	sopt.clock = e->clock;
	sopt.wal_limit = cfg->wal_limit;
	sopt.writers = cfg->writers;
	if (!cfg->db_path) {
		snprintf(errbuf, errlen, "no database path");
		goto fail;
	}
	if (fd_fraud_new(&e->fraud, cfg->disposable_domains_path, errbuf,
	                 errlen) < 0 ||
	    fd_store_open_with(&e->store, cfg->db_path, &sopt, errbuf, errlen) <
	            0 ||
	    fd__writer_start(e, errbuf, errlen) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	fd_engine_close(e);
	return -1;
}

void fd_engine_close(fd_engine *e)
{
	if (!e)
		return;
	fd__writer_stop(e);
	fd_store_close(e->store);
	fd_fraud_free(e->fraud);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->stat_mu);
	pthread_cond_destroy(&e->work_cv);
	pthread_cond_destroy(&e->done_cv);
	pthread_cond_destroy(&e->sync_cv);
	free(e);
}

fd_clock *fd_engine_clock(fd_engine *e)
{
	return e->clock;
}

int fd_engine_authenticate(fd_engine *e, const char *key, fd_principal *out)
{
	uint8_t hash[32];
	fd_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!key)
		return FD_AUTH_UNKNOWN;
	if (strncmp(key, "Bearer ", 7) == 0)
		key += 7;
	if (!*key || flock__sha256(hash, key, strlen(key)) < 0)
		return FD_AUTH_UNKNOWN;
	/* Only hashes are stored, so a lookup by hash reveals nothing about
	 * the secret through timing. */
	c = fd_store_reader(e->store);
	rc = fd_store_key_auth(c, hash, out);
	fd_store_reader_done(e->store, c);
	if (rc == FD_OK)
		return FD_AUTH_OK;
	if (rc == FD_NOTFOUND)
		return FD_AUTH_UNKNOWN;
	memset(out, 0, sizeof(*out));
	fd_log(FD_LOG_ERROR, "authentication: the database failed looking up "
	                     "a key (the caller may retry)");
	return FD_AUTH_STORE;
}

int fd_engine_rate_check(fd_engine *e, const fd_principal *who,
                         fd_response *res)
{
	long count = 0;

	if (e->rate_limit <= 0 || who->kind == FD_KEY_ADMIN || !who->key_id[0])
		return 0;
	/* Wall-clock seconds: every node sharing the database agrees on
	 * the window as far as their clocks agree. */
	if (fd_store_rate_hit(e->store, who->key_id,
	                      fd_clock_now(e->clock) / 1000, &count) != FD_OK) {
		if (!__atomic_exchange_n(&e->rate_warned, 1, __ATOMIC_RELAXED))
			fd_log(FD_LOG_WARN,
			       "rate limit: cannot count requests in the "
			       "database; letting requests through");
		return 0;
	}
	if (count <= e->rate_limit)
		return 0;
	fd_fail(res, FD_OUT_RATE_LIMITED, "rate_limited",
	        "more than %ld requests per second for this key",
	        e->rate_limit);
	return -1;
}

int fd_engine_ready(fd_engine *e)
{
	fd_conn *c;
	int ok;

	if (!e)
		return 0;
	c = fd_store_reader(e->store);
	ok = fd_store_ping(c) == FD_OK;
	fd_store_reader_done(e->store, c);
	return ok;
}

int fd_engine_writable(fd_engine *e)
{
	int64_t failed;
	int i;

	if (!e || __atomic_load_n(&e->housekeeping_failed, __ATOMIC_RELAXED))
		return 0;
	/* Not while any writer's writes fail: its share of them would. */
	for (i = 0; i < e->nwriters; i++) {
		failed = __atomic_load_n(&e->writers[i].write_failed_ms,
		                         __ATOMIC_RELAXED);
		if (failed && flock__mono_ms() - failed < FD_WRITE_FAILED_MS)
			return 0;
	}
	return 1;
}

int fd_engine_wal_stats(fd_engine *e, fd_store_wal_stats *out)
{
	return fd_store_wal_stats_get(e->store, out);
}

long fd_engine_db_round_trips(fd_engine *e)
{
	return fd_store_round_trips(e->store);
}

void fd_engine_writer_stats_get(fd_engine *e, fd_engine_writer_stats *out)
{
	pthread_mutex_lock(&e->mu);
	out->queued = e->queued;
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&e->stat_mu);
	out->batches = e->batches;
	out->reruns = e->batch_reruns;
	out->rewards_granted = e->rewards_granted;
	pthread_mutex_unlock(&e->stat_mu);
}

FD_OP(fd_op_noop)
{
	res->outcome = FD_OUT_OK;
	res->body = json_pack("{s:b}", "ok", 1);
}
