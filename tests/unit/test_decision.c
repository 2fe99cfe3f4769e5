/*
 * test_decision.c: the decision of one contest (decision.h). Published
 * results: Kazakhstan's presidential election of 2022 (a majority of the
 * ballots cast), France's presidential first round of 2022 (no majority of
 * the votes expressed: a runoff), Kazakhstan's Mazhilis of 2023 (party
 * list seats) and Kazakhstan's referendum rules. Tables of certainty at
 * its boundary, one voter either side. The referendum of a definition
 * without contests against totals.c's decision, byte for byte, on random
 * states. And every kind's certainty against a brute force over every way
 * a few unreported voters can vote, on random small contests.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/decision.h"
#include "tally/totals.h"
#include "tally/totals_json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct tally_election *parse(const char *json)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};

	cr_assert_eq(tally_election_parse(json, strlen(json), &e, &err), 0, "definition: %s",
	             err.msg);
	return e;
}

/* Figures of a contest: votes in ballot order. */
static struct tally_figures figures(uint64_t registered, uint64_t cast, uint64_t invalid,
                                    uint64_t not_counted, const uint64_t *votes, size_t n)
{
	struct tally_figures f;

	memset(&f, 0, sizeof(f));
	f.precincts_total = 2;
	f.precincts_reported = 1;
	f.voters_registered = registered;
	f.ballots_cast = cast;
	f.ballots_invalid = invalid;
	f.ballots_not_counted = not_counted;
	memcpy(f.votes, votes, n * sizeof(votes[0]));
	return f;
}

static struct tally_decision_input input(const struct tally_election *e, size_t contest,
                                         const struct tally_figures *f, uint64_t unreported)
{
	return (struct tally_decision_input){
	    .e = e,
	    .c = &e->contests[contest],
	    .national = f,
	    .unreported_registered = unreported,
	};
}

static void decide(const struct tally_decision_input *in, struct tally_decision_result *d)
{
	cr_assert_eq(tally_decide(in, d), 0);
}

/* The decision's JSON, compact, as the API writes it; the caller frees. */
static char *dump(const struct tally_decision_input *in, const struct tally_decision_result *d)
{
	json_t *j = NULL;
	char *s;

	cr_assert_eq(tally_decision_to_json(in, d, &j), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
	cr_assert_not_null(s);
	json_decref(j);
	return s;
}

static void assert_ids(const struct tally_contest *c, const uint32_t *got, size_t n_got,
                       const char *const *want, size_t n_want, const char *what)
{
	cr_assert_eq(n_got, n_want, "%s: %zu options, want %zu", what, n_got, n_want);
	for (size_t i = 0; i < n_want; i++)
		cr_assert_str_eq(c->options[got[i]].id, want[i], "%s[%zu]", what, i);
}

static void assert_reasons(const struct tally_decision_result *d, const char *const *want, size_t n)
{
	cr_assert_eq(d->n_reasons, n, "%zu reasons, want %zu; first: %s", d->n_reasons, n,
	             d->n_reasons ? d->reasons[0] : "");
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(d->reasons[i], want[i], "reason %zu", i);
}

/* ---- names ----------------------------------------------------------- */

Test(decision, names_of_statuses_and_rules)
{
	static const char *const status[] = {"none",        "undetermined", "passing", "failing",
	                                     "elected",     "runoff",       "tie",     "failed",
	                                     "provisional", "final"};

	for (size_t i = 0; i < N(status); i++)
		cr_assert_str_eq(tally_decision_status_str((enum tally_decision_status)i),
		                 status[i]);
	cr_assert_str_eq(tally_decision_status_str((enum tally_decision_status)99), "unknown");
	cr_assert_str_eq(tally_contest_kind_str(TALLY_CONTEST_REFERENDUM), "referendum");
	cr_assert_str_eq(tally_contest_kind_str(TALLY_CONTEST_CANDIDATE), "candidate");
	cr_assert_str_eq(tally_contest_kind_str(TALLY_CONTEST_PARTY_LIST), "party_list");
	cr_assert_str_eq(tally_scope_kind_str(TALLY_SCOPE_NATIONAL), "national");
	cr_assert_str_eq(tally_scope_kind_str(TALLY_SCOPE_REGIONS), "regions");
	cr_assert_str_eq(tally_scope_kind_str(TALLY_SCOPE_DISTRICT), "district");
	cr_assert_str_eq(tally_denominator_str(TALLY_DENOM_BALLOTS_CAST), "ballots_cast");
	cr_assert_str_eq(tally_denominator_str(TALLY_DENOM_VALID), "valid");
	cr_assert_str_eq(tally_win_str(TALLY_WIN_PLURALITY), "plurality");
	cr_assert_str_eq(tally_win_str(TALLY_WIN_ABSOLUTE_MAJORITY), "absolute_majority");
	cr_assert_str_eq(tally_seat_method_str(TALLY_METHOD_HARE), "hare");
	cr_assert_str_eq(tally_seat_method_str(TALLY_METHOD_DHONDT), "dhondt");
	cr_assert_str_eq(tally_seat_method_str(TALLY_METHOD_SAINTE_LAGUE), "sainte_lague");
	cr_assert_str_eq(tally_tie_rule_str(TALLY_TIE_BALLOT_ORDER), "ballot_order");
	cr_assert_str_eq(tally_tie_rule_str(TALLY_TIE_LOT), "lot");
	cr_assert_str_eq(tally_overflow_str(TALLY_OVERFLOW_REDISTRIBUTE), "redistribute");
	cr_assert_str_eq(tally_overflow_str(TALLY_OVERFLOW_VACANT), "vacant");
	cr_assert_str_eq(tally_overflow_str((enum tally_overflow)7), "unknown");
	cr_assert_str_eq(tally_seat_method_str((enum tally_seat_method)7), "unknown");
}

/* ---- published results ---------------------------------------------- */

/*
 * Kazakhstan, early presidential election of 20 November 2022. Figures of
 * the Central Election Commission's final results as its chairman
 * announced them on 22 November 2022 (Kazinform, "CEC announces final
 * results of Nov 20 presidential election"): 8,300,046 voters received
 * ballots (69.44 % of 11,953,465 on the refined lists); Tokayev 6,456,393,
 * against all 460,484, Dairabayev 271,641, Abden 206,206, Kazhyken
 * 200,907, Auesbayev 176,116, Tursynbekova 168,731. The law elects the
 * candidate with more than half of the votes of those who took part (the
 * voters who received ballots): majority_of ballots_cast. The published
 * figures do not split the 359,568 ballots that went to no option; they
 * are entered here as invalid, which decides nothing (ballots_cast is the
 * denominator). Ballot order: alphabetical, against all last.
 */
static const char kz_president[] =
    "{\"election_id\": \"kz-president-2022\", \"title\": \"President 2022\","
    " \"regions\": [{\"id\": \"KZ\", \"name\": \"Kazakhstan\", \"precincts\": [[1, 11953465]]}],"
    " \"contests\": [{\"id\": \"president\", \"kind\": \"candidate\","
    "  \"options\": [{\"id\": \"abden\"}, {\"id\": \"auesbayev\"}, {\"id\": \"dairabayev\"},"
    "   {\"id\": \"kazhyken\"}, {\"id\": \"tokayev\"}, {\"id\": \"tursynbekova\"},"
    "   {\"id\": \"against\", \"against_all\": true}],"
    "  \"rules\": {\"win\": \"absolute_majority\"}}]}";
static const uint64_t kz_votes[] = {206206, 176116, 271641, 200907, 6456393, 168731, 460484};

Test(decision, kazakhstan_president_2022_elected_with_a_majority_of_ballots_cast)
{
	struct tally_election *e = parse(kz_president);
	uint64_t sum = 0;
	for (size_t i = 0; i < N(kz_votes); i++)
		sum += kz_votes[i];
	cr_assert_eq(sum, 7940478);
	struct tally_figures f =
	    figures(11953465, 8300046, 8300046 - sum, 0, kz_votes, N(kz_votes));
	f.precincts_total = f.precincts_reported = 1;
	struct tally_decision_input in = input(e, 0, &f, 0);
	struct tally_decision_result d;

	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	cr_assert(d.final);
	static const char *const elected[] = {"tokayev"};
	assert_ids(in.c, d.elected, d.n_elected, elected, 1, "elected");
	static const char *const ranking[] = {"tokayev",  "against",   "dairabayev",  "abden",
	                                      "kazhyken", "auesbayev", "tursynbekova"};
	assert_ids(in.c, d.ranking, d.n_ranking, ranking, N(ranking), "ranking");
	cr_assert_str_eq(in.c->options[d.leader].id, "tokayev");
	cr_assert_not(d.has_runoff);
	/* 6,456,393 / 8,300,046 = 77.787...%; more than half is 4,150,024. */
	static const char *const reasons[] = {
	    "'tokayev' is elected: 6,456,393 votes of 8,300,046 ballots cast (77.79%), more than "
	    "half"};
	assert_reasons(&d, reasons, N(reasons));
	char *j = dump(&in, &d);
	cr_assert_str_eq(
	    j, "{\"status\":\"elected\",\"final\":true,\"reasons\":[\"'tokayev' is elected: "
	       "6,456,393 votes of 8,300,046 ballots cast (77.79%), more than half\"],"
	       "\"rules\":{\"win\":\"absolute_majority\",\"majority_of\":\"ballots_cast\"},"
	       "\"ranking\":[\"tokayev\",\"against\",\"dairabayev\",\"abden\",\"kazhyken\","
	       "\"auesbayev\",\"tursynbekova\"],\"elected\":[\"tokayev\"],\"runoff\":null,"
	       "\"tie\":null}");
	free(j);
	tally_election_free(e);
}

/*
 * The same figures with voters still out: sure once 2 x 6,456,393 >
 * 8,300,046 + R, i.e. R <= 4,612,739. One voter more and the unreported
 * voters, all voting for others, would leave Tokayev at exactly half.
 */
Test(decision, kazakhstan_president_2022_elected_early_and_not_one_voter_earlier)
{
	struct tally_election *e = parse(kz_president);
	struct tally_figures f = figures(7000000, 8300046, 359568, 0, kz_votes, N(kz_votes));
	struct tally_decision_result d;

	struct tally_decision_input in = input(e, 0, &f, 4612739);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	cr_assert(d.final);
	cr_assert_eq(d.n_elected, 1);
	static const char *const sure[] = {
	    "'tokayev' is elected: 6,456,393 votes of 8,300,046 ballots cast (77.79%), more than "
	    "half even if the 4,612,739 registered voters of unreported precincts all vote for "
	    "others"};
	assert_reasons(&d, sure, N(sure));

	in = input(e, 0, &f, 4612740);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	cr_assert_not(d.final);
	cr_assert_eq(d.n_elected, 0);
	static const char *const open[] = {
	    "'tokayev' leads with 6,456,393 votes (77.79% of ballots cast), 5,995,909 ahead of "
	    "'against'",
	    "more than half of ballots cast is 4,150,024 votes",
	    "the 4,612,740 registered voters of unreported precincts could still change the "
	    "outcome"};
	assert_reasons(&d, open, N(open));
	char *j = dump(&in, &d);
	cr_assert(strstr(j, "\"status\":\"undetermined\",\"final\":false,"), "%s", j);
	cr_assert(strstr(j, "\"elected\":[],\"runoff\":null,\"tie\":null}"), "%s", j);
	free(j);
	tally_election_free(e);
}

/*
 * France, presidential election, first round of 10 April 2022, as the
 * Conseil constitutionnel declared it on 13 April 2022: 48,747,876
 * registered, 35,923,707 voters, 543,609 blank and 247,151 null ballots,
 * 35,132,947 votes expressed. (35,133,947, a figure sometimes quoted, does
 * not add up: the twelve candidates' votes sum to 35,132,947, and
 * 35,132,947 + 543,609 + 247,151 = 35,923,707.) The majority is of the
 * votes expressed, which exclude blank ballots: blank and null are entered
 * as invalid and majority_of is "valid".
 */
static const char fr_president[] =
    "{\"election_id\": \"fr-2022-t1\", \"title\": \"Présidentielle 2022\","
    " \"regions\": [{\"id\": \"FR\", \"name\": \"France\", \"precincts\": [[1, 48747876]]}],"
    " \"contests\": [{\"id\": \"t1\", \"kind\": \"candidate\", \"options\": ["
    "  {\"id\": \"macron\"}, {\"id\": \"lepen\"}, {\"id\": \"melenchon\"}, {\"id\": \"zemmour\"},"
    "  {\"id\": \"pecresse\"}, {\"id\": \"jadot\"}, {\"id\": \"lassalle\"}, {\"id\": \"roussel\"},"
    "  {\"id\": \"dupont-aignan\"}, {\"id\": \"hidalgo\"}, {\"id\": \"poutou\"},"
    "  {\"id\": \"arthaud\"}],"
    "  \"rules\": {\"win\": \"absolute_majority\", \"majority_of\": \"valid\"}}]}";
static const uint64_t fr_votes[] = {9783058, 8133828, 7712520, 2485226, 1679001, 1627853,
                                    1101387, 802422,  725176,  616478,  268904,  197094};

static struct tally_figures fr_figures(void)
{
	return figures(48747876, 35923707, 543609 + 247151, 0, fr_votes, N(fr_votes));
}

Test(decision, france_president_2022_first_round_runoff_macron_le_pen)
{
	struct tally_election *e = parse(fr_president);
	uint64_t expressed = 0;
	for (size_t i = 0; i < N(fr_votes); i++)
		expressed += fr_votes[i];
	cr_assert_eq(expressed, 35132947);
	cr_assert_eq(expressed + 543609 + 247151, 35923707);
	struct tally_figures f = fr_figures();
	struct tally_decision_input in = input(e, 0, &f, 0);
	struct tally_decision_result d;

	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_RUNOFF);
	cr_assert(d.final);
	cr_assert(d.has_runoff);
	cr_assert_str_eq(in.c->options[d.runoff[0]].id, "macron");
	cr_assert_str_eq(in.c->options[d.runoff[1]].id, "lepen");
	cr_assert_eq(d.n_elected, 0);
	/* 9,783,058 / 35,132,947 = 27.846...% */
	static const char *const reasons[] = {
	    "nobody has more than half of valid ballots: 'macron' leads with 9,783,058 votes "
	    "(27.85%)",
	    "runoff between 'macron' (9,783,058 votes) and 'lepen' (8,133,828 votes)"};
	assert_reasons(&d, reasons, N(reasons));
	char *j = dump(&in, &d);
	cr_assert(strstr(j, "\"rules\":{\"win\":\"absolute_majority\",\"majority_of\":\"valid\"},"
	                    "\"ranking\":[\"macron\",\"lepen\",\"melenchon\",\"zemmour\","
	                    "\"pecresse\",\"jadot\",\"lassalle\",\"roussel\",\"dupont-aignan\","
	                    "\"hidalgo\",\"poutou\",\"arthaud\"],\"elected\":[],"
	                    "\"runoff\":[\"macron\",\"lepen\"],\"tie\":null}"),
	          "%s", j);
	free(j);
	tally_election_free(e);
}

