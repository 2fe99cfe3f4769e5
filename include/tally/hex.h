/*
 * hex.h: lowercase hex of bytes and back. Pure.
 */
#ifndef TALLY_HEX_H
#define TALLY_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of `len` bytes into ret (2*len+1 bytes). */
void tally_hex(const uint8_t *data, size_t len, char *ret);
/* Parses exactly 2*len hex digits; -EINVAL otherwise. */
int tally_unhex(const char *hex, uint8_t *ret, size_t len);
/* The value of one hex digit (either case), or -1. */
int tally_hex_digit(char c);

#endif
