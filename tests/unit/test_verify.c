/*
 * test_verify.c: the observer's check (audit.c through bundle.c, and the
 * `tallyctl verify` command) on bundles made by bundle_fixture.h: an honest
 * bundle passes with no discrepancy, and each defect is caught and named:
 * which leaf, which precinct, which figure, which key; and the replay names
 * each precinct's counted leaf (what `tallyctl prove --counted` reads).
 * General elections too: every contest's figures, decisions and seats, and
 * `tallyctl prove --counted --contest` against a canned publication port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bundle_fixture.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "tally/keyring.h"

/* Runs the audit over f's bundle; the caller frees the result. */
static struct audit *run(struct fx *f, const char *pin_path, int threads)
{
	struct tally_keyring *kr = NULL;
	struct tally_err err = {{0}};
	struct tally_public_key pin;
	struct bundle_sink sink;
	struct audit *a;

	cr_assert_eq(tally_keyring_load(f->keys, &kr, &err), 0, "%s", err.msg);
	cr_assert_eq(audit_new(f->e, kr, &a), 0);
	if (pin_path != NULL) {
		cr_assert_eq(tally_sign_load_public(pin_path, &pin, &err), 0, "%s", err.msg);
		audit_pin_log_key(a, &pin);
	}
	audit_bundle_sink(a, &sink);
	cr_assert_eq(bundle_read(f->bundle, &sink, &err), 0, "%s", err.msg);
	cr_assert_eq(audit_run(a, threads), 0);
	/* The keyring is borrowed only until audit_run returns. */
	tally_keyring_free(kr);
	return a;
}

static void dump(const struct audit *a)
{
	for (size_t i = 0; i < audit_count(a); i++)
		fprintf(stderr, "  %s\n", audit_at(a, i));
}

/* Asserts that some discrepancy contains every one of the strings. */
static void expect(const struct audit *a, const char *s1, const char *s2)
{
	for (size_t i = 0; i < audit_count(a); i++) {
		const char *m = audit_at(a, i);

		if (strstr(m, s1) != NULL && (s2 == NULL || strstr(m, s2) != NULL))
			return;
	}
	dump(a);
	cr_assert_fail("no discrepancy mentions '%s'%s%s", s1, s2 ? " and " : "", s2 ? s2 : "");
}

