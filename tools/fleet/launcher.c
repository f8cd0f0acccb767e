/* launcher: runwatch-fleet --launcher, an external launcher of experiments as the reconcile
 * contract describes it (docs/ARCHITECTURE.md, "Experiments and launchers"). It makes a few
 * demo experiments (sweep points of a training job), then loops: asks what to do, claims
 * each action with a lease, acts (a launch enqueues a run of the experiment on its queue,
 * which the simulated workers then run; a stop or terminate cancels the active run) and
 * reports. A simulated user flips one demo experiment between running and stopped every
 * --flip-s seconds, so `make demo` shows experiments starting and stopping. Two fleets with
 * --launcher may run at once: the leases keep them from acting twice. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"

#define LAUNCHER_DEMO_N 4

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static void launcher_sleep_ms(struct launcher *l, int ms)
{
    for (int left = ms; left > 0 && !atomic_load(&l->sim->stop); left -= 100)
        usleep((useconds_t)(left < 100 ? left : 100) * 1000);
}

/* The demo experiments: made once (a second fleet gets 409 for each and finds them). */
static void launcher_seed(struct launcher *l)
{
    static const int layers[LAUNCHER_DEMO_N] = {12, 12, 24, 24};
    static const int nodes[LAUNCHER_DEMO_N] = {1, 2, 1, 2};
    char name[160], path[400];
    json_object *out = NULL;

    for (int i = 0; i < LAUNCHER_DEMO_N; i++) {
        json_object *b = json_object_new_object(), *flags = json_object_new_object(),
                    *model = json_object_new_object(), *tags = json_object_new_array();
        snprintf(name, sizeof(name), "%ssweep-l%d-n%d", l->sim->o->prefix, layers[i], nodes[i]);
        json_object_object_add(model, "layers", json_object_new_int(layers[i]));
        json_object_object_add(model, "width", json_object_new_int(1024));
        json_object_object_add(flags, "model", model);
        json_object_object_add(flags, "nodes", json_object_new_int(nodes[i]));
        json_object_object_add(flags, "lr", json_object_new_double(i % 2 ? 3e-4 : 1e-3));
        json_object_object_add(flags, "optimizer", json_object_new_string(i < 2 ? "adam" : "lion"));
        json_object_array_add(tags, json_object_new_string("demo"));
        json_object_array_add(tags, json_object_new_string("launcher"));
        json_object_object_add(b, "name", json_object_new_string(name));
        json_object_object_add(b, "description",
                               json_object_new_string("a sweep point the demo launcher runs"));
        json_object_object_add(b, "flags", flags);
        json_object_object_add(b, "kind", json_object_new_string("train"));
        json_object_object_add(b, "queue", json_object_new_string("gpu"));
        json_object_object_add(b, "tags", tags);
        json_object_object_add(b, "desired_state", json_object_new_string("running"));
        http_call(&l->h, "POST", "/api/v1/experiments", b, NULL, NULL);
        json_object_put(b);
    }
    /* Their ids, for the simulated user's flips. */
    snprintf(path, sizeof(path), "/api/v1/experiments?tag=launcher&limit=100");
    if (http_call(&l->h, "GET", path, NULL, NULL, &out) == 200) {
        json_object *items;
        if (json_object_object_get_ex(out, "items", &items))
            for (size_t i = 0; i < json_object_array_length(items) && l->n < LAUNCHER_MAX_EXP;
                 i++) {
                json_object *e = json_object_array_get_idx(items, i), *id;
                const char *nm = jstr(e, "name");
                if (json_object_object_get_ex(e, "id", &id) && nm &&
                    strncmp(nm, l->sim->o->prefix, strlen(l->sim->o->prefix)) == 0)
                    l->ids[l->n++] = json_object_get_int64(id);
            }
    }
    json_object_put(out);
}

/* Reports on lease; a done that the server refuses (the run is still active) becomes a
 * failure with no back-off, so the lease is freed for the next pass. */
static void launcher_report(struct launcher *l, long long id, const char *lease,
                            const char *outcome, const char *run, const char *error)
{
    char path[96];
    json_object *b = json_object_new_object();

    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/report", id);
    json_object_object_add(b, "lease_id", json_object_new_string(lease));
    json_object_object_add(b, "outcome", json_object_new_string(outcome));
    if (run)
        json_object_object_add(b, "run_id", json_object_new_string(run));
    if (error) {
        json_object_object_add(b, "error", json_object_new_string(error));
        json_object_object_add(b, "retry_after_s", json_object_new_int(5));
    }
    long st = http_call(&l->h, "POST", path, b, NULL, NULL);
    json_object_put(b);
    if (st == 409 && strcmp(outcome, "done") == 0)
        launcher_report(l, id, lease, "failed", NULL, "the run did not end in time");
}

