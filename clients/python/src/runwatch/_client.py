"""HTTP to the Runwatch API: configuration, one kept-alive connection per thread, retries.

Everything the library and the command line send goes through Client.request. It retries
what is safe to retry (429 and 503 answers honouring Retry-After, a connection that
failed) with jittered exponential backoff; callers mark requests that are not idempotent
so a lost answer is never retried into a second effect. Any other 4xx raises APIError
carrying the API's error code and field, never a silent drop.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ._version import __version__

JSON = Any


class RunwatchError(Exception):
    """Base of every error this package raises."""


class ConfigError(RunwatchError):
    """The URL or token is missing or malformed."""


class APIError(RunwatchError):
    """The API refused a request (4xx, or a 5xx it would not retry).

    status: the HTTP status; code: the API's error code (`invalid_value`, `not_found`, …);
    field: the request field at fault, when the API names one; details: its details
    object (an illegal transition's `from` and `to`).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details or {}
        self.method = method
        self.path = path
        where = f" (field {field})" if field else ""
        super().__init__(f"{method} {path}: {status} {code}{where}: {message}".strip())


class TransportError(RunwatchError):
    """The API could not be reached, or kept answering 429/503, until the retries ran out."""


class Cancelled(RunwatchError):
    """Raised at the next `log` of a run whose cancel was requested (opt-in)."""


RETRY_STATUSES = (429, 502, 503, 504)


def retry_after_s(header: Optional[str]) -> Optional[float]:
    """Seconds a Retry-After header asks for (delta-seconds only: the API sends no dates)."""
    if not header:
        return None
    try:
        v = float(header.strip())
    except ValueError:
        return None
    return v if v >= 0 else None


class Client:
    """A connection to one Runwatch API with one token.

    url, token and project default to RUNWATCH_URL, RUNWATCH_TOKEN and RUNWATCH_PROJECT
    (the project's slug: needed only with a user's credentials; a token has its project).
    Thread-safe: each thread keeps its own HTTP connection.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        project: Optional[str] = None,
        *,
        timeout: float = 60.0,
        max_retry_s: float = 300.0,
    ) -> None:
        url = url or os.environ.get("RUNWATCH_URL") or ""
        token = token or os.environ.get("RUNWATCH_TOKEN") or ""
        self.project = project or os.environ.get("RUNWATCH_PROJECT") or None
        if not url:
            raise ConfigError("no API address: pass url= or set RUNWATCH_URL")
        if not token:
            raise ConfigError("no token: pass token= or set RUNWATCH_TOKEN")
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(f"RUNWATCH_URL must be http(s)://host[:port]: {url!r}")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_retry_s = max_retry_s
        self._scheme = u.scheme
        self._host = u.hostname
        self._port = u.port
        self._base = u.path.rstrip("/")
        self._local = threading.local()
        self._closed = threading.Event()
        self.headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": f"runwatch-python/{__version__}",
            "Accept": "application/json",
        }

    # ---- connections

    def connection(self, timeout: Optional[float] = None) -> http.client.HTTPConnection:
        """A new connection to the API's host (the stream keeps its own)."""
        t = self.timeout if timeout is None else timeout
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=t)
        return http.client.HTTPConnection(self._host, self._port, timeout=t)

    def _conn(self) -> http.client.HTTPConnection:
        c: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if c is None:
            c = self.connection()
            self._local.conn = c
        return c

    def drop_connection(self) -> None:
        """Closes the calling thread's kept connection (a thread that ends calls it)."""
        c: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def path(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        p = self._base + "/api/v1" + path
        if query:
            q = {k: str(v) for k, v in query.items() if v is not None}
            if q:
                p += "?" + urllib.parse.urlencode(q)
        return p

    def close(self) -> None:
        """Interrupts retry waits of every thread; the client is not used afterwards."""
        self._closed.set()
        self.drop_connection()

    # ---- one exchange

    def _once(
        self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str]
    ) -> Tuple[int, Optional[str], bytes]:
        """One request on this thread's connection; reconnects once when a kept
        connection turns out to be closed by the server before it read anything."""
        h = dict(self.headers)
        h.update(headers)
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        for fresh in (False, True):
            c = self._conn()
            reused = getattr(c, "sock", None) is not None
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.drop_connection()
                # A kept connection the server had closed meanwhile: the request never
                # reached it, so sending it again on a new one is no retry at all.
                if reused and not fresh:
                    continue
                raise
            except BaseException:
                self.drop_connection()
                raise
            if r.getheader("Connection", "").lower() == "close":
                self.drop_connection()
            return r.status, r.getheader("Retry-After"), data
        raise AssertionError("unreachable")

    def request(
        self,
        method: str,
        path: str,
        body: JSON = None,
        *,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotent: bool = True,
        retry: bool = True,
        max_retry_s: Optional[float] = None,
        raw_body: Optional[bytes] = None,
        on_retry: Optional[Callable[[str], None]] = None,
        cancel: Optional[threading.Event] = None,
    ) -> Tuple[int, JSON]:
        """Sends one request and answers (status, decoded JSON or None).

        Retries 429/502/503/504 answers and failed connections with jittered exponential
        backoff (0.2 s doubling to 30 s, or the answer's Retry-After), for at most
        max_retry_s (or until `cancel` is set). A request that is not idempotent is retried only when the server
        answered that it did nothing (429, 503) or the connection was refused. 4xx raise
        APIError; giving up raises TransportError.
        """
        full = self.path(path, query)
        payload = raw_body if raw_body is not None else (
            None if body is None else json.dumps(body, separators=(",", ":")).encode()
        )
        limit = self.max_retry_s if max_retry_s is None else max_retry_s
        deadline = time.monotonic() + limit
        delay = 0.2
        tries = 0
        while True:
            tries += 1
            wait: Optional[float] = None
            why = ""
            try:
                status, ra, data = self._once(method, full, payload, headers or {})
            except (OSError, http.client.HTTPException) as e:
                sent = not isinstance(e, (ConnectionRefusedError, socket.gaierror))
                if not retry or (sent and not idempotent):
                    raise TransportError(f"{method} {full}: {e}") from e
                why = f"{type(e).__name__}: {e}"
            else:
                if status < 400:
                    return status, _decode(data)
                retryable = status in (429, 503) or (idempotent and status in RETRY_STATUSES)
                if not retryable or not retry:
                    raise _api_error(status, data, method, full)
                wait = retry_after_s(ra)
                why = f"{status}"
            now = time.monotonic()
            if wait is None:
                wait = delay * (0.5 + random.random() / 2)
                delay = min(delay * 2, 30.0)
            stop = cancel if cancel is not None else self._closed
            if now + wait > deadline or stop.is_set() or self._closed.is_set():
                raise TransportError(f"{method} {full}: gave up after {tries} tries ({why})")
            if on_retry is not None:
                on_retry(why)
            if stop.wait(wait) or self._closed.is_set():
                raise TransportError(f"{method} {full}: stopped while retrying ({why})")

    # ---- conveniences

    def get(self, path: str, **query: Any) -> JSON:
        return self.request("GET", path, query=query)[1]

    def post(self, path: str, body: JSON = None, **kw: Any) -> JSON:
        return self.request("POST", path, body, **kw)[1]

    def patch(self, path: str, body: JSON, **kw: Any) -> JSON:
        return self.request("PATCH", path, body, **kw)[1]


def _decode(data: bytes) -> JSON:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _api_error(status: int, data: bytes, method: str, path: str) -> APIError:
    body = _decode(data)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        details = err.get("details")
        return APIError(
            status,
            str(err.get("code", "error")),
            str(err.get("message", "")),
            err.get("field") if isinstance(err.get("field"), str) else None,
            details if isinstance(details, dict) else None,
            method,
            path,
        )
    text = data[:200].decode("utf-8", "replace")
    return APIError(status, "http_error", text or http.client.responses.get(status, ""),
                    None, None, method, path)
