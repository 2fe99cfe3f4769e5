/*
 * codec.c: the one place that knows protobuf-c. Each decoder unpacks the
 * wire bytes, checks every bound the domain structs rely on (string
 * lengths, vote count, oneof case, enum range, hash sizes), copies into a
 * fixed-size domain struct and frees the protobuf object before returning,
 * so no protobuf type escapes this file. What unpacking allocates lives
 * only that long, so it comes from a buffer on the decoder's stack (see
 * struct arena). Encoders build the protobuf
 * object on the stack, pointing at the caller's data, and pack it.
 * Semantic checks (does this precinct exist, do the sums add up) are
 * validate.c's; here only "can this be represented" is decided.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tally.pb-c.h"
#include "tally/codec.h"

/*
 * The domain enums are defined with the wire values; if the .proto ever
 * changes a number, the build breaks here instead of silently mistranslating.
 */
#define SAME_VALUE(wire, domain) _Static_assert((int)(wire) == (int)(domain), #domain)
SAME_VALUE(TALLY__V1__OUTCOME__OUTCOME_UNSPECIFIED, TALLY_OUTCOME_UNSPECIFIED);
SAME_VALUE(TALLY__V1__OUTCOME__OUTCOME_ACCEPTED, TALLY_OUTCOME_ACCEPTED);
SAME_VALUE(TALLY__V1__OUTCOME__OUTCOME_DUPLICATE, TALLY_OUTCOME_DUPLICATE);
SAME_VALUE(TALLY__V1__OUTCOME__OUTCOME_STALE, TALLY_OUTCOME_STALE);
SAME_VALUE(TALLY__V1__OUTCOME__OUTCOME_CONFLICT, TALLY_OUTCOME_CONFLICT);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_UNSPECIFIED, TALLY_REJECT_NONE);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_MALFORMED, TALLY_REJECT_MALFORMED);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_BAD_SIGNATURE, TALLY_REJECT_BAD_SIGNATURE);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_UNKNOWN_KEY, TALLY_REJECT_UNKNOWN_KEY);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_WRONG_REGION, TALLY_REJECT_WRONG_REGION);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_WRONG_ELECTION, TALLY_REJECT_WRONG_ELECTION);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_UNKNOWN_PRECINCT, TALLY_REJECT_UNKNOWN_PRECINCT);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_FAILED_CONTROL, TALLY_REJECT_FAILED_CONTROL);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_CONFLICT_LIMIT, TALLY_REJECT_CONFLICT_LIMIT);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_UNKNOWN_CONTEST, TALLY_REJECT_UNKNOWN_CONTEST);
SAME_VALUE(TALLY__V1__REJECT_CODE__REJECT_CODE_NOT_IN_CONTEST, TALLY_REJECT_NOT_IN_CONTEST);

/*
 * Unpacking allocates every string, bytes field and sub-message of a
 * message: a party list's result with eight options is some twenty
 * allocations. A decoder frees them all before it returns, so they are
 * bumped out of a buffer on its stack instead (ARENA_BYTES holds any
 * result of TALLY_MAX_OPTIONS options with ids of a dozen bytes); what does
 * not fit comes from malloc and goes back to free.
 */
#define ARENA_BYTES 4096
#define ARENA_ALIGN 16

struct arena {
	size_t used;
	_Alignas(max_align_t) uint8_t buf[ARENA_BYTES];
};

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (need >= size && need <= ARENA_BYTES - a->used) {
		void *p = a->buf + a->used;
		a->used += need;
		return p;
	}
	return malloc(size);
}

static void arena_free(void *data, void *p)
{
	struct arena *a = data;
	uintptr_t at = (uintptr_t)p, start = (uintptr_t)a->buf;

	if (at - start >= ARENA_BYTES) /* not from the buffer (wraps below it) */
		free(p);
}

static ProtobufCAllocator arena_allocator(struct arena *a)
{
	a->used = 0;
	return (ProtobufCAllocator){.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
}

const char *tally_msg_type_str(enum tally_msg_type t)
{
	switch (t) {
	case TALLY_MSG_NONE:
		return "none";
	case TALLY_MSG_HELLO:
		return "hello";
	case TALLY_MSG_WELCOME:
		return "welcome";
	case TALLY_MSG_SUBMIT:
		return "submit";
	case TALLY_MSG_ACK:
		return "ack";
	case TALLY_MSG_NACK:
		return "nack";
	case TALLY_MSG_GOODBYE:
		return "goodbye";
	case TALLY_MSG_PING:
		return "ping";
	case TALLY_MSG_PONG:
		return "pong";
	}
	return "unknown";
}

void tally_msg_clear(struct tally_msg *m)
{
	if (m == NULL)
		return;
	tally_signed_result_clear(&m->result);
	memset(m, 0, sizeof(*m));
}

/* ---- helpers ---- */

/* Copies a wire string into a fixed buffer; -EBADMSG if it does not fit. */
static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	n = strlen(src);
	if (n >= cap)
		return -EBADMSG;
	memcpy(dst, src, n + 1);
	return 0;
}

