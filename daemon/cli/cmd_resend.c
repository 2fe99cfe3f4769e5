/*
 * cmd_resend.c: `tallyctl resend --socket PATH (--since TIME | --all)` asks a
 * tally-node to send again every protocol the aggregator acknowledged at or
 * after TIME (the node's clock). It is for an aggregator restored from a
 * backup: what it acknowledged after the backup is gone from its store, and
 * the nodes, which hold it as delivered, would otherwise never send it
 * again. Resending more than needed is harmless: the aggregator answers
 * "duplicate" for what it has. Exit status 0, or 2 if the node cannot be
 * asked or says no.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "node_control.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl resend --socket PATH (--since TIME | --all)\n"
	           "  --socket PATH  the node's control socket (control_socket in its config)\n"
	           "  --since TIME   protocols acknowledged at or after TIME, given as\n"
	           "                 YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DDTHH:MM:SS+HH:MM or @SECONDS\n"
	           "  --all          every protocol the node has delivered\n");
}

int cmd_resend(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"since", required_argument, NULL, 't'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *socket_path = NULL, *since = NULL;
	int all = 0, opt, rc = 2;
	int64_t since_ms = 0;
	json_t *answer;
	char err[512];

	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:t:ah", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			since = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (socket_path == NULL || (since == NULL) == !all || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (since != NULL && cli_parse_time_ms(since, &since_ms) < 0) {
		fprintf(stderr,
		        "tallyctl resend: --since '%s' is not a time (YYYY-MM-DDTHH:MM:SSZ, "
		        "YYYY-MM-DDTHH:MM:SS+HH:MM or @SECONDS)\n",
		        since);
		return 2;
	}
	answer = node_control_call(
	    socket_path, json_pack("{s:s, s:I}", "op", "resend", "since_ms", (json_int_t)since_ms),
	    err, sizeof(err));
	if (!answer) {
		fprintf(stderr, "tallyctl resend: %s\n", err);
		return 2;
	}
	if (!json_is_true(json_object_get(answer, "ok"))) {
		fprintf(stderr, "tallyctl resend: the node says: %s\n",
		        json_string_value(json_object_get(answer, "error")));
	} else {
		json_int_t n = json_integer_value(json_object_get(answer, "requeued"));
		printf("%" JSON_INTEGER_FORMAT " delivered protocol%s back in the node's queue%s\n",
		       n, n == 1 ? "" : "s",
		       n ? "; sending them again now (the aggregator answers \"duplicate\" for "
		           "those it has)"
		         : "");
		rc = 0;
	}
	json_decref(answer);
	return rc;
}
