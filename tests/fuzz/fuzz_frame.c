/*
 * fuzz_frame.c: the incremental frame decoder against a one-shot reference
 * parser. The first bytes of the input choose the size limit and the seed of
 * the chunking; the rest is the byte stream, fed in random chunks (one byte
 * at a time included). Whatever the chunking, the decoder must yield exactly
 * the frames and the error the reference finds, never take more bytes than
 * offered, and stay failed after an error. Each frame must survive
 * tally_frame_encode() back to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tally/frame.h"

struct ref_frame {
	size_t off; /* body offset in the stream */
	uint32_t len;
};

/* Frames of the whole stream at once; returns the error or 0, *n_frames set. */
static int reference(const uint8_t *s, size_t n, uint32_t max, struct ref_frame *frames, size_t cap,
                     size_t *n_frames)
{
	size_t pos = 0;

	*n_frames = 0;
	while (n - pos >= TALLY_FRAME_HEADER_BYTES) {
		uint32_t len = (uint32_t)s[pos] << 24 | (uint32_t)s[pos + 1] << 16 |
		               (uint32_t)s[pos + 2] << 8 | s[pos + 3];
		if (len == 0)
			return -EBADMSG;
		if (len > max)
			return -EMSGSIZE;
		if (n - pos - TALLY_FRAME_HEADER_BYTES < len)
			return 0;
		CHECK(*n_frames < cap);
		frames[*n_frames].off = pos + TALLY_FRAME_HEADER_BYTES;
		frames[*n_frames].len = len;
		(*n_frames)++;
		pos += TALLY_FRAME_HEADER_BYTES + len;
	}
	return 0;
}

static uint32_t next_rand(uint32_t *state)
{
	/* xorshift32: deterministic chunking from the input's own bytes. */
	uint32_t x = *state ? *state : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static void check_roundtrip(const uint8_t *body, size_t len, uint32_t max,
                            const uint8_t *stream_frame)
{
	uint8_t *enc = NULL;
	size_t enc_len = 0;

	CHECK(tally_frame_encode(body, len, max, &enc, &enc_len) == 0);
	CHECK(enc_len == len + TALLY_FRAME_HEADER_BYTES);
	CHECK(memcmp(enc, stream_frame - TALLY_FRAME_HEADER_BYTES, enc_len) == 0);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxes[] = {1, 2, 7, 16, 255, 256, 4096, TALLY_FRAME_DEFAULT_MAX};
	struct tally_frame_decoder d;
	struct ref_frame *frames;
	size_t n_frames = 0, got = 0, pos = 0;
	uint32_t max, seed;
	int ref_rc, rc = 0;
	const uint8_t *s;
	size_t n;

	if (size < 3)
		return 0;
	max = maxes[data[0] % (sizeof(maxes) / sizeof(maxes[0]))];
	seed = (uint32_t)data[1] << 8 | data[2];
	s = data + 3;
	n = size - 3;

	frames = calloc(n / 5 + 1, sizeof(*frames));
	CHECK(frames != NULL);
	ref_rc = reference(s, n, max, frames, n / 5 + 1, &n_frames);

	tally_frame_decoder_init(&d, max);
	while (pos < n) {
		/* Mostly small chunks, sometimes everything that is left. */
		uint32_t r = next_rand(&seed);
		size_t chunk = (r & 7) == 0 ? n - pos : 1 + (r >> 8) % 9;
		size_t off = 0;

		if (chunk > n - pos)
			chunk = n - pos;
		/* A copy of exactly the chunk, so ASan sees any read past it. */
		uint8_t *buf = malloc(chunk);
		CHECK(buf != NULL);
		memcpy(buf, s + pos, chunk);
		while (off < chunk) {
			size_t consumed = 12345;
			const uint8_t *frame = NULL;
			size_t frame_len = 0;

			rc = tally_frame_decode(&d, buf + off, chunk - off, &consumed, &frame,
			                        &frame_len);
			if (rc < 0)
				break;
			CHECK(consumed <= chunk - off);
			off += consumed;
			if (rc == 0) {
				CHECK(off == chunk); /* 0 means the input is used up */
				break;
			}
			CHECK(rc == 1);
			CHECK(consumed > 0);
			CHECK(got < n_frames);
			CHECK(frame_len == frames[got].len);
			CHECK(frame_len >= 1 && frame_len <= max);
			CHECK(memcmp(frame, s + frames[got].off, frame_len) == 0);
			/* The frame ends exactly where the stream position says. */
			CHECK(pos + off == frames[got].off + frame_len);
			check_roundtrip(frame, frame_len, max, s + frames[got].off);
			got++;
		}
		free(buf);
		if (rc < 0)
			break;
		pos += chunk;
	}

	CHECK(got == n_frames);
	if (rc < 0) {
		size_t consumed = 0;
		const uint8_t *frame = NULL;
		size_t frame_len = 0;
		uint8_t more[8] = {0, 0, 0, 1, 'x', 0, 0, 0};

		CHECK(rc == ref_rc);
		/* Sticky: a failed decoder refuses further, even valid, input. */
		CHECK(tally_frame_decode(&d, more, sizeof(more), &consumed, &frame, &frame_len) <
		      0);
	} else {
		CHECK(ref_rc == 0);
	}
	tally_frame_decoder_clear(&d);

	/* Encoder limits. */
	{
		uint8_t *enc = NULL;
		size_t enc_len = 0;
		CHECK(tally_frame_encode(s, 0, max, &enc, &enc_len) == -EINVAL);
		if (n > max)
			CHECK(tally_frame_encode(s, n, max, &enc, &enc_len) == -EMSGSIZE);
	}
	free(frames);
	return 0;
}
