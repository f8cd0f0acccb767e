/* op: one unit of database work, whoever asked for it. An HTTP request embeds one
 * (req.h), the CLI and the worker's housekeeping make their own: it carries the arena,
 * the configuration, the connections, the identity acting and at most one error. The
 * error says what went wrong (a kind, a stable code, a message, the field), not how to
 * answer: req.c maps kinds to HTTP in one table, the CLI prints the message. */
#ifndef RW_OP_H
#define RW_OP_H

#include <json-c/json.h>
#include <stdarg.h>

struct arena;
struct pollfd;
struct config;
struct db;
struct pub;
struct access_ident;

/* What went wrong, in words a caller can act on. Every kind has one HTTP status
 * (req.c) and nothing else needs one. */
enum op_kind {
    OP_OK,
    OP_BAD_INPUT,       /* the input is malformed (400) */
    OP_UNAUTHENTICATED, /* nobody is signed in (401) */
    OP_FORBIDDEN,       /* the identity may not do this (403) */
    OP_NOT_FOUND,       /* no such thing, or not visible to the identity (404) */
    OP_NOT_ALLOWED,     /* the method is not one of the resource's (405) */
    OP_CONFLICT,        /* the state of the data forbids it now (409) */
    OP_TOO_LARGE,       /* the input is too big (413) */
    OP_UNSUPPORTED,     /* the input is not of a type we read (415) */
    OP_INVALID,         /* well-formed, but a value is not acceptable (422) */
    OP_RATE_LIMITED,    /* too many at once (429) */
    OP_INTERNAL,        /* our fault: a bug, out of memory (500) */
    OP_UNAVAILABLE,     /* transient: the database is down or busy, retry (503) */
};

struct op_err {
    enum op_kind kind; /* OP_OK while nothing failed */
    const char *code;  /* stable machine code: "not_found", "attempt_superseded" */
    const char *message;
    const char *field;    /* the input field at fault, or NULL */
    char sqlstate[6];     /* PostgreSQL's, when the database refused; else "" */
    int retry_after;      /* seconds before a retry may succeed; 0 for none */
    json_object *details; /* structured details, owned by the arena once set */
};

struct op {
    struct arena *arena;
    const struct config *cfg;
    struct db *db;
    struct pub *pub;                  /* NULL where nothing is published (the CLI) */
    const struct access_ident *ident; /* who acts; the guard sets it for a request */
    const char *origin;               /* the client address for the audit log, or NULL */
    struct op_err err;
    /* How a long wait for PostgreSQL waits (db_notify_wait): like poll(2) on the one
     * descriptor. A worker's request sets it to keep serving the worker's other
     * connections meanwhile (serve.c); NULL is plain poll(2). */
    int (*wait_poll)(void *ctx, struct pollfd *pfd, int timeout_ms);
    void *wait_ctx;
};

/* An op with no identity and no error over these (borrowed) parts. */
void op_init(struct op *o, struct arena *a, const struct config *cfg, struct db *db,
             struct pub *pub);

/* Records the error (the first one wins: it is the most specific) and returns -1, so a
 * caller writes `return op_fail(o, OP_NOT_FOUND, "not_found", NULL, "no such run")`. */
int op_fail(struct op *o, enum op_kind kind, const char *code, const char *field, const char *fmt,
            ...) __attribute__((format(printf, 5, 6)));
int op_failv(struct op *o, enum op_kind kind, const char *code, const char *field, const char *fmt,
             va_list ap) __attribute__((format(printf, 5, 0)));
/* When the error already set is of this kind (a conflict classified from a SQLSTATE,
 * say), names the field and says it in the caller's words. */
void op_refine(struct op *o, enum op_kind kind, const char *field, const char *message);
/* Attaches structured details to the current error (takes ownership of details). */
void op_details(struct op *o, json_object *details);
/* Forgets the error, for a caller that carries on without what failed. */
void op_clear(struct op *o);

#endif
