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

static struct tally_election *election;

static const char definition[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": ["
    "  {\"id\": 17, \"registered\": 1500}, {\"id\": 18, \"registered\": 900}]}]}";

static void setup(void)
{
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(definition, strlen(definition), &election, &err), 0, "%s",
	             err.msg);
}

static void teardown(void)
{
	election = tally_election_free(election);
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

	assert_errors(PROTOCOL_FORMAT_JSON, "[1, 2]",
	              "line 1: JSON: the file must hold one protocol object, not an array\n");
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
