/*
 * test_notify.c: sd_notify datagrams caught by a real AF_UNIX socket (a
 * path in a temp folder and an abstract name), the watchdog variables, and
 * socket activation in a forked child that may rearrange its fds freely.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tally/notify.h"

static char tmp[64];
static char sock_path[128];

static void setup(void)
{
	strcpy(tmp, "/tmp/tally-notify-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(sock_path, sizeof(sock_path), "%s/notify", tmp);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
	unlink(sock_path);
	rmdir(tmp);
}

TestSuite(notify, .init = setup, .fini = teardown);

/* A datagram socket bound to name ("@..." for abstract). */
static int listen_on(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@') {
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0, "bind: %s", strerror(errno));
	return fd;
}

/* One datagram, waited for at most a second, compared byte for byte. */
static void expect_datagram(int fd, const char *want)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[1024];
	ssize_t n;

	cr_assert_eq(poll(&p, 1, 1000), 1, "no datagram for '%s'", want);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_eq(n, (ssize_t)strlen(want), "length %zd", n);
	buf[n] = '\0';
	cr_assert_str_eq(buf, want);
}

static void expect_nothing(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	cr_assert_eq(poll(&p, 1, 50), 0, "unexpected datagram");
}

Test(notify, ready_and_formatted_status_reach_a_path_socket)
{
	int fd = listen_on(sock_path);

	setenv("NOTIFY_SOCKET", sock_path, 1);
	cr_assert_eq(tally_notify("READY=1"), 0);
	expect_datagram(fd, "READY=1");
	cr_assert_eq(tally_notifyf("STATUS=%u/%u precincts, %d conflicts", 10388u, 10388u, 3), 0);
	expect_datagram(fd, "STATUS=10388/10388 precincts, 3 conflicts");
	cr_assert_eq(tally_notify("STOPPING=1\nSTATUS=stopping"), 0);
	expect_datagram(fd, "STOPPING=1\nSTATUS=stopping");
	expect_nothing(fd);
	close(fd);
}

Test(notify, abstract_socket)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@tally-test-notify-%d-%s", (int)getpid(), tmp + 18);
	fd = listen_on(name);
	setenv("NOTIFY_SOCKET", name, 1);
	cr_assert_eq(tally_notify("WATCHDOG=1"), 0);
	expect_datagram(fd, "WATCHDOG=1");
	close(fd);
}

Test(notify, without_a_socket_nothing_is_sent_and_all_is_well)
{
	int fd = listen_on(sock_path);

	cr_assert_eq(tally_notify("READY=1"), 0);
	cr_assert_eq(tally_notifyf("STATUS=%d", 1), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	cr_assert_eq(tally_notify("READY=1"), 0);
	expect_nothing(fd);
	close(fd);
}

Test(notify, bad_socket_addresses_are_errors)
{
	char longp[200];

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	cr_assert_eq(tally_notify("READY=1"), -EAFNOSUPPORT);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longp, 1);
	cr_assert_eq(tally_notify("READY=1"), -EINVAL);
	/* Nobody bound there: the manager went away. */
	setenv("NOTIFY_SOCKET", sock_path, 1);
	cr_assert_eq(tally_notify("READY=1"), -ENOENT);
}

Test(notify, watchdog_interval_only_for_this_pid)
{
	char pid[32];

	cr_assert_eq(tally_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "nonsense", 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "30s", 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "99999999999999999999999", 1);
	cr_assert_eq(tally_notify_watchdog_usec(), 0);
}

/*
 * Socket activation in a child: it owns fds 3 and 4 outright there. Exit
 * codes say which check failed.
 */
static int activation_child(void)
{
	int sv[2];
	char pid[32];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 10;
	if (dup2(sv[0], 3) != 3 || dup2(sv[1], 4) != 4)
		return 11;
	if ((fcntl(3, F_GETFD) & FD_CLOEXEC) || (fcntl(4, F_GETFD) & FD_CLOEXEC))
		return 12;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "peers:http", 1);
	if (tally_listen_fds() != 2)
		return 13;
	if (!(fcntl(3, F_GETFD) & FD_CLOEXEC) || !(fcntl(4, F_GETFD) & FD_CLOEXEC))
		return 14;
	if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") || getenv("LISTEN_FDNAMES"))
		return 15;
	/* Unset now: a second call (or a child) sees nothing. */
	if (tally_listen_fds() != 0)
		return 16;

	/* Meant for another process: ignored, still unset. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	if (tally_listen_fds() != 0 || getenv("LISTEN_FDS"))
		return 17;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "two", 1);
	if (tally_listen_fds() != -EINVAL)
		return 18;

	/* An fd that is not open is an error, not a socket. */
	close(4);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	if (tally_listen_fds() != -EBADF)
		return 19;
	return 0;
}

Test(notify, socket_activation_takes_the_fds_and_unsets_the_variables)
{
	int status;
	pid_t pid;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	cr_assert_eq(tally_listen_fds(), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(activation_child());
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "child check %d failed", WEXITSTATUS(status));
}
