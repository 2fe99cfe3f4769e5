/*
 * api.c: the aggregator's own read-only JSON endpoints: /v1/totals (the
 * committed snapshot, served without building anything per request),
 * /v1/regions/{id}, /v1/precincts/{id} and /healthz. Commits happen on this
 * same loop between requests, so everything served here is committed state;
 * /v1/totals first rebuilds a snapshot a commit left stale.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "store.h"
#include "tally/codec.h"
#include "tally/log.h"
#include "tally/sign.h"

void api_totals(struct aggregator *a, struct http_request *req)
{
	/* A client that got its Ack must find its result here: rebuild now if
	 * a commit made the snapshot stale (at most once per commit). */
	if (aggregator_snapshot_publish(a) < 0)
		log_warning(
		    "out of memory refreshing the totals snapshot; serving sequence %" PRIu64,
		    a->snapshot ? a->snapshot->sequence : 0);
	if (!a->snapshot) {
		http_respond_error(req, 503, "totals not available yet");
		return;
	}
	http_respond_body(req, 200, "application/json", "Cache-Control: no-cache\r\n",
	                  a->snapshot->body);
}

void api_healthz(struct aggregator *a, struct http_request *req)
{
	const struct tally_figures *f = &a->totals->contests[0].national;
	uint32_t sessions = 0;
	for (size_t i = 0; i < a->election->n_regions; i++)
		sessions += a->stats.sessions_by_region[i];
	const char *status = !a->ready ? "starting" : a->degraded ? "degraded" : "ok";
	json_t *doc = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "status", status, "election_id",
	    a->election->election_id, "sequence", (json_int_t)a->totals->sequence,
	    "precincts_reported", (json_int_t)f->precincts_reported, "precincts_total",
	    (json_int_t)f->precincts_total, "conflicts", (json_int_t)f->conflicts, "sessions",
	    (json_int_t)sessions, "uptime_s", (json_int_t)((agg_now_ms() - a->start_ms) / 1000));
	if (!doc) {
		http_respond_error(req, 500, "out of memory");
		return;
	}
	if (a->degraded)
		json_object_set_new(doc, "reason", json_string(a->degraded_reason));
	http_respond_json(req, a->ready && !a->degraded ? 200 : 503, doc);
	json_decref(doc);
}

static const char *precinct_status(const struct tally_slot_state *st)
{
	if (st->revision == 0)
		return "not_reported";
	return st->n_conflicts ? "conflict" : "counted";
}

/* The id after a route prefix: non-empty, no further '/'. */
static const char *tail_id(struct http_request *req, const char *prefix)
{
	const char *id = http_request_path(req) + strlen(prefix);
	if (id[0] == '\0' || strchr(id, '/'))
		return NULL;
	return id;
}

/*
 * /v1/regions/{id} lists every precinct of the region, about 68 bytes
 * each: megabytes for a large region. The document is laid out as
 * http_respond_json() lays it out (the figures through jansson, the list by
 * hand in the same compact form); up to REGION_SLICE precincts it goes out
 * whole, beyond that as a response stream, REGION_SLICE precincts at a time
 * as the socket drains, so the loop never formats the whole list at once
 * and no copy of the text is held. The precincts' states are copied when
 * the request arrives: the answer is the committed state of that moment
 * from its first byte to its last, whatever commits while it is sent.
 */
#define REGION_SLICE 2048
/* The longest entry:
 * ,{"id":4294967295,"registered":4294967295,"status":"not_reported","revision":4294967295} */
#define PRECINCT_MAX 96

struct region_state {
	uint32_t revision;
	bool conflict;
};

/* One answer being produced. Owned by its stream; freed in on_region_close. */
struct region_answer {
	const struct tally_election *e;
	const struct tally_region *reg;
	size_t next;             /* precincts written so far */
	struct region_state *st; /* per precinct of the region, as committed when asked */
};

static struct region_answer *region_answer_free(struct region_answer *ra)
{
	if (ra)
		free(ra->st);
	free(ra);
	return NULL;
}

static struct region_answer *region_answer_new(const struct aggregator *a, int ri)
{
	const struct tally_region *reg = &a->election->regions[ri];
	struct region_answer *ra = calloc(1, sizeof(*ra));
	if (!ra || !(ra->st = calloc(reg->n_precincts ? reg->n_precincts : 1, sizeof(*ra->st))))
		return region_answer_free(ra);
	ra->e = a->election;
	ra->reg = reg;
	for (size_t k = 0; k < reg->n_precincts; k++) {
		const struct tally_slot_state *st =
		    tally_totals_state(a->totals, 0, reg->precincts[k]);
		ra->st[k].revision = st->revision;
		ra->st[k].conflict = st->n_conflicts > 0;
	}
	return ra;
}

