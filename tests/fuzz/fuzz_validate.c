/*
 * fuzz_validate.c: validation, reconciliation and totals against a small
 * fixed election, checked against a model written from the headers alone.
 *
 * Two modes, chosen by the first byte:
 *   0xFF  structured: the rest is a script of results built from the bytes,
 *         each either valid by construction or broken in exactly one named
 *         way (including 32-bit wrap-around of the vote sum), so the
 *         verdict's code is known in advance;
 *   else  the whole input is a serialized PrecinctResult, decoded, validated
 *         and, if valid, counted.
 * Every valid result goes through tally_totals_apply() and through the model
 * of reconcile.h; afterwards the national and regional figures must equal
 * the model's sums over the counted results, exactly.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tally/codec.h"
#include "tally/election.h"
#include "tally/sign.h"
#include "tally/totals.h"
#include "tally/totals_json.h"
#include "tally/validate.h"

static const char election_json[] =
    "{\"election_id\": \"E-fuzz\", \"title\": \"Fuzz referendum\",\n"
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],\n"
    " \"regions\": [\n"
    "  {\"id\": \"KZ-A\", \"name\": \"Alpha\", \"precincts\": [\n"
    "    {\"id\": 1, \"registered\": 1000}, {\"id\": 2, \"registered\": 2000},\n"
    "    {\"id\": 3, \"registered\": 3000}]},\n"
    "  {\"id\": \"KZ-B\", \"name\": \"Beta\", \"precincts\": [\n"
    "    {\"id\": 10, \"registered\": 500}, {\"id\": 11, \"registered\": 4294967295}]}],\n"
    " \"rules\": {\"min_turnout_pct\": 50, \"region_majority_fraction\": 0.6667}}\n";

#define MAX_CONFLICTS 64

struct model_precinct {
	uint32_t revision;
	uint8_t hash[TALLY_HASH_BYTES];
	struct tally_result counted;
	size_t n_conflicts;
	uint8_t conflicts[MAX_CONFLICTS][TALLY_HASH_BYTES];
};

struct model {
	struct model_precinct *p; /* like election->precincts */
	uint64_t sequence;
};

static struct tally_election *election;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tally_err err = {{0}};

	(void)argc;
	(void)argv;
	if (tally_election_parse(election_json, strlen(election_json), &election, &err) != 0) {
		fprintf(stderr, "fuzz_validate: fixed election refused: %s\n", err.msg);
		abort();
	}
	return 0;
}

