/*
 * export_nist.c: writes the NIST SP 1500-100 v2 ElectionReport described in
 * export_nist.h from a struct tally_totals. It owns the mapping from tally's
 * figures to NIST's vocabulary and the streaming of the document; when and
 * where it runs (a worker thread, a cache per sequence) is the HTTP
 * handler's business (export_http.c).
 *
 * The document is streamed rather than built as one jansson tree because at
 * a million precincts the tree would take gigabytes: headers and the
 * country and region units go through jansson (their strings come from the
 * election definition and need escaping), while the per-precinct items,
 * which hold only integers, are formatted directly.
 *
 * A definition without contests gets the referendum's document written by
 * the first half of this file, which is left as it was so that those bytes
 * never change (tests/unit/data/nist pins them); a general election gets
 * the document of the second half, which adds districts, parties,
 * candidates and every contest kind, and formats ids directly as well:
 * definition ids cannot hold a character JSON would escape.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export_nist.h"
#include "tally/decision.h"

/* Per slot in tally_totals_counted(): registered, cast, invalid, not_counted, votes[n]. */
enum { FIG_REGISTERED, FIG_CAST, FIG_INVALID, FIG_NOT_COUNTED, FIG_VOTES };
_Static_assert(FIG_VOTES == TALLY_TOTALS_FIXED_FIGURES, "the layout of totals->counted");

struct out {
	json_dump_callback_t cb;
	void *arg;
	int err;
};

/* What a unit (country or region) shows beyond struct tally_figures. */
struct unit_extra {
	uint64_t registered; /* results' figure where reported, definition's elsewhere */
};

static void put(struct out *w, const char *s, size_t n)
{
	if (w->err == 0 && n > 0 && w->cb(s, n, w->arg) != 0)
		w->err = -EIO;
}

static void puts_(struct out *w, const char *s)
{
	put(w, s, strlen(s));
}

static void putf(struct out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Callers format integers and fixed words only: the buffer always fits. */
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		if (w->err == 0)
			w->err = -EINVAL;
		return;
	}
	put(w, buf, (size_t)n);
}

/* Writes j (and drops the reference); a NULL j is an allocation failure. */
static void put_json(struct out *w, json_t *j)
{
	if (j == NULL) {
		if (w->err == 0)
			w->err = -ENOMEM;
		return;
	}
	if (w->err == 0 && json_dump_callback(j, w->cb, w->arg, JSON_COMPACT) != 0)
		w->err = -EIO;
	json_decref(j);
}

/*
 * Writes the object j without its closing brace, so that the caller can
 * append the large arrays as further members and close it. j must not be
 * empty (every NIST object has an @type).
 */
static void put_open(struct out *w, json_t *j)
{
	if (j == NULL) {
		if (w->err == 0)
			w->err = -ENOMEM;
		return;
	}
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL) {
		if (w->err == 0)
			w->err = -ENOMEM;
		return;
	}
	size_t n = strlen(s);
	if (n >= 2 && s[n - 1] == '}')
		put(w, s, n - 1);
	else if (w->err == 0)
		w->err = -EINVAL;
	free(s);
}

/* Array separator: nothing before the first item, a comma before the rest. */
static void sep(struct out *w, int *first)
{
	if (!*first)
		put(w, ",", 1);
	*first = 0;
}

static json_t *intl_text(const char *text, const char *lang)
{
	return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "@type",
	                 "ElectionResults.InternationalizedText", "Text", "@type",
	                 "ElectionResults.LanguageString", "Content", text ? text : "", "Language",
	                 lang);
}

static const char *count_status(uint64_t reported, uint64_t total)
{
	if (total > 0 && reported == total)
		return "completed";
	return reported > 0 ? "in-process" : "not-processed";
}

static json_t *count_status_json(uint64_t reported, uint64_t total)
{
	return json_pack("[{s:s, s:s, s:s}]", "@type", "ElectionResults.CountStatus", "Status",
	                 count_status(reported, total), "Type", "total");
}

const char *export_nist_status(const struct tally_totals *t)
{
	for (size_t ci = 0; ci < t->election->n_contests; ci++) {
		const struct tally_figures *n = &t->contests[ci].national;
		if (n->precincts_reported != n->precincts_total)
			return "unofficial-partial";
	}
	return "unofficial-complete";
}

/* The counted figures of precinct p (its slot in the only contest; counted: revision > 0). */
static const uint32_t *counted_of(const struct tally_totals *t, size_t p)
{
	int64_t slot = tally_election_slot(t->election, 0, p);
	assert(slot >= 0);
	return tally_totals_counted(t, (size_t)slot);
}

static int region_unit_id(const struct tally_election *e, size_t r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "ru-%s", e->regions[r].id);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* VotersRegistered per region as described in export_nist.h: one pass. */
static int compute_registered(const struct tally_totals *t, uint64_t **ret_regions,
                              uint64_t *ret_national)
{
	const struct tally_election *e = t->election;
	uint64_t *reg = calloc(e->n_regions ? e->n_regions : 1, sizeof(*reg));
	if (reg == NULL)
		return -ENOMEM;
	for (size_t r = 0; r < e->n_regions; r++)
		reg[r] = e->regions[r].registered;
	for (size_t i = 0; i < e->n_precincts; i++) {
		if (tally_totals_state(t, 0, i)->revision == 0)
			continue;
		uint32_t region = e->precincts[i].region;
		reg[region] += counted_of(t, i)[FIG_REGISTERED];
		reg[region] -= e->precincts[i].registered;
	}
	uint64_t national = 0;
	for (size_t r = 0; r < e->n_regions; r++)
		national += reg[r];
	*ret_regions = reg;
	*ret_national = national;
	return 0;
}

