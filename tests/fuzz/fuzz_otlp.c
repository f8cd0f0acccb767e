/* fuzz_otlp: libFuzzer target for otlp_pb_decode, the OTLP protobuf decoder of trace
 * requests. Whatever the bytes, it refuses them with a message or builds a tree, never
 * crashes or leaks; and a tree it builds must be one the JSON path reads alike (its text,
 * jsonx_out_val's, parses again with jsonx_parse, depth, UTF-8 and numbers, and jsonx_read
 * makes the same text of it again), since one ingest walk reads both.
 * `make fuzz` builds and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jsonx.h"
#include "otlp_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonx_err err = {{0}, {0}};
    struct arena a;
    struct jsonx_val root, again;
    struct jsonx_out o, o2;
    const char *text, *text2;
    size_t len = 0, len2 = 0;
    int nul = 0;

    arena_init(&a, 4096);
    if (otlp_pb_decode(&a, data, size, &root, &err) != 0) {
        if (strncmp(err.message, "malformed protobuf: ", 20) != 0 &&
            strcmp(err.message, "out of memory") != 0) {
            fprintf(stderr, "a refusal without its message: \"%s\" (%s)\n", err.message, err.field);
            abort();
        }
        arena_fini(&a);
        return 0;
    }
    jsonx_out_init(&o, &a, 256);
    jsonx_out_val(&o, &root);
    text = jsonx_out_end(&o, &len);
    if (text) {
        json_object *parsed = jsonx_parse(text, len, &err);
        if (!parsed) {
            fprintf(stderr, "a decoded request the JSON path refuses: %s (%s)\n", err.message,
                    err.field);
            abort();
        }
        json_object_put(parsed);
        if (jsonx_read(&a, text, len, &again, &nul) != 0) {
            fprintf(stderr, "a decoded request jsonx_read refuses\n");
            abort();
        }
        jsonx_out_init(&o2, &a, 256);
        jsonx_out_val(&o2, &again);
        text2 = jsonx_out_end(&o2, &len2);
        if (text2 && (len2 != len || memcmp(text, text2, len) != 0)) {
            fprintf(stderr, "jsonx_read reads a decoded request otherwise\n");
            abort();
        }
    }
    arena_fini(&a);
    return 0;
}
