"""`validator selftest` and validator.scale_api against a stand-in for Scale's linting API (real HTTP)."""

from __future__ import annotations

import argparse
import json
import time

import pytest

from tests.scale_standin import ScaleStandIn, free_port, json_response, read_body, serve_wsgi
from tests.support.servers import examples_dir
from validator.cli import selftest as selftest_cmd
from validator.cli.scale_api import (
    ScaleAPIError,
    ScaleAuthError,
    ScaleBadRequestError,
    ScaleNotFoundError,
    ScaleRetriesExhaustedError,
    ScaleUnreachableError,
    send_lint_callback,
)

API_KEY = "live_0123456789abcdef_secret"
CALLBACK_KEY = "callback-secret"
FAST = {"backoff_factor": 0.01}

BODY = {
    "task": {"task_id": "task_ok", "type": "imageannotation", "status": "pending", "params": {}},
    "response": {"annotations": [
        {"uuid": "ann-1", "type": "box", "label": "car", "left": 1, "top": 2, "width": 3, "height": 4},
        {"uuid": "ann-2", "type": "box", "label": "car", "left": 10, "top": 20, "width": 30, "height": 40},
    ]},
}


def tiny_endpoint(environ, start_response):
    """A throwaway validation endpoint: flags boxes narrower than 5 px; 'broken' tasks get a bad answer."""
    if environ.get("HTTP_SCALE_CALLBACK_AUTH") != CALLBACK_KEY:
        return json_response(start_response, 401, {"error": "unauthorized"})
    body = json.loads(read_body(environ))
    if body["task"]["task_id"].startswith("broken"):
        return json_response(start_response, 200, {"ok": True, "issues": {"nope": [{"errorType": 1}]}})
    issues = {}
    for ann in body["response"]["annotations"]:
        if ann["width"] < 5:
            issues[ann["uuid"]] = [{"errorType": "box_too_small",
                                    "locations": [{"x": ann["left"], "y": ann["top"]}],
                                    "extra": f"Box is {ann['width']} px wide; the minimum is 5 px"}]
    answer = {"pass": not issues}
    if issues:
        answer["issues"] = issues
    return json_response(start_response, 200, answer)


@pytest.fixture()
def endpoint():
    with serve_wsgi(tiny_endpoint) as srv:
        yield f"{srv.url}/validate"


@pytest.fixture()
def scale():
    broken = json.loads(json.dumps(BODY))
    broken["task"]["task_id"] = "broken_task"
    standin = ScaleStandIn(api_key=API_KEY, callback_auth_key=CALLBACK_KEY,
                           tasks={"task_ok": BODY, "broken_task": broken}).start()
    yield standin
    standin.close()


def cli(argv, **client_kwargs):
    parser = argparse.ArgumentParser(prog="validator selftest")
    selftest_cmd.configure(parser)
    args = parser.parse_args(argv)
    return selftest_cmd.run(args, **client_kwargs)


# -- the Python API --------------------------------------------------------------------------------------

def test_success_returns_the_answer(scale, endpoint):
    answer = send_lint_callback("task_ok", endpoint, api_key=API_KEY, base_url=scale.base_url)
    assert answer["pass"] is False
    assert list(answer["issues"]) == ["ann-1"]
    call = scale.calls[-1]
    assert call["callbackURL"] == endpoint  # sent as a JSON field, camelCase
    assert call["content_type"] == "application/json" and call["auth_password"] == ""


def test_scale_400_invalid_validation_response(scale, endpoint):
    with pytest.raises(ScaleBadRequestError) as info:
        send_lint_callback("broken_task", endpoint, api_key=API_KEY, base_url=scale.base_url)
    err = info.value
    assert err.status == 400 and err.invalid_validation_response
    assert "invalid validation response" in str(err)
    assert "'pass' is required" in str(err)
    assert len(scale.calls) == 1  # 4xx is never retried


def test_wrong_key_is_refused_and_not_retried(scale, endpoint):
    with pytest.raises(ScaleAuthError) as info:
        send_lint_callback("task_ok", endpoint, api_key="wrong_key_1234", base_url=scale.base_url, **FAST)
    assert info.value.status == 401
    assert "wrong_key_1234" not in str(info.value)
    assert len(scale.calls) == 1


def test_unknown_task_is_not_found(scale, endpoint):
    with pytest.raises(ScaleNotFoundError) as info:
        send_lint_callback("no_such_task", endpoint, api_key=API_KEY, base_url=scale.base_url, **FAST)
    assert info.value.status == 404
    assert "no_such_task" in str(info.value)
    assert len(scale.calls) == 1


