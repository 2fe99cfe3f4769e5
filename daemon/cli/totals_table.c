/*
 * totals_table.c: renders the totals documents as plain text: today's
 * /v1/totals, and for an election of several contests the summary of
 * every contest and one contest's figures. It owns layout only: fetching
 * and following the documents is cmd_totals.c's and cmd_watch.c's
 * business. Fields a document lacks print as "-" rather than failing, so
 * an older or newer aggregator still gives a readable table. Names come in
 * the language asked for when a "names" object has it; the words of the
 * tables are English.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
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

/*
 * At most w columns of s, right-aligned in w columns: cut between
 * characters, never inside one (what "%9.9s" does for ASCII).
 */
static void right(FILE *out, const char *s, int w)
{
	const char *end = s;
	int cols = 0;

	while (*end != '\0') {
		if (((unsigned char)*end & 0xC0) != 0x80) {
			if (cols == w)
				break;
			cols++;
		}
		end++;
	}
	for (int i = cols; i < w; i++)
		fputc(' ', out);
	fwrite(s, 1, (size_t)(end - s), out);
}

/* s padded with spaces to w columns (left-aligned). */
static void pad(FILE *out, const char *s, int w)
{
	fputs(s, out);
	for (int i = width(s); i < w; i++)
		fputc(' ', out);
}

/*
 * o's name in lang: its "names" entry for lang, else its "name", else its
 * "id"; NULL when it has none of them.
 */
static const char *name_in(json_t *o, const char *lang)
{
	const char *s = json_string_value(json_object_get(json_object_get(o, "names"), lang));

	if (s == NULL || s[0] == '\0')
		s = json_string_value(json_object_get(o, "name"));
	if (s == NULL || s[0] == '\0')
		s = json_string_value(json_object_get(o, "id"));
	return s;
}

/* The title in lang: "titles" for lang, else "title"; NULL if none. */
static const char *title_in(json_t *doc, const char *lang)
{
	const char *s = json_string_value(json_object_get(json_object_get(doc, "titles"), lang));

	return s != NULL && s[0] != '\0' ? s : json_string_value(json_object_get(doc, "title"));
}

/* The element of arr whose "id" is id, or NULL. */
static json_t *by_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *v;

	if (id == NULL)
		return NULL;
	json_array_foreach(arr, i, v)
	{
		const char *vid = json_string_value(json_object_get(v, "id"));

		if (vid != NULL && strcmp(vid, id) == 0)
			return v;
	}
	return NULL;
}

struct option {
	const char *id;
	const char *name;
	bool against_all;
};

/* The options of a contest's shape ({"options": [...]}), names in lang. */
static size_t options_in(json_t *shape, const char *lang, struct option *opts)
{
	size_t n = 0, i;
	json_t *v;

	json_array_foreach(json_object_get(shape, "options"), i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));

		if (id != NULL && n < OPTIONS_MAX)
			opts[n++] = (struct option){
			    id, name_in(v, lang), json_is_true(json_object_get(v, "against_all"))};
	}
	return n;
}

/* Today's document: its "options" when it has them, else the ids of the national votes. */
static size_t options_of(json_t *doc, const char *lang, struct option *opts)
{
	size_t n = 0;
	json_t *v;
	const char *key;
	json_t *arr = json_object_get(doc, "options");

	if (json_is_array(arr) && json_array_size(arr) > 0)
		return options_in(doc, lang, opts);
	json_object_foreach(json_object_get(json_object_get(doc, "national"), "votes"), key, v)
	{
		if (n < OPTIONS_MAX)
			opts[n++] = (struct option){key, key, false};
	}
	return n;
}

/* The name of option id among opts, else the id itself. */
static const char *option_name(const struct option *opts, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(opts[i].id, id) == 0)
			return opts[i].name;
	return id;
}

/* "A, B, C" of the option ids in arr, by name; "-" when there are none. */
static void names_of_ids(json_t *arr, const struct option *opts, size_t n_opts, char *buf,
                         size_t cap)
{
	size_t len = 0, i;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		const char *id = json_string_value(v);

		if (id != NULL && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
			                        option_name(opts, n_opts, id));
	}
	if (len == 0)
		snprintf(buf, cap, "-");
}

/*
 * The national table: each option's votes and share under pct_header,
 * and with seats (a decision's {"option": n}) a seats column.
 */
