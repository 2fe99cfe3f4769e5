/*
 * Tests for the node's protocol file parser (daemon/node/protocol_file.c):
 * good JSON and CSV files give exact rows; each kind of bad input gives an
 * error with the exact line, precinct, field and words an operator reads
 * in the .error file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "node/protocol_file.h"

static struct tally_election *election, *general;

static const char definition[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": ["
    "  {\"id\": 17, \"registered\": 1500}, {\"id\": 18, \"registered\": 900}]}]}";

/*
 * A general election: a national party list, a district race (precincts 2,
 * 3 and 101) and a national referendum. "against-all" is an option of two
 * contests.
 */
static const char general_definition[] =
    "{\"election_id\": \"kz-2027\", \"title\": \"General election\","
    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\","
    "               \"precincts\": [[1, 1500], [2, 900], [3, 700]]},"
    "              {\"id\": \"KZ-11\", \"name\": \"Akmola\", \"precincts\": [[101, 800]]}],"
    " \"districts\": [{\"id\": \"OTK-07\", \"precincts\": [2, 3, 101]}],"
    " \"parties\": [{\"id\": \"amanat\", \"name\": \"AMANAT\"},"
    "             {\"id\": \"ak-zhol\", \"name\": \"Ak Zhol\"}],"
    " \"contests\": ["
    "  {\"id\": \"party-list\", \"kind\": \"party_list\", \"seats\": 69,"
    "   \"options\": [{\"id\": \"amanat\", \"party\": \"amanat\"},"
    "               {\"id\": \"ak-zhol\", \"party\": \"ak-zhol\"},"
    "               {\"id\": \"against-all\", \"against_all\": true}],"
    "   \"rules\": {\"method\": \"hare\"}},"
    "  {\"id\": \"otk-07\", \"kind\": \"candidate\", \"scope\": {\"district\": \"OTK-07\"},"
    "   \"options\": [{\"id\": \"c-1\"}, {\"id\": \"c-2\"},"
    "               {\"id\": \"against-all\", \"against_all\": true}]},"
    "  {\"id\": \"referendum\", \"kind\": \"referendum\","
    "   \"options\": [{\"id\": \"yes\"}, {\"id\": \"no\"}]}]}";

static void setup(void)
{
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(definition, strlen(definition), &election, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(
	    tally_election_parse(general_definition, strlen(general_definition), &general, &err), 0,
	    "%s", err.msg);
}

static void teardown(void)
{
	election = tally_election_free(election);
	general = tally_election_free(general);
}

TestSuite(protocol_file, .init = setup, .fini = teardown);

static struct protocol_file *parse(enum protocol_format fmt, const char *text)
{
	struct protocol_expect x = {"kz-2026", "KZ-71", election};
	struct protocol_file *f = NULL;

	cr_assert_eq(protocol_file_parse(&x, fmt, (const uint8_t *)text, strlen(text), &f), 0);
	cr_assert_not_null(f);
	return f;
}

/* The file's errors as .error text, for exact comparison. */
static char *errors_of(const struct protocol_file *f)
{
	char *text = NULL;

	cr_assert_eq(protocol_file_format_errors(f, &text), 0);
	return text;
}

static void assert_errors(enum protocol_format fmt, const char *input, const char *want)
{
	struct protocol_file *f = parse(fmt, input);
	char *text = errors_of(f);

	cr_assert_str_eq(text, want, "input:\n%s\ngot:\n%s", input, text);
	free(text);
	protocol_file_free(f);
}

static const char good_json[] =
    "\n  {\"precinct_id\": 17, \"revision\": 1, \"voters_registered\": 1500,\n"
    "   \"ballots_received\": 1400, \"ballots_issued\": 1200, \"ballots_cancelled\": 200,\n"
    "   \"ballots_cast\": 1180, \"ballots_invalid\": 12, \"ballots_not_counted\": 3,\n"
    "   \"votes\": {\"no\": 265, \"yes\": 900}}\n";

Test(protocol_file, json_protocol_gives_one_exact_row)
{
	struct protocol_file *f = parse(PROTOCOL_FORMAT_JSON, good_json);
	const struct tally_result *r;

	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 1);
	cr_assert_eq(f->rows[0].line, 2);
	r = &f->rows[0].result;
	cr_assert_str_eq(r->election_id, "kz-2026");
	cr_assert_str_eq(r->region_id, "KZ-71");
	cr_assert_eq(r->precinct_id, 17);
	cr_assert_eq(r->revision, 1);
	cr_assert_eq(r->voters_registered, 1500);
	cr_assert_eq(r->ballots_received, 1400);
	cr_assert_eq(r->ballots_issued, 1200);
	cr_assert_eq(r->ballots_cancelled, 200);
	cr_assert_eq(r->ballots_cast, 1180);
	cr_assert_eq(r->ballots_invalid, 12);
	cr_assert_eq(r->ballots_not_counted, 3);
	cr_assert_eq(r->recorded_at_ms, 0);
	/* Votes come out in the election's option order, whatever the file's. */
	cr_assert_eq(r->n_votes, 2);
	cr_assert_str_eq(r->votes[0].option_id, "yes");
	cr_assert_eq(r->votes[0].count, 900);
	cr_assert_str_eq(r->votes[1].option_id, "no");
	cr_assert_eq(r->votes[1].count, 265);
	protocol_file_free(f);
}

