/* ring: the last N events of the current epoch, in seq order with no holes, for
 * Last-Event-ID replay. The hub clears it whenever continuity is lost (a new epoch, a
 * missed seq, a Redis gap), so "seq is in the ring" always means "and every event after
 * it too". Bounded in events and in bytes: pushing into a full ring frees the oldest
 * events until the new one fits (a few huge frames must not hold the hub's memory). */
#ifndef RW_SSE_RING_H
#define RW_SSE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct sse_ring {
    struct sse_event *slots;
    size_t cap;
    size_t head; /* slot of the oldest event */
    size_t count;
    size_t bytes;     /* frame bytes held, for /metrics */
    size_t max_bytes; /* the most frame bytes held (the newest event is always kept) */
};

int sse_ring_init(struct sse_ring *r, size_t cap, size_t max_bytes);
void sse_ring_fini(struct sse_ring *r);
void sse_ring_clear(struct sse_ring *r);
/* Takes over ev (its frame included); ev->seq must be one more than the newest's. */
void sse_ring_push(struct sse_ring *r, struct sse_event *ev);
/* The event with this seq, or NULL when the ring does not hold it. */
const struct sse_event *sse_ring_get(const struct sse_ring *r, uint64_t seq);
/* Oldest and newest seq; 0 when empty. */
uint64_t sse_ring_first(const struct sse_ring *r);
uint64_t sse_ring_last(const struct sse_ring *r);

#endif
