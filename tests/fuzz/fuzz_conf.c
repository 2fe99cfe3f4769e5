/*
 * fuzz_conf.c: the INI loader and its value parsers on arbitrary bytes.
 * conf.h reads from a path, so each input is written to a file in a private
 * tmpfs folder (which is also $CREDENTIALS_DIRECTORY). The key table uses
 * every value type. A refusal must carry a message; an accepted file must
 * leave every field within what its type promises (paths absolute, numbers
 * within bounds, endpoints with a host and a port); tally_conf_free() must
 * release everything either way (LeakSanitizer checks).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "tally/conf.h"

struct fuzz_conf {
	char *id;
	char *state_dir;
	char *key;
	uint32_t max_frame;
	bool verbose;
	struct tally_endpoint listen;
	struct tally_endpoints peers;
	char *title;
};

static const struct tally_conf_key keys[] = {
    {"main", "id", TALLY_CONF_STRING, offsetof(struct fuzz_conf, id), true, NULL, 0, 0},
    {"main", "state_dir", TALLY_CONF_PATH, offsetof(struct fuzz_conf, state_dir), false, "state", 0,
     0},
    {"tls", "key", TALLY_CONF_CREDENTIAL, offsetof(struct fuzz_conf, key), false, NULL, 0, 0},
    {"main", "max_frame", TALLY_CONF_U32, offsetof(struct fuzz_conf, max_frame), false, "65536", 16,
     1u << 24},
    {"main", "verbose", TALLY_CONF_BOOL, offsetof(struct fuzz_conf, verbose), false, "no", 0, 0},
    {"main", "listen", TALLY_CONF_ENDPOINT, offsetof(struct fuzz_conf, listen), false,
     "127.0.0.1:7443", 0, 0},
    {"main", "peers", TALLY_CONF_ENDPOINTS, offsetof(struct fuzz_conf, peers), false, NULL, 0, 0},
    {"other", "title", TALLY_CONF_STRING, offsetof(struct fuzz_conf, title), false, NULL, 0, 0},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static char dir[64];
static char path[96];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/tally-fuzz-XXXXXX"
	                                          : "/tmp/tally-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/f.conf", dir);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	return 0;
}

static void check_endpoint(const struct tally_endpoint *e)
{
	CHECK_STR(e->host, sizeof(e->host));
	CHECK(e->host[0] != '\0');
	CHECK(e->port != 0);
}

static void check_loaded(const struct fuzz_conf *c)
{
	CHECK(c->id != NULL && c->id[0] != '\0');
	CHECK(c->state_dir != NULL && c->state_dir[0] == '/');
	if (c->key != NULL)
		CHECK(c->key[0] == '/');
	CHECK(c->max_frame >= 16 && c->max_frame <= (1u << 24));
	check_endpoint(&c->listen);
	CHECK(c->peers.n <= TALLY_MAX_ENDPOINTS);
	for (size_t i = 0; i < c->peers.n; i++)
		check_endpoint(&c->peers.e[i]);
}

/* The standalone parsers on the input as one NUL-terminated string. */
static void fuzz_parsers(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct tally_endpoint ep;
	struct tally_endpoints eps;
	uint32_t u = 0;
	bool b = false;
	int r;

	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&ep, 0, sizeof(ep));
	r = tally_conf_parse_endpoint(s, &ep);
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0)
		check_endpoint(&ep);
	memset(&eps, 0, sizeof(eps));
	r = tally_conf_parse_endpoints(s, &eps);
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		CHECK(eps.n >= 1 && eps.n <= TALLY_MAX_ENDPOINTS);
		for (size_t i = 0; i < eps.n; i++)
			check_endpoint(&eps.e[i]);
	}
	r = tally_conf_parse_u32(s, 5, 70000, &u);
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0)
		CHECK(u >= 5 && u <= 70000);
	r = tally_conf_parse_bool(s, &b);
	CHECK(r == 0 || r == -EINVAL);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conf c;
	struct tally_err err;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);

	memset(&c, 0xA5, sizeof(c)); /* the loader must not trust what was there */
	memset(&err, 0, sizeof(err));
	r = tally_conf_load(path, keys, N_KEYS, &c, &err);
	if (r == 0) {
		check_loaded(&c);
	} else {
		CHECK(r == -EINVAL || r == -ENOMEM || r == -EIO || r == -ENOENT || r == -EACCES);
		CHECK_STR(err.msg, sizeof(err.msg));
		CHECK(err.msg[0] != '\0');
	}
	tally_conf_free(keys, N_KEYS, &c);

	fuzz_parsers(data, size);
	return 0;
}
