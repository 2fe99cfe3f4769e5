/*
 * seats.h: the seats of a party-list contest, from the lists' votes and the
 * contest's rules. Pure: no I/O, no allocation, integers only. Every
 * comparison of two quotients a/b and c/d is made as a*d against c*b in
 * 128-bit arithmetic, so no rounding ever decides a seat.
 *
 * The rules, as a commission applies them:
 *
 * Threshold. A list passes when it is not an against-all option, has at
 * least one vote, and its votes are not less than threshold_ppm of
 * threshold_base: votes * 1000000 >= threshold_ppm * threshold_base. The
 * caller names the base its rules use (the valid votes including
 * against-all, or the ballots cast); against-all votes count in it when
 * the caller includes them, but an against-all option never passes and is
 * never seated. Only the lists that passed take part in what follows; V
 * below is the sum of their votes.
 *
 * hare (largest remainder, Hare quota V/S for S seats). Each list first
 * takes the whole part of votes * S / V; the seats left go one each to the
 * lists with the largest remainders (votes * S mod V, compared as
 * integers, since all share the denominator V).
 *
 * dhondt and sainte_lague (highest averages). Each seat in turn goes to the
 * list with the highest average votes / d, where d is 1, 2, 3, ... (D'Hondt)
 * or 1, 3, 5, ... (Sainte-Lague) for a list's first, second, third seat.
 * a/d_a against b/d_b is compared as a * d_b against b * d_a.
 *
 * Ties. Two lists tie when their remainders (hare) or their averages are
 * equal and there are fewer seats left than lists with that claim; a tie
 * between claims that all get a seat anyway decides nothing. Under
 * TALLY_TIE_BALLOT_ORDER the list earlier on the ballot takes the seat.
 * Under TALLY_TIE_LOT nobody does: the result names every list with that
 * claim (tied[], n_tied, ballot order) and the number of seats among them
 * (tie_seats), those seats are not allocated, and nothing further is
 * allocated after them (a tie is always for the last seats). Two lists with
 * equal averages for the last seat: tie_seats = 1, n_tied = 2. A list may
 * be tied for its own next seat (D'Hondt 200 and 100 votes for 2 seats:
 * the first list's second average 100 ties the second list's first).
 *
 * List length. A list never takes more seats than candidates on it
 * (list_length, 0 = no cap). With TALLY_OVERFLOW_VACANT, the seats are
 * allocated as if there were no cap, and the seats a list wins beyond its
 * candidates stay empty (vacant); a full list can still be tied, and a lot
 * that it wins leaves that seat empty. With TALLY_OVERFLOW_REDISTRIBUTE the
 * seats go on to lists that still have candidates:
 *   - highest averages: a full list is passed over and the seat goes to the
 *     next highest average among lists with room;
 *   - hare, in rounds over the lists with room ("open"), starting with all
 *     lists that passed and all S seats: (a) with V the open lists' votes
 *     and R the seats still to fill, each open list takes the whole part of
 *     votes * R / V, or as many as it has room for; (b) the seats left go
 *     one each, by largest remainder votes * R mod V, to the lists that
 *     still have room; (c) if seats remain after every such list took one
 *     (only possible when a cap cut a list short), another round starts
 *     with the remaining seats among the lists that still have room. With
 *     no cap reached this is exactly the plain method in one round.
 * Seats that no open list can take stay vacant.
 *
 * Nobody passes (no votes, every list under the threshold, only
 * against-all): every seat is vacant.
 *
 * Sums: the seats allocated, vacant and tie_seats always add up to the
 * seats offered.
 */
#ifndef TALLY_SEATS_H
#define TALLY_SEATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"
#include "tally/rules.h"

/* A contest's figures and rules. Borrowed arrays of n entries, ballot order. */
struct tally_seats_input {
	size_t n;                    /* lists, <= TALLY_MAX_OPTIONS */
	const uint64_t *votes;       /* per list (may be NULL only when n == 0) */
	const bool *against_all;     /* per list: never passes, never seated (NULL: none) */
	const uint32_t *list_length; /* per list: candidates, 0 = no cap (NULL: no caps) */
	uint32_t seats;              /* seats offered, >= 1 */
	uint32_t threshold_ppm;      /* <= TALLY_PPM; a list passes at >= */
	uint64_t threshold_base;     /* the denominator the rules name */
	enum tally_seat_method method;
	enum tally_tie_rule tie;
	enum tally_overflow overflow;
};

/* The allocation, indexed like the input. Plain data, owned by the caller. */
struct tally_seats_result {
	bool passed[TALLY_MAX_OPTIONS];
	uint32_t seats[TALLY_MAX_OPTIONS];
	uint32_t
	    vacant; /* left empty: caps under OVERFLOW_VACANT, no list with room, nobody passed */
	uint32_t tie_seats; /* under TIE_LOT: seats left to a drawing of lots, not allocated */
	size_t n_tied;      /* lists with equal claims to those seats (0 when tie_seats == 0) */
	uint32_t tied[TALLY_MAX_OPTIONS]; /* their indexes, ascending */
};

/*
 * Allocates in->seats seats by the rules above into *ret (always fully
 * written; zeroed on error). Its time depends on the number of lists only
 * (at most O(n^3) steps), never on the number of seats. Returns 0, or
 * -EINVAL when in or ret is NULL, n exceeds TALLY_MAX_OPTIONS, votes is
 * NULL with n > 0, seats is 0, threshold_ppm exceeds TALLY_PPM, or method,
 * tie or overflow is not one of its enum's values.
 */
int tally_seats_allocate(const struct tally_seats_input *in, struct tally_seats_result *ret);

#endif
