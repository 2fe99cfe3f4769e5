/*
 * bundle.h: the observer's bundle, one JSON object
 *
 *   {"tree_head": <as GET /v1/log/sth>, "log_key": <as GET /v1/log/key>,
 *    "totals": <the /v1/totals document at the head's tree size>,
 *    "entries": [{"leaf_index": 0, "leaf": "<base64 SignedResult>"}, ...]}
 *
 * read from a file or fetched from a live aggregator, and handed part by
 * part to a sink, so a log of millions of leaves never sits in memory as
 * one JSON tree.
 */
#ifndef TALLY_CLI_BUNDLE_H
#define TALLY_CLI_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "tally/err.h"

/*
 * Receives the parts. Each callback borrows the value for the call (incref
 * to keep it) and returns 0 or a negative errno that stops the reading.
 * Parts come in file order when reading, and head, key, totals, entries in
 * index order when fetching.
 */
struct bundle_sink {
	int (*head)(void *arg, json_t *sth);
	int (*log_key)(void *arg, json_t *key);
	int (*totals)(void *arg, json_t *totals);
	int (*entry)(void *arg, json_t *entry);
	void *arg;
};

/*
 * Reads a bundle file. Returns 0, -ENOENT/-EACCES (file), -EBADMSG when the
 * file is not a bundle's JSON (err says where), or the sink's error.
 */
int bundle_read(const char *path, const struct bundle_sink *sink, struct tally_err *err);

/*
 * Fetches a consistent bundle from an aggregator at base_url: the signed
 * head, the totals at exactly its tree size (asked again while the two are
 * from different moments), the log key and every entry, page by page.
 * Returns 0, an http_get() error, -EPROTO (an answer that is not what the
 * API promises; err says which), or the sink's error.
 */
int bundle_fetch(const char *base_url, const struct bundle_sink *sink, struct tally_err *err);

/* GET base_url + path expecting 200 and a JSON object; 0, -EPROTO or http_get()'s error. */
int bundle_get_json(const char *base_url, const char *path, json_t **ret, struct tally_err *err);

/* Writes the parts it is given to f as one bundle document. */
struct bundle_writer {
	FILE *f;
	bool any;        /* a member was written: the next needs a comma */
	bool in_entries; /* the "entries" array is open */
	bool had_entries;
	bool first_entry;
};

/* Starts the document and points *ret_sink at w. */
void bundle_writer_init(struct bundle_writer *w, FILE *f, struct bundle_sink *ret_sink);
/* Ends the document (an empty "entries" if none came). 0 or -EIO. */
int bundle_writer_finish(struct bundle_writer *w);

#endif
