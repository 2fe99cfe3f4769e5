/*
 * test_conf.c: the INI loader against real files in a temp folder: good
 * configs and their typed values, a table of bad ones with the exact message
 * an operator would read, path resolution, systemd credentials, defaults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tally/conf.h"

struct tconf {
	char *id;
	char *state_dir;
	char *key;
	uint32_t max_frame;
	bool verbose;
	struct tally_endpoint listen;
	struct tally_endpoints upstream;
};

static const struct tally_conf_key keys[] = {
    {"aggregator", "id", TALLY_CONF_STRING, offsetof(struct tconf, id), true, NULL, 0, 0},
    {"aggregator", "state_dir", TALLY_CONF_PATH, offsetof(struct tconf, state_dir), false, "state",
     0, 0},
    {"aggregator", "listen", TALLY_CONF_ENDPOINT, offsetof(struct tconf, listen), true, NULL, 0, 0},
    {"aggregator", "max_frame_bytes", TALLY_CONF_U32, offsetof(struct tconf, max_frame), false,
     "65536", 16, 16777216},
    {"aggregator", "verbose", TALLY_CONF_BOOL, offsetof(struct tconf, verbose), false, "no", 0, 0},
    {"node", "aggregators", TALLY_CONF_ENDPOINTS, offsetof(struct tconf, upstream), false, NULL, 0,
     0},
    {"tls", "key", TALLY_CONF_CREDENTIAL, offsetof(struct tconf, key), false, "tls.key", 0, 0},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static char tmp[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup(void)
{
	strcpy(tmp, "/tmp/tally-conf-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(void)
{
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "open %s", path);
	fputs(text, f);
	fclose(f);
}

/* Writes text to TMP/name and loads it; ret_path receives the file's path. */
static int load(const char *name, const char *text, struct tconf *c, struct tally_err *err,
                char ret_path[PATH_MAX])
{
	snprintf(ret_path, PATH_MAX, "%s/%s", tmp, name);
	write_file(ret_path, text);
	memset(c, 0x5a, sizeof(*c)); /* the loader must not trust what was there */
	memset(err, 0, sizeof(*err));
	return tally_conf_load(ret_path, keys, N_KEYS, c, err);
}

TestSuite(conf, .init = setup, .fini = teardown);

Test(conf, minimal_config_gets_defaults)
{
	struct tconf c;
	struct tally_err err;
	char path[PATH_MAX], want[PATH_MAX + 32];

	cr_assert_eq(load("a.conf", "[aggregator]\nid = central-1\nlisten = 127.0.0.1:7443\n", &c,
	                  &err, path),
	             0, "%s", err.msg);
	cr_assert_str_eq(c.id, "central-1");
	cr_assert_str_eq(c.listen.host, "127.0.0.1");
	cr_assert_eq(c.listen.port, 7443);
	snprintf(want, sizeof(want), "%s/state", tmp);
	cr_assert_str_eq(c.state_dir, want);
	snprintf(want, sizeof(want), "%s/tls.key", tmp);
	cr_assert_str_eq(c.key, want);
	cr_assert_eq(c.max_frame, 65536);
	cr_assert_eq(c.verbose, false);
	cr_assert_eq(c.upstream.n, 0);
	tally_conf_free(keys, N_KEYS, &c);
	cr_assert_null(c.id);
	cr_assert_null(c.state_dir);
	cr_assert_null(c.key);
}

Test(conf, full_config_with_comments_indentation_and_lists)
{
	struct tconf c;
	struct tally_err err;
	char path[PATH_MAX], want[PATH_MAX + 32];
	const char *text = "; the central aggregator\n"
	                   "# another comment style\n"
	                   "\n"
	                   "[aggregator]\n"
	                   "  id=central-1\n"
	                   "\tlisten = [::1]:7443   ; loopback only\n"
	                   "state_dir = /var/lib/tally\n"
	                   "max_frame_bytes = 16777216\n"
	                   "verbose = YES\n"
	                   "[node]\n"
	                   "aggregators = a.example.kz:7443,[2001:db8::1]:1 ,  10.0.0.1:65535\n"
	                   "[tls]\n"
	                   "key = keys/node.key\r\n";

	cr_assert_eq(load("full.conf", text, &c, &err, path), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, "central-1");
	cr_assert_str_eq(c.listen.host, "::1");
	cr_assert_eq(c.listen.port, 7443);
	cr_assert_str_eq(c.state_dir, "/var/lib/tally");
	cr_assert_eq(c.max_frame, 16777216);
	cr_assert_eq(c.verbose, true);
	cr_assert_eq(c.upstream.n, 3);
	cr_assert_str_eq(c.upstream.e[0].host, "a.example.kz");
	cr_assert_eq(c.upstream.e[0].port, 7443);
	cr_assert_str_eq(c.upstream.e[1].host, "2001:db8::1");
	cr_assert_eq(c.upstream.e[1].port, 1);
	cr_assert_str_eq(c.upstream.e[2].host, "10.0.0.1");
	cr_assert_eq(c.upstream.e[2].port, 65535);
	snprintf(want, sizeof(want), "%s/keys/node.key", tmp);
	cr_assert_str_eq(c.key, want);
	tally_conf_free(keys, N_KEYS, &c);
}

