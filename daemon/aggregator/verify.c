/*
 * verify.c: the checks on one submitted result, run on libuv's thread pool
 * so signature verification uses every core while the loop keeps moving
 * bytes (verify.h). It owns the verify jobs; the items belong to ingest.c,
 * which lends them for the job's lifetime and gets them back, marked
 * verified, in the job's completion callback on the loop.
 *
 * Order of the checks: the key must be trusted (UNKNOWN_KEY) and belong to
 * the connection's region (WRONG_REGION), the signature must hold over the
 * payload bytes as carried (BAD_SIGNATURE), the payload must decode
 * (MALFORMED), name the connection's region (WRONG_REGION) and pass the
 * election's checks (WRONG_ELECTION, UNKNOWN_CONTEST, UNKNOWN_PRECINCT,
 * WRONG_REGION, NOT_IN_CONTEST, FAILED_CONTROL). Nothing unauthenticated is
 * parsed. A result that passes leaves with its slot (its contest in its
 * precinct), which ingest reconciles it in.
 *
 * The pool's threads verify at a lower CPU priority (nice +VERIFY_NICE)
 * than the event loop: verification is bulk work that can wait a moment,
 * while the loop moves every byte, writes every answer and serves HTTP.
 * With both cores busy verifying, the loop still gets the CPU when it
 * has something to do (/v1/totals during a full-speed ingest: 19,822 ->
 * 35,472 requests/s, docs/benchmarks.md).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "verify.h"
#include "tally/codec.h"
#include "tally/log.h"
#include "tally/merkle.h"
#include "tally/sign.h"
#include "tally/validate.h"

struct verify_job {
	uv_work_t work;
	struct aggregator *a;
	struct agg_keys *keys; /* the set this job began with (SIGHUP may swap it) */
	size_t n;
	struct agg_item *items[];
};

#define VERIFY_NICE 5

static size_t jobs_pending;
static __thread bool thread_niced;

/* Once per pool thread: VERIFY_NICE below the priority it inherited from
 * the loop (Linux applies a nice value to one thread when given its id).
 * Lowering one's own priority is always allowed; should it fail anyway,
 * the thread verifies at the loop's priority. */
static void lower_priority_once(void)
{
	if (thread_niced)
		return;
	thread_niced = true;
	id_t tid = (id_t)syscall(SYS_gettid);
	errno = 0;
	int cur = getpriority(PRIO_PROCESS, tid); /* the loop's, inherited */
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, tid,
		                  cur + VERIFY_NICE > 19 ? 19 : cur + VERIFY_NICE);
}

size_t verify_pending(void)
{
	return jobs_pending;
}

