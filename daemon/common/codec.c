/* codec.c: to be written. */
