/*
 * Tests of totals_json.c: every document of an election of contests in
 * full (exact text, key order included), and the /v1/totals of a
 * definition without contests byte for byte as totals.c published it
 * before (pinned in tests/unit/data/legacy_totals_documents.txt).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election_fixture.h"
#include "tally/totals.h"
#include "tally/totals_json.h"

static char *dump(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	cr_assert_not_null(s);
	return s;
}

/* ---- a definition without contests ---- */

static void apply(struct tally_totals *t, const struct tally_result *r, uint8_t tag)
{
	uint8_t h[TALLY_HASH_BYTES];
	uint32_t v[8] = {r->precinct_id,       r->revision,
	                 r->voters_registered, r->ballots_cast,
	                 r->ballots_invalid,   r->ballots_not_counted,
	                 r->votes[0].count,    tag};
	enum tally_outcome o;
	memset(h, 0, sizeof(h));
	memcpy(h, v, sizeof(v));
	cr_assert_eq(tally_totals_apply(t, r, h, (int64_t)t->sequence, &o), 0);
}

/* Two precincts in, a conflict, a correction: the states the pinned documents were taken at. */
static void legacy_states(struct tally_totals *t, const struct tally_election *e)
{
	struct tally_result r = mk_result(e, 0, 1, 100, 90, 2, 1, 60);
	apply(t, &r, 0);
	r = mk_result(e, 1, 1, 100, 80, 0, 0, 30);
	apply(t, &r, 0);
	r = mk_result(e, 3, 1, 101, 95, 5, 0, 50);
	apply(t, &r, 0);
	r = mk_result(e, 3, 1, 101, 95, 5, 0, 51);
	apply(t, &r, 1);
	r = mk_result(e, 0, 2, 100, 91, 2, 1, 61);
	apply(t, &r, 0);
}

/* Line n (from 0, comments skipped) of a data file, without its newline. */
static char *data_line(const char *name, size_t n)
{
	char path[512];
	char *line = NULL;
	size_t cap = 0;
	snprintf(path, sizeof(path), "%s/tests/unit/data/%s", TALLY_SOURCE_DIR, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == '#')
			continue;
		if (n-- == 0) {
			line[strcspn(line, "\n")] = '\0';
			fclose(f);
			return line;
		}
	}
	cr_assert_fail("%s has no line %zu", path, n);
	return NULL;
}

Test(totals_json, legacy_totals_are_byte_for_byte_as_before)
{
	struct tally_election *e = mk_election(3, 2, 100, 1);
	struct tally_totals *t = NULL;
	json_t *doc = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	for (size_t state = 0; state < 2; state++) {
		if (state == 1)
			legacy_states(t, e);
		cr_assert_eq(tally_totals_to_json(t, &doc), 0);
		char *got = dump(doc), *want = data_line("legacy_totals_documents.txt", state);
		cr_assert_str_eq(got, want, "state %zu:\n%s\npinned:\n%s", state, got, want);
		free(got);
		free(want);
		json_decref(doc);
	}
	/* "as_of" goes last, as the aggregator has always added it. */
	cr_assert_eq(tally_totals_to_json_at(t, "2026-03-15T18:04:05.123Z", &doc), 0);
	char *got = dump(doc);
	cr_assert(strstr(got, "}},\"as_of\":\"2026-03-15T18:04:05.123Z\"}") != NULL, "%s", got);
	free(got);
	json_decref(doc);
	/* One contest: its precincts are the election's. */
	uint32_t total = 0, in = 0;
	tally_totals_precincts(t, SIZE_MAX, &total, &in);
	cr_assert_eq(total, 6);
	cr_assert_eq(in, 3);
	tally_totals_precincts(t, 1, &total, &in);
	cr_assert_eq(total, 2);
	cr_assert_eq(in, 1);
	cr_assert_eq(tally_totals_conflicts(t, SIZE_MAX), 1);
	cr_assert_eq(tally_totals_conflicts(t, 0), 0);
	tally_totals_free(t);
	free_election(e);
}

