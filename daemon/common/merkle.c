/*
 * merkle.c: the append-only Merkle tree of the public log (RFC 9162 section
 * 2.1). It owns the hash of every complete, aligned subtree: level k holds
 * the hashes of leaves [i*2^k, (i+1)*2^k) for every i with that range inside
 * the tree, so level 0 is the leaf hashes and all levels together hold fewer
 * than 2n hashes. Any MTH(D[start:start+len]) the RFC's recursion asks for is
 * a complete subtree on its left and a shorter recursion on its right, so
 * roots and proofs for every past size cost O(log n) lookups and hashes.
 * It does no I/O: the aggregator feeds it leaves from its store, observers
 * from a bundle; both read hashes back out.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tally/merkle.h"
#include "tally/sha256.h"

#define LEVELS 64

/* One level: `n` hashes in a buffer of `cap`. */
struct level {
	uint8_t (*h)[TALLY_HASH_BYTES];
	uint64_t n;
	uint64_t cap;
};

/* Owned by whoever made it with tally_merkle_new(). */
struct tally_merkle {
	struct level lv[LEVELS];
	uint64_t size;
};

int tally_merkle_new(struct tally_merkle **ret)
{
	struct tally_merkle *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	*ret = m;
	return 0;
}

struct tally_merkle *tally_merkle_free(struct tally_merkle *m)
{
	if (m == NULL)
		return NULL;
	for (int k = 0; k < LEVELS; k++)
		free(m->lv[k].h);
	free(m);
	return NULL;
}

void tally_merkle_leaf_hash(const uint8_t *leaf, size_t len, uint8_t ret[TALLY_HASH_BYTES])
{
	tally_sha256_prefixed(0x00, leaf, len, ret);
}

void tally_merkle_node_hash(const uint8_t left[TALLY_HASH_BYTES],
                            const uint8_t right[TALLY_HASH_BYTES], uint8_t ret[TALLY_HASH_BYTES])
{
	uint8_t buf[1 + 2 * TALLY_HASH_BYTES];

	/* Copy first: ret may alias left or right. */
	buf[0] = 0x01;
	memcpy(buf + 1, left, TALLY_HASH_BYTES);
	memcpy(buf + 1 + TALLY_HASH_BYTES, right, TALLY_HASH_BYTES);
	tally_sha256(buf, sizeof(buf), ret);
}

/* Makes room for one more hash on l. 0 or -ENOMEM. */
static int level_reserve(struct level *l)
{
	uint64_t cap;
	void *p;

	if (l->n < l->cap)
		return 0;
	/* Grow by half: keeps the slack near the "2 hashes per leaf" budget. */
	cap = l->cap < 16 ? 16 : l->cap + l->cap / 2;
	if (cap > SIZE_MAX / TALLY_HASH_BYTES)
		return -ENOMEM;
	p = realloc(l->h, (size_t)cap * TALLY_HASH_BYTES);
	if (p == NULL)
		return -ENOMEM;
	l->h = p;
	l->cap = cap;
	return 0;
}

int tally_merkle_append(struct tally_merkle *m, const uint8_t leaf_hash[TALLY_HASH_BYTES])
{
	uint8_t h[TALLY_HASH_BYTES];
	int k, r;

	/*
	 * Make room on every level the new leaf reaches before touching any,
	 * so a failed allocation leaves the tree as it was. Level k+1 gains an
	 * entry only when level k becomes even.
	 */
	for (k = 0; k < LEVELS; k++) {
		r = level_reserve(&m->lv[k]);
		if (r < 0)
			return r;
		if ((m->lv[k].n & 1) == 0)
			break;
	}

	memcpy(h, leaf_hash, TALLY_HASH_BYTES);
	for (k = 0; k < LEVELS; k++) {
		struct level *l = &m->lv[k];

		memcpy(l->h[l->n++], h, TALLY_HASH_BYTES);
		if ((l->n & 1) != 0)
			break;
		tally_merkle_node_hash(l->h[l->n - 2], l->h[l->n - 1], h);
	}
	m->size++;
	return 0;
}

