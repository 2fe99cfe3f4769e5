/*
 * Tests for codec.c: every message type survives a round trip, and the
 * decoders refuse what the domain structs cannot hold. Hostile inputs are
 * built here byte by byte from the protobuf wire format, so the tests do
 * not depend on the generated code they are checking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tally/codec.h"

/* ---- a tiny protobuf writer for hostile inputs ---- */

struct wire {
	uint8_t b[8192];
	size_t n;
};

static void put_varint(struct wire *w, uint64_t v)
{
	while (v >= 0x80) {
		w->b[w->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	w->b[w->n++] = (uint8_t)v;
}

static void put_bytes(struct wire *w, unsigned field, const void *data, size_t len)
{
	put_varint(w, field << 3 | 2);
	put_varint(w, len);
	memcpy(w->b + w->n, data, len);
	w->n += len;
}

static void put_uint(struct wire *w, unsigned field, uint64_t v)
{
	put_varint(w, field << 3 | 0);
	put_varint(w, v);
}

static void put_string_of(struct wire *w, unsigned field, char c, size_t len)
{
	char s[1024];
	memset(s, c, len);
	put_bytes(w, field, s, len);
}

static struct tally_result sample_result(void)
{
	struct tally_result r;

	memset(&r, 0, sizeof(r));
	strcpy(r.election_id, "kz-2026");
	strcpy(r.region_id, "KZ-71");
	r.precinct_id = 4711;
	r.revision = 2;
	r.voters_registered = 2000;
	r.ballots_received = 1500;
	r.ballots_issued = 1400;
	r.ballots_cancelled = 100;
	r.ballots_cast = 1390;
	r.ballots_invalid = 10;
	r.ballots_not_counted = 5;
	r.n_votes = 2;
	strcpy(r.votes[0].option_id, "yes");
	r.votes[0].count = 1200;
	strcpy(r.votes[1].option_id, "no");
	r.votes[1].count = 175;
	r.recorded_at_ms = 1773561600123ull;
	return r;
}

static void round_trip(const struct tally_msg *in, struct tally_msg *out)
{
	uint8_t *buf;
	size_t len;

	cr_assert_eq(tally_codec_encode_msg(in, &buf, &len), 0);
	memset(out, 0xa5, sizeof(*out));
	cr_assert_eq(tally_codec_decode_msg(buf, len, out), 0);
	free(buf);
	cr_assert_eq(out->type, in->type);
}

/* ---- round trips ---- */

Test(codec, precinct_result_round_trip)
{
	struct tally_result r = sample_result(), back;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), 0);
	memset(&back, 0xa5, sizeof(back));
	cr_assert_eq(tally_codec_decode_result(buf, len, &back), 0);
	free(buf);
	cr_assert_str_eq(back.election_id, "kz-2026");
	cr_assert_str_eq(back.region_id, "KZ-71");
	cr_assert_eq(back.precinct_id, 4711);
	cr_assert_eq(back.revision, 2);
	cr_assert_eq(back.voters_registered, 2000);
	cr_assert_eq(back.ballots_received, 1500);
	cr_assert_eq(back.ballots_issued, 1400);
	cr_assert_eq(back.ballots_cancelled, 100);
	cr_assert_eq(back.ballots_cast, 1390);
	cr_assert_eq(back.ballots_invalid, 10);
	cr_assert_eq(back.ballots_not_counted, 5);
	cr_assert_eq(back.n_votes, 2);
	cr_assert_str_eq(back.votes[0].option_id, "yes");
	cr_assert_eq(back.votes[0].count, 1200);
	cr_assert_str_eq(back.votes[1].option_id, "no");
	cr_assert_eq(back.votes[1].count, 175);
	cr_assert_eq(back.recorded_at_ms, 1773561600123ull);
}

/*
 * Decoders unpack into a 4 KiB buffer on their stack and spill to malloc
 * beyond it: the largest result (every option, every id at its longest)
 * and payloads on both sides of the buffer's size come back exact.
 */
