/* runcache: a run is found only at the version and project it was kept for, never past its
 * lifetime; a newer version replaces the older; the byte budget holds however many runs
 * are put; a full set gives up its oldest. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "runcache.h"
#include "suites.h"

static struct runcache cache; /* static: the size a worker has */

static struct runcache_key key(unsigned n, uint32_t version, int64_t project)
{
    struct runcache_key k;
    memset(&k, 0, sizeof(k));
    /* random-looking ids, as uuids are: n spread over both halves */
    for (int i = 0; i < 16; i++)
        k.id[i] = (uint8_t)((n * 2654435761u) >> (8 * (i % 4))) ^ (uint8_t)i;
    k.id[15] = (uint8_t)n;
    k.id[14] = (uint8_t)(n >> 8);
    k.id[13] = (uint8_t)(n >> 16);
    k.version = version;
    k.project = project;
    return k;
}

static void test_versions(void)
{
    struct runcache_hit h;
    int64_t t = 1000;
    struct runcache_key k = key(1, 10, 3), k2 = key(1, 11, 3), other = key(1, 10, 4);

    runcache_clear(&cache);
    cache.max_bytes = 1 << 20;
    CU_ASSERT_FALSE(runcache_get(&cache, &k, t, &h)); /* empty */
    runcache_put(&cache, &k, "{\"a\":", 5, ",\"b\":1}", 7, t);
    CU_ASSERT_TRUE_FATAL(runcache_get(&cache, &k, t + 1, &h));
    CU_ASSERT_EQUAL(h.head_len, 5);
    CU_ASSERT_NSTRING_EQUAL(h.head, "{\"a\":", 5);
    CU_ASSERT_EQUAL(h.tail_len, 7);
    CU_ASSERT_NSTRING_EQUAL(h.tail, ",\"b\":1}", 7);
    CU_ASSERT_FALSE(runcache_get(&cache, &k2, t, &h));    /* another version */
    CU_ASSERT_FALSE(runcache_get(&cache, &other, t, &h)); /* another project */

    /* The newer version replaces the older. */
    runcache_put(&cache, &k2, "{", 1, "}", 1, t);
    CU_ASSERT_TRUE(runcache_get(&cache, &k2, t, &h));
    CU_ASSERT_FALSE(runcache_get(&cache, &k, t, &h));

    /* Never past its lifetime, nor from a clock that went back. */
    CU_ASSERT_TRUE(runcache_get(&cache, &k2, t + RUNCACHE_TTL_NS - 1, &h));
    CU_ASSERT_FALSE(runcache_get(&cache, &k2, t + RUNCACHE_TTL_NS, &h));
    runcache_put(&cache, &k2, "{", 1, "}", 1, t);
    CU_ASSERT_FALSE(runcache_get(&cache, &k2, t - 1, &h));

    /* Off: nothing is kept. */
    runcache_clear(&cache);
    cache.max_bytes = 0;
    runcache_put(&cache, &k, "{", 1, "}", 1, t);
    CU_ASSERT_FALSE(runcache_get(&cache, &k, t, &h));
    CU_ASSERT_EQUAL(cache.bytes, 0);
}

static void test_budget(void)
{
    char head[1000];
    struct runcache_hit h;
    int64_t t = 5;
    memset(head, 'x', sizeof(head));

    runcache_clear(&cache);
    cache.max_bytes = 64 * 1024;
    /* 10,000 runs of ~1 kB into 64 kB: the budget holds, the latest are found. */
    for (unsigned i = 0; i < 10000; i++) {
        struct runcache_key k = key(i, 1, 1);
        runcache_put(&cache, &k, head, sizeof(head), "}", 1, t + i);
        CU_ASSERT_TRUE(runcache_get(&cache, &k, t + i, &h));
        CU_ASSERT(cache.bytes <= cache.max_bytes);
    }
    int found = 0;
    for (unsigned i = 0; i < 10000; i++) {
        struct runcache_key k = key(i, 1, 1);
        found += runcache_get(&cache, &k, t + 10000, &h);
    }
    CU_ASSERT(found > 0);
    CU_ASSERT(found <= 64);
    /* An entry larger than a quarter of the budget is not kept: 2 kB is kept in 64 kB, not
     * in 4,000 bytes. */
    struct runcache_key big = key(99999, 1, 1);
    runcache_put(&cache, &big, head, sizeof(head), head, sizeof(head), t);
    CU_ASSERT_TRUE(runcache_get(&cache, &big, t, &h));
    cache.max_bytes = 4000;
    runcache_clear(&cache);
    runcache_put(&cache, &big, head, sizeof(head), head, sizeof(head), t);
    CU_ASSERT_FALSE(runcache_get(&cache, &big, t, &h));
    runcache_clear(&cache);
    CU_ASSERT_EQUAL(cache.bytes, 0);
}

static void test_full_table(void)
{
    struct runcache_hit h;
    const unsigned n = RUNCACHE_SETS * RUNCACHE_WAYS * 2;

    /* Twice as many runs as slots, within the budget: full sets give up their oldest, the
     * latest is found, and the byte count is the entries'. */
    runcache_clear(&cache);
    cache.max_bytes = 1 << 20;
    for (unsigned i = 0; i < n; i++) {
        struct runcache_key k = key(i, 7, 2);
        runcache_put(&cache, &k, "{", 1, "}", 1, 100 + i);
    }
    struct runcache_key last = key(n - 1, 7, 2);
    CU_ASSERT_TRUE(runcache_get(&cache, &last, 100 + n, &h));
    size_t held = 0;
    for (size_t i = 0; i < RUNCACHE_SETS * RUNCACHE_WAYS; i++)
        held += cache.e[i].made_ns != 0;
    CU_ASSERT_EQUAL(cache.bytes, held * (2 + RUNCACHE_OVERHEAD));
    CU_ASSERT(held > RUNCACHE_SETS * RUNCACHE_WAYS / 2);
    runcache_clear(&cache);
    CU_ASSERT_EQUAL(cache.bytes, 0);
}

int suite_runcache_register(void)
{
    static const struct test_case cases[] = {
        {"a run at its version and project, within its lifetime", test_versions},
        {"the byte budget holds", test_budget},
        {"a full table keeps its count", test_full_table},
        {NULL, NULL},
    };
    return test_add_suite("runcache", cases);
}
