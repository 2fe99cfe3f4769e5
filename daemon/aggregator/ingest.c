/*
 * ingest.c: group commit. Verified items are taken off the queue in arrival
 * order as one batch, decided (accepted, duplicate, stale, conflict) on top
 * of the committed totals without changing them (tally/pending.h), written
 * with the log leaves they make in ONE transaction, and only once that
 * transaction is committed applied to the totals and the Merkle tree and
 * answered. Everything verified meanwhile joins the next batch, so under
 * load a batch grows to what arrived during one commit.
 *
 * With SQLite the transaction runs on the committer thread (committer.c)
 * while the loop goes on with TLS, verification and HTTP; one batch at a
 * time, so the totals, the Merkle tree and the published snapshot only
 * ever hold committed results. With a shared store (PostgreSQL) the batch
 * runs on the loop, because it first catches up on other instances inside
 * the transaction (follow.c).
 *
 * Failure: if the store refuses the batch (disk full, I/O error), the
 * transaction is rolled back, nothing is acknowledged, the daemon is marked
 * degraded (/healthz, STATUS) and the same items are tried again every
 * commit_retry seconds, decided afresh.
 *
 * A commit only marks the totals snapshot stale; it is rebuilt (and the
 * commit observers run) when /v1/totals is asked for or INGEST_PUBLISH_MS
 * later, whichever comes first.
 *
 * Items are reconciled per slot (their contest in their precinct, as
 * verify.c resolved it), so a duplicate, correction or conflict in one
 * contest never touches another contest of the same precinct.
 *
 * It owns the item queue and the batch; the answers leave through the
 * sink (ingest.h), which knows the connections by id; the store owns its
 * SQL, replay.c the rebuilding of the totals from it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "committer.h"
#include "follow.h"
#include "ingest.h"
#include "replay.h"
#include "store.h"
#include "tally/codec.h"
#include "tally/log.h"
#include "tally/merkle.h"
#include "tally/pending.h"

/* The batch being written: off the queue, owned by the committer thread
 * from committer_run() until on_written(). */
struct ingest_batch {
	struct agg_item *head; /* arrival order, NULL-terminated */
	size_t n, n_rejected;
	struct agg_store *store;
	const struct tally_election *election; /* each leaf's stride is its contest's */
	bool begun;                            /* the loop began the transaction (shared store) */
	uint64_t t0;
	uint64_t prev_seq; /* totals->sequence before the batch (and any catch-up) */
};

struct ingest {
	struct aggregator *a;
	struct ingest_sink sink;
	uv_check_t check;            /* runs a batch after the loop's I/O phase */
	uv_timer_t retry;            /* re-arms after a failed commit */
	uv_timer_t publish;          /* rebuilds a snapshot commits left stale */
	struct committer *committer; /* NULL: batches run on the loop */
	struct tally_pending *pending;
	struct ingest_batch batch;
	struct agg_item *head, *tail;   /* waiting, arrival order */
	size_t n_items;                 /* waiting and in the batch */
	bool blocked;                   /* waiting for the retry timer */
	struct tally_log_limit notices; /* rejected, conflict and stale lines */
	unsigned closing;               /* handles still to close */
};

struct agg_item *agg_item_new(uint64_t session_id, uint64_t seq, struct tally_signed_result *sr)
{
	struct agg_item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->session_id = session_id;
	it->seq = seq;
	it->read_ns = uv_hrtime();
	it->received_ms = agg_now_ms();
	it->leaf_index = -1;
	it->sr = *sr;
	memset(sr, 0, sizeof(*sr)); /* the payload is ours now */
	return it;
}

void agg_item_free(struct agg_item *it)
{
	if (!it)
		return;
	tally_signed_result_clear(&it->sr);
	free(it->reason);
	free(it->leaf);
	free(it);
}

static void on_check(uv_check_t *h);
static void on_retry(uv_timer_t *t);
static void on_publish(uv_timer_t *t);

/* How a->degraded_reason starts while batches fail to commit, and while
 * the totals cannot be rebuilt from the store. */
#define COMMIT_FAILED  "store commit failed"
#define REBUILD_FAILED "store does not replay"

/* Longest a commit stays unpublished when nobody asks for /v1/totals. */
#define INGEST_PUBLISH_MS 100

