/*
 * sign.c: Ed25519 keys and signatures. OpenSSL parses and writes the PEM
 * forms operators make with `openssl genpkey -algorithm ed25519` (PKCS#8)
 * and `openssl pkey -pubout` (SubjectPublicKeyInfo); the raw key bytes are
 * then handed to libsodium, which signs and verifies. Key ids and hashes
 * are SHA-256. Raw secret bytes are wiped as soon as they are not needed.
 * Nothing here logs: loaders describe problems in a struct tally_err.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "tally/sign.h"

/* Larger than any PEM key; bounds what a mistaken path can make us read. */
#define PEM_FILE_MAX (64 * 1024)

int tally_sign_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void tally_sign_key_id(const uint8_t pk[TALLY_PK_BYTES], char ret[TALLY_KEY_ID_LEN + 1])
{
	uint8_t h[TALLY_HASH_BYTES];

	tally_sha256(pk, TALLY_PK_BYTES, h);
	tally_hex(h, sizeof(h), ret);
}

/* Never prompt on a terminal for an encrypted key: a daemon has no one to ask. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Says why `pkey` is not an Ed25519 key, naming the type OpenSSL found. */
static int check_ed25519(EVP_PKEY *pkey, const char *what, struct tally_err *err)
{
	const char *type;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519)
		return 0;
	type = EVP_PKEY_get0_type_name(pkey);
	return tally_err_set(err, -EINVAL,
	                     "%s: not an Ed25519 key (it is %s); make one with "
	                     "`openssl genpkey -algorithm ed25519`",
	                     what, type ? type : "of an unknown type");
}

/*
 * Parses PEM text into an Ed25519 EVP_PKEY: a PKCS#8 private key when
 * `secret`, else a SubjectPublicKeyInfo public key. The caller frees
 * *ret and clears OpenSSL's error queue.
 */
static int pkey_from_pem(const char *pem, size_t len, bool secret, const char *what, EVP_PKEY **ret,
                         struct tally_err *err)
{
	BIO *bio;
	EVP_PKEY *pkey;
	int rc;

	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return -ENOMEM;
	pkey = secret ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL)
	              : PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return tally_err_set(err, -EINVAL, "%s: not a PEM %s", what,
		                     secret
		                         ? "private key (expected \"-----BEGIN PRIVATE KEY-----\" "
		                           "as written by `openssl genpkey -algorithm ed25519`)"
		                         : "public key (expected \"-----BEGIN PUBLIC KEY-----\" "
		                           "as written by `openssl pkey -pubout`)");
	rc = check_ed25519(pkey, what, err);
	if (rc < 0) {
		EVP_PKEY_free(pkey);
		return rc;
	}
	*ret = pkey;
	return 0;
}

static int private_from_pem(const char *pem, size_t len, const char *what,
                            struct tally_signing_key *ret, struct tally_err *err)
{
	EVP_PKEY *pkey = NULL;
	uint8_t seed[32];
	size_t seed_len = sizeof(seed);
	struct tally_signing_key k;
	int rc;

	rc = pkey_from_pem(pem, len, true, what, &pkey, err);
	if (rc < 0)
		goto out;
	if (EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) != 1 || seed_len != sizeof(seed)) {
		rc = tally_err_set(err, -EINVAL, "%s: cannot read the raw Ed25519 private key",
		                   what);
		goto out;
	}
	/* libsodium's secret key is seed || public key, derived from the seed. */
	crypto_sign_seed_keypair(k.pub.pk, k.sk, seed);
	tally_sign_key_id(k.pub.pk, k.pub.key_id);
	*ret = k;
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&k, sizeof(k));
	EVP_PKEY_free(pkey);
	/* Leave no stale errors for the next OpenSSL user (the TLS code). */
	ERR_clear_error();
	return rc;
}

static int public_from_pem(const char *pem, size_t len, const char *what,
                           struct tally_public_key *ret, struct tally_err *err)
{
	EVP_PKEY *pkey = NULL;
	struct tally_public_key k;
	size_t pk_len = sizeof(k.pk);
	int rc;

	rc = pkey_from_pem(pem, len, false, what, &pkey, err);
	if (rc < 0)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pkey, k.pk, &pk_len) != 1 || pk_len != sizeof(k.pk)) {
		rc =
		    tally_err_set(err, -EINVAL, "%s: cannot read the raw Ed25519 public key", what);
		goto out;
	}
	tally_sign_key_id(k.pk, k.key_id);
	*ret = k;
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

/*
 * Reads a whole (small) file into a NUL-terminated buffer. The caller
 * wipes and frees it: for a private key it holds the secret.
 */
