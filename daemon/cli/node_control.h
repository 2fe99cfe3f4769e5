/*
 * node_control.h: the client end of a tally-node's control socket (one JSON
 * object per line each way, see daemon/node/control.h), shared by
 * `tallyctl submit`, `status` and `resend`. Blocking, with a timeout.
 */
#ifndef TALLY_CLI_NODE_CONTROL_H
#define TALLY_CLI_NODE_CONTROL_H

#include <jansson.h>
#include <stddef.h>

#define NODE_CONTROL_TIMEOUT_S 60
/* Longest answer accepted (a rejected file lists at most 1000 problems). */
#define NODE_CONTROL_MAX_ANSWER (8u * 1024 * 1024)

/* Connects to the socket at path. Returns the fd, or -1 with err filled. */
int node_control_connect(const char *path, char *err, size_t cap);

/*
 * Sends req (not consumed) as one line and reads one answer line. Returns
 * the answer object, or NULL with err filled (I/O, timeout, not JSON).
 */
json_t *node_control_ask(int fd, const json_t *req, char *err, size_t cap);

/*
 * One request on a connection of its own: connects to path, asks req
 * (consumed, may be NULL for "out of memory") and closes. The answer
 * object, or NULL with err filled.
 */
json_t *node_control_call(const char *path, json_t *req, char *err, size_t cap);

#endif
