/*
 * flockctl: the Flock command line (flockctl(1), man/flockctl.1).
 *
 * The parts:
 *   main.c      global options, the command table, dispatch
 *   args.c      command options as data: parsing, --help text
 *   config.c    profiles ($XDG_CONFIG_HOME/flockctl/config, 0600),
 *               environment, secrets read from files or stdin
 *   out.c       tables on a terminal, JSON otherwise, --quiet ids
 *   http.c      the admin API (and the event stream, and listen's
 *               forwarding) over libcurl
 *   wire.c      the wire API through libflock, and every use of
 *               libflock's result structs (one place to change when their
 *               shape does)
 *   csv.c       RFC 4180 reading and writing
 *   cmd_*.c     the commands
 *   complete.c  bash, zsh and fish completion, from the command table
 *
 * Exit codes (flockctl(1), "EXIT STATUS"), one per class of error.
 */
#ifndef FLOCKCTL_CTL_H
#define FLOCKCTL_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum {
	CTL_OK = 0,
	CTL_EFAIL = 1,     /* no other class: a local file; rows rejected */
	CTL_EUSAGE = 2,    /* bad command line */
	CTL_EAUTH = 3,     /* no credentials, or refused (401, 403) */
	CTL_ENOTFOUND = 4, /* 404 */
	CTL_ECONFLICT = 5, /* 409, 422 */
	CTL_EINVALID = 6,  /* 400, 413; a webhook that does not verify */
	CTL_ESERVER = 7,   /* 5xx, 429 after retries, an unreadable answer */
	CTL_ENETWORK = 8   /* no answer: connection, timeout */
};

/* ---- command options (args.c) ------------------------------------------ */

typedef struct {
	const char *name;    /* long name, without "--" */
	const char *metavar; /* NULL: a flag without value */
	const char *help;
	int repeat; /* may be given several times */
} ctl_opt;

#define CTL_OPTS_MAX 24
#define CTL_POS_MAX 8

typedef struct {
	const char *name[CTL_OPTS_MAX * 4];
	const char *value[CTL_OPTS_MAX * 4]; /* "" for a flag */
	size_t n;
	const char *pos[CTL_POS_MAX];
	size_t npos;
} ctl_args;

typedef struct ctl ctl;

typedef struct {
	const char *group;    /* "customers" */
	const char *verb;     /* "identify"; NULL for a one-word command */
	const char *synopsis; /* positional arguments, e.g. "ID" */
	int min_pos, max_pos;
	const char *summary;
	const ctl_opt *opts; /* NULL-named entry ends it; may be NULL */
	int (*run)(ctl *c, const ctl_args *a);
} ctl_cmd;

/* The last value of option name, or NULL. */
const char *arg_get(const ctl_args *a, const char *name);
/* 1 if the flag (or option) was given. */
int arg_has(const ctl_args *a, const char *name);
/* The i-th value (0-based) of a repeated option, or NULL past the last. */
const char *arg_nth(const ctl_args *a, const char *name, size_t i);
/* Parse argv (after the command words) against cmd's options into a.
 * 0, or CTL_EUSAGE after saying why on stderr. */
int args_parse(ctl_args *a, const ctl_cmd *cmd, int argc, char **argv);
/* The command's --help text on f. */
void args_help(FILE *f, const ctl_cmd *cmd);
/* "flockctl customers identify" into buf. */
const char *cmd_name(char *buf, size_t len, const ctl_cmd *cmd);

/* The command table (main.c) and its size. */
const ctl_cmd *ctl_commands(size_t *n);
/* The global options (main.c). */
const ctl_opt *ctl_global_opts(void);

/* ---- the run's context ----------------------------------------------- */

enum { OUT_TABLE = 1, OUT_JSON = 2 };

typedef struct ctl_http ctl_http;

struct ctl {
	/* configuration, resolved (config.c) */
	char *profile;     /* the profile used, or NULL */
	char *base_url;    /* never NULL after config_resolve */
	char *app;         /* application id for the admin API, or NULL */
	char *access_key;  /* service key for the wire API, or NULL */
	char *admin_token; /* admin token for the admin API, or NULL */
	long timeout_ms;
	/* output (out.c) */
	int mode;  /* OUT_TABLE or OUT_JSON */
	int quiet; /* ids only */
	int show_secrets;
	int stderr_tty; /* progress bars */
	/* what was given, for config_resolve */
	const char *opt_profile, *opt_base_url, *opt_app;
	const char *opt_access_key_file, *opt_admin_token_file;
	const ctl_cmd *cmd;
	ctl_http *http;            /* made on first use */
	struct flock_client *wire; /* libflock's client, made on first use */
};

