/*
 * test_store_sqlite.c: the SQLite store. Batches commit as a whole or not
 * at all, also when the process dies in the middle of a transaction (a
 * child killed with SIGKILL); leaves are gapless; a store refuses another
 * election; history and leaves read back what was written, with each
 * row's contest, and a history page is one index range, of every contest
 * or of one. A store written by the version before contests were kept
 * (tests/data/store-v1, and the old schema kept below) is migrated on
 * open, in one transaction that a failure in the middle undoes whole: its
 * rows read back with contest "", and new rows go on after them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tally-store-test-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static struct agg_store *open_store(const char *election)
{
	struct agg_store *s = NULL;
	struct tally_err err = {{0}};
	int r = agg_store_sqlite_open(dir, election, &s, &err);
	cr_assert_eq(r, 0, "open: %s", err.msg);
	return s;
}

static void put_contest(struct agg_store *s, uint64_t leaf, uint32_t precinct, const char *contest)
{
	uint8_t h[TALLY_HASH_BYTES], lh[TALLY_HASH_BYTES];
	uint32_t fig[6] = {100, 50, 1, 2, 30, 17};
	uint8_t bytes[40];
	memset(h, (int)leaf, sizeof(h));
	memset(lh, (int)leaf + 1, sizeof(lh));
	memset(bytes, 0xab, sizeof(bytes));
	struct agg_leaf_rec l = {.leaf_index = leaf,
	                         .precinct = precinct,
	                         .contest = contest,
	                         .revision = 1,
	                         .outcome = TALLY_OUTCOME_ACCEPTED,
	                         .payload_hash = h,
	                         .leaf_hash = lh,
	                         .figures = fig,
	                         .n_figures = 6,
	                         .leaf = bytes,
	                         .leaf_len = sizeof(bytes)};
	cr_assert_eq(agg_store_put_leaf(s, &l), 0);
	struct agg_submission_rec rec = {.received_ms = 1000 + leaf,
	                                 .peer_region = "KZ-10",
	                                 .peer_node = "node-1",
	                                 .seq = leaf + 1,
	                                 .precinct = precinct,
	                                 .contest = contest,
	                                 .revision = 1,
	                                 .outcome = TALLY_OUTCOME_ACCEPTED,
	                                 .reason = "",
	                                 .leaf_index = (int64_t)leaf};
	cr_assert_eq(agg_store_put_submission(s, &rec), 0);
}

static void put(struct agg_store *s, uint64_t leaf, uint32_t precinct)
{
	put_contest(s, leaf, precinct, "");
}

static uint64_t leaves(struct agg_store *s)
{
	uint64_t n = 0;
	cr_assert_eq(agg_store_leaf_count(s, &n), 0);
	return n;
}

static int on_leaf(const struct agg_leaf_rec *l, void *data)
{
	uint64_t *sum = data;
	cr_assert_eq(l->n_figures, 6);
	cr_assert_eq(l->figures[5], 17);
	cr_assert_eq(l->payload_hash[0], (uint8_t)l->leaf_index);
	*sum += l->leaf_index + 1;
	return 0;
}

Test(store_sqlite, batches_commit_and_roll_back_whole, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 11);
	put(s, 1, 12);
	cr_assert_eq(agg_store_commit(s), 0);
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 2, 13);
	cr_assert_eq(agg_store_rollback(s), 0);
	cr_assert_eq(leaves(s), 2);
	/* After a rollback the next leaf is 2 again, and gaps are refused. */
	cr_assert_eq(agg_store_begin(s), 0);
	uint8_t h[TALLY_HASH_BYTES] = {0};
	uint32_t fig[6] = {0};
	struct agg_leaf_rec gap = {.leaf_index = 5,
	                           .payload_hash = h,
	                           .leaf_hash = h,
	                           .figures = fig,
	                           .n_figures = 6,
	                           .leaf = h,
	                           .leaf_len = 1};
	cr_assert_eq(agg_store_put_leaf(s, &gap), -ERANGE);
	put(s, 2, 13);
	cr_assert_eq(agg_store_commit(s), 0);
	uint64_t sum = 0;
	cr_assert_eq(agg_store_leaves(s, 0, UINT64_MAX, 0, on_leaf, &sum), 0);
	cr_assert_eq(sum, 1 + 2 + 3);
	sum = 0;
	cr_assert_eq(agg_store_leaves(s, 1, 2, 1, on_leaf, &sum), 0);
	cr_assert_eq(sum, 2);
	uint64_t subs = 0;
	cr_assert_eq(agg_store_submission_count(s, &subs), 0);
	cr_assert_eq(subs, 3);
	agg_store_close(s);
}

