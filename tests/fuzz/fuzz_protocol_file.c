/*
 * fuzz_protocol_file.c: the node's JSON and CSV protocol file parser
 * (daemon/node/protocol_file.h) on arbitrary bytes. The first input byte
 * picks the format (bit 0), whether an election is known (bit 1) and which
 * (bit 2: a general election of three contests, else a referendum); the
 * rest is the file. The parser must never fail but for memory, must respect
 * its caps, stamp every row with the node's election and region, never pass
 * a file with two rows of one (precinct, contest), give every row of a
 * known election a contest of it and (CSV) exactly that contest's options
 * in its ballot order, and produce error texts that fit. A file that
 * parses cleanly is written back out in the same format from the rows alone
 * (a JSON array, a CSV with a contest_id column when the rows need one) and
 * must parse to the very same rows (the parser keeps every figure it was
 * given, and nothing else).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "node/protocol_file.h"
#include "tally/election.h"

static const char election_json[] =
    "{\"election_id\": \"E-fuzz\", \"title\": \"Fuzz referendum\",\n"
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],\n"
    " \"regions\": [{\"id\": \"KZ-A\", \"name\": \"Alpha\", \"precincts\": [\n"
    "    {\"id\": 1, \"registered\": 1000}, {\"id\": 2, \"registered\": 2000}]}]}\n";

/* "against-all" is an option of two contests; c-2 only of the district race. */
static const char general_json[] =
    "{\"election_id\": \"E-fuzz\", \"title\": \"Fuzz general election\",\n"
    " \"regions\": [{\"id\": \"KZ-A\", \"name\": \"Alpha\", \"precincts\": [[1, 1000], [2, "
    "2000]]}],\n"
    " \"districts\": [{\"id\": \"D-1\", \"precincts\": [2]}],\n"
    " \"contests\": [\n"
    "  {\"id\": \"list\", \"kind\": \"party_list\", \"seats\": 5, \"rules\": {\"method\": "
    "\"dhondt\"},\n"
    "   \"options\": [{\"id\": \"p\"}, {\"id\": \"q\"}, {\"id\": \"against-all\", \"against_all\": "
    "true}]},\n"
    "  {\"id\": \"d-1\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D-1\"},\n"
    "   \"options\": [{\"id\": \"c-2\"}, {\"id\": \"p\"}, {\"id\": \"against-all\", "
    "\"against_all\": true}]},\n"
    "  {\"id\": \"referendum\", \"kind\": \"referendum\",\n"
    "   \"options\": [{\"id\": \"yes\"}, {\"id\": \"no\"}]}]}\n";

static struct tally_election *election, *general;

static struct tally_election *load(const char *json)
{
	struct tally_err err = {{0}};
	struct tally_election *e = NULL;

	if (tally_election_parse(json, strlen(json), &e, &err) != 0) {
		fprintf(stderr, "fuzz_protocol_file: fixed election refused: %s\n", err.msg);
		abort();
	}
	return e;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	election = load(election_json);
	general = load(general_json);
	return 0;
}

static void put_figures(FILE *f, const struct tally_result *r, const char *sep)
{
	fprintf(f, "%u%s%u%s%u%s%u%s%u%s%u%s%u%s%u%s%u", r->precinct_id, sep, r->revision, sep,
	        r->voters_registered, sep, r->ballots_received, sep, r->ballots_issued, sep,
	        r->ballots_cancelled, sep, r->ballots_cast, sep, r->ballots_invalid, sep,
	        r->ballots_not_counted);
}

/* Whether option `id` is among the first n of columns. */
static bool has_column(char (*columns)[TALLY_ID_MAX], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(columns[i], id) == 0)
			return true;
	return false;
}

/*
 * The rows written back as a file of the same format. JSON: an array, each
 * protocol naming its contest when it has one. CSV: a contest_id column
 * when a row names a contest or the rows' options differ, the option
 * columns the union of the rows' options (*ret_contest_column says
 * whether it did). Caller frees.
 */
