/*
 * test_ingest.c: group commit on a real loop (agg_fixture.h), with a fake
 * sink in place of the sessions. Answers go back by session id once their
 * batch is committed; a session that is gone while its results are in the
 * verify pool or in the committer gets nothing, and the results are stored
 * and counted all the same; an aggregator marked out of step is rebuilt
 * from the store before the next batch.
 */
#include <criterion/criterion.h>

#include "agg_fixture.h"
#include "verify.h"

#define MAX_ANSWERS 64

/* Stands in for session.c: records every answer, refuses gone ids. */
struct fake_sink {
	uint64_t gone[4];
	size_t n_gone;
	struct {
		uint64_t session_id;
		struct tally_msg m;
	} got[MAX_ANSWERS];
	size_t n_got;
	size_t dropped; /* answers for gone sessions */
	size_t flushes;
	size_t answers_at_flush; /* n_got at the last flush */
};

static bool fake_answer(void *data, uint64_t session_id, const struct tally_msg *m)
{
	struct fake_sink *k = data;
	for (size_t i = 0; i < k->n_gone; i++)
		if (k->gone[i] == session_id) {
			k->dropped++;
			return false;
		}
	cr_assert_lt(k->n_got, MAX_ANSWERS);
	k->got[k->n_got].session_id = session_id;
	k->got[k->n_got].m = *m;
	k->n_got++;
	return true;
}

static void fake_flush(void *data)
{
	struct fake_sink *k = data;
	k->flushes++;
	k->answers_at_flush = k->n_got;
}

static struct agg_fx fx;
static struct fake_sink sink;

static void setup(void)
{
	memset(&sink, 0, sizeof(sink));
	agg_fx_init(&fx, "KZ-10");
	struct ingest_sink s = {.answer = fake_answer, .flush = fake_flush, .data = &sink};
	cr_assert_eq(ingest_new(&fx.a, &s, &fx.a.ingest), 0);
}

static void teardown(void)
{
	agg_fx_close(&fx);
}

/* Queues one Submit of session_id for precinct index pi, as session.c does. */
static struct agg_item *submit(uint64_t session_id, uint64_t seq, size_t pi, uint32_t revision,
                               uint64_t recorded)
{
	struct tally_result r;
	struct tally_signed_result sr;
	agg_fx_result(&fx, pi, revision, recorded, &r);
	agg_fx_sign(&fx, &r, &sr);
	struct agg_item *it = agg_item_new(session_id, seq, &sr);
	cr_assert_not_null(it);
	cr_assert_null(sr.payload, "the item took the payload over");
	snprintf(it->peer_region, sizeof(it->peer_region), "%s", fx.a.election->regions[0].id);
	snprintf(it->peer_node, sizeof(it->peer_node), "node-%llu", (unsigned long long)session_id);
	ingest_enqueue(fx.a.ingest, it);
	return it;
}

/* Hands everything queued by submit() since the last call to verification. */
static void verify_all(struct agg_item **items, size_t n)
{
	cr_assert_eq(verify_submit(&fx.a, items, n), 0);
}

static bool drained(void)
{
	return verify_pending() == 0 && ingest_pending(fx.a.ingest) == 0;
}

