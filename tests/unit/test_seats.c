/*
 * test_seats.c: seat allocation (seats.h) against published allocations
 * (Kazakhstan's Mazhilis 2023, New Zealand's House 2017, Austria's
 * European Parliament list 2019), against hand-worked cases for every rule
 * (threshold, ties under both rules, list length under both overflow
 * rules, nobody passing, the extremes of the integer types), and, over
 * random contests, against a third allocation written here as naively as
 * possible, plus the properties each method is known to have.
 *
 * The random tests start from a fixed seed, printed with every failure;
 * TALLY_SEATS_SEED=<n> runs them from another.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/seats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned __int128 u128;

static const char *method_name(enum tally_seat_method m)
{
	return m == TALLY_METHOD_HARE     ? "hare"
	       : m == TALLY_METHOD_DHONDT ? "dhondt"
	                                  : "sainte_lague";
}

/* Allocates, and checks what holds for every allocation. */
static void allocate(const struct tally_seats_input *in, struct tally_seats_result *r)
{
	uint64_t sum = 0;

	cr_assert_eq(tally_seats_allocate(in, r), 0);
	for (size_t i = 0; i < in->n; i++) {
		sum += r->seats[i];
		if (!r->passed[i])
			cr_assert_eq(r->seats[i], 0, "list %zu did not pass but has seats", i);
	}
	cr_assert_eq(sum + r->vacant + r->tie_seats, in->seats, "seats %llu + vacant %u + tie %u",
	             (unsigned long long)sum, r->vacant, r->tie_seats);
	cr_assert_eq(r->tie_seats == 0, r->n_tied == 0);
	cr_assert(r->n_tied == 0 || r->n_tied > r->tie_seats);
}

static void assert_seats(const struct tally_seats_result *r, const uint32_t *want, size_t n,
                         const char *what)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(r->seats[i], want[i], "%s: list %zu has %u seats, want %u", what, i,
		             r->seats[i], want[i]);
}

static void assert_tie(const struct tally_seats_result *r, uint32_t seats, const uint32_t *lists,
                       size_t n)
{
	cr_assert_eq(r->tie_seats, seats);
	cr_assert_eq(r->n_tied, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(r->tied[i], lists[i], "tied[%zu] = %u, want %u", i, r->tied[i],
		             lists[i]);
}

/* ---- published allocations -------------------------------------------- */

/*
 * Kazakhstan, election of the Mazhilis of 19 March 2023, the 69 party-list
 * seats: Hare largest remainder among the parties with at least 5 % of the
 * party votes plus the votes against all. Ballot order as listed: AMANAT,
 * Auyl, Respublica, Aq Jol, QHP (People's Party), JSDP (OSDP), Baytaq,
 * against all. 5 % of 6,366,441 is 318,322.05; Baytaq's 146,431 (2.30 %)
 * falls short. Published allocation: 40, 8, 6, 6, 5, 4.
 */
static const uint64_t mazhilis_votes[] = {3431510, 693938, 547154, 535139,
                                          432920,  331058, 146431, 248291};
static const bool mazhilis_against[] = {false, false, false, false, false, false, false, true};

static struct tally_seats_input mazhilis(enum tally_seat_method m, enum tally_tie_rule tie)
{
	return (struct tally_seats_input){
	    .n = N(mazhilis_votes),
	    .votes = mazhilis_votes,
	    .against_all = mazhilis_against,
	    .seats = 69,
	    .threshold_ppm = 50000,
	    .threshold_base = 6366441,
	    .method = m,
	    .tie = tie,
	};
}

Test(seats, mazhilis_2023_hare_gives_the_published_allocation)
{
	static const uint32_t want[] = {40, 8, 6, 6, 5, 4, 0, 0};
	static const bool passed[] = {true, true, true, true, true, true, false, false};
	struct tally_seats_result r;

	for (int tie = 0; tie < 2; tie++) {
		struct tally_seats_input in = mazhilis(TALLY_METHOD_HARE, (enum tally_tie_rule)tie);
		allocate(&in, &r);
		assert_seats(&r, want, N(want), "hare");
		for (size_t i = 0; i < N(passed); i++)
			cr_assert_eq(r.passed[i], passed[i], "list %zu", i);
		cr_assert_eq(r.vacant, 0);
		cr_assert_eq(r.tie_seats, 0);
	}
}

Test(seats, mazhilis_2023_dhondt_gives_the_largest_party_one_more)
{
	/* The 69th highest average is AMANAT's 41st (3,431,510 / 41 =
	 * 83,695.4), above JSDP's 4th (331,058 / 4 = 82,764.5). */
	static const uint32_t want_dhondt[] = {41, 8, 6, 6, 5, 3, 0, 0};
	static const uint32_t want_sl[] = {40, 8, 6, 6, 5, 4, 0, 0};
	struct tally_seats_result r;
	struct tally_seats_input in = mazhilis(TALLY_METHOD_DHONDT, TALLY_TIE_LOT);

	allocate(&in, &r);
	assert_seats(&r, want_dhondt, N(want_dhondt), "dhondt");
	in.method = TALLY_METHOD_SAINTE_LAGUE;
	allocate(&in, &r);
	assert_seats(&r, want_sl, N(want_sl), "sainte_lague");
}

Test(seats, mazhilis_2023_threshold_counts_against_all_in_the_base)
{
	/* QHP's 432,920 is 6.80 % of the base with against-all and passes
	 * either way; what the base decides is shown by a threshold of 7 %
	 * of the party votes alone (6,118,150): 428,270.5, QHP passes;
	 * of the base with against-all: 445,650.87, QHP fails. */
	struct tally_seats_input in = mazhilis(TALLY_METHOD_HARE, TALLY_TIE_BALLOT_ORDER);
	struct tally_seats_result r;

	in.threshold_ppm = 70000;
	allocate(&in, &r);
	cr_assert(!r.passed[4]);
	cr_assert_eq(r.seats[4], 0);
	in.threshold_base = 6366441 - 248291;
	allocate(&in, &r);
	cr_assert(r.passed[4]);
	cr_assert_eq(r.seats[4], 5);
}

/*
 * New Zealand, general election of 23 September 2017, official result
 * (Electoral Commission, electionresults.govt.nz, "Summary of Overall
 * Results"): the 120 seats go by Sainte-Lague among the parties with 5 %
 * of the party vote or an electorate seat: National 1,152,075, Labour
 * 956,184, NZ First 186,706, Green 162,443, ACT 13,075 (ACT through the
 * Epsom electorate, so no threshold here). Published: 56, 46, 9, 8, 1.
 */
static const uint64_t nz2017_votes[] = {1152075, 956184, 186706, 162443, 13075};

Test(seats, new_zealand_2017_sainte_lague_gives_the_published_allocation)
{
	static const uint32_t want[] = {56, 46, 9, 8, 1};
	static const uint32_t want_dhondt[] = {56, 47, 9, 8, 0};
	struct tally_seats_input in = {
	    .n = N(nz2017_votes),
	    .votes = nz2017_votes,
	    .seats = 120,
	    .method = TALLY_METHOD_SAINTE_LAGUE,
	    .tie = TALLY_TIE_LOT,
	};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, want, N(want), "sainte_lague");
	cr_assert_eq(r.vacant, 0);
	in.method = TALLY_METHOD_DHONDT;
	allocate(&in, &r);
	assert_seats(&r, want_dhondt, N(want_dhondt), "dhondt");
}

