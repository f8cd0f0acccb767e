"""Fixtures of the Python client's tests (tests/python/run.sh starts the stack and sets
RUNWATCH_URL, RUNWATCH_TOKEN, RUNWATCH_VAR_DIR, RUNWATCH_CLI): a client, the stack's
processes by pid file (the tests stop and kill them), the CLI, and polling until a
condition holds (generous deadlines, never a timed assertion)."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence

import runwatch

VAR = os.environ.get("RUNWATCH_VAR_DIR", "")
CLI = os.environ.get("RUNWATCH_CLI", "")
# A write whose published data holds this text makes its API worker exit after the COMMIT,
# before it answers (tests/python/run.sh starts the stack with it).
FAULT_MARKER = os.environ.get("RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH", "")
# How long a restarted server may take on a loaded 2-core box; polled, never slept.
DEADLINE_S = float(os.environ.get("RUNWATCH_PY_DEADLINE", "240"))


_client: Optional[runwatch.Client] = None


def client() -> runwatch.Client:
    """One client for the tests' own requests."""
    global _client
    if _client is None:
        _client = runwatch.Client()
        atexit.register(_client.drop_connection)
    return _client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def until(what: str, cond: Callable[[], Any], deadline_s: float = DEADLINE_S) -> Any:
    """Polls cond() until it answers something true; fails naming `what` past the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def pid_of(name: str) -> int:
    """The pid in $VAR/run/<name>.pid (api, sse, nginx, supervisor)."""
    with open(os.path.join(VAR, "run", f"{name}.pid")) as f:
        return int(f.read().split()[0])


def alive(pid: int) -> bool:
    """Runs and is not a zombie (a server the held supervisor started is not reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def all_events(c: runwatch.Client, run_id: str) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    after = "0"
    while True:
        page = c.get(f"/runs/{run_id}/events", after=after, limit=1000)
        out.extend(page["items"])
        if not page["items"] or not page.get("next_cursor"):
            return out
        after = page["next_cursor"]


def metric_series(c: runwatch.Client, run_id: str, key: str) -> List[Dict[str, Any]]:
    ans = c.get(f"/runs/{run_id}/metrics", key=key, points=10000)
    pts: List[Dict[str, Any]] = ans["series"][0]["points"]
    return pts


def metric_counts(c: runwatch.Client, run_id: str) -> Dict[str, int]:
    return {k["key"]: int(k["count"]) for k in c.get(f"/runs/{run_id}/metrics")["keys"]}


def cli(args: Sequence[str], **kw: Any) -> "subprocess.CompletedProcess[str]":
    """Runs the installed `runwatch` script (the wheel's), or the module from the tree."""
    cmd = [CLI] if CLI else [sys.executable, "-m", "runwatch.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=DEADLINE_S,
                          **kw)


def cli_popen(args: Sequence[str]) -> "subprocess.Popen[str]":
    cmd = [CLI] if CLI else [sys.executable, "-m", "runwatch.cli"]
    return subprocess.Popen(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def python(code: str, *args: str) -> "subprocess.Popen[str]":
    """A Python script as a child process, its stdout and stderr piped."""
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Held:
    """Stops the stack's supervisor (SIGSTOP) while held, so a server the test kills stays
    down until release() lets the supervisor restart it."""

    def __init__(self) -> None:
        self.pid = pid_of("supervisor")
        os.kill(self.pid, signal.SIGSTOP)
        self.held = True

    def release(self) -> None:
        if self.held:
            os.kill(self.pid, signal.SIGCONT)
            self.held = False


def kill_and_wait(name: str) -> int:
    """SIGKILLs the server of $VAR/run/<name>.pid and waits until it is gone."""
    pid = pid_of(name)
    os.kill(pid, signal.SIGKILL)
    until(f"{name} (pid {pid}) gone", lambda: not alive(pid))
    return pid


def serving(c: Optional[runwatch.Client] = None) -> bool:
    try:
        (c or client()).request("GET", "/readyz", retry=False)
        return True
    except runwatch.RunwatchError:
        return False