Test(verify, honest_bundle_passes)
{
	struct fx f;
	struct fx_opts o = {0};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, f.log_pub, 2);
	if (audit_count(a) != 0)
		dump(a);
	cr_assert_eq(audit_count(a), 0);
	cr_assert(audit_head_ok(a));
	cr_assert_eq(audit_tree_size(a), 26); /* 25 results + 1 conflict */
	cr_assert_eq(audit_leaves(a), 26);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, honest_bundle_with_corrections_passes_on_one_and_three_threads)
{
	struct fx f;
	struct fx_opts o = {.precincts = 8, .leaves = 50};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 1);
	cr_assert_eq(audit_count(a), 0);
	audit_free(a);
	a = run(&f, NULL, 3);
	cr_assert_eq(audit_count(a), 0);
	cr_assert_eq(audit_tree_size(a), 51);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, changed_total_is_named_with_both_values)
{
	struct fx f;
	struct fx_opts o = {.change_total = true};
	struct audit *a;
	char want[96];

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	/* Exactly that figure, and nothing else is wrong. */
	cr_assert_eq(audit_count(a), 1);
	expect(a, "totals national.ballots_cast: published", "recomputed from the log");
	{
		/* published = recomputed + 1 */
		json_t *b = json_load_file(f.bundle, 0, NULL);
		json_int_t pub = json_integer_value(json_object_get(
		    json_object_get(json_object_get(b, "totals"), "national"), "ballots_cast"));
		snprintf(want, sizeof(want), "published %lld, recomputed from the log %lld",
		         (long long)pub, (long long)pub - 1);
		json_decref(b);
	}
	expect(a, want, NULL);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, dropped_entry_is_named)
{
	struct fx f;
	/* Precinct 4's last revision, so its figures go missing too. */
	struct fx_opts o = {.drop_leaf = true, .target = 23};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	expect(a, "leaf 23 is missing from the entries", NULL);
	expect(a, "the entries hold 25 leaves, the head's tree has 26", NULL);
	expect(a, "Merkle root: head says", NULL);
	/* Its precinct's figures are missing from the replay. */
	expect(a, "totals national.ballots_cast", NULL);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, altered_leaf_is_named_by_leaf_and_precinct)
{
	struct fx f;
	struct fx_opts o = {.alter_leaf = true, .target = 22};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	expect(a, "leaf 22 (precinct 3, region 'R1', revision 3)", "signature does not verify");
	expect(a, "Merkle root: head says", NULL);
	expect(a, "totals regions[R1].votes.yes", NULL);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, forged_head_signature_is_caught)
{
	struct fx f;
	struct fx_opts o = {.forge_sig = true};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	cr_assert_not(audit_head_ok(a));
	expect(a, "tree head signature does not verify with log key", "forged or damaged");
	cr_assert_eq(audit_count(a), 1);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, head_from_another_key_is_caught)
{
	struct fx f;
	struct fx_opts o = {.other_key_head = true};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	cr_assert_not(audit_head_ok(a));
	expect(a, "tree head names signing key", "but the log key is");
	expect(a, "tree head signature does not verify", NULL);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, wholly_substituted_log_key_is_caught_by_the_pinned_key)
{
	struct fx f;
	struct fx_opts o = {.other_key_all = true};
	struct audit *a;

	fx_make(&f, &o);
	/* Unpinned, the bundle is self-consistent... */
	a = run(&f, NULL, 2);
	cr_assert_eq(audit_count(a), 0);
	audit_free(a);
	/* ...but not signed by the key the observer was given. */
	a = run(&f, f.log_pub, 2);
	expect(a, "is not the pinned log key", NULL);
	expect(a, "tree head signature does not verify", NULL);
	cr_assert_not(audit_head_ok(a));
	audit_free(a);
	fx_clean(&f);
}

Test(verify, totals_hash_in_head_is_checked)
{
	struct fx f;
	struct fx_opts o = {.bad_totals_hash = true};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	expect(a, "tree head's totals_hash", "does not match the totals replayed");
	cr_assert_eq(audit_count(a), 1);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, leaf_signed_by_another_regions_key_is_caught)
{
	struct fx f;
	struct fx_opts o = {.wrong_region_key = true, .target = 2};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	expect(a, "leaf 2 (precinct 3, region 'R1', revision 1)", "of region 'R2', not of 'R1'");
	audit_free(a);
	fx_clean(&f);
}

Test(verify, failed_control_relation_is_named)
{
	struct fx f;
	struct fx_opts o = {.failed_control = true, .target = 4};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	expect(a, "leaf 4 (precinct 5", "cast = invalid + not_counted + sum(votes)");
	audit_free(a);
	fx_clean(&f);
}

Test(verify, stale_result_in_the_log_is_caught)
{
	struct fx f;
	struct fx_opts o = {.precincts = 6, .leaves = 20, .stale_leaf = true};
	struct audit *a;

	fx_make(&f, &o);
	a = run(&f, NULL, 2);
	expect(a, "leaf 21 (precinct 1, region 'R1', revision 1)", "it is stale");
	audit_free(a);
	fx_clean(&f);
}

/*
 * The replay that checked the totals also says which leaf counts: for
 * precinct 1, revision 3 at leaf 20 (leaf 25 is a conflicting copy of it,
 * never counted); for precinct 6, revision 2 at leaf 15.
 */