Test(store_sqlite, crash_mid_transaction_keeps_only_committed, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 11);
	cr_assert_eq(agg_store_commit(s), 0);
	agg_store_close(s);

	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct agg_store *c = NULL;
		struct tally_err err;
		if (agg_store_sqlite_open(dir, "e1", &c, &err) < 0)
			_exit(2);
		agg_store_begin(c);
		for (uint64_t i = 1; i < 500; i++)
			put(c, i, (uint32_t)(11 + i));
		/* Die with the transaction open and pages possibly in the WAL. */
		kill(getpid(), SIGKILL);
		_exit(3);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	s = open_store("e1");
	cr_assert_eq(leaves(s), 1);
	uint64_t subs = 0;
	cr_assert_eq(agg_store_submission_count(s, &subs), 0);
	cr_assert_eq(subs, 1);
	/* And it goes on from leaf 1. */
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 1, 12);
	cr_assert_eq(agg_store_commit(s), 0);
	cr_assert_eq(leaves(s), 2);
	agg_store_close(s);
}

Test(store_sqlite, refuses_another_election, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	agg_store_close(s);
	struct tally_err err = {{0}};
	s = NULL;
	cr_assert_eq(agg_store_sqlite_open(dir, "e2", &s, &err), -EINVAL);
	cr_assert(strstr(err.msg, "belongs to election 'e1', not 'e2'"), "%s", err.msg);
}

/* Newest first: the rejection, then the accepted result. */
static int on_history(const struct agg_history_rec *h, void *data)
{
	int *n = data;
	cr_assert_str_eq(h->peer_region, "KZ-10");
	cr_assert_str_eq(h->peer_node, "node-1");
	cr_assert_eq(h->leaf_index, *n == 1 ? 0 : -1);
	cr_assert_eq(h->code, *n == 1 ? TALLY_REJECT_NONE : TALLY_REJECT_FAILED_CONTROL);
	if (*n == 0)
		cr_assert_str_eq(h->reason, "cast > issued");
	(*n)++;
	return 0;
}

Test(store_sqlite, history_reads_back_outcomes_and_rejections, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 42);
	uint8_t raw[3] = {1, 2, 3};
	struct agg_submission_rec rej = {.received_ms = 5,
	                                 .peer_region = "KZ-10",
	                                 .peer_node = "node-1",
	                                 .seq = 9,
	                                 .precinct = 42,
	                                 .revision = 2,
	                                 .code = TALLY_REJECT_FAILED_CONTROL,
	                                 .reason = "cast > issued",
	                                 .leaf_index = -1,
	                                 .signed_bytes = raw,
	                                 .signed_len = 3};
	cr_assert_eq(agg_store_put_submission(s, &rej), 0);
	cr_assert_eq(agg_store_commit(s), 0);
	int n = 0;
	cr_assert_eq(agg_store_history(s, 42, NULL, UINT64_MAX, 100, on_history, &n), 0);
	cr_assert_eq(n, 2);
	n = 0;
	cr_assert_eq(agg_store_history(s, 43, NULL, UINT64_MAX, 100, on_history, &n), 0);
	cr_assert_eq(n, 0);
	agg_store_close(s);
}

struct page {
	uint64_t ids[8];
	uint64_t received[8];
	size_t n;
};

static int on_page(const struct agg_history_rec *h, void *data)
{
	struct page *p = data;
	cr_assert_lt(p->n, 8);
	p->ids[p->n] = h->id;
	p->received[p->n] = h->received_ms;
	p->n++;
	return 0;
}

/* Five Submits of precinct 42 among others: pages of two, newest first,
 * each starting below the last id of the one before. */
