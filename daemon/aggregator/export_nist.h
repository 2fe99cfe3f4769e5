/*
 * export_nist.h: the running results as a NIST SP 1500-100 v2
 * ElectionReport (JSON, the schema in NIST's ElectionResultsReporting
 * repository), built from the totals alone. Pure: no I/O, no clock, no
 * libuv; the caller supplies the time and the issuer.
 *
 * The document:
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
 * Only counted results are in the counts; a conflict flag does not change
 * them (the first copy stays counted until a higher revision settles it).
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
	const char *language;              /* of the names, e.g. "en"; NULL = "en" */
	const char *election_date;         /* "YYYY-MM-DD"; NULL = the date of generated_at */
	int64_t generated_at;              /* Unix seconds; GeneratedDate in UTC */
	bool summary_only;                 /* leave out the precinct units and counts */
};

/*
 * Streams the document to cb (compact JSON, in pieces; jansson's
 * json_dump_callback_t). Memory stays small whatever the election's size:
 * one precinct's objects at a time. Returns 0, -EINVAL (missing option),
 * -ENOMEM, or -EIO when cb returns non-zero.
 */
int export_nist_write(const struct tally_totals *t, const struct export_nist_opts *o,
                      json_dump_callback_t cb, void *arg);

/*
 * The same document as a json_t (caller owns it): for tests and small
 * elections. Returns 0, -EINVAL, -ENOMEM.
 */
int export_nist_build(const struct tally_totals *t, const struct export_nist_opts *o, json_t **ret);

/* "unofficial-partial" or "unofficial-complete" for these totals. */
const char *export_nist_status(const struct tally_totals *t);

#endif
