/*
 * main.c: tally-node, the regional daemon. Reads as a script: arguments,
 * configuration, election, keys, outbox, loop, uplink, spool, control
 * socket, metrics, timers, signals, uv_run, teardown in reverse. The work is in the
 * modules; this file wires them and owns the process's life (readiness,
 * watchdog, reload, stop).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "control.h"
#include "intake.h"
#include "metrics.h"
#include "outbox.h"
#include "spool.h"
#include "status.h"
#include "tally/election.h"
#include "tally/log.h"
#include "tally/notify.h"
#include "tally/sign.h"
#include "tally/signals.h"
#include "tally/tls.h"
#include "uplink.h"

#define CRON_MS         1000
#define SPOOL_RESCAN_MS 5000

/* Everything the daemon holds; lives in main()'s frame. */
struct node {
	const char *config_path;
	struct node_conf conf;
	struct tally_election *election;
	struct tally_signing_key key;
	SSL_CTX *tls;
	struct outbox *outbox;
	struct intake intake;
	struct problems problems;
	struct status_sources sources;
	uv_loop_t *loop;
	struct uplink *uplink;
	struct spool *spool;
	struct control *control;
	struct node_metrics *metrics; /* NULL without metrics_listen */
	uv_timer_t cron;
	uv_signal_t sigterm, sigint, sighup;
	uint64_t cron_ms;
	uint64_t watchdog_ms; /* 0: no watchdog */
	uint64_t last_watchdog;
	uint64_t last_rescan;
	char last_status[256];
	bool stopping;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tally-node --config FILE [--check-config]\n"
	           "  --config FILE    the node's INI configuration\n"
	           "  --check-config   load and check configuration, election, keys and\n"
	           "                   certificates, print a summary, and exit\n");
}

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Loads the files the configuration names. Fatal on any problem. */
static void load_material(struct node *n)
{
	struct tally_err err = {{0}};
	struct stat st;
	int e;

	e = tally_election_load(n->conf.election, &n->election, &err);
	if (e < 0)
		tally_fatal("election '%s': %s", n->conf.election, err.msg);
	if (tally_election_region_index(n->election, n->conf.region) < 0)
		tally_fatal("%s: [node] region = '%s' is not a region of election '%s' (%s)",
		            n->config_path, n->conf.region, n->election->election_id,
		            n->conf.election);
	e = tally_sign_load_private(n->conf.signing_key, &n->key, &err);
	if (e < 0)
		tally_fatal("signing_key '%s': %s", n->conf.signing_key, err.msg);
	e = tally_tls_client_ctx(n->conf.tls_ca, n->conf.tls_cert, n->conf.tls_key, &n->tls, &err);
	if (e < 0)
		tally_fatal("[tls]: %s", err.msg);
	if (stat(n->conf.spool_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		tally_fatal("%s: [node] spool_dir = '%s': not a folder; create it or fix the path",
		            n->config_path, n->conf.spool_dir);
}

static void print_summary(const struct node *n)
{
	printf("configuration OK: %s\n", n->config_path);
	printf("  node %s, region %s, election %s (%zu precincts in the region)\n", n->conf.id,
	       n->conf.region, n->election->election_id,
	       n->election->regions[tally_election_region_index(n->election, n->conf.region)]
	           .n_precincts);
	printf("  signing key id %s\n", n->key.pub.key_id);
	for (size_t i = 0; i < n->conf.aggregators.n; i++)
		printf("  aggregator %zu: %s:%u (certificate name %s)\n", i + 1,
		       n->conf.aggregators.e[i].host, (unsigned)n->conf.aggregators.e[i].port,
		       n->conf.server_name ? n->conf.server_name : n->conf.aggregators.e[i].host);
	printf("  spool %s, outbox %s/outbox.db, control socket %s\n", n->conf.spool_dir,
	       n->conf.state_dir, n->conf.control_socket);
	if (n->conf.metrics_listen.port)
		printf("  metrics on http://%s:%u/metrics\n", n->conf.metrics_listen.host,
		       (unsigned)n->conf.metrics_listen.port);
}

/* --------------------------------------------------------- callbacks */

static void on_queued(void *arg)
{
	struct node *n = arg;

	if (n->uplink)
		uplink_kick(n->uplink);
}

static void on_resend(void *arg, int64_t first_id)
{
	struct node *n = arg;

	if (n->uplink)
		uplink_resend_from(n->uplink, first_id);
}

static int on_status(void *arg, json_t **ret)
{
	struct node *n = arg;

	return status_json(&n->sources, ret);
}

static void update_status(struct node *n)
{
	char line[256];

	status_line(&n->sources, line, sizeof(line));
	if (strcmp(line, n->last_status) == 0)
		return;
	snprintf(n->last_status, sizeof(n->last_status), "%s", line);
	tally_notifyf("STATUS=%s", line);
}

/* The periodic work, one named task each (see STYLE.md "The event loop"). */
static void on_cron(uv_timer_t *t)
{
	struct node *n = t->data;
	uint64_t now = mono_ms();

	uplink_tick(n->uplink);
	control_tick(n->control);
	if (now - n->last_rescan >= SPOOL_RESCAN_MS) {
		n->last_rescan = now;
		spool_scan_soon(n->spool);
	}
	update_status(n);
	if (n->watchdog_ms && now - n->last_watchdog >= n->watchdog_ms / 2) {
		n->last_watchdog = now;
		tally_notify("WATCHDOG=1");
	}
}

/* SIGHUP: new signing key and TLS material, or keep the old ones. */
static void reload(struct node *n)
{
	struct tally_signing_key key;
	struct tally_err err = {{0}};
	SSL_CTX *ctx = NULL;
	int e;

	tally_notify("RELOADING=1");
	log_notice("reloading signing key and TLS material");
	e = tally_sign_load_private(n->conf.signing_key, &key, &err);
	if (e < 0) {
		log_err("reload: signing_key '%s': %s; keeping the old key", n->conf.signing_key,
		        err.msg);
	} else {
		if (strcmp(key.pub.key_id, n->key.pub.key_id) != 0)
			log_notice("reload: now signing with key %s (was %s)", key.pub.key_id,
			           n->key.pub.key_id);
		tally_sign_key_wipe(&n->key);
		n->key = key;
		tally_sign_key_wipe(&key);
	}
	e = tally_tls_client_ctx(n->conf.tls_ca, n->conf.tls_cert, n->conf.tls_key, &ctx, &err);
	if (e < 0) {
		log_err("reload: [tls]: %s; keeping the old certificates", err.msg);
	} else {
		uplink_set_tls(n->uplink, ctx);
		SSL_CTX_free(n->tls);
		n->tls = ctx;
		log_notice("reload: TLS material loaded; used from the next connection");
	}
	tally_notify("READY=1");
	n->last_status[0] = '\0';
	update_status(n);
}

static void stop(struct node *n)
{
	if (n->stopping)
		return;
	n->stopping = true;
	tally_notify("STOPPING=1");
	log_notice("stopping");
	node_metrics_stop(n->metrics);
	n->metrics = NULL;
	control_close(n->control, NULL, NULL);
	spool_close(n->spool, NULL, NULL);
	uplink_close(n->uplink, NULL, NULL);
	n->control = NULL;
	n->spool = NULL;
	n->uplink = NULL;
	uv_close((uv_handle_t *)&n->cron, NULL);
	/* The signal handles stay until the loop has ended, only no longer
	 * keeping it alive: closed now, SIGTERM would get its default action
	 * back and a second one during the shutdown would kill the node. */
	uv_unref((uv_handle_t *)&n->sigterm);
	uv_unref((uv_handle_t *)&n->sigint);
	uv_unref((uv_handle_t *)&n->sighup);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct node *n = s->data;

	if (signum == SIGHUP && !n->stopping)
		reload(n);
	else if (signum != SIGHUP)
		stop(n);
}

/* ------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct node n;
	struct tally_err err = {{0}};
	enum tally_log_level level;
	bool check_only = false;
	int opt, e;

	memset(&n, 0, sizeof(n));
	tally_signals_block(); /* before any thread exists: signals.h */
	while ((opt = getopt_long(argc, argv, "c:kh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			n.config_path = optarg;
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
	if (!n.config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (tally_sign_init() < 0)
		tally_fatal("cannot initialise libsodium");

	/* Configuration and the files it names. */
	e = node_conf_load(n.config_path, &n.conf, &err);
	if (e < 0)
		tally_fatal("%s", err.msg);
	if (tally_log_level_parse(n.conf.log_level, &level) == 0)
		tally_log_set_level(level);
	load_material(&n);
	if (check_only) {
		print_summary(&n);
		goto teardown;
	}

	/* The outbox, then intake on top of it. */
	e = outbox_open(n.conf.state_dir, &n.outbox, &err);
	if (e < 0)
		tally_fatal("outbox: %s", err.msg);
	n.intake = (struct intake){
	    .election = n.election,
	    .region_id = n.conf.region,
	    .key = &n.key,
	    .outbox = n.outbox,
	};

	/* The loop and what hangs off it. */
	n.loop = uv_default_loop();
	if (tally_signals_start_pool(n.loop) < 0)
		log_warning("cannot start the thread pool yet; it starts on first use");
	e = uplink_init(n.loop,
	                &(struct uplink_config){
	                    .node_id = n.conf.id,
	                    .region_id = n.conf.region,
	                    .election_id = n.election->election_id,
	                    .aggregators = &n.conf.aggregators,
	                    .server_name = n.conf.server_name,
	                    .window = n.conf.window,
	                },
	                n.tls, n.outbox, &n.problems, &n.uplink);
	if (e < 0)
		tally_fatal("uplink: %s", strerror(-e));
	n.sources = (struct status_sources){
	    .node_id = n.conf.id,
	    .region_id = n.conf.region,
	    .election_id = n.election->election_id,
	    .outbox = n.outbox,
	    .uplink = n.uplink,
	    .problems = &n.problems,
	};
	e = spool_init(n.loop, n.conf.spool_dir, &n.intake, &n.problems, on_queued, &n, &n.spool,
	               &err);
	if (e < 0)
		tally_fatal("spool: %s", err.msg);
	e = control_init(n.loop,
	                 &(struct control_config){
	                     .path = n.conf.control_socket,
	                     .intake = &n.intake,
	                     .problems = &n.problems,
	                     .status_cb = on_status,
	                     .queued_cb = on_queued,
	                     .resend_cb = on_resend,
	                     .arg = &n,
	                 },
	                 &n.control, &err);
	if (e < 0)
		tally_fatal("control: %s", err.msg);
	if (n.conf.metrics_listen.port) {
		e = node_metrics_start(n.loop, &n.conf.metrics_listen,
		                       &(struct node_metrics_sources){
		                           .node_id = n.conf.id,
		                           .election_id = n.election->election_id,
		                           .key_id = n.key.pub.key_id,
		                           .tls = &n.tls,
		                           .outbox = n.outbox,
		                           .uplink = n.uplink,
		                           .spool = n.spool,
		                       },
		                       &n.metrics, &err);
		if (e < 0)
			tally_fatal("%s: %s", n.config_path, err.msg);
		log_info("metrics on http://%s:%d/metrics", n.conf.metrics_listen.host,
		         node_metrics_port(n.metrics));
	}

	/* Timer and signals. A peer that closes its end (the aggregator, or a
	 * tallyctl that went away) must give EPIPE on write, not kill the node. */
	signal(SIGPIPE, SIG_IGN);
	n.watchdog_ms = tally_notify_watchdog_usec() / 1000;
	n.cron_ms = CRON_MS;
	if (n.watchdog_ms && n.watchdog_ms / 2 < n.cron_ms)
		n.cron_ms = n.watchdog_ms / 2 > 10 ? n.watchdog_ms / 2 : 10;
	uv_timer_init(n.loop, &n.cron);
	n.cron.data = &n;
	uv_timer_start(&n.cron, on_cron, n.cron_ms, n.cron_ms);
	n.last_watchdog = n.last_rescan = mono_ms();
	uv_signal_init(n.loop, &n.sigterm);
	uv_signal_init(n.loop, &n.sigint);
	uv_signal_init(n.loop, &n.sighup);
	n.sigterm.data = n.sigint.data = n.sighup.data = &n;
	uv_signal_start(&n.sigterm, on_signal, SIGTERM);
	uv_signal_start(&n.sigint, on_signal, SIGINT);
	uv_signal_start(&n.sighup, on_signal, SIGHUP);
	tally_signals_unblock();

	log_notice("tally-node %s for region %s, election %s: signing with key %s, spool %s, "
	           "control %s",
	           n.conf.id, n.conf.region, n.election->election_id, n.key.pub.key_id,
	           n.conf.spool_dir, n.conf.control_socket);
	status_line(&n.sources, n.last_status, sizeof(n.last_status));
	tally_notifyf("READY=1\nSTATUS=%s", n.last_status);
	if (n.watchdog_ms)
		tally_notify("WATCHDOG=1");

	uv_run(n.loop, UV_RUN_DEFAULT);
	/* Closing the handles gives the signals their default actions back:
	 * blocked meanwhile, then ignored (signals.h). */
	tally_signals_block();
	uv_close((uv_handle_t *)&n.sigterm, NULL);
	uv_close((uv_handle_t *)&n.sigint, NULL);
	uv_close((uv_handle_t *)&n.sighup, NULL);
	tally_signals_ignore();
	uv_run(n.loop, UV_RUN_DEFAULT);

	e = uv_loop_close(n.loop);
	if (e < 0)
		log_warning("loop closed with handles still open: %s", uv_strerror(e));
	log_notice("stopped");
	n.outbox = outbox_close(n.outbox);
teardown:
	SSL_CTX_free(n.tls);
	tally_sign_key_wipe(&n.key);
	tally_election_free(n.election);
	node_conf_free(&n.conf);
	return 0;
}
