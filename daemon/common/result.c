/*
 * result.c: the few functions on the plain result types: releasing a signed
 * result's payload and the stable names of outcomes and reject codes that
 * appear in logs, the JSON API and the CLI. The names are part of the
 * public surface: never rename one.
 */
#include <stdlib.h>
#include <string.h>

#include "tally/result.h"

void tally_signed_result_clear(struct tally_signed_result *s)
{
	if (s == NULL)
		return;
	free(s->payload);
	memset(s, 0, sizeof(*s));
}

const char *tally_outcome_str(enum tally_outcome o)
{
	switch (o) {
	case TALLY_OUTCOME_UNSPECIFIED:
		return "unspecified";
	case TALLY_OUTCOME_ACCEPTED:
		return "accepted";
	case TALLY_OUTCOME_DUPLICATE:
		return "duplicate";
	case TALLY_OUTCOME_STALE:
		return "stale";
	case TALLY_OUTCOME_CONFLICT:
		return "conflict";
	}
	return "unknown";
}

const char *tally_reject_code_str(enum tally_reject_code c)
{
	switch (c) {
	case TALLY_REJECT_NONE:
		return "NONE";
	case TALLY_REJECT_MALFORMED:
		return "MALFORMED";
	case TALLY_REJECT_BAD_SIGNATURE:
		return "BAD_SIGNATURE";
	case TALLY_REJECT_UNKNOWN_KEY:
		return "UNKNOWN_KEY";
	case TALLY_REJECT_WRONG_REGION:
		return "WRONG_REGION";
	case TALLY_REJECT_WRONG_ELECTION:
		return "WRONG_ELECTION";
	case TALLY_REJECT_UNKNOWN_PRECINCT:
		return "UNKNOWN_PRECINCT";
	case TALLY_REJECT_FAILED_CONTROL:
		return "FAILED_CONTROL";
	case TALLY_REJECT_CONFLICT_LIMIT:
		return "CONFLICT_LIMIT";
	}
	return "UNKNOWN";
}
