/* artifacts: a run's artifacts, their stored content, checkpoints, promotions, the tables a
 * run emits and its request snapshot (docs/ARCHITECTURE.md, "Artifacts"). Statements are
 * sql/statements/artifacts.sql.
 * - Registering is a batch of URIs validated whole and written by one statement; a name the
 *   run already has answers its row when the batch says the same, else 409 and nothing.
 * - An upload is held whole while its sha256 is computed (sha256.c) and compared with the
 *   one the producer sent: a mismatch is a 400 naming `sha256`, and nothing is stored. The
 *   bytes go to PostgreSQL as a binary parameter (not as hex text twice their size).
 * - A download streams: serve.c asks for one slice at a time (resp_more), each read with
 *   substring() of the EXTERNAL bytea, so a worker never holds a whole 16 MiB file. */
#include "artifacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api/runs.h"
#include "audit_log.h"
#include "db.h"
#include "pub.h"
#include "sha256.h"

static const char *const artifact_kinds[] = {"checkpoint", "model", "dataset",
                                             "file",       "table", NULL};
static const char *const promotion_kinds[] = {"model", "pipeline", NULL};

static int artifacts_is_sha256(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

/* A field's name: the lone item's as is, a batch item's as artifacts[i].field. */
static const char *artifacts_field(struct req *r, long idx, const char *field)
{
    return idx < 0 ? field : arena_sprintf(r->op.arena, "artifacts[%ld].%s", idx, field);
}

static int artifacts_check(struct req *r, json_object *a, long idx)
{
    static const char *const keys[] = {"name",   "kind", "uri",      "size",
                                       "sha256", "step", "metadata", NULL};
    struct jsonx_err je;
    const char *name = NULL, *kind = NULL, *uri = NULL, *sha = NULL;
    int64_t size, step;
    json_object *meta = NULL;

    if (!json_object_is_type(a, json_type_object))
        return req_error(r, 400, "invalid_field", idx < 0 ? NULL : "artifacts",
                         "artifacts[%ld] must be an object", idx);
    if (jsonx_only_keys(a, keys, &je) ||
        jsonx_string(a, "name", JSONX_REQUIRED, 1, 500, &name, NULL, &je) ||
        jsonx_enum(a, "kind", JSONX_REQUIRED, artifact_kinds, &kind, NULL, &je) ||
        jsonx_string(a, "uri", JSONX_REQUIRED, 1, 2000, &uri, NULL, &je) ||
        jsonx_int(a, "size", JSONX_NULLABLE, 0, INT64_MAX, &size, NULL, &je) ||
        jsonx_string(a, "sha256", JSONX_NULLABLE, 64, 64, &sha, NULL, &je) ||
        jsonx_int(a, "step", JSONX_NULLABLE, 0, INT64_MAX, &step, NULL, &je) ||
        jsonx_child(a, "metadata", JSONX_NULLABLE, json_type_object, &meta, NULL, &je))
        return req_item_error(r, "artifacts", idx, &je);
    if (sha && !artifacts_is_sha256(sha))
        return req_error(r, 400, "invalid_field", artifacts_field(r, idx, "sha256"),
                         "sha256 must be 64 lowercase hex digits");
    return 0;
}

int artifacts_create(struct req *r)
{
    json_object *arr = req_batch(r, "artifacts", ARTIFACTS_MAX_BATCH, artifacts_check);
    PGresult *res;
    size_t n;

    if (!arr)
        return -1;
    n = json_object_array_length(arr);
    /* Names are the run's keys: two items of one batch may not share one. */
    for (size_t i = 1; i < n; i++) {
        json_object *v;
        json_object_object_get_ex(json_object_array_get_idx(arr, i), "name", &v);
        const char *a = json_object_get_string(v);
        for (size_t j = 0; j < i; j++) {
            json_object *w;
            json_object_object_get_ex(json_object_array_get_idx(arr, j), "name", &w);
            if (strcmp(a, json_object_get_string(w)) == 0)
                return req_error(r, 400, "invalid_field",
                                 arena_sprintf(r->op.arena, "artifacts[%zu].name", i),
                                 "name is already in this batch");
        }
    }
    jsonx_redact(arr, r->op.cfg->redact_keys);
    const char *extra[ARTIFACT_INSERT__NIN - RUNS_WRITE_NFIXED] = {
        [ARTIFACT_INSERT_IN_ITEMS - RUNS_WRITE_NFIXED] = jsonx_to_string(arr, NULL)};
    /* One transaction: a batch whose name is taken by another artifact leaves nothing. */
    if (db_begin(&r->op) || !(res = runs_write(r, DB_STMT_ARTIFACT_INSERT, extra,
                                               ARTIFACT_INSERT__NIN - RUNS_WRITE_NFIXED)))
        return -1;
    if (!PQgetisnull(res, 0, ARTIFACT_INSERT_CONFLICT))
        return req_error(r, 409, "conflict", "name",
                         "the run already has an artifact named %s with other fields",
                         PQgetvalue(res, 0, ARTIFACT_INSERT_CONFLICT));
    if (db_commit(&r->op))
        return -1;
    long created = strtol(PQgetvalue(res, 0, ARTIFACT_INSERT_CREATED), NULL, 10);
    return req_json_text(r, created > 0 ? 201 : 200,
                         arena_sprintf(r->op.arena, "{\"created\":%ld,\"items\":%s}", created,
                                       PQgetvalue(res, 0, ARTIFACT_INSERT_ITEMS)));
}

int artifacts_upload(struct req *r)
{
    static const char *const known[] = {"name", "kind", "sha256", "step", "metadata", NULL};
    const char *name = req_query(r, "name"), *kind = req_query(r, "kind"),
               *sha = req_query(r, "sha256"), *step = req_query(r, "step"),
               *meta = req_query(r, "metadata");
    struct access_project pr;
    struct jsonx_err je;
    uint8_t digest[SHA256_DIGEST];
    char hex[2 * SHA256_DIGEST + 1];
    PGresult *res;
    int ok = 0;

    if (req_only_params(r, known))
        return -1;
    if (!name || !*name || strlen(name) > 500 || !jsonx_utf8_valid(name, strlen(name)))
        return req_error(r, 400, "invalid_field", "name", "name must be 1 to 500 bytes of text");
    if (!kind)
        kind = "file";
    for (const char *const *k = artifact_kinds; *k; k++)
        ok |= strcmp(*k, kind) == 0;
    if (!ok)
        return req_error(r, 400, "invalid_field", "kind",
                         "kind must be one of checkpoint, model, dataset, file, table");
    if (!sha || !artifacts_is_sha256(sha))
        return req_error(r, 400, "invalid_field", "sha256",
                         "sha256 (the content's, 64 lowercase hex digits) is required");
    if (step && (!req_is_int(step) || strlen(step) > 18))
        return req_error(r, 400, "invalid_field", "step", "step must be a non-negative integer");
    if (meta) {
        json_object *m = jsonx_parse(meta, strlen(meta), &je);
        if (!m || !json_object_is_type(m, json_type_object)) {
            if (m)
                json_object_put(m);
            return req_error(r, 400, "invalid_field", "metadata", "metadata must be a JSON object");
        }
        if (!req_own_json(r, m))
            return -1;
        jsonx_redact(m, r->op.cfg->redact_keys);
        meta = jsonx_to_string(m, NULL);
    }
    /* Checked before anything is looked up or stored: a mismatch stores nothing. */
    sha256_digest(r->body ? r->body : "", r->body_len, digest);
    for (int i = 0; i < SHA256_DIGEST; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    if (strcmp(hex, sha) != 0)
        return req_error(r, 400, "sha256_mismatch", "sha256",
                         "the content's sha256 is %s, not the one sent", hex);
    if (runs_access(r, ACCESS_ROLE_MEMBER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[ARTIFACT_UPLOAD__NIN] = {[ARTIFACT_UPLOAD_IN_RUN] = req_path_param(r, "run"),
                                           [ARTIFACT_UPLOAD_IN_PROJECT_ID] = pr.id,
                                           [ARTIFACT_UPLOAD_IN_NAME] = name,
                                           [ARTIFACT_UPLOAD_IN_KIND] = kind,
                                           [ARTIFACT_UPLOAD_IN_SHA256] = sha,
                                           [ARTIFACT_UPLOAD_IN_STEP] = step,
                                           [ARTIFACT_UPLOAD_IN_METADATA] = meta,
                                           [ARTIFACT_UPLOAD_IN_DATA] = r->body ? r->body : ""};
    int lengths[ARTIFACT_UPLOAD__NIN] = {0}, formats[ARTIFACT_UPLOAD__NIN] = {0};
    lengths[ARTIFACT_UPLOAD_IN_DATA] = (int)r->body_len;
    formats[ARTIFACT_UPLOAD_IN_DATA] = 1;
    if (!(res = db_exec_bin(&r->op, DB_STMT_ARTIFACT_UPLOAD, p, lengths, formats,
                            ARTIFACT_UPLOAD__NIN)))
        return -1;
    if (!PQgetisnull(res, 0, ARTIFACT_UPLOAD_ARTIFACT_JSON))
        return req_json_text(r, 201, PQgetvalue(res, 0, ARTIFACT_UPLOAD_ARTIFACT_JSON));
    /* The name was taken: the same content uploaded again is answered with its row. */
    if (!PQgetisnull(res, 0, ARTIFACT_UPLOAD_OLD_JSON) &&
        PQgetvalue(res, 0, ARTIFACT_UPLOAD_OLD_STORED)[0] == 't' &&
        strcmp(PQgetvalue(res, 0, ARTIFACT_UPLOAD_OLD_SHA256), sha) == 0)
        return req_json_text(r, 200, PQgetvalue(res, 0, ARTIFACT_UPLOAD_OLD_JSON));
    return req_error(r, 409, "conflict", "name",
                     "the run already has an artifact named %s with other content", name);
}

/* ?kind=a,b as a text[] literal, or NULL for all kinds. */
static int artifacts_kinds(struct req *r, const char **out)
{
    return req_enum_list(r, "kind", artifact_kinds, out);
}

int artifacts_list(struct req *r)
{
    static const char *const known[] = {"kind", "cursor", "limit", NULL};
    const char *kinds, *cursor = req_query(r, "cursor"), *cstep = NULL, *cid = NULL;
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit) || artifacts_kinds(r, &kinds))
        return -1;
    if (cursor) {
        const char *colon = strchr(cursor, ':');
        char *s = colon ? arena_strndup(r->op.arena, cursor, (size_t)(colon - cursor)) : NULL;
        if (!s || !(req_is_int(s) || (s[0] == '-' && strcmp(s, "-1") == 0)) ||
            !req_is_int(colon + 1) || strlen(s) > 18 || strlen(colon + 1) > 18)
            return req_error(r, 400, "invalid_field", "cursor", "malformed cursor");
        cstep = s;
        cid = colon + 1;
    }
    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[ARTIFACT_LIST_RUN__NIN] = {[ARTIFACT_LIST_RUN_IN_RUN] = req_path_param(r, "run"),
                                             [ARTIFACT_LIST_RUN_IN_KINDS] = kinds,
                                             [ARTIFACT_LIST_RUN_IN_CURSOR_STEP] = cstep,
                                             [ARTIFACT_LIST_RUN_IN_CURSOR_ID] = cid,
                                             [ARTIFACT_LIST_RUN_IN_LIMIT] =
                                                 arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ARTIFACT_LIST_RUN, p)))
        return -1;
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    _Static_assert(ARTIFACT_LIST_RUN_ARTIFACT_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, ARTIFACT_LIST_RUN_CURSOR) : NULL);
}

