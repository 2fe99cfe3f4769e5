/*
 * routes.c: the one place that lists the HTTP endpoints and the optional
 * modules of the daemon. Other files own the handlers; adding an endpoint is
 * one line here and one prototype in routes.h.
 */
#include <string.h>

#include "follow.h"
#include "routes.h"
#include "trend.h"

const struct agg_route agg_routes[] = {
    {"/v1/totals", false, api_totals},
    {"/v1/regions/", true, api_region},
    {"/v1/precincts/", true, api_precinct},
    {"/healthz", false, api_healthz},
    {"/v1/election", false, contests_election},
    {"/v1/contests", false, contests_list},
    {"/v1/contests/", true, contests_get},
    {"/", false, page_get},
    {"/index.html", false, page_get},
    {"/app.js", false, page_get},
    {"/app.css", false, page_get},
    {"/i18n.js", false, page_get},
    {"/hemicycle.js", false, page_get},
    {"/map.js", false, page_get},
    {"/trend.js", false, page_get},
    {"/views.js", false, page_get},
    {"/v1/events", false, events_get},
    {"/metrics", false, metrics_get},
    {"/v1/export/nist-1500-100.json", false, export_nist_get},
    {"/v1/log/sth", false, log_sth},
    {"/v1/log/key", false, log_key},
    {"/v1/log/totals", false, log_totals},
    {"/v1/log/entries", false, log_entries},
    {"/v1/log/proof", false, log_proof},
    {"/v1/log/consistency", false, log_consistency},
};
const size_t agg_n_routes = sizeof(agg_routes) / sizeof(agg_routes[0]);

/* Modules with state and timers of their own, started after recovery. */
const struct agg_module agg_modules[] = {
    {"events", events_start, events_stop},
    {"export", export_start, export_stop},
    {"log", sth_start, sth_stop},
    {"follow", follow_start, follow_stop},
    {"contests", contests_start, contests_stop},
    {"trend", trend_start, trend_stop},
};
const size_t agg_n_modules = sizeof(agg_modules) / sizeof(agg_modules[0]);

void agg_routes_dispatch(struct http_request *req, void *aggregator)
{
	struct aggregator *a = aggregator;
	const char *path = http_request_path(req);
	for (size_t i = 0; i < agg_n_routes; i++) {
		const struct agg_route *r = &agg_routes[i];
		if (r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
		              : strcmp(path, r->path) == 0) {
			r->cb(a, req);
			return;
		}
	}
	http_respond_error(req, 404, "no such resource");
}
