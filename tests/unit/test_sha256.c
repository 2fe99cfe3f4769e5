/*
 * test_sha256.c: sha256.c (OpenSSL) against the FIPS 180-2 example digests
 * and against libsodium's independent implementation at every length from
 * 0 to 300 bytes (every block boundary the log's messages cross), with and
 * without the one-byte prefix of the RFC 9162 leaf hash.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "tally/sha256.h"
#include "tally/sign.h"

#define H TALLY_HASH_BYTES

static void assert_hex(const uint8_t d[H], const char *want)
{
	char hex[2 * H + 1];

	tally_hex(d, H, hex);
	cr_assert_str_eq(hex, want);
}

Test(sha256, fips_180_2_examples)
{
	static const char two_block[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[H];

	tally_sha256((const uint8_t *)"abc", 3, d);
	assert_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	tally_sha256((const uint8_t *)two_block, strlen(two_block), d);
	assert_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	tally_sha256(NULL, 0, d);
	assert_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* The prefix is hashed as the message's first byte. */
	tally_sha256_prefixed('a', (const uint8_t *)"bc", 2, d);
	assert_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	tally_sha256_prefixed('a', NULL, 0, d);
	assert_hex(d, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
}

Test(sha256, matches_libsodium_at_every_length_to_300)
{
	uint8_t msg[1 + 300], got[H], want[H];

	cr_assert_geq(sodium_init(), 0);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 131 + 7);
	for (size_t len = 0; len <= 300; len++) {
		tally_sha256(msg + 1, len, got);
		crypto_hash_sha256(want, msg + 1, len);
		cr_assert_arr_eq(got, want, H, "length %zu", len);
		tally_sha256_prefixed(msg[0], msg + 1, len, got);
		crypto_hash_sha256(want, msg, len + 1);
		cr_assert_arr_eq(got, want, H, "prefixed, length %zu", len);
	}
}
