/*
 * replay.c: rebuilding the totals and the Merkle tree from the log leaves
 * in the store (replay.h), without decoding or hashing anything: the store
 * keeps each leaf's counted figures and hashes. The reconciliation rules
 * are totals.c's; the rows are the store's.
 */
#include <errno.h>
#include <inttypes.h>

#include "replay.h"
#include "store.h"
#include "tally/log.h"
#include "tally/merkle.h"

struct recover_ctx {
	struct tally_totals *totals;
	struct tally_merkle *merkle;
	const struct tally_election *e;
	uint64_t mismatches;
	uint32_t stride;
};

static int on_recover_leaf(const struct agg_leaf_rec *l, void *data)
{
	struct recover_ctx *c = data;
	int64_t idx = tally_election_precinct_index(c->e, l->precinct);
	enum tally_outcome o;
	if (idx < 0 || l->n_figures != c->stride)
		return -EINVAL;
	int r = tally_totals_apply_figures(c->totals, (size_t)idx, l->revision, l->payload_hash,
	                                   (int64_t)l->leaf_index, l->figures, &o);
	if (r < 0)
		return r;
	if (o != l->outcome)
		c->mismatches++;
	return tally_merkle_append(c->merkle, l->leaf_hash);
}

int replay_rebuild(struct aggregator *a, struct tally_err *err)
{
	struct recover_ctx c = {.e = a->election};
	uint64_t t0 = uv_hrtime();
	int r = tally_totals_new(a->election, &c.totals);
	if (r < 0 || (r = tally_merkle_new(&c.merkle)) < 0)
		goto fail;
	c.stride = (uint32_t)tally_totals_stride(c.totals);
	/* Never while a batch is being written: the reader sees what is committed. */
	struct agg_store *rd = agg_store_reader(a->store);
	r = agg_store_leaves(rd, 0, UINT64_MAX, 0, on_recover_leaf, &c);
	if (r < 0) {
		tally_err_set(err, r, "rebuilding totals from the store: %s",
		              r == -EINVAL ? "a log leaf names a precinct or options not in this "
		                             "election"
		                           : rd->last_error);
		goto fail;
	}
	if (c.mismatches)
		log_warning("recovery: %" PRIu64 " log leaves replayed to another outcome than "
		            "stored; the replay is what counts",
		            c.mismatches);
	tally_totals_free(a->totals);
	tally_merkle_free(a->merkle);
	a->totals = c.totals;
	a->merkle = c.merkle;
	log_info("recovered %" PRIu64 " log leaves, %" PRIu32 "/%" PRIu32
	         " precincts reported, in %.3f s",
	         tally_merkle_size(a->merkle), a->totals->national.precincts_reported,
	         a->totals->national.precincts_total, (double)(uv_hrtime() - t0) / 1e9);
	return 0;
fail:
	if (r == -ENOMEM)
		tally_err_set(err, r, "rebuilding totals from the store: out of memory");
	tally_totals_free(c.totals);
	tally_merkle_free(c.merkle);
	return r;
}
