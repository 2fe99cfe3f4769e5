/*
 * trend.c: each contest's time series of the night (trend.h). It owns the
 * series and their cached documents; the figures are the committed
 * totals', read by a commit observer after each publication, so a point
 * never shows anything uncommitted. Serving is one document per contest
 * and change, built on request and kept until the series moves.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tally/log.h"
#include "trend.h"

/* Owned by the aggregator (a->trend). */
struct agg_trend {
	struct aggregator *a;
	size_t n;
	struct trend_series *series; /* like election->contests */
	struct http_body **body;     /* cached document per contest, or NULL */
	uint64_t *body_generation;   /* the generation each was built at */
	uint64_t *scratch;           /* one point of the widest contest */
};

int trend_series_init(struct trend_series *s, size_t n_options)
{
	memset(s, 0, sizeof(*s));
	s->stride = TREND_FIXED + n_options;
	s->interval_ms = TREND_FIRST_INTERVAL_MS;
	s->latest = calloc(s->stride, sizeof(uint64_t));
	return s->latest ? 0 : -ENOMEM;
}

void trend_series_clear(struct trend_series *s)
{
	free(s->points);
	free(s->latest);
	memset(s, 0, sizeof(*s));
}

/* Drops every other point (keeping the first, third...): half the points, evenly spread. */
static void halve(struct trend_series *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->n; i += 2, kept++)
		if (kept != i)
			memcpy(s->points + kept * s->stride, s->points + i * s->stride,
			       s->stride * sizeof(uint64_t));
	s->n = kept;
	s->interval_ms *= 2;
}

int trend_series_add(struct trend_series *s, const uint64_t *p)
{
	/* The same figures at a later time or sequence are no news. */
	if (s->has_latest && memcmp(s->latest + 2, p + 2, (s->stride - 2) * sizeof(uint64_t)) == 0)
		return 0;
	const uint64_t *last = s->n ? s->points + (s->n - 1) * s->stride : NULL;
	bool keep = !last || p[0] >= last[0] + s->interval_ms;
	if (keep && s->n == s->cap && s->cap < TREND_MAX_POINTS) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		if (cap > TREND_MAX_POINTS)
			cap = TREND_MAX_POINTS;
		uint64_t *points = realloc(s->points, cap * s->stride * sizeof(uint64_t));
		if (!points)
			return -ENOMEM;
		s->points = points;
		s->cap = cap;
	}
	if (keep && s->n == TREND_MAX_POINTS) {
		halve(s);
		/* The interval doubled: is this one still due? */
		keep = p[0] >= s->points[(s->n - 1) * s->stride] + s->interval_ms;
	}
	memcpy(s->latest, p, s->stride * sizeof(uint64_t));
	s->has_latest = true;
	s->latest_kept = keep;
	if (keep)
		memcpy(s->points + s->n++ * s->stride, p, s->stride * sizeof(uint64_t));
	s->generation++;
	return 0;
}

/* Contest ci's state now, into tr->scratch. */
static const uint64_t *state_of(struct agg_trend *tr, size_t ci, uint64_t t_ms)
{
	const struct tally_totals *t = tr->a->totals;
	const struct tally_figures *f = &t->contests[ci].national;
	uint64_t *p = tr->scratch;
	p[0] = t_ms;
	p[1] = t->sequence;
	p[2] = f->precincts_reported;
	p[3] = f->ballots_cast;
	p[4] = tally_figures_valid(f);
	memcpy(p + TREND_FIXED, f->votes, (tr->series[ci].stride - TREND_FIXED) * sizeof(uint64_t));
	return p;
}

static void sample(struct agg_trend *tr)
{
	struct aggregator *a = tr->a;
	uint64_t t_ms = a->snapshot ? a->snapshot->as_of_ms : agg_now_ms();
	for (size_t ci = 0; ci < tr->n; ci++)
		if (trend_series_add(&tr->series[ci], state_of(tr, ci, t_ms)) < 0)
			log_warning("trend: out of memory for contest '%s'; its trend misses a "
			            "point",
			            a->election->contests[ci].id);
}

static void on_commit(struct aggregator *a, const struct agg_commit *c, void *data)
{
	(void)a;
	(void)c;
	sample(data);
}

