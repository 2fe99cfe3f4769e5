/*
 * Tests for the node's spool folder (daemon/node/spool.c) on a real event
 * loop: good files are queued and moved to accepted/, bad ones to rejected/
 * with their exact .error, other names are left alone, a file committed
 * before a crash is only moved, and names never overwrite each other.
 * Every test ends with uv_loop_close() == 0: no handle left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "node/spool.h"

static const char definition[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": ["
    "    {\"id\": 17, \"registered\": 1500}, {\"id\": 18, \"registered\": 900}]}]}";

static const char good_csv[] =
    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
    "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,yes,no\n"
    "17,1,1500,1400,1200,200,1180,12,3,900,265\n"
    "18,1,900,800,700,100,690,0,0,400,290\n";

static char tmp[64], spool_dir[96];
static struct tally_election *election;
static struct tally_signing_key key;
static struct outbox *ob;
static struct intake in;
static struct problems problems;
static uv_loop_t loop;
static int queued_calls;

static void setup(void)
{
	struct tally_err err = {{0}};
	char tmpl[] = "/tmp/tally-spool-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(tmp, sizeof(tmp), "%s", tmpl);
	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", tmp);
	cr_assert_eq(mkdir(spool_dir, 0750), 0);
	cr_assert_eq(tally_sign_init(), 0);
	cr_assert_eq(tally_election_parse(definition, strlen(definition), &election, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(tally_sign_generate(&key), 0);
	cr_assert_eq(outbox_open(tmp, &ob, &err), 0, "%s", err.msg);
	in = (struct intake){election, "KZ-71", &key, ob};
	memset(&problems, 0, sizeof(problems));
	queued_calls = 0;
	cr_assert_eq(uv_loop_init(&loop), 0);
}

static void teardown(void)
{
	char cmd[128];

	cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
	ob = outbox_close(ob);
	election = tally_election_free(election);
	tally_sign_key_wipe(&key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(spool, .init = setup, .fini = teardown, .timeout = 30);

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static bool present(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", spool_dir, rel);
	return access(path, F_OK) == 0;
}

static char *slurp(const char *rel)
{
	static char buf[4096];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, rel);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s missing", rel);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void on_queued(void *arg)
{
	queued_calls++;
}

struct waiter {
	uv_timer_t timer;
	bool (*done)(void);
	uint64_t deadline;
	bool met;
};

static void on_check(uv_timer_t *t)
{
	struct waiter *w = t->data;

	if (w->done() || uv_now(t->loop) >= w->deadline) {
		w->met = w->done();
		uv_timer_stop(t);
		uv_stop(t->loop);
	}
}

/* Runs the loop until done() or 5 s. */
static bool run_until(bool (*done)(void))
{
	struct waiter w = {.done = done};

	uv_timer_init(&loop, &w.timer);
	w.timer.data = &w;
	w.deadline = uv_now(&loop) + 5000;
	uv_timer_start(&w.timer, on_check, 10, 10);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&w.timer, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return w.met;
}

static struct spool *start(void)
{
	struct tally_err err = {{0}};
	struct spool *s = NULL;

	cr_assert_eq(spool_init(&loop, spool_dir, &in, &problems, on_queued, NULL, &s, &err), 0,
	             "%s", err.msg);
	return s;
}

