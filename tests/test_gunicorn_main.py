"""``python -m validator.service.gunicorn_main``: gunicorn once every setting is checked, started for real.

``gunicorn`` itself reads WEB_CONCURRENCY when it is imported (a non-integer is a Python traceback before
gunicorn.conf.py runs); this entry point refuses it, with every other problem, as one
``validator: refusing to start: ...`` JSON line each, and exit code 2 (settings.EXIT_REFUSED).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import free_port, wait_ready, Service
from validator.service.settings import EXIT_REFUSED, PREFIX
from validator.testing import box, make_body

ROOT = Path(__file__).resolve().parent.parent
KEY = "entry-key-0123456789"


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SCALE_", "VALIDATOR_", "GUNICORN_")) and k not in ("PORT", "WEB_CONCURRENCY")}
    env.update({"SCALE_CALLBACK_AUTH_KEY": KEY, "VALIDATOR_DRAIN_SECONDS": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def _argv(port: int | str) -> list[str]:
    return [sys.executable, "-m", "validator.service.gunicorn_main", "-c", "gunicorn.conf.py", "--bind",
            f"127.0.0.1:{port}", "validator.service.wsgi:app"]


def test_a_non_integer_web_concurrency_is_refused_with_every_other_problem():
    env = _env(WEB_CONCURRENCY="2.5", GUNICORN_TIMEOUT="soon", PORT="abc")
    proc = subprocess.run(_argv(free_port()), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_REFUSED, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert all(m.startswith(PREFIX) for m in messages), messages
    assert any("WEB_CONCURRENCY must be an integer" in m and "'2.5'" in m for m in messages), messages
    assert any("GUNICORN_TIMEOUT must be an integer" in m for m in messages), messages
    assert any("PORT must be an integer" in m for m in messages), messages
    assert KEY not in proc.stderr + proc.stdout


def test_plain_gunicorn_cannot_do_this_which_is_why_the_entry_point_exists():
    # If gunicorn ever stops reading WEB_CONCURRENCY at import, gunicorn.conf.py's own check is enough and this
    # entry point can go: this test says so.
    env = _env(WEB_CONCURRENCY="2.5")
    proc = subprocess.run([sys.executable, "-m", "gunicorn", "--version"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "WEB_CONCURRENCY" in proc.stderr


def test_with_valid_settings_it_serves_as_gunicorn(tmp_path):
    port = free_port()
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(_argv(port), cwd=ROOT, env=_env(WEB_CONCURRENCY="1"), stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    svc = Service(f"http://127.0.0.1:{port}", proc, (KEY,), log_path, {})
    try:
        wait_ready(svc)
        r = svc.post(make_body([box(0, 0, 50, 50, label="car")]))
        assert r.status_code == 200 and r.json()["pass"] is True, r.text
        assert '"msg":"validator serving"' in svc.logs()
    finally:
        assert svc.stop() == 0
