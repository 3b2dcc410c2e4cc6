/*
 * flockd: dashboard sessions and the login throttle (session.h).
 */
#include "http/session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"

#define MAX_SESSIONS 256
#define MAX_ADDRS 256

/* The cookie is never stored: its hash is, so a table read out of memory
 * gives no cookie. */
typedef struct {
	uint8_t hash[FLOCK__SHA256_LEN];
	char csrf[FD_SESSION_ID_LEN + 1];
	char token[FD_SESSION_TOKEN_MAX];
	double ends, idle_ends; /* monotonic seconds; 0: free slot */
} session;

typedef struct {
	char addr[64];
	long window; /* monotonic minute */
	int count;
} addr_count;

struct fd_sessions {
	pthread_mutex_t mu;
	int ttl_s, idle_s;
	session tab[MAX_SESSIONS];
	addr_count addrs[MAX_ADDRS];
	long total_window;
	int total_count;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fd_sessions_new(fd_sessions **out, int ttl_s, int idle_s)
{
	fd_sessions *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -1;
	pthread_mutex_init(&s->mu, NULL);
	s->ttl_s = ttl_s > 0 ? ttl_s : 28800;
	s->idle_s = idle_s > 0 && idle_s < s->ttl_s ? idle_s : s->ttl_s;
	*out = s;
	return 0;
}

void fd_sessions_free(fd_sessions *s)
{
	if (!s)
		return;
	/* The tokens do not outlive the table. */
	memset(s->tab, 0, sizeof(s->tab));
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int fd_session_same(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && flock__ct_equal(a, b, n);
}

static int id_hash(uint8_t out[FLOCK__SHA256_LEN], const char *id)
{
	size_t i;

	if (!id || strlen(id) != FD_SESSION_ID_LEN)
		return -1;
	for (i = 0; i < FD_SESSION_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return -1;
	return flock__sha256(out, id, FD_SESSION_ID_LEN);
}

static int random_hex(char out[FD_SESSION_ID_LEN + 1])
{
	uint8_t raw[FD_SESSION_ID_LEN / 2];

	if (flock__random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	flock__hex_encode(out, raw, sizeof(raw));
	out[FD_SESSION_ID_LEN] = '\0';
	return 0;
}

/* The slot of hash (live), or NULL; expired slots are freed on the way. */
static session *find(fd_sessions *s, const uint8_t *hash, double now)
{
	session *hit = NULL;
	int i;

	for (i = 0; i < MAX_SESSIONS; i++) {
		session *t = &s->tab[i];

		if (t->ends == 0)
			continue;
		if (now >= t->ends || now >= t->idle_ends) {
			memset(t, 0, sizeof(*t));
			continue;
		}
		if (flock__ct_equal(t->hash, hash, FLOCK__SHA256_LEN))
			hit = t;
	}
	return hit;
}

int fd_session_create(fd_sessions *s, const char *token,
                      char id[FD_SESSION_ID_LEN + 1],
                      char csrf[FD_SESSION_ID_LEN + 1], int *lasts_s)
{
	uint8_t hash[FLOCK__SHA256_LEN];
	session *slot = NULL;
	double now = now_s();
	int i;

	if (strlen(token) >= FD_SESSION_TOKEN_MAX || random_hex(id) < 0 ||
	    random_hex(csrf) < 0 || id_hash(hash, id) < 0)
		return -1;
	pthread_mutex_lock(&s->mu);
	find(s, hash, now); /* frees the expired */
	for (i = 0; i < MAX_SESSIONS; i++) {
		if (s->tab[i].ends == 0) {
			slot = &s->tab[i];
			break;
		}
		if (!slot || s->tab[i].ends < slot->ends)
			slot = &s->tab[i];
	}
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->hash, hash, sizeof(hash));
	memcpy(slot->csrf, csrf, FD_SESSION_ID_LEN + 1);
	snprintf(slot->token, sizeof(slot->token), "%s", token);
	slot->ends = now + s->ttl_s;
	slot->idle_ends = now + s->idle_s;
	*lasts_s = s->ttl_s;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int fd_session_get(fd_sessions *s, const char *id, char *token, size_t len,
                   char csrf[FD_SESSION_ID_LEN + 1], int *lasts_s)
{
	uint8_t hash[FLOCK__SHA256_LEN];
	double now = now_s();
	session *t;
	int rc = -1;

	if (id_hash(hash, id) < 0)
		return -1;
	pthread_mutex_lock(&s->mu);
	t = find(s, hash, now);
	if (t && strlen(t->token) < len) {
		memcpy(token, t->token, strlen(t->token) + 1);
		memcpy(csrf, t->csrf, FD_SESSION_ID_LEN + 1);
		t->idle_ends = now + s->idle_s;
		if (t->idle_ends > t->ends)
			t->idle_ends = t->ends;
		*lasts_s = (int)(t->ends - now);
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void fd_session_delete(fd_sessions *s, const char *id)
{
	uint8_t hash[FLOCK__SHA256_LEN];
	session *t;

	if (id_hash(hash, id) < 0)
		return;
	pthread_mutex_lock(&s->mu);
	if ((t = find(s, hash, now_s())))
		memset(t, 0, sizeof(*t));
	pthread_mutex_unlock(&s->mu);
}

int fd_login_allow(fd_sessions *s, const char *addr, int per_addr, int total,
                   int *retry_s)
{
	double now = now_s();
	long minute = (long)(now / 60);
	addr_count *a = NULL, *oldest = &s->addrs[0];
	int i, ok;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < MAX_ADDRS && !a; i++) {
		if (strcmp(s->addrs[i].addr, addr) == 0)
			a = &s->addrs[i];
		else if (s->addrs[i].window < oldest->window)
			oldest = &s->addrs[i];
	}
	if (!a) {
		a = oldest;
		snprintf(a->addr, sizeof(a->addr), "%s", addr);
		a->count = 0;
		a->window = minute;
	}
	if (a->window != minute) {
		a->window = minute;
		a->count = 0;
	}
	if (s->total_window != minute) {
		s->total_window = minute;
		s->total_count = 0;
	}
	ok = a->count < per_addr && s->total_count < total;
	if (ok) {
		a->count++;
		s->total_count++;
	}
	pthread_mutex_unlock(&s->mu);
	*retry_s = (int)((double)(minute + 1) * 60 - now) + 1;
	return ok ? 0 : -1;
}
