/* election.c: to be written. */
