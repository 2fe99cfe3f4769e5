/*
 * audit.h: an observer's check of the public record, independent of the
 * aggregator. Fed the pieces of a bundle (the signed tree head, the log key,
 * the totals document and every log entry, in any order and from a file or
 * the network), audit_run() checks, in this order:
 *
 *   1. the log key: its key id is the hash of its key, equals the head's
 *      key_id, and the pinned key's if one is pinned;
 *   2. the head: the signature over the TreeHead bytes, those bytes agree
 *      with the head's JSON fields and name this election;
 *   3. the entries: leaf indexes 0..tree_size-1 each exactly once, in
 *      order, and the RFC 9162 root over them equals the head's root;
 *   4. every leaf: a SignedResult whose key is a trusted key of the
 *      result's own region, whose Ed25519 signature holds, and whose result
 *      passes every control relation of the election;
 *   5. the replay: reconciliation over the leaves in log order, each of
 *      which must have been ACCEPTED or CONFLICT (nothing else is logged);
 *   6. the totals: every figure of the published document against the
 *      replay (named by contest, region or district and field), and the
 *      head's totals_hash against the replay's digest (v1 for a definition
 *      without contests, v2 with);
 *   7. the decisions (a definition with contests): each contest's
 *      published status, final, ranking, elected, runoff and tie against
 *      decision.c over the replayed figures, its reasons and rules as
 *      JSON, and a party list's seats, passed lists, vacant seats and tie
 *      against the verifier's own allocation (audit_seats.h), which is
 *      also held against decision.c's.
 *
 * A leaf for a contest the election lacks, or for one its precinct does
 * not vote in, fails the control relations of step 4 and is named.
 *
 * Each failed check adds one discrepancy line naming the leaf, precinct or
 * figure, and the published against the recomputed value. The replay's
 * state is kept after the run: audit_counted() answers, from that same
 * replay, which leaf the rules count for a precinct (`tallyctl prove
 * --counted`). Owned by its creator; borrows the election, the keyring and
 * the pinned key.
 */
#ifndef TALLY_CLI_AUDIT_H
#define TALLY_CLI_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/election.h"
#include "tally/keyring.h"
#include "tally/sign.h"

struct audit;

/* A fresh audit that borrows e and k (they must outlive it). 0 or -ENOMEM. */
int audit_new(const struct tally_election *e, const struct tally_keyring *k, struct audit **ret);
/* Frees a and everything it collected; takes NULL; returns NULL. */
struct audit *audit_free(struct audit *a);

/* Only heads signed by this key pass (the key a person got out of band). */
void audit_pin_log_key(struct audit *a, const struct tally_public_key *k);

/*
 * The bundle's parts, as the aggregator publishes them. Each takes its own
 * reference. A part with the wrong shape is a discrepancy, not an error:
 * the record itself is at fault. Returns 0 or -ENOMEM.
 */
int audit_set_head(struct audit *a, json_t *sth);
int audit_set_log_key(struct audit *a, json_t *log_key);
int audit_set_totals(struct audit *a, json_t *totals);
/* One {"leaf_index", "leaf"} entry; entries must come in index order. */
int audit_add_entry(struct audit *a, json_t *entry);

/*
 * Runs every check, verifying leaf signatures on `threads` threads.
 * Returns 0 when it ran (whatever it found) or -ENOMEM.
 */
int audit_run(struct audit *a, int threads);

/* Found problems, one sentence each. */
size_t audit_count(const struct audit *a);
const char *audit_at(const struct audit *a, size_t i);
/* Adds one (for checks made outside, e.g. consistency with an older head). */
int audit_addf(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* After audit_run: what the head said, once its signature held. */
bool audit_head_ok(const struct audit *a);
uint64_t audit_tree_size(const struct audit *a);
const uint8_t *audit_root(const struct audit *a);
const char *audit_log_key_id(const struct audit *a);
uint64_t audit_leaves(const struct audit *a); /* entries received */
/*
 * Root of the first `size` entries received (for an older head's root).
 * -ERANGE if fewer entries came.
 */
int audit_root_at(const struct audit *a, uint64_t size, uint8_t ret[TALLY_HASH_BYTES]);

/* What the replay holds for one precinct at the end of the log it replayed. */
struct audit_counted {
	int64_t leaf_index; /* the leaf the rules count, -1 if none */
	uint32_t revision;  /* its revision, 0 if none */
	uint32_t conflicts; /* conflicting copies of that revision in the log */
};

/*
 * After audit_run: the leaf the reconciliation rules count for precinct_id
 * in contest contest_id (NULL or "" for the only contest of an election of
 * one) after replaying the leaves under the head (all entries if no head).
 * Only meaningful when audit_count() is 0. Returns 0; -EINVAL if the
 * contest is not one of the election's (or is "" in an election of
 * several); -ENOENT if the precinct is not in the election; -ENXIO if it
 * does not vote in that contest; -EAGAIN before audit_run.
 */
int audit_counted(const struct audit *a, uint32_t precinct_id, const char *contest_id,
                  struct audit_counted *ret);

/* Leaf i's bytes as received (a SignedResult, if it is sound). 0 or -ERANGE. */
int audit_leaf(const struct audit *a, uint64_t i, const uint8_t **ret, size_t *ret_len);

#endif
