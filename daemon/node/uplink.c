/*
 * uplink.c: the node's connection to an aggregator (see uplink.h). It owns
 * the connection state machine, the in-flight window, failover and backoff;
 * it moves bytes between libuv, tls.h, frame.h and codec.h, and answers
 * between the aggregator and the outbox. It never decides whether a result
 * is valid: the outbox holds what was signed, the aggregator judges it.
 *
 * A connection lives in a struct conn of its own, so a failed connection can
 * be abandoned at once (the uplink moves on to the next attempt) while its
 * libuv handle finishes closing in the background and frees it. A detached
 * conn has c->u == NULL and every callback checks that first.
 */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tally/codec.h"
#include "tally/frame.h"
#include "tally/log.h"
#include "tally/tls.h"
#include "uplink.h"

#define DEFAULT_HANDSHAKE_MS 10000
#define DEFAULT_PING_MS      15000
#define DEFAULT_IDLE_MS      45000
#define DEFAULT_BACKOFF_MIN  1000
#define DEFAULT_BACKOFF_MAX  30000
#define FETCH_BATCH          64
#define MARK_BATCH           128
#define READ_CHUNK           65536
#define PLAIN_CHUNK          16384

struct inflight {
	int64_t id;
	uint32_t precinct_id;
	uint32_t revision;
};

/* An answer from the aggregator, recorded with the others of the same read. */
struct mark {
	int64_t id;
	bool rejected;
	enum tally_outcome outcome;
	enum tally_reject_code code;
	char *reason; /* malloc'd, Nacks only */
};

/* One connection attempt. Owned by the uplink until detached, then by itself. */
struct conn {
	struct uplink *u; /* NULL once detached */
	char host[TALLY_HOST_MAX];
	uint16_t port;
	unsigned addr_index; /* which of the host's addresses this attempt uses */
	unsigned n_addrs;
	uv_getaddrinfo_t gai;
	uv_connect_t connect_req;
	uv_tcp_t tcp;
	bool resolving;
	bool tcp_open;
	struct tally_tls *tls;
	struct tally_frame_decoder dec;
	uint64_t started_ms;
	uint64_t last_rx_ms;
	bool ping_outstanding;
	uint64_t ping_nonce;
	struct inflight *inflight; /* window entries */
	uint32_t n_inflight;
	int64_t last_sent_id;
	int64_t max_sent_id; /* highest id sent on this connection */
	struct mark *marks;  /* window entries */
	uint32_t n_marks;
	uint8_t rbuf[READ_CHUNK];
	uint8_t plain[PLAIN_CHUNK];
};

/* Per configured aggregator, since start. */
struct ep_counters {
	uint64_t connections;
	uint64_t failures;
	int64_t last_answer_ms; /* wall clock */
};

struct uplink {
	uv_loop_t *loop;
	struct uplink_config cfg;
	SSL_CTX *ctx;
	struct outbox *outbox;
	struct problems *problems;
	enum uplink_state state;
	uv_timer_t timer; /* the next attempt */
	struct conn *conn;
	size_t ep;       /* endpoint of the current or next attempt */
	unsigned addr;   /* address index of the next attempt */
	uint32_t rounds; /* whole passes over the list failed in a row */
	uint64_t retry_at_ms;
	uint64_t connected_at_ms;
	char aggregator_id[TALLY_ID_MAX];
	uint64_t sent;
	uint64_t acked[TALLY_OUTCOME_COUNT];
	uint64_t nacked;
	struct ep_counters eps[TALLY_MAX_ENDPOINTS];
	uint64_t rng;
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct write_req {
	uv_write_t req;
	struct conn *c;
	uint8_t data[];
};

/* Protocol order. */
static void uplink_enter(struct uplink *u, enum uplink_state s);
static void connect_next(struct uplink *u);
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res);
static void on_connect(uv_connect_t *req, int status);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_write(uv_write_t *req, int status);
static void on_retry(uv_timer_t *t);
static void on_tcp_closed(uv_handle_t *h);
static void conn_fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *uplink_state_str(enum uplink_state s)
{
	switch (s) {
	case UPLINK_IDLE:
		return "idle";
	case UPLINK_BACKOFF:
		return "disconnected";
	case UPLINK_RESOLVING:
		return "resolving";
	case UPLINK_CONNECTING:
		return "connecting";
	case UPLINK_TLS:
		return "tls-handshake";
	case UPLINK_HELLO:
		return "hello";
	case UPLINK_READY:
		return "connected";
	case UPLINK_STOPPED:
		return "stopped";
	}
	return "unknown";
}