/*
 * The runoff is certain before the last voter once nobody can reach half
 * and third place cannot catch second: Le Pen leads Mélenchon by 421,308,
 * so with 421,307 voters still out the pair is certain, with 421,308
 * Mélenchon could draw level (a tie for second place).
 */
Test(decision, france_president_2022_runoff_certain_early_and_not_one_voter_earlier)
{
	struct tally_election *e = parse(fr_president);
	struct tally_figures f = fr_figures();
	struct tally_decision_result d;

	struct tally_decision_input in = input(e, 0, &f, 421307);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_RUNOFF);
	cr_assert(d.final);
	cr_assert_eq(d.n_reasons, 3);
	cr_assert_str_eq(d.reasons[2], "the 421,307 registered voters of unreported precincts "
	                               "cannot change the outcome");

	in = input(e, 0, &f, 421308);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	cr_assert_not(d.final);
	cr_assert_not(d.has_runoff);
	static const char *const open[] = {
	    "'macron' leads with 9,783,058 votes (27.85% of valid ballots), 1,649,230 ahead of "
	    "'lepen'",
	    "more than half of valid ballots is 17,566,474 votes; nobody can reach it any more: "
	    "there will be a runoff, its second candidate not yet certain",
	    "the 421,308 registered voters of unreported precincts could still change the "
	    "outcome"};
	assert_reasons(&d, open, N(open));
	tally_election_free(e);
}

/*
 * Kazakhstan, election of the Mazhilis of 19 March 2023, the 69 party-list
 * seats (the votes as in test_seats.c): Hare, 5 % of the valid votes
 * (the parties' votes plus the votes against all). No figure but the
 * votes enters the allocation; the ballots are entered as all valid.
 */
static const char kz_mazhilis[] =
    "{\"election_id\": \"kz-mazhilis-2023\", \"title\": \"Mazhilis 2023\","
    " \"regions\": [{\"id\": \"KZ\", \"name\": \"Kazakhstan\", \"precincts\": [[1, 12000000]]}],"
    " \"parties\": [{\"id\": \"amanat\", \"name\": \"AMANAT\"}],"
    " \"contests\": [{\"id\": \"mazhilis\", \"kind\": \"party_list\", \"seats\": 69,"
    "  \"options\": [{\"id\": \"amanat\", \"party\": \"amanat\"}, {\"id\": \"auyl\"},"
    "   {\"id\": \"respublica\"}, {\"id\": \"akjol\"}, {\"id\": \"qhp\"}, {\"id\": \"osdp\"},"
    "   {\"id\": \"baytaq\"}, {\"id\": \"against\", \"against_all\": true}],"
    "  \"rules\": {\"threshold_pct\": 5, \"method\": \"hare\"}}]}";
static const uint64_t mazhilis_votes[] = {3431510, 693938, 547154, 535139,
                                          432920,  331058, 146431, 248291};

Test(decision, kazakhstan_mazhilis_2023_provisional_then_final)
{
	struct tally_election *e = parse(kz_mazhilis);
	struct tally_figures f =
	    figures(11000000, 6366441, 0, 0, mazhilis_votes, N(mazhilis_votes));
	struct tally_decision_result d;

	/* 100,000 voters still out could, all for Baytaq, not lift it past
	 * 5 %, but all for QHP would take a seat from another list. */
	struct tally_decision_input in = input(e, 0, &f, 100000);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_PROVISIONAL);
	cr_assert_not(d.final);
	static const uint32_t want[] = {40, 8, 6, 6, 5, 4, 0, 0};
	for (size_t i = 0; i < N(want); i++)
		cr_assert_eq(d.seats.seats[i], want[i], "seats[%zu]", i);
	static const char *const provisional[] = {
	    "6 of 7 lists reach the threshold of 5.00% of valid ballots (318,323 votes of "
	    "6,366,441)",
	    "seats if counting stopped now: 'amanat' 40, 'auyl' 8, 'respublica' 6, 'akjol' 6, "
	    "'qhp' 5, 'osdp' 4",
	    "the 100,000 registered voters of unreported precincts could still change the seats"};
	assert_reasons(&d, provisional, N(provisional));

	in = input(e, 0, &f, 0);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FINAL);
	cr_assert(d.final);
	for (size_t i = 0; i < N(want); i++)
		cr_assert_eq(d.seats.seats[i], want[i], "seats[%zu]", i);
	cr_assert_str_eq(in.c->options[d.leader].id, "amanat");
	char *j = dump(&in, &d);
	cr_assert_str_eq(
	    j, "{\"status\":\"final\",\"final\":true,\"reasons\":[\"6 of 7 lists reach the "
	       "threshold of 5.00% of valid ballots (318,323 votes of 6,366,441)\",\"seats: "
	       "'amanat' 40, 'auyl' 8, 'respublica' 6, 'akjol' 6, 'qhp' 5, 'osdp' 4\"],"
	       "\"rules\":{\"threshold_pct\":5.0,\"threshold_of\":\"valid\",\"method\":\"hare\","
	       "\"tie\":\"ballot_order\",\"overflow\":\"redistribute\"},\"passed\":[\"amanat\","
	       "\"auyl\",\"respublica\",\"akjol\",\"qhp\",\"osdp\"],\"seats\":{\"amanat\":40,"
	       "\"auyl\":8,\"respublica\":6,\"akjol\":6,\"qhp\":5,\"osdp\":4,\"baytaq\":0,"
	       "\"against\":0},\"vacant\":0,\"tie\":null}");
	free(j);
	tally_election_free(e);
}

