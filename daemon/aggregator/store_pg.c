/*
 * store_pg.c: the PostgreSQL backend of store.h, for several aggregator
 * instances serving one election from one database. It owns the two
 * connections (one for data, one that LISTENs for other instances'
 * commits), the schema and its migrations, the prepared statements, and
 * reconnecting with backoff; the meaning of the rows is ingest.c's, and
 * catching up on other instances' leaves is follow.c's.
 *
 * One log across instances: the single row of log_head holds the next leaf
 * index. begin() locks it (SELECT ... FOR UPDATE), so batches of all
 * instances are serialized; the caller then catches up on the leaves
 * committed since it last looked (log_size() says how many there are) and
 * reconciles against the current state; commit() moves log_head on and
 * sends NOTIFY tally_log in the same transaction, so listeners hear of the
 * leaves exactly when they become visible. Leaf indexes stay gapless: the
 * primary key, log_head and the lock each guard it, and a UNIQUE
 * (precinct, payload_hash) makes a second copy of a counted payload
 * impossible whatever a buggy writer does.
 *
 * Durability: synchronous_commit is raised to "on" if the server or the
 * role has it "off" or "local", so a COMMIT that returned has been flushed
 * (and, with a synchronous standby, replicated). Puts are sent pipelined
 * (libpq pipeline mode) and their errors surface at the next sync, at the
 * latest at commit().
 *
 * Unreachable database: every call first makes sure the data connection
 * is up, reconnecting at most once per backoff step (0.25 s doubling to
 * 8 s); until then calls fail at once with -EIO and last_error saying so.
 * The listening connection is watched with uv_poll; when it drops, the
 * watcher is told (status -EIO) and a timer reconnects it, then tells the
 * watcher again (status 0) so it catches up on what it missed.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "store.h"
#include "tally/log.h"

#define SCHEMA_VERSION 3

/* Advisory lock taken while migrating: two instances starting at once. */
#define MIGRATION_LOCK "7310195431"
#define NOTIFY_CHANNEL "tally_log"

/* Puts queued in the pipeline before results are read back. */
#define PIPELINE_DEPTH 256
/* Rows per query when reading the log. */
#define PAGE_LEAVES       4096
#define PAGE_LEAVES_BYTES 512

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS   8000
/* The watcher's timer: reconnects, and a periodic nudge to catch up. */
#define TICK_MS     1000
#define NUDGE_TICKS 5

enum stmt_id {
	ST_LOCK_HEAD,
	ST_READ_HEAD,
	ST_SET_HEAD,
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

static const struct {
	const char *name;
	const char *sql;
} stmts[ST_COUNT] = {
    [ST_LOCK_HEAD] = {"lock_head", "SELECT next_leaf FROM log_head WHERE id = 1 FOR UPDATE"},
    [ST_READ_HEAD] = {"read_head", "SELECT next_leaf FROM log_head WHERE id = 1"},
    /* Moves the head and tells the listeners, in one round trip. */
    [ST_SET_HEAD] = {"set_head",
                     "WITH h AS (UPDATE log_head SET next_leaf = $1 WHERE id = 1 RETURNING "
                     "next_leaf) SELECT pg_notify('" NOTIFY_CHANNEL "', next_leaf::text) FROM h"},
    [ST_PUT_SUBMISSION] = {"put_submission",
                           "INSERT INTO submissions (received_ms, peer_region, peer_node, seq, "
                           "precinct, revision, outcome, reject_code, reason, leaf_index, "
                           "signed, instance, contest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                           "$9, $10, $11, $12, $13)"},
    [ST_PUT_LEAF] = {"put_leaf",
                     "INSERT INTO log (leaf_index, precinct, revision, outcome, payload_hash, "
                     "leaf_hash, figures, leaf, contest) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                     "$8, $9)"},
    [ST_LEAVES] = {"leaves", "SELECT leaf_index, precinct, revision, outcome, payload_hash, "
                             "leaf_hash, figures, contest FROM log WHERE leaf_index >= $1 AND "
                             "leaf_index < $2 ORDER BY leaf_index LIMIT $3"},
    [ST_LEAVES_BYTES] = {"leaves_bytes",
                         "SELECT leaf_index, precinct, revision, outcome, payload_hash, "
                         "leaf_hash, figures, contest, leaf FROM log WHERE leaf_index >= $1 "
                         "AND leaf_index < $2 ORDER BY leaf_index LIMIT $3"},
    [ST_LEAF_COUNT] = {"leaf_count", "SELECT count(*) FROM log"},
    /* One range of submissions_by_precinct_id (schema version 2) per
     * page; a page of one contest keeps that contest's rows of the same
     * range (no second index for every insert to pay for, as in
     * store_sqlite.c). */
    [ST_HISTORY] = {"history", "SELECT received_ms, peer_region, peer_node, revision, outcome, "
                               "reject_code, reason, leaf_index, id, contest FROM submissions "
                               "WHERE precinct = $1 AND id < $2 ORDER BY id DESC LIMIT $3"},
    [ST_HISTORY_CONTEST] = {"history_contest",
                            "SELECT received_ms, peer_region, peer_node, revision, outcome, "
                            "reject_code, reason, leaf_index, id, contest FROM submissions "
                            "WHERE precinct = $1 AND contest = $4 AND id < $2 "
                            "ORDER BY id DESC LIMIT $3"},
    [ST_SUBMISSION_COUNT] = {"submission_count", "SELECT count(*) FROM submissions"},
};

/* Each migration takes the schema from version i to i + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE log_head ("
    " id integer PRIMARY KEY CHECK (id = 1),"
    " next_leaf bigint NOT NULL CHECK (next_leaf >= 0));"
    "INSERT INTO log_head (id, next_leaf) VALUES (1, 0);"
    "CREATE TABLE log ("
    " leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),"
    " precinct bigint NOT NULL,"
    " revision bigint NOT NULL,"
    " outcome integer NOT NULL,"
    " payload_hash bytea NOT NULL CHECK (length(payload_hash) = 32),"
    " leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),"
    " figures bytea NOT NULL,"
    " leaf bytea NOT NULL,"
    " UNIQUE (precinct, payload_hash));"
    "CREATE TABLE submissions ("
    " id bigserial PRIMARY KEY,"
    " received_ms bigint NOT NULL,"
    " peer_region text NOT NULL,"
    " peer_node text NOT NULL,"
    " seq bigint NOT NULL,"
    " precinct bigint,"
    " revision bigint,"
    " outcome integer NOT NULL,"
    " reject_code integer NOT NULL,"
    " reason text NOT NULL,"
    " leaf_index bigint REFERENCES log (leaf_index),"
    " signed bytea,"
    " instance text NOT NULL);"
    "CREATE INDEX submissions_by_precinct ON submissions (precinct) WHERE precinct IS NOT "
    "NULL;",
    /* 2: a precinct's history is read a page at a time, newest first. */
    "CREATE INDEX submissions_by_precinct_id ON submissions (precinct, id) WHERE precinct IS "
    "NOT NULL;"
    "DROP INDEX submissions_by_precinct;",
    /*
     * 3: results per (precinct, contest). A column with a constant default
     * is added without rewriting the table (rows stored before read back
     * ''), so the step is quick whatever the size. Instances of the version
     * before, still running, go on working: every statement of theirs
     * names its columns, so their rows get contest ''.
     */
    "ALTER TABLE log ADD COLUMN contest text NOT NULL DEFAULT '';"
    "ALTER TABLE submissions ADD COLUMN contest text NOT NULL DEFAULT '';",
};