static void uplink_enter(struct uplink *u, enum uplink_state s)
{
	if (u->state == s)
		return;
	log_debug("uplink: %s -> %s", uplink_state_str(u->state), uplink_state_str(s));
	u->state = s;
}

static const struct tally_endpoint *endpoint(const struct uplink *u, size_t i)
{
	return &u->cfg.aggregators->e[i];
}

/* "host:port", with brackets around an IPv6 address. */
static void ep_str(const char *host, uint16_t port, char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

/* xorshift64*: jitter only, no secrecy needed. */
static uint64_t rnd(struct uplink *u)
{
	u->rng ^= u->rng >> 12;
	u->rng ^= u->rng << 25;
	u->rng ^= u->rng >> 27;
	return u->rng * 2685821657736338717ull;
}

/* Half the delay fixed, half random ("equal jitter"). */
static uint64_t jitter(struct uplink *u, uint64_t d)
{
	return d / 2 + rnd(u) % (d / 2 + 1);
}

int uplink_init(uv_loop_t *loop, const struct uplink_config *cfg, SSL_CTX *ctx,
                struct outbox *outbox, struct problems *problems, struct uplink **ret)
{
	struct uplink *u;

	if (!cfg->aggregators || cfg->aggregators->n == 0)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->cfg = *cfg;
	if (!u->cfg.window)
		u->cfg.window = UPLINK_DEFAULT_WINDOW;
	if (!u->cfg.handshake_timeout_ms)
		u->cfg.handshake_timeout_ms = DEFAULT_HANDSHAKE_MS;
	if (!u->cfg.ping_after_ms)
		u->cfg.ping_after_ms = DEFAULT_PING_MS;
	if (!u->cfg.idle_timeout_ms)
		u->cfg.idle_timeout_ms = DEFAULT_IDLE_MS;
	if (!u->cfg.backoff_min_ms)
		u->cfg.backoff_min_ms = DEFAULT_BACKOFF_MIN;
	if (!u->cfg.backoff_max_ms)
		u->cfg.backoff_max_ms = DEFAULT_BACKOFF_MAX;
	SSL_CTX_up_ref(ctx);
	u->ctx = ctx;
	u->outbox = outbox;
	u->problems = problems;
	u->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)u;
	if (!u->rng)
		u->rng = 1;
	uv_timer_init(loop, &u->timer);
	u->timer.data = u;
	*ret = u;
	connect_next(u);
	return 0;
}

void uplink_set_tls(struct uplink *u, SSL_CTX *ctx)
{
	SSL_CTX_up_ref(ctx);
	SSL_CTX_free(u->ctx);
	u->ctx = ctx;
}

/* ------------------------------------------------------------- output */

/* Moves whatever TLS has ready to send onto the socket. */
static void flush_out(struct conn *c)
{
	size_t pending;

	while (c->tcp_open && (pending = tally_tls_out_pending(c->tls)) > 0) {
		struct write_req *w = malloc(sizeof(*w) + pending);
		uv_buf_t b;
		size_t n;
		int e;

		if (!w) {
			conn_fail(c, "out of memory");
			return;
		}
		n = tally_tls_take_out(c->tls, w->data, pending);
		w->c = c;
		b = uv_buf_init((char *)w->data, (unsigned)n);
		e = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
		if (e < 0) {
			free(w);
			conn_fail(c, "write: %s", uv_strerror(e));
			return;
		}
	}
}

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = w->c;

	free(w);
	/* A detached conn is closing; its cancelled writes need no reaction. */
	if (status < 0 && c->u)
		conn_fail(c, "write: %s", uv_strerror(status));
}

/* Encodes, frames and encrypts one message (sent by the next flush_out). */
static int send_msg(struct conn *c, const struct tally_msg *m)
{
	struct tally_err err = {{0}};
	uint8_t *body = NULL, *frame = NULL;
	size_t body_len, frame_len;
	int e;

	e = tally_codec_encode_msg(m, &body, &body_len);
	if (e < 0)
		return e;
	e = tally_frame_encode(body, body_len, TALLY_FRAME_DEFAULT_MAX, &frame, &frame_len);
	if (e == 0)
		e = tally_tls_write(c->tls, frame, frame_len, &err);
	free(body);
	free(frame);
	return e;
}

