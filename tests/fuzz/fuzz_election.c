/*
 * fuzz_election.c: the election definition parser on arbitrary bytes (passed
 * as an exact-size buffer without a trailing NUL). A refusal must be -EINVAL
 * or -ENOMEM with a message; an accepted definition must be internally
 * consistent: precincts sorted and unique, every index in range, regions'
 * registered sums exact, and every lookup finding what the arrays hold.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tally/election.h"

static void check_election(const struct tally_election *e)
{
	uint64_t registered = 0;
	size_t in_regions = 0;

	CHECK_STR(e->election_id, sizeof(e->election_id));
	CHECK(e->n_options <= TALLY_MAX_OPTIONS);
	for (size_t i = 0; i < e->n_options; i++) {
		CHECK_STR(e->options[i].id, sizeof(e->options[i].id));
		CHECK(tally_election_option_index(e, e->options[i].id) == (int)i);
	}
	for (size_t i = 0; i < e->n_precincts; i++) {
		const struct tally_precinct *p = &e->precincts[i];
		if (i > 0)
			CHECK(e->precincts[i - 1].id < p->id);
		CHECK(p->region < e->n_regions);
		CHECK(tally_election_precinct_index(e, p->id) == (int64_t)i);
		registered += p->registered;
	}
	CHECK(registered == e->registered);
	for (size_t r = 0; r < e->n_regions; r++) {
		const struct tally_region *reg = &e->regions[r];
		uint64_t sum = 0;
		CHECK_STR(reg->id, sizeof(reg->id));
		CHECK(tally_election_region_index(e, reg->id) == (int)r);
		for (size_t j = 0; j < reg->n_precincts; j++) {
			uint32_t pi = reg->precincts[j];
			CHECK(pi < e->n_precincts);
			CHECK(e->precincts[pi].region == r);
			if (j > 0)
				CHECK(e->precincts[reg->precincts[j - 1]].id < e->precincts[pi].id);
			sum += e->precincts[pi].registered;
		}
		CHECK(sum == reg->registered);
		in_regions += reg->n_precincts;
	}
	CHECK(in_regions == e->n_precincts);
	if (e->rules.has_min_turnout)
		CHECK(e->rules.min_turnout_pct == e->rules.min_turnout_pct); /* not NaN */
	if (e->rules.has_region_majority)
		CHECK(e->rules.region_majority_fraction == e->rules.region_majority_fraction);
	CHECK(tally_election_precinct_index(e, 0) < 0 || e->n_precincts > 0);
	CHECK(tally_election_region_index(e, "") < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally_election *e = NULL;
	struct tally_err err;
	char *buf = malloc(size ? size : 1);
	int r;

	CHECK(buf != NULL);
	memcpy(buf, data, size);
	memset(&err, 0, sizeof(err));
	r = tally_election_parse(buf, size, &e, &err);
	if (r == 0) {
		CHECK(e != NULL);
		check_election(e);
	} else {
		CHECK(r == -EINVAL || r == -ENOMEM);
		CHECK_STR(err.msg, sizeof(err.msg));
		CHECK(err.msg[0] != '\0');
	}
	CHECK(tally_election_free(e) == NULL);
	free(buf);
	return 0;
}
