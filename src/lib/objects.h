/*
 * Internal: turn a successful reply's JSON into the typed structs of
 * include/flock/types.h. Each parser takes over the reply's JSON and body
 * text (the reply is left empty): string members point into the JSON tree,
 * which lives until the object's free function.
 *
 * A body that is not the documented shape (wrong root type, a field of
 * the wrong type, a missing id) gives FLOCK_EBADRESPONSE naming the field.
 */
#ifndef FLOCK_LIB_OBJECTS_H
#define FLOCK_LIB_OBJECTS_H

#include <flock/types.h>

#include "internal.h"

int flock__customer_parse(flock_customer **out, flock__reply *reply);
int flock__campaign_parse(flock_campaign **out, flock__reply *reply);
int flock__campaign_list_parse(flock_campaign_list **out, flock__reply *reply);
int flock__checkpoint_list_parse(flock_checkpoint_list **out,
                                 flock__reply *reply);
int flock__referral_parse(flock_referral **out, flock__reply *reply);
int flock__referral_page_parse(flock_referral_page **out, flock__reply *reply);
/*
 * For a text_reply call: a flat result (no referral, no rewards) is read
 * from one scan of the text (envelope.c's scanner) without a JSON tree;
 * any other body is parsed by jansson (flock__reply_json()) and read by
 * the _tree function, so both give the same struct and the same errors.
 */
int flock__checkpoint_result_parse(flock_checkpoint_result **out,
                                   flock__reply *reply,
                                   const flock__call *call);
/* From reply->json, which must be set. */
int flock__checkpoint_result_parse_tree(flock_checkpoint_result **out,
                                        flock__reply *reply);
int flock__validation_parse(flock_validation **out, flock__reply *reply);
int flock__reward_ids_parse(flock_reward_ids **out, flock__reply *reply);

#endif
