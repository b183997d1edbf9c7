"""Test helpers: real HTTP servers on loopback, and a stand-in for Scale's linting API.

``serve_wsgi(app)`` runs any WSGI app on 127.0.0.1 (free port) in a daemon thread.

``ScaleStandIn`` plays Scale's ``POST /v1/linting/task/<id>/send-lint-callback``:

* checks HTTP Basic auth (API key as user name) -> 401 ``{"status_code": 401, "error": ...}``
* looks the task up among the bodies it was given -> 404
* POSTs ``{task, response}`` to ``callbackURL`` with the ``scale-callback-auth`` header
* checks the answer with :func:`validator.contract.answer_violations` and returns it (200), or
  400 ``{"status_code": 400, "error": "invalid validation response: ..."}``
* ``fail_next(k)`` makes the next ``k`` calls answer 503 (to exercise retries; ``fail_next(1, 429, retry_after=0)``
  for a rate limit with a ``Retry-After`` header).

and Scale's task API, ``GET /v1/tasks`` (what ``validator check --scale-project`` pages through):

* the same Basic auth -> 401
* ``project`` required (400 without it; an unknown project -> 404 ``Project ... not found``), filters ``status``,
  ``type``, ``completed_after`` / ``completed_before`` (ISO times), ``limit`` (1-100, else 400), ``next_token``
* answers ``{docs, total, limit, offset, has_more, next_token}`` over ``project_tasks`` (task objects, each with
  its ``response``), in order; every call is recorded in ``calls`` with its query.

Import it from a test module (pytest puts ``tests/`` on ``sys.path``) and use the fixtures defined there.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests

from validator.scale.answer import answer_violations

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackServer:
    """A WSGI app served on 127.0.0.1 at a free port, in a daemon thread."""

    def __init__(self, app: WSGIApp, port: int = 0):
        self.httpd = make_server("127.0.0.1", port, app, server_class=_ThreadingWSGIServer,
                                 handler_class=_QuietHandler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True, name=f"loopback-{self.port}")
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_wsgi(app: WSGIApp) -> LoopbackServer:
    return LoopbackServer(app)


def free_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def json_response(start_response: Callable, status: int, body: Any, headers: list | None = None) -> list[bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
              429: "Too Many Requests",
              500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Status")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(data)))] + (headers or []))
    return [data]


def read_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length else b""


@dataclass
class ScaleStandIn:
    """Scale's linting API, as far as the self-test needs it."""

    api_key: str = "live_standin_key"
    callback_auth_key: str = "callback-secret"
    tasks: dict[str, dict] = field(default_factory=dict)
    callback_timeout: float = 5.0
    calls: list[dict] = field(default_factory=list)
    project_tasks: list[dict] = field(default_factory=list)
    _fail_next: int = 0
    _retry_after: str | None = None
    _fail_status: int = 503
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: LoopbackServer | None = None

    # -- control -------------------------------------------------------------------------------------------
    def start(self) -> "ScaleStandIn":
        self.server = serve_wsgi(self)
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    @property
    def base_url(self) -> str:
        assert self.server is not None, "start() the stand-in first"
        return f"{self.server.url}/v1"

    def fail_next(self, k: int, status: int = 503, retry_after: float | None = None) -> None:
        with self._lock:
            self._fail_next, self._fail_status = k, status
            self._retry_after = None if retry_after is None else f"{retry_after:g}"

    # -- the API -------------------------------------------------------------------------------------------
    def _authorized(self, environ: dict, call: dict) -> bool:
        """Scale's convention: the API key as the Basic-auth user name, an empty password."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:  # noqa: BLE001
            return False
        call["auth_password"] = password
        return user == self.api_key and password == ""

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        raw = read_body(environ)
        call = {"path": path, "method": method, "status": None}
        with self._lock:
            self.calls.append(call)
            failing = self._fail_next > 0
            if failing:
                self._fail_next -= 1
        if failing:
            call["status"] = self._fail_status
            headers = [("Retry-After", self._retry_after)] if self._retry_after is not None else []
            error = "Too many requests" if self._fail_status == 429 else "Service temporarily unavailable"
            return json_response(start_response, self._fail_status,
                                 {"status_code": self._fail_status, "error": error}, headers)
        if path == "/v1/tasks":
            return self._tasks(environ, start_response, method, call)

        parts = path.strip("/").split("/")
        if len(parts) != 5 or parts[:3] != ["v1", "linting", "task"] or parts[4] != "send-lint-callback":
            call["status"] = 404
            return json_response(start_response, 404, {"status_code": 404, "error": f"No route for {path}"})
        if method != "POST":
            call["status"] = 405
            return json_response(start_response, 405, {"status_code": 405, "error": "Method not allowed"})
        if not self._authorized(environ, call):
            call["status"] = 401
            return json_response(start_response, 401, {
                "status_code": 401,
                "error": "Please provide a valid API key as the basic auth username."})
        task_id = parts[3]
        if task_id not in self.tasks:
            call["status"] = 404
            return json_response(start_response, 404,
                                 {"status_code": 404, "error": f"Task {task_id} not found."})
        try:
            params = json.loads(raw or b"{}")
            callback_url = params["callbackURL"]
            assert isinstance(callback_url, str) and callback_url
        except Exception:  # noqa: BLE001
            call["status"] = 400
            return json_response(start_response, 400,
                                 {"status_code": 400, "error": "Please provide a callbackURL."})
        call["callbackURL"] = callback_url
        call["content_type"] = environ.get("CONTENT_TYPE")

        status, body = self._call_back(task_id, callback_url)
        call["status"] = status
        return json_response(start_response, status, body)

    def _tasks(self, environ: dict, start_response: Callable, method: str, call: dict) -> list[bytes]:
        from urllib.parse import parse_qs

        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        call["query"] = query

        def answer(status: int, body: Any) -> list[bytes]:
            call["status"] = status
            return json_response(start_response, status, body)

        if method != "GET":
            return answer(405, {"status_code": 405, "error": "Method not allowed"})
        if not self._authorized(environ, call):
            return answer(401, {"status_code": 401,
                                "error": "Please provide a valid API key as the basic auth username."})
        project = query.get("project")
        if not project:
            return answer(400, {"status_code": 400, "error": "Please provide a project or batch."})
        if not any(t.get("project") == project for t in self.project_tasks):
            return answer(404, {"status_code": 404, "error": f"Project {project} not found."})
        try:
            limit = int(query.get("limit", "100"))
            assert 1 <= limit <= 100
        except (ValueError, AssertionError):
            return answer(400, {"status_code": 400, "error": "limit must be between 1 and 100."})
        token = query.get("next_token")
        try:
            offset = int(token.removeprefix("tok-")) if token else 0
        except ValueError:
            return answer(400, {"status_code": 400, "error": "Invalid next_token."})

        def when(text: str | None):
            import datetime as dt
            return None if not text else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

        after, before = when(query.get("completed_after")), when(query.get("completed_before"))
        chosen = []
        for t in self.project_tasks:
            if t.get("project") != project:
                continue
            if query.get("status") and t.get("status") != query["status"]:
                continue
            if query.get("type") and t.get("type") != query["type"]:
                continue
            done = when(t.get("completed_at"))
            if after is not None and (done is None or done < after):
                continue
            if before is not None and (done is None or done > before):
                continue
            chosen.append(t)
        docs = chosen[offset:offset + limit]
        more = offset + limit < len(chosen)
        return answer(200, {"docs": docs, "total": len(chosen), "limit": limit, "offset": offset,
                            "has_more": more, "next_token": f"tok-{offset + limit}" if more else None})

    def _call_back(self, task_id: str, callback_url: str) -> tuple[int, Any]:
        body = self.tasks[task_id]
        t0 = time.perf_counter()
        try:
            resp = requests.post(callback_url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "scale-callback-auth": self.callback_auth_key},
                                 timeout=self.callback_timeout)
        except requests.RequestException as exc:
            return 400, {"status_code": 400,
                         "error": f"invalid validation response: could not reach {callback_url} "
                                  f"({type(exc).__name__})"}
        latency = time.perf_counter() - t0
        if resp.status_code != 200:
            return 400, {"status_code": 400,
                         "error": f"invalid validation response: the endpoint answered HTTP {resp.status_code}"}
        try:
            answer = json.loads(resp.content)
        except ValueError:
            return 400, {"status_code": 400, "error": "invalid validation response: the body is not JSON"}
        violations = answer_violations(answer, body)
        if violations:
            return 400, {"status_code": 400, "error": "invalid validation response: " + "; ".join(violations)}
        self.last_latency = latency
        return 200, answer


# -- run it by hand: `python -m tests.scale_standin FILE...` (docs/self-test.md walks through it) ------------------

def _tasks_from_files(paths: list[str], project: str | None) -> list[dict]:
    """Task objects (with their response) from saved bodies or task exports, as Scale's task API returns them."""
    from validator.cli.inputs import iter_inputs

    tasks = []
    for n, item in enumerate(iter_inputs(paths)):
        if item.data is None:
            raise SystemExit(f"scale_standin: {item.where}: {item.error}")
        try:
            doc = json.loads(item.data)
        except ValueError:
            raise SystemExit(f"scale_standin: {item.where}: not valid JSON") from None
        if isinstance(doc, dict) and "task" in doc:
            task = dict(doc["task"])
            task["response"] = doc.get("response")
        elif isinstance(doc, dict):
            task = dict(doc)
        else:
            raise SystemExit(f"scale_standin: {item.where}: not a JSON object")
        if project:
            task["project"] = project
        task.setdefault("task_id", f"standin-{n:04d}")
        task["status"] = "completed" if task.get("response") is not None else task.get("status", "pending")
        task.setdefault("completed_at", f"2026-11-{1 + n % 28:02d}T12:00:00.000Z")
        tasks.append(task)
    return tasks


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal

    parser = argparse.ArgumentParser(
        prog="python -m tests.scale_standin",
        description="Serve a loopback stand-in of Scale's task API (GET /v1/tasks) and lint callback over saved "
                    "tasks, for trying `validator check --scale-project` and `validator selftest` offline.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="saved bodies or task exports (files, dirs)")
    parser.add_argument("--project", default=None, help="project name to give every task (default: their own)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--api-key", default="test_standin_key",
                        help="the (made-up) API key it accepts (default: test_standin_key)")
    args = parser.parse_args(argv)
    tasks = _tasks_from_files(args.paths, args.project)
    standin = ScaleStandIn(api_key=args.api_key, project_tasks=tasks,
                           tasks={t["task_id"]: {"task": {k: v for k, v in t.items() if k != "response"},
                                                 "response": t.get("response")} for t in tasks})
    try:
        standin.server = LoopbackServer(standin, port=args.port)
    except OSError as exc:
        raise SystemExit(f"scale_standin: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    projects = sorted({str(t.get("project")) for t in tasks})
    print(f"Scale stand-in: {len(tasks)} tasks in project(s) {', '.join(projects)}", flush=True)
    print(f"export SCALE_API_BASE_URL={standin.base_url}", flush=True)
    print(f"export SCALE_API_KEY={args.api_key}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
