"""Queue consumers: a registered worker claims runs from its queues, holds a lease on each
(renewed by the run's heartbeats, which name the attempt) and beats itself.

`stop()` (also on leaving `with Worker(...)`, after Ctrl-C or SIGTERM, and at exit)
abandons the runs it still holds, flushing what they logged, and tells the API it
stopped: each such run gets an "interrupted" event, its lease lapses and another worker
claims it as a new attempt.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import threading
import types
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Type

from ._client import APIError, Client, TransportError
from ._run import Run, _install_hooks

log_ = logging.getLogger("runwatch")


class Worker:
    """Worker(name, queues, kinds): claims runs of those kinds from those queues (in
    order), each with a lease of lease_s seconds. Run options (raise_on_cancel, flush_s,
    …) go to every claimed Run."""

    def __init__(
        self,
        name: str,
        queues: Sequence[str] = ("default",),
        kinds: Optional[Sequence[str]] = None,
        *,
        labels: Optional[Dict[str, Any]] = None,
        lease_s: int = 300,
        heartbeat_s: Optional[float] = None,
        poll_s: float = 1.0,
        handle_sigterm: bool = True,
        url: Optional[str] = None,
        token: Optional[str] = None,
        project: Optional[str] = None,
        client: Optional[Client] = None,
        **run_options: Any,
    ) -> None:
        if isinstance(queues, str):
            queues = [queues]
        if not queues:
            raise ValueError("a worker needs at least one queue")
        self.name = name
        self.queues: List[str] = list(queues)
        self.kinds: Optional[List[str]] = list(kinds) if kinds else None
        self.labels = labels
        self.lease_s = lease_s
        # Three beats a lease: one lost beat never loses the lease.
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else min(10.0, lease_s / 3)
        self.poll_s = poll_s
        self.handle_sigterm = handle_sigterm
        self.client = client or Client(url, token, project)
        self._owns_client = client is None
        self.run_options = run_options
        self.id: Optional[int] = None
        self.stopped = threading.Event()
        self._runs: Set[Run] = set()
        self._lock = threading.Lock()
        self._beater: Optional[threading.Thread] = None

    def register(self) -> int:
        """Registers (or registers again, as a new session) and starts the worker's beats."""
        body: Dict[str, Any] = {"name": self.name, "host": socket.gethostname(), "pid": os.getpid()}
        if self.kinds:
            body["kinds"] = self.kinds
        if self.labels:
            body["labels"] = self.labels
        if self.client.project:
            body["project"] = self.client.project
        w = self.client.post("/workers", body)
        self.id = int(w["id"])
        if self._beater is None:
            self._beater = threading.Thread(target=self._beat_loop, name="runwatch-worker-beat",
                                            daemon=True)
            self._beater.start()
        _install_hooks()
        atexit.register(self.stop)
        self._catch_sigterm()
        return self.id

    def log(self, message: str, level: str = "info", *, kind: str = "log",
            **data: Any) -> None:
        """One line of the worker's own log (POST /workers/{id}/events), about the worker
        rather than a run: `w.log("GPU 3 lost", "error", gpu=3)`. Sent at once (a worker's
        lines are few); the worker page tails them live."""
        if self.id is None:
            self.register()
        event: Dict[str, Any] = {"message": message, "level": level, "kind": kind}
        if data:
            event["data"] = data
        self.client.post(f"/workers/{self.id}/events", {"events": [event]})

    def _catch_sigterm(self) -> None:
        """SIGTERM (a service manager stopping the worker) unwinds the main thread like
        Ctrl-C, so the runs it holds are interrupted and the stop is reported; only when
        nobody else handles SIGTERM, and only from the main thread (Python's rule)."""
        if not self.handle_sigterm or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_term(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt("SIGTERM")

        signal.signal(signal.SIGTERM, on_term)

    def claim(self) -> Optional[Run]:
        """One claim on each queue in turn: the first run claimed (a new attempt holding a
        lease), or None when every queue is empty."""
        if self.stopped.is_set():
            return None
        if self.id is None:
            self.register()
        body: Dict[str, Any] = {"worker_id": self.id, "lease_s": self.lease_s}
        if self.kinds:
            body["kinds"] = self.kinds
        if self.client.project:
            body["project"] = self.client.project
        for q in self.queues:
            # Not idempotent: a claim whose answer was lost is not sent again (the run it
            # took comes back when its lease lapses).
            status, data = self.client.request("POST", f"/queues/{q}/claim", body,
                                               idempotent=False)
            if status == 200 and isinstance(data, dict):
                la = data.get("latest_attempt") or {}
                opts = dict(self.run_options)
                opts.setdefault("heartbeat_s", self.heartbeat_s)
                run = Run(self.client, data, attempt=int(la["seq"]), worker=self, **opts)
                with self._lock:
                    self._runs.add(run)
                return run
        return None

    def wait(self, timeout: Optional[float] = None) -> Optional[Run]:
        """Claims, polling every poll_s, until a run comes, the worker stops, or timeout."""
        waited = 0.0
        while not self.stopped.is_set():
            run = self.claim()
            if run is not None:
                return run
            if timeout is not None and waited >= timeout:
                return None
            if self.stopped.wait(self.poll_s):
                break
            waited += self.poll_s
        return None

    def __iter__(self) -> Iterator[Run]:
        """Claimed runs, one after another, until stop()."""
        while True:
            run = self.wait()
            if run is None:
                return
            yield run

    def _done(self, run: Run) -> None:
        with self._lock:
            self._runs.discard(run)

    def stop(self) -> None:
        """Abandons the runs still held (flushed; interrupted, claimed again later) and
        reports the worker stopped. Stopping again does nothing."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        # A beat still in flight would land after the stop and mark the worker busy again.
        if self._beater is not None and self._beater is not threading.current_thread():
            self._beater.join(self.client.timeout + self.heartbeat_s)
        with self._lock:
            held = list(self._runs)
        for run in held:
            run.abandon()
        if self.id is not None:
            try:
                self.client.post(f"/workers/{self.id}/stop", max_retry_s=30.0)
            except (APIError, TransportError) as e:
                log_.warning("runwatch: worker %s: stop not reported: %s", self.name, e)
        if self._owns_client:
            self.client.drop_connection()

    def __enter__(self) -> "Worker":
        if self.id is None:
            self.register()
        return self

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[types.TracebackType]) -> None:
        self.stop()

    def _beat_loop(self) -> None:
        try:
            self._beat_until_stopped()
        finally:
            self.client.drop_connection()

    def _beat_until_stopped(self) -> None:
        while not self.stopped.wait(self.heartbeat_s):
            with self._lock:
                busy = bool(self._runs)
            try:
                self.client.post(f"/workers/{self.id}/heartbeat",
                                 {"status": "busy" if busy else "idle"},
                                 max_retry_s=self.heartbeat_s, cancel=self.stopped)
            except APIError as e:
                log_.warning("runwatch: worker %s: heartbeat refused: %s", self.name, e)
                if e.status in (404, 409):
                    return
            except TransportError as e:
                log_.info("runwatch: worker %s: heartbeat not sent: %s", self.name, e)