Test(store_sqlite, history_pages_newest_first_from_a_cursor, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	cr_assert_eq(agg_store_begin(s), 0);
	for (uint64_t i = 0; i < 10; i++) {
		struct agg_submission_rec rec = {.received_ms = 100 + i,
		                                 .peer_region = "KZ-10",
		                                 .peer_node = "node-1",
		                                 .seq = i,
		                                 .precinct = i % 2 ? 42 : 43,
		                                 .revision = 1,
		                                 .code = TALLY_REJECT_FAILED_CONTROL,
		                                 .reason = "",
		                                 .leaf_index = -1};
		cr_assert_eq(agg_store_put_submission(s, &rec), 0);
	}
	cr_assert_eq(agg_store_commit(s), 0);
	struct page p = {0};
	cr_assert_eq(agg_store_history(s, 42, NULL, UINT64_MAX, 2, on_page, &p), 0);
	cr_assert_eq(p.n, 2);
	cr_assert_eq(p.received[0], 109);
	cr_assert_eq(p.received[1], 107);
	cr_assert_gt(p.ids[0], p.ids[1]);
	uint64_t before = p.ids[1];
	memset(&p, 0, sizeof(p));
	cr_assert_eq(agg_store_history(s, 42, NULL, before, 2, on_page, &p), 0);
	cr_assert_eq(p.n, 2);
	cr_assert_eq(p.received[0], 105);
	cr_assert_eq(p.received[1], 103);
	before = p.ids[1];
	memset(&p, 0, sizeof(p));
	cr_assert_eq(agg_store_history(s, 42, NULL, before, 2, on_page, &p), 0);
	cr_assert_eq(p.n, 1);
	cr_assert_eq(p.received[0], 101);
	agg_store_close(s);
}

/* The loop's reader, while a batch is open on the writer (as on the
 * committer thread): it sees only what is committed, and cannot write. */
Test(store_sqlite, reader_sees_only_committed_rows, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	struct agg_store *rd = agg_store_reader(s);
	cr_assert_neq(rd, s);
	cr_assert(agg_store_writes_off_loop(s));
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 11);
	put(s, 1, 12);
	cr_assert_eq(leaves(rd), 0);
	uint64_t sum = 0;
	cr_assert_eq(agg_store_leaves(rd, 0, UINT64_MAX, 1, on_leaf, &sum), 0);
	cr_assert_eq(sum, 0);
	cr_assert_eq(agg_store_commit(s), 0);
	cr_assert_eq(leaves(rd), 2);
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 2, 13);
	cr_assert_eq(agg_store_leaves(rd, 0, UINT64_MAX, 1, on_leaf, &sum), 0);
	cr_assert_eq(sum, 1 + 2);
	cr_assert_eq(agg_store_rollback(s), 0);
	cr_assert_eq(leaves(rd), 2);
	/* Read-only: a write through the reader is refused, nothing changes. */
	struct agg_submission_rec rec = {
	    .peer_region = "KZ-10", .peer_node = "n", .reason = "", .leaf_index = -1};
	cr_assert_eq(agg_store_put_submission(rd, &rec), -EACCES);
	cr_assert_str_eq(rd->last_error,
	                 "storing a submission: attempt to write a readonly database");
	uint64_t subs = 0;
	cr_assert_eq(agg_store_submission_count(rd, &subs), 0);
	cr_assert_eq(subs, 2);
	agg_store_close(s);
}

/* ---- contests ------------------------------------------------------------ */

struct rows {
	size_t n;
	uint64_t index[16]; /* leaf index or history id */
	uint32_t precinct[16];
	char contest[16][32];
	size_t leaf_len[16];
};

static int on_leaf_row(const struct agg_leaf_rec *l, void *data)
{
	struct rows *r = data;
	cr_assert_lt(r->n, 16);
	cr_assert_not_null(l->contest);
	r->index[r->n] = l->leaf_index;
	r->precinct[r->n] = l->precinct;
	snprintf(r->contest[r->n], sizeof(r->contest[0]), "%s", l->contest);
	r->leaf_len[r->n++] = l->leaf_len;
	return 0;
}

static int on_history_row(const struct agg_history_rec *h, void *data)
{
	struct rows *r = data;
	cr_assert_lt(r->n, 16);
	cr_assert_not_null(h->contest);
	r->index[r->n] = h->id;
	r->precinct[r->n] = h->revision;
	snprintf(r->contest[r->n++], sizeof(r->contest[0]), "%s", h->contest);
	return 0;
}

static struct rows leaf_rows(struct agg_store *s, int with_bytes)
{
	struct rows r = {0};
	cr_assert_eq(agg_store_leaves(s, 0, UINT64_MAX, with_bytes, on_leaf_row, &r), 0, "%s",
	             s->last_error);
	return r;
}

static struct rows history_rows(struct agg_store *s, uint32_t precinct, const char *contest)
{
	struct rows r = {0};
	cr_assert_eq(agg_store_history(s, precinct, contest, UINT64_MAX, 16, on_history_row, &r), 0,
	             "%s", s->last_error);
	return r;
}

