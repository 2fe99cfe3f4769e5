/*
 * test_merkle.c: the log's Merkle tree against the Certificate Transparency
 * reference vectors and against a second, deliberately naive implementation
 * of RFC 9162 2.1 written here from the definitions (MTH 2.1.1, PATH 2.1.3.1,
 * SUBPROOF 2.1.4.1), hashing with libsodium rather than OpenSSL (which
 * sha256.c uses) so the two share no code. Every size 1..64, every index and every (first, second).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "tally/merkle.h"

#define H   TALLY_HASH_BYTES
#define MAX 64

typedef uint8_t hash_t[H];

/* ---- the reference: recursive, straight from the RFC text ---- */

static void ref_sha(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *c,
                    size_t clen, uint8_t out[H])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, alen);
	crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_update(&st, c, clen);
	crypto_hash_sha256_final(&st, out);
}

static void ref_leaf(const uint8_t *d, size_t len, uint8_t out[H])
{
	static const uint8_t zero = 0x00;

	ref_sha(&zero, 1, d, len, NULL, 0, out);
}

static void ref_node(const uint8_t l[H], const uint8_t r[H], uint8_t out[H])
{
	static const uint8_t one = 0x01;

	ref_sha(&one, 1, l, H, r, H, out);
}

static uint64_t ref_k(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* MTH(D[n]) over leaf hashes D. */
static void ref_mth(hash_t *d, uint64_t n, uint8_t out[H])
{
	uint8_t l[H], r[H];
	uint64_t k;

	if (n == 0) {
		ref_sha(NULL, 0, NULL, 0, NULL, 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], H);
		return;
	}
	k = ref_k(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	ref_node(l, r, out);
}

/* PATH(m, D[n]) appended to out. */
static void ref_path(uint64_t m, hash_t *d, uint64_t n, hash_t *out, size_t *on)
{
	uint64_t k;

	if (n == 1)
		return;
	k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, out, on);
		ref_mth(d + k, n - k, out[(*on)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, on);
		ref_mth(d, k, out[(*on)++]);
	}
}

/* SUBPROOF(m, D[n], b) appended to out. */
static void ref_subproof(uint64_t m, hash_t *d, uint64_t n, bool b, hash_t *out, size_t *on)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, n, out[(*on)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, out, on);
		ref_mth(d + k, n - k, out[(*on)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, false, out, on);
		ref_mth(d, k, out[(*on)++]);
	}
}

/* ---- fixtures ---- */

static hash_t leaves[MAX];
static struct tally_merkle *tree;

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void build_tree(void)
{
	cr_assert_eq(tally_merkle_new(&tree), 0);
	for (int i = 0; i < MAX; i++) {
		/* Leaves of varied length and content, so no two hash alike. */
		uint8_t data[40];
		size_t len = (size_t)(i % 37) + 1;

		for (size_t j = 0; j < len; j++)
			data[j] = (uint8_t)(i * 31 + j * 7);
		ref_leaf(data, len, leaves[i]);
		cr_assert_eq(tally_merkle_append(tree, leaves[i]), 0);
	}
}

static void free_tree(void)
{
	tree = tally_merkle_free(tree);
}

/* ---- Certificate Transparency reference vectors ---- */

static const char *ct_leaves[] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *ct_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static struct tally_merkle *ct_tree(void)
{
	struct tally_merkle *m;

	cr_assert_eq(tally_merkle_new(&m), 0);
	for (size_t i = 0; i < 8; i++) {
		uint8_t d[16], h[H];
		size_t len = strlen(ct_leaves[i]) / 2;

		unhex(ct_leaves[i], d, len);
		tally_merkle_leaf_hash(d, len, h);
		cr_assert_eq(tally_merkle_append(m, h), 0);
	}
	return m;
}

