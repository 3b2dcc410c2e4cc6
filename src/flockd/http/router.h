/*
 * flockd: the route table and its validators, declared as data.
 *
 * Each route says who may call it and what its body and query must look
 * like; server.c checks all of that before the engine operation runs, so
 * the operations only deal with rules that need data. Operations still
 * never rely on these checks for memory safety.
 */
#ifndef FLOCKD_ROUTER_H
#define FLOCKD_ROUTER_H

#include <stddef.h>

#include <jansson.h>

#include "engine/engine.h"

typedef enum {
	FD_T_STRING = 1, /* non-empty string */
	FD_T_NSTRING,    /* string or null */
	FD_T_INTEGER,    /* JSON integer; in a query: decimal digits */
	FD_T_NUMBER,     /* integer or real */
	FD_T_BOOLEAN,
	FD_T_OBJECT, /* any object */
	FD_T_FLAT,   /* object of string, number, bool, null values */
	FD_T_ARRAY   /* items checked by `items` or `values` */
} fd_field_type;

typedef struct fd_field fd_field;

struct fd_field {
	const char *name;
	fd_field_type type;
	int required;
	/* NULL-terminated allowed values: for a string, or array items. */
	const char *const *values;
	/* Arrays of objects: the fields of each item (NULL name ends it). */
	const fd_field *items;
	/* Also accepted under this name (e.g. "name" for checkpointName). */
	const char *alias;
	/* integers and numbers: inclusive range when min < max; strings:
	 * at most max characters when max > 0; arrays: at most max items,
	 * and flat objects at most max members, when max > 0. */
	long min, max;
};

/*
 * Field limits (docs/security.md "Limits"): what a body may hold. Longer
 * strings, more items or members, or numbers out of range are refused
 * with 400 invalid_field naming the field and the limit.
 */
#define FD_LIMIT_ID 256              /* externalUserId and other ids */
#define FD_LIMIT_EMAIL 320           /* email (RFC 5321's path limit) */
#define FD_LIMIT_NAME 256            /* names: customer, campaign... */
#define FD_LIMIT_CHECKPOINT_NAME 128 /* checkpointName */
#define FD_LIMIT_TEXT 8192           /* descriptions, invite messages */
#define FD_LIMIT_PROPS 64            /* customProperties, properties */
#define FD_LIMIT_PROP_KEY 128        /* a property's name */
#define FD_LIMIT_PROP_VALUE 1024     /* a property's string value */
/* FD_LIMIT_CAMPAIGN_ITEMS (rewards, checkpoints, faqs...): engine.h */
#define FD_LIMIT_AMOUNT 1000000000L  /* payoutAmount, discountAmount */

/* What the server does itself instead of calling an engine operation. */
typedef enum {
	FD_SPECIAL_NONE = 0,
	FD_SPECIAL_HEALTHZ,
	FD_SPECIAL_READYZ,
	FD_SPECIAL_METRICS,
	/* Authenticated and run as an operation like any route; its
	 * success opens a stream of events (http/stream.c) instead of a JSON
	 * answer. */
	FD_SPECIAL_EVENT_STREAM
} fd_special;

/* 0 or an HTTP status with res filled; may normalise body in place. */
typedef int (*fd_route_check)(json_t *body, json_t *query, fd_response *res);

typedef struct {
	const char *method;
	const char *pattern; /* segments; "{app}" and "{id}" capture */
	unsigned kinds;      /* fd_key_kind bits; 0: no authentication */
	int has_body;        /* parse the body as a JSON object */
	const fd_field *body;
	const fd_field *query;
	fd_route_check check;
	fd_op op;
	fd_special special;
} fd_route;

/* The path parameters of a matched route (NUL-terminated, decoded). */
typedef struct {
	char app[128];
	char id[128];
} fd_params;

typedef enum {
	FD_MATCH_OK = 0,
	FD_MATCH_NOT_FOUND = 404,
	FD_MATCH_METHOD = 405
} fd_match_result;

/* The table, and its size. Route i is also metrics slot i. */
const fd_route *fd_routes(size_t *count);

/*
 * Find the route of (method, path). FD_MATCH_OK with *out and params
 * filled; FD_MATCH_METHOD when the path exists under other methods (allow
 * then lists them, comma-separated); FD_MATCH_NOT_FOUND otherwise.
 */
fd_match_result fd_route_match(const fd_route **out, fd_params *params,
                               char *allow, size_t allow_len,
                               const char *method, const char *path);

/* Check a body (object) against fields; 0, or 400 with res filled. */
int fd_validate_body(const fd_field *fields, json_t *body, fd_response *res);

/* Check a query object (string values); 0, or 400 with res filled. */
int fd_validate_query(const fd_field *fields, json_t *query, fd_response *res);

#endif
