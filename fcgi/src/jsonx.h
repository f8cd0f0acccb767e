/* jsonx: the one JSON layer, for input and output. Two readings of a body: json-c's tree
 * (jsonx_parse), and for bulk input (an event batch) jsonx_read, a read-only tree of
 * struct jsonx_val in the request's arena whose values are spans of the body, which
 * accepts and refuses exactly what jsonx_parse does (tests/fuzz/fuzz_jsonread.c) at a
 * fraction of the cost: no allocation per value, nothing to free. json-c's ownership rules
 * live here only: jsonx_parse returns a tree the caller owns (put it, or hand it to an
 * arena); a child got from a parent is borrowed; adding a child to a parent hands over the
 * caller's reference. Field getters of both trees validate type and range by the same
 * rules and, on failure, name the field in a jsonx_err the caller turns into a 4xx. */
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

/* ---- The read-only tree (jsonx_read). A value as sent: a string's text is unescaped (a span
 * of the body when it was sent without escapes, else a copy in the arena, never
 * NUL-terminated), any other value keeps where its text is in the body (s, len: an array's
 * text from '[' to ']', to hand on as sent). An object's members stay in the order sent (a
 * lookup is a walk: the objects of bulk input are short); a key is cut at a NUL (\u0000)
 * as json-c cuts it, and an escaped pair json-c 0.16 misreads (U+1D800-U+1DFFF and the like)
 * is one U+FFFD as in json-c's tree, so both trees hold the same strings and keys. */
enum jsonx_kind {
    JSONX_NULL,
    JSONX_BOOL,
    JSONX_NUMBER,
    JSONX_STRING,
    JSONX_ARRAY,
    JSONX_OBJECT,
};

struct jsonx_member;
struct jsonx_val {
    unsigned char kind;    /* enum jsonx_kind */
    unsigned char truth;   /* JSONX_BOOL: the value */
    unsigned char integer; /* JSONX_NUMBER: no fraction and no exponent (json-c's int) */
    uint32_t n;            /* JSONX_ARRAY: items; JSONX_OBJECT: members */
    const char *s;
    size_t len;
    union {
        const struct jsonx_val *items;      /* JSONX_ARRAY */
        const struct jsonx_member *members; /* JSONX_OBJECT */
    };
};
struct jsonx_member {
    const char *key;
    size_t key_len;
    struct jsonx_val val;
};

struct arena;
/* Reads buf[0..len), a document whose top level is an object or an array (a body), into *root
 * with its nodes in arena a. Accepts exactly the documents jsonx_parse accepts with that top
 * level, and refuses the rest with -1 and nothing said: a caller that must say why asks
 * jsonx_parse (the refusal is the rare case). *nul is set when a string value holds a NUL
 * (\u0000), which jsonx_parse lets through and a request body must not (req_json_body). */
int jsonx_read(struct arena *a, const char *buf, size_t len, struct jsonx_val *root, int *nul);
/* 1 when json-c's tree o (jsonx_parse's, NULL for null) holds what jsonx_read's v holds: the
 * same kinds, strings byte for byte, numbers of the same kind and value, members in the same
 * order, and each array's or object's text spanning its brackets. The one statement of
 * "jsonx_read reads what jsonx_parse reads", checked by the unit tests and
 * tests/fuzz/fuzz_jsonread.c. */
int jsonx_val_matches(const struct jsonx_val *v, json_object *o);
/* The value of key in an object, or NULL (also when obj is no object). */
const struct jsonx_val *jsonx_get(const struct jsonx_val *obj, const char *key);
/* jsonx_string .. jsonx_only_keys for the read-only tree, by the same rules and errors. A
 * string's text is not NUL-terminated: *len is its length. */
int jsonx_vstring(const struct jsonx_val *obj, const char *key, unsigned flags, size_t min_len,
                  size_t max_len, const char **out, size_t *len, int *present,
                  struct jsonx_err *err);
int jsonx_venum(const struct jsonx_val *obj, const char *key, unsigned flags,
                const char *const *allowed, const char **out, int *present, struct jsonx_err *err);
/* An object or array (kind JSONX_OBJECT or JSONX_ARRAY), borrowed from obj. */
int jsonx_vchild(const struct jsonx_val *obj, const char *key, unsigned flags, int kind,
                 const struct jsonx_val **out, int *present, struct jsonx_err *err);
int jsonx_vonly_keys(const struct jsonx_val *obj, const char *const *allowed,
                     struct jsonx_err *err);
/* 1 when jsonx_redact would replace something in the json-c tree of this value (a secret key
 * or a string of a secret's shape, at any depth), else 0: the caller that gets 0 may hand on
 * the value's text as sent. */
int jsonx_vredacts(const struct jsonx_val *v, const char *const *extra);

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
/* The same of s[0..len), which need not be NUL-terminated. */
int jsonx_is_rfc3339_len(const char *s, size_t len);
/* 1 when s is a UUID in its canonical 8-4-4-4-12 hex form. */
int jsonx_is_uuid(const char *s);

/* 1 when some string value under obj holds a NUL byte (JSON's \u0000, which
 * PostgreSQL's jsonb and text refuse); path (start it as "") then names where, like
 * "input.args[2]". */
int jsonx_find_nul(json_object *obj, char *path, size_t cap);

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
/* What jsonx_fmt_dec writes at most: a minus, 20 digits and the NUL. */
#define JSONX_DEC_MAX 22
/* mag in decimal, after a '-' when minus is set (an int64's sign and magnitude, INT64_MIN's
 * included, or a uint64), NUL-terminated into buf (JSONX_DEC_MAX bytes); returns the length.
 * printf's cost without printf: a run list page and an OTLP batch write thousands. */
size_t jsonx_fmt_dec(char *buf, uint64_t mag, int minus);
/* A value of the read-only tree (jsonx_read, otlp_pb_decode) as JSON text: strings as
 * jsonx_out_str writes them, numbers as their text, members in their order. */
void jsonx_out_val(struct jsonx_out *o, const struct jsonx_val *v);
/* The text, NUL-terminated, and its length; NULL when an allocation failed. */
const char *jsonx_out_end(struct jsonx_out *o, size_t *len);

void jsonx_err_set(struct jsonx_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
