"""Runwatch for Python: report runs from training scripts, jobs and queue workers.

    import runwatch
    with runwatch.start(kind="train", name="resnet50", params={"lr": 0.1}) as run:
        run.log(step=1, loss=0.4)

Configuration: arguments, or RUNWATCH_URL, RUNWATCH_TOKEN, RUNWATCH_PROJECT.
"""

from ._client import (APIError, Cancelled, Client, ConfigError, RunwatchError,
                      TransportError)
from ._logging import Handler
from ._run import Run, clip, error_of, start
from ._version import __version__
from ._worker import Worker

__all__ = [
    "APIError",
    "Cancelled",
    "Client",
    "ConfigError",
    "Handler",
    "Run",
    "RunwatchError",
    "TransportError",
    "Worker",
    "__version__",
    "clip",
    "error_of",
    "start",
]
