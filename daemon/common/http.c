/*
 * http.c: the read-only HTTP/1.1 server of tally/http.h. It owns the listening
 * socket, the connections (socket, timer, parser, write queue) and the
 * streams; what a path means is routes.c's and the handlers'.
 *
 * Requests are parsed by libhttp-parser into one fixed buffer per
 * connection of max_header_bytes (URL and headers, NUL-separated), so a
 * request never allocates per header. Only GET and HEAD are served; a
 * request with another method, a body over the cap, or a Transfer-Encoding
 * (no GET needs one, and it is how request smuggling starts) is answered
 * and the connection closed.
 *
 * Answers go out in request order. A whole answer is queued at once, so a
 * client that pipelines requests and reads nothing makes the queue grow:
 * once what it has left unread passes max_stream_queue it is dropped. One
 * answer may be larger than that; an answer too large to build at once is
 * a response stream, produced a piece at a time as the socket drains (the
 * drain callback), while reading stops and the bytes already read past its
 * request wait in `held` until it ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tally/hex.h"
#include "tally/http.h"

#define MAX_HEADERS 64
#define READ_CHUNK  65536

struct http_request {
	struct http_conn *c;
	bool head;
	const char *path;
	const char *query;
};

struct http_stream {
	struct http_conn *c;
	http_stream_close_cb on_close;
	http_stream_drain_cb on_drain;
	void *data;
	bool response; /* one request's answer: the connection goes on after it */
	bool chunked;  /* writes are chunks (RFC 9112, 7.1); else the close ends it */
	bool ending;   /* nothing more is written; ends once the queue is empty */
	bool head;     /* HEAD: writes are dropped */
};

struct http_conn {
	struct http_conn *prev, *next;
	struct http_server *srv;
	uv_tcp_t tcp;
	uv_timer_t timer;
	unsigned handles;
	http_parser parser;
	char peer[64];
	/* The request being read: URL and header pieces, NUL-terminated. */
	char *hb;
	size_t hb_len;
	size_t url_off;
	size_t hdr_name[MAX_HEADERS], hdr_val[MAX_HEADERS];
	size_t n_hdrs;
	enum { P_NONE, P_URL, P_FIELD, P_VALUE } piece;
	uint64_t body_bytes;
	int error_status; /* set by a parser callback that refused */
	const char *error_message;
	bool in_request;
	bool responded;
	bool keep_alive;
	bool closing; /* no more requests; close after writes drain */
	bool closed;  /* uv_close called */
	size_t write_queued;
	bool streaming;
	struct http_stream stream;
	/* Read past a request whose answer streams: parsed once it ends. */
	char *held;
	size_t held_len;
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t tcp;
	bool listening;
	bool stopping;
	struct http_limits lim;
	http_handler_cb handler;
	void *data;
	struct http_conn *conns;
	size_t n_conns;
};

struct http_write {
	uv_write_t req;
	struct http_conn *c;
	struct http_body *body; /* a reference, or NULL */
	size_t len;             /* head + body + crlf bytes */
	char crlf[2];           /* ends a chunk */
	char head[];
};

/* ---- bodies -------------------------------------------------------------- */

struct http_body *http_body_new(size_t len)
{
	struct http_body *b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = len;
	return b;
}

struct http_body *http_body_from(const void *data, size_t len)
{
	struct http_body *b = http_body_new(len);
	if (b && len)
		memcpy(b->data, data, len);
	return b;
}

struct http_body *http_body_ref(struct http_body *b)
{
	b->refs++;
	return b;
}

struct http_body *http_body_unref(struct http_body *b)
{
	if (b && --b->refs == 0)
		free(b);
	return NULL;
}

void http_limits_default(struct http_limits *ret)
{
	ret->max_connections = 512;
	ret->max_header_bytes = 8192;
	ret->max_body_bytes = 1024;
	ret->idle_timeout_ms = 30000;
	ret->request_timeout_ms = 10000;
	ret->max_stream_queue = 4u << 20;
}

