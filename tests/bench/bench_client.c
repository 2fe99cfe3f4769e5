/*
 * bench_client.c: the load generator of the benchmarks (the scripts in tests/bench).
 * It plays every regional node at once with the project's own library
 * (election, codec, frame, sign, tls, validate), so what it measures is the
 * aggregator and not a test client's overhead:
 *
 *   ingest       synthesizes one result per (precinct, contest) the
 *                precinct votes in (one per precinct in an election of one
 *                contest), each passing every control relation, signs them
 *                all with the regions' keys BEFORE the clock starts, then
 *                drives the aggregator over mutual TLS from one connection
 *                per region, pipelined with a window, optionally paced to a
 *                total rate; one client thread (--client-threads) drives
 *                all the connections from an epoll loop; prints
 *                acknowledged results/s and the ack latency percentiles
 *                (--latency-log writes every answer's send time and
 *                latency). With --floor-seconds it also measures the raw
 *                Ed25519 verify rate of one core over the same payloads, in
 *                the same process, before and after the ingest.
 *   verify       only that floor: one thread doing tally_sign_verify().
 *   wait-totals  polls GET /v1/totals until "sequence" reaches a value;
 *                prints the wall-clock time it did (restart timing).
 *   watch        holds N Server-Sent Events watchers on /v1/events, reading
 *                and discarding, until SIGTERM or --seconds.
 *   contests-latency
 *                a reader of the contests API: GET /v1/contests/{id} for
 *                every contest of the election in turn, one round every
 *                --interval seconds, timing each answer; counts only the
 *                answers whose "sequence" shows an ingest under way (above
 *                0 and below --sequence), stops once it reaches --sequence,
 *                at SIGTERM or after --timeout. Besides the percentiles it
 *                counts the answers of 50 ms or more and the time the
 *                hypervisor took from the machine's vCPUs while they were
 *                on their way ("steal" in /proc/stat). A 404 on the first request
 *                means the aggregator has no contests API: it says so
 *                ("contests_api unavailable") and exits 0.
 *
 * Output is one "name value" pair per line on stdout, for scripts. The exit
 * status is non-zero when a result went unanswered, a connection failed or
 * a wait timed out; Nacks are counted, not errors.
 *
 * It owns nothing in the daemons; it only links tally_common.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tally/codec.h"
#include "tally/election.h"
#include "tally/frame.h"
#include "tally/result.h"
#include "tally/sign.h"
#include "tally/tls.h"
#include "tally/validate.h"

#define MAX_BATCH 64 /* Submits encrypted into one TLS write */

static const char *prog = "bench_client";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

/* ---- options ----------------------------------------------------------- */

struct opts {
	const char *election;
	const char *pki;
	const char *connect; /* host:port of the aggregator's node listener */
	const char *http;    /* host:port of its HTTP listener */
	const char *regions; /* comma list; NULL = every region */
	unsigned window;
	double rate;  /* results/s over all connections; 0 = as fast as acked */
	double floor; /* seconds of raw verification, 0 = none */
	double seconds;
	double timeout;
	unsigned watchers;
	uint64_t sequence;
	unsigned threads;      /* signing threads */
	unsigned conn_threads; /* client threads driving the connections */
	uint32_t revision;
	uint64_t limit;          /* results over all regions, 0 = one per precinct */
	const char *latency_log; /* one line per answer: sent ms since start, latency ms */
	double interval;         /* contests-latency: seconds from one round to the next */
};

static void usage(void)
{
	fprintf(stderr,
	        "usage:\n"
	        "  %s ingest --election FILE --pki DIR --connect HOST:PORT [--regions A,B]\n"
	        "        [--window N] [--rate R] [--floor-seconds S] [--revision K] "
	        "[--limit N] [--timeout S]\n"
	        "        [--latency-log FILE] [--client-threads N]\n"
	        "  %s verify --election FILE --pki DIR [--seconds S] [--regions A,B]\n"
	        "  %s wait-totals --http HOST:PORT --sequence N [--timeout S]\n"
	        "  %s watch --http HOST:PORT --watchers N [--seconds S] [--timeout S]\n"
	        "  %s contests-latency --http HOST:PORT --election FILE [--sequence N]\n"
	        "        [--interval S] [--timeout S]\n",
	        prog, prog, prog, prog, prog);
	exit(2);
}

static double num(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || *end || d < 0)
		die("%s: '%s' is not a non-negative number", opt, v);
	return d;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->window = 128;
	o->timeout = 600;
	o->threads = 2;
	o->conn_threads = 1;
	o->revision = 1;
	o->interval = 0.1;
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i];
		if (i + 1 >= argc)
			die("%s needs a value", k);
		const char *v = argv[++i];
		if (!strcmp(k, "--election"))
			o->election = v;
		else if (!strcmp(k, "--pki"))
			o->pki = v;
		else if (!strcmp(k, "--connect"))
			o->connect = v;
		else if (!strcmp(k, "--http"))
			o->http = v;
		else if (!strcmp(k, "--regions"))
			o->regions = v;
		else if (!strcmp(k, "--window"))
			o->window = (unsigned)num(k, v);
		else if (!strcmp(k, "--rate"))
			o->rate = num(k, v);
		else if (!strcmp(k, "--floor-seconds"))
			o->floor = num(k, v);
		else if (!strcmp(k, "--seconds"))
			o->seconds = num(k, v);
		else if (!strcmp(k, "--timeout"))
			o->timeout = num(k, v);
		else if (!strcmp(k, "--watchers"))
			o->watchers = (unsigned)num(k, v);
		else if (!strcmp(k, "--sequence"))
			o->sequence = (uint64_t)num(k, v);
		else if (!strcmp(k, "--threads"))
			o->threads = (unsigned)num(k, v);
		else if (!strcmp(k, "--client-threads"))
			o->conn_threads = (unsigned)num(k, v);
		else if (!strcmp(k, "--revision"))
			o->revision = (uint32_t)num(k, v);
		else if (!strcmp(k, "--limit"))
			o->limit = (uint64_t)num(k, v);
		else if (!strcmp(k, "--latency-log"))
			o->latency_log = v;
		else if (!strcmp(k, "--interval"))
			o->interval = num(k, v);
		else
			die("unknown option '%s'", k);
	}
	if (o->window == 0)
		o->window = 1;
	if (o->threads == 0)
		o->threads = 1;
	if (o->conn_threads == 0)
		o->conn_threads = 1;
	if (o->revision == 0)
		die("--revision must be >= 1");
}