int artifacts_project_list(struct req *r)
{
    static const char *const known[] = {"project", "kind", "cursor", "limit", NULL};
    const char *kinds, *cursor = req_query(r, "cursor");
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit) || artifacts_kinds(r, &kinds))
        return -1;
    if (cursor && (!req_is_int(cursor) || strlen(cursor) > 18))
        return req_error(r, 400, "invalid_field", "cursor", "malformed cursor");
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[ARTIFACT_LIST_PROJECT__NIN] = {[ARTIFACT_LIST_PROJECT_IN_PROJECT] = pr.id,
                                                 [ARTIFACT_LIST_PROJECT_IN_KINDS] = kinds,
                                                 [ARTIFACT_LIST_PROJECT_IN_CURSOR] = cursor,
                                                 [ARTIFACT_LIST_PROJECT_IN_LIMIT] =
                                                     arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ARTIFACT_LIST_PROJECT, p)))
        return -1;
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    _Static_assert(ARTIFACT_LIST_PROJECT_ARTIFACT_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(
        r, res, shown, n > limit ? PQgetvalue(res, shown - 1, ARTIFACT_LIST_PROJECT_CURSOR) : NULL);
}

/* The artifact of the path, of the run of the path, which the caller may read. */
static PGresult *artifacts_lookup(struct req *r, struct access_project *pr)
{
    const char *id = req_path_param(r, "artifact");
    PGresult *res;

    if (!id || !req_is_int(id) || strlen(id) > 18) {
        req_error(r, 404, "not_found", NULL, "no such artifact");
        return NULL;
    }
    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, pr, NULL))
        return NULL;
    const char *p[ARTIFACT_GET__NIN] = {
        [ARTIFACT_GET_IN_RUN] = req_path_param(r, "run"), [ARTIFACT_GET_IN_ARTIFACT] = id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ARTIFACT_GET, p)))
        return NULL;
    if (PQntuples(res) != 1) {
        req_error(r, 404, "not_found", NULL, "no such artifact");
        return NULL;
    }
    return res;
}

