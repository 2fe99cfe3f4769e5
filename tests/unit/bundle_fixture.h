/*
 * bundle_fixture.h: builds observer bundles without an aggregator, in the
 * formats the aggregator publishes (TreeHead signed by a log key, SignedResult
 * leaves, the totals document), honest or with one chosen defect. Included by
 * test_verify.c; static functions only.
 *
 * The election has two regions R1 (precincts 1..P/2) and R2 (the rest),
 * options yes/no. Leaf k is precinct (k % P) + 1 at revision k / P + 1, so
 * logs longer than the election are runs of corrections, each ACCEPTED.
 * An honest bundle also carries one CONFLICT leaf at the end (precinct 1,
 * its current revision, other figures).
 *
 * fx_make_general() builds the bundle of a general election (several
 * contests, districts, a party list), described above it.
 */
#ifndef TALLY_TEST_BUNDLE_FIXTURE_H
#define TALLY_TEST_BUNDLE_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>

#include "cli/bundle.h"
#include "tally/codec.h"
#include "tally/decision.h"
#include "tally/election.h"
#include "tally/merkle.h"
#include "tally/sign.h"
#include "tally/totals.h"

struct fx_opts {
	uint32_t precincts; /* default 10 */
	uint64_t leaves;    /* default 25 */
	bool no_conflict;
	/* Defects. */
	bool drop_leaf;      /* leave entry `target` out of the entries */
	bool alter_leaf;     /* move one vote in leaf `target`, keep its signature */
	bool change_total;   /* national ballots_cast + 1 in the published totals */
	bool forge_sig;      /* flip a bit of the head's signature */
	bool other_key_head; /* head signed by another key, log key unchanged */
	bool other_key_all;  /* head and log key both another key's */
	bool bad_totals_hash;
	bool wrong_region_key; /* leaf `target` signed by the other region's key */
	bool failed_control;   /* leaf `target` has cast != invalid + not_counted + votes */
	bool stale_leaf;       /* a stale revision logged at the end */
	uint64_t target;
};

struct fx {
	char dir[64];
	char election[128];
	char keys[128];
	char bundle[128];
	char log_pub[128];
	char other_pub[128];
	struct tally_election *e;
};

static void fx_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static char *fx_b64(const uint8_t *d, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	cr_assert_not_null(s);
	sodium_bin2base64(s, len, d, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

static void fx_figures(struct tally_result *r, uint64_t k, uint32_t precinct, uint32_t revision,
                       const char *region, const char *election_id)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->election_id, sizeof(r->election_id), "%s", election_id);
	snprintf(r->region_id, sizeof(r->region_id), "%s", region);
	r->precinct_id = precinct;
	r->revision = revision;
	r->voters_registered = 1000 + precinct % 500;
	r->ballots_issued = 600 + (uint32_t)(k % 97);
	r->ballots_cancelled = 10;
	r->ballots_received = r->ballots_issued + r->ballots_cancelled;
	r->ballots_cast = r->ballots_issued - 5;
	r->ballots_invalid = 7;
	r->ballots_not_counted = 3;
	r->n_votes = 2;
	strcpy(r->votes[0].option_id, "yes");
	strcpy(r->votes[1].option_id, "no");
	r->votes[0].count = (r->ballots_cast - 10) * (precinct % 7 + 1) / 8;
	r->votes[1].count = r->ballots_cast - 10 - r->votes[0].count;
	r->recorded_at_ms = 1700000000000ull + k;
}

/* Serialized SignedResult of r, signed by k. */
static void fx_leaf(const struct tally_result *r, const struct tally_signing_key *k, uint8_t **ret,
                    size_t *ret_len)
{
	struct tally_signed_result s = {0};

	cr_assert_eq(tally_codec_encode_result(r, &s.payload, &s.payload_len), 0);
	tally_sign_sign(k, s.payload, s.payload_len, s.signature);
	s.signature_len = TALLY_SIG_BYTES;
	snprintf(s.key_id, sizeof(s.key_id), "%s", k->pub.key_id);
	cr_assert_eq(tally_codec_encode_signed(&s, ret, ret_len), 0);
	tally_signed_result_clear(&s);
}

static void fx_write_pub(const char *path, const struct tally_public_key *k)
{
	char *pem;

	cr_assert_eq(tally_sign_public_to_pem(k, &pem), 0);
	fx_write(path, pem);
	free(pem);
}

