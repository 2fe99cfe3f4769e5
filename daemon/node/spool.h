/*
 * spool.h: the drop folder. Files named *.json or *.csv that appear in
 * spool_dir are taken through intake.h; a taken file moves to
 * spool_dir/accepted/, a refused one to spool_dir/rejected/ beside
 * `<name>.error`. Other names (x.tmp, .hidden) are left alone, so writers
 * write under another name and rename. A file modified in the last
 * SPOOL_SETTLE_MS is left for a later pass, in case it is still being
 * written. The folder is watched (uv_fs_event) and scanned at start and
 * whenever spool_scan_soon() is called (the node's timer does so
 * periodically, which also covers file systems without change events).
 *
 * A file is first renamed into spool_dir/processing/ and only read there,
 * so a file renamed into the spool under the same name while the first is
 * being committed is not filed in its place: it waits in the spool for the
 * next pass and is read then. Each pass takes what is in processing/ first:
 * a file a crash left there is read again, and if its bytes were committed
 * before the crash it is only moved (the outbox knows its SHA-256). If the
 * outbox cannot commit (disk full), the file stays in processing/, the pass
 * stops, and the periodic scan tries again.
 */
#ifndef TALLY_NODE_SPOOL_H
#define TALLY_NODE_SPOOL_H

#include <uv.h>

#include "intake.h"
#include "problems.h"

#define SPOOL_SETTLE_MS 250
/* Files taken per pass before the loop gets a turn (uplink, control). */
#define SPOOL_BATCH 32

struct spool; /* opaque; owned by main */

/* Called after a file's rows were committed (to wake the uplink). */
typedef void (*spool_queued_cb)(void *arg);

/*
 * Creates accepted/, rejected/ and processing/ if missing, starts watching
 * and schedules a first scan. Returns 0 or a negative errno (err says which
 * folder).
 */
int spool_init(uv_loop_t *loop, const char *dir, const struct intake *intake,
               struct problems *problems, spool_queued_cb queued_cb, void *arg, struct spool **ret,
               struct tally_err *err);
/* Schedules a pass over the folder on the next loop iteration. */
void spool_scan_soon(struct spool *s);
/* Files taken since start (queued, already queued, rejected). */
void spool_counts(const struct spool *s, uint64_t *ret_queued, uint64_t *ret_rejected);
/* Stops watching; frees s once its handles closed, then calls cb. */
void spool_close(struct spool *s, void (*cb)(void *arg), void *arg);

/*
 * Moves dir/from_sub/name to dir/to_sub/name, or dir/to_sub/stem.N.ext if
 * that is taken, never replacing a file. The final name goes to ret_name.
 * 0 or -errno. Exposed for the tests.
 */
int spool_move(const char *dir, const char *from_sub, const char *name, const char *to_sub,
               char *ret_name, size_t cap);

#endif
