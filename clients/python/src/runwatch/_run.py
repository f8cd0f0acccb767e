"""A run being reported: the training loop's side (log, event, progress) and the two
background threads that do the talking (the sender, the heartbeat).

`log` and `event` only append to a bounded deque, so the loop pays microseconds, never a
round trip. The sender drains it in batches (by size, or every flush_s), each batch sent
with its own Idempotency-Key and retried with that same key and body until acknowledged,
so a retry after a lost answer is stored once. A full buffer drops its oldest items and
counts them (`run.dropped`). A batch the API refuses (4xx) is raised in the caller's
thread at the next `log`, `event` or `finish`: a rejected write is never silent.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import json
import logging
import math
import re
import sys
import threading
import time
import traceback
import types
import uuid
from typing import (Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Set,
                    Tuple, Type, Union)

from ._client import APIError, Cancelled, Client, RunwatchError, TransportError

log_ = logging.getLogger("runwatch")

LEVELS = frozenset(("debug", "info", "warning", "error", "critical"))
FINAL = frozenset(("succeeded", "failed", "cancelled"))
_KEY = re.compile(r"[A-Za-z0-9_./:-]{1,200}\Z")
# The API's batch limits (openapi: events up to 1000, metric points up to 10000 a request).
MAX_EVENTS_PER_BATCH = 1000
MAX_POINTS_PER_BATCH = 10000
BODY_BUDGET = 512 * 1024
MAX_MESSAGE_BYTES = 65536


ARTIFACT_KINDS = frozenset({"checkpoint", "model", "dataset", "file", "table"})


def clip(text: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """text cut to at most limit bytes of UTF-8, on a character boundary."""
    if len(text) <= limit // 4:
        return text
    b = text.encode()
    return text if len(b) <= limit else b[:limit].decode("utf-8", "ignore")


# A buffered item: (kind, unix time, step, payload). kind 0: a metrics dict of one log
# call; kind 1: an event (its JSON object without ts).
Item = Tuple[int, float, Optional[int], Dict[str, Any]]


# (second, its text): one reference, swapped whole, so senders of several runs share it.
_ts_second: Tuple[int, str] = (-1, "")


def _ts(t: float) -> str:
    global _ts_second
    s = int(t)
    sec = _ts_second
    if sec[0] != s:
        sec = _ts_second = (s, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)))
    return sec[1] + ".%06dZ" % int((t - s) * 1e6)


def error_of(exc: BaseException, tb: Optional[types.TracebackType] = None) -> Dict[str, str]:
    """The API's error object for an exception: its type, message and traceback."""
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__)),
    }


