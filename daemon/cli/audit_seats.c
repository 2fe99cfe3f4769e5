/*
 * audit_seats.c: the verifier's recomputation of a contest's seats (see
 * audit_seats.h). Written for the reader who must be convinced rather than
 * for speed: the highest-average methods hand out seats one at a time from
 * the first, each to the list whose next average is highest, found by
 * looking at every list; Hare works in rounds that split the seats by whole
 * quota shares and then sort the remainders. Each list carries the number
 * of seats it may still take (its room), so a full list simply drops out.
 * Nothing here is shared with the daemon's seats.c except the rules'
 * vocabulary (rules.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit_seats.h"

typedef unsigned __int128 wide;

/* One recomputation. */
struct count {
	const struct audit_seats_contest *c;
	struct audit_seats_outcome *out;
	uint32_t room[TALLY_MAX_OPTIONS]; /* seats each list may still take; 0 = out */
	uint32_t to_fill;                 /* seats not handed out yet */
};

static void give(struct count *k, size_t list, uint32_t how_many)
{
	k->out->won[list] += how_many;
	k->room[list] -= how_many;
	k->to_fill -= how_many;
}

/* The seats still to fill go to a drawing of lots among the marked lists. */
static void draw_lots(struct count *k, const bool *among)
{
	for (size_t i = 0; i < k->c->n_lists; i++)
		if (among[i])
			k->out->lot[k->out->n_lot++] = (uint32_t)i;
	k->out->lot_seats = k->to_fill;
	k->to_fill = 0;
}

/*
 * a's next average against b's, as a sign. A list holding w seats divides
 * its votes by w + 1 (D'Hondt) or 2w + 1 (Sainte-Lague) for its next one;
 * va / da > vb / db exactly when va * db > vb * da.
 */
static int next_average_cmp(const struct count *k, size_t a, size_t b)
{
	wide step = k->c->method == TALLY_METHOD_DHONDT ? 1 : 2;
	wide da = step * k->out->won[a] + 1, db = step * k->out->won[b] + 1;
	wide left = k->c->lists[a].votes * db, right = k->c->lists[b].votes * da;

	if (left == right)
		return 0;
	return left > right ? 1 : -1;
}

static void by_highest_average(struct count *k)
{
	size_t n = k->c->n_lists;

	while (k->to_fill > 0) {
		size_t top = n, sharing = 0;

		/* A strictly higher average replaces the leader, so among equal
		 * averages the leader stays the one earliest on the ballot. */
		for (size_t i = 0; i < n; i++) {
			if (k->room[i] == 0)
				continue;
			int cmp = top == n ? 1 : next_average_cmp(k, i, top);
			if (cmp > 0) {
				top = i;
				sharing = 1;
			} else if (cmp == 0) {
				sharing++;
			}
		}
		if (top == n)
			break;
		if (sharing > k->to_fill && k->c->tie == TALLY_TIE_LOT) {
			bool among[TALLY_MAX_OPTIONS] = {false};
			for (size_t i = 0; i < n; i++)
				among[i] = k->room[i] > 0 && next_average_cmp(k, i, top) == 0;
			draw_lots(k, among);
			break;
		}
		give(k, top, 1);
	}
}

struct share {
	size_t list;
	wide remainder;
};

/* Largest remainder first; equal ones in ballot order. */
static int by_remainder(const void *pa, const void *pb)
{
	const struct share *a = pa, *b = pb;

	if (a->remainder != b->remainder)
		return a->remainder > b->remainder ? -1 : 1;
	return a->list < b->list ? -1 : a->list > b->list;
}

