"""A logging.Handler that sends log records as a run's events (buffered like any event)."""

from __future__ import annotations

import logging
from typing import Any, Dict

from ._run import Run, clip

_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
           logging.ERROR: "error", logging.CRITICAL: "critical"}


def level_name(levelno: int) -> str:
    for n in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= n:
            return _LEVELS[n]
    return "debug"


class Handler(logging.Handler):
    """`logging.getLogger().addHandler(runwatch.Handler(run))`: each record becomes an
    event of kind "log" with the record's level, its formatted message, and data
    {logger, file, line} (and the traceback as `exc` when there is one). The library's
    own logger ("runwatch") is never sent, so a failing send cannot feed itself."""

    def __init__(self, run: Run, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "runwatch" or record.name.startswith("runwatch.") or self.run.finished:
            return
        try:
            msg = record.getMessage()
            data: Dict[str, Any] = {"logger": record.name, "file": record.pathname,
                                    "line": record.lineno}
            if record.exc_info:
                data["exc"] = self.formatter.formatException(record.exc_info) if self.formatter \
                    else logging.Formatter().formatException(record.exc_info)
            self.run.event(clip(msg), level=level_name(record.levelno), **data)
        except Exception:
            self.handleError(record)
