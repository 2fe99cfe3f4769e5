/*
 * follow.h: keeping this aggregator instance in step with the others that
 * share its store (PostgreSQL). With a single-writer store (SQLite) every
 * function here does nothing.
 */
#ifndef TALLY_AGG_FOLLOW_H
#define TALLY_AGG_FOLLOW_H

#include "aggregator.h"

/* The module (agg_modules[]): watches the store for other instances' commits. */
int follow_start(struct aggregator *a);
void follow_stop(struct aggregator *a);

/*
 * Applies, in leaf order, the log leaves other instances committed since
 * this instance last looked, to a->totals and a->merkle. Called by ingest
 * right after agg_store_begin(), under the store's log lock, so the batch is
 * reconciled against the current state of the whole log. 0, or -errno with
 * a->store->last_error saying why: -ESTALE if the store holds fewer leaves
 * than this instance has already published (the database lost committed
 * results), replay_apply()'s -EUCLEAN (a leaf missing, or one that does
 * not replay to its stored outcome) or -EINVAL, the store's -EIO.
 */
int follow_catch_up(struct aggregator *a);

#endif
