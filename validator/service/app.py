"""The Flask application: Scale's real-time validation endpoint.

Routes:
* ``POST /validate``: authenticate (``scale-callback-auth``), refuse oversized bodies from ``Content-Length``
  before reading (413), parse (400 on anything that is not a ``{task, response}`` object), run the engine, answer
  ``{"pass", "issues", "globalIssues"}`` (200, ``application/json``).
* ``GET /healthz``: the process is alive. ``GET /readyz``: config and rules loaded and not draining (503 while
  draining, so the load balancer stops sending before shutdown).

Nothing a request contains can produce a 5xx: body problems are 4xx with a JSON error; a bug of ours while
validating is logged server-side and answered 200 according to the failure policy. Tracebacks never leave the
process (they are logged server-side, for the rule's author); headers, keys and bodies never reach the logs.
"""
from __future__ import annotations

import gc
import logging
import os
import re
import time
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wsgi import ClosingIterator

from validator.geometry import compiled
from validator.scale import jsonio
from validator.scale.answer import answer_json, issue_json
from validator.service import logs, metrics
from validator.service.auth import KeySet
from validator.engine.engine import INCOMPLETE, INCOMPLETE_TEXT, Engine
from validator.scale.envelope import BodyError
from validator.service.lifecycle import STATE
from validator.service.settings import Settings

log = logging.getLogger("validator.app")
AUTH_HEADER = "scale-callback-auth"