int ingest_new(struct aggregator *a, const struct ingest_sink *sink, struct ingest **ret)
{
	struct ingest *g = calloc(1, sizeof(*g));
	int r;
	if (!g)
		return -ENOMEM;
	g->a = a;
	g->sink = *sink;
	if ((r = tally_pending_new(&g->pending)) < 0 ||
	    (agg_store_writes_off_loop(a->store) &&
	     (r = committer_new(a->loop, &g->committer)) < 0)) {
		tally_pending_free(g->pending);
		free(g);
		return r;
	}
	tally_pending_set_conflict_limit(g->pending, a->conf.max_conflict_copies);
	uv_check_init(a->loop, &g->check);
	uv_timer_init(a->loop, &g->retry);
	uv_timer_init(a->loop, &g->publish);
	g->check.data = g;
	g->retry.data = g;
	g->publish.data = g;
	uv_check_start(&g->check, on_check);
	/* The check handle must not keep the loop alive on its own. */
	uv_unref((uv_handle_t *)&g->check);
	*ret = g;
	return 0;
}

void ingest_enqueue(struct ingest *g, struct agg_item *it)
{
	it->next = NULL;
	if (g->tail)
		g->tail->next = it;
	else
		g->head = it;
	g->tail = it;
	g->n_items++;
}

size_t ingest_pending(const struct ingest *g)
{
	return g->n_items;
}

/*
 * " contest=ID" for log lines and reasons in an election of several
 * contests (quoted when it came from outside and was refused), else "":
 * an election of one contest keeps the lines it always had.
 */
static const char *contest_label(const struct aggregator *a, const struct agg_item *it,
                                 char buf[TALLY_ID_MAX + 16])
{
	if (a->election->n_contests < 2)
		return "";
	if (it->code != TALLY_REJECT_NONE)
		snprintf(buf, TALLY_ID_MAX + 16, " contest='%s'", it->contest_id);
	else
		snprintf(buf, TALLY_ID_MAX + 16, " contest=%s",
		         a->election->contests[it->contest].id);
	return buf;
}

/*
 * A distinct conflicting copy past max_conflict_copies: refused with a
 * Nack and stored as a rejected submission, never a log leaf, so a region
 * that signs endless variants of one revision cannot grow the log, the
 * per-slot state or the batches that touch it. The cap is per slot: one
 * contest's copies never count against another's.
 */
static void refuse_copy(struct ingest *g, struct agg_item *it)
{
	char why[TALLY_REASON_MAX], label[TALLY_ID_MAX + 16];
	snprintf(why, sizeof(why),
	         "precinct %" PRIu32 "%s revision %" PRIu32 " already has %" PRIu32
	         " conflicting copies (max_conflict_copies); this one is stored but not logged "
	         "or counted: send a higher revision to settle the conflict",
	         it->precinct, contest_label(g->a, it, label), it->revision,
	         g->a->conf.max_conflict_copies);
	it->code = TALLY_REJECT_CONFLICT_LIMIT;
	free(it->reason);
	it->reason = strdup(why); /* NULL on ENOMEM: the Nack then carries only the code */
}

/*
 * Decides what each item of the batch becomes, on top of the committed
 * totals, without changing them; logged items get the next leaf indexes.
 */
static int decide_batch(struct ingest *g)
{
	struct aggregator *a = g->a;
	int64_t next = (int64_t)a->totals->sequence;
	int r;
	tally_pending_reset(g->pending);
	g->batch.n_rejected = 0;
	for (struct agg_item *it = g->batch.head; it; it = it->next) {
		it->outcome = TALLY_OUTCOME_UNSPECIFIED;
		it->leaf_index = -1;
		/* A refusal of an earlier try is decided afresh: the precinct may
		 * have moved on (verification never gives this code). */
		if (it->code == TALLY_REJECT_CONFLICT_LIMIT) {
			it->code = TALLY_REJECT_NONE;
			free(it->reason);
			it->reason = NULL;
		}
		if (it->code == TALLY_REJECT_NONE) {
			r = tally_pending_decide(g->pending, a->totals, it->slot, it->revision,
			                         it->payload_hash, next, &it->outcome);
			if (r == -EDQUOT)
				refuse_copy(g, it);
			else if (r < 0)
				return r;
			else if (it->outcome == TALLY_OUTCOME_ACCEPTED ||
			         it->outcome == TALLY_OUTCOME_CONFLICT)
				it->leaf_index = next++;
		}
		g->batch.n_rejected += it->code != TALLY_REJECT_NONE;
	}
	return 0;
}

