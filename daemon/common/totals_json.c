/*
 * totals_json.c: the documents published over the totals (totals_json.h):
 * /v1/totals in both its forms, /v1/election, /v1/contests and
 * /v1/contests/{id}. It owns their layout, key order included, and
 * nothing else: the figures are totals.c's, the decisions decision.c's
 * (this file only hands them the figures), the clock the caller's.
 *
 * Every object is built with jansson and serialized by the caller with
 * JSON_PRESERVE_ORDER, so keys come out in the order set here. set_new()
 * hands its value to the parent even when it fails, so only the top
 * object is ever released on the way out.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tally/totals_json.h"

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

/* Percentages are published rounded to two decimals. */
static json_t *json_pct(double v)
{
	return json_real(round(v * 100.0) / 100.0);
}

static double pct(uint64_t num, uint64_t den)
{
	return den ? 100.0 * (double)num / (double)den : 0.0;
}

/* The referendum of a definition without contests. */
static bool is_legacy(const struct tally_election *e, const struct tally_contest *c)
{
	return tally_election_is_legacy(e) && c == &e->contests[0];
}

enum tally_denominator tally_contest_pct_of(const struct tally_election *e,
                                            const struct tally_contest *c)
{
	if (is_legacy(e, c))
		return TALLY_DENOM_VALID;
	switch (c->kind) {
	case TALLY_CONTEST_REFERENDUM:
		return c->rules.pass_share_of;
	case TALLY_CONTEST_CANDIDATE:
		return c->rules.majority_of;
	case TALLY_CONTEST_PARTY_LIST:
		return c->rules.threshold_of;
	}
	return TALLY_DENOM_VALID;
}

int tally_totals_contest_decision(const struct tally_totals *t, size_t contest,
                                  struct tally_contest_decision *ret)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[contest];
	const struct tally_contest_totals *ct = &t->contests[contest];

	ret->in = (struct tally_decision_input){
	    .e = e,
	    .c = c,
	    .national = &ct->national,
	    .regions = ct->regions,
	    .unreported_registered = c->registered - ct->reported_definition_registered,
	    .region_unreported_registered = ct->region_unreported_registered,
	};
	return tally_decide(&ret->in, &ret->d);
}

int tally_name_to_json(json_t *obj, const char *key, const char *keys, const struct tally_name *n)
{
	json_t *names;

	if (set_new(obj, key, json_string(n->text ? n->text : "")) < 0)
		return -ENOMEM;
	if (n->n_langs == 0)
		return 0;
	names = json_object();
	if (set_new(obj, keys, names) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_langs; i++)
		if (set_new(names, n->langs[i].tag, json_string(n->langs[i].text)) < 0)
			return -ENOMEM;
	return 0;
}

int tally_contest_figures_to_json(const struct tally_election *e, const struct tally_contest *c,
                                  const struct tally_figures *f, json_t *obj)
{
	enum tally_denominator of = tally_contest_pct_of(e, c);
	uint64_t den = tally_figures_denominator(f, of);
	json_t *votes, *vpct;

	if (set_new(obj, "precincts_total", json_integer(f->precincts_total)) < 0 ||
	    set_new(obj, "precincts_reported", json_integer(f->precincts_reported)) < 0 ||
	    set_new(obj, "voters_registered", json_integer((json_int_t)f->voters_registered)) < 0 ||
	    set_new(obj, "ballots_cast", json_integer((json_int_t)f->ballots_cast)) < 0 ||
	    set_new(obj, "ballots_invalid", json_integer((json_int_t)f->ballots_invalid)) < 0 ||
	    set_new(obj, "ballots_not_counted", json_integer((json_int_t)f->ballots_not_counted)) <
	        0 ||
	    set_new(obj, "valid", json_integer((json_int_t)tally_figures_valid(f))) < 0)
		return -ENOMEM;
	votes = json_object();
	if (set_new(obj, "votes", votes) < 0)
		return -ENOMEM;
	vpct = json_object();
	if (set_new(obj, "votes_pct", vpct) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_options; i++)
		if (set_new(votes, c->options[i].id, json_integer((json_int_t)f->votes[i])) < 0 ||
		    set_new(vpct, c->options[i].id, json_pct(pct(f->votes[i], den))) < 0)
			return -ENOMEM;
	if (set_new(obj, "pct_of", json_string(tally_denominator_str(of))) < 0 ||
	    set_new(obj, "turnout_pct", json_pct(tally_figures_turnout_pct(f))) < 0 ||
	    set_new(obj, "conflicts", json_integer(f->conflicts)) < 0)
		return -ENOMEM;
	return 0;
}