Test(protocol_file, json_optional_fields)
{
	struct protocol_file *f =
	    parse(PROTOCOL_FORMAT_JSON,
	          "{\"election_id\": \"kz-2026\", \"region_id\": \"KZ-71\", \"precinct_id\": 18,"
	          " \"revision\": 2, \"voters_registered\": 900, \"ballots_received\": 800,"
	          " \"ballots_issued\": 700, \"ballots_cancelled\": 100, \"ballots_cast\": 690,"
	          " \"ballots_invalid\": 0, \"recorded_at_ms\": 1767225600000,"
	          " \"votes\": {\"yes\": 400, \"no\": 290}}");

	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 1);
	cr_assert_eq(f->rows[0].line, 1);
	cr_assert_eq(f->rows[0].result.ballots_not_counted, 0);
	cr_assert_eq(f->rows[0].result.recorded_at_ms, 1767225600000ull);
	cr_assert_eq(f->rows[0].result.revision, 2);
	protocol_file_free(f);
}

Test(protocol_file, json_strict_numbers_and_fields)
{
	assert_errors(PROTOCOL_FORMAT_JSON,
	              "{\"precinct_id\": 17, \"revision\": 1, \"voters_registered\": -5,\n"
	              " \"ballots_received\": 1.5, \"ballots_issued\": 4294967296,\n"
	              " \"ballots_cancelled\": \"200\", \"ballots_cast\": 1180,\n"
	              " \"ballots_invalid\": 12, \"ballots_invlid\": 1,\n"
	              " \"votes\": {\"yes\": 900, \"no\": -1}}",
	              "line 1: precinct 17: voters_registered: -5 is negative\n"
	              "line 1: precinct 17: ballots_received: 1.5 is not a whole number\n"
	              "line 1: precinct 17: ballots_issued: 4294967296 is above 4294967295\n"
	              "line 1: precinct 17: ballots_cancelled: must be a whole number, not a "
	              "string\n"
	              "line 1: precinct 17: JSON: unknown field 'ballots_invlid'\n"
	              "line 1: precinct 17: votes.no: -1 is negative\n");
}

Test(protocol_file, json_missing_fields_and_wrong_ids)
{
	assert_errors(PROTOCOL_FORMAT_JSON,
	              "{\"election_id\": \"other\", \"region_id\": \"KZ-10\", \"revision\": 1}",
	              "line 1: election_id: 'other' is not this node's 'kz-2026'\n"
	              "line 1: region_id: 'KZ-10' is not this node's 'KZ-71'\n"
	              "line 1: precinct_id: missing\n"
	              "line 1: voters_registered: missing\n"
	              "line 1: ballots_received: missing\n"
	              "line 1: ballots_issued: missing\n"
	              "line 1: ballots_cancelled: missing\n"
	              "line 1: ballots_cast: missing\n"
	              "line 1: ballots_invalid: missing\n"
	              "line 1: votes: missing\n");
}

Test(protocol_file, json_syntax_errors_name_the_line)
{
	struct protocol_file *f = parse(PROTOCOL_FORMAT_JSON, "{\"precinct_id\": 17,\n\"x\": }");

	cr_assert_eq(f->n_rows, 0);
	cr_assert_eq(f->n_errors, 1);
	cr_assert_eq(f->errors[0].line, 2);
	cr_assert_str_eq(f->errors[0].where, "JSON");
	protocol_file_free(f);

	assert_errors(PROTOCOL_FORMAT_JSON, "[1,\n 2]",
	              "line 1: JSON: protocol 1 of the array must be an object, not a number\n"
	              "line 2: JSON: protocol 2 of the array must be an object, not a number\n");
	assert_errors(PROTOCOL_FORMAT_JSON, "{\"precinct_id\": 1, \"precinct_id\": 2}",
	              "line 1: JSON: duplicate object key near '\"precinct_id\"' (column 32)\n");
}

