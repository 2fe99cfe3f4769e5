/*
 * test_replay.c: the one replay of the log (replay.c) over a real SQLite
 * store (agg_fixture.h). An intact log rebuilds exact totals and tree; a
 * log with a missing row, a changed outcome or a leaf of another election
 * is refused with the leaf named, leaving the daemon's state as it was;
 * following applies leaves from where the tree stands and refuses leaves
 * the store says it has but cannot produce.
 */
#include <criterion/criterion.h>

#include "agg_fixture.h"

static struct agg_fx fx;

static void setup(void)
{
	agg_fx_init(&fx, "KZ-10");
}

static void teardown(void)
{
	agg_fx_close(&fx);
}

/* Leaf i: precinct index pi, revision 1, payload hash byte h. */
static void put_leaf(uint64_t i, size_t pi, uint8_t h, enum tally_outcome o, uint32_t cast)
{
	struct agg_store *s = fx.a.store;
	uint8_t ph[TALLY_HASH_BYTES], lh[TALLY_HASH_BYTES], leaf[16];
	uint32_t fig[6] = {1000, cast, 7, 3, cast - 10 - 100, 100};
	memset(ph, h, sizeof(ph));
	memset(lh, (int)(0x80 + i), sizeof(lh));
	memset(leaf, h, sizeof(leaf));
	struct agg_leaf_rec l = {.leaf_index = i,
	                         .precinct = fx.a.election->precincts[pi].id,
	                         .revision = 1,
	                         .outcome = o,
	                         .payload_hash = ph,
	                         .leaf_hash = lh,
	                         .figures = fig,
	                         .n_figures = 6,
	                         .leaf = leaf,
	                         .leaf_len = sizeof(leaf)};
	cr_assert_eq(agg_store_put_leaf(s, &l), 0, "%s", s->last_error);
}

/* Four leaves: precincts 0, 1, 2 accepted (cast 500, 510, 520), then a
 * conflicting copy of precinct 1. */
static void write_log(void)
{
	struct agg_store *s = fx.a.store;
	cr_assert_eq(agg_store_begin(s), 0);
	put_leaf(0, 0, 0x10, TALLY_OUTCOME_ACCEPTED, 500);
	put_leaf(1, 1, 0x11, TALLY_OUTCOME_ACCEPTED, 510);
	put_leaf(2, 2, 0x12, TALLY_OUTCOME_ACCEPTED, 520);
	put_leaf(3, 1, 0x21, TALLY_OUTCOME_CONFLICT, 999);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
}

Test(replay, rebuilds_exact_totals_and_tree_from_every_leaf, .init = setup, .fini = teardown)
{
	struct tally_err err = {{0}};
	write_log();
	cr_assert_eq(replay_rebuild(&fx.a, &err), 0, "%s", err.msg);
	cr_assert_eq(fx.a.totals->sequence, 4);
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 4);
	cr_assert_eq(fx.a.totals->contests[0].national.precincts_reported, 3);
	cr_assert_eq(fx.a.totals->contests[0].national.conflicts, 1);
	cr_assert_eq(fx.a.totals->contests[0].national.ballots_cast, 1530,
	             "the conflict is not counted");
	cr_assert_eq(fx.a.totals->contests[0].national.votes[1], 300);
	cr_assert_eq(fx.a.totals->slots[1].n_conflicts, 1);
}

