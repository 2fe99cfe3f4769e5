/*
 * agg_fixture.h: an aggregator on a real libuv loop for the event-loop unit
 * tests of its modules (test_ingest.c, test_session.c, test_replay.c): an
 * election of one region with AGG_FX_PRECINCTS precincts, that region's
 * signing key among the trusted keys, a SQLite store in a throwaway folder
 * (batches on the committer thread, as in the daemon), totals and tree
 * recovered from it. A ticking timer keeps the loop turning while a test
 * waits for the thread pool or the committer (AGG_FX_RUN_UNTIL). Closing
 * asserts uv_loop_close() == 0: every handle a module opened was closed.
 */
#ifndef TALLY_TEST_AGG_FIXTURE_H
#define TALLY_TEST_AGG_FIXTURE_H

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "aggregator.h"
#include "election_fixture.h"
#include "ingest.h"
#include "replay.h"
#include "session.h"
#include "store.h"
#include "tally/codec.h"
#include "tally/keyring.h"
#include "tally/merkle.h"
#include "tally/sign.h"

#define AGG_FX_PRECINCTS 8

struct agg_fx {
	uv_loop_t loop;
	uv_timer_t tick;
	struct aggregator a;
	char dir[64];  /* state_dir, with the trusted keys in dir/keys */
	char keys[80]; /* dir/keys */
	struct tally_signing_key key;
	sqlite3 *blocker; /* agg_fx_block_store() */
};

static inline void agg_fx_on_tick(uv_timer_t *t)
{
	(void)t;
}

/*
 * A general election for the same aggregator: one region KZ-10 of
 * AGG_FX_PRECINCTS precincts (ids 1..8), a national party list "list"
 * (options a, b) and a candidate race "dist" in district D (precincts
 * 1..4; options x, y).
 */
static inline struct tally_election *agg_fx_general_election(void)
{
	static const char json[] =
	    "{\"election_id\": \"gen-fx\", \"title\": \"G\", \"regions\": [{\"id\": \"KZ-10\","
	    " \"name\": \"R\", \"precincts\": [[1, 1000], [2, 1000], [3, 1000], [4, 1000],"
	    " [5, 1000], [6, 1000], [7, 1000], [8, 1000]]}],"
	    " \"districts\": [{\"id\": \"D\", \"precincts\": [1, 2, 3, 4]}],"
	    " \"contests\": [{\"id\": \"list\", \"kind\": \"party_list\", \"seats\": 3,"
	    "  \"rules\": {\"method\": \"hare\"}, \"options\": [{\"id\": \"a\"}, {\"id\": \"b\"}]},"
	    " {\"id\": \"dist\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D\"},"
	    "  \"options\": [{\"id\": \"x\"}, {\"id\": \"y\"}]}]}";
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(json, sizeof(json) - 1, &e, &err), 0, "%s", err.msg);
	return e;
}

static inline void agg_fx_init_election(struct agg_fx *f, struct tally_election *e);

/* An aggregator whose one region is region_id, its store recovered. */
static inline void agg_fx_init(struct agg_fx *f, const char *region_id)
{
	struct tally_election *e = mk_election(1, AGG_FX_PRECINCTS, 1000, 0);
	snprintf(e->regions[0].id, sizeof(e->regions[0].id), "%s", region_id);
	agg_fx_init_election(f, e);
}

/* The same for election e (taken over), signed for by its first region. */
static inline void agg_fx_init_election(struct agg_fx *f, struct tally_election *e)
{
	struct aggregator *a = &f->a;
	struct tally_err err = {{0}};
	char path[160];
	char *pem = NULL;
	const char *region_id = e->regions[0].id;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(tally_sign_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tally-agg-fx-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->dir);
	cr_assert_eq(mkdir(f->keys, 0700), 0);

	a->election = e;
	cr_assert_eq(tally_sign_generate(&f->key), 0);
	cr_assert_eq(tally_sign_public_to_pem(&f->key.pub, &pem), 0);
	snprintf(path, sizeof(path), "%s/%s.pem", f->keys, region_id);
	FILE *out = fopen(path, "w");
	cr_assert_not_null(out);
	fputs(pem, out);
	fclose(out);
	free(pem);
	a->keys = calloc(1, sizeof(*a->keys));
	cr_assert_not_null(a->keys);
	a->keys->refs = 1;
	cr_assert_eq(tally_keyring_load(f->keys, &a->keys->ring, &err), 0, "%s", err.msg);

	a->conf.id = "agg";
	a->conf.state_dir = f->dir;
	a->conf.max_frame_bytes = 65536;
	a->conf.max_sessions = 64;
	a->conf.max_inflight = 4096;
	a->conf.write_queue_bytes = 4u << 20;
	a->conf.handshake_timeout = 10;
	a->conf.idle_timeout = 120;
	a->conf.commit_retry = 1;
	a->conf.max_conflict_copies = 8;

	cr_assert_eq(uv_loop_init(&f->loop), 0);
	a->loop = &f->loop;
	uv_timer_init(&f->loop, &f->tick);
	uv_timer_start(&f->tick, agg_fx_on_tick, 2, 2);
	a->stats.sessions_by_region = calloc(a->election->n_regions + 1, sizeof(uint32_t));
	cr_assert_not_null(a->stats.sessions_by_region);
	cr_assert_eq(agg_store_sqlite_open(f->dir, a->election->election_id, &a->store, &err), 0,
	             "%s", err.msg);
	cr_assert_eq(replay_rebuild(a, &err), 0, "%s", err.msg);
	cr_assert_eq(aggregator_snapshot_refresh(a), 0);
}

