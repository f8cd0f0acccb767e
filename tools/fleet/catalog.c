/* catalog: what simulated runs look like — names, params, log lines, metric curves and
 * failures — so the dashboard shows something close to a real ML and data fleet. The
 * failure messages carry varying numbers, addresses and quoted names, which the
 * server's fingerprint blanks out: alike failures group, different ones do not.
 * Everything here is a pure function of the caller's random state. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fleet.h"

uint64_t catalog_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double catalog_unit(uint64_t *s)
{
    return (double)(catalog_rand(s) >> 11) / 9007199254740992.0;
}

int catalog_range(uint64_t *s, int lo, int hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int)(catalog_rand(s) % (uint64_t)(hi - lo + 1));
}

#define PICK(s, arr) ((arr)[catalog_rand(s) % (sizeof(arr) / sizeof((arr)[0]))])

const char *const catalog_kind_names[CATALOG__KINDS] = {"train", "eval", "etl", "rollout"};

int catalog_kind_of(const char *name)
{
    for (int k = 0; name && k < CATALOG__KINDS; k++)
        if (strcmp(name, catalog_kind_names[k]) == 0)
            return k;
    return -1;
}

const char *catalog_queue_of(int kind)
{
    return kind == CATALOG_ETL ? "cpu" : "gpu";
}

void catalog_steps(int kind, int *lo, int *hi)
{
    static const int range[CATALOG__KINDS][2] = {{10, 40}, {4, 12}, {3, 10}, {5, 20}};
    *lo = range[kind][0];
    *hi = range[kind][1];
}

static json_object *jstr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *jstr(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return json_object_new_string(buf);
}

static void tags_add(json_object *tags, const char *t)
{
    json_object_array_add(tags, json_object_new_string(t));
}

static const char *const models[] = {"resnet50",  "vit-b16",       "llama-3-8b",
                                     "bert-base", "whisper-small", "mistral-7b"};
static const char *const datasets[] = {"imagenet-1k", "c4-en",       "librispeech",
                                       "squad-v2",    "openwebtext", "coco-2017"};
static const char *const teams[] = {"team:vision", "team:nlp", "team:speech", "team:platform"};
static const char *const tables[] = {"clickstream", "orders", "sessions", "ad_impressions",
                                     "payments"};
static const char *const envs[] = {"webshop", "swe-bench-lite", "alfworld", "browsergym"};

json_object *catalog_run_body(uint64_t *s, int kind)
{
    json_object *b = json_object_new_object(), *params = json_object_new_object();
    json_object *tags = json_object_new_array();
    const char *model = PICK(s, models), *data = PICK(s, datasets);
    int prio = 0;

    json_object_object_add(b, "kind", json_object_new_string(catalog_kind_names[kind]));
    json_object_object_add(b, "queue", json_object_new_string(catalog_queue_of(kind)));
    tags_add(tags, PICK(s, teams));
    switch (kind) {
    case CATALOG_TRAIN: {
        double lr = pow(10, -2.0 - 3.0 * catalog_unit(s));
        int bs = 16 << catalog_range(s, 0, 4);
        json_object_object_add(b, "name", jstr("%s on %s lr=%.0e bs=%d", model, data, lr, bs));
        json_object_object_add(params, "model", json_object_new_string(model));
        json_object_object_add(params, "dataset", json_object_new_string(data));
        json_object_object_add(params, "lr", json_object_new_double(lr));
        json_object_object_add(params, "batch_size", json_object_new_int(bs));
        json_object_object_add(params, "epochs", json_object_new_int(catalog_range(s, 3, 90)));
        json_object_object_add(params, "seed", json_object_new_int(catalog_range(s, 0, 9999)));
        /* Some trainers pass credentials in their config; they are stored redacted. */
        if (catalog_unit(s) < 0.3)
            json_object_object_add(params, "wandb_api_key",
                                   jstr("%016llx", (unsigned long long)catalog_rand(s)));
        tags_add(tags, model);
        break;
    }
    case CATALOG_EVAL:
        json_object_object_add(b, "name", jstr("eval %s on %s-val", model, data));
        json_object_object_add(params, "model", json_object_new_string(model));
        json_object_object_add(
            params, "checkpoint",
            jstr("s3://ml-checkpoints/%s/step-%06d.pt", model, 1000 * catalog_range(s, 1, 400)));
        json_object_object_add(params, "shards", json_object_new_int(catalog_range(s, 4, 64)));
        tags_add(tags, "eval");
        prio = 5; /* evaluations jump the training queue */
        break;
    case CATALOG_ETL: {
        const char *t = PICK(s, tables);
        int month = catalog_range(s, 1, 12), day = catalog_range(s, 1, 28);
        json_object_object_add(b, "name", jstr("ingest %s dt=2024-%02d-%02d", t, month, day));
        json_object_object_add(params, "source",
                               jstr("s3://datalake/raw/%s/dt=2024-%02d-%02d/", t, month, day));
        json_object_object_add(params, "target", jstr("warehouse.%s_clean", t));
        json_object_object_add(params, "db_password", json_object_new_string("hunter2"));
        tags_add(tags, "nightly");
        if (catalog_unit(s) < 0.3) {
            tags_add(tags, "backfill");
            prio = -5;
        }
        break;
    }
    default: {
        const char *env = PICK(s, envs);
        json_object_object_add(b, "name",
                               jstr("%s rollout batch %d", env, catalog_range(s, 1, 9999)));
        json_object_object_add(params, "env", json_object_new_string(env));
        json_object_object_add(params, "policy", json_object_new_string(model));
        json_object_object_add(params, "episodes", json_object_new_int(catalog_range(s, 8, 256)));
        json_object_object_add(params, "temperature",
                               json_object_new_double(round(catalog_unit(s) * 10) / 10));
        tags_add(tags, "agents");
        break;
    }
    }
    if (catalog_unit(s) < 0.05) {
        tags_add(tags, "urgent");
        prio = 10;
    }
    json_object_object_add(b, "priority", json_object_new_int(prio));
    json_object_object_add(b, "tags", tags);
    json_object_object_add(b, "params", params);
    return b;
}

