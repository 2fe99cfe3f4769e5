/*
 * Tests for election.c: a valid definition loads with its indexes, and
 * every mistake an operator can make is reported with its JSON path and
 * the exact problem.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tally/election.h"

#define OPTIONS                                                                                    \
	"\"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}]"

static const char valid[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\", " OPTIONS ", "
    "\"regions\": ["
    "  {\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": ["
    "    {\"id\": 30, \"registered\": 1000}, {\"id\": 10, \"registered\": 4294967295}]},"
    "  {\"id\": \"KZ-10\", \"name\": \"Abai\", \"precincts\": ["
    "    {\"id\": 20, \"registered\": 500}]},"
    "  {\"id\": \"KZ-62\", \"name\": \"Ulytau\", \"precincts\": []}"
    "], \"rules\": {\"min_turnout_pct\": 50, \"region_majority_fraction\": 0.6667}}";

static void expect_error(const char *json, const char *msg)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_election_parse(json, strlen(json), &e, &err), -EINVAL, "accepted: %s",
	             json);
	cr_assert_null(e);
	cr_assert_str_eq(err.msg, msg);
}

/* A definition with `regions` replaced. */
static void expect_regions_error(const char *regions, const char *msg)
{
	char json[4096];
	snprintf(json, sizeof(json),
	         "{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS ", \"regions\": %s}",
	         regions);
	expect_error(json, msg);
}

Test(election, valid_definition_loads_with_indexes)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_election_parse(valid, strlen(valid), &e, &err), 0, "%s", err.msg);
	cr_assert_str_eq(e->election_id, "kz-2026");
	cr_assert_str_eq(e->title, "Referendum");
	cr_assert_eq(e->n_options, 2);
	cr_assert_str_eq(e->options[0].id, "yes");
	cr_assert_str_eq(e->options[1].name, "No");
	cr_assert_eq(e->n_regions, 3);
	cr_assert_eq(e->n_precincts, 3);
	/* Sorted by id across regions. */
	cr_assert_eq(e->precincts[0].id, 10);
	cr_assert_eq(e->precincts[0].region, 0);
	cr_assert_eq(e->precincts[0].registered, 4294967295u);
	cr_assert_eq(e->precincts[1].id, 20);
	cr_assert_eq(e->precincts[1].region, 1);
	cr_assert_eq(e->precincts[2].id, 30);
	/* Region index lists in ascending id, 64-bit sums. */
	cr_assert_eq(e->regions[0].n_precincts, 2);
	cr_assert_eq(e->regions[0].precincts[0], 0);
	cr_assert_eq(e->regions[0].precincts[1], 2);
	cr_assert_eq(e->regions[0].registered, 4294968295ull);
	cr_assert_eq(e->regions[1].registered, 500);
	cr_assert_eq(e->regions[2].n_precincts, 0);
	cr_assert_eq(e->registered, 4294968795ull);
	cr_assert(e->rules.has_min_turnout);
	cr_assert_float_eq(e->rules.min_turnout_pct, 50.0, 1e-9);
	cr_assert(e->rules.has_region_majority);
	cr_assert_float_eq(e->rules.region_majority_fraction, 0.6667, 1e-9);

	cr_assert_eq(tally_election_precinct_index(e, 10), 0);
	cr_assert_eq(tally_election_precinct_index(e, 30), 2);
	cr_assert_eq(tally_election_precinct_index(e, 11), -ENOENT);
	cr_assert_eq(tally_election_precinct_index(e, 0), -ENOENT);
	cr_assert_eq(tally_election_region_index(e, "KZ-10"), 1);
	cr_assert_eq(tally_election_region_index(e, "KZ-99"), -ENOENT);
	cr_assert_eq(tally_election_option_index(e, "no"), 1);
	cr_assert_eq(tally_election_option_index(e, "maybe"), -ENOENT);
	cr_assert_null(tally_election_free(e));
}

Test(election, rules_are_optional)
{
	const char *json = "{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS ", "
	                   "\"regions\": [{\"id\": \"R\", \"name\": \"R\", \"precincts\": "
	                   "[{\"id\": 1, \"registered\": 5}]}]}";
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_election_parse(json, strlen(json), &e, &err), 0, "%s", err.msg);
	cr_assert_not(e->rules.has_min_turnout);
	cr_assert_not(e->rules.has_region_majority);
	tally_election_free(e);
}

Test(election, load_from_file_and_missing_file)
{
	char path[] = "/tmp/tally-test-election-XXXXXX";
	int fd = mkstemp(path);
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	char expected[600];

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, valid, strlen(valid)), (ssize_t)strlen(valid));
	close(fd);
	cr_assert_eq(tally_election_load(path, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(e->n_precincts, 3);
	tally_election_free(e);
	unlink(path);

	cr_assert_eq(tally_election_load(path, &e, &err), -ENOENT);
	snprintf(expected, sizeof(expected), "%s: cannot open: No such file or directory", path);
	cr_assert_str_eq(err.msg, expected);
}

Test(election, file_errors_are_prefixed_with_the_file)
{
	char path[] = "/tmp/tally-test-election-XXXXXX";
	int fd = mkstemp(path);
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	char expected[600];

	cr_assert_eq(write(fd, "{}", 2), 2);
	close(fd);
	cr_assert_eq(tally_election_load(path, &e, &err), -EINVAL);
	unlink(path);
	snprintf(expected, sizeof(expected), "%s: election_id: missing, expected a string", path);
	cr_assert_str_eq(err.msg, expected);
}

Test(election, generated_demo_definition_loads)
{
	char cmd[1024], path[] = "/tmp/tally-test-election-XXXXXX";
	int fd = mkstemp(path);
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/deploy/election.py kz-demo --out %s",
	         TALLY_SOURCE_DIR, path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(tally_election_load(path, &e, &err), 0, "%s", err.msg);
	unlink(path);
	cr_assert_eq(e->n_regions, 20);
	cr_assert_eq(e->n_precincts, 10388);
	cr_assert_eq(e->registered, 12482613);
	cr_assert_eq(e->n_options, 2);
	tally_election_free(e);
}

Test(election, not_json)
{
	expect_error("{\"election_id\": ", "line 1 column 16: unexpected token near end of file");
	expect_error("[1, 2]", "top level: expected an object, got an array");
}

Test(election, duplicate_key_is_refused)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	const char *json = "{\"election_id\": \"a\", \"election_id\": \"b\"}";

	cr_assert_eq(tally_election_parse(json, strlen(json), &e, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "line 1 column 34: duplicate object key near '\"election_id\"'");
}

Test(election, missing_fields)
{
	expect_error("{}", "election_id: missing, expected a string");
	expect_error("{\"election_id\": \"e\"}", "title: missing, expected a string");
	expect_error("{\"election_id\": \"e\", \"title\": \"T\"}",
	             "options: missing, expected an array");
	expect_error("{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS "}",
	             "regions: missing, expected an array");
	expect_regions_error("[{\"id\": \"R\", \"precincts\": []}]",
	                     "regions[0].name: missing, expected a string");
	expect_regions_error("[{\"id\": \"R\", \"name\": \"R\"}]",
	                     "regions[0].precincts: missing, expected an array");
	expect_regions_error(
	    "[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [{\"id\": 1, \"registered\": 1}, "
	    "{\"id\": 2}]}]",
	    "regions[0].precincts[1].registered: missing, expected an integer");
}

Test(election, wrong_types)
{
	expect_error("{\"election_id\": 5}", "election_id: expected a string, got an integer");
	expect_error("{\"election_id\": \"e\", \"title\": \"T\", \"options\": {}}",
	             "options: expected an array, got an object");
	expect_error("{\"election_id\": \"e\", \"title\": \"T\", \"options\": [\"yes\"]}",
	             "options[0]: expected an object, got a string");
	expect_regions_error("[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [{\"id\": \"7\", "
	                     "\"registered\": 1}]}]",
	                     "regions[0].precincts[0].id: expected an integer, got a string");
	expect_regions_error(
	    "[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [{\"id\": 7, "
	    "\"registered\": 1.5}]}]",
	    "regions[0].precincts[0].registered: expected an integer, got a number "
	    "with a fraction");
	expect_regions_error("[null]", "regions[0]: expected an object, got null");
}

Test(election, out_of_range_numbers)
{
	expect_regions_error("[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [{\"id\": 0, "
	                     "\"registered\": 1}]}]",
	                     "regions[0].precincts[0].id: 0 is out of range (1..4294967295)");
	expect_regions_error("[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [{\"id\": 1, "
	                     "\"registered\": 4294967296}]}]",
	                     "regions[0].precincts[0].registered: 4294967296 is out of range "
	                     "(0..4294967295)");
	expect_regions_error(
	    "[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [{\"id\": 1, "
	    "\"registered\": -1}]}]",
	    "regions[0].precincts[0].registered: -1 is out of range (0..4294967295)");
}

Test(election, duplicate_precinct_across_regions_names_both)
{
	expect_regions_error(
	    "[{\"id\": \"A\", \"name\": \"A\", \"precincts\": [{\"id\": 1, \"registered\": 1}, "
	    "{\"id\": 2, \"registered\": 1}, {\"id\": 4711, \"registered\": 1}]},"
	    " {\"id\": \"B\", \"name\": \"B\", \"precincts\": [{\"id\": 3, \"registered\": 1}, "
	    "{\"id\": 4711, \"registered\": 1}]}]",
	    "regions[1].precincts[1].id: duplicate precinct id 4711 (first at "
	    "regions[0].precincts[2])");
}

Test(election, duplicate_precinct_within_a_region)
{
	expect_regions_error("[{\"id\": \"A\", \"name\": \"A\", \"precincts\": [{\"id\": 9, "
	                     "\"registered\": 1}, {\"id\": 9, \"registered\": 2}]}]",
	                     "regions[0].precincts[1].id: duplicate precinct id 9 (first at "
	                     "regions[0].precincts[0])");
}

Test(election, duplicate_option)
{
	expect_error("{\"election_id\": \"e\", \"title\": \"T\", \"options\": [{\"id\": \"yes\", "
	             "\"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}, {\"id\": \"yes\", "
	             "\"name\": \"Again\"}]}",
	             "options[2].id: duplicate option id \"yes\" (first at options[0])");
}

Test(election, duplicate_region)
{
	expect_regions_error(
	    "[{\"id\": \"A\", \"name\": \"A\", \"precincts\": []}, {\"id\": \"B\", "
	    "\"name\": \"B\", \"precincts\": []}, {\"id\": \"A\", \"name\": \"A2\", "
	    "\"precincts\": []}]",
	    "regions[2].id: duplicate region id \"A\" (first at regions[0])");
}