Test(replay, refuses_a_missing_row_naming_the_leaf, .init = setup, .fini = teardown)
{
	struct tally_err err = {{0}};
	write_log();
	agg_fx_sql(&fx, "DELETE FROM log WHERE leaf_index = 2");
	struct tally_totals *before = fx.a.totals;
	cr_assert_eq(replay_rebuild(&fx.a, &err), -EUCLEAN);
	cr_assert_not_null(strstr(err.msg, "log leaf 2 is missing from the store (the next stored "
	                                   "leaf is 3)"),
	                   "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "restore it from a backup"), "%s", err.msg);
	cr_assert_eq(fx.a.totals, before, "the state is left as it was");
	cr_assert_eq(fx.a.totals->sequence, 0);
}

Test(replay, refuses_an_outcome_the_rules_do_not_reproduce, .init = setup, .fini = teardown)
{
	struct tally_err err = {{0}};
	write_log();
	/* Precinct 1002's first copy made a conflict: it can only be accepted. */
	agg_fx_sql(&fx, "UPDATE log SET outcome = 4 WHERE leaf_index = 1");
	cr_assert_eq(replay_rebuild(&fx.a, &err), -EUCLEAN);
	cr_assert_not_null(strstr(err.msg, "log leaf 1 (precinct 1002 revision 1) is stored as "
	                                   "conflict, but the rules make it accepted"),
	                   "%s", err.msg);
	cr_assert_eq(fx.a.totals->sequence, 0);
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 0);
}

Test(replay, refuses_a_leaf_of_another_election, .init = setup, .fini = teardown)
{
	struct tally_err err = {{0}};
	write_log();
	agg_fx_sql(&fx, "UPDATE log SET precinct = 4242 WHERE leaf_index = 3");
	cr_assert_eq(replay_rebuild(&fx.a, &err), -EINVAL);
	cr_assert_not_null(
	    strstr(err.msg, "log leaf 3 names precinct 4242, which is not in this election"), "%s",
	    err.msg);
	cr_assert_not_null(strstr(err.msg, "Is `election` the definition"), "%s", err.msg);
}

Test(replay, follows_from_where_the_tree_stands, .init = setup, .fini = teardown)
{
	struct tally_err err = {{0}};
	struct agg_store *s = fx.a.store;
	cr_assert_eq(agg_store_begin(s), 0);
	put_leaf(0, 0, 0x10, TALLY_OUTCOME_ACCEPTED, 500);
	put_leaf(1, 1, 0x11, TALLY_OUTCOME_ACCEPTED, 510);
	cr_assert_eq(agg_store_commit(s), 0);
	cr_assert_eq(replay_apply(s, 2, fx.a.totals, fx.a.merkle, &err), 0, "%s", err.msg);
	cr_assert_eq(fx.a.totals->sequence, 2);

	cr_assert_eq(agg_store_begin(s), 0);
	put_leaf(2, 2, 0x12, TALLY_OUTCOME_ACCEPTED, 520);
	put_leaf(3, 1, 0x21, TALLY_OUTCOME_CONFLICT, 999);
	cr_assert_eq(agg_store_commit(s), 0);
	/* Only leaves 2 and 3 are read and applied. */
	cr_assert_eq(replay_apply(s, 4, fx.a.totals, fx.a.merkle, &err), 0, "%s", err.msg);
	cr_assert_eq(fx.a.totals->sequence, 4);
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 4);
	cr_assert_eq(fx.a.totals->contests[0].national.ballots_cast, 1530);

	/* A store that says it holds 6 leaves but has 4. */
	cr_assert_eq(replay_apply(s, 6, fx.a.totals, fx.a.merkle, &err), -EUCLEAN);
	cr_assert_str_eq(err.msg, "log leaves 4..5 are missing from the store, which says its log "
	                          "holds 6");
	cr_assert_eq(fx.a.totals->sequence, 4);
}

Test(replay, a_refused_leaf_changes_nothing_of_the_state, .init = setup, .fini = teardown)
{
	struct tally_err err = {{0}};
	write_log();
	agg_fx_sql(&fx, "UPDATE log SET outcome = 1 WHERE leaf_index = 3");
	/* Leaves 0..2 apply; leaf 3 (a conflict stored as accepted) is refused
	 * before it touches precinct 1002's state. */
	cr_assert_eq(replay_apply(fx.a.store, UINT64_MAX, fx.a.totals, fx.a.merkle, &err),
	             -EUCLEAN);
	cr_assert_not_null(strstr(err.msg, "log leaf 3 (precinct 1002 revision 1) is stored as "
	                                   "accepted, but the rules make it conflict"),
	                   "%s", err.msg);
	cr_assert_eq(fx.a.totals->sequence, 3);
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 3);
	cr_assert_eq(fx.a.totals->contests[0].national.conflicts, 0);
	cr_assert_eq(fx.a.totals->slots[1].n_conflicts, 0);
}

