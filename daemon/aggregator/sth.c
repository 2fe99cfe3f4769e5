/*
 * sth.c: the aggregator's log key and its signed tree heads (see sth.h). It
 * owns the key, the current head with the totals document of the same
 * sequence, and the timer that spaces heads a second apart. It reads the
 * Merkle tree and the committed totals snapshot that ingest maintains and
 * changes neither; serving the log is logapi.c's job.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "sth.h"
#include "tally/codec.h"
#include "tally/log.h"
#include "tally/merkle.h"

/* Heads come at most this often while results arrive. */
#define STH_INTERVAL_MS 1000

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sth_committed_size(const struct aggregator *a)
{
	uint64_t m = tally_merkle_size(a->merkle);
	uint64_t s = a->snapshot ? a->snapshot->sequence : 0;

	return m < s ? m : s;
}

static char *b64(const uint8_t *data, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);

	if (s != NULL)
		sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* A JSON document as a shared response body (newline-terminated). */
static struct http_body *body_of(json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct http_body *b = NULL;

	if (text != NULL) {
		size_t len = strlen(text);

		b = http_body_new(len + 1);
		if (b != NULL) {
			memcpy(b->data, text, len);
			b->data[len] = '\n';
		}
	}
	free(text);
	return b;
}

/* ---- the key ---- */

/* Writes the PEM text to path, created exclusively with `mode`, and syncs it. */
static int write_new_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (r < 0)
		unlink(path);
	return r;
}

static int make_key(const char *dir, const char *path, struct tally_signing_key *k)
{
	char *pem = NULL, *pub = NULL, *pub_path = NULL;
	int r, dfd;

	r = tally_sign_generate(k);
	if (r < 0)
		return r;
	r = tally_sign_private_to_pem(k, &pem);
	if (r < 0)
		goto out;
	r = write_new_file(path, pem, 0600);
	if (r < 0) {
		log_err("log: cannot create the log key '%s': %s; check that state_dir is "
		        "writable by this user",
		        path, strerror(-r));
		goto out;
	}
	/* The public half, for operators to hand to observers out of band. */
	if (tally_sign_public_to_pem(&k->pub, &pub) == 0 &&
	    asprintf(&pub_path, "%s/log.pub.pem", dir) >= 0) {
		unlink(pub_path);
		if (write_new_file(pub_path, pub, 0644) < 0)
			log_warning("log: could not write '%s'; `tallyctl` users can still fetch "
			            "the key from /v1/log/key",
			            pub_path);
	}
	/* The new name must survive a crash, or the next start makes another key. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	log_notice("log: made a new tree head signing key %s in '%s'", k->pub.key_id, path);
out:
	if (pem != NULL) {
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
	}
	free(pub);
	free(pub_path);
	return r;
}

static int load_key(struct aggregator *a, struct tally_signing_key *k)
{
	struct tally_err err = {{0}};
	char *path = NULL;
	struct stat st;
	int r;

	if (a->conf.log_key != NULL) {
		r = tally_sign_load_private(a->conf.log_key, k, &err);
		if (r < 0)
			log_err("log: [log] key: %s", err.msg);
		else
			log_info("log: tree head signing key %s from '%s'", k->pub.key_id,
			         a->conf.log_key);
		return r;
	}
	if (asprintf(&path, "%s/log.key", a->conf.state_dir) < 0)
		return -ENOMEM;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		r = make_key(a->conf.state_dir, path, k);
		goto out;
	}
	if ((st.st_mode & 077) != 0)
		log_warning("log: '%s' is readable by others (mode %03o); chmod 600 it", path,
		            (unsigned)(st.st_mode & 0777));
	r = tally_sign_load_private(path, k, &err);
	if (r < 0)
		log_err("log: %s; move it away to have a new key made (observers will see a "
		        "key change)",
		        err.msg);
	else
		log_info("log: tree head signing key %s from '%s'", k->pub.key_id, path);
out:
	free(path);
	return r;
}

static int make_key_body(struct agg_log *l)
{
	char *pem = NULL;
	json_t *doc;
	int r = -ENOMEM;

	if (tally_sign_public_to_pem(&l->key.pub, &pem) < 0)
		return -ENOMEM;
	doc = json_pack("{s:s, s:s}", "key_id", l->key.pub.key_id, "public_key_pem", pem);
	if (doc != NULL) {
		l->key_body = body_of(doc);
		if (l->key_body != NULL)
			r = 0;
	}
	json_decref(doc);
	free(pem);
	return r;
}

/* ---- heads ---- */

int sth_sign(struct agg_log *l)
{
	struct aggregator *a = l->agg;
	struct tally_tree_head h;
	uint8_t *bytes = NULL, sig[TALLY_SIG_BYTES];
	char root_hex[2 * TALLY_HASH_BYTES + 1], *bytes_b64 = NULL, *sig_b64 = NULL;
	struct http_body *sth = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int r;

	/*
	 * The head and the totals it hashes must describe the same log: the
	 * snapshot is replaced after each commit, the tree grows with it.
	 */
	if (a->snapshot == NULL || tally_merkle_size(a->merkle) != a->snapshot->sequence)
		return -EAGAIN;
	memset(&h, 0, sizeof(h));
	snprintf(h.election_id, sizeof(h.election_id), "%s", a->election->election_id);
	h.tree_size = a->snapshot->sequence;
	r = tally_merkle_root(a->merkle, h.tree_size, h.root_hash);
	if (r < 0)
		return r;
	h.timestamp_ms = agg_now_ms();
	memcpy(h.totals_hash, a->snapshot->digest, TALLY_HASH_BYTES);
	r = tally_codec_encode_tree_head(&h, &bytes, &len);
	if (r < 0)
		return r;
	tally_sign_sign(&l->key, bytes, len, sig);
	tally_hex(h.root_hash, TALLY_HASH_BYTES, root_hex);
	r = -ENOMEM;
	bytes_b64 = b64(bytes, len);
	sig_b64 = b64(sig, sizeof(sig));
	if (bytes_b64 == NULL || sig_b64 == NULL)
		goto out;
	doc = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s}", "tree_size", (json_int_t)h.tree_size,
	                "root_hash", root_hex, "timestamp_ms", (json_int_t)h.timestamp_ms,
	                "tree_head", bytes_b64, "signature", sig_b64, "key_id", l->key.pub.key_id);
	if (doc == NULL || (sth = body_of(doc)) == NULL)
		goto out;
	http_body_unref(l->sth_body);
	http_body_unref(l->totals_body);
	l->sth_body = sth;
	l->totals_body = http_body_ref(a->snapshot->body);
	l->has_head = true;
	l->tree_size = h.tree_size;
	l->timestamp_ms = h.timestamp_ms;
	memcpy(l->root, h.root_hash, TALLY_HASH_BYTES);
	l->last_head_ms = mono_ms();
	l->heads_signed++;
	tally_log(TALLY_LOG_DEBUG, "log: signed tree head size=%" PRIu64 " root=%s", h.tree_size,
	          root_hex);
	r = 0;
