/*
 * main.c: tally-aggregator as a script: arguments, configuration, election,
 * keys, store, recovery, loop, listeners, timers, uv_run, teardown. It owns
 * the process-wide handles (signals, the housekeeping timer) and the order
 * of start-up and shutdown; everything else lives in its own file.
 *
 * Shutdown (SIGTERM/SIGINT): stop accepting and reading, let verification
 * and the last commit finish so what was committed is answered, then say
 * Goodbye to every node and close. A second signal skips the waiting.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "tally/http.h"
#include "ingest.h"
#include "listener.h"
#include "replay.h"
#include "routes.h"
#include "session.h"
#include "store.h"
#include "tally/log.h"
#include "tally/notify.h"
#include "tally/sign.h"
#include "tally/signals.h"
#include "tally/tls.h"
#include "verify.h"

/* How long shutdown waits for results in flight before closing anyway. */
#define SHUTDOWN_GRACE_MS 10000

static struct aggregator agg;
static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t housekeeping;
static uint64_t watchdog_ms;
static uint64_t shutdown_started;
static bool closing_done;
static bool hurry; /* a second signal: stop waiting for commits */

static void usage(FILE *f)
{
	fprintf(f, "usage: tally-aggregator --config FILE [--check-config]\n"
	           "  --config FILE    INI configuration (see docs)\n"
	           "  --check-config   load and check everything, then exit 0 or 1\n");
}

static void load_keys(struct aggregator *a, struct agg_keys **ret)
{
	struct tally_err err = {{0}};
	struct agg_keys *k = calloc(1, sizeof(*k));
	if (!k)
		tally_fatal("out of memory");
	k->refs = 1;
	if (tally_keyring_load(a->conf.trusted_keys, &k->ring, &err) < 0)
		tally_fatal("trusted_keys = %s: %s", a->conf.trusted_keys, err.msg);
	*ret = k;
}

/* ---- periodic work ---------------------------------------------------------- */

static void finish_close(struct aggregator *a)
{
	if (closing_done)
		return;
	closing_done = true;
	log_notice("stopping: %" PRIu64 " results in the log, closing sessions",
	           a->totals->sequence);
	session_close_all(a, "aggregator shutting down");
	http_server_stop(a->http);
	a->http = NULL;
	for (size_t i = agg_n_modules; i-- > 0;)
		if (agg_modules[i].stop)
			agg_modules[i].stop(a);
	ingest_close(a->ingest);
	a->ingest = NULL;
	uv_close((uv_handle_t *)&housekeeping, NULL);
	/* The signal handles stay until the loop has ended, only no longer
	 * keeping it alive: closed now, SIGTERM would get its default action
	 * back and one more during the last closes would kill the daemon. */
	uv_unref((uv_handle_t *)&sig_term);
	uv_unref((uv_handle_t *)&sig_int);
	uv_unref((uv_handle_t *)&sig_hup);
}

/*
 * Shutdown step: done once nothing is left to commit, or after the grace
 * time (a store that cannot commit). Verify jobs always finish first: they
 * own their items until they complete.
 */
static void cron_shutdown(struct aggregator *a)
{
	uint64_t now = uv_now(a->loop);
	if (verify_pending() > 0)
		return;
	bool drained = ingest_pending(a->ingest) == 0;
	if (drained || hurry || now - shutdown_started >= SHUTDOWN_GRACE_MS) {
		if (!drained)
			log_warning("stopping with %zu results unanswered (not committed); their "
			            "nodes will send them again",
			            ingest_pending(a->ingest));
		finish_close(a);
	}
}

static void cron_watchdog(void)
{
	if (watchdog_ms)
		tally_notify("WATCHDOG=1");
}

static void on_housekeeping(uv_timer_t *t)
{
	struct aggregator *a = t->data;
	cron_watchdog();
	if (a->stopping) {
		cron_shutdown(a);
		return;
	}
	aggregator_status(a);
}

/* ---- signals ------------------------------------------------------------- */

static void begin_shutdown(struct aggregator *a, int signum)
{
	if (a->stopping) {
		if (!hurry)
			log_notice("second %s: closing without waiting for commits",
			           strsignal(signum));
		hurry = true;
		return;
	}
	a->stopping = true;
	shutdown_started = uv_now(a->loop);
	tally_notify("STOPPING=1");
	log_notice("%s: stopping; finishing %zu results in flight", strsignal(signum),
	           ingest_pending(a->ingest));
	listener_stop(a->listener);
	a->listener = NULL;
	session_pause_all(a);
	/* Check often while draining. */
	uv_timer_start(&housekeeping, on_housekeeping, 0, 50);
}