static const char good_csv[] =
    "\xef\xbb\xbfprecinct_id,revision,voters_registered,ballots_received,ballots_issued,"
    "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,no,yes\r\n"
    "17,1,1500,1400,1200,200,1180,12,3,265,900\r\n"
    "\r\n"
    " 18 , 2 ,900,800,700,100,690,0,0,290,400\n";

Test(protocol_file, csv_rows_with_bom_crlf_blank_lines_and_spaces)
{
	struct protocol_file *f = parse(PROTOCOL_FORMAT_CSV, good_csv);

	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 2);
	cr_assert_eq(f->rows[0].line, 2);
	cr_assert_eq(f->rows[0].result.precinct_id, 17);
	cr_assert_eq(f->rows[0].result.ballots_not_counted, 3);
	cr_assert_str_eq(f->rows[0].result.votes[0].option_id, "yes");
	cr_assert_eq(f->rows[0].result.votes[0].count, 900);
	cr_assert_str_eq(f->rows[0].result.votes[1].option_id, "no");
	cr_assert_eq(f->rows[0].result.votes[1].count, 265);
	cr_assert_eq(f->rows[1].line, 4);
	cr_assert_eq(f->rows[1].result.precinct_id, 18);
	cr_assert_eq(f->rows[1].result.revision, 2);
	cr_assert_eq(f->rows[1].result.ballots_cast, 690);
	cr_assert_str_eq(f->rows[1].result.region_id, "KZ-71");
	protocol_file_free(f);
}

Test(protocol_file, csv_without_not_counted_column)
{
	struct protocol_file *f =
	    parse(PROTOCOL_FORMAT_CSV, "precinct_id,revision,voters_registered,ballots_received,"
	                               "ballots_issued,ballots_cancelled,ballots_cast,"
	                               "ballots_invalid,yes,no\n"
	                               "17,1,1500,1400,1200,200,1180,15,900,265");

	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 1);
	cr_assert_eq(f->rows[0].result.ballots_not_counted, 0);
	cr_assert_eq(f->rows[0].result.ballots_invalid, 15);
	cr_assert_eq(f->rows[0].result.votes[1].count, 265);
	protocol_file_free(f);
}

#define HEADER                                                                                     \
	"precinct_id,revision,voters_registered,ballots_received,ballots_issued,"                  \
	"ballots_cancelled,ballots_cast,ballots_invalid,yes,no\n"

Test(protocol_file, csv_bad_fields_are_listed_per_row)
{
	assert_errors(PROTOCOL_FORMAT_CSV,
	              HEADER "17,1,1500,1400,1200,200,1180,15,900,265\n"
	                     "18,1,900,+800,700,100,690,,400,x\n"
	                     "19,1,900,800\n"
	                     "abc,1,900,800,700,100,690,0,400,99999999999\n",
	              "line 3: precinct 18: ballots_received: '+800' is not a whole number from 0 "
	              "to 4294967295\n"
	              "line 3: precinct 18: ballots_invalid: empty\n"
	              "line 3: precinct 18: votes.no: 'x' is not a whole number from 0 to "
	              "4294967295\n"
	              "line 4: precinct 19: row: 4 fields, but the header has 10\n"
	              "line 5: precinct_id: 'abc' is not a whole number from 0 to 4294967295\n"
	              "line 5: votes.no: '99999999999' is above 4294967295\n");
}

Test(protocol_file, csv_keeps_good_rows_when_others_fail)
{
	struct protocol_file *f = parse(PROTOCOL_FORMAT_CSV, HEADER "17,1,1500,1400,1200,200,1180,"
	                                                            "15,900,265\n18,1,x,1,1,1,1,1,"
	                                                            "1,1\n");

	cr_assert_eq(f->n_rows, 1);
	cr_assert_eq(f->n_errors, 1);
	cr_assert_eq(f->rows[0].result.precinct_id, 17);
	protocol_file_free(f);
}

Test(protocol_file, csv_header_must_match)
{
	assert_errors(PROTOCOL_FORMAT_CSV, "precinct,revision\n17,1\n",
	              "line 1: header: column 1 is 'precinct' but must be 'precinct_id' (a header "
	              "starts 'precinct_id,revision,voters_registered,ballots_received,ballots_"
	              "issued,ballots_cancelled,ballots_cast,ballots_invalid')\n");
	assert_errors(PROTOCOL_FORMAT_CSV,
	              "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	              "ballots_cancelled,ballots_cast,ballots_invalid,yes,maybe,yes\n",
	              "line 1: header: column 10: 'maybe' is not an option of this election\n"
	              "line 1: header: column 11: option 'yes' appears twice\n"
	              "line 1: header: no column for option 'no'\n");
	assert_errors(PROTOCOL_FORMAT_CSV, "",
	              "file: empty; a CSV file starts with the header 'precinct_id,revision,"
	              "voters_registered,ballots_received,ballots_issued,ballots_cancelled,ballots_"
	              "cast,ballots_invalid'\n");
	assert_errors(PROTOCOL_FORMAT_CSV, HEADER, "file: no protocols in the file\n");
}

