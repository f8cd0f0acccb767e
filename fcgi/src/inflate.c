/* inflate: gzip bodies inflated with zlib under a cap (inflate.h). The output buffer
 * starts near the size the input suggests and doubles, never past the cap plus one byte:
 * the byte past the cap is how a body that exceeds it is told from one that fills it
 * exactly, without asking zlib for more than it has produced. */
#include "inflate.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static enum inflate_result inflate_fail(enum inflate_result rc, struct jsonx_err *err,
                                        const char *msg)
{
    jsonx_err_set(err, "Content-Encoding", "%s", msg);
    return rc;
}

enum inflate_result inflate_gzip(const unsigned char *in, size_t inlen, size_t max_out,
                                 unsigned char **out, size_t *outlen, struct jsonx_err *err)
{
    z_stream zs;
    enum inflate_result rc = INFLATE_OK;
    unsigned char *buf = NULL;
    size_t len = 0, cap, limit;
    int zrc;

    *out = NULL;
    *outlen = 0;
    if (inlen == 0)
        return inflate_fail(INFLATE_MALFORMED, err, "the body is empty, not gzip");
    if (inlen > UINT_MAX)
        return inflate_fail(INFLATE_TOO_LARGE, err, "the compressed body is too large");
    /* One byte past the cap (it proves the body exceeds it), and room for the NUL. */
    limit = max_out < SIZE_MAX - 2 ? max_out + 1 : SIZE_MAX - 2;
    cap = inlen < limit / 4 ? inlen * 4 : limit;
    if (cap < 4096)
        cap = limit < 4096 ? limit : 4096;
    if ((buf = malloc(cap + 1)) == NULL)
        return inflate_fail(INFLATE_NOMEM, err, "out of memory");

    memset(&zs, 0, sizeof(zs));
    /* 16 + 15: a gzip header and trailer (with its CRC-32 and length checked), 32 KiB window. */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(buf);
        return inflate_fail(INFLATE_NOMEM, err, "out of memory");
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)inlen;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap < limit / 2 ? cap * 2 : limit;
            unsigned char *nbuf;
            if (cap == limit) {
                rc = inflate_fail(INFLATE_TOO_LARGE, err, "the body inflates past the size limit");
                goto out;
            }
            if ((nbuf = realloc(buf, ncap + 1)) == NULL) {
                rc = inflate_fail(INFLATE_NOMEM, err, "out of memory");
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        zs.next_out = buf + len;
        zs.avail_out = cap - len > UINT_MAX ? UINT_MAX : (uInt)(cap - len);
        zrc = inflate(&zs, Z_NO_FLUSH);
        len = (size_t)(zs.next_out - buf);
        if (len > max_out) {
            rc = inflate_fail(INFLATE_TOO_LARGE, err, "the body inflates past the size limit");
            goto out;
        }
        if (zrc == Z_STREAM_END) {
            if (zs.avail_in == 0)
                break;
            /* Another member follows (or garbage, which its header check refuses). */
            if (inflateReset(&zs) != Z_OK) {
                rc = inflate_fail(INFLATE_MALFORMED, err, "the body is not valid gzip");
                goto out;
            }
            continue;
        }
        if (zrc == Z_MEM_ERROR) {
            rc = inflate_fail(INFLATE_NOMEM, err, "out of memory");
            goto out;
        }
        if (zrc == Z_OK)
            continue;
        if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* the buffer grows at the top of the loop */
        /* Z_BUF_ERROR with room left: the input ended inside the stream. */
        rc = inflate_fail(INFLATE_MALFORMED, err,
                          zrc == Z_BUF_ERROR ? "the gzip body is truncated"
                                             : "the body is not valid gzip");
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
out:
    inflateEnd(&zs);
    free(buf);
    return rc;
}
