/*
 * status.c: the status document `tallyctl status` prints (see status.h). It
 * reads figures from the uplink, the outbox and the problems ring and
 * changes none of them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "uplink.h"

#define STATUS_REJECTIONS 5

static json_t *endpoint_json(const struct uplink_info *ui)
{
	char ep[TALLY_HOST_MAX + 16];

	if (!ui->host)
		return json_null();
	if (strchr(ui->host, ':'))
		snprintf(ep, sizeof(ep), "[%s]:%u", ui->host, (unsigned)ui->port);
	else
		snprintf(ep, sizeof(ep), "%s:%u", ui->host, (unsigned)ui->port);
	return json_string(ep);
}

int status_json(const struct status_sources *src, json_t **ret)
{
	struct outbox_record rej[STATUS_REJECTIONS];
	struct outbox_stats st;
	struct uplink_info ui;
	json_t *doc = NULL, *conn, *rejections, *problems;
	size_t n_rej = 0;
	int e;

	if ((e = outbox_stats(src->outbox, &st)) < 0)
		return e;
	if ((e = outbox_rejections(src->outbox, STATUS_REJECTIONS, rej, &n_rej)) < 0)
		return e;
	uplink_info(src->uplink, &ui);

	conn = json_pack(
	    "{s:s, s:o, s:s?, s:I, s:I, s:I}", "state", uplink_state_str(ui.state), "aggregator",
	    endpoint_json(&ui), "aggregator_id", ui.aggregator_id[0] ? ui.aggregator_id : NULL,
	    "connected_for_s", (json_int_t)(ui.connected_for_ms / 1000), "retry_in_s",
	    (json_int_t)((ui.retry_in_ms + 999) / 1000), "in_flight", (json_int_t)ui.in_flight);
	rejections = json_array();
	for (size_t i = 0; rejections && i < n_rej; i++)
		json_array_append_new(
		    rejections,
		    json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)rej[i].id,
		              "precinct_id", (json_int_t)rej[i].precinct_id, "revision",
		              (json_int_t)rej[i].revision, "code",
		              tally_reject_code_str(rej[i].code), "reason", rej[i].reason, "source",
		              rej[i].source, "line", (json_int_t)rej[i].line));
	problems = problems_json(src->problems);
	doc = json_pack("{s:s, s:s, s:s, s:o?, s:{s:I, s:I}, s:I, s:{s:I, s:I, s:I, s:I, s:I},"
	                " s:I, s:o?, s:o?}",
	                "node_id", src->node_id, "region_id", src->region_id, "election_id",
	                src->election_id, "connection", conn, "outbox", "queued",
	                (json_int_t)st.queued, "files", (json_int_t)st.files, "sent",
	                (json_int_t)ui.sent, "acknowledged", "total", (json_int_t)st.delivered,
	                "accepted", (json_int_t)st.outcomes[TALLY_OUTCOME_ACCEPTED], "duplicate",
	                (json_int_t)st.outcomes[TALLY_OUTCOME_DUPLICATE], "stale",
	                (json_int_t)st.outcomes[TALLY_OUTCOME_STALE], "conflict",
	                (json_int_t)st.outcomes[TALLY_OUTCOME_CONFLICT], "rejected_by_aggregator",
	                (json_int_t)st.rejected, "rejections", rejections, "problems", problems);
	if (!doc)
		return -ENOMEM;
	*ret = doc;
	return 0;
}

void status_line(const struct status_sources *src, char *buf, size_t cap)
{
	struct outbox_stats st;
	struct uplink_info ui;
	char ep[TALLY_HOST_MAX + 16] = "";

	if (outbox_stats(src->outbox, &st) < 0) {
		snprintf(buf, cap, "outbox unreadable: %s", outbox_errmsg(src->outbox));
		return;
	}
	uplink_info(src->uplink, &ui);
	if (ui.host)
		snprintf(ep, sizeof(ep), strchr(ui.host, ':') ? "[%s]:%u" : "%s:%u", ui.host,
		         (unsigned)ui.port);
	if (ui.connected)
		snprintf(buf, cap, "outbox %llu, connected to %s", (unsigned long long)st.queued,
		         ep);
	else if (ui.state == UPLINK_BACKOFF)
		snprintf(buf, cap, "outbox %llu, disconnected (retrying in %llu s)",
		         (unsigned long long)st.queued,
		         (unsigned long long)((ui.retry_in_ms + 999) / 1000));
	else
		snprintf(buf, cap, "outbox %llu, connecting to %s", (unsigned long long)st.queued,
		         ep);
}
