/* Projects API (api/projects.c: projects, members, tokens): revoked and expired
 * tokens, member add, role and remove, and bad input naming its field (projects,
 * tokens, members, and the users and audit queries the same way). Each test makes its
 * own users and tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static struct itest_world world;

static int projects_init(void)
{
    return itest_world_projects(&world, "projects") ? 1 : 0;
}

/* ---- tokens ---- */

/* The token list item of token id, as JSON text (owned by r), or NULL. */
static json_object *token_item(struct http_resp *r, long long id)
{
    json_object *items, *v;
    if (!r->json || !json_object_object_get_ex(r->json, "items", &items))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        if (json_object_object_get_ex(it, "id", &v) && json_object_get_int64(v) == id)
            return it;
    }
    return NULL;
}

static void test_token_lifecycle(void)
{
    struct ident t, t2, t3, t4;
    struct http_resp r;
    char path[300], sql[300];
    json_object *it, *v;

    /* Revoked. */
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t),
                          201);
    CU_ASSERT_EQUAL(itest_get_status(&t, "/api/v1/auth/me"), 200);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens/%lld", world.pa.slug, t.token_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "DELETE", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&t, "/api/v1/auth/me"), 401);

    /* Expired: made with a future expiry, then moved into the past. */
    CU_ASSERT_EQUAL_FATAL(
        itest_new_token(&world.adm, world.pa.slug, "[\"write\"]", "\"2099-01-01T00:00:00Z\"", &t2),
        201);
    CU_ASSERT_EQUAL(itest_get_status(&t2, "/api/v1/auth/me"), 200);
    snprintf(sql, sizeof(sql),
             "UPDATE api_tokens SET created_at = now() - interval '2 days', expires_at = now() - "
             "interval '1 second' WHERE id = %lld",
             t2.token_id);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL(itest_status_settles(&t2, "/api/v1/auth/me", 401), 401);

    /* A token made already expired is refused outright. */
    CU_ASSERT_EQUAL(
        itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "\"2000-01-01T00:00:00Z\"", &t3),
        422);

    /* last_used_at: empty until the token is used; the list never shows the secret. */
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t4),
                          201);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", path, NULL, &r), 0);
    it = token_item(&r, t4.token_id);
    CU_ASSERT_PTR_NOT_NULL(it);
    CU_ASSERT_TRUE(it && json_object_object_get_ex(it, "last_used_at", &v) && v == NULL);
    CU_ASSERT_PTR_NULL(r.body ? strstr(r.body, t4.secret) : NULL);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&t4, "/api/v1/projects"), 200);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", path, NULL, &r), 0);
    it = token_item(&r, t4.token_id);
    CU_ASSERT_TRUE(it && json_object_object_get_ex(it, "last_used_at", &v) && v != NULL &&
                   json_object_is_type(v, json_type_string));
    CU_ASSERT_PTR_NULL(r.body ? strstr(r.body, t4.secret) : NULL);
    http_resp_free(&r);
}

/* ---- validation ---- */

struct bad_input {
    const char *method;
    const char *path; /* {p}: project A's slug */
    const char *body;
    unsigned flags;
    long status;
    const char *code;  /* or NULL: not checked */
    const char *field; /* or NULL: must have none */
};

