/*
 * export_nist.h: the running results as a NIST SP 1500-100 v2
 * ElectionReport (JSON, the schema in NIST's ElectionResultsReporting
 * repository), built from the totals alone. Pure: no I/O, no clock, no
 * libuv; the caller supplies the time and the issuer.
 *
 * The document of a definition without contests (a referendum), unchanged
 * since before contests existed:
 *   - GpUnit: one ReportingUnit "country" (@id "ru-country") composed of
 *     one "state" unit per region (@id "ru-<region id>"), each composed of
 *     its precincts (Type "precinct", @id "ru-p<precinct id>"). Units carry
 *     TotalSubUnits/SubUnitsReported (precincts), VotersRegistered (the
 *     result's figure for a reported precinct, the definition's otherwise,
 *     summed upwards), VotersParticipated (ballots cast) and a CountStatus.
 *   - Election[0]: Name = the election title, Type "other" / OtherType
 *     "referendum", ElectionScopeId = the country unit, BallotCounts per
 *     unit (BallotsCast, BallotsRejected = invalid ballots), and one
 *     BallotMeasureContest (Type "referendum") with a BallotMeasureSelection
 *     per option whose VoteCounts (Type "total") cover the country, each
 *     region and each reported precinct; OtherCounts.Overvotes carries the
 *     valid ballots counted for no option.
 *   - Status "unofficial-partial" while precincts are missing,
 *     "unofficial-complete" once every precinct is in. SequenceStart and
 *     SequenceEnd are 1 (the whole report is this one file); the totals'
 *     sequence (the public log size) is an ExternalIdentifier with OtherType
 *     "tally-sequence" and is in Notes.
 *
 * The document of a general election (a definition with contests),
 * docs/publication.md has the whole mapping:
 *   - GpUnit: "ru-country" -> "ru-<region id>" -> "ru-p<precinct id>" as
 *     above, plus each district ("ru-district/<id>", Type "other" /
 *     OtherType "electoral-district", composed of its precincts, across
 *     regions if it is) and, for each contest scoped to regions, the unit
 *     of those regions ("ru-scope/<contest id>", OtherType
 *     "contest-regions"). Names in every language of the definition.
 *     Units' SubUnitsReported counts the precincts reported in every
 *     contest they vote in; VotersRegistered is the definition's figure;
 *     there is no VotersParticipated (each contest has its own ballots).
 *   - Party: one per party ("party-<id>", Name, Color), and one per party
 *     list without a party ("party-<contest>/<option>").
 *   - Election[0]: Type "general"; BallotCounts per contest and unit, Type
 *     "other" / OtherType "contest:<contest id>"; Candidate
 *     ("cand-<contest>/<option>") per candidate option, with
 *     PostElectionStatus once the contest's decision (decision.h) is final;
 *     a Contest per contest, ElectionDistrictId = its scope's unit:
 *     BallotMeasureContest "bmc-<id>" (referendum), CandidateContest
 *     "cc-<id>" (NumberElected = seats, VotesAllowed 1), PartyContest
 *     "pc-<id>" (the seats offered as ExternalIdentifier "tally-seats").
 *     Selections carry VoteCounts (Type "total") for the scope's unit, its
 *     regions, the districts wholly inside it and its reported precincts;
 *     a party list's also its seats (Type "seats", at the scope's unit)
 *     once final. An against-all option is a BallotMeasureSelection with
 *     the ExternalIdentifier "against-all".
 * Only counted results are in the counts; a conflict flag does not change
 * them (the first copy stays counted until a higher revision settles it).
 *
 * What it reads of the totals: the slots' revision and n_conflicts, and
 * per contest national, regions, districts, counted and
 * reported_definition_registered (export_http.c copies exactly that).
 */
#ifndef TALLY_EXPORT_NIST_H
#define TALLY_EXPORT_NIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tally/totals.h"

struct export_nist_opts {
	const char *issuer;                /* "Issuer"; required */
	const char *issuer_abbreviation;   /* "IssuerAbbreviation"; required */
	const char *vendor_application_id; /* "VendorApplicationId"; required */
	const char *language;      /* of names given as plain strings, e.g. "en"; NULL = "en" */
	const char *election_date; /* "YYYY-MM-DD"; NULL = the date of generated_at */
	int64_t generated_at;      /* Unix seconds; GeneratedDate in UTC */
	bool summary_only;         /* leave out the precinct units and counts */
};

/*
 * Streams the document to cb (compact JSON, in pieces; jansson's
 * json_dump_callback_t). Memory stays small whatever the election's size:
 * one precinct's objects at a time (and, for a general election, one byte
 * per precinct for its progress over the contests). Returns 0, -EINVAL
 * (missing option), -ENOMEM, or -EIO when cb returns non-zero.
 */
int export_nist_write(const struct tally_totals *t, const struct export_nist_opts *o,
                      json_dump_callback_t cb, void *arg);

/*
 * The same document as a json_t (caller owns it): for tests and small
 * elections. Returns 0, -EINVAL, -ENOMEM.
 */
int export_nist_build(const struct tally_totals *t, const struct export_nist_opts *o, json_t **ret);

/* "unofficial-complete" once every contest has every precinct in, else "unofficial-partial". */
const char *export_nist_status(const struct tally_totals *t);

#endif