uint64_t tally_merkle_size(const struct tally_merkle *m)
{
	return m->size;
}

int tally_merkle_leaf(const struct tally_merkle *m, uint64_t index, uint8_t ret[TALLY_HASH_BYTES])
{
	if (index >= m->size)
		return -ERANGE;
	memcpy(ret, m->lv[0].h[index], TALLY_HASH_BYTES);
	return 0;
}

/* Largest power of two strictly below n (n >= 2), as RFC 9162 2.1.1's k. */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	assert(n >= 2);
	while (k << 1 < n)
		k <<= 1;
	return k;
}

static int log2_exact(uint64_t n)
{
	int k = 0;

	while ((UINT64_C(1) << k) < n)
		k++;
	return k;
}

/*
 * MTH(D[start:start+len]) for a range the recursion can reach: start is a
 * multiple of the largest power of two not above len's left part, so every
 * left part is a stored complete subtree.
 */
static void subtree_hash(const struct tally_merkle *m, uint64_t start, uint64_t len,
                         uint8_t ret[TALLY_HASH_BYTES])
{
	uint8_t stack[LEVELS][TALLY_HASH_BYTES];
	int depth = 0;

	if (len == 0) {
		tally_sha256(NULL, 0, ret);
		return;
	}
	/* Walk down the right spine, remembering each complete left part. */
	while ((len & (len - 1)) != 0) {
		uint64_t k = split_point(len);
		int lvl = log2_exact(k);

		assert(start % k == 0);
		memcpy(stack[depth++], m->lv[lvl].h[start >> lvl], TALLY_HASH_BYTES);
		start += k;
		len -= k;
	}
	{
		int lvl = log2_exact(len);

		assert(start % len == 0);
		memcpy(ret, m->lv[lvl].h[start >> lvl], TALLY_HASH_BYTES);
	}
	while (depth > 0)
		tally_merkle_node_hash(stack[--depth], ret, ret);
}

int tally_merkle_root(const struct tally_merkle *m, uint64_t size, uint8_t ret[TALLY_HASH_BYTES])
{
	if (size > m->size)
		return -ERANGE;
	subtree_hash(m, 0, size, ret);
	return 0;
}

/* Reverses n hashes in place: the walks below collect top-down, RFC order is bottom-up. */
static void reverse(uint8_t (*p)[TALLY_HASH_BYTES], size_t n)
{
	uint8_t t[TALLY_HASH_BYTES];

	for (size_t i = 0; i < n / 2; i++) {
		memcpy(t, p[i], TALLY_HASH_BYTES);
		memcpy(p[i], p[n - 1 - i], TALLY_HASH_BYTES);
		memcpy(p[n - 1 - i], t, TALLY_HASH_BYTES);
	}
}

int tally_merkle_inclusion(const struct tally_merkle *m, uint64_t index, uint64_t size,
                           uint8_t (*ret_path)[TALLY_HASH_BYTES], size_t *ret_n)
{
	uint64_t start = 0, len = size, idx = index;
	size_t n = 0;

	if (size > m->size || index >= size)
		return -ERANGE;
	/*
	 * RFC 9162 2.1.3.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when
	 * m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]). The sibling found at
	 * each step goes after the deeper path, so collect and reverse.
	 */
	while (len > 1) {
		uint64_t k = split_point(len);

		assert(n < TALLY_MERKLE_MAX_PATH);
		if (idx < k) {
			subtree_hash(m, start + k, len - k, ret_path[n++]);
			len = k;
		} else {
			subtree_hash(m, start, k, ret_path[n++]);
			start += k;
			idx -= k;
			len -= k;
		}
	}
	reverse(ret_path, n);
	*ret_n = n;
	return 0;
}

