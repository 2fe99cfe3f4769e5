/*
 * Tests for sign.c: signatures round trip and fail on any change, keys
 * made by the openssl command line load and give the same key id as
 * computed by openssl and sha256sum, and the wrong kinds of key are
 * refused with a message naming the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tally/sign.h"

static char dir[256];

static void setup(void)
{
	char cmd[1024];

	cr_assert_eq(tally_sign_init(), 0);
	strcpy(dir, "/tmp/tally-test-sign-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl genpkey -algorithm ed25519 -out sign.key 2>/dev/null"
	         " && openssl pkey -in sign.key -pubout -out sign.pub.pem 2>/dev/null"
	         " && openssl pkey -in sign.key -pubout -outform DER 2>/dev/null"
	         "    | tail -c 32 | sha256sum | cut -c1-64 > key_id.txt"
	         " && openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null"
	         "    | openssl pkcs8 -topk8 -nocrypt -out ec.key 2>/dev/null"
	         " && openssl pkey -in ec.key -pubout -out ec.pub.pem 2>/dev/null"
	         " && echo 'not a key' > junk.pem",
	         dir);
	cr_assert_eq(system(cmd), 0, "openssl failed: %s", cmd);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void path_of(char *out, const char *name)
{
	snprintf(out, 512, "%s/%s", dir, name);
}

static void read_text(const char *name, char *out, size_t cap)
{
	char p[512];
	FILE *f;
	size_t n;

	path_of(p, name);
	f = fopen(p, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

TestSuite(sign, .init = setup, .fini = teardown);

Test(sign, round_trip)
{
	struct tally_signing_key k;
	const uint8_t msg[] = "precinct 4711 revision 1";
	uint8_t sig[64];

	cr_assert_eq(tally_sign_generate(&k), 0);
	tally_sign_sign(&k, msg, sizeof(msg), sig);
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 64), 0);
	/* Ed25519 is deterministic. */
	uint8_t sig2[64];
	tally_sign_sign(&k, msg, sizeof(msg), sig2);
	cr_assert_eq(memcmp(sig, sig2, 64), 0);
	tally_sign_key_wipe(&k);
	for (size_t i = 0; i < sizeof(k.sk); i++)
		cr_assert_eq(k.sk[i], 0);
}

Test(sign, tampered_payload_fails)
{
	struct tally_signing_key k;
	uint8_t msg[32] = "ballots_cast=1390";
	uint8_t sig[64];

	tally_sign_generate(&k);
	tally_sign_sign(&k, msg, sizeof(msg), sig);
	for (size_t i = 0; i < sizeof(msg); i++) {
		msg[i] ^= 1;
		cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 64), -EBADMSG);
		msg[i] ^= 1;
	}
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg) - 1, sig, 64), -EBADMSG);
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 64), 0);
}

Test(sign, tampered_signature_fails)
{
	struct tally_signing_key k;
	const uint8_t msg[] = "payload";
	uint8_t sig[64];

	tally_sign_generate(&k);
	tally_sign_sign(&k, msg, sizeof(msg), sig);
	for (size_t i = 0; i < 64; i++) {
		sig[i] ^= 0x80;
		cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 64), -EBADMSG,
		             "byte %zu", i);
		sig[i] ^= 0x80;
	}
}

Test(sign, wrong_key_fails)
{
	struct tally_signing_key a, b;
	const uint8_t msg[] = "payload";
	uint8_t sig[64];

	tally_sign_generate(&a);
	tally_sign_generate(&b);
	cr_assert_str_neq(a.pub.key_id, b.pub.key_id);
	tally_sign_sign(&a, msg, sizeof(msg), sig);
	cr_assert_eq(tally_sign_verify(&b.pub, msg, sizeof(msg), sig, 64), -EBADMSG);
}

Test(sign, wrong_signature_length_fails)
{
	struct tally_signing_key k;
	const uint8_t msg[] = "payload";
	uint8_t sig[65] = {0};

	tally_sign_generate(&k);
	tally_sign_sign(&k, msg, sizeof(msg), sig);
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 63), -EBADMSG);
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 65), -EBADMSG);
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), sig, 0), -EBADMSG);
	cr_assert_eq(tally_sign_verify(&k.pub, msg, sizeof(msg), NULL, 64), -EBADMSG);
}

Test(sign, loads_openssl_keys_and_key_id_matches_openssl)
{
	struct tally_signing_key k;
	struct tally_public_key pub;
	struct tally_err err = {{0}};
	char p[512], expected[128];

	path_of(p, "sign.key");
	cr_assert_eq(tally_sign_load_private(p, &k, &err), 0, "%s", err.msg);
	path_of(p, "sign.pub.pem");
	cr_assert_eq(tally_sign_load_public(p, &pub, &err), 0, "%s", err.msg);
	read_text("key_id.txt", expected, sizeof(expected));
	expected[64] = '\0';
	cr_assert_eq(strlen(expected), 64);
	cr_assert_str_eq(pub.key_id, expected);
	cr_assert_str_eq(k.pub.key_id, expected);
	cr_assert_eq(memcmp(k.pub.pk, pub.pk, 32), 0);

	/* A signature by the loaded private key verifies with the loaded public one. */
	const uint8_t msg[] = "x";
	uint8_t sig[64];
	tally_sign_sign(&k, msg, 1, sig);
	cr_assert_eq(tally_sign_verify(&pub, msg, 1, sig, 64), 0);
	tally_sign_key_wipe(&k);
}