Test(protocol_file, a_precinct_twice_in_one_file_is_an_error)
{
	assert_errors(PROTOCOL_FORMAT_CSV,
	              HEADER "17,1,1500,1400,1200,200,1180,15,900,265\n"
	                     "18,1,900,800,700,100,690,0,400,290\n"
	                     "17,2,1500,1400,1200,200,1180,15,900,265\n",
	              "line 4: precinct 17: precinct_id: precinct 17 appears again (first at line "
	              "2)\n");
}

Test(protocol_file, without_election_any_option_columns_are_taken)
{
	struct protocol_expect x = {"kz-2026", "KZ-71", NULL};
	struct protocol_file *f = NULL;
	const char *text = "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	                   "ballots_cancelled,ballots_cast,ballots_invalid,b,a\n"
	                   "5,1,10,10,10,0,10,0,4,6\n";

	cr_assert_eq(
	    protocol_file_parse(&x, PROTOCOL_FORMAT_CSV, (const uint8_t *)text, strlen(text), &f),
	    0);
	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 1);
	cr_assert_str_eq(f->rows[0].result.votes[0].option_id, "b");
	cr_assert_str_eq(f->rows[0].result.votes[1].option_id, "a");
	protocol_file_free(f);
}

Test(protocol_file, binary_garbage_is_an_error_not_a_crash)
{
	static const uint8_t junk[] = {0x00, 0xff, ',', '\n', 0x00, '\n', '1', ',', 0x80};
	struct protocol_file *f = NULL;

	cr_assert_eq(protocol_file_parse(NULL, PROTOCOL_FORMAT_CSV, junk, sizeof(junk), &f), 0);
	cr_assert_eq(f->n_rows, 0);
	cr_assert_geq(f->n_errors, 1);
	cr_assert_eq(f->errors[0].line, 1);
	cr_assert_str_eq(f->errors[0].where, "header");
	protocol_file_free(f);
	cr_assert_eq(protocol_file_parse(NULL, PROTOCOL_FORMAT_JSON, junk, sizeof(junk), &f), 0);
	cr_assert_eq(f->n_rows, 0);
	cr_assert_eq(f->n_errors, 1);
	protocol_file_free(f);
}

Test(protocol_file, oversized_file_is_refused_whole)
{
	size_t len = PROTOCOL_FILE_MAX_BYTES + 1;
	uint8_t *big = calloc(1, len);
	struct protocol_file *f = NULL;

	cr_assert_eq(protocol_file_parse(NULL, PROTOCOL_FORMAT_CSV, big, len, &f), 0);
	cr_assert_eq(f->n_errors, 1);
	cr_assert_str_eq(f->errors[0].message, "4194305 bytes, at most 4194304");
	protocol_file_free(f);
	free(big);
}

Test(protocol_file, too_many_errors_are_counted_not_kept)
{
	size_t rows = PROTOCOL_FILE_MAX_ERRORS + 5;
	size_t cap = strlen(HEADER) + rows * 32 + 1, used;
	char *text = malloc(cap);
	struct protocol_file *f;
	char *out;

	used = (size_t)snprintf(text, cap, "%s", HEADER);
	for (size_t i = 0; i < rows; i++)
		used += (size_t)snprintf(text + used, cap - used, "%zu,1,1,1,1,0,1,0,1,x\n", i + 1);
	f = parse(PROTOCOL_FORMAT_CSV, text);
	cr_assert_eq(f->n_errors, PROTOCOL_FILE_MAX_ERRORS);
	cr_assert_eq(f->n_errors_dropped, 5);
	out = errors_of(f);
	cr_assert_not_null(strstr(out, "... and 5 more problems\n"));
	free(out);
	protocol_file_free(f);
	free(text);
}

Test(protocol_file, format_from_name)
{
	enum protocol_format fmt;

	cr_assert_eq(protocol_format_from_name("a.json", &fmt), 0);
	cr_assert_eq(fmt, PROTOCOL_FORMAT_JSON);
	cr_assert_eq(protocol_format_from_name("north.csv", &fmt), 0);
	cr_assert_eq(fmt, PROTOCOL_FORMAT_CSV);
	cr_assert_eq(protocol_format_from_name("x.csv.tmp", &fmt), -EINVAL);
	cr_assert_eq(protocol_format_from_name(".csv", &fmt), -EINVAL);
	cr_assert_eq(protocol_format_from_name("X.CSV", &fmt), -EINVAL);
}

