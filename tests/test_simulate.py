"""`validator simulate`: Scale's role played locally, against the real service and a deliberately broken one."""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import pytest

from tests.scale_standin import free_port, json_response, read_body, serve_wsgi
from tests.support.servers import examples_dir
from validator.cli import simulate as simulate_cmd
from validator.cli.simulate import run_simulate, send_body, simulate

EXAMPLES = examples_dir()  # ../shared/examples beside the repo, else the repo's copy
needs_examples = pytest.mark.skipif(not any(EXAMPLES.glob("*.json")),
                                    reason=f"example bodies not found at {EXAMPLES} (shared/ beside the repo)")
KEY = "sim-callback-key"


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="validator simulate")
    simulate_cmd.configure(parser)
    return simulate_cmd.run(parser.parse_args(argv))


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def failing_body() -> dict:
    body = json.loads(example_files()[0].read_bytes())
    body["task"]["task_id"] = "bad-task"
    body["response"]["annotations"][0]["left"] = "abc"
    return body


# -- the real service (gunicorn from the Procfile, tests/conftest.py) ------------------------------------

@pytest.fixture()
def service_url(service):
    return f"{service.url}/validate"


@pytest.fixture()
def service_key(service):
    return service.keys[0]


@needs_examples
def test_examples_against_the_service(service, service_url, capsys, monkeypatch):
    monkeypatch.setenv("SCALE_CALLBACK_AUTH_KEY", f"{service.keys[1]},other")  # the first key of the variable
    assert cli([*map(str, example_files()), "--url", service_url]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("PASS")]
    assert len(rows) == len(example_files())
    assert all(" ms  " in row and "issues" in row for row in rows)
    assert f"{len(rows)} bodies sent to {service_url}: {len(rows)} pass, 0 fail, 0 with problems" in out


@needs_examples
def test_failing_body_against_the_service_is_well_formed(service_url, service_key, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(failing_body()) + "\n" + example_files()[1].read_text().replace("\n", " ") + "\n")
    outcomes = list(simulate([str(path)], service_url, auth_key=service_key))
    assert [o.verdict for o in outcomes] == ["FAIL", "PASS"]
    assert outcomes[0].issues == 1 and outcomes[0].where == f"{path}:1"
    assert outcomes[0].latency_ms > 0
    out = io.StringIO()
    assert run_simulate([str(path)], service_url, auth_key=service_key, verbose=True, out=out) == 0
    assert "malformed_annotation" in out.getvalue()


@needs_examples
def test_wrong_key_is_reported_as_http_error(service_url, capsys):
    assert cli([str(example_files()[0]), "--url", service_url, "--auth-key", "nope-nope"]) == 1
    out = capsys.readouterr().out
    assert "HTTP-ERROR" in out and "HTTP 401 (is the auth key one the service accepts?)" in out
    assert "nope-nope" not in out


@needs_examples
def test_no_auth_header_is_refused_by_the_service(service_url, capsys):
    assert cli([str(example_files()[0]), "--url", service_url, "--no-auth"]) == 1
    assert "HTTP 401" in capsys.readouterr().out


