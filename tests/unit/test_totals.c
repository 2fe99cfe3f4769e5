/*
 * test_totals.c: running totals. Incremental application over random
 * sequences with corrections, stale copies and conflicts equals totals
 * recomputed from scratch from an independent model of the rules; exact
 * figures; percentages; the decision with its reasons; the JSON document.
 * Elections are built in memory so these tests need no files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election_fixture.h"
#include "tally/sign.h"
#include "tally/totals.h"
#include "tally/totals_json.h"

/* A stand-in for the payload hash: distinct figures give distinct hashes. */
static void hash_result(const struct tally_result *r, uint8_t tag, uint8_t ret[TALLY_HASH_BYTES])
{
	memset(ret, 0, TALLY_HASH_BYTES);
	uint32_t v[8] = {r->precinct_id,       r->revision,
	                 r->voters_registered, r->ballots_cast,
	                 r->ballots_invalid,   r->ballots_not_counted,
	                 r->votes[0].count,    tag};
	memcpy(ret, v, sizeof(v));
}

static enum tally_outcome apply(struct tally_totals *t, const struct tally_result *r, uint8_t tag)
{
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o = TALLY_OUTCOME_UNSPECIFIED;
	hash_result(r, tag, h);
	cr_assert_eq(tally_totals_apply(t, r, h, (int64_t)t->sequence, &o), 0);
	return o;
}

static void assert_figures_eq(const struct tally_figures *a, const struct tally_figures *b,
                              const char *what)
{
	cr_assert_eq(a->precincts_total, b->precincts_total, "%s precincts_total", what);
	cr_assert_eq(a->precincts_reported, b->precincts_reported, "%s reported", what);
	cr_assert_eq(a->conflicts, b->conflicts, "%s conflicts", what);
	cr_assert_eq(a->voters_registered, b->voters_registered, "%s registered", what);
	cr_assert_eq(a->ballots_cast, b->ballots_cast, "%s cast", what);
	cr_assert_eq(a->ballots_invalid, b->ballots_invalid, "%s invalid", what);
	cr_assert_eq(a->ballots_not_counted, b->ballots_not_counted, "%s not_counted", what);
	for (size_t i = 0; i < TALLY_MAX_OPTIONS; i++)
		cr_assert_eq(a->votes[i], b->votes[i], "%s votes[%zu]", what, i);
}

