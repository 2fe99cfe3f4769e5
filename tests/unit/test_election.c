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