Test(verify, the_replay_names_each_precincts_counted_leaf)
{
	struct tally_signed_result s = {0};
	struct audit_counted c;
	struct tally_result r;
	struct fx f;
	struct fx_opts o = {0};
	struct audit *a;
	const uint8_t *leaf;
	size_t len;

	fx_make(&f, &o);
	cr_assert_eq(audit_new(f.e, NULL, &a), 0);
	cr_assert_eq(audit_counted(a, 1, NULL, &c), -EAGAIN, "nothing is counted before the run");
	audit_free(a);

	a = run(&f, f.log_pub, 2);
	cr_assert_eq(audit_count(a), 0);
	cr_assert_eq(audit_counted(a, 1, NULL, &c), 0);
	cr_assert_eq(c.leaf_index, 20);
	cr_assert_eq(c.revision, 3);
	cr_assert_eq(c.conflicts, 1);
	cr_assert_eq(audit_counted(a, 6, NULL, &c), 0);
	cr_assert_eq(c.leaf_index, 15);
	cr_assert_eq(c.revision, 2);
	cr_assert_eq(c.conflicts, 0);
	cr_assert_eq(audit_counted(a, 11, NULL, &c), -ENOENT);

	cr_assert_eq(audit_leaf(a, 20, &leaf, &len), 0);
	cr_assert_eq(tally_codec_decode_signed(leaf, len, &s), 0);
	cr_assert_eq(tally_codec_decode_result(s.payload, s.payload_len, &r), 0);
	cr_assert_eq(r.precinct_id, 1);
	cr_assert_eq(r.revision, 3);
	tally_signed_result_clear(&s);
	cr_assert_eq(audit_leaf(a, 26, &leaf, &len), -ERANGE);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, garbage_is_a_bundle_error_not_a_pass)
{
	struct fx f;
	struct fx_opts o = {0};
	struct tally_err err = {{0}};
	struct bundle_sink sink = {0};

	fx_make(&f, &o);
	fx_write(f.bundle, "{\"tree_head\": {}, \"entries\": [{\"leaf_index\": 0} 7]}");
	cr_assert_eq(bundle_read(f.bundle, &sink, &err), -EBADMSG);
	cr_assert_not_null(strstr(err.msg, "expected ',' or ']'"), "%s", err.msg);
	fx_clean(&f);
}

/* Reads text as a bundle with no sink and expects -EBADMSG naming why. */
static void expect_bundle_error(const char *text, const char *why)
{
	struct fx f;
	struct fx_opts o = {0};
	struct tally_err err = {{0}};
	struct bundle_sink sink = {0};

	fx_make(&f, &o);
	fx_write(f.bundle, text);
	cr_assert_eq(bundle_read(f.bundle, &sink, &err), -EBADMSG, "%s accepted", text);
	cr_assert_not_null(strstr(err.msg, why), "%s: %s", text, err.msg);
	fx_clean(&f);
}

Test(verify, malformed_bundle_json_is_refused_by_name)
{
	expect_bundle_error("{\"tree_head\": {}, \"entries\": [],}",
	                    "a ',' before '}' (JSON has no trailing commas) at byte 32");
	expect_bundle_error("{\"entries\": [{\"leaf_index\": 0},]}",
	                    "a ',' before ']' in \"entries\"");
	expect_bundle_error("{\"tree_head\": {}, \"tree_head\": {}}",
	                    "member \"tree_head\" appears twice (at byte 29)");
	expect_bundle_error("{\"entries\": [], \"entries\": []}",
	                    "member \"entries\" appears twice");
	expect_bundle_error("{} {}", "data after the bundle at byte 3");
	expect_bundle_error("[]", "expected '{' at byte 0");
}

Test(verify, command_exit_status_and_state_file)
{
	struct fx f, g;
	struct fx_opts o = {.precincts = 8, .leaves = 12};
	char state[160];

	fx_make(&f, &o);
	snprintf(state, sizeof(state), "%s/state.json", f.dir);
	{
		char *argv[] = {"verify", "--election", f.election, "--trusted-keys",
		                f.keys,   "--bundle",   f.bundle,   "--state",
		                state,    "--log-key",  f.log_pub,  NULL};
		cr_assert_eq(cmd_verify(11, argv), 0);
		/* The verified head is remembered... */
		json_t *s = json_load_file(state, 0, NULL);
		cr_assert_not_null(s);
		cr_assert_eq(json_integer_value(json_object_get(s, "tree_size")), 13);
		json_decref(s);
		/* ...and the same bundle still passes against it. */
		cr_assert_eq(cmd_verify(11, argv), 0);
	}
	/* A different log (other keys, other history) fails against that state. */
	fx_make(&g, &o);
	{
		char *argv[] = {"verify", "--election", g.election, "--trusted-keys",
		                g.keys,   "--bundle",   g.bundle,   "--state",
		                state,    NULL};
		cr_assert_eq(cmd_verify(9, argv), 1);
	}
	{
		char *argv[] = {"verify", "--election", f.election, "--trusted-keys", f.keys, NULL};
		cr_assert_eq(cmd_verify(5, argv), 2);
	}
	fx_clean(&g);
	fx_clean(&f);
}

