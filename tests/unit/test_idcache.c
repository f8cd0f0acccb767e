/* idcache and sha256: the digest against the standard's vectors (and the padding's
 * edges), then the cache's contract: kind and key must both match, entries end at their
 * deadline, an epoch change or a clear makes all stale at once, a full set evicts the
 * entry that expires first, and the table's size is fixed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcache.h"
#include "suites.h"

static void hex(const uint8_t d[SHA256_DIGEST], char out[2 * SHA256_DIGEST + 1])
{
    for (int i = 0; i < SHA256_DIGEST; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha256_vectors(void)
{
    static const struct {
        char c;
        size_t n;
        const char *text;
        const char *want;
    } v[] = {
        {0, 0, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {0, 0, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {0, 0, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        /* One byte short of, exactly at and a block past the length field's room. */
        {'a', 55, NULL, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {'a', 56, NULL, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {'a', 64, NULL, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {'a', 1000000, NULL, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    uint8_t d[SHA256_DIGEST];
    char got[2 * SHA256_DIGEST + 1];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *buf = NULL;
        if (v[i].text) {
            sha256_digest(v[i].text, strlen(v[i].text), d);
        } else {
            buf = malloc(v[i].n);
            CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
            memset(buf, v[i].c, v[i].n);
            sha256_digest(buf, v[i].n, d);
            free(buf);
        }
        hex(d, got);
        if (strcmp(got, v[i].want) != 0)
            fprintf(stderr, "\n  vector %zu: got %s", i, got);
        CU_ASSERT_STRING_EQUAL(got, v[i].want);
    }
    /* The key of a secret is its digest, as PostgreSQL's sha256(convert_to(…)) makes it. */
    idcache_key("rw_abc_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", d);
    hex(d, got);
    CU_ASSERT_STRING_EQUAL(got, "510b6c23354d10e72007f61d30060dbe3f9b929ace40d050ef8ec6da38c36614");
}

static struct idcache cache; /* static: the size a worker has */

/* A key in set `set` (the first three bytes choose it), told apart by `n`. */
static void key_in(uint8_t key[SHA256_DIGEST], unsigned set, unsigned n)
{
    memset(key, 0, SHA256_DIGEST);
    key[0] = (uint8_t)set;
    key[1] = (uint8_t)(set >> 8);
    key[SHA256_DIGEST - 1] = (uint8_t)n;
    key[SHA256_DIGEST - 2] = (uint8_t)(n >> 8);
}

static struct idcache_value val(const char *id, const char *owner, int grade)
{
    struct idcache_value v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "%s", id);
    snprintf(v.owner, sizeof(v.owner), "%s", owner);
    v.grade = grade;
    return v;
}

static void test_get_put(void)
{
    uint8_t k[SHA256_DIGEST], other[SHA256_DIGEST];
    struct idcache_value v = val("17", "3", 2), out;
    int64_t now = 1000000000;

    memset(&cache, 0, sizeof(cache));
    idcache_key("rw_one", k);
    idcache_key("rw_two", other);
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_TOKEN, k, now, &out)); /* empty */
    idcache_put(&cache, IDCACHE_TOKEN, k, now + 100, now, &v);
    CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_TOKEN, k, now + 99, &out));
    CU_ASSERT_STRING_EQUAL(out.id, "17");
    CU_ASSERT_STRING_EQUAL(out.owner, "3");
    CU_ASSERT_EQUAL(out.grade, 2);
    /* The same digest as another kind of secret, another key: not found. */
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_SESSION, k, now, &out));
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_TOKEN, other, now, &out));
    /* The deadline is exclusive, and an entry past it is gone. */
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_TOKEN, k, now + 100, &out));
    /* Nothing is stored that would be dead already. */
    idcache_put(&cache, IDCACHE_TOKEN, other, now, now, &v);
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_TOKEN, other, now - 1, &out));
    /* A second answer for a key replaces the first. */
    v = val("18", "4", 1);
    idcache_put(&cache, IDCACHE_TOKEN, k, now + 500, now, &v);
    CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_TOKEN, k, now + 400, &out));
    CU_ASSERT_STRING_EQUAL(out.id, "18");
}

