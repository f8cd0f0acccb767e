/* runwatch-sse: the SSE hub's process — configuration, limits, signals and the one
 * event loop that the HTTP server and the Redis subscriber share. Everything runs on this
 * thread; SIGTERM/SIGINT stop the loop and everything is freed in reverse order. */
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
#include "redis_sub.h"

/* Below this many descriptors the hub cannot hold the connections it is built for. */
#define MAIN_NOFILE_WANTED 4096

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

/* Every stream is a descriptor: take all the hard limit allows, and say what we got. */
static void main_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_warn("cannot read the open files limit: %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t before = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_warn("cannot raise the open files limit from %llu to %llu: %s",
                     (unsigned long long)before, (unsigned long long)rl.rlim_max, strerror(errno));
            rl.rlim_cur = before;
        }
    }
    if (rl.rlim_cur < MAIN_NOFILE_WANTED)
        log_warn("open files limit is %llu (hard %llu): the hub will refuse clients early",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    else
        log_info("open files limit %llu (hard %llu)", (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max);
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;

    (void)what;
    log_info("stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopexit(base, NULL);
}

int main(void)
{
    struct config cfg;
    char err[256];
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
    log_init("sse", cfg.log_level);
    event_set_log_callback(main_libevent_log);

    /* A peer that closes first (a browser, Redis) must cost an EPIPE, not the process. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_error("cannot ignore SIGPIPE: %s", strerror(errno));
        goto out;
    }
    main_raise_nofile();

    base = event_base_new();
    if (!base) {
        log_error("cannot create the event loop");
        goto out;
    }
    sigterm = evsignal_new(base, SIGTERM, main_on_signal, base);
    sigint = evsignal_new(base, SIGINT, main_on_signal, base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 ||
        evsignal_add(sigint, NULL) != 0) {
        log_error("cannot install the signal handlers");
        goto out;
    }
    hub = hub_new(base);
    if (!hub) {
        log_error("out of memory");
        goto out;
    }
    http = sse_http_new(base, hub, cfg.sse_host, cfg.sse_port);
    if (!http)
        goto out;
    sub = redis_sub_new(base, hub, cfg.redis_url);
    if (!sub) {
        log_error("cannot set up the redis subscriber");
        goto out;
    }
    redis_sub_start(sub);
    log_info("started (%s, redis %s, channel %s)", event_base_get_method(base), cfg.redis_url,
             HUB_CHANNEL);

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
