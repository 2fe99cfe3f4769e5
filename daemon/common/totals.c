/*
 * totals.c: running totals per contest, moved incrementally as reconciled
 * results land, and their digest.
 *
 * It owns the per-slot reconciliation state, the conflicting copies'
 * hashes (a side table keyed by slot, since few slots ever have any) and
 * a compact copy of each counted result's figures (its contest's stride of
 * numbers per slot), so a correction subtracts exactly what it replaces
 * from the contest's national figures, its region's and its districts'.
 * It leaves reconciliation rules to reconcile.c, validation to validate.c,
 * the decisions of contests to decision.c, the JSON documents to
 * totals_json.c and bytes to the store. Pure: no I/O.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/totals.h"

/* ---- conflicting copies, by slot ---- */

/*
 * Open addressing with linear probing, at most half full; an entry exists
 * exactly while its slot holds conflicting copies (n_conflicts > 0), so the
 * table stays as small as the current conflicts.
 */
struct conflict_entry {
	uint64_t key; /* slot + 1; 0 = free */
	struct tally_conflict_copies cc;
};

struct tally_conflict_table {
	struct conflict_entry *entries;
	size_t cap; /* 0 or a power of two */
	size_t used;
};

static size_t home_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/* The entry of key, or the free one where it would go; NULL while the table is empty. */
static struct conflict_entry *probe(const struct tally_conflict_table *ct, uint64_t key)
{
	if (ct->cap == 0)
		return NULL;
	for (size_t i = home_of(key, ct->cap);; i = (i + 1) & (ct->cap - 1)) {
		if (ct->entries[i].key == key || ct->entries[i].key == 0)
			return &ct->entries[i];
	}
}

static struct conflict_entry *table_find(const struct tally_conflict_table *ct, size_t slot)
{
	struct conflict_entry *en = probe(ct, (uint64_t)slot + 1);
	return en && en->key ? en : NULL;
}

/* The entry of slot, added empty if absent; NULL without memory. */
static struct conflict_entry *table_put(struct tally_conflict_table *ct, size_t slot)
{
	uint64_t key = (uint64_t)slot + 1;
	struct conflict_entry *en = probe(ct, key);
	if (en && en->key)
		return en;
	if (2 * (ct->used + 1) > ct->cap) {
		size_t cap = ct->cap ? 2 * ct->cap : 16;
		struct conflict_entry *old = ct->entries, *entries = calloc(cap, sizeof(*entries));
		if (!entries)
			return NULL;
		size_t old_cap = ct->cap;
		ct->entries = entries;
		ct->cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].key)
				*probe(ct, old[i].key) = old[i];
		free(old);
	}
	en = probe(ct, key);
	en->key = key;
	en->cc = (struct tally_conflict_copies){0};
	ct->used++;
	return en;
}

/*
 * Frees slot's entry. Deletion by backward shift: each later entry of the
 * same probe run moves into the hole unless its home lies cyclically after
 * the hole, so every remaining key stays reachable from its home.
 */
static void table_remove(struct tally_conflict_table *ct, size_t slot)
{
	struct conflict_entry *en = table_find(ct, slot);
	if (!en)
		return;
	tally_conflict_copies_clear(&en->cc);
	size_t mask = ct->cap - 1, hole = (size_t)(en - ct->entries);
	for (size_t j = (hole + 1) & mask; ct->entries[j].key; j = (j + 1) & mask) {
		size_t home = home_of(ct->entries[j].key, ct->cap);
		/* Stays when home is in (hole, j], cyclically. */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			ct->entries[hole] = ct->entries[j];
			hole = j;
		}
	}
	ct->entries[hole].key = 0;
	ct->entries[hole].cc = (struct tally_conflict_copies){0};
	ct->used--;
}

static void table_free(struct tally_conflict_table *ct)
{
	if (!ct)
		return;
	for (size_t i = 0; i < ct->cap; i++)
		if (ct->entries[i].key)
			tally_conflict_copies_clear(&ct->entries[i].cc);
	free(ct->entries);
	free(ct);
}

/* ---- the totals ---- */

static const struct tally_slot_state nothing_counted = {.leaf_index = -1};
static const struct tally_figures no_figures;

size_t tally_totals_contest_stride(const struct tally_totals *t, size_t contest)
{
	assert(contest < t->election->n_contests);
	return TALLY_TOTALS_FIXED_FIGURES + t->election->contests[contest].n_options;
}

