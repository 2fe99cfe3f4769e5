/*
 * test_http_client.c: tallyctl's HTTP client against a canned server on a
 * loopback port picked by the kernel: Content-Length, chunked and
 * close-delimited bodies, error statuses, a server that never answers, a
 * refused connection, bad URLs, and streaming with early stop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cli/http_client.h"

struct server {
	int lfd;
	int port;
	const char *reply; /* sent after the request head; NULL = say nothing */
	int hold_ms;       /* keep the connection open this long after replying */
	char request[4096];
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	size_t got = 0;

	if (fd < 0)
		return NULL;
	/* Read the request head. */
	while (got < sizeof(s->request) - 1) {
		ssize_t n = recv(fd, s->request + got, sizeof(s->request) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		s->request[got] = '\0';
		if (strstr(s->request, "\r\n\r\n") != NULL)
			break;
	}
	if (s->reply != NULL) {
		size_t len = strlen(s->reply);

		/* In small pieces, so the parser sees split headers and chunks. */
		for (size_t off = 0; off < len; off += 7) {
			size_t n = len - off < 7 ? len - off : 7;

			if (send(fd, s->reply + off, n, MSG_NOSIGNAL) < 0)
				break;
		}
	}
	if (s->hold_ms > 0)
		usleep((useconds_t)s->hold_ms * 1000);
	close(fd);
	return NULL;
}

static void server_start(struct server *s, const char *reply, int hold_ms)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->reply = reply;
	s->hold_ms = hold_ms;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->lfd, 0);
	cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s->lfd, 4), 0);
	cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

static void url_of(const struct server *s, char *buf, size_t n)
{
	snprintf(buf, n, "http://127.0.0.1:%d", s->port);
}

Test(http_client, content_length_body)
{
	struct server s;
	struct tally_err err = {{0}};
	char url[64], *body = NULL;
	size_t len = 0;
	int status = 0;

	server_start(&s,
	             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	             "Content-Length: 13\r\n\r\n{\"sequence\":7}",
	             300);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_get(url, "/v1/totals", 5000, &body, &len, &status, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(status, 200);
	cr_assert_eq(len, 13);
	cr_assert_str_eq(body, "{\"sequence\":7");
	server_stop(&s);
	cr_assert_not_null(strstr(s.request, "GET /v1/totals HTTP/1.1\r\n"));
	cr_assert_not_null(strstr(s.request, "Host: 127.0.0.1:"));
	free(body);
}

Test(http_client, chunked_body_is_reassembled)
{
	struct server s;
	struct tally_err err = {{0}};
	char url[64], *body = NULL;
	size_t len = 0;
	int status = 0;

	server_start(&s,
	             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	             "5\r\nhello\r\n1\r\n \r\nb\r\nwide world!\r\n0\r\n\r\n",
	             300);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_get(url, "/x", 5000, &body, &len, &status, &err), 0, "%s", err.msg);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(body, "hello wide world!");
	cr_assert_eq(len, 17);
	server_stop(&s);
	free(body);
}

Test(http_client, body_until_close_and_base_path_prefix)
{
	struct server s;
	struct tally_err err = {{0}};
	char url[96], *body = NULL;
	int status = 0;

	server_start(&s, "HTTP/1.0 404 Not Found\r\n\r\n{\"error\":\"no such precinct\"}", 0);
	snprintf(url, sizeof(url), "http://localhost:%d/tally/", s.port);
	cr_assert_eq(http_get(url, "/v1/precincts/9", 5000, &body, NULL, &status, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(status, 404);
	cr_assert_str_eq(body, "{\"error\":\"no such precinct\"}");
	server_stop(&s);
	cr_assert_not_null(strstr(s.request, "GET /tally/v1/precincts/9 HTTP/1.1\r\n"));
	free(body);
}

Test(http_client, silent_server_times_out)
{
	struct server s;
	struct tally_err err = {{0}};
	char url[64], *body = NULL;
	int status = 0;

	server_start(&s, NULL, 1500);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_get(url, "/v1/totals", 300, &body, NULL, &status, &err), -ETIMEDOUT);
	cr_assert_not_null(strstr(err.msg, "timed out"), "%s", err.msg);
	cr_assert_null(body);
	server_stop(&s);
}

Test(http_client, truncated_response_is_an_error)
{
	struct server s;
	struct tally_err err = {{0}};
	char url[64], *body = NULL;
	int status = 0;

	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 0);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_get(url, "/", 5000, &body, NULL, &status, &err), -EPROTO);
	cr_assert_null(body);
	server_stop(&s);
}

Test(http_client, refused_connection_and_bad_urls)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct tally_err err = {{0}};
	char url[64], *body = NULL;
	int fd, status;

	/* A port that was free a moment ago and has no listener now. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	cr_assert_eq(http_get(url, "/", 2000, &body, NULL, &status, &err), -ECONNREFUSED, "%s",
	             err.msg);

	cr_assert_eq(http_get("https://x:1", "/", 100, &body, NULL, &status, &err), -EINVAL);
	cr_assert_eq(http_get("http://[::1:80", "/", 100, &body, NULL, &status, &err), -EINVAL);
	cr_assert_eq(http_get("http://:80", "/", 100, &body, NULL, &status, &err), -EINVAL);
	cr_assert_eq(http_get("http://h:8x", "/", 100, &body, NULL, &status, &err), -EINVAL);
	cr_assert_null(body);
}

struct collected {
	char buf[256];
	size_t len;
	int stop_after; /* stop when this many bytes came */
};

static int collect(const char *data, size_t len, void *arg)
{
	struct collected *c = arg;

	if (c->len + len < sizeof(c->buf)) {
		memcpy(c->buf + c->len, data, len);
		c->len += len;
	}
	if (c->stop_after > 0 && c->len >= (size_t)c->stop_after)
		return 42;
	return 0;
}

Test(http_client, stream_delivers_chunks_and_stops_on_request)
{
	struct server s;
	struct tally_err err = {{0}};
	struct collected c = {.stop_after = 31};
	char url[64];

	/* The server keeps the connection open: only the callback can end it. */
	server_start(&s,
	             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n"
	             "e\r\nevent: totals\n\r\n11\r\ndata: {\"seq\":1}\n\n\r\n",
	             3000);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_stream(url, "/v1/events", "17", collect, &c, &err), 42, "%s", err.msg);
	c.buf[c.len] = '\0';
	cr_assert_str_eq(c.buf, "event: totals\ndata: {\"seq\":1}\n\n");
	server_stop(&s);
	cr_assert_not_null(strstr(s.request, "Last-Event-ID: 17\r\n"));
}

Test(http_client, stream_ends_when_server_closes_and_reports_errors)
{
	struct server s;
	struct tally_err err = {{0}};
	struct collected c = {0};
	char url[64];

	server_start(&s, "HTTP/1.1 200 OK\r\n\r\ndata: x\n\n", 0);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_stream(url, "/v1/events", NULL, collect, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.len, 9);
	server_stop(&s);

	memset(&c, 0, sizeof(c));
	server_start(&s, "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", 0);
	url_of(&s, url, sizeof(url));
	cr_assert_eq(http_stream(url, "/v1/events", NULL, collect, &c, &err), -EPROTO);
	cr_assert_not_null(strstr(err.msg, "503"), "%s", err.msg);
	cr_assert_eq(c.len, 0);
	server_stop(&s);
	cr_assert_eq(http_stream(url, "/v1/events", "a\r\nX: y", collect, &c, &err), -EINVAL);
}
