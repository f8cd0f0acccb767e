/* fuzz_otlp: libFuzzer target for otlp_pb_decode, the OTLP protobuf decoder of trace
 * requests. Whatever the bytes, it refuses them with a message or builds a tree, never
 * crashes or leaks; and a tree it builds must be one the JSON path accepts too (its text
 * parses again with jsonx_parse: depth, UTF-8, numbers), since one ingest reads both.
 * `make fuzz` builds and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "otlp_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonx_err err = {{0}, {0}};
    json_object *obj = otlp_pb_decode(data, size, &err);

    if (!obj) {
        if (strncmp(err.message, "malformed protobuf: ", 20) != 0 &&
            strcmp(err.message, "out of memory") != 0) {
            fprintf(stderr, "a refusal without its message: \"%s\" (%s)\n", err.message, err.field);
            abort();
        }
        return 0;
    }
    {
        size_t len = 0;
        const char *text = jsonx_to_string(obj, &len);
        json_object *again = text ? jsonx_parse(text, len, &err) : NULL;
        if (text && !again) {
            fprintf(stderr, "a decoded request the JSON path refuses: %s (%s)\n", err.message,
                    err.field);
            abort();
        }
        json_object_put(again);
    }
    json_object_put(obj);
    return 0;
}