Test(election, empty_lists)
{
	expect_regions_error("[]", "regions: must not be empty");
	expect_error("{\"election_id\": \"e\", \"title\": \"T\", \"options\": []}",
	             "options: must not be empty");
}

Test(election, bad_ids)
{
	expect_error("{\"election_id\": \"\"}", "election_id: must not be empty");
	expect_error("{\"election_id\": "
	             "\"0123456789012345678901234567890123456789012345678901234567890123\"}",
	             "election_id: longer than 63 characters");
	expect_error("{\"election_id\": \"a/b\"}",
	             "election_id: \"a/b\" may only hold letters, digits and - _ . :");
	expect_regions_error("[{\"id\": \"\", \"name\": \"A\", \"precincts\": []}]",
	                     "regions[0].id: must not be empty");
	/* 63 characters is the longest id that fits. */
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	const char *ok =
	    "{\"election_id\": "
	    "\"012345678901234567890123456789012345678901234567890123456789012\", "
	    "\"title\": \"T\", " OPTIONS ", \"regions\": [{\"id\": \"R\", \"name\": \"R\", "
	    "\"precincts\": []}]}";
	cr_assert_eq(tally_election_parse(ok, strlen(ok), &e, &err), 0, "%s", err.msg);
	cr_assert_eq(strlen(e->election_id), 63);
	tally_election_free(e);
}

Test(election, too_many_options)
{
	char json[4096];
	size_t n = (size_t)snprintf(json, sizeof(json),
	                            "{\"election_id\": \"e\", \"title\": \"T\", \"options\": [");
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
		                      "%s{\"id\": \"o%d\", \"name\": \"O\"}", i ? ", " : "", i);
	snprintf(json + n, sizeof(json) - n, "]}");
	expect_error(json, "options: 33 options, at most 32 are supported");
}

static void expect_rules_error(const char *rules, const char *msg)
{
	char json[4096];
	snprintf(json, sizeof(json),
	         "{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS ", \"regions\": [{\"id\": "
	         "\"R\", \"name\": \"R\", \"precincts\": []}], \"rules\": %s}",
	         rules);
	expect_error(json, msg);
}

Test(election, bad_rules)
{
	expect_rules_error("[]", "rules: expected an object, got an array");
	expect_rules_error("{\"min_turnout_pct\": \"50\"}",
	                   "rules.min_turnout_pct: expected a number, got a string");
	expect_rules_error("{\"min_turnout_pct\": 150}",
	                   "rules.min_turnout_pct: 150 is out of range (0 <= x <= 100)");
	expect_rules_error("{\"region_majority_fraction\": 0}",
	                   "rules.region_majority_fraction: 0 is out of range (0 < x <= 1)");
	expect_rules_error("{\"region_majority_fraction\": 1.5}",
	                   "rules.region_majority_fraction: 1.5 is out of range (0 < x <= 1)");
	expect_rules_error("{\"min_turnout\": 50}",
	                   "rules.min_turnout: unknown rule (known: min_turnout_pct, "
	                   "region_majority_fraction)");
}

/* The compact precinct form [id, registered], alone and mixed with objects. */

static struct tally_election *parse_ok(const char *json)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_election_parse(json, strlen(json), &e, &err), 0, "%s: %s", err.msg,
	             json);
	return e;
}

/* Two elections hold the same precincts, regions and sums. */
static void assert_same_election(const struct tally_election *a, const struct tally_election *b)
{
	cr_assert_eq(a->n_precincts, b->n_precincts);
	cr_assert_eq(a->n_regions, b->n_regions);
	cr_assert_eq(a->registered, b->registered);
	for (size_t i = 0; i < a->n_precincts; i++) {
		cr_assert_eq(a->precincts[i].id, b->precincts[i].id);
		cr_assert_eq(a->precincts[i].registered, b->precincts[i].registered);
		cr_assert_eq(a->precincts[i].region, b->precincts[i].region);
	}
	for (size_t r = 0; r < a->n_regions; r++) {
		cr_assert_str_eq(a->regions[r].id, b->regions[r].id);
		cr_assert_eq(a->regions[r].registered, b->regions[r].registered);
		cr_assert_eq(a->regions[r].n_precincts, b->regions[r].n_precincts);
		for (size_t k = 0; k < a->regions[r].n_precincts; k++)
			cr_assert_eq(a->regions[r].precincts[k], b->regions[r].precincts[k]);
	}
}

