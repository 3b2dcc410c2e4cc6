/*
 * flockd fraud rules that need no database: email normalisation and the
 * disposable-domain list. The rules that need data (velocity, already
 * referred) live in the engine.
 */
#ifndef FLOCKD_FRAUD_H
#define FLOCKD_FRAUD_H

#include <stddef.h>

typedef struct fd_fraud fd_fraud;

/*
 * The built-in disposable domains, plus those in the file at path (one a
 * line, '#' starts a comment) when path is not NULL. 0, or -1 with a
 * message in err.
 */
int fd_fraud_new(fd_fraud **out, const char *path, char *err, size_t errlen);
void fd_fraud_free(fd_fraud *f);

/* 1 if the email's domain is a known disposable one, else 0. */
int fd_fraud_disposable(const fd_fraud *f, const char *email);

/*
 * Normalise an email for comparison: lowercase, drop a "+tag" from the
 * local part, and for gmail.com / googlemail.com drop dots and use
 * gmail.com. 0, or -1 if email has no '@' or does not fit.
 */
int fd_email_normalize(char *out, size_t len, const char *email);

#endif
