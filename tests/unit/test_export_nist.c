/*
 * Tests for export_nist.c: the NIST SP 1500-100 v2 document for a small
 * election whose totals are laid out by hand, so the mapping is checked on
 * its own (the totals module has its own tests), and pinned byte for byte;
 * then a general election loaded by the real loader, its totals applied as
 * the aggregator applies them. Schema validation of both is in
 * tests/integration/test_publish.py (the general election's documents are
 * written by general_documents_for_the_schema when TALLY_NIST_OUT is set).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aggregator/export_nist.h"
#include "tally/totals.h"

/*
 * Two regions, three precincts, options yes/no:
 *   KZ-71 "Astana":  precinct 1 (100 registered), precinct 2 (200)
 *   KZ-75 "Al\"maty": precinct 3 (300)  (a quote, to check escaping)
 * Reported: precinct 1 (registered 100, cast 80, invalid 2, not counted 3,
 * yes 50, no 25) and precinct 3 (registered 310 per its protocol, cast 250,
 * invalid 5, not counted 0, yes 200, no 45). Precinct 2 comes later.
 */
struct fixture {
	struct tally_election e;
	struct tally_option options[2];
	struct tally_region regions[2];
	struct tally_precinct precincts[3];
	uint32_t r0[2], r1[1];
	/* The referendum as the loader derives it: one national contest. */
	struct tally_contest contest;
	struct tally_contest_option contest_options[2];
	uint32_t contest_precincts[3], contest_regions[2];
	struct tally_totals t;
	struct tally_contest_totals ct;
	struct tally_slot_state states[3];
	uint32_t counted[3 * 6];
	struct tally_figures region_figs[2];
};

static void add(struct tally_figures *f, const uint32_t *c)
{
	f->precincts_reported++;
	f->voters_registered += c[0];
	f->ballots_cast += c[1];
	f->ballots_invalid += c[2];
	f->ballots_not_counted += c[3];
	f->votes[0] += c[4];
	f->votes[1] += c[5];
}

static void report(struct fixture *x, size_t p, const uint32_t fig[6])
{
	memcpy(&x->counted[p * 6], fig, 6 * sizeof(uint32_t));
	x->states[p].revision = 1;
	x->states[p].leaf_index = (int64_t)x->t.sequence;
	x->t.sequence++;
	add(&x->ct.national, fig);
	add(&x->region_figs[x->precincts[p].region], fig);
}

static void setup(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	struct tally_election *e = &x->e;
	snprintf(e->election_id, sizeof(e->election_id), "test-2026");
	e->title = "Test referendum";
	snprintf(x->options[0].id, TALLY_ID_MAX, "yes");
	x->options[0].name = "Yes";
	snprintf(x->options[1].id, TALLY_ID_MAX, "no");
	x->options[1].name = "No";
	e->n_options = 2;
	e->options = x->options;

	x->precincts[0] = (struct tally_precinct){.id = 1, .registered = 100, .region = 0};
	x->precincts[1] = (struct tally_precinct){.id = 2, .registered = 200, .region = 0};
	x->precincts[2] = (struct tally_precinct){.id = 3, .registered = 300, .region = 1};
	e->n_precincts = 3;
	e->precincts = x->precincts;
	e->registered = 600;

	x->r0[0] = 0;
	x->r0[1] = 1;
	x->r1[0] = 2;
	snprintf(x->regions[0].id, TALLY_ID_MAX, "KZ-71");
	x->regions[0].name = "Astana";
	x->regions[0].registered = 300;
	x->regions[0].n_precincts = 2;
	x->regions[0].precincts = x->r0;
	snprintf(x->regions[1].id, TALLY_ID_MAX, "KZ-75");
	x->regions[1].name = "Al\"maty";
	x->regions[1].registered = 300;
	x->regions[1].n_precincts = 1;
	x->regions[1].precincts = x->r1;
	e->n_regions = 2;
	e->regions = x->regions;

	struct tally_contest *c = &x->contest;
	snprintf(c->id, TALLY_ID_MAX, "referendum");
	c->scope = TALLY_SCOPE_NATIONAL;
	c->district = -1;
	for (size_t i = 0; i < 2; i++) {
		memcpy(x->contest_options[i].id, x->options[i].id, TALLY_ID_MAX);
		x->contest_options[i].party = -1;
	}
	c->n_options = 2;
	c->options = x->contest_options;
	for (uint32_t i = 0; i < 3; i++)
		x->contest_precincts[i] = i;
	c->n_precincts = 3;
	c->precincts = x->contest_precincts;
	c->registered = 600;
	x->contest_regions[0] = 0;
	x->contest_regions[1] = 1;
	c->n_regions = 2;
	c->regions = x->contest_regions;
	e->n_contests = 1;
	e->contests = c;
	e->n_slots = 3;

	x->t.election = e;
	x->t.slots = x->states;
	x->t.contests = &x->ct;
	x->ct.counted = x->counted;
	x->ct.regions = x->region_figs;
	for (size_t i = 0; i < 3; i++)
		x->states[i].leaf_index = -1;
	x->ct.national.precincts_total = 3;
	x->region_figs[0].precincts_total = 2;
	x->region_figs[1].precincts_total = 1;

	report(x, 0, (const uint32_t[6]){100, 80, 2, 3, 50, 25});
	report(x, 2, (const uint32_t[6]){310, 250, 5, 0, 200, 45});
}

static const struct export_nist_opts opts = {
    .issuer = "Central Election Commission (test)",
    .issuer_abbreviation = "CEC",
    .vendor_application_id = "tally 0.1.0",
    .language = "en",
    .election_date = "2026-03-15",
    .generated_at = 1773568800, /* 2026-03-15T10:00:00Z */
};

static json_t *build(const struct fixture *x, const struct export_nist_opts *o)
{
	json_t *doc = NULL;
	int rc = export_nist_build(&x->t, o, &doc);
	cr_assert_eq(rc, 0, "export_nist_build: %d", rc);
	cr_assert_not_null(doc);
	return doc;
}

/* The object in array a whose key equals value, or NULL. */
static json_t *find(json_t *a, const char *key, const char *value)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(json_object_get(v, key));
		if (s && strcmp(s, value) == 0)
			return v;
	}
	return NULL;
}

static json_t *contest(json_t *doc)
{
	json_t *el = json_array_get(json_object_get(doc, "Election"), 0);
	cr_assert_not_null(el);
	return json_array_get(json_object_get(el, "Contest"), 0);
}

static json_int_t vote_count(json_t *doc, const char *selection, const char *unit)
{
	json_t *sel = find(json_object_get(contest(doc), "ContestSelection"), "@id", selection);
	cr_assert_not_null(sel, "selection %s", selection);
	json_t *vc = find(json_object_get(sel, "VoteCounts"), "GpUnitId", unit);
	if (vc == NULL)
		return -1;
	cr_assert_str_eq(json_string_value(json_object_get(vc, "Type")), "total");
	cr_assert_str_eq(json_string_value(json_object_get(vc, "@type")),
	                 "ElectionResults.VoteCounts");
	return json_integer_value(json_object_get(vc, "Count"));
}

