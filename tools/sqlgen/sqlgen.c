/* sqlgen: turns the named statements of sql/statements/<resource>.sql into the prepared-statement
 * table of runwatch-api (db_stmt.h and db_stmt.c, generated into the build directory).
 * Each statement gets an id (DB_STMT_<NAME>), and named indexes for its parameters
 * (<NAME>_IN_<PARAM>, <NAME>__NIN) and result columns (<NAME>_<COLUMN>, <NAME>__NOUT), so
 * callers never address either by number. It rejects a file that declares what its SQL
 * does not do (an undeclared $n, an unused input, a missing line, a duplicate name) with a
 * file:line message. A fragment (a piece of SQL several statements share, such as the run
 * list's filters) is written once and included by name; the generated text holds it
 * expanded. The format is described in docs/SQL.md. No dependencies but libc. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLGEN_MAX_NAMES 64 /* inputs or outputs of one statement */
#define SQLGEN_MAX_DEPTH 8  /* fragments including fragments */

/* A line of a block's SQL as written: text, or an "-- include: name" of a fragment, whose
 * lines are indented as the include line is. */
struct sqlgen_line {
    char *text;
    char *include;
    int indent;
    int line;
};

/* A statement ("-- name:") or a fragment ("-- fragment:", no in/out/connection). */
struct sqlgen_stmt {
    char *name;
    const char *file;
    int line;
    int fragment;
    int used;         /* a fragment: included somewhere */
    char *connection; /* NULL: the API's connection, prepared at connect */
    int binary;       /* "-- format: binary": results in libpq's binary format */
    char *in[SQLGEN_MAX_NAMES];
    int nin;
    int have_in;
    char *out[SQLGEN_MAX_NAMES];
    int nout;
    int have_out;
    struct sqlgen_line *body;
    size_t nbody, capbody;
    char *sql; /* lines joined by \n, fragments expanded, without the final ';' */
    size_t sqllen;
    /* for each line of sql: where it was written (a fragment's lines are the fragment's) */
    const char **src_file;
    int *src_line;
    size_t nsrc;
};

static struct sqlgen_stmt *stmts, *frags;
static size_t nstmts, capstmts, nfrags, capfrags;
static int errors;

static void sqlgen_error(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    errors++;
}

static void *sqlgen_xalloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "sqlgen: out of memory\n");
        exit(2);
    }
    return q;
}