static void write_unit(struct out *w, const char *id, const char *type, const char *name,
                       const char *ext_id, const char *lang, const struct tally_figures *f,
                       uint64_t registered, json_t *composing)
{
	json_t *u = json_pack("{s:s, s:s, s:s}", "@id", id, "@type",
	                      "ElectionResults.ReportingUnit", "Type", type);
	if (u == NULL) {
		json_decref(composing);
		put_json(w, NULL);
		return;
	}
	int rc = 0;
	if (name)
		rc |= json_object_set_new(u, "Name", intl_text(name, lang));
	if (ext_id)
		rc |= json_object_set_new(u, "ExternalIdentifier",
		                          json_pack("[{s:s, s:s, s:s, s:s}]", "@type",
		                                    "ElectionResults.ExternalIdentifier", "Type",
		                                    "other", "OtherType", "tally-region-id",
		                                    "Value", ext_id));
	rc |= json_object_set_new(u, "ComposingGpUnitIds", composing);
	rc |= json_object_set_new(u, "TotalSubUnits", json_integer(f->precincts_total));
	rc |= json_object_set_new(u, "SubUnitsReported", json_integer(f->precincts_reported));
	rc |= json_object_set_new(u, "VotersRegistered", json_integer((json_int_t)registered));
	rc |=
	    json_object_set_new(u, "VotersParticipated", json_integer((json_int_t)f->ballots_cast));
	rc |= json_object_set_new(u, "CountStatus",
	                          count_status_json(f->precincts_reported, f->precincts_total));
	if (rc != 0) {
		json_decref(u);
		u = NULL;
	}
	put_json(w, u);
}

static void write_gpunits(struct out *w, const struct tally_totals *t,
                          const struct export_nist_opts *o, const uint64_t *reg,
                          uint64_t national_reg, const char *lang)
{
	const struct tally_election *e = t->election;
	char id[TALLY_ID_MAX + 8];
	int first = 1;

	json_t *regions = json_array();
	for (size_t r = 0; regions && r < e->n_regions; r++) {
		if (region_unit_id(e, r, id, sizeof(id)) < 0 ||
		    json_array_append_new(regions, json_string(id)) != 0) {
			json_decref(regions);
			regions = NULL;
		}
	}
	if (regions == NULL) {
		put_json(w, NULL);
		return;
	}
	sep(w, &first);
	write_unit(w, "ru-country", "country", NULL, NULL, lang, &t->contests[0].national,
	           national_reg, regions);

	for (size_t r = 0; r < e->n_regions && w->err == 0; r++) {
		const struct tally_region *rg = &e->regions[r];
		json_t *precincts = json_array();
		if (!o->summary_only) {
			for (size_t i = 0; precincts && i < rg->n_precincts; i++) {
				char pid[24];
				snprintf(pid, sizeof(pid), "ru-p%" PRIu32,
				         e->precincts[rg->precincts[i]].id);
				if (json_array_append_new(precincts, json_string(pid)) != 0) {
					json_decref(precincts);
					precincts = NULL;
				}
			}
		}
		if (precincts == NULL || region_unit_id(e, r, id, sizeof(id)) < 0) {
			json_decref(precincts);
			put_json(w, NULL);
			return;
		}
		sep(w, &first);
		write_unit(w, id, "state", rg->name, rg->id, lang, tally_totals_region(t, 0, r),
		           reg[r], precincts);
	}
	if (o->summary_only)
		return;

	for (size_t r = 0; r < e->n_regions && w->err == 0; r++) {
		const struct tally_region *rg = &e->regions[r];
		for (size_t i = 0; i < rg->n_precincts && w->err == 0; i++) {
			size_t p = rg->precincts[i];
			const struct tally_slot_state *st = tally_totals_state(t, 0, p);
			uint32_t pid = e->precincts[p].id;
			sep(w, &first);
			putf(w,
			     "{\"@id\":\"ru-p%" PRIu32
			     "\",\"@type\":\"ElectionResults.ReportingUnit\","
			     "\"Type\":\"precinct\",\"Number\":\"%" PRIu32 "\"",
			     pid, pid);
			if (st->revision == 0) {
				putf(w,
				     ",\"VotersRegistered\":%" PRIu32
				     ",\"CountStatus\":[{\"@type\":"
				     "\"ElectionResults.CountStatus\",\"Status\":\"not-processed\","
				     "\"Type\":\"total\"}]}",
				     e->precincts[p].registered);
				continue;
			}
			const uint32_t *c = counted_of(t, p);
			/* A flagged precinct is counted but not settled: "in-process". */
			putf(w,
			     ",\"VotersRegistered\":%" PRIu32 ",\"VotersParticipated\":%" PRIu32
			     ",\"CountStatus\":[{\"@type\":\"ElectionResults.CountStatus\","
			     "\"Status\":\"%s\",\"Type\":\"total\"}]}",
			     c[FIG_REGISTERED], c[FIG_CAST],
			     st->n_conflicts > 0 ? "in-process" : "completed");
		}
	}
}

/* The arrays with one item per unit: country, regions, reported precincts. */
enum per_unit { PER_BALLOTS, PER_VOTES, PER_OVERVOTES };

static void write_unit_item(struct out *w, enum per_unit what, const char *unit_id,
                            const uint64_t *v)
{
	json_t *j = NULL;
	switch (what) {
	case PER_BALLOTS:
		j = json_pack("{s:s, s:s, s:s, s:I, s:I}", "@type", "ElectionResults.BallotCounts",
		              "GpUnitId", unit_id, "Type", "total", "BallotsCast", (json_int_t)v[0],
		              "BallotsRejected", (json_int_t)v[1]);
		break;
	case PER_VOTES:
		j = json_pack("{s:s, s:I, s:s, s:s}", "@type", "ElectionResults.VoteCounts",
		              "Count", (json_int_t)v[0], "GpUnitId", unit_id, "Type", "total");
		break;
	case PER_OVERVOTES:
		j = json_pack("{s:s, s:s, s:I}", "@type", "ElectionResults.OtherCounts", "GpUnitId",
		              unit_id, "Overvotes", (json_int_t)v[0]);
		break;
	}
	put_json(w, j);
}

