/*
 * totals_mem.c: what the running totals of a general election cost, for
 * docs/benchmarks.md. It builds an election in memory (no definition file,
 * so the loader's parse tree does not blur the figures): PRECINCTS
 * precincts in 20 regions, one national contest per OPTIONS argument with
 * that many options, every precinct in 100 districts of equal size. Then
 * it creates the totals, applies one result to every slot, corrects one
 * slot in ten and adds a conflicting copy to one in a thousand, and prints
 * `name value` lines: the resident set of the process at each point (kB),
 * the bytes per slot of the state and of the counted figures, and the
 * apply time per slot.
 *
 *   totals_mem [PRECINCTS [OPTIONS...]]      (default: 1000000 7 10 2 6 5 3)
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tally/totals.h"

#define REGIONS   20
#define DISTRICTS 100

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

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL) {
		fprintf(stderr, "totals_mem: out of memory\n");
		exit(1);
	}
	return p;
}

static struct tally_election *build(size_t n_precincts, size_t n_contests, const size_t *options)
{
	struct tally_election *e = xcalloc(1, sizeof(*e));
	size_t per_region = n_precincts / REGIONS, per_district = n_precincts / DISTRICTS;

	snprintf(e->election_id, sizeof(e->election_id), "bench");
	e->n_precincts = per_region * REGIONS;
	e->precincts = xcalloc(e->n_precincts, sizeof(*e->precincts));
	e->n_regions = REGIONS;
	e->regions = xcalloc(REGIONS, sizeof(*e->regions));
	for (size_t r = 0; r < REGIONS; r++) {
		struct tally_region *reg = &e->regions[r];
		snprintf(reg->id, sizeof(reg->id), "KZ-%02zu", r + 10);
		reg->n_precincts = per_region;
		reg->precincts = xcalloc(per_region, sizeof(uint32_t));
		for (size_t k = 0; k < per_region; k++) {
			size_t i = r * per_region + k;
			e->precincts[i] = (struct tally_precinct){
			    .id = (uint32_t)i + 1, .registered = 1000, .region = (uint32_t)r};
			reg->precincts[k] = (uint32_t)i;
			reg->registered += 1000;
			e->registered += 1000;
		}
	}
	e->n_districts = DISTRICTS;
	e->districts = xcalloc(DISTRICTS, sizeof(*e->districts));
	for (size_t d = 0; d < DISTRICTS; d++) {
		struct tally_district *dist = &e->districts[d];
		snprintf(dist->id, sizeof(dist->id), "D-%03zu", d);
		dist->n_precincts = per_district;
		dist->precincts = xcalloc(per_district, sizeof(uint32_t));
		for (size_t k = 0; k < per_district; k++)
			dist->precincts[k] = (uint32_t)(d * per_district + k);
		dist->registered = 1000 * (uint64_t)per_district;
	}
	e->n_contests = n_contests;
	e->contests = xcalloc(n_contests, sizeof(*e->contests));
	for (size_t c = 0; c < n_contests; c++) {
		struct tally_contest *ct = &e->contests[c];
		snprintf(ct->id, sizeof(ct->id), "c%zu", c);
		ct->kind = TALLY_CONTEST_CANDIDATE;
		ct->scope = TALLY_SCOPE_NATIONAL;
		ct->district = -1;
		ct->seats = 1;
		ct->n_options = options[c];
		ct->options = xcalloc(options[c], sizeof(*ct->options));
		for (size_t o = 0; o < options[c]; o++) {
			snprintf(ct->options[o].id, sizeof(ct->options[o].id), "o%zu", o);
			ct->options[o].party = -1;
		}
	}
	if (tally_election_index(e) < 0) {
		fprintf(stderr, "totals_mem: indexing failed\n");
		exit(1);
	}
	return e;
}

static int apply(struct tally_totals *t, size_t slot, uint32_t revision, uint8_t tag)
{
	uint32_t fig[TALLY_TOTALS_FIXED_FIGURES + TALLY_MAX_OPTIONS];
	uint8_t hash[TALLY_HASH_BYTES] = {0};
	enum tally_outcome o;
	size_t stride = tally_totals_slot_stride(t, slot);

	memcpy(hash, &slot, sizeof(slot));
	hash[8] = (uint8_t)revision;
	hash[9] = tag;
	fig[0] = 1000;
	fig[1] = 600 + tag;
	fig[2] = 10;
	fig[3] = 0;
	for (size_t i = TALLY_TOTALS_FIXED_FIGURES; i < stride; i++)
		fig[i] = (uint32_t)(590 + tag) / (uint32_t)(stride - TALLY_TOTALS_FIXED_FIGURES);
	return tally_totals_apply_figures(t, slot, revision, hash, (int64_t)t->sequence, fig, &o);
}

int main(int argc, char **argv)
{
	size_t n_precincts = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t options[TALLY_MAX_OPTIONS] = {7, 10, 2, 6, 5, 3}, n_contests = 6;
	struct tally_totals *t = NULL;

	if (argc > 2) {
		n_contests = 0;
		for (int i = 2; i < argc && n_contests < TALLY_MAX_OPTIONS; i++)
			options[n_contests++] = strtoul(argv[i], NULL, 10);
	}
	for (size_t c = 0; c < n_contests; c++)
		if (options[c] < 1 || options[c] > TALLY_MAX_OPTIONS) {
			fprintf(stderr, "usage: totals_mem [PRECINCTS [OPTIONS...]]\n");
			return 2;
		}
	if (n_precincts < DISTRICTS * REGIONS) {
		fprintf(stderr, "usage: totals_mem [PRECINCTS [OPTIONS...]]\n");
		return 2;
	}

	struct tally_election *e = build(n_precincts, n_contests, options);
	malloc_trim(0);
	long rss_model = status_kb("VmRSS:");
	size_t counted = 0;
	for (size_t c = 0; c < n_contests; c++)
		counted += e->contests[c].n_precincts * (TALLY_TOTALS_FIXED_FIGURES + options[c]);

	if (tally_totals_new(e, &t) < 0) {
		fprintf(stderr, "totals_mem: out of memory\n");
		return 1;
	}
	long rss_new = status_kb("VmRSS:");
	double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t s = 0; s < e->n_slots; s++)
		if (apply(t, s, 1, 1) < 0)
			return 1;
	wall = seconds(CLOCK_MONOTONIC) - wall;
	cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	long rss_all = status_kb("VmRSS:");
	for (size_t s = 0; s < e->n_slots; s += 10)
		if (apply(t, s, 2, 1) < 0)
			return 1;
	for (size_t s = 5; s < e->n_slots; s += 1000)
		if (apply(t, s, 1, 2) < 0)
			return 1;
	long rss_end = status_kb("VmRSS:");

	printf("precincts %zu\n", e->n_precincts);
	printf("contests %zu\n", n_contests);
	printf("slots %zu\n", e->n_slots);
	printf("state_bytes_per_slot %zu\n", sizeof(struct tally_slot_state));
	printf("counted_bytes_per_slot %.2f\n", 4.0 * (double)counted / (double)e->n_slots);
	printf("totals_bytes_per_slot %.2f\n",
	       (double)(sizeof(struct tally_slot_state) * e->n_slots + 4 * counted) /
	           (double)e->n_slots);
	printf("rss_model_kb %ld\n", rss_model);
	printf("rss_totals_new_kb %ld\n", rss_new);
	printf("rss_every_slot_counted_kb %ld\n", rss_all);
	printf("rss_after_corrections_and_conflicts_kb %ld\n", rss_end);
	printf("totals_rss_per_slot_bytes %.2f\n",
	       (double)(rss_end - rss_model) * 1024.0 / (double)e->n_slots);
	printf("apply_ns_per_slot_wall %.1f\n", wall * 1e9 / (double)e->n_slots);
	printf("apply_ns_per_slot_cpu %.1f\n", cpu * 1e9 / (double)e->n_slots);
	printf("sequence %" PRIu64 "\n", t->sequence);
	printf("hwm_kb %ld\n", status_kb("VmHWM:"));
	tally_totals_free(t);
	tally_election_free(e);
	return 0;
}
