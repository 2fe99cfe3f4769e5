/*
 * metrics.c: the node's /metrics (see metrics.h). It owns the node's metric
 * names and their HELP text and a small HTTP server (tally/http.h) that
 * answers GET /metrics; the syntax, the process_* metrics and the
 * certificate's expiry are tally/prom.h's, as on the aggregator. Every
 * figure is asked of its module at scrape time: the outbox (one indexed
 * query for the oldest queued entry, one grouped count), the uplink's
 * counters and the spool's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "tally/http.h"
#include "tally/prom.h"

#define METRICS_MAX_CONNECTIONS 16

struct node_metrics {
	struct node_metrics_sources src;
	struct http_server *http;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "host:port", with brackets around an IPv6 address, as the logs write it. */
static void ep_str(const char *host, uint16_t port, char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

/*
 * No region label: the scrape configuration gives every node target its
 * region, and a label of the same name here would be renamed
 * exported_region by Prometheus.
 */
static void info(const struct node_metrics_sources *src, FILE *f)
{
	tally_prom_header(f, "tally_node_info", "gauge",
	                  "The node's id, election and signing key id (always 1).");
	fputs("tally_node_info{node=", f);
	tally_prom_label(f, src->node_id);
	fputs(",election=", f);
	tally_prom_label(f, src->election_id);
	fputs(",key_id=", f);
	tally_prom_label(f, src->key_id);
	fputs("} 1\n", f);
}

static int outbox(const struct node_metrics_sources *src, FILE *f)
{
	struct outbox_stats st;
	struct uplink_info ui;
	int64_t oldest_ms, age_ms = 0;
	uint64_t in_flight;
	int e;

	if ((e = outbox_stats(src->outbox, &st)) < 0)
		return e;
	if ((e = outbox_oldest_queued(src->outbox, &oldest_ms)) < 0)
		return e;
	uplink_info(src->uplink, &ui);
	/* Sent and unanswered entries are still queued in the outbox. */
	in_flight = ui.in_flight < st.queued ? ui.in_flight : st.queued;
	tally_prom_header(f, "tally_node_outbox_entries", "gauge",
	                  "Signed protocols in the outbox, by state: queued (not yet sent), "
	                  "in_flight (sent, unanswered), delivered (acknowledged), rejected "
	                  "(refused by the aggregator).");
	fprintf(f, "tally_node_outbox_entries{state=\"queued\"} %" PRIu64 "\n",
	        st.queued - in_flight);
	fprintf(f, "tally_node_outbox_entries{state=\"in_flight\"} %" PRIu64 "\n", in_flight);
	fprintf(f, "tally_node_outbox_entries{state=\"delivered\"} %" PRIu64 "\n", st.delivered);
	fprintf(f, "tally_node_outbox_entries{state=\"rejected\"} %" PRIu64 "\n", st.rejected);
	if (oldest_ms > 0) {
		age_ms = wall_ms() - oldest_ms;
		if (age_ms < 0) /* the clock was set back */
			age_ms = 0;
	}
	tally_prom_header(f, "tally_node_outbox_oldest_undelivered_age_seconds", "gauge",
	                  "Age of the oldest protocol not yet acknowledged (queued or in flight); "
	                  "0 when there is none.");
	fprintf(f, "tally_node_outbox_oldest_undelivered_age_seconds %.3f\n",
	        (double)age_ms / 1000);

	tally_prom_header(f, "tally_node_submits_sent_total", "counter",
	                  "Submits sent to aggregators (a resend after a broken connection counts "
	                  "again).");
	fprintf(f, "tally_node_submits_sent_total %" PRIu64 "\n", ui.sent);
	tally_prom_header(f, "tally_node_acks_total", "counter",
	                  "Acks received, by the aggregator's outcome.");
	for (int o = TALLY_OUTCOME_ACCEPTED; o < TALLY_OUTCOME_COUNT; o++)
		fprintf(f, "tally_node_acks_total{outcome=\"%s\"} %" PRIu64 "\n",
		        tally_outcome_str((enum tally_outcome)o), ui.acked[o]);
	tally_prom_u64(f, "tally_node_nacks_total", "counter",
	               "Nacks received: protocols the aggregator rejected.", ui.nacked);
	return 0;
}

static void spool(const struct node_metrics_sources *src, FILE *f)
{
	uint64_t queued, rejected;

	spool_counts(src->spool, &queued, &rejected);
	tally_prom_header(f, "tally_node_spool_files_total", "counter",
	                  "Protocol files taken from the spool folder: accepted (their protocols "
	                  "queued) or rejected (moved to rejected/, nothing queued).");
	fprintf(f, "tally_node_spool_files_total{result=\"accepted\"} %" PRIu64 "\n", queued);
	fprintf(f, "tally_node_spool_files_total{result=\"rejected\"} %" PRIu64 "\n", rejected);
}

static void uplink(const struct node_metrics_sources *src, FILE *f)
{
	static const enum uplink_ep_state states[] = {UPLINK_EP_CONNECTED, UPLINK_EP_CONNECTING,
	                                              UPLINK_EP_BACKOFF, UPLINK_EP_IDLE};
	size_t n = uplink_endpoints(src->uplink);
	struct uplink_endpoint_info ei;
	char ep[TALLY_HOST_MAX + 16];

	tally_prom_header(f, "tally_node_uplink_state", "gauge",
	                  "1 for the uplink's state toward each configured aggregator "
	                  "(connected, connecting, backoff, idle), else 0.");
	for (size_t i = 0; i < n; i++) {
		uplink_endpoint_info(src->uplink, i, &ei);
		ep_str(ei.host, ei.port, ep, sizeof(ep));
		for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
			fputs("tally_node_uplink_state{aggregator=", f);
			tally_prom_label(f, ep);
			fprintf(f, ",state=\"%s\"} %d\n", uplink_ep_state_str(states[s]),
			        ei.state == states[s]);
		}
	}
	tally_prom_header(f, "tally_node_uplink_connections_total", "counter",
	                  "Sessions established with each aggregator (Welcome received); more "
	                  "than one means reconnects.");
	for (size_t i = 0; i < n; i++) {
		uplink_endpoint_info(src->uplink, i, &ei);
		ep_str(ei.host, ei.port, ep, sizeof(ep));
		fputs("tally_node_uplink_connections_total{aggregator=", f);
		tally_prom_label(f, ep);
		fprintf(f, "} %" PRIu64 "\n", ei.connections);
	}
	tally_prom_header(f, "tally_node_uplink_failures_total", "counter",
	                  "Connection attempts to each aggregator that failed, and sessions "
	                  "with it that broke.");
	for (size_t i = 0; i < n; i++) {
		uplink_endpoint_info(src->uplink, i, &ei);
		ep_str(ei.host, ei.port, ep, sizeof(ep));
		fputs("tally_node_uplink_failures_total{aggregator=", f);
		tally_prom_label(f, ep);
		fprintf(f, "} %" PRIu64 "\n", ei.failures);
	}
	tally_prom_header(f, "tally_node_uplink_last_ack_timestamp_seconds", "gauge",
	                  "When each aggregator last answered a Submit (Ack or Nack), in seconds "
	                  "since 1970; absent until it has.");
	for (size_t i = 0; i < n; i++) {
		uplink_endpoint_info(src->uplink, i, &ei);
		if (ei.last_answer_ms <= 0)
			continue;
		ep_str(ei.host, ei.port, ep, sizeof(ep));
		fputs("tally_node_uplink_last_ack_timestamp_seconds{aggregator=", f);
		tally_prom_label(f, ep);
		fprintf(f, "} %.3f\n", (double)ei.last_answer_ms / 1000);
	}
}

