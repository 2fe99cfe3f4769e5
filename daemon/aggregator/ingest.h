/*
 * ingest.h: the path of one submitted result through the daemon:
 * session.c reads a Submit and makes an agg_item; verify.c checks it on the
 * thread pool; ingest.c reconciles verified items in arrival order, stores
 * a whole batch in one transaction and, only once it is committed, sends
 * the Acks and Nacks through its sink.
 *
 * An item names its connection by id, never by pointer: ingest answers
 * through a sink that finds the connection again, or finds it gone and
 * drops the answer. So a session's lifetime is session.c's alone, and
 * nothing below session.c includes it.
 */
#ifndef TALLY_AGG_INGEST_H
#define TALLY_AGG_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "aggregator.h"
#include "tally/codec.h"
#include "tally/result.h"
#include "tally/totals.h"

/*
 * One Submit. Owned by ingest from its creation until the Ack/Nack is
 * handed to the sink; while a verify job runs, only the worker writes the
 * fields under "verification" and nobody else reads them (the job's
 * completion on the loop hands them back).
 */
struct agg_item {
	struct agg_item *next; /* arrival order */
	uint64_t session_id;   /* whom to answer (ingest_sink) */
	uint64_t seq;
	uint64_t read_ns; /* uv_hrtime() when the frame was read */
	uint64_t received_ms;
	char peer_region[TALLY_ID_MAX];
	char peer_node[TALLY_ID_MAX];
	struct tally_signed_result sr; /* owns the payload */

	/* verification (worker thread) */
	bool verified;
	enum tally_reject_code code;
	char *reason; /* malloc'd, set when rejected */
	uint32_t precinct;
	uint32_t revision;
	char contest_id[TALLY_ID_MAX]; /* as the payload names it ("" if not decoded) */
	uint32_t precinct_index;
	uint32_t contest; /* index into election->contests, once it passed */
	uint64_t slot;    /* (contest, precinct): what it is reconciled in */
	uint32_t figures[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS]; /* its contest's stride */
	uint8_t payload_hash[TALLY_HASH_BYTES];
	uint8_t leaf_hash[TALLY_HASH_BYTES];
	uint8_t *leaf; /* tally_codec_encode_signed() bytes */
	size_t leaf_len;

	/* ingest */
	enum tally_outcome outcome;
	int64_t leaf_index;
};

/* A new item for a Submit read on session_id; takes over sr's payload. NULL on ENOMEM. */
struct agg_item *agg_item_new(uint64_t session_id, uint64_t seq, struct tally_signed_result *sr);
void agg_item_free(struct agg_item *it);

/*
 * Where the answers go (session.c implements it, a test fakes it). Called
 * on the loop, after the batch is committed:
 *  - answer() queues m (an Ack or a Nack) for the connection session_id
 *    and returns true, or returns false when that connection is gone or
 *    closing: m is then dropped, and the node, which never heard an
 *    answer, sends the result again on its next connection;
 *  - flush() sends everything answer() queued since the last flush; ingest
 *    calls it once per batch.
 */
struct ingest_sink {
	bool (*answer)(void *data, uint64_t session_id, const struct tally_msg *m);
	void (*flush)(void *data);
	void *data;
};

/* Starts ingest for a (its store, totals and tree recovered) answering
 * through a copy of sink. 0 or -errno. */
int ingest_new(struct aggregator *a, const struct ingest_sink *sink, struct ingest **ret);
/* Appends a new item in arrival order (before it is verified). */
void ingest_enqueue(struct ingest *g, struct agg_item *it);
/* Items neither answered nor dropped yet. */
size_t ingest_pending(const struct ingest *g);
/* Closes the handles; items still queued are dropped unanswered. */
void ingest_close(struct ingest *g);

#endif
