/* cli: the operator's subcommands that write accounts (`runwatch-api user …`,
 * `runwatch-api token create`). Each runs as the operator who holds the database: one
 * struct op with its own arena and connection, an identity that is an instance admin
 * but no user, and no origin address. The writes are accounts.c's, the same code the
 * API runs, so a user or token made here has the same rows and audit entries. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "accounts.h"
#include "arena.h"
#include "audit_log.h"
#include "config.h"
#include "db.h"

/* The operator's unit of work: instance admin, no user, no address. */
struct cli_ctx {
    struct arena arena;
    struct db db;
    struct access_ident ident;
    struct op op;
};

static void cli_open(struct cli_ctx *c, const struct config *cfg)
{
    arena_init(&c->arena, 16384);
    db_init(&c->db, cfg->database_url);
    memset(&c->ident, 0, sizeof(c->ident));
    c->ident.kind = ACCESS_NONE;
    c->ident.is_admin = 1;
    op_init(&c->op, &c->arena, cfg, &c->db, NULL);
    c->op.ident = &c->ident;
}

/* Reports a failure (rc 1) on stderr, then rolls back whatever is open and closes. */
static int cli_close(struct cli_ctx *c, const char *what, const char *sub, int rc)
{
    if (rc == 1)
        fprintf(stderr, "runwatch-api %s %s: %s\n", what, sub,
                c->op.err.message ? c->op.err.message : "failed");
    db_rollback(&c->db);
    db_fini(&c->db);
    arena_fini(&c->arena);
    return rc;
}

/* A password from stdin (first line), or a generated one that is printed once. */
static const char *cli_password(struct arena *a, int from_stdin, int *generated)
{
    static char line[1100];
    *generated = 0;
    if (from_stdin) {
        if (!fgets(line, sizeof(line), stdin))
            return NULL;
        line[strcspn(line, "\r\n")] = '\0';
        return line;
    }
    *generated = 1;
    return access_random_token(a, 15); /* 20 characters, 120 bits */
}

static void cli_user_usage(void)
{
    fprintf(
        stderr,
        "usage: runwatch-api user add --email EMAIL [--name NAME] [--admin] [--password-stdin]\n"
        "       runwatch-api user reset-password --email EMAIL [--password-stdin]\n"
        "       runwatch-api user bootstrap\n"
        "  Without --password-stdin a strong password is generated and printed once.\n"
        "  bootstrap: when no user exists, creates an instance admin from\n"
        "  RUNWATCH_ADMIN_EMAIL / RUNWATCH_ADMIN_PASSWORD (default admin@localhost and a\n"
        "  generated password); does nothing otherwise.\n");
}

int cli_user(const struct config *cfg, int argc, char **argv)
{
    struct cli_ctx c;
    struct op *o = &c.op;
    const char *sub = argc > 0 ? argv[0] : "";
    const char *email = NULL, *name = "", *password = NULL;
    int admin = 0, from_stdin = 0, generated = 0, rc = 1;
    PGresult *res;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--admin") == 0)
            admin = 1;
        else if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = 1;
        else {
            cli_user_usage();
            return 2;
        }
    }
    cli_open(&c, cfg);

    if (strcmp(sub, "bootstrap") == 0) {
        if (db_begin(o) || !(res = db_exec(o, DB_STMT_USER_COUNT, NULL, 0)))
            goto out;
        if (atol(PQgetvalue(res, 0, USER_COUNT_COUNT)) > 0) {
            rc = 0;
            goto out;
        }
        email = getenv("RUNWATCH_ADMIN_EMAIL");
        if (!email || !*email)
            email = "admin@localhost";
        password = getenv("RUNWATCH_ADMIN_PASSWORD");
        if (!password || !*password) {
            password = access_random_token(&c.arena, 15);
            generated = 1;
        }
        if (!accounts_user_create(o, email, "Administrator", password, 1) || db_commit(o))
            goto out;
        printf("Created the first instance admin: %s\n", email);
        if (generated)
            printf("Its password, shown only now: %s\n", password);
        rc = 0;
    } else if (strcmp(sub, "add") == 0 && email) {
        if (!(password = cli_password(&c.arena, from_stdin, &generated)))
            goto out;
        if (db_begin(o) || !accounts_user_create(o, email, name, password, admin) || db_commit(o))
            goto out;
        printf("Created user %s%s\n", email, admin ? " (instance admin)" : "");
        if (generated)
            printf("Password, shown only now: %s\n", password);
        rc = 0;
    } else if (strcmp(sub, "reset-password") == 0 && email) {
        if (!(password = cli_password(&c.arena, from_stdin, &generated)))
            goto out;
        if (db_begin(o) || accounts_password_reset(o, email, password, "cli") || db_commit(o))
            goto out;
        printf("Password of %s reset; their sessions are ended\n", email);
        if (generated)
            printf("New password, shown only now: %s\n", password);
        rc = 0;
    } else {
        cli_user_usage();
        rc = 2;
    }
