/*
 * The libcurl transport over TLS: libmicrohttpd with a self-signed
 * certificate made in memory for 127.0.0.1. With the certificate as
 * ca_path the call goes through; without it, or with a CA file that does
 * not exist, verification fails and the call is FLOCK_ENETWORK: libflock
 * never turns verification off.
 */
#include "support.h"

#include <flock.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	struct MHD_Daemon *daemon;
	unsigned short port;
	char *key_pem;
	char *cert_pem;
	char ca_file[64];
} tls_server;

static char *bio_text(BIO *b)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	return out;
}

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A P-256 key and a self-signed certificate for IP 127.0.0.1, as PEM. */
static void make_cert(tls_server *s)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());

	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"127.0.0.1", -1, -1,
	                           0);
	X509_set_issuer_name(x, name);
	add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign");
	add_ext(x, NID_subject_alt_name, "IP:127.0.0.1");
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_int_equal(
	        PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(PEM_write_bio_X509(cb, x), 1);
	s->key_pem = bio_text(kb);
	s->cert_pem = bio_text(cb);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void write_ca_file(tls_server *s)
{
	int fd;
	size_t len = strlen(s->cert_pem);

	snprintf(s->ca_file, sizeof(s->ca_file), "/tmp/flock-test-ca-XXXXXX");
	fd = mkstemp(s->ca_file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s->cert_pem, len), (ssize_t)len);
	close(fd);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *data_size, void **req_cls)
{
	static const char body[] = "[]";
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	(void)data_size;
	(void)req_cls;
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	                                    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static int setup(void **state)
{
	tls_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	if (s == NULL)
		return -1;
	make_cert(s);
	write_ca_file(s);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->daemon = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
	        handle, NULL, MHD_OPTION_SOCK_ADDR, &addr,
	        MHD_OPTION_HTTPS_MEM_KEY, s->key_pem, MHD_OPTION_HTTPS_MEM_CERT,
	        s->cert_pem, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	        MHD_OPTION_END);
	info = s->daemon ? MHD_get_daemon_info(s->daemon,
	                                       MHD_DAEMON_INFO_BIND_PORT)
	                 : NULL;
	if (info == NULL)
		return -1;
	s->port = info->port;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	tls_server *s = *state;

	MHD_stop_daemon(s->daemon);
	unlink(s->ca_file);
	free(s->key_pem);
	free(s->cert_pem);
	free(s);
	return 0;
}

static int list_with(tls_server *s, const char *ca_path)
{
	flock_client_options o = FLOCK_CLIENT_OPTIONS_INIT;
	flock_campaign_list *l = NULL;
	flock_client *c = NULL;
	char url[64];
	int rc;

	snprintf(url, sizeof(url), "https://127.0.0.1:%u", s->port);
	o.access_key = "sk_tls";
	o.base_url = url;
	o.ca_path = ca_path;
	o.max_retries = FLOCK_NO_RETRIES;
	o.timeout_ms = 5000;
	assert_int_equal(flock_client_new(&c, &o), 0);
	rc = flock_campaigns_list(&l, c);
	flock_campaign_list_free(l);
	flock_client_free(c);
	return rc;
}

static void trusted_with_ca_path(void **state)
{
	tls_server *s = *state;

	assert_int_equal(list_with(s, s->ca_file), 0);
}

static void untrusted_without_ca_path(void **state)
{
	tls_server *s = *state;

	/* The system's CAs do not know this certificate. */
	assert_int_equal(list_with(s, NULL), FLOCK_ENETWORK);
	assert_int_equal(flock_error_last()->http_status, 0);
	assert_non_null(strstr(flock_error_last()->message, "certificate"));
}

static void missing_ca_file(void **state)
{
	tls_server *s = *state;

	assert_int_equal(list_with(s, "/nonexistent/ca.pem"), FLOCK_ENETWORK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(trusted_with_ca_path),
	        cmocka_unit_test(untrusted_without_ca_path),
	        cmocka_unit_test(missing_ca_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
