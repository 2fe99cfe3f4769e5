/*
 * protocol_file.c: parses the regional centre's protocol files (JSON and
 * CSV, see protocol_file.h) into struct tally_result rows, collecting every
 * problem with the line, the precinct, the contest and the field it
 * concerns. It owns syntax, number strictness and which contest a protocol
 * is for (a CSV row's cells mean nothing until that is known); whether a
 * row's figures add up, or its precinct belongs to the region or votes in
 * the contest, is validate.c's business (called by intake.c). Pure, and fed
 * untrusted bytes by a fuzzer, so every length is checked and nothing
 * assumes NUL termination.
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
 * Copies an outside value into buf for a message: at most `limit` bytes,
 * anything but printable ASCII shown as '?', "..." when cut.
 */
static void quote_max(const char *s, size_t n, size_t limit, char *buf, size_t cap)
{
	size_t max = n > limit ? limit : n;
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

static void quote(const char *s, size_t n, char *buf, size_t cap)
{
	quote_max(s, n, 40, buf, cap);
}

/* A contest id for messages: whole (ids are shorter than TALLY_ID_MAX), printable. */
static void display_id(const char *s, size_t n, char dst[TALLY_ID_MAX])
{
	quote_max(s, n, TALLY_ID_MAX - 4, dst, TALLY_ID_MAX);
}

/* Whom a protocol's messages are about, filled in as each becomes known. */
struct about {
	uint32_t line;
	bool has_p;
	uint32_t p;
	char contest[TALLY_ID_MAX]; /* display form; "" when the protocol names none */
};

static int add_errorv(struct protocol_file *f, uint32_t line, bool has_precinct,
                      uint32_t precinct_id, const char *contest, const char *where, const char *fmt,
                      va_list ap) __attribute__((format(printf, 7, 0)));

static int add_errorv(struct protocol_file *f, uint32_t line, bool has_precinct,
                      uint32_t precinct_id, const char *contest, const char *where, const char *fmt,
                      va_list ap)
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
	snprintf(e->contest, sizeof(e->contest), "%s", contest);
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
	r = add_errorv(f, line, has_precinct, precinct_id, "", where, fmt, ap);
	va_end(ap);
	return r;
}

int protocol_file_add_row_error(struct protocol_file *f, const struct protocol_row *row,
                                const char *where, const char *fmt, ...)
{
	const char *c = row->result.contest_id;
	char contest[TALLY_ID_MAX];
	va_list ap;
	int r;

	display_id(c, strnlen(c, TALLY_ID_MAX - 1), contest);
	va_start(ap, fmt);
	r = add_errorv(f, row->line, true, row->result.precinct_id, contest, where, fmt, ap);
	va_end(ap);
	return r;
}

