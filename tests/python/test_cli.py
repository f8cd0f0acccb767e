"""The `runwatch` command line (the installed wheel's script) against the real stack:
exec of a failing and a succeeding command, the list and a run's page, wait's exit
codes, and the live tail resuming after its stream was cut."""

from __future__ import annotations

import json
import queue
import sys
import threading
import unittest
from typing import List

import rwtest
import runwatch


class Exec(unittest.TestCase):
    def test_failing_command(self) -> None:
        out = rwtest.cli(["exec", "--kind", "job", "--tag", "ci", "--heartbeat", "0.2", "--",
                          "sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"])
        self.assertEqual(out.returncode, 3, out.stderr)
        self.assertIn("to stdout", out.stdout)  # passed through
        self.assertIn("to stderr", out.stderr)
        rid = out.stderr.split("run ", 1)[1].split()[0]
        c = rwtest.client()
        r = c.get(f"/runs/{rid}")
        self.assertEqual((r["status"], r["kind"], r["tags"]), ("failed", "job", ["ci"]))
        self.assertEqual(r["error"]["type"], "ExitStatus")
        self.assertEqual(r["error"]["message"], "sh exited with status 3")
        self.assertIn("to stderr", r["error"]["traceback"])
        self.assertEqual(r["summary"], {"exit_code": 3})
        self.assertEqual(r["params"]["command"][0], "sh")
        evs = {(e["message"], e["level"], e["data"]["stream"]) for e in rwtest.all_events(c, rid)}
        self.assertEqual(evs, {("to stdout", "info", "stdout"), ("to stderr", "warning", "stderr")})
        w = rwtest.cli(["run", "wait", rid])
        self.assertEqual((w.returncode, w.stdout.strip()), (1, f"{rid} failed"))

    def test_succeeding_command_and_the_list(self) -> None:
        name = rwtest.unique("exec-ok")
        out = rwtest.cli(["exec", "--name", name, "--", "sh", "-c", "for i in 1 2 3; do echo line $i; done"])
        self.assertEqual(out.returncode, 0, out.stderr)
        rid = out.stderr.split("run ", 1)[1].split()[0]
        self.assertEqual([e["message"] for e in rwtest.all_events(rwtest.client(), rid)],
                         ["line 1", "line 2", "line 3"])
        ls = rwtest.cli(["runs", "--status", "succeeded", "--kind", "exec", "--json"])
        self.assertEqual(ls.returncode, 0, ls.stderr)
        runs = json.loads(ls.stdout)
        self.assertIn(rid, [r["id"] for r in runs])
        self.assertEqual({r["status"] for r in runs}, {"succeeded"})
        table = rwtest.cli(["runs", "--kind", "exec"])
        self.assertTrue(table.stdout.startswith("ID "), table.stdout)
        self.assertIn(f"{rid}  succeeded  exec  {name}", table.stdout)
        show = rwtest.cli(["run", "show", rid])
        self.assertIn("status:            succeeded", show.stdout)
        self.assertEqual(json.loads(rwtest.cli(["run", "show", "--json", rid]).stdout)["id"], rid)
        w = rwtest.cli(["run", "wait", rid])
        self.assertEqual((w.returncode, w.stdout.strip()), (0, f"{rid} succeeded"))

    def test_missing_command_and_errors(self) -> None:
        out = rwtest.cli(["exec", "--", "/nonexistent/command"])
        self.assertEqual(out.returncode, 127)
        rid = out.stderr.split("run ", 1)[1].split()[0]
        self.assertEqual(rwtest.client().get(f"/runs/{rid}")["error"]["type"], "FileNotFoundError")
        nf = rwtest.cli(["run", "show", "00000000-0000-4000-8000-000000000000"])
        self.assertEqual(nf.returncode, 4)
        self.assertIn("404 not_found", nf.stderr)
        bad = rwtest.cli(["runs", "--status", "nonsense"])
        self.assertEqual(bad.returncode, 4)
        self.assertIn("(field status)", bad.stderr)


# A command that waits (polling, no sleep of its own length) until its run has a
# heartbeat, or loops until stopped.
BEATS = r"""
import os, time, runwatch
c = runwatch.Client()
rid = os.environ["RUNWATCH_RUN_ID"]
while not c.get(f"/runs/{rid}")["last_heartbeat_at"]:
    time.sleep(0.05)
print("saw a heartbeat of", rid, flush=True)
"""
FOREVER = "import time\nprint('started', flush=True)\nwhile True: time.sleep(0.05)"


