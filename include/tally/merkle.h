/*
 * merkle.h: the append-only Merkle tree of the public log, hashed as
 * RFC 9162 section 2.1 says: leaf hash SHA-256(0x00 || leaf), node hash
 * SHA-256(0x01 || left || right), empty tree SHA-256(""). Keeps the hash of
 * every complete subtree in memory (about 2 * 32 bytes per leaf), so roots
 * and proofs for any earlier size come in O(log n). Pure.
 */
#ifndef TALLY_MERKLE_H
#define TALLY_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"

/* Longest inclusion / consistency path for any tree below 2^64 leaves. */
#define TALLY_MERKLE_MAX_PATH 128

struct tally_merkle; /* opaque */

/* An empty tree. 0 or -ENOMEM. */
int tally_merkle_new(struct tally_merkle **ret);
/* Takes NULL; returns NULL. */
struct tally_merkle *tally_merkle_free(struct tally_merkle *m);

/* RFC 9162 leaf hash SHA-256(0x00 || leaf) and node hash SHA-256(0x01 || left || right). */
void tally_merkle_leaf_hash(const uint8_t *leaf, size_t len, uint8_t ret[TALLY_HASH_BYTES]);
void tally_merkle_node_hash(const uint8_t left[TALLY_HASH_BYTES],
                            const uint8_t right[TALLY_HASH_BYTES], uint8_t ret[TALLY_HASH_BYTES]);

/* Appends a leaf by its leaf hash. 0 or -ENOMEM. */
int tally_merkle_append(struct tally_merkle *m, const uint8_t leaf_hash[TALLY_HASH_BYTES]);
uint64_t tally_merkle_size(const struct tally_merkle *m);
/* The leaf hash at index; -ERANGE past the end. */
int tally_merkle_leaf(const struct tally_merkle *m, uint64_t index, uint8_t ret[TALLY_HASH_BYTES]);

/* Root of the first `size` leaves. -ERANGE if size > tree size. */
int tally_merkle_root(const struct tally_merkle *m, uint64_t size, uint8_t ret[TALLY_HASH_BYTES]);

/*
 * RFC 9162 2.1.3 inclusion proof of leaf `index` in the tree of `size`, and
 * 2.1.4 consistency proof between sizes first <= second. ret_path holds
 * TALLY_MERKLE_MAX_PATH entries. -ERANGE for indexes or sizes out of range
 * (index >= size, size > tree size, first > second, first == 0).
 */
int tally_merkle_inclusion(const struct tally_merkle *m, uint64_t index, uint64_t size,
                           uint8_t (*ret_path)[TALLY_HASH_BYTES], size_t *ret_n);
int tally_merkle_consistency(const struct tally_merkle *m, uint64_t first, uint64_t second,
                             uint8_t (*ret_path)[TALLY_HASH_BYTES], size_t *ret_n);

/* Observer side (RFC 9162 2.1.3.2 and 2.1.4.2). 0 if the proof holds, -EBADMSG if not. */
int tally_merkle_verify_inclusion(const uint8_t leaf_hash[TALLY_HASH_BYTES], uint64_t index,
                                  uint64_t size, const uint8_t (*path)[TALLY_HASH_BYTES], size_t n,
                                  const uint8_t root[TALLY_HASH_BYTES]);
int tally_merkle_verify_consistency(uint64_t first, uint64_t second,
                                    const uint8_t first_root[TALLY_HASH_BYTES],
                                    const uint8_t second_root[TALLY_HASH_BYTES],
                                    const uint8_t (*path)[TALLY_HASH_BYTES], size_t n);

#endif
