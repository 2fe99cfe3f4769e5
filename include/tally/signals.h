/*
 * signals.h: the daemons' stop and reload signals (SIGTERM, SIGINT,
 * SIGHUP) go to the event loop's thread only, and none can kill a daemon
 * while it shuts down.
 *
 * The kernel hands a signal sent to the process to any thread that does not
 * block it. So a daemon blocks these three first thing in main(), before
 * any thread exists; every thread it starts (libuv's pool, the committer)
 * inherits the mask; once the loop's uv_signal handles are in place the
 * loop's thread unblocks them. At shutdown it blocks them again, closes the
 * uv_signal handles (libuv then restores the default action) and ignores
 * them, which also discards any that arrived meanwhile: there is no moment
 * in which one more SIGTERM would end the process with status 143.
 */
#ifndef TALLY_SIGNALS_H
#define TALLY_SIGNALS_H

#include <uv.h>

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread. */
void tally_signals_block(void);
/* libuv starts every thread of its pool at the first request: makes one
 * (that does nothing) now, so the workers inherit the blocked mask. 0 or a
 * libuv error. */
int tally_signals_start_pool(uv_loop_t *loop);
/* Unblocks them in the calling thread. */
void tally_signals_unblock(void);
/* Sets them to SIG_IGN (discarding pending ones); for after the handles close. */
void tally_signals_ignore(void);

#endif