def _json(payload: Any, status: int = 200) -> Response:
    return Response(jsonio.dumps(payload), status=status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return Response(_error_body(message), status=status, mimetype="application/json")


def _read_capped(stream: Any, cap: int) -> bytes:
    """Read up to ``cap`` bytes from a WSGI input stream (which may return short reads)."""
    chunks: list[bytes] = []
    total = 0
    while total < cap:
        try:
            data = stream.read(min(1 << 16, cap - total))
        except Exception:  # gunicorn's ParseException (invalid chunk size, missing terminator), client gone
            raise BadRequest("the body could not be read: invalid chunked encoding or incomplete body") from None
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


class ValidateEndpoint:
    """``POST /validate`` as a plain WSGI callable: the hot path skips Flask's request and response machinery
    (~0.15 ms a request, measured; a third of the whole budget for a 100-annotation task). The Flask app still
    routes ``/validate`` to :meth:`flask_view`, which runs the same :meth:`handle`, so both answer identically.

    No cyclic garbage collection while a validation request's objects are alive: a 10,000-annotation body is ~1M
    objects, which the collector would traverse again and again as they are created (measured: orjson parse of
    2.2 MB 13 ms without collections, 40+ ms with). The engine leaves no reference cycles behind
    (tests/test_engine_memory.py), so the request's objects are freed by reference counting; that, the resumed
    collection and the request's log line and counters happen once the response has been sent (the WSGI
    iterable's close()), not while Scale waits.
    """

    def __init__(self, settings: Settings, engine: Engine, keys: KeySet):
        self.settings = settings
        self.engine = engine
        self.keys = keys
        self.policy = engine.config.failure_policy
        self.metrics = metrics.current()

    def __call__(self, environ, start_response):
        # The request id (as RequestIds does for every other route; this lane is in front of it).
        rid = request_id_of(environ)
        environ["validator.request_id"] = rid
        logs.REQUEST_ID.set(rid)
        paused = gc.isenabled()
        if paused:
            gc.disable()
        held: list = []
        try:
            status, payload = self.handle(environ, held)
            start_response(_STATUS[status], [("Content-Type", "application/json"),
                                             ("Content-Length", str(len(payload))), ("X-Request-ID", rid)])
        except BaseException:
            held.clear()
            if paused:
                gc.enable()
            logs.REQUEST_ID.set(None)
            raise

        def after_sending() -> None:
            try:
                for item in held:
                    if callable(item):
                        item()  # the request's log line and counters: not needed for the answer
            finally:
                held.clear()  # free the request's objects now that the answer is on its way
                if paused:
                    gc.enable()
                logs.REQUEST_ID.set(None)

        return _Answer(payload, after_sending)

    def flask_view(self) -> Response:
        status, payload = self.handle(request.environ)
        return Response(payload, status=status, mimetype="application/json")

    def handle(self, environ, held: list | None = None) -> tuple[int, bytes]:
        """Answer one validation request: (HTTP status, JSON body). Never raises for any request content.

        ``held`` (optional) receives the validation result, whose decoded inputs the caller frees later, and the
        request's accounting (its log line and counters, a callable), which the caller runs once the answer is
        sent. Without ``held`` the accounting is done before returning."""
        started = time.perf_counter()
        settings = self.settings
        counters = self.metrics
        if not settings.insecure_no_auth and not self.keys.accepts(environ.get(_AUTH_ENVIRON)):
            counters.reject("auth")
            return 401, _error_body(f"missing or invalid {AUTH_HEADER} header")
        raw_length = environ.get("CONTENT_LENGTH") or None
        length = None
        if raw_length is not None:
            try:
                length = int(raw_length)
                if length < 0:
                    raise ValueError
            except ValueError:
                counters.reject("bad_content_length")
                return 400, _error_body("invalid Content-Length header")
        if length is not None and length > settings.max_body_bytes:
            counters.reject("too_large")
            return 413, _error_body(_too_large(settings))
        try:
            if length is not None:
                # gunicorn bounds wsgi.input to Content-Length; a client that stops early must not have its
                # prefix validated as if it were the whole body.
                raw = _read_capped(environ["wsgi.input"], length)
                if len(raw) < length:
                    counters.reject("incomplete_body")
                    return 400, _error_body("the body is shorter than its Content-Length")
            elif environ.get("wsgi.input_terminated"):
                # Chunked: read at most one byte more than the limit to tell "exactly the limit" from "over it"
                # (werkzeug's reader would stop silently at the limit and turn an oversized body into a truncated
                # one: a misleading 400, or worse a valid prefix).
                raw = _read_capped(environ["wsgi.input"], settings.max_body_bytes + 1)
                if len(raw) > settings.max_body_bytes:
                    counters.reject("too_large")
                    return 413, _error_body(_too_large(settings))
            else:
                raw = b""  # neither a length nor a terminated stream: no body
        except BadRequest as exc:
            counters.reject("incomplete_body")
            return 400, _error_body(exc.description)
        try:
            result = self.engine.validate_bytes(raw)
            if held is not None:
                held.append(result)
            answer = result.answer
            payload = jsonio.dumps(answer)  # inside the guard: an answer we cannot serialise is our bug, not a 5xx
        except (jsonio.JSONBodyError, BodyError) as exc:
            counters.reject("bad_body")
            return 400, _error_body(client_message(str(exc)))
        except Exception:  # our bug: never a 5xx to Scale, never a traceback out; the failure policy decides
            log.exception("validation failed unexpectedly")
            counters.internal_errors.inc()
            answer = (answer_json(True, {}, []) if self.policy == "open" else
                      answer_json(False, {}, [issue_json(INCOMPLETE, (), INCOMPLETE_TEXT)]))
            return 200, jsonio.dumps(answer)
        elapsed = (time.perf_counter() - started) * 1000

        def account() -> None:
            counts = result.counts()
            counters.observe_validation(result, elapsed)
            log.info("validation", extra={
                "task_id": logs.clip(result.task_id), "task_type": result.task_type, "pass": answer["pass"],
                "annotations": result.annotation_count, "issues": counts["by_level"], "by_rule": counts["by_rule"],
                "rule_failures": result.rule_failures, "budget_exhausted": result.budget_exhausted,
                "skipped": result.skipped or None, "duration_ms": round(elapsed, 3),
                "engine_ms": round(result.duration_ms, 3)})

        if held is None:
            account()
        else:
            held.append(account)
        return 200, payload


class _Answer:
    """The WSGI iterable of an answer: its one body, and ``close()`` (called by the server once the body is
    sent) runs ``after_sending``. A plain class: werkzeug's ClosingIterator does more than this needs."""

    __slots__ = ("body", "after_sending")

    def __init__(self, body: bytes, after_sending):
        self.body = body
        self.after_sending = after_sending

    def __iter__(self):
        yield self.body

    def close(self) -> None:
        after_sending, self.after_sending = self.after_sending, None
        if after_sending is not None:
            after_sending()


_AUTH_ENVIRON = "HTTP_" + AUTH_HEADER.upper().replace("-", "_")
_STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 413: "413 Content Too Large"}


def _too_large(settings: Settings) -> str:
    return f"body is larger than the limit of {settings.max_body_bytes} bytes"


def _error_body(message: str) -> bytes:
    return jsonio.dumps({"error": message})


_LONG_WORD = re.compile(r"[^\s.:;,'\"\[\]()]{%d,}" % 41)
MESSAGE_LIMIT = 400