Test(ingest, answers_go_back_by_session_id_after_the_commit, .init = setup, .fini = teardown)
{
	struct agg_item *items[5];
	/* Session 11 sends precincts 0..2, session 12 precincts 3..4. */
	for (size_t i = 0; i < 3; i++)
		items[i] = submit(11, 100 + i, i, 1, 1);
	for (size_t i = 3; i < 5; i++)
		items[i] = submit(12, 200 + i, i, 1, 1);
	cr_assert_eq(ingest_pending(fx.a.ingest), 5);
	verify_all(items, 5);
	cr_assert_eq(sink.n_got, 0, "nothing is answered before the commit");

	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(sink.n_got, 5);
	cr_assert_eq(sink.dropped, 0);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(sink.got[i].session_id, i < 3 ? 11u : 12u);
		cr_assert_eq(sink.got[i].m.seq, (i < 3 ? 100 : 200) + i);
		cr_assert_eq(sink.got[i].m.type, TALLY_MSG_ACK);
		cr_assert_eq(sink.got[i].m.outcome, TALLY_OUTCOME_ACCEPTED);
	}
	/* One flush after the answers of a batch, none before. */
	cr_assert_geq(sink.flushes, 1);
	cr_assert_eq(sink.answers_at_flush, 5);
	cr_assert_eq(fx.a.totals->sequence, 5);
	cr_assert_eq(fx.a.totals->contests[0].national.precincts_reported, 5);
	cr_assert_eq(fx.a.stats.outcomes[TALLY_OUTCOME_ACCEPTED], 5);
	cr_assert_eq(fx.a.stats.ack_latency.count, 5);
	cr_assert_eq(agg_fx_submissions(&fx), 5);
}

Test(ingest, nack_carries_the_code_and_reason_to_the_session, .init = setup, .fini = teardown)
{
	struct agg_item *items[1];
	items[0] = submit(11, 7, 0, 1, 1);
	items[0]->sr.signature[0] ^= 1;
	verify_all(items, 1);
	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(sink.n_got, 1);
	cr_assert_eq(sink.got[0].session_id, 11);
	cr_assert_eq(sink.got[0].m.type, TALLY_MSG_NACK);
	cr_assert_eq(sink.got[0].m.seq, 7);
	cr_assert_eq(sink.got[0].m.code, TALLY_REJECT_BAD_SIGNATURE);
	cr_assert_not_null(strstr(sink.got[0].m.reason, "does not verify"), "%s",
	                   sink.got[0].m.reason);
	cr_assert_eq(fx.a.totals->sequence, 0);
	cr_assert_eq(agg_fx_submissions(&fx), 1, "a rejected Submit is stored too");
}

Test(ingest, session_gone_while_its_results_are_in_the_verify_pool, .init = setup, .fini = teardown)
{
	struct agg_item *items[4];
	items[0] = submit(11, 1, 0, 1, 1);
	items[1] = submit(12, 1, 1, 1, 1);
	items[2] = submit(11, 2, 2, 1, 1);
	items[3] = submit(12, 2, 3, 1, 1);
	verify_all(items, 4);
	cr_assert_eq(verify_pending(), 1, "one job on the pool");
	/* Session 11 closes while its results are being verified. */
	sink.gone[sink.n_gone++] = 11;

	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(sink.dropped, 2);
	cr_assert_eq(sink.n_got, 2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(sink.got[i].session_id, 12);
		cr_assert_eq(sink.got[i].m.seq, i + 1);
		cr_assert_eq(sink.got[i].m.outcome, TALLY_OUTCOME_ACCEPTED);
	}
	/* Its results are committed and counted all the same: the node
	 * resends them and hears DUPLICATE. */
	cr_assert_eq(fx.a.totals->sequence, 4);
	cr_assert_eq(fx.a.stats.outcomes[TALLY_OUTCOME_ACCEPTED], 4);
	cr_assert_eq(fx.a.stats.ack_latency.count, 2, "only delivered answers are timed");
	cr_assert_eq(agg_fx_submissions(&fx), 4);
}