static void send_hello(struct conn *c)
{
	struct uplink *u = c->u;
	struct tally_msg m;
	int e;

	memset(&m, 0, sizeof(m));
	m.type = TALLY_MSG_HELLO;
	m.protocol_version = TALLY_PROTOCOL_VERSION;
	snprintf(m.node_id, sizeof(m.node_id), "%s", u->cfg.node_id);
	snprintf(m.region_id, sizeof(m.region_id), "%s", u->cfg.region_id);
	e = send_msg(c, &m);
	if (e < 0) {
		conn_fail(c, "cannot send Hello: %s", strerror(-e));
		return;
	}
	uplink_enter(u, UPLINK_HELLO);
	flush_out(c);
}

/*
 * Sends one outbox entry as Submit{seq = entry id}. An entry whose stored
 * bytes no longer decode cannot be sent by anyone: it is marked rejected
 * locally, so it neither blocks the queue nor is retried for ever.
 */
static int send_submit(struct conn *c, const struct outbox_item *it)
{
	struct uplink *u = c->u;
	struct tally_msg m;
	int e;

	memset(&m, 0, sizeof(m));
	m.type = TALLY_MSG_SUBMIT;
	m.seq = (uint64_t)it->id;
	e = tally_codec_decode_signed(it->signed_bytes, it->signed_len, &m.result);
	if (e < 0) {
		log_err(
		    "uplink: outbox entry %lld (precinct %u revision %u) is unreadable; marking "
		    "it rejected",
		    (long long)it->id, it->precinct_id, it->revision);
		outbox_mark_rejected(u->outbox, it->id, TALLY_REJECT_MALFORMED,
		                     "outbox entry unreadable on the node", NULL);
		return 0;
	}
	e = send_msg(c, &m);
	tally_msg_clear(&m);
	if (e < 0)
		return e;
	c->inflight[c->n_inflight++] = (struct inflight){it->id, it->precinct_id, it->revision};
	u->sent++;
	return 0;
}

/* Whether id was sent on c and its answer is not yet recorded. */
static bool still_out(const struct conn *c, int64_t id)
{
	for (uint32_t i = 0; i < c->n_inflight; i++)
		if (c->inflight[i].id == id)
			return true;
	for (uint32_t i = 0; i < c->n_marks; i++)
		if (c->marks[i].id == id)
			return true;
	return false;
}

/* Fills the window from the outbox, in id order. */
static void pump(struct conn *c)
{
	struct uplink *u = c->u;
	struct outbox_item items[FETCH_BATCH];

	/* Answers not yet recorded hold their window slot (c->marks has window entries). */
	while (c->u && u->state == UPLINK_READY && c->n_inflight + c->n_marks < u->cfg.window) {
		size_t want = u->cfg.window - c->n_inflight - c->n_marks, n = 0, i;
		int e;

		if (want > FETCH_BATCH)
			want = FETCH_BATCH;
		e = outbox_fetch(u->outbox, c->last_sent_id, want, items, &n);
		if (e < 0) {
			log_err("uplink: cannot read the outbox: %s (%s); retrying later",
			        strerror(-e), outbox_errmsg(u->outbox));
			problems_add(u->problems, "outbox", "cannot read: %s",
			             outbox_errmsg(u->outbox));
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			/* After a resend went back, skip what is still out. */
			bool out = items[i].id <= c->max_sent_id && still_out(c, items[i].id);
			e = out ? 0 : send_submit(c, &items[i]);
			c->last_sent_id = items[i].id;
			if (items[i].id > c->max_sent_id)
				c->max_sent_id = items[i].id;
			if (e < 0)
				break;
		}
		for (size_t k = 0; k < n; k++)
			outbox_item_clear(&items[k]);
		if (e < 0) {
			conn_fail(c, "cannot send: %s", strerror(-e));
			return;
		}
		flush_out(c);
	}
}

