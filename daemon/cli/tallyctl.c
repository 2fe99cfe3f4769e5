/*
 * tallyctl.c: the operators' and observers' command-line tool. This file
 * only dispatches to cmd_<name>.c; each subcommand parses its own options,
 * the ones several share through cli.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tally/sign.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"submit", cmd_submit, "send protocol files to a node: --socket PATH FILE..."},
    {"status", cmd_status, "show a node's state: --socket PATH [--json]"},
    {"resend", cmd_resend,
     "send a node's deliveries again (after a restore): --socket PATH (--since TIME | --all)"},
    {"totals", cmd_totals,
     "print an aggregator's totals: --url URL [--contest ID] [--lang L] [--json]"},
    {"watch", cmd_watch, "follow an aggregator's totals live: --url URL [--contest ID]"},
    {"export", cmd_export, "save the public log as a bundle: --url URL --out FILE"},
    {"verify", cmd_verify,
     "check a bundle or live log: --election FILE --trusted-keys DIR (--bundle FILE | --url URL)"},
    {"prove", cmd_prove,
     "check a precinct's inclusion proof: --url URL --precinct ID [--contest ID]"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'tallyctl COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (tally_sign_init() < 0) {
		fprintf(stderr, "tallyctl: cannot initialise libsodium\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tallyctl: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
