/*
 * cmd_verify.c: `tallyctl verify`, the observer's check of a published
 * record, from a bundle file or a live aggregator. It loads the election and
 * the regions' trusted keys, streams the record into audit.c, and adds the
 * one check that needs memory of the past: the head seen last time (kept in
 * a small state file) must be a prefix of the current log, both by
 * recomputing its root from today's entries and, live, by the aggregator's
 * consistency proof. Exit 0 only when nothing is wrong; every discrepancy
 * is printed as one line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bundle.h"
#include "cli.h"
#include "tally/merkle.h"

#define HEX_HASH (2 * TALLY_HASH_BYTES + 1)

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl verify --election FILE --trusted-keys DIR\n"
	           "                       (--bundle FILE | --url URL) [--state FILE]\n"
	           "                       [--log-key PEM] [--threads N] [--max-report N]\n"
	           "\n"
	           "Checks the signed tree head, the Merkle root over every entry, each leaf's\n"
	           "signature by its region's trusted key and its control relations, replays\n"
	           "reconciliation in log order and compares every published figure with the\n"
	           "recomputed one. In a general election it does so for every contest, and\n"
	           "recomputes each contest's decision and each party list's seats (with an\n"
	           "allocation of its own). With --url (or --state), also checks that the head\n"
	           "seen last time is a prefix of the current log. Exit 0 if everything holds,\n"
	           "1 if not (each discrepancy is printed), 2 on usage or I/O errors.\n"
	           "\n"
	           "  --state FILE    where the last verified head is kept (default with --url:\n"
	           "                  ~/.cache/tally/verify-<election>.json)\n"
	           "  --log-key PEM   accept only heads signed by this aggregator log key\n"
	           "  --threads N     signature-checking threads (default: online CPUs)\n"
	           "  --max-report N  print at most N discrepancies (default 1000)\n");
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

/* The default state file: $XDG_CACHE_HOME or ~/.cache, /tally/verify-<id>.json. */
static char *default_state_path(const char *election_id)
{
	const char *base = getenv("XDG_CACHE_HOME");
	char *dir = NULL, *path = NULL, id[TALLY_ID_MAX];

	/* An election id is an outside value: keep it to safe file-name characters. */
	snprintf(id, sizeof(id), "%s", election_id);
	for (char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	if (base != NULL && base[0] == '/') {
		if (asprintf(&dir, "%s/tally", base) < 0)
			return NULL;
	} else {
		const char *home = getenv("HOME");

		if (home == NULL || asprintf(&dir, "%s/.cache/tally", home) < 0)
			return NULL;
		/* ~/.cache may not exist yet either. */
		char *cache;
		if (asprintf(&cache, "%s/.cache", home) >= 0) {
			mkdir(cache, 0700);
			free(cache);
		}
	}
	mkdir(dir, 0700);
	if (asprintf(&path, "%s/verify-%s.json", dir, id) < 0)
		path = NULL;
	free(dir);
	return path;
}

struct prior {
	bool have;
	uint64_t tree_size;
	uint8_t root[TALLY_HASH_BYTES];
	char key_id[TALLY_KEY_ID_LEN + 1];
};

/* Reads the state file; a missing file means no head seen yet. 0 or -EINVAL. */
static int load_prior(const char *path, struct prior *p)
{
	json_error_t je;
	json_t *s;
	const char *root, *kid;
	json_t *size;

	memset(p, 0, sizeof(*p));
	if (access(path, F_OK) != 0)
		return 0;
	s = json_load_file(path, 0, &je);
	if (s == NULL) {
		fprintf(stderr, "tallyctl verify: state file '%s' line %d: %s\n", path, je.line,
		        je.text);
		return -EINVAL;
	}
	size = json_object_get(s, "tree_size");
	root = json_string_value(json_object_get(s, "root_hash"));
	kid = json_string_value(json_object_get(s, "key_id"));
	if (!json_is_integer(size) || json_integer_value(size) < 0 || root == NULL ||
	    tally_unhex(root, p->root, TALLY_HASH_BYTES) < 0 || kid == NULL) {
		fprintf(stderr,
		        "tallyctl verify: state file '%s' lacks tree_size, root_hash or key_id; "
		        "remove it to start over\n",
		        path);
		json_decref(s);
		return -EINVAL;
	}
	p->have = true;
	p->tree_size = (uint64_t)json_integer_value(size);
	snprintf(p->key_id, sizeof(p->key_id), "%s", kid);
	json_decref(s);
	return 0;
}

static int save_state(const char *path, const struct audit *a, const char *election_id)
{
	char root[HEX_HASH], *tmp = NULL;
	json_t *s;
	int rc = -ENOMEM;

	tally_hex(audit_root(a), TALLY_HASH_BYTES, root);
	s = json_pack("{s:s, s:I, s:s, s:s, s:I}", "election_id", election_id, "tree_size",
	              (json_int_t)audit_tree_size(a), "root_hash", root, "key_id",
	              audit_log_key_id(a), "verified_at_ms", (json_int_t)time(NULL) * 1000);
	if (s == NULL || asprintf(&tmp, "%s.tmp", path) < 0)
		goto out;
	/* Replace atomically: a torn state file would make the next run fail. */
	rc = json_dump_file(s, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0 ? 0 : -errno;
out:
	json_decref(s);
	free(tmp);
	return rc;
}

/*
 * The head seen before must be a prefix of this log: same key, no smaller,
 * its root equal to the root of that many of today's entries and, live,
 * provably consistent by the aggregator's own proof.
 */
static int check_prior(struct audit *a, const struct prior *p, const char *url)
{
	uint8_t now[TALLY_HASH_BYTES];
	char was[HEX_HASH], is[HEX_HASH];
	uint64_t size = audit_tree_size(a);
	int rc = 0;

	if (!p->have)
		return 0;
	if (strcmp(p->key_id, audit_log_key_id(a)) != 0)
		rc = audit_addf(a,
		                "the log key changed since the last verified head: was %s, now %s",
		                p->key_id, audit_log_key_id(a));
	if (rc < 0)
		return rc;
	if (p->tree_size > size)
		return audit_addf(a,
		                  "the log shrank: a head of size %" PRIu64
		                  " was verified before, the current head has %" PRIu64,
		                  p->tree_size, size);
	if (p->tree_size == 0)
		return 0;
	tally_hex(p->root, TALLY_HASH_BYTES, was);
	if (audit_root_at(a, p->tree_size, now) == 0 && memcmp(now, p->root, sizeof(now)) != 0) {
		tally_hex(now, TALLY_HASH_BYTES, is);
		rc = audit_addf(a,
		                "history rewritten: the head of size %" PRIu64
		                " verified before had root %s, the same leaves now give %s",
		                p->tree_size, was, is);
		if (rc < 0)
			return rc;
	}
	if (url != NULL && p->tree_size < size) {
		uint8_t(*path)[TALLY_HASH_BYTES] = NULL;
		struct tally_err err = {{0}};
		char q[128];
		json_t *proof = NULL, *arr, *h;
		size_t i, n;

		snprintf(q, sizeof(q), "/v1/log/consistency?first=%" PRIu64 "&second=%" PRIu64,
		         p->tree_size, size);
		rc = bundle_get_json(url, q, &proof, &err);
		if (rc < 0)
			return audit_addf(a, "no consistency proof from the aggregator: %s",
			                  err.msg);
		arr = json_object_get(proof, "consistency_path");
		n = json_array_size(arr);
		path = calloc(n ? n : 1, TALLY_HASH_BYTES);
		if (path == NULL) {
			json_decref(proof);
			return -ENOMEM;
		}
		rc = 0;
		json_array_foreach(arr, i, h) if (!json_is_string(h) ||
		                                  tally_unhex(json_string_value(h), path[i],
		                                              TALLY_HASH_BYTES) < 0) rc = -EINVAL;
		if (rc < 0 || n > TALLY_MERKLE_MAX_PATH ||
		    tally_merkle_verify_consistency(p->tree_size, size, p->root, audit_root(a),
		                                    (const uint8_t(*)[TALLY_HASH_BYTES])path,
		                                    n) < 0)
			rc = audit_addf(a,
			                "the aggregator's consistency proof from size %" PRIu64
			                " (root %s) to %" PRIu64 " does not hold",
			                p->tree_size, was, size);
		free(path);
		json_decref(proof);
	}
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"election", required_argument, NULL, 'e'},
	    {"trusted-keys", required_argument, NULL, 'k'},
	    {"bundle", required_argument, NULL, 'b'},
	    {"url", required_argument, NULL, 'u'},
	    {"state", required_argument, NULL, 's'},
	    {"log-key", required_argument, NULL, 'l'},
	    {"threads", required_argument, NULL, 't'},
	    {"max-report", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *election_path = NULL, *keys_dir = NULL, *bundle = NULL, *url = NULL;
	const char *state_arg = NULL, *log_key_path = NULL;
	long threads = sysconf(_SC_NPROCESSORS_ONLN), max_report = 1000;
	struct tally_election *e = NULL;
	struct tally_keyring *kr = NULL;
	struct audit *a = NULL;
	struct tally_public_key pin;
	struct tally_err err = {{0}};
	struct bundle_sink sink;
	struct prior prior = {0};
	char *state = NULL, root[HEX_HASH];
	int opt, rc, status = 2;
	size_t n;

	optind = 0; /* glibc: start over, even when called twice in one process */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			election_path = optarg;
			break;
		case 'k':
			keys_dir = optarg;
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 's':
			state_arg = optarg;
			break;
		case 'l':
			log_key_path = optarg;
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			break;
		case 'm':
			max_report = strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (election_path == NULL || keys_dir == NULL || (bundle == NULL) == (url == NULL) ||
	    optind != argc || threads < 1 || threads > 16 || max_report < 0) {
		usage(stderr);
		return 2;
	}
	if (tally_election_load(election_path, &e, &err) < 0) {
		fprintf(stderr, "tallyctl verify: %s\n", err.msg);
		goto out;
	}
	if (tally_keyring_load(keys_dir, &kr, &err) < 0) {
		fprintf(stderr, "tallyctl verify: %s\n", err.msg);
		goto out;
	}
	if (log_key_path != NULL && tally_sign_load_public(log_key_path, &pin, &err) < 0) {
		fprintf(stderr, "tallyctl verify: %s\n", err.msg);
		goto out;
	}
	if (state_arg != NULL)
		state = strdup(state_arg);
	else if (url != NULL)
		state = default_state_path(e->election_id);
	if ((state_arg != NULL || url != NULL) && state == NULL) {
		fprintf(stderr,
		        "tallyctl verify: no place for the state file; give --state FILE\n");
		goto out;
	}
	if (state != NULL && load_prior(state, &prior) < 0)
		goto out;
	if (audit_new(e, kr, &a) < 0) {
		fprintf(stderr, "tallyctl verify: out of memory\n");
		goto out;
	}
	if (log_key_path != NULL)
		audit_pin_log_key(a, &pin);
	sink = (struct bundle_sink){feed_head, feed_key, feed_totals, feed_entry, a};
	rc = bundle != NULL ? bundle_read(bundle, &sink, &err) : bundle_fetch(url, &sink, &err);
	if (rc < 0) {
		fprintf(stderr, "tallyctl verify: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	if (audit_run(a, (int)threads) < 0 || check_prior(a, &prior, url) < 0) {
		fprintf(stderr, "tallyctl verify: out of memory\n");
		goto out;
	}

	n = audit_count(a);
	for (size_t i = 0; i < n && i < (size_t)max_report; i++)
		printf("DISCREPANCY: %s\n", audit_at(a, i));
	if (n > (size_t)max_report)
		printf("... and %zu more discrepancies\n", n - (size_t)max_report);
	tally_hex(audit_root(a), TALLY_HASH_BYTES, root);
	if (n > 0) {
		printf("FAILED: %zu discrepanc%s in the record of election '%s' (tree size %" PRIu64
		       ", %" PRIu64 " entries)\n",
		       n, n == 1 ? "y" : "ies", e->election_id, audit_tree_size(a),
		       audit_leaves(a));
		status = 1;
		goto out;
	}
	printf("OK: election '%s', tree size %" PRIu64 ", root %s, signed by log key %s\n"
	       "    every leaf is signed by its region's trusted key and passes the control "
	       "relations;\n"
	       "    replayed totals match every published figure and the head's totals hash\n",
	       e->election_id, audit_tree_size(a), root, audit_log_key_id(a));
	if (!tally_election_is_legacy(e))
		printf("    every contest's decision, recomputed over the replay, matches the "
		       "published one;\n"
		       "    each party list's seats match the verifier's own allocation\n");
	if (prior.have)
		printf("    consistent with the head of size %" PRIu64 " verified before\n",
		       prior.tree_size);
	if (state != NULL && save_state(state, a, e->election_id) < 0)
		fprintf(stderr, "tallyctl verify: could not save the state file '%s': %s\n", state,
		        strerror(errno));
	status = 0;
out:
	audit_free(a);
	tally_keyring_free(kr);
	tally_election_free(e);
	free(state);
	return status;
}
