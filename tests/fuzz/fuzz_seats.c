/*
 * fuzz_seats.c: seat allocation on any contest the bytes describe, up to
 * 2^64 - 1 votes a list and 2^32 - 1 seats. Whatever comes in,
 * tally_seats_allocate() must return promptly, refuse exactly the inputs
 * seats.h says it refuses, and on the others keep every invariant: the
 * seats allocated, vacant and left to lot add up to the seats offered; only
 * lists that passed (by the threshold recomputed here) hold seats; no list
 * holds more than its candidates; a tie is only reported under lot, names
 * more lists than the seats in question, in ballot order; seats stay vacant
 * under "redistribute" only when every list that passed is full. When the
 * seats are few enough for one-at-a-time, the verifier's independent count
 * (cli/audit_seats.h) must agree on everything.
 *
 * Layout (big-endian): n, method (255 = invalid), flags (bit 0 lot, bit 1
 * vacant, bit 2 against-all array, bit 3 list lengths, 0xFF = invalid
 * tie), seats u32, threshold u32 (mod 1000002), base u64, then per list:
 * a byte (bits 0-5 shift the votes right, bit 6 against-all, bit 7 a
 * 32-bit list length instead of 16), votes u64, length u16 or u32.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cli/audit_seats.h"
#include "fuzz_common.h"
#include "tally/seats.h"

/* One-at-a-time costs seats x lists; beyond this only the invariants. */
#define CROSS_CHECK_SEATS 20000

struct reader {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct reader *r, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		v <<= 8;
		if (r->left > 0) {
			v |= *r->p++;
			r->left--;
		}
	}
	return v;
}

static void check(const struct tally_seats_input *in, const struct tally_seats_result *r)
{
	uint64_t sum = 0;
	bool all_full = true;

	for (size_t i = 0; i < in->n; i++) {
		bool against = in->against_all != NULL && in->against_all[i];
		uint32_t length = in->list_length != NULL ? in->list_length[i] : 0;
		bool passes = !against && in->votes[i] > 0 &&
		              (unsigned __int128)in->votes[i] * 1000000 >=
		                  (unsigned __int128)in->threshold_ppm * in->threshold_base;

		CHECK(r->passed[i] == passes);
		if (!passes)
			CHECK(r->seats[i] == 0);
		if (length > 0)
			CHECK(r->seats[i] <= length);
		if (passes && (length == 0 || r->seats[i] < length))
			all_full = false;
		sum += r->seats[i];
	}
	for (size_t i = in->n; i < TALLY_MAX_OPTIONS; i++)
		CHECK(r->seats[i] == 0 && !r->passed[i]);
	CHECK(sum + r->vacant + r->tie_seats == in->seats);
	CHECK((r->tie_seats == 0) == (r->n_tied == 0));
	if (r->tie_seats > 0) {
		CHECK(in->tie == TALLY_TIE_LOT);
		CHECK(r->n_tied > r->tie_seats);
		CHECK(r->n_tied <= in->n);
		for (size_t j = 0; j < r->n_tied; j++) {
			CHECK(r->tied[j] < in->n && r->passed[r->tied[j]]);
			if (j > 0)
				CHECK(r->tied[j - 1] < r->tied[j]);
		}
	}
	if (in->overflow == TALLY_OVERFLOW_REDISTRIBUTE && r->vacant > 0)
		CHECK(all_full && r->tie_seats == 0);
}

static void cross_check(const struct tally_seats_input *in, const struct tally_seats_result *r)
{
	struct audit_seats_contest c;
	struct audit_seats_outcome o;

	memset(&c, 0, sizeof(c));
	c.n_lists = in->n;
	for (size_t i = 0; i < in->n; i++) {
		c.lists[i].votes = in->votes[i];
		c.lists[i].against_all = in->against_all != NULL && in->against_all[i];
		c.lists[i].candidates = in->list_length != NULL ? in->list_length[i] : 0;
	}
	c.seats = in->seats;
	c.threshold_ppm = in->threshold_ppm;
	c.threshold_base = in->threshold_base;
	c.method = in->method;
	c.tie = in->tie;
	c.overflow = in->overflow;
	CHECK(audit_seats_compute(&c, &o) == 0);
	for (size_t i = 0; i < in->n; i++) {
		CHECK(o.passed[i] == r->passed[i]);
		CHECK(o.won[i] == r->seats[i]);
	}
	CHECK(o.vacant == r->vacant);
	CHECK(o.lot_seats == r->tie_seats);
	CHECK(o.n_lot == r->n_tied);
	for (size_t j = 0; j < o.n_lot; j++)
		CHECK(o.lot[j] == r->tied[j]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader rd = {data, size};
	uint64_t votes[TALLY_MAX_OPTIONS + 1];
	bool against[TALLY_MAX_OPTIONS + 1];
	uint32_t length[TALLY_MAX_OPTIONS + 1];
	struct tally_seats_input in;
	struct tally_seats_result r;
	uint32_t method, flags;
	bool invalid;
	int rc;

	memset(&in, 0, sizeof(in));
	in.n = take(&rd, 1) % (TALLY_MAX_OPTIONS + 2); /* one more: refused */
	method = (uint32_t)take(&rd, 1);
	flags = (uint32_t)take(&rd, 1);
	in.method =
	    method == 255 ? (enum tally_seat_method)3 : (enum tally_seat_method)(method % 3);
	in.tie = flags == 0xFF ? (enum tally_tie_rule)2 : (enum tally_tie_rule)(flags & 1);
	in.overflow = (enum tally_overflow)((flags >> 1) & 1);
	in.seats = (uint32_t)take(&rd, 4);
	in.threshold_ppm = (uint32_t)(take(&rd, 4) % (TALLY_PPM + 2));
	in.threshold_base = take(&rd, 8);
	for (size_t i = 0; i < in.n; i++) {
		uint32_t b = (uint32_t)take(&rd, 1);
		votes[i] = take(&rd, 8) >> (b & 63);
		against[i] = (b & 0x40) != 0;
		length[i] = (uint32_t)take(&rd, (b & 0x80) ? 4 : 2);
	}
	in.votes = in.n > 0 ? votes : NULL;
	in.against_all = (flags & 4) ? against : NULL;
	in.list_length = (flags & 8) ? length : NULL;

	invalid = in.n > TALLY_MAX_OPTIONS || in.seats == 0 || in.threshold_ppm > TALLY_PPM ||
	          (unsigned)in.method > 2 || (unsigned)in.tie > 1;
	memset(&r, 0xA5, sizeof(r));
	rc = tally_seats_allocate(&in, &r);
	if (invalid) {
		CHECK(rc == -EINVAL);
		CHECK(r.vacant == 0 && r.tie_seats == 0 && r.n_tied == 0 && r.seats[0] == 0);
		return 0;
	}
	CHECK(rc == 0);
	check(&in, &r);
	if (in.seats <= CROSS_CHECK_SEATS)
		cross_check(&in, &r);
	return 0;
}
