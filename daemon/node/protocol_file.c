/*
 * protocol_file.c: parses the regional centre's protocol files (JSON and
 * CSV, see protocol_file.h) into struct tally_result rows, collecting every
 * problem with the line, the precinct and the field it concerns. It owns
 * syntax and number strictness only: whether a row's figures add up, or its
 * precinct belongs to the region, is validate.c's business (called by
 * intake.c). Pure, and fed untrusted bytes by a fuzzer, so every length is
 * checked and nothing assumes NUL termination.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_file.h"

struct field {
	const char *name;
	size_t offset; /* of a uint32_t in struct tally_result */
	bool required;
};

/*
 * The fixed columns, in CSV header order. The first eight are required in
 * both formats; ballots_not_counted may be left out (it is then 0).
 */
static const struct field fields[] = {
    {"precinct_id", offsetof(struct tally_result, precinct_id), true},
    {"revision", offsetof(struct tally_result, revision), true},
    {"voters_registered", offsetof(struct tally_result, voters_registered), true},
    {"ballots_received", offsetof(struct tally_result, ballots_received), true},
    {"ballots_issued", offsetof(struct tally_result, ballots_issued), true},
    {"ballots_cancelled", offsetof(struct tally_result, ballots_cancelled), true},
    {"ballots_cast", offsetof(struct tally_result, ballots_cast), true},
    {"ballots_invalid", offsetof(struct tally_result, ballots_invalid), true},
    {"ballots_not_counted", offsetof(struct tally_result, ballots_not_counted), false},
};
#define N_FIELDS          (sizeof(fields) / sizeof(fields[0]))
#define N_REQUIRED_FIELDS 8
#define FIELD_PRECINCT    0
#define FIELD_NOT_COUNTED 8

static const char csv_required_header[] =
    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
    "ballots_cancelled,ballots_cast,ballots_invalid";

static uint32_t *field_ptr(struct tally_result *r, size_t i)
{
	return (uint32_t *)((char *)r + fields[i].offset);
}

int protocol_format_from_name(const char *name, enum protocol_format *ret)
{
	size_t n = strlen(name);

	if (n > 5 && strcmp(name + n - 5, ".json") == 0) {
		*ret = PROTOCOL_FORMAT_JSON;
		return 0;
	}
	if (n > 4 && strcmp(name + n - 4, ".csv") == 0) {
		*ret = PROTOCOL_FORMAT_CSV;
		return 0;
	}
	return -EINVAL;
}

const char *protocol_format_str(enum protocol_format f)
{
	return f == PROTOCOL_FORMAT_JSON ? "json" : "csv";
}

struct protocol_file *protocol_file_free(struct protocol_file *f)
{
	if (!f)
		return NULL;
	free(f->rows);
	free(f->errors);
	free(f);
	return NULL;
}

/*
 * Copies an outside value into buf for a message: at most 40 bytes,
 * anything but printable ASCII shown as '?', "..." when cut.
 */