/* The LISTEN connection and its poll handle; freed by on_listener_closed. */
struct pg_listener {
	uv_poll_t poll;
	PGconn *conn;
	struct pg_store *s; /* NULL once the store let go of it */
};

struct pg_store {
	struct agg_store base; /* first: the interface */
	char *dsn;
	char *election_id;
	char *instance;
	PGconn *conn; /* the data connection; NULL while down */
	bool in_tx;
	bool pipelined; /* puts of this transaction are being sent */
	size_t queued;  /* queries sent in the pipeline since the last sync */
	uint64_t head;  /* committed log size, read under the lock by begin() */
	uint64_t leaves;
	/* Reconnecting. */
	uint64_t next_attempt_ms;
	unsigned backoff_ms;
	bool was_down;
	/* Watching (watch() .. unwatch()). */
	uv_loop_t *loop;
	uv_timer_t tick;
	bool watching;
	struct pg_listener *listener;
	unsigned listen_backoff_ticks, listen_wait, ticks;
	bool lost; /* the watcher was told the database is gone */
	agg_store_watch_cb cb;
	void *cb_data;
};

static struct pg_store *pq(struct agg_store *s)
{
	return (struct pg_store *)s;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* libpq's messages span lines; a log line, STATUS and /healthz should not. */
static void set_error(struct pg_store *s, const char *what, const char *msg)
{
	char *e = s->base.last_error;
	snprintf(e, sizeof(s->base.last_error), "%s: %s", what,
	         msg && *msg ? msg : "unknown error");
	size_t n = 0;
	for (size_t i = 0; e[i]; i++) {
		char ch = e[i] == '\n' || e[i] == '\t' ? ' ' : e[i];
		if (ch == ' ' && n > 0 && e[n - 1] == ' ')
			continue;
		e[n++] = ch;
	}
	while (n > 0 && e[n - 1] == ' ')
		n--;
	e[n] = '\0';
}

static void disconnect(struct pg_store *s)
{
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	s->in_tx = false;
	s->pipelined = false;
	s->queued = 0;
}

/* SQLSTATE to a negative errno. */
static int code_of(const char *state)
{
	if (!state)
		return -EIO;
	if (strncmp(state, "23", 2) == 0)
		return -EEXIST; /* integrity constraint */
	if (strcmp(state, "53100") == 0)
		return -ENOSPC; /* disk_full */
	if (strcmp(state, "53200") == 0)
		return -ENOMEM;
	if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0)
		return -EBUSY; /* serialization, deadlock, lock_timeout */
	return -EIO;
}

/*
 * Whether the connection should be dropped after an error: it is broken,
 * the server is going away, or it is a standby now (read-only), where
 * reconnecting lets libpq find the primary (target_session_attrs).
 */
static bool drop_after(PGconn *c, const char *state)
{
	if (PQstatus(c) != CONNECTION_OK)
		return true;
	if (!state)
		return false;
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	       strcmp(state, "25006") == 0;
}

