/* http_client.c: to be written. */