Test(ingest, session_gone_while_its_batch_is_in_the_committer, .init = setup, .fini = teardown)
{
	struct agg_item *items[3];
	agg_fx_block_store(&fx);
	items[0] = submit(11, 1, 0, 1, 1);
	items[1] = submit(12, 1, 1, 1, 1);
	items[2] = submit(11, 2, 2, 1, 1);
	verify_all(items, 3);
	/* Verified: the same loop turn hands the batch to the committer,
	 * which waits for the store's lock. */
	AGG_FX_RUN_UNTIL(&fx, verify_pending() == 0);
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	cr_assert_eq(ingest_pending(fx.a.ingest), 3);
	cr_assert_eq(fx.a.totals->sequence, 0);
	sink.gone[sink.n_gone++] = 11;
	agg_fx_release_store(&fx);

	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(sink.dropped, 2);
	cr_assert_eq(sink.n_got, 1);
	cr_assert_eq(sink.got[0].session_id, 12);
	cr_assert_eq(sink.got[0].m.outcome, TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(fx.a.totals->sequence, 3);
	cr_assert_eq(agg_fx_submissions(&fx), 3);
}

Test(ingest, out_of_step_totals_are_rebuilt_from_the_store_first, .init = setup, .fini = teardown)
{
	struct agg_item *items[2];
	items[0] = submit(11, 1, 0, 1, 1);
	items[1] = submit(11, 2, 1, 1, 1);
	verify_all(items, 2);
	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(fx.a.totals->sequence, 2);
	cr_assert_eq(aggregator_snapshot_publish(&fx.a), 0);
	cr_assert_eq(fx.a.snapshot->sequence, 2);

	/* Something (follow.c, a batch that did not apply) lost track: the
	 * in-memory totals no longer match the store. */
	struct tally_totals *lost = NULL;
	cr_assert_eq(tally_totals_new(fx.a.election, &lost), 0);
	tally_totals_free(fx.a.totals);
	fx.a.totals = lost;
	fx.a.out_of_step = true;
	struct agg_commit c = {.previous_sequence = 2, .sequence = 0};
	aggregator_snapshot_mark(&fx.a, &c);
	cr_assert_eq(aggregator_snapshot_publish(&fx.a), 0);
	cr_assert_eq(fx.a.snapshot->sequence, 2, "nothing is published while out of step");

	/* The next result is decided on the rebuilt totals: a resend of
	 * precinct 0 is a duplicate, not a new acceptance. */
	items[0] = submit(11, 3, 0, 1, 1);
	verify_all(items, 1);
	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(fx.a.out_of_step, false);
	cr_assert_eq(fx.a.totals->sequence, 2);
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 2);
	cr_assert_eq(sink.n_got, 3);
	cr_assert_eq(sink.got[2].m.outcome, TALLY_OUTCOME_DUPLICATE);
}

