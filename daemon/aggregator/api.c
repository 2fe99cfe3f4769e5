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
#include "tally/totals_json.h"

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
	/* With several contests a precinct is reported once every contest it
	 * votes in is, and conflicts are flagged (precinct, contest) pairs;
	 * with one, both are that contest's, as ever. */
	uint32_t total, reported, conflicts = tally_totals_conflicts(a->totals, SIZE_MAX);
	uint32_t sessions = 0;
	tally_totals_precincts(a->totals, SIZE_MAX, &total, &reported);
	for (size_t i = 0; i < a->election->n_regions; i++)
		sessions += a->stats.sessions_by_region[i];
	const char *status = !a->ready ? "starting" : a->degraded ? "degraded" : "ok";
	json_t *doc = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "status", status, "election_id",
	    a->election->election_id, "sequence", (json_int_t)a->totals->sequence,
	    "precincts_reported", (json_int_t)reported, "precincts_total", (json_int_t)total,
	    "conflicts", (json_int_t)conflicts, "sessions", (json_int_t)sessions, "uptime_s",
	    (json_int_t)((agg_now_ms() - a->start_ms) / 1000));
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
 * each (and some 60 more per further contest it votes in): megabytes for a
 * large region. The document is laid out as http_respond_json() lays it
 * out (the figures through jansson, the list by hand in the same compact
 * form); up to one slice it goes out whole, beyond that as a response
 * stream, a slice at a time as the socket drains, so the loop never
 * formats the whole list at once and no copy of the text is held. A slice
 * is REGION_SLICE precincts of one contest, or as many as fit in the same
 * bytes when they vote in several. The precincts' states are copied when
 * the request arrives: the answer is the committed state of that moment
 * from its first byte to its last, whatever commits while it is sent.
 *
 * An election of one contest: {"election_id", "sequence", "id", "name",
 * ...the region's figures, "precincts": [{"id", "registered", "status",
 * "revision"}]}, as ever. Of several: {"election_id", "sequence", "id",
 * "name", "names"?, "precincts_total", "precincts_reported", "conflicts"
 * (across contests, as /healthz counts them), "contests": [{"id", "name",
 * "names"?, "kind", ...FIGURES of the region in it}] (the contests with
 * precincts there), "precincts": [{"id", "registered", "contests": {id:
 * {"status", "revision"}}}] (the contests each votes in)}.
 */
#define REGION_SLICE 2048
/* The longest entry:
 * ,{"id":4294967295,"registered":4294967295,"status":"not_reported","revision":4294967295} */
#define PRECINCT_MAX 96
/* The longest entry of several contests, before its contests:
 * ,{"id":4294967295,"registered":4294967295,"contests":{}} */
#define PRECINCT_HEAD_MAX 64
/* ... and per contest: ,"<id>":{"status":"not_reported","revision":4294967295} */
#define PRECINCT_CONTEST_MAX (TALLY_ID_MAX + 56)

struct region_state {
	uint32_t revision;
	bool conflict;
	uint32_t contest; /* several contests: the contest, an index into election->contests */
};

/* One answer being produced. Owned by its stream; freed in on_region_close. */
struct region_answer {
	const struct tally_election *e;
	const struct tally_region *reg;
	size_t next;             /* precincts written so far */
	struct region_state *st; /* as committed when asked: per precinct of the region, or
	                            (several contests) per slot, precinct after precinct */
	size_t *first;           /* several contests: precinct k's states are
	                            st[first[k] .. first[k + 1]) */
};

static struct region_answer *region_answer_free(struct region_answer *ra)
{
	if (ra) {
		free(ra->st);
		free(ra->first);
	}
	free(ra);
	return NULL;
}

static void copy_state(struct region_state *to, const struct tally_slot_state *st, size_t contest)
{
	to->revision = st->revision;
	to->conflict = st->n_conflicts > 0;
	to->contest = (uint32_t)contest;
}

/*
 * Several contests: the states of every slot of the region's precincts.
 * The contests with precincts there are few; a national one finds its
 * slot in O(1), the others by a binary search, never a scan.
 */
