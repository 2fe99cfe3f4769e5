/*
 * fuzz_election.c: the election definition parser on arbitrary bytes (passed
 * as an exact-size buffer without a trailing NUL). A refusal must be -EINVAL
 * or -ENOMEM with a message; an accepted definition must be internally
 * consistent: precincts sorted and unique, every index in range, regions',
 * districts' and contests' registered sums exact, every lookup finding what
 * the arrays hold, and every slot mapping back to its contest and precinct.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tally/election.h"

static void check_name(const struct tally_name *n)
{
	bool is_lang = false;

	CHECK(n->text != NULL);
	CHECK(n->n_langs <= TALLY_MAX_LANGS);
	for (size_t i = 0; i < n->n_langs; i++) {
		CHECK_STR(n->langs[i].tag, sizeof(n->langs[i].tag));
		CHECK(tally_name_get(n, n->langs[i].tag) != NULL);
		is_lang |= n->text == n->langs[i].text;
	}
	CHECK(n->n_langs == 0 || is_lang);
	CHECK(tally_name_get(n, NULL) == n->text);
}

/* An ascending list of indexes below `limit`. */
static void check_ascending(const uint32_t *v, size_t n, size_t limit)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i] < limit);
		if (i > 0)
			CHECK(v[i - 1] < v[i]);
	}
}

static void check_contests(const struct tally_election *e)
{
	size_t slots = 0;

	CHECK(e->n_contests >= 1);
	CHECK(tally_election_contest_index(e, "") == (e->n_contests == 1 ? 0 : -ENOENT));
	for (size_t i = 0; i < e->n_parties; i++) {
		CHECK_STR(e->parties[i].id, sizeof(e->parties[i].id));
		CHECK(tally_election_party_index(e, e->parties[i].id) == (int)i);
		check_name(&e->parties[i].name);
	}
	for (size_t i = 0; i < e->n_districts; i++) {
		const struct tally_district *d = &e->districts[i];
		uint64_t sum = 0;
		CHECK(tally_election_district_index(e, d->id) == (int)i);
		CHECK(d->n_precincts > 0);
		check_ascending(d->precincts, d->n_precincts, e->n_precincts);
		for (size_t k = 0; k < d->n_precincts; k++)
			sum += e->precincts[d->precincts[k]].registered;
		CHECK(sum == d->registered);
		check_name(&d->name);
	}
	for (size_t i = 0; i < e->n_contests; i++) {
		const struct tally_contest *c = &e->contests[i];
		uint64_t sum = 0;
		CHECK_STR(c->id, sizeof(c->id));
		CHECK(tally_election_contest_index(e, c->id) == (int)i);
		check_name(&c->name);
		CHECK(c->n_options >= 1 && c->n_options <= TALLY_MAX_OPTIONS);
		for (size_t k = 0; k < c->n_options; k++) {
			const struct tally_contest_option *o = &c->options[k];
			CHECK(tally_contest_option_index(c, o->id) == (int)k);
			CHECK(o->party >= -1 && o->party < (int32_t)e->n_parties);
			CHECK(!(o->against_all && o->party >= 0));
			CHECK(o->list_length == 0 || c->kind == TALLY_CONTEST_PARTY_LIST);
			CHECK_STR(o->color, sizeof(o->color));
			check_name(&o->name);
		}
		CHECK(c->kind == TALLY_CONTEST_REFERENDUM
		          ? c->seats == 0
		          : c->seats >= 1 && c->seats <= TALLY_MAX_SEATS);
		CHECK(c->rules.min_turnout_ppm <= TALLY_PPM);
		CHECK(c->rules.region_majority_ppm <= TALLY_PPM);
		CHECK(c->rules.threshold_ppm <= TALLY_PPM);
		CHECK((c->scope == TALLY_SCOPE_DISTRICT) ==
		      (c->district >= 0 && (size_t)c->district < e->n_districts));
		check_ascending(c->scope_regions, c->n_scope_regions, e->n_regions);
		check_ascending(c->precincts, c->n_precincts, e->n_precincts);
		check_ascending(c->regions, c->n_regions, e->n_regions);
		CHECK(c->slot_base == slots);
		for (size_t k = 0; k < c->n_precincts; k++)
			sum += e->precincts[c->precincts[k]].registered;
		CHECK(sum == c->registered);
		if (c->scope == TALLY_SCOPE_NATIONAL)
			CHECK(c->n_precincts == e->n_precincts);
		slots += c->n_precincts;
	}
	CHECK(slots == e->n_slots);
	/* Every slot maps back, and every (contest, precinct) pair agrees. */
	for (size_t s = 0; s < e->n_slots; s++) {
		size_t c = 0, p = 0;
		tally_election_slot_info(e, s, &c, &p);
		CHECK(c < e->n_contests && p < e->n_precincts);
		CHECK(tally_election_slot(e, c, p) == (int64_t)s);
	}
	for (size_t c = 0; c < e->n_contests; c++) {
		size_t in = 0;
		for (size_t p = 0; p < e->n_precincts; p++)
			in += tally_election_slot(e, c, p) >= 0;
		CHECK(in == e->contests[c].n_precincts);
	}
	/* The legacy referendum's fields mirror its one contest. */
	if (e->n_options > 0) {
		CHECK(e->n_contests == 1);
		CHECK(e->n_options == e->contests[0].n_options);
		for (size_t k = 0; k < e->n_options; k++)
			CHECK(strcmp(e->options[k].id, e->contests[0].options[k].id) == 0);
	}
}

