/*
 * result_cost.c: what the aggregator pays per result besides the Ed25519
 * check, for docs/benchmarks.md. One thread, nanoseconds per operation,
 * best of five rounds:
 *
 *   sha256 LEN    tally_sha256() (sha256.c, OpenSSL) next to libsodium's
 *                 crypto_hash_sha256() over LEN bytes: 65 is a Merkle node,
 *                 82 and 145 the average payload of a referendum result and
 *                 of a general election's, 190 and 250 their log leaves;
 *   decode NAME   tally_codec_decode_result() of a referendum result (3
 *                 options) and of a party list's (7 parties and against
 *                 all, the ids of election.py's Mazhilis contest).
 *
 * Prints `name value` lines.   result_cost [ROUNDS_OF_A_MILLION]  (default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "tally/codec.h"
#include "tally/sha256.h"

#define ROUNDS 5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint8_t sink;

static double time_sha(int which, const uint8_t *msg, size_t len, long n)
{
	double best = 1e9;
	uint8_t h[TALLY_HASH_BYTES];
	for (int r = 0; r < ROUNDS; r++) {
		double t = now();
		for (long i = 0; i < n; i++) {
			if (which)
				tally_sha256(msg, len, h);
			else
				crypto_hash_sha256(h, msg, len);
			sink ^= h[0];
		}
		t = (now() - t) / (double)n;
		best = t < best ? t : best;
	}
	return best * 1e9;
}

static double time_decode(const uint8_t *buf, size_t len, long n)
{
	double best = 1e9;
	struct tally_result r;
	for (int k = 0; k < ROUNDS; k++) {
		double t = now();
		for (long i = 0; i < n; i++) {
			if (tally_codec_decode_result(buf, len, &r) < 0) {
				fprintf(stderr, "result_cost: decode failed\n");
				exit(1);
			}
			sink ^= (uint8_t)r.n_votes;
		}
		t = (now() - t) / (double)n;
		best = t < best ? t : best;
	}
	return best * 1e9;
}

static void result(struct tally_result *r, const char *contest, const char *const *options,
                   size_t n)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->election_id, "bench-1000000");
	strcpy(r->contest_id, contest);
	strcpy(r->region_id, "R01");
	r->precinct_id = 123456;
	r->revision = 1;
	r->voters_registered = 2000;
	r->ballots_received = r->ballots_issued = r->ballots_cast = 1500;
	r->ballots_invalid = 20;
	r->recorded_at_ms = 1773561600123ull;
	r->n_votes = n;
	for (size_t i = 0; i < n; i++) {
		strcpy(r->votes[i].option_id, options[i]);
		r->votes[i].count = (uint64_t)(1480 / n);
	}
}

int main(int argc, char **argv)
{
	static const char *const referendum[] = {"yes", "no", "abstain"};
	static const char *const party_list[] = {"amanat", "auyl",  "respublica", "qhp",
	                                         "baytaq", "aqjol", "jsdp",       "against-all"};
	static const size_t lens[] = {65, 82, 145, 190, 250};
	long n = (argc > 1 ? atol(argv[1]) : 1) * 1000000L;
	uint8_t msg[256];

	if (n <= 0 || sodium_init() < 0) {
		fprintf(stderr, "usage: result_cost [ROUNDS_OF_A_MILLION]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 131 + 7);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		printf("sha256_%zu_ns tally %.0f libsodium %.0f\n", lens[i],
		       time_sha(1, msg, lens[i], n), time_sha(0, msg, lens[i], n));
	struct {
		const char *name, *contest;
		const char *const *options;
		size_t n;
	} kinds[] = {{"referendum", "", referendum, 3},
	             {"party_list", "party-list", party_list, 8}};
	for (size_t k = 0; k < 2; k++) {
		struct tally_result r;
		uint8_t *buf;
		size_t len;
		result(&r, kinds[k].contest, kinds[k].options, kinds[k].n);
		if (tally_codec_encode_result(&r, &buf, &len) < 0)
			return 1;
		printf("decode_%s_ns %.0f (%zu bytes)\n", kinds[k].name, time_decode(buf, len, n),
		       len);
		free(buf);
	}
	return 0;
}
