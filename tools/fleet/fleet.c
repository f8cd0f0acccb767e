/* fleet: runwatch-fleet's entry point — options, the token check, the signal loop that
 * ends the run (Ctrl-C, SIGTERM or --duration), progress lines, and the summary. The
 * summary's lines are "name value [rate]", for people and for scripts (awk '$1 == …').
 * Signals are blocked in every thread and taken synchronously here, so the simulation
 * threads see only a flag. A second Ctrl-C exits at once. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"

static void fleet_usage(FILE *f)
{
    fprintf(f, "usage: runwatch-fleet [options]\n"
               "Simulates a fleet of workers reporting to Runwatch: runs of kinds train, eval,\n"
               "etl and rollout on queues gpu and cpu, with events, metrics, failures, retries\n"
               "and cancels. Runs until Ctrl-C (workers stop; runs in flight become\n"
               "interrupted) or --duration, then prints a summary.\n"
               "Environment: RUNWATCH_URL (http://127.0.0.1:8080), RUNWATCH_TOKEN (a project\n"
               "token with the write scope; `make demo` makes one).\n"
               "  --workers N       simulated workers (4), alternately GPU and CPU nodes\n"
               "  --rate R          runs enqueued per second (1); 0 = as fast as they drain\n"
               "  --backlog N       most of our runs kept queued (3 x workers + 5)\n"
               "  --duration S      stop after S seconds (0 = until Ctrl-C)\n"
               "  --step-ms MS      pause between a run's steps (500); 0 for load tests\n"
               "  --max-steps N     cap on steps per run (0 = each kind's own, 3 to 40)\n"
               "  --poll-ms MS      idle worker's pause after an empty claim (1000)\n"
               "  --lease S         claim lease in seconds (30)\n"
               "  --fail-rate F     share of attempts that fail (0.15)\n"
               "  --cancel-rate F   share of runs later cancelled (0.03)\n"
               "  --seed N          random seed (default: the time)\n"
               "  --name-prefix P   prefix of worker names (to run two fleets at once)\n"
               "  --quiet           no progress lines, only the summary\n"
               "  --launcher        also launch experiments: make demo ones, honour every\n"
               "                    experiment's desired state (reconcile, claim, report)\n"
               "  --flip-s S        with --launcher, a simulated user flips a demo experiment\n"
               "                    between running and stopped every S seconds (20; 0 = never)\n");
}

static int fleet_number(const char *name, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < lo || d > hi) {
        fprintf(stderr, "runwatch-fleet: %s must be a number from %g to %g, got '%s'\n", name, lo,
                hi, v);
        return -1;
    }
    *out = d;
    return 0;
}

static int fleet_options(int argc, char **argv, struct fleet_opts *o)
{
    enum {
        O_WORKERS = 1,
        O_RATE,
        O_BACKLOG,
        O_DURATION,
        O_STEP,
        O_MAXSTEPS,
        O_POLL,
        O_LEASE,
        O_FAIL,
        O_CANCEL,
        O_SEED,
        O_PREFIX,
        O_QUIET,
        O_LAUNCHER,
        O_FLIP,
        O_HELP
    };
    static const struct option opts[] = {
        {"workers", required_argument, NULL, O_WORKERS},
        {"rate", required_argument, NULL, O_RATE},
        {"backlog", required_argument, NULL, O_BACKLOG},
        {"duration", required_argument, NULL, O_DURATION},
        {"step-ms", required_argument, NULL, O_STEP},
        {"max-steps", required_argument, NULL, O_MAXSTEPS},
        {"poll-ms", required_argument, NULL, O_POLL},
        {"lease", required_argument, NULL, O_LEASE},
        {"fail-rate", required_argument, NULL, O_FAIL},
        {"cancel-rate", required_argument, NULL, O_CANCEL},
        {"seed", required_argument, NULL, O_SEED},
        {"name-prefix", required_argument, NULL, O_PREFIX},
        {"quiet", no_argument, NULL, O_QUIET},
        {"launcher", no_argument, NULL, O_LAUNCHER},
        {"flip-s", required_argument, NULL, O_FLIP},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    double d;
    int backlog = -1, c;

    o->url = getenv("RUNWATCH_URL");
    if (!o->url || !*o->url)
        o->url = "http://127.0.0.1:8080";
    o->token = getenv("RUNWATCH_TOKEN");
    o->prefix = "";
    o->workers = 4;
    o->rate = 1;
    o->step_ms = 500;
    o->poll_ms = 1000;
    o->lease_s = 30;
    o->fail_rate = 0.15;
    o->cancel_rate = 0.03;
    o->flip_s = 20;
    o->seed = (uint64_t)time(NULL);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_WORKERS:
            if (fleet_number("--workers", optarg, 1, 512, &d))
                return -1;
            o->workers = (int)d;
            break;
        case O_RATE:
            if (fleet_number("--rate", optarg, 0, 100000, &o->rate))
                return -1;
            break;
        case O_BACKLOG:
            if (fleet_number("--backlog", optarg, 1, 1000000, &d))
                return -1;
            backlog = (int)d;
            break;
        case O_DURATION:
            if (fleet_number("--duration", optarg, 0, 1e7, &o->duration))
                return -1;
            break;
        case O_STEP:
            if (fleet_number("--step-ms", optarg, 0, 600000, &d))
                return -1;
            o->step_ms = (int)d;
            break;
        case O_MAXSTEPS:
            if (fleet_number("--max-steps", optarg, 0, 100000, &d))
                return -1;
            o->max_steps = (int)d;
            break;
        case O_POLL:
            if (fleet_number("--poll-ms", optarg, 1, 600000, &d))
                return -1;
            o->poll_ms = (int)d;
            break;
        case O_LEASE:
            if (fleet_number("--lease", optarg, 1, 86400, &d))
                return -1;
            o->lease_s = (int)d;
            break;
        case O_FAIL:
            if (fleet_number("--fail-rate", optarg, 0, 1, &o->fail_rate))
                return -1;
            break;
        case O_CANCEL:
            if (fleet_number("--cancel-rate", optarg, 0, 1, &o->cancel_rate))
                return -1;
            break;
        case O_SEED:
            if (fleet_number("--seed", optarg, 0, 9007199254740992.0, &d))
                return -1;
            o->seed = (uint64_t)d;
            break;
        case O_PREFIX:
            if (strlen(optarg) > 60) {
                fprintf(stderr, "runwatch-fleet: --name-prefix is at most 60 bytes\n");
                return -1;
            }
            o->prefix = optarg;
            break;
        case O_QUIET:
            o->quiet = 1;
            break;
        case O_LAUNCHER:
            o->launcher = 1;
            break;
        case O_FLIP:
            if (fleet_number("--flip-s", optarg, 0, 86400, &d))
                return -1;
            o->flip_s = (int)d;
            break;
        case O_HELP:
            fleet_usage(stdout);
            exit(0);
        default:
            fleet_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "runwatch-fleet: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    o->backlog = backlog > 0 ? backlog : 3 * o->workers + 5;
    if (!o->token || !*o->token) {
        fprintf(stderr, "runwatch-fleet: set RUNWATCH_TOKEN to a project token with the write "
                        "scope (`make demo` makes one for you)\n");
        return -1;
    }
    size_t n = strlen(o->url);
    static char url[512];
    if (n >= sizeof(url)) {
        fprintf(stderr, "runwatch-fleet: RUNWATCH_URL is too long\n");
        return -1;
    }
    memcpy(url, o->url, n + 1);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    o->url = url;
    return 0;
}

/* The token must work and may write: otherwise nothing the fleet does could. */
static int fleet_check_token(const struct fleet_opts *o, struct fleet_stats *st, char *project,
                             size_t cap)
{
    struct http h;
    json_object *out = NULL, *tok, *scopes, *p;
    int ok = 0, rc = -1;

    if (http_init(&h, o->url, o->token, st))
        return -1;
    long code = http_call(&h, "GET", "/api/v1/auth/me", NULL, NULL, &out);
    if (code < 0) {
        fprintf(stderr, "runwatch-fleet: no answer from %s (is the stack running? `make run`)\n",
                o->url);
        goto out;
    }
    if (code != 200 || !json_object_object_get_ex(out, "token", &tok) || !tok) {
        fprintf(stderr,
                "runwatch-fleet: %s refused the token (HTTP %ld): set RUNWATCH_TOKEN to a "
                "project token\n",
                o->url, code);
        goto out;
    }
    if (json_object_object_get_ex(tok, "scopes", &scopes))
        for (size_t i = 0; i < json_object_array_length(scopes); i++)
            ok |=
                strcmp(json_object_get_string(json_object_array_get_idx(scopes, i)), "write") == 0;
    if (!ok) {
        fprintf(stderr, "runwatch-fleet: the token has no write scope\n");
        goto out;
    }
    snprintf(project, cap, "%s",
             json_object_object_get_ex(tok, "project", &p) ? json_object_get_string(p) : "?");
    rc = 0;
out:
    json_object_put(out);
    http_fini(&h);
    return rc;
}

