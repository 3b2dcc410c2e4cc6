/*
 * flockd: serving Flock's hosted pages (pages.h).
 */
#include "http/pages.h"

#include <string.h>

#include "http/web.h"

#define ASSETS "/hosted/"

/* "/prefix/one-segment" (no further slash, not empty). */
static int one_segment(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(url, prefix, n) == 0 && url[n] && !strchr(url + n, '/');
}

static int is_page(struct MHD_Connection *c, const char *url, int routed)
{
	if (routed)
		/* A browser following a product's ?ref= link; API clients
		 * always send their key. */
		return strcmp(url, "/referrals") == 0 &&
		       MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		                                   "ref") &&
		       !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		                                    "Authorization");
	return one_segment(url, "/placements/") ||
	       one_segment(url, "/pages/") || one_segment(url, "/referrals/");
}

fd_pages_result fd_pages_handle(struct MHD_Connection *c, const char *url,
                                const char *method, int routed, int *status)
{
	const fd_web_asset *a;
	struct MHD_Response *r;
	enum MHD_Result ok;
	int code = 0;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return FD_PAGES_NO;
	if (!routed && strncmp(url, ASSETS, strlen(ASSETS)) == 0)
		a = fd_web_find("pages", url + strlen(ASSETS));
	else if (is_page(c, url, routed))
		a = fd_web_find("pages", "index.html");
	else
		return FD_PAGES_NO;
	r = fd_web_asset_response(a,
	                          MHD_lookup_connection_value(
	                                  c, MHD_HEADER_KIND, "If-None-Match"),
	                          &code);
	if (!r)
		return FD_PAGES_FAILED;
	*status = code;
	ok = MHD_queue_response(c, (unsigned int)code, r);
	MHD_destroy_response(r);
	return ok == MHD_YES ? FD_PAGES_ANSWERED : FD_PAGES_FAILED;
}
