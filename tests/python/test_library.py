"""The runwatch package against the real stack: a run's whole life cycle, the ends of the
context manager, rejected writes raised, the bounded buffer, idempotent batches, retries
across an API restart with nothing lost or duplicated, cancel delivered to a running
script, exit handling, and queue workers."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import unittest
from typing import Any, Dict, List

import rwtest
import runwatch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class Lifecycle(unittest.TestCase):
    def test_version_is_the_apis(self) -> None:
        with open(os.path.join(REPO, "openapi", "openapi.json")) as f:
            api = json.load(f)["info"]["version"]
        self.assertEqual(runwatch.__version__, api)

    def test_the_readme_example(self) -> None:
        with open(os.path.join(REPO, "README.md")) as f:
            readme = f.read()
        section = readme.split("## From Python", 1)[1]
        code = section.split("```python\n", 1)[1].split("```", 1)[0]
        p = rwtest.python(code + "print(run.id)\n")
        out, err = p.communicate(timeout=rwtest.DEADLINE_S)
        self.assertEqual(p.returncode, 0, err)
        rid = out.split()[-1]
        c = rwtest.client()
        r = c.get(f"/runs/{rid}")
        self.assertEqual((r["status"], r["kind"], r["name"]), ("succeeded", "train", "resnet50"))
        self.assertEqual(rwtest.metric_counts(c, rid), {"loss": 1, "acc": 1})

    def test_whole_life_cycle(self) -> None:
        c = rwtest.client()
        parent = runwatch.start(kind="sweep", name="parent")
        with runwatch.start(kind="train", name="resnet", params={"lr": 0.1, "api_key": "sekrit"},
                            tags=["py", "lifecycle"], parent=parent, heartbeat_s=0.2) as run:
            self.assertEqual(run.data["status"], "running")
            for step in range(300):
                run.log(step=step, loss=1.0 / (step + 1), acc=step / 300)
                run.log({"train/grad_norm": 2.5, "lr": 0.1}, step=step)
            run.event("epoch 1 done", level="warning", epoch=1, note="ok")
            run.progress(0.5)
            lg = logging.getLogger(rwtest.unique("app"))
            lg.addHandler(runwatch.Handler(run))
            lg.propagate = False
            lg.error("from logging %s", "here")
            # The heartbeat carries the progress: polled, no sleep.
            rwtest.until("progress sent", lambda: c.get(f"/runs/{run.id}")["progress"] == 0.5)
        parent.finish()
        r = c.get(f"/runs/{run.id}")
        self.assertEqual(r["status"], "succeeded")
        self.assertEqual(r["parent_id"], parent.id)
        self.assertEqual(r["tags"], ["py", "lifecycle"])
        self.assertEqual(r["params"]["api_key"], "[redacted]")
        self.assertIsNotNone(r["last_heartbeat_at"])
        self.assertEqual(rwtest.metric_counts(c, run.id),
                         {"loss": 300, "acc": 300, "train/grad_norm": 300, "lr": 300})
        pts = rwtest.metric_series(c, run.id, "loss")
        self.assertEqual([p["step"] for p in pts], list(range(300)))
        evs = rwtest.all_events(c, run.id)
        self.assertEqual([(e["level"], e["message"]) for e in evs],
                         [("warning", "epoch 1 done"), ("error", "from logging here")])
        self.assertEqual(evs[0]["data"], {"epoch": 1, "note": "ok"})
        self.assertEqual(evs[1]["data"]["logger"], lg.name)
        self.assertEqual(run.stats()["sent_metrics"], 1200)
        self.assertEqual(run.stats()["dropped"] + run.stats()["lost"], 0)
        with self.assertRaises(runwatch.RunwatchError):
            run.log(x=1)  # finished

    def test_exception_fails_the_run_with_its_traceback(self) -> None:
        def train() -> None:
            raise RuntimeError("CUDA out of memory at step 1200")

        with self.assertRaises(RuntimeError):
            with runwatch.start(kind="train") as run:
                train()
        r = rwtest.client().get(f"/runs/{run.id}")
        self.assertEqual(r["status"], "failed")
        self.assertEqual(r["error"]["type"], "RuntimeError")
        self.assertEqual(r["error"]["message"], "CUDA out of memory at step 1200")
        self.assertIn("in train", r["error"]["traceback"])
        self.assertIn("RuntimeError: CUDA out of memory", r["error"]["traceback"])

    def test_keyboard_interrupt_cancels(self) -> None:
        with self.assertRaises(KeyboardInterrupt):
            with runwatch.start(kind="train") as run:
                raise KeyboardInterrupt
        self.assertEqual(rwtest.client().get(f"/runs/{run.id}")["status"], "cancelled")

    def test_rejected_write_is_raised_not_dropped(self) -> None:
        run = runwatch.start(kind="train")
        with self.assertRaises(ValueError):
            run.log({"bad key": 1.0})  # checked here, before anything is sent
        with self.assertRaises(ValueError):
            run.log(x=float("nan"))
        # The API's own limit (an event kind of at most 100 characters) is checked there:
        # the refused batch comes back as an APIError at the next call.
        run.event("too long a kind", kind="k" * 101)
        run.flush()
        with self.assertRaises(runwatch.APIError) as cm:
            run.log(x=1.0)
        self.assertEqual(cm.exception.status, 400)
        self.assertTrue(cm.exception.field and cm.exception.field.startswith("events[0].kind"),
                        cm.exception.field)
        self.assertEqual(run.lost, 1)
        run.finish()

    def test_api_errors_carry_code_and_field(self) -> None:
        c = rwtest.client()
        with self.assertRaises(runwatch.APIError) as cm:
            c.post("/runs", {"kind": "x", "priority": "high"})
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "priority"))
        run = runwatch.start(kind="train")
        run.finish("failed")
        with self.assertRaises(runwatch.APIError) as cm:
            c.patch(f"/runs/{run.id}", {"status": "running"})
        e = cm.exception
        self.assertEqual((e.status, e.code, e.field), (409, "illegal_transition", "status"))
        self.assertEqual(e.details, {"from": "failed", "to": "running"})
        with self.assertRaises(runwatch.ConfigError):
            runwatch.Client(url="ftp://example.com", token="x")

    def test_large_events_are_split_to_fit_the_body_limit(self) -> None:
        # 8 events of 64 KiB, 200-390 KB each as JSON: one request would pass the API's
        # 1 MiB body limit (413); the sender splits them.
        run = runwatch.start(kind="train", flush_s=3600)
        for i in range(4):
            run.event("\x01" * 65536, i=i)
            run.event("é" * 32768, i=i)
        with self.assertRaises(ValueError):
            run.event("é" * 32769)  # 65,538 bytes of UTF-8
        self.assertEqual(len(runwatch.clip("é" * 32769).encode()), 65536)
        run.finish()
        self.assertEqual((run.sent_events, run.lost), (8, 0))
        evs = rwtest.all_events(rwtest.client(), run.id)
        self.assertEqual([len(e["message"]) for e in evs], [65536, 32768] * 4)

    def test_bounded_buffer_drops_oldest(self) -> None:
        # The sender sends only at flush: 25 log calls into a buffer of 10.
        run = runwatch.start(kind="train", max_buffer=10, batch_size=10000, flush_s=3600)
        for step in range(25):
            run.log(step=step, x=float(step))
        self.assertEqual(run.dropped, 15)
        run.finish()
        pts = rwtest.metric_series(rwtest.client(), run.id, "x")
        self.assertEqual([p["step"] for p in pts], list(range(15, 25)))

    def test_idempotency_key_stores_a_batch_once(self) -> None:
        c = rwtest.client()
        run = runwatch.start(kind="train")
        body = {"events": [{"message": "once"}, {"message": "twice?"}]}
        key = {"Idempotency-Key": rwtest.unique("k")}
        s1, a1 = c.request("POST", f"/runs/{run.id}/events", body, headers=key)
        s2, a2 = c.request("POST", f"/runs/{run.id}/events", body, headers=key)
        self.assertEqual((s1, s2), (201, 200))
        self.assertEqual(a1, a2)
        run.finish()
        self.assertEqual(len(rwtest.all_events(c, run.id)), 2)


class Restart(unittest.TestCase):
    def test_retries_across_an_api_restart(self) -> None:
        """The API master is killed while the supervisor is held: the sender retries
        (503 from nginx, Retry-After) until the supervisor restarts it; then every point
        and event is stored exactly once."""
        c = rwtest.client()
        run = runwatch.start(kind="train", name="restart", flush_s=0.05, heartbeat_s=0.5)
        for step in range(100):
            run.log(step=step, loss=float(step))
        run.event("before")
        self.assertTrue(run.flush(rwtest.DEADLINE_S))
        held = rwtest.Held()
        try:
            rwtest.kill_and_wait("api")
            # Its workers finish what they hold, then go with it.
            rwtest.until("the API is down", lambda: not rwtest.serving(c))
            for step in range(100, 200):
                run.log(step=step, loss=float(step))
            run.event("during")
            rwtest.until("the sender retried", lambda: run.retries > 0)
            self.assertEqual(run.sent_metrics, 100)
        finally:
            held.release()
        for step in range(200, 300):
            run.log(step=step, loss=float(step))
        run.event("after")
        run.finish()
        self.assertEqual(run.lost + run.dropped, 0)
        pts = rwtest.metric_series(c, run.id, "loss")
        self.assertEqual([p["step"] for p in pts], list(range(300)))
        self.assertEqual([e["message"] for e in rwtest.all_events(c, run.id)],
                         ["before", "during", "after"])
        self.assertEqual(c.get(f"/runs/{run.id}")["status"], "succeeded")


    def test_a_lost_answer_is_not_stored_twice(self) -> None:
        """A worker that dies after its COMMIT, before answering (the stack's test fault
        RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH, set by run.sh, on a batch holding its
        marker): nginx answers 503, the sender sends the batch again with its key, and
        the API stores it once."""
        c = rwtest.client()
        run = runwatch.start(kind="train", flush_s=0.05)
        run.event("first")
        self.assertTrue(run.flush(rwtest.DEADLINE_S))
        run.event(f"the answer to this one is lost: {rwtest.FAULT_MARKER}")
        run.event("and this one is in the same batch")
        self.assertTrue(run.flush(rwtest.DEADLINE_S))
        self.assertGreater(run.retries, 0)
        run.finish()
        self.assertEqual([e["message"] for e in rwtest.all_events(c, run.id)],
                         ["first", f"the answer to this one is lost: {rwtest.FAULT_MARKER}",
                          "and this one is in the same batch"])


LOOP = r"""
import sys, time, runwatch
run = runwatch.start(kind="train", name="cancel me", heartbeat_s=0.2, flush_s=0.05,
                     raise_on_cancel=True)
