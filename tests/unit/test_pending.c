/*
 * test_pending.c: a batch decided ahead of its commit. Over random batches
 * with corrections, duplicates, stale copies and conflicts, the decided
 * outcomes equal what applying the same results to the totals gives
 * afterwards, and deciding never changes the totals.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "election_fixture.h"
#include "tally/pending.h"
#include "tally/totals.h"

static void hash_of(uint8_t tag, uint32_t revision, uint8_t ret[TALLY_HASH_BYTES])
{
	memset(ret, tag, TALLY_HASH_BYTES);
	memcpy(ret, &revision, sizeof(revision));
}

static const uint32_t figures[6] = {1000, 600, 10, 0, 350, 240};

struct fixture {
	struct tally_election *e;
	struct tally_totals *t;
	struct tally_pending *p;
};

static struct fixture setup(size_t regions, size_t per_region)
{
	struct fixture f;
	f.e = mk_election(regions, per_region, 1000, 0);
	cr_assert_eq(tally_totals_new(f.e, &f.t), 0);
	cr_assert_eq(tally_pending_new(&f.p), 0);
	return f;
}

static void teardown(struct fixture *f)
{
	tally_pending_free(f->p);
	tally_totals_free(f->t);
	free_election(f->e);
}

/* In the referendum fixtures a precinct's index is its slot. */
static enum tally_outcome decide(struct fixture *f, size_t slot, uint32_t revision, uint8_t tag,
                                 int64_t leaf)
{
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	hash_of(tag, revision, h);
	cr_assert_eq(tally_pending_decide(f->p, f->t, slot, revision, h, leaf, &o), 0);
	return o;
}

static enum tally_outcome apply(struct fixture *f, size_t slot, uint32_t revision, uint8_t tag,
                                int64_t leaf)
{
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	hash_of(tag, revision, h);
	cr_assert_eq(tally_totals_apply_figures(f->t, slot, revision, h, leaf, figures, &o), 0);
	return o;
}

static bool logged(enum tally_outcome o)
{
	return o == TALLY_OUTCOME_ACCEPTED || o == TALLY_OUTCOME_CONFLICT;
}

