/* fuzz_jsonread: the differential target of jsonx_read, the read-only tree for bulk input,
 * against jsonx_parse, json-c's tree every other body goes through. On the same bytes both
 * must accept or both refuse (jsonx_read takes only an object or an array at the top); an
 * accepted document must hold the same values in both trees (kinds, numbers, strings, keys
 * in order, a container's text from its bracket to its bracket), the same NUL flag as
 * jsonx_find_nul, the same answers from the field getters of both trees (values and error
 * texts), and jsonx_vredacts must say 1 exactly when jsonx_redact replaces something. Built
 * from jsonx.c and arena.c alone, so `make test` runs it briefly (FUZZ_SHORT_TARGETS). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_jsonread: %s\n", what);
    abort();
}

/* jsonx_val_matches, saying what differs before the target stops. */
static int same(const struct jsonx_val *v, json_object *o)
{
    int ok = jsonx_val_matches(v, o);
    if (!ok)
        fprintf(stderr, "differs: kind %d, text %.*s; json-c %s\n", v->kind,
                (int)(v->len > 200 ? 200 : v->len), v->s ? v->s : "",
                json_object_to_json_string(o));
    return ok;
}

static void same_err(int rc1, const struct jsonx_err *e1, int rc2, const struct jsonx_err *e2)
{
    if (rc1 != rc2)
        fail("the getters of the two trees disagree");
    if (rc1 && (strcmp(e1->field, e2->field) != 0 || strcmp(e1->message, e2->message) != 0))
        fail("the getters of the two trees word an error differently");
}

/* Every getter of both trees on one key of the top object. */
static void same_getters(const struct jsonx_val *root, json_object *ref, const char *key)
{
    static const char *const allowed[] = {"info", "a", "", NULL};
    struct jsonx_err e1, e2;
    const char *s1 = NULL, *s2 = NULL;
    size_t n2 = 0;
    json_object *c1 = NULL;
    const struct jsonx_val *c2 = NULL;
    int rc;

    for (unsigned flags = 0; flags < 4; flags++) {
        rc = jsonx_string(ref, key, flags, 1, 40, &s1, NULL, &e1);
        same_err(rc, &e1, jsonx_vstring(root, key, flags, 1, 40, &s2, &n2, NULL, &e2), &e2);
        if (rc == 0 && s1 && (!s2 || strlen(s1) != n2 || memcmp(s1, s2, n2) != 0))
            fail("jsonx_vstring's text is not jsonx_string's");
        s1 = s2 = NULL;
        rc = jsonx_enum(ref, key, flags, allowed, &s1, NULL, &e1);
        same_err(rc, &e1, jsonx_venum(root, key, flags, allowed, &s2, NULL, &e2), &e2);
        if (rc == 0 && s1 != s2)
            fail("jsonx_venum's choice is not jsonx_enum's");
        rc = jsonx_child(ref, key, flags, json_type_object, &c1, NULL, &e1);
        same_err(rc, &e1, jsonx_vchild(root, key, flags, JSONX_OBJECT, &c2, NULL, &e2), &e2);
        rc = jsonx_child(ref, key, flags, json_type_array, &c1, NULL, &e1);
        same_err(rc, &e1, jsonx_vchild(root, key, flags, JSONX_ARRAY, &c2, NULL, &e2), &e2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const patterns[] = {"password", "token", "secret", "a b", NULL};
    static const char *const keys[] = {"ts", "kind", "level", "message", "data", "events", NULL};
    struct arena a;
    struct jsonx_err err, e2;
    struct jsonx_val root;
    int nul = 0;
    char *body = malloc(size ? size : 1);

    if (!body)
        return 0;
    /* Exactly size bytes, unterminated, as serve.c hands a body over. */
    memcpy(body, data, size);
    arena_init(&a, 4096);
    int fast = jsonx_read(&a, body, size, &root, &nul) == 0;
    json_object *ref = jsonx_parse(body, size, &err);
    int slow = ref && (json_object_is_type(ref, json_type_object) ||
                       json_object_is_type(ref, json_type_array));
    if (fast != slow) {
        fprintf(stderr, "jsonx_read %s, jsonx_parse %s (%s)\n", fast ? "accepts" : "refuses",
                ref ? "accepts" : "refuses", ref ? "" : err.message);
        fail("the two readings disagree on a document");
    }
    if (fast) {
        char path[256] = "";
        if (!same(&root, ref))
            fail("the two trees hold different values");
        if (root.s < body || root.s + root.len > body + size)
            fail("the document's text is not the body's");
        if (!nul != !jsonx_find_nul(ref, path, sizeof(path)))
            fail("the NUL flag is not jsonx_find_nul's");
        if (root.kind == JSONX_OBJECT) {
            same_err(jsonx_only_keys(ref, keys, &err), &err, jsonx_vonly_keys(&root, keys, &e2),
                     &e2);
            for (uint32_t i = 0; i < root.n && i < 8; i++) {
                char key[64];
                snprintf(key, sizeof(key), "%.*s", (int)root.members[i].key_len,
                         root.members[i].key);
                same_getters(&root, ref, key);
            }
            same_getters(&root, ref, "absent");
        }
        /* Last: jsonx_redact changes ref. */
        if (jsonx_vredacts(&root, patterns) != (jsonx_redact(ref, patterns) > 0))
            fail("jsonx_vredacts is not what jsonx_redact did");
    }
    json_object_put(ref);
    arena_fini(&a);
    free(body);
    return 0;
}
