/*
 * status.c: the node's last problems and the status document `tallyctl
 * status` prints (see status.h). It reads figures from the uplink and the
 * outbox and changes neither.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status.h"
#include "uplink.h"

#define STATUS_REJECTIONS 5

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void status_problem(struct node_status *s, const char *source, const char *fmt, ...)
{
	struct status_problem p, *last;
	va_list ap;

	p.at_ms = now_ms();
	p.count = 1;
	snprintf(p.source, sizeof(p.source), "%s", source);
	va_start(ap, fmt);
	vsnprintf(p.text, sizeof(p.text), fmt, ap);
	va_end(ap);
	/* A dead aggregator refuses every retry: keep one line, counted. */
	last = &s->ring[(s->next + STATUS_MAX_PROBLEMS - 1) % STATUS_MAX_PROBLEMS];
	if (s->n > 0 && strcmp(last->source, p.source) == 0 && strcmp(last->text, p.text) == 0) {
		last->at_ms = p.at_ms;
		last->count++;
		return;
	}
	s->ring[s->next] = p;
	s->next = (s->next + 1) % STATUS_MAX_PROBLEMS;
	if (s->n < STATUS_MAX_PROBLEMS)
		s->n++;
}

static void iso_time(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *status_problems_json(const struct node_status *s)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = (s->next + STATUS_MAX_PROBLEMS - 1 - i) % STATUS_MAX_PROBLEMS;
		const struct status_problem *p = &s->ring[k];
		char at[32];

		json_t *o;

		iso_time(p->at_ms, at, sizeof(at));
		o = json_pack("{s:s, s:s, s:s, s:I}", "at", at, "source", p->source, "text",
		              p->text, "count", (json_int_t)p->count);
		if (!o) {
			/* Not UTF-8 (a file name, say): show it as ASCII instead. */
			char text[sizeof(p->text)];
			for (size_t j = 0; j < sizeof(text); j++) {
				unsigned char ch = (unsigned char)p->text[j];
				text[j] = ch >= 0x80 || (ch < 0x20 && ch) ? '?' : (char)ch;
			}
			o = json_pack("{s:s, s:s, s:s, s:I}", "at", at, "source", p->source, "text",
			              text, "count", (json_int_t)p->count);
		}
		if (json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

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
	problems = status_problems_json(src->status);
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