/* ---- elections of several contests */

static struct protocol_file *parse_general(enum protocol_format fmt, const char *text)
{
	struct protocol_expect x = {"kz-2027", "KZ-71", general};
	struct protocol_file *f = NULL;

	cr_assert_eq(protocol_file_parse(&x, fmt, (const uint8_t *)text, strlen(text), &f), 0);
	cr_assert_not_null(f);
	return f;
}

static void assert_general_errors(enum protocol_format fmt, const char *input, const char *want)
{
	struct protocol_file *f = parse_general(fmt, input);
	char *text = errors_of(f);

	cr_assert_str_eq(text, want, "input:\n%s\ngot:\n%s", input, text);
	free(text);
	protocol_file_free(f);
}

/* One expected row: its line, contest and votes in the contest's ballot order. */
struct want_row {
	uint32_t line;
	uint32_t precinct;
	const char *contest;
	uint32_t cast;
	size_t n_votes;
	struct {
		const char *option;
		uint32_t count;
	} votes[4];
};

static void assert_rows(const struct protocol_file *f, const struct want_row *want, size_t n)
{
	cr_assert_eq(f->n_errors, 0, "%s", f->n_errors ? f->errors[0].message : "");
	cr_assert_eq(f->n_rows, n);
	for (size_t i = 0; i < n; i++) {
		const struct tally_result *r = &f->rows[i].result;
		cr_assert_eq(f->rows[i].line, want[i].line, "row %zu", i);
		cr_assert_eq(r->precinct_id, want[i].precinct, "row %zu", i);
		cr_assert_str_eq(r->contest_id, want[i].contest, "row %zu", i);
		cr_assert_str_eq(r->election_id, "kz-2027");
		cr_assert_str_eq(r->region_id, "KZ-71");
		cr_assert_eq(r->ballots_cast, want[i].cast, "row %zu", i);
		cr_assert_eq(r->n_votes, want[i].n_votes, "row %zu", i);
		for (size_t k = 0; k < want[i].n_votes; k++) {
			cr_assert_str_eq(r->votes[k].option_id, want[i].votes[k].option, "row %zu",
			                 i);
			cr_assert_eq(r->votes[k].count, want[i].votes[k].count, "row %zu", i);
		}
	}
}

static const struct want_row general_rows[] = {
    {2, 2, "party-list", 690, 3, {{"amanat", 400}, {"ak-zhol", 200}, {"against-all", 80}}},
    {3, 2, "otk-07", 640, 3, {{"c-1", 300}, {"c-2", 250}, {"against-all", 70}}},
    {4, 2, "referendum", 695, 2, {{"yes", 500}, {"no", 190}}},
};

Test(protocol_file, json_array_of_protocols_of_several_contests)
{
	struct protocol_file *f = parse_general(
	    PROTOCOL_FORMAT_JSON,
	    "[\n"
	    "{\"precinct_id\": 2, \"contest_id\": \"party-list\", \"revision\": 1,"
	    " \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 700,"
	    " \"ballots_cancelled\": 100, \"ballots_cast\": 690, \"ballots_invalid\": 10,"
	    " \"votes\": {\"against-all\": 80, \"ak-zhol\": 200, \"amanat\": 400}},\n"
	    "{\"precinct_id\": 2, \"contest_id\": \"otk-07\", \"revision\": 1,"
	    " \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 650,"
	    " \"ballots_cancelled\": 150, \"ballots_cast\": 640, \"ballots_invalid\": 20,"
	    " \"votes\": {\"c-2\": 250, \"against-all\": 70, \"c-1\": 300}},\n"
	    "  {\"contest_id\": \"referendum\", \"precinct_id\": 2, \"revision\": 1,"
	    " \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 700,"
	    " \"ballots_cancelled\": 100, \"ballots_cast\": 695, \"ballots_invalid\": 5,"
	    " \"votes\": {\"no\": 190, \"yes\": 500}}\n"
	    "]\n");

	assert_rows(f, general_rows, 3);
	protocol_file_free(f);
}

#define GENERAL_HEADER                                                                             \
	"precinct_id,revision,voters_registered,ballots_received,ballots_issued,"                  \
	"ballots_cancelled,ballots_cast,ballots_invalid,contest_id,yes,no,c-2,c-1,against-all,"    \
	"amanat,ak-zhol\n"

