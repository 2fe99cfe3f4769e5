/*
 * result.h: the domain form of a precinct result protocol, its outcomes and
 * reject codes. Everything here is plain data: no protobuf, no I/O. codec.h
 * converts between these structs and the wire; validate.h checks them.
 */
#ifndef TALLY_RESULT_H
#define TALLY_RESULT_H

#include <stddef.h>
#include <stdint.h>

/* Longest identifier (election, contest, region, option, node) including the NUL. */
#define TALLY_ID_MAX 64
/* Most options an election may have; a result with more is MALFORMED. */
#define TALLY_MAX_OPTIONS 32
/* Ed25519 sizes and the key id (lowercase hex SHA-256 of the raw key). */
#define TALLY_SIG_BYTES  64
#define TALLY_PK_BYTES   32
#define TALLY_KEY_ID_LEN 64
#define TALLY_HASH_BYTES 32
/* Longest human-readable reason carried in a Nack or Goodbye, with NUL. */
#define TALLY_REASON_MAX       256
#define TALLY_PROTOCOL_VERSION 1

/* Values equal the wire enum tally.v1.Outcome. */
enum tally_outcome {
	TALLY_OUTCOME_UNSPECIFIED = 0,
	TALLY_OUTCOME_ACCEPTED = 1,
	TALLY_OUTCOME_DUPLICATE = 2,
	TALLY_OUTCOME_STALE = 3,
	TALLY_OUTCOME_CONFLICT = 4,
};

/* Values equal the wire enum tally.v1.RejectCode; 0 means "not rejected". */
enum tally_reject_code {
	TALLY_REJECT_NONE = 0,
	TALLY_REJECT_MALFORMED = 1,
	TALLY_REJECT_BAD_SIGNATURE = 2,
	TALLY_REJECT_UNKNOWN_KEY = 3,
	TALLY_REJECT_WRONG_REGION = 4,
	TALLY_REJECT_WRONG_ELECTION = 5,
	TALLY_REJECT_UNKNOWN_PRECINCT = 6,
	TALLY_REJECT_FAILED_CONTROL = 7,
	TALLY_REJECT_CONFLICT_LIMIT = 8, /* past max_conflict_copies of one precinct revision */
	TALLY_REJECT_UNKNOWN_CONTEST = 9,
	TALLY_REJECT_NOT_IN_CONTEST = 10,
};
#define TALLY_REJECT_CODE_COUNT 11
#define TALLY_OUTCOME_COUNT     5

struct tally_option_votes {
	char option_id[TALLY_ID_MAX];
	uint32_t count;
};

/* A decoded PrecinctResult. Fixed size: no heap, copy freely. */
struct tally_result {
	char election_id[TALLY_ID_MAX];
	char contest_id[TALLY_ID_MAX]; /* "" in an election of one contest */
	char region_id[TALLY_ID_MAX];
	uint32_t precinct_id;
	uint32_t revision;
	uint32_t voters_registered;
	uint32_t ballots_received;
	uint32_t ballots_issued;
	uint32_t ballots_cancelled;
	uint32_t ballots_cast;
	uint32_t ballots_invalid;
	uint32_t ballots_not_counted;
	size_t n_votes;
	struct tally_option_votes votes[TALLY_MAX_OPTIONS];
	uint64_t recorded_at_ms;
};

/*
 * A SignedResult. `payload` is owned by the struct (malloc'd) and holds the
 * serialized PrecinctResult exactly as signed; release with
 * tally_signed_result_clear().
 */
struct tally_signed_result {
	uint8_t *payload;
	size_t payload_len;
	uint8_t signature[TALLY_SIG_BYTES];
	size_t signature_len; /* as received; anything but 64 fails verification */
	char key_id[TALLY_KEY_ID_LEN + 1];
};

/* Frees the payload and zeroes the struct. Takes NULL. */
void tally_signed_result_clear(struct tally_signed_result *s);

/* Stable lowercase names: "accepted", "duplicate", "stale", "conflict". */
const char *tally_outcome_str(enum tally_outcome o);
/* Stable uppercase names as on the wire without prefix: "BAD_SIGNATURE". */
const char *tally_reject_code_str(enum tally_reject_code c);

#endif