int artifacts_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, (const char *const[]){NULL}) || !(res = artifacts_lookup(r, &pr)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, ARTIFACT_GET_ARTIFACT_JSON));
}

/* serve.c's resp_more: the slice at `offset`, read on an op whose arena is the slice's. */
static int artifacts_slice(struct req *r, struct arena *scratch, size_t offset, const char **chunk,
                           size_t *len)
{
    struct arena *own = r->op.arena;
    size_t want = r->resp_total - offset > ARTIFACT_SLICE ? ARTIFACT_SLICE : r->resp_total - offset;
    PGresult *res;
    int rc = -1;

    r->op.arena = scratch;
    const char *p[ARTIFACT_CHUNK__NIN] = {
        [ARTIFACT_CHUNK_IN_ARTIFACT] = r->resp_ctx,
        [ARTIFACT_CHUNK_IN_OFFSET] = arena_sprintf(scratch, "%zu", offset),
        [ARTIFACT_CHUNK_IN_LENGTH] = arena_sprintf(scratch, "%zu", want)};
    if ((res = DB_EXEC(&r->op, DB_STMT_ARTIFACT_CHUNK, p)) && PQntuples(res) == 1 &&
        (size_t)PQgetlength(res, 0, ARTIFACT_CHUNK_DATA) == want) {
        *chunk = PQgetvalue(res, 0, ARTIFACT_CHUNK_DATA);
        *len = want;
        rc = 0;
    }
    r->op.arena = own;
    return rc;
}

