/*
 * Tests for validate.c: a table of results, each breaking one control
 * relation, with the exact relation name, reject code and reason the
 * region's operator will read in the Nack.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tally/validate.h"

static struct tally_election *election;

static const char definition[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    " \"regions\": ["
    "  {\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": [{\"id\": 4711, \"registered\": "
    "2000}]},"
    "  {\"id\": \"KZ-10\", \"name\": \"Abai\", \"precincts\": [{\"id\": 12, \"registered\": 900}]}"
    "]}";

static void setup(void)
{
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(definition, strlen(definition), &election, &err), 0, "%s",
	             err.msg);
}

static void teardown(void)
{
	election = tally_election_free(election);
}

TestSuite(validate, .init = setup, .fini = teardown);

/* A result that passes every relation: 1500 = 1400 + 100; 1390 = 10 + 5 + 1200 + 175. */
static struct tally_result good(void)
{
	struct tally_result r;

	memset(&r, 0, sizeof(r));
	strcpy(r.election_id, "kz-2026");
	strcpy(r.region_id, "KZ-71");
	r.precinct_id = 4711;
	r.revision = 1;
	r.voters_registered = 2000;
	r.ballots_received = 1500;
	r.ballots_issued = 1400;
	r.ballots_cancelled = 100;
	r.ballots_cast = 1390;
	r.ballots_invalid = 10;
	r.ballots_not_counted = 5;
	r.n_votes = 2;
	strcpy(r.votes[0].option_id, "yes");
	r.votes[0].count = 1200;
	strcpy(r.votes[1].option_id, "no");
	r.votes[1].count = 175;
	return r;
}

static void expect(const struct tally_result *r, enum tally_reject_code code, const char *relation,
                   const char *reason)
{
	struct tally_verdict v;

	memset(&v, 0x5a, sizeof(v));
	cr_assert_eq(tally_validate_result(election, r, &v), -EINVAL, "passed: %s", relation);
	cr_assert_eq(v.code, code, "%s: code %d", relation, v.code);
	cr_assert_str_eq(v.relation, relation);
	cr_assert_str_eq(v.reason, reason);
}

Test(validate, valid_result_passes)
{
	struct tally_result r = good();
	struct tally_verdict v;

	memset(&v, 0x5a, sizeof(v));
	cr_assert_eq(tally_validate_result(election, &r, &v), 0, "%s: %s", v.relation, v.reason);
	cr_assert_eq(v.code, TALLY_REJECT_NONE);
	cr_assert_str_eq(v.relation, "");
	cr_assert_str_eq(v.reason, "");
}

Test(validate, options_in_any_order_and_zero_counts_pass)
{
	struct tally_result r = good();
	struct tally_verdict v;

	r.votes[0] = (struct tally_option_votes){.option_id = "no", .count = 0};
	r.votes[1] = (struct tally_option_votes){.option_id = "yes", .count = 1375};
	cr_assert_eq(tally_validate_result(election, &r, &v), 0, "%s", v.reason);
}

Test(validate, wrong_election)
{
	struct tally_result r = good();
	strcpy(r.election_id, "kz-2022");
	expect(&r, TALLY_REJECT_WRONG_ELECTION, "election",
	       "election_id \"kz-2022\" is not this election (\"kz-2026\")");
}

Test(validate, unknown_precinct)
{
	struct tally_result r = good();
	r.precinct_id = 4712;
	expect(&r, TALLY_REJECT_UNKNOWN_PRECINCT, "precinct",
	       "precinct_id 4712 is not a precinct of election \"kz-2026\"");
	r.precinct_id = 0;
	expect(&r, TALLY_REJECT_UNKNOWN_PRECINCT, "precinct",
	       "precinct_id 0 is not a precinct of election \"kz-2026\"");
}

Test(validate, wrong_region)
{
	struct tally_result r = good();
	strcpy(r.region_id, "KZ-10");
	expect(&r, TALLY_REJECT_WRONG_REGION, "region",
	       "precinct 4711 belongs to region \"KZ-71\", not \"KZ-10\"");
}

