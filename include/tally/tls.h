/*
 * tls.h: TLS 1.3 with mutual authentication over memory BIOs, so the libuv
 * glue (aggregator session.c, node uplink.c) moves ciphertext and this
 * module never touches a socket.
 *
 * Contexts: TLS 1.3 only; the peer's certificate is required and verified
 * against the election CA. Servers ask for a client certificate and refuse a
 * handshake without one; clients check the server certificate's name
 * against server_name.
 */
#ifndef TALLY_TLS_H
#define TALLY_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tally/err.h"
#include "tally/result.h"

/* Return 0, -ENOENT (a file), -EINVAL (err: which file and OpenSSL's reason). */
int tally_tls_server_ctx(const char *ca, const char *cert, const char *key, SSL_CTX **ret,
                         struct tally_err *err);
int tally_tls_client_ctx(const char *ca, const char *cert, const char *key, SSL_CTX **ret,
                         struct tally_err *err);

/*
 * When the certificate ctx presents expires (its notAfter), in seconds since
 * 1970, for the daemons' metrics. 0, -ENOENT (ctx has no certificate),
 * -EINVAL (a time OpenSSL cannot convert).
 */
int tally_tls_ctx_not_after(const SSL_CTX *ctx, int64_t *ret);

/* One connection. Owns its SSL and BIOs; holds a reference on the SSL_CTX. */
struct tally_tls;

/* server_name: client side only (SNI and host name check); NULL on a server. */
int tally_tls_new(SSL_CTX *ctx, bool server, const char *server_name, struct tally_tls **ret);
struct tally_tls *tally_tls_free(struct tally_tls *t);

/* Ciphertext that arrived from the socket. 0 or -ENOMEM. */
int tally_tls_feed(struct tally_tls *t, const uint8_t *data, size_t len);

/*
 * Advances the handshake. 1 when complete, 0 while it needs more input
 * (send what tally_tls_take_out() yields meanwhile), -EPROTO on failure with
 * err holding OpenSSL's reason (e.g. "certificate verify failed").
 */
int tally_tls_handshake(struct tally_tls *t, struct tally_err *err);

/*
 * Decrypted application bytes into buf. >0 bytes read, 0 nothing available
 * yet, -EPIPE when the peer closed (close_notify), -EPROTO on a TLS error.
 */
ssize_t tally_tls_read(struct tally_tls *t, uint8_t *buf, size_t cap, struct tally_err *err);

/* Encrypts plaintext into the outgoing buffer. 0, -EPROTO. */
int tally_tls_write(struct tally_tls *t, const uint8_t *data, size_t len, struct tally_err *err);

/* Queues a close_notify. */
void tally_tls_shutdown(struct tally_tls *t);

/* Bytes of ciphertext waiting to be sent. */
size_t tally_tls_out_pending(const struct tally_tls *t);
/* Moves up to cap bytes of waiting ciphertext into buf; returns the count. */
size_t tally_tls_take_out(struct tally_tls *t, uint8_t *buf, size_t cap);

/* Subject CN of the verified peer certificate. 0, -ENOENT (none). */
int tally_tls_peer_cn(const struct tally_tls *t, char ret[TALLY_ID_MAX]);

#endif
