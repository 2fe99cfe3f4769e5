/* merkle.c: to be written. */