/*
 * The allocation is certain before the last precinct when no vote still
 * out could move a seat: QHP's remainder (0.002 of a quota) is the one
 * closest to changing, and a handful of voters cannot reach another list's
 * seat nor Baytaq the threshold.
 */
Test(decision, kazakhstan_mazhilis_2023_final_while_a_few_voters_are_out)
{
	struct tally_election *e = parse(kz_mazhilis);
	struct tally_figures f =
	    figures(11000000, 6366441, 0, 0, mazhilis_votes, N(mazhilis_votes));
	struct tally_decision_result d;
	struct tally_decision_input in = input(e, 0, &f, 10);

	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FINAL);
	cr_assert(d.final);
	cr_assert_str_eq(d.reasons[2], "the 10 registered voters of unreported precincts cannot "
	                               "change the seats");
	tally_election_free(e);
}

/*
 * Kazakhstan's referendum rules (Constitutional Law on the Republican
 * Referendum): more than half of the registered voters take part, and the
 * measure has more than half of the votes of those who took part in at
 * least two thirds of the regions. With the 17 regions of June 2022
 * (14 oblasts and Astana, Almaty, Shymkent), 0.6667 x 17 = 11.33: 12
 * regions. The regional figures are made up.
 */
static char *kz_referendum_definition(bool contests)
{
	char *json = malloc(8192);
	size_t o = 0;

	cr_assert_not_null(json);
	o += (size_t)snprintf(json + o, 8192 - o,
	                      "{\"election_id\": \"kz-ref\", \"title\": \"Referendum\", "
	                      "\"regions\": [");
	for (size_t r = 0; r < 17; r++)
		o += (size_t)snprintf(json + o, 8192 - o,
		                      "%s{\"id\": \"R%02zu\", \"name\": \"Region %zu\", "
		                      "\"precincts\": [[%zu, 1000]]}",
		                      r ? ", " : "", r, r, r + 1);
	if (contests)
		o += (size_t)snprintf(
		    json + o, 8192 - o,
		    "], \"contests\": [{\"id\": \"ref\", \"kind\": \"referendum\", \"options\": "
		    "[{\"id\": \"yes\"}, {\"id\": \"no\"}], \"rules\": {\"min_turnout_pct\": 50, "
		    "\"region_majority_fraction\": 0.6667}}]}");
	else
		o += (size_t)snprintf(json + o, 8192 - o,
		                      "], \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, "
		                      "{\"id\": \"no\", \"name\": \"No\"}], \"rules\": "
		                      "{\"min_turnout_pct\": 50, \"region_majority_fraction\": "
		                      "0.6667}}");
	cr_assert_lt(o, 8192);
	return json;
}

/* Every region reported with 600 of 1,000 voting; yes wins `wins` of them. */
static void kz_referendum_state(size_t wins, struct tally_figures *national,
                                struct tally_figures *regions, uint64_t *unreported)
{
	memset(national, 0, sizeof(*national));
	for (size_t r = 0; r < 17; r++) {
		uint64_t yes = r < wins ? 301 : 300;
		uint64_t v[2] = {yes, 600 - 10 - yes};
		regions[r] = figures(1000, 600, 10, 0, v, 2);
		regions[r].precincts_total = regions[r].precincts_reported = 1;
		national->precincts_total++;
		national->precincts_reported++;
		national->voters_registered += 1000;
		national->ballots_cast += 600;
		national->ballots_invalid += 10;
		national->votes[0] += v[0];
		national->votes[1] += v[1];
		unreported[r] = 0;
	}
}

Test(decision, kazakhstan_referendum_rules_twelve_of_seventeen_regions)
{
	char *json = kz_referendum_definition(true);
	struct tally_election *e = parse(json);
	struct tally_figures national, regions[17];
	uint64_t unreported[17];
	struct tally_decision_result d;

	free(json);
	kz_referendum_state(12, &national, regions, unreported);
	struct tally_decision_input in = input(e, 0, &national, 0);
	in.regions = regions;
	in.region_unreported_registered = unreported;
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_PASSING);
	cr_assert(d.final);
	static const char *const pass[] = {
	    "turnout 60.00% exceeds the required 50.00% whatever the 0 registered voters of "
	    "unreported precincts do",
	    "'yes' has more than half of ballots cast in 12 of 17 regions (at least 12 needed), "
	    "whatever unreported precincts bring"};
	assert_reasons(&d, pass, N(pass));
	char *j = dump(&in, &d);
	cr_assert(strstr(j, "\"rules\":{\"min_turnout_pct\":50.0,\"region_majority_fraction\":"
	                    "0.6667,\"pass_share_of\":\"ballots_cast\"}}"),
	          "%s", j);
	free(j);

	kz_referendum_state(11, &national, regions, unreported);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILING);
	cr_assert_str_eq(d.reasons[1], "'yes' can have more than half of ballots cast in at most "
	                               "11 of 17 regions; 12 needed");

	/* Of the 590 valid ballots, 300 is a majority too: over the valid
	 * ballots 'yes' wins all 17 regions, and the reasons name them. */
	e->contests[0].rules.pass_share_of = TALLY_DENOM_VALID;
	kz_referendum_state(12, &national, regions, unreported);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_PASSING);
	cr_assert_str_eq(d.reasons[1], "'yes' has more than half of valid ballots in 17 of 17 "
	                               "regions (at least 12 needed), whatever unreported "
	                               "precincts bring");
	tally_election_free(e);
}

/* ---- certainty, one voter either side -------------------------------- */

/* A definition with one candidate contest; options and rules as JSON text. */
static struct tally_election *candidate_election(const char *options, unsigned seats,
                                                 const char *rules)
{
	char json[2048];
	int n = snprintf(json, sizeof(json),
	                 "{\"election_id\": \"t\", \"title\": \"T\", \"regions\": [{\"id\": "
	                 "\"A\", \"name\": \"A\", \"precincts\": [[1, 1000], [2, 1000]]}], "
	                 "\"contests\": [{\"id\": \"c\", \"kind\": \"candidate\", \"seats\": "
	                 "%u, \"options\": %s%s%s}]}",
	                 seats, options, rules ? ", \"rules\": " : "", rules ? rules : "");
	cr_assert_lt((size_t)n, sizeof(json));
	return parse(json);
}

static const char abc[] = "[{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}]";
static const char abcd_against[] = "[{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}, "
                                   "{\"id\": \"d\"}, {\"id\": \"against\", \"against_all\": "
                                   "true}]";

/* Decides the contest with these votes (valid: cast = their sum + invalid). */
static void decide_votes(const struct tally_election *e, const uint64_t *votes, size_t n,
                         uint64_t invalid, uint64_t unreported, struct tally_decision_result *d)
{
	uint64_t cast = invalid;
	for (size_t i = 0; i < n; i++)
		cast += votes[i];
	struct tally_figures f = figures(cast + 100, cast, invalid, 0, votes, n);
	struct tally_decision_input in = input(e, 0, &f, unreported);
	decide(&in, d);
}

