/*
 * committer.h: one thread that writes batches to the store, so the event
 * loop never waits for the disk. It runs at most one job at a time: the
 * loop hands it a job, goes on serving TLS and HTTP, and is called back on
 * the loop once the job returned (the commit reached the disk, or failed).
 */
#ifndef TALLY_AGG_COMMITTER_H
#define TALLY_AGG_COMMITTER_H

#include <stdbool.h>
#include <uv.h>

struct committer;

/* Runs on the committer thread; its return value reaches the done callback. */
typedef int (*committer_job_fn)(void *arg);
/* Runs on the loop, after the job returned. */
typedef void (*committer_done_fn)(void *arg, int result);

/* Starts the thread. 0 or -errno. */
int committer_new(uv_loop_t *loop, struct committer **ret);
/* Hands over one job; -EBUSY while the previous one has not been called back. */
int committer_run(struct committer *c, committer_job_fn fn, committer_done_fn done, void *arg);
/* A job was handed over and not yet called back. */
bool committer_busy(const struct committer *c);
/*
 * Waits for the job in flight, if any, to return (its done callback is not
 * called: the caller owns its argument again), stops the thread and closes
 * the handle. Takes NULL.
 */
void committer_close(struct committer *c);

#endif
