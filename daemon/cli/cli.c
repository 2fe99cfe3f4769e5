/*
 * cli.c: what several subcommands share and nothing else: the options of a
 * command aimed at one place (a node's socket or an aggregator's URL) with
 * an optional --json. Each cmd_<name>.c keeps its own usage text, requests
 * and layout.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_target_options(int argc, char **argv, const char *target, char letter,
                       void (*usage)(FILE *f), const char **ret_target, int *ret_json)
{
	const struct option longopts[] = {
	    {target, required_argument, NULL, letter},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char shortopts[] = {letter, ':', 'j', 'h', '\0'};
	int c;

	*ret_target = NULL;
	*ret_json = 0;
	optind = 0; /* glibc: start over, even when called twice in one process */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == letter) {
			*ret_target = optarg;
			continue;
		}
		switch (c) {
		case 'j':
			*ret_json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (*ret_target == NULL) {
		usage(stderr);
		return 2;
	}
	return -1;
}