/*
 * The speed budget, on demand: TALLY_VERIFY_BENCH=<leaves> runs the audit
 * over a bundle of that many leaves and prints the time.
 */
Test(verify, bench_large_bundle, .timeout = 3600)
{
	const char *env = getenv("TALLY_VERIFY_BENCH");
	struct fx f;
	struct fx_opts o = {0};
	struct timespec t0, t1;
	struct rusage r0, r1;
	struct audit *a;

	if (env == NULL)
		cr_skip_test("set TALLY_VERIFY_BENCH=<leaves> to run");
	o.leaves = strtoull(env, NULL, 10);
	o.precincts = 10388;
	fx_make(&f, &o);
	getrusage(RUSAGE_SELF, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	a = run(&f, f.log_pub, 2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	cr_assert_eq(audit_count(a), 0);
	/* CPU time too: on a shared machine the wall clock says little. */
	fprintf(stderr, "verify: %llu leaves in %.2f s wall, %.2f s CPU\n",
	        (unsigned long long)o.leaves + 1,
	        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	        (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
	                 r0.ru_stime.tv_sec) +
	            (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
	                     r0.ru_stime.tv_usec) /
	                1e6);
	audit_free(a);
	fx_clean(&f);
}

/* ---- general elections ------------------------------------------------ */

/* Asserts the discrepancies are exactly `want`, in order. */
static void expect_exactly(const struct audit *a, const char *const *want, size_t n)
{
	if (audit_count(a) != n)
		dump(a);
	cr_assert_eq(audit_count(a), n, "%zu discrepancies, want %zu", audit_count(a), n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(audit_at(a, i), want[i]);
}

static struct audit *run_general(struct fx *f, const struct fx_general_opts *o)
{
	fx_make_general(f, o);
	return run(f, f->log_pub, 2);
}

/* Runs `tallyctl verify` with argv, its standard output into buf. */
static int verify_command(int argc, char **argv, const char *out, char *buf, size_t cap)
{
	FILE *saved = stdout, *f;
	size_t n;
	int rc;

	fflush(stdout);
	cr_assert_not_null(stdout = fopen(out, "w"));
	rc = cmd_verify(argc, argv);
	fclose(stdout);
	stdout = saved;
	cr_assert_not_null(f = fopen(out, "r"));
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return rc;
}

/* `tallyctl verify` over a general bundle: 0 and OK when honest, 1 with the line when not. */
Test(verify, general_election_command_says_what_it_checked)
{
	struct fx f;
	struct fx_general_opts o = {0};
	char out[160], buf[4096];

	fx_make_general(&f, &o);
	snprintf(out, sizeof(out), "%s/out.txt", f.dir);
	{
		char *argv[] = {"verify",   "--election", f.election,  "--trusted-keys", f.keys,
		                "--bundle", f.bundle,     "--log-key", f.log_pub,        NULL};
		cr_assert_eq(verify_command(9, argv, out, buf, sizeof(buf)), 0, "%s", buf);
	}
	cr_assert_not_null(strstr(buf, "OK: election 'general-2024', tree size 23, root "), "%s",
	                   buf);
	cr_assert_not_null(strstr(buf,
	                          "\n    every contest's decision, recomputed over the replay, "
	                          "matches the published one;\n"
	                          "    each party list's seats match the verifier's own "
	                          "allocation\n"),
	                   "%s", buf);
	fx_clean(&f);
	o.wrong_elected = true;
	fx_make_general(&f, &o);
	snprintf(out, sizeof(out), "%s/out.txt", f.dir);
	{
		char *argv[] = {"verify", "--election", f.election, "--trusted-keys",
		                f.keys,   "--bundle",   f.bundle,   NULL};
		cr_assert_eq(verify_command(7, argv, out, buf, sizeof(buf)), 1);
	}
	cr_assert_str_eq(buf, "DISCREPANCY: contest smd-1: elected: published 'c1-b', recomputed "
	                      "'c1-a'\n"
	                      "FAILED: 1 discrepancy in the record of election 'general-2024' "
	                      "(tree size 23, 23 entries)\n");
	fx_clean(&f);
}

/* The published decision of a contest in f's bundle, as a status string. */
static char *published_status(struct fx *f, const char *contest)
{
	json_t *b = json_load_file(f->bundle, 0, NULL), *v;
	size_t i;
	char *s = NULL;

	cr_assert_not_null(b);
	json_array_foreach(json_object_get(json_object_get(b, "totals"), "contests"), i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "id")), contest) == 0)
			s = strdup(json_string_value(
			    json_object_get(json_object_get(v, "decision"), "status")));
	}
	json_decref(b);
	cr_assert_not_null(s, "no decision of %s in the bundle", contest);
	return s;
}

