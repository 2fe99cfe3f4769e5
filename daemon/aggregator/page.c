/*
 * page.c: serves the embedded live page (page.h). It owns the response
 * headers that make the page safe to show on the commission's screen: a
 * Content-Security-Policy that allows nothing but this origin's own script,
 * styles and event stream (no inline code, no other host), nosniff, no
 * framing, no referrer. Caching is revalidation by ETag, so a daemon
 * upgrade reaches every browser at its next load and an unchanged page
 * costs one 304.
 */
#include <stdio.h>
#include <string.h>

#include "tally/http.h"
#include "page.h"

#define PAGE_HEADERS                                                                               \
	"Cache-Control: no-cache\r\n"                                                              \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "       \
	"img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "                \
	"frame-ancestors 'none'\r\n"                                                               \
	"X-Content-Type-Options: nosniff\r\n"                                                      \
	"X-Frame-Options: DENY\r\n"                                                                \
	"Referrer-Policy: no-referrer\r\n"

static const struct page_asset *find(const char *path)
{
	if (strcmp(path, "/index.html") == 0)
		path = "/";
	for (size_t i = 0; i < page_assets_count; i++)
		if (strcmp(page_assets[i].path, path) == 0)
			return &page_assets[i];
	return NULL;
}

void page_get(struct aggregator *a, struct http_request *req)
{
	const struct page_asset *p = find(http_request_path(req));
	char headers[sizeof(PAGE_HEADERS) + 64];

	if (p == NULL) {
		http_respond_error(req, 404, "no such resource");
		return;
	}
	snprintf(headers, sizeof(headers), "%sETag: %s\r\n", PAGE_HEADERS, p->etag);
	/* If-None-Match may list several tags or use W/; containing ours is a match. */
	const char *inm = http_request_header(req, "If-None-Match");
	if (inm != NULL && strstr(inm, p->etag) != NULL) {
		http_respond(req, 304, p->content_type, headers, NULL, 0);
		return;
	}
	http_respond(req, 200, p->content_type, headers, p->data, p->len);
}