def test_transient_503_succeeds_on_retry(scale, endpoint):
    scale.fail_next(2)
    answer = send_lint_callback("task_ok", endpoint, api_key=API_KEY, base_url=scale.base_url, **FAST)
    assert answer["pass"] is False
    assert [c["status"] for c in scale.calls] == [503, 503, 200]


def test_persistent_503_exhausts_retries(scale, endpoint):
    scale.fail_next(100)
    with pytest.raises(ScaleRetriesExhaustedError) as info:
        send_lint_callback("task_ok", endpoint, api_key=API_KEY, base_url=scale.base_url, **FAST)
    assert info.value.status == 503 and info.value.attempts == 4
    assert len(scale.calls) == 4  # 1 + 3 retries, like Scale's own client
    assert "Service temporarily unavailable" in str(info.value)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 504])
def test_retryable_statuses(scale, endpoint, status):
    scale.fail_next(1, status=status)
    assert send_lint_callback("task_ok", endpoint, api_key=API_KEY, base_url=scale.base_url, **FAST)
    assert [c["status"] for c in scale.calls] == [status, 200]


@pytest.mark.parametrize("status", [402, 409, 422])
def test_other_4xx_are_not_retried(scale, endpoint, status):
    scale.fail_next(1, status=status)
    with pytest.raises(ScaleAPIError) as info:
        send_lint_callback("task_ok", endpoint, api_key=API_KEY, base_url=scale.base_url, **FAST)
    assert info.value.status == status
    assert len(scale.calls) == 1


def test_unreachable_api_names_the_url():
    base = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ScaleUnreachableError) as info:
        send_lint_callback("task_ok", "http://example.invalid/validate", api_key=API_KEY, base_url=base, **FAST)
    msg = str(info.value)
    assert f"{base}/linting/task/task_ok/send-lint-callback" in msg
    assert "could not reach" in msg and "refused" in msg
    assert info.value.attempts == 4  # connection errors are retried too
    assert API_KEY not in msg


def test_total_time_is_bounded():
    def slow(environ, start_response):
        time.sleep(3)
        return json_response(start_response, 200, {"pass": True})

    with serve_wsgi(slow) as srv:
        t0 = time.monotonic()
        with pytest.raises(ScaleUnreachableError) as info:
            send_lint_callback("t", "http://x/validate", api_key=API_KEY, base_url=srv.url, total_timeout=0.5,
                               **FAST)
        assert time.monotonic() - t0 < 1.5
    assert "no answer from" in str(info.value)


def test_retry_after_is_honoured_within_the_time_bound():
    calls = []

    def rate_limited(environ, start_response):
        calls.append(time.monotonic())
        return json_response(start_response, 429, {"status_code": 429, "error": "slow down"},
                             headers=[("Retry-After", "30")])

    with serve_wsgi(rate_limited) as srv:
        t0 = time.monotonic()
        with pytest.raises(ScaleRetriesExhaustedError) as info:
            send_lint_callback("t", "http://x/", api_key=API_KEY, base_url=srv.url, total_timeout=2, **FAST)
        assert time.monotonic() - t0 < 1.0  # a 30 s wait does not fit in 2 s: give up at once
    assert len(calls) == 1 and "slow down" in str(info.value)


def test_key_echoed_by_scale_is_redacted():
    def echo(environ, start_response):
        return json_response(start_response, 401, {"status_code": 401, "error": f"bad key {API_KEY}"})

    with serve_wsgi(echo) as srv:
        with pytest.raises(ScaleAuthError) as info:
            send_lint_callback("t", "http://x/", api_key=API_KEY, base_url=srv.url)
    assert API_KEY not in str(info.value) and "***" in str(info.value)