static json_object *event(const char *level, const char *kind, json_object *msg, json_object *data)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "level", json_object_new_string(level));
    json_object_object_add(e, "kind", json_object_new_string(kind));
    json_object_object_add(e, "message", msg);
    if (data)
        json_object_object_add(e, "data", data);
    return e;
}

static json_object *step_data(int step, int steps)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "step", json_object_new_int(step));
    json_object_object_add(d, "of", json_object_new_int(steps));
    return d;
}

json_object *catalog_events(uint64_t *s, int kind, int step, int steps)
{
    json_object *a = json_object_new_array();

    switch (kind) {
    case CATALOG_TRAIN:
        if (step == 1)
            json_object_array_add(
                a, event("info", "stage",
                         jstr("loaded %d shards, %d samples", catalog_range(s, 8, 512),
                              catalog_range(s, 10000, 1300000)),
                         NULL));
        json_object_array_add(a,
                              event("info", "log",
                                    jstr("epoch %d/%d: loss=%.4f", step, steps,
                                         2.5 * exp(-3.0 * step / steps) + 0.05 * catalog_unit(s)),
                                    step_data(step, steps)));
        if (step % 5 == 0)
            json_object_array_add(
                a, event("info", "checkpoint",
                         jstr("saved checkpoint s3://ml-checkpoints/run/step-%06d.pt", step * 1000),
                         step_data(step, steps)));
        if (catalog_unit(s) < 0.08)
            json_object_array_add(a, event("warning", "log",
                                           jstr("gradient norm %.1f above clip threshold 5.0",
                                                5 + 20 * catalog_unit(s)),
                                           NULL));
        if (catalog_unit(s) < 0.2)
            json_object_array_add(
                a,
                event("debug", "log",
                      jstr("dataloader prefetch queue at %d%%", catalog_range(s, 10, 100)), NULL));
        break;
    case CATALOG_EVAL:
        json_object_array_add(a,
                              event("info", "log",
                                    jstr("shard %d/%d: accuracy %.3f over %d examples", step, steps,
                                         0.7 + 0.25 * catalog_unit(s), catalog_range(s, 500, 5000)),
                                    step_data(step, steps)));
        if (catalog_unit(s) < 0.1)
            json_object_array_add(
                a, event("warning", "log",
                         jstr("%d examples skipped: empty label", catalog_range(s, 1, 40)), NULL));
        break;
    case CATALOG_ETL:
        json_object_array_add(a, event("info", "log",
                                       jstr("read %d rows from part-%05d.parquet",
                                            catalog_range(s, 10000, 900000), step),
                                       step_data(step, steps)));
        json_object_array_add(a, event("info", "log",
                                       jstr("wrote %d rows (%d MB)", catalog_range(s, 9000, 850000),
                                            catalog_range(s, 5, 900)),
                                       NULL));
        if (catalog_unit(s) < 0.15)
            json_object_array_add(a, event("warning", "log",
                                           jstr("%d rows rejected by schema check (null user_id)",
                                                catalog_range(s, 1, 3000)),
                                           NULL));
        break;
    default:
        json_object_array_add(a, event("info", "log",
                                       jstr("episode %d: reward=%.2f steps=%d", step,
                                            -1 + 2 * catalog_unit(s), catalog_range(s, 3, 60)),
                                       step_data(step, steps)));
        if (catalog_unit(s) < 0.3)
            json_object_array_add(
                a, event("debug", "log",
                         jstr("tool call search took %d ms", catalog_range(s, 40, 4000)), NULL));
        if (catalog_unit(s) < 0.08)
            json_object_array_add(
                a, event("warning", "log",
                         jstr("model output truncated at %d tokens", 1024 * catalog_range(s, 1, 8)),
                         NULL));
        break;
    }
    return a;
}

