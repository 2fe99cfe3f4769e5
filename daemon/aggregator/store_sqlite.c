/*
 * store_sqlite.c: the SQLite backend of store.h. It owns the database file
 * (state_dir/tally.db), its schema and migrations, and the prepared
 * statements; the meaning of the rows is ingest.c's.
 *
 * Durability: WAL journal with synchronous=FULL, so a COMMIT that returned
 * has reached the disk, and one explicit transaction per batch. A failed
 * COMMIT (disk full, I/O error) may leave the transaction open; rollback()
 * ends it. The statements are prepared once, on open, with bound
 * parameters only.
 *
 * Two connections: the writer (this store, used by ingest.c's committer
 * thread during a batch) and a read-only one (s->base.reader) for the event
 * loop's reads, which WAL lets run while a batch is being written and which
 * see only committed rows.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"
#include "tally/log.h"

#define SCHEMA_VERSION 2

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PUT_SUBMISSION,
	ST_PUT_LEAF,
	ST_LEAVES,
	ST_LEAVES_BYTES,
	ST_LEAF_COUNT,
	ST_HISTORY,
	ST_HISTORY_CONTEST,
	ST_SUBMISSION_COUNT,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PUT_SUBMISSION] =
        "INSERT INTO submissions (received_ms, peer_region, peer_node, seq, precinct, "
        "revision, outcome, reject_code, reason, leaf_index, signed, contest) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_PUT_LEAF] = "INSERT INTO log (leaf_index, precinct, revision, outcome, payload_hash, "
                    "leaf_hash, figures, leaf, contest) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_LEAVES] = "SELECT leaf_index, precinct, revision, outcome, payload_hash, leaf_hash, "
                  "figures, contest FROM log WHERE leaf_index >= ?1 AND leaf_index < ?2 "
                  "ORDER BY leaf_index",
    [ST_LEAVES_BYTES] = "SELECT leaf_index, precinct, revision, outcome, payload_hash, "
                        "leaf_hash, figures, contest, leaf FROM log WHERE leaf_index >= ?1 "
                        "AND leaf_index < ?2 ORDER BY leaf_index",
    [ST_LEAF_COUNT] = "SELECT count(*) FROM log",
    /*
     * submissions_by_precinct holds the rowid (id) last, so a page is one
     * index range read backwards. A page of one contest reads the same
     * range and keeps that contest's rows: it reads at most the
     * precinct's own submissions. An index on (precinct, contest) would
     * spare that, but every insert would pay for it: at 300,000 precincts
     * and 6 contests it cost 5 % of the ingest rate (commits of ~265
     * results took 3.4 ms instead of 2.8 ms).
     */
    [ST_HISTORY] = "SELECT received_ms, peer_region, peer_node, revision, outcome, "
                   "reject_code, reason, leaf_index, id, contest FROM submissions "
                   "WHERE precinct = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    [ST_HISTORY_CONTEST] = "SELECT received_ms, peer_region, peer_node, revision, outcome, "
                           "reject_code, reason, leaf_index, id, contest FROM submissions "
                           "WHERE precinct = ?1 AND contest = ?4 AND id < ?2 "
                           "ORDER BY id DESC LIMIT ?3",
    [ST_SUBMISSION_COUNT] = "SELECT count(*) FROM submissions",
};

/* Each migration takes the schema from version i to i + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE log ("
    " leaf_index INTEGER PRIMARY KEY,"
    " precinct INTEGER NOT NULL,"
    " revision INTEGER NOT NULL,"
    " outcome INTEGER NOT NULL,"
    " payload_hash BLOB NOT NULL,"
    " leaf_hash BLOB NOT NULL,"
    " figures BLOB NOT NULL,"
    " leaf BLOB NOT NULL);"
    "CREATE TABLE submissions ("
    " id INTEGER PRIMARY KEY,"
    " received_ms INTEGER NOT NULL,"
    " peer_region TEXT NOT NULL,"
    " peer_node TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " precinct INTEGER,"
    " revision INTEGER,"
    " outcome INTEGER NOT NULL,"
    " reject_code INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " leaf_index INTEGER REFERENCES log (leaf_index),"
    " signed BLOB);"
    "CREATE INDEX submissions_by_precinct ON submissions (precinct) WHERE precinct IS NOT "
    "NULL;",
    /*
     * 2: results per (precinct, contest). Adding a column with a constant
     * default rewrites no row (rows stored before read back ''), so the
     * step costs a few milliseconds whatever the store's size.
     */
    "ALTER TABLE log ADD COLUMN contest TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE submissions ADD COLUMN contest TEXT NOT NULL DEFAULT '';",
};

