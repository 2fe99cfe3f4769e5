/*
 * Tests for the node's spool folder (daemon/node/spool.c) on a real event
 * loop: good files are queued and moved to accepted/, bad ones to rejected/
 * with their exact .error, other names are left alone, a file committed
 * before a crash is only moved, names never overwrite each other, a file is
 * read in processing/ so one renamed in under the same name meanwhile is
 * read too and not filed unread, and what a crash left in processing/ is
 * taken at start, once.
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
/* Runs inside the queued callback: after the commit, before the move. */
static void (*after_commit)(void);

static const char corrected_csv[] =
    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
    "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,yes,no\n"
    "17,2,1500,1400,1200,200,1180,12,3,901,264\n";

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
	after_commit = NULL;
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
	if (after_commit)
		after_commit();
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
	stop(s); /* creates accepted/, rejected/ and processing/ */
	put("processing/north.csv", "one");
	cr_assert_eq(
	    spool_move(spool_dir, "processing", "north.csv", "accepted", final, sizeof(final)), 0);
	cr_assert_str_eq(final, "north.csv");
	put("processing/north.csv", "two");
	cr_assert_eq(
	    spool_move(spool_dir, "processing", "north.csv", "accepted", final, sizeof(final)), 0);
	cr_assert_str_eq(final, "north.1.csv");
	put("processing/north.csv", "three");
	cr_assert_eq(
	    spool_move(spool_dir, "processing", "north.csv", "accepted", final, sizeof(final)), 0);
	cr_assert_str_eq(final, "north.2.csv");
	cr_assert_str_eq(slurp("accepted/north.csv"), "one");
	cr_assert_str_eq(slurp("accepted/north.1.csv"), "two");
	cr_assert_str_eq(slurp("accepted/north.2.csv"), "three");
}

/* processing/ as a node that crashed made it. */
static void make_processing(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/processing", spool_dir);
	cr_assert_eq(mkdir(path, 0750), 0);
}

/* The documented way to put a file in: write another name, rename into place. */
static void rename_in(const char *name, const char *text)
{
	char tmp_name[128], from[256], to[256];

	snprintf(tmp_name, sizeof(tmp_name), ".%s.tmp", name);
	put(tmp_name, text);
	snprintf(from, sizeof(from), "%s/%s", spool_dir, tmp_name);
	snprintf(to, sizeof(to), "%s/%s", spool_dir, name);
	cr_assert_eq(rename(from, to), 0);
}

static int replaced;

/* The operator's correction lands while the first north.csv is committed. */
static void replace_north(void)
{
	if (replaced++ == 0)
		rename_in("north.csv", corrected_csv);
}

static bool both_filed(void)
{
	return present("accepted/north.csv") && present("accepted/north.1.csv") &&
	       !present("north.csv") && !present("processing/north.csv");
}

Test(spool, a_file_renamed_in_under_the_same_name_during_the_commit_is_read_not_filed_unread)
{
	struct spool *s;

	replaced = 0;
	after_commit = replace_north;
	put("north.csv", good_csv);
	s = start();
	cr_assert(run_until(both_filed), "the correction was not taken as a file of its own");
	cr_assert_eq(replaced, 2);
	cr_assert_str_eq(slurp("accepted/north.csv"), good_csv);
	cr_assert_str_eq(slurp("accepted/north.1.csv"), corrected_csv);
	/* Both were read and committed: 2 rows, then the correction's 1. */
	cr_assert_eq(stats().queued, 3);
	cr_assert_eq(stats().files, 2);
	cr_assert_eq(queued_calls, 2);
	stop(s);
}

static bool processing_empty(void)
{
	return !present("processing/north.csv") && !present("north.csv");
}

/* A kill -9 after the move into processing/ and before the commit. */
Test(spool, a_file_left_in_processing_by_a_crash_is_taken_at_start)
{
	struct spool *s;

	make_processing();
	put("processing/north.csv", good_csv);
	s = start();
	cr_assert(run_until(processing_empty), "processing/north.csv was not taken");
	cr_assert_str_eq(slurp("accepted/north.csv"), good_csv);
	cr_assert_eq(stats().queued, 2);
	cr_assert_eq(stats().files, 1);
	cr_assert_eq(queued_calls, 1);
	stop(s);
}

/* A kill -9 after the commit and before the move out of processing/. */
Test(spool, a_file_committed_then_left_in_processing_by_a_crash_is_moved_not_queued_again)
{
	struct intake_report r;
	struct spool *s;

	cr_assert_eq(intake_take(&in, "north.csv", (const uint8_t *)good_csv, strlen(good_csv), &r),
	             0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
	make_processing();
	put("processing/north.csv", good_csv);

	s = start();
	cr_assert(run_until(processing_empty), "processing/north.csv was not moved");
	cr_assert_str_eq(slurp("accepted/north.csv"), good_csv);
	cr_assert_eq(stats().queued, 2);
	cr_assert_eq(stats().files, 1);
	cr_assert_eq(queued_calls, 0);
	stop(s);
}

/* A crash left north.csv in processing/ and the operator dropped a new one. */
Test(spool, a_file_in_processing_goes_before_a_new_one_of_the_same_name)
{
	struct spool *s;

	make_processing();
	put("processing/north.csv", good_csv);
	rename_in("north.csv", corrected_csv);
	s = start();
	cr_assert(run_until(both_filed), "the two files were not both taken");
	cr_assert_str_eq(slurp("accepted/north.csv"), good_csv);
	cr_assert_str_eq(slurp("accepted/north.1.csv"), corrected_csv);
	cr_assert_eq(stats().queued, 3);
	cr_assert_eq(queued_calls, 2);
	stop(s);
}

Test(spool, missing_folder_is_an_error_naming_it)
{
	struct tally_err err = {{0}};
	struct spool *s = NULL;

	cr_assert_eq(spool_init(&loop, "/nonexistent/spool", &in, &problems, NULL, NULL, &s, &err),
	             -ENOENT);
	cr_assert_str_eq(err.msg, "spool_dir '/nonexistent/spool': No such file or directory");
}