int node_metrics_write(const struct node_metrics_sources *src, FILE *f)
{
	int e;

	info(src, f);
	if ((e = outbox(src, f)) < 0)
		return e;
	spool(src, f);
	uplink(src, f);
	tally_prom_tls_expiry(f, src->tls ? *src->tls : NULL);
	tally_prom_process(f);
	return ferror(f) ? -EIO : 0;
}

static void on_request(struct http_request *req, void *data)
{
	struct node_metrics *m = data;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int e;

	if (strcmp(http_request_path(req), "/metrics") != 0) {
		http_respond_error(req, 404, "not found: the node serves /metrics only");
		return;
	}
	f = open_memstream(&text, &len);
	if (f == NULL) {
		http_respond_error(req, 500, "out of memory");
		return;
	}
	e = node_metrics_write(&m->src, f);
	if (fclose(f) != 0 || text == NULL) {
		http_respond_error(req, 500, "out of memory");
	} else if (e < 0) {
		/* A scrape that fails shows as up == 0 with the reason in Prometheus. */
		http_respond_errorf(req, 500, "outbox unreadable: %s (%s)", strerror(-e),
		                    outbox_errmsg(m->src.outbox));
	} else {
		http_respond(req, 200, TALLY_PROM_CONTENT_TYPE, "Cache-Control: no-store\r\n", text,
		             len);
	}
	free(text);
}

int node_metrics_start(uv_loop_t *loop, const struct tally_endpoint *ep,
                       const struct node_metrics_sources *src, struct node_metrics **ret,
                       struct tally_err *err)
{
	struct node_metrics *m;
	struct http_limits lim;
	int e;

	m = calloc(1, sizeof(*m));
	if (!m)
		return tally_err_set(err, -ENOMEM, "out of memory");
	m->src = *src;
	http_limits_default(&lim);
	lim.max_connections = METRICS_MAX_CONNECTIONS;
	e = http_server_start(loop, ep, -1, &lim, on_request, m, &m->http);
	if (e < 0) {
		free(m);
		return tally_err_set(err, e, "metrics_listen = %s:%u: %s", ep->host,
		                     (unsigned)ep->port, uv_strerror(e));
	}
	*ret = m;
	return 0;
}

int node_metrics_port(const struct node_metrics *m)
{
	return http_server_port(m->http);
}

void node_metrics_stop(struct node_metrics *m)
{
	if (!m)
		return;
	/* The server frees itself once its handles are closed; it holds no
	 * pointer to m after this, and no request can arrive any more. */
	http_server_stop(m->http);
	free(m);
}