/* A fresh temp folder with its file names; the trusted/ folder made. */
static void fx_dirs(struct fx *f)
{
	cr_assert_eq(tally_sign_init(), 0);
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/tally-verify-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->election, sizeof(f->election), "%s/election.json", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/trusted", f->dir);
	snprintf(f->bundle, sizeof(f->bundle), "%s/bundle.json", f->dir);
	snprintf(f->log_pub, sizeof(f->log_pub), "%s/log.pub.pem", f->dir);
	snprintf(f->other_pub, sizeof(f->other_pub), "%s/other.pub.pem", f->dir);
	cr_assert_eq(mkdir(f->keys, 0700), 0);
}

/*
 * Signs h (its totals_hash already set) with head_key, publishes pub_key as
 * the log key, and writes the bundle: head, key, totals and the n leaves
 * (all but leaf `drop` when drop >= 0). Frees the leaves.
 */
static void fx_write_bundle(struct fx *f, struct tally_tree_head *h,
                            const struct tally_signing_key *head_key,
                            const struct tally_signing_key *pub_key, bool forge_sig, json_t *totals,
                            uint8_t **leaves, size_t *lens, uint64_t n, int64_t drop)
{
	struct bundle_writer w;
	struct bundle_sink sink;
	json_t *sth, *key;
	uint8_t *thb, sig[TALLY_SIG_BYTES];
	size_t thl;
	char hex[65], *pem;
	FILE *bf = fopen(f->bundle, "w");

	cr_assert_not_null(bf);
	cr_assert_eq(tally_codec_encode_tree_head(h, &thb, &thl), 0);
	tally_sign_sign(head_key, thb, thl, sig);
	if (forge_sig)
		sig[10] ^= 0x04;
	tally_hex(h->root_hash, TALLY_HASH_BYTES, hex);
	{
		char *tb = fx_b64(thb, thl), *sb = fx_b64(sig, sizeof(sig));

		sth = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s}", "tree_size",
		                (json_int_t)h->tree_size, "root_hash", hex, "timestamp_ms",
		                (json_int_t)h->timestamp_ms, "tree_head", tb, "signature", sb,
		                "key_id", head_key->pub.key_id);
		free(tb);
		free(sb);
	}
	free(thb);
	cr_assert_eq(tally_sign_public_to_pem(&pub_key->pub, &pem), 0);
	key = json_pack("{s:s, s:s}", "key_id", pub_key->pub.key_id, "public_key_pem", pem);
	free(pem);
	cr_assert(sth && key && totals);

	bundle_writer_init(&w, bf, &sink);
	cr_assert_eq(sink.head(sink.arg, sth), 0);
	cr_assert_eq(sink.log_key(sink.arg, key), 0);
	cr_assert_eq(sink.totals(sink.arg, totals), 0);
	for (uint64_t k = 0; k < n; k++) {
		char *b = fx_b64(leaves[k], lens[k]);
		json_t *e = json_pack("{s:I, s:s}", "leaf_index", (json_int_t)k, "leaf", b);

		if (drop < 0 || k != (uint64_t)drop)
			cr_assert_eq(sink.entry(sink.arg, e), 0);
		json_decref(e);
		free(b);
		free(leaves[k]);
	}
	cr_assert_eq(bundle_writer_finish(&w), 0);
	fclose(bf);
	json_decref(sth);
	json_decref(key);
}

