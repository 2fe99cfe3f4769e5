/*
 * decision.h: what one contest's figures decide under its rules, and
 * whether anything still out could change it. Pure: no I/O, no
 * allocation (except the JSON), integers only. docs/elections.md,
 * "Decisions", states the rules as a commission reads them; in short:
 *
 * Bounds. The precincts not yet reported hold at most R registered voters
 * (the definition's figure). A decision is certain ("final") when no way
 * those R voters could vote (any option, an invalid or an uncounted ballot)
 * or stay home changes it. Every comparison is exact: shares are compared
 * by cross-multiplication in 128-bit integers, fractions are parts per
 * million (TALLY_PPM); doubles only format percentages in the reasons.
 *
 * Turnout (any kind, when the rules give min_turnout_pct): ballots_cast
 * over the protocols' registered voters plus R, strictly above the
 * minimum. Surely failing makes a referendum `failing` and a candidate or
 * party-list contest `failed`.
 *
 * referendum: the first option needs more than half of a region's
 * pass_share_of (ballots cast, or valid ballots) in at least
 * ceil(region_majority_fraction x the scope's regions) regions; a region
 * of the scope without precincts counts and never has that majority.
 * `none` without rules, `passing` once every rule surely passes, `failing`
 * once one surely fails, else `undetermined`.
 *
 * candidate, plurality, k = seats: an option is elected when fewer than k
 * other options (against-all included) have as many votes or more, and it
 * has more votes than every against-all option. Equal votes for the last
 * seats: `tie` (the tied options and seats named, those seats left
 * unallocated). Nobody electable (against-all at least level with every
 * candidate, or the turnout rule failing): `failed`.
 *
 * candidate, absolute_majority (one seat): elected with more than half of
 * majority_of (ballots cast, or valid ballots); against-all with that
 * majority: `failed`. Otherwise a runoff between the two candidates with
 * the most votes (against-all excluded); equal votes for second place:
 * `tie`; a single candidate without the majority: `failed`.
 *
 * party_list: threshold and seats by seats.h over the current votes, the
 * threshold base being threshold_of (valid ballots, or ballots cast).
 * `provisional` while anything still out could change them, then `final`,
 * or `tie` when seats are left to lot (the tie is reported while
 * provisional too).
 */
#ifndef TALLY_DECISION_H
#define TALLY_DECISION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/election.h"
#include "tally/result.h"
#include "tally/rules.h"
#include "tally/seats.h"
#include "tally/figures.h" /* struct tally_figures */

/* Most reasons one decision gives. */
#define TALLY_DECISION_MAX_REASONS 8

enum tally_decision_status {
	TALLY_STATUS_NONE = 0,     /* referendum without rules: nothing to decide */
	TALLY_STATUS_UNDETERMINED, /* referendum, candidate: not certain yet */
	TALLY_STATUS_PASSING,      /* referendum */
	TALLY_STATUS_FAILING,      /* referendum */
	TALLY_STATUS_ELECTED,      /* candidate: every seat that can be filled is */
	TALLY_STATUS_RUNOFF,       /* candidate, absolute_majority */
	TALLY_STATUS_TIE,          /* candidate, party_list: seats left to lot */
	TALLY_STATUS_FAILED,       /* candidate, party_list: nobody can be elected */
	TALLY_STATUS_PROVISIONAL,  /* party_list: the seats if counting stopped now */
	TALLY_STATUS_FINAL,        /* party_list */
};

/* "none", "undetermined", "passing", "failing", "elected", "runoff", "tie",
 * "failed", "provisional", "final"; "unknown" outside the enum. */
const char *tally_decision_status_str(enum tally_decision_status s);

/* One contest's figures, borrowed. */
struct tally_decision_input {
	const struct tally_election *e;
	const struct tally_contest *c;        /* one of e->contests */
	const struct tally_figures *national; /* over the contest's scope, votes like c->options */
	const struct tally_figures *regions;  /* like c->regions; read only by a referendum's
	                                         region rule (else may be NULL) */
	uint64_t unreported_registered;       /* the definition's registered voters of the
	                                         scope's unreported precincts */
	const uint64_t *region_unreported_registered; /* like c->regions */
};

/* The decision. Plain data; option numbers are indexes into c->options. */
struct tally_decision_result {
	enum tally_decision_status status;
	bool final; /* nothing still out can change it */
	size_t n_reasons;
	char reasons[TALLY_DECISION_MAX_REASONS][TALLY_REASON_MAX];
	int32_t leader; /* most votes among options that can win; -1 if none has a
	                   vote or two share the most */
	size_t n_ranking;
	uint32_t ranking[TALLY_MAX_OPTIONS]; /* every option, most votes first, ties in
	                                        ballot order */
	size_t n_elected;
	uint32_t elected[TALLY_MAX_OPTIONS]; /* candidate: surely elected, ranking order */
	bool has_runoff;
	uint32_t runoff[2];              /* candidate: most votes first */
	struct tally_seats_result seats; /* party_list: over the current votes */
	uint32_t tie_seats;              /* candidate or party_list: seats left to lot */
	size_t n_tied;
	uint32_t tied[TALLY_MAX_OPTIONS]; /* the options tied for them, ballot order */
};

/*
 * Decides in->c from its figures into *ret (always fully written). A
 * candidate's `elected` lists the options surely elected even while other
 * seats are undetermined; runoff and tie are set only once certain. A
 * party list's seats and tie are those of the current votes, at any time.
 * Returns 0, or -EINVAL: a NULL pointer (regions and
 * region_unreported_registered may be NULL unless a referendum's region
 * rule reads them), a contest without options, with more than
 * TALLY_MAX_OPTIONS or of unknown kind, a candidate contest without seats
 * or with absolute_majority and seats other than 1, or a party list that
 * tally_seats_allocate() refuses.
 */
int tally_decide(const struct tally_decision_input *in, struct tally_decision_result *ret);

/*
 * The decision as the API publishes it, option ids for indexes:
 * {"status", "final", "reasons": [...], "rules": {...}} plus
 *   candidate: "ranking": [...], "elected": [...], "runoff": [a, b] | null,
 *              "tie": {"options": [...], "seats": n} | null
 *   party_list: "passed": [...], "seats": {every option: n}, "vacant": n,
 *               "tie": {"options": [...], "seats": n} | null
 * The referendum of a definition without contests keeps the document of
 * earlier versions byte for byte: {"status", "reasons", "rules"} with only
 * the rules the file gave, as it wrote them. Returns 0 or -ENOMEM.
 */
int tally_decision_to_json(const struct tally_decision_input *in,
                           const struct tally_decision_result *d, json_t **ret);

/*
 * c's rules with every default filled, named as in the definition:
 * min_turnout_pct (only when given), then by kind region_majority_fraction
 * (when given) and pass_share_of; win and majority_of; threshold_pct,
 * threshold_of, method, tie and overflow. For the referendum of a
 * definition without contests, only the rules the file gave, as written.
 * Returns 0 or -ENOMEM.
 */
int tally_decision_rules_to_json(const struct tally_election *e, const struct tally_contest *c,
                                 json_t **ret);

#endif
