/*
 * http_client.c: one GET per connection over plain TCP, for tallyctl. It
 * owns the socket, the deadline and the response parsing (libhttp-parser in
 * HTTP_RESPONSE mode, which undoes chunked encoding and honours
 * Content-Length or end-of-connection bodies). Blocking I/O bounded by poll():
 * a command-line tool has nothing else to do while it waits. What the body
 * means is left to the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "http_client.h"

/* A response body bigger than this is refused: no aggregator page is near it. */
#define BODY_MAX (512u * 1024 * 1024)
/* How long a stream may stay silent before it counts as dead. */
#define STREAM_IDLE_MS (120 * 1000)
#define CONNECT_MS     (10 * 1000)

struct url {
	char host[256];
	char port[8];
	char prefix[512]; /* path prefix without trailing '/', maybe "" */
	char host_header[300];
};

/* One exchange: parser state and what the callbacks collected. */
struct exchange {
	http_parser parser;
	/* Buffered mode: the whole body. */
	char *body;
	size_t len, cap;
	/* Stream mode: hand 2xx bodies to cb as they come. */
	http_chunk_cb cb;
	void *arg;
	int cb_ret;
	bool complete;
	bool too_big;
};

static int parse_url(const char *s, struct url *u, struct tally_err *err)
{
	const char *p, *host, *host_end, *port = NULL, *path;
	size_t hl, pl;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "http://", 7) != 0)
		return tally_err_set(err, -EINVAL, "URL '%s' does not start with http://", s);
	p = s + 7;
	if (*p == '[') {
		host = p + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL)
			return tally_err_set(err, -EINVAL, "URL '%s': no ']' after IPv6 address",
			                     s);
		p = host_end + 1;
	} else {
		host = p;
		while (*p != '\0' && *p != ':' && *p != '/')
			p++;
		host_end = p;
	}
	if (*p == ':') {
		port = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == port || p - port > 5)
			return tally_err_set(err, -EINVAL, "URL '%s': bad port", s);
	}
	if (*p != '\0' && *p != '/')
		return tally_err_set(err, -EINVAL, "URL '%s': unexpected '%c' after host", s, *p);
	path = p;
	hl = (size_t)(host_end - host);
	if (hl == 0 || hl >= sizeof(u->host))
		return tally_err_set(err, -EINVAL, "URL '%s': bad host", s);
	memcpy(u->host, host, hl);
	if (port != NULL)
		memcpy(u->port, port, (size_t)(path - port));
	else
		strcpy(u->port, "80");
	/* The base URL may carry a path prefix; join without doubling '/'. */
	pl = strlen(path);
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	if (pl >= sizeof(u->prefix))
		return tally_err_set(err, -EINVAL, "URL '%s': path too long", s);
	memcpy(u->prefix, path, pl);
	if (strchr(u->host, ':') != NULL)
		snprintf(u->host_header, sizeof(u->host_header), "[%s]:%s", u->host, u->port);
	else
		snprintf(u->host_header, sizeof(u->host_header), "%s:%s", u->host, u->port);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (never negative); -1 means no deadline. */
