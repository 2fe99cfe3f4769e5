/*
 * totals.c: running national and regional totals, moved incrementally as
 * reconciled results land, the rule-based decision with bounds over the
 * precincts not yet reported, the totals JSON document and its digest.
 *
 * It owns the per-precinct reconciliation state and a compact copy of each
 * counted result's figures (tally_totals_stride() numbers per precinct), so
 * a correction subtracts exactly what it replaces. It leaves reconciliation
 * rules to reconcile.c, validation to validate.c and bytes to the store.
 * Pure: no I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally/totals.h"

size_t tally_totals_stride(const struct tally_totals *t)
{
	return TALLY_TOTALS_FIXED_FIGURES + t->election->n_options;
}

int tally_totals_new(const struct tally_election *e, struct tally_totals **ret)
{
	struct tally_totals *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->election = e;
	size_t stride = tally_totals_stride(t);
	t->precincts = malloc((e->n_precincts ? e->n_precincts : 1) * sizeof(*t->precincts));
	t->counted = calloc(e->n_precincts ? e->n_precincts * stride : 1, sizeof(uint32_t));
	t->regions = calloc(e->n_regions ? e->n_regions : 1, sizeof(*t->regions));
	t->reported_definition_registered =
	    calloc(e->n_regions ? e->n_regions : 1, sizeof(uint64_t));
	if (!t->precincts || !t->counted || !t->regions || !t->reported_definition_registered) {
		free(t->precincts);
		t->precincts = NULL;
		tally_totals_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->n_precincts; i++)
		tally_reconcile_state_init(&t->precincts[i]);
	for (size_t i = 0; i < e->n_regions; i++)
		t->regions[i].precincts_total = (uint32_t)e->regions[i].n_precincts;
	t->national.precincts_total = (uint32_t)e->n_precincts;
	*ret = t;
	return 0;
}

struct tally_totals *tally_totals_free(struct tally_totals *t)
{
	if (!t)
		return NULL;
	if (t->precincts)
		for (size_t i = 0; i < t->election->n_precincts; i++)
			tally_reconcile_state_clear(&t->precincts[i]);
	free(t->precincts);
	free(t->counted);
	free(t->regions);
	free(t->reported_definition_registered);
	free(t);
	return NULL;
}

int tally_totals_result_figures(const struct tally_totals *t, const struct tally_result *r,
                                uint32_t *ret_figures)
{
	const struct tally_election *e = t->election;
	ret_figures[0] = r->voters_registered;
	ret_figures[1] = r->ballots_cast;
	ret_figures[2] = r->ballots_invalid;
	ret_figures[3] = r->ballots_not_counted;
	memset(ret_figures + TALLY_TOTALS_FIXED_FIGURES, 0, e->n_options * sizeof(uint32_t));
	for (size_t i = 0; i < r->n_votes; i++) {
		int o = tally_election_option_index(e, r->votes[i].option_id);
		if (o < 0)
			return -EINVAL;
		ret_figures[TALLY_TOTALS_FIXED_FIGURES + o] = r->votes[i].count;
	}
	return 0;
}

/* f += sign * fig, for one counted result's figures. */
static void move_figures(struct tally_figures *f, const uint32_t *fig, size_t n_options, int sign)
{
	/* Unsigned wrap-around makes subtraction exact: whatever is subtracted
	 * was added before. */
	uint64_t m = sign > 0 ? 1 : (uint64_t)-1;
	f->voters_registered += m * fig[0];
	f->ballots_cast += m * fig[1];
	f->ballots_invalid += m * fig[2];
	f->ballots_not_counted += m * fig[3];
	for (size_t i = 0; i < n_options; i++)
		f->votes[i] += m * fig[TALLY_TOTALS_FIXED_FIGURES + i];
}