/* Reads bytes off the input; zeros once it runs out. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static uint32_t take(struct reader *r, int bytes)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++) {
		v <<= 8;
		if (r->left > 0) {
			v |= *r->p++;
			r->left--;
		}
	}
	return v;
}

static enum tally_outcome model_apply(struct model *m, size_t pi, const struct tally_result *r,
                                      const uint8_t hash[TALLY_HASH_BYTES])
{
	struct model_precinct *mp = &m->p[pi];
	enum tally_outcome o;

	if (mp->revision == 0 || r->revision > mp->revision) {
		o = TALLY_OUTCOME_ACCEPTED;
	} else if (r->revision < mp->revision) {
		o = TALLY_OUTCOME_STALE;
	} else {
		o = memcmp(hash, mp->hash, TALLY_HASH_BYTES) == 0 ? TALLY_OUTCOME_DUPLICATE
		                                                  : TALLY_OUTCOME_CONFLICT;
		for (size_t i = 0; i < mp->n_conflicts && o == TALLY_OUTCOME_CONFLICT; i++)
			if (memcmp(hash, mp->conflicts[i], TALLY_HASH_BYTES) == 0)
				o = TALLY_OUTCOME_DUPLICATE;
	}
	if (o == TALLY_OUTCOME_ACCEPTED) {
		mp->revision = r->revision;
		memcpy(mp->hash, hash, TALLY_HASH_BYTES);
		mp->counted = *r;
		mp->n_conflicts = 0;
		m->sequence++;
	} else if (o == TALLY_OUTCOME_CONFLICT) {
		CHECK(mp->n_conflicts < MAX_CONFLICTS);
		memcpy(mp->conflicts[mp->n_conflicts++], hash, TALLY_HASH_BYTES);
		m->sequence++;
	}
	return o;
}

static void add_figures(struct tally_figures *f, const struct model_precinct *mp)
{
	const struct tally_result *r = &mp->counted;

	f->precincts_total++;
	if (mp->n_conflicts > 0)
		f->conflicts++;
	if (mp->revision == 0)
		return;
	f->precincts_reported++;
	f->voters_registered += r->voters_registered;
	f->ballots_cast += r->ballots_cast;
	f->ballots_invalid += r->ballots_invalid;
	f->ballots_not_counted += r->ballots_not_counted;
	for (size_t i = 0; i < r->n_votes; i++) {
		int oi = tally_election_option_index(election, r->votes[i].option_id);
		CHECK(oi >= 0);
		f->votes[oi] += r->votes[i].count;
	}
}

static void check_figures(const struct tally_figures *want, const struct tally_figures *got)
{
	CHECK(want->precincts_total == got->precincts_total);
	CHECK(want->precincts_reported == got->precincts_reported);
	CHECK(want->conflicts == got->conflicts);
	CHECK(want->voters_registered == got->voters_registered);
	CHECK(want->ballots_cast == got->ballots_cast);
	CHECK(want->ballots_invalid == got->ballots_invalid);
	CHECK(want->ballots_not_counted == got->ballots_not_counted);
	for (size_t i = 0; i < election->n_options; i++)
		CHECK(want->votes[i] == got->votes[i]);
}

static void check_totals(const struct model *m, const struct tally_totals *t)
{
	struct tally_figures national, *regions;
	struct tally_contest_decision cd;
	json_t *doc = NULL;

	memset(&national, 0, sizeof(national));
	regions = calloc(election->n_regions, sizeof(*regions));
	CHECK(regions != NULL);
	for (size_t i = 0; i < election->n_precincts; i++) {
		add_figures(&national, &m->p[i]);
		add_figures(&regions[election->precincts[i].region], &m->p[i]);
	}
	check_figures(&national, &t->contests[0].national);
	for (size_t i = 0; i < election->n_regions; i++)
		check_figures(&regions[i], tally_totals_region(t, 0, i));
	CHECK(t->sequence == m->sequence);
	free(regions);

	CHECK(tally_figures_turnout_pct(&t->contests[0].national) >= 0.0);
	CHECK(tally_totals_contest_decision(t, 0, &cd) == 0);
	CHECK(cd.d.n_reasons <= TALLY_DECISION_MAX_REASONS);
	for (size_t i = 0; i < cd.d.n_reasons; i++)
		CHECK_STR(cd.d.reasons[i], TALLY_REASON_MAX);
	CHECK(tally_totals_to_json(t, &doc) == 0);
	CHECK(json_integer_value(json_object_get(doc, "sequence")) == (json_int_t)m->sequence);
	json_decref(doc);
}

static void check_verdict(int r, const struct tally_verdict *v)
{
	CHECK(r == 0 || r == -EINVAL);
	CHECK((r == 0) == (v->code == TALLY_REJECT_NONE));
	CHECK(v->code >= TALLY_REJECT_NONE && v->code < TALLY_REJECT_CODE_COUNT);
	CHECK(v->code != TALLY_REJECT_BAD_SIGNATURE && v->code != TALLY_REJECT_UNKNOWN_KEY &&
	      v->code != TALLY_REJECT_MALFORMED);
	CHECK_STR(v->relation, sizeof(v->relation));
	CHECK_STR(v->reason, sizeof(v->reason));
	if (r != 0)
		CHECK(v->reason[0] != '\0');
}

/* Validates r; if valid, counts it in both the totals and the model. */
static void count(struct model *m, struct tally_totals *t, const struct tally_result *r,
                  enum tally_reject_code want)
{
	struct tally_verdict v, vc;
	uint8_t *enc = NULL, hash[TALLY_HASH_BYTES];
	size_t enc_len = 0;
	enum tally_outcome got_o = TALLY_OUTCOME_UNSPECIFIED, want_o;
	int64_t pi;
	int rv, rc;

	memset(&v, 0, sizeof(v));
	memset(&vc, 0, sizeof(vc));
	rv = tally_validate_result(election, r, &v);
	check_verdict(rv, &v);
	rc = tally_validate_controls(election, r, &vc);
	check_verdict(rc, &vc);
	if (want != (enum tally_reject_code) - 1) {
		if (v.code != want)
			fprintf(stderr, "want code %d, got %d: %s\n", (int)want, (int)v.code,
			        v.reason);
		CHECK(v.code == want);
	}
	/*
	 * Full validation implies the controls; a control failure is one. The
	 * controls resolve the contest too, whatever the election.
	 */
	if (rv == 0)
		CHECK(rc == 0);
	if (rc != 0)
		CHECK((vc.code == TALLY_REJECT_FAILED_CONTROL ||
		       vc.code == TALLY_REJECT_UNKNOWN_CONTEST) &&
		      rv != 0);
	if (v.code == TALLY_REJECT_FAILED_CONTROL || v.code == TALLY_REJECT_UNKNOWN_CONTEST)
		CHECK(rc != 0);
	if (rv != 0)
		return;

	pi = tally_election_precinct_index(election, r->precinct_id);
	CHECK(pi >= 0);
	CHECK(tally_codec_encode_result(r, &enc, &enc_len) == 0);
	tally_sha256(enc, enc_len, hash);
	free(enc);
	want_o = model_apply(m, (size_t)pi, r, hash);
	CHECK(tally_totals_apply(t, r, hash, (int64_t)m->sequence, &got_o) == 0);
	if (got_o != want_o)
		fprintf(stderr, "precinct %u rev %u: want %s, got %s\n", r->precinct_id,
		        r->revision, tally_outcome_str(want_o), tally_outcome_str(got_o));
	CHECK(got_o == want_o);
}

