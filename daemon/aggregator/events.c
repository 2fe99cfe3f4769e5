/*
 * events.c: the Server-Sent Events stream of the totals (events.h). It owns
 * the watchers (one struct watcher per open stream), the tick timer that
 * coalesces commits into at most one event per EVENTS_TICK_MS, and the
 * publication document (the committed totals snapshot plus the lists the
 * live page shows). Bytes on the wire, queue caps and closing are http.c's.
 *
 * The one timer runs two named sub-tasks per tick, broadcast() and
 * heartbeat(). Ingest only marks the state dirty (on_commit), so its cost
 * does not grow with the number of watchers; the fan-out is one shared,
 * reference-counted body handed to every stream without copying.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "tally/log.h"

/* One open stream. Owned by struct agg_events; freed in on_stream_close. */
struct watcher {
	struct watcher *prev, *next;
	struct agg_events *ev;
	struct http_stream *stream;
	uint64_t generation; /* of the last "totals" event queued to it */
	bool dropped;        /* closed by us for a full queue */
	char peer[64];       /* for the log line when dropped */
};

/* Owned by the aggregator (a->events); freed once its timer and every stream have closed. */
struct agg_events {
	struct aggregator *a;
	uv_timer_t tick;
	bool timer_open;
	bool stopping;
	struct watcher *watchers; /* doubly linked, newest first */
	size_t n_watchers;
	size_t max_watchers;
	/* The latest "totals" event, for new watchers; NULL before the first. */
	struct http_body *current;
	uint64_t current_sequence;
	uint64_t generation; /* of `current`, counting from 1 */
	bool dirty;          /* a commit (or a change of the degraded flag) since `current` */
	bool degraded_seen;
	uint64_t rejects_seen;      /* rejections are published without a sequence change */
	uint64_t last_heartbeat_ms; /* loop time (monotonic) of the last event or heartbeat */
	/* The constant part of the document: ,"title":...,"options":[...] */
	char *static_json;
	/* Conflict list, recomputed only when the committed sequence moves. */
	json_t *conflicts;
	uint64_t conflicts_sequence;
	struct events_stats stats;
};

static void on_tick(uv_timer_t *t);
static void on_timer_close(uv_handle_t *h);
static void on_stream_close(struct http_stream *s, void *data);
static void on_commit(struct aggregator *a, const struct agg_commit *c, void *data);

static void maybe_free(struct agg_events *ev)
{
	if (!ev->stopping || ev->timer_open || ev->n_watchers > 0)
		return;
	http_body_unref(ev->current);
	json_decref(ev->conflicts);
	free(ev->static_json);
	free(ev);
}

/*
 * ,"title":"...","options":[{"id","name"},...] — built once, the election
 * does not change. An election of several contests has its title (and
 * titles) in the totals document already, and its options per contest
 * there and in /v1/election: nothing to add.
 */
static char *static_part(const struct tally_election *e)
{
	json_t *o = json_object(), *opts = json_array();
	char *s = NULL, *out = NULL;

	if (!tally_election_is_legacy(e)) {
		json_decref(o);
		json_decref(opts);
		return strdup("");
	}
	if (!o || !opts ||
	    json_object_set_new(o, "title", json_string(e->title ? e->title : "")) < 0)
		goto out;
	for (size_t i = 0; i < e->n_options; i++) {
		const char *name = e->options[i].name ? e->options[i].name : e->options[i].id;
		if (json_array_append_new(
		        opts, json_pack("{s:s, s:s}", "id", e->options[i].id, "name", name)) < 0)
			goto out;
	}
	if (json_object_set(o, "options", opts) < 0)
		goto out;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s == NULL || strlen(s) < 2)
		goto out;
	/* Drop the braces: the text is spliced into the totals document. */
	s[strlen(s) - 1] = '\0';
	if (asprintf(&out, ",%s", s + 1) < 0)
		out = NULL;
out:
	free(s);
	json_decref(opts);
	json_decref(o);
	return out;
}

