/*
 * control.c: the control socket (see control.h). It owns the listener, the
 * clients, their line buffers and the request/answer format; taking a file
 * is intake.c's job and the status document is status.c's. A client's bad
 * request is answered with an error and never touches the rest of the node.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "tally/log.h"

#define CONTROL_READ_CHUNK 65536

/* One connected client. Owned by the control; freed in on_client_closed. */
struct client {
	uv_pipe_t pipe;
	struct control *ctl;
	struct client *prev, *next;
	char *buf; /* bytes of the request line being read */
	size_t len, cap;
	uint64_t last_ms;
	unsigned writes_pending;
	bool close_after_write;
	bool closing;
};

struct control {
	uv_loop_t *loop;
	struct control_config cfg;
	char *path;
	uv_pipe_t listener;
	struct client *clients;
	size_t n_clients;
	unsigned open_handles;
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct write_req {
	uv_write_t req;
	struct client *client;
	char *data;
};

static void on_connection(uv_stream_t *server, int status);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_write(uv_write_t *req, int status);
static void on_client_closed(uv_handle_t *h);
static void on_listener_closed(uv_handle_t *h);

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* ------------------------------------------------------------ answers */

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/*
 * One protocol of a submitted file. contest_id is there when it says
 * something: the entry's contest in an election of several (an election of
 * one answers as it did before contests existed).
 */
static json_t *record_json(const struct outbox_record *r, const char *contest)
{
	json_t *o =
	    json_pack("{s:I, s:I, s:I, s:s, s:I}", "line", (json_int_t)r->line, "precinct_id",
	              (json_int_t)r->precinct_id, "revision", (json_int_t)r->revision, "state",
	              outbox_state_str(r->state), "id", (json_int_t)r->id);

	if (!o)
		return NULL;
	if (contest && contest[0])
		json_object_set_new(o, "contest_id", json_string(contest));
	if (r->state == OUTBOX_DELIVERED)
		json_object_set_new(o, "outcome", json_string(tally_outcome_str(r->outcome)));
	if (r->state == OUTBOX_REJECTED) {
		json_object_set_new(o, "code", json_string(tally_reject_code_str(r->code)));
		json_object_set_new(o, "reason", json_string(r->reason));
	}
	return o;
}

static json_t *error_json(const struct protocol_error *e)
{
	char text[PROTOCOL_ERROR_TEXT_MAX];
	json_t *o;

	protocol_error_format(e, text, sizeof(text));
	o = json_pack("{s:I, s:s, s:s, s:s}", "line", (json_int_t)e->line, "where", e->where,
	              "message", e->message, "text", text);
	if (o && e->has_precinct)
		json_object_set_new(o, "precinct_id", json_integer(e->precinct_id));
	if (o && e->contest[0])
		json_object_set_new(o, "contest_id", json_string(e->contest));
	return o;
}

static int cmp_error_line(const void *a, const void *b)
{
	const struct protocol_error *x = *(const struct protocol_error *const *)a;
	const struct protocol_error *y = *(const struct protocol_error *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x < y ? -1 : x > y;
}

static json_t *report_json(const struct control_config *cfg, const char *name,
                           const struct intake_report *r)
{
	json_t *doc, *protocols = json_array(), *errors = json_array();
	bool several = cfg->intake->election->n_contests > 1;

	if (!protocols || !errors)
		goto nomem;
	for (size_t i = 0; i < r->n_entries; i++) {
		const char *contest = several && r->contests ? r->contests[i] : NULL;
		if (json_array_append_new(protocols, record_json(&r->entries[i], contest)) < 0)
			goto nomem;
	}
	if (r->file) {
		const struct protocol_file *f = r->file;
		const struct protocol_error **order = calloc(f->n_errors + 1, sizeof(*order));
		if (!order)
			goto nomem;
		for (size_t i = 0; i < f->n_errors; i++)
			order[i] = &f->errors[i];
		qsort(order, f->n_errors, sizeof(*order), cmp_error_line);
		for (size_t i = 0; i < f->n_errors; i++)
			json_array_append_new(errors, error_json(order[i]));
		free(order);
	}
	doc = json_pack("{s:b, s:s, s:s, s:o, s:o}", "ok", 1, "name", name, "fate",
	                intake_fate_str(r->fate), "protocols", protocols, "errors", errors);
	if (doc && r->file && r->file->n_errors_dropped)
		json_object_set_new(doc, "errors_not_shown",
		                    json_integer((json_int_t)r->file->n_errors_dropped));
	return doc ? doc : fail("out of memory");
nomem:
	json_decref(protocols);
	json_decref(errors);
	return fail("out of memory");
}

static bool valid_name(const char *name, size_t len)
{
	if (len == 0 || len > NAME_MAX || strlen(name) != len || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static json_t *answer_submit(const struct control_config *cfg, json_t *req)
{
	struct intake_report r;
	json_t *jname = json_object_get(req, "name"), *jdata = json_object_get(req, "data");
	const char *name;
	json_t *doc;
	int e;

	if (!json_is_string(jname) || !json_is_string(jdata))
		return fail("submit needs \"name\" and \"data\" strings");
	name = json_string_value(jname);
	if (!valid_name(name, json_string_length(jname)))
		return fail("'%.100s' is not a plain file name", name);
	e = intake_take(cfg->intake, name, (const uint8_t *)json_string_value(jdata),
	                json_string_length(jdata), &r);
	if (e == -EINVAL)
		return fail("'%.100s': the name must end in .json or .csv", name);
	if (e < 0) {
		log_err("control: '%s': cannot queue (%s: %s); nothing queued", name, strerror(-e),
		        outbox_errmsg(cfg->intake->outbox));
		problems_add(cfg->problems, "control", "'%s': cannot queue: %s", name,
		             strerror(-e));
		return fail("'%.100s': cannot queue (%s); nothing was queued, try again", name,
		            strerror(-e));
	}
	switch (r.fate) {
	case INTAKE_QUEUED:
		log_info("control: '%s': queued %zu protocol%s", name, r.n_entries,
		         r.n_entries == 1 ? "" : "s");
		if (cfg->queued_cb)
			cfg->queued_cb(cfg->arg);
		break;
	case INTAKE_ALREADY:
		log_notice("control: '%s': the same file was queued before; not queued again",
		           name);
		break;
	case INTAKE_REJECTED:
		log_warning("control: '%s' rejected, nothing queued: %zu problem%s", name,
		            r.file->n_errors + r.file->n_errors_dropped,
		            r.file->n_errors + r.file->n_errors_dropped == 1 ? "" : "s");
		if (r.error_text) {
			/* The first problem by line, as the .error file lists them. */
			const char *nl = strchr(r.error_text, '\n');
			int len = nl ? (int)(nl - r.error_text) : (int)strlen(r.error_text);
			problems_add(cfg->problems, "control", "'%s' rejected: %.*s", name, len,
			             r.error_text);
		}
		break;
	}
	doc = report_json(cfg, name, &r);
	intake_report_clear(&r);
	return doc;
}

static json_t *answer_resend(const struct control_config *cfg, json_t *req)
{
	json_t *jsince = json_object_get(req, "since_ms");
	uint64_t n = 0;
	int64_t first = 0, since;
	int e;

	if (!json_is_integer(jsince) || json_integer_value(jsince) < 0)
		return fail("resend needs \"since_ms\": milliseconds since 1970 (0 for all)");
	since = (int64_t)json_integer_value(jsince);
	e = outbox_resend_delivered(cfg->intake->outbox, since, &n, &first);
	if (e < 0) {
		log_err("control: resend: cannot update the outbox (%s: %s); nothing changed",
		        strerror(-e), outbox_errmsg(cfg->intake->outbox));
		return fail("cannot update the outbox (%s); nothing changed, try again",
		            strerror(-e));
	}
	log_notice("control: resend: %" PRIu64 " delivered protocol%s (answered at or after "
	           "%" PRId64 " ms) put back in the queue",
	           n, n == 1 ? "" : "s", since);
	if (n > 0 && cfg->resend_cb)
		cfg->resend_cb(cfg->arg, first);
	return json_pack("{s:b, s:I}", "ok", 1, "requeued", (json_int_t)n);
}

json_t *control_answer(const struct control_config *cfg, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *op, *doc = NULL, *st = NULL;
	int e;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return fail("request is not JSON: %s", jerr.text);
	op = json_object_get(req, "op");
	if (!json_is_object(req) || !json_is_string(op)) {
		doc = fail("request needs an \"op\"");
	} else if (strcmp(json_string_value(op), "submit") == 0) {
		doc = answer_submit(cfg, req);
	} else if (strcmp(json_string_value(op), "status") == 0) {
		e = cfg->status_cb ? cfg->status_cb(cfg->arg, &st) : -ENOTSUP;
		if (e < 0)
			doc = fail("status unavailable: %s", strerror(-e));
		else
			doc = json_pack("{s:b, s:o}", "ok", 1, "status", st);
	} else if (strcmp(json_string_value(op), "resend") == 0) {
		doc = answer_resend(cfg, req);
	} else {
		doc = fail("unknown op '%.40s' (known: submit, status, resend)",
		           json_string_value(op));
	}
	json_decref(req);
	return doc ? doc : fail("out of memory");
}

/* ------------------------------------------------------------ sockets */

/* Refuses to take over a socket another process is listening on. */
static int clear_stale(const char *path, struct tally_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, live;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0
		                       : tally_err_set(err, -errno, "control_socket '%s': %s", path,
		                                       strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return tally_err_set(err, -EEXIST,
		                     "control_socket '%s' exists and is not a socket; remove it or "
		                     "choose another path",
		                     path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tally_err_set(err, -errno, "socket: %s", strerror(errno));
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	if (live)
		return tally_err_set(err, -EADDRINUSE,
		                     "control_socket '%s': another process is listening there (is "
		                     "another tally-node running?)",
		                     path);
	if (unlink(path) < 0)
		return tally_err_set(err, -errno, "cannot remove stale '%s': %s", path,
		                     strerror(errno));
	return 0;
}

int control_init(uv_loop_t *loop, const struct control_config *cfg, struct control **ret,
                 struct tally_err *err)
{
	struct sockaddr_un sa;
	struct control *c;
	int e;

	if (strlen(cfg->path) >= sizeof(sa.sun_path))
		return tally_err_set(err, -ENAMETOOLONG,
		                     "control_socket '%s' is longer than %zu bytes", cfg->path,
		                     sizeof(sa.sun_path) - 1);
	if ((e = clear_stale(cfg->path, err)) < 0)
		return e;
	c = calloc(1, sizeof(*c));
	if (!c)
		return tally_err_set(err, -ENOMEM, "out of memory");
	c->loop = loop;
	c->cfg = *cfg;
	c->path = strdup(cfg->path);
	c->cfg.path = c->path;
	uv_pipe_init(loop, &c->listener, 0);
	c->listener.data = c;
	c->open_handles = 1;
	if (!c->path) {
		e = tally_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((e = uv_pipe_bind(&c->listener, c->path)) < 0) {
		tally_err_set(err, e, "control_socket '%s': %s", c->path, uv_strerror(e));
		goto fail;
	}
	if (chmod(c->path, 0660) < 0) {
		e = tally_err_set(err, -errno, "control_socket '%s': chmod: %s", c->path,
		                  strerror(errno));
		goto fail;
	}
	if ((e = uv_listen((uv_stream_t *)&c->listener, 64, on_connection)) < 0) {
		tally_err_set(err, e, "control_socket '%s': listen: %s", c->path, uv_strerror(e));
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	/* The listener is a live handle: the loop closes it and frees c. */
	uv_close((uv_handle_t *)&c->listener, on_listener_closed);
	return e;
}

static void client_close(struct client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void send_answer(struct client *cl, json_t *doc)
{
	static char newline[] = "\n";
	struct write_req *w;
	char *text = json_dumps(doc, JSON_COMPACT);
	uv_buf_t b[2];

	json_decref(doc);
	if (!text || !(w = calloc(1, sizeof(*w)))) {
		free(text);
		client_close(cl);
		return;
	}
	w->data = text;
	w->client = cl;
	b[0] = uv_buf_init(text, (unsigned)strlen(text));
	b[1] = uv_buf_init(newline, 1);
	if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, b, 2, on_write) < 0) {
		free(w->data);
		free(w);
		client_close(cl);
		return;
	}
	cl->writes_pending++;
}

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct client *cl = w->client;

	free(w->data);
	free(w);
	cl->writes_pending--;
	if (status < 0 || (cl->close_after_write && cl->writes_pending == 0))
		client_close(cl);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct control *c = server->data;
	struct client *cl;

	if (status < 0) {
		log_warning("control: accept failed: %s", uv_strerror(status));
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return;
	uv_pipe_init(c->loop, &cl->pipe, 0);
	cl->pipe.data = cl;
	cl->ctl = c;
	cl->last_ms = mono_ms();
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->n_clients++;
	c->open_handles++;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) < 0) {
		client_close(cl);
		return;
	}
	if (c->n_clients > CONTROL_MAX_CLIENTS) {
		cl->close_after_write = true;
		send_answer(cl, fail("too many control clients (at most %d)", CONTROL_MAX_CLIENTS));
		return;
	}
	uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct client *cl = h->data;
	size_t want = cl->len + CONTROL_READ_CHUNK;

	if (want > cl->cap) {
		char *n = realloc(cl->buf, want);
		if (!n) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		cl->buf = n;
		cl->cap = want;
	}
	*buf = uv_buf_init(cl->buf + cl->len, (unsigned)(cl->cap - cl->len));
}

static void handle_line(struct client *cl, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	send_answer(cl, control_answer(&cl->ctl->cfg, line, len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *cl = s->data;
	size_t done = 0;

	if (cl->closing)
		return;
	if (nread == UV_ENOBUFS) {
		cl->close_after_write = true;
		uv_read_stop(s);
		send_answer(cl, fail("out of memory"));
		return;
	}
	if (nread < 0) {
		/* A last request without its newline still gets its answer. */
		if (nread == UV_EOF && cl->len > 0) {
			handle_line(cl, cl->buf, cl->len);
			cl->len = 0;
		}
		uv_read_stop(s);
		if (cl->writes_pending)
			cl->close_after_write = true;
		else
			client_close(cl);
		return;
	}
	cl->last_ms = mono_ms();
	cl->len += (size_t)nread;
	for (;;) {
		char *nl = memchr(cl->buf + done, '\n', cl->len - done);
		if (!nl)
			break;
		handle_line(cl, cl->buf + done, (size_t)(nl - (cl->buf + done)));
		done = (size_t)(nl - cl->buf) + 1;
		if (cl->closing)
			return;
	}
	memmove(cl->buf, cl->buf + done, cl->len - done);
	cl->len -= done;
	if (cl->len > CONTROL_MAX_REQUEST) {
		log_warning("control: a request longer than %u bytes; closing that connection",
		            CONTROL_MAX_REQUEST);
		uv_read_stop(s);
		cl->len = 0;
		cl->close_after_write = true;
		send_answer(cl, fail("request longer than %u bytes", CONTROL_MAX_REQUEST));
		return;
	}
	/* Give back what a large request left behind once it is answered. */
	if (cl->len == 0 && cl->cap > 4 * CONTROL_READ_CHUNK) {
		free(cl->buf);
		cl->buf = NULL;
		cl->cap = 0;
	}
}

static void release(struct control *c)
{
	void (*cb)(void *) = c->close_cb;
	void *arg = c->close_arg;

	free(c->path);
	free(c);
	if (cb)
		cb(arg);
}

static void on_client_closed(uv_handle_t *h)
{
	struct client *cl = h->data;
	struct control *c = cl->ctl;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->n_clients--;
	free(cl->buf);
	free(cl);
	if (--c->open_handles == 0)
		release(c);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct control *c = h->data;

	if (--c->open_handles == 0)
		release(c);
}

void control_tick(struct control *c)
{
	uint64_t now = mono_ms();

	for (struct client *cl = c->clients; cl; cl = cl->next)
		if (!cl->closing && cl->writes_pending == 0 && now - cl->last_ms > CONTROL_IDLE_MS)
			client_close(cl);
}

void control_close(struct control *c, void (*cb)(void *arg), void *arg)
{
	if (!c)
		return;
	c->close_cb = cb;
	c->close_arg = arg;
	unlink(c->path);
	for (struct client *cl = c->clients; cl; cl = cl->next)
		client_close(cl);
	uv_close((uv_handle_t *)&c->listener, on_listener_closed);
}
