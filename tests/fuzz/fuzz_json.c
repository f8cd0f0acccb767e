/* fuzz_json: libFuzzer target for the JSON input checks every request body goes through
 * (req_json_body: the media type, jsonx_parse's prescan of numbers, repeated keys, UTF-8
 * and depth, then the NUL walk), and for what the API does next with an accepted tree
 * (redaction, serialising it back). An accepted document must serialise to text that
 * jsonx_parse accepts again: what the API stores, it must be able to read back (a batch's
 * text as sent, jsonx_read's reading, is held to json-c's by fuzz_jsonread.c). `make fuzz` builds
 * and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jsonx.h"
#include "req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const patterns[] = {"password", "token", "secret", NULL};
    struct arena a;
    struct req r;
    struct jsonx_err err;
    json_object *obj;
    char *body = malloc(size ? size : 1);

    if (!body)
        return 0;
    /* Exactly size bytes, unterminated, as serve.c hands a body over. */
    memcpy(body, data, size);
    arena_init(&a, 4096);
    req_init(&r, &a);
    r.content_type = "application/json; charset=utf-8";
    r.body = body;
    r.body_len = size;
    obj = req_json_body(&r);
    if (obj) {
        size_t len = 0;
        json_object *copy;
        const char *text;
        char path[256] = "";

        (void)jsonx_find_nul(obj, path, sizeof(path));
        (void)jsonx_redact(obj, patterns);
        text = jsonx_to_string(obj, &len);
        if (text) {
            copy = jsonx_parse(text, len, &err);
            if (!copy) {
                fprintf(stderr, "accepted JSON does not parse again: %s (%s)\n", err.message,
                        err.field);
                abort();
            }
            json_object_put(copy);
        }
    }
    /* The parse entry on its own, whatever the document's top-level type. */
    obj = jsonx_parse(body, size, &err);
    json_object_put(obj);
    arena_fini(&a);
    free(body);
    return 0;
}
