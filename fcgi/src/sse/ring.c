/* ring: a circular array of events addressed by seq. Contiguity (checked by the hub before
 * each push) makes lookup arithmetic: slot = head + (seq - first). */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

int sse_ring_init(struct sse_ring *r, size_t cap, size_t max_bytes)
{
    memset(r, 0, sizeof(*r));
    r->slots = calloc(cap, sizeof(*r->slots));
    if (!r->slots)
        return -1;
    r->cap = cap;
    r->max_bytes = max_bytes;
    return 0;
}

static void sse_ring_drop_oldest(struct sse_ring *r)
{
    r->bytes -= r->slots[r->head].frame_len;
    sse_event_fini(&r->slots[r->head]);
    r->head = (r->head + 1) % r->cap;
    r->count--;
}

void sse_ring_clear(struct sse_ring *r)
{
    for (size_t i = 0; i < r->count; i++)
        sse_event_fini(&r->slots[(r->head + i) % r->cap]);
    r->head = 0;
    r->count = 0;
    r->bytes = 0;
}

void sse_ring_fini(struct sse_ring *r)
{
    if (!r->slots)
        return;
    sse_ring_clear(r);
    free(r->slots);
    r->slots = NULL;
}

void sse_ring_push(struct sse_ring *r, struct sse_event *ev)
{
    /* The oldest go first: what stays is still a gap-free run ending at the newest. */
    while (r->count == r->cap || (r->count && r->bytes + ev->frame_len > r->max_bytes))
        sse_ring_drop_oldest(r);
    r->slots[(r->head + r->count) % r->cap] = *ev;
    r->count++;
    r->bytes += ev->frame_len;
    memset(ev, 0, sizeof(*ev));
}

uint64_t sse_ring_first(const struct sse_ring *r)
{
    return r->count ? r->slots[r->head].seq : 0;
}

uint64_t sse_ring_last(const struct sse_ring *r)
{
    return r->count ? r->slots[(r->head + r->count - 1) % r->cap].seq : 0;
}

const struct sse_event *sse_ring_get(const struct sse_ring *r, uint64_t seq)
{
    uint64_t first = sse_ring_first(r);

    if (!r->count || seq < first || seq - first >= r->count)
        return NULL;
    return &r->slots[(r->head + (size_t)(seq - first)) % r->cap];
}
