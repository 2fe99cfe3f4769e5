/*
 * replay.c: the one replay of the public log (replay.h). It applies stored
 * leaves to the totals and the Merkle tree without decoding or hashing
 * anything (the store keeps each leaf's counted figures and hashes), and
 * refuses any leaf it cannot explain: a gap in the leaf indexes, a leaf of
 * another election (or of no contest where the election has several), an
 * outcome the rules do not give. Accepting such a log
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

/*
 * The slot a leaf is reconciled in: its precinct in its contest. A leaf
 * stored before contests were kept names none (""), which means the
 * election's only contest; in an election of several it cannot be placed.
 * 0 with *ret_slot, or -EINVAL with err naming the leaf.
 */
static int leaf_slot(const struct tally_election *e, const struct agg_leaf_rec *l, size_t *ret_slot,
                     struct tally_err *err)
{
	const char *cid = l->contest ? l->contest : "";
	int64_t pi = tally_election_precinct_index(e, l->precinct);
	if (pi < 0)
		return tally_err_set(err, -EINVAL,
		                     "log leaf %" PRIu64 " names precinct %" PRIu32
		                     ", which is not in this election",
		                     l->leaf_index, l->precinct);
	int ci = tally_election_contest_index(e, cid);
	if (ci < 0 && cid[0] == '\0')
		return tally_err_set(
		    err, -EINVAL,
		    "log leaf %" PRIu64 " (precinct %" PRIu32
		    ") names no contest, as leaves stored before contests were kept "
		    "do, but this election has %zu contests",
		    l->leaf_index, l->precinct, e->n_contests);
	if (ci < 0)
		return tally_err_set(err, -EINVAL,
		                     "log leaf %" PRIu64 " (precinct %" PRIu32
		                     ") names contest '%s', which is not in this election",
		                     l->leaf_index, l->precinct, cid);
	int64_t slot = tally_election_slot(e, (size_t)ci, (size_t)pi);
	if (slot < 0)
		return tally_err_set(err, -EINVAL,
		                     "log leaf %" PRIu64 " names precinct %" PRIu32
		                     " in contest '%s', which it does not vote in",
		                     l->leaf_index, l->precinct, cid);
	*ret_slot = (size_t)slot;
	return 0;
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
	size_t slot = 0;
	int r = leaf_slot(t->election, l, &slot, c->err);
	if (r < 0)
		return r;
	size_t stride = tally_totals_slot_stride(t, slot);
	if (l->n_figures != stride)
		return tally_err_set(c->err, -EINVAL,
		                     "log leaf %" PRIu64 " (precinct %" PRIu32 ") has %zu figures; "
		                     "this election's results have %zu",
		                     l->leaf_index, l->precinct, l->n_figures, stride);
	/* Decided before anything is applied, so a refused leaf changes nothing. */
	o = tally_totals_decide(t, slot, l->revision, l->payload_hash);
	if (o != l->outcome)
		return tally_err_set(
		    c->err, -EUCLEAN,
		    "log leaf %" PRIu64 " (precinct %" PRIu32 "%s%s%s revision %" PRIu32
		    ") is stored as %s, but the rules make it %s",
		    l->leaf_index, l->precinct, t->election->n_contests > 1 ? " contest '" : "",
		    t->election->n_contests > 1 ? l->contest : "",
		    t->election->n_contests > 1 ? "'" : "", l->revision,
		    tally_outcome_str(l->outcome), tally_outcome_str(o));
	r = tally_totals_apply_figures(t, slot, l->revision, l->payload_hash,
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
	uint32_t total, reported;
	tally_totals_precincts(a->totals, SIZE_MAX, &total, &reported);
	log_info("recovered %" PRIu64 " log leaves, %" PRIu32 "/%" PRIu32
	         " precincts reported%s, in %.3f s",
	         tally_merkle_size(a->merkle), reported, total,
	         a->election->n_contests > 1 ? " (every contest in)" : "",
	         (double)(uv_hrtime() - t0) / 1e9);
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
