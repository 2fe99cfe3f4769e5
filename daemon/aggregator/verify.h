/*
 * verify.h: the checks on one submitted result (verify.c), run on libuv's
 * thread pool. The items stay ingest's (ingest.h): a job borrows them until
 * its completion on the loop marks them verified, and ingest's check
 * handle takes them into the next batch.
 */
#ifndef TALLY_AGG_VERIFY_H
#define TALLY_AGG_VERIFY_H

#include <stddef.h>

#include "aggregator.h"
#include "ingest.h"
#include "tally/election.h"
#include "tally/keyring.h"

/*
 * Checks n items on the thread pool with the trusted keys of the moment
 * (the array is copied; the items must stay queued in ingest until the
 * job completes), then marks them verified on the loop. Without memory for
 * a job they are checked inline instead. Returns 0.
 */
int verify_submit(struct aggregator *a, struct agg_item **items, size_t n);
/* Verify jobs still running: they hold items, so ingest_close() waits for 0. */
size_t verify_pending(void);
/*
 * The checks themselves, pure but for the keyring, in the order of
 * verify.c's header; sets it->code (TALLY_REJECT_NONE when it passes) and
 * the fields under "verification". Exported for tests.
 */
void verify_item(const struct tally_election *e, const struct tally_keyring *keys, size_t n_options,
                 struct agg_item *it);

#endif