static void fx_make(struct fx *f, const struct fx_opts *o_in)
{
	struct fx_opts o = *o_in;
	struct tally_signing_key region_key[2], log_key, other_key;
	const struct tally_signing_key *head_key, *pub_key;
	struct tally_err err = {{0}};
	struct tally_merkle *m;
	struct tally_totals *t;
	struct tally_tree_head h;
	json_t *totals, *precincts[2];
	char path[256];
	uint64_t n_leaves;

	if (o.precincts == 0)
		o.precincts = 10;
	if (o.leaves == 0)
		o.leaves = 25;
	fx_dirs(f);

	/* The election. */
	{
		json_t *el = json_pack("{s:s, s:s, s:[{s:s,s:s},{s:s,s:s}], s:[]}", "election_id",
		                       "fixture-2024", "title", "Fixture", "options", "id", "yes",
		                       "name", "Yes", "id", "no", "name", "No", "regions");
		for (int r = 0; r < 2; r++) {
			precincts[r] = json_array();
			json_array_append_new(json_object_get(el, "regions"),
			                      json_pack("{s:s, s:s, s:o}", "id", r ? "R2" : "R1",
			                                "name", r ? "Two" : "One", "precincts",
			                                precincts[r]));
		}
		for (uint32_t p = 1; p <= o.precincts; p++)
			json_array_append_new(precincts[p > o.precincts / 2],
			                      json_pack("{s:I, s:I}", "id", (json_int_t)p,
			                                "registered",
			                                (json_int_t)(1000 + p % 500)));
		cr_assert_eq(json_dump_file(el, f->election, 0), 0);
		json_decref(el);
		cr_assert_eq(tally_election_load(f->election, &f->e, &err), 0, "%s", err.msg);
	}

	/* Keys: one per region (trusted/), the log key, another key. */
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(tally_sign_generate(&region_key[r]), 0);
		snprintf(path, sizeof(path), "%s/%s.pem", f->keys, r ? "R2" : "R1");
		fx_write_pub(path, &region_key[r].pub);
	}
	cr_assert_eq(tally_sign_generate(&log_key), 0);
	cr_assert_eq(tally_sign_generate(&other_key), 0);
	fx_write_pub(f->log_pub, &log_key.pub);
	fx_write_pub(f->other_pub, &other_key.pub);
	head_key = o.other_key_head || o.other_key_all ? &other_key : &log_key;
	pub_key = o.other_key_all ? &other_key : &log_key;

	cr_assert_eq(tally_merkle_new(&m), 0);
	cr_assert_eq(tally_totals_new(f->e, &t), 0);

	/* The leaves: applied to the totals and the tree, written after the head. */
	n_leaves = o.leaves + (o.no_conflict ? 0 : 1) + (o.stale_leaf ? 1 : 0);
	uint8_t **leaves = calloc(n_leaves, sizeof(*leaves));
	size_t *lens = calloc(n_leaves, sizeof(*lens));
	cr_assert(leaves && lens);
	for (uint64_t k = 0; k < n_leaves; k++) {
		uint32_t pi = (uint32_t)(k % o.precincts), rev = (uint32_t)(k / o.precincts) + 1;
		const struct tally_precinct *pr;
		struct tally_result r;
		uint8_t hash[TALLY_HASH_BYTES], lh[TALLY_HASH_BYTES];
		enum tally_outcome out;
		int ri;

		if (k == o.leaves + (o.no_conflict ? 0 : 1)) {
			/* The stale one: precinct 1 at revision 1, long replaced. */
			pi = 0;
			rev = 1;
		} else if (k == o.leaves) {
			/* The conflict: precinct 1's current revision, other figures. */
			pi = 0;
			rev = (uint32_t)((o.leaves - 1) / o.precincts) + 1;
		}
		pr = &f->e->precincts[pi];
		ri = (int)pr->region;
		fx_figures(&r, k, pr->id, rev, f->e->regions[ri].id, f->e->election_id);
		if (k >= o.leaves) {
			r.votes[0].count += 1;
			r.votes[1].count -= 1;
		}
		if (o.failed_control && k == o.target)
			r.ballots_invalid += 1;
		fx_leaf(&r,
		        o.wrong_region_key && k == o.target ? &region_key[1 - ri] : &region_key[ri],
		        &leaves[k], &lens[k]);
		/* Totals as the aggregator holds them: only the honest, counted leaves. */
		if (!(o.failed_control && k == o.target) &&
		    !(o.wrong_region_key && k == o.target)) {
			struct tally_signed_result s = {0};

			cr_assert_eq(tally_codec_decode_signed(leaves[k], lens[k], &s), 0);
			tally_sha256(s.payload, s.payload_len, hash);
			tally_signed_result_clear(&s);
			cr_assert_eq(tally_totals_apply(t, &r, hash, (int64_t)k, &out), 0);
		}
		if (o.alter_leaf && k == o.target) {
			/* After the fact: same signature, one vote moved. */
			struct tally_signed_result s = {0};

			cr_assert_eq(tally_codec_decode_signed(leaves[k], lens[k], &s), 0);
			free(s.payload);
			r.votes[0].count += 1;
			r.votes[1].count -= 1;
			cr_assert_eq(tally_codec_encode_result(&r, &s.payload, &s.payload_len), 0);
			free(leaves[k]);
			cr_assert_eq(tally_codec_encode_signed(&s, &leaves[k], &lens[k]), 0);
			tally_signed_result_clear(&s);
		}
		tally_merkle_leaf_hash(leaves[k], lens[k], lh);
		/* The altered leaf was logged honestly: the head commits to the original. */
		if (o.alter_leaf && k == o.target) {
			uint8_t *orig;
			size_t ol;

			fx_figures(&r, k, pr->id, rev, f->e->regions[ri].id, f->e->election_id);
			fx_leaf(&r, &region_key[ri], &orig, &ol);
			tally_merkle_leaf_hash(orig, ol, lh);
			free(orig);
		}
		cr_assert_eq(tally_merkle_append(m, lh), 0);
	}

	/* The head. */
	memset(&h, 0, sizeof(h));
	strcpy(h.election_id, f->e->election_id);
	h.tree_size = n_leaves;
	cr_assert_eq(tally_merkle_root(m, n_leaves, h.root_hash), 0);
	h.timestamp_ms = 1700000001234ull;
	tally_totals_digest(t, h.totals_hash);
	if (o.bad_totals_hash)
		h.totals_hash[0] ^= 1;
	/* The totals document at that sequence, as the aggregator serves it. */
	cr_assert_eq(tally_totals_to_json(t, &totals), 0);
	json_object_set_new(totals, "as_of", json_string("2024-10-06T18:04:05.123Z"));
	if (o.stale_leaf) /* the aggregator would have said the log's size */
		json_object_set_new(totals, "sequence", json_integer((json_int_t)n_leaves));
	if (o.change_total) {
		json_t *nat = json_object_get(totals, "national");
		json_object_set_new(
		    nat, "ballots_cast",
		    json_integer(json_integer_value(json_object_get(nat, "ballots_cast")) + 1));
	}
	fx_write_bundle(f, &h, head_key, pub_key, o.forge_sig, totals, leaves, lens, n_leaves,
	                o.drop_leaf ? (int64_t)o.target : -1);
	free(leaves);
	free(lens);
	json_decref(totals);
	tally_totals_free(t);
	tally_merkle_free(m);
	tally_sign_key_wipe(&log_key);
	tally_sign_key_wipe(&other_key);
	tally_sign_key_wipe(&region_key[0]);
	tally_sign_key_wipe(&region_key[1]);
}