/* ---- connection lifetime -------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h);
static void maybe_free_server(struct http_server *s);

static void conn_close(struct http_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	if (--c->handles > 0)
		return;
	struct http_server *s = c->srv;
	if (c->streaming && c->stream.on_close)
		c->stream.on_close(&c->stream, c->stream.data);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	free(c->held);
	free(c->hb);
	free(c);
	maybe_free_server(s);
}

/* Close once everything queued is written. */
static void conn_finish(struct http_conn *c)
{
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->write_queued == 0)
		conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	if (c->in_request && !c->responded) {
		/* A slow request: answered, then dropped. */
		http_respond_error(&(struct http_request){.c = c}, 408,
		                   "request not received in time");
		conn_finish(c);
		return;
	}
	/* An event stream may be quiet; an answer that made no progress for
	 * so long goes to a peer that does not read. */
	if (!c->streaming || c->stream.response)
		conn_close(c);
}

static void stream_end(struct http_conn *c);

static void on_write(uv_write_t *req, int status)
{
	struct http_write *w = (struct http_write *)req;
	struct http_conn *c = w->c;
	c->write_queued -= w->len;
	http_body_unref(w->body);
	free(w);
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->streaming && c->stream.response && !c->closed) {
		uv_timer_start(&c->timer, on_timer, c->srv->lim.idle_timeout_ms, 0);
		if (!c->stream.ending) {
			if (c->write_queued <= HTTP_STREAM_LOW_WATER && c->stream.on_drain)
				c->stream.on_drain(&c->stream, c->stream.data);
			return;
		}
		if (c->write_queued == 0)
			stream_end(c);
		return;
	}
	if (c->closing && c->write_queued == 0)
		conn_close(c);
	else if (!c->in_request && !c->streaming && !c->closed)
		/* Idle is without a request and without progress: a large answer
		 * to a slow reader is not cut at idle_timeout_ms. */
		uv_timer_start(&c->timer, on_timer, c->srv->lim.idle_timeout_ms, 0);
}

/* Queues head and copy (copied) or body (shared), then CRLF if crlf. */
static int conn_write(struct http_conn *c, const char *head, size_t head_len,
                      struct http_body *body, const void *copy, size_t copy_len, bool crlf)
{
	if (c->closed)
		return -EPIPE;
	struct http_write *w = malloc(sizeof(*w) + head_len + copy_len);
	if (!w) {
		conn_close(c);
		return -ENOMEM;
	}
	w->c = c;
	w->body = body ? http_body_ref(body) : NULL;
	memcpy(w->head, head, head_len);
	if (copy_len)
		memcpy(w->head + head_len, copy, copy_len);
	uv_buf_t bufs[3];
	unsigned n = 0;
	if (head_len + copy_len)
		bufs[n++] = uv_buf_init(w->head, (unsigned)(head_len + copy_len));
	if (body && body->len)
		bufs[n++] = uv_buf_init(body->data, (unsigned)body->len);
	if (crlf) {
		memcpy(w->crlf, "\r\n", 2);
		bufs[n++] = uv_buf_init(w->crlf, 2);
	}
	w->len = head_len + copy_len + (body ? body->len : 0) + (crlf ? 2 : 0);
	int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write);
	if (r < 0) {
		http_body_unref(w->body);
		free(w);
		conn_close(c);
		return -EPIPE;
	}
	c->write_queued += w->len;
	return 0;
}

/* ---- responses ---------------------------------------------------------------- */

/*
 * Reason phrases of RFC 9110 section 15 for every status this server can
 * send and a few more. Clients ignore them, but people read them in curl -v
 * and proxy logs, where "Unknown" looks like a fault.
 */