/* A rejection of precinct 42 that names contest c (revision rev). */
static void put_rejection(struct agg_store *s, uint32_t precinct, const char *c, uint32_t rev)
{
	struct agg_submission_rec rej = {.received_ms = 5,
	                                 .peer_region = "KZ-10",
	                                 .peer_node = "node-1",
	                                 .seq = 9,
	                                 .precinct = precinct,
	                                 .contest = c,
	                                 .revision = rev,
	                                 .code = TALLY_REJECT_UNKNOWN_CONTEST,
	                                 .reason = "no contest 'senate'",
	                                 .leaf_index = -1,
	                                 .signed_bytes = (const uint8_t *)"x",
	                                 .signed_len = 1};
	cr_assert_eq(agg_store_put_submission(s, &rej), 0, "%s", s->last_error);
}

Test(store_sqlite, contest_round_trips_on_leaves_submissions_and_history, .init = setup,
     .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	cr_assert_eq(agg_store_begin(s), 0);
	put_contest(s, 0, 42, "president");
	put_contest(s, 1, 42, "party-list");
	put_contest(s, 2, 43, "president");
	put_rejection(s, 42, "senate", 7);
	put_contest(s, 3, 42, NULL); /* stored as "" */
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	for (int bytes = 0; bytes < 2; bytes++) {
		struct rows r = leaf_rows(agg_store_reader(s), bytes);
		cr_assert_eq(r.n, 4);
		cr_assert_str_eq(r.contest[0], "president");
		cr_assert_str_eq(r.contest[1], "party-list");
		cr_assert_str_eq(r.contest[2], "president");
		cr_assert_str_eq(r.contest[3], "");
		cr_assert_eq(r.leaf_len[1], bytes ? 40 : 0);
	}
	/* Every contest, newest first: revisions 1, 7 (the rejection), 1, 1. */
	struct rows h = history_rows(s, 42, NULL);
	cr_assert_eq(h.n, 4);
	cr_assert_str_eq(h.contest[0], "");
	cr_assert_str_eq(h.contest[1], "senate");
	cr_assert_eq(h.precinct[1], 7);
	cr_assert_str_eq(h.contest[2], "party-list");
	cr_assert_str_eq(h.contest[3], "president");
	/* One contest: only its rows, still newest first. */
	h = history_rows(s, 42, "president");
	cr_assert_eq(h.n, 1);
	cr_assert_str_eq(h.contest[0], "president");
	h = history_rows(s, 42, "senate");
	cr_assert_eq(h.n, 1);
	cr_assert_eq(h.precinct[0], 7);
	h = history_rows(s, 42, "");
	cr_assert_eq(h.n, 1);
	h = history_rows(s, 42, "governor");
	cr_assert_eq(h.n, 0);
	h = history_rows(s, 43, "president");
	cr_assert_eq(h.n, 1);
	agg_store_close(s);
}

/* Pages of one contest among many rows of another, from a cursor. */
Test(store_sqlite, history_of_one_contest_pages_from_a_cursor, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1");
	cr_assert_eq(agg_store_begin(s), 0);
	for (uint32_t i = 0; i < 12; i++)
		put_rejection(s, 42, i % 4 == 0 ? "b" : "a", i);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	struct rows r = {0};
	cr_assert_eq(agg_store_history(s, 42, "b", UINT64_MAX, 2, on_history_row, &r), 0);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.precinct[0], 8); /* revisions 8, 4, then 0 */
	cr_assert_eq(r.precinct[1], 4);
	uint64_t before = r.index[1];
	memset(&r, 0, sizeof(r));
	cr_assert_eq(agg_store_history(s, 42, "b", before, 2, on_history_row, &r), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.precinct[0], 0);
	cr_assert_str_eq(r.contest[0], "b");
	agg_store_close(s);
}

/* The history statements of store_sqlite.c, as they are there: each page
 * must be one range of the precinct's index read backwards (no scan of the
 * table, no sort); a page of one contest reads the same range. */
