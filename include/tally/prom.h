/*
 * prom.h: writing the Prometheus text exposition format 0.0.4, shared by
 * the aggregator's and the node's /metrics: HELP and TYPE lines, label
 * values escaped as the format requires, the process_* metrics read from
 * /proc/self the way Prometheus' client libraries define them, and the
 * expiry of the TLS certificate a daemon presents. Everything writes to a
 * FILE (an open_memstream per scrape); nothing is kept between scrapes.
 */
#ifndef TALLY_PROM_H
#define TALLY_PROM_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>

#define TALLY_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n". help must hold no \ or newline. */
void tally_prom_header(FILE *f, const char *name, const char *type, const char *help);

/* A label value in double quotes, with \, " and newline escaped. */
void tally_prom_label(FILE *f, const char *value);

/* One family of one unlabelled sample: header, then "name v". */
void tally_prom_u64(FILE *f, const char *name, const char *type, const char *help, uint64_t v);

/*
 * process_cpu_seconds_total, process_start_time_seconds,
 * process_virtual_memory_bytes, process_resident_memory_bytes,
 * process_open_fds, process_max_fds. A figure /proc does not give is left
 * out.
 */
void tally_prom_process(FILE *f);

/*
 * tally_tls_certificate_expiry_timestamp_seconds: when the certificate ctx
 * presents expires. Left out if ctx has none.
 */
void tally_prom_tls_expiry(FILE *f, const SSL_CTX *ctx);

#endif