Test(verify, general_election_honest_bundle_passes)
{
	struct fx f;
	struct fx_general_opts o = {0};
	struct audit *a = run_general(&f, &o);
	char *st;

	expect_exactly(a, NULL, 0);
	cr_assert(audit_head_ok(a));
	cr_assert_eq(audit_tree_size(a), 23);
	st = published_status(&f, "party-list");
	cr_assert_str_eq(st, "final");
	free(st);
	audit_free(a);
	fx_clean(&f);

	/* Precinct 10 never reports: the party list's seats are provisional,
	 * the referendum undetermined, and they still check. */
	o.skip_precinct = 10;
	a = run_general(&f, &o);
	expect_exactly(a, NULL, 0);
	cr_assert_eq(audit_tree_size(a), 21);
	st = published_status(&f, "party-list");
	cr_assert_str_eq(st, "provisional");
	free(st);
	st = published_status(&f, "referendum");
	cr_assert_str_eq(st, "undetermined");
	free(st);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, general_election_figure_off_by_one_is_named_by_contest)
{
	static const char *const want[] = {
	    "contest party-list: totals national.votes.amanat: published 3157, recomputed from "
	    "the log 3156"};
	struct fx f;
	struct fx_general_opts o = {.off_by_one = true};
	struct audit *a = run_general(&f, &o);

	expect_exactly(a, want, 1);
	audit_free(a);
	fx_clean(&f);
}

/*
 * Hare over the valid votes 3156, 1581 and 942 (against all, 626, does
 * not pass) for 10 seats: quotas 5.56, 2.78, 1.66, so 5, 2, 1 and the two
 * largest remainders to auyl and respublica: 5, 3, 2.
 */