Test(election, compact_precincts_load_like_objects)
{
	const char *compact =
	    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\", " OPTIONS ", "
	    "\"regions\": ["
	    "  {\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": [[30, 1000], "
	    "[10, 4294967295]]},"
	    "  {\"id\": \"KZ-10\", \"name\": \"Abai\", \"precincts\": [[20, 500]]},"
	    "  {\"id\": \"KZ-62\", \"name\": \"Ulytau\", \"precincts\": []}"
	    "], \"rules\": {\"min_turnout_pct\": 50, \"region_majority_fraction\": 0.6667}}";
	struct tally_election *a = parse_ok(valid), *b = parse_ok(compact);

	assert_same_election(a, b);
	cr_assert_eq(b->n_precincts, 3);
	cr_assert_eq(b->precincts[0].id, 10);
	cr_assert_eq(b->precincts[0].registered, 4294967295u);
	cr_assert_eq(b->precincts[0].region, 0);
	cr_assert_eq(b->regions[0].precincts[1], 2);
	cr_assert_eq(b->registered, 4294968795ull);
	cr_assert_eq(tally_election_precinct_index(b, 20), 1);
	cr_assert_eq(tally_election_precinct_index(b, 21), -ENOENT);
	tally_election_free(a);
	tally_election_free(b);
}

Test(election, mixed_forms_load_in_any_order)
{
	/* Unsorted on purpose, so the sort (not the ascending shortcut) runs. */
	const char *mixed = "{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS ", \"regions\": ["
	                    "{\"id\": \"A\", \"name\": \"A\", \"precincts\": [[5, 50], {\"id\": 1, "
	                    "\"registered\": 10, \"note\": \"extra keys are ignored\"}, [3, 30]]},"
	                    "{\"id\": \"B\", \"name\": \"B\", \"precincts\": [{\"id\": 4, "
	                    "\"registered\": 40}, [2, 20]]}]}";
	const char *objects =
	    "{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS ", \"regions\": ["
	    "{\"id\": \"A\", \"name\": \"A\", \"precincts\": [{\"id\": 5, "
	    "\"registered\": 50}, {\"id\": 1, \"registered\": 10}, {\"id\": 3, "
	    "\"registered\": 30}]},"
	    "{\"id\": \"B\", \"name\": \"B\", \"precincts\": [{\"id\": 4, "
	    "\"registered\": 40}, {\"id\": 2, \"registered\": 20}]}]}";
	struct tally_election *a = parse_ok(mixed), *b = parse_ok(objects);

	assert_same_election(a, b);
	for (uint32_t i = 0; i < 5; i++) {
		cr_assert_eq(a->precincts[i].id, i + 1);
		cr_assert_eq(a->precincts[i].registered, 10 * (i + 1));
	}
	cr_assert_eq(a->precincts[1].region, 1);
	cr_assert_eq(a->regions[0].n_precincts, 3);
	cr_assert_eq(a->regions[0].precincts[0], 0);
	cr_assert_eq(a->regions[0].precincts[1], 2);
	cr_assert_eq(a->regions[0].precincts[2], 4);
	cr_assert_eq(a->regions[0].registered, 90);
	cr_assert_eq(a->regions[1].precincts[0], 1);
	cr_assert_eq(a->regions[1].precincts[1], 3);
	cr_assert_eq(a->registered, 150);
	tally_election_free(a);
	tally_election_free(b);
}

/* A region "R" whose precincts are `list`. */
static void expect_precincts_error(const char *list, const char *msg)
{
	char regions[1024];
	snprintf(regions, sizeof(regions), "[{\"id\": \"R\", \"name\": \"R\", \"precincts\": %s}]",
	         list);
	expect_regions_error(regions, msg);
}

Test(election, compact_precinct_of_wrong_arity)
{
	expect_precincts_error("[[1, 5], []]",
	                       "regions[0].precincts[1]: expected [id, registered], got an array "
	                       "of 0 elements");
	expect_precincts_error("[[7]]", "regions[0].precincts[0]: expected [id, registered], got "
	                                "an array of 1 element");
	expect_precincts_error("[[7, 1, 2]]", "regions[0].precincts[0]: expected [id, registered], "
	                                      "got an array of 3 elements");
	/* Not a pair: a flat list of numbers is refused at its first number. */
	expect_precincts_error("[7, 1]",
	                       "regions[0].precincts[0]: expected an object, got an integer");
}

Test(election, compact_precinct_with_a_non_integer)
{
	expect_precincts_error(
	    "[[\"7\", 1]]", "regions[0].precincts[0][0]: expected an integer (id), got a string");
	expect_precincts_error("[[7, 1.5]]", "regions[0].precincts[0][1]: expected an integer "
	                                     "(registered), got a number with a fraction");
	expect_precincts_error("[[1, 1], [2, null]]",
	                       "regions[0].precincts[1][1]: expected an integer (registered), got "
	                       "null");
	expect_precincts_error(
	    "[[[1], 1]]", "regions[0].precincts[0][0]: expected an integer (id), got an array");
	expect_precincts_error(
	    "[[true, 1]]", "regions[0].precincts[0][0]: expected an integer (id), got a boolean");
}

Test(election, compact_precinct_out_of_range)
{
	expect_precincts_error("[[0, 1]]",
	                       "regions[0].precincts[0][0]: 0 is out of range (1..4294967295)");
	expect_precincts_error("[[4294967296, 1]]", "regions[0].precincts[0][0]: 4294967296 is out "
	                                            "of range (1..4294967295)");
	expect_precincts_error("[[1, -1]]",
	                       "regions[0].precincts[0][1]: -1 is out of range (0..4294967295)");
	expect_precincts_error("[[1, 4294967296]]", "regions[0].precincts[0][1]: 4294967296 is out "
	                                            "of range (0..4294967295)");
}

Test(election, duplicate_precinct_across_forms_names_both)
{
	/* The second copy compact: its path ends in [0], the id's place. */
	expect_regions_error(
	    "[{\"id\": \"A\", \"name\": \"A\", \"precincts\": [[1, 1], {\"id\": 2, \"registered\": "
	    "1}, {\"id\": 4711, \"registered\": 1}]},"
	    " {\"id\": \"B\", \"name\": \"B\", \"precincts\": [[3, 1], [4711, 1]]}]",
	    "regions[1].precincts[1][0]: duplicate precinct id 4711 (first at "
	    "regions[0].precincts[2])");
	/* The second copy an object: .id, as before. */
	expect_regions_error("[{\"id\": \"A\", \"name\": \"A\", \"precincts\": [[9, 1]]},"
	                     " {\"id\": \"B\", \"name\": \"B\", \"precincts\": [{\"id\": 8, "
	                     "\"registered\": 1}, {\"id\": 9, \"registered\": 2}]}]",
	                     "regions[1].precincts[1].id: duplicate precinct id 9 (first at "
	                     "regions[0].precincts[0])");
	/* Within one region, both compact. */
	expect_precincts_error("[[9, 1], [9, 2]]", "regions[0].precincts[1][0]: duplicate precinct "
	                                           "id 9 (first at regions[0].precincts[0])");
	/* Ascending ids up to the duplicate: the shortcut must not miss it. */
	expect_precincts_error("[[1, 1], [2, 1], [2, 1]]",
	                       "regions[0].precincts[2][0]: duplicate precinct id 2 (first at "
	                       "regions[0].precincts[1])");
}

/* Writes `text` to a fresh temp file; path[] receives its name. */
static void write_temp(char path[32], const char *text)
{
	strcpy(path, "/tmp/tally-test-election-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(election, file_syntax_errors_name_the_file_line_and_column)
{
	char path[32], expected[600];
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	write_temp(path, "{\"election_id\": ");
	cr_assert_eq(tally_election_load(path, &e, &err), -EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s: line 1 column 16: unexpected token near end of file", path);
	cr_assert_str_eq(err.msg, expected);
	unlink(path);

	write_temp(path, "{\"election_id\": \"a\",\n \"election_id\": \"b\"}");
	cr_assert_eq(tally_election_load(path, &e, &err), -EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s: line 2 column 14: duplicate object key near '\"election_id\"'", path);
	cr_assert_str_eq(err.msg, expected);
	unlink(path);
	cr_assert_null(e);
}

Test(election, file_larger_than_jansson_reads_at_once_loads)
{
	/* Many 1 KB reads: the file is fed to the parser piece by piece. */
	size_t cap = 64 * 1024, n;
	char *json = malloc(cap), path[32];
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	cr_assert_not_null(json);
	n = (size_t)snprintf(json, cap,
	                     "{\"election_id\": \"e\", \"title\": \"T\", " OPTIONS ", \"regions\": "
	                     "[{\"id\": \"R\", \"name\": \"R\", \"precincts\": [");
	for (int i = 1; i <= 3000; i++)
		n += (size_t)snprintf(json + n, cap - n, "%s[%d, %d]", i > 1 ? ", " : "", i, i % 7);
	snprintf(json + n, cap - n, "]}]}");
	cr_assert_lt(strlen(json), cap - 1);
	write_temp(path, json);
	free(json);
	cr_assert_eq(tally_election_load(path, &e, &err), 0, "%s", err.msg);
	unlink(path);
	cr_assert_eq(e->n_precincts, 3000);
	cr_assert_eq(e->precincts[2999].id, 3000);
	/* Sum of i % 7 for i = 1..3000: 428 full cycles of 21, then 1+2+3+4. */
	cr_assert_eq(e->registered, 428 * 21 + 10);
	tally_election_free(e);
}

/* The line after the first "precincts": [ of a generated file. */
static void first_precinct_line(const char *path, char line[64])
{
	FILE *f = fopen(path, "re");

	cr_assert_not_null(f);
	while (fgets(line, 64, f) != NULL && strstr(line, "\"precincts\"") == NULL)
		;
	cr_assert_not_null(fgets(line, 64, f));
	fclose(f);
}

Test(election, generated_compact_definition_matches_objects)
{
	char cmd[1024], pc[] = "/tmp/tally-test-election-XXXXXX",
	                po[] = "/tmp/tally-test-election-XXXXXX", line[64];
	struct tally_election *a = NULL, *b = NULL;
	struct tally_err err = {{0}};

	close(mkstemp(pc));
	close(mkstemp(po));
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/python3 %s/deploy/election.py generate --regions 3 --precincts 500 "
	         "--compact --out %s && /usr/bin/python3 %s/deploy/election.py generate "
	         "--regions 3 --precincts 500 --out %s",
	         TALLY_SOURCE_DIR, pc, TALLY_SOURCE_DIR, po);
	cr_assert_eq(system(cmd), 0);
	/* --compact writes pairs; without it, 500 precincts are written as objects. */
	first_precinct_line(pc, line);
	cr_assert_str_eq(line, "      [1, 221],\n");
	first_precinct_line(po, line);
	cr_assert_str_eq(line, "      {\"id\": 1, \"registered\": 221},\n");
	cr_assert_eq(tally_election_load(pc, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(tally_election_load(po, &b, &err), 0, "%s", err.msg);
	unlink(pc);
	unlink(po);
	assert_same_election(a, b);
	cr_assert_eq(a->n_precincts, 500);
	cr_assert_eq(a->precincts[0].registered, 221);
	tally_election_free(a);
	tally_election_free(b);
}

/* ---- general elections: several contests ---- */

/*
 * JSON and messages below are written with ' for ", which keeps them
 * readable; q() turns them back.
 */
static char *q(const char *s)
{
	static char buf[2][8192];
	static int k;
	char *out = buf[k++ % 2];
	size_t i = 0;

	for (; s[i] && i < sizeof(buf[0]) - 1; i++)
		out[i] = s[i] == '\'' ? '"' : s[i];
	out[i] = '\0';
	return out;
}

static void expect_error_q(const char *json, const char *msg)
{
	char j[8192];

	snprintf(j, sizeof(j), "%s", q(json));
	expect_error(j, q(msg));
}

/*
 * Regions A (precincts 1, 2) and B (3), district D1 (1 and 3, across
 * both), party p1.
 */
#define GENERAL_HEAD                                                                               \
	"{'election_id': 'e', 'title': 'T', 'regions': ["                                          \
	"{'id': 'A', 'name': 'A', 'precincts': [[1, 10], [2, 20]]},"                               \
	"{'id': 'B', 'name': 'B', 'precincts': [[3, 30]]}],"                                       \
	"'districts': [{'id': 'D1', 'precincts': [1, 3]}],"                                        \
	"'parties': [{'id': 'p1', 'name': 'P1', 'color': '#AbCdEf'}]"

struct error_case {
	const char *json; /* ' for " */
	const char *msg;
};

/* Each case is one contest object, alone in "contests". */
static void expect_contest_errors(const struct error_case *cases, size_t n)
{
	char json[8192];

	for (size_t i = 0; i < n; i++) {
		snprintf(json, sizeof(json), GENERAL_HEAD ", 'contests': [%s]}", cases[i].json);
		expect_error_q(json, cases[i].msg);
	}
}

#define N_CASES(a) (sizeof(a) / sizeof((a)[0]))

static const char general[] =
    "{'election_id': 'kz-2023', 'title': {'kk': 'Сайлау', 'ru': 'Выборы', 'en': 'Elections'},"
    " 'regions': ["
    "  {'id': 'KZ-71', 'name': {'kk': 'Астана қаласы', 'ru': 'город Астана'}, 'tile': [3, 2],"
    "   'precincts': [[1, 100], [2, 200], [3, 300]]},"
    "  {'id': 'KZ-75', 'name': 'Almaty', 'tile': [4, 5], 'precincts': [[10, 1000], [11, 1100]]},"
    "  {'id': 'KZ-62', 'name': 'Ulytau', 'precincts': [[20, 2000]]}],"
    " 'districts': ["
    "  {'id': 'OTK-07', 'name': 'District 7', 'precincts': [11, 2, 20]},"
    "  {'id': 'OTK-08', 'precincts': [1]}],"
    " 'parties': ["
    "  {'id': 'amanat', 'name': 'AMANAT', 'color': '#1F77B4'},"
    "  {'id': 'ak-zhol', 'name': {'kk': 'Ақ жол', 'en': 'Ak Zhol'}}],"
    " 'contests': ["
    "  {'id': 'party-list', 'kind': 'party_list', 'name': 'Mazhilis', 'scope': 'national',"
    "   'seats': 69, 'options': ["
    "    {'id': 'amanat', 'party': 'amanat', 'list_length': 90},"
    "    {'id': 'ak-zhol', 'party': 'ak-zhol', 'color': '#00aa00'},"
    "    {'id': 'against-all', 'name': 'Against all', 'against_all': true}],"
    "   'rules': {'threshold_pct': 5, 'method': 'hare'}},"
    "  {'id': 'otk-07', 'kind': 'candidate', 'scope': {'district': 'OTK-07'},"
    "   'options': [{'id': 'c-1', 'name': 'Candidate One', 'party': 'amanat'},"
    "    {'id': 'c-2', 'name': 'Candidate Two'}, {'id': 'against-all', 'against_all': true}],"
    "   'rules': {'win': 'plurality'}},"
    "  {'id': 'akim', 'kind': 'candidate', 'scope': {'regions': ['KZ-75', 'KZ-62']}, 'seats': 2,"
    "   'options': [{'id': 'c-1', 'name': 'One'}, {'id': 'c-3', 'name': 'Three'},"
    "    {'id': 'c-4', 'name': 'Four'}]},"
    "  {'id': 'referendum', 'kind': 'referendum', 'scope': 'national',"
    "   'options': [{'id': 'yes', 'name': 'Yes'}, {'id': 'no', 'name': 'No'}],"
    "   'rules': {'min_turnout_pct': 50, 'region_majority_fraction': 0.6667}}]}";

static struct tally_election *parse_q(const char *json)
{
	char j[8192];

	snprintf(j, sizeof(j), "%s", q(json));
	return parse_ok(j);
}

static void assert_u32s(const uint32_t *got, size_t n, const uint32_t *want, size_t n_want)
{
	cr_assert_eq(n, n_want);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "[%zu]: %u, expected %u", i, got[i], want[i]);
}

#define ASSERT_U32S(got, n, ...)                                                                   \
	do {                                                                                       \
		const uint32_t want_[] = {__VA_ARGS__};                                            \
		assert_u32s(got, n, want_, sizeof(want_) / sizeof(want_[0]));                      \
	} while (0)

Test(election, general_election_loads_every_part)
{
	struct tally_election *e = parse_q(general);
	const struct tally_contest *c;

	/* The legacy referendum fields stay empty. */
	cr_assert_eq(e->n_options, 0);
	cr_assert_null(e->options);
	cr_assert_not(e->rules.has_min_turnout);
	cr_assert_not(e->rules.has_region_majority);
	cr_assert_eq(e->n_precincts, 6);
	cr_assert_eq(e->registered, 4700);

	cr_assert_eq(e->n_parties, 2);
	cr_assert_str_eq(e->parties[0].id, "amanat");
	cr_assert_str_eq(e->parties[0].name.text, "AMANAT");
	cr_assert_str_eq(e->parties[0].color, "#1f77b4");
	cr_assert_str_eq(e->parties[1].name.text, "Ak Zhol");
	cr_assert_str_eq(e->parties[1].color, "");

	/* A district across three regions, listed out of order. */
	cr_assert_eq(e->n_districts, 2);
	cr_assert_str_eq(e->districts[0].name.text, "District 7");
	ASSERT_U32S(e->districts[0].precincts, e->districts[0].n_precincts, 1, 4, 5);
	cr_assert_eq(e->districts[0].registered, 3300);
	cr_assert_str_eq(e->districts[1].name.text, "OTK-08");
	ASSERT_U32S(e->districts[1].precincts, e->districts[1].n_precincts, 0);
	cr_assert_eq(e->districts[1].registered, 100);

	cr_assert_eq(e->n_contests, 4);
	c = &e->contests[0];
	cr_assert_str_eq(c->id, "party-list");
	cr_assert_str_eq(c->name.text, "Mazhilis");
	cr_assert_eq(c->kind, TALLY_CONTEST_PARTY_LIST);
	cr_assert_eq(c->scope, TALLY_SCOPE_NATIONAL);
	cr_assert_eq(c->district, -1);
	cr_assert_eq(c->seats, 69);
	cr_assert_eq(c->n_options, 3);
	cr_assert_eq(c->options[0].party, 0);
	cr_assert_eq(c->options[0].list_length, 90);
	cr_assert_str_eq(c->options[0].name.text, "AMANAT");
	cr_assert_str_eq(c->options[0].color, "#1f77b4");
	cr_assert_not(c->options[0].against_all);
	/* Named like its party, in every language; its own colour. */
	cr_assert_eq(c->options[1].party, 1);
	cr_assert_eq(c->options[1].list_length, 0);
	cr_assert_str_eq(c->options[1].name.text, "Ak Zhol");
	cr_assert_eq(c->options[1].name.n_langs, 2);
	cr_assert_str_eq(tally_name_get(&c->options[1].name, "kk"), "Ақ жол");
	cr_assert_str_eq(c->options[1].color, "#00aa00");
	cr_assert(c->options[2].against_all);
	cr_assert_eq(c->options[2].party, -1);
	cr_assert_str_eq(c->options[2].name.text, "Against all");
	cr_assert_str_eq(c->options[2].color, "");
	cr_assert(c->has_rules);
	cr_assert_eq(c->rules.threshold_ppm, 50000);
	cr_assert_eq(c->rules.threshold_of, TALLY_DENOM_VALID);
	cr_assert_eq(c->rules.method, TALLY_METHOD_HARE);
	cr_assert_eq(c->rules.tie, TALLY_TIE_BALLOT_ORDER);
	cr_assert_eq(c->rules.overflow, TALLY_OVERFLOW_REDISTRIBUTE);
	cr_assert_not(c->rules.has_min_turnout);
	ASSERT_U32S(c->precincts, c->n_precincts, 0, 1, 2, 3, 4, 5);
	ASSERT_U32S(c->regions, c->n_regions, 0, 1, 2);
	cr_assert_eq(c->registered, 4700);
	cr_assert_eq(c->slot_base, 0);

	c = &e->contests[1];
	cr_assert_str_eq(c->name.text, "otk-07");
	cr_assert_eq(c->kind, TALLY_CONTEST_CANDIDATE);
	cr_assert_eq(c->scope, TALLY_SCOPE_DISTRICT);
	cr_assert_eq(c->district, 0);
	cr_assert_eq(c->seats, 1);
	cr_assert_str_eq(c->options[0].color, "#1f77b4");
	cr_assert_str_eq(c->options[0].name.text, "Candidate One");
	cr_assert_str_eq(c->options[2].name.text, "against-all");
	cr_assert_eq(c->rules.win, TALLY_WIN_PLURALITY);
	cr_assert_eq(c->rules.majority_of, TALLY_DENOM_BALLOTS_CAST);
	ASSERT_U32S(c->precincts, c->n_precincts, 1, 4, 5);
	ASSERT_U32S(c->regions, c->n_regions, 0, 1, 2);
	cr_assert_eq(c->registered, 3300);
	cr_assert_eq(c->slot_base, 6);

	c = &e->contests[2];
	cr_assert_eq(c->scope, TALLY_SCOPE_REGIONS);
	ASSERT_U32S(c->scope_regions, c->n_scope_regions, 1, 2);
	cr_assert_eq(c->seats, 2);
	cr_assert_not(c->has_rules);
	ASSERT_U32S(c->precincts, c->n_precincts, 3, 4, 5);
	ASSERT_U32S(c->regions, c->n_regions, 1, 2);
	cr_assert_eq(c->registered, 4100);
	cr_assert_eq(c->slot_base, 9);

	c = &e->contests[3];
	cr_assert_eq(c->kind, TALLY_CONTEST_REFERENDUM);
	cr_assert_eq(c->seats, 0);
	cr_assert(c->rules.has_min_turnout);
	cr_assert_eq(c->rules.min_turnout_ppm, 500000);
	cr_assert(c->rules.has_region_majority);
	cr_assert_eq(c->rules.region_majority_ppm, 666700);
	cr_assert_eq(c->rules.pass_share_of, TALLY_DENOM_BALLOTS_CAST);
	cr_assert_eq(c->slot_base, 12);
	cr_assert_eq(e->n_slots, 18);
	tally_election_free(e);
}

Test(election, every_slot_maps_back_to_its_contest_and_precinct)
{
	struct tally_election *e = parse_q(general);
	/* Which precinct indexes vote in each contest (national, district, regions, national). */
	static const char *const member[] = {"111111", "010011", "000111", "111111"};
	size_t seen = 0;

	for (size_t c = 0; c < e->n_contests; c++) {
		for (size_t p = 0; p < e->n_precincts; p++) {
			int64_t slot = tally_election_slot(e, c, p);
			size_t rc = 99, rp = 99;
			if (member[c][p] == '0') {
				cr_assert_eq(slot, -ENOENT, "contest %zu precinct %zu", c, p);
				continue;
			}
			cr_assert_eq((size_t)slot, seen, "contest %zu precinct %zu", c, p);
			tally_election_slot_info(e, (size_t)slot, &rc, &rp);
			cr_assert_eq(rc, c);
			cr_assert_eq(rp, p);
			seen++;
		}
	}
	cr_assert_eq(seen, e->n_slots);
	tally_election_free(e);
}

Test(election, lookups_by_id)
{
	struct tally_election *e = parse_q(general);

	cr_assert_eq(tally_election_contest_index(e, "party-list"), 0);
	cr_assert_eq(tally_election_contest_index(e, "akim"), 2);
	cr_assert_eq(tally_election_contest_index(e, "referendum"), 3);
	cr_assert_eq(tally_election_contest_index(e, "nope"), -ENOENT);
	/* Several contests: an empty contest id names none of them. */
	cr_assert_eq(tally_election_contest_index(e, ""), -ENOENT);
	cr_assert_eq(tally_election_district_index(e, "OTK-07"), 0);
	cr_assert_eq(tally_election_district_index(e, "OTK-08"), 1);
	cr_assert_eq(tally_election_district_index(e, "OTK-09"), -ENOENT);
	cr_assert_eq(tally_election_party_index(e, "amanat"), 0);
	cr_assert_eq(tally_election_party_index(e, "ak-zhol"), 1);
	cr_assert_eq(tally_election_party_index(e, "nur"), -ENOENT);
	cr_assert_eq(tally_contest_option_index(&e->contests[1], "against-all"), 2);
	cr_assert_eq(tally_contest_option_index(&e->contests[1], "c-3"), -ENOENT);
	cr_assert_eq(tally_contest_option_index(&e->contests[2], "c-3"), 1);
	/* The legacy option lookup knows no options here. */
	cr_assert_eq(tally_election_option_index(e, "yes"), -ENOENT);
	tally_election_free(e);
}

Test(election, lookups_among_many_contests)
{
	/* 40 contests, given in descending id order: the index sorts them. */
	char json[8192];
	size_t n = (size_t)snprintf(json, sizeof(json), GENERAL_HEAD ", 'contests': [");
	struct tally_election *e;

	for (int i = 39; i >= 0; i--)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
		                      "%s{'id': 'c%02d', 'kind': 'candidate', 'options': [{'id': "
		                      "'x'}]}",
		                      i < 39 ? ", " : "", i);
	snprintf(json + n, sizeof(json) - n, "]}");
	e = parse_q(json);
	cr_assert_eq(e->n_contests, 40);
	for (int i = 0; i < 40; i++) {
		char id[8];
		snprintf(id, sizeof(id), "c%02d", i);
		cr_assert_eq(tally_election_contest_index(e, id), 39 - i, "%s", id);
	}
	cr_assert_eq(tally_election_contest_index(e, "c40"), -ENOENT);
	cr_assert_eq(tally_election_contest_index(e, "b"), -ENOENT);
	cr_assert_eq(e->n_slots, 40 * 3);
	tally_election_free(e);
}

Test(election, legacy_definition_is_one_referendum_contest)
{
	struct tally_election *e = parse_ok(valid);
	const struct tally_contest *c;

	cr_assert_eq(e->n_contests, 1);
	c = &e->contests[0];
	cr_assert_str_eq(c->id, "referendum");
	cr_assert_str_eq(c->name.text, "Referendum"); /* the title */
	cr_assert_eq(c->kind, TALLY_CONTEST_REFERENDUM);
	cr_assert_eq(c->scope, TALLY_SCOPE_NATIONAL);
	cr_assert_eq(c->district, -1);
	cr_assert_eq(c->seats, 0);
	cr_assert_eq(c->n_options, 2);
	cr_assert_str_eq(c->options[1].id, "no");
	cr_assert_str_eq(c->options[1].name.text, "No");
	cr_assert_eq(c->options[1].party, -1);
	cr_assert(c->has_rules);
	cr_assert_eq(c->rules.min_turnout_ppm, 500000);
	cr_assert_eq(c->rules.region_majority_ppm, 666700);
	cr_assert_eq(c->rules.pass_share_of, TALLY_DENOM_BALLOTS_CAST);
	ASSERT_U32S(c->precincts, c->n_precincts, 0, 1, 2);
	/* KZ-62 has no precincts, so it is not among the contest's regions. */
	ASSERT_U32S(c->regions, c->n_regions, 0, 1);
	cr_assert_eq(c->registered, 4294968795ull);
	cr_assert_eq(e->n_slots, 3);
	cr_assert_eq(e->n_parties, 0);
	cr_assert_eq(e->n_districts, 0);
	/* Its results may leave the contest out. */
	cr_assert_eq(tally_election_contest_index(e, ""), 0);
	cr_assert_eq(tally_election_contest_index(e, "referendum"), 0);
	cr_assert_eq(tally_election_slot(e, 0, 2), 2);
	tally_election_free(e);

	e = parse_q("{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': [{'id': 'R', "
	            "'name': 'R', 'precincts': []}]}");
	cr_assert_not(e->contests[0].has_rules);
	cr_assert_eq(e->contests[0].n_precincts, 0);
	cr_assert_eq(e->n_slots, 0);
	tally_election_free(e);
}

Test(election, defaults_of_each_kind)
{
	struct tally_election *e =
	    parse_q(GENERAL_HEAD
	            ", 'contests': ["
	            "{'id': 'r', 'kind': 'referendum', 'options': [{'id': 'yes'}]},"
	            "{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'x', 'party': 'p1'}]},"
	            "{'id': 'p', 'kind': 'party_list', 'seats': 3, 'options': [{'id': 'p1', "
	            "'party': 'p1'}], 'rules': {'method': 'dhondt'}}]}");
	const struct tally_contest *r = &e->contests[0], *c = &e->contests[1], *p = &e->contests[2];

	/* Scope national, name the id, no rules. */
	cr_assert_eq(r->scope, TALLY_SCOPE_NATIONAL);
	cr_assert_str_eq(r->name.text, "r");
	cr_assert_eq(r->seats, 0);
	cr_assert_not(r->has_rules);
	cr_assert_not(r->rules.has_min_turnout);
	cr_assert_not(r->rules.has_region_majority);
	cr_assert_eq(r->rules.pass_share_of, TALLY_DENOM_BALLOTS_CAST);
	cr_assert_str_eq(r->options[0].name.text, "yes");
	/* One seat, plurality of ballots cast; an option named and coloured like its party. */
	cr_assert_eq(c->seats, 1);
	cr_assert_eq(c->rules.win, TALLY_WIN_PLURALITY);
	cr_assert_eq(c->rules.majority_of, TALLY_DENOM_BALLOTS_CAST);
	cr_assert_str_eq(c->options[0].name.text, "P1");
	cr_assert_str_eq(c->options[0].color, "#abcdef");
	/* No threshold, of the valid votes, ties by ballot order, overflow redistributed. */
	cr_assert(p->has_rules);
	cr_assert_eq(p->rules.method, TALLY_METHOD_DHONDT);
	cr_assert_eq(p->rules.threshold_ppm, 0);
	cr_assert_eq(p->rules.threshold_of, TALLY_DENOM_VALID);
	cr_assert_eq(p->rules.tie, TALLY_TIE_BALLOT_ORDER);
	cr_assert_eq(p->rules.overflow, TALLY_OVERFLOW_REDISTRIBUTE);
	cr_assert_eq(p->options[0].list_length, 0);
	cr_assert_not(p->rules.has_min_turnout);
	tally_election_free(e);
}

Test(election, every_rule_spelling_loads)
{
	struct tally_election *e =
	    parse_q(GENERAL_HEAD
	            ", 'contests': ["
	            "{'id': 'r', 'kind': 'referendum', 'options': [{'id': 'yes'}], 'rules': "
	            "{'min_turnout_pct': 33.3333, 'region_majority_fraction': 0.666667, "
	            "'pass_share_of': 'valid'}},"
	            "{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'x'}], 'rules': {'win': "
	            "'absolute_majority', 'majority_of': 'valid', 'min_turnout_pct': 0}},"
	            "{'id': 'p', 'kind': 'party_list', 'seats': 10000, 'options': [{'id': 'l', "
	            "'list_length': "
	            "4294967295}], 'rules': {'method': 'sainte_lague', 'threshold_pct': 7.25, "
	            "'threshold_of': 'ballots_cast', 'tie': 'lot', 'overflow': 'vacant', "
	            "'min_turnout_pct': 100}}]}");
	const struct tally_contest *r = &e->contests[0], *c = &e->contests[1], *p = &e->contests[2];

	cr_assert_eq(r->rules.min_turnout_ppm, 333333);
	cr_assert_eq(r->rules.region_majority_ppm, 666667);
	cr_assert_eq(r->rules.pass_share_of, TALLY_DENOM_VALID);
	cr_assert_eq(c->rules.win, TALLY_WIN_ABSOLUTE_MAJORITY);
	cr_assert_eq(c->rules.majority_of, TALLY_DENOM_VALID);
	cr_assert(c->rules.has_min_turnout);
	cr_assert_eq(c->rules.min_turnout_ppm, 0);
	cr_assert_eq(p->seats, 10000);
	cr_assert_eq(p->options[0].list_length, 4294967295u);
	cr_assert_str_eq(p->options[0].name.text, "l");
	cr_assert_eq(p->rules.method, TALLY_METHOD_SAINTE_LAGUE);
	cr_assert_eq(p->rules.threshold_ppm, 72500);
	cr_assert_eq(p->rules.threshold_of, TALLY_DENOM_BALLOTS_CAST);
	cr_assert_eq(p->rules.tie, TALLY_TIE_LOT);
	cr_assert_eq(p->rules.overflow, TALLY_OVERFLOW_VACANT);
	cr_assert_eq(p->rules.min_turnout_ppm, 1000000);
	tally_election_free(e);
}

Test(election, names_per_language_and_their_default)
{
	struct tally_election *e = parse_q(general);
	const struct tally_region *r = &e->regions[0];

	/* The title: "en" is the default when given. */
	cr_assert_str_eq(e->title, "Elections");
	cr_assert_eq(e->title, e->titles.text);
	cr_assert_eq(e->titles.n_langs, 3);
	cr_assert_str_eq(e->titles.langs[0].tag, "kk");
	cr_assert_str_eq(e->titles.langs[2].tag, "en");
	cr_assert_str_eq(tally_name_get(&e->titles, "ru"), "Выборы");
	cr_assert_str_eq(tally_name_get(&e->titles, "kk"), "Сайлау");
	/* Unknown or absent language: the default; tags match exactly. */
	cr_assert_str_eq(tally_name_get(&e->titles, "de"), "Elections");
	cr_assert_str_eq(tally_name_get(&e->titles, "kk-KZ"), "Elections");
	cr_assert_str_eq(tally_name_get(&e->titles, NULL), "Elections");
	/* No "en": "ru" before "kk", whatever the file's order. */
	cr_assert_str_eq(r->name, "город Астана");
	cr_assert_eq(r->name, r->names.text);
	cr_assert_str_eq(tally_name_get(&r->names, "kk"), "Астана қаласы");
	/* A plain string has no languages. */
	cr_assert_eq(e->regions[1].names.n_langs, 0);
	cr_assert_str_eq(tally_name_get(&e->regions[1].names, "kk"), "Almaty");
	tally_election_free(e);

	static const struct {
		const char *name, *text;
	} defaults[] = {
	    {"{'kk': 'a', 'ru': 'b', 'en': 'c'}", "c"},
	    {"{'ru': 'b', 'en': 'c'}", "c"},
	    {"{'kk': 'a', 'ru': 'b'}", "b"},
	    {"{'de': 'd', 'kk': 'a'}", "a"},
	    {"{'de': 'd', 'fr': 'f'}", "d"},
	    {"{'sr-Latn': 's', 'zh-Hant-TW': 'z'}", "s"},
	    {"{'kaz': 'k'}", "k"},
	    {"'plain'", "plain"},
	};
	for (size_t i = 0; i < N_CASES(defaults); i++) {
		char json[1024];
		snprintf(json, sizeof(json),
		         "{'election_id': 'e', 'title': %s, " OPTIONS ", 'regions': [{'id': 'R', "
		         "'name': 'R', 'precincts': []}]}",
		         defaults[i].name);
		e = parse_q(json);
		cr_assert_str_eq(e->title, defaults[i].text, "%s", defaults[i].name);
		/* The legacy contest is named like the election. */
		cr_assert_str_eq(e->contests[0].name.text, defaults[i].text);
		tally_election_free(e);
	}
}

Test(election, name_errors)
{
	static const struct error_case cases[] = {
	    {"{'election_id': 'e', 'title': {}}", "title: must name at least one language"},
	    {"{'election_id': 'e', 'title': 5}",
	     "title: expected a string or an object of language -> text, got an integer"},
	    {"{'election_id': 'e', 'title': ''}", "title: must not be empty"},
	    {"{'election_id': 'e', 'title': {'kk': ''}}", "title.kk: must not be empty"},
	    {"{'election_id': 'e', 'title': {'kk': 5}}",
	     "title.kk: expected a string, got an integer"},
	    {"{'election_id': 'e', 'title': {'KK': 'x'}}",
	     "title: 'KK' is not a language tag (2 or 3 lowercase letters, then optionally - and "
	     "letters or digits, as in 'kk' or 'sr-Latn')"},
	    {"{'election_id': 'e', 'title': {'k': 'x'}}",
	     "title: 'k' is not a language tag (2 or 3 lowercase letters, then optionally - and "
	     "letters or digits, as in 'kk' or 'sr-Latn')"},
	    {"{'election_id': 'e', 'title': {'kaze': 'x'}}",
	     "title: 'kaze' is not a language tag (2 or 3 lowercase letters, then optionally - and "
	     "letters or digits, as in 'kk' or 'sr-Latn')"},
	    {"{'election_id': 'e', 'title': {'kk-': 'x'}}",
	     "title: 'kk-' is not a language tag (2 or 3 lowercase letters, then optionally - and "
	     "letters or digits, as in 'kk' or 'sr-Latn')"},
	    {"{'election_id': 'e', 'title': {'kk-a_b': 'x'}}",
	     "title: 'kk-a_b' is not a language tag (2 or 3 lowercase letters, then optionally - "
	     "and letters or digits, as in 'kk' or 'sr-Latn')"},
	    /* 12 characters do not fit TALLY_LANG_TAG_MAX; 11 do (below). */
	    {"{'election_id': 'e', 'title': {'kk-abcdefghi': 'x'}}",
	     "title: 'kk-abcdefghi' is not a language tag (2 or 3 lowercase letters, then "
	     "optionally - and letters or digits, as in 'kk' or 'sr-Latn')"},
	    {"{'election_id': 'e', 'title': {'aa': '1', 'ab': '2', 'ac': '3', 'ad': '4', 'ae': "
	     "'5', 'af': '6', 'ag': '7', 'ah': '8', 'ai': '9'}}",
	     "title: 9 languages, at most 8 are supported"},
	    {"{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': [{'id': 'R', 'name': "
	     "{'en': 'x', 'ru': null}, 'precincts': []}]}",
	     "regions[0].name.ru: expected a string, got null"},
	    {GENERAL_HEAD ", 'contests': [{'id': 'c', 'kind': 'candidate', 'name': [], 'options': "
	                  "[{'id': 'x'}]}]}",
	     "contests[0].name: expected a string or an object of language -> text, got an array"},
	    {GENERAL_HEAD ", 'contests': [{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'x', "
	                  "'name': {'en': ''}}]}]}",
	     "contests[0].options[0].name.en: must not be empty"},
	};
	struct tally_election *e;

	for (size_t i = 0; i < N_CASES(cases); i++)
		expect_error_q(cases[i].json, cases[i].msg);
	/* Eight languages and an 11-character tag are accepted. */
	e = parse_q("{'election_id': 'e', 'title': {'aa': '1', 'ab': '2', 'ac': '3', 'ad': '4', "
	            "'ae': '5', 'af': '6', 'ag': '7', 'kk-abcdefgh': '8'}, " OPTIONS
	            ", 'regions': [{'id': 'R', 'name': 'R', 'precincts': []}]}");
	cr_assert_eq(e->titles.n_langs, 8);
	/* "kk-abcdefgh" is not "kk": the first language is the default. */
	cr_assert_str_eq(e->title, "1");
	cr_assert_str_eq(tally_name_get(&e->titles, "kk-abcdefgh"), "8");
	cr_assert_str_eq(tally_name_get(&e->titles, "ag"), "7");
	tally_election_free(e);
}

Test(election, tiles_place_regions_on_the_map)
{
	struct tally_election *e = parse_q(general);

	cr_assert(e->regions[0].has_tile);
	cr_assert_eq(e->regions[0].tile_col, 3);
	cr_assert_eq(e->regions[0].tile_row, 2);
	cr_assert(e->regions[1].has_tile);
	cr_assert_eq(e->regions[1].tile_col, 4);
	cr_assert_eq(e->regions[1].tile_row, 5);
	cr_assert_not(e->regions[2].has_tile);
	tally_election_free(e);

	e = parse_q("{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': [{'id': 'R', "
	            "'name': 'R', 'tile': [0, 255], 'precincts': []}, {'id': 'S', 'name': 'S', "
	            "'tile': [255, 0], 'precincts': []}]}");
	cr_assert_eq(e->regions[0].tile_col, 0);
	cr_assert_eq(e->regions[0].tile_row, 255);
	cr_assert_eq(e->regions[1].tile_col, 255);
	tally_election_free(e);
}

Test(election, tile_errors)
{
	static const struct error_case cases[] = {
	    {"[1]", "regions[0].tile: expected [column, row], got an array of 1 element"},
	    {"[1, 2, 3]", "regions[0].tile: expected [column, row], got an array of 3 elements"},
	    {"'1,2'", "regions[0].tile: expected [column, row], got a string"},
	    {"[256, 0]", "regions[0].tile[0]: 256 is out of range (0..255)"},
	    {"[0, -1]", "regions[0].tile[1]: -1 is out of range (0..255)"},
	    {"[0, 1.5]", "regions[0].tile[1]: expected an integer (row), got a number with a "
	                 "fraction"},
	    {"['a', 1]", "regions[0].tile[0]: expected an integer (column), got a string"},
	};
	char json[1024];

	for (size_t i = 0; i < N_CASES(cases); i++) {
		snprintf(json, sizeof(json),
		         "{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': [{'id': 'R', "
		         "'name': 'R', 'tile': %s, 'precincts': []}]}",
		         cases[i].json);
		expect_error_q(json, cases[i].msg);
	}
	expect_error_q("{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': ["
	               "{'id': 'R', 'name': 'R', 'tile': [2, 3], 'precincts': []},"
	               "{'id': 'S', 'name': 'S', 'precincts': []},"
	               "{'id': 'U', 'name': 'U', 'tile': [2, 3], 'precincts': []}]}",
	               "regions[2].tile: [2, 3] is already the tile of regions[0]");
}

Test(election, top_level_errors_with_contests)
{
	static const struct error_case cases[] = {
	    {"{'election_id': 'e', 'title': 'T', " OPTIONS ", 'contests': []}",
	     "options: not allowed beside 'contests' (each contest lists its own options)"},
	    {"{'election_id': 'e', 'title': 'T', 'rules': {}, 'contests': []}",
	     "rules: not allowed beside 'contests' (each contest has its own rules)"},
	    {"{'election_id': 'e', 'title': 'T', 'contests': {}}",
	     "contests: expected an array, got an object"},
	    {GENERAL_HEAD ", 'contests': []}", "contests: must not be empty"},
	    {GENERAL_HEAD ", 'contests': [5]}", "contests[0]: expected an object, got an integer"},
	    {GENERAL_HEAD ", 'contests': [{'id': 'x', 'kind': 'candidate', 'options': [{'id': "
	                  "'a'}]}, {'id': 'y', 'kind': 'candidate', 'options': [{'id': 'a'}]}, "
	                  "{'id': 'x', 'kind': 'referendum', 'options': [{'id': 'a'}]}]}",
	     "contests[2].id: duplicate contest id 'x' (first at contests[0])"},
	};

	for (size_t i = 0; i < N_CASES(cases); i++)
		expect_error_q(cases[i].json, cases[i].msg);
}

Test(election, contest_errors)
{
	static const struct error_case cases[] = {
	    {"{'kind': 'candidate', 'options': [{'id': 'a'}]}",
	     "contests[0].id: missing, expected a string"},
	    {"{'id': 'c', 'options': [{'id': 'a'}]}",
	     "contests[0].kind: missing, expected one of referendum, candidate, party_list"},
	    {"{'id': 'c', 'kind': 'mayor', 'options': [{'id': 'a'}]}",
	     "contests[0].kind: unknown kind 'mayor' (known: referendum, candidate, party_list)"},
	    {"{'id': 'c', 'kind': 1, 'options': [{'id': 'a'}]}",
	     "contests[0].kind: expected a string, got an integer"},
	    {"{'id': 'c', 'kind': 'party_list', 'options': [{'id': 'a'}], 'rules': {'method': "
	     "'hare'}}",
	     "contests[0].seats: missing, expected an integer"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 0, 'options': [{'id': 'a'}]}",
	     "contests[0].seats: 0 is out of range (1..10000)"},
	    {"{'id': 'c', 'kind': 'candidate', 'seats': 0, 'options': [{'id': 'a'}]}",
	     "contests[0].seats: 0 is out of range (1..10000)"},
	    {"{'id': 'c', 'kind': 'candidate', 'seats': 10001, 'options': [{'id': 'a'}]}",
	     "contests[0].seats: 10001 is out of range (1..10000)"},
	    {"{'id': 'c', 'kind': 'candidate', 'seats': '2', 'options': [{'id': 'a'}]}",
	     "contests[0].seats: expected an integer, got a string"},
	    {"{'id': 'c', 'kind': 'referendum', 'seats': 1, 'options': [{'id': 'a'}]}",
	     "contests[0].seats: a referendum has no seats"},
	};

	expect_contest_errors(cases, N_CASES(cases));
}

Test(election, scope_errors)
{
	static const struct error_case cases[] = {
	    {"{'id': 'c', 'kind': 'candidate', 'scope': 'regional', 'options': [{'id': 'a'}]}",
	     "contests[0].scope: unknown scope 'regional' (expected 'national', {'regions': [...]} "
	     "or {'district': 'ID'})"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': 5, 'options': [{'id': 'a'}]}",
	     "contests[0].scope: expected 'national' or an object, got an integer"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {}, 'options': [{'id': 'a'}]}",
	     "contests[0].scope: expected 'regions' or 'district'"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'county': 'x'}, 'options': [{'id': 'a'}]}",
	     "contests[0].scope.county: unknown key (expected 'regions' or 'district')"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'district': 'D1', 'regions': ['A']}, "
	     "'options': [{'id': 'a'}]}",
	     "contests[0].scope: give 'regions' or 'district', not both"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'regions': ['A', 'X']}, 'options': "
	     "[{'id': "
	     "'a'}]}",
	     "contests[0].scope.regions[1]: unknown region 'X'"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'regions': []}, 'options': [{'id': 'a'}]}",
	     "contests[0].scope.regions: must not be empty"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'regions': 'A'}, 'options': [{'id': "
	     "'a'}]}",
	     "contests[0].scope.regions: expected an array, got a string"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'regions': [1]}, 'options': [{'id': "
	     "'a'}]}",
	     "contests[0].scope.regions[0]: expected a string, got an integer"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'regions': ['B', 'A', 'B']}, 'options': "
	     "[{'id': 'a'}]}",
	     "contests[0].scope.regions[2]: region 'B' is listed twice (first at "
	     "contests[0].scope.regions[0])"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'district': 'D9'}, 'options': [{'id': "
	     "'a'}]}",
	     "contests[0].scope.district: unknown district 'D9'"},
	    {"{'id': 'c', 'kind': 'candidate', 'scope': {'district': 7}, 'options': [{'id': 'a'}]}",
	     "contests[0].scope.district: expected a string, got an integer"},
	};

	expect_contest_errors(cases, N_CASES(cases));
}

