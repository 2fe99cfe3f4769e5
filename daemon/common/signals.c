/*
 * signals.c: the stop and reload signals' mask and disposition around the
 * event loop's own handling (signals.h).
 */
#include <pthread.h>
#include <signal.h>

#include "tally/signals.h"

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

void tally_signals_block(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void pool_noop(uv_work_t *w)
{
	(void)w;
}

int tally_signals_start_pool(uv_loop_t *loop)
{
	static uv_work_t warmup;

	return uv_queue_work(loop, &warmup, pool_noop, NULL);
}

void tally_signals_unblock(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void tally_signals_ignore(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