int tally_totals_apply_figures(struct tally_totals *t, size_t precinct_index, uint32_t revision,
                               const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                               const uint32_t *figures, enum tally_outcome *ret_outcome)
{
	const struct tally_election *e = t->election;
	if (precinct_index >= e->n_precincts)
		return -ERANGE;
	if (revision == 0)
		return -EINVAL;
	struct tally_precinct_state *st = &t->precincts[precinct_index];
	struct tally_figures *reg = &t->regions[e->precincts[precinct_index].region];
	size_t stride = tally_totals_stride(t);
	uint32_t *held = t->counted + precinct_index * stride;
	enum tally_outcome o = tally_reconcile_decide(st, revision, hash);
	bool was_reported = st->revision != 0;
	bool was_flagged = st->n_conflicts != 0;
	int r = tally_reconcile_apply(st, o, revision, hash, leaf_index);
	if (r < 0)
		return r;

	switch (o) {
	case TALLY_OUTCOME_ACCEPTED:
		if (was_reported) {
			move_figures(&t->national, held, e->n_options, -1);
			move_figures(reg, held, e->n_options, -1);
		} else {
			t->national.precincts_reported++;
			reg->precincts_reported++;
			t->reported_definition_registered[e->precincts[precinct_index].region] +=
			    e->precincts[precinct_index].registered;
		}
		if (was_flagged) {
			t->national.conflicts--;
			reg->conflicts--;
		}
		memcpy(held, figures, stride * sizeof(uint32_t));
		move_figures(&t->national, held, e->n_options, +1);
		move_figures(reg, held, e->n_options, +1);
		t->sequence++;
		break;
	case TALLY_OUTCOME_CONFLICT:
		if (!was_flagged) {
			t->national.conflicts++;
			reg->conflicts++;
		}
		t->sequence++;
		break;
	default:
		break;
	}
	*ret_outcome = o;
	return 0;
}

int tally_totals_apply(struct tally_totals *t, const struct tally_result *r,
                       const uint8_t hash[TALLY_HASH_BYTES], int64_t leaf_index,
                       enum tally_outcome *ret_outcome)
{
	int64_t idx = tally_election_precinct_index(t->election, r->precinct_id);
	if (idx < 0)
		return -ENOENT;
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS];
	int rc = tally_totals_result_figures(t, r, fig);
	if (rc < 0)
		return rc;
	return tally_totals_apply_figures(t, (size_t)idx, r->revision, hash, leaf_index, fig,
	                                  ret_outcome);
}

double tally_figures_turnout_pct(const struct tally_figures *f)
{
	if (f->voters_registered == 0)
		return 0.0;
	return 100.0 * (double)f->ballots_cast / (double)f->voters_registered;
}

double tally_figures_option_pct(const struct tally_figures *f, size_t i)
{
	if (f->ballots_cast <= f->ballots_invalid)
		return 0.0;
	return 100.0 * (double)f->votes[i] / (double)(f->ballots_cast - f->ballots_invalid);
}

const char *tally_decision_str(enum tally_decision d)
{
	switch (d) {
	case TALLY_DECISION_NONE:
		return "none";
	case TALLY_DECISION_UNDETERMINED:
		return "undetermined";
	case TALLY_DECISION_PASSING:
		return "passing";
	case TALLY_DECISION_FAILING:
		return "failing";
	}
	return "unknown";
}

/* Registered voters (from the definition) of region ri's unreported precincts. */
static uint64_t unreported_registered(const struct tally_totals *t, size_t ri)
{
	return t->election->regions[ri].registered - t->reported_definition_registered[ri];
}

static double pct(uint64_t num, uint64_t den)
{
	return den ? 100.0 * (double)num / (double)den : 0.0;
}

const char *tally_totals_group(uint64_t v, char ret[TALLY_GROUPED_MAX])
{
	char digits[21];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			ret[o++] = ',';
		ret[o++] = digits[i];
	}
	ret[o] = '\0';
	return ret;
}