out:
    return cli_close(&c, "user", sub, rc);
}

static void cli_token_usage(void)
{
    fprintf(stderr,
            "usage: runwatch-api token create --project SLUG --name NAME [--scopes read,write]\n"
            "                                 [--create-project]\n"
            "  Prints a new producer token of the project on stdout (shown only now).\n"
            "  --create-project creates the project (named after its slug) when it does not\n"
            "  exist yet. Scopes: read, write, admin (default read,write).\n");
}

/* `runwatch-api token create`: a producer token for scripts that run beside the stack
 * (`make demo`), so no one has to sign in first. */
int cli_token(const struct config *cfg, int argc, char **argv)
{
    struct cli_ctx c;
    struct op *o = &c.op;
    struct access_project pr;
    const char *sub = argc > 0 ? argv[0] : "", *slug = NULL, *name = NULL;
    const char *scopes = "read,write", *token, *tid;
    int create = 0, rc = 1;
    PGresult *res;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--project") == 0 && i + 1 < argc)
            slug = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc)
            scopes = argv[++i];
        else if (strcmp(argv[i], "--create-project") == 0)
            create = 1;
        else {
            cli_token_usage();
            return 2;
        }
    }
    if (strcmp(sub, "create") != 0 || !slug || !name || !*name || strlen(name) > 200) {
        cli_token_usage();
        return 2;
    }
    /* The same literal the API builds: only fixed names, in a fixed order. */
    int have[3] = {0, 0, 0};
    static const char *const scope_names[] = {"read", "write", "admin"};
    for (const char *s = scopes; *s;) {
        size_t n = strcspn(s, ",");
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (strlen(scope_names[j]) == n && strncmp(s, scope_names[j], n) == 0)
                k = j;
        if (k < 0) {
            fprintf(stderr, "runwatch-api token create: scopes must be read, write or admin\n");
            return 2;
        }
        have[k] = 1;
        s += n + (s[n] == ',');
    }
    if (!have[0] && !have[1] && !have[2]) {
        cli_token_usage();
        return 2;
    }
    cli_open(&c, cfg);

    const char *arr = arena_sprintf(
        &c.arena, "{%s%s%s%s%s}", have[0] ? "read" : "", have[0] && (have[1] || have[2]) ? "," : "",
        have[1] ? "write" : "", have[1] && have[2] ? "," : "", have[2] ? "admin" : "");
    if (db_begin(o))
        goto out;
    if (access_project(o, slug, ACCESS_ROLE_ADMIN, &pr) != 0) {
        if (o->err.kind != OP_NOT_FOUND || !create)
            goto out;
        op_clear(o);
        if (!accounts_slug_ok(slug)) {
            op_fail(o, OP_INVALID, "invalid_value", "slug",
                    "slug must be lowercase letters, digits and dashes");
            goto out;
        }
        const char *p[PROJECT_CREATE__NIN] = {
            [PROJECT_CREATE_IN_SLUG] = slug, [PROJECT_CREATE_IN_NAME] = slug};
        if (!(res = DB_EXEC(o, DB_STMT_PROJECT_CREATE, p)))
            goto out;
        pr.id = PQgetvalue(res, 0, PROJECT_CREATE_ID);
        if (audit_log_write(o, "project.create", pr.id, slug, "{\"via\":\"cli\"}"))
            goto out;
    }
    if (accounts_token_create(o, pr.id, name, arr, NULL, &token, &tid) || db_commit(o))
        goto out;
    printf("%s\n", token);
    rc = 0;
out:
    return cli_close(&c, "token", sub, rc);
}