static char *reserialize(const struct protocol_file *pf, enum protocol_format format,
                         size_t *ret_len, bool *ret_contest_column)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CHECK(f != NULL);
	if (format == PROTOCOL_FORMAT_JSON) {
		fprintf(f, "[");
		for (size_t k = 0; k < pf->n_rows; k++) {
			const struct tally_result *r = &pf->rows[k].result;
			fprintf(
			    f,
			    "%s{\"precinct_id\": %u, \"revision\": %u, \"voters_registered\": %u, "
			    "\"ballots_received\": %u, \"ballots_issued\": %u, "
			    "\"ballots_cancelled\": %u, \"ballots_cast\": %u, "
			    "\"ballots_invalid\": %u, \"ballots_not_counted\": %u, "
			    "\"recorded_at_ms\": %llu, ",
			    k ? ",\n" : "", r->precinct_id, r->revision, r->voters_registered,
			    r->ballots_received, r->ballots_issued, r->ballots_cancelled,
			    r->ballots_cast, r->ballots_invalid, r->ballots_not_counted,
			    (unsigned long long)r->recorded_at_ms);
			if (r->contest_id[0])
				fprintf(f, "\"contest_id\": \"%s\", ", r->contest_id);
			fprintf(f, "\"votes\": {");
			for (size_t i = 0; i < r->n_votes; i++)
				fprintf(f, "%s\"%s\": %u", i ? ", " : "", r->votes[i].option_id,
				        r->votes[i].count);
			fprintf(f, "}}");
		}
		fprintf(f, "]\n");
	} else {
		/* A CSV's option columns bound the union: fewer than 1100. */
		static char columns[1100][TALLY_ID_MAX];
		const struct tally_result *r0 = &pf->rows[0].result;
		bool contest_column = false;
		size_t n = 0;

		for (size_t k = 0; k < pf->n_rows; k++) {
			const struct tally_result *r = &pf->rows[k].result;
			contest_column |= r->contest_id[0] != '\0' || r->n_votes != r0->n_votes;
			for (size_t i = 0; i < r->n_votes; i++) {
				contest_column |= i < r0->n_votes && strcmp(r->votes[i].option_id,
				                                            r0->votes[i].option_id);
				if (!has_column(columns, n, r->votes[i].option_id)) {
					CHECK(n < sizeof(columns) / sizeof(columns[0]));
					memcpy(columns[n++], r->votes[i].option_id, TALLY_ID_MAX);
				}
			}
		}
		*ret_contest_column = contest_column;
		fprintf(f,
		        "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
		        "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted%s",
		        contest_column ? ",contest_id" : "");
		for (size_t i = 0; i < n; i++)
			fprintf(f, ",%s", columns[i]);
		fprintf(f, "\n");
		for (size_t k = 0; k < pf->n_rows; k++) {
			const struct tally_result *r = &pf->rows[k].result;
			put_figures(f, r, ",");
			if (contest_column)
				fprintf(f, ",%s", r->contest_id);
			for (size_t i = 0; i < n; i++) {
				fprintf(f, ",");
				for (size_t j = 0; j < r->n_votes; j++)
					if (strcmp(r->votes[j].option_id, columns[i]) == 0)
						fprintf(f, "%u", r->votes[j].count);
			}
			fprintf(f, "\n");
		}
	}
	CHECK(fclose(f) == 0);
	*ret_len = len;
	return out;
}

static bool json_id_safe(const char *s)
{
	/* Ids the reserializer can write without escaping, CSV-safe too. */
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == ',' || (unsigned char)*s < 0x20 || *s == ' ')
			return false;
	return true;
}

static int cmp_votes(const void *a, const void *b)
{
	const struct tally_option_votes *x = a, *y = b;

	return strcmp(x->option_id, y->option_id);
}

/* The contest a row of a known election is for (the parser checked it names one). */
static const struct tally_contest *row_contest(const struct protocol_expect *ex,
                                               const struct tally_result *r)
{
	int k = tally_election_contest_index(ex->election, r->contest_id);

	CHECK(k >= 0);
	return &ex->election->contests[k];
}