Test(totals, exact_figures_national_and_regional)
{
	struct tally_election *e = mk_election(2, 3, 1000, 0);
	struct tally_totals *t = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	cr_assert_eq(t->contests[0].national.precincts_total, 6);
	cr_assert_eq(t->contests[0].regions[0].precincts_total, 3);

	struct tally_result a = mk_result(e, 0, 1, 1000, 600, 10, 5, 400); /* no = 185 */
	struct tally_result b = mk_result(e, 1, 1, 990, 500, 20, 0, 100);  /* no = 380 */
	struct tally_result c = mk_result(e, 4, 1, 1000, 700, 0, 0, 350);  /* no = 350 */
	cr_assert_eq(apply(t, &a, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(apply(t, &b, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(apply(t, &c, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(t->sequence, 3);
	cr_assert_eq(t->contests[0].national.precincts_reported, 3);
	cr_assert_eq(t->contests[0].national.voters_registered, 2990);
	cr_assert_eq(t->contests[0].national.ballots_cast, 1800);
	cr_assert_eq(t->contests[0].national.ballots_invalid, 30);
	cr_assert_eq(t->contests[0].national.ballots_not_counted, 5);
	cr_assert_eq(t->contests[0].national.votes[0], 850);
	cr_assert_eq(t->contests[0].national.votes[1], 915);
	cr_assert_eq(t->contests[0].regions[0].precincts_reported, 2);
	cr_assert_eq(t->contests[0].regions[0].ballots_cast, 1100);
	cr_assert_eq(t->contests[0].regions[0].votes[0], 500);
	cr_assert_eq(t->contests[0].regions[1].precincts_reported, 1);
	cr_assert_eq(t->contests[0].regions[1].votes[1], 350);

	/* Correction of precinct a: totals move by the difference. */
	struct tally_result a2 = mk_result(e, 0, 2, 1000, 610, 10, 5, 410); /* no = 185 */
	cr_assert_eq(apply(t, &a2, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(t->sequence, 4);
	cr_assert_eq(t->contests[0].national.precincts_reported, 3);
	cr_assert_eq(t->contests[0].national.ballots_cast, 1810);
	cr_assert_eq(t->contests[0].national.votes[0], 860);
	cr_assert_eq(t->contests[0].regions[0].ballots_cast, 1110);

	/* Stale and duplicate change nothing, not even the sequence. */
	cr_assert_eq(apply(t, &a, 0), TALLY_OUTCOME_STALE);
	cr_assert_eq(apply(t, &a2, 0), TALLY_OUTCOME_DUPLICATE);
	cr_assert_eq(t->sequence, 4);
	cr_assert_eq(t->contests[0].national.ballots_cast, 1810);

	/* Conflict: counted figures stay, the flag is raised once. */
	struct tally_result c_other = mk_result(e, 4, 1, 1000, 700, 0, 0, 351);
	cr_assert_eq(apply(t, &c_other, 0), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(apply(t, &c_other, 1), TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(t->sequence, 6);
	cr_assert_eq(t->contests[0].national.conflicts, 1);
	cr_assert_eq(t->contests[0].regions[1].conflicts, 1);
	cr_assert_eq(t->contests[0].regions[0].conflicts, 0);
	cr_assert_eq(t->contests[0].national.votes[0], 860);

	/* A higher revision settles it. */
	struct tally_result c2 = mk_result(e, 4, 2, 1000, 700, 0, 0, 360);
	cr_assert_eq(apply(t, &c2, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(t->contests[0].national.conflicts, 0);
	cr_assert_eq(t->contests[0].regions[1].conflicts, 0);
	cr_assert_eq(t->contests[0].national.votes[0], 870);
	cr_assert_eq(t->contests[0].national.votes[1], 905);
	cr_assert_eq(t->sequence, 7);

	tally_totals_free(t);
	free_election(e);
}

Test(totals, unknown_precinct_and_revision_zero_are_refused)
{
	struct tally_election *e = mk_election(1, 2, 100, 0);
	struct tally_totals *t = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	struct tally_result r = mk_result(e, 0, 1, 100, 50, 0, 0, 25);
	uint8_t h[TALLY_HASH_BYTES] = {0};
	enum tally_outcome o;
	r.precinct_id = 999999;
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -ENOENT);
	r = mk_result(e, 0, 0, 100, 50, 0, 0, 25);
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -EINVAL);
	r = mk_result(e, 0, 1, 100, 50, 0, 0, 25);
	strcpy(r.votes[1].option_id, "maybe");
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -EINVAL);
	cr_assert_eq(t->sequence, 0);
	cr_assert_eq(t->contests[0].national.precincts_reported, 0);
	uint32_t fig[6] = {0};
	cr_assert_eq(tally_totals_apply_figures(t, 2, 1, h, 0, fig, &o), -ERANGE);
	tally_totals_free(t);
	free_election(e);
}

/* The independent model: what each precinct should hold after a sequence. */
struct model_copy {
	struct tally_result r;
	uint8_t tag;
};

Test(totals, incremental_equals_recomputed_over_random_sequences)
{
	for (unsigned seed = 1; seed <= 20; seed++) {
		srand(seed);
		struct tally_election *e = mk_election(4, 25, 2000, 1);
		struct tally_totals *t = NULL;
		cr_assert_eq(tally_totals_new(e, &t), 0);
		size_t n = e->n_precincts;
		/* Per precinct: the copies that arrived at the highest revision. */
		struct model_copy(*held)[8] = calloc(n, sizeof(*held));
		size_t *n_held = calloc(n, sizeof(size_t));
		uint64_t want_seq = 0;
		for (int step = 0; step < 600; step++) {
			size_t pi = (size_t)rand() % n;
			uint32_t rev = 1 + (uint32_t)rand() % 4;
			uint32_t cast = 100 + (uint32_t)rand() % 1500;
			uint32_t inv = (uint32_t)rand() % 20, nc = (uint32_t)rand() % 5;
			uint32_t yes = (uint32_t)rand() % (cast - inv - nc + 1);
			struct tally_result r = mk_result(e, pi, rev, 2000, cast, inv, nc, yes);
			uint8_t tag = 0;
			/* Sometimes resend a held copy exactly. */
			if (n_held[pi] && rand() % 4 == 0) {
				size_t k = (size_t)rand() % n_held[pi];
				r = held[pi][k].r;
				tag = held[pi][k].tag;
			}
			/* The model's expected outcome. */
			enum tally_outcome want;
			uint32_t held_rev = n_held[pi] ? held[pi][0].r.revision : 0;
			if (!n_held[pi] || r.revision > held_rev)
				want = TALLY_OUTCOME_ACCEPTED;
			else if (r.revision < held_rev)
				want = TALLY_OUTCOME_STALE;
			else {
				want = n_held[pi] < 8 ? TALLY_OUTCOME_CONFLICT
				                      : TALLY_OUTCOME_DUPLICATE;
				for (size_t k = 0; k < n_held[pi]; k++)
					if (!memcmp(&held[pi][k].r, &r, sizeof(r)) &&
					    held[pi][k].tag == tag)
						want = TALLY_OUTCOME_DUPLICATE;
				if (want == TALLY_OUTCOME_DUPLICATE && n_held[pi] == 8) {
					/* Model capacity reached: skip this step. */
					int found = 0;
					for (size_t k = 0; k < n_held[pi]; k++)
						found |= !memcmp(&held[pi][k].r, &r, sizeof(r));
					if (!found)
						continue;
				}
			}
			cr_assert_eq(apply(t, &r, tag), want, "seed %u step %d", seed, step);
			if (want == TALLY_OUTCOME_ACCEPTED) {
				n_held[pi] = 1;
				held[pi][0].r = r;
				held[pi][0].tag = tag;
				want_seq++;
			} else if (want == TALLY_OUTCOME_CONFLICT) {
				held[pi][n_held[pi]].r = r;
				held[pi][n_held[pi]].tag = tag;
				n_held[pi]++;
				want_seq++;
			}
		}
		cr_assert_eq(t->sequence, want_seq);

		/* Recompute from scratch: only the counted copy of each precinct. */
		struct tally_totals *fresh = NULL;
		cr_assert_eq(tally_totals_new(e, &fresh), 0);
		for (size_t pi = 0; pi < n; pi++)
			if (n_held[pi])
				cr_assert_eq(apply(fresh, &held[pi][0].r, held[pi][0].tag),
				             TALLY_OUTCOME_ACCEPTED);
		/* And by hand, independently of the library. */
		struct tally_figures nat = {0};
		nat.precincts_total = (uint32_t)n;
		for (size_t pi = 0; pi < n; pi++) {
			if (!n_held[pi])
				continue;
			const struct tally_result *r = &held[pi][0].r;
			nat.precincts_reported++;
			nat.conflicts += n_held[pi] > 1;
			nat.voters_registered += r->voters_registered;
			nat.ballots_cast += r->ballots_cast;
			nat.ballots_invalid += r->ballots_invalid;
			nat.ballots_not_counted += r->ballots_not_counted;
			nat.votes[0] += r->votes[0].count;
			nat.votes[1] += r->votes[1].count;
		}
		assert_figures_eq(&t->contests[0].national, &nat, "national vs model");
		fresh->contests[0].national.conflicts = nat.conflicts; /* fresh saw no conflicts */
		assert_figures_eq(&t->contests[0].national, &fresh->contests[0].national,
		                  "national vs fresh");
		for (size_t ri = 0; ri < e->n_regions; ri++) {
			uint32_t conflicts = 0;
			for (size_t k = 0; k < e->regions[ri].n_precincts; k++)
				conflicts += n_held[e->regions[ri].precincts[k]] > 1;
			fresh->contests[0].regions[ri].conflicts = conflicts;
			assert_figures_eq(&t->contests[0].regions[ri],
			                  &fresh->contests[0].regions[ri], "region");
		}
		uint8_t d1[TALLY_HASH_BYTES], d2[TALLY_HASH_BYTES];
		fresh->sequence = t->sequence;
		tally_totals_digest(t, d1);
		tally_totals_digest(fresh, d2);
		cr_assert_eq(memcmp(d1, d2, sizeof(d1)), 0);
		free(held);
		free(n_held);
		tally_totals_free(fresh);
		tally_totals_free(t);
		free_election(e);
	}
}

Test(totals, percentages)
{
	struct tally_figures f = {0};
	cr_assert_float_eq(tally_figures_turnout_pct(&f), 0.0, 1e-12);
	cr_assert_float_eq(tally_figures_option_pct(&f, 0), 0.0, 1e-12);
	f.voters_registered = 800;
	f.ballots_cast = 600;
	f.ballots_invalid = 100;
	f.votes[0] = 125;
	f.votes[1] = 375;
	cr_assert_float_eq(tally_figures_turnout_pct(&f), 75.0, 1e-9);
	cr_assert_float_eq(tally_figures_option_pct(&f, 0), 25.0, 1e-9);
	cr_assert_float_eq(tally_figures_option_pct(&f, 1), 75.0, 1e-9);
}

/* The legacy referendum's decision, as /v1/totals publishes it (decision.c). */
static enum tally_decision_status decide(const struct tally_totals *t, size_t *n,
                                         char (*reasons)[TALLY_REASON_MAX])
{
	struct tally_contest_decision cd;
	cr_assert_eq(tally_totals_contest_decision(t, 0, &cd), 0);
	*n = cd.d.n_reasons;
	for (size_t i = 0; i < cd.d.n_reasons && i < 4; i++)
		memcpy(reasons[i], cd.d.reasons[i], TALLY_REASON_MAX);
	return cd.d.status;
}

Test(totals, decision_without_rules_is_none)
{
	struct tally_election *e = mk_election(3, 2, 100, 0);
	struct tally_totals *t = NULL;
	char reasons[4][TALLY_REASON_MAX];
	size_t n = 9;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_NONE);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(tally_decision_status_str(TALLY_STATUS_NONE), "none");
	tally_totals_free(t);
	free_election(e);
}

Test(totals, decision_undetermined_then_passing)
{
	/* 3 regions x 2 precincts x 100 voters; a fraction of 0.6667 of 3
	 * regions needs all 3 (2 of 3 is 0.66666...). */
	struct tally_election *e = mk_election(3, 2, 100, 1);
	struct tally_totals *t = NULL;
	char reasons[4][TALLY_REASON_MAX];
	size_t n = 0;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_UNDETERMINED);
	cr_assert_eq(n, 2);
	cr_assert(strstr(reasons[0], "turnout undetermined: between 0.00% and 100.00%"), "%s",
	          reasons[0]);
	cr_assert(strstr(reasons[1], "surely leads in 0 and possibly in 3 of 3 regions; 3 needed"),
	          "%s", reasons[1]);

	/* Five precincts in, 90 of 100 voting, 80 yes. Turnout is at least
	 * 450 / 600 = 75%; region 2 has 80 yes of 90 with 100 voters to come,
	 * which could still outvote them. */
	for (size_t pi = 0; pi < 5; pi++) {
		struct tally_result r = mk_result(e, pi, 1, 100, 90, 0, 0, 80);
		cr_assert_eq(apply(t, &r, 0), TALLY_OUTCOME_ACCEPTED);
	}
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_UNDETERMINED);
	cr_assert(strstr(reasons[0], "turnout 75.00% exceeds the required 50.00%"), "%s",
	          reasons[0]);
	cr_assert(strstr(reasons[1], "surely leads in 2 and possibly in 3 of 3"), "%s", reasons[1]);

	struct tally_result last = mk_result(e, 5, 1, 100, 90, 0, 0, 80);
	cr_assert_eq(apply(t, &last, 0), TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_PASSING);
	cr_assert_eq(n, 2);
	cr_assert(strstr(reasons[1], "in 3 of 3 regions (at least 3 needed)"), "%s", reasons[1]);
	cr_assert_str_eq(tally_decision_status_str(TALLY_STATUS_PASSING), "passing");
	cr_assert_str_eq(tally_decision_status_str(TALLY_STATUS_UNDETERMINED), "undetermined");
	tally_totals_free(t);
	free_election(e);
}

Test(totals, group_puts_a_comma_between_thousands)
{
	static const struct {
		uint64_t v;
		const char *text;
	} cases[] = {
	    {0, "0"},
	    {999, "999"},
	    {1000, "1,000"},
	    {2602280, "2,602,280"},
	    {12482613, "12,482,613"},
	    {100000000, "100,000,000"},
	    {UINT64_MAX, "18,446,744,073,709,551,615"},
	};
	char buf[TALLY_GROUPED_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(tally_figures_group(cases[i].v, buf), buf);
		cr_assert_str_eq(buf, cases[i].text);
	}
}

Test(totals, decision_reasons_group_voter_counts)
{
	/* 3 regions x 2 precincts x 1,000,000 voters. */
	struct tally_election *e = mk_election(3, 2, 1000000, 1);
	struct tally_totals *t = NULL;
	char reasons[4][TALLY_REASON_MAX];
	size_t n = 0;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_UNDETERMINED);
	cr_assert_str_eq(reasons[0], "turnout undetermined: between 0.00% and 100.00% with "
	                             "6,000,000 registered voters in unreported precincts; "
	                             "required more than 50.00%");

	/* Five precincts in with 900,000 of 1,000,000 voting: at least 75%. */
	for (size_t pi = 0; pi < 5; pi++) {
		struct tally_result r = mk_result(e, pi, 1, 1000000, 900000, 0, 0, 800000);
		cr_assert_eq(apply(t, &r, 0), TALLY_OUTCOME_ACCEPTED);
	}
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_UNDETERMINED);
	cr_assert_str_eq(reasons[0], "turnout 75.00% exceeds the required 50.00% whatever the "
	                             "1,000,000 registered voters of unreported precincts do");
	tally_totals_free(t);
	free_election(e);
}

Test(totals, decision_failing_on_turnout)
{
	struct tally_election *e = mk_election(3, 2, 100, 1);
	struct tally_totals *t = NULL;
	char reasons[4][TALLY_REASON_MAX];
	size_t n = 0;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	/* Five precincts in with 20 of 100 voting: even if the last one all
	 * votes, turnout is (100 + 100) / 600 = 33.33%. */
	for (size_t pi = 0; pi < 5; pi++) {
		struct tally_result r = mk_result(e, pi, 1, 100, 20, 0, 0, 15);
		cr_assert_eq(apply(t, &r, 0), TALLY_OUTCOME_ACCEPTED);
	}
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_FAILING);
	cr_assert(strstr(reasons[0], "at most 33.33%"), "%s", reasons[0]);
	cr_assert_str_eq(tally_decision_status_str(TALLY_STATUS_FAILING), "failing");
	tally_totals_free(t);
	free_election(e);
}

Test(totals, decision_failing_on_regions)
{
	struct tally_election *e = mk_election(3, 2, 100, 1);
	struct tally_totals *t = NULL;
	char reasons[4][TALLY_REASON_MAX];
	size_t n = 0;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	/* Everyone votes; yes wins only region 0 (exactly half is no majority
	 * in region 1). */
	for (size_t pi = 0; pi < 6; pi++) {
		uint32_t yes = pi < 2 ? 70 : pi < 4 ? 50 : 10;
		struct tally_result r = mk_result(e, pi, 1, 100, 100, 0, 0, yes);
		cr_assert_eq(apply(t, &r, 0), TALLY_OUTCOME_ACCEPTED);
	}
	cr_assert_eq(decide(t, &n, reasons), TALLY_STATUS_FAILING);
	cr_assert_eq(n, 2);
	cr_assert(strstr(reasons[0], "turnout 100.00% exceeds"), "%s", reasons[0]);
	cr_assert(strstr(reasons[1], "at most 1 of 3 regions; 3 needed"), "%s", reasons[1]);
	tally_totals_free(t);
	free_election(e);
}

Test(totals, json_document_fields_and_values)
{
	struct tally_election *e = mk_election(2, 1, 1000, 1);
	struct tally_totals *t = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	struct tally_result r = mk_result(e, 0, 1, 1000, 800, 50, 10, 555); /* no = 185 */
	cr_assert_eq(apply(t, &r, 0), TALLY_OUTCOME_ACCEPTED);
	json_t *doc = NULL;
	cr_assert_eq(tally_totals_to_json(t, &doc), 0);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "election_id")), "test-2024");
	cr_assert_eq(json_integer_value(json_object_get(doc, "sequence")), 1);
	json_t *nat = json_object_get(doc, "national");
	cr_assert_eq(json_integer_value(json_object_get(nat, "precincts_total")), 2);
	cr_assert_eq(json_integer_value(json_object_get(nat, "precincts_reported")), 1);
	cr_assert_eq(json_integer_value(json_object_get(nat, "voters_registered")), 1000);
	cr_assert_eq(json_integer_value(json_object_get(nat, "ballots_cast")), 800);
	cr_assert_eq(json_integer_value(json_object_get(nat, "ballots_invalid")), 50);
	cr_assert_eq(json_integer_value(json_object_get(nat, "ballots_not_counted")), 10);
	cr_assert_eq(json_integer_value(json_object_get(nat, "conflicts")), 0);
	json_t *votes = json_object_get(nat, "votes");
	cr_assert_eq(json_integer_value(json_object_get(votes, "yes")), 555);
	cr_assert_eq(json_integer_value(json_object_get(votes, "no")), 185);
	json_t *vp = json_object_get(nat, "votes_pct");
	/* 555 / 750 = 74.0%, 185 / 750 = 24.666..% -> 24.67 */
	cr_assert_float_eq(json_real_value(json_object_get(vp, "yes")), 74.0, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(vp, "no")), 24.67, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(nat, "turnout_pct")), 80.0, 1e-9);
	json_t *regions = json_object_get(doc, "regions");
	cr_assert_eq(json_array_size(regions), 2);
	json_t *r0 = json_array_get(regions, 0);
	cr_assert_str_eq(json_string_value(json_object_get(r0, "id")), "KZ-10");
	cr_assert_str_eq(json_string_value(json_object_get(r0, "name")), "Region 0");
	cr_assert_eq(json_integer_value(json_object_get(r0, "ballots_cast")), 800);
	json_t *r1 = json_array_get(regions, 1);
	cr_assert_eq(json_integer_value(json_object_get(r1, "precincts_reported")), 0);
	cr_assert_float_eq(json_real_value(json_object_get(r1, "turnout_pct")), 0.0, 1e-9);
	json_t *dec = json_object_get(doc, "decision");
	cr_assert_str_eq(json_string_value(json_object_get(dec, "status")), "undetermined");
	cr_assert_eq(json_array_size(json_object_get(dec, "reasons")), 2);
	json_t *rules = json_object_get(dec, "rules");
	cr_assert_float_eq(json_real_value(json_object_get(rules, "min_turnout_pct")), 50.0, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(rules, "region_majority_fraction")),
	                   0.6667, 1e-9);
	json_decref(doc);
	tally_totals_free(t);
	free_election(e);
}

