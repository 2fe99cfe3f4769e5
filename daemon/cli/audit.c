/*
 * audit.c: the observer's checks of a published record (see audit.h for
 * the list). It owns the received leaves (one arena of raw SignedResult
 * bytes, so a million leaves cost their size and not a million
 * allocations), the Merkle tree rebuilt from them, the replayed totals and
 * the list of discrepancies. Signature checks, the slow part, run on
 * several threads over disjoint ranges of leaves, each writing only its
 * leaves' verdict bytes; the replay that follows is sequential because
 * reconciliation depends on log order. Fetching and file reading are left
 * to bundle.c, printing to cmd_verify.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "audit_seats.h"
#include "tally/decision.h"
#include "tally/codec.h"
#include "tally/merkle.h"
#include "tally/totals.h"
#include "tally/validate.h"

/* Beyond this many stored lines, discrepancies are only counted. */
#define MSGS_MAX 10000

/* A leaf's verdict from the parallel pass. */
enum leaf_status {
	LEAF_OK = 0,
	LEAF_NOT_SIGNED_RESULT,
	LEAF_BAD_PAYLOAD,
	LEAF_UNKNOWN_KEY,
	LEAF_WRONG_REGION,
	LEAF_BAD_SIGNATURE,
	LEAF_FAILED_CHECK,
};

/* Owned by its creator; borrows election, keyring and pinned key's copy is its own. */
struct audit {
	const struct tally_election *election;
	const struct tally_keyring *keyring;
	bool pinned;
	struct tally_public_key pin;

	json_t *sth, *log_key, *totals;

	/* Leaves in arrival order: bytes of leaf i are arena[off[i]..off[i+1]). */
	uint8_t *arena;
	size_t arena_len, arena_cap;
	uint64_t *off;
	uint64_t n, off_cap;
	uint64_t next_index; /* the leaf_index the next entry should carry */
	struct tally_merkle *tree;
	uint8_t *status;
	struct tally_totals *replayed; /* after audit_run: the replay's end state */

	/* What the signed head says (valid once has_head). */
	bool has_head, head_ok;
	struct tally_tree_head head;
	char key_id[TALLY_KEY_ID_LEN + 1];

	char **msgs;
	size_t n_msgs, msgs_cap, n_dropped;
};

int audit_new(const struct tally_election *e, const struct tally_keyring *k, struct audit **ret)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	a->election = e;
	a->keyring = k;
	a->off = malloc(sizeof(uint64_t) * 1024);
	if (a->off == NULL || tally_merkle_new(&a->tree) < 0) {
		audit_free(a);
		return -ENOMEM;
	}
	a->off_cap = 1024;
	a->off[0] = 0;
	*ret = a;
	return 0;
}

struct audit *audit_free(struct audit *a)
{
	if (a == NULL)
		return NULL;
	json_decref(a->sth);
	json_decref(a->log_key);
	json_decref(a->totals);
	free(a->arena);
	free(a->off);
	free(a->status);
	tally_totals_free(a->replayed);
	tally_merkle_free(a->tree);
	for (size_t i = 0; i < a->n_msgs; i++)
		free(a->msgs[i]);
	free(a->msgs);
	free(a);
	return NULL;
}

void audit_pin_log_key(struct audit *a, const struct tally_public_key *k)
{
	a->pinned = true;
	a->pin = *k;
}

int audit_addf(struct audit *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->n_msgs >= MSGS_MAX) {
		a->n_dropped++;
		return 0;
	}
	if (a->n_msgs == a->msgs_cap) {
		size_t cap = a->msgs_cap ? a->msgs_cap * 2 : 16;
		char **m = realloc(a->msgs, cap * sizeof(*m));

		if (m == NULL)
			return -ENOMEM;
		a->msgs = m;
		a->msgs_cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return -ENOMEM;
	a->msgs[a->n_msgs++] = s;
	return 0;
}

size_t audit_count(const struct audit *a)
{
	return a->n_msgs + a->n_dropped;
}

const char *audit_at(const struct audit *a, size_t i)
{
	if (i < a->n_msgs)
		return a->msgs[i];
	return i < audit_count(a) ? "(further discrepancies not kept)" : NULL;
}

static int set_part(json_t **slot, json_t *v)
{
	json_decref(*slot);
	*slot = json_incref(v);
	return 0;
}

int audit_set_head(struct audit *a, json_t *sth)
{
	return set_part(&a->sth, sth);
}

int audit_set_log_key(struct audit *a, json_t *log_key)
{
	return set_part(&a->log_key, log_key);
}

int audit_set_totals(struct audit *a, json_t *totals)
{
	return set_part(&a->totals, totals);
}

/* Decodes standard base64 into a fresh buffer; -EINVAL if not exactly base64. */
static int unbase64(const char *s, size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t max = len / 4 * 3 + 3, out = 0;
	const char *end = NULL;
	uint8_t *b = malloc(max ? max : 1);

	if (b == NULL)
		return -ENOMEM;
	if (sodium_base642bin(b, max, s, len, NULL, &out, &end, sodium_base64_VARIANT_ORIGINAL) !=
	        0 ||
	    end != s + len) {
		free(b);
		return -EINVAL;
	}
	*ret = b;
	*ret_len = out;
	return 0;
}