static void quote(const char *s, size_t n, char *buf, size_t cap)
{
	size_t max = n > 40 ? 40 : n;
	size_t o = 0;

	if (cap < 8) {
		buf[0] = '\0';
		return;
	}
	for (size_t i = 0; i < max && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (max < n && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static int add_errorv(struct protocol_file *f, uint32_t line, bool has_precinct,
                      uint32_t precinct_id, const char *where, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

static int add_errorv(struct protocol_file *f, uint32_t line, bool has_precinct,
                      uint32_t precinct_id, const char *where, const char *fmt, va_list ap)
{
	struct protocol_error *e;

	if (f->n_errors >= PROTOCOL_FILE_MAX_ERRORS) {
		f->n_errors_dropped++;
		return 0;
	}
	/* Grow in powers of two; n_errors is below the cap, so no overflow. */
	if ((f->n_errors & (f->n_errors - 1)) == 0) {
		size_t cap = f->n_errors ? f->n_errors * 2 : 4;
		struct protocol_error *n = realloc(f->errors, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		f->errors = n;
	}
	e = &f->errors[f->n_errors++];
	memset(e, 0, sizeof(*e));
	e->line = line;
	e->has_precinct = has_precinct;
	e->precinct_id = precinct_id;
	snprintf(e->where, sizeof(e->where), "%s", where);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	return 0;
}

int protocol_file_add_error(struct protocol_file *f, uint32_t line, bool has_precinct,
                            uint32_t precinct_id, const char *where, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_errorv(f, line, has_precinct, precinct_id, where, fmt, ap);
	va_end(ap);
	return r;
}

static int add_row(struct protocol_file *f, uint32_t line, const struct tally_result *r)
{
	if ((f->n_rows & (f->n_rows - 1)) == 0) {
		size_t cap = f->n_rows ? f->n_rows * 2 : 4;
		struct protocol_row *n = realloc(f->rows, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		f->rows = n;
	}
	f->rows[f->n_rows].line = line;
	f->rows[f->n_rows].result = *r;
	f->n_rows++;
	return 0;
}

/* Strict decimal: digits only, 1..10 of them after leading zeros, <= max. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

static void copy_id(char dst[TALLY_ID_MAX], const char *src)
{
	snprintf(dst, TALLY_ID_MAX, "%s", src);
}

/*
 * Orders r->votes as the election lists its options, so the same figures
 * always serialize to the same bytes whichever format or column order they
 * came in (the aggregator tells a duplicate from a conflict by the bytes).
 * Options the election does not know keep their order after the known ones;
 * validation rejects them.
 */
static void canonical_votes(const struct tally_election *e, struct tally_result *r)
{
	struct tally_option_votes sorted[TALLY_MAX_OPTIONS];
	bool used[TALLY_MAX_OPTIONS] = {false};
	size_t n = 0;

	if (!e)
		return;
	for (size_t o = 0; o < e->n_options; o++)
		for (size_t i = 0; i < r->n_votes; i++)
			if (!used[i] && strcmp(r->votes[i].option_id, e->options[o].id) == 0) {
				sorted[n++] = r->votes[i];
				used[i] = true;
				break;
			}
	for (size_t i = 0; i < r->n_votes; i++)
		if (!used[i])
			sorted[n++] = r->votes[i];
	memcpy(r->votes, sorted, n * sizeof(sorted[0]));
}

/* ---------------------------------------------------------------- JSON */

static int json_field_index(const char *key)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(key, fields[i].name) == 0)
			return (int)i;
	return -1;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_REAL:
		return "a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "a number";
	}
}

/*
 * A JSON number as a whole number within [0, max]. On failure fills `what`
 * with the problem and returns -EINVAL.
 */
static int json_whole(const json_t *v, uint64_t max, uint64_t *ret, char *what, size_t cap)
{
	json_int_t i;

	if (json_is_real(v)) {
		snprintf(what, cap, "%g is not a whole number", json_real_value(v));
		return -EINVAL;
	}
	if (!json_is_integer(v)) {
		snprintf(what, cap, "must be a whole number, not %s", json_kind(v));
		return -EINVAL;
	}
	i = json_integer_value(v);
	if (i < 0) {
		snprintf(what, cap, "%lld is negative", (long long)i);
		return -EINVAL;
	}
	if ((unsigned long long)i > max) {
		snprintf(what, cap, "%lld is above %llu", (long long)i, (unsigned long long)max);
		return -EINVAL;
	}
	*ret = (uint64_t)i;
	return 0;
}

/* election_id / region_id: a string equal to the node's, when it has one. */
static int json_check_id(struct protocol_file *f, uint32_t line, bool has_p, uint32_t p,
                         const char *key, const json_t *v, const char *expect,
                         char dst[TALLY_ID_MAX])
{
	char q[64];
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return protocol_file_add_error(f, line, has_p, p, key, "must be a string, not %s",
		                               json_kind(v));
	s = json_string_value(v);
	n = json_string_length(v);
	quote(s, n, q, sizeof(q));
	if (expect) {
		if (strlen(expect) != n || memcmp(expect, s, n) != 0)
			return protocol_file_add_error(f, line, has_p, p, key,
			                               "'%s' is not this node's '%s'", q, expect);
		return 0;
	}
	if (n == 0 || n >= TALLY_ID_MAX || memchr(s, '\0', n))
		return protocol_file_add_error(
		    f, line, has_p, p, key, "'%s' must be 1 to %d characters", q, TALLY_ID_MAX - 1);
	copy_id(dst, s);
	return 0;
}

static int json_votes(struct protocol_file *f, uint32_t line, bool has_p, uint32_t p,
                      const json_t *votes, struct tally_result *r, bool *bad)
{
	const char *key;
	json_t *v;
	char q[64], what[TALLY_REASON_MAX - 80];
	int e;

	if (!json_is_object(votes)) {
		*bad = true;
		return protocol_file_add_error(f, line, has_p, p, "votes",
		                               "must be an object {\"option\": count}, not %s",
		                               json_kind(votes));
	}
	if (json_object_size(votes) > TALLY_MAX_OPTIONS) {
		*bad = true;
		return protocol_file_add_error(f, line, has_p, p, "votes",
		                               "%zu options, at most %d", json_object_size(votes),
		                               TALLY_MAX_OPTIONS);
	}
	json_object_foreach((json_t *)votes, key, v)
	{
		size_t n = strlen(key);
		uint64_t count;

		quote(key, n, q, sizeof(q));
		if (n == 0 || n >= TALLY_ID_MAX) {
			*bad = true;
			if ((e = protocol_file_add_error(
			         f, line, has_p, p, "votes",
			         "option id '%s' must be 1 to %d characters", q,
			         TALLY_ID_MAX - 1)) < 0)
				return e;
			continue;
		}
		if (json_whole(v, UINT32_MAX, &count, what, sizeof(what)) < 0) {
			char where[80];
			*bad = true;
			snprintf(where, sizeof(where), "votes.%s", q);
			if ((e = protocol_file_add_error(f, line, has_p, p, where, "%s", what)) < 0)
				return e;
			continue;
		}
		copy_id(r->votes[r->n_votes].option_id, key);
		r->votes[r->n_votes].count = (uint32_t)count;
		r->n_votes++;
	}
	return 0;
}

/* The line of the first byte that is not JSON white space, 1-based. */
static uint32_t json_start_line(const uint8_t *data, size_t len)
{
	uint32_t line = 1;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			line++;
		else if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
			break;
	}
	return line;
}

static int parse_json(const struct protocol_expect *x, const uint8_t *data, size_t len,
                      struct protocol_file *f)
{
	struct tally_result r;
	json_error_t jerr;
	json_t *root, *v, *pv;
	const char *key;
	bool seen[N_FIELDS] = {false};
	bool bad = false, has_p = false;
	uint32_t p = 0, line;
	char what[TALLY_REASON_MAX - 80], q[64];
	int e = 0;

	root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return protocol_file_add_error(f, jerr.line > 0 ? (uint32_t)jerr.line : 0, false, 0,
		                               "JSON", "%s (column %d)", jerr.text, jerr.column);
	line = json_start_line(data, len);
	if (!json_is_object(root)) {
		e = protocol_file_add_error(f, line, false, 0, "JSON",
		                            "the file must hold one protocol object, not %s",
		                            json_kind(root));
		goto out;
	}

	memset(&r, 0, sizeof(r));
	if (x->election_id)
		copy_id(r.election_id, x->election_id);
	if (x->region_id)
		copy_id(r.region_id, x->region_id);

	/* The precinct first, so every later message can name it. */
	pv = json_object_get(root, "precinct_id");
	if (pv) {
		uint64_t u;
		if (json_whole(pv, UINT32_MAX, &u, what, sizeof(what)) == 0) {
			p = (uint32_t)u;
			has_p = true;
		}
	}

	json_object_foreach(root, key, v)
	{
		int i = json_field_index(key);
		uint64_t u;

		if (i >= 0) {
			seen[i] = true;
			if (json_whole(v, UINT32_MAX, &u, what, sizeof(what)) < 0) {
				bad = true;
				if ((e = protocol_file_add_error(f, line, has_p, p, key, "%s",
				                                 what)) < 0)
					goto out;
				continue;
			}
			*field_ptr(&r, (size_t)i) = (uint32_t)u;
		} else if (strcmp(key, "votes") == 0) {
			if ((e = json_votes(f, line, has_p, p, v, &r, &bad)) < 0)
				goto out;
		} else if (strcmp(key, "election_id") == 0) {
			size_t before = f->n_errors + f->n_errors_dropped;
			if ((e = json_check_id(f, line, has_p, p, key, v, x->election_id,
			                       r.election_id)) < 0)
				goto out;
			bad |= f->n_errors + f->n_errors_dropped != before;
		} else if (strcmp(key, "region_id") == 0) {
			size_t before = f->n_errors + f->n_errors_dropped;
			if ((e = json_check_id(f, line, has_p, p, key, v, x->region_id,
			                       r.region_id)) < 0)
				goto out;
			bad |= f->n_errors + f->n_errors_dropped != before;
		} else if (strcmp(key, "recorded_at_ms") == 0) {
			if (json_whole(v, INT64_MAX, &u, what, sizeof(what)) < 0) {
				bad = true;
				if ((e = protocol_file_add_error(f, line, has_p, p, key, "%s",
				                                 what)) < 0)
					goto out;
				continue;
			}
			r.recorded_at_ms = u;
		} else {
			bad = true;
			quote(key, strlen(key), q, sizeof(q));
			if ((e = protocol_file_add_error(f, line, has_p, p, "JSON",
			                                 "unknown field '%s'", q)) < 0)
				goto out;
		}
	}

	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].required && !seen[i]) {
			bad = true;
			if ((e = protocol_file_add_error(f, line, has_p, p, fields[i].name,
			                                 "missing")) < 0)
				goto out;
		}
	if (!json_object_get(root, "votes")) {
		bad = true;
		if ((e = protocol_file_add_error(f, line, has_p, p, "votes", "missing")) < 0)
			goto out;
	}
	if (!bad) {
		canonical_votes(x->election, &r);
		e = add_row(f, line, &r);
	}
out:
	json_decref(root);
	return e;
}

