/*
 * frame.c: length-prefixed framing. The decoder is a small state machine
 * (header bytes, then body bytes) that accepts input in chunks of any size,
 * so the I/O shell can hand it whatever the socket returned. It never
 * allocates more than `max` bytes, whatever the peer announces, and once it
 * has seen a bad length it refuses everything after: a byte stream has no
 * way to find the next frame boundary, so the session must end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tally/frame.h"

void tally_frame_decoder_init(struct tally_frame_decoder *d, uint32_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max ? max : TALLY_FRAME_DEFAULT_MAX;
}

void tally_frame_decoder_clear(struct tally_frame_decoder *d)
{
	if (d == NULL)
		return;
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

static uint32_t read_be32(const uint8_t b[TALLY_FRAME_HEADER_BYTES])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Called once the 4 header bytes are in: checks the length, readies the buffer. */
static int start_body(struct tally_frame_decoder *d)
{
	uint32_t n = read_be32(d->header);

	if (n == 0)
		return -EBADMSG;
	if (n > d->max)
		return -EMSGSIZE;
	if (d->buf_cap < n) {
		/* Grow to what this frame needs, which is at most max. */
		uint8_t *p = realloc(d->buf, n);
		if (p == NULL)
			return -ENOMEM;
		d->buf = p;
		d->buf_cap = n;
	}
	d->need = n;
	d->have = 0;
	return 0;
}

int tally_frame_decode(struct tally_frame_decoder *d, const uint8_t *data, size_t len,
                       size_t *ret_consumed, const uint8_t **ret_frame, size_t *ret_frame_len)
{
	size_t off = 0;
	int r;

	*ret_consumed = 0;
	if (d->failed)
		return d->failed;

	while (off < len) {
		if (d->need == 0) {
			size_t take = TALLY_FRAME_HEADER_BYTES - d->header_have;
			if (take > len - off)
				take = len - off;
			memcpy(d->header + d->header_have, data + off, take);
			d->header_have += take;
			off += take;
			if (d->header_have < TALLY_FRAME_HEADER_BYTES)
				break;
			r = start_body(d);
			if (r < 0) {
				d->failed = r;
				*ret_consumed = off;
				return r;
			}
			continue;
		}

		size_t take = d->need - d->have;
		if (take > len - off)
			take = len - off;
		memcpy(d->buf + d->have, data + off, take);
		d->have += take;
		off += take;
		if (d->have == d->need) {
			*ret_frame = d->buf;
			*ret_frame_len = d->need;
			/*
			 * Ready for the next header now; the body stays in buf
			 * until the next call writes a new one over it.
			 */
			d->need = 0;
			d->have = 0;
			d->header_have = 0;
			*ret_consumed = off;
			return 1;
		}
	}
	*ret_consumed = off;
	return 0;
}

void tally_frame_header(uint32_t len, uint8_t ret_header[TALLY_FRAME_HEADER_BYTES])
{
	ret_header[0] = (uint8_t)(len >> 24);
	ret_header[1] = (uint8_t)(len >> 16);
	ret_header[2] = (uint8_t)(len >> 8);
	ret_header[3] = (uint8_t)len;
}

int tally_frame_encode(const uint8_t *body, size_t len, uint32_t max, uint8_t **ret,
                       size_t *ret_len)
{
	uint8_t *p;

	if (len == 0)
		return -EINVAL;
	if (len > max)
		return -EMSGSIZE;
	p = malloc(TALLY_FRAME_HEADER_BYTES + len);
	if (p == NULL)
		return -ENOMEM;
	tally_frame_header((uint32_t)len, p);
	memcpy(p + TALLY_FRAME_HEADER_BYTES, body, len);
	*ret = p;
	*ret_len = TALLY_FRAME_HEADER_BYTES + len;
	return 0;
}
