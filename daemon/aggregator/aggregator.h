/*
 * aggregator.h: the shared state of tally-aggregator, and the few hooks the
 * publication and log modules (page.c, events.c, metrics.c, export_nist.c,
 * sth.c, logapi.c) hang off.
 *
 * Everything here lives on the one event loop thread; only verify.c hands
 * copies of results to the thread pool. Nothing in struct aggregator may be
 * touched from a worker thread.
 *
 * Extending the daemon:
 *  - an HTTP endpoint: write `void xxx_get(struct aggregator *a, struct
 *    http_request *req)` (respond with http.h before returning, or begin a
 *    stream) and add one line to agg_routes[] in routes.c and its prototype
 *    to routes.h;
 *  - state and timers: add one line to agg_modules[] in routes.c; start()
 *    runs after recovery and before the listeners open, stop() at shutdown
 *    (close your uv handles there; the loop runs until they are closed);
 *  - reacting to new results: aggregator_on_commit() from your start().
 */
#ifndef TALLY_AGGREGATOR_H
#define TALLY_AGGREGATOR_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tally/conf.h"
#include "tally/election.h"
#include "tally/keyring.h"
#include "tally/merkle.h"
#include "tally/result.h"
#include "tally/totals.h"

struct aggregator;
struct agg_store;    /* store.h */
struct http_server;  /* http.h */
struct http_body;    /* http.h: a shared, reference-counted response body */
struct listener;     /* listener.c */
struct ingest;       /* ingest.c */
struct agg_events;   /* events.c (publication) */
struct agg_metrics;  /* metrics.c (publication) */
struct agg_export;   /* export_http.c (publication) */
struct agg_log;      /* sth.c / logapi.c (public log) */
struct agg_contests; /* contests.c (the contests API) */
struct agg_trend;    /* trend.c (each contest's time series) */

struct session_table; /* session.c: open sessions by id */

/* ---- configuration (conf.c) ------------------------------------------- */

/* Filled by agg_conf_load(); paths are resolved against the config folder. */
struct agg_conf {
	char *id;
	char *election;  /* path of the election definition */
	char *state_dir; /* database, the aggregator's own keys */
	struct tally_endpoint listen;
	struct tally_endpoint http_listen;
	char *trusted_keys; /* folder of <region>.pem / <region>.<x>.pem */
	uint32_t max_frame_bytes;
	char *log_level;
	/* Caps and timeouts (seconds), with defaults; see docs. */
	uint32_t max_sessions;
	uint32_t max_inflight; /* submits in flight per session before reads pause */
	uint32_t write_queue_bytes;
	uint32_t handshake_timeout;
	uint32_t idle_timeout;
	uint32_t http_max_connections;
	uint32_t http_idle_timeout;
	uint32_t http_request_timeout;
	uint32_t commit_retry; /* seconds between retries of a failed commit */
	/* Distinct conflicting copies of one precinct revision that are logged;
	 * further ones are refused with CONFLICT_LIMIT. */
	uint32_t max_conflict_copies;
	char *log_key; /* [log] key: the tree head signing key (may be NULL) */
	/* [tls] */
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	/* [store] */
	char *store_backend; /* "sqlite" (default) or "postgresql" */
	char *store_dsn;
};

/* 0, or -errno with err saying FILE:LINE, key, value and the fix. */
int agg_conf_load(const char *path, struct agg_conf *ret, struct tally_err *err);
void agg_conf_free(struct agg_conf *c);

/* ---- statistics (stats.c) --------------------------------------------- */

/* Latency histograms: fixed upper bounds in seconds, plus +Inf. */
#define AGG_HIST_BUCKETS 14
extern const double agg_hist_bounds[AGG_HIST_BUCKETS];

struct agg_histogram {
	uint64_t counts[AGG_HIST_BUCKETS + 1]; /* non-cumulative; last is +Inf */
	uint64_t count;
	double sum; /* seconds */
};

void agg_histogram_observe(struct agg_histogram *h, double seconds);