/*
 * Stores one decided item inside the open transaction: a submission with
 * the contest its payload names, a leaf with the contest it was counted
 * in (the same, "" resolved to the only contest).
 */
static int store_item(struct agg_store *st, const struct tally_election *e,
                      const struct agg_item *it)
{
	struct agg_submission_rec rec = {
	    .received_ms = it->received_ms,
	    .peer_region = it->peer_region,
	    .peer_node = it->peer_node,
	    .seq = it->seq,
	    .precinct = it->precinct,
	    .contest = it->contest_id,
	    .revision = it->revision,
	    .outcome = it->outcome,
	    .code = it->code,
	    .reason = it->reason ? it->reason : "",
	    .leaf_index = it->leaf_index,
	    .signed_bytes = it->leaf,
	    .signed_len = it->leaf_len,
	};
	int r;
	if (it->leaf_index >= 0) {
		struct agg_leaf_rec leaf = {
		    .leaf_index = (uint64_t)it->leaf_index,
		    .precinct = it->precinct,
		    .contest = e->contests[it->contest].id,
		    .revision = it->revision,
		    .outcome = it->outcome,
		    .payload_hash = it->payload_hash,
		    .leaf_hash = it->leaf_hash,
		    .figures = it->figures,
		    .n_figures = TALLY_TOTALS_FIXED_FIGURES + e->contests[it->contest].n_options,
		    .leaf = it->leaf,
		    .leaf_len = it->leaf_len,
		};
		rec.signed_bytes = NULL; /* the log row holds them */
		rec.signed_len = 0;
		if ((r = agg_store_put_leaf(st, &leaf)) < 0)
			return r;
	}
	return agg_store_put_submission(st, &rec);
}

/*
 * Writes the decided batch in one transaction: on the committer thread
 * (it touches only the store and the batch's items, which the loop leaves
 * alone until called back) or, for a shared store, on the loop inside the
 * transaction run_batch() began.
 */
static int write_batch(struct ingest_batch *b)
{
	int r = 0;
	if (!b->begun && (r = agg_store_begin(b->store)) < 0)
		return r;
	for (const struct agg_item *it = b->head; it; it = it->next)
		if ((r = store_item(b->store, b->election, it)) < 0)
			goto fail;
	if ((r = agg_store_commit(b->store)) < 0)
		goto fail;
	return 0;
fail:
	agg_store_rollback(b->store);
	return r;
}

/* The committer thread's job: g->batch only. */
static int write_job(void *arg)
{
	struct ingest *g = arg;
	return write_batch(&g->batch);
}

/* Lines a second for the outcomes a node can cause at will (rejections,
 * conflicts, stale copies); the rest are counted in /metrics only. */
#define INGEST_NOTICES_PER_S 50

/* Whether the next notice about an outcome may be logged. */
static bool notice_passes(struct ingest *g)
{
	uint64_t held = 0;
	if (!tally_log_limit_pass(&g->notices, uv_now(g->a->loop), INGEST_NOTICES_PER_S, &held))
		return false;
	if (held)
		log_notice("%" PRIu64
		           " more rejections, conflicts and stale copies were not logged "
		           "(over %d a second; all are counted in /metrics)",
		           held, INGEST_NOTICES_PER_S);
	return true;
}