/* "host:port" or "[v6]:port" into a connected blocking TCP socket. */
static int tcp_connect(const char *endpoint)
{
	char host[256];
	const char *colon = strrchr(endpoint, ':');
	if (!colon || colon == endpoint || (size_t)(colon - endpoint) >= sizeof(host))
		die("'%s' is not HOST:PORT", endpoint);
	const char *h = endpoint;
	size_t hl = (size_t)(colon - endpoint);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		die("cannot resolve '%s'", endpoint);
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		int e = errno;
		freeaddrinfo(res);
		if (fd >= 0)
			close(fd);
		return -e;
	}
	freeaddrinfo(res);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the load: one pre-signed Submit frame per (precinct, contest) ----- */

/*
 * One region's results, framed and signed: its precincts in order, each
 * precinct's contests in definition order, the first n of them. Owned by
 * struct load.
 */
struct region_load {
	const struct tally_region *region;
	struct tally_public_key pub;
	size_t avail; /* one per (precinct, contest) its precincts vote in */
	size_t n;
	uint8_t *frames;   /* framed Submit messages back to back */
	size_t *frame_off; /* n + 1 offsets into frames */
	uint8_t *payloads; /* the signed PrecinctResult bytes, back to back */
	size_t *payload_off;
	uint8_t (*sigs)[TALLY_SIG_BYTES];
};

struct load {
	const struct opts *o;
	struct tally_election *e;
	size_t n_regions;
	struct region_load *r;
	size_t total;
	atomic_size_t next_region; /* work counter for the signing threads */
};

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/*
 * A plausible protocol of precinct p for contest k that satisfies every
 * control relation: received = issued + cancelled, cast <= issued <=
 * registered, cast = invalid + not_counted + sum(votes), every option of
 * the contest once. In an election of one contest contest_id stays empty
 * and the figures are those of contest 0, as before contests existed.
 */
static void synthesize(const struct tally_election *e, size_t k, const struct tally_region *reg,
                       const struct tally_precinct *p, uint32_t revision, struct tally_result *r)
{
	const struct tally_contest *c = &e->contests[k];
	uint32_t h = mix(p->id * 2654435761u + revision + (uint32_t)k * 0x9e3779b9u);
	memset(r, 0, sizeof(*r));
	snprintf(r->election_id, sizeof(r->election_id), "%s", e->election_id);
	if (e->n_contests > 1)
		snprintf(r->contest_id, sizeof(r->contest_id), "%s", c->id);
	snprintf(r->region_id, sizeof(r->region_id), "%s", reg->id);
	r->precinct_id = p->id;
	r->revision = revision;
	r->voters_registered = p->registered;
	r->ballots_issued = (uint32_t)((uint64_t)p->registered * (45 + h % 40) / 100);
	r->ballots_cancelled = (h >> 8) % 7;
	r->ballots_received = r->ballots_issued + r->ballots_cancelled;
	uint32_t spoiled = (h >> 12) % 3;
	r->ballots_cast = r->ballots_issued > spoiled ? r->ballots_issued - spoiled : 0;
	r->ballots_invalid = r->ballots_cast / 100;
	r->ballots_not_counted = r->ballots_cast - r->ballots_invalid > 0 ? (h >> 16) % 2 : 0;
	uint32_t valid = r->ballots_cast - r->ballots_invalid - r->ballots_not_counted;
	r->n_votes = c->n_options;
	for (size_t i = 0; i < c->n_options; i++) {
		uint32_t share;
		if (i + 1 == c->n_options)
			share = valid;
		else
			share =
			    (uint32_t)((uint64_t)valid * (30 + mix(h + (uint32_t)i) % 40) / 100);
		snprintf(r->votes[i].option_id, sizeof(r->votes[i].option_id), "%s",
		         c->options[i].id);
		r->votes[i].count = share;
		valid -= share;
	}
	r->recorded_at_ms = 1700000000000ull + p->id;
}

/* A buffer that grows by doubling. */
struct growing {
	uint8_t *buf;
	size_t len, cap;
};

static void append(struct growing *g, const uint8_t *p, size_t n)
{
	if (g->len + n > g->cap) {
		size_t c = g->cap ? g->cap : 65536;
		while (c < g->len + n)
			c *= 2;
		uint8_t *q = realloc(g->buf, c);
		if (!q)
			die("out of memory growing a buffer to %zu bytes", c);
		g->buf = q;
		g->cap = c;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
}

/*
 * Validates r, signs it with key as the connection's i-th Submit and
 * appends its frame to f, its payload to pl and its signature to sig.
 */
static void sign_one(const struct tally_election *e, const struct tally_signing_key *key,
                     const struct tally_result *r, size_t i, uint8_t sig[TALLY_SIG_BYTES],
                     struct growing *f, struct growing *pl)
{
	struct tally_verdict v;
	uint8_t *payload, *body;
	size_t payload_len, body_len;
	if (tally_validate_result(e, r, &v) < 0)
		die("synthesized precinct %" PRIu32 " contest '%s' fails '%s': %s", r->precinct_id,
		    r->contest_id, v.relation, v.reason);
	if (tally_codec_encode_result(r, &payload, &payload_len) < 0)
		die("encoding precinct %" PRIu32 " failed", r->precinct_id);

	struct tally_msg m;
	memset(&m, 0, sizeof(m));
	m.type = TALLY_MSG_SUBMIT;
	m.seq = i + 1;
	m.result.payload = payload;
	m.result.payload_len = payload_len;
	m.result.signature_len = TALLY_SIG_BYTES;
	tally_sign_sign(key, payload, payload_len, m.result.signature);
	memcpy(sig, m.result.signature, TALLY_SIG_BYTES);
	memcpy(m.result.key_id, key->pub.key_id, sizeof(m.result.key_id));
	if (tally_codec_encode_msg(&m, &body, &body_len) < 0)
		die("encoding the Submit of precinct %" PRIu32 " failed", r->precinct_id);
	uint8_t hdr[TALLY_FRAME_HEADER_BYTES];
	tally_frame_header((uint32_t)body_len, hdr);
	append(f, hdr, sizeof(hdr));
	append(f, body, body_len);
	append(pl, payload, payload_len);
	free(body);
	free(payload);
}

static void sign_region(struct load *L, struct region_load *rl)
{
	const struct opts *o = L->o;
	const struct tally_election *e = L->e;
	char path[4096];
	struct tally_signing_key key;
	struct tally_err err = {{0}};
	snprintf(path, sizeof(path), "%s/regions/%s/sign.key", o->pki, rl->region->id);
	if (tally_sign_load_private(path, &key, &err) < 0)
		die("%s", err.msg);
	snprintf(path, sizeof(path), "%s/aggregator/trusted/%s.pem", o->pki, rl->region->id);
	if (tally_sign_load_public(path, &rl->pub, &err) < 0)
		die("%s", err.msg);
	if (strcmp(rl->pub.key_id, key.pub.key_id) != 0)
		die("%s does not hold the public half of region %s's sign.key", path,
		    rl->region->id);

	struct growing f = {0}, pl = {0};
	rl->frame_off = xcalloc(rl->n + 1, sizeof(size_t));
	rl->payload_off = xcalloc(rl->n + 1, sizeof(size_t));
	rl->sigs = xcalloc(rl->n, sizeof(rl->sigs[0]));
	size_t i = 0;
	for (size_t j = 0; j < rl->region->n_precincts && i < rl->n; j++) {
		size_t pi = rl->region->precincts[j];
		for (size_t k = 0; k < e->n_contests && i < rl->n; k++) {
			if (tally_election_slot(e, k, pi) < 0)
				continue;
			struct tally_result r;
			synthesize(e, k, rl->region, &e->precincts[pi], o->revision, &r);
			rl->frame_off[i] = f.len;
			rl->payload_off[i] = pl.len;
			sign_one(e, &key, &r, i, rl->sigs[i], &f, &pl);
			i++;
		}
	}
	assert(i == rl->n);
	rl->frames = f.buf;
	rl->payloads = pl.buf;
	rl->frame_off[rl->n] = f.len;
	rl->payload_off[rl->n] = pl.len;
	tally_sign_key_wipe(&key);
}

static void *sign_worker(void *arg)
{
	struct load *L = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&L->next_region, 1);
		if (i >= L->n_regions)
			return NULL;
		sign_region(L, &L->r[i]);
	}
}

