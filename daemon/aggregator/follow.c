/*
 * follow.c: several aggregator instances, one election. When the store is
 * shared (PostgreSQL), other instances append to the same log; this file
 * applies their leaves to this instance's totals and Merkle tree, in leaf
 * order and with replay.c's checks, so every instance publishes the same
 * totals and tree heads:
 *  - inside each batch, under the store's log lock, before the batch is
 *    reconciled (follow_catch_up(), called by ingest), so a duplicate stays
 *    a duplicate and a conflict is found whichever instance got the first
 *    copy;
 *  - between batches, when the store reports another instance's commit
 *    (LISTEN/NOTIFY) or the periodic nudge, then the snapshot is refreshed
 *    and the commit observers run as after a batch of our own.
 * It also marks the daemon degraded while the store says the database is
 * unreachable, and clears that when it returns. The replay is replay.c's;
 * the SQL is the store's; the batch is ingest's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "follow.h"
#include "replay.h"
#include "store.h"
#include "tally/log.h"
#include "tally/merkle.h"

#define LOST_PREFIX "database unreachable"

/* One aggregator per process: the module's state. */
static struct {
	bool watching;
	bool marked; /* a->degraded was set here, for the lost database */
} fl;

int follow_catch_up(struct aggregator *a)
{
	uint64_t n = 0, have = tally_merkle_size(a->merkle);
	uint64_t published = a->snapshot ? a->snapshot->sequence : 0;
	int r = agg_store_log_size(a->store, &n);
	if (r == -ENOTSUP)
		return 0; /* this process is the only writer */
	if (r < 0)
		return r;
	if (n < have || n < published) {
		snprintf(a->store->last_error, sizeof(a->store->last_error),
		         "the database's log has %" PRIu64 " leaves, fewer than the %" PRIu64
		         " this instance published: it lost committed results (a failover to a "
		         "standby that was behind?); restore it, then restart the instances",
		         n, published > have ? published : have);
		return -ESTALE;
	}
	if (n == have)
		return 0;
	/* The same replay and checks as at start-up: every instance
	 * reconciles by the same rules against the same log under one lock,
	 * so a leaf that does not replay means this instance's state or the
	 * database is off (a rebuild tells which). */
	struct tally_err err = {{0}};
	r = replay_apply(a->store, n, a->totals, a->merkle, &err);
	if (r < 0) {
		snprintf(a->store->last_error, sizeof(a->store->last_error), "%.255s", err.msg);
		return r;
	}
	log_debug("follow: applied %" PRIu64 " log leaves from other instances, tree size %" PRIu64,
	          n - have, n);
	return 0;
}

static void mark_lost(struct aggregator *a, const char *why)
{
	if (a->degraded)
		return; /* ingest already says why nothing is acknowledged */
	a->degraded = true;
	fl.marked = true;
	snprintf(a->degraded_reason, sizeof(a->degraded_reason), LOST_PREFIX ": %.200s", why);
	log_err("%s; not acknowledging results until it is back", a->degraded_reason);
	aggregator_status(a);
}

static void clear_lost(struct aggregator *a)
{
	if (!fl.marked)
		return;
	fl.marked = false;
	if (!a->degraded || strncmp(a->degraded_reason, LOST_PREFIX, strlen(LOST_PREFIX)) != 0)
		return;
	a->degraded = false;
	a->degraded_reason[0] = '\0';
	log_notice("database reachable again; acknowledging resumes");
	aggregator_status(a);
}

/* Between batches: apply what other instances committed, then publish. */
static void catch_up_now(struct aggregator *a)
{
	uint64_t prev = a->totals->sequence;
	struct tally_err err = {{0}};
	int r = follow_catch_up(a);
	if (r == -ESTALE) {
		if (!a->degraded) {
			a->degraded = true;
			snprintf(a->degraded_reason, sizeof(a->degraded_reason), "%s",
			         a->store->last_error);
			log_err("%s", a->degraded_reason);
			aggregator_status(a);
		}
		return;
	}
	if (r == -EUCLEAN || r == -EINVAL ||
	    (r < 0 && a->totals->sequence != tally_merkle_size(a->merkle))) {
		/* A leaf refused or half applied: rebuild everything from the
		 * store, which also tells whether the store itself is at fault. */
		log_err("follow: %s; rebuilding totals from the store", a->store->last_error);
		if (replay_rebuild(a, &err) < 0) {
			/* ingest tries again before its next batch. */
			a->out_of_step = true;
			log_err("follow: %s", err.msg);
			return;
		}
	} else if (r < 0) {
		log_warning("follow: catching up on other instances: %s; trying again on the "
		            "next notice",
		            a->store->last_error);
	}
	if (a->totals->sequence == prev)
		return;
	if (aggregator_snapshot_refresh(a) < 0) {
		log_warning("out of memory refreshing the totals snapshot; /v1/totals stays at "
		            "sequence %" PRIu64,
		            a->snapshot ? a->snapshot->sequence : 0);
		return;
	}
	struct agg_commit c = {.previous_sequence = prev,
	                       .sequence = a->totals->sequence,
	                       .n_logged = a->totals->sequence - prev};
	aggregator_notify_commit(a, &c);
}

static void on_store(struct agg_store *s, int status, void *data)
{
	struct aggregator *a = data;
	if (status < 0) {
		mark_lost(a, s->last_error);
		return;
	}
	clear_lost(a);
	/* After a failed batch ingest rebuilds from the store itself. */
	if (a->stopping || a->out_of_step)
		return;
	catch_up_now(a);
}

int follow_start(struct aggregator *a)
{
	int r = agg_store_watch(a->store, a->loop, on_store, a);
	if (r == -ENOTSUP)
		return 0;
	if (r < 0)
		return r;
	fl.watching = true;
	if (!a->conf.log_key)
		log_warning("[log] key is not set: this instance signs tree heads with its own key "
		            "from state_dir; give every instance that shares the database the same "
		            "key file, so observers check every head with one key");
	log_info("follow: the store is shared; applying other instances' commits as they come");
	return 0;
}

void follow_stop(struct aggregator *a)
{
	if (!fl.watching)
		return;
	fl.watching = false;
	agg_store_unwatch(a->store);
}