static json_t *unit(json_t *doc, const char *id)
{
	json_t *u = find(json_object_get(doc, "GpUnit"), "@id", id);
	cr_assert_not_null(u, "GpUnit %s", id);
	return u;
}

static json_int_t int_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

Test(export_nist, header_fields_and_partial_status)
{
	struct fixture x;
	setup(&x);
	json_t *doc = build(&x, &opts);

	cr_assert_str_eq(json_string_value(json_object_get(doc, "@type")),
	                 "ElectionResults.ElectionReport");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "Status")), "unofficial-partial");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "Format")), "precinct-level");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "GeneratedDate")),
	                 "2026-03-15T10:00:00Z");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "Issuer")),
	                 "Central Election Commission (test)");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "IssuerAbbreviation")), "CEC");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "VendorApplicationId")),
	                 "tally 0.1.0");
	cr_assert_eq(int_at(doc, "SequenceStart"), 1);
	cr_assert_eq(int_at(doc, "SequenceEnd"), 1);
	json_t *ext =
	    find(json_object_get(doc, "ExternalIdentifier"), "OtherType", "tally-sequence");
	cr_assert_not_null(ext);
	cr_assert_str_eq(json_string_value(json_object_get(ext, "Value")), "2");

	json_t *el = json_array_get(json_object_get(doc, "Election"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(el, "@type")),
	                 "ElectionResults.Election");
	cr_assert_str_eq(json_string_value(json_object_get(el, "ElectionScopeId")), "ru-country");
	cr_assert_str_eq(json_string_value(json_object_get(el, "StartDate")), "2026-03-15");
	cr_assert_str_eq(json_string_value(json_object_get(el, "EndDate")), "2026-03-15");
	json_t *name = json_array_get(json_object_get(json_object_get(el, "Name"), "Text"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(name, "Content")), "Test referendum");
	cr_assert_str_eq(json_string_value(json_object_get(name, "Language")), "en");

	json_t *c = contest(doc);
	cr_assert_str_eq(json_string_value(json_object_get(c, "@type")),
	                 "ElectionResults.BallotMeasureContest");
	cr_assert_str_eq(json_string_value(json_object_get(c, "Type")), "referendum");
	cr_assert_eq(int_at(c, "TotalSubUnits"), 3);
	cr_assert_eq(int_at(c, "SubUnitsReported"), 2);
	cr_assert_eq(json_array_size(json_object_get(c, "ContestSelection")), 2);
	json_decref(doc);
}

Test(export_nist, vote_counts_per_unit_are_exact)
{
	struct fixture x;
	setup(&x);
	json_t *doc = build(&x, &opts);

	cr_assert_eq(vote_count(doc, "bms-yes", "ru-country"), 250);
	cr_assert_eq(vote_count(doc, "bms-no", "ru-country"), 70);
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-KZ-71"), 50);
	cr_assert_eq(vote_count(doc, "bms-no", "ru-KZ-71"), 25);
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-KZ-75"), 200);
	cr_assert_eq(vote_count(doc, "bms-no", "ru-KZ-75"), 45);
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-p1"), 50);
	cr_assert_eq(vote_count(doc, "bms-no", "ru-p3"), 45);
	/* An unreported precinct has no counts at all, rather than zeros. */
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-p2"), -1);

	json_t *el = json_array_get(json_object_get(doc, "Election"), 0);
	json_t *bc = find(json_object_get(el, "BallotCounts"), "GpUnitId", "ru-country");
	cr_assert_eq(int_at(bc, "BallotsCast"), 330);
	cr_assert_eq(int_at(bc, "BallotsRejected"), 7);
	bc = find(json_object_get(el, "BallotCounts"), "GpUnitId", "ru-p3");
	cr_assert_eq(int_at(bc, "BallotsCast"), 250);
	cr_assert_eq(int_at(bc, "BallotsRejected"), 5);
	cr_assert_null(find(json_object_get(el, "BallotCounts"), "GpUnitId", "ru-p2"));
	json_t *oc = find(json_object_get(contest(doc), "OtherCounts"), "GpUnitId", "ru-KZ-71");
	cr_assert_eq(int_at(oc, "Overvotes"), 3);
	json_decref(doc);
}

Test(export_nist, gpunit_tree_with_registered_and_reported)
{
	struct fixture x;
	setup(&x);
	json_t *doc = build(&x, &opts);

	cr_assert_eq(json_array_size(json_object_get(doc, "GpUnit")), 1 + 2 + 3);
	json_t *country = unit(doc, "ru-country");
	cr_assert_str_eq(json_string_value(json_object_get(country, "Type")), "country");
	json_t *comp = json_object_get(country, "ComposingGpUnitIds");
	cr_assert_eq(json_array_size(comp), 2);
	cr_assert_str_eq(json_string_value(json_array_get(comp, 0)), "ru-KZ-71");
	cr_assert_str_eq(json_string_value(json_array_get(comp, 1)), "ru-KZ-75");
	cr_assert_eq(int_at(country, "TotalSubUnits"), 3);
	cr_assert_eq(int_at(country, "SubUnitsReported"), 2);
	/* 100 (p1's protocol) + 200 (p2, definition) + 310 (p3's protocol). */
	cr_assert_eq(int_at(country, "VotersRegistered"), 610);
	cr_assert_eq(int_at(country, "VotersParticipated"), 330);

	json_t *r1 = unit(doc, "ru-KZ-75");
	cr_assert_str_eq(json_string_value(json_object_get(r1, "Type")), "state");
	json_t *rn = json_array_get(json_object_get(json_object_get(r1, "Name"), "Text"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rn, "Content")), "Al\"maty");
	cr_assert_eq(int_at(r1, "VotersRegistered"), 310);
	cr_assert_eq(int_at(r1, "TotalSubUnits"), 1);
	cr_assert_eq(int_at(r1, "SubUnitsReported"), 1);
	json_t *r0 = unit(doc, "ru-KZ-71");
	comp = json_object_get(r0, "ComposingGpUnitIds");
	cr_assert_eq(json_array_size(comp), 2);
	cr_assert_str_eq(json_string_value(json_array_get(comp, 1)), "ru-p2");
	cr_assert_eq(int_at(r0, "VotersRegistered"), 300);

	json_t *p2 = unit(doc, "ru-p2");
	cr_assert_str_eq(json_string_value(json_object_get(p2, "Type")), "precinct");
	cr_assert_eq(int_at(p2, "VotersRegistered"), 200);
	cr_assert_null(json_object_get(p2, "VotersParticipated"));
	json_t *cs = json_array_get(json_object_get(p2, "CountStatus"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(cs, "Status")), "not-processed");
	json_t *p3 = unit(doc, "ru-p3");
	cr_assert_eq(int_at(p3, "VotersParticipated"), 250);
	cs = json_array_get(json_object_get(p3, "CountStatus"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(cs, "Status")), "completed");
	json_decref(doc);
}

