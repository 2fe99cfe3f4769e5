/*
 * cmd_watch.c: `tallyctl watch --url URL`, follows the aggregator's event
 * stream (GET /v1/events, Server-Sent Events) and redraws the totals table
 * on each "totals" event. It owns the SSE parsing (the WHATWG "event stream
 * interpretation": fields event, data, id; comments and retry ignored) and
 * the reconnect loop, which resumes with Last-Event-ID so the aggregator
 * answers with the current state at once. Ctrl-C ends it (the default
 * SIGINT action: nothing here needs cleaning up).
 *
 * An aggregator that publishes the election's shape (GET /v1/election) and
 * counts several contests sends the totals of every contest in each event:
 * the summary of every contest is drawn from it and GET /v1/contests, or
 * with --contest that contest's figures are fetched (GET
 * /v1/contests/{id}) each time an event says the count moved. One that
 * answers 404 there, or counts one contest, gets today's table.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "http_client.h"
#include "tally/result.h"
#include "totals_table.h"

/* An event bigger than this is a broken or hostile server. */
#define EVENT_MAX   (16u * 1024 * 1024)
#define RETRY_MAX_S 30
#define TIMEOUT_MS  15000

struct watch {
	const char *url;
	const char *contest; /* --contest, or NULL */
	const char *lang;
	json_t *election; /* GET /v1/election once known; NULL from an aggregator without it */
	bool shape_known; /* /v1/election was asked */
	bool tty;
	long remaining; /* updates left before exiting; -1 = forever */
	char last_id[64];
	/* The line being read and the event being assembled. */
	char *line;
	size_t line_len, line_cap;
	char event[64];
	char *data;
	size_t data_len, data_cap;
	bool got_event;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tallyctl watch --url URL [--contest ID] [--lang kk|ru|en] [--count N]\n"
	           "  --url URL       the aggregator's publication address, e.g. "
	           "http://127.0.0.1:8080\n"
	           "  --contest ID    follow one contest of a general election (without it, a\n"
	           "                  summary of every contest)\n"
	           "  --lang LANG     names in kk, ru or en (default: from LC_ALL, LC_MESSAGES or\n"
	           "                  LANG; English otherwise); the table's own words are English\n"
	           "  --count N       exit after N updates (default: until Ctrl-C)\n");
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > EVENT_MAX)
		return -EMSGSIZE;
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n + 1)
			c *= 2;
		char *p = realloc(*buf, c);
		if (p == NULL)
			return -ENOMEM;
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Whether the election's contests are drawn (several, or --contest), not today's table. */
static bool contests_view(const struct watch *w)
{
	return w->election != NULL &&
	       (w->contest != NULL ||
	        json_array_size(json_object_get(w->election, "contests")) > 1);
}

/* GET path as JSON; on failure NULL, with a line saying why in the output. */
static json_t *fetch(const struct watch *w, const char *path)
{
	struct tally_err err = {{0}};
	json_t *doc = NULL;
	int status = 0, r;

	r = cli_get_json(w->url, path, TIMEOUT_MS, &doc, &status, &err);
	if (r < 0)
		fprintf(stdout, "(could not fetch %s: %s)\n", path, err.msg);
	else if (r > 0)
		fprintf(stdout, "(%s%s answered HTTP %d)\n", w->url, path, status);
	return doc;
}

/* The contest asked for, or the summary of every contest with the event's decisions. */
static void draw_contests(struct watch *w, json_t *event)
{
	json_t *doc;

	if (w->contest != NULL) {
		char path[TALLY_ID_MAX * 3 + 16] = "/v1/contests/";

		cli_path_escape(w->contest, path + strlen(path), sizeof(path) - strlen(path));
		doc = fetch(w, path);
		if (doc != NULL &&
		    totals_table_print_contest(w->election, doc, w->lang, stdout) < 0)
			fprintf(stdout, "(%s has no \"contest\" or \"national\")\n", path);
	} else {
		doc = fetch(w, "/v1/contests");
		if (doc != NULL &&
		    totals_table_print_summary(w->election, doc, event, w->lang, stdout) < 0)
			fprintf(stdout, "(/v1/contests has no \"contests\" list)\n");
	}
	json_decref(doc);
}

/*
 * Asks once for the election's shape. 0 when known (a 404 means an
 * aggregator of one referendum), 2 when --contest names no contest of it
 * (said on stderr), or the request's negative error (err says why) to try
 * again later.
 */
static int learn_shape(struct watch *w, struct tally_err *err)
{
	json_t *list, *c;
	int status = 0, r;
	size_t i;

	if (w->shape_known)
		return 0;
	r = cli_get_json(w->url, "/v1/election", TIMEOUT_MS, &w->election, &status, err);
	if (r < 0)
		return r;
	if (r > 0 && status != 404)
		return tally_err_set(err, -EPROTO, "%s/v1/election answered HTTP %d", w->url,
		                     status);
	w->shape_known = true;
	if (w->contest == NULL)
		return 0;
	if (w->election == NULL) {
		if (strcmp(w->contest, "referendum") == 0)
			return 0;
		fprintf(stderr,
		        "tallyctl watch: %s counts one referendum (no /v1/election); it has no "
		        "contest '%s'\n",
		        w->url, w->contest);
		return 2;
	}
	list = json_object_get(w->election, "contests");
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));

		if (id != NULL && strcmp(id, w->contest) == 0)
			return 0;
	}
	fprintf(stderr, "tallyctl watch: election '%s' has no contest '%s'; its contests:",
	        json_string_value(json_object_get(w->election, "election_id")), w->contest);
	json_array_foreach(list, i, c)
	{
		fprintf(stderr, "%s %s", i ? "," : "", json_string_value(json_object_get(c, "id")));
	}
	fputc('\n', stderr);
	return 2;
}

