/*
 * test_trend.c: a contest's series of the night (trend.c): a point at
 * most once per sampling interval and only when the figures changed, the
 * latest change always at hand, and the bound: never more than
 * TREND_MAX_POINTS, halved and spaced twice as far when full, so a night
 * of any length keeps evenly spread points in the same memory.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "trend.h"

/* A point of a two-option contest: t in seconds, figures from v. */
static void point(uint64_t *p, uint64_t t_s, uint64_t v)
{
	p[0] = t_s * 1000;
	p[1] = v;       /* sequence */
	p[2] = v / 10;  /* precincts reported */
	p[3] = 100 * v; /* ballots cast */
	p[4] = 90 * v;  /* valid */
	p[5] = 60 * v;  /* votes */
	p[6] = 30 * v;
}

Test(trend, a_point_per_interval_and_only_on_change)
{
	struct trend_series s;
	uint64_t p[TREND_FIXED + 2];
	cr_assert_eq(trend_series_init(&s, 2), 0);
	cr_assert_eq(s.stride, 7);
	cr_assert_eq(s.interval_ms, 10000);

	point(p, 0, 0);
	cr_assert_eq(trend_series_add(&s, p), 0);
	cr_assert_eq(s.n, 1, "the first state is a point");
	cr_assert(s.latest_kept);
	uint64_t gen = s.generation;

	/* The same figures later (another contest moved the sequence): nothing. */
	point(p, 3, 0);
	p[1] = 7;
	cr_assert_eq(trend_series_add(&s, p), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.generation, gen);

	/* A change within the interval is the latest, not a point. */
	point(p, 5, 1);
	cr_assert_eq(trend_series_add(&s, p), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_not(s.latest_kept);
	cr_assert_eq(s.latest[0], 5000);
	cr_assert_eq(s.latest[3], 100);
	cr_assert_gt(s.generation, gen);

	/* Ten seconds after the last point: kept. */
	point(p, 10, 2);
	cr_assert_eq(trend_series_add(&s, p), 0);
	cr_assert_eq(s.n, 2);
	cr_assert(s.latest_kept);
	cr_assert_eq(s.points[s.stride + 0], 10000);
	cr_assert_eq(s.points[s.stride + 6], 60);
	trend_series_clear(&s);
}

Test(trend, a_whole_night_stays_within_the_bound_evenly_spread)
{
	struct trend_series s;
	uint64_t p[TREND_FIXED + 2];
	size_t most = 0;
	cr_assert_eq(trend_series_init(&s, 2), 0);
	/* Twelve hours with a change every second. */
	for (uint64_t t = 0; t <= 12 * 3600; t++) {
		point(p, t, t + 1);
		cr_assert_eq(trend_series_add(&s, p), 0);
		cr_assert_leq(s.n, TREND_MAX_POINTS);
		cr_assert_leq(s.cap, TREND_MAX_POINTS);
		if (s.n > most)
			most = s.n;
	}
	cr_assert_eq(most, TREND_MAX_POINTS, "the series fills before it halves");
	/* Full at 2 h (10 s apart), 4 h (20 s) and 8 h (40 s): 80 s apart
	 * since, every point on the grid from the first one on. */
	cr_assert_eq(s.interval_ms, 80000);
	cr_assert_eq(s.n, 541);
	for (size_t i = 0; i < s.n; i++)
		cr_assert_eq(s.points[i * s.stride], i * 80000, "point %zu", i);
	cr_assert(s.latest_kept, "the night's last change fell on the grid");
	cr_assert_eq(s.latest[0], 12 * 3600 * 1000);
	trend_series_clear(&s);
}

Test(trend, memory_grows_with_the_points_kept)
{
	struct trend_series s;
	uint64_t p[TREND_FIXED + 2];
	cr_assert_eq(trend_series_init(&s, 2), 0);
	cr_assert_eq(s.cap, 0);
	point(p, 0, 1);
	cr_assert_eq(trend_series_add(&s, p), 0);
	cr_assert_eq(s.cap, 16, "a contest with one point holds room for 16");
	for (uint64_t t = 10; t <= 160; t += 10) {
		point(p, t, t);
		cr_assert_eq(trend_series_add(&s, p), 0);
	}
	cr_assert_eq(s.n, 17);
	cr_assert_eq(s.cap, 32);
	trend_series_clear(&s);
}
