/*
 * session.c: one regional node's TLS connection, as a state machine:
 *
 *   HANDSHAKE -> HELLO -> READY -> CLOSING -> CLOSED
 *
 * It owns the socket, the TLS state, the frame decoder and the outgoing
 * plaintext queue; it reads frames, answers Hello, Ping and protocol
 * violations itself, and hands Submits to ingest, which owns them from
 * then on and answers through the sink below. The peer's region is the
 * verified certificate's CN; everything the peer controls has a cap: frame
 * bytes, submits in flight (reads pause), queued write bytes (the peer is
 * dropped), time to finish the handshake and time without a frame.
 *
 * Ids: items carry their session's id, never a pointer. The table below
 * finds a session by id in O(1) from its start until session_end(); after
 * that its id finds nothing and ingest's answers to it are dropped.
 *
 * Lifetime: the struct is freed when both uv handles are closed, never
 * inside one of its own callbacks' call chains; nothing outside this file
 * holds a pointer to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "session.h"
#include "tally/frame.h"
#include "tally/log.h"
#include "tally/tls.h"
#include "verify.h"

enum session_state {
	S_HANDSHAKE,
	S_HELLO,
	S_READY,
	S_CLOSING,
	S_CLOSED,
};

static const char *const state_names[] = {"handshake", "hello", "ready", "closing", "closed"};

/* Seconds a closing session may take to flush its last bytes. */
#define CLOSE_GRACE_MS 2000
#define READ_CHUNK     65536

struct session {
	uint64_t id; /* in a->sessions until session_end(); 0 = not there */
	struct aggregator *a;
	uv_tcp_t tcp;
	uv_timer_t timer;
	enum session_state state;
	unsigned handles; /* uv handles not yet closed */
	struct tally_tls *tls;
	struct tally_frame_decoder dec;
	char peer[64];
	char region[TALLY_ID_MAX];
	char node[TALLY_ID_MAX];
	int region_index;
	bool welcomed;
	bool paused;
	bool flush_queued; /* on the table's to_flush list */
	uint32_t inflight;
	uint64_t last_frame_ms;
	uint64_t started_ms;
	/* Plaintext frames waiting for session_flush(). */
	uint8_t *out;
	size_t out_len, out_cap;
	size_t write_queued; /* ciphertext handed to uv_write, not yet written */
	/* Submits read in this read callback, verified together. */
	struct agg_item **batch;
	size_t batch_n, batch_cap;
};

struct write_req {
	uv_write_t req;
	size_t len;
	uint8_t data[];
};

/*
 * The id -> session table: one slot per session, reused through a free
 * list. An id is (generation << 32 | slot); freeing a slot moves its
 * generation on, so the id of a session that is gone finds nothing even
 * once a new session took its slot.
 */
#define NO_SLOT UINT32_MAX

struct table_slot {
	struct session *s; /* NULL: free */
	uint32_t gen;      /* never 0, so no id is 0 */
	uint32_t next_free;
};

/* Owned by the aggregator (a->sessions): session_table_new/free. */
struct session_table {
	struct table_slot *slots;
	uint32_t cap;
	uint32_t free_head; /* NO_SLOT: every slot is taken */
	/* Sessions answered since the last flush, by id, each once. */
	uint64_t *to_flush;
	size_t n_flush, flush_cap;
};

static void session_enter(struct session *s, enum session_state st);
static void session_end(struct session *s, const char *goodbye);
static void check_hello(struct session *s, const struct tally_msg *m);
static void proceed_submit(struct session *s, struct tally_msg *m);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_write(uv_write_t *req, int status);
static void on_timer(uv_timer_t *t);
static void on_close(uv_handle_t *h);

static void session_enter(struct session *s, enum session_state st)
{
	log_debug("session peer=%s region=%s: %s -> %s", s->peer, s->region[0] ? s->region : "-",
	          state_names[s->state], state_names[st]);
	s->state = st;
}

/* ---- the table ------------------------------------------------------- */

int session_table_new(struct aggregator *a)
{
	struct session_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->free_head = NO_SLOT;
	a->sessions = t;
	return 0;
}

void session_table_free(struct aggregator *a)
{
	struct session_table *t = a->sessions;
	if (!t)
		return;
	free(t->slots);
	free(t->to_flush);
	free(t);
	a->sessions = NULL;
}