static void assert_path(hash_t *got, size_t n, const char **want, size_t wn, const char *what)
{
	cr_assert_eq(n, wn, "%s: %zu hashes, want %zu", what, n, wn);
	for (size_t i = 0; i < n; i++) {
		uint8_t w[H];

		unhex(want[i], w, H);
		cr_assert_arr_eq(got[i], w, H, "%s: hash %zu differs", what, i);
	}
}

Test(merkle, ct_reference_roots_for_sizes_0_to_8)
{
	struct tally_merkle *m = ct_tree();

	for (uint64_t n = 0; n <= 8; n++) {
		uint8_t got[H], want[H];

		unhex(ct_roots[n], want, H);
		cr_assert_eq(tally_merkle_root(m, n, got), 0);
		cr_assert_arr_eq(got, want, H, "root of size %llu", (unsigned long long)n);
	}
	tally_merkle_free(m);
}

Test(merkle, ct_reference_inclusion_and_consistency_proofs)
{
	struct tally_merkle *m = ct_tree();
	static const char *incl0[] = {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	};
	static const char *incl5[] = {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	};
	static const char *cons2[] = {
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	};
	static const char *cons6[] = {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	};
	hash_t path[TALLY_MERKLE_MAX_PATH];
	uint8_t leaf[H], r2[H], r6[H], r8[H];
	size_t n;

	unhex(ct_roots[2], r2, H);
	unhex(ct_roots[6], r6, H);
	unhex(ct_roots[8], r8, H);

	cr_assert_eq(tally_merkle_inclusion(m, 0, 8, path, &n), 0);
	assert_path(path, n, incl0, 3, "inclusion 0/8");
	cr_assert_eq(tally_merkle_leaf(m, 0, leaf), 0);
	cr_assert_eq(tally_merkle_verify_inclusion(leaf, 0, 8, (const hash_t *)path, n, r8), 0);

	cr_assert_eq(tally_merkle_inclusion(m, 5, 8, path, &n), 0);
	assert_path(path, n, incl5, 3, "inclusion 5/8");
	cr_assert_eq(tally_merkle_leaf(m, 5, leaf), 0);
	cr_assert_eq(tally_merkle_verify_inclusion(leaf, 5, 8, (const hash_t *)path, n, r8), 0);

	cr_assert_eq(tally_merkle_consistency(m, 2, 8, path, &n), 0);
	assert_path(path, n, cons2, 2, "consistency 2->8");
	cr_assert_eq(tally_merkle_verify_consistency(2, 8, r2, r8, (const hash_t *)path, n), 0);

	cr_assert_eq(tally_merkle_consistency(m, 6, 8, path, &n), 0);
	assert_path(path, n, cons6, 3, "consistency 6->8");
	cr_assert_eq(tally_merkle_verify_consistency(6, 8, r6, r8, (const hash_t *)path, n), 0);
	tally_merkle_free(m);
}

Test(merkle, leaf_and_node_hash_match_libsodium)
{
	uint8_t a[H], b[H], x[H], y[H];
	static const uint8_t data[] = "a leaf";

	tally_merkle_leaf_hash(data, sizeof(data) - 1, a);
	ref_leaf(data, sizeof(data) - 1, b);
	cr_assert_arr_eq(a, b, H);
	tally_merkle_node_hash(a, leaves[0], x);
	ref_node(b, leaves[0], y);
	cr_assert_arr_eq(x, y, H);
	/* Output may alias an input. */
	tally_merkle_node_hash(a, leaves[0], a);
	cr_assert_arr_eq(a, y, H);
}

/* ---- against the reference, every size ---- */

Test(merkle, roots_match_reference_for_every_size, .init = build_tree, .fini = free_tree)
{
	cr_assert_eq(tally_merkle_size(tree), MAX);
	for (uint64_t n = 0; n <= MAX; n++) {
		uint8_t got[H], want[H];

		ref_mth(leaves, n, want);
		cr_assert_eq(tally_merkle_root(tree, n, got), 0);
		cr_assert_arr_eq(got, want, H, "root of size %llu", (unsigned long long)n);
	}
}

