/*
 * cmd_prove.c: `tallyctl prove --url URL --precinct ID`, for a regional
 * commission to confirm that its protocol is in the public log, and with
 * --counted that it is the one counted.
 *
 * Without --counted it asks the aggregator which leaf holds the precinct's
 * counted result, fetches that leaf, an inclusion proof and the current
 * signed head, checks the head's signature and the proof, and prints the
 * result the log holds so a person can hold it against the paper protocol.
 * That proves the leaf is in the log, and nothing more: which leaf counts
 * is the aggregator's unsigned word, and a dishonest one could name a
 * superseded revision or a conflicting copy it never counted. So it says
 * "INCLUDED", never "counted".
 *
 * With --counted (which needs --election and --trusted-keys) it fetches the
 * whole record under the signed head, runs the observer's audit over it
 * (audit.c: signatures, control relations, root, replay, totals), and reads
 * the precinct's counted leaf from that same replay; it then holds the
 * aggregator's answer against it. With --trusted-keys the leaf's own
 * signature is checked too; with --log-key the head must be signed by that
 * key.
 *
 * In an election of several contests a precinct has one counted result per
 * contest it votes in: --contest names which (required with --counted
 * there). The aggregator's answer is then read from the precinct
 * document's entry for that contest ("contests": [{"id", "leaf_index"}],
 * or an object keyed by contest id), or from its top-level leaf_index
 * when it has no such entries.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "bundle.h"
#include "cli.h"
#include "tally/codec.h"
#include "tally/keyring.h"
#include "tally/merkle.h"
#include "tally/sign.h"

#define HEX_HASH (2 * TALLY_HASH_BYTES + 1)

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl prove --url URL --precinct ID [--contest ID] "
	           "[--trusted-keys DIR]\n"
	           "                      [--log-key PEM]\n"
	           "       tallyctl prove --url URL --precinct ID --counted --election FILE\n"
	           "                      --trusted-keys DIR [--contest ID] [--log-key PEM]\n"
	           "\n"
	           "Checks that the leaf the aggregator names as precinct ID's counted result is\n"
	           "in its public log under the current signed tree head, and prints that result\n"
	           "(\"INCLUDED\"). Inclusion does not show that the rules count that leaf:\n"
	           "with --counted, the whole log under the signed head is fetched, verified and\n"
	           "replayed as `tallyctl verify` does, and the leaf the rules count for the\n"
	           "precinct is named and held against the aggregator's (\"COUNTED\").\n"
	           "In an election of several contests, --contest names the contest (required\n"
	           "with --counted). Exit 0 if the proof holds, 1 if it does not (or the precinct\n"
	           "has no counted result), 2 on usage or network errors.\n");
}

static int unbase64(const char *s, uint8_t **ret, size_t *ret_len)
{
	size_t len = strlen(s), max = len / 4 * 3 + 3;
	const char *end = NULL;
	uint8_t *b = malloc(max);

	if (b == NULL)
		return -ENOMEM;
	if (sodium_base642bin(b, max, s, len, NULL, ret_len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + len) {
		free(b);
		return -EINVAL;
	}
	*ret = b;
	return 0;
}

/* Fails the proof with a reason (exit status 1). */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("NOT PROVEN: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return 1;
}

/* Checks the head's signature; fills the decoded head. 0, or 1 with a reason printed. */
static int check_head(json_t *sth, json_t *key, const struct tally_public_key *pin,
                      struct tally_tree_head *ret)
{
	struct tally_public_key pub;
	struct tally_err err = {{0}};
	const char *pem = json_string_value(json_object_get(key, "public_key_pem"));
	const char *thb = json_string_value(json_object_get(sth, "tree_head"));
	const char *sigb = json_string_value(json_object_get(sth, "signature"));
	uint8_t *th = NULL, *sig = NULL;
	size_t th_len = 0, sig_len = 0;
	int rc = 1;