Test(totals, digest_changes_with_any_figure_and_sequence)
{
	struct tally_election *e = mk_election(2, 2, 100, 0);
	struct tally_totals *t = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	uint8_t d0[TALLY_HASH_BYTES], d1[TALLY_HASH_BYTES], d2[TALLY_HASH_BYTES];
	tally_totals_digest(t, d0);
	struct tally_result r = mk_result(e, 3, 1, 100, 50, 0, 0, 20);
	apply(t, &r, 0);
	tally_totals_digest(t, d1);
	cr_assert_neq(memcmp(d0, d1, sizeof(d0)), 0);
	t->contests[0].regions[1].votes[1]++;
	tally_totals_digest(t, d2);
	cr_assert_neq(memcmp(d1, d2, sizeof(d1)), 0);
	t->contests[0].regions[1].votes[1]--;
	tally_totals_digest(t, d2);
	cr_assert_eq(memcmp(d1, d2, sizeof(d1)), 0);
	t->sequence++;
	tally_totals_digest(t, d2);
	cr_assert_neq(memcmp(d1, d2, sizeof(d1)), 0);
	tally_totals_free(t);
	free_election(e);
}

/*
 * Pins of the legacy format: a definition without contests must keep the
 * "tally-totals-v1" digest (signed tree heads of old stores and bundles
 * verify unchanged) and the /v1/totals document byte for byte. The values
 * were produced by the code before totals were kept per contest. The
 * definition has a region without precincts and three options, and the
 * state a correction, a stale copy and a conflict.
 */