Test(decision, plurality_elected_once_the_lead_exceeds_the_voters_out)
{
	struct tally_election *e = candidate_election(abc, 1, NULL);
	static const uint64_t v[] = {10, 7, 2};
	struct tally_decision_result d;

	/* 'b' needs 3 votes to draw level: 2 voters out cannot give them. */
	decide_votes(e, v, 3, 0, 2, &d);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	cr_assert(d.final);
	static const char *const elected[] = {"a"};
	assert_ids(&e->contests[0], d.elected, d.n_elected, elected, 1, "elected");
	static const char *const sure[] = {
	    "elected to 1 of 1 seat (shares of ballots cast): 'a' (10 votes, 52.63%)",
	    "the 2 registered voters of unreported precincts cannot change the outcome"};
	assert_reasons(&d, sure, N(sure));

	/* With 3 out, 'b' could draw level: a tie. */
	decide_votes(e, v, 3, 0, 3, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	cr_assert_not(d.final);
	cr_assert_eq(d.n_elected, 0);
	static const char *const open[] = {
	    "'a' leads with 10 votes (52.63% of ballots cast), 3 ahead of 'b'",
	    "the 3 registered voters of unreported precincts could still change the outcome"};
	assert_reasons(&d, open, N(open));
	tally_election_free(e);
}

/*
 * With k seats a candidate is sure when the others' shortfalls, the k
 * smallest together, exceed the voters out: 'a' with 10 against 9 and 9
 * for two seats is caught by both with 2 voters out (a three-way tie),
 * though either alone needs only one.
 */
Test(decision, plurality_two_seats_needs_the_others_together)
{
	struct tally_election *e = candidate_election(abc, 2, NULL);
	static const uint64_t v[] = {10, 9, 9};
	struct tally_decision_result d;

	decide_votes(e, v, 3, 0, 1, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	static const char *const a[] = {"a"};
	assert_ids(&e->contests[0], d.elected, d.n_elected, a, 1, "elected");
	cr_assert_str_eq(d.reasons[1], "surely elected: 'a' (1 of 2 seats)");

	decide_votes(e, v, 3, 0, 2, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	cr_assert_eq(d.n_elected, 0);

	/* At the end the two equal votes tie for the second seat. */
	decide_votes(e, v, 3, 0, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_TIE);
	cr_assert(d.final);
	assert_ids(&e->contests[0], d.elected, d.n_elected, a, 1, "elected");
	static const char *const tied[] = {"b", "c"};
	assert_ids(&e->contests[0], d.tied, d.n_tied, tied, 2, "tied");
	cr_assert_eq(d.tie_seats, 1);
	static const char *const reasons[] = {
	    "elected to 1 of 2 seats (shares of ballots cast): 'a' (10 votes, 35.71%)",
	    "'b' and 'c' are tied with 9 votes each for 1 seat, not allocated"};
	assert_reasons(&d, reasons, N(reasons));
	struct tally_figures f = figures(128, 28, 0, 0, v, 3);
	struct tally_decision_input in = input(e, 0, &f, 0);
	char *j = dump(&in, &d);
	cr_assert(strstr(j, "\"elected\":[\"a\"],\"runoff\":null,\"tie\":{\"options\":[\"b\","
	                    "\"c\"],\"seats\":1}}"),
	          "%s", j);
	free(j);
	tally_election_free(e);
}

Test(decision, plurality_three_seats_boundary_both_sides)
{
	struct tally_election *e = candidate_election(abcd_against, 3, NULL);
	/* a 20, b 15, c 10, d 4, against 3: for three others to stand level
	 * with 'c' or above it, 'd' must find 6 votes ('a' and 'b' are there
	 * already); against-all would need 7 to draw level on its own. */
	static const uint64_t v[] = {20, 15, 10, 4, 3};
	struct tally_decision_result d;

	decide_votes(e, v, 5, 0, 5, &d);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	cr_assert(d.final);
	static const char *const abc3[] = {"a", "b", "c"};
	assert_ids(&e->contests[0], d.elected, d.n_elected, abc3, 3, "elected");

	decide_votes(e, v, 5, 0, 6, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	static const char *const ab[] = {"a", "b"};
	assert_ids(&e->contests[0], d.elected, d.n_elected, ab, 2, "elected");
	cr_assert_str_eq(d.reasons[1], "surely elected: 'a' and 'b' (2 of 3 seats)");
	tally_election_free(e);
}

Test(decision, absolute_majority_tie_for_second_place_at_the_end)
{
	struct tally_election *e = candidate_election(abc, 1, "{\"win\": \"absolute_majority\"}");
	static const uint64_t v[] = {40, 25, 25};
	struct tally_decision_result d;

	decide_votes(e, v, 3, 10, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_TIE);
	cr_assert(d.final);
	cr_assert_not(d.has_runoff);
	static const char *const tied[] = {"b", "c"};
	assert_ids(&e->contests[0], d.tied, d.n_tied, tied, 2, "tied");
	cr_assert_eq(d.tie_seats, 1);
	static const char *const reasons[] = {
	    "nobody has more than half of ballots cast: 'a' leads with 40 votes (40.00%)",
	    "'b' and 'c' are tied with 25 votes each for 1 place in the runoff, not allocated"};
	assert_reasons(&d, reasons, N(reasons));

	/* One voter out could break the tie either way. */
	decide_votes(e, v, 3, 10, 1, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	cr_assert_eq(d.n_tied, 0);
	cr_assert_eq(d.tie_seats, 0);
	tally_election_free(e);
}

Test(decision, against_all_leading_is_stated_and_never_elected)
{
	struct tally_election *e = candidate_election(abcd_against, 1, NULL);
	static const uint64_t v[] = {30, 20, 0, 0, 50};
	struct tally_decision_result d;

	/* At the end: nobody is elected. */
	decide_votes(e, v, 5, 0, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	cr_assert(d.final);
	cr_assert_eq(d.n_elected, 0);
	cr_assert_str_eq(e->contests[0].options[d.ranking[0]].id, "against");
	cr_assert_str_eq(e->contests[0].options[d.leader].id, "a");
	static const char *const failed[] = {
	    "against all ('against') has 50 votes (50.00% of ballots cast), at least as many as "
	    "every candidate: nobody is elected"};
	assert_reasons(&d, failed, N(failed));

	/* Level with against-all is not enough either. */
	static const uint64_t level[] = {50, 20, 0, 0, 50};
	decide_votes(e, level, 5, 0, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);

	/* While counting: 'a' could still pass against-all with 21 more. */
	decide_votes(e, v, 5, 0, 21, &d);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	static const char *const open[] = {
	    "against all ('against') leads with 50 votes (50.00% of ballots cast): a candidate "
	    "is elected only with more votes than against all",
	    "the 21 registered voters of unreported precincts could still change the outcome"};
	assert_reasons(&d, open, N(open));
	/* With 20 out it cannot: failed before the end. */
	decide_votes(e, v, 5, 0, 20, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	cr_assert(d.final);
	tally_election_free(e);

	/* Two seats, against-all second: one elected, the other seat empty. */
	e = candidate_election(abcd_against, 2, NULL);
	static const uint64_t second[] = {50, 20, 10, 0, 30};
	decide_votes(e, second, 5, 0, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	static const char *const a[] = {"a"};
	assert_ids(&e->contests[0], d.elected, d.n_elected, a, 1, "elected");
	static const char *const one_empty[] = {
	    "elected to 1 of 2 seats (shares of ballots cast): 'a' (50 votes, 45.45%)",
	    "1 seat stays empty: no other candidate has more votes than against all ('against', "
	    "30 votes)"};
	assert_reasons(&d, one_empty, N(one_empty));
	tally_election_free(e);

	/* Absolute majority: against-all with more than half fails the election. */
	e = candidate_election(abcd_against, 1, "{\"win\": \"absolute_majority\"}");
	static const uint64_t half[] = {30, 10, 5, 4, 51};
	decide_votes(e, half, 5, 0, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	cr_assert_str_eq(d.reasons[0], "against all ('against') has more than half of ballots "
	                               "cast (51 votes, 51.00%): nobody is elected");
	/* Leading without half: the runoff is between the two first candidates. */
	static const uint64_t leads[] = {30, 10, 5, 4, 49};
	decide_votes(e, leads, 5, 2, 0, &d);
	cr_assert_eq(d.status, TALLY_STATUS_RUNOFF);
	cr_assert_str_eq(e->contests[0].options[d.runoff[0]].id, "a");
	cr_assert_str_eq(e->contests[0].options[d.runoff[1]].id, "b");
	tally_election_free(e);
}

Test(decision, turnout_rule_fails_a_candidate_and_a_party_list_contest)
{
	struct tally_election *e = candidate_election(abc, 1, "{\"min_turnout_pct\": 50}");
	static const uint64_t v[] = {20, 7, 3};
	struct tally_decision_result d;

	/* 30 of 100 voted, 10 registered voters out: at most 40 / 110. */
	struct tally_figures f = figures(100, 30, 0, 0, v, 3);
	struct tally_decision_input in = input(e, 0, &f, 10);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	cr_assert(d.final);
	cr_assert_eq(d.n_elected, 0);
	static const char *const reasons[] = {
	    /* In parentheses: one string in two pieces (clang -Wstring-concatenation). */
	    ("turnout cannot exceed the required 50.00%: at most 36.36% even if every voter of "
	     "unreported precincts votes"),
	    "nobody is elected: the turnout rule fails",
	    "the 10 registered voters of unreported precincts cannot change the outcome"};
	assert_reasons(&d, reasons, N(reasons));

	/* Exactly half is not more than half. */
	f = figures(60, 30, 0, 0, v, 3);
	in = input(e, 0, &f, 0);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	f = figures(59, 30, 0, 0, v, 3);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	cr_assert_str_eq(d.reasons[0], "turnout 50.85% exceeds the required 50.00% whatever the "
	                               "0 registered voters of unreported precincts do");
	tally_election_free(e);

	/* Turnout open, against-all surely ahead: failed before the end, and
	 * for the reason that holds whatever the voters out do. */
	e = candidate_election(abcd_against, 1, "{\"min_turnout_pct\": 50}");
	static const uint64_t ahead[] = {10, 5, 0, 0, 35};
	f = figures(100, 50, 0, 0, ahead, 5);
	in = input(e, 0, &f, 20);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	cr_assert(d.final);
	static const char *const against[] = {
	    "turnout undetermined: between 41.67% and 58.33% with 20 registered voters in "
	    "unreported precincts; required more than 50.00%",
	    "against all ('against') has 35 votes (70.00% of ballots cast), at least as many as "
	    "every candidate: nobody is elected",
	    "the 20 registered voters of unreported precincts cannot change the outcome"};
	assert_reasons(&d, against, N(against));
	tally_election_free(e);

	e = parse("{\"election_id\": \"t\", \"title\": \"T\", \"regions\": [{\"id\": \"A\", "
	          "\"name\": \"A\", \"precincts\": [[1, 1000]]}], \"contests\": [{\"id\": \"p\", "
	          "\"kind\": \"party_list\", \"seats\": 5, \"options\": [{\"id\": \"x\"}, "
	          "{\"id\": \"y\"}], \"rules\": {\"method\": \"dhondt\", \"min_turnout_pct\": "
	          "50}}]}");
	f = figures(100, 30, 0, 0, v, 2);
	f.ballots_cast = 27;
	in = input(e, 0, &f, 10);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FAILED);
	cr_assert(d.final);
	cr_assert_eq(d.seats.seats[0], 0);
	cr_assert_eq(d.seats.vacant, 5);
	cr_assert_str_eq(d.reasons[1], "no seat is allocated: the turnout rule fails");
	char *j = dump(&in, &d);
	cr_assert(strstr(j, "\"passed\":[],\"seats\":{\"x\":0,\"y\":0},\"vacant\":5,\"tie\":null}"),
	          "%s", j);
	free(j);
	tally_election_free(e);
}

static const char lot_definition[] =
    "{\"election_id\": \"t\", \"title\": \"T\", \"regions\": [{\"id\": \"A\", \"name\": "
    "\"A\", \"precincts\": [[1, 1000]]}], \"contests\": [{\"id\": \"p\", \"kind\": "
    "\"party_list\", \"seats\": 2, \"options\": [{\"id\": \"x\"}, {\"id\": \"y\"}, {\"id\": "
    "\"z\", \"list_length\": 1}], \"rules\": {\"method\": \"dhondt\", \"tie\": \"lot\"}}]}";

Test(decision, party_list_tie_left_to_lot_while_provisional_and_at_the_end)
{
	struct tally_election *e = parse(lot_definition);
	/* D'Hondt, 2 seats: x's second average (200 / 2) ties y's first. */
	static const uint64_t v[] = {200, 100, 0};
	struct tally_decision_result d;
	struct tally_figures f = figures(500, 300, 0, 0, v, 3);

	struct tally_decision_input in = input(e, 0, &f, 50);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_PROVISIONAL);
	cr_assert_not(d.final);
	cr_assert_eq(d.tie_seats, 1);
	static const char *const xy[] = {"x", "y"};
	assert_ids(in.c, d.tied, d.n_tied, xy, 2, "tied");
	static const char *const provisional[] = {
	    "2 of 3 lists take part: there is no threshold", "seats if counting stopped now: 'x' 1",
	    "1 seat left to lot between 'x' and 'y'",
	    "the 50 registered voters of unreported precincts could still change the seats"};
	assert_reasons(&d, provisional, N(provisional));

	in = input(e, 0, &f, 0);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_TIE);
	cr_assert(d.final);
	char *j = dump(&in, &d);
	cr_assert_str_eq(
	    j, "{\"status\":\"tie\",\"final\":true,\"reasons\":[\"2 of 3 lists take part: there "
	       "is no threshold\",\"seats: 'x' 1\",\"1 seat left to lot between 'x' and 'y'\"],"
	       "\"rules\":{\"threshold_pct\":0.0,\"threshold_of\":\"valid\",\"method\":\"dhondt\","
	       "\"tie\":\"lot\",\"overflow\":\"redistribute\"},\"passed\":[\"x\",\"y\"],\"seats\":"
	       "{\"x\":1,\"y\":0,\"z\":0},\"vacant\":0,\"tie\":{\"options\":[\"x\",\"y\"],"
	       "\"seats\":1}}");
	free(j);

	/* z has one candidate: its second seat stays vacant under "vacant". */
	e->contests[0].rules.overflow = TALLY_OVERFLOW_VACANT;
	static const uint64_t z[] = {0, 0, 300};
	f = figures(500, 300, 0, 0, z, 3);
	decide(&in, &d);
	cr_assert_eq(d.status, TALLY_STATUS_FINAL);
	cr_assert_eq(d.seats.seats[2], 1);
	cr_assert_eq(d.seats.vacant, 1);
	cr_assert_str_eq(d.reasons[2], "1 seat stays vacant: the lists have too few candidates");
	tally_election_free(e);
}

Test(decision, bad_input_is_refused)
{
	struct tally_election *e = candidate_election(abc, 1, "{\"win\": \"absolute_majority\"}");
	static const uint64_t v[] = {1, 2, 3};
	struct tally_figures f = figures(10, 6, 0, 0, v, 3);
	struct tally_decision_input in = input(e, 0, &f, 0);
	struct tally_decision_result d;
	json_t *j = NULL;

	/* An absolute majority elects one (the loader refuses more; a model
	 * made in memory can still ask). */
	e->contests[0].seats = 2;
	cr_assert_eq(tally_decide(&in, &d), -EINVAL);
	cr_assert_eq(d.status, TALLY_STATUS_NONE);
	cr_assert_eq(d.leader, -1);
	cr_assert_eq(tally_decide(NULL, &d), -EINVAL);
	cr_assert_eq(tally_decide(&in, NULL), -EINVAL);
	in.national = NULL;
	cr_assert_eq(tally_decide(&in, &d), -EINVAL);
	tally_election_free(e);

	/* A region rule needs the regions' figures. */
	char *json = kz_referendum_definition(true);
	e = parse(json);
	free(json);
	in = input(e, 0, &f, 0);
	cr_assert_eq(tally_decide(&in, &d), -EINVAL);
	e->contests[0].rules.has_region_majority = false;
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(tally_decision_to_json(&in, &d, &j), 0);
	json_decref(j);
	tally_election_free(e);
}

/* ---- the legacy referendum against totals.c -------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed printed on failure. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A random definition without contests: empty regions included. */
static char *random_legacy_definition(void)
{
	size_t cap = 16384, o = 0;
	char *json = malloc(cap);
	size_t n_regions = 1 + below(5);
	uint32_t id = 1;

	cr_assert_not_null(json);
	o += (size_t)snprintf(json + o, cap - o,
	                      "{\"election_id\": \"r\", \"title\": \"R\", \"options\": [{\"id\": "
	                      "\"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}], "
	                      "\"regions\": [");
	for (size_t r = 0; r < n_regions; r++) {
		size_t n = below(4);
		o += (size_t)snprintf(json + o, cap - o,
		                      "%s{\"id\": \"R%zu\", \"name\": \"R%zu\", \"precincts\": [",
		                      r ? ", " : "", r, r);
		for (size_t k = 0; k < n; k++) {
			static const uint32_t sizes[] = {0, 1, 2, 3, 5, 10, 100, 1000, 99999};
			uint32_t reg = below(3) ? sizes[below(N(sizes))] : (uint32_t)below(5000);
			o += (size_t)snprintf(json + o, cap - o, "%s[%" PRIu32 ", %" PRIu32 "]",
			                      k ? ", " : "", id++, reg);
		}
		o += (size_t)snprintf(json + o, cap - o, "]}");
	}
	o += (size_t)snprintf(json + o, cap - o, "]");
	uint64_t which = below(4);
	if (which != 0) {
		o += (size_t)snprintf(json + o, cap - o, ", \"rules\": {");
		if (which & 1) {
			static const char *const pcts[] = {"0",     "50",      "50.0", "33.3333",
			                                   "66.67", "99.9999", "100",  "12.5"};
			if (below(2))
				o += (size_t)snprintf(json + o, cap - o, "\"min_turnout_pct\": %s",
				                      pcts[below(N(pcts))]);
			else
				o += (size_t)snprintf(json + o, cap - o,
				                      "\"min_turnout_pct\": %" PRIu64 ".%04" PRIu64,
				                      below(100), below(10000));
		}
		if (which & 2) {
			static const char *const fracs[] = {
			    "1", "0.5", "0.6667", "0.333333", "0.75", "0.000001", "0.999999"};
			o += (size_t)snprintf(json + o, cap - o, "%s", which & 1 ? ", " : "");
			if (below(2))
				o += (size_t)snprintf(json + o, cap - o,
				                      "\"region_majority_fraction\": %s",
				                      fracs[below(N(fracs))]);
			else
				o += (size_t)snprintf(json + o, cap - o,
				                      "\"region_majority_fraction\": 0.%06" PRIu64,
				                      1 + below(999999));
		}
		o += (size_t)snprintf(json + o, cap - o, "}");
	}
	o += (size_t)snprintf(json + o, cap - o, "}");
	cr_assert_lt(o, cap);
	return json;
}

/* The decision input over legacy totals; regions into the caller's arrays. */
static struct tally_decision_input legacy_input(const struct tally_totals *t,
                                                struct tally_figures *regions,
                                                uint64_t *region_unreported)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[0];
	const struct tally_contest_totals *ct = &t->contests[0];

	for (size_t k = 0; k < c->n_regions; k++) {
		regions[k] = ct->regions[k];
		region_unreported[k] = e->regions[c->regions[k]].registered -
		                       ct->region_reported_definition_registered[k];
	}
	return (struct tally_decision_input){
	    .e = e,
	    .c = c,
	    .national = &ct->national,
	    .regions = regions,
	    .unreported_registered = c->registered - ct->reported_definition_registered,
	    .region_unreported_registered = region_unreported,
	};
}

/* How often each legacy status was compared, so the random states are seen to cover them. */
static size_t legacy_seen[4];

/*
 * The pinned SHA-256 of seed's documents: what totals.c published before
 * the referendum's decision moved to decision.c (tests/unit/data/
 * legacy_decisions.sha256, written by that code on these very states).
 */
static void pinned_hash(uint64_t seed, char ret[2 * TALLY_HASH_BYTES + 1])
{
	char path[512], line[256];
	snprintf(path, sizeof(path), "%s/tests/unit/data/legacy_decisions.sha256",
	         TALLY_SOURCE_DIR);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	ret[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		uint64_t s;
		char hex[2 * TALLY_HASH_BYTES + 1];
		if (line[0] != '#' && sscanf(line, "%" SCNu64 " %64s", &s, hex) == 2 && s == seed) {
			memcpy(ret, hex, sizeof(hex));
			break;
		}
	}
	fclose(f);
	cr_assert_neq(ret[0], '\0', "seed %" PRIu64 " is not pinned", seed);
}

/*
 * One state's decision: decision.c's document goes into the seed's hash,
 * and /v1/totals (totals_json.c) carries exactly that document.
 */
static void hash_decision(const struct tally_totals *t, crypto_hash_sha256_state *h, uint64_t seed)
{
	struct tally_figures regions[8];
	uint64_t region_unreported[8];
	struct tally_decision_input in = legacy_input(t, regions, region_unreported);
	struct tally_decision_result d;
	json_t *new = NULL, *doc = NULL;

	cr_assert_eq(tally_decide(&in, &d), 0, "seed %" PRIu64, seed);
	cr_assert_eq(tally_decision_to_json(&in, &d, &new), 0);
	char *b = json_dumps(new, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	crypto_hash_sha256_update(h, (const unsigned char *)b, strlen(b));
	crypto_hash_sha256_update(h, (const unsigned char *)"\n", 1);
	cr_assert_eq(tally_totals_to_json(t, &doc), 0);
	char *a = json_dumps(json_object_get(doc, "decision"),
	                     JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	cr_assert_str_eq(a, b, "seed %" PRIu64, seed);
	free(a);
	free(b);
	json_decref(new);
	json_decref(doc);
	cr_assert_leq(d.status, TALLY_STATUS_FAILING);
	legacy_seen[d.status]++;
}

Test(decision, legacy_referendum_keeps_the_documents_of_totals_c, .timeout = 120)
{
	for (uint64_t seed = 1; seed <= 400; seed++) {
		rng_state = seed * 0x9e3779b97f4a7c15ull;
		char *json = random_legacy_definition();
		struct tally_election *e = parse(json);
		struct tally_totals *t = NULL;
		uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + 2];
		uint8_t hash[TALLY_HASH_BYTES];
		crypto_hash_sha256_state h;
		char want[2 * TALLY_HASH_BYTES + 1], got[2 * TALLY_HASH_BYTES + 1];

		free(json);
		crypto_hash_sha256_init(&h);
		cr_assert_eq(tally_totals_new(e, &t), 0);
		hash_decision(t, &h, seed);
		for (size_t step = 0; step < 2 * e->n_precincts + 2; step++) {
			if (e->n_precincts == 0)
				break;
			size_t pi = below(e->n_precincts);
			uint32_t def = e->precincts[pi].registered;
			/* The protocol's registered voters may differ from the
			 * definition's; everyone, nobody or some vote. */
			uint32_t reg = below(4) ? def : def + (uint32_t)below(3);
			uint32_t cast = below(4) == 0   ? reg
			                : below(4) == 0 ? reg / 2
			                                : (uint32_t)below(reg + 1);
			uint32_t invalid = (uint32_t)below(cast / 4 + 1);
			uint32_t nc = (uint32_t)below((cast - invalid) / 8 + 1);
			uint32_t yes = (uint32_t)below(cast - invalid - nc + 1);
			enum tally_outcome out;
			fig[0] = reg;
			fig[1] = cast;
			fig[2] = invalid;
			fig[3] = nc;
			fig[4] = yes;
			fig[5] = cast - invalid - nc - yes;
			memset(hash, 0, sizeof(hash));
			memcpy(hash, &step, sizeof(step));
			memcpy(hash + 8, fig, sizeof(fig));
			cr_assert_eq(tally_totals_apply_figures(t, pi, 1 + (uint32_t)step, hash,
			                                        (int64_t)t->sequence, fig, &out),
			             0);
			hash_decision(t, &h, seed);
		}
		uint8_t digest[TALLY_HASH_BYTES];
		crypto_hash_sha256_final(&h, digest);
		for (size_t i = 0; i < TALLY_HASH_BYTES; i++)
			snprintf(got + 2 * i, 3, "%02x", digest[i]);
		pinned_hash(seed, want);
		cr_assert_str_eq(got, want,
		                 "seed %" PRIu64 ": a decision document differs from totals.c's",
		                 seed);
		tally_totals_free(t);
		tally_election_free(e);
	}
	for (size_t i = 0; i < 4; i++)
		cr_assert_gt(legacy_seen[i], 100, "%s seen %zu times", tally_decision_status_str(i),
		             legacy_seen[i]);
}

/*
 * Where the two can differ. totals.c compared the turnout as doubles
 * (100.0 * cast / registered > min_turnout_pct) and said "failing" here
 * (a double rounds the turnout to exactly 50.00); this module compares
 * cast x 10^6 > min_turnout_ppm x registered. They agree whenever the
 * double quotient lands on the right side of the rule, which needs the
 * true turnout to be further from the rule than a double's rounding at
 * that size (7e-15 of a percent near 50 %); a turnout in whole voters
 * differs from a rule in millionths by at least 1 / (10^4 x registered)
 * of a percent, so only beyond 10^10 registered voters can they part.
 * Here 10^17 registered and half of them plus one voting: the double
 * rounds to exactly 50.00 and says "cannot exceed"; the integers see one
 * voter more than half.
 */
Test(decision, legacy_turnout_parts_from_the_doubles_only_beyond_their_precision)
{
	struct tally_election *e = parse(
	    "{\"election_id\": \"t\", \"title\": \"T\", \"options\": [{\"id\": \"yes\", \"name\": "
	    "\"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}], \"regions\": [{\"id\": \"A\", "
	    "\"name\": \"A\", \"precincts\": [[1, 10]]}], \"rules\": {\"min_turnout_pct\": 50}}");
	struct tally_figures national;
	uint64_t reported[1] = {10};
	struct tally_totals t;
	struct tally_contest_totals ct;
	struct tally_decision_result d;

	memset(&national, 0, sizeof(national));
	national.precincts_total = national.precincts_reported = 1;
	national.voters_registered = 100000000000000000ull;
	national.ballots_cast = 50000000000000001ull;
	national.votes[0] = national.ballots_cast;
	memset(&t, 0, sizeof(t));
	t.election = e;
	memset(&ct, 0, sizeof(ct));
	ct.national = national;
	ct.regions = &ct.national;
	ct.region_reported_definition_registered = reported;
	ct.reported_definition_registered = reported[0];
	t.contests = &ct;

	struct tally_figures regions[1];
	uint64_t region_unreported[1];
	struct tally_decision_input in = legacy_input(&t, regions, region_unreported);
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_PASSING);
	cr_assert_str_eq(d.reasons[0], "turnout 50.00% exceeds the required 50.00% whatever the 0 "
	                               "registered voters of unreported precincts do");

	/* Exactly half, at any size, is not more than half for both. */
	ct.national.ballots_cast = 50000000000000000ull;
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_FAILING);
	tally_election_free(e);
}

/* ---- against every way a few unreported voters can vote --------------- */

/*
 * A plain reference for the brute force: the rules applied to one final
 * count, written apart from decision.c. Options are bits.
 */
struct ref {
	enum tally_decision_status status;
	uint32_t elected, runoff, tied, tie_seats;
	struct tally_seats_result seats;
};

/* A small contest built in memory, ids "o0", "o1", ... */
struct small {
	struct tally_election e;
	struct tally_contest c;
	struct tally_contest_option options[TALLY_MAX_OPTIONS];
};

static void small_init(struct small *s, enum tally_contest_kind kind, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->c.kind = kind;
	s->c.scope = TALLY_SCOPE_NATIONAL;
	s->c.district = -1;
	s->c.n_options = n;
	s->c.options = s->options;
	s->c.has_rules = true;
	for (size_t i = 0; i < n; i++) {
		snprintf(s->options[i].id, sizeof(s->options[i].id), "o%zu", i);
		s->options[i].party = -1;
	}
	s->e.contests = &s->c;
	s->e.n_contests = 1;
}

static bool turnout_ok(const struct tally_contest *c, uint64_t cast, uint64_t registered)
{
	if (!c->rules.has_min_turnout)
		return true;
	/* turnout = cast / registered; strictly above the rule. */
	return registered != 0 && (unsigned __int128)cast * 1000000 >
	                              (unsigned __int128)c->rules.min_turnout_ppm * registered;
}

/* Options in order of votes (ties in any order). */
static void by_votes(const uint64_t *w, size_t n, uint32_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (w[order[j]] > w[order[i]]) {
				uint32_t x = order[i];
				order[i] = order[j];
				order[j] = x;
			}
}

/*
 * Walks down the options by votes, a group of equal votes at a time,
 * filling `left` places: a group that fits takes them, a group larger
 * than the places left ties for them, against-all stops the walk (nobody
 * level with it or below it can be elected).
 */
static void walk(const struct tally_contest *c, const uint64_t *w, bool skip_against, uint32_t left,
                 uint32_t *ret_in, struct ref *o)
{
	uint32_t order[TALLY_MAX_OPTIONS];
	size_t i = 0, n = c->n_options;

	by_votes(w, n, order);
	while (i < n && left > 0) {
		uint32_t group = 0, size = 0;
		bool against = false;
		size_t j = i;
		for (; j < n && w[order[j]] == w[order[i]]; j++) {
			if (c->options[order[j]].against_all) {
				against = true;
				continue;
			}
			group |= 1u << order[j];
			size++;
		}
		if (against && !skip_against)
			return;
		if (size <= left) {
			*ret_in |= group;
			left -= size;
		} else {
			o->tied = group;
			o->tie_seats = left;
			return;
		}
		i = j;
	}
}

static void ref_candidate(const struct tally_contest *c, const uint64_t *w, uint64_t cast,
                          uint64_t valid, uint64_t registered, struct ref *o)
{
	memset(o, 0, sizeof(*o));
	if (!turnout_ok(c, cast, registered)) {
		o->status = TALLY_STATUS_FAILED;
		return;
	}
	if (c->rules.win == TALLY_WIN_PLURALITY) {
		walk(c, w, false, c->seats, &o->elected, o);
		o->status = o->tie_seats ? TALLY_STATUS_TIE
		            : o->elected ? TALLY_STATUS_ELECTED
		                         : TALLY_STATUS_FAILED;
		return;
	}
	uint64_t den = c->rules.majority_of == TALLY_DENOM_VALID ? valid : cast;
	size_t candidates = 0;
	for (size_t i = 0; i < c->n_options; i++) {
		candidates += !c->options[i].against_all;
		if (2 * w[i] > den) {
			o->status =
			    c->options[i].against_all ? TALLY_STATUS_FAILED : TALLY_STATUS_ELECTED;
			o->elected = c->options[i].against_all ? 0 : 1u << i;
			return;
		}
	}
	if (candidates < 2) {
		o->status = TALLY_STATUS_FAILED;
		return;
	}
	walk(c, w, true, 2, &o->runoff, o);
	o->status = o->tie_seats ? TALLY_STATUS_TIE : TALLY_STATUS_RUNOFF;
	if (o->tie_seats)
		o->runoff = 0;
}

static void ref_party(const struct tally_contest *c, const uint64_t *w, uint64_t cast,
                      uint64_t valid, uint64_t registered, struct ref *o)
{
	bool against[TALLY_MAX_OPTIONS];
	uint32_t length[TALLY_MAX_OPTIONS];

	memset(o, 0, sizeof(*o));
	if (!turnout_ok(c, cast, registered)) {
		o->status = TALLY_STATUS_FAILED;
		o->seats.vacant = c->seats;
		return;
	}
	for (size_t i = 0; i < c->n_options; i++) {
		against[i] = c->options[i].against_all;
		length[i] = c->options[i].list_length;
	}
	struct tally_seats_input in = {
	    .n = c->n_options,
	    .votes = w,
	    .against_all = against,
	    .list_length = length,
	    .seats = c->seats,
	    .threshold_ppm = c->rules.threshold_ppm,
	    .threshold_base = c->rules.threshold_of == TALLY_DENOM_VALID ? valid : cast,
	    .method = c->rules.method,
	    .tie = c->rules.tie,
	    .overflow = c->rules.overflow,
	};
	cr_assert_eq(tally_seats_allocate(&in, &o->seats), 0);
	o->status = o->seats.tie_seats ? TALLY_STATUS_TIE : TALLY_STATUS_FINAL;
}

static bool seats_equal(size_t n, const struct tally_seats_result *a,
                        const struct tally_seats_result *b)
{
	if (a->vacant != b->vacant || a->tie_seats != b->tie_seats || a->n_tied != b->n_tied)
		return false;
	for (size_t i = 0; i < n; i++)
		if (a->seats[i] != b->seats[i] || a->passed[i] != b->passed[i])
			return false;
	for (size_t i = 0; i < a->n_tied; i++)
		if (a->tied[i] != b->tied[i])
			return false;
	return true;
}

static bool ref_equal(size_t n, const struct ref *a, const struct ref *b)
{
	return a->status == b->status && a->elected == b->elected && a->runoff == b->runoff &&
	       a->tied == b->tied && a->tie_seats == b->tie_seats &&
	       seats_equal(n, &a->seats, &b->seats);
}

/* What the brute force saw over every way the voters out can vote. */
struct sweep {
	const struct tally_contest *c;
	const struct tally_figures *f;
	uint64_t registered; /* protocols' plus the voters out */
	size_t n_seen;
	bool same;
	struct ref first;
	uint32_t always_elected;
};

/* categories: 0 home, 1 invalid, 2 valid for no option, 3 + j option j */
static void visit(struct sweep *s, const uint64_t *add)
{
	const struct tally_contest *c = s->c;
	uint64_t w[TALLY_MAX_OPTIONS];
	uint64_t cast = s->f->ballots_cast + add[1] + add[2];
	uint64_t valid = s->f->ballots_cast - s->f->ballots_invalid + add[2];
	struct ref o;

	for (size_t i = 0; i < c->n_options; i++) {
		w[i] = s->f->votes[i] + add[3 + i];
		cast += add[3 + i];
		valid += add[3 + i];
	}
	if (c->kind == TALLY_CONTEST_PARTY_LIST)
		ref_party(c, w, cast, valid, s->registered, &o);
	else
		ref_candidate(c, w, cast, valid, s->registered, &o);
	if (s->n_seen == 0) {
		s->first = o;
		s->same = true;
		s->always_elected = o.elected;
	} else {
		s->same = s->same && ref_equal(c->n_options, &s->first, &o);
		s->always_elected &= o.elected;
	}
	s->n_seen++;
}

/* Every way to share `left` voters among categories k.. of m. */
static void sweep_from(struct sweep *s, uint64_t *add, size_t k, size_t m, uint64_t left)
{
	if (k == m - 1) {
		add[k] = left;
		visit(s, add);
		return;
	}
	for (uint64_t x = 0; x <= left; x++) {
		add[k] = x;
		sweep_from(s, add, k + 1, m, left - x);
	}
}

static uint32_t mask_of(const uint32_t *list, size_t n)
{
	uint32_t m = 0;
	for (size_t i = 0; i < n; i++)
		m |= 1u << list[i];
	return m;
}

/* Random small figures for c: few votes, so that ties are common. */
static struct tally_figures random_figures(const struct tally_contest *c)
{
	uint64_t v[TALLY_MAX_OPTIONS] = {0};
	uint64_t invalid = below(3), nc = below(3), cast;

	cast = invalid + nc;
	for (size_t i = 0; i < c->n_options; i++) {
		v[i] = below(7);
		cast += v[i];
	}
	return figures(cast + below(5), cast, invalid, nc, v, c->n_options);
}

static void random_turnout(struct tally_contest *c)
{
	static const uint32_t ppm[] = {0, 250000, 500000, 600000, 800000};
	c->rules.has_min_turnout = below(3) == 0;
	c->rules.min_turnout_ppm = below(2) ? ppm[below(N(ppm))] : (uint32_t)below(1000001);
}

/* One random contest of `kind` against the brute force; counts what it checked. */
static void check_against_brute_force(uint64_t seed, enum tally_contest_kind kind,
                                      size_t *ret_final, size_t *ret_open)
{
	struct small s;
	size_t n = 1 + below(4);
	bool against = n > 1 && below(3) == 0;

	small_init(&s, kind, n);
	if (against)
		s.options[below(n)].against_all = true;
	random_turnout(&s.c);
	if (kind == TALLY_CONTEST_CANDIDATE) {
		s.c.rules.win = below(2) ? TALLY_WIN_PLURALITY : TALLY_WIN_ABSOLUTE_MAJORITY;
		s.c.rules.majority_of = (enum tally_denominator)below(2);
		s.c.seats = s.c.rules.win == TALLY_WIN_PLURALITY ? 1 + (uint32_t)below(3) : 1;
	} else {
		static const uint32_t thresholds[] = {0, 50000, 100000, 250000, 400000};
		s.c.seats = 1 + (uint32_t)below(5);
		s.c.rules.threshold_ppm = thresholds[below(N(thresholds))];
		s.c.rules.threshold_of = (enum tally_denominator)below(2);
		s.c.rules.method = (enum tally_seat_method)below(3);
		s.c.rules.tie = (enum tally_tie_rule)below(2);
		s.c.rules.overflow = (enum tally_overflow)below(2);
		for (size_t i = 0; i < n; i++)
			if (!s.options[i].against_all && below(3) == 0)
				s.options[i].list_length = 1 + (uint32_t)below(3);
	}
	struct tally_figures f = random_figures(&s.c);
	uint64_t r = below(5);
	struct tally_decision_input in = input(&s.e, 0, &f, r);
	struct tally_decision_result d;
	struct sweep sw = {.c = &s.c, .f = &f, .registered = f.voters_registered + r};
	uint64_t add[3 + TALLY_MAX_OPTIONS] = {0};

	cr_assert_eq(tally_decide(&in, &d), 0, "seed %" PRIu64, seed);
	sweep_from(&sw, add, 0, 3 + n, r);
	/* Hare's rounds, once a list runs short of candidates, are certified
	 * only at the end (decision.c): there, final must imply certain. */
	bool hare_rounds = kind == TALLY_CONTEST_PARTY_LIST &&
	                   s.c.rules.method == TALLY_METHOD_HARE &&
	                   s.c.rules.overflow == TALLY_OVERFLOW_REDISTRIBUTE;
	if (hare_rounds && d.final)
		cr_assert(sw.same, "seed %" PRIu64 ": final, but outcomes differ", seed);
	else if (!hare_rounds)
		cr_assert_eq(d.final, sw.same, "seed %" PRIu64 ": final %d, brute force %d", seed,
		             d.final, sw.same);
	(*(d.final ? ret_final : ret_open))++;

	if (kind == TALLY_CONTEST_CANDIDATE) {
		/* Surely elected: elected whatever the voters out do. */
		cr_assert_eq(mask_of(d.elected, d.n_elected), sw.always_elected,
		             "seed %" PRIu64 ": elected %#x, brute force %#x", seed,
		             mask_of(d.elected, d.n_elected), sw.always_elected);
		if (!d.final) {
			cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED, "seed %" PRIu64, seed);
			cr_assert_not(d.has_runoff);
			cr_assert_eq(d.tie_seats, 0);
			return;
		}
		cr_assert_eq(d.status, sw.first.status, "seed %" PRIu64 ": %s, brute force %s",
		             seed, tally_decision_status_str(d.status),
		             tally_decision_status_str(sw.first.status));
		cr_assert_eq(d.has_runoff ? mask_of(d.runoff, 2) : 0, sw.first.runoff,
		             "seed %" PRIu64, seed);
		cr_assert_eq(mask_of(d.tied, d.n_tied), sw.first.tied, "seed %" PRIu64, seed);
		cr_assert_eq(d.tie_seats, sw.first.tie_seats, "seed %" PRIu64, seed);
		return;
	}
	if (!d.final) {
		/* The seats if counting stopped now. */
		struct tally_contest any_turnout = s.c;
		struct ref now;
		cr_assert_eq(d.status, TALLY_STATUS_PROVISIONAL, "seed %" PRIu64, seed);
		any_turnout.rules.has_min_turnout = false;
		ref_party(&any_turnout, f.votes, f.ballots_cast, f.ballots_cast - f.ballots_invalid,
		          0, &now);
		cr_assert(seats_equal(n, &d.seats, &now.seats), "seed %" PRIu64, seed);
		return;
	}
	cr_assert_eq(d.status, sw.first.status, "seed %" PRIu64, seed);
	cr_assert(seats_equal(n, &d.seats, &sw.first.seats), "seed %" PRIu64, seed);
	cr_assert_eq(d.tie_seats, sw.first.seats.tie_seats, "seed %" PRIu64, seed);
}

Test(decision, candidate_certainty_equals_the_brute_force, .timeout = 120)
{
	size_t final = 0, open = 0;

	for (uint64_t seed = 1; seed <= 6000; seed++) {
		rng_state = seed * 0xd1b54a32d192ed03ull;
		check_against_brute_force(seed, TALLY_CONTEST_CANDIDATE, &final, &open);
	}
	/* Both sides of certainty were exercised. */
	cr_assert_gt(final, 1000);
	cr_assert_gt(open, 1000);
}

Test(decision, party_list_certainty_equals_the_brute_force, .timeout = 120)
{
	size_t final = 0, open = 0;

	for (uint64_t seed = 1; seed <= 3000; seed++) {
		rng_state = seed * 0x8cb92ba72f3d8dd7ull;
		check_against_brute_force(seed, TALLY_CONTEST_PARTY_LIST, &final, &open);
	}
	cr_assert_gt(final, 500);
	cr_assert_gt(open, 500);
}

/* The referendum's reference: per region, every way its voters out vote. */
struct region_sweep {
	const struct tally_contest *c;
	const struct tally_figures *regions;
	const uint64_t *unreported;
	size_t n;
	uint64_t registered; /* national: protocols' plus every voter out */
	uint64_t add[4][5];  /* per region: home, invalid, uncounted, yes, no */
	bool passed, failed;
};

static void region_visit(struct region_sweep *s)
{
	const struct tally_contest *c = s->c;
	uint64_t cast = 0;
	size_t majority = 0;
	bool pass = true;

	for (size_t k = 0; k < s->n; k++) {
		const struct tally_figures *f = &s->regions[k];
		uint64_t rc =
		    f->ballots_cast + s->add[k][1] + s->add[k][2] + s->add[k][3] + s->add[k][4];
		uint64_t valid = rc - f->ballots_invalid - s->add[k][1];
		uint64_t yes = f->votes[0] + s->add[k][3];
		uint64_t den = c->rules.pass_share_of == TALLY_DENOM_VALID ? valid : rc;
		cast += rc;
		majority += 2 * yes > den;
	}
	if (c->rules.has_region_majority)
		pass = pass && majority * 1000000 >= (uint64_t)c->rules.region_majority_ppm * s->n;
	pass = pass && turnout_ok(c, cast, s->registered);
	s->passed = s->passed || pass;
	s->failed = s->failed || !pass;
}

static void region_sweep_from(struct region_sweep *s, size_t k, size_t cat, uint64_t left)
{
	if (k == s->n) {
		region_visit(s);
		return;
	}
	if (cat == 4) {
		s->add[k][4] = left;
		region_sweep_from(s, k + 1, 0, k + 1 < s->n ? s->unreported[k + 1] : 0);
		return;
	}
	for (uint64_t x = 0; x <= left; x++) {
		s->add[k][cat] = x;
		region_sweep_from(s, k, cat + 1, left - x);
	}
}

Test(decision, referendum_certainty_equals_the_brute_force, .timeout = 120)
{
	size_t seen[3] = {0};

	for (uint64_t seed = 1; seed <= 2000; seed++) {
		struct small s;
		struct tally_figures regions[4], national;
		uint64_t unreported[4], total = 0;
		size_t n;
		static const uint32_t fractions[] = {333334, 500000, 666700, 750000, 1000000};

		rng_state = seed * 0xa0761d6478bd642full;
		n = 1 + below(3);
		small_init(&s, TALLY_CONTEST_REFERENDUM, 2);
		s.c.scope = TALLY_SCOPE_REGIONS;
		s.c.n_scope_regions = n;
		s.c.n_regions = n;
		random_turnout(&s.c);
		s.c.rules.has_region_majority = !s.c.rules.has_min_turnout || below(2);
		s.c.rules.region_majority_ppm = fractions[below(N(fractions))];
		s.c.rules.pass_share_of = (enum tally_denominator)below(2);
		memset(&national, 0, sizeof(national));
		for (size_t k = 0; k < n; k++) {
			regions[k] = random_figures(&s.c);
			unreported[k] = below(3);
			total += unreported[k];
			national.voters_registered += regions[k].voters_registered;
			national.ballots_cast += regions[k].ballots_cast;
			national.ballots_invalid += regions[k].ballots_invalid;
			national.ballots_not_counted += regions[k].ballots_not_counted;
			national.votes[0] += regions[k].votes[0];
			national.votes[1] += regions[k].votes[1];
		}
		struct tally_decision_input in = input(&s.e, 0, &national, total);
		struct tally_decision_result d;
		in.regions = regions;
		in.region_unreported_registered = unreported;
		cr_assert_eq(tally_decide(&in, &d), 0);

		struct region_sweep sw = {.c = &s.c,
		                          .regions = regions,
		                          .unreported = unreported,
		                          .n = n,
		                          .registered = national.voters_registered + total};
		region_sweep_from(&sw, 0, 0, unreported[0]);
		enum tally_decision_status want = !sw.failed   ? TALLY_STATUS_PASSING
		                                  : !sw.passed ? TALLY_STATUS_FAILING
		                                               : TALLY_STATUS_UNDETERMINED;
		cr_assert_eq(d.status, want, "seed %" PRIu64 ": %s, brute force %s", seed,
		             tally_decision_status_str(d.status), tally_decision_status_str(want));
		cr_assert_eq(d.final, want != TALLY_STATUS_UNDETERMINED);
		seen[want - TALLY_STATUS_UNDETERMINED]++;
	}
	for (size_t i = 0; i < 3; i++)
		cr_assert_gt(seen[i], 200, "status %zu seen %zu times", i, seen[i]);
}

/*
 * Figures near 2^64 (impossible from protocols, possible from a corrupt
 * store) decide without wrapping: sums saturate and products are 128-bit.
 * Under the sanitizers of the test build any overflow would abort.
 */
Test(decision, figures_near_two_to_the_64_decide_without_wrapping)
{
	static const uint64_t huge[] = {UINT64_MAX - 1, UINT64_MAX / 2, 0};
	struct tally_figures f = figures(UINT64_MAX, UINT64_MAX, 1, 0, huge, 3);
	struct tally_decision_result d;
	json_t *j = NULL;

	struct tally_election *e = candidate_election(abc, 2, "{\"min_turnout_pct\": 99.9999}");
	struct tally_decision_input in = input(e, 0, &f, UINT64_MAX);
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	cr_assert_not(d.final);
	cr_assert_eq(tally_decision_to_json(&in, &d, &j), 0);
	json_decref(j);
	/* Nothing out: the turnout (saturated at 2^64 - 1 of 2^64 - 1) passes. */
	in = input(e, 0, &f, 0);
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	cr_assert_eq(d.n_elected, 2);
	tally_election_free(e);

	e = candidate_election(abc, 1, "{\"win\": \"absolute_majority\"}");
	in = input(e, 0, &f, UINT64_MAX);
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	in = input(e, 0, &f, 0);
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_ELECTED);
	tally_election_free(e);

	e = parse(kz_mazhilis);
	in = input(e, 0, &f, UINT64_MAX);
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_PROVISIONAL);
	cr_assert_eq(tally_decision_to_json(&in, &d, &j), 0);
	json_decref(j);
	tally_election_free(e);

	char *json = kz_referendum_definition(true);
	e = parse(json);
	free(json);
	struct tally_figures regions[17];
	uint64_t unreported[17];
	for (size_t r = 0; r < 17; r++) {
		regions[r] = f;
		unreported[r] = UINT64_MAX;
	}
	in = input(e, 0, &f, UINT64_MAX);
	in.regions = regions;
	in.region_unreported_registered = unreported;
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(d.status, TALLY_STATUS_UNDETERMINED);
	tally_election_free(e);
}

/*
 * The pinned document of (min, delta) from tests/unit/data/
 * legacy_turnout_at_minimum.txt, written by totals.c before the decisions
 * moved here.
 */
static void pinned_minimum(size_t i, const char *min, int delta, char *ret, size_t cap)
{
	char path[512], line[1024], key[64];
	snprintf(path, sizeof(path), "%s/tests/unit/data/legacy_turnout_at_minimum.txt",
	         TALLY_SOURCE_DIR);
	snprintf(key, sizeof(key), "%zu %s %+d ", i, min, delta);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	ret[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0) {
			snprintf(ret, cap, "%s", line + strlen(key));
			ret[strcspn(ret, "\n")] = '\0';
			break;
		}
	fclose(f);
	cr_assert_neq(ret[0], '\0', "min %s delta %+d is not pinned", min, delta);
}

/* Turnout exactly at the minimum, one voter under and one over: as totals.c published it. */
Test(decision, legacy_turnout_at_the_minimum_keeps_the_documents_of_totals_c)
{
	static const struct {
		const char *min;
		uint64_t cast, registered;
	} cases[] = {
	    {"50", 500, 1000},
	    {"33.3333", 333333, 1000000},
	    {"66.67", 6667, 10000},
	    {"12.5", 1, 8},
	    {"99.9999", 999999, 1000000},
	    {"0.0001", 1, 1000000},
	    {"50", 6000000, 12000000},
	    {"100", 10, 10},
	};
	for (size_t i = 0; i < N(cases); i++) {
		char json[512];
		snprintf(
		    json, sizeof(json),
		    "{\"election_id\": \"t\", \"title\": \"T\", \"options\": [{\"id\": \"yes\", "
		    "\"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}], \"regions\": "
		    "[{\"id\": \"A\", \"name\": \"A\", \"precincts\": [[1, 10]]}], \"rules\": "
		    "{\"min_turnout_pct\": %s}}",
		    cases[i].min);
		struct tally_election *e = parse(json);
		for (int delta = -1; delta <= 1; delta++) {
			struct tally_figures national;
			uint64_t reported[1] = {10};
			struct tally_totals t;
			struct tally_contest_totals ct;
			struct tally_figures regions[1];
			uint64_t region_unreported[1];
			struct tally_decision_result d;
			json_t *new = NULL;
			char want[1024];

			if (cases[i].cast + delta > cases[i].registered)
				continue;
			memset(&national, 0, sizeof(national));
			national.precincts_total = national.precincts_reported = 1;
			national.voters_registered = cases[i].registered;
			national.ballots_cast = cases[i].cast + (uint64_t)(int64_t)delta;
			national.votes[0] = national.ballots_cast;
			memset(&t, 0, sizeof(t));
			t.election = e;
			memset(&ct, 0, sizeof(ct));
			ct.national = national;
			ct.regions = &ct.national;
			ct.region_reported_definition_registered = reported;
			ct.reported_definition_registered = reported[0];
			t.contests = &ct;
			struct tally_decision_input in =
			    legacy_input(&t, regions, region_unreported);
			cr_assert_eq(tally_decide(&in, &d), 0);
			cr_assert_eq(d.status,
			             delta > 0 ? TALLY_STATUS_PASSING : TALLY_STATUS_FAILING,
			             "min %s, cast %+d", cases[i].min, delta);
			cr_assert_eq(tally_decision_to_json(&in, &d, &new), 0);
			char *got = json_dumps(new, JSON_COMPACT | JSON_PRESERVE_ORDER |
			                                JSON_REAL_PRECISION(10));
			pinned_minimum(i, cases[i].min, delta, want, sizeof(want));
			cr_assert_str_eq(got, want, "min %s, cast %+d: %s, pinned %s", cases[i].min,
			                 delta, got, want);
			free(got);
			json_decref(new);
		}
		tally_election_free(e);
	}
}