Test(codec, largest_result_round_trips_past_the_decode_buffer)
{
	struct tally_result r = sample_result(), back;
	uint8_t *buf;
	size_t len;

	r.n_votes = TALLY_MAX_OPTIONS;
	for (size_t i = 0; i < TALLY_MAX_OPTIONS; i++) {
		memset(r.votes[i].option_id, 'a' + (int)(i % 26), TALLY_ID_MAX - 1);
		r.votes[i].option_id[TALLY_ID_MAX - 1] = '\0';
		r.votes[i].option_id[0] = (char)('0' + i % 10);
		r.votes[i].count = 1000 + i;
	}
	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), 0);
	cr_assert_gt(len, 2048);
	cr_assert_eq(tally_codec_decode_result(buf, len, &back), 0);
	free(buf);
	cr_assert_eq(back.n_votes, TALLY_MAX_OPTIONS);
	for (size_t i = 0; i < TALLY_MAX_OPTIONS; i++) {
		cr_assert_str_eq(back.votes[i].option_id, r.votes[i].option_id, "option %zu", i);
		cr_assert_eq(back.votes[i].count, 1000 + i);
	}
	cr_assert_str_eq(back.region_id, "KZ-71");
}

Test(codec, submit_payloads_around_the_decode_buffer_round_trip)
{
	static const size_t sizes[] = {0, 1, 4000, 4080, 4096, 4097, 5000, 70000};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct tally_msg m = {.type = TALLY_MSG_SUBMIT, .seq = k + 1}, back;
		uint8_t *payload = malloc(sizes[k] + 1);

		cr_assert_not_null(payload);
		for (size_t i = 0; i < sizes[k]; i++)
			payload[i] = (uint8_t)(i * 7 + k);
		m.result.payload = payload;
		m.result.payload_len = sizes[k];
		memset(m.result.signature, 0xcc, 64);
		m.result.signature_len = 64;
		strcpy(m.result.key_id, "00ff");
		round_trip(&m, &back);
		cr_assert_eq(back.result.payload_len, sizes[k], "payload of %zu", sizes[k]);
		cr_assert_eq(memcmp(back.result.payload, payload, sizes[k]), 0, "payload of %zu",
		             sizes[k]);
		cr_assert_eq(back.result.signature[63], 0xcc);
		cr_assert_str_eq(back.result.key_id, "00ff");
		tally_msg_clear(&back);
		free(payload);
	}
}

Test(codec, precinct_result_encoding_is_deterministic)
{
	struct tally_result r = sample_result();
	uint8_t *a, *b;
	size_t alen, blen;

	cr_assert_eq(tally_codec_encode_result(&r, &a, &alen), 0);
	cr_assert_eq(tally_codec_encode_result(&r, &b, &blen), 0);
	cr_assert_eq(alen, blen);
	cr_assert_eq(memcmp(a, b, alen), 0);
	/* Field 1 (election_id) comes first: tag 0x0a, length 7. */
	cr_assert_eq(a[0], 0x0a);
	cr_assert_eq(a[1], 7);
	cr_assert_eq(memcmp(a + 2, "kz-2026", 7), 0);
	free(a);
	free(b);
}

/*
 * sample_result() as the codec encoded it before PrecinctResult had a
 * contest_id: a result that leaves the contest empty must keep these exact
 * bytes, or every signature made before would stop verifying.
 */
static const uint8_t legacy_bytes[] = {
    0x0a, 0x07, 0x6b, 0x7a, 0x2d, 0x32, 0x30, 0x32, 0x36, 0x12, 0x05, 0x4b, 0x5a,
    0x2d, 0x37, 0x31, 0x18, 0xe7, 0x24, 0x20, 0x02, 0x28, 0xd0, 0x0f, 0x30, 0xdc,
    0x0b, 0x38, 0xf8, 0x0a, 0x40, 0x64, 0x48, 0xee, 0x0a, 0x50, 0x0a, 0x58, 0x05,
    0x62, 0x08, 0x0a, 0x03, 0x79, 0x65, 0x73, 0x10, 0xb0, 0x09, 0x62, 0x07, 0x0a,
    0x02, 0x6e, 0x6f, 0x10, 0xaf, 0x01, 0x68, 0xfb, 0xb0, 0x89, 0x84, 0xcf, 0x33};

