/*
 * sha256.h: SHA-256 for the hashes the log and its store compute on every
 * result (payload hashes, RFC 9162 leaf and node hashes, key ids). Pure:
 * no I/O, thread-safe, cannot fail.
 */
#ifndef TALLY_SHA256_H
#define TALLY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"

/* SHA-256(data[0..len)). */
void tally_sha256(const uint8_t *data, size_t len, uint8_t ret[TALLY_HASH_BYTES]);
/* SHA-256(prefix || data[0..len)): the RFC 9162 leaf hash takes prefix 0x00. */
void tally_sha256_prefixed(uint8_t prefix, const uint8_t *data, size_t len,
                           uint8_t ret[TALLY_HASH_BYTES]);

#endif
