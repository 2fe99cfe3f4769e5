/*
 * tls.c: mutual TLS 1.3 over memory BIOs. It owns the SSL_CTX set-up (one
 * trust anchor, the election CA; the peer's certificate always required),
 * the per-connection SSL object with its two memory BIOs, and the
 * translation of OpenSSL's results into negative errnos with a reason a
 * person can read. Sockets, timeouts and what to do with a refused peer
 * belong to the libuv glue (aggregator session.c, node uplink.c).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tally/tls.h"

/*
 * One connection. Owned by the session or uplink that created it. in holds
 * ciphertext fed from the socket until OpenSSL reads it; out holds what
 * OpenSSL wrote until the glue takes it for the socket. Both are memory BIOs,
 * which grow as needed, so feeding never has to be retried.
 */
struct tally_tls {
	SSL *ssl; /* owns in and out once SSL_set_bio() ran */
	BIO *in;
	BIO *out;
	bool server;
};

/* OpenSSL's reason for the oldest queued error, or fallback; clears the queue. */
static const char *ossl_reason(char *buf, size_t cap, const char *fallback)
{
	unsigned long e = ERR_peek_error();
	const char *r;

	if (e == 0) {
		snprintf(buf, cap, "%s", fallback);
	} else if ((r = ERR_reason_error_string(e)) != NULL) {
		snprintf(buf, cap, "%s", r);
	} else {
		ERR_error_string_n(e, buf, cap);
	}
	ERR_clear_error();
	return buf;
}

/*
 * fopen() before OpenSSL sees the name, so a missing file is -ENOENT with
 * the system's words rather than a PEM library code.
 */
static int check_readable(const char *path, const char *what, struct tally_err *err)
{
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return tally_err_set(err, -EINVAL, "%s: no file given", what);
	f = fopen(path, "re");
	if (f == NULL) {
		int r = -errno;
		return tally_err_set(err, r, "%s %s: %s", what, path, strerror(-r));
	}
	fclose(f);
	return 0;
}

/* The set-up both sides share: protocol, trust anchor, own certificate. */
static int make_ctx(const SSL_METHOD *method, const char *ca, const char *cert, const char *key,
                    SSL_CTX **ret, struct tally_err *err)
{
	char why[256];
	SSL_CTX *ctx = NULL;
	int r;

	ERR_clear_error();
	r = check_readable(ca, "CA certificate", err);
	if (r == 0)
		r = check_readable(cert, "certificate", err);
	if (r == 0)
		r = check_readable(key, "private key", err);
	if (r < 0)
		goto fail;

	ctx = SSL_CTX_new(method);
	if (ctx == NULL) {
		r = tally_err_set(err, -ENOMEM, "TLS context: %s",
		                  ossl_reason(why, sizeof(why), "out of memory"));
		goto fail;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		r = tally_err_set(err, -EINVAL, "TLS context: cannot require TLS 1.3: %s",
		                  ossl_reason(why, sizeof(why), "unknown error"));
		goto fail;
	}
	/*
	 * No resumption: every connection proves the peer's certificate again,
	 * and a ticket would be one more secret to keep on a regional machine.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	/* The election CA is the only trust anchor: no system store. */
	if (!SSL_CTX_load_verify_locations(ctx, ca, NULL)) {
		r = tally_err_set(err, -EINVAL, "CA certificate %s: %s", ca,
		                  ossl_reason(why, sizeof(why), "cannot load"));
		goto fail;
	}
	if (!SSL_CTX_use_certificate_chain_file(ctx, cert)) {
		r = tally_err_set(err, -EINVAL, "certificate %s: %s", cert,
		                  ossl_reason(why, sizeof(why), "cannot load"));
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)) {
		/* OpenSSL compares the key with the certificate already loaded. */
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			r = tally_err_set(err, -EINVAL,
			                  "private key %s does not match certificate %s: %s", key,
			                  cert, ossl_reason(why, sizeof(why), "mismatch"));
			goto fail;
		}
		r = tally_err_set(err, -EINVAL, "private key %s: %s", key,
		                  ossl_reason(why, sizeof(why), "cannot load"));
		goto fail;
	}
	if (!SSL_CTX_check_private_key(ctx)) {
		r = tally_err_set(err, -EINVAL, "private key %s does not match certificate %s: %s",
		                  key, cert, ossl_reason(why, sizeof(why), "mismatch"));
		goto fail;
	}
	*ret = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int tally_tls_server_ctx(const char *ca, const char *cert, const char *key, SSL_CTX **ret,
                         struct tally_err *err)
{
	STACK_OF(X509_NAME) * names;
	char why[256];
	SSL_CTX *ctx;
	int r;