	if (pem == NULL || tally_sign_public_from_pem(pem, &pub, &err) < 0)
		return fail("the aggregator's log key is not an Ed25519 public key");
	if (pin != NULL && strcmp(pin->key_id, pub.key_id) != 0)
		return fail("the aggregator's log key %s is not the pinned key %s", pub.key_id,
		            pin->key_id);
	if (thb == NULL || sigb == NULL || unbase64(thb, &th, &th_len) < 0 ||
	    unbase64(sigb, &sig, &sig_len) < 0) {
		rc = fail("the signed tree head lacks \"tree_head\" or \"signature\" in base64");
		goto out;
	}
	if (tally_sign_verify(&pub, th, th_len, sig, sig_len) < 0) {
		rc = fail("the tree head's signature does not verify with log key %s", pub.key_id);
		goto out;
	}
	if (tally_codec_decode_tree_head(th, th_len, ret) < 0) {
		rc = fail("the signed tree head is not a TreeHead message");
		goto out;
	}
	rc = 0;
out:
	free(th);
	free(sig);
	return rc;
}

static void print_result(const struct tally_result *r)
{
	printf("  election             %s\n", r->election_id);
	printf("  region               %s\n", r->region_id);
	if (r->contest_id[0] != '\0')
		printf("  contest              %s\n", r->contest_id);
	printf("  precinct             %" PRIu32 "\n", r->precinct_id);
	printf("  revision             %" PRIu32 "\n", r->revision);
	printf("  voters_registered    %" PRIu32 "\n", r->voters_registered);
	printf("  ballots_received     %" PRIu32 "\n", r->ballots_received);
	printf("  ballots_issued       %" PRIu32 "\n", r->ballots_issued);
	printf("  ballots_cancelled    %" PRIu32 "\n", r->ballots_cancelled);
	printf("  ballots_cast         %" PRIu32 "\n", r->ballots_cast);
	printf("  ballots_invalid      %" PRIu32 "\n", r->ballots_invalid);
	printf("  ballots_not_counted  %" PRIu32 "\n", r->ballots_not_counted);
	for (size_t i = 0; i < r->n_votes; i++)
		printf("  votes %-14s %" PRIu32 "\n", r->votes[i].option_id, r->votes[i].count);
}

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

/*
 * The leaf the aggregator's precinct document names as counted: for a
 * contest, its entry in "contests" (an array of {"id" or "contest",
 * "leaf_index"}, or an object keyed by contest id) when the document has
 * one, else the top-level "leaf_index". -1 when it names none.
 */
static int64_t named_leaf(json_t *pj, const char *contest)
{
	json_t *list = json_object_get(pj, "contests"), *li = NULL;

	if (contest != NULL && json_is_array(list)) {
		size_t i;
		json_t *v;

		json_array_foreach(list, i, v)
		{
			const char *id = json_string_value(json_object_get(v, "id"));

			if (id == NULL)
				id = json_string_value(json_object_get(v, "contest"));
			if (id != NULL && strcmp(id, contest) == 0)
				li = json_object_get(v, "leaf_index");
		}
	} else if (contest != NULL && json_is_object(list)) {
		li = json_object_get(json_object_get(list, contest), "leaf_index");
	} else {
		li = json_object_get(pj, "leaf_index");
	}
	return json_is_integer(li) && json_integer_value(li) >= 0 ? (int64_t)json_integer_value(li)
	                                                          : -1;
}

/* Decodes leaf i of the audited log. 0 or -EBADMSG (s is cleared by the caller). */
static int audited_leaf(const struct audit *a, uint64_t i, struct tally_signed_result *s,
                        struct tally_result *r)
{
	const uint8_t *leaf;
	size_t len;

	if (audit_leaf(a, i, &leaf, &len) < 0 || tally_codec_decode_signed(leaf, len, s) < 0 ||
	    tally_codec_decode_result(s->payload, s->payload_len, r) < 0)
		return -EBADMSG;
	return 0;
}

/* Prints leaf i of the audited log (its signature held in the audit). */
static void print_audited_leaf(const struct audit *a, uint64_t i)
{
	struct tally_signed_result s = {0};
	struct tally_result r;

	if (audited_leaf(a, i, &s, &r) == 0) {
		printf("  result signed by key %s (trusted, signature checked):\n", s.key_id);
		print_result(&r);
	}
	tally_signed_result_clear(&s);
}

/*
 * What the leaf the aggregator named is, next to the counted one: "leaf 7
 * (revision 1, superseded by revision 2)", "leaf 9 (revision 2, a
 * conflicting copy, not counted)", "leaf 4, which holds precinct 12", "leaf 2,
 * which holds contest 'party-list',".
 */
