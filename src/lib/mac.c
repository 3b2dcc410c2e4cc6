/*
 * HMAC-SHA256 with a per-thread OpenSSL context, and Standard Webhooks
 * secrets.
 *
 * OpenSSL's one-shot HMAC() fetches the algorithm and allocates, sets up
 * and frees a context on every call: for a 2 KB webhook that is as much
 * again as the hashing. Here the algorithm is fetched once per process and
 * each thread keeps one EVP_MAC_CTX, re-keyed by EVP_MAC_init() on every
 * call (the re-keying is two SHA-256 blocks, as in any HMAC). The context
 * holds the last key's HMAC state between calls: no more sensitive than
 * the secret the caller itself keeps for the next delivery, and OpenSSL
 * wipes it when the thread exits and its context is freed.
 */
#include "mac.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define SECRET_PREFIX "whsec_"
#define SECRET_PREFIX_LEN (sizeof(SECRET_PREFIX) - 1)

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t mac_key;
static EVP_MAC *mac_alg; /* fetched once, kept for the process */
static int mac_ready;

static void mac_ctx_free(void *ctx)
{
	EVP_MAC_CTX_free(ctx);
}

static void mac_setup(void)
{
	mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac_alg != NULL && pthread_key_create(&mac_key, mac_ctx_free) == 0)
		mac_ready = 1;
}

/* This thread's context, keyed to SHA-256, or NULL. */
static EVP_MAC_CTX *thread_ctx(void)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;

	if (pthread_once(&mac_once, mac_setup) != 0 || !mac_ready)
		return NULL;
	ctx = pthread_getspecific(mac_key);
	if (ctx != NULL)
		return ctx;
	ctx = EVP_MAC_CTX_new(mac_alg);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_MAC_CTX_set_params(ctx, params) != 1 ||
	    pthread_setspecific(mac_key, ctx) != 0) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int flock__mac(uint8_t out[FLOCK__SHA256_LEN], const void *key, size_t key_len,
               const flock__part *parts, size_t part_count)
{
	EVP_MAC_CTX *ctx = thread_ctx();
	size_t i, len = 0;

	if (ctx == NULL || key_len == 0) /* a NULL or empty key: "reuse" */
		return flock__hmac_sha256(out, key, key_len, parts, part_count);
	if (EVP_MAC_init(ctx, key, key_len, NULL) != 1)
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

long flock__secret_key(uint8_t out[FLOCK__SECRET_KEY_MAX], const char *secret)
{
	/* the text, padded, for EVP_DecodeBlock (which wants whole quads) */
	char quad[FLOCK__SECRET_KEY_MAX / 3 * 4 + 4];
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
	for (i = 0; i < len; i++) {
		if (!b64_char(secret[i]))
			return -1;
	}
	/* A given padding must be the right one; a missing one is added. */
	if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
		return -1;
	chars = (len + 3) / 4 * 4;
	if (chars / 4 * 3 > FLOCK__SECRET_KEY_MAX)
		return -2;
	memcpy(quad, secret, len);
	memset(quad + len, '=', chars - len);
	n = EVP_DecodeBlock(out, (const unsigned char *)quad, (int)chars);
	OPENSSL_cleanse(quad, sizeof(quad));
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero bytes */
	return (long)n - (long)(chars - len);
}
