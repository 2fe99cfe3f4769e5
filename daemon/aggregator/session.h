/*
 * session.h: one TLS connection from a regional node (session.c).
 */
#ifndef TALLY_AGG_SESSION_H
#define TALLY_AGG_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "aggregator.h"
#include "tally/codec.h"

/*
 * Takes over an accepted TCP handle's socket: the caller has initialized
 * `tcp` with session_tcp() and called uv_accept on it. 0 or -errno (the
 * session is then closed and freed by itself).
 */
int session_start(struct aggregator *a, uv_stream_t *server);

/* References from items in flight: the session is freed at zero and closed. */
struct session *session_ref(struct session *s);
void session_unref(struct session *s);

/* True while the session can still send (not closing). */
bool session_open(const struct session *s);
const char *session_region(const struct session *s);

/*
 * Queues an Ack/Nack for a Submit and lowers the in-flight count (reads
 * resume below half of max_inflight). Sent by session_flush().
 */
void session_answer(struct session *s, const struct tally_msg *m);
/* Encrypts and writes what was queued. */
void session_flush(struct session *s);

/* Stops reading new frames from every session (shutdown). */
void session_pause_all(struct aggregator *a);
/* Ends every session with a Goodbye carrying reason. */
void session_close_all(struct aggregator *a, const char *reason);

#endif
