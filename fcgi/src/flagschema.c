/* flagschema: infers flag types from values (flagschema.h). Paths and their distinct
 * values are kept in small arrays searched linearly: a project's flags have tens of paths
 * and a choice has at most FLAGSCHEMA_VALUES_MAX values, so a hash would cost more than it
 * saves. Values are compared by their compact JSON text. */
#include "flagschema.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"

enum flagschema_kind {
    FS_NULL,
    FS_BOOL,
    FS_INT,
    FS_FLOAT,
    FS_STRING,
    FS_ARRAY,
    FS_OBJECT,
    FS_NKINDS,
};

static const char *const fs_kind_names[FS_NKINDS] = {"null",   "boolean", "integer", "float",
                                                     "string", "array",   "object"};

struct flagschema_path {
    char *name;        /* "a.b" */
    json_object *keys; /* ["a", "b"], owned */
    size_t count;      /* documents that had it */
    size_t kinds[FS_NKINDS];
    char **texts; /* distinct values' JSON text */
    json_object **values;
    size_t nvalues;
    int truncated;
    double min, max;
};

void flagschema_init(struct flagschema *s)
{
    memset(s, 0, sizeof(*s));
}

void flagschema_fini(struct flagschema *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct flagschema_path *p = &s->paths[i];
        for (size_t v = 0; v < p->nvalues; v++) {
            free(p->texts[v]);
            json_object_put(p->values[v]);
        }
        free(p->texts);
        free(p->values);
        free(p->name);
        json_object_put(p->keys);
    }
    free(s->paths);
    memset(s, 0, sizeof(*s));
}

static enum flagschema_kind fs_kind(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return FS_NULL;
    case json_type_boolean:
        return FS_BOOL;
    case json_type_int:
        return FS_INT;
    case json_type_double:
        return FS_FLOAT;
    case json_type_string:
        return FS_STRING;
    case json_type_array:
        return FS_ARRAY;
    case json_type_object:
        return FS_OBJECT;
    }
    return FS_NULL;
}

/* The path named name, made (with keys copied) when new; NULL when full or out of memory
 * (*full tells which). */
static struct flagschema_path *fs_path(struct flagschema *s, const char *name, json_object *keys,
                                       int *full)
{
    *full = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->paths[i].name, name) == 0)
            return &s->paths[i];
    if (s->n >= FLAGSCHEMA_PATHS_MAX) {
        *full = 1;
        return NULL;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct flagschema_path *np = realloc(s->paths, cap * sizeof(*np));
        if (!np)
            return NULL;
        s->paths = np;
        s->cap = cap;
    }
    struct flagschema_path *p = &s->paths[s->n];
    memset(p, 0, sizeof(*p));
    p->min = DBL_MAX;
    p->max = -DBL_MAX;
    if (!(p->name = strdup(name)) || !(p->keys = json_object_new_array())) {
        free(p->name);
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(keys); i++)
        json_object_array_add(p->keys, json_object_get(json_object_array_get_idx(keys, i)));
    s->n++;
    return p;
}

