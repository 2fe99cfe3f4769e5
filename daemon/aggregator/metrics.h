/*
 * metrics.h: GET /metrics, the aggregator's figures in the Prometheus text
 * exposition format 0.0.4 (docs/publication.md lists every metric). Read
 * from struct agg_stats, the totals, the event stream and /proc/self; no
 * state of its own.
 */
#ifndef TALLY_AGG_METRICS_H
#define TALLY_AGG_METRICS_H

#include <stdio.h>

#include "aggregator.h"
#include "tally/http.h"

/* GET /metrics */
void metrics_get(struct aggregator *a, struct http_request *req);

/* Writes the exposition to f. 0, or -EIO when f failed. */
int metrics_write(struct aggregator *a, FILE *f);

#endif
