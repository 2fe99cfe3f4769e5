/*
 * Tests for export_nist.c: the NIST SP 1500-100 v2 document for a small
 * election whose totals are laid out by hand, so the mapping is checked on
 * its own (the totals module has its own tests). Schema validation of the
 * same document is in tests/integration/test_publish.py.
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
