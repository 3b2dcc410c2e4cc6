/*
 * HMAC-SHA256 with per-thread OpenSSL contexts, and Standard Webhooks
 * secrets.
 *
 * OpenSSL's one-shot HMAC() fetches the algorithm and allocates, sets up
 * and frees a context on every call: for a 2 KB webhook that is as much
 * again as the hashing. Here the algorithm is fetched once per process and
 * each thread keeps two EVP_MAC_CTX, each with the key it was last given.
 * A receiver verifies with the same secret (or the same two, X-Flock and
 * Standard, or old and new during rotation) delivery after delivery, so a
 * call usually finds its key already set and only resets the context to
 * its keyed state (EVP_MAC_init with no key); another key re-keys the
 * least recently used context. Saved: the two SHA-256 blocks of the HMAC
 * key schedule and OpenSSL's key set-up, about a fifth of verifying a
 * 2 KB body.
 *
 * The same goes for Standard Webhooks secrets: the last one decoded is
 * kept with its key, so the base64 is decoded once, not per delivery.
 *
 * What this keeps between calls: per thread, up to two keys and their
 * HMAC states, and the last Standard secret with its key. They are no more sensitive than the secret the caller
 * keeps for its next delivery, and are wiped (OPENSSL_cleanse, and
 * EVP_MAC_CTX_free, which cleanses) when the thread exits.
 */
#include "mac.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define SECRET_PREFIX "whsec_"
#define SECRET_PREFIX_LEN (sizeof(SECRET_PREFIX) - 1)
/* Keys up to this long are remembered; longer ones re-key every call. */
#define CACHED_KEY_MAX 128
/* Standard Webhooks secrets up to this long keep their decoded key. */
#define CACHED_SECRET_MAX 256

typedef struct {
	EVP_MAC_CTX *ctx;
	size_t key_len; /* 0: no key remembered */
	unsigned char key[CACHED_KEY_MAX];
	unsigned long used; /* for least-recently-used replacement */
} mac_slot;

typedef struct {
	mac_slot slot[2];
	unsigned long clock;
	/* the last Standard Webhooks secret decoded, and its key */
	size_t secret_len; /* 0: none */
	char secret[CACHED_SECRET_MAX];
	size_t secret_key_len;
	uint8_t secret_key[CACHED_KEY_MAX];
} mac_cache;

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t mac_key;
static EVP_MAC *mac_alg; /* fetched once, kept for the process */
static int mac_ready;

static void mac_cache_free(void *p)
{
	mac_cache *c = p;
	int i;

	for (i = 0; i < 2; i++)
		EVP_MAC_CTX_free(c->slot[i].ctx);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/*
 * A program that dlclose()s libflock while threads live must not have
 * their exit call into unmapped code: the key goes with the library (the
 * caches left behind are reachable from those threads, not leaked).
 */
__attribute__((destructor)) static void mac_unload(void)
{
	if (mac_ready)
		pthread_key_delete(mac_key);
	mac_ready = 0;
}

static void mac_setup(void)
{
	mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac_alg != NULL &&
	    pthread_key_create(&mac_key, mac_cache_free) == 0)
		mac_ready = 1;
}

static EVP_MAC_CTX *new_ctx(void)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac_alg);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* This thread's cache, created on first use; NULL if that fails. */
static mac_cache *thread_cache(void)
{
	mac_cache *c;

	if (pthread_once(&mac_once, mac_setup) != 0 || !mac_ready)
		return NULL;
	c = pthread_getspecific(mac_key);
	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->slot[0].ctx = new_ctx();
	c->slot[1].ctx = new_ctx();
	if (c->slot[0].ctx == NULL || c->slot[1].ctx == NULL ||
	    pthread_setspecific(mac_key, c) != 0) {
		mac_cache_free(c);
		return NULL;
	}
	return c;
}

