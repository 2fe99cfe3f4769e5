/* totals.c: to be written. */
