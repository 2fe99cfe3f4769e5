/*
 * problems.h: the node's last problems (connection failures, rejected files,
 * Nacks, an outbox that cannot be read or written), kept next to the logs
 * for `tallyctl status`. A leaf: the modules that meet a problem (uplink,
 * spool, control) write here, status.c reads; it depends on neither.
 */
#ifndef TALLY_NODE_PROBLEMS_H
#define TALLY_NODE_PROBLEMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/result.h"

#define PROBLEMS_MAX 10

struct problem {
	int64_t at_ms;  /* wall clock, of the latest occurrence */
	unsigned count; /* the same problem again and again is held once */
	char source[16];
	char text[TALLY_REASON_MAX + 128];
};

/* A ring of the latest problems. Zero-initialize; owns nothing. */
struct problems {
	struct problem ring[PROBLEMS_MAX];
	size_t n;    /* how many are held, <= PROBLEMS_MAX */
	size_t next; /* where the next one goes */
};

/*
 * Records a problem (does not log it: the caller logs with more context). The
 * same source and text as the latest problem only counts it again.
 */
void problems_add(struct problems *p, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The held problems as a JSON array of {"at", "source", "text", "count"},
 * newest first; text that is not UTF-8 is shown as ASCII. NULL on ENOMEM.
 */
json_t *problems_json(const struct problems *p);

#endif
