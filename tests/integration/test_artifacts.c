/* Artifacts API (api/artifacts.c): registering in batches, uploads with the sha256 checked
 * by the server, streamed downloads, the upload cap (413), checkpoints by step, promotion
 * with its lineage and an audited demotion, the tables a run emits (replace, append, the
 * live message), the request snapshot, cross-project isolation and bad input. The stack of
 * tests/integration/run.sh caps uploads at RUNWATCH_ARTIFACT_MAX_BYTES = 3 MiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "itest.h"

#define UPLOAD_CAP (3L * 1024 * 1024)

static struct itest_world world;

static int artifacts_init(void)
{
    return itest_world_init(&world, "artifacts") ? 1 : 0;
}

static void hex_sha256(const void *data, size_t n, char out[65])
{
    uint8_t d[SHA256_DIGEST];
    sha256_digest(data, n, d);
    for (int i = 0; i < SHA256_DIGEST; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* POST the bytes as an upload to run, as who, with the query after "?". */
static long upload(const struct ident *who, const char *run, const char *query, const char *data,
                   size_t n, struct http_resp *r)
{
    char path[600], cred[400];
    const char *hdr[4] = {"Content-Type: application/octet-stream", cred, NULL, NULL};

    snprintf(path, sizeof(path), "/api/v1/runs/%s/artifacts/upload?%s", run, query);
    if (who->kind == IDENT_TOKEN) {
        snprintf(cred, sizeof(cred), "Authorization: Bearer %s", who->secret);
    } else {
        snprintf(cred, sizeof(cred), "Cookie: rw_session=%s", who->secret);
        hdr[2] = "X-Runwatch-CSRF: 1";
    }
    if (http_do("POST", path, data, n, hdr, r) != 0)
        return -1;
    return r->status;
}

static void test_register_and_checkpoints(void)
{
    struct http_resp r;
    char run[40];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    itest_callf(&world.twrite, "POST",
                "{\"artifacts\":["
                "{\"name\":\"ckpt-100\",\"kind\":\"checkpoint\",\"uri\":\"s3://b/ckpt-100\","
                "\"step\":100,\"size\":10,\"sha256\":"
                "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                "{\"name\":\"ckpt-300\",\"kind\":\"checkpoint\",\"uri\":\"s3://b/ckpt-300\","
                "\"step\":300,\"metadata\":{\"loss\":0.25}},"
                "{\"name\":\"ckpt-200\",\"kind\":\"checkpoint\",\"uri\":\"s3://b/ckpt-200\","
                "\"step\":200},"
                "{\"name\":\"data.csv\",\"kind\":\"dataset\",\"uri\":\"file:///d.csv\"}]}",
                &r, "/api/v1/runs/%s/artifacts", run);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "created"), 3 + 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.name"), "ckpt-100"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.3.kind"), "dataset"));
    CU_ASSERT(itest_jnull(r.json, "items.3.download"));
    http_resp_free(&r);

    /* The same batch again (a retry) stores nothing and answers the rows. */
    itest_callf(&world.twrite, "POST",
                "{\"name\":\"ckpt-200\",\"kind\":\"checkpoint\",\"uri\":\"s3://b/ckpt-200\","
                "\"step\":200}",
                &r, "/api/v1/runs/%s/artifacts", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "created"), 0);
    http_resp_free(&r);
    /* A taken name with other fields: 409, and the new item of that batch is not stored. */
    itest_callf(&world.twrite, "POST",
                "{\"artifacts\":[{\"name\":\"new-one\",\"kind\":\"file\",\"uri\":\"s3://x\"},"
                "{\"name\":\"ckpt-200\",\"kind\":\"checkpoint\",\"uri\":\"s3://b/other\"}]}",
                &r, "/api/v1/runs/%s/artifacts", run);
    CU_ASSERT(IS_ERROR(r, 409, "conflict", "name"));
    http_resp_free(&r);

    /* Checkpoints by step, newest first; a viewer reads them. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts?kind=checkpoint", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.step"), 300);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.step"), 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.2.step"), 100);
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    /* Pages of one follow the same order through the cursor; the step-less artifact last. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts?limit=3", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    const char *cur = itest_jstr(r.json, "next_cursor");
    char cursor[64];
    snprintf(cursor, sizeof(cursor), "%s", cur ? cur : "");
    http_resp_free(&r);
    CU_ASSERT_FATAL(cursor[0] != '\0');
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts?limit=3&cursor=%s", run,
                cursor);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.name"), "data.csv"));
    http_resp_free(&r);
    /* The project's checkpoints, newest first, with their run. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/artifacts?project=%s&kind=checkpoint",
                world.pa.slug);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(itest_jlen(r.json, "items") >= 3);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.name"), "ckpt-200"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.run.id"), run));
    http_resp_free(&r);

    /* One artifact by id; another project's member sees nothing of it. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts?kind=dataset", run);
    long long id = itest_jint(r.json, "items.0.id");
    http_resp_free(&r);
    CU_ASSERT_FATAL(id > 0);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts/%lld", run, id);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "uri"), "file:///d.csv"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/runs/%s/artifacts/%lld", run, id),
        404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "GET", NULL, "/api/v1/runs/%s/artifacts", run),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "POST",
                                  "{\"name\":\"x\",\"kind\":\"file\",\"uri\":\"s3://x\"}",
                                  "/api/v1/runs/%s/artifacts", run),
                    404);
    /* A viewer and a read token may not register. */
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST",
                                  "{\"name\":\"x\",\"kind\":\"file\",\"uri\":\"s3://x\"}",
                                  "/api/v1/runs/%s/artifacts", run),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.tread, "POST",
                                  "{\"name\":\"x\",\"kind\":\"file\",\"uri\":\"s3://x\"}",
                                  "/api/v1/runs/%s/artifacts", run),
                    403);
    /* A project's list names the project: B's member asking for A's gets 404. */
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/artifacts?project=%s", world.pa.slug),
        404);
}

