/*
 * election.h: the election definition: one or more contests voted on one
 * day (a referendum, candidates, party lists) in regions made of precincts,
 * loaded from JSON and answered by pure lookups. docs/elections.md is the
 * reference of the format; in short:
 *
 *   {"election_id": "...", "title": "...",
 *    "regions": [{"id": "KZ-71", "name": "Astana", "tile": [3, 2],
 *                 "precincts": [{"id": 1, "registered": 1234}, [2, 980], ...]}, ...],
 *    "districts": [{"id": "OTK-07", "name": "...", "precincts": [1201, 1202]}],
 *    "parties": [{"id": "amanat", "name": "AMANAT", "color": "#1f77b4"}],
 *    "contests": [{"id": "party-list", "kind": "party_list", "scope": "national",
 *                  "seats": 69, "options": [...], "rules": {...}}, ...]}
 *
 * A definition without "contests" is one contest of kind referendum whose
 * id is "referendum", with the file's top-level "options" and "rules":
 *
 *   {"election_id": "...", "title": "...",
 *    "options": [{"id": "yes", "name": "Yes"}, ...],
 *    "regions": [...],
 *    "rules": {"min_turnout_pct": 50, "region_majority_fraction": 0.6667}}
 *
 * For such a definition the legacy fields `options`, `n_options` and
 * `rules` are filled as well (and stay empty for a definition with
 * contests). Wherever a name is a string it may instead be an object of
 * language tag -> text ({"kk": "...", "ru": "...", "en": "..."}).
 *
 * Precinct ids are unique nationally. Errors name the JSON path and the
 * problem, e.g. `regions[3].precincts[17].id: duplicate precinct id 4711
 * (first at regions[0].precincts[2])` or `contests[1].options[2].party:
 * unknown party "nur"`.
 *
 * A precinct may also be written in the compact form [id, registered]
 * (exactly two integers), in any mix with objects: [4711, 1234] is
 * {"id": 4711, "registered": 1234}. jansson holds an array in less than
 * half the memory of an object, so large definitions should use it
 * (`deploy/election.py generate` does above 250,000 precincts). Errors in
 * it name the element: `regions[3].precincts[17][0]: 0 is out of range
 * (1..4294967295)`, `regions[3].precincts[17]: expected [id, registered],
 * got an array of 3 elements`, and a duplicate id written compactly is
 * reported at `regions[3].precincts[17][0]`. A district lists its
 * precincts as bare ids.
 *
 * Memory: tally_election_load() streams the file into jansson (no copy of
 * the whole file), frees each region's and district's tree as soon as it
 * is converted, and with glibc calls malloc_trim(0) before returning, so
 * the process does not keep the parser's freed heap resident. The model
 * itself costs 12 bytes per precinct, 4 more once for all national
 * contests together (they share one list), 4 per precinct of a district
 * (its contests share its list) and 4 per precinct of a contest scoped to
 * regions; when there are districts, 4 more per precinct and 4 per
 * precinct of a district for the precincts' districts.
 *
 * The model (this header's structs, tally_election_free() and the lookups)
 * lives in election.c and knows no JSON; the loader is election_load.c.
 */
#ifndef TALLY_ELECTION_H
#define TALLY_ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/err.h"
#include "tally/result.h"
#include "tally/rules.h"

/* Most languages one name may be given in. */
#define TALLY_MAX_LANGS 8
/* Longest language tag ("kk", "sr-Latn") including the NUL. */
#define TALLY_LANG_TAG_MAX 12
/* Most seats one contest may fill. */
#define TALLY_MAX_SEATS 10000
/* Largest tile column or row of a region on the schematic map. */
#define TALLY_TILE_MAX 255

/*
 * A name, in one or several languages. `text` is the default: the plain
 * string the definition gave, else its "en", "ru" or "kk" text, else the
 * first language in the file. Owns its strings: `text` is its own
 * allocation when n_langs is 0 and one of langs[].text otherwise.
 */
struct tally_name {
	char *text; /* never NULL once loaded */
	size_t n_langs;
	struct {
		char tag[TALLY_LANG_TAG_MAX];
		char *text;
	} langs[TALLY_MAX_LANGS]; /* as given, file order */
};

/* The text in `lang` ("kk", "ru"...; an exact tag), else the default. */
const char *tally_name_get(const struct tally_name *n, const char *lang);

/* The legacy referendum's option (a definition without contests). */
struct tally_option {
	char id[TALLY_ID_MAX];
	char *name; /* the default text */
};

struct tally_precinct {
	uint32_t id;
	uint32_t registered;
	uint32_t region; /* index into election->regions */
};