Test(conf, relative_config_path_resolves_against_its_absolute_folder)
{
	struct tconf c;
	struct tally_err err;
	char path[PATH_MAX], sub[PATH_MAX + 8], want[PATH_MAX + 32];

	snprintf(sub, sizeof(sub), "%s/etc", tmp);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/etc/x.conf", tmp);
	write_file(path, "[aggregator]\nid = c\nlisten = h:1\nstate_dir = ../var/state\n");
	cr_assert_eq(chdir(tmp), 0);
	cr_assert_eq(tally_conf_load("etc/x.conf", keys, N_KEYS, &c, &err), 0, "%s", err.msg);
	snprintf(want, sizeof(want), "%s/etc/../var/state", tmp);
	cr_assert_str_eq(c.state_dir, want);
	tally_conf_free(keys, N_KEYS, &c);

	/* A bare file name: its folder is the current one. */
	cr_assert_eq(chdir(sub), 0);
	cr_assert_eq(tally_conf_load("x.conf", keys, N_KEYS, &c, &err), 0, "%s", err.msg);
	snprintf(want, sizeof(want), "%s/etc/tls.key", tmp);
	cr_assert_str_eq(c.key, want);
	tally_conf_free(keys, N_KEYS, &c);
}

Test(conf, credentials_directory_is_searched_by_base_name_first)
{
	struct tconf c;
	struct tally_err err;
	char path[PATH_MAX], creds[PATH_MAX + 8], want[PATH_MAX + 32];

	snprintf(creds, sizeof(creds), "%s/creds", tmp);
	cr_assert_eq(mkdir(creds, 0700), 0);
	snprintf(want, sizeof(want), "%s/node.key", creds);
	write_file(want, "secret");
	setenv("CREDENTIALS_DIRECTORY", creds, 1);

	cr_assert_eq(load("c.conf",
	                  "[aggregator]\nid=c\nlisten=h:1\n[tls]\nkey = /etc/tally/node.key\n", &c,
	                  &err, path),
	             0, "%s", err.msg);
	cr_assert_str_eq(c.key, want);
	tally_conf_free(keys, N_KEYS, &c);

	/* Not among the credentials: the plain path, relative to the config. */
	cr_assert_eq(load("c.conf", "[aggregator]\nid=c\nlisten=h:1\n[tls]\nkey = keys/other.key\n",
	                  &c, &err, path),
	             0, "%s", err.msg);
	snprintf(want, sizeof(want), "%s/keys/other.key", tmp);
	cr_assert_str_eq(c.key, want);
	tally_conf_free(keys, N_KEYS, &c);

	/* Defaults go through the same lookup. */
	snprintf(want, sizeof(want), "%s/tls.key", creds);
	write_file(want, "secret");
	cr_assert_eq(load("c.conf", "[aggregator]\nid=c\nlisten=h:1\n", &c, &err, path), 0, "%s",
	             err.msg);
	cr_assert_str_eq(c.key, want);
	tally_conf_free(keys, N_KEYS, &c);
	unsetenv("CREDENTIALS_DIRECTORY");
}

struct bad_case {
	const char *text;
	int code;
	const char *msg; /* after "PATH" */
};

#define HEAD    "[aggregator]\nid = c\n"
#define EP_FORM "expected host:port or [ipv6]:port with port 1-65535"
#define LIST_FORM                                                                                  \
	"expected a comma-separated list of 1 to 8 host:port or [ipv6]:port with port 1-65535"