static void test_bad_input(void)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"kind\":\"file\",\"uri\":\"s3://x\"}", "name"},
        {"{\"name\":\"a\",\"kind\":\"weights\",\"uri\":\"s3://x\"}", "kind"},
        {"{\"name\":\"a\",\"kind\":\"file\"}", "uri"},
        {"{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\",\"sha256\":\"abc\"}", "sha256"},
        {"{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\",\"sha256\":"
         "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
         "sha256"},
        {"{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\",\"step\":-1}", "step"},
        {"{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\",\"metadata\":[1]}", "metadata"},
        {"{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\",\"colour\":1}", "colour"},
        {"{\"artifacts\":[{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\"},"
         "{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://y\"}]}",
         "artifacts[1].name"},
        {"{\"artifacts\":[{\"name\":\"a\",\"kind\":\"file\",\"uri\":\"s3://x\"},"
         "{\"name\":\"b\",\"kind\":\"file\"}]}",
         "artifacts[1].uri"},
    };
    struct http_resp r;
    char run[40];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_callf(&world.twrite, "POST", cases[i].body, &r, "/api/v1/runs/%s/artifacts", run);
        if (!IS_ERROR(r, 400, NULL, cases[i].field))
            fprintf(stderr, "  (case %zu)\n", i);
        http_resp_free(&r);
    }
    /* Nothing of those was stored. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts", run);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts?kind=weights", run);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "kind"));
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts?cursor=zz", run);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "cursor"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL, "/api/v1/runs/%s/artifacts/abc", run),
                    404);
}

static void test_upload_download(void)
{
    struct http_resp r;
    char run[40], sha[65], q[300], hdr[200];
    const char *small = "epoch,acc\n1,0.5\n2,0.75\n";
    size_t big_n = (size_t)(2.5 * 1024 * 1024) + 7;
    char *big = malloc(big_n);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (char)((i * 7919u + (i >> 11)) & 0xff);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);

    /* A wrong sha256: 400 naming it, and nothing stored. */
    snprintf(q, sizeof(q), "name=acc.csv&kind=table&sha256=%064d", 0);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, small, strlen(small), &r), 400);
    CU_ASSERT(IS_ERROR(r, 400, "sha256_mismatch", "sha256"));
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/artifacts", run);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);

    /* The right one: stored, with its size and a download path. */
    hex_sha256(small, strlen(small), sha);
    snprintf(q, sizeof(q), "name=out/acc.csv&kind=table&step=3&sha256=%s", sha);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, small, strlen(small), &r), 201);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "sha256"), sha));
    CU_ASSERT_EQUAL(itest_jint(r.json, "size"), (long long)strlen(small));
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "stored")));
    char download[200];
    snprintf(download, sizeof(download), "%s", itest_jstr(r.json, "download") ?: "");
    http_resp_free(&r);
    CU_ASSERT_FATAL(download[0] == '/');
    /* The same upload again answers the stored row; other content under the name is 409. */
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, small, strlen(small), &r), 200);
    http_resp_free(&r);
    {
        char sha2[65], q2[300];
        hex_sha256("other", 5, sha2);
        snprintf(q2, sizeof(q2), "name=out/acc.csv&kind=table&sha256=%s", sha2);
        CU_ASSERT_EQUAL(upload(&world.twrite, run, q2, "other", 5, &r), 409);
        CU_ASSERT(IS_ERROR(r, 409, "conflict", "name"));
        http_resp_free(&r);
    }
    /* The download: the bytes, their length, the sha256 as ETag, a safe file name. */
    itest_callf(&world.viewer, "GET", NULL, &r, "%s", download);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(r.len, strlen(small));
    CU_ASSERT(r.body && memcmp(r.body, small, strlen(small)) == 0);
    CU_ASSERT(itest_streq(http_header(&r, "Content-Length", hdr, sizeof(hdr)), "23"));
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%s\"", sha);
    CU_ASSERT(itest_streq(http_header(&r, "ETag", hdr, sizeof(hdr)), etag));
    CU_ASSERT(itest_streq(http_header(&r, "Content-Disposition", hdr, sizeof(hdr)),
                          "attachment; filename=\"acc.csv\""));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "%s", download), 404);

    /* A file of several slices (1 MiB each) comes back whole and in order. */
    hex_sha256(big, big_n, sha);
    snprintf(q, sizeof(q), "name=model.bin&kind=model&sha256=%s", sha);
    CU_ASSERT_EQUAL(upload(&world.member, run, q, big, big_n, &r), 201);
    snprintf(download, sizeof(download), "%s", itest_jstr(r.json, "download") ?: "");
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "%s", download);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(r.len, big_n);
    CU_ASSERT(r.body && r.len == big_n && memcmp(r.body, big, big_n) == 0);
    http_resp_free(&r);

    /* Past the cap: 413 (nginx and the API refuse the same bodies), nothing stored. */
    char *huge = malloc((size_t)UPLOAD_CAP + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, 'x', (size_t)UPLOAD_CAP + 1);
    hex_sha256(huge, (size_t)UPLOAD_CAP + 1, sha);
    snprintf(q, sizeof(q), "name=huge.bin&sha256=%s", sha);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, huge, (size_t)UPLOAD_CAP + 1, &r), 413);
    CU_ASSERT(itest_streq(http_error_code(&r), "body_too_large"));
    http_resp_free(&r);
    /* Exactly the cap is taken. */
    hex_sha256(huge, (size_t)UPLOAD_CAP, sha);
    snprintf(q, sizeof(q), "name=cap.bin&sha256=%s", sha);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, huge, (size_t)UPLOAD_CAP, &r), 201);
    http_resp_free(&r);
    free(huge);
    free(big);

    /* Bad query input, and who may upload. */
    CU_ASSERT_EQUAL(upload(&world.twrite, run, "kind=file", "a", 1, &r), 400);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "name"));
    http_resp_free(&r);
    hex_sha256("a", 1, sha);
    snprintf(q, sizeof(q), "name=a&kind=weights&sha256=%s", sha);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, "a", 1, &r), 400);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "kind"));
    http_resp_free(&r);
    snprintf(q, sizeof(q), "name=a&sha256=%s&metadata=%%5B1%%5D", sha);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, "a", 1, &r), 400);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "metadata"));
    http_resp_free(&r);
    snprintf(q, sizeof(q), "name=a&sha256=%s&colour=1", sha);
    CU_ASSERT_EQUAL(upload(&world.twrite, run, q, "a", 1, &r), 400);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "colour"));
    http_resp_free(&r);
    snprintf(q, sizeof(q), "name=a&sha256=%s", sha);
    CU_ASSERT_EQUAL(upload(&world.viewer, run, q, "a", 1, &r), 403);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(upload(&world.twrite_b, run, q, "a", 1, &r), 404);
    http_resp_free(&r);
    /* A URI artifact has no content to download. */
    itest_callf(&world.twrite, "POST", "{\"name\":\"far\",\"kind\":\"file\",\"uri\":\"s3://far\"}",
                &r, "/api/v1/runs/%s/artifacts", run);
    long long far = itest_jint(r.json, "items.0.id");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL,
                                  "/api/v1/runs/%s/artifacts/%lld/content", run, far),
                    404);
}

