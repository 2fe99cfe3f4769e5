/*
 * Tests for keyring.c: a folder of region keys loads and is searchable by
 * key id, rotation files add keys, and every bad file fails the load with
 * its name in the message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "tally/keyring.h"

static char dir[256];

static void setup(void)
{
	cr_assert_eq(tally_sign_init(), 0);
	strcpy(dir, "/tmp/tally-test-keyring-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(keyring, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* Writes a fresh key's public PEM as `name` and returns the key. */
static struct tally_public_key write_key(const char *name)
{
	struct tally_signing_key k;
	struct tally_public_key pub;
	char *pem;

	tally_sign_generate(&k);
	pub = k.pub;
	cr_assert_eq(tally_sign_public_to_pem(&k.pub, &pem), 0);
	write_file(name, pem);
	free(pem);
	tally_sign_key_wipe(&k);
	return pub;
}

/* The load fails and the message is "<dir>/<file><rest>". */
static void expect_load_error(int code, const char *file, const char *rest)
{
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};
	char expected[1024];

	cr_assert_eq(tally_keyring_load(dir, &k, &err), code);
	cr_assert_null(k);
	snprintf(expected, sizeof(expected), "%s/%s%s", dir, file, rest);
	cr_assert_str_eq(err.msg, expected);
}

Test(keyring, loads_regions_and_rotation_keys)
{
	struct tally_public_key astana = write_key("KZ-71.pem");
	struct tally_public_key abai = write_key("KZ-10.pem");
	struct tally_public_key abai_next = write_key("KZ-10.2026-03.pem");
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};
	const struct tally_trusted_key *t;

	write_file("README", "not a key");
	write_file("KZ-11.pem.bak", "not a key either");
	cr_assert_eq(tally_keyring_load(dir, &k, &err), 0, "%s", err.msg);
	cr_assert_eq(tally_keyring_count(k), 3);

	t = tally_keyring_find(k, astana.key_id);
	cr_assert_not_null(t);
	cr_assert_str_eq(t->region_id, "KZ-71");
	cr_assert_eq(memcmp(t->key.pk, astana.pk, 32), 0);
	t = tally_keyring_find(k, abai.key_id);
	cr_assert_not_null(t);
	cr_assert_str_eq(t->region_id, "KZ-10");
	t = tally_keyring_find(k, abai_next.key_id);
	cr_assert_not_null(t);
	cr_assert_str_eq(t->region_id, "KZ-10");
	cr_assert_str_eq(t->key.key_id, abai_next.key_id);

	cr_assert_null(tally_keyring_find(
	    k, "0000000000000000000000000000000000000000000000000000000000000000"));
	cr_assert_null(tally_keyring_find(k, ""));

	/* at() walks every key, in key id order. */
	for (size_t i = 1; i < tally_keyring_count(k); i++)
		cr_assert_lt(strcmp(tally_keyring_at(k, i - 1)->key.key_id,
		                    tally_keyring_at(k, i)->key.key_id),
		             0);
	cr_assert_null(tally_keyring_at(k, 3));
	cr_assert_null(tally_keyring_free(k));
}

Test(keyring, openssl_made_key_loads_with_openssl_key_id)
{
	char cmd[1024], expected[80] = {0};
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};
	FILE *f;

	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout "
	         "-out KZ-79.pem && openssl pkey -pubin -in KZ-79.pem -outform DER | tail -c 32 | "
	         "sha256sum | cut -c1-64 > ../%s.id",
	         dir, strrchr(dir, '/') + 1);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.id", dir);
	f = fopen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fread(expected, 1, 64, f), 64);
	fclose(f);
	remove(cmd);
	cr_assert_eq(tally_keyring_load(dir, &k, &err), 0, "%s", err.msg);
	cr_assert_eq(tally_keyring_count(k), 1);
	cr_assert_str_eq(tally_keyring_at(k, 0)->key.key_id, expected);
	cr_assert_str_eq(tally_keyring_at(k, 0)->region_id, "KZ-79");
	cr_assert_not_null(tally_keyring_find(k, expected));
	tally_keyring_free(k);
}

Test(keyring, empty_folder_is_an_empty_keyring)
{
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_keyring_load(dir, &k, &err), 0);
	cr_assert_eq(tally_keyring_count(k), 0);
	cr_assert_null(tally_keyring_find(k, "ab"));
	tally_keyring_free(k);
}

Test(keyring, missing_folder_is_enoent)
{
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};
	char missing[300], expected[600];

	snprintf(missing, sizeof(missing), "%s/nope", dir);
	cr_assert_eq(tally_keyring_load(missing, &k, &err), -ENOENT);
	cr_assert_null(k);
	snprintf(expected, sizeof(expected), "%s: cannot open folder: No such file or directory",
	         missing);
	cr_assert_str_eq(err.msg, expected);
}

Test(keyring, non_ed25519_file_fails_naming_it)
{
	char cmd[600];

	write_key("KZ-71.pem");
	snprintf(
	    cmd, sizeof(cmd),
	    "openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -pubout "
	    "-out %s/KZ-10.pem",
	    dir);
	cr_assert_eq(system(cmd), 0);
	expect_load_error(-EINVAL, "KZ-10.pem",
	                  ": not an Ed25519 key (it is EC); make one with "
	                  "`openssl genpkey -algorithm ed25519`");
}

Test(keyring, garbage_pem_fails_naming_it)
{
	write_file("KZ-15.pem", "hello\n");
	expect_load_error(-EINVAL, "KZ-15.pem",
	                  ": not a PEM public key (expected \"-----BEGIN PUBLIC "
	                  "KEY-----\" as written by `openssl pkey -pubout`)");
}

Test(keyring, name_without_region_fails)
{
	write_key(".pem");
	expect_load_error(-EINVAL, ".pem",
	                  ": no region in the name (expected <region>.pem or "
	                  "<region>.<label>.pem)");
}

Test(keyring, same_key_for_two_regions_fails)
{
	char src[512], dst[512], cmd[1200];

	write_key("KZ-71.pem");
	snprintf(src, sizeof(src), "%s/KZ-71.pem", dir);
	snprintf(dst, sizeof(dst), "%s/KZ-75.pem", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", src, dst);
	cr_assert_eq(system(cmd), 0);

	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(tally_keyring_load(dir, &k, &err), -EINVAL);
	cr_assert_null(k);
	/* readdir order decides which file is named first; both must be named. */
	cr_assert_not_null(strstr(err.msg, "/KZ-71.pem"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "/KZ-75.pem"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, ": same key as "), "%s", err.msg);
}

Test(keyring, same_key_twice_for_one_region_counts_once)
{
	char cmd[1200];
	struct tally_public_key pub = write_key("KZ-71.pem");
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};

	snprintf(cmd, sizeof(cmd), "cp %s/KZ-71.pem %s/KZ-71.copy.pem", dir, dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(tally_keyring_load(dir, &k, &err), 0, "%s", err.msg);
	cr_assert_eq(tally_keyring_count(k), 1);
	cr_assert_str_eq(tally_keyring_find(k, pub.key_id)->region_id, "KZ-71");
	tally_keyring_free(k);
}

Test(keyring, folder_named_like_a_key_is_skipped)
{
	char p[512];
	struct tally_keyring *k = NULL;
	struct tally_err err = {{0}};

	write_key("KZ-71.pem");
	snprintf(p, sizeof(p), "%s/KZ-99.pem", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	cr_assert_eq(tally_keyring_load(dir, &k, &err), 0, "%s", err.msg);
	cr_assert_eq(tally_keyring_count(k), 1);
	tally_keyring_free(k);
}
