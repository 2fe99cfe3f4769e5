/*
 * conf.c: table-driven INI loading. It owns reading the file through libinih,
 * matching each "key = value" against the caller's key table, converting the
 * text into the typed field, resolving paths against the config file's
 * folder (and $CREDENTIALS_DIRECTORY for credentials), refusing duplicates,
 * unknown and missing keys, and applying defaults. Every message names the
 * file, the line, the key and the form that was expected, because an operator
 * reads it at 3 a.m. on election night. What the keys mean is the daemons'
 * business; nothing here logs.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tally/conf.h"

/*
 * Longest accepted line. Debian's libinih is built with run-time options and
 * sizes its line buffer from ini_max_line; the reader below refuses longer
 * lines itself rather than letting inih split them into two "lines".
 */
#define CONF_MAX_LINE 4096

struct loader {
	const char *path; /* the config file as the caller named it */
	char *dir;        /* its folder, absolute, for relative paths */
	const struct tally_conf_key *keys;
	size_t n_keys;
	void *obj;
	struct tally_err *err;
	int *seen_line; /* per key: the line that set it, 0 if not yet */

	FILE *f;
	char *buf; /* getline()'s buffer */
	size_t buf_cap;
	int lineno;     /* lines handed to inih so far */
	int rc;         /* first error, 0 if none */
	int error_line; /* line of the first error reported by us, not inih */
};

static const char *type_form(const struct tally_conf_key *k, char *buf, size_t cap)
{
	switch (k->type) {
	case TALLY_CONF_STRING:
		return "a non-empty string";
	case TALLY_CONF_PATH:
		return "a file or folder path";
	case TALLY_CONF_CREDENTIAL:
		return "a file path";
	case TALLY_CONF_U32:
		snprintf(buf, cap, "an integer from %" PRIu32 " to %" PRIu32, k->min, k->max);
		return buf;
	case TALLY_CONF_BOOL:
		return "true, false, yes, no, 1 or 0";
	case TALLY_CONF_ENDPOINT:
		return "host:port or [ipv6]:port with port 1-65535";
	case TALLY_CONF_ENDPOINTS:
		snprintf(buf, cap,
		         "a comma-separated list of 1 to %d host:port or [ipv6]:port with port "
		         "1-65535",
		         TALLY_MAX_ENDPOINTS);
		return buf;
	}
	return "a valid value";
}

int tally_conf_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;

	/* Digits only: strtoul would accept a sign, spaces and wrap-around. */
	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (v < min || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int tally_conf_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"true", "yes", "1"};
	static const char *const no[] = {"false", "no", "0"};

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_port(const char *s, size_t len, uint16_t *ret)
{
	uint32_t v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* A DNS name or an IPv4 address: letters, digits, '-', '.', '_'. */
static bool host_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= TALLY_HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
	}
	return true;
}