static void test_promotion(void)
{
    struct http_resp r;
    char run[40], running[40], sql[600], out[200], exp_name[64];
    const char *sha = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /* A run of an experiment that succeeded, with a model and an artifact without sha256. */
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, "train", "succeeded", run), 0);
    itest_unique("exp", exp_name, sizeof(exp_name));
    snprintf(sql, sizeof(sql),
             "WITH e AS (INSERT INTO experiments (project_id, name) VALUES (%lld, '%s') "
             "RETURNING id) UPDATE runs SET experiment_id = (SELECT id FROM e) WHERE id = '%s' "
             "RETURNING experiment_id",
             world.pa.id, exp_name, run);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
    long long exp_id = atoll(out);
    CU_ASSERT_FATAL(exp_id > 0);
    char body[400];
    snprintf(body, sizeof(body),
             "{\"artifacts\":[{\"name\":\"model.pt\",\"kind\":\"model\",\"uri\":\"s3://m\","
             "\"sha256\":\"%s\"},{\"name\":\"nosha\",\"kind\":\"model\",\"uri\":\"s3://n\"}]}",
             sha);
    itest_callf(&world.member, "POST", body, &r, "/api/v1/runs/%s/artifacts", run);
    EXPECT_STATUS(r, 201);
    long long model = itest_jint(r.json, "items.0.id"), nosha = itest_jint(r.json, "items.1.id");
    http_resp_free(&r);

    /* Only a succeeded run's artifact: a running run's is refused. */
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", running), 0);
    itest_callf(&world.twrite, "POST", "{\"name\":\"x\",\"kind\":\"file\",\"uri\":\"s3://r\"}", &r,
                "/api/v1/runs/%s/artifacts", running);
    long long rid = itest_jint(r.json, "items.0.id");
    http_resp_free(&r);
    itest_callf(&world.twrite, "POST", "{\"name\":\"ranker\"}", &r,
                "/api/v1/runs/%s/artifacts/%lld/promote", running, rid);
    CU_ASSERT(IS_ERROR(r, 409, "run_not_succeeded", "run"));
    http_resp_free(&r);
    itest_callf(&world.member, "POST", "{\"name\":\"ranker\"}", &r,
                "/api/v1/runs/%s/artifacts/%lld/promote", run, nosha);
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "sha256"));
    http_resp_free(&r);
    /* Another run's artifact id under this run is no artifact. */
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST", "{\"name\":\"ranker\"}",
                                  "/api/v1/runs/%s/artifacts/%lld/promote", run, rid),
                    404);
    /* Viewers and another project may not promote. */
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", "{\"name\":\"ranker\"}",
                                  "/api/v1/runs/%s/artifacts/%lld/promote", run, model),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "POST", "{\"name\":\"ranker\"}",
                                  "/api/v1/runs/%s/artifacts/%lld/promote", run, model),
                    404);
    itest_callf(&world.member, "POST", "{\"name\":\"\"}", &r,
                "/api/v1/runs/%s/artifacts/%lld/promote", run, model);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "name"));
    http_resp_free(&r);
    itest_callf(&world.member, "POST", "{\"name\":\"ranker\",\"kind\":\"zoo\"}", &r,
                "/api/v1/runs/%s/artifacts/%lld/promote", run, model);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "kind"));
    http_resp_free(&r);

    /* Promoted twice: versions 1 and 2, with the lineage back to the run and experiment. */
    char name[64];
    itest_unique("ranker", name, sizeof(name));
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"note\":\"best val\"}", name);
    itest_callf(&world.member, "POST", body, &r, "/api/v1/runs/%s/artifacts/%lld/promote", run,
                model);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "version"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "kind"), "model"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "sha256"), sha));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "run.id"), run));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "run.status"), "succeeded"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment.id"), exp_id);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "experiment.name"), exp_name));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "artifact.name"), "model.pt"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "promoted_by"), world.member.email));
    long long p1 = itest_jint(r.json, "id");
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"kind\":\"pipeline\"}", name);
    itest_callf(&world.twrite, "POST", body, &r, "/api/v1/runs/%s/artifacts/%lld/promote", run,
                model);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "version"), 2);
    {
        const char *by = itest_jstr(r.json, "promoted_by");
        CU_ASSERT(by && strncmp(by, "token ", 6) == 0);
    }
    http_resp_free(&r);

    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/promotions?project=%s&name=%s",
                world.pa.slug, name);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.version"), 2);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/promotions/%lld", p1),
                    404);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/promotions?project=%s", world.pa.slug),
        404);

    /* Demoting is the project admin's, once, and audited. */
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST", "{\"reason\":\"x\"}",
                                  "/api/v1/promotions/%lld/demote", p1),
                    403);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.twrite, "POST", NULL, "/api/v1/promotions/%lld/demote", p1), 403);
    itest_callf(&world.adm, "POST", "{\"reason\":\"regressed on holdout\"}", &r,
                "/api/v1/promotions/%lld/demote", p1);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_PTR_NOT_NULL(itest_jget(r.json, "demoted_at"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "demote_reason"), "regressed on holdout"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "demoted_by"), world.adm.email));
    http_resp_free(&r);
    itest_callf(&world.adm, "POST", NULL, &r, "/api/v1/promotions/%lld/demote", p1);
    CU_ASSERT(IS_ERROR(r, 409, "already_demoted", NULL));
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/promotions?project=%s&name=%s",
                world.pa.slug, name);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/promotions?project=%s&name=%s&demoted=true", world.pa.slug, name);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/promotions?project=%s&demoted=maybe",
                world.pa.slug);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "demoted"));
    http_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit_log WHERE action IN ('artifact.promote', "
             "'artifact.demote') AND target = '%lld'",
             p1);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT(itest_streq(out, "2"));
}