class Run:
    """One run: `log`, `event`, `progress`, then `finish` (or use it as a context manager).

    Attributes: id, attempt (the claimed attempt's seq, or None), data (the run as the API
    answered it at start), cancel_requested (set by the heartbeat thread when someone asked
    to cancel), superseded (the lease was lost: another attempt runs), status (the final
    status once finished), and the counters sent_metrics, sent_events, dropped (buffer
    full, oldest first), lost (given up at finish), retries.
    """

    def __init__(
        self,
        client: Client,
        data: Dict[str, Any],
        *,
        attempt: Optional[int] = None,
        raise_on_cancel: bool = False,
        heartbeat_s: float = 10.0,
        flush_s: float = 1.0,
        batch_size: int = 5000,
        max_buffer: int = 100_000,
        flush_timeout_s: float = 60.0,
        on_cancel: Optional[Callable[["Run"], None]] = None,
        worker: Any = None,
    ) -> None:
        if batch_size < 1 or max_buffer < 1 or flush_s <= 0 or heartbeat_s <= 0:
            raise ValueError("batch_size, max_buffer, flush_s and heartbeat_s must be positive")
        self.client = client
        self.data = data
        self.id: str = str(data["id"])
        self.attempt = attempt
        self.raise_on_cancel = raise_on_cancel
        self.cancel_requested = bool(data.get("cancel_requested", False))
        self.superseded = False
        self.status: Optional[str] = None
        self.sent_metrics = 0
        self.sent_events = 0
        self.dropped = 0
        self.lost = 0
        self.retries = 0
        self._worker = worker
        self._owns_client = False  # start() made the client: finish closes its connection
        self._on_cancel = on_cancel
        self._flush_s = flush_s
        # The sender wakes when batch_size calls wait, and sends at most the API's limit
        # a request.
        self._wake_at = batch_size
        self._batch = min(batch_size, MAX_POINTS_PER_BATCH)
        self._max = max_buffer
        self._flush_timeout = flush_timeout_s
        self._heartbeat_s = heartbeat_s
        self._q: Deque[Item] = collections.deque()
        self._keys: Set[str] = set()
        # One attribute test on log's fast path: true once something needs looking at
        # (a cancel to raise, a rejected batch to raise, the run finished).
        self._check = self.cancel_requested
        self._cancel_raised = False
        self._error: Optional[RunwatchError] = None
        self._progress: Optional[float] = None
        self._key_prefix = f"py-{uuid.uuid4().hex}"
        self._seq = 0
        self._finished = False
        self._finish_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_sender = threading.Event()
        self._stop_beats = threading.Event()
        self._abort = threading.Event()
        self._cv = threading.Condition()
        self._flush_req = 0
        self._flush_done = 0
        self._sender = threading.Thread(target=self._send_loop, name=f"runwatch-send-{self.id[:8]}",
                                        daemon=True)
        self._beater = threading.Thread(target=self._beat_loop, name=f"runwatch-beat-{self.id[:8]}",
                                        daemon=True)
        self._sender.start()
        self._beater.start()
        _open_runs.add(self)

    @property
    def finished(self) -> bool:
        """True once finish() or abandon() began: log and event raise from then on."""
        return self._finished

    def __repr__(self) -> str:
        return f"<runwatch.Run {self.id} {self.status or 'open'}>"

    # ---- the training loop's side

    def log(self, metrics: Optional[Mapping[str, Any]] = None, /, *, step: Optional[int] = None,
            **kw: Any) -> None:
        """Records metric points: `run.log(step=3, loss=0.4)` or
        `run.log({"train/loss": 0.4}, step=3)` (keys with `/` do not fit a keyword).
        Values must be finite numbers; keys names of A-Z a-z 0-9 _ . / : - (1-200)."""
        if self._check:
            self._slow_check()
        if metrics:
            m = dict(metrics)
            if kw:
                m.update(kw)
        else:
            m = kw
        keys = self._keys
        for k in m:
            if k not in keys:
                self._new_key(k)
            v = m[k]
            if v.__class__ is not float or v - v != 0.0:
                m[k] = _value(k, v)
        if step is not None and (step.__class__ is not int or step < 0):
            raise ValueError(f"step must be a non-negative int, got {step!r}")
        q = self._q
        if len(q) >= self._max:
            self._drop_oldest()
        q.append((0, time.time(), step, m))
        if len(q) >= self._wake_at:
            self._wake.set()

    def event(self, message: str, level: str = "info", *, kind: str = "log",
              **data: Any) -> None:
        """Records an event (a log line): level debug|info|warning|error|critical, any
        JSON-serialisable data as keyword arguments."""
        if self._check:
            self._slow_check()
        if level not in LEVELS:
            raise ValueError(f"level must be one of {sorted(LEVELS)}, got {level!r}")
        message = str(message)
        # At most 4 bytes a character: only a long message needs encoding to count.
        if len(message) > MAX_MESSAGE_BYTES // 4 and len(message.encode()) > MAX_MESSAGE_BYTES:
            raise ValueError(f"an event's message holds at most {MAX_MESSAGE_BYTES} bytes "
                             "of UTF-8 (runwatch.clip cuts one to fit)")
        ev: Dict[str, Any] = {"kind": kind, "level": level, "message": message}
        if data:
            ev["data"] = data
        q = self._q
        if len(q) >= self._max:
            self._drop_oldest()
        q.append((1, time.time(), None, ev))
        if len(q) >= self._wake_at:
            self._wake.set()

    def progress(self, x: float) -> None:
        """The run's progress, 0 to 1: sent with the next heartbeat."""
        x = float(x)
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"progress must be between 0 and 1, got {x}")
        self._progress = x

    def artifact(self, name: str, *, kind: str = "file", uri: Optional[str] = None,
                 path: Optional[str] = None, data: Optional[bytes] = None,
                 sha256: Optional[str] = None, size: Optional[int] = None,
                 step: Optional[int] = None,
                 metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Registers an artifact of the run (kind checkpoint|model|dataset|file|table) and
        answers it as stored. Either `uri` (where a big artifact lives; size and sha256 are
        optional) or a small file Runwatch stores, as `path` or `data`: its sha256 is computed
        here (or the one given is sent) and checked by the server, which stores nothing on a
        mismatch (APIError 400, field sha256) and refuses files past its
        RUNWATCH_ARTIFACT_MAX_BYTES (APIError 413). Sent at once, not buffered; registering
        the same artifact again is harmless, another one under a taken name is APIError 409."""
        if kind not in ARTIFACT_KINDS:
            raise ValueError(f"kind must be one of {sorted(ARTIFACT_KINDS)}, got {kind!r}")
        if sum(x is not None for x in (uri, path, data)) != 1:
            raise ValueError("give exactly one of uri, path or data")
        if uri is not None:
            item: Dict[str, Any] = {"name": name, "kind": kind, "uri": uri}
            for k, v in (("size", size), ("sha256", sha256), ("step", step)):
                if v is not None:
                    item[k] = v
            if metadata is not None:
                item["metadata"] = dict(metadata)
            _, r = self.client.request("POST", f"/runs/{self.id}/artifacts", item)
            return dict(r["items"][0])
        if path is not None:
            with open(path, "rb") as f:
                data = f.read()
        assert data is not None
        query: Dict[str, Any] = {"name": name, "kind": kind,
                                 "sha256": sha256 or hashlib.sha256(data).hexdigest()}
        if step is not None:
            query["step"] = step
        if metadata is not None:
            query["metadata"] = json.dumps(dict(metadata), separators=(",", ":"))
        _, r = self.client.request("POST", f"/runs/{self.id}/artifacts/upload", query=query,
                                   raw_body=bytes(data),
                                   headers={"Content-Type": "application/octet-stream"})
        return dict(r)

    def table(self, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              mode: str = "replace") -> int:
        """Posts a table the run emits (a leaderboard): its columns in the engine's order and
        rows of one value per column (numbers, strings, booleans, None). mode "replace" sets
        the table, "append" adds rows to it (the same columns). Answers the table's row
        count. Sent at once; an append is not retried once sent (a lost answer would add the
        rows twice)."""
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be replace or append, got {mode!r}")
        cols = [str(c) for c in columns]
        lines: List[List[Any]] = [list(r) for r in rows]
        for i, r in enumerate(lines):
            if len(r) != len(cols):
                raise ValueError(f"rows[{i}] has {len(r)} values for {len(cols)} columns")
        body = {"columns": cols, "rows": lines, "mode": mode}
        _, a = self.client.request("POST", f"/runs/{self.id}/tables/{name}", body,
                                   idempotent=mode == "replace")
        return int(a["row_count"])

    def on_cancel(self, fn: Callable[["Run"], None]) -> None:
        """fn(run) is called from the heartbeat thread when a cancel is requested."""
        self._on_cancel = fn
        if self.cancel_requested:
            fn(self)

    def _new_key(self, k: str) -> None:
        if not isinstance(k, str) or not _KEY.match(k):
            raise ValueError(f"metric key {k!r}: 1-200 characters of A-Z a-z 0-9 _ . / : -")
        self._keys.add(k)

    def _drop_oldest(self) -> None:
        try:
            self._q.popleft()
        except IndexError:  # the sender took it meanwhile
            return
        self.dropped += 1

    def _slow_check(self) -> None:
        if self._error is not None:
            e, self._error = self._error, None
            self._check = self.cancel_requested and not self._cancel_raised
            raise e
        if self._finished:
            raise RunwatchError(f"run {self.id} is finished ({self.status})")
        if self.cancel_requested and self.raise_on_cancel and not self._cancel_raised:
            self._cancel_raised = True
            self._check = False
            raise Cancelled(f"run {self.id}: cancel requested")
        if self.cancel_requested and (self._cancel_raised or not self.raise_on_cancel):
            self._check = False

    # ---- flushing and finishing

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends everything logged so far; True when it was all acknowledged in time."""
        with self._cv:
            self._flush_req += 1
            want = self._flush_req
            self._wake.set()
            return self._cv.wait_for(lambda: self._flush_done >= want or not self._sender.is_alive(),
                                     timeout)

    def finish(self, status: str = "succeeded", *, error: Optional[Mapping[str, str]] = None,
               result: Any = None, summary: Optional[Mapping[str, Any]] = None,
               retry: bool = False) -> None:
        """Flushes, stops the heartbeats and reports the final status (succeeded, failed or
        cancelled) with an optional error {type, message, traceback}, result and summary.
        A claimed run ends its attempt (retry=True sends a failed run back to retrying).
        Finishing again does nothing."""
        if status not in FINAL:
            raise ValueError(f"status must be one of {sorted(FINAL)}, got {status!r}")
        if not self._close():
            return
        body: Dict[str, Any] = {"status": status}
        if error:
            body["error"] = dict(error)
        try:
            if self.attempt is not None:
                if retry:
                    body["retry"] = True
                self.client.patch(f"/runs/{self.id}/attempts/{self.attempt}", body)
                extra = {k: v for k, v in (("result", result), ("summary", summary)) if v is not None}
                if extra:
                    self.client.patch(f"/runs/{self.id}", extra)
            else:
                if result is not None:
                    body["result"] = result
                if summary is not None:
                    body["summary"] = dict(summary)
                self.client.patch(f"/runs/{self.id}", body)
            self.status = status
        finally:
            _open_runs.discard(self)
            if self._worker is not None:
                self._worker._done(self)
            if self._owns_client:
                self.client.drop_connection()
        if self._error is not None:
            e, self._error = self._error, None
            raise e

    def abandon(self) -> None:
        """Flushes and stops the heartbeats without reporting a status: a claimed run's
        lease then lapses and it is claimed again (the worker's stop marks it interrupted)."""
        if self._close():
            _open_runs.discard(self)
            if self._worker is not None:
                self._worker._done(self)

    def _close(self) -> bool:
        with self._finish_lock:
            if self._finished:
                return False
            self._finished = True
        self._stop_beats.set()
        if not self.flush(self._flush_timeout):
            self._abort.set()  # a request retrying forever gives up now
        self._stop_sender.set()
        self._wake.set()
        self._sender.join(self._flush_timeout)
        self._beater.join(self._heartbeat_s + self.client.timeout)
        self._check = True
        return True

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[types.TracebackType]) -> bool:
        if et is None or ev is None:
            self.finish("succeeded")
            return False
        try:
            if self._worker is not None and isinstance(ev, (KeyboardInterrupt, SystemExit)):
                self.abandon()  # the worker is shutting down: interrupted, claimed again later
            elif isinstance(ev, (Cancelled, KeyboardInterrupt)):
                self.finish("cancelled")
            elif isinstance(ev, SystemExit) and ev.code in (None, 0):
                self.finish("succeeded")
            else:
                self.finish("failed", error=error_of(ev, tb))
        except RunwatchError as e:  # the exception in flight matters more
            log_.error("runwatch: could not end run %s: %s", self.id, e)
        return isinstance(ev, Cancelled)

    # ---- the sender thread

    def _send_loop(self) -> None:
        try:
            self._send_until_stopped()
        finally:
            self.client.drop_connection()  # this thread's

    def _send_until_stopped(self) -> None:
        while True:
            self._wake.wait(self._flush_s)
            self._wake.clear()
            with self._cv:
                want = self._flush_req
            stopping = self._stop_sender.is_set()
            try:
                self._drain()
            except Exception as e:  # a bug here must not end the thread and hang flush()
                log_.exception("runwatch: run %s: the sender failed", self.id)
                self._error = RunwatchError(f"the sender failed: {e!r}")
                self._check = True
            with self._cv:
                self._flush_done = want
                self._cv.notify_all()
            if stopping:
                return

    def _drain(self) -> None:
        q = self._q
        while q:
            points: List[str] = []
            events: List[str] = []
            pbytes = ebytes = 0
            # Each request stays within the API's limits: points and events a batch, and
            # a body under RUNWATCH_MAX_BODY (1 MiB): taking items stops once either body
            # passes BODY_BUDGET, and one more item adds at most ~400 KB (an event of
            # 65,536 characters, each escaped to 6 bytes at worst).
            while (q and len(points) < self._batch and len(events) < MAX_EVENTS_PER_BATCH
                   and pbytes < BODY_BUDGET and ebytes < BODY_BUDGET):
                kind, t, step, payload = q.popleft()
                if kind == 0:
                    stamp = _ts(t)
                    rest = (',"ts":"%s"}' % stamp if step is None
                            else ',"step":%d,"ts":"%s"}' % (step, stamp))
                    for k, v in payload.items():
                        pt = '{"key":"%s","value":%r%s' % (k, v, rest)
                        points.append(pt)
                        pbytes += len(pt) + 1
                else:
                    ev = dict(payload)
                    ev["ts"] = _ts(t)
                    # ASCII only (json's default), so characters are bytes.
                    text = json.dumps(ev, separators=(",", ":"), default=str)
                    events.append(text)
                    ebytes += len(text) + 1
            if points:
                body = ('{"metrics":[' + ",".join(points) + "]}").encode()
                if self._post("metrics", body, len(points)):
                    self.sent_metrics += len(points)
            if events:
                body = ('{"events":[' + ",".join(events) + "]}").encode()
                if self._post("events", body, len(events)):
                    self.sent_events += len(events)

    def _post(self, what: str, body: bytes, n: int) -> bool:
        self._seq += 1
        key = f"{self._key_prefix}-{what[0]}{self._seq}"
        while True:
            try:
                self.client.request("POST", f"/runs/{self.id}/{what}", raw_body=body,
                                    headers={"Idempotency-Key": key},
                                    max_retry_s=math.inf, cancel=self._abort,
                                    on_retry=self._retried)
                return True
            except APIError as e:
                # The first request with this key is still in flight or rolled back: the
                # API asks for the same request again.
                if e.status == 409 and e.field == "Idempotency-Key":
                    self._retried("409")
                    if self._abort.wait(0.2):
                        break
                    continue
                log_.error("runwatch: run %s refused %d %s: %s", self.id, n, what, e)
                self._error = e
                self._check = True
                self.lost += n
                return False
            except TransportError as e:
                log_.warning("runwatch: run %s: %d %s not sent: %s", self.id, n, what, e)
                break
        self.lost += n
        return False

    def _retried(self, why: str) -> None:
        self.retries += 1
        log_.debug("runwatch: run %s: retrying (%s)", self.id, why)

    # ---- the heartbeat thread

    def _beat_loop(self) -> None:
        try:
            self._beat_until_stopped()
        finally:
            self.client.drop_connection()  # this thread's

    def _beat_until_stopped(self) -> None:
        path = f"/runs/{self.id}/heartbeat"
        while not self._stop_beats.wait(self._heartbeat_s):
            body: Dict[str, Any] = {}
            if self._progress is not None:
                body["progress"] = self._progress
            if self.attempt is not None:
                body["attempt"] = self.attempt
            try:
                ans = self.client.post(path, body, max_retry_s=max(self._heartbeat_s, 30.0),
                                       cancel=self._stop_beats)
            except APIError as e:
                if e.code == "attempt_superseded":
                    log_.warning("runwatch: run %s: %s", self.id, e.message)
                    self.superseded = True
                    self._cancelled()
                    return
                log_.warning("runwatch: run %s: heartbeat refused: %s", self.id, e)
                if e.status == 404:
                    return
                continue
            except TransportError as e:
                log_.info("runwatch: run %s: heartbeat not sent: %s", self.id, e)
                continue
            if isinstance(ans, dict) and ans.get("cancel_requested"):
                self._cancelled()

    def _cancelled(self) -> None:
        if self.cancel_requested:
            return
        self.cancel_requested = True
        self._check = True
        if self._on_cancel is not None:
            try:
                self._on_cancel(self)
            except Exception:  # a callback's failure must not stop the heartbeats
                log_.exception("runwatch: on_cancel callback failed")

    def stats(self) -> Dict[str, int]:
        """The counters: sent_metrics, sent_events, dropped, lost, retries, buffered."""
        return {"sent_metrics": self.sent_metrics, "sent_events": self.sent_events,
                "dropped": self.dropped, "lost": self.lost, "retries": self.retries,
                "buffered": len(self._q)}


