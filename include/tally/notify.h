/*
 * notify.h: the systemd service manager protocols, implemented in-tree:
 * sd_notify (one datagram to $NOTIFY_SOCKET, a path or an abstract "@name")
 * and socket activation ($LISTEN_PID / $LISTEN_FDS). Daemons call these;
 * without the variables they are no-ops.
 */
#ifndef TALLY_NOTIFY_H
#define TALLY_NOTIFY_H

#include <stdint.h>

/* Sends `state` (e.g. "READY=1\nSTATUS=..."). 0 if sent or no socket; -errno. */
int tally_notify(const char *state);
int tally_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* $WATCHDOG_USEC if set and meant for this process ($WATCHDOG_PID), else 0. */
uint64_t tally_notify_watchdog_usec(void);

/*
 * Number of sockets passed by socket activation (fds 3..3+n-1), 0 if none or
 * not for this pid. Unsets the variables so children do not inherit them.
 */
int tally_listen_fds(void);

#endif