static void add_reason(char (*reasons)[TALLY_REASON_MAX], size_t n_max, size_t *n, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
static void add_reason(char (*reasons)[TALLY_REASON_MAX], size_t n_max, size_t *n, const char *fmt,
                       ...)
{
	if (*n >= n_max)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reasons[*n], TALLY_REASON_MAX, fmt, ap);
	va_end(ap);
	(*n)++;
}

/*
 * Turnout rule: turnout must exceed min_turnout_pct ("more than half" in
 * the referendum law when it is 50). The final turnout lies between every
 * unreported voter staying home and every one voting.
 */
static enum tally_decision decide_turnout(const struct tally_totals *t, uint64_t unreported,
                                          char (*reasons)[TALLY_REASON_MAX], size_t n_max,
                                          size_t *n)
{
	const struct tally_figures *f = &t->national;
	double min = t->election->rules.min_turnout_pct;
	uint64_t reg = f->voters_registered + unreported;
	double low = pct(f->ballots_cast, reg);
	double high = pct(f->ballots_cast + unreported, reg);
	char voters[TALLY_GROUPED_MAX];

	tally_totals_group(unreported, voters);
	if (low > min) {
		add_reason(reasons, n_max, n,
		           "turnout %.2f%% exceeds the required %.2f%% whatever the %s registered "
		           "voters of unreported precincts do",
		           low, min, voters);
		return TALLY_DECISION_PASSING;
	}
	if (!(high > min)) {
		add_reason(reasons, n_max, n,
		           "turnout cannot exceed the required %.2f%%: at most %.2f%% even if "
		           "every voter of unreported precincts votes",
		           min, high);
		return TALLY_DECISION_FAILING;
	}
	add_reason(reasons, n_max, n,
	           "turnout undetermined: between %.2f%% and %.2f%% with %s registered voters "
	           "in unreported precincts; required more than %.2f%%",
	           low, high, voters, min);
	return TALLY_DECISION_UNDETERMINED;
}

/*
 * Region rule: the first option must hold more than half of a region's
 * ballots cast in at least region_majority_fraction of the regions. A
 * region surely has the majority if it keeps it when every unreported voter
 * votes against; it surely lacks it if it lacks it when every one votes for.
 */
static enum tally_decision decide_regions(const struct tally_totals *t,
                                          char (*reasons)[TALLY_REASON_MAX], size_t n_max,
                                          size_t *n)
{
	const struct tally_election *e = t->election;
	size_t sure = 0, possible = 0;
	for (size_t ri = 0; ri < e->n_regions; ri++) {
		const struct tally_figures *f = &t->regions[ri];
		uint64_t u = unreported_registered(t, ri);
		uint64_t yes = e->n_options ? f->votes[0] : 0;
		if (yes * 2 > f->ballots_cast + u)
			sure++;
		if ((yes + u) * 2 > f->ballots_cast + u)
			possible++;
	}
	double frac = e->rules.region_majority_fraction;
	double need_d = ceil(frac * (double)e->n_regions - 1e-9);
	size_t need = need_d < 0 ? 0 : (size_t)need_d;
	const char *opt = e->n_options ? e->options[0].id : "?";
	if (sure >= need) {
		add_reason(
		    reasons, n_max, n,
		    "'%s' has more than half of ballots cast in %zu of %zu regions (at least "
		    "%zu needed), whatever unreported precincts bring",
		    opt, sure, e->n_regions, need);
		return TALLY_DECISION_PASSING;
	}
	if (possible < need) {
		add_reason(reasons, n_max, n,
		           "'%s' can have more than half of ballots cast in at most %zu of %zu "
		           "regions; %zu needed",
		           opt, possible, e->n_regions, need);
		return TALLY_DECISION_FAILING;
	}
	add_reason(reasons, n_max, n,
	           "regional majorities undetermined: '%s' surely leads in %zu and possibly in "
	           "%zu of %zu regions; %zu needed",
	           opt, sure, possible, e->n_regions, need);
	return TALLY_DECISION_UNDETERMINED;
}