static void reload(struct aggregator *a)
{
	struct tally_err err = {{0}};
	struct tally_keyring *ring = NULL;
	SSL_CTX *ctx = NULL;
	tally_notifyf("RELOADING=1\nMONOTONIC_USEC=%" PRIu64, uv_hrtime() / 1000);
	if (tally_keyring_load(a->conf.trusted_keys, &ring, &err) < 0) {
		log_err("reload: trusted_keys = %s: %s; keeping the previous keys and certificate",
		        a->conf.trusted_keys, err.msg);
		goto out;
	}
	if (tally_tls_server_ctx(a->conf.tls_ca, a->conf.tls_cert, a->conf.tls_key, &ctx, &err) <
	    0) {
		log_err("reload: [tls]: %s; keeping the previous keys and certificate", err.msg);
		tally_keyring_free(ring);
		goto out;
	}
	struct agg_keys *k = calloc(1, sizeof(*k));
	if (!k) {
		tally_keyring_free(ring);
		SSL_CTX_free(ctx);
		log_err("reload: out of memory; keeping the previous keys and certificate");
		goto out;
	}
	k->refs = 1;
	k->ring = ring;
	/* Verify jobs running now keep the set they started with. */
	agg_keys_unref(a->keys);
	a->keys = k;
	/* Open sessions keep their SSL (and its reference on the old context). */
	SSL_CTX_free(a->tls);
	a->tls = ctx;
	log_notice("reloaded: %zu trusted keys from %s, certificate %s", tally_keyring_count(ring),
	           a->conf.trusted_keys, a->conf.tls_cert);
out:
	tally_notify("READY=1");
	aggregator_status(a);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct aggregator *a = h->data;
	if (signum == SIGHUP) {
		if (!a->stopping)
			reload(a);
		return;
	}
	begin_shutdown(a, signum);
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct aggregator *a = &agg;
	const char *config = NULL;
	bool check_only = false;
	struct tally_err err = {{0}};
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int o;
	tally_signals_block(); /* before any thread exists: signals.h */
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (tally_sign_init() < 0)
		tally_fatal("libsodium failed to initialize");

	/* Configuration, election, keys, certificate. */
	a->config_path = config;
	a->start_ms = agg_now_ms();
	if (agg_conf_load(config, &a->conf, &err) < 0)
		tally_fatal("%s", err.msg);
	enum tally_log_level level;
	if (tally_log_level_parse(a->conf.log_level, &level) < 0)
		tally_fatal(
		    "%s: [aggregator] log_level = '%s': expected err, warning, notice, info "
		    "or debug",
		    config, a->conf.log_level);
	tally_log_set_level(level);
	if (tally_election_load(a->conf.election, &a->election, &err) < 0)
		tally_fatal("election = %s: %s", a->conf.election, err.msg);
	load_keys(a, &a->keys);
	if (tally_tls_server_ctx(a->conf.tls_ca, a->conf.tls_cert, a->conf.tls_key, &a->tls, &err) <
	    0)
		tally_fatal("[tls]: %s", err.msg);
	if (check_only) {
		printf("%s: configuration OK: election '%s' (%zu regions, %zu precincts), %zu "
		       "trusted keys\n",
		       config, a->election->election_id, a->election->n_regions,
		       a->election->n_precincts, tally_keyring_count(a->keys->ring));
		goto teardown_early;
	}

	/* Store and recovery. */
	a->loop = uv_default_loop();
	if (tally_signals_start_pool(a->loop) < 0)
		log_warning("cannot start the thread pool yet; it starts on first use");
	a->stats.sessions_by_region = calloc(a->election->n_regions + 1, sizeof(uint32_t));
	a->stats.rejects_by_region =
	    calloc(a->election->n_regions * TALLY_REJECT_CODE_COUNT, sizeof(uint64_t));
	if (!a->stats.sessions_by_region || !a->stats.rejects_by_region)
		tally_fatal("out of memory");
	if (agg_store_open(a->conf.store_backend, a->conf.store_dsn, a->conf.state_dir,
	                   a->election->election_id, a->conf.id, &a->store, &err) < 0)
		tally_fatal("store: %s", err.msg); /* the backends' messages say what, not where */
	if (replay_rebuild(a, &err) < 0)
		tally_fatal("not starting: %s", err.msg);
	if (aggregator_snapshot_refresh(a) < 0)
		tally_fatal("out of memory");
	struct ingest_sink sink;
	session_sink(a, &sink);
	if (session_table_new(a) < 0 || ingest_new(a, &sink, &a->ingest) < 0)
		tally_fatal("out of memory");
	for (size_t i = 0; i < agg_n_modules; i++) {
		int r = agg_modules[i].start ? agg_modules[i].start(a) : 0;
		if (r < 0)
			tally_fatal("starting %s: %s", agg_modules[i].name, strerror(-r));
	}

	/* Loading the election's JSON and replaying the log leave much freed
	 * heap behind; give it back before running for days. */
	malloc_trim(0);

	/* Listeners: inherited sockets (fd 3 nodes, fd 4 HTTP) or our own. */
	int n_fds = tally_listen_fds();
	int r = listener_start(a, &a->conf.listen, n_fds >= 1 ? 3 : -1, &a->listener, &err);
	if (r < 0)
		tally_fatal("%s", err.msg);
	struct http_limits lim;
	http_limits_default(&lim);
	lim.max_connections = a->conf.http_max_connections;
	lim.idle_timeout_ms = a->conf.http_idle_timeout * 1000u;
	lim.request_timeout_ms = a->conf.http_request_timeout * 1000u;
	r = http_server_start(a->loop, &a->conf.http_listen, n_fds >= 2 ? 4 : -1, &lim,
	                      agg_routes_dispatch, a, &a->http);
	if (r < 0)
		tally_fatal("http_listen = %s:%u: %s", a->conf.http_listen.host,
		            a->conf.http_listen.port, uv_strerror(r));

	/* Signals and the housekeeping timer. */
	uv_signal_init(a->loop, &sig_term);
	uv_signal_init(a->loop, &sig_int);
	uv_signal_init(a->loop, &sig_hup);
	sig_term.data = sig_int.data = sig_hup.data = a;
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	tally_signals_unblock();
	uv_timer_init(a->loop, &housekeeping);
	housekeeping.data = a;
	uint64_t period = 1000;
	watchdog_ms = tally_notify_watchdog_usec() / 1000;
	if (watchdog_ms && watchdog_ms / 2 < period)
		period = watchdog_ms / 2 ? watchdog_ms / 2 : 1;
	uv_timer_start(&housekeeping, on_housekeeping, period, period);

	a->ready = true;
	uint32_t precincts, reported;
	char contests[48] = "";
	tally_totals_precincts(a->totals, SIZE_MAX, &precincts, &reported);
	if (a->election->n_contests > 1)
		snprintf(contests, sizeof(contests), " (%zu contests)", a->election->n_contests);
	log_notice("tally-aggregator '%s' ready: election '%s'%s, %" PRIu32 "/%" PRIu32
	           " precincts, sequence %" PRIu64 "; nodes on %s port %d, HTTP on %s port %d",
	           a->conf.id, a->election->election_id, contests, reported, precincts,
	           a->totals->sequence, a->conf.listen.host, listener_port(a->listener),
	           a->conf.http_listen.host, http_server_port(a->http));
	tally_notify("READY=1");
	aggregator_status(a);

	uv_run(a->loop, UV_RUN_DEFAULT);
	/* Closing the handles gives the signals their default actions back:
	 * blocked meanwhile, then ignored (signals.h). */
	tally_signals_block();
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	tally_signals_ignore();
	uv_run(a->loop, UV_RUN_DEFAULT);

	/* Teardown, in reverse. */
	if (uv_loop_close(a->loop) != 0)
		log_warning("event loop closed with handles still open");
	session_table_free(a);
	aggregator_snapshot_free(a);
	agg_store_close(a->store);
	tally_merkle_free(a->merkle);
	tally_totals_free(a->totals);
	free(a->stats.sessions_by_region);
	free(a->stats.rejects_by_region);
	log_notice("stopped");
teardown_early:
	SSL_CTX_free(a->tls);
	agg_keys_unref(a->keys);
	tally_election_free(a->election);
	agg_conf_free(&a->conf);
	return 0;
}
