"""Structured logs: one JSON object per line on stderr.

Only fields we put there are logged: never request bodies, headers or keys. ``extra={...}`` fields of a log call
are included. Exceptions are logged with their traceback (server-side only).
"""
from __future__ import annotations

import json
import logging
import sys
import time

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(out, default=str).decode()
        except (TypeError, orjson.JSONEncodeError):
            # orjson refuses lone surrogates, non-string keys and deep nesting in an `extra` value; the stdlib
            # escapes them, so the line stays one JSON object instead of logging's "--- Logging error ---" dump.
            return json.dumps(out, default=str, skipkeys=True)


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JSONFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Python warnings (numpy/shapely overflow on absurd coordinates, deprecations) become JSON log records on the
    # "py.warnings" logger instead of raw multi-line text on stderr. They carry a file, line and warning text only.
    logging.captureWarnings(True)
