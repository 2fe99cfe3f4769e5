/*
 * contests.c: the contests API over HTTP (README, "The contests API"):
 *
 *   GET /v1/election               the definition's static shape
 *   GET /v1/contests               every contest's progress and decision
 *   GET /v1/contests/{id}          one contest's figures and decision
 *   GET /v1/contests/{id}/trend    its time series (trend.c)
 *
 * The documents are totals_json.c's; this file owns their caching and the
 * rules of serving them. Every document is the committed state at the
 * published snapshot's sequence (never anything a crash could take back),
 * with the snapshot's "as_of". Each is built once per sequence, on the
 * first request that needs it, and kept as a shared body until the
 * sequence moves: building costs the contest's regions and districts and
 * one decision, never a pass over precincts, so it does not depend on the
 * election's size. Answers carry an ETag (304 on If-None-Match) and
 * "Cache-Control: no-cache", as the live page's files do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "tally/log.h"
#include "tally/sign.h"
#include "tally/totals_json.h"
#include "trend.h"

/* One cached document: its bytes and entity tag, at a sequence. */
struct cached {
	struct http_body *body;
	uint64_t sequence;
	char etag[24]; /* "\"" + 20 hex digits + "\"" */
};

/* Owned by the aggregator (a->contests). */
struct agg_contests {
	struct cached election; /* static: built at start */
	struct cached listing;  /* /v1/contests */
	struct cached *detail;  /* /v1/contests/{id}, like election->contests */
	size_t n;
};

static void cached_clear(struct cached *c)
{
	http_body_unref(c->body);
	memset(c, 0, sizeof(*c));
}

/* doc serialized into c, as the aggregator's other documents are. 0 or -ENOMEM. */
static int cached_set(struct cached *c, json_t *doc, uint64_t sequence)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	uint8_t hash[TALLY_HASH_BYTES];
	char hex[2 * TALLY_HASH_BYTES + 1];
	struct http_body *b;

	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	b = http_body_new(len + 1);
	if (!b) {
		free(text);
		return -ENOMEM;
	}
	memcpy(b->data, text, len);
	b->data[len] = '\n';
	free(text);
	tally_sha256((const uint8_t *)b->data, b->len, hash);
	tally_hex(hash, 10, hex);
	http_body_unref(c->body);
	c->body = b;
	c->sequence = sequence;
	snprintf(c->etag, sizeof(c->etag), "\"%.20s\"", hex);
	return 0;
}

static void respond_cached(struct http_request *req, const struct cached *c)
{
	char headers[96];
	snprintf(headers, sizeof(headers), "Cache-Control: no-cache\r\nETag: %s\r\n", c->etag);
	/* If-None-Match may list several tags or use W/; containing ours is a match. */
	const char *inm = http_request_header(req, "If-None-Match");
	if (inm && strstr(inm, c->etag)) {
		http_respond(req, 304, "application/json", headers, NULL, 0);
		return;
	}
	http_respond_body(req, 200, "application/json", headers, c->body);
}

int contests_start(struct aggregator *a)
{
	struct agg_contests *cs = calloc(1, sizeof(*cs));
	json_t *doc = NULL;
	int r = -ENOMEM;

	if (!cs)
		return -ENOMEM;
	cs->n = a->election->n_contests;
	cs->detail = calloc(cs->n, sizeof(*cs->detail));
	if (!cs->detail || tally_election_to_json(a->election, &doc) < 0 ||
	    (r = cached_set(&cs->election, doc, 0)) < 0)
		goto fail;
	json_decref(doc);
	a->contests = cs;
	return 0;
fail:
	json_decref(doc);
	free(cs->detail);
	cached_clear(&cs->election);
	free(cs);
	return r < 0 ? r : -ENOMEM;
}