size_t tally_totals_slot_stride(const struct tally_totals *t, size_t slot)
{
	size_t ci, pi;
	tally_election_slot_info(t->election, slot, &ci, &pi);
	return tally_totals_contest_stride(t, ci);
}

/* Sets up t->contests[ci]; `pos` is scratch of election->n_regions. */
static int contest_new(struct tally_totals *t, size_t ci, int32_t *pos)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	struct tally_contest_totals *ct = &t->contests[ci];
	size_t stride = tally_totals_contest_stride(t, ci);

	ct->regions = calloc(c->n_regions ? c->n_regions : 1, sizeof(*ct->regions));
	ct->region_reported_definition_registered =
	    calloc(c->n_regions ? c->n_regions : 1, sizeof(uint64_t));
	ct->region_unreported_registered =
	    calloc(c->n_regions ? c->n_regions : 1, sizeof(uint64_t));
	ct->districts = calloc(c->n_districts ? c->n_districts : 1, sizeof(*ct->districts));
	ct->counted = calloc(c->n_precincts ? c->n_precincts * stride : 1, sizeof(uint32_t));
	if (!ct->regions || !ct->region_reported_definition_registered ||
	    !ct->region_unreported_registered || !ct->districts || !ct->counted)
		return -ENOMEM;
	ct->national.precincts_total = (uint32_t)c->n_precincts;
	for (size_t r = 0; r < e->n_regions; r++)
		pos[r] = -1;
	for (size_t k = 0; k < c->n_regions; k++)
		pos[c->regions[k]] = (int32_t)k;
	for (size_t k = 0; k < c->n_precincts; k++) {
		const struct tally_precinct *p = &e->precincts[c->precincts[k]];
		ct->regions[pos[p->region]].precincts_total++;
		ct->region_unreported_registered[pos[p->region]] += p->registered;
	}
	/* A district it keeps lies wholly inside its scope. */
	for (size_t k = 0; k < c->n_districts; k++)
		ct->districts[k].precincts_total =
		    (uint32_t)e->districts[c->districts[k]].n_precincts;
	return 0;
}

/*
 * An election of several contests: how many contests each precinct votes
 * in, the precincts that vote in any, overall and per region.
 */
static int completeness_new(struct tally_totals *t)
{
	const struct tally_election *e = t->election;

	t->precinct_unreported_contests =
	    calloc(e->n_precincts ? e->n_precincts : 1, sizeof(uint32_t));
	t->region_precincts_total = calloc(e->n_regions ? e->n_regions : 1, sizeof(uint32_t));
	t->region_precincts_reported = calloc(e->n_regions ? e->n_regions : 1, sizeof(uint32_t));
	if (!t->precinct_unreported_contests || !t->region_precincts_total ||
	    !t->region_precincts_reported)
		return -ENOMEM;
	for (size_t ci = 0; ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		for (size_t k = 0; k < c->n_precincts; k++)
			t->precinct_unreported_contests[c->precincts[k]]++;
	}
	for (size_t i = 0; i < e->n_precincts; i++) {
		if (t->precinct_unreported_contests[i] == 0)
			continue;
		t->precincts_total++;
		t->region_precincts_total[e->precincts[i].region]++;
	}
	return 0;
}

int tally_totals_new(const struct tally_election *e, struct tally_totals **ret)
{
	struct tally_totals *t = calloc(1, sizeof(*t));
	int32_t *pos = NULL;
	int rc = -ENOMEM;

	if (!t)
		return -ENOMEM;
	t->election = e;
	t->slots = malloc((e->n_slots ? e->n_slots : 1) * sizeof(*t->slots));
	t->contests = calloc(e->n_contests ? e->n_contests : 1, sizeof(*t->contests));
	t->conflicts = calloc(1, sizeof(*t->conflicts));
	pos = malloc((e->n_regions ? e->n_regions : 1) * sizeof(*pos));
	if (!t->slots || !t->contests || !t->conflicts || !pos)
		goto fail;
	for (size_t i = 0; i < e->n_slots; i++)
		tally_reconcile_state_init(&t->slots[i]);
	for (size_t ci = 0; ci < e->n_contests; ci++)
		if ((rc = contest_new(t, ci, pos)) < 0)
			goto fail;
	if (e->n_contests > 1 && (rc = completeness_new(t)) < 0)
		goto fail;
	free(pos);
	*ret = t;
	return 0;
fail:
	free(pos);
	tally_totals_free(t);
	return rc;
}