static int row_error(struct protocol_file *f, const struct about *a, const char *where,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int row_error(struct protocol_file *f, const struct about *a, const char *where,
                     const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_errorv(f, a->line, a->has_p, a->p, a->contest, where, fmt, ap);
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
 * Orders r->votes as contest c lists its options, so the same figures
 * always serialize to the same bytes whichever format or column order they
 * came in (the aggregator tells a duplicate from a conflict by the bytes).
 * Options the contest does not have keep their order after its own;
 * validation rejects them. Without a contest (no election) nothing moves.
 */
static void canonical_votes(const struct tally_contest *c, struct tally_result *r)
{
	struct tally_option_votes sorted[TALLY_MAX_OPTIONS];
	bool used[TALLY_MAX_OPTIONS] = {false};
	size_t n = 0;

	if (!c)
		return;
	for (size_t o = 0; o < c->n_options; o++)
		for (size_t i = 0; i < r->n_votes; i++)
			if (!used[i] && strcmp(r->votes[i].option_id, c->options[o].id) == 0) {
				sorted[n++] = r->votes[i];
				used[i] = true;
				break;
			}
	for (size_t i = 0; i < r->n_votes; i++)
		if (!used[i])
			sorted[n++] = r->votes[i];
	memcpy(r->votes, sorted, n * sizeof(sorted[0]));
}

/*
 * The contest r->contest_id names, into *ret; NULL without an election.
 * An empty contest_id is the election's only contest. When it names none,
 * records why, sets *bad and leaves *ret NULL. Returns 0 or -ENOMEM.
 */
static int resolve_contest(const struct protocol_expect *x, struct protocol_file *f,
                           const struct about *a, const struct tally_result *r,
                           const struct tally_contest **ret, bool *bad)
{
	const struct tally_election *e = x->election;
	int k;

	*ret = NULL;
	if (!e)
		return 0;
	k = tally_election_contest_index(e, r->contest_id);
	if (k >= 0) {
		*ret = &e->contests[k];
		return 0;
	}
	*bad = true;
	if (r->contest_id[0] == '\0')
		return row_error(f, a, "contest_id",
		                 "missing; election '%s' has %zu contests: name one",
		                 e->election_id, e->n_contests);
	return row_error(f, a, "contest_id", "'%s' is not a contest of election '%s'", a->contest,
	                 e->election_id);
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
static int json_check_id(struct protocol_file *f, const struct about *a, const char *key,
                         const json_t *v, const char *expect, char dst[TALLY_ID_MAX])
{
	char q[64];
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return row_error(f, a, key, "must be a string, not %s", json_kind(v));
	s = json_string_value(v);
	n = json_string_length(v);
	quote(s, n, q, sizeof(q));
	if (expect) {
		if (strlen(expect) != n || memcmp(expect, s, n) != 0)
			return row_error(f, a, key, "'%s' is not this node's '%s'", q, expect);
		return 0;
	}
	if (n == 0 || n >= TALLY_ID_MAX || memchr(s, '\0', n))
		return row_error(f, a, key, "'%s' must be 1 to %d characters", q, TALLY_ID_MAX - 1);
	copy_id(dst, s);
	return 0;
}

/* A contest_id that can be one: a string shorter than TALLY_ID_MAX ("" = none). */
static bool json_contest_ok(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) < TALLY_ID_MAX &&
	       !memchr(json_string_value(v), '\0', json_string_length(v));
}

static int json_votes(struct protocol_file *f, const struct about *a, const json_t *votes,
                      struct tally_result *r, bool *bad)
{
	const char *key;
	json_t *v;
	char q[64], what[TALLY_REASON_MAX - 80];
	int e;

	if (!json_is_object(votes)) {
		*bad = true;
		return row_error(f, a, "votes", "must be an object {\"option\": count}, not %s",
		                 json_kind(votes));
	}
	if (json_object_size(votes) > TALLY_MAX_OPTIONS) {
		*bad = true;
		return row_error(f, a, "votes", "%zu options, at most %d", json_object_size(votes),
		                 TALLY_MAX_OPTIONS);
	}
	json_object_foreach((json_t *)votes, key, v)
	{
		size_t n = strlen(key);
		uint64_t count;

		quote(key, n, q, sizeof(q));
		if (n == 0 || n >= TALLY_ID_MAX) {
			*bad = true;
			if ((e = row_error(f, a, "votes",
			                   "option id '%s' must be 1 to %d characters", q,
			                   TALLY_ID_MAX - 1)) < 0)
				return e;
			continue;
		}
		if (json_whole(v, UINT32_MAX, &count, what, sizeof(what)) < 0) {
			char where[80];
			*bad = true;
			snprintf(where, sizeof(where), "votes.%s", q);
			if ((e = row_error(f, a, where, "%s", what)) < 0)
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

/*
 * The line each element of the top-level array starts on, into lines[0..n)
 * (entries it cannot find keep what the caller put there). jansson keeps no
 * positions, so this walks the bytes jansson has already accepted as one
 * JSON array: only strings (with their escapes) and nesting need tracking.
 */
static void json_element_lines(const uint8_t *data, size_t len, uint32_t *lines, size_t n)
{
	uint32_t line = 1;
	size_t depth = 0, k = 0;
	bool in_string = false, expect_element = false;

	for (size_t i = 0; i < len && k < n; i++) {
		uint8_t c = data[i];

		if (c == '\n')
			line++;
		if (in_string) {
			if (c == '\\' && i + 1 < len) {
				i++;
				line += data[i] == '\n';
			} else if (c == '"') {
				in_string = false;
			}
			continue;
		}
		if (expect_element && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			expect_element = false;
			if (c != ']')
				lines[k++] = line;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			expect_element = ++depth == 1;
			break;
		case ']':
		case '}':
			depth -= depth > 0;
			break;
		case ',':
			expect_element = depth == 1;
			break;
		default:
			break;
		}
	}
}

/* One protocol object starting on `line`. */
static int json_protocol(const struct protocol_expect *x, struct protocol_file *f, json_t *root,
                         uint32_t line)
{
	const struct tally_contest *c = NULL;
	struct tally_result r;
	struct about a = {.line = line};
	json_t *v, *pv, *cv;
	const char *key;
	bool seen[N_FIELDS] = {false};
	bool bad = false, contest_bad = false;
	char what[TALLY_REASON_MAX - 80], q[64];
	int e = 0;

	memset(&r, 0, sizeof(r));
	if (x->election_id)
		copy_id(r.election_id, x->election_id);
	if (x->region_id)
		copy_id(r.region_id, x->region_id);

	/* The precinct and the contest first, so every later message can name them. */
	pv = json_object_get(root, "precinct_id");
	if (pv) {
		uint64_t u;
		if (json_whole(pv, UINT32_MAX, &u, what, sizeof(what)) == 0) {
			a.p = (uint32_t)u;
			a.has_p = true;
		}
	}
	cv = json_object_get(root, "contest_id");
	if (cv && json_contest_ok(cv)) {
		copy_id(r.contest_id, json_string_value(cv));
		display_id(r.contest_id, strlen(r.contest_id), a.contest);
	}

	json_object_foreach(root, key, v)
	{
		int i = json_field_index(key);
		uint64_t u;

		if (i >= 0) {
			seen[i] = true;
			if (json_whole(v, UINT32_MAX, &u, what, sizeof(what)) < 0) {
				bad = true;
				if ((e = row_error(f, &a, key, "%s", what)) < 0)
					return e;
				continue;
			}
			*field_ptr(&r, (size_t)i) = (uint32_t)u;
		} else if (strcmp(key, "votes") == 0) {
			if ((e = json_votes(f, &a, v, &r, &bad)) < 0)
				return e;
		} else if (strcmp(key, "contest_id") == 0) {
			if (json_contest_ok(v))
				continue;
			bad = contest_bad = true;
			if (json_is_string(v)) {
				quote(json_string_value(v), json_string_length(v), q, sizeof(q));
				e = row_error(f, &a, key, "'%s' must be at most %d characters", q,
				              TALLY_ID_MAX - 1);
			} else {
				e = row_error(f, &a, key, "must be a string, not %s", json_kind(v));
			}
			if (e < 0)
				return e;
		} else if (strcmp(key, "election_id") == 0 || strcmp(key, "region_id") == 0) {
			bool election = key[0] == 'e';
			size_t before = f->n_errors + f->n_errors_dropped;
			if ((e = json_check_id(f, &a, key, v,
			                       election ? x->election_id : x->region_id,
			                       election ? r.election_id : r.region_id)) < 0)
				return e;
			bad |= f->n_errors + f->n_errors_dropped != before;
		} else if (strcmp(key, "recorded_at_ms") == 0) {
			if (json_whole(v, INT64_MAX, &u, what, sizeof(what)) < 0) {
				bad = true;
				if ((e = row_error(f, &a, key, "%s", what)) < 0)
					return e;
				continue;
			}
			r.recorded_at_ms = u;
		} else {
			bad = true;
			quote(key, strlen(key), q, sizeof(q));
			if ((e = row_error(f, &a, "JSON", "unknown field '%s'", q)) < 0)
				return e;
		}
	}

	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].required && !seen[i]) {
			bad = true;
			if ((e = row_error(f, &a, fields[i].name, "missing")) < 0)
				return e;
		}
	if (!json_object_get(root, "votes")) {
		bad = true;
		if ((e = row_error(f, &a, "votes", "missing")) < 0)
			return e;
	}
	if (!contest_bad && (e = resolve_contest(x, f, &a, &r, &c, &bad)) < 0)
		return e;
	if (bad)
		return 0;
	canonical_votes(c, &r);
	return add_row(f, line, &r);
}

/* A top-level array: one protocol object per element, each on its own line. */
static int json_protocols(const struct protocol_expect *x, const uint8_t *data, size_t len,
                          json_t *root, uint32_t line, struct protocol_file *f)
{
	size_t n = json_array_size(root);
	uint32_t *lines;
	int e = 0;

	/* The same cap as CSV rows: it bounds the outbox transaction and the report. */
	if (n > PROTOCOL_FILE_MAX_ROWS)
		return protocol_file_add_error(f, 0, false, 0, "file",
		                               "more than %d protocols in one file",
		                               PROTOCOL_FILE_MAX_ROWS);
	if (n == 0)
		return 0;
	lines = malloc(n * sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		lines[i] = line;
	json_element_lines(data, len, lines, n);
	for (size_t i = 0; i < n && e == 0; i++) {
		json_t *v = json_array_get(root, i);
		if (json_is_object(v))
			e = json_protocol(x, f, v, lines[i]);
		else
			e = protocol_file_add_error(f, lines[i], false, 0, "JSON",
			                            "protocol %zu of the array must be an object, "
			                            "not %s",
			                            i + 1, json_kind(v));
	}
	free(lines);
	return e;
}

static int parse_json(const struct protocol_expect *x, const uint8_t *data, size_t len,
                      struct protocol_file *f)
{
	json_error_t jerr;
	json_t *root;
	uint32_t line;
	int e;

	root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return protocol_file_add_error(f, jerr.line > 0 ? (uint32_t)jerr.line : 0, false, 0,
		                               "JSON", "%s (column %d)", jerr.text, jerr.column);
	line = json_start_line(data, len);
	if (json_is_object(root))
		e = json_protocol(x, f, root, line);
	else if (json_is_array(root))
		e = json_protocols(x, data, len, root, line, f);
	else
		e = protocol_file_add_error(f, line, false, 0, "JSON",
		                            "the file must hold a protocol object or an array of "
		                            "them, not %s",
		                            json_kind(root));
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

/*
 * Option columns a header may have. Without a contest_id column every row
 * fills every option column, so a header has at most TALLY_MAX_OPTIONS of
 * them; with one, the columns may be the options of many contests (a
 * region's file with every district's candidates), each row filling its
 * own contest's (at most TALLY_MAX_OPTIONS).
 */
#define CSV_MAX_OPTION_COLUMNS 1024
#define CSV_MAX_COLUMNS        (N_FIELDS + 1 + CSV_MAX_OPTION_COLUMNS)

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

struct column {
	const char *id; /* into csv_header.options */
	uint32_t index; /* among the option columns */
};

/* The header, and scratch space for the rows. Owned by parse_csv(). */
struct csv_header {
	size_t n_columns;
	int not_counted_col; /* the ballots_not_counted column, or -1 */
	int contest_col;     /* the contest_id column, or -1 */
	size_t first_option; /* column of the first option */
	size_t n_options;
	char (*options)[TALLY_ID_MAX]; /* the option ids, column order; "" for a bad one */
	struct column *by_id;          /* the option columns sorted by id */
	int32_t *mine;                 /* per row: contest option index per option column, or -1 */
	struct span *cells;            /* per row: CSV_MAX_COLUMNS + 1 */
};

static void csv_header_clear(struct csv_header *h)
{
	free(h->options);
	free(h->by_id);
	free(h->mine);
	free(h->cells);
}

static int cmp_column(const void *a, const void *b)
{
	const struct column *x = a, *y = b;

	return strcmp(x->id, y->id);
}

/* The option column of `id`, or -1. O(log n). */
static int find_column(const struct csv_header *h, const char *id)
{
	size_t lo = 0, hi = h->n_options;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(h->by_id[mid].id, id);
		if (c == 0)
			return (int)h->by_id[mid].index;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Whether some contest of e has option `id` (a CSV column may serve several). */
static bool election_has_option(const struct tally_election *e, const char *id)
{
	for (size_t k = 0; k < e->n_contests; k++)
		if (tally_contest_option_index(&e->contests[k], id) >= 0)
			return true;
	return false;
}

/*
 * What the header's option columns need beyond being options of the
 * election (checked column by column). One contest: each of its options
 * has a column, as before contests existed. Several: a contest_id column
 * says which contest each row is for; a row's own options are checked row
 * by row.
 */
static int csv_header_options(const struct tally_election *e, struct protocol_file *f,
                              const struct csv_header *h)
{
	int err;

	if (e->n_contests != 1) {
		if (h->contest_col < 0)
			return protocol_file_add_error(
			    f, 1, false, 0, "header",
			    "no contest_id column: election '%s' has %zu contests (put contest_id "
			    "after ballots_invalid, before the option columns)",
			    e->election_id, e->n_contests);
		return 0;
	}
	for (size_t o = 0; o < e->contests[0].n_options; o++) {
		const char *id = e->contests[0].options[o].id;
		if (find_column(h, id) < 0 &&
		    (err = protocol_file_add_error(f, 1, false, 0, "header",
		                                   "no column for option '%s'", id)) < 0)
			return err;
	}
	return 0;
}

/*
 * An option column's id into h->options[j]: 0, or 1 after recording why
 * not. With an election it must be an option of one of its contests (of
 * the only one, when there is one).
 */
static int csv_option_column(const struct tally_election *el, struct protocol_file *f,
                             struct csv_header *h, size_t i, struct span c)
{
	size_t j = i - h->first_option;
	char q[64];
	int e;

	h->options[j][0] = '\0';
	quote(c.s, c.n, q, sizeof(q));
	if (c.n == 0 || c.n >= TALLY_ID_MAX || memchr(c.s, '\0', c.n))
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "column %zu: option id '%s' must be 1 to %d characters",
		                            i + 1, q, TALLY_ID_MAX - 1);
	else if (span_is(c, "contest_id") && h->contest_col >= 0)
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "column %zu: 'contest_id' appears twice", i + 1);
	else if (span_is(c, "ballots_not_counted") && h->not_counted_col >= 0)
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "column %zu: 'ballots_not_counted' appears twice",
		                            i + 1);
	else if (span_is(c, "contest_id") || span_is(c, "ballots_not_counted"))
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "column %zu: '%s' must come before the option columns",
		                            i + 1, q);
	else
		e = 1;
	if (e != 1)
		return e < 0 ? e : 1;
	memcpy(h->options[j], c.s, c.n);
	h->options[j][c.n] = '\0';
	for (size_t k = 0; k < j; k++)
		if (strcmp(h->options[k], h->options[j]) == 0) {
			h->options[j][0] = '\0';
			e = protocol_file_add_error(f, 1, false, 0, "header",
			                            "column %zu: option '%s' appears twice", i + 1,
			                            q);
			return e < 0 ? e : 1;
		}
	if (el &&
	    !(el->n_contests == 1 ? tally_contest_option_index(&el->contests[0], h->options[j]) >= 0
	                          : election_has_option(el, h->options[j]))) {
		h->options[j][0] = '\0';
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "column %zu: '%s' is not an option of %sthis election",
		                            i + 1, q, el->n_contests == 1 ? "" : "any contest of ");
		return e < 0 ? e : 1;
	}
	return 0;
}

/*
 * Reads the header into h (whose arrays the caller frees, also on error).
 * Returns 0, -EINVAL when the header has problems (recorded), -ENOMEM.
 */
static int csv_header(const struct protocol_expect *x, const char *s, size_t n,
                      struct protocol_file *f, struct csv_header *h)
{
	struct span *col;
	size_t count, before = f->n_errors + f->n_errors_dropped, i;
	char q[64];
	int e;

	memset(h, 0, sizeof(*h));
	h->not_counted_col = h->contest_col = -1;
	h->cells = col = malloc((CSV_MAX_COLUMNS + 1) * sizeof(*col));
	if (!col)
		return -ENOMEM;
	count = split(s, n, col, CSV_MAX_COLUMNS);
	/* A wrong fixed column leaves nothing to interpret the rows by: stop. */
	if (count > CSV_MAX_COLUMNS) {
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "more than %zu columns (at most %d option columns)",
		                            (size_t)CSV_MAX_COLUMNS, CSV_MAX_OPTION_COLUMNS);
		return e < 0 ? e : -EINVAL;
	}
	for (i = 0; i < N_REQUIRED_FIELDS; i++) {
		if (i >= count || !span_is(col[i], fields[i].name)) {
			if (i < count)
				quote(col[i].s, col[i].n, q, sizeof(q));
			e = protocol_file_add_error(
			    f, 1, false, 0, "header",
			    "column %zu is %s%s%s but must be '%s' (a header starts '%s'%s)", i + 1,
			    i < count ? "'" : "", i < count ? q : "missing", i < count ? "'" : "",
			    fields[i].name, csv_required_header,
			    i < count && span_is(col[i], "contest_id")
			        ? "; contest_id goes after ballots_invalid, before the options"
			        : "");
			return e < 0 ? e : -EINVAL;
		}
	}
	/* ballots_not_counted and contest_id, in either order, before the options. */
	for (; i < count; i++) {
		if (h->not_counted_col < 0 && span_is(col[i], "ballots_not_counted"))
			h->not_counted_col = (int)i;
		else if (h->contest_col < 0 && span_is(col[i], "contest_id"))
			h->contest_col = (int)i;
		else
			break;
	}
	h->first_option = i;
	h->n_columns = count;
	h->n_options = count - i;
	if (h->n_options > CSV_MAX_OPTION_COLUMNS) {
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "%zu option columns, at most %d", h->n_options,
		                            CSV_MAX_OPTION_COLUMNS);
		return e < 0 ? e : -EINVAL;
	}
	if (h->contest_col < 0 && h->n_options > TALLY_MAX_OPTIONS) {
		e = protocol_file_add_error(f, 1, false, 0, "header",
		                            "%zu option columns, at most %d (a row without "
		                            "contest_id fills every option column)",
		                            h->n_options, TALLY_MAX_OPTIONS);
		return e < 0 ? e : -EINVAL;
	}
	h->options = calloc(h->n_options + 1, sizeof(*h->options));
	h->by_id = calloc(h->n_options + 1, sizeof(*h->by_id));
	h->mine = calloc(h->n_options + 1, sizeof(*h->mine));
	if (!h->options || !h->by_id || !h->mine)
		return -ENOMEM;
	for (; i < count; i++)
		if ((e = csv_option_column(x->election, f, h, i, col[i])) < 0)
			return e;
	for (size_t j = 0; j < h->n_options; j++)
		h->by_id[j] = (struct column){h->options[j], (uint32_t)j};
	qsort(h->by_id, h->n_options, sizeof(*h->by_id), cmp_column);
	if (x->election) {
		if ((e = csv_header_options(x->election, f, h)) < 0)
			return e;
	} else if (h->n_options == 0) {
		if ((e = protocol_file_add_error(f, 1, false, 0, "header", "no option columns")) <
		    0)
			return e;
	}
	return f->n_errors + f->n_errors_dropped != before ? -EINVAL : 0;
}

