/*
 * aggregator.c: small services on the daemon's shared state that several
 * files need: the committed totals snapshot (rebuilt lazily: a commit only
 * marks it stale, a reader or ingest's timer rebuilds it), commit
 * observers, the STATUS line, trusted key references, clocks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator.h"
#include "tally/http.h"
#include "tally/log.h"
#include "tally/notify.h"
#include "tally/sign.h"
#include "tally/totals_json.h"

uint64_t agg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct agg_keys *agg_keys_ref(struct agg_keys *k)
{
	k->refs++;
	return k;
}

void agg_keys_unref(struct agg_keys *k)
{
	if (!k || --k->refs > 0)
		return;
	tally_keyring_free(k->ring);
	free(k);
}

int aggregator_region_index(const struct aggregator *a, const char *region_id)
{
	int i = tally_election_region_index(a->election, region_id);
	return i < 0 ? -1 : i;
}

int aggregator_on_commit(struct aggregator *a, agg_commit_cb cb, void *data)
{
	if (a->n_observers == AGG_MAX_OBSERVERS)
		return -ENOSPC;
	a->observers[a->n_observers].cb = cb;
	a->observers[a->n_observers].data = data;
	a->n_observers++;
	return 0;
}

void aggregator_notify_commit(struct aggregator *a, const struct agg_commit *c)
{
	for (size_t i = 0; i < a->n_observers; i++)
		a->observers[i].cb(a, c, a->observers[i].data);
}

static void snapshot_free(struct agg_snapshot *s)
{
	if (!s)
		return;
	http_body_unref(s->body);
	free(s);
}

void agg_format_time(uint64_t ms, char *buf, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03uZ", (unsigned)(ms % 1000));
}

int aggregator_snapshot_refresh(struct aggregator *a)
{
	json_t *doc = NULL;
	char *text = NULL;
	struct agg_snapshot *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;
	char as_of[40];
	if (!s)
		goto fail;
	s->as_of_ms = agg_now_ms();
	s->sequence = a->totals->sequence;
	agg_format_time(s->as_of_ms, as_of, sizeof(as_of));
	if (tally_totals_to_json_at(a->totals, as_of, &doc) < 0)
		goto fail;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	if (!text)
		goto fail;
	size_t len = strlen(text);
	s->body = http_body_new(len + 1);
	if (!s->body)
		goto fail;
	memcpy(s->body->data, text, len);
	s->body->data[len] = '\n';
	tally_totals_digest(a->totals, s->digest);
	tally_sha256((const uint8_t *)s->body->data, s->body->len, s->body_sha256);
	snapshot_free(a->snapshot);
	a->snapshot = s;
	s = NULL;
	r = 0;
fail:
	free(text);
	json_decref(doc);
	snapshot_free(s);
	return r;
}

void aggregator_snapshot_mark(struct aggregator *a, const struct agg_commit *c)
{
	struct agg_commit *u = &a->unpublished;
	if (!a->snapshot_dirty) {
		*u = *c;
		a->snapshot_dirty = true;
		return;
	}
	/* previous_sequence stays that of the first unpublished batch. */
	u->sequence = c->sequence;
	u->n_submissions += c->n_submissions;
	u->n_rejected += c->n_rejected;
	u->n_logged = u->sequence - u->previous_sequence;
}

int aggregator_snapshot_publish(struct aggregator *a)
{
	if (!a->snapshot_dirty)
		return 0;
	/* After a failed commit the totals may hold what the store refused. */
	if (a->out_of_step)
		return 0;
	/* Someone else (follow.c) may have published this sequence already. */
	if (!a->snapshot || a->snapshot->sequence != a->totals->sequence) {
		int r = aggregator_snapshot_refresh(a);
		if (r < 0)
			return r;
	}
	struct agg_commit c = a->unpublished;
	c.sequence = a->totals->sequence;
	c.n_logged = c.sequence - c.previous_sequence;
	a->snapshot_dirty = false;
	memset(&a->unpublished, 0, sizeof(a->unpublished));
	aggregator_notify_commit(a, &c);
	return 0;
}

void aggregator_snapshot_free(struct aggregator *a)
{
	snapshot_free(a->snapshot);
	a->snapshot = NULL;
}

void aggregator_status(struct aggregator *a)
{
	/* With several contests a precinct is in once every contest it votes
	 * in is, and conflicts count flagged (precinct, contest) pairs. */
	uint32_t total, reported, conflicts = tally_totals_conflicts(a->totals, SIZE_MAX);
	uint32_t sessions = 0;
	tally_totals_precincts(a->totals, SIZE_MAX, &total, &reported);
	for (size_t i = 0; i < a->election->n_regions; i++)
		sessions += a->stats.sessions_by_region[i];
	if (a->degraded)
		tally_notifyf("STATUS=NOT ACKNOWLEDGING: %s; %" PRIu32 "/%" PRIu32
		              " precincts, %" PRIu32 " conflicts, %" PRIu32 " sessions",
		              a->degraded_reason, reported, total, conflicts, sessions);
	else
		tally_notifyf("STATUS=%" PRIu32 "/%" PRIu32 " precincts, %" PRIu32
		              " conflicts, %" PRIu32 " sessions",
		              reported, total, conflicts, sessions);
}