/* ---- a general election ---------------------------------------------- */

/*
 * A general election (fx_make_general): regions R1 (precincts 1..5) and R2
 * (6..10), precinct p with 1000 + 10p registered voters; districts D1
 * {1, 2, 3} and D2 {4, 5, 6} (across both regions); contests, in order:
 *
 *   party-list  national party list, 10 seats, Hare, 5 % of valid votes:
 *               amanat, auyl, respublica, against (against all)
 *   smd-1       candidates in D1, plurality: c1-a, c1-b, against
 *   smd-2       candidates in D2, plurality: c2-a, c2-b
 *   referendum  in R2, turnout above 50 %: yes, no
 *
 * (party-list alone with .single_contest). Leaf order: every precinct's
 * results, precinct after precinct, each contest it votes in in contest
 * order (21 leaves), then party-list precinct 3 revision 2 (a correction)
 * and smd-1 precinct 2 revision 1 with other figures (a conflicting copy):
 * 23 leaves. The published totals are tally_totals_to_json()'s document
 * with every contest's decision as decision.c gives it (a document without
 * "contests" in an election of several, from a core that does not publish
 * them yet, gets a "contests" list of {"id", "decision"}).
 */
struct fx_general_opts {
	bool single_contest;
	uint32_t skip_precinct; /* its results never arrive (0: none) */
	/* Lies, each about one contest. */
	bool off_by_one;     /* party-list's national votes of amanat + 1 */
	bool wrong_seats;    /* party-list's published seats of amanat + 1 */
	bool wrong_elected;  /* smd-1 published as won by c1-b */
	bool not_in_contest; /* a 24th leaf: precinct 8 (not in D1) for smd-1 */
	bool bad_totals_hash;
};

static const char *const FXG_CONTESTS[] = {"party-list", "smd-1", "smd-2", "referendum"};
/* Per contest: the options and each one's weight in a precinct's votes. */
static const char *const FXG_OPTIONS[4][4] = {{"amanat", "auyl", "respublica", "against"},
                                              {"c1-a", "c1-b", "against"},
                                              {"c2-a", "c2-b"},
                                              {"yes", "no"}};
