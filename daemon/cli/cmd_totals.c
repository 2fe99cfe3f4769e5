/*
 * cmd_totals.c: `tallyctl totals --url URL [--contest ID] [--lang L]
 * [--json]`, the aggregator's current totals as a table, or the document
 * itself. An aggregator that publishes the election's shape (GET
 * /v1/election) and counts several contests gets a summary of every
 * contest (GET /v1/contests, with the seats of GET /v1/totals), or with
 * --contest that contest's figures (GET /v1/contests/{id}). One that
 * answers 404 there, or counts one contest, gets today's table of GET
 * /v1/totals. The layout is totals_table.c's; this file owns the options
 * and the requests.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http_client.h"
#include "tally/result.h"
#include "totals_table.h"

#define TIMEOUT_MS 15000

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl totals --url URL [--contest ID] [--lang kk|ru|en] [--json]\n"
	           "  --url URL       the aggregator's publication address, e.g. "
	           "http://127.0.0.1:8080\n"
	           "  --contest ID    one contest of a general election: its votes, seats or\n"
	           "                  candidates elected, regions and districts (without it, a\n"
	           "                  summary of every contest)\n"
	           "  --lang LANG     names in kk, ru or en (default: from LC_ALL, LC_MESSAGES or\n"
	           "                  LANG; English otherwise); the table's own words are English\n"
	           "  --json          print the document as JSON instead of a table\n");
}

/* Re-indented, so the output is readable and stable for scripts. */
static int print_json(json_t *doc)
{
	if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return -1;
	fputc('\n', stdout);
	return 0;
}

/* Today's document and table (GET /v1/totals). Exit status. */
static int print_totals(const char *url, const char *lang, int as_json)
{
	int status = 0, rc = 2;
	char *body = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	json_error_t jerr;
	struct tally_err err = {{0}};

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
		if (print_json(doc) < 0)
			goto out;
	} else if (totals_table_print(doc, lang, stdout) < 0) {
		fprintf(stderr, "tallyctl totals: %s/v1/totals has no \"national\" figures\n", url);
		goto out;
	}
	rc = fflush(stdout) == 0 ? 0 : 2;
out:
	json_decref(doc);
	free(body);
	return rc;
}

/* GET url + path, which must answer 200 with a JSON object. 0, or 2 with the reason printed. */
static int fetch(const char *url, const char *path, json_t **ret)
{
	struct tally_err err = {{0}};
	int status = 0, r;

	r = cli_get_json(url, path, TIMEOUT_MS, ret, &status, &err);
	if (r < 0) {
		fprintf(stderr, "tallyctl totals: %s\n", err.msg);
		return 2;
	}
	if (r > 0) {
		fprintf(stderr, "tallyctl totals: %s%s answered HTTP %d\n", url, path, status);
		return 2;
	}
	return 0;
}

/* The election's shape, or NULL (*ret_status 404) from an aggregator without it. 0 or 2. */
static int fetch_election(const char *url, json_t **ret)
{
	struct tally_err err = {{0}};
	int status = 0, r;

	r = cli_get_json(url, "/v1/election", TIMEOUT_MS, ret, &status, &err);
	if (r < 0) {
		fprintf(stderr, "tallyctl totals: %s\n", err.msg);
		return 2;
	}
	if (r > 0 && status != 404) {
		fprintf(stderr, "tallyctl totals: %s/v1/election answered HTTP %d\n", url, status);
		return 2;
	}
	return 0;
}

/* Whether the election document has a contest `id`; if not, says which it has. */
static bool has_contest(json_t *election, const char *id)
{
	json_t *list = json_object_get(election, "contests"), *c;
	size_t i;

	json_array_foreach(list, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "id"));

		if (cid != NULL && strcmp(cid, id) == 0)
			return true;
	}
	fprintf(stderr, "tallyctl totals: election '%s' has no contest '%s'; its contests:",
	        json_string_value(json_object_get(election, "election_id")), id);
	json_array_foreach(list, i, c)
	{
		fprintf(stderr, "%s %s", i ? "," : "", json_string_value(json_object_get(c, "id")));
	}
	fputc('\n', stderr);
	return false;
}

int cmd_totals(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},  {"contest", required_argument, NULL, 'c'},
	    {"lang", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *contest = NULL, *lang_arg = NULL, *lang;
	json_t *election = NULL, *contests = NULL, *totals = NULL, *doc = NULL;
	int as_json = 0, opt, rc = 2;

	optind = 0; /* glibc: start over, even when called twice in one process */
	while ((opt = getopt_long(argc, argv, "u:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'c':
			contest = optarg;
			break;
		case 'l':
			lang_arg = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cli_lang(lang_arg, &lang) < 0) {
		fprintf(stderr, "tallyctl totals: --lang '%s': names come in kk, ru or en\n",
		        lang_arg);
		return 2;
	}
	if (fetch_election(url, &election) != 0)
		goto out;
	if (election == NULL) {
		/* An aggregator of one referendum, as before general elections. */
		if (contest != NULL && strcmp(contest, "referendum") != 0) {
			fprintf(
			    stderr,
			    "tallyctl totals: %s counts one referendum (no /v1/election); it has "
			    "no contest '%s'\n",
			    url, contest);
			goto out;
		}
		rc = print_totals(url, lang, as_json);
		goto out;
	}
	if (contest == NULL && json_array_size(json_object_get(election, "contests")) <= 1) {
		rc = print_totals(url, lang, as_json);
		goto out;
	}
	if (contest == NULL) {
		if (fetch(url, "/v1/totals", &totals) != 0)
			goto out;
		if (as_json) {
			rc = print_json(totals) == 0 && fflush(stdout) == 0 ? 0 : 2;
			goto out;
		}
		if (fetch(url, "/v1/contests", &contests) != 0)
			goto out;
		if (totals_table_print_summary(election, contests, totals, lang, stdout) < 0) {
			fprintf(stderr,
			        "tallyctl totals: %s/v1/contests has no \"contests\" list\n", url);
			goto out;
		}
	} else {
		char path[TALLY_ID_MAX * 3 + 16];

		if (!has_contest(election, contest))
			goto out;
		snprintf(path, sizeof(path), "/v1/contests/");
		cli_path_escape(contest, path + strlen(path), sizeof(path) - strlen(path));
		if (fetch(url, path, &doc) != 0)
			goto out;
		if (as_json) {
			rc = print_json(doc) == 0 && fflush(stdout) == 0 ? 0 : 2;
			goto out;
		}
		if (totals_table_print_contest(election, doc, lang, stdout) < 0) {
			fprintf(stderr,
			        "tallyctl totals: %s%s has no \"contest\" or \"national\"\n", url,
			        path);
			goto out;
		}
	}
	rc = fflush(stdout) == 0 ? 0 : 2;
out:
	json_decref(election);
	json_decref(contests);
	json_decref(totals);
	json_decref(doc);
	return rc;
}