static int region_states(const struct aggregator *a, size_t ri, struct region_answer *ra)
{
	const struct tally_election *e = a->election;
	const struct tally_region *reg = &e->regions[ri];
	size_t n_rc = 0, n = 0;
	uint32_t *rc = calloc(e->n_contests, sizeof(*rc));
	if (!rc || !(ra->first = calloc(reg->n_precincts + 1, sizeof(*ra->first))))
		goto fail;
	for (size_t ci = 0; ci < e->n_contests; ci++)
		if (tally_contest_region_position(&e->contests[ci], ri) >= 0)
			rc[n_rc++] = (uint32_t)ci;
	/* Counted first, then filled: the exact room, whatever the contests. */
	for (int pass = 0; pass < 2; pass++) {
		n = 0;
		for (size_t k = 0; k < reg->n_precincts; k++) {
			ra->first[k] = n;
			for (size_t j = 0; j < n_rc; j++) {
				int64_t slot = tally_election_slot(e, rc[j], reg->precincts[k]);
				if (slot < 0)
					continue;
				if (pass == 1)
					copy_state(&ra->st[n], &a->totals->slots[slot], rc[j]);
				n++;
			}
		}
		ra->first[reg->n_precincts] = n;
		if (pass == 0 && !(ra->st = calloc(n ? n : 1, sizeof(*ra->st))))
			goto fail;
	}
	free(rc);
	return 0;
fail:
	free(rc);
	return -ENOMEM;
}

static struct region_answer *region_answer_new(const struct aggregator *a, int ri)
{
	const struct tally_region *reg = &a->election->regions[ri];
	struct region_answer *ra = calloc(1, sizeof(*ra));
	if (!ra)
		return NULL;
	ra->e = a->election;
	ra->reg = reg;
	if (a->election->n_contests > 1)
		return region_states(a, (size_t)ri, ra) < 0 ? region_answer_free(ra) : ra;
	if (!(ra->st = calloc(reg->n_precincts ? reg->n_precincts : 1, sizeof(*ra->st))))
		return region_answer_free(ra);
	for (size_t k = 0; k < reg->n_precincts; k++)
		copy_state(&ra->st[k], tally_totals_state(a->totals, 0, reg->precincts[k]), 0);
	return ra;
}