void contests_stop(struct aggregator *a)
{
	struct agg_contests *cs = a->contests;

	if (!cs)
		return;
	a->contests = NULL;
	cached_clear(&cs->election);
	cached_clear(&cs->listing);
	for (size_t i = 0; i < cs->n; i++)
		cached_clear(&cs->detail[i]);
	free(cs->detail);
	free(cs);
}

typedef int (*build_cb)(const struct tally_totals *t, size_t contest, const char *as_of,
                        json_t **ret);

static int build_listing(const struct tally_totals *t, size_t contest, const char *as_of,
                         json_t **ret)
{
	(void)contest;
	return tally_totals_contests_to_json(t, as_of, ret);
}

/*
 * Serves c at the published sequence, building it from the totals first
 * if it is older. The totals are the committed state once the snapshot is
 * published and they are not out of step with the store (a failed
 * commit, a rebuild pending); otherwise only a document already at the
 * snapshot's sequence may be served.
 */
static void serve(struct aggregator *a, struct http_request *req, struct cached *c, build_cb build,
                  size_t contest)
{
	if (aggregator_snapshot_publish(a) < 0)
		log_warning(
		    "out of memory refreshing the totals snapshot; serving sequence %" PRIu64,
		    a->snapshot ? a->snapshot->sequence : 0);
	if (!a->snapshot) {
		http_respond_error(req, 503, "totals not available yet");
		return;
	}
	uint64_t seq = a->snapshot->sequence;
	if (!c->body || c->sequence != seq) {
		if (a->out_of_step || a->totals->sequence != seq) {
			http_respond_error(req, 503,
			                   "the totals are being rebuilt from the store; "
			                   "try again in a moment");
			return;
		}
		char as_of[40];
		json_t *doc = NULL;
		agg_format_time(a->snapshot->as_of_ms, as_of, sizeof(as_of));
		int r = build(a->totals, contest, as_of, &doc);
		if (r == 0)
			r = cached_set(c, doc, seq);
		json_decref(doc);
		if (r < 0) {
			log_warning("contests: cannot build a document at sequence %" PRIu64 ": %s",
			            seq, strerror(-r));
			http_respond_error(
			    req, 500, r == -ENOMEM ? "out of memory" : "cannot decide the contest");
			return;
		}
	}
	respond_cached(req, c);
}

void contests_election(struct aggregator *a, struct http_request *req)
{
	if (!a->contests) {
		http_respond_error(req, 503, "not available yet");
		return;
	}
	respond_cached(req, &a->contests->election);
}

void contests_list(struct aggregator *a, struct http_request *req)
{
	if (!a->contests) {
		http_respond_error(req, 503, "not available yet");
		return;
	}
	serve(a, req, &a->contests->listing, build_listing, 0);
}

/* /v1/contests/{id} and /v1/contests/{id}/trend; the id may be percent-encoded. */
void contests_get(struct aggregator *a, struct http_request *req)
{
	static const char prefix[] = "/v1/contests/";
	const char *id = http_request_path(req) + sizeof(prefix) - 1;
	const char *slash = strchr(id, '/');
	size_t len = slash ? (size_t)(slash - id) : strlen(id);
	char cid[TALLY_ID_MAX];
	bool trend = false;

	if (slash) {
		if (strcmp(slash, "/trend") != 0) {
			http_respond_error(req, 404, "no such resource");
			return;
		}
		trend = true;
	}
	int ci = -ENOENT;
	if (len > 0 && http_percent_decode(id, len, cid, TALLY_ID_MAX) > 0)
		ci = tally_election_contest_index(a->election, cid);
	if (ci < 0) {
		http_respond_errorf(req, 404, "no contest '%.*s' in this election",
		                    (int)(len < TALLY_ID_MAX ? len : TALLY_ID_MAX), id);
		return;
	}
	if (!a->contests) {
		http_respond_error(req, 503, "not available yet");
		return;
	}
	if (trend)
		trend_get(a, req, (size_t)ci);
	else
		serve(a, req, &a->contests->detail[ci], tally_totals_contest_to_json, (size_t)ci);
}