@needs_examples
def test_json_output(service_url, service_key, capsys):
    assert cli([*map(str, example_files()), "--url", service_url, "--auth-key", service_key, "--format", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[-1]["kind"] == "summary" and records[-1]["pass"] == len(example_files())
    assert all(r["ok"] and r["status"] == 200 and r["violations"] == [] for r in records[:-1])


# -- a deliberately broken endpoint ---------------------------------------------------------------------------

def broken_endpoint(environ, start_response):
    mode = environ["PATH_INFO"].strip("/")
    body = json.loads(read_body(environ) or b"null")
    uuid0 = body["response"]["annotations"][0]["uuid"]
    if mode == "ok":
        return json_response(start_response, 200, {"pass": False, "issues": {uuid0: [{"errorType": "e"}]}})
    if mode == "no-pass":
        return json_response(start_response, 200, {"issues": {}, "globalIssues": []})
    if mode == "string-pass":
        return json_response(start_response, 200, {"pass": "true"})
    if mode == "extra-key":
        return json_response(start_response, 200, {"pass": True, "message": "all good"})
    if mode == "unknown-uuid":
        return json_response(start_response, 200, {"pass": False, "issues": {"not-a-uuid": [{"errorType": "e"}]}})
    if mode == "nan":
        data = b'{"pass": false, "globalIssues": [{"errorType": "g", "locations": [{"x": NaN, "y": 1}]}]}'
        return json_response(start_response, 200, data)
    if mode == "bad-issue":
        return json_response(start_response, 200, {"pass": False, "globalIssues": [{"type": "g"}]})
    if mode == "500":
        return json_response(start_response, 500, {"error": "boom"})
    if mode == "non-json":
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html>It works!</html>"]
    if mode == "array":
        return json_response(start_response, 200, [])
    if mode == "slow":
        time.sleep(2)
        return json_response(start_response, 200, {"pass": True})
    return json_response(start_response, 404, {"error": "no such mode"})


@pytest.fixture(scope="module")
def broken_url():
    with serve_wsgi(broken_endpoint) as srv:
        yield srv.url


@pytest.fixture(scope="module")
def body_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bodies") / "body.json"
    path.write_text(json.dumps({
        "task": {"task_id": "t1", "type": "imageannotation", "status": "pending", "params": {}},
        "response": {"annotations": [{"uuid": "u-1", "type": "point", "label": "p", "x": 1, "y": 2}]},
    }))
    return path


@pytest.mark.parametrize(
    ("mode", "verdict", "expected"),
    [
        ("ok", "FAIL", None),
        ("no-pass", "BAD-FORMAT", "format: 'pass' is required"),
        ("string-pass", "BAD-FORMAT", "format: 'pass' must be a boolean"),
        ("extra-key", "BAD-FORMAT", "'message'"),
        ("unknown-uuid", "BAD-FORMAT", "issues key 'not-a-uuid' is not the uuid of an annotation in the request"),
        ("nan", "BAD-FORMAT", "globalIssues[0].locations[0].x is not a finite number"),
        ("bad-issue", "BAD-FORMAT", "globalIssues[0].errorType is required"),
        ("array", "BAD-FORMAT", "the answer must be a JSON object"),
        ("non-json", "BAD-FORMAT", "the answer is not JSON"),
        ("500", "HTTP-ERROR", "HTTP 500: {\"error\": \"boom\"}"),
        ("404", "HTTP-ERROR", "HTTP 404"),
    ],
)
def test_broken_endpoint_modes(broken_url, body_file, capsys, mode, verdict, expected):
    code = cli([str(body_file), "--url", f"{broken_url}/{mode}", "--auth-key", KEY])
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(verdict)
    assert code == (0 if verdict in ("PASS", "FAIL") else 1)
    if expected:
        assert expected in out
    assert "Traceback" not in out


def test_slow_endpoint_times_out(broken_url, body_file, capsys):
    t0 = time.monotonic()
    assert cli([str(body_file), "--url", f"{broken_url}/slow", "--auth-key", KEY, "--timeout", "0.3"]) == 1
    assert time.monotonic() - t0 < 1.5
    out = capsys.readouterr().out
    assert out.startswith("ERROR") and f"no answer from {broken_url}/slow within 0.3 s" in out


def test_unreachable_endpoint(body_file, capsys):
    url = f"http://127.0.0.1:{free_port()}/validate"
    assert cli([str(body_file), "--url", url, "--auth-key", KEY]) == 1
    assert f"could not reach {url}: connection refused" in capsys.readouterr().out


def test_one_bad_answer_fails_the_run_but_every_body_is_sent(broken_url, body_file, tmp_path):
    lines = tmp_path / "three.jsonl"
    text = body_file.read_text()
    lines.write_text(f"{text}\nnot json\n{text}\n")
    out = io.StringIO()
    assert run_simulate([str(lines)], f"{broken_url}/ok", auth_key=KEY, out=out) == 1
    rows = out.getvalue().splitlines()
    assert rows[0].startswith("FAIL") and rows[0].endswith(f"{lines}:1")
    assert rows[1].startswith("ERROR") and rows[1].endswith(f"{lines}:2") and "not sent" in rows[2]
    assert rows[3].startswith("FAIL") and rows[3].endswith(f"{lines}:3")


def test_missing_key_is_a_usage_error(body_file, monkeypatch, capsys):
    monkeypatch.delenv("SCALE_CALLBACK_AUTH_KEY", raising=False)
    assert cli([str(body_file), "--url", "http://127.0.0.1:1/validate"]) == 2
    assert "SCALE_CALLBACK_AUTH_KEY" in capsys.readouterr().err


def test_send_body_passes_the_auth_header(body_file):
    seen = {}

    def spy(environ, start_response):
        seen["auth"] = environ.get("HTTP_SCALE_CALLBACK_AUTH")
        seen["type"] = environ.get("CONTENT_TYPE")
        return json_response(start_response, 200, {"pass": True})

    with serve_wsgi(spy) as srv:
        data = body_file.read_bytes()
        outcome = send_body(srv.url, data, json.loads(data), auth_key=KEY)
    assert outcome.verdict == "PASS" and outcome.ok
    assert seen == {"auth": KEY, "type": "application/json"}