Test(election, option_errors)
{
	static const struct error_case cases[] = {
	    {"{'id': 'c', 'kind': 'candidate'}", "contests[0].options: missing, expected an array"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': []}",
	     "contests[0].options: must not be empty"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': ['a']}",
	     "contests[0].options[0]: expected an object, got a string"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}, {'id': 'a'}]}",
	     "contests[0].options[1].id: duplicate option id 'a' (first at "
	     "contests[0].options[0])"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'party': 'p9'}]}",
	     "contests[0].options[0].party: unknown party 'p9'"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'party': 5}]}",
	     "contests[0].options[0].party: expected a string, got an integer"},
	    {"{'id': 'c', 'kind': 'referendum', 'options': [{'id': 'a', 'party': 'p1'}]}",
	     "contests[0].options[0].party: a referendum option has no party"},
	    {"{'id': 'c', 'kind': 'referendum', 'options': [{'id': 'a'}, {'id': 'b', "
	     "'against_all': true}]}",
	     "contests[0].options[1].against_all: a referendum has no against-all option"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a', 'party': "
	     "'p1', 'against_all': true}], 'rules': {'method': 'hare'}}",
	     "contests[0].options[0].against_all: an option with a party cannot be against all"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}, {'id': 'b', "
	     "'against_all': 'yes'}]}",
	     "contests[0].options[1].against_all: expected a boolean, got a string"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}, {'id': 'b', "
	     "'against_all': true}, {'id': 'd', 'against_all': true}]}",
	     "contests[0].options[2].against_all: only one option may be against all (first at "
	     "contests[0].options[1])"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'b', 'against_all': true}]}",
	     "contests[0].options: every option is against all; at least one must be able to win"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'list_length': 5}]}",
	     "contests[0].options[0].list_length: only party_list options have a list length"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}, {'id': 'b', "
	     "'against_all': true, 'list_length': 5}], 'rules': {'method': 'hare'}}",
	     "contests[0].options[1].list_length: an against-all option takes no seats"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a', "
	     "'list_length': -1}], 'rules': {'method': 'hare'}}",
	     "contests[0].options[0].list_length: -1 is out of range (0..4294967295)"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'color': 'red'}]}",
	     "contests[0].options[0].color: 'red' is not a colour of the form #rrggbb"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'color': '#12345g'}]}",
	     "contests[0].options[0].color: '#12345g' is not a colour of the form #rrggbb"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'color': 5}]}",
	     "contests[0].options[0].color: expected a string, got an integer"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a', 'name': ''}]}",
	     "contests[0].options[0].name: must not be empty"},
	};
	char json[8192];
	size_t n;

	expect_contest_errors(cases, N_CASES(cases));
	n = (size_t)snprintf(json, sizeof(json),
	                     "{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'o0'}");
	for (int i = 1; i < 33; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", {'id': 'o%d'}", i);
	snprintf(json + n, sizeof(json) - n, "]}");
	expect_contest_errors(
	    &(struct error_case){json, "contests[0].options: 33 options, at most 32 are supported"},
	    1);
}

