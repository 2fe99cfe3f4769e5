/*
 * totals_json.h: the published documents of an election, built from its
 * definition and its running totals (totals.h) with the decisions of
 * decision.h, so that the aggregator and anyone replaying the public log
 * build the same bytes. Pure: jansson, no I/O, no clock (callers give
 * "as_of", the text of the commit time, or NULL to leave it out).
 *
 * README ("The contests API") and docs/publication.md are the reference.
 * Names: "name" is always the default text; "names" ({tag: text}) is
 * there when the definition gave languages (likewise "title"/"titles").
 * Percentages are rounded to two decimals, for reading only.
 *
 * FIGURES (a contest over its scope, one of its regions or districts):
 *   {"precincts_total", "precincts_reported", "voters_registered",
 *    "ballots_cast", "ballots_invalid", "ballots_not_counted", "valid",
 *    "votes": {option: n}, "votes_pct": {option: pct}, "pct_of",
 *    "turnout_pct", "conflicts"}
 * votes_pct is over the denominator the contest's rules name (pct_of:
 * "ballots_cast" or "valid"): a referendum's pass_share_of, a candidate
 * contest's majority_of, a party list's threshold_of. The referendum of a
 * definition without contests shows shares of the valid ballots, as its
 * /v1/totals always has.
 *
 * Every builder returns 0, -ENOMEM, or -EINVAL when decision.c refuses a
 * contest (which a loaded definition never gives).
 */
#ifndef TALLY_TOTALS_JSON_H
#define TALLY_TOTALS_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "tally/decision.h"
#include "tally/election.h"
#include "tally/figures.h"
#include "tally/totals.h"

/* What a contest's votes_pct is of (see above). */
enum tally_denominator tally_contest_pct_of(const struct tally_election *e,
                                            const struct tally_contest *c);

/* A contest's decision over t: the input borrows t (valid until it changes). */
struct tally_contest_decision {
	struct tally_decision_input in;
	struct tally_decision_result d;
};
int tally_totals_contest_decision(const struct tally_totals *t, size_t contest,
                                  struct tally_contest_decision *ret);

/* Sets "name" (the default text) and, with languages, "names" on obj. */
int tally_name_to_json(json_t *obj, const char *key, const char *keys, const struct tally_name *n);

/* FIGURES of contest c's figures f, set on obj (after whatever obj holds). */
int tally_contest_figures_to_json(const struct tally_election *e, const struct tally_contest *c,
                                  const struct tally_figures *f, json_t *obj);

/* "national", {"regions": [ids]} or {"district": id}. */
json_t *tally_contest_scope_to_json(const struct tally_election *e, const struct tally_contest *c);

/*
 * The contest's shape as /v1/election lists it: {"id", "name", "names"?,
 * "kind", "scope", "seats", "options": [{"id", "name", "names"?,
 * "party"?, "color"?, "against_all", "list_length"?}], "rules": {every
 * rule with its default filled}}.
 */
int tally_contest_to_json(const struct tally_election *e, const struct tally_contest *c,
                          json_t **ret);

/*
 * GET /v1/election: the definition's static shape, {"election_id",
 * "title", "titles"?, "regions": [{"id", "name", "names"?, "tile"?,
 * "precincts_total"}], "parties": [{"id", "name", "names"?, "color"?}],
 * "districts": [{"id", "name", "names"?, "regions", "precincts_total"}],
 * "contests": [shape, ...]}.
 */
int tally_election_to_json(const struct tally_election *e, json_t **ret);

/*
 * GET /v1/contests/{id} for contest index `contest`: {"election_id",
 * "sequence", "as_of"?, "contest": shape, "national": FIGURES, "regions":
 * [{"id", "name", "names"?, ...FIGURES}] (contest->regions),
 * "districts": [same] (contest->districts), "decision": DECISION}.
 */
int tally_totals_contest_to_json(const struct tally_totals *t, size_t contest, const char *as_of,
                                 json_t **ret);

/*
 * GET /v1/contests: {"election_id", "sequence", "as_of"?, "contests":
 * [{"id", "name", "names"?, "kind", "scope", "seats", "precincts_total",
 * "precincts_reported", "status", "final", "leader"}]}; leader is the
 * option with the most votes among those who can win, or null.
 */
int tally_totals_contests_to_json(const struct tally_totals *t, const char *as_of, json_t **ret);

/*
 * GET /v1/totals (see tally_totals_to_json() in totals.h) with "as_of"
 * when not NULL: at the end for a definition without contests (as ever),
 * after "sequence" for one with contests.
 */
int tally_totals_to_json_at(const struct tally_totals *t, const char *as_of, json_t **ret);

#endif
