/*
 * seats.c: the seats of a party-list contest (seats.h states the rules).
 * It owns nothing: it reads the caller's arrays and writes the caller's
 * result. Its one departure from the textbook is speed: the highest-average
 * methods do not award a parliament seat by seat from the first. Each list
 * is first given the seats it is certain to reach, the whole part of its
 * share of (seats - lists), which lie strictly above the last seat's
 * average and so are untouched by any tie; only the last seats, at most
 * two per list, are then awarded one highest average at a time. The time
 * therefore depends on the number of lists, not of seats. The observers'
 * verifier (daemon/cli/audit_seats.c) recomputes every allocation the slow,
 * obvious way, and the tests hold the two against each other.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "tally/seats.h"

typedef unsigned __int128 u128;

/* No cap: no list can reach it, since seats are a uint32_t. */
#define NO_CAP UINT32_MAX

/* One allocation in progress. */
struct alloc {
	const struct tally_seats_input *in;
	struct tally_seats_result *ret;
	uint32_t cap[TALLY_MAX_OPTIONS]; /* the most seats each list may take here */
	uint32_t left;                   /* seats neither allocated nor left to lot yet */
};

static bool passes(const struct tally_seats_input *in, size_t i)
{
	if (in->against_all != NULL && in->against_all[i])
		return false;
	if (in->votes[i] == 0)
		return false;
	/* "not less than": at exactly the threshold a list passes. */
	return (u128)in->votes[i] * TALLY_PPM >= (u128)in->threshold_ppm * in->threshold_base;
}

/* A list that passed and can still take a seat. */
static bool has_room(const struct alloc *a, size_t i)
{
	return a->ret->passed[i] && a->ret->seats[i] < a->cap[i];
}

static void award(struct alloc *a, size_t i, uint32_t k)
{
	assert(k <= a->left);
	assert(k <= a->cap[i] - a->ret->seats[i]);
	a->ret->seats[i] += k;
	a->left -= k;
}

/* The last a->left seats are left to lot among the lists marked in claim. */
static void leave_to_lot(struct alloc *a, const bool *claim)
{
	for (size_t i = 0; i < a->in->n; i++)
		if (claim[i])
			a->ret->tied[a->ret->n_tied++] = (uint32_t)i;
	a->ret->tie_seats = a->left;
	a->left = 0;
}

/*
 * Hare, in the rounds seats.h describes. Round one without a cap reached is
 * the plain method. A round that leaves seats for another must have cut a
 * list short in (a) (otherwise the seats left after (a) are the sum of the
 * fractional parts, fewer than the lists with room), so there are at most
 * n + 1 rounds.
 */
static void hare(struct alloc *a)
{
	const uint64_t *votes = a->in->votes;
	size_t n = a->in->n;

	while (a->left > 0) {
		u128 total = 0, rem[TALLY_MAX_OPTIONS];
		size_t order[TALLY_MAX_OPTIONS], k = 0;
		uint32_t r = a->left;

		for (size_t i = 0; i < n; i++)
			if (has_room(a, i))
				total += votes[i];
		if (total == 0)
			return; /* no list with room: the rest stays vacant */

		/* (a) the whole part of each share, as far as the list has room */
		for (size_t i = 0; i < n; i++) {
			if (!has_room(a, i))
				continue;
			u128 share = (u128)votes[i] * r;
			u128 whole = share / total; /* <= r */
			uint32_t room = a->cap[i] - a->ret->seats[i];
			rem[i] = share % total;
			award(a, i, whole < room ? (uint32_t)whole : room);
		}

		/* (b) the lists still with room, largest remainder first, then
		 * ballot order (insertion sort: at most TALLY_MAX_OPTIONS) */
		for (size_t i = 0; i < n; i++) {
			if (!has_room(a, i))
				continue;
			size_t j = k++;
			while (j > 0 && rem[order[j - 1]] < rem[i]) {
				order[j] = order[j - 1];
				j--;
			}
			order[j] = i;
		}
		if (k == 0 || a->left == 0)
			return;
		if (a->left >= k) {
			/* every list with room takes one; (c) another round */
			for (size_t j = 0; j < k; j++)
				award(a, order[j], 1);
			continue;
		}
		u128 last = rem[order[a->left - 1]];
		if (a->in->tie == TALLY_TIE_LOT && rem[order[a->left]] == last) {
			bool claim[TALLY_MAX_OPTIONS] = {false};
			for (size_t j = 0; j < k; j++) {
				if (rem[order[j]] > last)
					award(a, order[j], 1);
				else if (rem[order[j]] == last)
					claim[order[j]] = true;
			}
			leave_to_lot(a, claim);
			return;
		}
		uint32_t give = a->left;
		for (size_t j = 0; j < give; j++)
			award(a, order[j], 1);
		return;
	}
}

/* The divisor of the next seat of a list that holds s. */
static u128 divisor(enum tally_seat_method m, uint32_t s)
{
	return m == TALLY_METHOD_DHONDT ? (u128)s + 1 : 2 * (u128)s + 1;
}

