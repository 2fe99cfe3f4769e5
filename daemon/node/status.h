/*
 * status.h: what `tallyctl status` shows. status_json() composes the
 * document from the uplink's and the outbox's figures and the last problems
 * (problems.h). Pure apart from the outbox queries.
 */
#ifndef TALLY_NODE_STATUS_H
#define TALLY_NODE_STATUS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"
#include "problems.h"

struct uplink; /* uplink.h */

struct status_sources {
	const char *node_id;
	const char *region_id;
	const char *election_id;
	struct outbox *outbox;
	const struct uplink *uplink;
	const struct problems *problems;
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
