/*
 * keyring.c: the aggregator's trusted region keys. A folder holds one PEM
 * public key per file, named `<region>.pem`, or `<region>.<label>.pem`
 * while a region rotates keys and both must verify. The keyring is loaded
 * whole at start-up (and on reload, by building a new one): any bad file
 * fails the load, because a silently skipped key would turn a region's
 * valid results into UNKNOWN_KEY rejections. Keys are sorted by key id for
 * bsearch on every submit.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tally/keyring.h"

struct tally_keyring {
	size_t n;
	struct tally_trusted_key *keys; /* sorted by key.key_id */
};

static int cmp_key(const void *a, const void *b)
{
	const struct tally_trusted_key *x = a, *y = b;
	return strcmp(x->key.key_id, y->key.key_id);
}

static int cmp_find(const void *key, const void *elem)
{
	const struct tally_trusted_key *k = elem;
	return strcmp(key, k->key.key_id);
}

static int has_pem_suffix(const char *name)
{
	size_t n = strlen(name);
	return n >= 4 && strcmp(name + n - 4, ".pem") == 0;
}

/* One file: region from the name, key from the contents. */
static int load_one(const char *dir, const char *name, struct tally_trusted_key *ret,
                    struct tally_err *err)
{
	char path[4096];
	size_t region_len = strcspn(name, ".");
	struct stat st;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return tally_err_set(err, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
	if (region_len == 0)
		return tally_err_set(err, -EINVAL,
		                     "%s: no region in the name (expected <region>.pem or "
		                     "<region>.<label>.pem)",
		                     path);
	if (region_len >= TALLY_ID_MAX)
		return tally_err_set(err, -EINVAL, "%s: region id longer than %d characters", path,
		                     TALLY_ID_MAX - 1);
	if (stat(path, &st) < 0) {
		rc = -errno;
		return tally_err_set(err, rc, "%s: %s", path, strerror(-rc));
	}
	if (!S_ISREG(st.st_mode))
		return 1; /* a folder named x.pem is not a key: skip it */
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->region_id, name, region_len);
	ret->region_id[region_len] = '\0';
	return tally_sign_load_public(path, &ret->key, err);
}

int tally_keyring_load(const char *dir, struct tally_keyring **ret, struct tally_err *err)
{
	DIR *d;
	struct dirent *de;
	struct tally_keyring *k;
	size_t cap = 0;
	char(*names)[256] = NULL;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		return tally_err_set(err, rc, "%s: cannot open folder: %s", dir, strerror(-rc));
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* names[i] is the file keys[i] came from, to name both when a key repeats. */
	while ((de = readdir(d)) != NULL) {
		struct tally_trusted_key key;

		if (!has_pem_suffix(de->d_name))
			continue;
		rc = load_one(dir, de->d_name, &key, err);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			continue;
		if (k->n == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			struct tally_trusted_key *nk = realloc(k->keys, ncap * sizeof(*nk));
			char(*nn)[256] = realloc(names, ncap * sizeof(*nn));
			if (nk != NULL)
				k->keys = nk;
			if (nn != NULL)
				names = nn;
			if (nk == NULL || nn == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			cap = ncap;
		}
		k->keys[k->n] = key;
		snprintf(names[k->n], sizeof(names[0]), "%s", de->d_name);
		k->n++;
	}
	rc = 0;

	/*
	 * The same key under two regions would let one region sign for the
	 * other: refuse. The same key twice for one region is harmless.
	 * Quadratic, but a keyring holds a few keys per region.
	 */
	for (size_t i = 0; i < k->n; i++) {
		for (size_t j = i + 1; j < k->n; j++) {
			if (strcmp(k->keys[i].key.key_id, k->keys[j].key.key_id) != 0)
				continue;
			if (strcmp(k->keys[i].region_id, k->keys[j].region_id) != 0) {
				rc =
				    tally_err_set(err, -EINVAL,
				                  "%s/%s: same key as %s/%s, but for region \"%s\" "
				                  "instead of \"%s\"",
				                  dir, names[j], dir, names[i],
				                  k->keys[j].region_id, k->keys[i].region_id);
				goto fail;
			}
		}
	}
	if (k->n > 1)
		qsort(k->keys, k->n, sizeof(*k->keys), cmp_key);
	/* Drop exact repeats (same key, same region) so lookups see one entry. */
	{
		size_t o = 0;
		for (size_t i = 0; i < k->n; i++) {
			if (o > 0 && strcmp(k->keys[o - 1].key.key_id, k->keys[i].key.key_id) == 0)
				continue;
			k->keys[o++] = k->keys[i];
		}
		k->n = o;
	}
	free(names);
	closedir(d);
	*ret = k;
	return 0;
fail:
	free(names);
	tally_keyring_free(k);
	closedir(d);
	return rc;
}

struct tally_keyring *tally_keyring_free(struct tally_keyring *k)
{
	if (k == NULL)
		return NULL;
	free(k->keys);
	free(k);
	return NULL;
}

const struct tally_trusted_key *tally_keyring_find(const struct tally_keyring *k,
                                                   const char *key_id)
{
	if (k == NULL || k->n == 0 || key_id == NULL)
		return NULL;
	return bsearch(key_id, k->keys, k->n, sizeof(*k->keys), cmp_find);
}

size_t tally_keyring_count(const struct tally_keyring *k)
{
	return k ? k->n : 0;
}

const struct tally_trusted_key *tally_keyring_at(const struct tally_keyring *k, size_t i)
{
	if (k == NULL || i >= k->n)
		return NULL;
	return &k->keys[i];
}