/* The document up to and including the list's '[': {"election_id":...,"precincts":[ */
static char *region_head(const struct aggregator *a, int ri)
{
	const struct tally_election *e = a->election;
	const struct tally_region *reg = &e->regions[ri];
	json_t *doc = json_object(), *fig = NULL;
	char *text = NULL, *out = NULL;
	if (!doc || tally_totals_figures_to_json(
	                a->totals, tally_totals_region(a->totals, 0, (size_t)ri), &fig) < 0)
		goto out;
	json_object_set_new(doc, "election_id", json_string(e->election_id));
	json_object_set_new(doc, "sequence", json_integer((json_int_t)a->totals->sequence));
	json_object_set_new(doc, "id", json_string(reg->id));
	json_object_set_new(doc, "name", json_string(reg->name ? reg->name : ""));
	json_object_update(doc, fig);
	text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
	size_t len = text ? strlen(text) : 0;
	if (len < 2 || text[len - 1] != '}')
		goto out;
	text[len - 1] = '\0';
	if (asprintf(&out, "%s,\"precincts\":[", text) < 0)
		out = NULL;
out:
	free(text);
	json_decref(fig);
	json_decref(doc);
	return out;
}

/* Lays out precincts [from, to) at p (room for PRECINCT_MAX each); returns the bytes. */
static size_t region_precincts(const struct region_answer *ra, char *p, size_t from, size_t to)
{
	size_t n = 0;
	for (size_t k = from; k < to; k++) {
		const struct tally_precinct *pr = &ra->e->precincts[ra->reg->precincts[k]];
		const char *status = ra->st[k].revision == 0 ? "not_reported"
		                     : ra->st[k].conflict    ? "conflict"
		                                             : "counted";
		n += (size_t)snprintf(p + n, PRECINCT_MAX,
		                      "%s{\"id\":%" PRIu32 ",\"registered\":%" PRIu32
		                      ",\"status\":\"%s\",\"revision\":%" PRIu32 "}",
		                      k ? "," : "", pr->id, pr->registered, status,
		                      ra->st[k].revision);
	}
	return n;
}

/* The next slice of precincts, and the document's end after the last. NULL on ENOMEM. */
static struct http_body *region_slice(struct region_answer *ra, const char *head)
{
	size_t hn = head ? strlen(head) : 0, n = ra->reg->n_precincts;
	size_t to = n - ra->next > REGION_SLICE ? ra->next + REGION_SLICE : n;
	struct http_body *b = http_body_new(hn + (to - ra->next) * PRECINCT_MAX + 2);
	if (!b)
		return NULL;
	if (hn)
		memcpy(b->data, head, hn);
	size_t len = hn + region_precincts(ra, b->data + hn, ra->next, to);
	ra->next = to;
	if (to == n) {
		memcpy(b->data + len, "]}", 2);
		len += 2;
	}
	b->len = len;
	return b;
}

static void on_region_drain(struct http_stream *s, void *data)
{
	struct region_answer *ra = data;
	struct http_body *b = region_slice(ra, NULL);
	if (!b) {
		log_warning("out of memory answering /v1/regions/%s; the answer is cut",
		            ra->reg->id);
		http_stream_abort(s);
		return;
	}
	int r = http_stream_write_body(s, b);
	http_body_unref(b);
	if (r == 0 && ra->next == ra->reg->n_precincts)
		http_stream_close(s);
	/* Otherwise the connection is closing: on_region_close comes. */
}

static void on_region_close(struct http_stream *s, void *data)
{
	(void)s;
	region_answer_free(data);
}

