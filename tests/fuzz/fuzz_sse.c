/* fuzz_sse: libFuzzer target for what runwatch-sse parses: the project list nginx passes
 * in X-Runwatch-Projects ("[1,2,3]") and the ?project= filter (sse_http_parse_ids, a
 * static function of sse/http.c, which is compiled into this file for it), ?types=, the
 * Last-Event-ID a browser sends back, ?run=, and a message published on Redis
 * (sse_event_parse, held to its json-c road, sse_event_parse_tree, byte for byte). The
 * first input byte picks the parser, the rest is its input.
 * `make fuzz` builds and runs it (tests/fuzz/README.md). */
#include "sse/http.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, bad[80], why[128], epoch[SSE_EPOCH_MAX + 1];
    int64_t *ids = NULL;
    size_t n = 0;
    uint32_t mask;
    uint64_t seq;
    struct sse_event ev;

    if (size == 0)
        return 0;
    s = malloc(size);
    if (!s)
        return 0;
    /* The rest of the input as a C string (headers and query values are). */
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 6) {
    case 0:
        if (sse_http_parse_ids(s, 1, SIZE_MAX / sizeof(int64_t), &ids, &n) == 0)
            for (size_t i = 1; i < n; i++)
                if (ids[i - 1] >= ids[i])
                    abort(); /* sorted and without repeats, as bsearch needs */
        break;
    case 1:
        (void)sse_http_parse_ids(s, 0, SSE_HTTP_MAX_PROJECT_FILTER, &ids, &n);
        if (n > SSE_HTTP_MAX_PROJECT_FILTER)
            abort();
        break;
    case 2:
        (void)sse_types_parse(s, &mask, bad, sizeof(bad));
        break;
    case 3:
        (void)sse_id_parse(s, epoch, &seq);
        break;
    case 4:
        (void)sse_run_valid(s);
        break;
    default: {
        /* Exactly the payload, unterminated, as hiredis hands a message over (an over-read
         * is caught); a small frame cap, so stubs are made too. */
        char *msg = malloc(size - 1 ? size - 1 : 1);
        if (!msg)
            break;
        memcpy(msg, data + 1, size - 1);
        memset(&ev, 0, sizeof(ev));
        {
            /* The common road (jsonx_read) must give what json-c's tree gives: the same
             * answer, reason, fields and frame bytes. */
            struct sse_event ref;
            char why_ref[128];
            int rc = sse_event_parse(msg, size - 1, 256, &ev, why, sizeof(why));
            int rc_ref = sse_event_parse_tree(msg, size - 1, 256, &ref, why_ref, sizeof(why_ref));
            if (rc != rc_ref || (rc != 0 && strcmp(why, why_ref) != 0))
                abort();
            if (rc == 0 &&
                (ev.seq != ref.seq || ev.project != ref.project || ev.type_bit != ref.type_bit ||
                 ev.truncated != ref.truncated || ev.reset != ref.reset ||
                 strcmp(ev.epoch, ref.epoch) != 0 || strcmp(ev.run, ref.run) != 0 ||
                 ev.frame_len != ref.frame_len || memcmp(ev.frame, ref.frame, ev.frame_len) != 0))
                abort();
            if (rc == 0) {
                sse_event_fini(&ev);
                sse_event_fini(&ref);
            }
        }
        free(msg);
        break;
    }
    }
    free(ids);
    free(s);
    return 0;
}
