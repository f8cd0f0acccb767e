#!/usr/bin/python3
"""agl_loop.py (tests/bench/agl.sh): agent-lightning's whole client loop against Runwatch's
store, N rollouts in flight at once, in phases: enqueue (batches), dequeue (every rollout
taken, so all N attempts are open together), spans (S per rollout, each after its
POST /spans/next, as the client's tracer numbers them), the attempts' ends, then the waits
until every rollout is back as succeeded. Each phase's calls are spread over T threads, one
kept-alive connection each, sending what LightningStoreClient sends. Prints one
`name value` line per figure; exits 1 when anything is lost (a rollout not succeeded, a span
count that is not N*S) or any call failed. Debian's python, standard library only."""

import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

ROOT, N, S, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlsplit(ROOT)
PREFIX = u.path.rstrip("/") + "/v1/agl"
errors = []


class Conn:
    def __init__(self):
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def call(self, method, path, body=None, want=200):
        data = None if body is None else json.dumps(body)
        hdr = {"Content-Type": "application/json"} if data is not None else {}
        self.c.request(method, PREFIX + path, data, hdr)
        r = self.c.getresponse()
        text = r.read()
        if r.status != want:
            raise RuntimeError(f"{method} {path}: {r.status} {text[:200]!r}")
        return json.loads(text) if text else None


def phase(name, items, work):
    """Runs work(conn, item) for every item over T threads; prints the rate."""
    lock = threading.Lock()
    it = iter(items)
    done = [0]

    def run():
        c = Conn()
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                n = work(c, item)
            except Exception as e:  # noqa: BLE001 - reported, the run fails
                errors.append(f"{name}: {e}")
                return
            with lock:
                done[0] += n

    t0 = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(T)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = time.monotonic() - t0
    print(f"{name}_calls {done[0]}")
    print(f"{name}_seconds {dt:.3f}")
    print(f"{name}_per_s {done[0] / dt:.1f}")
    return dt


BATCH = 10
ids = []
ids_lock = threading.Lock()


def enqueue(c, k):
    out = c.call("POST", "/queues/rollouts/enqueue", {"rollouts": [
        {"input": {"task": k * BATCH + i}, "mode": "train", "resources_id": None,
         "config": {"max_attempts": 2, "retry_condition": ["failed"]}, "metadata": None}
        for i in range(BATCH)]}, want=201)
    with ids_lock:
        ids.extend(r["rollout_id"] for r in out)
    return 1


attempts = []


def dequeue(c, w):
    n = 0
    while True:
        got = c.call("POST", "/queues/rollouts/dequeue", {"limit": 1, "worker_id": f"bench-{w}"})
        if not got:
            return n + 1
        with ids_lock:
            attempts.append((got[0]["rollout_id"], got[0]["attempt"]["attempt_id"]))
        n += 1


def spans(c, ra):
    rid, aid = ra
    trace = uuid.uuid4().hex
    for i in range(S):
        seq = c.call("POST", "/spans/next", {"rollout_id": rid, "attempt_id": aid})["sequence_id"]
        now = time.time()
        c.call("POST", "/spans", {
            "rollout_id": rid, "attempt_id": aid, "sequence_id": seq, "trace_id": trace,
            "span_id": uuid.uuid4().hex[:16], "parent_id": None, "name": f"step-{i}",
            "status": {"status_code": "OK", "description": None},
            "attributes": {"gen_ai.prompt": "x" * 64, "step": i}, "events": [], "links": [],
            "start_time": now, "end_time": now, "context": None, "parent": None,
            "resource": {"attributes": {"service.name": "bench"}, "schema_url": ""}}, want=201)
    return 2 * S


def finish(c, ra):
    c.call("POST", f"/rollouts/{ra[0]}/attempts/{ra[1]}", {"status": "succeeded"})
    return 1


def main():
    phase("enqueue", range(N // BATCH), enqueue)
    phase("dequeue", range(T), dequeue)
    if len(attempts) != N:
        errors.append(f"dequeued {len(attempts)} of {N}")
    phase("span", attempts, spans)
    phase("finish", attempts, finish)
    c = Conn()
    done = set()
    t0 = time.monotonic()
    while len(done) < N and time.monotonic() - t0 < 60:
        pending = [i for i in ids if i not in done]
        for k in range(0, len(pending), 100):
            for r in c.call("POST", "/waits/rollouts", {"rollout_ids": pending[k:k + 100], "timeout": 0}):
                if r["status"] == "succeeded":
                    done.add(r["rollout_id"])
    stats = c.call("GET", "/statistics")
    print(f"rollouts_succeeded {len(done)}")
    print(f"spans_stored {stats['total_spans']}")
    if len(done) != N:
        errors.append(f"{len(done)} of {N} rollouts succeeded")
    if stats["total_spans"] != N * S:
        errors.append(f"{stats['total_spans']} spans stored of {N * S}")
    for e in errors[:10]:
        print("error:", e, file=sys.stderr)
    return 1 if errors else 0


sys.exit(main())