static int grow_arena(struct audit *a, size_t more)
{
	if (a->arena_len + more > a->arena_cap) {
		size_t cap = a->arena_cap ? a->arena_cap : 1 << 20;
		uint8_t *p;

		while (cap < a->arena_len + more)
			cap *= 2;
		p = realloc(a->arena, cap);
		if (p == NULL)
			return -ENOMEM;
		a->arena = p;
		a->arena_cap = cap;
	}
	if (a->n + 2 > a->off_cap) {
		uint64_t *p = realloc(a->off, sizeof(uint64_t) * a->off_cap * 2);

		if (p == NULL)
			return -ENOMEM;
		a->off = p;
		a->off_cap *= 2;
	}
	return 0;
}

int audit_add_entry(struct audit *a, json_t *entry)
{
	json_t *ji = json_object_get(entry, "leaf_index");
	json_t *jl = json_object_get(entry, "leaf");
	uint8_t h[TALLY_HASH_BYTES], *leaf = NULL;
	size_t len = 0;
	uint64_t index;
	int r;

	if (!json_is_integer(ji) || json_integer_value(ji) < 0 || !json_is_string(jl)) {
		return audit_addf(a,
		                  "entry %" PRIu64 " of the entries list is not {\"leaf_index\": "
		                  "number, \"leaf\": base64}",
		                  a->n);
	}
	index = (uint64_t)json_integer_value(ji);
	if (unbase64(json_string_value(jl), json_string_length(jl), &leaf, &len) < 0)
		return audit_addf(a, "leaf %" PRIu64 ": \"leaf\" is not base64", index);
	/*
	 * The log is a sequence: any gap or repetition means the published
	 * entries are not the log the head commits to.
	 */
	if (index > a->next_index) {
		if (index == a->next_index + 1)
			r = audit_addf(a, "leaf %" PRIu64 " is missing from the entries",
			               a->next_index);
		else
			r = audit_addf(
			    a, "leaves %" PRIu64 " to %" PRIu64 " are missing from the entries",
			    a->next_index, index - 1);
		if (r < 0)
			goto out;
	} else if (index < a->next_index) {
		r = audit_addf(a,
		               "leaf %" PRIu64 " appears out of order (after leaf %" PRIu64
		               ") in the entries",
		               index, a->next_index - 1);
		if (r < 0)
			goto out;
	}
	if (index >= a->next_index)
		a->next_index = index + 1;
	r = grow_arena(a, len);
	if (r < 0)
		goto out;
	memcpy(a->arena + a->arena_len, leaf, len);
	a->arena_len += len;
	a->off[++a->n] = a->arena_len;
	tally_merkle_leaf_hash(leaf, len, h);
	r = tally_merkle_append(a->tree, h);
out:
	free(leaf);
	return r;
}

/* ---- the head ---- */

static const char *str_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The key heads must verify with: the pinned one, else the published one. */
static int check_log_key(struct audit *a, struct tally_public_key *ret)
{
	struct tally_public_key pub;
	struct tally_err err;
	const char *pem = str_of(a->log_key, "public_key_pem");
	const char *id = str_of(a->log_key, "key_id");
	bool have = false;
	int r;

	if (pem == NULL) {
		r = audit_addf(a, "the record has no log key (\"log_key\".\"public_key_pem\")");
	} else if (tally_sign_public_from_pem(pem, &pub, &err) < 0) {
		r = audit_addf(a, "log key is not an Ed25519 public key: %s", err.msg);
	} else {
		have = true;
		r = 0;
		if (id == NULL || strcmp(id, pub.key_id) != 0)
			r = audit_addf(a, "log key: published key_id %s, but the key's id is %s",
			               id ? id : "(none)", pub.key_id);
	}
	if (r < 0)
		return r;
	if (a->pinned) {
		if (have && strcmp(pub.key_id, a->pin.key_id) != 0) {
			r = audit_addf(a, "log key %s is not the pinned log key %s", pub.key_id,
			               a->pin.key_id);
			if (r < 0)
				return r;
		}
		*ret = a->pin;
		return 1;
	}
	if (have)
		*ret = pub;
	return have ? 1 : 0;
}

static int check_head(struct audit *a)
{
	struct tally_public_key key;
	json_t *sth = a->sth;
	const char *thb = str_of(sth, "tree_head"), *sigb = str_of(sth, "signature");
	const char *kid = str_of(sth, "key_id"), *root_hex = str_of(sth, "root_hash");
	uint8_t *th = NULL, *sig = NULL, root[TALLY_HASH_BYTES];
	size_t th_len = 0, sig_len = 0;
	int have_key, r = 0;

	have_key = check_log_key(a, &key);
	if (have_key < 0)
		return have_key;
	if (sth == NULL)
		return audit_addf(a, "the record has no signed tree head");
	if (thb == NULL || unbase64(thb, strlen(thb), &th, &th_len) < 0) {
		r = audit_addf(a, "tree head: \"tree_head\" is missing or not base64");
		goto out;
	}
	if (tally_codec_decode_tree_head(th, th_len, &a->head) < 0) {
		r = audit_addf(a, "tree head: \"tree_head\" is not a TreeHead message");
		goto out;
	}
	a->has_head = true;
	snprintf(a->key_id, sizeof(a->key_id), "%s", kid ? kid : "");
	if (have_key && (kid == NULL || strcmp(kid, key.key_id) != 0)) {
		r = audit_addf(a, "tree head names signing key %s, but the log key is %s",
		               kid ? kid : "(none)", key.key_id);
		if (r < 0)
			goto out;
	}
	if (sigb == NULL || unbase64(sigb, strlen(sigb), &sig, &sig_len) < 0) {
		r = audit_addf(a, "tree head: \"signature\" is missing or not base64");
		if (r < 0)
			goto out;
	} else if (have_key) {
		if (tally_sign_verify(&key, th, th_len, sig, sig_len) == 0)
			a->head_ok = true;
		else if ((r = audit_addf(a,
		                         "tree head signature does not verify with log key %s: "
		                         "the head of size %" PRIu64 " is forged or damaged",
		                         key.key_id, a->head.tree_size)) < 0)
			goto out;
	}
	/* The JSON fields are conveniences; they must say what the signed bytes say. */
	if (!json_is_integer(json_object_get(sth, "tree_size")) ||
	    (uint64_t)json_integer_value(json_object_get(sth, "tree_size")) != a->head.tree_size)
		if ((r = audit_addf(
		         a, "tree head: \"tree_size\" differs from the signed size %" PRIu64,
		         a->head.tree_size)) < 0)
			goto out;
	if (root_hex == NULL || tally_unhex(root_hex, root, sizeof(root)) < 0 ||
	    memcmp(root, a->head.root_hash, sizeof(root)) != 0)
		if ((r = audit_addf(a, "tree head: \"root_hash\" differs from the signed root")) <
		    0)
			goto out;
	if (!json_is_integer(json_object_get(sth, "timestamp_ms")) ||
	    (uint64_t)json_integer_value(json_object_get(sth, "timestamp_ms")) !=
	        a->head.timestamp_ms)
		if ((r = audit_addf(
		         a, "tree head: \"timestamp_ms\" differs from the signed time")) < 0)
			goto out;
	if (strcmp(a->head.election_id, a->election->election_id) != 0)
		r = audit_addf(a, "tree head is for election '%s', not '%s'", a->head.election_id,
		               a->election->election_id);
out:
	free(th);
	free(sig);
	return r;
}