static char *sqlgen_strndup(const char *s, size_t n)
{
    char *d = sqlgen_xalloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int sqlgen_is_ident(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static const char *sqlgen_skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "-- key: value": the value when the line is that key's, else NULL. */
static const char *sqlgen_key(const char *line, const char *key)
{
    size_t n = strlen(key);
    const char *s = sqlgen_skip_space(line);
    if (strncmp(s, "--", 2) != 0)
        return NULL;
    s = sqlgen_skip_space(s + 2);
    if (strncmp(s, key, n) != 0 || s[n] != ':')
        return NULL;
    return sqlgen_skip_space(s + n + 1);
}

/* A comma-separated list of identifiers ("" is an empty list). */
static void sqlgen_list(const char *file, int line, const char *v, char **names, int *n)
{
    *n = 0;
    while (*v) {
        v = sqlgen_skip_space(v);
        const char *e = v;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        char *name = sqlgen_strndup(v, (size_t)(t - v));
        if (!sqlgen_is_ident(name)) {
            sqlgen_error(file, line, "\"%s\" is not a lower-case identifier", name);
            free(name);
        } else if (*n == SQLGEN_MAX_NAMES) {
            sqlgen_error(file, line, "more than %d names", SQLGEN_MAX_NAMES);
            free(name);
        } else {
            for (int i = 0; i < *n; i++)
                if (strcmp(names[i], name) == 0)
                    sqlgen_error(file, line, "\"%s\" is listed twice", name);
            names[(*n)++] = name;
        }
        v = *e ? e + 1 : e;
    }
}

static void sqlgen_append_sql(struct sqlgen_stmt *s, int indent, const char *line, const char *file,
                              int lineno)
{
    size_t len = strlen(line);
    s->sql = sqlgen_xalloc(s->sql, s->sqllen + (size_t)indent + len + 2);
    if (s->nsrc)
        s->sql[s->sqllen++] = '\n';
    memset(s->sql + s->sqllen, ' ', (size_t)indent);
    s->sqllen += (size_t)indent;
    memcpy(s->sql + s->sqllen, line, len);
    s->sqllen += len;
    s->sql[s->sqllen] = '\0';
    s->src_file = sqlgen_xalloc(s->src_file, (s->nsrc + 1) * sizeof(*s->src_file));
    s->src_line = sqlgen_xalloc(s->src_line, (s->nsrc + 1) * sizeof(*s->src_line));
    s->src_file[s->nsrc] = file;
    s->src_line[s->nsrc++] = lineno;
}

/* Where the SQL's character at was written (a file's line, or an included fragment's). */
static void sqlgen_where(const struct sqlgen_stmt *s, const char *at, const char **file, int *line)
{
    size_t n = 0;
    for (const char *c = s->sql; c < at; c++)
        n += *c == '\n';
    *file = n < s->nsrc ? s->src_file[n] : s->file;
    *line = n < s->nsrc ? s->src_line[n] : s->line;
}

static const struct sqlgen_stmt *sqlgen_fragment(const char *name)
{
    for (size_t i = 0; i < nfrags; i++)
        if (strcmp(frags[i].name, name) == 0)
            return &frags[i];
    return NULL;
}

/* Appends block b's lines to s, indented by indent, expanding its includes (depth guards
 * against a cycle). */
static void sqlgen_expand(struct sqlgen_stmt *s, struct sqlgen_stmt *b, int indent, int depth)
{
    for (size_t i = 0; i < b->nbody; i++) {
        const struct sqlgen_line *l = &b->body[i];
        if (!l->include) {
            sqlgen_append_sql(s, indent, l->text, b->file, l->line);
            continue;
        }
        struct sqlgen_stmt *f = (struct sqlgen_stmt *)sqlgen_fragment(l->include);
        if (!f)
            sqlgen_error(b->file, l->line, "no fragment named %s", l->include);
        else if (depth >= SQLGEN_MAX_DEPTH)
            sqlgen_error(b->file, l->line, "fragments include each other more than %d deep",
                         SQLGEN_MAX_DEPTH);
        else {
            f->used = 1;
            sqlgen_expand(s, f, indent + l->indent, depth + 1);
        }
    }
}

/* Checks that the SQL uses exactly $1..$nin, skipping literals, quoted identifiers,
 * dollar-quoted strings and comments. */
static void sqlgen_check_params(const struct sqlgen_stmt *s)
{
    char used[SQLGEN_MAX_NAMES + 1] = {0};
    const char *c = s->sql;

    while (*c) {
        if (*c == '\'' || *c == '"') {
            char q = *c++;
            while (*c && !(*c == q && c[1] != q))
                c += (*c == q) ? 2 : 1;
            if (*c)
                c++;
        } else if (c[0] == '-' && c[1] == '-') {
            while (*c && *c != '\n')
                c++;
        } else if (*c == '$' && c > s->sql && (isalnum((unsigned char)c[-1]) || c[-1] == '_')) {
            c++; /* part of an identifier */
        } else if (*c == '$' && isdigit((unsigned char)c[1])) {
            const char *at = c, *file;
            int line;
            long n = strtol(c + 1, (char **)&c, 10);
            sqlgen_where(s, at, &file, &line);
            if (n < 1 || n > s->nin)
                sqlgen_error(file, line, "%s uses $%ld but declares %d input%s", s->name, n, s->nin,
                             s->nin == 1 ? "" : "s");
            else
                used[n] = 1;
        } else if (*c == '$') {
            /* $tag$ … $tag$ */
            const char *e = c + 1;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            if (*e != '$') {
                c++;
                continue;
            }
            size_t taglen = (size_t)(e - c) + 1;
            const char *end;
            for (end = e + 1; *end && strncmp(end, c, taglen) != 0; end++)
                ;
            c = *end ? end + taglen : end;
        } else {
            c++;
        }
    }
    for (int i = 1; i <= s->nin; i++)
        if (!used[i])
            sqlgen_error(s->file, s->line, "%s declares input %s ($%d) but never uses it", s->name,
                         s->in[i - 1], i);
}

static void sqlgen_finish(struct sqlgen_stmt *s)
{
    if (!s || s->fragment)
        return;
    if (!s->have_in)
        sqlgen_error(s->file, s->line, "%s has no \"-- in:\" line", s->name);
    if (!s->have_out)
        sqlgen_error(s->file, s->line, "%s has no \"-- out:\" line", s->name);
    /* Only db_exec, on the API's connection, asks for binary results. */
    if (s->binary && s->connection)
        sqlgen_error(s->file, s->line, "%s: binary results are for the API's connection only",
                     s->name);
}

/* After every file is read: a statement's SQL with its fragments, then its checks. */
static void sqlgen_build(struct sqlgen_stmt *s)
{
    sqlgen_expand(s, s, 0, 0);
    /* One trailing ';' ends the block; a script (several commands) keeps its inner ones. */
    while (s->sqllen &&
           (s->sql[s->sqllen - 1] == ';' || isspace((unsigned char)s->sql[s->sqllen - 1])))
        s->sql[--s->sqllen] = '\0';
    if (!s->sqllen) {
        sqlgen_error(s->file, s->line, "%s has no SQL", s->name);
        return;
    }
    sqlgen_check_params(s);
}

/* A new block of the kind the array holds, named v (a statement's or a fragment's name). */
static struct sqlgen_stmt *sqlgen_new_block(struct sqlgen_stmt **arr, size_t *n, size_t *cap,
                                            const char *v, const char *file, int lineno,
                                            int fragment)
{
    const char *what = fragment ? "fragment" : "statement";
    if (!sqlgen_is_ident(v))
        sqlgen_error(file, lineno, "%s name \"%s\" is not a lower-case identifier", what, v);
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].name, v) == 0)
            sqlgen_error(file, lineno, "%s %s is already defined at %s:%d", what, v, (*arr)[i].file,
                         (*arr)[i].line);
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = sqlgen_xalloc(*arr, *cap * sizeof(**arr));
    }
    struct sqlgen_stmt *b = &(*arr)[(*n)++];
    memset(b, 0, sizeof(*b));
    b->name = sqlgen_strndup(v, strlen(v));
    b->file = file;
    b->line = lineno;
    b->fragment = fragment;
    return b;
}

