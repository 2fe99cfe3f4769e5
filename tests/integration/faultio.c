/*
 * faultio.c: an LD_PRELOAD shim that turns writes and syncs into I/O
 * errors, for the disk-fault scenarios (tests/integration/
 * test_scenario_ioerror.py). It owns nothing but its own wrappers.
 *
 * While the file named by $TALLY_FAULTIO_TRIGGER exists, pwrite, pwrite64,
 * write, fsync and fdatasync on a file descriptor whose path (as
 * /proc/self/fd/N shows it) starts with $TALLY_FAULTIO_PREFIX return -1 with
 * errno EIO, without touching the file: what a failing disk reports. Every
 * other call, and every call while the trigger is absent, goes to the next
 * definition (libc, or the sanitizer's interceptor in front of it). Reads
 * are left alone, so the daemon can still see what it committed before.
 * The trigger file may name, as a comma list, which of those five calls
 * fail (empty: all of them): "fsync,fdatasync" lets the data reach the
 * file and fails only the flush, the case where a database must not trust
 * what it just wrote. Reading it on each call lets a test switch the kind
 * of fault while the daemon runs.
 *
 * The path and the trigger are checked on every call: simpler than a
 * per-descriptor cache that must follow close() and dup(), and the daemons
 * under test write little enough that the extra system calls do not
 * matter. It is built without sanitizers (tests/CMakeLists.txt), because a
 * preloaded library comes before the ASan runtime in the link order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*sync_fn)(int);

/* The next definition of name, looked up once. Abort if there is none:
 * the shim must never silently swallow a call. */
static void *next(void **cache, const char *name)
{
	if (!*cache) {
		*cache = dlsym(RTLD_NEXT, name);
		if (!*cache)
			abort();
	}
	return *cache;
}

/* True if the trigger file is empty or names op. */
static int op_selected(const char *trigger, const char *op)
{
	char ops[256];
	size_t len = strlen(op);
	ssize_t n;
	int fd = open(trigger, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* removed meanwhile */
	n = read(fd, ops, sizeof(ops) - 1);
	close(fd);
	if (n < 0)
		return 0;
	while (n > 0 && (ops[n - 1] == '\n' || ops[n - 1] == ' '))
		n--;
	ops[n] = '\0';
	if (n == 0)
		return 1;
	for (const char *p = ops; (p = strstr(p, op)) != NULL; p += len)
		if ((p == ops || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return 1;
	return 0;
}

/* True if the call op on fd must fail now. errno is preserved. */
static int faulty(const char *op, int fd)
{
	const char *prefix = getenv("TALLY_FAULTIO_PREFIX");
	const char *trigger = getenv("TALLY_FAULTIO_TRIGGER");
	char link[64], path[4096];
	int saved = errno, hit = 0;
	ssize_t n;

	if (!prefix || !*prefix || !trigger || !*trigger || fd < 0)
		goto out;
	if (access(trigger, F_OK) != 0 || !op_selected(trigger, op))
		goto out;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		goto out;
	path[n] = '\0';
	hit = strncmp(path, prefix, strlen(prefix)) == 0;
out:
	errno = saved;
	return hit;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static void *real;
	if (faulty("pwrite", fd)) {
		errno = EIO;
		return -1;
	}
	return ((pwrite_fn)next(&real, "pwrite"))(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	static void *real;
	if (faulty("pwrite64", fd)) {
		errno = EIO;
		return -1;
	}
	return ((pwrite64_fn)next(&real, "pwrite64"))(fd, buf, len, off);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static void *real;
	if (faulty("write", fd)) {
		errno = EIO;
		return -1;
	}
	return ((write_fn)next(&real, "write"))(fd, buf, len);
}

int fsync(int fd)
{
	static void *real;
	if (faulty("fsync", fd)) {
		errno = EIO;
		return -1;
	}
	return ((sync_fn)next(&real, "fsync"))(fd);
}

int fdatasync(int fd)
{
	static void *real;
	if (faulty("fdatasync", fd)) {
		errno = EIO;
		return -1;
	}
	return ((sync_fn)next(&real, "fdatasync"))(fd);
}
