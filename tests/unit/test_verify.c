/*
 * test_verify.c: the observer's check (audit.c through bundle.c, and the
 * `tallyctl verify` command) on bundles made by bundle_fixture.h: an honest
 * bundle passes with no discrepancy, and each defect is caught and named:
 * which leaf, which precinct, which figure, which key; and the replay names
 * each precinct's counted leaf (what `tallyctl prove --counted` reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <criterion/criterion.h>

#include "bundle_fixture.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "tally/keyring.h"

static int feed_head(void *arg, json_t *v)
{
	return audit_set_head(arg, v);
}
static int feed_key(void *arg, json_t *v)
{
	return audit_set_log_key(arg, v);
}
static int feed_totals(void *arg, json_t *v)
{
	return audit_set_totals(arg, v);
}
static int feed_entry(void *arg, json_t *v)
{
	return audit_add_entry(arg, v);
}

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
	sink = (struct bundle_sink){feed_head, feed_key, feed_totals, feed_entry, a};
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
