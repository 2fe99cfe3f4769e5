/*
 * validate.c: checks one PrecinctResult against the election definition,
 * one named control relation at a time, in the order validate.h lists, and
 * stops at the first that fails. The verdict carries the relation's name
 * and a sentence with the figures involved, which travels back to the
 * region in the Nack, so an operator can correct the protocol without
 * reading code. A result is for one contest of the election (its
 * contest_id, or the only one): the precinct must vote in it and the
 * votes must be that contest's options. All sums are 64-bit: four uint32 fields can exceed 2^32
 * together, and a wrapped sum must never make a false protocol add up.
 * Pure: no I/O, no allocation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tally/validate.h"

__attribute__((format(printf, 4, 5))) static int fail(struct tally_verdict *v,
                                                      enum tally_reject_code code,
                                                      const char *relation, const char *fmt, ...)
{
	va_list ap;

	v->code = code;
	snprintf(v->relation, sizeof(v->relation), "%s", relation);
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void pass(struct tally_verdict *v)
{
	v->code = TALLY_REJECT_NONE;
	v->relation[0] = '\0';
	v->reason[0] = '\0';
}

/*
 * Option ids come from the wire and are printed into the reason; they
 * are bounded by the codec but may hold any bytes. Show them with
 * non-printable bytes escaped so the reason stays one readable line.
 */
