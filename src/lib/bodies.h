/*
 * Internal: the request bodies of the POST calls, checked and built in
 * one place for the synchronous call (api_*.c) and the queue (queue.c),
 * so both send the same bytes.
 */
#ifndef FLOCK_LIB_BODIES_H
#define FLOCK_LIB_BODIES_H

#include <flock/api.h>
#include <jansson.h>

/*
 * Check params as the public call does (version, required members, flat
 * properties) and build the body. 0 and *out (caller decrefs), or
 * FLOCK_EINVAL / FLOCK_ENOMEM with the thread's error set.
 */
int flock__ingest_body(json_t **out, const char *checkpoint_name,
                       const flock_ingest_params *params);
int flock__identify_body(json_t **out, const flock_identify_params *params);
int flock__trigger_body(json_t **out, const flock_trigger_params *params);

#endif
