/*
 * replay.h: the derived state (totals, Merkle tree) rebuilt from the log
 * leaves the store holds (replay.c).
 */
#ifndef TALLY_AGG_REPLAY_H
#define TALLY_AGG_REPLAY_H

#include "aggregator.h"
#include "tally/err.h"

/*
 * Rebuilds a->totals and a->merkle from every leaf in the store, read
 * through its reader (what is committed), and swaps them in: at start-up
 * and whenever the in-memory state went out of step with the store. On
 * failure a's state is left as it was. 0 or -errno with err saying why.
 */
int replay_rebuild(struct aggregator *a, struct tally_err *err);

#endif