def test_non_json_success_is_an_error():
    def html(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html>hello</html>"]

    with serve_wsgi(html) as srv:
        with pytest.raises(ScaleAPIError, match="not JSON"):
            send_lint_callback("t", "http://x/", api_key=API_KEY, base_url=srv.url)


def test_base_url_from_environment(scale, endpoint, monkeypatch):
    monkeypatch.setenv("SCALE_API_BASE_URL", scale.base_url)
    assert send_lint_callback("task_ok", endpoint, api_key=API_KEY)["pass"] is False


@pytest.mark.skipif(not any(examples_dir().glob("*.json")), reason="example bodies not found")
def test_success_through_the_real_service(service):
    """The stand-in calls back the real service (gunicorn, tests/conftest.py), as Scale would."""
    bodies = {}
    for path in sorted(examples_dir().glob("*.json")):
        body = json.loads(path.read_bytes())
        bodies[body["task"]["task_id"]] = body
    bad = json.loads(json.dumps(next(iter(bodies.values()))))
    bad["task"]["task_id"] = "bad_task"
    bad["response"]["annotations"][0]["left"] = "abc"
    bodies["bad_task"] = bad
    standin = ScaleStandIn(api_key=API_KEY, callback_auth_key=service.keys[1], tasks=bodies).start()
    try:
        for task_id in bodies:
            answer = send_lint_callback(task_id, f"{service.url}/validate", api_key=API_KEY,
                                        base_url=standin.base_url)
            assert answer["pass"] is (task_id != "bad_task"), (task_id, answer)
        uuid0 = bad["response"]["annotations"][0]["uuid"]
        assert answer["issues"][uuid0][0]["errorType"] == "malformed_annotation"
    finally:
        standin.close()


# -- the command -----------------------------------------------------------------------------------------

def test_cli_success_prints_verdict_and_issues(scale, endpoint, monkeypatch, capsys):
    monkeypatch.setenv("SCALE_API_KEY", API_KEY)
    assert cli(["task_ok", "--callback-url", endpoint, "--base-url", scale.base_url]) == 0
    out = capsys.readouterr().out
    assert "FAIL (1 issue)" in out
    assert "annotation ann-1  box_too_small  at (1, 2): Box is 3 px wide; the minimum is 5 px" in out


def test_cli_json_prints_raw_answer(scale, endpoint, monkeypatch, capsys):
    monkeypatch.setenv("SCALE_API_KEY", API_KEY)
    monkeypatch.setenv("SCALE_API_BASE_URL", scale.base_url)
    assert cli(["task_ok", "--callback-url", endpoint, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["pass"] is False and "ann-1" in answer["issues"]


@pytest.mark.parametrize(
    ("task", "key", "fail", "expected"),
    [
        ("broken_task", API_KEY, 0, "invalid validation response"),
        ("task_ok", "wrong_key_1234", 0, "API key refused"),
        ("no_such_task", API_KEY, 0, "not found"),
        ("task_ok", API_KEY, 99, "retries exhausted"),
    ],
    ids=["scale-400", "wrong-key", "unknown-task", "always-503"],
)
def test_cli_failures_are_one_clear_line(scale, endpoint, monkeypatch, capsys, task, key, fail, expected):
    monkeypatch.setenv("SCALE_API_KEY", key)
    scale.fail_next(fail)
    assert cli([task, "--callback-url", endpoint, "--base-url", scale.base_url], **FAST) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert expected in err and "\n" not in err
    assert "Traceback" not in err and key not in err


def test_cli_unreachable_names_the_url(monkeypatch, capsys):
    monkeypatch.setenv("SCALE_API_KEY", API_KEY)
    base = f"http://127.0.0.1:{free_port()}/v1"
    assert cli(["t1", "--callback-url", "http://x/", "--base-url", base, "--retries", "1"], **FAST) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and f"{base}/linting/task/t1/send-lint-callback" in err
    assert API_KEY not in err


def test_cli_without_api_key_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("SCALE_API_KEY", raising=False)
    assert cli(["t1", "--callback-url", "http://x/"]) == 2
    assert "SCALE_API_KEY" in capsys.readouterr().err


def test_cli_api_key_flag_overrides_environment(scale, endpoint, monkeypatch, capsys):
    monkeypatch.setenv("SCALE_API_KEY", "wrong_key_1234")
    assert cli(["task_ok", "--callback-url", endpoint, "--base-url", scale.base_url, "--api-key", API_KEY]) == 0


def test_command_line_never_prints_a_traceback_or_the_key():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    env["SCALE_API_KEY"] = API_KEY
    env["SCALE_API_BASE_URL"] = f"http://127.0.0.1:{free_port()}/v1"
    proc = subprocess.run([sys.executable, "-m", "validator", "selftest", "t1", "--callback-url", "http://x/",
                           "--retries", "0"], cwd=Path(__file__).resolve().parents[1], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("validator: selftest failed (unreachable): could not reach http://127.0.0.1:")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and API_KEY not in proc.stderr
