/*
 * fuzz_codec.c: every decoder of codec.h on the same bytes. Whatever a
 * decoder accepts must re-encode, decode again to the same domain struct,
 * and re-encode to the same bytes (the encoding of a decoded value is a
 * fixed point); whatever it refuses must be -EBADMSG and leave nothing to
 * leak. Strings it hands out must fit their buffers with their NUL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tally/codec.h"

static void check_signed_equal(const struct tally_signed_result *a,
                               const struct tally_signed_result *b)
{
	CHECK(a->payload_len == b->payload_len);
	CHECK(a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0);
	CHECK(a->signature_len == b->signature_len);
	CHECK(memcmp(a->signature, b->signature,
	             a->signature_len < TALLY_SIG_BYTES ? a->signature_len : TALLY_SIG_BYTES) == 0);
	CHECK_STR(a->key_id, sizeof(a->key_id));
	CHECK(strcmp(a->key_id, b->key_id) == 0);
}

static void check_msg_equal(const struct tally_msg *a, const struct tally_msg *b)
{
	CHECK(a->type == b->type);
	switch (a->type) {
	case TALLY_MSG_HELLO:
		CHECK(a->protocol_version == b->protocol_version);
		CHECK(strcmp(a->node_id, b->node_id) == 0);
		CHECK(strcmp(a->region_id, b->region_id) == 0);
		break;
	case TALLY_MSG_WELCOME:
		CHECK(a->protocol_version == b->protocol_version);
		CHECK(strcmp(a->aggregator_id, b->aggregator_id) == 0);
		CHECK(strcmp(a->election_id, b->election_id) == 0);
		break;
	case TALLY_MSG_SUBMIT:
		CHECK(a->seq == b->seq);
		check_signed_equal(&a->result, &b->result);
		break;
	case TALLY_MSG_ACK:
		CHECK(a->seq == b->seq);
		CHECK(a->outcome == b->outcome);
		break;
	case TALLY_MSG_NACK:
		CHECK(a->seq == b->seq);
		CHECK(a->code == b->code);
		CHECK(strcmp(a->reason, b->reason) == 0);
		break;
	case TALLY_MSG_GOODBYE:
		CHECK(strcmp(a->reason, b->reason) == 0);
		break;
	case TALLY_MSG_PING:
	case TALLY_MSG_PONG:
		CHECK(a->nonce == b->nonce);
		break;
	default:
		abort(); /* a decoded Frame always has a body */
	}
}

static void check_msg_strings(const struct tally_msg *m)
{
	CHECK_STR(m->node_id, sizeof(m->node_id));
	CHECK_STR(m->region_id, sizeof(m->region_id));
	CHECK_STR(m->aggregator_id, sizeof(m->aggregator_id));
	CHECK_STR(m->election_id, sizeof(m->election_id));
	CHECK_STR(m->reason, sizeof(m->reason));
	CHECK(tally_msg_type_str(m->type) != NULL);
}

static void fuzz_msg(const uint8_t *data, size_t size)
{
	struct tally_msg a, b;
	uint8_t *enc1 = NULL, *enc2 = NULL;
	size_t len1 = 0, len2 = 0;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	r = tally_codec_decode_msg(data, size, &a);
	if (r < 0) {
		CHECK(r == -EBADMSG);
		tally_msg_clear(&a);
		return;
	}
	CHECK(r == 0);
	check_msg_strings(&a);
	CHECK(tally_codec_encode_msg(&a, &enc1, &len1) == 0);
	CHECK(tally_codec_decode_msg(enc1, len1, &b) == 0);
	check_msg_equal(&a, &b);
	CHECK(tally_codec_encode_msg(&b, &enc2, &len2) == 0);
	CHECK(len1 == len2 && memcmp(enc1, enc2, len1) == 0);
	free(enc1);
	free(enc2);
	tally_msg_clear(&a);
	tally_msg_clear(&b);
}

static void fuzz_result(const uint8_t *data, size_t size)
{
	struct tally_result a, b;
	uint8_t *enc1 = NULL, *enc2 = NULL;
	size_t len1 = 0, len2 = 0;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	r = tally_codec_decode_result(data, size, &a);
	if (r < 0) {
		CHECK(r == -EBADMSG);
		return;
	}
	CHECK(r == 0);
	CHECK_STR(a.election_id, sizeof(a.election_id));
	CHECK_STR(a.region_id, sizeof(a.region_id));
	CHECK(a.n_votes <= TALLY_MAX_OPTIONS);
	for (size_t i = 0; i < a.n_votes; i++)
		CHECK_STR(a.votes[i].option_id, sizeof(a.votes[i].option_id));
	CHECK(tally_codec_encode_result(&a, &enc1, &len1) == 0);
	CHECK(tally_codec_decode_result(enc1, len1, &b) == 0);
	check_result_equal(&a, &b);
	CHECK(tally_codec_encode_result(&b, &enc2, &len2) == 0);
	CHECK(len1 == len2 && memcmp(enc1, enc2, len1) == 0);
	free(enc1);
	free(enc2);
}

static void fuzz_signed(const uint8_t *data, size_t size)
{
	struct tally_signed_result a, b;
	uint8_t *enc1 = NULL, *enc2 = NULL;
	size_t len1 = 0, len2 = 0;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	r = tally_codec_decode_signed(data, size, &a);
	if (r < 0) {
		CHECK(r == -EBADMSG);
		tally_signed_result_clear(&a);
		return;
	}
	CHECK(r == 0);
	CHECK(tally_codec_encode_signed(&a, &enc1, &len1) == 0);
	CHECK(tally_codec_decode_signed(enc1, len1, &b) == 0);
	check_signed_equal(&a, &b);
	CHECK(tally_codec_encode_signed(&b, &enc2, &len2) == 0);
	/* The Merkle leaf: canonical bytes must not depend on the round trip. */
	CHECK(len1 == len2 && memcmp(enc1, enc2, len1) == 0);
	free(enc1);
	free(enc2);
	tally_signed_result_clear(&a);
	tally_signed_result_clear(&b);
}

static void fuzz_tree_head(const uint8_t *data, size_t size)
{
	struct tally_tree_head a, b;
	uint8_t *enc1 = NULL, *enc2 = NULL;
	size_t len1 = 0, len2 = 0;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	r = tally_codec_decode_tree_head(data, size, &a);
	if (r < 0) {
		CHECK(r == -EBADMSG);
		return;
	}
	CHECK(r == 0);
	CHECK_STR(a.election_id, sizeof(a.election_id));
	CHECK(tally_codec_encode_tree_head(&a, &enc1, &len1) == 0);
	CHECK(tally_codec_decode_tree_head(enc1, len1, &b) == 0);
	CHECK(strcmp(a.election_id, b.election_id) == 0);
	CHECK(a.tree_size == b.tree_size);
	CHECK(a.timestamp_ms == b.timestamp_ms);
	CHECK(memcmp(a.root_hash, b.root_hash, TALLY_HASH_BYTES) == 0);
	CHECK(memcmp(a.totals_hash, b.totals_hash, TALLY_HASH_BYTES) == 0);
	CHECK(tally_codec_encode_tree_head(&b, &enc2, &len2) == 0);
	CHECK(len1 == len2 && memcmp(enc1, enc2, len1) == 0);
	free(enc1);
	free(enc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so ASan sees any read past the end. */
	uint8_t *buf = malloc(size ? size : 1);

	CHECK(buf != NULL);
	memcpy(buf, data, size);
	fuzz_msg(buf, size);
	fuzz_result(buf, size);
	fuzz_signed(buf, size);
	fuzz_tree_head(buf, size);
	free(buf);
	return 0;
}