struct tally_region {
	char id[TALLY_ID_MAX];
	char *name;              /* names.text, kept for existing callers */
	struct tally_name names; /* every language */
	bool has_tile;           /* "tile": [column, row] on the schematic map */
	int32_t tile_col, tile_row;
	uint64_t registered; /* sum over its precincts */
	size_t n_precincts;
	uint32_t *precincts; /* indexes into election->precincts, ascending id */
};

/* The legacy referendum's rules, as the file wrote them. */
struct tally_rules {
	bool has_min_turnout;
	double min_turnout_pct;
	bool has_region_majority;
	double region_majority_fraction;
};

/*
 * A contest's rules, fractions in whole parts per million (TALLY_PPM):
 * 50 % is 500000, a fraction of 0.6667 is 666700. The loader refuses a
 * value that is not a whole number of millionths (more than 4 decimals of
 * a percentage, 6 of a fraction). Fields of other kinds keep their
 * defaults.
 */
struct tally_contest_rules {
	bool has_min_turnout; /* every kind: turnout strictly above */
	uint32_t min_turnout_ppm;
	/* referendum */
	bool has_region_majority; /* share of the scope's regions */
	uint32_t region_majority_ppm;
	enum tally_denominator pass_share_of; /* default BALLOTS_CAST */
	/* candidate */
	enum tally_win win;                 /* default PLURALITY */
	enum tally_denominator majority_of; /* default BALLOTS_CAST */
	/* party_list */
	uint32_t threshold_ppm;              /* default 0; passes at >= */
	enum tally_denominator threshold_of; /* default VALID */
	enum tally_seat_method method;       /* required for party_list */
	enum tally_tie_rule tie;             /* default BALLOT_ORDER */
	enum tally_overflow overflow;        /* default REDISTRIBUTE */
};

struct tally_party {
	char id[TALLY_ID_MAX];
	struct tally_name name;
	char color[8]; /* "#rrggbb" (lowercase) or "" */
};

/* A named set of precincts, possibly across regions. */
struct tally_district {
	char id[TALLY_ID_MAX];
	struct tally_name name; /* defaults to the id */
	size_t n_precincts;
	uint32_t *precincts; /* indexes into election->precincts, ascending */
	uint64_t registered; /* the definition's registered voters */
};

struct tally_contest_option {
	char id[TALLY_ID_MAX];
	struct tally_name name; /* defaults to the party's, else the id */
	int32_t party;          /* index into election->parties, -1 if none */
	uint32_t list_length;   /* party_list: candidates on the list, 0 = no cap */
	bool against_all;       /* counted and shown, never elected, never seated */
	char color[8];          /* "#rrggbb": the option's, else its party's, else "" */
};

/*
 * One contest. The loader derives the precincts voting in it from its
 * scope; a slot is one (contest, precinct) pair, numbered contest after
 * contest, so contest c's slots are [slot_base, slot_base + n_precincts)
 * in the order of `precincts`.
 */
struct tally_contest {
	char id[TALLY_ID_MAX];
	struct tally_name name; /* defaults to the id (legacy: the title) */
	enum tally_contest_kind kind;
	enum tally_scope_kind scope;
	size_t n_scope_regions;
	uint32_t *scope_regions; /* SCOPE_REGIONS: region indexes, ascending */
	int32_t district;        /* SCOPE_DISTRICT: index into election->districts, else -1 */
	uint32_t seats;          /* candidate default 1; party_list required >= 1; referendum 0 */
	size_t n_options;
	struct tally_contest_option *options; /* ballot order, <= TALLY_MAX_OPTIONS */
	struct tally_contest_rules rules;
	bool has_rules; /* the definition gave "rules" (referendum: decision "none" without) */
	/* derived by the loader */
	size_t n_precincts;
	uint32_t *precincts; /* indexes into election->precincts voting in it, ascending */
	uint64_t registered;
	size_t slot_base;
	size_t n_regions;
	uint32_t *regions; /* regions with at least one of its precincts, ascending */
	/*
	 * Districts wholly inside its scope, ascending (definition order):
	 * every district for a national contest, those all of whose precincts
	 * lie in its regions for a contest scoped to regions, its own district
	 * for a district contest. Figures are kept for each of them.
	 */
	size_t n_districts;
	uint32_t *districts;
};

