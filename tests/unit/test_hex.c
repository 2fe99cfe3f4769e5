/*
 * test_hex.c: hex.c, every digit both ways and the refusals.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tally/hex.h"

Test(hex, every_byte_round_trips)
{
	uint8_t all[256], back[256];
	char text[2 * 256 + 1];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	tally_hex(all, sizeof(all), text);
	cr_assert_eq(strlen(text), 512);
	cr_assert_eq(strncmp(text, "000102", 6), 0);
	cr_assert_str_eq(text + 506, "fdfeff");
	cr_assert_eq(tally_unhex(text, back, sizeof(back)), 0);
	cr_assert_arr_eq(back, all, sizeof(all));
}

Test(hex, digits_of_either_case_and_nothing_else)
{
	for (int c = 0; c < 256; c++) {
		int want = c >= '0' && c <= '9'   ? c - '0'
		           : c >= 'a' && c <= 'f' ? c - 'a' + 10
		           : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                  : -1;
		cr_assert_eq(tally_hex_digit((char)c), want, "character %d", c);
	}
}

Test(hex, unhex_refuses_wrong_length_and_non_digits)
{
	uint8_t b[2];

	cr_assert_eq(tally_unhex("0aFF", b, 2), 0);
	cr_assert_eq(b[0], 0x0a);
	cr_assert_eq(b[1], 0xff);
	cr_assert_eq(tally_unhex("0aF", b, 2), -EINVAL);
	cr_assert_eq(tally_unhex("0aFFF", b, 2), -EINVAL);
	cr_assert_eq(tally_unhex("0g00", b, 2), -EINVAL);
	cr_assert_eq(tally_unhex(NULL, b, 2), -EINVAL);
}