static const char legacy_pin_definition[] =
    "{\"election_id\": \"pin-2024\", \"title\": \"Pinned\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"},"
    " {\"id\": \"blank\", \"name\": \"Blank\"}],"
    " \"regions\": [{\"id\": \"KZ-10\", \"name\": \"North\", \"precincts\": [[11, 1000], [12, "
    "800]]},"
    " {\"id\": \"KZ-11\", \"name\": \"Empty\", \"precincts\": []},"
    " {\"id\": \"KZ-12\", \"name\": \"South\", \"precincts\": [[21, 1200], [22, 900], [23, 700]]}]"
    "%s}";

static struct tally_totals *legacy_pin_state(struct tally_election **ret_e, bool rules)
{
	char text[2048];
	int n = snprintf(text, sizeof(text), legacy_pin_definition,
	                 rules ? ", \"rules\": {\"min_turnout_pct\": 50,"
	                         " \"region_majority_fraction\": 0.6667}"
	                       : "");
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(text, (size_t)n, &e, &err), 0, "%s", err.msg);
	struct tally_totals *t = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	static const struct {
		uint32_t precinct, revision, registered, cast, invalid, not_counted, yes, no, blank;
		uint8_t tag;
		enum tally_outcome want;
	} steps[] = {
	    {11, 1, 1000, 700, 10, 5, 400, 250, 35, 0, TALLY_OUTCOME_ACCEPTED},
	    {21, 1, 1200, 900, 20, 0, 300, 550, 30, 0, TALLY_OUTCOME_ACCEPTED},
	    {11, 2, 1000, 710, 10, 5, 410, 250, 35, 0, TALLY_OUTCOME_ACCEPTED},
	    {11, 1, 1000, 700, 10, 5, 400, 250, 35, 0, TALLY_OUTCOME_STALE},
	    {22, 1, 900, 450, 0, 3, 200, 200, 47, 0, TALLY_OUTCOME_ACCEPTED},
	    {22, 1, 900, 450, 0, 3, 201, 199, 47, 1, TALLY_OUTCOME_CONFLICT},
	    {22, 1, 900, 450, 0, 3, 201, 199, 47, 1, TALLY_OUTCOME_DUPLICATE},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct tally_result r;
		memset(&r, 0, sizeof(r));
		strcpy(r.election_id, e->election_id);
		r.precinct_id = steps[i].precinct;
		strcpy(
		    r.region_id,
		    e->regions[e->precincts[tally_election_precinct_index(e, r.precinct_id)].region]
		        .id);
		r.revision = steps[i].revision;
		r.voters_registered = steps[i].registered;
		r.ballots_cast = steps[i].cast;
		r.ballots_invalid = steps[i].invalid;
		r.ballots_not_counted = steps[i].not_counted;
		r.n_votes = 3;
		strcpy(r.votes[0].option_id, "yes");
		r.votes[0].count = steps[i].yes;
		strcpy(r.votes[1].option_id, "blank");
		r.votes[1].count = steps[i].blank;
		strcpy(r.votes[2].option_id, "no");
		r.votes[2].count = steps[i].no;
		uint8_t h[TALLY_HASH_BYTES];
		memset(h, 0, sizeof(h));
		memcpy(h, &r.precinct_id, 4);
		memcpy(h + 4, &r.revision, 4);
		h[8] = steps[i].tag;
		enum tally_outcome o;
		cr_assert_eq(tally_totals_apply(t, &r, h, (int64_t)t->sequence, &o), 0);
		cr_assert_eq(o, steps[i].want, "step %zu", i);
	}
	*ret_e = e;
	return t;
}

static void hex(const uint8_t *b, size_t n, char *ret)
{
	for (size_t i = 0; i < n; i++)
		sprintf(ret + 2 * i, "%02x", b[i]);
}

static const char *const legacy_pin_digest[2] = {
    "49d2c20a35d4f32c124b8b80a89dc0a624733e53a008e1afa8a8902685d83011",
    "49d2c20a35d4f32c124b8b80a89dc0a624733e53a008e1afa8a8902685d83011",
};

static const char *const legacy_pin_document[2] = {
    "{\"election_id\":\"pin-2024\",\"sequence\":5,\"national\":{\"precincts_total\":5"
    ",\"precincts_reported\":3,\"voters_registered\":3100,\"ballots_cast\":2060,\"bal"
    "lots_invalid\":30,\"ballots_not_counted\":8,\"votes\":{\"yes\":910,\"no\":1000,\""
    "blank\":112},\"votes_pct\":{\"yes\":44.83,\"no\":49.26,\"blank\":5.52},\"turnout"
    "_pct\":66.45,\"conflicts\":1},\"regions\":[{\"id\":\"KZ-10\",\"name\":\"North\","
    "\"precincts_total\":2,\"precincts_reported\":1,\"voters_registered\":1000,\"ball"
    "ots_cast\":710,\"ballots_invalid\":10,\"ballots_not_counted\":5,\"votes\":{\"yes"
    "\":410,\"no\":250,\"blank\":35},\"votes_pct\":{\"yes\":58.57,\"no\":35.71,\"blan"
    "k\":5.0},\"turnout_pct\":71.0,\"conflicts\":0},{\"id\":\"KZ-11\",\"name\":\"Empt"
    "y\",\"precincts_total\":0,\"precincts_reported\":0,\"voters_registered\":0,\"bal"
    "lots_cast\":0,\"ballots_invalid\":0,\"ballots_not_counted\":0,\"votes\":{\"yes\""
    ":0,\"no\":0,\"blank\":0},\"votes_pct\":{\"yes\":0.0,\"no\":0.0,\"blank\":0.0},\""
    "turnout_pct\":0.0,\"conflicts\":0},{\"id\":\"KZ-12\",\"name\":\"South\",\"precin"
    "cts_total\":3,\"precincts_reported\":2,\"voters_registered\":2100,\"ballots_cast"
    "\":1350,\"ballots_invalid\":20,\"ballots_not_counted\":3,\"votes\":{\"yes\":500,"
    "\"no\":750,\"blank\":77},\"votes_pct\":{\"yes\":37.59,\"no\":56.39,\"blank\":5.7"
    "9},\"turnout_pct\":64.29,\"conflicts\":1}],\"decision\":{\"status\":\"none\",\"r"
    "easons\":[],\"rules\":{}}}",
    "{\"election_id\":\"pin-2024\",\"sequence\":5,\"national\":{\"precincts_total\":5"
    ",\"precincts_reported\":3,\"voters_registered\":3100,\"ballots_cast\":2060,\"bal"
    "lots_invalid\":30,\"ballots_not_counted\":8,\"votes\":{\"yes\":910,\"no\":1000,\""
    "blank\":112},\"votes_pct\":{\"yes\":44.83,\"no\":49.26,\"blank\":5.52},\"turnout"
    "_pct\":66.45,\"conflicts\":1},\"regions\":[{\"id\":\"KZ-10\",\"name\":\"North\","
    "\"precincts_total\":2,\"precincts_reported\":1,\"voters_registered\":1000,\"ball"
    "ots_cast\":710,\"ballots_invalid\":10,\"ballots_not_counted\":5,\"votes\":{\"yes"
    "\":410,\"no\":250,\"blank\":35},\"votes_pct\":{\"yes\":58.57,\"no\":35.71,\"blan"
    "k\":5.0},\"turnout_pct\":71.0,\"conflicts\":0},{\"id\":\"KZ-11\",\"name\":\"Empt"
    "y\",\"precincts_total\":0,\"precincts_reported\":0,\"voters_registered\":0,\"bal"
    "lots_cast\":0,\"ballots_invalid\":0,\"ballots_not_counted\":0,\"votes\":{\"yes\""
    ":0,\"no\":0,\"blank\":0},\"votes_pct\":{\"yes\":0.0,\"no\":0.0,\"blank\":0.0},\""
    "turnout_pct\":0.0,\"conflicts\":0},{\"id\":\"KZ-12\",\"name\":\"South\",\"precin"
    "cts_total\":3,\"precincts_reported\":2,\"voters_registered\":2100,\"ballots_cast"
    "\":1350,\"ballots_invalid\":20,\"ballots_not_counted\":3,\"votes\":{\"yes\":500,"
    "\"no\":750,\"blank\":77},\"votes_pct\":{\"yes\":37.59,\"no\":56.39,\"blank\":5.7"
    "9},\"turnout_pct\":64.29,\"conflicts\":1}],\"decision\":{\"status\":\"failing\","
    "\"reasons\":[\"turnout undetermined: between 44.78% and 77.39% with 1,500 regist"
    "ered voters in unreported precincts; required more than 50.00%\",\"'yes' can hav"
    "e more than half of ballots cast in at most 2 of 3 regions; 3 needed\"],\"rules\""
    ":{\"min_turnout_pct\":50.0,\"region_majority_fraction\":0.6667}}}",
};

