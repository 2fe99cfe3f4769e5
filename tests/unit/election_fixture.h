/*
 * election_fixture.h: elections built in memory for unit tests that need
 * no files (test_totals.c, test_pending.c).
 */
#ifndef TALLY_TEST_ELECTION_FIXTURE_H
#define TALLY_TEST_ELECTION_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/election.h"

/* An election of n_regions regions with per_region precincts each (ids
 * region*1000 + k + 1), options yes/no, `registered` voters per precinct. */
static struct tally_election *mk_election(size_t n_regions, size_t per_region, uint32_t registered,
                                          int rules)
{
	struct tally_election *e = calloc(1, sizeof(*e));
	cr_assert(e);
	snprintf(e->election_id, sizeof(e->election_id), "test-2024");
	e->n_options = 2;
	e->options = calloc(2, sizeof(*e->options));
	strcpy(e->options[0].id, "yes");
	strcpy(e->options[1].id, "no");
	e->options[0].name = strdup("Yes");
	e->options[1].name = strdup("No");
	e->n_regions = n_regions;
	e->regions = calloc(n_regions, sizeof(*e->regions));
	e->n_precincts = n_regions * per_region;
	e->precincts = calloc(e->n_precincts, sizeof(*e->precincts));
	for (size_t r = 0; r < n_regions; r++) {
		struct tally_region *reg = &e->regions[r];
		snprintf(reg->id, sizeof(reg->id), "KZ-%02zu", r + 10);
		char name[32];
		snprintf(name, sizeof(name), "Region %zu", r);
		reg->name = strdup(name);
		reg->n_precincts = per_region;
		reg->precincts = calloc(per_region, sizeof(uint32_t));
		for (size_t k = 0; k < per_region; k++) {
			size_t i = r * per_region + k;
			e->precincts[i].id = (uint32_t)((r + 1) * 1000 + k + 1);
			e->precincts[i].registered = registered;
			e->precincts[i].region = (uint32_t)r;
			reg->precincts[k] = (uint32_t)i;
			reg->registered += registered;
		}
		e->registered += reg->registered;
	}
	if (rules) {
		e->rules.has_min_turnout = true;
		e->rules.min_turnout_pct = 50;
		e->rules.has_region_majority = true;
		e->rules.region_majority_fraction = 0.6667;
	}
	return e;
}

static void free_election(struct tally_election *e)
{
	for (size_t i = 0; i < e->n_options; i++)
		free(e->options[i].name);
	for (size_t r = 0; r < e->n_regions; r++) {
		free(e->regions[r].name);
		free(e->regions[r].precincts);
	}
	free(e->options);
	free(e->regions);
	free(e->precincts);
	free(e);
}

#endif