Test(merkle, roots_grow_with_the_tree)
{
	struct tally_merkle *m;

	/* The current root must be right after every single append too. */
	cr_assert_eq(tally_merkle_new(&m), 0);
	for (int i = 0; i < MAX; i++) {
		uint8_t got[H], want[H], h[H];
		uint8_t d = (uint8_t)i;

		ref_leaf(&d, 1, leaves[i]);
		cr_assert_eq(tally_merkle_append(m, leaves[i]), 0);
		cr_assert_eq(tally_merkle_leaf(m, (uint64_t)i, h), 0);
		cr_assert_arr_eq(h, leaves[i], H);
		ref_mth(leaves, (uint64_t)i + 1, want);
		cr_assert_eq(tally_merkle_root(m, (uint64_t)i + 1, got), 0);
		cr_assert_arr_eq(got, want, H, "root after %d appends", i + 1);
	}
	tally_merkle_free(m);
}

Test(merkle, inclusion_proofs_match_reference_and_verify, .init = build_tree, .fini = free_tree)
{
	unsigned checked = 0;

	for (uint64_t n = 1; n <= MAX; n++) {
		uint8_t root[H], other_root[H];

		ref_mth(leaves, n, root);
		if (n < MAX)
			ref_mth(leaves, n + 1, other_root);
		for (uint64_t i = 0; i < n; i++) {
			hash_t got[TALLY_MERKLE_MAX_PATH], want[TALLY_MERKLE_MAX_PATH];
			hash_t bad[TALLY_MERKLE_MAX_PATH + 1];
			size_t gn = 0, wn = 0;

			cr_assert_eq(tally_merkle_inclusion(tree, i, n, got, &gn), 0);
			ref_path(i, leaves, n, want, &wn);
			cr_assert_eq(gn, wn, "path length %llu/%llu", (unsigned long long)i,
			             (unsigned long long)n);
			for (size_t j = 0; j < gn; j++)
				cr_assert_arr_eq(got[j], want[j], H, "path %llu/%llu hash %zu",
				                 (unsigned long long)i, (unsigned long long)n, j);
			cr_assert_eq(tally_merkle_verify_inclusion(leaves[i], i, n,
			                                           (const hash_t *)got, gn, root),
			             0, "verify %llu/%llu", (unsigned long long)i,
			             (unsigned long long)n);

			/* Every hash of the path matters. */
			for (size_t j = 0; j < gn; j++) {
				memcpy(bad, got, gn * H);
				bad[j][j % H] ^= 0x40;
				cr_assert_eq(tally_merkle_verify_inclusion(
				                 leaves[i], i, n, (const hash_t *)bad, gn, root),
				             -EBADMSG);
			}
			/* Another leaf, index, size, root; a short or long path. */
			cr_assert_eq(tally_merkle_verify_inclusion(leaves[(i + 1) % MAX], i, n,
			                                           (const hash_t *)got, gn, root),
			             -EBADMSG);
			if (n > 1)
				cr_assert_eq(tally_merkle_verify_inclusion(leaves[i], (i + 1) % n,
				                                           n, (const hash_t *)got,
				                                           gn, root),
				             -EBADMSG);
			if (n < MAX)
				cr_assert_eq(tally_merkle_verify_inclusion(leaves[i], i, n + 1,
				                                           (const hash_t *)got, gn,
				                                           other_root),
				             -EBADMSG);
			cr_assert_eq(tally_merkle_verify_inclusion(leaves[i], n, n,
			                                           (const hash_t *)got, gn, root),
			             -EBADMSG);
			memcpy(bad, root, H);
			bad[0][31] ^= 1;
			cr_assert_eq(tally_merkle_verify_inclusion(leaves[i], i, n,
			                                           (const hash_t *)got, gn, bad[0]),
			             -EBADMSG);
			if (gn > 0)
				cr_assert_eq(tally_merkle_verify_inclusion(leaves[i], i, n,
				                                           (const hash_t *)got,
				                                           gn - 1, root),
				             -EBADMSG);
			memcpy(bad, got, gn * H);
			memset(bad[gn], 0xab, H);
			cr_assert_eq(tally_merkle_verify_inclusion(
			                 leaves[i], i, n, (const hash_t *)bad, gn + 1, root),
			             -EBADMSG);
			checked++;
		}
	}
	cr_assert_eq(checked, MAX * (MAX + 1) / 2);
}