struct sqlite_store {
	struct agg_store base; /* first: the interface */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	uint64_t leaves;           /* leaves committed or put in this transaction */
	uint64_t leaves_committed; /* at the last commit */
	bool in_tx;
};

static struct sqlite_store *sq(struct agg_store *s)
{
	return (struct sqlite_store *)s;
}

/* SQLite's result code to a negative errno, remembering the message. */
static int fail(struct sqlite_store *s, int rc, const char *what)
{
	snprintf(s->base.last_error, sizeof(s->base.last_error), "%s: %s", what,
	         sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* Runs a statement that returns no rows, and resets it. */
static int run(struct sqlite_store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : fail(s, rc, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static void sqlite_close(struct agg_store *base)
{
	struct sqlite_store *s = sq(base);
	if (s->base.reader)
		sqlite_close(s->base.reader);
	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

static int sqlite_begin(struct agg_store *base)
{
	struct sqlite_store *s = sq(base);
	int r = run(s, ST_BEGIN, "BEGIN");
	if (r == 0)
		s->in_tx = true;
	return r;
}

static int sqlite_commit(struct agg_store *base)
{
	struct sqlite_store *s = sq(base);
	int r = run(s, ST_COMMIT, "COMMIT");
	if (r == 0) {
		s->in_tx = false;
		s->leaves_committed = s->leaves;
	}
	return r;
}

static int sqlite_rollback(struct agg_store *base)
{
	struct sqlite_store *s = sq(base);
	int r = 0;
	/* After a failed COMMIT SQLite may already have rolled back itself. */
	if (!sqlite3_get_autocommit(s->db))
		r = run(s, ST_ROLLBACK, "ROLLBACK");
	s->in_tx = false;
	s->leaves = s->leaves_committed;
	return r;
}

static int sqlite_put_submission(struct agg_store *base, const struct agg_submission_rec *rec)
{
	struct sqlite_store *s = sq(base);
	sqlite3_stmt *st = s->st[ST_PUT_SUBMISSION];
	sqlite3_bind_int64(st, 1, (sqlite3_int64)rec->received_ms);
	sqlite3_bind_text(st, 2, rec->peer_region, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->peer_node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->seq);
	if (rec->precinct != 0) {
		sqlite3_bind_int64(st, 5, rec->precinct);
		sqlite3_bind_int64(st, 6, rec->revision);
	} else {
		sqlite3_bind_null(st, 5);
		sqlite3_bind_null(st, 6);
	}
	sqlite3_bind_int(st, 7, (int)rec->outcome);
	sqlite3_bind_int(st, 8, (int)rec->code);
	sqlite3_bind_text(st, 9, rec->reason ? rec->reason : "", -1, SQLITE_STATIC);
	if (rec->leaf_index >= 0)
		sqlite3_bind_int64(st, 10, rec->leaf_index);
	else
		sqlite3_bind_null(st, 10);
	if (rec->signed_bytes)
		sqlite3_bind_blob(st, 11, rec->signed_bytes, (int)rec->signed_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	sqlite3_bind_text(st, 12, rec->contest ? rec->contest : "", -1, SQLITE_STATIC);
	return run(s, ST_PUT_SUBMISSION, "storing a submission");
}

static int sqlite_put_leaf(struct agg_store *base, const struct agg_leaf_rec *rec)
{
	struct sqlite_store *s = sq(base);
	sqlite3_stmt *st = s->st[ST_PUT_LEAF];
	if (rec->leaf_index != s->leaves) {
		snprintf(s->base.last_error, sizeof(s->base.last_error),
		         "log leaf %llu is not the next one (%llu)",
		         (unsigned long long)rec->leaf_index, (unsigned long long)s->leaves);
		return -ERANGE;
	}
	uint8_t fig[4 * AGG_STORE_MAX_FIGURES];
	size_t n = rec->n_figures;
	if (n > AGG_STORE_MAX_FIGURES)
		return -EINVAL;
	agg_store_figures_pack(rec->figures, n, fig);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)rec->leaf_index);
	sqlite3_bind_int64(st, 2, rec->precinct);
	sqlite3_bind_int64(st, 3, rec->revision);
	sqlite3_bind_int(st, 4, (int)rec->outcome);
	sqlite3_bind_blob(st, 5, rec->payload_hash, TALLY_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, rec->leaf_hash, TALLY_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, fig, (int)(4 * n), SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, rec->leaf, (int)rec->leaf_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, rec->contest ? rec->contest : "", -1, SQLITE_STATIC);
	int r = run(s, ST_PUT_LEAF, "storing a log leaf");
	if (r == 0)
		s->leaves++;
	return r;
}

static int sqlite_leaves(struct agg_store *base, uint64_t start, uint64_t end, int with_bytes,
                         agg_store_leaf_cb cb, void *data)
{
	struct sqlite_store *s = sq(base);
	sqlite3_stmt *st = s->st[with_bytes ? ST_LEAVES_BYTES : ST_LEAVES];
	uint32_t fig[AGG_STORE_MAX_FIGURES];
	int r = 0, rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
	sqlite3_bind_int64(st, 2, end > INT64_MAX ? INT64_MAX : (sqlite3_int64)end);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct agg_leaf_rec rec = {0};
		int ph_len = sqlite3_column_bytes(st, 4), lh_len = sqlite3_column_bytes(st, 5);
		const uint8_t *f = sqlite3_column_blob(st, 6);
		size_t flen = (size_t)sqlite3_column_bytes(st, 6);
		if (ph_len != TALLY_HASH_BYTES || lh_len != TALLY_HASH_BYTES || flen % 4 != 0 ||
		    flen / 4 > AGG_STORE_MAX_FIGURES) {
			snprintf(s->base.last_error, sizeof(s->base.last_error),
			         "log leaf %lld has a damaged row",
			         (long long)sqlite3_column_int64(st, 0));
			r = -EIO;
			break;
		}
		agg_store_figures_unpack(f, flen / 4, fig);
		rec.leaf_index = (uint64_t)sqlite3_column_int64(st, 0);
		rec.precinct = (uint32_t)sqlite3_column_int64(st, 1);
		rec.revision = (uint32_t)sqlite3_column_int64(st, 2);
		rec.outcome = (enum tally_outcome)sqlite3_column_int(st, 3);
		rec.payload_hash = sqlite3_column_blob(st, 4);
		rec.leaf_hash = sqlite3_column_blob(st, 5);
		rec.figures = fig;
		rec.n_figures = flen / 4;
		rec.contest = (const char *)sqlite3_column_text(st, 7);
		if (!rec.contest)
			rec.contest = "";
		if (with_bytes) {
			rec.leaf = sqlite3_column_blob(st, 8);
			rec.leaf_len = (size_t)sqlite3_column_bytes(st, 8);
		}
		r = cb(&rec, data);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = fail(s, rc, "reading the log");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int count(struct sqlite_store *s, enum stmt_id id, uint64_t *ret)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_step(st);
	int r = 0;
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	else
		r = fail(s, rc, "counting rows");
	sqlite3_reset(st);
	return r;
}

static int sqlite_leaf_count(struct agg_store *base, uint64_t *ret)
{
	return count(sq(base), ST_LEAF_COUNT, ret);
}

static int sqlite_submission_count(struct agg_store *base, uint64_t *ret)
{
	return count(sq(base), ST_SUBMISSION_COUNT, ret);
}

static int sqlite_history(struct agg_store *base, uint32_t precinct, const char *contest,
                          uint64_t before, uint32_t limit, agg_store_history_cb cb, void *data)
{
	struct sqlite_store *s = sq(base);
	sqlite3_stmt *st = s->st[contest ? ST_HISTORY_CONTEST : ST_HISTORY];
	int r = 0, rc;
	sqlite3_bind_int64(st, 1, precinct);
	sqlite3_bind_int64(st, 2, before > INT64_MAX ? INT64_MAX : (sqlite3_int64)before);
	sqlite3_bind_int64(st, 3, limit);
	if (contest)
		sqlite3_bind_text(st, 4, contest, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct agg_history_rec h = {0};
		h.received_ms = (uint64_t)sqlite3_column_int64(st, 0);
		h.peer_region = (const char *)sqlite3_column_text(st, 1);
		h.peer_node = (const char *)sqlite3_column_text(st, 2);
		h.revision = (uint32_t)sqlite3_column_int64(st, 3);
		h.outcome = (enum tally_outcome)sqlite3_column_int(st, 4);
		h.code = (enum tally_reject_code)sqlite3_column_int(st, 5);
		h.reason = (const char *)sqlite3_column_text(st, 6);
		h.leaf_index =
		    sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 7);
		h.id = (uint64_t)sqlite3_column_int64(st, 8);
		h.contest = (const char *)sqlite3_column_text(st, 9);
		if (!h.contest)
			h.contest = "";
		r = cb(&h, data);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = fail(s, rc, "reading a precinct's history");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static const struct agg_store_ops sqlite_ops = {
    .name = "sqlite",
    .writes_off_loop = true,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .put_submission = sqlite_put_submission,
    .put_leaf = sqlite_put_leaf,
    .leaves = sqlite_leaves,
    .leaf_count = sqlite_leaf_count,
    .history = sqlite_history,
    .submission_count = sqlite_submission_count,
};

static int exec(struct sqlite_store *s, const char *sql, const char *what, struct tally_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	int r = fail(s, rc, what);
	tally_err_set(err, r, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return r;
}

static int single_int(struct sqlite_store *s, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK || rc == SQLITE_DONE ? (rc == SQLITE_DONE ? 1 : 0) : -1;
}

/* Brings the schema to SCHEMA_VERSION, one transaction per step. */
static int migrate(struct sqlite_store *s, const char *path, struct tally_err *err)
{
	int r = exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	             "creating schema_version", err);
	if (r < 0)
		return r;
	int64_t v = 0;
	int got = single_int(s, "SELECT max(version) FROM schema_version", &v);
	if (got < 0)
		return tally_err_set(err, -EIO, "%s: reading schema_version: %s", path,
		                     sqlite3_errmsg(s->db));
	if (v > SCHEMA_VERSION)
		return tally_err_set(err, -EINVAL,
		                     "%s: schema version %lld is newer than this tally-aggregator "
		                     "knows (%d); run the newer version",
		                     path, (long long)v, SCHEMA_VERSION);
	/* The step and its version row commit together: a crash (or a full
	 * disk) in the middle leaves the schema as it was, and the next start
	 * runs the step again from the beginning. */
	for (int64_t i = v; i < SCHEMA_VERSION; i++) {
		char ins[96];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		snprintf(ins, sizeof(ins), "INSERT INTO schema_version (version) VALUES (%lld)",
		         (long long)(i + 1));
		if ((r = exec(s, "BEGIN IMMEDIATE", "migrating", err)) < 0)
			return r;
		if ((r = exec(s, migrations[i], "migrating the schema", err)) < 0 ||
		    (r = exec(s, ins, "migrating the schema", err)) < 0 ||
		    (r = exec(s, "COMMIT", "migrating the schema", err)) < 0) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (v > 0) /* a new store is made, not migrated */
			log_notice("store: %s: schema migrated to version %lld in %.3f s", path,
			           (long long)(i + 1),
			           (double)(t1.tv_sec - t0.tv_sec) +
			               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	return 0;
}

/* Ties the store to one election: results of another must never mix in. */
static int bind_election(struct sqlite_store *s, const char *path, const char *election_id,
                         struct tally_err *err)
{
	sqlite3_stmt *st = NULL;
	int r = 0;
	int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'election_id'", -1,
	                            &st, NULL);
	if (rc != SQLITE_OK)
		return tally_err_set(err, -EIO, "%s: %s", path, sqlite3_errmsg(s->db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *have = (const char *)sqlite3_column_text(st, 0);
		if (!have || strcmp(have, election_id) != 0)
			r = tally_err_set(
			    err, -EINVAL,
			    "%s belongs to election '%s', not '%s': point state_dir at "
			    "a folder of its own for this election",
			    path, have ? have : "", election_id);
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tally_err_set(err, -EIO, "%s: %s", path, sqlite3_errmsg(s->db));
	rc = sqlite3_prepare_v2(s->db, "INSERT INTO meta (key, value) VALUES ('election_id', ?1)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, election_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tally_err_set(err, -EIO, "%s: recording the election id: %s", path,
		                     sqlite3_errmsg(s->db));
	return 0;
}

/* Opens one connection to path, as every connection of the store is set up. */
static int connect_db(struct sqlite_store *s, const char *path, int flags, struct tally_err *err)
{
	int rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return tally_err_set(err, -EACCES,
		                     "%s: cannot open%s: %s (check state_dir's permissions)", path,
		                     flags & SQLITE_OPEN_READONLY ? " for reading" : "",
		                     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	return 0;
}

/* The statements, once the schema is there. */
static int prepare(struct sqlite_store *s, const char *path, struct tally_err *err)
{
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &s->st[i], NULL);
		if (rc != SQLITE_OK)
			return tally_err_set(err, -EIO, "%s: preparing '%s': %s", path, stmt_sql[i],
			                     sqlite3_errmsg(s->db));
	}
	return 0;
}

/* The event loop's read-only connection to the same file (writes through
 * it fail with SQLITE_READONLY). */
static int open_reader(const char *path, struct agg_store **ret, struct tally_err *err)
{
	int r;
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &sqlite_ops;
	if ((r = connect_db(s, path, SQLITE_OPEN_READONLY, err)) < 0 ||
	    (r = prepare(s, path, err)) < 0)
		goto fail;
	*ret = &s->base;
	return 0;
fail:
	sqlite_close(&s->base);
	return r;
}

int agg_store_sqlite_open(const char *state_dir, const char *election_id, struct agg_store **ret,
                          struct tally_err *err)
{
	char path[4096];
	int r;
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &sqlite_ops;
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		r = tally_err_set(err, -errno, "state_dir '%s': cannot create it: %s", state_dir,
		                  strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/tally.db", state_dir);
	if ((r = connect_db(s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err)) < 0 ||
	    (r = exec(s, "PRAGMA journal_mode = WAL", "enabling WAL", err)) < 0 ||
	    (r = exec(s, "PRAGMA synchronous = FULL", "setting synchronous = FULL", err)) < 0 ||
	    (r = migrate(s, path, err)) < 0 || (r = bind_election(s, path, election_id, err)) < 0)
		goto fail;
	if ((r = prepare(s, path, err)) < 0)
		goto fail;
	if ((r = count(s, ST_LEAF_COUNT, &s->leaves)) < 0) {
		tally_err_set(err, r, "%s: %s", path, s->base.last_error);
		goto fail;
	}
	s->leaves_committed = s->leaves;
	if ((r = open_reader(path, &s->base.reader, err)) < 0)
		goto fail;
	*ret = &s->base;
	return 0;
fail:
	sqlite_close(&s->base);
	return r;
}
