/*
 * flockd: webhook URL checks (urlcheck.h).
 */
#include "delivery/urlcheck.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static int v4_private(uint32_t a)
{
	return (a >> 24) == 0 ||               /* 0.0.0.0/8 */
	       (a >> 24) == 10 ||              /* 10/8 */
	       (a >> 24) == 127 ||             /* loopback */
	       (a >> 16) == 0xA9FE ||          /* 169.254/16 link-local */
	       (a >> 20) == 0xAC1 ||           /* 172.16/12 */
	       (a >> 16) == 0xC0A8 ||          /* 192.168/16 */
	       (a >> 22) == (100u << 2 | 1) || /* 100.64/10 CGNAT */
	       (a >> 8) == 0xC00000 ||         /* 192.0.0/24 */
	       (a >> 8) == 0xC00002 ||         /* 192.0.2/24 TEST-NET-1 */
	       (a >> 17) == (0xC612 >> 1) ||   /* 198.18/15 benchmarking */
	       (a >> 8) == 0xC63364 ||         /* 198.51.100/24 */
	       (a >> 8) == 0xCB0071 ||         /* 203.0.113/24 */
	       (a >> 28) >= 0xE;               /* multicast, reserved,
	                                          broadcast */
}

/* An IPv4 address carried in an IPv6 one: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-translated (::ffff:0:a.b.c.d, RFC 2765) and IPv4-compatible
 * (::a.b.c.d, deprecated). Its last four bytes are what a packet reaches. */
static int v4_inside(const uint8_t *b)
{
	static const uint8_t zero[16];

	if (memcmp(b, zero, 10) == 0 && b[10] == 0xFF && b[11] == 0xFF)
		return 1;
	if (memcmp(b, zero, 8) == 0 && b[8] == 0xFF && b[9] == 0xFF &&
	    b[10] == 0 && b[11] == 0)
		return 1;
	return memcmp(b, zero, 12) == 0 && memcmp(b, zero, 16) != 0 &&
	       !(memcmp(b, zero, 15) == 0 && b[15] == 1);
}

/* Not a global unicast address: unspecified, loopback, unique and site
 * local, link local, multicast, documentation, NAT64, 6to4, Teredo
 * (2001::/32: an address that tunnels to wherever its owner says), the
 * discard prefix 100::/64, benchmarking 2001:2::/48 and ORCHID
 * 2001:10::/28, 2001:20::/28. */
static int v6_private(const uint8_t *b)
{
	static const uint8_t zero[16];

	return memcmp(b, zero, 16) == 0 ||                      /* :: */
	       (memcmp(b, zero, 15) == 0 && b[15] == 1) ||      /* ::1 */
	       (b[0] & 0xFE) == 0xFC ||                         /* fc00::/7 */
	       (b[0] == 0xFE && (b[1] & 0x80) == 0x80) ||       /* fe80::/9 */
	       b[0] == 0xFF ||                                  /* multicast */
	       (b[0] == 0x01 && memcmp(b + 1, zero, 7) == 0) || /* 100::/64 */
	       (b[0] == 0x20 && b[1] == 0x01 &&
	        ((b[2] == 0x0D && b[3] == 0xB8) ||        /* 2001:db8::/32 */
	         (b[2] == 0 && b[3] == 0) ||              /* Teredo */
	         (b[2] == 0 && b[3] == 2 && b[4] == 0 && b[5] == 0) ||
	         (b[2] == 0 && (b[3] & 0xE0) == 0x20) ||  /* 2001:20::/28 */
	         (b[2] == 0 && (b[3] & 0xF0) == 0x10))) || /* 2001:10::/28 */
	       (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF &&
	        b[3] == 0x9B) ||              /* 64:ff9b::/96, ::/48 */
	       (b[0] == 0x20 && b[1] == 0x02); /* 6to4 */
}

int fd_addr_is_private(const struct sockaddr *sa)
{
	const uint8_t *b;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_private(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family != AF_INET6)
		return 1;
	b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (v4_inside(b))
		return v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		                  (uint32_t)b[14] << 8 | b[15]);
	return v6_private(b);
}

static int resolve_check(const char *host, const char *port, int allow_private,
                         char *why, size_t len)
{
	struct addrinfo hints, *res = NULL, *ai;
	char addr[INET6_ADDRSTRLEN] = "";
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, len, "host %s does not resolve (%s)", host,
		         gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && !allow_private; ai = ai->ai_next) {
		if (!fd_addr_is_private(ai->ai_addr))
			continue;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
		            NULL, 0, NI_NUMERICHOST);
		snprintf(
		        why, len,
		        "host %s resolves to %s, a private or loopback address "
		        "(flockd --webhook-allow-private permits it)",
		        host, addr);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

int fd_url_check(const char *url, int allow_private, char *why, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	int rc = -1;

	if (!u) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (!url || strlen(url) > 2048 ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		snprintf(why, len, "not a valid absolute URL");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		snprintf(why, len, "scheme must be http or https");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		snprintf(why, len, "no host");
		goto done;
	}
	/* user:password@ would be stored and shown with the endpoint, and
	 * sent to whatever the host is: webhooks authenticate by signature. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(why, len,
		         "a user name or password (user:password@) is not "
		         "allowed in a webhook URL");
		goto done;
	}
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	/* An IPv6 literal comes back in brackets. */
	if (host[0] == '[') {
		size_t n = strlen(host);
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	rc = resolve_check(host, port, allow_private, why, len);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}
