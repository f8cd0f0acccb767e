/* event: parsing published messages and the stream's small grammars. The frame's data line
 * is the message exactly as published (one compact JSON line), re-serialised only if it
 * ever held a line break, which would end an SSE field early. A message is read with
 * jsonx_read (one pass, its nodes in an arena kept across messages) and only what that
 * cannot take as it is (a line break, a repeated key, deeper nesting, a number past 18
 * digits, bytes json-c lets through) or any refusal goes through json-c's tree, so both
 * roads give the same event and the same reason: json-c's tree of a claimed run's message
 * was half of the hub's CPU a message (docs/PERFORMANCE.md, "the claim's indexes, its
 * publish and the hub's parse"). */
#include "event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "jsonx.h"

_Static_assert(SSE_JSON_MAX_DEPTH >= JSONX_MAX_DEPTH + 8,
               "the hub must parse what the API publishes from what it accepts");

/* Index = bit. Keep in step with the types runwatch-api publishes (docs/CONTRACTS.md). */
static const char *const sse_types[] = {
    "run.created", "run.updated",    "run.event", "run.heartbeat", "run.metrics",
    "run.spans",   "worker.updated", "run.table", "worker.event",
};
#define SSE_N_TYPES (sizeof(sse_types) / sizeof(sse_types[0]))

uint32_t sse_type_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < SSE_N_TYPES; i++)
        if (strlen(sse_types[i]) == len && memcmp(sse_types[i], name, len) == 0)
            return 1u << i;
    return 0;
}

const char *sse_type_names(void)
{
    return "run.created, run.updated, run.event, run.heartbeat, run.metrics, run.spans, "
           "worker.updated, run.table, worker.event";
}

int sse_types_parse(const char *list, uint32_t *mask, char *bad, size_t badcap)
{
    uint32_t m = 0;

    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        uint32_t bit = sse_type_bit(p, n);

        if (!bit) {
            snprintf(bad, badcap, "%.*s", (int)(n > 64 ? 64 : n), p);
            return -1;
        }
        m |= bit;
        if (!p[n])
            break;
        p += n + 1;
    }
    *mask = m;
    return 0;
}

static int sse_epoch_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int sse_id_parse(const char *s, char epoch[SSE_EPOCH_MAX + 1], uint64_t *seq)
{
    const char *dash = strchr(s, '-');
    size_t elen;
    unsigned long long v;
    char *end;

    if (!dash)
        return -1;
    elen = (size_t)(dash - s);
    if (elen == 0 || elen > SSE_EPOCH_MAX)
        return -1;
    for (size_t i = 0; i < elen; i++)
        if (!sse_epoch_char(s[i]))
            return -1;
    if (dash[1] < '0' || dash[1] > '9')
        return -1;
    errno = 0;
    v = strtoull(dash + 1, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0)
        return -1;
    memcpy(epoch, s, elen);
    epoch[elen] = '\0';
    *seq = (uint64_t)v;
    return 0;
}

