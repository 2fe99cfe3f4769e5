/*
 * test_session.c: node sessions on a real loop (agg_fixture.h) behind the
 * real listener, with ingest, verification and the committer behind them,
 * and a TLS client driven from the test between turns of the loop (its
 * socket is non-blocking: while it waits, the loop runs). The PKI is made
 * once per run by tests/unit/data/mkcerts.sh (client CN KZ-71).
 *
 * Answers find their session by id: a session closed while its results
 * are in the verify pool or in the committer gets none, its results are
 * stored and counted all the same, and a session that later takes its
 * slot in the table does not get them either.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agg_fixture.h"
#include "listener.h"
#include "tally/frame.h"
#include "tally/tls.h"
#include "verify.h"

#define PKI_ENV "TALLY_TEST_SESSION_PKI"

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	static char dir[] = "/tmp/tally-session-pki-XXXXXX";
	char cmd[512];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "/bin/sh %s/tests/unit/data/mkcerts.sh %s", TALLY_SOURCE_DIR,
	         dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "mkcerts.sh failed\n");
		exit(1);
	}
	setenv(PKI_ENV, dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	const char *dir = getenv(PKI_ENV);

	if (dir != NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *pki(const char *name)
{
	static char ring[8][PATH_MAX];
	static int next;
	char *p = ring[next++ % 8];
	const char *dir = getenv(PKI_ENV);

	cr_assert_not_null(dir, "PKI not made");
	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static struct agg_fx fx;
static struct listener *lst;
static SSL_CTX *client_ctx;

static void start(uint32_t max_inflight)
{
	struct tally_err err = {{0}};
	struct ingest_sink sink;
	struct tally_endpoint ep = {.host = "127.0.0.1", .port = 0};

	agg_fx_init(&fx, "KZ-71");
	fx.a.conf.max_inflight = max_inflight;
	cr_assert_eq(tally_tls_server_ctx(pki("ca.pem"), pki("server.pem"), pki("server.key"),
	                                  &fx.a.tls, &err),
	             0, "%s", err.msg);
	cr_assert_eq(tally_tls_client_ctx(pki("ca.pem"), pki("client.pem"), pki("client.key"),
	                                  &client_ctx, &err),
	             0, "%s", err.msg);
	cr_assert_eq(session_table_new(&fx.a), 0);
	session_sink(&fx.a, &sink);
	cr_assert_eq(ingest_new(&fx.a, &sink, &fx.a.ingest), 0);
	cr_assert_eq(listener_start(&fx.a, &ep, -1, &lst, &err), 0, "%s", err.msg);
}

static void setup(void)
{
	start(4096);
}

static void teardown(void)
{
	if (!fx.a.loop)
		return; /* skipped before start() */
	listener_stop(lst);
	session_close_all(&fx.a, "test over");
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.sessions_open == 0 && verify_pending() == 0);
	agg_fx_close(&fx);
	SSL_CTX_free(client_ctx);
}

/* ---- a node, driven from the test ---------------------------------------- */

struct client {
	int fd;
	struct tally_tls *tls;
	struct tally_frame_decoder dec;
	uint8_t in[16384]; /* plaintext not yet framed */
	size_t in_len, in_off;
};

/* Sends the ciphertext TLS produced (loopback: the kernel takes it at once). */
static void cl_flush(struct client *c)
{
	uint8_t buf[16384];
	size_t n;
	while ((n = tally_tls_take_out(c->tls, buf, sizeof(buf))) > 0) {
		size_t off = 0;
		while (off < n) {
			ssize_t w = send(c->fd, buf + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				uv_run(&fx.loop, UV_RUN_ONCE);
				continue;
			}
			cr_assert_gt(w, 0, "send: %s", strerror(errno));
			off += (size_t)w;
		}
	}
}

/* Reads what the socket has (running the loop while it has nothing);
 * false at EOF. */
static bool cl_fill(struct client *c)
{
	uint8_t buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		uv_run(&fx.loop, UV_RUN_ONCE);
		return true;
	}
	if (n <= 0)
		return false;
	cr_assert_eq(tally_tls_feed(c->tls, buf, (size_t)n), 0);
	return true;
}

