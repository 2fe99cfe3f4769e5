/*
 * spool.c: the drop folder (see spool.h). It owns finding files, taking them
 * into processing/, reading them there, and moving them on to accepted/ or
 * rejected/ with their .error; what a file means and whether it is taken is
 * intake.c's decision. A file is renamed into processing/ before it is read,
 * so the file that is filed is the file that was read: a writer that renames
 * a new file under the same name meanwhile leaves it in the spool for the
 * next pass instead of having it filed unread. Ordering is what makes it
 * crash-safe: a file leaves processing/ only after intake committed it (or
 * refused it); whatever a crash leaves in processing/ is taken first on the
 * next pass, and a file whose bytes were committed before the crash is
 * recognized by its SHA-256 in the outbox and only moved.
 *
 * Reading and committing happen on the loop thread: a file is small and its
 * one fsync'd commit is the durability we want before moving it. A pass
 * stops after SPOOL_BATCH files or 100 ms so the uplink and the control
 * socket are served in between.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "tally/log.h"

#define SPOOL_MAX_NAMES 100000
#define SPOOL_PASS_MS   100

struct spool {
	uv_loop_t *loop;
	char *dir;
	char *processing; /* dir/processing: files being taken, read only there */
	const struct intake *intake;
	struct problems *problems;
	spool_queued_cb queued_cb;
	void *queued_arg;
	uv_fs_event_t watch;
	uv_timer_t timer; /* the next pass */
	uint64_t n_queued;
	uint64_t n_rejected;
	/* The last failure to queue, so a retried file is not logged every pass. */
	char failed_name[NAME_MAX + 1];
	int failed_err;
	int open_handles;
	void (*close_cb)(void *arg);
	void *close_arg;
};

static void on_scan_timer(uv_timer_t *t);
static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status);

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

static int ensure_dir(const char *dir, const char *sub, struct tally_err *err)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, sub) >= (int)sizeof(path))
		return tally_err_set(err, -ENAMETOOLONG, "spool_dir '%s': path too long", dir);
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return tally_err_set(err, -errno, "cannot create '%s': %s", path, strerror(errno));
	return 0;
}

int spool_init(uv_loop_t *loop, const char *dir, const struct intake *intake,
               struct problems *problems, spool_queued_cb queued_cb, void *arg, struct spool **ret,
               struct tally_err *err)
{
	struct spool *s;
	struct stat st;
	int e;

