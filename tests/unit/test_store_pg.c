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
 */
#include <criterion/criterion.h>
#include <errno.h>
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
	cr_assert_eq(agg_store_put_leaf(s, &l), 0, "%s", s->last_error);
	struct agg_submission_rec rec = {.received_ms = 1000 + leaf,
	                                 .peer_region = "KZ-10",
	                                 .peer_node = "node-1",
	                                 .seq = leaf + 1,
	                                 .precinct = precinct,
	                                 .revision = 1,
	                                 .outcome = TALLY_OUTCOME_ACCEPTED,
	                                 .reason = "",
	                                 .leaf_index = (int64_t)leaf};
	cr_assert_eq(agg_store_put_submission(s, &rec), 0, "%s", s->last_error);
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
