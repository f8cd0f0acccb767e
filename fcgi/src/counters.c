/* counters: the shared segment. Why this design (issue 7):
 * - Workers are exec'd, so an anonymous shared mapping made before fork would not
 *   survive; a memfd passed by descriptor does, and the worker closes the descriptor
 *   once mapped, so it still holds only stdio, the FastCGI socket, PostgreSQL and Redis.
 * - One slot per worker and relaxed atomic adds: a request costs a few uncontended
 *   adds, no lock. Slots are the master's worker-table index modulo the slot count, so
 *   two live workers (a reload's overlap) may share one; atomics keep that correct.
 * - Route names live in the segment, not as indexes into one binary's table: a reload
 *   may run a newer binary whose table differs, and its counts must land on the same
 *   (method, pattern) series. Names are appended under a robust process-shared mutex,
 *   only while a worker starts.
 * - A worker built with another segment layout than its master's (a reload onto a
 *   binary where this file changed) counts nothing rather than corrupt the segment; it
 *   says so in the log, and the next full restart fixes it. */
#include "counters.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "router.h"

#define COUNTERS_MAGIC   0x52574334u /* "RWC4": the header holds the workers' write counts */
#define COUNTERS_ROUTES  192         /* names across reloads; a route beyond is "unmatched" */
#define COUNTERS_METHOD  8
#define COUNTERS_PATTERN 120

