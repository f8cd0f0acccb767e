/* arena: per-request memory. Everything a request allocates comes from here and is
 * released in one place, arena_reset(), after the response is written. Foreign
 * objects (PGresult, json-c trees, redis replies) register a cleanup the moment they
 * are obtained, so no handler path can leak them. */
#ifndef RW_ARENA_H
#define RW_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_block;
struct arena_cleanup;

struct arena {
    struct arena_block *head;  /* current block; older ones chained behind */
    struct arena_block *first; /* kept across resets so a small request never mallocs */
    struct arena_cleanup *cleanups;
    size_t block_size;
};

void arena_init(struct arena *a, size_t block_size);
/* Runs cleanups (last registered first) and frees all but the first block. */
void arena_reset(struct arena *a);
void arena_fini(struct arena *a);

/* Returns 16-byte aligned memory, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_sprintf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vsprintf(struct arena *a, const char *fmt, va_list ap);
/* Registers fn(arg) to run at the next reset. Returns -1 (and runs fn(arg) at once,
 * so the object is not leaked) when out of memory. */
int arena_defer(struct arena *a, void (*fn)(void *), void *arg);

#endif
