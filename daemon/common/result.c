/* result.c: to be written. */