static void unit_values(const struct tally_figures *f, enum per_unit what, size_t option,
                        uint64_t ret[2])
{
	switch (what) {
	case PER_BALLOTS:
		ret[0] = f->ballots_cast;
		ret[1] = f->ballots_invalid;
		break;
	case PER_VOTES:
		ret[0] = f->votes[option];
		ret[1] = 0;
		break;
	case PER_OVERVOTES:
		ret[0] = f->ballots_not_counted;
		ret[1] = 0;
		break;
	}
}

static void write_per_unit(struct out *w, const struct tally_totals *t,
                           const struct export_nist_opts *o, enum per_unit what, size_t option)
{
	const struct tally_election *e = t->election;
	char id[TALLY_ID_MAX + 8];
	uint64_t v[2];
	int first = 1;

	sep(w, &first);
	unit_values(&t->contests[0].national, what, option, v);
	write_unit_item(w, what, "ru-country", v);
	for (size_t r = 0; r < e->n_regions && w->err == 0; r++) {
		if (region_unit_id(e, r, id, sizeof(id)) < 0) {
			w->err = -EINVAL;
			return;
		}
		sep(w, &first);
		unit_values(tally_totals_region(t, 0, r), what, option, v);
		write_unit_item(w, what, id, v);
	}
	if (o->summary_only)
		return;

	for (size_t r = 0; r < e->n_regions && w->err == 0; r++) {
		const struct tally_region *rg = &e->regions[r];
		for (size_t i = 0; i < rg->n_precincts && w->err == 0; i++) {
			size_t p = rg->precincts[i];
			if (tally_totals_state(t, 0, p)->revision == 0)
				continue; /* nothing counted: no counts, rather than zeros */
			const uint32_t *c = counted_of(t, p);
			uint32_t pid = e->precincts[p].id;
			sep(w, &first);
			switch (what) {
			case PER_BALLOTS:
				putf(w,
				     "{\"@type\":\"ElectionResults.BallotCounts\",\"GpUnitId\":"
				     "\"ru-p%" PRIu32
				     "\",\"Type\":\"total\",\"BallotsCast\":%" PRIu32
				     ",\"BallotsRejected\":%" PRIu32 "}",
				     pid, c[FIG_CAST], c[FIG_INVALID]);
				break;
			case PER_VOTES:
				putf(w,
				     "{\"@type\":\"ElectionResults.VoteCounts\",\"Count\":%" PRIu32
				     ",\"GpUnitId\":\"ru-p%" PRIu32 "\",\"Type\":\"total\"}",
				     c[FIG_VOTES + option], pid);
				break;
			case PER_OVERVOTES:
				putf(w,
				     "{\"@type\":\"ElectionResults.OtherCounts\",\"GpUnitId\":\"ru-"
				     "p%" PRIu32 "\",\"Overvotes\":%" PRIu32 "}",
				     pid, c[FIG_NOT_COUNTED]);
				break;
			}
		}
	}
}

static void write_election(struct out *w, const struct tally_totals *t,
                           const struct export_nist_opts *o, const char *date, const char *lang)
{
	const struct tally_election *e = t->election;
	const struct tally_figures *n = &t->contests[0].national;
	const char *title = e->title && e->title[0] ? e->title : e->election_id;

	put_open(w,
	         json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}", "@type",
	                   "ElectionResults.Election", "Name", intl_text(title, lang), "Type",
	                   "other", "OtherType", "referendum", "ElectionScopeId", "ru-country",
	                   "StartDate", date, "EndDate", date, "ExternalIdentifier", "@type",
	                   "ElectionResults.ExternalIdentifier", "Type", "other", "OtherType",
	                   "tally-election-id", "Value", e->election_id));
	puts_(w, ",\"CountStatus\":");
	put_json(w, count_status_json(n->precincts_reported, n->precincts_total));
	puts_(w, ",\"BallotCounts\":[");
	write_per_unit(w, t, o, PER_BALLOTS, 0);
	puts_(w, "],\"Contest\":[");

	put_open(w,
	         json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:o}", "@id", "bmc-1", "@type",
	                   "ElectionResults.BallotMeasureContest", "Name", title, "Type",
	                   "referendum", "ElectionDistrictId", "ru-country", "BallotTitle",
	                   intl_text(title, lang), "TotalSubUnits", (json_int_t)n->precincts_total,
	                   "SubUnitsReported", (json_int_t)n->precincts_reported, "CountStatus",
	                   count_status_json(n->precincts_reported, n->precincts_total)));
	puts_(w, ",\"ContestSelection\":[");
	for (size_t i = 0; i < e->n_options && w->err == 0; i++) {
		char sid[TALLY_ID_MAX + 8];
		snprintf(sid, sizeof(sid), "bms-%s", e->options[i].id);
		const char *name = e->options[i].name ? e->options[i].name : e->options[i].id;
		if (i > 0)
			puts_(w, ",");
		put_open(w, json_pack("{s:s, s:s, s:o, s:I}", "@id", sid, "@type",
		                      "ElectionResults.BallotMeasureSelection", "Selection",
		                      intl_text(name, lang), "SequenceOrder", (json_int_t)(i + 1)));
		puts_(w, ",\"VoteCounts\":[");
		write_per_unit(w, t, o, PER_VOTES, i);
		puts_(w, "]}");
	}
	puts_(w, "],\"OtherCounts\":[");
	write_per_unit(w, t, o, PER_OVERVOTES, 0);
	puts_(w, "]}]}");
}

/* ---- a general election: a definition with contests ------------------ */

/*
 * Room for any @id or OtherType made from definition ids: a prefix, a
 * contest id, '/', an option id. Ids are letters, digits and "-_.:"
 * (docs/elections.md), so they go into the document without escaping, and
 * '/' never occurs in one: "<contest>/<option>" cannot be read two ways.
 */
#define NIST_ID_MAX (32 + 2 * TALLY_ID_MAX)

/* What a precinct has counted over every contest it votes in. */
enum {
	PRECINCT_ALL = 1,     /* every one counted (vacuously when it votes in none) */
	PRECINCT_SOME = 2,    /* at least one counted */
	PRECINCT_FLAGGED = 4, /* a conflict flag in one of them */
};

