/*
 * intake.c: one protocol file in, all of its rows queued or none (see
 * intake.h). It strings together the pure pieces (protocol_file, validate,
 * codec, sign) and the one outbox transaction; where the bytes came from and
 * where the file goes afterwards belong to spool.c and control.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "tally/codec.h"
#include "tally/validate.h"

struct signed_row {
	uint8_t *bytes; /* tally_codec_encode_signed() output */
	size_t len;
	uint8_t payload_hash[TALLY_HASH_BYTES];
};

const char *intake_fate_str(enum intake_fate f)
{
	switch (f) {
	case INTAKE_QUEUED:
		return "queued";
	case INTAKE_ALREADY:
		return "already queued";
	case INTAKE_REJECTED:
		return "rejected";
	}
	return "unknown";
}

void intake_report_clear(struct intake_report *r)
{
	if (!r)
		return;
	free(r->entries);
	free(r->contests);
	protocol_file_free(r->file);
	free(r->error_text);
	memset(r, 0, sizeof(*r));
}

/* Signs one row: the signature covers the PrecinctResult bytes as sent. */
static int sign_row(const struct intake *in, const struct tally_result *r, struct signed_row *ret)
{
	struct tally_signed_result s;
	int e;

	memset(&s, 0, sizeof(s));
	e = tally_codec_encode_result(r, &s.payload, &s.payload_len);
	if (e < 0)
		return e;
	tally_sign_sign(in->key, s.payload, s.payload_len, s.signature);
	s.signature_len = TALLY_SIG_BYTES;
	memcpy(s.key_id, in->key->pub.key_id, sizeof(s.key_id));
	tally_sha256(s.payload, s.payload_len, ret->payload_hash);
	e = tally_codec_encode_signed(&s, &ret->bytes, &ret->len);
	tally_signed_result_clear(&s);
	return e;
}

static int commit_rows(const struct intake *in, const char *name, const struct protocol_file *f,
                       const struct signed_row *rows, const uint8_t file_hash[32])
{
	int e;

	e = outbox_begin(in->outbox);
	if (e < 0)
		return e;
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct tally_result *r = &f->rows[i].result;
		struct outbox_entry ent = {
		    .precinct_id = r->precinct_id,
		    .revision = r->revision,
		    .source = name,
		    .line = f->rows[i].line,
		    .payload_hash = rows[i].payload_hash,
		    .signed_bytes = rows[i].bytes,
		    .signed_len = rows[i].len,
		};
		e = outbox_add(in->outbox, &ent, file_hash, NULL);
		if (e < 0)
			goto fail;
	}
	e = outbox_file_add(in->outbox, file_hash, name, f->n_rows);
	if (e < 0)
		goto fail;
	return outbox_commit(in->outbox);
fail:
	outbox_rollback(in->outbox);
	return e;
}

/*
 * The contest of each entry, from the rows the file parsed to. Entries come
 * by id, and a file's rows were added in row order, so entry i is row i;
 * the precinct, revision and line say whether that still holds.
 */
static int note_contests(const struct protocol_file *f, struct intake_report *ret)
{
	if (ret->n_entries == 0)
		return 0;
	ret->contests = calloc(ret->n_entries, sizeof(*ret->contests));
	if (!ret->contests)
		return -ENOMEM;
	if (!f || f->n_rows != ret->n_entries)
		return 0;
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct protocol_row *row = &f->rows[i];
		const struct outbox_record *ent = &ret->entries[i];
		if (row->result.precinct_id != ent->precinct_id ||
		    row->result.revision != ent->revision || row->line != ent->line)
			return 0;
	}
	for (size_t i = 0; i < f->n_rows; i++)
		memcpy(ret->contests[i], f->rows[i].result.contest_id, TALLY_ID_MAX);
	return 0;
}

/*
 * A file taken before: its entries, and their contests from the same bytes
 * parsed again (the outbox keeps the signed bytes, not the contest).
 */
static int take_already(const struct intake *in, const struct protocol_expect *expect,
                        enum protocol_format format, const uint8_t *data, size_t len,
                        const uint8_t file_hash[TALLY_HASH_BYTES], struct intake_report *ret)
{
	struct protocol_file *f = NULL;
	int e;

	ret->fate = INTAKE_ALREADY;
	e = outbox_file_entries(in->outbox, file_hash, &ret->entries, &ret->n_entries);
	if (e < 0)
		return e;
	e = protocol_file_parse(expect, format, data, len, &f);
	if (e < 0)
		return e;
	e = note_contests(f->n_errors == 0 ? f : NULL, ret);
	protocol_file_free(f);
	return e;
}

static int take_rejected(struct protocol_file *f, struct intake_report *ret)
{
	int e = protocol_file_format_errors(f, &ret->error_text);

	if (e < 0) {
		protocol_file_free(f);
		return e;
	}
	ret->fate = INTAKE_REJECTED;
	ret->file = f;
	return 0;
}

int intake_take(const struct intake *in, const char *name, const uint8_t *data, size_t len,
                struct intake_report *ret)
{
	struct protocol_expect expect = {
	    .election_id = in->election->election_id,
	    .region_id = in->region_id,
	    .election = in->election,
	};
	struct protocol_file *f = NULL;
	struct signed_row *rows = NULL;
	enum protocol_format format;
	uint8_t file_hash[TALLY_HASH_BYTES];
	bool known;
	int e;

	memset(ret, 0, sizeof(*ret));
	if (protocol_format_from_name(name, &format) < 0)
		return -EINVAL;

	tally_sha256(data, len, file_hash);
	e = outbox_file_known(in->outbox, file_hash, &known);
	if (e < 0)
		return e;
	if (known) {
		e = take_already(in, &expect, format, data, len, file_hash, ret);
		if (e < 0)
			intake_report_clear(ret);
		return e;
	}

	e = protocol_file_parse(&expect, format, data, len, &f);
	if (e < 0)
		return e;
	/* Check every parsed row, so the .error lists all that fail at once. */
	for (size_t i = 0; i < f->n_rows; i++) {
		struct tally_verdict v;
		const struct protocol_row *row = &f->rows[i];

		if (tally_validate_result(in->election, &row->result, &v) == 0)
			continue;
		e = protocol_file_add_row_error(f, row, v.relation, "%s", v.reason);
		if (e < 0)
			goto out;
	}
	if (f->n_errors > 0 || f->n_errors_dropped > 0) {
		e = take_rejected(f, ret);
		f = NULL;
		goto out;
	}

	rows = calloc(f->n_rows, sizeof(*rows));
	if (!rows) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < f->n_rows; i++)
		if ((e = sign_row(in, &f->rows[i].result, &rows[i])) < 0)
			goto out;
	e = commit_rows(in, name, f, rows, file_hash);
	if (e < 0)
		goto out;
	ret->fate = INTAKE_QUEUED;
	/*
	 * The rows are committed: from here on the answer is "queued" even if
	 * listing them fails, or a caller would keep a file that is taken.
	 */
	if (outbox_file_entries(in->outbox, file_hash, &ret->entries, &ret->n_entries) < 0 ||
	    note_contests(f, ret) < 0) {
		free(ret->entries);
		ret->entries = NULL;
		ret->n_entries = 0;
	}
out:
	if (rows)
		for (size_t i = 0; i < f->n_rows; i++)
			free(rows[i].bytes);
	free(rows);
	protocol_file_free(f);
	if (e < 0)
		intake_report_clear(ret);
	return e;
}