int events_start(struct aggregator *a)
{
	struct agg_events *ev = calloc(1, sizeof(*ev));
	int r = -ENOMEM;

	if (ev == NULL)
		return -ENOMEM;
	ev->a = a;
	ev->static_json = static_part(a->election);
	if (ev->static_json == NULL)
		goto fail;
	/* Leave an eighth of the HTTP connections for everything else. */
	size_t conns = a->conf.http_max_connections ? a->conf.http_max_connections : 512;
	ev->max_watchers = conns - conns / 8;
	if (ev->max_watchers > EVENTS_MAX_WATCHERS)
		ev->max_watchers = EVENTS_MAX_WATCHERS;
	if (ev->max_watchers == 0)
		ev->max_watchers = 1;
	ev->stats.max_watchers = ev->max_watchers;
	ev->dirty = true;
	ev->last_heartbeat_ms = uv_now(a->loop);
	r = aggregator_on_commit(a, on_commit, ev);
	if (r < 0)
		goto fail;
	r = uv_timer_init(a->loop, &ev->tick);
	if (r < 0)
		goto fail;
	ev->tick.data = ev;
	ev->timer_open = true;
	r = uv_timer_start(&ev->tick, on_tick, EVENTS_TICK_MS, EVENTS_TICK_MS);
	if (r < 0) {
		/* The handle is initialised: it must be closed, and frees ev. */
		ev->stopping = true;
		uv_close((uv_handle_t *)&ev->tick, on_timer_close);
		return r;
	}
	/* The timer alone must not keep the loop alive at shutdown. */
	uv_unref((uv_handle_t *)&ev->tick);
	a->events = ev;
	return 0;
fail:
	free(ev->static_json);
	free(ev);
	return r;
}

void events_stop(struct aggregator *a)
{
	struct agg_events *ev = a->events;

	if (ev == NULL)
		return;
	a->events = NULL;
	ev->stopping = true;
	for (struct watcher *w = ev->watchers; w != NULL; w = w->next)
		http_stream_close(w->stream);
	if (ev->timer_open)
		uv_close((uv_handle_t *)&ev->tick, on_timer_close);
	else
		maybe_free(ev);
}

static void on_timer_close(uv_handle_t *h)
{
	struct agg_events *ev = h->data;
	ev->timer_open = false;
	maybe_free(ev);
}

static void on_commit(struct aggregator *a, const struct agg_commit *c, void *data)
{
	struct agg_events *ev = data;
	ev->dirty = true;
}

/*
 * Several contests: flagged (precinct, contest) pairs, contest after
 * contest in definition order, each in precinct id order, each entry with
 * its "contest_id"; up to EVENTS_MAX_CONFLICTS in all. Only the contests
 * that have any are looked through.
 */
static json_t *contest_conflict_list(const struct aggregator *a)
{
	const struct tally_totals *t = a->totals;
	const struct tally_election *e = a->election;
	json_t *list = json_array();

	for (size_t ci = 0; list && ci < e->n_contests; ci++) {
		const struct tally_contest *c = &e->contests[ci];
		if (t->contests[ci].national.conflicts == 0)
			continue;
		for (size_t k = 0;
		     k < c->n_precincts && json_array_size(list) < EVENTS_MAX_CONFLICTS; k++) {
			const struct tally_slot_state *st = &t->slots[c->slot_base + k];
			const struct tally_precinct *p = &e->precincts[c->precincts[k]];
			if (st->n_conflicts == 0)
				continue;
			json_t *o = json_pack(
			    "{s:I, s:s, s:s, s:I, s:I}", "precinct_id", (json_int_t)p->id,
			    "region_id", e->regions[p->region].id, "contest_id", c->id, "revision",
			    (json_int_t)st->revision, "copies", (json_int_t)st->n_conflicts);
			if (json_array_append_new(list, o) < 0) {
				json_decref(list);
				return NULL;
			}
		}
	}
	return list;
}