static void point(json_object *a, const char *key, double v, int step)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "key", json_object_new_string(key));
    json_object_object_add(p, "value", json_object_new_double(v));
    json_object_object_add(p, "step", json_object_new_int(step));
    json_object_array_add(a, p);
}

json_object *catalog_metrics(uint64_t *s, int kind, uint64_t seed, int step, int steps)
{
    json_object *a = json_object_new_array();
    /* Per-run constants from the run's seed, so each run has its own curve. */
    uint64_t rs = seed;
    double base = 1.5 + catalog_unit(&rs), rate = 2 + 3 * catalog_unit(&rs);
    double x = (double)step / (steps > 0 ? steps : 1), noise = catalog_unit(s) - 0.5;

    switch (kind) {
    case CATALOG_TRAIN:
        point(a, "train/loss", base * exp(-rate * x) + 0.08 + 0.05 * noise, step);
        point(a, "train/accuracy", 0.95 - 0.85 * exp(-rate * x) + 0.02 * noise, step);
        point(a, "train/lr", 3e-4 * 0.5 * (1 + cos(M_PI * x)), step);
        point(a, "train/grad_norm", 1.0 + 0.8 * exp(-x) + 0.4 * noise, step);
        point(a, "system/gpu_util", 85 + 20 * noise, step);
        point(a, "system/gpu_mem_gb", 60 + 10 * catalog_unit(&rs) + 2 * noise, step);
        break;
    case CATALOG_EVAL:
        point(a, "eval/accuracy", 0.7 + 0.2 * catalog_unit(&rs) + 0.02 * noise, step);
        point(a, "eval/f1", 0.65 + 0.2 * catalog_unit(&rs) + 0.02 * noise, step);
        point(a, "eval/latency_ms", 20 + 30 * catalog_unit(&rs) + 5 * noise, step);
        break;
    case CATALOG_ETL:
        point(a, "etl/rows_read", 1e5 * (1 + catalog_unit(s)), step);
        point(a, "etl/rows_written", 0.98e5 * (1 + catalog_unit(s)), step);
        point(a, "etl/lag_s", 600 * (1 - x) + 30 * noise, step);
        break;
    default:
        point(a, "rollout/reward", -0.5 + 1.5 * x + 0.3 * noise, step);
        point(a, "rollout/episode_len", 30 + 20 * noise, step);
        point(a, "rollout/tokens", 2000 + 1500 * catalog_unit(s), step);
        break;
    }
    return a;
}

json_object *catalog_result(uint64_t *s, int kind)
{
    json_object *r = json_object_new_object(), *sum = json_object_new_object(),
                *out = json_object_new_object();
    switch (kind) {
    case CATALOG_TRAIN:
        json_object_object_add(
            r, "checkpoint",
            jstr("s3://ml-checkpoints/final-%06d.pt", catalog_range(s, 1, 999999)));
        json_object_object_add(sum, "loss", json_object_new_double(0.1 + 0.2 * catalog_unit(s)));
        json_object_object_add(sum, "accuracy",
                               json_object_new_double(0.85 + 0.1 * catalog_unit(s)));
        break;
    case CATALOG_EVAL:
        json_object_object_add(sum, "accuracy",
                               json_object_new_double(0.7 + 0.25 * catalog_unit(s)));
        json_object_object_add(sum, "f1", json_object_new_double(0.65 + 0.25 * catalog_unit(s)));
        break;
    case CATALOG_ETL:
        json_object_object_add(r, "rows", json_object_new_int(catalog_range(s, 100000, 9000000)));
        json_object_object_add(sum, "rejected_rows",
                               json_object_new_int(catalog_range(s, 0, 5000)));
        break;
    default:
        json_object_object_add(sum, "mean_reward", json_object_new_double(catalog_unit(s)));
        json_object_object_add(sum, "success_rate", json_object_new_double(catalog_unit(s)));
        break;
    }
    json_object_object_add(out, "result", r);
    json_object_object_add(out, "summary", sum);
    return out;
}