/*
 * Austria, European Parliament election of 26 May 2019, the result with
 * the postal votes as the Federal Ministry of the Interior published it on
 * 27 May 2019 ("Europawahl 2019: Vorlaeufiges Endergebnis inkl.
 * Briefwahl"): 18 seats by D'Hondt among the lists with 4 % of the
 * 3,779,757 valid votes. OeVP 1,305,954, SPOe 903,151, FPOe 650,114,
 * GRUENE 532,194, NEOS 319,024, KPOe 30,086, EUROPA 39,234. Published
 * allocation: 7, 5, 3, 2, 1.
 */
static const uint64_t austria2019_votes[] = {1305954, 903151, 650114, 532194, 319024, 30086, 39234};

Test(seats, austria_ep_2019_dhondt_gives_the_published_allocation)
{
	static const uint32_t want[] = {7, 5, 3, 2, 1, 0, 0};
	static const uint32_t want_sl[] = {6, 4, 3, 3, 2, 0, 0};
	struct tally_seats_input in = {
	    .n = N(austria2019_votes),
	    .votes = austria2019_votes,
	    .seats = 18,
	    .threshold_ppm = 40000,
	    .threshold_base = 3779757,
	    .method = TALLY_METHOD_DHONDT,
	    .tie = TALLY_TIE_LOT,
	};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, want, N(want), "dhondt");
	cr_assert(r.passed[4] && !r.passed[5] && !r.passed[6]);
	in.method = TALLY_METHOD_SAINTE_LAGUE;
	allocate(&in, &r);
	assert_seats(&r, want_sl, N(want_sl), "sainte_lague");
	in.method = TALLY_METHOD_HARE;
	allocate(&in, &r);
	assert_seats(&r, want_sl, N(want_sl), "hare");
}

/* ---- the methods apart ------------------------------------------------- */

Test(seats, one_large_one_medium_and_tiny_parties_split_the_three_methods)
{
	/* 10 seats, no threshold, V = 87,600, Hare quota 8,760. Hare:
	 * shares 6.39, 2.17, 0.42, 0.41, 0.34, 0.26: whole 6 + 2, the two
	 * seats left to the remainders .42 and .41. D'Hondt: the 10th
	 * average is 56,000 / 8 = 7,000 > 19,000 / 3 = 6,333 > 3,700.
	 * Sainte-Lague: 19,000 / 5 = 3,800 beats 3,700 / 1 and
	 * 56,000 / 15 = 3,733. */
	static const uint64_t votes[] = {56000, 19000, 3700, 3600, 3000, 2300};
	static const uint32_t want_hare[] = {6, 2, 1, 1, 0, 0};
	static const uint32_t want_dhondt[] = {8, 2, 0, 0, 0, 0};
	static const uint32_t want_sl[] = {7, 3, 0, 0, 0, 0};
	struct tally_seats_input in = {.n = N(votes), .votes = votes, .seats = 10};
	struct tally_seats_result r;

	in.method = TALLY_METHOD_HARE;
	allocate(&in, &r);
	assert_seats(&r, want_hare, N(votes), "hare");
	in.method = TALLY_METHOD_DHONDT;
	allocate(&in, &r);
	assert_seats(&r, want_dhondt, N(votes), "dhondt");
	in.method = TALLY_METHOD_SAINTE_LAGUE;
	allocate(&in, &r);
	assert_seats(&r, want_sl, N(votes), "sainte_lague");
}