static void trend_free(struct agg_trend *tr)
{
	if (!tr)
		return;
	for (size_t i = 0; tr->series && i < tr->n; i++) {
		trend_series_clear(&tr->series[i]);
		if (tr->body)
			http_body_unref(tr->body[i]);
	}
	free(tr->series);
	free(tr->body);
	free(tr->body_generation);
	free(tr->scratch);
	free(tr);
}

int trend_start(struct aggregator *a)
{
	const struct tally_election *e = a->election;
	struct agg_trend *tr = calloc(1, sizeof(*tr));
	int r = -ENOMEM;

	if (!tr)
		return -ENOMEM;
	tr->a = a;
	tr->n = e->n_contests;
	tr->series = calloc(tr->n, sizeof(*tr->series));
	tr->body = calloc(tr->n, sizeof(*tr->body));
	tr->body_generation = calloc(tr->n, sizeof(uint64_t));
	tr->scratch = calloc(TREND_FIXED + TALLY_MAX_OPTIONS, sizeof(uint64_t));
	if (!tr->series || !tr->body || !tr->body_generation || !tr->scratch)
		goto fail;
	for (size_t ci = 0; ci < tr->n; ci++)
		if ((r = trend_series_init(&tr->series[ci], e->contests[ci].n_options)) < 0)
			goto fail;
	if ((r = aggregator_on_commit(a, on_commit, tr)) < 0)
		goto fail;
	/* The recovered state is each series' first point. */
	sample(tr);
	a->trend = tr;
	return 0;
fail:
	trend_free(tr);
	return r;
}

void trend_stop(struct aggregator *a)
{
	trend_free(a->trend);
	a->trend = NULL;
}

static json_t *point_to_json(const struct tally_contest *c, const uint64_t *p)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "t", (json_int_t)p[0], "sequence",
	                      (json_int_t)p[1], "precincts_reported", (json_int_t)p[2],
	                      "ballots_cast", (json_int_t)p[3], "valid", (json_int_t)p[4]);
	json_t *votes = json_object();
	if (!o || !votes || json_object_set_new(o, "votes", votes) < 0) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < c->n_options; i++)
		if (json_object_set_new(votes, c->options[i].id,
		                        json_integer((json_int_t)p[TREND_FIXED + i])) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* {"contest", "points": [...]}: the points kept, then the latest if it is not one of them. */
static struct http_body *build(const struct tally_contest *c, const struct trend_series *s)
{
	json_t *doc = json_object(), *points = json_array();
	struct http_body *b = NULL;
	char *text = NULL;

	if (!doc || !points || json_object_set_new(doc, "contest", json_string(c->id)) < 0 ||
	    json_object_set(doc, "points", points) < 0)
		goto out;
	for (size_t i = 0; i < s->n; i++)
		if (json_array_append_new(points, point_to_json(c, s->points + i * s->stride)) < 0)
			goto out;
	if (s->has_latest && !s->latest_kept &&
	    json_array_append_new(points, point_to_json(c, s->latest)) < 0)
		goto out;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		goto out;
	size_t len = strlen(text);
	if ((b = http_body_new(len + 1))) {
		memcpy(b->data, text, len);
		b->data[len] = '\n';
	}
out:
	free(text);
	json_decref(points);
	json_decref(doc);
	return b;
}

void trend_get(struct aggregator *a, struct http_request *req, size_t contest)
{
	struct agg_trend *tr = a->trend;

	if (!tr || contest >= tr->n) {
		http_respond_error(req, 503, "trend not available");
		return;
	}
	/* The latest commit first, as /v1/totals does. */
	if (aggregator_snapshot_publish(a) < 0)
		log_warning("trend: out of memory refreshing the totals snapshot");
	const struct trend_series *s = &tr->series[contest];
	if (!tr->body[contest] || tr->body_generation[contest] != s->generation) {
		struct http_body *b = build(&a->election->contests[contest], s);
		if (!b) {
			http_respond_error(req, 500, "out of memory");
			return;
		}
		http_body_unref(tr->body[contest]);
		tr->body[contest] = b;
		tr->body_generation[contest] = s->generation;
	}
	http_respond_body(req, 200, "application/json", "Cache-Control: no-cache\r\n",
	                  tr->body[contest]);
}