static void sqlgen_add_line(struct sqlgen_stmt *b, const char *text, const char *include,
                            int indent, int lineno)
{
    if (b->nbody == b->capbody) {
        b->capbody = b->capbody ? b->capbody * 2 : 16;
        b->body = sqlgen_xalloc(b->body, b->capbody * sizeof(*b->body));
    }
    b->body[b->nbody++] = (struct sqlgen_line){
        text ? sqlgen_strndup(text, strlen(text)) : NULL,
        include ? sqlgen_strndup(include, strlen(include)) : NULL, indent, lineno};
}

static void sqlgen_parse(const char *file)
{
    FILE *f = fopen(file, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    struct sqlgen_stmt *cur = NULL;
    int in_body = 0;

    if (!f) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
        errors++;
        return;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        const char *v;
        const char *t = sqlgen_skip_space(line);
        int comment = strncmp(t, "--", 2) == 0;
        int fragment = 0;

        if ((v = sqlgen_key(line, "name")) || (fragment = !!(v = sqlgen_key(line, "fragment")))) {
            sqlgen_finish(cur);
            cur = fragment ? sqlgen_new_block(&frags, &nfrags, &capfrags, v, file, lineno, 1)
                           : sqlgen_new_block(&stmts, &nstmts, &capstmts, v, file, lineno, 0);
            in_body = 0;
            continue;
        }
        if (!cur) {
            if (*t && !comment)
                sqlgen_error(file, lineno,
                             "SQL before the first \"-- name:\" or \"-- fragment:\" line");
            continue;
        }
        if ((v = sqlgen_key(line, "include"))) {
            if (!sqlgen_is_ident(v))
                sqlgen_error(file, lineno, "fragment name \"%s\" is not a lower-case identifier",
                             v);
            in_body = 1;
            sqlgen_add_line(cur, NULL, v, (int)(t - line), lineno);
            continue;
        }
        if (!in_body && !cur->fragment && (v = sqlgen_key(line, "in"))) {
            if (cur->have_in)
                sqlgen_error(file, lineno, "a second \"-- in:\" line");
            cur->have_in = 1;
            sqlgen_list(file, lineno, v, cur->in, &cur->nin);
            continue;
        }
        if (!in_body && !cur->fragment && (v = sqlgen_key(line, "out"))) {
            if (cur->have_out)
                sqlgen_error(file, lineno, "a second \"-- out:\" line");
            cur->have_out = 1;
            sqlgen_list(file, lineno, v, cur->out, &cur->nout);
            continue;
        }
        if (!in_body && !cur->fragment && (v = sqlgen_key(line, "format"))) {
            if (strcmp(v, "binary") != 0 && strcmp(v, "text") != 0)
                sqlgen_error(file, lineno, "format \"%s\" is neither binary nor text", v);
            cur->binary = strcmp(v, "binary") == 0;
            continue;
        }
        if (!in_body && !cur->fragment && (v = sqlgen_key(line, "connection"))) {
            if (!sqlgen_is_ident(v))
                sqlgen_error(file, lineno, "connection \"%s\" is not a lower-case identifier", v);
            cur->connection = sqlgen_strndup(v, strlen(v));
            continue;
        }
        if (comment || !*t)
            continue; /* why-comments and blank lines stay in the file */
        in_body = 1;
        sqlgen_add_line(cur, line, NULL, 0, lineno);
    }
    sqlgen_finish(cur);
    free(line);
    fclose(f);
}