Test(protocol_file, csv_contest_column_over_the_union_of_options)
{
	struct protocol_file *f =
	    parse_general(PROTOCOL_FORMAT_CSV,
	                  GENERAL_HEADER "2,1,900,800,700,100,690,10,party-list,,,,,80,400,200\n"
	                                 "2,1,900,800,650,150,640,20,otk-07,,,250,300,70,,\n"
	                                 "2,1,900,800,700,100,695,5, referendum ,500,190, , ,,,\n");

	assert_rows(f, general_rows, 3);
	protocol_file_free(f);

	/* ballots_not_counted and contest_id in the other order. */
	f = parse_general(PROTOCOL_FORMAT_CSV,
	                  "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	                  "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,"
	                  "ballots_not_counted,yes,no\n"
	                  "3,1,700,600,500,100,490,5,referendum,5,300,180\n");
	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 1);
	cr_assert_str_eq(f->rows[0].result.contest_id, "referendum");
	cr_assert_eq(f->rows[0].result.ballots_not_counted, 5);
	cr_assert_eq(f->rows[0].result.ballots_invalid, 5);
	cr_assert_eq(f->rows[0].result.votes[1].count, 180);
	protocol_file_free(f);
}

Test(protocol_file, the_contest_must_be_named_and_known)
{
	assert_general_errors(
	    PROTOCOL_FORMAT_JSON,
	    "[{\"precinct_id\": 2, \"revision\": 1, \"voters_registered\": 900,"
	    " \"ballots_received\": 800, \"ballots_issued\": 700, \"ballots_cancelled\": 100,"
	    " \"ballots_cast\": 695, \"ballots_invalid\": 5, \"votes\": {\"yes\": 500, \"no\": "
	    "190}},\n"
	    " {\"precinct_id\": 2, \"contest_id\": \"senate\", \"revision\": 1,"
	    " \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 700,"
	    " \"ballots_cancelled\": 100, \"ballots_cast\": 695, \"ballots_invalid\": 5,"
	    " \"votes\": {\"yes\": 500, \"no\": 190}},\n"
	    " {\"precinct_id\": 3, \"contest_id\": 7, \"revision\": 1, \"voters_registered\": 700,"
	    " \"ballots_received\": 600, \"ballots_issued\": 500, \"ballots_cancelled\": 100,"
	    " \"ballots_cast\": 490, \"ballots_invalid\": 0, \"votes\": {\"yes\": 300, \"no\": "
	    "190}},\n"
	    " {\"precinct_id\": 3, \"contest_id\": \"referendum\", \"revision\": 1,"
	    " \"voters_registered\": -1, \"ballots_received\": 600, \"ballots_issued\": 500,"
	    " \"ballots_cancelled\": 100, \"ballots_cast\": 490, \"ballots_invalid\": 0,"
	    " \"votes\": {\"yes\": 300, \"no\": 190}}]",
	    "line 1: precinct 2: contest_id: missing; election 'kz-2027' has 3 contests: name one\n"
	    "line 2: precinct 2 contest senate: contest_id: 'senate' is not a contest of election "
	    "'kz-2027'\n"
	    "line 3: precinct 3: contest_id: must be a string, not a number\n"
	    "line 4: precinct 3 contest referendum: voters_registered: -1 is negative\n");

	assert_general_errors(PROTOCOL_FORMAT_CSV,
	                      GENERAL_HEADER "2,1,900,800,700,100,695,5,,500,190,,,,,\n"
	                                     "3,1,700,600,500,100,490,0,senate,300,190,,,,,\n",
	                      "line 2: precinct 2: contest_id: missing; election 'kz-2027' has 3 "
	                      "contests: name one\n"
	                      "line 3: precinct 3 contest senate: contest_id: 'senate' is not a "
	                      "contest of election 'kz-2027'\n");
}

Test(protocol_file, csv_cells_follow_the_row_contest)
{
	assert_general_errors(
	    PROTOCOL_FORMAT_CSV,
	    GENERAL_HEADER "2,1,900,800,700,100,690,10,party-list,,,,,80,400,\n"
	                   "2,1,900,800,650,150,640,20,otk-07,,,250,300,70,5,\n"
	                   "3,1,700,600,500,100,490,0,referendum,300,190,0,,,,\n",
	    "line 2: precinct 2 contest party-list: votes.ak-zhol: empty, but 'ak-zhol' is an "
	    "option of contest 'party-list' (0 if it got no votes)\n"
	    "line 3: precinct 2 contest otk-07: votes.amanat: '5', but 'amanat' is not an option "
	    "of "
	    "contest 'otk-07' (leave the cell empty)\n"
	    "line 4: precinct 3 contest referendum: votes.c-2: '0', but 'c-2' is not an option of "
	    "contest 'referendum' (leave the cell empty)\n");

	/* The header serves the party list only: a district row lacks its columns. */
	assert_general_errors(
	    PROTOCOL_FORMAT_CSV,
	    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	    "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,amanat,ak-zhol,against-all\n"
	    "2,1,900,800,650,150,640,20,otk-07,,,70\n",
	    "line 2: precinct 2 contest otk-07: votes.c-1: no column for option 'c-1' of contest "
	    "'otk-07'\n"
	    "line 2: precinct 2 contest otk-07: votes.c-2: no column for option 'c-2' of contest "
	    "'otk-07'\n");
}

