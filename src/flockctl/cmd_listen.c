/*
 * flockctl webhooks listen [--forward-to URL]: stream the application's
 * events as flockd commits them (GET /admin/apps/APP/events/stream,
 * server-sent events) and, like `stripe listen --forward-to`, POST each
 * to a local URL signed with a local secret (both schemes, as flockd
 * signs: libflock's flock_webhooks_sign), showing each delivery and the
 * answer.
 *
 * When the stream ends (flockd restarted, the network dropped) listen
 * comes back with Last-Event-ID: the last event it had, so it goes on
 * right after it: no event twice, none passed over. Events are forwarded
 * one at a time, in the stream's order. SIGINT or SIGTERM ends it (0).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <flock.h>

#include "cmds.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/ids.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

typedef struct {
	ctl *c;
	CURL *curl;
	const char *forward; /* NULL: print only */
	char secret[96];
	int secret_from_file; /* --secret-file: not printed */
	ctl_http *fwd;
	char app[128];
	char last_id[96];
	flock__buf line; /* a line not yet ended */
	char ev_id[96];  /* the event being read */
	char ev_name[96];
	flock__buf data;
	flock__buf err; /* the body of an error answer */
	int connected;  /* bytes came on this connection */
	int ready;      /* "Ready" said */
	long forwarded;
	int failed; /* an answer to stop for: its exit code */
} listener;

static void now_text(char out[FLOCK__ISO8601_LEN])
{
	flock__iso8601(out, flock__now_ms());
}