/*
 * A domain string the encoder will put on the wire: it must be terminated
 * within its buffer, or the struct was never filled properly.
 */
static int check_str(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL ? 0 : -EINVAL;
}

/* Packs any message into a fresh buffer of exactly its size. */
static int pack(const ProtobufCMessage *msg, uint8_t **ret, size_t *ret_len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	/* An all-default message packs to 0 bytes; still hand back a real buffer. */
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL)
		return -ENOMEM;
	if (protobuf_c_message_pack(msg, p) != n) {
		free(p);
		return -EINVAL;
	}
	*ret = p;
	*ret_len = n;
	return 0;
}

/* ---- PrecinctResult ---- */

/*
 * Builds `pb` pointing into `r` (no copies). `items` and `ptrs` are the
 * caller's storage for the repeated votes.
 */
static int result_to_pb(const struct tally_result *r, Tally__V1__PrecinctResult *pb,
                        Tally__V1__OptionVotes items[TALLY_MAX_OPTIONS],
                        Tally__V1__OptionVotes *ptrs[TALLY_MAX_OPTIONS])
{
	if (r->n_votes > TALLY_MAX_OPTIONS)
		return -EINVAL;
	if (check_str(r->election_id, TALLY_ID_MAX) < 0 ||
	    check_str(r->contest_id, TALLY_ID_MAX) < 0 || check_str(r->region_id, TALLY_ID_MAX) < 0)
		return -EINVAL;

	tally__v1__precinct_result__init(pb);
	pb->election_id = (char *)r->election_id;
	pb->region_id = (char *)r->region_id;
	pb->precinct_id = r->precinct_id;
	pb->revision = r->revision;
	pb->voters_registered = r->voters_registered;
	pb->ballots_received = r->ballots_received;
	pb->ballots_issued = r->ballots_issued;
	pb->ballots_cancelled = r->ballots_cancelled;
	pb->ballots_cast = r->ballots_cast;
	pb->ballots_invalid = r->ballots_invalid;
	pb->ballots_not_counted = r->ballots_not_counted;
	pb->recorded_at_ms = r->recorded_at_ms;
	/*
	 * proto3 leaves an empty string off the wire, so a result of a
	 * one-contest election encodes to exactly the bytes it had before
	 * contest_id existed, and its old signatures still verify.
	 */
	pb->contest_id = (char *)r->contest_id;
	for (size_t i = 0; i < r->n_votes; i++) {
		if (check_str(r->votes[i].option_id, TALLY_ID_MAX) < 0)
			return -EINVAL;
		tally__v1__option_votes__init(&items[i]);
		items[i].option_id = (char *)r->votes[i].option_id;
		items[i].count = r->votes[i].count;
		ptrs[i] = &items[i];
	}
	pb->n_votes = r->n_votes;
	pb->votes = r->n_votes ? ptrs : NULL;
	return 0;
}

int tally_codec_encode_result(const struct tally_result *r, uint8_t **ret, size_t *ret_len)
{
	Tally__V1__PrecinctResult pb;
	Tally__V1__OptionVotes items[TALLY_MAX_OPTIONS];
	Tally__V1__OptionVotes *ptrs[TALLY_MAX_OPTIONS];
	int rc;

	rc = result_to_pb(r, &pb, items, ptrs);
	if (rc < 0)
		return rc;
	return pack(&pb.base, ret, ret_len);
}

