/*
 * Internal: building request bodies and query strings.
 */
#ifndef FLOCK_LIB_JSON_H
#define FLOCK_LIB_JSON_H

#include <flock/api.h>
#include <jansson.h>

#include "common/buf.h"

/*
 * A flat property object from JSON text or from pairs (never both), for
 * `customProperties` / `properties`. *out is NULL when neither is given.
 * `what` names the parameter in error messages. 0, FLOCK_EINVAL (not an
 * object, nested value, duplicate key, both forms) or FLOCK_ENOMEM.
 */
int flock__props_build(json_t **out, const char *what, const char *json_text,
                       const flock_property *props, size_t count);

/*
 * A JSON string; `what` names it in the message when it is not UTF-8.
 * 0, FLOCK_EINVAL or FLOCK_ENOMEM.
 */
int flock__json_string(json_t **out, const char *what, const char *s);

/*
 * Set obj[key] to a string if value is not NULL. 0, FLOCK_EINVAL (not
 * UTF-8; the message names key) or FLOCK_ENOMEM.
 */
int flock__json_set_str(json_t *obj, const char *key, const char *value);

/* Set obj[key] = value, taking the reference. 0 or FLOCK_ENOMEM. */
int flock__json_set_new(json_t *obj, const char *key, json_t *value);

/*
 * Append "?key=value" or "&key=value" to a path, value URL-escaped; does
 * nothing if value is NULL. 0 or FLOCK_ENOMEM.
 */
int flock__query_add(flock__buf *path, const char *key, const char *value);

/*
 * 1 if a failed json_load*() ran out of memory rather than met bad JSON.
 * jansson leaves the message empty when it fails before parsing starts.
 */
int flock__json_oom(const json_error_t *err);

/*
 * The compact JSON text of a request body, as json_dumps(JSON_COMPACT)
 * writes it, NUL-terminated, into *out (malloc'd). An object of string
 * members only (most request bodies) is written directly: json_dumps
 * costs as much as the rest of a call's own work, most of it in its loop
 * detection. Anything else goes through json_dumps. 0 or FLOCK_ENOMEM.
 */
int flock__json_body(char **out, size_t *len, const json_t *body);

/*
 * The text flock__json_body() writes for an object of the n members
 * names[i]: values[i] that are not NULL, in order, without building it
 * first. Appended to *b. 0, FLOCK_EINVAL (a value is not UTF-8; the
 * message names its member, as flock__json_set_str() does) or
 * FLOCK_ENOMEM.
 */
int flock__json_flat_body(flock__buf *b, const char *const *names,
                          const char *const *values, size_t n);

/* 1 if s is NULL or "". */
int flock__empty(const char *s);

#endif
