/*
 * reconcile.c: the per-slot reconciliation rules of reconcile.h. It owns
 * the rules over a slot's held state (counted revision and hash) and its
 * conflicting copies, and nothing else: totals.c moves the figures and
 * keeps the states, the store keeps the bytes. Pure and allocation-light:
 * only a conflicting copy costs heap memory, because conflicts are rare
 * and millions of slots must fit.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tally/reconcile.h"

_Static_assert(sizeof(struct tally_slot_state) == 48, "a slot's state stays 48 bytes");

void tally_reconcile_state_init(struct tally_slot_state *st)
{
	memset(st, 0, sizeof(*st));
	st->leaf_index = -1;
}

void tally_conflict_copies_clear(struct tally_conflict_copies *cc)
{
	if (!cc)
		return;
	free(cc->hashes);
	cc->hashes = NULL;
	cc->cap = 0;
}

static int holds_copy(const struct tally_slot_state *st, const struct tally_conflict_copies *cc,
                      const uint8_t hash[TALLY_HASH_BYTES])
{
	assert(st->n_conflicts == 0 || (cc && cc->cap >= st->n_conflicts));
	for (uint32_t i = 0; i < st->n_conflicts; i++)
		if (memcmp(cc->hashes[i], hash, TALLY_HASH_BYTES) == 0)
			return 1;
	return 0;
}

enum tally_outcome tally_reconcile_decide(const struct tally_slot_state *st,
                                          const struct tally_conflict_copies *cc, uint32_t revision,
                                          const uint8_t hash[TALLY_HASH_BYTES])
{
	if (st->revision == 0 || revision > st->revision)
		return TALLY_OUTCOME_ACCEPTED;
	if (revision < st->revision)
		return TALLY_OUTCOME_STALE;
	/* Same revision: identical bytes (to the counted copy or to a conflicting
	 * copy already kept) are a retransmission, anything else a conflict. */
	if (memcmp(st->hash, hash, TALLY_HASH_BYTES) == 0 || holds_copy(st, cc, hash))
		return TALLY_OUTCOME_DUPLICATE;
	return TALLY_OUTCOME_CONFLICT;
}

int tally_reconcile_apply(struct tally_slot_state *st, struct tally_conflict_copies *cc,
                          enum tally_outcome o, uint32_t revision,
                          const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index)
{
	switch (o) {
	case TALLY_OUTCOME_ACCEPTED:
		/* A higher revision settles any conflict at the old one. */
		assert(st->n_conflicts == 0 || cc);
		tally_conflict_copies_clear(cc);
		st->n_conflicts = 0;
		st->revision = revision;
		memcpy(st->hash, hash, TALLY_HASH_BYTES);
		st->leaf_index = leaf_index;
		return 0;
	case TALLY_OUTCOME_CONFLICT:
		assert(cc && cc->cap >= st->n_conflicts);
		if (st->n_conflicts == cc->cap) {
			uint32_t cap = cc->cap ? cc->cap * 2 : 1;
			void *p = realloc(cc->hashes, (size_t)cap * TALLY_HASH_BYTES);
			if (!p)
				return -ENOMEM;
			cc->hashes = p;
			cc->cap = cap;
		}
		memcpy(cc->hashes[st->n_conflicts++], hash, TALLY_HASH_BYTES);
		return 0;
	default:
		return 0;
	}
}