Test(export_nist, complete_once_every_precinct_is_in)
{
	struct fixture x;
	setup(&x);
	cr_assert_str_eq(export_nist_status(&x.t), "unofficial-partial");
	report(&x, 1, (const uint32_t[6]){200, 150, 0, 1, 100, 49});
	cr_assert_str_eq(export_nist_status(&x.t), "unofficial-complete");

	json_t *doc = build(&x, &opts);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "Status")), "unofficial-complete");
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-country"), 350);
	cr_assert_eq(vote_count(doc, "bms-no", "ru-KZ-71"), 74);
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-p2"), 100);
	cr_assert_eq(int_at(contest(doc), "SubUnitsReported"), 3);
	json_t *cs = json_array_get(json_object_get(unit(doc, "ru-country"), "CountStatus"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(cs, "Status")), "completed");
	json_decref(doc);
}

Test(export_nist, summary_only_leaves_out_precincts)
{
	struct fixture x;
	setup(&x);
	struct export_nist_opts o = opts;
	o.summary_only = true;
	json_t *doc = build(&x, &o);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "Format")), "summary-contest");
	cr_assert_eq(json_array_size(json_object_get(doc, "GpUnit")), 3);
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-KZ-75"), 200);
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-p1"), -1);
	json_decref(doc);
}

Test(export_nist, conflict_flag_marks_precinct_in_process)
{
	struct fixture x;
	setup(&x);
	x.states[0].n_conflicts = 1;
	json_t *doc = build(&x, &opts);
	json_t *cs = json_array_get(json_object_get(unit(doc, "ru-p1"), "CountStatus"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(cs, "Status")), "in-process");
	/* Still counted: the first copy stands until a higher revision. */
	cr_assert_eq(vote_count(doc, "bms-yes", "ru-p1"), 50);
	json_decref(doc);
}

Test(export_nist, missing_issuer_is_einval)
{
	struct fixture x;
	setup(&x);
	struct export_nist_opts o = opts;
	o.issuer = NULL;
	json_t *doc = NULL;
	cr_assert_eq(export_nist_build(&x.t, &o, &doc), -EINVAL);
	cr_assert_null(doc);
}

static int fail_after(const char *s, size_t n, void *arg)
{
	size_t *left = arg;
	if (*left < n)
		return -1;
	*left -= n;
	return 0;
}

Test(export_nist, sink_failure_is_eio)
{
	struct fixture x;
	setup(&x);
	size_t left = 1000;
	cr_assert_eq(export_nist_write(&x.t, &opts, fail_after, &left), -EIO);
}

Test(export_nist, date_defaults_to_generation_day)
{
	struct fixture x;
	setup(&x);
	struct export_nist_opts o = opts;
	o.election_date = NULL;
	o.generated_at = 1773619199; /* 2026-03-15T23:59:59Z */
	json_t *doc = build(&x, &o);
	json_t *el = json_array_get(json_object_get(doc, "Election"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(el, "StartDate")), "2026-03-15");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "GeneratedDate")),
	                 "2026-03-15T23:59:59Z");
	json_decref(doc);
}

/* ---- the document of a definition without contests, byte for byte ---- */

struct sink {
	char *data;
	size_t len, cap;
};

static int on_sink(const char *s, size_t n, void *arg)
{
	struct sink *b = arg;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		cr_assert_not_null(p);
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int on_sink_file(const char *s, size_t n, void *arg)
{
	return fwrite(s, 1, n, arg) == n ? 0 : -1;
}

/* The whole file, NUL-terminated, or NULL when it cannot be read. */
static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct sink b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		on_sink(chunk, n, &b);
	fclose(f);
	*ret_len = b.len;
	return b.data ? b.data : calloc(1, 1);
}

/*
 * The export of t must be the bytes of tests/unit/data/nist/<name>. On a
 * difference the document made is left in <build>/artifacts/<name> for a
 * diff.
 */
static void expect_bytes(const struct tally_totals *t, const struct export_nist_opts *o,
                         const char *name)
{
	struct sink got = {0};
	char path[1024];
	size_t want_len = 0;

	cr_assert_eq(export_nist_write(t, o, on_sink, &got), 0);
	snprintf(path, sizeof(path), "%s/tests/unit/data/nist/%s", TALLY_SOURCE_DIR, name);
	char *want = slurp(path, &want_len);
	bool same = want != NULL && want_len == got.len && memcmp(want, got.data, got.len) == 0;
	if (!same) {
		snprintf(path, sizeof(path), "%s/artifacts", TALLY_BINARY_DIR);
		mkdir(path, 0777);
		snprintf(path, sizeof(path), "%s/artifacts/%s", TALLY_BINARY_DIR, name);
		FILE *f = fopen(path, "wb");
		if (f != NULL) {
			fwrite(got.data, 1, got.len, f);
			fclose(f);
		}
	}
	cr_assert(same,
	          "the export differs from tests/unit/data/nist/%s (%zu bytes, want %zu%s); "
	          "this run's document is %s",
	          name, got.len, want_len, want ? "" : ": missing", path);
	free(want);
	free(got.data);
}

Test(export_nist, referendum_without_contests_is_unchanged)
{
	struct fixture x;
	setup(&x);
	expect_bytes(&x.t, &opts, "referendum-precincts.json");
	struct export_nist_opts o = opts;
	o.summary_only = true;
	expect_bytes(&x.t, &o, "referendum-summary.json");
	x.states[0].n_conflicts = 1;
	report(&x, 1, (const uint32_t[6]){200, 150, 0, 1, 100, 49});
	expect_bytes(&x.t, &opts, "referendum-complete.json");
}

/*
 * A definition without contests may still name parties and districts and
 * give names in several languages: none of it enters the referendum's
 * document, which stays as it always was.
 */
Test(export_nist, loaded_referendum_with_districts_and_languages_is_unchanged)
{
	static const char json[] =
	    "{\"election_id\": \"kz-ref-2026\","
	    " \"title\": {\"kk\": \"Референдум\", \"ru\": \"Референдум\", \"en\": \"Referendum\"},"
	    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": "
	    "\"No\"}],"
	    " \"parties\": [{\"id\": \"amanat\", \"name\": \"AMANAT\", \"color\": \"#1f77b4\"}],"
	    " \"regions\": ["
	    "  {\"id\": \"KZ-71\", \"name\": {\"kk\": \"Астана\", \"en\": \"Astana\"},"
	    "   \"precincts\": [[1, 100], [2, 200]]},"
	    "  {\"id\": \"KZ-75\", \"name\": \"Almaty\", \"precincts\": [[3, 300]]}],"
	    " \"districts\": [{\"id\": \"OTK-1\", \"precincts\": [2, 3]}],"
	    " \"rules\": {\"min_turnout_pct\": 50}}";
	struct tally_election *e = NULL;
	struct tally_totals *t = NULL;
	struct tally_err err = {{0}};
	uint8_t h[TALLY_HASH_BYTES] = {1};
	enum tally_outcome out;

	cr_assert_eq(tally_election_parse(json, sizeof(json) - 1, &e, &err), 0, "%s", err.msg);
	cr_assert(tally_election_is_legacy(e));
	cr_assert_eq(tally_totals_new(e, &t), 0);
	cr_assert_eq(tally_totals_apply_figures(t, 0, 1, h, 0,
	                                        (const uint32_t[]){100, 80, 2, 3, 50, 25}, &out),
	             0);
	h[0] = 2;
	cr_assert_eq(tally_totals_apply_figures(t, 2, 1, h, 1,
	                                        (const uint32_t[]){310, 250, 5, 0, 200, 45}, &out),
	             0);
	expect_bytes(t, &opts, "referendum-loaded.json");
	tally_totals_free(t);
	tally_election_free(e);
}

