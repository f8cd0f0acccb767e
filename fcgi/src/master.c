/* master: signals are handled synchronously (blocked, then sigtimedwait), so the
 * supervisor's state changes in one place only. A crash loop (workers dying faster
 * than they can serve) is slowed to one respawn a second and logged, rather than
 * burning both cores on fork/exec. A worker that dies with a write in hand (counters.h)
 * may have committed without publishing, so live viewers would never hear of that change:
 * the master then publishes a `reset` message, which the hub turns into `event: reset` for
 * every stream (docs/CONTRACTS.md), so nothing is missed silently. */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "log.h"
#include "pub.h"

#define MASTER_MAX_WORKERS  512 /* up to 256 live plus a generation being replaced */
#define MASTER_STOP_GRACE_S 10
_Static_assert(MASTER_MAX_WORKERS <= COUNTERS_WORKER_SEATS, "a seat for every worker");

struct master_worker {
    pid_t pid;
    unsigned gen;
};

struct master {
    const struct config *cfg;
    char self[PATH_MAX];
    int listen_fd;
    int counters_fd; /* the shared counters (counters.c), or -1; passed to every worker */
    int nslots;
    unsigned gen;
    struct master_worker w[MASTER_MAX_WORKERS];
    time_t deaths[8]; /* times of the last unexpected exits, for crash-loop detection */
    unsigned ndeaths;
    pid_t hk_pid;         /* the housekeeper (housekeep.c), or 0 */
    time_t hk_not_before; /* a dead housekeeper is restarted at most once a second */
};

static int master_count(const struct master *m, unsigned gen)
{
    int n = 0;
    for (int i = 0; i < MASTER_MAX_WORKERS; i++)
        if (m->w[i].pid > 0 && m->w[i].gen == gen)
            n++;
    return n;
}

static pid_t master_spawn(struct master *m)
{
    int slot = -1;
    char fdbuf[16], cfdbuf[16], slotbuf[16], seatbuf[16];
    pid_t pid;

    for (int i = 0; i < MASTER_MAX_WORKERS; i++)
        if (m->w[i].pid == 0) {
            slot = i;
            break;
        }
    if (slot < 0) {
        log_error("worker table full");
        return -1;
    }
    counters_write_take(slot); /* a new worker starts with no write in hand */
    pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        /* Die with the master, even if it is killed with SIGKILL. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (m->counters_fd >= 0) {
            /* The worker maps the counters and closes this descriptor at once. */
            fcntl(m->counters_fd, F_SETFD, 0);
            if (m->counters_fd > m->listen_fd + 1)
                close_range((unsigned)m->listen_fd + 1, (unsigned)m->counters_fd - 1, 0);
            close_range((unsigned)m->counters_fd + 1, ~0U, 0);
            snprintf(cfdbuf, sizeof(cfdbuf), "%d", m->counters_fd);
            snprintf(slotbuf, sizeof(slotbuf), "%d", slot % m->nslots);
            snprintf(seatbuf, sizeof(seatbuf), "%d", slot);
            setenv("RUNWATCH_COUNTERS_FD", cfdbuf, 1);
            setenv("RUNWATCH_COUNTERS_SLOT", slotbuf, 1);
            setenv("RUNWATCH_COUNTERS_SEAT", seatbuf, 1);
        } else {
            close_range((unsigned)m->listen_fd + 1, ~0U, 0);
        }
        snprintf(fdbuf, sizeof(fdbuf), "%d", m->listen_fd);
        setenv("RUNWATCH_LISTEN_FD", fdbuf, 1);
        execl(m->self, "runwatch-api", "worker", (char *)NULL);
        log_error("exec %s: %s", m->self, strerror(errno));
        _exit(127);
    }
    m->w[slot].pid = pid;
    m->w[slot].gen = m->gen;
    counters_note_spawn();
    return pid;
}

/* The housekeeper: exec'd like a worker, with stdio only (it serves no socket). */
static void master_spawn_housekeeper(struct master *m)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close_range(3, ~0U, 0);
        execl(m->self, "runwatch-api", "housekeeper", (char *)NULL);
        log_error("exec %s: %s", m->self, strerror(errno));
        _exit(127);
    }
    m->hk_pid = pid;
    m->hk_not_before = time(NULL) + 1;
}

static void master_signal_gen(struct master *m, int sig, int only_old)
{
    for (int i = 0; i < MASTER_MAX_WORKERS; i++)
        if (m->w[i].pid > 0 && (!only_old || m->w[i].gen != m->gen))
            kill(m->w[i].pid, sig);
}

/* Tells every live stream to refetch: a `reset` message on the events channel, through
 * the same script as every event (so it takes its place in the id order). A connection
 * of its own each time: this is rare, and a kept one could be dead since the last. When
 * Redis is down the hub has lost its subscription too and resets everyone once back. */
