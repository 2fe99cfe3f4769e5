/*
 * Tests for frame.c: the incremental decoder on every way a stream can
 * split or merge frames, the length checks, and the encoder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tally/frame.h"

/* Collects every frame the decoder yields from a stream fed in `chunk`-sized pieces. */
struct collected {
	int n;
	size_t len[8];
	uint8_t data[8][256];
	int err; /* first negative return, 0 if none */
};

static void feed(struct tally_frame_decoder *d, const uint8_t *s, size_t len, size_t chunk,
                 struct collected *c)
{
	size_t off = 0;

	c->err = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used = 0;
		while (n > 0) {
			size_t consumed;
			const uint8_t *frame;
			size_t frame_len;
			int r =
			    tally_frame_decode(d, s + off + used, n, &consumed, &frame, &frame_len);
			if (r < 0) {
				c->err = r;
				return;
			}
			cr_assert_leq(consumed, n);
			used += consumed;
			n -= consumed;
			if (r == 1) {
				cr_assert_lt(c->n, 8);
				cr_assert_leq(frame_len, sizeof(c->data[0]));
				memcpy(c->data[c->n], frame, frame_len);
				c->len[c->n++] = frame_len;
			} else {
				cr_assert_eq(n, 0, "decoder returned 0 with input left");
			}
		}
		off += used;
	}
}

/* Three frames "a", "hello", 200 x 'z' back to back. */
static size_t three_frames(uint8_t *out)
{
	size_t off = 0;
	tally_frame_header(1, out + off);
	off += 4;
	out[off++] = 'a';
	tally_frame_header(5, out + off);
	off += 4;
	memcpy(out + off, "hello", 5);
	off += 5;
	tally_frame_header(200, out + off);
	off += 4;
	memset(out + off, 'z', 200);
	off += 200;
	return off;
}

static void check_three(const struct collected *c)
{
	cr_assert_eq(c->err, 0);
	cr_assert_eq(c->n, 3);
	cr_assert_eq(c->len[0], 1);
	cr_assert_eq(c->data[0][0], 'a');
	cr_assert_eq(c->len[1], 5);
	cr_assert_eq(memcmp(c->data[1], "hello", 5), 0);
	cr_assert_eq(c->len[2], 200);
	for (int i = 0; i < 200; i++)
		cr_assert_eq(c->data[2][i], 'z');
}

Test(frame, header_is_big_endian)
{
	uint8_t h[4];
	tally_frame_header(0x01020304u, h);
	cr_assert_eq(h[0], 1);
	cr_assert_eq(h[1], 2);
	cr_assert_eq(h[2], 3);
	cr_assert_eq(h[3], 4);
}

Test(frame, several_frames_merged_in_one_chunk)
{
	uint8_t s[512];
	size_t len = three_frames(s);
	struct tally_frame_decoder d;
	struct collected c = {0};

	tally_frame_decoder_init(&d, 1024);
	feed(&d, s, len, len, &c);
	check_three(&c);
	tally_frame_decoder_clear(&d);
}

Test(frame, byte_by_byte)
{
	uint8_t s[512];
	size_t len = three_frames(s);
	struct tally_frame_decoder d;
	struct collected c = {0};

	tally_frame_decoder_init(&d, 1024);
	feed(&d, s, len, 1, &c);
	check_three(&c);
	tally_frame_decoder_clear(&d);
}

Test(frame, split_at_every_chunk_size)
{
	uint8_t s[512];
	size_t len = three_frames(s);

	for (size_t chunk = 2; chunk <= len; chunk++) {
		struct tally_frame_decoder d;
		struct collected c = {0};
		tally_frame_decoder_init(&d, 1024);
		feed(&d, s, len, chunk, &c);
		check_three(&c);
		tally_frame_decoder_clear(&d);
	}
}

Test(frame, header_split_across_chunks_returns_zero_until_complete)
{
	uint8_t s[7];
	struct tally_frame_decoder d;
	size_t consumed;
	const uint8_t *frame = NULL;
	size_t frame_len = 0;

	tally_frame_header(3, s);
	memcpy(s + 4, "xyz", 3);
	tally_frame_decoder_init(&d, 16);
	cr_assert_eq(tally_frame_decode(&d, s, 2, &consumed, &frame, &frame_len), 0);
	cr_assert_eq(consumed, 2);
	cr_assert_eq(tally_frame_decode(&d, s + 2, 3, &consumed, &frame, &frame_len), 0);
	cr_assert_eq(consumed, 3);
	cr_assert_eq(tally_frame_decode(&d, s + 5, 2, &consumed, &frame, &frame_len), 1);
	cr_assert_eq(consumed, 2);
	cr_assert_eq(frame_len, 3);
	cr_assert_eq(memcmp(frame, "xyz", 3), 0);
	tally_frame_decoder_clear(&d);
}

