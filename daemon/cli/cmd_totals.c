/*
 * cmd_totals.c: `tallyctl totals --url URL [--json]`, the aggregator's
 * current totals (GET /v1/totals) as a table, or the document itself. The
 * layout is totals_table.c's; this file owns the options and the request.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http_client.h"
#include "totals_table.h"

#define TIMEOUT_MS 15000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: tallyctl totals --url URL [--json]\n"
	        "  --url URL   the aggregator's publication address, e.g. http://127.0.0.1:8080\n"
	        "  --json      print the totals document as JSON instead of a table\n");
}

int cmd_totals(int argc, char **argv)
{
	const char *url;
	int as_json, status = 0, rc;
	char *body = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	json_error_t jerr;
	struct tally_err err = {{0}};

	rc = cli_target_options(argc, argv, "url", 'u', usage, &url, &as_json);
	if (rc >= 0)
		return rc;
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = 2;

	if (http_get(url, "/v1/totals", TIMEOUT_MS, &body, &len, &status, &err) < 0) {
		fprintf(stderr, "tallyctl totals: %s\n", err.msg);
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "tallyctl totals: %s/v1/totals answered HTTP %d: %.300s\n", url,
		        status, body);
		goto out;
	}
	doc = json_loadb(body, len, 0, &jerr);
	if (doc == NULL) {
		fprintf(stderr, "tallyctl totals: %s/v1/totals is not JSON: %s (line %d)\n", url,
		        jerr.text, jerr.line);
		goto out;
	}
	if (as_json) {
		/* Re-indented, so the output is readable and stable for scripts. */
		if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
			goto out;
		fputc('\n', stdout);
	} else if (totals_table_print(doc, stdout) < 0) {
		fprintf(stderr, "tallyctl totals: %s/v1/totals has no \"national\" figures\n", url);
		goto out;
	}
	rc = fflush(stdout) == 0 ? 0 : 2;
out:
	json_decref(doc);
	free(body);
	return rc;
}
