/*
 * rules.h: the vocabulary of an election's rules, shared by the election
 * model (election.h), seat allocation (seats.h) and the decisions built on
 * them (decision.h). Plain enums, one fixed-point unit and the enums' names
 * as the definition spells them (rules.c); no I/O.
 *
 * Fractions and percentages are kept as whole parts per million, so no
 * floating point decides a rule: 50 % is 500000, a fraction of 0.6667 is
 * 666700, and "x is at least 5 % of d" is x * TALLY_PPM >= 50000 * d in
 * 64-bit integers.
 */
#ifndef TALLY_RULES_H
#define TALLY_RULES_H

/* One whole, in parts per million. */
#define TALLY_PPM 1000000u

enum tally_contest_kind {
	TALLY_CONTEST_REFERENDUM = 0,
	TALLY_CONTEST_CANDIDATE,
	TALLY_CONTEST_PARTY_LIST,
};

/* Where a contest is voted: everywhere, in some regions, or in one district. */
enum tally_scope_kind {
	TALLY_SCOPE_NATIONAL = 0,
	TALLY_SCOPE_REGIONS,
	TALLY_SCOPE_DISTRICT,
};

/* What a share is of: everyone who took part, or the valid ballots
 * (ballots_cast - ballots_invalid). */
enum tally_denominator {
	TALLY_DENOM_BALLOTS_CAST = 0,
	TALLY_DENOM_VALID,
};

/* How a candidate contest is won. */
enum tally_win {
	TALLY_WIN_PLURALITY = 0,
	TALLY_WIN_ABSOLUTE_MAJORITY,
};

/* How a party list's seats are allocated among the lists that passed. */
enum tally_seat_method {
	TALLY_METHOD_HARE = 0, /* largest remainder, Hare quota */
	TALLY_METHOD_DHONDT,
	TALLY_METHOD_SAINTE_LAGUE,
};

/* Who takes a seat that two lists have equal claims to. */
enum tally_tie_rule {
	TALLY_TIE_BALLOT_ORDER = 0, /* the list earlier on the ballot */
	TALLY_TIE_LOT,              /* nobody: the seats are left to a drawing of lots */
};

/* What happens to seats a list wins beyond the candidates on it. */
enum tally_overflow {
	TALLY_OVERFLOW_REDISTRIBUTE = 0, /* they go on to the other lists */
	TALLY_OVERFLOW_VACANT,           /* they stay empty */
};

/*
 * Each value's name as an election definition and the JSON API spell it:
 * "referendum", "candidate", "party_list"; "national", "regions",
 * "district"; "ballots_cast", "valid"; "plurality", "absolute_majority";
 * "hare", "dhondt", "sainte_lague"; "ballot_order", "lot"; "redistribute",
 * "vacant". A value outside its enum is "unknown". Static strings.
 */
const char *tally_contest_kind_str(enum tally_contest_kind k);
const char *tally_scope_kind_str(enum tally_scope_kind s);
const char *tally_denominator_str(enum tally_denominator d);
const char *tally_win_str(enum tally_win w);
const char *tally_seat_method_str(enum tally_seat_method m);
const char *tally_tie_rule_str(enum tally_tie_rule t);
const char *tally_overflow_str(enum tally_overflow o);

#endif
