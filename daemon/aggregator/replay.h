/*
 * replay.h: the one replay of the public log (replay.c). The totals and the
 * Merkle tree are derived state: everything in them comes from the log
 * leaves the store holds, applied in leaf order by the reconciliation
 * rules. Start-up rebuilds them here, following another instance's commits
 * (follow.c) applies its leaves here, and a daemon whose memory went out of
 * step with the store rebuilds here; each leaf passes the same checks.
 */
#ifndef TALLY_AGG_REPLAY_H
#define TALLY_AGG_REPLAY_H

#include <stdint.h>

#include "aggregator.h"
#include "tally/err.h"
#include "tally/merkle.h"
#include "tally/totals.h"

struct agg_store;

/*
 * Applies the store's log leaves from the tree's size (the next leaf is
 * tally_merkle_size(merkle), which must equal totals->sequence) up to end,
 * exclusive (UINT64_MAX: to the last leaf stored), to totals and merkle,
 * in leaf order. Each leaf is checked before anything of it is applied:
 *  - it is the next leaf: no index is skipped (a missing row), and with a
 *    finite end every leaf below end is there;
 *  - its precinct, its contest and its number of figures are this
 *    election's (totals->election); a leaf naming no contest (stored
 *    before contests were kept) is the only contest's, and is refused in
 *    an election of several;
 *  - the reconciliation rules, applied to what came before it, give it the
 *    outcome stored with it.
 * The first leaf that fails stops the replay; the leaves before it stay
 * applied. Returns 0; -EUCLEAN for a gap or an outcome the rules do not
 * reproduce, -EINVAL for a leaf of another election (err names the leaf,
 * its precinct and revision, what is stored and what was expected); the
 * store's error (-EIO ..., err with its last_error) or -ENOMEM.
 */
int replay_apply(struct agg_store *s, uint64_t end, struct tally_totals *totals,
                 struct tally_merkle *merkle, struct tally_err *err);

/*
 * Rebuilds a->totals and a->merkle from the first leaf, reading the store
 * through its reader (what is committed) up to the size the store says its
 * log has (a shared store) or its last leaf, then swaps them in: at
 * start-up and whenever the in-memory state went out of step with the
 * store. On failure a's state is left as it was and err also says what to
 * do (a log that does not replay is a damaged store: restore it from a
 * backup). Returns as replay_apply().
 */
int replay_rebuild(struct aggregator *a, struct tally_err *err);

#endif
