/*
 * reconcile.c: the per-precinct reconciliation rules of reconcile.h. It owns
 * a precinct's held state (counted revision and hash, conflicting copies)
 * and nothing else: totals.c moves the figures, the store keeps the bytes.
 * Pure and allocation-light: only a precinct with conflicting copies holds
 * heap memory, because conflicts are rare and a million precincts must fit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tally/reconcile.h"

void tally_reconcile_state_init(struct tally_precinct_state *st)
{
	memset(st, 0, sizeof(*st));
	st->leaf_index = -1;
}

void tally_reconcile_state_clear(struct tally_precinct_state *st)
{
	if (!st)
		return;
	free(st->conflict_hashes);
	tally_reconcile_state_init(st);
}

static int holds_conflict(const struct tally_precinct_state *st,
                          const uint8_t hash[TALLY_HASH_BYTES])
{
	for (uint32_t i = 0; i < st->n_conflicts; i++)
		if (memcmp(st->conflict_hashes[i], hash, TALLY_HASH_BYTES) == 0)
			return 1;
	return 0;
}

enum tally_outcome tally_reconcile_decide(const struct tally_precinct_state *st, uint32_t revision,
                                          const uint8_t hash[TALLY_HASH_BYTES])
{
	if (st->revision == 0 || revision > st->revision)
		return TALLY_OUTCOME_ACCEPTED;
	if (revision < st->revision)
		return TALLY_OUTCOME_STALE;
	/* Same revision: identical bytes (to the counted copy or to a conflicting
	 * copy already kept) are a retransmission, anything else a conflict. */
	if (memcmp(st->hash, hash, TALLY_HASH_BYTES) == 0 || holds_conflict(st, hash))
		return TALLY_OUTCOME_DUPLICATE;
	return TALLY_OUTCOME_CONFLICT;
}

int tally_reconcile_apply(struct tally_precinct_state *st, enum tally_outcome o, uint32_t revision,
                          const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index)
{
	switch (o) {
	case TALLY_OUTCOME_ACCEPTED:
		/* A higher revision settles any conflict at the old one. */
		free(st->conflict_hashes);
		st->conflict_hashes = NULL;
		st->n_conflicts = 0;
		st->conflicts_cap = 0;
		st->revision = revision;
		memcpy(st->hash, hash, TALLY_HASH_BYTES);
		st->leaf_index = leaf_index;
		return 0;
	case TALLY_OUTCOME_CONFLICT:
		if (st->n_conflicts == st->conflicts_cap) {
			uint32_t cap = st->conflicts_cap ? st->conflicts_cap * 2 : 1;
			void *p = realloc(st->conflict_hashes, (size_t)cap * TALLY_HASH_BYTES);
			if (!p)
				return -ENOMEM;
			st->conflict_hashes = p;
			st->conflicts_cap = cap;
		}
		memcpy(st->conflict_hashes[st->n_conflicts++], hash, TALLY_HASH_BYTES);
		return 0;
	default:
		return 0;
	}
}
