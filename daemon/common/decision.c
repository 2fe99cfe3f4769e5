/*
 * decision.c: the decision of one contest (decision.h states the rules):
 * the referendum's rules, a candidate contest's elected, runoff or tie, a
 * party list's seats, each with whether it is certain, the reasons in
 * words, and the decision's JSON. It reads figures it is given and owns
 * nothing; the totals that produce them are totals.c's, the seats
 * seats.c's.
 *
 * Certainty. The R registered voters of unreported precincts may each stay
 * home, cast an invalid ballot, a valid ballot counted for no option, or
 * vote for one option; the final figures are the current ones plus such a
 * choice. The referendum's rules are each monotone in those voters, so
 * their bounds are computed directly, as before. For the other kinds the
 * outcome (who is elected, the runoff, the tie, which lists pass and the
 * seats) is taken at each corner of that set of choices: everyone stays
 * home, everyone votes invalid, everyone casts an uncounted valid ballot,
 * everyone votes for option j. Each outcome is decided by linear
 * comparisons of the figures (a > b, 2a > d, cross-multiplied averages and
 * remainders, the threshold), so the figures giving one outcome form a
 * convex set, and when every corner gives the same outcome every choice in
 * between does too: the outcome is certain exactly when the corners agree.
 * Hare's rounds, once a list runs out of candidates and its seats are
 * redistributed, are a chain of such allocations rather than one, which
 * this argument does not cover: there the seats are certified early only
 * when no corner reaches a list's length, and otherwise once nothing is
 * out. tests/unit/test_decision.c holds all of this against every way a
 * few unreported voters can vote, on thousands of random contests.
 *
 * Who is surely elected to some of several seats is not such an outcome
 * (any k - 1 others may pass a candidate without dislodging it), so it is
 * decided from the votes the others would need, together, to reach it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tally/decision.h"

typedef unsigned __int128 u128;

const char *tally_decision_status_str(enum tally_decision_status s)
{
	switch (s) {
	case TALLY_STATUS_NONE:
		return "none";
	case TALLY_STATUS_UNDETERMINED:
		return "undetermined";
	case TALLY_STATUS_PASSING:
		return "passing";
	case TALLY_STATUS_FAILING:
		return "failing";
	case TALLY_STATUS_ELECTED:
		return "elected";
	case TALLY_STATUS_RUNOFF:
		return "runoff";
	case TALLY_STATUS_TIE:
		return "tie";
	case TALLY_STATUS_FAILED:
		return "failed";
	case TALLY_STATUS_PROVISIONAL:
		return "provisional";
	case TALLY_STATUS_FINAL:
		return "final";
	}
	return "unknown";
}

/* ---- words ---------------------------------------------------------- */