static void redraw(struct watch *w, json_t *doc)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	if (w->tty)
		fputs("\033[H\033[2J", stdout); /* home, clear screen */
	if (contests_view(w))
		draw_contests(w, doc);
	else if (totals_table_print(doc, w->lang, stdout) < 0)
		fprintf(stdout, "(event without \"national\" figures)\n");
	fprintf(stdout, "\nWatching %s: event %s received %s. Ctrl-C to stop.\n", w->url,
	        w->last_id[0] ? w->last_id : "-", when);
	if (!w->tty)
		fputs("----\n", stdout);
	fflush(stdout);
}

/* A blank line ends an event: act on it, then forget it. Returns 1 to stop. */
static int dispatch(struct watch *w)
{
	int stop = 0;

	if (w->got_event && w->data_len > 0 &&
	    (w->event[0] == '\0' || strcmp(w->event, "totals") == 0)) {
		json_error_t jerr;
		/* The data lines were joined with '\n'; the last one is not part of it. */
		json_t *doc = json_loadb(w->data, w->data_len - 1, 0, &jerr);
		if (doc == NULL) {
			fprintf(stderr, "tallyctl watch: event %s is not JSON: %s\n",
			        w->last_id[0] ? w->last_id : "-", jerr.text);
		} else {
			redraw(w, doc);
			json_decref(doc);
			if (w->remaining > 0 && --w->remaining == 0)
				stop = 1;
		}
	}
	w->event[0] = '\0';
	w->data_len = 0;
	w->got_event = false;
	return stop;
}

static int field(struct watch *w, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t value_len = len - (size_t)(value - line);

	if (value_len > 0 && value[0] == ' ') {
		value++;
		value_len--;
	}
	if (name_len == 0)
		return 0; /* a comment, e.g. the keep-alive */
	w->got_event = true;
	if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		snprintf(w->event, sizeof(w->event), "%.*s", (int)value_len, value);
	} else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		int r = append(&w->data, &w->data_len, &w->data_cap, value, value_len);
		if (r == 0)
			r = append(&w->data, &w->data_len, &w->data_cap, "\n", 1);
		if (r < 0)
			return r;
	} else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
		if (value_len < sizeof(w->last_id) && memchr(value, '\0', value_len) == NULL)
			snprintf(w->last_id, sizeof(w->last_id), "%.*s", (int)value_len, value);
	}
	return 0;
}

static int on_chunk(const char *data, size_t len, void *arg)
{
	struct watch *w = arg;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			int r = append(&w->line, &w->line_len, &w->line_cap, &data[i], 1);
			if (r < 0) {
				fprintf(stderr, "tallyctl watch: event line over %u bytes\n",
				        EVENT_MAX);
				return r;
			}
			continue;
		}
		size_t n = w->line_len;
		if (n > 0 && w->line[n - 1] == '\r')
			n--;
		int r = n == 0 ? dispatch(w) : field(w, w->line, n);
		w->line_len = 0;
		if (r != 0)
			return r;
	}
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},  {"contest", required_argument, NULL, 'c'},
	    {"lang", required_argument, NULL, 'l'}, {"count", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	struct watch w = {.remaining = -1};
	const char *lang_arg = NULL;
	unsigned delay = 1;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "u:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			w.url = optarg;
			break;
		case 'c':
			w.contest = optarg;
			break;
		case 'l':
			lang_arg = optarg;
			break;
		case 'n': {
			char *end;
			w.remaining = strtol(optarg, &end, 10);
			if (*end != '\0' || w.remaining <= 0) {
				fprintf(
				    stderr,
				    "tallyctl watch: --count wants a positive number, not '%s'\n",
				    optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (w.url == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cli_lang(lang_arg, &w.lang) < 0) {
		fprintf(stderr, "tallyctl watch: --lang '%s': names come in kk, ru or en\n",
		        lang_arg);
		return 2;
	}
	w.tty = isatty(STDOUT_FILENO);

	for (;;) {
		struct tally_err err = {{0}};
		long before = w.remaining;
		char id_before[sizeof(w.last_id)];

		memcpy(id_before, w.last_id, sizeof(id_before));
		int r = learn_shape(&w, &err);
		if (r == 2)
			break;
		if (r == 0)
			r = http_stream(w.url, "/v1/events", w.last_id[0] ? w.last_id : NULL,
			                on_chunk, &w, &err);
		if (r > 0) {
			rc = 0; /* --count reached */
			break;
		}
		if (r == -EINVAL) {
			fprintf(stderr, "tallyctl watch: %s\n", err.msg);
			break;
		}
		if (r == -EMSGSIZE || r == -ENOMEM)
			break;
		/* A stream that delivered something earns a quick reconnect. */
		if (w.remaining != before || strcmp(id_before, w.last_id) != 0)
			delay = 1;
		fprintf(stderr, "tallyctl watch: %s; reconnecting in %u s\n",
		        r < 0 ? err.msg : "the aggregator closed the stream", delay);
		/* A half-read line or event from the old connection means nothing now. */
		w.line_len = 0;
		w.data_len = 0;
		w.event[0] = '\0';
		w.got_event = false;
		sleep(delay);
		delay = delay * 2 > RETRY_MAX_S ? RETRY_MAX_S : delay * 2;
	}
	free(w.line);
	free(w.data);
	json_decref(w.election);
	return rc;
}
