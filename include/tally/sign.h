/*
 * sign.h: Ed25519 keys and signatures. Keys are read from PEM as
 * `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write them
 * (OpenSSL does the parsing); signing and verification use libsodium.
 * A key id is the lowercase hex SHA-256 of the raw 32-byte public key.
 */
#ifndef TALLY_SIGN_H
#define TALLY_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "tally/err.h"
#include "tally/result.h"
#include "tally/hex.h"    /* key ids are printed in hex */
#include "tally/sha256.h" /* key ids are SHA-256 */

struct tally_public_key {
	uint8_t pk[TALLY_PK_BYTES];
	char key_id[TALLY_KEY_ID_LEN + 1];
};

/* Secret material: wipe with tally_sign_key_wipe() when done. */
struct tally_signing_key {
	uint8_t sk[64]; /* libsodium form: seed || public key */
	struct tally_public_key pub;
};

/* Must be called once before any other function here (sodium_init). */
int tally_sign_init(void);

/* Hex SHA-256 of pk into ret (65 bytes with NUL). */
void tally_sign_key_id(const uint8_t pk[TALLY_PK_BYTES], char ret[TALLY_KEY_ID_LEN + 1]);

/*
 * Loaders. Return 0; -ENOENT/-EACCES (file), -EINVAL (not PEM, not Ed25519:
 * err says which, with the path). `pem` variants parse a NUL-terminated
 * string.
 */
int tally_sign_load_private(const char *path, struct tally_signing_key *ret, struct tally_err *err);
int tally_sign_load_public(const char *path, struct tally_public_key *ret, struct tally_err *err);
int tally_sign_private_from_pem(const char *pem, struct tally_signing_key *ret,
                                struct tally_err *err);
int tally_sign_public_from_pem(const char *pem, struct tally_public_key *ret,
                               struct tally_err *err);

/* Fresh random key. */
int tally_sign_generate(struct tally_signing_key *ret);
/* PEM text (PKCS#8 private / SubjectPublicKeyInfo public); caller frees. */
int tally_sign_private_to_pem(const struct tally_signing_key *k, char **ret);
int tally_sign_public_to_pem(const struct tally_public_key *k, char **ret);

/* k's Ed25519 signature over msg[0..len). Cannot fail. */
void tally_sign_sign(const struct tally_signing_key *k, const uint8_t *msg, size_t len,
                     uint8_t ret_sig[TALLY_SIG_BYTES]);
/* 0 if sig (sig_len must be 64) is k's signature over msg; -EBADMSG if not. */
int tally_sign_verify(const struct tally_public_key *k, const uint8_t *msg, size_t len,
                      const uint8_t *sig, size_t sig_len);

/* Overwrites the secret (and the rest of k) with zeros. Takes NULL. */
void tally_sign_key_wipe(struct tally_signing_key *k);

#endif
