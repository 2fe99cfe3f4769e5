/*
 * audit_seats.h: an observer's own count of a party-list contest's seats,
 * kept apart from the aggregator's (daemon/common/seats.c) so that a
 * verifier takes none of the daemon's arithmetic on trust. It applies the
 * same rules (include/tally/seats.h and docs/elections.md, "Seat
 * allocation") the plain way: the highest-average methods award one seat
 * at a time, from the first, by scanning every list; Hare sorts the
 * remainders of each round. Integers only. Pure.
 */
#ifndef TALLY_CLI_AUDIT_SEATS_H
#define TALLY_CLI_AUDIT_SEATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"
#include "tally/rules.h"

/* One seat at a time costs seats x lists steps; no parliament comes near. */
#define AUDIT_SEATS_MAX 1000000u

struct audit_seats_list {
	uint64_t votes;
	uint32_t candidates; /* on the list; 0 = no cap */
	bool against_all;    /* never passes, never seated */
};

/* A contest as the published definition and totals give it. */
struct audit_seats_contest {
	size_t n_lists; /* <= TALLY_MAX_OPTIONS, ballot order */
	struct audit_seats_list lists[TALLY_MAX_OPTIONS];
	uint32_t seats;          /* 1 ..= AUDIT_SEATS_MAX */
	uint32_t threshold_ppm;  /* <= TALLY_PPM; passes at votes * 10^6 >= ppm * base */
	uint64_t threshold_base; /* the rules' denominator */
	enum tally_seat_method method;
	enum tally_tie_rule tie;
	enum tally_overflow overflow;
};

/* The recomputed allocation, indexed like the lists. */
struct audit_seats_outcome {
	bool passed[TALLY_MAX_OPTIONS];
	uint32_t won[TALLY_MAX_OPTIONS];
	uint32_t vacant;                 /* seats left empty */
	uint32_t lot_seats;              /* seats left to a drawing of lots */
	size_t n_lot;                    /* lists with equal claims to them */
	uint32_t lot[TALLY_MAX_OPTIONS]; /* their indexes, ascending */
};

/*
 * Recomputes c's seats into *ret (zeroed first). Returns 0; -EINVAL when an
 * argument is NULL, n_lists exceeds TALLY_MAX_OPTIONS, seats is 0,
 * threshold_ppm exceeds TALLY_PPM, or an enum is out of range; -E2BIG when
 * seats exceeds AUDIT_SEATS_MAX.
 */
int audit_seats_compute(const struct audit_seats_contest *c, struct audit_seats_outcome *ret);

#endif
