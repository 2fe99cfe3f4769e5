/*
 * listener.h: the TLS port's listening socket (listener.c).
 */
#ifndef TALLY_AGG_LISTENER_H
#define TALLY_AGG_LISTENER_H

#include "aggregator.h"

/*
 * Listens on ep, or on the inherited socket fd when fd >= 0 (socket
 * activation). 0 or -errno with err naming the address.
 */
int listener_start(struct aggregator *a, const struct tally_endpoint *ep, int fd,
                   struct listener **ret, struct tally_err *err);
int listener_port(const struct listener *l);
/* Stops accepting; frees once closed. Takes NULL. */
void listener_stop(struct listener *l);

/* Resolves host:port for bind (numeric or a name, first address). */
int listener_resolve(uv_loop_t *loop, const struct tally_endpoint *ep,
                     struct sockaddr_storage *ret);

#endif