print(run.id, flush=True)
step = 0
try:
    with run:
        while True:
            run.log(step=step, x=1.0)
            step += 1
            time.sleep(0.01)
finally:
    print("left the loop", run.status, run.cancel_requested, flush=True)
"""


class Cancel(unittest.TestCase):
    def test_cancel_reaches_a_running_script(self) -> None:
        c = rwtest.client()
        p = rwtest.python(LOOP)
        try:
            assert p.stdout is not None
            rid = p.stdout.readline().strip()
            rwtest.until("the script logged", lambda: rwtest.metric_counts(c, rid).get("x", 0) > 0)
            out = rwtest.cli(["run", "cancel", rid])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("cancel requested", out.stdout)
            rest, err = p.communicate(timeout=rwtest.DEADLINE_S)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("left the loop cancelled True", rest)
        self.assertEqual(c.get(f"/runs/{rid}")["status"], "cancelled")
        w = rwtest.cli(["run", "wait", rid])
        self.assertEqual((w.returncode, w.stdout.strip()), (3, f"{rid} cancelled"))

    def test_cancel_requested_without_raising(self) -> None:
        c = rwtest.client()
        seen = threading.Event()
        run = runwatch.start(kind="train", heartbeat_s=0.2)
        run.on_cancel(lambda r: seen.set())
        c.post(f"/runs/{run.id}/cancel")
        self.assertTrue(seen.wait(rwtest.DEADLINE_S))
        self.assertTrue(run.cancel_requested)
        run.log(x=1.0)  # no exception: the caller did not ask for one
        run.finish("cancelled")
        self.assertEqual(c.get(f"/runs/{run.id}")["status"], "cancelled")


EXIT_SCRIPT = r"""
import sys, runwatch
run = runwatch.start(kind="train", flush_s=3600)
print(run.id, flush=True)
for step in range(50):
    run.log(step=step, x=float(step))
