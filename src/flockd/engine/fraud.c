/*
 * flockd fraud rules: email normalisation and disposable domains.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/fraud.h"

/* Well-known throwaway-mail providers; operators extend the list with a
 * file instead of a rebuild. */
static const char *const builtin[] = {
        "mailinator.com",  "guerrillamail.com", "guerrillamail.net",
        "sharklasers.com", "10minutemail.com",  "tempmail.com",
        "temp-mail.org",   "yopmail.com",       "throwawaymail.com",
        "trashmail.com",   "getnada.com",       "dispostable.com",
        "maildrop.cc",     "fakeinbox.com",     "mintemail.com",
        "mailnesia.com",   "emailondeck.com",   "spamgourmet.com",
        "burnermail.io",   "tempr.email",       "mohmal.com",
        "discard.email",
};

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

struct fd_fraud {
	char **extra;
	size_t n, cap;
};

static int add_domain(fd_fraud *f, const char *s, size_t len)
{
	char **grown, *d;
	size_t i;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		grown = realloc(f->extra, cap * sizeof(*grown));
		if (!grown)
			return -1;
		f->extra = grown;
		f->cap = cap;
	}
	if (!(d = malloc(len + 1)))
		return -1;
	for (i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[len] = '\0';
	f->extra[f->n++] = d;
	return 0;
}

static int load_file(fd_fraud *f, const char *path, char *err, size_t errlen)
{
	char line[512], *p, *end;
	FILE *fp = fopen(path, "r");
	int rc = -1;

	if (!fp) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		if ((p = strchr(line, '#')))
			*p = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (end = p; *end && !isspace((unsigned char)*end); end++)
			;
		if (end > p && add_domain(f, p, (size_t)(end - p)) < 0) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	rc = 0;
done:
	fclose(fp);
	return rc;
}

int fd_fraud_new(fd_fraud **out, const char *path, char *err, size_t errlen)
{
	fd_fraud *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (path && load_file(f, path, err, errlen) < 0) {
		fd_fraud_free(f);
		return -1;
	}
	*out = f;
	return 0;
}

void fd_fraud_free(fd_fraud *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		free(f->extra[i]);
	free(f->extra);
	free(f);
}

int fd_fraud_disposable(const fd_fraud *f, const char *email)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	size_t i;

	if (!at || !at[1])
		return 0;
	at++;
	for (i = 0; i < NBUILTIN; i++)
		if (strcasecmp(at, builtin[i]) == 0)
			return 1;
	for (i = 0; f && i < f->n; i++)
		if (strcasecmp(at, f->extra[i]) == 0)
			return 1;
	return 0;
}

int fd_email_normalize(char *out, size_t len, const char *email)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	const char *domain, *p;
	size_t n = 0;
	int gmail, in_tag = 0;

	if (!at || at == email || !at[1] || len == 0)
		return -1;
	domain = at + 1;
	gmail = strcasecmp(domain, "gmail.com") == 0 ||
	        strcasecmp(domain, "googlemail.com") == 0;
	for (p = email; p < at; p++) {
		if (*p == '+')
			in_tag = 1;
		if (in_tag || (gmail && *p == '.'))
			continue;
		if (n + 1 >= len)
			return -1;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	if (gmail)
		domain = "gmail.com";
	if (n + 1 + strlen(domain) + 1 > len)
		return -1;
	out[n++] = '@';
	for (p = domain; *p; p++)
		out[n++] = (char)tolower((unsigned char)*p);
	out[n] = '\0';
	return 0;
}
