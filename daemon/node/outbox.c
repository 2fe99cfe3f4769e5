/*
 * outbox.c: the node's durable queue in SQLite (see outbox.h for the
 * contract). This is the only node file that knows SQL. It owns the schema,
 * the prepared statements (made once at open, finalized at close) and the
 * conversion of SQLite's result codes to negative errnos; it knows nothing
 * of files, sockets or the aggregator. Durability comes from WAL with
 * synchronous=FULL: a COMMIT returns only after the log is on disk, so an
 * entry survives kill -9 and power loss once outbox_commit() returned 0.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "outbox.h"

enum stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_ADD,
	STMT_FILE_ADD,
	STMT_FILE_KNOWN,
	STMT_FILE_ENTRIES,
	STMT_FETCH,
	STMT_DELIVERED,
	STMT_REJECTED,
	STMT_STATS,
	STMT_FILES,
	STMT_REJECTIONS,
	STMT_RESEND_SPAN,
	STMT_RESEND,
	STMT_OLDEST,
	STMT_COUNT,
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_ADD] = "INSERT INTO entries (precinct_id, revision, source, line, payload_sha256,"
                 " file_sha256, signed, state, queued_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
    [STMT_FILE_ADD] = "INSERT INTO files (sha256, name, rows, at_ms) VALUES (?, ?, ?, ?)",
    [STMT_FILE_KNOWN] = "SELECT 1 FROM files WHERE sha256 = ?",
    [STMT_FILE_ENTRIES] = "SELECT id, precinct_id, revision, line, state, outcome, code, reason,"
                          " source, done_at_ms FROM entries WHERE file_sha256 = ? ORDER BY id",
    [STMT_FETCH] = "SELECT id, precinct_id, revision, signed FROM entries"
                   " WHERE state = 0 AND id > ? ORDER BY id LIMIT ?",
    [STMT_DELIVERED] = "UPDATE entries SET state = 1, outcome = ?, done_at_ms = ?"
                       " WHERE id = ? AND state = 0",
    [STMT_REJECTED] = "UPDATE entries SET state = 2, code = ?, reason = ?, done_at_ms = ?"
                      " WHERE id = ? AND state = 0",
    [STMT_STATS] = "SELECT state, coalesce(outcome, 0), count(*) FROM entries"
                   " GROUP BY state, coalesce(outcome, 0)",
    [STMT_FILES] = "SELECT count(*) FROM files",
    [STMT_REJECTIONS] = "SELECT id, precinct_id, revision, line, state, outcome, code, reason,"
                        " source, done_at_ms FROM entries WHERE state = 2"
                        " ORDER BY done_at_ms DESC, id DESC LIMIT ?",
    [STMT_RESEND_SPAN] =
        "SELECT count(*), min(id) FROM entries WHERE state = 1 AND done_at_ms >= ?",
    [STMT_RESEND] = "UPDATE entries SET state = 0, outcome = NULL, done_at_ms = NULL"
                    " WHERE state = 1 AND done_at_ms >= ?",
    [STMT_OLDEST] = "SELECT queued_at_ms FROM entries WHERE state = 0 ORDER BY id LIMIT 1",
};

/*
 * entries.state: 0 queued, 1 delivered (outcome set), 2 rejected (code and
 * reason set). The partial index keeps the sender's scan of queued entries
 * cheap however many were delivered before.
 */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS entries ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " precinct_id INTEGER NOT NULL,"
    " revision INTEGER NOT NULL,"
    " source TEXT NOT NULL,"
    " line INTEGER NOT NULL,"
    " payload_sha256 BLOB NOT NULL,"
    " file_sha256 BLOB,"
    " signed BLOB NOT NULL,"
    " state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),"
    " outcome INTEGER,"
    " code INTEGER,"
    " reason TEXT,"
    " queued_at_ms INTEGER NOT NULL,"
    " done_at_ms INTEGER);"
    "CREATE INDEX IF NOT EXISTS entries_queued ON entries (id) WHERE state = 0;"
    "CREATE INDEX IF NOT EXISTS entries_file ON entries (file_sha256);"
    "CREATE TABLE IF NOT EXISTS files ("
    " sha256 BLOB PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " rows INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL);";