/* One bad cell of a row, in the words operators know. */
static int csv_cell_error(struct protocol_file *f, const struct about *a, const char *where,
                          struct span cell, int pr)
{
	char q[64];

	quote(cell.s, cell.n, q, sizeof(q));
	if (cell.n == 0)
		return row_error(f, a, where, "empty");
	if (pr == -ERANGE)
		return row_error(f, a, where, "'%s' is above 4294967295", q);
	return row_error(f, a, where, "'%s' is not a whole number from 0 to 4294967295", q);
}

/*
 * Which option columns are contest c's (h->mine); records every option of
 * c that has no column. Without c every column counts as the row's.
 */
static int csv_columns_of(struct protocol_file *f, const struct about *a,
                          const struct tally_contest *c, struct csv_header *h, bool *bad)
{
	char where[80];
	int e;

	for (size_t j = 0; j < h->n_options; j++)
		h->mine[j] = c ? -1 : 0;
	for (size_t o = 0; c && o < c->n_options; o++) {
		int j = find_column(h, c->options[o].id);
		if (j >= 0) {
			h->mine[j] = (int32_t)o;
			continue;
		}
		*bad = true;
		snprintf(where, sizeof(where), "votes.%s", c->options[o].id);
		if ((e = row_error(f, a, where, "no column for option '%s' of contest '%s'",
		                   c->options[o].id, c->id)) < 0)
			return e;
	}
	return 0;
}

