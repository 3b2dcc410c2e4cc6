/*
 * Client creation: validate and copy the options, pick the transport.
 * A client is immutable once created, which is what makes sharing it
 * between threads safe; only the transport has state, behind its own lock.
 */
#include "internal.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

int flock_client_options_init(flock_client_options *opts, unsigned int version)
{
	flock_client_options init = FLOCK_CLIENT_OPTIONS_INIT;

	if (opts == NULL)
		return flock__error_set(FLOCK_EINVAL, "opts is NULL");
	if (version == 1) {
		/* A version 1 struct ends before max_response_bytes: write
		 * member by member, never past sleep_userdata. */
		opts->version = 1;
		opts->access_key = opts->base_url = NULL;
		opts->timeout_ms = opts->connect_timeout_ms = 0;
		opts->max_retries = -1; /* version 1's "the default" */
		opts->retry_base_ms = opts->retry_cap_ms = 0;
		opts->user_agent_suffix = opts->ca_path = NULL;
		opts->transport = NULL;
		opts->log_cb = NULL;
		opts->log_userdata = NULL;
		opts->sleep_cb = NULL;
		opts->sleep_userdata = NULL;
		return 0;
	}
	if (version != FLOCK_CLIENT_OPTIONS_VERSION)
		return flock__error_set(FLOCK_EINVAL,
		                        "unknown options version %u", version);
	*opts = init;
	return 0;
}

/* Header values must not be able to smuggle in another header. */
static int has_ctl(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/* An absolute http(s) URL, checked by libcurl's own parser. */
static int check_base_url(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int rc = 0;

	if (u == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	     strcasecmp(scheme, "https") != 0) ||
	    has_ctl(url) || strchr(url, '?') || strchr(url, '#'))
		rc = flock__error_set(FLOCK_EINVAL,
		                      "base URL \"%.200s\" is not an absolute "
		                      "http or https URL without query",
		                      url);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static int check_options(const flock_client_options *o)
{
	if (o->version < 1 || o->version > FLOCK_CLIENT_OPTIONS_VERSION)
		return flock__error_set(
		        FLOCK_EINVAL, "unknown options version %u", o->version);
	if (o->access_key == NULL || o->access_key[0] == '\0')
		return flock__error_set(FLOCK_EINVAL, "access_key is required");
	if (has_ctl(o->access_key))
		return flock__error_set(FLOCK_EINVAL, "access_key contains "
		                                      "control characters");
	if (o->user_agent_suffix && has_ctl(o->user_agent_suffix))
		return flock__error_set(FLOCK_EINVAL, "user_agent_suffix "
		                                      "contains control "
		                                      "characters");
	if (o->timeout_ms < 0 || o->connect_timeout_ms < 0 ||
	    o->retry_base_ms < 0 || o->retry_cap_ms < 0 ||
	    o->max_retries < FLOCK_NO_RETRIES)
		return flock__error_set(
		        FLOCK_EINVAL, "negative timeout, retry count or delay");
	if (o->transport && (o->transport->version != FLOCK_TRANSPORT_VERSION ||
	                     o->transport->send == NULL))
		return flock__error_set(FLOCK_EINVAL,
		                        "transport has an unknown "
		                        "version or no send()");
	return 0;
}

/* The base URL to use, without trailing slashes, malloc'd. */
static int pick_base_url(char **out, const char *opt)
{
	const char *url = opt;
	size_t len;
	int rc;

	if (url == NULL) {
		url = getenv("FLOCK_BASE_URL");
		if (url == NULL || url[0] == '\0')
			url = FLOCK__DEFAULT_BASE_URL;
	}
	if ((rc = check_base_url(url)) != 0)
		return rc;
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	*out = strndup(url, len);
	return *out ? 0 : flock__error_set(FLOCK_ENOMEM, "out of memory");
}

static char *make_user_agent(const char *suffix)
{
	flock__buf b = FLOCK__BUF_INIT;

	flock__buf_puts(&b, "libflock/" FLOCK_VERSION);
	if (suffix && suffix[0]) {
		flock__buf_puts(&b, " ");
		flock__buf_puts(&b, suffix);
	}
	return flock__buf_detach(&b);
}

/* max_retries as version 2 means it (0: the default, -1: none). */
static int retries_of(const flock_client_options *o)
{
	if (o->version == 1) /* -1: the default, 0: none */
		return o->max_retries == -1 ? FLOCK__DEFAULT_MAX_RETRIES
		                            : o->max_retries;
	if (o->max_retries == FLOCK_NO_RETRIES)
		return 0;
	return o->max_retries == 0 ? FLOCK__DEFAULT_MAX_RETRIES
	                           : o->max_retries;
}

static void copy_settings(flock_client *c, const flock_client_options *o)
{
	c->timeout_ms =
	        o->timeout_ms ? o->timeout_ms : FLOCK__DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = o->connect_timeout_ms
	                                ? o->connect_timeout_ms
	                                : FLOCK__DEFAULT_CONNECT_TIMEOUT_MS;
	c->max_retries = retries_of(o);
	/* Read only the members the caller's version of the struct has. */
	c->max_response_bytes = o->version >= 2 && o->max_response_bytes > 0
	                                ? o->max_response_bytes
	                                : FLOCK_DEFAULT_MAX_RESPONSE_BYTES;
	c->retry_base_ms = o->retry_base_ms ? o->retry_base_ms
	                                    : FLOCK__DEFAULT_RETRY_BASE_MS;
	c->retry_cap_ms =
	        o->retry_cap_ms ? o->retry_cap_ms : FLOCK__DEFAULT_RETRY_CAP_MS;
	c->log_cb = o->log_cb;
	c->log_userdata = o->log_userdata;
	c->sleep_cb = o->sleep_cb;
	c->sleep_userdata = o->sleep_userdata;
}

static void client_release(flock_client *c)
{
	if (c->transport.free)
		c->transport.free(c->transport.userdata);
	free(c->access_key);
	free(c->base_url);
	free(c->user_agent);
	free(c);
	flock_global_cleanup();
}

int flock_client_new(flock_client **out, const flock_client_options *opts)
{
	flock_client *c = NULL;
	int rc;

	if (out)
		*out = NULL;
	flock__error_clear();
	if (out == NULL || opts == NULL)
		return flock__error_set(FLOCK_EINVAL, "out or opts is NULL");
	if ((rc = check_options(opts)) != 0)
		return rc;
	if ((rc = flock_global_init()) != 0)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		flock_global_cleanup();
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	copy_settings(c, opts);
	if ((rc = pick_base_url(&c->base_url, opts->base_url)) != 0)
		goto fail;
	c->access_key = strdup(opts->access_key);
	c->user_agent = make_user_agent(opts->user_agent_suffix);
	if (c->access_key == NULL || c->user_agent == NULL) {
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
		goto fail;
	}
	/*
	 * Last, so that a failure above never frees the caller's transport.
	 * Member by member: a later version of the struct may be longer
	 * than the caller's.
	 */
	if (opts->transport) {
		c->transport.version = opts->transport->version;
		c->transport.userdata = opts->transport->userdata;
		c->transport.send = opts->transport->send;
		c->transport.free = opts->transport->free;
	} else if ((rc = flock__transport_curl_new(&c->transport,
	                                         opts->ca_path)) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	client_release(c);
	return rc;
}

void flock_client_free(flock_client *client)
{
	if (client)
		client_release(client);
}

const char *flock_client_base_url(const flock_client *client)
{
	return client ? client->base_url : NULL;
}

void flock__log(const flock_client *client, flock_log_level level,
                const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (client->log_cb == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	client->log_cb(level, line, client->log_userdata);
}