/* Turns the loop until expr holds (at most 30 s). */
#define AGG_FX_RUN_UNTIL(f, expr)                                                                  \
	do {                                                                                       \
		uint64_t t0_ = uv_hrtime();                                                        \
		while (!(expr)) {                                                                  \
			cr_assert_lt(uv_hrtime() - t0_, 30000000000ull, "waited 30 s for %s",      \
			             #expr);                                                       \
			uv_run(&(f)->loop, UV_RUN_ONCE);                                           \
		}                                                                                  \
	} while (0)

/* A valid result for the precinct at index pi, told apart by recorded_at_ms. */
static inline void agg_fx_result(const struct agg_fx *f, size_t pi, uint32_t revision,
                                 uint64_t recorded, struct tally_result *r)
{
	const struct tally_election *e = f->a.election;
	memset(r, 0, sizeof(*r));
	snprintf(r->election_id, sizeof(r->election_id), "%s", e->election_id);
	snprintf(r->region_id, sizeof(r->region_id), "%s", e->regions[0].id);
	r->precinct_id = e->precincts[pi].id;
	r->revision = revision;
	r->voters_registered = 1000;
	r->ballots_issued = 600;
	r->ballots_cancelled = 10;
	r->ballots_received = 610;
	r->ballots_cast = 590;
	r->ballots_invalid = 7;
	r->ballots_not_counted = 3;
	r->n_votes = 2;
	strcpy(r->votes[0].option_id, "yes");
	strcpy(r->votes[1].option_id, "no");
	r->votes[0].count = 300 + (uint32_t)pi;
	r->votes[1].count = 280 - (uint32_t)pi;
	r->recorded_at_ms = recorded;
}

/*
 * A valid result of contest contest_id (an election of contests) for the
 * precinct at index pi: the contest's first option 300 + pi votes, its
 * second 280 - pi, told apart by recorded_at_ms.
 */
static inline void agg_fx_contest_result(const struct agg_fx *f, size_t pi, const char *contest_id,
                                         uint32_t revision, uint64_t recorded,
                                         struct tally_result *r)
{
	const struct tally_election *e = f->a.election;
	int ci = tally_election_contest_index(e, contest_id);
	agg_fx_result(f, pi, revision, recorded, r);
	snprintf(r->contest_id, sizeof(r->contest_id), "%s", contest_id);
	if (ci < 0)
		return; /* a contest the election does not have: the votes stay yes/no */
	for (size_t i = 0; i < 2; i++)
		snprintf(r->votes[i].option_id, sizeof(r->votes[i].option_id), "%s",
		         e->contests[ci].options[i].id);
}

/* r signed with the region's key, as a node sends it. */
static inline void agg_fx_sign(const struct agg_fx *f, const struct tally_result *r,
                               struct tally_signed_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	cr_assert_eq(tally_codec_encode_result(r, &ret->payload, &ret->payload_len), 0);
	tally_sign_sign(&f->key, ret->payload, ret->payload_len, ret->signature);
	ret->signature_len = TALLY_SIG_BYTES;
	snprintf(ret->key_id, sizeof(ret->key_id), "%s", f->key.pub.key_id);
}

/* Holds the store's write lock from another connection: batches wait in
 * the committer (BEGIN IMMEDIATE, up to the store's 5 s busy timeout)
 * until agg_fx_release_store(). */
static inline void agg_fx_block_store(struct agg_fx *f)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/tally.db", f->dir);
	cr_assert_eq(sqlite3_open(path, &f->blocker), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(f->blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static inline void agg_fx_release_store(struct agg_fx *f)
{
	cr_assert_eq(sqlite3_exec(f->blocker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(f->blocker);
	f->blocker = NULL;
}

/* Runs sql on the store behind the daemon's back, as a person or a
 * damaged disk would. */
static inline void agg_fx_sql(struct agg_fx *f, const char *sql)
{
	char path[96];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/tally.db", f->dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static inline uint64_t agg_fx_submissions(struct agg_fx *f)
{
	uint64_t n = 0;
	cr_assert_eq(agg_store_submission_count(agg_store_reader(f->a.store), &n), 0);
	return n;
}

/* Closes what the test opened (ingest included), runs the loop out and
 * checks that no handle is left. */
static inline void agg_fx_close(struct agg_fx *f)
{
	struct aggregator *a = &f->a;
	char cmd[128];

	if (f->blocker)
		agg_fx_release_store(f);
	ingest_close(a->ingest);
	a->ingest = NULL;
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&f->loop), 0, "handles left open on the loop");
	session_table_free(a);
	SSL_CTX_free(a->tls);
	aggregator_snapshot_free(a);
	agg_store_close(a->store);
	tally_merkle_free(a->merkle);
	tally_totals_free(a->totals);
	free(a->stats.sessions_by_region);
	agg_keys_unref(a->keys);
	free_election(a->election);
	tally_sign_key_wipe(&f->key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	cr_assert_eq(system(cmd), 0);
}

#endif