static const struct bad_case bad_cases[] = {
    {HEAD "listen = 127.0.0.1:0\n", -EINVAL, ":3: [aggregator] listen = '127.0.0.1:0': " EP_FORM},
    {HEAD "listen = 127.0.0.1:65536\n", -EINVAL,
     ":3: [aggregator] listen = '127.0.0.1:65536': " EP_FORM},
    {HEAD "listen = localhost:12a\n", -EINVAL,
     ":3: [aggregator] listen = 'localhost:12a': " EP_FORM},
    {HEAD "listen = localhost:\n", -EINVAL, ":3: [aggregator] listen = 'localhost:': " EP_FORM},
    {HEAD "listen = :7443\n", -EINVAL, ":3: [aggregator] listen = ':7443': " EP_FORM},
    {HEAD "listen = localhost\n", -EINVAL, ":3: [aggregator] listen = 'localhost': " EP_FORM},
    {HEAD "listen = ::1:7443\n", -EINVAL, ":3: [aggregator] listen = '::1:7443': " EP_FORM},
    {HEAD "listen = [::1]7443\n", -EINVAL, ":3: [aggregator] listen = '[::1]7443': " EP_FORM},
    {HEAD "listen = [not-v6]:7443\n", -EINVAL,
     ":3: [aggregator] listen = '[not-v6]:7443': " EP_FORM},
    {HEAD "listen = []:7443\n", -EINVAL, ":3: [aggregator] listen = '[]:7443': " EP_FORM},
    {HEAD "listen = bad host:7443\n", -EINVAL,
     ":3: [aggregator] listen = 'bad host:7443': " EP_FORM},
    {HEAD "listen = h:1\nmax_frame_bytes = 15\n", -EINVAL,
     ":4: [aggregator] max_frame_bytes = '15': expected an integer from 16 to 16777216"},
    {HEAD "listen = h:1\nmax_frame_bytes = 16777217\n", -EINVAL,
     ":4: [aggregator] max_frame_bytes = '16777217': expected an integer from 16 to 16777216"},
    {HEAD "listen = h:1\nmax_frame_bytes = -1\n", -EINVAL,
     ":4: [aggregator] max_frame_bytes = '-1': expected an integer from 16 to 16777216"},
    {HEAD "listen = h:1\nmax_frame_bytes = 64k\n", -EINVAL,
     ":4: [aggregator] max_frame_bytes = '64k': expected an integer from 16 to 16777216"},
    {HEAD "listen = h:1\nmax_frame_bytes = 99999999999999999999\n", -EINVAL,
     ":4: [aggregator] max_frame_bytes = '99999999999999999999': expected an integer from 16 to "
     "16777216"},
    {HEAD "listen = h:1\nverbose = maybe\n", -EINVAL,
     ":4: [aggregator] verbose = 'maybe': expected true, false, yes, no, 1 or 0"},
    {"[aggregator]\nid =\nlisten = h:1\n", -EINVAL,
     ":2: [aggregator] id = '': expected a non-empty string"},
    {HEAD "listen = h:1\nstate_dir =\n", -EINVAL,
     ":4: [aggregator] state_dir = '': expected a file or folder path"},
    {HEAD "listen = h:1\n[tls]\nkey = keys/\n", -EINVAL,
     ":5: [tls] key = 'keys/': expected a file path"},
    {HEAD "listen = h:1\n[node]\naggregators = a:1,,b:2\n", -EINVAL,
     ":5: [node] aggregators = 'a:1,,b:2': " LIST_FORM},
    {HEAD "listen = h:1\n[node]\naggregators = a:1,\n", -EINVAL,
     ":5: [node] aggregators = 'a:1,': " LIST_FORM},
    {HEAD "listen = h:1\n[node]\naggregators = a:1, b:0\n", -EINVAL,
     ":5: [node] aggregators = 'a:1, b:0': " LIST_FORM},
    {HEAD "listen = h:1\n[node]\naggregators = a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9\n", -EINVAL,
     ":5: [node] aggregators = 'a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9': " LIST_FORM},
    {HEAD "listen = h:1\ncolour = red\n", -EINVAL, ":4: unknown key [aggregator] colour"},
    {"[agregator]\nid = c\n", -EINVAL, ":2: unknown key [agregator] id"},
    {"\nid = c\n[aggregator]\n", -EINVAL, ":2: key 'id' outside of any [section]"},
    {HEAD "listen = h:1\nid = d\n", -EINVAL,
     ":4: duplicate key [aggregator] id (first set on line 2)"},
    {HEAD "  listen = h:1\n    listen = h:2\n", -EINVAL,
     ":4: duplicate key [aggregator] listen (first set on line 3)"},
    {HEAD "\n", -EINVAL, ": missing required key [aggregator] listen"},
    {"", -EINVAL, ": missing required key [aggregator] id"},
    {"[aggregator\nid = c\n", -EINVAL, ":1: syntax error: expected '[section]' or 'key = value'"},
    {HEAD "listen = h:1\njust some words\n", -EINVAL,
     ":4: syntax error: expected '[section]' or 'key = value'"},
};