/* ----------------------------------------------------------------- CSV */

struct span {
	const char *s;
	size_t n;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span trim(const char *s, size_t n)
{
	while (n > 0 && is_blank(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	return (struct span){s, n};
}

static bool span_is(struct span a, const char *b)
{
	return a.n == strlen(b) && memcmp(a.s, b, a.n) == 0;
}

#define CSV_MAX_COLUMNS (N_FIELDS + TALLY_MAX_OPTIONS)

/*
 * Splits one line into at most `max` trimmed fields. Returns the number of
 * fields, or max + 1 when there are more.
 */
static size_t split(const char *s, size_t n, struct span *out, size_t max)
{
	size_t count = 0, start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		if (count == max)
			return max + 1;
		out[count++] = trim(s + start, i - start);
		start = i + 1;
	}
	return count;
}

struct csv_header {
	size_t n_columns;
	bool has_not_counted;
	size_t first_option; /* column of the first option */
	size_t n_options;
	char options[TALLY_MAX_OPTIONS][TALLY_ID_MAX];
};

static int csv_header(const struct protocol_expect *x, const char *s, size_t n,
                      struct protocol_file *f, struct csv_header *h)
{
	struct span col[CSV_MAX_COLUMNS + 1];
	size_t count = split(s, n, col, CSV_MAX_COLUMNS);
	size_t before = f->n_errors + f->n_errors_dropped;
	char q[64];
	int e;

	memset(h, 0, sizeof(*h));
	/* A wrong fixed column leaves nothing to interpret the rows by: stop. */
	if (count > CSV_MAX_COLUMNS) {
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "more than %zu columns (at most %d options)",
		                            (size_t)CSV_MAX_COLUMNS, TALLY_MAX_OPTIONS);
		return e < 0 ? e : -EINVAL;
	}
	for (size_t i = 0; i < N_REQUIRED_FIELDS; i++) {
		if (i >= count || !span_is(col[i], fields[i].name)) {
			if (i < count)
				quote(col[i].s, col[i].n, q, sizeof(q));
			e = protocol_file_add_error(
			    f, 1, false, 0, "header",
			    "column %zu is %s%s%s but must be '%s' (a header starts '%s')", i + 1,
			    i < count ? "'" : "", i < count ? q : "missing", i < count ? "'" : "",
			    fields[i].name, csv_required_header);
			return e < 0 ? e : -EINVAL;
		}
	}
	h->first_option = N_REQUIRED_FIELDS;
	if (count > N_REQUIRED_FIELDS && span_is(col[N_REQUIRED_FIELDS], "ballots_not_counted")) {
		h->has_not_counted = true;
		h->first_option++;
	}
	h->n_columns = count;
	for (size_t i = h->first_option; i < count; i++) {
		struct span c = col[i];
		quote(c.s, c.n, q, sizeof(q));
		if (c.n == 0 || c.n >= TALLY_ID_MAX || memchr(c.s, '\0', c.n)) {
			if ((e = protocol_file_add_error(
			         f, 1, false, 0, "header",
			         "column %zu: option id '%s' must be 1 to %d "
			         "characters",
			         i + 1, q, TALLY_ID_MAX - 1)) < 0)
				return e;
			continue;
		}
		for (size_t j = 0; j < h->n_options; j++)
			if (span_is(c, h->options[j])) {
				if ((e = protocol_file_add_error(
				         f, 1, false, 0, "header",
				         "column %zu: option '%s' appears twice", i + 1, q)) < 0)
					return e;
				goto next;
			}
		if (x->election) {
			bool known = false;
			for (size_t o = 0; o < x->election->n_options; o++)
				known |= span_is(c, x->election->options[o].id);
			if (!known) {
				if ((e = protocol_file_add_error(
				         f, 1, false, 0, "header",
				         "column %zu: '%s' is not an option of "
				         "this election",
				         i + 1, q)) < 0)
					return e;
				continue;
			}
		}
		memcpy(h->options[h->n_options], c.s, c.n);
		h->options[h->n_options][c.n] = '\0';
		h->n_options++;
	next:;
	}
	if (x->election) {
		for (size_t o = 0; o < x->election->n_options; o++) {
			bool present = false;
			for (size_t j = 0; j < h->n_options; j++)
				present |= strcmp(h->options[j], x->election->options[o].id) == 0;
			if (!present && (e = protocol_file_add_error(
			                     f, 1, false, 0, "header", "no column for option '%s'",
			                     x->election->options[o].id)) < 0)
				return e;
		}
	} else if (count == h->first_option) {
		if ((e = protocol_file_add_error(f, 1, false, 0, "header", "no option columns")) <
		    0)
			return e;
	}
	return f->n_errors + f->n_errors_dropped != before ? -EINVAL : 0;
}

static int csv_row(const struct protocol_expect *x, const struct csv_header *h, uint32_t line,
                   const char *s, size_t n, struct protocol_file *f)
{
	struct span col[CSV_MAX_COLUMNS + 1];
	size_t count = split(s, n, col, CSV_MAX_COLUMNS);
	struct tally_result r;
	bool bad = false, has_p = false;
	uint32_t p = 0;
	uint64_t u;
	char q[64];
	int e;

	if (parse_u64(col[0].s, col[0].n, UINT32_MAX, &u) == 0) {
		p = (uint32_t)u;
		has_p = true;
	}
	if (count != h->n_columns)
		return protocol_file_add_error(
		    f, line, has_p, p, "row", "%s%zu fields, but the header has %zu",
		    count > CSV_MAX_COLUMNS ? "more than " : "",
		    count > CSV_MAX_COLUMNS ? (size_t)CSV_MAX_COLUMNS : count, h->n_columns);
	memset(&r, 0, sizeof(r));
	if (x->election_id)
		copy_id(r.election_id, x->election_id);
	if (x->region_id)
		copy_id(r.region_id, x->region_id);

	for (size_t i = 0; i < count; i++) {
		bool is_option = i >= h->first_option;
		const char *name = is_option ? h->options[i - h->first_option] : fields[i].name;
		int pr = parse_u64(col[i].s, col[i].n, UINT32_MAX, &u);

		if (pr < 0) {
			char where[80];
			bad = true;
			quote(col[i].s, col[i].n, q, sizeof(q));
			if (is_option)
				snprintf(where, sizeof(where), "votes.%s", name);
			else
				snprintf(where, sizeof(where), "%s", name);
			if (col[i].n == 0)
				e = protocol_file_add_error(f, line, has_p, p, where, "empty");
			else if (pr == -ERANGE)
				e = protocol_file_add_error(f, line, has_p, p, where,
				                            "'%s' is above 4294967295", q);
			else
				e = protocol_file_add_error(f, line, has_p, p, where,
				                            "'%s' is not a whole number from 0 to "
				                            "4294967295",
				                            q);
			if (e < 0)
				return e;
			continue;
		}
		if (is_option) {
			copy_id(r.votes[r.n_votes].option_id, name);
			r.votes[r.n_votes].count = (uint32_t)u;
			r.n_votes++;
		} else {
			*field_ptr(&r, i) = (uint32_t)u;
		}
	}
	if (bad)
		return 0;
	canonical_votes(x->election, &r);
	return add_row(f, line, &r);
}

static int parse_csv(const struct protocol_expect *x, const uint8_t *data, size_t len,
                     struct protocol_file *f)
{
	const char *s = (const char *)data;
	struct csv_header h;
	bool have_header = false;
	size_t pos = 0, rows = 0;
	uint32_t line = 0;
	int e;

	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - s) : len;
		size_t n = end - pos;
		struct span t;

