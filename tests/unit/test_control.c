/*
 * Tests for the node's control socket (daemon/node/control.c): the answer
 * to each kind of request, and a real client on a real loop getting its
 * answer line, including one that sends far too much. Loop tests end with
 * uv_loop_close() == 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "node/control.h"

static const char definition[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": ["
    "    {\"id\": 17, \"registered\": 1500}, {\"id\": 18, \"registered\": 900}]}]}";

static char tmp[64], sock_path[96];
static struct tally_election *election;
static struct tally_signing_key key;
static struct outbox *ob;
static struct intake in;
static struct problems problems;
static struct control_config cfg;
static uv_loop_t loop;
static int queued_calls;
static int64_t resend_first = -1;

static int fake_status(void *arg, json_t **ret)
{
	*ret = json_pack("{s:s}", "state", "testing");
	return 0;
}

static void on_queued(void *arg)
{
	queued_calls++;
}

static void on_resend(void *arg, int64_t first_id)
{
	resend_first = first_id;
}

static void setup(void)
{
	struct tally_err err = {{0}};
	char tmpl[] = "/tmp/tally-control-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(tmp, sizeof(tmp), "%s", tmpl);
	snprintf(sock_path, sizeof(sock_path), "%s/control.sock", tmp);
	cr_assert_eq(tally_sign_init(), 0);
	cr_assert_eq(tally_election_parse(definition, strlen(definition), &election, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(tally_sign_generate(&key), 0);
	cr_assert_eq(outbox_open(tmp, &ob, &err), 0, "%s", err.msg);
	in = (struct intake){election, "KZ-71", &key, ob};
	memset(&problems, 0, sizeof(problems));
	cfg = (struct control_config){sock_path, &in,       &problems, fake_status,
	                              on_queued, on_resend, NULL};
	resend_first = -1;
	queued_calls = 0;
	cr_assert_eq(uv_loop_init(&loop), 0);
}

static void teardown(void)
{
	char cmd[128];

	cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
	ob = outbox_close(ob);
	election = tally_election_free(election);
	tally_sign_key_wipe(&key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 30);

static json_t *ask(const char *line)
{
	json_t *a = control_answer(&cfg, line, strlen(line));

	cr_assert_not_null(a);
	return a;
}

static void assert_error(const char *line, const char *want)
{
	json_t *a = ask(line);

	cr_assert(json_is_false(json_object_get(a, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(a, "error")), want);
	json_decref(a);
}

Test(control, bad_requests_get_errors)
{
	assert_error("not json", "request is not JSON: '[' or '{' expected near 'not'");
	assert_error("[]", "request needs an \"op\"");
	assert_error("{\"op\": 5}", "request needs an \"op\"");
	assert_error("{\"op\": \"reboot\"}", "unknown op 'reboot' (known: submit, status, resend)");
	assert_error("{\"op\": \"resend\"}",
	             "resend needs \"since_ms\": milliseconds since 1970 (0 for all)");
	assert_error("{\"op\": \"resend\", \"since_ms\": -1}",
	             "resend needs \"since_ms\": milliseconds since 1970 (0 for all)");
	assert_error("{\"op\": \"submit\", \"name\": \"x.csv\"}",
	             "submit needs \"name\" and \"data\" strings");
	assert_error("{\"op\": \"submit\", \"name\": \"../x.csv\", \"data\": \"\"}",
	             "'../x.csv' is not a plain file name");
	assert_error("{\"op\": \"submit\", \"name\": \"x.txt\", \"data\": \"\"}",
	             "'x.txt': the name must end in .json or .csv");
}

Test(control, submit_answers_each_protocol)
{
	json_t *a = ask("{\"op\": \"submit\", \"name\": \"north.csv\", \"data\": "
	                "\"precinct_id,revision,voters_registered,ballots_received,"
	                "ballots_issued,ballots_cancelled,ballots_cast,ballots_invalid,yes,no\\n"
	                "17,1,1500,1400,1200,200,1180,15,900,265\\n"
	                "18,1,900,800,700,100,690,0,400,290\\n\"}");
	json_t *p;

	cr_assert(json_is_true(json_object_get(a, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(a, "fate")), "queued");
	p = json_object_get(a, "protocols");
	cr_assert_eq(json_array_size(p), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(p, 0), "precinct_id")), 17);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(p, 0), "line")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 1), "state")),
	                 "queued");
	/* An election of one contest answers as before contests existed. */
	cr_assert_null(json_object_get(json_array_get(p, 0), "contest_id"));
	cr_assert_eq(json_object_size(json_array_get(p, 0)), 5);
	cr_assert_eq(json_array_size(json_object_get(a, "errors")), 0);
	cr_assert_eq(queued_calls, 1);
	json_decref(a);
}