Test(protocol_file, csv_header_of_a_general_election)
{
	assert_general_errors(
	    PROTOCOL_FORMAT_CSV,
	    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	    "ballots_cancelled,ballots_cast,ballots_invalid,yes,no\n"
	    "2,1,900,800,700,100,695,5,500,190\n",
	    "line 1: header: no contest_id column: election 'kz-2027' has 3 contests (put "
	    "contest_id after ballots_invalid, before the option columns)\n");
	assert_general_errors(
	    PROTOCOL_FORMAT_CSV,
	    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	    "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,yes,maybe,contest_id,"
	    "ballots_not_counted\n",
	    "line 1: header: column 11: 'maybe' is not an option of any contest of this election\n"
	    "line 1: header: column 12: 'contest_id' appears twice\n"
	    "line 1: header: column 13: 'ballots_not_counted' must come before the option "
	    "columns\n");
	assert_general_errors(
	    PROTOCOL_FORMAT_CSV,
	    "precinct_id,contest_id,revision,voters_registered,ballots_received,ballots_issued,"
	    "ballots_cancelled,ballots_cast,ballots_invalid,yes,no\n",
	    "line 1: header: column 2 is 'contest_id' but must be 'revision' (a header starts "
	    "'precinct_id,revision,voters_registered,ballots_received,ballots_issued,ballots_"
	    "cancelled,ballots_cast,ballots_invalid'; contest_id goes after ballots_invalid, "
	    "before "
	    "the options)\n");
}

Test(protocol_file, one_protocol_per_precinct_and_contest)
{
	/* Precinct 2 in two contests is fine; twice in one contest is not. */
	assert_general_errors(PROTOCOL_FORMAT_CSV,
	                      GENERAL_HEADER "2,1,900,800,700,100,695,5,referendum,500,190,,,,,\n"
	                                     "2,1,900,800,650,150,640,20,otk-07,,,250,300,70,,\n"
	                                     "2,2,900,800,700,100,695,5,referendum,501,189,,,,,\n",
	                      "line 4: precinct 2 contest referendum: precinct_id: precinct 2 "
	                      "contest referendum appears again (first at line 2)\n");

	/* In an election of one contest, leaving contest_id out names that contest. */
	assert_errors(
	    PROTOCOL_FORMAT_JSON,
	    "[{\"precinct_id\": 17, \"revision\": 1, \"voters_registered\": 1500,"
	    " \"ballots_received\": 1400, \"ballots_issued\": 1200,"
	    " \"ballots_cancelled\": 200, \"ballots_cast\": 1180, \"ballots_invalid\": 15,"
	    " \"votes\": {\"yes\": 900, \"no\": 265}},\n"
	    " {\"precinct_id\": 17, \"contest_id\": \"referendum\", \"revision\": 2,"
	    " \"voters_registered\": 1500, \"ballots_received\": 1400,"
	    " \"ballots_issued\": 1200, \"ballots_cancelled\": 200, \"ballots_cast\": 1180,"
	    " \"ballots_invalid\": 15, \"votes\": {\"yes\": 900, \"no\": 265}}]",
	    "line 2: precinct 17 contest referendum: precinct_id: precinct 17 contest "
	    "referendum appears again (first at line 1)\n");
}