/*
 * The units' progress. A unit is made of precincts that vote in different
 * contests, so a precinct counts as reported there once every contest it
 * votes in has a counted result (each contest's own progress is in its
 * Contest object).
 */
struct progress {
	uint8_t *precinct;  /* PRECINCT_* per precinct */
	uint32_t *region;   /* reported precincts per region */
	uint32_t *district; /* reported precincts per district */
	uint32_t country;
};

static void progress_free(struct progress *pg)
{
	free(pg->precinct);
	free(pg->region);
	free(pg->district);
}

/* One pass over the slots, one over the precincts. */
static int progress_new(const struct tally_totals *t, struct progress *pg)
{
	const struct tally_election *e = t->election;

	pg->precinct = malloc(e->n_precincts ? e->n_precincts : 1);
	pg->region = calloc(e->n_regions ? e->n_regions : 1, sizeof(*pg->region));
	pg->district = calloc(e->n_districts ? e->n_districts : 1, sizeof(*pg->district));
	if (!pg->precinct || !pg->region || !pg->district) {
		progress_free(pg);
		memset(pg, 0, sizeof(*pg));
		return -ENOMEM;
	}
	memset(pg->precinct, PRECINCT_ALL, e->n_precincts);
	for (size_t ci = 0; ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		for (size_t i = 0; i < c->n_precincts; i++) {
			const struct tally_slot_state *st = &t->slots[c->slot_base + i];
			uint8_t *f = &pg->precinct[c->precincts[i]];
			if (st->revision == 0)
				*f &= (uint8_t)~PRECINCT_ALL;
			else
				*f |= PRECINCT_SOME;
			if (st->n_conflicts > 0)
				*f |= PRECINCT_FLAGGED;
		}
	}
	for (size_t p = 0; p < e->n_precincts; p++) {
		size_t n;
		if (!(pg->precinct[p] & PRECINCT_ALL))
			continue;
		pg->country++;
		pg->region[e->precincts[p].region]++;
		const uint32_t *ds = tally_election_precinct_districts(e, p, &n);
		for (size_t k = 0; k < n; k++)
			pg->district[ds[k]]++;
	}
	return 0;
}

/* A name in every language the definition gave it, else in `lang`. */
static json_t *intl_name(const struct tally_name *n, const char *lang)
{
	if (n->n_langs == 0)
		return intl_text(n->text, lang);
	json_t *texts = json_array();
	for (size_t i = 0; texts != NULL && i < n->n_langs; i++) {
		json_t *s = json_pack("{s:s, s:s, s:s}", "@type", "ElectionResults.LanguageString",
		                      "Content", n->langs[i].text, "Language", n->langs[i].tag);
		if (json_array_append_new(texts, s) != 0) {
			json_decref(texts);
			texts = NULL;
		}
	}
	if (texts == NULL)
		return NULL;
	return json_pack("{s:s, s:o}", "@type", "ElectionResults.InternationalizedText", "Text",
	                 texts);
}

static json_t *ext_id(const char *other_type, const char *value)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "@type", "ElectionResults.ExternalIdentifier",
	                 "Type", "other", "OtherType", other_type, "Value", value);
}

/* Sets key to v (consumed) and returns j, or frees both and returns NULL. */
static json_t *with(json_t *j, const char *key, json_t *v)
{
	if (j == NULL || v == NULL || json_object_set_new(j, key, v) != 0) {
		json_decref(j);
		json_decref(v);
		return NULL;
	}
	return j;
}

/* Appends v (consumed) to the array j[key]; returns j, or NULL as with(). */
static json_t *with_item(json_t *j, const char *key, json_t *v)
{
	if (j == NULL || v == NULL || json_array_append_new(json_object_get(j, key), v) != 0) {
		json_decref(j);
		json_decref(v);
		return NULL;
	}
	return j;
}

/* The unit a contest is voted in: the country, its regions together, or its district. */
static void scope_unit_id(const struct tally_election *e, const struct tally_contest *c, char *buf,
                          size_t len)
{
	switch (c->scope) {
	case TALLY_SCOPE_REGIONS:
		snprintf(buf, len, "ru-scope/%s", c->id);
		break;
	case TALLY_SCOPE_DISTRICT:
		snprintf(buf, len, "ru-district/%s", e->districts[c->district].id);
		break;
	case TALLY_SCOPE_NATIONAL:
	default:
		snprintf(buf, len, "ru-country");
		break;
	}
}

/* The Party a party-list option stands for: its party's, or one made for it. */
static void party_ref(const struct tally_election *e, const struct tally_contest *c,
                      const struct tally_contest_option *op, char *buf, size_t len)
{
	if (op->party >= 0)
		snprintf(buf, len, "party-%s", e->parties[op->party].id);
	else
		snprintf(buf, len, "party-%s/%s", c->id, op->id);
}

/*
 * The decision of contest ci over the counted figures (decision.h); false
 * when it cannot be made, which a loaded definition never causes. Only
 * candidate and party-list contests are asked: a referendum's region rule
 * would need figures per region of the unreported precincts.
 */
static bool decide(const struct tally_totals *t, size_t ci, struct tally_decision_result *ret)
{
	const struct tally_contest *c = &t->election->contests[ci];
	const struct tally_contest_totals *ct = &t->contests[ci];
	uint64_t done = ct->reported_definition_registered;
	struct tally_decision_input in = {
	    .e = t->election,
	    .c = c,
	    .national = &ct->national,
	    .regions = ct->regions,
	    .unreported_registered = c->registered > done ? c->registered - done : 0,
	};
	return tally_decide(&in, ret) == 0;
}

/*
 * A candidate's PostElectionStatus, only once nothing still out can change
 * the decision: "winner" when elected, "advanced-to-runoff" when in the
 * runoff (or sure of a place in it while lot decides the other one),
 * "defeated" otherwise; none for a candidate tied for a seat left to lot,
 * and none at all in a contest that failed (nobody is elected; the rules
 * call another vote).
 */