static void master_reset_streams(const struct master *m, const char *why)
{
    struct config_redis_addr ra;
    struct pub p;
    char data[96];

    config_redis_addr(m->cfg, &ra);
    pub_init(&p, &ra);
    snprintf(data, sizeof(data), "{\"reason\":\"%s\"}", why);
    if (pub_event(&p, "0", PUB_TYPE_RESET, NULL, data) == 0)
        pub_flush(&p);
    if (p.published)
        log_warn("%s: told live streams to refetch (reset)", why);
    else
        log_error("%s: could not tell live streams to refetch", why);
    pub_fini(&p);
}

/* Reaps exited workers; returns how many of the current generation died. */
static int master_reap(struct master *m, int stopping)
{
    int died = 0, status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == m->hk_pid) {
            if (!stopping)
                log_warn("housekeeper %d %s %d; restarting it", (int)pid,
                         WIFSIGNALED(status) ? "killed by signal" : "exited with status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            /* It publishes after its own commits and keeps no seat: any death that was
             * not a clean stop may have fallen between the two. */
            if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
                master_reset_streams(m, "housekeeper died");
            m->hk_pid = 0;
            continue;
        }
        counters_report_forget((int)pid);
        for (int i = 0; i < MASTER_MAX_WORKERS; i++) {
            if (m->w[i].pid != pid)
                continue;
            if (!stopping && m->w[i].gen == m->gen) {
                if (WIFSIGNALED(status))
                    log_warn("worker %d killed by signal %d", (int)pid, WTERMSIG(status));
                else
                    log_warn("worker %d exited with status %d", (int)pid, WEXITSTATUS(status));
                m->deaths[m->ndeaths++ % 8] = time(NULL);
                died++;
            }
            if (counters_write_take(i) > 0)
                master_reset_streams(m, "a worker died with a write in hand");
            m->w[i].pid = 0;
            break;
        }
    }
    return died;
}

/* Eight unexpected exits within ten seconds is a crash loop. */
static int master_crash_loop(const struct master *m)
{
    time_t now = time(NULL);
    if (m->ndeaths < 8)
        return 0;
    for (int i = 0; i < 8; i++)
        if (now - m->deaths[i] > 10)
            return 0;
    return 1;
}

/* FastCGI over TCP (RUNWATCH_API_TCP, host:port; config_load checked its shape): nginx on
 * another host or in another container. Anyone who reaches the port can speak FastCGI,
 * so it belongs on a private network (docs/OPERATIONS.md). Nagle's algorithm is off:
 * libfcgi writes a record at a time, and Linux gives accepted sockets the listener's
 * TCP_NODELAY. */
static int master_bind_tcp(struct master *m)
{
    const char *spec = m->cfg->api_tcp;
    const char *colon = strrchr(spec, ':');
    char host[256];
    struct addrinfo hints, *ai = NULL;
    int one = 1, rc;
    size_t hl = (size_t)(colon - spec);

    /* [::1]:9000 as well as 127.0.0.1:9000 */
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), spec + 1);
    else
        snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        log_error("RUNWATCH_API_TCP %s: %s", spec, gai_strerror(rc));
        return -1;
    }
    /* Not close-on-exec, non-blocking: as the unix socket below. */
    m->listen_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (m->listen_fd >= 0 &&
        (setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
         setsockopt(m->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
         bind(m->listen_fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(m->listen_fd, 1024) != 0)) {
        int e = errno;
        close(m->listen_fd);
        m->listen_fd = -1;
        errno = e;
    }
    freeaddrinfo(ai);
    if (m->listen_fd < 0) {
        log_error("cannot listen on %s: %s", spec, strerror(errno));
        return -1;
    }
    return 0;
}

static int master_bind(struct master *m)
{
    const struct config *cfg = m->cfg;
    struct sockaddr_un sun;
    struct stat st;
    int probe;
    mode_t old;

    if (cfg->api_tcp[0])
        return master_bind_tcp(m);
    /* Refuse to steal the socket of a live master; remove a stale one. */
    if (stat(cfg->api_socket, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_error("%s exists and is not a socket", cfg->api_socket);
            return -1;
        }
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        /* config_load guarantees the path fits sun_path. */
        memcpy(sun.sun_path, cfg->api_socket, strlen(cfg->api_socket) + 1);
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
            close(probe);
            log_error("%s is in use by another runwatch-api", cfg->api_socket);
            return -1;
        }
        if (probe >= 0)
            close(probe);
        unlink(cfg->api_socket);
    }
    old = umask(0177); /* the socket is born 0600; widened below only for nginx's group */
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, cfg->api_socket, strlen(cfg->api_socket) + 1);
    /* Not close-on-exec: workers are exec'd with it. Non-blocking: workers accept from an
     * epoll set, and another worker may have taken the connection first. */
    m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (m->listen_fd >= 0 && (bind(m->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
                              listen(m->listen_fd, 1024) != 0)) {
        int e = errno;
        close(m->listen_fd);
        m->listen_fd = -1;
        errno = e;
    }
    umask(old);
    if (m->listen_fd < 0) {
        log_error("cannot listen on %s: %s", cfg->api_socket, strerror(errno));
        return -1;
    }
    if (cfg->api_socket_group[0]) {
        struct group *g = getgrnam(cfg->api_socket_group);
        if (!g || chown(cfg->api_socket, (uid_t)-1, g->gr_gid) != 0 ||
            chmod(cfg->api_socket, 0660) != 0) {
            log_error("cannot give group %s access to %s", cfg->api_socket_group, cfg->api_socket);
            return -1;
        }
    }
    return 0;
}