static void check_election(const struct tally_election *e)
{
	uint64_t registered = 0;
	size_t in_regions = 0;

	CHECK_STR(e->election_id, sizeof(e->election_id));
	CHECK(e->n_options <= TALLY_MAX_OPTIONS);
	for (size_t i = 0; i < e->n_options; i++) {
		CHECK_STR(e->options[i].id, sizeof(e->options[i].id));
		CHECK(tally_election_option_index(e, e->options[i].id) == (int)i);
	}
	for (size_t i = 0; i < e->n_precincts; i++) {
		const struct tally_precinct *p = &e->precincts[i];
		if (i > 0)
			CHECK(e->precincts[i - 1].id < p->id);
		CHECK(p->region < e->n_regions);
		CHECK(tally_election_precinct_index(e, p->id) == (int64_t)i);
		registered += p->registered;
	}
	CHECK(registered == e->registered);
	for (size_t r = 0; r < e->n_regions; r++) {
		const struct tally_region *reg = &e->regions[r];
		uint64_t sum = 0;
		CHECK_STR(reg->id, sizeof(reg->id));
		check_name(&reg->names);
		CHECK(reg->name == reg->names.text);
		CHECK(!reg->has_tile || (reg->tile_col >= 0 && reg->tile_col <= TALLY_TILE_MAX &&
		                         reg->tile_row >= 0 && reg->tile_row <= TALLY_TILE_MAX));
		CHECK(tally_election_region_index(e, reg->id) == (int)r);
		for (size_t j = 0; j < reg->n_precincts; j++) {
			uint32_t pi = reg->precincts[j];
			CHECK(pi < e->n_precincts);
			CHECK(e->precincts[pi].region == r);
			if (j > 0)
				CHECK(e->precincts[reg->precincts[j - 1]].id < e->precincts[pi].id);
			sum += e->precincts[pi].registered;
		}
		CHECK(sum == reg->registered);
		in_regions += reg->n_precincts;
	}
	CHECK(in_regions == e->n_precincts);
	if (e->rules.has_min_turnout)
		CHECK(e->rules.min_turnout_pct == e->rules.min_turnout_pct); /* not NaN */
	if (e->rules.has_region_majority)
		CHECK(e->rules.region_majority_fraction == e->rules.region_majority_fraction);
	CHECK(tally_election_precinct_index(e, 0) < 0 || e->n_precincts > 0);
	CHECK(tally_election_region_index(e, "") < 0);
	check_name(&e->titles);
	CHECK(e->title == e->titles.text);
	check_contests(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally_election *e = NULL;
	struct tally_err err;
	char *buf = malloc(size ? size : 1);
	int r;

	CHECK(buf != NULL);
	memcpy(buf, data, size);
	memset(&err, 0, sizeof(err));
	r = tally_election_parse(buf, size, &e, &err);
	if (r == 0) {
		CHECK(e != NULL);
		check_election(e);
	} else {
		CHECK(r == -EINVAL || r == -ENOMEM);
		CHECK_STR(err.msg, sizeof(err.msg));
		CHECK(err.msg[0] != '\0');
	}
	CHECK(tally_election_free(e) == NULL);
	free(buf);
	return 0;
}
