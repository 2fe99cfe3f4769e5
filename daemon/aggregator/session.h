/*
 * session.h: one TLS connection from a regional node (session.c), and the
 * table that finds a connection by its id.
 *
 * A session is known to the rest of the daemon only by its id (a 64-bit
 * number never reused within the process): ingest's items carry it, and
 * answers come back through the sink session_sink() fills in, which finds
 * the session again or drops the answer. A session's memory is session.c's
 * alone: it is freed once its handles are closed, whatever is in flight.
 */
#ifndef TALLY_AGG_SESSION_H
#define TALLY_AGG_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "aggregator.h"

struct ingest_sink; /* ingest.h */

/* The id -> session table as a->sessions, before the first session. 0 or -ENOMEM. */
int session_table_new(struct aggregator *a);
/* Frees a->sessions, once every session is closed (after the loop ran out). Takes NULL. */
void session_table_free(struct aggregator *a);

/*
 * Accepts a pending connection from the listening stream as a new session.
 * 0 or -errno (the session is then closed and freed by itself).
 */
int session_start(struct aggregator *a, uv_stream_t *server);

/*
 * Fills ret with the sink ingest answers through: answer() finds the
 * session by id in O(1), queues the Ack or Nack and lowers its in-flight
 * count (reads resume below half of max_inflight); a session that is gone
 * or closing gets nothing (false). flush() encrypts and writes what was
 * queued, once per session.
 */
void session_sink(struct aggregator *a, struct ingest_sink *ret);

/* Open sessions (any state before closing). */
size_t session_count(const struct aggregator *a);

/* Stops reading new frames from every session (shutdown). */
void session_pause_all(struct aggregator *a);
/* Ends every session with a Goodbye carrying reason. */
void session_close_all(struct aggregator *a, const char *reason);

#endif
