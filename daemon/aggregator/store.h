/*
 * store.h: the aggregator's durable store, an interface with one backend
 * per file (store_sqlite.c, store_pg.c; store.c picks one). Only the
 * backends know SQL.
 *
 * Threads: a store object is used by one thread at a time. A backend with
 * ops->writes_off_loop (SQLite) lets ingest.c run a batch (begin, puts,
 * commit or rollback) on the committer thread; meanwhile the event loop
 * reads through agg_store_reader(s), a second, read-only connection that
 * sees what is committed. Other backends (PostgreSQL, whose batches need
 * follow.c's catch-up inside the transaction) run everything on the loop
 * and are their own reader.
 *
 * What is kept:
 *  - submissions: every Submit's outcome or reject code and reason, the
 *    exact SignedResult bytes (for logged results they are the log leaf),
 *    the peer's region and node id, its seq, the time;
 *  - the public log: leaf_index (gapless from 0), the leaf bytes (the
 *    tally_codec_encode_signed() output), its RFC 9162 leaf hash, the
 *    precinct, revision, outcome, the payload hash and the counted figures
 *    (tally_totals_stride() numbers), so recovery rebuilds totals and the
 *    Merkle tree without decoding or hashing anything;
 *  - meta: the election id the store belongs to, schema_version.
 *
 * A batch is agg_store_begin(), puts, agg_store_commit() (or _rollback()).
 * Nothing is visible to readers or survives a crash before the commit
 * returns 0.
 */
#ifndef TALLY_AGG_STORE_H
#define TALLY_AGG_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/err.h"
#include "tally/result.h"

struct agg_store;

/* One Submit as decided (or rejected). Borrowed by put_submission. */
struct agg_submission_rec {
	uint64_t received_ms;
	const char *peer_region;
	const char *peer_node;
	uint64_t seq;
	uint32_t precinct;           /* 0 if not decoded */
	uint32_t revision;           /* 0 if not decoded */
	enum tally_outcome outcome;  /* UNSPECIFIED when rejected */
	enum tally_reject_code code; /* NONE when not rejected */
	const char *reason;          /* "" when not rejected */
	int64_t leaf_index;          /* -1 unless ACCEPTED or CONFLICT */
	const uint8_t *signed_bytes; /* NULL when leaf_index >= 0 (bytes are the leaf) */
	size_t signed_len;
};

/* One log leaf. Borrowed by put_leaf. */
struct agg_leaf_rec {
	uint64_t leaf_index;
	uint32_t precinct;
	uint32_t revision;
	enum tally_outcome outcome; /* ACCEPTED or CONFLICT */
	const uint8_t *payload_hash;
	const uint8_t *leaf_hash;
	const uint32_t *figures;
	size_t n_figures;
	const uint8_t *leaf;
	size_t leaf_len;
};

/* One row of a precinct's history (a submission). */
struct agg_history_rec {
	uint64_t id; /* the row's id: grows with arrival, a cursor for paging */
	uint64_t received_ms;
	const char *peer_region;
	const char *peer_node;
	uint32_t revision;
	enum tally_outcome outcome;
	enum tally_reject_code code;
	const char *reason;
	int64_t leaf_index;
};

/* Callbacks return 0 to go on, anything else to stop (returned as is). */
typedef int (*agg_store_leaf_cb)(const struct agg_leaf_rec *leaf, void *data);
typedef int (*agg_store_history_cb)(const struct agg_history_rec *h, void *data);

struct uv_loop_s;
/*
 * A shared store's watcher, called on the loop: status 0 when other writers
 * may have committed leaves (or the database is reachable again: catch
 * up), < 0 when the database was lost (s->last_error says why).
 */
typedef void (*agg_store_watch_cb)(struct agg_store *s, int status, void *data);

struct agg_store_ops {
	const char *name;
	bool writes_off_loop; /* batches may run on the committer thread */
	void (*close)(struct agg_store *s);
	int (*begin)(struct agg_store *s);
	int (*commit)(struct agg_store *s);
	int (*rollback)(struct agg_store *s);
	int (*put_submission)(struct agg_store *s, const struct agg_submission_rec *r);
	int (*put_leaf)(struct agg_store *s, const struct agg_leaf_rec *r);
	/* Leaves [start, end) in order; with_bytes false leaves leaf/leaf_len NULL/0. */
	int (*leaves)(struct agg_store *s, uint64_t start, uint64_t end, int with_bytes,
	              agg_store_leaf_cb cb, void *data);
	int (*leaf_count)(struct agg_store *s, uint64_t *ret);
	/* A precinct's submissions newest first: at most limit rows whose id
	 * is below before (UINT64_MAX: from the newest), by an index, so a
	 * page costs the same however long the history. */
	int (*history)(struct agg_store *s, uint32_t precinct, uint64_t before, uint32_t limit,
	               agg_store_history_cb cb, void *data);
	/* Every stored submission's count; for tests and STATUS. */
	int (*submission_count)(struct agg_store *s, uint64_t *ret);