Test(control, submit_in_a_general_election_names_each_contest)
{
	static const char general[] =
	    "{\"election_id\": \"kz-2027\", \"title\": \"General election\","
	    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": [[1, 900]]}],"
	    " \"contests\": ["
	    "  {\"id\": \"party-list\", \"kind\": \"party_list\", \"seats\": 9,"
	    "   \"options\": [{\"id\": \"a\"}, {\"id\": \"b\"}], \"rules\": {\"method\": "
	    "\"hare\"}},"
	    "  {\"id\": \"referendum\", \"kind\": \"referendum\","
	    "   \"options\": [{\"id\": \"yes\"}, {\"id\": \"no\"}]}]}";
	struct tally_err err = {{0}};
	struct tally_election *e = NULL;
	struct intake gin;
	json_t *a, *p, *errs;

	cr_assert_eq(tally_election_parse(general, strlen(general), &e, &err), 0, "%s", err.msg);
	gin = (struct intake){e, "KZ-71", &key, ob};
	cfg.intake = &gin;
	a = ask("{\"op\": \"submit\", \"name\": \"p1.csv\", \"data\": "
	        "\"precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	        "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,a,b,yes,no\\n"
	        "1,1,900,800,700,100,690,10,party-list,400,280,,\\n"
	        "1,1,900,800,700,100,695,5,referendum,,,500,190\\n\"}");
	cr_assert_str_eq(json_string_value(json_object_get(a, "fate")), "queued");
	p = json_object_get(a, "protocols");
	cr_assert_eq(json_array_size(p), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 0), "contest_id")),
	                 "party-list");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 1), "contest_id")),
	                 "referendum");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(p, 1), "line")), 3);
	json_decref(a);

	/* The same file again: the contests still named. */
	a = ask("{\"op\": \"submit\", \"name\": \"p1-again.csv\", \"data\": "
	        "\"precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	        "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,a,b,yes,no\\n"
	        "1,1,900,800,700,100,690,10,party-list,400,280,,\\n"
	        "1,1,900,800,700,100,695,5,referendum,,,500,190\\n\"}");
	cr_assert_str_eq(json_string_value(json_object_get(a, "fate")), "already queued");
	p = json_object_get(a, "protocols");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 1), "contest_id")),
	                 "referendum");
	json_decref(a);

	/* An error names the contest the protocol named. */
	a = ask("{\"op\": \"submit\", \"name\": \"p1.json\", \"data\": "
	        "\"{\\\"precinct_id\\\": 1, \\\"contest_id\\\": \\\"party-list\\\", "
	        "\\\"revision\\\": 0}\"}");
	cr_assert_str_eq(json_string_value(json_object_get(a, "fate")), "rejected");
	errs = json_object_get(a, "errors");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(errs, 0), "contest_id")),
	                 "party-list");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(errs, 0), "text")),
	                 "line 1: precinct 1 contest party-list: voters_registered: missing");
	json_decref(a);
	tally_election_free(e);
}