out:
	json_decref(doc);
	free(bytes);
	free(bytes_b64);
	free(sig_b64);
	return r;
}

static void on_timer(uv_timer_t *t);

/* A head now if the last is a second old, else one when the second is up. */
static void sth_schedule(struct agg_log *l)
{
	uint64_t since = mono_ms() - l->last_head_ms;

	if (l->agg->stopping)
		return;
	if (l->has_head && l->tree_size == sth_committed_size(l->agg) &&
	    l->tree_size == tally_merkle_size(l->agg->merkle))
		return; /* nothing new */
	if (since >= STH_INTERVAL_MS || !l->has_head) {
		int r = sth_sign(l);

		if (r == 0)
			return;
		if (r != -EAGAIN)
			log_warning("log: cannot sign a tree head: %s; retrying in 1 s",
			            strerror(-r));
		since = 0;
	}
	if (!l->timer_armed) {
		uv_timer_start(&l->timer, on_timer, STH_INTERVAL_MS - since, 0);
		l->timer_armed = true;
	}
}

static void on_timer(uv_timer_t *t)
{
	struct agg_log *l = t->data;

	l->timer_armed = false;
	sth_schedule(l);
}

static void on_commit(struct aggregator *a, const struct agg_commit *c, void *data)
{
	sth_schedule(data);
}

/* ---- module ---- */

int sth_start(struct aggregator *a)
{
	struct agg_log *l = calloc(1, sizeof(*l));
	int r;

	if (l == NULL)
		return -ENOMEM;
	l->agg = a;
	r = load_key(a, &l->key);
	if (r < 0)
		goto fail;
	r = make_key_body(l);
	if (r < 0)
		goto fail;
	r = uv_timer_init(a->loop, &l->timer);
	if (r < 0)
		goto fail;
	l->timer.data = l;
	a->log = l;
	/* The recovered log gets a head before anyone can ask for one. */
	r = sth_sign(l);
	if (r < 0 && r != -EAGAIN) {
		log_err("log: cannot sign the first tree head: %s", strerror(-r));
		return r; /* sth_stop() closes the timer and frees l */
	}
	if (r == -EAGAIN)
		sth_schedule(l);
	r = aggregator_on_commit(a, on_commit, l);
	if (r < 0)
		return r;
	log_info("log: tree size %" PRIu64 ", heads signed by %s", l->tree_size, l->key.pub.key_id);
	return 0;
fail:
	tally_sign_key_wipe(&l->key);
	http_body_unref(l->key_body);
	free(l);
	return r;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct agg_log *l = h->data;

	tally_sign_key_wipe(&l->key);
	http_body_unref(l->sth_body);
	http_body_unref(l->totals_body);
	http_body_unref(l->key_body);
	free(l);
}

void sth_stop(struct aggregator *a)
{
	struct agg_log *l = a->log;

	if (l == NULL)
		return;
	a->log = NULL;
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, on_timer_closed);
}
