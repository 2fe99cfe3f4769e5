/*
 * log.c: daemon logging to stderr. Each message becomes exactly one line
 * with a "<N>" syslog priority prefix (sd-daemon(3)), so journald and
 * systemd keep the level without a syslog connection. The line is built in
 * one buffer and written with one write(2), so lines from different
 * threads (uv work threads) do not interleave. Library code does not call
 * this; the daemons do, with context.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tally/log.h"

#define LOG_LINE_MAX 4096

static enum tally_log_level log_level = TALLY_LOG_INFO;

void tally_log_set_level(enum tally_log_level level)
{
	log_level = level;
}

enum tally_log_level tally_log_get_level(void)
{
	return log_level;
}

int tally_log_level_parse(const char *s, enum tally_log_level *ret)
{
	static const struct {
		const char *name;
		enum tally_log_level level;
	} names[] = {
	    {"err", TALLY_LOG_ERR},   {"warning", TALLY_LOG_WARNING}, {"notice", TALLY_LOG_NOTICE},
	    {"info", TALLY_LOG_INFO}, {"debug", TALLY_LOG_DEBUG},
	};

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*ret = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_line(enum tally_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void log_line(enum tally_log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, prefix;

	prefix = snprintf(line, sizeof(line), "<%d>", (int)level);
	n = vsnprintf(line + prefix, sizeof(line) - (size_t)prefix - 1, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - (size_t)prefix - 2)
		n = (int)(sizeof(line) - (size_t)prefix - 2);
	n += prefix;
	/*
	 * One message is one journal entry: a newline inside it (say, from a
	 * peer's reason string) would start a new entry without a priority.
	 */
	for (int i = prefix; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	line[n++] = '\n';

	ssize_t off = 0;
	while (off < n) {
		ssize_t w = write(STDERR_FILENO, line + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
}

void tally_log(enum tally_log_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_line(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

bool tally_log_limit_pass(struct tally_log_limit *l, uint64_t now_ms, uint32_t burst,
                          uint64_t *ret_held)
{
	*ret_held = 0;
	if (now_ms < l->window_ms || now_ms - l->window_ms >= 1000) {
		l->window_ms = now_ms;
		l->passed = 0;
	}
	if (l->passed >= burst) {
		l->held++;
		return false;
	}
	l->passed++;
	*ret_held = l->held;
	l->held = 0;
	return true;
}

void tally_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(TALLY_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
