/*
 * store.c: picks the store backend the configuration names. The backends
 * (store_sqlite.c, store_pg.c) own everything else; this file knows no SQL.
 * It also holds the one on-disk encoding of a leaf's figures, so the two
 * backends cannot drift apart.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

int agg_store_open(const char *backend, const char *dsn, const char *state_dir,
                   const char *election_id, const char *instance, struct agg_store **ret,
                   struct tally_err *err)
{
	if (!backend || strcmp(backend, "sqlite") == 0)
		return agg_store_sqlite_open(state_dir, election_id, ret, err);
	if (strcmp(backend, "postgresql") != 0)
		return tally_err_set(
		    err, -EINVAL, "[store] backend = '%s': expected sqlite or postgresql", backend);
	/* With the results in PostgreSQL, state_dir still holds the log key. */
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return tally_err_set(err, -errno, "state_dir '%s': cannot create it: %s", state_dir,
		                     strerror(errno));
	return agg_store_pg_open(dsn, election_id, instance, ret, err);
}

void agg_store_figures_pack(const uint32_t *figures, size_t n, uint8_t *ret)
{
	for (size_t i = 0; i < n; i++) {
		ret[4 * i] = (uint8_t)figures[i];
		ret[4 * i + 1] = (uint8_t)(figures[i] >> 8);
		ret[4 * i + 2] = (uint8_t)(figures[i] >> 16);
		ret[4 * i + 3] = (uint8_t)(figures[i] >> 24);
	}
}

void agg_store_figures_unpack(const uint8_t *bytes, size_t n, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++)
		ret[i] = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
		         (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
}