static const char *post_election_status(const struct tally_contest *c,
                                        const struct tally_figures *n,
                                        const struct tally_decision_result *d, uint32_t i)
{
	if (!d->final)
		return NULL;
	for (size_t k = 0; k < d->n_tied; k++)
		if (d->tied[k] == i)
			return NULL;
	switch (d->status) {
	case TALLY_STATUS_ELECTED:
	case TALLY_STATUS_TIE:
		for (size_t k = 0; k < d->n_elected; k++)
			if (d->elected[k] == i)
				return "winner";
		if (d->status == TALLY_STATUS_TIE && c->rules.win == TALLY_WIN_ABSOLUTE_MAJORITY &&
		    d->n_tied > 0 && n->votes[i] > n->votes[d->tied[0]])
			return "advanced-to-runoff";
		return "defeated";
	case TALLY_STATUS_RUNOFF:
		if (d->has_runoff && (d->runoff[0] == i || d->runoff[1] == i))
			return "advanced-to-runoff";
		return "defeated";
	default:
		return NULL;
	}
}

/* Election.Candidate: one per option of a candidate contest but against-all. */
static void write_candidates(struct out *w, const struct tally_totals *t, size_t ci,
                             const char *lang, int *first)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	struct tally_decision_result d;
	bool decided = decide(t, ci, &d);

	for (size_t i = 0; i < c->n_options && w->err == 0; i++) {
		const struct tally_contest_option *op = &c->options[i];
		char id[NIST_ID_MAX];
		if (op->against_all)
			continue;
		snprintf(id, sizeof(id), "cand-%s/%s", c->id, op->id);
		json_t *j =
		    json_pack("{s:s, s:s, s:o, s:[o]}", "@id", id, "@type",
		              "ElectionResults.Candidate", "BallotName", intl_name(&op->name, lang),
		              "ExternalIdentifier", ext_id("tally-option-id", op->id));
		if (op->party >= 0) {
			snprintf(id, sizeof(id), "party-%s", e->parties[op->party].id);
			j = with(j, "PartyId", json_string(id));
		}
		const char *status =
		    decided ? post_election_status(c, &t->contests[ci].national, &d, (uint32_t)i)
		            : NULL;
		if (status != NULL)
			j = with(j, "PostElectionStatus", json_string(status));
		sep(w, first);
		put_json(w, j);
	}
}

/* The items that carry one contest's figures per unit. */
enum item { ITEM_BALLOTS, ITEM_VOTES, ITEM_OVERVOTES };

static void put_item(struct out *w, enum item what, const char *contest, const char *unit,
                     uint64_t cast, uint64_t invalid, uint64_t not_counted, uint64_t votes)
{
	switch (what) {
	case ITEM_BALLOTS:
		/* Each contest has its own ballot paper: its ballots, tagged with it. */
		putf(w,
		     "{\"@type\":\"ElectionResults.BallotCounts\",\"GpUnitId\":\"%s\",\"Type\":"
		     "\"other\",\"OtherType\":\"contest:%s\",\"BallotsCast\":%" PRIu64
		     ",\"BallotsRejected\":%" PRIu64 "}",
		     unit, contest, cast, invalid);
		break;
	case ITEM_VOTES:
		putf(w,
		     "{\"@type\":\"ElectionResults.VoteCounts\",\"Count\":%" PRIu64
		     ",\"GpUnitId\":\"%s\",\"Type\":\"total\"}",
		     votes, unit);
		break;
	case ITEM_OVERVOTES:
		putf(w,
		     "{\"@type\":\"ElectionResults.OtherCounts\",\"GpUnitId\":\"%s\",\"Overvotes\":"
		     "%" PRIu64 "}",
		     unit, not_counted);
		break;
	}
}

static void put_figures_item(struct out *w, enum item what, const struct tally_contest *c,
                             const char *unit, const struct tally_figures *f, size_t option)
{
	put_item(w, what, c->id, unit, f->ballots_cast, f->ballots_invalid, f->ballots_not_counted,
	         f->votes[option]);
}

/*
 * One item per unit of contest ci: its scope unit, each region with
 * precincts in it, each district wholly inside its scope (but the scope
 * itself), and each of its precincts with a counted result (an unreported
 * one has no items rather than zeros), unless summary_only.
 */
static void write_contest_items(struct out *w, const struct tally_totals *t,
                                const struct export_nist_opts *o, size_t ci, enum item what,
                                size_t option, int *first)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	const struct tally_contest_totals *ct = &t->contests[ci];
	size_t stride = tally_totals_contest_stride(t, ci);
	char id[NIST_ID_MAX];

	scope_unit_id(e, c, id, sizeof(id));
	sep(w, first);
	put_figures_item(w, what, c, id, &ct->national, option);
	for (size_t k = 0; k < c->n_regions && w->err == 0; k++) {
		snprintf(id, sizeof(id), "ru-%s", e->regions[c->regions[k]].id);
		sep(w, first);
		put_figures_item(w, what, c, id, &ct->regions[k], option);
	}
	for (size_t k = 0; k < c->n_districts && w->err == 0; k++) {
		if ((int64_t)c->districts[k] == (int64_t)c->district)
			continue; /* the scope unit, written first */
		snprintf(id, sizeof(id), "ru-district/%s", e->districts[c->districts[k]].id);
		sep(w, first);
		put_figures_item(w, what, c, id, &ct->districts[k], option);
	}
	if (o->summary_only)
		return;
	for (size_t i = 0; i < c->n_precincts && w->err == 0; i++) {
		if (t->slots[c->slot_base + i].revision == 0)
			continue;
		const uint32_t *v = ct->counted + i * stride;
		snprintf(id, sizeof(id), "ru-p%" PRIu32, e->precincts[c->precincts[i]].id);
		sep(w, first);
		put_item(w, what, c->id, id, v[FIG_CAST], v[FIG_INVALID], v[FIG_NOT_COUNTED],
		         v[FIG_VOTES + option]);
	}
}

