/*
 * sha256.c: SHA-256 through OpenSSL's EVP interface. OpenSSL runs it on the
 * CPU's SHA extensions where there are any: on the 65 to 250 byte messages
 * the aggregator hashes three times per result (payload, leaf, about one
 * Merkle node) that is 2.5 to 4 times libsodium's portable code
 * (docs/benchmarks.md). The digest is fetched once; each call takes a fresh
 * context. Should OpenSSL fail (out of memory), the same digest comes from
 * libsodium, so callers never see an error.
 */
#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "tally/sha256.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_md(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); /* NULL: libsodium does it */
}

/* SHA-256(*prefix, when there is one, || data) by OpenSSL. 0 or -ENOMEM. */
static int evp_sha256(const uint8_t *prefix, const uint8_t *data, size_t len,
                      uint8_t ret[TALLY_HASH_BYTES])
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	pthread_once(&sha256_once, fetch_md);
	if (sha256_md == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	ok = EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1 &&
	     (prefix == NULL || EVP_DigestUpdate(ctx, prefix, 1) == 1) &&
	     (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) &&
	     EVP_DigestFinal_ex(ctx, ret, &n) == 1 && n == TALLY_HASH_BYTES;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

void tally_sha256(const uint8_t *data, size_t len, uint8_t ret[TALLY_HASH_BYTES])
{
	if (evp_sha256(NULL, data, len, ret) < 0)
		crypto_hash_sha256(ret, data, len);
}

void tally_sha256_prefixed(uint8_t prefix, const uint8_t *data, size_t len,
                           uint8_t ret[TALLY_HASH_BYTES])
{
	crypto_hash_sha256_state st;

	if (evp_sha256(&prefix, data, len, ret) == 0)
		return;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, ret);
}
