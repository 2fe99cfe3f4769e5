/*
 * outbox.h: the node's durable queue of signed protocols, state_dir/outbox.db
 * (SQLite, WAL, synchronous=FULL). An entry is committed before anyone is
 * told it was taken, keeps the exact SignedResult bytes that are sent, and
 * moves once from queued to delivered (with the aggregator's outcome) or to
 * rejected (with its code and reason); a rejected entry is never sent again.
 * Only an operator's resend (outbox_resend_delivered) moves delivered
 * entries back to the queue.
 * The entry id is the Submit seq on the wire.
 *
 * The outbox also remembers the SHA-256 of every protocol file it took, in
 * the same transaction as the file's entries, so a file read again after a
 * crash (committed, not yet moved out of the spool) is not queued twice.
 *
 * All functions return 0 or a negative errno: -ENOSPC (disk full), -EIO,
 * -EBUSY, -ENOMEM, -EINVAL (misuse); outbox_errmsg() has SQLite's words.
 */
#ifndef TALLY_NODE_OUTBOX_H
#define TALLY_NODE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/err.h"
#include "tally/result.h"

enum outbox_state {
	OUTBOX_QUEUED = 0,
	OUTBOX_DELIVERED = 1,
	OUTBOX_REJECTED = 2,
};

/* What intake adds: borrowed for the call. */
struct outbox_entry {
	uint32_t precinct_id;
	uint32_t revision;
	const char *source; /* file name */
	uint32_t line;
	const uint8_t *payload_hash; /* TALLY_HASH_BYTES */
	const uint8_t *signed_bytes; /* tally_codec_encode_signed() output */
	size_t signed_len;
};

/* A queued entry fetched for sending. Owns signed_bytes. */
struct outbox_item {
	int64_t id;
	uint32_t precinct_id;
	uint32_t revision;
	uint8_t *signed_bytes;
	size_t signed_len;
};

/* One entry as reported back (status, a re-submitted file). */
struct outbox_record {
	int64_t id;
	uint32_t precinct_id;
	uint32_t revision;
	uint32_t line;
	enum outbox_state state;
	enum tally_outcome outcome;
	enum tally_reject_code code;
	char reason[TALLY_REASON_MAX];
	char source[128];
	int64_t done_at_ms;
};

struct outbox_stats {
	uint64_t queued;
	uint64_t delivered;
	uint64_t rejected;
	uint64_t outcomes[TALLY_OUTCOME_COUNT]; /* delivered, by outcome */
	uint64_t files;
};

struct outbox; /* opaque; owned by whoever opened it */

/* Creates state_dir (0700) and the database if missing. err says what failed. */
int outbox_open(const char *state_dir, struct outbox **ret, struct tally_err *err);
/* Finalizes statements and closes the database. Takes NULL, returns NULL. */
struct outbox *outbox_close(struct outbox *o);
const char *outbox_errmsg(const struct outbox *o);

/* One explicit transaction around a batch (a file's rows, a batch of acks). */
int outbox_begin(struct outbox *o);
int outbox_commit(struct outbox *o);
void outbox_rollback(struct outbox *o);

/* Within a transaction. *ret_id is the new entry's id (the wire seq). */
int outbox_add(struct outbox *o, const struct outbox_entry *e, const uint8_t file_hash[32],
               int64_t *ret_id);
int outbox_file_add(struct outbox *o, const uint8_t file_hash[32], const char *name, size_t n_rows);

/* Whether a file with this SHA-256 was taken. */
int outbox_file_known(struct outbox *o, const uint8_t file_hash[32], bool *ret);
/* The entries that came from that file, by id (caller frees *ret). */
int outbox_file_entries(struct outbox *o, const uint8_t file_hash[32], struct outbox_record **ret,
                        size_t *ret_n);

/*
 * Up to `max` queued entries with id > after_id, by ascending id, into
 * items[] (each to be released with outbox_item_clear()).
 */
int outbox_fetch(struct outbox *o, int64_t after_id, size_t max, struct outbox_item *items,
                 size_t *ret_n);
void outbox_item_clear(struct outbox_item *it);

/*
 * Answers from the aggregator. Only a queued entry changes, so a late or
 * repeated answer cannot turn a rejection into a delivery or back; *ret_changed
 * (may be NULL) says whether it did.
 */
int outbox_mark_delivered(struct outbox *o, int64_t id, enum tally_outcome outcome,
                          bool *ret_changed);
int outbox_mark_rejected(struct outbox *o, int64_t id, enum tally_reject_code code,
                         const char *reason, bool *ret_changed);

/*
 * Puts every entry delivered at or after since_ms (the node's clock when the
 * answer was recorded) back in the queue, in one transaction, for an
 * aggregator restored from a backup that lost them. Rejected entries stay
 * rejected. *ret_n is how many, *ret_first_id the lowest id among them (0
 * when none): the sender has to go back that far.
 */
int outbox_resend_delivered(struct outbox *o, int64_t since_ms, uint64_t *ret_n,
                            int64_t *ret_first_id);

/* Counts entries by state (delivered ones also by outcome) and files taken. */
int outbox_stats(struct outbox *o, struct outbox_stats *ret);
/*
 * When the oldest entry still queued (the first the sender takes) was queued,
 * ms since 1970 on the node's clock; 0 when nothing is queued.
 */
int outbox_oldest_queued(struct outbox *o, int64_t *ret_ms);
/* The `max` latest rejected entries, newest first. */
int outbox_rejections(struct outbox *o, size_t max, struct outbox_record *ret, size_t *ret_n);

/* The state's name for logs and the status document; "unknown" if none. */
const char *outbox_state_str(enum outbox_state s);

#endif
