/*
 * fuzz_common.h: the few helpers the fuzz targets share. A broken invariant
 * aborts, which libFuzzer reports as a crash with the input saved.
 */
#ifndef TALLY_FUZZ_COMMON_H
#define TALLY_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/result.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL inside the buffer: the string fits with its terminator. */
#define CHECK_STR(s, cap) CHECK(memchr((s), '\0', (cap)) != NULL)

static inline void check_result_equal(const struct tally_result *a, const struct tally_result *b)
{
	CHECK(strcmp(a->election_id, b->election_id) == 0);
	CHECK(strcmp(a->contest_id, b->contest_id) == 0);
	CHECK(strcmp(a->region_id, b->region_id) == 0);
	CHECK(a->precinct_id == b->precinct_id);
	CHECK(a->revision == b->revision);
	CHECK(a->voters_registered == b->voters_registered);
	CHECK(a->ballots_received == b->ballots_received);
	CHECK(a->ballots_issued == b->ballots_issued);
	CHECK(a->ballots_cancelled == b->ballots_cancelled);
	CHECK(a->ballots_cast == b->ballots_cast);
	CHECK(a->ballots_invalid == b->ballots_invalid);
	CHECK(a->ballots_not_counted == b->ballots_not_counted);
	CHECK(a->n_votes == b->n_votes);
	for (size_t i = 0; i < a->n_votes; i++) {
		CHECK(strcmp(a->votes[i].option_id, b->votes[i].option_id) == 0);
		CHECK(a->votes[i].count == b->votes[i].count);
	}
	CHECK(a->recorded_at_ms == b->recorded_at_ms);
}

#endif