Test(seats, sainte_lague_can_give_a_large_list_less_than_its_lower_quota)
{
	/* 23 seats, V = 87,500: the first list's share is 21.03, yet
	 * Sainte-Lague gives it 20: its 21st average, 80,000 / 41 = 1,951,
	 * is below the small lists' first ones (2,800, 2,400, 2,300). No
	 * shortcut may hand a list the whole part of its share. */
	static const uint64_t votes[] = {80000, 2800, 2400, 2300};
	static const uint32_t want_sl[] = {20, 1, 1, 1};
	static const uint32_t want_hare[] = {21, 1, 1, 0};
	static const uint32_t want_dhondt[] = {23, 0, 0, 0};
	struct tally_seats_input in = {.n = 4, .votes = votes, .seats = 23};
	struct tally_seats_result r;

	in.method = TALLY_METHOD_SAINTE_LAGUE;
	allocate(&in, &r);
	assert_seats(&r, want_sl, 4, "sainte_lague");
	in.method = TALLY_METHOD_HARE;
	allocate(&in, &r);
	assert_seats(&r, want_hare, 4, "hare");
	in.method = TALLY_METHOD_DHONDT;
	allocate(&in, &r);
	assert_seats(&r, want_dhondt, 4, "dhondt");
}

/* ---- threshold ---------------------------------------------------------- */

Test(seats, threshold_passes_at_exactly_the_share_and_against_all_can_push_under)
{
	/* C has 50 of 1,000 valid votes: exactly 5 %, "not less than",
	 * passes. Ten against-all ballots make the base 1,010, and C's 50
	 * are 4.95 %: C fails although nobody else gained a vote. */
	static const uint64_t votes[] = {610, 340, 50, 10};
	static const bool against[] = {false, false, false, true};
	static const uint32_t with_c[] = {6, 3, 1, 0};
	static const uint32_t without_c[] = {6, 4, 0, 0};
	struct tally_seats_input in = {
	    .n = N(votes),
	    .votes = votes,
	    .against_all = against,
	    .seats = 10,
	    .threshold_ppm = 50000,
	    .threshold_base = 1000,
	    .method = TALLY_METHOD_HARE,
	};
	struct tally_seats_result r;

	allocate(&in, &r);
	cr_assert(r.passed[2]);
	cr_assert(!r.passed[3], "against-all never passes");
	assert_seats(&r, with_c, N(votes), "base without against-all");
	in.threshold_base = 1010;
	allocate(&in, &r);
	cr_assert(!r.passed[2]);
	assert_seats(&r, without_c, N(votes), "base with against-all");
}

Test(seats, against_all_with_the_most_votes_is_never_seated)
{
	static const uint64_t votes[] = {100, 900};
	static const bool against[] = {false, true};
	struct tally_seats_input in = {
	    .n = 2, .votes = votes, .against_all = against, .seats = 5, .threshold_base = 1000};
	struct tally_seats_result r;

	for (int m = 0; m < 3; m++) {
		in.method = (enum tally_seat_method)m;
		allocate(&in, &r);
		cr_assert_eq(r.seats[0], 5, "%s", method_name(in.method));
		cr_assert_eq(r.seats[1], 0);
		cr_assert(!r.passed[1]);
	}
}

Test(seats, nobody_passing_leaves_every_seat_vacant)
{
	static const uint64_t votes[] = {40, 35, 25};
	static const uint64_t zeros[] = {0, 0, 0};
	static const uint64_t only_against[] = {0, 70};
	static const bool against[] = {false, true};
	struct tally_seats_input in = {.n = 3, .votes = votes, .seats = 7, .threshold_base = 100};
	struct tally_seats_result r;

	for (int m = 0; m < 3; m++) {
		in.method = (enum tally_seat_method)m;
		in.n = 3;
		in.votes = votes;
		in.against_all = NULL;
		in.threshold_ppm = 500000; /* nobody has half */
		allocate(&in, &r);
		cr_assert_eq(r.vacant, 7, "%s", method_name(in.method));
		cr_assert(!r.passed[0] && !r.passed[1] && !r.passed[2]);

		in.threshold_ppm = 0; /* no votes: no list passes even at 0 % */
		in.votes = zeros;
		allocate(&in, &r);
		cr_assert_eq(r.vacant, 7);
		cr_assert(!r.passed[0]);

		in.n = 2;
		in.votes = only_against;
		in.against_all = against;
		allocate(&in, &r);
		cr_assert_eq(r.vacant, 7);

		in.n = 0;
		in.votes = NULL;
		allocate(&in, &r);
		cr_assert_eq(r.vacant, 7);
	}
}

/* ---- ties --------------------------------------------------------------- */