/* Records the answers of one read in one transaction. */
static void flush_marks(struct conn *c)
{
	struct uplink *u = c->u;
	int e;

	if (c->n_marks == 0)
		return;
	e = outbox_begin(u->outbox);
	for (uint32_t i = 0; e == 0 && i < c->n_marks; i++) {
		struct mark *m = &c->marks[i];
		if (m->rejected)
			e = outbox_mark_rejected(u->outbox, m->id, m->code, m->reason, NULL);
		else
			e = outbox_mark_delivered(u->outbox, m->id, m->outcome, NULL);
	}
	if (e == 0)
		e = outbox_commit(u->outbox);
	else
		outbox_rollback(u->outbox);
	if (e < 0) {
		/* They stay queued and go again on the next connection: harmless. */
		log_err("uplink: cannot record %u answers in the outbox: %s (%s)", c->n_marks,
		        strerror(-e), outbox_errmsg(u->outbox));
		problems_add(u->problems, "outbox", "cannot record answers: %s",
		             outbox_errmsg(u->outbox));
	}
	for (uint32_t i = 0; i < c->n_marks; i++)
		free(c->marks[i].reason);
	c->n_marks = 0;
}

/* ---------------------------------------------------------- lifecycle */

static void conn_free(struct conn *c)
{
	for (uint32_t i = 0; i < c->n_marks; i++)
		free(c->marks[i].reason);
	free(c->marks);
	free(c->inflight);
	tally_frame_decoder_clear(&c->dec);
	tally_tls_free(c->tls);
	free(c);
}

static void on_tcp_closed(uv_handle_t *h)
{
	conn_free(h->data);
}

/* Lets go of c: from here it only finishes closing and frees itself. */
static void conn_detach(struct conn *c)
{
	struct uplink *u = c->u;

	if (u) {
		if (c->n_marks && u->outbox)
			flush_marks(c);
		u->conn = NULL;
	}
	c->u = NULL;
	if (c->tcp_open)
		uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
	else if (!c->resolving)
		conn_free(c);
	/* else on_resolved frees it */
}

static void schedule_retry(struct uplink *u, uint64_t delay_ms)
{
	uplink_enter(u, UPLINK_BACKOFF);
	u->retry_at_ms = mono_ms() + delay_ms;
	uv_timer_start(&u->timer, on_retry, delay_ms, 0);
}

static uint64_t backoff(struct uplink *u)
{
	uint64_t d = u->cfg.backoff_min_ms;

	for (uint32_t i = 1; i < u->rounds && d < u->cfg.backoff_max_ms; i++)
		d *= 2;
	if (d > u->cfg.backoff_max_ms)
		d = u->cfg.backoff_max_ms;
	return jitter(u, d);
}

/*
 * Ends the attempt and picks the next: another address of the same host if
 * TCP failed and it has more; otherwise the next endpoint at once; after a
 * whole pass, the first one after a backoff. A connection that reached
 * READY starts over at the first endpoint after a short wait.
 */
static void conn_fail(struct conn *c, const char *fmt, ...)
{
	struct uplink *u = c->u;
	enum uplink_state was = u->state;
	char reason[TALLY_REASON_MAX + 64], here[TALLY_HOST_MAX + 16], next[TALLY_HOST_MAX + 16];
	uint64_t delay = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	ep_str(c->host, c->port, here, sizeof(here));
	u->eps[u->ep].failures++;

	if (was == UPLINK_CONNECTING && c->addr_index + 1 < c->n_addrs) {
		u->addr = c->addr_index + 1;
	} else if (was == UPLINK_READY) {
		u->ep = 0;
		u->addr = 0;
		u->rounds = 0;
		delay = jitter(u, u->cfg.backoff_min_ms);
	} else {
		u->addr = 0;
		u->ep++;
		if (u->ep == u->cfg.aggregators->n) {
			u->ep = 0;
			u->rounds++;
			delay = backoff(u);
		}
	}
	conn_detach(c);
	u->aggregator_id[0] = '\0';

	ep_str(endpoint(u, u->ep)->host, endpoint(u, u->ep)->port, next, sizeof(next));
	if (delay)
		log_warning("uplink: %s: %s; trying %s in %.1f s", here, reason, next,
		            (double)delay / 1000);
	else
		log_warning("uplink: %s: %s; trying %s", here, reason, next);
	problems_add(u->problems, "uplink", "%s: %s", here, reason);
	schedule_retry(u, delay);
}

static void on_retry(uv_timer_t *t)
{
	connect_next(t->data);
}

