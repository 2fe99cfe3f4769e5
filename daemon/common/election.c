/*
 * election.c: loads the election definition from JSON (jansson) into one
 * owned struct and answers lookups on it. Loading is where operator
 * mistakes are caught, so every problem is reported with the JSON path
 * (`regions[3].precincts[17].id`) and what is wrong with it. Precincts are
 * kept sorted by id for bsearch, because every submitted result is looked
 * up by precinct id; regions and options are few and searched linearly.
 */
#include <errno.h>
#include <inttypes.h>
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
		return tally_err_set(err, -EINVAL, "%s%s%s: missing, expected %s", path,
		                     *path ? "." : "", key, what);
	if (json_typeof(j) != want)
		return tally_err_set(err, -EINVAL, "%s%s%s: expected %s, got %s", path,
		                     *path ? "." : "", key, what, type_name(j));
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
		return tally_err_set(err, -EINVAL, "%s%s%s: must not be empty", path,
		                     *path ? "." : "", key);
	if (n > TALLY_ID_MAX - 1)
		return tally_err_set(err, -EINVAL, "%s%s%s: longer than %d characters", path,
		                     *path ? "." : "", key, TALLY_ID_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		if (!id_char_ok(s[i]))
			return tally_err_set(
			    err, -EINVAL,
			    "%s%s%s: \"%s\" may only hold letters, digits and - _ . :", path,
			    *path ? "." : "", key, s);
	}
	memcpy(ret, s, n + 1);
	return 0;
}

/* A free-text name: any non-empty string, copied to the heap. */
static int get_name(const json_t *obj, const char *path, const char *key, char **ret,
                    struct tally_err *err)
{
	json_t *j = NULL; /* set when get_member() returns 0 */
	int rc;

	rc = get_member(obj, path, key, JSON_STRING, "a string", &j, err);
	if (rc < 0)
		return rc;
	if (json_string_length(j) == 0)
		return tally_err_set(err, -EINVAL, "%s%s%s: must not be empty", path,
		                     *path ? "." : "", key);
	*ret = strdup(json_string_value(j));
	return *ret ? 0 : -ENOMEM;
}

static int get_u32(const json_t *obj, const char *path, const char *key, uint32_t min,
                   uint32_t *ret, struct tally_err *err)
{
	json_t *j = NULL; /* set when get_member() returns 0 */
	json_int_t v;
	int rc;

	rc = get_member(obj, path, key, JSON_INTEGER, "an integer", &j, err);
	if (rc < 0)
		return rc;
	v = json_integer_value(j);
	if (v < (json_int_t)min || v > (json_int_t)UINT32_MAX)
		return tally_err_set(err, -EINVAL,
		                     "%s.%s: %" JSON_INTEGER_FORMAT " is out of range (%" PRIu32
		                     "..4294967295)",
		                     path, key, v, min);
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
	rc = get_u32(p, ppath, "id", 1, &x->id, err);
	if (rc < 0)
		return rc;
	return get_u32(p, ppath, "registered", 0, &x->registered, err);
}

static int parse_options(const json_t *root, struct tally_election *e, struct tally_err *err)
{
	json_t *arr, *o;
	size_t i;
	char path[64];
	int rc;

	rc = get_member(root, "", "options", JSON_ARRAY, "an array", &arr, err);
	if (rc < 0)
		return rc;
	if (json_array_size(arr) == 0)
		return tally_err_set(err, -EINVAL, "options: must not be empty");
	if (json_array_size(arr) > TALLY_MAX_OPTIONS)
		return tally_err_set(err, -EINVAL, "options: %zu options, at most %d are supported",
		                     json_array_size(arr), TALLY_MAX_OPTIONS);
	e->options = calloc(json_array_size(arr), sizeof(*e->options));
	if (e->options == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, o)
	{
		struct tally_option *opt = &e->options[i];
		snprintf(path, sizeof(path), "options[%zu]", i);
		if (!json_is_object(o))
			return tally_err_set(err, -EINVAL, "%s: expected an object, got %s", path,
			                     type_name(o));
		e->n_options = i + 1; /* so that free() sees this option's name */
		rc = get_id(o, path, "id", opt->id, err);
		if (rc < 0)
			return rc;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(e->options[k].id, opt->id) == 0)
				return tally_err_set(err, -EINVAL,
				                     "%s.id: duplicate option id \"%s\" (first at "
				                     "options[%zu])",
				                     path, opt->id, k);
		}
		rc = get_name(o, path, "name", &opt->name, err);
		if (rc < 0)
			return rc;
	}
	return 0;
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
		rc = get_name(r, path, "name", &reg->name, err);
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
	return check_region_ids(e, err);
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