Test(validate, revision_zero)
{
	struct tally_result r = good();
	r.revision = 0;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "revision",
	       "revision is 0; the first count is revision 1");
}

Test(validate, unknown_option)
{
	struct tally_result r = good();
	strcpy(r.votes[1].option_id, "maybe");
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	       "option \"maybe\" is not an option of election \"kz-2026\"");
}

Test(validate, unknown_option_with_unprintable_bytes_is_escaped)
{
	struct tally_result r = good();
	strcpy(r.votes[1].option_id, "n\no\"");
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	       "option \"n\\x0ao\\x22\" is not an option of election \"kz-2026\"");
}

Test(validate, missing_option)
{
	struct tally_result r = good();
	r.n_votes = 1;
	r.ballots_not_counted = 180;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	       "option \"no\" is missing (report every option, 0 if it got no votes)");
}

Test(validate, duplicated_option)
{
	struct tally_result r = good();
	r.n_votes = 3;
	strcpy(r.votes[2].option_id, "yes");
	r.votes[2].count = 0;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "options", "option \"yes\" appears more than once");
}

Test(validate, received_is_issued_plus_cancelled)
{
	struct tally_result r = good();
	r.ballots_received = 1200;
	r.ballots_issued = 1100;
	r.ballots_cancelled = 90;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "received = issued + cancelled",
	       "ballots_received (1200) != ballots_issued (1100) + ballots_cancelled (90) = 1190");
}

Test(validate, cast_at_most_issued)
{
	struct tally_result r = good();
	r.ballots_cast = 1401;
	r.ballots_not_counted = 16;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "cast <= issued",
	       "ballots_cast (1401) > ballots_issued (1400)");
}

Test(validate, issued_at_most_registered)
{
	struct tally_result r = good();
	r.voters_registered = 1399;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "issued <= voters_registered",
	       "ballots_issued (1400) > voters_registered (1399)");
}

Test(validate, cast_is_invalid_plus_not_counted_plus_votes)
{
	struct tally_result r = good();
	r.votes[0].count = 1199;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "cast = invalid + not_counted + sum(votes)",
	       "ballots_cast (1390) != ballots_invalid (10) + ballots_not_counted (5) + votes "
	       "(1374) = 1389");
}

Test(validate, received_overflow_does_not_wrap)
{
	/* 2^32 - 1 + 1 wraps to 0 in 32 bits; received 0 must not match. */
	struct tally_result r = good();
	r.ballots_received = 0;
	r.ballots_issued = UINT32_MAX;
	r.ballots_cancelled = 1;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "received = issued + cancelled",
	       "ballots_received (0) != ballots_issued (4294967295) + ballots_cancelled (1) = "
	       "4294967296");
}

Test(validate, vote_sum_overflow_does_not_wrap)
{
	/* 1390 + 2^32 wraps to 1390 in 32 bits and would pass. */
	struct tally_result r = good();
	r.votes[0].count = 1200;
	r.votes[1].count = 175;
	r.ballots_invalid = 10 + 0x80000000u;
	r.ballots_not_counted = 5 + 0x80000000u;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "cast = invalid + not_counted + sum(votes)",
	       "ballots_cast (1390) != ballots_invalid (2147483658) + ballots_not_counted "
	       "(2147483653) + votes (1375) = 4294968686");

	r = good();
	r.votes[0].count = 0xffffffffu;
	r.votes[1].count = 1376; /* 2^32 - 1 + 1376 = 1375 (mod 2^32) */
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "cast = invalid + not_counted + sum(votes)",
	       "ballots_cast (1390) != ballots_invalid (10) + ballots_not_counted (5) + votes "
	       "(4294968671) = 4294968686");
}

