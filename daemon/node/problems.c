/*
 * problems.c: the ring of the node's last problems (see problems.h). It
 * formats and keeps them; logging them is the caller's, showing them is
 * status.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "problems.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void problems_add(struct problems *s, const char *source, const char *fmt, ...)
{
	struct problem p, *last;
	va_list ap;

	p.at_ms = now_ms();
	p.count = 1;
	snprintf(p.source, sizeof(p.source), "%s", source);
	va_start(ap, fmt);
	vsnprintf(p.text, sizeof(p.text), fmt, ap);
	va_end(ap);
	/* A dead aggregator refuses every retry: keep one line, counted. */
	last = &s->ring[(s->next + PROBLEMS_MAX - 1) % PROBLEMS_MAX];
	if (s->n > 0 && strcmp(last->source, p.source) == 0 && strcmp(last->text, p.text) == 0) {
		last->at_ms = p.at_ms;
		last->count++;
		return;
	}
	s->ring[s->next] = p;
	s->next = (s->next + 1) % PROBLEMS_MAX;
	if (s->n < PROBLEMS_MAX)
		s->n++;
}

static void iso_time(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *problems_json(const struct problems *s)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = (s->next + PROBLEMS_MAX - 1 - i) % PROBLEMS_MAX;
		const struct problem *p = &s->ring[k];
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
