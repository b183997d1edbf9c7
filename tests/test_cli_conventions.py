"""What every ``validator`` subcommand has in common, run as a user runs it (a subprocess): one error prefix
(``validator:``), one output flag spelling (``--format json``; ``selftest --json`` and ``rules --markdown`` kept as
aliases); and the first-hour fixes of ``selftest`` (a malformed URL is a usage error at once; a 404 that is not
Scale's says the base URL looks wrong) and ``simulate`` (never "1 body sent" when nothing was sent)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scale_standin import ScaleStandIn, free_port, serve_wsgi
from tests.support.servers import start_service

REPO = Path(__file__).resolve().parent.parent
API_KEY = "live_conventions_0123456789"
CALLBACK_KEY = "conventions-callback-key"
EXAMPLE = REPO / "examples" / "01_boxes_attributes_nesting.json"
FAILING = REPO / "examples" / "failing" / "01_label_not_in_taxonomy.json"


def validator(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_")) and k != "PORT"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, text=True, cwd=cwd,
                          env=full, timeout=120)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = start_service(tmp_path_factory.mktemp("conventions"), keys=(CALLBACK_KEY,), workers=1)
    yield svc
    svc.stop()


@pytest.fixture()
def scale(service):
    standin = ScaleStandIn(api_key=API_KEY, callback_auth_key=CALLBACK_KEY,
                           tasks={"task_ok": json.loads(EXAMPLE.read_text()),
                                  "task_bad": json.loads(FAILING.read_text())}).start()
    yield standin
    standin.close()


def selftest(*args: str, **env) -> subprocess.CompletedProcess:
    return validator("selftest", *args, env={"SCALE_API_KEY": API_KEY, **env})


# -- selftest: URLs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag, url, expected", [
    ("--base-url", "127.0.0.1:9", "--base-url '127.0.0.1:9' has no http:// or https:// scheme (did you mean "
                                  "'https://127.0.0.1:9'?)"),
    ("--base-url", "ftp://api.scale.com/v1", "--base-url 'ftp://api.scale.com/v1' must be an http:// or https:// "
                                             "URL, not ftp://"),
    ("--base-url", "https://api.scale.com:99999/v1", "--base-url 'https://api.scale.com:99999/v1' is not a valid URL"),
    ("--callback-url", "validator.acme.example/validate", "--callback-url 'validator.acme.example/validate' has no "
                                                         "http:// or https:// scheme"),
    ("--callback-url", "https:///validate", "--callback-url 'https:///validate' has no host name"),
])
def test_selftest_a_malformed_url_is_a_usage_error_at_once(scale, flag, url, expected):
    args = {"--base-url": scale.base_url, "--callback-url": "https://validator.acme.example/validate", flag: url}
    started = time.monotonic()
    proc = selftest("task_ok", *[x for kv in args.items() for x in kv])
    assert proc.returncode == 2, proc.stderr
    assert time.monotonic() - started < 30  # no retries (a scheme-less URL used to be retried for 7 s)
    assert proc.stderr.startswith(f"validator: {expected}"), proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr and "InvalidSchema" not in proc.stderr
    assert scale.calls == []  # nothing was sent


def test_selftest_a_malformed_base_url_from_the_environment_is_named_as_such(scale):
    proc = selftest("task_ok", "--callback-url", "https://validator.acme.example/validate",
                    SCALE_API_BASE_URL="api.scale.com/v1")
    assert proc.returncode == 2
    assert proc.stderr.startswith("validator: SCALE_API_BASE_URL 'api.scale.com/v1' has no http:// or https://")


def test_selftest_a_404_that_is_not_scales_says_the_base_url_looks_wrong(service):
    def not_scale(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<html><body><h1>Not Found</h1><p>The requested URL was not found.</p></body></html>"]

    with serve_wsgi(not_scale) as srv:
        proc = selftest("task_ok", "--callback-url", f"{service.url}/validate", "--base-url", f"{srv.url}/api")
    assert proc.returncode == 1
    err = proc.stderr
    assert err.startswith(f"validator: selftest failed (wrong base URL): {srv.url}/api looks like the wrong base "
                          f"URL: {srv.url}/api/linting/task/task_ok/send-lint-callback answered HTTP 404 with a body "
                          "that is not Scale's JSON error"), err
    assert "check --base-url or SCALE_API_BASE_URL (Scale's is https://api.scale.com/v1)" in err
    assert "no such task" not in err and err.count("\n") == 1


def test_selftest_scales_own_404_is_still_no_such_task(scale, service):
    proc = selftest("nope", "--callback-url", f"{service.url}/validate", "--base-url", scale.base_url)
    assert proc.returncode == 1
    assert proc.stderr == ("validator: selftest failed (not found): no such task 'nope' (HTTP 404): Task nope not "
                           "found.\n")


def test_selftest_format_json_and_the_old_json_flag(scale, service):
    outputs = []
    for flag in (["--format", "json"], ["--json"]):
        proc = selftest("task_bad", "--callback-url", f"{service.url}/validate", "--base-url", scale.base_url, *flag)
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0]["pass"] is False and outputs[0]["issues"]["bus-1"][0]["errorType"] == "label_not_in_taxonomy"
    text = selftest("task_bad", "--callback-url", f"{service.url}/validate", "--base-url", scale.base_url)
    assert text.returncode == 0 and "label_not_in_taxonomy" in text.stdout and "FAIL (1 issue)" in text.stdout


# -- one output flag: --format json ----------------------------------------------------------------------------

def test_every_command_that_prints_results_takes_format_json(service, tmp_path):
    check = validator("check", "--format", "json", str(FAILING))
    assert check.returncode == 1 and json.loads(check.stdout.splitlines()[-1])["kind"] == "summary"
    rules = validator("rules", "--format", "json")
    assert rules.returncode == 0 and json.loads(rules.stdout)["config"] == "built-in defaults"
    simulate = validator("simulate", str(EXAMPLE), "--url", f"{service.url}/validate", "--format", "json",
                         env={"SCALE_CALLBACK_AUTH_KEY": CALLBACK_KEY})
    assert simulate.returncode == 0 and json.loads(simulate.stdout.splitlines()[-1])["kind"] == "summary"
    for command in ("check", "rules", "simulate", "selftest"):
        help_text = validator(command, "--help").stdout
        assert "--format {text,json" in help_text, command


# -- one error prefix ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, env", [
    (["rules", "no_such_rule"], {}),
    (["rules", "--config", "nope.toml"], {}),
    (["check", "x.json", "--config", "nope.toml"], {}),
    (["simulate", "x.json", "--url", "http://127.0.0.1:9/validate"], {}),  # no key
    (["simulate", "x.json", "--url", "127.0.0.1:9/validate", "--auth-key", "k"], {}),
    (["selftest", "t1", "--callback-url", "https://v.example/validate"], {}),  # no API key
    (["serve", "--config", "nope.toml"], {}),
], ids=["rules-id", "rules-config", "check-config", "simulate-key", "simulate-url", "selftest-key", "serve-config"])
def test_every_command_prefixes_its_errors_with_validator(tmp_path, argv, env):
    proc = validator(*argv, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("validator: "), proc.stderr
    assert not proc.stderr.startswith(("validator: check:", "validator: simulate:", "validator: selftest:"))
    assert "Traceback" not in proc.stderr


# -- simulate: what was really sent ----------------------------------------------------------------------------

def test_simulate_says_nothing_sent_when_no_input_could_be_read(service, tmp_path):
    proc = validator("simulate", "missing.json", "--url", f"{service.url}/validate",
                     env={"SCALE_CALLBACK_AUTH_KEY": CALLBACK_KEY}, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == (f"nothing sent to {service.url}/validate: 0 pass, 0 fail, "
                                            "1 with problems")
    assert "body sent" not in proc.stdout


def test_simulate_says_nothing_sent_when_the_endpoint_cannot_be_reached(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/validate"
    proc = validator("simulate", str(EXAMPLE), "--url", url, env={"SCALE_CALLBACK_AUTH_KEY": CALLBACK_KEY})
    assert proc.returncode == 1
    assert "connection refused" in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"nothing sent to {url}: 0 pass, 0 fail, 1 with problems"


def test_simulate_counts_what_was_sent_of_what_was_given(service, tmp_path):
    proc = validator("simulate", str(EXAMPLE), str(FAILING), "missing.json", "--url", f"{service.url}/validate",
                     env={"SCALE_CALLBACK_AUTH_KEY": CALLBACK_KEY}, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1].startswith(f"2 of 3 bodies sent to {service.url}/validate: 1 pass, 1 fail, "
                                                   "1 with problems")
    summary = json.loads(validator("simulate", str(EXAMPLE), "missing.json", "--url", f"{service.url}/validate",
                                   "--format", "json", env={"SCALE_CALLBACK_AUTH_KEY": CALLBACK_KEY},
                                   cwd=tmp_path).stdout.splitlines()[-1])
    assert (summary["bodies"], summary["sent"]) == (2, 1)