Test(codec, empty_contest_id_keeps_the_legacy_bytes)
{
	struct tally_result r = sample_result(), back;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), 0);
	cr_assert_eq(len, sizeof(legacy_bytes));
	cr_assert_eq(memcmp(buf, legacy_bytes, len), 0);
	free(buf);
	/* And the legacy bytes decode to an empty contest. */
	memset(&back, 0xa5, sizeof(back));
	cr_assert_eq(tally_codec_decode_result(legacy_bytes, sizeof(legacy_bytes), &back), 0);
	cr_assert_str_eq(back.contest_id, "");
	cr_assert_eq(back.precinct_id, 4711);
}

Test(codec, contest_id_round_trip_as_field_14)
{
	struct tally_result r = sample_result(), back;
	uint8_t *buf;
	size_t len;

	strcpy(r.contest_id, "otk-07");
	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), 0);
	/* The legacy bytes, then tag 0x72 (field 14, length-delimited), 6, "otk-07". */
	cr_assert_eq(len, sizeof(legacy_bytes) + 8);
	cr_assert_eq(memcmp(buf, legacy_bytes, sizeof(legacy_bytes)), 0);
	cr_assert_eq(memcmp(buf + sizeof(legacy_bytes), "\x72\x06otk-07", 8), 0);
	memset(&back, 0xa5, sizeof(back));
	cr_assert_eq(tally_codec_decode_result(buf, len, &back), 0);
	free(buf);
	cr_assert_str_eq(back.contest_id, "otk-07");
	cr_assert_str_eq(back.election_id, "kz-2026");
	cr_assert_eq(back.votes[1].count, 175);
}

Test(codec, contest_id_longer_than_an_id_is_refused)
{
	struct wire ok = {.n = 0}, too_long = {.n = 0};
	struct tally_result r = sample_result(), back;
	uint8_t *buf = NULL;
	size_t len;

	put_string_of(&ok, 14, 'c', TALLY_ID_MAX - 1);
	cr_assert_eq(tally_codec_decode_result(ok.b, ok.n, &back), 0);
	cr_assert_eq(strlen(back.contest_id), TALLY_ID_MAX - 1);
	put_string_of(&too_long, 14, 'c', TALLY_ID_MAX);
	cr_assert_eq(tally_codec_decode_result(too_long.b, too_long.n, &back), -EBADMSG);
	memset(r.contest_id, 'x', sizeof(r.contest_id)); /* unterminated */
	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), -EINVAL);
	cr_assert_null(buf);
}

Test(codec, signed_result_round_trip_keeps_bytes)
{
	struct tally_signed_result s, back;
	uint8_t payload[5] = {1, 2, 3, 0, 255};
	uint8_t *buf;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.payload = payload;
	s.payload_len = sizeof(payload);
	for (int i = 0; i < TALLY_SIG_BYTES; i++)
		s.signature[i] = (uint8_t)i;
	s.signature_len = TALLY_SIG_BYTES;
	memset(s.key_id, 'a', TALLY_KEY_ID_LEN);
	cr_assert_eq(tally_codec_encode_signed(&s, &buf, &len), 0);
	cr_assert_eq(tally_codec_decode_signed(buf, len, &back), 0);
	free(buf);
	cr_assert_eq(back.payload_len, 5);
	cr_assert_eq(memcmp(back.payload, payload, 5), 0);
	cr_assert_eq(back.signature_len, 64);
	cr_assert_eq(memcmp(back.signature, s.signature, 64), 0);
	cr_assert_eq(strlen(back.key_id), 64);
	cr_assert_str_eq(back.key_id, s.key_id);
	tally_signed_result_clear(&back);
	cr_assert_null(back.payload);
}