json_t *tally_contest_scope_to_json(const struct tally_election *e, const struct tally_contest *c)
{
	json_t *o, *list;

	switch (c->scope) {
	case TALLY_SCOPE_NATIONAL:
		break;
	case TALLY_SCOPE_REGIONS:
		o = json_object();
		list = json_array();
		if (o == NULL || set_new(o, "regions", list) < 0)
			goto fail;
		for (size_t k = 0; k < c->n_scope_regions; k++)
			if (append_new(list, json_string(e->regions[c->scope_regions[k]].id)) < 0)
				goto fail;
		return o;
	case TALLY_SCOPE_DISTRICT:
		o = json_object();
		if (o == NULL || c->district < 0 ||
		    set_new(o, "district", json_string(e->districts[c->district].id)) < 0)
			goto fail;
		return o;
	}
	return json_string("national");
fail:
	json_decref(o);
	return NULL;
}

static json_t *option_to_json(const struct tally_election *e, const struct tally_contest *c,
                              const struct tally_contest_option *opt)
{
	json_t *o = json_object();

	if (o == NULL || set_new(o, "id", json_string(opt->id)) < 0 ||
	    tally_name_to_json(o, "name", "names", &opt->name) < 0)
		goto fail;
	if (opt->party >= 0 && set_new(o, "party", json_string(e->parties[opt->party].id)) < 0)
		goto fail;
	if (opt->color[0] && set_new(o, "color", json_string(opt->color)) < 0)
		goto fail;
	if (set_new(o, "against_all", json_boolean(opt->against_all)) < 0)
		goto fail;
	if (c->kind == TALLY_CONTEST_PARTY_LIST && opt->list_length > 0 &&
	    set_new(o, "list_length", json_integer(opt->list_length)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* id, name, names, kind, scope, seats: the head every listing of a contest shares. */
static int contest_head(const struct tally_election *e, const struct tally_contest *c, json_t *o)
{
	if (set_new(o, "id", json_string(c->id)) < 0 ||
	    tally_name_to_json(o, "name", "names", &c->name) < 0 ||
	    set_new(o, "kind", json_string(tally_contest_kind_str(c->kind))) < 0 ||
	    set_new(o, "scope", tally_contest_scope_to_json(e, c)) < 0 ||
	    set_new(o, "seats", json_integer(c->seats)) < 0)
		return -ENOMEM;
	return 0;
}

int tally_contest_to_json(const struct tally_election *e, const struct tally_contest *c,
                          json_t **ret)
{
	json_t *o = json_object(), *options, *rules = NULL;

	if (o == NULL || contest_head(e, c, o) < 0)
		goto fail;
	options = json_array();
	if (set_new(o, "options", options) < 0)
		goto fail;
	for (size_t i = 0; i < c->n_options; i++)
		if (append_new(options, option_to_json(e, c, &c->options[i])) < 0)
			goto fail;
	if (tally_decision_rules_to_json(e, c, &rules) < 0 || set_new(o, "rules", rules) < 0)
		goto fail;
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return -ENOMEM;
}

/* The regions of a district's precincts, in definition order. */
static json_t *district_regions(const struct tally_election *e, const struct tally_district *d)
{
	json_t *list = json_array();
	bool *seen = calloc(e->n_regions ? e->n_regions : 1, sizeof(*seen));

	if (list == NULL || seen == NULL)
		goto fail;
	for (size_t k = 0; k < d->n_precincts; k++)
		seen[e->precincts[d->precincts[k]].region] = true;
	for (size_t r = 0; r < e->n_regions; r++)
		if (seen[r] && append_new(list, json_string(e->regions[r].id)) < 0)
			goto fail;
	free(seen);
	return list;
fail:
	free(seen);
	json_decref(list);
	return NULL;
}

int tally_election_to_json(const struct tally_election *e, json_t **ret)
{
	json_t *doc = json_object(), *list, *o;

	if (doc == NULL || set_new(doc, "election_id", json_string(e->election_id)) < 0 ||
	    tally_name_to_json(doc, "title", "titles", &e->titles) < 0)
		goto fail;
	list = json_array();
	if (set_new(doc, "regions", list) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_regions; i++) {
		const struct tally_region *r = &e->regions[i];
		o = json_object();
		if (append_new(list, o) < 0 || set_new(o, "id", json_string(r->id)) < 0 ||
		    tally_name_to_json(o, "name", "names", &r->names) < 0)
			goto fail;
		if (r->has_tile &&
		    set_new(o, "tile", json_pack("[i, i]", (int)r->tile_col, (int)r->tile_row)) < 0)
			goto fail;
		if (set_new(o, "precincts_total", json_integer((json_int_t)r->n_precincts)) < 0)
			goto fail;
	}
	list = json_array();
	if (set_new(doc, "parties", list) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_parties; i++) {
		const struct tally_party *p = &e->parties[i];
		o = json_object();
		if (append_new(list, o) < 0 || set_new(o, "id", json_string(p->id)) < 0 ||
		    tally_name_to_json(o, "name", "names", &p->name) < 0)
			goto fail;
		if (p->color[0] && set_new(o, "color", json_string(p->color)) < 0)
			goto fail;
	}
	list = json_array();
	if (set_new(doc, "districts", list) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_districts; i++) {
		const struct tally_district *d = &e->districts[i];
		o = json_object();
		if (append_new(list, o) < 0 || set_new(o, "id", json_string(d->id)) < 0 ||
		    tally_name_to_json(o, "name", "names", &d->name) < 0 ||
		    set_new(o, "regions", district_regions(e, d)) < 0 ||
		    set_new(o, "precincts_total", json_integer((json_int_t)d->n_precincts)) < 0)
			goto fail;
	}
	list = json_array();
	if (set_new(doc, "contests", list) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_contests; i++) {
		if (tally_contest_to_json(e, &e->contests[i], &o) < 0 || append_new(list, o) < 0)
			goto fail;
	}
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return -ENOMEM;
}

/* "election_id", "sequence" and, when given, "as_of": every document's head. */
static json_t *document_head(const struct tally_totals *t, const char *as_of)
{
	json_t *doc = json_object();

	if (doc == NULL || set_new(doc, "election_id", json_string(t->election->election_id)) < 0 ||
	    set_new(doc, "sequence", json_integer((json_int_t)t->sequence)) < 0 ||
	    (as_of && set_new(doc, "as_of", json_string(as_of)) < 0)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* [{"id", "name", "names"?, ...FIGURES}] of n parts. */
static int parts_to_json(const struct tally_election *e, const struct tally_contest *c,
                         const struct tally_figures *figures, const uint32_t *index, size_t n,
                         bool districts, json_t *list)
{
	for (size_t k = 0; k < n; k++) {
		const char *id = districts ? e->districts[index[k]].id : e->regions[index[k]].id;
		const struct tally_name *name =
		    districts ? &e->districts[index[k]].name : &e->regions[index[k]].names;
		json_t *o = json_object();
		if (append_new(list, o) < 0 || set_new(o, "id", json_string(id)) < 0 ||
		    tally_name_to_json(o, "name", "names", name) < 0 ||
		    tally_contest_figures_to_json(e, c, &figures[k], o) < 0)
			return -ENOMEM;
	}
	return 0;
}

int tally_totals_contest_to_json(const struct tally_totals *t, size_t contest, const char *as_of,
                                 json_t **ret)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[contest];
	const struct tally_contest_totals *ct = &t->contests[contest];
	struct tally_contest_decision cd;
	json_t *doc, *o = NULL, *list;
	int rc = tally_totals_contest_decision(t, contest, &cd);

	if (rc < 0)
		return rc;
	doc = document_head(t, as_of);
	if (doc == NULL || tally_contest_to_json(e, c, &o) < 0 || set_new(doc, "contest", o) < 0)
		goto fail;
	o = json_object();
	if (set_new(doc, "national", o) < 0 ||
	    tally_contest_figures_to_json(e, c, &ct->national, o) < 0)
		goto fail;
	list = json_array();
	if (set_new(doc, "regions", list) < 0 ||
	    parts_to_json(e, c, ct->regions, c->regions, c->n_regions, false, list) < 0)
		goto fail;
	list = json_array();
	if (set_new(doc, "districts", list) < 0 ||
	    parts_to_json(e, c, ct->districts, c->districts, c->n_districts, true, list) < 0)
		goto fail;
	if (tally_decision_to_json(&cd.in, &cd.d, &o) < 0 || set_new(doc, "decision", o) < 0)
		goto fail;
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return -ENOMEM;
}

int tally_totals_contests_to_json(const struct tally_totals *t, const char *as_of, json_t **ret)
{
	const struct tally_election *e = t->election;
	json_t *doc = document_head(t, as_of), *list;
	struct tally_contest_decision cd;
	int rc = -ENOMEM;

	list = json_array();
	if (doc == NULL || set_new(doc, "contests", list) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_contests; i++) {
		const struct tally_contest *c = &e->contests[i];
		const struct tally_figures *f = &t->contests[i].national;
		json_t *o = json_object();
		if ((rc = tally_totals_contest_decision(t, i, &cd)) < 0)
			goto fail;
		rc = -ENOMEM;
		if (append_new(list, o) < 0 || contest_head(e, c, o) < 0 ||
		    set_new(o, "precincts_total", json_integer(f->precincts_total)) < 0 ||
		    set_new(o, "precincts_reported", json_integer(f->precincts_reported)) < 0 ||
		    set_new(o, "status", json_string(tally_decision_status_str(cd.d.status))) < 0 ||
		    set_new(o, "final", json_boolean(cd.d.final)) < 0 ||
		    set_new(o, "leader",
		            cd.d.leader >= 0 ? json_string(c->options[cd.d.leader].id)
		                             : json_null()) < 0)
			goto fail;
	}
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return rc;
}

/* ---- /v1/totals ---- */

int tally_totals_figures_to_json(const struct tally_totals *t, const struct tally_figures *f,
                                 json_t **ret)
{
	/* The legacy referendum's options are contest 0's, in the same order. */
	const struct tally_contest *c = &t->election->contests[0];
	json_t *o = json_object(), *votes, *vpct;

	if (!o || set_new(o, "precincts_total", json_integer(f->precincts_total)) < 0 ||
	    set_new(o, "precincts_reported", json_integer(f->precincts_reported)) < 0 ||
	    set_new(o, "voters_registered", json_integer((json_int_t)f->voters_registered)) < 0 ||
	    set_new(o, "ballots_cast", json_integer((json_int_t)f->ballots_cast)) < 0 ||
	    set_new(o, "ballots_invalid", json_integer((json_int_t)f->ballots_invalid)) < 0 ||
	    set_new(o, "ballots_not_counted", json_integer((json_int_t)f->ballots_not_counted)) < 0)
		goto fail;
	votes = json_object();
	if (set_new(o, "votes", votes) < 0)
		goto fail;
	vpct = json_object();
	if (set_new(o, "votes_pct", vpct) < 0)
		goto fail;
	for (size_t i = 0; i < c->n_options; i++) {
		if (set_new(votes, c->options[i].id, json_integer((json_int_t)f->votes[i])) < 0 ||
		    set_new(vpct, c->options[i].id, json_pct(tally_figures_option_pct(f, i))) < 0)
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

/* The document of a definition without contests, as ever. */
static int legacy_to_json(const struct tally_totals *t, const char *as_of, json_t **ret)
{
	const struct tally_election *e = t->election;
	struct tally_contest_decision cd;
	json_t *doc, *regions, *f = NULL, *dec = NULL;
	int rc = tally_totals_contest_decision(t, 0, &cd);

	if (rc < 0)
		return rc;
	doc = document_head(t, NULL);
	if (doc == NULL || tally_totals_figures_to_json(t, &t->contests[0].national, &f) < 0 ||
	    set_new(doc, "national", f) < 0)
		goto fail;
	regions = json_array();
	if (set_new(doc, "regions", regions) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_regions; i++) {
		json_t *r = json_object();
		if (append_new(regions, r) < 0 ||
		    set_new(r, "id", json_string(e->regions[i].id)) < 0 ||
		    set_new(r, "name", json_string(e->regions[i].name ? e->regions[i].name : "")) <
		        0)
			goto fail;
		/* id and name first, for people reading the document. */
		if (tally_totals_figures_to_json(t, tally_totals_region(t, 0, i), &f) < 0)
			goto fail;
		rc = json_object_update(r, f);
		json_decref(f);
		if (rc < 0)
			goto fail;
	}
	if (tally_decision_to_json(&cd.in, &cd.d, &dec) < 0 || set_new(doc, "decision", dec) < 0 ||
	    (as_of && set_new(doc, "as_of", json_string(as_of)) < 0))
		goto fail;
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return -ENOMEM;
}

/* The document of a definition with contests. */
static int contests_to_json(const struct tally_totals *t, const char *as_of, json_t **ret)
{
	const struct tally_election *e = t->election;
	struct tally_contest_decision cd;
	json_t *doc = json_object(), *list, *o, *dec;
	int rc = -ENOMEM;

	if (doc == NULL || set_new(doc, "election_id", json_string(e->election_id)) < 0 ||
	    tally_name_to_json(doc, "title", "titles", &e->titles) < 0 ||
	    set_new(doc, "sequence", json_integer((json_int_t)t->sequence)) < 0 ||
	    (as_of && set_new(doc, "as_of", json_string(as_of)) < 0))
		goto fail;
	list = json_array();
	if (set_new(doc, "contests", list) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_contests; i++) {
		const struct tally_contest *c = &e->contests[i];
		json_t *nat;
		if ((rc = tally_totals_contest_decision(t, i, &cd)) < 0)
			goto fail;
		rc = -ENOMEM;
		o = json_object();
		if (append_new(list, o) < 0 || contest_head(e, c, o) < 0)
			goto fail;
		nat = json_object();
		if (set_new(o, "national", nat) < 0 ||
		    tally_contest_figures_to_json(e, c, &t->contests[i].national, nat) < 0)
			goto fail;
		if (tally_decision_to_json(&cd.in, &cd.d, &dec) < 0 ||
		    set_new(o, "decision", dec) < 0)
			goto fail;
	}
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return rc;
}

int tally_totals_to_json_at(const struct tally_totals *t, const char *as_of, json_t **ret)
{
	if (tally_election_is_legacy(t->election))
		return legacy_to_json(t, as_of, ret);
	return contests_to_json(t, as_of, ret);
}

int tally_totals_to_json(const struct tally_totals *t, json_t **ret)
{
	return tally_totals_to_json_at(t, NULL, ret);
}
