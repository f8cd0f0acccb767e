/* events: the append-only log of a run. */
#ifndef RW_API_EVENTS_H
#define RW_API_EVENTS_H

#include "req.h"

#define EVENTS_MAX_BATCH 1000
/* The most event JSON (the `events` array, brackets included) a run.event frame carries;
 * past it the frame carries only the ids and `truncated`, and viewers fetch
 * (docs/CONTRACTS.md, "Live events"). It bounds the frame, and so what the hub's ring and
 * every stream's buffer hold per message: 32 KiB holds about 100 typical lines (a second
 * of a busy log) and stays small beside a stream's 256 KiB buffer. sql/statements/events.sql
 * skips rendering a batch that cannot fit it: keep the two in step. */
#define EVENTS_LIVE_MAX_BYTES 32768

int events_create(struct req *r);
/* One item of an events batch ({ts, kind, level, message, data}), for req_vbatch: 0, or -1
 * with a 400 naming the field (events[3].level). */
int events_check(struct req *r, const struct jsonx_val *e, long idx);
/* A batch checked by events_check (req_vbatch: the array, or the lone event) as the text of
 * the jsonb array the insert statements take, in the arena; NULL when out of memory. When
 * redaction would change nothing (jsonx_vredacts) a batch's text is the array as sent
 * (jsonx_read accepted it, so PostgreSQL reads the same values): printing a tree again cost a
 * 120 KB batch 330 µs (docs/PERFORMANCE.md). A batch with a secret, and a lone event, are
 * json-c's tree of the body, redacted and printed. */
const char *events_text(struct req *r, const struct jsonx_val *batch);
int events_list(struct req *r);
/* The paging of an event log (a run's, a worker's): ?limit, ?order=asc|desc, ?after= (asc)
 * or ?before= (desc), checked (a 400 naming the field, -1); *from is the id the page starts
 * from, as the list statements take it ("0": the start). */
int events_page_params(struct req *r, long *limit, int *desc, const char **from);

#endif