Test(totals, legacy_digest_and_document_are_pinned)
{
	for (int rules = 0; rules < 2; rules++) {
		struct tally_election *e = NULL;
		struct tally_totals *t = legacy_pin_state(&e, rules);
		uint8_t d[TALLY_HASH_BYTES];
		char dh[2 * TALLY_HASH_BYTES + 1];
		tally_totals_digest(t, d);
		hex(d, sizeof(d), dh);
		json_t *doc = NULL;
		cr_assert_eq(tally_totals_to_json(t, &doc), 0);
		char *text =
		    json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		cr_assert_str_eq(dh, legacy_pin_digest[rules], "rules %d", rules);
		cr_assert_str_eq(text, legacy_pin_document[rules], "rules %d", rules);
		free(text);
		json_decref(doc);
		tally_totals_free(t);
		free_election(e);
	}
}

/* ---- a general election: totals per slot and per contest ---- */

/*
 * The reference: what each slot holds, kept by the rules written out
 * plainly, and the figures summed from it over the sets the fixture's
 * tables name. Nothing here reads the model or the totals it checks.
 */
struct g_slot {
	uint32_t revision; /* 0: nothing counted */
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + 4];
	uint8_t held[12][TALLY_HASH_BYTES]; /* [0] the counted copy, then conflicting ones */
	size_t n_held;
	int64_t leaf;
};

struct g_model {
	struct g_slot s[G_CONTESTS][G_PRECINCTS];
	uint64_t sequence;
};

/* Figures of (contest, precinct, revision, tag): any numbers, distinct per copy. */
static void g_figures(size_t c, size_t p, uint32_t revision, uint8_t tag, uint32_t *ret)
{
	uint32_t cast = g_registered[p] / 2 + 10 * revision + tag + (uint32_t)c;
	uint32_t invalid = tag + 1, not_counted = revision, left = cast - invalid - not_counted;
	ret[0] = g_registered[p] + (uint32_t)c;
	ret[1] = cast;
	ret[2] = invalid;
	ret[3] = not_counted;
	for (size_t i = 0; i < g_n_options[c]; i++) {
		uint32_t v = i + 1 < g_n_options[c] ? left / (uint32_t)(i + 2) : left;
		ret[TALLY_TOTALS_FIXED_FIGURES + i] = v;
		left -= v;
	}
}

static struct tally_result g_result(size_t c, size_t p, uint32_t revision, uint8_t tag)
{
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + 4];
	struct tally_result r;
	memset(&r, 0, sizeof(r));
	g_figures(c, p, revision, tag, fig);
	strcpy(r.election_id, "general-2024");
	strcpy(r.contest_id, g_contest_id[c]);
	strcpy(r.region_id, g_region_id[g_region_of[p]]);
	r.precinct_id = g_precinct_id[p];
	r.revision = revision;
	r.voters_registered = fig[0];
	r.ballots_cast = fig[1];
	r.ballots_invalid = fig[2];
	r.ballots_not_counted = fig[3];
	/* Votes in reverse ballot order: the layout must not depend on it. */
	r.n_votes = g_n_options[c];
	for (size_t i = 0; i < g_n_options[c]; i++) {
		size_t k = g_n_options[c] - 1 - i;
		strcpy(r.votes[i].option_id, g_options[c][k]);
		r.votes[i].count = fig[TALLY_TOTALS_FIXED_FIGURES + k];
	}
	return r;
}

static void g_hash(size_t c, size_t p, uint32_t revision, uint8_t tag,
                   uint8_t ret[TALLY_HASH_BYTES])
{
	memset(ret, 0, TALLY_HASH_BYTES);
	ret[0] = (uint8_t)c;
	ret[1] = (uint8_t)p;
	memcpy(ret + 2, &revision, sizeof(revision));
	ret[6] = tag;
}

/* The outcome by the rules, recorded in the reference. */
static enum tally_outcome g_model_apply(struct g_model *m, size_t c, size_t p, uint32_t revision,
                                        const uint8_t hash[TALLY_HASH_BYTES], const uint32_t *fig)
{
	struct g_slot *s = &m->s[c][p];
	if (s->revision == 0 || revision > s->revision) {
		s->revision = revision;
		memcpy(s->fig, fig, sizeof(s->fig));
		memcpy(s->held[0], hash, TALLY_HASH_BYTES);
		s->n_held = 1;
		s->leaf = (int64_t)m->sequence++;
		return TALLY_OUTCOME_ACCEPTED;
	}
	if (revision < s->revision)
		return TALLY_OUTCOME_STALE;
	for (size_t i = 0; i < s->n_held; i++)
		if (memcmp(s->held[i], hash, TALLY_HASH_BYTES) == 0)
			return TALLY_OUTCOME_DUPLICATE;
	cr_assert_lt(s->n_held, 12, "the reference holds at most 12 copies");
	memcpy(s->held[s->n_held++], hash, TALLY_HASH_BYTES);
	m->sequence++;
	return TALLY_OUTCOME_CONFLICT;
}

/* The reference figures of contest c over the precincts `in` marks ('1'). */
static void g_sum(const struct g_model *m, size_t c, const char *in, struct tally_figures *ret,
                  uint64_t *ret_definition_registered)
{
	memset(ret, 0, sizeof(*ret));
	*ret_definition_registered = 0;
	for (size_t p = 0; p < G_PRECINCTS; p++) {
		if (in[p] != '1' || g_in_contest[c][p] != '1')
			continue;
		const struct g_slot *s = &m->s[c][p];
		ret->precincts_total++;
		if (s->revision == 0)
			continue;
		ret->precincts_reported++;
		ret->conflicts += s->n_held > 1;
		ret->voters_registered += s->fig[0];
		ret->ballots_cast += s->fig[1];
		ret->ballots_invalid += s->fig[2];
		ret->ballots_not_counted += s->fig[3];
		for (size_t i = 0; i < g_n_options[c]; i++)
			ret->votes[i] += s->fig[TALLY_TOTALS_FIXED_FIGURES + i];
		*ret_definition_registered += g_registered[p];
	}
}

static void g_region_members(size_t r, char ret[G_PRECINCTS + 1])
{
	for (size_t p = 0; p < G_PRECINCTS; p++)
		ret[p] = g_region_of[p] == r ? '1' : '0';
	ret[G_PRECINCTS] = '\0';
}

/*
 * Precincts across contests: every one votes in the party list, so all 7
 * count; one is in once each contest it votes in has a counted result.
 * Conflicts: flagged (contest, precinct) pairs.
 */
static void g_check_precincts(const struct tally_totals *t, const struct g_model *m,
                              const char *when)
{
	uint32_t total[G_REGIONS + 1] = {0}, in[G_REGIONS + 1] = {0}, flagged[G_REGIONS + 1] = {0};
	for (size_t p = 0; p < G_PRECINCTS; p++) {
		bool all = true;
		for (size_t c = 0; c < G_CONTESTS; c++) {
			if (g_in_contest[c][p] != '1')
				continue;
			all &= m->s[c][p].revision != 0;
			if (m->s[c][p].n_held > 1) {
				flagged[g_region_of[p]]++;
				flagged[G_REGIONS]++;
			}
		}
		total[g_region_of[p]]++;
		total[G_REGIONS]++;
		in[g_region_of[p]] += all;
		in[G_REGIONS] += all;
	}
	for (size_t r = 0; r <= G_REGIONS; r++) {
		uint32_t got_total = 99, got_in = 99;
		size_t which = r == G_REGIONS ? SIZE_MAX : r;
		tally_totals_precincts(t, which, &got_total, &got_in);
		cr_assert_eq(got_total, total[r], "%s: precincts of %zu", when, r);
		cr_assert_eq(got_in, in[r], "%s: precincts in of %zu", when, r);
		cr_assert_eq(tally_totals_conflicts(t, which), flagged[r], "%s: flagged in %zu",
		             when, r);
	}
}