/* One experiment of the reconcile list: claim, act, report. */
static void launcher_act(struct launcher *l, json_object *e)
{
    json_object *id_o, *b, *out = NULL, *flags;
    const char *action = jstr(e, "action");
    char path[160], lease[48];

    if (!action || !json_object_object_get_ex(e, "id", &id_o))
        return;
    long long id = json_object_get_int64(id_o);
    b = json_object_new_object();
    json_object_object_add(b, "launcher", json_object_new_string(l->name));
    json_object_object_add(b, "action", json_object_new_string(action));
    json_object_object_add(b, "lease_s", json_object_new_int(30));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/claim", id);
    long st = http_call(&l->h, "POST", path, b, NULL, &out);
    json_object_put(b);
    if (st != 200 || !jstr(out, "lease_id")) {
        atomic_fetch_add(&l->sim->st->n[FLEET_EXP_CLAIMS_LOST], 1);
        json_object_put(out);
        return; /* another launcher has it, or it needs nothing any more */
    }
    snprintf(lease, sizeof(lease), "%s", jstr(out, "lease_id"));
    json_object_put(out);
    out = NULL;
    if (strcmp(action, "launch") == 0) {
        b = json_object_new_object();
        json_object_object_add(b, "kind", json_object_new_string(jstr(e, "kind")));
        json_object_object_add(b, "queue", json_object_new_string(jstr(e, "queue")));
        json_object_object_add(b, "name", json_object_new_string(jstr(e, "name")));
        json_object_object_add(b, "experiment_id", json_object_new_int64(id));
        if (json_object_object_get_ex(e, "flags", &flags))
            json_object_object_add(b, "params", json_object_get(flags));
        st = http_call(&l->h, "POST", "/api/v1/runs", b, NULL, &out);
        json_object_put(b);
        if (st == 201 && jstr(out, "id")) {
            launcher_report(l, id, lease, "done", jstr(out, "id"), NULL);
            atomic_fetch_add(&l->sim->st->n[FLEET_EXP_LAUNCHED], 1);
        } else {
            launcher_report(l, id, lease, "failed", NULL, "the run could not be created");
        }
        json_object_put(out);
        return;
    }
    const char *active = jstr(e, "active_run_id");
    if (active) {
        json_object *p = json_object_new_object();
        snprintf(path, sizeof(path), "/api/v1/runs/%s", active);
        json_object_object_add(p, "status", json_object_new_string("cancelled"));
        http_call(&l->h, "PATCH", path, p, NULL, NULL);
        json_object_put(p);
    }
    launcher_report(l, id, lease, "done", NULL, NULL);
    atomic_fetch_add(
        &l->sim->st->n[strcmp(action, "stop") == 0 ? FLEET_EXP_STOPPED : FLEET_EXP_TERMINATED], 1);
}

/* The simulated user: stops a demo experiment that has a run active (so the launcher has a
 * run to stop, whatever the machine's speed), and at the next flip starts it again; then
 * another. Looked at from a random one on, so two fleets' users pick different ones. */
static void launcher_flip(struct launcher *l)
{
    char path[96];
    long long pick = 0;
    const char *to = NULL;

    if (l->n == 0)
        return;
    int first = catalog_range(&l->rng, 0, l->n - 1);
    for (int k = 0; k < l->n && !to; k++) {
        long long id = l->ids[(first + k) % l->n];
        json_object *out = NULL;
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
        if (http_call(&l->h, "GET", path, NULL, NULL, &out) == 200) {
            const char *desired = jstr(out, "desired_state");
            if (desired && strcmp(desired, "stopped") == 0)
                pick = id, to = "running";
            else if (!pick && desired && strcmp(desired, "running") == 0 &&
                     jstr(out, "active_run_id"))
                pick = id; /* stopped unless another is to be started again */
        }
        json_object_put(out);
    }
    if (!pick)
        return; /* no run active anywhere yet: the next flip tries again */
    json_object *b = json_object_new_object();
    json_object_object_add(b, "desired_state", json_object_new_string(to ? to : "stopped"));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", pick);
    http_call(&l->h, "PATCH", path, b, NULL, NULL);
    json_object_put(b);
}

static void *launcher_main(void *arg)
{
    struct launcher *l = arg;
    const struct fleet_opts *o = l->sim->o;
    char path[300];
    time_t next_flip = time(NULL) + (o->flip_s > 0 ? o->flip_s : 0);

    launcher_seed(l);
    while (!atomic_load(&l->sim->stop)) {
        json_object *out = NULL, *items;
        snprintf(path, sizeof(path), "/api/v1/experiments/reconcile?launcher=%s&limit=100",
                 l->name);
        if (http_call(&l->h, "GET", path, NULL, NULL, &out) == 200 &&
            json_object_object_get_ex(out, "items", &items))
            for (size_t i = 0; i < json_object_array_length(items); i++)
                launcher_act(l, json_object_array_get_idx(items, i));
        json_object_put(out);
        if (o->flip_s > 0 && time(NULL) >= next_flip) {
            launcher_flip(l);
            next_flip = time(NULL) + o->flip_s;
        }
        launcher_sleep_ms(l, o->poll_ms);
    }
    atomic_fetch_sub(&l->sim->live, 1);
    return NULL;
}

int launcher_start(struct launcher *l, struct sim *sim)
{
    memset(l, 0, sizeof(*l));
    l->sim = sim;
    l->rng = sim->o->seed * 0x9E3779B97F4A7C15ull + 7777;
    snprintf(l->name, sizeof(l->name), "%sfleet-launcher-%d", sim->o->prefix, (int)getpid());
    if (http_init(&l->h, sim->o->url, sim->o->token, sim->st))
        return -1;
    atomic_fetch_add(&sim->live, 1);
    if (pthread_create(&l->th, NULL, launcher_main, l) != 0) {
        atomic_fetch_sub(&sim->live, 1);
        http_fini(&l->h);
        return -1;
    }
    l->started = 1;
    return 0;
}

void launcher_join(struct launcher *l)
{
    if (l->started)
        pthread_join(l->th, NULL);
    l->started = 0;
    http_fini(&l->h);
}