static void cl_open(struct client *c)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct tally_err err = {{0}};
	uint64_t t0 = uv_hrtime();
	int r;

	memset(c, 0, sizeof(*c));
	sin.sin_port = htons((uint16_t)listener_port(lst));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(c->fd, 0);
	cr_assert_eq(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0, "connect: %s",
	             strerror(errno));
	cr_assert_eq(tally_tls_new(client_ctx, false, "localhost", &c->tls), 0);
	tally_frame_decoder_init(&c->dec, 0);
	while ((r = tally_tls_handshake(c->tls, &err)) == 0) {
		cl_flush(c);
		cr_assert(cl_fill(c), "connection closed during the handshake");
		cr_assert_lt(uv_hrtime() - t0, 30000000000ull, "handshake timed out");
	}
	cr_assert_eq(r, 1, "%s", err.msg);
	cl_flush(c);
}

/* Encrypts one frame; sent by the next cl_flush() (several go out in one write). */
static void cl_queue(struct client *c, const struct tally_msg *m)
{
	struct tally_err err = {{0}};
	uint8_t *body = NULL;
	size_t len = 0;
	cr_assert_eq(tally_codec_encode_msg(m, &body, &len), 0);
	uint8_t *frame = malloc(len + TALLY_FRAME_HEADER_BYTES);
	cr_assert_not_null(frame);
	tally_frame_header((uint32_t)len, frame);
	memcpy(frame + TALLY_FRAME_HEADER_BYTES, body, len);
	cr_assert_eq(tally_tls_write(c->tls, frame, len + TALLY_FRAME_HEADER_BYTES, &err), 0, "%s",
	             err.msg);
	free(frame);
	free(body);
}

static void cl_send(struct client *c, const struct tally_msg *m)
{
	cl_queue(c, m);
	cl_flush(c);
}

/* The next message from the aggregator: 0, or -EPIPE once it closed. */
static int cl_recv(struct client *c, struct tally_msg *ret)
{
	struct tally_err err = {{0}};
	uint64_t t0 = uv_hrtime();
	for (;;) {
		while (c->in_off < c->in_len) {
			size_t used = 0, flen = 0;
			const uint8_t *frame = NULL;
			int r = tally_frame_decode(&c->dec, c->in + c->in_off,
			                           c->in_len - c->in_off, &used, &frame, &flen);
			cr_assert_geq(r, 0);
			c->in_off += used;
			if (r == 1) {
				cr_assert_eq(tally_codec_decode_msg(frame, flen, ret), 0);
				return 0;
			}
		}
		ssize_t n = tally_tls_read(c->tls, c->in, sizeof(c->in), &err);
		if (n > 0) {
			c->in_len = (size_t)n;
			c->in_off = 0;
			continue;
		}
		if (n < 0)
			return -EPIPE;
		if (!cl_fill(c))
			return -EPIPE;
		cr_assert_lt(uv_hrtime() - t0, 30000000000ull, "no answer within 30 s");
	}
}

static void cl_close(struct client *c)
{
	close(c->fd);
	tally_tls_free(c->tls);
	tally_frame_decoder_clear(&c->dec);
}