/* The region's figures in each contest with precincts there. NULL on ENOMEM. */
static json_t *region_contests(const struct aggregator *a, size_t ri)
{
	const struct tally_election *e = a->election;
	json_t *list = json_array();
	for (size_t ci = 0; list && ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		if (tally_contest_region_position(c, ri) < 0)
			continue;
		json_t *o = json_object();
		if (!o || json_array_append_new(list, o) < 0 ||
		    json_object_set_new(o, "id", json_string(c->id)) < 0 ||
		    tally_name_to_json(o, "name", "names", &c->name) < 0 ||
		    json_object_set_new(o, "kind", json_string(tally_contest_kind_str(c->kind))) <
		        0 ||
		    tally_contest_figures_to_json(e, c, tally_totals_region(a->totals, ci, ri), o) <
		        0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* The document up to and including the list's '[': {"election_id":...,"precincts":[ */
static char *region_head(const struct aggregator *a, int ri)
{
	const struct tally_election *e = a->election;
	const struct tally_region *reg = &e->regions[ri];
	json_t *doc = json_object(), *fig = NULL;
	char *text = NULL, *out = NULL;
	if (!doc)
		goto out;
	json_object_set_new(doc, "election_id", json_string(e->election_id));
	json_object_set_new(doc, "sequence", json_integer((json_int_t)a->totals->sequence));
	json_object_set_new(doc, "id", json_string(reg->id));
	if (e->n_contests > 1) {
		uint32_t total, reported;
		tally_totals_precincts(a->totals, (size_t)ri, &total, &reported);
		if (tally_name_to_json(doc, "name", "names", &reg->names) < 0 ||
		    json_object_set_new(doc, "precincts_total", json_integer(total)) < 0 ||
		    json_object_set_new(doc, "precincts_reported", json_integer(reported)) < 0 ||
		    json_object_set_new(
		        doc, "conflicts",
		        json_integer(tally_totals_conflicts(a->totals, (size_t)ri))) < 0 ||
		    json_object_set_new(doc, "contests", region_contests(a, (size_t)ri)) < 0)
			goto out;
	} else {
		if (tally_totals_figures_to_json(
		        a->totals, tally_totals_region(a->totals, 0, (size_t)ri), &fig) < 0)
			goto out;
		json_object_set_new(doc, "name", json_string(reg->name ? reg->name : ""));
		json_object_update(doc, fig);
	}
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

static const char *state_str(const struct region_state *st)
{
	return st->revision == 0 ? "not_reported" : st->conflict ? "conflict" : "counted";
}

/* The room precinct k's entry may take. */
static size_t precinct_room(const struct region_answer *ra, size_t k)
{
	if (!ra->first)
		return PRECINCT_MAX;
	return PRECINCT_HEAD_MAX + (ra->first[k + 1] - ra->first[k]) * PRECINCT_CONTEST_MAX;
}

/* Lays out precinct k at p (room for precinct_room()); returns the bytes. */
static size_t region_precinct(const struct region_answer *ra, char *p, size_t k)
{
	const struct tally_precinct *pr = &ra->e->precincts[ra->reg->precincts[k]];
	size_t n;
	if (!ra->first)
		return (size_t)snprintf(p, PRECINCT_MAX,
		                        "%s{\"id\":%" PRIu32 ",\"registered\":%" PRIu32
		                        ",\"status\":\"%s\",\"revision\":%" PRIu32 "}",
		                        k ? "," : "", pr->id, pr->registered, state_str(&ra->st[k]),
		                        ra->st[k].revision);
	n = (size_t)snprintf(p, PRECINCT_HEAD_MAX,
	                     "%s{\"id\":%" PRIu32 ",\"registered\":%" PRIu32 ",\"contests\":{",
	                     k ? "," : "", pr->id, pr->registered);
	for (size_t i = ra->first[k]; i < ra->first[k + 1]; i++) {
		const struct region_state *st = &ra->st[i];
		n += (size_t)snprintf(p + n, PRECINCT_CONTEST_MAX,
		                      "%s\"%s\":{\"status\":\"%s\",\"revision\":%" PRIu32 "}",
		                      i > ra->first[k] ? "," : "", ra->e->contests[st->contest].id,
		                      state_str(st), st->revision);
	}
	memcpy(p + n, "}}", 2);
	return n + 2;
}

/* The next slice of precincts, and the document's end after the last. NULL on ENOMEM. */
static struct http_body *region_slice(struct region_answer *ra, const char *head)
{
	size_t hn = head ? strlen(head) : 0, n = ra->reg->n_precincts, room = 0, to = ra->next;
	/* As many precincts as REGION_SLICE entries of one contest would take, at least one. */
	while (to < n && (to == ra->next ||
	                  room + precinct_room(ra, to) <= (size_t)REGION_SLICE * PRECINCT_MAX))
		room += precinct_room(ra, to++);
	struct http_body *b = http_body_new(hn + room + 2);
	if (!b)
		return NULL;
	if (hn)
		memcpy(b->data, head, hn);
	size_t len = hn;
	for (size_t k = ra->next; k < to; k++)
		len += region_precinct(ra, b->data + len, k);
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
	char contests[HISTORY_PAGE_MAX + 1][TALLY_ID_MAX]; /* as each Submit named it */
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
	snprintf(pg->contests[pg->n], TALLY_ID_MAX, "%s", h->contest ? h->contest : "");
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
	/* A result that names its contest says so; one of the only contest
	 * that leaves it out keeps the document it always had. */
	if (r.contest_id[0])
		json_object_set_new(o, "contest_id", json_string(r.contest_id));
	c->result = o;
	return 0;
}

/* The counted result of a slot as published, or json_null(); NULL on a store error. */
static json_t *counted_result(struct agg_store *rd, const struct tally_slot_state *st)
{
	struct counted_ctx cc = {0};
	if (st->leaf_index < 0)
		return json_null();
	if (agg_store_leaves(rd, (uint64_t)st->leaf_index, (uint64_t)st->leaf_index + 1, 1,
	                     on_counted_leaf, &cc) < 0) {
		json_decref(cc.result);
		return NULL;
	}
	return cc.result ? cc.result : json_null();
}

/*
 * An election of several contests: each contest the precinct votes in,
 * with its state and counted result, and the history page grouped by the
 * contest each Submit named ({id: [rows oldest first]}). NULL on ENOMEM
 * or a store error (*ret_store set).
 */
static json_t *precinct_contests(struct aggregator *a, size_t pi, int only,
                                 struct history_page *page, size_t shown, bool *ret_store)
{
	const struct tally_election *e = a->election;
	const struct tally_precinct *p = &e->precincts[pi];
	struct agg_store *rd = agg_store_reader(a->store);
	json_t *doc = json_pack("{s:s, s:I, s:s, s:I}", "election_id", e->election_id,
	                        "precinct_id", (json_int_t)p->id, "region",
	                        e->regions[p->region].id, "registered", (json_int_t)p->registered);
	json_t *list = json_array(), *history = json_object();
	if (!doc || !list || !history || json_object_set(doc, "contests", list) < 0 ||
	    json_object_set(doc, "history", history) < 0)
		goto fail;
	for (size_t ci = 0; ci < e->n_contests; ci++) {
		int64_t slot = tally_election_slot(e, ci, pi);
		if (slot < 0 || (only >= 0 && (size_t)only != ci))
			continue;
		const struct tally_slot_state *st = &a->totals->slots[slot];
		json_t *result = counted_result(rd, st);
		if (!result) {
			*ret_store = true;
			goto fail;
		}
		json_t *o = json_pack(
		    "{s:s, s:s, s:I, s:b, s:I, s:o, s:o}", "id", e->contests[ci].id, "status",
		    precinct_status(st), "revision", (json_int_t)st->revision, "conflict",
		    st->n_conflicts > 0, "conflicting_copies", (json_int_t)st->n_conflicts,
		    "leaf_index", st->leaf_index >= 0 ? json_integer(st->leaf_index) : json_null(),
		    "result", result);
		if (json_array_append_new(list, o) < 0)
			goto fail;
	}
	/* The page oldest first, as a history reads. */
	for (size_t i = shown; i-- > 0;) {
		json_t *rows = json_object_get(history, page->contests[i]);
		if (!rows && (json_object_set_new(history, page->contests[i], json_array()) < 0 ||
		              !(rows = json_object_get(history, page->contests[i]))))
			goto fail;
		if (json_array_append(rows, page->rows[i]) < 0)
			goto fail;
	}
	json_decref(list);
	json_decref(history);
	return doc;
fail:
	json_decref(list);
	json_decref(history);
	json_decref(doc);
	return NULL;
}

/*
 * An election of one contest: {"election_id", "precinct_id", "region",
 * "registered", "status", "revision", "conflicting_copies", "conflict",
 * "leaf_index", "result", "history": [...], "history_next"}, as ever. Of
 * several: {"election_id", "precinct_id", "region", "registered",
 * "contests": [{"id", "status", "revision", "conflict",
 * "conflicting_copies", "leaf_index", "result"}] (each contest it votes
 * in), "history": {contest: [...]}, "history_next"}; ?contest=ID keeps
 * one contest (its state and its Submits), for paging its history alone.
 */
void api_precinct(struct aggregator *a, struct http_request *req)
{
	const struct tally_election *e = a->election;
	const char *id = tail_id(req, "/v1/precincts/");
	char *end = NULL, want[TALLY_ID_MAX];
	unsigned long v = id ? strtoul(id, &end, 10) : 0;
	int64_t pi = -1;
	int only = -1;
	uint32_t limit;
	uint64_t before;
	bool several = e->n_contests > 1, store_failed = false;
	if (id && id[0] >= '0' && id[0] <= '9' && *end == '\0' && v <= UINT32_MAX)
		pi = tally_election_precinct_index(e, (uint32_t)v);
	if (pi < 0) {
		http_respond_errorf(req, 404, "no precinct '%.*s' in this election", TALLY_ID_MAX,
		                    id ? id : "");
		return;
	}
	if (history_params(req, &limit, &before) < 0)
		return;
	if (several && http_request_query_param(req, "contest", want, sizeof(want)) == 0 &&
	    (only = tally_election_contest_index(e, want)) < 0) {
		http_respond_errorf(req, 404, "no contest '%s' in this election", want);
		return;
	}
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
	int r = agg_store_history(rd, p->id, only >= 0 ? e->contests[only].id : NULL, before,
	                          limit + 1, on_history, page);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0)
		goto fail;
	size_t shown = page->n > limit ? limit : page->n;
	if (several) {
		doc = precinct_contests(a, (size_t)pi, only, page, shown, &store_failed);
		if (!doc && store_failed)
			goto fail;
		if (!doc)
			goto oom;
	} else {
		if (st->leaf_index >= 0 &&
		    agg_store_leaves(rd, (uint64_t)st->leaf_index, (uint64_t)st->leaf_index + 1, 1,
		                     on_counted_leaf, &cc) < 0)
			goto fail;
		/* The page oldest first, as a history reads. */
		for (size_t i = shown; i-- > 0;) {
			if (json_array_append(history, page->rows[i]) < 0)
				goto oom;
		}
		doc = json_pack("{s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:b}", "election_id",
		                e->election_id, "precinct_id", (json_int_t)p->id, "region",
		                e->regions[p->region].id, "registered", (json_int_t)p->registered,
		                "status", precinct_status(st), "revision", (json_int_t)st->revision,
		                "conflicting_copies", (json_int_t)st->n_conflicts, "conflict",
		                st->n_conflicts > 0);
		if (!doc)
			goto oom;
		json_object_set_new(doc, "leaf_index",
		                    st->leaf_index >= 0 ? json_integer(st->leaf_index)
		                                        : json_null());
		json_object_set_new(doc, "result", cc.result ? cc.result : json_null());
		cc.result = NULL;
		json_object_set_new(doc, "history", history);
		history = NULL;
	}
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
