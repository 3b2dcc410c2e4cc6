/* Internal crypto helpers against published test vectors. */
#include "support.h"

#include <string.h>

#include "common/crypto.h"
#include "common/ids.h"

static void hmac_rfc4231_case2(void **state)
{
	/* RFC 4231 test case 2. */
	uint8_t mac[FLOCK__SHA256_LEN];
	char hex[2 * FLOCK__SHA256_LEN + 1];
	flock__part parts[] = {{"what do ya want ", 16}, {"for nothing?", 12}};
	(void)state;

	assert_int_equal(flock__hmac_sha256(mac, "Jefe", 4, parts, 2), 0);
	flock__hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(flock__hmac_sha256(mac, "Jefe", 4,
	                 (flock__part[]){{"what do ya want for nothing?", 28}}, 1), 0);
	flock__hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void base64_roundtrip_and_rejects(void **state)
{
	uint8_t out[16];
	char enc[FLOCK__BASE64_LEN(5)];
	(void)state;

	assert_int_equal(flock__base64_encode(enc, (const uint8_t *)"hello", 5), 8);
	assert_string_equal(enc, "aGVsbG8=");
	assert_int_equal(flock__base64_decode(out, "aGVsbG8=", 8), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(flock__base64_decode(out, "aGVsbG8", 7), -1);
	assert_int_equal(flock__base64_decode(out, "aG=sbG8=", 8), -1);
	assert_int_equal(flock__base64_decode(out, "aGV*bG8=", 8), -1);
	assert_int_equal(flock__base64_decode(out, "", 0), -1);
}

static void hex_decode_rejects(void **state)
{
	uint8_t out[2];
	(void)state;
	assert_int_equal(flock__hex_decode(out, 2, "aBcd", 4), 0);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(flock__hex_decode(out, 2, "abc", 3), -1);
	assert_int_equal(flock__hex_decode(out, 2, "abcg", 4), -1);
}

static void ids_sort_by_time_and_iso8601(void **state)
{
	char a[FLOCK__ID_MAX], b[FLOCK__ID_MAX], iso[FLOCK__ISO8601_LEN];
	int64_t ms;
	(void)state;

	assert_int_equal(flock__id_new(a, "cus_"), 0);
	assert_int_equal(strlen(a), 4 + 26);
	assert_memory_equal(a, "cus_", 4);
	assert_int_equal(flock__id_new(b, "cus_"), 0);
	assert_string_not_equal(a, b);
	flock__iso8601(iso, 1795710680123LL);
	assert_string_equal(iso, "2026-11-26T16:31:20.123Z");
	assert_int_equal(flock__parse_iso8601(&ms, iso), 0);
	assert_int_equal(ms, 1795710680123LL);
	assert_int_equal(flock__parse_iso8601(&ms, "2026-13-26T16:31:20.123Z"), -1);
	assert_int_equal(flock__parse_iso8601(&ms, "garbage"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_rfc4231_case2),
		cmocka_unit_test(base64_roundtrip_and_rejects),
		cmocka_unit_test(hex_decode_rejects),
		cmocka_unit_test(ids_sort_by_time_and_iso8601),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
