/*
 * test_reconcile.c: the reconciliation rules, case by case and in
 * sequences (accept, duplicate, correction, stale, conflict, duplicate of a
 * conflicting copy, settle by a higher revision).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tally/reconcile.h"

static void hash_of(uint8_t tag, uint8_t ret[TALLY_HASH_BYTES])
{
	memset(ret, tag, TALLY_HASH_BYTES);
}

struct step {
	uint32_t revision;
	uint8_t tag; /* stands for the payload's hash */
	enum tally_outcome want;
	uint32_t held_revision;
	uint32_t held_conflicts;
};

static void run(const struct step *steps, size_t n)
{
	struct tally_slot_state st;
	struct tally_conflict_copies cc = {0};
	tally_reconcile_state_init(&st);
	cr_assert_eq(st.revision, 0);
	cr_assert_eq(st.leaf_index, -1);
	int64_t leaf = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t h[TALLY_HASH_BYTES];
		hash_of(steps[i].tag, h);
		enum tally_outcome o = tally_reconcile_decide(&st, &cc, steps[i].revision, h);
		cr_assert_eq(o, steps[i].want, "step %zu: rev %u tag %u: got %s want %s", i,
		             steps[i].revision, steps[i].tag, tally_outcome_str(o),
		             tally_outcome_str(steps[i].want));
		int64_t li =
		    (o == TALLY_OUTCOME_ACCEPTED || o == TALLY_OUTCOME_CONFLICT) ? leaf++ : -1;
		int64_t before = st.leaf_index;
		cr_assert_eq(tally_reconcile_apply(&st, &cc, o, steps[i].revision, h, li), 0);
		cr_assert_eq(st.revision, steps[i].held_revision, "step %zu", i);
		cr_assert_eq(st.n_conflicts, steps[i].held_conflicts, "step %zu", i);
		if (o == TALLY_OUTCOME_ACCEPTED) {
			cr_assert_eq(st.leaf_index, li, "step %zu", i);
			cr_assert_eq(memcmp(st.hash, h, TALLY_HASH_BYTES), 0, "step %zu", i);
		} else {
			cr_assert_eq(st.leaf_index, before, "step %zu", i);
		}
	}
	tally_conflict_copies_clear(&cc);
	cr_assert_eq(cc.hashes, NULL);
	cr_assert_eq(cc.cap, 0);
}

#define RUN(...)                                                                                   \
	do {                                                                                       \
		const struct step s_[] = {__VA_ARGS__};                                            \
		run(s_, sizeof(s_) / sizeof(s_[0]));                                               \
	} while (0)

#define ACC TALLY_OUTCOME_ACCEPTED
#define DUP TALLY_OUTCOME_DUPLICATE
#define STA TALLY_OUTCOME_STALE
#define CON TALLY_OUTCOME_CONFLICT

Test(reconcile, first_revision_is_accepted)
{
	RUN({1, 'a', ACC, 1, 0});
}

Test(reconcile, any_first_revision_is_accepted)
{
	/* A precinct whose revision 1 never arrived still counts its 3. */
	RUN({3, 'a', ACC, 3, 0});
}

Test(reconcile, same_revision_same_bytes_is_duplicate)
{
	RUN({1, 'a', ACC, 1, 0}, {1, 'a', DUP, 1, 0}, {1, 'a', DUP, 1, 0});
}

Test(reconcile, higher_revision_is_a_correction)
{
	RUN({1, 'a', ACC, 1, 0}, {2, 'b', ACC, 2, 0}, {5, 'c', ACC, 5, 0});
}

Test(reconcile, higher_revision_with_same_bytes_hash_is_still_accepted)
{
	/* Hashes differ in practice (the revision is in the payload), but the
	 * rule is on the revision first. */
	RUN({1, 'a', ACC, 1, 0}, {2, 'a', ACC, 2, 0});
}

Test(reconcile, lower_revision_is_stale)
{
	RUN({2, 'b', ACC, 2, 0}, {1, 'a', STA, 2, 0}, {1, 'z', STA, 2, 0});
}

Test(reconcile, same_revision_other_bytes_is_conflict)
{
	RUN({1, 'a', ACC, 1, 0}, {1, 'b', CON, 1, 1});
}

Test(reconcile, conflicting_copy_again_is_duplicate)
{
	RUN({1, 'a', ACC, 1, 0}, {1, 'b', CON, 1, 1}, {1, 'b', DUP, 1, 1}, {1, 'a', DUP, 1, 1});
}

Test(reconcile, several_conflicting_copies_are_kept)
{
	RUN({1, 'a', ACC, 1, 0}, {1, 'b', CON, 1, 1}, {1, 'c', CON, 1, 2}, {1, 'd', CON, 1, 3},
	    {1, 'c', DUP, 1, 3}, {1, 'd', DUP, 1, 3}, {1, 'e', CON, 1, 4});
}