static int remaining(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* Waits for `events` on fd; 0, -ETIMEDOUT, or a negative errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

static int connect_to(const struct url *u, long long deadline, int *ret_fd, struct tally_err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	struct addrinfo *res = NULL, *ai;
	int r, last = -ECONNREFUSED;

	r = getaddrinfo(u->host, u->port, &hints, &res);
	if (r != 0)
		return tally_err_set(err, -EHOSTUNREACH, "cannot resolve '%s': %s", u->host,
		                     gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last = -errno;
			close(fd);
			continue;
		}
		r = wait_fd(fd, POLLOUT, remaining(deadline));
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr == 0) {
			*ret_fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		last = r < 0 ? r : -(soerr != 0 ? soerr : ECONNREFUSED);
		close(fd);
		if (last == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return tally_err_set(err, last, "cannot connect to %s: %s", u->host_header,
	                     last == -ETIMEDOUT ? "timed out" : strerror(-last));
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = wait_fd(fd, POLLOUT, remaining(deadline));
			if (r < 0)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct exchange *x = p->data;

	if (x->cb != NULL && p->status_code / 100 == 2) {
		x->cb_ret = x->cb(at, len, x->arg);
		return x->cb_ret != 0;
	}
	/* Buffered (and non-2xx stream bodies, for the error message). */
	if (x->cb != NULL && x->len + len > 4096)
		len = x->len < 4096 ? 4096 - x->len : 0;
	if (x->len + len + 1 > BODY_MAX) {
		x->too_big = true;
		return 1;
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		char *b;

		while (cap < x->len + len + 1)
			cap *= 2;
		b = realloc(x->body, cap);
		if (b == NULL)
			return 1;
		x->body = b;
		x->cap = cap;
	}
	memcpy(x->body + x->len, at, len);
	x->len += len;
	x->body[x->len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct exchange *x = p->data;

	x->complete = true;
	/* One response per connection: stop here, whatever follows. */
	return 1;
}

/*
 * Sends the request and feeds the answer to the parser until the message is
 * complete, the callback stops it, or the deadline / idle limit passes.
 */
static int exchange_run(struct exchange *x, const struct url *u, const char *path,
                        const char *extra_header, long long deadline, int idle_ms,
                        struct tally_err *err)
{
	static const http_parser_settings settings = {
	    .on_body = on_body,
	    .on_message_complete = on_message_complete,
	};
	char req[2048], buf[65536];
	int fd = -1, r;
	bool eof = false;

	if (path[0] != '/')
		return tally_err_set(err, -EINVAL, "path '%s' does not start with '/'", path);
	r = snprintf(req, sizeof(req),
	             "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tallyctl\r\n"
	             "Accept: */*\r\nConnection: close\r\n%s\r\n",
	             u->prefix, path, u->host_header, extra_header ? extra_header : "");
	if (r < 0 || (size_t)r >= sizeof(req))
		return tally_err_set(err, -EINVAL, "request for '%s' too long", path);
	r = connect_to(u, deadline < 0 ? now_ms() + CONNECT_MS : deadline, &fd, err);
	if (r < 0)
		return r;
	r = send_all(fd, req, strlen(req), deadline < 0 ? now_ms() + CONNECT_MS : deadline);
	if (r < 0) {
		tally_err_set(err, r, "sending to %s: %s", u->host_header, strerror(-r));
		goto out;
	}
	http_parser_init(&x->parser, HTTP_RESPONSE);
	x->parser.data = x;
	while (!x->complete && !eof) {
		int wait = remaining(deadline);
		ssize_t n;
		size_t used;

		if (idle_ms >= 0 && (wait < 0 || wait > idle_ms))
			wait = idle_ms;
		r = wait_fd(fd, POLLIN, wait);
		if (r < 0) {
			tally_err_set(err, r, "reading from %s: %s", u->host_header,
			              r == -ETIMEDOUT ? "timed out" : strerror(-r));
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			r = -errno;
			tally_err_set(err, r, "reading from %s: %s", u->host_header, strerror(-r));
			goto out;
		}
		eof = n == 0;
		/* At EOF, a zero-length execute tells the parser the body ended. */
		used = http_parser_execute(&x->parser, &settings, buf, (size_t)n);
		if (x->complete || (x->cb_ret != 0))
			break;
		if (x->too_big) {
			r = tally_err_set(err, -EPROTO, "response from %s to '%s' exceeds %u bytes",
			                  u->host_header, path, BODY_MAX);
			goto out;
		}
		if (HTTP_PARSER_ERRNO(&x->parser) != HPE_OK || used != (size_t)n) {
			r = tally_err_set(err, -EPROTO, "bad HTTP response from %s to '%s': %s",
			                  u->host_header, path,
			                  http_errno_description(HTTP_PARSER_ERRNO(&x->parser)));
			goto out;
		}
	}
	if (!x->complete && x->cb_ret == 0) {
		r = tally_err_set(err, -EPROTO,
		                  "%s closed the connection before the response to '%s' ended",
		                  u->host_header, path);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int http_get(const char *base_url, const char *path, int timeout_ms, char **ret_body,
             size_t *ret_len, int *ret_status, struct tally_err *err)
{
	struct exchange x = {0};
	struct url u;
	int r;

	r = parse_url(base_url, &u, err);
	if (r < 0)
		return r;
	r = exchange_run(&x, &u, path, NULL, now_ms() + (timeout_ms > 0 ? timeout_ms : 30000), -1,
	                 err);
	if (r < 0)
		goto fail;
	if (x.body == NULL) {
		x.body = strdup("");
		if (x.body == NULL) {
			r = -ENOMEM;
			goto fail;
		}
	}
	*ret_body = x.body;
	if (ret_len != NULL)
		*ret_len = x.len;
	*ret_status = x.parser.status_code;
	return 0;
fail:
	free(x.body);
	return r;
}

int http_stream(const char *base_url, const char *path, const char *last_event_id, http_chunk_cb cb,
                void *arg, struct tally_err *err)
{
	struct exchange x = {.cb = cb, .arg = arg};
	char header[256] = "";
	struct url u;
	int r;

	r = parse_url(base_url, &u, err);
	if (r < 0)
		return r;
	if (last_event_id != NULL) {
		/* A header value must not smuggle a line break into the request. */
		if (strpbrk(last_event_id, "\r\n") != NULL || strlen(last_event_id) > 200)
			return tally_err_set(err, -EINVAL, "bad Last-Event-ID");
		snprintf(header, sizeof(header), "Last-Event-ID: %s\r\n", last_event_id);
	}
	r = exchange_run(&x, &u, path, header, -1, STREAM_IDLE_MS, err);
	if (r < 0)
		goto out;
	if (x.cb_ret != 0) {
		r = x.cb_ret;
		goto out;
	}
	if (x.parser.status_code / 100 != 2) {
		r = tally_err_set(err, -EPROTO, "GET %s from %s: HTTP %u %s", path, u.host_header,
		                  x.parser.status_code, x.body ? x.body : "");
		goto out;
	}
	r = 0;
out:
	free(x.body);
	return r;
}
