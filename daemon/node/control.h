/*
 * control.h: the node's control socket (a Unix stream socket), used by
 * `tallyctl submit` and `tallyctl status`. One JSON object per line each
 * way, answered in order:
 *
 *   {"op": "submit", "name": "north.csv", "data": "<the file's text>"}
 *     -> {"ok": true, "name": ..., "fate": "queued" | "already queued" |
 *         "rejected", "protocols": [{"line", "precinct_id", "revision",
 *         "state", "id"?, "outcome"?, "code"?, "reason"?}],
 *         "errors": [{"line", "precinct_id"?, "where", "message", "text"}]}
 *   {"op": "status"} -> {"ok": true, "status": {...status_json()...}}
 *   {"op": "resend", "since_ms": T} -> {"ok": true, "requeued": N}
 *     puts every protocol delivered at or after T (ms since 1970, node's
 *     clock; 0 = all) back in the queue, for an aggregator restored from a
 *     backup (outbox_resend_delivered()).
 *
 * Anything else, a line longer than CONTROL_MAX_REQUEST or a failure to
 * queue is answered {"ok": false, "error": "..."}; an oversized request also
 * ends the connection. At most CONTROL_MAX_CLIENTS at once; a client silent
 * for CONTROL_IDLE_MS is disconnected.
 */
#ifndef TALLY_NODE_CONTROL_H
#define TALLY_NODE_CONTROL_H

#include <jansson.h>
#include <uv.h>

#include "intake.h"
#include "problems.h"

#define CONTROL_MAX_REQUEST (10u * 1024 * 1024)
#define CONTROL_MAX_CLIENTS 32
#define CONTROL_IDLE_MS     60000

struct control; /* opaque; owned by main */

/* Builds the status document for {"op": "status"} (status_json()). */
typedef int (*control_status_cb)(void *arg, json_t **ret);
/* Called after a submitted file's rows were committed. */
typedef void (*control_queued_cb)(void *arg);
/* Called after a resend put entries from first_id on back in the queue. */
typedef void (*control_resend_cb)(void *arg, int64_t first_id);

struct control_config {
	const char *path;
	const struct intake *intake;
	struct problems *problems;
	control_status_cb status_cb;
	control_queued_cb queued_cb;
	control_resend_cb resend_cb;
	void *arg;
};

/*
 * Binds path (replacing a stale socket left by a crash, never another kind
 * of file), mode 0660, and listens. 0 or -errno (err says what).
 */
int control_init(uv_loop_t *loop, const struct control_config *cfg, struct control **ret,
                 struct tally_err *err);
/* Disconnects idle clients; from the node's timer. */
void control_tick(struct control *c);
/* Closes the listener and every client, unlinks the socket, frees c, calls cb. */
void control_close(struct control *c, void (*cb)(void *arg), void *arg);

/*
 * The answer to one request line (pure apart from intake and status_cb):
 * a JSON object the caller serializes. Exposed for the tests.
 */
json_t *control_answer(const struct control_config *cfg, const char *line, size_t len);

#endif
