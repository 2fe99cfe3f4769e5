/*
 * logapi.c: the public log over HTTP, read-only JSON (hashes in hex, byte
 * strings in standard base64):
 *
 *   GET /v1/log/sth          the latest signed tree head
 *   GET /v1/log/key          the key heads are signed with
 *   GET /v1/log/totals       the totals document at the head's tree size
 *   GET /v1/log/entries?start=S&end=E     leaves [S, E), at most
 *                            LOGAPI_PAGE_MAX a page (a shorter page when cut)
 *   GET /v1/log/proof?leaf_index=I&tree_size=N      RFC 9162 inclusion proof
 *   GET /v1/log/consistency?first=M&second=N        RFC 9162 consistency proof
 *
 * Heads and the key are bodies sth.c prepared; entries come from the store,
 * proofs from the in-memory tree. Every size is bounded by the committed
 * log (sth_committed_size()), so nothing is served that a crash could take
 * back. A malformed or out-of-range parameter is a 400 naming it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "routes.h"
#include "sth.h"
#include "store.h"
#include "tally/log.h"
#include "tally/merkle.h"

#define LOGAPI_PAGE_MAX 1000

static const char *no_cache = "Cache-Control: no-cache\r\n";

/* Parses query parameter `name` as a decimal uint64. 0, -ENOENT, -EINVAL. */
static int param_u64(struct http_request *req, const char *name, uint64_t *ret)
{
	char buf[32], *end;
	unsigned long long v;

	if (http_request_query_param(req, name, buf, sizeof(buf)) < 0)
		return -ENOENT;
	if (buf[0] < '0' || buf[0] > '9' || strlen(buf) > 20)
		return -EINVAL;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Both parameters, or a 400 already sent (returns -1). */
static int two_params(struct http_request *req, const char *n1, uint64_t *v1, const char *n2,
                      uint64_t *v2)
{
	if (param_u64(req, n1, v1) < 0 || param_u64(req, n2, v2) < 0) {
		http_respond_errorf(req, 400, "expected ?%s=N&%s=N with decimal N", n1, n2);
		return -1;
	}
	return 0;
}

static int ready(struct aggregator *a, struct http_request *req)
{
	if (a->log == NULL || !a->log->has_head) {
		http_respond_error(req, 503, "no signed tree head yet");
		return 0;
	}
	return 1;
}

void log_sth(struct aggregator *a, struct http_request *req)
{
	if (ready(a, req))
		http_respond_body(req, 200, "application/json", no_cache, a->log->sth_body);
}

void log_key(struct aggregator *a, struct http_request *req)
{
	if (ready(a, req))
		http_respond_body(req, 200, "application/json", NULL, a->log->key_body);
}

void log_totals(struct aggregator *a, struct http_request *req)
{
	if (ready(a, req))
		http_respond_body(req, 200, "application/json", no_cache, a->log->totals_body);
}

struct page {
	json_t *entries;
	int err;
};

static int add_entry(const struct agg_leaf_rec *leaf, void *data)
{
	struct page *p = data;
	size_t n = sodium_base64_encoded_len(leaf->leaf_len, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(n);
	json_t *e;

	if (b == NULL)
		return p->err = -ENOMEM;
	sodium_bin2base64(b, n, leaf->leaf, leaf->leaf_len, sodium_base64_VARIANT_ORIGINAL);
	e = json_pack("{s:I, s:s}", "leaf_index", (json_int_t)leaf->leaf_index, "leaf", b);
	free(b);
	if (e == NULL || json_array_append_new(p->entries, e) < 0)
		return p->err = -ENOMEM;
	return 0;
}

void log_entries(struct aggregator *a, struct http_request *req)
{
	uint64_t start, end, size = sth_committed_size(a);
	struct page p = {0};
	json_t *doc = NULL;
	int r;

	if (two_params(req, "start", &start, "end", &end) < 0)
		return;
	if (start >= end || start >= size) {
		http_respond_errorf(req, 400,
		                    "bad range start=%" PRIu64 " end=%" PRIu64
		                    ": need start < end and start < %" PRIu64 " (the log size)",
		                    start, end, size);
		return;
	}
	/* Cut to the log and to one page; the client asks again from where this ends. */
	if (end > size)
		end = size;
	if (end - start > LOGAPI_PAGE_MAX)
		end = start + LOGAPI_PAGE_MAX;
	p.entries = json_array();
	doc = json_object();
	if (p.entries == NULL || doc == NULL) {
		json_decref(p.entries);
		goto fail;
	}
	/* set_new takes the array even when it fails. */
	if (json_object_set_new(doc, "entries", p.entries) < 0)
		goto fail;
	/* The reader: a batch may be being written on the committer thread. */
	struct agg_store *rd = agg_store_reader(a->store);
	r = agg_store_leaves(rd, start, end, 1, add_entry, &p);
	if (r < 0 || p.err < 0) {
		log_err("log: reading leaves %" PRIu64 "..%" PRIu64 " for %s: %s", start, end,
		        http_request_peer(req), rd->last_error);
		json_decref(doc);
		http_respond_error(req, 500, "cannot read the log");
		return;
	}
	if (json_array_size(p.entries) != end - start) {
		log_err("log: store returned %zu leaves for %" PRIu64 "..%" PRIu64,
		        json_array_size(p.entries), start, end);
		json_decref(doc);
		http_respond_error(req, 500, "the log store is short of leaves");
		return;
	}
	http_respond_json(req, 200, doc);
	json_decref(doc);
	return;
fail:
	json_decref(doc);
	http_respond_error(req, 500, "out of memory");
}

/* {"<a>": x, "<b>": y, "<key>": [hex...]} */
static void respond_path(struct http_request *req, const char *ka, uint64_t va, const char *kb,
                         uint64_t vb, const char *key, uint8_t (*path)[TALLY_HASH_BYTES], size_t n)
{
	json_t *doc = json_object(), *arr = json_array();
	char hex[2 * TALLY_HASH_BYTES + 1];

	if (doc == NULL || arr == NULL) {
		json_decref(doc);
		json_decref(arr);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	json_object_set_new(doc, ka, json_integer((json_int_t)va));
	json_object_set_new(doc, kb, json_integer((json_int_t)vb));
	for (size_t i = 0; i < n; i++) {
		tally_hex(path[i], TALLY_HASH_BYTES, hex);
		json_array_append_new(arr, json_string(hex));
	}
	json_object_set_new(doc, key, arr);
	if (json_object_size(doc) != 3 || json_array_size(arr) != n)
		http_respond_error(req, 500, "out of memory");
	else
		http_respond_json(req, 200, doc);
	json_decref(doc);
}

void log_proof(struct aggregator *a, struct http_request *req)
{
	uint8_t path[TALLY_MERKLE_MAX_PATH][TALLY_HASH_BYTES];
	uint64_t index, size, log = sth_committed_size(a);
	size_t n = 0;

	if (two_params(req, "leaf_index", &index, "tree_size", &size) < 0)
		return;
	if (size > log || index >= size ||
	    tally_merkle_inclusion(a->merkle, index, size, path, &n) < 0) {
		http_respond_errorf(req, 400,
		                    "bad proof request leaf_index=%" PRIu64 " tree_size=%" PRIu64
		                    ": need leaf_index < tree_size <= %" PRIu64 " (the log size)",
		                    index, size, log);
		return;
	}
	respond_path(req, "leaf_index", index, "tree_size", size, "audit_path", path, n);
}

void log_consistency(struct aggregator *a, struct http_request *req)
{
	uint8_t path[TALLY_MERKLE_MAX_PATH][TALLY_HASH_BYTES];
	uint64_t first, second, log = sth_committed_size(a);
	size_t n = 0;

	if (two_params(req, "first", &first, "second", &second) < 0)
		return;
	if (second > log || first == 0 || first > second ||
	    tally_merkle_consistency(a->merkle, first, second, path, &n) < 0) {
		http_respond_errorf(req, 400,
		                    "bad consistency request first=%" PRIu64 " second=%" PRIu64
		                    ": need 0 < first <= second <= %" PRIu64 " (the log size)",
		                    first, second, log);
		return;
	}
	respond_path(req, "first", first, "second", second, "consistency_path", path, n);
}