Test(validate, checks_run_in_the_documented_order)
{
	/* Everything wrong at once: the election is reported first. */
	struct tally_result r = good();
	strcpy(r.election_id, "x");
	r.precinct_id = 1;
	r.revision = 0;
	r.ballots_received = 0;
	expect(&r, TALLY_REJECT_WRONG_ELECTION, "election",
	       "election_id \"x\" is not this election (\"kz-2026\")");
	strcpy(r.election_id, "kz-2026");
	expect(&r, TALLY_REJECT_UNKNOWN_PRECINCT, "precinct",
	       "precinct_id 1 is not a precinct of election \"kz-2026\"");
	r.precinct_id = 12;
	expect(&r, TALLY_REJECT_WRONG_REGION, "region",
	       "precinct 12 belongs to region \"KZ-10\", not \"KZ-71\"");
	strcpy(r.region_id, "KZ-10");
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "revision",
	       "revision is 0; the first count is revision 1");
	r.revision = 1;
	strcpy(r.votes[0].option_id, "nope");
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	       "option \"nope\" is not an option of election \"kz-2026\"");
	strcpy(r.votes[0].option_id, "yes");
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "received = issued + cancelled",
	       "ballots_received (0) != ballots_issued (1400) + ballots_cancelled (100) = 1500");
	r.ballots_received = 1500;
	r.ballots_cast = 1500;
	expect(&r, TALLY_REJECT_FAILED_CONTROL, "cast <= issued",
	       "ballots_cast (1500) > ballots_issued (1400)");
}

Test(validate, controls_skip_the_identity_checks)
{
	struct tally_result r = good();
	struct tally_verdict v;

	strcpy(r.election_id, "other");
	strcpy(r.region_id, "KZ-10");
	r.precinct_id = 99999;
	cr_assert_eq(tally_validate_controls(election, &r, &v), 0, "%s", v.reason);
	cr_assert_eq(v.code, TALLY_REJECT_NONE);
	r.ballots_issued = 1401;
	cr_assert_eq(tally_validate_controls(election, &r, &v), -EINVAL);
	cr_assert_eq(v.code, TALLY_REJECT_FAILED_CONTROL);
	cr_assert_str_eq(v.relation, "received = issued + cancelled");
	cr_assert_str_eq(v.reason, "ballots_received (1500) != ballots_issued (1401) + "
	                           "ballots_cancelled (100) = 1501");
}

/* ---- several contests ---- */

/*
 * Precincts 4711 (KZ-71), 12 (KZ-10) and 13 (KZ-10). The party list is
 * national; district D-12 (precinct 12 only) elects one candidate.
 */
static const char general[] =
    "{\"election_id\": \"kz-2027\", \"title\": \"General\","
    " \"regions\": ["
    "  {\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": [[4711, 2000]]},"
    "  {\"id\": \"KZ-10\", \"name\": \"Abai\", \"precincts\": [[12, 900], [13, 800]]}],"
    " \"districts\": [{\"id\": \"D-12\", \"precincts\": [12]}],"
    " \"contests\": ["
    "  {\"id\": \"list\", \"kind\": \"party_list\", \"seats\": 10, \"rules\": {\"method\": "
    "\"hare\"},"
    "   \"options\": [{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"against-all\", "
    "\"against_all\": true}]},"
    "  {\"id\": \"d-12\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D-12\"},"
    "   \"options\": [{\"id\": \"c-1\"}, {\"id\": \"c-2\"}]}]}";

static struct tally_election *general_election;

static void general_setup(void)
{
	struct tally_err err = {{0}};
	cr_assert_eq(tally_election_parse(general, strlen(general), &general_election, &err), 0,
	             "%s", err.msg);
}

static void general_teardown(void)
{
	general_election = tally_election_free(general_election);
}

TestSuite(validate_contests, .init = general_setup, .fini = general_teardown);

/* good() for contest "list" at precinct 12: 1390 = 10 + 5 + 1000 + 300 + 75. */
static struct tally_result good_list(void)
{
	struct tally_result r = good();

