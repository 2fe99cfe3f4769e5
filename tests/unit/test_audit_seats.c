/*
 * test_audit_seats.c: the verifier's own seat count (cli/audit_seats.h) on
 * the published allocations, on the rules' corner cases, and held against
 * the daemon's tally_seats_allocate() over random contests: two
 * implementations written apart must agree on every seat, vacancy and tie;
 * and held against decision.c's party-list decisions, as `tallyctl verify`
 * holds them.
 *
 * The random test starts from a fixed seed, printed with every failure;
 * TALLY_SEATS_SEED=<n> runs it from another.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/audit_seats.h"
#include "tally/decision.h"
#include "tally/election.h"
#include "tally/seats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct audit_seats_contest contest(const uint64_t *votes, size_t n, uint32_t seats,
                                          enum tally_seat_method m)
{
	struct audit_seats_contest c;

	memset(&c, 0, sizeof(c));
	c.n_lists = n;
	for (size_t i = 0; i < n; i++)
		c.lists[i].votes = votes[i];
	c.seats = seats;
	c.method = m;
	return c;
}

static void compute(const struct audit_seats_contest *c, struct audit_seats_outcome *o)
{
	uint64_t sum = 0;

	cr_assert_eq(audit_seats_compute(c, o), 0);
	for (size_t i = 0; i < c->n_lists; i++)
		sum += o->won[i];
	cr_assert_eq(sum + o->vacant + o->lot_seats, c->seats);
}

static void assert_won(const struct audit_seats_outcome *o, const uint32_t *want, size_t n,
                       const char *what)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(o->won[i], want[i], "%s: list %zu won %u, want %u", what, i, o->won[i],
		             want[i]);
}

Test(audit_seats, mazhilis_2023)
{
	/* Kazakhstan, Mazhilis 19 March 2023, 69 party-list seats (see
	 * test_seats.c): Hare 40, 8, 6, 6, 5, 4; D'Hondt 41, 8, 6, 6, 5, 3. */
	static const uint64_t votes[] = {3431510, 693938, 547154, 535139,
	                                 432920,  331058, 146431, 248291};
	static const uint32_t hare[] = {40, 8, 6, 6, 5, 4, 0, 0};
	static const uint32_t dhondt[] = {41, 8, 6, 6, 5, 3, 0, 0};
	struct audit_seats_contest c = contest(votes, N(votes), 69, TALLY_METHOD_HARE);
	struct audit_seats_outcome o;

	c.lists[7].against_all = true;
	c.threshold_ppm = 50000;
	c.threshold_base = 6366441;
	compute(&c, &o);
	assert_won(&o, hare, N(hare), "hare");
	cr_assert(o.passed[5] && !o.passed[6] && !o.passed[7]);
	c.method = TALLY_METHOD_DHONDT;
	compute(&c, &o);
	assert_won(&o, dhondt, N(dhondt), "dhondt");
}

Test(audit_seats, new_zealand_2017_and_austria_ep_2019)
{
	/* Sources in test_seats.c. */
	static const uint64_t nz[] = {1152075, 956184, 186706, 162443, 13075};
	static const uint32_t nz_want[] = {56, 46, 9, 8, 1};
	static const uint64_t at[] = {1305954, 903151, 650114, 532194, 319024, 30086, 39234};
	static const uint32_t at_want[] = {7, 5, 3, 2, 1, 0, 0};
	struct audit_seats_contest c = contest(nz, N(nz), 120, TALLY_METHOD_SAINTE_LAGUE);
	struct audit_seats_outcome o;

	compute(&c, &o);
	assert_won(&o, nz_want, N(nz_want), "new zealand 2017");
	c = contest(at, N(at), 18, TALLY_METHOD_DHONDT);
	c.threshold_ppm = 40000;
	c.threshold_base = 3779757;
	compute(&c, &o);
	assert_won(&o, at_want, N(at_want), "austria 2019");
}