static int check_root(struct audit *a)
{
	uint8_t root[TALLY_HASH_BYTES];
	char got[2 * TALLY_HASH_BYTES + 1], want[2 * TALLY_HASH_BYTES + 1];
	uint64_t size = a->head.tree_size;
	int r = 0;

	if (a->n < size)
		r = audit_addf(a,
		               "the entries hold %" PRIu64 " leaves, the head's tree has %" PRIu64,
		               a->n, size);
	else if (a->n > size)
		r = audit_addf(a,
		               "the entries hold %" PRIu64 " leaves, %" PRIu64
		               " more than the head's tree size %" PRIu64,
		               a->n, a->n - size, size);
	if (r < 0)
		return r;
	tally_merkle_root(a->tree, a->n < size ? a->n : size, root);
	if (memcmp(root, a->head.root_hash, sizeof(root)) != 0) {
		tally_hex(a->head.root_hash, TALLY_HASH_BYTES, want);
		tally_hex(root, TALLY_HASH_BYTES, got);
		r = audit_addf(a, "Merkle root: head says %s, the entries give %s", want, got);
	}
	return r;
}

/* ---- the leaves ---- */

/* s with control bytes shown as '?': ids come from signed payloads, and
 * one discrepancy is one line. */
static const char *printable(const char *s, char *buf, size_t cap)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < cap; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/*
 * How a discrepancy names leaf i: "leaf 7 (precinct 12, region 'R1',
 * revision 2)", and in an election with contests also the contest the
 * result is for, as its payload names it ("" is the only contest's).
 */
static void leaf_who(const struct tally_election *e, uint64_t i, const struct tally_result *r,
                     char *buf, size_t cap)
{
	char region[TALLY_ID_MAX], contest[TALLY_ID_MAX];
	const char *cid = r->contest_id;

	printable(r->region_id, region, sizeof(region));
	if (tally_election_is_legacy(e)) {
		snprintf(buf, cap,
		         "leaf %" PRIu64 " (precinct %" PRIu32 ", region '%s', revision %" PRIu32
		         ")",
		         i, r->precinct_id, region, r->revision);
		return;
	}
	if (cid[0] == '\0' && e->n_contests == 1)
		cid = e->contests[0].id;
	printable(cid, contest, sizeof(contest));
	snprintf(buf, cap,
	         "leaf %" PRIu64 " (precinct %" PRIu32
	         ", region '%s', contest '%s', revision %" PRIu32 ")",
	         i, r->precinct_id, region, contest, r->revision);
}

/*
 * Checks leaf i. With msg, also writes the sentence for a failure. With
 * ret_r/ret_hash (and a passing leaf), returns the decoded result and its
 * payload hash. When verify is false, the signature is taken as checked.
 */