int tally_merkle_consistency(const struct tally_merkle *m, uint64_t first, uint64_t second,
                             uint8_t (*ret_path)[TALLY_HASH_BYTES], size_t *ret_n)
{
	uint64_t start = 0, len = second, mm = first;
	bool whole = true;
	size_t n = 0;

	if (second > m->size || first > second || first == 0)
		return -ERANGE;
	/*
	 * RFC 9162 2.1.4.1: SUBPROOF(m, D[n], b). Siblings are appended after
	 * the deeper subproof, and the base case's MTH(D[m]) (when b is false)
	 * comes first of all: collect top-down, then the base, then reverse.
	 */
	while (mm != len) {
		uint64_t k = split_point(len);

		assert(n < TALLY_MERKLE_MAX_PATH);
		if (mm <= k) {
			subtree_hash(m, start + k, len - k, ret_path[n++]);
			len = k;
		} else {
			subtree_hash(m, start, k, ret_path[n++]);
			start += k;
			mm -= k;
			len -= k;
			whole = false;
		}
	}
	if (!whole)
		subtree_hash(m, start, len, ret_path[n++]);
	reverse(ret_path, n);
	*ret_n = n;
	return 0;
}

int tally_merkle_verify_inclusion(const uint8_t leaf_hash[TALLY_HASH_BYTES], uint64_t index,
                                  uint64_t size, const uint8_t (*path)[TALLY_HASH_BYTES], size_t n,
                                  const uint8_t root[TALLY_HASH_BYTES])
{
	uint8_t r[TALLY_HASH_BYTES];
	uint64_t fn, sn;

	/* RFC 9162 2.1.3.2, step by step. */
	if (index >= size)
		return -EBADMSG;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, TALLY_HASH_BYTES);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) != 0 || fn == sn) {
			tally_merkle_node_hash(path[i], r, r);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			tally_merkle_node_hash(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || sodium_memcmp(r, root, TALLY_HASH_BYTES) != 0)
		return -EBADMSG;
	return 0;
}

int tally_merkle_verify_consistency(uint64_t first, uint64_t second,
                                    const uint8_t first_root[TALLY_HASH_BYTES],
                                    const uint8_t second_root[TALLY_HASH_BYTES],
                                    const uint8_t (*path)[TALLY_HASH_BYTES], size_t n)
{
	uint8_t fr[TALLY_HASH_BYTES], sr[TALLY_HASH_BYTES];
	const uint8_t *c;
	uint64_t fn, sn;
	size_t i = 0;

	/*
	 * No proof exists from the empty tree (first == 0): there is nothing
	 * to be consistent with, and the caller should not ask.
	 */
	if (first == 0 || first > second)
		return -EBADMSG;
	/* Equal sizes: the proof is empty and the roots must match. */
	if (first == second) {
		if (n != 0 || sodium_memcmp(first_root, second_root, TALLY_HASH_BYTES) != 0)
			return -EBADMSG;
		return 0;
	}
	/* RFC 9162 2.1.4.2. Step 1: an empty path proves nothing. */
	if (n == 0)
		return -EBADMSG;
	/*
	 * Step 2: when first is a power of two its root is a node of the second
	 * tree and the proof leaves it out; start from it instead of path[0].
	 */
	if ((first & (first - 1)) == 0)
		c = first_root;
	else
		c = path[i++];
	/* Steps 3-5. */
	fn = first - 1;
	sn = second - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, c, TALLY_HASH_BYTES);
	memcpy(sr, c, TALLY_HASH_BYTES);
	/* Step 6. */
	for (; i < n; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) != 0 || fn == sn) {
			tally_merkle_node_hash(path[i], fr, fr);
			tally_merkle_node_hash(path[i], sr, sr);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			tally_merkle_node_hash(sr, path[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 7. */
	if (sn != 0 || sodium_memcmp(fr, first_root, TALLY_HASH_BYTES) != 0 ||
	    sodium_memcmp(sr, second_root, TALLY_HASH_BYTES) != 0)
		return -EBADMSG;
	return 0;
}