static void add_reason(struct tally_decision_result *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_reason(struct tally_decision_result *d, const char *fmt, ...)
{
	va_list ap;

	if (d->n_reasons >= TALLY_DECISION_MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(d->reasons[d->n_reasons], TALLY_REASON_MAX, fmt, ap);
	va_end(ap);
	d->n_reasons++;
}

/* A reason built in pieces: appends to buf (cap bytes), cutting at the end. */
static void append(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* For display only: no decision depends on it. */
static double pct(uint64_t num, uint64_t den)
{
	return den ? 100.0 * (double)num / (double)den : 0.0;
}

static const char *denominator_words(enum tally_denominator d)
{
	return d == TALLY_DENOM_VALID ? "valid ballots" : "ballots cast";
}

static const char *seat_word(uint64_t n)
{
	return n == 1 ? "seat" : "seats";
}

/* The referendum of a definition without contests, published as before. */
static bool is_legacy(const struct tally_election *e, const struct tally_contest *c)
{
	return c->kind == TALLY_CONTEST_REFERENDUM && e->n_options > 0 && e->n_contests == 1 &&
	       c == &e->contests[0];
}

/* ---- the figures a decision is taken over ---------------------------- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* One possible final count of the contest over its scope. */
struct count {
	uint64_t votes[TALLY_MAX_OPTIONS];
	uint64_t cast;
	uint64_t valid;      /* cast - invalid */
	uint64_t registered; /* turnout's denominator: protocols' registered plus R */
};

static void count_now(const struct tally_decision_input *in, struct count *ret)
{
	const struct tally_figures *f = in->national;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->votes, f->votes, in->c->n_options * sizeof(ret->votes[0]));
	ret->cast = f->ballots_cast;
	ret->valid =
	    f->ballots_cast > f->ballots_invalid ? f->ballots_cast - f->ballots_invalid : 0;
	ret->registered = add_sat(f->voters_registered, in->unreported_registered);
}

/*
 * The corners of what the R unreported voters can do: 0 everyone stays
 * home, 1 everyone casts an invalid ballot, 2 everyone a valid ballot
 * counted for no option, 3 + j everyone votes for option j. With R = 0
 * there is one.
 */
static size_t n_corners(const struct tally_contest *c, uint64_t r)
{
	return r > 0 ? 3 + c->n_options : 1;
}

static void corner(const struct count *now, uint64_t r, size_t k, struct count *ret)
{
	*ret = *now;
	if (k == 0)
		return;
	ret->cast = add_sat(ret->cast, r);
	if (k == 1)
		return;
	ret->valid = add_sat(ret->valid, r);
	if (k >= 3)
		ret->votes[k - 3] = add_sat(ret->votes[k - 3], r);
}

static uint64_t denominator(enum tally_denominator d, const struct count *k)
{
	return d == TALLY_DENOM_VALID ? k->valid : k->cast;
}

/* Turnout strictly above the minimum: cast / registered > ppm / 10^6. */
static bool turnout_passes(const struct tally_contest_rules *r, const struct count *k)
{
	if (!r->has_min_turnout)
		return true;
	return k->registered > 0 &&
	       (u128)k->cast * TALLY_PPM > (u128)r->min_turnout_ppm * k->registered;
}

static uint32_t bit(size_t i)
{
	return (uint32_t)1 << i;
}

/* Every option, most votes first, equal votes in ballot order. */
static void rank_options(size_t n, const uint64_t *votes, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++) {
		size_t p = i;
		while (p > 0 && votes[ret[p - 1]] < votes[i]) {
			ret[p] = ret[p - 1];
			p--;
		}
		ret[p] = (uint32_t)i;
	}
}

/* The option that can win with the most votes, -1 if none has a vote or two share the most. */
static int32_t find_leader(const struct tally_contest *c, const uint64_t *votes)
{
	int32_t best = -1;
	bool shared = false;

	for (size_t i = 0; i < c->n_options; i++) {
		if (c->options[i].against_all)
			continue;
		if (best < 0 || votes[i] > votes[best]) {
			best = (int32_t)i;
			shared = false;
		} else if (votes[i] == votes[best]) {
			shared = true;
		}
	}
	if (best < 0 || votes[best] == 0 || shared)
		return -1;
	return best;
}

/* ---- turnout -------------------------------------------------------- */

enum verdict {
	VERDICT_OPEN = 0,
	VERDICT_PASS,
	VERDICT_FAIL,
};

/*
 * The turnout rule, surely passing, surely failing or open, with its
 * reason. The final turnout lies between every unreported voter staying
 * home and every one voting. The texts are those published since the
 * first version; min_pct is only shown.
 */
static enum verdict decide_turnout(const struct tally_decision_input *in, double min_pct,
                                   struct tally_decision_result *d)
{
	const struct tally_figures *f = in->national;
	uint64_t r = in->unreported_registered;
	struct count now, all;
	char voters[TALLY_GROUPED_MAX];
	double low, high;

	count_now(in, &now);
	corner(&now, r, 1, &all);
	low = pct(f->ballots_cast, now.registered);
	high = pct(all.cast, all.registered);
	tally_figures_group(r, voters);
	if (turnout_passes(&in->c->rules, &now)) {
		add_reason(d,
		           "turnout %.2f%% exceeds the required %.2f%% whatever the %s registered "
		           "voters of unreported precincts do",
		           low, min_pct, voters);
		return VERDICT_PASS;
	}
	if (!turnout_passes(&in->c->rules, &all)) {
		add_reason(d,
		           "turnout cannot exceed the required %.2f%%: at most %.2f%% even if "
		           "every voter of unreported precincts votes",
		           min_pct, high);
		return VERDICT_FAIL;
	}
	add_reason(d,
	           "turnout undetermined: between %.2f%% and %.2f%% with %s registered voters "
	           "in unreported precincts; required more than %.2f%%",
	           low, high, voters, min_pct);
	return VERDICT_OPEN;
}

static double min_turnout_pct(const struct tally_election *e, const struct tally_contest *c)
{
	return is_legacy(e, c) ? e->rules.min_turnout_pct : c->rules.min_turnout_ppm / 1e4;
}

/* ---- referendum ----------------------------------------------------- */

/*
 * The regions a referendum's region rule counts: every region of the
 * election for a national contest (as before, a region without precincts
 * counts and never has a majority), the regions the scope names, or the
 * regions of the district.
 */
static size_t scope_regions(const struct tally_election *e, const struct tally_contest *c)
{
	switch (c->scope) {
	case TALLY_SCOPE_NATIONAL:
		return e->n_regions;
	case TALLY_SCOPE_REGIONS:
		return c->n_scope_regions;
	case TALLY_SCOPE_DISTRICT:
		break;
	}
	return c->n_regions;
}

/*
 * The first option must have more than half of a region's pass_share_of in
 * at least ceil(fraction x regions) regions. A region surely has it if it
 * keeps it when every unreported voter there votes against; it surely
 * lacks it if it lacks it when every one votes for.
 */
static enum verdict decide_regions(const struct tally_decision_input *in,
                                   struct tally_decision_result *d)
{
	const struct tally_contest *c = in->c;
	const char *share = denominator_words(c->rules.pass_share_of);
	const char *opt = c->n_options ? c->options[0].id : "?";
	size_t n = scope_regions(in->e, c), sure = 0, possible = 0;
	size_t need =
	    (size_t)(((u128)c->rules.region_majority_ppm * n + TALLY_PPM - 1) / TALLY_PPM);

	for (size_t k = 0; k < c->n_regions; k++) {
		const struct tally_figures *f = &in->regions[k];
		u128 u = in->region_unreported_registered[k];
		u128 yes = c->n_options ? f->votes[0] : 0;
		u128 den = f->ballots_cast;
		if (c->rules.pass_share_of == TALLY_DENOM_VALID)
			den = f->ballots_cast > f->ballots_invalid
			          ? f->ballots_cast - f->ballots_invalid
			          : 0;
		if (yes * 2 > den + u)
			sure++;
		if ((yes + u) * 2 > den + u)
			possible++;
	}
	if (sure >= need) {
		add_reason(d,
		           "'%s' has more than half of %s in %zu of %zu regions (at least %zu "
		           "needed), whatever unreported precincts bring",
		           opt, share, sure, n, need);
		return VERDICT_PASS;
	}
	if (possible < need) {
		add_reason(d,
		           "'%s' can have more than half of %s in at most %zu of %zu regions; %zu "
		           "needed",
		           opt, share, possible, n, need);
		return VERDICT_FAIL;
	}
	add_reason(d,
	           "regional majorities undetermined: '%s' surely leads in %zu and possibly in %zu "
	           "of %zu regions; %zu needed",
	           opt, sure, possible, n, need);
	return VERDICT_OPEN;
}

/*
 * Each rule is monotone in the unreported voters and every rule is best
 * served by all of them voting for the first option and worst by all of
 * them voting against, so the rules' bounds combine: one surely failing
 * rule fails the measure, all surely passing pass it.
 */
static int decide_referendum(const struct tally_decision_input *in, struct tally_decision_result *d)
{
	const struct tally_contest_rules *r = &in->c->rules;
	enum verdict v[2];
	size_t nv = 0;
	bool all_pass = true;

	if (!in->c->has_rules || (!r->has_min_turnout && !r->has_region_majority)) {
		d->status = TALLY_STATUS_NONE;
		return 0;
	}
	if (r->has_region_majority && in->c->n_regions > 0 &&
	    (in->regions == NULL || in->region_unreported_registered == NULL))
		return -EINVAL;
	if (r->has_min_turnout)
		v[nv++] = decide_turnout(in, min_turnout_pct(in->e, in->c), d);
	if (r->has_region_majority)
		v[nv++] = decide_regions(in, d);
	d->status = TALLY_STATUS_UNDETERMINED;
	for (size_t i = 0; i < nv; i++) {
		if (v[i] == VERDICT_FAIL) {
			d->status = TALLY_STATUS_FAILING;
			d->final = true;
			return 0;
		}
		if (v[i] != VERDICT_PASS)
			all_pass = false;
	}
	if (all_pass) {
		d->status = TALLY_STATUS_PASSING;
		d->final = true;
	}
	return 0;
}

/* ---- outcomes at one count ------------------------------------------ */

/* Why a contest failed, for the reasons. */
enum failure {
	FAILURE_NONE = 0,
	FAILURE_TURNOUT,
	FAILURE_AGAINST_ALL,      /* plurality: against-all level with or ahead of everyone */
	FAILURE_AGAINST_ALL_HALF, /* absolute majority: against-all has it */
	FAILURE_NO_SECOND,        /* absolute majority: one candidate, without it */
};

/* What one final count decides. Options are bits (TALLY_MAX_OPTIONS <= 32). */
struct outcome {
	enum tally_decision_status status;
	enum failure failure; /* not compared: the same outcome for other reasons */
	uint32_t elected;
	uint32_t runoff;
	uint32_t tied;
	uint32_t tie_seats;
	struct tally_seats_result seats; /* party_list */
};

static bool same_seats(const struct tally_contest *c, const struct tally_seats_result *a,
                       const struct tally_seats_result *b)
{
	if (a->vacant != b->vacant || a->tie_seats != b->tie_seats || a->n_tied != b->n_tied)
		return false;
	for (size_t i = 0; i < c->n_options; i++)
		if (a->passed[i] != b->passed[i] || a->seats[i] != b->seats[i])
			return false;
	for (size_t i = 0; i < a->n_tied; i++)
		if (a->tied[i] != b->tied[i])
			return false;
	return true;
}

static bool same_outcome(const struct tally_contest *c, const struct outcome *a,
                         const struct outcome *b)
{
	return a->status == b->status && a->elected == b->elected && a->runoff == b->runoff &&
	       a->tied == b->tied && a->tie_seats == b->tie_seats &&
	       same_seats(c, &a->seats, &b->seats);
}

/*
 * Plurality for k seats. An option is elected when fewer than k others
 * (against-all included) have as many votes or more and it has more votes
 * than every against-all option. If seats remain and a candidate above
 * against-all is not elected, it shares its votes with others for the last
 * seats: a tie, those seats unallocated. Nobody electable: failed.
 */
static void plurality(const struct tally_contest *c, const struct count *k, struct outcome *o)
{
	const uint64_t *w = k->votes;
	uint64_t against = 0;
	bool has_against = false, has_open = false;
	uint64_t open = 0; /* most votes of an electable option not elected */
	uint32_t n_elected = 0;

	memset(o, 0, sizeof(*o));
	if (!turnout_passes(&c->rules, k)) {
		o->status = TALLY_STATUS_FAILED;
		o->failure = FAILURE_TURNOUT;
		return;
	}
	for (size_t i = 0; i < c->n_options; i++) {
		if (c->options[i].against_all && (!has_against || w[i] > against)) {
			against = w[i];
			has_against = true;
		}
	}
	for (size_t i = 0; i < c->n_options; i++) {
		size_t level = 0;
		if (c->options[i].against_all || (has_against && w[i] <= against))
			continue;
		for (size_t j = 0; j < c->n_options; j++)
			if (j != i && w[j] >= w[i])
				level++;
		if (level < c->seats) {
			o->elected |= bit(i);
			n_elected++;
		} else if (!has_open || w[i] > open) {
			open = w[i];
			has_open = true;
		}
	}
	/* Everyone above `open` is electable and so elected: n_elected < k.
	 * `open` cannot be alone at its level, or it would be elected. */
	if (has_open && n_elected < c->seats) {
		for (size_t i = 0; i < c->n_options; i++)
			if (!c->options[i].against_all && w[i] == open)
				o->tied |= bit(i);
		o->tie_seats = c->seats - n_elected;
		o->status = TALLY_STATUS_TIE;
		return;
	}
	if (n_elected == 0) {
		o->status = TALLY_STATUS_FAILED;
		o->failure = FAILURE_AGAINST_ALL;
		return;
	}
	o->status = TALLY_STATUS_ELECTED;
}

/*
 * Absolute majority, one seat: more than half of majority_of elects; else
 * a runoff between the two candidates with the most votes (against-all
 * excluded), or a tie when the second place is shared.
 */
static void absolute_majority(const struct tally_contest *c, const struct count *k,
                              struct outcome *o)
{
	const uint64_t *w = k->votes;
	u128 den = denominator(c->rules.majority_of, k);
	uint32_t rank[TALLY_MAX_OPTIONS], cand[TALLY_MAX_OPTIONS];
	size_t n_cand = 0;

	memset(o, 0, sizeof(*o));
	if (!turnout_passes(&c->rules, k)) {
		o->status = TALLY_STATUS_FAILED;
		o->failure = FAILURE_TURNOUT;
		return;
	}
	rank_options(c->n_options, w, rank);
	for (size_t r = 0; r < c->n_options; r++) {
		uint32_t i = rank[r];
		if ((u128)w[i] * 2 > den) {
			if (c->options[i].against_all) {
				o->status = TALLY_STATUS_FAILED;
				o->failure = FAILURE_AGAINST_ALL_HALF;
			} else {
				o->status = TALLY_STATUS_ELECTED;
				o->elected = bit(i);
			}
			return;
		}
		if (!c->options[i].against_all)
			cand[n_cand++] = i;
	}
	if (n_cand < 2) {
		o->status = TALLY_STATUS_FAILED;
		o->failure = FAILURE_NO_SECOND;
		return;
	}
	if (n_cand > 2 && w[cand[2]] == w[cand[1]]) {
		uint64_t level = w[cand[1]];
		for (size_t r = 0; r < n_cand; r++)
			if (w[cand[r]] == level)
				o->tied |= bit(cand[r]);
		o->tie_seats = w[cand[0]] > level ? 1 : 2;
		o->status = TALLY_STATUS_TIE;
		return;
	}
	o->runoff = bit(cand[0]) | bit(cand[1]);
	o->status = TALLY_STATUS_RUNOFF;
}

static int party_allocate(const struct tally_contest *c, const struct count *k, bool caps,
                          struct tally_seats_result *ret)
{
	bool against[TALLY_MAX_OPTIONS];
	uint32_t length[TALLY_MAX_OPTIONS];
	struct tally_seats_input in = {
	    .n = c->n_options,
	    .votes = k->votes,
	    .against_all = against,
	    .list_length = caps ? length : NULL,
	    .seats = c->seats,
	    .threshold_ppm = c->rules.threshold_ppm,
	    .threshold_base = denominator(c->rules.threshold_of, k),
	    .method = c->rules.method,
	    .tie = c->rules.tie,
	    .overflow = c->rules.overflow,
	};

	for (size_t i = 0; i < c->n_options; i++) {
		against[i] = c->options[i].against_all;
		length[i] = c->options[i].list_length;
	}
	return tally_seats_allocate(&in, ret);
}

/*
 * The party list's outcome at one count. *ret_convex is cleared when the
 * count makes Hare with redistribution cut a list short: the chain of
 * rounds the corners argument does not cover (see the top of the file).
 */
static int party_list(const struct tally_contest *c, const struct count *k, struct outcome *o,
                      bool *ret_convex)
{
	struct tally_seats_result plain;
	bool capped = false;
	int rc;

	memset(o, 0, sizeof(*o));
	if (!turnout_passes(&c->rules, k)) {
		o->status = TALLY_STATUS_FAILED;
		o->failure = FAILURE_TURNOUT;
		o->seats.vacant = c->seats;
		return 0;
	}
	rc = party_allocate(c, k, true, &o->seats);
	if (rc < 0)
		return rc;
	o->status = o->seats.tie_seats > 0 ? TALLY_STATUS_TIE : TALLY_STATUS_FINAL;
	for (size_t i = 0; i < c->n_options; i++)
		capped = capped || c->options[i].list_length > 0;
	if (capped && c->rules.method == TALLY_METHOD_HARE &&
	    c->rules.overflow == TALLY_OVERFLOW_REDISTRIBUTE) {
		rc = party_allocate(c, k, false, &plain);
		if (rc < 0)
			return rc;
		if (!same_seats(c, &plain, &o->seats))
			*ret_convex = false;
	}
	return 0;
}

static int outcome_at(const struct tally_contest *c, const struct count *k, struct outcome *o,
                      bool *ret_convex)
{
	switch (c->kind) {
	case TALLY_CONTEST_CANDIDATE:
		if (c->rules.win == TALLY_WIN_ABSOLUTE_MAJORITY)
			absolute_majority(c, k, o);
		else
			plurality(c, k, o);
		return 0;
	case TALLY_CONTEST_PARTY_LIST:
		return party_list(c, k, o, ret_convex);
	case TALLY_CONTEST_REFERENDUM:
		break;
	}
	return -EINVAL;
}

/*
 * The outcome now (everyone still out staying home) into *ret_home, and
 * whether every corner gives the same: then it is certain.
 */
static int outcome_certain(const struct tally_decision_input *in, struct outcome *ret_home,
                           bool *ret_certain)
{
	const struct tally_contest *c = in->c;
	uint64_t r = in->unreported_registered;
	struct count now, k;
	struct outcome o;
	bool convex = true;
	int rc;

	count_now(in, &now);
	rc = outcome_at(c, &now, ret_home, &convex);
	if (rc < 0)
		return rc;
	*ret_certain = true;
	for (size_t i = 1; i < n_corners(c, r); i++) {
		corner(&now, r, i, &k);
		rc = outcome_at(c, &k, &o, &convex);
		if (rc < 0)
			return rc;
		if (!same_outcome(c, ret_home, &o)) {
			*ret_certain = false;
			return 0;
		}
	}
	if (r > 0 && !convex)
		*ret_certain = false;
	return 0;
}

/*
 * A certain failure can have different causes at different corners: the
 * turnout rule failing when everyone still out stays home, against-all
 * winning when they all vote. The cause that holds whatever they do is
 * the one where they all vote for a candidate: if the turnout rule fails
 * there it fails everywhere (turnout is highest there); otherwise
 * against-all kept its lead or its majority, or the candidate stayed
 * short of one, even with every vote still out going against it, so that
 * holds everywhere. Rewrites o->failure with it.
 */
static int failure_everywhere(const struct tally_decision_input *in, struct outcome *o)
{
	struct count now, k;
	struct outcome at;
	bool convex = true;
	size_t cand = 0;
	int rc;

	if (o->status != TALLY_STATUS_FAILED || in->unreported_registered == 0)
		return 0;
	while (cand < in->c->n_options && in->c->options[cand].against_all)
		cand++;
	if (cand == in->c->n_options)
		return 0;
	count_now(in, &now);
	corner(&now, in->unreported_registered, 3 + cand, &k);
	rc = outcome_at(in->c, &k, &at, &convex);
	if (rc < 0)
		return rc;
	if (at.status == TALLY_STATUS_FAILED)
		o->failure = at.failure;
	return 0;
}

/* ---- candidate ------------------------------------------------------ */

/*
 * Plurality: option i is surely elected when no choice of the unreported
 * voters could bring an against-all option level with it, nor k other
 * options (against-all included) level with it or past it together: the
 * k smallest shortfalls add up to more than R. (Votes for i only help it.)
 */
static bool surely_elected(const struct tally_contest *c, const struct count *now, uint64_t r,
                           size_t i)
{
	uint64_t v = now->votes[i], gap[TALLY_MAX_OPTIONS];
	size_t n = 0;
	u128 sum = 0;

	if (c->options[i].against_all)
		return false;
	for (size_t j = 0; j < c->n_options; j++) {
		if (j == i)
			continue;
		uint64_t g = v > now->votes[j] ? v - now->votes[j] : 0;
		if (c->options[j].against_all && g <= r)
			return false;
		size_t p = n++;
		while (p > 0 && gap[p - 1] > g) {
			gap[p] = gap[p - 1];
			p--;
		}
		gap[p] = g;
	}
	if (n < c->seats)
		return true;
	for (size_t j = 0; j < c->seats; j++)
		sum += gap[j];
	return sum > r;
}

/* "'a', 'b' and 'c'" for the options set in mask, in ranking order. */
static void list_options(const struct tally_contest *c, const uint32_t *ranking, uint32_t mask,
                         char *buf, size_t cap)
{
	size_t total = 0, done = 0;

	for (size_t i = 0; i < c->n_options; i++)
		total += (mask & bit(i)) != 0;
	for (size_t r = 0; r < c->n_options; r++) {
		uint32_t i = ranking[r];
		if (!(mask & bit(i)))
			continue;
		append(buf, cap, "%s'%s'",
		       done == 0           ? ""
		       : done + 1 == total ? " and "
		                           : ", ",
		       c->options[i].id);
		done++;
	}
}

/* The first against-all option in the ranking, or -1. */
static int32_t first_against(const struct tally_contest *c, const uint32_t *ranking)
{
	for (size_t r = 0; r < c->n_options; r++)
		if (c->options[ranking[r]].against_all)
			return (int32_t)ranking[r];
	return -1;
}

/* With voters still out, that they cannot change a certain outcome. */
static void add_certain(struct tally_decision_result *d, uint64_t r, const char *voters)
{
	if (r > 0)
		add_reason(d,
		           "the %s registered voters of unreported precincts cannot change the "
		           "outcome",
		           voters);
}

static void candidate_reasons(const struct tally_decision_input *in, const struct outcome *o,
                              struct tally_decision_result *d)
{
	const struct tally_contest *c = in->c;
	const uint64_t *v = in->national->votes;
	const uint32_t *rank = d->ranking;
	struct count now;
	uint64_t r = in->unreported_registered;
	char voters[TALLY_GROUPED_MAX], a[TALLY_GROUPED_MAX], b[TALLY_GROUPED_MAX];
	char buf[TALLY_REASON_MAX];
	bool majority = c->rules.win == TALLY_WIN_ABSOLUTE_MAJORITY;
	const char *share = denominator_words(c->rules.majority_of);
	int32_t against = first_against(c, rank);
	uint32_t top = rank[0];
	uint64_t den;

	count_now(in, &now);
	den = denominator(c->rules.majority_of, &now);
	tally_figures_group(r, voters);
	buf[0] = '\0';

	if (!d->final) {
		if (c->options[top].against_all)
			add_reason(d,
			           "against all ('%s') leads with %s votes (%.2f%% of %s): a "
			           "candidate is elected only with more votes than against all",
			           c->options[top].id, tally_figures_group(v[top], a),
			           pct(v[top], den), share);
		else if (c->n_options > 1)
			add_reason(d, "'%s' leads with %s votes (%.2f%% of %s), %s ahead of '%s'",
			           c->options[top].id, tally_figures_group(v[top], a),
			           pct(v[top], den), share,
			           tally_figures_group(v[top] - v[rank[1]], b),
			           c->options[rank[1]].id);
		else
			add_reason(d, "'%s' has %s votes (%.2f%% of %s)", c->options[top].id,
			           tally_figures_group(v[top], a), pct(v[top], den), share);
		if (majority) {
			bool reachable = false;
			for (size_t i = 0; i < c->n_options; i++)
				reachable = reachable || ((u128)v[i] + r) * 2 > (u128)den + r;
			add_reason(d, "more than half of %s is %s votes%s", share,
			           tally_figures_group(den / 2 + 1, a),
			           reachable ? ""
			                     : "; nobody can reach it any more: there will be a "
			                       "runoff, its second candidate not yet certain");
		} else if (d->n_elected > 0) {
			uint32_t mask = 0;
			for (size_t i = 0; i < d->n_elected; i++)
				mask |= bit(d->elected[i]);
			list_options(c, rank, mask, buf, sizeof(buf));
			add_reason(d, "surely elected: %s (%zu of %" PRIu32 " %s)", buf,
			           d->n_elected, c->seats, seat_word(c->seats));
		}
		add_reason(d,
		           "the %s registered voters of unreported precincts could still change "
		           "the outcome",
		           voters);
		return;
	}

	switch (o->failure) {
	case FAILURE_TURNOUT:
		add_reason(d, "nobody is elected: the turnout rule fails");
		add_certain(d, r, voters);
		return;
	case FAILURE_AGAINST_ALL:
		add_reason(d,
		           "against all ('%s') has %s votes (%.2f%% of %s), at least as many as "
		           "every candidate: nobody is elected",
		           c->options[against].id, tally_figures_group(v[against], a),
		           pct(v[against], den), share);
		add_certain(d, r, voters);
		return;
	case FAILURE_AGAINST_ALL_HALF:
		add_reason(d,
		           "against all ('%s') has more than half of %s (%s votes, %.2f%%): "
		           "nobody is elected",
		           c->options[against].id, share, tally_figures_group(v[against], a),
		           pct(v[against], den));
		add_certain(d, r, voters);
		return;
	case FAILURE_NO_SECOND:
		for (size_t k = 0; k < c->n_options; k++) {
			if (c->options[rank[k]].against_all)
				continue;
			add_reason(d,
			           "'%s' does not have more than half of %s and there is no other "
			           "candidate for a runoff: nobody is elected",
			           c->options[rank[k]].id, share);
			break;
		}
		add_certain(d, r, voters);
		return;
	case FAILURE_NONE:
		break;
	}

	if (majority && o->status == TALLY_STATUS_ELECTED) {
		uint32_t w = d->elected[0];
		add_reason(
		    d, "'%s' is elected: %s votes of %s %s (%.2f%%), more than half%s%s%s",
		    c->options[w].id, tally_figures_group(v[w], a), tally_figures_group(den, b),
		    share, pct(v[w], den), r > 0 ? " even if the " : "", r > 0 ? voters : "",
		    r > 0 ? " registered voters of unreported precincts all vote for others" : "");
		return;
	}
	if (majority) {
		add_reason(d, "nobody has more than half of %s: '%s' leads with %s votes (%.2f%%)",
		           share, c->options[top].id, tally_figures_group(v[top], a),
		           pct(v[top], den));
		if (o->status == TALLY_STATUS_RUNOFF) {
			add_reason(
			    d, "runoff between '%s' (%s votes) and '%s' (%s votes)",
			    c->options[d->runoff[0]].id, tally_figures_group(v[d->runoff[0]], a),
			    c->options[d->runoff[1]].id, tally_figures_group(v[d->runoff[1]], b));
		} else {
			list_options(c, rank, o->tied, buf, sizeof(buf));
			add_reason(d,
			           "%s are tied with %s votes each for %" PRIu32
			           " place%s in the runoff, not allocated",
			           buf, tally_figures_group(v[d->tied[0]], a), o->tie_seats,
			           o->tie_seats == 1 ? "" : "s");
		}
	} else {
		if (o->elected != 0) {
			size_t n = d->n_elected;
			buf[0] = '\0';
			for (size_t i = 0; i < n; i++)
				append(buf, sizeof(buf), "%s'%s' (%s votes, %.2f%%)", i ? ", " : "",
				       c->options[d->elected[i]].id,
				       tally_figures_group(v[d->elected[i]], a),
				       pct(v[d->elected[i]], den));
			add_reason(d, "elected to %zu of %" PRIu32 " %s (shares of %s): %s", n,
			           c->seats, seat_word(c->seats), share, buf);
		}
		if (o->status == TALLY_STATUS_TIE) {
			buf[0] = '\0';
			list_options(c, rank, o->tied, buf, sizeof(buf));
			add_reason(
			    d, "%s are tied with %s votes each for %" PRIu32 " %s, not allocated",
			    buf, tally_figures_group(v[d->tied[0]], a), o->tie_seats,
			    seat_word(o->tie_seats));
		} else if (d->n_elected < c->seats) {
			uint64_t empty = c->seats - d->n_elected;
			if (against >= 0)
				add_reason(
				    d,
				    "%" PRIu64 " %s stay%s empty: no other candidate has more "
				    "votes than against all ('%s', %s votes)",
				    empty, seat_word(empty), empty == 1 ? "s" : "",
				    c->options[against].id, tally_figures_group(v[against], a));
			else
				add_reason(d, "%" PRIu64 " %s stay%s empty: not enough candidates",
				           empty, seat_word(empty), empty == 1 ? "s" : "");
		}
	}
	add_certain(d, r, voters);
}

static int decide_candidate(const struct tally_decision_input *in, struct tally_decision_result *d)
{
	const struct tally_contest *c = in->c;
	struct outcome o;
	struct count now;
	int rc;

	if (c->seats == 0 || (c->rules.win == TALLY_WIN_ABSOLUTE_MAJORITY && c->seats != 1))
		return -EINVAL;
	if (c->rules.has_min_turnout)
		decide_turnout(in, min_turnout_pct(in->e, c), d);
	rc = outcome_certain(in, &o, &d->final);
	if (rc < 0)
		return rc;
	count_now(in, &now);
	rc = failure_everywhere(in, &o);
	if (rc < 0)
		return rc;
	if (d->final) {
		size_t n_runoff = 0;
		d->status = o.status;
		for (size_t r = 0; r < c->n_options; r++) {
			uint32_t i = d->ranking[r];
			if (o.elected & bit(i))
				d->elected[d->n_elected++] = i;
			if ((o.runoff & bit(i)) && n_runoff < 2)
				d->runoff[n_runoff++] = i;
		}
		d->has_runoff = n_runoff == 2;
		for (size_t i = 0; i < c->n_options; i++)
			if (o.tied & bit(i))
				d->tied[d->n_tied++] = (uint32_t)i;
		d->tie_seats = o.tie_seats;
	} else {
		struct count home;
		corner(&now, in->unreported_registered, 0, &home);
		d->status = TALLY_STATUS_UNDETERMINED;
		if (c->rules.win == TALLY_WIN_PLURALITY && turnout_passes(&c->rules, &home)) {
			for (size_t r = 0; r < c->n_options; r++)
				if (surely_elected(c, &now, in->unreported_registered,
				                   d->ranking[r]))
					d->elected[d->n_elected++] = d->ranking[r];
		}
	}
	candidate_reasons(in, &o, d);
	return 0;
}

/* ---- party list ----------------------------------------------------- */

static void party_reasons(const struct tally_decision_input *in, const struct outcome *o,
                          struct tally_decision_result *d)
{
	const struct tally_contest *c = in->c;
	const struct tally_seats_result *s = &d->seats;
	struct count now;
	uint64_t r = in->unreported_registered, base;
	size_t lists = 0, passed = 0, seated = 0;
	char a[TALLY_GROUPED_MAX], b[TALLY_GROUPED_MAX], voters[TALLY_GROUPED_MAX];
	char buf[TALLY_REASON_MAX] = "";

	if (d->final && o->failure == FAILURE_TURNOUT) {
		add_reason(d, "no seat is allocated: the turnout rule fails");
		return;
	}
	count_now(in, &now);
	base = denominator(c->rules.threshold_of, &now);
	tally_figures_group(r, voters);
	for (size_t i = 0; i < c->n_options; i++) {
		lists += !c->options[i].against_all;
		passed += s->passed[i];
	}
	if (c->rules.threshold_ppm > 0) {
		/* The fewest votes that pass: ceil(threshold x base). */
		u128 need = ((u128)c->rules.threshold_ppm * base + TALLY_PPM - 1) / TALLY_PPM;
		add_reason(d,
		           "%zu of %zu lists reach the threshold of %.2f%% of %s (%s votes of %s)",
		           passed, lists, c->rules.threshold_ppm / 1e4,
		           denominator_words(c->rules.threshold_of),
		           tally_figures_group(need > UINT64_MAX ? UINT64_MAX : (uint64_t)need, a),
		           tally_figures_group(base, b));
	} else {
		add_reason(d, "%zu of %zu lists take part: there is no threshold", passed, lists);
	}
	for (size_t k = 0; k < c->n_options; k++) {
		uint32_t i = d->ranking[k];
		if (s->seats[i] == 0)
			continue;
		append(buf, sizeof(buf), "%s'%s' %" PRIu32, seated ? ", " : "", c->options[i].id,
		       s->seats[i]);
		seated++;
	}
	add_reason(d, "%s: %s", d->final ? "seats" : "seats if counting stopped now",
	           seated ? buf : "no list takes a seat");
	if (s->vacant > 0)
		add_reason(d, "%" PRIu32 " %s stay%s vacant: %s", s->vacant, seat_word(s->vacant),
		           s->vacant == 1 ? "s" : "",
		           passed == 0 ? "no list passes" : "the lists have too few candidates");
	if (s->tie_seats > 0) {
		uint32_t mask = 0;
		buf[0] = '\0';
		for (size_t i = 0; i < s->n_tied; i++)
			mask |= bit(s->tied[i]);
		list_options(c, d->ranking, mask, buf, sizeof(buf));
		add_reason(d, "%" PRIu32 " %s left to lot between %s", s->tie_seats,
		           seat_word(s->tie_seats), buf);
	}
	if (r > 0)
		add_reason(d, "the %s registered voters of unreported precincts %s the seats",
		           voters, d->final ? "cannot change" : "could still change");
}

static int decide_party_list(const struct tally_decision_input *in, struct tally_decision_result *d)
{
	const struct tally_contest *c = in->c;
	struct outcome o;
	struct count now;
	int rc;

	if (c->rules.has_min_turnout)
		decide_turnout(in, min_turnout_pct(in->e, c), d);
	count_now(in, &now);
	/* The seats if counting stopped now, whatever the turnout. */
	rc = party_allocate(c, &now, true, &d->seats);
	if (rc < 0)
		return rc;
	rc = outcome_certain(in, &o, &d->final);
	if (rc < 0)
		return rc;
	rc = failure_everywhere(in, &o);
	if (rc < 0)
		return rc;
	if (d->final) {
		d->status = o.status;
		d->seats = o.seats;
	} else {
		d->status = TALLY_STATUS_PROVISIONAL;
	}
	d->tie_seats = d->seats.tie_seats;
	d->n_tied = d->seats.n_tied;
	memcpy(d->tied, d->seats.tied, sizeof(d->tied));
	party_reasons(in, &o, d);
	return 0;
}

/* ---- tally_decide --------------------------------------------------- */

int tally_decide(const struct tally_decision_input *in, struct tally_decision_result *ret)
{
	const struct tally_contest *c;
	int rc = -EINVAL;

	if (ret == NULL)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->leader = -1;
	if (in == NULL || in->e == NULL || in->c == NULL || in->national == NULL)
		return -EINVAL;
	c = in->c;
	if (c->n_options == 0 || c->n_options > TALLY_MAX_OPTIONS)
		return -EINVAL;
	rank_options(c->n_options, in->national->votes, ret->ranking);
	ret->n_ranking = c->n_options;
	ret->leader = find_leader(c, in->national->votes);
	switch (c->kind) {
	case TALLY_CONTEST_REFERENDUM:
		rc = decide_referendum(in, ret);
		break;
	case TALLY_CONTEST_CANDIDATE:
		rc = decide_candidate(in, ret);
		break;
	case TALLY_CONTEST_PARTY_LIST:
		rc = decide_party_list(in, ret);
		break;
	}
	if (rc < 0) {
		memset(ret, 0, sizeof(*ret));
		ret->leader = -1;
	}
	return rc;
}

/* ---- JSON ----------------------------------------------------------- */

static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) < 0)
		return -ENOMEM;
	return 0;
}

