/*
 * codec.h: conversion between the wire (protobuf, proto/tally.proto) and the
 * domain structs. codec.c is the only file that includes the generated
 * tally.pb-c.h; every function unpacks, converts and frees the protobuf
 * object before returning. Pure: no I/O.
 *
 * Decoders are strict: a string longer than TALLY_ID_MAX-1 (or a reason
 * longer than TALLY_REASON_MAX-1), more than TALLY_MAX_OPTIONS votes, a
 * Frame with no body, or bytes protobuf-c cannot unpack all give -EBADMSG.
 * Encoders allocate *ret (caller frees) and return 0 or -ENOMEM / -EINVAL.
 */
#ifndef TALLY_CODEC_H
#define TALLY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"

enum tally_msg_type {
	TALLY_MSG_NONE = 0,
	TALLY_MSG_HELLO,
	TALLY_MSG_WELCOME,
	TALLY_MSG_SUBMIT,
	TALLY_MSG_ACK,
	TALLY_MSG_NACK,
	TALLY_MSG_GOODBYE,
	TALLY_MSG_PING,
	TALLY_MSG_PONG,
};

/*
 * One Frame, flattened. Which fields matter depends on `type`:
 *   HELLO   protocol_version, node_id, region_id
 *   WELCOME protocol_version, aggregator_id, election_id
 *   SUBMIT  seq, result (owns result.payload)
 *   ACK     seq, outcome
 *   NACK    seq, code, reason
 *   GOODBYE reason
 *   PING/PONG nonce
 * Release with tally_msg_clear().
 */
struct tally_msg {
	enum tally_msg_type type;
	uint32_t protocol_version;
	char node_id[TALLY_ID_MAX];
	char region_id[TALLY_ID_MAX];
	char aggregator_id[TALLY_ID_MAX];
	char election_id[TALLY_ID_MAX];
	uint64_t seq;
	struct tally_signed_result result;
	enum tally_outcome outcome;
	enum tally_reject_code code;
	char reason[TALLY_REASON_MAX];
	uint64_t nonce;
};

/* The signed head of the Merkle log, see TreeHead in proto/tally.proto. */
struct tally_tree_head {
	char election_id[TALLY_ID_MAX];
	uint64_t tree_size;
	uint8_t root_hash[TALLY_HASH_BYTES];
	uint64_t timestamp_ms;
	uint8_t totals_hash[TALLY_HASH_BYTES];
};

/* The message type's name for logs ("hello", ...); "unknown" if none. */
const char *tally_msg_type_str(enum tally_msg_type t);
/* Frees what a decoded message owns (a result's payload) and zeroes it. Takes NULL. */
void tally_msg_clear(struct tally_msg *m);

/* Frame body (no length prefix). */
int tally_codec_encode_msg(const struct tally_msg *m, uint8_t **ret, size_t *ret_len);
int tally_codec_decode_msg(const uint8_t *buf, size_t len, struct tally_msg *ret);

/* PrecinctResult. */
int tally_codec_encode_result(const struct tally_result *r, uint8_t **ret, size_t *ret_len);
int tally_codec_decode_result(const uint8_t *buf, size_t len, struct tally_result *ret);

/*
 * SignedResult. The encoding is protobuf-c's canonical one; payload and
 * signature bytes are carried unchanged. This is the leaf of the Merkle log.
 */
int tally_codec_encode_signed(const struct tally_signed_result *s, uint8_t **ret, size_t *ret_len);
int tally_codec_decode_signed(const uint8_t *buf, size_t len, struct tally_signed_result *ret);

/* TreeHead: the bytes the aggregator's log key signs. */
int tally_codec_encode_tree_head(const struct tally_tree_head *h, uint8_t **ret, size_t *ret_len);
int tally_codec_decode_tree_head(const uint8_t *buf, size_t len, struct tally_tree_head *ret);

#endif
