/* fuzz_inflate: libFuzzer target for inflate_gzip, the inflater of gzip request bodies.
 * The input is inflated as a body under a 64 KiB cap: the result is one of the four, the
 * output never exceeds the cap and ends with a NUL. Then the input itself is gzipped and
 * inflated back: exactly its bytes under a cap of its size, and refused as too large
 * under one byte less. `make fuzz` builds and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "inflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_inflate: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonx_err err;
    unsigned char *out, *gz;
    size_t outlen, cap = 65536;
    enum inflate_result rc = inflate_gzip(data, size, cap, &out, &outlen, &err);
    z_stream zs;

    check(rc == INFLATE_OK || rc == INFLATE_MALFORMED || rc == INFLATE_TOO_LARGE ||
              rc == INFLATE_NOMEM,
          "an unknown result");
    if (rc == INFLATE_OK) {
        check(out && outlen <= cap && out[outlen] == '\0', "output past the cap or unterminated");
        free(out);
    } else {
        check(!out && outlen == 0, "output on a refusal");
    }

    /* The round trip. */
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    cap = deflateBound(&zs, size);
    if ((gz = malloc(cap)) == NULL) {
        deflateEnd(&zs);
        return 0;
    }
    zs.next_in = (unsigned char *)data;
    zs.avail_in = (uInt)size;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    check(deflate(&zs, Z_FINISH) == Z_STREAM_END, "deflate did not finish");
    rc = inflate_gzip(gz, zs.total_out, size, &out, &outlen, &err);
    check(rc == INFLATE_OK && outlen == size && (size == 0 || memcmp(out, data, size) == 0),
          "the round trip lost bytes");
    free(out);
    if (size > 0) {
        rc = inflate_gzip(gz, zs.total_out, size - 1, &out, &outlen, &err);
        check(rc == INFLATE_TOO_LARGE && !out, "one byte past the cap was taken");
    }
    deflateEnd(&zs);
    free(gz);
    return 0;
}
