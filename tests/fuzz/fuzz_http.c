/*
 * fuzz_http.c: the aggregator's HTTP server (include/tally/http.h) on
 * arbitrary request bytes. http.h has no parser entry of its own, so the
 * target runs the real server on a private libuv loop on 127.0.0.1 and, per
 * input, connects, writes the bytes in two pieces (split where the first
 * byte says), half-closes, and pumps the loop until the server has
 * answered and closed the connection. The handler uses every request
 * accessor and answers in one of the ways the contract allows (plain, JSON,
 * error, shared body, event stream, response stream), chosen by the path.
 *
 * Checked: no sanitizer report; every answer starts with "HTTP/1.1 " and a
 * three-digit status; the connection always ends (no input can pin it
 * open once the client is gone); nothing outlives its input.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "tally/http.h"
#include "fuzz_common.h"

static uv_loop_t loop;
static struct http_server *server;
static int port;

static void on_stream_closed(struct http_stream *s, void *data)
{
	(void)s;
	(void)data;
}

/* A response stream of three pieces, one per drain; its counter is freed on close. */
static void on_answer_drain(struct http_stream *s, void *data)
{
	unsigned *left = data;
	if (*left == 0)
		return;
	if (http_stream_write(s, "piece\n", 6) == 0 && --*left == 0)
		http_stream_close(s);
}

static void on_answer_closed(struct http_stream *s, void *data)
{
	(void)s;
	free(data);
}

static void handle(struct http_request *req, void *data)
{
	const char *path = http_request_path(req);
	const char *ua = http_request_header(req, "User-Agent");
	char param[32];
	json_t *doc;

	(void)data;
	CHECK(path != NULL);
	CHECK(http_request_query(req) != NULL);
	CHECK(http_request_peer(req) != NULL);
	if (http_request_query_param(req, "a", param, sizeof(param)) == 0)
		CHECK_STR(param, sizeof(param));
	(void)http_request_is_head(req);

	if (strncmp(path, "/json", 5) == 0) {
		doc = json_pack("{s:s, s:s?}", "path", path, "ua", ua);
		if (doc == NULL) { /* path not valid UTF-8: jansson refuses */
			http_respond_error(req, 400, "bad path");
			return;
		}
		http_respond_json(req, 200, doc);
		json_decref(doc);
	} else if (strncmp(path, "/stream", 7) == 0) {
		struct http_stream *s = NULL;
		if (http_stream_begin(req, 200, "text/event-stream", NULL, on_stream_closed, NULL,
		                      &s) == 0) {
			http_stream_write(s, "data: 1\n\n", 9);
			http_stream_close(s);
		}
	} else if (strncmp(path, "/chunked", 8) == 0) {
		struct http_stream *s = NULL;
		unsigned *left = malloc(sizeof(*left));
		CHECK(left != NULL);
		*left = 3;
		int r = http_respond_stream(req, 200, "text/plain", NULL, on_answer_drain,
		                            on_answer_closed, left, &s);
		if (r == -ENOBUFS || r == -EINVAL || r == -EALREADY)
			free(left); /* no stream was made */
	} else if (strncmp(path, "/body", 5) == 0) {
		struct http_body *b = http_body_from("shared\n", 7);
		CHECK(b != NULL);
		http_respond_body(req, 200, "text/plain", "X-Test: 1\r\n", b);
		http_body_unref(b);
	} else if (strcmp(path, "/") == 0) {
		http_respond(req, 200, "text/plain", NULL, "ok\n", 3);
	} else {
		http_respond_error(req, 404, "no such path");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tally_endpoint ep = {"127.0.0.1", 0};
	struct http_limits lim;

	(void)argc;
	(void)argv;
	CHECK(uv_loop_init(&loop) == 0);
	http_limits_default(&lim);
	lim.max_connections = 8;
	lim.request_timeout_ms = 2000;
	lim.idle_timeout_ms = 2000;
	CHECK(http_server_start(&loop, &ep, -1, &lim, handle, NULL, &server) == 0);
	port = http_server_port(server);
	CHECK(port > 0);
	return 0;
}

/* Runs the loop once without blocking, then waits up to ms on the client. */
static void pump(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	uv_run(&loop, UV_RUN_NOWAIT);
	if (fd >= 0)
		poll(&p, 1, ms);
	else
		poll(NULL, 0, ms);
	uv_run(&loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	size_t split, sent = 0, got = 0;
	char reply[1 << 16];
	bool eof = false;
	int fd, i;

	/*
	 * No request bytes at all: the server keeps such a connection until its
	 * idle timeout, which only slows the fuzzer down.
	 */
	if (size < 2)
		return 0;
	split = 1 + (size > 1 ? data[0] % (size - 1) : 0);
	data++;
	size--;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		CHECK(errno == EINPROGRESS);

	/* Write (two pieces), read whatever comes, until the server closes. */
	for (i = 0; i < 4200 && !eof; i++) {
		if (sent < size) {
			size_t want = sent < split ? split - sent : size - sent;
			ssize_t n = send(fd, data + sent, want < size - sent ? want : size - sent,
			                 MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != ENOTCONN)
				sent = size; /* the server closed early: fine */
			if (sent == size)
				shutdown(fd, SHUT_WR);
		}
		/* Loopback delivers at once: spin first, sleep only for slow cases. */
		pump(fd, i < 200 ? 0 : 1);
		for (;;) {
			ssize_t n = recv(fd, reply + (got < 64 ? got : 64), sizeof(reply) - 64, 0);
			if (n > 0) {
				got += (size_t)n;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = true;
			break;
		}
	}
	if (got >= 12) {
		CHECK(memcmp(reply, "HTTP/1.1 ", 9) == 0);
		CHECK(reply[9] >= '1' && reply[9] <= '5');
	}
	/* A half-closed client must never pin a connection open. */
	CHECK(eof);
	close(fd);
	for (i = 0; i < 400 && http_server_connections(server) > 0; i++)
		pump(-1, i < 200 ? 0 : 1);
	CHECK(http_server_connections(server) == 0);
	return 0;
}