/* Every statement's SQL with its fragments expanded and checked; every fragment used. */
static void sqlgen_build_all(void)
{
    for (size_t i = 0; i < nfrags; i++)
        if (!frags[i].nbody)
            sqlgen_error(frags[i].file, frags[i].line, "fragment %s has no SQL", frags[i].name);
    for (size_t i = 0; i < nstmts; i++)
        sqlgen_build(&stmts[i]);
    for (size_t i = 0; i < nfrags; i++)
        if (!frags[i].used)
            sqlgen_error(frags[i].file, frags[i].line, "fragment %s is never included",
                         frags[i].name);
}

static void sqlgen_free_block(struct sqlgen_stmt *b)
{
    free(b->name);
    free(b->connection);
    free(b->sql);
    free(b->src_file);
    free(b->src_line);
    for (int j = 0; j < b->nin; j++)
        free(b->in[j]);
    for (int j = 0; j < b->nout; j++)
        free(b->out[j]);
    for (size_t j = 0; j < b->nbody; j++) {
        free(b->body[j].text);
        free(b->body[j].include);
    }
    free(b->body);
}

static void sqlgen_upper(FILE *o, const char *s)
{
    for (; *s; s++)
        fputc(toupper((unsigned char)*s), o);
}

/* A C string literal per SQL line. '?' is escaped so no trigraph can form. */
static void sqlgen_literal(FILE *o, const char *sql)
{
    fputs("        \"", o);
    for (const char *c = sql; *c; c++) {
        switch (*c) {
        case '\n':
            fputs("\\n\"\n        \"", o);
            break;
        case '"':
        case '\\':
            fputc('\\', o);
            fputc(*c, o);
            break;
        case '?':
            fputs("\\?", o);
            break;
        case '\t':
            fputs("\\t", o);
            break;
        default:
            fputc(*c, o);
        }
    }
    fputc('"', o);
}

static const char sqlgen_note[] =
    "/* Generated by tools/sqlgen from sql/statements/<resource>.sql: edit those, not this file.\n"
    " * db_stmt: every SQL statement runwatch-api runs, in one table; those of the API's\n"
    " * connection are prepared (and their result columns checked against their declared\n"
    " * outputs) on each new connection. A caller names a statement by id, its parameters by\n"
    " * <NAME>_IN_<PARAM> and its columns by <NAME>_<COLUMN>; input reaches the server only\n"
    " * as parameters. The format is in docs/SQL.md. */\n";