/* Tells the item's session what became of it, after the commit. */
static void answer(struct ingest *g, struct agg_item *it, uint64_t now_ns)
{
	struct aggregator *a = g->a;
	struct tally_msg m;
	char label[TALLY_ID_MAX + 16];
	memset(&m, 0, sizeof(m));
	m.seq = it->seq;
	if (it->code != TALLY_REJECT_NONE) {
		struct agg_rejection rej = {
		    .time_ms = it->received_ms, .precinct = it->precinct, .code = it->code};
		m.type = TALLY_MSG_NACK;
		m.code = it->code;
		snprintf(m.reason, sizeof(m.reason), "%s", it->reason ? it->reason : "");
		snprintf(rej.region, sizeof(rej.region), "%s", it->peer_region);
		snprintf(rej.contest, sizeof(rej.contest), "%s", it->contest_id);
		snprintf(rej.reason, sizeof(rej.reason), "%s", m.reason);
		agg_stats_add_rejection(&a->stats, &rej);
		a->stats.rejects[it->code]++;
		int ri = aggregator_region_index(a, it->peer_region);
		if (ri >= 0 && a->stats.rejects_by_region)
			a->stats
			    .rejects_by_region[(size_t)ri * TALLY_REJECT_CODE_COUNT + it->code]++;
		if (notice_passes(g))
			log_notice("rejected region=%s node='%s' seq=%" PRIu64 " precinct=%" PRIu32
			           "%s code=%s: %s",
			           it->peer_region, it->peer_node, it->seq, it->precinct,
			           contest_label(a, it, label), tally_reject_code_str(it->code),
			           m.reason);
	} else {
		m.type = TALLY_MSG_ACK;
		m.outcome = it->outcome;
		a->stats.outcomes[it->outcome]++;
		if (it->outcome == TALLY_OUTCOME_CONFLICT || it->outcome == TALLY_OUTCOME_STALE) {
			if (notice_passes(g))
				log_notice("%s region=%s node='%s' seq=%" PRIu64
				           " precinct=%" PRIu32 "%s revision=%" PRIu32,
				           tally_outcome_str(it->outcome), it->peer_region,
				           it->peer_node, it->seq, it->precinct,
				           contest_label(a, it, label), it->revision);
		} else {
			log_debug("%s region=%s seq=%" PRIu64 " precinct=%" PRIu32
			          "%s revision=%" PRIu32,
			          tally_outcome_str(it->outcome), it->peer_region, it->seq,
			          it->precinct, contest_label(a, it, label), it->revision);
		}
	}
	/* Gone (closed, or closing): the node resends on its next connection. */
	if (g->sink.answer(g->sink.data, it->session_id, &m))
		agg_histogram_observe(&a->stats.ack_latency, (double)(now_ns - it->read_ns) / 1e9);
}

static void enter_degraded(struct ingest *g, const char *why)
{
	struct aggregator *a = g->a;
	bool was = a->degraded;
	a->degraded = true;
	snprintf(a->degraded_reason, sizeof(a->degraded_reason), COMMIT_FAILED ": %.200s", why);
	a->stats.commit_failures++;
	if (!was)
		log_err("%s; %zu results held unacknowledged, retrying every %" PRIu32 " s",
		        a->degraded_reason, g->n_items, a->conf.commit_retry);
	else
		log_warning("%s; still holding %zu results, retrying in %" PRIu32 " s",
		            a->degraded_reason, g->n_items, a->conf.commit_retry);
	aggregator_status(a);
}

/*
 * The committed batch enters the totals and the Merkle tree, in order, as
 * decided. A different outcome or no memory leaves them out of step with
 * the store: they are then rebuilt from it before anything else.
 */
static void apply_batch(struct ingest *g)
{
	struct aggregator *a = g->a;
	for (struct agg_item *it = g->batch.head; it; it = it->next) {
		if (it->code != TALLY_REJECT_NONE)
			continue;
		enum tally_outcome o;
		char label[TALLY_ID_MAX + 16];
		int r =
		    tally_totals_apply_figures(a->totals, it->slot, it->revision, it->payload_hash,
		                               it->leaf_index, it->figures, &o);
		if (r == 0 && o != it->outcome) {
			log_err("precinct %" PRIu32 "%s revision %" PRIu32 " was stored as %s but "
			        "applies as %s; rebuilding the totals from the store",
			        it->precinct, contest_label(a, it, label), it->revision,
			        tally_outcome_str(it->outcome), tally_outcome_str(o));
			r = -EPROTO;
		}
		if (r == 0 && it->leaf_index >= 0)
			r = tally_merkle_append(a->merkle, it->leaf_hash);
		if (r < 0) {
			if (r == -ENOMEM)
				log_err("out of memory applying a committed batch; rebuilding the "
				        "totals from the store");
			a->out_of_step = true;
			g->blocked = true;
			uv_timer_start(&g->retry, on_retry, 0, 0);
			return;
		}
	}
}

