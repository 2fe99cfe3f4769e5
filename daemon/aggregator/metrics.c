/*
 * metrics.c: the Prometheus exposition (text format 0.0.4) of what the
 * other modules count. It owns the metric names and their HELP text; it
 * reads struct agg_stats (counters and
 * histograms kept by ingest and the store), the committed totals, the
 * event stream's figures; the process_* metrics and the certificate's
 * expiry are tally/prom.h's, as on the node. Scrapes are cheap: a few hundred
 * lines, formatted on demand, nothing kept between them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "events.h"
#include "metrics.h"
#include "tally/prom.h"

/* Short names for the exposition syntax (tally/prom.h) used on every line here. */
static void header(FILE *f, const char *name, const char *type, const char *help)
{
	tally_prom_header(f, name, type, help);
}

static void metric_u64(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	tally_prom_u64(f, name, type, help, v);
}

/* One sample with one label, e.g. tally_votes{option="yes"} 42. */
static void labelled(FILE *f, const char *name, const char *label, const char *value, uint64_t v)
{
	fprintf(f, "%s{%s=", name, label);
	tally_prom_label(f, value);
	fprintf(f, "} %" PRIu64 "\n", v);
}

static void histogram(FILE *f, const char *name, const char *help, const struct agg_histogram *h)
{
	uint64_t cum = 0;

	header(f, name, "histogram", help);
	for (size_t i = 0; i < AGG_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, agg_hist_bounds[i], cum);
	}
	cum += h->counts[AGG_HIST_BUCKETS];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	fprintf(f, "%s_sum %.9g\n", name, h->sum);
	fprintf(f, "%s_count %" PRIu64 "\n", name, h->count);
}

static void results(struct aggregator *a, FILE *f)
{
	const struct agg_stats *s = &a->stats;

	header(f, "tally_results_total", "counter",
	       "Submitted results committed, by reconciliation outcome.");
	for (int o = TALLY_OUTCOME_ACCEPTED; o < TALLY_OUTCOME_COUNT; o++)
		fprintf(f, "tally_results_total{outcome=\"%s\"} %" PRIu64 "\n",
		        tally_outcome_str((enum tally_outcome)o), s->outcomes[o]);
	header(f, "tally_rejects_total", "counter",
	       "Submitted results rejected (Nack) and committed, by reject code.");
	for (int c = TALLY_REJECT_MALFORMED; c < TALLY_REJECT_CODE_COUNT; c++)
		fprintf(f, "tally_rejects_total{code=\"%s\"} %" PRIu64 "\n",
		        tally_reject_code_str((enum tally_reject_code)c), s->rejects[c]);
	header(f, "tally_region_rejects_total", "counter",
	       "Submitted results rejected (Nack) and committed, by the sending node's region and "
	       "reject code.");
	for (size_t r = 0; r < a->election->n_regions; r++)
		for (int c = TALLY_REJECT_MALFORMED; c < TALLY_REJECT_CODE_COUNT; c++) {
			fprintf(f, "tally_region_rejects_total{region=");
			tally_prom_label(f, a->election->regions[r].id);
			fprintf(f, ",code=\"%s\"} %" PRIu64 "\n",
			        tally_reject_code_str((enum tally_reject_code)c),
			        s->rejects_by_region
			            ? s->rejects_by_region[r * TALLY_REJECT_CODE_COUNT + (size_t)c]
			            : 0);
		}
	metric_u64(f, "tally_submits_received_total", "counter",
	           "Submit frames read from regional nodes.", s->submits_received);
	metric_u64(f, "tally_sequence", "gauge",
	           "Results in the public log (ACCEPTED + CONFLICT), as published.",
	           a->snapshot ? a->snapshot->sequence : 0);
}

