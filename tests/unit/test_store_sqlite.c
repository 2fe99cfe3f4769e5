/*
 * test_store_sqlite.c: the SQLite store. Batches commit as a whole or not
 * at all, also when the process dies in the middle of a transaction (a
 * child killed with SIGKILL); leaves are gapless; a store refuses another
 * election; history and leaves read back what was written.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static void put(struct agg_store *s, uint64_t leaf, uint32_t precinct)
{
	uint8_t h[TALLY_HASH_BYTES], lh[TALLY_HASH_BYTES];
	uint32_t fig[6] = {100, 50, 1, 2, 30, 17};
	uint8_t bytes[40];
	memset(h, (int)leaf, sizeof(h));
	memset(lh, (int)leaf + 1, sizeof(lh));
	memset(bytes, 0xab, sizeof(bytes));
	struct agg_leaf_rec l = {.leaf_index = leaf,
	                         .precinct = precinct,
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
	                                 .revision = 1,
	                                 .outcome = TALLY_OUTCOME_ACCEPTED,
	                                 .reason = "",
	                                 .leaf_index = (int64_t)leaf};
	cr_assert_eq(agg_store_put_submission(s, &rec), 0);
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