Test(verify, general_election_wrong_seats_are_named_once)
{
	static const char *const want[] = {
	    "contest party-list: seats of 'amanat': published 6, recomputed 5"};
	struct fx f;
	struct fx_general_opts o = {.wrong_seats = true};
	struct audit *a = run_general(&f, &o);

	expect_exactly(a, want, 1);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, general_election_wrong_elected_candidate_is_named)
{
	static const char *const want[] = {"contest smd-1: elected: published 'c1-b', recomputed "
	                                   "'c1-a'"};
	struct fx f;
	struct fx_general_opts o = {.wrong_elected = true};
	struct audit *a = run_general(&f, &o);

	expect_exactly(a, want, 1);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, general_election_leaf_for_a_precinct_not_in_its_contest_is_named)
{
	static const char *const want[] = {
	    "leaf 23 (precinct 8, region 'R2', contest 'smd-1', revision 1): fails precinct in "
	    "contest (NOT_IN_CONTEST): precinct 8 does not vote in contest \"smd-1\""};
	struct fx f;
	struct fx_general_opts o = {.not_in_contest = true};
	struct audit *a = run_general(&f, &o);

	expect_exactly(a, want, 1);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, general_election_every_lie_at_once_in_check_order)
{
	static const char *const want[] = {
	    "leaf 23 (precinct 8, region 'R2', contest 'smd-1', revision 1): fails precinct in "
	    "contest (NOT_IN_CONTEST): precinct 8 does not vote in contest \"smd-1\"",
	    "contest party-list: totals national.votes.amanat: published 3157, recomputed from "
	    "the log 3156",
	    "contest party-list: seats of 'amanat': published 6, recomputed 5",
	    "contest smd-1: elected: published 'c1-b', recomputed 'c1-a'"};
	struct fx f;
	struct fx_general_opts o = {
	    .off_by_one = true, .wrong_seats = true, .wrong_elected = true, .not_in_contest = true};
	struct audit *a = run_general(&f, &o);

	expect_exactly(a, want, 4);
	audit_free(a);
	fx_clean(&f);
}

Test(verify, general_election_head_commits_to_the_v2_digest)
{
	struct fx f;
	struct fx_general_opts o = {.bad_totals_hash = true};
	struct audit *a = run_general(&f, &o);

	cr_assert_eq(audit_count(a), 1);
	expect(a, "tree head's totals_hash", "does not match the totals replayed from the log");
	audit_free(a);
	fx_clean(&f);
}

/* A definition with "contests" of one contest publishes today's document, decision included. */
Test(verify, election_of_one_contest_checks_its_decision_in_the_document)
{
	static const char *const want[] = {
	    "contest party-list: seats of 'amanat': published 6, recomputed 5"};
	struct fx f;
	struct fx_general_opts o = {.single_contest = true};
	struct audit *a = run_general(&f, &o);

	expect_exactly(a, NULL, 0);
	cr_assert_eq(audit_tree_size(a), 11);
	audit_free(a);
	fx_clean(&f);
	o.wrong_seats = true;
	a = run_general(&f, &o);
	expect_exactly(a, want, 1);
	audit_free(a);
	fx_clean(&f);
}

/* Leaves 0..22: precinct 1's party list and smd-1 are leaves 0 and 1,
 * precinct 2's leaves 2 and 3 (its smd-1 copy is leaf 22), precinct 3's
 * party list is leaf 4 at revision 1 and leaf 21 at revision 2. */
Test(verify, general_election_replay_counts_per_contest)
{
	struct fx f;
	struct fx_general_opts o = {0};
	struct audit_counted c;
	struct audit *a = run_general(&f, &o);

	cr_assert_eq(audit_count(a), 0);
	cr_assert_eq(audit_counted(a, 2, "smd-1", &c), 0);
	cr_assert_eq(c.leaf_index, 3);
	cr_assert_eq(c.revision, 1);
	cr_assert_eq(c.conflicts, 1);
	cr_assert_eq(audit_counted(a, 3, "party-list", &c), 0);
	cr_assert_eq(c.leaf_index, 21);
	cr_assert_eq(c.revision, 2);
	cr_assert_eq(c.conflicts, 0);
	cr_assert_eq(audit_counted(a, 8, "referendum", &c), 0);
	cr_assert_eq(c.revision, 1);
	cr_assert_eq(audit_counted(a, 8, "smd-1", &c), -ENXIO);
	cr_assert_eq(audit_counted(a, 8, NULL, &c), -EINVAL, "several contests: name one");
	cr_assert_eq(audit_counted(a, 8, "", &c), -EINVAL);
	cr_assert_eq(audit_counted(a, 8, "senate", &c), -EINVAL);
	cr_assert_eq(audit_counted(a, 11, "smd-1", &c), -ENOENT);
	audit_free(a);
	fx_clean(&f);
}

/* ---- prove --counted --contest ---------------------------------------- */

/*
 * An aggregator's publication port in a thread, serving a bundle's parts
 * (the head, /v1/log/totals, the key, entries from any start) and one
 * precinct document, each request on its own connection.
 */