/* A context keyed with key, ready for updates; NULL on failure. */
static EVP_MAC_CTX *keyed_ctx(mac_cache *c, const void *key, size_t key_len)
{
	mac_slot *s;
	int i;

	c->clock++;
	for (i = 0; i < 2; i++) {
		s = &c->slot[i];
		if (s->key_len == key_len &&
		    CRYPTO_memcmp(s->key, key, key_len) == 0) {
			s->used = c->clock;
			return EVP_MAC_init(s->ctx, NULL, 0, NULL) == 1 ? s->ctx
			                                                : NULL;
		}
	}
	s = &c->slot[c->slot[0].used <= c->slot[1].used ? 0 : 1];
	s->key_len = 0;
	if (EVP_MAC_init(s->ctx, key, key_len, NULL) != 1)
		return NULL;
	if (key_len <= CACHED_KEY_MAX) {
		memcpy(s->key, key, key_len);
		s->key_len = key_len;
	}
	s->used = c->clock;
	return s->ctx;
}

int flock__mac(uint8_t out[FLOCK__SHA256_LEN], const void *key, size_t key_len,
               const flock__part *parts, size_t part_count)
{
	mac_cache *c = key_len > 0 ? thread_cache() : NULL;
	EVP_MAC_CTX *ctx;
	size_t i, len = 0;

	/* No cache, or an empty key (to OpenSSL, no key means "the same"). */
	if (c == NULL)
		return flock__hmac_sha256(out, key, key_len, parts, part_count);
	if ((ctx = keyed_ctx(c, key, key_len)) == NULL)
		return -1;
	for (i = 0; i < part_count; i++) {
		if (parts[i].len > 0 &&
		    EVP_MAC_update(ctx, parts[i].data, parts[i].len) != 1)
			return -1;
	}
	if (EVP_MAC_final(ctx, out, &len, FLOCK__SHA256_LEN) != 1 ||
	    len != FLOCK__SHA256_LEN)
		return -1;
	return 0;
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static long secret_decode(uint8_t out[FLOCK__SECRET_KEY_MAX],
                          const char *secret);

long flock__secret_key(uint8_t out[FLOCK__SECRET_KEY_MAX], const char *secret)
{
	mac_cache *c = thread_cache();
	size_t len = strlen(secret);
	long n;

	if (c != NULL && c->secret_len == len && len > 0 &&
	    CRYPTO_memcmp(c->secret, secret, len) == 0) {
		memcpy(out, c->secret_key, c->secret_key_len);
		return (long)c->secret_key_len;
	}
	n = secret_decode(out, secret);
	if (c != NULL && n > 0 && len <= CACHED_SECRET_MAX &&
	    (size_t)n <= CACHED_KEY_MAX) {
		memcpy(c->secret, secret, len);
		c->secret_len = len;
		memcpy(c->secret_key, out, (size_t)n);
		c->secret_key_len = (size_t)n;
	}
	return n;
}

static long secret_decode(uint8_t out[FLOCK__SECRET_KEY_MAX],
                          const char *secret)
{
	/* the text, padded, when it came without (EVP_DecodeBlock wants it) */
	char quad[FLOCK__SECRET_KEY_MAX / 3 * 4 + 4];
	const char *text;
	size_t len, chars, pad = 0, i;
	int n;

	if (strncmp(secret, SECRET_PREFIX, SECRET_PREFIX_LEN) == 0)
		secret += SECRET_PREFIX_LEN;
	len = strlen(secret);
	while (len > 0 && secret[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len == 0)
		return pad == 0 ? 0 : -1;
	/* A given padding must be the right one; a missing one is added. */
	if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
		return -1;
	chars = (len + 3) / 4 * 4;
	if (chars / 4 * 3 > FLOCK__SECRET_KEY_MAX)
		return -2;
	for (i = 0; i < len; i++) {
		if (!b64_char(secret[i]))
			return -1;
	}
	text = secret;
	if (chars != len + pad) {
		memcpy(quad, secret, len);
		memset(quad + len, '=', chars - len);
		text = quad;
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)chars);
	if (text == quad)
		OPENSSL_cleanse(quad, chars);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero bytes */
	return (long)n - (long)(chars - len);
}