enum tally_decision tally_totals_decision(const struct tally_totals *t,
                                          char (*ret_reasons)[TALLY_REASON_MAX], size_t n_max,
                                          size_t *ret_n)
{
	const struct tally_rules *rules = &t->election->rules;
	*ret_n = 0;
	if (!rules->has_min_turnout && !rules->has_region_majority)
		return TALLY_DECISION_NONE;
	enum tally_decision d[2];
	size_t nd = 0;
	if (rules->has_min_turnout) {
		uint64_t u = 0;
		for (size_t ri = 0; ri < t->election->n_regions; ri++)
			u += unreported_registered(t, ri);
		d[nd++] = decide_turnout(t, u, ret_reasons, n_max, ret_n);
	}
	if (rules->has_region_majority)
		d[nd++] = decide_regions(t, ret_reasons, n_max, ret_n);
	/* One failing rule decides; all must pass to pass. */
	bool all_pass = true;
	for (size_t i = 0; i < nd; i++) {
		if (d[i] == TALLY_DECISION_FAILING)
			return TALLY_DECISION_FAILING;
		if (d[i] != TALLY_DECISION_PASSING)
			all_pass = false;
	}
	return all_pass ? TALLY_DECISION_PASSING : TALLY_DECISION_UNDETERMINED;
}

/* Percentages are published rounded to two decimals. */
static json_t *json_pct(double v)
{
	return json_real(round(v * 100.0) / 100.0);
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v) < 0)
		return -ENOMEM;
	return 0;
}

int tally_totals_figures_to_json(const struct tally_totals *t, const struct tally_figures *f,
                                 json_t **ret)
{
	const struct tally_election *e = t->election;
	json_t *o = json_object(), *votes = json_object(), *vpct = json_object();
	/* set_new() hands each value to its parent, even when it fails, so
	 * only `o` needs releasing below once votes and vpct are placed. */
	if (!o || set_new(o, "precincts_total", json_integer(f->precincts_total)) < 0 ||
	    set_new(o, "precincts_reported", json_integer(f->precincts_reported)) < 0 ||
	    set_new(o, "voters_registered", json_integer((json_int_t)f->voters_registered)) < 0 ||
	    set_new(o, "ballots_cast", json_integer((json_int_t)f->ballots_cast)) < 0 ||
	    set_new(o, "ballots_invalid", json_integer((json_int_t)f->ballots_invalid)) < 0 ||
	    set_new(o, "ballots_not_counted", json_integer((json_int_t)f->ballots_not_counted)) <
	        0) {
		json_decref(votes);
		json_decref(vpct);
		goto fail;
	}
	if (set_new(o, "votes", votes) < 0) {
		json_decref(vpct);
		goto fail;
	}
	if (set_new(o, "votes_pct", vpct) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_options; i++) {
		if (set_new(votes, e->options[i].id, json_integer((json_int_t)f->votes[i])) < 0 ||
		    set_new(vpct, e->options[i].id, json_pct(tally_figures_option_pct(f, i))) < 0)
			goto fail;
	}
	if (set_new(o, "turnout_pct", json_pct(tally_figures_turnout_pct(f))) < 0 ||
	    set_new(o, "conflicts", json_integer(f->conflicts)) < 0)
		goto fail;
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return -ENOMEM;
}

int tally_totals_decision_to_json(const struct tally_totals *t, json_t **ret)
{
	char reasons[4][TALLY_REASON_MAX];
	size_t n = 0;
	enum tally_decision d = tally_totals_decision(t, reasons, 4, &n);
	const struct tally_rules *rules = &t->election->rules;
	json_t *o = json_object(), *arr = json_array(), *rj = json_object();
	if (!o || set_new(o, "status", json_string(tally_decision_str(d))) < 0) {
		json_decref(arr);
		json_decref(rj);
		goto fail;
	}
	if (set_new(o, "reasons", arr) < 0) {
		json_decref(rj);
		goto fail;
	}
	if (set_new(o, "rules", rj) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(reasons[i])) < 0)
			goto fail;
	if (rules->has_min_turnout &&
	    set_new(rj, "min_turnout_pct", json_real(rules->min_turnout_pct)) < 0)
		goto fail;
	if (rules->has_region_majority &&
	    set_new(rj, "region_majority_fraction", json_real(rules->region_majority_fraction)) < 0)
		goto fail;
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return -ENOMEM;
}