static void check_file(const struct protocol_expect *ex, enum protocol_format format,
                       const struct protocol_file *pf)
{
	char *text = NULL;
	char small[7];

	CHECK(pf->n_rows <= PROTOCOL_FILE_MAX_ROWS);
	CHECK(pf->n_errors <= PROTOCOL_FILE_MAX_ERRORS);
	for (size_t i = 0; i < pf->n_rows; i++) {
		const struct tally_result *r = &pf->rows[i].result;
		CHECK(pf->rows[i].line >= 1);
		CHECK(strcmp(r->election_id, ex->election_id) == 0);
		CHECK(strcmp(r->region_id, ex->region_id) == 0);
		CHECK_STR(r->contest_id, sizeof(r->contest_id));
		CHECK(r->n_votes <= TALLY_MAX_OPTIONS);
		for (size_t j = 0; j < r->n_votes; j++)
			CHECK_STR(r->votes[j].option_id, sizeof(r->votes[j].option_id));
		if (ex->election) {
			const struct tally_contest *c = row_contest(ex, r);
			/* A CSV row holds exactly its contest's options, in ballot order. */
			if (format == PROTOCOL_FORMAT_CSV) {
				CHECK(r->n_votes == c->n_options);
				for (size_t j = 0; j < r->n_votes; j++)
					CHECK(strcmp(r->votes[j].option_id, c->options[j].id) == 0);
			}
			for (size_t j = 0; j < i && pf->n_errors == 0; j++)
				CHECK(pf->rows[j].result.precinct_id != r->precinct_id ||
				      row_contest(ex, &pf->rows[j].result) != c);
		} else {
			for (size_t j = 0; j < i && pf->n_errors == 0; j++)
				CHECK(pf->rows[j].result.precinct_id != r->precinct_id ||
				      strcmp(pf->rows[j].result.contest_id, r->contest_id) != 0);
		}
	}
	for (size_t i = 0; i < pf->n_errors; i++) {
		const struct protocol_error *e = &pf->errors[i];
		CHECK_STR(e->contest, sizeof(e->contest));
		CHECK_STR(e->where, sizeof(e->where));
		CHECK_STR(e->message, sizeof(e->message));
		protocol_error_format(e, small, sizeof(small));
		CHECK_STR(small, sizeof(small));
	}
	CHECK(protocol_file_format_errors(pf, &text) == 0);
	CHECK(text != NULL || pf->n_errors == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct protocol_expect ex = {"E-fuzz", "KZ-A", NULL};
	enum protocol_format format;
	struct protocol_file *pf = NULL, *again = NULL;
	uint8_t *buf;
	int r;

	if (size < 1 || size > PROTOCOL_FILE_MAX_BYTES + 1)
		return 0;
	format = (data[0] & 1) ? PROTOCOL_FORMAT_CSV : PROTOCOL_FORMAT_JSON;
	if (data[0] & 2)
		ex.election = (data[0] & 4) ? general : election;
	buf = malloc(size - 1 ? size - 1 : 1);
	CHECK(buf != NULL);
	memcpy(buf, data + 1, size - 1);

	r = protocol_file_parse(&ex, format, buf, size - 1, &pf);
	if (r != 0) {
		CHECK(r == -ENOMEM);
		goto out;
	}
	CHECK(pf != NULL);
	check_file(&ex, format, pf);

	if (pf->n_errors == 0 && pf->n_errors_dropped == 0 && pf->n_rows > 0) {
		bool safe = true;
		for (size_t k = 0; k < pf->n_rows; k++) {
			const struct tally_result *rk = &pf->rows[k].result;
			safe = safe && json_id_safe(rk->contest_id);
			for (size_t i = 0; i < rk->n_votes; i++)
				safe = safe && json_id_safe(rk->votes[i].option_id);
		}
		if (safe) {
			bool contest_column = false;
			size_t len = 0;
			char *text = reserialize(pf, format, &len, &contest_column);
			CHECK(protocol_file_parse(&ex, format, (const uint8_t *)text, len,
			                          &again) == 0);
			if (again->n_errors != 0) {
				char small[PROTOCOL_ERROR_TEXT_MAX];
				protocol_error_format(&again->errors[0], small, sizeof(small));
				fprintf(stderr, "reparse refused:\n%s\n%s\n", text, small);
			}
			CHECK(again->n_errors == 0);
			CHECK(again->n_rows == pf->n_rows);
			for (size_t k = 0; k < pf->n_rows; k++) {
				struct tally_result a = pf->rows[k].result,
				                    b = again->rows[k].result;
				if (format == PROTOCOL_FORMAT_CSV)
					a.recorded_at_ms = b.recorded_at_ms;
				/*
				 * Without an election nothing orders the votes: a row
				 * keeps its file's column order, and the written-back
				 * header is only the union of the rows' options.
				 */
				if (contest_column && !ex.election) {
					qsort(a.votes, a.n_votes, sizeof(a.votes[0]), cmp_votes);
					qsort(b.votes, b.n_votes, sizeof(b.votes[0]), cmp_votes);
				}
				check_result_equal(&a, &b);
			}
			free(text);
		}
	}
out:
	protocol_file_free(again);
	protocol_file_free(pf);
	free(buf);
	return 0;
}