static void sessions(struct aggregator *a, FILE *f)
{
	const struct agg_stats *s = &a->stats;
	const struct tally_election *e = a->election;

	metric_u64(f, "tally_sessions_accepted_total", "counter",
	           "TCP connections taken on the node listener.", s->sessions_accepted);
	metric_u64(f, "tally_sessions_refused_total", "counter",
	           "TCP connections refused over max_sessions.", s->sessions_refused);
	metric_u64(f, "tally_tls_handshake_failures_total", "counter",
	           "TLS handshakes refused (no or foreign certificate, old protocol...).",
	           s->handshake_failures);
	metric_u64(f, "tally_protocol_errors_total", "counter",
	           "Node sessions ended with a Goodbye for a protocol violation.",
	           s->protocol_errors);
	metric_u64(f, "tally_sessions_open", "gauge", "Node connections open, in any state.",
	           s->sessions_open);
	header(f, "tally_nodes_connected", "gauge", "Node sessions past Hello/Welcome, by region.");
	for (size_t i = 0; i < e->n_regions; i++)
		labelled(f, "tally_nodes_connected", "region", e->regions[i].id,
		         s->sessions_by_region ? s->sessions_by_region[i] : 0);
}

/* One sample with two labels, e.g. tally_contest_votes{contest="x",option="y"} 42. */
static void labelled2(FILE *f, const char *name, const char *l1, const char *v1, const char *l2,
                      const char *v2, uint64_t v)
{
	fprintf(f, "%s{%s=", name, l1);
	tally_prom_label(f, v1);
	fprintf(f, ",%s=", l2);
	tally_prom_label(f, v2);
	fprintf(f, "} %" PRIu64 "\n", v);
}

/*
 * The election's precincts, nationally and by region. With one contest,
 * that contest's, as these metrics always were. With several, a precinct
 * is reported once every contest it votes in is (as /healthz says), and
 * "conflicted" counts flagged (precinct, contest) pairs; the figures of
 * each contest are under tally_contest_* below.
 */
static void precincts(struct aggregator *a, FILE *f)
{
	const struct tally_totals *t = a->totals;
	const struct tally_election *e = a->election;
	uint32_t total, reported;

	tally_totals_precincts(t, SIZE_MAX, &total, &reported);
	metric_u64(f, "tally_precincts_total", "gauge", "Precincts in the election.", total);
	metric_u64(f, "tally_precincts_reported", "gauge",
	           "Precincts with a counted result (in every contest they vote in).", reported);
	metric_u64(f, "tally_precincts_conflicted", "gauge",
	           "Precincts flagged with conflicting results (per contest).",
	           tally_totals_conflicts(t, SIZE_MAX));
	header(f, "tally_region_precincts_total", "gauge", "Precincts in the election, by region.");
	for (size_t i = 0; i < e->n_regions; i++) {
		tally_totals_precincts(t, i, &total, &reported);
		labelled(f, "tally_region_precincts_total", "region", e->regions[i].id, total);
	}
	header(f, "tally_region_precincts_reported", "gauge",
	       "Precincts with a counted result (in every contest they vote in), by region.");
	for (size_t i = 0; i < e->n_regions; i++) {
		tally_totals_precincts(t, i, &total, &reported);
		labelled(f, "tally_region_precincts_reported", "region", e->regions[i].id,
		         reported);
	}
	header(f, "tally_region_precincts_conflicted", "gauge",
	       "Precincts flagged with conflicting results (per contest), by region.");
	for (size_t i = 0; i < e->n_regions; i++)
		labelled(f, "tally_region_precincts_conflicted", "region", e->regions[i].id,
		         tally_totals_conflicts(t, i));
	if (e->n_contests > 1)
		return; /* ballots and votes are per contest: tally_contest_* */
	metric_u64(f, "tally_ballots_cast", "gauge", "Ballots cast in reported precincts.",
	           t->contests[0].national.ballots_cast);
	header(f, "tally_votes", "gauge", "Votes counted nationally, by option.");
	for (size_t i = 0; i < e->n_options; i++)
		labelled(f, "tally_votes", "option", e->options[i].id,
		         t->contests[0].national.votes[i]);
}

