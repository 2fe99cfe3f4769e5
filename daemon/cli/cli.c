/*
 * cli.c: what several subcommands share and nothing else: the options of a
 * command aimed at one place (a node's socket or an aggregator's URL) with
 * an optional --json, the time format of --since, the language of names
 * and fetching one JSON document. Each cmd_<name>.c keeps its own usage
 * text, requests and layout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "http_client.h"

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

int cli_lang(const char *arg, const char **ret)
{
	static const char *const langs[] = {"kk", "ru", "en"};
	static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	const char *loc = NULL;

	if (arg != NULL) {
		for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
			if (strcmp(arg, langs[i]) == 0) {
				*ret = langs[i];
				return 0;
			}
		return -EINVAL;
	}
	/* POSIX precedence: LC_ALL over LC_MESSAGES over LANG. */
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && loc == NULL; i++) {
		const char *v = getenv(vars[i]);

		if (v != NULL && v[0] != '\0')
			loc = v;
	}
	*ret = "en";
	if (loc == NULL)
		return 0;
	/* language[_territory][.codeset][@modifier] */
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(langs[i]);

		if (strncmp(loc, langs[i], n) == 0 &&
		    (loc[n] == '\0' || loc[n] == '_' || loc[n] == '.' || loc[n] == '@'))
			*ret = langs[i];
	}
	return 0;
}

int cli_get_json(const char *base_url, const char *path, int timeout_ms, json_t **ret,
                 int *ret_status, struct tally_err *err)
{
	json_error_t je;
	char *body = NULL;
	size_t len = 0;
	json_t *v;
	int rc;

	*ret = NULL;
	rc = http_get(base_url, path, timeout_ms, &body, &len, ret_status, err);
	if (rc < 0)
		return rc;
	if (*ret_status != 200) {
		free(body);
		return 1;
	}
	v = json_loadb(body, len, 0, &je);
	free(body);
	if (v == NULL)
		return tally_err_set(err, -EPROTO, "%s%s is not JSON: %s (line %d)", base_url, path,
		                     je.text, je.line);
	if (!json_is_object(v)) {
		json_decref(v);
		return tally_err_set(err, -EPROTO, "%s%s is not a JSON object", base_url, path);
	}
	*ret = v;
	return 0;
}

void cli_path_escape(const char *s, char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		if (n + (plain ? 1 : 3) >= cap)
			break;
		if (plain) {
			buf[n++] = (char)c;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	if (cap > 0)
		buf[n] = '\0';
}