/* Every figure, counter and slot of t against the reference. */
static void g_check(const struct tally_totals *t, const struct g_model *m, const char *when)
{
	struct tally_figures want;
	uint64_t reg;
	char members[G_PRECINCTS + 1];

	cr_assert_eq(t->sequence, m->sequence, "%s: sequence", when);
	g_check_precincts(t, m, when);
	for (size_t c = 0; c < G_CONTESTS; c++) {
		const struct tally_contest_totals *ct = &t->contests[c];
		g_sum(m, c, "1111111", &want, &reg);
		assert_figures_eq(&ct->national, &want, when);
		cr_assert_eq(ct->reported_definition_registered, reg, "%s: contest %zu", when, c);
		for (size_t r = 0; r < G_REGIONS; r++) {
			g_region_members(r, members);
			g_sum(m, c, members, &want, &reg);
			assert_figures_eq(tally_totals_region(t, c, r), &want, when);
		}
		for (size_t k = 0; k < g_n_contest_regions[c]; k++) {
			g_region_members(g_contest_regions[c][k], members);
			g_sum(m, c, members, &want, &reg);
			assert_figures_eq(&ct->regions[k], &want, when);
			cr_assert_eq(ct->region_reported_definition_registered[k], reg,
			             "%s: contest %zu region %zu", when, c, k);
			uint64_t out = 0;
			for (size_t p = 0; p < G_PRECINCTS; p++)
				if (members[p] == '1' && g_in_contest[c][p] == '1' &&
				    m->s[c][p].revision == 0)
					out += g_registered[p];
			cr_assert_eq(ct->region_unreported_registered[k], out,
			             "%s: contest %zu region %zu unreported", when, c, k);
		}
		for (size_t k = 0; k < g_n_contest_districts[c]; k++) {
			g_sum(m, c, g_in_district[g_contest_districts[c][k]], &want, &reg);
			assert_figures_eq(&ct->districts[k], &want, when);
		}
		for (size_t p = 0; p < G_PRECINCTS; p++) {
			const struct g_slot *s = &m->s[c][p];
			const struct tally_slot_state *st = tally_totals_state(t, c, p);
			cr_assert_eq(st->revision, s->revision, "%s: contest %zu precinct %zu",
			             when, c, p);
			cr_assert_eq(st->n_conflicts, s->n_held > 1 ? s->n_held - 1 : 0, "%s",
			             when);
			cr_assert_eq(st->leaf_index, s->revision ? s->leaf : -1, "%s", when);
			if (s->revision == 0)
				continue;
			int64_t slot = tally_election_slot(t->election, c, p);
			const uint32_t *got = tally_totals_counted(t, (size_t)slot);
			for (size_t i = 0; i < TALLY_TOTALS_FIXED_FIGURES + g_n_options[c]; i++)
				cr_assert_eq(got[i], s->fig[i], "%s: counted[%zu]", when, i);
		}
	}
}

/* Applies (c, p, revision, tag) to both; returns the totals' outcome after checking both agree. */
static enum tally_outcome g_apply(struct tally_totals *t, struct g_model *m, size_t c, size_t p,
                                  uint32_t revision, uint8_t tag, bool by_figures)
{
	uint8_t h[TALLY_HASH_BYTES];
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + 4];
	enum tally_outcome got = TALLY_OUTCOME_UNSPECIFIED;
	g_hash(c, p, revision, tag, h);
	g_figures(c, p, revision, tag, fig);
	int64_t leaf = (int64_t)t->sequence;
	if (by_figures) {
		int64_t slot = tally_election_slot(t->election, c, p);
		cr_assert_geq(slot, 0);
		cr_assert_eq(
		    tally_totals_apply_figures(t, (size_t)slot, revision, h, leaf, fig, &got), 0);
	} else {
		struct tally_result r = g_result(c, p, revision, tag);
		cr_assert_eq(tally_totals_apply(t, &r, h, leaf, &got), 0);
	}
	enum tally_outcome want = g_model_apply(m, c, p, revision, h, fig);
	cr_assert_eq(got, want, "contest %zu precinct %zu revision %u tag %u: %s, want %s", c, p,
	             revision, tag, tally_outcome_str(got), tally_outcome_str(want));
	return got;
}

Test(totals, general_election_layout)
{
	struct tally_election *e = mk_general_election();
	struct tally_totals *t = NULL;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	cr_assert_eq(e->n_slots, 13);
	cr_assert_eq(tally_totals_contest_stride(t, 0), 7);
	cr_assert_eq(tally_totals_contest_stride(t, 1), 6);
	cr_assert_eq(tally_totals_contest_stride(t, 2), 8);
	cr_assert_eq(tally_totals_slot_stride(t, 0), 7);
	cr_assert_eq(tally_totals_slot_stride(t, 6), 7);
	cr_assert_eq(tally_totals_slot_stride(t, 7), 6);
	cr_assert_eq(tally_totals_slot_stride(t, 10), 6);
	cr_assert_eq(tally_totals_slot_stride(t, 11), 8);
	cr_assert_eq(tally_totals_slot_stride(t, 12), 8);
	/* Totals per set: precincts of the contest there. */
	cr_assert_eq(t->contests[0].national.precincts_total, 7);
	cr_assert_eq(t->contests[1].national.precincts_total, 4);
	cr_assert_eq(t->contests[2].national.precincts_total, 2);
	cr_assert_eq(t->contests[0].regions[0].precincts_total, 3);
	cr_assert_eq(t->contests[1].regions[0].precincts_total, 2);
	cr_assert_eq(t->contests[2].regions[0].precincts_total, 1);
	cr_assert_eq(t->contests[2].regions[1].precincts_total, 1);
	cr_assert_eq(t->contests[0].districts[0].precincts_total, 2);
	cr_assert_eq(t->contests[0].districts[2].precincts_total, 1);
	cr_assert_eq(t->contests[1].districts[0].precincts_total, 2);
	cr_assert_eq(t->contests[2].districts[0].precincts_total, 2);
	/* A region without the contest reads as zeros. */
	cr_assert_eq(tally_totals_region(t, 1, 0)->precincts_total, 0);
	cr_assert_eq(tally_totals_region(t, 2, 2)->precincts_total, 0);
	/* A precinct outside a contest reads as nothing counted. */
	cr_assert_eq(tally_totals_state(t, 1, 0)->revision, 0);
	cr_assert_eq(tally_totals_state(t, 1, 0)->leaf_index, -1);

	/* Figures laid out per contest, whatever the order of the votes. */
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS], want[8];
	struct tally_result r = g_result(2, 3, 1, 1);
	g_figures(2, 3, 1, 1, want);
	cr_assert_eq(tally_totals_result_figures(t, &r, fig), 0);
	cr_assert_arr_eq(fig, want, 8 * sizeof(uint32_t));
	strcpy(r.contest_id, "nope");
	cr_assert_eq(tally_totals_result_figures(t, &r, fig), -ENOENT);
	r = g_result(1, 3, 1, 1);
	strcpy(r.votes[0].option_id, "x");
	cr_assert_eq(tally_totals_result_figures(t, &r, fig), -EINVAL);
	tally_totals_free(t);
	free_election(e);
}