static bool region_selected(const char *list, const char *id)
{
	if (!list)
		return true;
	size_t n = strlen(id);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && !strncmp(p, id, n))
			return true;
		p += l + (c ? 1 : 0);
	}
	return false;
}

static void load_build(const struct opts *o, struct load *L)
{
	struct tally_err err = {{0}};
	memset(L, 0, sizeof(*L));
	L->o = o;
	if (!o->election || !o->pki)
		usage();
	if (tally_sign_init() < 0)
		die("libsodium failed to initialize");
	uint64_t tl = now_ns();
	if (tally_election_load(o->election, &L->e, &err) < 0)
		die("%s", err.msg);
	printf("election_load_seconds %.3f\n", (double)(now_ns() - tl) / 1e9);
	L->r = xcalloc(L->e->n_regions, sizeof(L->r[0]));
	for (size_t i = 0; i < L->e->n_regions; i++) {
		const struct tally_region *reg = &L->e->regions[i];
		if (reg->n_precincts == 0 || !region_selected(o->regions, reg->id))
			continue;
		struct region_load *rl = &L->r[L->n_regions];
		rl->region = reg;
		for (size_t j = 0; j < reg->n_precincts; j++)
			for (size_t k = 0; k < L->e->n_contests; k++)
				if (tally_election_slot(L->e, k, reg->precincts[j]) >= 0)
					rl->avail++;
		if (rl->avail)
			L->n_regions++;
	}
	if (L->n_regions == 0)
		die("no region of %s selected", o->election);
	printf("contests %zu\n", L->e->n_contests);
	/* --limit takes each region's first results, in proportion (floors,
	 * then the remainder one by one), exactly `limit` in all. */
	size_t all = 0, taken = 0;
	for (size_t i = 0; i < L->n_regions; i++)
		all += L->r[i].avail;
	size_t want = o->limit && o->limit < all ? (size_t)o->limit : all;
	for (size_t i = 0; i < L->n_regions; i++) {
		L->r[i].n = (size_t)((uint64_t)L->r[i].avail * want / all);
		taken += L->r[i].n;
	}
	for (size_t i = 0; taken < want; i = (i + 1) % L->n_regions)
		if (L->r[i].n < L->r[i].avail) {
			L->r[i].n++;
			taken++;
		}
	/* A region with nothing to send gets no connection. */
	size_t k = 0;
	for (size_t i = 0; i < L->n_regions; i++)
		if (L->r[i].n)
			L->r[k++] = L->r[i];
	L->n_regions = k;

	uint64_t t0 = now_ns();
	pthread_t th[64];
	unsigned nt = o->threads > 64 ? 64 : o->threads;
	for (unsigned i = 0; i < nt; i++)
		if (pthread_create(&th[i], NULL, sign_worker, L) != 0)
			die("cannot start a signing thread");
	for (unsigned i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	size_t bytes = 0;
	for (size_t i = 0; i < L->n_regions; i++) {
		L->total += L->r[i].n;
		bytes += L->r[i].payload_off[L->r[i].n];
	}
	printf("regions %zu\nresults %zu\npresign_seconds %.3f\npayload_bytes_mean %.1f\n",
	       L->n_regions, L->total, (double)(now_ns() - t0) / 1e9,
	       L->total ? (double)bytes / (double)L->total : 0.0);
	fflush(stdout);
}

static void load_free(struct load *L)
{
	for (size_t i = 0; i < L->n_regions; i++) {
		free(L->r[i].frames);
		free(L->r[i].frame_off);
		free(L->r[i].payloads);
		free(L->r[i].payload_off);
		free(L->r[i].sigs);
	}
	free(L->r);
	tally_election_free(L->e);
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU seconds the whole machine has spent busy (every state of the "cpu"
 * line of /proc/stat but idle and iowait) and in all, since boot; 0 when
 * it cannot be read. Over the ingest, busy less the aggregator's and this
 * process's CPU is what other work on a shared machine took.
 */
static void machine_cpu_s(double *ret_busy, double *ret_all)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");
	*ret_busy = *ret_all = 0;
	if (!f)
		return;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return;
	double hz = (double)sysconf(_SC_CLK_TCK);
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	*ret_all = (double)(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]) / hz;
	*ret_busy = *ret_all - (double)(v[3] + v[4]) / hz;
}

/*
 * The floor: one thread verifying the pre-signed payloads with
 * tally_sign_verify(), round robin over the regions, for `seconds`.
 * Returns verifies per wall-clock second; *ret_per_cpu_s gets them per
 * second of this thread's CPU time, which a machine shared with other
 * work does not distort.
 */
static double verify_rate(const struct load *L, double seconds, double *ret_per_cpu_s)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9);
	uint64_t done = 0, t;
	double c0 = thread_cpu_s();
	size_t idx = 0;
	for (;;) {
		for (size_t k = 0; k < L->n_regions; k++) {
			const struct region_load *rl = &L->r[k];
			size_t i = idx % rl->n;
			const uint8_t *p = rl->payloads + rl->payload_off[i];
			size_t len = rl->payload_off[i + 1] - rl->payload_off[i];
			if (tally_sign_verify(&rl->pub, p, len, rl->sigs[i], TALLY_SIG_BYTES) < 0)
				die("pre-signed payload %zu of region %s does not verify", i,
				    rl->region->id);
			done++;
		}
		idx++;
		if ((idx & 15) == 0 && (t = now_ns()) >= deadline) {
			double cpu = thread_cpu_s() - c0;
			*ret_per_cpu_s = cpu > 0 ? (double)done / cpu : 0;
			return (double)done / ((double)(t - t0) / 1e9);
		}
	}
}

