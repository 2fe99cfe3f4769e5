/*
 * totals.h: running totals of every contest over the counted results,
 * with reconciliation applied per slot (one contest in one precinct,
 * election.h; reconcile.h). Incremental: each applied result moves its
 * contest's totals by the difference from what it replaces. Pure, no I/O;
 * the JSON documents over them are totals_json.c's.
 *
 * `sequence` counts the results that changed what is held (ACCEPTED and
 * CONFLICT outcomes, in any contest): it equals the size of the public
 * Merkle log, so a totals document "at sequence N" is the one at tree
 * size N.
 *
 * Memory: per slot a 48-byte struct tally_slot_state and the counted
 * figures, 4 bytes each of the contest's stride (4 + its options); per
 * conflicting copy held, its 32-byte hash in a side table keyed by slot
 * (a slot without copies costs nothing there); for an election of several
 * contests 4 bytes per precinct more (its contests still unreported). A
 * million precincts in one contest of two options: 72 MB.
 */
#ifndef TALLY_TOTALS_H
#define TALLY_TOTALS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/election.h"
#include "tally/figures.h"
#include "tally/reconcile.h"
#include "tally/result.h"

/*
 * One contest's totals (contest c = election->contests[i] for
 * totals->contests[i]). Figures of a region or district count only the
 * contest's precincts there; precincts_total is the number of them.
 */
struct tally_contest_totals {
	struct tally_figures national;   /* over the contest's scope */
	struct tally_figures *regions;   /* like c->regions */
	struct tally_figures *districts; /* like c->districts */
	/* Registered voters (from the definition) of its reported precincts,
	 * over the scope and per region, so that bounds over the unreported
	 * ones need no pass over precincts. */
	uint64_t reported_definition_registered;
	uint64_t *region_reported_definition_registered; /* like c->regions */
	/* The same, of its unreported precincts per region (what the
	 * decisions' bounds read, tally/decision.h). */
	uint64_t *region_unreported_registered; /* like c->regions */
	/* Per slot of the contest, in slot order (slot - c->slot_base): the
	 * counted result's figures, tally_totals_contest_stride() numbers. */
	uint32_t *counted;
};

struct tally_conflict_table; /* private to totals.c */

/* Owned by whoever made it with tally_totals_new(); borrows the election. */
struct tally_totals {
	const struct tally_election *election;
	struct tally_slot_state *slots;        /* like the election's slots */
	struct tally_contest_totals *contests; /* like election->contests */
	uint64_t sequence;
	/* The conflicting copies' hashes of flagged slots; read them with
	 * tally_totals_conflict_copies(). */
	struct tally_conflict_table *conflicts;
	/*
	 * Precincts across contests, for an election of several: a precinct
	 * counts as reported once every contest it votes in has a counted
	 * result; one that votes in no contest is not counted at all. Per
	 * precinct the contests it votes in that have none yet (NULL for an
	 * election of one contest, whose precincts are its contest's). Read
	 * through tally_totals_precincts().
	 */
	uint32_t *precinct_unreported_contests;
	uint32_t precincts_total, precincts_reported;
	uint32_t *region_precincts_total, *region_precincts_reported; /* like election->regions */
};

/* Zero totals with no precinct reported, borrowing e (it must outlive them). 0 or -ENOMEM. */
int tally_totals_new(const struct tally_election *e, struct tally_totals **ret);
/* Takes NULL; returns NULL. */
struct tally_totals *tally_totals_free(struct tally_totals *t);

/*
 * Reconciles r (already validated against the election) whose payload hashes
 * to `hash` and, if counted or flagged, becomes log leaf `leaf_index`. Its
 * slot is its precinct in its contest (r->contest_id; "" is the only
 * contest of an election of one). Updates the slot's state and the
 * contest's totals; *ret_outcome says what happened. Returns 0, -ENOENT
 * (no such precinct or contest, or the precinct does not vote in it),
 * -EINVAL (revision 0, an option not of the contest), -ENOMEM.
 */
int tally_totals_apply(struct tally_totals *t, const struct tally_result *r,
                       const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                       enum tally_outcome *ret_outcome);

/*
 * Numbers kept per slot for its counted result, in this order:
 * voters_registered, ballots_cast, ballots_invalid, ballots_not_counted,
 * then votes per option (the contest's ballot order): the contest's
 * stride, TALLY_TOTALS_FIXED_FIGURES + its n_options.
 */
#define TALLY_TOTALS_FIXED_FIGURES 4
size_t tally_totals_contest_stride(const struct tally_totals *t, size_t contest);
/* The stride of the contest slot < election->n_slots belongs to. */
size_t tally_totals_slot_stride(const struct tally_totals *t, size_t slot);

/*
 * Like tally_totals_apply(), for a slot (election.h) and its counted
 * figures already laid out as above (the slot's contest's stride): the
 * fast path for rebuilding totals from the store without decoding
 * payloads. Returns 0, -ERANGE (no such slot), -EINVAL (revision 0),
 * -ENOMEM (nothing changed).
 */
int tally_totals_apply_figures(struct tally_totals *t, size_t slot, uint32_t revision,
                               const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                               const uint32_t *figures, enum tally_outcome *ret_outcome);