Test(conf, bad_configs_are_refused_with_file_line_key_and_form)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct tconf c;
		struct tally_err err;
		char path[PATH_MAX], want[PATH_MAX + TALLY_ERR_MAX];
		int r = load("bad.conf", bc->text, &c, &err, path);

		snprintf(want, sizeof(want), "%s%s", path, bc->msg);
		cr_expect_eq(r, bc->code, "case %zu: rc %d", i, r);
		cr_expect_str_eq(err.msg, want, "case %zu", i);
		tally_conf_free(keys, N_KEYS, &c);
	}
}

Test(conf, overlong_line_is_refused_with_its_line)
{
	struct tconf c;
	struct tally_err err;
	char path[PATH_MAX], want[PATH_MAX + 64];
	size_t n = 5000;
	char *text = malloc(n + 64);

	strcpy(text, HEAD "state_dir = ");
	size_t off = strlen(text);
	memset(text + off, 'a', n);
	strcpy(text + off + n, "\nlisten = h:1\n");
	cr_assert_eq(load("long.conf", text, &c, &err, path), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: line longer than 4094 characters", path);
	cr_assert_str_eq(err.msg, want);
	tally_conf_free(keys, N_KEYS, &c);
	free(text);
}

Test(conf, missing_file_is_enoent_and_named)
{
	struct tconf c;
	struct tally_err err;
	char path[PATH_MAX], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/nope.conf", tmp);
	cr_assert_eq(tally_conf_load(path, keys, N_KEYS, &c, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	cr_assert_str_eq(err.msg, want);
	tally_conf_free(keys, N_KEYS, &c);
}

Test(conf, bad_default_is_reported_as_a_default)
{
	struct {
		uint32_t n;
	} o;
	const struct tally_conf_key k[] = {
	    {"s", "n", TALLY_CONF_U32, 0, false, "lots", 1, 10},
	};
	struct tally_err err;
	char path[PATH_MAX], want[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/d.conf", tmp);
	write_file(path, "[s]\n");
	cr_assert_eq(tally_conf_load(path, k, 1, &o, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s: default [s] n = 'lots': expected an integer from 1 to 10",
	         path);
	cr_assert_str_eq(err.msg, want);

	write_file(path, "[s]\nn = 10\n");
	cr_assert_eq(tally_conf_load(path, k, 1, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(o.n, 10);
}

Test(conf, bool_forms)
{
	static const struct {
		const char *s;
		int r;
		bool v;
	} t[] = {
	    {"true", 0, true}, {"TRUE", 0, true},    {"yes", 0, true},    {"Yes", 0, true},
	    {"1", 0, true},    {"false", 0, false},  {"False", 0, false}, {"no", 0, false},
	    {"NO", 0, false},  {"0", 0, false},      {"", -EINVAL, 0},    {"on", -EINVAL, 0},
	    {"2", -EINVAL, 0}, {"yes ", -EINVAL, 0}, {"y", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool v = !t[i].v;
		cr_expect_eq(tally_conf_parse_bool(t[i].s, &v), t[i].r, "'%s'", t[i].s);
		if (t[i].r == 0)
			cr_expect_eq(v, t[i].v, "'%s'", t[i].s);
	}
}

Test(conf, u32_bounds_and_forms)
{
	uint32_t v = 7;

	cr_assert_eq(tally_conf_parse_u32("0", 0, 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(tally_conf_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	cr_assert_eq(v, 4294967295u);
	cr_assert_eq(tally_conf_parse_u32("4294967296", 0, UINT32_MAX, &v), -EINVAL);
	cr_assert_eq(tally_conf_parse_u32("007", 0, 10, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(tally_conf_parse_u32("11", 0, 10, &v), -EINVAL);
	cr_assert_eq(tally_conf_parse_u32("+1", 0, 10, &v), -EINVAL);
	cr_assert_eq(tally_conf_parse_u32(" 1", 0, 10, &v), -EINVAL);
	cr_assert_eq(tally_conf_parse_u32("0x1", 0, 10, &v), -EINVAL);
	cr_assert_eq(tally_conf_parse_u32("", 0, 10, &v), -EINVAL);
	cr_assert_eq(v, 7);
}

Test(conf, endpoint_forms)
{
	static const struct {
		const char *s;
		const char *host;
		int port; /* 0: refused */
	} t[] = {
	    {"[::1]:7443", "::1", 7443},
	    {"127.0.0.1:1", "127.0.0.1", 1},
	    {"localhost:65535", "localhost", 65535},
	    {"agg-1.tally.example.kz:8443", "agg-1.tally.example.kz", 8443},
	    {"[fe80::1:2:3]:443", "fe80::1:2:3", 443},
	    {"[::ffff:10.0.0.1]:10", "::ffff:10.0.0.1", 10},
	    {"localhost:0", NULL, 0},
	    {"localhost:65536", NULL, 0},
	    {"localhost:099999", NULL, 0},
	    {"localhost:-1", NULL, 0},
	    {"localhost: 1", NULL, 0},
	    {"::1", NULL, 0},
	    {"[::1]", NULL, 0},
	    {"[::1]:", NULL, 0},
	    {"[::1:7443", NULL, 0},
	    {"[127.0.0.1]:7443", NULL, 0},
	    {"a:b:1", NULL, 0},
	    {"", NULL, 0},
	    {":", NULL, 0},
	    {"host/x:1", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tally_endpoint ep;
		memset(&ep, 0x5a, sizeof(ep));
		int r = tally_conf_parse_endpoint(t[i].s, &ep);
		if (t[i].port == 0) {
			cr_expect_eq(r, -EINVAL, "'%s' accepted", t[i].s);
			continue;
		}
		cr_expect_eq(r, 0, "'%s' refused", t[i].s);
		if (r == 0) {
			cr_expect_str_eq(ep.host, t[i].host);
			cr_expect_eq(ep.port, t[i].port, "'%s'", t[i].s);
		}
	}
}

Test(conf, endpoint_host_length_is_capped)
{
	char s[TALLY_HOST_MAX + 16];
	struct tally_endpoint ep;

	memset(s, 'a', TALLY_HOST_MAX - 1);
	strcpy(s + TALLY_HOST_MAX - 1, ":1");
	cr_assert_eq(tally_conf_parse_endpoint(s, &ep), 0);
	cr_assert_eq(strlen(ep.host), TALLY_HOST_MAX - 1);
	memset(s, 'a', TALLY_HOST_MAX);
	strcpy(s + TALLY_HOST_MAX, ":1");
	cr_assert_eq(tally_conf_parse_endpoint(s, &ep), -EINVAL);
}

Test(conf, endpoint_lists)
{
	struct tally_endpoints l;

	cr_assert_eq(tally_conf_parse_endpoints("a:1", &l), 0);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(tally_conf_parse_endpoints(" a:1 ,\t[::1]:2,b:3 ", &l), 0);
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.e[0].host, "a");
	cr_assert_eq(l.e[0].port, 1);
	cr_assert_str_eq(l.e[1].host, "::1");
	cr_assert_eq(l.e[1].port, 2);
	cr_assert_str_eq(l.e[2].host, "b");
	cr_assert_eq(l.e[2].port, 3);
	cr_assert_eq(tally_conf_parse_endpoints("a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8", &l), 0);
	cr_assert_eq(l.n, TALLY_MAX_ENDPOINTS);
	cr_assert_eq(l.e[7].port, 8);
	cr_assert_eq(tally_conf_parse_endpoints("a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9", &l),
	             -EINVAL);
	cr_assert_eq(tally_conf_parse_endpoints("", &l), -EINVAL);
	cr_assert_eq(tally_conf_parse_endpoints(" , ", &l), -EINVAL);
	cr_assert_eq(tally_conf_parse_endpoints(",a:1", &l), -EINVAL);
	cr_assert_eq(tally_conf_parse_endpoints("a:1 b:2", &l), -EINVAL);
	/* A refused list leaves the output untouched. */
	cr_assert_eq(l.n, TALLY_MAX_ENDPOINTS);
}
