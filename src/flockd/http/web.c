/*
 * flockd: serving the embedded web assets (web.h).
 */
#include "http/web.h"

#include <string.h>

/* Pages load their scripts and styles from their own origin and talk to
 * it alone; nothing inline, nothing framed, no plugins. */
#define CSP                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; "          \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static const struct {
	const char *ext, *type;
} types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".LICENSE", "text/plain; charset=utf-8"},
};

const char *fd_web_type(const char *path)
{
	size_t n = strlen(path), i, e;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		e = strlen(types[i].ext);
		if (n > e && strcmp(path + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

const fd_web_asset *fd_web_find(const char *dir, const char *path)
{
	size_t dl = strlen(dir);
	const fd_web_asset *a;

	if (!*path || strstr(path, "..") || path[0] == '/')
		return NULL;
	for (a = fd_web_assets; a->path; a++)
		if (strncmp(a->path, dir, dl) == 0 && a->path[dl] == '/' &&
		    strcmp(a->path + dl + 1, path) == 0)
			return a;
	return NULL;
}

int fd_web_secure_headers(struct MHD_Response *r)
{
	static const char *const h[][2] = {
	        {"Content-Security-Policy", CSP},
	        {"X-Content-Type-Options", "nosniff"},
	        {"Referrer-Policy", "no-referrer"},
	        {"X-Frame-Options", "DENY"},
	        {"Cross-Origin-Opener-Policy", "same-origin"},
	        {"Cross-Origin-Resource-Policy", "same-origin"},
	        {"Permissions-Policy",
	         "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
	};
	size_t i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (MHD_add_response_header(r, h[i][0], h[i][1]) != MHD_YES)
			return -1;
	return 0;
}

/* Does an If-None-Match list name etag (or "*")? */
static int etag_listed(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p;

	if (strchr(inm, '*'))
		return 1;
	for (p = strstr(inm, etag); p; p = strstr(p + 1, etag))
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

struct MHD_Response *fd_web_asset_response(const fd_web_asset *a,
                                           const char *inm, int *status)
{
	struct MHD_Response *r;
	int not_modified;

	if (!a) {
		*status = MHD_HTTP_NOT_FOUND;
		return fd_web_text_response("not found\n");
	}
	not_modified = inm && etag_listed(inm, a->etag);
	r = MHD_create_response_from_buffer(not_modified ? 0 : a->len,
	                                    (void *)a->data,
	                                    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return NULL;
	*status = not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
	if (MHD_add_response_header(r, "ETag", a->etag) != MHD_YES ||
	    MHD_add_response_header(r, "Cache-Control", "no-cache") !=
	            MHD_YES ||
	    (!not_modified &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                             fd_web_type(a->path)) != MHD_YES) ||
	    fd_web_secure_headers(r) < 0) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

struct MHD_Response *fd_web_text_response(const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	        strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);

	if (!r)
		return NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                            "text/plain; charset=utf-8") != MHD_YES ||
	    MHD_add_response_header(r, "Cache-Control", "no-store") !=
	            MHD_YES ||
	    fd_web_secure_headers(r) < 0) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

int fd_web_escape_html(flock__buf *out, const char *s)
{
	size_t start = 0, i;

	for (i = 0; s[i]; i++) {
		const char *rep;

		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (flock__buf_put(out, s + start, i - start) < 0 ||
		    flock__buf_puts(out, rep) < 0)
			return -1;
		start = i + 1;
	}
	return flock__buf_put(out, s + start, i - start);
}
