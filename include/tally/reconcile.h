/*
 * reconcile.h: what happens to a valid result for a precinct, given what the
 * aggregator already holds for it. Pure.
 *
 *   nothing held                         -> ACCEPTED (counted)
 *   revision >  held revision            -> ACCEPTED (replaces the counted one,
 *                                           clears any conflict flag)
 *   revision <  held revision            -> STALE    (kept, not counted)
 *   revision == held, same payload bytes -> DUPLICATE
 *     (the counted copy or a conflicting copy already held)
 *   revision == held, other bytes        -> CONFLICT (kept, not counted; the
 *                                           precinct is flagged until a
 *                                           higher revision settles it)
 *
 * "Same bytes" is decided on the SHA-256 of the payload.
 */
#ifndef TALLY_RECONCILE_H
#define TALLY_RECONCILE_H

#include <stdint.h>

#include "tally/result.h"

/* What is held for one precinct. Owns conflict_hashes (malloc'd). */
struct tally_precinct_state {
	uint32_t revision;    /* counted revision, 0 = not reported */
	uint32_t n_conflicts; /* conflicting copies held at `revision` */
	uint32_t conflicts_cap;
	uint8_t hash[TALLY_HASH_BYTES]; /* SHA-256 of the counted payload */
	uint8_t (*conflict_hashes)[TALLY_HASH_BYTES];
	int64_t leaf_index; /* log leaf of the counted result, -1 if none */
};

/* A precinct with nothing counted (revision 0, leaf_index -1). */
void tally_reconcile_state_init(struct tally_precinct_state *st);
/* Frees the conflict hashes and leaves st as after init. Takes NULL. */
void tally_reconcile_state_clear(struct tally_precinct_state *st);

/* The outcome for (revision, payload hash) given st. Does not change st. */
enum tally_outcome tally_reconcile_decide(const struct tally_precinct_state *st, uint32_t revision,
                                          const uint8_t hash[TALLY_HASH_BYTES]);

/*
 * Records the outcome in st: ACCEPTED makes (revision, hash, leaf_index) the
 * counted result and clears conflicts; CONFLICT remembers the hash; STALE and
 * DUPLICATE change nothing. Returns 0 or -ENOMEM.
 */
int tally_reconcile_apply(struct tally_precinct_state *st, enum tally_outcome o, uint32_t revision,
                          const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index);

#endif