static enum leaf_status check_leaf(const struct audit *a, uint64_t i, bool verify, char *msg,
                                   size_t msg_len, struct tally_result *ret_r,
                                   uint8_t ret_hash[TALLY_HASH_BYTES])
{
	struct tally_signed_result s = {0};
	const struct tally_trusted_key *tk;
	struct tally_verdict v;
	struct tally_result r;
	enum leaf_status st = LEAF_OK;
	char who[256];

	if (tally_codec_decode_signed(a->arena + a->off[i], a->off[i + 1] - a->off[i], &s) < 0) {
		if (msg)
			snprintf(msg, msg_len, "leaf %" PRIu64 ": not a SignedResult", i);
		return LEAF_NOT_SIGNED_RESULT;
	}
	if (tally_codec_decode_result(s.payload, s.payload_len, &r) < 0) {
		if (msg)
			snprintf(msg, msg_len,
			         "leaf %" PRIu64
			         ": signed payload is not a PrecinctResult (key %s)",
			         i, s.key_id);
		st = LEAF_BAD_PAYLOAD;
		goto out;
	}
	if (msg)
		leaf_who(a->election, i, &r, who, sizeof(who));
	tk = tally_keyring_find(a->keyring, s.key_id);
	if (tk == NULL) {
		if (msg)
			snprintf(msg, msg_len, "%s: signed by key %s, which is not a trusted key",
			         who, s.key_id);
		st = LEAF_UNKNOWN_KEY;
		goto out;
	}
	if (strcmp(tk->region_id, r.region_id) != 0) {
		if (msg)
			snprintf(msg, msg_len, "%s: signed by key %s of region '%s', not of '%s'",
			         who, s.key_id, tk->region_id, r.region_id);
		st = LEAF_WRONG_REGION;
		goto out;
	}
	if (verify && tally_sign_verify(&tk->key, s.payload, s.payload_len, s.signature,
	                                s.signature_len) < 0) {
		if (msg)
			snprintf(msg, msg_len,
			         "%s: Ed25519 signature does not verify with key %s (%s)", who,
			         s.key_id, tk->region_id);
		st = LEAF_BAD_SIGNATURE;
		goto out;
	}
	if (tally_validate_result(a->election, &r, &v) < 0) {
		if (msg)
			snprintf(msg, msg_len, "%s: fails %s (%s): %s", who, v.relation,
			         tally_reject_code_str(v.code), v.reason);
		st = LEAF_FAILED_CHECK;
		goto out;
	}
	if (ret_r)
		*ret_r = r;
	if (ret_hash)
		tally_sha256(s.payload, s.payload_len, ret_hash);
out:
	tally_signed_result_clear(&s);
	return st;
}

struct worker {
	struct audit *a;
	uint64_t from, to;
	pthread_t thread;
};

static void *check_range(void *arg)
{
	struct worker *w = arg;

	for (uint64_t i = w->from; i < w->to; i++)
		w->a->status[i] = (uint8_t)check_leaf(w->a, i, true, NULL, 0, NULL, NULL);
	return NULL;
}

static int check_leaves(struct audit *a, uint64_t n, int threads)
{
	struct worker w[16];
	int started = 0;

	if (threads < 1)
		threads = 1;
	if (threads > 16)
		threads = 16;
	a->status = calloc(n ? n : 1, 1);
	if (a->status == NULL)
		return -ENOMEM;
	for (int t = 0; t < threads; t++) {
		w[t].a = a;
		w[t].from = n * (uint64_t)t / (uint64_t)threads;
		w[t].to = n * (uint64_t)(t + 1) / (uint64_t)threads;
		/* The first range runs on this thread. */
		if (t > 0 && pthread_create(&w[t].thread, NULL, check_range, &w[t]) == 0)
			started |= 1 << t;
		else if (t > 0)
			check_range(&w[t]);
	}
	check_range(&w[0]);
	for (int t = 1; t < threads; t++)
		if (started & (1 << t))
			pthread_join(w[t].thread, NULL);
	return 0;
}

/* Replays reconciliation over leaves [0, n) in log order into t. */
static int replay(struct audit *a, uint64_t n, struct tally_totals *t)
{
	char msg[TALLY_REASON_MAX + 512];
	int r = 0;

	for (uint64_t i = 0; i < n && r == 0; i++) {
		uint8_t hash[TALLY_HASH_BYTES];
		enum tally_outcome o;
		struct tally_result res;

		if (a->status[i] != LEAF_OK) {
			check_leaf(a, i, true, msg, sizeof(msg), NULL, NULL);
			r = audit_addf(a, "%s", msg);
			continue;
		}
		check_leaf(a, i, false, NULL, 0, &res, hash);
		r = tally_totals_apply(t, &res, hash, (int64_t)i, &o);
		if (r < 0)
			return r;
		if (o != TALLY_OUTCOME_ACCEPTED && o != TALLY_OUTCOME_CONFLICT) {
			leaf_who(a->election, i, &res, msg, sizeof(msg));
			r = audit_addf(a,
			               "%s: replayed in log order it is %s; only accepted and "
			               "conflicting results belong in the log",
			               msg, tally_outcome_str(o));
		}
	}
	return r;
}

/* ---- the totals ---- */

/*
 * How a discrepancy names a place in the totals document. A path inside
 * a contest's entry ("contests[party-list].national.votes.amanat") says
 * "contest party-list: totals national.votes.amanat"; in an election with
 * contests, a document without "contests" is about its first contest (an
 * election of one contest publishes today's document); the legacy
 * referendum's lines are as they always were ("totals national...").
 */
static void path_label(const struct audit *a, const char *path, char *buf, size_t cap)
{
	const struct tally_election *e = a->election;
	static const char *const figures[] = {"national", "regions", "districts", "decision"};

	if (strncmp(path, "contests[", 9) == 0) {
		const char *end = strchr(path + 9, ']');

		if (end != NULL) {
			const char *rest = end[1] == '.' ? end + 2 : end + 1;
			int n = (int)(end - (path + 9));

			if (*rest != '\0')
				snprintf(buf, cap, "contest %.*s: totals %s", n, path + 9, rest);
			else
				snprintf(buf, cap, "contest %.*s", n, path + 9);
			return;
		}
	}
	if (!tally_election_is_legacy(e)) {
		for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
			size_t len = strlen(figures[i]);

			if (strncmp(path, figures[i], len) == 0 &&
			    (path[len] == '\0' || path[len] == '.' || path[len] == '[')) {
				snprintf(buf, cap, "contest %s: totals %s", e->contests[0].id,
				         path);
				return;
			}
		}
	}
	snprintf(buf, cap, "totals %s", path);
}

static int compare(struct audit *a, const char *path, json_t *want, json_t *got);