static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static int respond(struct http_request *req, int status, const char *ctype, const char *extra,
                   struct http_body *body, const void *data, size_t len)
{
	struct http_conn *c = req->c;
	char head[1024];
	if (c->responded || c->streaming)
		return -EALREADY;
	c->responded = true;
	size_t blen = body ? body->len : len;
	bool keep = c->keep_alive && !c->closing;
	/* A 304 has no body and must not claim a length other than the 200's
	 * (RFC 9110, 8.6): it carries no Content-Length at all. */
	char length[48] = "";
	if (status != 304)
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n", blen);
	else
		blen = 0;
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s"
	                 "Connection: %s\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
	                 status, status_text(status), ctype, length, keep ? "keep-alive" : "close",
	                 extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (!keep)
		c->closing = true;
	if (c->write_queued > c->srv->lim.max_stream_queue) {
		/* A client that pipelines requests but reads no answers: what it
		 * left unread is capped, not the size of one answer. */
		conn_close(c);
		return -ENOBUFS;
	}
	if (req->head || status == 304)
		return conn_write(c, head, (size_t)n, NULL, NULL, 0, false);
	return conn_write(c, head, (size_t)n, body, data, body ? 0 : len, false);
}

int http_respond(struct http_request *req, int status, const char *content_type,
                 const char *extra_headers, const void *data, size_t len)
{
	return respond(req, status, content_type, extra_headers, NULL, data, len);
}

int http_respond_body(struct http_request *req, int status, const char *content_type,
                      const char *extra_headers, struct http_body *body)
{
	return respond(req, status, content_type, extra_headers, body, NULL, 0);
}

int http_respond_json(struct http_request *req, int status, const json_t *doc)
{
	/* Ten significant digits print 62.5 as 62.5, not 62.500000000000001. */
	char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!text) {
		conn_close(req->c);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	text[len] = '\0';
	int r = respond(req, status, "application/json", NULL, NULL, text, len);
	free(text);
	return r;
}

int http_respond_error(struct http_request *req, int status, const char *message)
{
	json_t *doc = json_pack("{s:s, s:i}", "error", message, "status", status);
	if (!doc) {
		conn_close(req->c);
		return -ENOMEM;
	}
	const char *extra = status == 405 ? "Allow: GET, HEAD\r\n" : NULL;
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text) {
		conn_close(req->c);
		return -ENOMEM;
	}
	int r = respond(req, status, "application/json", extra, NULL, text, strlen(text));
	free(text);
	return r;
}

int http_respond_errorf(struct http_request *req, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return http_respond_error(req, status, msg);
}

/* ---- streams ---------------------------------------------------------------- */