static int fs_value(struct flagschema_path *p, json_object *v)
{
    const char *text = jsonx_to_string(v, NULL);

    for (size_t i = 0; i < p->nvalues; i++)
        if (strcmp(p->texts[i], text) == 0)
            return 0;
    if (p->nvalues >= FLAGSCHEMA_VALUES_MAX) {
        p->truncated = 1;
        return 0;
    }
    char **nt = realloc(p->texts, (p->nvalues + 1) * sizeof(*nt));
    if (!nt)
        return -1;
    p->texts = nt;
    json_object **nv = realloc(p->values, (p->nvalues + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    p->values = nv;
    if (!(p->texts[p->nvalues] = strdup(text)))
        return -1;
    p->values[p->nvalues++] = json_object_get(v);
    return 0;
}

/* Records leaf v at path name/keys. */
static int fs_leaf(struct flagschema *s, const char *name, json_object *keys, json_object *v)
{
    int full;
    struct flagschema_path *p = fs_path(s, name, keys, &full);
    enum flagschema_kind k = fs_kind(v);

    if (!p) {
        s->paths_dropped += full;
        return full ? 0 : -1;
    }
    p->count++;
    p->kinds[k]++;
    if (k == FS_INT || k == FS_FLOAT) {
        double d = json_object_get_double(v);
        p->min = d < p->min ? d : p->min;
        p->max = d > p->max ? d : p->max;
    }
    return k == FS_NULL ? 0 : fs_value(p, v);
}

static int fs_walk(struct flagschema *s, json_object *obj, char *name, size_t len, size_t cap,
                   json_object *keys)
{
    int rc = 0;

    json_object_object_foreach(obj, key, v)
    {
        size_t klen = strlen(key);
        if (len + (len ? 1 : 0) + klen + 1 > cap) /* a path too long to name: skip it */
            continue;
        size_t nlen = len;
        if (len)
            name[nlen++] = '.';
        memcpy(name + nlen, key, klen + 1);
        nlen += klen;
        json_object_array_add(keys, json_object_new_string(key));
        if (v && json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0)
            rc = fs_walk(s, v, name, nlen, cap, keys);
        else
            rc = fs_leaf(s, name, keys, v);
        json_object_array_del_idx(keys, json_object_array_length(keys) - 1, 1);
        name[len] = '\0';
        if (rc)
            break;
    }
    return rc;
}

int flagschema_add(struct flagschema *s, json_object *flags)
{
    char name[1024] = "";
    json_object *keys;
    int rc;

    s->docs++;
    if (!flags || !json_object_is_type(flags, json_type_object))
        return 0;
    if (!(keys = json_object_new_array()))
        return -1;
    rc = fs_walk(s, flags, name, 0, sizeof(name), keys);
    json_object_put(keys);
    return rc;
}

/* The type of p: one kind besides null is that kind's name; integers and floats together
 * are float; a string with few distinct values is a choice; anything else mixed. */
static const char *fs_type(const struct flagschema_path *p)
{
    int seen = 0, last = FS_NULL;

    for (int k = FS_BOOL; k < FS_NKINDS; k++)
        if (p->kinds[k]) {
            seen++;
            last = k;
        }
    if (seen == 0)
        return "null";
    if (seen == 2 && p->kinds[FS_INT] && p->kinds[FS_FLOAT])
        return "float";
    if (seen > 1)
        return "mixed";
    if (last == FS_STRING && !p->truncated && p->nvalues <= FLAGSCHEMA_CHOICE_MAX)
        return "choice";
    return fs_kind_names[last];
}

static int fs_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct flagschema_path *const *)a)->name,
                  (*(const struct flagschema_path *const *)b)->name);
}

json_object *flagschema_json(const struct flagschema *s)
{
    json_object *out = json_object_new_object(), *paths = json_object_new_array();
    const struct flagschema_path **order = calloc(s->n ? s->n : 1, sizeof(*order));

    if (!out || !paths || !order)
        goto fail;
    for (size_t i = 0; i < s->n; i++)
        order[i] = &s->paths[i];
    qsort(order, s->n, sizeof(*order), fs_cmp);
    for (size_t i = 0; i < s->n; i++) {
        const struct flagschema_path *p = order[i];
        json_object *o = json_object_new_object(), *vals = json_object_new_array();
        if (!o || !vals) {
            json_object_put(o);
            json_object_put(vals);
            goto fail;
        }
        json_object_object_add(o, "path", json_object_new_string(p->name));
        json_object_object_add(o, "keys", json_object_get(p->keys));
        json_object_object_add(o, "type", json_object_new_string(fs_type(p)));
        json_object_object_add(o, "count", json_object_new_int64((int64_t)p->count));
        json_object_object_add(o, "nullable", json_object_new_boolean(p->kinds[FS_NULL] > 0));
        if (strcmp(fs_type(p), "mixed") == 0) {
            json_object *types = json_object_new_array();
            for (int k = FS_BOOL; k < FS_NKINDS; k++)
                if (p->kinds[k])
                    json_object_array_add(types, json_object_new_string(fs_kind_names[k]));
            json_object_object_add(o, "types", types);
        }
        for (size_t v = 0; v < p->nvalues; v++)
            json_object_array_add(vals, json_object_get(p->values[v]));
        json_object_object_add(o, "values", vals);
        json_object_object_add(o, "values_truncated", json_object_new_boolean(p->truncated));
        if (p->kinds[FS_INT] || p->kinds[FS_FLOAT]) {
            /* Integers stay integers (json-c would print 4 as 4.0). */
            int ints = !p->kinds[FS_FLOAT];
            json_object_object_add(o, "min",
                                   ints ? json_object_new_int64((int64_t)p->min)
                                        : json_object_new_double(p->min));
            json_object_object_add(o, "max",
                                   ints ? json_object_new_int64((int64_t)p->max)
                                        : json_object_new_double(p->max));
        }
        json_object_array_add(paths, o);
    }
    json_object_object_add(out, "documents", json_object_new_int64((int64_t)s->docs));
    json_object_object_add(out, "paths", paths);
    json_object_object_add(out, "paths_dropped", json_object_new_int64((int64_t)s->paths_dropped));
    free(order);
    return out;
fail:
    free(order);
    json_object_put(paths);
    json_object_put(out);
    return NULL;
}
