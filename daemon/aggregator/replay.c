/*
 * replay.c: the one replay of the public log (replay.h). It applies stored
 * leaves to the totals and the Merkle tree without decoding or hashing
 * anything (the store keeps each leaf's counted figures and hashes), and
 * refuses any leaf it cannot explain: a gap in the leaf indexes, a leaf of
 * another election, an outcome the rules do not give. Accepting such a log
 * would publish totals that no observer replaying the same log could
 * reproduce. The rules are reconcile.c's and totals.c's; the rows are the
 * store's.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "replay.h"
#include "store.h"
#include "tally/log.h"
#include "tally/reconcile.h"

struct replay_ctx {
	struct tally_totals *totals;
	struct tally_merkle *merkle;
	uint64_t next; /* the leaf index expected next */
	struct tally_err *err;
	bool refused; /* on_leaf() set err */
};

/* The unit a leaf is reconciled in: its precinct's slot in the first contest, or < 0. */
static int64_t leaf_slot(const struct tally_election *e, const struct agg_leaf_rec *l)
{
	int64_t pi = tally_election_precinct_index(e, l->precinct);
	return pi < 0 ? pi : tally_election_slot(e, 0, (size_t)pi);
}

static int check_and_apply(struct replay_ctx *c, const struct agg_leaf_rec *l)
{
	struct tally_totals *t = c->totals;
	enum tally_outcome o;
	if (l->leaf_index != c->next)
		return tally_err_set(c->err, -EUCLEAN,
		                     "log leaf %" PRIu64 " is missing from the store (the next "
		                     "stored leaf is %" PRIu64 ")",
		                     c->next, l->leaf_index);
	int64_t slot = leaf_slot(t->election, l);
	if (slot < 0)
		return tally_err_set(c->err, -EINVAL,
		                     "log leaf %" PRIu64 " names precinct %" PRIu32
		                     ", which is not in this election",
		                     l->leaf_index, l->precinct);
	size_t stride = tally_totals_slot_stride(t, (size_t)slot);
	if (l->n_figures != stride)
		return tally_err_set(c->err, -EINVAL,
		                     "log leaf %" PRIu64 " (precinct %" PRIu32 ") has %zu figures; "
		                     "this election's results have %zu",
		                     l->leaf_index, l->precinct, l->n_figures, stride);
	/* Decided before anything is applied, so a refused leaf changes nothing. */
	o = tally_totals_decide(t, (size_t)slot, l->revision, l->payload_hash);
	if (o != l->outcome)
		return tally_err_set(c->err, -EUCLEAN,
		                     "log leaf %" PRIu64 " (precinct %" PRIu32 " revision %" PRIu32
		                     ") is stored as %s, but the rules make it %s",
		                     l->leaf_index, l->precinct, l->revision,
		                     tally_outcome_str(l->outcome), tally_outcome_str(o));
	int r = tally_totals_apply_figures(t, (size_t)slot, l->revision, l->payload_hash,
	                                   (int64_t)l->leaf_index, l->figures, &o);
	if (r == 0)
		r = tally_merkle_append(c->merkle, l->leaf_hash);
	if (r < 0)
		return tally_err_set(c->err, r, "applying log leaf %" PRIu64 ": %s", l->leaf_index,
		                     r == -ENOMEM ? "out of memory" : "refused by the totals");
	c->next++;
	return 0;
}

static int on_leaf(const struct agg_leaf_rec *l, void *data)
{
	struct replay_ctx *c = data;
	int r = check_and_apply(c, l);
	c->refused = r < 0;
	return r;
}

int replay_apply(struct agg_store *s, uint64_t end, struct tally_totals *totals,
                 struct tally_merkle *merkle, struct tally_err *err)
{
	struct replay_ctx c = {
	    .totals = totals, .merkle = merkle, .next = tally_merkle_size(merkle), .err = err};
	uint64_t start = c.next;
	assert(totals->sequence == start);
	if (end <= start)
		return 0;
	int r = agg_store_leaves(s, start, end, 0, on_leaf, &c);
	if (r < 0) {
		/* on_leaf() said why; otherwise the store did. */
		if (!c.refused)
			tally_err_set(err, r, "reading the log: %s", s->last_error);
		return r;
	}
	if (end != UINT64_MAX && c.next != end)
		return tally_err_set(err, -EUCLEAN,
		                     "log leaves %" PRIu64 "..%" PRIu64
		                     " are missing from the store, "
		                     "which says its log holds %" PRIu64,
		                     c.next, end - 1, end);
	return 0;
}

int replay_rebuild(struct aggregator *a, struct tally_err *err)
{
	struct tally_totals *totals = NULL;
	struct tally_merkle *merkle = NULL;
	struct tally_err why = {{0}};
	uint64_t t0 = uv_hrtime(), end = UINT64_MAX;
	/* Never while a batch is being written: the reader sees what is committed. */
	struct agg_store *rd = agg_store_reader(a->store);
	int r = agg_store_log_size(rd, &end);
	if (r == -ENOTSUP) {
		end = UINT64_MAX; /* the rows are all there is */
	} else if (r < 0) {
		tally_err_set(&why, r, "reading the log's size: %s", rd->last_error);
		goto fail;
	}
	if ((r = tally_totals_new(a->election, &totals)) < 0 ||
	    (r = tally_merkle_new(&merkle)) < 0) {
		tally_err_set(&why, r, "out of memory");
		goto fail;
	}
	if ((r = replay_apply(rd, end, totals, merkle, &why)) < 0)
		goto fail;
	tally_totals_free(a->totals);
	tally_merkle_free(a->merkle);
	a->totals = totals;
	a->merkle = merkle;
	log_info("recovered %" PRIu64 " log leaves, %" PRIu32 "/%" PRIu32
	         " precincts reported, in %.3f s",
	         tally_merkle_size(a->merkle), a->totals->contests[0].national.precincts_reported,
	         a->totals->contests[0].national.precincts_total, (double)(uv_hrtime() - t0) / 1e9);
	return 0;
fail:
	if (r == -EUCLEAN)
		tally_err_set(err, r,
		              "replaying the store's log: %s. The store lost or changed rows after "
		              "they were committed; restore it from a backup and have the nodes "
		              "resend (docs/operations.md, section 6) instead of editing it",
		              why.msg);
	else if (r == -EINVAL)
		tally_err_set(err, r,
		              "replaying the store's log: %s. Is `election` the definition this "
		              "store was made for?",
		              why.msg);
	else
		tally_err_set(err, r, "replaying the store's log: %s", why.msg);
	tally_totals_free(totals);
	tally_merkle_free(merkle);
	return r;
}
