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
	const struct tally_figures *n = &t->contests[0].national;
	return n->precincts_reported == n->precincts_total ? "unofficial-complete"
	                                                   : "unofficial-partial";
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

int export_nist_write(const struct tally_totals *t, const struct export_nist_opts *o,
                      json_dump_callback_t cb, void *arg)
{
	struct out w = {.cb = cb, .arg = arg};
	uint64_t *reg = NULL, national_reg = 0;
	char generated[32], date[16], seq[24];
	struct tm tm;
	time_t when = (time_t)o->generated_at;
	const char *lang = o->language ? o->language : "en";

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

	int rc = compute_registered(t, &reg, &national_reg);
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
	write_election(&w, t, o, date, lang);
	puts_(&w, "],\"GpUnit\":[");
	write_gpunits(&w, t, o, reg, national_reg, lang);
	puts_(&w, "]}");
	free(reg);
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