static const uint32_t FXG_WEIGHTS[4][4] = {{50, 25, 15, 10}, {55, 35, 10}, {48, 52}, {60, 40}};
static const size_t FXG_N_OPTIONS[4] = {4, 3, 2, 2};

static const char FXG_ELECTION[] =
    "{\"election_id\": \"general-2024\","
    " \"title\": {\"kk\": \"Жалпы сайлау\", \"ru\": \"Всеобщие выборы\", \"en\": \"General\"},"
    " \"regions\": ["
    "  {\"id\": \"R1\", \"name\": \"One\", \"precincts\": [[1, 1010], [2, 1020], [3, 1030],"
    "   [4, 1040], [5, 1050]]},"
    "  {\"id\": \"R2\", \"name\": \"Two\", \"precincts\": [[6, 1060], [7, 1070], [8, 1080],"
    "   [9, 1090], [10, 1100]]}],"
    " \"districts\": [{\"id\": \"D1\", \"precincts\": [1, 2, 3]},"
    "  {\"id\": \"D2\", \"precincts\": [4, 5, 6]}],"
    " \"parties\": [{\"id\": \"amanat\", \"name\": \"AMANAT\"}, {\"id\": \"auyl\", \"name\": "
    "\"Auyl\"}, {\"id\": \"respublica\", \"name\": \"Respublica\"}],"
    " \"contests\": ["
    "  {\"id\": \"party-list\", \"kind\": \"party_list\", \"seats\": 10,"
    "   \"options\": [{\"id\": \"amanat\", \"party\": \"amanat\"}, {\"id\": \"auyl\", "
    "\"party\": \"auyl\"},"
    "    {\"id\": \"respublica\", \"party\": \"respublica\"},"
    "    {\"id\": \"against\", \"name\": \"Against all\", \"against_all\": true}],"
    "   \"rules\": {\"threshold_pct\": 5, \"method\": \"hare\"}}"
    "%s]}";
static const char FXG_MORE_CONTESTS[] =
    ", {\"id\": \"smd-1\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D1\"},"
    "   \"options\": [{\"id\": \"c1-a\", \"name\": \"A\"}, {\"id\": \"c1-b\", \"name\": \"B\"},"
    "    {\"id\": \"against\", \"name\": \"Against all\", \"against_all\": true}],"
    "   \"rules\": {\"win\": \"plurality\"}},"
    "  {\"id\": \"smd-2\", \"kind\": \"candidate\", \"scope\": {\"district\": \"D2\"},"
    "   \"options\": [{\"id\": \"c2-a\", \"name\": \"C\"}, {\"id\": \"c2-b\", \"name\": \"D\"}]},"
    "  {\"id\": \"referendum\", \"kind\": \"referendum\", \"scope\": {\"regions\": [\"R2\"]},"
    "   \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    "   \"rules\": {\"min_turnout_pct\": 50}}";

/* One leaf of the general log: contest k's result of precinct p. */
struct fxg_step {
	size_t k;
	uint32_t p, revision, shift;
};

/* Whether precinct p votes in fixture contest k. */
static bool fxg_votes_in(size_t k, uint32_t p)
{
	switch (k) {
	case 1:
		return p >= 1 && p <= 3;
	case 2:
		return p >= 4 && p <= 6;
	case 3:
		return p >= 6;
	default:
		return true;
	}
}