static void cl_hello(struct client *c)
{
	struct tally_msg m = {.type = TALLY_MSG_HELLO, .protocol_version = TALLY_PROTOCOL_VERSION};
	strcpy(m.node_id, "node-a");
	strcpy(m.region_id, "KZ-71");
	cl_send(c, &m);
	cr_assert_eq(cl_recv(c, &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_WELCOME);
	cr_assert_str_eq(m.election_id, fx.a.election->election_id);
}

/* Queues a Submit of precinct index pi as seq. */
static void cl_submit(struct client *c, uint64_t seq, size_t pi)
{
	struct tally_result r;
	struct tally_msg m = {.type = TALLY_MSG_SUBMIT, .seq = seq};
	agg_fx_result(&fx, pi, 1, 1, &r);
	agg_fx_sign(&fx, &r, &m.result);
	cl_queue(c, &m);
	tally_signed_result_clear(&m.result);
}

static void cl_goodbye(struct client *c)
{
	struct tally_msg m = {.type = TALLY_MSG_GOODBYE};
	strcpy(m.reason, "node shutting down");
	cl_queue(c, &m);
}

static bool drained(void)
{
	return verify_pending() == 0 && ingest_pending(fx.a.ingest) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

Test(session, answers_reach_the_session_that_sent_the_submits, .init = setup, .fini = teardown)
{
	struct client c;
	struct tally_msg m;
	cl_open(&c);
	cl_hello(&c);
	for (uint64_t seq = 1; seq <= 3; seq++)
		cl_submit(&c, seq, (size_t)seq - 1);
	cl_flush(&c);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		cr_assert_eq(cl_recv(&c, &m), 0);
		cr_assert_eq(m.type, TALLY_MSG_ACK);
		cr_assert_eq(m.seq, seq);
		cr_assert_eq(m.outcome, TALLY_OUTCOME_ACCEPTED);
	}
	cr_assert_eq(fx.a.stats.ack_latency.count, 3);
	cl_close(&c);
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.sessions_open == 0);
}

Test(session, reads_resume_as_answers_lower_the_inflight_count, .init = NULL, .fini = teardown)
{
	struct client c;
	struct tally_msg m;
	start(2);
	cl_open(&c);
	cl_hello(&c);
	/* Twice max_inflight: reads pause after 2 until answers come back. */
	for (uint64_t seq = 1; seq <= 4; seq++)
		cl_submit(&c, seq, (size_t)seq - 1);
	cl_flush(&c);
	for (uint64_t seq = 1; seq <= 4; seq++) {
		cr_assert_eq(cl_recv(&c, &m), 0);
		cr_assert_eq(m.type, TALLY_MSG_ACK);
		cr_assert_eq(m.seq, seq);
	}
	cr_assert_eq(fx.a.totals->sequence, 4);
	cl_close(&c);
}

Test(session, closed_while_its_results_are_in_the_verify_pool, .init = setup, .fini = teardown)
{
	struct client c;
	struct tally_msg m;
	agg_fx_block_store(&fx);
	cl_open(&c);
	cl_hello(&c);
	/* Three Submits and a Goodbye in one write: the session reads them
	 * and ends in the same callback, as it hands the Submits to the pool. */
	for (uint64_t seq = 1; seq <= 3; seq++)
		cl_submit(&c, seq, (size_t)seq - 1);
	cl_goodbye(&c);
	cl_flush(&c);
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.sessions_open == 0);
	cr_assert_eq(ingest_pending(fx.a.ingest), 3, "nothing committed while the session ended");
	agg_fx_release_store(&fx);

	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(cl_recv(&c, &m), -EPIPE, "the node hears no answer");
	cr_assert_eq(fx.a.stats.ack_latency.count, 0);
	cr_assert_eq(fx.a.stats.outcomes[TALLY_OUTCOME_ACCEPTED], 3);
	cr_assert_eq(fx.a.totals->sequence, 3);
	cr_assert_eq(agg_fx_submissions(&fx), 3);
	cl_close(&c);
}

Test(session, closed_while_its_batch_is_in_the_committer, .init = setup, .fini = teardown)
{
	struct client c;
	struct tally_msg m;
	agg_fx_block_store(&fx);
	cl_open(&c);
	cl_hello(&c);
	for (uint64_t seq = 1; seq <= 3; seq++)
		cl_submit(&c, seq, (size_t)seq - 1);
	cl_flush(&c);
	/* Read, verified and handed to the committer, which waits for the lock. */
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.submits_received == 3 && verify_pending() == 0);
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	cr_assert_eq(ingest_pending(fx.a.ingest), 3);
	cl_goodbye(&c);
	cl_flush(&c);
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.sessions_open == 0);
	agg_fx_release_store(&fx);

	AGG_FX_RUN_UNTIL(&fx, drained());
	cr_assert_eq(cl_recv(&c, &m), -EPIPE, "the node hears no answer");
	cr_assert_eq(fx.a.stats.ack_latency.count, 0);
	cr_assert_eq(fx.a.stats.outcomes[TALLY_OUTCOME_ACCEPTED], 3);
	cr_assert_eq(fx.a.totals->sequence, 3);
	cl_close(&c);
}