static int append_new(json_t *arr, json_t *v)
{
	if (v == NULL || json_array_append_new(arr, v) < 0)
		return -ENOMEM;
	return 0;
}

int tally_decision_rules_to_json(const struct tally_election *e, const struct tally_contest *c,
                                 json_t **ret)
{
	const struct tally_contest_rules *r = &c->rules;
	json_t *o = json_object();
	int rc = -ENOMEM;

	if (o == NULL)
		return -ENOMEM;
	if (is_legacy(e, c)) {
		/* As the file wrote them, and only those it gave. */
		if (e->rules.has_min_turnout &&
		    set_new(o, "min_turnout_pct", json_real(e->rules.min_turnout_pct)) < 0)
			goto fail;
		if (e->rules.has_region_majority &&
		    set_new(o, "region_majority_fraction",
		            json_real(e->rules.region_majority_fraction)) < 0)
			goto fail;
		*ret = o;
		return 0;
	}
	if (r->has_min_turnout &&
	    set_new(o, "min_turnout_pct", json_real(r->min_turnout_ppm / 1e4)) < 0)
		goto fail;
	switch (c->kind) {
	case TALLY_CONTEST_REFERENDUM:
		if (r->has_region_majority &&
		    set_new(o, "region_majority_fraction",
		            json_real(r->region_majority_ppm / (double)TALLY_PPM)) < 0)
			goto fail;
		if (set_new(o, "pass_share_of",
		            json_string(tally_denominator_str(r->pass_share_of))) < 0)
			goto fail;
		break;
	case TALLY_CONTEST_CANDIDATE:
		if (set_new(o, "win", json_string(tally_win_str(r->win))) < 0 ||
		    set_new(o, "majority_of", json_string(tally_denominator_str(r->majority_of))) <
		        0)
			goto fail;
		break;
	case TALLY_CONTEST_PARTY_LIST:
		if (set_new(o, "threshold_pct", json_real(r->threshold_ppm / 1e4)) < 0 ||
		    set_new(o, "threshold_of",
		            json_string(tally_denominator_str(r->threshold_of))) < 0 ||
		    set_new(o, "method", json_string(tally_seat_method_str(r->method))) < 0 ||
		    set_new(o, "tie", json_string(tally_tie_rule_str(r->tie))) < 0 ||
		    set_new(o, "overflow", json_string(tally_overflow_str(r->overflow))) < 0)
			goto fail;
		break;
	}
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return rc;
}