static void test_tables(void)
{
    struct http_resp r;
    struct itest_sub sub;
    char run[40];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    itest_callf(&world.twrite, "POST",
                "{\"columns\":[\"model\",\"score_val\",\"fit_time\",\"rank\"],"
                "\"rows\":[[\"LightGBM\",0.91234567,12.5,1],[\"XGBoost\",0.00001234,3,2]]}",
                &r, "/api/v1/runs/%s/tables/leaderboard", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "row_count"), 2);
    http_resp_free(&r);

    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    itest_callf(&world.twrite, "POST",
                "{\"mode\":\"append\",\"columns\":[\"model\",\"score_val\",\"fit_time\",\"rank\"],"
                "\"rows\":[[\"CatBoost\",0.5,null,3]]}",
                &r, "/api/v1/runs/%s/tables/leaderboard", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "row_count"), 3);
    http_resp_free(&r);
    json_object *m = itest_sub_find(&sub, run, "run.table");
    itest_sub_close(&sub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT(itest_streq(itest_jstr(m, "data.name"), "leaderboard"));
    CU_ASSERT(itest_streq(itest_jstr(m, "data.mode"), "append"));
    CU_ASSERT_EQUAL(itest_jint(m, "data.row_count"), 3);
    CU_ASSERT(itest_streq(itest_jstr(m, "data.rows.0.0"), "CatBoost"));
    json_object_put(m);

    /* Columns in the engine's order, rows in theirs; numbers as sent. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/tables/leaderboard", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "columns.0"), "model"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "columns.3"), "rank"));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "rows"), 3);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "rows.2.0"), "CatBoost"));
    CU_ASSERT(itest_jnull(r.json, "rows.2.2"));
    http_resp_free(&r);

    /* Append with other columns: 409, nothing added; replace sets new columns. */
    itest_callf(&world.twrite, "POST", "{\"mode\":\"append\",\"columns\":[\"a\"],\"rows\":[[1]]}",
                &r, "/api/v1/runs/%s/tables/leaderboard", run);
    CU_ASSERT(IS_ERROR(r, 409, "columns_differ", "columns"));
    http_resp_free(&r);
    itest_callf(&world.twrite, "POST", "{\"columns\":[\"k\",\"v\"],\"rows\":[[\"a\",1]]}", &r,
                "/api/v1/runs/%s/tables/params", run);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/tables", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.name"), "leaderboard"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.row_count"), 3);
    http_resp_free(&r);

    /* Bad input names the field; other projects see nothing; viewers may not write. */
    static const struct {
        const char *name, *body, *field;
    } bad[] = {
        {"t", "{\"rows\":[]}", "columns"},
        {"t", "{\"columns\":[],\"rows\":[]}", "columns"},
        {"t", "{\"columns\":[\"a\",\"a\"],\"rows\":[]}", "columns[1]"},
        {"t", "{\"columns\":[\"a\",7],\"rows\":[]}", "columns[1]"},
        {"t", "{\"columns\":[\"a\"],\"rows\":[[1],[1,2]]}", "rows[1]"},
        {"t", "{\"columns\":[\"a\"],\"rows\":[[{\"x\":1}]]}", "rows[0][0]"},
        {"t", "{\"columns\":[\"a\"],\"rows\":[[1]],\"mode\":\"merge\"}", "mode"},
        {"bad%20name", "{\"columns\":[\"a\"],\"rows\":[]}", "name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        itest_callf(&world.twrite, "POST", bad[i].body, &r, "/api/v1/runs/%s/tables/%s", run,
                    bad[i].name);
        if (!IS_ERROR(r, 400, NULL, bad[i].field))
            fprintf(stderr, "  (case %zu)\n", i);
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/runs/%s/tables", run),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "POST", "{\"columns\":[\"a\"],\"rows\":[]}",
                                  "/api/v1/runs/%s/tables/x", run),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", "{\"columns\":[\"a\"],\"rows\":[]}",
                                  "/api/v1/runs/%s/tables/x", run),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL, "/api/v1/runs/%s/tables/none", run),
                    404);
}