/* Gives s a slot and its id. 0 or -ENOMEM. */
static int table_add(struct session_table *t, struct session *s)
{
	if (t->free_head == NO_SLOT) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		if (cap <= t->cap || cap == NO_SLOT)
			return -ENOMEM;
		struct table_slot *p = realloc(t->slots, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		/* New slots join the free list in ascending order. */
		for (uint32_t i = t->cap; i < cap; i++)
			p[i] = (struct table_slot){.gen = 1,
			                           .next_free = i + 1 < cap ? i + 1 : NO_SLOT};
		t->slots = p;
		t->free_head = t->cap;
		t->cap = cap;
	}
	uint32_t i = t->free_head;
	struct table_slot *sl = &t->slots[i];
	t->free_head = sl->next_free;
	sl->s = s;
	s->id = (uint64_t)sl->gen << 32 | i;
	return 0;
}

/* From here on s's id finds nothing. */
static void table_remove(struct session_table *t, struct session *s)
{
	if (s->id == 0)
		return;
	uint32_t i = (uint32_t)s->id;
	struct table_slot *sl = &t->slots[i];
	sl->s = NULL;
	sl->gen = sl->gen == UINT32_MAX ? 1 : sl->gen + 1;
	sl->next_free = t->free_head;
	t->free_head = i;
	s->id = 0;
}

static struct session *table_find(const struct session_table *t, uint64_t id)
{
	uint32_t i = (uint32_t)id;
	if (i >= t->cap || t->slots[i].gen != (uint32_t)(id >> 32))
		return NULL;
	return t->slots[i].s;
}

static void maybe_free(struct session *s)
{
	if (s->handles > 0 || s->state != S_CLOSED)
		return;
	tally_tls_free(s->tls);
	tally_frame_decoder_clear(&s->dec);
	free(s->out);
	free(s->batch);
	free(s);
}

static void arm_timer(struct session *s, uint64_t ms)
{
	uv_timer_start(&s->timer, on_timer, ms, 0);
}

int session_start(struct aggregator *a, uv_stream_t *server)
{
	struct session *s = calloc(1, sizeof(*s));
	int r;
	if (!s)
		return -ENOMEM;
	s->a = a;
	s->region_index = -1;
	s->started_ms = uv_now(a->loop);
	uv_tcp_init(a->loop, &s->tcp);
	uv_timer_init(a->loop, &s->timer);
	s->tcp.data = s;
	s->timer.data = s;
	s->handles = 2;
	a->stats.sessions_open++;
	a->stats.sessions_accepted++;
	snprintf(s->peer, sizeof(s->peer), "?");

	if ((r = uv_accept(server, (uv_stream_t *)&s->tcp)) < 0) {
		log_warning("accepting a node connection failed: %s", uv_strerror(r));
		goto fail;
	}
	/* In the table from the start, so shutdown finds every session;
	 * without a slot the connection, already taken off the listener, is
	 * closed at once. */
	if ((r = table_add(a->sessions, s)) < 0) {
		log_warning("out of memory for a node connection; closing it");
		goto fail;
	}
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) == 0) {
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			uv_ip4_name(in, host, sizeof(host));
			port = ntohs(in->sin_port);
			snprintf(s->peer, sizeof(s->peer), "%s:%d", host, port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(in6, host, sizeof(host));
			port = ntohs(in6->sin6_port);
			snprintf(s->peer, sizeof(s->peer), "[%s]:%d", host, port);
		}
	}
	uv_tcp_nodelay(&s->tcp, 1);
	if ((r = tally_tls_new(a->tls, true, NULL, &s->tls)) < 0) {
		log_warning("session peer=%s: out of memory for TLS", s->peer);
		goto fail;
	}
	tally_frame_decoder_init(&s->dec, a->conf.max_frame_bytes);
	arm_timer(s, (uint64_t)a->conf.handshake_timeout * 1000u);
	if ((r = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read)) < 0)
		goto fail;
	log_debug("session peer=%s: connection accepted", s->peer);
	return 0;
fail:
	session_end(s, NULL);
	return r;
}

/* ---- output ---------------------------------------------------------- */

static int queue_msg(struct session *s, const struct tally_msg *m)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int r = tally_codec_encode_msg(m, &body, &len);
	if (r < 0)
		return r;
	size_t need = s->out_len + TALLY_FRAME_HEADER_BYTES + len;
	if (need > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *p = realloc(s->out, cap);
		if (!p) {
			free(body);
			return -ENOMEM;
		}
		s->out = p;
		s->out_cap = cap;
	}
	tally_frame_header((uint32_t)len, s->out + s->out_len);
	memcpy(s->out + s->out_len + TALLY_FRAME_HEADER_BYTES, body, len);
	s->out_len = need;
	free(body);
	return 0;
}

