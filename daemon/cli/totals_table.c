/*
 * totals_table.c: renders a totals document as plain text. It owns layout
 * only: fetching and following the document is cmd_totals.c's and
 * cmd_watch.c's business. Fields a document lacks print as "-" rather than
 * failing, so an older or newer aggregator still gives a readable table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tally/totals.h"
#include "totals_table.h"

#define OPTIONS_MAX 32

/* n with thousands separators ("12,482,613") into buf, or "-" if it is no count. */
static const char *group(json_t *v, char *buf, size_t len)
{
	char grouped[TALLY_GROUPED_MAX];

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s",
		         tally_figures_group((uint64_t)json_integer_value(v), grouped));
	return buf;
}

static const char *pct(json_t *v, char *buf, size_t len)
{
	if (json_is_number(v))
		snprintf(buf, len, "%.2f%%", json_number_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

/* Columns on a terminal: UTF-8 continuation bytes take no column. */
static int width(const char *s)
{
	int w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* s padded with spaces to w columns (left-aligned). */
static void pad(FILE *out, const char *s, int w)
{
	fputs(s, out);
	for (int i = width(s); i < w; i++)
		fputc(' ', out);
}

struct option {
	const char *id;
	const char *name;
};

static size_t options_of(json_t *doc, struct option *opts)
{
	size_t n = 0, i;
	json_t *v;
	const char *key;
	json_t *arr = json_object_get(doc, "options");

	if (json_is_array(arr) && json_array_size(arr) > 0) {
		json_array_foreach(arr, i, v)
		{
			const char *id = json_string_value(json_object_get(v, "id"));
			const char *name = json_string_value(json_object_get(v, "name"));
			if (id && n < OPTIONS_MAX)
				opts[n++] = (struct option){id, name ? name : id};
		}
		return n;
	}
	json_object_foreach(json_object_get(json_object_get(doc, "national"), "votes"), key, v)
	{
		if (n < OPTIONS_MAX)
			opts[n++] = (struct option){key, key};
	}
	return n;
}

static void print_national(json_t *n, const struct option *opts, size_t n_opts, FILE *out)
{
	char a[40], b[40], c[40];
	json_t *votes = json_object_get(n, "votes"), *vpct = json_object_get(n, "votes_pct");
	int w = 6;

	for (size_t i = 0; i < n_opts; i++)
		if (width(opts[i].name) > w)
			w = width(opts[i].name);
	fprintf(out, "  ");
	pad(out, "Option", w);
	fprintf(out, "  %15s  %10s\n", "Votes", "% of valid");
	for (size_t i = 0; i < n_opts; i++) {
		fprintf(out, "  ");
		pad(out, opts[i].name, w);
		fprintf(out, "  %15s  %10s\n",
		        group(json_object_get(votes, opts[i].id), a, sizeof(a)),
		        pct(json_object_get(vpct, opts[i].id), b, sizeof(b)));
	}
	fprintf(out, "\n");

	json_t *rep = json_object_get(n, "precincts_reported"),
	       *tot = json_object_get(n, "precincts_total");
	double share = json_integer_value(tot) > 0 ? 100.0 * (double)json_integer_value(rep) /
	                                                 (double)json_integer_value(tot)
	                                           : 0;
	fprintf(out, "  %-20s %s of %s (%.2f%%)\n", "Precincts reported", group(rep, a, sizeof(a)),
	        group(tot, b, sizeof(b)), share);
	fprintf(out, "  %-20s %s (%s cast of %s registered)\n", "Turnout",
	        pct(json_object_get(n, "turnout_pct"), a, sizeof(a)),
	        group(json_object_get(n, "ballots_cast"), b, sizeof(b)),
	        group(json_object_get(n, "voters_registered"), c, sizeof(c)));
	fprintf(out, "  %-20s %s\n", "Invalid ballots",
	        group(json_object_get(n, "ballots_invalid"), a, sizeof(a)));
	fprintf(out, "  %-20s %s\n", "Not counted",
	        group(json_object_get(n, "ballots_not_counted"), a, sizeof(a)));
	fprintf(out, "  %-20s %s\n", "Conflicts",
	        group(json_object_get(n, "conflicts"), a, sizeof(a)));
}

static void print_decision(json_t *d, FILE *out)
{
	const char *status = json_string_value(json_object_get(d, "status"));
	size_t i;
	json_t *r;

	if (status == NULL || strcmp(status, "none") == 0)
		return;
	fprintf(out, "  %-20s %s\n", "Decision",
	        strcmp(status, "undetermined") == 0 ? "not yet determined" : status);
	json_array_foreach(json_object_get(d, "reasons"), i, r)
	{
		if (json_is_string(r))
			fprintf(out, "    - %s\n", json_string_value(r));
	}
}

static void print_regions(json_t *regions, const struct option *opts, size_t n_opts, FILE *out)
{
	char a[40], b[40], cell[96];
	size_t i;
	json_t *r;
	int w = 6;

	if (!json_is_array(regions) || json_array_size(regions) == 0)
		return;
	json_array_foreach(regions, i, r)
	{
		const char *name = json_string_value(json_object_get(r, "name"));
		if (name == NULL || name[0] == '\0')
			name = json_string_value(json_object_get(r, "id"));
		if (name && width(name) > w)
			w = width(name);
	}
	fprintf(out, "\n  ");
	pad(out, "Region", w);
	fprintf(out, "  %-8s %17s %9s", "Id", "Reported", "Turnout");
	for (size_t k = 0; k < n_opts; k++)
		fprintf(out, " %9.9s", opts[k].name);
	fprintf(out, " %9s\n", "Conflicts");

	json_array_foreach(regions, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *name = json_string_value(json_object_get(r, "name"));
		if (name == NULL || name[0] == '\0')
			name = id ? id : "?";
		fprintf(out, "  ");
		pad(out, name, w);
		snprintf(cell, sizeof(cell), "%s/%s",
		         group(json_object_get(r, "precincts_reported"), a, sizeof(a)),
		         group(json_object_get(r, "precincts_total"), b, sizeof(b)));
		fprintf(out, "  %-8s %17s %9s", id ? id : "-", cell,
		        pct(json_object_get(r, "turnout_pct"), a, sizeof(a)));
		json_t *vpct = json_object_get(r, "votes_pct");
		for (size_t k = 0; k < n_opts; k++)
			fprintf(out, " %9s", pct(json_object_get(vpct, opts[k].id), a, sizeof(a)));
		fprintf(out, " %9s\n", group(json_object_get(r, "conflicts"), a, sizeof(a)));
	}
}

int totals_table_print(json_t *doc, FILE *out)
{
	struct option opts[OPTIONS_MAX];
	char a[40];
	json_t *n = json_object_get(doc, "national");

	if (!json_is_object(n))
		return -EINVAL;
	size_t n_opts = options_of(doc, opts);
	const char *title = json_string_value(json_object_get(doc, "title"));
	const char *id = json_string_value(json_object_get(doc, "election_id"));
	const char *as_of = json_string_value(json_object_get(doc, "as_of"));

	if (title)
		fprintf(out, "%s\n", title);
	fprintf(out, "Election %s, as of %s, sequence %s\n\n", id ? id : "-", as_of ? as_of : "-",
	        group(json_object_get(doc, "sequence"), a, sizeof(a)));
	print_national(n, opts, n_opts, out);
	print_decision(json_object_get(doc, "decision"), out);
	print_regions(json_object_get(doc, "regions"), opts, n_opts, out);
	return 0;
}