/* Each contest over its scope (an election of one contest has one, "referendum"). */
static void contests(struct aggregator *a, FILE *f)
{
	const struct tally_totals *t = a->totals;
	const struct tally_election *e = a->election;

	header(f, "tally_contest_precincts", "gauge", "Precincts voting in the contest.");
	for (size_t ci = 0; ci < e->n_contests; ci++)
		labelled(f, "tally_contest_precincts", "contest", e->contests[ci].id,
		         t->contests[ci].national.precincts_total);
	header(f, "tally_contest_precincts_reported", "gauge",
	       "Precincts with a counted result in the contest.");
	for (size_t ci = 0; ci < e->n_contests; ci++)
		labelled(f, "tally_contest_precincts_reported", "contest", e->contests[ci].id,
		         t->contests[ci].national.precincts_reported);
	header(f, "tally_contest_precincts_conflicted", "gauge",
	       "Precincts flagged with conflicting results in the contest.");
	for (size_t ci = 0; ci < e->n_contests; ci++)
		labelled(f, "tally_contest_precincts_conflicted", "contest", e->contests[ci].id,
		         t->contests[ci].national.conflicts);
	header(f, "tally_contest_ballots_cast", "gauge",
	       "Ballots cast in the contest's reported precincts.");
	for (size_t ci = 0; ci < e->n_contests; ci++)
		labelled(f, "tally_contest_ballots_cast", "contest", e->contests[ci].id,
		         t->contests[ci].national.ballots_cast);
	header(f, "tally_contest_votes", "gauge", "Votes counted in the contest, by option.");
	for (size_t ci = 0; ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		for (size_t i = 0; i < c->n_options; i++)
			labelled2(f, "tally_contest_votes", "contest", c->id, "option",
			          c->options[i].id, t->contests[ci].national.votes[i]);
	}
}

static void store(struct aggregator *a, FILE *f)
{
	const struct agg_stats *s = &a->stats;

	metric_u64(f, "tally_store_commits_total", "counter", "Store transactions committed.",
	           s->commits);
	metric_u64(f, "tally_store_commit_failures_total", "counter",
	           "Store transactions that failed (and were retried).", s->commit_failures);
	metric_u64(f, "tally_degraded", "gauge",
	           "1 while commits fail and nothing is acknowledged.", a->degraded ? 1 : 0);
	histogram(f, "tally_store_commit_duration_seconds",
	          "Time from a batch's store begin to its commit.", &s->commit_latency);
	histogram(f, "tally_ingest_ack_duration_seconds",
	          "Time from reading a Submit frame to queueing its Ack or Nack.", &s->ack_latency);
}

static void publication(struct aggregator *a, FILE *f)
{
	struct events_stats es;

	events_get_stats(a, &es);
	metric_u64(f, "tally_events_watchers", "gauge",
	           "Event stream (/v1/events) watchers connected.", es.watchers);
	metric_u64(f, "tally_events_watchers_max", "gauge",
	           "Event stream watchers allowed before 503.", es.max_watchers);
	metric_u64(f, "tally_events_sent_total", "counter",
	           "Totals events broadcast (each to every watcher).", es.events_sent);
	metric_u64(f, "tally_events_watchers_dropped_total", "counter",
	           "Event stream watchers dropped for a full queue.", es.watchers_dropped);
	metric_u64(f, "tally_events_watchers_refused_total", "counter",
	           "Event stream requests refused over the watcher cap.", es.watchers_refused);
	if (a->http)
		metric_u64(f, "tally_http_connections", "gauge",
		           "HTTP connections and streams open on the publication port.",
		           http_server_connections(a->http));
}

int metrics_write(struct aggregator *a, FILE *f)
{
	results(a, f);
	sessions(a, f);
	precincts(a, f);
	contests(a, f);
	store(a, f);
	publication(a, f);
	tally_prom_tls_expiry(f, a->tls);
	tally_prom_process(f);
	return ferror(f) ? -EIO : 0;
}

void metrics_get(struct aggregator *a, struct http_request *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL) {
		http_respond_error(req, 500, "out of memory");
		return;
	}
	int r = metrics_write(a, f);
	if (fclose(f) != 0 || r < 0 || text == NULL) {
		http_respond_error(req, 500, "out of memory");
		goto out;
	}
	http_respond(req, 200, TALLY_PROM_CONTENT_TYPE, "Cache-Control: no-store\r\n", text, len);
out:
	free(text);
}