/* A failed result (or none) to -errno, with last_error; clears res. */
static int fail_res(struct pg_store *s, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int r = code_of(state);
	set_error(s, what, res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
	if (drop_after(s->conn, state)) {
		PQclear(res);
		disconnect(s);
		return -EIO;
	}
	PQclear(res);
	return r;
}

/*
 * Text that PostgreSQL will take: peers control node ids and the values
 * quoted in reasons, and a text column refuses invalid UTF-8, which would
 * fail the whole batch. Invalid bytes become '?'.
 */
static void utf8_clean(const char *in, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t o = 0;
	while (*p && o + 1 < cap) {
		size_t n = *p < 0x80             ? 1
		           : (*p & 0xe0) == 0xc0 ? 2
		           : (*p & 0xf0) == 0xe0 ? 3
		           : (*p & 0xf8) == 0xf0 ? 4
		                                 : 0;
		bool ok = n > 0 && o + n < cap;
		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		/* Overlong forms, surrogates and code points past U+10FFFF. */
		if (ok && ((n == 2 && *p < 0xc2) || (n == 3 && *p == 0xe0 && p[1] < 0xa0) ||
		           (n == 3 && *p == 0xed && p[1] >= 0xa0) ||
		           (n == 4 && *p == 0xf0 && p[1] < 0x90) ||
		           (n == 4 && *p == 0xf4 && p[1] >= 0x90) || (n == 4 && *p > 0xf4)))
			ok = false;
		if (!ok) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

static uint64_t be(const char *v, int len)
{
	const unsigned char *p = (const unsigned char *)v;
	uint64_t x = 0;
	for (int i = 0; i < len; i++)
		x = x << 8 | p[i];
	return x;
}

/* A binary integer column (int2, int4 or int8). */
static int64_t col_int(const PGresult *res, int row, int col)
{
	int len = PQgetlength(res, row, col);
	uint64_t x = be(PQgetvalue(res, row, col), len);
	if (len == 2)
		return (int16_t)(uint16_t)x;
	if (len == 4)
		return (int32_t)(uint32_t)x;
	return (int64_t)x;
}

/* ---- connecting ---------------------------------------------------------- */

static int exec_ok(struct pg_store *s, PGconn *c, const char *sql, const char *what)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	set_error(s, what, res ? PQresultErrorMessage(res) : PQerrorMessage(c));
	int r = code_of(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
	PQclear(res);
	return r;
}

/* Server notices ("relation already exists, skipping") are not for stderr. */
static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	log_debug("store: database notice: %.*s", (int)n, msg);
}

/*
 * A new connection with our session settings. Defaults come first so the
 * operator's dsn overrides them: a bounded connect, keepalives and a TCP
 * user timeout so a dead peer is noticed in seconds, not hours.
 */
static int open_conn(struct pg_store *s, PGconn **ret)
{
	static const char *const keys[] = {"connect_timeout",
	                                   "keepalives_idle",
	                                   "keepalives_interval",
	                                   "keepalives_count",
	                                   "tcp_user_timeout",
	                                   "application_name",
	                                   "dbname",
	                                   NULL};
	char app[96];
	snprintf(app, sizeof(app), "tally-aggregator %s", s->instance);
	const char *values[] = {"3", "5", "2", "3", "10000", app, s->dsn, NULL};
	PGconn *c = PQconnectdbParams(keys, values, 1);
	int r;
	if (!c)
		return -ENOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		set_error(s, "connecting to the database", PQerrorMessage(c));
		PQfinish(c);
		return -EIO;
	}
	PQsetNoticeProcessor(c, on_notice, NULL);
	/*
	 * A waiting lock must not freeze the loop for long (another instance
	 * stuck mid-batch), and a session of ours that hangs mid-transaction
	 * (partitioned) must not hold the log lock: the server ends it.
	 */
	if ((r = exec_ok(s, c, "SET lock_timeout = '5s'", "setting lock_timeout")) < 0 ||
	    (r = exec_ok(s, c, "SET idle_in_transaction_session_timeout = '15s'",
	                 "setting idle_in_transaction_session_timeout")) < 0)
		goto fail;
	PGresult *res = PQexec(c, "SELECT current_setting('synchronous_commit')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		set_error(s, "reading synchronous_commit", PQresultErrorMessage(res));
		PQclear(res);
		r = -EIO;
		goto fail;
	}
	const char *sc = PQgetvalue(res, 0, 0);
	bool raise = strcmp(sc, "off") == 0 || strcmp(sc, "local") == 0;
	PQclear(res);
	/* An acknowledgement promises the result survives: commits must wait
	 * for the flush (and for a synchronous standby, where there is one). */
	if (raise && (r = exec_ok(s, c, "SET synchronous_commit = on",
	                          "setting synchronous_commit = on")) < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	PQfinish(c);
	return r < 0 ? r : -EIO;
}

static int prepare_all(struct pg_store *s, PGconn *c)
{
	for (int i = 0; i < ST_COUNT; i++) {
		PGresult *res = PQprepare(c, stmts[i].name, stmts[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			char what[128];
			snprintf(what, sizeof(what), "preparing %s", stmts[i].name);
			set_error(s, what, res ? PQresultErrorMessage(res) : PQerrorMessage(c));
			PQclear(res);
			return -EIO;
		}
		PQclear(res);
	}
	return 0;
}

/* The data connection, reconnected if it is down and the backoff allows. */
static int ensure(struct pg_store *s)
{
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	disconnect(s);
	uint64_t now = mono_ms();
	if (now < s->next_attempt_ms) {
		/* last_error still says why the last attempt failed. */
		char why[TALLY_REASON_MAX];
		snprintf(why, sizeof(why), "%s", s->base.last_error);
		snprintf(s->base.last_error, sizeof(s->base.last_error),
		         "database unreachable (%.180s); next attempt in %.1f s", why,
		         (double)(s->next_attempt_ms - now) / 1e3);
		return -EIO;
	}
	PGconn *c = NULL;
	int r = open_conn(s, &c);
	if (r == 0 && (r = prepare_all(s, c)) < 0)
		PQfinish(c);
	if (r < 0) {
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_FIRST_MS;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
		s->next_attempt_ms = mono_ms() + s->backoff_ms;
		if (!s->was_down)
			log_err("store: %s; reconnecting with backoff", s->base.last_error);
		s->was_down = true;
		return -EIO;
	}
	s->conn = c;
	s->backoff_ms = 0;
	s->next_attempt_ms = 0;
	if (s->was_down)
		log_notice("store: connected to the database again");
	s->was_down = false;
	return 0;
}

/* ---- statements ------------------------------------------------------------ */

/* Runs a prepared statement and waits for its result (not in a pipeline). */
static PGresult *run(struct pg_store *s, enum stmt_id id, int n, const char *const *values,
                     const int *lengths, const int *formats)
{
	return PQexecPrepared(s->conn, stmts[id].name, n, values, lengths, formats, 1);
}

/* One row, one integer column. */
static int single_int(struct pg_store *s, enum stmt_id id, const char *what, uint64_t *ret)
{
	int r = ensure(s);
	if (r < 0)
		return r;
	PGresult *res = run(s, id, 0, NULL, NULL, NULL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return fail_res(s, res, what);
	*ret = (uint64_t)col_int(res, 0, 0);
	PQclear(res);
	return 0;
}

/*
 * Ends the pipeline's current segment: a sync, then the results of the
 * queued queries. Returns the first error (the rest of the segment is then
 * aborted by the server). If commit_last, the last query was COMMIT and
 * must say so (an aborted transaction answers COMMIT with ROLLBACK).
 */
static int pipe_sync(struct pg_store *s, bool commit_last)
{
	int r = 0;
	size_t n = s->queued;
	s->queued = 0;
	if (PQpipelineSync(s->conn) != 1)
		return fail_res(s, NULL, "sending to the database");
	for (size_t i = 0; i < n; i++) {
		PGresult *res;
		while ((res = PQgetResult(s->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);
			if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
				if (commit_last && i == n - 1 && r == 0 &&
				    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
					set_error(s, "COMMIT", "the transaction was rolled back");
					r = -EIO;
				}
				PQclear(res);
			} else if (st == PGRES_PIPELINE_ABORTED) {
				PQclear(res);
				if (r == 0) {
					set_error(s, "storing the batch", "pipeline aborted");
					r = -EIO;
				}
			} else {
				int e = fail_res(s, res,
				                 i == n - 1 && commit_last ? "COMMIT"
				                                           : "storing the batch");
				if (r == 0)
					r = e;
				if (!s->conn)
					return r;
			}
		}
		if (PQstatus(s->conn) != CONNECTION_OK) {
			int e = fail_res(s, NULL, "the database connection");
			return r ? r : e;
		}
	}
	PGresult *res = PQgetResult(s->conn);
	if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		int e = fail_res(s, res, "the database pipeline");
		return r ? r : e;
	}
	PQclear(res);
	return r;
}

/* Sends a prepared statement into the pipeline; reads back every so often. */
static int pipe_send(struct pg_store *s, enum stmt_id id, int n, const char *const *values,
                     const int *lengths, const int *formats, const char *what)
{
	if (!s->pipelined) {
		if (PQenterPipelineMode(s->conn) != 1)
			return fail_res(s, NULL, what);
		s->pipelined = true;
	}
	if (PQsendQueryPrepared(s->conn, stmts[id].name, n, values, lengths, formats, 1) != 1)
		return fail_res(s, NULL, what);
	s->queued++;
	if (s->queued >= PIPELINE_DEPTH)
		return pipe_sync(s, false);
	return 0;
}

static int pipe_end(struct pg_store *s)
{
	int r = 0;
	if (!s->conn || !s->pipelined)
		return 0;
	if (s->queued)
		r = pipe_sync(s, false);
	if (s->conn && PQexitPipelineMode(s->conn) != 1 && r == 0)
		r = fail_res(s, NULL, "leaving pipeline mode");
	s->pipelined = false;
	return r;
}

/* ---- the interface ------------------------------------------------------- */

static void pg_unwatch(struct agg_store *base);

static void pg_close(struct agg_store *base)
{
	struct pg_store *s = pq(base);
	/* unwatch() and a turn of the loop must come first (uv handles). */
	if (s->conn && s->in_tx) {
		pipe_end(s);
		if (s->conn)
			PQclear(PQexec(s->conn, "ROLLBACK"));
	}
	disconnect(s);
	free(s->dsn);
	free(s->election_id);
	free(s->instance);
	free(s);
}

static int pg_begin(struct agg_store *base)
{
	struct pg_store *s = pq(base);
	PGresult *res = NULL;
	int r;
	/*
	 * An idle connection may have died unnoticed (the server restarted, a
	 * standby was promoted): the first statement finds out. One fresh
	 * connection is tried at once before the batch is given up.
	 */
	for (int attempt = 0;; attempt++) {
		if ((r = ensure(s)) < 0)
			return r;
		res = PQexec(s->conn, "BEGIN");
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			break;
		r = fail_res(s, res, "BEGIN");
		if (s->conn || attempt > 0)
			return r;
	}
	PQclear(res);
	s->in_tx = true;
	/* The log lock: waits here while another instance stores its batch. */
	res = run(s, ST_LOCK_HEAD, 0, NULL, NULL, NULL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		r = fail_res(s, res, "locking the log head");
		if (s->conn)
			PQclear(PQexec(s->conn, "ROLLBACK"));
		s->in_tx = false;
		return r;
	}
	s->head = s->leaves = (uint64_t)col_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static int pg_commit(struct agg_store *base)
{
	struct pg_store *s = pq(base);
	char next[24];
	int r;
	if (!s->conn || !s->in_tx) {
		if (!s->conn)
			snprintf(s->base.last_error, sizeof(s->base.last_error),
			         "COMMIT: the database connection was lost");
		return -EIO;
	}
	if (s->leaves != s->head) {
		const char *v[1] = {next};
		snprintf(next, sizeof(next), "%" PRIu64, s->leaves);
		if ((r = pipe_send(s, ST_SET_HEAD, 1, v, NULL, NULL, "moving the log head")) < 0)
			return r;
	}
	if (!s->pipelined && PQenterPipelineMode(s->conn) != 1)
		return fail_res(s, NULL, "COMMIT");
	s->pipelined = true;
	if (PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1)
		return fail_res(s, NULL, "COMMIT");
	s->queued++;
	r = pipe_sync(s, true);
	if (s->conn) {
		PQexitPipelineMode(s->conn);
		s->pipelined = false;
	}
	if (r < 0)
		return r;
	s->in_tx = false;
	s->head = s->leaves;
	return 0;
}

static int pg_rollback(struct agg_store *base)
{
	struct pg_store *s = pq(base);
	int r = 0;
	pipe_end(s); /* its errors are those of the batch being abandoned */
	if (s->conn && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
		PGresult *res = PQexec(s->conn, "ROLLBACK");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			r = fail_res(s, res, "ROLLBACK");
		else
			PQclear(res);
	}
	s->in_tx = false;
	s->leaves = s->head;
	return r;
}

static int pg_put_submission(struct agg_store *base, const struct agg_submission_rec *rec)
{
	struct pg_store *s = pq(base);
	char received[24], seq[24], precinct[16], revision[16], outcome[8], code[8], leaf[24];
	char region[TALLY_ID_MAX], node[TALLY_ID_MAX], contest[TALLY_ID_MAX];
	char reason[TALLY_REASON_MAX];
	if (!s->conn || !s->in_tx) {
		snprintf(s->base.last_error, sizeof(s->base.last_error),
		         "storing a submission: no transaction (database connection lost)");
		return -EIO;
	}
	snprintf(received, sizeof(received), "%" PRIu64, rec->received_ms);
	snprintf(seq, sizeof(seq), "%" PRIu64, rec->seq);
	snprintf(precinct, sizeof(precinct), "%" PRIu32, rec->precinct);
	snprintf(revision, sizeof(revision), "%" PRIu32, rec->revision);
	snprintf(outcome, sizeof(outcome), "%d", (int)rec->outcome);
	snprintf(code, sizeof(code), "%d", (int)rec->code);
	snprintf(leaf, sizeof(leaf), "%" PRId64, rec->leaf_index);
	utf8_clean(rec->peer_region, region, sizeof(region));
	utf8_clean(rec->peer_node, node, sizeof(node));
	utf8_clean(rec->reason, reason, sizeof(reason));
	/* A rejected payload's contest_id is the peer's text, like its reason. */
	utf8_clean(rec->contest, contest, sizeof(contest));
	const char *v[13] = {received,
	                     region,
	                     node,
	                     seq,
	                     rec->precinct ? precinct : NULL,
	                     rec->precinct ? revision : NULL,
	                     outcome,
	                     code,
	                     reason,
	                     rec->leaf_index >= 0 ? leaf : NULL,
	                     (const char *)rec->signed_bytes,
	                     s->instance,
	                     contest};
	int len[13] = {0};
	int fmt[13] = {0};
	len[10] = (int)rec->signed_len;
	fmt[10] = 1;
	return pipe_send(s, ST_PUT_SUBMISSION, 13, v, len, fmt, "storing a submission");
}

static int pg_put_leaf(struct agg_store *base, const struct agg_leaf_rec *rec)
{
	struct pg_store *s = pq(base);
	char idx[24], precinct[16], revision[16], outcome[8], contest[TALLY_ID_MAX];
	uint8_t fig[4 * AGG_STORE_MAX_FIGURES];
	size_t n = rec->n_figures;
	if (!s->conn || !s->in_tx) {
		snprintf(s->base.last_error, sizeof(s->base.last_error),
		         "storing a log leaf: no transaction (database connection lost)");
		return -EIO;
	}
	if (rec->leaf_index != s->leaves) {
		snprintf(s->base.last_error, sizeof(s->base.last_error),
		         "log leaf %" PRIu64 " is not the next one (%" PRIu64 ")", rec->leaf_index,
		         s->leaves);
		return -ERANGE;
	}
	if (n > AGG_STORE_MAX_FIGURES)
		return -EINVAL;
	agg_store_figures_pack(rec->figures, n, fig);
	snprintf(idx, sizeof(idx), "%" PRIu64, rec->leaf_index);
	snprintf(precinct, sizeof(precinct), "%" PRIu32, rec->precinct);
	snprintf(revision, sizeof(revision), "%" PRIu32, rec->revision);
	snprintf(outcome, sizeof(outcome), "%d", (int)rec->outcome);
	utf8_clean(rec->contest, contest, sizeof(contest));
	const char *v[9] = {idx,
	                    precinct,
	                    revision,
	                    outcome,
	                    (const char *)rec->payload_hash,
	                    (const char *)rec->leaf_hash,
	                    (const char *)fig,
	                    (const char *)rec->leaf,
	                    contest};
	int len[9] = {
	    0, 0, 0, 0, TALLY_HASH_BYTES, TALLY_HASH_BYTES, (int)(4 * n), (int)rec->leaf_len, 0};
	int fmt[9] = {0, 0, 0, 0, 1, 1, 1, 1, 0};
	int r = pipe_send(s, ST_PUT_LEAF, 9, v, len, fmt, "storing a log leaf");
	if (r == 0)
		s->leaves++;
	return r;
}

static int pg_leaves(struct agg_store *base, uint64_t start, uint64_t end, int with_bytes,
                     agg_store_leaf_cb cb, void *data)
{
	struct pg_store *s = pq(base);
	uint32_t fig[AGG_STORE_MAX_FIGURES];
	char from[24], to[24], limit[16];
	int r = s->pipelined ? pipe_end(s) : 0;
	if (r < 0 || (r = ensure(s)) < 0)
		return r;
	if (end > INT64_MAX)
		end = INT64_MAX;
	snprintf(to, sizeof(to), "%" PRIu64, end);
	snprintf(limit, sizeof(limit), "%d", with_bytes ? PAGE_LEAVES_BYTES : PAGE_LEAVES);
	while (start < end) {
		const char *v[3] = {from, to, limit};
		snprintf(from, sizeof(from), "%" PRIu64, start);
		PGresult *res = run(s, with_bytes ? ST_LEAVES_BYTES : ST_LEAVES, 3, v, NULL, NULL);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			return fail_res(s, res, "reading the log");
		int rows = PQntuples(res);
		for (int i = 0; i < rows && r == 0; i++) {
			struct agg_leaf_rec rec = {0};
			int flen = PQgetlength(res, i, 6);
			const uint8_t *f = (const uint8_t *)PQgetvalue(res, i, 6);
			if (PQgetlength(res, i, 4) != TALLY_HASH_BYTES ||
			    PQgetlength(res, i, 5) != TALLY_HASH_BYTES || flen % 4 != 0 ||
			    flen / 4 > AGG_STORE_MAX_FIGURES) {
				snprintf(s->base.last_error, sizeof(s->base.last_error),
				         "log leaf %" PRId64 " has a damaged row",
				         col_int(res, i, 0));
				r = -EIO;
				break;
			}
			agg_store_figures_unpack(f, (size_t)flen / 4, fig);
			rec.leaf_index = (uint64_t)col_int(res, i, 0);
			rec.precinct = (uint32_t)col_int(res, i, 1);
			rec.revision = (uint32_t)col_int(res, i, 2);
			rec.outcome = (enum tally_outcome)col_int(res, i, 3);
			rec.payload_hash = (const uint8_t *)PQgetvalue(res, i, 4);
			rec.leaf_hash = (const uint8_t *)PQgetvalue(res, i, 5);
			rec.figures = fig;
			rec.n_figures = (size_t)flen / 4;
			rec.contest = PQgetvalue(res, i, 7);
			if (with_bytes) {
				rec.leaf = (const uint8_t *)PQgetvalue(res, i, 8);
				rec.leaf_len = (size_t)PQgetlength(res, i, 8);
			}
			start = rec.leaf_index + 1;
			r = cb(&rec, data);
		}
		PQclear(res);
		if (r != 0 || rows < (with_bytes ? PAGE_LEAVES_BYTES : PAGE_LEAVES))
			break;
	}
	return r;
}

static int pg_leaf_count(struct agg_store *base, uint64_t *ret)
{
	return single_int(pq(base), ST_LEAF_COUNT, "counting log leaves", ret);
}

static int pg_submission_count(struct agg_store *base, uint64_t *ret)
{
	return single_int(pq(base), ST_SUBMISSION_COUNT, "counting submissions", ret);
}

static int pg_log_size(struct agg_store *base, uint64_t *ret)
{
	struct pg_store *s = pq(base);
	if (s->in_tx) {
		*ret = s->head;
		return 0;
	}
	return single_int(s, ST_READ_HEAD, "reading the log head", ret);
}

static int pg_history(struct agg_store *base, uint32_t precinct, const char *contest,
                      uint64_t before, uint32_t limit, agg_store_history_cb cb, void *data)
{
	struct pg_store *s = pq(base);
	char p[16], b[24], l[16], c[TALLY_ID_MAX];
	const char *v[4] = {p, b, l, c};
	int r = ensure(s);
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "%" PRIu32, precinct);
	snprintf(b, sizeof(b), "%" PRIu64, before > INT64_MAX ? (uint64_t)INT64_MAX : before);
	snprintf(l, sizeof(l), "%" PRIu32, limit);
	/* Cleaned as it was stored, so a contest id of a peer's finds its rows. */
	if (contest)
		utf8_clean(contest, c, sizeof(c));
	PGresult *res =
	    run(s, contest ? ST_HISTORY_CONTEST : ST_HISTORY, contest ? 4 : 3, v, NULL, NULL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return fail_res(s, res, "reading a precinct's history");
	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		struct agg_history_rec h = {0};
		h.received_ms = (uint64_t)col_int(res, i, 0);
		h.peer_region = PQgetvalue(res, i, 1);
		h.peer_node = PQgetvalue(res, i, 2);
		h.revision = (uint32_t)col_int(res, i, 3);
		h.outcome = (enum tally_outcome)col_int(res, i, 4);
		h.code = (enum tally_reject_code)col_int(res, i, 5);
		h.reason = PQgetvalue(res, i, 6);
		h.leaf_index = PQgetisnull(res, i, 7) ? -1 : col_int(res, i, 7);
		h.id = (uint64_t)col_int(res, i, 8);
		h.contest = PQgetvalue(res, i, 9);
		r = cb(&h, data);
	}
	PQclear(res);
	return r;
}

/* ---- watching other instances ---------------------------------------------- */

static void on_listener_closed(uv_handle_t *h)
{
	struct pg_listener *l = h->data;
	PQfinish(l->conn);
	free(l);
}

/* Stops polling; the connection is finished once the handle is closed,
 * so its descriptor number cannot be reused under a live poll. */
static void listener_drop(struct pg_store *s)
{
	struct pg_listener *l = s->listener;
	if (!l)
		return;
	s->listener = NULL;
	l->s = NULL;
	uv_poll_stop(&l->poll);
	uv_close((uv_handle_t *)&l->poll, on_listener_closed);
}

static void tell(struct pg_store *s, int status)
{
	if (s->cb)
		s->cb(&s->base, status, s->cb_data);
}

static void lost(struct pg_store *s)
{
	listener_drop(s);
	s->listen_backoff_ticks = 1;
	s->listen_wait = 1;
	if (!s->lost) {
		s->lost = true;
		tell(s, -EIO);
	}
}

static void on_listener_readable(uv_poll_t *h, int status, int events)
{
	struct pg_listener *l = h->data;
	struct pg_store *s = l->s;
	bool news = false;
	if (!s)
		return;
	if (status < 0 || PQconsumeInput(l->conn) != 1) {
		set_error(s, "listening for other instances' commits",
		          status < 0 ? uv_strerror(status) : PQerrorMessage(l->conn));
		lost(s);
		return;
	}
	PGnotify *n;
	while ((n = PQnotifies(l->conn)) != NULL) {
		news = true;
		PQfreemem(n);
	}
	if (news)
		tell(s, 0);
}

static int listener_open(struct pg_store *s)
{
	PGconn *c = NULL;
	int r = open_conn(s, &c);
	if (r < 0)
		return r;
	if ((r = exec_ok(s, c, "LISTEN " NOTIFY_CHANNEL, "LISTEN")) < 0 ||
	    PQsetnonblocking(c, 1) != 0) {
		PQfinish(c);
		return r < 0 ? r : -EIO;
	}
	struct pg_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		PQfinish(c);
		return -ENOMEM;
	}
	l->conn = c;
	l->s = s;
	if ((r = uv_poll_init(s->loop, &l->poll, PQsocket(c))) < 0) {
		PQfinish(c);
		free(l);
		set_error(s, "polling the database connection", uv_strerror(r));
		return r;
	}
	l->poll.data = l;
	uv_poll_start(&l->poll, UV_READABLE, on_listener_readable);
	s->listener = l;
	return 0;
}

static void on_tick(uv_timer_t *t)
{
	struct pg_store *s = t->data;
	if (!s->listener) {
		/* Reconnect with backoff, counted in ticks. */
		if (s->listen_wait > 1) {
			s->listen_wait--;
			return;
		}
		if (ensure(s) < 0 || listener_open(s) < 0) {
			s->listen_backoff_ticks *= 2;
			if (s->listen_backoff_ticks > BACKOFF_MAX_MS / TICK_MS)
				s->listen_backoff_ticks = BACKOFF_MAX_MS / TICK_MS;
			s->listen_wait = s->listen_backoff_ticks;
			if (!s->lost) {
				s->lost = true;
				tell(s, -EIO);
			}
			return;
		}
		s->lost = false;
		s->listen_backoff_ticks = 1;
		tell(s, 0); /* catch up on what happened meanwhile */
		return;
	}
	/* A nudge now and then, in case a notification went missing. */
	if (++s->ticks % NUDGE_TICKS == 0)
		tell(s, 0);
}

static int pg_watch(struct agg_store *base, uv_loop_t *loop, agg_store_watch_cb cb, void *data)
{
	struct pg_store *s = pq(base);
	int r;
	if (s->watching)
		return -EBUSY;
	s->loop = loop;
	s->cb = cb;
	s->cb_data = data;
	if ((r = uv_timer_init(loop, &s->tick)) < 0)
		return r;
	s->tick.data = s;
	s->watching = true;
	s->listen_backoff_ticks = 1;
	s->listen_wait = 1;
	uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
	if (listener_open(s) < 0) {
		log_warning("store: cannot listen for other instances' commits yet: %s; retrying",
		            s->base.last_error);
		s->lost = true;
		tell(s, -EIO);
	}
	return 0;
}

static void pg_unwatch(struct agg_store *base)
{
	struct pg_store *s = pq(base);
	if (!s->watching)
		return;
	s->watching = false;
	s->cb = NULL;
	listener_drop(s);
	uv_timer_stop(&s->tick);
	uv_close((uv_handle_t *)&s->tick, NULL);
}

static const struct agg_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .put_submission = pg_put_submission,
    .put_leaf = pg_put_leaf,
    .leaves = pg_leaves,
    .leaf_count = pg_leaf_count,
    .history = pg_history,
    .submission_count = pg_submission_count,
    .log_size = pg_log_size,
    .watch = pg_watch,
    .unwatch = pg_unwatch,
};

/* ---- opening: migrations, election binding ------------------------------- */

static int migrate(struct pg_store *s, struct tally_err *err)
{
	PGconn *c = s->conn;
	int r;
	/* Two instances starting together must not both run a migration. */
	if ((r = exec_ok(s, c, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")",
	                 "taking the migration lock")) < 0)
		return tally_err_set(err, r, "%s", s->base.last_error);
	if ((r = exec_ok(s, c,
	                 "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
	                 "creating schema_version")) < 0) {
		tally_err_set(err, r, "%s (may the role create tables in the database?)",
		              s->base.last_error);
		goto out;
	}
	PGresult *res = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		set_error(s, "reading schema_version", PQresultErrorMessage(res));
		PQclear(res);
		r = tally_err_set(err, -EIO, "%s", s->base.last_error);
		goto out;
	}
	long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (v > SCHEMA_VERSION) {
		r = tally_err_set(err, -EINVAL,
		                  "the database's schema version %ld is newer than this "
		                  "tally-aggregator knows (%d); run the newer version",
		                  v, SCHEMA_VERSION);
		goto out;
	}
	/* A step and its version row commit together: a crash in the middle
	 * leaves the schema as it was (PostgreSQL's DDL is transactional). */
	for (long i = v; i < SCHEMA_VERSION; i++) {
		char ins[96];
		uint64_t t0 = mono_ms();
		snprintf(ins, sizeof(ins), "INSERT INTO schema_version (version) VALUES (%ld)",
		         i + 1);
		if ((r = exec_ok(s, c, "BEGIN", "migrating")) < 0 ||
		    (r = exec_ok(s, c, migrations[i], "migrating the schema")) < 0 ||
		    (r = exec_ok(s, c, ins, "migrating the schema")) < 0 ||
		    (r = exec_ok(s, c, "COMMIT", "migrating the schema")) < 0) {
			PQclear(PQexec(c, "ROLLBACK"));
			tally_err_set(err, r, "schema version %ld to %ld: %s", i, i + 1,
			              s->base.last_error);
			goto out;
		}
		if (v > 0) /* a new database is made, not migrated */
			log_notice("store: database schema migrated to version %ld in %.3f s",
			           i + 1, (double)(mono_ms() - t0) / 1e3);
	}
	r = 0;
out:
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
	return r;
}