/* A file name for Content-Disposition: the name's last path segment, with anything but
 * letters, digits and . _ - made _, so no quote or line break reaches the header. */
static const char *artifacts_filename(struct req *r, const char *name)
{
    const char *base = strrchr(name, '/');
    char *out;
    size_t n;

    base = base && base[1] ? base + 1 : name;
    n = strlen(base) > 200 ? 200 : strlen(base);
    if (!(out = arena_strndup(r->op.arena, base, n)))
        return "artifact";
    for (char *c = out; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '-'))
            *c = '_';
    return out;
}

int artifacts_content(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, (const char *const[]){NULL}) || !(res = artifacts_lookup(r, &pr)))
        return -1;
    if (PQgetvalue(res, 0, ARTIFACT_GET_STORED)[0] != 't')
        return req_error(r, 404, "not_found", NULL,
                         "the artifact is a URI: Runwatch holds no content for it");
    r->status = 200;
    r->resp_type = "application/octet-stream";
    r->resp_body = "";
    r->resp_len = 0;
    r->resp_total = (size_t)strtoull(PQgetvalue(res, 0, ARTIFACT_GET_SIZE), NULL, 10);
    r->resp_ctx = arena_strdup(r->op.arena, req_path_param(r, "artifact"));
    r->resp_more = artifacts_slice;
    req_add_header(r, "ETag",
                   arena_sprintf(r->op.arena, "\"%s\"", PQgetvalue(res, 0, ARTIFACT_GET_SHA256)));
    req_add_header(r, "Content-Disposition",
                   arena_sprintf(r->op.arena, "attachment; filename=\"%s\"",
                                 artifacts_filename(r, PQgetvalue(res, 0, ARTIFACT_GET_NAME))));
    return r->resp_ctx ? 0 : req_error(r, 500, "internal", NULL, "out of memory");
}

