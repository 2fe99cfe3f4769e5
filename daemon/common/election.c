/*
 * election.c: the election model and its lookups. It owns the structs'
 * lifetime (free), derives what follows from a contest's scope (the
 * precincts voting in it, their registered voters and regions, the slots)
 * and answers every lookup a result needs on its way in: precinct by id
 * (bsearch over the sorted precincts), contest, party and district by id
 * (bsearch over indexes sorted by id), slot by (contest, precinct). No
 * JSON and no files: election_load.c reads definitions and catches an
 * operator's mistakes; this file assumes a model that passed those checks.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tally/election.h"

/* The by-id indexes find the id at the start of each element. */
_Static_assert(offsetof(struct tally_party, id) == 0, "party id first");
_Static_assert(offsetof(struct tally_district, id) == 0, "district id first");
_Static_assert(offsetof(struct tally_contest, id) == 0, "contest id first");

const char *tally_name_get(const struct tally_name *n, const char *lang)
{
	if (lang != NULL) {
		for (size_t i = 0; i < n->n_langs; i++) {
			if (strcmp(n->langs[i].tag, lang) == 0)
				return n->langs[i].text;
		}
	}
	return n->text;
}

static void name_clear(struct tally_name *n)
{
	/* With languages, `text` is one of theirs. */
	if (n->n_langs == 0)
		free(n->text);
	for (size_t i = 0; i < n->n_langs; i++)
		free(n->langs[i].text);
	memset(n, 0, sizeof(*n));
}

/*
 * A contest's derived lists. National contests share e->all_precincts and
 * district contests their district's list; only a contest scoped to
 * regions owns its precinct list.
 */
static void contest_clear_derived(struct tally_contest *c)
{
	if (c->scope == TALLY_SCOPE_REGIONS)
		free(c->precincts);
	free(c->regions);
	free(c->districts);
	c->precincts = NULL;
	c->n_precincts = 0;
	c->regions = NULL;
	c->n_regions = 0;
	c->districts = NULL;
	c->n_districts = 0;
	c->registered = 0;
	c->slot_base = 0;
}

struct tally_election *tally_election_free(struct tally_election *e)
{
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->n_options; i++)
		free(e->options[i].name);
	free(e->options);
	for (size_t i = 0; i < e->n_regions; i++) {
		struct tally_region *r = &e->regions[i];
		/* A model built in memory may set `name` alone. */
		if (r->name != r->names.text)
			free(r->name);
		name_clear(&r->names);
		free(r->precincts);
	}
	free(e->regions);
	free(e->precincts);
	for (size_t i = 0; i < e->n_parties; i++)
		name_clear(&e->parties[i].name);
	free(e->parties);
	for (size_t i = 0; i < e->n_contests; i++) {
		struct tally_contest *c = &e->contests[i];
		contest_clear_derived(c);
		name_clear(&c->name);
		free(c->scope_regions);
		for (size_t k = 0; k < c->n_options; k++)
			name_clear(&c->options[k].name);
		free(c->options);
	}
	free(e->contests);
	for (size_t i = 0; i < e->n_districts; i++) {
		name_clear(&e->districts[i].name);
		free(e->districts[i].precincts);
	}
	free(e->districts);
	if (e->title != e->titles.text)
		free(e->title);
	name_clear(&e->titles);
	free(e->all_precincts);
	free(e->precinct_district_start);
	free(e->precinct_districts);
	free(e->party_by_id);
	free(e->district_by_id);
	free(e->contest_by_id);
	free(e);
	return NULL;
}

/* ---- indexes by id ---- */

struct id_ref {
	const char *id;
	uint32_t index;
};