/* The next averages of lists i and j compared: <0, 0 or >0. */
static int compare_next(const struct alloc *a, size_t i, size_t j)
{
	u128 lhs = (u128)a->in->votes[i] * divisor(a->in->method, a->ret->seats[j]);
	u128 rhs = (u128)a->in->votes[j] * divisor(a->in->method, a->ret->seats[i]);
	return lhs < rhs ? -1 : lhs > rhs;
}

/*
 * The seats every list is sure of. Among the lists with room, which will
 * hold H seats between them when done (what they hold now plus the seats
 * left), take x = V / (H - m) for m lists with V votes. A list has
 * floor(v / x) D'Hondt averages >= x and floor(v / x + 1/2) Sainte-Lague
 * ones (divisors 2k-1 against x/2), so at most H - m + m/2 < H averages are
 * >= x in all: the last of the H seats goes below x, and every average >= x
 * is awarded before any tie. floor(v * (H - m) / V) seats, capped, are thus
 * each list's in any case. Filling a list frees seats for the others, so
 * this repeats until it fills none (at most n times); then fewer than 2m
 * seats are left.
 */
static void sure_seats(struct alloc *a)
{
	const uint64_t *votes = a->in->votes;
	size_t n = a->in->n;
	bool filled = true;

	while (filled && a->left > 0) {
		u128 total = 0, hold = a->left;
		uint32_t m = 0;

		filled = false;
		for (size_t i = 0; i < n; i++) {
			if (has_room(a, i)) {
				total += votes[i];
				hold += a->ret->seats[i];
				m++;
			}
		}
		if (m == 0 || hold <= m)
			return;
		for (size_t i = 0; i < n; i++) {
			if (!has_room(a, i))
				continue;
			u128 sure = (u128)votes[i] * (hold - m) / total; /* < hold <= seats */
			if (sure > a->cap[i])
				sure = a->cap[i];
			if (sure > a->ret->seats[i]) {
				award(a, i, (uint32_t)sure - a->ret->seats[i]);
				if (a->ret->seats[i] == a->cap[i])
					filled = true;
			}
		}
	}
}

static void highest_averages(struct alloc *a)
{
	size_t n = a->in->n;

	sure_seats(a);
	while (a->left > 0) {
		bool claim[TALLY_MAX_OPTIONS] = {false};
		size_t best = n;
		uint32_t m = 0;

		for (size_t i = 0; i < n; i++)
			if (has_room(a, i) && (best == n || compare_next(a, i, best) > 0))
				best = i;
		if (best == n)
			return; /* no list with room: the rest stays vacant */
		for (size_t i = 0; i < n; i++) {
			if (has_room(a, i) && compare_next(a, i, best) == 0) {
				claim[i] = true;
				m++;
			}
		}
		if (m <= a->left) {
			/* Each takes a seat: after it, its next average is lower
			 * than the others' equal ones, so the order is immaterial. */
			for (size_t i = 0; i < n; i++)
				if (claim[i])
					award(a, i, 1);
			continue;
		}
		if (a->in->tie == TALLY_TIE_LOT) {
			leave_to_lot(a, claim);
			return;
		}
		for (size_t i = 0; i < n && a->left > 0; i++)
			if (claim[i])
				award(a, i, 1);
	}
}

static bool valid_input(const struct tally_seats_input *in)
{
	if (in->n > TALLY_MAX_OPTIONS || (in->n > 0 && in->votes == NULL))
		return false;
	if (in->seats == 0 || in->threshold_ppm > TALLY_PPM)
		return false;
	switch (in->method) {
	case TALLY_METHOD_HARE:
	case TALLY_METHOD_DHONDT:
	case TALLY_METHOD_SAINTE_LAGUE:
		break;
	default:
		return false;
	}
	if (in->tie != TALLY_TIE_BALLOT_ORDER && in->tie != TALLY_TIE_LOT)
		return false;
	return in->overflow == TALLY_OVERFLOW_REDISTRIBUTE || in->overflow == TALLY_OVERFLOW_VACANT;
}

int tally_seats_allocate(const struct tally_seats_input *in, struct tally_seats_result *ret)
{
	struct alloc a;
	uint64_t allocated = 0;
	bool capped;

	if (ret == NULL)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (in == NULL || !valid_input(in))
		return -EINVAL;

	/* Under OVERFLOW_VACANT the caps apply only after the allocation. */
	capped = in->list_length != NULL && in->overflow == TALLY_OVERFLOW_REDISTRIBUTE;
	memset(&a, 0, sizeof(a));
	a.in = in;
	a.ret = ret;
	a.left = in->seats;
	for (size_t i = 0; i < in->n; i++) {
		ret->passed[i] = passes(in, i);
		a.cap[i] = capped && in->list_length[i] > 0 ? in->list_length[i] : NO_CAP;
	}

	if (in->method == TALLY_METHOD_HARE)
		hare(&a);
	else
		highest_averages(&a);

	for (size_t i = 0; i < in->n; i++) {
		if (in->overflow == TALLY_OVERFLOW_VACANT && in->list_length != NULL &&
		    in->list_length[i] > 0 && ret->seats[i] > in->list_length[i])
			ret->seats[i] = in->list_length[i];
		allocated += ret->seats[i];
	}
	ret->vacant = (uint32_t)(in->seats - allocated - ret->tie_seats);
	return 0;
}