struct tally_totals *tally_totals_free(struct tally_totals *t)
{
	if (!t)
		return NULL;
	if (t->contests)
		for (size_t ci = 0; ci < t->election->n_contests; ci++) {
			struct tally_contest_totals *ct = &t->contests[ci];
			free(ct->regions);
			free(ct->region_reported_definition_registered);
			free(ct->region_unreported_registered);
			free(ct->districts);
			free(ct->counted);
		}
	free(t->contests);
	free(t->slots);
	table_free(t->conflicts);
	free(t->precinct_unreported_contests);
	free(t->region_precincts_total);
	free(t->region_precincts_reported);
	free(t);
	return NULL;
}

int tally_totals_contest_figures(const struct tally_contest *c, const struct tally_result *r,
                                 uint32_t *ret_figures)
{
	ret_figures[0] = r->voters_registered;
	ret_figures[1] = r->ballots_cast;
	ret_figures[2] = r->ballots_invalid;
	ret_figures[3] = r->ballots_not_counted;
	memset(ret_figures + TALLY_TOTALS_FIXED_FIGURES, 0, c->n_options * sizeof(uint32_t));
	for (size_t i = 0; i < r->n_votes; i++) {
		int o = tally_contest_option_index(c, r->votes[i].option_id);
		if (o < 0)
			return -EINVAL;
		ret_figures[TALLY_TOTALS_FIXED_FIGURES + o] = r->votes[i].count;
	}
	return 0;
}

int tally_totals_result_figures(const struct tally_totals *t, const struct tally_result *r,
                                uint32_t *ret_figures)
{
	int ci = tally_election_contest_index(t->election, r->contest_id);
	if (ci < 0)
		return -ENOENT;
	return tally_totals_contest_figures(&t->election->contests[ci], r, ret_figures);
}

const uint32_t *tally_totals_counted(const struct tally_totals *t, size_t slot)
{
	size_t ci, pi;
	tally_election_slot_info(t->election, slot, &ci, &pi);
	return t->contests[ci].counted +
	       (slot - t->election->contests[ci].slot_base) * tally_totals_contest_stride(t, ci);
}

const struct tally_slot_state *tally_totals_state(const struct tally_totals *t, size_t contest,
                                                  size_t precinct_index)
{
	int64_t slot = tally_election_slot(t->election, contest, precinct_index);
	return slot < 0 ? &nothing_counted : &t->slots[slot];
}

const struct tally_figures *tally_totals_region(const struct tally_totals *t, size_t contest,
                                                size_t region)
{
	int k = tally_contest_region_position(&t->election->contests[contest], region);
	return k < 0 ? &no_figures : &t->contests[contest].regions[k];
}

const struct tally_conflict_copies *tally_totals_conflict_copies(const struct tally_totals *t,
                                                                 size_t slot)
{
	const struct conflict_entry *en =
	    t->slots[slot].n_conflicts ? table_find(t->conflicts, slot) : NULL;
	return en ? &en->cc : NULL;
}

enum tally_outcome tally_totals_decide(const struct tally_totals *t, size_t slot, uint32_t revision,
                                       const uint8_t hash[TALLY_HASH_BYTES])
{
	assert(slot < t->election->n_slots);
	return tally_reconcile_decide(&t->slots[slot], tally_totals_conflict_copies(t, slot),
	                              revision, hash);
}

/*
 * One figures object moves: minus the counted figures replaced (old, if
 * any), plus the new ones (if any), and the counters by their deltas.
 * Unsigned wrap-around makes subtraction exact: whatever is subtracted was
 * added before.
 */
static void move_figures(struct tally_figures *f, const uint32_t *old, const uint32_t *new,
                         size_t n_options, uint32_t d_reported, uint32_t d_conflicts)
{
	if (old) {
		f->voters_registered -= old[0];
		f->ballots_cast -= old[1];
		f->ballots_invalid -= old[2];
		f->ballots_not_counted -= old[3];
		for (size_t i = 0; i < n_options; i++)
			f->votes[i] -= old[TALLY_TOTALS_FIXED_FIGURES + i];
	}
	if (new) {
		f->voters_registered += new[0];
		f->ballots_cast += new[1];
		f->ballots_invalid += new[2];
		f->ballots_not_counted += new[3];
		for (size_t i = 0; i < n_options; i++)
			f->votes[i] += new[TALLY_TOTALS_FIXED_FIGURES + i];
	}
	f->precincts_reported += d_reported;
	f->conflicts += d_conflicts;
}

