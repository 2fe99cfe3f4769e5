/*
 * hex.c: lowercase hex of bytes and back: key ids, hashes and roots as the
 * documents, logs and tallyctl print them, and the %XX of URL paths. Pure.
 */
#include <errno.h>
#include <string.h>

#include "tally/hex.h"

void tally_hex(const uint8_t *data, size_t len, char *ret)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		ret[2 * i] = digits[data[i] >> 4];
		ret[2 * i + 1] = digits[data[i] & 0xf];
	}
	ret[2 * len] = '\0';
}

int tally_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tally_unhex(const char *hex, uint8_t *ret, size_t len)
{
	if (hex == NULL || strlen(hex) != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = tally_hex_digit(hex[2 * i]), lo = tally_hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		ret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