/* A failure: the exception's type, a message format with numbers that vary, the frames
 * of its Python traceback, whether retrying can help, and the kinds it strikes. */
struct catalog_failure {
    const char *type;
    const char *frames;
    int retryable;
    unsigned kinds; /* bit per enum catalog_kind */
};

#define K(k) (1u << (k))
static const struct catalog_failure failures[] = {
    {"torch.cuda.OutOfMemoryError",
     "  File \"/opt/app/train.py\", line 212, in <module>\n    main()\n"
     "  File \"/opt/app/train.py\", line 187, in main\n    loss = trainer.step(batch)\n"
     "  File \"/opt/app/trainer.py\", line 94, in step\n    out = self.model(**batch)\n"
     "  File \"/usr/lib/python3.11/site-packages/torch/nn/modules/module.py\", line 1511, in "
     "_wrapped_call_impl\n    return self._call_impl(*args, **kwargs)\n",
     1, K(CATALOG_TRAIN) | K(CATALOG_EVAL) | K(CATALOG_ROLLOUT)},
    {"TimeoutError",
     "  File \"/opt/app/train.py\", line 187, in main\n    loss = trainer.step(batch)\n"
     "  File \"/opt/app/dist.py\", line 58, in all_reduce\n    work.wait(timeout)\n",
     1, K(CATALOG_TRAIN)},
    {"ConnectionRefusedError",
     "  File \"/opt/etl/ingest.py\", line 41, in run\n    conn = psycopg.connect(dsn)\n"
     "  File \"/usr/lib/python3.11/site-packages/psycopg/connection.py\", line 728, in connect\n"
     "    raise last_ex.with_traceback(None)\n",
     1, K(CATALOG_ETL) | K(CATALOG_EVAL)},
    {"requests.exceptions.ReadTimeout",
     "  File \"/opt/agents/rollout.py\", line 133, in episode\n    obs = env.step(action)\n"
     "  File \"/opt/agents/tools.py\", line 77, in search\n    r = session.get(url, "
     "timeout=t)\n",
     1, K(CATALOG_ROLLOUT) | K(CATALOG_ETL)},
    {"ValueError",
     "  File \"/opt/app/trainer.py\", line 101, in step\n    loss = self.criterion(out, "
     "target)\n"
     "  File \"/usr/lib/python3.11/site-packages/torch/nn/functional.py\", line 3059, in "
     "cross_entropy\n    return torch._C._nn.cross_entropy_loss(input, target)\n",
     0, K(CATALOG_TRAIN) | K(CATALOG_EVAL)},
    {"KeyError",
     "  File \"/opt/etl/transform.py\", line 66, in normalise\n    row[\"user_id\"] = "
     "lookup[key]\n",
     0, K(CATALOG_ETL) | K(CATALOG_EVAL)},
    {"FloatingPointError",
     "  File \"/opt/app/trainer.py\", line 120, in step\n    self.check_finite(loss)\n", 0,
     K(CATALOG_TRAIN)},
    {"FileNotFoundError",
     "  File \"/opt/etl/ingest.py\", line 29, in run\n    table = pq.read_table(path)\n", 0,
     K(CATALOG_ETL) | K(CATALOG_EVAL)},
    {"openai.RateLimitError",
     "  File \"/opt/agents/policy.py\", line 48, in act\n    resp = client.chat.completions."
     "create(**req)\n",
     1, K(CATALOG_ROLLOUT)},
};

