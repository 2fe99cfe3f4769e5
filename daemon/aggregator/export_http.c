/*
 * export_http.c: serves the NIST export (export_http.h). It owns the cache
 * of built documents (one slot per format), the requests waiting for a
 * build, and the build jobs on the thread pool; the document itself is
 * export_nist.c's, a pure function of a totals copy.
 *
 * Cost is bounded three ways: a document is built at most once per
 * sequence and format; at most one build runs at a time (so exports take at
 * most one thread-pool thread, never the loop); and the loop's share is a
 * memcpy of the totals. The copy is taken only while a->totals equals the
 * committed snapshot, so an export never shows uncommitted results: a
 * request that arrives mid-commit waits for the commit observer.
 *
 * A document larger than a stream's queue cap (http.h: max_stream_queue,
 * 4 MiB) cannot be handed over in one piece: it is pumped, a slice at a
 * time, topping the connection's queue up to PUMP_HIGH from a short timer
 * while any transfer runs (a stream begun with http_stream_begin() gets no
 * drain callback).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_http.h"
#include "export_nist.h"
#include "tally/log.h"

#ifndef TALLY_VERSION
#define TALLY_VERSION "0.1.0"
#endif

enum { SLOT_PRECINCT, SLOT_SUMMARY, SLOT_COUNT };

/* Documents up to this size go out in one response with Content-Length. */
#define DIRECT_MAX   (3u << 20)
#define PUMP_HIGH    (1u << 20) /* keep at most this much queued per transfer */
#define PUMP_SLICE   (256u << 10)
#define PUMP_TICK_MS 2

struct waiter;

/*
 * A built document, shared by the cache and the transfers reading it. A
 * small one is an http_body too (sent whole, with Content-Length); a large
 * one stays the builder's buffer, so memory holds it once.
 */
struct doc {
	unsigned refs;
	size_t len;
	char *raw;               /* large: the builder's buffer, owned */
	struct http_body *small; /* small: the bytes as a shared body */
};

static const char *doc_bytes(const struct doc *d)
{
	return d->small ? d->small->data : d->raw;
}

static struct doc *doc_ref(struct doc *d)
{
	d->refs++;
	return d;
}

static struct doc *doc_unref(struct doc *d)
{
	if (d != NULL && --d->refs == 0) {
		http_body_unref(d->small);
		free(d->raw);
		free(d);
	}
	return NULL;
}

/* The cache and the queue of one format. */
struct slot {
	struct doc *body;  /* built document, NULL before the first */
	uint64_t sequence; /* of body */
	bool building;
	struct waiter *waiters; /* singly linked, in arrival order not kept */
};

/*
 * A streamed response: first waiting for a build (on its slot's list), then
 * pumping the document (on the pump list). Owned by the export state, freed
 * in on_waiter_close.
 */
struct waiter {
	struct waiter *next;
	struct agg_export *ex;
	struct slot *slot; /* set while waiting for a build */
	struct http_stream *stream;
	uint64_t want; /* the committed sequence when it asked */
	/* Pumping: body and how much of it is queued. */
	struct doc *body;
	size_t off;
	struct waiter *pump_next;
	bool pumping;
};

/* Owned by the aggregator (a->export); freed when stopped and nothing is pending. */
struct agg_export {
	struct aggregator *a;
	struct slot slots[SLOT_COUNT];
	unsigned jobs;        /* builds on the thread pool (0 or 1) */
	unsigned open;        /* waiter streams not yet closed */
	struct waiter *pumps; /* transfers in progress */
	uv_timer_t pump_timer;
	bool timer_open;
	bool stopping;
	char issuer[160];
	char vendor[64];
};

/* One build: a private copy of the totals, handed to a worker and back. */
struct job {
	uv_work_t work;
	struct agg_export *ex;
	int slot;
	struct tally_totals t; /* a copy: slots, and every contest's figures */
	struct export_nist_opts opts;
	/* Output. */
	char *data;
	size_t len, cap;
	int rc;
	uint64_t started_ms, finished_ms;
};

static void maybe_start(struct agg_export *ex, int s);
static void pump_start(struct agg_export *ex, struct waiter *w, struct doc *body);
static void on_commit(struct aggregator *a, const struct agg_commit *c, void *data);

static void maybe_free(struct agg_export *ex)
{
	if (!ex->stopping || ex->jobs > 0 || ex->open > 0 || ex->timer_open)
		return;
	for (int s = 0; s < SLOT_COUNT; s++)
		doc_unref(ex->slots[s].body);
	free(ex);
}