		line++;
		if (n > 0 && s[pos + n - 1] == '\r')
			n--;
		t = trim(s + pos, n);
		if (!have_header) {
			if (t.n == 0)
				return protocol_file_add_error(f, line, false, 0, "header",
				                               "empty; a header starts '%s'",
				                               csv_required_header);
			e = csv_header(x, s + pos, n, f, &h);
			if (e < 0)
				return e == -EINVAL ? 0 : e;
			have_header = true;
		} else if (t.n > 0) {
			if (++rows > PROTOCOL_FILE_MAX_ROWS)
				return protocol_file_add_error(f, 0, false, 0, "file",
				                               "more than %d protocols in one file",
				                               PROTOCOL_FILE_MAX_ROWS);
			if ((e = csv_row(x, &h, line, s + pos, n, f)) < 0)
				return e;
		}
		pos = end + 1;
	}
	if (!have_header)
		return protocol_file_add_error(f, 0, false, 0, "file",
		                               "empty; a CSV file starts with the header '%s'",
		                               csv_required_header);
	return 0;
}

/* --------------------------------------------------------------- shared */

struct seen {
	uint32_t precinct;
	uint32_t line;
};

static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->precinct != y->precinct)
		return x->precinct < y->precinct ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* A precinct twice in one file is ambiguous: flag every later copy. */