Test(codec, tree_head_round_trip)
{
	struct tally_tree_head h, back;
	uint8_t *buf;
	size_t len;

	memset(&h, 0, sizeof(h));
	strcpy(h.election_id, "kz-2026");
	h.tree_size = 10388;
	memset(h.root_hash, 0x11, 32);
	h.timestamp_ms = 1773600000000ull;
	memset(h.totals_hash, 0x22, 32);
	cr_assert_eq(tally_codec_encode_tree_head(&h, &buf, &len), 0);
	cr_assert_eq(tally_codec_decode_tree_head(buf, len, &back), 0);
	free(buf);
	cr_assert_str_eq(back.election_id, "kz-2026");
	cr_assert_eq(back.tree_size, 10388);
	cr_assert_eq(back.timestamp_ms, 1773600000000ull);
	cr_assert_eq(memcmp(back.root_hash, h.root_hash, 32), 0);
	cr_assert_eq(memcmp(back.totals_hash, h.totals_hash, 32), 0);
}

Test(codec, tree_head_with_short_hash_is_ebadmsg)
{
	struct wire w = {.n = 0};
	struct tally_tree_head h;
	uint8_t hash[32] = {0};

	put_bytes(&w, 1, "e", 1);
	put_bytes(&w, 3, hash, 31);
	put_bytes(&w, 5, hash, 32);
	cr_assert_eq(tally_codec_decode_tree_head(w.b, w.n, &h), -EBADMSG);
}

Test(codec, hello_round_trip)
{
	struct tally_msg m = {.type = TALLY_MSG_HELLO, .protocol_version = 1}, back;
	strcpy(m.node_id, "node-kz-71-a");
	strcpy(m.region_id, "KZ-71");
	round_trip(&m, &back);
	cr_assert_eq(back.protocol_version, 1);
	cr_assert_str_eq(back.node_id, "node-kz-71-a");
	cr_assert_str_eq(back.region_id, "KZ-71");
	tally_msg_clear(&back);
}

Test(codec, welcome_round_trip)
{
	struct tally_msg m = {.type = TALLY_MSG_WELCOME, .protocol_version = 1}, back;
	strcpy(m.aggregator_id, "central");
	strcpy(m.election_id, "kz-2026");
	round_trip(&m, &back);
	cr_assert_eq(back.protocol_version, 1);
	cr_assert_str_eq(back.aggregator_id, "central");
	cr_assert_str_eq(back.election_id, "kz-2026");
	tally_msg_clear(&back);
}

Test(codec, submit_round_trip_owns_payload)
{
	struct tally_msg m = {.type = TALLY_MSG_SUBMIT, .seq = 1ull << 40}, back;
	uint8_t payload[100];

	memset(payload, 0x5a, sizeof(payload));
	m.result.payload = payload;
	m.result.payload_len = sizeof(payload);
	memset(m.result.signature, 0xcc, 64);
	m.result.signature_len = 64;
	strcpy(m.result.key_id, "00ff");
	round_trip(&m, &back);
	cr_assert_eq(back.seq, 1ull << 40);
	cr_assert_eq(back.result.payload_len, 100);
	cr_assert_neq(back.result.payload, payload);
	cr_assert_eq(memcmp(back.result.payload, payload, 100), 0);
	cr_assert_eq(back.result.signature_len, 64);
	cr_assert_eq(back.result.signature[63], 0xcc);
	cr_assert_str_eq(back.result.key_id, "00ff");
	tally_msg_clear(&back);
	cr_assert_null(back.result.payload);
	cr_assert_eq(back.type, TALLY_MSG_NONE);
}

Test(codec, submit_keeps_short_signature_length)
{
	struct tally_msg m = {.type = TALLY_MSG_SUBMIT, .seq = 3}, back;
	uint8_t payload[1] = {9};

	m.result.payload = payload;
	m.result.payload_len = 1;
	m.result.signature_len = 10;
	round_trip(&m, &back);
	cr_assert_eq(back.result.signature_len, 10);
	tally_msg_clear(&back);
}

