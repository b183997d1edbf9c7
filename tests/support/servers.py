"""Real servers for tests: gunicorn started from the Procfile's command on a free loopback port."""
from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"
REPO_EXAMPLES = ROOT / "examples"


def examples_dir() -> Path:
    """The provided example bodies (../shared/examples), falling back to the repo's copy."""
    return SHARED_EXAMPLES if SHARED_EXAMPLES.is_dir() else REPO_EXAMPLES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(port: int) -> list[str]:
    """The Procfile's `web:` command with $PORT substituted and bound to loopback, using this venv's gunicorn."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            cmd = line[len("web:"):].strip().replace("$PORT", str(port)).replace("0.0.0.0:", "127.0.0.1:")
            argv = shlex.split(cmd)
            if argv[0] == "gunicorn":
                argv = [sys.executable, "-m", "gunicorn", *argv[1:]]
            elif argv[0] == "python":  # python -m validator.service.gunicorn_main ...: this venv's python
                argv = [sys.executable, *argv[1:]]
            return argv
    raise AssertionError("Procfile has no web: line")


@dataclass
class Service:
    url: str
    proc: subprocess.Popen
    keys: tuple[str, ...]
    log_path: Path
    env: dict = field(default_factory=dict)

    def post(self, body: bytes | str | dict, key: str | None = "default", **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if key == "default":
            key = self.keys[0] if self.keys else None
        if key is not None:
            headers["scale-callback-auth"] = key
        if isinstance(body, dict):
            import orjson

            body = orjson.dumps(body)
        headers.setdefault("content-type", "application/json")
        kw.setdefault("timeout", 30)
        return requests.post(self.url + "/validate", data=body, headers=headers, **kw)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def logs_once(self, start: int, text: str, timeout: float = 10) -> str:
        """The log written since offset ``start``, once it contains ``text`` (the per-request validation line is
        written after the answer has been sent, so it may land a moment after the client has the answer)."""
        deadline = time.monotonic() + timeout
        while text not in self.logs()[start:] and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.logs()[start:]

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_service(tmp_dir: Path, *, keys=("live-key-0123456789", "test-key-abcdefghij"), env=None,
                  config_text: str | None = None, wait: bool = True, workers: int = 2) -> Service:
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    full_env.update({"WEB_CONCURRENCY": str(workers), "VALIDATOR_DRAIN_SECONDS": "0", "PYTHONUNBUFFERED": "1"})
    if keys:
        full_env["SCALE_CALLBACK_AUTH_KEY"] = ",".join(keys)
    if config_text is not None:
        cfg = tmp_dir / f"validator-{port}.toml"
        cfg.write_text(config_text)
        full_env["VALIDATOR_CONFIG"] = str(cfg)
    full_env.update(env or {})
    for name in [k for k, v in full_env.items() if v is None]:  # env={"NAME": None} removes a variable
        del full_env[name]
    log_path = tmp_dir / f"service-{port}.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(procfile_command(port), cwd=ROOT, env=full_env, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)
    svc = Service(f"http://127.0.0.1:{port}", proc, tuple(keys or ()), log_path, full_env)
    if wait:
        wait_ready(svc)
    return svc


def refused_start(tmp_dir: Path, why: str, **kwargs) -> str:
    """Start the service expecting it to refuse (``why``: what should stop it, for the failure message); assert
    it exited non-zero without a traceback and return its log."""
    svc = start_service(tmp_dir, wait=False, **kwargs)
    try:
        code = svc.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        svc.stop()
        pytest.fail(f"the service started despite {why}")
    out = svc.logs()
    assert code != 0, out
    assert "Traceback" not in out
    return out


def wait_ready(svc: Service, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            raise AssertionError(f"service exited with {svc.proc.returncode}:\n{svc.logs()}")
        try:
            if requests.get(svc.url + "/readyz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.05)
    svc.stop(signal.SIGKILL)
    raise AssertionError(f"service not ready after {timeout}s:\n{svc.logs()}")