Test(seats, hare_equal_remainders_for_the_last_seat)
{
	/* 3 seats, quota 100: 150, 150 -> whole 1 and 1, remainders 50, 50. */
	static const uint64_t votes[] = {150, 150};
	static const uint32_t ballot[] = {2, 1};
	static const uint32_t lot[] = {1, 1};
	static const uint32_t tied[] = {0, 1};
	struct tally_seats_input in = {
	    .n = 2, .votes = votes, .seats = 3, .method = TALLY_METHOD_HARE};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, ballot, 2, "ballot order");
	cr_assert_eq(r.tie_seats, 0);
	in.tie = TALLY_TIE_LOT;
	allocate(&in, &r);
	assert_seats(&r, lot, 2, "lot");
	assert_tie(&r, 1, tied, 2);
	cr_assert_eq(r.vacant, 0);
}

Test(seats, dhondt_a_list_tied_for_its_own_second_seat)
{
	/* 200 and 100 for 2 seats: 200/1 first; then 200/2 = 100/1. */
	static const uint64_t votes[] = {200, 100};
	static const uint32_t ballot[] = {2, 0};
	static const uint32_t lot[] = {1, 0};
	static const uint32_t tied[] = {0, 1};
	struct tally_seats_input in = {
	    .n = 2, .votes = votes, .seats = 2, .method = TALLY_METHOD_DHONDT};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, ballot, 2, "ballot order");
	in.tie = TALLY_TIE_LOT;
	allocate(&in, &r);
	assert_seats(&r, lot, 2, "lot");
	assert_tie(&r, 1, tied, 2);
}

Test(seats, sainte_lague_tie_later_on_the_ballot_list_first)
{
	/* 100 and 300 for 2 seats: 300/1 first; then 100/1 = 300/3. Ballot
	 * order gives it to the first list even though it has fewer votes. */
	static const uint64_t votes[] = {100, 300};
	static const uint32_t ballot[] = {1, 1};
	static const uint32_t lot[] = {0, 1};
	static const uint32_t tied[] = {0, 1};
	struct tally_seats_input in = {
	    .n = 2, .votes = votes, .seats = 2, .method = TALLY_METHOD_SAINTE_LAGUE};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, ballot, 2, "ballot order");
	in.tie = TALLY_TIE_LOT;
	allocate(&in, &r);
	assert_seats(&r, lot, 2, "lot");
	assert_tie(&r, 1, tied, 2);
}

Test(seats, three_lists_tied_for_two_seats_and_ties_that_decide_nothing)
{
	/* 500, 100, 100, 100 for 7 seats. D'Hondt: 500/1..500/5 = 100 make
	 * five averages >= 100 for list 0, the other three have 100 each:
	 * 500, 250, 166.7, 125 outright (4 seats), then four claims of 100
	 * for 3 seats. With 8 seats all four take one: no tie. */
	static const uint64_t votes[] = {500, 100, 100, 100, 0};
	static const uint32_t lot[] = {4, 0, 0, 0, 0};
	static const uint32_t tied[] = {0, 1, 2, 3};
	static const uint32_t ballot[] = {5, 1, 1, 0, 0};
	static const uint32_t eight[] = {5, 1, 1, 1, 0};
	struct tally_seats_input in = {
	    .n = 5, .votes = votes, .seats = 7, .method = TALLY_METHOD_DHONDT};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, ballot, 5, "ballot order");
	in.tie = TALLY_TIE_LOT;
	allocate(&in, &r);
	assert_seats(&r, lot, 5, "lot");
	assert_tie(&r, 3, tied, 4);
	cr_assert(!r.passed[4]);
	in.seats = 8;
	allocate(&in, &r);
	assert_seats(&r, eight, 5, "8 seats");
	cr_assert_eq(r.tie_seats, 0);

	/* Hare, equal votes: 3 lists, 2 seats, all remainders equal. */
	static const uint32_t tied3[] = {1, 2, 3};
	in.votes = (const uint64_t[]){0, 7, 7, 7, 0};
	in.seats = 2;
	in.method = TALLY_METHOD_HARE;
	allocate(&in, &r);
	assert_tie(&r, 2, tied3, 3);
	cr_assert_eq(r.seats[1] + r.seats[2] + r.seats[3], 0);
}

/* ---- list length -------------------------------------------------------- */

Test(seats, list_length_redistribute_or_vacant_dhondt)
{
	/* 1000 (2 candidates), 520, 320 for 6 seats. Without a cap: 1000,
	 * 520, 500, 333, 320, 260 -> 3, 2, 1. With the cap the first list's
	 * third average (333) is passed over and the seat goes to the next,
	 * 520/3 = 173.3 over 320/2 = 160. */
	static const uint64_t votes[] = {1000, 520, 320};
	static const uint32_t length[] = {2, 0, 40};
	static const uint32_t free_[] = {3, 2, 1};
	static const uint32_t redistributed[] = {2, 3, 1};
	static const uint32_t vacant[] = {2, 2, 1};
	struct tally_seats_input in = {
	    .n = 3, .votes = votes, .seats = 6, .method = TALLY_METHOD_DHONDT};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, free_, 3, "no caps");
	in.list_length = length;
	allocate(&in, &r);
	assert_seats(&r, redistributed, 3, "redistribute");
	cr_assert_eq(r.vacant, 0);
	in.overflow = TALLY_OVERFLOW_VACANT;
	allocate(&in, &r);
	assert_seats(&r, vacant, 3, "vacant");
	cr_assert_eq(r.vacant, 1);
}

