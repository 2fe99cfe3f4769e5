/* frame.c: to be written. */
