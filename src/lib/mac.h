/*
 * Internal: HMAC-SHA256 for webhook verification and signing, and the
 * Standard Webhooks secret format.
 */
#ifndef FLOCK_LIB_MAC_H
#define FLOCK_LIB_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"

/*
 * HMAC-SHA256 of the concatenated parts. Each thread keeps two OpenSSL
 * MAC contexts with the keys they were last given (mac.c says why and
 * what that keeps in memory): creating and keying a context per call, as
 * HMAC() does, costs as much as hashing 1 KB. 0, or -1 (no memory, or
 * OpenSSL failed).
 */
int flock__mac(uint8_t out[FLOCK__SHA256_LEN], const void *key, size_t key_len,
               const flock__part *parts, size_t part_count);

/* Largest Standard Webhooks key accepted, in bytes (the spec: 24 to 64). */
#define FLOCK__SECRET_KEY_MAX 512

/*
 * A Standard Webhooks secret's key: "whsec_" (optional) then base64, with
 * or without its padding, as the reference libraries accept it. Writes
 * the key into out[FLOCK__SECRET_KEY_MAX] and returns its length (> 0), or
 * 0 when the secret is empty, -1 when it is not base64, -2 when the key
 * would be longer than FLOCK__SECRET_KEY_MAX. The caller wipes out: the
 * returned length plus 2 bytes (the decoder also writes padding's zeros).
 */
long flock__secret_key(uint8_t out[FLOCK__SECRET_KEY_MAX], const char *secret);

#endif