int export_start(struct aggregator *a)
{
	struct agg_export *ex = calloc(1, sizeof(*ex));
	if (ex == NULL)
		return -ENOMEM;
	ex->a = a;
	snprintf(ex->issuer, sizeof(ex->issuer), "tally-aggregator %s",
	         a->conf.id ? a->conf.id : "");
	snprintf(ex->vendor, sizeof(ex->vendor), "tally-aggregator %s", TALLY_VERSION);
	int r = aggregator_on_commit(a, on_commit, ex);
	if (r < 0) {
		free(ex);
		return r;
	}
	r = uv_timer_init(a->loop, &ex->pump_timer);
	if (r < 0) {
		free(ex);
		return r;
	}
	ex->pump_timer.data = ex;
	ex->timer_open = true;
	a->export = ex;
	return 0;
}

static void on_timer_close(uv_handle_t *h)
{
	struct agg_export *ex = h->data;
	ex->timer_open = false;
	maybe_free(ex);
}

void export_stop(struct aggregator *a)
{
	struct agg_export *ex = a->export;
	if (ex == NULL)
		return;
	a->export = NULL;
	ex->stopping = true;
	for (int s = 0; s < SLOT_COUNT; s++) {
		for (struct waiter *w = ex->slots[s].waiters; w != NULL; w = w->next) {
			w->slot = NULL;
			http_stream_close(w->stream); /* the client sees a cut response */
		}
		ex->slots[s].waiters = NULL;
	}
	for (struct waiter *w = ex->pumps; w != NULL; w = w->pump_next)
		http_stream_close(w->stream);
	uv_close((uv_handle_t *)&ex->pump_timer, on_timer_close);
}

static int on_chunk(const char *s, size_t n, void *arg)
{
	struct job *j = arg;
	if (j->len + n > j->cap) {
		size_t cap = j->cap ? j->cap : 1u << 16;
		while (cap < j->len + n)
			cap *= 2;
		char *p = realloc(j->data, cap);
		if (p == NULL)
			return -1;
		j->data = p;
		j->cap = cap;
	}
	memcpy(j->data + j->len, s, n);
	j->len += n;
	return 0;
}

static void job_free(struct job *j)
{
	free(j->t.slots);
	for (size_t ci = 0; j->t.contests != NULL && ci < j->t.election->n_contests; ci++) {
		struct tally_contest_totals *ct = &j->t.contests[ci];
		free(ct->regions);
		free(ct->districts);
		free(ct->counted);
	}
	free(j->t.contests);
	free(j->data);
	free(j);
}

/* A copy of n items of size each at src into *ret (at least one item allocated). */
static bool dup_array(void **ret, const void *src, size_t n, size_t size)
{
	*ret = malloc((n ? n : 1) * size);
	if (*ret == NULL)
		return false;
	if (n > 0) /* src may be NULL when there is nothing */
		memcpy(*ret, src, n * size);
	return true;
}

/* Worker thread: touches only the job. */
static void on_build(uv_work_t *w)
{
	struct job *j = w->data;
	j->rc = export_nist_write(&j->t, &j->opts, on_chunk, j);
	if (j->rc == 0 && on_chunk("\n", 1, j) != 0)
		j->rc = -ENOMEM;
}

static void pump_remove(struct agg_export *ex, struct waiter *w)
{
	struct waiter **pp = &ex->pumps;
	while (*pp != NULL && *pp != w)
		pp = &(*pp)->pump_next;
	if (*pp == w)
		*pp = w->pump_next;
	w->pumping = false;
	if (ex->pumps == NULL)
		uv_timer_stop(&ex->pump_timer);
}

/* Tops w's queue up to PUMP_HIGH; closes the stream once all is queued. */
static void pump(struct agg_export *ex, struct waiter *w)
{
	while (w->off < w->body->len && http_stream_queued(w->stream) < PUMP_HIGH) {
		size_t n = w->body->len - w->off;
		if (n > PUMP_SLICE)
			n = PUMP_SLICE;
		if (http_stream_write(w->stream, doc_bytes(w->body) + w->off, n) < 0) {
			/* Closing already (peer gone): on_waiter_close cleans up. */
			pump_remove(ex, w);
			return;
		}
		w->off += n;
	}
	if (w->off == w->body->len) {
		pump_remove(ex, w);
		http_stream_close(w->stream);
	}
}

