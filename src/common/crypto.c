#include "crypto.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

int flock__hmac_sha256(uint8_t out[FLOCK__SHA256_LEN], const void *key,
                       size_t key_len, const flock__part *parts,
                       size_t part_count)
{
	/*
	 * HMAC_CTX is deprecated in OpenSSL 3 but several times faster than
	 * EVP_MAC for short messages (no provider fetch per call); this is the
	 * hot path of webhook verification, so use the one-shot HMAC() when
	 * there is a single part and the context API otherwise.
	 */
	unsigned int len = 0;
	int rc = -1;
	size_t i;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pkey = NULL;

	if (part_count == 1) {
		return HMAC(EVP_sha256(), key, (int)key_len,
		            (const unsigned char *)parts[0].data, parts[0].len, out,
		            &len) != NULL && len == FLOCK__SHA256_LEN ? 0 : -1;
	}
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL,
	                                    (const unsigned char *)key, key_len);
	md = EVP_MD_CTX_new();
	if (pkey == NULL || md == NULL)
		goto done;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1)
		goto done;
	for (i = 0; i < part_count; i++) {
		if (parts[i].len > 0 &&
		    EVP_DigestSignUpdate(md, parts[i].data, parts[i].len) != 1)
			goto done;
	}
	{
		size_t outlen = FLOCK__SHA256_LEN;
		if (EVP_DigestSignFinal(md, out, &outlen) != 1 ||
		    outlen != FLOCK__SHA256_LEN)
			goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return rc;
}

int flock__sha256(uint8_t out[FLOCK__SHA256_LEN], const void *data, size_t len)
{
	unsigned int outlen = 0;
	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1)
		return -1;
	return outlen == FLOCK__SHA256_LEN ? 0 : -1;
}

int flock__ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int flock__random_bytes(void *out, size_t len)
{
	return RAND_bytes((unsigned char *)out, (int)len) == 1 ? 0 : -1;
}

void flock__hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int flock__hex_decode(uint8_t *out, size_t out_len, const char *in,
                      size_t in_len)
{
	size_t i;
	if (in_len != 2 * out_len)
		return -1;
	for (i = 0; i < out_len; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	return 0;
}

size_t flock__base64_encode(char *out, const uint8_t *in, size_t len)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

long flock__base64_decode(uint8_t *out, const char *in, size_t in_len)
{
	int n;
	size_t pad = 0;
	size_t i;

	if (in_len == 0 || in_len % 4 != 0)
		return -1;
	for (i = 0; i < in_len; i++) {
		char c = in[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		         (c >= '0' && c <= '9') || c == '+' || c == '/';
		if (c == '=' && i >= in_len - 2) {
			pad++;
			continue;
		}
		if (!ok || pad > 0)
			return -1;
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)in_len);
	if (n < 0)
		return -1;
	return (long)n - (long)pad; /* EVP_DecodeBlock counts padding as zeros */
}
