/*
 * page.h: the live results page (web/ in the source tree) served at "/",
 * "/app.js" and "/app.css". The files are compiled into the daemon by
 * web/embed.cmake, which generates the page_assets[] table.
 */
#ifndef TALLY_AGG_PAGE_H
#define TALLY_AGG_PAGE_H

#include <stddef.h>

struct aggregator;
struct http_request;

/* One embedded file. */
struct page_asset {
	const char *path;         /* URL path, e.g. "/app.js" */
	const char *content_type; /* with charset */
	const char *etag;         /* quoted, a prefix of the file's SHA-256 */
	const unsigned char *data;
	size_t len;
};

/* Generated into the build tree by web/embed.cmake. */
extern const struct page_asset page_assets[];
extern const size_t page_assets_count;

/* GET "/", "/index.html", "/app.js", "/app.css". */
void page_get(struct aggregator *a, struct http_request *req);

#endif