#define AGG_RECENT_REJECTIONS 50

struct agg_rejection {
	uint64_t time_ms; /* wall clock, ms since the epoch */
	char region[TALLY_ID_MAX];
	uint32_t precinct;          /* 0 if the payload could not be decoded */
	char contest[TALLY_ID_MAX]; /* as the payload named it ("" likewise) */
	enum tally_reject_code code;
	char reason[TALLY_REASON_MAX];
};

struct agg_stats {
	uint64_t outcomes[TALLY_OUTCOME_COUNT];    /* committed, by enum tally_outcome */
	uint64_t rejects[TALLY_REJECT_CODE_COUNT]; /* committed, by enum tally_reject_code */
	/* Committed, by the session's region and code: [region * TALLY_REJECT_CODE_COUNT +
	 * code], regions indexed like election->regions. */
	uint64_t *rejects_by_region;
	uint64_t submits_received;
	uint64_t sessions_accepted;   /* TCP connections taken */
	uint64_t sessions_refused;    /* over max_sessions */
	uint64_t handshake_failures;  /* TLS refused: no/foreign certificate, TLS 1.2 ... */
	uint64_t protocol_errors;     /* sessions ended with a Goodbye for a violation */
	uint32_t sessions_open;       /* TCP connections open, any state */
	uint32_t *sessions_by_region; /* Welcome'd sessions, indexed like election->regions */
	uint64_t commits;
	uint64_t commit_failures;
	struct agg_histogram commit_latency; /* store begin .. commit */
	struct agg_histogram ack_latency;    /* Submit frame read .. Ack/Nack queued */
	/* The latest rejections, a ring: newest at (recent_head - 1). */
	struct agg_rejection recent[AGG_RECENT_REJECTIONS];
	size_t recent_head;
	size_t recent_n;
};

/* Copies up to max latest rejections into ret, newest first; returns the count. */
size_t aggregator_recent_rejections(const struct aggregator *a, struct agg_rejection *ret,
                                    size_t max);
void agg_stats_add_rejection(struct agg_stats *s, const struct agg_rejection *r);

/* ---- the committed totals snapshot ------------------------------------ */

/*
 * The /v1/totals document as of the last committed batch: never shows
 * uncommitted state. Replaced (not changed) after each commit; take a
 * reference with http_body_ref() on `body` to keep the bytes.
 */
struct agg_snapshot {
	uint64_t sequence;                     /* == tree size of the public log */
	uint64_t as_of_ms;                     /* wall clock of the commit */
	struct http_body *body;                /* the serialized JSON document, with "as_of" */
	uint8_t digest[TALLY_HASH_BYTES];      /* tally_totals_digest() at sequence */
	uint8_t body_sha256[TALLY_HASH_BYTES]; /* SHA-256 of body's bytes */
};

/* ---- commit observers --------------------------------------------------- */

/* What one committed batch changed. */
struct agg_commit {
	uint64_t previous_sequence;
	uint64_t sequence; /* totals and log size after the batch */
	size_t n_submissions;
	size_t n_rejected;
	size_t n_logged; /* ACCEPTED + CONFLICT: sequence - previous_sequence */
};

/*
 * Called on the loop after successfully committed batches, once the
 * snapshot was replaced (so a->snapshot->sequence == c->sequence) and every
 * Ack/Nack of the batches was queued. Not called for a batch that changed
 * nothing. Batches committed close together are reported in one call
 * (c covers them all), at most ~100 ms after the first one.
 */
typedef void (*agg_commit_cb)(struct aggregator *a, const struct agg_commit *c, void *data);

#define AGG_MAX_OBSERVERS 16

/* 0, or -ENOSPC past AGG_MAX_OBSERVERS. */
int aggregator_on_commit(struct aggregator *a, agg_commit_cb cb, void *data);

/* ---- modules ------------------------------------------------------------ */