static long fleet_n(struct fleet_stats *st, enum fleet_counter c)
{
    return atomic_load(&st->n[c]);
}

static void fleet_progress(struct fleet_stats *st, double t, long *last_req, double *last_t)
{
    long req = fleet_n(st, FLEET_REQUESTS), bad = fleet_n(st, FLEET_TRANSPORT_ERRORS);
    for (int s = 500; s < 600; s++)
        bad += atomic_load(&st->status[s]);
    fprintf(stderr,
            "fleet: %4.0fs  runs %ld created, %ld claimed, %ld succeeded, %ld failed, %ld retried, "
            "%ld cancelled  events %ld  points %ld  %.0f req/s  5xx+no answer %ld\n",
            t, fleet_n(st, FLEET_RUNS_CREATED), fleet_n(st, FLEET_RUNS_CLAIMED),
            fleet_n(st, FLEET_RUNS_SUCCEEDED), fleet_n(st, FLEET_RUNS_FAILED),
            fleet_n(st, FLEET_RUNS_RETRIED), fleet_n(st, FLEET_RUNS_CANCELLED),
            fleet_n(st, FLEET_EVENTS), fleet_n(st, FLEET_METRIC_POINTS),
            t > *last_t ? (double)(req - *last_req) / (t - *last_t) : 0.0, bad);
    *last_req = req;
    *last_t = t;
}

