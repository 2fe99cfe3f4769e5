/*
 * test_tls.c: a server and a client tally_tls talking through memory, with a
 * throwaway PKI made once per run by tests/unit/data/mkcerts.sh: the
 * handshake, the peer's identity, data both ways, and every refusal that
 * keeps a stranger out (foreign CA, no certificate, wrong name, old TLS).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tally/tls.h"

/* The PKI folder, made in the runner before any test and passed by env. */
#define PKI_ENV "TALLY_TEST_TLS_PKI"

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	static char dir[] = "/tmp/tally-tls-XXXXXX";
	char cmd[512];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "/bin/sh %s/tests/unit/data/mkcerts.sh %s", TALLY_SOURCE_DIR,
	         dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "mkcerts.sh failed\n");
		exit(1);
	}
	setenv(PKI_ENV, dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	const char *dir = getenv(PKI_ENV);

	if (dir != NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *pki(const char *name)
{
	/* A ring of buffers so one call can take several paths. */
	static char ring[8][PATH_MAX];
	static int next;
	char *p = ring[next++ % 8];
	const char *dir = getenv(PKI_ENV);

	cr_assert_not_null(dir, "PKI not made");
	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static SSL_CTX *server_ctx(void)
{
	SSL_CTX *ctx = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(
	    tally_tls_server_ctx(pki("ca.pem"), pki("server.pem"), pki("server.key"), &ctx, &err),
	    0, "%s", err.msg);
	return ctx;
}

static SSL_CTX *client_ctx_from(const char *ca, const char *name)
{
	SSL_CTX *ctx = NULL;
	struct tally_err err = {{0}};
	char cert[64], key[64];

	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	cr_assert_eq(tally_tls_client_ctx(pki(ca), pki(cert), pki(key), &ctx, &err), 0, "%s",
	             err.msg);
	return ctx;
}

/* Moves every waiting byte from a to b; returns how many. */
static size_t move(struct tally_tls *a, struct tally_tls *b)
{
	uint8_t buf[1024]; /* small, so records arrive split across feeds */
	size_t total = 0, n;

	while ((n = tally_tls_take_out(a, buf, sizeof(buf))) > 0) {
		cr_assert_eq(tally_tls_feed(b, buf, n), 0);
		total += n;
	}
	cr_assert_eq(tally_tls_out_pending(a), 0);
	return total;
}

struct pair {
	SSL_CTX *sctx, *cctx;
	struct tally_tls *s, *c;
	int rs, rc; /* last handshake results */
	struct tally_err es, ec;
};

static void pair_open(struct pair *p, SSL_CTX *sctx, SSL_CTX *cctx, const char *server_name)
{
	memset(p, 0, sizeof(*p));
	p->sctx = sctx;
	p->cctx = cctx;
	cr_assert_eq(tally_tls_new(sctx, true, NULL, &p->s), 0);
	cr_assert_eq(tally_tls_new(cctx, false, server_name, &p->c), 0);
}

/* Runs both handshakes until both finish or one fails; bounded. */
static void pair_handshake(struct pair *p)
{
	for (int round = 0; round < 50; round++) {
		if (p->rc == 0)
			p->rc = tally_tls_handshake(p->c, &p->ec);
		move(p->c, p->s);
		if (p->rs == 0)
			p->rs = tally_tls_handshake(p->s, &p->es);
		size_t moved = move(p->s, p->c);
		if (p->rs != 0 && p->rc != 0 && moved == 0)
			return;
		if ((p->rs < 0 || p->rc < 0) && moved == 0)
			return;
	}
	cr_assert_fail("handshake did not settle");
}

static void pair_close(struct pair *p)
{
	cr_assert_null(tally_tls_free(p->s));
	cr_assert_null(tally_tls_free(p->c));
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
}

/* Reads from t until want bytes arrived; the data must already be fed. */
static void read_exactly(struct tally_tls *t, uint8_t *buf, size_t want)
{
	struct tally_err err = {{0}};
	size_t got = 0;

	while (got < want) {
		ssize_t n = tally_tls_read(t, buf + got, want - got, &err);
		cr_assert_gt(n, 0, "read: %zd %s after %zu of %zu", n, err.msg, got, want);
		got += (size_t)n;
	}
	cr_assert_eq(tally_tls_read(t, buf, 1, &err), 0, "more bytes than sent");
}

Test(tls, handshake_succeeds_and_names_both_peers)
{
	struct pair p;
	char cn[TALLY_ID_MAX];

	pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "client"), "localhost");
	cr_assert_eq(tally_tls_peer_cn(p.s, cn), -ENOENT, "a CN before the handshake");
	pair_handshake(&p);
	cr_assert_eq(p.rs, 1, "server: %s", p.es.msg);
	cr_assert_eq(p.rc, 1, "client: %s", p.ec.msg);
	cr_assert_eq(tally_tls_peer_cn(p.s, cn), 0);
	cr_assert_str_eq(cn, "KZ-71");
	cr_assert_eq(tally_tls_peer_cn(p.c, cn), 0);
	cr_assert_str_eq(cn, "localhost");
	pair_close(&p);
}

Test(tls, application_data_round_trip_both_ways)
{
	struct pair p;
	struct tally_err err = {{0}};
	size_t big = 100 * 1024;
	uint8_t *msg = malloc(big), *got = malloc(big);
	uint8_t small[16];

	pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "client"), "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rs + p.rc, 2, "%s / %s", p.es.msg, p.ec.msg);
	for (size_t i = 0; i < big; i++)
		msg[i] = (uint8_t)(i * 7 + i / 251);

	/* Nothing sent yet: a read finds nothing, not an error. */
	cr_assert_eq(tally_tls_read(p.s, got, big, &err), 0);

	cr_assert_eq(tally_tls_write(p.c, msg, big, &err), 0, "%s", err.msg);
	cr_assert_gt(tally_tls_out_pending(p.c), big, "ciphertext is larger than plaintext");
	move(p.c, p.s);
	read_exactly(p.s, got, big);
	cr_assert_eq(memcmp(got, msg, big), 0);

	cr_assert_eq(tally_tls_write(p.s, (const uint8_t *)"ack 42", 6, &err), 0, "%s", err.msg);
	move(p.s, p.c);
	read_exactly(p.c, small, 6);
	cr_assert_eq(memcmp(small, "ack 42", 6), 0);

	cr_assert_eq(tally_tls_write(p.s, msg, big, &err), 0, "%s", err.msg);
	move(p.s, p.c);
	read_exactly(p.c, got, big);
	cr_assert_eq(memcmp(got, msg, big), 0);
	free(msg);
	free(got);
	pair_close(&p);
}

