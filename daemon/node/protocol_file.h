/*
 * protocol_file.h: the regional centre's protocol files, JSON (one protocol
 * object, or an array of them) and CSV (a header, then one protocol per
 * row), parsed into struct tally_result rows. Pure: bytes in, rows and
 * per-row errors out; no I/O, no logging. The fuzz target calls
 * protocol_file_parse() directly.
 *
 * JSON:  {"precinct_id": 17, "revision": 1, "voters_registered": 1500,
 *         "ballots_received": 1400, "ballots_issued": 1200,
 *         "ballots_cancelled": 200, "ballots_cast": 1180,
 *         "ballots_invalid": 12, "ballots_not_counted": 3,
 *         "votes": {"yes": 900, "no": 265}}
 *   or [{...}, {...}]: several protocols, of the same or other precincts
 *   and contests; each protocol's line is the line its object starts on.
 *   ballots_not_counted is optional (default 0); election_id and region_id
 *   are optional and, when present, must equal the node's; recorded_at_ms
 *   is optional (default 0); contest_id names the protocol's contest and
 *   may be left out (or "") only when the election has one contest. Any
 *   other key is an error.
 *
 * CSV:   precinct_id,revision,voters_registered,ballots_received,
 *        ballots_issued,ballots_cancelled,ballots_cast,ballots_invalid
 *        [,ballots_not_counted][,contest_id],<one column per option id>
 *   ballots_not_counted and contest_id may come in either order, before
 *   the options. The option columns may be options of any of the
 *   election's contests; a row fills its own contest's options and leaves
 *   the others' cells empty. Without a contest_id column (allowed only when
 *   the election has one contest) every option column must be filled.
 *   Plain comma-separated values without quoting; a UTF-8 byte order mark,
 *   CRLF line ends, blank lines and spaces around fields are tolerated.
 *
 * Numbers are whole decimal numbers from 0 to 4294967295: no sign, no
 * fraction, no exponent. A (precinct, contest) may appear only once per
 * file. Votes are ordered as the contest lists its options, so the same
 * figures always give the same bytes. A row's contest_id stays as the file
 * gave it: left out, it is "" in the signed payload, which is then the
 * same byte for byte as before contests existed.
 */
#ifndef TALLY_NODE_PROTOCOL_FILE_H
#define TALLY_NODE_PROTOCOL_FILE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tally/election.h"
#include "tally/result.h"

/*
 * Caps on what one file may hold; a larger file is rejected as a whole.
 * MAX_ROWS counts protocols: CSV rows, or the objects of a JSON array.
 */
#define PROTOCOL_FILE_MAX_BYTES  (4u * 1024 * 1024)
#define PROTOCOL_FILE_MAX_ROWS   10000
#define PROTOCOL_FILE_MAX_ERRORS 1000
/* Room for one error as text (protocol_error_format()), with the NUL. */
#define PROTOCOL_ERROR_TEXT_MAX (TALLY_REASON_MAX + 256)

enum protocol_format {
	PROTOCOL_FORMAT_JSON,
	PROTOCOL_FORMAT_CSV,
};

/* One problem with a file. line 0 means the file as a whole. */
struct protocol_error {
	uint32_t line;
	bool has_precinct;
	uint32_t precinct_id;
	char contest[TALLY_ID_MAX]; /* as the protocol named it, printable; "" if not */
	char where[80];             /* the field, "header", or the control relation */
	char message[TALLY_REASON_MAX];
};

struct protocol_row {
	uint32_t line; /* where the protocol starts, 1-based */
	struct tally_result result;
};

/* What a file held. Owns both arrays; release with protocol_file_free(). */
struct protocol_file {
	size_t n_rows;
	struct protocol_row *rows;
	size_t n_errors;
	struct protocol_error *errors;
	size_t n_errors_dropped; /* beyond PROTOCOL_FILE_MAX_ERRORS */
};

/*
 * What the node expects. election_id and region_id are copied into every
 * row; a JSON file naming others is in error. `election` (may be NULL)
 * supplies the contests a contest_id must name and the options a CSV row
 * must fill; without it any well-formed contest_id and option columns are
 * taken (a row with a contest_id column then leaves out its empty cells).
 */
struct protocol_expect {
	const char *election_id;
	const char *region_id;
	const struct tally_election *election;
};

/* "x.json" -> JSON, "x.csv" -> CSV (exact lowercase suffix); -EINVAL else. */
int protocol_format_from_name(const char *name, enum protocol_format *ret);
const char *protocol_format_str(enum protocol_format f);

/*
 * Parses data[0..len) (any bytes). Returns 0 with *ret set, also when the
 * file has errors: check (*ret)->n_errors. Rows that parsed are kept even
 * when others failed, so a caller can validate them and report every bad
 * row at once. -ENOMEM otherwise.
 */
int protocol_file_parse(const struct protocol_expect *expect, enum protocol_format format,
                        const uint8_t *data, size_t len, struct protocol_file **ret);
struct protocol_file *protocol_file_free(struct protocol_file *f);

/*
 * Records a problem (printf-style message). Past PROTOCOL_FILE_MAX_ERRORS it
 * only counts. Returns 0 or -ENOMEM.
 */
int protocol_file_add_error(struct protocol_file *f, uint32_t line, bool has_precinct,
                            uint32_t precinct_id, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The same, about one of f's rows: its line, precinct and contest. */
int protocol_file_add_row_error(struct protocol_file *f, const struct protocol_row *row,
                                const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The errors as text, one per line, ordered by line:
 *   "line 3: precinct 4711: received = issued + cancelled: ballots_received
 *    (1200) != ballots_issued (1100) + ballots_cancelled (90) = 1190"
 * ("line 3: precinct 4711 contest party-list: ..." when the protocol named
 * its contest) and "file: ..." for line 0. Caller frees *ret. 0 or -ENOMEM.
 */
int protocol_file_format_errors(const struct protocol_file *f, char **ret);
/* One error as a single line without newline, into buf (PROTOCOL_ERROR_TEXT_MAX fits any). */
void protocol_error_format(const struct protocol_error *e, char *buf, size_t cap);

#endif