Test(audit_seats, ties_caps_and_nobody_passing)
{
	static const uint64_t tie[] = {200, 100};
	static const uint64_t capped[] = {1000, 520, 320};
	static const uint32_t redistributed[] = {2, 3, 1}, vacant[] = {2, 2, 1};
	static const uint64_t low[] = {40, 35, 25};
	struct audit_seats_contest c = contest(tie, 2, 2, TALLY_METHOD_DHONDT);
	struct audit_seats_outcome o;

	compute(&c, &o);
	cr_assert(o.won[0] == 2 && o.won[1] == 0 && o.lot_seats == 0);
	c.tie = TALLY_TIE_LOT;
	compute(&c, &o);
	cr_assert(o.won[0] == 1 && o.won[1] == 0);
	cr_assert(o.lot_seats == 1 && o.n_lot == 2 && o.lot[0] == 0 && o.lot[1] == 1);

	c = contest(capped, 3, 6, TALLY_METHOD_DHONDT);
	c.lists[0].candidates = 2;
	compute(&c, &o);
	assert_won(&o, redistributed, 3, "redistribute");
	c.overflow = TALLY_OVERFLOW_VACANT;
	compute(&c, &o);
	assert_won(&o, vacant, 3, "vacant");
	cr_assert_eq(o.vacant, 1);

	c = contest(low, 3, 7, TALLY_METHOD_HARE);
	c.threshold_ppm = 500000;
	c.threshold_base = 100;
	compute(&c, &o);
	cr_assert_eq(o.vacant, 7);
}

Test(audit_seats, bad_input_and_too_many_seats_are_refused)
{
	static const uint64_t votes[] = {1, 2};
	struct audit_seats_contest ok = contest(votes, 2, 3, TALLY_METHOD_HARE), c;
	struct audit_seats_outcome o;

	cr_assert_eq(audit_seats_compute(&ok, &o), 0);
	cr_assert_eq(audit_seats_compute(NULL, &o), -EINVAL);
	cr_assert_eq(audit_seats_compute(&ok, NULL), -EINVAL);
	c = ok, c.seats = 0;
	cr_assert_eq(audit_seats_compute(&c, &o), -EINVAL);
	c = ok, c.n_lists = TALLY_MAX_OPTIONS + 1;
	cr_assert_eq(audit_seats_compute(&c, &o), -EINVAL);
	c = ok, c.threshold_ppm = TALLY_PPM + 1;
	cr_assert_eq(audit_seats_compute(&c, &o), -EINVAL);
	c = ok, c.method = (enum tally_seat_method)7;
	cr_assert_eq(audit_seats_compute(&c, &o), -EINVAL);
	c = ok, c.tie = (enum tally_tie_rule)2;
	cr_assert_eq(audit_seats_compute(&c, &o), -EINVAL);
	c = ok, c.overflow = (enum tally_overflow)2;
	cr_assert_eq(audit_seats_compute(&c, &o), -EINVAL);
	c = ok, c.seats = AUDIT_SEATS_MAX + 1;
	cr_assert_eq(audit_seats_compute(&c, &o), -E2BIG);
	c.seats = AUDIT_SEATS_MAX;
	c.method = TALLY_METHOD_DHONDT;
	cr_assert_eq(audit_seats_compute(&c, &o), 0);
	cr_assert(o.won[0] == 333333 && o.won[1] == 666667);
}

/* ---- against the daemon's allocation ------------------------------------ */

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
	return n == 0 ? rnd() : rnd() % n;
}