Test(totals, general_election_refuses_what_has_no_slot)
{
	struct tally_election *e = mk_general_election();
	struct tally_totals *t = NULL;
	uint8_t h[TALLY_HASH_BYTES] = {1};
	uint32_t fig[8] = {0};
	enum tally_outcome o;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	struct tally_result r = g_result(0, 0, 1, 1);
	strcpy(r.contest_id, "");
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -ENOENT, "several contests: name one");
	strcpy(r.contest_id, "senate");
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -ENOENT);
	r = g_result(1, 0, 1, 1); /* precinct 101 does not vote for a governor */
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -ENOENT);
	r = g_result(2, 1, 1, 1);
	strcpy(r.votes[0].option_id, "p1");
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -EINVAL);
	r = g_result(2, 1, 0, 1);
	cr_assert_eq(tally_totals_apply(t, &r, h, 0, &o), -EINVAL);
	cr_assert_eq(tally_totals_apply_figures(t, 13, 1, h, 0, fig, &o), -ERANGE);
	cr_assert_eq(t->sequence, 0);
	struct g_model m;
	memset(&m, 0, sizeof(m));
	g_check(t, &m, "after refusals");
	tally_totals_free(t);
	free_election(e);
}

Test(totals, general_election_per_slot_outcomes_and_figures)
{
	struct tally_election *e = mk_general_election();
	struct tally_totals *t = NULL;
	struct g_model m;
	memset(&m, 0, sizeof(m));
	cr_assert_eq(tally_totals_new(e, &t), 0);
	enum { L = 0, G = 1, D = 2 };
	enum { P101 = 0, P102, P103, P201, P202, P301, P302 };
	static const struct {
		size_t c, p;
		uint32_t revision;
		uint8_t tag;
		enum tally_outcome want;
	} steps[] = {
	    {L, P101, 1, 1, TALLY_OUTCOME_ACCEPTED},  {G, P201, 1, 1, TALLY_OUTCOME_ACCEPTED},
	    {D, P201, 1, 1, TALLY_OUTCOME_ACCEPTED},  {L, P201, 1, 1, TALLY_OUTCOME_ACCEPTED},
	    {D, P102, 1, 1, TALLY_OUTCOME_ACCEPTED},  {L, P201, 2, 1, TALLY_OUTCOME_ACCEPTED},
	    {G, P201, 1, 2, TALLY_OUTCOME_CONFLICT},  {G, P201, 1, 2, TALLY_OUTCOME_DUPLICATE},
	    {G, P201, 1, 1, TALLY_OUTCOME_DUPLICATE}, {L, P201, 1, 1, TALLY_OUTCOME_STALE},
	    {D, P201, 1, 3, TALLY_OUTCOME_CONFLICT},  {G, P301, 1, 1, TALLY_OUTCOME_ACCEPTED},
	    {G, P201, 2, 1, TALLY_OUTCOME_ACCEPTED},  {L, P302, 1, 1, TALLY_OUTCOME_ACCEPTED},
	    {D, P201, 2, 1, TALLY_OUTCOME_ACCEPTED},  {L, P103, 1, 1, TALLY_OUTCOME_ACCEPTED},
	    {L, P103, 1, 2, TALLY_OUTCOME_CONFLICT},  {L, P103, 1, 3, TALLY_OUTCOME_CONFLICT},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct tally_contest_totals before[G_CONTESTS];
		struct tally_figures nat[G_CONTESTS];
		memcpy(before, t->contests, sizeof(before));
		for (size_t c = 0; c < G_CONTESTS; c++)
			nat[c] = t->contests[c].national;
		char when[64];
		snprintf(when, sizeof(when), "step %zu", i);
		cr_assert_eq(
		    g_apply(t, &m, steps[i].c, steps[i].p, steps[i].revision, steps[i].tag, i % 2),
		    steps[i].want, "%s", when);
		g_check(t, &m, when);
		/* The other contests did not move. */
		for (size_t c = 0; c < G_CONTESTS; c++)
			if (c != steps[i].c)
				cr_assert_eq(
				    memcmp(&nat[c], &t->contests[c].national, sizeof(nat[c])), 0,
				    "%s: contest %zu moved", when, c);
		if (i == 5) {
			/* By hand: list 101 r1 cast 500 + 10 + 1; list 201 r2 cast 450 + 20 + 1. */
			cr_assert_eq(t->contests[L].national.ballots_cast, 511 + 471);
			cr_assert_eq(t->contests[L].national.precincts_reported, 2);
			cr_assert_eq(t->contests[L].regions[0].ballots_cast, 511);
			cr_assert_eq(t->contests[L].regions[1].ballots_cast, 471);
			cr_assert_eq(t->contests[L].districts[0].ballots_cast, 471,
			             "D-A: 201 only");
			cr_assert_eq(t->contests[L].districts[0].precincts_reported, 1);
			/* gov 201 r1: 450 + 10 + 1 + 1; dist-a 201 and 102 r1. */
			cr_assert_eq(t->contests[G].national.ballots_cast, 462);
			cr_assert_eq(t->contests[D].national.ballots_cast, 463 + 413);
			cr_assert_eq(t->contests[D].districts[0].ballots_cast, 463 + 413);
			cr_assert_eq(t->contests[D].regions[0].ballots_cast, 413);
			cr_assert_eq(t->contests[D].reported_definition_registered, 900 + 800);
		}
		if (i == 10) {
			/* Conflicts are counted per contest. */
			cr_assert_eq(t->contests[L].national.conflicts, 0);
			cr_assert_eq(t->contests[G].national.conflicts, 1);
			cr_assert_eq(t->contests[G].regions[0].conflicts, 1);
			cr_assert_eq(t->contests[D].national.conflicts, 1);
			cr_assert_eq(t->contests[D].districts[0].conflicts, 1);
			cr_assert_eq(t->contests[L].districts[0].conflicts, 0);
		}
	}
	/* Two conflicting copies of one slot flag it once. */
	cr_assert_eq(t->contests[L].national.conflicts, 1);
	cr_assert_eq(t->contests[L].districts[2].conflicts, 1);
	cr_assert_eq(tally_totals_state(t, L, P103)->n_conflicts, 2);
	cr_assert_eq(t->contests[G].national.conflicts, 0);
	cr_assert_eq(t->contests[D].national.conflicts, 0);
	cr_assert_eq(t->sequence, 15);
	tally_totals_free(t);
	free_election(e);
}

/* The v2 canonical text of the reference, built apart from totals.c. */
static void g_digest_text(const struct g_model *m, char *ret, size_t cap)
{
	size_t o =
	    (size_t)snprintf(ret, cap, "tally-totals-v2 general-2024 %" PRIu64 "\n", m->sequence);
	char members[G_PRECINCTS + 1];
	for (size_t c = 0; c < G_CONTESTS; c++) {
		o += (size_t)snprintf(ret + o, cap - o, "contest %s\n", g_contest_id[c]);
		for (size_t k = 0; k < 1 + g_n_contest_regions[c] + g_n_contest_districts[c]; k++) {
			struct tally_figures f;
			uint64_t reg;
			char label[32];
			if (k == 0) {
				g_sum(m, c, "1111111", &f, &reg);
				snprintf(label, sizeof(label), "national");
			} else if (k <= g_n_contest_regions[c]) {
				size_t r = g_contest_regions[c][k - 1];
				g_region_members(r, members);
				g_sum(m, c, members, &f, &reg);
				snprintf(label, sizeof(label), "%s", g_region_id[r]);
			} else {
				size_t d = g_contest_districts[c][k - 1 - g_n_contest_regions[c]];
				g_sum(m, c, g_in_district[d], &f, &reg);
				snprintf(label, sizeof(label), "district:%s", g_district_id[d]);
			}
			o += (size_t)snprintf(ret + o, cap - o,
			                      "%s %u %u %u %" PRIu64 " %" PRIu64 " %" PRIu64
			                      " %" PRIu64,
			                      label, f.precincts_total, f.precincts_reported,
			                      f.conflicts, f.voters_registered, f.ballots_cast,
			                      f.ballots_invalid, f.ballots_not_counted);
			for (size_t i = 0; i < g_n_options[c]; i++)
				o += (size_t)snprintf(ret + o, cap - o, " %" PRIu64, f.votes[i]);
			o += (size_t)snprintf(ret + o, cap - o, "\n");
		}
	}
	cr_assert_lt(o, cap);
}

static void g_check_digest(const struct tally_totals *t, const struct g_model *m)
{
	char text[4096];
	uint8_t want[TALLY_HASH_BYTES], got[TALLY_HASH_BYTES];
	g_digest_text(m, text, sizeof(text));
	tally_sha256((const uint8_t *)text, strlen(text), want);
	tally_totals_digest(t, got);
	cr_assert_eq(memcmp(got, want, sizeof(got)), 0, "v2 digest over:\n%s", text);
}