static void describe_named(const struct audit *a, const struct tally_election *e, uint64_t i,
                           uint32_t pid, const char *contest, const struct audit_counted *c,
                           char *buf, size_t cap)
{
	struct tally_signed_result s = {0};
	struct tally_result r;
	const char *leaf_contest = NULL;

	if (audited_leaf(a, i, &s, &r) < 0) {
		snprintf(buf, cap, "leaf %" PRIu64, i);
		goto out;
	}
	leaf_contest =
	    r.contest_id[0] != '\0' || e->n_contests != 1 ? r.contest_id : e->contests[0].id;
	if (r.precinct_id != pid)
		snprintf(buf, cap, "leaf %" PRIu64 ", which holds precinct %" PRIu32, i,
		         r.precinct_id);
	else if (strcmp(leaf_contest, contest) != 0)
		snprintf(buf, cap, "leaf %" PRIu64 ", which holds contest '%s',", i, leaf_contest);
	else if (c->leaf_index >= 0 && r.revision < c->revision)
		snprintf(buf, cap,
		         "leaf %" PRIu64 " (revision %" PRIu32 ", superseded by revision %" PRIu32
		         ")",
		         i, r.revision, c->revision);
	else if (c->leaf_index >= 0 && r.revision == c->revision)
		snprintf(buf, cap,
		         "leaf %" PRIu64 " (revision %" PRIu32 ", a conflicting copy, not counted)",
		         i, r.revision);
	else
		snprintf(buf, cap, "leaf %" PRIu64 " (revision %" PRIu32 ")", i, r.revision);
out:
	tally_signed_result_clear(&s);
}

/*
 * The contest a precinct's result is asked for: --contest, or the only
 * contest of an election of one. NULL (with the reason printed) when the
 * election has several and none was named, or names no such contest.
 */