	strcpy(r.election_id, "kz-2027");
	strcpy(r.contest_id, "list");
	strcpy(r.region_id, "KZ-10");
	r.precinct_id = 12;
	r.voters_registered = 2000;
	r.n_votes = 3;
	r.votes[0] = (struct tally_option_votes){.option_id = "a", .count = 1000};
	r.votes[1] = (struct tally_option_votes){.option_id = "against-all", .count = 75};
	r.votes[2] = (struct tally_option_votes){.option_id = "b", .count = 300};
	return r;
}

/* The same figures for contest "d-12": 1390 = 10 + 5 + 1200 + 175. */
static struct tally_result good_district(void)
{
	struct tally_result r = good_list();

	strcpy(r.contest_id, "d-12");
	r.n_votes = 2;
	r.votes[0] = (struct tally_option_votes){.option_id = "c-2", .count = 175};
	r.votes[1] = (struct tally_option_votes){.option_id = "c-1", .count = 1200};
	return r;
}

static void expect_in(const struct tally_result *r, enum tally_reject_code code,
                      const char *relation, const char *reason)
{
	struct tally_verdict v;

	memset(&v, 0x5a, sizeof(v));
	cr_assert_eq(tally_validate_result(general_election, r, &v), -EINVAL, "passed: %s",
	             relation);
	cr_assert_eq(v.code, code, "%s: code %d", relation, v.code);
	cr_assert_str_eq(v.relation, relation);
	cr_assert_str_eq(v.reason, reason);
}

Test(validate_contests, a_result_of_each_contest_passes)
{
	struct tally_result a = good_list(), b = good_district();
	struct tally_verdict v;

	cr_assert_eq(tally_validate_result(general_election, &a, &v), 0, "%s", v.reason);
	cr_assert_eq(tally_validate_result(general_election, &b, &v), 0, "%s", v.reason);
	cr_assert_eq(v.code, TALLY_REJECT_NONE);
	/* The national list at the other region's precinct too. */
	strcpy(a.region_id, "KZ-71");
	a.precinct_id = 4711;
	cr_assert_eq(tally_validate_result(general_election, &a, &v), 0, "%s", v.reason);
}

Test(validate_contests, unknown_or_missing_contest)
{
	struct tally_result r = good_list();

	strcpy(r.contest_id, "president");
	expect_in(&r, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
	          "contest_id \"president\" is not a contest of election \"kz-2027\"");
	strcpy(r.contest_id, "l\tist");
	expect_in(&r, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
	          "contest_id \"l\\x09ist\" is not a contest of election \"kz-2027\"");
	/* Several contests: the result must say which. */
	r.contest_id[0] = '\0';
	expect_in(&r, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
	          "contest_id is empty, but election \"kz-2027\" has 2 contests: name one");
}

Test(validate_contests, precinct_outside_the_contest)
{
	struct tally_result r = good_district();

	r.precinct_id = 13;
	expect_in(&r, TALLY_REJECT_NOT_IN_CONTEST, "precinct in contest",
	          "precinct 13 does not vote in contest \"d-12\"");
	strcpy(r.region_id, "KZ-71");
	r.precinct_id = 4711;
	expect_in(&r, TALLY_REJECT_NOT_IN_CONTEST, "precinct in contest",
	          "precinct 4711 does not vote in contest \"d-12\"");
}

Test(validate_contests, options_are_the_contests_own)
{
	struct tally_result r = good_district();

	/* An option of another contest of the same election. */
	strcpy(r.votes[0].option_id, "a");
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	          "option \"a\" is not an option of contest \"d-12\"");
	r = good_district();
	r.n_votes = 1;
	r.ballots_not_counted += 175;
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	          "option \"c-1\" of contest \"d-12\" is missing (report every option, 0 if it got "
	          "no votes)");
	r = good_list();
	r.n_votes = 4;
	r.votes[3] = (struct tally_option_votes){.option_id = "a", .count = 0};
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	          "option \"a\" appears more than once");
	/* Against-all is an option like any other: it must be reported. */
	r = good_list();
	r.votes[1] = r.votes[2];
	r.n_votes = 2;
	r.ballots_not_counted += 75;
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	          "option \"against-all\" of contest \"list\" is missing (report every option, 0 "
	          "if it got no votes)");
}