	r = make_ctx(TLS_server_method(), ca, cert, key, &ctx, err);
	if (r < 0)
		return r;
	/* Tells clients which CA we accept, so one with several certs picks right. */
	names = SSL_load_client_CA_file(ca);
	if (names == NULL) {
		r = tally_err_set(err, -EINVAL, "CA certificate %s: %s", ca,
		                  ossl_reason(why, sizeof(why), "no certificate names"));
		SSL_CTX_free(ctx);
		return r;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	*ret = ctx;
	return 0;
}

int tally_tls_client_ctx(const char *ca, const char *cert, const char *key, SSL_CTX **ret,
                         struct tally_err *err)
{
	SSL_CTX *ctx;
	int r;

	r = make_ctx(TLS_client_method(), ca, cert, key, &ctx, err);
	if (r < 0)
		return r;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*ret = ctx;
	return 0;
}

/*
 * The server's identity: a DNS name goes in SNI and is matched against the
 * certificate's DNS names; an IP literal (RFC 6066 forbids it in SNI) is
 * matched against its IP addresses.
 */
int tally_tls_ctx_not_after(const SSL_CTX *ctx, int64_t *ret)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	struct tm tm;

	if (cert == NULL)
		return -ENOENT;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return -EINVAL;
	/* ASN1_TIME_to_tm gives UTC. */
	*ret = (int64_t)timegm(&tm);
	return 0;
}

static int set_peer_name(SSL *ssl, const char *name)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 ? 0 : -EINVAL;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, name) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1)
		return -EINVAL;
	return 0;
}

int tally_tls_new(SSL_CTX *ctx, bool server, const char *server_name, struct tally_tls **ret)
{
	struct tally_tls *t;
	int r = -ENOMEM;

	assert(ctx != NULL);
	/* A client that checks no name would accept any certificate the CA signed. */
	if (!server && (server_name == NULL || server_name[0] == '\0'))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->server = server;
	ERR_clear_error();
	t->ssl = SSL_new(ctx);
	if (t->ssl == NULL)
		goto fail;
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	if (t->in == NULL || t->out == NULL) {
		BIO_free(t->in);
		BIO_free(t->out);
		goto fail;
	}
	/* An empty input BIO means "wait for more", not end of stream. */
	BIO_set_mem_eof_return(t->in, -1);
	BIO_set_mem_eof_return(t->out, -1);
	SSL_set_bio(t->ssl, t->in, t->out); /* from here SSL_free() frees them */
	if (server) {
		SSL_set_accept_state(t->ssl);
	} else {
		r = set_peer_name(t->ssl, server_name);
		if (r < 0)
			goto fail;
		SSL_set_connect_state(t->ssl);
	}
	*ret = t;
	return 0;
fail:
	SSL_free(t->ssl);
	free(t);
	ERR_clear_error();
	return r;
}

struct tally_tls *tally_tls_free(struct tally_tls *t)
{
	if (t == NULL)
		return NULL;
	SSL_free(t->ssl); /* frees both BIOs */
	free(t);
	return NULL;
}

