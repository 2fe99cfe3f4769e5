/*
 * metrics.h: the node's figures for Prometheus, served as text format 0.0.4
 * on `metrics_listen` (GET /metrics; anything else is 404). What an
 * operator watching many regions needs without logging in to each: the
 * outbox by state and the age of its oldest undelivered entry, spool files
 * taken and refused, the uplink's state toward each configured aggregator
 * with its connections, failures and last answer, the signing key id, the
 * TLS certificate's expiry and the process. docs/operations.md lists every
 * metric. Read from the outbox, uplink and spool at scrape time; no state
 * of its own.
 */
#ifndef TALLY_NODE_METRICS_H
#define TALLY_NODE_METRICS_H

#include <openssl/ssl.h>
#include <stdio.h>
#include <uv.h>

#include "outbox.h"
#include "spool.h"
#include "tally/conf.h"
#include "tally/err.h"
#include "uplink.h"

/*
 * Borrowed, and read at every scrape: each must outlive the metrics server.
 * key_id and *tls follow a reload (they point into main's state).
 */
struct node_metrics_sources {
	const char *node_id;
	const char *election_id;
	const char *key_id;
	SSL_CTX *const *tls;
	struct outbox *outbox;
	const struct uplink *uplink;
	const struct spool *spool;
};

/* Writes the exposition to f. 0, or the outbox's error, or -EIO when f failed. */
int node_metrics_write(const struct node_metrics_sources *src, FILE *f);

struct node_metrics; /* opaque; owned by main */

/*
 * Serves GET /metrics on ep. 0, or a negative errno (err says which
 * address and why, e.g. the port is taken).
 */
int node_metrics_start(uv_loop_t *loop, const struct tally_endpoint *ep,
                       const struct node_metrics_sources *src, struct node_metrics **ret,
                       struct tally_err *err);
/* The bound port. */
int node_metrics_port(const struct node_metrics *m);
/* Stops listening and closes every connection; frees m once closed. Takes NULL. */
void node_metrics_stop(struct node_metrics *m);

#endif
