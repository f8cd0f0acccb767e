/* sha256: SHA-256 (FIPS 180-4) of a byte string, for the identity cache's keys
 * (idcache.c): a worker keys cached lookups by the digest of the presented secret, as
 * PostgreSQL stores it, so no raw token outlives its request. */
#ifndef RW_SHA256_H
#define RW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST 32

void sha256_digest(const void *data, size_t len, uint8_t out[SHA256_DIGEST]);

#endif
