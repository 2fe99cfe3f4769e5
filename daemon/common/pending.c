/*
 * pending.c: a batch's outcomes decided ahead of its commit (pending.h).
 * It keeps a copy of the state of every precinct the batch touched, in an
 * open-addressing table keyed by precinct index, so deciding costs one
 * lookup per result and a batch never writes to the totals it reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tally/pending.h"
#include "tally/reconcile.h"

struct slot {
	uint64_t key; /* precinct index + 1; 0 = free */
	struct tally_precinct_state st;
};

struct tally_pending {
	struct slot *slots;
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
			if (p->slots[i].key) {
				tally_reconcile_state_clear(&p->slots[i].st);
				p->slots[i].key = 0;
			}
	p->used = 0;
	p->decided = 0;
}

void tally_pending_free(struct tally_pending *p)
{
	if (!p)
		return;
	tally_pending_reset(p);
	free(p->slots);
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

static struct slot *find(struct tally_pending *p, uint64_t key)
{
	if (p->cap == 0)
		return NULL;
	for (size_t i = hash_of(key, p->cap);; i = (i + 1) & (p->cap - 1)) {
		if (p->slots[i].key == key || p->slots[i].key == 0)
			return &p->slots[i];
	}
}

/* Room for one more precinct, keeping the table at most half full. */
static int reserve(struct tally_pending *p)
{
	if (2 * (p->used + 1) <= p->cap)
		return 0;
	size_t cap = p->cap ? 2 * p->cap : 64;
	struct slot *old = p->slots, *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	size_t old_cap = p->cap;
	p->slots = slots;
	p->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*find(p, old[i].key) = old[i];
	free(old);
	return 0;
}

/* A private copy of a held state (its conflict hashes included). */
static int copy_state(struct tally_precinct_state *dst, const struct tally_precinct_state *src)
{
	*dst = *src;
	dst->conflict_hashes = NULL;
	dst->conflicts_cap = 0;
	if (src->n_conflicts == 0) {
		dst->n_conflicts = 0;
		return 0;
	}
	dst->conflict_hashes = malloc((size_t)src->n_conflicts * TALLY_HASH_BYTES);
	if (!dst->conflict_hashes) {
		dst->n_conflicts = 0;
		return -ENOMEM;
	}
	memcpy(dst->conflict_hashes, src->conflict_hashes,
	       (size_t)src->n_conflicts * TALLY_HASH_BYTES);
	dst->conflicts_cap = src->n_conflicts;
	return 0;
}

int tally_pending_decide(struct tally_pending *p, const struct tally_totals *t,
                         size_t precinct_index, uint32_t revision,
                         const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                         enum tally_outcome *ret)
{
	if (precinct_index >= t->election->n_precincts)
		return -ERANGE;
	if (revision == 0)
		return -EINVAL;
	uint64_t key = (uint64_t)precinct_index + 1;
	struct slot *s = find(p, key);
	const struct tally_precinct_state *held =
	    s && s->key ? &s->st : &t->precincts[precinct_index];
	enum tally_outcome o = tally_reconcile_decide(held, revision, hash);
	if (o == TALLY_OUTCOME_CONFLICT && p->conflict_limit &&
	    held->n_conflicts >= p->conflict_limit)
		return -EDQUOT;
	if (o == TALLY_OUTCOME_ACCEPTED || o == TALLY_OUTCOME_CONFLICT) {
		int r;
		if (!s || !s->key) {
			struct tally_precinct_state copy;
			if ((r = reserve(p)) < 0 || (r = copy_state(&copy, held)) < 0)
				return r;
			s = find(p, key);
			s->key = key;
			s->st = copy;
			p->used++;
		}
		if ((r = tally_reconcile_apply(&s->st, o, revision, hash, leaf_index)) < 0)
			return r;
	}
	p->decided++;
	*ret = o;
	return 0;
}