static void reject(struct agg_item *it, enum tally_reject_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(struct agg_item *it, enum tally_reject_code code, const char *fmt, ...)
{
	char buf[TALLY_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	it->code = code;
	free(it->reason);
	it->reason = strdup(buf); /* NULL on ENOMEM: the Nack then carries only the code */
}

void verify_item(const struct tally_election *e, const struct tally_keyring *keys, size_t n_options,
                 struct agg_item *it)
{
	const struct tally_signed_result *sr = &it->sr;
	struct tally_result r;
	struct tally_verdict v;

	/* The bytes go into the store whatever the verdict. */
	if (tally_codec_encode_signed(sr, &it->leaf, &it->leaf_len) < 0) {
		reject(it, TALLY_REJECT_MALFORMED, "SignedResult could not be re-encoded");
		return;
	}
	const struct tally_trusted_key *k = tally_keyring_find(keys, sr->key_id);
	if (!k) {
		reject(it, TALLY_REJECT_UNKNOWN_KEY, "key_id '%s' is not among the trusted keys",
		       sr->key_id);
		return;
	}
	if (strcmp(k->region_id, it->peer_region) != 0) {
		reject(it, TALLY_REJECT_WRONG_REGION,
		       "key_id '%.16s...' is region '%s''s key, but the certificate is region '%s'",
		       sr->key_id, k->region_id, it->peer_region);
		return;
	}
	if (tally_sign_verify(&k->key, sr->payload, sr->payload_len, sr->signature,
	                      sr->signature_len) < 0) {
		reject(it, TALLY_REJECT_BAD_SIGNATURE,
		       "signature (%zu bytes) does not verify over the payload (%zu bytes) with "
		       "key_id '%.16s...' of region '%s'",
		       sr->signature_len, sr->payload_len, sr->key_id, k->region_id);
		return;
	}
	if (tally_codec_decode_result(sr->payload, sr->payload_len, &r) < 0) {
		reject(it, TALLY_REJECT_MALFORMED, "payload (%zu bytes) is not a PrecinctResult",
		       sr->payload_len);
		return;
	}
	it->precinct = r.precinct_id;
	it->revision = r.revision;
	memcpy(it->contest_id, r.contest_id, sizeof(it->contest_id));
	if (strcmp(r.region_id, it->peer_region) != 0) {
		reject(it, TALLY_REJECT_WRONG_REGION,
		       "region_id '%s' of precinct %u is not the certificate's region '%s'",
		       r.region_id, r.precinct_id, it->peer_region);
		return;
	}
	if (tally_validate_result(e, &r, &v) < 0) {
		reject(it, v.code, "%s", v.reason);
		return;
	}
	/* validate found both; these lookups are O(1) for a national
	 * contest and O(log n) otherwise, never a scan. */
	int ci = tally_election_contest_index(e, r.contest_id);
	int64_t idx = tally_election_precinct_index(e, r.precinct_id);
	int64_t slot =
	    ci < 0 || idx < 0 ? -ENOENT : tally_election_slot(e, (size_t)ci, (size_t)idx);
	if (slot < 0 || tally_totals_contest_figures(&e->contests[ci], &r, it->figures) < 0) {
		/* validate accepted it, so this is a disagreement between modules. */
		reject(it, TALLY_REJECT_FAILED_CONTROL,
		       "precinct %u, its contest or its options not in the election",
		       r.precinct_id);
		return;
	}
	(void)n_options;
	it->precinct_index = (uint32_t)idx;
	it->contest = (uint32_t)ci;
	it->slot = (uint64_t)slot;
	tally_sha256(sr->payload, sr->payload_len, it->payload_hash);
	tally_merkle_leaf_hash(it->leaf, it->leaf_len, it->leaf_hash);
	it->code = TALLY_REJECT_NONE;
}

static void on_work(uv_work_t *w)
{
	struct verify_job *job = w->data;
	lower_priority_once();
	for (size_t i = 0; i < job->n; i++)
		verify_item(job->a->election, job->keys->ring, job->a->election->n_options,
		            job->items[i]);
}

static void on_work_done(uv_work_t *w, int status)
{
	struct verify_job *job = w->data;
	/* ingest.c's check handle takes them into the next batch this loop turn. */
	for (size_t i = 0; i < job->n; i++)
		job->items[i]->verified = true;
	agg_keys_unref(job->keys);
	free(job);
	jobs_pending--;
	(void)status;
}

int verify_submit(struct aggregator *a, struct agg_item **items, size_t n)
{
	struct verify_job *job = malloc(sizeof(*job) + n * sizeof(job->items[0]));
	if (!job)
		goto inline_check;
	job->work.data = job;
	job->a = a;
	job->keys = agg_keys_ref(a->keys);
	job->n = n;
	memcpy(job->items, items, n * sizeof(items[0]));
	if (uv_queue_work(a->loop, &job->work, on_work, on_work_done) == 0) {
		jobs_pending++;
		return 0;
	}
	agg_keys_unref(job->keys);
	free(job);
inline_check:
	/* Without a job the items are checked here, on the loop: slower, but
	 * every Submit still gets its answer. */
	for (size_t i = 0; i < n; i++) {
		verify_item(a->election, a->keys->ring, a->election->n_options, items[i]);
		items[i]->verified = true;
	}
	return 0;
}