Test(control, rejected_submit_lists_errors_and_queues_nothing)
{
	json_t *a = ask("{\"op\": \"submit\", \"name\": \"p17.json\", \"data\": "
	                "\"{\\\"precinct_id\\\": 17, \\\"revision\\\": 1}\"}");
	json_t *errs, *e0;
	struct outbox_stats st;

	cr_assert(json_is_true(json_object_get(a, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(a, "fate")), "rejected");
	errs = json_object_get(a, "errors");
	cr_assert_eq(json_array_size(errs), 7);
	e0 = json_array_get(errs, 0);
	cr_assert_str_eq(json_string_value(json_object_get(e0, "text")),
	                 "line 1: precinct 17: voters_registered: missing");
	cr_assert_eq(json_integer_value(json_object_get(e0, "precinct_id")), 17);
	cr_assert_str_eq(json_string_value(json_object_get(e0, "where")), "voters_registered");
	cr_assert_eq(queued_calls, 0);
	cr_assert_eq(outbox_stats(ob, &st), 0);
	cr_assert_eq(st.queued, 0);
	cr_assert_eq(problems.n, 1);
	json_decref(a);
}

Test(control, resend_requeues_deliveries_and_tells_the_sender)
{
	json_t *a = ask("{\"op\": \"submit\", \"name\": \"north.csv\", \"data\": "
	                "\"precinct_id,revision,voters_registered,ballots_received,"
	                "ballots_issued,ballots_cancelled,ballots_cast,ballots_invalid,yes,no\\n"
	                "17,1,1500,1400,1200,200,1180,15,900,265\\n"
	                "18,1,900,800,700,100,690,0,400,290\\n\"}");
	json_t *p = json_object_get(a, "protocols");
	int64_t id0 = json_integer_value(json_object_get(json_array_get(p, 0), "id"));
	int64_t id1 = json_integer_value(json_object_get(json_array_get(p, 1), "id"));
	json_decref(a);

	/* Nothing delivered yet: nothing to resend, the sender is not bothered. */
	a = ask("{\"op\": \"resend\", \"since_ms\": 0}");
	cr_assert(json_is_true(json_object_get(a, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(a, "requeued")), 0);
	cr_assert_eq(resend_first, -1);
	json_decref(a);

	cr_assert_eq(outbox_mark_delivered(ob, id0, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	cr_assert_eq(outbox_mark_delivered(ob, id1, TALLY_OUTCOME_ACCEPTED, NULL), 0);
	a = ask("{\"op\": \"resend\", \"since_ms\": 0}");
	cr_assert(json_is_true(json_object_get(a, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(a, "requeued")), 2);
	cr_assert_eq(resend_first, id0);
	json_decref(a);

	/* A time after both deliveries: none. */
	cr_assert_eq(outbox_mark_delivered(ob, id0, TALLY_OUTCOME_DUPLICATE, NULL), 0);
	a = ask("{\"op\": \"resend\", \"since_ms\": 99999999999999}");
	cr_assert_eq(json_integer_value(json_object_get(a, "requeued")), 0);
	json_decref(a);
}

Test(control, status_comes_from_the_callback)
{
	json_t *a = ask("{\"op\": \"status\"}");

	cr_assert(json_is_true(json_object_get(a, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "status"), "state")),
	                 "testing");
	json_decref(a);
}

/* ---- a real client on the loop */

struct client {
	uv_pipe_t pipe;
	uv_connect_t conn;
	uv_write_t wr;
	char *request;
	size_t request_len;
	char answer[4096];
	size_t answer_len;
	bool closed_by_server;
};

static void on_client_closed(uv_handle_t *h)
{
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct client *c = h->data;

	*buf = uv_buf_init(c->answer + c->answer_len,
	                   (unsigned)(sizeof(c->answer) - 1 - c->answer_len));
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = s->data;

	if (n < 0) {
		c->closed_by_server = n == UV_EOF || n == UV_ECONNRESET;
		uv_close((uv_handle_t *)&c->pipe, on_client_closed);
		return;
	}
	c->answer_len += (size_t)n;
	c->answer[c->answer_len] = '\0';
	if (memchr(c->answer, '\n', c->answer_len) && c->request_len < 1000)
		uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_client_wrote(uv_write_t *req, int st)
{
}

static void on_client_connected(uv_connect_t *req, int st)
{
	struct client *c = req->data;
	uv_buf_t b = uv_buf_init(c->request, (unsigned)c->request_len);

	cr_assert_eq(st, 0);
	uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_client_wrote);
	uv_read_start((uv_stream_t *)&c->pipe, on_client_alloc, on_client_read);
}

static void converse(struct client *c)
{
	uv_pipe_init(&loop, &c->pipe, 0);
	c->pipe.data = c;
	c->conn.data = c;
	uv_pipe_connect(&c->conn, &c->pipe, sock_path, on_client_connected);
	while (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_run(&loop, UV_RUN_ONCE);
}

static struct control *start(void)
{
	struct tally_err err = {{0}};
	struct control *ctl = NULL;
	struct stat st;

	cr_assert_eq(control_init(&loop, &cfg, &ctl, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(sock_path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0660);
	return ctl;
}

static void stop(struct control *ctl)
{
	control_close(ctl, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_neq(access(sock_path, F_OK), 0, "socket file left behind");
}

Test(control, a_client_gets_one_answer_line)
{
	struct control *ctl = start();
	struct client c = {.request = "{\"op\":\"status\"}\n"};

	c.request_len = strlen(c.request);
	converse(&c);
	cr_assert_str_eq(c.answer, "{\"ok\":true,\"status\":{\"state\":\"testing\"}}\n");
	stop(ctl);
}

Test(control, an_oversized_request_is_refused_and_the_node_goes_on)
{
	struct control *ctl = start();
	struct client big = {0}, after = {.request = "{\"op\":\"status\"}\n"};

	big.request_len = CONTROL_MAX_REQUEST + 70000;
	big.request = malloc(big.request_len);
	memset(big.request, 'x', big.request_len);
	converse(&big);
	cr_assert_str_eq(big.answer, "{\"ok\":false,\"error\":\"request longer than 10485760 "
	                             "bytes\"}\n");
	cr_assert(big.closed_by_server);
	free(big.request);

	after.request_len = strlen(after.request);
	converse(&after);
	cr_assert_str_eq(after.answer, "{\"ok\":true,\"status\":{\"state\":\"testing\"}}\n");
	stop(ctl);
}

Test(control, a_stale_socket_is_replaced_but_a_file_is_not)
{
	struct tally_err err = {{0}};
	struct control *ctl = start();
	FILE *f;

	/* A node that died leaves its socket file, with nobody listening. */
	stop(ctl);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	ctl = start();
	stop(ctl);

	f = fopen(sock_path, "w");
	fclose(f);
	cr_assert_eq(control_init(&loop, &cfg, &ctl, &err), -EEXIST);
	cr_assert_not_null(strstr(err.msg, "exists and is not a socket"), "%s", err.msg);
}
