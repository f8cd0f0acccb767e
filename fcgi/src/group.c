/* group: recording a deferrable write, running it alone, and merging the like writes of
 * a group into one statement (group.h). The group itself is serve.c's (serve_flush) and
 * db.c's (db_batch). */
#include "group.h"

#include <string.h>

#include "db.h"

int group_write(struct req *r, int group, int stmt, const char *const *params, int nparams,
                req_then_fn then)
{
    if (nparams < 0 || nparams > REQ_WRITE_MAX_PARAMS)
        return req_error(r, 500, "internal", NULL, "internal error");
    r->write.stmt = stmt;
    r->write.nparams = nparams;
    r->write.then = then;
    r->write.merge_stmt = 0;
    r->write.merge_shared = 0;
    r->write.row = 0;
    for (int i = 0; i < nparams; i++)
        r->write.params[i] = params[i];
    if (group && r->may_defer)
        return REQ_DEFERRED;
    return group_run_now(r);
}

int group_write_merge(struct req *r, int stmt, const char *const *params, int nparams,
                      req_then_fn then, int merge_stmt, int merge_shared)
{
    int rc = group_write(r, 1, stmt, params, nparams, then);
    if (rc == REQ_DEFERRED && merge_shared > 0 && merge_shared < nparams &&
        db_stmts[merge_stmt].nparams == nparams) {
        r->write.merge_stmt = merge_stmt;
        r->write.merge_shared = merge_shared;
    }
    return rc;
}

int group_run_now(struct req *r)
{
    PGresult *res =
        db_exec(&r->op, (enum db_stmt_id)r->write.stmt, r->write.params, r->write.nparams);
    r->write.row = 0;
    return res ? r->write.then(r, res) : -1;
}

static int group_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether b's write may join a's merged statement. */
static int group_mergeable(const struct req_write *a, const struct req_write *b)
{
    if (a->merge_shared <= 0 || b->merge_stmt != a->merge_stmt ||
        b->merge_shared != a->merge_shared || b->stmt != a->stmt || b->nparams != a->nparams)
        return 0;
    for (int i = 0; i < a->merge_shared; i++)
        if (!group_same(a->params[i], b->params[i]))
            return 0;
    return 1;
}

/* A PostgreSQL array literal of the members' parameter k: each element quoted (" and \
 * escaped), NULL for none. */
static const char *group_array(struct arena *a, struct req *const *m, int n, int k)
{
    size_t cap = 3, len = 0;
    char *out;

    for (int i = 0; i < n; i++) {
        const char *v = m[i]->write.params[k];
        cap += (v ? 2 * strlen(v) + 2 : 4) + 1;
    }
    if (!(out = arena_alloc(a, cap)))
        return NULL;
    out[len++] = '{';
    for (int i = 0; i < n; i++) {
        const char *v = m[i]->write.params[k];
        if (i)
            out[len++] = ',';
        if (!v) {
            memcpy(out + len, "NULL", 4);
            len += 4;
            continue;
        }
        out[len++] = '"';
        for (; *v; v++) {
            if (*v == '"' || *v == '\\')
                out[len++] = '\\';
            out[len++] = *v;
        }
        out[len++] = '"';
    }
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

int group_merge(struct req **reqs, int n, int *item_of, struct db_batch_item *items)
{
    int nitems = 0;

    for (int i = 0; i < n; i++)
        item_of[i] = -1;
    for (int i = 0; i < n; i++) {
        struct req *m[DB_BATCH_MAX];
        struct req_write *wr = &reqs[i]->write;
        int nm = 0;

        if (item_of[i] >= 0)
            continue;
        item_of[i] = nitems;
        wr->row = 0;
        m[nm++] = reqs[i];
        for (int j = i + 1; j < n && wr->merge_shared > 0; j++) {
            if (item_of[j] < 0 && group_mergeable(wr, &reqs[j]->write)) {
                item_of[j] = nitems;
                reqs[j]->write.row = nm;
                m[nm++] = reqs[j];
            }
        }
        items[nitems] = (struct db_batch_item){.stmt = (enum db_stmt_id)wr->stmt,
                                               .params = wr->params,
                                               .nparams = wr->nparams,
                                               .op = &reqs[i]->op};
        if (nm > 1) {
            /* The result belongs to the member completed last (the arena reset last). */
            struct req *last = m[nm - 1];
            const char **p = arena_alloc(last->op.arena, sizeof(*p) * (size_t)wr->nparams);
            int ok = p != NULL;
            for (int k = 0; ok && k < wr->nparams; k++) {
                if (k < wr->merge_shared)
                    p[k] = wr->params[k];
                else
                    ok = (p[k] = group_array(last->op.arena, m, nm, k)) != NULL;
            }
            if (ok) {
                items[nitems] = (struct db_batch_item){.stmt = (enum db_stmt_id)wr->merge_stmt,
                                                       .params = p,
                                                       .nparams = wr->nparams,
                                                       .op = &last->op};
            } else { /* out of memory: each goes as its own statement after all */
                for (int j = 1; j < nm; j++)
                    m[j]->write.row = 0;
                for (int j = i + 1; j < n; j++)
                    if (item_of[j] == nitems)
                        item_of[j] = -1;
            }
        }
        nitems++;
    }
    return nitems;
}