Test(seats, list_length_redistribute_or_vacant_sainte_lague)
{
	/* 1000 (1 candidate), 520, 320 for 6 seats. Averages: 1000, 520,
	 * 333, 320, 200, 173, 142.9, 106.7: free 3, 2, 1. Capped: 1000,
	 * then 520, 320, 173, 106.7 (320/3), 104 (520/5). */
	static const uint64_t votes[] = {1000, 520, 320};
	static const uint32_t length[] = {1, 0, 0};
	static const uint32_t free_[] = {3, 2, 1};
	static const uint32_t redistributed[] = {1, 3, 2};
	static const uint32_t vacant[] = {1, 2, 1};
	struct tally_seats_input in = {
	    .n = 3, .votes = votes, .seats = 6, .method = TALLY_METHOD_SAINTE_LAGUE};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, free_, 3, "no caps");
	in.list_length = length;
	allocate(&in, &r);
	assert_seats(&r, redistributed, 3, "redistribute");
	in.overflow = TALLY_OVERFLOW_VACANT;
	allocate(&in, &r);
	assert_seats(&r, vacant, 3, "vacant");
	cr_assert_eq(r.vacant, 2);
}

Test(seats, list_length_hare_rounds)
{
	/* 1000 (2 candidates), 520, 320 for 6 seats, V = 1840. Round one:
	 * shares 3.26, 1.70, 1.04; the first list is cut to 2, the others
	 * take 1 and 1; 2 seats left, 2 lists with room: one each.
	 * Free: 3, 1, 1 and the remainder .70 -> 3, 2, 1. */
	static const uint64_t votes[] = {1000, 520, 320};
	static const uint32_t length[] = {2, 0, 0};
	static const uint32_t free_[] = {3, 2, 1};
	static const uint32_t redistributed[] = {2, 2, 2};
	static const uint32_t vacant[] = {2, 2, 1};
	struct tally_seats_input in = {.n = 3, .votes = votes, .seats = 6};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, free_, 3, "no caps");
	in.list_length = length;
	allocate(&in, &r);
	assert_seats(&r, redistributed, 3, "redistribute");
	in.overflow = TALLY_OVERFLOW_VACANT;
	allocate(&in, &r);
	assert_seats(&r, vacant, 3, "vacant");
	cr_assert_eq(r.vacant, 1);

	/* A second round: 9000 (1 candidate), 600, 400 for 10 seats.
	 * Round one: shares 9, 0.6, 0.4; cut to 1; remainders 6000, 4000 of
	 * 10000: one each; 7 seats left. Round two among 600 and 400: shares
	 * 4.2 and 2.8 -> 4 and 2, the last seat to the remainder .8. */
	static const uint64_t votes2[] = {9000, 600, 400};
	static const uint32_t length2[] = {1, 0, 0};
	static const uint32_t want2[] = {1, 5, 4};
	in.votes = votes2;
	in.list_length = length2;
	in.seats = 10;
	in.overflow = TALLY_OVERFLOW_REDISTRIBUTE;
	allocate(&in, &r);
	assert_seats(&r, want2, 3, "two rounds");
	cr_assert_eq(r.vacant, 0);
}

Test(seats, more_seats_than_candidates_leaves_the_rest_vacant)
{
	static const uint64_t votes[] = {100, 50, 1};
	static const uint32_t length[] = {2, 1, 3};
	static const bool against[] = {false, false, true};
	static const uint32_t want[] = {2, 1, 0};
	struct tally_seats_input in = {
	    .n = 3, .votes = votes, .against_all = against, .list_length = length, .seats = 5};
	struct tally_seats_result r;

	for (int m = 0; m < 3; m++) {
		in.method = (enum tally_seat_method)m;
		allocate(&in, &r);
		assert_seats(&r, want, 3, method_name(in.method));
		cr_assert_eq(r.vacant, 2);
	}
}

/* ---- the edges of the integer types ------------------------------------- */

Test(seats, huge_votes_and_seats_are_exact_and_quick, .timeout = 30)
{
	/* 3:1 for 4,000,000,000 seats: every method gives exactly 3e9 and
	 * 1e9 (D'Hondt: the last seats of both lists have the same
	 * average 1e9, and both are inside), without a step per seat. */
	static const uint64_t votes[] = {3000000000000000000ull, 1000000000000000000ull};
	static const uint32_t want[] = {3000000000u, 1000000000u};
	struct tally_seats_input in = {.n = 2, .votes = votes, .seats = 4000000000u};
	struct tally_seats_result r;

	for (int m = 0; m < 3; m++) {
		for (int tie = 0; tie < 2; tie++) {
			in.method = (enum tally_seat_method)m;
			in.tie = (enum tally_tie_rule)tie;
			allocate(&in, &r);
			assert_seats(&r, want, 2, method_name(in.method));
		}
	}

	/* The largest votes and seats there are: no overflow, the sums hold. */
	static const uint64_t big[] = {UINT64_MAX, UINT64_MAX - 1, 1ull << 63, 12345, 1};
	static const uint32_t length[] = {0, 7, 0, UINT32_MAX, 0};
	in.n = N(big);
	in.votes = big;
	in.seats = UINT32_MAX;
	in.threshold_ppm = TALLY_PPM;
	in.threshold_base = UINT64_MAX;
	for (int m = 0; m < 3; m++) {
		in.method = (enum tally_seat_method)m;
		in.list_length = NULL;
		allocate(&in, &r);
		cr_assert(r.passed[0] && !r.passed[1]);
		cr_assert_eq(r.seats[0], UINT32_MAX);
		in.threshold_ppm = 0;
		in.list_length = length;
		allocate(&in, &r);
		cr_assert_eq(r.seats[1], 7);
		cr_assert_eq(r.vacant, 0);
		in.threshold_ppm = TALLY_PPM;
	}
}

