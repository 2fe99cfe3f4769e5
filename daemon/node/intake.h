/*
 * intake.h: takes one protocol file (from the spool folder or the control
 * socket) whole or not at all. Every row is parsed, checked against the
 * election (validate.h: its contest, the precinct in the region and in that
 * contest, the controls), signed with the region's key over the exact
 * PrecinctResult bytes, and then all rows are committed to the outbox in one
 * transaction together with the file's SHA-256. If any row fails, nothing is
 * queued and the report lists every failing row. A file whose SHA-256 the
 * outbox already knows is not queued again (a crash between commit and the
 * file's move, or a second submit of the same file). Protocols of several
 * contests of one precinct are separate entries.
 *
 * No I/O besides the outbox; no logging (the callers log with context).
 */
#ifndef TALLY_NODE_INTAKE_H
#define TALLY_NODE_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "outbox.h"
#include "protocol_file.h"
#include "tally/election.h"
#include "tally/sign.h"

enum intake_fate {
	INTAKE_QUEUED,   /* committed now */
	INTAKE_ALREADY,  /* the same bytes were committed before */
	INTAKE_REJECTED, /* nothing queued; see errors */
};

/*
 * The outcome for one file. QUEUED/ALREADY: `entries` lists the outbox
 * entries the file's rows became, and `contests` (NULL when there are no
 * entries) the contest_id each one's payload carries: "" when the file
 * left it out (an election of one contest), or when an ALREADY file no
 * longer parses to the same rows (the definition changed since). REJECTED:
 * `file` holds the rows that parsed and every error, and `error_text` is
 * what goes into `<name>.error`. Release with intake_report_clear().
 */
struct intake_report {
	enum intake_fate fate;
	size_t n_entries;
	struct outbox_record *entries;
	char (*contests)[TALLY_ID_MAX]; /* n_entries of them */
	struct protocol_file *file;
	char *error_text;
};

/* Borrowed by intake: all must outlive it. `key` may be swapped (SIGHUP). */
struct intake {
	const struct tally_election *election;
	const char *region_id;
	const struct tally_signing_key *key;
	struct outbox *outbox;
};

/*
 * Takes the file `name` (its base name; the suffix gives the format).
 * Returns 0 with *ret filled for either fate; -EINVAL for a name that is not
 * *.json or *.csv; an outbox error (-ENOSPC, -EIO, ...) when the commit
 * failed, in which case nothing was queued and the file should be kept and
 * tried again; -ENOMEM.
 */
int intake_take(const struct intake *in, const char *name, const uint8_t *data, size_t len,
                struct intake_report *ret);
void intake_report_clear(struct intake_report *r);

/* The fate's name as the control socket says it ("queued", ...); "unknown" if none. */
const char *intake_fate_str(enum intake_fate f);

#endif
