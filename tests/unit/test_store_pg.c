/*
 * test_store_pg.c: the PostgreSQL store, against a real throwaway server
 * (tests/integration/pgserver.py, from Debian's postgresql package; skipped
 * when it is not installed). Batches commit as a whole or not at all, also
 * when the process dies mid-transaction; leaves are gapless across two
 * stores on one database, and log_size() tells a batch what the other
 * committed; a database of another election is refused; history reads
 * back, with text a peer sent that is not UTF-8 made storable; a stopped
 * server makes calls fail at once, naming the database, and a restarted one
 * is reconnected to without help; a dsn that leads nowhere fails open with
 * a message naming the fix; the configuration selects the backend.
 * Contests: leaves, submissions and history keep each row's contest, and
 * history pages one contest by an index; a database of the version before
 * contests were kept (tests/data/store-v1/tally-pg.sql, a pg_dump) is
 * migrated on open and goes on, and an instance of that version still
 * running against it keeps storing and reading (its statements, kept
 * below, name their columns).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aggregator.h"
#include "store.h"

#define PGSERVER "/usr/bin/python3 " TALLY_SOURCE_DIR "/tests/integration/pgserver.py"

static char dir[512];
static char dsn[1024];

static void pgserver(const char *verb)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), PGSERVER " %s '%s' >/dev/null", verb, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
	FILE *f = popen(PGSERVER " start", "r");
	cr_assert(f);
	bool got = fgets(dir, sizeof(dir), f) && fgets(dsn, sizeof(dsn), f);
	int st = pclose(f);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		cr_skip_test("no PostgreSQL server binaries (Debian's postgresql package)");
	cr_assert(got && WIFEXITED(st) && WEXITSTATUS(st) == 0, "pgserver.py start failed");
	dir[strcspn(dir, "\n")] = '\0';
	dsn[strcspn(dsn, "\n")] = '\0';
}

static void teardown(void)
{
	if (dir[0])
		pgserver("remove");
}

static struct agg_store *open_store(const char *election, const char *instance)
{
	struct agg_store *s = NULL;
	struct tally_err err = {{0}};
	int r = agg_store_pg_open(dsn, election, instance, &s, &err);
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
	cr_assert_eq(agg_store_put_leaf(s, &l), 0, "%s", s->last_error);
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
	cr_assert_eq(agg_store_put_submission(s, &rec), 0, "%s", s->last_error);
}

static void put(struct agg_store *s, uint64_t leaf, uint32_t precinct)
{
	put_contest(s, leaf, precinct, "");
}

static uint64_t leaves(struct agg_store *s)
{
	uint64_t n = 0;
	cr_assert_eq(agg_store_leaf_count(s, &n), 0, "%s", s->last_error);
	return n;
}

static int on_leaf(const struct agg_leaf_rec *l, void *data)
{
	uint64_t *sum = data;
	cr_assert_eq(l->n_figures, 6);
	cr_assert_eq(l->figures[0], 100);
	cr_assert_eq(l->figures[5], 17);
	cr_assert_eq(l->payload_hash[0], (uint8_t)l->leaf_index);
	cr_assert_eq(l->leaf_hash[31], (uint8_t)(l->leaf_index + 1));
	cr_assert_eq(l->outcome, TALLY_OUTCOME_ACCEPTED);
	if (l->leaf) {
		cr_assert_eq(l->leaf_len, 40);
		cr_assert_eq(l->leaf[39], 0xab);
	}
	*sum += l->leaf_index + 1;
	return 0;
}

Test(store_pg, batches_commit_and_roll_back_whole, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a");
	uint64_t n = 0, sum = 0;
	cr_assert_str_eq(s->ops->name, "postgresql");
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 1);
	put(s, 1, 2);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 2, 3);
	cr_assert_eq(agg_store_rollback(s), 0);
	cr_assert_eq(leaves(s), 2);
	/* After the rollback leaf 2 is the next one again. */
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 2, 4);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	cr_assert_eq(agg_store_leaves(s, 0, UINT64_MAX, 1, on_leaf, &sum), 0);
	cr_assert_eq(sum, 1 + 2 + 3);
	cr_assert_eq(agg_store_submission_count(s, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(agg_store_log_size(s, &n), 0);
	cr_assert_eq(n, 3);
	agg_store_close(s);

	/* Reopened: the same, and the schema is not migrated twice. */
	s = open_store("e1", "a");
	cr_assert_eq(leaves(s), 3);
	sum = 0;
	cr_assert_eq(agg_store_leaves(s, 1, 3, 0, on_leaf, &sum), 0);
	cr_assert_eq(sum, 2 + 3);
	agg_store_close(s);
}

Test(store_pg, a_process_killed_mid_transaction_leaves_only_commits, .init = setup,
     .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a");
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 1);
	cr_assert_eq(agg_store_commit(s), 0);
	agg_store_close(s);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct agg_store *c = NULL;
		struct tally_err err = {{0}};
		if (agg_store_pg_open(dsn, "e1", "child", &c, &err) < 0 || agg_store_begin(c) < 0)
			_exit(1);
		put(c, 1, 2);
		put(c, 2, 3);
		raise(SIGKILL);
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
	s = open_store("e1", "a");
	cr_assert_eq(leaves(s), 1);
	cr_assert_eq(agg_store_log_size(s, &(uint64_t){0}), 0);
	/* The next batch continues at leaf 1, once the server has noticed. */
	cr_assert_eq(agg_store_begin(s), 0, "%s", s->last_error);
	put(s, 1, 2);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	cr_assert_eq(leaves(s), 2);
	agg_store_close(s);
}

