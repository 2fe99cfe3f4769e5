/*
 * election_fixture.h: elections built in memory for unit tests that need
 * no files (test_totals.c, test_pending.c): a referendum of any size, and
 * a general election of three contests.
 */
#ifndef TALLY_TEST_ELECTION_FIXTURE_H
#define TALLY_TEST_ELECTION_FIXTURE_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/election.h"
#include "tally/result.h"

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

/* A referendum protocol for precinct index pi of a mk_election() election:
 * "no" gets what is left of the valid ballots. */
static inline struct tally_result mk_result(const struct tally_election *e, size_t pi,
                                            uint32_t revision, uint32_t registered, uint32_t cast,
                                            uint32_t invalid, uint32_t not_counted, uint32_t yes)
{
	struct tally_result r;
	memset(&r, 0, sizeof(r));
	strcpy(r.election_id, e->election_id);
	strcpy(r.region_id, e->regions[e->precincts[pi].region].id);
	r.precinct_id = e->precincts[pi].id;
	r.revision = revision;
	r.voters_registered = registered;
	r.ballots_cast = cast;
	r.ballots_issued = cast;
	r.ballots_received = cast;
	r.ballots_invalid = invalid;
	r.ballots_not_counted = not_counted;
	r.n_votes = 2;
	strcpy(r.votes[0].option_id, "yes");
	r.votes[0].count = yes;
	strcpy(r.votes[1].option_id, "no");
	r.votes[1].count = cast - invalid - not_counted - yes;
	return r;
}

/*
 * A general election of three contests over three regions and seven
 * precincts (indexes 0..6 are ids 101, 102, 103, 201, 202, 301, 302):
 *
 *   regions    R1 {101, 102, 103}, R2 {201, 202}, R3 {301, 302}
 *   districts  D-A {102, 201} (across R1 and R2), D-B {301, 302} (R3),
 *              D-C {103} (R1)
 *   contests   0 "list"   national party list: p1, p2, p3
 *              1 "gov"    candidates in regions R2 and R3: g1, g2
 *              2 "dist-a" candidates in district D-A: x, y, z, against all
 *
 * The G_* tables say the same by hand, so that tests can compute what
 * totals must hold without reading the model they check.
 */
#define G_PRECINCTS 7
#define G_REGIONS   3
#define G_DISTRICTS 3
#define G_CONTESTS  3
static const uint32_t g_precinct_id[G_PRECINCTS] = {101, 102, 103, 201, 202, 301, 302};
static const uint32_t g_registered[G_PRECINCTS] = {1000, 800, 600, 900, 700, 500, 400};
static const size_t g_region_of[G_PRECINCTS] = {0, 0, 0, 1, 1, 2, 2};
static const char *const g_region_id[G_REGIONS] = {"R1", "R2", "R3"};
static const char *const g_district_id[G_DISTRICTS] = {"D-A", "D-B", "D-C"};
/* By precinct index: '1' where the precinct is in the district / votes in the contest. */
static const char *const g_in_district[G_DISTRICTS] = {"0101000", "0000011", "0010000"};
static const char *const g_in_contest[G_CONTESTS] = {"1111111", "0001111", "0101000"};
static const char *const g_contest_id[G_CONTESTS] = {"list", "gov", "dist-a"};
static const size_t g_n_options[G_CONTESTS] = {3, 2, 4};
static const char *const g_options[G_CONTESTS][4] = {
    {"p1", "p2", "p3"}, {"g1", "g2"}, {"x", "y", "z", "against"}};
/* Regions and districts each contest keeps figures for, in order. */
static const size_t g_n_contest_regions[G_CONTESTS] = {3, 2, 2};
static const size_t g_contest_regions[G_CONTESTS][3] = {{0, 1, 2}, {1, 2}, {0, 1}};
static const size_t g_n_contest_districts[G_CONTESTS] = {3, 1, 1};
static const size_t g_contest_districts[G_CONTESTS][3] = {{0, 1, 2}, {1}, {0}};

static inline struct tally_election *mk_general_election(void)
{
	static const char json[] =
	    "{\"election_id\": \"general-2024\", \"title\": \"General\","
	    " \"regions\": ["
	    "  {\"id\": \"R1\", \"name\": \"One\", \"precincts\": [[101, 1000], [102, 800], [103, "
	    "600]]},"
	    "  {\"id\": \"R2\", \"name\": \"Two\", \"precincts\": [[201, 900], [202, 700]]},"
	    "  {\"id\": \"R3\", \"name\": \"Three\", \"precincts\": [[301, 500], [302, 400]]}],"
	    " \"districts\": [{\"id\": \"D-A\", \"precincts\": [201, 102]},"
	    "  {\"id\": \"D-B\", \"precincts\": [301, 302]},"
	    "  {\"id\": \"D-C\", \"precincts\": [103]}],"
	    " \"contests\": ["
	    "  {\"id\": \"list\", \"kind\": \"party_list\", \"scope\": \"national\","
	    "   \"seats\": 10, \"rules\": {\"method\": \"hare\"},"
	    "   \"options\": [{\"id\": \"p1\"}, {\"id\": \"p2\"}, {\"id\": \"p3\"}]},"
	    "  {\"id\": \"gov\", \"kind\": \"candidate\","
	    "   \"scope\": {\"regions\": [\"R2\", \"R3\"]},"
	    "   \"options\": [{\"id\": \"g1\"}, {\"id\": \"g2\"}]},"
	    "  {\"id\": \"dist-a\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D-A\"},"
	    "   \"options\": [{\"id\": \"x\"}, {\"id\": \"y\"}, {\"id\": \"z\"},"
	    "    {\"id\": \"against\", \"against_all\": true}]}]}";
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(json, sizeof(json) - 1, &e, &err), 0,
	             "general election: %s", err.msg);
	return e;
}

#endif