/* ---- a general election ------------------------------------------------ */

/*
 * Loaded like any definition. Two regions and a district across their
 * border (precinct 3 in KZ-71, 101 in KZ-11), five contests: a national
 * party list of 10 seats (three parties, a list without a party, against
 * all), a candidate race in the district (against all), a president by
 * absolute majority, an akim of KZ-11 (scope: regions) and a referendum.
 * Precinct indexes: 1 -> 0, 2 -> 1, 3 -> 2, 101 -> 3, 102 -> 4.
 */
static const char general_json[] =
    "{\"election_id\": \"kz-2027-general\","
    " \"title\": {\"kk\": \"Біріккен сайлау\", \"ru\": \"Единые выборы\","
    "  \"en\": \"General election\"},"
    " \"regions\": ["
    "  {\"id\": \"KZ-71\", \"name\": {\"kk\": \"Астана\", \"ru\": \"Астана\", \"en\": \"Astana\"},"
    "   \"precincts\": [[1, 1000], [2, 800], [3, 600]]},"
    "  {\"id\": \"KZ-11\", \"name\": {\"kk\": \"Ақмола облысы\", \"ru\": \"Акмолинская область\"},"
    "   \"precincts\": [[101, 900], [102, 700]]}],"
    " \"districts\": [{\"id\": \"OTK-07\", \"name\": {\"kk\": \"№7 округ\", \"ru\": \"Округ №7\","
    "  \"en\": \"Constituency 7\"}, \"precincts\": [101, 3]}],"
    " \"parties\": ["
    "  {\"id\": \"amanat\", \"name\": \"AMANAT\", \"color\": \"#1F77B4\"},"
    "  {\"id\": \"ak-zhol\", \"name\": {\"kk\": \"Ақ жол\", \"ru\": \"Ак жол\", \"en\": \"Ak "
    "Zhol\"},"
    "   \"color\": \"#ff7f0e\"},"
    "  {\"id\": \"respublica\", \"name\": \"Respublica\"}],"
    " \"contests\": ["
    "  {\"id\": \"mazhilis\", \"kind\": \"party_list\","
    "   \"name\": {\"kk\": \"Мәжіліс\", \"ru\": \"Мажилис\", \"en\": \"Mazhilis\"},"
    "   \"seats\": 10, \"rules\": {\"threshold_pct\": 5, \"method\": \"hare\"},"
    "   \"options\": [{\"id\": \"amanat\", \"party\": \"amanat\"},"
    "    {\"id\": \"ak-zhol\", \"party\": \"ak-zhol\"},"
    "    {\"id\": \"respublica\", \"party\": \"respublica\"},"
    "    {\"id\": \"people\", \"name\": {\"kk\": \"Халық\", \"en\": \"People\"}, \"color\": "
    "\"#00aa00\"},"
    "    {\"id\": \"against-all\", \"against_all\": true,"
    "     \"name\": {\"kk\": \"Барлығына қарсы\", \"ru\": \"Против всех\", \"en\": \"Against "
    "all\"}}]},"
    "  {\"id\": \"otk-07\", \"kind\": \"candidate\", \"name\": \"Constituency 7\","
    "   \"scope\": {\"district\": \"OTK-07\"},"
    "   \"options\": [{\"id\": \"c-1\", \"name\": \"A. Candidate\", \"party\": \"amanat\"},"
    "    {\"id\": \"c-2\", \"name\": \"B. Candidate\"},"
    "    {\"id\": \"against-all\", \"name\": \"Against all\", \"against_all\": true}]},"
    "  {\"id\": \"president\", \"kind\": \"candidate\", \"rules\": {\"win\": "
    "\"absolute_majority\"},"
    "   \"options\": [{\"id\": \"p-1\", \"name\": \"P. One\"}, {\"id\": \"p-2\", \"name\": \"P. "
    "Two\"},"
    "    {\"id\": \"p-3\", \"name\": \"P. Three\"}]},"
    "  {\"id\": \"akim\", \"kind\": \"candidate\", \"name\": \"Akim of Akmola\","
    "   \"scope\": {\"regions\": [\"KZ-11\"]},"
    "   \"options\": [{\"id\": \"k-1\", \"name\": \"K. One\"}, {\"id\": \"k-2\", \"name\": \"K. "
    "Two\"}]},"
    "  {\"id\": \"referendum\", \"kind\": \"referendum\", \"name\": \"Referendum\","
    "   \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}]}]}";

struct general {
	struct tally_election *e;
	struct tally_totals *t;
	uint8_t tag;
};

static void general_setup(struct general *g)
{
	struct tally_err err = {{0}};
	memset(g, 0, sizeof(*g));
	cr_assert_eq(tally_election_parse(general_json, sizeof(general_json) - 1, &g->e, &err), 0,
	             "%s", err.msg);
	cr_assert_eq(tally_totals_new(g->e, &g->t), 0);
}

static void general_free(struct general *g)
{
	tally_totals_free(g->t);
	tally_election_free(g->e);
}

/* Counts a protocol of contest at precinct: registered, cast, invalid, not counted, votes. */
static void count(struct general *g, const char *contest, uint32_t precinct, const uint32_t *fig)
{
	int ci = tally_election_contest_index(g->e, contest);
	int64_t p = tally_election_precinct_index(g->e, precinct);
	cr_assert_geq(ci, 0);
	cr_assert_geq(p, 0);
	int64_t slot = tally_election_slot(g->e, (size_t)ci, (size_t)p);
	cr_assert_geq(slot, 0, "precinct %u votes in %s", precinct, contest);
	uint8_t h[TALLY_HASH_BYTES] = {++g->tag};
	enum tally_outcome out;
	cr_assert_eq(tally_totals_apply_figures(g->t, (size_t)slot, 1, h, (int64_t)g->t->sequence,
	                                        fig, &out),
	             0);
	cr_assert_eq(out, TALLY_OUTCOME_ACCEPTED);
}

#define FIG(...) ((const uint32_t[]){__VA_ARGS__})

/* Precinct 3 in every contest it votes in, 1 and 101 in some, 2 in one, 102 in none. */
static void general_partial(struct general *g)
{
	count(g, "mazhilis", 1, FIG(1000, 700, 10, 5, 400, 150, 80, 25, 30));
	count(g, "mazhilis", 3, FIG(600, 420, 4, 2, 200, 100, 60, 40, 14));
	count(g, "mazhilis", 101, FIG(900, 630, 6, 4, 300, 200, 20, 50, 50));
	count(g, "otk-07", 3, FIG(600, 410, 5, 5, 200, 150, 50));
	count(g, "president", 1, FIG(1000, 705, 5, 0, 400, 200, 100));
	count(g, "president", 3, FIG(600, 400, 4, 0, 250, 100, 46));
	count(g, "referendum", 2, FIG(800, 500, 10, 0, 300, 190));
	count(g, "referendum", 3, FIG(600, 410, 6, 0, 300, 104));
}