/* POST the event to --forward-to, signed; show what happened. */
static void forward(listener *l, const char *body, size_t len)
{
	flock_webhook_sign_params p = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_headers *h = NULL;
	const char *secrets[1] = {l->secret};
	char sig[512], wid[256], wts[96], wsig[1024], when[FLOCK__ISO8601_LEN];
	const char *hdr[6];
	int64_t t0 = flock__mono_ms();
	ctl_resp r;
	json_t *line;

	memset(&r, 0, sizeof(r));
	p.payload = body;
	p.payload_len = len;
	p.secrets = secrets;
	p.secret_count = 1;
	if (flock_webhooks_sign(&h, &p) != 0) {
		snprintf(r.error, sizeof(r.error), "cannot sign: %s",
		         flock_error_last() ? flock_error_last()->message
		                            : "?");
	} else {
		snprintf(sig, sizeof(sig), "X-Flock-Signature: %s",
		         h->flock_signature);
		snprintf(wid, sizeof(wid), "webhook-id: %s", h->webhook_id);
		snprintf(wts, sizeof(wts), "webhook-timestamp: %s",
		         h->webhook_timestamp);
		snprintf(wsig, sizeof(wsig), "webhook-signature: %s",
		         h->webhook_signature);
		hdr[0] = "Content-Type: application/json";
		hdr[1] = sig;
		hdr[2] = wid;
		hdr[3] = wts;
		hdr[4] = wsig;
		hdr[5] = NULL;
		http_send(l->fwd, "POST", l->forward, hdr, body, len, &r);
	}
	flock_webhook_headers_free(h);
	now_text(when);
	if (l->c->mode == OUT_JSON) {
		line = json_pack("{s:s, s:s, s:s, s:i, s:I}", "time", when,
		                 "eventId", l->ev_id, "eventName", l->ev_name,
		                 "status", r.status, "latencyMs",
		                 (json_int_t)(flock__mono_ms() - t0));
		if (r.status == 0)
			json_object_set_new(line, "error",
			                    json_string(r.error));
		json_dumpf(line, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(line);
	} else if (!l->c->quiet) {
		if (r.status)
			printf("%s  <-- [%d] POST %s [%s] %lld ms\n", when,
			       r.status, l->forward, l->ev_id,
			       (long long)(flock__mono_ms() - t0));
		else
			printf("%s  <-- [ERROR] POST %s [%s]: %s\n", when,
			       l->forward, l->ev_id, r.error);
	}
	fflush(stdout);
	l->forwarded++;
	resp_free(&r);
}

static void dispatch(listener *l)
{
	char when[FLOCK__ISO8601_LEN];

	if (!l->ev_id[0] || !l->data.len) {
		l->data.len = 0;
		return;
	}
	snprintf(l->last_id, sizeof(l->last_id), "%s", l->ev_id);
	if (flock__buf_put(&l->data, "", 1) < 0)
		return;
	l->data.len--;
	now_text(when);
	if (l->c->quiet) {
		printf("%s\n", l->ev_id);
	} else if (!l->forward && l->c->mode == OUT_JSON) {
		printf("%s\n", l->data.ptr);
	} else if (l->c->mode == OUT_TABLE) {
		printf("%s  --> %s [%s]\n", when, l->ev_name, l->ev_id);
	}
	fflush(stdout);
	if (l->forward)
		forward(l, l->data.ptr, l->data.len);
	l->data.len = 0;
	l->ev_id[0] = l->ev_name[0] = '\0';
}

/* One line of the stream (without its end). */
static void on_line(listener *l, char *s, size_t n)
{
	const char *v;

	if (n && s[n - 1] == '\r')
		s[--n] = '\0';
	if (n == 0) {
		dispatch(l);
		return;
	}
	if (s[0] == ':')
		return;
	v = strchr(s, ':');
	v = v ? v + 1 : s + n;
	if (*v == ' ')
		v++;
	if (strncmp(s, "id:", 3) == 0)
		snprintf(l->ev_id, sizeof(l->ev_id), "%s", v);
	else if (strncmp(s, "event:", 6) == 0)
		snprintf(l->ev_name, sizeof(l->ev_name), "%s", v);
	else if (strncmp(s, "data:", 5) == 0) {
		if (l->data.len)
			flock__buf_put(&l->data, "\n", 1);
		flock__buf_puts(&l->data, v);
	}
}

static void say_ready(listener *l)
{
	if (l->ready) {
		if (!l->c->quiet)
			fprintf(stderr,
			        "flockctl: reconnected; going on after "
			        "%s\n",
			        l->last_id[0] ? l->last_id : "the start");
		return;
	}
	l->ready = 1;
	if (l->c->quiet)
		return;
	fprintf(stderr, "Ready! Listening to the events of %s", l->app);
	if (l->forward && l->secret_from_file)
		fprintf(stderr,
		        ", forwarding to %s (signed with the secret of "
		        "--secret-file)",
		        l->forward);
	else if (l->forward)
		fprintf(stderr,
		        ", forwarding to %s.\nYour webhook signing "
		        "secret is %s",
		        l->forward, l->secret);
	fprintf(stderr, " (^C to quit)\n");
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	listener *l = ud;
	size_t n = size * nmemb, i, start = 0;
	long status = 0;

	curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		flock__buf_put(&l->err, p, n);
		return n;
	}
	if (!l->connected) {
		l->connected = 1;
		say_ready(l);
	}
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		flock__buf_put(&l->line, p + start, i - start);
		if (flock__buf_put(&l->line, "", 1) < 0)
			return 0;
		on_line(l, l->line.ptr, l->line.len - 1);
		l->line.len = 0;
		start = i + 1;
		if (stop)
			return 0;
	}
	flock__buf_put(&l->line, p + start, n - start);
	return stop ? 0 : n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d)
{
	return stop ? 1 : 0;
}