Test(sign, openssl_verifies_our_signature)
{
	struct tally_signing_key k;
	struct tally_err err = {{0}};
	char p[512], cmd[2048];
	const uint8_t msg[] = "signed by tally, checked by openssl";
	uint8_t sig[64];
	FILE *f;

	path_of(p, "sign.key");
	cr_assert_eq(tally_sign_load_private(p, &k, &err), 0, "%s", err.msg);
	tally_sign_sign(&k, msg, sizeof(msg) - 1, sig);
	path_of(p, "msg.bin");
	f = fopen(p, "wb");
	fwrite(msg, 1, sizeof(msg) - 1, f);
	fclose(f);
	path_of(p, "msg.sig");
	f = fopen(p, "wb");
	fwrite(sig, 1, 64, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl pkeyutl -verify -pubin -inkey sign.pub.pem -rawin"
	         " -in msg.bin -sigfile msg.sig >/dev/null 2>&1",
	         dir);
	cr_assert_eq(system(cmd), 0);
	tally_sign_key_wipe(&k);
}

Test(sign, pem_writers_round_trip_through_openssl)
{
	struct tally_signing_key k, back;
	struct tally_public_key pub;
	struct tally_err err = {{0}};
	char *priv_pem, *pub_pem;

	tally_sign_generate(&k);
	cr_assert_eq(tally_sign_private_to_pem(&k, &priv_pem), 0);
	cr_assert_eq(tally_sign_public_to_pem(&k.pub, &pub_pem), 0);
	cr_assert_eq(strncmp(priv_pem, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
	cr_assert_eq(strncmp(pub_pem, "-----BEGIN PUBLIC KEY-----\n", 27), 0);
	cr_assert_eq(tally_sign_private_from_pem(priv_pem, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(back.sk, k.sk, 64), 0);
	cr_assert_str_eq(back.pub.key_id, k.pub.key_id);
	cr_assert_eq(tally_sign_public_from_pem(pub_pem, &pub, &err), 0, "%s", err.msg);
	cr_assert_str_eq(pub.key_id, k.pub.key_id);

	/* openssl itself derives the same public key from our private PEM. */
	char p[512], cmd[1024], out[1024];
	path_of(p, "ours.key");
	FILE *f = fopen(p, "w");
	fputs(priv_pem, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && openssl pkey -in ours.key -pubout > ours.pub", dir);
	cr_assert_eq(system(cmd), 0);
	read_text("ours.pub", out, sizeof(out));
	cr_assert_str_eq(out, pub_pem);
	free(priv_pem);
	free(pub_pem);
	tally_sign_key_wipe(&k);
	tally_sign_key_wipe(&back);
}

Test(sign, ec_key_is_refused_naming_the_file)
{
	struct tally_signing_key k;
	struct tally_public_key pub;
	struct tally_err err = {{0}};
	char p[512], expected[1024];

	path_of(p, "ec.key");
	cr_assert_eq(tally_sign_load_private(p, &k, &err), -EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s: not an Ed25519 key (it is EC); make one with "
	         "`openssl genpkey -algorithm ed25519`",
	         p);
	cr_assert_str_eq(err.msg, expected);

	path_of(p, "ec.pub.pem");
	cr_assert_eq(tally_sign_load_public(p, &pub, &err), -EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s: not an Ed25519 key (it is EC); make one with "
	         "`openssl genpkey -algorithm ed25519`",
	         p);
	cr_assert_str_eq(err.msg, expected);
}

Test(sign, not_pem_and_swapped_kinds_are_einval)
{
	struct tally_signing_key k;
	struct tally_public_key pub;
	struct tally_err err = {{0}};
	char p[512], expected[1024];

	path_of(p, "junk.pem");
	cr_assert_eq(tally_sign_load_public(p, &pub, &err), -EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s: not a PEM public key (expected \"-----BEGIN PUBLIC KEY-----\" as written by "
	         "`openssl pkey -pubout`)",
	         p);
	cr_assert_str_eq(err.msg, expected);

	/* A public key where a private one belongs. */
	path_of(p, "sign.pub.pem");
	cr_assert_eq(tally_sign_load_private(p, &k, &err), -EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s: not a PEM private key (expected \"-----BEGIN PRIVATE KEY-----\" as written "
	         "by `openssl genpkey -algorithm ed25519`)",
	         p);
	cr_assert_str_eq(err.msg, expected);
}

Test(sign, missing_file_is_enoent)
{
	struct tally_public_key pub;
	struct tally_err err = {{0}};
	char p[512], expected[1024];

	path_of(p, "nope.pem");
	cr_assert_eq(tally_sign_load_public(p, &pub, &err), -ENOENT);
	snprintf(expected, sizeof(expected), "%s: cannot open: No such file or directory", p);
	cr_assert_str_eq(err.msg, expected);
}