static void printable(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/*
 * The contest a result is for. A result of a one-contest election may leave
 * contest_id empty; in an election of several it must name one.
 */
static int check_contest(const struct tally_election *e, const struct tally_result *r,
                         const struct tally_contest **ret, struct tally_verdict *v)
{
	char shown[TALLY_ID_MAX * 4 + 1];
	int k = tally_election_contest_index(e, r->contest_id);

	if (k >= 0) {
		*ret = &e->contests[k];
		return 0;
	}
	if (r->contest_id[0] == '\0')
		return fail(v, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
		            "contest_id is empty, but election \"%s\" has %zu contests: name one",
		            e->election_id, e->n_contests);
	printable(r->contest_id, shown, sizeof(shown));
	return fail(v, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
	            "contest_id \"%s\" is not a contest of election \"%s\"", shown, e->election_id);
}

/*
 * Every option of contest c exactly once. A definition without contests
 * keeps the wording it always had, naming the election; otherwise the
 * reason names the contest.
 */
static int check_options(const struct tally_election *e, const struct tally_contest *c,
                         const struct tally_result *r, struct tally_verdict *v)
{
	bool legacy = e->n_options > 0;
	/* At most TALLY_MAX_OPTIONS options, so a bitmap of seen options fits. */
	uint64_t seen = 0;
	char shown[TALLY_ID_MAX * 4 + 1];

	if (r->n_votes > TALLY_MAX_OPTIONS)
		return fail(v, TALLY_REJECT_FAILED_CONTROL, "options",
		            "%zu option entries, more than the %d supported", r->n_votes,
		            TALLY_MAX_OPTIONS);
	for (size_t i = 0; i < r->n_votes; i++) {
		int k = tally_contest_option_index(c, r->votes[i].option_id);
		if (k < 0) {
			printable(r->votes[i].option_id, shown, sizeof(shown));
			return fail(v, TALLY_REJECT_FAILED_CONTROL, "options",
			            "option \"%s\" is not an option of %s \"%s\"", shown,
			            legacy ? "election" : "contest",
			            legacy ? e->election_id : c->id);
		}
		if (seen & (UINT64_C(1) << k))
			return fail(v, TALLY_REJECT_FAILED_CONTROL, "options",
			            "option \"%s\" appears more than once", c->options[k].id);
		seen |= UINT64_C(1) << k;
	}
	for (size_t k = 0; k < c->n_options; k++) {
		if (seen & (UINT64_C(1) << k))
			continue;
		if (legacy)
			return fail(v, TALLY_REJECT_FAILED_CONTROL, "options",
			            "option \"%s\" is missing (report every option, 0 if it got no "
			            "votes)",
			            c->options[k].id);
		return fail(v, TALLY_REJECT_FAILED_CONTROL, "options",
		            "option \"%s\" of contest \"%s\" is missing (report every option, 0 if "
		            "it got no votes)",
		            c->options[k].id, c->id);
	}
	return 0;
}

/* The relations from revision on, for a result of contest c. */
static int check_controls(const struct tally_election *e, const struct tally_contest *c,
                          const struct tally_result *r, struct tally_verdict *ret)
{
	uint64_t issued_plus_cancelled, sum_votes = 0, cast_parts;
	int rc;

	if (r->revision < 1)
		return fail(ret, TALLY_REJECT_FAILED_CONTROL, "revision",
		            "revision is 0; the first count is revision 1");

	rc = check_options(e, c, r, ret);
	if (rc < 0)
		return rc;

	issued_plus_cancelled = (uint64_t)r->ballots_issued + r->ballots_cancelled;
	if (r->ballots_received != issued_plus_cancelled)
		return fail(ret, TALLY_REJECT_FAILED_CONTROL, "received = issued + cancelled",
		            "ballots_received (%" PRIu32 ") != ballots_issued (%" PRIu32
		            ") + ballots_cancelled (%" PRIu32 ") = %" PRIu64,
		            r->ballots_received, r->ballots_issued, r->ballots_cancelled,
		            issued_plus_cancelled);

	if (r->ballots_cast > r->ballots_issued)
		return fail(ret, TALLY_REJECT_FAILED_CONTROL, "cast <= issued",
		            "ballots_cast (%" PRIu32 ") > ballots_issued (%" PRIu32 ")",
		            r->ballots_cast, r->ballots_issued);

	if (r->ballots_issued > r->voters_registered)
		return fail(ret, TALLY_REJECT_FAILED_CONTROL, "issued <= voters_registered",
		            "ballots_issued (%" PRIu32 ") > voters_registered (%" PRIu32 ")",
		            r->ballots_issued, r->voters_registered);

	for (size_t i = 0; i < r->n_votes; i++)
		sum_votes += r->votes[i].count;
	cast_parts = (uint64_t)r->ballots_invalid + r->ballots_not_counted + sum_votes;
	if (r->ballots_cast != cast_parts)
		return fail(
		    ret, TALLY_REJECT_FAILED_CONTROL, "cast = invalid + not_counted + sum(votes)",
		    "ballots_cast (%" PRIu32 ") != ballots_invalid (%" PRIu32
		    ") + ballots_not_counted (%" PRIu32 ") + votes (%" PRIu64 ") = %" PRIu64,
		    r->ballots_cast, r->ballots_invalid, r->ballots_not_counted, sum_votes,
		    cast_parts);

	pass(ret);
	return 0;
}

int tally_validate_controls(const struct tally_election *e, const struct tally_result *r,
                            struct tally_verdict *ret)
{
	const struct tally_contest *c = NULL; /* set when check_contest() returns 0 */
	int rc;

	rc = check_contest(e, r, &c, ret);
	if (rc < 0)
		return rc;
	return check_controls(e, c, r, ret);
}

int tally_validate_result(const struct tally_election *e, const struct tally_result *r,
                          struct tally_verdict *ret)
{
	const struct tally_contest *c = NULL; /* set when check_contest() returns 0 */
	const struct tally_region *region;
	char shown[TALLY_ID_MAX * 4 + 1];
	int64_t idx;
	int rc;

	if (strcmp(r->election_id, e->election_id) != 0) {
		printable(r->election_id, shown, sizeof(shown));
		return fail(ret, TALLY_REJECT_WRONG_ELECTION, "election",
		            "election_id \"%s\" is not this election (\"%s\")", shown,
		            e->election_id);
	}

	rc = check_contest(e, r, &c, ret);
	if (rc < 0)
		return rc;

	idx = tally_election_precinct_index(e, r->precinct_id);
	if (idx < 0)
		return fail(ret, TALLY_REJECT_UNKNOWN_PRECINCT, "precinct",
		            "precinct_id %" PRIu32 " is not a precinct of election \"%s\"",
		            r->precinct_id, e->election_id);

	region = &e->regions[e->precincts[idx].region];
	if (strcmp(r->region_id, region->id) != 0) {
		printable(r->region_id, shown, sizeof(shown));
		return fail(ret, TALLY_REJECT_WRONG_REGION, "region",
		            "precinct %" PRIu32 " belongs to region \"%s\", not \"%s\"",
		            r->precinct_id, region->id, shown);
	}

	if (tally_election_slot(e, (size_t)(c - e->contests), (size_t)idx) < 0)
		return fail(ret, TALLY_REJECT_NOT_IN_CONTEST, "precinct in contest",
		            "precinct %" PRIu32 " does not vote in contest \"%s\"", r->precinct_id,
		            c->id);

	return check_controls(e, c, r, ret);
}