Test(election, an_option_id_may_repeat_across_contests)
{
	struct tally_election *e = parse_q(
	    GENERAL_HEAD ", 'contests': [{'id': 'a', 'kind': 'candidate', 'options': [{'id': "
	                 "'x'}, {'id': 'against-all', 'against_all': true}]}, {'id': 'b', "
	                 "'kind': 'candidate', 'options': [{'id': 'against-all', 'against_all': "
	                 "true}, {'id': 'x'}]}]}");

	cr_assert_eq(tally_contest_option_index(&e->contests[0], "x"), 0);
	cr_assert_eq(tally_contest_option_index(&e->contests[1], "x"), 1);
	tally_election_free(e);
}

Test(election, rule_errors)
{
	static const struct error_case cases[] = {
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}]}",
	     "contests[0].rules.method: missing, expected one of hare, dhondt, sainte_lague"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'threshold_pct': 5}}",
	     "contests[0].rules.method: missing, expected one of hare, dhondt, sainte_lague"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'webster'}}",
	     "contests[0].rules.method: unknown method 'webster' (known: hare, dhondt, "
	     "sainte_lague)"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 1}}",
	     "contests[0].rules.method: expected a string, got an integer"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'tie': 'coin'}}",
	     "contests[0].rules.tie: unknown tie rule 'coin' (known: ballot_order, lot)"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'overflow': 'drop'}}",
	     "contests[0].rules.overflow: unknown overflow rule 'drop' (known: redistribute, "
	     "vacant)"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'threshold_of': 'registered'}}",
	     "contests[0].rules.threshold_of: unknown denominator 'registered' (known: "
	     "ballots_cast, valid)"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'threshold_pct': 101}}",
	     "contests[0].rules.threshold_pct: 101 is out of range (0 <= x <= 100)"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'threshold_pct': '5'}}",
	     "contests[0].rules.threshold_pct: expected a number, got a string"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'threshold_pct': 5.00001}}",
	     "contests[0].rules.threshold_pct: 5.00001 is not a whole number of millionths (at "
	     "most 4 decimals for a percentage)"},
	    {"{'id': 'c', 'kind': 'party_list', 'seats': 5, 'options': [{'id': 'a'}], 'rules': "
	     "{'method': 'hare', 'region_majority_fraction': 0.5}}",
	     "contests[0].rules.region_majority_fraction: unknown rule for a party_list contest "
	     "(known: min_turnout_pct, threshold_pct, threshold_of, method, tie, overflow)"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}], 'rules': {'win': "
	     "'majority'}}",
	     "contests[0].rules.win: unknown win rule 'majority' (known: plurality, "
	     "absolute_majority)"},
	    {"{'id': 'c', 'kind': 'candidate', 'seats': 2, 'options': [{'id': 'a'}], 'rules': "
	     "{'win': 'absolute_majority'}}",
	     "contests[0].rules.win: absolute_majority elects one candidate, but seats is 2 (use "
	     "plurality for several seats)"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}], 'rules': {'majority_of': "
	     "'registered'}}",
	     "contests[0].rules.majority_of: unknown denominator 'registered' (known: "
	     "ballots_cast, valid)"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}], 'rules': "
	     "{'threshold_pct': 5}}",
	     "contests[0].rules.threshold_pct: unknown rule for a candidate contest (known: "
	     "min_turnout_pct, win, majority_of)"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}], 'rules': []}",
	     "contests[0].rules: expected an object, got an array"},
	    {"{'id': 'c', 'kind': 'candidate', 'options': [{'id': 'a'}], 'rules': "
	     "{'min_turnout_pct': -1}}",
	     "contests[0].rules.min_turnout_pct: -1 is out of range (0 <= x <= 100)"},
	    {"{'id': 'c', 'kind': 'referendum', 'options': [{'id': 'a'}], 'rules': "
	     "{'pass_share_of': 'all'}}",
	     "contests[0].rules.pass_share_of: unknown denominator 'all' (known: ballots_cast, "
	     "valid)"},
	    {"{'id': 'c', 'kind': 'referendum', 'options': [{'id': 'a'}], 'rules': "
	     "{'region_majority_fraction': 0.6666667}}",
	     "contests[0].rules.region_majority_fraction: 0.6666667 is not a whole number of "
	     "millionths (at most 6 decimals for a fraction)"},
	    {"{'id': 'c', 'kind': 'referendum', 'options': [{'id': 'a'}], 'rules': "
	     "{'region_majority_fraction': 0}}",
	     "contests[0].rules.region_majority_fraction: 0 is out of range (0 < x <= 1)"},
	    {"{'id': 'c', 'kind': 'referendum', 'options': [{'id': 'a'}], 'rules': {'win': "
	     "'plurality'}}",
	     "contests[0].rules.win: unknown rule for a referendum contest (known: "
	     "min_turnout_pct, region_majority_fraction, pass_share_of)"},
	};

	expect_contest_errors(cases, N_CASES(cases));
}