int tally_codec_decode_result(const uint8_t *buf, size_t len, struct tally_result *ret)
{
	Tally__V1__PrecinctResult *pb;
	struct arena arena; /* not zeroed: only `used` is read before written */
	ProtobufCAllocator alloc = arena_allocator(&arena);
	struct tally_result r;
	int rc = -EBADMSG;

	pb = tally__v1__precinct_result__unpack(&alloc, len, buf);
	if (pb == NULL)
		return -EBADMSG;

	memset(&r, 0, sizeof(r));
	if (pb->n_votes > TALLY_MAX_OPTIONS)
		goto out;
	if (copy_str(r.election_id, sizeof(r.election_id), pb->election_id) < 0 ||
	    copy_str(r.contest_id, sizeof(r.contest_id), pb->contest_id) < 0 ||
	    copy_str(r.region_id, sizeof(r.region_id), pb->region_id) < 0)
		goto out;
	r.precinct_id = pb->precinct_id;
	r.revision = pb->revision;
	r.voters_registered = pb->voters_registered;
	r.ballots_received = pb->ballots_received;
	r.ballots_issued = pb->ballots_issued;
	r.ballots_cancelled = pb->ballots_cancelled;
	r.ballots_cast = pb->ballots_cast;
	r.ballots_invalid = pb->ballots_invalid;
	r.ballots_not_counted = pb->ballots_not_counted;
	r.recorded_at_ms = pb->recorded_at_ms;
	r.n_votes = pb->n_votes;
	for (size_t i = 0; i < pb->n_votes; i++) {
		if (copy_str(r.votes[i].option_id, TALLY_ID_MAX, pb->votes[i]->option_id) < 0)
			goto out;
		r.votes[i].count = pb->votes[i]->count;
	}
	*ret = r;
	rc = 0;
out:
	tally__v1__precinct_result__free_unpacked(pb, &alloc);
	return rc;
}

/* ---- SignedResult ---- */

static int signed_to_pb(const struct tally_signed_result *s, Tally__V1__SignedResult *pb)
{
	if (s->signature_len > TALLY_SIG_BYTES)
		return -EINVAL;
	if (s->payload_len > 0 && s->payload == NULL)
		return -EINVAL;
	if (check_str(s->key_id, sizeof(s->key_id)) < 0)
		return -EINVAL;
	tally__v1__signed_result__init(pb);
	pb->payload.data = s->payload;
	pb->payload.len = s->payload_len;
	pb->signature.data = (uint8_t *)s->signature;
	pb->signature.len = s->signature_len;
	pb->key_id = (char *)s->key_id;
	return 0;
}

/*
 * Fills `ret` from an unpacked SignedResult; allocates the payload copy.
 * On error `ret` holds nothing to free.
 */
static int signed_from_pb(const Tally__V1__SignedResult *pb, struct tally_signed_result *ret)
{
	struct tally_signed_result s;

	memset(&s, 0, sizeof(s));
	/*
	 * A signature longer than 64 bytes cannot be carried in the struct, and
	 * no signer produces one: the frame is malformed. Shorter ones are kept
	 * as received and fail verification.
	 */
	if (pb->signature.len > TALLY_SIG_BYTES)
		return -EBADMSG;
	if (copy_str(s.key_id, sizeof(s.key_id), pb->key_id) < 0)
		return -EBADMSG;
	if (pb->signature.len)
		memcpy(s.signature, pb->signature.data, pb->signature.len);
	s.signature_len = pb->signature.len;
	/* Always a real buffer, even for an empty payload, so callers need no NULL case. */
	s.payload = malloc(pb->payload.len ? pb->payload.len : 1);
	if (s.payload == NULL)
		return -ENOMEM;
	if (pb->payload.len)
		memcpy(s.payload, pb->payload.data, pb->payload.len);
	s.payload_len = pb->payload.len;
	*ret = s;
	return 0;
}

int tally_codec_encode_signed(const struct tally_signed_result *s, uint8_t **ret, size_t *ret_len)
{
	Tally__V1__SignedResult pb;
	int rc;

	rc = signed_to_pb(s, &pb);
	if (rc < 0)
		return rc;
	return pack(&pb.base, ret, ret_len);
}

int tally_codec_decode_signed(const uint8_t *buf, size_t len, struct tally_signed_result *ret)
{
	Tally__V1__SignedResult *pb;
	struct arena arena; /* not zeroed: only `used` is read before written */
	ProtobufCAllocator alloc = arena_allocator(&arena);
	int rc;

	pb = tally__v1__signed_result__unpack(&alloc, len, buf);
	if (pb == NULL)
		return -EBADMSG;
	rc = signed_from_pb(pb, ret);
	tally__v1__signed_result__free_unpacked(pb, &alloc);
	return rc;
}

/* ---- TreeHead ---- */

int tally_codec_encode_tree_head(const struct tally_tree_head *h, uint8_t **ret, size_t *ret_len)
{
	Tally__V1__TreeHead pb;

	if (check_str(h->election_id, sizeof(h->election_id)) < 0)
		return -EINVAL;
	tally__v1__tree_head__init(&pb);
	pb.election_id = (char *)h->election_id;
	pb.tree_size = h->tree_size;
	pb.root_hash.data = (uint8_t *)h->root_hash;
	pb.root_hash.len = TALLY_HASH_BYTES;
	pb.timestamp_ms = h->timestamp_ms;
	pb.totals_hash.data = (uint8_t *)h->totals_hash;
	pb.totals_hash.len = TALLY_HASH_BYTES;
	return pack(&pb.base, ret, ret_len);
}

