/* keyring.c: to be written. */
