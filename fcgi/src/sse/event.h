/* event: one message of runwatch:events as the hub keeps it — the fields the filters need
 * and the SSE frame, built once and copied to every client that may see it. Also the
 * grammar of the stream's ids ("<epoch>-<seq>"), its event types and run ids. Pure code:
 * no I/O, so the unit tests cover it. */
#ifndef RW_SSE_EVENT_H
#define RW_SSE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define SSE_EPOCH_MAX 32
/* How deep a published message may nest. runwatch-api accepts client JSON up to
 * JSONX_MAX_DEPTH and publishes it a few levels deeper (a run.event frame holds an event's
 * data at depth 5, one level under where a batch had it); refusing such a message would
 * cost every client a reset. Twice the API's limit leaves room to spare. */
#define SSE_JSON_MAX_DEPTH 64
#define SSE_RUN_LEN        36
/* Types the hub does not know (a newer runwatch-api) share this bit: clients without a
 * types filter get them, a filter cannot name them. */
#define SSE_TYPE_OTHER 31u

struct sse_event {
    uint64_t seq;
    int64_t project;
    uint32_t type_bit; /* 1u << index in the type table, or 1u << SSE_TYPE_OTHER */
    char epoch[SSE_EPOCH_MAX + 1];
    char run[SSE_RUN_LEN + 1]; /* "" when the event is about no run */
    char *frame;               /* "id: …\nevent: …\ndata: …\n\n", owned (malloc) */
    size_t frame_len;
    int truncated; /* the payload was past frame_max: the frame carries a stub */
    int reset;     /* type SSE_RESET_TYPE: not a frame, an order to reset every stream */
};

/* The type of the message runwatch-api's master publishes when a worker died between a
 * COMMIT and its publish (PUB_TYPE_RESET in pub.h): streams may have missed a change. */
#define SSE_RESET_TYPE "reset"

/* Parses a published message into ev and builds its frame. -1 with a reason in why when
 * the message lacks a field the hub needs (id, epoch, project, type) or is not JSON. A
 * payload of more than frame_max bytes (0: no cap) gets a stub frame instead, with its
 * id, type, project and run and "truncated":true, and ev->truncated set. */
int sse_event_parse(const char *payload, size_t len, size_t frame_max, struct sse_event *ev,
                    char *why, size_t whylen);
/* sse_event_parse through json-c's tree only (what it does with every message jsonx_read
 * cannot take as it is): the reference the tests and the fuzz target hold the common road
 * to. */
int sse_event_parse_tree(const char *payload, size_t len, size_t frame_max, struct sse_event *ev,
                         char *why, size_t whylen);
/* Frees the frame; ev may be parsed into again. */
void sse_event_fini(struct sse_event *ev);

/* The bit of a known type name, 0 when unknown. */
uint32_t sse_type_bit(const char *name, size_t len);
/* A comma list of type names to a mask. -1 when a name is unknown (copied to bad). */
int sse_types_parse(const char *list, uint32_t *mask, char *bad, size_t badcap);
/* The known names, comma separated, for error messages. */
const char *sse_type_names(void);

/* "<epoch>-<seq>" as the hub sends it in `id:`. -1 when s has another shape. */
int sse_id_parse(const char *s, char epoch[SSE_EPOCH_MAX + 1], uint64_t *seq);
/* A run id the way PostgreSQL prints a uuid (lowercase, 8-4-4-4-12). */
int sse_run_valid(const char *s);

#endif