int tally_codec_decode_tree_head(const uint8_t *buf, size_t len, struct tally_tree_head *ret)
{
	Tally__V1__TreeHead *pb;
	struct arena arena; /* not zeroed: only `used` is read before written */
	ProtobufCAllocator alloc = arena_allocator(&arena);
	struct tally_tree_head h;
	int rc = -EBADMSG;

	pb = tally__v1__tree_head__unpack(&alloc, len, buf);
	if (pb == NULL)
		return -EBADMSG;
	memset(&h, 0, sizeof(h));
	/* Both hashes are SHA-256: any other size is not a head we signed. */
	if (pb->root_hash.len != TALLY_HASH_BYTES || pb->totals_hash.len != TALLY_HASH_BYTES)
		goto out;
	if (copy_str(h.election_id, sizeof(h.election_id), pb->election_id) < 0)
		goto out;
	h.tree_size = pb->tree_size;
	memcpy(h.root_hash, pb->root_hash.data, TALLY_HASH_BYTES);
	h.timestamp_ms = pb->timestamp_ms;
	memcpy(h.totals_hash, pb->totals_hash.data, TALLY_HASH_BYTES);
	*ret = h;
	rc = 0;
out:
	tally__v1__tree_head__free_unpacked(pb, &alloc);
	return rc;
}

/* ---- Frame ---- */

int tally_codec_encode_msg(const struct tally_msg *m, uint8_t **ret, size_t *ret_len)
{
	Tally__V1__Frame frame;
	Tally__V1__Hello hello;
	Tally__V1__Welcome welcome;
	Tally__V1__Submit submit;
	Tally__V1__SignedResult signed_pb;
	Tally__V1__Ack ack;
	Tally__V1__Nack nack;
	Tally__V1__Goodbye goodbye;
	Tally__V1__Ping ping;
	Tally__V1__Pong pong;
	int rc;

	tally__v1__frame__init(&frame);
	switch (m->type) {
	case TALLY_MSG_HELLO:
		if (check_str(m->node_id, TALLY_ID_MAX) < 0 ||
		    check_str(m->region_id, TALLY_ID_MAX) < 0)
			return -EINVAL;
		tally__v1__hello__init(&hello);
		hello.protocol_version = m->protocol_version;
		hello.node_id = (char *)m->node_id;
		hello.region_id = (char *)m->region_id;
		frame.body_case = TALLY__V1__FRAME__BODY_HELLO;
		frame.hello = &hello;
		break;
	case TALLY_MSG_WELCOME:
		if (check_str(m->aggregator_id, TALLY_ID_MAX) < 0 ||
		    check_str(m->election_id, TALLY_ID_MAX) < 0)
			return -EINVAL;
		tally__v1__welcome__init(&welcome);
		welcome.protocol_version = m->protocol_version;
		welcome.aggregator_id = (char *)m->aggregator_id;
		welcome.election_id = (char *)m->election_id;
		frame.body_case = TALLY__V1__FRAME__BODY_WELCOME;
		frame.welcome = &welcome;
		break;
	case TALLY_MSG_SUBMIT:
		rc = signed_to_pb(&m->result, &signed_pb);
		if (rc < 0)
			return rc;
		tally__v1__submit__init(&submit);
		submit.seq = m->seq;
		submit.result = &signed_pb;
		frame.body_case = TALLY__V1__FRAME__BODY_SUBMIT;
		frame.submit = &submit;
		break;
	case TALLY_MSG_ACK:
		if ((unsigned)m->outcome >= TALLY_OUTCOME_COUNT)
			return -EINVAL;
		tally__v1__ack__init(&ack);
		ack.seq = m->seq;
		ack.outcome = (Tally__V1__Outcome)m->outcome;
		frame.body_case = TALLY__V1__FRAME__BODY_ACK;
		frame.ack = &ack;
		break;
	case TALLY_MSG_NACK:
		if ((unsigned)m->code >= TALLY_REJECT_CODE_COUNT ||
		    check_str(m->reason, TALLY_REASON_MAX) < 0)
			return -EINVAL;
		tally__v1__nack__init(&nack);
		nack.seq = m->seq;
		nack.code = (Tally__V1__RejectCode)m->code;
		nack.reason = (char *)m->reason;
		frame.body_case = TALLY__V1__FRAME__BODY_NACK;
		frame.nack = &nack;
		break;
	case TALLY_MSG_GOODBYE:
		if (check_str(m->reason, TALLY_REASON_MAX) < 0)
			return -EINVAL;
		tally__v1__goodbye__init(&goodbye);
		goodbye.reason = (char *)m->reason;
		frame.body_case = TALLY__V1__FRAME__BODY_GOODBYE;
		frame.goodbye = &goodbye;
		break;
	case TALLY_MSG_PING:
		tally__v1__ping__init(&ping);
		ping.nonce = m->nonce;
		frame.body_case = TALLY__V1__FRAME__BODY_PING;
		frame.ping = &ping;
		break;
	case TALLY_MSG_PONG:
		tally__v1__pong__init(&pong);
		pong.nonce = m->nonce;
		frame.body_case = TALLY__V1__FRAME__BODY_PONG;
		frame.pong = &pong;
		break;
	default:
		return -EINVAL;
	}
	return pack(&frame.base, ret, ret_len);
}