/* ["id", ...] for the n options listed. */
static json_t *ids(const struct tally_contest *c, const uint32_t *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (append_new(a, json_string(c->options[list[i]].id)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* null, or {"options": [...], "seats": n}. */
static json_t *tie_json(const struct tally_contest *c, const struct tally_decision_result *d)
{
	json_t *t;

	if (d->tie_seats == 0)
		return json_null();
	t = json_object();
	if (t == NULL || set_new(t, "options", ids(c, d->tied, d->n_tied)) < 0 ||
	    set_new(t, "seats", json_integer(d->tie_seats)) < 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static int candidate_json(const struct tally_contest *c, const struct tally_decision_result *d,
                          json_t *o)
{
	if (set_new(o, "ranking", ids(c, d->ranking, d->n_ranking)) < 0 ||
	    set_new(o, "elected", ids(c, d->elected, d->n_elected)) < 0 ||
	    set_new(o, "runoff", d->has_runoff ? ids(c, d->runoff, 2) : json_null()) < 0 ||
	    set_new(o, "tie", tie_json(c, d)) < 0)
		return -ENOMEM;
	return 0;
}

static int party_json(const struct tally_contest *c, const struct tally_decision_result *d,
                      json_t *o)
{
	uint32_t passed[TALLY_MAX_OPTIONS];
	size_t n = 0;
	json_t *seats;

	for (size_t i = 0; i < c->n_options; i++)
		if (d->seats.passed[i])
			passed[n++] = (uint32_t)i;
	if (set_new(o, "passed", ids(c, passed, n)) < 0)
		return -ENOMEM;
	seats = json_object();
	if (set_new(o, "seats", seats) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_options; i++)
		if (set_new(seats, c->options[i].id, json_integer(d->seats.seats[i])) < 0)
			return -ENOMEM;
	if (set_new(o, "vacant", json_integer(d->seats.vacant)) < 0 ||
	    set_new(o, "tie", tie_json(c, d)) < 0)
		return -ENOMEM;
	return 0;
}

int tally_decision_to_json(const struct tally_decision_input *in,
                           const struct tally_decision_result *d, json_t **ret)
{
	const struct tally_contest *c = in->c;
	bool legacy = is_legacy(in->e, c);
	json_t *o = json_object(), *reasons, *rules = NULL;

	if (o == NULL)
		return -ENOMEM;
	/* set_new() hands each value to its parent, even when it fails. */
	if (set_new(o, "status", json_string(tally_decision_status_str(d->status))) < 0)
		goto fail;
	if (!legacy && set_new(o, "final", json_boolean(d->final)) < 0)
		goto fail;
	reasons = json_array();
	if (set_new(o, "reasons", reasons) < 0)
		goto fail;
	for (size_t i = 0; i < d->n_reasons; i++)
		if (append_new(reasons, json_string(d->reasons[i])) < 0)
			goto fail;
	if (tally_decision_rules_to_json(in->e, c, &rules) < 0 || set_new(o, "rules", rules) < 0)
		goto fail;
	if (c->kind == TALLY_CONTEST_CANDIDATE && candidate_json(c, d, o) < 0)
		goto fail;
	if (c->kind == TALLY_CONTEST_PARTY_LIST && party_json(c, d, o) < 0)
		goto fail;
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return -ENOMEM;
}
