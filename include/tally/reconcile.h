/*
 * reconcile.h: what happens to a valid result for a slot (one contest in
 * one precinct, election.h), given what the aggregator already holds for
 * it. Pure.
 *
 *   nothing held                         -> ACCEPTED (counted)
 *   revision >  held revision            -> ACCEPTED (replaces the counted one,
 *                                           clears any conflict flag)
 *   revision <  held revision            -> STALE    (kept, not counted)
 *   revision == held, same payload bytes -> DUPLICATE
 *     (the counted copy or a conflicting copy already held)
 *   revision == held, other bytes        -> CONFLICT (kept, not counted; the
 *                                           slot is flagged until a higher
 *                                           revision settles it)
 *
 * "Same bytes" is decided on the SHA-256 of the payload.
 *
 * What is held is split in two so that a million precincts times several
 * contests fit: every slot has a fixed 48-byte struct tally_slot_state,
 * and only a slot with conflicting copies (rare) has a struct
 * tally_conflict_copies with their hashes, kept wherever its owner likes
 * (totals.c and pending.c keep them in tables keyed by slot). The number
 * of copies is the state's n_conflicts; the copies struct only holds them.
 */
#ifndef TALLY_RECONCILE_H
#define TALLY_RECONCILE_H

#include <stdint.h>

#include "tally/result.h"

/* What is held for one slot. Plain data: copy freely. */
struct tally_slot_state {
	uint32_t revision;              /* counted revision, 0 = not reported */
	uint32_t n_conflicts;           /* distinct conflicting copies held at `revision` */
	uint8_t hash[TALLY_HASH_BYTES]; /* SHA-256 of the counted payload */
	int64_t leaf_index;             /* log leaf of the counted result, -1 if none */
};

/*
 * The hashes of a slot's conflicting copies: the first n_conflicts (of
 * its state) of `hashes`, room for `cap`. Owns `hashes` (malloc'd).
 */
struct tally_conflict_copies {
	uint32_t cap;
	uint8_t (*hashes)[TALLY_HASH_BYTES];
};

/* A slot with nothing counted (revision 0, leaf_index -1). */
void tally_reconcile_state_init(struct tally_slot_state *st);
/* Frees the hashes and leaves cc empty. Takes NULL. */
void tally_conflict_copies_clear(struct tally_conflict_copies *cc);

/*
 * The outcome for (revision, payload hash) given st and its copies (cc
 * may be NULL when st->n_conflicts is 0). Changes nothing.
 */
enum tally_outcome tally_reconcile_decide(const struct tally_slot_state *st,
                                          const struct tally_conflict_copies *cc, uint32_t revision,
                                          const uint8_t hash[TALLY_HASH_BYTES]);

/*
 * Records the outcome in st and cc: ACCEPTED makes (revision, hash,
 * leaf_index) the counted result and forgets the copies (cc may be NULL
 * when st->n_conflicts is 0; else its hashes are freed); CONFLICT adds
 * the hash to cc (required) and counts it in st; STALE and DUPLICATE
 * change nothing. Returns 0 or -ENOMEM (nothing changed).
 */
int tally_reconcile_apply(struct tally_slot_state *st, struct tally_conflict_copies *cc,
                          enum tally_outcome o, uint32_t revision,
                          const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index);

#endif
