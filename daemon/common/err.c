/*
 * err.c: fills a struct tally_err with a message for a person. Loaders and
 * parsers use it to say what went wrong and where; they never log, so the
 * caller chooses the level and adds its own context.
 */
#include <stdarg.h>
#include <stdio.h>

#include "tally/err.h"

int tally_err_set(struct tally_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	/* vsnprintf truncates and always terminates: a long path cannot overflow. */
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
