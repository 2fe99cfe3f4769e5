/*
 * prom.c: the Prometheus text format helpers of prom.h. The daemons decide
 * what to count and name; this file owns the syntax (escaping, HELP and
 * TYPE lines) and the figures every daemon exports alike: the process's
 * from /proc, and its certificate's expiry.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tally/prom.h"
#include "tally/tls.h"

void tally_prom_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void tally_prom_header(FILE *f, const char *name, const char *type, const char *help)
{
	/* HELP text escapes only \ and newline; ours are constants without either. */
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void tally_prom_u64(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	tally_prom_header(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* Fields 14, 15 (utime, stime) and 22 (starttime) of /proc/self/stat, in ticks. */
static int proc_stat(unsigned long long *utime, unsigned long long *stime,
                     unsigned long long *start)
{
	char buf[1024];
	FILE *p = fopen("/proc/self/stat", "re");
	if (p == NULL)
		return -errno;
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	fclose(p);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields count from the last ')'. */
	char *s = strrchr(buf, ')');
	if (s == NULL)
		return -EINVAL;
	if (sscanf(s + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
	           "%llu",
	           utime, stime, start) != 3)
		return -EINVAL;
	return 0;
}

/*
 * When the system booted, in seconds since 1970: the wall clock less the
 * time since boot. Not /proc/stat's btime, which the units' ProcSubset=pid
 * hides.
 */
static double boot_time(void)
{
	struct timespec real, boot;

	if (clock_gettime(CLOCK_REALTIME, &real) < 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
		return -1;
	return (double)(real.tv_sec - boot.tv_sec) + (double)(real.tv_nsec - boot.tv_nsec) / 1e9;
}

void tally_prom_process(FILE *f)
{
	unsigned long long ut, st, start;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;

	if (proc_stat(&ut, &st, &start) == 0 && tck > 0) {
		tally_prom_header(f, "process_cpu_seconds_total", "counter",
		                  "Total user and system CPU time spent in seconds.");
		fprintf(f, "process_cpu_seconds_total %.2f\n", (double)(ut + st) / (double)tck);
		double bt = boot_time();
		if (bt > 0) {
			tally_prom_header(f, "process_start_time_seconds", "gauge",
			                  "Start time of the process since unix epoch in seconds.");
			fprintf(f, "process_start_time_seconds %.2f\n",
			        bt + (double)start / (double)tck);
		}
	}
	FILE *m = fopen("/proc/self/statm", "re");
	if (m != NULL) {
		unsigned long long vsz, rss;
		if (fscanf(m, "%llu %llu", &vsz, &rss) == 2 && page > 0) {
			tally_prom_u64(f, "process_virtual_memory_bytes", "gauge",
			               "Virtual memory size in bytes.",
			               vsz * (unsigned long long)page);
			tally_prom_u64(f, "process_resident_memory_bytes", "gauge",
			               "Resident memory size in bytes.",
			               rss * (unsigned long long)page);
		}
		fclose(m);
	}
	DIR *d = opendir("/proc/self/fd");
	if (d != NULL) {
		uint64_t n = 0;
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		/* Less the descriptor of the listing itself. */
		tally_prom_u64(f, "process_open_fds", "gauge", "Number of open file descriptors.",
		               n > 0 ? n - 1 : 0);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		tally_prom_u64(f, "process_max_fds", "gauge",
		               "Maximum number of open file descriptors.", (uint64_t)rl.rlim_cur);
}

void tally_prom_tls_expiry(FILE *f, const SSL_CTX *ctx)
{
	int64_t t;

	if (ctx == NULL || tally_tls_ctx_not_after(ctx, &t) < 0)
		return;
	tally_prom_header(f, "tally_tls_certificate_expiry_timestamp_seconds", "gauge",
	                  "When the TLS certificate this daemon presents expires (notAfter), in "
	                  "seconds since 1970.");
	fprintf(f, "tally_tls_certificate_expiry_timestamp_seconds %" PRId64 "\n", t);
}
