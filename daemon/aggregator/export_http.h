/*
 * export_http.h: GET /v1/export/nist-1500-100.json, the NIST SP 1500-100 v2
 * export (export_nist.h) of the committed totals; `?format=summary` leaves
 * out the precinct level.
 *
 * Documents are built on the libuv thread pool from a copy of the totals
 * taken on the loop when no batch is half-committed, one build at a time,
 * and cached per sequence: any number of requests at one sequence cost one
 * build. A request finds the cached document for the current sequence and
 * gets it at once (with ETag and X-Tally-Sequence), or waits for the build
 * (the response then streams without Content-Length once it is ready).
 */
#ifndef TALLY_AGG_EXPORT_HTTP_H
#define TALLY_AGG_EXPORT_HTTP_H

#include <stdint.h>

#include "aggregator.h"
#include "tally/http.h"

/* Module hooks (agg_modules[]). */
int export_start(struct aggregator *a);
void export_stop(struct aggregator *a);

/* GET /v1/export/nist-1500-100.json */
void export_nist_get(struct aggregator *a, struct http_request *req);

#endif