/*
 * The outcome tally_totals_apply_figures() would give, changing nothing
 * (slot < election->n_slots).
 */
enum tally_outcome tally_totals_decide(const struct tally_totals *t, size_t slot, uint32_t revision,
                                       const uint8_t hash[TALLY_HASH_BYTES]);

/*
 * The hashes of the conflicting copies held for slot (the first
 * slots[slot].n_conflicts of them), or NULL when it holds none. Valid
 * until the next apply.
 */
const struct tally_conflict_copies *tally_totals_conflict_copies(const struct tally_totals *t,
                                                                 size_t slot);

/*
 * The figures of r laid out for its contest (r->contest_id, "" for the
 * only one): ret_figures has room for TALLY_TOTALS_FIXED_FIGURES +
 * TALLY_MAX_OPTIONS and receives the contest's stride of numbers. Reads
 * only t->election. -ENOENT for an unknown contest, -EINVAL for an option
 * not of the contest.
 */
int tally_totals_result_figures(const struct tally_totals *t, const struct tally_result *r,
                                uint32_t *ret_figures);
/* The same for a given contest c (r->contest_id is not read). -EINVAL as above. */
int tally_totals_contest_figures(const struct tally_contest *c, const struct tally_result *r,
                                 uint32_t *ret_figures);

/* The counted figures of slot (its contest's stride of numbers; zeros if not reported). */
const uint32_t *tally_totals_counted(const struct tally_totals *t, size_t slot);

/*
 * The state of precinct_index's slot in `contest`, or that of a slot with
 * nothing counted when the precinct does not vote in it.
 */
const struct tally_slot_state *tally_totals_state(const struct tally_totals *t, size_t contest,
                                                  size_t precinct_index);

/*
 * The contest's figures of election->regions[region]: all zero (and
 * precincts_total 0) when none of its precincts is there.
 */
const struct tally_figures *tally_totals_region(const struct tally_totals *t, size_t contest,
                                                size_t region);

/*
 * Precincts of the whole election (region SIZE_MAX) or of one region
 * (an index into election->regions), across contests: *ret_total those
 * that vote in at least one contest, *ret_reported those whose every
 * contest has a counted result. For an election of one contest, exactly
 * that contest's precincts_total and precincts_reported. O(1).
 */
void tally_totals_precincts(const struct tally_totals *t, size_t region, uint32_t *ret_total,
                            uint32_t *ret_reported);
/* Flagged slots (every contest), of the whole election or of one region as above. */
uint32_t tally_totals_conflicts(const struct tally_totals *t, size_t region);

/*
 * The /v1/totals document (totals_json.c; tally/totals_json.h has the
 * other documents). A definition without contests: {"election_id",
 * "sequence", "national": {...}, "regions": [{"id", "name", ...}],
 * "decision": {...}}, byte for byte as ever: each figures object has
 * precincts_total, precincts_reported, voters_registered, ballots_cast,
 * ballots_invalid, ballots_not_counted, votes {option: n}, votes_pct
 * {option: pct of valid ballots}, turnout_pct, conflicts; every region of
 * the definition; the decision by tally/decision.h. A definition with
 * contests: {"election_id", "title", "titles"?, "sequence", "contests":
 * [{"id", "name", "names"?, "kind", "scope", "seats", "national": FIGURES,
 * "decision": DECISION}]} (totals_json.h). Callers add "as_of" (at the
 * end of the first, after "sequence" in the second:
 * tally_totals_to_json_at(), tally/totals_json.h).
 * Returns 0 or -ENOMEM.
 */
int tally_totals_to_json(const struct tally_totals *t, json_t **ret);
/*
 * One figures object of the legacy document (the first contest's
 * options, percentages of valid ballots). Returns 0 or -ENOMEM.
 */
int tally_totals_figures_to_json(const struct tally_totals *t, const struct tally_figures *f,
                                 json_t **ret);

/*
 * SHA-256 over a canonical text of every integer figure and the sequence.
 * Goes into signed tree heads; an observer recomputes it from a replay of
 * the log. Lines end in "\n"; fields are separated by one space; numbers
 * are decimal without padding.
 *
 * A definition without contests ("tally-totals-v1", as ever):
 *   "tally-totals-v1 <election_id> <sequence>"
 *   FIGURES("national", national)
 *   FIGURES(<region id>, region) for every region in definition order
 *     (a region without precincts with zero figures)
 * where FIGURES(label, f) is
 *   "<label> <precincts_total> <precincts_reported> <conflicts>
 *    <voters_registered> <ballots_cast> <ballots_invalid>
 *    <ballots_not_counted>" then " <votes>" for each option in ballot order.
 *
 * A definition with contests ("tally-totals-v2"):
 *   "tally-totals-v2 <election_id> <sequence>"
 *   then for every contest in definition order:
 *   "contest <contest id>"
 *   FIGURES("national", the contest's national figures)
 *   FIGURES(<region id>, ...) for each of contest->regions (ascending index)
 *   FIGURES("district:<district id>", ...) for each of contest->districts
 *   with the contest's options.
 */
void tally_totals_digest(const struct tally_totals *t, uint8_t ret[TALLY_HASH_BYTES]);

#endif