/* The rest: every contest complete. */
static void general_rest(struct general *g, uint32_t c2_at_101)
{
	count(g, "mazhilis", 2, FIG(800, 560, 10, 0, 300, 100, 100, 20, 30));
	count(g, "mazhilis", 102, FIG(700, 490, 5, 5, 200, 150, 30, 70, 30));
	count(g, "otk-07", 101, FIG(900, 600, 10, 0, 250, c2_at_101, 340 - c2_at_101));
	count(g, "president", 2, FIG(800, 560, 0, 0, 200, 300, 60));
	count(g, "president", 101, FIG(900, 630, 10, 0, 200, 300, 120));
	count(g, "president", 102, FIG(700, 490, 0, 0, 100, 200, 190));
	count(g, "akim", 101, FIG(900, 640, 10, 0, 400, 230));
	count(g, "akim", 102, FIG(700, 480, 0, 0, 200, 280));
	count(g, "referendum", 1, FIG(1000, 700, 0, 0, 400, 300));
	count(g, "referendum", 101, FIG(900, 600, 0, 0, 300, 300));
	count(g, "referendum", 102, FIG(700, 500, 0, 0, 200, 300));
}

static json_t *general_doc(struct general *g, const struct export_nist_opts *o)
{
	json_t *doc = NULL;
	int rc = export_nist_build(g->t, o, &doc);
	cr_assert_eq(rc, 0, "export_nist_build: %d", rc);
	return doc;
}

static json_t *el_of(json_t *doc)
{
	return json_array_get(json_object_get(doc, "Election"), 0);
}

static json_t *contest_by_id(json_t *doc, const char *id)
{
	json_t *c = find(json_object_get(el_of(doc), "Contest"), "@id", id);
	cr_assert_not_null(c, "contest %s", id);
	return c;
}

static json_t *selection(json_t *doc, const char *contest, const char *id)
{
	json_t *s =
	    find(json_object_get(contest_by_id(doc, contest), "ContestSelection"), "@id", id);
	cr_assert_not_null(s, "selection %s of %s", id, contest);
	return s;
}

/* The Count of the selection's VoteCounts of that unit and type; -1 if none; fails if two. */
static json_int_t count_of(json_t *doc, const char *contest, const char *sel, const char *unit,
                           const char *type)
{
	json_t *vcs = json_object_get(selection(doc, contest, sel), "VoteCounts"), *v;
	json_int_t got = -1;
	size_t i;
	json_array_foreach(vcs, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "GpUnitId")), unit) != 0 ||
		    strcmp(json_string_value(json_object_get(v, "Type")), type) != 0)
			continue;
		cr_assert_eq(got, -1, "two %s VoteCounts of %s for %s", type, sel, unit);
		got = int_at(v, "Count");
	}
	return got;
}

static json_int_t votes(json_t *doc, const char *contest, const char *sel, const char *unit)
{
	return count_of(doc, contest, sel, unit, "total");
}

static const char *str_at(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(none)";
}

/* "tag:text|tag:text" of an InternationalizedText, for exact comparison. */
static const char *langs(json_t *it, char *buf, size_t len)
{
	json_t *v;
	size_t i, o = 0;
	buf[0] = '\0';
	cr_assert_str_eq(str_at(it, "@type"), "ElectionResults.InternationalizedText");
	json_array_foreach(json_object_get(it, "Text"), i, v)
	{
		o += (size_t)snprintf(buf + o, len - o, "%s%s:%s", i ? "|" : "",
		                      str_at(v, "Language"), str_at(v, "Content"));
		cr_assert_lt(o, len);
	}
	return buf;
}

static json_t *ballots(json_t *doc, const char *contest, const char *unit)
{
	char other[96];
	snprintf(other, sizeof(other), "contest:%s", contest);
	json_t *bcs = json_object_get(el_of(doc), "BallotCounts"), *b;
	size_t i;
	json_array_foreach(bcs, i, b)
	{
		if (strcmp(str_at(b, "GpUnitId"), unit) == 0 &&
		    strcmp(str_at(b, "OtherType"), other) == 0)
			return b;
	}
	return NULL;
}

static json_t *candidate(json_t *doc, const char *id)
{
	json_t *c = find(json_object_get(el_of(doc), "Candidate"), "@id", id);
	cr_assert_not_null(c, "candidate %s", id);
	return c;
}

static const char *status_of(json_t *doc, const char *cand)
{
	return str_at(candidate(doc, cand), "PostElectionStatus");
}

static const char *count_status_at(json_t *o)
{
	return str_at(json_array_get(json_object_get(o, "CountStatus"), 0), "Status");
}