	/*
	 * Backends that several aggregator instances write at once
	 * (PostgreSQL); NULL where this process is the only writer (SQLite).
	 * begin() then serializes batches across instances, and log_size()
	 * says how many leaves are committed: in a transaction, as of its
	 * begin() (what to catch up on before reconciling), outside one, now.
	 * watch() reports other writers' commits until unwatch(), which
	 * closes its handles (the loop must run on for them to finish, and
	 * before close()).
	 */
	int (*log_size)(struct agg_store *s, uint64_t *ret);
	int (*watch)(struct agg_store *s, struct uv_loop_s *loop, agg_store_watch_cb cb,
	             void *data);
	void (*unwatch)(struct agg_store *s);
};

/* Backends embed this first. */
struct agg_store {
	const struct agg_store_ops *ops;
	char last_error[TALLY_REASON_MAX]; /* why the last call failed */
	struct agg_store *reader;          /* NULL: the store reads itself */
};

/*
 * Opens (creating and migrating as needed) the SQLite store in state_dir
 * (file tally.db), bound to election_id: a store of another election is
 * refused with -EINVAL. 0, -errno with err saying what and the fix.
 */
int agg_store_sqlite_open(const char *state_dir, const char *election_id, struct agg_store **ret,
                          struct tally_err *err);

/*
 * Connects to the PostgreSQL database named by dsn (a libpq connection
 * string), creating and migrating the schema as needed (schema_version),
 * bound to election_id like the SQLite store. instance (the aggregator id)
 * is recorded with each submission. 0, -errno with err saying what and the
 * fix.
 */
int agg_store_pg_open(const char *dsn, const char *election_id, const char *instance,
                      struct agg_store **ret, struct tally_err *err);

/* The backend the configuration names ("sqlite" or "postgresql"). */
int agg_store_open(const char *backend, const char *dsn, const char *state_dir,
                   const char *election_id, const char *instance, struct agg_store **ret,
                   struct tally_err *err);

/*
 * The counted figures of a log leaf as both backends keep them on disk:
 * n 32-bit numbers, little-endian whatever the host (4 * n bytes).
 * Recovery reads them back without decoding the leaf.
 */
#define AGG_STORE_MAX_FIGURES (4 + TALLY_MAX_OPTIONS)
void agg_store_figures_pack(const uint32_t *figures, size_t n, uint8_t *ret);
void agg_store_figures_unpack(const uint8_t *bytes, size_t n, uint32_t *ret);

/* Returns from the wrappers: 0, -EIO (s->last_error says why), -ENOSPC (disk
 * full), -EBUSY (locked), -ENOMEM, -ERANGE (leaf index not next). */
static inline void agg_store_close(struct agg_store *s)
{
	if (s)
		s->ops->close(s);
}
static inline int agg_store_begin(struct agg_store *s)
{
	return s->ops->begin(s);
}
static inline int agg_store_commit(struct agg_store *s)
{
	return s->ops->commit(s);
}
static inline int agg_store_rollback(struct agg_store *s)
{
	return s->ops->rollback(s);
}
static inline int agg_store_put_submission(struct agg_store *s, const struct agg_submission_rec *r)
{
	return s->ops->put_submission(s, r);
}
static inline int agg_store_put_leaf(struct agg_store *s, const struct agg_leaf_rec *r)
{
	return s->ops->put_leaf(s, r);
}
static inline int agg_store_leaves(struct agg_store *s, uint64_t start, uint64_t end,
                                   int with_bytes, agg_store_leaf_cb cb, void *data)
{
	return s->ops->leaves(s, start, end, with_bytes, cb, data);
}
static inline int agg_store_leaf_count(struct agg_store *s, uint64_t *ret)
{
	return s->ops->leaf_count(s, ret);
}
static inline int agg_store_history(struct agg_store *s, uint32_t precinct, uint64_t before,
                                    uint32_t limit, agg_store_history_cb cb, void *data)
{
	return s->ops->history(s, precinct, before, limit, cb, data);
}
static inline int agg_store_submission_count(struct agg_store *s, uint64_t *ret)
{
	return s->ops->submission_count(s, ret);
}
/* Where the event loop reads (leaves, history, counts) while a batch may be
 * open on the committer thread; closed with s. */
static inline struct agg_store *agg_store_reader(struct agg_store *s)
{
	return s->reader ? s->reader : s;
}
static inline bool agg_store_writes_off_loop(const struct agg_store *s)
{
	return s->ops->writes_off_loop;
}
/* -ENOTSUP from a single-writer backend. */
static inline int agg_store_log_size(struct agg_store *s, uint64_t *ret)
{
	return s->ops->log_size ? s->ops->log_size(s, ret) : -ENOTSUP;
}
static inline int agg_store_watch(struct agg_store *s, struct uv_loop_s *loop,
                                  agg_store_watch_cb cb, void *data)
{
	return s->ops->watch ? s->ops->watch(s, loop, cb, data) : -ENOTSUP;
}
static inline void agg_store_unwatch(struct agg_store *s)
{
	if (s->ops->unwatch)
		s->ops->unwatch(s);
}

#endif
