/* stmt_cost: what a prepared statement costs PostgreSQL, A against B, as the API runs it.
 * Each case file holds one statement after a "-- params: a|b|\N" line (\N is SQL NULL, which
 * pgbench cannot send) and an optional "-- set: SET …" line run before each of its rounds
 * (else RESET ALL: plan_cache_mode = force_generic_plan, say, stays with its case), then
 * an optional "-- format: binary" line for a statement whose columns the API reads in
 * binary (sql/statements' "-- format: binary"). Every "XXXXXXXX" in a parameter is
 * replaced before each execution by 8 hex digits not used before in the run (the seconds'
 * clock and a counter), so a statement that skips rows it stored already (the span
 * ingest's duplicate check) stores them anew every time.
 * Every case is prepared once on one connection (so PostgreSQL's custom-or-generic choice
 * is the API's), then executed N times per round, rounds alternating the cases' order. It
 * prints the median over rounds of the wall time and of the backend's CPU time per
 * execution (/proc/<backend pid>/schedstat: the server must be on this machine), which a
 * busy machine disturbs much less than wall time. Usage (docs/PERFORMANCE.md):
 *   stmt-cost CONNINFO N ROUNDS CASE.sql... */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"

#define STMT_MAX_CASES  16
#define STMT_MAX_PARAMS 32
#define STMT_MAX_ROUNDS 200

struct stmt_case {
    const char *file;
    char *text; /* the whole file; params, set and sql point into it */
    const char *set;
    int binary; /* results in binary, as the API asks for them */
    const char *sql;
    const char *params[STMT_MAX_PARAMS];
    int nparams;
    int rows;
    char **tags; /* where the parameters' XXXXXXXX were, ntags of them */
    int ntags;
    double wall[STMT_MAX_ROUNDS], cpu[STMT_MAX_ROUNDS];
};

/* The median of a case's rounds, which stay in their order. */
static double stmt_median(const double *v, int n)
{
    double s[STMT_MAX_ROUNDS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    return bench_median(s, n);
}

/* The value of a "-- key: value" first line, cutting it off the text; NULL when absent. */
static char *stmt_header(char **text, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(*text, key, n) != 0)
        return NULL;
    char *v = *text + n, *nl = strchr(v, '\n');
    if (!nl)
        return NULL;
    *nl = '\0';
    *text = nl + 1;
    return v;
}

/* Writes a new tag over every XXXXXXXX the parameters had (they point into c->text). */
static void stmt_vary(struct stmt_case *c)
{
    static unsigned counter;
    static unsigned prefix;
    char tag[9];

    if (!c->ntags)
        return;
    if (!prefix)
        prefix = ((unsigned)time(NULL) & 0xffffu) | 0x10000u;
    snprintf(tag, sizeof(tag), "%04x%04x", prefix & 0xffffu, ++counter & 0xffffu);
    for (int i = 0; i < c->ntags; i++)
        memcpy(c->tags[i], tag, 8);
}

static int stmt_load(struct stmt_case *c, const char *file)
{
    FILE *f = fopen(file, "r");
    long len;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot read\n", file);
        if (f)
            fclose(f);
        return -1;
    }
    c->file = file;
    c->text = calloc(1, (size_t)len + 1);
    if (!c->text || fread(c->text, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "%s: cannot read\n", file);
        fclose(f);
        return -1;
    }
    fclose(f);
    char *rest = c->text, *params = stmt_header(&rest, "-- params: ");
    c->set = stmt_header(&rest, "-- set: ");
    const char *format = stmt_header(&rest, "-- format: ");
    c->binary = format && strcmp(format, "binary") == 0;
    c->sql = rest;
    for (char *p = params; p;) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        if (c->nparams == STMT_MAX_PARAMS) {
            fprintf(stderr, "%s: more than %d parameters\n", file, STMT_MAX_PARAMS);
            return -1;
        }
        c->params[c->nparams++] = strcmp(p, "\\N") == 0 ? NULL : p;
        for (char *t = p; (t = strstr(t, "XXXXXXXX")); t += 8) {
            char **tags = realloc(c->tags, sizeof(char *) * (size_t)(c->ntags + 1));
            if (!tags)
                return -1;
            c->tags = tags;
            c->tags[c->ntags++] = t;
        }
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct stmt_case cases[STMT_MAX_CASES];
    int rc = 1, ncases = argc - 4;

    if (argc < 5 || ncases > STMT_MAX_CASES) {
        fprintf(stderr, "usage: stmt-cost CONNINFO N ROUNDS CASE.sql... (at most %d cases)\n",
                STMT_MAX_CASES);
        return 2;
    }
    int n = atoi(argv[2]), rounds = atoi(argv[3]);
    if (n < 1 || rounds < 1 || rounds > STMT_MAX_ROUNDS) {
        fprintf(stderr, "N must be positive, ROUNDS from 1 to %d\n", STMT_MAX_ROUNDS);
        return 2;
    }
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(conn));
        goto out;
    }
    int pid = PQbackendPID(conn);
    for (int i = 0; i < ncases; i++) {
        char name[16];
        if (stmt_load(&cases[i], argv[4 + i]) != 0)
            goto out;
        snprintf(name, sizeof(name), "c%d", i);
        PGresult *res = PQprepare(conn, name, cases[i].sql, 0, NULL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            fprintf(stderr, "%s: %s", cases[i].file, PQerrorMessage(conn));
            goto out;
        }
    }
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < ncases; k++) {
            int i = r % 2 ? ncases - 1 - k : k; /* every other round in reverse */
            struct stmt_case *c = &cases[i];
            char name[16];
            snprintf(name, sizeof(name), "c%d", i);
            PQclear(PQexec(conn, c->set ? c->set : "RESET ALL"));
            double t0 = bench_now_us(CLOCK_MONOTONIC), c0 = bench_cpu_us(pid);
            for (int j = 0; j < n; j++) {
                stmt_vary(c);
                PGresult *res =
                    PQexecPrepared(conn, name, c->nparams, c->params, NULL, NULL, c->binary);
                int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
                c->rows = PQntuples(res);
                PQclear(res);
                if (!ok) {
                    fprintf(stderr, "%s: %s", c->file, PQerrorMessage(conn));
                    goto out;
                }
            }
            c->wall[r] = (bench_now_us(CLOCK_MONOTONIC) - t0) / n;
            c->cpu[r] = (bench_cpu_us(pid) - c0) / n;
        }
    }
    printf("%-36s %5s %14s %14s\n", "case", "rows", "wall µs/exec", "server CPU µs");
    for (int i = 0; i < ncases; i++)
        printf("%-36s %5d %14.1f %14.1f\n", cases[i].file, cases[i].rows,
               stmt_median(cases[i].wall, rounds), stmt_median(cases[i].cpu, rounds));
    rc = 0;
out:
    PQfinish(conn);
    for (int i = 0; i < ncases; i++)
        free(cases[i].text);
    return rc;
}
