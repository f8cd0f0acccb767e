/* runcache: rendered runs of the run list by id and row version (runcache.h). */
#include "runcache.h"

#include <stdlib.h>
#include <string.h>

static size_t runcache_set_of(const uint8_t id[16])
{
    /* Both halves: a uuid v7's first bytes are a clock, a v4's are random. */
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    uint64_t h = (a ^ (b * UINT64_C(0x9e3779b97f4a7c15))) * UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(h >> 40) % RUNCACHE_SETS;
}

static void runcache_drop(struct runcache *c, struct runcache_entry *e)
{
    if (!e->made_ns)
        return;
    c->bytes -= (size_t)e->head_len + e->tail_len + RUNCACHE_OVERHEAD;
    free(e->bytes);
    memset(e, 0, sizeof(*e));
}

static int runcache_same(const struct runcache_key *a, const struct runcache_key *b)
{
    return a->version == b->version && a->project == b->project && !memcmp(a->id, b->id, 16);
}

int runcache_get(struct runcache *c, const struct runcache_key *key, int64_t now_ns,
                 struct runcache_hit *out)
{
    struct runcache_entry *set = c->e + runcache_set_of(key->id) * RUNCACHE_WAYS;
    for (int i = 0; i < RUNCACHE_WAYS; i++) {
        struct runcache_entry *e = set + i;
        if (!e->made_ns || !runcache_same(&e->key, key))
            continue;
        if (now_ns - e->made_ns >= RUNCACHE_TTL_NS || now_ns < e->made_ns) {
            runcache_drop(c, e);
            return 0;
        }
        out->head = e->bytes;
        out->head_len = e->head_len;
        out->tail = e->bytes + e->head_len;
        out->tail_len = e->tail_len;
        return 1;
    }
    return 0;
}

void runcache_put(struct runcache *c, const struct runcache_key *key, const char *head,
                  size_t head_len, const char *tail, size_t tail_len, int64_t now_ns)
{
    size_t need = head_len + tail_len + RUNCACHE_OVERHEAD;
    if (!c->max_bytes || need > c->max_bytes / 4 || !now_ns)
        return;
    struct runcache_entry *set = c->e + runcache_set_of(key->id) * RUNCACHE_WAYS, *slot = NULL;
    /* The id's other versions are dead weight once a newer one is read: drop them. The
     * slot is a free one, else the set's oldest. */
    for (int i = 0; i < RUNCACHE_WAYS; i++)
        if (set[i].made_ns && !memcmp(set[i].key.id, key->id, 16))
            runcache_drop(c, set + i);
    for (int i = 0; i < RUNCACHE_WAYS; i++) {
        if (!set[i].made_ns) {
            slot = set + i;
            break;
        }
        if (!slot || set[i].made_ns < slot->made_ns)
            slot = set + i;
    }
    runcache_drop(c, slot);
    /* The budget: evict round the table until the entry fits. */
    for (size_t n = 0; c->bytes + need > c->max_bytes && n < RUNCACHE_SETS * RUNCACHE_WAYS; n++) {
        struct runcache_entry *e = c->e + c->hand;
        c->hand = (c->hand + 1) % (RUNCACHE_SETS * RUNCACHE_WAYS);
        if (e != slot)
            runcache_drop(c, e);
    }
    if (c->bytes + need > c->max_bytes)
        return;
    char *bytes = malloc(head_len + tail_len ? head_len + tail_len : 1);
    if (!bytes)
        return;
    memcpy(bytes, head, head_len);
    memcpy(bytes + head_len, tail, tail_len);
    slot->key = *key;
    slot->made_ns = now_ns;
    slot->bytes = bytes;
    slot->head_len = (uint32_t)head_len;
    slot->tail_len = (uint32_t)tail_len;
    c->bytes += need;
}

void runcache_clear(struct runcache *c)
{
    for (size_t i = 0; i < RUNCACHE_SETS * RUNCACHE_WAYS; i++)
        runcache_drop(c, c->e + i);
    c->hand = 0;
}