/* ---- ingest: one TLS connection per region ------------------------------ */

struct conn {
	const struct opts *o;
	struct region_load *rl;
	double rate;           /* this connection's share of --rate */
	size_t next, inflight; /* results sent; sent and not yet answered */
	uint64_t *sent_ns;
	uint32_t *lat_us;
	uint8_t *answered;
	size_t n_answered;
	uint64_t outcomes[TALLY_OUTCOME_COUNT];
	uint64_t rejects[TALLY_REJECT_CODE_COUNT];
	uint64_t last_ns; /* when the last answer arrived */
	int failed;
	char error[512];
	/* connection state */
	int fd;
	SSL_CTX *ctx;
	struct tally_tls *tls;
	struct tally_frame_decoder dec;
};

/* A client thread and the connections it drives: c[first], c[first +
 * stride], ... below n. */
struct driver {
	const struct opts *o;
	struct conn *c;
	size_t n, first, stride;
	pthread_barrier_t *ready;
	pthread_t th;
};

static uint64_t g_start_ns; /* set by the first thread past the barrier */

static void conn_fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	if (c->failed)
		return;
	c->failed = 1;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

static int flush_tls(struct conn *c)
{
	uint8_t buf[65536];
	while (tally_tls_out_pending(c->tls) > 0) {
		size_t n = tally_tls_take_out(c->tls, buf, sizeof(buf));
		int r = send_all(c->fd, buf, n);
		if (r < 0) {
			conn_fail(c, "send: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Reads what the socket has (waiting up to timeout_ms) into TLS. */
static int pump_in(struct conn *c, int timeout_ms)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	uint8_t buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0) {
		conn_fail(c, "the aggregator closed the connection");
		return -EPIPE;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (tally_tls_feed(c->tls, buf, (size_t)n) < 0)
		return -ENOMEM;
	return 1;
}

static void on_answer(struct conn *c, const struct tally_msg *m, uint64_t t)
{
	if (m->seq < 1 || m->seq > c->rl->n || c->answered[m->seq - 1]) {
		conn_fail(c, "answer for seq %" PRIu64 " that is not in flight", m->seq);
		return;
	}
	size_t i = m->seq - 1;
	c->answered[i] = 1;
	c->n_answered++;
	uint64_t us = (t - c->sent_ns[i]) / 1000u;
	c->lat_us[i] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	c->last_ns = t;
	if (m->type == TALLY_MSG_ACK) {
		if ((unsigned)m->outcome < TALLY_OUTCOME_COUNT)
			c->outcomes[m->outcome]++;
	} else {
		if ((unsigned)m->code < TALLY_REJECT_CODE_COUNT)
			c->rejects[m->code]++;
		if (c->rejects[m->code] <= 3)
			fprintf(stderr, "%s: region %s seq %" PRIu64 ": Nack %s: %s\n", prog,
			        c->rl->region->id, m->seq, tally_reject_code_str(m->code),
			        m->reason);
	}
}

/*
 * Decodes every complete frame TLS holds. Returns the number of Acks/Nacks
 * seen, or -1 after a failure; *ret_msg gets a Welcome or Goodbye for the
 * handshake phase.
 */
static int drain_frames(struct conn *c, struct tally_msg *ret_welcome)
{
	uint8_t buf[65536];
	struct tally_err err = {{0}};
	int seen = 0;
	for (;;) {
		ssize_t n = tally_tls_read(c->tls, buf, sizeof(buf), &err);
		if (n == 0)
			return seen;
		if (n < 0) {
			conn_fail(c, "TLS read: %s",
			          n == -EPIPE ? "closed by the aggregator" : err.msg);
			return -1;
		}
		uint64_t t = now_ns();
		size_t off = 0;
		while (off < (size_t)n) {
			size_t used = 0, flen = 0;
			const uint8_t *frame = NULL;
			int r = tally_frame_decode(&c->dec, buf + off, (size_t)n - off, &used,
			                           &frame, &flen);
			off += used;
			if (r < 0) {
				conn_fail(c, "bad frame from the aggregator");
				return -1;
			}
			if (r == 0)
				break;
			struct tally_msg m;
			if (tally_codec_decode_msg(frame, flen, &m) < 0) {
				conn_fail(c, "unparseable frame from the aggregator");
				return -1;
			}
			switch (m.type) {
			case TALLY_MSG_ACK:
			case TALLY_MSG_NACK:
				on_answer(c, &m, t);
				seen++;
				break;
			case TALLY_MSG_WELCOME:
				if (ret_welcome)
					*ret_welcome = m;
				break;
			case TALLY_MSG_GOODBYE:
				conn_fail(c, "Goodbye from the aggregator: %s", m.reason);
				tally_msg_clear(&m);
				return -1;
			default:
				break;
			}
			tally_msg_clear(&m);
			if (c->failed)
				return -1;
		}
	}
}

static int conn_open(struct conn *c, SSL_CTX *ctx, uint64_t deadline)
{
	struct tally_err err = {{0}};
	c->fd = tcp_connect(c->o->connect);
	if (c->fd < 0) {
		conn_fail(c, "connect %s: %s", c->o->connect, strerror(-c->fd));
		return -1;
	}
	char host[256];
	snprintf(host, sizeof(host), "%s", c->o->connect);
	char *colon = strrchr(host, ':');
	*colon = '\0';
	const char *name = host;
	if (host[0] == '[') {
		name = host + 1;
		host[strlen(host) - 1] = '\0';
	}
	if (tally_tls_new(ctx, false, name, &c->tls) < 0) {
		conn_fail(c, "TLS setup failed");
		return -1;
	}
	tally_frame_decoder_init(&c->dec, TALLY_FRAME_DEFAULT_MAX);
	for (;;) {
		int r = tally_tls_handshake(c->tls, &err);
		if (flush_tls(c) < 0)
			return -1;
		if (r == 1)
			break;
		if (r < 0) {
			conn_fail(c, "TLS handshake: %s", err.msg);
			return -1;
		}
		if (now_ns() > deadline || pump_in(c, 1000) < 0) {
			conn_fail(c, "TLS handshake did not complete");
			return -1;
		}
	}
	struct tally_msg m;
	memset(&m, 0, sizeof(m));
	m.type = TALLY_MSG_HELLO;
	m.protocol_version = TALLY_PROTOCOL_VERSION;
	snprintf(m.node_id, sizeof(m.node_id), "bench-%.56s", c->rl->region->id);
	snprintf(m.region_id, sizeof(m.region_id), "%s", c->rl->region->id);
	uint8_t *body;
	size_t len;
	if (tally_codec_encode_msg(&m, &body, &len) < 0)
		return -1;
	uint8_t hdr[TALLY_FRAME_HEADER_BYTES];
	tally_frame_header((uint32_t)len, hdr);
	tally_tls_write(c->tls, hdr, sizeof(hdr), &err);
	tally_tls_write(c->tls, body, len, &err);
	free(body);
	if (flush_tls(c) < 0)
		return -1;
	struct tally_msg w;
	memset(&w, 0, sizeof(w));
	while (w.type != TALLY_MSG_WELCOME) {
		if (drain_frames(c, &w) < 0)
			return -1;
		if (w.type == TALLY_MSG_WELCOME)
			break;
		if (now_ns() > deadline || pump_in(c, 1000) < 0) {
			conn_fail(c, "no Welcome from the aggregator");
			return -1;
		}
	}
	return 0;
}

/*
 * Sends what c's window and pace allow at time t, in one TLS write.
 * Returns when c may send next: t0-based due time, or UINT64_MAX when only
 * an answer (a free window slot) or nothing at all can let it send again.
 */
static uint64_t conn_send_due(struct conn *c, uint64_t t0, uint64_t t)
{
	const struct region_load *rl = c->rl;
	struct tally_err err = {{0}};
	size_t first = c->next;
	while (c->next < rl->n && c->inflight < c->o->window && c->next - first < MAX_BATCH) {
		if (c->rate > 0 && t < t0 + (uint64_t)((double)c->next / c->rate * 1e9))
			break;
		c->next++;
		c->inflight++;
	}
	if (c->next > first) {
		const uint8_t *p = rl->frames + rl->frame_off[first];
		size_t len = rl->frame_off[c->next] - rl->frame_off[first];
		if (tally_tls_write(c->tls, p, len, &err) < 0) {
			conn_fail(c, "TLS write: %s", err.msg);
			return UINT64_MAX;
		}
		uint64_t ts = now_ns();
		for (size_t i = first; i < c->next; i++)
			c->sent_ns[i] = ts;
		if (flush_tls(c) < 0)
			return UINT64_MAX;
	}
	if (c->next >= rl->n || c->inflight >= c->o->window)
		return UINT64_MAX;
	if (c->rate <= 0)
		return t; /* the batch limit stopped it: at once */
	return t0 + (uint64_t)((double)c->next / c->rate * 1e9);
}

/* Reads everything the socket holds now and takes the answers in. */
static void conn_read(struct conn *c)
{
	uint8_t buf[65536];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			conn_fail(c, "the aggregator closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_fail(c, "receive: %s", strerror(errno));
			break;
		}
		if (tally_tls_feed(c->tls, buf, (size_t)n) < 0) {
			conn_fail(c, "out of memory");
			return;
		}
		if ((size_t)n < sizeof(buf))
			break;
	}
	int got = drain_frames(c, NULL);
	if (got > 0)
		c->inflight -= (size_t)got;
}

static bool conn_busy(const struct conn *c)
{
	return !c->failed && c->n_answered < c->rl->n;
}

/*
 * One client thread drives its share of the connections from one epoll
 * loop. Paced at a rate, it wakes about once a millisecond for all of them
 * instead of once per connection: on a 2-core machine the load generator
 * shares the cores with the aggregator it measures, and every wake-up it
 * saves is CPU the aggregator gets.
 */
static void *driver_main(void *arg)
{
	struct driver *d = arg;
	const struct opts *o = d->o;
	uint64_t deadline = now_ns() + (uint64_t)(o->timeout * 1e9);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));

	for (size_t i = d->first; i < d->n; i += d->stride) {
		struct conn *c = &d->c[i];
		struct tally_err err = {{0}};
		char ca[4096], cert[4096], key[4096];
		const char *id = c->rl->region->id;
		c->fd = -1;
		snprintf(ca, sizeof(ca), "%s/regions/%s/ca.pem", o->pki, id);
		snprintf(cert, sizeof(cert), "%s/regions/%s/node.pem", o->pki, id);
		snprintf(key, sizeof(key), "%s/regions/%s/node.key", o->pki, id);
		if (tally_tls_client_ctx(ca, cert, key, &c->ctx, &err) < 0) {
			conn_fail(c, "%s", err.msg);
			continue;
		}
		if (conn_open(c, c->ctx, deadline) < 0)
			continue;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			conn_fail(c, "epoll_ctl: %s", strerror(errno));
	}

	/* Everyone starts sending together, so the clock covers only the load. */
	if (pthread_barrier_wait(d->ready) == PTHREAD_BARRIER_SERIAL_THREAD)
		g_start_ns = now_ns();
	pthread_barrier_wait(d->ready);

	uint64_t t0 = g_start_ns;
	for (;;) {
		uint64_t t = now_ns(), next_due = UINT64_MAX;
		bool busy = false;
		for (size_t i = d->first; i < d->n; i += d->stride) {
			struct conn *c = &d->c[i];
			if (!conn_busy(c))
				continue;
			busy = true;
			if (t > deadline) {
				conn_fail(c, "timed out with %zu of %zu answered", c->n_answered,
				          c->rl->n);
				continue;
			}
			uint64_t due = conn_send_due(c, t0, t);
			if (due < next_due)
				next_due = due;
		}
		if (!busy)
			break;
		/* Wait for answers: not at all if more may go now. */
		int wait_ms = 1000;
		if (next_due != UINT64_MAX) {
			uint64_t tn = now_ns();
			wait_ms = next_due > tn ? (int)((next_due - tn + 999999u) / 1000000u) : 0;
		}
		struct epoll_event ev[64];
		int k = epoll_wait(ep, ev, 64, wait_ms);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int j = 0; j < k; j++) {
			struct conn *c = ev[j].data.ptr;
			if (conn_busy(c))
				conn_read(c);
		}
	}

	for (size_t i = d->first; i < d->n; i += d->stride) {
		struct conn *c = &d->c[i];
		if (!c->failed && c->tls) {
			tally_tls_shutdown(c->tls);
			flush_tls(c);
		}
		if (c->fd >= 0)
			close(c->fd);
		tally_tls_free(c->tls);
		tally_frame_decoder_clear(&c->dec);
		if (c->ctx)
			SSL_CTX_free(c->ctx);
	}
	close(ep);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return sorted[i] / 1000.0;
}