/* Moves whatever ciphertext TLS produced onto the socket. */
static void send_ciphertext(struct session *s)
{
	size_t pending = tally_tls_out_pending(s->tls);
	if (pending == 0 || s->state == S_CLOSED)
		return;
	struct write_req *w = malloc(sizeof(*w) + pending);
	if (!w) {
		session_end(s, NULL);
		return;
	}
	w->len = tally_tls_take_out(s->tls, w->data, pending);
	w->req.data = s;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	int r = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);
	if (r < 0) {
		free(w);
		log_info("session region=%s peer=%s: write failed: %s", s->region, s->peer,
		         uv_strerror(r));
		session_end(s, NULL);
		return;
	}
	s->write_queued += w->len;
	if (s->write_queued > s->a->conf.write_queue_bytes && s->state < S_CLOSING) {
		log_warning("session region=%s node='%s' peer=%s: %zu bytes unread by the peer "
		            "(cap %" PRIu32 "); dropping it",
		            s->region, s->node, s->peer, s->write_queued,
		            s->a->conf.write_queue_bytes);
		session_end(s, NULL);
	}
}

static void session_flush(struct session *s)
{
	if (s->state == S_CLOSED)
		return;
	if (s->out_len) {
		struct tally_err err = {{0}};
		int r = tally_tls_write(s->tls, s->out, s->out_len, &err);
		s->out_len = 0;
		if (r < 0) {
			log_warning("session region=%s peer=%s: %s", s->region, s->peer, err.msg);
			session_end(s, NULL);
			return;
		}
	}
	send_ciphertext(s);
}

static void send_now(struct session *s, const struct tally_msg *m)
{
	if (queue_msg(s, m) < 0) {
		session_end(s, NULL);
		return;
	}
	session_flush(s);
}

/* ---- the sink ingest answers through ------------------------------------ */

/* Puts s once on the list sink_flush() goes through. */
static void queue_flush(struct session_table *t, struct session *s)
{
	if (s->flush_queued)
		return;
	if (t->n_flush == t->flush_cap) {
		size_t cap = t->flush_cap ? t->flush_cap * 2 : 64;
		uint64_t *p = realloc(t->to_flush, cap * sizeof(*p));
		if (!p) {
			/* No room on the list: send it now. */
			session_flush(s);
			return;
		}
		t->to_flush = p;
		t->flush_cap = cap;
	}
	t->to_flush[t->n_flush++] = s->id;
	s->flush_queued = true;
}

/* Queues an Ack/Nack for a Submit of s (open: it is in the table). */
static bool session_answer(struct session *s, const struct tally_msg *m)
{
	if (s->inflight > 0)
		s->inflight--;
	if (queue_msg(s, m) < 0) {
		session_end(s, NULL);
		return false;
	}
	queue_flush(s->a->sessions, s);
	if (s->state < S_CLOSING && s->paused && s->inflight <= s->a->conf.max_inflight / 2 &&
	    !s->a->stopping) {
		s->paused = false;
		uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
	}
	return true;
}

static bool sink_answer(void *data, uint64_t session_id, const struct tally_msg *m)
{
	struct aggregator *a = data;
	struct session *s = table_find(a->sessions, session_id);
	return s ? session_answer(s, m) : false;
}

static void sink_flush(void *data)
{
	struct aggregator *a = data;
	struct session_table *t = a->sessions;
	/* A flush may end its session (a write error), which takes it out of
	 * the table: look each id up again. */
	for (size_t i = 0; i < t->n_flush; i++) {
		struct session *s = table_find(t, t->to_flush[i]);
		if (s) {
			s->flush_queued = false;
			session_flush(s);
		}
	}
	t->n_flush = 0;
}

void session_sink(struct aggregator *a, struct ingest_sink *ret)
{
	*ret = (struct ingest_sink){.answer = sink_answer, .flush = sink_flush, .data = a};
}

/* ---- ending ------------------------------------------------------------ */

static void close_handles(struct session *s)
{
	struct aggregator *a = s->a;
	if (s->state == S_CLOSED)
		return;
	session_enter(s, S_CLOSED);
	a->stats.sessions_open--;
	uv_close((uv_handle_t *)&s->tcp, on_close);
	uv_close((uv_handle_t *)&s->timer, on_close);
}