/* ---- promotions ---- */

int promotions_create(struct req *r)
{
    static const char *const keys[] = {"name", "kind", "note", NULL};
    const char *id = req_path_param(r, "artifact"), *name = NULL, *kind = "model", *note = NULL,
               *status;
    const struct access_ident *who = r->op.ident;
    struct access_project pr;
    struct jsonx_err je;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je) ||
        jsonx_enum(r->body_json, "kind", JSONX_NULLABLE, promotion_kinds, &kind, NULL, &je) ||
        jsonx_string(r->body_json, "note", JSONX_NULLABLE, 0, 2000, &note, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!id || !req_is_int(id) || strlen(id) > 18)
        return req_error(r, 404, "not_found", NULL, "no such artifact");
    /* The run is locked while its artifact is promoted, so its status cannot move under us. */
    if (db_begin(&r->op) || runs_access(r, ACCESS_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, &status))
        return -1;
    if (strcmp(status, "succeeded") != 0)
        return req_error(r, 409, "run_not_succeeded", "run",
                         "only a succeeded run's artifact can be promoted (the run is %s)", status);
    const char *p[PROMOTION_CREATE__NIN] = {
        [PROMOTION_CREATE_IN_PROJECT_ID] = pr.id,
        [PROMOTION_CREATE_IN_RUN] = req_path_param(r, "run"),
        [PROMOTION_CREATE_IN_ARTIFACT] = id,
        [PROMOTION_CREATE_IN_NAME] = name,
        [PROMOTION_CREATE_IN_KIND] = kind,
        [PROMOTION_CREATE_IN_NOTE] = note,
        [PROMOTION_CREATE_IN_USER_ID] = who->kind == ACCESS_SESSION ? who->user_id : NULL,
        [PROMOTION_CREATE_IN_TOKEN_ID] = who->kind == ACCESS_TOKEN ? who->token_id : NULL};
    if (!(res = DB_EXEC(&r->op, DB_STMT_PROMOTION_CREATE, p)))
        return -1;
    if (strcmp(PQgetvalue(res, 0, PROMOTION_CREATE_FOUND), "0") == 0)
        return req_error(r, 404, "not_found", NULL, "no such artifact");
    if (PQgetisnull(res, 0, PROMOTION_CREATE_PROMOTION_JSON))
        return req_error(r, 422, "invalid_value", "sha256",
                         "an artifact without a sha256 cannot be promoted");
    const char *json = PQgetvalue(res, 0, PROMOTION_CREATE_PROMOTION_JSON);
    if (audit_log_write(&r->op, "artifact.promote", pr.id,
                        PQgetvalue(res, 0, PROMOTION_CREATE_PROMOTION_ID), json) ||
        db_commit(&r->op))
        return -1;
    return req_json_text(r, 201, json);
}