static void on_pump_tick(uv_timer_t *t)
{
	struct agg_export *ex = t->data;
	struct waiter *next;
	for (struct waiter *w = ex->pumps; w != NULL; w = next) {
		next = w->pump_next;
		pump(ex, w);
	}
}

static void pump_start(struct agg_export *ex, struct waiter *w, struct doc *body)
{
	w->body = doc_ref(body);
	w->off = 0;
	w->pumping = true;
	w->pump_next = ex->pumps;
	ex->pumps = w;
	if (!uv_is_active((uv_handle_t *)&ex->pump_timer))
		uv_timer_start(&ex->pump_timer, on_pump_tick, PUMP_TICK_MS, PUMP_TICK_MS);
	pump(ex, w);
}

/* Answers the slot's waiters that asked at or before the document's sequence. */
static void answer(struct agg_export *ex, struct slot *sl)
{
	struct waiter **pp = &sl->waiters;
	while (*pp != NULL) {
		struct waiter *w = *pp;
		if (sl->body == NULL || w->want > sl->sequence) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->slot = NULL;
		pump_start(ex, w, sl->body);
	}
}

/* Takes the job's buffer (no copy for a large document). NULL on ENOMEM. */
static struct doc *doc_from_job(struct job *j)
{
	struct doc *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->refs = 1;
	d->len = j->len;
	if (j->len <= DIRECT_MAX) {
		d->small = http_body_from(j->data, j->len);
		if (d->small == NULL) {
			free(d);
			return NULL;
		}
		return d;
	}
	/* The buffer grew by doubling: give the slack back. */
	char *p = realloc(j->data, j->len);
	d->raw = p ? p : j->data;
	j->data = NULL;
	return d;
}

static void on_built(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct agg_export *ex = j->ex;
	struct slot *sl = &ex->slots[j->slot];

	ex->jobs--;
	sl->building = false;
	j->finished_ms = uv_now(ex->a->loop);
	if (ex->stopping || status == UV_ECANCELED) {
		job_free(j);
		maybe_free(ex);
		return;
	}
	if (j->rc < 0) {
		log_warning("export: building the NIST document at sequence %" PRIu64 " failed: %s",
		            j->t.sequence, strerror(-j->rc));
		/* Waiters stay; the next commit or request tries again. */
	} else {
		struct doc *b = doc_from_job(j);
		if (b == NULL) {
			log_warning("export: out of memory keeping a %zu-byte NIST document",
			            j->len);
		} else {
			doc_unref(sl->body);
			sl->body = b;
			sl->sequence = j->t.sequence;
			log_debug("export: NIST document at sequence %" PRIu64
			          ", %zu bytes in %" PRIu64 " ms",
			          j->t.sequence, j->len, j->finished_ms - j->started_ms);
		}
		answer(ex, sl);
	}
	job_free(j);
	/* Waiters for a later sequence (or after a failure) get the next build. */
	for (int s = 0; s < SLOT_COUNT; s++)
		maybe_start(ex, s);
}

/* A copy of what export_nist_write() reads, and nothing else. */
static struct job *job_new(struct agg_export *ex, int s)
{
	const struct tally_totals *t = ex->a->totals;
	const struct tally_election *e = t->election;
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->ex = ex;
	j->slot = s;
	j->work.data = j;
	j->t.election = e; /* immutable while the daemon runs */
	j->t.sequence = t->sequence;
	j->t.contests = calloc(e->n_contests ? e->n_contests : 1, sizeof(*j->t.contests));
	/* Only what the writer reads: conflict hashes stay with their owner. */
	if (j->t.contests == NULL ||
	    !dup_array((void **)&j->t.slots, t->slots, e->n_slots, sizeof(*t->slots))) {
		job_free(j);
		return NULL;
	}
	for (size_t ci = 0; ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		const struct tally_contest_totals *from = &t->contests[ci];
		struct tally_contest_totals *to = &j->t.contests[ci];
		to->national = from->national;
		to->reported_definition_registered = from->reported_definition_registered;
		if (!dup_array((void **)&to->regions, from->regions, c->n_regions,
		               sizeof(*from->regions)) ||
		    !dup_array((void **)&to->districts, from->districts, c->n_districts,
		               sizeof(*from->districts)) ||
		    !dup_array((void **)&to->counted, from->counted,
		               c->n_precincts * tally_totals_contest_stride(t, ci),
		               sizeof(uint32_t))) {
			job_free(j);
			return NULL;
		}
	}
	j->opts = (struct export_nist_opts){
	    .issuer = ex->issuer,
	    .issuer_abbreviation = ex->a->conf.id ? ex->a->conf.id : "tally",
	    .vendor_application_id = ex->vendor,
	    .language = "en",
	    .generated_at = (int64_t)(ex->a->snapshot->as_of_ms / 1000),
	    .summary_only = s == SLOT_SUMMARY,
	};
	return j;
}