	if (stat(dir, &st) < 0)
		return tally_err_set(err, -errno, "spool_dir '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return tally_err_set(err, -ENOTDIR, "spool_dir '%s' is not a folder", dir);
	if ((e = ensure_dir(dir, "accepted", err)) < 0 ||
	    (e = ensure_dir(dir, "rejected", err)) < 0 ||
	    (e = ensure_dir(dir, "processing", err)) < 0)
		return e;
	s = calloc(1, sizeof(*s));
	if (!s)
		return tally_err_set(err, -ENOMEM, "out of memory");
	s->dir = strdup(dir);
	if (s->dir && asprintf(&s->processing, "%s/processing", dir) < 0)
		s->processing = NULL;
	if (!s->dir || !s->processing) {
		free(s->dir);
		free(s);
		return tally_err_set(err, -ENOMEM, "out of memory");
	}
	s->loop = loop;
	s->intake = intake;
	s->problems = problems;
	s->queued_cb = queued_cb;
	s->queued_arg = arg;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	uv_fs_event_init(loop, &s->watch);
	s->watch.data = s;
	s->open_handles = 2;
	e = uv_fs_event_start(&s->watch, on_fs_event, dir, 0);
	if (e < 0)
		/* Not fatal: the periodic pass still finds every file. */
		log_warning("spool: cannot watch '%s' (%s); relying on the periodic scan", dir,
		            uv_strerror(e));
	spool_scan_soon(s);
	*ret = s;
	return 0;
}

/* Runs a pass in delay_ms unless one is due sooner. */
static void schedule(struct spool *s, uint64_t delay_ms)
{
	if (s->close_cb)
		return;
	if (uv_is_active((uv_handle_t *)&s->timer) && uv_timer_get_due_in(&s->timer) <= delay_ms)
		return;
	uv_timer_start(&s->timer, on_scan_timer, delay_ms, 0);
}

void spool_scan_soon(struct spool *s)
{
	schedule(s, 0);
}

void spool_counts(const struct spool *s, uint64_t *ret_queued, uint64_t *ret_rejected)
{
	*ret_queued = s->n_queued;
	*ret_rejected = s->n_rejected;
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct spool *s = h->data;

	/* Our own moves out of the folder wake us too; the pass finds nothing. */
	schedule(s, 20);
}

static bool wanted(const char *name)
{
	enum protocol_format f;

	return name[0] != '.' && protocol_format_from_name(name, &f) == 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* dir/sub/name, or dir/sub/stem.N.ext with the first N that is free. */
static int pick_name(const char *dir, const char *sub, const char *name, char *ret, size_t cap)
{
	const char *dot = strrchr(name, '.');
	size_t stem = dot ? (size_t)(dot - name) : strlen(name);
	char path[PATH_MAX];

	snprintf(ret, cap, "%s", name);
	for (unsigned n = 1; n < 100000; n++) {
		if (snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, ret) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		if (!exists(path))
			return 0;
		if (snprintf(ret, cap, "%.*s.%u%s", (int)stem, name, n, dot ? dot : "") >= (int)cap)
			return -ENAMETOOLONG;
	}
	return -EEXIST;
}

/* Renames without ever replacing a file that is there. */
static int move_noreplace(const char *from, const char *to)
{
	struct stat a, b;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/*
	 * File systems without RENAME_NOREPLACE: link(2) refuses to replace.
	 * Unlink the old name only if it still names the file just linked: one
	 * renamed over it meanwhile is a new file, and stays.
	 */
	if (link(from, to) < 0)
		return -errno;
	if (lstat(from, &a) < 0 || lstat(to, &b) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino && unlink(from) < 0)
		return -errno;
	return 0;
}

int spool_move(const char *dir, const char *from_sub, const char *name, const char *to_sub,
               char *ret_name, size_t cap)
{
	char from[PATH_MAX], to[PATH_MAX];
	int e;

	for (int attempt = 0; attempt < 10; attempt++) {
		if ((e = pick_name(dir, to_sub, name, ret_name, cap)) < 0)
			return e;
		if (snprintf(from, sizeof(from), "%s/%s/%s", dir, from_sub, name) >=
		        (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s/%s", dir, to_sub, ret_name) >= (int)sizeof(to))
			return -ENAMETOOLONG;
		e = move_noreplace(from, to);
		if (e != -EEXIST)
			return e;
	}
	return -EEXIST;
}

/* Writes dir/rejected/<final>.error through a temporary name. */
static int write_error(const char *dir, const char *final, const char *text)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int fd, e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/rejected/.%s.error.tmp", dir, final) >=
	        (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/rejected/%s.error", dir, final) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && e == 0)
		e = -errno;
	if (e == 0 && rename(tmp, path) < 0)
		e = -errno;
	if (e < 0)
		unlink(tmp);
	return e;
}

/* Reads the whole file, refusing anything but a regular file. */
static int read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len,
                     struct stat *ret_st)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, e = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0) {
		e = -errno;
		goto out;
	}
	if (!S_ISREG(ret_st->st_mode)) {
		e = -EISDIR;
		goto out;
	}
	if ((uint64_t)ret_st->st_size > max) {
		e = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)ret_st->st_size + 1);
	if (!buf) {
		e = -ENOMEM;
		goto out;
	}
	/* Read one byte more than stat said, to notice a file still growing. */
	while (len < (size_t)ret_st->st_size + 1) {
		ssize_t n = read(fd, buf + len, (size_t)ret_st->st_size + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != (size_t)ret_st->st_size) {
		e = -EAGAIN;
		goto out;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return e;
}

static void log_taken(struct spool *s, const char *name, const struct intake_report *r)
{
	char precincts[160] = "";
	size_t used = 0;

	for (size_t i = 0; i < r->n_entries && used + 16 < sizeof(precincts); i++)
		used += (size_t)snprintf(precincts + used, sizeof(precincts) - used, "%s%u",
		                         i ? ", " : "", r->entries[i].precinct_id);
	if (r->n_entries > 0 && used + 16 >= sizeof(precincts))
		snprintf(precincts + used, sizeof(precincts) - used, ", ...");
	if (r->fate == INTAKE_QUEUED)
		log_info("spool: '%s': queued %zu protocol%s (precinct%s %s), moved to accepted/",
		         name, r->n_entries, r->n_entries == 1 ? "" : "s",
		         r->n_entries == 1 ? "" : "s", precincts);
	else
		log_notice("spool: '%s': the same file was queued before (precinct%s %s); not "
		           "queued again, moved to accepted/",
		           name, r->n_entries == 1 ? "" : "s", precincts);
}

static void reject(struct spool *s, const char *name, const char *text, size_t n_problems)
{
	char final[NAME_MAX + 1], first[TALLY_REASON_MAX + 160];
	const char *nl = strchr(text, '\n');
	char from[PATH_MAX], to[PATH_MAX];
	int e;

	snprintf(first, sizeof(first), "%.*s", nl ? (int)(nl - text) : (int)strlen(text), text);
	e = pick_name(s->dir, "rejected", name, final, sizeof(final));
	if (e == 0)
		e = write_error(s->dir, final, text);
	if (e == 0) {
		snprintf(from, sizeof(from), "%s/%s", s->processing, name);
		snprintf(to, sizeof(to), "%s/rejected/%s", s->dir, final);
		e = move_noreplace(from, to);
	}
	if (e < 0) {
		log_err("spool: '%s': rejected, but cannot move it to rejected/: %s; retrying",
		        name, strerror(-e));
		problems_add(s->problems, "spool", "'%s': cannot move to rejected/: %s", name,
		             strerror(-e));
		return;
	}
	s->n_rejected++;
	log_warning("spool: '%s' rejected, nothing sent: %zu problem%s, first: %s (all in "
	            "rejected/%s.error)",
	            name, n_problems, n_problems == 1 ? "" : "s", first, final);
	problems_add(s->problems, "spool", "'%s' rejected: %s", name, first);
}

/* What became of one file in a pass. */
enum taken {
	CLAIMED,  /* claim(): now in processing/, for take() */
	TAKEN,    /* filed, or not ours to take (gone, a folder, a link) */
	DEFERRED, /* still being written, or its name is busy in processing/; *ret_retry_ms */
	STALLED,  /* the outbox cannot commit: the rest of the pass would fail too */
};

static int64_t age_ms(const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return ((int64_t)now.tv_sec - st->st_mtim.tv_sec) * 1000 +
	       (now.tv_nsec - st->st_mtim.tv_nsec) / 1000000;
}

/*
 * Renames spool_dir/name into processing/, unless it is not a settled
 * regular file. Only what is in processing/ is read: no writer puts files
 * there, so what is read there is what gets filed.
 */
static enum taken claim(struct spool *s, const char *name, uint64_t *ret_retry_ms)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct stat st;
	int64_t age;
	int e;

	if (snprintf(from, sizeof(from), "%s/%s", s->dir, name) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/%s", s->processing, name) >= (int)sizeof(to))
		return TAKEN;
	if (lstat(from, &st) < 0 || !S_ISREG(st.st_mode))
		return TAKEN; /* gone, a folder or a link: not ours to take */
	age = age_ms(&st);
	if (age >= 0 && age < SPOOL_SETTLE_MS) {
		*ret_retry_ms = (uint64_t)(SPOOL_SETTLE_MS - age) + 1;
		return DEFERRED;
	}
	e = move_noreplace(from, to);
	if (e == -EEXIST) {
		/* A file of that name is still being taken: this one waits its turn. */
		*ret_retry_ms = SPOOL_SETTLE_MS;
		return DEFERRED;
	}
	if (e == -ENOENT)
		return TAKEN;
	if (e < 0) {
		log_warning("spool: cannot move '%s' into processing/: %s; retrying", name,
		            strerror(-e));
		return TAKEN;
	}
	return CLAIMED;
}

/* One file in processing/: read, handed to intake, filed. */
static enum taken take(struct spool *s, const char *name, uint64_t *ret_retry_ms)
{
	struct intake_report r;
	struct stat st;
	char path[PATH_MAX], final[NAME_MAX + 1], text[128];
	uint8_t *data = NULL;
	size_t len = 0;
	int64_t age;
	int e;

	if (snprintf(path, sizeof(path), "%s/%s", s->processing, name) >= (int)sizeof(path))
		return TAKEN;
	e = read_file(path, PROTOCOL_FILE_MAX_BYTES, &data, &len, &st);
	if (e == -EFBIG) {
		snprintf(text, sizeof(text), "file: %lld bytes, at most %u\n",
		         (long long)st.st_size, PROTOCOL_FILE_MAX_BYTES);
		reject(s, name, text, 1);
		return TAKEN;
	}
	if (e == -EISDIR || e == -ELOOP) {
		/* Renamed over the file between claim()'s check and its move. */
		reject(s, name, "file: not a regular file (a folder or a link); not read\n", 1);
		return TAKEN;
	}
	if (e == -EAGAIN) {
		*ret_retry_ms = SPOOL_SETTLE_MS;
		return DEFERRED;
	}
	if (e < 0) {
		if (e != -ENOENT)
			log_warning("spool: cannot read 'processing/%s': %s", name, strerror(-e));
		return TAKEN;
	}
	/* Still being written, though it was not when claimed: wait in processing/. */
	age = age_ms(&st);
	if (age >= 0 && age < SPOOL_SETTLE_MS) {
		*ret_retry_ms = (uint64_t)(SPOOL_SETTLE_MS - age) + 1;
		free(data);
		return DEFERRED;
	}

	e = intake_take(s->intake, name, data, len, &r);
	free(data);
	if (e < 0) {
		if (strcmp(s->failed_name, name) != 0 || s->failed_err != e) {
			log_err(
			    "spool: '%s': cannot queue (%s: %s); nothing queued, keeping the file "
			    "in processing/ and retrying",
			    name, strerror(-e), outbox_errmsg(s->intake->outbox));
			problems_add(s->problems, "spool", "'%s': cannot queue: %s", name,
			             strerror(-e));
			snprintf(s->failed_name, sizeof(s->failed_name), "%s", name);
			s->failed_err = e;
		}
		return STALLED;
	}
	s->failed_name[0] = '\0';
	if (r.fate == INTAKE_REJECTED) {
		reject(s, name, r.error_text, r.file->n_errors + r.file->n_errors_dropped);
	} else {
		if (r.fate == INTAKE_QUEUED) {
			s->n_queued++;
			if (s->queued_cb)
				s->queued_cb(s->queued_arg);
		}
		e = spool_move(s->dir, "processing", name, "accepted", final, sizeof(final));
		if (e < 0) {
			/* Taken all the same; the next pass recognizes it and moves it. */
			log_err("spool: '%s': queued, but cannot move it to accepted/: %s", name,
			        strerror(-e));
			problems_add(s->problems, "spool", "'%s': cannot move to accepted/: %s",
			             name, strerror(-e));
		}
		log_taken(s, name, &r);
	}
	intake_report_clear(&r);
	return TAKEN;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The wanted names in dir, sorted, so files are taken in a predictable order. */
static size_t list(const char *dir, char ***ret)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*ret = NULL;
	d = opendir(dir);
	if (!d) {
		log_err("spool: cannot read '%s': %s; retrying", dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) && n < SPOOL_MAX_NAMES) {
		if (!wanted(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
	*ret = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
}

/*
 * One pass: first what is in processing/ (deferred, or left by a crash),
 * then the spool's own files, each claimed into processing/ and taken there.
 */
static void scan(struct spool *s)
{
	char **held, **names;
	size_t n_held, n, i, done = 0;
	uint64_t start = mono_ms(), retry_ms = 0;
	bool more = false, stalled = false;

	n_held = list(s->processing, &held);
	n = list(s->dir, &names);
	for (i = 0; i < n_held + n && !stalled; i++) {
		const char *name = i < n_held ? held[i] : names[i - n_held];
		uint64_t r = 0;
		enum taken t;

		if (done >= SPOOL_BATCH || mono_ms() - start >= SPOOL_PASS_MS) {
			more = true;
			break;
		}
		t = i < n_held ? CLAIMED : claim(s, name, &r);
		if (t == CLAIMED) {
			t = take(s, name, &r);
			done++;
		}
		if (t == DEFERRED && (retry_ms == 0 || r < retry_ms))
			retry_ms = r;
		stalled = t == STALLED;
	}
	/* A stalled pass is retried by the node's periodic spool_scan_soon(). */
	if (more)
		schedule(s, 0);
	else if (retry_ms && !stalled)
		schedule(s, retry_ms);
	free_names(held, n_held);
	free_names(names, n);
}

static void on_scan_timer(uv_timer_t *t)
{
	scan(t->data);
}

static void on_closed(uv_handle_t *h)
{
	struct spool *s = h->data;
	void (*cb)(void *);
	void *arg;

	if (--s->open_handles > 0)
		return;
	cb = s->close_cb;
	arg = s->close_arg;
	free(s->processing);
	free(s->dir);
	free(s);
	if (cb)
		cb(arg);
}

static void noop(void *arg)
{
}

void spool_close(struct spool *s, void (*cb)(void *arg), void *arg)
{
	if (!s)
		return;
	s->close_cb = cb ? cb : noop;
	s->close_arg = arg;
	uv_close((uv_handle_t *)&s->watch, on_closed);
	uv_close((uv_handle_t *)&s->timer, on_closed);
}