Test(election, legacy_rules_are_whole_millionths_and_keep_their_keys)
{
	struct tally_election *e;

	expect_rules_error(q("{'min_turnout_pct': 33.333333}"),
	                   "rules.min_turnout_pct: 33.333333 is not a whole number of millionths "
	                   "(at most 4 decimals for a percentage)");
	/* pass_share_of needs a definition with contests: totals.c decides the legacy one. */
	expect_rules_error(q("{'pass_share_of': 'valid'}"),
	                   "rules.pass_share_of: unknown rule (known: min_turnout_pct, "
	                   "region_majority_fraction)");
	e = parse_q("{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': [{'id': 'R', "
	            "'name': 'R', 'precincts': []}], 'rules': {'min_turnout_pct': 33.3333, "
	            "'region_majority_fraction': 0.666667}}");
	cr_assert_float_eq(e->rules.min_turnout_pct, 33.3333, 1e-12);
	cr_assert_eq(e->contests[0].rules.min_turnout_ppm, 333333);
	cr_assert_eq(e->contests[0].rules.region_majority_ppm, 666667);
	tally_election_free(e);
}

Test(election, party_errors)
{
	static const struct error_case cases[] = {
	    {"'parties': {}", "parties: expected an array, got an object"},
	    {"'parties': ['p']", "parties[0]: expected an object, got a string"},
	    {"'parties': [{'id': 'p'}]", "parties[0].name: missing, expected a string"},
	    {"'parties': [{'name': 'P'}]", "parties[0].id: missing, expected a string"},
	    {"'parties': [{'id': 'p', 'name': 'P'}, {'id': 'q', 'name': 'Q'}, {'id': 'p', "
	     "'name': 'P2'}]",
	     "parties[2].id: duplicate party id 'p' (first at parties[0])"},
	    {"'parties': [{'id': 'p', 'name': 'P', 'color': '#12345'}]",
	     "parties[0].color: '#12345' is not a colour of the form #rrggbb"},
	};
	char json[2048];

	for (size_t i = 0; i < N_CASES(cases); i++) {
		snprintf(json, sizeof(json),
		         "{'election_id': 'e', 'title': 'T', 'regions': [{'id': 'A', 'name': 'A', "
		         "'precincts': [[1, 10]]}], %s, 'contests': [{'id': 'c', 'kind': "
		         "'candidate', 'options': [{'id': 'x'}]}]}",
		         cases[i].json);
		expect_error_q(json, cases[i].msg);
	}
}

