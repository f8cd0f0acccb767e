/* runcache: a worker's runs of the run list, rendered, keyed by run id and row version, so
 * a list whose runs have not changed since the worker last rendered them costs PostgreSQL
 * a probe of ids and versions instead of every column of every run (runs.c, runs_list;
 * docs/ARCHITECTURE.md, "The run list's rendered runs").
 * - The version is the row's xmin: an UPDATE always writes a new row version with its own
 *   transaction's xmin, and a committed transaction's id is never given to another row
 *   version until the id space wraps (2^32 transactions). An entry is used for at most
 *   RUNCACHE_TTL_NS, so a wrapped id can never meet an entry of the time before: the cache
 *   can be cold, never stale. Nothing needs invalidating.
 * - An entry is the run's JSON in two parts around duration_s, the one value that depends on
 *   the time of the read (a running run's); the caller writes it from the probe's columns.
 * - Set-associative (RUNCACHE_SETS sets of RUNCACHE_WAYS), the entries' bytes on the heap,
 *   bounded by a byte budget: a full set evicts its oldest entry, a full budget evicts
 *   entries round the table (a clock hand) until the new one fits.
 * Not thread-safe: a worker serves one request at a time. */
#ifndef RW_RUNCACHE_H
#define RW_RUNCACHE_H

#include <stddef.h>
#include <stdint.h>

#define RUNCACHE_WAYS   4
#define RUNCACHE_SETS   2048
#define RUNCACHE_TTL_NS (INT64_C(300) * 1000000000)
/* What an entry is counted beyond its bytes (malloc's header, rounded). */
#define RUNCACHE_OVERHEAD 32

struct runcache_key {
    uint8_t id[16];   /* the run's uuid */
    uint32_t version; /* the row version's xmin */
    int64_t project;  /* the project the list was read in (a run never leaves its project
                       * without a new version, but the page's slug is the project's) */
};

struct runcache_entry {
    struct runcache_key key;
    int64_t made_ns; /* 0: a free slot */
    char *bytes;     /* head, then tail; owned by the cache */
    uint32_t head_len, tail_len;
};

/* Zero-initialised plus a budget is empty and ready. */
struct runcache {
    size_t max_bytes; /* 0: off */
    size_t bytes;     /* held by entries, their bytes and bookkeeping */
    size_t hand;      /* where the next budget eviction looks */
    struct runcache_entry e[RUNCACHE_SETS * RUNCACHE_WAYS];
};

struct runcache_hit {
    const char *head, *tail;
    size_t head_len, tail_len;
};

/* 1 with *out (valid until the next put or clear) when key has an entry made after
 * now_ns - RUNCACHE_TTL_NS, else 0. */
int runcache_get(struct runcache *c, const struct runcache_key *key, int64_t now_ns,
                 struct runcache_hit *out);
/* Stores the run's head and tail for key, replacing the id's older versions of its set;
 * nothing when the cache is off, the entry alone exceeds a quarter of the budget or memory
 * is short. */
void runcache_put(struct runcache *c, const struct runcache_key *key, const char *head,
                  size_t head_len, const char *tail, size_t tail_len, int64_t now_ns);
/* Frees every entry; the budget stays. */
void runcache_clear(struct runcache *c);

#endif
