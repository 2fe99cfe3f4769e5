/*
 * election.h: the election definition, loaded from JSON (jansson):
 *
 *   {"election_id": "...", "title": "...",
 *    "options": [{"id": "yes", "name": "Yes"}, ...],
 *    "regions": [{"id": "KZ-71", "name": "Astana",
 *                 "precincts": [{"id": 1, "registered": 1234}, ...]}, ...],
 *    "rules": {"min_turnout_pct": 50, "region_majority_fraction": 0.6667}}
 *
 * "rules" is optional; so is each of its keys. Precinct ids are unique
 * nationally. Errors name the JSON path and the problem, e.g.
 * `regions[3].precincts[17].id: duplicate precinct id 4711 (first at
 * regions[0].precincts[2])`.
 *
 * A precinct may also be written in the compact form [id, registered]
 * (exactly two integers), in any mix with objects: [4711, 1234] is
 * {"id": 4711, "registered": 1234}. jansson holds an array in less than
 * half the memory of an object, so large definitions should use it
 * (`deploy/election.py generate` does above 250,000 precincts). Errors in
 * it name the element: `regions[3].precincts[17][0]: 0 is out of range
 * (1..4294967295)`, `regions[3].precincts[17]: expected [id, registered],
 * got an array of 3 elements`, and a duplicate id written compactly is
 * reported at `regions[3].precincts[17][0]`.
 *
 * Memory: tally_election_load() streams the file into jansson (no copy of
 * the whole file), frees each region's tree as soon as it is converted,
 * and with glibc calls malloc_trim(0) before returning, so the process
 * does not keep the parser's freed heap resident.
 */
#ifndef TALLY_ELECTION_H
#define TALLY_ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/err.h"
#include "tally/result.h"

struct tally_option {
	char id[TALLY_ID_MAX];
	char *name;
};

struct tally_precinct {
	uint32_t id;
	uint32_t registered;
	uint32_t region; /* index into election->regions */
};

struct tally_region {
	char id[TALLY_ID_MAX];
	char *name;
	uint64_t registered; /* sum over its precincts */
	size_t n_precincts;
	uint32_t *precincts; /* indexes into election->precincts, ascending id */
};

struct tally_rules {
	bool has_min_turnout;
	double min_turnout_pct;
	bool has_region_majority;
	double region_majority_fraction;
};

/* Owns everything it points to. */
struct tally_election {
	char election_id[TALLY_ID_MAX];
	char *title;
	size_t n_options;
	struct tally_option *options;
	size_t n_regions;
	struct tally_region *regions;
	size_t n_precincts;
	struct tally_precinct *precincts; /* sorted by id */
	uint64_t registered;
	struct tally_rules rules;
};

/* Returns 0, -ENOENT/-EACCES (file), -EINVAL (err: path and problem), -ENOMEM. */
int tally_election_load(const char *path, struct tally_election **ret, struct tally_err *err);
int tally_election_parse(const char *json, size_t len, struct tally_election **ret,
                         struct tally_err *err);
struct tally_election *tally_election_free(struct tally_election *e);

/* Index into e->precincts, or -ENOENT. */
int64_t tally_election_precinct_index(const struct tally_election *e, uint32_t precinct_id);
/* Index into e->regions / e->options, or -ENOENT. */
int tally_election_region_index(const struct tally_election *e, const char *region_id);
int tally_election_option_index(const struct tally_election *e, const char *option_id);

#endif