/* The contest's own members, before its selections. */
static json_t *contest_json(const struct tally_totals *t, size_t ci, const char *lang)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	const struct tally_figures *n = &t->contests[ci].national;
	static const char *const prefix[] = {"bmc", "cc", "pc"};
	static const char *const type[] = {"ElectionResults.BallotMeasureContest",
	                                   "ElectionResults.CandidateContest",
	                                   "ElectionResults.PartyContest"};
	char id[NIST_ID_MAX], scope[NIST_ID_MAX], seats[16];

	assert((size_t)c->kind < sizeof(prefix) / sizeof(prefix[0]));
	snprintf(id, sizeof(id), "%s-%s", prefix[c->kind], c->id);
	scope_unit_id(e, c, scope, sizeof(scope));
	json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:I, s:[o], s:I, s:I, s:o}", "@id", id, "@type",
	    type[c->kind], "Name", c->name.text, "ElectionDistrictId", scope, "BallotTitle",
	    intl_name(&c->name, lang), "SequenceOrder", (json_int_t)(ci + 1), "ExternalIdentifier",
	    ext_id("tally-contest-id", c->id), "TotalSubUnits", (json_int_t)n->precincts_total,
	    "SubUnitsReported", (json_int_t)n->precincts_reported, "CountStatus",
	    count_status_json(n->precincts_reported, n->precincts_total));
	switch (c->kind) {
	case TALLY_CONTEST_REFERENDUM:
		j = with(j, "Type", json_string("referendum"));
		break;
	case TALLY_CONTEST_CANDIDATE:
		j = with(j, "VotesAllowed", json_integer(1));
		j = with(j, "NumberElected", json_integer(c->seats));
		if (c->rules.win == TALLY_WIN_ABSOLUTE_MAJORITY) {
			j = with(j, "VoteVariation", json_string("majority"));
			j = with(j, "NumberRunoff", json_integer(2));
		} else {
			j = with(j, "VoteVariation", json_string("plurality"));
		}
		break;
	case TALLY_CONTEST_PARTY_LIST:
		/* NIST's PartyContest has no NumberElected: the seats offered go here. */
		snprintf(seats, sizeof(seats), "%" PRIu32, c->seats);
		j = with(j, "VoteVariation", json_string("proportional"));
		j = with_item(j, "ExternalIdentifier", ext_id("tally-seats", seats));
		break;
	}
	return j;
}

/*
 * A selection's own members, before its counts: a referendum's options and
 * every against-all option (the standard has no selection for "against
 * all") are BallotMeasureSelections with the option's name; a candidate is
 * a CandidateSelection of its Candidate, a party list a PartySelection of
 * its Party.
 */
static json_t *selection_json(const struct tally_election *e, const struct tally_contest *c,
                              size_t i, const char *lang)
{
	const struct tally_contest_option *op = &c->options[i];
	char id[NIST_ID_MAX], ref[NIST_ID_MAX];
	json_int_t order = (json_int_t)(i + 1);

	if (c->kind == TALLY_CONTEST_REFERENDUM || op->against_all) {
		snprintf(id, sizeof(id), "bms-%s/%s", c->id, op->id);
		json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:[o]}", "@id", id, "@type",
		                      "ElectionResults.BallotMeasureSelection", "Selection",
		                      intl_name(&op->name, lang), "SequenceOrder", order,
		                      "ExternalIdentifier", ext_id("tally-option-id", op->id));
		if (op->against_all)
			j = with_item(j, "ExternalIdentifier", ext_id("against-all", "true"));
		return j;
	}
	if (c->kind == TALLY_CONTEST_CANDIDATE) {
		snprintf(id, sizeof(id), "cs-%s/%s", c->id, op->id);
		snprintf(ref, sizeof(ref), "cand-%s/%s", c->id, op->id);
		return json_pack("{s:s, s:s, s:[s], s:I}", "@id", id, "@type",
		                 "ElectionResults.CandidateSelection", "CandidateIds", ref,
		                 "SequenceOrder", order);
	}
	snprintf(id, sizeof(id), "ps-%s/%s", c->id, op->id);
	party_ref(e, c, op, ref, sizeof(ref));
	return json_pack("{s:s, s:s, s:[s], s:I}", "@id", id, "@type",
	                 "ElectionResults.PartySelection", "PartyIds", ref, "SequenceOrder", order);
}

static void write_general_contest(struct out *w, const struct tally_totals *t,
                                  const struct export_nist_opts *o, size_t ci, const char *lang)
{
	const struct tally_election *e = t->election;
	const struct tally_contest *c = &e->contests[ci];
	struct tally_decision_result d;
	char scope[NIST_ID_MAX];
	int first;

	/* A party list's seats once nothing still out can change them. */
	bool seats = c->kind == TALLY_CONTEST_PARTY_LIST && decide(t, ci, &d) && d.final;
	scope_unit_id(e, c, scope, sizeof(scope));
	put_open(w, contest_json(t, ci, lang));
	puts_(w, ",\"ContestSelection\":[");
	for (size_t i = 0; i < c->n_options && w->err == 0; i++) {
		if (i > 0)
			puts_(w, ",");
		put_open(w, selection_json(e, c, i, lang));
		puts_(w, ",\"VoteCounts\":[");
		first = 1;
		if (seats && !c->options[i].against_all) {
			sep(w, &first);
			putf(w,
			     "{\"@type\":\"ElectionResults.VoteCounts\",\"Count\":%" PRIu32
			     ",\"GpUnitId\":\"%s\",\"Type\":\"seats\"}",
			     d.seats.seats[i], scope);
		}
		write_contest_items(w, t, o, ci, ITEM_VOTES, i, &first);
		puts_(w, "]}");
	}
	puts_(w, "],\"OtherCounts\":[");
	first = 1;
	write_contest_items(w, t, o, ci, ITEM_OVERVOTES, 0, &first);
	puts_(w, "]}");
}

