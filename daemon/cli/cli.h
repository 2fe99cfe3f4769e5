/*
 * cli.h: the subcommands of tallyctl. Each lives in cmd_<name>.c and takes
 * the arguments after its name (argv[0] is the subcommand). Returns the
 * process exit status: 0 success, 1 a check failed or something was
 * rejected, 2 usage or I/O error.
 */
#ifndef TALLY_CLI_H
#define TALLY_CLI_H

int cmd_submit(int argc, char **argv); /* node control socket: send protocol files */
int cmd_status(int argc, char **argv); /* node control socket: state of the node */
int cmd_totals(int argc, char **argv); /* aggregator HTTP: totals as a table */
int cmd_watch(int argc, char **argv);  /* aggregator HTTP: follow /v1/events */
int cmd_export(int argc, char **argv); /* aggregator HTTP: log bundle for observers */
int cmd_verify(int argc, char **argv); /* observer: check a bundle or a live log */
int cmd_prove(int argc, char **argv);  /* observer: inclusion proof of a precinct */

#endif