Test(ingest, a_store_that_does_not_replay_stops_acknowledging_until_it_does, .init = setup,
     .fini = teardown)
{
	struct agg_item *items[2];
	items[0] = submit(11, 1, 0, 1, 1);
	items[1] = submit(11, 2, 1, 1, 1);
	verify_all(items, 2);
	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(sink.n_got, 2);

	/* Out of step, and the store lost leaf 0 meanwhile. */
	agg_fx_sql(&fx, "CREATE TABLE saved AS SELECT * FROM log WHERE leaf_index = 0;"
	                "DELETE FROM log WHERE leaf_index = 0");
	fx.a.out_of_step = true;
	items[0] = submit(11, 3, 2, 1, 1);
	verify_all(items, 1);
	AGG_FX_RUN_UNTIL(&fx, fx.a.degraded);
	cr_assert_eq(strncmp(fx.a.degraded_reason, "store does not replay: ", 23), 0, "%s",
	             fx.a.degraded_reason);
	cr_assert_not_null(
	    strstr(fx.a.degraded_reason,
	           "log leaf 0 is missing from the store (the next stored leaf is 1)"),
	    "%s", fx.a.degraded_reason);
	cr_assert_eq(sink.n_got, 2, "nothing is acknowledged on a log that does not replay");
	cr_assert_eq(ingest_pending(fx.a.ingest), 1);

	/* The row is back: the next retry rebuilds, and the result is answered. */
	agg_fx_sql(&fx, "INSERT INTO log SELECT * FROM saved");
	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(fx.a.degraded, false);
	cr_assert_eq(fx.a.out_of_step, false);
	cr_assert_eq(sink.n_got, 3);
	cr_assert_eq(sink.got[2].m.seq, 3);
	cr_assert_eq(sink.got[2].m.outcome, TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(fx.a.totals->sequence, 3);
}

static void setup_capped(void)
{
	memset(&sink, 0, sizeof(sink));
	agg_fx_init(&fx, "KZ-10");
	fx.a.conf.max_conflict_copies = 2;
	struct ingest_sink s = {.answer = fake_answer, .flush = fake_flush, .data = &sink};
	cr_assert_eq(ingest_new(&fx.a, &s, &fx.a.ingest), 0);
}

static uint64_t log_rows(void)
{
	uint64_t n = 0;
	cr_assert_eq(agg_store_leaf_count(agg_store_reader(fx.a.store), &n), 0);
	return n;
}

Test(ingest, conflicting_copies_past_the_cap_are_nacked_stored_and_not_logged, .init = setup_capped,
     .fini = teardown)
{
	struct agg_item *items[4];
	/* One batch: the counted copy, two conflicting copies, one too many
	 * (copies differ only in recorded_at_ms). */
	for (uint64_t k = 1; k <= 4; k++)
		items[k - 1] = submit(11, k, 0, 1, k);
	verify_all(items, 4);
	AGG_FX_RUN_UNTIL(&fx, drained());
	/* The next batch, against the committed state: a held copy is a
	 * duplicate, the refused one is refused again, and so is a new one. */
	items[0] = submit(11, 5, 0, 1, 2);
	items[1] = submit(11, 6, 0, 1, 4);
	items[2] = submit(11, 7, 0, 1, 5);
	verify_all(items, 3);
	AGG_FX_RUN_UNTIL(&fx, drained());

	cr_assert_eq(sink.n_got, 7);
	enum tally_outcome want[7] = {TALLY_OUTCOME_ACCEPTED,
	                              TALLY_OUTCOME_CONFLICT,
	                              TALLY_OUTCOME_CONFLICT,
	                              0,
	                              TALLY_OUTCOME_DUPLICATE,
	                              0,
	                              0};
	for (size_t i = 0; i < 7; i++) {
		cr_assert_eq(sink.got[i].m.seq, i + 1);
		if (want[i]) {
			cr_assert_eq(sink.got[i].m.type, TALLY_MSG_ACK, "seq %zu", i + 1);
			cr_assert_eq(sink.got[i].m.outcome, want[i], "seq %zu", i + 1);
			continue;
		}
		cr_assert_eq(sink.got[i].m.type, TALLY_MSG_NACK, "seq %zu", i + 1);
		cr_assert_eq(sink.got[i].m.code, TALLY_REJECT_CONFLICT_LIMIT);
		cr_assert_str_eq(
		    sink.got[i].m.reason,
		    "precinct 1001 revision 1 already has 2 conflicting copies "
		    "(max_conflict_copies); this one is stored but not logged or counted: "
		    "send a higher revision to settle the conflict");
	}
	cr_assert_eq(fx.a.totals->sequence, 3);
	cr_assert_eq(log_rows(), 3);
	cr_assert_eq(fx.a.totals->slots[0].n_conflicts, 2);
	cr_assert_eq(fx.a.totals->contests[0].national.conflicts, 1);
	cr_assert_eq(fx.a.stats.rejects[TALLY_REJECT_CONFLICT_LIMIT], 3);
	cr_assert_eq(agg_fx_submissions(&fx), 7, "every copy is stored");

	/* A higher revision settles it and the count starts again. */
	items[0] = submit(11, 8, 0, 2, 1);
	items[1] = submit(11, 9, 0, 2, 2);
	verify_all(items, 2);
	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(sink.got[7].m.outcome, TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(sink.got[8].m.outcome, TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(fx.a.totals->sequence, 5);
}

/* ---- an election of several contests ---- */

static void setup_general(void)
{
	memset(&sink, 0, sizeof(sink));
	agg_fx_init_election(&fx, agg_fx_general_election());
	fx.a.conf.max_conflict_copies = 1;
	struct ingest_sink s = {.answer = fake_answer, .flush = fake_flush, .data = &sink};
	cr_assert_eq(ingest_new(&fx.a, &s, &fx.a.ingest), 0);
}

static struct agg_item *submit_contest(uint64_t seq, size_t pi, const char *contest,
                                       uint32_t revision, uint64_t recorded)
{
	struct tally_result r;
	struct tally_signed_result sr;
	agg_fx_contest_result(&fx, pi, contest, revision, recorded, &r);
	agg_fx_sign(&fx, &r, &sr);
	struct agg_item *it = agg_item_new(11, seq, &sr);
	cr_assert_not_null(it);
	snprintf(it->peer_region, sizeof(it->peer_region), "KZ-10");
	snprintf(it->peer_node, sizeof(it->peer_node), "node-11");
	ingest_enqueue(fx.a.ingest, it);
	return it;
}

/* Runs the items through verification and one or more batches. */
static void run(struct agg_item **items, size_t n)
{
	verify_all(items, n);
	AGG_FX_RUN_UNTIL(&fx, drained());
}

/* The store's rows of one table as "contest:outcome-or-code" lines, in id order. */
static void rows(const char *sql, char *ret, size_t cap)
{
	char path[96];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t o = 0;
	snprintf(path, sizeof(path), "%s/tally.db", fx.dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	ret[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW)
		o += (size_t)snprintf(ret + o, cap - o, "%s%s:%lld", o ? " " : "",
		                      (const char *)sqlite3_column_text(st, 0),
		                      (long long)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

Test(ingest, each_contest_of_a_precinct_is_reconciled_apart, .init = setup_general,
     .fini = teardown)
{
	struct agg_item *items[8];
	/* Precinct 1 (index 0) votes in both contests: one of each. */
	items[0] = submit_contest(1, 0, "list", 1, 1);
	items[1] = submit_contest(2, 0, "dist", 1, 1);
	run(items, 2);
	/* The list's duplicate, the district's correction, a conflicting
	 * copy of the list, and a conflicting copy of the district's new
	 * revision: each touches its own contest only. */
	items[0] = submit_contest(3, 0, "list", 1, 1);
	items[1] = submit_contest(4, 0, "dist", 2, 1);
	items[2] = submit_contest(5, 0, "list", 1, 2);
	items[3] = submit_contest(6, 0, "dist", 2, 2);
	/* The cap (1 copy) is per slot: a second copy of the list is refused,
	 * while the district still took its first. */
	items[4] = submit_contest(7, 0, "list", 1, 3);
	run(items, 5);

	cr_assert_eq(sink.n_got, 7);
	static const int want[7] = {TALLY_OUTCOME_ACCEPTED,
	                            TALLY_OUTCOME_ACCEPTED,
	                            TALLY_OUTCOME_DUPLICATE,
	                            TALLY_OUTCOME_ACCEPTED,
	                            TALLY_OUTCOME_CONFLICT,
	                            TALLY_OUTCOME_CONFLICT,
	                            -1};
	for (size_t i = 0; i < 7; i++) {
		cr_assert_eq(sink.got[i].m.seq, i + 1);
		if (want[i] < 0) {
			cr_assert_eq(sink.got[i].m.type, TALLY_MSG_NACK);
			cr_assert_eq(sink.got[i].m.code, TALLY_REJECT_CONFLICT_LIMIT);
			cr_assert_str_eq(
			    sink.got[i].m.reason,
			    "precinct 1 contest=list revision 1 already has 1 conflicting "
			    "copies (max_conflict_copies); this one is stored but not "
			    "logged or counted: send a higher revision to settle the "
			    "conflict");
			continue;
		}
		cr_assert_eq(sink.got[i].m.type, TALLY_MSG_ACK, "seq %zu", i + 1);
		cr_assert_eq((int)sink.got[i].m.outcome, want[i], "seq %zu", i + 1);
	}
	const struct tally_election *e = fx.a.election;
	const struct tally_totals *t = fx.a.totals;
	const struct tally_slot_state *list = tally_totals_state(t, 0, 0);
	const struct tally_slot_state *dist = tally_totals_state(t, 1, 0);
	cr_assert_eq(list->revision, 1);
	cr_assert_eq(list->n_conflicts, 1);
	cr_assert_eq(list->leaf_index, 0);
	cr_assert_eq(dist->revision, 2);
	cr_assert_eq(dist->n_conflicts, 1);
	cr_assert_eq(dist->leaf_index, 2);
	cr_assert_eq(t->sequence, 5);
	/* Figures: each contest counts its own options. */
	cr_assert_eq(t->contests[0].national.precincts_reported, 1);
	cr_assert_eq(t->contests[0].national.votes[0], 300);
	cr_assert_eq(t->contests[0].national.conflicts, 1);
	cr_assert_eq(t->contests[1].national.precincts_reported, 1);
	cr_assert_eq(t->contests[1].national.votes[1], 280);
	cr_assert_eq(t->contests[1].national.conflicts, 1);
	cr_assert_eq(t->contests[1].districts[0].precincts_reported, 1);
	cr_assert_str_eq(e->contests[1].id, "dist");

	/* Leaves carry the contest they were counted in; submissions the one
	 * their payload names. */
	char got[512];
	rows("SELECT contest, outcome FROM log ORDER BY leaf_index", got, sizeof(got));
	cr_assert_str_eq(got, "list:1 dist:1 dist:1 list:4 dist:4");
	rows("SELECT contest, reject_code FROM submissions ORDER BY id", got, sizeof(got));
	cr_assert_str_eq(got, "list:0 dist:0 list:0 dist:0 list:0 dist:0 list:8");
	/* The store replays to the same state. */
	struct tally_err err = {{0}};
	uint8_t before[TALLY_HASH_BYTES], after[TALLY_HASH_BYTES];
	tally_totals_digest(fx.a.totals, before);
	cr_assert_eq(replay_rebuild(&fx.a, &err), 0, "%s", err.msg);
	tally_totals_digest(fx.a.totals, after);
	cr_assert_eq(memcmp(before, after, sizeof(before)), 0);
	cr_assert_eq(tally_totals_state(fx.a.totals, 1, 0)->n_conflicts, 1);
}

Test(ingest, unknown_contest_and_not_in_contest_are_nacked, .init = setup_general, .fini = teardown)
{
	struct agg_item *items[3];
	items[0] = submit_contest(1, 0, "mayor", 1, 1); /* no such contest */
	items[1] = submit_contest(2, 5, "dist", 1, 1);  /* precinct 6 is not in district D */
	items[2] = submit_contest(3, 0, "", 1, 1);      /* empty in an election of two */
	run(items, 3);
	cr_assert_eq(sink.n_got, 3);
	cr_assert_eq(sink.got[0].m.type, TALLY_MSG_NACK);
	cr_assert_eq(sink.got[0].m.code, TALLY_REJECT_UNKNOWN_CONTEST);
	cr_assert_eq(sink.got[1].m.code, TALLY_REJECT_NOT_IN_CONTEST);
	cr_assert_eq(sink.got[2].m.code, TALLY_REJECT_UNKNOWN_CONTEST);
	cr_assert_eq(fx.a.totals->sequence, 0);
	char got[256];
	rows("SELECT contest, reject_code FROM submissions ORDER BY id", got, sizeof(got));
	cr_assert_str_eq(got, "mayor:9 dist:10 :9");
	struct agg_rejection rej[3];
	cr_assert_eq(aggregator_recent_rejections(&fx.a, rej, 3), 3);
	cr_assert_str_eq(rej[0].contest, "");
	cr_assert_str_eq(rej[1].contest, "dist");
	cr_assert_str_eq(rej[2].contest, "mayor");
}