/* Owns everything it points to. */
struct tally_election {
	char election_id[TALLY_ID_MAX];
	char *title;              /* titles.text, kept for existing callers */
	struct tally_name titles; /* every language */
	/* The legacy referendum (a definition without contests), else empty. */
	size_t n_options;
	struct tally_option *options;
	struct tally_rules rules;
	size_t n_regions;
	struct tally_region *regions;
	size_t n_precincts;
	struct tally_precinct *precincts; /* sorted by id */
	uint64_t registered;
	size_t n_parties;
	struct tally_party *parties;
	size_t n_districts;
	struct tally_district *districts;
	size_t n_contests;
	struct tally_contest *contests; /* definition order; the legacy referendum alone */
	size_t n_slots;                 /* sum of the contests' n_precincts */
	/*
	 * The districts of each precinct, in compressed rows: precinct i is in
	 * districts precinct_districts[precinct_district_start[i] ..
	 * precinct_district_start[i + 1]), ascending. Both NULL when the
	 * election has no districts. Read through
	 * tally_election_precinct_districts().
	 */
	uint32_t *precinct_district_start; /* n_precincts + 1 */
	uint32_t *precinct_districts;
	/* Lookup indexes, private to election.c: positions sorted by id. */
	uint32_t *all_precincts; /* 0 .. n_precincts-1: national contests' precincts */
	uint32_t *party_by_id;
	uint32_t *district_by_id;
	uint32_t *contest_by_id;
};

/*
 * Loads a definition from a file / parses one from memory. Returns 0,
 * -ENOENT/-EACCES (file), -EINVAL (err: the JSON path and the problem;
 * load() prefixes the file name), -ENOMEM.
 */
int tally_election_load(const char *path, struct tally_election **ret, struct tally_err *err);
int tally_election_parse(const char *json, size_t len, struct tally_election **ret,
                         struct tally_err *err);
/* Takes NULL; returns NULL. */
struct tally_election *tally_election_free(struct tally_election *e);

/*
 * Derives what the loader derives for a model whose regions, precincts,
 * districts and contests (their scope) are filled: each contest's
 * precincts, registered voters, regions, districts and slot_base,
 * e->n_slots, the precincts' districts and the lookup indexes. Contests of
 * national scope share e->all_precincts, district ones their district's
 * list. Returns 0, -ENOMEM, or -EOVERFLOW (more than 2^32 - 1 precincts
 * listed by districts in all). Used by the loader; tests that build a
 * model in memory may call it too.
 */
int tally_election_index(struct tally_election *e);

/* Index into e->precincts, or -ENOENT. O(log n). */
int64_t tally_election_precinct_index(const struct tally_election *e, uint32_t precinct_id);
/* Index into e->regions / e->options (the legacy referendum), or -ENOENT. */
int tally_election_region_index(const struct tally_election *e, const char *region_id);
int tally_election_option_index(const struct tally_election *e, const char *option_id);
/*
 * Index into e->contests, or -ENOENT. "" is contest 0 when the election
 * has exactly one contest, else -ENOENT. O(log n).
 */
int tally_election_contest_index(const struct tally_election *e, const char *contest_id);
/* Index into e->districts / e->parties, or -ENOENT. O(log n). */
int tally_election_district_index(const struct tally_election *e, const char *id);
int tally_election_party_index(const struct tally_election *e, const char *id);
/* Index into c->options, or -ENOENT. */
int tally_contest_option_index(const struct tally_contest *c, const char *option_id);

/*
 * The slot of (contest, precinct index), or -ENOENT when the precinct does
 * not vote in that contest. O(1) for a national contest, else O(log n).
 */
int64_t tally_election_slot(const struct tally_election *e, size_t contest, size_t precinct_index);
/* The contest and precinct index of slot < e->n_slots. O(log n_contests). */
void tally_election_slot_info(const struct tally_election *e, size_t slot, size_t *ret_contest,
                              size_t *ret_precinct_index);

/*
 * The districts precinct_index is in (indexes into e->districts,
 * ascending), *ret_n of them; NULL with *ret_n 0 when it is in none. O(1).
 */
const uint32_t *tally_election_precinct_districts(const struct tally_election *e,
                                                  size_t precinct_index, size_t *ret_n);
/*
 * The position of region `region` (an index into e->regions) in
 * c->regions, or of district `district` in c->districts; -ENOENT when the
 * contest has none of its precincts there / does not keep that district.
 * O(log n).
 */
int tally_contest_region_position(const struct tally_contest *c, size_t region);
int tally_contest_district_position(const struct tally_contest *c, size_t district);

/*
 * A definition without "contests": its only contest is the legacy
 * referendum, whose options are also in e->options (a definition with
 * contests leaves those empty, and the loader requires at least one).
 */
static inline bool tally_election_is_legacy(const struct tally_election *e)
{
	return e->n_options > 0;
}

#endif
