/*
 * pending.c: a batch's outcomes decided ahead of its commit (pending.h).
 * It keeps a copy of the state of every slot the batch touched (with its
 * conflicting copies), in an open-addressing table keyed by slot, so
 * deciding costs one lookup per result and a batch never writes to the
 * totals it reads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tally/pending.h"
#include "tally/reconcile.h"

struct entry {
	uint64_t key; /* slot + 1; 0 = free */
	struct tally_slot_state st;
	struct tally_conflict_copies cc;
};

struct tally_pending {
	struct entry *entries;
	size_t cap; /* power of two */
	size_t used;
	size_t decided;
	uint32_t conflict_limit; /* 0: none */
};

int tally_pending_new(struct tally_pending **ret)
{
	struct tally_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

void tally_pending_reset(struct tally_pending *p)
{
	if (p->used)
		for (size_t i = 0; i < p->cap; i++)
			if (p->entries[i].key) {
				tally_conflict_copies_clear(&p->entries[i].cc);
				p->entries[i].key = 0;
			}
	p->used = 0;
	p->decided = 0;
}

void tally_pending_free(struct tally_pending *p)
{
	if (!p)
		return;
	tally_pending_reset(p);
	free(p->entries);
	free(p);
}

size_t tally_pending_size(const struct tally_pending *p)
{
	return p->decided;
}

void tally_pending_set_conflict_limit(struct tally_pending *p, uint32_t max)
{
	p->conflict_limit = max;
}

static size_t hash_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static struct entry *find(struct tally_pending *p, uint64_t key)
{
	if (p->cap == 0)
		return NULL;
	for (size_t i = hash_of(key, p->cap);; i = (i + 1) & (p->cap - 1)) {
		if (p->entries[i].key == key || p->entries[i].key == 0)
			return &p->entries[i];
	}
}

/* Room for one more slot, keeping the table at most half full. */
static int reserve(struct tally_pending *p)
{
	if (2 * (p->used + 1) <= p->cap)
		return 0;
	size_t cap = p->cap ? 2 * p->cap : 64;
	struct entry *old = p->entries, *entries = calloc(cap, sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	size_t old_cap = p->cap;
	p->entries = entries;
	p->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*find(p, old[i].key) = old[i];
	free(old);
	return 0;
}

/* A private copy of the conflicting copies held (n of them). */
static int copy_copies(struct tally_conflict_copies *dst, const struct tally_conflict_copies *src,
                       uint32_t n)
{
	*dst = (struct tally_conflict_copies){0};
	if (n == 0)
		return 0;
	dst->hashes = malloc((size_t)n * TALLY_HASH_BYTES);
	if (!dst->hashes)
		return -ENOMEM;
	memcpy(dst->hashes, src->hashes, (size_t)n * TALLY_HASH_BYTES);
	dst->cap = n;
	return 0;
}

int tally_pending_decide(struct tally_pending *p, const struct tally_totals *t, size_t slot,
                         uint32_t revision, const uint8_t hash[TALLY_HASH_BYTES],
                         int64_t leaf_index, enum tally_outcome *ret)
{
	if (slot >= t->election->n_slots)
		return -ERANGE;
	if (revision == 0)
		return -EINVAL;
	uint64_t key = (uint64_t)slot + 1;
	struct entry *s = find(p, key);
	bool mine = s && s->key;
	const struct tally_slot_state *held = mine ? &s->st : &t->slots[slot];
	const struct tally_conflict_copies *held_cc =
	    mine ? &s->cc : tally_totals_conflict_copies(t, slot);
	enum tally_outcome o = tally_reconcile_decide(held, held_cc, revision, hash);
	if (o == TALLY_OUTCOME_CONFLICT && p->conflict_limit &&
	    held->n_conflicts >= p->conflict_limit)
		return -EDQUOT;
	if (o == TALLY_OUTCOME_ACCEPTED || o == TALLY_OUTCOME_CONFLICT) {
		int r;
		if (!mine) {
			struct tally_conflict_copies cc;
			if ((r = reserve(p)) < 0 ||
			    (r = copy_copies(&cc, held_cc, held->n_conflicts)) < 0)
				return r;
			s = find(p, key);
			s->key = key;
			s->st = *held;
			s->cc = cc;
			p->used++;
		}
		if ((r = tally_reconcile_apply(&s->st, &s->cc, o, revision, hash, leaf_index)) < 0)
			return r;
	}
	p->decided++;
	*ret = o;
	return 0;
}