Test(frame, returns_after_first_frame_and_leaves_the_rest)
{
	uint8_t s[512];
	size_t len = three_frames(s);
	struct tally_frame_decoder d;
	size_t consumed;
	const uint8_t *frame;
	size_t frame_len;

	tally_frame_decoder_init(&d, 1024);
	cr_assert_eq(tally_frame_decode(&d, s, len, &consumed, &frame, &frame_len), 1);
	cr_assert_eq(consumed, 5);
	cr_assert_eq(frame_len, 1);
	cr_assert_eq(frame[0], 'a');
	tally_frame_decoder_clear(&d);
}

Test(frame, zero_length_is_ebadmsg_and_sticky)
{
	uint8_t s[9] = {0, 0, 0, 0, 0, 0, 0, 1, 'x'};
	struct tally_frame_decoder d;
	size_t consumed;
	const uint8_t *frame;
	size_t frame_len;

	tally_frame_decoder_init(&d, 16);
	cr_assert_eq(tally_frame_decode(&d, s, sizeof(s), &consumed, &frame, &frame_len), -EBADMSG);
	/* A valid frame after the error is refused too: the stream is lost. */
	cr_assert_eq(tally_frame_decode(&d, s + 4, 5, &consumed, &frame, &frame_len), -EBADMSG);
	cr_assert_eq(consumed, 0);
	tally_frame_decoder_clear(&d);
}

Test(frame, oversized_is_emsgsize_without_allocating)
{
	uint8_t s[4];
	struct tally_frame_decoder d;
	size_t consumed;
	const uint8_t *frame;
	size_t frame_len;

	tally_frame_header(0xffffffffu, s);
	tally_frame_decoder_init(&d, 65536);
	cr_assert_eq(tally_frame_decode(&d, s, 4, &consumed, &frame, &frame_len), -EMSGSIZE);
	cr_assert_null(d.buf);
	cr_assert_eq(d.buf_cap, 0);
	cr_assert_eq(tally_frame_decode(&d, s, 1, &consumed, &frame, &frame_len), -EMSGSIZE);
	tally_frame_decoder_clear(&d);
}

Test(frame, one_above_max_is_refused)
{
	uint8_t s[4];
	struct tally_frame_decoder d;
	size_t consumed;
	const uint8_t *frame;
	size_t frame_len;

	tally_frame_header(101, s);
	tally_frame_decoder_init(&d, 100);
	cr_assert_eq(tally_frame_decode(&d, s, 4, &consumed, &frame, &frame_len), -EMSGSIZE);
	tally_frame_decoder_clear(&d);
}

Test(frame, exactly_max_is_accepted)
{
	size_t max = 100;
	uint8_t s[104];
	struct tally_frame_decoder d;
	size_t consumed;
	const uint8_t *frame;
	size_t frame_len;

	tally_frame_header((uint32_t)max, s);
	memset(s + 4, 7, max);
	tally_frame_decoder_init(&d, (uint32_t)max);
	cr_assert_eq(tally_frame_decode(&d, s, sizeof(s), &consumed, &frame, &frame_len), 1);
	cr_assert_eq(consumed, 104);
	cr_assert_eq(frame_len, 100);
	cr_assert_eq(frame[99], 7);
	cr_assert_eq(d.buf_cap, 100);
	tally_frame_decoder_clear(&d);
}

Test(frame, default_max_when_zero)
{
	struct tally_frame_decoder d;
	tally_frame_decoder_init(&d, 0);
	cr_assert_eq(d.max, TALLY_FRAME_DEFAULT_MAX);
	cr_assert_eq(d.max, 65536);
	tally_frame_decoder_clear(&d);
}

Test(frame, encode_round_trip)
{
	const uint8_t body[] = "a frame body";
	uint8_t *out;
	size_t out_len, consumed, frame_len;
	const uint8_t *frame;
	struct tally_frame_decoder d;

	cr_assert_eq(tally_frame_encode(body, sizeof(body), 65536, &out, &out_len), 0);
	cr_assert_eq(out_len, 4 + sizeof(body));
	cr_assert_eq(out[0], 0);
	cr_assert_eq(out[3], sizeof(body));
	tally_frame_decoder_init(&d, 65536);
	cr_assert_eq(tally_frame_decode(&d, out, out_len, &consumed, &frame, &frame_len), 1);
	cr_assert_eq(consumed, out_len);
	cr_assert_eq(frame_len, sizeof(body));
	cr_assert_eq(memcmp(frame, body, sizeof(body)), 0);
	tally_frame_decoder_clear(&d);
	free(out);
}

Test(frame, encode_refuses_empty_and_oversized)
{
	uint8_t body[11] = {0};
	uint8_t *out = NULL;
	size_t out_len = 0;

	cr_assert_eq(tally_frame_encode(body, 0, 10, &out, &out_len), -EINVAL);
	cr_assert_eq(tally_frame_encode(body, 11, 10, &out, &out_len), -EMSGSIZE);
	cr_assert_null(out);
	cr_assert_eq(tally_frame_encode(body, 10, 10, &out, &out_len), 0);
	cr_assert_eq(out_len, 14);
	free(out);
}
