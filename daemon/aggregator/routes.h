/*
 * routes.h: every HTTP endpoint's handler, one line each, registered in
 * agg_routes[] (routes.c). A handler answers before it returns (http.h).
 */
#ifndef TALLY_AGG_ROUTES_H
#define TALLY_AGG_ROUTES_H

#include <stdbool.h>

#include "aggregator.h"
#include "tally/http.h"
#include "sth.h"

typedef void (*agg_route_cb)(struct aggregator *a, struct http_request *req);

struct agg_route {
	const char *path; /* exact path, or a prefix when prefix is true */
	bool prefix;
	agg_route_cb cb;
};

extern const struct agg_route agg_routes[];
extern const size_t agg_n_routes;

/* Dispatches one request through agg_routes[] (404 when nothing matches). */
void agg_routes_dispatch(struct http_request *req, void *aggregator);

/* api.c */
void api_totals(struct aggregator *a, struct http_request *req);
void api_region(struct aggregator *a, struct http_request *req);   /* /v1/regions/{id} */
void api_precinct(struct aggregator *a, struct http_request *req); /* /v1/precincts/{id} */
void api_healthz(struct aggregator *a, struct http_request *req);

/* contests.c (the contests API; trend.c answers .../trend) */
void contests_election(struct aggregator *a, struct http_request *req); /* /v1/election */
void contests_list(struct aggregator *a, struct http_request *req);     /* /v1/contests */
void contests_get(struct aggregator *a, struct http_request *req);      /* /v1/contests/{id}... */
int contests_start(struct aggregator *a);
void contests_stop(struct aggregator *a);

/* Publication: page.c, events.c, metrics.c, export_http.c */
void page_get(struct aggregator *a, struct http_request *req); /* /, /app.js, /app.css */
void events_get(struct aggregator *a, struct http_request *req);
int events_start(struct aggregator *a);
void events_stop(struct aggregator *a);
void metrics_get(struct aggregator *a, struct http_request *req);
void export_nist_get(struct aggregator *a, struct http_request *req);
int export_start(struct aggregator *a);
void export_stop(struct aggregator *a);

/* logapi.c (the public log; sth.c signs its heads) */
void log_sth(struct aggregator *a, struct http_request *req);
void log_key(struct aggregator *a, struct http_request *req);
void log_totals(struct aggregator *a, struct http_request *req);
void log_entries(struct aggregator *a, struct http_request *req);
void log_proof(struct aggregator *a, struct http_request *req);
void log_consistency(struct aggregator *a, struct http_request *req);

#endif
