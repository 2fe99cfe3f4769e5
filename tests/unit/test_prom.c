/*
 * Tests for the Prometheus text format helpers (daemon/common/prom.c): label
 * values escaped exactly as the format requires, HELP and TYPE lines, the
 * process_* metrics read from /proc, and the certificate expiry line left
 * out when there is no certificate.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tally/prom.h"

/* What fn wrote, NUL-terminated; the caller frees. */
#define CAPTURE(text, call)                                                                        \
	do {                                                                                       \
		size_t len_ = 0;                                                                   \
		FILE *f = open_memstream(&(text), &len_);                                          \
		cr_assert_not_null(f);                                                             \
		call;                                                                              \
		cr_assert_eq(fclose(f), 0);                                                        \
	} while (0)

Test(prom, label_values_escape_backslash_quote_and_newline)
{
	char *text = NULL;

	CAPTURE(text, tally_prom_label(f, "a\\b\"c\nd é"));
	cr_assert_str_eq(text, "\"a\\\\b\\\"c\\nd é\"");
	free(text);
	CAPTURE(text, tally_prom_label(f, ""));
	cr_assert_str_eq(text, "\"\"");
	free(text);
}

Test(prom, a_family_has_help_type_and_its_sample)
{
	char *text = NULL;

	CAPTURE(text, tally_prom_u64(f, "tally_x_total", "counter", "Things seen.",
	                             18446744073709551615ull));
	cr_assert_str_eq(text, "# HELP tally_x_total Things seen.\n"
	                       "# TYPE tally_x_total counter\n"
	                       "tally_x_total 18446744073709551615\n");
	free(text);
}

static double sample(const char *text, const char *name)
{
	char want[128];
	const char *p = text;

	snprintf(want, sizeof(want), "\n%s ", name);
	p = strstr(text, want);
	cr_assert_not_null(p, "%s missing from:\n%s", name, text);
	return strtod(p + strlen(want), NULL);
}

static double proc_start_time(void)
{
	char buf[1024], line[256], *s;
	long long btime = -1;
	unsigned long long start = 0;
	FILE *p = fopen("/proc/stat", "re");

	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(p);
	p = fopen("/proc/self/stat", "re");
	cr_assert_not_null(p);
	buf[fread(buf, 1, sizeof(buf) - 1, p)] = '\0';
	fclose(p);
	s = strrchr(buf, ')');
	cr_assert_not_null(s);
	/* Field 22 starts after the 20th space from the command name's end. */
	for (int field = 3; field <= 22; field++) {
		s = strchr(s + 1, ' ');
		cr_assert_not_null(s);
	}
	start = strtoull(s + 1, NULL, 10);
	return (double)btime + (double)start / (double)sysconf(_SC_CLK_TCK);
}

Test(prom, process_metrics_describe_this_process)
{
	char *text = NULL;
	FILE *fd_probe = fopen("/proc/self/stat", "re"); /* one more open descriptor */

	CAPTURE(text, tally_prom_process(f));
	cr_assert_not_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
	cr_assert_not_null(strstr(text, "# TYPE process_start_time_seconds gauge\n"));
	double start = sample(text, "process_start_time_seconds");
	cr_assert(start > (double)time(NULL) - 3600 && start <= (double)time(NULL) + 1, "%f",
	          start);
	cr_assert(sample(text, "process_resident_memory_bytes") > 1 << 20);
	cr_assert(sample(text, "process_virtual_memory_bytes") >=
	          sample(text, "process_resident_memory_bytes"));
	cr_assert(sample(text, "process_open_fds") >= 4); /* stdio and the probe */
	cr_assert(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
	cr_assert(sample(text, "process_cpu_seconds_total") >= 0);
	/* The same instant as /proc/stat's boot time plus field 22 of
	 * /proc/self/stat, the way Prometheus' client libraries compute it. */
	cr_assert(fabs(start - proc_start_time()) < 1.0, "%f vs %f", start, proc_start_time());
	fclose(fd_probe);
	free(text);
}

Test(prom, no_certificate_no_expiry_line)
{
	char *text = NULL;
	SSL_CTX *bare = SSL_CTX_new(TLS_method());

	CAPTURE(text, tally_prom_tls_expiry(f, bare));
	cr_assert_str_eq(text, "");
	free(text);
	CAPTURE(text, tally_prom_tls_expiry(f, NULL));
	cr_assert_str_eq(text, "");
	free(text);
	SSL_CTX_free(bare);
}