int tally_tls_feed(struct tally_tls *t, const uint8_t *data, size_t len)
{
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;
		int n = BIO_write(t->in, data, chunk);
		if (n <= 0)
			return -ENOMEM;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The reason for a failed SSL call. A certificate refusal also names the
 * check that failed ("certificate verify failed: unable to get local issuer
 * certificate"), which is what an operator needs to fix the PKI.
 */
static int tls_fail(struct tally_tls *t, int ssl_err, const char *what, struct tally_err *err)
{
	char why[256];
	const char *reason;
	long v;

	if (ssl_err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		reason = ossl_reason(why, sizeof(why), "unexpected end of stream");
	else
		reason = ossl_reason(why, sizeof(why), "TLS error");
	v = SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK && strstr(reason, "certificate verify failed") != NULL)
		return tally_err_set(err, -EPROTO, "%s: %s: %s", what, reason,
		                     X509_verify_cert_error_string(v));
	return tally_err_set(err, -EPROTO, "%s: %s", what, reason);
}

int tally_tls_handshake(struct tally_tls *t, struct tally_err *err)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1)
		return 1;
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	return tls_fail(t, e, "TLS handshake", err);
}

ssize_t tally_tls_read(struct tally_tls *t, uint8_t *buf, size_t cap, struct tally_err *err)
{
	size_t n = 0;
	int e;

	if (cap == 0)
		return 0;
	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;
	ERR_clear_error();
	if (SSL_read_ex(t->ssl, buf, cap, &n) == 1)
		return (ssize_t)n;
	e = SSL_get_error(t->ssl, 0);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		tally_err_set(err, -EPIPE, "TLS: peer closed the connection");
		return -EPIPE;
	default:
		return tls_fail(t, e, "TLS read", err);
	}
}

int tally_tls_write(struct tally_tls *t, const uint8_t *data, size_t len, struct tally_err *err)
{
	/*
	 * Before the handshake completes SSL_write would try to drive it and
	 * could want input we do not have; callers send only once it is done.
	 */
	if (!SSL_is_init_finished(t->ssl))
		return tally_err_set(err, -EPROTO, "TLS write: handshake not complete");
	while (len > 0) {
		size_t n = 0;
		int e;

		ERR_clear_error();
		if (SSL_write_ex(t->ssl, data, len, &n) != 1) {
			/* The output BIO grows, so "want" here is a broken state. */
			e = SSL_get_error(t->ssl, 0);
			return tls_fail(t, e, "TLS write", err);
		}
		data += n;
		len -= n;
	}
	return 0;
}

void tally_tls_shutdown(struct tally_tls *t)
{
	/* A close_notify only makes sense on an established connection. */
	if (SSL_is_init_finished(t->ssl))
		(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

size_t tally_tls_out_pending(const struct tally_tls *t)
{
	return BIO_ctrl_pending(t->out);
}

size_t tally_tls_take_out(struct tally_tls *t, uint8_t *buf, size_t cap)
{
	int n;

	if (cap == 0)
		return 0;
	n = BIO_read(t->out, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	return n > 0 ? (size_t)n : 0;
}

int tally_tls_peer_cn(const struct tally_tls *t, char ret[TALLY_ID_MAX])
{
	X509 *peer = SSL_get0_peer_certificate(t->ssl);
	const X509_NAME *subject;
	unsigned char *utf8 = NULL;
	int idx, len, r;

	/* Only a certificate that passed verification names anyone. */
	if (peer == NULL || SSL_get_verify_result(t->ssl) != X509_V_OK)
		return -ENOENT;
	subject = X509_get_subject_name(peer);
	idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (idx < 0)
		return -ENOENT;
	/* Two CNs would make the identity depend on which one a reader picks. */
	if (X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0)
		return -EINVAL;
	len =
	    ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
	if (len < 0)
		return -EINVAL;
	/* An embedded NUL would let "KZ-71\0evil" pass as "KZ-71". */
	if (len == 0 || len > TALLY_ID_MAX - 1 || memchr(utf8, '\0', (size_t)len) != NULL) {
		r = -EINVAL;
		goto out;
	}
	memcpy(ret, utf8, (size_t)len);
	ret[len] = '\0';
	r = 0;
out:
	OPENSSL_free(utf8);
	return r;
}