static int check_duplicates(struct protocol_file *f)
{
	struct seen *s;
	int e = 0;

	if (f->n_rows < 2)
		return 0;
	s = calloc(f->n_rows, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_rows; i++)
		s[i] = (struct seen){f->rows[i].result.precinct_id, f->rows[i].line};
	qsort(s, f->n_rows, sizeof(*s), cmp_seen);
	for (size_t i = 1, first = 0; i < f->n_rows && e == 0; i++) {
		if (s[i].precinct != s[first].precinct) {
			first = i;
			continue;
		}
		e = protocol_file_add_error(f, s[i].line, true, s[i].precinct, "precinct_id",
		                            "precinct %u appears again (first at line %u)",
		                            s[i].precinct, s[first].line);
	}
	free(s);
	return e;
}

int protocol_file_parse(const struct protocol_expect *expect, enum protocol_format format,
                        const uint8_t *data, size_t len, struct protocol_file **ret)
{
	static const struct protocol_expect none = {NULL, NULL, NULL};
	struct protocol_file *f;
	int e;

	if (!expect)
		expect = &none;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (len > PROTOCOL_FILE_MAX_BYTES) {
		e = protocol_file_add_error(f, 0, false, 0, "file", "%zu bytes, at most %u", len,
		                            PROTOCOL_FILE_MAX_BYTES);
	} else if (format == PROTOCOL_FORMAT_JSON) {
		e = parse_json(expect, data, len, f);
	} else {
		e = parse_csv(expect, data, len, f);
	}
	if (e == 0)
		e = check_duplicates(f);
	if (e == 0 && f->n_rows == 0 && f->n_errors == 0 && f->n_errors_dropped == 0)
		e = protocol_file_add_error(f, 0, false, 0, "file", "no protocols in the file");
	if (e < 0) {
		protocol_file_free(f);
		return e;
	}
	*ret = f;
	return 0;
}