/* Contest k's protocol of precinct p; `shift` moves votes for a correction or a copy. */
static void fxg_result(struct tally_result *r, size_t k, uint32_t p, uint32_t revision,
                       uint32_t shift, uint64_t stamp)
{
	uint32_t valid, given = 0, wsum = 0;

	memset(r, 0, sizeof(*r));
	strcpy(r->election_id, "general-2024");
	strcpy(r->region_id, p <= 5 ? "R1" : "R2");
	strcpy(r->contest_id, FXG_CONTESTS[k]);
	r->precinct_id = p;
	r->revision = revision;
	r->voters_registered = 1000 + 10 * p;
	r->ballots_cast = 600 + 7 * p + 3 * (uint32_t)k;
	r->ballots_issued = r->ballots_cast + 4;
	r->ballots_cancelled = 2;
	r->ballots_received = r->ballots_issued + r->ballots_cancelled;
	r->ballots_invalid = 5 + p % 3;
	r->ballots_not_counted = 2;
	valid = r->ballots_cast - r->ballots_invalid - r->ballots_not_counted;
	r->n_votes = FXG_N_OPTIONS[k];
	for (size_t i = 0; i < r->n_votes; i++)
		wsum += FXG_WEIGHTS[k][i];
	for (size_t i = 1; i < r->n_votes; i++) {
		strcpy(r->votes[i].option_id, FXG_OPTIONS[k][i]);
		r->votes[i].count = valid * FXG_WEIGHTS[k][i] / wsum;
		given += r->votes[i].count;
	}
	strcpy(r->votes[0].option_id, FXG_OPTIONS[k][0]);
	r->votes[0].count = valid - given;
	r->votes[0].count -= shift;
	r->votes[1].count += shift;
	r->recorded_at_ms = 1700000000000ull + stamp;
}

/* The decision of contest ci as decision.c gives it over t, in the API's JSON. */
static json_t *fxg_decision(const struct tally_totals *t, size_t ci)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	const struct tally_contest_totals *ct = &t->contests[ci];
	uint64_t regions[8] = {0};
	struct tally_decision_result d;
	json_t *doc = NULL;

	cr_assert(c->n_regions <= 8);
	for (size_t k = 0; k < c->n_precincts; k++) {
		const struct tally_precinct *p = &e->precincts[c->precincts[k]];
		regions[tally_contest_region_position(c, p->region)] += p->registered;
	}
	for (size_t k = 0; k < c->n_regions; k++)
		regions[k] -= ct->region_reported_definition_registered[k];
	struct tally_decision_input in = {
	    .e = e,
	    .c = c,
	    .national = &ct->national,
	    .regions = ct->regions,
	    .unreported_registered = c->registered - ct->reported_definition_registered,
	    .region_unreported_registered = regions,
	};
	cr_assert_eq(tally_decide(&in, &d), 0);
	cr_assert_eq(tally_decision_to_json(&in, &d, &doc), 0);
	return doc;
}

/* The published entry of contest id: in "contests", or the document itself. */
static json_t *fxg_entry(json_t *doc, const char *id)
{
	json_t *list = json_object_get(doc, "contests"), *v;
	size_t i;

	if (!json_is_array(list))
		return doc;
	json_array_foreach(
	    list, i, v) if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0) return v;
	cr_assert_fail("no contest %s in the published totals", id);
	return NULL;
}

