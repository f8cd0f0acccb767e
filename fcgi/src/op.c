/* op: the error of a unit of work. First error wins, because the first failure is the
 * most specific: a 503 from the database must not be overwritten by the generic 500 a
 * handler reports on its way out. */
#include "op.h"

#include <string.h>

#include "arena.h"

void op_init(struct op *o, struct arena *a, const struct config *cfg, struct db *db,
             struct pub *pub)
{
    memset(o, 0, sizeof(*o));
    o->arena = a;
    o->cfg = cfg;
    o->db = db;
    o->pub = pub;
}

int op_failv(struct op *o, enum op_kind kind, const char *code, const char *field, const char *fmt,
             va_list ap)
{
    if (o->err.kind != OP_OK)
        return -1;
    o->err.kind = kind == OP_OK ? OP_INTERNAL : kind;
    o->err.code = code;
    o->err.field = field ? arena_strdup(o->arena, field) : NULL;
    o->err.message = arena_vsprintf(o->arena, fmt, ap);
    return -1;
}

int op_fail(struct op *o, enum op_kind kind, const char *code, const char *field, const char *fmt,
            ...)
{
    va_list ap;

    va_start(ap, fmt);
    op_failv(o, kind, code, field, fmt, ap);
    va_end(ap);
    return -1;
}

void op_refine(struct op *o, enum op_kind kind, const char *field, const char *message)
{
    if (o->err.kind == kind) {
        o->err.field = field;
        o->err.message = message;
    }
}

static void op_put_json(void *p)
{
    json_object_put(p);
}

void op_details(struct op *o, json_object *details)
{
    if (!details)
        return;
    if (arena_defer(o->arena, op_put_json, details) == 0)
        o->err.details = details;
    else
        json_object_put(details);
}

void op_clear(struct op *o)
{
    memset(&o->err, 0, sizeof(o->err));
}
