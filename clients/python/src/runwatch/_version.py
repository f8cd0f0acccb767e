"""The package's version: the API version it was written against (openapi info.version)."""

__version__ = "0.5.0"