Test(store_sqlite, history_pages_are_one_index_range, .init = setup, .fini = teardown)
{
	static const char *const sql[2][2] = {
	    {"SELECT received_ms, peer_region, peer_node, revision, outcome, reject_code, reason, "
	     "leaf_index, id, contest FROM submissions WHERE precinct = ?1 AND id < ?2 "
	     "ORDER BY id DESC LIMIT ?3",
	     "SEARCH submissions USING INDEX submissions_by_precinct (precinct=? AND rowid<?)"},
	    {"SELECT received_ms, peer_region, peer_node, revision, outcome, reject_code, reason, "
	     "leaf_index, id, contest FROM submissions WHERE precinct = ?1 AND contest = ?4 AND "
	     "id < ?2 ORDER BY id DESC LIMIT ?3",
	     "SEARCH submissions USING INDEX submissions_by_precinct (precinct=? AND rowid<?)"},
	};
	agg_store_close(open_store("e1"));
	char path[300], plan[256];
	snprintf(path, sizeof(path), "%s/tally.db", dir);
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; i < 2; i++) {
		char q[600];
		sqlite3_stmt *st = NULL;
		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql[i][0]);
		cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK, "%s",
		             sqlite3_errmsg(db));
		plan[0] = '\0';
		while (sqlite3_step(st) == SQLITE_ROW) {
			size_t n = strlen(plan);
			snprintf(plan + n, sizeof(plan) - n, "%s%s", n ? "; " : "",
			         (const char *)sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
		cr_assert_str_eq(plan, sql[i][1]);
	}
	sqlite3_close(db);
}

/* ---- the store of the version before contests ------------------------------ */

