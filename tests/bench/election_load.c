/*
 * election_load.c: loads one election definition with tally_election_load()
 * and prints what the load cost, for docs/benchmarks.md ("Definition load").
 * Run it under /usr/bin/time -v for the process's peak RSS; it prints its own
 * figures as `name value` lines: the load's wall and CPU seconds, the
 * resident set right after the load (VmRSS, with the parser's garbage still
 * in the heap) and after malloc_trim (what a daemon keeps), and VmHWM.
 *
 *   election_load FILE [ROUNDS]
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tally/election.h"

static double seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "VmRSS:" or "VmHWM:" figure of this process, in kB, or -1. */
static long status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, n) == 0) {
			kb = strtol(line + n, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	struct tally_election *e = NULL;
	struct tally_err err = {{0}};
	int rounds = argc > 2 ? atoi(argv[2]) : 1;
	double wall, cpu, best_wall = 1e9, best_cpu = 1e9;
	int rc;

	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: election_load FILE [ROUNDS]\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		e = tally_election_free(e);
		wall = seconds(CLOCK_MONOTONIC);
		cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
		rc = tally_election_load(argv[1], &e, &err);
		wall = seconds(CLOCK_MONOTONIC) - wall;
		cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu;
		if (rc < 0) {
			fprintf(stderr, "election_load: %s\n", err.msg);
			return 1;
		}
		if (wall < best_wall)
			best_wall = wall;
		if (cpu < best_cpu)
			best_cpu = cpu;
	}
	printf("precincts %zu\n", e->n_precincts);
	printf("regions %zu\n", e->n_regions);
	printf("registered %" PRIu64 "\n", e->registered);
	printf("load_wall_s %.3f\n", best_wall);
	printf("load_cpu_s %.3f\n", best_cpu);
	printf("rss_after_load_kb %ld\n", status_kb("VmRSS:"));
	malloc_trim(0);
	printf("rss_after_trim_kb %ld\n", status_kb("VmRSS:"));
	printf("hwm_kb %ld\n", status_kb("VmHWM:"));
	tally_election_free(e);
	return 0;
}
