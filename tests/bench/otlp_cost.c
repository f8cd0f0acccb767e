/* otlp_cost: what decoding an OTLP trace request costs per span, protobuf (otlp_pb_decode,
 * and inflate_gzip before it when gzipped) against the same request as OTLP JSON
 * (jsonx_read), both to the same read-only tree in an arena, as the ingest reads them. The request
 * is a vector of tests/otlp/vectors repeated until it holds at least SPANS spans (protobuf messages
 * concatenate into one; the JSON's resourceSpans are repeated to match). Prints the median per span
 * of ROUNDS. For an instruction count a busy machine does not disturb, run it under valgrind
 * --tool=callgrind --toggle-collect=otlp_pb_decode build/release/otlp-cost 3 (or
 * --toggle-collect=jsonx_read, --toggle-collect=inflate_gzip). Usage: otlp-cost ROUNDS [VECTOR
 * [SPANS]] (default: 50 sdk 512), from the repository. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "arena.h"
#include "inflate.h"
#include "jsonx.h"
#include "otlp_pb.h"

static unsigned char *otlp_cost_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (buf = malloc((size_t)n + 1)) == NULL) {
        fprintf(stderr, "otlp-cost: cannot read %s\n", path);
        exit(2);
    }
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static size_t otlp_cost_spans(json_object *req)
{
    json_object *rs, *ss, *sp;
    size_t n = 0;

    if (!json_object_object_get_ex(req, "resourceSpans", &rs))
        return 0;
    for (size_t i = 0; i < json_object_array_length(rs); i++) {
        if (!json_object_object_get_ex(json_object_array_get_idx(rs, i), "scopeSpans", &ss))
            continue;
        for (size_t j = 0; j < json_object_array_length(ss); j++)
            if (json_object_object_get_ex(json_object_array_get_idx(ss, j), "spans", &sp))
                n += json_object_array_length(sp);
    }
    return n;
}

/* The same count in the read-only tree. */
static size_t otlp_cost_vspans(const struct jsonx_val *req)
{
    const struct jsonx_val *rs = jsonx_get(req, "resourceSpans"), *ss, *sp;
    size_t n = 0;

    for (uint32_t i = 0; rs && i < rs->n; i++) {
        if (!(ss = jsonx_get(&rs->items[i], "scopeSpans")))
            continue;
        for (uint32_t j = 0; j < ss->n; j++)
            if ((sp = jsonx_get(&ss->items[j], "spans")))
                n += sp->n;
    }
    return n;
}

static int otlp_cost_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double otlp_cost_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    const char *name = argc > 2 ? argv[2] : "sdk";
    size_t want = argc > 3 ? (size_t)atol(argv[3]) : 512;
    char path[256];
    size_t pblen, jlen, per, copies, spans, bodylen = 0, gzlen;
    unsigned char *pb, *js, *body, *gz;
    json_object *one, *many, *rs, *rs_one;
    const char *jtext;
    size_t jtextlen;
    double *t[3];
    struct jsonx_err err;
    struct arena arena;
    z_stream zs;

    if (rounds < 1)
        rounds = 1;
    snprintf(path, sizeof(path), "tests/otlp/vectors/%s.pb", name);
    pb = otlp_cost_read(path, &pblen);
    snprintf(path, sizeof(path), "tests/otlp/vectors/%s.json", name);
    js = otlp_cost_read(path, &jlen);
    one = json_tokener_parse((const char *)js);
    if (!one || (per = otlp_cost_spans(one)) == 0) {
        fprintf(stderr, "otlp-cost: %s has no spans\n", name);
        return 2;
    }
    copies = (want + per - 1) / per;
    spans = copies * per;

    /* The protobuf: the message repeated (concatenated messages are one merged message). */
    body = malloc(pblen * copies);
    for (size_t i = 0; i < copies; i++, bodylen += pblen)
        memcpy(body + bodylen, pb, pblen);
    /* The JSON: the same resourceSpans repeated. */
    many = json_object_new_object();
    rs = json_object_new_array();
    json_object_object_get_ex(one, "resourceSpans", &rs_one);
    for (size_t i = 0; i < copies; i++)
        for (size_t j = 0; j < json_object_array_length(rs_one); j++)
            json_object_array_add(rs, json_object_get(json_object_array_get_idx(rs_one, j)));
    json_object_object_add(many, "resourceSpans", rs);
    jtext = jsonx_to_string(many, &jtextlen);
    /* The protobuf gzipped, as an exporter with compression 'gzip' sends it. */
    memset(&zs, 0, sizeof(zs));
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    gz = malloc(deflateBound(&zs, bodylen));
    zs.next_in = body;
    zs.avail_in = (uInt)bodylen;
    zs.next_out = gz;
    zs.avail_out = (uInt)deflateBound(&zs, bodylen);
    deflate(&zs, Z_FINISH);
    gzlen = zs.total_out;
    deflateEnd(&zs);

    for (int k = 0; k < 3; k++)
        t[k] = calloc((size_t)rounds, sizeof(double));
    arena_init(&arena, 1 << 20);
    for (int r = 0; r < rounds; r++) {
        struct jsonx_val a, b;
        int nul = 0;
        double t0 = otlp_cost_now();
        int ra = otlp_pb_decode(&arena, body, bodylen, &a, &err);
        double t1 = otlp_cost_now();
        int rb = jsonx_read(&arena, jtext, jtextlen, &b, &nul);
        double t2 = otlp_cost_now();
        unsigned char *out;
        size_t outlen;
        enum inflate_result rc = inflate_gzip(gz, gzlen, 64u << 20, &out, &outlen, &err);
        double t3 = otlp_cost_now();
        if (ra || rb || rc != INFLATE_OK || otlp_cost_vspans(&a) != spans ||
            otlp_cost_vspans(&b) != spans) {
            fprintf(stderr, "otlp-cost: a decode failed: %s\n", err.message);
            return 1;
        }
        arena_reset(&arena);
        free(out);
        t[0][r] = (t1 - t0) / (double)spans;
        t[1][r] = (t2 - t1) / (double)spans;
        t[2][r] = (t3 - t2) / (double)spans;
    }
    for (int k = 0; k < 3; k++)
        qsort(t[k], (size_t)rounds, sizeof(double), otlp_cost_cmp);
    printf("%zu spans of %s: protobuf %zu bytes (gzip %zu), JSON %zu bytes\n", spans, name, bodylen,
           gzlen, jtextlen);
    printf("otlp_pb_decode  %8.0f ns/span (median of %d)\n", t[0][rounds / 2], rounds);
    printf("jsonx_read      %8.0f ns/span\n", t[1][rounds / 2]);
    printf("inflate_gzip    %8.0f ns/span\n", t[2][rounds / 2]);
    for (int k = 0; k < 3; k++)
        free(t[k]);
    arena_fini(&arena);
    json_object_put(one);
    json_object_put(many);
    free(pb);
    free(js);
    free(body);
    free(gz);
    return 0;
}