Test(store_pg, two_stores_share_one_gapless_log, .init = setup, .fini = teardown)
{
	struct agg_store *a = open_store("e1", "a");
	struct agg_store *b = open_store("e1", "b");
	uint64_t n = 99;
	cr_assert_eq(agg_store_begin(a), 0);
	put(a, 0, 1);
	cr_assert_eq(agg_store_commit(a), 0);
	/* b's batch sees a's leaf under the lock, and must continue after it. */
	cr_assert_eq(agg_store_begin(b), 0);
	cr_assert_eq(agg_store_log_size(b, &n), 0);
	cr_assert_eq(n, 1);
	uint8_t h[TALLY_HASH_BYTES] = {0}, lh[TALLY_HASH_BYTES] = {0}, bytes[4] = {1, 2, 3, 4};
	uint32_t fig[6] = {0};
	struct agg_leaf_rec stale = {.leaf_index = 0,
	                             .precinct = 5,
	                             .revision = 1,
	                             .outcome = TALLY_OUTCOME_ACCEPTED,
	                             .payload_hash = h,
	                             .leaf_hash = lh,
	                             .figures = fig,
	                             .n_figures = 6,
	                             .leaf = bytes,
	                             .leaf_len = 4};
	cr_assert_eq(agg_store_put_leaf(b, &stale), -ERANGE);
	cr_assert(strstr(b->last_error, "not the next one"), "%s", b->last_error);
	put(b, 1, 2);
	cr_assert_eq(agg_store_commit(b), 0, "%s", b->last_error);
	/* Outside a transaction log_size() reads the committed head now. */
	cr_assert_eq(agg_store_log_size(a, &n), 0);
	cr_assert_eq(n, 2);
	/* The same payload of a precinct twice is refused by the database. */
	cr_assert_eq(agg_store_begin(a), 0);
	memset(h, 1, sizeof(h));
	stale.leaf_index = 2;
	stale.precinct = 2;
	cr_assert_eq(agg_store_put_leaf(a, &stale), 0);
	cr_assert_eq(agg_store_commit(a), -EEXIST, "%s", a->last_error);
	cr_assert_eq(agg_store_rollback(a), 0);
	cr_assert_eq(leaves(a), 2);
	agg_store_close(a);
	agg_store_close(b);
}

