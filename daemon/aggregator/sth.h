/*
 * sth.h: the aggregator's signed tree heads, and the state the public log
 * endpoints (logapi.c) read.
 *
 * The log key is Ed25519: `[log] key` in the configuration (PKCS#8 PEM), or
 * else state_dir/log.key, made on first start with mode 0600 (its public
 * half is written beside it as log.pub.pem for operators to hand out).
 *
 * A head is a TreeHead (codec.h) of the committed log: tree_size = the log
 * size = the totals' sequence, its RFC 9162 root, the time, and the totals
 * digest at that size, signed over its serialized bytes. One is signed at
 * start, then after commits, at most once a second: a commit less than a
 * second after the last head arms a timer for the rest of the second.
 * With each head the module keeps the committed totals document of the same
 * sequence, so observers can fetch a head and its totals as a pair.
 */
#ifndef TALLY_AGG_STH_H
#define TALLY_AGG_STH_H

#include <stdint.h>
#include <uv.h>

#include "aggregator.h"
#include "tally/http.h"
#include "tally/sign.h"

/* Owned by the aggregator (a->log), made by sth_start(), freed after stop. */
struct agg_log {
	struct aggregator *agg;
	struct tally_signing_key key;
	uv_timer_t timer;
	bool timer_armed;
	uint64_t last_head_ms; /* monotonic ms of the last signing */

	/* The current head (has_head once the first was signed). */
	bool has_head;
	uint64_t tree_size;
	uint64_t timestamp_ms;
	uint8_t root[TALLY_HASH_BYTES];
	/* Ready-made response bodies, replaced (never changed) with each head. */
	struct http_body *sth_body;    /* GET /v1/log/sth */
	struct http_body *totals_body; /* GET /v1/log/totals: the totals at tree_size */
	struct http_body *key_body;    /* GET /v1/log/key */
	uint64_t heads_signed;
};

/* The module (agg_modules[]): loads or makes the key, signs the first head. */
int sth_start(struct aggregator *a);
void sth_stop(struct aggregator *a);

/* Signs a head of the committed log now. 0, -EAGAIN (log and totals out of step), -ENOMEM. */
int sth_sign(struct agg_log *l);

/*
 * The size of the committed log that entries and proofs may be served from:
 * what the totals snapshot covers (never a leaf whose batch is not durable).
 */
uint64_t sth_committed_size(const struct aggregator *a);

#endif