int http_stream_begin(struct http_request *req, int status, const char *content_type,
                      const char *extra_headers, http_stream_close_cb on_close, void *data,
                      struct http_stream **ret)
{
	struct http_conn *c = req->c;
	char head[1024];
	if (c->responded || c->streaming)
		return -EALREADY;
	int n =
	    snprintf(head, sizeof(head),
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
	             "Connection: close\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
	             status, status_text(status), content_type, extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	c->responded = true;
	c->streaming = true;
	c->stream = (struct http_stream){.c = c, .on_close = on_close, .data = data};
	/* A stream reads nothing more and is never idle-timed out. */
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	http_parser_pause(&c->parser, 1);
	int r = conn_write(c, head, (size_t)n, NULL, NULL, 0, false);
	if (req->head)
		conn_finish(c);
	*ret = &c->stream;
	return r < 0 ? r : 0;
}

int http_respond_stream(struct http_request *req, int status, const char *content_type,
                        const char *extra_headers, http_stream_drain_cb on_drain,
                        http_stream_close_cb on_close, void *data, struct http_stream **ret)
{
	struct http_conn *c = req->c;
	char head[1024];
	if (c->responded || c->streaming)
		return -EALREADY;
	/* HTTP/1.0 knows no chunks: its answer ends with the connection. */
	bool chunked = c->parser.http_major == 1 && c->parser.http_minor >= 1;
	bool keep = c->keep_alive && !c->closing && chunked;
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%sConnection: %s\r\n"
	                 "X-Content-Type-Options: nosniff\r\n%s\r\n",
	                 status, status_text(status), content_type,
	                 chunked ? "Transfer-Encoding: chunked\r\n" : "",
	                 keep ? "keep-alive" : "close", extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (c->write_queued > c->srv->lim.max_stream_queue) {
		/* As in respond(): earlier answers left unread. */
		conn_close(c);
		return -ENOBUFS;
	}
	c->responded = true;
	c->streaming = true;
	c->stream = (struct http_stream){.c = c,
	                                 .on_close = on_close,
	                                 .on_drain = on_drain,
	                                 .data = data,
	                                 .response = true,
	                                 .chunked = chunked,
	                                 .ending = req->head,
	                                 .head = req->head};
	if (!keep)
		c->closing = true;
	/* Progress, not idleness, is timed from here (on_write). */
	uv_timer_start(&c->timer, on_timer, c->srv->lim.idle_timeout_ms, 0);
	*ret = &c->stream;
	return conn_write(c, head, (size_t)n, NULL, NULL, 0, false);
}

/* Queues one piece of a stream: a chunk of a chunked answer, else as is. */
static int stream_write(struct http_stream *s, struct http_body *body, const void *data, size_t len)
{
	struct http_conn *c = s->c;
	if (s->response ? c->closed : c->closing)
		return -EPIPE;
	if (s->head)
		return 0; /* the server drops the body itself */
	if (s->ending)
		return -EPIPE;
	if (c->write_queued + len > c->srv->lim.max_stream_queue) {
		conn_close(c);
		return -ENOBUFS;
	}
	if (len == 0)
		return 0; /* an empty chunk would end the answer */
	if (!s->chunked)
		return conn_write(c, "", 0, body, data, body ? 0 : len, false);
	char size[24];
	int n = snprintf(size, sizeof(size), "%zx\r\n", len);
	return conn_write(c, size, (size_t)n, body, data, body ? 0 : len, true);
}

int http_stream_write(struct http_stream *s, const void *data, size_t len)
{
	return stream_write(s, NULL, data, len);
}

int http_stream_write_body(struct http_stream *s, struct http_body *body)
{
	return stream_write(s, body, NULL, body->len);
}

size_t http_stream_queued(const struct http_stream *s)
{
	return s->c->write_queued;
}

void http_stream_close(struct http_stream *s)
{
	struct http_conn *c = s->c;
	if (!s->response) {
		conn_finish(c);
		return;
	}
	if (s->ending || c->closed)
		return;
	s->ending = true;
	if (s->chunked)
		conn_write(c, "0\r\n\r\n", 5, NULL, NULL, 0, false);
	else
		conn_finish(c); /* the close ends it */
}

void http_stream_abort(struct http_stream *s)
{
	conn_close(s->c);
}

/* ---- requests ---------------------------------------------------------------- */

bool http_request_is_head(const struct http_request *req)
{
	return req->head;
}

const char *http_request_path(const struct http_request *req)
{
	return req->path;
}

const char *http_request_query(const struct http_request *req)
{
	return req->query;
}

int http_request_query_param(const struct http_request *req, const char *name, char *ret,
                             size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = req->query;
	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		if (plen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = plen - nlen - 1;
			if (cap == 0)
				return 0;
			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(ret, p + nlen + 1, vlen);
			ret[vlen] = '\0';
			return 0;
		}
		if (plen == nlen && strncmp(p, name, nlen) == 0) {
			if (cap)
				ret[0] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

int http_percent_decode(const char *s, size_t n, char *ret, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n || tally_hex_digit(s[i + 1]) < 0 ||
			    tally_hex_digit(s[i + 2]) < 0)
				return -EINVAL;
			c = (char)(tally_hex_digit(s[i + 1]) * 16 + tally_hex_digit(s[i + 2]));
			i += 2;
		}
		if (o + 1 >= cap || c == '\0')
			return -EINVAL;
		ret[o++] = c;
	}
	if (cap == 0)
		return -EINVAL;
	ret[o] = '\0';
	return (int)o;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	struct http_conn *c = req->c;
	for (size_t i = 0; i < c->n_hdrs; i++)
		if (strcasecmp(c->hb + c->hdr_name[i], name) == 0)
			return c->hb + c->hdr_val[i];
	return NULL;
}

const char *http_request_peer(const struct http_request *req)
{
	return req->c->peer;
}

/* ---- parsing ---------------------------------------------------------------- */

static struct http_conn *conn_of(http_parser *p)
{
	return p->data;
}

static int refuse(struct http_conn *c, int status, const char *message)
{
	c->error_status = status;
	c->error_message = message;
	return -1;
}