static int compare_object(struct audit *a, const char *path, json_t *want, json_t *got)
{
	const char *k;
	json_t *v;
	int r = 0;

	json_object_foreach(want, k, v)
	{
		char sub[512];

		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
		r = compare(a, sub, v, json_object_get(got, k));
		if (r < 0)
			break;
	}
	return r;
}

/* The element of array arr whose "id" is id, or NULL. */
static json_t *find_by_id(json_t *arr, const char *id)
{
	size_t j;
	json_t *g;

	json_array_foreach(arr, j, g)
	{
		const char *gid = str_of(g, "id");

		if (gid != NULL && strcmp(gid, id) == 0)
			return g;
	}
	return NULL;
}

static int compare_array(struct audit *a, const char *path, json_t *want, json_t *got)
{
	char label[640];
	size_t i;
	json_t *v;
	int r = 0;

	if (json_array_size(want) != json_array_size(got)) {
		path_label(a, path, label, sizeof(label));
		r = audit_addf(a, "%s: published %zu elements, recomputed %zu", label,
		               json_array_size(got), json_array_size(want));
		if (r < 0)
			return r;
	}
	json_array_foreach(want, i, v)
	{
		const char *id = str_of(v, "id");
		json_t *match = NULL;
		char sub[512];

		/* Contests, regions and districts are matched by id, in whatever
		 * order they were published. */
		if (id != NULL) {
			match = find_by_id(got, id);
			snprintf(sub, sizeof(sub), "%s[%s]", path, id);
		} else {
			match = json_array_get(got, i);
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		}
		r = compare(a, sub, v, match);
		if (r < 0)
			break;
	}
	return r;
}

static int compare(struct audit *a, const char *path, json_t *want, json_t *got)
{
	char label[640], *ws, *gs;
	int r;

	if (got == NULL) {
		path_label(a, path, label, sizeof(label));
		return audit_addf(a, "%s: missing from the published totals", label);
	}
	if (json_is_object(want) && json_is_object(got))
		return compare_object(a, path, want, got);
	if (json_is_array(want) && json_is_array(got))
		return compare_array(a, path, want, got);
	if (json_is_integer(want) && json_is_integer(got) &&
	    json_integer_value(want) == json_integer_value(got))
		return 0;
	if (json_is_real(want) && json_is_number(got) &&
	    fabs(json_real_value(want) - json_number_value(got)) < 1e-9)
		return 0;
	if (json_is_string(want) && json_is_string(got) &&
	    strcmp(json_string_value(want), json_string_value(got)) == 0)
		return 0;
	if (json_is_boolean(want) && json_is_boolean(got) &&
	    json_boolean_value(want) == json_boolean_value(got))
		return 0;
	if (json_is_null(want) && json_is_null(got))
		return 0;
	path_label(a, path, label, sizeof(label));
	ws = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
	gs = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
	r = audit_addf(a, "%s: published %s, recomputed from the log %s", label, gs ? gs : "?",
	               ws ? ws : "?");
	free(ws);
	free(gs);
	return r;
}

/* ---- the decisions ---- */

/*
 * Members of a published decision that check_decision() holds against the
 * recomputation one by one, in words; the rest (reasons, rules) are
 * compared as JSON.
 */
static const char *const DECIDED[] = {"status", "final",  "ranking", "elected", "runoff",
                                      "tie",    "passed", "seats",   "vacant"};

/* The verifier's expectations of a party list, from audit_seats.c. */
struct own_seats {
	bool passed[TALLY_MAX_OPTIONS];
	uint32_t seats[TALLY_MAX_OPTIONS];
	uint32_t vacant;
	uint32_t tie_seats;
	size_t n_tied;
	uint32_t tied[TALLY_MAX_OPTIONS];
};

/* "'a', 'b'" for option indexes, "none" for none. */
static const char *ids_text(const struct tally_contest *c, const uint32_t *idx, size_t n, char *buf,
                            size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s'%s'", i ? ", " : "",
		                        c->options[idx[i]].id);
	if (n == 0)
		snprintf(buf, cap, "none");
	return buf;
}

/* The same for a published array of ids; "(missing)" if it is not one. */
static const char *json_ids_text(json_t *arr, char *buf, size_t cap)
{
	size_t len = 0, i;
	json_t *v;

	if (!json_is_array(arr)) {
		snprintf(buf, cap, json_is_null(arr) ? "none" : "(missing)");
		return buf;
	}
	buf[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		char id[TALLY_ID_MAX];

		if (len >= cap)
			break;
		printable(json_is_string(v) ? json_string_value(v) : "?", id, sizeof(id));
		len += (size_t)snprintf(buf + len, cap - len, "%s'%s'", i ? ", " : "", id);
	}
	if (json_array_size(arr) == 0)
		snprintf(buf, cap, "none");
	return buf;
}

/* "1 seat among 'a', 'b'" or "none". */
static const char *tie_text(const struct tally_contest *c, uint32_t seats, const uint32_t *tied,
                            size_t n, char *buf, size_t cap)
{
	char list[4096];

	if (seats == 0)
		snprintf(buf, cap, "none");
	else
		snprintf(buf, cap, "%" PRIu32 " seat%s among %s", seats, seats == 1 ? "" : "s",
		         ids_text(c, tied, n, list, sizeof(list)));
	return buf;
}

