/*
 * cli.c: what several subcommands share and nothing else: the options of a
 * command aimed at one place (a node's socket or an aggregator's URL) with
 * an optional --json, and the time format of --since. Each cmd_<name>.c
 * keeps its own usage text, requests and layout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_target_options(int argc, char **argv, const char *target, char letter,
                       void (*usage)(FILE *f), const char **ret_target, int *ret_json)
{
	const struct option longopts[] = {
	    {target, required_argument, NULL, letter},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char shortopts[] = {letter, ':', 'j', 'h', '\0'};
	int c;

	*ret_target = NULL;
	*ret_json = 0;
	optind = 0; /* glibc: start over, even when called twice in one process */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == letter) {
			*ret_target = optarg;
			continue;
		}
		switch (c) {
		case 'j':
			*ret_json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (*ret_target == NULL) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* RFC 3339 with Z or a numeric offset, or @seconds since 1970, to ms. */
int cli_parse_time_ms(const char *s, int64_t *ret)
{
	struct tm tm;
	char tail[16] = "";
	int n = 0, oh = 0, om = 0;
	long long secs;

	if (s[0] == '@') {
		char *end;
		secs = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end != '\0' || secs < 0)
			return -1;
		*ret = (int64_t)secs * 1000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -1;
	snprintf(tail, sizeof(tail), "%s", s + n);
	int sign = 0;
	if (strcmp(tail, "Z") == 0)
		sign = 0;
	else if ((tail[0] == '+' || tail[0] == '-') && strlen(tail) == 6 &&
	         sscanf(tail + 1, "%2d:%2d", &oh, &om) == 2 && oh <= 23 && om <= 59)
		sign = tail[0] == '+' ? 1 : -1;
	else
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	secs = (long long)timegm(&tm) - (long long)sign * (oh * 3600 + om * 60);
	if (secs < 0)
		return -1;
	*ret = (int64_t)secs * 1000;
	return 0;
}