struct agg_module {
	const char *name;
	/* 0 or -errno (start-up fails, naming the module). */
	int (*start)(struct aggregator *a);
	/* Closes the module's handles; takes a never-started module too. */
	void (*stop)(struct aggregator *a);
};

extern const struct agg_module agg_modules[];
extern const size_t agg_n_modules;

/* ---- the daemon ---------------------------------------------------------- */

/* Shared, reference-counted trusted keys: verify jobs keep the set they began with. */
struct agg_keys {
	unsigned refs;
	struct tally_keyring *ring;
};
struct agg_keys *agg_keys_ref(struct agg_keys *k);
void agg_keys_unref(struct agg_keys *k);

struct aggregator {
	uv_loop_t *loop;
	const char *config_path;
	struct agg_conf conf;
	struct tally_election *election;
	struct agg_keys *keys;
	SSL_CTX *tls; /* for new sessions; a session holds its own reference */
	struct tally_totals *totals;
	struct tally_merkle *merkle; /* leaves == totals->sequence once recovered */
	struct agg_store *store;
	struct agg_snapshot *snapshot;
	/*
	 * Set by a commit that moved the sequence until the snapshot is
	 * rebuilt by aggregator_snapshot_publish(); `unpublished` sums the
	 * batches committed since the last publication.
	 */
	bool snapshot_dirty;
	struct agg_commit unpublished;
	struct listener *listener;
	struct http_server *http;
	struct ingest *ingest;
	struct session_table *sessions; /* open sessions by id (session.c) */
	struct agg_stats stats;
	struct {
		agg_commit_cb cb;
		void *data;
	} observers[AGG_MAX_OBSERVERS];
	size_t n_observers;
	/*
	 * Set while the in-memory totals and tree may differ from the store
	 * (a committed batch that did not apply, a leaf of another instance
	 * half applied): nothing is published or decided on top of them until
	 * ingest has rebuilt them from the store (replay.h) and cleared it.
	 */
	bool out_of_step;
	/* Set while commits fail (e.g. disk full): nothing is acknowledged. */
	bool degraded;
	char degraded_reason[TALLY_REASON_MAX];
	bool stopping;
	bool ready;
	uint64_t start_ms;
	/* Other modules' state. */
	struct agg_events *events;
	struct agg_metrics *metrics;
	struct agg_log *log;
	struct agg_export *export;
	struct agg_contests *contests;
	struct agg_trend *trend;
};

/* Wall clock in ms since the epoch. */
uint64_t agg_now_ms(void);
/* ms as RFC 3339 UTC with milliseconds ("2024-10-06T18:04:05.123Z"), as every "as_of". */
void agg_format_time(uint64_t ms, char *buf, size_t cap);

/* Replaces a->snapshot from a->totals (after a commit or recovery). 0 or -ENOMEM. */
int aggregator_snapshot_refresh(struct aggregator *a);
/*
 * Records a committed batch that moved the sequence: the snapshot is stale
 * until aggregator_snapshot_publish(). Rebuilding the document after every
 * commit cost the loop more than the commits at moderate rates.
 */
void aggregator_snapshot_mark(struct aggregator *a, const struct agg_commit *c);
/*
 * If a commit made the snapshot stale, rebuilds it from a->totals and then
 * runs the commit observers once for all batches since the last
 * publication. Called by readers that must see the latest commit
 * (/v1/totals) and from ingest's publication timer (at most ~100 ms after
 * a commit). Does nothing while the in-memory totals may be ahead of the
 * store (a->out_of_step). 0 or -ENOMEM (the old snapshot stays).
 */
int aggregator_snapshot_publish(struct aggregator *a);
void aggregator_snapshot_free(struct aggregator *a);
/* Runs the observers for a committed batch. */
void aggregator_notify_commit(struct aggregator *a, const struct agg_commit *c);
/* Sends STATUS= with the live figures (and the degraded reason). */
void aggregator_status(struct aggregator *a);

/* Region index of an id, or -1. */
int aggregator_region_index(const struct aggregator *a, const char *region_id);

#endif
