/* jsonx: the one JSON layer over json-c, for input and output. Ownership rules live
 * here only: jsonx_parse returns a tree the caller owns (put it, or hand it to an
 * arena); a child got from a parent is borrowed; adding a child to a parent hands
 * over the caller's reference. Field getters validate type and range and, on
 * failure, name the field in a jsonx_err the caller turns into a 4xx. */
#ifndef RW_JSONX_H
#define RW_JSONX_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct jsonx_err {
    char field[128];
    char message[256];
};

enum {
    JSONX_OPTIONAL = 0,
    JSONX_REQUIRED = 1 << 0,
    JSONX_NULLABLE = 1 << 1, /* an explicit null counts as absent */
};

#define JSONX_MAX_DEPTH 32

/* Parses a complete JSON document; rejects NUL bytes, invalid UTF-8, nesting past
 * JSONX_MAX_DEPTH and anything but whitespace after the value. */
/* Tunes glibc's malloc for json-c's many small blocks freed at once (jsonx.c says why);
 * idempotent. */
void jsonx_malloc_tune(void);
json_object *jsonx_parse(const char *buf, size_t len, struct jsonx_err *err);

/* Each getter returns 0 when the field is valid or absent-and-optional (then *out is
 * left untouched and *present, when given, is 0), -1 with err filled otherwise. */
int jsonx_string(json_object *obj, const char *key, unsigned flags, size_t min_len, size_t max_len,
                 const char **out, int *present, struct jsonx_err *err);
int jsonx_int(json_object *obj, const char *key, unsigned flags, int64_t min, int64_t max,
              int64_t *out, int *present, struct jsonx_err *err);
int jsonx_number(json_object *obj, const char *key, unsigned flags, double min, double max,
                 double *out, int *present, struct jsonx_err *err);
int jsonx_bool(json_object *obj, const char *key, unsigned flags, int *out, int *present,
               struct jsonx_err *err);
/* One of a NULL-terminated list of allowed strings. */
int jsonx_enum(json_object *obj, const char *key, unsigned flags, const char *const *allowed,
               const char **out, int *present, struct jsonx_err *err);
/* An object or array (type given), borrowed from obj. */
int jsonx_child(json_object *obj, const char *key, unsigned flags, json_type type,
                json_object **out, int *present, struct jsonx_err *err);
/* Fails on the first key of obj not in the NULL-terminated allowed list, so a typo
 * in a producer's payload is an error, not silently dropped data. */
int jsonx_only_keys(json_object *obj, const char *const *allowed, struct jsonx_err *err);

/* Redacts secrets in place, at any depth (docs/ARCHITECTURE.md, "Redaction"): the value of
 * every key whose words name a secret (password, api_key, privateKey, AWSSecretAccessKey;
 * not max_tokens or tokenizer) becomes the string "[redacted]", whatever it was; in every
 * other string, what has the shape of a secret (a URL's password, a bearer token, a PEM
 * private key, a well-known key format) is replaced by "[redacted]" and the rest kept.
 * extra (NULL-terminated, may be NULL) adds words or word sequences that make a key secret
 * (RUNWATCH_REDACT_KEYS). Returns how many values it replaced. */
int jsonx_redact(json_object *obj, const char *const *extra);
/* 1 when s[0..len) is UTF-8 as jsonx_parse accepts it: well-formed, with no overlong
 * form, no surrogate and nothing past U+10FFFF (NUL bytes are the caller's business). */
int jsonx_utf8_valid(const char *s, size_t len);
/* 1 when s is an RFC 3339 time with a zone: 2026-01-02T03:04:05(.frac)(Z|+hh:mm). */
int jsonx_is_rfc3339(const char *s);
/* 1 when s is a UUID in its canonical 8-4-4-4-12 hex form. */
int jsonx_is_uuid(const char *s);

/* 1 when some string value under obj holds a NUL byte (JSON's \u0000, which
 * PostgreSQL's jsonb and text refuse); path (start it as "") then names where, like
 * "input.args[2]". */
int jsonx_find_nul(json_object *obj, char *path, size_t cap);

/* The text of the value of key in buf[0..len), a document jsonx_parse accepted whose top
 * level is an object of that one member, the key written without escapes: its offset and
 * length, so a caller that changed nothing in the tree can hand on the bytes it was sent
 * instead of printing the tree again. -1 when the document is not written so (the caller
 * prints the tree). */
int jsonx_sole_member(const char *buf, size_t len, const char *key, size_t *off, size_t *n);

/* Serialises without pretty-printing or escaped slashes; the string is owned by obj. */
const char *jsonx_to_string(json_object *obj, size_t *len);

/* JSON text written directly into a request's arena, for answers made from database
 * columns without building a json-c tree (runjson.c). The buffer doubles as it fills (the
 * old one stays in the arena until the request ends); after an allocation failure every
 * call is a no-op and jsonx_out_end answers NULL. */
struct arena;
struct jsonx_out {
    struct arena *arena;
    char *buf;
    size_t len, cap;
    int failed;
};

void jsonx_out_init(struct jsonx_out *o, struct arena *a, size_t cap);
/* Room for n more bytes at the end, or NULL (failed set); the caller writes at most n
 * bytes there and adds what it wrote to o->len. */
char *jsonx_out_room(struct jsonx_out *o, size_t n);
void jsonx_out_raw(struct jsonx_out *o, const char *s, size_t n);
/* s[0..n) as a JSON string, escaped as PostgreSQL's json output escapes text: \" \\ \b
 * \f \n \r \t, other control bytes as \u00xx, everything else (UTF-8) as it is. */
void jsonx_out_str(struct jsonx_out *o, const char *s, size_t n);
/* The text, NUL-terminated, and its length; NULL when an allocation failed. */
const char *jsonx_out_end(struct jsonx_out *o, size_t *len);

void jsonx_err_set(struct jsonx_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