int tally_totals_apply_figures(struct tally_totals *t, size_t slot, uint32_t revision,
                               const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                               const uint32_t *figures, enum tally_outcome *ret_outcome)
{
	const struct tally_election *e = t->election;
	if (slot >= e->n_slots)
		return -ERANGE;
	if (revision == 0)
		return -EINVAL;
	size_t ci, pi;
	tally_election_slot_info(e, slot, &ci, &pi);
	const struct tally_contest *c = &e->contests[ci];
	const struct tally_precinct *p = &e->precincts[pi];
	struct tally_contest_totals *ct = &t->contests[ci];
	struct tally_slot_state *st = &t->slots[slot];
	size_t stride = TALLY_TOTALS_FIXED_FIGURES + c->n_options;
	uint32_t *held = ct->counted + (slot - c->slot_base) * stride;
	struct conflict_entry *en = st->n_conflicts ? table_find(t->conflicts, slot) : NULL;
	enum tally_outcome o = tally_reconcile_decide(st, en ? &en->cc : NULL, revision, hash);
	bool was_reported = st->revision != 0;
	bool was_flagged = st->n_conflicts != 0;

	/* Everything that can fail comes before anything changes. */
	if (o == TALLY_OUTCOME_CONFLICT && !en && !(en = table_put(t->conflicts, slot)))
		return -ENOMEM;
	int r = tally_reconcile_apply(st, en ? &en->cc : NULL, o, revision, hash, leaf_index);
	if (r < 0) {
		if (st->n_conflicts == 0)
			table_remove(t->conflicts, slot);
		return r;
	}

	const uint32_t *old = NULL, *new = NULL;
	uint32_t d_reported = 0, d_conflicts = 0;
	switch (o) {
	case TALLY_OUTCOME_ACCEPTED:
		if (was_flagged) {
			table_remove(t->conflicts, slot);
			d_conflicts = (uint32_t)-1;
		}
		if (was_reported)
			old = held;
		else
			d_reported = 1;
		new = figures;
		t->sequence++;
		break;
	case TALLY_OUTCOME_CONFLICT:
		if (!was_flagged)
			d_conflicts = 1;
		t->sequence++;
		break;
	default:
		*ret_outcome = o;
		return 0;
	}

	int k = tally_contest_region_position(c, p->region);
	assert(k >= 0);
	move_figures(&ct->national, old, new, c->n_options, d_reported, d_conflicts);
	move_figures(&ct->regions[k], old, new, c->n_options, d_reported, d_conflicts);
	size_t n_districts;
	const uint32_t *districts = tally_election_precinct_districts(e, pi, &n_districts);
	for (size_t i = 0; i < n_districts; i++) {
		int d = tally_contest_district_position(c, districts[i]);
		if (d >= 0)
			move_figures(&ct->districts[d], old, new, c->n_options, d_reported,
			             d_conflicts);
	}
	if (d_reported) {
		ct->reported_definition_registered += p->registered;
		ct->region_reported_definition_registered[k] += p->registered;
		ct->region_unreported_registered[k] -= p->registered;
		/* The precinct's last contest in: it is in across contests. */
		if (t->precinct_unreported_contests && --t->precinct_unreported_contests[pi] == 0) {
			t->precincts_reported++;
			t->region_precincts_reported[p->region]++;
		}
	}
	if (new)
		memcpy(held, new, stride * sizeof(uint32_t));
	*ret_outcome = o;
	return 0;
}

int tally_totals_apply(struct tally_totals *t, const struct tally_result *r,
                       const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                       enum tally_outcome *ret_outcome)
{
	const struct tally_election *e = t->election;
	int64_t idx = tally_election_precinct_index(e, r->precinct_id);
	int ci = tally_election_contest_index(e, r->contest_id);
	if (idx < 0 || ci < 0)
		return -ENOENT;
	int64_t slot = tally_election_slot(e, (size_t)ci, (size_t)idx);
	if (slot < 0)
		return -ENOENT;
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS];
	int rc = tally_totals_contest_figures(&e->contests[ci], r, fig);
	if (rc < 0)
		return rc;
	return tally_totals_apply_figures(t, (size_t)slot, r->revision, hash, leaf_index, fig,
	                                  ret_outcome);
}