/*
 * Ends the session: a Goodbye with `goodbye` if the peer can read one, a
 * TLS close_notify, then the socket closes once the last bytes are written
 * (or after CLOSE_GRACE_MS). It leaves the table first: the answers to its
 * items in flight are dropped.
 */
static void session_end(struct session *s, const char *goodbye)
{
	if (s->state >= S_CLOSING)
		return;
	table_remove(s->a->sessions, s);
	bool established = s->state != S_HANDSHAKE;
	if (s->welcomed) {
		s->welcomed = false;
		s->a->stats.sessions_by_region[s->region_index]--;
	}
	/* Submits read but not yet handed to verification are still ingest's. */
	if (s->batch_n) {
		verify_submit(s->a, s->batch, s->batch_n);
		s->batch_n = 0;
	}
	session_enter(s, S_CLOSING);
	uv_read_stop((uv_stream_t *)&s->tcp);
	if (established && s->tls) {
		if (goodbye) {
			struct tally_msg m;
			memset(&m, 0, sizeof(m));
			m.type = TALLY_MSG_GOODBYE;
			snprintf(m.reason, sizeof(m.reason), "%s", goodbye);
			if (queue_msg(s, &m) == 0) {
				struct tally_err err;
				tally_tls_write(s->tls, s->out, s->out_len, &err);
			}
			s->out_len = 0;
		}
		tally_tls_shutdown(s->tls);
	}
	if (s->tls && uv_is_writable((uv_stream_t *)&s->tcp))
		send_ciphertext(s);
	if (s->write_queued == 0)
		close_handles(s);
	else
		arm_timer(s, CLOSE_GRACE_MS);
}

/* A peer that broke the protocol: said once, at warning, with who it was. */
static void violation(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(struct session *s, const char *fmt, ...)
{
	char reason[TALLY_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	s->a->stats.protocol_errors++;
	log_warning("protocol violation region=%s node='%s' peer=%s: %s; sending Goodbye and "
	            "closing",
	            s->region[0] ? s->region : "-", s->node, s->peer, reason);
	session_end(s, reason);
}

static void on_close(uv_handle_t *h)
{
	struct session *s = h->data;
	s->handles--;
	maybe_free(s);
}

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct session *s = req->data;
	s->write_queued -= w->len;
	free(w);
	if (status < 0 && s->state < S_CLOSING) {
		log_info("session region=%s peer=%s: write failed: %s", s->region, s->peer,
		         uv_strerror(status));
		session_end(s, NULL);
		return;
	}
	if (s->state == S_CLOSING && s->write_queued == 0)
		close_handles(s);
}

static void on_timer(uv_timer_t *t)
{
	struct session *s = t->data;
	struct aggregator *a = s->a;
	uint64_t now = uv_now(a->loop);
	switch (s->state) {
	case S_HANDSHAKE:
		a->stats.handshake_failures++;
		log_warning("session peer=%s: no TLS handshake within %" PRIu32 " s; closing",
		            s->peer, a->conf.handshake_timeout);
		session_end(s, NULL);
		return;
	case S_HELLO:
	case S_READY: {
		uint64_t idle = (uint64_t)a->conf.idle_timeout * 1000u;
		/* Waiting for our own answers is not the peer being idle. */
		if (s->inflight > 0)
			s->last_frame_ms = now;
		if (now - s->last_frame_ms >= idle) {
			char why[96];
			snprintf(why, sizeof(why), "idle for %" PRIu32 " s", a->conf.idle_timeout);
			log_info("session region=%s node='%s' peer=%s: %s; closing", s->region,
			         s->node, s->peer, why);
			session_end(s, why);
			return;
		}
		arm_timer(s, idle - (now - s->last_frame_ms));
		return;
	}
	case S_CLOSING:
		/* The peer did not take our last bytes in time. */
		close_handles(s);
		return;
	case S_CLOSED:
		return;
	}
}

/* ---- input ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	/* Everything read is fed to TLS before the callback returns, so one
	 * buffer serves every session on this loop. */
	static char chunk[READ_CHUNK];
	(void)h;
	(void)suggested;
	buf->base = chunk;
	buf->len = sizeof(chunk);
}

