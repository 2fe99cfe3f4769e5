/*
 * election_fixture.h: elections built in memory for unit tests that need
 * no files (test_totals.c, test_pending.c).
 */
#ifndef TALLY_TEST_ELECTION_FIXTURE_H
#define TALLY_TEST_ELECTION_FIXTURE_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/election.h"

/* An election of n_regions regions with per_region precincts each (ids
 * region*1000 + k + 1), options yes/no, `registered` voters per precinct.
 * Built from a definition text through the real loader, so it has what a
 * loaded definition has (the referendum contest, slots, indexes). */
static struct tally_election *mk_election(size_t n_regions, size_t per_region, uint32_t registered,
                                          int rules)
{
	size_t cap = 512 + n_regions * (64 + per_region * 32);
	char *json = malloc(cap);
	cr_assert(json);
	size_t o = (size_t)snprintf(json, cap,
	                            "{\"election_id\": \"test-2024\", \"title\": \"Test\","
	                            " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"},"
	                            " {\"id\": \"no\", \"name\": \"No\"}], \"regions\": [");
	for (size_t r = 0; r < n_regions; r++) {
		o += (size_t)snprintf(json + o, cap - o,
		                      "%s{\"id\": \"KZ-%02zu\", \"name\": \"Region %zu\", "
		                      "\"precincts\": [",
		                      r ? ", " : "", r + 10, r);
		for (size_t k = 0; k < per_region; k++)
			o += (size_t)snprintf(json + o, cap - o, "%s[%zu, %" PRIu32 "]",
			                      k ? ", " : "", (r + 1) * 1000 + k + 1, registered);
		o += (size_t)snprintf(json + o, cap - o, "]}");
	}
	o += (size_t)snprintf(json + o, cap - o, "]%s}",
	                      rules ? ", \"rules\": {\"min_turnout_pct\": 50, "
	                              "\"region_majority_fraction\": 0.6667}"
	                            : "");
	cr_assert_lt(o, cap);
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(json, o, &e, &err), 0, "fixture election: %s", err.msg);
	free(json);
	return e;
}

static void free_election(struct tally_election *e)
{
	tally_election_free(e);
}

#endif