void api_region(struct aggregator *a, struct http_request *req)
{
	const char *id = tail_id(req, "/v1/regions/");
	int ri = id ? aggregator_region_index(a, id) : -1;
	if (ri < 0) {
		http_respond_errorf(req, 404, "no region '%.*s' in this election", TALLY_ID_MAX,
		                    id ? id : "");
		return;
	}
	struct region_answer *ra = region_answer_new(a, ri);
	char *head = region_head(a, ri);
	struct http_body *b = ra && head ? region_slice(ra, head) : NULL;
	free(head);
	if (!b) {
		region_answer_free(ra);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	if (ra->next == ra->reg->n_precincts) {
		http_respond_body(req, 200, "application/json", NULL, b);
		http_body_unref(b);
		region_answer_free(ra);
		return;
	}
	struct http_stream *s;
	int r = http_respond_stream(req, 200, "application/json", NULL, on_region_drain,
	                            on_region_close, ra, &s);
	if (r == -ENOBUFS || r == -EINVAL || r == -EALREADY)
		region_answer_free(ra); /* no stream was made */
	else if (r == 0)
		http_stream_write_body(s, b);
	/* Otherwise the stream exists, already closing: on_region_close frees ra. */
	http_body_unref(b);
}

/* History rows per /v1/precincts page: by default, and at most. */
#define HISTORY_PAGE     100
#define HISTORY_PAGE_MAX 1000

/* One page of a precinct's history as the store gives it, newest first,
 * plus one row to tell whether older ones exist. */
struct history_page {
	json_t *rows[HISTORY_PAGE_MAX + 1];
	uint64_t ids[HISTORY_PAGE_MAX + 1];
	size_t n;
};

static int on_history(const struct agg_history_rec *h, void *data)
{
	struct history_page *pg = data;
	json_t *o = json_pack(
	    "{s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)h->id, "received_ms",
	    (json_int_t)h->received_ms, "region", h->peer_region ? h->peer_region : "", "node",
	    h->peer_node ? h->peer_node : "", "revision", (json_int_t)h->revision);
	if (!o || pg->n == HISTORY_PAGE_MAX + 1) {
		json_decref(o);
		return -ENOMEM;
	}
	if (h->code != TALLY_REJECT_NONE) {
		json_object_set_new(o, "outcome", json_string("rejected"));
		json_object_set_new(o, "code", json_string(tally_reject_code_str(h->code)));
		json_object_set_new(o, "reason", json_string(h->reason ? h->reason : ""));
	} else {
		json_object_set_new(o, "outcome", json_string(tally_outcome_str(h->outcome)));
	}
	if (h->leaf_index >= 0)
		json_object_set_new(o, "leaf_index", json_integer(h->leaf_index));
	pg->ids[pg->n] = h->id;
	pg->rows[pg->n++] = o;
	return 0;
}

/* ?history_limit=N (1..HISTORY_PAGE_MAX) and ?history_before=ID; 0, or
 * -EINVAL with a 400 sent. */
static int history_params(struct http_request *req, uint32_t *ret_limit, uint64_t *ret_before)
{
	char buf[32], *end;
	unsigned long long v;
	*ret_limit = HISTORY_PAGE;
	*ret_before = UINT64_MAX;
	if (http_request_query_param(req, "history_limit", buf, sizeof(buf)) == 0) {
		errno = 0;
		v = strtoull(buf, &end, 10);
		if (buf[0] < '0' || buf[0] > '9' || *end || errno || v < 1 ||
		    v > HISTORY_PAGE_MAX) {
			http_respond_errorf(req, 400, "history_limit must be 1..%d",
			                    HISTORY_PAGE_MAX);
			return -EINVAL;
		}
		*ret_limit = (uint32_t)v;
	}
	if (http_request_query_param(req, "history_before", buf, sizeof(buf)) == 0) {
		errno = 0;
		v = strtoull(buf, &end, 10);
		if (buf[0] < '0' || buf[0] > '9' || *end || errno || v < 1) {
			http_respond_error(
			    req, 400,
			    "history_before must be a history row id (a positive integer)");
			return -EINVAL;
		}
		*ret_before = v;
	}
	return 0;
}

struct counted_ctx {
	json_t *result;
};

/* The counted result as published: its figures, from the log leaf bytes. */
static int on_counted_leaf(const struct agg_leaf_rec *l, void *data)
{
	struct counted_ctx *c = data;
	struct tally_signed_result sr;
	struct tally_result r;
	if (tally_codec_decode_signed(l->leaf, l->leaf_len, &sr) < 0)
		return -EIO;
	int rc = tally_codec_decode_result(sr.payload, sr.payload_len, &r);
	char payload_hash[2 * TALLY_HASH_BYTES + 1];
	tally_hex(l->payload_hash, TALLY_HASH_BYTES, payload_hash);
	json_t *o = rc < 0 ? NULL
	                   : json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	                               "s:I, s:s, s:s}",
	                               "election_id", r.election_id, "region_id", r.region_id,
	                               "precinct_id", (json_int_t)r.precinct_id, "revision",
	                               (json_int_t)r.revision, "voters_registered",
	                               (json_int_t)r.voters_registered, "ballots_received",
	                               (json_int_t)r.ballots_received, "ballots_issued",
	                               (json_int_t)r.ballots_issued, "ballots_cancelled",
	                               (json_int_t)r.ballots_cancelled, "ballots_cast",
	                               (json_int_t)r.ballots_cast, "ballots_invalid",
	                               (json_int_t)r.ballots_invalid, "ballots_not_counted",
	                               (json_int_t)r.ballots_not_counted, "recorded_at_ms",
	                               (json_int_t)r.recorded_at_ms, "key_id", sr.key_id,
	                               "payload_sha256", payload_hash);
	tally_signed_result_clear(&sr);
	if (!o)
		return -ENOMEM;
	json_t *votes = json_object();
	for (size_t i = 0; i < r.n_votes; i++)
		json_object_set_new(votes, r.votes[i].option_id, json_integer(r.votes[i].count));
	json_object_set_new(o, "votes", votes);
	c->result = o;
	return 0;
}