Test(export_nist, general_vote_counts_per_unit_and_selection)
{
	struct general g;
	general_setup(&g);
	general_partial(&g);
	json_t *doc = general_doc(&g, &opts);

	/* The party list, national: country, both regions, the district, counted precincts. */
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-country"), 900);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-KZ-71"), 600);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-KZ-11"), 300);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-district/OTK-07"), 500);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-p3"), 200);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/ak-zhol", "ru-p101"), 200);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/people", "ru-country"), 115);
	cr_assert_eq(votes(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-p2"), -1);
	cr_assert_eq(json_array_size(json_object_get(
	                 selection(doc, "pc-mazhilis", "ps-mazhilis/amanat"), "VoteCounts")),
	             1 + 2 + 1 + 3);

	/* The district race: its district first, then each region's part, then precinct 3. */
	const char *c1 = "cs-otk-07/c-1";
	cr_assert_eq(votes(doc, "cc-otk-07", c1, "ru-district/OTK-07"), 200);
	cr_assert_eq(votes(doc, "cc-otk-07", c1, "ru-KZ-71"), 200);
	cr_assert_eq(votes(doc, "cc-otk-07", c1, "ru-KZ-11"), 0);
	cr_assert_eq(votes(doc, "cc-otk-07", c1, "ru-p3"), 200);
	cr_assert_eq(votes(doc, "cc-otk-07", "cs-otk-07/c-2", "ru-district/OTK-07"), 150);
	cr_assert_eq(votes(doc, "cc-otk-07", c1, "ru-country"), -1);
	json_t *vcs = json_object_get(selection(doc, "cc-otk-07", c1), "VoteCounts");
	cr_assert_eq(json_array_size(vcs), 4);
	cr_assert_str_eq(str_at(json_array_get(vcs, 0), "GpUnitId"), "ru-district/OTK-07");

	/* The president and the referendum, national; the akim has nothing yet. */
	cr_assert_eq(votes(doc, "cc-president", "cs-president/p-1", "ru-country"), 650);
	cr_assert_eq(votes(doc, "cc-president", "cs-president/p-3", "ru-KZ-71"), 146);
	cr_assert_eq(votes(doc, "cc-president", "cs-president/p-2", "ru-district/OTK-07"), 100);
	cr_assert_eq(votes(doc, "bmc-referendum", "bms-referendum/yes", "ru-country"), 600);
	cr_assert_eq(votes(doc, "bmc-referendum", "bms-referendum/no", "ru-p2"), 190);
	cr_assert_eq(votes(doc, "cc-akim", "cs-akim/k-1", "ru-scope/akim"), 0);
	cr_assert_eq(votes(doc, "cc-akim", "cs-akim/k-1", "ru-KZ-11"), 0);
	cr_assert_eq(votes(doc, "cc-akim", "cs-akim/k-1", "ru-KZ-71"), -1);

	/* Each contest's own ballots, at the Election, tagged with the contest. */
	json_t *b = ballots(doc, "otk-07", "ru-district/OTK-07");
	cr_assert_not_null(b);
	cr_assert_str_eq(str_at(b, "Type"), "other");
	cr_assert_eq(int_at(b, "BallotsCast"), 410);
	cr_assert_eq(int_at(b, "BallotsRejected"), 5);
	b = ballots(doc, "mazhilis", "ru-country");
	cr_assert_eq(int_at(b, "BallotsCast"), 1750);
	cr_assert_eq(int_at(b, "BallotsRejected"), 20);
	b = ballots(doc, "mazhilis", "ru-district/OTK-07");
	cr_assert_eq(int_at(b, "BallotsCast"), 1050);
	cr_assert_null(ballots(doc, "otk-07", "ru-country"));
	cr_assert_null(ballots(doc, "president", "ru-p2"));
	json_t *oc = find(json_object_get(contest_by_id(doc, "pc-mazhilis"), "OtherCounts"),
	                  "GpUnitId", "ru-KZ-71");
	cr_assert_eq(int_at(oc, "Overvotes"), 7);
	json_decref(doc);
	general_free(&g);
}

Test(export_nist, general_contests_map_to_their_nist_types)
{
	struct general g;
	char buf[256];
	general_setup(&g);
	general_partial(&g);
	json_t *doc = general_doc(&g, &opts);

	cr_assert_str_eq(str_at(doc, "Status"), "unofficial-partial");
	json_t *el = el_of(doc);
	cr_assert_str_eq(str_at(el, "Type"), "general");
	cr_assert_str_eq(str_at(el, "ElectionScopeId"), "ru-country");
	cr_assert_str_eq(langs(json_object_get(el, "Name"), buf, sizeof(buf)),
	                 "kk:Біріккен сайлау|ru:Единые выборы|en:General election");
	cr_assert_str_eq(count_status_at(el), "in-process");
	cr_assert_eq(json_array_size(json_object_get(el, "Contest")), 5);

	json_t *c = contest_by_id(doc, "pc-mazhilis");
	cr_assert_str_eq(str_at(c, "@type"), "ElectionResults.PartyContest");
	cr_assert_str_eq(str_at(c, "Name"), "Mazhilis");
	cr_assert_str_eq(str_at(c, "ElectionDistrictId"), "ru-country");
	cr_assert_str_eq(str_at(c, "VoteVariation"), "proportional");
	cr_assert_str_eq(langs(json_object_get(c, "BallotTitle"), buf, sizeof(buf)),
	                 "kk:Мәжіліс|ru:Мажилис|en:Mazhilis");
	cr_assert_str_eq(
	    str_at(find(json_object_get(c, "ExternalIdentifier"), "OtherType", "tally-seats"),
	           "Value"),
	    "10");
	cr_assert_null(json_object_get(c, "NumberElected"));
	cr_assert_eq(int_at(c, "TotalSubUnits"), 5);
	cr_assert_eq(int_at(c, "SubUnitsReported"), 3);
	cr_assert_eq(int_at(c, "SequenceOrder"), 1);
	json_t *ps = selection(doc, "pc-mazhilis", "ps-mazhilis/ak-zhol");
	cr_assert_str_eq(str_at(ps, "@type"), "ElectionResults.PartySelection");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(ps, "PartyIds"), 0)),
	                 "party-ak-zhol");
	ps = selection(doc, "pc-mazhilis", "ps-mazhilis/people");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(ps, "PartyIds"), 0)),
	                 "party-mazhilis/people");

	c = contest_by_id(doc, "cc-otk-07");
	cr_assert_str_eq(str_at(c, "@type"), "ElectionResults.CandidateContest");
	cr_assert_str_eq(str_at(c, "ElectionDistrictId"), "ru-district/OTK-07");
	cr_assert_eq(int_at(c, "NumberElected"), 1);
	cr_assert_eq(int_at(c, "VotesAllowed"), 1);
	cr_assert_str_eq(str_at(c, "VoteVariation"), "plurality");
	cr_assert_null(json_object_get(c, "NumberRunoff"));
	cr_assert_eq(int_at(c, "TotalSubUnits"), 2);
	cr_assert_eq(int_at(c, "SubUnitsReported"), 1);
	cr_assert_str_eq(count_status_at(c), "in-process");
	json_t *cs = selection(doc, "cc-otk-07", "cs-otk-07/c-1");
	cr_assert_str_eq(str_at(cs, "@type"), "ElectionResults.CandidateSelection");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(cs, "CandidateIds"), 0)),
	                 "cand-otk-07/c-1");
	cr_assert_eq(int_at(cs, "SequenceOrder"), 1);

	c = contest_by_id(doc, "cc-president");
	cr_assert_str_eq(str_at(c, "ElectionDistrictId"), "ru-country");
	cr_assert_str_eq(str_at(c, "VoteVariation"), "majority");
	cr_assert_eq(int_at(c, "NumberRunoff"), 2);
	c = contest_by_id(doc, "cc-akim");
	cr_assert_str_eq(str_at(c, "ElectionDistrictId"), "ru-scope/akim");
	cr_assert_str_eq(count_status_at(c), "not-processed");
	c = contest_by_id(doc, "bmc-referendum");
	cr_assert_str_eq(str_at(c, "@type"), "ElectionResults.BallotMeasureContest");
	cr_assert_str_eq(str_at(c, "Type"), "referendum");
	cr_assert_str_eq(str_at(selection(doc, "bmc-referendum", "bms-referendum/no"), "@type"),
	                 "ElectionResults.BallotMeasureSelection");
	json_decref(doc);
	general_free(&g);
}