Test(election, district_errors)
{
	static const struct error_case cases[] = {
	    {"'districts': 'D'", "districts: expected an array, got a string"},
	    {"'districts': [[1, 2]]", "districts[0]: expected an object, got an array"},
	    {"'districts': [{'id': 'D'}]", "districts[0].precincts: missing, expected an array"},
	    {"'districts': [{'id': 'D', 'precincts': []}]",
	     "districts[0].precincts: must not be empty"},
	    {"'districts': [{'id': 'D', 'precincts': [1, 99]}]",
	     "districts[0].precincts[1]: unknown precinct 99"},
	    {"'districts': [{'id': 'D', 'precincts': ['1']}]",
	     "districts[0].precincts[0]: expected an integer (a precinct id), got a string"},
	    {"'districts': [{'id': 'D', 'precincts': [0]}]",
	     "districts[0].precincts[0]: 0 is out of range (1..4294967295)"},
	    {"'districts': [{'id': 'D', 'precincts': [3, 1, 2, 3]}]",
	     "districts[0].precincts[3]: precinct 3 is listed twice (first at "
	     "districts[0].precincts[0])"},
	    {"'districts': [{'id': 'D', 'precincts': [1, 2, 2]}]",
	     "districts[0].precincts[2]: precinct 2 is listed twice (first at "
	     "districts[0].precincts[1])"},
	    {"'districts': [{'id': 'D', 'precincts': [1]}, {'id': 'D', 'precincts': [2]}]",
	     "districts[1].id: duplicate district id 'D' (first at districts[0])"},
	    {"'districts': [{'id': 'D', 'name': '', 'precincts': [1]}]",
	     "districts[0].name: must not be empty"},
	};
	char json[2048];

	for (size_t i = 0; i < N_CASES(cases); i++) {
		snprintf(json, sizeof(json),
		         "{'election_id': 'e', 'title': 'T', 'regions': [{'id': 'A', 'name': 'A', "
		         "'precincts': [[1, 10], [2, 20]]}, {'id': 'B', 'name': 'B', 'precincts': "
		         "[[3, 30]]}], %s, 'contests': [{'id': 'c', 'kind': 'candidate', "
		         "'options': [{'id': 'x'}]}]}",
		         cases[i].json);
		expect_error_q(json, cases[i].msg);
	}
}

