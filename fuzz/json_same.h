/*
 * JSON values equal as JavaScript sees them: numbers by value (flockd
 * writes the real 100.0 as "100", as JSON.stringify does, which jansson
 * reads back as an integer), the rest as json_equal.
 */
#ifndef FLOCK_FUZZ_JSON_SAME_H
#define FLOCK_FUZZ_JSON_SAME_H

#include <string.h>

#include <jansson.h>

static int json_same(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v)
		{
			json_t *w = json_object_get(b, k);
			if (!w || !json_same(v, w))
				return 0;
		}
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!json_same(json_array_get(a, i),
			               json_array_get(b, i)))
				return 0;
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

#endif
