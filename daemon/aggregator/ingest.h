/*
 * ingest.h: the path of one submitted result through the daemon:
 * session.c reads a Submit and makes an agg_item; verify.c checks it on the
 * thread pool; ingest.c reconciles verified items in arrival order, stores
 * a whole batch in one transaction and, only once it is committed, has the
 * sessions send the Acks and Nacks.
 */
#ifndef TALLY_AGG_INGEST_H
#define TALLY_AGG_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "aggregator.h"
#include "tally/result.h"
#include "tally/totals.h"

/*
 * One Submit. Owned by ingest from its creation until the Ack/Nack is
 * queued; while a verify job runs, only the worker writes the fields under
 * "verification" and nobody else reads them (the job's completion on the
 * loop hands them back). Holds a reference on its session.
 */
struct agg_item {
	struct agg_item *next; /* arrival order */
	struct session *session;
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
	uint32_t precinct_index;
	uint32_t figures[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS];
	uint8_t payload_hash[TALLY_HASH_BYTES];
	uint8_t leaf_hash[TALLY_HASH_BYTES];
	uint8_t *leaf; /* tally_codec_encode_signed() bytes */
	size_t leaf_len;

	/* ingest */
	enum tally_outcome outcome;
	int64_t leaf_index;
};

/* A new item for a Submit; takes over sr's payload. NULL on ENOMEM. */
struct agg_item *agg_item_new(struct session *s, uint64_t seq, struct tally_signed_result *sr);
void agg_item_free(struct agg_item *it);

/*
 * verify.c: checks n items on the thread pool (the array is copied), then
 * marks them verified on the loop, where ingest's check handle batches
 * them. Without memory for a job they are checked inline instead. Returns 0.
 */
int verify_submit(struct aggregator *a, struct agg_item **items, size_t n);
/* Verify jobs still running. */
size_t verify_pending(void);
/* The checks themselves, pure but for the keyring; exported for tests. */
void verify_item(const struct tally_election *e, const struct tally_keyring *keys, size_t n_options,
                 struct agg_item *it);

/* ingest.c */
int ingest_new(struct aggregator *a, struct ingest **ret);
/* Appends a new item in arrival order (before it is verified). */
void ingest_enqueue(struct ingest *g, struct agg_item *it);
/* Items neither answered nor dropped yet. */
size_t ingest_pending(const struct ingest *g);
/* False while the in-memory state may be ahead of the store (a failed batch
 * not yet rebuilt): nothing may be applied on top of it until then. */
bool ingest_in_step(const struct ingest *g);
/*
 * Rebuilds totals and the Merkle tree from the store into a (start-up and
 * after a failed commit). 0 or -errno with err saying why.
 */
int ingest_recover(struct aggregator *a, struct tally_err *err);
/* Closes the handles; items still queued are dropped unanswered. */
void ingest_close(struct ingest *g);

#endif
