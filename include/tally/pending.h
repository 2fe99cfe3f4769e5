/*
 * pending.h: the outcomes a batch of results will have, decided before the
 * batch is stored and without changing the totals. The aggregator writes a
 * batch on a thread of its own while its totals go on showing only what is
 * committed; once the batch is committed it applies the same results, in
 * the same order, with tally_totals_apply_figures(), which gives the same
 * outcomes. Pure.
 *
 * A batch may hold several results for one slot (one contest in one
 * precinct, election.h: a correction right behind its original, a
 * duplicate): each is decided on top of the ones before it, from a private
 * copy of that slot's state and conflicting copies.
 */
#ifndef TALLY_PENDING_H
#define TALLY_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"
#include "tally/totals.h"

struct tally_pending;

/* An empty batch. 0 or -ENOMEM. */
int tally_pending_new(struct tally_pending **ret);
/* Takes NULL. */
void tally_pending_free(struct tally_pending *p);
/* Forgets what was decided: the next batch starts from the totals again
 * (the same totals, or others: a batch reads them only while deciding). */
void tally_pending_reset(struct tally_pending *p);
/* Results decided since the last reset. */
size_t tally_pending_size(const struct tally_pending *p);
/*
 * Caps the distinct conflicting copies held for one slot's revision at
 * max (0, the default: no cap). A further distinct copy is refused: its
 * decide returns -EDQUOT and records nothing, so it never becomes a log
 * leaf and the state a batch copies and compares stays bounded. Copies
 * already held stay DUPLICATE; a higher revision clears the count.
 */
void tally_pending_set_conflict_limit(struct tally_pending *p, uint32_t max);

/*
 * The outcome of (slot, revision, hash) on top of t and everything
 * decided since the last reset, as tally_reconcile_decide() gives it; a
 * counted or flagged result is recorded as log leaf leaf_index. t does
 * not change (and must not between resets). 0, -ERANGE (no such slot),
 * -EINVAL (revision 0), -EDQUOT (a CONFLICT past the conflict limit:
 * nothing recorded, *ret untouched), -ENOMEM (nothing recorded).
 */
int tally_pending_decide(struct tally_pending *p, const struct tally_totals *t, size_t slot,
                         uint32_t revision, const uint8_t hash[TALLY_HASH_BYTES],
                         int64_t leaf_index, enum tally_outcome *ret);

#endif