static int sqlgen_write_header(FILE *o)
{
    fputs(sqlgen_note, o);
    fputs("#ifndef RW_DB_STMT_H\n#define RW_DB_STMT_H\n\nenum db_stmt_id {\n", o);
    for (size_t i = 0; i < nstmts; i++) {
        fputs("    DB_STMT_", o);
        sqlgen_upper(o, stmts[i].name);
        fputs(",\n", o);
    }
    fputs("    DB_STMT__COUNT,\n};\n\n", o);
    fputs("struct db_stmt {\n"
          "    const char *name;\n"
          "    const char *sql;\n"
          "    int nparams;\n"
          "    int ncols;\n"
          "    const char *const *cols; /* the declared output column names */\n"
          "    const char *where;       /* file:line of the statement */\n"
          "    /* NULL: the API's connection (prepared at connect); otherwise the connection\n"
          "     * that runs it as text (\"adhoc\": db_report.c, \"migrate\": migrate.c). */\n"
          "    const char *connection;\n"
          "    /* 1: the caller reads the result in libpq's binary format (\"-- format: binary\"). "
          "*/\n"
          "    int binary;\n"
          "};\n\n"
          "extern const struct db_stmt db_stmts[DB_STMT__COUNT];\n",
          o);
    for (size_t i = 0; i < nstmts; i++) {
        const struct sqlgen_stmt *s = &stmts[i];
        fprintf(o, "\n/* %s (%s:%d) */\n", s->name, s->file, s->line);
        for (int j = 0; j < s->nin; j++) {
            fputs("#define ", o);
            sqlgen_upper(o, s->name);
            fputs("_IN_", o);
            sqlgen_upper(o, s->in[j]);
            fprintf(o, " %d\n", j);
        }
        fputs("#define ", o);
        sqlgen_upper(o, s->name);
        fprintf(o, "__NIN %d\n", s->nin);
        for (int j = 0; j < s->nout; j++) {
            fputs("#define ", o);
            sqlgen_upper(o, s->name);
            fputc('_', o);
            sqlgen_upper(o, s->out[j]);
            fprintf(o, " %d\n", j);
        }
        fputs("#define ", o);
        sqlgen_upper(o, s->name);
        fprintf(o, "__NOUT %d\n", s->nout);
    }
    fputs("\n#endif\n", o);
    return 0;
}

static int sqlgen_write_source(FILE *o)
{
    fputs(sqlgen_note, o);
    fputs("#include \"db_stmt.h\"\n\n#include <stddef.h>\n\n", o);
    for (size_t i = 0; i < nstmts; i++) {
        const struct sqlgen_stmt *s = &stmts[i];
        if (!s->nout)
            continue;
        fprintf(o, "static const char *const sqlgen_cols_%s[] = {", s->name);
        for (int j = 0; j < s->nout; j++)
            fprintf(o, "%s\"%s\"", j ? ", " : "", s->out[j]);
        fputs("};\n", o);
    }
    fputs("\nconst struct db_stmt db_stmts[DB_STMT__COUNT] = {\n", o);
    for (size_t i = 0; i < nstmts; i++) {
        const struct sqlgen_stmt *s = &stmts[i];
        fputs("    [DB_STMT_", o);
        sqlgen_upper(o, s->name);
        fprintf(o, "] =\n        {\"%s\",\n", s->name);
        sqlgen_literal(o, s->sql);
        fprintf(o, ",\n        %d, %d, ", s->nin, s->nout);
        if (s->nout)
            fprintf(o, "sqlgen_cols_%s, ", s->name);
        else
            fputs("NULL, ", o);
        fprintf(o, "\"%s:%d\", ", s->file, s->line);
        if (s->connection)
            fprintf(o, "\"%s\", ", s->connection);
        else
            fputs("NULL, ", o);
        fprintf(o, "%d},\n", s->binary);
    }
    fputs("};\n", o);
    return 0;
}

/* Writes dir/name through a temporary file, replacing the old one only when the text
 * changed, so an edit to one statement file does not rebuild what did not change. */
static int sqlgen_emit(const char *dir, const char *name, int (*write)(FILE *))
{
    char path[4096], tmp[4200];
    FILE *o;
    int same = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(o = fopen(tmp, "w+"))) {
        fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
        return -1;
    }
    write(o);
    if (fflush(o) != 0 || ferror(o)) {
        fprintf(stderr, "%s: write failed\n", tmp);
        fclose(o);
        return -1;
    }
    FILE *old = fopen(path, "r");
    if (old) {
        int a, b;
        rewind(o);
        do {
            a = fgetc(o);
            b = fgetc(old);
        } while (a == b && a != EOF);
        same = a == b;
        fclose(old);
    }
    fclose(o);
    if (same)
        return remove(tmp);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