/* One connection: until it ends. The HTTP status (0: none). */
static long stream_once(listener *l, const char *url)
{
	struct curl_slist *hs = NULL;
	char auth[600], last[160];
	long status = 0;

	snprintf(auth, sizeof(auth), "Authorization: %s", l->c->admin_token);
	hs = curl_slist_append(hs, auth);
	hs = curl_slist_append(hs, "Accept: text/event-stream");
	if (l->last_id[0]) {
		snprintf(last, sizeof(last), "Last-Event-ID: %s", l->last_id);
		hs = curl_slist_append(hs, last);
	}
	curl_easy_reset(l->curl);
	curl_easy_setopt(l->curl, CURLOPT_URL, url);
	curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(l->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(l->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* flockd speaks at least every 15 s: a minute of silence is a
	 * dead connection. */
	curl_easy_setopt(l->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(l->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(l->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(l->curl, CURLOPT_WRITEDATA, l);
	curl_easy_setopt(l->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(l->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(l->curl, CURLOPT_XFERINFODATA, l);
	l->connected = 0;
	l->line.len = 0;
	l->err.len = 0;
	l->data.len = 0;
	curl_easy_perform(l->curl);
	curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hs);
	return status;
}

/* An answer that is not a stream: said, and its exit code when it is
 * final (4xx), else 0 (come back). */
static int refused(listener *l, long status)
{
	ctl_resp r;
	int rc;

	if (status < 400 || status >= 500 || status == 429)
		return 0;
	memset(&r, 0, sizeof(r));
	r.status = (int)status;
	if (flock__buf_put(&l->err, "", 1) == 0)
		r.json = json_loads(l->err.ptr, 0, NULL);
	rc = http_error(&r, "event stream");
	json_decref(r.json);
	return rc;
}

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL); /* a signal ends it early */
}

static int make_secret(listener *l, const ctl_args *a)
{
	unsigned char raw[24];
	char b64[FLOCK__BASE64_LEN(24)];
	char *s;

	if (arg_get(a, "secret-file")) {
		if (!(s = config_read_secret(arg_get(a, "secret-file"),
		                             "secret")))
			return CTL_EFAIL;
		snprintf(l->secret, sizeof(l->secret), "%s", s);
		free(s);
		l->secret_from_file = 1;
		return 0;
	}
	if (flock__random_bytes(raw, sizeof(raw)) < 0)
		return ctl_fail(CTL_EFAIL, "no randomness for a secret");
	flock__base64_encode(b64, raw, sizeof(raw));
	snprintf(l->secret, sizeof(l->secret), "whsec_%s", b64);
	return 0;
}

static int build_url(listener *l, const ctl_args *a, char *url, size_t len)
{
	const char *e;
	size_t used, i;

	used = (size_t)snprintf(url, len, "%s/admin/apps/%s/events/stream?",
	                        l->c->base_url, url_part(l->app));
	if (arg_get(a, "environment"))
		used += (size_t)snprintf(url + used, len - used,
		                         "environment=%s&",
		                         url_part(arg_get(a, "environment")));
	for (i = 0; (e = arg_nth(a, "event", i)) && used < len; i++)
		used += (size_t)snprintf(url + used, len - used, "%s%s",
		                         i ? "," : "name=", url_part(e));
	return used < len ? 0 : -1;
}

CMD(cmd_webhooks_listen)
{
	listener l;
	struct sigaction sa;
	char url[2048], first[2300];
	const char *app;
	long status, backoff = 250;
	int rc;

	memset(&l, 0, sizeof(l));
	l.c = c;
	l.forward = arg_get(a, "forward-to");
	if (!(app = config_app(c, &rc)))
		return rc;
	snprintf(l.app, sizeof(l.app), "%s", app);
	if (l.forward && (rc = make_secret(&l, a)))
		return rc;
	if (build_url(&l, a, url, sizeof(url)) < 0)
		return ctl_usage(c, "too many --event names");
	if (!(l.curl = curl_easy_init()) ||
	    (l.forward && !(l.fwd = http_new(c)))) {
		curl_easy_cleanup(l.curl);
		return ctl_fail(CTL_EFAIL, "out of memory");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = CTL_OK;
	while (!stop) {
		snprintf(first, sizeof(first), "%s%s%s", url,
		         !l.last_id[0] && arg_get(a, "after") ? "&after=" : "",
		         !l.last_id[0] && arg_get(a, "after")
		                 ? url_part(arg_get(a, "after"))
		                 : "");
		status = stream_once(&l, first);
		if (stop)
			break;
		if ((rc = refused(&l, status)) != 0)
			break;
		backoff = l.connected          ? 250
		          : backoff * 2 > 5000 ? 5000
		                               : backoff * 2;
		if (!c->quiet)
			fprintf(stderr,
			        "flockctl: the event stream ended (%s); "
			        "reconnecting in %ld ms\n",
			        status ? "closed" : "no connection", backoff);
		nap(backoff);
	}
	curl_easy_cleanup(l.curl);
	http_free(l.fwd);
	flock__buf_free(&l.line);
	flock__buf_free(&l.data);
	flock__buf_free(&l.err);
	if (!c->quiet && rc == CTL_OK && l.forward)
		fprintf(stderr, "flockctl: %ld event%s forwarded\n",
		        l.forwarded, l.forwarded == 1 ? "" : "s");
	return rc;
}
