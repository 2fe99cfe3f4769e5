/*
 * http.h: the read-only HTTP/1.1 server (libuv, libhttp-parser) of the
 * aggregator's publication and the node's metrics.
 *
 * GET and HEAD only (others 405 with an Allow header); keep-alive and
 * pipelined requests answered in order; caps on header bytes (431), body
 * bytes (413), connections, idle keep-alive time and the time to receive a
 * whole request. Every error response carries a JSON body
 * {"error": "...", "status": N}. For HEAD the server drops the body itself.
 *
 * A handler receives a request and must, before it returns, either answer
 * it with one http_respond*() call, begin an answer produced as the socket
 * drains with http_respond_stream(), or turn the connection into a stream
 * with http_stream_begin() (Server-Sent Events). A request is valid only
 * during the handler call.
 *
 * Write queue: answers to pipelined requests queue up in order. A client
 * whose unread answers pass max_stream_queue when the next one is due is
 * dropped; a single answer may be of any size. An answer too large to
 * build at once should be a response stream: it queues at most a slice
 * beyond HTTP_STREAM_LOW_WATER, and the requests pipelined behind it are
 * read only once it is sent.
 */
#ifndef TALLY_HTTP_H
#define TALLY_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tally/conf.h"

struct http_server;
struct http_request;
struct http_stream;

/* ---- shared bodies ----------------------------------------------------- */

/* Reference-counted bytes, sent without copying to any number of peers. */
struct http_body {
	unsigned refs;
	size_t len;
	char data[];
};

/* A body of len bytes (data uninitialized), refs = 1. NULL on ENOMEM. */
struct http_body *http_body_new(size_t len);
/* Copies len bytes. NULL on ENOMEM. */
struct http_body *http_body_from(const void *data, size_t len);
struct http_body *http_body_ref(struct http_body *b);
/* Takes NULL; frees at zero; returns NULL. */
struct http_body *http_body_unref(struct http_body *b);

/* ---- server -------------------------------------------------------------- */

/* The handler for one request (see the contract above). */
typedef void (*http_handler_cb)(struct http_request *req, void *data);

struct http_limits {
	uint32_t max_connections;    /* more are accepted and closed at once */
	uint32_t max_header_bytes;   /* request line + headers; beyond: 431 */
	uint32_t max_body_bytes;     /* beyond: 413 */
	uint32_t idle_timeout_ms;    /* keep-alive without a request; an answer without progress */
	uint32_t request_timeout_ms; /* first byte .. end of request */
	uint32_t max_stream_queue;   /* unsent bytes: an event stream beyond it, or a
	                              * connection whose earlier answers are still
	                              * beyond it when the next is due, is dropped */
};

/* Defaults: 512 connections, 8 KiB headers, 0 body... see http.c. */
void http_limits_default(struct http_limits *ret);

/*
 * Listens on ep (or on the already bound socket `fd` if fd >= 0, from socket
 * activation) and dispatches every request to handler. 0 or -errno (e.g.
 * -EADDRINUSE).
 */
int http_server_start(uv_loop_t *loop, const struct tally_endpoint *ep, int fd,
                      const struct http_limits *limits, http_handler_cb handler, void *data,
                      struct http_server **ret);

/* The bound port (useful with port 0). */
int http_server_port(const struct http_server *s);

/* Connections and streams open right now. */
size_t http_server_connections(const struct http_server *s);

/*
 * Stops listening, closes every connection and stream (their close
 * callbacks run), frees the server once the handles are closed. Takes NULL.
 */
void http_server_stop(struct http_server *s);

/* ---- requests ------------------------------------------------------------ */

/*
 * True for HEAD. Responses and streams then send their headers only, so a
 * handler need not care, unless it wants to skip costly work for a body
 * nobody will get.
 */
bool http_request_is_head(const struct http_request *req);
/* The path without the query, percent-decoding not applied. */
const char *http_request_path(const struct http_request *req);
/* The query string without '?', or "" */
const char *http_request_query(const struct http_request *req);
/*
 * The value of query parameter `name` (first occurrence, not decoded) into
 * ret (NUL-terminated, truncated to cap). 0, -ENOENT.
 */
int http_request_query_param(const struct http_request *req, const char *name, char *ret,
                             size_t cap);