/* Print "flockctl: <message>" on stderr; returns code. */
int ctl_fail(int code, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;
/* A usage error of the running command: the message and a hint. */
int ctl_usage(const ctl *c, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;

/* ---- configuration (config.c) ---------------------------------------- */

/* Fill c's configuration from flags, environment and the profile. 0, or
 * an exit code after saying why. */
int config_resolve(ctl *c);
void config_free(ctl *c);
/* The config file's path (malloc'd), or NULL if no home is known. */
char *config_path(void);
/* A secret from a file, or from stdin for "-": the first line, trimmed.
 * malloc'd, or NULL after saying why. */
char *config_read_secret(const char *path, const char *what);
/* The application for admin calls: c->app, else the only application
 * the token reaches (asked once). NULL after saying why (*rc the code). */
const char *config_app(ctl *c, int *rc);
/* Mask a secret for display: "sk_...1a2b" (static buffer per call). */
const char *config_mask(const char *secret, char *buf, size_t len);

/* ---- output (out.c) ------------------------------------------------- */

typedef struct {
	const char *title;
	const char *path; /* dotted member path; "#x": the array x's size */
} ctl_col;
#define COL_END                                                                \
	{                                                                      \
		NULL, NULL                                                     \
	}

/* One object: aligned "field value" lines (table), JSON, or its id
 * (quiet). Secrets (member "secret") are dropped unless asked for. */
int out_object(ctl *c, json_t *obj);
/* A list: a table of cols, a JSON array, or one id a line. */
int out_list(ctl *c, json_t *items, const ctl_col *cols);
/* A JSON value as is (JSON) or as text (table): for answers that are
 * neither objects nor lists ({"replayed": 3}). */
int out_value(ctl *c, json_t *v);
/* The printable text of a member ("-" for null or absent). */
const char *out_cell(const json_t *obj, const char *path, char *buf,
                     size_t len);
/* Drop secret members (in place) unless --show-secrets; 1 if one was. */
int out_hide_secrets(const ctl *c, json_t *obj);

/* ---- the admin API (http.c) ------------------------------------------- */

/* A call's answer. */
typedef struct {
	int status; /* 0: none */
	char *body; /* NUL-terminated */
	size_t len;
	json_t *json; /* parsed body, or NULL */
	char request_id[96];
	char error[256]; /* transport error when status is 0 */
} ctl_resp;

void resp_free(ctl_resp *r);

/* The exit code of a status (0 for 2xx). */
int ctl_status_code(int status);

/*
 * An admin API call: method on path (relative to the base URL, query
 * included) with body (JSON, may be NULL) and the admin token. POST,
 * PATCH and DELETE carry an Idempotency-Key (idem, or a new one), so the
 * call is retried as GET is: after no answer, 429 or 5xx, a few times.
 * On 2xx *out gets the parsed body (new reference); else the error is
 * said on stderr and its exit code returned.
 */
int admin_call(ctl *c, const char *method, const char *path, json_t *body,
               const char *idem, json_t **out);
/* The same, with the path made from a printf format; ids in it should be
 * passed through url_part(). */
int admin_callf(ctl *c, const char *method, json_t *body, json_t **out,
                const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 5, 6)))
#endif
        ;
/* A path segment or query value, percent-encoded (static ring buffer:
 * valid for a few calls). */
const char *url_part(const char *s);

/* A standalone HTTP client (import workers, listen): one connection kept
 * alive. */
ctl_http *http_new(const ctl *c);
void http_free(ctl_http *h);
/* One exchange, no retry: 0 with out filled (out->status 0: no answer,
 * out->error why). headers: NULL-terminated "Name: value" lines. */
int http_send(ctl_http *h, const char *method, const char *url,
              const char *const *headers, const char *body, size_t len,
              ctl_resp *out);
/* Say an admin error answer on stderr (message, code, request id); its
 * exit code. */
int http_error(const ctl_resp *r, const char *what);

/* ---- the wire API through libflock (wire.c) --------------------------- */

/* The libflock client for c (made on first use, shared by threads); NULL
 * after saying why, *rc the exit code. */
struct flock_client *wire_client(ctl *c, int *rc);
void wire_free(ctl *c);
/* The exit code of a libflock code (0 for 0). */
int wire_code(int flock_rc);
/* The last libflock failure said on stderr; its exit code. */
int wire_error(int flock_rc, const char *what);

/* The calls: each sets *out to the answer's JSON (the body libflock
 * kept, raw_json) and returns an exit code (said on stderr if not 0).
 * NULL strings are left out. props: a JSON object text. */
int wire_identify(ctl *c, const char *ext, const char *email, const char *name,
                  const char *props, const char *env, const char *idem,
                  json_t **out);
int wire_ingest(ctl *c, const char *checkpoint, const char *ext,
                const char *env, const char *props, const char *idem,
                json_t **out);
int wire_live(ctl *c, const char *env, const char *customer_id, json_t **out);
/* A bare array of campaigns. */
int wire_campaigns(ctl *c, json_t **out);
/* An array of the campaign's (or every) checkpoints. */
int wire_checkpoints(ctl *c, const char *campaign_id, json_t **out);
int wire_validate(ctl *c, const char *code, json_t **out);
int wire_referral_create(ctl *c, const char *campaign, const char *code,
                         const char *referee_id, const char *referee_ext,
                         const char *idem, json_t **out);
/* One page (limit, offset) or, with all, every page through libflock's
 * iterator: an array of referrals. */
int wire_referrals(ctl *c, const char *campaign, const char *status, long limit,
                   long offset, int all, json_t **out);
/* for_mask: 1 self, 2 referral partner, 0 both. An array of {"id"}. */
int wire_trigger(ctl *c, const char *ext, const char *env, unsigned for_mask,
                 const char *idem, json_t **out);

/* Import through the wire API (cmd_import.c without an admin token): one
 * row, its body as the admin import takes it, with its key. 0, or the
 * libflock code with code/msg filled. Thread-safe. */
int wire_import_row(struct flock_client *cl, int referrals, const json_t *row,
                    const char *key, char *code, size_t codelen, char *msg,
                    size_t msglen);

#endif
