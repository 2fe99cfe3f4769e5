/*
 * listener.c: the TLS port for regional nodes. It owns the listening socket
 * and the cap on open sessions: past max_sessions a connection is accepted
 * and closed at once, so a flood cannot exhaust descriptors or memory.
 * Sessions themselves are session.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"
#include "session.h"
#include "tally/log.h"

struct listener {
	struct aggregator *a;
	uv_tcp_t tcp;
	uint64_t refused_logged_ms;
};

int listener_resolve(uv_loop_t *loop, const struct tally_endpoint *ep, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (uv_ip4_addr(ep->host, ep->port, (struct sockaddr_in *)ret) == 0)
		return 0;
	if (uv_ip6_addr(ep->host, ep->port, (struct sockaddr_in6 *)ret) == 0)
		return 0;
	uv_getaddrinfo_t req;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	char port[8];
	snprintf(port, sizeof(port), "%u", ep->port);
	int r = uv_getaddrinfo(loop, &req, NULL, ep->host, port, &hints);
	if (r < 0)
		return r;
	memcpy(ret, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return 0;
}

static void on_drop_close(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct aggregator *a = l->a;
	if (status < 0) {
		log_warning("accepting on the node port: %s", uv_strerror(status));
		return;
	}
	if (a->stopping || a->stats.sessions_open >= a->conf.max_sessions) {
		uv_tcp_t *t = malloc(sizeof(*t));
		if (!t)
			return;
		uv_tcp_init(a->loop, t);
		if (uv_accept(server, (uv_stream_t *)t) == 0) {
			a->stats.sessions_refused++;
			uint64_t now = uv_now(a->loop);
			/* Once a minute at most: a flood must not flood the journal. */
			if (!a->stopping && now - l->refused_logged_ms >= 60000) {
				l->refused_logged_ms = now;
				log_warning("refusing node connections: %" PRIu32
				            " sessions open (max_sessions); %" PRIu64
				            " refused so far",
				            a->stats.sessions_open, a->stats.sessions_refused);
			}
		}
		uv_close((uv_handle_t *)t, on_drop_close);
		return;
	}
	session_start(a, server);
}

static void on_listener_closed(uv_handle_t *h)
{
	free(h->data);
}

int listener_start(struct aggregator *a, const struct tally_endpoint *ep, int fd,
                   struct listener **ret, struct tally_err *err)
{
	struct listener *l = calloc(1, sizeof(*l));
	struct sockaddr_storage ss;
	int r;
	if (!l)
		return -ENOMEM;
	l->a = a;
	uv_tcp_init(a->loop, &l->tcp);
	l->tcp.data = l;
	if (fd >= 0) {
		r = uv_tcp_open(&l->tcp, fd);
	} else {
		r = listener_resolve(a->loop, ep, &ss);
		if (r == 0)
			r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
	}
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
	if (r < 0) {
		tally_err_set(err, r, "listen = %s:%u: %s", ep->host, ep->port, uv_strerror(r));
		uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
		return r;
	}
	*ret = l;
	return 0;
}

int listener_port(const struct listener *l)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void listener_stop(struct listener *l)
{
	if (!l)
		return;
	uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}
