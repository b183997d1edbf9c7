"""`validator check --scale-project`: a project's tasks paged from (a loopback stand-in of) Scale's task API."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.scale_standin import ScaleStandIn, free_port
from tests.test_check_backtest import as_task, bodies, broken
from validator.cli.check import run_check, scale_items
from validator.cli.scale_api import ScaleAuthError, ScaleRetriesExhaustedError
from validator.cli.scale_tasks import ProjectTasks, get_json, parse_time

ROOT = Path(__file__).resolve().parents[1]
KEY = "live_backtest_key_0123456789"
PROJECT = "acme-backtest"


def project_tasks(n: int = 7) -> list[dict]:
    b = bodies()
    tasks = []
    for i in range(n):
        t = as_task(b[i % len(b)], task_id=f"t{i:03d}", project=PROJECT,
                    completed_at=f"2026-11-{10 + i % 20:02d}T12:00:00.000Z")
        tasks.append(broken(t, f"t{i:03d}") if i % 3 == 0 else t)
    tasks.append(as_task(b[0], task_id="p-pending", project=PROJECT, status="pending", response=None))
    tasks.append({"task_id": "cat-1", "type": "categorization", "status": "completed", "project": PROJECT,
                  "completed_at": "2026-11-12T00:00:00.000Z", "response": {"category": "x"}})
    tasks.append(as_task(b[1], task_id="other-project", project="someone-else"))
    return tasks


@pytest.fixture()
def scale():
    standin = ScaleStandIn(api_key=KEY, project_tasks=project_tasks()).start()
    yield standin
    standin.close()


def cli(*argv: str, env: dict | None = None, timeout: float = 120):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", "check", *argv], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def env_for(standin: ScaleStandIn, key: str = KEY) -> dict:
    return {"SCALE_API_KEY": key, "SCALE_API_BASE_URL": standin.base_url}


def task_calls(standin: ScaleStandIn) -> list[dict]:
    return [c for c in standin.calls if c["path"] == "/v1/tasks"]


# -- through the command line ---------------------------------------------------------------------------------------

def test_backtest_a_project_from_scale(scale):
    proc = cli("--scale-project", PROJECT, "-j", "1", env=env_for(scale))
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "FAIL  scale:acme-backtest:1  task t000" in out and "PASS  scale:acme-backtest:2  task t001" in out
    assert "other-project" not in out  # another project's task is not fetched
    assert "p-pending" not in out      # status defaults to completed
    assert "SKIPPED  scale:acme-backtest:8  task cat-1: task type 'categorization' is not checked" in out
    assert "Summary: 7 tasks checked, 2 failed, 5 passed, 1 skipped" in out
    [call] = task_calls(scale)
    assert call["query"]["project"] == PROJECT and call["query"]["status"] == "completed"
    assert call["query"]["limit"] == "100" and call["auth_password"] == ""
    assert KEY not in out + proc.stderr and proc.stderr == ""


def test_status_any_and_completion_window(scale):
    proc = cli("--scale-project", PROJECT, "--scale-status", "any", "-j", "1", "--format", "json",
               env=env_for(scale))
    records = [json.loads(x) for x in proc.stdout.splitlines()]
    assert any(r.get("task_id") == "p-pending" and r["kind"] == "skipped" for r in records)
    proc = cli("--scale-project", PROJECT, "--since", "2026-11-12", "--until", "2026-11-14T23:59:59Z", "-j", "1",
               "--format", "json", env=env_for(scale))
    records = [json.loads(x) for x in proc.stdout.splitlines()]
    ids = sorted(r["task_id"] for r in records[:-1] if r["kind"] == "task")
    assert ids == ["t002", "t003", "t004"]
    query = task_calls(scale)[-1]["query"]
    assert query["completed_after"] == "2026-11-12T00:00:00.000Z"
    assert query["completed_before"] == "2026-11-14T23:59:59.000Z"


def test_max_tasks_stops_early(scale):
    proc = cli("--scale-project", PROJECT, "--max-tasks", "2", "-j", "1", env=env_for(scale))
    assert "Summary: 2 tasks checked" in proc.stdout
    assert task_calls(scale)[-1]["query"]["limit"] == "2"  # never asks for more than it will use


def test_paging_through_many_pages_in_order():
    b = bodies()
    tasks = [as_task(b[i % 5], task_id=f"m{i:04d}", project=PROJECT) for i in range(230)]
    with_standin = ScaleStandIn(api_key=KEY, project_tasks=tasks).start()
    try:
        proc = cli("--scale-project", PROJECT, "-j", "2", "--format", "json", env=env_for(with_standin))
        records = [json.loads(x) for x in proc.stdout.splitlines()]
        assert [r["task_id"] for r in records[:-1]] == [t["task_id"] for t in tasks]
        calls = task_calls(with_standin)
        assert len(calls) == 3
        assert [c["query"].get("next_token") for c in calls] == [None, "tok-100", "tok-200"]
        assert records[-1]["tasks"] == 230
    finally:
        with_standin.close()


def test_a_429_is_retried_then_succeeds(scale):
    scale.fail_next(1, 429, retry_after=0)
    proc = cli("--scale-project", PROJECT, "-j", "1", "--quiet", env=env_for(scale))
    assert "Summary: 7 tasks checked" in proc.stdout, proc.stderr
    assert [c["status"] for c in task_calls(scale)] == [429, 200]


def test_a_wrong_key_is_a_clear_message_without_the_key(scale):
    wrong = "live_wrong_key_987654321"
    proc = cli("--scale-project", PROJECT, env=env_for(scale, key=wrong))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("validator: cannot fetch the tasks of project 'acme-backtest': "
                                  "Scale refused the API key (HTTP 401)")
    assert wrong not in proc.stderr and "Traceback" not in proc.stderr
    assert [c["status"] for c in task_calls(scale)] == [401]  # never retried


def test_no_key_unknown_project_bad_url_unreachable(scale):
    proc = cli("--scale-project", PROJECT, env={"SCALE_API_BASE_URL": scale.base_url})
    assert proc.returncode == 2 and "set SCALE_API_KEY" in proc.stderr
    proc = cli("--scale-project", "nope", env=env_for(scale))
    assert proc.returncode == 2 and "HTTP 404" in proc.stderr and "Project nope not found." in proc.stderr
    proc = cli("--scale-project", PROJECT, env={"SCALE_API_KEY": KEY, "SCALE_API_BASE_URL": "127.0.0.1:9/v1"})
    assert proc.returncode == 2 and "is not an http(s) URL with a host" in proc.stderr
    t0 = time.monotonic()
    dead = f"http://127.0.0.1:{free_port()}/v1"
    proc = cli("--scale-project", PROJECT, "--scale-timeout", "2",
               env={"SCALE_API_KEY": KEY, "SCALE_API_BASE_URL": dead})
    assert proc.returncode == 2
    assert f"could not reach {dead}/tasks: connection refused" in proc.stderr
    assert time.monotonic() - t0 < 60
    for p in (proc,):
        assert KEY not in p.stderr + p.stdout and "Traceback" not in p.stderr


def test_usage_errors(scale):
    proc = cli(env=env_for(scale))
    assert proc.returncode == 2 and "nothing to check" in proc.stderr
    proc = cli("--scale-project", PROJECT, "--since", "last week", env=env_for(scale))
    assert proc.returncode == 2 and "--since 'last week' is not a date or time" in proc.stderr
    proc = cli("--scale-project", PROJECT, "--since", "2026-12-01", "--until", "2026-11-01", env=env_for(scale))
    assert proc.returncode == 2 and "is after --until" in proc.stderr
    proc = cli("x.json", "--since", "2026-12-01")
    assert proc.returncode == 2 and "apply to --scale-project" in proc.stderr


# -- in-process: failures mid-run, bounded memory ------------------------------------------------------------------

def test_a_failure_in_the_middle_keeps_the_tasks_before_it(scale):
    source = ProjectTasks(PROJECT, api_key=KEY, base_url=scale.base_url, page_size=3, retries=1,
                          sleep=lambda s: None)
    items = scale_items(source)
    out = io.StringIO()

    def failing_after_first_page():
        for n, item in enumerate(items):
            if n == 2:  # the first page is used up: the next one fails
                scale.fail_next(5, 503)
            yield item

    code = run_check([], items=failing_after_first_page(), out=out, jobs=1)
    text = out.getvalue()
    assert code == 1
    assert text.count("scale:acme-backtest:") == 4  # three tasks, then the error line
    assert "INVALID  scale:acme-backtest: fetching the project's tasks stopped after 3 tasks: Scale answered " \
           "HTTP 503" in text
    assert "(after 2 attempts; giving up)" in text and KEY not in text


def test_pages_are_streamed_one_at_a_time(scale):
    """The next page is asked for only when the tasks of the previous one are used up."""
    source = ProjectTasks(PROJECT, api_key=KEY, base_url=scale.base_url, page_size=2)
    it = iter(source)
    next(it)
    assert len(task_calls(scale)) == 1
    next(it)
    assert len(task_calls(scale)) == 1
    next(it)
    assert len(task_calls(scale)) == 2
    assert source.total == 8
    source.close()


def test_has_more_without_a_token_stops_with_a_message():
    from tests.scale_standin import json_response, serve_wsgi

    def app(environ, start_response):
        return json_response(start_response, 200, {"docs": [{"task_id": "a", "type": "imageannotation"}],
                                                   "total": 9, "has_more": True, "next_token": None})

    server = serve_wsgi(app)
    try:
        source = ProjectTasks(PROJECT, api_key=KEY, base_url=server.url + "/v1")
        with pytest.raises(Exception, match="has_more.*no new next_token"):
            list(source)
    finally:
        server.close()


def test_retry_policy_is_the_selftests():
    """408/429/5xx are retried with backoff 1, 2, 4 s (at least Retry-After); other 4xx never."""
    from tests.scale_standin import json_response, serve_wsgi

    statuses = iter([503, 503, 503, 503, 503])
    seen = []

    def app(environ, start_response):
        status = next(statuses)
        seen.append(status)
        return json_response(start_response, status, {"status_code": status, "error": "busy"})

    server = serve_wsgi(app)
    pauses = []
    try:
        with requests.Session() as session, pytest.raises(ScaleRetriesExhaustedError, match="after 4 attempts"):
            get_json(session, server.url + "/v1/tasks", {}, api_key=KEY, sleep=pauses.append)
        assert pauses == [1.0, 2.0, 4.0] and len(seen) == 4
    finally:
        server.close()


def test_parse_time():
    assert parse_time("2026-11-25", name="--since") == "2026-11-25T00:00:00.000Z"
    assert parse_time("2026-11-25T10:00:00+02:00", name="--since") == "2026-11-25T08:00:00.000Z"
    with pytest.raises(ValueError, match="--until 'yesterday'"):
        parse_time("yesterday", name="--until")


def test_missing_key_is_an_auth_error():
    env = dict(os.environ)
    env.pop("SCALE_API_KEY", None)
    with pytest.raises(ScaleAuthError, match="SCALE_API_KEY"):
        ProjectTasks(PROJECT, api_key="")