Test(tls, close_notify_reads_as_epipe)
{
	struct pair p;
	struct tally_err err = {{0}};
	uint8_t buf[8];

	pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "client"), "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rs + p.rc, 2, "%s / %s", p.es.msg, p.ec.msg);
	cr_assert_eq(tally_tls_write(p.c, (const uint8_t *)"bye", 3, &err), 0);
	tally_tls_shutdown(p.c);
	move(p.c, p.s);
	ssize_t n = tally_tls_read(p.s, buf, sizeof(buf), &err);
	cr_assert_eq(n, 3);
	cr_assert_eq(memcmp(buf, "bye", 3), 0);
	cr_assert_eq(tally_tls_read(p.s, buf, sizeof(buf), &err), -EPIPE);
	cr_assert_str_eq(err.msg, "TLS: peer closed the connection");
	pair_close(&p);
}

Test(tls, ec_client_certificate_works_too)
{
	struct pair p;
	char cn[TALLY_ID_MAX];

	pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "client-ec"), "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rs, 1, "server: %s", p.es.msg);
	cr_assert_eq(p.rc, 1, "client: %s", p.ec.msg);
	cr_assert_eq(tally_tls_peer_cn(p.s, cn), 0);
	cr_assert_str_eq(cn, "KZ-15");
	pair_close(&p);
}

Test(tls, server_ip_names_are_checked_against_ip_addresses)
{
	static const struct {
		const char *name;
		int ok;
	} t[] = {
	    {"127.0.0.1", 1},
	    {"::1", 1},
	    {"127.0.0.2", 0},
	    {"::2", 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pair p;
		pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "client"), t[i].name);
		pair_handshake(&p);
		if (t[i].ok) {
			cr_expect_eq(p.rc, 1, "%s: %s", t[i].name, p.ec.msg);
		} else {
			cr_expect_eq(p.rc, -EPROTO, "%s accepted", t[i].name);
			cr_expect_str_eq(
			    p.ec.msg,
			    "TLS handshake: certificate verify failed: IP address mismatch");
		}
		pair_close(&p);
	}
}

Test(tls, wrong_server_name_is_refused_by_the_client)
{
	struct pair p;

	pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "client"), "central.example.kz");
	pair_handshake(&p);
	cr_assert_eq(p.rc, -EPROTO);
	cr_assert_str_eq(p.ec.msg, "TLS handshake: certificate verify failed: hostname mismatch");
	cr_assert_neq(p.rs, 1, "server finished a handshake the client refused");
	pair_close(&p);
}

