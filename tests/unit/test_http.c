/*
 * test_http.c: the HTTP server's pure helpers. (The server itself is
 * exercised by the integration tests with real clients and by fuzz_http.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tally/http.h"

static int decode(const char *s, char *ret, size_t cap)
{
	return http_percent_decode(s, strlen(s), ret, cap);
}

Test(percent_decode, plain_and_encoded)
{
	char out[16];
	cr_assert_eq(decode("party-list", out, sizeof(out)), 10);
	cr_assert_str_eq(out, "party-list");
	cr_assert_eq(decode("otk%3A07", out, sizeof(out)), 6);
	cr_assert_str_eq(out, "otk:07");
	cr_assert_eq(decode("%3a%2F", out, sizeof(out)), 2);
	cr_assert_str_eq(out, ":/");
	cr_assert_eq(decode("%D0%90", out, sizeof(out)), 2); /* UTF-8 bytes pass through */
	cr_assert_eq((unsigned char)out[0], 0xD0);
	cr_assert_eq((unsigned char)out[1], 0x90);
	cr_assert_eq(decode("", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
}

Test(percent_decode, refuses_broken_escapes_and_nul)
{
	char out[16];
	cr_assert_eq(decode("abc%", out, sizeof(out)), -EINVAL);
	cr_assert_eq(decode("abc%3", out, sizeof(out)), -EINVAL);
	cr_assert_eq(decode("%zz", out, sizeof(out)), -EINVAL);
	cr_assert_eq(decode("a%00b", out, sizeof(out)), -EINVAL);
}

Test(percent_decode, bounded_by_cap)
{
	char out[4];
	cr_assert_eq(decode("abc", out, sizeof(out)), 3);
	cr_assert_str_eq(out, "abc");
	cr_assert_eq(decode("abcd", out, sizeof(out)), -EINVAL);
	cr_assert_eq(decode("ab%41", out, sizeof(out)), 3);
	cr_assert_str_eq(out, "abA");
	cr_assert_eq(decode("x", out, 0), -EINVAL);
}