static void connect_next(struct uplink *u)
{
	const struct tally_endpoint *ep = endpoint(u, u->ep);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	char port[8];
	struct conn *c;
	int e;

	c = calloc(1, sizeof(*c));
	if (c) {
		c->inflight = calloc(u->cfg.window, sizeof(*c->inflight));
		c->marks = calloc(u->cfg.window, sizeof(*c->marks));
	}
	if (!c || !c->inflight || !c->marks) {
		if (c) {
			free(c->inflight);
			free(c->marks);
		}
		free(c);
		log_err("uplink: out of memory; retrying");
		schedule_retry(u, u->cfg.backoff_min_ms);
		return;
	}
	c->u = u;
	snprintf(c->host, sizeof(c->host), "%s", ep->host);
	c->port = ep->port;
	c->addr_index = u->addr;
	c->started_ms = mono_ms();
	tally_frame_decoder_init(&c->dec, TALLY_FRAME_DEFAULT_MAX);
	u->conn = c;
	e = tally_tls_new(u->ctx, false, u->cfg.server_name ? u->cfg.server_name : ep->host,
	                  &c->tls);
	if (e < 0) {
		uplink_enter(u, UPLINK_RESOLVING);
		conn_fail(c, "cannot set up TLS: %s", strerror(-e));
		return;
	}
	uplink_enter(u, UPLINK_RESOLVING);
	snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
	c->gai.data = c;
	c->resolving = true;
	e = uv_getaddrinfo(u->loop, &c->gai, on_resolved, c->host, port, &hints);
	if (e < 0) {
		c->resolving = false;
		conn_fail(c, "cannot resolve '%s': %s", c->host, uv_strerror(e));
	}
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct conn *c = req->data;
	struct addrinfo *ai = res;
	unsigned i = 0;
	int e;

	c->resolving = false;
	if (!c->u) {
		uv_freeaddrinfo(res);
		conn_free(c);
		return;
	}
	if (status < 0) {
		conn_fail(c, "cannot resolve '%s': %s", c->host, uv_strerror(status));
		return;
	}
	for (struct addrinfo *p = res; p; p = p->ai_next)
		c->n_addrs++;
	while (ai && i < c->addr_index) {
		ai = ai->ai_next;
		i++;
	}
	if (!ai)
		ai = res;
	uv_tcp_init(c->u->loop, &c->tcp);
	c->tcp.data = c;
	c->tcp_open = true;
	c->connect_req.data = c;
	uplink_enter(c->u, UPLINK_CONNECTING);
	e = uv_tcp_connect(&c->connect_req, &c->tcp, ai->ai_addr, on_connect);
	uv_freeaddrinfo(res);
	if (e < 0)
		conn_fail(c, "connect: %s", uv_strerror(e));
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct tally_err err = {{0}};
	int e;

	if (!c->u)
		return;
	if (status < 0) {
		conn_fail(c, "connect: %s", uv_strerror(status));
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	e = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (e < 0) {
		conn_fail(c, "read: %s", uv_strerror(e));
		return;
	}
	uplink_enter(c->u, UPLINK_TLS);
	c->last_rx_ms = mono_ms();
	e = tally_tls_handshake(c->tls, &err);
	if (e < 0) {
		conn_fail(c, "TLS handshake failed: %s", err.msg);
		return;
	}
	flush_out(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

/* ----------------------------------------------------------- messages */

/*
 * Text from the aggregator goes into logs, the status document (JSON) and
 * the outbox: anything but printable ASCII becomes '?', so a reason cannot
 * forge log lines or make the status unencodable.
 */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static int find_inflight(const struct conn *c, uint64_t seq)
{
	for (uint32_t i = 0; i < c->n_inflight; i++)
		if ((uint64_t)c->inflight[i].id == seq)
			return (int)i;
	return -1;
}

static int check_welcome(struct conn *c, const struct tally_msg *m)
{
	struct uplink *u = c->u;

	if (m->protocol_version != TALLY_PROTOCOL_VERSION) {
		conn_fail(c, "aggregator speaks protocol version %u, we speak %u",
		          m->protocol_version, TALLY_PROTOCOL_VERSION);
		return -EPROTO;
	}
	if (strcmp(m->election_id, u->cfg.election_id) != 0) {
		char shown[TALLY_ID_MAX];
		snprintf(shown, sizeof(shown), "%s", m->election_id);
		printable(shown);
		log_err("uplink: aggregator '%s' at %s:%u counts election '%s', not ours ('%s'); "
		        "sending nothing there",
		        m->aggregator_id, c->host, (unsigned)c->port, shown, u->cfg.election_id);
		conn_fail(c, "wrong election '%s' (ours is '%s')", shown, u->cfg.election_id);
		return -EPROTO;
	}
	return 0;
}

static void proceed_welcome(struct conn *c, const struct tally_msg *m)
{
	struct uplink *u = c->u;
	struct outbox_stats st = {0};
	char here[TALLY_HOST_MAX + 16];

	snprintf(u->aggregator_id, sizeof(u->aggregator_id), "%s", m->aggregator_id);
	u->connected_at_ms = mono_ms();
	u->rounds = 0;
	u->eps[u->ep].connections++;
	uplink_enter(u, UPLINK_READY);
	outbox_stats(u->outbox, &st);
	ep_str(c->host, c->port, here, sizeof(here));
	log_notice("uplink: connected to %s (aggregator '%s'); %llu protocols to send", here,
	           u->aggregator_id, (unsigned long long)st.queued);
	pump(c);
}

static int check_answer(struct conn *c, const struct tally_msg *m, int *ret_index)
{
	int i = find_inflight(c, m->seq);

	if (i < 0) {
		conn_fail(c, "%s for seq %llu, which is not in flight", tally_msg_type_str(m->type),
		          (unsigned long long)m->seq);
		return -EPROTO;
	}
	if (m->type == TALLY_MSG_ACK &&
	    (m->outcome <= TALLY_OUTCOME_UNSPECIFIED || m->outcome >= TALLY_OUTCOME_COUNT)) {
		conn_fail(c, "Ack for seq %llu with unknown outcome %d", (unsigned long long)m->seq,
		          (int)m->outcome);
		return -EPROTO;
	}
	*ret_index = i;
	return 0;
}

static void proceed_answer(struct conn *c, const struct tally_msg *m, int i)
{
	struct uplink *u = c->u;
	struct inflight f = c->inflight[i];
	struct mark *mk = &c->marks[c->n_marks++];

	/* The window is a set: the last entry fills the hole. */
	c->inflight[i] = c->inflight[--c->n_inflight];
	u->eps[u->ep].last_answer_ms = wall_ms();
	memset(mk, 0, sizeof(*mk));
	mk->id = f.id;
	if (m->type == TALLY_MSG_ACK) {
		mk->outcome = m->outcome;
		u->acked[m->outcome]++;
		if (m->outcome == TALLY_OUTCOME_CONFLICT)
			log_warning("uplink: precinct %u revision %u (entry %lld): conflict: the "
			            "aggregator holds a different protocol with the same revision; "
			            "send a correction with a higher revision",
			            f.precinct_id, f.revision, (long long)f.id);
		else if (m->outcome == TALLY_OUTCOME_STALE)
			log_notice("uplink: precinct %u revision %u (entry %lld): stale: the "
			           "aggregator counts a higher revision",
			           f.precinct_id, f.revision, (long long)f.id);
		else
			log_debug("uplink: precinct %u revision %u (entry %lld): %s", f.precinct_id,
			          f.revision, (long long)f.id, tally_outcome_str(m->outcome));
		return;
	}
	mk->rejected = true;
	mk->code = m->code;
	mk->reason = strdup(m->reason);
	u->nacked++;
	log_warning("uplink: precinct %u revision %u (entry %lld) rejected by the aggregator: %s: "
	            "\"%s\"; it will not be resent",
	            f.precinct_id, f.revision, (long long)f.id, tally_reject_code_str(m->code),
	            m->reason);
	problems_add(u->problems, "aggregator", "precinct %u revision %u rejected: %s: %s",
	             f.precinct_id, f.revision, tally_reject_code_str(m->code), m->reason);
}

static void proceed_ping(struct conn *c, const struct tally_msg *m)
{
	struct tally_msg pong;

	memset(&pong, 0, sizeof(pong));
	pong.type = TALLY_MSG_PONG;
	pong.nonce = m->nonce;
	if (send_msg(c, &pong) < 0)
		conn_fail(c, "cannot send Pong");
}

/* One frame from the aggregator. After it, c may be detached. */
static void handle_frame(struct conn *c, const uint8_t *frame, size_t len)
{
	struct uplink *u = c->u;
	struct tally_msg m;
	int i;

	memset(&m, 0, sizeof(m));
	if (tally_codec_decode_msg(frame, len, &m) < 0) {
		conn_fail(c, "undecodable frame of %zu bytes", len);
		return;
	}
	c->last_rx_ms = mono_ms();
	printable(m.reason);
	printable(m.aggregator_id);
	if (m.type == TALLY_MSG_GOODBYE) {
		conn_fail(c, "the aggregator closed the session: \"%s\"", m.reason);
	} else if (u->state == UPLINK_HELLO) {
		if (m.type != TALLY_MSG_WELCOME)
			conn_fail(c, "expected Welcome, got %s", tally_msg_type_str(m.type));
		else if (check_welcome(c, &m) == 0)
			proceed_welcome(c, &m);
	} else {
		switch (m.type) {
		case TALLY_MSG_ACK:
		case TALLY_MSG_NACK:
			if (check_answer(c, &m, &i) == 0)
				proceed_answer(c, &m, i);
			break;
		case TALLY_MSG_PING:
			proceed_ping(c, &m);
			break;
		case TALLY_MSG_PONG:
			c->ping_outstanding = false;
			break;
		default:
			conn_fail(c, "unexpected %s", tally_msg_type_str(m.type));
			break;
		}
	}
	tally_msg_clear(&m);
}

/* Decrypted bytes into frames. */
static void read_plain(struct conn *c)
{
	struct tally_err err = {{0}};

	while (c->u) {
		ssize_t n = tally_tls_read(c->tls, c->plain, sizeof(c->plain), &err);
		size_t off = 0;

		if (n == 0)
			return;
		if (n == -EPIPE) {
			conn_fail(c, "the aggregator closed the connection");
			return;
		}
		if (n < 0) {
			conn_fail(c, "TLS: %s", err.msg);
			return;
		}
		while (c->u && off < (size_t)n) {
			const uint8_t *frame;
			size_t used = 0, flen = 0;
			int r = tally_frame_decode(&c->dec, c->plain + off, (size_t)n - off, &used,
			                           &frame, &flen);
			off += used;
			if (r < 0) {
				conn_fail(c, "bad frame: %s", strerror(-r));
				return;
			}
			if (r == 0)
				break;
			handle_frame(c, frame, flen);
		}
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	struct tally_err err = {{0}};
	int e;

	if (!c->u || nread == 0)
		return;
	if (nread < 0) {
		conn_fail(c, "%s",
		          nread == UV_EOF ? "connection closed by the aggregator"
		                          : uv_strerror((int)nread));
		return;
	}
	if (tally_tls_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread) < 0) {
		conn_fail(c, "out of memory");
		return;
	}
	if (c->u->state == UPLINK_TLS) {
		e = tally_tls_handshake(c->tls, &err);
		if (e < 0) {
			conn_fail(c, "TLS handshake failed: %s", err.msg);
			return;
		}
		flush_out(c);
		if (e == 0 || !c->u)
			return;
		send_hello(c);
		if (!c->u)
			return;
	}
	read_plain(c);
	if (!c->u)
		return;
	/*
	 * Answers are recorded in batches, one fsync each: losing some to a
	 * crash only means sending those entries again (duplicates). Record at
	 * once when nothing else is in flight, so the outbox is exact at rest.
	 */
	if (c->n_marks >= MARK_BATCH || c->n_inflight == 0)
		flush_marks(c);
	pump(c);
	if (c->u)
		flush_out(c);
}

/* ------------------------------------------------------------- public */

void uplink_kick(struct uplink *u)
{
	if (u->conn && u->state == UPLINK_READY)
		pump(u->conn);
}

void uplink_resend_from(struct uplink *u, int64_t first_id)
{
	struct conn *c = u->conn;

	/* A later connection starts from the beginning of the queue anyway. */
	if (c == NULL || first_id <= 0)
		return;
	if (c->last_sent_id >= first_id)
		c->last_sent_id = first_id - 1;
	if (u->state == UPLINK_READY)
		pump(c);
}

void uplink_tick(struct uplink *u)
{
	struct conn *c = u->conn;
	uint64_t now = mono_ms();

	if (!c)
		return;
	if (u->state != UPLINK_READY) {
		if (now - c->started_ms > u->cfg.handshake_timeout_ms)
			conn_fail(c, "no Welcome within %llu s (stuck in %s)",
			          (unsigned long long)u->cfg.handshake_timeout_ms / 1000,
			          uplink_state_str(u->state));
		return;
	}
	if (now - c->last_rx_ms > u->cfg.idle_timeout_ms) {
		conn_fail(c, "nothing heard for %llu s",
		          (unsigned long long)(now - c->last_rx_ms) / 1000);
		return;
	}
	if (!c->ping_outstanding && now - c->last_rx_ms > u->cfg.ping_after_ms) {
		struct tally_msg m;

		memset(&m, 0, sizeof(m));
		m.type = TALLY_MSG_PING;
		m.nonce = ++c->ping_nonce;
		if (send_msg(c, &m) < 0) {
			conn_fail(c, "cannot send Ping");
			return;
		}
		c->ping_outstanding = true;
		flush_out(c);
	}
	/* Answers waiting for a batch, and entries a failed fetch left behind. */
	if (c->u) {
		flush_marks(c);
		pump(c);
	}
}

void uplink_info(const struct uplink *u, struct uplink_info *ret)
{
	const struct tally_endpoint *ep = endpoint(u, u->ep);
	uint64_t now = mono_ms();

	memset(ret, 0, sizeof(*ret));
	ret->state = u->state;
	ret->connected = u->state == UPLINK_READY;
	ret->host = u->conn ? u->conn->host : ep->host;
	ret->port = u->conn ? u->conn->port : ep->port;
	if (ret->connected) {
		snprintf(ret->aggregator_id, sizeof(ret->aggregator_id), "%s", u->aggregator_id);
		ret->connected_for_ms = now - u->connected_at_ms;
		ret->in_flight = u->conn->n_inflight;
	}
	if (u->state == UPLINK_BACKOFF && u->retry_at_ms > now)
		ret->retry_in_ms = u->retry_at_ms - now;
	ret->sent = u->sent;
	memcpy(ret->acked, u->acked, sizeof(ret->acked));
	ret->nacked = u->nacked;
}

const char *uplink_ep_state_str(enum uplink_ep_state s)
{
	switch (s) {
	case UPLINK_EP_IDLE:
		return "idle";
	case UPLINK_EP_CONNECTING:
		return "connecting";
	case UPLINK_EP_CONNECTED:
		return "connected";
	case UPLINK_EP_BACKOFF:
		return "backoff";
	}
	return "unknown";
}

size_t uplink_endpoints(const struct uplink *u)
{
	return u->cfg.aggregators->n;
}

void uplink_endpoint_info(const struct uplink *u, size_t i, struct uplink_endpoint_info *ret)
{
	const struct tally_endpoint *ep = endpoint(u, i);

	assert(i < u->cfg.aggregators->n);
	memset(ret, 0, sizeof(*ret));
	ret->host = ep->host;
	ret->port = ep->port;
	ret->connections = u->eps[i].connections;
	ret->failures = u->eps[i].failures;
	ret->last_answer_ms = u->eps[i].last_answer_ms;
	/* Only u->ep is in use: the one connected, being tried or waited for. */
	ret->state = UPLINK_EP_IDLE;
	if (i != u->ep)
		return;
	switch (u->state) {
	case UPLINK_READY:
		ret->state = UPLINK_EP_CONNECTED;
		break;
	case UPLINK_RESOLVING:
	case UPLINK_CONNECTING:
	case UPLINK_TLS:
	case UPLINK_HELLO:
		ret->state = UPLINK_EP_CONNECTING;
		break;
	case UPLINK_BACKOFF:
		ret->state = UPLINK_EP_BACKOFF;
		break;
	case UPLINK_IDLE:
	case UPLINK_STOPPED:
		break;
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	struct uplink *u = h->data;
	void (*cb)(void *) = u->close_cb;
	void *arg = u->close_arg;

	SSL_CTX_free(u->ctx);
	free(u);
	if (cb)
		cb(arg);
}

void uplink_close(struct uplink *u, void (*cb)(void *arg), void *arg)
{
	if (!u)
		return;
	if (u->conn) {
		struct conn *c = u->conn;
		/* A polite end; the bytes go only if the socket takes them now. */
		if (u->state == UPLINK_READY) {
			struct tally_msg m;
			memset(&m, 0, sizeof(m));
			m.type = TALLY_MSG_GOODBYE;
			snprintf(m.reason, sizeof(m.reason), "node stopping");
			if (send_msg(c, &m) == 0) {
				tally_tls_shutdown(c->tls);
				flush_out(c);
			}
		}
		if (u->conn)
			conn_detach(u->conn);
	}
	uplink_enter(u, UPLINK_STOPPED);
	u->close_cb = cb;
	u->close_arg = arg;
	uv_timer_stop(&u->timer);
	uv_close((uv_handle_t *)&u->timer, on_timer_closed);
}
