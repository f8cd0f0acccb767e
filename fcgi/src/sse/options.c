/* options: RUNWATCH_SSE_* with their defaults and ranges. A malformed value stops the hub
 * at start (like config.c), never later. */
#include "options.h"

#include "config.h"

int sse_options_load(struct sse_options *opts, char *err, size_t errlen)
{
    long ring, ring_bytes, frame_max, keepalive, buffer, stall, clients, age, retry, per_user;

    if (config_long("RUNWATCH_SSE_RING", "4096", 1, 1000000, &ring, err, errlen) ||
        config_long("RUNWATCH_SSE_RING_BYTES", "67108864", 1L << 20, 16L << 30, &ring_bytes, err,
                    errlen) ||
        config_long("RUNWATCH_SSE_FRAME_MAX", "131072", 4096, 16L << 20, &frame_max, err, errlen) ||
        config_long("RUNWATCH_SSE_KEEPALIVE_MS", "15000", 100, 3600000, &keepalive, err, errlen) ||
        config_long("RUNWATCH_SSE_CLIENT_BUFFER", "262144", 4096, 64L << 20, &buffer, err,
                    errlen) ||
        config_long("RUNWATCH_SSE_STALL_MS", "30000", 100, 3600000, &stall, err, errlen) ||
        config_long("RUNWATCH_SSE_MAX_CLIENTS", "50000", 1, 1000000, &clients, err, errlen) ||
        config_long("RUNWATCH_SSE_MAX_AGE_S", "900", 0, 86400 * 7, &age, err, errlen) ||
        config_long("RUNWATCH_SSE_RETRY_MS", "3000", 0, 600000, &retry, err, errlen) ||
        config_long("RUNWATCH_SSE_STREAMS_PER_USER", "16", 0, 1000000, &per_user, err, errlen))
        return -1;
    opts->ring = (size_t)ring;
    opts->ring_bytes = (size_t)ring_bytes;
    opts->frame_max = (size_t)frame_max;
    opts->keepalive_ms = (int)keepalive;
    opts->client_buffer = (size_t)buffer;
    opts->stall_ms = (int)stall;
    opts->max_clients = (size_t)clients;
    opts->max_age_s = (int)age;
    opts->retry_ms = (int)retry;
    opts->per_user = (size_t)per_user;
    return 0;
}