struct sqlgen_macro {
    char *name;
    const struct sqlgen_stmt *s;
};

static int sqlgen_macro_cmp(const void *a, const void *b)
{
    return strcmp(((const struct sqlgen_macro *)a)->name, ((const struct sqlgen_macro *)b)->name);
}

static char *sqlgen_macro_name(const char *a, const char *sep, const char *b)
{
    size_t n = strlen(a) + strlen(sep) + strlen(b);
    char *m = sqlgen_xalloc(NULL, n + 1);
    snprintf(m, n + 1, "%s%s%s", a, sep, b);
    for (char *c = m; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return m;
}

/* Two statements' accessors must not share a name (run_get's column "status_x" and a
 * statement run_get_status's input x would both be RUN_GET_STATUS_IN_X...). */
static void sqlgen_check_macros(void)
{
    size_t cap = 0, n = 0;
    struct sqlgen_macro *m = NULL;

    for (size_t i = 0; i < nstmts; i++)
        cap += 2 + (size_t)stmts[i].nin + (size_t)stmts[i].nout;
    m = sqlgen_xalloc(NULL, (cap ? cap : 1) * sizeof(*m));
    for (size_t i = 0; i < nstmts; i++) {
        const struct sqlgen_stmt *s = &stmts[i];
        m[n++] = (struct sqlgen_macro){sqlgen_macro_name(s->name, "__", "nin"), s};
        m[n++] = (struct sqlgen_macro){sqlgen_macro_name(s->name, "__", "nout"), s};
        for (int j = 0; j < s->nin; j++)
            m[n++] = (struct sqlgen_macro){sqlgen_macro_name(s->name, "_in_", s->in[j]), s};
        for (int j = 0; j < s->nout; j++)
            m[n++] = (struct sqlgen_macro){sqlgen_macro_name(s->name, "_", s->out[j]), s};
    }
    qsort(m, n, sizeof(*m), sqlgen_macro_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(m[i - 1].name, m[i].name) == 0)
            sqlgen_error(m[i].s->file, m[i].s->line, "%s is also made by %s (%s:%d)", m[i].name,
                         m[i - 1].s->name, m[i - 1].s->file, m[i - 1].s->line);
    for (size_t i = 0; i < n; i++)
        free(m[i].name);
    free(m);
}

int main(int argc, char **argv)
{
    const char *outdir = NULL;
    int first = 1;

    const char *print = NULL;

    if (argc >= 3 && strcmp(argv[1], "-o") == 0) {
        outdir = argv[2];
        first = 3;
    } else if (argc >= 3 && strcmp(argv[1], "-p") == 0) {
        print = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: sqlgen [-o OUTDIR | -p NAME] FILE.sql...\n"
                        "  checks the statement files; with -o writes OUTDIR/db_stmt.{h,c};\n"
                        "  with -p prints statement NAME's SQL as it is prepared (for EXPLAIN)\n");
        return 2;
    }
    for (int i = first; i < argc; i++)
        sqlgen_parse(argv[i]);
    sqlgen_build_all();
    if (!errors)
        sqlgen_check_macros();
    if (errors) {
        fprintf(stderr, "sqlgen: %d error%s\n", errors, errors == 1 ? "" : "s");
        return 1;
    }
    if (print) {
        size_t i = 0;
        while (i < nstmts && strcmp(stmts[i].name, print) != 0)
            i++;
        if (i == nstmts) {
            fprintf(stderr, "sqlgen: no statement named %s\n", print);
            return 1;
        }
        printf("%s;\n", stmts[i].sql);
    }
    if (outdir && (sqlgen_emit(outdir, "db_stmt.h", sqlgen_write_header) != 0 ||
                   sqlgen_emit(outdir, "db_stmt.c", sqlgen_write_source) != 0))
        return 1;
    for (size_t i = 0; i < nstmts; i++)
        sqlgen_free_block(&stmts[i]);
    for (size_t i = 0; i < nfrags; i++)
        sqlgen_free_block(&frags[i]);
    free(stmts);
    free(frags);
    return 0;
}