/* ---- a general election ---- */

static const char general_json[] =
    "{\"election_id\": \"g-2027\", \"title\": {\"kk\": \"Сайлау\", \"en\": \"Election\"},"
    " \"regions\": ["
    "  {\"id\": \"R1\", \"name\": {\"kk\": \"Бір\", \"en\": \"One\"}, \"tile\": [1, 0],"
    "   \"precincts\": [[1, 1000], [2, 800], [3, 600]]},"
    "  {\"id\": \"R2\", \"name\": \"Two\", \"precincts\": [[4, 900], [5, 700]]},"
    "  {\"id\": \"R3\", \"name\": \"Three\", \"precincts\": []}],"
    " \"districts\": [{\"id\": \"D1\", \"name\": \"District one\", \"precincts\": [4, 2]}],"
    " \"parties\": [{\"id\": \"a\", \"name\": \"Party A\", \"color\": \"#1F77B4\"},"
    "  {\"id\": \"b\", \"name\": {\"en\": \"Party B\", \"ru\": \"Партия Б\"}}],"
    " \"contests\": ["
    "  {\"id\": \"list\", \"kind\": \"party_list\", \"name\": {\"en\": \"Lists\"}, \"seats\": 5,"
    "   \"options\": [{\"id\": \"a\", \"party\": \"a\", \"list_length\": 3},"
    "    {\"id\": \"b\", \"party\": \"b\"},"
    "    {\"id\": \"none\", \"name\": \"Against all\", \"against_all\": true}],"
    "   \"rules\": {\"threshold_pct\": 5, \"method\": \"dhondt\"}},"
    "  {\"id\": \"pres\", \"kind\": \"candidate\", \"name\": \"President\","
    "   \"options\": [{\"id\": \"c1\", \"name\": \"C. One\", \"party\": \"a\"},"
    "    {\"id\": \"c2\", \"name\": \"C. Two\", \"color\": \"#ff0000\"},"
    "    {\"id\": \"c3\", \"name\": \"C. Three\"}],"
    "   \"rules\": {\"win\": \"absolute_majority\", \"min_turnout_pct\": 50}},"
    "  {\"id\": \"d1\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D1\"},"
    "   \"options\": [{\"id\": \"x\", \"name\": \"X\"}, {\"id\": \"y\", \"name\": \"Y\"}]},"
    "  {\"id\": \"ref\", \"kind\": \"referendum\", \"name\": \"Referendum\","
    "   \"scope\": {\"regions\": [\"R2\"]},"
    "   \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    "   \"rules\": {\"pass_share_of\": \"valid\", \"region_majority_fraction\": 0.5}}]}";

static struct tally_election *general(void)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(general_json, sizeof(general_json) - 1, &e, &err), 0,
	             "%s", err.msg);
	return e;
}

/* A result of contest cid at precinct id: registered, cast, invalid, not counted, votes. */
static void put(struct tally_totals *t, const char *cid, uint32_t precinct, uint32_t revision,
                uint32_t registered, uint32_t cast, uint32_t invalid, uint32_t not_counted,
                const uint32_t *votes, uint8_t tag)
{
	const struct tally_election *e = t->election;
	int ci = tally_election_contest_index(e, cid);
	int64_t pi = tally_election_precinct_index(e, precinct);
	cr_assert_geq(ci, 0);
	cr_assert_geq(pi, 0);
	const struct tally_contest *c = &e->contests[ci];
	struct tally_result r;
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o;
	memset(&r, 0, sizeof(r));
	strcpy(r.election_id, e->election_id);
	strcpy(r.contest_id, cid);
	strcpy(r.region_id, e->regions[e->precincts[pi].region].id);
	r.precinct_id = precinct;
	r.revision = revision;
	r.voters_registered = registered;
	r.ballots_cast = cast;
	r.ballots_invalid = invalid;
	r.ballots_not_counted = not_counted;
	r.n_votes = c->n_options;
	for (size_t i = 0; i < c->n_options; i++) {
		strcpy(r.votes[i].option_id, c->options[i].id);
		r.votes[i].count = votes[i];
	}
	memset(h, 0, sizeof(h));
	memcpy(h, &precinct, 4);
	memcpy(h + 4, &revision, 4);
	h[8] = (uint8_t)ci;
	h[9] = tag;
	cr_assert_eq(tally_totals_apply(t, &r, h, (int64_t)t->sequence, &o), 0);
}