def client_message(message: str) -> str:
    """A body error for the client: any one name (a key path segment, a quoted value) cut to 40 characters and the
    whole message to a few hundred, so a body with huge key names cannot make us echo them back."""
    message = _LONG_WORD.sub(lambda m: m.group(0)[:40] + "…", message)
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "… (cut)"
    return message


# X-Request-ID as a proxy or client may send it; anything else is replaced (it is written to every log line).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=@-]{1,128}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def request_id_of(environ) -> str:
    """The request's id: its X-Request-ID, else the trace id of its W3C traceparent, else a new one."""
    given = environ.get("HTTP_X_REQUEST_ID")
    if given and _REQUEST_ID.fullmatch(given):
        return given
    parent = environ.get("HTTP_TRACEPARENT")
    if parent:
        m = _TRACEPARENT.fullmatch(parent.strip().lower())
        if m and m.group(1) != "0" * 32:
            return m.group(1)
    return os.urandom(16).hex()  # 128 random bits, as uuid4 (122), in the same 32-hex-digit form


class RequestIds:
    """WSGI middleware: give every request an id, echo it (``X-Request-ID``), and put it on every log line
    written while the request is served (the access line reads it from the environ)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        rid = request_id_of(environ)
        environ["validator.request_id"] = rid
        logs.REQUEST_ID.set(rid)

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", rid))
            return start_response(status, headers, exc_info)

        try:
            iterable = self.app(environ, start)
        except BaseException:
            logs.REQUEST_ID.set(None)
            raise
        return ClosingIterator(iterable, lambda: logs.REQUEST_ID.set(None))


class _FastLane:
    """WSGI middleware: ``POST /validate`` goes straight to the endpoint (which gives the request its id itself);
    everything else to Flask through :class:`RequestIds`."""

    def __init__(self, flask_wsgi, endpoint: ValidateEndpoint):
        self.flask_wsgi = flask_wsgi
        self.endpoint = endpoint

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/validate" and environ.get("REQUEST_METHOD") == "POST":
            return self.endpoint(environ, start_response)
        return self.flask_wsgi(environ, start_response)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """Build the app. Raises SettingsError / ConfigError (with readable messages) when misconfigured."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    engine = engine or Engine.from_config_file(settings.config_path)
    keys = KeySet(settings.auth_keys)
    if settings.insecure_no_auth:
        log.warning("AUTHENTICATION IS OFF (VALIDATOR_INSECURE_NO_AUTH=1): any caller can use this endpoint. "
                    "Never run like this outside local development.")
    policy = engine.config.failure_policy
    kernels = compiled.status()  # (loaded by the engine, in the preloaded master under gunicorn)
    counters = metrics.configure(engine.config.time_budget_ms, _instances(engine))

    app = Flask("validator")
    endpoint = ValidateEndpoint(settings, engine, keys)
    # Flask knows the route (so GET /validate is a JSON 405, and tools listing routes see it); POSTs are served by
    # the fast lane in front of Flask, with the same handler.
    app.add_url_rule("/validate", "validate", endpoint.flask_view, methods=["POST"])
    app.wsgi_app = _FastLane(RequestIds(app.wsgi_app), endpoint)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["validator.engine"] = engine
    STATE.ready = True
    log.info("validator ready", extra={"config": engine.config.source, "rules": len(engine.registry),
                                       "instances": len(engine.config.instances), "failure_policy": policy,
                                       "auth_keys": len(keys), "max_body_bytes": settings.max_body_bytes,
                                       "compiled_kernels": kernels})

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        if STATE.draining:
            return _json({"status": "draining"}, 503)
        if not STATE.ready:
            return _json({"status": "starting"}, 503)
        return _json({"status": "ready", "rules": len(engine.registry), "instances": len(engine.config.instances)})

    @app.get("/metrics")
    def metrics_view() -> Response:
        return Response(counters.render_bytes(), content_type=metrics.CONTENT_TYPE)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        reason = _HTTP_REASONS.get(exc.code or 0)
        if reason:
            counters.reject(reason)
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # pragma: no cover - defensive: routes catch their own errors
        log.exception("unhandled error")
        return _error(500, "internal error")

    return app


_HTTP_REASONS = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _instances(engine: Engine) -> list[tuple[str, str]]:
    """(name, level) of every configured rule instance, per-project ones included (their series start at zero)."""
    cfg = engine.config
    seen: dict[tuple[str, str], None] = {}
    for inst in [*cfg.instances, *(i for group in cfg.project_instances.values() for i in group)]:
        seen[(inst.name, inst.level)] = None
    return list(seen)