static void write_general_election(struct out *w, const struct tally_totals *t,
                                   const struct export_nist_opts *o, const char *date,
                                   const char *lang)
{
	const struct tally_election *e = t->election;
	uint64_t total = 0, reported = 0;
	int first = 1;

	for (size_t ci = 0; ci < e->n_contests; ci++) {
		total += t->contests[ci].national.precincts_total;
		reported += t->contests[ci].national.precincts_reported;
	}
	put_open(w, json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:[o]}", "@type",
	                      "ElectionResults.Election", "Name", intl_name(&e->titles, lang),
	                      "Type", "general", "ElectionScopeId", "ru-country", "StartDate", date,
	                      "EndDate", date, "ExternalIdentifier",
	                      ext_id("tally-election-id", e->election_id)));
	puts_(w, ",\"CountStatus\":");
	put_json(w, count_status_json(reported, total));
	puts_(w, ",\"BallotCounts\":[");
	for (size_t ci = 0; ci < e->n_contests && w->err == 0; ci++)
		write_contest_items(w, t, o, ci, ITEM_BALLOTS, 0, &first);
	puts_(w, "],\"Candidate\":[");
	first = 1;
	for (size_t ci = 0; ci < e->n_contests && w->err == 0; ci++)
		if (e->contests[ci].kind == TALLY_CONTEST_CANDIDATE)
			write_candidates(w, t, ci, lang, &first);
	puts_(w, "],\"Contest\":[");
	for (size_t ci = 0; ci < e->n_contests && w->err == 0; ci++) {
		if (ci > 0)
			puts_(w, ",");
		write_general_contest(w, t, o, ci, lang);
	}
	puts_(w, "]}");
}

enum compose { COMPOSE_REGIONS, COMPOSE_PRECINCTS };

/*
 * Writes the ReportingUnit u (consumed) followed by ComposingGpUnitIds:
 * the n regions or precincts (indexes) listed in `of`, or every region
 * when `of` is NULL. Streamed: a district may hold a million precincts.
 */
static void put_unit(struct out *w, json_t *u, const struct tally_election *e, enum compose kind,
                     const uint32_t *of, size_t n)
{
	put_open(w, u);
	puts_(w, ",\"ComposingGpUnitIds\":[");
	for (size_t i = 0; i < n && w->err == 0; i++) {
		size_t k = of ? of[i] : i;
		if (i > 0)
			puts_(w, ",");
		if (kind == COMPOSE_REGIONS)
			putf(w, "\"ru-%s\"", e->regions[k].id);
		else
			putf(w, "\"ru-p%" PRIu32 "\"", e->precincts[k].id);
	}
	puts_(w, "]}");
}

static json_t *unit_json(const char *id, const char *type, const char *other_type, uint64_t total,
                         uint64_t reported, uint64_t registered)
{
	json_t *u = json_pack("{s:s, s:s, s:s}", "@id", id, "@type",
	                      "ElectionResults.ReportingUnit", "Type", type);
	if (other_type != NULL)
		u = with(u, "OtherType", json_string(other_type));
	u = with(u, "TotalSubUnits", json_integer((json_int_t)total));
	u = with(u, "SubUnitsReported", json_integer((json_int_t)reported));
	u = with(u, "VotersRegistered", json_integer((json_int_t)registered));
	return with(u, "CountStatus", count_status_json(reported, total));
}

static json_t *named(json_t *u, const struct tally_name *name, const char *ext_type,
                     const char *ext_value, const char *lang)
{
	u = with(u, "Name", intl_name(name, lang));
	return with(u, "ExternalIdentifier", json_pack("[o]", ext_id(ext_type, ext_value)));
}

static void write_general_gpunits(struct out *w, const struct tally_totals *t,
                                  const struct export_nist_opts *o, const struct progress *pg,
                                  const char *lang)
{
	const struct tally_election *e = t->election;
	char id[NIST_ID_MAX];

	put_unit(
	    w, unit_json("ru-country", "country", NULL, e->n_precincts, pg->country, e->registered),
	    e, COMPOSE_REGIONS, NULL, e->n_regions);
	for (size_t r = 0; r < e->n_regions && w->err == 0; r++) {
		const struct tally_region *rg = &e->regions[r];
		snprintf(id, sizeof(id), "ru-%s", rg->id);
		json_t *u =
		    unit_json(id, "state", NULL, rg->n_precincts, pg->region[r], rg->registered);
		puts_(w, ",");
		put_unit(w, named(u, &rg->names, "tally-region-id", rg->id, lang), e,
		         COMPOSE_PRECINCTS, rg->precincts, o->summary_only ? 0 : rg->n_precincts);
	}
	for (size_t k = 0; k < e->n_districts && w->err == 0; k++) {
		const struct tally_district *d = &e->districts[k];
		snprintf(id, sizeof(id), "ru-district/%s", d->id);
		json_t *u = unit_json(id, "other", "electoral-district", d->n_precincts,
		                      pg->district[k], d->registered);
		puts_(w, ",");
		put_unit(w, named(u, &d->name, "tally-district-id", d->id, lang), e,
		         COMPOSE_PRECINCTS, d->precincts, o->summary_only ? 0 : d->n_precincts);
	}
	for (size_t ci = 0; ci < e->n_contests && w->err == 0; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		uint64_t reported = 0;
		if (c->scope != TALLY_SCOPE_REGIONS)
			continue;
		for (size_t k = 0; k < c->n_scope_regions; k++)
			reported += pg->region[c->scope_regions[k]];
		scope_unit_id(e, c, id, sizeof(id));
		json_t *u = unit_json(id, "other", "contest-regions", c->n_precincts, reported,
		                      c->registered);
		puts_(w, ",");
		put_unit(w, named(u, &c->name, "tally-contest-id", c->id, lang), e, COMPOSE_REGIONS,
		         c->scope_regions, c->n_scope_regions);
	}
	if (o->summary_only)
		return;

	for (size_t r = 0; r < e->n_regions && w->err == 0; r++) {
		const struct tally_region *rg = &e->regions[r];
		for (size_t i = 0; i < rg->n_precincts && w->err == 0; i++) {
			size_t p = rg->precincts[i];
			uint8_t f = pg->precinct[p];
			const char *status = "not-processed";
			if ((f & PRECINCT_ALL) && !(f & PRECINCT_FLAGGED))
				status = "completed";
			else if (f & (PRECINCT_SOME | PRECINCT_FLAGGED))
				status = "in-process";
			putf(w,
			     ",{\"@id\":\"ru-p%" PRIu32
			     "\",\"@type\":\"ElectionResults.ReportingUnit\",\"Type\":\"precinct\","
			     "\"Number\":\"%" PRIu32 "\",\"VotersRegistered\":%" PRIu32
			     ",\"CountStatus\":[{\"@type\":\"ElectionResults.CountStatus\","
			     "\"Status\":"
			     "\"%s\",\"Type\":\"total\"}]}",
			     e->precincts[p].id, e->precincts[p].id, e->precincts[p].registered,
			     status);
		}
	}
}

