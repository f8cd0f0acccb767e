"""The `runwatch` command line: list, show, follow, wait for and cancel runs, and wrap a
command as a run (`runwatch exec -- CMD…`).

Exit codes: 0 success (a run that succeeded), 1 a run failed, 2 usage or configuration,
3 a run was cancelled, 4 the API refused or could not be reached, 124 `run wait` timed
out; `exec` exits with its command's status (128+N when a signal N ended it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any, Dict, List, Optional, Sequence

from ._client import APIError, Client, ConfigError, RunwatchError, TransportError
from ._run import FINAL, Run, clip, start
from ._sse import Busy, frames
from ._version import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED, EXIT_API, EXIT_TIMEOUT = 0, 1, 2, 3, 4, 124


def outcome_code(statuses: Sequence[str]) -> int:
    """0 when every run succeeded, 1 when one failed, 3 when one was cancelled (and none
    failed)."""
    if "failed" in statuses:
        return EXIT_FAILED
    if "cancelled" in statuses:
        return EXIT_CANCELLED
    return EXIT_OK


def _out(line: str, f: Optional[IO[str]] = None) -> None:
    f = f or sys.stdout
    f.write(line + "\n")
    f.flush()


def _err(line: str) -> None:
    _out(f"runwatch: {line}", sys.stderr)


# ---- runs, run show, run cancel


def cmd_runs(c: Client, a: argparse.Namespace) -> int:
    q: Dict[str, Any] = {"status": a.status, "kind": a.kind, "tag": a.tag, "queue": a.queue,
                         "limit": a.limit, "project": c.project}
    page = c.get("/runs", **q)
    items: List[Dict[str, Any]] = page.get("items", [])
    if a.json:
        _out(json.dumps(items, indent=2))
        return EXIT_OK
    rows = [["ID", "STATUS", "KIND", "NAME", "CREATED", "DURATION"]]
    for r in items:
        d = r.get("duration_s")
        rows.append([str(r.get("id")), str(r.get("status")), str(r.get("kind") or ""),
                     str(r.get("name") or ""), str(r.get("created_at") or "")[:19],
                     "" if d is None else f"{d:.1f}s"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        _out("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return EXIT_OK


def cmd_show(c: Client, a: argparse.Namespace) -> int:
    r = c.get(f"/runs/{a.id}")
    if a.json:
        _out(json.dumps(r, indent=2))
        return EXIT_OK
    for k in ("id", "project", "kind", "name", "status", "queue", "priority", "progress",
              "worker_id", "parent_id", "created_at", "started_at", "ended_at",
              "last_heartbeat_at", "duration_s", "cancel_requested"):
        if r.get(k) is not None:
            _out(f"{k + ':':<18} {r[k]}")
    for k in ("tags", "params", "result", "summary"):
        if r.get(k):
            _out(f"{k + ':':<18} {json.dumps(r[k])}")
    la = r.get("latest_attempt")
    if la:
        _out(f"{'attempt:':<18} {la.get('seq')} ({la.get('status')})")
    err = r.get("error")
    if err:
        _out(f"{'error:':<18} {err.get('type')}: {err.get('message')}")
        if err.get("traceback"):
            _out(str(err["traceback"]).rstrip())
    return EXIT_OK


def cmd_cancel(c: Client, a: argparse.Namespace) -> int:
    for rid in a.ids:
        r = c.post(f"/runs/{rid}/cancel")
        note = " (cancel requested: its worker stops at its next heartbeat)" \
            if r.get("status") not in FINAL else ""
        _out(f"{rid} {r.get('status')}{note}")
    return EXIT_OK


# ---- run wait


def cmd_wait(c: Client, a: argparse.Namespace) -> int:
    deadline = None if a.timeout is None else time.monotonic() + a.timeout
    statuses: Dict[str, str] = {}
    for i in range(0, len(a.ids), 100):  # the API waits on at most 100 runs at once
        ids = a.ids[i:i + 100]
        while True:
            left = 30.0 if deadline is None else max(0.0, deadline - time.monotonic())
            ans = c.post("/runs/wait", {"ids": ids, "timeout_s": min(30.0, left)})
            for r in ans.get("runs", []):
                statuses[r["id"]] = r["status"] if r.get("ended_at") else "(" + r["status"] + ")"
            if ans.get("done"):
                break
            if deadline is not None and time.monotonic() >= deadline:
                for rid in a.ids:
                    _out(f"{rid} {statuses.get(rid, '(waiting)')}")
                _err(f"timed out after {a.timeout:g} s; not ended: "
                     + " ".join(r for r in ids if statuses.get(r, "(").startswith("(")))
                return EXIT_TIMEOUT
    for rid in a.ids:
        _out(f"{rid} {statuses[rid]}")
    return outcome_code(list(statuses.values()))


# ---- run tail


class Tail:
    """Prints a run's events as they come: the stream first, then what REST has after the
    last event printed (after every (re)connect and every `reset`), so each event is
    printed once, in id order, whatever the stream missed."""

    def __init__(self, c: Client, run_id: str, out: IO[str]) -> None:
        self.c = c
        self.run_id = run_id
        self.out = out
        self.last = 0  # the id of the last event printed
        self.status = ""

    def show(self, ev: Dict[str, Any]) -> None:
        eid = int(ev["id"])
        if eid <= self.last:
            return
        self.last = eid
        line = f"{str(ev.get('ts') or '')[:23]} {ev.get('level', ''):<8} {ev.get('message', '')}"
        if ev.get("data"):
            line += " " + json.dumps(ev["data"], sort_keys=True)
        _out(line, self.out)

    def fetch(self) -> None:
        while True:
            page = self.c.get(f"/runs/{self.run_id}/events", after=self.last, limit=1000)
            for ev in page.get("items", []):
                self.show(ev)
            if not page.get("next_cursor") or not page.get("items"):
                return

    def ended(self) -> bool:
        self.status = str(self.c.get(f"/runs/{self.run_id}")["status"])
        return self.status in FINAL

    def run(self) -> int:
        last_id: Optional[str] = None
        delay = 0.2
        reconnects = 0
        q = {"run": self.run_id, "types": "run.event,run.updated"}
        while True:
            try:
                for fr in frames(self.c, q, last_id):
                    if fr.event == "open":
                        if reconnects:
                            _err(f"stream resumed (Last-Event-ID {last_id or 'none'})")
                        self.fetch()
                        if self.ended():
                            break
                        continue
                    if fr.id:
                        last_id = fr.id
                    if fr.event == "run.event":
                        d = json.loads(fr.data).get("data") or {}
                        evs = d.get("events")
                        if isinstance(evs, list) and not d.get("truncated") \
                                and len(evs) == d.get("count"):
                            for ev in evs:
                                self.show(ev)
                        else:
                            self.fetch()
                    elif fr.event == "reset":
                        _err(f"stream reset ({fr.data}): fetching what was missed")
                        self.fetch()
                        if self.ended():
                            break
                    elif fr.event == "revoked":
                        _err("the token was revoked")
                        return EXIT_API
                    elif fr.event == "run.updated":
                        st = (json.loads(fr.data).get("data") or {}).get("status")
                        if st in FINAL:
                            self.fetch()
                            self.status = str(st)
                            break
                    delay = 0.2
                else:
                    # The server ended the stream (its age limit): reconnect and resume.
                    reconnects += 1
                    _err(f"stream ended by the server; resuming after {last_id}")
                    continue
                break
            except Busy as e:
                wait = e.wait if e.wait is not None else delay
                _err(f"{e}; retrying in {wait:g} s")
                time.sleep(wait)
            except (OSError, http.client.HTTPException) as e:
                _err(f"stream dropped ({type(e).__name__}: {e}); reconnecting")
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            reconnects += 1
            # Caught up over REST while disconnected too, so a run that ended meanwhile ends
            # the tail even if its frame was missed.
            try:
                self.fetch()
                if self.ended():
                    break
            except TransportError as e:
                _err(str(e))
        _out(f"-- run {self.run_id} {self.status}", self.out)
        return outcome_code([self.status])


def cmd_tail(c: Client, a: argparse.Namespace) -> int:
    t = Tail(c, a.id, sys.stdout)
    # A run that has ended prints its events and stops: nothing more will come.
    t.fetch()
    if t.ended():
        _out(f"-- run {a.id} {t.status}")
        return outcome_code([t.status])
    return t.run()


# ---- exec


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def cmd_exec(c: Client, a: argparse.Namespace) -> int:
    cmd: List[str] = a.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        _err("exec: no command (runwatch exec -- CMD…)")
        return EXIT_USAGE
    run = start(kind=a.kind, name=a.name or shlex.join(cmd), tags=a.tag or None,
                params={"command": cmd, "cwd": os.getcwd()}, client=c,
                heartbeat_s=a.heartbeat, flush_s=a.flush)
    _err(f"run {run.id}")
    stderr_tail: List[str] = []
    try:
        # The command learns its run (to log into it, or to print a link).
        env = dict(os.environ, RUNWATCH_RUN_ID=run.id)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as e:
        run.finish("failed", error={"type": type(e).__name__, "message": str(e)})
        _err(f"exec: {cmd[0]}: {e}")
        return 127 if isinstance(e, FileNotFoundError) else 126
    stopped_by: List[str] = []

    def stop_child(why: str) -> None:
        if not stopped_by:
            stopped_by.append(why)
        if proc.poll() is None:
            proc.terminate()

    run.on_cancel(lambda r: stop_child("cancel requested"))

    def forward(signum: int, _frame: Any) -> None:
        stop_child(_signal_name(signum))

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}

    def pump(src: IO[bytes], dst: IO[bytes], level: str, name: str) -> None:
        for raw in iter(src.readline, b""):
            dst.write(raw)
            dst.flush()
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if name == "stderr":
                stderr_tail.append(line)
                del stderr_tail[:-100]
            try:
                run.event(clip(line), level=level, stream=name)
            except RunwatchError as e:
                _err(f"exec: {e}")

    assert proc.stdout is not None and proc.stderr is not None
    pumps = [threading.Thread(target=pump, args=(proc.stdout, sys.stdout.buffer, "info", "stdout")),
             threading.Thread(target=pump, args=(proc.stderr, sys.stderr.buffer, "warning", "stderr"))]
    for t in pumps:
        t.start()
    try:
        rc = proc.wait()
        for t in pumps:
            t.join()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    # As a shell says it: 128+N when signal N ended the command.
    summary: Dict[str, Any] = {"exit_code": 128 - rc if rc < 0 else rc}
    if rc < 0:
        summary["signal"] = _signal_name(-rc)
    if stopped_by:
        run.finish("cancelled", summary=summary)
        _err(f"run {run.id} cancelled ({stopped_by[0]})")
    elif rc == 0:
        run.finish("succeeded", summary=summary)
        _err(f"run {run.id} succeeded")
    else:
        msg = (f"{cmd[0]} was killed by {_signal_name(-rc)}" if rc < 0
               else f"{cmd[0]} exited with status {rc}")
        run.finish("failed", summary=summary,
                   error={"type": "ExitStatus", "message": msg,
                          "traceback": "\n".join(stderr_tail)})
        _err(f"run {run.id} failed: {msg}")
    return 128 - rc if rc < 0 else rc


# ---- the parser


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="runwatch", description="Watch and report Runwatch runs.",
        epilog="Configuration: --url/--token/--project or RUNWATCH_URL, RUNWATCH_TOKEN, "
               "RUNWATCH_PROJECT. Exit codes: 0 succeeded, 1 failed, 2 usage, 3 cancelled, "
               "4 API error, 124 timeout.")
    p.add_argument("--version", action="version", version=f"runwatch {__version__}")
    p.add_argument("--url", help="the server (default: RUNWATCH_URL)")
    p.add_argument("--token", help="a project token (default: RUNWATCH_TOKEN)")
    p.add_argument("--project", help="project slug (default: RUNWATCH_PROJECT; a token has its own)")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    r = sub.add_parser("runs", help="list runs, newest first")
    r.add_argument("--status", help="comma list: running,failed,…")
    r.add_argument("--kind")
    r.add_argument("--tag")
    r.add_argument("--queue")
    r.add_argument("--limit", type=int, default=50)
    r.add_argument("--json", action="store_true", help="print the runs as JSON")
    r.set_defaults(fn=cmd_runs)

    run = sub.add_parser("run", help="one run: show, tail, wait, cancel")
    rs = run.add_subparsers(dest="run_cmd", required=True, metavar="ACTION")
    s = rs.add_parser("show", help="a run's fields, params, error")
    s.add_argument("id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_show)
    t = rs.add_parser("tail", help="follow a run's events live until it ends")
    t.add_argument("id")
    t.set_defaults(fn=cmd_tail)
    w = rs.add_parser("wait", help="wait until the runs end; the exit code says how")
    w.add_argument("ids", nargs="+", metavar="ID")
    w.add_argument("--timeout", type=float, help="seconds (default: no limit)")
    w.set_defaults(fn=cmd_wait)
    c = rs.add_parser("cancel", help="cancel runs")
    c.add_argument("ids", nargs="+", metavar="ID")
    c.set_defaults(fn=cmd_cancel)

    e = sub.add_parser("exec", help="run a command as a run: its output becomes events",
                       usage="runwatch exec [options] -- CMD [ARG…]")
    e.add_argument("--kind", default="exec")
    e.add_argument("--name", help="default: the command line")
    e.add_argument("--tag", action="append", help="a tag (repeatable)")
    e.add_argument("--heartbeat", type=float, default=10.0, help="seconds between heartbeats")
    e.add_argument("--flush", type=float, default=1.0, help="seconds between sends of output")
    e.add_argument("command", nargs=argparse.REMAINDER)
    e.set_defaults(fn=cmd_exec)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = parser().parse_args(argv)
    try:
        # A person waits at the terminal: give up on an unreachable API after 30 s.
        c = Client(a.url, a.token, a.project, max_retry_s=30.0)
        rc: int = a.fn(c, a)
        return rc
    except ConfigError as e:
        _err(str(e))
        return EXIT_USAGE
    except APIError as e:
        _err(str(e))
        return EXIT_API
    except TransportError as e:
        _err(str(e))
        return EXIT_API
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
