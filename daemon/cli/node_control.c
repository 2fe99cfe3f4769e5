/*
 * node_control.c: the client end of a node's control socket (see
 * node_control.h). It owns connecting, framing by newline and the timeout;
 * what the requests mean is cmd_submit.c's and cmd_status.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "node_control.h"

int node_control_connect(const char *path, char *err, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = NODE_CONTROL_TIMEOUT_S};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, cap, "socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, cap, "cannot connect to '%s': %s (is tally-node running?)", path,
		         strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

json_t *node_control_ask(int fd, const json_t *req, char *err, size_t cap)
{
	char *text = json_dumps(req, JSON_COMPACT), *buf = NULL, *nl = NULL;
	size_t len = 0, size = 0;
	json_error_t jerr;
	json_t *answer = NULL;
	int e;

	if (!text) {
		snprintf(err, cap, "cannot encode the request");
		return NULL;
	}
	e = send_all(fd, text, strlen(text));
	if (e == 0)
		e = send_all(fd, "\n", 1);
	free(text);
	if (e < 0) {
		snprintf(err, cap, "sending to the node: %s", strerror(-e));
		return NULL;
	}
	while (!nl) {
		ssize_t n;
		if (len + 65536 > size) {
			char *b;
			if (size >= NODE_CONTROL_MAX_ANSWER) {
				snprintf(err, cap, "the node's answer is longer than %u bytes",
				         NODE_CONTROL_MAX_ANSWER);
				goto out;
			}
			b = realloc(buf, size + 65536 + 1);
			if (!b) {
				snprintf(err, cap, "out of memory");
				goto out;
			}
			buf = b;
			size += 65536;
		}
		n = recv(fd, buf + len, size - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, cap, "reading the node's answer: %s",
			         errno == EAGAIN ? "no answer within the timeout"
			                         : strerror(errno));
			goto out;
		}
		if (n == 0) {
			snprintf(err, cap, "the node closed the connection without answering");
			goto out;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	answer = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
	if (!answer || !json_is_object(answer)) {
		snprintf(err, cap, "the node's answer is not a JSON object: %s", jerr.text);
		json_decref(answer);
		answer = NULL;
	}
out:
	free(buf);
	return answer;
}

json_t *node_control_call(const char *path, json_t *req, char *err, size_t cap)
{
	json_t *answer = NULL;
	int fd;

	if (!req) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	fd = node_control_connect(path, err, cap);
	if (fd >= 0) {
		answer = node_control_ask(fd, req, err, cap);
		close(fd);
	}
	json_decref(req);
	return answer;
}
