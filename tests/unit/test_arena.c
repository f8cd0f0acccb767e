/* arena: alignment, growth past a block, cleanups run once in LIFO order on reset. */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "suites.h"

static int order[4];
static int norder;

static void record(void *p)
{
    order[norder++] = (int)(intptr_t)p;
}

static void test_alloc_aligned_and_large(void)
{
    struct arena a;
    arena_init(&a, 256);
    for (int i = 1; i < 100; i++) {
        void *p = arena_alloc(&a, (size_t)i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    char *big = arena_alloc(&a, 100000); /* larger than a block */
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 1, 100000);
    arena_reset(&a);
    CU_ASSERT_PTR_NOT_NULL(arena_alloc(&a, 10));
    arena_fini(&a);
}

static void test_strings(void)
{
    struct arena a;
    arena_init(&a, 64);
    CU_ASSERT_STRING_EQUAL(arena_strndup(&a, "hello world", 5), "hello");
    CU_ASSERT_STRING_EQUAL(arena_sprintf(&a, "%s-%d", "x", 42), "x-42");
    char *long_s = arena_sprintf(&a, "%0300d", 7); /* longer than the block */
    CU_ASSERT_EQUAL(strlen(long_s), 300);
    arena_fini(&a);
}

static void test_cleanups_lifo_once(void)
{
    struct arena a;
    arena_init(&a, 128);
    norder = 0;
    arena_defer(&a, record, (void *)(intptr_t)1);
    arena_defer(&a, record, (void *)(intptr_t)2);
    arena_defer(&a, record, (void *)(intptr_t)3);
    arena_reset(&a);
    CU_ASSERT_EQUAL(norder, 3);
    CU_ASSERT_EQUAL(order[0], 3);
    CU_ASSERT_EQUAL(order[2], 1);
    arena_reset(&a);
    CU_ASSERT_EQUAL(norder, 3);
    arena_fini(&a);
}

int suite_arena_register(void)
{
    static const struct test_case cases[] = {
        {"alloc aligned and large", test_alloc_aligned_and_large},
        {"strings", test_strings},
        {"cleanups run LIFO once", test_cleanups_lifo_once},
        {NULL, NULL},
    };
    return test_add_suite("arena", cases);
}
