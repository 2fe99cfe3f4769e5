/*
 * committer.c: the store's writing thread (committer.h). The loop and the
 * thread meet under one mutex: the loop posts a job and signals the
 * condition; the thread runs it outside the lock, posts the result and wakes
 * the loop with a uv_async. Everything the job touched is handed back under
 * the same mutex, so the loop may read it once called back.
 */
#include <errno.h>
#include <stdlib.h>

#include "committer.h"

struct committer {
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t wake;
	uv_async_t done_async;
	/* under lock */
	committer_job_fn fn;
	void *arg;
	bool has_job; /* posted, not yet taken by the thread */
	bool has_result;
	int result;
	bool stop;
	/* loop only */
	committer_done_fn done;
	bool busy;
};

static void thread_main(void *data)
{
	struct committer *c = data;
	uv_mutex_lock(&c->lock);
	for (;;) {
		while (!c->has_job && !c->stop)
			uv_cond_wait(&c->wake, &c->lock);
		if (!c->has_job)
			break;
		committer_job_fn fn = c->fn;
		void *arg = c->arg;
		c->has_job = false;
		uv_mutex_unlock(&c->lock);
		int r = fn(arg);
		uv_mutex_lock(&c->lock);
		c->result = r;
		c->has_result = true;
		uv_cond_broadcast(&c->wake);
		uv_async_send(&c->done_async);
	}
	uv_mutex_unlock(&c->lock);
}

static void on_done(uv_async_t *h)
{
	struct committer *c = h->data;
	uv_mutex_lock(&c->lock);
	bool ready = c->has_result;
	int r = c->result;
	void *arg = c->arg;
	c->has_result = false;
	uv_mutex_unlock(&c->lock);
	if (!ready || !c->busy)
		return;
	c->busy = false;
	c->done(arg, r);
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

int committer_new(uv_loop_t *loop, struct committer **ret)
{
	struct committer *c = calloc(1, sizeof(*c));
	int r, made = 0; /* 1 mutex, 2 condition, 3 async handle */
	if (!c)
		return -ENOMEM;
	if ((r = uv_mutex_init(&c->lock)) < 0)
		goto fail;
	made = 1;
	if ((r = uv_cond_init(&c->wake)) < 0)
		goto fail;
	made = 2;
	if ((r = uv_async_init(loop, &c->done_async, on_done)) < 0)
		goto fail;
	made = 3;
	c->done_async.data = c;
	/* Waiting for a commit must not keep the loop alive on its own. */
	uv_unref((uv_handle_t *)&c->done_async);
	if ((r = uv_thread_create(&c->thread, thread_main, c)) < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	if (made >= 2)
		uv_cond_destroy(&c->wake);
	if (made >= 1)
		uv_mutex_destroy(&c->lock);
	if (made >= 3)
		uv_close((uv_handle_t *)&c->done_async, on_closed); /* frees c */
	else
		free(c);
	return r;
}

int committer_run(struct committer *c, committer_job_fn fn, committer_done_fn done, void *arg)
{
	if (c->busy)
		return -EBUSY;
	c->busy = true;
	c->done = done;
	uv_mutex_lock(&c->lock);
	c->fn = fn;
	c->arg = arg;
	c->has_job = true;
	uv_cond_signal(&c->wake);
	uv_mutex_unlock(&c->lock);
	return 0;
}

bool committer_busy(const struct committer *c)
{
	return c->busy;
}

void committer_close(struct committer *c)
{
	if (!c)
		return;
	uv_mutex_lock(&c->lock);
	while (c->busy && !c->has_result)
		uv_cond_wait(&c->wake, &c->lock);
	c->stop = true;
	uv_cond_signal(&c->wake);
	uv_mutex_unlock(&c->lock);
	uv_thread_join(&c->thread);
	c->busy = false;
	uv_cond_destroy(&c->wake);
	uv_mutex_destroy(&c->lock);
	uv_close((uv_handle_t *)&c->done_async, on_closed);
}
