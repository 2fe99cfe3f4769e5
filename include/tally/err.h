/*
 * err.h: a human-readable error message carried out of a loader or parser.
 * Library code fills it and returns a negative errno; the caller decides
 * whether and how to log it.
 */
#ifndef TALLY_ERR_H
#define TALLY_ERR_H

#define TALLY_ERR_MAX 512

struct tally_err {
	char msg[TALLY_ERR_MAX];
};

/* printf into err->msg (truncating); takes err == NULL. Returns `code`. */
int tally_err_set(struct tally_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