Test(reconcile, higher_revision_settles_a_conflict)
{
	RUN({1, 'a', ACC, 1, 0}, {1, 'b', CON, 1, 1}, {2, 'c', ACC, 2, 0}, {1, 'b', STA, 2, 0},
	    {2, 'c', DUP, 2, 0}, {2, 'd', CON, 2, 1}, {3, 'e', ACC, 3, 0});
}

Test(reconcile, stale_during_conflict_keeps_the_flag)
{
	RUN({2, 'a', ACC, 2, 0}, {2, 'b', CON, 2, 1}, {1, 'c', STA, 2, 1});
}

Test(reconcile, decide_does_not_change_state)
{
	struct tally_slot_state st;
	struct tally_conflict_copies cc = {0};
	uint8_t a[TALLY_HASH_BYTES], b[TALLY_HASH_BYTES], c[TALLY_HASH_BYTES];
	hash_of('a', a);
	hash_of('b', b);
	hash_of('c', c);
	tally_reconcile_state_init(&st);
	cr_assert_eq(tally_reconcile_apply(&st, NULL, ACC, 4, a, 7), 0);
	cr_assert_eq(tally_reconcile_apply(&st, &cc, CON, 4, c, 8), 0);
	struct tally_slot_state copy = st;
	struct tally_conflict_copies cc_copy = cc;
	cr_assert_eq(tally_reconcile_decide(&st, &cc, 4, b), CON);
	cr_assert_eq(tally_reconcile_decide(&st, &cc, 4, c), DUP);
	cr_assert_eq(tally_reconcile_decide(&st, &cc, 9, b), ACC);
	cr_assert_eq(tally_reconcile_decide(&st, &cc, 3, b), STA);
	cr_assert_eq(memcmp(&st, &copy, sizeof(st)), 0);
	cr_assert_eq(memcmp(&cc, &cc_copy, sizeof(cc)), 0);
	/* STALE and DUPLICATE leave everything as it was. */
	cr_assert_eq(tally_reconcile_apply(&st, &cc, STA, 3, b, -1), 0);
	cr_assert_eq(tally_reconcile_apply(&st, &cc, DUP, 4, a, -1), 0);
	cr_assert_eq(memcmp(&st, &copy, sizeof(st)), 0);
	cr_assert_eq(memcmp(&cc, &cc_copy, sizeof(cc)), 0);
	tally_conflict_copies_clear(&cc);
}

Test(reconcile, a_slot_without_copies_needs_no_copies_struct)
{
	struct tally_slot_state st;
	uint8_t a[TALLY_HASH_BYTES], b[TALLY_HASH_BYTES];
	hash_of('a', a);
	hash_of('b', b);
	tally_reconcile_state_init(&st);
	cr_assert_eq(tally_reconcile_decide(&st, NULL, 1, a), ACC);
	cr_assert_eq(tally_reconcile_apply(&st, NULL, ACC, 1, a, 0), 0);
	cr_assert_eq(tally_reconcile_decide(&st, NULL, 1, a), DUP);
	cr_assert_eq(tally_reconcile_decide(&st, NULL, 1, b), CON);
	cr_assert_eq(tally_reconcile_apply(&st, NULL, ACC, 2, b, 1), 0);
	cr_assert_eq(st.revision, 2);
	cr_assert_eq(st.leaf_index, 1);
}

Test(reconcile, accepted_frees_the_copies)
{
	struct tally_slot_state st;
	struct tally_conflict_copies cc = {0};
	uint8_t h[TALLY_HASH_BYTES];
	tally_reconcile_state_init(&st);
	hash_of('a', h);
	cr_assert_eq(tally_reconcile_apply(&st, &cc, ACC, 1, h, 0), 0);
	for (uint8_t tag = 'b'; tag <= 'f'; tag++) {
		hash_of(tag, h);
		cr_assert_eq(tally_reconcile_apply(&st, &cc, CON, 1, h, tag), 0);
	}
	cr_assert_eq(st.n_conflicts, 5);
	cr_assert_eq(cc.cap, 8);
	hash_of('d', h);
	cr_assert_eq(memcmp(cc.hashes[2], h, TALLY_HASH_BYTES), 0);
	hash_of('z', h);
	cr_assert_eq(tally_reconcile_apply(&st, &cc, ACC, 2, h, 9), 0);
	cr_assert_eq(st.n_conflicts, 0);
	cr_assert_eq(cc.hashes, NULL, "freed: ASan would report a leak otherwise");
	cr_assert_eq(cc.cap, 0);
}

Test(reconcile, the_slot_state_is_48_bytes)
{
	cr_assert_eq(sizeof(struct tally_slot_state), 48);
}

Test(reconcile, clear_takes_null)
{
	tally_conflict_copies_clear(NULL);
}
