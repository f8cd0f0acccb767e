/* sha256: SHA-256 (FIPS 180-4) of a byte string, the one form of a secret past its
 * request: the identity cache's key (idcache.c) and the only form of a token or cookie
 * PostgreSQL is given and stores (access.c), so no raw token outlives its request. */
#ifndef RW_SHA256_H
#define RW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST 32

void sha256_digest(const void *data, size_t len, uint8_t out[SHA256_DIGEST]);

#endif