int promotions_list(struct req *r)
{
    static const char *const known[] = {"project", "name", "demoted", "cursor", "limit", NULL};
    const char *name = req_query(r, "name"), *demoted = req_query(r, "demoted"),
               *cursor = req_query(r, "cursor");
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    if (demoted && strcmp(demoted, "true") != 0 && strcmp(demoted, "false") != 0)
        return req_error(r, 400, "invalid_field", "demoted", "demoted must be true or false");
    if (name && (!*name || strlen(name) > 200))
        return req_error(r, 400, "invalid_field", "name", "name must be 1 to 200 bytes");
    if (cursor && (!req_is_int(cursor) || strlen(cursor) > 18))
        return req_error(r, 400, "invalid_field", "cursor", "malformed cursor");
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[PROMOTION_LIST__NIN] = {[PROMOTION_LIST_IN_PROJECT] = pr.id,
                                          [PROMOTION_LIST_IN_NAME] = name,
                                          [PROMOTION_LIST_IN_DEMOTED] = demoted ? demoted : "false",
                                          [PROMOTION_LIST_IN_CURSOR] = cursor,
                                          [PROMOTION_LIST_IN_LIMIT] =
                                              arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_PROMOTION_LIST, p)))
        return -1;
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    _Static_assert(PROMOTION_LIST_PROMOTION_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, PROMOTION_LIST_CURSOR) : NULL);
}

/* The promotion of the path and its project, with the caller's role at least min. */
static PGresult *promotions_lookup(struct req *r, enum access_role min, struct access_project *pr)
{
    const char *id = req_path_param(r, "promotion");
    PGresult *res;

    if (!id || !req_is_int(id) || strlen(id) > 18) {
        req_error(r, 404, "not_found", NULL, "no such promotion");
        return NULL;
    }
    const char *p[PROMOTION_PROJECT__NIN] = {[PROMOTION_PROJECT_IN_PROMOTION] = id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_PROMOTION_PROJECT, p)))
        return NULL;
    if (PQntuples(res) != 1) {
        req_error(r, 404, "not_found", NULL, "no such promotion");
        return NULL;
    }
    if (access_project_by_id(&r->op, PQgetvalue(res, 0, PROMOTION_PROJECT_PROJECT_ID), min, pr,
                             "promotion"))
        return NULL;
    return res;
}

int promotions_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, (const char *const[]){NULL}) ||
        !(res = promotions_lookup(r, ACCESS_ROLE_VIEWER, &pr)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, PROMOTION_PROJECT_PROMOTION_JSON));
}