Test(validate_contests, checks_run_in_the_documented_order)
{
	/* Everything wrong at once, then fixed one relation at a time. */
	struct tally_result r = good_district();

	strcpy(r.election_id, "x");
	strcpy(r.contest_id, "nope");
	r.precinct_id = 99;
	strcpy(r.region_id, "KZ-71");
	r.revision = 0;
	strcpy(r.votes[0].option_id, "zz");
	expect_in(&r, TALLY_REJECT_WRONG_ELECTION, "election",
	          "election_id \"x\" is not this election (\"kz-2027\")");
	strcpy(r.election_id, "kz-2027");
	expect_in(&r, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
	          "contest_id \"nope\" is not a contest of election \"kz-2027\"");
	strcpy(r.contest_id, "d-12");
	expect_in(&r, TALLY_REJECT_UNKNOWN_PRECINCT, "precinct",
	          "precinct_id 99 is not a precinct of election \"kz-2027\"");
	r.precinct_id = 13;
	expect_in(&r, TALLY_REJECT_WRONG_REGION, "region",
	          "precinct 13 belongs to region \"KZ-10\", not \"KZ-71\"");
	strcpy(r.region_id, "KZ-10");
	expect_in(&r, TALLY_REJECT_NOT_IN_CONTEST, "precinct in contest",
	          "precinct 13 does not vote in contest \"d-12\"");
	r.precinct_id = 12;
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "revision",
	          "revision is 0; the first count is revision 1");
	r.revision = 1;
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "options",
	          "option \"zz\" is not an option of contest \"d-12\"");
	strcpy(r.votes[0].option_id, "c-2");
	r.ballots_cast = 1391;
	expect_in(&r, TALLY_REJECT_FAILED_CONTROL, "cast = invalid + not_counted + sum(votes)",
	          "ballots_cast (1391) != ballots_invalid (10) + ballots_not_counted (5) + votes "
	          "(1375) = 1390");
}

Test(validate_contests, controls_check_the_options_of_the_results_contest)
{
	struct tally_result r = good_district();
	struct tally_verdict v;

	/* The identity is intake's; the contest and its options are checked here. */
	strcpy(r.election_id, "other");
	r.precinct_id = 13;
	cr_assert_eq(tally_validate_controls(general_election, &r, &v), 0, "%s", v.reason);
	strcpy(r.votes[0].option_id, "b");
	cr_assert_eq(tally_validate_controls(general_election, &r, &v), -EINVAL);
	cr_assert_eq(v.code, TALLY_REJECT_FAILED_CONTROL);
	cr_assert_str_eq(v.relation, "options");
	cr_assert_str_eq(v.reason, "option \"b\" is not an option of contest \"d-12\"");
	strcpy(r.contest_id, "gone");
	cr_assert_eq(tally_validate_controls(general_election, &r, &v), -EINVAL);
	cr_assert_eq(v.code, TALLY_REJECT_UNKNOWN_CONTEST);
	cr_assert_str_eq(v.relation, "contest");
	cr_assert_str_eq(v.reason, "contest_id \"gone\" is not a contest of election \"kz-2027\"");
}

/* The legacy election: its one contest may be named or left out. */
Test(validate, legacy_results_may_name_the_referendum)
{
	struct tally_result r = good();
	struct tally_verdict v;

	strcpy(r.contest_id, "referendum");
	cr_assert_eq(tally_validate_result(election, &r, &v), 0, "%s", v.reason);
	strcpy(r.contest_id, "president");
	expect(&r, TALLY_REJECT_UNKNOWN_CONTEST, "contest",
	       "contest_id \"president\" is not a contest of election \"kz-2026\"");
	cr_assert_eq(tally_validate_controls(election, &r, &v), -EINVAL);
	cr_assert_eq(v.code, TALLY_REJECT_UNKNOWN_CONTEST);
}
