/*
 * conf.h: the node's configuration file (INI), the operators' contract:
 *
 *   [node]
 *   id = node-KZ-71
 *   region = KZ-71
 *   election = election.json
 *   state_dir = /var/lib/tally-node       (the outbox database)
 *   spool_dir = /var/spool/tally          (drop folder for protocol files)
 *   control_socket = /run/tally-node/control.sock
 *   signing_key = sign.key                (Ed25519 private key, PEM)
 *   aggregators = central-1:7443, central-2:7443
 *   log_level = info                      (optional)
 *   window = 1024                         (optional: Submits in flight)
 *   metrics_listen = 127.0.0.1:9465       (optional: Prometheus /metrics; off when unset)
 *   [tls]
 *   ca = ca.pem
 *   cert = node.pem
 *   key = node.key
 *   server_name = aggregator.example      (optional: each address's host)
 *
 * Paths are relative to the config file's folder; signing_key and the tls
 * files are looked up in $CREDENTIALS_DIRECTORY first (LoadCredential=).
 */
#ifndef TALLY_NODE_CONF_H
#define TALLY_NODE_CONF_H

#include <stdint.h>

#include "tally/conf.h"
#include "tally/err.h"

struct node_conf {
	char *id;
	char *region;
	char *election;
	char *state_dir;
	char *spool_dir;
	char *control_socket;
	char *signing_key;
	struct tally_endpoints aggregators;
	char *log_level;
	uint32_t window;
	struct tally_endpoint metrics_listen; /* port 0: not set, no metrics served */
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *server_name; /* NULL: check each address's host name */
};

/*
 * Loads and checks path. Returns 0, or a negative errno with err naming the
 * file, line, key and value. Release with node_conf_free() either way.
 */
int node_conf_load(const char *path, struct node_conf *ret, struct tally_err *err);
void node_conf_free(struct node_conf *c);

#endif
