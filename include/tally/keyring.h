/*
 * keyring.h: the regions' trusted Ed25519 public keys, loaded from a folder
 * holding `<region_id>.pem` or `<region_id>.<anything>.pem` (several keys per
 * region during a rotation). Lookup is by key id.
 */
#ifndef TALLY_KEYRING_H
#define TALLY_KEYRING_H

#include <stddef.h>

#include "tally/err.h"
#include "tally/sign.h"

struct tally_trusted_key {
	struct tally_public_key key;
	char region_id[TALLY_ID_MAX];
};

struct tally_keyring; /* opaque */

/*
 * Loads every *.pem in dir. Other names are ignored. Returns 0, -ENOENT if
 * dir is missing, -EINVAL for a file that is not an Ed25519 public key or a
 * name with an empty region (err names the file), -ENOMEM.
 */
int tally_keyring_load(const char *dir, struct tally_keyring **ret, struct tally_err *err);
struct tally_keyring *tally_keyring_free(struct tally_keyring *k);

/* NULL if no trusted key has this id. */
const struct tally_trusted_key *tally_keyring_find(const struct tally_keyring *k,
                                                   const char *key_id);
size_t tally_keyring_count(const struct tally_keyring *k);
const struct tally_trusted_key *tally_keyring_at(const struct tally_keyring *k, size_t i);

#endif