Test(pending, one_precinct_many_times_in_one_batch)
{
	struct fixture f = setup(1, 3);
	struct {
		uint32_t revision;
		uint8_t tag;
		enum tally_outcome want;
	} steps[] = {
	    {1, 1, TALLY_OUTCOME_ACCEPTED}, {1, 1, TALLY_OUTCOME_DUPLICATE},
	    {1, 2, TALLY_OUTCOME_CONFLICT}, {1, 2, TALLY_OUTCOME_DUPLICATE},
	    {1, 3, TALLY_OUTCOME_CONFLICT}, {2, 4, TALLY_OUTCOME_ACCEPTED},
	    {1, 1, TALLY_OUTCOME_STALE},    {2, 4, TALLY_OUTCOME_DUPLICATE},
	    {2, 2, TALLY_OUTCOME_CONFLICT},
	};
	int64_t leaf = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum tally_outcome o = decide(&f, 1, steps[i].revision, steps[i].tag, leaf);
		cr_assert_eq(o, steps[i].want, "step %zu: %s, want %s", i, tally_outcome_str(o),
		             tally_outcome_str(steps[i].want));
		leaf += logged(o);
	}
	cr_assert_eq(leaf, 5);
	cr_assert_eq(tally_pending_size(f.p), 9);
	/* Nothing reached the totals. */
	cr_assert_eq(f.t->sequence, 0);
	cr_assert_eq(f.t->slots[1].revision, 0);
	cr_assert_eq(f.t->contests[0].national.precincts_reported, 0);
	/* Applied in order afterwards: the same outcomes. */
	leaf = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum tally_outcome o = apply(&f, 1, steps[i].revision, steps[i].tag, leaf);
		cr_assert_eq(o, steps[i].want, "step %zu", i);
		leaf += logged(o);
	}
	cr_assert_eq(f.t->sequence, 5);
	cr_assert_eq(f.t->contests[0].national.conflicts, 1);
	cr_assert_eq(f.t->slots[1].revision, 2);
	/* After a reset the batch starts from the (now updated) totals. */
	tally_pending_reset(f.p);
	cr_assert_eq(tally_pending_size(f.p), 0);
	cr_assert_eq(decide(&f, 1, 2, 2, 5), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(decide(&f, 1, 2, 9, 5), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(decide(&f, 1, 2, 9, 6), TALLY_OUTCOME_DUPLICATE);
	teardown(&f);
}

Test(pending, conflicts_held_by_the_totals_are_copied_not_shared)
{
	struct fixture f = setup(1, 2);
	cr_assert_eq(apply(&f, 0, 3, 1, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(apply(&f, 0, 3, 2, 1), TALLY_OUTCOME_CONFLICT);
	uint8_t(*held)[TALLY_HASH_BYTES] = tally_totals_conflict_copies(f.t, 0)->hashes;
	cr_assert_eq(decide(&f, 0, 3, 2, 2), TALLY_OUTCOME_DUPLICATE);
	for (uint8_t tag = 3; tag < 40; tag++)
		cr_assert_eq(decide(&f, 0, 3, tag, 2 + tag), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(decide(&f, 0, 3, 17, 50), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(f.t->slots[0].n_conflicts, 1);
	cr_assert_eq(tally_totals_conflict_copies(f.t, 0)->hashes, held);
	cr_assert_eq(decide(&f, 0, 4, 1, 51), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(f.t->slots[0].n_conflicts, 1);
	cr_assert_eq(f.t->slots[0].revision, 3);
	teardown(&f);
}

Test(pending, a_batch_over_thousands_of_precincts)
{
	struct fixture f = setup(4, 1000);
	for (size_t pi = 0; pi < 4000; pi++)
		cr_assert_eq(decide(&f, pi, 1, 1, (int64_t)pi), TALLY_OUTCOME_ACCEPTED);
	for (size_t pi = 0; pi < 4000; pi += 7)
		cr_assert_eq(decide(&f, pi, 1, 1, 4000), TALLY_OUTCOME_DUPLICATE);
	for (size_t pi = 0; pi < 4000; pi += 3)
		cr_assert_eq(decide(&f, pi, 1, 2, 4000), TALLY_OUTCOME_CONFLICT, "precinct %zu",
		             pi);
	cr_assert_eq(f.t->sequence, 0);
	teardown(&f);
}

Test(pending, unknown_precinct_and_revision_zero_are_refused)
{
	struct fixture f = setup(1, 2);
	uint8_t h[TALLY_HASH_BYTES] = {0};
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	cr_assert_eq(tally_pending_decide(f.p, f.t, 2, 1, h, 0, &o), -ERANGE);
	cr_assert_eq(tally_pending_decide(f.p, f.t, 0, 0, h, 0, &o), -EINVAL);
	cr_assert_eq(o, TALLY_OUTCOME_UNSPECIFIED);
	cr_assert_eq(tally_pending_size(f.p), 0);
	teardown(&f);
}

Test(pending, decided_equals_applied_over_random_batches)
{
	for (unsigned seed = 1; seed <= 40; seed++) {
		struct fixture f = setup(2, 15);
		srand(seed);
		int64_t leaf = 0;
		for (int batch = 0; batch < 60; batch++) {
			size_t n = 1 + (size_t)rand() % 40;
			size_t pis[40];
			uint32_t revs[40];
			uint8_t tags[40];
			enum tally_outcome want[40];
			uint8_t before[TALLY_HASH_BYTES], after[TALLY_HASH_BYTES];
			tally_totals_digest(f.t, before);
			uint64_t seq = f.t->sequence;
			tally_pending_reset(f.p);
			int64_t next = leaf;
			for (size_t i = 0; i < n; i++) {
				pis[i] = (size_t)rand() % 30;
				revs[i] = 1 + (uint32_t)rand() % 4;
				tags[i] = (uint8_t)(1 + rand() % 3);
				want[i] = decide(&f, pis[i], revs[i], tags[i], next);
				next += logged(want[i]);
			}
			tally_totals_digest(f.t, after);
			cr_assert_eq(memcmp(before, after, sizeof(before)), 0, "seed %u", seed);
			cr_assert_eq(f.t->sequence, seq);
			for (size_t i = 0; i < n; i++) {
				enum tally_outcome o = apply(&f, pis[i], revs[i], tags[i], leaf);
				cr_assert_eq(o, want[i],
				             "seed %u batch %d item %zu: decided %s, applied %s",
				             seed, batch, i, tally_outcome_str(want[i]),
				             tally_outcome_str(o));
				leaf += logged(o);
			}
			cr_assert_eq(leaf, next);
			cr_assert_eq(f.t->sequence, (uint64_t)leaf);
		}
		teardown(&f);
	}
}

Test(pending, conflicting_copies_past_the_limit_are_refused_and_not_held)
{
	struct fixture f = setup(1, 2);
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	tally_pending_set_conflict_limit(f.p, 3);
	/* Held by the totals: the counted copy and one conflicting copy. */
	cr_assert_eq(apply(&f, 0, 1, 1, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(apply(&f, 0, 1, 2, 1), TALLY_OUTCOME_CONFLICT);
	/* Two more fit in the batch, the fourth distinct copy does not. */
	cr_assert_eq(decide(&f, 0, 1, 3, 2), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(decide(&f, 0, 1, 4, 3), TALLY_OUTCOME_CONFLICT);
	hash_of(5, 1, h);
	cr_assert_eq(tally_pending_decide(f.p, f.t, 0, 1, h, 4, &o), -EDQUOT);
	cr_assert_eq(o, TALLY_OUTCOME_UNSPECIFIED);
	/* Nothing was recorded: the same copy again is refused again. */
	cr_assert_eq(tally_pending_decide(f.p, f.t, 0, 1, h, 4, &o), -EDQUOT);
	/* Copies already held stay duplicates, other precincts are free. */
	cr_assert_eq(decide(&f, 0, 1, 2, 4), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(decide(&f, 0, 1, 4, 4), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(decide(&f, 1, 1, 1, 4), TALLY_OUTCOME_ACCEPTED);
	/* A higher revision settles the conflict and starts a new count. */
	cr_assert_eq(decide(&f, 0, 2, 1, 5), TALLY_OUTCOME_ACCEPTED);
	for (uint8_t tag = 2; tag <= 4; tag++)
		cr_assert_eq(decide(&f, 0, 2, tag, 4 + tag), TALLY_OUTCOME_CONFLICT);
	hash_of(5, 2, h);
	cr_assert_eq(tally_pending_decide(f.p, f.t, 0, 2, h, 9, &o), -EDQUOT);
	cr_assert_eq(f.t->slots[0].n_conflicts, 1, "the totals never change");
	teardown(&f);
}

/* ---- a general election: a batch decides per slot ---- */

static struct fixture setup_general(void)
{
	struct fixture f;
	f.e = mk_general_election();
	cr_assert_eq(tally_totals_new(f.e, &f.t), 0);
	cr_assert_eq(tally_pending_new(&f.p), 0);
	return f;
}

static size_t slot_of(const struct fixture *f, size_t contest, size_t pi)
{
	int64_t slot = tally_election_slot(f->e, contest, pi);
	cr_assert_geq(slot, 0, "contest %zu precinct %zu", contest, pi);
	return (size_t)slot;
}

/* Figures of the slot's contest: its stride of numbers. */
static enum tally_outcome apply_slot(struct fixture *f, size_t slot, uint32_t revision, uint8_t tag,
                                     int64_t leaf)
{
	uint8_t h[TALLY_HASH_BYTES];
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS];
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	for (size_t i = 0; i < tally_totals_slot_stride(f->t, slot); i++)
		fig[i] = 100 + (uint32_t)i + tag;
	hash_of(tag, revision, h);
	cr_assert_eq(tally_totals_apply_figures(f->t, slot, revision, h, leaf, fig, &o), 0);
	return o;
}

Test(pending, one_precinct_in_three_contests_is_three_slots)
{
	struct fixture f = setup_general();
	/* Precinct 201 (index 3) votes in all three contests. */
	size_t list = slot_of(&f, 0, 3), gov = slot_of(&f, 1, 3), dist = slot_of(&f, 2, 3);
	cr_assert_eq(list, 3);
	cr_assert_eq(gov, 7);
	cr_assert_eq(dist, 12);
	/* The same revision and bytes in each contest: each is its own first copy. */
	cr_assert_eq(decide(&f, list, 1, 1, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(decide(&f, gov, 1, 1, 1), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(decide(&f, dist, 1, 1, 2), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(decide(&f, gov, 1, 2, 3), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(decide(&f, list, 1, 2, 4), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(decide(&f, dist, 2, 1, 5), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(decide(&f, gov, 1, 2, 6), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(decide(&f, dist, 1, 2, 6), TALLY_OUTCOME_STALE);
	cr_assert_eq(f.t->sequence, 0);
	cr_assert_eq(f.t->slots[gov].revision, 0);
	cr_assert_eq(tally_pending_decide(f.p, f.t, f.e->n_slots, 1, (uint8_t[32]){0}, 6,
	                                  &(enum tally_outcome){0}),
	             -ERANGE);
	teardown(&f);
}

Test(pending, the_conflict_cap_counts_per_slot)
{
	struct fixture f = setup_general();
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	size_t list = slot_of(&f, 0, 3), dist = slot_of(&f, 2, 3);
	tally_pending_set_conflict_limit(f.p, 2);
	/* The totals hold one conflicting copy of 201 in the list contest. */
	cr_assert_eq(apply_slot(&f, list, 1, 1, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(apply_slot(&f, list, 1, 2, 1), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(apply_slot(&f, dist, 1, 1, 2), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(decide(&f, list, 1, 3, 3), TALLY_OUTCOME_CONFLICT);
	hash_of(4, 1, h);
	cr_assert_eq(tally_pending_decide(f.p, f.t, list, 1, h, 4, &o), -EDQUOT);
	cr_assert_eq(o, TALLY_OUTCOME_UNSPECIFIED);
	/* The same precinct in another contest has a cap of its own. */
	cr_assert_eq(decide(&f, dist, 1, 2, 4), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(decide(&f, dist, 1, 3, 5), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(tally_pending_decide(f.p, f.t, dist, 1, h, 6, &o), -EDQUOT);
	cr_assert_eq(decide(&f, list, 1, 2, 6), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(decide(&f, dist, 1, 3, 6), TALLY_OUTCOME_DUPLICATE);
	/* Applied, the totals agree, and a next batch sees the cap reached. */
	cr_assert_eq(apply_slot(&f, list, 1, 3, 3), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(apply_slot(&f, dist, 1, 2, 4), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(apply_slot(&f, dist, 1, 3, 5), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(f.t->contests[0].national.conflicts, 1);
	cr_assert_eq(f.t->contests[2].national.conflicts, 1);
	cr_assert_eq(f.t->contests[1].national.conflicts, 0);
	tally_pending_reset(f.p);
	cr_assert_eq(tally_pending_decide(f.p, f.t, list, 1, h, 6, &o), -EDQUOT);
	cr_assert_eq(tally_pending_decide(f.p, f.t, dist, 1, h, 6, &o), -EDQUOT);
	hash_of(3, 1, h);
	cr_assert_eq(tally_pending_decide(f.p, f.t, dist, 1, h, 6, &o), 0);
	cr_assert_eq(o, TALLY_OUTCOME_DUPLICATE);
	teardown(&f);
}

Test(pending, decided_equals_applied_over_random_batches_of_slots)
{
	for (unsigned seed = 1; seed <= 30; seed++) {
		struct fixture f = setup_general();
		size_t n_slots = f.e->n_slots;
		srand(seed);
		tally_pending_set_conflict_limit(f.p, (uint32_t)(seed % 3)); /* 0: no cap */
		int64_t leaf = 0;
		for (int batch = 0; batch < 40; batch++) {
			size_t n = 1 + (size_t)rand() % 30;
			size_t slots[30];
			uint32_t revs[30];
			uint8_t tags[30];
			enum tally_outcome want[30];
			uint8_t before[TALLY_HASH_BYTES], after[TALLY_HASH_BYTES];
			tally_totals_digest(f.t, before);
			tally_pending_reset(f.p);
			int64_t next = leaf;
			for (size_t i = 0; i < n; i++) {
				uint8_t h[TALLY_HASH_BYTES];
				slots[i] = (size_t)rand() % n_slots;
				revs[i] = 1 + (uint32_t)rand() % 3;
				tags[i] = (uint8_t)(1 + rand() % 4);
				hash_of(tags[i], revs[i], h);
				int r = tally_pending_decide(f.p, f.t, slots[i], revs[i], h, next,
				                             &want[i]);
				cr_assert(r == 0 || r == -EDQUOT, "seed %u: %d", seed, r);
				if (r == -EDQUOT)
					want[i] = TALLY_OUTCOME_UNSPECIFIED; /* not applied */
				next += logged(want[i]);
			}
			tally_totals_digest(f.t, after);
			cr_assert_eq(memcmp(before, after, sizeof(before)), 0, "seed %u", seed);
			for (size_t i = 0; i < n; i++) {
				if (want[i] == TALLY_OUTCOME_UNSPECIFIED)
					continue;
				enum tally_outcome o =
				    apply_slot(&f, slots[i], revs[i], tags[i], leaf);
				cr_assert_eq(o, want[i],
				             "seed %u batch %d item %zu: decided %s, applied %s",
				             seed, batch, i, tally_outcome_str(want[i]),
				             tally_outcome_str(o));
				leaf += logged(o);
			}
			cr_assert_eq(leaf, next);
			cr_assert_eq(f.t->sequence, (uint64_t)leaf);
			/* The cap holds in the totals too. */
			for (size_t s = 0; s < n_slots && seed % 3; s++)
				cr_assert_leq(f.t->slots[s].n_conflicts, seed % 3);
		}
		teardown(&f);
	}
}