static void print_national(json_t *n, const struct option *opts, size_t n_opts,
                           const char *pct_header, json_t *seats, FILE *out)
{
	char a[40], b[40], c[40];
	json_t *votes = json_object_get(n, "votes"), *vpct = json_object_get(n, "votes_pct");
	int w = 6;

	for (size_t i = 0; i < n_opts; i++)
		if (width(opts[i].name) > w)
			w = width(opts[i].name);
	fprintf(out, "  ");
	pad(out, "Option", w);
	fprintf(out, "  %15s  %10s", "Votes", pct_header);
	if (seats != NULL)
		fprintf(out, "  %5s", "Seats");
	fprintf(out, "\n");
	for (size_t i = 0; i < n_opts; i++) {
		fprintf(out, "  ");
		pad(out, opts[i].name, w);
		fprintf(out, "  %15s  %10s",
		        group(json_object_get(votes, opts[i].id), a, sizeof(a)),
		        pct(json_object_get(vpct, opts[i].id), b, sizeof(b)));
		if (seats != NULL)
			fprintf(out, "  %5s",
			        opts[i].against_all
			            ? "-"
			            : group(json_object_get(seats, opts[i].id), c, sizeof(c)));
		fprintf(out, "\n");
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

static void print_reasons(json_t *d, FILE *out)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(d, "reasons"), i, r)
	{
		if (json_is_string(r))
			fprintf(out, "    - %s\n", json_string_value(r));
	}
}

static void print_decision(json_t *d, FILE *out)
{
	const char *status = json_string_value(json_object_get(d, "status"));

	if (status == NULL || strcmp(status, "none") == 0)
		return;
	fprintf(out, "  %-20s %s\n", "Decision",
	        strcmp(status, "undetermined") == 0 ? "not yet determined" : status);
	print_reasons(d, out);
}

/* "1 seat among A, B" of a decision's tie object into buf; false when there is none. */
static bool tie_words(json_t *tie, const struct option *opts, size_t n_opts, char *buf, size_t cap)
{
	char names[1024];
	json_int_t seats = json_integer_value(json_object_get(tie, "seats"));

	if (!json_is_object(tie))
		return false;
	names_of_ids(json_object_get(tie, "options"), opts, n_opts, names, sizeof(names));
	snprintf(buf, cap, "%" JSON_INTEGER_FORMAT " seat%s among %s", seats, seats == 1 ? "" : "s",
	         names);
	return true;
}

/* A contest's decision, its kind's own lines, then the reasons. */
static void print_contest_decision(json_t *d, const char *kind, const struct option *opts,
                                   size_t n_opts, FILE *out)
{
	const char *status = json_string_value(json_object_get(d, "status"));
	char buf[1100];
	json_t *v;

	if (status == NULL || strcmp(status, "none") == 0)
		return;
	if (strcmp(status, "undetermined") == 0)
		fprintf(out, "  %-20s %s\n", "Decision", "not yet determined");
	else if (strcmp(status, "provisional") == 0)
		fprintf(out, "  %-20s %s\n", "Decision",
		        "provisional (the seats if counting stopped now)");
	else
		fprintf(out, "  %-20s %s\n", "Decision", status);
	if (strcmp(kind, "party_list") == 0) {
		names_of_ids(json_object_get(d, "passed"), opts, n_opts, buf, sizeof(buf));
		fprintf(out, "  %-20s %s\n", "Passed threshold", buf);
		v = json_object_get(d, "vacant");
		if (json_integer_value(v) > 0)
			fprintf(out, "  %-20s %" JSON_INTEGER_FORMAT "\n", "Vacant seats",
			        json_integer_value(v));
	}
	if (strcmp(kind, "candidate") == 0) {
		v = json_object_get(d, "elected");
		if (json_array_size(v) > 0) {
			names_of_ids(v, opts, n_opts, buf, sizeof(buf));
			fprintf(out, "  %-20s %s\n", "Elected", buf);
		}
		v = json_object_get(d, "runoff");
		if (json_is_array(v)) {
			names_of_ids(v, opts, n_opts, buf, sizeof(buf));
			fprintf(out, "  %-20s %s\n", "Runoff", buf);
		}
	}
	if (tie_words(json_object_get(d, "tie"), opts, n_opts, buf, sizeof(buf)))
		fprintf(out, "  %-20s %s\n", "Left to lot", buf);
	print_reasons(d, out);
}

