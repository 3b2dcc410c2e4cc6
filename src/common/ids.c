#include "ids.h"
#include "crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t flock__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t flock__mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* n as w decimal digits at out. */
static void put_digits(char *out, int w, long n)
{
	while (w-- > 0) {
		out[w] = (char)('0' + n % 10);
		n /= 10;
	}
}

/*
 * UTC date and time of ms by arithmetic (days to civil date, H. Hinnant's
 * algorithm), not gmtime_r + strftime: every reply and webhook body
 * carries several timestamps, and glibc's gmtime_r takes a process-wide
 * lock. A year outside 0000..9999 gives the epoch.
 */
void flock__iso8601(char out[FLOCK__ISO8601_LEN], int64_t ms)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000; /* 0 .. 86399999 */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);

	if (y < 0 || y > 9999) {
		memcpy(out, "1970-01-01T00:00:00.000Z", FLOCK__ISO8601_LEN);
		return;
	}
	put_digits(out, 4, (long)y);
	out[4] = '-';
	put_digits(out + 5, 2, (long)m);
	out[7] = '-';
	put_digits(out + 8, 2, (long)d);
	out[10] = 'T';
	put_digits(out + 11, 2, (long)(rem / 3600000));
	out[13] = ':';
	put_digits(out + 14, 2, (long)(rem / 60000 % 60));
	out[16] = ':';
	put_digits(out + 17, 2, (long)(rem / 1000 % 60));
	out[19] = '.';
	put_digits(out + 20, 3, (long)(rem % 1000));
	out[23] = 'Z';
	out[24] = '\0';
}

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int flock__parse_iso8601(int64_t *ms, const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, se, frac = 0;
	size_t len = s ? strlen(s) : 0;

	if (len != 20 && len != 24)
		return -1;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &se))
		return -1;
	if (len == 24 && (s[19] != '.' || digits(s + 20, 3, &frac) || s[23] != 'Z'))
		return -1;
	if (len == 20 && s[19] != 'Z')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}

static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

/*
 * Random bytes for ids come from a per-thread pool filled 1,000 bytes at a
 * time: one RAND_bytes call (locks, its fork check) per 100 ids instead of
 * one per id; flockd's writer makes several ids per write. The pool
 * bypasses RAND_bytes' own fork check, so a fork makes every pool stale
 * (the child would otherwise repeat its parent's ids); bytes once used are
 * wiped, never served twice.
 */
static unsigned fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void forked(void)
{
	__atomic_add_fetch(&fork_gen, 1, __ATOMIC_RELAXED);
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forked);
}

/* 10 fresh random bytes from this thread's pool, or NULL. */
static uint8_t *pool_take(void)
{
	static __thread uint8_t pool[1000];
	static __thread size_t left;
	static __thread unsigned gen;
	unsigned now_gen;

	pthread_once(&fork_once, watch_forks);
	now_gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	if (left < 10 || gen != now_gen) {
		if (flock__random_bytes(pool, sizeof(pool)) < 0)
			return NULL;
		left = sizeof(pool);
		gen = now_gen;
	}
	left -= 10;
	return pool + left;
}

int flock__id_new(char out[FLOCK__ID_MAX], const char *prefix)
{
	uint64_t t = (uint64_t)flock__now_ms(), bits = 0;
	size_t plen = strlen(prefix), i;
	uint8_t *rnd;
	int nbits = 0;
	char *p;

	if (plen + 26 + 1 > FLOCK__ID_MAX || !(rnd = pool_take()))
		return -1;
	memcpy(out, prefix, plen);
	p = out + plen;
	for (i = 0; i < 10; i++)
		p[i] = crockford[(t >> (5 * (9 - i))) & 31];
	p += 10;
	for (i = 0; i < 10; i++) {
		bits = (bits << 8) | rnd[i];
		nbits += 8;
		while (nbits >= 5) {
			*p++ = crockford[(bits >> (nbits - 5)) & 31];
			nbits -= 5;
		}
	}
	*p = '\0';
	memset(rnd, 0, 10);
	return 0;
}

int flock__token_hex(char out[33])
{
	uint8_t rnd[16];
	if (flock__random_bytes(rnd, sizeof(rnd)))
		return -1;
	flock__hex_encode(out, rnd, sizeof(rnd));
	return 0;
}