Test(merkle, consistency_proofs_match_reference_and_verify, .init = build_tree, .fini = free_tree)
{
	hash_t roots[MAX + 1];
	unsigned checked = 0;

	for (uint64_t n = 0; n <= MAX; n++)
		ref_mth(leaves, n, roots[n]);
	for (uint64_t second = 1; second <= MAX; second++) {
		for (uint64_t first = 1; first <= second; first++) {
			hash_t got[TALLY_MERKLE_MAX_PATH], want[TALLY_MERKLE_MAX_PATH];
			hash_t bad[TALLY_MERKLE_MAX_PATH + 1];
			size_t gn = 0, wn = 0;

			cr_assert_eq(tally_merkle_consistency(tree, first, second, got, &gn), 0);
			ref_subproof(first, leaves, second, true, want, &wn);
			cr_assert_eq(gn, wn, "proof length %llu->%llu", (unsigned long long)first,
			             (unsigned long long)second);
			for (size_t j = 0; j < gn; j++)
				cr_assert_arr_eq(got[j], want[j], H, "proof %llu->%llu hash %zu",
				                 (unsigned long long)first,
				                 (unsigned long long)second, j);
			cr_assert_eq(tally_merkle_verify_consistency(first, second, roots[first],
			                                             roots[second],
			                                             (const hash_t *)got, gn),
			             0, "verify %llu->%llu", (unsigned long long)first,
			             (unsigned long long)second);
			checked++;

			if (first == second) {
				cr_assert_eq(gn, 0);
				cr_assert_eq(tally_merkle_verify_consistency(
				                 first, second, roots[first], roots[first - 1],
				                 (const hash_t *)got, 0),
				             -EBADMSG);
				continue;
			}
			for (size_t j = 0; j < gn; j++) {
				memcpy(bad, got, gn * H);
				bad[j][(j * 5) % H] ^= 0x80;
				cr_assert_eq(tally_merkle_verify_consistency(
				                 first, second, roots[first], roots[second],
				                 (const hash_t *)bad, gn),
				             -EBADMSG, "tampered hash %zu of %llu->%llu", j,
				             (unsigned long long)first, (unsigned long long)second);
			}
			/* A rewritten history: the old root is not a prefix. */
			memcpy(bad[0], roots[first], H);
			bad[0][3] ^= 1;
			cr_assert_eq(tally_merkle_verify_consistency(first, second, bad[0],
			                                             roots[second],
			                                             (const hash_t *)got, gn),
			             -EBADMSG);
			cr_assert_eq(tally_merkle_verify_consistency(first, second, roots[first],
			                                             roots[second - 1],
			                                             (const hash_t *)got, gn),
			             -EBADMSG);
			/* Sizes that do not belong to this proof. */
			if (second < MAX)
				cr_assert_eq(tally_merkle_verify_consistency(
				                 first, second + 1, roots[first], roots[second + 1],
				                 (const hash_t *)got, gn),
				             -EBADMSG);
			cr_assert_eq(tally_merkle_verify_consistency(second, first, roots[second],
			                                             roots[first],
			                                             (const hash_t *)got, gn),
			             -EBADMSG);
			cr_assert_eq(tally_merkle_verify_consistency(first, second, roots[first],
			                                             roots[second],
			                                             (const hash_t *)got, gn - 1),
			             -EBADMSG);
			memcpy(bad, got, gn * H);
			memset(bad[gn], 0xcd, H);
			cr_assert_eq(tally_merkle_verify_consistency(first, second, roots[first],
			                                             roots[second],
			                                             (const hash_t *)bad, gn + 1),
			             -EBADMSG);
		}
	}
	cr_assert_eq(checked, MAX * (MAX + 1) / 2);
}