static void fx_make_general(struct fx *f, const struct fx_general_opts *o)
{
	struct tally_signing_key region_key[2], log_key;
	struct tally_err err = {{0}};
	struct tally_tree_head h;
	struct tally_merkle *m;
	struct tally_totals *t;
	size_t n_contests = o->single_contest ? 1 : 4;
	uint8_t *leaves[32];
	size_t lens[32];
	uint64_t n = 0;
	json_t *totals, *list;
	char path[256], *json;
	bool real_list;

	fx_dirs(f);
	cr_assert(asprintf(&json, FXG_ELECTION, o->single_contest ? "" : FXG_MORE_CONTESTS) > 0);
	fx_write(f->election, json);
	free(json);
	cr_assert_eq(tally_election_load(f->election, &f->e, &err), 0, "%s", err.msg);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(tally_sign_generate(&region_key[r]), 0);
		snprintf(path, sizeof(path), "%s/%s.pem", f->keys, r ? "R2" : "R1");
		fx_write_pub(path, &region_key[r].pub);
	}
	cr_assert_eq(tally_sign_generate(&log_key), 0);
	fx_write_pub(f->log_pub, &log_key.pub);
	cr_assert_eq(tally_merkle_new(&m), 0);
	cr_assert_eq(tally_totals_new(f->e, &t), 0);

	/* The log: (contest, precinct, revision, shift), applied as the aggregator would. */
	struct fxg_step plan[32];
	size_t n_plan = 0;
	for (uint32_t p = 1; p <= 10; p++)
		for (size_t k = 0; k < n_contests; k++)
			if (fxg_votes_in(k, p) && p != o->skip_precinct)
				plan[n_plan++] = (struct fxg_step){k, p, 1, 0};
	plan[n_plan++] = (struct fxg_step){0, 3, 2, 9};
	if (!o->single_contest)
		plan[n_plan++] = (struct fxg_step){1, 2, 1, 4};
	if (o->not_in_contest)
		plan[n_plan++] = (struct fxg_step){1, 8, 1, 0};
	for (size_t i = 0; i < n_plan; i++) {
		struct tally_signed_result s = {0};
		uint8_t hash[TALLY_HASH_BYTES], lh[TALLY_HASH_BYTES];
		enum tally_outcome out;
		struct tally_result r;

		fxg_result(&r, plan[i].k, plan[i].p, plan[i].revision, plan[i].shift, i);
		fx_leaf(&r, &region_key[plan[i].p > 5], &leaves[n], &lens[n]);
		cr_assert_eq(tally_codec_decode_signed(leaves[n], lens[n], &s), 0);
		tally_sha256(s.payload, s.payload_len, hash);
		tally_signed_result_clear(&s);
		/* The aggregator would have refused the one not in its contest. */
		if (!(o->not_in_contest && i == n_plan - 1)) {
			cr_assert_eq(tally_totals_apply(t, &r, hash, (int64_t)n, &out), 0);
			cr_assert(out == TALLY_OUTCOME_ACCEPTED || out == TALLY_OUTCOME_CONFLICT);
		}
		tally_merkle_leaf_hash(leaves[n], lens[n], lh);
		cr_assert_eq(tally_merkle_append(m, lh), 0);
		n++;
	}

	memset(&h, 0, sizeof(h));
	strcpy(h.election_id, f->e->election_id);
	h.tree_size = n;
	cr_assert_eq(tally_merkle_root(m, n, h.root_hash), 0);
	h.timestamp_ms = 1700000001234ull;
	tally_totals_digest(t, h.totals_hash);
	if (o->bad_totals_hash)
		h.totals_hash[5] ^= 1;

	/* The published document, with every contest's decision. */
	cr_assert_eq(tally_totals_to_json(t, &totals), 0);
	json_object_set_new(totals, "as_of", json_string("2024-10-06T18:04:05.123Z"));
	json_object_set_new(totals, "sequence", json_integer((json_int_t)n));
	real_list = json_is_array(json_object_get(totals, "contests"));
	if (o->off_by_one) {
		/* Where the recomputed document has it: in the contest's entry, or
		 * the document itself (which is about the first contest). */
		json_t *votes = json_object_get(
		    json_object_get(fxg_entry(totals, "party-list"), "national"), "votes");
		json_object_set_new(
		    votes, "amanat",
		    json_integer(json_integer_value(json_object_get(votes, "amanat")) + 1));
	}
	if (n_contests == 1) {
		json_object_set_new(totals, "decision", fxg_decision(t, 0));
	} else {
		list = json_object_get(totals, "contests");
		if (!real_list) {
			list = json_array();
			json_object_set_new(totals, "contests", list);
			for (size_t k = 0; k < n_contests; k++)
				json_array_append_new(list,
				                      json_pack("{s:s}", "id", FXG_CONTESTS[k]));
		}
		for (size_t k = 0; k < n_contests; k++)
			json_object_set_new(fxg_entry(totals, FXG_CONTESTS[k]), "decision",
			                    fxg_decision(t, k));
	}
	if (o->wrong_seats) {
		json_t *seats = json_object_get(
		    json_object_get(fxg_entry(totals, "party-list"), "decision"), "seats");
		json_object_set_new(
		    seats, "amanat",
		    json_integer(json_integer_value(json_object_get(seats, "amanat")) + 1));
	}
	if (o->wrong_elected)
		json_object_set_new(json_object_get(fxg_entry(totals, "smd-1"), "decision"),
		                    "elected", json_pack("[s]", "c1-b"));

	fx_write_bundle(f, &h, &log_key, &log_key, false, totals, leaves, lens, n, -1);
	json_decref(totals);
	tally_totals_free(t);
	tally_merkle_free(m);
	tally_sign_key_wipe(&log_key);
	tally_sign_key_wipe(&region_key[0]);
	tally_sign_key_wipe(&region_key[1]);
}

static void fx_clean(struct fx *f)
{
	char cmd[128];

	tally_election_free(f->e);
	f->e = NULL;
	if (f->dir[0] != '\0' && strncmp(f->dir, "/tmp/tally-verify-", 18) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		cr_assert_eq(system(cmd), 0);
	}
}

#endif