Test(audit_seats, agrees_with_the_daemon_on_random_contests)
{
	const char *env = getenv("TALLY_SEATS_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 19032023;

	rng_state = seed;
	for (int round = 0; round < 20000; round++) {
		uint64_t votes[TALLY_MAX_OPTIONS], total = 0;
		bool against[TALLY_MAX_OPTIONS];
		uint32_t length[TALLY_MAX_OPTIONS];
		struct audit_seats_contest c;
		struct audit_seats_outcome o;
		struct tally_seats_result r;
		int scale = (int)below(4);

		memset(&c, 0, sizeof(c));
		c.n_lists = 1 + below(below(4) == 0 ? TALLY_MAX_OPTIONS : 8);
		for (size_t i = 0; i < c.n_lists; i++) {
			votes[i] = scale == 0   ? below(6) * 50
			           : scale == 1 ? below(2000)
			           : scale == 2 ? below(10000000)
			                        : rnd() >> below(10);
			against[i] = below(8) == 0;
			length[i] = below(3) == 0 ? (uint32_t)below(8) : 0;
			c.lists[i] = (struct audit_seats_list){votes[i], length[i], against[i]};
			total = total + votes[i] < total ? UINT64_MAX : total + votes[i];
		}
		c.seats = 1 + (uint32_t)below(round % 50 == 0 ? 5000 : 60);
		c.threshold_ppm = below(2) ? 0 : (uint32_t)below(150001);
		c.threshold_base = below(4) == 0 ? below(total + (total < UINT64_MAX)) : total;
		c.method = (enum tally_seat_method)below(3);
		c.tie = (enum tally_tie_rule)below(2);
		c.overflow = (enum tally_overflow)below(2);

		struct tally_seats_input in = {
		    .n = c.n_lists,
		    .votes = votes,
		    .against_all = against,
		    .list_length = length,
		    .seats = c.seats,
		    .threshold_ppm = c.threshold_ppm,
		    .threshold_base = c.threshold_base,
		    .method = c.method,
		    .tie = c.tie,
		    .overflow = c.overflow,
		};
		cr_assert_eq(tally_seats_allocate(&in, &r), 0);
		compute(&c, &o);
		for (size_t i = 0; i < c.n_lists; i++) {
			cr_assert_eq(o.passed[i], r.passed[i], "seed %llu round %d list %zu",
			             (unsigned long long)seed, round, i);
			cr_assert_eq(o.won[i], r.seats[i],
			             "seed %llu round %d method %d tie %d overflow %d: list %zu: "
			             "verifier %u, daemon %u",
			             (unsigned long long)seed, round, c.method, c.tie, c.overflow,
			             i, o.won[i], r.seats[i]);
		}
		cr_assert_eq(o.vacant, r.vacant, "seed %llu round %d", (unsigned long long)seed,
		             round);
		cr_assert_eq(o.lot_seats, r.tie_seats, "seed %llu round %d",
		             (unsigned long long)seed, round);
		cr_assert_eq(o.n_lot, r.n_tied, "seed %llu round %d", (unsigned long long)seed,
		             round);
		for (size_t i = 0; i < o.n_lot; i++)
			cr_assert_eq(o.lot[i], r.tied[i], "seed %llu round %d",
			             (unsigned long long)seed, round);
	}
}

/* ---- against decision.c ------------------------------------------------- */

/*
 * What `tallyctl verify` does with every party list: decision.c's seats
 * (what the aggregator publishes) against the verifier's own count over
 * the same figures, the threshold's base being the rules' threshold_of
 * (valid ballots or ballots cast); a list whose turnout rule surely
 * failed seats nobody. Random contests, figures and unreported voters.
 */
Test(audit_seats, agrees_with_the_decisions_on_random_contests)
{
	const char *env = getenv("TALLY_SEATS_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 6122023;
	size_t failed = 0, final = 0, ties = 0;

	rng_state = seed;
	for (int round = 0; round < 10000; round++) {
		struct tally_contest_option opts[TALLY_MAX_OPTIONS];
		struct tally_election e;
		struct tally_contest c;
		struct tally_figures f;
		struct tally_decision_result d;
		struct audit_seats_contest own;
		struct audit_seats_outcome o;
		uint64_t sum = 0;
		bool any_list = false;

		memset(&e, 0, sizeof(e));
		memset(&c, 0, sizeof(c));
		memset(&f, 0, sizeof(f));
		memset(opts, 0, sizeof(opts));
		memset(&own, 0, sizeof(own));
		c.kind = TALLY_CONTEST_PARTY_LIST;
		c.n_options = 1 + below(below(4) == 0 ? TALLY_MAX_OPTIONS : 8);
		c.options = opts;
		c.seats = 1 + (uint32_t)below(round % 25 == 0 ? 500 : 40);
		c.has_rules = true;
		c.rules.threshold_ppm = below(2) ? 0 : (uint32_t)below(150001);
		c.rules.threshold_of = (enum tally_denominator)below(2);
		c.rules.method = (enum tally_seat_method)below(3);
		c.rules.tie = (enum tally_tie_rule)below(2);
		c.rules.overflow = (enum tally_overflow)below(2);
		c.rules.has_min_turnout = below(3) == 0;
		c.rules.min_turnout_ppm = (uint32_t)below(700001);
		for (size_t i = 0; i < c.n_options; i++) {
			snprintf(opts[i].id, sizeof(opts[i].id), "l%zu", i);
			opts[i].party = -1;
			/* Some against all, never every option. */
			opts[i].against_all = i > 0 && !any_list ? false : below(10) == 0;
			any_list = any_list || !opts[i].against_all;
			opts[i].list_length = below(3) == 0 ? (uint32_t)below(8) : 0;
			/* Round figures often, so that lists tie. */
			f.votes[i] = below(2) ? below(6) * 100 : below(1000000);
			sum += f.votes[i];
		}
		e.n_contests = 1;
		e.contests = &c;
		f.precincts_total = 10;
		f.precincts_reported = (uint32_t)below(11);
		f.ballots_not_counted = below(1000);
		f.ballots_invalid = below(1000);
		f.ballots_cast = sum + f.ballots_not_counted + f.ballots_invalid;
		f.voters_registered = f.ballots_cast + below(2 * f.ballots_cast + 1);
		struct tally_decision_input in = {
		    .e = &e,
		    .c = &c,
		    .national = &f,
		    .unreported_registered = f.precincts_reported == 10 ? 0 : below(sum + 1),
		};
		cr_assert_eq(tally_decide(&in, &d), 0, "seed %llu round %d",
		             (unsigned long long)seed, round);

		own.n_lists = c.n_options;
		for (size_t i = 0; i < c.n_options; i++)
			own.lists[i] = (struct audit_seats_list){f.votes[i], opts[i].list_length,
			                                         opts[i].against_all};
		own.seats = c.seats;
		own.threshold_ppm = c.rules.threshold_ppm;
		own.threshold_base = tally_figures_denominator(&f, c.rules.threshold_of);
		own.method = c.rules.method;
		own.tie = c.rules.tie;
		own.overflow = c.rules.overflow;
		compute(&own, &o);
		if (d.status == TALLY_STATUS_FAILED) {
			/* Final and failed: nobody is seated. */
			cr_assert(d.final);
			memset(&o, 0, sizeof(o));
			o.vacant = c.seats;
			failed++;
		}
		final += d.final;
		ties += o.lot_seats > 0;
		for (size_t i = 0; i < c.n_options; i++) {
			cr_assert_eq(o.passed[i], d.seats.passed[i], "seed %llu round %d list %zu",
			             (unsigned long long)seed, round, i);
			cr_assert_eq(o.won[i], d.seats.seats[i],
			             "seed %llu round %d list %zu: verifier %u, decision %u",
			             (unsigned long long)seed, round, i, o.won[i],
			             d.seats.seats[i]);
		}
		cr_assert_eq(o.vacant, d.seats.vacant, "seed %llu round %d",
		             (unsigned long long)seed, round);
		cr_assert_eq(o.lot_seats, d.tie_seats, "seed %llu round %d",
		             (unsigned long long)seed, round);
		cr_assert_eq(o.n_lot, d.n_tied, "seed %llu round %d", (unsigned long long)seed,
		             round);
		for (size_t i = 0; i < o.n_lot; i++)
			cr_assert_eq(o.lot[i], d.tied[i], "seed %llu round %d",
			             (unsigned long long)seed, round);
	}
	/* The rounds reach every branch the verifier takes. */
	cr_assert_gt(failed, 100, "%zu failed", failed);
	cr_assert_gt(final, 1000, "%zu final", final);
	cr_assert_gt(ties, 20, "%zu ties", ties);
}