void protocol_error_format(const struct protocol_error *e, char *buf, size_t cap)
{
	char at[32] = "file", p[32] = "";

	if (e->line > 0)
		snprintf(at, sizeof(at), "line %u", e->line);
	if (e->has_precinct)
		snprintf(p, sizeof(p), " precinct %u:", e->precinct_id);
	if (strcmp(e->where, "file") == 0)
		snprintf(buf, cap, "%s:%s %s", at, p, e->message);
	else
		snprintf(buf, cap, "%s:%s %s: %s", at, p, e->where, e->message);
}

static int cmp_error(const void *a, const void *b)
{
	const struct protocol_error *const *x = a, *const *y = b;

	if ((*x)->line != (*y)->line)
		return (*x)->line < (*y)->line ? -1 : 1;
	/* Stable: keep the order in which problems were found on a line. */
	return *x < *y ? -1 : *x > *y;
}

int protocol_file_format_errors(const struct protocol_file *f, char **ret)
{
	const struct protocol_error **order;
	size_t cap = 64, used = 0;
	char *out, line[TALLY_REASON_MAX + 160];

	order = calloc(f->n_errors + 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_errors; i++)
		order[i] = &f->errors[i];
	qsort(order, f->n_errors, sizeof(*order), cmp_error);
	cap += f->n_errors * sizeof(line);
	out = malloc(cap);
	if (!out) {
		free(order);
		return -ENOMEM;
	}
	out[0] = '\0';
	for (size_t i = 0; i < f->n_errors; i++) {
		protocol_error_format(order[i], line, sizeof(line));
		used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
	}
	if (f->n_errors_dropped)
		snprintf(out + used, cap - used, "... and %zu more problems\n",
		         f->n_errors_dropped);
	free(order);
	*ret = out;
	return 0;
}