static int read_pem_file(const char *path, char **ret, size_t *ret_len, struct tally_err *err)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int rc;

	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		return tally_err_set(err, rc, "%s: cannot open: %s", path, strerror(-rc));
	}
	buf = malloc(PEM_FILE_MAX + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, PEM_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = tally_err_set(err, -EIO, "%s: read error", path);
		goto out;
	}
	if (n > PEM_FILE_MAX) {
		rc = tally_err_set(err, -EINVAL, "%s: too large for a PEM key (over %d bytes)",
		                   path, PEM_FILE_MAX);
		goto out;
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, PEM_FILE_MAX + 1);
		free(buf);
	}
	fclose(f);
	return rc;
}

/*
 * Reads the PEM file at path as a private key into *ret_private when that
 * is given, else as a public key into *ret_public. The file's bytes are
 * wiped for either kind: a private key given where a public one belongs (a
 * mistaken path) is still a secret.
 */
static int load_pem(const char *path, struct tally_signing_key *ret_private,
                    struct tally_public_key *ret_public, struct tally_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	rc = read_pem_file(path, &pem, &len, err);
	if (rc < 0)
		return rc;
	if (ret_private != NULL)
		rc = private_from_pem(pem, len, path, ret_private, err);
	else
		rc = public_from_pem(pem, len, path, ret_public, err);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

int tally_sign_load_private(const char *path, struct tally_signing_key *ret, struct tally_err *err)
{
	return load_pem(path, ret, NULL, err);
}

int tally_sign_load_public(const char *path, struct tally_public_key *ret, struct tally_err *err)
{
	return load_pem(path, NULL, ret, err);
}

int tally_sign_private_from_pem(const char *pem, struct tally_signing_key *ret,
                                struct tally_err *err)
{
	return private_from_pem(pem, strlen(pem), "PEM text", ret, err);
}

int tally_sign_public_from_pem(const char *pem, struct tally_public_key *ret, struct tally_err *err)
{
	return public_from_pem(pem, strlen(pem), "PEM text", ret, err);
}

int tally_sign_generate(struct tally_signing_key *ret)
{
	crypto_sign_keypair(ret->pub.pk, ret->sk);
	tally_sign_key_id(ret->pub.pk, ret->pub.key_id);
	return 0;
}

/* Copies a memory BIO's contents into a NUL-terminated malloc'd string. */
static int bio_to_string(BIO *bio, char **ret)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *s;

	if (n <= 0)
		return -EIO;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return -ENOMEM;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*ret = s;
	return 0;
}

/*
 * Writes pkey (may be NULL: the raw key was refused) as PEM into a malloc'd
 * string: PKCS#8 through a secure-heap BIO when `secret`, so the buffer
 * holding the PEM secret is cleansed when freed, else SubjectPublicKeyInfo.
 */
static int pkey_to_pem(EVP_PKEY *pkey, bool secret, char **ret)
{
	BIO *bio = NULL;
	int ok, rc;

	if (pkey == NULL) {
		rc = -EINVAL;
		goto out;
	}
	bio = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem());
	if (bio == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ok = secret ? PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
	            : PEM_write_bio_PUBKEY(bio, pkey);
	if (ok != 1) {
		rc = -EIO;
		goto out;
	}
	rc = bio_to_string(bio, ret);
out:
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

int tally_sign_private_to_pem(const struct tally_signing_key *k, char **ret)
{
	/* The first 32 bytes of libsodium's secret key are the RFC 8032 seed. */
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->sk, 32);
	int rc = pkey_to_pem(pkey, true, ret);

	EVP_PKEY_free(pkey);
	return rc;
}

int tally_sign_public_to_pem(const struct tally_public_key *k, char **ret)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->pk, TALLY_PK_BYTES);
	int rc = pkey_to_pem(pkey, false, ret);

	EVP_PKEY_free(pkey);
	return rc;
}

void tally_sign_sign(const struct tally_signing_key *k, const uint8_t *msg, size_t len,
                     uint8_t ret_sig[TALLY_SIG_BYTES])
{
	crypto_sign_ed25519_detached(ret_sig, NULL, msg, len, k->sk);
}

int tally_sign_verify(const struct tally_public_key *k, const uint8_t *msg, size_t len,
                      const uint8_t *sig, size_t sig_len)
{
	if (sig == NULL || sig_len != TALLY_SIG_BYTES)
		return -EBADMSG;
	if (crypto_sign_ed25519_verify_detached(sig, msg, len, k->pk) != 0)
		return -EBADMSG;
	return 0;
}

void tally_sign_key_wipe(struct tally_signing_key *k)
{
	if (k != NULL)
		sodium_memzero(k, sizeof(*k));
}