/*
 * One row. With a contest_id column the row's contest decides its cells:
 * its options must be filled (0 for none), the other options' cells left
 * empty; without an election its empty cells are simply left out.
 */
static int csv_row(const struct protocol_expect *x, struct csv_header *h, uint32_t line,
                   const char *s, size_t n, struct protocol_file *f)
{
	struct span *col = h->cells;
	size_t count = split(s, n, col, CSV_MAX_COLUMNS);
	const struct tally_contest *c = NULL;
	struct tally_result r;
	struct about a = {.line = line};
	bool bad = false, named = true; /* named: the row's contest cell is usable */
	uint64_t u;
	char q[64], where[80];
	int e;

	if (parse_u64(col[0].s, col[0].n, UINT32_MAX, &u) == 0) {
		a.p = (uint32_t)u;
		a.has_p = true;
	}
	memset(&r, 0, sizeof(r));
	if (h->contest_col >= 0 && (size_t)h->contest_col < count) {
		struct span cs = col[h->contest_col];
		named = cs.n < TALLY_ID_MAX && !memchr(cs.s, '\0', cs.n);
		if (named) {
			memcpy(r.contest_id, cs.s, cs.n);
			r.contest_id[cs.n] = '\0';
			display_id(cs.s, cs.n, a.contest);
		}
	}
	if (count != h->n_columns)
		return row_error(f, &a, "row", "%s%zu fields, but the header has %zu",
		                 count > CSV_MAX_COLUMNS ? "more than " : "",
		                 count > CSV_MAX_COLUMNS ? (size_t)CSV_MAX_COLUMNS : count,
		                 h->n_columns);
	if (x->election_id)
		copy_id(r.election_id, x->election_id);
	if (x->region_id)
		copy_id(r.region_id, x->region_id);

	if (!named) {
		struct span cs = col[h->contest_col];
		bad = true;
		quote(cs.s, cs.n, q, sizeof(q));
		if ((e = row_error(f, &a, "contest_id", "'%s' must be at most %d characters", q,
		                   TALLY_ID_MAX - 1)) < 0)
			return e;
	} else if ((e = resolve_contest(x, f, &a, &r, &c, &bad)) < 0) {
		return e;
	}
	named = named && (c || !x->election);

	for (size_t i = 0; i < h->first_option; i++) {
		size_t fi = i < N_REQUIRED_FIELDS ? i : FIELD_NOT_COUNTED;
		int pr;

		if ((int)i == h->contest_col)
			continue;
		pr = parse_u64(col[i].s, col[i].n, UINT32_MAX, &u);
		if (pr < 0) {
			bad = true;
			if ((e = csv_cell_error(f, &a, fields[fi].name, col[i], pr)) < 0)
				return e;
			continue;
		}
		*field_ptr(&r, fi) = (uint32_t)u;
	}
	if ((e = csv_columns_of(f, &a, c, h, &bad)) < 0)
		return e;
	for (size_t j = 0; j < h->n_options; j++) {
		struct span cell = col[h->first_option + j];
		const char *name = h->options[j];
		bool mine = h->mine[j] >= 0;
		/* With a contest_id column an empty cell is another contest's option. */
		bool empty = cell.n == 0 && h->contest_col >= 0;
		int pr = 0;

		if (empty && (!mine || !c))
			continue; /* or the row names no contest this file can place */
		if (!empty)
			pr = parse_u64(cell.s, cell.n, UINT32_MAX, &u);
		if (!empty && pr == 0 && mine) {
			if (!named)
				continue;
			if (r.n_votes == TALLY_MAX_OPTIONS) {
				bad = true;
				if ((e = row_error(f, &a, "votes", "more than %d options filled in",
				                   TALLY_MAX_OPTIONS)) < 0)
					return e;
				break;
			}
			copy_id(r.votes[r.n_votes].option_id, name);
			r.votes[r.n_votes].count = (uint32_t)u;
			r.n_votes++;
			continue;
		}
		/* A problem with this cell; only now is it worth naming. */
		bad = true;
		snprintf(where, sizeof(where), "votes.%s", name);
		quote(cell.s, cell.n, q, sizeof(q));
		if (empty)
			e = row_error(
			    f, &a, where,
			    "empty, but '%s' is an option of contest '%s' (0 if it got no votes)",
			    name, c->id);
		else if (pr < 0)
			e = csv_cell_error(f, &a, where, cell, pr);
		else
			e = row_error(
			    f, &a, where,
			    "'%s', but '%s' is not an option of contest '%s' (leave the cell "
			    "empty)",
			    q, name, c->id);
		if (e < 0)
			return e;
	}
	if (bad)
		return 0;
	canonical_votes(c, &r);
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
	int e = 0;

	memset(&h, 0, sizeof(h));
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
			if (t.n == 0) {
				e = protocol_file_add_error(f, line, false, 0, "header",
				                            "empty; a header starts '%s'",
				                            csv_required_header);
				goto out;
			}
			e = csv_header(x, s + pos, n, f, &h);
			if (e < 0) {
				e = e == -EINVAL ? 0 : e;
				goto out;
			}
			have_header = true;
		} else if (t.n > 0) {
			if (++rows > PROTOCOL_FILE_MAX_ROWS) {
				e = protocol_file_add_error(f, 0, false, 0, "file",
				                            "more than %d protocols in one file",
				                            PROTOCOL_FILE_MAX_ROWS);
				goto out;
			}
			if ((e = csv_row(x, &h, line, s + pos, n, f)) < 0)
				goto out;
		}
		pos = end + 1;
	}
	if (!have_header)
		e = protocol_file_add_error(f, 0, false, 0, "file",
		                            "empty; a CSV file starts with the header '%s'",
		                            csv_required_header);
