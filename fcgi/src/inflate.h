/* inflate: undoes a request body's Content-Encoding: gzip (RFC 1952, with zlib), with a
 * cap on what it may produce, so a small body that inflates to gigabytes (a gzip bomb)
 * stops at the cap having allocated no more than the cap. */
#ifndef RW_INFLATE_H
#define RW_INFLATE_H

#include <stddef.h>

#include "jsonx.h"

enum inflate_result {
    INFLATE_OK = 0,
    INFLATE_MALFORMED = -1, /* not gzip, corrupt, truncated or with trailing bytes: a 400 */
    INFLATE_TOO_LARGE = -2, /* would inflate past max_out: a 413 */
    INFLATE_NOMEM = -3,     /* out of memory: not the client's fault */
};

/* Inflates in[0..inlen), one gzip member or several in a row (RFC 1952 allows both; what
 * follows the last member must be nothing). On INFLATE_OK, *out is a malloc'd buffer the
 * caller owns and frees (arena_defer(a, free, *out) in a request), holding *outlen bytes
 * and one NUL after them (not counted), so a JSON parser may read it as text; *out is
 * non-NULL even when *outlen is 0. On any other result *out is NULL, *outlen 0, and err
 * (when given) names the field "Content-Encoding" with a short message. */
enum inflate_result inflate_gzip(const unsigned char *in, size_t inlen, size_t max_out,
                                 unsigned char **out, size_t *outlen, struct jsonx_err *err);

#endif
