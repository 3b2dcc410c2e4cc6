/*
 * Request bodies: properties validation and small jansson helpers.
 */
#include "json.h"

#include <curl/curl.h>
#include <math.h>
#include <string.h>

#include "error.h"

int flock__empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int flock__json_set_new(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	return 0;
}

int flock__json_set_str(json_t *obj, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	return flock__json_set_new(obj, key, json_string(value));
}

static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	default:
		return "not a string, number, boolean or null";
	}
}

/* Parse and check a JSON object text whose values are all scalars. */
static int props_from_text(json_t **out, const char *what, const char *text)
{
	json_error_t jerr;
	json_t *obj, *v;
	const char *key;

	obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "%s is not valid JSON: %s", what,
		                        jerr.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return flock__error_set(FLOCK_EINVAL,
		                        "%s must be a JSON object", what);
	}
	json_object_foreach(obj, key, v)
	{
		if (json_is_object(v) || json_is_array(v)) {
			int rc = flock__error_set(FLOCK_EINVAL,
			                          "%s must be flat: the value "
			                          "of \"%.100s\" is %s",
			                          what, key, kind(v));
			json_decref(obj);
			return rc;
		}
	}
	*out = obj;
	return 0;
}

static json_t *prop_value(const flock_property *p)
{
	switch (p->type) {
	case FLOCK_PROP_STRING:
		return p->string_value ? json_string(p->string_value) : NULL;
	case FLOCK_PROP_NUMBER:
		/* JSON has no NaN or infinity. */
		if (!isfinite(p->number_value))
			return NULL;
		if (p->number_value == floor(p->number_value) &&
		    fabs(p->number_value) < 9007199254740992.0)
			return json_integer((json_int_t)p->number_value);
		return json_real(p->number_value);
	case FLOCK_PROP_BOOL:
		return json_boolean(p->bool_value);
	case FLOCK_PROP_NULL:
		return json_null();
	default:
		return NULL;
	}
}

static int props_from_pairs(json_t **out, const char *what,
                            const flock_property *props, size_t count)
{
	json_t *obj = json_object(), *v;
	size_t i;
	int rc = 0;

	if (obj == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	for (i = 0; i < count && rc == 0; i++) {
		if (props[i].key == NULL) {
			rc = flock__error_set(FLOCK_EINVAL,
			                      "%s[%zu]: key is "
			                      "NULL",
			                      what, i);
		} else if (json_object_get(obj, props[i].key)) {
			rc = flock__error_set(FLOCK_EINVAL,
			                      "%s: duplicate key "
			                      "\"%.100s\"",
			                      what, props[i].key);
		} else if ((v = prop_value(&props[i])) == NULL) {
			rc = flock__error_set(
			        FLOCK_EINVAL,
			        "%s: \"%.100s\" has "
			        "an unknown type, a NULL or non-UTF-8 "
			        "string, or a non-finite number",
			        what, props[i].key);
		} else if (json_object_set_new(obj, props[i].key, v) != 0) {
			rc = flock__error_set(FLOCK_EINVAL,
			                      "%s: key \"%.100s\" "
			                      "is not UTF-8",
			                      what, props[i].key);
		}
	}
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

int flock__props_build(json_t **out, const char *what, const char *json_text,
                       const flock_property *props, size_t count)
{
	*out = NULL;
	if (json_text && count > 0)
		return flock__error_set(FLOCK_EINVAL,
		                        "%s: give JSON text or "
		                        "pairs, not both",
		                        what);
	if (count > 0 && props == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "%s: count is %zu but "
		                        "the array is NULL",
		                        what, count);
	if (json_text)
		return props_from_text(out, what, json_text);
	if (count > 0)
		return props_from_pairs(out, what, props, count);
	return 0;
}

int flock__query_add(flock__buf *path, const char *key, const char *value)
{
	char *esc;
	int rc;

	if (value == NULL)
		return 0;
	/* A NULL handle is allowed since libcurl 7.82. */
	esc = curl_easy_escape(NULL, value, (int)strlen(value));
	if (esc == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__buf_printf(
	        path, "%c%s=%s",
	        memchr(path->ptr ? path->ptr : "", '?', path->len) ? '&' : '?',
	        key, esc);
	curl_free(esc);
	return rc ? flock__error_set(FLOCK_ENOMEM, "out of memory") : 0;
}
