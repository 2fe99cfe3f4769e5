/*
 * events.h: GET /v1/events, the totals as Server-Sent Events.
 *
 * Stream format (one event per change, coalesced to at most 4 a second):
 *
 *   event: totals
 *   id: <sequence>
 *   data: <the publication document, one line of JSON>
 *
 * The document is the /v1/totals document (committed state, with "as_of")
 * plus "title", "options" [{"id","name"}], "conflicts" (up to
 * EVENTS_MAX_CONFLICTS flagged precincts: {"precinct_id","region_id",
 * "revision","copies"}), "rejections" (the latest EVENTS_MAX_REJECTIONS,
 * newest first: {"at","region_id","precinct_id","code","reason"}) and
 * "degraded" (true while commits fail and nothing is acknowledged, with
 * "degraded_reason"). A new connection gets the committed state of that
 * moment at once (whatever its Last-Event-ID; a result acknowledged before
 * it connected is in it), then changes. Every 15 s a keep-alive
 * comment and an `event: heartbeat` with {"sequence","time"} prove the
 * stream alive between changes.
 *
 * Each tick serializes the document once and hands the same bytes to every
 * watcher; a watcher whose queue passes the HTTP server's stream cap is
 * dropped, so a slow reader never slows ingest. Watchers beyond
 * events_max_watchers() get 503 with Retry-After.
 */
#ifndef TALLY_AGG_EVENTS_H
#define TALLY_AGG_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
#include "tally/http.h"

#define EVENTS_TICK_MS        250
#define EVENTS_HEARTBEAT_MS   15000
#define EVENTS_MAX_WATCHERS   1000
#define EVENTS_MAX_CONFLICTS  100
#define EVENTS_MAX_REJECTIONS 20

/* Module hooks (agg_modules[]): 0 or -ENOMEM / -ENOSPC. */
int events_start(struct aggregator *a);
void events_stop(struct aggregator *a);

/* GET /v1/events */
void events_get(struct aggregator *a, struct http_request *req);

struct events_stats {
	size_t watchers;           /* connected now */
	size_t max_watchers;       /* the cap in force */
	uint64_t events_sent;      /* "totals" events made (once per change, not per watcher) */
	uint64_t watchers_total;   /* streams ever begun */
	uint64_t watchers_dropped; /* closed for a full queue */
	uint64_t watchers_refused; /* 503: over the cap */
	uint64_t bytes_queued;     /* bytes handed to watchers' queues */
};

/* Zeros before the module started. */
void events_get_stats(const struct aggregator *a, struct events_stats *ret);

#endif
