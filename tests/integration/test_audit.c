/* Audit API (api/audit.c): the log holds every kind of entry the auth, users and
 * projects suites caused (so it runs after them and reads what they did), with the
 * client's address and no secret; a project admin sees only their project's entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "itest.h"

static struct itest_world world;

static int audit_init(void)
{
    return itest_world_projects(&world, "audit") ? 1 : 0;
}

static void test_audit(void)
{
    static const char *const wanted[] = {
        "auth.login",          "auth.login_failed", "auth.logout",    "token.create",
        "token.revoke",        "member.add",        "member.role",    "member.remove",
        "user.create",         "user.update",       "project.create", "user.password_changed",
        "user.password_reset",
    };
    int found[sizeof(wanted) / sizeof(wanted[0])] = {0};
    int pages = 0, http_without_ip = 0, token_actor = 0, leaks = 0;
    char path[300], cursor[64] = "", want_ip[64] = "";
    struct ident padmin;
    struct http_resp r;

    /* Every entry, page by page. */
    do {
        json_object *items, *nc;
        snprintf(path, sizeof(path), "/api/v1/audit?limit=500%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", path, NULL, &r), 0);
        CU_ASSERT_EQUAL_FATAL(r.status, 200);
        CU_ASSERT_TRUE_FATAL(r.json && json_object_object_get_ex(r.json, "items", &items));
        leaks += secrets_in_text(r.body, r.len, "the audit log");
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *e = json_object_array_get_idx(items, i), *a, *ip, *tok;
            const char *action;
            if (!json_object_object_get_ex(e, "action", &a))
                continue;
            action = json_object_get_string(a);
            for (size_t k = 0; k < sizeof(wanted) / sizeof(wanted[0]); k++)
                found[k] |= strcmp(action, wanted[k]) == 0;
            json_object_object_get_ex(e, "ip", &ip);
            /* Entries made over HTTP carry the client's address. The CLI's user.create
             * has none; every other action here came through nginx. */
            if (strcmp(action, "user.create") != 0 && !ip)
                http_without_ip++;
            if (ip && !want_ip[0])
                snprintf(want_ip, sizeof(want_ip), "%s", json_object_get_string(ip));
            if (json_object_object_get_ex(e, "actor_token", &tok) && tok)
                token_actor++;
        }
        cursor[0] = '\0';
        if (json_object_object_get_ex(r.json, "next_cursor", &nc) && nc)
            snprintf(cursor, sizeof(cursor), "%s", json_object_get_string(nc));
        http_resp_free(&r);
    } while (cursor[0] && ++pages < 100);

    for (size_t k = 0; k < sizeof(wanted) / sizeof(wanted[0]); k++) {
        if (!found[k])
            fprintf(stderr, "\n  AUDIT: no %s entry", wanted[k]);
        CU_ASSERT_TRUE(found[k]);
    }
    CU_ASSERT_EQUAL(http_without_ip, 0);
    CU_ASSERT_STRING_EQUAL(want_ip, "127.0.0.1");
    CU_ASSERT_TRUE(token_actor > 0);
    CU_ASSERT_EQUAL(leaks, 0);

    /* A project admin of A: A's entries only. */
    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "auditor", "audit.test", &padmin), 0);
    CU_ASSERT_EQUAL_FATAL(itest_add_member(&world.adm, world.pa.slug, padmin.email, "admin"), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&padmin), 200);
    snprintf(path, sizeof(path), "/api/v1/audit?project=%s&limit=1000", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(api_call(&padmin, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    {
        json_object *items, *p;
        int others = 0, n = 0;
        if (r.json && json_object_object_get_ex(r.json, "items", &items)) {
            n = (int)json_object_array_length(items);
            for (int i = 0; i < n; i++)
                if (!json_object_object_get_ex(json_object_array_get_idx(items, i), "project",
                                               &p) ||
                    !p || strcmp(json_object_get_string(p), world.pa.slug) != 0)
                    others++;
        }
        CU_ASSERT_TRUE(n > 0);
        CU_ASSERT_EQUAL(others, 0);
    }
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/audit?project=%s", world.pb.slug);
    CU_ASSERT_EQUAL(itest_get_status(&padmin, path), 404);
    CU_ASSERT_EQUAL(itest_get_status(&padmin, "/api/v1/audit"), 403);
}

/* The number of entries GET path answers (one page), or -1; each entry's action must
 * start with prefix and its actor_email be actor (NULL: any), else bad is counted. */
static int audit_count(const char *path, const char *prefix, const char *actor, int *bad)
{
    struct http_resp r;
    json_object *items, *v;
    int n = -1;

    if (api_call(&world.adm, "GET", path, NULL, &r) != 0)
        return -1;
    if (r.status == 200 && r.json && json_object_object_get_ex(r.json, "items", &items)) {
        n = (int)json_object_array_length(items);
        for (int i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(items, i);
            if (prefix && (!json_object_object_get_ex(e, "action", &v) ||
                           strncmp(json_object_get_string(v), prefix, strlen(prefix)) != 0))
                (*bad)++;
            if (actor && (!json_object_object_get_ex(e, "actor_email", &v) || !v ||
                          strcasecmp(json_object_get_string(v), actor) != 0))
                (*bad)++;
        }
    }
    http_resp_free(&r);
    return n;
}

/* The Audit page's filters: actor, action (one or a family), time, and field errors. */
static void test_audit_filters(void)
{
    char path[400];
    int bad = 0;
    struct http_resp r;

    snprintf(path, sizeof(path), "/api/v1/audit?action=user&limit=1000");
    CU_ASSERT_TRUE(audit_count(path, "user.", NULL, &bad) > 0);
    snprintf(path, sizeof(path), "/api/v1/audit?action=user.create&limit=1000");
    CU_ASSERT_TRUE(audit_count(path, "user.create", NULL, &bad) > 0);
    /* A family matches at a dot only: "use" is no family. */
    CU_ASSERT_EQUAL(audit_count("/api/v1/audit?action=use", NULL, NULL, &bad), 0);
    snprintf(path, sizeof(path), "/api/v1/audit?actor=%s&limit=1000", world.adm.email);
    CU_ASSERT_TRUE(audit_count(path, NULL, world.adm.email, &bad) > 0);
    CU_ASSERT_EQUAL(audit_count("/api/v1/audit?actor=nobody@audit.test", NULL, NULL, &bad), 0);
    snprintf(path, sizeof(path), "/api/v1/audit?project=%s&action=member&limit=1000",
             world.pa.slug);
    CU_ASSERT_TRUE(audit_count(path, "member.", NULL, &bad) > 0);
    /* Time: everything is before a far future and nothing after it. */
    CU_ASSERT_TRUE(audit_count("/api/v1/audit?until=2999-01-01T00:00:00Z", NULL, NULL, &bad) > 0);
    CU_ASSERT_EQUAL(audit_count("/api/v1/audit?since=2999-01-01T00:00:00Z", NULL, NULL, &bad), 0);
    CU_ASSERT_EQUAL(bad, 0);

    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", "/api/v1/audit?since=yesterday", NULL, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "since");
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", "/api/v1/audit?actr=x", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "actr");
    http_resp_free(&r);
}

int suite_audit_register(void)
{
    CU_pSuite s = CU_add_suite("audit", audit_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "audit log", test_audit) ||
           !CU_add_test(s, "audit filters", test_audit_filters);
}