static int cmp_id_ref(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	/* Equal ids (a model the loader refused) stay in definition order. */
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Positions 0..n-1 of `base` (elements of `stride` bytes, each starting
 * with its id) sorted by id, into *ret (replacing what it held).
 */
static int index_by_id(const void *base, size_t n, size_t stride, uint32_t **ret)
{
	struct id_ref *refs;
	uint32_t *idx;

	free(*ret);
	*ret = NULL;
	if (n == 0)
		return 0;
	refs = malloc(n * sizeof(*refs));
	idx = malloc(n * sizeof(*idx));
	if (refs == NULL || idx == NULL) {
		free(refs);
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		refs[i].id = (const char *)base + i * stride;
		refs[i].index = (uint32_t)i;
	}
	qsort(refs, n, sizeof(*refs), cmp_id_ref);
	for (size_t i = 0; i < n; i++)
		idx[i] = refs[i].index;
	free(refs);
	*ret = idx;
	return 0;
}

static int find_by_id(const void *base, size_t n, size_t stride, const uint32_t *by_id,
                      const char *id)
{
	size_t lo = 0, hi = n;

	if (by_id == NULL)
		return -ENOENT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, (const char *)base + (size_t)by_id[mid] * stride);
		if (c == 0)
			return (int)by_id[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

/* ---- what follows from a contest's scope ---- */

/* c->precincts for a contest scoped to regions: theirs, in index order. */
static int scope_regions_precincts(const struct tally_election *e, struct tally_contest *c,
                                   uint8_t *mark)
{
	size_t n = 0;

	memset(mark, 0, e->n_regions);
	for (size_t k = 0; k < c->n_scope_regions; k++) {
		mark[c->scope_regions[k]] = 1;
		n += e->regions[c->scope_regions[k]].n_precincts;
	}
	c->precincts = malloc((n ? n : 1) * sizeof(*c->precincts));
	if (c->precincts == NULL)
		return -ENOMEM;
	/* Walking every precinct keeps the list ascending without a merge. */
	for (size_t i = 0; i < e->n_precincts; i++) {
		if (mark[e->precincts[i].region])
			c->precincts[c->n_precincts++] = (uint32_t)i;
	}
	return 0;
}

/* Registered voters and the regions of c's precincts. */
static int contest_sums(const struct tally_election *e, struct tally_contest *c, uint8_t *mark)
{
	size_t n = 0;

	memset(mark, 0, e->n_regions);
	for (size_t k = 0; k < c->n_precincts; k++) {
		const struct tally_precinct *p = &e->precincts[c->precincts[k]];
		c->registered += p->registered;
		if (!mark[p->region]) {
			mark[p->region] = 1;
			n++;
		}
	}
	c->regions = malloc((n ? n : 1) * sizeof(*c->regions));
	if (c->regions == NULL)
		return -ENOMEM;
	for (size_t r = 0; r < e->n_regions; r++) {
		if (mark[r])
			c->regions[c->n_regions++] = (uint32_t)r;
	}
	return 0;
}

/*
 * The districts wholly inside c's scope. `mark` flags c's scope regions
 * (contest_sums() leaves there the regions of its precincts, which for a
 * contest scoped to regions are among them; a district inside the scope
 * has all its precincts' regions marked).
 */
static int contest_districts(const struct tally_election *e, struct tally_contest *c, uint8_t *mark)
{
	size_t n = 0;

	c->districts = malloc((e->n_districts ? e->n_districts : 1) * sizeof(*c->districts));
	if (c->districts == NULL)
		return -ENOMEM;
	switch (c->scope) {
	case TALLY_SCOPE_NATIONAL:
		for (size_t d = 0; d < e->n_districts; d++)
			c->districts[n++] = (uint32_t)d;
		break;
	case TALLY_SCOPE_DISTRICT:
		c->districts[n++] = (uint32_t)c->district;
		break;
	case TALLY_SCOPE_REGIONS:
		memset(mark, 0, e->n_regions);
		for (size_t k = 0; k < c->n_scope_regions; k++)
			mark[c->scope_regions[k]] = 1;
		for (size_t d = 0; d < e->n_districts; d++) {
			const struct tally_district *dist = &e->districts[d];
			bool inside = dist->n_precincts > 0;
			for (size_t k = 0; k < dist->n_precincts && inside; k++)
				inside = mark[e->precincts[dist->precincts[k]].region];
			if (inside)
				c->districts[n++] = (uint32_t)d;
		}
		break;
	}
	c->n_districts = n;
	/* Thousands of district contests would each hold a list of every district. */
	if (n < e->n_districts) {
		uint32_t *p = realloc(c->districts, (n ? n : 1) * sizeof(*c->districts));
		if (p != NULL)
			c->districts = p;
	}
	return 0;
}

/* e->precinct_district_start and e->precinct_districts (compressed rows). */
static int precinct_districts(struct tally_election *e)
{
	uint32_t *start, *list;
	size_t total = 0;

	free(e->precinct_district_start);
	free(e->precinct_districts);
	e->precinct_district_start = NULL;
	e->precinct_districts = NULL;
	if (e->n_districts == 0)
		return 0;
	for (size_t d = 0; d < e->n_districts; d++)
		total += e->districts[d].n_precincts;
	if (total > UINT32_MAX)
		return -EOVERFLOW;
	start = calloc(e->n_precincts + 1, sizeof(*start));
	list = malloc((total ? total : 1) * sizeof(*list));
	if (start == NULL || list == NULL) {
		free(start);
		free(list);
		return -ENOMEM;
	}
	/* Count each precinct's districts, turn the counts into row starts,
	 * then fill the rows walking districts in order (so each row ascends). */
	for (size_t d = 0; d < e->n_districts; d++)
		for (size_t k = 0; k < e->districts[d].n_precincts; k++)
			start[e->districts[d].precincts[k] + 1]++;
	for (size_t i = 0; i < e->n_precincts; i++)
		start[i + 1] += start[i];
	for (size_t d = 0; d < e->n_districts; d++)
		for (size_t k = 0; k < e->districts[d].n_precincts; k++)
			list[start[e->districts[d].precincts[k]]++] = (uint32_t)d;
	/* Filling moved each start to the next row's: shift them back. */
	for (size_t i = e->n_precincts; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	e->precinct_district_start = start;
	e->precinct_districts = list;
	return 0;
}

int tally_election_index(struct tally_election *e)
{
	uint8_t *mark;
	size_t slot = 0;
	int rc = 0;

	for (size_t i = 0; i < e->n_contests; i++)
		contest_clear_derived(&e->contests[i]);
	free(e->all_precincts);
	e->all_precincts = NULL;
	e->n_slots = 0;
	for (size_t i = 0; i < e->n_contests && e->all_precincts == NULL; i++) {
		if (e->contests[i].scope != TALLY_SCOPE_NATIONAL)
			continue;
		e->all_precincts =
		    malloc((e->n_precincts ? e->n_precincts : 1) * sizeof(*e->all_precincts));
		if (e->all_precincts == NULL)
			return -ENOMEM;
		for (size_t k = 0; k < e->n_precincts; k++)
			e->all_precincts[k] = (uint32_t)k;
	}
	mark = malloc(e->n_regions ? e->n_regions : 1);
	if (mark == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_contests; i++) {
		struct tally_contest *c = &e->contests[i];
		switch (c->scope) {
		case TALLY_SCOPE_NATIONAL:
			c->precincts = e->all_precincts;
			c->n_precincts = e->n_precincts;
			break;
		case TALLY_SCOPE_DISTRICT:
			assert(c->district >= 0 && (size_t)c->district < e->n_districts);
			c->precincts = e->districts[c->district].precincts;
			c->n_precincts = e->districts[c->district].n_precincts;
			break;
		case TALLY_SCOPE_REGIONS:
			rc = scope_regions_precincts(e, c, mark);
			break;
		}
		if (rc == 0)
			rc = contest_sums(e, c, mark);
		if (rc == 0)
			rc = contest_districts(e, c, mark);
		if (rc < 0)
			goto out;
		c->slot_base = slot;
		slot += c->n_precincts;
	}
	e->n_slots = slot;
	rc = precinct_districts(e);
	if (rc == 0)
		rc = index_by_id(e->parties, e->n_parties, sizeof(*e->parties), &e->party_by_id);
	if (rc == 0)
		rc = index_by_id(e->districts, e->n_districts, sizeof(*e->districts),
		                 &e->district_by_id);
	if (rc == 0)
		rc = index_by_id(e->contests, e->n_contests, sizeof(*e->contests),
		                 &e->contest_by_id);
out:
	free(mark);
	return rc;
}

/* ---- lookups ---- */

static int cmp_precinct_id(const void *key, const void *elem)
{
	uint32_t id = *(const uint32_t *)key;
	const struct tally_precinct *p = elem;

	return id < p->id ? -1 : id > p->id;
}

int64_t tally_election_precinct_index(const struct tally_election *e, uint32_t precinct_id)
{
	const struct tally_precinct *p;

	if (e->n_precincts == 0)
		return -ENOENT;
	p = bsearch(&precinct_id, e->precincts, e->n_precincts, sizeof(*p), cmp_precinct_id);
	return p ? (int64_t)(p - e->precincts) : -ENOENT;
}

int tally_election_region_index(const struct tally_election *e, const char *region_id)
{
	for (size_t i = 0; i < e->n_regions; i++) {
		if (strcmp(e->regions[i].id, region_id) == 0)
			return (int)i;
	}
	return -ENOENT;
}

int tally_election_option_index(const struct tally_election *e, const char *option_id)
{
	for (size_t i = 0; i < e->n_options; i++) {
		if (strcmp(e->options[i].id, option_id) == 0)
			return (int)i;
	}
	return -ENOENT;
}

int tally_election_contest_index(const struct tally_election *e, const char *contest_id)
{
	/* Results of a one-contest election may leave the contest out. */
	if (contest_id[0] == '\0')
		return e->n_contests == 1 ? 0 : -ENOENT;
	return find_by_id(e->contests, e->n_contests, sizeof(*e->contests), e->contest_by_id,
	                  contest_id);
}

int tally_election_district_index(const struct tally_election *e, const char *id)
{
	return find_by_id(e->districts, e->n_districts, sizeof(*e->districts), e->district_by_id,
	                  id);
}

int tally_election_party_index(const struct tally_election *e, const char *id)
{
	return find_by_id(e->parties, e->n_parties, sizeof(*e->parties), e->party_by_id, id);
}

int tally_contest_option_index(const struct tally_contest *c, const char *option_id)
{
	for (size_t i = 0; i < c->n_options; i++) {
		if (strcmp(c->options[i].id, option_id) == 0)
			return (int)i;
	}
	return -ENOENT;
}

int64_t tally_election_slot(const struct tally_election *e, size_t contest, size_t precinct_index)
{
	const struct tally_contest *c;
	size_t lo = 0, hi;

	assert(contest < e->n_contests && precinct_index < e->n_precincts);
	c = &e->contests[contest];
	/* A national contest holds every precinct, in index order. */
	if (c->scope == TALLY_SCOPE_NATIONAL)
		return (int64_t)(c->slot_base + precinct_index);
	hi = c->n_precincts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->precincts[mid] == precinct_index)
			return (int64_t)(c->slot_base + mid);
		if (c->precincts[mid] < precinct_index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

void tally_election_slot_info(const struct tally_election *e, size_t slot, size_t *ret_contest,
                              size_t *ret_precinct_index)
{
	/*
	 * The last contest whose slots start at or before `slot`: a contest
	 * with no precincts starts where the next one does, so the last one
	 * with that start is the one holding the slot.
	 */
	size_t lo = 0, hi = e->n_contests;

	assert(slot < e->n_slots);
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->contests[mid].slot_base <= slot)
			lo = mid;
		else
			hi = mid;
	}
	assert(slot - e->contests[lo].slot_base < e->contests[lo].n_precincts);
	*ret_contest = lo;
	*ret_precinct_index = e->contests[lo].precincts[slot - e->contests[lo].slot_base];
}

const uint32_t *tally_election_precinct_districts(const struct tally_election *e,
                                                  size_t precinct_index, size_t *ret_n)
{
	assert(precinct_index < e->n_precincts);
	if (e->precinct_district_start == NULL) {
		*ret_n = 0;
		return NULL;
	}
	uint32_t a = e->precinct_district_start[precinct_index];
	uint32_t b = e->precinct_district_start[precinct_index + 1];
	*ret_n = b - a;
	return b > a ? &e->precinct_districts[a] : NULL;
}

/* Position of v in the ascending list[0..n), or -ENOENT. */
static int position(const uint32_t *list, size_t n, size_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (list[mid] == v)
			return (int)mid;
		if (list[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

int tally_contest_region_position(const struct tally_contest *c, size_t region)
{
	return position(c->regions, c->n_regions, region);
}

int tally_contest_district_position(const struct tally_contest *c, size_t district)
{
	return position(c->districts, c->n_districts, district);
}
