/*
 * totals_table.h: the aggregator's totals document (GET /v1/totals, or the
 * data of a /v1/events "totals" event) as a table for a terminal, shared by
 * `tallyctl totals` and `tallyctl watch`.
 */
#ifndef TALLY_CLI_TOTALS_TABLE_H
#define TALLY_CLI_TOTALS_TABLE_H

#include <jansson.h>
#include <stdio.h>

/*
 * Prints doc to out: title, as-of and sequence, the national figures (each
 * option's votes and share of valid ballots, turnout, precincts reported of
 * total, invalid and not-counted ballots, conflicts), the decision with its
 * reasons where the election has rules, then one line per region. Numbers
 * carry thousands separators. Returns 0, or -EINVAL when doc lacks
 * "national".
 */
int totals_table_print(json_t *doc, FILE *out);

#endif
