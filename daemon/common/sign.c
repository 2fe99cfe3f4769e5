/* sign.c: to be written. */
