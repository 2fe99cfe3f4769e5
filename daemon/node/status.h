/*
 * status.h: what `tallyctl status` shows. The node keeps its last problems
 * here (connection failures, rejected files, Nacks) next to the logs, and
 * status_json() composes the document from the uplink's, the outbox's and
 * these figures. Pure apart from the outbox queries.
 */
#ifndef TALLY_NODE_STATUS_H
#define TALLY_NODE_STATUS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"

#define STATUS_MAX_PROBLEMS 10

struct status_problem {
	int64_t at_ms;  /* wall clock, of the latest occurrence */
	unsigned count; /* the same problem again and again is held once */
	char source[16];
	char text[TALLY_REASON_MAX + 128];
};

/* A ring of the latest problems. Zero-initialize; owns nothing. */
struct node_status {
	struct status_problem ring[STATUS_MAX_PROBLEMS];
	size_t n;    /* how many are held, <= STATUS_MAX_PROBLEMS */
	size_t next; /* where the next one goes */
};

/*
 * Records a problem (does not log it: the caller logs with more context). The
 * same source and text as the latest problem only counts it again.
 */
void status_problem(struct node_status *s, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The held problems as a JSON array, newest first. */
json_t *status_problems_json(const struct node_status *s);

struct uplink; /* uplink.h */

struct status_sources {
	const char *node_id;
	const char *region_id;
	const char *election_id;
	struct outbox *outbox;
	const struct uplink *uplink;
	const struct node_status *status;
};

/*
 * {"node_id", "region_id", "election_id",
 *  "connection": {"state", "aggregator": "host:port" | null, "aggregator_id",
 *                 "connected_for_s", "retry_in_s", "in_flight"},
 *  "outbox": {"queued", "files"},
 *  "sent": N (since start), "acknowledged": {"total", "accepted", "duplicate",
 *  "stale", "conflict"}, "rejected_by_aggregator": N,
 *  "rejections": [{"id", "precinct_id", "revision", "code", "reason",
 *                  "source", "line"}] (latest 5),
 *  "problems": [{"at", "source", "text", "count"}]}
 * Returns 0, -ENOMEM, or the outbox's error.
 */
int status_json(const struct status_sources *src, json_t **ret);

/* "outbox 12, connected to central-1:7443" for sd_notify STATUS=. */
void status_line(const struct status_sources *src, char *buf, size_t cap);

#endif
