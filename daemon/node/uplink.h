/*
 * uplink.h: the node's one connection to an aggregator, and the only glue
 * between the outbox and the network. TLS 1.3 with the node's client
 * certificate over libuv TCP (tls.h works on memory BIOs); Hello, then the
 * Welcome must name our election; then a pipelined window of Submits taken
 * from the outbox in id order, each answered by an Ack (entry delivered with
 * its outcome) or a Nack (entry rejected with code and reason, never resent).
 * Entries still unanswered when a connection ends are sent again on the
 * next one; the aggregator recognizes them as duplicates.
 *
 * Failover: a failed connection moves on to the next address of the list;
 * after a whole pass fails it waits (capped exponential backoff with jitter)
 * and starts again at the first. A connection that worked and then broke
 * also starts again at the first.
 */
#ifndef TALLY_NODE_UPLINK_H
#define TALLY_NODE_UPLINK_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "outbox.h"
#include "problems.h"
#include "tally/conf.h"
#include "tally/result.h"

enum uplink_state {
	UPLINK_IDLE,       /* not started */
	UPLINK_BACKOFF,    /* waiting before the next attempt */
	UPLINK_RESOLVING,  /* looking up the host name */
	UPLINK_CONNECTING, /* TCP */
	UPLINK_TLS,        /* TLS handshake */
	UPLINK_HELLO,      /* Hello sent, waiting for Welcome */
	UPLINK_READY,      /* sending */
	UPLINK_STOPPED,    /* uplink_close() called */
};

#define UPLINK_DEFAULT_WINDOW 1024

/* Borrowed: must outlive the uplink. Zero timeouts take the defaults. */
struct uplink_config {
	const char *node_id;
	const char *region_id;
	const char *election_id;
	const struct tally_endpoints *aggregators;
	const char *server_name;
	uint32_t window;               /* in-flight Submits, default 1024 */
	uint64_t handshake_timeout_ms; /* connect + TLS + Welcome, default 10 s */
	uint64_t ping_after_ms;        /* silence before a Ping, default 15 s */
	uint64_t idle_timeout_ms;      /* silence before giving up, default 45 s */
	uint64_t backoff_min_ms;       /* first wait after a failed pass, default 1 s */
	uint64_t backoff_max_ms;       /* cap, default 30 s */
};

struct uplink_info {
	enum uplink_state state;
	bool connected;   /* READY */
	const char *host; /* current or next address */
	uint16_t port;
	char aggregator_id[TALLY_ID_MAX];
	uint64_t connected_for_ms;
	uint64_t retry_in_ms; /* in BACKOFF */
	uint32_t in_flight;
	uint64_t sent;                       /* Submits since start */
	uint64_t acked[TALLY_OUTCOME_COUNT]; /* Acks since start, by outcome */
	uint64_t nacked;                     /* Nacks since start */
};

/* What one configured aggregator is to the uplink right now. */
enum uplink_ep_state {
	UPLINK_EP_IDLE,       /* not the one in use */
	UPLINK_EP_CONNECTING, /* resolving, TCP, TLS or waiting for Welcome */
	UPLINK_EP_CONNECTED,  /* READY */
	UPLINK_EP_BACKOFF,    /* the next to try, after a wait */
};

/* One configured aggregator, for the metrics. Counts are since start. */
struct uplink_endpoint_info {
	const char *host;
	uint16_t port;
	enum uplink_ep_state state;
	uint64_t connections;   /* sessions established (Welcome received) */
	uint64_t failures;      /* attempts failed and sessions broken */
	int64_t last_answer_ms; /* wall clock of its latest Ack or Nack; 0: none yet */
};

struct uplink; /* opaque; owned by main, freed by uplink_close() */

/*
 * Starts connecting at once. Holds its own reference on ctx. `problems`
 * receives connection problems. Returns 0, -EINVAL (no aggregators), -ENOMEM.
 */
int uplink_init(uv_loop_t *loop, const struct uplink_config *cfg, SSL_CTX *ctx,
                struct outbox *outbox, struct problems *problems, struct uplink **ret);
/* New connections use ctx (SIGHUP reload); the current one goes on. */
void uplink_set_tls(struct uplink *u, SSL_CTX *ctx);
/* New entries were committed: send them if connected. */
void uplink_kick(struct uplink *u);
/* Entries from first_id on were put back in the queue (an operator's
 * resend): the connection goes back to send them, skipping those still
 * waiting for their answer. */
void uplink_resend_from(struct uplink *u, int64_t first_id);
/* Periodic work from the node's timer: timeouts and Pings. */
void uplink_tick(struct uplink *u);
void uplink_info(const struct uplink *u, struct uplink_info *ret);
/* How many aggregators are configured (the order of the configuration). */
size_t uplink_endpoints(const struct uplink *u);
/* The i-th configured aggregator; i < uplink_endpoints(u). */
void uplink_endpoint_info(const struct uplink *u, size_t i, struct uplink_endpoint_info *ret);
/* Closes the connection and handles; frees u, then calls cb (may be NULL). */
void uplink_close(struct uplink *u, void (*cb)(void *arg), void *arg);

/* The state's name for logs and the status document; "unknown" if none. */
const char *uplink_state_str(enum uplink_state s);
/* "idle", "connecting", "connected", "backoff"; "unknown" if none. */
const char *uplink_ep_state_str(enum uplink_ep_state s);

#endif