run.event("last words")
if sys.argv[1] == "raise":
    raise ValueError("uncaught")
if sys.argv[1] == "interrupt":
    raise KeyboardInterrupt
"""


class AtExit(unittest.TestCase):
    def ended(self, how: str) -> Dict[str, Any]:
        p = rwtest.python(EXIT_SCRIPT, how)
        out, err = p.communicate(timeout=rwtest.DEADLINE_S)
        rid = out.split()[0]
        c = rwtest.client()
        self.assertEqual(rwtest.metric_counts(c, rid), {"x": 50}, err)
        self.assertEqual([e["message"] for e in rwtest.all_events(c, rid)], ["last words"])
        r: Dict[str, Any] = c.get(f"/runs/{rid}")
        return r

    def test_exit_flushes_and_succeeds(self) -> None:
        self.assertEqual(self.ended("ok")["status"], "succeeded")

    def test_uncaught_exception_fails(self) -> None:
        r = self.ended("raise")
        self.assertEqual((r["status"], r["error"]["type"]), ("failed", "ValueError"))

    def test_uncaught_interrupt_cancels(self) -> None:
        self.assertEqual(self.ended("interrupt")["status"], "cancelled")


class Workers(unittest.TestCase):
    def test_worker_log_lines(self) -> None:
        c = rwtest.client()
        w = runwatch.Worker(rwtest.unique("wlog"), queues=[rwtest.unique("q")], handle_sigterm=False)
        try:
            w.log("worker up")
            w.log("GPU 3 lost", "error", kind="gpu", gpu=3)
            items = c.get(f"/workers/{w.id}/events")["items"]
            self.assertEqual([(e["message"], e["level"], e["kind"]) for e in items],
                             [("worker up", "info", "log"), ("GPU 3 lost", "error", "gpu")])
            self.assertEqual(items[1]["data"], {"gpu": 3})
            with self.assertRaises(runwatch.APIError) as bad:
                w.log("x", "loud")
            self.assertEqual(bad.exception.field, "events[0].level")
        finally:
            w.stop()

    def test_claim_lease_finish_and_interruption(self) -> None:
        c = rwtest.client()
        queue = rwtest.unique("q")
        ids: List[str] = []
        for i in range(2):
            ids.append(c.post("/runs", {"kind": "train", "queue": queue, "name": f"job {i}"})["id"])
        with runwatch.Worker(rwtest.unique("w"), queues=[queue], kinds=["train"], lease_s=30,
                             heartbeat_s=0.2) as w:
            run = w.claim()
            assert run is not None
            self.assertEqual(run.id, ids[0])
            self.assertEqual(run.attempt, 1)
            rid = run.id
            with run:
                run.log(step=1, loss=0.5)
                # The lease is renewed by the run's beats, which name the attempt.
                rwtest.until("a beat of the attempt", lambda: (c.get(f"/runs/{rid}/attempts")
                              ["items"][0]["last_heartbeat_at"]))
            second = w.claim()
            assert second is not None
            self.assertEqual(second.id, ids[1])
            second.log(step=1, loss=0.7)
            self.assertIsNone(w.claim())  # the queue is empty
            # Leaving the with: the worker stops, the run it holds is interrupted.
        a = c.get(f"/runs/{ids[0]}/attempts")["items"]
        self.assertEqual((len(a), a[0]["status"], a[0]["worker_id"]), (1, "succeeded", w.id))
        self.assertEqual(c.get(f"/workers/{w.id}")["worker"]["status"], "stopped")
        self.assertEqual(rwtest.metric_counts(c, ids[1]), {"loss": 1})
        kinds = [e["kind"] for e in rwtest.all_events(c, ids[1])]
        self.assertIn("interrupted", kinds)


WORKER_SCRIPT = r"""
import sys, time, runwatch
w = runwatch.Worker(sys.argv[1], queues=[sys.argv[2]], kinds=["train"], lease_s=30,
                    heartbeat_s=0.2, flush_s=0.05)
run = w.wait()
print(run.id, w.id, flush=True)
with run:
    while True:
        run.log(x=1.0)
        time.sleep(0.01)
"""


class WorkerShutdown(unittest.TestCase):
    def test_sigterm_interrupts_the_claimed_run(self) -> None:
        c = rwtest.client()
        queue = rwtest.unique("q")
        rid = c.post("/runs", {"kind": "train", "queue": queue})["id"]
        p = rwtest.python(WORKER_SCRIPT, rwtest.unique("w"), queue)
        try:
            assert p.stdout is not None
            claimed, wid = p.stdout.readline().split()
            self.assertEqual(claimed, rid)
            rwtest.until("the worker logged", lambda: rwtest.metric_counts(c, rid).get("x", 0) > 0)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=rwtest.DEADLINE_S)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertIn("KeyboardInterrupt: SIGTERM", err)
        self.assertEqual(c.get(f"/workers/{wid}")["worker"]["status"], "stopped")
        self.assertIn("interrupted", [e["kind"] for e in rwtest.all_events(c, rid)])
        # Left to its lease: still running, to be claimed again once it lapses.
        self.assertEqual(c.get(f"/runs/{rid}")["status"], "running")


if __name__ == "__main__":
    unittest.main()