static const char *json_tie_text(json_t *tie, char *buf, size_t cap)
{
	json_t *seats = json_object_get(tie, "seats");
	char list[4096];

	if (json_is_null(tie))
		snprintf(buf, cap, "none");
	else if (!json_is_object(tie) || !json_is_integer(seats))
		snprintf(buf, cap, "(missing)");
	else
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT " seat%s among %s",
		         json_integer_value(seats), json_integer_value(seats) == 1 ? "" : "s",
		         json_ids_text(json_object_get(tie, "options"), list, sizeof(list)));
	return buf;
}

static const char *json_int_text(json_t *v, char *buf, size_t cap)
{
	if (json_is_integer(v))
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(buf, cap, "(missing)");
	return buf;
}

/* One line when the published text differs from the recomputed one. */
static int differ(struct audit *a, const char *contest, const char *what, const char *published,
                  const char *recomputed)
{
	if (strcmp(published, recomputed) == 0)
		return 0;
	return audit_addf(a, "contest %s: %s: published %s, recomputed %s", contest, what,
	                  published, recomputed);
}

/* One line when decision.c's allocation differs from the verifier's own. */
static int disagree(struct audit *a, const char *contest, const char *what, const char *shared,
                    const char *own)
{
	if (strcmp(shared, own) == 0)
		return 0;
	return audit_addf(a,
	                  "contest %s: %s: the shared seat allocation (seats.c) gives %s, the "
	                  "verifier's own %s",
	                  contest, what, shared, own);
}

/*
 * What decision.c is given for contest ci: the replayed figures and the
 * definition's registered voters of the precincts not yet reported, over
 * the scope and per region. *ret_regions is the caller's to free.
 */
static int decision_input(const struct tally_totals *t, size_t ci, struct tally_decision_input *ret,
                          uint64_t **ret_regions)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	const struct tally_contest_totals *ct = &t->contests[ci];
	uint64_t *regions = calloc(c->n_regions ? c->n_regions : 1, sizeof(*regions));

	if (regions == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < c->n_precincts; k++) {
		const struct tally_precinct *p = &e->precincts[c->precincts[k]];
		int pos = tally_contest_region_position(c, p->region);

		if (pos >= 0)
			regions[pos] += p->registered;
	}
	for (size_t k = 0; k < c->n_regions; k++)
		regions[k] = regions[k] > ct->region_reported_definition_registered[k]
		                 ? regions[k] - ct->region_reported_definition_registered[k]
		                 : 0;
	*ret = (struct tally_decision_input){
	    .e = e,
	    .c = c,
	    .national = &ct->national,
	    .regions = ct->regions,
	    .unreported_registered = c->registered > ct->reported_definition_registered
	                                 ? c->registered - ct->reported_definition_registered
	                                 : 0,
	    .region_unreported_registered = regions,
	};
	*ret_regions = regions;
	return 0;
}

/*
 * A party list's seats by the verifier's own count (audit_seats.c) over
 * the replayed votes, the threshold's base being the rules' threshold_of.
 * A list whose turnout rule surely failed seats nobody, as decision.c
 * says once it is final.
 */
static int own_seats(const struct tally_contest *c, const struct tally_figures *f, bool failed,
                     struct own_seats *ret)
{
	struct audit_seats_contest in;
	struct audit_seats_outcome out;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (failed) {
		ret->vacant = c->seats;
		return 0;
	}
	memset(&in, 0, sizeof(in));
	in.n_lists = c->n_options;
	for (size_t i = 0; i < c->n_options; i++)
		in.lists[i] = (struct audit_seats_list){f->votes[i], c->options[i].list_length,
		                                        c->options[i].against_all};
	in.seats = c->seats;
	in.threshold_ppm = c->rules.threshold_ppm;
	in.threshold_base = tally_figures_denominator(f, c->rules.threshold_of);
	in.method = c->rules.method;
	in.tie = c->rules.tie;
	in.overflow = c->rules.overflow;
	r = audit_seats_compute(&in, &out);
	if (r < 0)
		return r;
	memcpy(ret->passed, out.passed, sizeof(ret->passed));
	memcpy(ret->seats, out.won, sizeof(ret->seats));
	ret->vacant = out.vacant;
	ret->tie_seats = out.lot_seats;
	ret->n_tied = out.n_lot;
	memcpy(ret->tied, out.lot, sizeof(ret->tied));
	return 0;
}

/* The passed lists' indexes, ballot order. */
static size_t passed_of(const struct tally_contest *c, const bool *passed, uint32_t *ret)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_options; i++)
		if (passed[i])
			ret[n++] = (uint32_t)i;
	return n;
}

/*
 * A party list's seats: the verifier's own allocation against the
 * published one and against decision.c's (which the aggregator publishes),
 * so a wrong seat is named once and a fault of either count shows.
 */
