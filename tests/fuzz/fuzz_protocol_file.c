/*
 * fuzz_protocol_file.c: the node's JSON and CSV protocol file parser
 * (daemon/node/protocol_file.h) on arbitrary bytes. The first input byte
 * picks the format (bit 0) and whether the election's option list is known
 * (bit 1); the rest is the file. The parser must never fail but for memory,
 * must respect its caps, stamp every row with the node's election and region,
 * never pass a file with two rows of one precinct, and produce error texts that fit.
 * A file that parses cleanly is written back out in the same format from the
 * rows alone and must parse to the very same rows (the parser keeps every
 * figure it was given, and nothing else).
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

static struct tally_election *election;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tally_err err = {{0}};

	(void)argc;
	(void)argv;
	if (tally_election_parse(election_json, strlen(election_json), &election, &err) != 0) {
		fprintf(stderr, "fuzz_protocol_file: fixed election refused: %s\n", err.msg);
		abort();
	}
	return 0;
}

static void put_figures(FILE *f, const struct tally_result *r, const char *sep)
{
	fprintf(f, "%u%s%u%s%u%s%u%s%u%s%u%s%u%s%u%s%u", r->precinct_id, sep, r->revision, sep,
	        r->voters_registered, sep, r->ballots_received, sep, r->ballots_issued, sep,
	        r->ballots_cancelled, sep, r->ballots_cast, sep, r->ballots_invalid, sep,
	        r->ballots_not_counted);
}

/* The rows written back as a file of the same format. Caller frees. */
static char *reserialize(const struct protocol_file *pf, enum protocol_format format,
                         size_t *ret_len)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CHECK(f != NULL);
	if (format == PROTOCOL_FORMAT_JSON) {
		const struct tally_result *r = &pf->rows[0].result;
		fprintf(f,
		        "{\"precinct_id\": %u, \"revision\": %u, \"voters_registered\": %u, "
		        "\"ballots_received\": %u, \"ballots_issued\": %u, "
		        "\"ballots_cancelled\": %u, \"ballots_cast\": %u, \"ballots_invalid\": %u, "
		        "\"ballots_not_counted\": %u, \"recorded_at_ms\": %llu, \"votes\": {",
		        r->precinct_id, r->revision, r->voters_registered, r->ballots_received,
		        r->ballots_issued, r->ballots_cancelled, r->ballots_cast,
		        r->ballots_invalid, r->ballots_not_counted,
		        (unsigned long long)r->recorded_at_ms);
		for (size_t i = 0; i < r->n_votes; i++)
			fprintf(f, "%s\"%s\": %u", i ? ", " : "", r->votes[i].option_id,
			        r->votes[i].count);
		fprintf(f, "}}\n");
	} else {
		const struct tally_result *r0 = &pf->rows[0].result;
		fprintf(f, "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
		           "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted");
		for (size_t i = 0; i < r0->n_votes; i++)
			fprintf(f, ",%s", r0->votes[i].option_id);
		fprintf(f, "\n");
		for (size_t k = 0; k < pf->n_rows; k++) {
			const struct tally_result *r = &pf->rows[k].result;
			put_figures(f, r, ",");
			for (size_t i = 0; i < r->n_votes; i++)
				fprintf(f, ",%u", r->votes[i].count);
			fprintf(f, "\n");
		}
	}
	CHECK(fclose(f) == 0);
	*ret_len = len;
	return out;
}

static bool json_id_safe(const char *s)
{
	/* Option ids the reserializer can write without escaping, CSV-safe too. */
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == ',' || (unsigned char)*s < 0x20 || *s == ' ')
			return false;
	return true;
}

static void check_file(const struct protocol_expect *ex, enum protocol_format format,
                       const struct protocol_file *pf)
{
	char *text = NULL;
	char small[7];

	CHECK(pf->n_rows <= PROTOCOL_FILE_MAX_ROWS);
	CHECK(pf->n_errors <= PROTOCOL_FILE_MAX_ERRORS);
	if (format == PROTOCOL_FORMAT_JSON)
		CHECK(pf->n_rows <= 1);
	for (size_t i = 0; i < pf->n_rows; i++) {
		const struct tally_result *r = &pf->rows[i].result;
		CHECK(pf->rows[i].line >= 1);
		CHECK(strcmp(r->election_id, ex->election_id) == 0);
		CHECK(strcmp(r->region_id, ex->region_id) == 0);
		CHECK(r->n_votes <= TALLY_MAX_OPTIONS);
		for (size_t j = 0; j < r->n_votes; j++)
			CHECK_STR(r->votes[j].option_id, sizeof(r->votes[j].option_id));
		for (size_t j = 0; j < i && pf->n_errors == 0; j++)
			CHECK(pf->rows[j].result.precinct_id != r->precinct_id);
	}
	for (size_t i = 0; i < pf->n_errors; i++) {
		const struct protocol_error *e = &pf->errors[i];
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
		ex.election = election;
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
		const struct tally_result *r0 = &pf->rows[0].result;
		bool same_options = true, safe = true;
		for (size_t k = 0; k < pf->n_rows; k++) {
			const struct tally_result *rk = &pf->rows[k].result;
			same_options = same_options && rk->n_votes == r0->n_votes;
			for (size_t i = 0; same_options && i < rk->n_votes; i++)
				same_options =
				    strcmp(rk->votes[i].option_id, r0->votes[i].option_id) == 0;
			for (size_t i = 0; i < rk->n_votes; i++)
				safe = safe && json_id_safe(rk->votes[i].option_id);
		}
		if (same_options && safe) {
			size_t len = 0;
			char *text = reserialize(pf, format, &len);
			CHECK(protocol_file_parse(&ex, format, (const uint8_t *)text, len,
			                          &again) == 0);
			if (again->n_errors != 0) {
				char small[TALLY_REASON_MAX + 64];
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