static void proceed_handshake(struct session *s)
{
	struct aggregator *a = s->a;
	/* Established from here on: refusals below can say why in a Goodbye. */
	session_enter(s, S_HELLO);
	int r = tally_tls_peer_cn(s->tls, s->region);
	if (r < 0) {
		s->region[0] = '\0';
		a->stats.handshake_failures++;
		log_warning("session peer=%s: certificate has no usable subject CN; closing",
		            s->peer);
		session_end(s, "certificate has no usable subject CN (it must be the region id)");
		return;
	}
	s->region_index = aggregator_region_index(a, s->region);
	if (s->region_index < 0) {
		char reason[TALLY_REASON_MAX];
		snprintf(reason, sizeof(reason),
		         "certificate CN '%s' is not a region of election '%s'", s->region,
		         a->election->election_id);
		a->stats.handshake_failures++;
		log_warning("session peer=%s: %s; closing", s->peer, reason);
		session_end(s, reason);
		return;
	}
	s->last_frame_ms = uv_now(a->loop);
	arm_timer(s, (uint64_t)a->conf.idle_timeout * 1000u);
	log_debug("session region=%s peer=%s: TLS established", s->region, s->peer);
}

static void check_hello(struct session *s, const struct tally_msg *m)
{
	if (m->protocol_version != TALLY_PROTOCOL_VERSION) {
		violation(s,
		          "protocol version %" PRIu32 " not supported; this aggregator speaks %d",
		          m->protocol_version, TALLY_PROTOCOL_VERSION);
		return;
	}
	if (strcmp(m->region_id, s->region) != 0) {
		violation(s, "Hello names region '%s' but the certificate is region '%s'",
		          m->region_id, s->region);
		return;
	}
	if (m->node_id[0] == '\0') {
		violation(s, "Hello carries no node_id");
		return;
	}
	/* proceed_hello */
	struct aggregator *a = s->a;
	struct tally_msg w;
	snprintf(s->node, sizeof(s->node), "%s", m->node_id);
	memset(&w, 0, sizeof(w));
	w.type = TALLY_MSG_WELCOME;
	w.protocol_version = TALLY_PROTOCOL_VERSION;
	snprintf(w.aggregator_id, sizeof(w.aggregator_id), "%s", a->conf.id);
	snprintf(w.election_id, sizeof(w.election_id), "%s", a->election->election_id);
	session_enter(s, S_READY);
	s->welcomed = true;
	a->stats.sessions_by_region[s->region_index]++;
	log_info("session ready region=%s node='%s' peer=%s", s->region, s->node, s->peer);
	send_now(s, &w);
	aggregator_status(a);
}

static void proceed_submit(struct session *s, struct tally_msg *m)
{
	struct aggregator *a = s->a;
	struct agg_item *it = agg_item_new(s->id, m->seq, &m->result);
	if (!it) {
		log_err("out of memory taking a Submit region=%s seq=%" PRIu64 "; closing the "
		        "session",
		        s->region, m->seq);
		session_end(s, "aggregator out of memory");
		return;
	}
	snprintf(it->peer_region, sizeof(it->peer_region), "%s", s->region);
	snprintf(it->peer_node, sizeof(it->peer_node), "%s", s->node);
	if (s->batch_n == s->batch_cap) {
		size_t cap = s->batch_cap ? s->batch_cap * 2 : 64;
		void *p = realloc(s->batch, cap * sizeof(s->batch[0]));
		if (!p) {
			agg_item_free(it);
			session_end(s, "aggregator out of memory");
			return;
		}
		s->batch = p;
		s->batch_cap = cap;
	}
	a->stats.submits_received++;
	ingest_enqueue(a->ingest, it);
	s->batch[s->batch_n++] = it;
	s->inflight++;
	if (s->inflight >= a->conf.max_inflight && !s->paused) {
		/* Back-pressure: the peer's TCP window fills while we catch up. */
		s->paused = true;
		uv_read_stop((uv_stream_t *)&s->tcp);
	}
}

static void handle_frame(struct session *s, const uint8_t *frame, size_t len)
{
	struct tally_msg m;
	if (tally_codec_decode_msg(frame, len, &m) < 0) {
		violation(s, "unparseable Frame (%zu bytes)", len);
		return;
	}
	s->last_frame_ms = uv_now(s->a->loop);
	switch (m.type) {
	case TALLY_MSG_HELLO:
		if (s->state != S_HELLO)
			violation(s, "second Hello");
		else
			check_hello(s, &m);
		break;
	case TALLY_MSG_SUBMIT:
		if (s->state != S_READY)
			violation(s, "Submit before Hello");
		else
			proceed_submit(s, &m);
		break;
	case TALLY_MSG_PING: {
		struct tally_msg p;
		memset(&p, 0, sizeof(p));
		p.type = TALLY_MSG_PONG;
		p.nonce = m.nonce;
		if (queue_msg(&*s, &p) < 0)
			session_end(s, NULL);
		break;
	}
	case TALLY_MSG_GOODBYE:
		log_info("session region=%s node='%s' peer=%s: Goodbye from the node: '%s'",
		         s->region, s->node, s->peer, m.reason);
		session_end(s, NULL);
		break;
	case TALLY_MSG_PONG:
		break;
	default:
		violation(s, "unexpected %s from a node", tally_msg_type_str(m.type));
		break;
	}
	tally_msg_clear(&m);
}

