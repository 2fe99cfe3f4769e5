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
	char who[160];

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
		snprintf(who, sizeof(who),
		         "leaf %" PRIu64 " (precinct %" PRIu32 ", region '%s', revision %" PRIu32
		         ")",
		         i, r.precinct_id, r.region_id, r.revision);
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
		if (o != TALLY_OUTCOME_ACCEPTED && o != TALLY_OUTCOME_CONFLICT)
			r = audit_addf(
			    a,
			    "leaf %" PRIu64 " (precinct %" PRIu32 ", region '%s', revision %" PRIu32
			    "): replayed in log order it is %s; only accepted and conflicting "
			    "results belong in the log",
			    i, res.precinct_id, res.region_id, res.revision, tally_outcome_str(o));
	}
	return r;
}

/* ---- the totals ---- */

static int compare(struct audit *a, const char *path, json_t *want, json_t *got);

static int compare_object(struct audit *a, const char *path, json_t *want, json_t *got)
{
	const char *k;
	json_t *v;
	int r = 0;

	json_object_foreach(want, k, v)
	{
		char sub[256];

		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
		r = compare(a, sub, v, json_object_get(got, k));
		if (r < 0)
			break;
	}
	return r;
}

static int compare_array(struct audit *a, const char *path, json_t *want, json_t *got)
{
	size_t i;
	json_t *v;
	int r = 0;

	if (json_array_size(want) != json_array_size(got)) {
		r = audit_addf(a, "totals %s: published %zu elements, recomputed %zu", path,
		               json_array_size(got), json_array_size(want));
		if (r < 0)
			return r;
	}
	json_array_foreach(want, i, v)
	{
		const char *id = str_of(v, "id");
		json_t *match = NULL;
		char sub[256];

		/* Regions are matched by id, whatever order they were published in. */
		if (id != NULL) {
			size_t j;
			json_t *g;

			json_array_foreach(got, j, g) if (str_of(g, "id") &&
			                                  strcmp(str_of(g, "id"), id) == 0) match =
			    g;
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
	char *ws, *gs;
	int r;

	if (got == NULL)
		return audit_addf(a, "totals %s: missing from the published totals", path);
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
	ws = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
	gs = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
	r = audit_addf(a, "totals %s: published %s, recomputed from the log %s", path,
	               gs ? gs : "?", ws ? ws : "?");
	free(ws);
	free(gs);
	return r;
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
	r = compare(a, "", doc, a->totals);
	json_decref(doc);
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

int audit_counted(const struct audit *a, uint32_t precinct_id, struct audit_counted *ret)
{
	const struct tally_slot_state *st;
	int64_t i;

	if (a->replayed == NULL)
		return -EAGAIN;
	i = tally_election_precinct_index(a->election, precinct_id);
	if (i < 0)
		return -ENOENT;
	st = tally_totals_state(a->replayed, 0, (size_t)i);
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
