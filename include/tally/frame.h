/*
 * frame.h: length-prefixed framing on a byte stream. A frame is a 4-byte
 * big-endian length N (1 <= N <= max) followed by N bytes. Pure: no I/O.
 */
#ifndef TALLY_FRAME_H
#define TALLY_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TALLY_FRAME_HEADER_BYTES 4
#define TALLY_FRAME_DEFAULT_MAX  65536u

/*
 * Incremental decoder. Feed it chunks of any size (one byte at a time too).
 * Owns `buf`; release with tally_frame_decoder_clear().
 */
struct tally_frame_decoder {
	uint32_t max;
	uint8_t header[TALLY_FRAME_HEADER_BYTES];
	size_t header_have;
	uint8_t *buf;
	size_t buf_cap;
	uint32_t need; /* body length of the frame being read, 0 while in header */
	size_t have;
	int failed; /* sticky: after an error the decoder refuses further input */
};

/* Ready to read frames of at most max body bytes (0: TALLY_FRAME_DEFAULT_MAX). */
void tally_frame_decoder_init(struct tally_frame_decoder *d, uint32_t max);
/* Frees the buffer and zeroes d; init again to reuse it. Takes NULL. */
void tally_frame_decoder_clear(struct tally_frame_decoder *d);

/*
 * Consumes bytes from data[0..len) until one frame is complete or the input
 * is used up; *ret_consumed says how many were taken. Call again with the
 * rest to get further frames.
 * Returns 1 and sets *ret_frame / *ret_frame_len when a frame is complete
 * (the pointer is valid until the next call); 0 when more input is needed;
 * -EBADMSG for a zero length; -EMSGSIZE for a length above max; -ENOMEM
 * when there is no memory for the frame's body. After an error the decoder
 * stays failed (the stream cannot be resynchronized).
 */
int tally_frame_decode(struct tally_frame_decoder *d, const uint8_t *data, size_t len,
                       size_t *ret_consumed, const uint8_t **ret_frame, size_t *ret_frame_len);

/* Writes the 4-byte header for a body of `len` bytes. */
void tally_frame_header(uint32_t len, uint8_t ret_header[TALLY_FRAME_HEADER_BYTES]);

/*
 * Allocates header + copy of body in *ret (caller frees).
 * Returns 0, -EINVAL if len is 0, -EMSGSIZE if above max, -ENOMEM.
 */
int tally_frame_encode(const uint8_t *body, size_t len, uint32_t max, uint8_t **ret,
                       size_t *ret_len);

#endif