static void read_plaintext(struct session *s)
{
	uint8_t buf[16384];
	struct tally_err err = {{0}};
	while (s->state == S_HELLO || s->state == S_READY) {
		ssize_t n = tally_tls_read(s->tls, buf, sizeof(buf), &err);
		if (n == 0)
			return;
		if (n < 0) {
			if (n == -EPIPE)
				log_info("session region=%s node='%s' peer=%s: closed by the node",
				         s->region, s->node, s->peer);
			else
				log_warning("session region=%s node='%s' peer=%s: %s", s->region,
				            s->node, s->peer, err.msg);
			session_end(s, NULL);
			return;
		}
		size_t off = 0;
		while (off < (size_t)n && s->state < S_CLOSING) {
			size_t used = 0;
			const uint8_t *frame = NULL;
			size_t flen = 0;
			int r = tally_frame_decode(&s->dec, buf + off, (size_t)n - off, &used,
			                           &frame, &flen);
			off += used;
			if (r == 1) {
				handle_frame(s, frame, flen);
			} else if (r == -EMSGSIZE) {
				uint32_t want = (uint32_t)s->dec.header[0] << 24 |
				                (uint32_t)s->dec.header[1] << 16 |
				                (uint32_t)s->dec.header[2] << 8 | s->dec.header[3];
				violation(
				    s, "frame length %" PRIu32 " exceeds max_frame_bytes %" PRIu32,
				    want, s->a->conf.max_frame_bytes);
			} else if (r == -EBADMSG) {
				violation(s, "frame length 0");
			} else if (r == -ENOMEM) {
				/* Our failure, not the peer's: no protocol violation. */
				log_err("session region=%s node='%s' peer=%s: out of memory for a "
				        "frame; closing the session, the node will send again",
				        s->region, s->node, s->peer);
				session_end(s, "aggregator out of memory");
			} else if (r < 0) {
				violation(s, "frame refused: %s", strerror(-r));
			} else if (used == 0) {
				break;
			}
		}
	}
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct session *s = st->data;
	struct aggregator *a = s->a;
	if (nread == 0)
		return;
	if (s->state >= S_CLOSING)
		return;
	if (nread < 0) {
		if (s->state == S_HANDSHAKE) {
			a->stats.handshake_failures++;
			log_info("session peer=%s: connection closed during the TLS handshake",
			         s->peer);
		} else {
			log_info("session region=%s node='%s' peer=%s: connection %s", s->region,
			         s->node, s->peer,
			         nread == UV_EOF ? "closed by the node" : uv_strerror((int)nread));
		}
		session_end(s, NULL);
		return;
	}
	if (tally_tls_feed(s->tls, (const uint8_t *)buf->base, (size_t)nread) < 0) {
		session_end(s, NULL);
		return;
	}
	if (s->state == S_HANDSHAKE) {
		struct tally_err err = {{0}};
		int r = tally_tls_handshake(s->tls, &err);
		if (r < 0) {
			a->stats.handshake_failures++;
			log_warning("session peer=%s: TLS handshake refused: %s", s->peer, err.msg);
			/* Send the alert so a person at the other end sees why. */
			send_ciphertext(s);
			session_end(s, NULL);
			return;
		}
		if (r == 0) {
			send_ciphertext(s);
			return;
		}
		proceed_handshake(s);
		if (s->state != S_HELLO) {
			return;
		}
	}
	read_plaintext(s);
	if (s->batch_n) {
		verify_submit(a, s->batch, s->batch_n);
		s->batch_n = 0;
	}
	session_flush(s);
}

void session_pause_all(struct aggregator *a)
{
	struct session_table *t = a->sessions;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].s)
			uv_read_stop((uv_stream_t *)&t->slots[i].s->tcp);
}

void session_close_all(struct aggregator *a, const char *reason)
{
	struct session_table *t = a->sessions;
	/* session_end() empties only the slot it stands in. */
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].s)
			session_end(t->slots[i].s, reason);
}
