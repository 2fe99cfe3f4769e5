/*
 * totals_table.h: the aggregator's documents as tables for a terminal,
 * shared by `tallyctl totals` and `tallyctl watch`: today's totals document
 * (GET /v1/totals, or the data of a /v1/events "totals" event), and for an
 * election of several contests the summary of every contest and one
 * contest's figures (GET /v1/contests, /v1/contests/{id}; names and the
 * contests' shape from GET /v1/election).
 *
 * Names (the title, contests, options, regions, districts) are printed in
 * `lang` ("kk", "ru", "en") when the document gives them in it (a "names"
 * object), else as the document's "name". The tables' own words are
 * English.
 */
#ifndef TALLY_CLI_TOTALS_TABLE_H
#define TALLY_CLI_TOTALS_TABLE_H

#include <jansson.h>
#include <stdio.h>

/*
 * Prints today's totals document to out: title, as-of and sequence, the
 * national figures (each option's votes and share of valid ballots,
 * turnout, precincts reported of total, invalid and not-counted ballots,
 * conflicts), the decision with its reasons where the election has rules,
 * then one line per region. Numbers carry thousands separators. Returns 0,
 * or -EINVAL when doc lacks "national".
 */
int totals_table_print(json_t *doc, const char *lang, FILE *out);

/*
 * Prints one line per contest of `contests` (GET /v1/contests): its name,
 * kind, precincts reported of total, status, and for a party list its
 * seats (from the decisions in `totals`, a /v1/totals document or totals
 * event; may be NULL), for a candidate contest who is elected, in a
 * runoff or leading, for a referendum the leading option. `election`
 * (GET /v1/election) gives the title and the options' names. Returns 0, or
 * -EINVAL when contests has no "contests" list.
 */
int totals_table_print_summary(json_t *election, json_t *contests, json_t *totals, const char *lang,
                               FILE *out);

/*
 * Prints one contest (GET /v1/contests/{id}): its name, kind, scope and
 * seats; each option's votes and share, the share's denominator named
 * ("% of valid" or "% of cast"), with a party list's seats; the figures;
 * the decision (a party list's seats provisional or final, the candidates
 * elected or in a runoff, a tie left to lot) with its reasons; then its
 * regions and districts. Returns 0, or -EINVAL when doc lacks "contest" or
 * "national".
 */
int totals_table_print_contest(json_t *election, json_t *doc, const char *lang, FILE *out);

#endif
