/*
 * conf.h: table-driven INI configuration loading (libinih). A daemon
 * describes its keys once; the loader fills a struct, resolves paths
 * relative to the config file's folder, applies defaults, and refuses
 * unknown keys, missing required keys and malformed values with
 * "FILE:LINE: [section] key = 'value': expected ..." in err.
 *
 * Paths of type TALLY_CONF_CREDENTIAL are looked up first in
 * $CREDENTIALS_DIRECTORY (systemd LoadCredential=) by their base name.
 */
#ifndef TALLY_CONF_H
#define TALLY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/err.h"

#define TALLY_MAX_ENDPOINTS 8
#define TALLY_HOST_MAX      256

struct tally_endpoint {
	char host[TALLY_HOST_MAX]; /* name, IPv4, or IPv6 without brackets */
	uint16_t port;
};

struct tally_endpoints {
	size_t n;
	struct tally_endpoint e[TALLY_MAX_ENDPOINTS];
};

enum tally_conf_type {
	TALLY_CONF_STRING,     /* char * (malloc'd) */
	TALLY_CONF_PATH,       /* char * resolved against the config folder */
	TALLY_CONF_CREDENTIAL, /* like PATH, but $CREDENTIALS_DIRECTORY first */
	TALLY_CONF_U32,        /* uint32_t within [min, max] */
	TALLY_CONF_BOOL,       /* bool: true/false/yes/no/1/0 */
	TALLY_CONF_ENDPOINT,   /* struct tally_endpoint: host:port, [v6]:port */
	TALLY_CONF_ENDPOINTS,  /* struct tally_endpoints: comma-separated */
};

struct tally_conf_key {
	const char *section;
	const char *name;
	enum tally_conf_type type;
	size_t offset; /* offsetof(struct your_conf, field) */
	bool required;
	const char *def;   /* default as text, or NULL */
	uint32_t min, max; /* TALLY_CONF_U32 bounds */
};

/*
 * Fills obj from path. Returns 0, -ENOENT/-EACCES (file), -EINVAL (err says
 * where and what), -ENOMEM. On error obj may hold partial values; release
 * with tally_conf_free() either way.
 */
int tally_conf_load(const char *path, const struct tally_conf_key *keys, size_t n_keys, void *obj,
                    struct tally_err *err);
void tally_conf_free(const struct tally_conf_key *keys, size_t n_keys, void *obj);

/* Parsers, usable on their own. 0 or -EINVAL. */
int tally_conf_parse_endpoint(const char *s, struct tally_endpoint *ret);
int tally_conf_parse_endpoints(const char *s, struct tally_endpoints *ret);
int tally_conf_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret);
int tally_conf_parse_bool(const char *s, bool *ret);

#endif
