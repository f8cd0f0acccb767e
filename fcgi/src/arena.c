/* arena: a chain of bump-allocated blocks plus a LIFO list of cleanups. The first
 * block survives resets, so a steady stream of small requests allocates nothing
 * from malloc after warm-up. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct arena_cleanup {
    void (*fn)(void *);
    void *arg;
    struct arena_cleanup *next;
};

#define ARENA_ALIGN 16

static struct arena_block *arena_block_new(size_t cap)
{
    struct arena_block *b = malloc(sizeof(*b) + cap);
    if (!b)
        return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

void arena_init(struct arena *a, size_t block_size)
{
    a->head = NULL;
    a->first = NULL;
    a->cleanups = NULL;
    a->block_size = block_size ? block_size : 16384;
}

void arena_reset(struct arena *a)
{
    struct arena_cleanup *c = a->cleanups;
    struct arena_block *b;

    /* Cleanups live in the arena's own blocks: run them all before freeing any. */
    while (c) {
        c->fn(c->arg);
        c = c->next;
    }
    a->cleanups = NULL;
    b = a->head;
    while (b && b != a->first) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = a->first;
    if (a->first) {
        a->first->used = 0;
        a->first->next = NULL;
    }
}

void arena_fini(struct arena *a)
{
    arena_reset(a);
    free(a->first);
    a->first = NULL;
    a->head = NULL;
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_block *b = a->head;
    size_t need;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (!a->first) {
        /* The kept block has the standard size even when the first request is large. */
        a->first = arena_block_new(a->block_size);
        if (!a->first)
            return NULL;
        a->head = b = a->first;
    }
    if (b->cap - b->used < need) {
        size_t cap = need > a->block_size ? need : a->block_size;
        struct arena_block *nb = arena_block_new(cap);
        if (!nb)
            return NULL;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *arena_calloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_vsprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_sprintf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char *p;
    va_start(ap, fmt);
    p = arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int arena_defer(struct arena *a, void (*fn)(void *), void *arg)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    if (!c) {
        fn(arg);
        return -1;
    }
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}