void api_precinct(struct aggregator *a, struct http_request *req)
{
	const struct tally_election *e = a->election;
	const char *id = tail_id(req, "/v1/precincts/");
	char *end = NULL;
	unsigned long v = id ? strtoul(id, &end, 10) : 0;
	int64_t pi = -1;
	uint32_t limit;
	uint64_t before;
	if (id && id[0] >= '0' && id[0] <= '9' && *end == '\0' && v <= UINT32_MAX)
		pi = tally_election_precinct_index(e, (uint32_t)v);
	if (pi < 0) {
		http_respond_errorf(req, 404, "no precinct '%.*s' in this election", TALLY_ID_MAX,
		                    id ? id : "");
		return;
	}
	if (history_params(req, &limit, &before) < 0)
		return;
	const struct tally_precinct *p = &e->precincts[pi];
	const struct tally_slot_state *st = tally_totals_state(a->totals, 0, (size_t)pi);
	struct history_page *page = calloc(1, sizeof(*page));
	json_t *history = json_array(), *doc = NULL;
	struct counted_ctx cc = {0};
	if (!page || !history)
		goto oom;
	/* The reader: a batch may be being written on the committer thread.
	 * One row more than the page says whether older rows exist. */
	struct agg_store *rd = agg_store_reader(a->store);
	int r = agg_store_history(rd, p->id, NULL, before, limit + 1, on_history, page);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0)
		goto fail;
	if (st->leaf_index >= 0 &&
	    agg_store_leaves(rd, (uint64_t)st->leaf_index, (uint64_t)st->leaf_index + 1, 1,
	                     on_counted_leaf, &cc) < 0)
		goto fail;
	/* The page oldest first, as a history reads. */
	size_t shown = page->n > limit ? limit : page->n;
	for (size_t i = shown; i-- > 0;) {
		if (json_array_append(history, page->rows[i]) < 0)
			goto oom;
	}
	doc = json_pack("{s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:b}", "election_id", e->election_id,
	                "precinct_id", (json_int_t)p->id, "region", e->regions[p->region].id,
	                "registered", (json_int_t)p->registered, "status", precinct_status(st),
	                "revision", (json_int_t)st->revision, "conflicting_copies",
	                (json_int_t)st->n_conflicts, "conflict", st->n_conflicts > 0);
	if (!doc)
		goto oom;
	json_object_set_new(doc, "leaf_index",
	                    st->leaf_index >= 0 ? json_integer(st->leaf_index) : json_null());
	json_object_set_new(doc, "result", cc.result ? cc.result : json_null());
	cc.result = NULL;
	json_object_set_new(doc, "history", history);
	history = NULL;
	/* Where the next older page starts, if there is one. */
	json_object_set_new(doc, "history_next",
	                    page->n > limit ? json_integer((json_int_t)page->ids[limit - 1])
	                                    : json_null());
	http_respond_json(req, 200, doc);
	goto out;
fail:
	http_respond_error(req, 500, "store read failed");
	goto out;
oom:
	http_respond_error(req, 500, "out of memory");
out:
	json_decref(doc);
	json_decref(history);
	json_decref(cc.result);
	if (page)
		for (size_t i = 0; i < page->n; i++)
			json_decref(page->rows[i]);
	free(page);
}