class ExecLive(unittest.TestCase):
    def test_heartbeats_while_the_command_runs(self) -> None:
        out = rwtest.cli(["exec", "--heartbeat", "0.2", "--", sys.executable, "-c", BEATS])
        self.assertEqual(out.returncode, 0, out.stderr)
        rid = out.stderr.split("run ", 1)[1].split()[0]
        self.assertIn(f"saw a heartbeat of {rid}", out.stdout)
        self.assertEqual(rwtest.client().get(f"/runs/{rid}")["status"], "succeeded")

    def test_cancel_stops_the_command(self) -> None:
        p = rwtest.cli_popen(["exec", "--heartbeat", "0.2", "--", sys.executable, "-c", FOREVER])
        try:
            assert p.stderr is not None and p.stdout is not None
            rid = p.stderr.readline().split("run ", 1)[1].split()[0]
            self.assertEqual(p.stdout.readline().strip(), "started")
            self.assertEqual(rwtest.cli(["run", "cancel", rid]).returncode, 0)
            p.wait(timeout=rwtest.DEADLINE_S)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()
        self.assertEqual(p.returncode, 128 + 15)  # SIGTERM
        r = rwtest.client().get(f"/runs/{rid}")
        self.assertEqual(r["status"], "cancelled")
        self.assertEqual(r["summary"], {"exit_code": 143, "signal": "SIGTERM"})


class Wait(unittest.TestCase):
    def test_timeout_then_outcome(self) -> None:
        run = runwatch.start(kind="train")
        w = rwtest.cli(["run", "wait", run.id, "--timeout", "0"])
        self.assertEqual(w.returncode, 124, w.stderr)
        self.assertIn("timed out", w.stderr)
        p = rwtest.cli_popen(["run", "wait", run.id])
        run.finish("failed", error={"type": "Boom", "message": "no"})
        out, err = p.communicate(timeout=rwtest.DEADLINE_S)
        self.assertEqual((p.returncode, out.strip()), (1, f"{run.id} failed"), err)


class Tail(unittest.TestCase):
    def test_tail_resumes_after_a_disconnect(self) -> None:
        """The hub is killed under an open tail while the supervisor is held: events
        written meanwhile, and after the hub is back, are each printed once, in order."""
        run = runwatch.start(kind="train", name="tailed", flush_s=0.05)
        for i in range(5):
            run.event(f"before {i}")
        self.assertTrue(run.flush(rwtest.DEADLINE_S))
        p = rwtest.cli_popen(["run", "tail", run.id])
        lines: "queue.Queue[str]" = queue.Queue()
        errs: "queue.Queue[str]" = queue.Queue()

        def pump(src: object, dst: "queue.Queue[str]") -> None:
            for line in iter(src.readline, ""):  # type: ignore[attr-defined]
                dst.put(line.rstrip("\n"))

        pumps = [threading.Thread(target=pump, args=(src, dst), daemon=True)
                 for src, dst in ((p.stdout, lines), (p.stderr, errs))]
        for t in pumps:
            t.start()
        got: List[str] = []

        def until_printed(msg: str) -> None:
            while not any(g.endswith(" " + msg) for g in got):
                got.append(lines.get(timeout=rwtest.DEADLINE_S))

        stderr: List[str] = []

        def until_said(*texts: str) -> None:
            while not any(t in s for s in stderr for t in texts):
                stderr.append(errs.get(timeout=rwtest.DEADLINE_S))

        try:
            until_printed("before 4")
            for i in range(5):
                run.event(f"live {i}")
            until_printed("live 4")
            held = rwtest.Held()
            try:
                rwtest.kill_and_wait("sse")
                until_said("stream dropped", "stream ended by the server")
                for i in range(5):
                    run.event(f"while down {i}")
                self.assertTrue(run.flush(rwtest.DEADLINE_S))
            finally:
                held.release()
            until_said("stream resumed (Last-Event-ID ")
            for i in range(5):
                run.event(f"after {i}")
            run.finish()
            p.wait(timeout=rwtest.DEADLINE_S)
            for t in pumps:
                t.join(rwtest.DEADLINE_S)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()
        while not lines.empty():
            got.append(lines.get())
        while not errs.empty():
            stderr.append(errs.get())
        # "<ts, 23 characters> <level, 8> <message>"
        msgs = [g[33:] for g in got if not g.startswith("--")]
        want = ([f"before {i}" for i in range(5)] + [f"live {i}" for i in range(5)]
                + [f"while down {i}" for i in range(5)] + [f"after {i}" for i in range(5)])
        self.assertEqual(msgs, want, "\n".join(got + stderr))
        self.assertEqual(got[-1], f"-- run {run.id} succeeded")
        self.assertEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