/*
 * Marks the snapshot stale if the sequence moved since the batch began: by
 * the batch itself or, on a shared store, by other instances' leaves caught
 * up on inside its transaction (even when the batch itself failed or
 * logged nothing). Published lazily: by the next /v1/totals request or the
 * timer, whichever comes first, once for all batches committed meanwhile.
 */
static void mark_changed(struct ingest *g)
{
	struct aggregator *a = g->a;
	uint64_t prev = g->batch.prev_seq;
	if (a->totals->sequence == prev)
		return;
	struct agg_commit c = {.previous_sequence = prev,
	                       .sequence = a->totals->sequence,
	                       .n_submissions = g->batch.n,
	                       .n_rejected = g->batch.n_rejected,
	                       .n_logged = a->totals->sequence - prev};
	aggregator_snapshot_mark(a, &c);
	if (!uv_is_active((uv_handle_t *)&g->publish))
		uv_timer_start(&g->publish, on_publish, INGEST_PUBLISH_MS, 0);
}

/* The batch is committed: into the totals, answered, published, released. */
static void finish_batch(struct ingest *g, uint64_t t1)
{
	struct aggregator *a = g->a;
	agg_histogram_observe(&a->stats.commit_latency, (double)(t1 - g->batch.t0) / 1e9);
	a->stats.commits++;
	/* Only our own mark: a lost database is follow.c's to clear. */
	if (a->degraded &&
	    strncmp(a->degraded_reason, COMMIT_FAILED, sizeof(COMMIT_FAILED) - 1) == 0) {
		a->degraded = false;
		a->degraded_reason[0] = '\0';
		log_notice("store commits again; acknowledging resumes");
	}
	apply_batch(g);
	for (struct agg_item *it = g->batch.head; it;) {
		struct agg_item *next = it->next;
		answer(g, it, t1);
		agg_item_free(it);
		g->n_items--;
		it = next;
	}
	g->sink.flush(g->sink.data);
	mark_changed(g);
}

/*
 * The batch failed before or at its commit: nothing of it is acknowledged.
 * Its items go back to the front of the queue, to be decided afresh on the
 * next try, commit_retry seconds later.
 */
static void fail_batch(struct ingest *g, int r)
{
	struct aggregator *a = g->a;
	char why[TALLY_REASON_MAX];
	snprintf(why, sizeof(why), "%s", r == -ENOMEM ? "out of memory" : a->store->last_error);
	struct agg_item *last = g->batch.head;
	while (last && last->next)
		last = last->next;
	if (last) {
		last->next = g->head;
		g->head = g->batch.head;
		if (!g->tail)
			g->tail = last;
	}
	if (!agg_store_writes_off_loop(a->store)) {
		/* A shared store's catch-up may have half applied a leaf of
		 * another instance: rebuild from what the store holds. */
		struct tally_err err = {{0}};
		if (replay_rebuild(a, &err) < 0) {
			a->out_of_step = true;
			log_err("%s", err.msg);
		} else {
			g->batch.n = g->batch.n_rejected = 0; /* none of ours committed */
			mark_changed(g);
		}
	}
	g->blocked = true;
	uv_timer_start(&g->retry, on_retry, (uint64_t)a->conf.commit_retry * 1000u, 0);
	enter_degraded(g, why);
}

/* Back on the loop once the batch was written (or not). */
static void on_written(void *arg, int r)
{
	struct ingest *g = arg;
	uint64_t t1 = uv_hrtime();
	if (r < 0)
		fail_batch(g, r);
	else
		finish_batch(g, t1);
	memset(&g->batch, 0, sizeof(g->batch));
}

/* One batch: the prefix of verified items, taken off the queue. */
static void run_batch(struct ingest *g)
{
	struct aggregator *a = g->a;
	struct ingest_batch *b = &g->batch;
	struct agg_item *last = NULL, *end = g->head;
	int r;

	memset(b, 0, sizeof(*b));
	while (end && end->verified) {
		b->n++;
		last = end;
		end = end->next;
	}
	if (!last)
		return;
	b->head = g->head;
	last->next = NULL;
	g->head = end;
	if (!end)
		g->tail = NULL;
	b->store = a->store;
	b->election = a->election;
	b->t0 = uv_hrtime();
	b->prev_seq = a->totals->sequence;

	if (g->committer) {
		if ((r = decide_batch(g)) < 0 ||
		    (r = committer_run(g->committer, write_job, on_written, g)) < 0)
			on_written(g, r);
		return;
	}
	/* A shared store: begin, then apply what other instances logged
	 * meanwhile, all before deciding, on the loop. */
	if ((r = agg_store_begin(a->store)) < 0) {
		on_written(g, r);
		return;
	}
	b->begun = true;
	if ((r = follow_catch_up(a)) < 0 || (r = decide_batch(g)) < 0) {
		agg_store_rollback(a->store);
		on_written(g, r);
		return;
	}
	on_written(g, write_batch(b));
}

