/*
 * http_client.h: the small HTTP/1.1 client tallyctl uses to read an
 * aggregator's publication port (plain HTTP on a trusted or loopback
 * network; observers check what they read cryptographically anyway).
 * Responses are parsed with libhttp-parser. URLs are http://host:port
 * (host may be [v6]).
 */
#ifndef TALLY_HTTP_CLIENT_H
#define TALLY_HTTP_CLIENT_H

#include <stddef.h>

#include "tally/err.h"

/*
 * GET base_url + path. On 0, *ret_body (NUL-terminated, caller frees) and
 * *ret_status are set whatever the status. Returns -EINVAL (bad URL),
 * -ECONNREFUSED / -ETIMEDOUT / -EPROTO (err says which host and why).
 * timeout_ms bounds the whole exchange.
 */
int http_get(const char *base_url, const char *path, int timeout_ms, char **ret_body,
             size_t *ret_len, int *ret_status, struct tally_err *err);

/*
 * Streams the body of GET base_url + path (e.g. Server-Sent Events) to cb as
 * it arrives, with extra request header `Last-Event-ID` when last_event_id
 * is not NULL. Returns when cb returns non-zero (that value), when the
 * server closes (0), or on error (negative errno, err filled).
 */
typedef int (*http_chunk_cb)(const char *data, size_t len, void *arg);
int http_stream(const char *base_url, const char *path, const char *last_event_id, http_chunk_cb cb,
                void *arg, struct tally_err *err);

#endif