/* Appends a piece, starting a new NUL-terminated string when `start`. */
static int append(struct http_conn *c, bool start, const char *at, size_t len)
{
	size_t need = c->hb_len + len + 2;
	if (need > c->srv->lim.max_header_bytes)
		return refuse(c, 431, "request line and headers too large");
	if (start && c->hb_len > 0)
		c->hb[c->hb_len++] = '\0';
	memcpy(c->hb + c->hb_len, at, len);
	c->hb_len += len;
	c->hb[c->hb_len] = '\0';
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct http_conn *c = conn_of(p);
	c->hb_len = 0;
	c->n_hdrs = 0;
	c->piece = P_NONE;
	c->body_bytes = 0;
	c->in_request = true;
	c->responded = false;
	uv_timer_start(&c->timer, on_timer, c->srv->lim.request_timeout_ms, 0);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	bool start = c->piece != P_URL;
	if (start)
		c->url_off = c->hb_len ? c->hb_len + 1 : 0;
	c->piece = P_URL;
	return append(c, start, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	bool start = c->piece != P_FIELD;
	if (start) {
		if (c->n_hdrs == MAX_HEADERS)
			return refuse(c, 431, "too many header fields");
		c->hdr_name[c->n_hdrs] = c->hb_len + 1;
		c->hdr_val[c->n_hdrs] = 0;
		c->n_hdrs++;
	}
	c->piece = P_FIELD;
	return append(c, start, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	bool start = c->piece != P_VALUE;
	if (start)
		c->hdr_val[c->n_hdrs - 1] = c->hb_len + 1;
	c->piece = P_VALUE;
	return append(c, start, at, len);
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = conn_of(p);
	/* A field with no value still needs a string to point at. */
	if (append(c, true, "", 0) < 0)
		return -1;
	for (size_t i = 0; i < c->n_hdrs; i++)
		if (c->hdr_val[i] == 0)
			c->hdr_val[i] = c->hb_len;
	c->keep_alive = http_should_keep_alive(p);
	if (p->method != HTTP_GET && p->method != HTTP_HEAD)
		return refuse(c, 405, "only GET and HEAD are served");
	if (p->flags & F_CHUNKED)
		return refuse(c, 413, "request bodies are not accepted");
	if (p->content_length != ULLONG_MAX && p->content_length > c->srv->lim.max_body_bytes)
		return refuse(c, 413, "request body too large");
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	(void)at;
	c->body_bytes += len;
	if (c->body_bytes > c->srv->lim.max_body_bytes)
		return refuse(c, 413, "request body too large");
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = conn_of(p);
	struct http_request req = {.c = c, .head = p->method == HTTP_HEAD};
	char *url = c->hb + c->url_off;
	char *q = strchr(url, '?');
	if (q)
		*q++ = '\0';
	char *frag = strchr(q ? q : url, '#');
	if (frag)
		*frag = '\0';
	req.path = url;
	req.query = q ? q : "";
	c->in_request = false;
	if (url[0] != '/') {
		http_respond_error(&req, 400, "request target must be a path");
	} else {
		c->srv->handler(&req, c->srv->data);
		if (!c->responded && !c->streaming)
			http_respond_error(&req, 500, "handler gave no response");
	}
	if (c->streaming || c->closing || c->closed) {
		/* Nothing after this request is read. */
		http_parser_pause(p, 1);
		return 0;
	}
	uv_timer_start(&c->timer, on_timer, c->srv->lim.idle_timeout_ms, 0);
	return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char chunk[READ_CHUNK];
	(void)h;
	(void)suggested;
	buf->base = chunk;
	buf->len = sizeof(chunk);
}

/*
 * Keeps what follows a request whose answer streams (len <= READ_CHUNK:
 * one read's worth), to be parsed when it ends. data may lie in c->held.
 */
static int hold(struct http_conn *c, const char *data, size_t len)
{
	if (!c->held && !(c->held = malloc(READ_CHUNK)))
		return -ENOMEM;
	memmove(c->held, data, len);
	c->held_len = len;
	return 0;
}

/* Answers the requests in data, in order, until one pauses the parser. */
static void parse(struct http_conn *c, const char *data, size_t len)
{
	size_t used = http_parser_execute(&c->parser, &settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
	if (c->closed)
		return;
	if (e == HPE_PAUSED) {
		if (c->streaming && c->stream.response) {
			/* Reading resumes once the answer is sent (stream_end). */
			uv_read_stop((uv_stream_t *)&c->tcp);
			if (!c->closing && hold(c, data + used, len - used) < 0)
				conn_close(c);
		} else if (!c->streaming) {
			conn_finish(c);
		}
		return;
	}
	if (e != HPE_OK || used != len) {
		struct http_request req = {.c = c, .head = false};
		c->responded = false;
		if (c->error_status)
			http_respond_error(&req, c->error_status, c->error_message);
		else
			http_respond_error(&req, 400, http_errno_description(e));
		conn_finish(c);
	}
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = st->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->closing || c->streaming)
		return;
	parse(c, buf->base, (size_t)nread);
}

/*
 * A response stream is all written: tell its owner, then go on with the
 * requests read behind it, and read again.
 */
static void stream_end(struct http_conn *c)
{
	struct http_stream *s = &c->stream;
	c->streaming = false;
	if (s->on_close)
		s->on_close(s, s->data);
	memset(s, 0, sizeof(*s));
	if (c->closing) {
		conn_close(c);
		return;
	}
	http_parser_pause(&c->parser, 0);
	uv_timer_start(&c->timer, on_timer, c->srv->lim.idle_timeout_ms, 0);
	size_t n = c->held_len;
	c->held_len = 0;
	if (n > 0)
		parse(c, c->held, n);
	if (!c->closing && !c->closed && !c->streaming)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_dropped(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct http_server *s = server->data;
	if (status < 0)
		return;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (c)
		c->hb = malloc(s->lim.max_header_bytes);
	if (!c || !c->hb) {
		free(c);
		/* Accept and drop, or the listener would spin on this connection. */
		uv_tcp_t *t = malloc(sizeof(*t));
		if (t) {
			uv_tcp_init(s->loop, t);
			(void)uv_accept(server, (uv_stream_t *)t);
			uv_close((uv_handle_t *)t, on_dropped);
		}
		return;
	}
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	if (s->n_conns > s->lim.max_connections || s->stopping) {
		conn_close(c);
		return;
	}
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		char host[INET6_ADDRSTRLEN] = "?";
		if (ss.ss_family == AF_INET) {
			uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "%s:%d", host,
			         ntohs(((struct sockaddr_in *)&ss)->sin_port));
		} else {
			uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%d", host,
			         ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		}
	}
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->timer, on_timer, s->lim.idle_timeout_ms, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- server ---------------------------------------------------------------- */

int http_server_start(uv_loop_t *loop, const struct tally_endpoint *ep, int fd,
                      const struct http_limits *limits, http_handler_cb handler, void *data,
                      struct http_server **ret)
{
	struct http_server *s = calloc(1, sizeof(*s));
	int r;
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->lim = *limits;
	s->handler = handler;
	s->data = data;
	uv_tcp_init(loop, &s->tcp);
	s->tcp.data = s;
	s->listening = true;
	if (fd >= 0) {
		r = uv_tcp_open(&s->tcp, fd);
	} else {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		r = uv_ip4_addr(ep->host, ep->port, (struct sockaddr_in *)&ss);
		if (r < 0)
			r = uv_ip6_addr(ep->host, ep->port, (struct sockaddr_in6 *)&ss);
		if (r == 0)
			r = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
	}
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->tcp, 511, on_connection);
	if (r < 0) {
		s->stopping = true;
		http_server_stop(s);
		return r;
	}
	*ret = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

size_t http_server_connections(const struct http_server *s)
{
	return s->n_conns;
}

static void maybe_free_server(struct http_server *s)
{
	if (s->stopping && !s->listening && s->n_conns == 0)
		free(s);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	s->listening = false;
	maybe_free_server(s);
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	s->stopping = true;
	for (struct http_conn *c = s->conns; c; c = c->next)
		conn_close(c);
	if (!uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
}