Test(seats, bad_input_is_refused)
{
	static const uint64_t votes[] = {1, 2};
	struct tally_seats_input ok = {.n = 2, .votes = votes, .seats = 3};
	struct tally_seats_input in;
	struct tally_seats_result r;

	cr_assert_eq(tally_seats_allocate(&ok, &r), 0);
	cr_assert_eq(tally_seats_allocate(NULL, &r), -EINVAL);
	cr_assert_eq(tally_seats_allocate(&ok, NULL), -EINVAL);
	in = ok, in.seats = 0;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
	cr_assert_eq(r.seats[0] + r.seats[1] + r.vacant, 0, "zeroed on error");
	in = ok, in.n = TALLY_MAX_OPTIONS + 1;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
	in = ok, in.votes = NULL;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
	in = ok, in.threshold_ppm = TALLY_PPM + 1;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
	in = ok, in.method = (enum tally_seat_method)3;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
	in = ok, in.tie = (enum tally_tie_rule)2;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
	in = ok, in.overflow = (enum tally_overflow) - 1;
	cr_assert_eq(tally_seats_allocate(&in, &r), -EINVAL);
}

/* ---- a third allocation, as naive as it gets ------------------------------ */

/*
 * Highest averages: write down every average every list could claim (up to
 * its cap, or the seats), sort them all, take the first S. Hare: the rounds
 * of seats.h, spelled out with fractions compared by cross-multiplication.
 */
struct claim {
	size_t list;
	uint64_t votes;
	uint64_t divisor;
};

static int claim_cmp(const void *pa, const void *pb)
{
	const struct claim *a = pa, *b = pb;
	u128 l = (u128)a->votes * b->divisor, r = (u128)b->votes * a->divisor;

	if (l != r)
		return l > r ? -1 : 1;
	return a->list < b->list ? -1 : 1;
}

static bool claim_eq(const struct claim *a, const struct claim *b)
{
	return (u128)a->votes * b->divisor == (u128)b->votes * a->divisor;
}

static bool naive_passes(const struct tally_seats_input *in, size_t i)
{
	return !(in->against_all && in->against_all[i]) && in->votes[i] > 0 &&
	       (u128)in->votes[i] * 1000000 >= (u128)in->threshold_ppm * in->threshold_base;
}

static uint32_t naive_cap(const struct tally_seats_input *in, size_t i)
{
	if (in->overflow == TALLY_OVERFLOW_VACANT || in->list_length == NULL ||
	    in->list_length[i] == 0 || in->list_length[i] > in->seats)
		return in->seats;
	return in->list_length[i];
}

static void naive_averages(const struct tally_seats_input *in, struct tally_seats_result *r)
{
	struct claim *c = NULL;
	size_t n_c = 0, cap_c = 0;

	for (size_t i = 0; i < in->n; i++) {
		if (!r->passed[i])
			continue;
		for (uint32_t k = 0; k < naive_cap(in, i); k++) {
			if (n_c == cap_c) {
				cap_c = cap_c ? 2 * cap_c : 64;
				c = realloc(c, cap_c * sizeof(*c));
				cr_assert_not_null(c);
			}
			c[n_c++] = (struct claim){i, in->votes[i],
			                          in->method == TALLY_METHOD_DHONDT ? k + 1ull
			                                                            : 2ull * k + 1};
		}
	}
	if (n_c > 0)
		qsort(c, n_c, sizeof(*c), claim_cmp);
	size_t take = n_c < in->seats ? n_c : in->seats;
	if (in->tie == TALLY_TIE_LOT && take < n_c && claim_eq(&c[take - 1], &c[take])) {
		size_t first = take - 1;
		while (first > 0 && claim_eq(&c[first - 1], &c[take]))
			first--;
		for (size_t j = first; j < n_c && claim_eq(&c[j], &c[take]); j++)
			r->tied[r->n_tied++] = (uint32_t)c[j].list; /* one claim per list */
		/* c is sorted by list among equals, so tied[] is ascending */
		r->tie_seats = (uint32_t)(take - first);
		take = first;
	}
	for (size_t j = 0; j < take; j++)
		r->seats[c[j].list]++;
	free(c);
}

