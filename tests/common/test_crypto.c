/* Internal crypto helpers against published test vectors. */
#include "support.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* flock__iso8601's arithmetic against gmtime_r + strftime, across leap
 * days, century years, the epoch and before it, and round trips. */
static void iso8601_matches_gmtime(void **state)
{
	static const int64_t fixed[] = {0,
	                                1,
	                                -1,
	                                -86400000,
	                                951782400000LL,  /* 2000-02-29 */
	                                951868799999LL,  /* 2000-02-29 end */
	                                4107542400000LL, /* 2100-03-01 */
	                                253402300799999LL /* 9999-12-31 */};
	char iso[FLOCK__ISO8601_LEN], want[FLOCK__ISO8601_LEN + 8];
	uint64_t r = 88172645463325252ULL;
	int64_t ms, back;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 20000; i++) {
		time_t secs;
		struct tm tm;

		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			ms = fixed[i];
		} else {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			/* 1900 .. 9999 */
			ms = (int64_t)(r % 255611376000000ULL) - 2208988800000LL;
		}
		secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
		gmtime_r(&secs, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + 19, sizeof(want) - 19, ".%03dZ",
		         (int)(ms - (int64_t)secs * 1000));
		flock__iso8601(iso, ms);
		assert_string_equal(iso, want);
		if (ms >= 0) {
			assert_int_equal(flock__parse_iso8601(&back, iso), 0);
			assert_int_equal(back, ms);
		}
	}
	flock__iso8601(iso, 253402300800000LL); /* year 10000 */
	assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_rfc4231_case2),
		cmocka_unit_test(base64_roundtrip_and_rejects),
		cmocka_unit_test(hex_decode_rejects),
		cmocka_unit_test(ids_sort_by_time_and_iso8601),
		cmocka_unit_test(iso8601_matches_gmtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
