/*
 * flockd: Flock's hosted pages, on the API's port (docs/mobile-sdks.md).
 *
 * Flock's iOS and Android SDKs open these in a full-screen web view
 * (their UI base URL is flockd's address):
 *
 *   GET /placements/{placementId}?key=&campaign_id=&customer_id=&bg=
 *   GET /pages/{path}?key=&campaign_id=&customer_id=&bg=[&state=]
 *                                  the older SDKs' form (path: referrer,
 *                                  invitee; state=success)
 *   GET /referrals/{code}?key=[&campaign_id=]
 *   GET /referrals?ref={code}&key=  a referral landing page (a browser:
 *                                  without an Authorization header; with
 *                                  one it is the API's referral list)
 *   GET /hosted/{file}             the pages' script and style
 *
 * Every page is the same small file (web/pages/index.html, built into
 * the binary like the dashboard's, web.h), which reads its URL and calls
 * the wire API on the same origin with the public key in `key`
 * (GET /page-context, POST /referrals/validate-code, POST /referrals,
 * POST /referrals/visit): a page can do only what a public key may. It
 * puts every value in with textContent and runs no inline script; the
 * answer carries web.h's Content-Security-Policy.
 */
#ifndef FLOCKD_PAGES_H
#define FLOCKD_PAGES_H

#include <microhttpd.h>

typedef enum {
	FD_PAGES_NO = 0,   /* not a page: the API answers it */
	FD_PAGES_ANSWERED, /* queued; *status set */
	FD_PAGES_FAILED    /* a page, but nothing could be queued */
} fd_pages_result;

/*
 * The request (url without its query, method) if it is a page's. routed
 * is 1 when the API's route table has the path (then only the landing
 * page's ?ref= form of GET /referrals is a page).
 */
fd_pages_result fd_pages_handle(struct MHD_Connection *c, const char *url,
                                const char *method, int routed, int *status);

#endif