Test(export_nist, general_against_all_is_a_ballot_measure_selection)
{
	struct general g;
	char buf[256];
	general_setup(&g);
	general_partial(&g);
	json_t *doc = general_doc(&g, &opts);

	json_t *s = selection(doc, "pc-mazhilis", "bms-mazhilis/against-all");
	cr_assert_str_eq(str_at(s, "@type"), "ElectionResults.BallotMeasureSelection");
	cr_assert_str_eq(langs(json_object_get(s, "Selection"), buf, sizeof(buf)),
	                 "kk:Барлығына қарсы|ru:Против всех|en:Against all");
	cr_assert_eq(int_at(s, "SequenceOrder"), 5);
	json_t *ext = json_object_get(s, "ExternalIdentifier");
	cr_assert_eq(json_array_size(ext), 2);
	cr_assert_str_eq(str_at(find(ext, "OtherType", "tally-option-id"), "Value"), "against-all");
	cr_assert_str_eq(str_at(find(ext, "OtherType", "against-all"), "Value"), "true");
	cr_assert_eq(votes(doc, "pc-mazhilis", "bms-mazhilis/against-all", "ru-country"), 94);
	cr_assert_eq(votes(doc, "pc-mazhilis", "bms-mazhilis/against-all", "ru-p101"), 50);

	s = selection(doc, "cc-otk-07", "bms-otk-07/against-all");
	cr_assert_str_eq(langs(json_object_get(s, "Selection"), buf, sizeof(buf)),
	                 "en:Against all");
	cr_assert_eq(votes(doc, "cc-otk-07", "bms-otk-07/against-all", "ru-district/OTK-07"), 50);
	/* Never a candidate, never a party. */
	cr_assert_null(
	    find(json_object_get(el_of(doc), "Candidate"), "@id", "cand-otk-07/against-all"));
	cr_assert_null(find(json_object_get(doc, "Party"), "@id", "party-mazhilis/against-all"));
	json_decref(doc);
	general_free(&g);
}

Test(export_nist, general_parties_and_candidates)
{
	struct general g;
	char buf[256];
	general_setup(&g);
	general_partial(&g);
	json_t *doc = general_doc(&g, &opts);

	json_t *parties = json_object_get(doc, "Party");
	cr_assert_eq(json_array_size(parties), 4);
	json_t *p = find(parties, "@id", "party-amanat");
	cr_assert_str_eq(str_at(p, "@type"), "ElectionResults.Party");
	cr_assert_str_eq(langs(json_object_get(p, "Name"), buf, sizeof(buf)), "en:AMANAT");
	cr_assert_str_eq(str_at(p, "Color"), "1f77b4");
	cr_assert_str_eq(
	    str_at(find(json_object_get(p, "ExternalIdentifier"), "OtherType", "tally-party-id"),
	           "Value"),
	    "amanat");
	p = find(parties, "@id", "party-ak-zhol");
	cr_assert_str_eq(langs(json_object_get(p, "Name"), buf, sizeof(buf)),
	                 "kk:Ақ жол|ru:Ак жол|en:Ak Zhol");
	cr_assert_str_eq(str_at(p, "Color"), "ff7f0e");
	cr_assert_null(json_object_get(find(parties, "@id", "party-respublica"), "Color"));
	/* The list without a party gets a Party of its own, named like the option. */
	p = find(parties, "@id", "party-mazhilis/people");
	cr_assert_str_eq(langs(json_object_get(p, "Name"), buf, sizeof(buf)), "kk:Халық|en:People");
	cr_assert_str_eq(str_at(p, "Color"), "00aa00");

	json_t *cands = json_object_get(el_of(doc), "Candidate");
	cr_assert_eq(json_array_size(cands), 2 + 3 + 2);
	json_t *c = candidate(doc, "cand-otk-07/c-1");
	cr_assert_str_eq(str_at(c, "@type"), "ElectionResults.Candidate");
	cr_assert_str_eq(langs(json_object_get(c, "BallotName"), buf, sizeof(buf)),
	                 "en:A. Candidate");
	cr_assert_str_eq(str_at(c, "PartyId"), "party-amanat");
	cr_assert_str_eq(
	    str_at(find(json_object_get(c, "ExternalIdentifier"), "OtherType", "tally-option-id"),
	           "Value"),
	    "c-1");
	cr_assert_null(json_object_get(candidate(doc, "cand-otk-07/c-2"), "PartyId"));
	/* Nothing is final yet: no candidate has a PostElectionStatus. */
	size_t i;
	json_t *v;
	json_array_foreach(cands, i, v)
	    cr_assert_null(json_object_get(v, "PostElectionStatus"), "%s", str_at(v, "@id"));
	cr_assert_eq(count_of(doc, "pc-mazhilis", "ps-mazhilis/amanat", "ru-country", "seats"), -1);
	json_decref(doc);
	general_free(&g);
}

Test(export_nist, general_gpunits_with_districts_and_scopes)
{
	struct general g;
	char buf[256];
	general_setup(&g);
	general_partial(&g);
	json_t *doc = general_doc(&g, &opts);

	/* Country, 2 regions, the district, the akim's scope, 5 precincts. */
	cr_assert_eq(json_array_size(json_object_get(doc, "GpUnit")), 1 + 2 + 1 + 1 + 5);
	json_t *u = unit(doc, "ru-country");
	cr_assert_eq(int_at(u, "TotalSubUnits"), 5);
	cr_assert_eq(int_at(u, "SubUnitsReported"), 1); /* precinct 3: all its contests */
	cr_assert_eq(int_at(u, "VotersRegistered"), 4000);
	cr_assert_null(json_object_get(u, "VotersParticipated"));
	cr_assert_eq(json_array_size(json_object_get(u, "ComposingGpUnitIds")), 2);

	u = unit(doc, "ru-KZ-11");
	cr_assert_str_eq(str_at(u, "Type"), "state");
	cr_assert_str_eq(langs(json_object_get(u, "Name"), buf, sizeof(buf)),
	                 "kk:Ақмола облысы|ru:Акмолинская область");
	cr_assert_eq(int_at(u, "TotalSubUnits"), 2);
	cr_assert_eq(int_at(u, "SubUnitsReported"), 0);
	cr_assert_eq(int_at(u, "VotersRegistered"), 1600);
	cr_assert_str_eq(count_status_at(u), "not-processed");

	u = unit(doc, "ru-district/OTK-07");
	cr_assert_str_eq(str_at(u, "Type"), "other");
	cr_assert_str_eq(str_at(u, "OtherType"), "electoral-district");
	cr_assert_str_eq(langs(json_object_get(u, "Name"), buf, sizeof(buf)),
	                 "kk:№7 округ|ru:Округ №7|en:Constituency 7");
	json_t *comp = json_object_get(u, "ComposingGpUnitIds");
	cr_assert_eq(json_array_size(comp), 2);
	cr_assert_str_eq(json_string_value(json_array_get(comp, 0)), "ru-p3");
	cr_assert_str_eq(json_string_value(json_array_get(comp, 1)), "ru-p101");
	cr_assert_eq(int_at(u, "TotalSubUnits"), 2);
	cr_assert_eq(int_at(u, "SubUnitsReported"), 1);
	cr_assert_eq(int_at(u, "VotersRegistered"), 1500);
	cr_assert_str_eq(count_status_at(u), "in-process");
	cr_assert_str_eq(
	    str_at(find(json_object_get(u, "ExternalIdentifier"), "OtherType", "tally-district-id"),
	           "Value"),
	    "OTK-07");

	u = unit(doc, "ru-scope/akim");
	cr_assert_str_eq(str_at(u, "OtherType"), "contest-regions");
	comp = json_object_get(u, "ComposingGpUnitIds");
	cr_assert_eq(json_array_size(comp), 1);
	cr_assert_str_eq(json_string_value(json_array_get(comp, 0)), "ru-KZ-11");
	cr_assert_eq(int_at(u, "VotersRegistered"), 1600);

	cr_assert_str_eq(count_status_at(unit(doc, "ru-p3")), "completed");
	cr_assert_str_eq(count_status_at(unit(doc, "ru-p1")), "in-process");
	cr_assert_str_eq(count_status_at(unit(doc, "ru-p102")), "not-processed");
	cr_assert_eq(int_at(unit(doc, "ru-p102"), "VotersRegistered"), 700);
	json_decref(doc);

	/* A flag in one contest makes a precinct in-process, though all is counted. */
	g.t->slots[tally_election_slot(g.e, 4, 2)].n_conflicts = 1;
	doc = general_doc(&g, &opts);
	cr_assert_str_eq(count_status_at(unit(doc, "ru-p3")), "in-process");
	cr_assert_eq(int_at(unit(doc, "ru-country"), "SubUnitsReported"), 1);
	g.t->slots[tally_election_slot(g.e, 4, 2)].n_conflicts = 0;
	json_decref(doc);

	struct export_nist_opts o = opts;
	o.summary_only = true;
	doc = general_doc(&g, &o);
	cr_assert_str_eq(str_at(doc, "Format"), "summary-contest");
	cr_assert_eq(json_array_size(json_object_get(doc, "GpUnit")), 1 + 2 + 1 + 1);
	cr_assert_eq(
	    json_array_size(json_object_get(unit(doc, "ru-district/OTK-07"), "ComposingGpUnitIds")),
	    0);
	cr_assert_eq(votes(doc, "cc-otk-07", "cs-otk-07/c-1", "ru-KZ-71"), 200);
	cr_assert_eq(votes(doc, "cc-otk-07", "cs-otk-07/c-1", "ru-p3"), -1);
	json_decref(doc);
	general_free(&g);
}