/* ---- an election of several contests ---- */

static void setup_general(void)
{
	agg_fx_init_election(&fx, agg_fx_general_election());
}

static void put_contest_leaf(uint64_t i, size_t pi, const char *contest, uint8_t h)
{
	struct agg_store *s = fx.a.store;
	uint8_t ph[TALLY_HASH_BYTES], lh[TALLY_HASH_BYTES], leaf[16];
	uint32_t fig[6] = {1000, 500, 7, 3, 290, 200};
	memset(ph, h, sizeof(ph));
	memset(lh, (int)(0x80 + i), sizeof(lh));
	memset(leaf, h, sizeof(leaf));
	struct agg_leaf_rec l = {.leaf_index = i,
	                         .precinct = fx.a.election->precincts[pi].id,
	                         .contest = contest,
	                         .revision = 1,
	                         .outcome = TALLY_OUTCOME_ACCEPTED,
	                         .payload_hash = ph,
	                         .leaf_hash = lh,
	                         .figures = fig,
	                         .n_figures = 6,
	                         .leaf = leaf,
	                         .leaf_len = sizeof(leaf)};
	cr_assert_eq(agg_store_put_leaf(s, &l), 0, "%s", s->last_error);
}

Test(replay, places_each_leaf_in_its_contest, .init = setup_general, .fini = teardown)
{
	struct tally_err err = {{0}};
	cr_assert_eq(agg_store_begin(fx.a.store), 0);
	put_contest_leaf(0, 0, "list", 0x10);
	put_contest_leaf(1, 0, "dist", 0x11);
	put_contest_leaf(2, 7, "list", 0x12);
	cr_assert_eq(agg_store_commit(fx.a.store), 0);
	cr_assert_eq(replay_rebuild(&fx.a, &err), 0, "%s", err.msg);
	cr_assert_eq(fx.a.totals->contests[0].national.precincts_reported, 2);
	cr_assert_eq(fx.a.totals->contests[1].national.precincts_reported, 1);
	cr_assert_eq(tally_totals_state(fx.a.totals, 1, 0)->leaf_index, 1);
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 3);
}

Test(replay, refuses_a_leaf_of_no_contest_in_an_election_of_several, .init = setup_general,
     .fini = teardown)
{
	struct tally_err err = {{0}};
	cr_assert_eq(agg_store_begin(fx.a.store), 0);
	put_contest_leaf(0, 0, "list", 0x10);
	put_contest_leaf(1, 1, "", 0x11);
	cr_assert_eq(agg_store_commit(fx.a.store), 0);
	cr_assert_eq(replay_rebuild(&fx.a, &err), -EINVAL);
	cr_assert_str_eq(err.msg,
	                 "replaying the store's log: log leaf 1 (precinct 2) names no contest, as "
	                 "leaves stored before contests were kept do, but this election has 2 "
	                 "contests. Is `election` the definition this store was made for?");
	cr_assert_eq(tally_merkle_size(fx.a.merkle), 0, "the daemon's state is left as it was");
}

Test(replay, refuses_a_leaf_of_a_contest_its_precinct_does_not_vote_in, .init = setup_general,
     .fini = teardown)
{
	struct tally_err err = {{0}};
	cr_assert_eq(agg_store_begin(fx.a.store), 0);
	put_contest_leaf(0, 6, "dist", 0x10);
	cr_assert_eq(agg_store_commit(fx.a.store), 0);
	cr_assert_eq(replay_rebuild(&fx.a, &err), -EINVAL);
	cr_assert(strstr(err.msg, "log leaf 0 names precinct 7 in contest 'dist', which it does "
	                          "not vote in"),
	          "%s", err.msg);
}