int tally_totals_to_json(const struct tally_totals *t, json_t **ret)
{
	const struct tally_election *e = t->election;
	json_t *doc = json_object(), *regions = json_array(), *f = NULL, *dec = NULL;
	if (!doc || set_new(doc, "election_id", json_string(e->election_id)) < 0 ||
	    set_new(doc, "sequence", json_integer((json_int_t)t->sequence)) < 0) {
		json_decref(regions);
		goto fail;
	}
	if (tally_totals_figures_to_json(t, &t->national, &f) < 0 ||
	    set_new(doc, "national", f) < 0) {
		json_decref(regions);
		goto fail;
	}
	if (set_new(doc, "regions", regions) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_regions; i++) {
		json_t *r = json_object();
		if (json_array_append_new(regions, r) < 0 ||
		    set_new(r, "id", json_string(e->regions[i].id)) < 0 ||
		    set_new(r, "name", json_string(e->regions[i].name ? e->regions[i].name : "")) <
		        0)
			goto fail;
		/* id and name first, for people reading the document. */
		if (tally_totals_figures_to_json(t, &t->regions[i], &f) < 0)
			goto fail;
		int rc = json_object_update(r, f);
		json_decref(f);
		if (rc < 0)
			goto fail;
	}
	if (tally_totals_decision_to_json(t, &dec) < 0 || set_new(doc, "decision", dec) < 0)
		goto fail;
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return -ENOMEM;
}

static void digest_figures(crypto_hash_sha256_state *h, const char *id,
                           const struct tally_figures *f, size_t n_options)
{
	char line[128];
	int n = snprintf(
	    line, sizeof(line),
	    "%s %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	    id, f->precincts_total, f->precincts_reported, f->conflicts, f->voters_registered,
	    f->ballots_cast, f->ballots_invalid, f->ballots_not_counted);
	crypto_hash_sha256_update(h, (const uint8_t *)line, (size_t)n);
	for (size_t i = 0; i < n_options; i++) {
		n = snprintf(line, sizeof(line), " %" PRIu64, f->votes[i]);
		crypto_hash_sha256_update(h, (const uint8_t *)line, (size_t)n);
	}
	crypto_hash_sha256_update(h, (const uint8_t *)"\n", 1);
}

/*
 * The canonical text, one line each, fields separated by one space:
 *   "tally-totals-v1 <election_id> <sequence>"
 *   "national <precincts_total> <precincts_reported> <conflicts>
 *    <voters_registered> <ballots_cast> <ballots_invalid>
 *    <ballots_not_counted> <votes of each option in definition order>"
 *   then the same line for every region, its id first, in definition order.
 */
void tally_totals_digest(const struct tally_totals *t, uint8_t ret[TALLY_HASH_BYTES])
{
	const struct tally_election *e = t->election;
	crypto_hash_sha256_state h;
	char line[TALLY_ID_MAX + 64];
	crypto_hash_sha256_init(&h);
	int n = snprintf(line, sizeof(line), "tally-totals-v1 %s %" PRIu64 "\n", e->election_id,
	                 t->sequence);
	crypto_hash_sha256_update(&h, (const uint8_t *)line, (size_t)n);
	digest_figures(&h, "national", &t->national, e->n_options);
	for (size_t i = 0; i < e->n_regions; i++)
		digest_figures(&h, e->regions[i].id, &t->regions[i], e->n_options);
	crypto_hash_sha256_final(&h, ret);
}
