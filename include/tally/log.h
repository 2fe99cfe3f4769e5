/*
 * log.h: daemon logging to stderr with a "<N>" syslog priority prefix per
 * line, so journald keeps the levels. Used by daemon code only; library
 * code in daemon/common returns codes and leaves logging to its caller.
 * Values that came from outside are quoted by the caller.
 */
#ifndef TALLY_LOG_H
#define TALLY_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum tally_log_level {
	TALLY_LOG_ERR = 3,
	TALLY_LOG_WARNING = 4,
	TALLY_LOG_NOTICE = 5,
	TALLY_LOG_INFO = 6,
	TALLY_LOG_DEBUG = 7,
};

/* Messages above `level` are dropped. Default TALLY_LOG_INFO. */
void tally_log_set_level(enum tally_log_level level);
enum tally_log_level tally_log_get_level(void);
/* "err", "warning", "notice", "info", "debug" -> level; -EINVAL otherwise. */
int tally_log_level_parse(const char *s, enum tally_log_level *ret);

/*
 * Writes one line "<level>message" to stderr unless level is above the set
 * one. Newlines inside the message become spaces (one message, one journal
 * entry); a message too long for a line is cut. Keeps errno.
 */
void tally_log(enum tally_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)     tally_log(TALLY_LOG_ERR, __VA_ARGS__)
#define log_warning(...) tally_log(TALLY_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  tally_log(TALLY_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    tally_log(TALLY_LOG_INFO, __VA_ARGS__)
#define log_debug(...)   tally_log(TALLY_LOG_DEBUG, __VA_ARGS__)

/*
 * A budget of lines per second for messages an outsider can cause at will
 * (a node sending bad results in a loop must not flood the journal): the
 * first `burst` in each one-second window pass, the rest are counted.
 * Pure (the caller gives the time); zero-initialize it.
 */
struct tally_log_limit {
	uint64_t window_ms; /* start of the current window */
	uint32_t passed;    /* lines passed in it */
	uint64_t held;      /* lines held back since the last report */
};
/*
 * True if a line may be written at now_ms. *ret_held is set to the lines
 * held back before this one that were not reported yet (0 most of the
 * time): the caller says so in a line of its own, then they count as
 * reported.
 */
bool tally_log_limit_pass(struct tally_log_limit *l, uint64_t now_ms, uint32_t burst,
                          uint64_t *ret_held);

/* Logs at TALLY_LOG_ERR and exits 1. For start-up only. */
void tally_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