static void naive_hare(const struct tally_seats_input *in, struct tally_seats_result *r)
{
	uint32_t left = in->seats;

	for (;;) {
		bool open[TALLY_MAX_OPTIONS];
		u128 total = 0, rem[TALLY_MAX_OPTIONS];
		uint32_t r0 = left, n_open = 0;

		for (size_t i = 0; i < in->n; i++) {
			open[i] = r->passed[i] && r->seats[i] < naive_cap(in, i);
			if (open[i])
				total += in->votes[i];
		}
		if (left == 0 || total == 0)
			return;
		for (size_t i = 0; i < in->n; i++) {
			if (!open[i])
				continue;
			uint32_t whole = (uint32_t)((u128)in->votes[i] * r0 / total);
			uint32_t room = naive_cap(in, i) - r->seats[i];
			rem[i] = (u128)in->votes[i] * r0 % total;
			if (whole > room)
				whole = room;
			r->seats[i] += whole;
			left -= whole;
			open[i] = r->seats[i] < naive_cap(in, i);
			n_open += open[i];
		}
		if (left >= n_open) {
			for (size_t i = 0; i < in->n; i++)
				if (open[i])
					r->seats[i]++;
			left -= n_open;
			if (n_open == 0)
				return;
			continue;
		}
		/* Fewer seats than lists with room: repeatedly the largest
		 * remainder not yet served, earliest on the ballot. */
		for (; left > 0; left--) {
			size_t best = in->n;
			for (size_t i = 0; i < in->n; i++)
				if (open[i] && (best == in->n || rem[i] > rem[best]))
					best = i;
			uint32_t equal = 0;
			for (size_t i = 0; i < in->n; i++)
				equal += open[i] && rem[i] == rem[best];
			if (in->tie == TALLY_TIE_LOT && equal > left) {
				for (size_t i = 0; i < in->n; i++)
					if (open[i] && rem[i] == rem[best])
						r->tied[r->n_tied++] = (uint32_t)i;
				r->tie_seats = left;
				return;
			}
			r->seats[best]++;
			open[best] = false;
		}
		return;
	}
}

static void naive(const struct tally_seats_input *in, struct tally_seats_result *r)
{
	uint64_t sum = 0;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < in->n; i++)
		r->passed[i] = naive_passes(in, i);
	if (in->method == TALLY_METHOD_HARE)
		naive_hare(in, r);
	else
		naive_averages(in, r);
	for (size_t i = 0; i < in->n; i++) {
		if (in->overflow == TALLY_OVERFLOW_VACANT && in->list_length &&
		    in->list_length[i] && r->seats[i] > in->list_length[i])
			r->seats[i] = in->list_length[i];
		sum += r->seats[i];
	}
	r->vacant = (uint32_t)(in->seats - sum - r->tie_seats);
}

/* ---- random contests ---------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static uint64_t start_seed(void)
{
	const char *s = getenv("TALLY_SEATS_SEED");
	return s != NULL ? strtoull(s, NULL, 0) : 20230319;
}

struct random_contest {
	uint64_t votes[TALLY_MAX_OPTIONS];
	bool against[TALLY_MAX_OPTIONS];
	uint32_t length[TALLY_MAX_OPTIONS];
	struct tally_seats_input in;
};

/* Small numbers often (so ties happen), enormous ones sometimes. */
static void random_contest(struct random_contest *c, uint32_t max_seats)
{
	uint64_t total = 0;
	int scale = (int)below(4);

	memset(c, 0, sizeof(*c));
	c->in.n = 1 + below(below(4) == 0 ? TALLY_MAX_OPTIONS : 8);
	for (size_t i = 0; i < c->in.n; i++) {
		switch (scale) {
		case 0:
			c->votes[i] = below(6) * 100;
			break;
		case 1:
			c->votes[i] = below(1000);
			break;
		case 2:
			c->votes[i] = below(5000000);
			break;
		default:
			c->votes[i] = rnd() >> below(8);
			break;
		}
		c->against[i] = below(8) == 0;
		c->length[i] = below(3) == 0 ? (uint32_t)below(6) : 0;
		total = total + c->votes[i] < total ? UINT64_MAX : total + c->votes[i];
	}
	c->in.votes = c->votes;
	c->in.against_all = below(2) ? c->against : NULL;
	c->in.list_length = below(2) ? c->length : NULL;
	c->in.seats = 1 + (uint32_t)below(max_seats);
	c->in.threshold_ppm = below(2) ? 0 : (uint32_t)below(200001);
	c->in.threshold_base = below(4) != 0         ? total
	                       : total == UINT64_MAX ? rnd()
	                                             : below(total + 1);
	c->in.method = (enum tally_seat_method)below(3);
	c->in.tie = (enum tally_tie_rule)below(2);
	c->in.overflow = (enum tally_overflow)below(2);
}

static void assert_same(const struct tally_seats_input *in, const struct tally_seats_result *a,
                        const struct tally_seats_result *b, uint64_t seed, int round)
{
	for (size_t i = 0; i < in->n; i++) {
		cr_assert_eq(a->passed[i], b->passed[i], "seed %llu round %d list %zu passed",
		             (unsigned long long)seed, round, i);
		cr_assert_eq(a->seats[i], b->seats[i],
		             "seed %llu round %d %s tie %d overflow %d: list %zu has %u, naive %u",
		             (unsigned long long)seed, round, method_name(in->method), in->tie,
		             in->overflow, i, a->seats[i], b->seats[i]);
	}
	cr_assert_eq(a->vacant, b->vacant, "seed %llu round %d vacant", (unsigned long long)seed,
	             round);
	cr_assert_eq(a->tie_seats, b->tie_seats, "seed %llu round %d tie_seats",
	             (unsigned long long)seed, round);
	cr_assert_eq(a->n_tied, b->n_tied, "seed %llu round %d n_tied", (unsigned long long)seed,
	             round);
	for (size_t i = 0; i < a->n_tied; i++)
		cr_assert_eq(a->tied[i], b->tied[i], "seed %llu round %d tied[%zu]",
		             (unsigned long long)seed, round, i);
}