struct outbox {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SQLite's primary result code as a negative errno, at the module edge. */
static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_CONSTRAINT:
		return -EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* Runs a prepared statement that returns no rows; resets it either way. */
static int run(struct outbox *o, enum stmt s)
{
	int rc = sqlite3_step(o->stmt[s]);

	sqlite3_reset(o->stmt[s]);
	sqlite3_clear_bindings(o->stmt[s]);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

static int done(struct outbox *o, enum stmt s, int rc)
{
	sqlite3_reset(o->stmt[s]);
	sqlite3_clear_bindings(o->stmt[s]);
	return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK ? 0 : sql_errno(rc);
}

int outbox_open(const char *state_dir, struct outbox **ret, struct tally_err *err)
{
	struct outbox *o;
	char path[PATH_MAX];
	char *msg = NULL;
	int rc, e;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return tally_err_set(err, -errno, "state_dir '%s': %s", state_dir, strerror(errno));
	if (snprintf(path, sizeof(path), "%s/outbox.db", state_dir) >= (int)sizeof(path))
		return tally_err_set(err, -ENAMETOOLONG, "state_dir '%s': path too long",
		                     state_dir);
	o = calloc(1, sizeof(*o));
	if (!o)
		return tally_err_set(err, -ENOMEM, "out of memory");

	rc = sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		e = tally_err_set(err, sql_errno(rc), "%s: %s", path,
		                  o->db ? sqlite3_errmsg(o->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(o->db, 0);
	/*
	 * WAL with synchronous=FULL syncs the log on every commit: what
	 * outbox_commit() returned 0 for is on disk. journal_mode answers with
	 * a row, so it goes through exec, whose callback we do not need.
	 */
	rc = sqlite3_exec(o->db,
	                  "PRAGMA journal_mode = WAL;"
	                  "PRAGMA synchronous = FULL;"
	                  "PRAGMA foreign_keys = ON;",
	                  NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(o->db, schema, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		e = tally_err_set(err, sql_errno(rc), "%s: %s", path,
		                  msg ? msg : sqlite3_errstr(rc));
		goto fail;
	}
	for (int i = 0; i < STMT_COUNT; i++) {
		rc = sqlite3_prepare_v3(o->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &o->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			e = tally_err_set(err, sql_errno(rc), "%s: preparing '%s': %s", path,
			                  stmt_sql[i], sqlite3_errmsg(o->db));
			goto fail;
		}
	}
	*ret = o;
	return 0;
fail:
	sqlite3_free(msg);
	outbox_close(o);
	return e;
}

struct outbox *outbox_close(struct outbox *o)
{
	if (!o)
		return NULL;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(o->stmt[i]);
	sqlite3_close(o->db);
	free(o);
	return NULL;
}

const char *outbox_errmsg(const struct outbox *o)
{
	return o && o->db ? sqlite3_errmsg(o->db) : "no database";
}

int outbox_begin(struct outbox *o)
{
	return run(o, STMT_BEGIN);
}

int outbox_commit(struct outbox *o)
{
	int e = run(o, STMT_COMMIT);

	/* A failed COMMIT may leave the transaction open; end it here. */
	if (e < 0 && !sqlite3_get_autocommit(o->db))
		outbox_rollback(o);
	return e;
}

void outbox_rollback(struct outbox *o)
{
	if (!sqlite3_get_autocommit(o->db))
		(void)run(o, STMT_ROLLBACK);
}

int outbox_add(struct outbox *o, const struct outbox_entry *e, const uint8_t file_hash[32],
               int64_t *ret_id)
{
	sqlite3_stmt *st = o->stmt[STMT_ADD];
	int rc;

	sqlite3_bind_int64(st, 1, e->precinct_id);
	sqlite3_bind_int64(st, 2, e->revision);
	sqlite3_bind_text(st, 3, e->source ? e->source : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, e->line);
	sqlite3_bind_blob(st, 5, e->payload_hash, TALLY_HASH_BYTES, SQLITE_STATIC);
	if (file_hash)
		sqlite3_bind_blob(st, 6, file_hash, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_blob(st, 7, e->signed_bytes, (int)e->signed_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && ret_id)
		*ret_id = sqlite3_last_insert_rowid(o->db);
	return done(o, STMT_ADD, rc);
}

int outbox_file_add(struct outbox *o, const uint8_t file_hash[32], const char *name, size_t n_rows)
{
	sqlite3_stmt *st = o->stmt[STMT_FILE_ADD];

	sqlite3_bind_blob(st, 1, file_hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)n_rows);
	sqlite3_bind_int64(st, 4, now_ms());
	return run(o, STMT_FILE_ADD);
}

int outbox_file_known(struct outbox *o, const uint8_t file_hash[32], bool *ret)
{
	sqlite3_stmt *st = o->stmt[STMT_FILE_KNOWN];
	int rc;

	sqlite3_bind_blob(st, 1, file_hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW;
	return done(o, STMT_FILE_KNOWN, rc);
}

static void read_record(sqlite3_stmt *st, struct outbox_record *r)
{
	const unsigned char *txt;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->precinct_id = (uint32_t)sqlite3_column_int64(st, 1);
	r->revision = (uint32_t)sqlite3_column_int64(st, 2);
	r->line = (uint32_t)sqlite3_column_int64(st, 3);
	r->state = (enum outbox_state)sqlite3_column_int(st, 4);
	r->outcome = (enum tally_outcome)sqlite3_column_int(st, 5);
	r->code = (enum tally_reject_code)sqlite3_column_int(st, 6);
	if ((txt = sqlite3_column_text(st, 7)))
		snprintf(r->reason, sizeof(r->reason), "%s", (const char *)txt);
	if ((txt = sqlite3_column_text(st, 8)))
		snprintf(r->source, sizeof(r->source), "%s", (const char *)txt);
	r->done_at_ms = sqlite3_column_int64(st, 9);
}

int outbox_file_entries(struct outbox *o, const uint8_t file_hash[32], struct outbox_record **ret,
                        size_t *ret_n)
{
	sqlite3_stmt *st = o->stmt[STMT_FILE_ENTRIES];
	struct outbox_record *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	sqlite3_bind_blob(st, 1, file_hash, 32, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct outbox_record *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				free(v);
				done(o, STMT_FILE_ENTRIES, SQLITE_OK);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		read_record(st, &v[n++]);
	}
	rc = done(o, STMT_FILE_ENTRIES, rc);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void outbox_item_clear(struct outbox_item *it)
{
	if (!it)
		return;
	free(it->signed_bytes);
	memset(it, 0, sizeof(*it));
}

int outbox_fetch(struct outbox *o, int64_t after_id, size_t max, struct outbox_item *items,
                 size_t *ret_n)
{
	sqlite3_stmt *st = o->stmt[STMT_FETCH];
	size_t n = 0;
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 3);
		int len = sqlite3_column_bytes(st, 3);
		struct outbox_item *it = &items[n];

		memset(it, 0, sizeof(*it));
		it->id = sqlite3_column_int64(st, 0);
		it->precinct_id = (uint32_t)sqlite3_column_int64(st, 1);
		it->revision = (uint32_t)sqlite3_column_int64(st, 2);
		it->signed_len = (size_t)len;
		it->signed_bytes = malloc(len > 0 ? (size_t)len : 1);
		if (!it->signed_bytes) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (len > 0)
			memcpy(it->signed_bytes, blob, (size_t)len);
		n++;
	}
	if (n == max)
		rc = SQLITE_DONE;
	rc = done(o, STMT_FETCH, rc);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			outbox_item_clear(&items[i]);
		return rc;
	}
	*ret_n = n;
	return 0;
}

int outbox_mark_delivered(struct outbox *o, int64_t id, enum tally_outcome outcome,
                          bool *ret_changed)
{
	sqlite3_stmt *st = o->stmt[STMT_DELIVERED];
	int e;

	sqlite3_bind_int(st, 1, (int)outcome);
	sqlite3_bind_int64(st, 2, now_ms());
	sqlite3_bind_int64(st, 3, id);
	e = run(o, STMT_DELIVERED);
	if (ret_changed)
		*ret_changed = e == 0 && sqlite3_changes(o->db) > 0;
	return e;
}

int outbox_mark_rejected(struct outbox *o, int64_t id, enum tally_reject_code code,
                         const char *reason, bool *ret_changed)
{
	sqlite3_stmt *st = o->stmt[STMT_REJECTED];
	int e;

	sqlite3_bind_int(st, 1, (int)code);
	sqlite3_bind_text(st, 2, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms());
	sqlite3_bind_int64(st, 4, id);
	e = run(o, STMT_REJECTED);
	if (ret_changed)
		*ret_changed = e == 0 && sqlite3_changes(o->db) > 0;
	return e;
}

int outbox_resend_delivered(struct outbox *o, int64_t since_ms, uint64_t *ret_n,
                            int64_t *ret_first_id)
{
	sqlite3_stmt *st = o->stmt[STMT_RESEND_SPAN];
	int rc, e;

	*ret_n = 0;
	*ret_first_id = 0;
	e = outbox_begin(o);
	if (e < 0)
		return e;
	sqlite3_bind_int64(st, 1, since_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_n = (uint64_t)sqlite3_column_int64(st, 0);
		*ret_first_id = sqlite3_column_int64(st, 1);
	}
	e = done(o, STMT_RESEND_SPAN, rc);
	if (e == 0) {
		sqlite3_bind_int64(o->stmt[STMT_RESEND], 1, since_ms);
		e = run(o, STMT_RESEND);
	}
	if (e == 0)
		e = outbox_commit(o);
	if (e < 0) {
		outbox_rollback(o);
		*ret_n = 0;
		*ret_first_id = 0;
	}
	return e;
}

int outbox_stats(struct outbox *o, struct outbox_stats *ret)
{
	sqlite3_stmt *st = o->stmt[STMT_STATS];
	int rc;

	memset(ret, 0, sizeof(*ret));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 0);
		int outcome = sqlite3_column_int(st, 1);
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);

		if (state == OUTBOX_QUEUED) {
			ret->queued += n;
		} else if (state == OUTBOX_DELIVERED) {
			ret->delivered += n;
			if (outcome >= 0 && outcome < TALLY_OUTCOME_COUNT)
				ret->outcomes[outcome] += n;
		} else {
			ret->rejected += n;
		}
	}
	rc = done(o, STMT_STATS, rc);
	if (rc < 0)
		return rc;
	st = o->stmt[STMT_FILES];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret->files = (uint64_t)sqlite3_column_int64(st, 0);
	return done(o, STMT_FILES, rc);
}

int outbox_oldest_queued(struct outbox *o, int64_t *ret_ms)
{
	sqlite3_stmt *st = o->stmt[STMT_OLDEST];
	int rc = sqlite3_step(st);

	*ret_ms = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	return done(o, STMT_OLDEST, rc);
}

int outbox_rejections(struct outbox *o, size_t max, struct outbox_record *ret, size_t *ret_n)
{
	sqlite3_stmt *st = o->stmt[STMT_REJECTIONS];
	size_t n = 0;
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_record(st, &ret[n++]);
	if (n == max)
		rc = SQLITE_DONE;
	*ret_n = n;
	return done(o, STMT_REJECTIONS, rc);
}

const char *outbox_state_str(enum outbox_state s)
{
	switch (s) {
	case OUTBOX_QUEUED:
		return "queued";
	case OUTBOX_DELIVERED:
		return "delivered";
	case OUTBOX_REJECTED:
		return "rejected";
	}
	return "unknown";
}