Test(codec, ack_round_trip_every_outcome)
{
	for (int o = TALLY_OUTCOME_ACCEPTED; o <= TALLY_OUTCOME_CONFLICT; o++) {
		struct tally_msg m = {.type = TALLY_MSG_ACK, .seq = 77, .outcome = o}, back;
		round_trip(&m, &back);
		cr_assert_eq(back.seq, 77);
		cr_assert_eq((int)back.outcome, o);
	}
}

Test(codec, nack_round_trip_every_code)
{
	for (int c = TALLY_REJECT_MALFORMED; c <= TALLY_REJECT_FAILED_CONTROL; c++) {
		struct tally_msg m = {.type = TALLY_MSG_NACK, .seq = 5, .code = c}, back;
		strcpy(m.reason, "ballots_cast (1101) > ballots_issued (1100)");
		round_trip(&m, &back);
		cr_assert_eq(back.seq, 5);
		cr_assert_eq((int)back.code, c);
		cr_assert_str_eq(back.reason, "ballots_cast (1101) > ballots_issued (1100)");
	}
}

Test(codec, contest_reject_codes_round_trip_with_their_names)
{
	static const struct {
		enum tally_reject_code code;
		int wire;
		const char *name;
	} cases[] = {
	    {TALLY_REJECT_CONFLICT_LIMIT, 8, "CONFLICT_LIMIT"},
	    {TALLY_REJECT_UNKNOWN_CONTEST, 9, "UNKNOWN_CONTEST"},
	    {TALLY_REJECT_NOT_IN_CONTEST, 10, "NOT_IN_CONTEST"},
	};

	cr_assert_eq(TALLY_REJECT_CODE_COUNT, 11);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tally_msg m = {.type = TALLY_MSG_NACK, .seq = 2, .code = cases[i].code},
		                 back;
		/* Nack{seq=2, code=N} as a third party would write it. */
		uint8_t nack[] = {0x2a, 0x04, 0x08, 0x02, 0x10, (uint8_t)cases[i].wire};
		cr_assert_eq((int)cases[i].code, cases[i].wire);
		cr_assert_str_eq(tally_reject_code_str(cases[i].code), cases[i].name);
		round_trip(&m, &back);
		cr_assert_eq(back.code, cases[i].code);
		cr_assert_eq(tally_codec_decode_msg(nack, sizeof(nack), &back), 0);
		cr_assert_eq(back.code, cases[i].code);
	}
}

Test(codec, goodbye_ping_pong_round_trip)
{
	struct tally_msg g = {.type = TALLY_MSG_GOODBYE}, back;
	strcpy(g.reason, "shutting down");
	round_trip(&g, &back);
	cr_assert_str_eq(back.reason, "shutting down");

	struct tally_msg p = {.type = TALLY_MSG_PING, .nonce = 0xdeadbeefcafeull};
	round_trip(&p, &back);
	cr_assert_eq(back.nonce, 0xdeadbeefcafeull);

	struct tally_msg q = {.type = TALLY_MSG_PONG, .nonce = 1};
	round_trip(&q, &back);
	cr_assert_eq(back.nonce, 1);
}