static void on_check(uv_check_t *h)
{
	struct ingest *g = h->data;
	if (g->blocked || g->batch.head)
		return;
	if (g->a->out_of_step) {
		/* Set elsewhere (follow.c): rebuild before deciding anything. */
		g->blocked = true;
		uv_timer_start(&g->retry, on_retry, 0, 0);
		return;
	}
	if (!g->head || !g->head->verified)
		return;
	run_batch(g);
}

/* Nothing is acknowledged until the totals are back in step: say so in
 * /healthz and STATUS, as for a failing commit. */
static void mark_rebuild(struct aggregator *a, const char *why)
{
	bool mine = strncmp(a->degraded_reason, REBUILD_FAILED, sizeof(REBUILD_FAILED) - 1) == 0;
	if (why && !a->degraded) {
		a->degraded = true;
		snprintf(a->degraded_reason, sizeof(a->degraded_reason), REBUILD_FAILED ": %.200s",
		         why);
		aggregator_status(a);
	} else if (!why && a->degraded && mine) {
		a->degraded = false;
		a->degraded_reason[0] = '\0';
		log_notice("totals rebuilt from the store; acknowledging resumes");
		aggregator_status(a);
	}
}

static void on_retry(uv_timer_t *t)
{
	struct ingest *g = t->data;
	if (g->a->out_of_step) {
		struct tally_err err = {{0}};
		if (replay_rebuild(g->a, &err) < 0) {
			log_err("%s; retrying in %" PRIu32 " s", err.msg, g->a->conf.commit_retry);
			mark_rebuild(g->a, err.msg);
			uv_timer_start(&g->retry, on_retry,
			               (uint64_t)g->a->conf.commit_retry * 1000u, 0);
			return;
		}
		g->a->out_of_step = false;
		mark_rebuild(g->a, NULL);
	}
	g->blocked = false;
	if (!g->batch.head && g->head && g->head->verified)
		run_batch(g);
}

static void on_publish(uv_timer_t *t)
{
	struct ingest *g = t->data;
	struct aggregator *a = g->a;
	if (aggregator_snapshot_publish(a) < 0)
		log_warning("out of memory refreshing the totals snapshot; /v1/totals stays at "
		            "sequence %" PRIu64 ", retrying in %d ms",
		            a->snapshot ? a->snapshot->sequence : 0, INGEST_PUBLISH_MS);
	/* Still stale (no memory, or waiting for a rebuild after a failed
	 * commit): come back. */
	if (a->snapshot_dirty && !a->stopping)
		uv_timer_start(&g->publish, on_publish, INGEST_PUBLISH_MS, 0);
}

static void on_closed(uv_handle_t *h)
{
	struct ingest *g = h->data;
	if (--g->closing == 0)
		free(g);
}

void ingest_close(struct ingest *g)
{
	if (!g)
		return;
	/* A batch being written finishes first (committed or not), unanswered:
	 * its nodes send it again and hear DUPLICATE if it was committed. */
	committer_close(g->committer);
	g->committer = NULL;
	while (g->batch.head) {
		struct agg_item *next = g->batch.head->next;
		agg_item_free(g->batch.head);
		g->batch.head = next;
	}
	tally_pending_free(g->pending);
	g->pending = NULL;
	while (g->head) {
		struct agg_item *next = g->head->next;
		agg_item_free(g->head);
		g->head = next;
	}
	g->tail = NULL;
	g->n_items = 0;
	g->closing = 3;
	uv_close((uv_handle_t *)&g->check, on_closed);
	uv_close((uv_handle_t *)&g->retry, on_closed);
	uv_close((uv_handle_t *)&g->publish, on_closed);
}