/*
 * The n bytes at s (a path segment or a query value) percent-decoded into
 * ret, NUL-terminated: a browser's encodeURIComponent writes ':' as %3A.
 * The decoded length, or -EINVAL when a '%' is not followed by two hex
 * digits, a byte decodes to NUL, or the result does not fit in cap - 1.
 */
int http_percent_decode(const char *s, size_t n, char *ret, size_t cap);
/* A header's value (case-insensitive name), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* The peer's address as text, for logs. */
const char *http_request_peer(const struct http_request *req);

/* ---- responses ----------------------------------------------------------- */

/*
 * Answers with status and a body copied from data. extra_headers, if not
 * NULL, is inserted as is (each line ending in "\r\n"). 0 or -ENOMEM (the
 * connection is then closed).
 */
int http_respond(struct http_request *req, int status, const char *content_type,
                 const char *extra_headers, const void *data, size_t len);
/* Same, sending a shared body without copying (takes its own reference). */
int http_respond_body(struct http_request *req, int status, const char *content_type,
                      const char *extra_headers, struct http_body *body);
/* Serializes doc compactly as application/json (doc is borrowed). */
int http_respond_json(struct http_request *req, int status, const json_t *doc);
/* {"error": message, "status": status} */
int http_respond_error(struct http_request *req, int status, const char *message);
/* Same, the message formatted as by printf (cut at 255 bytes). */
int http_respond_errorf(struct http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- streams ------------------------------------------------------------- */

/* Fires once when the stream ends (peer gone, queue cap, server stop, or
 * http_stream_close()); the stream is invalid after it returns. */
typedef void (*http_stream_close_cb)(struct http_stream *s, void *data);

/*
 * Fires (from the loop) each time a write of a response stream completes
 * and at most HTTP_STREAM_LOW_WATER bytes remain queued: the producer
 * writes its next piece or calls http_stream_close(). A call that does
 * neither is not repeated until another write completes.
 */
typedef void (*http_stream_drain_cb)(struct http_stream *s, void *data);

#define HTTP_STREAM_LOW_WATER (64u << 10)

/*
 * Answers req with a body of unknown length, produced piece by piece:
 * "Transfer-Encoding: chunked" (each write one chunk; http_stream_close()
 * sends the last) and the connection kept alive as respond() would; to an
 * HTTP/1.0 client without chunks, ended by closing. The handler may write
 * the first piece at once; on_drain asks for the rest. The connection
 * reads nothing more until the answer is sent; then on_close fires and the
 * requests pipelined behind it are answered. If the peer reads nothing for
 * idle_timeout_ms the connection is dropped (on_close fires too). For HEAD
 * only the headers go out: writes are dropped and on_drain never fires.
 * 0, -ENOBUFS (earlier answers left unread: the connection is closed and
 * no stream made), -EINVAL, -EALREADY, or -ENOMEM / -EPIPE (the stream
 * exists and on_close will fire).
 */
int http_respond_stream(struct http_request *req, int status, const char *content_type,
                        const char *extra_headers, http_stream_drain_cb on_drain,
                        http_stream_close_cb on_close, void *data, struct http_stream **ret);

/*
 * Sends the status line and headers (no Content-Length; "Cache-Control:
 * no-store", "Connection: close" added) and keeps the connection for
 * http_stream_write(). The connection reads no further requests. For HEAD
 * the stream ends right after the headers (on_close still fires). 0 or
 * -ENOMEM.
 */
int http_stream_begin(struct http_request *req, int status, const char *content_type,
                      const char *extra_headers, http_stream_close_cb on_close, void *data,
                      struct http_stream **ret);
/*
 * Queues bytes (copied). -ENOBUFS when the queued bytes would exceed
 * max_stream_queue: the stream is then closed (on_close fires later, from
 * the loop, never from inside this call). -EPIPE if already closing.
 */
int http_stream_write(struct http_stream *s, const void *data, size_t len);
/* Same with a shared body, no copy. */
int http_stream_write_body(struct http_stream *s, struct http_body *body);
size_t http_stream_queued(const struct http_stream *s);
/* Ends the stream after queued bytes are sent; on_close fires later. */
void http_stream_close(struct http_stream *s);
/* Drops the connection now: the client sees a cut answer, never a whole
 * one (for a producer that cannot go on). on_close fires later. */
void http_stream_abort(struct http_stream *s);

#endif
