/*
 * cmd_submit.c: `tallyctl submit --socket PATH FILE...` hands protocol files
 * to a tally-node over its control socket and prints, for each file at once,
 * each protocol's fate: queued (committed to the node's outbox), already
 * queued (the same file was taken before), or the file rejected with every
 * failing row. Exit status: 0 all queued, 1 any file rejected, 2 usage, I/O
 * or a node that could not queue.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "node_control.h"

/* The node refuses larger files anyway; do not ship them to learn that. */
#define SUBMIT_MAX_FILE (4u * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl submit --socket PATH [--json] FILE...\n"
	           "  --socket PATH  the node's control socket (control_socket in its config)\n"
	           "  --json         print the node's answers as JSON, one line per file\n"
	           "Files are *.json (a protocol, or an array of them) or *.csv (a header, one\n"
	           "protocol per row).\n"
	           "Exit status: 0 all queued, 1 a file was rejected, 2 an error.\n");
}

static int read_file(const char *path, char **ret, size_t *ret_len, char *err, size_t cap)
{
	struct stat st;
	char *buf;
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, cap, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, cap, "not a regular file");
		fclose(f);
		return -1;
	}
	if ((uint64_t)st.st_size > SUBMIT_MAX_FILE) {
		snprintf(err, cap, "%lld bytes, more than the %u a protocol file may have",
		         (long long)st.st_size, SUBMIT_MAX_FILE);
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, cap, "out of memory");
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void print_protocol(const json_t *p)
{
	const char *state = str(p, "state");

	printf("  line %lld: precinct %lld", num(p, "line"), num(p, "precinct_id"));
	/* Only an election of several contests names them. */
	if (json_is_string(json_object_get(p, "contest_id")))
		printf(" contest %s", str(p, "contest_id"));
	printf(" revision %lld: ", num(p, "revision"));
	if (strcmp(state, "delivered") == 0)
		printf("delivered, %s (entry %lld)\n", str(p, "outcome"), num(p, "id"));
	else if (strcmp(state, "rejected") == 0)
		printf("rejected by the aggregator: %s: %s (entry %lld)\n", str(p, "code"),
		       str(p, "reason"), num(p, "id"));
	else
		printf("%s (entry %lld)\n", state, num(p, "id"));
}

/* Prints one answer for humans. Returns the file's exit status. */
static int print_answer(const char *name, const json_t *a)
{
	const json_t *protocols = json_object_get(a, "protocols");
	const json_t *errors = json_object_get(a, "errors");
	const char *fate = str(a, "fate");
	size_t i, n = json_array_size(protocols), n_err = json_array_size(errors);
	json_t *v;

	if (!json_is_true(json_object_get(a, "ok"))) {
		printf("%s: error: %s\n", name, str(a, "error"));
		return 2;
	}
	if (strcmp(fate, "rejected") == 0) {
		long long more = num(a, "errors_not_shown");
		printf("%s: rejected, nothing queued (%lld problem%s):\n", name,
		       (long long)n_err + more, n_err + (size_t)more == 1 ? "" : "s");
		json_array_foreach(errors, i, v) printf("  %s\n", str(v, "text"));
		if (more)
			printf("  ... and %lld more\n", more);
		return 1;
	}
	if (strcmp(fate, "queued") == 0)
		printf("%s: queued %zu protocol%s\n", name, n, n == 1 ? "" : "s");
	else
		printf("%s: the same file was queued before; not queued again (%zu protocol%s)\n",
		       name, n, n == 1 ? "" : "s");
	json_array_foreach(protocols, i, v) print_protocol(v);
	return 0;
}

static int worst(int a, int b)
{
	return a > b ? a : b;
}

int cmd_submit(int argc, char **argv)
{
	const char *socket_path;
	char err[512];
	int as_json, fd, rc;

	rc = cli_target_options(argc, argv, "socket", 's', usage, &socket_path, &as_json);
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	rc = 0;
	fd = node_control_connect(socket_path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "tallyctl submit: %s\n", err);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		char *copy = strdup(argv[i]), *data = NULL;
		const char *name = copy ? basename(copy) : argv[i];
		json_t *req = NULL, *answer = NULL, *jdata;
		size_t len = 0;

		if (read_file(argv[i], &data, &len, err, sizeof(err)) < 0) {
			fprintf(stderr, "tallyctl submit: %s: %s\n", argv[i], err);
			rc = worst(rc, 2);
			goto next;
		}
		jdata = json_stringn(data, len);
		if (!jdata) {
			/* Protocol files are text; the socket carries JSON strings. */
			printf("%s: rejected, nothing queued (1 problem):\n  file: not UTF-8 text "
			       "(or holds a NUL byte)\n",
			       name);
			rc = worst(rc, 1);
			goto next;
		}
		req = json_pack("{s:s, s:s, s:o}", "op", "submit", "name", name, "data", jdata);
		answer = req ? node_control_ask(fd, req, err, sizeof(err)) : NULL;
		if (!answer) {
			fprintf(stderr, "tallyctl submit: %s: %s\n", argv[i],
			        req ? err : "out of memory");
			rc = worst(rc, 2);
			free(data);
			json_decref(req);
			free(copy);
			break; /* the connection is in an unknown state */
		}
		if (as_json) {
			json_dumpf(answer, stdout, JSON_COMPACT);
			putchar('\n');
			if (!json_is_true(json_object_get(answer, "ok")))
				rc = worst(rc, 2);
			else if (strcmp(str(answer, "fate"), "rejected") == 0)
				rc = worst(rc, 1);
		} else {
			rc = worst(rc, print_answer(name, answer));
		}
		fflush(stdout);
	next:
		json_decref(answer);
		json_decref(req);
		free(data);
		free(copy);
	}
	close(fd);
	return rc;
}