Test(session, answers_for_a_gone_session_never_reach_the_next_in_its_slot, .init = setup,
     .fini = teardown)
{
	struct client a, b;
	struct tally_msg m;
	agg_fx_block_store(&fx);
	cl_open(&a);
	cl_hello(&a);
	cl_submit(&a, 1, 0);
	cl_submit(&a, 2, 1);
	cl_goodbye(&a);
	cl_flush(&a);
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.sessions_open == 0);
	cl_close(&a);

	/* The next connection takes the freed slot of the table. */
	cl_open(&b);
	cl_hello(&b);
	cl_submit(&b, 9, 2);
	cl_flush(&b);
	AGG_FX_RUN_UNTIL(&fx, fx.a.stats.submits_received == 3);
	agg_fx_release_store(&fx);
	AGG_FX_RUN_UNTIL(&fx, drained());

	cr_assert_eq(cl_recv(&b, &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_ACK);
	cr_assert_eq(m.seq, 9, "the first answer B hears is its own");
	/* And nothing after it but the Pong to this Ping. */
	struct tally_msg ping = {.type = TALLY_MSG_PING, .nonce = 5};
	cl_send(&b, &ping);
	cr_assert_eq(cl_recv(&b, &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_PONG);
	cr_assert_eq(m.nonce, 5);
	cr_assert_eq(fx.a.stats.ack_latency.count, 1);
	cr_assert_eq(fx.a.totals->sequence, 3);
	cl_close(&b);
}

/* ---- frame errors ---------------------------------------------------------- */

/* Allocations above 8 MB fail (return NULL) in this test binary, where the
 * sanitizer allows it: a frame body the aggregator cannot allocate. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=8";
}

/* Sends bytes as they are, inside TLS. */
static void cl_raw(struct client *c, const uint8_t *data, size_t len)
{
	struct tally_err err = {{0}};
	cr_assert_eq(tally_tls_write(c->tls, data, len, &err), 0, "%s", err.msg);
	cl_flush(c);
}

Test(session, a_zero_length_frame_is_a_protocol_violation, .init = setup, .fini = teardown)
{
	struct client c;
	struct tally_msg m;
	static const uint8_t zero[4] = {0, 0, 0, 0};
	cl_open(&c);
	cl_hello(&c);
	cl_raw(&c, zero, sizeof(zero));
	cr_assert_eq(cl_recv(&c, &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_GOODBYE);
	cr_assert_str_eq(m.reason, "frame length 0");
	cr_assert_eq(fx.a.stats.protocol_errors, 1);
	cl_close(&c);
}

Test(session, no_memory_for_a_frame_is_not_blamed_on_the_node, .init = NULL, .fini = teardown)
{
	struct client c;
	struct tally_msg m;
	/* 12 MiB: within max_frame_bytes, beyond what may be allocated here. */
	static const uint8_t big[4] = {0x00, 0xc0, 0x00, 0x00};
	void *probe = malloc(12u << 20);
	if (probe) {
		free(probe);
		cr_skip_test("this build cannot make a 12 MiB allocation fail");
	}
	start(4096);
	fx.a.conf.max_frame_bytes = 16u << 20;
	cl_open(&c);
	cl_hello(&c);
	cl_raw(&c, big, sizeof(big));
	cr_assert_eq(cl_recv(&c, &m), 0);
	cr_assert_eq(m.type, TALLY_MSG_GOODBYE);
	cr_assert_str_eq(m.reason, "aggregator out of memory");
	cr_assert_eq(fx.a.stats.protocol_errors, 0, "the node did nothing wrong");
	cl_close(&c);
}
