/*
 * cli.h: the subcommands of tallyctl. Each lives in cmd_<name>.c and takes
 * the arguments after its name (argv[0] is the subcommand). Returns the
 * process exit status: 0 success, 1 a check failed or something was
 * rejected, 2 usage or I/O error. The option parsing several of them share
 * is in cli.c.
 */
#ifndef TALLY_CLI_H
#define TALLY_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tally/err.h"

int cmd_submit(int argc, char **argv); /* node control socket: send protocol files */
int cmd_status(int argc, char **argv); /* node control socket: state of the node */
int cmd_resend(int argc, char **argv); /* node control socket: send deliveries again */
int cmd_totals(int argc, char **argv); /* aggregator HTTP: totals as a table */
int cmd_watch(int argc, char **argv);  /* aggregator HTTP: follow /v1/events */
int cmd_export(int argc, char **argv); /* aggregator HTTP: log bundle for observers */
int cmd_verify(int argc, char **argv); /* observer: check a bundle or a live log */
int cmd_prove(int argc, char **argv);  /* observer: inclusion proof of a precinct */

/*
 * Parses the options of a subcommand aimed at one place: `--<target> VALUE`
 * (short form -<letter>), `--json` and `--help`. `usage` prints the
 * command's usage to the stream it is given. Returns -1 when the command
 * should go on, with *ret_target set, *ret_json 0 or 1 and optind at the
 * first operand (checking operands is the caller's); otherwise the exit
 * status to return at once, usage printed: 0 after --help (to stdout), 2
 * for an unknown option or a missing target (to stderr).
 */
/* "YYYY-MM-DDTHH:MM:SSZ", "...+HH:MM" / "...-HH:MM" or "@SECONDS" to
 * milliseconds since 1970: 0, or -1 if it is none of those. */
int cli_parse_time_ms(const char *s, int64_t *ret);

int cli_target_options(int argc, char **argv, const char *target, char letter,
                       void (*usage)(FILE *f), const char **ret_target, int *ret_json);

/*
 * The language names are printed in: `arg` (--lang) when given, which must
 * be "kk", "ru" or "en"; else the environment's locale, the first of
 * LC_ALL, LC_MESSAGES and LANG that is set and not empty: "kk_KZ.UTF-8"
 * (or "kk") gives "kk", "ru_RU.UTF-8" "ru", anything else "en". Returns 0
 * with *ret a static string, or -EINVAL for another --lang.
 */
int cli_lang(const char *arg, const char **ret);

/*
 * GET base_url + path, a JSON document expected. Returns 0 with *ret (the
 * caller's) and *ret_status 200; 1 with *ret_status set (and *ret NULL)
 * when the server answered another status; -EPROTO when a 200 answer is
 * not a JSON object, or http_get()'s error (err says which).
 */
int cli_get_json(const char *base_url, const char *path, int timeout_ms, json_t **ret,
                 int *ret_status, struct tally_err *err);

/*
 * s as one URL path segment into buf (cap bytes, NUL included): letters,
 * digits and "-._~" as they are, every other byte as %XX. Cut short when
 * buf is too small.
 */
void cli_path_escape(const char *s, char *buf, size_t cap);

#endif