Test(seats, random_contests_agree_with_the_naive_allocation)
{
	uint64_t seed = start_seed();

	rng_state = seed;
	for (int round = 0; round < 20000; round++) {
		struct random_contest c;
		struct tally_seats_result got, want;

		random_contest(&c, round % 10 == 0 ? 400 : 40);
		allocate(&c.in, &got);
		naive(&c.in, &want);
		assert_same(&c.in, &got, &want, seed, round);
	}
}

Test(seats, more_votes_never_cost_a_list_a_seat)
{
	/* Raising one list's votes (the base growing with them, which may
	 * push another list under the threshold) never lowers its seats under
	 * the highest-average methods, with or without caps, under either
	 * tie rule. Hare shares this as long as no other list drops out and
	 * no cap cuts (what Hare lacks is monotony in seats, below). */
	uint64_t seed = start_seed() + 1;

	rng_state = seed;
	for (int round = 0; round < 20000; round++) {
		struct random_contest c;
		struct tally_seats_result before, after;

		random_contest(&c, 60);
		if (c.in.method == TALLY_METHOD_HARE) {
			c.in.threshold_ppm = 0;
			c.in.list_length = NULL;
		}
		c.in.against_all = NULL;
		size_t i = below(c.in.n);
		uint64_t total = 0;
		for (size_t j = 0; j < c.in.n; j++)
			total += c.votes[j] >> 8; /* room to grow */
		for (size_t j = 0; j < c.in.n; j++)
			c.votes[j] >>= 8;
		c.in.threshold_base = total;
		allocate(&c.in, &before);
		uint64_t more = 1 + below(c.votes[i] / 2 + 50);
		c.votes[i] += more;
		c.in.threshold_base = total + more;
		allocate(&c.in, &after);
		cr_assert_geq(
		    after.seats[i], before.seats[i],
		    "seed %llu round %d %s tie %d: list %zu went from %u to %u seats with "
		    "%llu more votes",
		    (unsigned long long)seed, round, method_name(c.in.method), c.in.tie, i,
		    before.seats[i], after.seats[i], (unsigned long long)more);
	}
}

Test(seats, one_more_seat_never_costs_a_list_a_seat_under_highest_averages)
{
	uint64_t seed = start_seed() + 2;

	rng_state = seed;
	for (int round = 0; round < 20000; round++) {
		struct random_contest c;
		struct tally_seats_result before, after;

		random_contest(&c, 60);
		c.in.method = below(2) ? TALLY_METHOD_DHONDT : TALLY_METHOD_SAINTE_LAGUE;
		c.in.tie = TALLY_TIE_BALLOT_ORDER;
		allocate(&c.in, &before);
		c.in.seats++;
		allocate(&c.in, &after);
		for (size_t i = 0; i < c.in.n; i++)
			cr_assert_geq(after.seats[i], before.seats[i],
			              "seed %llu round %d %s list %zu: %u seats, %u with one more "
			              "offered",
			              (unsigned long long)seed, round, method_name(c.in.method), i,
			              before.seats[i], after.seats[i]);
	}
}

Test(seats, hare_stays_within_quota_and_dhondt_above_its_lower_quota)
{
	uint64_t seed = start_seed() + 3;

	rng_state = seed;
	for (int round = 0; round < 20000; round++) {
		struct random_contest c;
		struct tally_seats_result r;
		u128 v = 0;

		random_contest(&c, 200);
		c.in.list_length = NULL;
		c.in.tie = TALLY_TIE_BALLOT_ORDER;
		c.in.method = below(2) ? TALLY_METHOD_HARE : TALLY_METHOD_DHONDT;
		allocate(&c.in, &r);
		for (size_t i = 0; i < c.in.n; i++)
			if (r.passed[i])
				v += c.votes[i];
		for (size_t i = 0; i < c.in.n; i++) {
			if (!r.passed[i])
				continue;
			u128 share = (u128)c.votes[i] * c.in.seats;
			uint32_t floor_q = (uint32_t)(share / v);
			uint32_t ceil_q = floor_q + (share % v != 0);
			cr_assert_geq(r.seats[i], floor_q, "seed %llu round %d %s list %zu",
			              (unsigned long long)seed, round, method_name(c.in.method), i);
			if (c.in.method == TALLY_METHOD_HARE)
				cr_assert_leq(r.seats[i], ceil_q, "seed %llu round %d list %zu",
				              (unsigned long long)seed, round, i);
		}
	}
}

Test(seats, hare_alabama_paradox)
{
	/* Hare is not monotone in seats: 6, 6 and 2 votes get 4, 4, 2 of 10
	 * seats (shares 4.29, 4.29, 1.43) but 5, 5, 1 of 11 (4.71, 4.71,
	 * 1.57): the third list loses a seat when one more is offered. */
	static const uint64_t votes[] = {6, 6, 2};
	static const uint32_t ten[] = {4, 4, 2}, eleven[] = {5, 5, 1};
	struct tally_seats_input in = {.n = 3, .votes = votes, .seats = 10};
	struct tally_seats_result r;

	allocate(&in, &r);
	assert_seats(&r, ten, 3, "hare 10");
	in.seats = 11;
	allocate(&in, &r);
	assert_seats(&r, eleven, 3, "hare 11");
}