Test(election, a_definition_without_contests_may_have_districts_and_parties)
{
	struct tally_election *e =
	    parse_q("{'election_id': 'e', 'title': 'T', " OPTIONS ", 'regions': [{'id': 'A', "
	            "'name': 'A', 'precincts': [[1, 10], [2, 20]]}], 'districts': [{'id': 'D', "
	            "'precincts': [2]}], 'parties': [{'id': 'p', 'name': 'P'}]}");

	cr_assert_eq(e->n_contests, 1);
	cr_assert_eq(e->n_options, 2);
	cr_assert_eq(tally_election_district_index(e, "D"), 0);
	cr_assert_eq(e->districts[0].registered, 20);
	cr_assert_eq(tally_election_party_index(e, "p"), 0);
	tally_election_free(e);
}

/* Districts of many precincts, ascending or not, keep their lists compact and sorted. */
Test(election, large_district_loads_sorted)
{
	size_t cap = 1 << 20, n;
	char *json = malloc(cap);
	struct tally_election *e;
	struct tally_err err = {{0}};

	cr_assert_not_null(json);
	n = (size_t)snprintf(json, cap,
	                     "{\"election_id\": \"e\", \"title\": \"T\", \"regions\": [{\"id\": "
	                     "\"A\", \"name\": \"A\", \"precincts\": [");
	for (int i = 1; i <= 20000; i++)
		n += (size_t)snprintf(json + n, cap - n, "%s[%d, 1]", i > 1 ? ", " : "", i);
	n += (size_t)snprintf(json + n, cap - n,
	                      "]}], \"districts\": [{\"id\": \"up\", \"precincts\": [");
	for (int i = 2; i <= 20000; i += 2)
		n += (size_t)snprintf(json + n, cap - n, "%s%d", i > 2 ? ", " : "", i);
	n += (size_t)snprintf(json + n, cap - n, "]}, {\"id\": \"down\", \"precincts\": [");
	for (int i = 19999; i >= 1; i -= 2)
		n += (size_t)snprintf(json + n, cap - n, "%s%d", i < 19999 ? ", " : "", i);
	snprintf(json + n, cap - n,
	         "]}], \"contests\": [{\"id\": \"c\", \"kind\": \"candidate\", \"scope\": "
	         "{\"district\": \"down\"}, \"options\": [{\"id\": \"x\"}]}]}");
	cr_assert_eq(tally_election_parse(json, strlen(json), &e, &err), 0, "%s", err.msg);
	free(json);
	cr_assert_eq(e->districts[0].n_precincts, 10000);
	cr_assert_eq(e->districts[1].n_precincts, 10000);
	for (uint32_t k = 0; k < 10000; k++) {
		cr_assert_eq(e->districts[0].precincts[k], 2 * k + 1);
		cr_assert_eq(e->districts[1].precincts[k], 2 * k);
	}
	cr_assert_eq(e->contests[0].precincts, e->districts[1].precincts);
	cr_assert_eq(tally_election_slot(e, 0, 4), 2);
	cr_assert_eq(tally_election_slot(e, 0, 5), -ENOENT);
	tally_election_free(e);
}

/* ---- districts per contest and per precinct ---- */

/*
 * Regions A {1, 2}, B {3}, C {4, 5}; districts D1 {1, 3} (A and B),
 * D2 {4, 5} (C), D3 {2} (A), D4 {3, 4} (B and C). Precinct 3 is in D1 and
 * D4, precinct 4 in D2 and D4, precinct 5 only in D2.
 */
static const char overlapping[] =
    "{'election_id': 'e', 'title': 'T', 'regions': ["
    " {'id': 'A', 'name': 'A', 'precincts': [[1, 10], [2, 20]]},"
    " {'id': 'B', 'name': 'B', 'precincts': [[3, 30]]},"
    " {'id': 'C', 'name': 'C', 'precincts': [[4, 40], [5, 50]]}],"
    " 'districts': [{'id': 'D1', 'precincts': [3, 1]}, {'id': 'D2', 'precincts': [4, 5]},"
    "  {'id': 'D3', 'precincts': [2]}, {'id': 'D4', 'precincts': [4, 3]}],"
    " 'contests': ["
    "  {'id': 'all', 'kind': 'referendum', 'scope': 'national', 'options': [{'id': 'y'}]},"
    "  {'id': 'bc', 'kind': 'referendum', 'scope': {'regions': ['C', 'B']},"
    "   'options': [{'id': 'y'}]},"
    "  {'id': 'a', 'kind': 'referendum', 'scope': {'regions': ['A']}, 'options': [{'id': 'y'}]},"
    "  {'id': 'c', 'kind': 'referendum', 'scope': {'regions': ['C']}, 'options': [{'id': 'y'}]},"
    "  {'id': 'd4', 'kind': 'candidate', 'scope': {'district': 'D4'},"
    "   'options': [{'id': 'x'}]}]}";

Test(election, contests_keep_the_districts_wholly_inside_their_scope)
{
	struct tally_election *e = parse_q(overlapping);
	const struct tally_contest *c = e->contests;

	ASSERT_U32S(c[0].districts, c[0].n_districts, 0, 1, 2, 3);
	ASSERT_U32S(c[1].districts, c[1].n_districts, 1, 3); /* D1 reaches into A */
	ASSERT_U32S(c[2].districts, c[2].n_districts, 2);
	ASSERT_U32S(c[3].districts, c[3].n_districts, 1); /* D4 reaches into B */
	ASSERT_U32S(c[4].districts, c[4].n_districts, 3); /* its own district only */
	tally_election_free(e);

	/* In the general example: the regional contest keeps none, the district one its own. */
	e = parse_q(general);
	ASSERT_U32S(e->contests[0].districts, e->contests[0].n_districts, 0, 1);
	ASSERT_U32S(e->contests[1].districts, e->contests[1].n_districts, 0);
	cr_assert_eq(e->contests[2].n_districts, 0);
	ASSERT_U32S(e->contests[3].districts, e->contests[3].n_districts, 0, 1);
	tally_election_free(e);
}

Test(election, each_precinct_knows_its_districts)
{
	struct tally_election *e = parse_q(overlapping);
	/* By precinct index (ids 1..5 are indexes 0..4). */
	static const char *const want[] = {"0", "2", "03", "13", "1"};
	size_t n;

	for (size_t p = 0; p < e->n_precincts; p++) {
		const uint32_t *d = tally_election_precinct_districts(e, p, &n);
		cr_assert_eq(n, strlen(want[p]), "precinct index %zu", p);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(d[k], (uint32_t)(want[p][k] - '0'), "precinct index %zu", p);
	}
	ASSERT_U32S(e->precinct_district_start, e->n_precincts + 1, 0, 1, 2, 4, 6, 7);
	tally_election_free(e);

	/* A precinct in no district, and an election without districts. */
	e = parse_q(general);
	cr_assert_null(tally_election_precinct_districts(e, 2, &n));
	cr_assert_eq(n, 0);
	tally_election_free(e);
	e = parse_ok(valid);
	cr_assert_null(e->precinct_district_start);
	cr_assert_null(e->precinct_districts);
	n = 9;
	cr_assert_null(tally_election_precinct_districts(e, 0, &n));
	cr_assert_eq(n, 0);
	tally_election_free(e);
}

Test(election, positions_of_regions_and_districts_in_a_contest)
{
	struct tally_election *e = parse_q(overlapping);
	const struct tally_contest *bc = &e->contests[1], *d4 = &e->contests[4];

	cr_assert_eq(tally_contest_region_position(bc, 0), -ENOENT);
	cr_assert_eq(tally_contest_region_position(bc, 1), 0);
	cr_assert_eq(tally_contest_region_position(bc, 2), 1);
	cr_assert_eq(tally_contest_district_position(bc, 0), -ENOENT);
	cr_assert_eq(tally_contest_district_position(bc, 1), 0);
	cr_assert_eq(tally_contest_district_position(bc, 3), 1);
	ASSERT_U32S(d4->regions, d4->n_regions, 1, 2);
	cr_assert_eq(tally_contest_region_position(d4, 2), 1);
	cr_assert_eq(tally_contest_district_position(d4, 3), 0);
	cr_assert_eq(tally_contest_district_position(d4, 1), -ENOENT);
	tally_election_free(e);
}

/* Indexing twice (the loader does) gives the same maps, and frees the first. */
Test(election, indexing_again_rebuilds_the_district_maps)
{
	struct tally_election *e = parse_q(overlapping);
	size_t n;

	cr_assert_eq(tally_election_index(e), 0);
	ASSERT_U32S(e->contests[1].districts, e->contests[1].n_districts, 1, 3);
	const uint32_t *d = tally_election_precinct_districts(e, 3, &n);
	ASSERT_U32S(d, n, 1, 3);
	tally_election_free(e);
}

/* The complete example of docs/elections.md loads as the text says. */
Test(election, the_documented_example_loads)
{
	char path[1024], *text, *start, *end;
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/docs/elections.md", TALLY_SOURCE_DIR);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	cr_assert_not_null(text);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	start = strstr(text, "## A complete example");
	cr_assert_not_null(start);
	start = strstr(start, "```json\n");
	cr_assert_not_null(start);
	start += strlen("```json\n");
	end = strstr(start, "\n```");
	cr_assert_not_null(end);
	cr_assert_eq(tally_election_parse(start, (size_t)(end - start), &e, &err), 0, "%s",
	             err.msg);
	free(text);
	cr_assert_eq(e->n_precincts, 5);
	cr_assert_eq(e->n_contests, 4);
	cr_assert_eq(e->contests[0].n_precincts, 5);
	cr_assert_eq(e->contests[1].n_precincts, 3);
	cr_assert_eq(e->contests[1].n_regions, 2);
	cr_assert_eq(e->contests[2].n_precincts, 2);
	cr_assert_eq(e->contests[3].n_precincts, 5);
	cr_assert_eq(e->n_slots, 15);
	cr_assert(e->contests[0].options[3].against_all);
	cr_assert_eq(e->contests[0].rules.threshold_ppm, 50000);
	cr_assert_str_eq(e->regions[1].name, "Акмолинская область");
	tally_election_free(e);
}