struct agg_mock {
	int lfd, port;
	json_t *bundle;
	json_t *precinct; /* the /v1/precincts/{id} answer, whatever the id */
	pthread_t thread;
};

static void mock_answer(int fd, int status, json_t *doc)
{
	char *body = json_dumps(doc, JSON_COMPACT), head[160];
	size_t len = strlen(body);
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
	                 "%zu\r\nConnection: close\r\n\r\n",
	                 status, len);

	cr_assert(send(fd, head, (size_t)n, MSG_NOSIGNAL) == n);
	cr_assert(send(fd, body, len, MSG_NOSIGNAL) == (ssize_t)len);
	free(body);
}

static void *mock_serve(void *arg)
{
	struct agg_mock *m = arg;
	int fd;

	while ((fd = accept(m->lfd, NULL, NULL)) >= 0) {
		char req[2048] = "", path[512] = "";
		size_t got = 0;
		unsigned long start = 0;

		while (got < sizeof(req) - 1 && strstr(req, "\r\n\r\n") == NULL) {
			ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
		}
		sscanf(req, "GET %511s", path);
		if (strcmp(path, "/v1/log/sth") == 0) {
			mock_answer(fd, 200, json_object_get(m->bundle, "tree_head"));
		} else if (strcmp(path, "/v1/log/totals") == 0) {
			mock_answer(fd, 200, json_object_get(m->bundle, "totals"));
		} else if (strcmp(path, "/v1/log/key") == 0) {
			mock_answer(fd, 200, json_object_get(m->bundle, "log_key"));
		} else if (sscanf(path, "/v1/log/entries?start=%lu", &start) == 1) {
			json_t *all = json_object_get(m->bundle, "entries"), *page = json_array();
			for (size_t i = start; i < json_array_size(all); i++)
				json_array_append(page, json_array_get(all, i));
			json_t *doc = json_pack("{s:o}", "entries", page);
			mock_answer(fd, 200, doc);
			json_decref(doc);
		} else if (strncmp(path, "/v1/precincts/", 14) == 0) {
			mock_answer(fd, 200, m->precinct);
		} else {
			json_t *doc = json_pack("{s:s}", "error", "no such resource");
			mock_answer(fd, 404, doc);
			json_decref(doc);
		}
		close(fd);
	}
	return NULL;
}

static void mock_start(struct agg_mock *m, const char *bundle)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	memset(m, 0, sizeof(*m));
	cr_assert_not_null(m->bundle = json_load_file(bundle, 0, NULL));
	m->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(m->lfd >= 0);
	cr_assert_eq(bind(m->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(m->lfd, 16), 0);
	cr_assert_eq(getsockname(m->lfd, (struct sockaddr *)&a, &len), 0);
	m->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&m->thread, NULL, mock_serve, m), 0);
}

static void mock_stop(struct agg_mock *m)
{
	shutdown(m->lfd, SHUT_RDWR);
	close(m->lfd);
	pthread_join(m->thread, NULL);
	json_decref(m->bundle);
	json_decref(m->precinct);
}

/* `tallyctl prove --counted` against m for precinct p (contest, or none); stdout into buf. */
static int prove_counted(struct fx *f, struct agg_mock *m, const char *p, const char *contest,
                         char *buf, size_t cap)
{
	char url[64], out[160];
	char *argv[16] = {"prove",          "--url",     url,          "--precinct",
	                  (char *)p,        "--counted", "--election", f->election,
	                  "--trusted-keys", f->keys,     "--log-key",  f->log_pub};
	int argc = 12, rc;
	FILE *saved = stdout, *o;
	size_t n;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m->port);
	snprintf(out, sizeof(out), "%s/prove.txt", f->dir);
	if (contest != NULL) {
		argv[argc++] = "--contest";
		argv[argc++] = (char *)contest;
	}
	fflush(stdout);
	cr_assert_not_null(stdout = fopen(out, "w"));
	rc = cmd_prove(argc, argv);
	fclose(stdout);
	stdout = saved;
	cr_assert_not_null(o = fopen(out, "r"));
	n = fread(buf, 1, cap - 1, o);
	buf[n] = '\0';
	fclose(o);
	return rc;
}