int master_run(const struct config *cfg)
{
    static struct master m; /* large; keep it off the stack */
    sigset_t set;
    siginfo_t info;
    struct timespec tick = {1, 0};
    int stopping = 0, rc = 0;
    time_t stop_deadline = 0, hold_until = 0;
    ssize_t n;

    memset(&m, 0, sizeof(m));
    m.cfg = cfg;
    m.listen_fd = -1;
    m.counters_fd = -1;
    n = readlink("/proc/self/exe", m.self, sizeof(m.self) - 1);
    if (n <= 0) {
        log_error("cannot find own executable: %s", strerror(errno));
        return 1;
    }
    m.self[n] = '\0';
    /* Whatever the starting shell left open is not ours to pass on to workers: the
     * socket becomes descriptor 3 and workers inherit stdio and it alone. */
    close_range(3, ~0U, 0);

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (master_bind(&m) != 0)
        return 1;
    /* Two slots a worker: a reload runs two generations side by side for a moment. */
    m.nslots =
        cfg->api_workers * 2 < COUNTERS_MAX_SLOTS ? cfg->api_workers * 2 : COUNTERS_MAX_SLOTS;
    m.counters_fd = counters_create(m.nslots);
    if (m.counters_fd >= 0 && m.counters_fd < m.listen_fd) { /* workers keep fds above it */
        close(m.counters_fd);
        m.counters_fd = -1;
    }
    for (int i = 0; i < cfg->api_workers; i++)
        master_spawn(&m);
    if (cfg->housekeeper)
        master_spawn_housekeeper(&m);
    log_info("serving on %s with %d workers%s", cfg->api_tcp[0] ? cfg->api_tcp : cfg->api_socket,
             cfg->api_workers,
             cfg->housekeeper ? "" : " (no housekeeper: RUNWATCH_HOUSEKEEPER=off)");

    for (;;) {
        int sig = sigtimedwait(&set, &info, &tick);

        if (sig == SIGTERM || sig == SIGINT) {
            if (!stopping) {
                log_info("stopping: waiting up to %d s for workers", MASTER_STOP_GRACE_S);
                stopping = 1;
                stop_deadline = time(NULL) + MASTER_STOP_GRACE_S;
                master_signal_gen(&m, SIGTERM, 0);
                if (m.hk_pid > 0)
                    kill(m.hk_pid, SIGTERM);
            }
        } else if (sig == SIGHUP && !stopping) {
            m.gen++;
            log_info("reload: starting generation %u", m.gen);
            for (int i = 0; i < cfg->api_workers; i++)
                master_spawn(&m);
            /* Old workers finish the request in hand, then exit. The housekeeper ends
             * its task in hand and is restarted below, running the new binary. */
            master_signal_gen(&m, SIGTERM, 1);
            if (m.hk_pid > 0)
                kill(m.hk_pid, SIGTERM);
        }
        master_reap(&m, stopping);

        if (stopping) {
            int left = 0;
            for (int i = 0; i < MASTER_MAX_WORKERS; i++)
                left += m.w[i].pid > 0;
            left += m.hk_pid > 0;
            if (left == 0)
                break;
            if (time(NULL) >= stop_deadline) {
                log_warn("%d workers did not stop in time, killing them", left);
                master_signal_gen(&m, SIGKILL, 0);
                if (m.hk_pid > 0)
                    kill(m.hk_pid, SIGKILL);
                stop_deadline = time(NULL) + 5;
            }
            continue;
        }
        if (cfg->housekeeper && m.hk_pid == 0 && time(NULL) >= m.hk_not_before)
            master_spawn_housekeeper(&m);
        for (int have = master_count(&m, m.gen); have < cfg->api_workers; have++) {
            if (master_crash_loop(&m)) {
                time_t now = time(NULL);
                if (now < hold_until)
                    break;
                log_error("workers are crashing repeatedly; respawning one a second");
                hold_until = now + 1;
                master_spawn(&m);
                break;
            }
            master_spawn(&m);
        }
    }
    close(m.listen_fd);
    if (m.counters_fd >= 0)
        close(m.counters_fd);
    if (!cfg->api_tcp[0])
        unlink(cfg->api_socket);
    log_info("stopped");
    return rc;
}
