/*
 * conf.c: the node's configuration keys as a table for the shared loader
 * (tally/conf.h), plus the checks the table cannot express. Loading the
 * files the keys name (election, keys, certificates) is main.c's.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "conf.h"
#include "tally/log.h"

#define KEY(sec, name, type, field, req, def)                                                      \
	{                                                                                          \
		sec, name, type, offsetof(struct node_conf, field), req, def, 0, 0                 \
	}

static const struct tally_conf_key keys[] = {
    KEY("node", "id", TALLY_CONF_STRING, id, true, NULL),
    KEY("node", "region", TALLY_CONF_STRING, region, true, NULL),
    KEY("node", "election", TALLY_CONF_PATH, election, true, NULL),
    KEY("node", "state_dir", TALLY_CONF_PATH, state_dir, true, NULL),
    KEY("node", "spool_dir", TALLY_CONF_PATH, spool_dir, true, NULL),
    KEY("node", "control_socket", TALLY_CONF_PATH, control_socket, true, NULL),
    KEY("node", "signing_key", TALLY_CONF_CREDENTIAL, signing_key, true, NULL),
    KEY("node", "aggregators", TALLY_CONF_ENDPOINTS, aggregators, true, NULL),
    KEY("node", "log_level", TALLY_CONF_STRING, log_level, false, "info"),
    {"node", "window", TALLY_CONF_U32, offsetof(struct node_conf, window), false, "1024", 1, 4096},
    KEY("node", "metrics_listen", TALLY_CONF_ENDPOINT, metrics_listen, false, NULL),
    KEY("tls", "ca", TALLY_CONF_CREDENTIAL, tls_ca, true, NULL),
    KEY("tls", "cert", TALLY_CONF_CREDENTIAL, tls_cert, true, NULL),
    KEY("tls", "key", TALLY_CONF_CREDENTIAL, tls_key, true, NULL),
    KEY("tls", "server_name", TALLY_CONF_STRING, server_name, false, NULL),
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

int node_conf_load(const char *path, struct node_conf *ret, struct tally_err *err)
{
	enum tally_log_level level;
	int e;

	memset(ret, 0, sizeof(*ret));
	e = tally_conf_load(path, keys, N_KEYS, ret, err);
	if (e < 0)
		return e;
	if (strlen(ret->id) == 0 || strlen(ret->id) >= 64)
		return tally_err_set(err, -EINVAL,
		                     "%s: [node] id = '%s': expected 1 to 63 characters", path,
		                     ret->id);
	if (strlen(ret->region) == 0 || strlen(ret->region) >= 64)
		return tally_err_set(err, -EINVAL,
		                     "%s: [node] region = '%s': expected 1 to 63 characters", path,
		                     ret->region);
	if (ret->aggregators.n == 0)
		return tally_err_set(
		    err, -EINVAL, "%s: [node] aggregators: expected at least one host:port", path);
	if (tally_log_level_parse(ret->log_level, &level) < 0)
		return tally_err_set(err, -EINVAL,
		                     "%s: [node] log_level = '%s': expected err, warning, notice, "
		                     "info or debug",
		                     path, ret->log_level);
	if (ret->server_name && ret->server_name[0] == '\0')
		return tally_err_set(err, -EINVAL, "%s: [tls] server_name: empty", path);
	return 0;
}

void node_conf_free(struct node_conf *c)
{
	tally_conf_free(keys, N_KEYS, c);
	memset(c, 0, sizeof(*c));
}