static int check_seats(struct audit *a, const struct tally_contest *c, json_t *pub,
                       const struct tally_decision_result *d, const struct own_seats *own)
{
	char p[4096], q[4096], what[TALLY_ID_MAX + 16];
	json_t *seats = json_object_get(pub, "seats");
	uint32_t idx[TALLY_MAX_OPTIONS];
	int r = 0;

	for (size_t i = 0; i < c->n_options && r == 0; i++) {
		snprintf(what, sizeof(what), "seats of '%s'", c->options[i].id);
		snprintf(q, sizeof(q), "%" PRIu32, own->seats[i]);
		r = differ(a, c->id, what,
		           json_int_text(json_object_get(seats, c->options[i].id), p, sizeof(p)),
		           q);
		snprintf(p, sizeof(p), "%" PRIu32, d->seats.seats[i]);
		if (r == 0)
			r = disagree(a, c->id, what, p, q);
	}
	if (r == 0) {
		snprintf(q, sizeof(q), "%" PRIu32, own->vacant);
		r = differ(a, c->id, "vacant seats",
		           json_int_text(json_object_get(pub, "vacant"), p, sizeof(p)), q);
		snprintf(p, sizeof(p), "%" PRIu32, d->seats.vacant);
		if (r == 0)
			r = disagree(a, c->id, "vacant seats", p, q);
	}
	if (r == 0) {
		ids_text(c, idx, passed_of(c, own->passed, idx), q, sizeof(q));
		r = differ(a, c->id, "passed the threshold",
		           json_ids_text(json_object_get(pub, "passed"), p, sizeof(p)), q);
		ids_text(c, idx, passed_of(c, d->seats.passed, idx), p, sizeof(p));
		if (r == 0)
			r = disagree(a, c->id, "passed the threshold", p, q);
	}
	if (r == 0) {
		tie_text(c, own->tie_seats, own->tied, own->n_tied, q, sizeof(q));
		r = differ(a, c->id, "tie",
		           json_tie_text(json_object_get(pub, "tie"), p, sizeof(p)), q);
		tie_text(c, d->tie_seats, d->tied, d->n_tied, p, sizeof(p));
		if (r == 0)
			r = disagree(a, c->id, "tie", p, q);
	}
	return r;
}

/* A candidate contest's ranking, elected, runoff and tie. */
static int check_candidates(struct audit *a, const struct tally_contest *c, json_t *pub,
                            const struct tally_decision_result *d)
{
	char p[4096], q[4096];
	int r;

	r = differ(a, c->id, "ranking",
	           json_ids_text(json_object_get(pub, "ranking"), p, sizeof(p)),
	           ids_text(c, d->ranking, d->n_ranking, q, sizeof(q)));
	if (r == 0)
		r = differ(a, c->id, "elected",
		           json_ids_text(json_object_get(pub, "elected"), p, sizeof(p)),
		           ids_text(c, d->elected, d->n_elected, q, sizeof(q)));
	if (r == 0)
		r = differ(a, c->id, "runoff",
		           json_ids_text(json_object_get(pub, "runoff"), p, sizeof(p)),
		           ids_text(c, d->runoff, d->has_runoff ? 2 : 0, q, sizeof(q)));
	if (r == 0)
		r = differ(a, c->id, "tie",
		           json_tie_text(json_object_get(pub, "tie"), p, sizeof(p)),
		           tie_text(c, d->tie_seats, d->tied, d->n_tied, q, sizeof(q)));
	return r;
}

