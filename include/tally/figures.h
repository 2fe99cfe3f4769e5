/*
 * figures.h: the counted figures of a set of precincts in one contest (a
 * contest's whole scope, one of its regions, one of its districts), as
 * totals.h keeps them and the decisions read them. Plain data and small
 * pure helpers: no allocation, no I/O, so a module can reason over
 * figures without including totals.h.
 *
 * The vote counts are indexed like the contest's options (for a
 * definition without contests, like election->options, which are the
 * same). Every count is the sum of the counted results' figures, so
 * ballots_invalid <= ballots_cast holds whenever every counted result
 * passed validation.
 */
#ifndef TALLY_FIGURES_H
#define TALLY_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"
#include "tally/rules.h"

struct tally_figures {
	uint32_t precincts_total;
	uint32_t precincts_reported;
	uint32_t conflicts;         /* precincts currently flagged */
	uint64_t voters_registered; /* of reported precincts, as in their results */
	uint64_t ballots_cast;
	uint64_t ballots_invalid;
	uint64_t ballots_not_counted;
	uint64_t votes[TALLY_MAX_OPTIONS]; /* indexed like the contest's options */
};

/* Valid ballots: ballots_cast - ballots_invalid (0 if the invalid exceed them). */
static inline uint64_t tally_figures_valid(const struct tally_figures *f)
{
	return f->ballots_cast > f->ballots_invalid ? f->ballots_cast - f->ballots_invalid : 0;
}

/* What a share is of (rules.h): ballots_cast, or the valid ballots. */
static inline uint64_t tally_figures_denominator(const struct tally_figures *f,
                                                 enum tally_denominator d)
{
	return d == TALLY_DENOM_VALID ? tally_figures_valid(f) : f->ballots_cast;
}

/*
 * For display only (no rule is decided on these): turnout, ballots_cast /
 * voters_registered of reported precincts, in percent; option i's share
 * of the valid ballots in percent. 0 when the denominator is 0.
 */
double tally_figures_turnout_pct(const struct tally_figures *f);
double tally_figures_option_pct(const struct tally_figures *f, size_t i);

/* Longest tally_figures_group() text: 20 digits, 6 commas and the NUL. */
#define TALLY_GROUPED_MAX 27
/*
 * Writes v in decimal with a comma between groups of three digits
 * ("2,602,280"), for texts people read, into ret; returns ret.
 */
const char *tally_figures_group(uint64_t v, char ret[TALLY_GROUPED_MAX]);

#endif