Test(codec, wire_enum_values_are_the_domain_values)
{
	/* Ack{seq=1, outcome=4}: Frame.ack is field 4. */
	uint8_t ack[] = {0x22, 0x04, 0x08, 0x01, 0x10, 0x04};
	/* Nack{seq=2, code=7}: Frame.nack is field 5. */
	uint8_t nack[] = {0x2a, 0x04, 0x08, 0x02, 0x10, 0x07};
	struct tally_msg m;

	cr_assert_eq(tally_codec_decode_msg(ack, sizeof(ack), &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_ACK);
	cr_assert_eq(m.outcome, TALLY_OUTCOME_CONFLICT);
	cr_assert_eq(tally_codec_decode_msg(nack, sizeof(nack), &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_NACK);
	cr_assert_eq(m.code, TALLY_REJECT_FAILED_CONTROL);
}

Test(codec, names)
{
	cr_assert_str_eq(tally_msg_type_str(TALLY_MSG_SUBMIT), "submit");
	cr_assert_str_eq(tally_msg_type_str(TALLY_MSG_PONG), "pong");
	cr_assert_str_eq(tally_outcome_str(TALLY_OUTCOME_ACCEPTED), "accepted");
	cr_assert_str_eq(tally_outcome_str(TALLY_OUTCOME_DUPLICATE), "duplicate");
	cr_assert_str_eq(tally_outcome_str(TALLY_OUTCOME_STALE), "stale");
	cr_assert_str_eq(tally_outcome_str(TALLY_OUTCOME_CONFLICT), "conflict");
	cr_assert_str_eq(tally_reject_code_str(TALLY_REJECT_BAD_SIGNATURE), "BAD_SIGNATURE");
	cr_assert_str_eq(tally_reject_code_str(TALLY_REJECT_UNKNOWN_PRECINCT), "UNKNOWN_PRECINCT");
	cr_assert_str_eq(tally_reject_code_str(TALLY_REJECT_FAILED_CONTROL), "FAILED_CONTROL");
}

/* ---- hostile input ---- */

Test(codec, frame_with_no_body_is_ebadmsg)
{
	struct tally_msg m;
	uint8_t unknown_field[] = {0x48, 0x01}; /* field 9, varint 1: not a body */

	cr_assert_eq(tally_codec_decode_msg((const uint8_t *)"", 0, &m), -EBADMSG);
	cr_assert_eq(tally_codec_decode_msg(unknown_field, sizeof(unknown_field), &m), -EBADMSG);
}

Test(codec, garbage_bytes_are_ebadmsg)
{
	uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct tally_msg m;
	struct tally_result r;
	struct tally_signed_result s;

	cr_assert_eq(tally_codec_decode_msg(garbage, sizeof(garbage), &m), -EBADMSG);
	cr_assert_eq(tally_codec_decode_result(garbage, sizeof(garbage), &r), -EBADMSG);
	cr_assert_eq(tally_codec_decode_signed(garbage, sizeof(garbage), &s), -EBADMSG);
}

Test(codec, every_truncation_of_a_submit_is_refused_or_clean)
{
	struct tally_msg m = {.type = TALLY_MSG_SUBMIT, .seq = 9}, back;
	uint8_t payload[40];
	uint8_t *buf;
	size_t len;

	memset(payload, 1, sizeof(payload));
	m.result.payload = payload;
	m.result.payload_len = sizeof(payload);
	m.result.signature_len = 64;
	strcpy(m.result.key_id, "abcd");
	cr_assert_eq(tally_codec_encode_msg(&m, &buf, &len), 0);
	/* Every strict prefix cuts a length-delimited field short. */
	for (size_t cut = 1; cut < len; cut++)
		cr_assert_eq(tally_codec_decode_msg(buf, cut, &back), -EBADMSG, "cut at %zu", cut);
	cr_assert_eq(tally_codec_decode_msg(buf, len, &back), 0);
	tally_msg_clear(&back);
	free(buf);
}

Test(codec, over_long_ids_are_ebadmsg)
{
	struct wire ok = {.n = 0}, bad = {.n = 0};
	struct tally_result r;

	put_string_of(&ok, 1, 'e', TALLY_ID_MAX - 1);
	cr_assert_eq(tally_codec_decode_result(ok.b, ok.n, &r), 0);
	cr_assert_eq(strlen(r.election_id), 63);

	put_string_of(&bad, 1, 'e', TALLY_ID_MAX);
	cr_assert_eq(tally_codec_decode_result(bad.b, bad.n, &r), -EBADMSG);

	struct wire region = {.n = 0};
	put_string_of(&region, 2, 'r', 200);
	cr_assert_eq(tally_codec_decode_result(region.b, region.n, &r), -EBADMSG);

	/* An option id inside a vote. */
	struct wire vote = {.n = 0}, res = {.n = 0};
	put_string_of(&vote, 1, 'o', 64);
	put_bytes(&res, 12, vote.b, vote.n);
	cr_assert_eq(tally_codec_decode_result(res.b, res.n, &r), -EBADMSG);
}

Test(codec, over_long_reason_and_node_id_are_ebadmsg)
{
	struct wire goodbye = {.n = 0}, frame = {.n = 0};
	struct tally_msg m;

	put_string_of(&goodbye, 1, 'x', TALLY_REASON_MAX);
	put_bytes(&frame, 6, goodbye.b, goodbye.n);
	cr_assert_eq(tally_codec_decode_msg(frame.b, frame.n, &m), -EBADMSG);

	struct wire hello = {.n = 0}, frame2 = {.n = 0};
	put_uint(&hello, 1, 1);
	put_string_of(&hello, 2, 'n', 64);
	put_bytes(&frame2, 1, hello.b, hello.n);
	cr_assert_eq(tally_codec_decode_msg(frame2.b, frame2.n, &m), -EBADMSG);
}

Test(codec, too_many_votes_is_ebadmsg)
{
	struct wire vote = {.n = 0}, ok = {.n = 0}, bad = {.n = 0};
	struct tally_result r;

	put_bytes(&vote, 1, "y", 1);
	put_uint(&vote, 2, 1);
	for (int i = 0; i < TALLY_MAX_OPTIONS; i++)
		put_bytes(&ok, 12, vote.b, vote.n);
	cr_assert_eq(tally_codec_decode_result(ok.b, ok.n, &r), 0);
	cr_assert_eq(r.n_votes, 32);

	for (int i = 0; i < TALLY_MAX_OPTIONS + 1; i++)
		put_bytes(&bad, 12, vote.b, vote.n);
	cr_assert_eq(tally_codec_decode_result(bad.b, bad.n, &r), -EBADMSG);
}

Test(codec, over_long_signature_and_key_id_are_ebadmsg)
{
	uint8_t sig[65] = {0};
	struct wire s1 = {.n = 0}, s2 = {.n = 0};
	struct tally_signed_result s;

	put_bytes(&s1, 1, "p", 1);
	put_bytes(&s1, 2, sig, 65);
	cr_assert_eq(tally_codec_decode_signed(s1.b, s1.n, &s), -EBADMSG);

	put_bytes(&s2, 1, "p", 1);
	put_string_of(&s2, 3, 'a', TALLY_KEY_ID_LEN + 1);
	cr_assert_eq(tally_codec_decode_signed(s2.b, s2.n, &s), -EBADMSG);
}

Test(codec, submit_without_result_is_ebadmsg)
{
	struct wire submit = {.n = 0}, frame = {.n = 0};
	struct tally_msg m;

	put_uint(&submit, 1, 42);
	put_bytes(&frame, 3, submit.b, submit.n);
	cr_assert_eq(tally_codec_decode_msg(frame.b, frame.n, &m), -EBADMSG);
}

Test(codec, unknown_enum_values_are_ebadmsg)
{
	/* Outcome 5 and reject code 11 are the first numbers the .proto does not define. */
	uint8_t ack[] = {0x22, 0x04, 0x08, 0x01, 0x10, 0x05};
	uint8_t nack[] = {0x2a, 0x04, 0x08, 0x02, 0x10, 0x0b};
	struct tally_msg m;

	cr_assert_eq(tally_codec_decode_msg(ack, sizeof(ack), &m), -EBADMSG);
	cr_assert_eq(tally_codec_decode_msg(nack, sizeof(nack), &m), -EBADMSG);
}

Test(codec, encoder_refuses_what_it_cannot_represent)
{
	struct tally_result r = sample_result();
	struct tally_msg m = {.type = TALLY_MSG_NONE};
	uint8_t *buf = NULL;
	size_t len;

	r.n_votes = TALLY_MAX_OPTIONS + 1;
	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), -EINVAL);
	r = sample_result();
	memset(r.region_id, 'x', sizeof(r.region_id)); /* unterminated */
	cr_assert_eq(tally_codec_encode_result(&r, &buf, &len), -EINVAL);
	cr_assert_eq(tally_codec_encode_msg(&m, &buf, &len), -EINVAL);
	m.type = TALLY_MSG_ACK;
	m.outcome = 9;
	cr_assert_eq(tally_codec_encode_msg(&m, &buf, &len), -EINVAL);
	cr_assert_null(buf);
}
