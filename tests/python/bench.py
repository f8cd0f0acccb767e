"""`make bench` for the Python client (tests/python/run.sh bench): what `run.log` costs a
training loop, and how many metric points one process gets stored per second.

1. Overhead: ROUNDS rounds of CALLS calls of `run.log(step=i, loss=…, acc=…)` (two points
   a call), first with the sender idle during the loop (the call alone: it sends at the
   flush after each round), then with the background sender sending as it goes (the
   realistic case: it takes the GIL to encode and send batches); per round the wall time
   and the process's CPU time (the sender's included) per call. A loop of the same shape
   without the call is subtracted. Medians are printed.
2. Throughput: POINTS points logged as fast as the loop goes, then flushed; points per
   second from the first call until the API acknowledged the last batch, and the count
   the API stored (must equal POINTS, nothing dropped).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import runwatch

CALLS = int(os.environ.get("BENCH_CALLS", "200000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
POINTS = int(os.environ.get("BENCH_POINTS", "1000000"))


def empty_loop(n: int) -> float:
    t = time.perf_counter_ns()
    for i in range(n):
        pass
    return (time.perf_counter_ns() - t) / n


def main() -> int:
    print(f"python {sys.version.split()[0]}, runwatch {runwatch.__version__}")
    base = statistics.median(empty_loop(CALLS) for _ in range(3))
    for label, opts in (("quiet", {"flush_s": 3600.0, "batch_size": 10 ** 9}),
                        ("sending", {})):
        run = runwatch.start(kind="bench", name=f"log overhead, {label}",
                             max_buffer=10 * CALLS, **opts)  # type: ignore[arg-type]
        wall, cpu = [], []
        for r in range(ROUNDS):
            log = run.log
            t, c = time.perf_counter_ns(), time.process_time_ns()
            for i in range(CALLS):
                log(step=i, loss=0.5, acc=0.25)
            wall.append((time.perf_counter_ns() - t) / CALLS - base)
            cpu.append((time.process_time_ns() - c) / CALLS)
            run.flush()
        run.finish()
        print(f"log_call_ns_{label} {statistics.median(wall):.0f} (median of rounds: "
              + " ".join(f"{w:.0f}" for w in wall) + f"; empty loop {base:.0f} ns subtracted)")
        print(f"log_call_cpu_ns_{label} {statistics.median(cpu):.0f} "
              "(process CPU a call, the sender's included)")
        print(f"log_dropped_{label} {run.dropped} lost {run.lost}")

    run = runwatch.start(kind="bench", name="throughput", max_buffer=POINTS)
    log = run.log
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(POINTS // 2):
        log(step=i, loss=0.5, acc=0.25)
    logged = time.perf_counter() - t0
    run.flush()
    took = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    run.finish()
    keys = runwatch.Client().get(f"/runs/{run.id}/metrics")["keys"]
    stored = sum(int(k["count"]) for k in keys)
    print(f"points_per_s {POINTS / took:.0f} ({POINTS} points: logged in {logged:.2f} s, "
          f"all acknowledged after {took:.2f} s; process CPU {cpu_s:.2f} s, "
          f"{1e6 * cpu_s / POINTS:.2f} us a point)")
    print(f"points_stored {stored} dropped {run.dropped} lost {run.lost} retries {run.retries}")
    return 0 if stored == POINTS and run.dropped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