static int get_rule(const json_t *rules, const char *key, double min, double max, bool min_open,
                    bool *ret_has, double *ret, struct tally_err *err)
{
	json_t *j = json_object_get(rules, key);
	double v;

	if (j == NULL)
		return 0;
	if (!json_is_number(j))
		return tally_err_set(err, -EINVAL, "rules.%s: expected a number, got %s", key,
		                     type_name(j));
	v = json_number_value(j);
	if (v < min || v > max || (min_open && v == min))
		return tally_err_set(err, -EINVAL, "rules.%s: %g is out of range (%g %s x <= %g)",
		                     key, v, min, min_open ? "<" : "<=", max);
	*ret_has = true;
	*ret = v;
	return 0;
}

static int parse_rules(const json_t *root, struct tally_rules *rules, struct tally_err *err)
{
	json_t *j = json_object_get(root, "rules"), *v;
	const char *key;
	int rc;

	memset(rules, 0, sizeof(*rules));
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_object(j))
		return tally_err_set(err, -EINVAL, "rules: expected an object, got %s",
		                     type_name(j));
	/* A misspelt rule silently ignored would change the decision: refuse it. */
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "min_turnout_pct") != 0 &&
		    strcmp(key, "region_majority_fraction") != 0)
			return tally_err_set(err, -EINVAL,
			                     "rules.%s: unknown rule (known: min_turnout_pct, "
			                     "region_majority_fraction)",
			                     key);
	}
	rc = get_rule(j, "min_turnout_pct", 0, 100, false, &rules->has_min_turnout,
	              &rules->min_turnout_pct, err);
	if (rc < 0)
		return rc;
	return get_rule(j, "region_majority_fraction", 0, 1, true, &rules->has_region_majority,
	                &rules->region_majority_fraction, err);
}

/* Converts a parsed definition into *ret. Takes `root` over and frees it. */
static int convert(json_t *root, struct tally_election **ret, struct tally_err *err)
{
	struct tally_election *e = NULL;
	struct loading_precinct *lp = NULL;
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
	rc = get_name(root, "", "title", &e->title, err);
	if (rc < 0)
		goto fail;
	rc = parse_options(root, e, err);
	if (rc < 0)
		goto fail;
	rc = parse_regions(root, e, &lp, &n, err);
	if (rc < 0)
		goto fail;
	rc = index_precincts(e, lp, n, err);
	if (rc < 0)
		goto fail;
	rc = parse_rules(root, &e->rules, err);
	if (rc < 0)
		goto fail;
	free(lp);
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

struct tally_election *tally_election_free(struct tally_election *e)
{
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->n_options; i++)
		free(e->options[i].name);
	free(e->options);
	for (size_t i = 0; i < e->n_regions; i++) {
		free(e->regions[i].name);
		free(e->regions[i].precincts);
	}
	free(e->regions);
	free(e->precincts);
	free(e->title);
	free(e);
	return NULL;
}

static int cmp_precinct_id(const void *key, const void *elem)
{
	uint32_t id = *(const uint32_t *)key;
	const struct tally_precinct *p = elem;

	return id < p->id ? -1 : id > p->id;
}

int64_t tally_election_precinct_index(const struct tally_election *e, uint32_t precinct_id)
{
	const struct tally_precinct *p;

	if (e->n_precincts == 0)
		return -ENOENT;
	p = bsearch(&precinct_id, e->precincts, e->n_precincts, sizeof(*p), cmp_precinct_id);
	return p ? (int64_t)(p - e->precincts) : -ENOENT;
}

int tally_election_region_index(const struct tally_election *e, const char *region_id)
{
	for (size_t i = 0; i < e->n_regions; i++) {
		if (strcmp(e->regions[i].id, region_id) == 0)
			return (int)i;
	}
	return -ENOENT;
}

int tally_election_option_index(const struct tally_election *e, const char *option_id)
{
	for (size_t i = 0; i < e->n_options; i++) {
		if (strcmp(e->options[i].id, option_id) == 0)
			return (int)i;
	}
	return -ENOENT;
}
