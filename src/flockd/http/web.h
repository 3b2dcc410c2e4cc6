/*
 * flockd: pages for browsers, built into the binary (docs/dashboard.md,
 * "The web machinery"). The dashboard uses it; Flock's hosted pages will.
 *
 * Every file under src/flockd/web/ is a C array of this table, generated
 * at build time (cmake/embed_assets.cmake), so a page never depends on a
 * file on disk, a CDN or anything fetched at run time. Answers carry a
 * strong ETag and Cache-Control: no-cache (the browser keeps the file and
 * asks with If-None-Match each time, 304 when unchanged: an upgraded
 * flockd is seen at once), the type from the file's extension, and the
 * security headers of fd_web_secure_headers: a Content-Security-Policy
 * that allows scripts, styles and connections from the page's own origin
 * only, so no inline script or style ever runs.
 */
#ifndef FLOCKD_WEB_H
#define FLOCKD_WEB_H

#include <stddef.h>

#include <microhttpd.h>

#include "common/buf.h"

typedef struct {
	const char *path; /* relative to src/flockd/web/: "dashboard/app.js" */
	const unsigned char *data;
	size_t len;
	const char *etag; /* quoted, as sent */
} fd_web_asset;

/* The generated table, ending with a NULL path. */
extern const fd_web_asset fd_web_assets[];

/* The asset at dir "/" path ("dashboard", "app.js"); NULL if none or if
 * path climbs ("..") or is empty. */
const fd_web_asset *fd_web_find(const char *dir, const char *path);

/* The Content-Type of a path, from its extension (UTF-8 for text); an
 * unknown one is application/octet-stream. */
const char *fd_web_type(const char *path);

/*
 * The headers every answer of a browser-facing port carries: the
 * Content-Security-Policy ("default-src 'none'; script-src 'self';
 * style-src 'self'; img-src 'self' data:; connect-src 'self';
 * font-src 'self'; base-uri 'none'; form-action 'self';
 * frame-ancestors 'none'"), X-Content-Type-Options: nosniff,
 * Referrer-Policy: no-referrer, X-Frame-Options: DENY,
 * Cross-Origin-Opener-Policy and -Resource-Policy: same-origin, and a
 * Permissions-Policy that turns off what pages never use. 0 or -1.
 */
int fd_web_secure_headers(struct MHD_Response *r);

/*
 * A response for asset a (NULL: 404) to a request whose If-None-Match is
 * inm (NULL: none): 200 with the file, or 304 when inm names its ETag;
 * *status is set. The data is not copied (it is static). NULL: out of
 * memory.
 */
struct MHD_Response *fd_web_asset_response(const fd_web_asset *a,
                                           const char *inm, int *status);

/* A small text/plain answer (errors, 404) with the secure headers. */
struct MHD_Response *fd_web_text_response(const char *text);

/* Append s to out, escaped for HTML text and attribute values (& < > "
 * '). 0 or -1 (out of memory). */
int fd_web_escape_html(flock__buf *out, const char *s);

#endif