int sse_run_valid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != SSE_RUN_LEN)
        return 0;
    for (size_t i = 0; i < SSE_RUN_LEN; i++) {
        if (shape[i] == '-') {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

void sse_event_fini(struct sse_event *ev)
{
    free(ev->frame);
    ev->frame = NULL;
    ev->frame_len = 0;
}

/* The frame of a parsed message (ev's seq, epoch, project and run set; type is tlen bytes,
 * NUL-terminated; data the message, one line), or the stub past frame_max. -1 with why. */
static int sse_event_frame(struct sse_event *ev, const char *type, size_t tlen, const char *data,
                           size_t data_len, size_t frame_max, char *why, size_t whylen)
{
    char stub[320];
    size_t elen = strlen(ev->epoch);
    int n;

    if (frame_max && data_len > frame_max) {
        /* Too big to hand every viewer (and to keep for replay): the frame keeps its id,
         * type, project and run, says truncated, and viewers fetch what changed. */
        n = snprintf(
            stub, sizeof(stub),
            "{\"id\":%llu,\"epoch\":\"%s\",\"project\":%lld,\"type\":\"%s\",\"run\":%s%s%s,"
            "\"truncated\":true}",
            (unsigned long long)ev->seq, ev->epoch, (long long)ev->project, type,
            ev->run[0] ? "\"" : "", ev->run[0] ? ev->run : "null", ev->run[0] ? "\"" : "");
        if (n < 0 || (size_t)n >= sizeof(stub)) {
            snprintf(why, whylen, "frame too long");
            return -1;
        }
        data = stub;
        data_len = (size_t)n;
        ev->truncated = 1;
    }
    ev->frame_len = 4 + elen + 1 + 20 + 8 + tlen + 7 + data_len + 3;
    ev->frame = malloc(ev->frame_len);
    if (!ev->frame) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    n = snprintf(ev->frame, ev->frame_len, "id: %s-%llu\nevent: %s\ndata: %.*s\n\n", ev->epoch,
                 (unsigned long long)ev->seq, type, (int)data_len, data);
    if (n < 0 || (size_t)n >= ev->frame_len) {
        snprintf(why, whylen, "frame too long");
        return -1;
    }
    ev->frame_len = (size_t)n;
    return 0;
}

/* A whole number of at most 18 digits (no sign check: the caller's range does it), as
 * json-c's int64 of it; -1 when it is not one, or longer (json-c's tree decides those). */
static int sse_small_int(const struct jsonx_val *v, int64_t *out)
{
    const char *p = v->s, *end = v->s + v->len;
    int neg = 0, digits = 0;
    int64_t x = 0;

    if (v->kind != JSONX_NUMBER || !v->integer)
        return -1;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (; p < end; p++, digits++) {
        if (*p < '0' || *p > '9' || digits >= 18)
            return -1;
        x = x * 10 + (*p - '0');
    }
    if (!digits)
        return -1;
    *out = neg ? -x : x;
    return 0;
}

/* The common message (one line, read by jsonx_read, every field as the hub needs it) into
 * ev with its frame: 0. 1 when json-c's tree must decide (sse_event_parse_tree), which
 * also says why a message is refused. */
static int sse_event_parse_fast(const char *payload, size_t len, size_t frame_max,
                                struct sse_event *ev, char *why, size_t whylen)
{
    static struct arena arena;
    static int arena_ready;
    struct jsonx_val root;
    const struct jsonx_val *v;
    char type[65];
    size_t tlen;
    int64_t x;
    int nul, rc = 1;

    /* json-c's tree refuses anything after the closing brace, jsonx_read lets whitespace
     * through: such a message is the tree's to refuse. */
    if (!len || payload[len - 1] != '}' || memchr(payload, '\n', len) || memchr(payload, '\r', len))
        return 1;
    if (!arena_ready) {
        arena_init(&arena, 16384);
        arena_ready = 1;
    }
    /* jsonx_read refuses a repeated key, so each key below is there once, as in json-c's
     * tree (which keeps the last of a repeated key). */
    if (jsonx_read(&arena, payload, len, &root, &nul) != 0 || root.kind != JSONX_OBJECT)
        goto out;
    if (!(v = jsonx_get(&root, "id")) || sse_small_int(v, &x) != 0 || x <= 0)
        goto out;
    ev->seq = (uint64_t)x;
    if (!(v = jsonx_get(&root, "epoch")) || v->kind != JSONX_STRING || v->len == 0 ||
        v->len > SSE_EPOCH_MAX)
        goto out;
    for (size_t i = 0; i < v->len; i++)
        if (!sse_epoch_char(v->s[i]))
            goto out;
    memcpy(ev->epoch, v->s, v->len);
    ev->epoch[v->len] = '\0';
    if (!(v = jsonx_get(&root, "project")) || sse_small_int(v, &x) != 0)
        goto out;
    ev->project = x;
    if (!(v = jsonx_get(&root, "type")) || v->kind != JSONX_STRING || v->len == 0 || v->len > 64 ||
        memchr(v->s, '\0', v->len) || memchr(v->s, '\n', v->len) || memchr(v->s, '\r', v->len))
        goto out;
    tlen = v->len;
    memcpy(type, v->s, tlen);
    type[tlen] = '\0';
    ev->reset = tlen == sizeof(SSE_RESET_TYPE) - 1 && memcmp(type, SSE_RESET_TYPE, tlen) == 0;
    ev->type_bit = sse_type_bit(type, tlen);
    if (!ev->type_bit)
        ev->type_bit = 1u << SSE_TYPE_OTHER;
    if ((v = jsonx_get(&root, "run")) && v->kind != JSONX_NULL) {
        if (v->kind != JSONX_STRING || v->len != SSE_RUN_LEN)
            goto out;
        memcpy(ev->run, v->s, SSE_RUN_LEN);
        ev->run[SSE_RUN_LEN] = '\0';
        if (!sse_run_valid(ev->run))
            goto out;
    }
    if (sse_event_frame(ev, type, tlen, payload, len, frame_max, why, whylen) == 0)
        rc = 0;
out:
    arena_reset(&arena);
    if (rc != 0) {
        sse_event_fini(ev);
        memset(ev, 0, sizeof(*ev));
    }
    return rc;
}

/* The same through json-c's tree: every message the fast road leaves, and the reasons. */
int sse_event_parse_tree(const char *payload, size_t len, size_t frame_max, struct sse_event *ev,
                         char *why, size_t whylen)
{
    json_tokener *tok = json_tokener_new_ex(SSE_JSON_MAX_DEPTH);
    json_object *o = NULL, *v;
    const char *data = payload, *type, *epoch;
    size_t data_len = len, tlen, elen;
    int rc = -1;

    memset(ev, 0, sizeof(*ev));
    if (!tok) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    o = json_tokener_parse_ex(tok, payload, (int)len);
    if (!o || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) <= 0) {
        snprintf(why, whylen, "no positive integer id");
        goto out;
    }
    ev->seq = (uint64_t)json_object_get_int64(v);
    if (!json_object_object_get_ex(o, "epoch", &v) || !json_object_is_type(v, json_type_string) ||
        (elen = (size_t)json_object_get_string_len(v)) == 0 || elen > SSE_EPOCH_MAX) {
        snprintf(why, whylen, "no epoch");
        goto out;
    }
    epoch = json_object_get_string(v);
    for (size_t i = 0; i < elen; i++)
        if (!sse_epoch_char(epoch[i])) {
            snprintf(why, whylen, "bad epoch");
            goto out;
        }
    memcpy(ev->epoch, epoch, elen + 1);
    if (!json_object_object_get_ex(o, "project", &v) || !json_object_is_type(v, json_type_int)) {
        snprintf(why, whylen, "no integer project");
        goto out;
    }
    ev->project = json_object_get_int64(v);
    if (!json_object_object_get_ex(o, "type", &v) || !json_object_is_type(v, json_type_string) ||
        (tlen = (size_t)json_object_get_string_len(v)) == 0 || tlen > 64) {
        snprintf(why, whylen, "no type");
        goto out;
    }
    type = json_object_get_string(v);
    /* The type becomes the `event:` line: it must not carry a line break. */
    if (strcspn(type, "\r\n") != tlen) {
        snprintf(why, whylen, "bad type");
        goto out;
    }
    ev->reset = tlen == sizeof(SSE_RESET_TYPE) - 1 && memcmp(type, SSE_RESET_TYPE, tlen) == 0;
    ev->type_bit = sse_type_bit(type, tlen);
    if (!ev->type_bit)
        ev->type_bit = 1u << SSE_TYPE_OTHER;
    if (json_object_object_get_ex(o, "run", &v) && v) {
        if (!json_object_is_type(v, json_type_string) ||
            !sse_run_valid(json_object_get_string(v))) {
            snprintf(why, whylen, "bad run");
            goto out;
        }
        memcpy(ev->run, json_object_get_string(v), SSE_RUN_LEN + 1);
    }
    if (memchr(payload, '\n', len) || memchr(payload, '\r', len))
        data = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &data_len);
    if (!data) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (sse_event_frame(ev, type, tlen, data, data_len, frame_max, why, whylen) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        sse_event_fini(ev);
    json_object_put(o);
    if (tok)
        json_tokener_free(tok);
    return rc;
}

int sse_event_parse(const char *payload, size_t len, size_t frame_max, struct sse_event *ev,
                    char *why, size_t whylen)
{
    int rc;

    memset(ev, 0, sizeof(*ev));
    rc = sse_event_parse_fast(payload, len, frame_max, ev, why, whylen);
    return rc > 0 ? sse_event_parse_tree(payload, len, frame_max, ev, why, whylen) : rc;
}