Test(protocol_file, one_contest_election_takes_contest_id_or_none)
{
	struct protocol_file *f = parse(
	    PROTOCOL_FORMAT_CSV, "precinct_id,revision,voters_registered,ballots_received,"
	                         "ballots_issued,ballots_cancelled,ballots_cast,ballots_invalid,"
	                         "contest_id,no,yes\n"
	                         "17,1,1500,1400,1200,200,1180,15,,265,900\n"
	                         "18,1,900,800,700,100,690,0,referendum,290,400\n");

	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 2);
	/* Left out, it stays "" on the wire: the payload of before contests. */
	cr_assert_str_eq(f->rows[0].result.contest_id, "");
	cr_assert_str_eq(f->rows[1].result.contest_id, "referendum");
	cr_assert_str_eq(f->rows[1].result.votes[0].option_id, "yes");
	cr_assert_eq(f->rows[1].result.votes[0].count, 400);
	protocol_file_free(f);

	f = parse(PROTOCOL_FORMAT_JSON, good_json);
	cr_assert_eq(f->n_rows, 1);
	cr_assert_str_eq(f->rows[0].result.contest_id, "");
	protocol_file_free(f);

	assert_errors(
	    PROTOCOL_FORMAT_JSON,
	    "{\"precinct_id\": 17, \"contest_id\": \"mayor\", \"revision\": 1,"
	    " \"voters_registered\": 1500, \"ballots_received\": 1400,"
	    " \"ballots_issued\": 1200, \"ballots_cancelled\": 200, \"ballots_cast\": 1180,"
	    " \"ballots_invalid\": 15, \"votes\": {\"yes\": 900, \"no\": 265}}",
	    "line 1: precinct 17 contest mayor: contest_id: 'mayor' is not a contest of "
	    "election 'kz-2026'\n");
}

Test(protocol_file, json_arrays_count_toward_the_row_cap)
{
	size_t n = PROTOCOL_FILE_MAX_ROWS + 1, cap = 3 * n + 4, used = 0;
	char *text = malloc(cap);

	text[used++] = '[';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used, "%s{}", i ? "," : "");
	snprintf(text + used, cap - used, "]");
	assert_errors(PROTOCOL_FORMAT_JSON, text, "file: more than 10000 protocols in one file\n");
	free(text);
	assert_errors(PROTOCOL_FORMAT_JSON, " [ ]", "file: no protocols in the file\n");
}

Test(protocol_file, without_election_a_contest_row_leaves_out_its_empty_cells)
{
	struct protocol_expect x = {"kz-2027", "KZ-71", NULL};
	struct protocol_file *f = NULL;
	const char *text = "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	                   "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,b,a,c\n"
	                   "5,1,10,10,10,0,10,0,x,4,,6\n"
	                   "5,1,10,10,10,0,10,0,y,,10,\n";

	cr_assert_eq(
	    protocol_file_parse(&x, PROTOCOL_FORMAT_CSV, (const uint8_t *)text, strlen(text), &f),
	    0);
	cr_assert_eq(f->n_errors, 0);
	cr_assert_eq(f->n_rows, 2);
	cr_assert_str_eq(f->rows[0].result.contest_id, "x");
	cr_assert_eq(f->rows[0].result.n_votes, 2);
	cr_assert_str_eq(f->rows[0].result.votes[1].option_id, "c");
	cr_assert_eq(f->rows[0].result.votes[1].count, 6);
	cr_assert_str_eq(f->rows[1].result.contest_id, "y");
	cr_assert_eq(f->rows[1].result.n_votes, 1);
	cr_assert_str_eq(f->rows[1].result.votes[0].option_id, "a");
	protocol_file_free(f);
}

Test(protocol_file, at_most_32_option_columns_without_contest_id)
{
	char text[2048];
	size_t used = (size_t)snprintf(text, sizeof(text),
	                               "precinct_id,revision,voters_registered,ballots_received,"
	                               "ballots_issued,ballots_cancelled,ballots_cast,"
	                               "ballots_invalid");
	struct protocol_file *f = NULL;

	for (int i = 0; i < TALLY_MAX_OPTIONS + 1; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, ",o%d", i);
	snprintf(text + used, sizeof(text) - used, "\n");
	cr_assert_eq(
	    protocol_file_parse(NULL, PROTOCOL_FORMAT_CSV, (const uint8_t *)text, strlen(text), &f),
	    0);
	cr_assert_eq(f->n_errors, 1);
	cr_assert_str_eq(f->errors[0].message, "33 option columns, at most 32 (a row without "
	                                       "contest_id fills every option column)");
	protocol_file_free(f);
}

Test(protocol_file, an_error_names_line_precinct_and_contest)
{
	struct protocol_error e = {.line = 7, .has_precinct = true, .precinct_id = 4711};
	char buf[PROTOCOL_ERROR_TEXT_MAX];

	snprintf(e.contest, sizeof(e.contest), "party-list");
	snprintf(e.where, sizeof(e.where), "cast <= issued");
	snprintf(e.message, sizeof(e.message), "ballots_cast (5) > ballots_issued (4)");
	protocol_error_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "line 7: precinct 4711 contest party-list: cast <= issued: "
	                      "ballots_cast (5) > ballots_issued (4)");
	e.has_precinct = false;
	protocol_error_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "line 7: contest party-list: cast <= issued: ballots_cast (5) > "
	                      "ballots_issued (4)");
}