/*
 * The night so far: every precinct's party list (precinct 5 twice, the
 * second a conflicting copy), the president at 1, 2 and 4, the district
 * at 2 only, the referendum at 4.
 */
static void general_states(struct tally_totals *t)
{
	put(t, "list", 1, 1, 1000, 700, 10, 0, (uint32_t[]){400, 250, 40}, 0);
	put(t, "list", 2, 1, 800, 500, 0, 5, (uint32_t[]){300, 180, 15}, 0);
	put(t, "list", 3, 1, 600, 400, 20, 0, (uint32_t[]){100, 270, 10}, 0);
	put(t, "list", 4, 1, 900, 600, 0, 0, (uint32_t[]){350, 230, 20}, 0);
	put(t, "list", 5, 1, 700, 300, 0, 0, (uint32_t[]){10, 280, 10}, 0);
	put(t, "list", 5, 1, 700, 300, 0, 0, (uint32_t[]){11, 279, 10}, 1);
	put(t, "pres", 1, 1, 1000, 700, 10, 0, (uint32_t[]){500, 150, 40}, 0);
	put(t, "pres", 2, 1, 800, 500, 0, 0, (uint32_t[]){200, 200, 100}, 0);
	put(t, "pres", 4, 1, 900, 600, 0, 0, (uint32_t[]){100, 300, 200}, 0);
	put(t, "d1", 2, 1, 800, 500, 20, 0, (uint32_t[]){300, 180}, 0);
	put(t, "ref", 4, 1, 900, 600, 30, 0, (uint32_t[]){400, 170}, 0);
}

static void assert_pinned(json_t *doc, size_t line, const char *what)
{
	char *got = dump(doc), *want = data_line("general_documents.txt", line);
	cr_assert_str_eq(got, want, "%s:\n%s\npinned:\n%s", what, got, want);
	free(got);
	free(want);
	json_decref(doc);
}

Test(totals_json, documents_of_a_general_election_in_full)
{
	struct tally_election *e = general();
	struct tally_totals *t = NULL;
	json_t *doc = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	general_states(t);
	cr_assert_eq(tally_election_to_json(e, &doc), 0);
	assert_pinned(doc, 0, "/v1/election");
	cr_assert_eq(tally_totals_contests_to_json(t, "AS_OF", &doc), 0);
	assert_pinned(doc, 1, "/v1/contests");
	cr_assert_eq(tally_totals_to_json_at(t, "AS_OF", &doc), 0);
	assert_pinned(doc, 2, "/v1/totals");
	for (size_t i = 0; i < e->n_contests; i++) {
		cr_assert_eq(tally_totals_contest_to_json(t, i, "AS_OF", &doc), 0);
		assert_pinned(doc, 3 + i, e->contests[i].id);
	}
	tally_totals_free(t);
	tally_election_free(e);
}