static void write_parties(struct out *w, const struct tally_election *e, const char *lang)
{
	char id[NIST_ID_MAX];
	int first = 1;

	for (size_t k = 0; k < e->n_parties && w->err == 0; k++) {
		const struct tally_party *p = &e->parties[k];
		snprintf(id, sizeof(id), "party-%s", p->id);
		json_t *j = json_pack("{s:s, s:s, s:o, s:[o]}", "@id", id, "@type",
		                      "ElectionResults.Party", "Name", intl_name(&p->name, lang),
		                      "ExternalIdentifier", ext_id("tally-party-id", p->id));
		if (p->color[0] == '#')
			j = with(j, "Color", json_string(p->color + 1));
		sep(w, &first);
		put_json(w, j);
	}
	/* A party list without a party still needs a Party for its PartySelection. */
	for (size_t ci = 0; ci < e->n_contests && w->err == 0; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		if (c->kind != TALLY_CONTEST_PARTY_LIST)
			continue;
		for (size_t i = 0; i < c->n_options && w->err == 0; i++) {
			const struct tally_contest_option *op = &c->options[i];
			if (op->against_all || op->party >= 0)
				continue;
			party_ref(e, c, op, id, sizeof(id));
			json_t *j =
			    json_pack("{s:s, s:s, s:o, s:[o]}", "@id", id, "@type",
			              "ElectionResults.Party", "Name", intl_name(&op->name, lang),
			              "ExternalIdentifier", ext_id("tally-option-id", op->id));
			if (op->color[0] == '#')
				j = with(j, "Color", json_string(op->color + 1));
			sep(w, &first);
			put_json(w, j);
		}
	}
}

int export_nist_write(const struct tally_totals *t, const struct export_nist_opts *o,
                      json_dump_callback_t cb, void *arg)
{
	struct out w = {.cb = cb, .arg = arg};
	uint64_t *reg = NULL, national_reg = 0;
	char generated[32], date[16], seq[24];
	struct tm tm;
	time_t when = (time_t)o->generated_at;
	const char *lang = o->language ? o->language : "en";
	bool legacy = tally_election_is_legacy(t->election);

	if (o->issuer == NULL || o->issuer_abbreviation == NULL || o->vendor_application_id == NULL)
		return -EINVAL;
	if (gmtime_r(&when, &tm) == NULL)
		return -EINVAL;
	strftime(generated, sizeof(generated), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (o->election_date)
		snprintf(date, sizeof(date), "%s", o->election_date);
	else
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(seq, sizeof(seq), "%" PRIu64, t->sequence);

	struct progress pg = {0};
	int rc = legacy ? compute_registered(t, &reg, &national_reg) : progress_new(t, &pg);
	if (rc < 0)
		return rc;

	char notes[160];
	snprintf(notes, sizeof(notes),
	         "Running totals at tally sequence %" PRIu64 " (size of the public result log).",
	         t->sequence);
	put_open(
	    &w,
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:[{s:s, s:s, s:s, s:s}], "
	              "s:s}",
	              "@type", "ElectionResults.ElectionReport", "Format",
	              o->summary_only ? "summary-contest" : "precinct-level", "GeneratedDate",
	              generated, "Issuer", o->issuer, "IssuerAbbreviation", o->issuer_abbreviation,
	              "VendorApplicationId", o->vendor_application_id, "Status",
	              export_nist_status(t), "SequenceStart", 1, "SequenceEnd", 1,
	              "ExternalIdentifier", "@type", "ElectionResults.ExternalIdentifier", "Type",
	              "other", "OtherType", "tally-sequence", "Value", seq, "Notes", notes));
	puts_(&w, ",\"Election\":[");
	if (legacy) {
		write_election(&w, t, o, date, lang);
		puts_(&w, "],\"GpUnit\":[");
		write_gpunits(&w, t, o, reg, national_reg, lang);
	} else {
		write_general_election(&w, t, o, date, lang);
		puts_(&w, "],\"GpUnit\":[");
		write_general_gpunits(&w, t, o, &pg, lang);
		puts_(&w, "],\"Party\":[");
		write_parties(&w, t->election, lang);
	}
	puts_(&w, "]}");
	free(reg);
	progress_free(&pg);
	return w.err;
}

struct buf {
	char *data;
	size_t len, cap;
};

static int on_chunk(const char *s, size_t n, void *arg)
{
	struct buf *b = arg;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (p == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int export_nist_build(const struct tally_totals *t, const struct export_nist_opts *o, json_t **ret)
{
	struct buf b = {0};
	json_error_t jerr;

	int rc = export_nist_write(t, o, on_chunk, &b);
	if (rc == -EIO)
		rc = -ENOMEM; /* our only sink fails only on allocation */
	if (rc < 0)
		goto out;
	*ret = json_loadb(b.data, b.len, 0, &jerr);
	if (*ret == NULL)
		rc = -ENOMEM; /* the writer's output is valid JSON: only memory fails here */
out:
	free(b.data);
	return rc;
}