static void test_epoch_and_clear(void)
{
    uint8_t k[SHA256_DIGEST];
    struct idcache_value v = val("5", "6", 1), out;
    int64_t now = 1000;

    memset(&cache, 0, sizeof(cache));
    idcache_sync(&cache, 7);
    idcache_key("cookie", k);
    idcache_put(&cache, IDCACHE_SESSION, k, now + 1000, now, &v);
    idcache_sync(&cache, 7); /* the same epoch: nothing happened */
    CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_SESSION, k, now, &out));
    idcache_sync(&cache, 8); /* an identity changed somewhere */
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_SESSION, k, now, &out));
    idcache_put(&cache, IDCACHE_SESSION, k, now + 1000, now, &v);
    CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_SESSION, k, now, &out));
    idcache_clear(&cache);
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_SESSION, k, now, &out));
}

static void test_eviction(void)
{
    uint8_t k[IDCACHE_WAYS + 2][SHA256_DIGEST];
    struct idcache_value v = val("1", "1", 1), out;
    int64_t now = 1000;
    int n = 0;

    memset(&cache, 0, sizeof(cache));
    for (int i = 0; i < IDCACHE_WAYS + 2; i++)
        key_in(k[i], 5, (unsigned)i + 1);
    /* Fill set 5; entry 1 expires first. */
    for (int i = 0; i < IDCACHE_WAYS; i++)
        idcache_put(&cache, IDCACHE_TOKEN, k[i], now + (i == 1 ? 10 : 100 + i), now, &v);
    for (int i = 0; i < IDCACHE_WAYS; i++)
        CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_TOKEN, k[i], now, &out));
    /* One more: it takes the place of the one that expires first, no other. */
    idcache_put(&cache, IDCACHE_TOKEN, k[IDCACHE_WAYS], now + 200, now, &v);
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_TOKEN, k[1], now, &out));
    for (int i = 0; i <= IDCACHE_WAYS; i++)
        n += idcache_get(&cache, IDCACHE_TOKEN, k[i], now, &out);
    CU_ASSERT_EQUAL(n, IDCACHE_WAYS);
    /* An expired entry's slot is taken before a live one is evicted: at now + 150 the
     * entries made with deadlines up to 100 + ways are dead, the one of 200 lives on. */
    idcache_put(&cache, IDCACHE_TOKEN, k[IDCACHE_WAYS + 1], now + 300, now + 150, &v);
    CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_TOKEN, k[IDCACHE_WAYS], now + 150, &out));
    CU_ASSERT_TRUE(idcache_get(&cache, IDCACHE_TOKEN, k[IDCACHE_WAYS + 1], now + 150, &out));
    /* Other sets are untouched by all this. */
    key_in(k[0], 6, 1);
    CU_ASSERT_FALSE(idcache_get(&cache, IDCACHE_TOKEN, k[0], now, &out));
}

static void test_bounded(void)
{
    uint8_t k[SHA256_DIGEST];
    struct idcache_value v = val("1", "1", 1), out;
    int live = 0;

    /* Many more secrets than slots: the table holds at most its slots, and stays usable. */
    memset(&cache, 0, sizeof(cache));
    for (unsigned i = 0; i < 20000; i++) {
        char s[32];
        snprintf(s, sizeof(s), "rw_%u", i);
        idcache_key(s, k);
        idcache_put(&cache, IDCACHE_TOKEN, k, 1000 + i, 0, &v);
    }
    for (unsigned i = 0; i < 20000; i++) {
        char s[32];
        snprintf(s, sizeof(s), "rw_%u", i);
        idcache_key(s, k);
        live += idcache_get(&cache, IDCACHE_TOKEN, k, 0, &out);
    }
    CU_ASSERT_TRUE(live > 0 && live <= IDCACHE_SETS * IDCACHE_WAYS);
    /* The memory a worker spends on it, fixed at build time. */
    CU_ASSERT_TRUE(sizeof(struct idcache) <= 64 * 1024);
}

int suite_idcache_register(void)
{
    static const struct test_case cases[] = {
        {"sha256 vectors and the cache key", test_sha256_vectors},
        {"get and put: kind, key, deadline, replace", test_get_put},
        {"a new epoch or a clear empties the cache", test_epoch_and_clear},
        {"a full set evicts the soonest to expire", test_eviction},
        {"bounded size", test_bounded},
        {NULL, NULL},
    };
    return test_add_suite("idcache", cases);
}
