/*
 * election_load.c: reads an election definition from JSON (jansson) into
 * the model of election.h. Loading is where operator mistakes are caught,
 * so every problem is reported with the JSON path
 * (`contests[1].options[2].party`) and what is wrong with it; what this
 * file accepts, election.c may take for granted (ids unique, references
 * resolved, counts within their caps). The format is docs/elections.md.
 *
 * Large definitions are mostly precincts: they are read in one pass per
 * region (and per district), each region's parse tree is given back as
 * soon as it is converted, and nothing is formatted on the fast path.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <jansson.h>

#include "tally/election.h"

/* A definition file larger than this is a mistake (1M precincts is ~50 MB). */
#define ELECTION_FILE_MAX (512L * 1024 * 1024)

/* A precinct while loading: where it came from, for duplicate reports. */
struct loading_precinct {
	uint32_t id;
	uint32_t registered;
	uint32_t region;
	uint32_t pos : 31;    /* index within its region's "precincts" */
	uint32_t compact : 1; /* written as [id, registered] */
};

/* A region's "precincts" longer than this cannot be told apart in `pos`. */
#define REGION_PRECINCTS_MAX 0x7fffffffu

/* Rule and enum spellings, indexed by the enums of rules.h. */
static const char *const kind_names[] = {"referendum", "candidate", "party_list"};
static const char *const denominator_names[] = {"ballots_cast", "valid"};
static const char *const win_names[] = {"plurality", "absolute_majority"};
static const char *const method_names[] = {"hare", "dhondt", "sainte_lague"};
static const char *const tie_names[] = {"ballot_order", "lot"};
static const char *const overflow_names[] = {"redistribute", "vacant"};
#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]))

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* The separator between a path and a key: none at the top level. */
static const char *dot(const char *path)
{
	return *path ? "." : "";
}

/*
 * Identifiers appear in file names (<region>.pem), URLs (/v1/regions/{id})
 * and log lines, so they are kept to a safe, unquoted alphabet.
 */
static int id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == ':';
}

/* Looks up obj[key], which must exist and be of json type `want`. */
static int get_member(const json_t *obj, const char *path, const char *key, json_type want,
                      const char *what, json_t **ret, struct tally_err *err)
{
	json_t *j = json_object_get(obj, key);

	if (j == NULL)
		return tally_err_set(err, -EINVAL, "%s%s%s: missing, expected %s", path, dot(path),
		                     key, what);
	if (json_typeof(j) != want)
		return tally_err_set(err, -EINVAL, "%s%s%s: expected %s, got %s", path, dot(path),
		                     key, what, type_name(j));
	*ret = j;
	return 0;
}

/* An identifier: a non-empty string of at most TALLY_ID_MAX-1 safe characters. */
static int get_id(const json_t *obj, const char *path, const char *key, char ret[TALLY_ID_MAX],
                  struct tally_err *err)
{
	json_t *j = NULL; /* set when get_member() returns 0 */
	const char *s;
	size_t n;
	int rc;

	rc = get_member(obj, path, key, JSON_STRING, "a string", &j, err);
	if (rc < 0)
		return rc;
	s = json_string_value(j);
	n = json_string_length(j);
	if (n == 0)
		return tally_err_set(err, -EINVAL, "%s%s%s: must not be empty", path, dot(path),
		                     key);
	if (n > TALLY_ID_MAX - 1)
		return tally_err_set(err, -EINVAL, "%s%s%s: longer than %d characters", path,
		                     dot(path), key, TALLY_ID_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		if (!id_char_ok(s[i]))
			return tally_err_set(
			    err, -EINVAL,
			    "%s%s%s: \"%s\" may only hold letters, digits and - _ . :", path,
			    dot(path), key, s);
	}
	memcpy(ret, s, n + 1);
	return 0;
}

/* ---- names, colours, tiles ---- */

/* "kk", "rus", "sr-Latn", "zh-Hant-TW": 2-3 lowercase letters, then -subtags. */
static bool lang_tag_ok(const char *s)
{
	size_t n = 0;

	while (s[n] >= 'a' && s[n] <= 'z')
		n++;
	if (n < 2 || n > 3)
		return false;
	while (s[n] == '-') {
		size_t start = ++n;
		while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		       (s[n] >= '0' && s[n] <= '9'))
			n++;
		if (n == start)
			return false;
	}
	return s[n] == '\0' && n < TALLY_LANG_TAG_MAX;
}

/* The default among a name's languages: "en", "ru", "kk", else the first. */
static char *default_text(const struct tally_name *n)
{
	static const char *const preferred[] = {"en", "ru", "kk"};

	for (size_t p = 0; p < N_NAMES(preferred); p++) {
		for (size_t i = 0; i < n->n_langs; i++) {
			if (strcmp(n->langs[i].tag, preferred[p]) == 0)
				return n->langs[i].text;
		}
	}
	return n->langs[0].text;
}

/*
 * A name at obj[key]: a non-empty string, or an object of language tag ->
 * non-empty string. Returns 1 (and leaves *ret empty) when it is absent
 * and not required.
 */
static int get_name(const json_t *obj, const char *path, const char *key, bool required,
                    struct tally_name *ret, struct tally_err *err)
{
	json_t *j = json_object_get(obj, key), *v;
	const char *tag;

	if (j == NULL) {
		if (!required)
			return 1;
		return tally_err_set(err, -EINVAL, "%s%s%s: missing, expected a string", path,
		                     dot(path), key);
	}
	if (json_is_string(j)) {
		if (json_string_length(j) == 0)
			return tally_err_set(err, -EINVAL, "%s%s%s: must not be empty", path,
			                     dot(path), key);
		ret->text = strdup(json_string_value(j));
		return ret->text ? 0 : -ENOMEM;
	}
	if (!json_is_object(j))
		return tally_err_set(err, -EINVAL,
		                     "%s%s%s: expected a string or an object of language -> text, "
		                     "got %s",
		                     path, dot(path), key, type_name(j));
	if (json_object_size(j) == 0)
		return tally_err_set(err, -EINVAL, "%s%s%s: must name at least one language", path,
		                     dot(path), key);
	if (json_object_size(j) > TALLY_MAX_LANGS)
		return tally_err_set(err, -EINVAL,
		                     "%s%s%s: %zu languages, at most %d are supported", path,
		                     dot(path), key, json_object_size(j), TALLY_MAX_LANGS);
	json_object_foreach(j, tag, v)
	{
		size_t k = ret->n_langs;
		if (!lang_tag_ok(tag))
			return tally_err_set(
			    err, -EINVAL,
			    "%s%s%s: \"%s\" is not a language tag (2 or 3 lowercase "
			    "letters, then optionally - and letters or digits, as in "
			    "\"kk\" or \"sr-Latn\")",
			    path, dot(path), key, tag);
		if (!json_is_string(v))
			return tally_err_set(err, -EINVAL, "%s%s%s.%s: expected a string, got %s",
			                     path, dot(path), key, tag, type_name(v));
		if (json_string_length(v) == 0)
			return tally_err_set(err, -EINVAL, "%s%s%s.%s: must not be empty", path,
			                     dot(path), key, tag);
		memcpy(ret->langs[k].tag, tag, strlen(tag) + 1);
		ret->langs[k].text = strdup(json_string_value(v));
		if (ret->langs[k].text == NULL)
			return -ENOMEM;
		ret->n_langs = k + 1;
	}
	ret->text = default_text(ret);
	return 0;
}

