/*
 * store.c: picks the store backend the configuration names. The backends
 * (store_sqlite.c, store_pg.c) own everything else; this file knows no SQL.
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