Test(tls, server_from_another_ca_is_refused_by_the_client)
{
	struct pair p;

	pair_open(&p, server_ctx(), client_ctx_from("rogue-ca.pem", "client"), "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rc, -EPROTO);
	/* The server completes its chain with the election CA, unknown here. */
	cr_assert_str_eq(p.ec.msg, "TLS handshake: certificate verify failed: self-signed "
	                           "certificate in certificate chain");
	pair_close(&p);
}

/*
 * In TLS 1.3 the client finishes before the server has judged its
 * certificate, so the refusal reaches the client as an alert on its next read.
 */
static void expect_client_alert(struct pair *p, const char *alert)
{
	struct tally_err err = {{0}};
	uint8_t buf[16];

	if (p->rc == 1) {
		cr_assert_eq(tally_tls_read(p->c, buf, sizeof(buf), &err), -EPROTO);
		cr_assert_str_eq(err.msg, alert);
	} else {
		cr_assert_eq(p->rc, -EPROTO);
	}
}

Test(tls, client_from_another_ca_is_refused)
{
	struct pair p;
	char cn[TALLY_ID_MAX];

	pair_open(&p, server_ctx(), client_ctx_from("ca.pem", "rogue-client"), "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rs, -EPROTO);
	cr_assert_str_eq(p.es.msg, "TLS handshake: certificate verify failed: unable to get local "
	                           "issuer certificate");
	cr_assert_eq(tally_tls_peer_cn(p.s, cn), -ENOENT);
	expect_client_alert(&p, "TLS read: tlsv1 alert unknown ca");
	pair_close(&p);
}

Test(tls, client_without_certificate_is_refused)
{
	struct pair p;
	SSL_CTX *bare = SSL_CTX_new(TLS_client_method());

	cr_assert_not_null(bare);
	cr_assert_eq(SSL_CTX_load_verify_locations(bare, pki("ca.pem"), NULL), 1);
	SSL_CTX_set_verify(bare, SSL_VERIFY_PEER, NULL);
	pair_open(&p, server_ctx(), bare, "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rs, -EPROTO);
	cr_assert_str_eq(p.es.msg, "TLS handshake: peer did not return a certificate");
	expect_client_alert(&p, "TLS read: tlsv13 alert certificate required");
	pair_close(&p);
}

Test(tls, server_limited_to_tls12_is_refused)
{
	struct pair p;
	SSL_CTX *old = server_ctx();

	cr_assert_eq(SSL_CTX_set_min_proto_version(old, TLS1_2_VERSION), 1);
	cr_assert_eq(SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION), 1);
	pair_open(&p, old, client_ctx_from("ca.pem", "client"), "localhost");
	pair_handshake(&p);
	cr_assert_eq(p.rc, -EPROTO);
	cr_assert_eq(p.rs, -EPROTO);
	cr_assert_str_eq(p.ec.msg, "TLS handshake: tlsv1 alert protocol version");
	cr_assert_str_eq(p.es.msg, "TLS handshake: unsupported protocol");
	pair_close(&p);
}

Test(tls, garbage_from_the_network_fails_the_handshake)
{
	SSL_CTX *ctx = server_ctx();
	struct tally_tls *s;
	struct tally_err err = {{0}};
	const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	cr_assert_eq(tally_tls_new(ctx, true, NULL, &s), 0);
	cr_assert_eq(tally_tls_handshake(s, &err), 0, "waits for input");
	cr_assert_eq(tally_tls_feed(s, (const uint8_t *)junk, sizeof(junk) - 1), 0);
	cr_assert_eq(tally_tls_handshake(s, &err), -EPROTO);
	cr_assert_str_eq(err.msg, "TLS handshake: http request");
	tally_tls_free(s);
	SSL_CTX_free(ctx);
}

Test(tls, misuse_is_refused)
{
	SSL_CTX *sctx = server_ctx(), *cctx = client_ctx_from("ca.pem", "client");
	struct tally_tls *c = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_tls_new(cctx, false, NULL, &c), -EINVAL, "client without a name");
	cr_assert_eq(tally_tls_new(cctx, false, "", &c), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(tally_tls_new(cctx, false, "localhost", &c), 0);
	cr_assert_eq(tally_tls_write(c, (const uint8_t *)"x", 1, &err), -EPROTO);
	cr_assert_str_eq(err.msg, "TLS write: handshake not complete");
	cr_assert_null(tally_tls_free(c));
	cr_assert_null(tally_tls_free(NULL));
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}

Test(tls, context_errors_name_the_file_and_reason)
{
	SSL_CTX *ctx = NULL;
	struct tally_err err = {{0}};
	char want[2 * PATH_MAX + 128];
	const char *nope = pki("nope.pem");

	cr_assert_eq(tally_tls_server_ctx(nope, pki("server.pem"), pki("server.key"), &ctx, &err),
	             -ENOENT);
	snprintf(want, sizeof(want), "CA certificate %s: No such file or directory", nope);
	cr_assert_str_eq(err.msg, want);

	cr_assert_eq(tally_tls_client_ctx(pki("ca.pem"), pki("client.pem"), nope, &ctx, &err),
	             -ENOENT);
	snprintf(want, sizeof(want), "private key %s: No such file or directory", nope);
	cr_assert_str_eq(err.msg, want);

	const char *garbage = pki("garbage.pem");
	cr_assert_eq(tally_tls_server_ctx(pki("ca.pem"), garbage, pki("server.key"), &ctx, &err),
	             -EINVAL);
	snprintf(want, sizeof(want), "certificate %s: no start line", garbage);
	cr_assert_str_eq(err.msg, want);

	cr_assert_eq(
	    tally_tls_server_ctx(garbage, pki("server.pem"), pki("server.key"), &ctx, &err),
	    -EINVAL);
	snprintf(want, sizeof(want), "CA certificate %s: no certificate or crl found", garbage);
	cr_assert_str_eq(err.msg, want);

	cr_assert_eq(tally_tls_client_ctx(pki("ca.pem"), pki("client.pem"), garbage, &ctx, &err),
	             -EINVAL);
	snprintf(want, sizeof(want), "private key %s: unsupported", garbage);
	cr_assert_str_eq(err.msg, want);

	const char *cert = pki("client.pem"), *key = pki("server.key");
	cr_assert_eq(tally_tls_client_ctx(pki("ca.pem"), cert, key, &ctx, &err), -EINVAL);
	snprintf(want, sizeof(want), "private key %s does not match certificate %s: %s", key, cert,
	         "key values mismatch");
	cr_assert_str_eq(err.msg, want);
	cr_assert_null(ctx);
}

Test(tls, peer_without_a_usable_cn_has_no_identity)
{
	static const char *const names[] = {"client-nocn", "client-longcn"};
	static const int want[] = {-ENOENT, -EINVAL};

	for (size_t i = 0; i < 2; i++) {
		struct pair p;
		char cn[TALLY_ID_MAX] = "unchanged";

		pair_open(&p, server_ctx(), client_ctx_from("ca.pem", names[i]), "localhost");
		pair_handshake(&p);
		cr_assert_eq(p.rs, 1, "%s: %s", names[i], p.es.msg);
		cr_expect_eq(tally_tls_peer_cn(p.s, cn), want[i], "%s", names[i]);
		cr_expect_str_eq(cn, "unchanged");
		pair_close(&p);
	}
}

/* notAfter as `openssl x509 -enddate` prints it ("notAfter=Nov 30 12:00:00 2026 GMT"). */
static int64_t openssl_not_after(const char *cert)
{
	char cmd[PATH_MAX + 64], line[128];
	struct tm tm;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -enddate -in %s", cert);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line), p));
	cr_assert_eq(pclose(p), 0);
	memset(&tm, 0, sizeof(tm));
	cr_assert_not_null(strptime(line, "notAfter=%b %d %H:%M:%S %Y GMT", &tm), "%s", line);
	return (int64_t)timegm(&tm);
}

Test(tls, not_after_is_the_presented_certificates_expiry)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx_from("ca.pem", "client-ec");
	SSL_CTX *bare = SSL_CTX_new(TLS_method());
	int64_t t = 0, want = openssl_not_after(pki("server.pem"));

	cr_assert_eq(tally_tls_ctx_not_after(s, &t), 0);
	cr_assert_eq(t, want, "%lld != %lld", (long long)t, (long long)want);
	/* The certificates are made for 2 days. */
	cr_assert(t > (int64_t)time(NULL) + 86400 && t <= (int64_t)time(NULL) + 2 * 86400 + 60);
	cr_assert_eq(tally_tls_ctx_not_after(c, &t), 0);
	cr_assert_eq(t, openssl_not_after(pki("client-ec.pem")));
	cr_assert_eq(tally_tls_ctx_not_after(bare, &t), -ENOENT);
	SSL_CTX_free(bare);
	SSL_CTX_free(c);
	SSL_CTX_free(s);
}
