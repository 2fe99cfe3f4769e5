/*
 * cmd_export.c: `tallyctl export --url URL --out FILE`. Saves an
 * aggregator's public record as one bundle file (see bundle.h) that anyone
 * can later check with `tallyctl verify --bundle`. The file appears only
 * once complete (written beside it, synced, then renamed), so a half
 * export never passes for a whole one. It checks nothing itself.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl export --url URL --out FILE\n"
	           "\n"
	           "Saves the aggregator's signed tree head, log key, the totals at that tree\n"
	           "size and every log entry as one JSON bundle for `tallyctl verify --bundle`.\n");
}

/* Counts entries on their way to the writer, for the summary. */
struct counting {
	struct bundle_sink inner;
	uint64_t entries, tree_size;
};

static int count_head(void *arg, json_t *v)
{
	struct counting *c = arg;

	c->tree_size = (uint64_t)json_integer_value(json_object_get(v, "tree_size"));
	return c->inner.head(c->inner.arg, v);
}

static int count_key(void *arg, json_t *v)
{
	struct counting *c = arg;

	return c->inner.log_key(c->inner.arg, v);
}

static int count_totals(void *arg, json_t *v)
{
	struct counting *c = arg;

	return c->inner.totals(c->inner.arg, v);
}

static int count_entry(void *arg, json_t *v)
{
	struct counting *c = arg;

	c->entries++;
	return c->inner.entry(c->inner.arg, v);
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *out = NULL;
	struct counting c = {0};
	struct bundle_sink sink = {count_head, count_key, count_totals, count_entry, &c};
	struct bundle_writer w;
	struct tally_err err = {{0}};
	char *tmp = NULL;
	FILE *f = NULL;
	int opt, rc, status = 2;

	optind = 0; /* glibc: start over, even when called twice in one process */
	while ((opt = getopt_long(argc, argv, "u:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || out == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (asprintf(&tmp, "%s.tmp.%ld", out, (long)getpid()) < 0) {
		fprintf(stderr, "tallyctl export: out of memory\n");
		return 2;
	}
	f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, "tallyctl export: cannot write '%s': %s\n", tmp, strerror(errno));
		goto out;
	}
	bundle_writer_init(&w, f, &c.inner);
	rc = bundle_fetch(url, &sink, &err);
	if (rc < 0) {
		fprintf(stderr, "tallyctl export: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	if (bundle_writer_finish(&w) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fprintf(stderr, "tallyctl export: writing '%s': %s\n", tmp, strerror(errno));
		goto out;
	}
	rc = fclose(f);
	f = NULL;
	if (rc != 0 || rename(tmp, out) != 0) {
		fprintf(stderr, "tallyctl export: cannot write '%s': %s\n", out, strerror(errno));
		goto out;
	}
	printf("exported tree size %" PRIu64 " (%" PRIu64 " entries) to %s\n", c.tree_size,
	       c.entries, out);
	status = 0;
out:
	if (f != NULL)
		fclose(f);
	if (status != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	return status;
}