/* A name that is just `s` (an id standing in for a name). */
static int name_of(struct tally_name *ret, const char *s)
{
	ret->text = strdup(s);
	return ret->text ? 0 : -ENOMEM;
}

/* A deep copy of `src` into the empty `dst`. */
static int name_copy(struct tally_name *dst, const struct tally_name *src)
{
	if (src->n_langs == 0)
		return name_of(dst, src->text);
	for (size_t i = 0; i < src->n_langs; i++) {
		memcpy(dst->langs[i].tag, src->langs[i].tag, sizeof(dst->langs[i].tag));
		dst->langs[i].text = strdup(src->langs[i].text);
		if (dst->langs[i].text == NULL)
			return -ENOMEM;
		dst->n_langs = i + 1;
		if (src->text == src->langs[i].text)
			dst->text = dst->langs[i].text;
	}
	return 0;
}

static int hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An optional "color": "#rrggbb", kept in lowercase; ret is left alone if absent. */
static int get_color(const json_t *obj, const char *path, char ret[8], struct tally_err *err)
{
	json_t *j = json_object_get(obj, "color");
	const char *s;

	if (j == NULL)
		return 0;
	if (!json_is_string(j))
		return tally_err_set(err, -EINVAL, "%s.color: expected a string, got %s", path,
		                     type_name(j));
	s = json_string_value(j);
	if (json_string_length(j) != 7 || s[0] != '#' || !hex_digit(s[1]) || !hex_digit(s[2]) ||
	    !hex_digit(s[3]) || !hex_digit(s[4]) || !hex_digit(s[5]) || !hex_digit(s[6]))
		return tally_err_set(
		    err, -EINVAL, "%s.color: \"%s\" is not a colour of the form #rrggbb", path, s);
	for (size_t i = 0; i < 8; i++)
		ret[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
	return 0;
}

/* An optional "tile": [column, row], each 0..TALLY_TILE_MAX. */
static int get_tile(const json_t *obj, const char *path, struct tally_region *reg,
                    struct tally_err *err)
{
	static const char *const what[] = {"column", "row"};
	json_t *j = json_object_get(obj, "tile");
	json_int_t v[2];

	if (j == NULL)
		return 0;
	if (!json_is_array(j))
		return tally_err_set(err, -EINVAL, "%s.tile: expected [column, row], got %s", path,
		                     type_name(j));
	if (json_array_size(j) != 2)
		return tally_err_set(
		    err, -EINVAL, "%s.tile: expected [column, row], got an array of %zu element%s",
		    path, json_array_size(j), json_array_size(j) == 1 ? "" : "s");
	for (size_t k = 0; k < 2; k++) {
		const json_t *x = json_array_get(j, k);
		if (!json_is_integer(x))
			return tally_err_set(err, -EINVAL,
			                     "%s.tile[%zu]: expected an integer (%s), got %s", path,
			                     k, what[k], type_name(x));
		v[k] = json_integer_value(x);
		if (v[k] < 0 || v[k] > TALLY_TILE_MAX)
			return tally_err_set(err, -EINVAL,
			                     "%s.tile[%zu]: %" JSON_INTEGER_FORMAT
			                     " is out of range (0..%d)",
			                     path, k, v[k], TALLY_TILE_MAX);
	}
	reg->has_tile = true;
	reg->tile_col = (int32_t)v[0];
	reg->tile_row = (int32_t)v[1];
	return 0;
}

/* Two regions on one tile would hide each other on the map. */
static int check_tiles(const struct tally_election *e, struct tally_err *err)
{
	enum { SIDE = TALLY_TILE_MAX + 1 };
	uint32_t *first; /* region + 1, by tile */
	size_t i = 0;
	int rc = 0;

	while (i < e->n_regions && !e->regions[i].has_tile)
		i++;
	if (i == e->n_regions)
		return 0;
	first = calloc((size_t)SIDE * SIDE, sizeof(*first));
	if (first == NULL)
		return -ENOMEM;
	for (; i < e->n_regions && rc == 0; i++) {
		const struct tally_region *r = &e->regions[i];
		uint32_t *slot;
		if (!r->has_tile)
			continue;
		slot = &first[(size_t)r->tile_row * SIDE + (size_t)r->tile_col];
		if (*slot != 0)
			rc = tally_err_set(err, -EINVAL,
			                   "regions[%zu].tile: [%" PRId32 ", %" PRId32
			                   "] is already the tile of regions[%" PRIu32 "]",
			                   i, r->tile_col, r->tile_row, *slot - 1);
		*slot = (uint32_t)i + 1;
	}
	free(first);
	return rc;
}

/* ---- numbers ---- */

static int get_u32(const json_t *obj, const char *path, const char *key, uint32_t min, uint32_t max,
                   uint32_t *ret, struct tally_err *err)
{
	json_t *j = NULL; /* set when get_member() returns 0 */
	json_int_t v;
	int rc;

	rc = get_member(obj, path, key, JSON_INTEGER, "an integer", &j, err);
	if (rc < 0)
		return rc;
	v = json_integer_value(j);
	if (v < (json_int_t)min || v > (json_int_t)max)
		return tally_err_set(err, -EINVAL,
		                     "%s.%s: %" JSON_INTEGER_FORMAT " is out of range (%" PRIu32
		                     "..%" PRIu32 ")",
		                     path, key, v, min, max);
	*ret = (uint32_t)v;
	return 0;
}

/* j as a uint32 in min..UINT32_MAX: the fast path, which formats nothing. */
static bool u32_ok(const json_t *j, uint32_t min, uint32_t *ret)
{
	json_int_t v;

	if (!json_is_integer(j))
		return false;
	v = json_integer_value(j);
	if (v < (json_int_t)min || v > (json_int_t)UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Element `k` of a compact precinct, whose path is ppath[k]. */
static int get_compact_u32(const json_t *p, const char *ppath, size_t k, const char *what,
                           uint32_t min, uint32_t *ret, struct tally_err *err)
{
	const json_t *j = json_array_get(p, k);
	json_int_t v;

	if (!json_is_integer(j))
		return tally_err_set(err, -EINVAL, "%s[%zu]: expected an integer (%s), got %s",
		                     ppath, k, what, type_name(j));
	v = json_integer_value(j);
	if (v < (json_int_t)min || v > (json_int_t)UINT32_MAX)
		return tally_err_set(err, -EINVAL,
		                     "%s[%zu]: %" JSON_INTEGER_FORMAT " is out of range (%" PRIu32
		                     "..4294967295)",
		                     ppath, k, v, min);
	*ret = (uint32_t)v;
	return 0;
}

/* The shortest text that reads back as v: 0.6667, not 0.66670000000000007; 150, not 1.5e+02. */
static void fmt_number(double v, char *buf, size_t cap)
{
	if (v == nearbyint(v) && fabs(v) < 1e15) {
		snprintf(buf, cap, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* ---- precincts and regions ---- */

/*
 * One precinct, regions[i].precincts[j], as {"id": N, "registered": M} or
 * as the compact [N, M]. The path is only formatted once something is
 * wrong: at a million precincts the snprintf alone was a visible share of
 * the load. Precinct id 0 is refused: it is what a result that lacks the
 * field decodes to, and must never match a precinct.
 */
static int parse_precinct(const json_t *p, size_t i, size_t j, struct loading_precinct *x,
                          struct tally_err *err)
{
	char ppath[128];
	int rc;

	if (json_is_array(p)) {
		x->compact = 1;
		if (json_array_size(p) == 2 && u32_ok(json_array_get(p, 0), 1, &x->id) &&
		    u32_ok(json_array_get(p, 1), 0, &x->registered))
			return 0;
		snprintf(ppath, sizeof(ppath), "regions[%zu].precincts[%zu]", i, j);
		if (json_array_size(p) != 2)
			return tally_err_set(err, -EINVAL,
			                     "%s: expected [id, registered], got an array of %zu "
			                     "element%s",
			                     ppath, json_array_size(p),
			                     json_array_size(p) == 1 ? "" : "s");
		rc = get_compact_u32(p, ppath, 0, "id", 1, &x->id, err);
		if (rc < 0)
			return rc;
		return get_compact_u32(p, ppath, 1, "registered", 0, &x->registered, err);
	}
	x->compact = 0;
	if (json_is_object(p) && u32_ok(json_object_get(p, "id"), 1, &x->id) &&
	    u32_ok(json_object_get(p, "registered"), 0, &x->registered))
		return 0;
	snprintf(ppath, sizeof(ppath), "regions[%zu].precincts[%zu]", i, j);
	if (!json_is_object(p))
		return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", ppath,
		                     type_name(p));
	rc = get_u32(p, ppath, "id", 1, UINT32_MAX, &x->id, err);
	if (rc < 0)
		return rc;
	return get_u32(p, ppath, "registered", 0, UINT32_MAX, &x->registered, err);
}

static int cmp_precinct_loading(const void *a, const void *b)
{
	const struct loading_precinct *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* Ties in document order, so the first occurrence is reported as first. */
	if (x->region != y->region)
		return x->region < y->region ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

struct region_ref {
	const char *id;
	size_t index;
};

static int cmp_region_ref(const void *a, const void *b)
{
	const struct region_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Region ids are unique; sorting finds duplicates without a quadratic scan. */
static int check_region_ids(const struct tally_election *e, struct tally_err *err)
{
	struct region_ref *refs;
	int rc = 0;

	if (e->n_regions < 2)
		return 0;
	refs = malloc(e->n_regions * sizeof(*refs));
	if (refs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_regions; i++) {
		refs[i].id = e->regions[i].id;
		refs[i].index = i;
	}
	qsort(refs, e->n_regions, sizeof(*refs), cmp_region_ref);
	for (size_t i = 1; i < e->n_regions; i++) {
		if (strcmp(refs[i - 1].id, refs[i].id) == 0) {
			rc = tally_err_set(err, -EINVAL,
			                   "regions[%zu].id: duplicate region id \"%s\" (first at "
			                   "regions[%zu])",
			                   refs[i].index, refs[i].id, refs[i - 1].index);
			break;
		}
	}
	free(refs);
	return rc;
}

/*
 * Reads every region and its precincts into `lp` (allocated here, the
 * caller frees), checking each field.
 */
static int parse_regions(const json_t *root, struct tally_election *e,
                         struct loading_precinct **ret_lp, size_t *ret_n, struct tally_err *err)
{
	json_t *arr, *r, *precincts, *p;
	size_t i, j, total = 0, n = 0;
	struct loading_precinct *lp;
	char path[96];
	int rc;

	rc = get_member(root, "", "regions", JSON_ARRAY, "an array", &arr, err);
	if (rc < 0)
		return rc;
	if (json_array_size(arr) == 0)
		return tally_err_set(err, -EINVAL, "regions: must not be empty");
	if (json_array_size(arr) > UINT32_MAX)
		return tally_err_set(err, -EINVAL, "regions: too many regions");

	/* First pass: shapes and sizes, so the precinct array is allocated once. */
	json_array_foreach(arr, i, r)
	{
		snprintf(path, sizeof(path), "regions[%zu]", i);
		if (!json_is_object(r))
			return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
			                     type_name(r));
		rc = get_member(r, path, "precincts", JSON_ARRAY, "an array", &precincts, err);
		if (rc < 0)
			return rc;
		if (json_array_size(precincts) > REGION_PRECINCTS_MAX)
			return tally_err_set(err, -EINVAL, "%s.precincts: too many precincts",
			                     path);
		total += json_array_size(precincts);
	}
	if (total > UINT32_MAX)
		return tally_err_set(err, -EINVAL, "regions: too many precincts");

	e->regions = calloc(json_array_size(arr), sizeof(*e->regions));
	lp = malloc((total ? total : 1) * sizeof(*lp));
	if (e->regions == NULL || lp == NULL) {
		free(lp);
		return -ENOMEM;
	}
	*ret_lp = lp;

	json_array_foreach(arr, i, r)
	{
		struct tally_region *reg = &e->regions[i];
		snprintf(path, sizeof(path), "regions[%zu]", i);
		e->n_regions = i + 1;
		rc = get_id(r, path, "id", reg->id, err);
		if (rc < 0)
			return rc;
		rc = get_name(r, path, "name", true, &reg->names, err);
		if (rc < 0)
			return rc;
		reg->name = reg->names.text;
		rc = get_tile(r, path, reg, err);
		if (rc < 0)
			return rc;
		precincts = json_object_get(r, "precincts");
		reg->precincts =
		    malloc((json_array_size(precincts) ? json_array_size(precincts) : 1) *
		           sizeof(*reg->precincts));
		if (reg->precincts == NULL)
			return -ENOMEM;
		json_array_foreach(precincts, j, p)
		{
			struct loading_precinct *x = &lp[n];
			rc = parse_precinct(p, i, j, x, err);
			if (rc < 0)
				return rc;
			x->region = (uint32_t)i;
			x->pos = (uint32_t)j;
			reg->registered += x->registered;
			e->registered += x->registered;
			n++;
		}
		/*
		 * The region's precincts are copied out: give their tree back
		 * now, so that the arrays allocated from here on reuse it rather
		 * than grow the peak.
		 */
		json_array_clear(precincts);
	}
	*ret_n = n;
	rc = check_region_ids(e, err);
	if (rc < 0)
		return rc;
	return check_tiles(e, err);
}

/*
 * Sorts the loaded precincts, rejects duplicates, and builds the indexes.
 * Definitions are usually written in ascending id order (election.py does),
 * and a strictly ascending list has no duplicates: one pass proves it and
 * saves the sort (and glibc's merge buffer of the whole list, 16 MB at a
 * million precincts). Otherwise ties sort in document order, so that the
 * first occurrence is the one reported as first.
 */
static int index_precincts(struct tally_election *e, struct loading_precinct *lp, size_t n,
                           struct tally_err *err)
{
	size_t i = 1;

	while (i < n && lp[i - 1].id < lp[i].id)
		i++;
	if (i < n) {
		qsort(lp, n, sizeof(*lp), cmp_precinct_loading);
		for (i = 1; i < n; i++) {
			if (lp[i - 1].id == lp[i].id)
				return tally_err_set(err, -EINVAL,
				                     "regions[%" PRIu32 "].precincts[%" PRIu32
				                     "]%s: duplicate precinct id %" PRIu32
				                     " (first at regions[%" PRIu32
				                     "].precincts[%" PRIu32 "])",
				                     lp[i].region, (uint32_t)lp[i].pos,
				                     lp[i].compact ? "[0]" : ".id", lp[i].id,
				                     lp[i - 1].region, (uint32_t)lp[i - 1].pos);
		}
	}
	e->precincts = malloc((n ? n : 1) * sizeof(*e->precincts));
	if (e->precincts == NULL)
		return -ENOMEM;
	e->n_precincts = n;
	/* Walking in id order appends to each region's list in ascending id. */
	for (i = 0; i < n; i++) {
		struct tally_region *reg = &e->regions[lp[i].region];
		e->precincts[i].id = lp[i].id;
		e->precincts[i].registered = lp[i].registered;
		e->precincts[i].region = lp[i].region;
		reg->precincts[reg->n_precincts++] = (uint32_t)i;
	}
	return 0;
}

/* ---- parties and districts ---- */

/*
 * Ids unique within their list, `by_id` being the list's index sorted by
 * id (ties in definition order, so the earlier one is named first).
 */
static int check_unique_ids(const void *base, size_t n, size_t stride, const uint32_t *by_id,
                            const char *list, const char *what, struct tally_err *err)
{
	for (size_t k = 1; k < n; k++) {
		const char *a = (const char *)base + (size_t)by_id[k - 1] * stride;
		const char *b = (const char *)base + (size_t)by_id[k] * stride;
		if (strcmp(a, b) == 0)
			return tally_err_set(err, -EINVAL,
			                     "%s[%" PRIu32 "].id: duplicate %s id \"%s\" (first at "
			                     "%s[%" PRIu32 "])",
			                     list, by_id[k], what, b, list, by_id[k - 1]);
	}
	return 0;
}

/* An optional top-level array; *ret is NULL when absent. */
static int get_list(const json_t *root, const char *key, json_t **ret, struct tally_err *err)
{
	json_t *j = json_object_get(root, key);

	*ret = NULL;
	if (j == NULL)
		return 0;
	if (!json_is_array(j))
		return tally_err_set(err, -EINVAL, "%s: expected an array, got %s", key,
		                     type_name(j));
	if (json_array_size(j) > INT32_MAX)
		return tally_err_set(err, -EINVAL, "%s: too many entries", key);
	*ret = j;
	return 0;
}

static int parse_parties(const json_t *root, struct tally_election *e, struct tally_err *err)
{
	json_t *arr, *o;
	size_t i;
	char path[48];
	int rc;

	rc = get_list(root, "parties", &arr, err);
	if (rc < 0 || arr == NULL || json_array_size(arr) == 0)
		return rc;
	e->parties = calloc(json_array_size(arr), sizeof(*e->parties));
	if (e->parties == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, o)
	{
		struct tally_party *p = &e->parties[i];
		snprintf(path, sizeof(path), "parties[%zu]", i);
		if (!json_is_object(o))
			return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
			                     type_name(o));
		e->n_parties = i + 1;
		rc = get_id(o, path, "id", p->id, err);
		if (rc == 0)
			rc = get_name(o, path, "name", true, &p->name, err);
		if (rc == 0)
			rc = get_color(o, path, p->color, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Positions of the first two occurrences of `id` in a district's list. */
static void find_twice(const json_t *arr, uint32_t id, size_t *ret_first, size_t *ret_second)
{
	size_t j, seen = 0;
	json_t *v;

	*ret_first = *ret_second = 0;
	json_array_foreach(arr, j, v)
	{
		if (json_integer_value(v) != (json_int_t)id)
			continue;
		if (seen++ == 0) {
			*ret_first = j;
		} else {
			*ret_second = j;
			return;
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * One district's precincts: ids of precincts of any region, each once,
 * kept as ascending precinct indexes. Like a region, its tree is given
 * back once converted.
 */
static int parse_district_precincts(struct tally_election *e, struct tally_district *d, json_t *arr,
                                    const char *path, struct tally_err *err)
{
	bool ascending = true;
	size_t j;
	json_t *v;

	if (json_array_size(arr) == 0)
		return tally_err_set(err, -EINVAL, "%s.precincts: must not be empty", path);
	d->precincts = malloc(json_array_size(arr) * sizeof(*d->precincts));
	if (d->precincts == NULL)
		return -ENOMEM;
	json_array_foreach(arr, j, v)
	{
		uint32_t id;
		int64_t idx;
		if (!u32_ok(v, 1, &id)) {
			if (!json_is_integer(v))
				return tally_err_set(
				    err, -EINVAL,
				    "%s.precincts[%zu]: expected an integer (a precinct "
				    "id), got %s",
				    path, j, type_name(v));
			return tally_err_set(err, -EINVAL,
			                     "%s.precincts[%zu]: %" JSON_INTEGER_FORMAT
			                     " is out of range (1..4294967295)",
			                     path, j, json_integer_value(v));
		}
		idx = tally_election_precinct_index(e, id);
		if (idx < 0)
			return tally_err_set(err, -EINVAL,
			                     "%s.precincts[%zu]: unknown precinct %" PRIu32, path,
			                     j, id);
		if (j > 0 && (uint32_t)idx <= d->precincts[j - 1])
			ascending = false;
		d->precincts[j] = (uint32_t)idx;
		d->registered += e->precincts[idx].registered;
	}
	d->n_precincts = json_array_size(arr);
	if (!ascending) {
		qsort(d->precincts, d->n_precincts, sizeof(*d->precincts), cmp_u32);
		for (j = 1; j < d->n_precincts; j++) {
			if (d->precincts[j - 1] == d->precincts[j]) {
				uint32_t id = e->precincts[d->precincts[j]].id;
				size_t first, second;
				find_twice(arr, id, &first, &second);
				return tally_err_set(
				    err, -EINVAL,
				    "%s.precincts[%zu]: precinct %" PRIu32
				    " is listed twice (first at %s.precincts[%zu])",
				    path, second, id, path, first);
			}
		}
	}
	json_array_clear(arr);
	return 0;
}

static int parse_districts(const json_t *root, struct tally_election *e, struct tally_err *err)
{
	json_t *arr, *o, *precincts;
	size_t i;
	char path[48];
	int rc;

	rc = get_list(root, "districts", &arr, err);
	if (rc < 0 || arr == NULL || json_array_size(arr) == 0)
		return rc;
	e->districts = calloc(json_array_size(arr), sizeof(*e->districts));
	if (e->districts == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, o)
	{
		struct tally_district *d = &e->districts[i];
		snprintf(path, sizeof(path), "districts[%zu]", i);
		if (!json_is_object(o))
			return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
			                     type_name(o));
		e->n_districts = i + 1;
		rc = get_id(o, path, "id", d->id, err);
		if (rc < 0)
			return rc;
		rc = get_name(o, path, "name", false, &d->name, err);
		if (rc == 1)
			rc = name_of(&d->name, d->id);
		if (rc < 0)
			return rc;
		rc = get_member(o, path, "precincts", JSON_ARRAY, "an array", &precincts, err);
		if (rc < 0)
			return rc;
		rc = parse_district_precincts(e, d, precincts, path, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- options ---- */

/* An optional boolean obj[key]; *ret is left alone when absent. */
static int get_bool(const json_t *obj, const char *path, const char *key, bool *ret,
                    struct tally_err *err)
{
	json_t *j = json_object_get(obj, key);

	if (j == NULL)
		return 0;
	if (!json_is_boolean(j))
		return tally_err_set(err, -EINVAL, "%s.%s: expected a boolean, got %s", path, key,
		                     type_name(j));
	*ret = json_is_true(j);
	return 0;
}

/* One option of contest `c` (kind set), at `path`; earlier ones are c->options[0..k). */
static int parse_option(const json_t *o, const char *prefix, size_t k, const char *path,
                        bool legacy, const struct tally_election *e, struct tally_contest *c,
                        struct tally_err *err)
{
	struct tally_contest_option *opt = &c->options[k];
	const struct tally_party *party = NULL;
	int rc;

	opt->party = -1;
	rc = get_id(o, path, "id", opt->id, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < k; i++) {
		if (strcmp(c->options[i].id, opt->id) == 0)
			return tally_err_set(
			    err, -EINVAL,
			    "%s.id: duplicate option id \"%s\" (first at %s%soptions[%zu])", path,
			    opt->id, prefix, dot(prefix), i);
	}
	if (json_object_get(o, "party") != NULL) {
		char id[TALLY_ID_MAX];
		int p;
		if (c->kind == TALLY_CONTEST_REFERENDUM)
			return tally_err_set(err, -EINVAL,
			                     "%s.party: a referendum option has no party", path);
		rc = get_id(o, path, "party", id, err);
		if (rc < 0)
			return rc;
		p = tally_election_party_index(e, id);
		if (p < 0)
			return tally_err_set(err, -EINVAL, "%s.party: unknown party \"%s\"", path,
			                     id);
		opt->party = (int32_t)p;
		party = &e->parties[p];
	}
	rc = get_bool(o, path, "against_all", &opt->against_all, err);
	if (rc < 0)
		return rc;
	if (opt->against_all) {
		if (c->kind == TALLY_CONTEST_REFERENDUM)
			return tally_err_set(
			    err, -EINVAL, "%s.against_all: a referendum has no against-all option",
			    path);
		if (party != NULL)
			return tally_err_set(
			    err, -EINVAL,
			    "%s.against_all: an option with a party cannot be against "
			    "all",
			    path);
		for (size_t i = 0; i < k; i++) {
			if (c->options[i].against_all)
				return tally_err_set(
				    err, -EINVAL,
				    "%s.against_all: only one option may be against all "
				    "(first at %s%soptions[%zu])",
				    path, prefix, dot(prefix), i);
		}
	}
	if (json_object_get(o, "list_length") != NULL) {
		if (c->kind != TALLY_CONTEST_PARTY_LIST)
			return tally_err_set(err, -EINVAL,
			                     "%s.list_length: only party_list options have a list "
			                     "length",
			                     path);
		if (opt->against_all)
			return tally_err_set(err, -EINVAL,
			                     "%s.list_length: an against-all option takes no seats",
			                     path);
		rc = get_u32(o, path, "list_length", 0, UINT32_MAX, &opt->list_length, err);
		if (rc < 0)
			return rc;
	}
	/* The legacy options always named themselves; now the party or the id may. */
	rc = get_name(o, path, "name", legacy, &opt->name, err);
	if (rc == 1)
		rc = party ? name_copy(&opt->name, &party->name) : name_of(&opt->name, opt->id);
	if (rc < 0)
		return rc;
	if (party != NULL)
		memcpy(opt->color, party->color, sizeof(opt->color));
	return get_color(o, path, opt->color, err);
}

/*
 * obj["options"] into c->options, in ballot order. `prefix` is obj's path
 * ("" for the legacy top level, "contests[3]"); `legacy` keeps the legacy
 * referendum's rule that every option names itself.
 */
static int parse_options(const json_t *obj, const char *prefix, bool legacy,
                         const struct tally_election *e, struct tally_contest *c,
                         struct tally_err *err)
{
	json_t *arr, *o;
	size_t i;
	bool can_win = false;
	char path[96];
	int rc;

	rc = get_member(obj, prefix, "options", JSON_ARRAY, "an array", &arr, err);
	if (rc < 0)
		return rc;
	if (json_array_size(arr) == 0)
		return tally_err_set(err, -EINVAL, "%s%soptions: must not be empty", prefix,
		                     dot(prefix));
	if (json_array_size(arr) > TALLY_MAX_OPTIONS)
		return tally_err_set(err, -EINVAL,
		                     "%s%soptions: %zu options, at most %d are supported", prefix,
		                     dot(prefix), json_array_size(arr), TALLY_MAX_OPTIONS);
	c->options = calloc(json_array_size(arr), sizeof(*c->options));
	if (c->options == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, o)
	{
		snprintf(path, sizeof(path), "%s%soptions[%zu]", prefix, dot(prefix), i);
		if (!json_is_object(o))
			return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
			                     type_name(o));
		c->n_options = i + 1; /* so that free() sees this option's name */
		rc = parse_option(o, prefix, i, path, legacy, e, c, err);
		if (rc < 0)
			return rc;
		can_win |= !c->options[i].against_all;
	}
	if (!can_win)
		return tally_err_set(
		    err, -EINVAL,
		    "%s%soptions: every option is against all; at least one must be "
		    "able to win",
		    prefix, dot(prefix));
	return 0;
}

/* ---- rules ---- */

/*
 * A number rule rules[key] in min..max (min excluded if min_open), given
 * as a percentage (scale 10^4 to millionths) or a fraction (10^6), which
 * must be a whole number of millionths: rules are decided in integers.
 */
static int get_share(const json_t *rules, const char *path, const char *key, double scale,
                     double min, double max, bool min_open, bool *ret_has, double *ret_value,
                     uint32_t *ret_ppm, struct tally_err *err)
{
	json_t *j = json_object_get(rules, key);
	char shown[32];
	double v, x, whole;

	if (j == NULL)
		return 0;
	if (!json_is_number(j))
		return tally_err_set(err, -EINVAL, "%s.%s: expected a number, got %s", path, key,
		                     type_name(j));
	v = json_number_value(j);
	fmt_number(v, shown, sizeof(shown));
	if (v < min || v > max || (min_open && v == min))
		return tally_err_set(err, -EINVAL, "%s.%s: %s is out of range (%g %s x <= %g)",
		                     path, key, shown, min, min_open ? "<" : "<=", max);
	x = v * scale;
	whole = nearbyint(x);
	/* Far above a double's rounding error at this size, far below 1 ppm. */
	if (fabs(x - whole) > 1e-6)
		return tally_err_set(err, -EINVAL,
		                     "%s.%s: %s is not a whole number of millionths (at most %d "
		                     "decimals for a %s)",
		                     path, key, shown, scale == 1e4 ? 4 : 6,
		                     scale == 1e4 ? "percentage" : "fraction");
	if (ret_has != NULL)
		*ret_has = true;
	if (ret_value != NULL)
		*ret_value = v;
	*ret_ppm = (uint32_t)whole;
	return 0;
}

#define PCT      1e4 /* a percentage in millionths */
#define FRACTION 1e6 /* a fraction in millionths */

/*
 * An enum spelled as one of names[]: obj[key] into *ret when present
 * (*ret_has set); missing is an error when `required`.
 */
static int get_enum(const json_t *obj, const char *path, const char *key, const char *what,
                    const char *const *names, size_t n, bool required, int *ret,
                    struct tally_err *err)
{
	json_t *j = json_object_get(obj, key);
	char known[96];
	size_t len = 0;

	known[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
		                        names[i]);
	if (j == NULL) {
		if (!required)
			return 0;
		return tally_err_set(err, -EINVAL, "%s%s%s: missing, expected one of %s", path,
		                     dot(path), key, known);
	}
	if (!json_is_string(j))
		return tally_err_set(err, -EINVAL, "%s%s%s: expected a string, got %s", path,
		                     dot(path), key, type_name(j));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(json_string_value(j), names[i]) == 0) {
			*ret = (int)i;
			return 0;
		}
	}
	return tally_err_set(err, -EINVAL, "%s%s%s: unknown %s \"%s\" (known: %s)", path, dot(path),
	                     key, what, json_string_value(j), known);
}

/* The rules each kind knows, in the order the error message lists them. */
static const char *const referendum_rules[] = {"min_turnout_pct", "region_majority_fraction",
                                               "pass_share_of", NULL};
static const char *const candidate_rules[] = {"min_turnout_pct", "win", "majority_of", NULL};
static const char *const party_list_rules[] = {
    "min_turnout_pct", "threshold_pct", "threshold_of", "method", "tie", "overflow", NULL};
/* The legacy top-level "rules": what totals.c decides on today. */
static const char *const legacy_rules[] = {"min_turnout_pct", "region_majority_fraction", NULL};

/* A misspelt rule silently ignored would change the decision: refuse it. */
static int check_rule_names(const json_t *rules, const char *path, const char *const *known,
                            const char *kind, struct tally_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)rules, key, v)
	{
		char list[160];
		size_t len = 0, i;
		for (i = 0; known[i] != NULL; i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (known[i] != NULL)
			continue;
		list[0] = '\0';
		for (i = 0; known[i] != NULL; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
			                        i ? ", " : "", known[i]);
		if (kind == NULL)
			return tally_err_set(err, -EINVAL, "%s.%s: unknown rule (known: %s)", path,
			                     key, list);
		return tally_err_set(err, -EINVAL,
		                     "%s.%s: unknown rule for a %s contest (known: %s)", path, key,
		                     kind, list);
	}
	return 0;
}

/*
 * obj["rules"] into c->rules (defaults for what is not given). With
 * `legacy`, the top-level rules of a definition without contests, also
 * copied as written into e->rules.
 */
static int parse_rules(const json_t *obj, const char *prefix, bool legacy, struct tally_contest *c,
                       struct tally_rules *legacy_out, struct tally_err *err)
{
	static const char *const *const known[] = {referendum_rules, candidate_rules,
	                                           party_list_rules};
	struct tally_contest_rules *r = &c->rules;
	json_t *j = json_object_get(obj, "rules");
	char path[96];
	int v, rc;

	memset(r, 0, sizeof(*r));
	r->pass_share_of = TALLY_DENOM_BALLOTS_CAST;
	r->win = TALLY_WIN_PLURALITY;
	r->majority_of = TALLY_DENOM_BALLOTS_CAST;
	r->threshold_of = TALLY_DENOM_VALID;
	r->method = TALLY_METHOD_HARE;
	r->tie = TALLY_TIE_BALLOT_ORDER;
	r->overflow = TALLY_OVERFLOW_REDISTRIBUTE;
	snprintf(path, sizeof(path), "%s%srules", prefix, dot(prefix));
	if (j != NULL && json_is_null(j))
		j = NULL;
	if (j != NULL && !json_is_object(j))
		return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
		                     type_name(j));
	c->has_rules = j != NULL;
	if (j == NULL) {
		/* A party list cannot be allocated without its method. */
		if (c->kind == TALLY_CONTEST_PARTY_LIST)
			return tally_err_set(err, -EINVAL,
			                     "%s.method: missing, expected one of hare, dhondt, "
			                     "sainte_lague",
			                     path);
		return 0;
	}
	rc = check_rule_names(j, path, legacy ? legacy_rules : known[c->kind],
	                      legacy ? NULL : kind_names[c->kind], err);
	if (rc < 0)
		return rc;
	rc = get_share(j, path, "min_turnout_pct", PCT, 0, 100, false, &r->has_min_turnout,
	               legacy ? &legacy_out->min_turnout_pct : NULL, &r->min_turnout_ppm, err);
	if (rc < 0)
		return rc;
	if (legacy)
		legacy_out->has_min_turnout = r->has_min_turnout;
	switch (c->kind) {
	case TALLY_CONTEST_REFERENDUM:
		rc = get_share(j, path, "region_majority_fraction", FRACTION, 0, 1, true,
		               &r->has_region_majority,
		               legacy ? &legacy_out->region_majority_fraction : NULL,
		               &r->region_majority_ppm, err);
		if (legacy)
			legacy_out->has_region_majority = r->has_region_majority;
		v = (int)r->pass_share_of;
		if (rc == 0)
			rc = get_enum(j, path, "pass_share_of", "denominator", denominator_names,
			              N_NAMES(denominator_names), false, &v, err);
		r->pass_share_of = (enum tally_denominator)v;
		return rc;
	case TALLY_CONTEST_CANDIDATE:
		v = (int)r->win;
		rc = get_enum(j, path, "win", "win rule", win_names, N_NAMES(win_names), false, &v,
		              err);
		r->win = (enum tally_win)v;
		v = (int)r->majority_of;
		if (rc == 0)
			rc = get_enum(j, path, "majority_of", "denominator", denominator_names,
			              N_NAMES(denominator_names), false, &v, err);
		r->majority_of = (enum tally_denominator)v;
		return rc;
	case TALLY_CONTEST_PARTY_LIST:
		rc = get_share(j, path, "threshold_pct", PCT, 0, 100, false, NULL, NULL,
		               &r->threshold_ppm, err);
		v = (int)r->threshold_of;
		if (rc == 0)
			rc = get_enum(j, path, "threshold_of", "denominator", denominator_names,
			              N_NAMES(denominator_names), false, &v, err);
		r->threshold_of = (enum tally_denominator)v;
		v = (int)r->method;
		if (rc == 0)
			rc = get_enum(j, path, "method", "method", method_names,
			              N_NAMES(method_names), true, &v, err);
		r->method = (enum tally_seat_method)v;
		v = (int)r->tie;
		if (rc == 0)
			rc = get_enum(j, path, "tie", "tie rule", tie_names, N_NAMES(tie_names),
			              false, &v, err);
		r->tie = (enum tally_tie_rule)v;
		v = (int)r->overflow;
		if (rc == 0)
			rc = get_enum(j, path, "overflow", "overflow rule", overflow_names,
			              N_NAMES(overflow_names), false, &v, err);
		r->overflow = (enum tally_overflow)v;
		return rc;
	}
	return 0;
}

/* ---- contests ---- */

static int parse_scope_regions(const json_t *arr, const char *path, const struct tally_election *e,
                               struct tally_contest *c, struct tally_err *err)
{
	size_t k;
	json_t *v;

	if (json_array_size(arr) == 0)
		return tally_err_set(err, -EINVAL, "%s.scope.regions: must not be empty", path);
	c->scope_regions = malloc(json_array_size(arr) * sizeof(*c->scope_regions));
	if (c->scope_regions == NULL)
		return -ENOMEM;
	json_array_foreach(arr, k, v)
	{
		int r;
		if (!json_is_string(v))
			return tally_err_set(err, -EINVAL,
			                     "%s.scope.regions[%zu]: expected a string, got %s",
			                     path, k, type_name(v));
		r = tally_election_region_index(e, json_string_value(v));
		if (r < 0)
			return tally_err_set(err, -EINVAL,
			                     "%s.scope.regions[%zu]: unknown region \"%s\"", path,
			                     k, json_string_value(v));
		for (size_t i = 0; i < k; i++) {
			if (c->scope_regions[i] == (uint32_t)r)
				return tally_err_set(
				    err, -EINVAL,
				    "%s.scope.regions[%zu]: region \"%s\" is listed "
				    "twice (first at %s.scope.regions[%zu])",
				    path, k, e->regions[r].id, path, i);
		}
		c->scope_regions[k] = (uint32_t)r;
	}
	c->n_scope_regions = json_array_size(arr);
	qsort(c->scope_regions, c->n_scope_regions, sizeof(*c->scope_regions), cmp_u32);
	return 0;
}

/* "scope": "national" (the default), {"regions": [ids]} or {"district": id}. */
static int parse_scope(const json_t *o, const char *path, const struct tally_election *e,
                       struct tally_contest *c, struct tally_err *err)
{
	json_t *j = json_object_get(o, "scope"), *regions, *district, *v;
	const char *key;

	c->scope = TALLY_SCOPE_NATIONAL;
	c->district = -1;
	if (j == NULL)
		return 0;
	if (json_is_string(j)) {
		if (strcmp(json_string_value(j), "national") == 0)
			return 0;
		return tally_err_set(err, -EINVAL,
		                     "%s.scope: unknown scope \"%s\" (expected \"national\", "
		                     "{\"regions\": [...]} or {\"district\": \"ID\"})",
		                     path, json_string_value(j));
	}
	if (!json_is_object(j))
		return tally_err_set(err, -EINVAL,
		                     "%s.scope: expected \"national\" or an object, got %s", path,
		                     type_name(j));
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "regions") != 0 && strcmp(key, "district") != 0)
			return tally_err_set(err, -EINVAL,
			                     "%s.scope.%s: unknown key (expected \"regions\" or "
			                     "\"district\")",
			                     path, key);
	}
	regions = json_object_get(j, "regions");
	district = json_object_get(j, "district");
	if (regions != NULL && district != NULL)
		return tally_err_set(err, -EINVAL,
		                     "%s.scope: give \"regions\" or \"district\", not both", path);
	if (regions != NULL) {
		if (!json_is_array(regions))
			return tally_err_set(err, -EINVAL,
			                     "%s.scope.regions: expected an array, got %s", path,
			                     type_name(regions));
		c->scope = TALLY_SCOPE_REGIONS;
		return parse_scope_regions(regions, path, e, c, err);
	}
	if (district != NULL) {
		char id[TALLY_ID_MAX], spath[112];
		int d, rc;
		snprintf(spath, sizeof(spath), "%s.scope", path);
		rc = get_id(j, spath, "district", id, err);
		if (rc < 0)
			return rc;
		d = tally_election_district_index(e, id);
		if (d < 0)
			return tally_err_set(err, -EINVAL, "%s.district: unknown district \"%s\"",
			                     spath, id);
		c->scope = TALLY_SCOPE_DISTRICT;
		c->district = (int32_t)d;
		return 0;
	}
	return tally_err_set(err, -EINVAL, "%s.scope: expected \"regions\" or \"district\"", path);
}

static int parse_seats(const json_t *o, const char *path, struct tally_contest *c,
                       struct tally_err *err)
{
	bool given = json_object_get(o, "seats") != NULL;

	switch (c->kind) {
	case TALLY_CONTEST_REFERENDUM:
		if (given)
			return tally_err_set(err, -EINVAL, "%s.seats: a referendum has no seats",
			                     path);
		c->seats = 0;
		return 0;
	case TALLY_CONTEST_CANDIDATE:
		c->seats = 1;
		if (!given)
			return 0;
		break;
	case TALLY_CONTEST_PARTY_LIST:
		break;
	}
	return get_u32(o, path, "seats", 1, TALLY_MAX_SEATS, &c->seats, err);
}

static int parse_contest(const json_t *o, size_t i, struct tally_election *e,
                         struct tally_contest *c, struct tally_err *err)
{
	char path[48];
	int kind = 0, rc;

	snprintf(path, sizeof(path), "contests[%zu]", i);
	c->district = -1;
	if (!json_is_object(o))
		return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
		                     type_name(o));
	rc = get_id(o, path, "id", c->id, err);
	if (rc < 0)
		return rc;
	rc = get_enum(o, path, "kind", "kind", kind_names, N_NAMES(kind_names), true, &kind, err);
	if (rc < 0)
		return rc;
	c->kind = (enum tally_contest_kind)kind;
	rc = get_name(o, path, "name", false, &c->name, err);
	if (rc == 1)
		rc = name_of(&c->name, c->id);
	if (rc == 0)
		rc = parse_scope(o, path, e, c, err);
	if (rc == 0)
		rc = parse_seats(o, path, c, err);
	if (rc == 0)
		rc = parse_options(o, path, false, e, c, err);
	if (rc == 0)
		rc = parse_rules(o, path, false, c, NULL, err);
	/* A majority of more than half elects one: decision.c decides no other. */
	if (rc == 0 && c->kind == TALLY_CONTEST_CANDIDATE &&
	    c->rules.win == TALLY_WIN_ABSOLUTE_MAJORITY && c->seats != 1)
		rc =
		    tally_err_set(err, -EINVAL,
		                  "%s.rules.win: absolute_majority elects one candidate, but seats "
		                  "is %" PRIu32 " (use plurality for several seats)",
		                  path, c->seats);
	return rc;
}

static int parse_contests(const json_t *arr, struct tally_election *e, struct tally_err *err)
{
	json_t *o;
	size_t i;
	int rc;

	if (json_array_size(arr) == 0)
		return tally_err_set(err, -EINVAL, "contests: must not be empty");
	e->contests = calloc(json_array_size(arr), sizeof(*e->contests));
	if (e->contests == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, o)
	{
		/* Counted first, so that free() sees what a failed contest holds. */
		e->n_contests = i + 1;
		rc = parse_contest(o, i, e, &e->contests[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * The legacy referendum's top-level options: contest 0 ("referendum",
 * named like the election), whose options are also copied to e->options
 * for the callers that know only those.
 */
static int parse_legacy_options(const json_t *root, struct tally_election *e, struct tally_err *err)
{
	struct tally_contest *c;
	int rc;

	e->contests = calloc(1, sizeof(*e->contests));
	if (e->contests == NULL)
		return -ENOMEM;
	e->n_contests = 1;
	c = &e->contests[0];
	snprintf(c->id, sizeof(c->id), "referendum");
	c->kind = TALLY_CONTEST_REFERENDUM;
	c->scope = TALLY_SCOPE_NATIONAL;
	c->district = -1;
	rc = name_copy(&c->name, &e->titles);
	if (rc < 0)
		return rc;
	rc = parse_options(root, "", true, e, c, err);
	if (rc < 0)
		return rc;
	e->options = calloc(c->n_options, sizeof(*e->options));
	if (e->options == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < c->n_options; k++) {
		memcpy(e->options[k].id, c->options[k].id, sizeof(e->options[k].id));
		e->options[k].name = strdup(c->options[k].name.text);
		if (e->options[k].name == NULL)
			return -ENOMEM;
		e->n_options = k + 1;
	}
	return 0;
}

/* Converts a parsed definition into *ret. Takes `root` over and frees it. */
static int convert(json_t *root, struct tally_election **ret, struct tally_err *err)
{
	struct tally_election *e = NULL;
	struct loading_precinct *lp = NULL;
	json_t *contests = NULL;
	size_t n = 0;
	int rc;

	if (!json_is_object(root)) {
		rc = tally_err_set(err, -EINVAL, "top level: expected an object, got %s",
		                   type_name(root));
		goto fail;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = get_id(root, "", "election_id", e->election_id, err);
	if (rc < 0)
		goto fail;
	rc = get_name(root, "", "title", true, &e->titles, err);
	if (rc < 0)
		goto fail;
	e->title = e->titles.text;
	rc = get_list(root, "contests", &contests, err);
	if (rc < 0)
		goto fail;
	if (contests == NULL) {
		rc = parse_legacy_options(root, e, err);
	} else if (json_object_get(root, "options") != NULL) {
		rc = tally_err_set(err, -EINVAL,
		                   "options: not allowed beside \"contests\" (each contest lists "
		                   "its own options)");
	} else if (json_object_get(root, "rules") != NULL) {
		rc = tally_err_set(err, -EINVAL,
		                   "rules: not allowed beside \"contests\" (each contest has its "
		                   "own rules)");
	}
	if (rc < 0)
		goto fail;
	rc = parse_regions(root, e, &lp, &n, err);
	if (rc < 0)
		goto fail;
	rc = index_precincts(e, lp, n, err);
	if (rc < 0)
		goto fail;
	/* Precincts are indexed: the loading copy goes before the lists to come. */
	free(lp);
	lp = NULL;
	if (contests == NULL) {
		rc = parse_rules(root, "", true, &e->contests[0], &e->rules, err);
		if (rc < 0)
			goto fail;
	}
	rc = parse_parties(root, e, err);
	if (rc == 0)
		rc = parse_districts(root, e, err);
	/* Indexed now so that contests can name parties and districts. */
	if (rc == 0)
		rc = tally_election_index(e);
	if (rc == 0)
		rc = check_unique_ids(e->parties, e->n_parties, sizeof(*e->parties), e->party_by_id,
		                      "parties", "party", err);
	if (rc == 0)
		rc = check_unique_ids(e->districts, e->n_districts, sizeof(*e->districts),
		                      e->district_by_id, "districts", "district", err);
	if (rc == 0 && contests != NULL) {
		rc = parse_contests(contests, e, err);
		if (rc == 0)
			rc = tally_election_index(e);
		if (rc == 0)
			rc = check_unique_ids(e->contests, e->n_contests, sizeof(*e->contests),
			                      e->contest_by_id, "contests", "contest", err);
	}
	if (rc < 0)
		goto fail;
	json_decref(root);
	*ret = e;
	return 0;
fail:
	free(lp);
	tally_election_free(e);
	json_decref(root);
	return rc;
}

int tally_election_parse(const char *json, size_t len, struct tally_election **ret,
                         struct tally_err *err)
{
	json_t *root;
	json_error_t jerr;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return tally_err_set(err, -EINVAL, "line %d column %d: %s", jerr.line, jerr.column,
		                     jerr.text);
	return convert(root, ret, err);
}

/* Feeds jansson from the file, so that no copy of the whole file is held. */
struct reader {
	FILE *f;
	long total;
	int error; /* errno of a failed read */
};

static size_t read_chunk(void *buf, size_t len, void *data)
{
	struct reader *r = data;
	size_t n = fread(buf, 1, len, r->f);

	if (n < len && ferror(r->f)) {
		r->error = errno ? errno : EIO;
		return (size_t)-1;
	}
	r->total += (long)n;
	/* The file may have grown since it was measured. */
	if (r->total > ELECTION_FILE_MAX) {
		r->error = EFBIG;
		return (size_t)-1;
	}
	return n;
}

int tally_election_load(const char *path, struct tally_election **ret, struct tally_err *err)
{
	struct reader r = {0};
	json_t *root;
	json_error_t jerr;
	long size;
	int rc;

	r.f = fopen(path, "re");
	if (r.f == NULL) {
		rc = -errno;
		return tally_err_set(err, rc, "%s: cannot open: %s", path, strerror(-rc));
	}
	if (fseek(r.f, 0, SEEK_END) != 0 || (size = ftell(r.f)) < 0 ||
	    fseek(r.f, 0, SEEK_SET) != 0) {
		rc = tally_err_set(err, -EIO, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (size > ELECTION_FILE_MAX) {
		rc = tally_err_set(err, -EINVAL, "%s: %ld bytes is too large for a definition",
		                   path, size);
		goto out;
	}
	/* jansson asks for 1 KB at a time; read the disk in larger pieces. */
	setvbuf(r.f, NULL, _IOFBF, 1 << 20);
	root = json_load_callback(read_chunk, &r, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (r.error == EFBIG)
			rc = tally_err_set(err, -EINVAL,
			                   "%s: %ld bytes is too large for a definition", path,
			                   r.total);
		else if (r.error != 0)
			rc = tally_err_set(err, -EIO, "%s: cannot read: %s", path,
			                   strerror(r.error));
		else if (r.total < size)
			rc = tally_err_set(err, -EIO, "%s: short read", path);
		else
			rc = tally_err_set(err, -EINVAL, "%s: line %d column %d: %s", path,
			                   jerr.line, jerr.column, jerr.text);
		goto out;
	}
	rc = convert(root, ret, err);
#ifdef __GLIBC__
	/*
	 * The parse tree, now freed, was most of the process's heap (200 MB
	 * for a million compact precincts): freed but resident, in small
	 * chunks that the caller's next, differently sized allocations (the
	 * aggregator's recovery) cannot reuse, so they would stack on top of
	 * it and raise the peak. Give it back to the kernel now.
	 */
	malloc_trim(0);
#endif
	if (rc < 0 && err != NULL) {
		/* Prefix the file name: "election.json: regions[3]...". */
		char msg[TALLY_ERR_MAX];
		memcpy(msg, err->msg, sizeof(msg));
		tally_err_set(err, rc, "%s: %s", path, msg);
	}
out:
	fclose(r.f);
	return rc;
}