/* Converts an unpacked Frame; `m` is zeroed by the caller. */
static int msg_from_pb(const Tally__V1__Frame *f, struct tally_msg *m)
{
	switch (f->body_case) {
	case TALLY__V1__FRAME__BODY_HELLO:
		m->type = TALLY_MSG_HELLO;
		m->protocol_version = f->hello->protocol_version;
		if (copy_str(m->node_id, sizeof(m->node_id), f->hello->node_id) < 0 ||
		    copy_str(m->region_id, sizeof(m->region_id), f->hello->region_id) < 0)
			return -EBADMSG;
		return 0;
	case TALLY__V1__FRAME__BODY_WELCOME:
		m->type = TALLY_MSG_WELCOME;
		m->protocol_version = f->welcome->protocol_version;
		if (copy_str(m->aggregator_id, sizeof(m->aggregator_id),
		             f->welcome->aggregator_id) < 0 ||
		    copy_str(m->election_id, sizeof(m->election_id), f->welcome->election_id) < 0)
			return -EBADMSG;
		return 0;
	case TALLY__V1__FRAME__BODY_SUBMIT:
		/* A Submit without a result carries nothing to answer for. */
		if (f->submit->result == NULL)
			return -EBADMSG;
		m->type = TALLY_MSG_SUBMIT;
		m->seq = f->submit->seq;
		return signed_from_pb(f->submit->result, &m->result);
	case TALLY__V1__FRAME__BODY_ACK:
		/* proto3 enums are open: an unknown number reaches us unchanged. */
		if ((unsigned)f->ack->outcome >= TALLY_OUTCOME_COUNT)
			return -EBADMSG;
		m->type = TALLY_MSG_ACK;
		m->seq = f->ack->seq;
		m->outcome = (enum tally_outcome)f->ack->outcome;
		return 0;
	case TALLY__V1__FRAME__BODY_NACK:
		if ((unsigned)f->nack->code >= TALLY_REJECT_CODE_COUNT)
			return -EBADMSG;
		m->type = TALLY_MSG_NACK;
		m->seq = f->nack->seq;
		m->code = (enum tally_reject_code)f->nack->code;
		return copy_str(m->reason, sizeof(m->reason), f->nack->reason);
	case TALLY__V1__FRAME__BODY_GOODBYE:
		m->type = TALLY_MSG_GOODBYE;
		return copy_str(m->reason, sizeof(m->reason), f->goodbye->reason);
	case TALLY__V1__FRAME__BODY_PING:
		m->type = TALLY_MSG_PING;
		m->nonce = f->ping->nonce;
		return 0;
	case TALLY__V1__FRAME__BODY_PONG:
		m->type = TALLY_MSG_PONG;
		m->nonce = f->pong->nonce;
		return 0;
	default:
		/* No body, or a body added to the .proto after this build. */
		return -EBADMSG;
	}
}

int tally_codec_decode_msg(const uint8_t *buf, size_t len, struct tally_msg *ret)
{
	Tally__V1__Frame *f;
	struct arena arena; /* not zeroed: only `used` is read before written */
	ProtobufCAllocator alloc = arena_allocator(&arena);
	struct tally_msg m;
	int rc;

	f = tally__v1__frame__unpack(&alloc, len, buf);
	if (f == NULL)
		return -EBADMSG;
	memset(&m, 0, sizeof(m));
	rc = msg_from_pb(f, &m);
	tally__v1__frame__free_unpacked(f, &alloc);
	if (rc < 0) {
		tally_msg_clear(&m);
		return rc;
	}
	*ret = m;
	return 0;
}
