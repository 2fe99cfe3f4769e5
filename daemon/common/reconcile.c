/* reconcile.c: to be written. */