Test(totals, general_election_digest_is_v2_over_every_contest)
{
	struct tally_election *e = mk_general_election();
	struct tally_totals *t = NULL;
	struct g_model m;
	memset(&m, 0, sizeof(m));
	cr_assert_eq(tally_totals_new(e, &t), 0);
	g_check_digest(t, &m);
	/* The empty state's text, spelled out once. */
	char text[4096];
	g_digest_text(&m, text, sizeof(text));
	cr_assert_str_eq(text, "tally-totals-v2 general-2024 0\n"
	                       "contest list\n"
	                       "national 7 0 0 0 0 0 0 0 0 0\n"
	                       "R1 3 0 0 0 0 0 0 0 0 0\n"
	                       "R2 2 0 0 0 0 0 0 0 0 0\n"
	                       "R3 2 0 0 0 0 0 0 0 0 0\n"
	                       "district:D-A 2 0 0 0 0 0 0 0 0 0\n"
	                       "district:D-B 2 0 0 0 0 0 0 0 0 0\n"
	                       "district:D-C 1 0 0 0 0 0 0 0 0 0\n"
	                       "contest gov\n"
	                       "national 4 0 0 0 0 0 0 0 0\n"
	                       "R2 2 0 0 0 0 0 0 0 0\n"
	                       "R3 2 0 0 0 0 0 0 0 0\n"
	                       "district:D-B 2 0 0 0 0 0 0 0 0\n"
	                       "contest dist-a\n"
	                       "national 2 0 0 0 0 0 0 0 0 0 0\n"
	                       "R1 1 0 0 0 0 0 0 0 0 0 0\n"
	                       "R2 1 0 0 0 0 0 0 0 0 0 0\n"
	                       "district:D-A 2 0 0 0 0 0 0 0 0 0 0\n");
	g_apply(t, &m, 0, 3, 1, 1, false);
	g_apply(t, &m, 1, 5, 1, 1, false);
	g_apply(t, &m, 2, 1, 1, 1, false);
	g_apply(t, &m, 2, 1, 1, 2, false);
	g_check_digest(t, &m);
	/* Any figure of any contest, and the sequence, change it. */
	uint8_t d0[TALLY_HASH_BYTES], d1[TALLY_HASH_BYTES];
	tally_totals_digest(t, d0);
	t->contests[2].districts[0].votes[3]++;
	tally_totals_digest(t, d1);
	cr_assert_neq(memcmp(d0, d1, sizeof(d0)), 0);
	t->contests[2].districts[0].votes[3]--;
	t->sequence++;
	tally_totals_digest(t, d1);
	cr_assert_neq(memcmp(d0, d1, sizeof(d0)), 0);
	tally_totals_free(t);
	free_election(e);
}

Test(totals, general_election_random_sequences_equal_the_reference)
{
	for (unsigned seed = 1; seed <= 25; seed++) {
		struct tally_election *e = mk_general_election();
		struct tally_totals *t = NULL;
		struct g_model m;
		memset(&m, 0, sizeof(m));
		cr_assert_eq(tally_totals_new(e, &t), 0);
		srand(seed);
		for (int step = 0; step < 400; step++) {
			size_t c = (size_t)rand() % G_CONTESTS, p;
			do
				p = (size_t)rand() % G_PRECINCTS;
			while (g_in_contest[c][p] != '1');
			uint32_t revision = 1 + (uint32_t)rand() % 3;
			uint8_t tag = (uint8_t)(1 + rand() % 3);
			/* At most 12 copies of one revision in the reference: 3 tags do. */
			g_apply(t, &m, c, p, revision, tag, rand() % 2);
			char when[64];
			snprintf(when, sizeof(when), "seed %u step %d", seed, step);
			g_check(t, &m, when);
		}
		g_check_digest(t, &m);

		/* From scratch: the counted copies alone give the same figures. */
		struct tally_totals *fresh = NULL;
		cr_assert_eq(tally_totals_new(e, &fresh), 0);
		for (size_t c = 0; c < G_CONTESTS; c++)
			for (size_t p = 0; p < G_PRECINCTS; p++) {
				const struct g_slot *s = &m.s[c][p];
				enum tally_outcome o;
				if (s->revision == 0)
					continue;
				int64_t slot = tally_election_slot(e, c, p);
				cr_assert_eq(tally_totals_apply_figures(fresh, (size_t)slot,
				                                        s->revision, s->held[0],
				                                        s->leaf, s->fig, &o),
				             0);
				cr_assert_eq(o, TALLY_OUTCOME_ACCEPTED);
			}
		for (size_t c = 0; c < G_CONTESTS; c++) {
			struct tally_figures a = t->contests[c].national;
			a.conflicts = 0;
			assert_figures_eq(&a, &fresh->contests[c].national, "fresh");
		}
		tally_totals_free(fresh);
		tally_totals_free(t);
		free_election(e);
	}
}

/*
 * The side table of conflicting copies grows with the flagged slots and
 * shrinks as each is settled: every copy stays findable through growth
 * and removals (a lost copy would turn its resend from DUPLICATE into a
 * second CONFLICT), and nothing is left behind (ASan's leak check).
 */
Test(totals, conflicting_copies_survive_growth_and_removal)
{
	struct tally_election *e = mk_election(4, 1000, 100, 0);
	struct tally_totals *t = NULL;
	size_t n = e->n_slots;
	uint8_t *copies = calloc(n, 1); /* conflicting copies held per slot */
	size_t *order = calloc(n, sizeof(size_t));
	uint32_t fig[6] = {100, 50, 0, 0, 25, 25};
	uint8_t h[TALLY_HASH_BYTES];
	enum tally_outcome o;
	uint32_t flagged = 0;
	cr_assert_eq(tally_totals_new(e, &t), 0);
	srand(7);
	for (size_t s = 0; s < n; s++) {
		order[s] = s;
		memset(h, 0, sizeof(h));
		memcpy(h, &s, sizeof(s));
		cr_assert_eq(tally_totals_apply_figures(t, s, 1, h, 0, fig, &o), 0);
		copies[s] = (uint8_t)(rand() % 4 == 0 ? 1 + rand() % 3 : 0);
		for (uint8_t k = 1; k <= copies[s]; k++) {
			h[10] = k;
			cr_assert_eq(tally_totals_apply_figures(t, s, 1, h, 0, fig, &o), 0);
			cr_assert_eq(o, TALLY_OUTCOME_CONFLICT);
		}
		flagged += copies[s] > 0;
	}
	cr_assert_eq(t->contests[0].national.conflicts, flagged);
	for (size_t i = n; i-- > 1;) {
		size_t j = (size_t)rand() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		size_t s = order[i];
		memset(h, 0, sizeof(h));
		memcpy(h, &s, sizeof(s));
		h[9] = 2;
		cr_assert_eq(tally_totals_apply_figures(t, s, 2, h, 1, fig, &o), 0);
		cr_assert_eq(o, TALLY_OUTCOME_ACCEPTED);
		cr_assert_null(tally_totals_conflict_copies(t, s));
		flagged -= copies[s] > 0;
		copies[s] = 0;
		cr_assert_eq(t->contests[0].national.conflicts, flagged);
		if (i % 97 != 0)
			continue;
		/* Every copy still held is found where it was put. */
		for (size_t u = 0; u < n; u++) {
			const struct tally_conflict_copies *cc = tally_totals_conflict_copies(t, u);
			cr_assert_eq(cc != NULL, copies[u] > 0, "slot %zu after %zu removals", u,
			             i);
			cr_assert_eq(t->slots[u].n_conflicts, copies[u]);
			memset(h, 0, sizeof(h));
			memcpy(h, &u, sizeof(u));
			for (uint8_t k = 1; k <= copies[u]; k++) {
				h[10] = k;
				cr_assert_eq(memcmp(cc->hashes[k - 1], h, sizeof(h)), 0);
				cr_assert_eq(tally_totals_decide(t, u, 1, h),
				             TALLY_OUTCOME_DUPLICATE);
			}
		}
	}
	cr_assert_eq(t->contests[0].national.conflicts, 0);
	free(copies);
	free(order);
	tally_totals_free(t);
	free_election(e);
}
