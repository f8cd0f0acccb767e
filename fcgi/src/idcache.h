/* idcache: a worker's short-lived cache of identity lookups, so that most authenticated
 * requests skip the token_lookup / session_lookup round trip (access.c decides when it is
 * used; docs/ARCHITECTURE.md, "The identity cache").
 * - Keyed by the SHA-256 of the presented secret and its kind (token or session), as
 *   PostgreSQL stores it: the raw secret never outlives its request.
 * - An entry holds what the lookup answered and until when it may be used, on the
 *   monotonic clock: never past what the caller allows (the TTL, the token's expiry, the
 *   session's idle and absolute ends).
 * - Fixed size, no allocation: IDCACHE_SETS sets of IDCACHE_WAYS entries; a full set
 *   evicts the entry that would expire first.
 * - Invalidation by epoch: the caller passes its current invalidation epoch, and a new
 *   one makes every entry stale at once (O(1), nothing is scanned).
 * Only positive answers belong here: the caller never stores an unknown secret, so a
 * token created a moment ago works at once. */
#ifndef RW_IDCACHE_H
#define RW_IDCACHE_H

#include <stdint.h>

#include "sha256.h"

#define IDCACHE_WAYS 4
#define IDCACHE_SETS 128
#define IDCACHE_ID   24 /* a bigint in decimal, with its NUL */

enum idcache_kind {
    IDCACHE_TOKEN = 1,
    IDCACHE_SESSION = 2,
};

struct idcache_value {
    char id[IDCACHE_ID];    /* the token's or the session's id, decimal */
    char owner[IDCACHE_ID]; /* the token's project or the session's user, decimal */
    int grade;              /* a token's role (enum access_role); a session: 1 for an admin */
};

struct idcache_entry {
    uint8_t key[SHA256_DIGEST];
    uint32_t gen; /* the cache's generation it was made in: any other is stale */
    int kind;     /* enum idcache_kind; 0 for a slot never used */
    int64_t until_ns;
    struct idcache_value v;
};

/* Zero-initialised is empty and ready (a static one needs no init). */
struct idcache {
    uint64_t epoch; /* the caller's invalidation epoch the entries belong to */
    uint32_t gen;
    struct idcache_entry e[IDCACHE_SETS * IDCACHE_WAYS];
};

/* The cache key of a secret (its SHA-256). */
void idcache_key(const char *secret, uint8_t key[SHA256_DIGEST]);
/* Makes every entry stale when epoch differs from the one they were made in. */
void idcache_sync(struct idcache *c, uint64_t epoch);
/* Makes every entry stale. */
void idcache_clear(struct idcache *c);
/* 1 with *out when kind/key has an entry still valid at now_ns, else 0. Compares every
 * key of the set in full, in constant time. */
int idcache_get(struct idcache *c, enum idcache_kind kind, const uint8_t key[SHA256_DIGEST],
                int64_t now_ns, struct idcache_value *out);
/* Stores v for kind/key, valid until until_ns; replaces the key's entry, else takes a free
 * or stale slot of its set, else evicts the set's entry that expires first. Nothing is
 * stored when until_ns is not after now_ns. */
void idcache_put(struct idcache *c, enum idcache_kind kind, const uint8_t key[SHA256_DIGEST],
                 int64_t until_ns, int64_t now_ns, const struct idcache_value *v);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t idcache_now_ns(void);

#endif
