/*
 * cmd_status.c: `tallyctl status --socket PATH [--json]` shows a tally-node's
 * state: the connection and which aggregator, the outbox depth, what was
 * sent, acknowledged (by outcome) and rejected by the aggregator, and the
 * last problems. The document is the node's (daemon/node/status.h); this
 * file only lays it out. Exit status 0, or 2 if the node cannot be asked.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "node_control.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl status --socket PATH [--json]\n"
	           "  --socket PATH  the node's control socket (control_socket in its config)\n"
	           "  --json         print the status document as JSON\n");
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

static void print_connection(const json_t *c)
{
	const char *state = str(c, "state");
	const char *where =
	    json_is_string(json_object_get(c, "aggregator")) ? str(c, "aggregator") : "(none)";

	if (strcmp(state, "connected") == 0)
		printf("connection:    connected to %s (aggregator '%s') for %lld s, %lld in "
		       "flight\n",
		       where, str(c, "aggregator_id"), num(c, "connected_for_s"),
		       num(c, "in_flight"));
	else if (strcmp(state, "disconnected") == 0)
		printf("connection:    disconnected; trying %s in %lld s\n", where,
		       num(c, "retry_in_s"));
	else
		printf("connection:    %s, %s\n", state, where);
}

static void print_status(const json_t *s)
{
	const json_t *ack = json_object_get(s, "acknowledged");
	const json_t *out = json_object_get(s, "outbox");
	const json_t *rej = json_object_get(s, "rejections");
	const json_t *probs = json_object_get(s, "problems");
	size_t i;
	json_t *v;

	printf("node:          %s (region %s, election %s)\n", str(s, "node_id"),
	       str(s, "region_id"), str(s, "election_id"));
	print_connection(json_object_get(s, "connection"));
	printf("outbox:        %lld queued (files taken: %lld)\n", num(out, "queued"),
	       num(out, "files"));
	printf("sent:          %lld since start\n", num(s, "sent"));
	printf("acknowledged:  %lld (accepted %lld, duplicate %lld, stale %lld, conflict %lld)\n",
	       num(ack, "total"), num(ack, "accepted"), num(ack, "duplicate"), num(ack, "stale"),
	       num(ack, "conflict"));
	printf("rejected by the aggregator: %lld\n", num(s, "rejected_by_aggregator"));
	json_array_foreach(rej, i, v)
	{
		printf("  entry %lld: precinct %lld revision %lld (%s line %lld): %s: %s\n",
		       num(v, "id"), num(v, "precinct_id"), num(v, "revision"), str(v, "source"),
		       num(v, "line"), str(v, "code"), str(v, "reason"));
	}
	if (json_array_size(probs) == 0) {
		printf("last problems: none\n");
		return;
	}
	printf("last problems:\n");
	json_array_foreach(probs, i, v)
	{
		long long n = num(v, "count");
		if (n > 1)
			printf("  %s %s: %s (%lld times)\n", str(v, "at"), str(v, "source"),
			       str(v, "text"), n);
		else
			printf("  %s %s: %s\n", str(v, "at"), str(v, "source"), str(v, "text"));
	}
}

int cmd_status(int argc, char **argv)
{
	const char *socket_path;
	json_t *answer;
	char err[512];
	int as_json, rc;

	rc = cli_target_options(argc, argv, "socket", 's', usage, &socket_path, &as_json);
	if (rc >= 0)
		return rc;
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = 2;
	answer =
	    node_control_call(socket_path, json_pack("{s:s}", "op", "status"), err, sizeof(err));
	if (!answer) {
		fprintf(stderr, "tallyctl status: %s\n", err);
		return 2;
	}
	if (!json_is_true(json_object_get(answer, "ok"))) {
		fprintf(stderr, "tallyctl status: the node says: %s\n", str(answer, "error"));
	} else if (as_json) {
		json_dumpf(json_object_get(answer, "status"), stdout, JSON_INDENT(2));
		putchar('\n');
		rc = 0;
	} else {
		print_status(json_object_get(answer, "status"));
		rc = 0;
	}
	json_decref(answer);
	return rc;
}