/* Every answered result as "region sent_ms latency_ms", sent_ms counted
 * from the common start: where in the run the slow answers were. */
static void write_latency_log(const char *path, const struct load *L, const struct conn *c)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < L->n_regions; i++)
		for (size_t k = 0; k < L->r[i].n; k++)
			if (c[i].answered[k])
				fprintf(f, "%s %.3f %.3f\n", L->r[i].region->id,
				        (double)(c[i].sent_ns[k] - g_start_ns) / 1e6,
				        c[i].lat_us[k] / 1000.0);
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

static int cmd_ingest(const struct opts *o)
{
	struct load L;
	if (!o->connect)
		usage();
	load_build(o, &L);
	double floor_before = 0, floor_after = 0, cpu_before = 0, cpu_after = 0;
	if (o->floor > 0) {
		floor_before = verify_rate(&L, o->floor, &cpu_before);
		printf("verify_per_s_before %.1f\nverify_per_cpu_s_before %.1f\n", floor_before,
		       cpu_before);
		fflush(stdout);
	}
	double client_cpu0 = process_cpu_s(), busy0, all0, busy1, all1;
	machine_cpu_s(&busy0, &all0);

	struct conn *c = xcalloc(L.n_regions, sizeof(*c));
	for (size_t i = 0; i < L.n_regions; i++) {
		c[i].o = o;
		c[i].rl = &L.r[i];
		c[i].rate = o->rate * (double)L.r[i].n / (double)L.total;
		c[i].sent_ns = xcalloc(L.r[i].n, sizeof(uint64_t));
		c[i].lat_us = xcalloc(L.r[i].n, sizeof(uint32_t));
		c[i].answered = xcalloc(L.r[i].n, 1);
	}
	size_t nd = o->conn_threads < L.n_regions ? o->conn_threads : L.n_regions;
	struct driver *d = xcalloc(nd, sizeof(*d));
	pthread_barrier_t ready;
	pthread_barrier_init(&ready, NULL, (unsigned)nd);
	for (size_t t = 0; t < nd; t++) {
		d[t] = (struct driver){
		    .o = o, .c = c, .n = L.n_regions, .first = t, .stride = nd, .ready = &ready};
		if (pthread_create(&d[t].th, NULL, driver_main, &d[t]) != 0)
			die("cannot start client thread %zu", t);
	}
	for (size_t t = 0; t < nd; t++)
		pthread_join(d[t].th, NULL);
	free(d);
	uint64_t end = 0, acked = 0, nacked = 0, outcomes[TALLY_OUTCOME_COUNT] = {0},
	         rejects[TALLY_REJECT_CODE_COUNT] = {0};
	int failed = 0;
	for (size_t i = 0; i < L.n_regions; i++) {
		if (c[i].failed) {
			fprintf(stderr, "%s: region %s: %s\n", prog, L.r[i].region->id, c[i].error);
			failed = 1;
		}
		if (c[i].last_ns > end)
			end = c[i].last_ns;
		for (int k = 0; k < TALLY_OUTCOME_COUNT; k++) {
			outcomes[k] += c[i].outcomes[k];
			acked += c[i].outcomes[k];
		}
		for (int k = 0; k < TALLY_REJECT_CODE_COUNT; k++) {
			rejects[k] += c[i].rejects[k];
			nacked += c[i].rejects[k];
		}
	}
	pthread_barrier_destroy(&ready);
	double client_cpu = process_cpu_s() - client_cpu0;
	machine_cpu_s(&busy1, &all1);

	uint32_t *lat = xcalloc(L.total, sizeof(uint32_t));
	size_t n_lat = 0;
	for (size_t i = 0; i < L.n_regions; i++)
		for (size_t k = 0; k < L.r[i].n; k++)
			if (c[i].answered[k])
				lat[n_lat++] = c[i].lat_us[k];
	qsort(lat, n_lat, sizeof(lat[0]), cmp_u32);
	if (o->latency_log)
		write_latency_log(o->latency_log, &L, c);

	double secs = end > g_start_ns ? (double)(end - g_start_ns) / 1e9 : 0;
	double rate = secs > 0 ? (double)(acked + nacked) / secs : 0;
	printf("connections %zu\nwindow %u\n", L.n_regions, o->window);
	printf("target_rate %.1f\n", o->rate);
	printf("answered %" PRIu64 "\nacked %" PRIu64 "\nnacked %" PRIu64 "\n", acked + nacked,
	       acked, nacked);
	for (int k = 1; k < TALLY_OUTCOME_COUNT; k++)
		printf("outcome_%s %" PRIu64 "\n", tally_outcome_str((enum tally_outcome)k),
		       outcomes[k]);
	for (int k = 1; k < TALLY_REJECT_CODE_COUNT; k++)
		if (rejects[k])
			printf("reject_%s %" PRIu64 "\n",
			       tally_reject_code_str((enum tally_reject_code)k), rejects[k]);
	printf("seconds %.3f\nacked_per_s %.1f\n", secs, rate);
	printf("client_cpu_seconds %.3f\n", client_cpu);
	printf("machine_busy_cpu_seconds %.2f\nmachine_cpu_seconds %.2f\n", busy1 - busy0,
	       all1 - all0);
	printf("latency_ms_p50 %.3f\nlatency_ms_p90 %.3f\nlatency_ms_p99 %.3f\n"
	       "latency_ms_max %.3f\n",
	       pct_ms(lat, n_lat, 0.50), pct_ms(lat, n_lat, 0.90), pct_ms(lat, n_lat, 0.99),
	       n_lat ? lat[n_lat - 1] / 1000.0 : 0.0);
	fflush(stdout);
	if (o->floor > 0) {
		floor_after = verify_rate(&L, o->floor, &cpu_after);
		double fl = floor_before > floor_after ? floor_before : floor_after;
		double fc = cpu_before > cpu_after ? cpu_before : cpu_after;
		printf("verify_per_s_after %.1f\nverify_per_cpu_s_after %.1f\n", floor_after,
		       cpu_after);
		printf("verify_per_cpu_s %.1f\nverify_per_s %.1f\nratio %.2f\n", fc, fl,
		       fl > 0 ? rate / fl : 0.0);
	}

	for (size_t i = 0; i < L.n_regions; i++) {
		free(c[i].sent_ns);
		free(c[i].lat_us);
		free(c[i].answered);
	}
	free(lat);
	free(c);
	load_free(&L);
	return failed || acked + nacked != L.total ? 1 : 0;
}

