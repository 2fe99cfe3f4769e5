/*
 * validate.h: checks a PrecinctResult against the election definition, one
 * named control relation at a time, in this order:
 *
 *   election     result.election_id == definition's         WRONG_ELECTION
 *   contest      contest_id names a contest (may be empty
 *                only when there is exactly one)             UNKNOWN_CONTEST
 *   precinct     precinct_id is in the definition           UNKNOWN_PRECINCT
 *   region       region_id is the precinct's region         WRONG_REGION
 *   precinct in contest: the precinct votes in it            NOT_IN_CONTEST
 *   revision     revision >= 1                               FAILED_CONTROL
 *   options      every option of the contest exactly once,
 *                none other                                  FAILED_CONTROL
 *   received = issued + cancelled                            FAILED_CONTROL
 *   cast <= issued                                           FAILED_CONTROL
 *   issued <= voters_registered                              FAILED_CONTROL
 *   cast = invalid + not_counted + sum(votes)                FAILED_CONTROL
 *
 * Which election and contest come first: a result for the wrong election
 * or an unknown contest says nothing about its precinct. Whether the
 * precinct votes in the contest is asked only once the precinct and its
 * region are established, so a region sending another region's precinct
 * hears WRONG_REGION, whatever the contest.
 *
 * Sums are computed in 64 bits. The reason is a sentence a person can act
 * on, naming the values, e.g. "ballots_received (1200) != ballots_issued
 * (1100) + ballots_cancelled (90) = 1190". Pure.
 */
#ifndef TALLY_VALIDATE_H
#define TALLY_VALIDATE_H

#include "tally/election.h"
#include "tally/result.h"

struct tally_verdict {
	enum tally_reject_code code; /* TALLY_REJECT_NONE when valid */
	char relation[48];           /* e.g. "received = issued + cancelled" */
	char reason[TALLY_REASON_MAX];
};

/* Returns 0 when r passes every check, -EINVAL with *ret filled otherwise. */
int tally_validate_result(const struct tally_election *e, const struct tally_result *r,
                          struct tally_verdict *ret);

/*
 * Only the contest, revision, options and arithmetic relations (the checks
 * that do not depend on which election/region/precinct), for intake that
 * sets those itself. The options are checked against the result's contest,
 * so an unknown contest fails here too (UNKNOWN_CONTEST). Same returns.
 */
int tally_validate_controls(const struct tally_election *e, const struct tally_result *r,
                            struct tally_verdict *ret);

#endif