Test(export_nist, general_complete_with_seats_and_winners)
{
	struct general g;
	general_setup(&g);
	general_partial(&g);
	general_rest(&g, 310);
	json_t *doc = general_doc(&g, &opts);

	cr_assert_str_eq(str_at(doc, "Status"), "unofficial-complete");
	cr_assert_str_eq(count_status_at(el_of(doc)), "completed");
	cr_assert_eq(int_at(unit(doc, "ru-country"), "SubUnitsReported"), 5);

	/* Hare over 2,595 votes of the lists that passed 5 % of 2,765 valid. */
	const char *lists[] = {"amanat", "ak-zhol", "respublica", "people"};
	const json_int_t seats[] = {5, 3, 1, 1};
	const json_int_t total[] = {1400, 700, 290, 205};
	for (size_t i = 0; i < 4; i++) {
		char sel[64];
		snprintf(sel, sizeof(sel), "ps-mazhilis/%s", lists[i]);
		cr_assert_eq(count_of(doc, "pc-mazhilis", sel, "ru-country", "seats"), seats[i],
		             "%s", lists[i]);
		cr_assert_eq(votes(doc, "pc-mazhilis", sel, "ru-country"), total[i], "%s",
		             lists[i]);
		cr_assert_eq(count_of(doc, "pc-mazhilis", sel, "ru-KZ-71", "seats"), -1);
	}
	json_t *vcs = json_object_get(selection(doc, "pc-mazhilis", "bms-mazhilis/against-all"),
	                              "VoteCounts");
	cr_assert_null(find(vcs, "Type", "seats"));

	cr_assert_str_eq(status_of(doc, "cand-otk-07/c-2"), "winner");
	cr_assert_str_eq(status_of(doc, "cand-otk-07/c-1"), "defeated");
	cr_assert_str_eq(status_of(doc, "cand-president/p-1"), "advanced-to-runoff");
	cr_assert_str_eq(status_of(doc, "cand-president/p-2"), "advanced-to-runoff");
	cr_assert_str_eq(status_of(doc, "cand-president/p-3"), "defeated");
	cr_assert_str_eq(status_of(doc, "cand-akim/k-1"), "winner");
	cr_assert_str_eq(status_of(doc, "cand-akim/k-2"), "defeated");
	cr_assert_eq(votes(doc, "cc-president", "cs-president/p-1", "ru-country"), 1150);
	cr_assert_eq(votes(doc, "cc-otk-07", "cs-otk-07/c-2", "ru-KZ-11"), 310);
	json_decref(doc);
	general_free(&g);
}

Test(export_nist, general_status_once_final_not_once_complete)
{
	struct general g;
	general_setup(&g);
	/* 840 of 850 at precinct 101: the 700 voters of 102 cannot undo it. */
	count(&g, "akim", 101, FIG(900, 850, 10, 0, 840, 0));
	json_t *doc = general_doc(&g, &opts);
	cr_assert_str_eq(str_at(doc, "Status"), "unofficial-partial");
	cr_assert_str_eq(status_of(doc, "cand-akim/k-1"), "winner");
	cr_assert_str_eq(status_of(doc, "cand-akim/k-2"), "defeated");
	cr_assert_str_eq(status_of(doc, "cand-president/p-1"), "(none)");
	json_decref(doc);
	general_free(&g);

	/* Equal votes at the end: the tied candidates get no status. */
	general_setup(&g);
	general_partial(&g);
	general_rest(&g, 300);
	doc = general_doc(&g, &opts);
	cr_assert_eq(votes(doc, "cc-otk-07", "cs-otk-07/c-1", "ru-district/OTK-07"), 450);
	cr_assert_eq(votes(doc, "cc-otk-07", "cs-otk-07/c-2", "ru-district/OTK-07"), 450);
	cr_assert_str_eq(status_of(doc, "cand-otk-07/c-1"), "(none)");
	cr_assert_str_eq(status_of(doc, "cand-otk-07/c-2"), "(none)");
	cr_assert_str_eq(status_of(doc, "cand-akim/k-1"), "winner");
	json_decref(doc);
	general_free(&g);
}

/*
 * Writes the document, as the aggregator streams it, to
 * $TALLY_NIST_OUT/<name> when that is set, and checks it parses.
 */
static void write_doc(struct general *g, const struct export_nist_opts *o, const char *name)
{
	const char *dir = getenv("TALLY_NIST_OUT");
	json_decref(general_doc(g, o));
	if (dir == NULL || *dir == '\0')
		return;
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "opening %s", path);
	cr_assert_eq(export_nist_write(g->t, o, on_sink_file, f), 0);
	cr_assert_eq(fclose(f), 0, "writing %s", path);
}

/*
 * The documents tests/integration/test_publish.py validates against NIST's
 * schema (it runs this test alone with TALLY_NIST_OUT set): the partial
 * and complete states of the tests above, and the partial summary.
 */
Test(export_nist, general_documents_for_the_schema)
{
	struct general g;
	general_setup(&g);
	general_partial(&g);
	write_doc(&g, &opts, "general-partial.json");
	struct export_nist_opts o = opts;
	o.summary_only = true;
	write_doc(&g, &o, "general-summary.json");
	general_rest(&g, 310);
	write_doc(&g, &opts, "general-complete.json");
	general_free(&g);
}