int promotions_demote(struct req *r)
{
    static const char *const keys[] = {"reason", NULL};
    const struct access_ident *who = r->op.ident;
    const char *reason = NULL;
    struct access_project pr;
    struct jsonx_err je;
    json_object *body;
    PGresult *res;

    if (!(body = req_json_body_opt(r)))
        return -1;
    if (jsonx_only_keys(body, keys, &je) ||
        jsonx_string(body, "reason", JSONX_NULLABLE, 0, 2000, &reason, NULL, &je))
        return req_error_json(r, 400, &je);
    if (db_begin(&r->op) || !promotions_lookup(r, ACCESS_ROLE_ADMIN, &pr))
        return -1;
    const char *id = req_path_param(r, "promotion");
    const char *p[PROMOTION_DEMOTE__NIN] = {
        [PROMOTION_DEMOTE_IN_PROMOTION] = id,
        [PROMOTION_DEMOTE_IN_REASON] = reason,
        [PROMOTION_DEMOTE_IN_USER_ID] = who->kind == ACCESS_SESSION ? who->user_id : NULL,
        [PROMOTION_DEMOTE_IN_TOKEN_ID] = who->kind == ACCESS_TOKEN ? who->token_id : NULL};
    if (!(res = DB_EXEC(&r->op, DB_STMT_PROMOTION_DEMOTE, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 409, "already_demoted", NULL, "the promotion is already demoted");
    const char *json = PQgetvalue(res, 0, PROMOTION_DEMOTE_PROMOTION_JSON);
    if (audit_log_write(&r->op, "artifact.demote", pr.id, id, json) || db_commit(&r->op))
        return -1;
    return req_json_text(r, 200, json);
}

/* ---- tables a run emits ---- */

/* A table's name (in the path): 1 to 200 of A-Z a-z 0-9 _ . : -, so it needs no escaping
 * anywhere it goes (a URL, a live message, a tab's title). */
static int run_tables_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

/* Columns: 1..RUN_TABLE_MAX_COLUMNS distinct names of 1..200 bytes, in the engine's order.
 * Rows: arrays of exactly as many cells, each a number, a string, a boolean or null. */
static int run_tables_check(struct req *r, json_object *cols, json_object *rows)
{
    size_t nc = json_object_array_length(cols), nr = json_object_array_length(rows);

    if (nc < 1 || nc > RUN_TABLE_MAX_COLUMNS)
        return req_error(r, 400, "invalid_field", "columns", "columns must hold 1 to %d names",
                         RUN_TABLE_MAX_COLUMNS);
    for (size_t i = 0; i < nc; i++) {
        json_object *c = json_object_array_get_idx(cols, i);
        const char *f = arena_sprintf(r->op.arena, "columns[%zu]", i);
        if (!json_object_is_type(c, json_type_string) || json_object_get_string_len(c) < 1 ||
            json_object_get_string_len(c) > 200)
            return req_error(r, 400, "invalid_field", f, "a column is a name of 1 to 200 bytes");
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_object_get_string(c),
                       json_object_get_string(json_object_array_get_idx(cols, j))) == 0)
                return req_error(r, 400, "invalid_field", f, "column names must be distinct");
    }
    if (nr > RUN_TABLE_MAX_ROWS)
        return req_error(r, 400, "invalid_field", "rows", "at most %d rows at once",
                         RUN_TABLE_MAX_ROWS);
    for (size_t i = 0; i < nr; i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) != nc)
            return req_error(r, 400, "invalid_field", arena_sprintf(r->op.arena, "rows[%zu]", i),
                             "a row is an array of %zu cells, one per column", nc);
        for (size_t j = 0; j < nc; j++) {
            json_object *c = json_object_array_get_idx(row, j);
            json_type t = c ? json_object_get_type(c) : json_type_null;
            if (t == json_type_object || t == json_type_array ||
                (t == json_type_string && json_object_get_string_len(c) > RUN_TABLE_MAX_CELL))
                return req_error(r, 400, "invalid_field",
                                 arena_sprintf(r->op.arena, "rows[%zu][%zu]", i, j),
                                 "a cell is a number, a string of at most %d bytes, a boolean "
                                 "or null",
                                 RUN_TABLE_MAX_CELL);
        }
    }
    return 0;
}