int tally_conf_parse_endpoint(const char *s, struct tally_endpoint *ret)
{
	struct tally_endpoint ep;
	const char *host, *colon;
	size_t host_len;
	unsigned char in6[16];

	if (s == NULL)
		return -EINVAL;
	memset(&ep, 0, sizeof(ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -EINVAL;
		host = s + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
		if (host_len == 0 || host_len >= TALLY_HOST_MAX)
			return -EINVAL;
		memcpy(ep.host, host, host_len);
		if (inet_pton(AF_INET6, ep.host, in6) != 1)
			return -EINVAL;
	} else {
		/* A bare IPv6 address is ambiguous with its port: require brackets. */
		colon = strchr(s, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return -EINVAL;
		host = s;
		host_len = (size_t)(colon - s);
		if (!host_name_ok(host, host_len))
			return -EINVAL;
		memcpy(ep.host, host, host_len);
	}
	if (parse_port(colon + 1, strlen(colon + 1), &ep.port) < 0)
		return -EINVAL;
	*ret = ep;
	return 0;
}

int tally_conf_parse_endpoints(const char *s, struct tally_endpoints *ret)
{
	struct tally_endpoints list;
	char item[TALLY_HOST_MAX + 16];
	const char *p = s;

	if (s == NULL)
		return -EINVAL;
	memset(&list, 0, sizeof(list));
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *a = p, *b = p + len;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		/* An empty item ("a:1,,b:2", a trailing comma) is a typo, not a skip. */
		if (a == b || (size_t)(b - a) >= sizeof(item))
			return -EINVAL;
		if (list.n == TALLY_MAX_ENDPOINTS)
			return -EINVAL;
		memcpy(item, a, (size_t)(b - a));
		item[b - a] = '\0';
		if (tally_conf_parse_endpoint(item, &list.e[list.n]) < 0)
			return -EINVAL;
		list.n++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	*ret = list;
	return 0;
}

static char *join_path(const char *dir, const char *name)
{
	char *out;

	if (name[0] == '/')
		return strdup(name);
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		return NULL;
	return out;
}

/*
 * systemd's LoadCredential=NAME:/path puts the file at
 * $CREDENTIALS_DIRECTORY/NAME; the config names the file the daemon would
 * read without systemd, so its base name is the credential's name.
 */
static int resolve_credential(const char *dir, const char *value, char **ret)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	const char *base = strrchr(value, '/');

	base = base ? base + 1 : value;
	if (creds != NULL && creds[0] != '\0' && base[0] != '\0') {
		char *cand;
		if (asprintf(&cand, "%s/%s", creds, base) < 0)
			return -ENOMEM;
		if (access(cand, F_OK) == 0) {
			*ret = cand;
			return 0;
		}
		free(cand);
	}
	*ret = join_path(dir, value);
	return *ret ? 0 : -ENOMEM;
}

static void *field(const struct loader *l, const struct tally_conf_key *k)
{
	return (char *)l->obj + k->offset;
}

/* Converts value into k's field. 0, -EINVAL (bad form), -ENOMEM. */
static int set_value(const struct loader *l, const struct tally_conf_key *k, const char *value)
{
	void *f = field(l, k);
	char *s = NULL;
	int r;

	switch (k->type) {
	case TALLY_CONF_STRING:
		if (value[0] == '\0')
			return -EINVAL;
		s = strdup(value);
		break;
	case TALLY_CONF_PATH:
		if (value[0] == '\0')
			return -EINVAL;
		s = join_path(l->dir, value);
		break;
	case TALLY_CONF_CREDENTIAL:
		if (value[0] == '\0' || value[strlen(value) - 1] == '/')
			return -EINVAL;
		r = resolve_credential(l->dir, value, &s);
		if (r < 0)
			return r;
		break;
	case TALLY_CONF_U32:
		return tally_conf_parse_u32(value, k->min, k->max, f);
	case TALLY_CONF_BOOL:
		return tally_conf_parse_bool(value, f);
	case TALLY_CONF_ENDPOINT:
		return tally_conf_parse_endpoint(value, f);
	case TALLY_CONF_ENDPOINTS:
		return tally_conf_parse_endpoints(value, f);
	}
	if (s == NULL)
		return -ENOMEM;
	*(char **)f = s;
	return 0;
}

static bool is_string_type(enum tally_conf_type t)
{
	return t == TALLY_CONF_STRING || t == TALLY_CONF_PATH || t == TALLY_CONF_CREDENTIAL;
}

static int fail_at(struct loader *l, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the first error only: later ones are usually its echo. */
static int fail_at(struct loader *l, int line, int code, const char *fmt, ...)
{
	char msg[TALLY_ERR_MAX];
	va_list ap;

	if (l->rc != 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->rc = code;
	l->error_line = line;
	if (line > 0)
		tally_err_set(l->err, code, "%s:%d: %s", l->path, line, msg);
	else
		tally_err_set(l->err, code, "%s: %s", l->path, msg);
	return code;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct loader *l = user;
	const struct tally_conf_key *k = NULL;
	size_t i;
	char form[160];
	int r;

	if (l->rc != 0)
		return 0;
	if (section[0] == '\0') {
		fail_at(l, l->lineno, -EINVAL, "key '%s' outside of any [section]", name);
		return 0;
	}
	for (i = 0; i < l->n_keys; i++) {
		if (strcmp(l->keys[i].section, section) == 0 &&
		    strcmp(l->keys[i].name, name) == 0) {
			k = &l->keys[i];
			break;
		}
	}
	if (k == NULL) {
		fail_at(l, l->lineno, -EINVAL, "unknown key [%s] %s", section, name);
		return 0;
	}
	if (l->seen_line[i] != 0) {
		fail_at(l, l->lineno, -EINVAL, "duplicate key [%s] %s (first set on line %d)",
		        section, name, l->seen_line[i]);
		return 0;
	}
	l->seen_line[i] = l->lineno;
	r = set_value(l, k, value);
	if (r == -EINVAL)
		fail_at(l, l->lineno, -EINVAL, "[%s] %s = '%s': expected %s", section, name, value,
		        type_form(k, form, sizeof(form)));
	else if (r < 0)
		fail_at(l, l->lineno, r, "[%s] %s: %s", section, name, strerror(-r));
	return r == 0;
}

/*
 * inih's reader: hands over one line at a time so we know its number (the
 * Debian build has no INI_HANDLER_LINENO). Leading blanks are removed so an
 * indented "key = value" is a key, not a continuation of the previous value
 * (inih's Python-style multi-line values would silently swallow it).
 */
static char *read_line(char *str, int num, void *stream)
{
	struct loader *l = stream;
	ssize_t n;
	char *p;

	if (l->rc != 0)
		return NULL;
	n = getline(&l->buf, &l->buf_cap, l->f);
	if (n < 0)
		return NULL;
	l->lineno++;
	if (memchr(l->buf, '\0', (size_t)n) != NULL) {
		fail_at(l, l->lineno, -EINVAL, "NUL byte in line");
		return NULL;
	}
	p = l->buf;
	while (*p == ' ' || *p == '\t')
		p++;
	n -= p - l->buf;
	if (n > num - 1) {
		fail_at(l, l->lineno, -EINVAL, "line longer than %d characters", num - 2);
		return NULL;
	}
	memcpy(str, p, (size_t)n + 1);
	return str;
}

static int folder_of(const char *path, char **ret)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX];
	char *dir;

	if (slash == path) {
		dir = strdup("/");
	} else if (path[0] == '/') {
		dir = strndup(path, (size_t)(slash - path));
	} else {
		/*
		 * Made absolute now: a daemon may chdir later, and the paths it
		 * logs should say where the file really is.
		 */
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		if (slash == NULL)
			dir = strdup(cwd);
		else if (asprintf(&dir, "%s/%.*s", strcmp(cwd, "/") == 0 ? "" : cwd,
		                  (int)(slash - path), path) < 0)
			dir = NULL;
	}
	if (dir == NULL)
		return -ENOMEM;
	*ret = dir;
	return 0;
}

static void clear_fields(const struct tally_conf_key *keys, size_t n_keys, void *obj)
{
	for (size_t i = 0; i < n_keys; i++) {
		void *f = (char *)obj + keys[i].offset;
		switch (keys[i].type) {
		case TALLY_CONF_STRING:
		case TALLY_CONF_PATH:
		case TALLY_CONF_CREDENTIAL:
			*(char **)f = NULL;
			break;
		case TALLY_CONF_U32:
			*(uint32_t *)f = 0;
			break;
		case TALLY_CONF_BOOL:
			*(bool *)f = false;
			break;
		case TALLY_CONF_ENDPOINT:
			memset(f, 0, sizeof(struct tally_endpoint));
			break;
		case TALLY_CONF_ENDPOINTS:
			memset(f, 0, sizeof(struct tally_endpoints));
			break;
		}
	}
}

int tally_conf_load(const char *path, const struct tally_conf_key *keys, size_t n_keys, void *obj,
                    struct tally_err *err)
{
	struct loader l = {.path = path, .keys = keys, .n_keys = n_keys, .obj = obj, .err = err};
	char form[160];
	int r;

	assert(path != NULL && obj != NULL);
	/*
	 * Every field starts empty so tally_conf_free() is safe on any outcome,
	 * whatever the caller's struct held before.
	 */
	clear_fields(keys, n_keys, obj);

	l.f = fopen(path, "re");
	if (l.f == NULL) {
		r = -errno;
		tally_err_set(err, r, "%s: cannot open: %s", path, strerror(-r));
		goto out;
	}
	r = folder_of(path, &l.dir);
	if (r < 0) {
		tally_err_set(err, r, "%s: cannot find its folder: %s", path, strerror(-r));
		goto out;
	}
	l.seen_line = calloc(n_keys ? n_keys : 1, sizeof(*l.seen_line));
	if (l.seen_line == NULL) {
		r = tally_err_set(err, -ENOMEM, "%s: out of memory", path);
		goto out;
	}

	/*
	 * Debian's libinih reads these at run time. Stopping at the first
	 * error keeps a broken "[section" line from being reported as the
	 * keys below it landing outside any section.
	 */
	ini_max_line = CONF_MAX_LINE;
	ini_stop_on_first_error = true;
	r = ini_parse_stream(read_line, &l, on_key, &l);
	if (l.rc != 0) {
		r = l.rc;
		goto out;
	}
	if (r == -2) {
		r = tally_err_set(err, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if (r > 0) {
		/* inih found a line that is neither "[section]" nor "key = value". */
		r = tally_err_set(err, -EINVAL,
		                  "%s:%d: syntax error: expected '[section]' or 'key = value'",
		                  path, r);
		goto out;
	}
	if (ferror(l.f)) {
		r = tally_err_set(err, -EIO, "%s: read error", path);
		goto out;
	}

	for (size_t i = 0; i < n_keys; i++) {
		const struct tally_conf_key *k = &keys[i];
		if (l.seen_line[i] != 0)
			continue;
		if (k->required) {
			r = tally_err_set(err, -EINVAL, "%s: missing required key [%s] %s", path,
			                  k->section, k->name);
			goto out;
		}
		if (k->def == NULL)
			continue;
		/* Defaults go through the same parser, so they obey the same rules. */
		r = set_value(&l, k, k->def);
		if (r == -EINVAL) {
			tally_err_set(err, r, "%s: default [%s] %s = '%s': expected %s", path,
			              k->section, k->name, k->def,
			              type_form(k, form, sizeof(form)));
			goto out;
		}
		if (r < 0) {
			tally_err_set(err, r, "%s: [%s] %s: %s", path, k->section, k->name,
			              strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	if (l.f != NULL)
		fclose(l.f);
	free(l.buf);
	free(l.dir);
	free(l.seen_line);
	return r;
}

void tally_conf_free(const struct tally_conf_key *keys, size_t n_keys, void *obj)
{
	if (obj == NULL)
		return;
	for (size_t i = 0; i < n_keys; i++) {
		if (is_string_type(keys[i].type)) {
			char **f = (char **)((char *)obj + keys[i].offset);
			free(*f);
			*f = NULL;
		}
	}
}
