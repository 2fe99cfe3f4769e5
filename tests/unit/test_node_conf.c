/*
 * Tests for the node's configuration keys (daemon/node/conf.c): a full
 * file gives exact values with paths resolved against its folder; missing,
 * unknown and malformed keys are refused with the file, line and key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "node/conf.h"

static char tmp[64], path[96];

static void setup(void)
{
	char tmpl[] = "/tmp/tally-nodeconf-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(tmp, sizeof(tmp), "%s", tmpl);
	snprintf(path, sizeof(path), "%s/node.ini", tmp);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(node_conf, .init = setup, .fini = teardown);

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

#define NODE_SECTION                                                                               \
	"[node]\n"                                                                                 \
	"id = node-KZ-71\n"                                                                        \
	"region = KZ-71\n"                                                                         \
	"election = election.json\n"                                                               \
	"state_dir = state\n"                                                                      \
	"spool_dir = /var/spool/tally\n"                                                           \
	"control_socket = control.sock\n"                                                          \
	"signing_key = sign.key\n"                                                                 \
	"aggregators = central-1:7443, [::1]:7444\n"
#define TLS_SECTION                                                                                \
	"[tls]\n"                                                                                  \
	"ca = ca.pem\n"                                                                            \
	"cert = node.pem\n"                                                                        \
	"key = node.key\n"

static char *in_tmp(const char *name)
{
	static char buf[4][160];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, name);
	return buf[k];
}

Test(node_conf, full_file_with_defaults)
{
	struct tally_err err = {{0}};
	struct node_conf c;

	write_conf(NODE_SECTION TLS_SECTION);
	cr_assert_eq(node_conf_load(path, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, "node-KZ-71");
	cr_assert_str_eq(c.region, "KZ-71");
	cr_assert_str_eq(c.election, in_tmp("election.json"));
	cr_assert_str_eq(c.state_dir, in_tmp("state"));
	cr_assert_str_eq(c.spool_dir, "/var/spool/tally");
	cr_assert_str_eq(c.control_socket, in_tmp("control.sock"));
	cr_assert_str_eq(c.signing_key, in_tmp("sign.key"));
	cr_assert_eq(c.aggregators.n, 2);
	cr_assert_str_eq(c.aggregators.e[0].host, "central-1");
	cr_assert_eq(c.aggregators.e[0].port, 7443);
	cr_assert_str_eq(c.aggregators.e[1].host, "::1");
	cr_assert_eq(c.aggregators.e[1].port, 7444);
	cr_assert_str_eq(c.log_level, "info");
	cr_assert_eq(c.window, 1024);
	cr_assert_str_eq(c.tls_ca, in_tmp("ca.pem"));
	cr_assert_str_eq(c.tls_cert, in_tmp("node.pem"));
	cr_assert_str_eq(c.tls_key, in_tmp("node.key"));
	cr_assert_null(c.server_name);
	cr_assert_eq(c.metrics_listen.port, 0, "no metrics unless asked for");
	node_conf_free(&c);
}

Test(node_conf, optional_keys)
{
	struct tally_err err = {{0}};
	struct node_conf c;

	write_conf(NODE_SECTION
	           "log_level = debug\nwindow = 8\nmetrics_listen = 127.0.0.1:9465\n" TLS_SECTION
	           "server_name = aggregator.example\n");
	cr_assert_eq(node_conf_load(path, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.metrics_listen.host, "127.0.0.1");
	cr_assert_eq(c.metrics_listen.port, 9465);
	cr_assert_str_eq(c.log_level, "debug");
	cr_assert_eq(c.window, 8);
	cr_assert_str_eq(c.server_name, "aggregator.example");
	node_conf_free(&c);
}

Test(node_conf, bad_values_are_refused_with_a_reason)
{
	struct tally_err err = {{0}};
	struct node_conf c;

	write_conf(NODE_SECTION "log_level = loud\n" TLS_SECTION);
	cr_assert_eq(node_conf_load(path, &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "log_level = 'loud'"), "%s", err.msg);
	node_conf_free(&c);

	write_conf(NODE_SECTION TLS_SECTION "pin = 1\n");
	cr_assert_eq(node_conf_load(path, &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "pin"), "%s", err.msg);
	node_conf_free(&c);

	write_conf(NODE_SECTION "window = 0\n" TLS_SECTION);
	cr_assert_eq(node_conf_load(path, &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "window"), "%s", err.msg);
	node_conf_free(&c);

	write_conf(NODE_SECTION "metrics_listen = 9465\n" TLS_SECTION);
	cr_assert_eq(node_conf_load(path, &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "[node] metrics_listen = '9465': expected host:port"),
	                   "%s", err.msg);
	node_conf_free(&c);

	/* No [tls] section at all: the first missing key is named. */
	write_conf(NODE_SECTION);
	cr_assert_eq(node_conf_load(path, &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "[tls]"), "%s", err.msg);
	node_conf_free(&c);
}

Test(node_conf, missing_file)
{
	struct tally_err err = {{0}};
	struct node_conf c;

	cr_assert_eq(node_conf_load(in_tmp("nope.ini"), &c, &err), -ENOENT);
	node_conf_free(&c);
}