static void stop(struct spool *s)
{
	spool_close(s, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static struct outbox_stats stats(void)
{
	struct outbox_stats st;

	cr_assert_eq(outbox_stats(ob, &st), 0);
	return st;
}

static bool north_moved(void)
{
	return !present("north.csv");
}

Test(spool, good_file_is_queued_and_moved_to_accepted)
{
	struct spool *s;

	put("north.csv", good_csv);
	s = start();
	cr_assert(run_until(north_moved), "north.csv still in the spool");
	cr_assert(present("accepted/north.csv"));
	cr_assert_str_eq(slurp("accepted/north.csv"), good_csv);
	cr_assert_eq(stats().queued, 2);
	cr_assert_eq(queued_calls, 1);
	stop(s);
}

static bool bad_moved(void)
{
	return !present("bad.json");
}

Test(spool, bad_file_goes_to_rejected_with_its_error_file)
{
	struct spool *s;

	put("bad.json", "{\"precinct_id\": 17, \"revision\": 1, \"voters_registered\": 1500,"
	                " \"ballots_received\": 1400, \"ballots_issued\": 1200,"
	                " \"ballots_cancelled\": 100, \"ballots_cast\": 1180,"
	                " \"ballots_invalid\": 15, \"votes\": {\"yes\": 900, \"no\": 265}}\n");
	s = start();
	cr_assert(run_until(bad_moved));
	cr_assert(present("rejected/bad.json"));
	cr_assert_str_eq(slurp("rejected/bad.json.error"),
	                 "line 1: precinct 17: received = issued + cancelled: ballots_received "
	                 "(1400) != ballots_issued (1200) + ballots_cancelled (100) = 1300\n");
	cr_assert_eq(stats().queued, 0);
	cr_assert_eq(queued_calls, 0);
	cr_assert_eq(problems.n, 1);
	stop(s);
}

static bool late_moved(void)
{
	return !present("late.csv");
}

Test(spool, other_names_are_left_alone_and_new_files_are_noticed)
{
	struct spool *s;

	put("north.csv.tmp", good_csv);
	put(".hidden.csv", good_csv);
	put("notes.txt", "hello");
	s = start();
	/* Let the first pass run, then drop a file while the node watches. */
	uv_run(&loop, UV_RUN_NOWAIT);
	put("late.csv", good_csv);
	cr_assert(run_until(late_moved));
	cr_assert(present("north.csv.tmp"));
	cr_assert(present(".hidden.csv"));
	cr_assert(present("notes.txt"));
	cr_assert(present("accepted/late.csv"));
	cr_assert_eq(stats().queued, 2);
	stop(s);
}

Test(spool, a_file_committed_before_a_crash_is_moved_not_queued_again)
{
	struct intake_report r;
	struct spool *s;

	/* The node committed north.csv and died before moving it. */
	cr_assert_eq(intake_take(&in, "north.csv", (const uint8_t *)good_csv, strlen(good_csv), &r),
	             0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
	put("north.csv", good_csv);

	s = start();
	cr_assert(run_until(north_moved));
	cr_assert(present("accepted/north.csv"));
	cr_assert_eq(stats().queued, 2);
	cr_assert_eq(stats().files, 1);
	cr_assert_eq(queued_calls, 0);
	stop(s);
}

Test(spool, names_in_accepted_are_never_overwritten)
{
	char final[256];
	struct spool *s;

	s = start();
	stop(s); /* creates accepted/ and rejected/ */
	put("north.csv", "one");
	cr_assert_eq(spool_move(spool_dir, "accepted", "north.csv", final, sizeof(final)), 0);
	cr_assert_str_eq(final, "north.csv");
	put("north.csv", "two");
	cr_assert_eq(spool_move(spool_dir, "accepted", "north.csv", final, sizeof(final)), 0);
	cr_assert_str_eq(final, "north.1.csv");
	put("north.csv", "three");
	cr_assert_eq(spool_move(spool_dir, "accepted", "north.csv", final, sizeof(final)), 0);
	cr_assert_str_eq(final, "north.2.csv");
	cr_assert_str_eq(slurp("accepted/north.csv"), "one");
	cr_assert_str_eq(slurp("accepted/north.1.csv"), "two");
	cr_assert_str_eq(slurp("accepted/north.2.csv"), "three");
}

Test(spool, missing_folder_is_an_error_naming_it)
{
	struct tally_err err = {{0}};
	struct spool *s = NULL;

	cr_assert_eq(spool_init(&loop, "/nonexistent/spool", &in, &problems, NULL, NULL, &s, &err),
	             -ENOENT);
	cr_assert_str_eq(err.msg, "spool_dir '/nonexistent/spool': No such file or directory");
}
