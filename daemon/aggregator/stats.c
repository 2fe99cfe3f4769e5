/*
 * stats.c: the counters and histograms operators and /metrics read, and the
 * ring of the latest rejections. Plain arithmetic on struct agg_stats; the
 * callers decide when something counts.
 */
#include <string.h>

#include "aggregator.h"

/* Seconds: from half a millisecond (an Ack within one loop turn) to 10 s
 * (a store stalled on a dying disk). */
const double agg_hist_bounds[AGG_HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
};

void agg_histogram_observe(struct agg_histogram *h, double seconds)
{
	size_t i = 0;
	while (i < AGG_HIST_BUCKETS && seconds > agg_hist_bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += seconds;
}

void agg_stats_add_rejection(struct agg_stats *s, const struct agg_rejection *r)
{
	s->recent[s->recent_head] = *r;
	s->recent_head = (s->recent_head + 1) % AGG_RECENT_REJECTIONS;
	if (s->recent_n < AGG_RECENT_REJECTIONS)
		s->recent_n++;
}

size_t aggregator_recent_rejections(const struct aggregator *a, struct agg_rejection *ret,
                                    size_t max)
{
	const struct agg_stats *s = &a->stats;
	size_t n = s->recent_n < max ? s->recent_n : max;
	for (size_t k = 0; k < n; k++) {
		size_t i = (s->recent_head + AGG_RECENT_REJECTIONS - 1 - k) % AGG_RECENT_REJECTIONS;
		ret[k] = s->recent[i];
	}
	return n;
}