/* The leaves as in general_election_replay_counts_per_contest. */
Test(verify, prove_counted_names_the_contests_leaf)
{
	struct fx f;
	struct fx_general_opts o = {0};
	struct agg_mock m;
	char buf[8192], want[512], root[65];
	const char *hex;

	fx_make_general(&f, &o);
	mock_start(&m, f.bundle);
	hex =
	    json_string_value(json_object_get(json_object_get(m.bundle, "tree_head"), "root_hash"));
	snprintf(root, sizeof(root), "%s", hex);

	/* The aggregator names each contest's leaf: precinct 3's party list is leaf 21. */
	m.precinct =
	    json_pack("{s:i, s:[{s:s, s:i}, {s:s, s:i}]}", "leaf_index", 21, "contests", "id",
	              "party-list", "leaf_index", 21, "id", "smd-1", "leaf_index", 5);
	cr_assert_eq(prove_counted(&f, &m, "3", "party-list", buf, sizeof(buf)), 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "COUNTED: leaf 21 (revision 2) is precinct 3's counted "
	                               "result in contest 'party-list':\n"),
	                   "%s", buf);
	cr_assert_not_null(strstr(buf, "  contest              party-list\n"), "%s", buf);
	cr_assert_eq(prove_counted(&f, &m, "3", "smd-1", buf, sizeof(buf)), 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "COUNTED: leaf 5 (revision 1) is precinct 3's counted "
	                               "result in contest 'smd-1':\n"),
	                   "%s", buf);

	/* A lie: precinct 2's conflicting copy (leaf 22) named for smd-1 (leaf 3). */
	json_decref(m.precinct);
	m.precinct = json_pack("{s:i, s:{s:{s:i}, s:{s:i}}}", "leaf_index", 2, "contests",
	                       "party-list", "leaf_index", 2, "smd-1", "leaf_index", 22);
	cr_assert_eq(prove_counted(&f, &m, "2", "smd-1", buf, sizeof(buf)), 1, "%s", buf);
	snprintf(want, sizeof(want),
	         "NOT PROVEN: the aggregator names leaf 22 (revision 1, a conflicting copy, not "
	         "counted) as precinct 2's counted result in contest 'smd-1', but replaying the "
	         "23 leaves under the signed tree head (root %s) counts leaf 3 (revision 1)\n",
	         root);
	cr_assert(strncmp(buf, want, strlen(want)) == 0, "%s\nwant\n%s", buf, want);

	/* Only a top-level leaf_index: another contest's leaf is named as such. */
	json_decref(m.precinct);
	m.precinct = json_pack("{s:i}", "leaf_index", 2);
	cr_assert_eq(prove_counted(&f, &m, "2", "smd-1", buf, sizeof(buf)), 1, "%s", buf);
	snprintf(want, sizeof(want),
	         "NOT PROVEN: the aggregator names leaf 2, which holds contest 'party-list', as "
	         "precinct 2's counted result in contest 'smd-1', but replaying the 23 leaves "
	         "under the signed tree head (root %s) counts leaf 3 (revision 1)\n",
	         root);
	cr_assert(strncmp(buf, want, strlen(want)) == 0, "%s\nwant\n%s", buf, want);

	/* Several contests: one must be named, and the precinct must vote in it. */
	cr_assert_eq(prove_counted(&f, &m, "2", NULL, buf, sizeof(buf)), 2, "%s", buf);
	cr_assert_eq(prove_counted(&f, &m, "2", "senate", buf, sizeof(buf)), 2, "%s", buf);
	cr_assert_eq(prove_counted(&f, &m, "8", "smd-1", buf, sizeof(buf)), 1, "%s", buf);
	cr_assert_str_eq(buf, "NOT PROVEN: precinct 8 does not vote in contest 'smd-1'\n");
	mock_stop(&m);
	fx_clean(&f);
}