/* One line per region or district (`label`): reported, turnout, each option's share. */
static void print_parts(json_t *parts, const char *label, const struct option *opts, size_t n_opts,
                        const char *lang, FILE *out)
{
	char a[40], b[40], cell[96];
	size_t i;
	json_t *r;
	int w = 6;

	if (!json_is_array(parts) || json_array_size(parts) == 0)
		return;
	json_array_foreach(parts, i, r)
	{
		const char *name = name_in(r, lang);
		if (name && width(name) > w)
			w = width(name);
	}
	fprintf(out, "\n  ");
	pad(out, label, w);
	fprintf(out, "  %-8s %17s %9s", "Id", "Reported", "Turnout");
	for (size_t k = 0; k < n_opts; k++) {
		fputc(' ', out);
		right(out, opts[k].name, 9);
	}
	fprintf(out, " %9s\n", "Conflicts");

	json_array_foreach(parts, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *name = name_in(r, lang);
		if (name == NULL)
			name = "?";
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

/* "Election <id>, as of <time>, sequence <n>" under the title. */
static void print_head(const char *title, json_t *doc, FILE *out)
{
	const char *id = json_string_value(json_object_get(doc, "election_id"));
	const char *as_of = json_string_value(json_object_get(doc, "as_of"));
	char a[40];

	if (title)
		fprintf(out, "%s\n", title);
	fprintf(out, "Election %s, as of %s, sequence %s\n\n", id ? id : "-", as_of ? as_of : "-",
	        group(json_object_get(doc, "sequence"), a, sizeof(a)));
}

int totals_table_print(json_t *doc, const char *lang, FILE *out)
{
	struct option opts[OPTIONS_MAX];
	json_t *n = json_object_get(doc, "national");

	if (!json_is_object(n))
		return -EINVAL;
	size_t n_opts = options_of(doc, lang, opts);

	print_head(title_in(doc, lang), doc, out);
	print_national(n, opts, n_opts, "% of valid", NULL, out);
	print_decision(json_object_get(doc, "decision"), out);
	print_parts(json_object_get(doc, "regions"), "Region", opts, n_opts, lang, out);
	return 0;
}

/* ---- several contests ------------------------------------------------ */

/* How a kind reads in a table. */
static const char *kind_words(const char *kind)
{
	if (kind == NULL)
		return "-";
	if (strcmp(kind, "party_list") == 0)
		return "party list";
	return kind;
}

/* "national", "regions Astana, ..." or "district <name>", names in lang. */
static void scope_words(json_t *election, json_t *scope, const char *lang, char *buf, size_t cap)
{
	json_t *regions = json_object_get(scope, "regions");
	const char *district = json_string_value(json_object_get(scope, "district"));
	size_t len = 0, i;
	json_t *v;

	if (json_is_array(regions)) {
		len = (size_t)snprintf(buf, cap, "region%s ",
		                       json_array_size(regions) == 1 ? "" : "s");
		json_array_foreach(regions, i, v)
		{
			json_t *r =
			    by_id(json_object_get(election, "regions"), json_string_value(v));
			const char *name = r ? name_in(r, lang) : json_string_value(v);

			if (len < cap)
				len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
				                        name ? name : "?");
		}
	} else if (district != NULL) {
		json_t *d = by_id(json_object_get(election, "districts"), district);

		snprintf(buf, cap, "district %s", d ? name_in(d, lang) : district);
	} else {
		snprintf(buf, cap, "national");
	}
}

/*
 * A contest's shape in the election document, else the contest's own
 * entry; its name in lang from whichever has one.
 */
static json_t *shape_of(json_t *election, json_t *entry)
{
	json_t *shape = by_id(json_object_get(election, "contests"),
	                      json_string_value(json_object_get(entry, "id")));

	return shape != NULL ? shape : entry;
}

static const char *contest_name(json_t *election, json_t *entry, const char *lang)
{
	json_t *shape = shape_of(election, entry);

	return json_is_object(json_object_get(shape, "names")) ? name_in(shape, lang)
	                                                       : name_in(entry, lang);
}

/*
 * The summary's last column: a party list's seats; who is elected, in a
 * runoff or tied, or that nobody is; else who leads.
 */
static void standing(json_t *entry, json_t *decision, const struct option *opts, size_t n_opts,
                     char *buf, size_t cap)
{
	const char *kind = json_string_value(json_object_get(entry, "kind"));
	const char *leader = json_string_value(json_object_get(entry, "leader"));
	const char *status = json_string_value(json_object_get(entry, "status"));
	json_t *seats = json_object_get(decision, "seats");
	char names[1024];
	size_t len = 0;

	buf[0] = '\0';
	if (kind != NULL && strcmp(kind, "party_list") == 0 && json_is_object(seats)) {
		for (size_t i = 0; i < n_opts && len < cap; i++) {
			json_int_t k = json_integer_value(json_object_get(seats, opts[i].id));

			if (k > 0)
				len += (size_t)snprintf(buf + len, cap - len,
				                        "%s%s %" JSON_INTEGER_FORMAT,
				                        len ? ", " : "", opts[i].name, k);
		}
		if (len > 0)
			return;
	}
	if (kind != NULL && strcmp(kind, "candidate") == 0) {
		if (status != NULL && strcmp(status, "failed") == 0) {
			snprintf(buf, cap, "nobody elected");
			return;
		}
		if (json_array_size(json_object_get(decision, "elected")) > 0) {
			names_of_ids(json_object_get(decision, "elected"), opts, n_opts, names,
			             sizeof(names));
			snprintf(buf, cap, "elected: %s", names);
			return;
		}
		if (json_is_array(json_object_get(decision, "runoff"))) {
			names_of_ids(json_object_get(decision, "runoff"), opts, n_opts, names,
			             sizeof(names));
			snprintf(buf, cap, "runoff: %s", names);
			return;
		}
		if (json_is_object(json_object_get(decision, "tie"))) {
			names_of_ids(json_object_get(json_object_get(decision, "tie"), "options"),
			             opts, n_opts, names, sizeof(names));
			snprintf(buf, cap, "tie: %s", names);
			return;
		}
	}
	if (leader != NULL)
		snprintf(buf, cap, "leading: %s", option_name(opts, n_opts, leader));
	else
		snprintf(buf, cap, "-");
}

int totals_table_print_summary(json_t *election, json_t *contests, json_t *totals, const char *lang,
                               FILE *out)
{
	json_t *list = json_object_get(contests, "contests"), *entry;
	char a[40], b[40], cell[96], last[2048];
	int w = 7, rw = 8;
	size_t i;

	if (!json_is_array(list))
		return -EINVAL;
	json_array_foreach(list, i, entry)
	{
		const char *name = contest_name(election, entry, lang);

		if (name != NULL && width(name) > w)
			w = width(name);
		snprintf(cell, sizeof(cell), "%s/%s",
		         group(json_object_get(entry, "precincts_reported"), a, sizeof(a)),
		         group(json_object_get(entry, "precincts_total"), b, sizeof(b)));
		if (width(cell) > rw)
			rw = width(cell);
	}
	print_head(title_in(election, lang), contests, out);
	fprintf(out, "  ");
	pad(out, "Contest", w);
	fprintf(out, "  %-10s  %*s  %-12s  %s\n", "Kind", rw, "Reported", "Status",
	        "Leader or seats");
	json_array_foreach(list, i, entry)
	{
		struct option opts[OPTIONS_MAX];
		const char *name = contest_name(election, entry, lang);
		const char *id = json_string_value(json_object_get(entry, "id"));
		const char *status = json_string_value(json_object_get(entry, "status"));
		json_t *decision =
		    json_object_get(by_id(json_object_get(totals, "contests"), id), "decision");
		size_t n_opts = options_in(shape_of(election, entry), lang, opts);

		standing(entry, decision, opts, n_opts, last, sizeof(last));
		snprintf(cell, sizeof(cell), "%s/%s",
		         group(json_object_get(entry, "precincts_reported"), a, sizeof(a)),
		         group(json_object_get(entry, "precincts_total"), b, sizeof(b)));
		fprintf(out, "  ");
		pad(out, name ? name : "?", w);
		fprintf(out, "  %-10s  %*s  %-12s  %s\n",
		        kind_words(json_string_value(json_object_get(entry, "kind"))), rw, cell,
		        status ? status : "-", last);
	}
	return 0;
}

int totals_table_print_contest(json_t *election, json_t *doc, const char *lang, FILE *out)
{
	struct option opts[OPTIONS_MAX];
	json_t *c = json_object_get(doc, "contest"), *n = json_object_get(doc, "national");
	json_t *d = json_object_get(doc, "decision");
	const char *kind = json_string_value(json_object_get(c, "kind"));
	const char *pct_of = json_string_value(json_object_get(n, "pct_of"));
	const char *name;
	json_int_t seats = json_integer_value(json_object_get(c, "seats"));
	char scope[1024];
	size_t n_opts;

	if (!json_is_object(c) || !json_is_object(n))
		return -EINVAL;
	if (kind == NULL)
		kind = "";
	/* Its options as the document gives them, else as the election's does. */
	n_opts = options_in(
	    json_is_array(json_object_get(c, "options")) ? c : shape_of(election, c), lang, opts);
	name = contest_name(election, c, lang);
	print_head(title_in(election, lang), doc, out);
	scope_words(election, json_object_get(c, "scope"), lang, scope, sizeof(scope));
	fprintf(out, "%s (%s, %s", name ? name : "?", kind_words(kind), scope);
	if (seats > 0)
		fprintf(out, ", %" JSON_INTEGER_FORMAT " seat%s", seats, seats == 1 ? "" : "s");
	fprintf(out, ")\n\n");
	print_national(n, opts, n_opts,
	               pct_of != NULL && strcmp(pct_of, "ballots_cast") == 0 ? "% of cast"
	                                                                     : "% of valid",
	               strcmp(kind, "party_list") == 0 ? json_object_get(d, "seats") : NULL, out);
	print_contest_decision(d, kind, opts, n_opts, out);
	print_parts(json_object_get(doc, "regions"), "Region", opts, n_opts, lang, out);
	print_parts(json_object_get(doc, "districts"), "District", opts, n_opts, lang, out);
	return 0;
}
