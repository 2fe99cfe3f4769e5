/*
 * Tests for the node's outbox (daemon/node/outbox.c): entries keep their
 * exact bytes, come out in id order, move once from queued to delivered or
 * rejected, and survive closing and reopening; files are remembered by hash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "node/outbox.h"

static char dir[64];
static struct outbox *ob;

static void open_it(void)
{
	struct tally_err err = {{0}};

	cr_assert_eq(outbox_open(dir, &ob, &err), 0, "%s", err.msg);
}

static void setup(void)
{
	char tmpl[] = "/tmp/tally-outbox-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	/* A folder that does not exist yet: outbox_open creates it. */
	snprintf(dir, sizeof(dir), "%s/state", tmpl);
	open_it();
}

static void teardown(void)
{
	char cmd[128];

	ob = outbox_close(ob);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(outbox, .init = setup, .fini = teardown);

static const uint8_t file_a[32] = {1, 2, 3};
static const uint8_t file_b[32] = {9, 9, 9};

static int64_t add(uint32_t precinct, uint32_t revision, const char *bytes)
{
	uint8_t hash[TALLY_HASH_BYTES] = {(uint8_t)precinct};
	struct outbox_entry e = {
	    .precinct_id = precinct,
	    .revision = revision,
	    .source = "north.csv",
	    .line = precinct + 1,
	    .payload_hash = hash,
	    .signed_bytes = (const uint8_t *)bytes,
	    .signed_len = strlen(bytes),
	};
	int64_t id = 0;

	cr_assert_eq(outbox_add(ob, &e, file_a, &id), 0, "%s", outbox_errmsg(ob));
	return id;
}

Test(outbox, entries_come_back_in_id_order_with_exact_bytes)
{
	struct outbox_item it[8];
	size_t n = 0;
	int64_t a, b, c;

	cr_assert_eq(outbox_begin(ob), 0);
	a = add(17, 1, "first");
	b = add(18, 1, "second\x01");
	c = add(19, 2, "third");
	cr_assert_eq(outbox_commit(ob), 0);
	cr_assert(a < b && b < c);

	cr_assert_eq(outbox_fetch(ob, 0, 8, it, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(it[0].id, a);
	cr_assert_eq(it[0].precinct_id, 17);
	cr_assert_eq(it[1].signed_len, 7);
	cr_assert_eq(memcmp(it[1].signed_bytes, "second\x01", 7), 0);
	cr_assert_eq(it[2].revision, 2);
	for (size_t i = 0; i < n; i++)
		outbox_item_clear(&it[i]);

	/* After a given id, and limited. */
	cr_assert_eq(outbox_fetch(ob, a, 1, it, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(it[0].id, b);
	outbox_item_clear(&it[0]);
	cr_assert_eq(outbox_fetch(ob, c, 8, it, &n), 0);
	cr_assert_eq(n, 0);
}

Test(outbox, answers_move_an_entry_once)
{
	struct outbox_stats st;
	struct outbox_item it[4];
	struct outbox_record rec[4];
	size_t n = 0;
	bool changed;
	int64_t a, b, c;

	cr_assert_eq(outbox_begin(ob), 0);
	a = add(17, 1, "a");
	b = add(18, 1, "b");
	c = add(19, 1, "c");
	cr_assert_eq(outbox_commit(ob), 0);

	cr_assert_eq(outbox_mark_delivered(ob, a, TALLY_OUTCOME_ACCEPTED, &changed), 0);
	cr_assert(changed);
	cr_assert_eq(
	    outbox_mark_rejected(ob, b, TALLY_REJECT_FAILED_CONTROL, "cast > issued", &changed), 0);
	cr_assert(changed);
	/* A rejected entry never becomes delivered, nor a delivered one rejected. */
	cr_assert_eq(outbox_mark_delivered(ob, b, TALLY_OUTCOME_ACCEPTED, &changed), 0);
	cr_assert(!changed);
	cr_assert_eq(outbox_mark_rejected(ob, a, TALLY_REJECT_MALFORMED, "x", &changed), 0);
	cr_assert(!changed);

	cr_assert_eq(outbox_fetch(ob, 0, 4, it, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(it[0].id, c);
	outbox_item_clear(&it[0]);

	cr_assert_eq(outbox_stats(ob, &st), 0);
	cr_assert_eq(st.queued, 1);
	cr_assert_eq(st.delivered, 1);
	cr_assert_eq(st.outcomes[TALLY_OUTCOME_ACCEPTED], 1);
	cr_assert_eq(st.rejected, 1);

	cr_assert_eq(outbox_rejections(ob, 4, rec, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(rec[0].id, b);
	cr_assert_eq(rec[0].precinct_id, 18);
	cr_assert_eq(rec[0].code, TALLY_REJECT_FAILED_CONTROL);
	cr_assert_str_eq(rec[0].reason, "cast > issued");
	cr_assert_str_eq(rec[0].source, "north.csv");
	cr_assert_eq(rec[0].line, 19);
	cr_assert_eq(rec[0].state, OUTBOX_REJECTED);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(outbox, resend_puts_deliveries_since_a_time_back_in_the_queue)
{
	struct outbox_stats st;
	struct outbox_item it[8];
	size_t n = 0;
	uint64_t count = 0;
	int64_t a, b, c, d, e, first = -1, since;

	cr_assert_eq(outbox_begin(ob), 0);
	a = add(17, 1, "a");
	b = add(18, 1, "b");
	c = add(19, 1, "c");
	d = add(20, 1, "d");
	e = add(21, 1, "e");
	cr_assert_eq(outbox_commit(ob), 0);
	cr_assert_eq(outbox_mark_delivered(ob, a, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	cr_assert_eq(outbox_mark_delivered(ob, c, TALLY_OUTCOME_DUPLICATE, NULL), 0);
	usleep(20000);
	since = wall_ms();
	usleep(20000);
	cr_assert_eq(outbox_mark_delivered(ob, b, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	cr_assert_eq(outbox_mark_delivered(ob, d, TALLY_OUTCOME_STALE, NULL), 0);
	cr_assert_eq(outbox_mark_rejected(ob, e, TALLY_REJECT_FAILED_CONTROL, "x", NULL), 0);

	/* Only b and d were answered after `since`; e stays rejected. */
	cr_assert_eq(outbox_resend_delivered(ob, since, &count, &first), 0);
	cr_assert_eq(count, 2);
	cr_assert_eq(first, b);
	cr_assert_eq(outbox_fetch(ob, 0, 8, it, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(it[0].id, b);
	cr_assert_eq(it[1].id, d);
	for (size_t i = 0; i < n; i++)
		outbox_item_clear(&it[i]);
	cr_assert_eq(outbox_stats(ob, &st), 0);
	cr_assert_eq(st.queued, 2);
	cr_assert_eq(st.delivered, 2);
	cr_assert_eq(st.outcomes[TALLY_OUTCOME_ACCEPTED], 1);
	cr_assert_eq(st.outcomes[TALLY_OUTCOME_DUPLICATE], 1);
	cr_assert_eq(st.outcomes[TALLY_OUTCOME_STALE], 0);
	cr_assert_eq(st.rejected, 1);

	/* Requeued entries are answered like new ones. */
	cr_assert_eq(outbox_mark_delivered(ob, b, TALLY_OUTCOME_ACCEPTED, NULL), 0);

	/* 0 means every delivery; nothing left to resend gives 0 and id 0. */
	cr_assert_eq(outbox_resend_delivered(ob, 0, &count, &first), 0);
	cr_assert_eq(count, 3);
	cr_assert_eq(first, a);
	cr_assert_eq(outbox_stats(ob, &st), 0);
	cr_assert_eq(st.queued, 4);
	cr_assert_eq(st.delivered, 0);
	cr_assert_eq(st.rejected, 1);
	cr_assert_eq(outbox_resend_delivered(ob, 0, &count, &first), 0);
	cr_assert_eq(count, 0);
	cr_assert_eq(first, 0);
}

Test(outbox, rollback_leaves_nothing)
{
	struct outbox_stats st;
	bool known = true;

	cr_assert_eq(outbox_begin(ob), 0);
	add(17, 1, "a");
	cr_assert_eq(outbox_file_add(ob, file_b, "x.csv", 1), 0);
	outbox_rollback(ob);
	cr_assert_eq(outbox_stats(ob, &st), 0);
	cr_assert_eq(st.queued, 0);
	cr_assert_eq(st.files, 0);
	cr_assert_eq(outbox_file_known(ob, file_b, &known), 0);
	cr_assert(!known);
}

Test(outbox, files_are_known_by_hash_with_their_entries)
{
	struct outbox_record *rec = NULL;
	size_t n = 0;
	bool known = false;
	int64_t a;

	cr_assert_eq(outbox_begin(ob), 0);
	a = add(17, 1, "a");
	add(18, 1, "b");
	cr_assert_eq(outbox_file_add(ob, file_a, "north.csv", 2), 0);
	cr_assert_eq(outbox_commit(ob), 0);
	cr_assert_eq(outbox_mark_delivered(ob, a, TALLY_OUTCOME_DUPLICATE, NULL), 0);

	cr_assert_eq(outbox_file_known(ob, file_a, &known), 0);
	cr_assert(known);
	cr_assert_eq(outbox_file_known(ob, file_b, &known), 0);
	cr_assert(!known);

	cr_assert_eq(outbox_file_entries(ob, file_a, &rec, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(rec[0].precinct_id, 17);
	cr_assert_eq(rec[0].state, OUTBOX_DELIVERED);
	cr_assert_eq(rec[0].outcome, TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(rec[1].precinct_id, 18);
	cr_assert_eq(rec[1].state, OUTBOX_QUEUED);
	free(rec);

	/* The same file twice is refused by the database itself. */
	cr_assert_eq(outbox_begin(ob), 0);
	cr_assert_eq(outbox_file_add(ob, file_a, "again.csv", 2), -EINVAL);
	outbox_rollback(ob);
}

Test(outbox, survives_close_and_reopen)
{
	struct outbox_stats st;
	struct outbox_item it[2];
	size_t n = 0;
	int64_t a, b, c;

	cr_assert_eq(outbox_begin(ob), 0);
	a = add(17, 1, "a");
	b = add(18, 1, "b");
	cr_assert_eq(outbox_commit(ob), 0);
	cr_assert_eq(outbox_mark_delivered(ob, a, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	ob = outbox_close(ob);
	open_it();

	cr_assert_eq(outbox_stats(ob, &st), 0);
	cr_assert_eq(st.queued, 1);
	cr_assert_eq(st.delivered, 1);
	cr_assert_eq(outbox_fetch(ob, 0, 2, it, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(it[0].id, b);
	outbox_item_clear(&it[0]);

	/* Ids are never reused, even after the newest entry is delivered. */
	cr_assert_eq(outbox_mark_delivered(ob, b, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	cr_assert_eq(outbox_begin(ob), 0);
	c = add(19, 1, "c");
	cr_assert_eq(outbox_commit(ob), 0);
	cr_assert_gt(c, b);
}

Test(outbox, database_is_wal_with_full_sync_and_private)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/outbox.db-wal", dir);
	cr_assert_eq(outbox_begin(ob), 0);
	add(17, 1, "a");
	cr_assert_eq(outbox_commit(ob), 0);
	cr_assert_eq(access(path, F_OK), 0, "no WAL file beside the database");
}

Test(outbox, unwritable_state_dir_is_reported)
{
	struct tally_err err = {{0}};
	struct outbox *o = NULL;

	cr_assert_lt(outbox_open("/proc/tally-no-such/state", &o, &err), 0);
	cr_assert_null(o);
	cr_assert_not_null(strstr(err.msg, "/proc/tally-no-such/state"), "%s", err.msg);
}

Test(outbox, oldest_queued_is_the_first_entry_still_to_send)
{
	int64_t t0, t1, t2, at = -1, a, b;

	cr_assert_eq(outbox_oldest_queued(ob, &at), 0);
	cr_assert_eq(at, 0, "empty outbox: 0, got %lld", (long long)at);
	t0 = wall_ms();
	cr_assert_eq(outbox_begin(ob), 0);
	a = add(17, 1, "a");
	cr_assert_eq(outbox_commit(ob), 0);
	t1 = wall_ms();
	usleep(20000);
	cr_assert_eq(outbox_begin(ob), 0);
	b = add(18, 1, "b");
	cr_assert_eq(outbox_commit(ob), 0);
	t2 = wall_ms();

	cr_assert_eq(outbox_oldest_queued(ob, &at), 0);
	cr_assert(at >= t0 && at <= t1, "a queued at %lld, not in [%lld, %lld]", (long long)at,
	          (long long)t0, (long long)t1);
	/* Answered, a is no longer undelivered: b is the oldest. */
	cr_assert_eq(outbox_mark_delivered(ob, a, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	cr_assert_eq(outbox_oldest_queued(ob, &at), 0);
	cr_assert(at >= t1 + 20 && at <= t2, "b queued at %lld, not in [%lld, %lld]", (long long)at,
	          (long long)t1 + 20, (long long)t2);
	cr_assert_eq(outbox_mark_rejected(ob, b, TALLY_REJECT_MALFORMED, "x", NULL), 0);
	cr_assert_eq(outbox_oldest_queued(ob, &at), 0);
	cr_assert_eq(at, 0);
}
