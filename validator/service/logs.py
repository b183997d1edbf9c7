"""Structured logs: one JSON object per line, for every line the service writes.

* The application's records (``logging``) go through :class:`JSONFormatter` on stderr.
* gunicorn's own error log (start-up, workers, signals) and access log go through :class:`GunicornLogger`
  (``logger_class`` in gunicorn.conf.py): the same formatter, and an access record built as a dict and encoded
  by orjson, never a printf format, so no request path or header can break a line.

Only fields we put there are logged: never request bodies, header lines, header values or keys. gunicorn's
"Invalid request" warnings quote the offending request line or header line (which may hold a key); they are
reduced to the kind of error. Every record written while a request is served carries its ``request_id``.
Strings that come from a request (task id, project, path) are truncated.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("validator_request_id", default=None)
_CLIPPED = frozenset({"task_id", "project", "path", "label"})  # request-supplied strings, whoever logs them
MAX_FIELD = 128  # characters kept of a request-supplied string (task id, project, path)


def clip(value, limit: int = MAX_FIELD):
    """A request-supplied string, cut to ``limit`` characters (marked with an ellipsis); other values as they are."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


class JSONFormatter(logging.Formatter):
    _second: tuple[int, str] = (-1, "")

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second  # (second, its text): one attribute, so threads never pair a text with another second
        if cached[0] != second:  # the date and time to the second, formatted once a second
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if "\x1b" in msg:  # a colour code (werkzeug's or a terminal library's) has no place in a JSON line
            msg = _ANSI.sub("", msg)
        out = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": msg,
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = clip(value) if key in _CLIPPED else value
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


# -- gunicorn -----------------------------------------------------------------------------------------------------

# gunicorn: "Invalid request from ip=1.2.3.4: Invalid header: 'scale-callback-auth k-...'" (the header line).
_INVALID_REQUEST = re.compile(r"^Invalid request from ip=(?P<ip>.*?): (?P<detail>.*)$", re.S)
_REQUEST_ERROR = re.compile(r"^(?P<what>Error handling request)\b.*$", re.S)


def _redact(msg: str) -> tuple[str, dict]:
    """gunicorn messages that quote request content, reduced to what they are about."""
    m = _INVALID_REQUEST.match(msg)
    if m:
        detail = m.group("detail")
        kind = detail.split(":", 1)[0].split("'", 1)[0].strip()[:40] or "malformed request"
        return "invalid request", {"remote": m.group("ip")[:64], "error": kind}
    m = _REQUEST_ERROR.match(msg)
    if m:  # "Error handling request GET /path?query": the query may hold anything
        return m.group("what"), {}
    return msg, {}


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed format call: keep the template only
            msg = str(record.msg)
        new, extra = _redact(msg)
        if new is not msg or extra:
            record.msg, record.args = new, None
            for key, value in extra.items():
                setattr(record, key, value)
        return True


def _gunicorn_logger_base():
    from gunicorn.glogging import Logger

    return Logger


class GunicornLogger(_gunicorn_logger_base()):
    """gunicorn's logger with JSON lines: error log records through JSONFormatter (with gunicorn's request-quoting
    warnings redacted), access records as dicts."""

    def setup(self, cfg):
        super().setup(cfg)
        formatter = JSONFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
        if not any(isinstance(f, _RedactingFilter) for f in self.error_log.filters):
            self.error_log.addFilter(_RedactingFilter())

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.logconfig_json
                or self.cfg.syslog):
            return
        try:
            status = int(str(getattr(resp, "status", "") or "0").split(None, 1)[0])
        except ValueError:
            status = 0
        record = {
            "logger": "access",
            "remote": clip(environ.get("REMOTE_ADDR") or "", 64),
            "method": clip(getattr(req, "method", None) or environ.get("REQUEST_METHOD") or "", 16),
            "path": clip(getattr(req, "path", None) or environ.get("PATH_INFO") or ""),
            "status": status,
            "bytes": getattr(resp, "sent", None) or 0,
            "duration_us": request_time.seconds * 1_000_000 + request_time.microseconds,
        }
        request_id = environ.get("validator.request_id")
        if request_id:
            record["request_id"] = request_id
        try:
            self.access_log.info("access", extra=record)
        except Exception:  # never let logging break a request
            self.error("failed to write an access log line")
