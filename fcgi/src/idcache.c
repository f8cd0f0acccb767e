/* idcache: a set-associative table. The set comes from the key's first bytes, which are
 * uniform (a digest of a random secret), and only secrets PostgreSQL accepted are stored,
 * so nobody without valid secrets can aim at a set. */
#include "idcache.h"

#include <string.h>
#include <time.h>

void idcache_key(const char *secret, uint8_t key[SHA256_DIGEST])
{
    sha256_digest(secret, strlen(secret), key);
}

void idcache_sync(struct idcache *c, uint64_t epoch)
{
    if (c->epoch != epoch) {
        c->epoch = epoch;
        idcache_clear(c);
    }
}

void idcache_clear(struct idcache *c)
{
    c->gen++;
}

static struct idcache_entry *idcache_set(struct idcache *c, const uint8_t key[SHA256_DIGEST])
{
    uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16;
    return &c->e[(h % IDCACHE_SETS) * IDCACHE_WAYS];
}

static int idcache_live(const struct idcache *c, const struct idcache_entry *e, int64_t now_ns)
{
    return e->kind != 0 && e->gen == c->gen && e->until_ns > now_ns;
}

/* The way of the set holding kind/key (whether live or not), or -1. Every way's key is
 * compared in full, so the time taken says nothing of how much of a key matched. */
static int idcache_find(const struct idcache_entry *set, enum idcache_kind kind,
                        const uint8_t key[SHA256_DIGEST])
{
    int found = -1;
    for (int w = 0; w < IDCACHE_WAYS; w++) {
        unsigned diff = (unsigned)(set[w].kind ^ (int)kind);
        for (int i = 0; i < SHA256_DIGEST; i++)
            diff |= set[w].key[i] ^ key[i];
        if (diff == 0)
            found = w;
    }
    return found;
}

int idcache_get(struct idcache *c, enum idcache_kind kind, const uint8_t key[SHA256_DIGEST],
                int64_t now_ns, struct idcache_value *out)
{
    struct idcache_entry *set = idcache_set(c, key);
    int w = idcache_find(set, kind, key);

    if (w < 0 || !idcache_live(c, &set[w], now_ns))
        return 0;
    *out = set[w].v;
    return 1;
}

void idcache_put(struct idcache *c, enum idcache_kind kind, const uint8_t key[SHA256_DIGEST],
                 int64_t until_ns, int64_t now_ns, const struct idcache_value *v)
{
    struct idcache_entry *set = idcache_set(c, key);
    int w = idcache_find(set, kind, key);

    if (until_ns <= now_ns)
        return;
    for (int i = 0; w < 0 && i < IDCACHE_WAYS; i++)
        if (!idcache_live(c, &set[i], now_ns))
            w = i;
    if (w < 0) {
        w = 0;
        for (int i = 1; i < IDCACHE_WAYS; i++)
            if (set[i].until_ns < set[w].until_ns)
                w = i;
    }
    memcpy(set[w].key, key, SHA256_DIGEST);
    set[w].kind = (int)kind;
    set[w].gen = c->gen;
    set[w].until_ns = until_ns;
    set[w].v = *v;
}

int64_t idcache_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
