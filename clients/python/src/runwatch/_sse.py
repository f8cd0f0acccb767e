"""A reader of the live stream (GET /api/v1/stream, Server-Sent Events).

One call of `frames` is one connection: it yields each frame (id, event type, data) as it
arrives and returns when the server ends the stream; a dropped connection raises OSError
or http.client.HTTPException. Resuming is the caller's: pass the last frame's id as
last_event_id and the hub replays what was missed, or sends `reset` (refetch over REST).
"""

from __future__ import annotations

import http.client
from typing import Iterator, List, Mapping, NamedTuple, Optional

from ._client import Client, _api_error, retry_after_s


class Frame(NamedTuple):
    id: Optional[str]
    event: str
    data: str


class Busy(Exception):
    """The stream was refused for now (429/503): retry after `wait` seconds."""

    def __init__(self, status: int, wait: Optional[float]) -> None:
        super().__init__(f"stream refused for now ({status})")
        self.wait = wait


def frames(
    client: Client,
    query: Mapping[str, str],
    last_event_id: Optional[str] = None,
    read_timeout: float = 60.0,
) -> Iterator[Frame]:
    """Yields the frames of one stream connection, the first a Frame(None, "open", "")
    once the stream's answer arrived: open first, fetch over REST after, and nothing falls
    between the two."""
    conn = client.connection(timeout=read_timeout)
    try:
        headers = dict(client.headers)
        headers["Accept"] = "text/event-stream"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        path = client.path("/stream", query)
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        if r.status in (429, 502, 503, 504):
            r.read()
            raise Busy(r.status, retry_after_s(r.getheader("Retry-After")))
        if r.status != 200:
            raise _api_error(r.status, r.read(), "GET", path)
        yield Frame(None, "open", "")
        fid: Optional[str] = None
        event = "message"
        data: List[str] = []
        while True:
            raw = r.readline()
            if not raw:
                return  # the server ended the stream
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line == "":
                if data:
                    yield Frame(fid, event, "\n".join(data))
                elif event != "message":
                    yield Frame(fid, event, "")
                fid, event, data = None, "message", []
                continue
            if line.startswith(":"):
                continue  # a comment: the opening one, keepalives
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "id":
                fid = value
            elif name == "event":
                event = value
            elif name == "data":
                data.append(value)
    finally:
        conn.close()


__all__ = ["Busy", "Frame", "frames"]
