/* fuzz_flagschema: libFuzzer target for the flag schema inference (flagschema.c), which
 * walks experiments' flags: any JSON object a member sent (paths at any depth jsonx_parse
 * allows, keys of any length, every kind of value). The input is split at its first NUL
 * byte into two documents added to one schema, like two experiments of a project; the
 * schema must serialise, name each path at most once, and count both documents. `make
 * fuzz` builds and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flagschema.h"
#include "jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *nul = memchr(data, '\0', size);
    size_t n1 = nul ? (size_t)(nul - text) : size;
    struct jsonx_err err;
    struct flagschema s;
    json_object *a = jsonx_parse(text, n1, &err), *b = NULL, *out, *paths, *docs;

    if (nul)
        b = jsonx_parse(nul + 1, size - n1 - 1, &err);
    flagschema_init(&s);
    if (flagschema_add(&s, a) || flagschema_add(&s, b))
        abort(); /* only out of memory fails */
    out = flagschema_json(&s);
    if (!out || !json_object_object_get_ex(out, "paths", &paths) ||
        !json_object_object_get_ex(out, "documents", &docs) || json_object_get_int64(docs) != 2)
        abort();
    for (size_t i = 1; i < json_object_array_length(paths); i++) {
        json_object *p, *q;
        json_object_object_get_ex(json_object_array_get_idx(paths, i - 1), "path", &p);
        json_object_object_get_ex(json_object_array_get_idx(paths, i), "path", &q);
        if (strcmp(json_object_get_string(p), json_object_get_string(q)) >= 0) {
            fprintf(stderr, "paths not sorted and distinct: %s, %s\n", json_object_get_string(p),
                    json_object_get_string(q));
            abort();
        }
    }
    (void)jsonx_to_string(out, NULL);
    json_object_put(out);
    flagschema_fini(&s);
    json_object_put(a);
    json_object_put(b);
    return 0;
}