static int cmd_verify(const struct opts *o)
{
	struct load L;
	load_build(o, &L);
	double per_cpu = 0;
	double r = verify_rate(&L, o->seconds > 0 ? o->seconds : 3, &per_cpu);
	printf("verify_per_s %.1f\nverify_per_cpu_s %.1f\n", r, per_cpu);
	load_free(&L);
	return 0;
}

/* ---- HTTP: totals polling and event-stream watchers --------------------- */

/*
 * One GET with Connection: close, read to the end. The answer (status
 * line, headers and body, NUL-terminated) goes into buf, cut at cap - 1
 * bytes; the rest is read and dropped. Returns the HTTP status, or a
 * negative errno when the exchange failed.
 */
static int http_get_status(const char *endpoint, const char *path, char *buf, size_t cap)
{
	int fd = tcp_connect(endpoint);
	if (fd < 0)
		return fd;
	char req[512];
	int n = snprintf(req, sizeof(req),
	                 "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", path);
	int r = send_all(fd, (const uint8_t *)req, (size_t)n);
	size_t len = 0;
	char drop[65536];
	while (r == 0) {
		bool full = len + 1 >= cap;
		ssize_t k =
		    full ? recv(fd, drop, sizeof(drop), 0) : recv(fd, buf + len, cap - 1 - len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		if (k <= 0)
			break;
		if (!full)
			len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	if (r < 0)
		return r;
	unsigned status;
	if (sscanf(buf, "HTTP/1.%*1[01] %3u", &status) != 1)
		return -EPROTO;
	return (int)status;
}

/* One GET; 0 when it answered 200, the body in buf. */
static int http_get(const char *endpoint, const char *path, char *buf, size_t cap)
{
	int r = http_get_status(endpoint, path, buf, cap);
	if (r < 0)
		return r;
	return r == 200 ? 0 : -EAGAIN;
}

static int cmd_wait_totals(const struct opts *o)
{
	if (!o->http)
		usage();
	static char buf[1 << 20];
	uint64_t deadline = now_ns() + (uint64_t)(o->timeout * 1e9);
	uint64_t seen = 0;
	while (now_ns() < deadline) {
		if (http_get(o->http, "/v1/totals", buf, sizeof(buf)) == 0) {
			const char *p = strstr(buf, "\"sequence\":");
			if (p) {
				seen = strtoull(p + 11, NULL, 10);
				if (seen >= o->sequence) {
					printf("served_at %.6f\nsequence %" PRIu64 "\n", wall_s(),
					       seen);
					return 0;
				}
			}
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr,
	        "%s: /v1/totals at %s did not reach sequence %" PRIu64 " (last %" PRIu64
	        ") within %.0f s\n",
	        prog, o->http, o->sequence, seen, o->timeout);
	return 1;
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* Counts "event: totals" lines across reads (a line may straddle two). */
struct watcher {
	int fd;
	bool streaming; /* 200 and headers seen */
	char tail[16];
	size_t tail_len;
	uint64_t events;
};

static uint64_t count_events(struct watcher *w, const char *data, size_t n)
{
	static const char pat[] = "event: totals";
	const size_t pl = sizeof(pat) - 1;
	char buf[65536 + 16];
	memcpy(buf, w->tail, w->tail_len);
	memcpy(buf + w->tail_len, data, n);
	size_t len = w->tail_len + n;
	uint64_t k = 0;
	for (const char *p = buf; (p = memmem(p, (size_t)(buf + len - p), pat, pl)); p += pl)
		k++;
	w->tail_len = len < pl - 1 ? len : pl - 1;
	memcpy(w->tail, buf + len - w->tail_len, w->tail_len);
	return k;
}

static int cmd_watch(const struct opts *o)
{
	if (!o->http || o->watchers == 0)
		usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct watcher *w = xcalloc(o->watchers, sizeof(*w));
	struct pollfd *pfd = xcalloc(o->watchers, sizeof(*pfd));
	const char req[] = "GET /v1/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
	                   "\r\n";
	for (unsigned i = 0; i < o->watchers; i++) {
		w[i].fd = tcp_connect(o->http);
		if (w[i].fd < 0)
			die("watcher %u: connect %s: %s", i, o->http, strerror(-w[i].fd));
		if (send_all(w[i].fd, (const uint8_t *)req, sizeof(req) - 1) < 0)
			die("watcher %u: send failed", i);
		pfd[i].fd = w[i].fd;
		pfd[i].events = POLLIN;
	}
	uint64_t t0 = now_ns(), bytes = 0;
	uint64_t deadline = o->seconds > 0 ? t0 + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
	uint64_t ready_by = t0 + (uint64_t)(o->timeout * 1e9);
	unsigned streaming = 0, closed = 0;
	bool announced = false;
	static char buf[65536];
	while (!g_stop && now_ns() < deadline) {
		if (!announced && streaming + closed == o->watchers) {
			printf("watching %u\n", streaming);
			fflush(stdout);
			announced = true;
		}
		if (!announced && now_ns() > ready_by)
			die("only %u of %u watchers got a stream within %.0f s", streaming,
			    o->watchers, o->timeout);
		int r = poll(pfd, o->watchers, 200);
		if (r <= 0)
			continue;
		for (unsigned i = 0; i < o->watchers; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = recv(w[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n <= 0) {
				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				close(w[i].fd);
				pfd[i].fd = -1;
				closed++;
				if (w[i].streaming)
					streaming--;
				continue;
			}
			bytes += (uint64_t)n;
			if (!w[i].streaming && n >= 12 && !strncmp(buf, "HTTP/1.1 200", 12)) {
				w[i].streaming = true;
				streaming++;
			}
			w[i].events += count_events(&w[i], buf, (size_t)n);
		}
	}
	uint64_t events = 0, min_events = UINT64_MAX;
	for (unsigned i = 0; i < o->watchers; i++) {
		events += w[i].events;
		if (w[i].events < min_events)
			min_events = w[i].events;
		if (pfd[i].fd >= 0)
			close(w[i].fd);
	}
	printf("watchers %u\nstreaming %u\nclosed %u\nevents %" PRIu64
	       "\nmin_events_per_watcher %" PRIu64 "\nbytes %" PRIu64 "\nseconds %.3f\n",
	       o->watchers, streaming, closed, events, min_events, bytes,
	       (double)(now_ns() - t0) / 1e9);
	free(w);
	free(pfd);
	return streaming == o->watchers ? 0 : 1;
}

/* ---- contests-latency: a reader of /v1/contests/{id} during ingest ------ */

/* One contest's answer times, in microseconds, as they came. */
struct contest_probe {
	const char *id;
	uint32_t *us;
	size_t n, cap;
};

static void probe_add(struct contest_probe *p, uint32_t us)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->us = realloc(p->us, p->cap * sizeof(p->us[0]));
		if (!p->us)
			die("out of memory keeping %zu answer times", p->cap);
	}
	p->us[p->n++] = us;
}

/* The document's top-level "sequence", or -1 without one. */
static int64_t body_sequence(const char *answer)
{
	const char *body = strstr(answer, "\r\n\r\n");
	const char *p = body ? strstr(body, "\"sequence\":") : NULL;
	if (!p)
		return -1;
	return (int64_t)strtoll(p + 11, NULL, 10);
}

/*
 * Milliseconds the hypervisor has taken from this machine's vCPUs since
 * boot ("steal" in /proc/stat, summed over the vCPUs; 0 on bare metal or
 * when the file cannot be read). Read around each answer, so that a slow
 * answer says whether the machine was running at the time.
 */
static uint64_t steal_ms(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	               &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	return n == 8 && hz > 0 ? v[7] * 1000u / (unsigned long long)hz : 0;
}

/* The target the slow answers are counted against (issue: under 50 ms). */
#define SLOW_ANSWER_US 50000u

static void sleep_until(uint64_t t)
{
	uint64_t now = now_ns();
	if (t <= now)
		return;
	struct timespec ts = {(time_t)((t - now) / 1000000000u), (long)((t - now) % 1000000000u)};
	nanosleep(&ts, NULL);
}

/*
 * Rounds of GET /v1/contests/{id}, one per contest in definition order,
 * a round every o->interval seconds (back to back when a round takes
 * longer). An answer counts when its sequence shows ingest under way:
 * above 0, and below o->sequence when one is given. Connect to last byte,
 * over a new connection each time, as a reader behind no cache would.
 */
static int cmd_contests_latency(const struct opts *o)
{
	if (!o->http || !o->election)
		usage();
	struct tally_election *e;
	struct tally_err err = {{0}};
	if (tally_election_load(o->election, &e, &err) < 0)
		die("%s", err.msg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct contest_probe *pr = xcalloc(e->n_contests, sizeof(*pr));
	for (size_t k = 0; k < e->n_contests; k++)
		pr[k].id = e->contests[k].id;
	static char buf[4 << 20];
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(o->timeout * 1e9);
	uint64_t requests = 0, errors = 0, last_seq = 0, t_first = 0, t_last = 0;
	uint64_t slow = 0, slow_steal = 0, slowest_us = 0, slowest_steal = 0;
	bool available = false, done = false;
	int rc = 0;
	for (uint64_t round = 0; !g_stop && !done && now_ns() < deadline; round++) {
		sleep_until(t0 + (uint64_t)((double)round * o->interval * 1e9));
		for (size_t k = 0; k < e->n_contests && !g_stop && !done; k++) {
			char path[128];
			snprintf(path, sizeof(path), "/v1/contests/%s", pr[k].id);
			uint64_t stolen = steal_ms(), t = now_ns();
			int status = http_get_status(o->http, path, buf, sizeof(buf));
			uint64_t us = (now_ns() - t) / 1000u;
			stolen = steal_ms() - stolen;
			requests++;
			if (status == 404 && !available) {
				printf("contests_api unavailable\ncontests_api_status 404 %s\n",
				       path);
				goto out;
			}
			int64_t seq = status == 200 ? body_sequence(buf) : -1;
			if (seq < 0) {
				if (errors++ < 3)
					fprintf(stderr, "%s: GET %s: %s%d\n", prog, path,
					        status < 0 ? "error " : "status ", status);
				continue;
			}
			if (!available) {
				printf("contests_api available\n");
				fflush(stdout);
				available = true;
			}
			last_seq = (uint64_t)seq;
			if (o->sequence && last_seq >= o->sequence) {
				done = true;
				break;
			}
			if (seq > 0) {
				probe_add(&pr[k], us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
				if (us >= SLOW_ANSWER_US) {
					slow++;
					slow_steal += stolen;
				}
				if (us > slowest_us) {
					slowest_us = us;
					slowest_steal = stolen;
				}
				if (!t_first)
					t_first = t;
				t_last = now_ns();
			}
		}
	}
	size_t all_n = 0;
	for (size_t k = 0; k < e->n_contests; k++)
		all_n += pr[k].n;
	uint32_t *all = xcalloc(all_n, sizeof(uint32_t));
	all_n = 0;
	for (size_t k = 0; k < e->n_contests; k++) {
		if (pr[k].n) { /* a contest with no samples has no array at all */
			qsort(pr[k].us, pr[k].n, sizeof(uint32_t), cmp_u32);
			memcpy(all + all_n, pr[k].us, pr[k].n * sizeof(uint32_t));
			all_n += pr[k].n;
		}
		printf("contest %s samples %zu p50_ms %.3f p99_ms %.3f max_ms %.3f\n", pr[k].id,
		       pr[k].n, pct_ms(pr[k].us, pr[k].n, 0.50), pct_ms(pr[k].us, pr[k].n, 0.99),
		       pr[k].n ? pr[k].us[pr[k].n - 1] / 1000.0 : 0.0);
	}
	if (all_n)
		qsort(all, all_n, sizeof(uint32_t), cmp_u32);
	printf("contests_requests %" PRIu64 "\ncontests_errors %" PRIu64 "\n"
	       "contests_samples %zu\ncontests_sample_seconds %.3f\n"
	       "contests_last_sequence %" PRIu64 "\nreached %s\n",
	       requests, errors, all_n, t_last > t_first ? (double)(t_last - t_first) / 1e9 : 0.0,
	       last_seq, done ? "yes" : "no");
	printf("contests_latency_ms_p50 %.3f\ncontests_latency_ms_p99 %.3f\n"
	       "contests_latency_ms_max %.3f\n",
	       pct_ms(all, all_n, 0.50), pct_ms(all, all_n, 0.99),
	       all_n ? all[all_n - 1] / 1000.0 : 0.0);
	printf("contests_slow %" PRIu64 "\ncontests_slow_steal_ms %" PRIu64 "\n"
	       "contests_slowest_steal_ms %" PRIu64 "\n",
	       slow, slow_steal, slowest_steal);
	free(all);
	rc = errors ? 1 : 0;
out:
	for (size_t k = 0; k < e->n_contests; k++)
		free(pr[k].us);
	free(pr);
	tally_election_free(e);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (argc < 2)
		usage();
	parse_opts(argc, argv, &o);
	if (!strcmp(argv[1], "ingest"))
		return cmd_ingest(&o);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(&o);
	if (!strcmp(argv[1], "wait-totals"))
		return cmd_wait_totals(&o);
	if (!strcmp(argv[1], "watch"))
		return cmd_watch(&o);
	if (!strcmp(argv[1], "contests-latency"))
		return cmd_contests_latency(&o);
	usage();
}
