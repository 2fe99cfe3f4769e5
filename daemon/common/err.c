/* err.c: to be written. */