static void test_validation(void)
{
    static const struct bad_input cases[] = {
        {"POST", "/api/v1/projects", "{\"slug\":\"Bad Slug\",\"name\":\"x\"}", 0, 422,
         "invalid_value", "slug"},
        {"POST", "/api/v1/projects", "{\"slug\":\"fine-slug-zz\",\"name\":\"x\",\"colour\":1}", 0,
         400, "invalid_field", "colour"},
        {"POST", "/api/v1/projects", "{\"slug\":\"fine-slug-zz\"}", 0, 400, "invalid_field",
         "name"},
        {"POST", "/api/v1/projects", "{\"slug\":", 0, 400, "invalid_json", NULL},
        {"POST", "/api/v1/projects", "[1,2]", 0, 400, "invalid_json", NULL},
        {"POST", "/api/v1/projects", "{\"slug\":\"fine-slug-zz\",\"name\":\"x\"}", API_CT_TEXT, 415,
         "unsupported_media_type", NULL},
        {"POST", "/api/v1/projects/{p}/tokens", "{\"name\":\"n\",\"scopes\":[\"root\"]}", 0, 422,
         "invalid_value", "scopes"},
        {"POST", "/api/v1/projects/{p}/tokens", "{\"name\":\"n\",\"scopes\":[]}", 0, 422,
         "invalid_value", "scopes"},
        {"POST", "/api/v1/projects/{p}/tokens", "{\"name\":\"n\",\"scopes\":\"read\"}", 0, 400,
         "invalid_field", "scopes"},
        {"POST", "/api/v1/projects/{p}/tokens",
         "{\"name\":\"n\",\"scopes\":[\"read\"],\"expires_at\":\"tomorrow\"}", 0, 400,
         "invalid_field", "expires_at"},
        /* Shaped right, refused by PostgreSQL, after the token was made: nothing may leak. */
        {"POST", "/api/v1/projects/{p}/tokens",
         "{\"name\":\"n\",\"scopes\":[\"read\"],\"expires_at\":\"2026-13-45T00:00:00Z\"}", 0, 400,
         NULL, "expires_at"},
        {"POST", "/api/v1/projects/{p}/members",
         "{\"email\":\"nobody@nowhere.test\",\"role\":"
         "\"viewer\"}",
         0, 422, NULL, "email"},
        {"POST", "/api/v1/projects/{p}/members", "{\"email\":\"x@y.z\",\"role\":\"owner\"}", 0, 400,
         "invalid_field", "role"},
        {"POST", "/api/v1/users", "{\"email\":\"no-at-sign\",\"password\":\"long-enough-1\"}", 0,
         422, "invalid_value", "email"},
        {"POST", "/api/v1/users", "{\"email\":\"short@pw.test\",\"password\":\"short\"}", 0, 422,
         "invalid_value", "password"},
        {"PATCH", "/api/v1/users/not-a-number", "{\"display_name\":\"x\"}", 0, 404, "not_found",
         NULL},
        {"PATCH", "/api/v1/users/999999999", "{\"display_name\":\"x\"}", 0, 404, "not_found", NULL},
        {"GET", "/api/v1/audit?limit=0", NULL, 0, 400, "invalid_field", "limit"},
        {"GET", "/api/v1/audit?cursor=abc", NULL, 0, 400, "invalid_field", "cursor"},
    };
    struct http_resp r;
    char path[300], body[300], email[128], pw[80];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_input *c = &cases[i];
        const char *field, *code;
        const char *ph = strstr(c->path, "{p}");
        if (ph)
            snprintf(path, sizeof(path), "%.*s%s%s", (int)(ph - c->path), c->path, world.pa.slug,
                     ph + 3);
        else
            snprintf(path, sizeof(path), "%s", c->path);
        CU_ASSERT_EQUAL_FATAL(api_req(&world.adm, c->method, path, c->body, c->flags, NULL, &r), 0);
        field = http_error_field(&r);
        code = http_error_code(&r);
        if (r.status != c->status || (c->code && (!code || strcmp(code, c->code) != 0)) ||
            (c->field ? !field || strcmp(field, c->field) != 0 : field != NULL)) {
            fprintf(stderr, "\n  VALIDATION %s %s %s: expected %ld %s field %s, got %ld %s",
                    c->method, path, c->body ? c->body : "", c->status, c->code ? c->code : "-",
                    c->field ? c->field : "(none)", r.status, r.body ? r.body : "");
            CU_FAIL("validation answer");
        }
        http_resp_free(&r);
    }

    /* Duplicates: 409 naming the field. */
    snprintf(body, sizeof(body), "{\"slug\":\"%s\",\"name\":\"again\"}", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "POST", "/api/v1/projects", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 409);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "slug");
    http_resp_free(&r);
    /* Emails are unique whatever their case. */
    for (size_t i = 0; i < strlen(world.adm.email) && i < sizeof(email) - 1; i++)
        email[i] =
            (char)(world.adm.email[i] >= 'a' && world.adm.email[i] <= 'z' ? world.adm.email[i] - 32
                                                                          : world.adm.email[i]);
    email[strlen(world.adm.email)] = '\0';
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email,
             itest_password(pw, sizeof(pw)));
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "POST", "/api/v1/users", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 409);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "email");
    http_resp_free(&r);
}

/* ---- members: the audit test below wants member.role and member.remove entries ---- */

static void test_member_changes(void)
{
    struct ident u, tok;
    struct http_resp r;
    char path[300];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "member", "projects.test", &u), 0);
    CU_ASSERT_EQUAL_FATAL(itest_add_member(&world.adm, world.pa.slug, u.email, "viewer"), 0);
    /* Adding again: 409. */
    CU_ASSERT_EQUAL(itest_add_member(&world.adm, world.pa.slug, u.email, "member"), -1);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%lld", world.pa.slug, u.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"role\":\"member\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "role") ? http_json_string(&r, "role") : "",
                           "member");
    http_resp_free(&r);
    /* Done by a token, so an entry carries actor_token. */
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"admin\"]", "null", &tok),
                          201);
    CU_ASSERT_EQUAL_FATAL(api_call(&tok, "DELETE", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "DELETE", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);

    /* B's only admin is its creator: it can be neither demoted nor removed. */
    snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%lld", world.pb.slug,
             world.adm.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"role\":\"viewer\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 409);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r) ? http_error_code(&r) : "", "last_admin");
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "DELETE", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 409);
    http_resp_free(&r);
}

int suite_projects_register(void)
{
    CU_pSuite s = CU_add_suite("projects", projects_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "revoked and expired tokens", test_token_lifecycle) ||
           !CU_add_test(s, "bad input names the field", test_validation) ||
           !CU_add_test(s, "member add, role, remove", test_member_changes);
}