/* Starts a build for slot s if someone waits, none runs, and the totals are committed. */
static void maybe_start(struct agg_export *ex, int s)
{
	struct aggregator *a = ex->a;
	struct slot *sl = &ex->slots[s];

	if (ex->stopping || sl->waiters == NULL || ex->jobs > 0 || a->snapshot == NULL)
		return;
	if (a->totals->sequence != a->snapshot->sequence)
		return; /* mid-commit: on_commit comes back here */
	struct job *j = job_new(ex, s);
	if (j == NULL) {
		log_warning(
		    "export: out of memory copying the totals, retrying at the next commit");
		return;
	}
	j->started_ms = uv_now(a->loop);
	int r = uv_queue_work(a->loop, &j->work, on_build, on_built);
	if (r < 0) {
		log_warning("export: cannot queue a build: %s", uv_strerror(r));
		job_free(j);
		return;
	}
	sl->building = true;
	ex->jobs++;
}

static void on_commit(struct aggregator *a, const struct agg_commit *c, void *data)
{
	struct agg_export *ex = data;
	for (int s = 0; s < SLOT_COUNT; s++)
		maybe_start(ex, s);
}

static void on_waiter_close(struct http_stream *s, void *data)
{
	struct waiter *w = data;
	struct agg_export *ex = w->ex;

	if (w->slot != NULL) {
		/* Still queued: the client left before its document was ready. */
		struct waiter **pp = &w->slot->waiters;
		while (*pp != NULL && *pp != w)
			pp = &(*pp)->next;
		if (*pp == w)
			*pp = w->next;
	}
	if (w->pumping)
		pump_remove(ex, w);
	doc_unref(w->body);
	ex->open--;
	free(w);
	maybe_free(ex);
}

void export_nist_get(struct aggregator *a, struct http_request *req)
{
	struct agg_export *ex = a->export;
	char format[16] = "", headers[160];

	if (ex == NULL || ex->stopping || a->snapshot == NULL) {
		http_respond_error(req, 503, "export not available yet");
		return;
	}
	int s = SLOT_PRECINCT;
	if (http_request_query_param(req, "format", format, sizeof(format)) == 0) {
		if (strcmp(format, "summary") == 0)
			s = SLOT_SUMMARY;
		else if (strcmp(format, "precinct") != 0) {
			http_respond_error(req, 400, "format must be \"precinct\" or \"summary\"");
			return;
		}
	}
	struct slot *sl = &ex->slots[s];
	uint64_t want = a->snapshot->sequence;

	struct doc *ready = sl->body != NULL && sl->sequence >= want ? sl->body : NULL;
	if (ready != NULL) {
		char etag[48];
		snprintf(etag, sizeof(etag), "\"nist-%d-%" PRIu64 "\"", s, sl->sequence);
		snprintf(headers, sizeof(headers),
		         "Cache-Control: no-cache\r\nETag: %s\r\nX-Tally-Sequence: %" PRIu64 "\r\n",
		         etag, sl->sequence);
		const char *inm = http_request_header(req, "If-None-Match");
		if (inm != NULL && strstr(inm, etag) != NULL) {
			http_respond(req, 304, "application/json", headers, NULL, 0);
			return;
		}
		if (ready->small != NULL) {
			http_respond_body(req, 200, "application/json", headers, ready->small);
			return;
		}
	}

	struct waiter *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_respond_error(req, 503, "out of memory");
		return;
	}
	w->ex = ex;
	w->want = want;
	int r = http_stream_begin(req, 200, "application/json", ready ? headers : NULL,
	                          on_waiter_close, w, &w->stream);
	if (r == -EINVAL || r == -EALREADY) {
		free(w); /* no stream was made */
		return;
	}
	/* Otherwise the stream exists, maybe already closing: on_waiter_close frees w. */
	ex->open++;
	if (r < 0 || http_request_is_head(req))
		return; /* the server ends the stream after the headers */
	if (ready != NULL) {
		pump_start(ex, w, ready);
		return;
	}
	w->slot = sl;
	w->next = sl->waiters;
	sl->waiters = w;
	maybe_start(ex, s);
}
