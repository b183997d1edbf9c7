"""Every line the service writes is one JSON object, and none carries a header line, a key or a body, whatever a
client sends: odd paths, malformed request lines and header lines (a key sent without its colon), oversized
headers. Request ids tie a request's lines together. Real gunicorn on loopback; every captured line is parsed.
"""
from __future__ import annotations

import importlib.util
import json
import re
import socket
import time

import pytest
import requests

from tests.support.servers import start_service
from validator.testing import box, make_body, make_task

KEY = "k-live-9f8e7d6c5b4a39281706"
SECRET_MARK = "zz-secret-in-header-4417"

CONFIG = """
[engine]
plugins = ["tests.plugins.engine_rules"]

[[rule]]
id = "t_raises"
projects = ["buggy"]
"""


@pytest.fixture(scope="module", params=["buffering", "sync"])
def svc(request, tmp_path_factory):
    """The service with our worker class (the default) and with gunicorn's sync worker (the logger alone must
    keep keys out of the logs whatever the worker)."""
    env = {"GUNICORN_WORKER_CLASS": "sync"} if request.param == "sync" else {}
    s = start_service(tmp_path_factory.mktemp(f"logs-{request.param}"), keys=(KEY,), env=env, config_text=CONFIG)
    s.worker = request.param
    yield s
    s.stop()


def raw(svc, data: bytes, timeout: float = 20) -> bytes:
    host, port = svc.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def json_lines(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)  # fails the test on any line that is not JSON
        assert isinstance(record, dict), line
        records.append(record)
    return records


def settle(svc, start: int, access_lines: int, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while svc.logs()[start:].count('"logger":"access"') < access_lines and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    return svc.logs()[start:]


MALFORMED = {
    "key-without-colon": f"POST /validate HTTP/1.1\r\nHost: x\r\nscale-callback-auth {KEY}\r\n\r\n",
    "key-in-bad-header-name": f"GET /healthz HTTP/1.1\r\nHost: x\r\nscale-callback-auth\x01: {KEY}\r\n\r\n",
    "key-in-folded-line": f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n {KEY}\r\n\r\n",
    "key-in-request-line": f"GET /healthz {KEY}\r\n\r\n",
    "key-in-bad-method": f"G{KEY}T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "key-in-huge-header": f"GET /healthz HTTP/1.1\r\nHost: x\r\nscale-callback-auth: {KEY}{'a' * 9000}\r\n\r\n",
    "key-in-too-many-headers": "GET /healthz HTTP/1.1\r\nHost: x\r\n" + "".join(
        f"X-{n}: {KEY}\r\n" for n in range(120)) + "\r\n",
    "key-in-bad-chunk": (f"POST /validate HTTP/1.1\r\nHost: x\r\nscale-callback-auth: {KEY}\r\n"
                         f"Transfer-Encoding: chunked\r\n\r\n{KEY}\r\n{{}}\r\n0\r\n\r\n"),
}


def test_malformed_requests_leave_no_key_and_only_json_lines(svc):
    start = len(svc.logs())
    answers = {name: raw(svc, request.encode("latin-1")) for name, request in MALFORMED.items()}
    for name, data in answers.items():
        status = data.split(b"\r\n", 1)[0]
        assert re.match(rb"HTTP/1\.[01] (4\d\d|501)", status), (name, data[:200])
        if svc.worker == "buffering":  # our worker's error answers are JSON and echo nothing of the request
            assert KEY.encode() not in data, name
            payload = data.partition(b"\r\n\r\n")[2]
            assert set(json.loads(payload)) == {"error"}, (name, payload)
    assert requests.get(svc.url + "/healthz", timeout=10).status_code == 200  # still serving
    logs = settle(svc, start, 1)
    records = json_lines(logs)
    assert KEY not in logs
    assert any(r.get("msg") == "invalid request" for r in records), logs[-3000:]
    for r in records:
        if r.get("msg") == "invalid request":
            assert set(r) >= {"remote", "error"} and len(r["error"]) <= 40


@pytest.mark.parametrize("path", ["/%5C", "/a%22b", "/%22%7D%0A%7B", "/\\", "/caf%C3%A9", "/x%00y", "/" + "p" * 5000])
def test_odd_paths_give_json_access_lines(svc, path):
    start = len(svc.logs())
    data = raw(svc, f"GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: {SECRET_MARK}\r\n\r\n".encode())
    assert data.startswith(b"HTTP/1.1 4"), data[:200]
    logs = settle(svc, start, 1)
    access = [r for r in json_lines(logs) if r.get("logger") == "access"]
    assert access and all(isinstance(r["path"], str) and len(r["path"]) <= 129 for r in access)
    assert SECRET_MARK not in logs


def test_whole_log_is_json_lines(svc):
    # gunicorn's own start-up and worker lines included
    records = json_lines(svc.logs())
    assert any(r.get("logger") == "gunicorn.error" and "Booting worker" in r.get("msg", "") for r in records)
    (ready,) = [r for r in records if r.get("msg") == "validator ready"]  # the preloaded master's, once
    kernels = ready["compiled_kernels"]  # loaded there, before the workers fork (validator/geometry/compiled.py)
    if importlib.util.find_spec("numba"):  # (the service's environment has no VALIDATOR_ variables)
        assert kernels["jit"] == "on" and kernels["kernels"] and isinstance(kernels["cached"], bool), kernels
    else:
        assert kernels["jit"] == "off" and kernels["reason"], kernels
    assert KEY not in svc.logs()


# -- request ids -----------------------------------------------------------------------------------------------

def lines_of(svc, start: int, request_id: str, msgs=frozenset({"access"})) -> list[dict]:
    """The log lines of one request, once the lines with the messages ``msgs`` have all been written (the access
    and validation lines are written after the answer is sent)."""
    deadline = time.monotonic() + 15
    while True:
        found = [r for r in json_lines(svc.logs()[start:]) if r.get("request_id") == request_id]
        if {r.get("msg") for r in found} >= set(msgs) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_request_id_taken_echoed_and_on_every_line(svc):
    start = len(svc.logs())
    rid = "lb-7f3a.c0ffee:42"
    r = svc.post(make_body([box(0, 0, 50, 50, label="car")]), headers={"X-Request-ID": rid})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == rid
    found = lines_of(svc, start, rid, {"validation", "access"})
    assert {x.get("msg") for x in found} >= {"validation", "access"}


def test_request_id_from_traceparent(svc):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    start = len(svc.logs())
    r = requests.get(svc.url + "/readyz", headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}, timeout=10)
    assert r.headers["X-Request-ID"] == trace
    assert lines_of(svc, start, trace)