Test(store_pg, refuses_a_database_of_another_election, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a"), *t = NULL;
	struct tally_err err = {{0}};
	agg_store_close(s);
	cr_assert_eq(agg_store_pg_open(dsn, "e2", "a", &t, &err), -EINVAL);
	cr_assert_null(t);
	cr_assert(strstr(err.msg, "belongs to election 'e1', not 'e2'"), "%s", err.msg);
	/* The daemon says "store: " before it, once (as for SQLite). */
	cr_assert(strncmp(err.msg, "the database belongs", 20) == 0, "%s", err.msg);
}

struct hist {
	int n;
	char node[64];
	char reason[256];
	int64_t leaf;
};

static int on_history(const struct agg_history_rec *h, void *data)
{
	struct hist *x = data;
	x->n++;
	snprintf(x->node, sizeof(x->node), "%s", h->peer_node);
	snprintf(x->reason, sizeof(x->reason), "%s", h->reason);
	x->leaf = h->leaf_index;
	return 0;
}

Test(store_pg, history_reads_back_and_text_is_made_storable, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a");
	struct hist x = {0};
	uint8_t raw[3] = {9, 8, 7};
	struct agg_submission_rec rec = {.received_ms = 5,
	                                 .peer_region = "KZ-10",
	                                 .peer_node = "n\xff\xfe-\xc3\xa9",
	                                 .seq = 7,
	                                 .precinct = 42,
	                                 .revision = 2,
	                                 .code = TALLY_REJECT_BAD_SIGNATURE,
	                                 .reason = "bad \xed\xa0\x80 bytes",
	                                 .leaf_index = -1,
	                                 .signed_bytes = raw,
	                                 .signed_len = 3};
	cr_assert_eq(agg_store_begin(s), 0);
	cr_assert_eq(agg_store_put_submission(s, &rec), 0);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	cr_assert_eq(agg_store_history(s, 42, NULL, UINT64_MAX, 100, on_history, &x), 0, "%s",
	             s->last_error);
	cr_assert_eq(x.n, 1);
	cr_assert_str_eq(x.node, "n\?\?-\xc3\xa9"); /* (\? keeps ??- from being a trigraph) */
	cr_assert_str_eq(x.reason, "bad ??? bytes");
	cr_assert_eq(x.leaf, -1);
	x.n = 0;
	cr_assert_eq(agg_store_history(s, 43, NULL, UINT64_MAX, 100, on_history, &x), 0);
	cr_assert_eq(x.n, 0);
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

/* As test_store_sqlite.c: pages of two, newest first, from a cursor. */
Test(store_pg, history_pages_newest_first_from_a_cursor, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a");
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
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	struct page p = {0};
	cr_assert_eq(agg_store_history(s, 42, NULL, UINT64_MAX, 2, on_page, &p), 0, "%s",
	             s->last_error);
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

Test(store_pg, reconnects_by_itself_when_the_server_returns, .init = setup, .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a");
	cr_assert_eq(agg_store_begin(s), 0);
	put(s, 0, 1);
	cr_assert_eq(agg_store_commit(s), 0);
	pgserver("stop");
	int r = agg_store_begin(s);
	cr_assert_eq(r, -EIO);
	cr_assert(strstr(s->last_error, "database") || strstr(s->last_error, "server"), "%s",
	          s->last_error);
	/* Within the backoff it does not even try: it says when it will. */
	cr_assert_eq(agg_store_begin(s), -EIO);
	cr_assert(strstr(s->last_error, "database unreachable"), "%s", s->last_error);
	pgserver("restart");
	bool ok = false;
	for (int i = 0; i < 100 && !ok; i++) {
		ok = agg_store_begin(s) == 0;
		if (!ok)
			usleep(100 * 1000);
	}
	cr_assert(ok, "no reconnection: %s", s->last_error);
	put(s, 1, 2);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	cr_assert_eq(leaves(s), 2);
	agg_store_close(s);
}

Test(store_pg, a_dsn_that_leads_nowhere_fails_open_naming_the_fix)
{
	struct agg_store *s = NULL;
	struct tally_err err = {{0}};
	int r = agg_store_pg_open("host=/nonexistent-tally port=1 dbname=x connect_timeout=2", "e1",
	                          "a", &s, &err);
	cr_assert_eq(r, -EIO);
	cr_assert_null(s);
	cr_assert(strstr(err.msg, "check [store] dsn"), "%s", err.msg);
	cr_assert(strstr(err.msg, "/nonexistent-tally"), "%s", err.msg);
}

/* [store] backend and dsn, as agg_conf_load() checks them (conf.c). */
static int load_conf(const char *store, struct agg_conf *c, struct tally_err *err)
{
	char path[] = "/tmp/tally-conf-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
	        "[aggregator]\nid = a\nelection = e.json\nstate_dir = st\n"
	        "listen = 127.0.0.1:7443\nhttp_listen = 127.0.0.1:8080\ntrusted_keys = t\n"
	        "[tls]\nca = ca.pem\ncert = c.pem\nkey = c.key\n%s",
	        store);
	fclose(f);
	int r = agg_conf_load(path, c, err);
	unlink(path);
	return r;
}

Test(store_pg, configuration_selects_the_backend)
{
	struct agg_conf c;
	struct tally_err err = {{0}};
	cr_assert_eq(load_conf("", &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.store_backend, "sqlite");
	agg_conf_free(&c);
	cr_assert_eq(
	    load_conf("[store]\nbackend = postgresql\ndsn = host=db dbname=tally\n", &c, &err), 0,
	    "%s", err.msg);
	cr_assert_str_eq(c.store_backend, "postgresql");
	cr_assert_str_eq(c.store_dsn, "host=db dbname=tally");
	agg_conf_free(&c);
	cr_assert_eq(load_conf("[store]\nbackend = postgresql\n", &c, &err), -EINVAL);
	cr_assert(strstr(err.msg, "backend = postgresql needs dsn"), "%s", err.msg);
	agg_conf_free(&c);
	cr_assert_eq(load_conf("[store]\nbackend = mysql\n", &c, &err), -EINVAL);
	cr_assert(strstr(err.msg, "expected sqlite or postgresql"), "%s", err.msg);
	agg_conf_free(&c);
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
	                                 .reason = "no such contest",
	                                 .leaf_index = -1,
	                                 .signed_bytes = (const uint8_t *)"x",
	                                 .signed_len = 1};
	cr_assert_eq(agg_store_put_submission(s, &rej), 0, "%s", s->last_error);
}

Test(store_pg, contest_round_trips_on_leaves_submissions_and_history, .init = setup,
     .fini = teardown)
{
	struct agg_store *s = open_store("e1", "a");
	cr_assert_eq(agg_store_begin(s), 0);
	put_contest(s, 0, 42, "president");
	put_contest(s, 1, 42, "party-list");
	put_contest(s, 2, 43, "president");
	/* A peer's contest id that is not UTF-8 is made storable, like its reason. */
	put_rejection(s, 42,
	              "sen\xff"
	              "ate",
	              7);
	put_contest(s, 3, 42, NULL); /* stored as "" */
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	for (int bytes = 0; bytes < 2; bytes++) {
		struct rows r = leaf_rows(s, bytes);
		cr_assert_eq(r.n, 4);
		cr_assert_str_eq(r.contest[0], "president");
		cr_assert_str_eq(r.contest[1], "party-list");
		cr_assert_str_eq(r.contest[2], "president");
		cr_assert_str_eq(r.contest[3], "");
		cr_assert_eq(r.leaf_len[1], bytes ? 40 : 0);
	}
	struct rows h = history_rows(s, 42, NULL);
	cr_assert_eq(h.n, 4);
	cr_assert_str_eq(h.contest[0], "");
	cr_assert_str_eq(h.contest[1], "sen?ate");
	cr_assert_eq(h.precinct[1], 7);
	cr_assert_str_eq(h.contest[2], "party-list");
	cr_assert_str_eq(h.contest[3], "president");
	h = history_rows(s, 42, "president");
	cr_assert_eq(h.n, 1);
	cr_assert_str_eq(h.contest[0], "president");
	h = history_rows(s, 42,
	                 "sen\xff"
	                 "ate");
	cr_assert_eq(h.n, 1);
	cr_assert_eq(h.precinct[0], 7);
	cr_assert_eq(history_rows(s, 42, "").n, 1);
	cr_assert_eq(history_rows(s, 42, "governor").n, 0);
	cr_assert_eq(history_rows(s, 43, "president").n, 1);
	/* Pages of one contest from a cursor. */
	cr_assert_eq(agg_store_begin(s), 0);
	for (uint32_t i = 0; i < 6; i++)
		put_rejection(s, 44, i % 3 == 0 ? "b" : "a", i);
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	struct rows p = {0};
	cr_assert_eq(agg_store_history(s, 44, "b", UINT64_MAX, 1, on_history_row, &p), 0);
	cr_assert_eq(p.n, 1);
	cr_assert_eq(p.precinct[0], 3);
	uint64_t before = p.index[0];
	memset(&p, 0, sizeof(p));
	cr_assert_eq(agg_store_history(s, 44, "b", before, 5, on_history_row, &p), 0);
	cr_assert_eq(p.n, 1);
	cr_assert_eq(p.precinct[0], 0);
	agg_store_close(s);
}

/* ---- the database of the version before contests -------------------------- */

static PGconn *raw_connect(const char *d)
{
	PGconn *c = PQconnectdb(d);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	return c;
}

/* The first value of sql's first row ("" when there is none). */
static void raw_value(PGconn *c, const char *sql, char *ret, size_t cap)
{
	PGresult *res = PQexec(c, sql);
	cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK,
	          "%s: %s", sql, PQresultErrorMessage(res));
	snprintf(ret, cap, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
}

/*
 * A new database "name" holding tests/data/store-v1/tally-pg.sql (written
 * by the version before: schema version 2, six leaves, seven submissions of
 * election synthetic-2r-12p-s5); its dsn in ret.
 */
static void load_fixture(const char *name, char *ret, size_t cap)
{
	char sql[128], cmd[2048], v[64];
	glob_t g;
	cr_assert_eq(glob("/usr/lib/postgresql/*/bin/psql", 0, NULL, &g), 0);
	PGconn *c = raw_connect(dsn);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	raw_value(c, sql, v, sizeof(v));
	PQfinish(c);
	snprintf(ret, cap, "%s dbname=%s", dsn, name);
	snprintf(cmd, sizeof(cmd),
	         "'%s' -X -q -v ON_ERROR_STOP=1 -d '%s' -f '%s/tests/data/store-v1/tally-pg.sql' "
	         ">/dev/null",
	         g.gl_pathv[g.gl_pathc - 1], ret, TALLY_SOURCE_DIR);
	globfree(&g);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	c = raw_connect(ret);
	raw_value(c, "SELECT string_agg(version::text, '' ORDER BY version) FROM schema_version", v,
	          sizeof(v));
	cr_assert_str_eq(v, "12");
	PQfinish(c);
}

static struct agg_store *open_dsn(const char *d, const char *instance)
{
	struct agg_store *s = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(agg_store_pg_open(d, "synthetic-2r-12p-s5", instance, &s, &err), 0, "%s",
	             err.msg);
	return s;
}

Test(store_pg, a_database_of_the_version_before_is_migrated_and_goes_on, .init = setup,
     .fini = teardown)
{
	static const uint32_t precincts[6] = {1, 2, 3, 4, 1, 1};
	char d[1200], v[256];
	load_fixture("v2", d, sizeof(d));
	struct agg_store *s = open_dsn(d, "a");
	PGconn *c = raw_connect(d);
	raw_value(c, "SELECT string_agg(version::text, '' ORDER BY version) FROM schema_version", v,
	          sizeof(v));
	cr_assert_str_eq(v, "123");
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
	cr_assert_eq(history_rows(s, 1, NULL).n, 3);
	cr_assert_eq(history_rows(s, 1, "").n, 3);
	cr_assert_eq(history_rows(s, 5, "").n, 1);
	cr_assert_eq(agg_store_begin(s), 0, "%s", s->last_error);
	put_contest(s, 6, 7, "referendum");
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	agg_store_close(s);

	/* Opening again migrates nothing more. */
	s = open_dsn(d, "b");
	raw_value(c, "SELECT string_agg(version::text, '' ORDER BY version) FROM schema_version", v,
	          sizeof(v));
	cr_assert_str_eq(v, "123");
	r = leaf_rows(s, 0);
	cr_assert_eq(r.n, 7);
	cr_assert_str_eq(r.contest[5], "");
	cr_assert_str_eq(r.contest[6], "referendum");
	cr_assert_eq(history_rows(s, 7, "referendum").n, 1);
	cr_assert_eq(history_rows(s, 7, "").n, 0);
	/* A page of one contest is one range of the precinct's index, read
	 * backwards (the planner would scan a table this small: it is told not
	 * to). */
	raw_value(c, "SET enable_seqscan = off", v, sizeof(v));
	PGresult *res = PQexec(c, "EXPLAIN SELECT id FROM submissions WHERE precinct = 7 AND "
	                          "contest = 'referendum' AND id < 100 ORDER BY id DESC LIMIT 2");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	cr_assert_geq(PQntuples(res), 2);
	cr_assert(
	    strstr(PQgetvalue(res, 1, 0), "Index Scan Backward using submissions_by_precinct_id"),
	    "%s", PQgetvalue(res, 1, 0));
	PQclear(res);
	PQfinish(c);
	agg_store_close(s);
}

/* The statements of the version before (store_pg.c at schema version 2)
 * that touch the migrated tables. */
static const char *const v2_stmts[][2] = {
    {"put_submission",
     "INSERT INTO submissions (received_ms, peer_region, peer_node, seq, precinct, revision, "
     "outcome, reject_code, reason, leaf_index, signed, instance) VALUES ($1, $2, $3, $4, $5, "
     "$6, $7, $8, $9, $10, $11, $12)"},
    {"put_leaf", "INSERT INTO log (leaf_index, precinct, revision, outcome, payload_hash, "
                 "leaf_hash, figures, leaf) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"},
    {"leaves_bytes", "SELECT leaf_index, precinct, revision, outcome, payload_hash, leaf_hash, "
                     "figures, leaf FROM log WHERE leaf_index >= $1 AND leaf_index < $2 ORDER "
                     "BY leaf_index LIMIT $3"},
    {"history", "SELECT received_ms, peer_region, peer_node, revision, outcome, reject_code, "
                "reason, leaf_index, id FROM submissions WHERE precinct = $1 AND id < $2 ORDER "
                "BY id DESC LIMIT $3"},
    {"lock_head", "SELECT next_leaf FROM log_head WHERE id = 1 FOR UPDATE"},
    {"set_head", "UPDATE log_head SET next_leaf = $1 WHERE id = 1"},
};

static PGresult *old_run(PGconn *c, const char *name, int n, const char *const *v, const int *len,
                         const int *fmt, ExecStatusType want)
{
	PGresult *res = PQexecPrepared(c, name, n, v, len, fmt, 0);
	cr_assert_eq(PQresultStatus(res), want, "%s: %s", name, PQresultErrorMessage(res));
	return res;
}

/* One batch as the version before stores it: leaf 'leaf' of precinct 9. */
static void old_batch(PGconn *c, const char *leaf)
{
	uint8_t ph[32], lh[32], fig[24] = {0}, bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	memset(ph, 0x5a + leaf[0], sizeof(ph));
	memset(lh, 0x33, sizeof(lh));
	PQclear(PQexec(c, "BEGIN"));
	PQclear(old_run(c, "lock_head", 0, NULL, NULL, NULL, PGRES_TUPLES_OK));
	const char *lv[8] = {leaf,
	                     "9",
	                     "1",
	                     "1",
	                     (const char *)ph,
	                     (const char *)lh,
	                     (const char *)fig,
	                     (const char *)bytes};
	int llen[8] = {0, 0, 0, 0, 32, 32, 24, 8}, lfmt[8] = {0, 0, 0, 0, 1, 1, 1, 1};
	PQclear(old_run(c, "put_leaf", 8, lv, llen, lfmt, PGRES_COMMAND_OK));
	const char *sv[12] = {"1", "KZ-11", "old-node", "1",  "9",  "1",
	                      "1", "0",     "",         leaf, NULL, "old"};
	PQclear(old_run(c, "put_submission", 12, sv, NULL, NULL, PGRES_COMMAND_OK));
	char next[24];
	snprintf(next, sizeof(next), "%d", atoi(leaf) + 1);
	const char *hv[1] = {next};
	PQclear(old_run(c, "set_head", 1, hv, NULL, NULL, PGRES_COMMAND_OK));
	PGresult *res = PQexec(c, "COMMIT");
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
	cr_assert_str_eq(PQcmdStatus(res), "COMMIT");
	PQclear(res);
}

/*
 * An instance of the version before keeps running while a new one migrates
 * the database under it (its statements were prepared before): it goes on
 * storing batches, which get contest '', and reading the log and history,
 * whose columns did not change for it.
 */
Test(store_pg, an_instance_of_the_version_before_keeps_working_after_the_migration, .init = setup,
     .fini = teardown)
{
	char d[1200];
	load_fixture("shared", d, sizeof(d));
	PGconn *old = raw_connect(d);
	for (size_t i = 0; i < sizeof(v2_stmts) / sizeof(v2_stmts[0]); i++) {
		PGresult *res = PQprepare(old, v2_stmts[i][0], v2_stmts[i][1], 0, NULL);
		cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s",
		             PQresultErrorMessage(res));
		PQclear(res);
	}
	old_batch(old, "6");

	struct agg_store *s = open_dsn(d, "new"); /* migrates */
	old_batch(old, "7");
	cr_assert_eq(agg_store_begin(s), 0, "%s", s->last_error);
	put_contest(s, 8, 10, "referendum");
	cr_assert_eq(agg_store_commit(s), 0, "%s", s->last_error);
	old_batch(old, "9");

	struct rows r = leaf_rows(s, 1);
	cr_assert_eq(r.n, 10);
	cr_assert_eq(r.precinct[6], 9);
	cr_assert_str_eq(r.contest[6], "");
	cr_assert_str_eq(r.contest[7], "");
	cr_assert_str_eq(r.contest[8], "referendum");
	cr_assert_str_eq(r.contest[9], "");
	cr_assert_eq(r.leaf_len[9], 8);
	struct rows h = history_rows(s, 9, "");
	cr_assert_eq(h.n, 3);
	/* What the old instance reads: every leaf, its own columns. */
	const char *lv[3] = {"0", "100", "100"};
	PGresult *res = old_run(old, "leaves_bytes", 3, lv, NULL, NULL, PGRES_TUPLES_OK);
	cr_assert_eq(PQntuples(res), 10);
	cr_assert_eq(PQnfields(res), 8);
	cr_assert_str_eq(PQgetvalue(res, 8, 1), "10");
	PQclear(res);
	const char *hv[3] = {"10", "9223372036854775807", "10"};
	res = old_run(old, "history", 3, hv, NULL, NULL, PGRES_TUPLES_OK);
	cr_assert_eq(PQntuples(res), 1);
	cr_assert_eq(PQnfields(res), 9);
	PQclear(res);
	PQfinish(old);
	agg_store_close(s);
}