void tally_totals_precincts(const struct tally_totals *t, size_t region, uint32_t *ret_total,
                            uint32_t *ret_reported)
{
	const struct tally_figures *f;

	if (t->precinct_unreported_contests) {
		*ret_total =
		    region == SIZE_MAX ? t->precincts_total : t->region_precincts_total[region];
		*ret_reported = region == SIZE_MAX ? t->precincts_reported
		                                   : t->region_precincts_reported[region];
		return;
	}
	f = region == SIZE_MAX ? &t->contests[0].national : tally_totals_region(t, 0, region);
	*ret_total = f->precincts_total;
	*ret_reported = f->precincts_reported;
}

uint32_t tally_totals_conflicts(const struct tally_totals *t, size_t region)
{
	uint32_t n = 0;

	for (size_t ci = 0; ci < t->election->n_contests; ci++)
		n += region == SIZE_MAX ? t->contests[ci].national.conflicts
		                        : tally_totals_region(t, ci, region)->conflicts;
	return n;
}

/* One FIGURES line of the canonical text (totals.h). */
static void digest_figures(crypto_hash_sha256_state *h, const char *prefix, const char *id,
                           const struct tally_figures *f, size_t n_options)
{
	/* The longest: "district:", an id, 3 x 10 and 4 x 20 digits, spaces. */
	char line[16 + TALLY_ID_MAX + 128];
	int n = snprintf(
	    line, sizeof(line),
	    "%s%s %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	    prefix, id, f->precincts_total, f->precincts_reported, f->conflicts,
	    f->voters_registered, f->ballots_cast, f->ballots_invalid, f->ballots_not_counted);
	assert(n > 0 && (size_t)n < sizeof(line));
	crypto_hash_sha256_update(h, (const uint8_t *)line, (size_t)n);
	for (size_t i = 0; i < n_options; i++) {
		n = snprintf(line, sizeof(line), " %" PRIu64, f->votes[i]);
		crypto_hash_sha256_update(h, (const uint8_t *)line, (size_t)n);
	}
	crypto_hash_sha256_update(h, (const uint8_t *)"\n", 1);
}

/* The text of a definition without contests: "tally-totals-v1", as ever. */
static void digest_v1(const struct tally_totals *t, crypto_hash_sha256_state *h)
{
	const struct tally_election *e = t->election;
	size_t n_options = e->contests[0].n_options;

	digest_figures(h, "", "national", &t->contests[0].national, n_options);
	for (size_t i = 0; i < e->n_regions; i++)
		digest_figures(h, "", e->regions[i].id, tally_totals_region(t, 0, i), n_options);
}

/* The text of a definition with contests: "tally-totals-v2". */
static void digest_v2(const struct tally_totals *t, crypto_hash_sha256_state *h)
{
	const struct tally_election *e = t->election;
	char line[16 + TALLY_ID_MAX];

	for (size_t ci = 0; ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		const struct tally_contest_totals *ct = &t->contests[ci];
		int n = snprintf(line, sizeof(line), "contest %s\n", c->id);
		crypto_hash_sha256_update(h, (const uint8_t *)line, (size_t)n);
		digest_figures(h, "", "national", &ct->national, c->n_options);
		for (size_t k = 0; k < c->n_regions; k++)
			digest_figures(h, "", e->regions[c->regions[k]].id, &ct->regions[k],
			               c->n_options);
		for (size_t k = 0; k < c->n_districts; k++)
			digest_figures(h, "district:", e->districts[c->districts[k]].id,
			               &ct->districts[k], c->n_options);
	}
}

void tally_totals_digest(const struct tally_totals *t, uint8_t ret[TALLY_HASH_BYTES])
{
	const struct tally_election *e = t->election;
	bool legacy = tally_election_is_legacy(e);
	crypto_hash_sha256_state h;
	char line[TALLY_ID_MAX + 64];
	crypto_hash_sha256_init(&h);
	int n = snprintf(line, sizeof(line), "tally-totals-v%d %s %" PRIu64 "\n", legacy ? 1 : 2,
	                 e->election_id, t->sequence);
	crypto_hash_sha256_update(&h, (const uint8_t *)line, (size_t)n);
	if (legacy)
		digest_v1(t, &h);
	else
		digest_v2(t, &h);
	crypto_hash_sha256_final(&h, ret);
}