enum kind {
	K_VALID, /* four of twelve: most scripts count something */
	K_VALID2,
	K_VALID3,
	K_VALID4,
	K_RECEIVED,   /* received = issued + cancelled + 1 */
	K_CAST_ABOVE, /* cast = issued + 1 */
	K_WRAP,       /* the vote sum equals cast only modulo 2^32 */
	K_OPTIONS,    /* an option missing, doubled or unknown */
	K_REGION,
	K_PRECINCT,
	K_ELECTION,
	K_REVISION, /* revision 0 */
	K_COUNT,
};

static void build(struct reader *rd, struct tally_result *r, enum tally_reject_code *want)
{
	uint32_t kind = take(rd, 1) % K_COUNT;
	size_t pi = take(rd, 1) % election->n_precincts;
	const struct tally_precinct *p = &election->precincts[pi];
	uint32_t yes = take(rd, 2), no = take(rd, 2);
	uint32_t invalid = take(rd, 1), nc = take(rd, 1), cancelled = take(rd, 1);
	uint32_t spare = take(rd, 1), spare2 = take(rd, 1);

	memset(r, 0, sizeof(*r));
	strcpy(r->election_id, election->election_id);
	strcpy(r->region_id, election->regions[p->region].id);
	r->precinct_id = p->id;
	r->revision = 1 + take(rd, 1) % 3;
	r->n_votes = 2;
	strcpy(r->votes[0].option_id, "yes");
	strcpy(r->votes[1].option_id, "no");
	if (kind == K_WRAP) {
		/* 32-bit arithmetic would see cast == invalid + nc + yes + no. */
		yes = 0xFFFFFF00u | (yes & 0xFF);
		no = 0x100u + (no & 0xFFFF);
	}
	r->votes[0].count = yes;
	r->votes[1].count = no;
	r->ballots_invalid = invalid;
	r->ballots_not_counted = nc;
	r->ballots_cast = invalid + nc + yes + no; /* wraps for K_WRAP, on purpose */
	r->ballots_issued = r->ballots_cast + spare;
	r->ballots_cancelled = cancelled;
	r->ballots_received = r->ballots_issued + cancelled;
	r->voters_registered = r->ballots_issued + spare2;
	*want = TALLY_REJECT_NONE;

	switch (kind) {
	case K_RECEIVED:
		r->ballots_received++;
		*want = TALLY_REJECT_FAILED_CONTROL;
		break;
	case K_CAST_ABOVE:
		r->ballots_issued = r->ballots_cast - 1 + (r->ballots_cast == 0);
		if (r->ballots_cast == 0) {
			r->ballots_cast = 2;
			r->ballots_invalid += 2; /* keep the sum right, break only cast <= issued */
		}
		r->ballots_received = r->ballots_issued + cancelled;
		r->voters_registered = r->ballots_issued + spare2;
		*want = TALLY_REJECT_FAILED_CONTROL;
		break;
	case K_WRAP:
		r->ballots_issued = r->ballots_cast;
		r->ballots_received = r->ballots_issued + cancelled;
		r->voters_registered = r->ballots_issued;
		*want = TALLY_REJECT_FAILED_CONTROL;
		break;
	case K_OPTIONS:
		switch (spare % 3) {
		case 0:
			r->n_votes = 1;
			break;
		case 1:
			strcpy(r->votes[1].option_id, "yes");
			break;
		default:
			strcpy(r->votes[1].option_id, "maybe");
			break;
		}
		*want = TALLY_REJECT_FAILED_CONTROL;
		break;
	case K_REGION:
		strcpy(r->region_id, election->regions[(p->region + 1) % election->n_regions].id);
		*want = TALLY_REJECT_WRONG_REGION;
		break;
	case K_PRECINCT:
		r->precinct_id = 4000000000u + spare;
		*want = TALLY_REJECT_UNKNOWN_PRECINCT;
		break;
	case K_ELECTION:
		strcpy(r->election_id, "E-other");
		*want = TALLY_REJECT_WRONG_ELECTION;
		break;
	case K_REVISION:
		r->revision = 0;
		*want = TALLY_REJECT_FAILED_CONTROL;
		break;
	default:
		break;
	}
	/* Near the top of uint32 the construction itself can wrap: then no expectation. */
	if (kind != K_WRAP &&
	    ((uint64_t)invalid + nc + yes + no + spare + spare2 + cancelled + 2 > UINT32_MAX))
		*want = (enum tally_reject_code) - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = {0};
	struct tally_totals *t = NULL;

	m.p = calloc(election->n_precincts, sizeof(*m.p));
	CHECK(m.p != NULL);
	CHECK(tally_totals_new(election, &t) == 0);

	if (size > 0 && data[0] == 0xFF) {
		struct reader rd = {data + 1, size - 1};
		for (int i = 0; i < 64 && rd.left > 0; i++) {
			struct tally_result r;
			enum tally_reject_code want;
			build(&rd, &r, &want);
			count(&m, t, &r, want);
		}
	} else {
		struct tally_result r;
		memset(&r, 0, sizeof(r));
		if (tally_codec_decode_result(data, size, &r) == 0)
			count(&m, t, &r, (enum tally_reject_code) - 1);
	}
	check_totals(&m, t);

	tally_totals_free(t);
	free(m.p);
	return 0;
}