Test(totals_json, shares_are_of_the_denominator_the_rules_name)
{
	struct tally_election *e = general();
	/* party list: threshold_of; candidate: majority_of; referendum: pass_share_of. */
	cr_assert_eq(tally_contest_pct_of(e, &e->contests[0]), TALLY_DENOM_VALID);
	cr_assert_eq(tally_contest_pct_of(e, &e->contests[1]), TALLY_DENOM_BALLOTS_CAST);
	cr_assert_eq(tally_contest_pct_of(e, &e->contests[3]), TALLY_DENOM_VALID);
	e->contests[0].rules.threshold_of = TALLY_DENOM_BALLOTS_CAST;
	e->contests[1].rules.majority_of = TALLY_DENOM_VALID;
	cr_assert_eq(tally_contest_pct_of(e, &e->contests[0]), TALLY_DENOM_BALLOTS_CAST);
	cr_assert_eq(tally_contest_pct_of(e, &e->contests[1]), TALLY_DENOM_VALID);

	struct tally_figures f;
	memset(&f, 0, sizeof(f));
	f.ballots_cast = 800;
	f.ballots_invalid = 300;
	f.votes[0] = 250;
	f.votes[1] = 250;
	json_t *o = json_object();
	cr_assert_eq(tally_contest_figures_to_json(e, &e->contests[1], &f, o), 0);
	char *got = dump(o);
	cr_assert_str_eq(got,
	                 "{\"precincts_total\":0,\"precincts_reported\":0,"
	                 "\"voters_registered\":0,\"ballots_cast\":800,\"ballots_invalid\":300,"
	                 "\"ballots_not_counted\":0,\"valid\":500,\"votes\":{\"c1\":250,"
	                 "\"c2\":250,\"c3\":0},\"votes_pct\":{\"c1\":50.0,\"c2\":50.0,"
	                 "\"c3\":0.0},\"pct_of\":\"valid\",\"turnout_pct\":0.0,"
	                 "\"conflicts\":0}");
	free(got);
	json_decref(o);
	tally_election_free(e);

	/* The referendum without contests: of valid ballots, as /v1/totals always showed. */
	e = mk_election(1, 1, 10, 1);
	cr_assert_eq(e->contests[0].rules.pass_share_of, TALLY_DENOM_BALLOTS_CAST);
	cr_assert_eq(tally_contest_pct_of(e, &e->contests[0]), TALLY_DENOM_VALID);
	tally_election_free(e);
}

Test(totals_json, precincts_across_contests)
{
	struct tally_election *e = general();
	struct tally_totals *t = NULL;
	uint32_t total = 0, in = 0;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	general_states(t);
	/* Every precinct votes in the list and for president; 2 and 4 in d1;
	 * 4 and 5 in the referendum. Precinct 1 has both of its contests in
	 * and 2 its three; 3 and 5 lack the president, 4 the district. */
	tally_totals_precincts(t, SIZE_MAX, &total, &in);
	cr_assert_eq(total, 5);
	cr_assert_eq(in, 2);
	tally_totals_precincts(t, 0, &total, &in);
	cr_assert_eq(total, 3);
	cr_assert_eq(in, 2);
	tally_totals_precincts(t, 1, &total, &in);
	cr_assert_eq(total, 2);
	cr_assert_eq(in, 0);
	tally_totals_precincts(t, 2, &total, &in);
	cr_assert_eq(total, 0);
	cr_assert_eq(in, 0);
	cr_assert_eq(tally_totals_conflicts(t, SIZE_MAX), 1);
	cr_assert_eq(tally_totals_conflicts(t, 1), 1);
	cr_assert_eq(tally_totals_conflicts(t, 0), 0);
	/* Precinct 5's president is not enough; its referendum makes it in. */
	put(t, "pres", 5, 1, 700, 300, 0, 0, (uint32_t[]){100, 100, 100}, 0);
	tally_totals_precincts(t, SIZE_MAX, &total, &in);
	cr_assert_eq(in, 2);
	put(t, "ref", 5, 1, 700, 300, 0, 0, (uint32_t[]){200, 100}, 0);
	tally_totals_precincts(t, SIZE_MAX, &total, &in);
	cr_assert_eq(in, 3);
	tally_totals_precincts(t, 1, &total, &in);
	cr_assert_eq(in, 1);
	/* A correction never counts a precinct twice. */
	put(t, "ref", 5, 2, 700, 300, 0, 0, (uint32_t[]){210, 90}, 0);
	tally_totals_precincts(t, SIZE_MAX, &total, &in);
	cr_assert_eq(in, 3);
	tally_totals_free(t);
	tally_election_free(e);
}
