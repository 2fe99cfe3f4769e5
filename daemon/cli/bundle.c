/*
 * bundle.c: moves an observer's bundle between a file, an aggregator and a
 * sink, one part at a time. Reading walks the top-level object by hand and
 * lets jansson parse one member (or one entry of "entries") at a time, so
 * memory stays at one entry's size however long the log is; fetching asks
 * the aggregator's log API page by page. What the parts mean is audit.c's
 * business.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "http_client.h"

#define HTTP_TIMEOUT_MS 30000
/* How often to ask again for a head and totals of the same moment. */
#define SNAPSHOT_TRIES   50
#define SNAPSHOT_WAIT_MS 200

/* ---- reading ---- */

struct reader {
	const char *p, *end, *start;
	const char *path;
	struct tally_err *err;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

/* Moves past c if it is the next byte, and says whether it was. */
static bool eat(struct reader *r, char c)
{
	if (r->p >= r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

static int bad(struct reader *r, const char *what)
{
	return tally_err_set(r->err, -EBADMSG, "%s: not a bundle: %s at byte %zu", r->path, what,
	                     (size_t)(r->p - r->start));
}

/* Parses one JSON value at r->p and moves past it. */
static int value(struct reader *r, json_t **ret)
{
	json_error_t je;
	json_t *v;

	v = json_loadb(r->p, (size_t)(r->end - r->p), JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK,
	               &je);
	if (v == NULL)
		return tally_err_set(r->err, -EBADMSG, "%s: not a bundle: %s at byte %zu", r->path,
		                     je.text, (size_t)(r->p - r->start) + (size_t)je.position);
	r->p += je.position;
	*ret = v;
	return 0;
}

static int read_entries(struct reader *r, const struct bundle_sink *sink)
{
	int rc;

	if (!eat(r, '['))
		return bad(r, "\"entries\" is not an array");
	skip_ws(r);
	if (eat(r, ']'))
		return 0;
	for (;;) {
		json_t *e = NULL;

		skip_ws(r);
		if (r->p < r->end && *r->p == ']')
			return bad(r,
			           "a ',' before ']' in \"entries\" (JSON has no trailing commas)");
		rc = value(r, &e);
		if (rc < 0)
			return rc;
		rc = sink->entry ? sink->entry(sink->arg, e) : 0;
		json_decref(e);
		if (rc < 0)
			return rc;
		skip_ws(r);
		if (eat(r, ','))
			continue;
		if (eat(r, ']'))
			return 0;
		return bad(r, "expected ',' or ']' in \"entries\"");
	}
}

static int read_members(struct reader *r, const struct bundle_sink *sink)
{
	int rc;

	static const char *const known[] = {"tree_head", "log_key", "totals", "entries"};
	bool seen[sizeof(known) / sizeof(known[0])] = {false};

	skip_ws(r);
	if (!eat(r, '{'))
		return bad(r, "expected '{'");
	skip_ws(r);
	if (eat(r, '}'))
		goto end;
	for (;;) {
		json_t *key, *v = NULL;
		char name[32];

		skip_ws(r);
		if (r->p < r->end && *r->p == '}')
			return bad(r, "a ',' before '}' (JSON has no trailing commas)");
		if (r->p >= r->end || *r->p != '"')
			return bad(r, "expected a member name");
		rc = value(r, &key);
		if (rc < 0)
			return rc;
		snprintf(name, sizeof(name), "%s", json_string_value(key));
		json_decref(key);
		/* Two of a part would let one copy be checked and another be shown. */
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strcmp(name, known[i]) != 0)
				continue;
			if (seen[i])
				return tally_err_set(
				    r->err, -EBADMSG,
				    "%s: not a bundle: member \"%s\" appears twice "
				    "(at byte %zu)",
				    r->path, name, (size_t)(r->p - r->start));
			seen[i] = true;
		}
		skip_ws(r);
		if (!eat(r, ':'))
			return bad(r, "expected ':'");
		skip_ws(r);
		if (strcmp(name, "entries") == 0) {
			rc = read_entries(r, sink);
		} else {
			rc = value(r, &v);
			if (rc < 0)
				return rc;
			if (strcmp(name, "tree_head") == 0 && sink->head)
				rc = sink->head(sink->arg, v);
			else if (strcmp(name, "log_key") == 0 && sink->log_key)
				rc = sink->log_key(sink->arg, v);
			else if (strcmp(name, "totals") == 0 && sink->totals)
				rc = sink->totals(sink->arg, v);
			json_decref(v);
		}
		if (rc < 0)
			return rc;
		skip_ws(r);
		if (eat(r, ','))
			continue;
		if (eat(r, '}'))
			break;
		return bad(r, "expected ',' or '}'");
	}
end:
	skip_ws(r);
	if (r->p != r->end)
		return bad(r, "data after the bundle");
	return 0;
}

int bundle_read(const char *path, const struct bundle_sink *sink, struct tally_err *err)
{
	struct reader r = {.path = path, .err = err};
	struct stat st;
	void *map = MAP_FAILED;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tally_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = tally_err_set(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		rc = tally_err_set(err, -EBADMSG, "%s: not a bundle: the file is empty", path);
		goto out;
	}
	/* Mapped, not read: a bundle of a million leaves is hundreds of megabytes. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = tally_err_set(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	r.start = r.p = map;
	r.end = r.p + st.st_size;
	rc = read_members(&r, sink);
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return rc;
}

/* ---- fetching ---- */

int bundle_get_json(const char *base_url, const char *path, json_t **ret, struct tally_err *err)
{
	json_error_t je;
	char *body = NULL;
	size_t len = 0;
	int status = 0, rc;
	json_t *v;

	rc = http_get(base_url, path, HTTP_TIMEOUT_MS, &body, &len, &status, err);
	if (rc < 0)
		return rc;
	if (status != 200) {
		/* Keep the aggregator's own explanation, shortened. */
		if (len > 200)
			body[200] = '\0';
		rc = tally_err_set(err, -EPROTO, "GET %s: HTTP %d %s", path, status, body);
		goto out;
	}
	v = json_loadb(body, len, 0, &je);
	if (v == NULL || !json_is_object(v)) {
		json_decref(v);
		rc = tally_err_set(err, -EPROTO, "GET %s: the answer is not a JSON object", path);
		goto out;
	}
	*ret = v;
	rc = 0;
out:
	free(body);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * The head and the totals document of the same tree size. The aggregator
 * keeps the document it hashed into its latest head at /v1/log/totals; the
 * live /v1/totals is the fallback, and matches whenever no result arrived
 * between the head and the question.
 */
static int fetch_snapshot(const char *url, json_t **ret_sth, json_t **ret_totals,
                          struct tally_err *err)
{
	json_t *sth = NULL, *totals = NULL;
	bool log_totals = true;
	int rc = 0;

	for (int i = 0; i < SNAPSHOT_TRIES; i++) {
		json_t *size, *seq;

		json_decref(sth);
		json_decref(totals);
		sth = totals = NULL;
		rc = bundle_get_json(url, "/v1/log/sth", &sth, err);
		if (rc < 0)
			goto fail;
		if (log_totals) {
			rc = bundle_get_json(url, "/v1/log/totals", &totals, err);
			if (rc == -EPROTO && strstr(err->msg, "HTTP 404") != NULL)
				log_totals = false;
			else if (rc < 0)
				goto fail;
		}
		if (!log_totals) {
			rc = bundle_get_json(url, "/v1/totals", &totals, err);
			if (rc < 0)
				goto fail;
		}
		size = json_object_get(sth, "tree_size");
		seq = json_object_get(totals, "sequence");
		if (!json_is_integer(size) || !json_is_integer(seq)) {
			rc = tally_err_set(
			    err, -EPROTO,
			    "the head has no \"tree_size\" or the totals no \"sequence\"");
			goto fail;
		}
		if (json_integer_value(size) == json_integer_value(seq)) {
			*ret_sth = sth;
			*ret_totals = totals;
			return 0;
		}
		sleep_ms(SNAPSHOT_WAIT_MS);
	}
	rc = tally_err_set(err, -EPROTO,
	                   "the signed head and the totals kept describing different moments "
	                   "after %d tries; try again when results arrive more slowly",
	                   SNAPSHOT_TRIES);
fail:
	json_decref(sth);
	json_decref(totals);
	return rc;
}

int bundle_fetch(const char *base_url, const struct bundle_sink *sink, struct tally_err *err)
{
	json_t *sth = NULL, *totals = NULL, *key = NULL, *page = NULL;
	uint64_t size, start = 0;
	int rc;

	rc = fetch_snapshot(base_url, &sth, &totals, err);
	if (rc < 0)
		return rc;
	rc = bundle_get_json(base_url, "/v1/log/key", &key, err);
	if (rc < 0)
		goto out;
	if ((sink->head && (rc = sink->head(sink->arg, sth)) < 0) ||
	    (sink->log_key && (rc = sink->log_key(sink->arg, key)) < 0) ||
	    (sink->totals && (rc = sink->totals(sink->arg, totals)) < 0))
		goto out;
	size = (uint64_t)json_integer_value(json_object_get(sth, "tree_size"));
	while (start < size) {
		char path[128];
		json_t *entries, *e;
		size_t i;

		snprintf(path, sizeof(path), "/v1/log/entries?start=%" PRIu64 "&end=%" PRIu64,
		         start, size);
		rc = bundle_get_json(base_url, path, &page, err);
		if (rc < 0)
			goto out;
		entries = json_object_get(page, "entries");
		if (!json_is_array(entries) || json_array_size(entries) == 0) {
			rc = tally_err_set(err, -EPROTO, "GET %s: no entries in the answer", path);
			goto out;
		}
		json_array_foreach(entries, i, e)
		{
			if (sink->entry && (rc = sink->entry(sink->arg, e)) < 0)
				goto out;
		}
		start += json_array_size(entries);
		json_decref(page);
		page = NULL;
	}
	rc = 0;
out:
	json_decref(page);
	json_decref(key);
	json_decref(sth);
	json_decref(totals);
	return rc;
}

/* ---- writing ---- */

static int member(struct bundle_writer *w, const char *name, json_t *v)
{
	if (w->in_entries) {
		fputs("\n]", w->f);
		w->in_entries = false;
	}
	fprintf(w->f, "%s\n\"%s\": ", w->any ? "," : "", name);
	w->any = true;
	return json_dumpf(v, w->f, JSON_COMPACT | JSON_ENCODE_ANY) == 0 ? 0 : -EIO;
}

static int write_head(void *arg, json_t *v)
{
	return member(arg, "tree_head", v);
}

static int write_key(void *arg, json_t *v)
{
	return member(arg, "log_key", v);
}

static int write_totals(void *arg, json_t *v)
{
	return member(arg, "totals", v);
}

static int write_entry(void *arg, json_t *v)
{
	struct bundle_writer *w = arg;

	if (!w->in_entries) {
		fprintf(w->f, "%s\n\"entries\": [", w->any ? "," : "");
		w->any = w->in_entries = w->had_entries = true;
		w->first_entry = true;
	}
	fputs(w->first_entry ? "\n" : ",\n", w->f);
	w->first_entry = false;
	return json_dumpf(v, w->f, JSON_COMPACT) == 0 ? 0 : -EIO;
}

void bundle_writer_init(struct bundle_writer *w, FILE *f, struct bundle_sink *ret_sink)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	fputs("{", f);
	ret_sink->head = write_head;
	ret_sink->log_key = write_key;
	ret_sink->totals = write_totals;
	ret_sink->entry = write_entry;
	ret_sink->arg = w;
}

int bundle_writer_finish(struct bundle_writer *w)
{
	if (w->in_entries)
		fputs("\n]", w->f);
	else if (!w->had_entries)
		fprintf(w->f, "%s\n\"entries\": []", w->any ? "," : "");
	fputs("\n}\n", w->f);
	return ferror(w->f) ? -EIO : 0;
}
