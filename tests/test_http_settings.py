"""Settings: parsed in one place, refused with one message style and one exit code by every entry point (gunicorn
from the Procfile, ``validator serve``), checked together by ``validator config check``. The CLI runs as a
subprocess, as a user would; gunicorn is the real one.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.servers import ROOT, free_port, refused_start, start_service
from validator.cli.main import COMMANDS
from validator.service.settings import EXIT_REFUSED, cpu_limit

KEY = "live-key-0123456789"


def cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_", "GUNICORN_"))
            and k not in ("PORT", "WEB_CONCURRENCY")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, text=True, env=full,
                          cwd=ROOT, timeout=timeout)


# -- every subcommand survives a bad $PORT ------------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_bad_port_variable_breaks_no_subcommand(command):
    proc = cli(command, "--help", env={"PORT": "abc"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_port_variable_and_rules_listing():
    proc = cli("rules", env={"PORT": "abc"})
    assert proc.returncode == 0 and "box_too_small" in proc.stdout and "Traceback" not in proc.stderr


# -- validator serve ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, env, name, value", [
    (["--port", "99999"], {}, "--port", "99999"),
    (["--port", "http"], {}, "--port", "http"),
    ([], {"PORT": "abc"}, "PORT", "abc"),
    ([], {"PORT": "0"}, "PORT", "0"),
    ([], {"VALIDATOR_DRAIN_SECONDS": "abc"}, "VALIDATOR_DRAIN_SECONDS", "abc"),
    ([], {"VALIDATOR_MAX_BODY_BYTES": "16MB"}, "VALIDATOR_MAX_BODY_BYTES", "16MB"),
    ([], {"VALIDATOR_READ_TIMEOUT_SECONDS": "soon"}, "VALIDATOR_READ_TIMEOUT_SECONDS", "soon"),
])
def test_serve_refuses_bad_values_in_one_style(args, env, name, value):
    proc = cli("serve", "--generate-key", *args, env=env)
    assert proc.returncode == EXIT_REFUSED, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and all(line.startswith("validator: refusing to start: ") for line in lines), proc.stderr
    assert any(name in line and repr(value) in line for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr and "curl" not in proc.stderr


def test_serve_lists_every_bad_value_at_once():
    proc = cli("serve", "--port", "99999", env={"VALIDATOR_DRAIN_SECONDS": "x", "VALIDATOR_LOG_LEVEL": "LOUD"})
    assert proc.returncode == EXIT_REFUSED
    text = proc.stderr
    for name in ("--port", "VALIDATOR_DRAIN_SECONDS", "VALIDATOR_LOG_LEVEL", "SCALE_CALLBACK_AUTH_KEY"):
        assert name in text, text


def test_serve_on_a_port_in_use_prints_no_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = cli("serve", "--generate-key", "--port", str(port))
    assert proc.returncode == EXIT_REFUSED, proc.stderr
    assert proc.stderr.startswith(f"validator: refusing to start: cannot listen on 127.0.0.1:{port}: ")
    assert "curl" not in proc.stderr and "Try it" not in proc.stderr and "Traceback" not in proc.stderr


def test_serve_logs_json_without_colour_codes(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    env.update({"SCALE_CALLBACK_AUTH_KEY": KEY, "PYTHONUNBUFFERED": "1", "TERM": "xterm-256color",
                "FORCE_COLOR": "1"})
    err = (tmp_path / "serve.err").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "validator", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # (bound before the app is built)
                time.sleep(0.1)
        assert requests.get(url + "/nowhere?key=" + KEY, timeout=5).status_code == 404   # werkzeug: yellow
        assert requests.post(url + "/validate", data=b"{", timeout=5).status_code == 401  # werkzeug: bold red
        r = requests.post(url + "/validate", data=b"{", headers={"scale-callback-auth": KEY, "X-Request-ID": "dev-1"},
                          timeout=5)
        assert r.status_code == 400 and r.headers["X-Request-ID"] == "dev-1"
        time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    text = Path(err.name).read_text()
    assert "\x1b" not in text and KEY not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "access"]
    assert {r["status"] for r in access} >= {404, 401, 400}
    assert any(r.get("request_id") == "dev-1" for r in access)
    assert all("?" not in r["path"] for r in access)


# -- gunicorn (the Procfile) ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [
    ({"PORT": "abc"}, "PORT must be an integer between 1 and 65535 (a TCP port), not 'abc'"),
    ({"PORT": "99999"}, "PORT must be an integer between 1 and 65535 (a TCP port), not '99999'"),
    ({"VALIDATOR_READ_TIMEOUT_SECONDS": "0"}, "VALIDATOR_READ_TIMEOUT_SECONDS must be a number of seconds"),
    ({"GUNICORN_LOGLEVEL": "chatty"}, "GUNICORN_LOGLEVEL must be one of"),
], ids=["port-abc", "port-99999", "read-timeout", "loglevel"])
def test_gunicorn_refuses_with_the_same_line_and_code(tmp_path, env, expected):
    svc = start_service(tmp_path, wait=False, env=env)
    assert svc.proc.wait(60) == EXIT_REFUSED
    out = svc.logs()
    assert "Traceback" not in out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]  # every line JSON, also these
    assert any(r["msg"].startswith("validator: refusing to start: " + expected) for r in lines), out


def test_gunicorn_and_serve_refuse_a_missing_key_alike(tmp_path):
    svc = start_service(tmp_path, wait=False, keys=())
    assert svc.proc.wait(60) == EXIT_REFUSED
    gunicorn_msg = next(json.loads(line)["msg"] for line in svc.logs().splitlines() if "refusing" in line)
    proc = cli("serve")
    assert proc.returncode == EXIT_REFUSED
    assert proc.stderr.strip() == gunicorn_msg


def test_procfile_bind_without_port_is_explained(tmp_path):
    from tests.support import servers

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_")) and k != "PORT"}
    env["SCALE_CALLBACK_AUTH_KEY"] = KEY
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:",
            "validator.service.wsgi:app"]
    proc = subprocess.run(argv, cwd=servers.ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_REFUSED, proc.stderr
    assert "PORT is not set" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad", ["k-live-caf\u00e9-1234", "\u201ck-live-1234\u201d"])
def test_a_non_ascii_key_is_refused_without_showing_it(tmp_path, bad):
    position = next(i for i, ch in enumerate(bad) if ord(ch) > 127) + 1
    out = refused_start(tmp_path, "a non-ASCII key", keys=(KEY, bad))
    assert f"key 2 of 2 has a non-ASCII character (U+{ord(bad[position - 1]):04X}) at position {position}" in out
    assert bad not in out and KEY not in out


def test_key_from_a_file(tmp_path):
    key_file = tmp_path / "callback-key"
    key_file.write_text(f"{KEY}\nsecond-key-abcdef\n")
    svc = start_service(tmp_path, keys=(), env={"SCALE_CALLBACK_AUTH_KEY_FILE": str(key_file)})
    try:
        from validator.testing import box, make_body

        for key in (KEY, "second-key-abcdef"):
            assert svc.post(make_body([box(0, 0, 50, 50, label="car")]), key=key).status_code == 200
        assert svc.post(make_body([box(0, 0, 50, 50, label="car")]), key="nope").status_code == 401
    finally:
        svc.stop()
    assert KEY not in svc.logs()


def test_key_file_problems_are_refused(tmp_path):
    out = refused_start(tmp_path, "a missing key file", keys=(),
                        env={"SCALE_CALLBACK_AUTH_KEY_FILE": str(tmp_path / "absent")})
    assert "SCALE_CALLBACK_AUTH_KEY_FILE names a file that does not exist" in out
    key_file = tmp_path / "k"
    key_file.write_text(KEY)
    out = refused_start(tmp_path, "both a key and a key file", env={"SCALE_CALLBACK_AUTH_KEY_FILE": str(key_file)})
    assert "SCALE_CALLBACK_AUTH_KEY and SCALE_CALLBACK_AUTH_KEY_FILE are both set" in out


# -- validator config check -----------------------------------------------------------------------------------------

def test_config_check_ok():
    proc = cli("config", "check", env={"SCALE_CALLBACK_AUTH_KEY": KEY, "WEB_CONCURRENCY": "3"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "workers:  3 (from WEB_CONCURRENCY)" in proc.stdout
    assert proc.stdout.rstrip().endswith("configuration OK")
    assert KEY not in proc.stdout + proc.stderr


def test_config_check_lists_every_problem_of_every_layer(tmp_path):
    config = tmp_path / "validator.toml"
    config.write_text('[engine]\nfailure_policy = "sometimes"\n\n[[rule]]\nid = "box_to_small"\n')
    env = {"SCALE_CALLBACK_AUTH_KEY": "caf\u00e9-key", "PORT": "abc", "WEB_CONCURRENCY": "many",
           "GUNICORN_TIMEOUT": "1", "GUNICORN_WORKER_CLASS": "nosuch.Worker", "VALIDATOR_DRAIN_SECONDS": "-1"}
    proc = cli("config", "check", "--config", str(config), env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    for text in ("non-ASCII", "PORT must be", "WEB_CONCURRENCY must be", "VALIDATOR_DRAIN_SECONDS must be",
                 "GUNICORN_WORKER_CLASS='nosuch.Worker' cannot be loaded", "engine.failure_policy",
                 "did you mean 'box_too_small'"):
        assert text in out, (text, out)
    assert "caf\u00e9-key" not in out and "Traceback" not in out + proc.stderr


def test_config_check_without_action_is_a_usage_error():
    proc = cli("config")
    assert proc.returncode == 2 and "check" in proc.stderr


# -- workers from the container's CPU quota -----------------------------------------------------------------------

def fake_cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


def test_cpu_limit_reads_cgroup_v2_then_v1_then_affinity(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    if affinity < 2:
        pytest.skip("needs a machine with 2 CPUs or more to see a quota below the affinity mask")
    assert cpu_limit(fake_cgroup(tmp_path / "v2", {"cpu.max": "100000 100000\n"})) == (1, "cgroup v2 cpu.max (1 CPUs)")
    assert cpu_limit(fake_cgroup(tmp_path / "v2half", {"cpu.max": "50000 100000\n"}))[0] == 1
    assert cpu_limit(fake_cgroup(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "150000\n",
                                                    "cpu/cpu.cfs_period_us": "100000\n"}))[0] == 1
    # no quota (v2 "max", v1 -1): the affinity mask
    assert cpu_limit(fake_cgroup(tmp_path / "v2max", {"cpu.max": "max 100000\n"})) == (affinity, "CPU affinity mask")
    assert cpu_limit(fake_cgroup(tmp_path / "v1none", {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
                                                        "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}))[0] == affinity
    # a quota above the mask does not raise the count
    assert cpu_limit(fake_cgroup(tmp_path / "big", {"cpu.max": f"{64 * 100000} 100000\n"}))[0] == affinity


def _count_workers(svc, expect: int, timeout: float = 30) -> int:
    path = Path(f"/proc/{svc.proc.pid}/task/{svc.proc.pid}/children")
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        n = len(path.read_text().split())
        if n == expect:
            return n
        time.sleep(0.1)
    return n


def test_gunicorn_starts_one_worker_per_usable_cpu_and_web_concurrency_wins(tmp_path):
    cpu = sorted(os.sched_getaffinity(0))[0]
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})  # inherited by the child: the service may use one CPU
    try:
        one = start_service(tmp_path, workers=1, env={"WEB_CONCURRENCY": None})
        two = start_service(tmp_path, workers=2)
    finally:
        os.sched_setaffinity(0, old)
    try:
        assert _count_workers(one, 1) == 1
        line = next(json.loads(x) for x in one.logs().splitlines() if '"validator serving"' in x)
        assert line["workers"] == 1 and line["workers_from"] in ("CPU affinity mask",) or \
            line["workers_from"].startswith("cgroup")
        assert _count_workers(two, 2) == 2  # WEB_CONCURRENCY=2 beats the single CPU
    finally:
        one.stop()
        two.stop()


def test_every_variable_read_by_settings_is_documented():
    import re as re_

    source = (ROOT / "validator" / "service" / "settings.py").read_text()
    names = set(re_.findall(r'r\.(?:integer|number|choice|raw|secret)\("([A-Z_]+)"', source))
    names |= {n + "_FILE" for n in re_.findall(r'r\.secret\("([A-Z_]+)"', source)}
    assert {"PORT", "WEB_CONCURRENCY", "VALIDATOR_READ_TIMEOUT_SECONDS", "SCALE_CALLBACK_AUTH_KEY_FILE"} <= names
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(n for n in names if f"| `{n}` |" not in doc)
    assert missing == [], missing
