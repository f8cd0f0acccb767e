/* runwatch-sse: the SSE hub's process — configuration, limits, signals and the one
 * event loop that the HTTP server and the Redis subscriber share. Everything runs on this
 * thread. SIGTERM/SIGINT stop accepting, end every stream cleanly, give the last frames a
 * moment to leave, then free everything in reverse order. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "http.h"
#include "hub.h"
#include "options.h"
#include "redis_sub.h"

/* Descriptors beyond the streams: the listener, Redis, logs, a burst of accepts. */
#define MAIN_NOFILE_RESERVE 64
/* How long ended streams get to send their last chunk on SIGTERM. */
#define MAIN_SHUTDOWN_GRACE_MS 500

struct main_ctx {
    struct event_base *base;
    struct sse_http *http;
    struct hub *hub;
    int stopping;
};

/* libevent's own warnings become JSON lines like everything else on stderr. */
static void main_libevent_log(int severity, const char *msg)
{
    switch (severity) {
    case EVENT_LOG_DEBUG:
        log_debug("libevent: %s", msg);
        break;
    case EVENT_LOG_MSG:
        log_info("libevent: %s", msg);
        break;
    case EVENT_LOG_WARN:
        log_warn("libevent: %s", msg);
        break;
    default:
        log_error("libevent: %s", msg);
        break;
    }
}

/* Every stream is a descriptor: raise the soft limit to what RUNWATCH_SSE_MAX_CLIENTS
 * needs (the hard limit too when privileged), and lower the client limit to what the
 * descriptors allow, so the hub answers 503 instead of failing accept() with EMFILE. */
static void main_raise_nofile(struct sse_options *opts)
{
    rlim_t want = (rlim_t)opts->max_clients + MAIN_NOFILE_RESERVE;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_warn("cannot read the open files limit: %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur < want) {
        struct rlimit up = rl;

        up.rlim_cur = want;
        if (up.rlim_max < want)
            up.rlim_max = want;
        /* Raising the hard limit needs CAP_SYS_RESOURCE; without it take what there is. */
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            rl = up;
        } else {
            up.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
            up.rlim_max = rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                rl = up;
        }
    }
    if (rl.rlim_cur < want) {
        size_t fit = rl.rlim_cur > 2 * MAIN_NOFILE_RESERVE ? rl.rlim_cur - MAIN_NOFILE_RESERVE
                                                           : rl.rlim_cur / 2;
        log_warn("open files limit is %llu (hard %llu): at most %zu clients instead of %zu",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, fit,
                 opts->max_clients);
        opts->max_clients = fit;
    } else {
        log_info("open files limit %llu (hard %llu), up to %zu clients",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
                 opts->max_clients);
    }
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct main_ctx *ctx = arg;
    struct timeval grace = {0, MAIN_SHUTDOWN_GRACE_MS * 1000};
    size_t ended;

    (void)what;
    if (ctx->stopping++) {
        log_info("second signal: stopping now");
        event_base_loopbreak(ctx->base);
        return;
    }
    log_info("stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    sse_http_stop_accepting(ctx->http);
    ended = ctx->hub ? hub_shutdown(ctx->hub) : 0;
    log_info("ended %zu streams", ended);
    event_base_loopexit(ctx->base, ended ? &grace : NULL);
}

int main(void)
{
    struct config cfg;
    struct sse_options opts;
    struct main_ctx ctx = {0};
    char err[256], key[256];
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    struct hub *hub = NULL;
    struct sse_http *http = NULL;
    struct redis_sub *sub = NULL;
    int rc = 1;

    log_init("sse", LOG_LEVEL_INFO);
    if (config_load(&cfg, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return 2;
    }
    if (sse_options_load(&opts, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return 2;
    }
    /* Without the key the hub could not tell nginx from any other local client, and would
     * have to believe whatever X-Runwatch-Projects they sent: no key, no start. */
    if (config_read_secret(cfg.sse_key_file, 0, "RUNWATCH_SSE_KEY_FILE", key, sizeof(key), err,
                           sizeof(err)) != 0) {
        log_error("%s", err);
        return 2;
    }
    if (strlen(key) < SSE_HTTP_KEY_MIN) {
        log_error("RUNWATCH_SSE_KEY_FILE: the key in %s is shorter than %d bytes", cfg.sse_key_file,
                  SSE_HTTP_KEY_MIN);
        return 2;
    }
    log_init("sse", cfg.log_level);
    event_set_log_callback(main_libevent_log);

    /* A peer that closes first (a browser, Redis) must cost an EPIPE, not the process. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_error("cannot ignore SIGPIPE: %s", strerror(errno));
        goto out;
    }
    main_raise_nofile(&opts);

    base = event_base_new();
    if (!base) {
        log_error("cannot create the event loop");
        goto out;
    }
    ctx.base = base;
    sigterm = evsignal_new(base, SIGTERM, main_on_signal, &ctx);
    sigint = evsignal_new(base, SIGINT, main_on_signal, &ctx);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 ||
        evsignal_add(sigint, NULL) != 0) {
        log_error("cannot install the signal handlers");
        goto out;
    }
    hub = hub_new(base, &opts);
    if (!hub) {
        log_error("out of memory");
        goto out;
    }
    http = sse_http_new(base, hub, cfg.sse_host, cfg.sse_port, key);
    if (!http)
        goto out;
    ctx.http = http;
    ctx.hub = hub;
    sub = redis_sub_new(base, hub, &cfg);
    if (!sub) {
        log_error("cannot set up the redis subscriber");
        goto out;
    }
    redis_sub_start(sub);
    log_info("started (%s, redis %s, channel %s, ring %zu, keepalive %d ms, client buffer %zu, "
             "max age %d s)",
             event_base_get_method(base), cfg.redis_url, HUB_CHANNEL, opts.ring, opts.keepalive_ms,
             opts.client_buffer, opts.max_age_s);

    if (event_base_dispatch(base) < 0) {
        log_error("event loop failed");
        goto out;
    }
    rc = 0;
out:
    /* Users of the base first (they free events on it), the base last. */
    sse_http_free(http);
    redis_sub_free(sub);
    hub_free(hub);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (base)
        event_base_free(base);
    /* Releases libevent's global state, so a leak checker sees only real leaks. */
    libevent_global_shutdown();
    if (rc == 0)
        log_info("stopped");
    return rc;
}
