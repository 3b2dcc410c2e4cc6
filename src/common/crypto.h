/*
 * Internal: HMAC, constant-time comparison, randomness, hex and base64.
 * Shared by libflock and flockd; never exported (names flock__*).
 */
#ifndef FLOCK_COMMON_CRYPTO_H
#define FLOCK_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define FLOCK__SHA256_LEN 32

/* One piece of a message that is hashed as the concatenation of parts. */
typedef struct {
	const void *data;
	size_t len;
} flock__part;

/* HMAC-SHA256 of the concatenated parts into out[32]. 0 or -1. */
int flock__hmac_sha256(uint8_t out[FLOCK__SHA256_LEN], const void *key,
                       size_t key_len, const flock__part *parts,
                       size_t part_count);

/* SHA-256 of data into out[32]. 0 or -1. */
int flock__sha256(uint8_t out[FLOCK__SHA256_LEN], const void *data, size_t len);

/* 1 if the two buffers are equal; time depends only on len. */
int flock__ct_equal(const void *a, const void *b, size_t len);

/* Cryptographically random bytes. 0 or -1. */
int flock__random_bytes(void *out, size_t len);

/* Lowercase hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void flock__hex_encode(char *out, const uint8_t *in, size_t len);

/*
 * Decode exactly out_len bytes of hex (either case) from in[in_len].
 * 0, or -1 if in_len != 2*out_len or a character is not hex.
 */
int flock__hex_decode(uint8_t *out, size_t out_len, const char *in,
                      size_t in_len);

/* Size of the base64 text (with padding, plus NUL) for n bytes. */
#define FLOCK__BASE64_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Standard base64 with padding, NUL-terminated. Returns the text length. */
size_t flock__base64_encode(char *out, const uint8_t *in, size_t len);

/*
 * Decode standard base64 (padding required, no whitespace). `out` must hold
 * at least 3*(in_len/4) bytes. Returns the decoded length, or -1 if
 * malformed.
 */
long flock__base64_decode(uint8_t *out, const char *in, size_t in_len);

#endif
