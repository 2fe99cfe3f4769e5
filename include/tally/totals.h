/*
 * totals.h: running national and regional totals over the counted results,
 * with reconciliation applied per precinct (reconcile.h). Incremental: each
 * applied result moves the totals by the difference from what it replaces.
 * Pure (jansson for the JSON document, no I/O).
 *
 * `sequence` counts the results that changed what is held (ACCEPTED and
 * CONFLICT outcomes): it equals the size of the public Merkle log, so a
 * totals document "at sequence N" is the one at tree size N.
 */
#ifndef TALLY_TOTALS_H
#define TALLY_TOTALS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/election.h"
#include "tally/reconcile.h"
#include "tally/result.h"

struct tally_figures {
	uint32_t precincts_total;
	uint32_t precincts_reported;
	uint32_t conflicts;         /* precincts currently flagged */
	uint64_t voters_registered; /* of reported precincts, as in their results */
	uint64_t ballots_cast;
	uint64_t ballots_invalid;
	uint64_t ballots_not_counted;
	uint64_t votes[TALLY_MAX_OPTIONS]; /* indexed like election->options */
};

enum tally_decision {
	TALLY_DECISION_NONE = 0, /* the election has no rules */
	TALLY_DECISION_UNDETERMINED,
	TALLY_DECISION_PASSING,
	TALLY_DECISION_FAILING,
};

/* Owned by whoever made it with tally_totals_new(); borrows the election. */
struct tally_totals {
	const struct tally_election *election;
	struct tally_precinct_state *precincts; /* like election->precincts */
	uint32_t *counted; /* per precinct: registered, cast, invalid, not_counted,
	                      votes[n_options] of the counted result */
	struct tally_figures national;
	struct tally_figures *regions; /* like election->regions */
	uint64_t sequence;
	/* Per region: registered voters (from the definition) of its reported
	 * precincts, so the decision's bounds need no pass over precincts. */
	uint64_t *reported_definition_registered;
};

/* Zero totals with no precinct reported, borrowing e (it must outlive them). 0 or -ENOMEM. */
int tally_totals_new(const struct tally_election *e, struct tally_totals **ret);
/* Takes NULL; returns NULL. */
struct tally_totals *tally_totals_free(struct tally_totals *t);

/*
 * Reconciles r (already validated against the election) whose payload hashes
 * to `hash` and, if counted or flagged, becomes log leaf `leaf_index`.
 * Updates the precinct's state and the totals; *ret_outcome says what
 * happened. Returns 0, -ENOENT (precinct not in the election), -ENOMEM.
 */
int tally_totals_apply(struct tally_totals *t, const struct tally_result *r,
                       const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                       enum tally_outcome *ret_outcome);

/*
 * Numbers kept per precinct for its counted result, in this order:
 * voters_registered, ballots_cast, ballots_invalid, ballots_not_counted,
 * then votes per option (election order). tally_totals_stride() of them.
 */
#define TALLY_TOTALS_FIXED_FIGURES 4
size_t tally_totals_stride(const struct tally_totals *t);

/*
 * Like tally_totals_apply(), for a precinct given by its index into
 * election->precincts and its counted figures already laid out as above
 * (stride numbers): the fast path for rebuilding totals from the store
 * without decoding payloads. Returns 0, -ERANGE (bad index), -EINVAL
 * (revision 0), -ENOMEM.
 */
int tally_totals_apply_figures(struct tally_totals *t, size_t precinct_index, uint32_t revision,
                               const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                               const uint32_t *figures, enum tally_outcome *ret_outcome);

/* The figures of r laid out as tally_totals_stride() numbers. -EINVAL for an unknown option. */
int tally_totals_result_figures(const struct tally_totals *t, const struct tally_result *r,
                                uint32_t *ret_figures);

/* Turnout (cast / registered of reported precincts) in percent; 0 if none. */
double tally_figures_turnout_pct(const struct tally_figures *f);
/* Option i's share of valid ballots (cast - invalid) in percent; 0 if none. */
double tally_figures_option_pct(const struct tally_figures *f, size_t i);

/* Longest tally_totals_group() text: 20 digits, 6 commas and the NUL. */
#define TALLY_GROUPED_MAX 27
/*
 * Writes v in decimal with a comma between groups of three digits
 * ("2,602,280"), for texts people read, into ret; returns ret.
 */
const char *tally_totals_group(uint64_t v, char ret[TALLY_GROUPED_MAX]);

/*
 * The decision under election->rules, with one reason per rule into
 * ret_reasons (array of n_max strings of TALLY_REASON_MAX; *ret_n set).
 * Undetermined while unreported precincts could still change a rule's result
 * (bounds over their registered voters); the first option is the one a
 * measure passes with; a region's majority is of its ballots cast.
 */
enum tally_decision tally_totals_decision(const struct tally_totals *t,
                                          char (*ret_reasons)[TALLY_REASON_MAX], size_t n_max,
                                          size_t *ret_n);
const char *tally_decision_str(enum tally_decision d); /* "undetermined", ... */

/*
 * The totals document: {"election_id", "sequence", "national": {...},
 * "regions": [{"id", "name", ...}], "decision": {...}}. Each figures object
 * has precincts_total, precincts_reported, voters_registered, ballots_cast,
 * ballots_invalid, ballots_not_counted, votes {option: n}, votes_pct
 * {option: pct}, turnout_pct, conflicts. Callers add "as_of".
 * Returns 0 or -ENOMEM.
 */
int tally_totals_to_json(const struct tally_totals *t, json_t **ret);
/* One figures object as in the document. Returns 0 or -ENOMEM. */
int tally_totals_figures_to_json(const struct tally_totals *t, const struct tally_figures *f,
                                 json_t **ret);
/* {"status", "reasons": [...], "rules": {...}}. Returns 0 or -ENOMEM. */
int tally_totals_decision_to_json(const struct tally_totals *t, json_t **ret);

/*
 * SHA-256 over a canonical text of every integer figure (national, then each
 * region in definition order) and the sequence. Goes into signed tree heads;
 * an observer recomputes it from a replay of the log.
 */
void tally_totals_digest(const struct tally_totals *t, uint8_t ret[TALLY_HASH_BYTES]);

#endif
