/*
 * rules.c: the names of the rules' enums (rules.h), spelt as election
 * definitions and the JSON API spell them. The loader (election_load.c)
 * parses the same words; the decisions and the API print them from here.
 */
#include "tally/rules.h"

const char *tally_contest_kind_str(enum tally_contest_kind k)
{
	switch (k) {
	case TALLY_CONTEST_REFERENDUM:
		return "referendum";
	case TALLY_CONTEST_CANDIDATE:
		return "candidate";
	case TALLY_CONTEST_PARTY_LIST:
		return "party_list";
	}
	return "unknown";
}

const char *tally_scope_kind_str(enum tally_scope_kind s)
{
	switch (s) {
	case TALLY_SCOPE_NATIONAL:
		return "national";
	case TALLY_SCOPE_REGIONS:
		return "regions";
	case TALLY_SCOPE_DISTRICT:
		return "district";
	}
	return "unknown";
}

const char *tally_denominator_str(enum tally_denominator d)
{
	switch (d) {
	case TALLY_DENOM_BALLOTS_CAST:
		return "ballots_cast";
	case TALLY_DENOM_VALID:
		return "valid";
	}
	return "unknown";
}

const char *tally_win_str(enum tally_win w)
{
	switch (w) {
	case TALLY_WIN_PLURALITY:
		return "plurality";
	case TALLY_WIN_ABSOLUTE_MAJORITY:
		return "absolute_majority";
	}
	return "unknown";
}

const char *tally_seat_method_str(enum tally_seat_method m)
{
	switch (m) {
	case TALLY_METHOD_HARE:
		return "hare";
	case TALLY_METHOD_DHONDT:
		return "dhondt";
	case TALLY_METHOD_SAINTE_LAGUE:
		return "sainte_lague";
	}
	return "unknown";
}

const char *tally_tie_rule_str(enum tally_tie_rule t)
{
	switch (t) {
	case TALLY_TIE_BALLOT_ORDER:
		return "ballot_order";
	case TALLY_TIE_LOT:
		return "lot";
	}
	return "unknown";
}

const char *tally_overflow_str(enum tally_overflow o)
{
	switch (o) {
	case TALLY_OVERFLOW_REDISTRIBUTE:
		return "redistribute";
	case TALLY_OVERFLOW_VACANT:
		return "vacant";
	}
	return "unknown";
}