/* Schema version 1 as the version before wrote it (store_sqlite.c then). */
static const char v1_schema[] =
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE log (leaf_index INTEGER PRIMARY KEY, precinct INTEGER NOT NULL,"
    " revision INTEGER NOT NULL, outcome INTEGER NOT NULL, payload_hash BLOB NOT NULL,"
    " leaf_hash BLOB NOT NULL, figures BLOB NOT NULL, leaf BLOB NOT NULL);"
    "CREATE TABLE submissions (id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL,"
    " peer_region TEXT NOT NULL, peer_node TEXT NOT NULL, seq INTEGER NOT NULL,"
    " precinct INTEGER, revision INTEGER, outcome INTEGER NOT NULL,"
    " reject_code INTEGER NOT NULL, reason TEXT NOT NULL,"
    " leaf_index INTEGER REFERENCES log (leaf_index), signed BLOB);"
    "CREATE INDEX submissions_by_precinct ON submissions (precinct) WHERE precinct IS NOT NULL;"
    "INSERT INTO schema_version (version) VALUES (1);"
    "INSERT INTO meta (key, value) VALUES ('election_id', 'e1');";

static sqlite3 *raw_open(void)
{
	char path[300];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/tally.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
	             sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* "versions;columns named contest;indexes", e.g. "12;2;1" once migrated. */
static void schema_state(char *ret, size_t cap)
{
	sqlite3 *db = raw_open();
	snprintf(ret, cap, "%lld;%lld;%lld",
	         (long long)raw_int(db,
	                            "SELECT group_concat(version, '') FROM (SELECT version FROM "
	                            "schema_version ORDER BY version)"),
	         (long long)raw_int(db, "SELECT (SELECT count(*) FROM pragma_table_info('log') "
	                                "WHERE name = 'contest') + (SELECT count(*) FROM "
	                                "pragma_table_info('submissions') WHERE name = 'contest')"),
	         (long long)raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
	                                "AND tbl_name = 'submissions'"));
	sqlite3_close(db);
}

static void copy_fixture(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "cp '%s/tests/data/store-v1/tally.db' '%s/tally.db'",
	         TALLY_SOURCE_DIR, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/*
 * tests/data/store-v1/tally.db was written by the aggregator of the version
 * before (tests/data/store-v1/make.py): six leaves (precincts 1, 2, 3, 4,
 * then revision 2 of precinct 1 accepted and a conflicting copy of it) and
 * seven submissions (the seventh a rejection of precinct 5).
 */
Test(store_sqlite, a_store_of_the_version_before_is_migrated_and_goes_on, .init = setup,
     .fini = teardown)
{
	static const uint32_t precincts[6] = {1, 2, 3, 4, 1, 1};
	char state[64];
	copy_fixture();
	sqlite3 *db = raw_open();
	cr_assert_eq(raw_int(db, "SELECT max(version) FROM schema_version"), 1);
	sqlite3_close(db);

	struct agg_store *s = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(agg_store_sqlite_open(dir, "synthetic-2r-12p-s5", &s, &err), 0, "%s", err.msg);
	schema_state(state, sizeof(state));
	cr_assert_str_eq(state, "12;2;1"); /* versions 1 and 2, both columns, one index */
	struct rows r = leaf_rows(s, 1);
	cr_assert_eq(r.n, 6);
	for (size_t i = 0; i < 6; i++) {
		cr_assert_eq(r.index[i], i);
		cr_assert_eq(r.precinct[i], precincts[i]);
		cr_assert_str_eq(r.contest[i], "");
		cr_assert_gt(r.leaf_len[i], 100);
	}
	uint64_t n = 0;
	cr_assert_eq(agg_store_submission_count(s, &n), 0);
	cr_assert_eq(n, 7);
	struct rows h = history_rows(s, 1, NULL);
	cr_assert_eq(h.n, 3);
	cr_assert_str_eq(h.contest[0], "");
	cr_assert_eq(history_rows(s, 1, "").n, 3);
	cr_assert_eq(history_rows(s, 5, "").n, 1);
	/* New rows continue the log, with their contest. */
	cr_assert_eq(agg_store_begin(s), 0);
	put_contest(s, 6, 7, "referendum");
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	agg_store_close(s);

	/* Opening again migrates nothing more. */
	s = open_store("synthetic-2r-12p-s5");
	schema_state(state, sizeof(state));
	cr_assert_str_eq(state, "12;2;1");
	r = leaf_rows(s, 0);
	cr_assert_eq(r.n, 7);
	cr_assert_str_eq(r.contest[5], "");
	cr_assert_str_eq(r.contest[6], "referendum");
	cr_assert_eq(r.precinct[6], 7);
	cr_assert_eq(history_rows(s, 7, "referendum").n, 1);
	cr_assert_eq(history_rows(s, 7, "").n, 0);
	agg_store_close(s);
}

/* A version-1 store with n submissions and n leaves, written fast. */
static void make_v1_store(int n)
{
	char sql[1024];
	char *msg = NULL;
	sqlite3 *db = raw_open();
	cr_assert_eq(sqlite3_exec(db, v1_schema, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
	snprintf(sql, sizeof(sql),
	         "BEGIN;"
	         "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
	         "INSERT INTO log SELECT i, 1 + i %% 50000, 1, 1, zeroblob(32), zeroblob(32), "
	         "zeroblob(24), zeroblob(200) FROM n;"
	         "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
	         "INSERT INTO submissions (received_ms, peer_region, peer_node, seq, precinct, "
	         "revision, outcome, reject_code, reason, leaf_index) SELECT i, 'KZ-10', 'node-1', "
	         "i, 1 + i * 7919 %% 50000, 1, 1, 0, '', i FROM n;"
	         "COMMIT;",
	         n - 1, n - 1);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
	sqlite3_close(db);
}

static void raw_exec(const char *sql)
{
	char *msg = NULL;
	sqlite3 *db = raw_open();
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
	sqlite3_close(db);
}

/*
 * A migration step that fails before its commit (a full disk, a crash)
 * leaves the old schema whole: the step's columns and its version row
 * commit together or not at all. The failure is made where it hurts most,
 * after the step's ALTERs, at the version row (a trigger refuses it);
 * then the next open, without the trigger, migrates the same store.
 */
Test(store_sqlite, a_migration_that_fails_leaves_the_old_schema_whole, .init = setup,
     .fini = teardown)
{
	const int n = 20000;
	char state[64];
	make_v1_store(n);
	raw_exec("CREATE TRIGGER refuse_2 BEFORE INSERT ON schema_version WHEN NEW.version = 2 "
	         "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
	struct agg_store *s = NULL;
	struct tally_err err = {{0}};
	cr_assert_lt(agg_store_sqlite_open(dir, "e1", &s, &err), 0);
	cr_assert(strstr(err.msg, "database or disk is full"), "%s", err.msg);
	schema_state(state, sizeof(state));
	cr_assert_str_eq(state, "1;0;1", "a torn migration");

	raw_exec("DROP TRIGGER refuse_2");
	s = open_store("e1");
	schema_state(state, sizeof(state));
	cr_assert_str_eq(state, "12;2;1");
	uint64_t count = 0;
	cr_assert_eq(agg_store_leaf_count(s, &count), 0);
	cr_assert_eq(count, (uint64_t)n);
	cr_assert_eq(agg_store_submission_count(s, &count), 0);
	cr_assert_eq(count, (uint64_t)n);
	struct rows h = history_rows(s, 1 + 7919 % 50000, "");
	cr_assert_eq(h.n, 1);
	agg_store_close(s);
}