/* Contest ci's published decision against decision.c over the replay. */
static int check_decision(struct audit *a, struct tally_totals *t, size_t ci, json_t *pub)
{
	const struct tally_contest *c = &a->election->contests[ci];
	struct tally_decision_input in;
	struct tally_decision_result *d = NULL;
	struct own_seats own;
	uint64_t *regions = NULL;
	json_t *doc = NULL, *final = json_object_get(pub, "final");
	json_t *status = json_object_get(pub, "status");
	char p[80], q[80], path[TALLY_ID_MAX + 32];
	int r;

	r = decision_input(t, ci, &in, &regions);
	if (r < 0)
		return r;
	d = malloc(sizeof(*d));
	if (d == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (tally_decide(&in, d) < 0 || tally_decision_to_json(&in, d, &doc) < 0) {
		r = audit_addf(a, "contest %s: its rules cannot be applied to the replayed figures",
		               c->id);
		goto out;
	}
	if (json_is_string(status)) {
		char s[40];

		snprintf(p, sizeof(p), "'%s'", printable(json_string_value(status), s, sizeof(s)));
	} else {
		snprintf(p, sizeof(p), "(missing)");
	}
	snprintf(q, sizeof(q), "'%s'", tally_decision_status_str(d->status));
	r = differ(a, c->id, "decision status", p, q);
	if (r == 0)
		r = differ(a, c->id, "decision final",
		           json_is_boolean(final) ? (json_is_true(final) ? "true" : "false")
		                                  : "(missing)",
		           d->final ? "true" : "false");
	if (r == 0 && c->kind == TALLY_CONTEST_CANDIDATE)
		r = check_candidates(a, c, pub, d);
	if (r == 0 && c->kind == TALLY_CONTEST_PARTY_LIST) {
		r = own_seats(c, &in.national[0], d->final && d->status == TALLY_STATUS_FAILED,
		              &own);
		if (r < 0)
			r = audit_addf(
			    a, "contest %s: the verifier's own allocation refuses its rules",
			    c->id);
		else
			r = check_seats(a, c, pub, d, &own);
	}
	if (r < 0)
		goto out;
	/* The rest (reasons, rules) as JSON. */
	for (size_t i = 0; i < sizeof(DECIDED) / sizeof(DECIDED[0]); i++)
		json_object_del(doc, DECIDED[i]);
	if (json_is_array(json_object_get(a->totals, "contests")))
		snprintf(path, sizeof(path), "contests[%s].decision", c->id);
	else
		snprintf(path, sizeof(path), "decision");
	r = compare(a, path, doc, pub);
out:
	json_decref(doc);
	free(d);
	free(regions);
	return r;
}

/*
 * Every contest's decision (an election with contests; the legacy
 * referendum's decision is part of its document's comparison, as ever).
 * The decision of a contest is in its entry of "contests", or in the
 * document itself for an election of one contest; a document without
 * "contests" in an election of several describes only its first contest's
 * figures and holds no decisions to check.
 */
static int check_decisions(struct audit *a, struct tally_totals *t)
{
	const struct tally_election *e = a->election;
	json_t *list = json_object_get(a->totals, "contests");
	int r = 0;

	if (tally_election_is_legacy(e))
		return 0;
	for (size_t ci = 0; ci < e->n_contests && r == 0; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		json_t *pub;

		if (json_is_array(list)) {
			json_t *entry = find_by_id(list, c->id);

			/* A missing entry is named by the figures' comparison. */
			if (entry == NULL)
				continue;
			pub = json_object_get(entry, "decision");
		} else if (e->n_contests == 1) {
			pub = json_object_get(a->totals, "decision");
		} else {
			continue;
		}
		if (!json_is_object(pub))
			r = audit_addf(a, "contest %s: the published totals carry no decision",
			               c->id);
		else
			r = check_decision(a, t, ci, pub);
	}
	return r;
}

/* Removes the decisions from a recomputed document: check_decisions() has them. */
static void drop_decisions(const struct audit *a, json_t *doc)
{
	json_t *list = json_object_get(doc, "contests"), *v;
	size_t i;

	if (tally_election_is_legacy(a->election))
		return;
	json_object_del(doc, "decision");
	json_array_foreach(list, i, v) json_object_del(v, "decision");
}

static int check_totals(struct audit *a, struct tally_totals *t)
{
	uint8_t digest[TALLY_HASH_BYTES];
	json_t *doc = NULL;
	json_t *seq = json_object_get(a->totals, "sequence");
	int r;

	if (a->has_head) {
		tally_totals_digest(t, digest);
		if (memcmp(digest, a->head.totals_hash, sizeof(digest)) != 0) {
			char w[2 * TALLY_HASH_BYTES + 1], g[2 * TALLY_HASH_BYTES + 1];

			tally_hex(a->head.totals_hash, TALLY_HASH_BYTES, w);
			tally_hex(digest, TALLY_HASH_BYTES, g);
			r = audit_addf(
			    a,
			    "tree head's totals_hash %s does not match the totals replayed "
			    "from the log (%s)",
			    w, g);
			if (r < 0)
				return r;
		}
	}
	if (a->totals == NULL)
		return audit_addf(a, "the record has no totals document");
	if (a->has_head &&
	    (!json_is_integer(seq) || (uint64_t)json_integer_value(seq) != a->head.tree_size)) {
		r = audit_addf(a,
		               "totals document is at sequence %" JSON_INTEGER_FORMAT
		               ", the head at tree size %" PRIu64
		               ": they do not describe the same log",
		               json_integer_value(seq), a->head.tree_size);
		if (r < 0)
			return r;
	}
	r = tally_totals_to_json(t, &doc);
	if (r < 0)
		return r;
	/* The replay's own sequence is what the log holds; compared above against the head. */
	json_object_del(doc, "sequence");
	drop_decisions(a, doc);
	r = compare(a, "", doc, a->totals);
	json_decref(doc);
	if (r == 0)
		r = check_decisions(a, t);
	return r;
}

int audit_run(struct audit *a, int threads)
{
	struct tally_totals *t = NULL;
	uint64_t n;
	int r;

	r = check_head(a);
	if (r < 0)
		return r;
	if (a->has_head) {
		r = check_root(a);
		if (r < 0)
			return r;
	}
	/* Replay what the head commits to (all entries if there is no head). */
	n = a->has_head && a->head.tree_size < a->n ? a->head.tree_size : a->n;
	r = check_leaves(a, n, threads);
	if (r < 0)
		return r;
	r = tally_totals_new(a->election, &t);
	if (r < 0)
		return r;
	r = replay(a, n, t);
	if (r == 0)
		r = check_totals(a, t);
	/* Kept: audit_counted() reads what this replay counted, not a second one. */
	tally_totals_free(a->replayed);
	a->replayed = t;
	return r;
}

bool audit_head_ok(const struct audit *a)
{
	return a->head_ok;
}

uint64_t audit_tree_size(const struct audit *a)
{
	return a->head.tree_size;
}

const uint8_t *audit_root(const struct audit *a)
{
	return a->head.root_hash;
}

const char *audit_log_key_id(const struct audit *a)
{
	return a->key_id;
}

uint64_t audit_leaves(const struct audit *a)
{
	return a->n;
}

int audit_root_at(const struct audit *a, uint64_t size, uint8_t ret[TALLY_HASH_BYTES])
{
	return tally_merkle_root(a->tree, size, ret);
}

int audit_counted(const struct audit *a, uint32_t precinct_id, const char *contest_id,
                  struct audit_counted *ret)
{
	const struct tally_election *e = a->election;
	const struct tally_slot_state *st;
	int64_t i;
	int k;

	if (a->replayed == NULL)
		return -EAGAIN;
	k = tally_election_contest_index(e, contest_id ? contest_id : "");
	if (k < 0)
		return -EINVAL;
	i = tally_election_precinct_index(e, precinct_id);
	if (i < 0)
		return -ENOENT;
	if (tally_election_slot(e, (size_t)k, (size_t)i) < 0)
		return -ENXIO;
	st = tally_totals_state(a->replayed, (size_t)k, (size_t)i);
	ret->leaf_index = st->revision > 0 ? st->leaf_index : -1;
	ret->revision = st->revision;
	ret->conflicts = st->n_conflicts;
	return 0;
}

int audit_leaf(const struct audit *a, uint64_t i, const uint8_t **ret, size_t *ret_len)
{
	if (i >= a->n)
		return -ERANGE;
	*ret = a->arena + a->off[i];
	*ret_len = a->off[i + 1] - a->off[i];
	return 0;
}