/* Flagged precincts, in precinct id order, up to EVENTS_MAX_CONFLICTS. */
static json_t *conflict_list(const struct aggregator *a)
{
	const struct tally_totals *t = a->totals;
	const struct tally_election *e = a->election;
	json_t *list;

	if (e->n_contests > 1)
		return contest_conflict_list(a);
	list = json_array();
	if (list == NULL || t->contests[0].national.conflicts == 0)
		return list;
	for (size_t i = 0; i < e->n_precincts && json_array_size(list) < EVENTS_MAX_CONFLICTS;
	     i++) {
		const struct tally_slot_state *st = tally_totals_state(t, 0, i);
		if (st->n_conflicts == 0)
			continue;
		json_t *c =
		    json_pack("{s:I, s:s, s:I, s:I}", "precinct_id", (json_int_t)e->precincts[i].id,
		              "region_id", e->regions[e->precincts[i].region].id, "revision",
		              (json_int_t)st->revision, "copies", (json_int_t)st->n_conflicts);
		if (json_array_append_new(list, c) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static void format_ms(uint64_t ms, char *buf, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03uZ", (unsigned)(ms % 1000));
}

static json_t *rejection_list(const struct aggregator *a)
{
	struct agg_rejection r[EVENTS_MAX_REJECTIONS];
	size_t n = aggregator_recent_rejections(a, r, EVENTS_MAX_REJECTIONS);
	json_t *list = json_array();

	for (size_t i = 0; list && i < n; i++) {
		char at[40];
		format_ms(r[i].time_ms, at, sizeof(at));
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "at", at, "region_id",
		                      r[i].region, "precinct_id", (json_int_t)r[i].precinct, "code",
		                      tally_reject_code_str(r[i].code), "reason", r[i].reason);
		/* Several contests: the contest the Submit named ("" if unreadable). */
		if (o && a->election->n_contests > 1 &&
		    json_object_set_new(o, "contest_id", json_string(r[i].contest)) < 0) {
			json_decref(o);
			o = NULL;
		}
		if (json_array_append_new(list, o) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

/*
 * The event for the committed snapshot: its JSON (minus the closing brace
 * and newline) spliced with the constant part and the lists, so the totals
 * are never serialized twice.
 */
static struct http_body *make_event(struct agg_events *ev)
{
	struct aggregator *a = ev->a;
	const struct agg_snapshot *snap = a->snapshot;
	json_t *extra = NULL;
	char *extra_s = NULL, head[64];
	struct http_body *b = NULL;

	/* Conflict flags in a->totals may run ahead of the snapshot while a batch commits. */
	if (ev->conflicts == NULL ||
	    (ev->conflicts_sequence != snap->sequence && a->totals->sequence == snap->sequence)) {
		json_t *c = conflict_list(a);
		if (c != NULL) {
			json_decref(ev->conflicts);
			ev->conflicts = c;
			ev->conflicts_sequence = snap->sequence;
		}
	}
	extra =
	    json_pack("{s:O, s:o, s:b}", "conflicts", ev->conflicts ? ev->conflicts : json_null(),
	              "rejections", rejection_list(a), "degraded", a->degraded);
	if (extra == NULL)
		goto out;
	if (a->degraded &&
	    json_object_set_new(extra, "degraded_reason", json_string(a->degraded_reason)) < 0)
		goto out;
	extra_s = json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (extra_s == NULL)
		goto out;

	size_t len = snap->body->len;
	const char *doc = snap->body->data;
	while (len > 0 && (doc[len - 1] == '\n' || doc[len - 1] == '\r' || doc[len - 1] == ' '))
		len--;
	if (len < 2 || doc[len - 1] != '}')
		goto out;
	len--; /* the closing brace */
	int hn =
	    snprintf(head, sizeof(head), "event: totals\nid: %" PRIu64 "\ndata: ", snap->sequence);
	size_t sn = strlen(ev->static_json), xn = strlen(extra_s);
	/* extra_s is "{...}": its brace becomes a comma, its closing one ends the document. */
	b = http_body_new((size_t)hn + len + sn + xn + 2);
	if (b == NULL)
		goto out;
	char *p = b->data;
	memcpy(p, head, (size_t)hn);
	p += hn;
	memcpy(p, doc, len);
	p += len;
	memcpy(p, ev->static_json, sn);
	p += sn;
	*p++ = ',';
	memcpy(p, extra_s + 1, xn - 1);
	p += xn - 1;
	*p++ = '\n';
	*p++ = '\n';
	b->len = (size_t)(p - b->data);
out:
	free(extra_s);
	json_decref(extra);
	return b;
}

/* Queues body on w; a full queue drops the watcher (http.c closes it). */
static void send_to(struct agg_events *ev, struct watcher *w, struct http_body *body)
{
	int r = http_stream_write_body(w->stream, body);
	if (r == -ENOBUFS) {
		if (!w->dropped) {
			w->dropped = true;
			ev->stats.watchers_dropped++;
			log_info("events: dropped slow watcher %s: its queue is full", w->peer);
		}
	} else if (r == 0) {
		ev->stats.bytes_queued += body->len;
	}
}

/*
 * Makes `current` the event of the committed state if anything changed
 * since it was made. 0, or -ENOMEM (`current` stays as it was).
 */
static int refresh(struct agg_events *ev)
{
	struct aggregator *a = ev->a;

	uint64_t rejects = 0;
	for (size_t i = 0; i < TALLY_REJECT_CODE_COUNT; i++)
		rejects += a->stats.rejects[i];
	/* Commit observers fire only when the sequence moves; these change without it. */
	if (a->degraded != ev->degraded_seen || rejects != ev->rejects_seen) {
		ev->degraded_seen = a->degraded;
		ev->rejects_seen = rejects;
		ev->dirty = true;
	}
	if (!ev->dirty || a->snapshot == NULL || a->snapshot->body == NULL)
		return 0;
	struct http_body *b = make_event(ev);
	if (b == NULL)
		return -ENOMEM;
	ev->dirty = false;
	http_body_unref(ev->current);
	ev->current = b;
	ev->current_sequence = a->snapshot->sequence;
	ev->generation++;
	ev->stats.events_sent++;
	return 0;
}

/* Sends `current` to every watcher that does not have it yet. */
static void broadcast(struct agg_events *ev)
{
	if (refresh(ev) < 0)
		log_warning("events: out of memory building an event, retrying next tick");
	if (ev->current == NULL)
		return;
	bool sent = false;
	for (struct watcher *w = ev->watchers; w != NULL; w = w->next) {
		if (w->generation == ev->generation)
			continue;
		w->generation = ev->generation;
		send_to(ev, w, ev->current);
		sent = true;
	}
	/* An event proves liveness as well as a heartbeat does. */
	if (sent)
		ev->last_heartbeat_ms = uv_now(ev->a->loop);
}

static void heartbeat(struct agg_events *ev)
{
	uint64_t now = uv_now(ev->a->loop);
	char buf[160], at[40];

	if (now - ev->last_heartbeat_ms < EVENTS_HEARTBEAT_MS)
		return;
	ev->last_heartbeat_ms = now;
	if (ev->n_watchers == 0)
		return;
	format_ms(agg_now_ms(), at, sizeof(at));
	/* The comment keeps proxies from timing out; the event lets a browser see it. */
	int n = snprintf(buf, sizeof(buf),
	                 ": keep-alive\nevent: heartbeat\ndata: {\"sequence\":%" PRIu64
	                 ",\"time\":\"%s\"}\n\n",
	                 ev->a->snapshot ? ev->a->snapshot->sequence : 0, at);
	struct http_body *b = http_body_from(buf, (size_t)n);
	if (b == NULL)
		return;
	for (struct watcher *w = ev->watchers; w != NULL; w = w->next)
		send_to(ev, w, b);
	http_body_unref(b);
}

static void on_tick(uv_timer_t *t)
{
	struct agg_events *ev = t->data;
	if (ev->stopping)
		return;
	broadcast(ev);
	heartbeat(ev);
}

static void on_stream_close(struct http_stream *s, void *data)
{
	struct watcher *w = data;
	struct agg_events *ev = w->ev;

	if (w->prev)
		w->prev->next = w->next;
	else
		ev->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	ev->n_watchers--;
	free(w);
	maybe_free(ev);
}

void events_get(struct aggregator *a, struct http_request *req)
{
	struct agg_events *ev = a->events;
	struct watcher *w;

	if (ev == NULL || ev->stopping) {
		http_respond_error(req, 503, "event stream not available");
		return;
	}
	if (ev->n_watchers >= ev->max_watchers) {
		char body[128];
		int n = snprintf(body, sizeof(body),
		                 "{\"error\":\"too many event stream watchers (%zu), retry later\","
		                 "\"status\":503}",
		                 ev->max_watchers);
		ev->stats.watchers_refused++;
		/* A browser's EventSource gives up on 503; the live page retries on its own. */
		http_respond(req, 503, "application/json", "Retry-After: 10\r\n", body, (size_t)n);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_respond_error(req, 503, "out of memory");
		return;
	}
	w->ev = ev;
	snprintf(w->peer, sizeof(w->peer), "%s", http_request_peer(req));
	int r = http_stream_begin(req, 200, "text/event-stream; charset=utf-8",
	                          "X-Accel-Buffering: no\r\n", on_stream_close, w, &w->stream);
	if (r == -EINVAL || r == -EALREADY) {
		free(w); /* no stream was made */
		return;
	}
	/* Otherwise the stream exists, maybe already closing: on_stream_close frees w. */
	w->next = ev->watchers;
	if (w->next)
		w->next->prev = w;
	ev->watchers = w;
	ev->n_watchers++;
	ev->stats.watchers_total++;

	/*
	 * Tell the browser to come back after 2 s, then the current state at
	 * once: a reconnect with Last-Event-ID has missed events, and one
	 * without has nothing to show yet. Both need the whole document, which
	 * every event is, so the id is not even compared.
	 */
	static const char retry[] = "retry: 2000\n\n";
	if (http_stream_write(w->stream, retry, sizeof(retry) - 1) < 0)
		return;
	/*
	 * "Current" is the committed state now, not as of the last tick: a
	 * client that was acknowledged a moment ago must find its result in
	 * the first event. So publish a commit not yet published and rebuild
	 * the event if it is behind (at most once per change, as the tick
	 * would); the other watchers get it at the next tick, coalesced.
	 */
	if (aggregator_snapshot_publish(a) < 0)
		log_warning("events: out of memory refreshing the totals snapshot; a new watcher "
		            "gets sequence %" PRIu64,
		            a->snapshot ? a->snapshot->sequence : 0);
	if (refresh(ev) < 0)
		log_warning("events: out of memory building an event, retrying next tick");
	if (ev->current == NULL)
		return; /* nothing committed to show yet: the tick sends the first */
	w->generation = ev->generation;
	send_to(ev, w, ev->current);
}

void events_get_stats(const struct aggregator *a, struct events_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (a->events == NULL)
		return;
	*ret = a->events->stats;
	ret->watchers = a->events->n_watchers;
}