def test_request_id_generated_when_absent_or_unsafe(svc):
    start = len(svc.logs())
    a = svc.post(make_body([box(0, 0, 50, 50, label="car")]))
    b = svc.post(make_body([box(0, 0, 50, 50, label="car")]), headers={"X-Request-ID": 'x" ' + SECRET_MARK})
    ids = [a.headers["X-Request-ID"], b.headers["X-Request-ID"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    for rid in ids:
        assert {x.get("msg") for x in lines_of(svc, start, rid, {"validation", "access"})} >= {"validation", "access"}
    assert SECRET_MARK not in svc.logs()[start:]


def test_a_failing_rule_line_carries_the_request_id(svc):
    start = len(svc.logs())
    rid = "rule-failure-1"
    task = make_task(project="buggy")
    r = svc.post(make_body([box(0, 0, 50, 50, label="car")], task=task), headers={"X-Request-ID": rid})
    assert r.status_code == 200
    found = lines_of(svc, start, rid, {"rule failed", "validation", "access"})
    failed = [x for x in found if x.get("msg") == "rule failed"]
    assert failed and "traceback" in failed[0]


def test_long_task_id_and_project_are_truncated_in_logs(svc):
    start = len(svc.logs())
    task = make_task(project="p" * 3000)
    task["task_id"] = "t" * 5000
    task["metadata"] = {}  # image size unknown: the engine logs the project too
    r = svc.post(make_body([box(0, 0, 50, 50, label="car")], task=task), headers={"X-Request-ID": "long-ids"})
    assert r.status_code == 200
    found = lines_of(svc, start, "long-ids", {"validation", "access"})
    for x in found:
        for field in ("task_id", "project"):
            if field in x:
                assert len(x[field]) <= 129, (field, x["msg"])
    assert any("task_id" in x for x in found)