/* Ties the database to one election: results of another must never mix in. */
static int bind_election(struct pg_store *s, struct tally_err *err)
{
	const char *v[1] = {s->election_id};
	PGresult *res = PQexecParams(s->conn,
	                             "INSERT INTO meta (key, value) VALUES ('election_id', $1) "
	                             "ON CONFLICT (key) DO NOTHING",
	                             1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_error(s, "recording the election id", PQresultErrorMessage(res));
		PQclear(res);
		return tally_err_set(err, -EIO, "%s", s->base.last_error);
	}
	PQclear(res);
	res = PQexec(s->conn, "SELECT value FROM meta WHERE key = 'election_id'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		set_error(s, "reading the election id", PQresultErrorMessage(res));
		PQclear(res);
		return tally_err_set(err, -EIO, "%s", s->base.last_error);
	}
	int r = 0;
	if (strcmp(PQgetvalue(res, 0, 0), s->election_id) != 0)
		r = tally_err_set(err, -EINVAL,
		                  "the database belongs to election '%s', not '%s': give "
		                  "this election a database of its own ([store] dsn)",
		                  PQgetvalue(res, 0, 0), s->election_id);
	PQclear(res);
	return r;
}

/* log_head must agree with the log: anything else is a hand-edited database. */
static int check_head(struct pg_store *s, struct tally_err *err)
{
	uint64_t head = 0, rows = 0;
	int r;
	if ((r = single_int(s, ST_READ_HEAD, "reading the log head", &head)) < 0 ||
	    (r = single_int(s, ST_LEAF_COUNT, "counting log leaves", &rows)) < 0)
		return tally_err_set(err, r, "%s", s->base.last_error);
	if (head != rows)
		return tally_err_set(err, -EIO,
		                     "log_head says %" PRIu64 " leaves but the log holds %" PRIu64
		                     " rows: the database was changed outside tally-aggregator; "
		                     "restore it from a backup",
		                     head, rows);
	return 0;
}

int agg_store_pg_open(const char *dsn, const char *election_id, const char *instance,
                      struct agg_store **ret, struct tally_err *err)
{
	int r;
	struct pg_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &pg_ops;
	s->dsn = strdup(dsn ? dsn : "");
	s->election_id = strdup(election_id);
	s->instance = strdup(instance ? instance : "");
	if (!s->dsn || !s->election_id || !s->instance) {
		r = -ENOMEM;
		goto fail;
	}
	PGconn *c = NULL;
	if ((r = open_conn(s, &c)) < 0) {
		tally_err_set(err, r,
		              "%s (check [store] dsn, that PostgreSQL runs and that "
		              "pg_hba.conf lets this host and role in)",
		              s->base.last_error);
		goto fail;
	}
	s->conn = c;
	if ((r = migrate(s, err)) < 0 || (r = bind_election(s, err)) < 0)
		goto fail;
	if ((r = prepare_all(s, s->conn)) < 0) {
		tally_err_set(err, r, "%s", s->base.last_error);
		goto fail;
	}
	if ((r = check_head(s, err)) < 0)
		goto fail;
	*ret = &s->base;
	return 0;
fail:
	pg_close(&s->base);
	return r;
}
