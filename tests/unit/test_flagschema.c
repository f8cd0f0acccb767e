/* flagschema: types inferred from flag values (fcgi/src/flagschema.c): mixed integers and
 * floats, nested objects walked, arrays as leaves, nulls, few distinct strings (a choice)
 * against many (a string), and incompatible kinds (mixed). */
#include <stdio.h>
#include <string.h>

#include "flagschema.h"
#include "jsonx.h"
#include "suites.h"

/* The schema of docs (JSON texts), as a tree the caller puts. */
static json_object *infer(const char *const *docs, size_t n)
{
    struct flagschema s;
    struct jsonx_err je;
    json_object *out;

    flagschema_init(&s);
    for (size_t i = 0; i < n; i++) {
        json_object *d = jsonx_parse(docs[i], strlen(docs[i]), &je);
        CU_ASSERT_PTR_NOT_NULL(d);
        CU_ASSERT_EQUAL(flagschema_add(&s, d), 0);
        json_object_put(d);
    }
    out = flagschema_json(&s);
    flagschema_fini(&s);
    return out;
}

/* The path's object in schema, or NULL. */
static json_object *path_of(json_object *schema, const char *path)
{
    json_object *paths, *p, *v;

    if (!json_object_object_get_ex(schema, "paths", &paths))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(paths); i++) {
        p = json_object_array_get_idx(paths, i);
        if (json_object_object_get_ex(p, "path", &v) &&
            strcmp(json_object_get_string(v), path) == 0)
            return p;
    }
    return NULL;
}

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "(missing)";
}

static int64_t int_of(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static size_t nvalues(json_object *o)
{
    json_object *v;
    return o && json_object_object_get_ex(o, "values", &v) ? json_object_array_length(v) : 0;
}

static void test_numbers(void)
{
    const char *docs[] = {"{\"lr\": 1, \"nodes\": 2}", "{\"lr\": 0.5, \"nodes\": 4}",
                          "{\"lr\": 1, \"nodes\": 8}"};
    json_object *s = infer(docs, 3);

    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "lr"), "type"), "float");
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "nodes"), "type"), "integer");
    CU_ASSERT_EQUAL(int_of(path_of(s, "nodes"), "min"), 2);
    CU_ASSERT_EQUAL(int_of(path_of(s, "nodes"), "max"), 8);
    CU_ASSERT_EQUAL(nvalues(path_of(s, "lr")), 2); /* 1 and 0.5: 1 seen twice */
    CU_ASSERT_EQUAL(nvalues(path_of(s, "nodes")), 3);
    CU_ASSERT_EQUAL(int_of(s, "documents"), 3);
    json_object_put(s);
}

static void test_nested_arrays_nulls(void)
{
    const char *docs[] = {
        "{\"model\": {\"layers\": 4, \"act\": {\"name\": \"relu\"}}, \"dims\": [1, 2], "
        "\"seed\": null, \"empty\": {}}",
        "{\"model\": {\"layers\": 8, \"act\": {\"name\": \"gelu\"}}, \"dims\": [3], \"seed\": 7, "
        "\"flag\": true}",
        "{\"model\": null}",
    };
    json_object *s = infer(docs, 3), *keys;

    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "model.layers"), "type"), "integer");
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "model.act.name"), "type"), "choice");
    CU_ASSERT_TRUE(json_object_object_get_ex(path_of(s, "model.act.name"), "keys", &keys));
    CU_ASSERT_EQUAL(json_object_array_length(keys), 3);
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "dims"), "type"), "array");
    CU_ASSERT_EQUAL(nvalues(path_of(s, "dims")), 2);
    CU_ASSERT_PTR_NULL(path_of(s, "dims.0")); /* arrays are leaves */
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "seed"), "type"), "integer");
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "seed"), "nullable"), "true");
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "flag"), "type"), "boolean");
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "empty"), "type"), "object");
    /* A null where others have an object: the object's paths stay, and model itself is a
     * null-only leaf beside them. */
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "model"), "type"), "null");
    json_object_put(s);
}

static void test_choice_vs_string(void)
{
    const char *few[12], *many[30];
    char buf[30][64];

    for (int i = 0; i < 12; i++) {
        snprintf(buf[i], sizeof(buf[i]), "{\"opt\": \"%s\"}",
                 i % 3 == 0   ? "adam"
                 : i % 3 == 1 ? "sgd"
                              : "lion");
        few[i] = buf[i];
    }
    json_object *s = infer(few, 12);
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "opt"), "type"), "choice");
    CU_ASSERT_EQUAL(nvalues(path_of(s, "opt")), 3);
    json_object_put(s);
    for (int i = 0; i < 30; i++) {
        snprintf(buf[i], sizeof(buf[i]), "{\"run_name\": \"r-%d\"}", i);
        many[i] = buf[i];
    }
    s = infer(many, 30);
    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "run_name"), "type"), "string");
    CU_ASSERT_EQUAL(nvalues(path_of(s, "run_name")), 30);
    json_object_put(s);
}

static void test_mixed_and_truncated(void)
{
    const char *docs[] = {"{\"x\": 1}", "{\"x\": \"one\"}", "{\"x\": false}"};
    json_object *s = infer(docs, 3), *types, *v;

    CU_ASSERT_STRING_EQUAL(str_of(path_of(s, "x"), "type"), "mixed");
    CU_ASSERT_TRUE(json_object_object_get_ex(path_of(s, "x"), "types", &types));
    CU_ASSERT_EQUAL(json_object_array_length(types), 3);
    json_object_put(s);

    char buf[FLAGSCHEMA_VALUES_MAX + 5][48];
    const char *d[FLAGSCHEMA_VALUES_MAX + 5];
    for (int i = 0; i < FLAGSCHEMA_VALUES_MAX + 5; i++) {
        snprintf(buf[i], sizeof(buf[i]), "{\"seed\": %d}", i);
        d[i] = buf[i];
    }
    s = infer(d, FLAGSCHEMA_VALUES_MAX + 5);
    CU_ASSERT_EQUAL(nvalues(path_of(s, "seed")), FLAGSCHEMA_VALUES_MAX);
    CU_ASSERT_TRUE(json_object_object_get_ex(path_of(s, "seed"), "values_truncated", &v) &&
                   json_object_get_boolean(v));
    CU_ASSERT_EQUAL(int_of(path_of(s, "seed"), "max"), FLAGSCHEMA_VALUES_MAX + 4);
    json_object_put(s);
}

static void test_not_an_object(void)
{
    struct flagschema s;
    json_object *arr = json_object_new_array(), *out;

    flagschema_init(&s);
    CU_ASSERT_EQUAL(flagschema_add(&s, NULL), 0);
    CU_ASSERT_EQUAL(flagschema_add(&s, arr), 0);
    out = flagschema_json(&s);
    CU_ASSERT_EQUAL(int_of(out, "documents"), 2);
    CU_ASSERT_PTR_NULL(path_of(out, "0"));
    json_object_put(out);
    json_object_put(arr);
    flagschema_fini(&s);
}

int suite_flagschema_register(void)
{
    static const struct test_case cases[] = {
        {"integers and floats", test_numbers},
        {"nested objects, arrays, nulls", test_nested_arrays_nulls},
        {"few distinct strings are a choice, many a string", test_choice_vs_string},
        {"mixed kinds; values capped", test_mixed_and_truncated},
        {"flags that are not an object", test_not_an_object},
        {NULL, NULL},
    };
    return test_add_suite("flagschema", cases);
}
