/*
 * conf.c: the aggregator's configuration keys, their defaults and limits,
 * as one table for the shared loader (tally/conf.h). It owns the meaning of
 * each key; the loader owns parsing and the error messages.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "aggregator.h"
#include "tally/frame.h"

#define KEY(sec, name, type, field, req, def)                                                      \
	{                                                                                          \
		sec, name, type, offsetof(struct agg_conf, field), req, def, 0, 0                  \
	}
#define U32(sec, name, field, def, lo, hi)                                                         \
	{                                                                                          \
		sec, name, TALLY_CONF_U32, offsetof(struct agg_conf, field), false, def, lo, hi    \
	}

static const struct tally_conf_key agg_keys[] = {
    KEY("aggregator", "id", TALLY_CONF_STRING, id, true, NULL),
    KEY("aggregator", "election", TALLY_CONF_PATH, election, true, NULL),
    KEY("aggregator", "state_dir", TALLY_CONF_PATH, state_dir, true, NULL),
    KEY("aggregator", "listen", TALLY_CONF_ENDPOINT, listen, true, NULL),
    KEY("aggregator", "http_listen", TALLY_CONF_ENDPOINT, http_listen, true, NULL),
    KEY("aggregator", "trusted_keys", TALLY_CONF_PATH, trusted_keys, true, NULL),
    U32("aggregator", "max_frame_bytes", max_frame_bytes, "65536", 1024, 16777216),
    KEY("aggregator", "log_level", TALLY_CONF_STRING, log_level, false, "info"),
    U32("aggregator", "max_sessions", max_sessions, "1024", 1, 100000),
    U32("aggregator", "max_inflight", max_inflight, "4096", 1, 1000000),
    U32("aggregator", "write_queue_bytes", write_queue_bytes, "4194304", 65536, 1073741824),
    U32("aggregator", "handshake_timeout", handshake_timeout, "10", 1, 3600),
    U32("aggregator", "idle_timeout", idle_timeout, "120", 1, 86400),
    U32("aggregator", "commit_retry", commit_retry, "2", 1, 3600),
    U32("aggregator", "max_conflict_copies", max_conflict_copies, "8", 1, 1000),
    U32("http", "max_connections", http_max_connections, "512", 1, 100000),
    U32("http", "idle_timeout", http_idle_timeout, "30", 1, 3600),
    U32("http", "request_timeout", http_request_timeout, "10", 1, 3600),
    KEY("log", "key", TALLY_CONF_CREDENTIAL, log_key, false, NULL),
    KEY("tls", "ca", TALLY_CONF_CREDENTIAL, tls_ca, true, NULL),
    KEY("tls", "cert", TALLY_CONF_CREDENTIAL, tls_cert, true, NULL),
    KEY("tls", "key", TALLY_CONF_CREDENTIAL, tls_key, true, NULL),
    KEY("store", "backend", TALLY_CONF_STRING, store_backend, false, "sqlite"),
    KEY("store", "dsn", TALLY_CONF_STRING, store_dsn, false, NULL),
};

int agg_conf_load(const char *path, struct agg_conf *ret, struct tally_err *err)
{
	memset(ret, 0, sizeof(*ret));
	int r = tally_conf_load(path, agg_keys, sizeof(agg_keys) / sizeof(agg_keys[0]), ret, err);
	if (r < 0)
		return r;
	if (strcmp(ret->store_backend, "sqlite") != 0 &&
	    strcmp(ret->store_backend, "postgresql") != 0)
		return tally_err_set(err, -EINVAL,
		                     "%s: [store] backend = '%s': expected sqlite or postgresql",
		                     path, ret->store_backend);
	if (strcmp(ret->store_backend, "postgresql") == 0 && !ret->store_dsn)
		return tally_err_set(err, -EINVAL,
		                     "%s: [store] backend = postgresql needs dsn = a libpq "
		                     "connection string (e.g. host=db1,db2 dbname=tally "
		                     "target_session_attrs=read-write)",
		                     path);
	return 0;
}

void agg_conf_free(struct agg_conf *c)
{
	tally_conf_free(agg_keys, sizeof(agg_keys) / sizeof(agg_keys[0]), c);
}
