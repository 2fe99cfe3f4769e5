/*
 * notify.c: the service manager's two small protocols, in-tree so the
 * daemons need no libsystemd. It owns sending one sd_notify datagram to
 * $NOTIFY_SOCKET, reading the watchdog interval meant for this process, and
 * taking over sockets passed by socket activation. When and what to notify
 * (READY=1 after recovery, WATCHDOG=1 from the loop's timer) is the daemons'
 * decision; without the variables every call here is a harmless no-op.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tally/notify.h"

/* First fd passed by socket activation (SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

/* Decimal digits only, no sign or blanks, fits in uint64_t. */
static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* True when the variable names this process (the $..._PID convention). */
static bool pid_matches(const char *s)
{
	uint64_t pid;

	return parse_u64(s, &pid) == 0 && pid == (uint64_t)getpid();
}

int tally_notify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t sa_len;
	size_t len, n;
	ssize_t sent;
	int fd, r;

	if (e == NULL || e[0] == '\0')
		return 0;
	/* "@name" is an abstract socket: a leading NUL and no terminator. */
	if (e[0] != '/' && e[0] != '@')
		return -EAFNOSUPPORT;
	n = strlen(e);
	if (n > sizeof(sa.sun_path) - (e[0] == '/' ? 1 : 0))
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, e, n);
	if (e[0] == '@')
		sa.sun_path[0] = '\0';
	sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/' ? 1 : 0));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = strlen(state);
	/* MSG_NOSIGNAL: a vanished manager must not kill the daemon with SIGPIPE. */
	sent = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sa_len);
	if (sent < 0)
		r = -errno;
	else
		r = (size_t)sent == len ? 0 : -EMSGSIZE;
	close(fd);
	return r;
}

int tally_notifyf(const char *fmt, ...)
{
	char *state;
	va_list ap;
	int r;

	/* Nothing to format for when nobody listens. */
	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&state, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = tally_notify(state);
	free(state);
	return r;
}

uint64_t tally_notify_watchdog_usec(void)
{
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t usec;

	/* Inherited by a child it was not meant for: not our watchdog. */
	if (pid != NULL && !pid_matches(pid))
		return 0;
	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) < 0)
		return 0;
	return usec;
}

/*
 * Returns the count, 0 without activation, or -EINVAL when the variables are
 * malformed (better to stop than to bind a second socket of our own), or
 * -errno when a passed fd is not open.
 */
int tally_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	uint64_t n = 0;
	int r = 0;

	if (pid == NULL || fds == NULL)
		goto out;
	if (!pid_matches(pid))
		goto out;
	if (parse_u64(fds, &n) < 0 || n > 1024) {
		r = -EINVAL;
		goto out;
	}
	/* Our sockets: the daemon's children must not hold them open. */
	for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + (int)n; fd++) {
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
			r = -errno;
			goto out;
		}
	}
	r = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}