static void failure_message(uint64_t *s, size_t i, char *m, size_t cap)
{
    switch (i) {
    case 0:
        snprintf(m, cap,
                 "CUDA out of memory. Tried to allocate %.2f GiB (GPU %d; 79.15 GiB total "
                 "capacity; %.2f GiB already allocated; %.2f GiB free)",
                 0.5 + 4 * catalog_unit(s), catalog_range(s, 0, 7), 60 + 15 * catalog_unit(s),
                 3 * catalog_unit(s));
        break;
    case 1:
        snprintf(m, cap, "timed out after %d s waiting for rank %d in all_reduce (NCCL)",
                 300 * catalog_range(s, 1, 4), catalog_range(s, 0, 63));
        break;
    case 2:
        snprintf(m, cap, "[Errno 111] Connection refused: could not connect to 10.0.%d.%d:5432",
                 catalog_range(s, 0, 9), catalog_range(s, 2, 250));
        break;
    case 3:
        snprintf(m, cap,
                 "HTTPSConnectionPool(host='search-%d.internal', port=443): Read timed out. (read "
                 "timeout=%d)",
                 catalog_range(s, 1, 6), 5 * catalog_range(s, 2, 12));
        break;
    case 4:
        snprintf(m, cap, "Expected input batch_size (%d) to match target batch_size (%d).",
                 16 << catalog_range(s, 0, 4), 8 << catalog_range(s, 0, 3));
        break;
    case 5:
        snprintf(m, cap, "'user_%d'", catalog_range(s, 1000, 99999));
        break;
    case 6:
        snprintf(m, cap, "loss is nan at step %d (last finite loss %.4f)",
                 catalog_range(s, 100, 90000), 2 * catalog_unit(s));
        break;
    case 7:
        snprintf(m, cap, "[Errno 2] No such file or directory: '/data/shards/part-%05d.parquet'",
                 catalog_range(s, 0, 2047));
        break;
    default:
        snprintf(m, cap,
                 "Error code: 429 - Rate limit reached for requests. Limit: %d / min. Please try "
                 "again in %d.%03ds.",
                 500 * catalog_range(s, 1, 20), catalog_range(s, 1, 20), catalog_range(s, 0, 999));
        break;
    }
}

json_object *catalog_error(uint64_t *s, int kind, int *retryable)
{
    size_t n = sizeof(failures) / sizeof(failures[0]);
    size_t fit[sizeof(failures) / sizeof(failures[0])] = {0}, k = 0;
    char msg[512], tb[4096];

    for (size_t j = 0; j < n; j++)
        if (failures[j].kinds & K(kind))
            fit[k++] = j;
    /* Every kind has failures of its own; the first one stands in should one not. */
    size_t i = k ? fit[catalog_rand(s) % k] : 0;
    failure_message(s, i, msg, sizeof(msg));
    snprintf(tb, sizeof(tb), "Traceback (most recent call last):\n%s%s: %s\n", failures[i].frames,
             failures[i].type, msg);
    json_object *e = json_object_new_object();
    /* The exception's own name, as Python prints it last in the traceback. */
    const char *dot = strrchr(failures[i].type, '.');
    json_object_object_add(e, "type", json_object_new_string(dot ? dot + 1 : failures[i].type));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(e, "traceback", json_object_new_string(tb));
    *retryable = failures[i].retryable;
    return e;
}

json_object *catalog_resources(uint64_t *s, int gpu, int busy)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "cpu_pct",
                           json_object_new_double(round((busy ? 60 : 5) + 30 * catalog_unit(s))));
    json_object_object_add(
        r, "mem_gb",
        json_object_new_double(round(10 * ((busy ? 40 : 8) + 20 * catalog_unit(s))) / 10));
    if (gpu) {
        json_object_object_add(r, "gpu_util_pct",
                               json_object_new_double(round(busy ? 70 + 30 * catalog_unit(s) : 0)));
        json_object_object_add(
            r, "gpu_mem_gb",
            json_object_new_double(round(10 * (busy ? 50 + 25 * catalog_unit(s) : 0.4)) / 10));
    }
    return r;
}

void catalog_pipeline_metrics(json_object *a, uint64_t *s, int kind, int step)
{
    /* items/s, items behind, share of time blocked on the next stage */
    double tp = kind == CATALOG_ETL ? 1200 : kind == CATALOG_TRAIN ? 300 : 800;
    double bp = kind == CATALOG_ETL ? 0.7 : kind == CATALOG_TRAIN ? 0.1 : 0.05;
    double lag = kind == CATALOG_TRAIN ? 5000 + 400.0 * step : 200;
    double noise = catalog_unit(s) - 0.5;
    char key[80];

    point(a, "pipeline/throughput", tp * (1 + 0.1 * noise), step);
    point(a, "pipeline/lag", lag * (1 + 0.1 * noise), step);
    point(a, "pipeline/backpressure", bp + 0.05 * noise, step);
    for (int p = 0; p < 4; p++) {
        double share = p == 0 ? 0.4 : 0.2; /* partition 0 is hot */
        snprintf(key, sizeof(key), "pipeline/partition/%d/throughput", p);
        point(a, key, tp * share * (1 + 0.1 * noise), step);
        snprintf(key, sizeof(key), "pipeline/partition/%d/lag", p);
        point(a, key, lag * (p == 0 ? 2.5 : 0.5) / 4 * (1 + 0.1 * noise), step);
    }
}