Test(merkle, out_of_range_requests_are_refused, .init = build_tree, .fini = free_tree)
{
	hash_t path[TALLY_MERKLE_MAX_PATH];
	uint8_t h[H];
	size_t n;

	cr_assert_eq(tally_merkle_leaf(tree, MAX, h), -ERANGE);
	cr_assert_eq(tally_merkle_root(tree, MAX + 1, h), -ERANGE);
	cr_assert_eq(tally_merkle_inclusion(tree, 5, 5, path, &n), -ERANGE);
	cr_assert_eq(tally_merkle_inclusion(tree, 0, 0, path, &n), -ERANGE);
	cr_assert_eq(tally_merkle_inclusion(tree, 0, MAX + 1, path, &n), -ERANGE);
	cr_assert_eq(tally_merkle_consistency(tree, 0, 5, path, &n), -ERANGE);
	cr_assert_eq(tally_merkle_consistency(tree, 6, 5, path, &n), -ERANGE);
	cr_assert_eq(tally_merkle_consistency(tree, 5, MAX + 1, path, &n), -ERANGE);
	/* No proof from the empty tree. */
	ref_mth(leaves, 0, h);
	cr_assert_eq(tally_merkle_verify_consistency(0, 4, h, h, (const hash_t *)path, 0),
	             -EBADMSG);
}

Test(merkle, empty_tree_root_is_sha256_of_nothing)
{
	struct tally_merkle *m;
	uint8_t got[H], want[H];

	cr_assert_eq(tally_merkle_new(&m), 0);
	cr_assert_eq(tally_merkle_size(m), 0);
	cr_assert_eq(tally_merkle_root(m, 0, got), 0);
	unhex(ct_roots[0], want, H);
	cr_assert_arr_eq(got, want, H);
	cr_assert_eq(tally_merkle_root(m, 1, got), -ERANGE);
	cr_assert_null(tally_merkle_free(m));
	cr_assert_null(tally_merkle_free(NULL));
}

Test(merkle, large_tree_root_and_a_deep_proof)
{
	enum { N = 100003 };
	hash_t *d = malloc(sizeof(hash_t) * N);
	hash_t path[TALLY_MERKLE_MAX_PATH], want[TALLY_MERKLE_MAX_PATH];
	struct tally_merkle *m;
	uint8_t got[H], ref[H];
	size_t n = 0, wn = 0;

	cr_assert_not_null(d);
	cr_assert_eq(tally_merkle_new(&m), 0);
	for (uint32_t i = 0; i < N; i++) {
		tally_merkle_leaf_hash((const uint8_t *)&i, sizeof(i), d[i]);
		cr_assert_eq(tally_merkle_append(m, d[i]), 0);
	}
	ref_mth(d, N, ref);
	cr_assert_eq(tally_merkle_root(m, N, got), 0);
	cr_assert_arr_eq(got, ref, H);
	cr_assert_eq(tally_merkle_inclusion(m, 77777, N, path, &n), 0);
	ref_path(77777, d, N, want, &wn);
	cr_assert_eq(n, wn);
	cr_assert_arr_eq(path, want, n * H);
	cr_assert_eq(
	    tally_merkle_verify_inclusion(d[77777], 77777, N, (const hash_t *)path, n, ref), 0);
	cr_assert_eq(tally_merkle_consistency(m, 65537, N, path, &n), 0);
	ref_mth(d, 65537, got);
	cr_assert_eq(tally_merkle_verify_consistency(65537, N, got, ref, (const hash_t *)path, n),
	             0);
	tally_merkle_free(m);
	free(d);
}