/* Sets an experiment's flags, whichever column holds them (config before migration 0034,
 * flags after), as the snapshot's trigger reads them. */
static int set_flags(long long exp, const char *json)
{
    char sql[800];
    snprintf(
        sql, sizeof(sql),
        "DO $$ BEGIN EXECUTE format('UPDATE experiments SET %%I = %%L::jsonb WHERE id = %lld', "
        "CASE WHEN EXISTS (SELECT FROM information_schema.columns WHERE table_name = "
        "'experiments' AND column_name = 'flags') THEN 'flags' ELSE 'config' END, '%s'); "
        "END $$",
        exp, json);
    return itest_psql(sql, NULL, 0);
}

static void test_snapshot(void)
{
    struct http_resp r;
    char run[40], plain[40], sql[700], out[100], exp_name[64];

    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, "train",
                                          ",\"params\":{\"lr\":0.001,\"layers\":4},"
                                          "\"input\":{\"dataset\":\"cifar10\"}",
                                          run),
                          0);
    CU_ASSERT_EQUAL_FATAL(
        itest_world_run(&world, world.pa.slug, "train", ",\"params\":{\"lr\":0.1}", plain), 0);
    /* An experiment with flags; the run linked to it takes them as they are then, and a
     * later change of the experiment leaves the snapshot alone. */
    itest_unique("snap", exp_name, sizeof(exp_name));
    snprintf(sql, sizeof(sql),
             "INSERT INTO experiments (project_id, name) VALUES (%lld, '%s') RETURNING id",
             world.pa.id, exp_name);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
    long long exp_id = atoll(out);
    CU_ASSERT_FATAL(exp_id > 0);
    CU_ASSERT_EQUAL_FATAL(set_flags(exp_id, "{\"nodes\": 2, \"model\": {\"layers\": 4}}"), 0);
    snprintf(sql, sizeof(sql), "UPDATE runs SET experiment_id = %lld WHERE id = '%s'", exp_id, run);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(set_flags(exp_id, "{\"nodes\": 8}"), 0);

    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/snapshot", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "params.layers"), 4);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "input.dataset"), "cifar10"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment.id"), exp_id);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "experiment.name"), exp_name));
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment.flags.nodes"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment.flags.model.layers"), 4);
    http_resp_free(&r);

    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/snapshot", plain);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(itest_jnull(r.json, "experiment"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/runs/%s/snapshot", run),
                    404);
}

int suite_artifacts_register(void)
{
    CU_pSuite s = CU_add_suite("artifacts", artifacts_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "artifacts: batches, retries, conflicts, checkpoints by step",
                        test_register_and_checkpoints) ||
           !CU_add_test(s, "artifacts: bad input names the field, stores nothing",
                        test_bad_input) ||
           !CU_add_test(s, "artifacts: uploads checked by sha256, streamed downloads, the cap",
                        test_upload_download) ||
           !CU_add_test(s, "artifacts: promotion, lineage, audited demotion", test_promotion) ||
           !CU_add_test(s, "artifacts: run tables, replace and append, live", test_tables) ||
           !CU_add_test(s, "artifacts: the request snapshot", test_snapshot);
}