out:
	csv_header_clear(&h);
	return e;
}

/* --------------------------------------------------------------- shared */

struct seen {
	uint32_t precinct;
	const char *contest; /* the contest's id as the election spells it, else the row's */
	uint32_t line;
	size_t row;
};

static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	int c;

	if (x->precinct != y->precinct)
		return x->precinct < y->precinct ? -1 : 1;
	if ((c = strcmp(x->contest, y->contest)) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Two protocols of one precinct for one contest in a file are ambiguous:
 * flag every later copy. A left-out contest_id is the only contest, so it
 * and that contest's id name the same one.
 */
static int check_duplicates(const struct protocol_expect *x, struct protocol_file *f)
{
	struct seen *s;
	int e = 0;

	if (f->n_rows < 2)
		return 0;
	s = calloc(f->n_rows, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct tally_result *r = &f->rows[i].result;
		int k = x->election ? tally_election_contest_index(x->election, r->contest_id) : -1;
		s[i] = (struct seen){r->precinct_id,
		                     k >= 0 ? x->election->contests[k].id : r->contest_id,
		                     f->rows[i].line, i};
	}
	qsort(s, f->n_rows, sizeof(*s), cmp_seen);
	for (size_t i = 1, first = 0; i < f->n_rows && e == 0; i++) {
		const struct protocol_row *row = &f->rows[s[i].row];
		char contest[TALLY_ID_MAX + 16] = "", shown[TALLY_ID_MAX];

		if (s[i].precinct != s[first].precinct || strcmp(s[i].contest, s[first].contest)) {
			first = i;
			continue;
		}
		if (row->result.contest_id[0]) {
			display_id(s[i].contest, strlen(s[i].contest), shown);
			snprintf(contest, sizeof(contest), " contest %s", shown);
		}
		e = protocol_file_add_row_error(f, row, "precinct_id",
		                                "precinct %u%s appears again (first at line %u)",
		                                s[i].precinct, contest, s[first].line);
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
		e = check_duplicates(expect, f);
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
	char at[32] = "file", who[32 + TALLY_ID_MAX + 16] = "";
	size_t n = 0;

	if (e->line > 0)
		snprintf(at, sizeof(at), "line %u", e->line);
	if (e->has_precinct)
		n += (size_t)snprintf(who + n, sizeof(who) - n, " precinct %u", e->precinct_id);
	if (e->contest[0])
		n += (size_t)snprintf(who + n, sizeof(who) - n, " contest %s", e->contest);
	if (n > 0)
		snprintf(who + n, sizeof(who) - n, ":");
	if (strcmp(e->where, "file") == 0)
		snprintf(buf, cap, "%s:%s %s", at, who, e->message);
	else
		snprintf(buf, cap, "%s:%s %s: %s", at, who, e->where, e->message);
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
	char *out, line[PROTOCOL_ERROR_TEXT_MAX];

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
