/*
 * flockd: which webhook URLs flockd may call (SSRF guard).
 *
 * Only http and https, no user name or password, a host that resolves,
 * and, unless the operator
 * allows private targets (--webhook-allow-private), no address that is
 * loopback, private, link-local, unique-local, unspecified, multicast or
 * otherwise not globally routable (IPv4 and IPv6; an IPv4 address inside
 * an IPv6 one, mapped, translated or compatible, counts as that IPv4
 * address; Teredo, 6to4, NAT64 and the discard prefix are refused).
 * Checked when an endpoint is created or its URL changed, and again for
 * every connection the delivery worker opens (DNS may change between the
 * two).
 */
#ifndef FLOCKD_URLCHECK_H
#define FLOCKD_URLCHECK_H

#include <stddef.h>

#include <sys/socket.h>

/* 1 if the address is not one flockd may call without
 * --webhook-allow-private, else 0. */
int fd_addr_is_private(const struct sockaddr *sa);

/*
 * Check a webhook URL: 0, or -1 with the reason in why (for an operator:
 * "scheme must be http or https", "host x resolves to 127.0.0.1, a
 * private address", ...). Resolves the host (blocking).
 */
int fd_url_check(const char *url, int allow_private, char *why, size_t len);

#endif