static void by_largest_remainder(struct count *k)
{
	size_t n = k->c->n_lists;

	while (k->to_fill > 0) {
		struct share shares[TALLY_MAX_OPTIONS];
		size_t n_shares = 0;
		uint32_t seats = k->to_fill;
		wide votes = 0;

		for (size_t i = 0; i < n; i++)
			if (k->room[i] > 0)
				votes += k->c->lists[i].votes;
		if (votes == 0)
			break;

		/* Whole quotas: a list's share of this round's seats is
		 * its votes * seats / votes, the quota being votes / seats. */
		for (size_t i = 0; i < n; i++) {
			if (k->room[i] == 0)
				continue;
			wide numerator = k->c->lists[i].votes * (wide)seats;
			wide whole = numerator / votes;
			give(k, i, whole < k->room[i] ? (uint32_t)whole : k->room[i]);
			if (k->room[i] > 0)
				shares[n_shares++] = (struct share){i, numerator - whole * votes};
		}
		if (k->to_fill == 0)
			break;
		qsort(shares, n_shares, sizeof(shares[0]), by_remainder);

		if (k->to_fill >= n_shares) {
			/* One each, then another round for what a cap left over. */
			for (size_t s = 0; s < n_shares; s++)
				give(k, shares[s].list, 1);
			continue;
		}
		wide cut = shares[k->to_fill - 1].remainder;
		if (k->c->tie == TALLY_TIE_LOT && shares[k->to_fill].remainder == cut) {
			bool among[TALLY_MAX_OPTIONS] = {false};
			for (size_t s = 0; s < n_shares; s++) {
				if (shares[s].remainder > cut)
					give(k, shares[s].list, 1);
				else if (shares[s].remainder == cut)
					among[shares[s].list] = true;
			}
			draw_lots(k, among);
			break;
		}
		for (size_t s = 0, last = k->to_fill; s < last; s++)
			give(k, shares[s].list, 1);
	}
}

int audit_seats_compute(const struct audit_seats_contest *c, struct audit_seats_outcome *ret)
{
	struct count k;
	uint32_t empty = 0;

	if (ret == NULL)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (c == NULL || c->n_lists > TALLY_MAX_OPTIONS || c->seats == 0 ||
	    c->threshold_ppm > TALLY_PPM)
		return -EINVAL;
	if (c->method != TALLY_METHOD_HARE && c->method != TALLY_METHOD_DHONDT &&
	    c->method != TALLY_METHOD_SAINTE_LAGUE)
		return -EINVAL;
	if ((c->tie != TALLY_TIE_BALLOT_ORDER && c->tie != TALLY_TIE_LOT) ||
	    (c->overflow != TALLY_OVERFLOW_REDISTRIBUTE && c->overflow != TALLY_OVERFLOW_VACANT))
		return -EINVAL;
	if (c->seats > AUDIT_SEATS_MAX)
		return -E2BIG;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.out = ret;
	k.to_fill = c->seats;
	for (size_t i = 0; i < c->n_lists; i++) {
		const struct audit_seats_list *l = &c->lists[i];
		wide need = (wide)c->threshold_ppm * c->threshold_base;

		ret->passed[i] =
		    !l->against_all && l->votes > 0 && (wide)l->votes * 1000000 >= need;
		if (!ret->passed[i])
			k.room[i] = 0;
		else if (l->candidates > 0 && c->overflow == TALLY_OVERFLOW_REDISTRIBUTE)
			k.room[i] = l->candidates;
		else
			k.room[i] = UINT32_MAX; /* more than AUDIT_SEATS_MAX: never reached */
	}

	if (c->method == TALLY_METHOD_HARE)
		by_largest_remainder(&k);
	else
		by_highest_average(&k);

	/* Seats nobody could take, and under "vacant" what a list won beyond
	 * its candidates, stay empty. */
	empty = k.to_fill;
	if (c->overflow == TALLY_OVERFLOW_VACANT) {
		for (size_t i = 0; i < c->n_lists; i++) {
			uint32_t cand = c->lists[i].candidates;
			if (cand > 0 && ret->won[i] > cand) {
				empty += ret->won[i] - cand;
				ret->won[i] = cand;
			}
		}
	}
	ret->vacant = empty;
	return 0;
}