int run_tables_put(struct req *r)
{
    static const char *const keys[] = {"columns", "rows", "mode", NULL};
    static const char *const modes[] = {"replace", "append", NULL};
    const char *name = req_path_param(r, "name"), *mode = "replace";
    json_object *cols = NULL, *rows = NULL;
    struct access_project pr;
    struct jsonx_err je;
    PGresult *res;

    if (!run_tables_name_ok(name))
        return req_error(r, 400, "invalid_field", "name",
                         "a table's name is 1 to 200 of A-Z a-z 0-9 _ . : -");
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_child(r->body_json, "columns", JSONX_REQUIRED, json_type_array, &cols, NULL, &je) ||
        jsonx_child(r->body_json, "rows", JSONX_REQUIRED, json_type_array, &rows, NULL, &je) ||
        jsonx_enum(r->body_json, "mode", JSONX_NULLABLE, modes, &mode, NULL, &je))
        return req_error_json(r, 400, &je);
    if (run_tables_check(r, cols, rows))
        return -1;
    jsonx_redact(rows, r->op.cfg->redact_keys);
    int append = strcmp(mode, "append") == 0;
    if (runs_access(r, ACCESS_ROLE_MEMBER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *cols_text = jsonx_to_string(cols, NULL), *rows_text = jsonx_to_string(rows, NULL);
    const char *p[RUN_TABLE_PUT__NIN] = {[RUN_TABLE_PUT_IN_RUN] = req_path_param(r, "run"),
                                         [RUN_TABLE_PUT_IN_PROJECT_ID] = pr.id,
                                         [RUN_TABLE_PUT_IN_NAME] = name,
                                         [RUN_TABLE_PUT_IN_COLUMNS] = cols_text,
                                         [RUN_TABLE_PUT_IN_ROWS] = rows_text,
                                         [RUN_TABLE_PUT_IN_APPEND] = append ? "true" : "false",
                                         [RUN_TABLE_PUT_IN_MAX_ROWS] =
                                             arena_sprintf(r->op.arena, "%d", RUN_TABLE_MAX_ROWS)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_TABLE_PUT, p)))
        return -1;
    if (strcmp(PQgetvalue(res, 0, RUN_TABLE_PUT_WRITTEN), "0") == 0) {
        if (!PQgetisnull(res, 0, RUN_TABLE_PUT_CUR_COLUMNS) &&
            strtol(PQgetvalue(res, 0, RUN_TABLE_PUT_CUR_COUNT), NULL, 10) +
                    (long)json_object_array_length(rows) >
                RUN_TABLE_MAX_ROWS)
            return req_error(r, 422, "invalid_value", "rows",
                             "the table would pass %d rows; replace it instead",
                             RUN_TABLE_MAX_ROWS);
        return req_error(r, 409, "columns_differ", "columns",
                         "append needs the table's columns, in its order");
    }
    const char *count = PQgetvalue(res, 0, RUN_TABLE_PUT_ROW_COUNT);
    /* Viewers patch their copy from the message when it carries the rows it added. */
    size_t rows_len = strlen(rows_text);
    pub_event(r->op.pub, pr.id, "run.table", req_path_param(r, "run"),
              rows_len <= RUN_TABLE_LIVE_MAX
                  ? arena_sprintf(r->op.arena,
                                  "{\"name\":\"%s\",\"mode\":\"%s\",\"row_count\":%s,"
                                  "\"columns\":%s,\"rows\":%s,\"truncated\":false}",
                                  name, mode, count, cols_text, rows_text)
                  : arena_sprintf(r->op.arena,
                                  "{\"name\":\"%s\",\"mode\":\"%s\",\"row_count\":%s,"
                                  "\"truncated\":true}",
                                  name, mode, count));
    return req_json_text(r, 200,
                         arena_sprintf(r->op.arena,
                                       "{\"name\":\"%s\",\"mode\":\"%s\",\"row_count\":%s}", name,
                                       mode, count));
}

int run_tables_list(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, (const char *const[]){NULL}) ||
        runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[RUN_TABLE_LIST__NIN] = {[RUN_TABLE_LIST_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_TABLE_LIST, p)))
        return -1;
    return req_json_text(
        r, 200,
        arena_sprintf(r->op.arena, "{\"items\":%s}", PQgetvalue(res, 0, RUN_TABLE_LIST_TABLES)));
}

int run_tables_get(struct req *r)
{
    const char *name = req_path_param(r, "name");
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, (const char *const[]){NULL}) ||
        runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    if (!run_tables_name_ok(name))
        return req_error(r, 404, "not_found", NULL, "no such table");
    const char *p[RUN_TABLE_GET__NIN] = {
        [RUN_TABLE_GET_IN_RUN] = req_path_param(r, "run"), [RUN_TABLE_GET_IN_NAME] = name};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_TABLE_GET, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such table");
    return req_json_text(r, 200, PQgetvalue(res, 0, RUN_TABLE_GET_TABLE_JSON));
}

/* ---- the request snapshot ---- */

int run_snapshot_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, (const char *const[]){NULL}) ||
        runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[RUN_SNAPSHOT_GET__NIN] = {[RUN_SNAPSHOT_GET_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_SNAPSHOT_GET, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such run");
#define OR_NULL(col) (PQgetisnull(res, 0, col) ? "null" : PQgetvalue(res, 0, col))
    return req_json_text(
        r, 200,
        arena_sprintf(r->op.arena, "{\"params\":%s,\"input\":%s,\"experiment\":%s}",
                      OR_NULL(RUN_SNAPSHOT_GET_PARAMS), OR_NULL(RUN_SNAPSHOT_GET_INPUT),
                      OR_NULL(RUN_SNAPSHOT_GET_EXPERIMENT)));
#undef OR_NULL
}