static const char *resolve_contest(const struct tally_election *e, const char *contest)
{
	if (contest == NULL && e->n_contests == 1)
		return e->contests[0].id;
	if (contest == NULL) {
		fprintf(stderr,
		        "tallyctl prove: election '%s' has %zu contests: name one with "
		        "--contest (",
		        e->election_id, e->n_contests);
		for (size_t i = 0; i < e->n_contests; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", e->contests[i].id);
		fprintf(stderr, ")\n");
		return NULL;
	}
	if (tally_election_contest_index(e, contest) < 0) {
		fprintf(stderr, "tallyctl prove: election '%s' has no contest '%s'\n",
		        e->election_id, contest);
		return NULL;
	}
	return contest;
}

/*
 * --counted: the whole record under the signed head, audited as `verify`
 * does; the precinct's counted leaf is read from that audit's replay and
 * held against the leaf the aggregator names. 0 proven, 1 not, 2 errors.
 */
static int prove_counted(const char *url, uint32_t pid, const char *contest_arg,
                         const char *election_path, const struct tally_keyring *kr,
                         const struct tally_public_key *pin)
{
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	struct audit_counted c;
	struct bundle_sink sink;
	struct audit *a = NULL;
	json_t *pj = NULL;
	char q[64], root[HEX_HASH], named_text[200], in[TALLY_ID_MAX + 16] = "";
	const char *contest;
	int64_t named = -1;
	uint64_t size;
	size_t n;
	int rc = 2, r;

	if (tally_election_load(election_path, &e, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		goto out;
	}
	contest = resolve_contest(e, contest_arg);
	if (contest == NULL)
		goto out;
	/* The legacy referendum's texts stay as they were. */
	if (!tally_election_is_legacy(e))
		snprintf(in, sizeof(in), " in contest '%s'", contest);
	if (audit_new(e, kr, &a) < 0) {
		fprintf(stderr, "tallyctl prove: out of memory\n");
		goto out;
	}
	if (pin != NULL)
		audit_pin_log_key(a, pin);
	sink = (struct bundle_sink){feed_head, feed_key, feed_totals, feed_entry, a};
	r = bundle_fetch(url, &sink, &err);
	if (r < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg[0] ? err.msg : strerror(-r));
		goto out;
	}
	if (audit_run(a, threads < 1 ? 1 : threads > 16 ? 16 : (int)threads) < 0) {
		fprintf(stderr, "tallyctl prove: out of memory\n");
		goto out;
	}
	n = audit_count(a);
	if (n > 0) {
		for (size_t i = 0; i < n && i < 20; i++)
			printf("DISCREPANCY: %s\n", audit_at(a, i));
		if (n > 20)
			printf("... and %zu more discrepancies\n", n - 20);
		rc = fail("the log under the signed head does not verify (%zu discrepanc%s; "
		          "`tallyctl verify` lists them all): what it counts cannot be established",
		          n, n == 1 ? "y" : "ies");
		goto out;
	}
	r = audit_counted(a, pid, contest, &c);
	if (r == -ENXIO) {
		rc = fail("precinct %" PRIu32 " does not vote in contest '%s'", pid, contest);
		goto out;
	}
	if (r < 0) {
		rc = fail("precinct %" PRIu32 " is not in election '%s'", pid, e->election_id);
		goto out;
	}

	/* The aggregator's word, asked after the head, so it is at least as recent. */
	snprintf(q, sizeof(q), "/v1/precincts/%" PRIu32, pid);
	if (bundle_get_json(url, q, &pj, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		goto out;
	}
	named = named_leaf(pj, tally_election_is_legacy(e) ? NULL : contest);
	size = audit_tree_size(a);
	tally_hex(audit_root(a), TALLY_HASH_BYTES, root);
	if (named >= 0 && (uint64_t)named >= size) {
		rc = fail("the aggregator names leaf %" PRId64 " for precinct %" PRIu32
		          "%s, which is not yet under the signed head of size %" PRIu64
		          "; heads follow within a second, try again",
		          named, pid, in, size);
		goto out;
	}
	if (named >= 0)
		describe_named(a, e, (uint64_t)named, pid, contest, &c, named_text,
		               sizeof(named_text));
	if (c.leaf_index < 0) {
		if (named >= 0)
			rc = fail(
			    "the aggregator names %s as precinct %" PRIu32
			    "'s counted result%s, but replaying the %" PRIu64
			    " leaves under the signed tree head (root %s) counts no result for it",
			    named_text, pid, in, size, root);
		else
			rc = fail("replaying the %" PRIu64 " leaves under the signed tree head "
			          "(root %s) counts no result for precinct %" PRIu32 "%s",
			          size, root, pid, in);
		goto out;
	}
	if (named != c.leaf_index) {
		if (named >= 0)
			rc =
			    fail("the aggregator names %s as precinct %" PRIu32
			         "'s counted result%s, but replaying the %" PRIu64
			         " leaves under the signed tree head (root %s) counts leaf %" PRId64
			         " (revision %" PRIu32 ")",
			         named_text, pid, in, size, root, c.leaf_index, c.revision);
		else
			rc =
			    fail("the aggregator names no counted result for precinct %" PRIu32
			         "%s, but replaying the %" PRIu64
			         " leaves under the signed tree head (root %s) counts leaf %" PRId64
			         " (revision %" PRIu32 ")",
			         pid, in, size, root, c.leaf_index, c.revision);
		printf("  what the rules count, leaf %" PRId64 ":\n", c.leaf_index);
		print_audited_leaf(a, (uint64_t)c.leaf_index);
		goto out;
	}
	printf("COUNTED: leaf %" PRId64 " (revision %" PRIu32 ") is precinct %" PRIu32
	       "'s counted result%s:\n",
	       c.leaf_index, c.revision, pid, in);
	printf("  replaying all %" PRIu64 " leaves under the signed tree head of size %" PRIu64
	       ", root %s,\n"
	       "  signed by log key %s, counts it: every leaf is signed by its region's\n"
	       "  trusted key and passes the control relations, the published totals equal\n"
	       "  the replay's, and the aggregator names the same leaf.\n",
	       size, size, root, audit_log_key_id(a));
	if (c.conflicts > 0)
		printf("  flagged: %" PRIu32 " conflicting cop%s of revision %" PRIu32
		       " in the log, not counted\n",
		       c.conflicts, c.conflicts == 1 ? "y" : "ies", c.revision);
	print_audited_leaf(a, (uint64_t)c.leaf_index);
	rc = 0;
out:
	json_decref(pj);
	audit_free(a);
	tally_election_free(e);
	return rc;
}

int cmd_prove(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"precinct", required_argument, NULL, 'p'},
	    {"trusted-keys", required_argument, NULL, 'k'},
	    {"log-key", required_argument, NULL, 'l'},
	    {"counted", no_argument, NULL, 'c'},
	    {"election", required_argument, NULL, 'e'},
	    {"contest", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *precinct = NULL, *keys_dir = NULL, *log_key_path = NULL;
	const char *election_path = NULL, *contest = NULL;
	bool counted = false;
	json_t *pj = NULL, *sth = NULL, *key = NULL, *page = NULL, *proof = NULL;
	uint8_t(*path)[TALLY_HASH_BYTES] = NULL;
	struct tally_signed_result s = {0};
	struct tally_keyring *kr = NULL;
	struct tally_public_key pin;
	struct tally_tree_head head;
	struct tally_err err = {{0}};
	struct tally_result r;
	uint8_t *leaf = NULL, lh[TALLY_HASH_BYTES];
	char q[160], root[HEX_HASH], *end;
	size_t leaf_len = 0, n, i;
	json_t *h, *arr;
	unsigned long pid;
	uint64_t index;
	int opt, rc = 2;

	optind = 0; /* glibc: start over, even when called twice in one process */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'p':
			precinct = optarg;
			break;
		case 'k':
			keys_dir = optarg;
			break;
		case 'l':
			log_key_path = optarg;
			break;
		case 'c':
			counted = true;
			break;
		case 'e':
			election_path = optarg;
			break;
		case 'C':
			contest = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || precinct == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (counted && (election_path == NULL || keys_dir == NULL)) {
		fprintf(stderr, "tallyctl prove: --counted replays the log, which needs --election "
		                "and --trusted-keys\n");
		return 2;
	}
	if (!counted && election_path != NULL) {
		fprintf(stderr, "tallyctl prove: --election is for --counted\n");
		return 2;
	}
	errno = 0;
	pid = strtoul(precinct, &end, 10);
	if (errno != 0 || *end != '\0' || precinct[0] < '0' || precinct[0] > '9' ||
	    pid > UINT32_MAX) {
		fprintf(stderr, "tallyctl prove: --precinct '%s' is not a precinct number\n",
		        precinct);
		return 2;
	}
	if (keys_dir != NULL && tally_keyring_load(keys_dir, &kr, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		return 2;
	}
	if (log_key_path != NULL && tally_sign_load_public(log_key_path, &pin, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		goto out;
	}
	if (counted) {
		rc = prove_counted(url, (uint32_t)pid, contest, election_path, kr,
		                   log_key_path ? &pin : NULL);
		goto out;
	}

	snprintf(q, sizeof(q), "/v1/precincts/%lu", pid);
	if (bundle_get_json(url, q, &pj, &err) < 0 ||
	    bundle_get_json(url, "/v1/log/sth", &sth, &err) < 0 ||
	    bundle_get_json(url, "/v1/log/key", &key, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		goto out;
	}
	if (named_leaf(pj, contest) < 0) {
		if (contest != NULL)
			rc = fail("precinct %lu has no counted result in contest '%s' in the log",
			          pid, contest);
		else
			rc = fail("precinct %lu has no counted result in the log", pid);
		goto out;
	}
	index = (uint64_t)named_leaf(pj, contest);
	rc = check_head(sth, key, log_key_path ? &pin : NULL, &head);
	if (rc != 0)
		goto out;
	rc = 2;
	if (index >= head.tree_size) {
		rc = fail("leaf %" PRIu64 " is not yet under the signed head of size %" PRIu64
		          "; heads follow within a second, try again",
		          index, head.tree_size);
		goto out;
	}

	/* The leaf itself, hashed here: the proof is about these bytes. */
	snprintf(q, sizeof(q), "/v1/log/entries?start=%" PRIu64 "&end=%" PRIu64, index, index + 1);
	if (bundle_get_json(url, q, &page, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		goto out;
	}
	h = json_array_get(json_object_get(page, "entries"), 0);
	if (!json_is_integer(json_object_get(h, "leaf_index")) ||
	    (uint64_t)json_integer_value(json_object_get(h, "leaf_index")) != index ||
	    !json_is_string(json_object_get(h, "leaf")) ||
	    unbase64(json_string_value(json_object_get(h, "leaf")), &leaf, &leaf_len) < 0) {
		rc = fail("the aggregator did not return leaf %" PRIu64, index);
		goto out;
	}
	tally_merkle_leaf_hash(leaf, leaf_len, lh);

	snprintf(q, sizeof(q), "/v1/log/proof?leaf_index=%" PRIu64 "&tree_size=%" PRIu64, index,
	         head.tree_size);
	if (bundle_get_json(url, q, &proof, &err) < 0) {
		fprintf(stderr, "tallyctl prove: %s\n", err.msg);
		goto out;
	}
	arr = json_object_get(proof, "audit_path");
	n = json_array_size(arr);
	path = calloc(n ? n : 1, TALLY_HASH_BYTES);
	if (path == NULL)
		goto out;
	json_array_foreach(arr, i,
	                   h) if (!json_is_string(h) ||
	                          tally_unhex(json_string_value(h), path[i], TALLY_HASH_BYTES) < 0)
	    n = TALLY_MERKLE_MAX_PATH + 1;
	if (n > TALLY_MERKLE_MAX_PATH ||
	    tally_merkle_verify_inclusion(lh, index, head.tree_size,
	                                  (const uint8_t(*)[TALLY_HASH_BYTES])path, n,
	                                  head.root_hash) < 0) {
		rc = fail("the inclusion proof of leaf %" PRIu64 " in the tree of size %" PRIu64
		          " does not hold",
		          index, head.tree_size);
		goto out;
	}

	if (tally_codec_decode_signed(leaf, leaf_len, &s) < 0 ||
	    tally_codec_decode_result(s.payload, s.payload_len, &r) < 0) {
		rc = fail("leaf %" PRIu64 " is not a signed precinct result", index);
		goto out;
	}
	if (r.precinct_id != pid) {
		rc = fail("leaf %" PRIu64 " holds precinct %" PRIu32 ", not %lu", index,
		          r.precinct_id, pid);
		goto out;
	}
	/* An empty contest_id passes validation only in an election of one contest. */
	if (contest != NULL && r.contest_id[0] != '\0' && strcmp(r.contest_id, contest) != 0) {
		rc = fail("leaf %" PRIu64 " holds contest '%s', not '%s'", index, r.contest_id,
		          contest);
		goto out;
	}
	if (kr != NULL) {
		const struct tally_trusted_key *tk = tally_keyring_find(kr, s.key_id);

		if (tk == NULL) {
			rc = fail("leaf %" PRIu64 " is signed by key %s, not a trusted key", index,
			          s.key_id);
			goto out;
		}
		if (strcmp(tk->region_id, r.region_id) != 0 ||
		    tally_sign_verify(&tk->key, s.payload, s.payload_len, s.signature,
		                      s.signature_len) < 0) {
			rc =
			    fail("leaf %" PRIu64 ": the signature by key %s (region '%s') does not "
			         "hold for a result of region '%s'",
			         index, s.key_id, tk->region_id, r.region_id);
			goto out;
		}
	}
	tally_hex(head.root_hash, TALLY_HASH_BYTES, root);
	if (contest != NULL)
		printf("INCLUDED: leaf %" PRIu64 " of the log holds precinct %lu in contest '%s', "
		       "revision %" PRIu32 ",\n",
		       index, pid, contest, r.revision);
	else
		printf("INCLUDED: leaf %" PRIu64 " of the log holds precinct %lu, revision %" PRIu32
		       ",\n",
		       index, pid, r.revision);
	printf("  under the signed tree head of size %" PRIu64 ", root %s,\n", head.tree_size,
	       root);
	printf("  signed by log key %s at %" PRIu64 " ms since the epoch.\n",
	       json_string_value(json_object_get(key, "key_id")), head.timestamp_ms);
	printf("  The aggregator names this leaf as the counted result; inclusion does not\n"
	       "  prove that (--counted replays the log to check it).\n");
	printf("  result signed by key %s%s:\n", s.key_id,
	       kr != NULL ? " (trusted, signature checked)" : " (not checked: no --trusted-keys)");
	print_result(&r);
	rc = 0;
out:
	tally_signed_result_clear(&s);
	free(path);
	free(leaf);
	json_decref(pj);
	json_decref(sth);
	json_decref(key);
	json_decref(page);
	json_decref(proof);
	tally_keyring_free(kr);
	return rc;
}