/* "http_4xx 12 (404: 2, 409: 10)": a class total and its statuses. */
static void fleet_status_line(struct fleet_stats *st, int cls)
{
    long total = 0;
    char detail[512] = "";
    size_t used = 0;

    for (int s = cls * 100; s < cls * 100 + 100; s++) {
        long n = atomic_load(&st->status[s]);
        if (!n)
            continue;
        total += n;
        if (used < sizeof(detail)) {
            int w =
                snprintf(detail + used, sizeof(detail) - used, "%s%d: %ld", used ? ", " : "", s, n);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    printf("  http_%dxx %21ld%s%s%s\n", cls, total, used ? "   (" : "", detail, used ? ")" : "");
}

static void fleet_summary(const struct fleet_opts *o, struct fleet_stats *st, double t)
{
    static const struct {
        const char *name;
        enum fleet_counter c;
        int rate;
    } rows[] = {
        {"workers_registered", FLEET_WORKERS, 0},
        {"runs_created", FLEET_RUNS_CREATED, 1},
        {"runs_claimed", FLEET_RUNS_CLAIMED, 1},
        {"runs_succeeded", FLEET_RUNS_SUCCEEDED, 1},
        {"runs_failed", FLEET_RUNS_FAILED, 0},
        {"attempts_retried", FLEET_RUNS_RETRIED, 0},
        {"runs_cancelled", FLEET_RUNS_CANCELLED, 0},
        {"runs_abandoned", FLEET_RUNS_ABANDONED, 0},
        {"runs_interrupted", FLEET_RUNS_INTERRUPTED, 0},
        {"groups_created", FLEET_GROUPS, 0},
        {"events", FLEET_EVENTS, 1},
        {"metric_points", FLEET_METRIC_POINTS, 1},
        {"requests", FLEET_REQUESTS, 1},
        {"exp_launched", FLEET_EXP_LAUNCHED, 0},
        {"exp_stopped", FLEET_EXP_STOPPED, 0},
        {"exp_terminated", FLEET_EXP_TERMINATED, 0},
        {"exp_claims_lost", FLEET_EXP_CLAIMS_LOST, 0},
    };
    printf("fleet summary: %.1f s, %d workers, step %d ms, rate %g/s\n", t, o->workers, o->step_ms,
           o->rate);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        long n = fleet_n(st, rows[i].c);
        if (rows[i].rate && t > 0)
            printf("  %-18s %10ld %12.1f/s\n", rows[i].name, n, (double)n / t);
        else
            printf("  %-18s %10ld\n", rows[i].name, n);
    }
    if (atomic_load(&st->metrics_unsupported))
        printf("  (this server has no metrics endpoint: metric points were not sent)\n");
    for (int cls = 2; cls <= 5; cls++)
        fleet_status_line(st, cls);
    printf("  %-18s %10ld\n", "transport_errors", fleet_n(st, FLEET_TRANSPORT_ERRORS));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct fleet_opts o = {0};
    static struct fleet_stats st;
    static struct sim sim;
    static struct launcher launcher;
    char project[80];
    sigset_t sigs;
    struct timespec t0, now, wait = {1, 0};
    int rc = 0;

    if (fleet_options(argc, argv, &o))
        return 2;
    /* Blocked here, before any thread exists, so every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Six significant digits: what a producer would send, and shorter bodies. */
    json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "runwatch-fleet: libcurl did not initialise\n");
        return 1;
    }
    if (fleet_check_token(&o, &st, project, sizeof(project))) {
        curl_global_cleanup();
        return 2;
    }
    memset(&st, 0, sizeof(st)); /* the check is not part of the load */
    fprintf(stderr, "fleet: %d workers reporting to %s, project %s; %s\n", o.workers, o.url,
            project, o.duration > 0 ? "running for the given duration" : "Ctrl-C stops them");
    sim.o = &o;
    sim.st = &st;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sim_start(&sim)) {
        curl_global_cleanup();
        return 1;
    }
    if (o.launcher && launcher_start(&launcher, &sim)) {
        fprintf(stderr, "fleet: could not start the launcher\n");
        atomic_store(&sim.stop, 1);
    }
    /* Rates are over the time the fleet ran, not its shutdown. */
    double t = 0, t_stop = -1, next_progress = 5, last_t = 0;
    long last_req = 0;
    int signals = 0;
    while (atomic_load(&sim.live) > 0) {
        if (atomic_load(&sim.stop))
            wait.tv_sec = 0, wait.tv_nsec = 100000000L; /* shutting down: notice the end soon */
        int sig = sigtimedwait(&sigs, NULL, &wait);
        clock_gettime(CLOCK_MONOTONIC, &now);
        t = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (sig > 0 && ++signals > 1) {
            fprintf(stderr, "fleet: second signal: leaving without stopping the workers\n");
            _Exit(130);
        }
        if (sig > 0 || (o.duration > 0 && t >= o.duration) || atomic_load(&sim.fatal)) {
            if (!atomic_exchange(&sim.stop, 1)) {
                t_stop = t;
                fprintf(stderr,
                        "fleet: stopping the workers (runs in flight become "
                        "interrupted)%s\n",
                        sig > 0 ? "; Ctrl-C again to leave at once" : "");
            }
        }
        if (!o.quiet && t >= next_progress && !atomic_load(&sim.stop)) {
            fleet_progress(&st, t, &last_req, &last_t);
            next_progress += 5;
        }
    }
    sim_join(&sim);
    if (o.launcher)
        launcher_join(&launcher);
    fleet_summary(&o, &st, t_stop >= 0 ? t_stop : t);
    if (atomic_load(&sim.fatal))
        rc = 1;
    curl_global_cleanup();
    return rc;
}