def _value(k: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
        raise TypeError(f"metric {k!r}: a number is needed, got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"metric {k!r}: {f} is not finite")
    return f


# ---- starting a run, and what happens at exit

_open_runs: "Set[Run]" = set()
_uncaught: List[BaseException] = []
_hooked = False


def _excepthook(et: Type[BaseException], ev: BaseException, tb: Optional[types.TracebackType]) -> None:
    _uncaught.append(ev)
    _prev_hook(et, ev, tb)


_prev_hook = sys.excepthook


def _install_hooks() -> None:
    global _hooked, _prev_hook
    if _hooked:
        return
    _hooked = True
    _prev_hook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_at_exit)


def _at_exit() -> None:
    """Runs left open end here: failed with the exception that ended the program,
    cancelled after Ctrl-C, succeeded otherwise. Each is flushed first."""
    for run in list(_open_runs):
        ev = _uncaught[-1] if _uncaught else None
        try:
            if run._worker is not None and isinstance(ev, (KeyboardInterrupt, SystemExit)):
                run.abandon()
            elif ev is None:
                run.finish("succeeded")
            elif isinstance(ev, KeyboardInterrupt):
                run.finish("cancelled")
            else:
                run.finish("failed", error=error_of(ev))
        except Exception as e:
            print(f"runwatch: could not end run {run.id} at exit: {e}", file=sys.stderr)


def start(
    kind: str = "python",
    name: Optional[str] = None,
    params: Optional[Mapping[str, Any]] = None,
    tags: Optional[List[str]] = None,
    parent: Union["Run", str, None] = None,
    *,
    queue: Optional[str] = None,
    input: Any = None,
    group: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    url: Optional[str] = None,
    token: Optional[str] = None,
    project: Optional[str] = None,
    client: Optional[Client] = None,
    raise_on_cancel: bool = False,
    heartbeat_s: float = 10.0,
    flush_s: float = 1.0,
    batch_size: int = 5000,
    max_buffer: int = 100_000,
    flush_timeout_s: float = 60.0,
) -> Run:
    """Creates a running run and returns it (also a context manager).

    url, token, project default to RUNWATCH_URL, RUNWATCH_TOKEN, RUNWATCH_PROJECT. The
    create carries an Idempotency-Key (yours, or a fresh one), so its retries never make a
    second run. raise_on_cancel: raise runwatch.Cancelled at the next `log` once a cancel
    is requested (otherwise watch `run.cancel_requested`).
    """
    c = client or Client(url, token, project)
    body: Dict[str, Any] = {"kind": kind, "status": "running"}
    if c.project:
        body["project"] = c.project
    if name is not None:
        body["name"] = name
    if params is not None:
        body["params"] = dict(params)
    if tags is not None:
        body["tags"] = list(tags)
    if parent is not None:
        body["parent_id"] = parent.id if isinstance(parent, Run) else parent
    if queue is not None:
        body["queue"] = queue
    if input is not None:
        body["input"] = input
    if group is not None:
        body["group_id"] = group
    key = idempotency_key or f"py-{uuid.uuid4().hex}"
    _, data = c.request("POST", "/runs", body, headers={"Idempotency-Key": key})
    _install_hooks()
    run = Run(c, data, raise_on_cancel=raise_on_cancel, heartbeat_s=heartbeat_s, flush_s=flush_s,
               batch_size=batch_size, max_buffer=max_buffer, flush_timeout_s=flush_timeout_s)
    run._owns_client = client is None
    return run

