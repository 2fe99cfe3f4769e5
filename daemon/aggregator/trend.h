/*
 * trend.h: the night's time series of each contest (trend.c), served as
 * GET /v1/contests/{id}/trend. Fed by the commit observers: after each
 * published commit every contest whose national figures changed gets its
 * latest point, and a point is kept at most once per sampling interval.
 *
 * Bounded for a whole night, whatever its length: at most TREND_MAX_POINTS
 * kept per contest; when full, every other point is dropped and the
 * interval doubles (10 s at first), so the points stay evenly spread.
 * Memory per contest: 8 bytes x (5 + its options) per point, grown as
 * points come (a contest nobody reports in costs one point).
 *
 * The series is in memory only: a restarted aggregator starts it again
 * from the state it recovered.
 */
#ifndef TALLY_AGG_TREND_H
#define TALLY_AGG_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
#include "tally/http.h"

#define TREND_MAX_POINTS        720
#define TREND_FIRST_INTERVAL_MS 10000

/*
 * A point is TREND_FIXED + n_options numbers: t (ms since the epoch),
 * sequence, precincts_reported, ballots_cast, valid, then the votes in
 * ballot order.
 */
#define TREND_FIXED 5

/* One contest's series. Owns `points`. */
struct trend_series {
	size_t stride;        /* TREND_FIXED + the contest's options */
	size_t n, cap;        /* points kept, room for */
	uint64_t *points;     /* n * stride, oldest first */
	uint64_t interval_ms; /* the sampling interval now */
	uint64_t *latest;     /* the contest at the latest change (stride numbers) */
	bool has_latest;
	bool latest_kept;    /* latest is the last point kept */
	uint64_t generation; /* bumped on every change, for the cached document */
};

/* An empty series for a contest of n_options. 0 or -ENOMEM. */
int trend_series_init(struct trend_series *s, size_t n_options);
void trend_series_clear(struct trend_series *s);
/*
 * The contest's state p (stride numbers, p[0] its time) after a commit:
 * nothing when its figures (all but time and sequence) equal the latest;
 * otherwise it becomes the latest, and is kept as a point when none is
 * kept yet or the interval has passed since the last kept one (first
 * halving the points and doubling the interval when TREND_MAX_POINTS are
 * kept). Returns 0 or -ENOMEM (the series stays as it was).
 */
int trend_series_add(struct trend_series *s, const uint64_t *p);

/* ---- the module (routes.c) ---- */

int trend_start(struct aggregator *a);
void trend_stop(struct aggregator *a);
/* Answers GET /v1/contests/{id}/trend for contest index `contest`. */
void trend_get(struct aggregator *a, struct http_request *req, size_t contest);

#endif