const double counters_bucket_le[COUNTERS_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct counters_slot {
    uint64_t scalar[COUNTERS__COUNT];
    struct counters_hist req[COUNTERS_ROUTES][COUNTERS_CLASSES];
};

struct counters_name {
    char method[COUNTERS_METHOD];
    char pattern[COUNTERS_PATTERN];
};

struct counters_shm {
    uint32_t magic;
    uint32_t slot_size; /* sizeof(struct counters_slot) of the binary that made it */
    uint32_t nslots;
    uint32_t nroutes; /* names[0..nroutes) are written; read with acquire */
    int64_t created_at;
    uint64_t worker_starts;
    uint64_t ident_epoch; /* counters_ident_bump */
    pthread_mutex_t lock; /* guards appending names and the report seats */
    struct {
        int32_t pid; /* 0: free */
        int64_t who;
    } report[COUNTERS_REPORT_SEATS];
    struct {
        uint32_t n; /* counters_write_begin/end of the worker in this master seat */
        char pad[60];
    } writing[COUNTERS_WORKER_SEATS];
    struct counters_name names[COUNTERS_ROUTES];
    struct counters_slot slots[];
};

static struct counters_shm *shm;
static size_t shm_len;
static struct counters_slot *mine;
static uint32_t *my_writing; /* this worker's count of writes in hand, or NULL */
/* routes[i] of the attached table → name index; the table it belongs to. */
static const struct route *map_table;
static size_t map_n;
static uint16_t *map_idx;

static size_t counters_size(uint32_t nslots)
{
    return sizeof(struct counters_shm) + (size_t)nslots * sizeof(struct counters_slot);
}

int counters_create(int nslots)
{
    pthread_mutexattr_t ma;
    int fd;

    if (nslots < 1)
        nslots = 1;
    if (nslots > COUNTERS_MAX_SLOTS)
        nslots = COUNTERS_MAX_SLOTS;
    fd = memfd_create("runwatch-counters", MFD_CLOEXEC);
    if (fd < 0) {
        log_error("counters: memfd_create: %s", strerror(errno));
        return -1;
    }
    shm_len = counters_size((uint32_t)nslots);
    if (ftruncate(fd, (off_t)shm_len) != 0) {
        log_error("counters: cannot size the segment: %s", strerror(errno));
        goto fail;
    }
    shm = mmap(NULL, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shm == MAP_FAILED) {
        shm = NULL;
        log_error("counters: mmap: %s", strerror(errno));
        goto fail;
    }
    /* A fresh memfd reads as zeros: only the header needs setting. */
    shm->magic = COUNTERS_MAGIC;
    shm->slot_size = (uint32_t)sizeof(struct counters_slot);
    shm->nslots = (uint32_t)nslots;
    shm->created_at = (int64_t)time(NULL);
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&shm->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    memcpy(shm->names[0].method, "*", 2);
    memcpy(shm->names[0].pattern, "unmatched", 10);
    shm->nroutes = 1;
    return fd;
fail:
    close(fd);
    return -1;
}

void counters_note_spawn(void)
{
    if (shm)
        __atomic_fetch_add(&shm->worker_starts, 1, __ATOMIC_RELAXED);
}

static int counters_lock(void)
{
    int rc = pthread_mutex_lock(&shm->lock);
    if (rc == EOWNERDEAD) /* a worker died mid-append: names are written before nroutes */
        rc = pthread_mutex_consistent(&shm->lock);
    return rc;
}

/* The name index of (method, pattern), appended when new; 0 ("unmatched") when full. */
static uint16_t counters_name_index(const char *method, const char *pattern)
{
    uint32_t n = __atomic_load_n(&shm->nroutes, __ATOMIC_ACQUIRE);

    if (strlen(method) >= COUNTERS_METHOD || strlen(pattern) >= COUNTERS_PATTERN) {
        log_warn("counters: route %s %s is too long to count by name", method, pattern);
        return 0;
    }
    for (uint32_t i = 1; i < n; i++)
        if (strcmp(shm->names[i].method, method) == 0 &&
            strcmp(shm->names[i].pattern, pattern) == 0)
            return (uint16_t)i;
    if (n >= COUNTERS_ROUTES) {
        log_warn("counters: no room to count route %s %s by name", method, pattern);
        return 0;
    }
    memcpy(shm->names[n].method, method, strlen(method) + 1);
    memcpy(shm->names[n].pattern, pattern, strlen(pattern) + 1);
    __atomic_store_n(&shm->nroutes, n + 1, __ATOMIC_RELEASE);
    return (uint16_t)n;
}

int counters_attach(const struct route *table, size_t n)
{
    const char *fds = getenv("RUNWATCH_COUNTERS_FD"), *slots = getenv("RUNWATCH_COUNTERS_SLOT");
    const char *seats = getenv("RUNWATCH_COUNTERS_SEAT");
    struct counters_shm *s;
    char *end;
    long fd, slot, seat = -1;
    size_t len;

    if (!fds || !slots) {
        log_warn("counters: no shared segment; /metrics shows no request counters");
        return -1;
    }
    fd = strtol(fds, &end, 10);
    if (*end || fd < 3 || fd > 1023)
        return -1;
    slot = strtol(slots, &end, 10);
    /* Whatever happens next, the descriptor is not kept. */
    s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, (int)fd, 0);
    if (s == MAP_FAILED) {
        log_warn("counters: cannot map the segment: %s", strerror(errno));
        close((int)fd);
        return -1;
    }
    if (s->magic != COUNTERS_MAGIC || s->slot_size != sizeof(struct counters_slot) || *end ||
        slot < 0 || (uint32_t)slot >= s->nslots) {
        log_warn("counters: the master's segment has another layout; not counting until "
                 "runwatch-api restarts");
        munmap(s, sizeof(*s));
        close((int)fd);
        return -1;
    }
    len = counters_size(s->nslots);
    munmap(s, sizeof(*s));
    shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
    close((int)fd);
    if (shm == MAP_FAILED) {
        shm = NULL;
        log_warn("counters: cannot map the segment: %s", strerror(errno));
        return -1;
    }
    shm_len = len;
    map_idx = calloc(n ? n : 1, sizeof(*map_idx));
    if (!map_idx || counters_lock() != 0) {
        log_warn("counters: cannot register routes");
        counters_detach();
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        map_idx[i] = counters_name_index(table[i].method, table[i].pattern);
    pthread_mutex_unlock(&shm->lock);
    map_table = table;
    map_n = n;
    mine = &shm->slots[slot];
    if (seats) {
        seat = strtol(seats, &end, 10);
        if (*end || seat < 0 || seat >= COUNTERS_WORKER_SEATS)
            seat = -1;
    }
    my_writing = seat >= 0 ? &shm->writing[seat].n : NULL;
    return 0;
}

void counters_detach(void)
{
    if (shm)
        munmap(shm, shm_len);
    free(map_idx);
    shm = NULL;
    mine = NULL;
    my_writing = NULL;
    map_idx = NULL;
    map_table = NULL;
    map_n = 0;
}

void counters_add(enum counters_scalar k, uint64_t n)
{
    if (mine && k < COUNTERS__COUNT)
        __atomic_fetch_add(&mine->scalar[k], n, __ATOMIC_RELAXED);
}

void counters_request(const struct route *rt, int status, double seconds)
{
    size_t name = 0;
    int cls, b;
    struct counters_hist *h;

    if (!mine)
        return;
    if (rt && map_table && rt >= map_table && rt < map_table + map_n)
        name = map_idx[rt - map_table];
    cls = status < 300 ? 0 : status < 400 ? 1 : status < 500 ? 2 : 3;
    for (b = 0; b < COUNTERS_BUCKETS && seconds > counters_bucket_le[b]; b++)
        ;
    h = &mine->req[name][cls];
    if (b < COUNTERS_BUCKETS)
        __atomic_fetch_add(&h->bucket[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->sum_us, (uint64_t)(seconds > 0 ? seconds * 1e6 : 0), __ATOMIC_RELAXED);
}

void counters_write_begin(void)
{
    /* Only this worker writes its seat, and the master reads it after reaping the worker,
     * so plain atomics suffice: the count is ordered before the COMMIT by the system call
     * that sends it. */
    if (my_writing)
        __atomic_store_n(my_writing, *my_writing + 1, __ATOMIC_RELAXED);
}

void counters_write_end(void)
{
    if (my_writing && *my_writing)
        __atomic_store_n(my_writing, *my_writing - 1, __ATOMIC_RELAXED);
}

uint32_t counters_write_take(int seat)
{
    if (!shm || seat < 0 || seat >= COUNTERS_WORKER_SEATS)
        return 0;
    return __atomic_exchange_n(&shm->writing[seat].n, 0, __ATOMIC_RELAXED);
}

void counters_db_error(const char *code)
{
    if (!code)
        return;
    if (strcmp(code, "unavailable") == 0)
        counters_add(COUNTERS_DB_UNAVAILABLE, 1);
    else if (strcmp(code, "timeout") == 0)
        counters_add(COUNTERS_DB_TIMEOUT, 1);
    else if (strcmp(code, "retry") == 0)
        counters_add(COUNTERS_DB_RETRY, 1);
    else
        counters_add(COUNTERS_DB_INTERNAL, 1);
}

void counters_ident_bump(void)
{
    /* The request that must see the change reaches another worker only after this store
     * (its client has the answer, which is written after it). */
    if (shm)
        __atomic_fetch_add(&shm->ident_epoch, 1, __ATOMIC_RELEASE);
}

uint64_t counters_ident_epoch(void)
{
    return shm ? __atomic_load_n(&shm->ident_epoch, __ATOMIC_ACQUIRE) : 0;
}

int counters_enabled(void)
{
    return shm != NULL;
}

size_t counters_routes(void)
{
    return shm ? __atomic_load_n(&shm->nroutes, __ATOMIC_ACQUIRE) : 0;
}

void counters_route_name(size_t i, const char **method, const char **pattern)
{
    *method = shm->names[i].method;
    *pattern = shm->names[i].pattern;
}

uint64_t counters_total(enum counters_scalar k)
{
    uint64_t sum = 0;
    if (!shm)
        return 0;
    for (uint32_t s = 0; s < shm->nslots; s++)
        sum += __atomic_load_n(&shm->slots[s].scalar[k], __ATOMIC_RELAXED);
    return sum;
}

/* Reads race with requests being counted, so the buckets may run one request ahead of
 * the count or behind it; the exposition (prom.c) makes the count at least the sum of
 * the buckets, so the histogram it prints is always consistent. */
void counters_route_total(size_t i, int class_idx, struct counters_hist *out)
{
    memset(out, 0, sizeof(*out));
    if (!shm || i >= COUNTERS_ROUTES || class_idx < 0 || class_idx >= COUNTERS_CLASSES)
        return;
    for (uint32_t s = 0; s < shm->nslots; s++) {
        const struct counters_hist *h = &shm->slots[s].req[i][class_idx];
        out->count += __atomic_load_n(&h->count, __ATOMIC_RELAXED);
        out->sum_us += __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
        for (int b = 0; b < COUNTERS_BUCKETS; b++)
            out->bucket[b] += __atomic_load_n(&h->bucket[b], __ATOMIC_RELAXED);
    }
}

uint64_t counters_worker_starts(void)
{
    return shm ? __atomic_load_n(&shm->worker_starts, __ATOMIC_RELAXED) : 0;
}

int64_t counters_created_at(void)
{
    return shm ? shm->created_at : 0;
}

/* ---- report admission ----
 * Ad-hoc SQL holds a worker and a database connection for up to its timeout, so a few
 * slow queries from one viewer could take every worker from producers and health checks.
 * Each running query holds a seat here: (pid of its worker, who asked); a worker may hold
 * several, as it serves other connections while it waits for a query (conns_wait). Seats of a pid
 * that no longer exists are freed by the next admission (a worker killed mid-query), and
 * the master frees a reaped worker's seats at once, so a reused pid cannot hold one. */

static void counters_report_purge(void)
{
    for (int i = 0; i < COUNTERS_REPORT_SEATS; i++)
        if (shm->report[i].pid && kill(shm->report[i].pid, 0) != 0 && errno == ESRCH)
            shm->report[i].pid = 0;
}

int counters_report_enter(int64_t who, int global_cap, int per_user_cap, int *running, int *seat)
{
    int n = 0, same = 0, free_seat = -1, rc;

    *running = 0;
    *seat = -1;
    if (!shm)
        return 0;
    if (counters_lock() != 0)
        return 0; /* cannot count: admit rather than refuse everyone */
    counters_report_purge();
    for (int i = 0; i < COUNTERS_REPORT_SEATS; i++) {
        if (!shm->report[i].pid) {
            if (free_seat < 0)
                free_seat = i;
            continue;
        }
        n++;
        same += shm->report[i].who == who;
    }
    if (n >= global_cap || free_seat < 0) {
        rc = COUNTERS_REPORT_GLOBAL;
    } else if (same >= per_user_cap) {
        rc = COUNTERS_REPORT_PER_USER;
    } else {
        shm->report[free_seat].pid = (int32_t)getpid();
        shm->report[free_seat].who = who;
        *seat = free_seat;
        rc = 0;
    }
    *running = rc == COUNTERS_REPORT_PER_USER ? same : n;
    pthread_mutex_unlock(&shm->lock);
    return rc;
}

void counters_report_leave(int seat)
{
    if (!shm || seat < 0 || seat >= COUNTERS_REPORT_SEATS)
        return;
    if (counters_lock() == 0) {
        if (shm->report[seat].pid == (int32_t)getpid())
            shm->report[seat].pid = 0;
        pthread_mutex_unlock(&shm->lock);
    }
}

void counters_report_forget(int pid)
{
    if (!shm || counters_lock() != 0)
        return;
    for (int i = 0; i < COUNTERS_REPORT_SEATS; i++)
        if (shm->report[i].pid == pid)
            shm->report[i].pid = 0;
    pthread_mutex_unlock(&shm->lock);
}

int counters_report_running(void)
{
    int n = 0;
    if (!shm || counters_lock() != 0)
        return 0;
    counters_report_purge();
    for (int i = 0; i < COUNTERS_REPORT_SEATS; i++)
        n += shm->report[i].pid != 0;
    pthread_mutex_unlock(&shm->lock);
    return n;
}
